//! The provisioning engine's library: everything the Lambda functions share. Functions' mains
//! only build configuration and clients, then hand a small handler to the runtime.

pub mod action_api;
pub mod admin;
pub mod aws;
pub mod catalogue;
pub mod cognito;
pub mod console;
pub mod dispatcher;
pub mod domain;
pub mod engine;
pub mod events_out;
pub mod http;
pub mod ids;
pub mod lifecycle;
pub mod logs_api;
pub mod providers;
pub mod routes;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod webhook_api;
pub mod worker;
