//! One integration test binary over the local stack (DynamoDB Local, moto, cargo lambda watch).

mod actions;
mod authorization;
mod bad_input;
mod blueprints;
mod bulk;
mod configurations;
mod conformance;
mod contract_products;
mod events;
mod handlers;
mod lifecycle;
mod limits;
mod local_stack;
mod logs;
mod metrics;
mod oidc;
mod outbox;
mod poller;
mod providers;
mod providers_wave2;
