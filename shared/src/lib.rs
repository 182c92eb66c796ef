//! The provisioning engine's library: everything the Lambda functions share. Functions' mains
//! only build configuration and clients, then hand a small handler to the runtime.
//!
//! Dependencies point one way (ARCHITECTURE.md "Layers"): `api` and `consumers` (the entry
//! points' logic) → `engine` → `ports` ← `adapters`; `providers` implement the blueprints;
//! `domain`, `catalogue` and `secrets` are the leaves every layer may use. Nothing below `api`
//! knows HTTP, nothing outside `adapters` knows DynamoDB or SQS (tests/layers.rs holds it).

pub mod adapters;
pub mod api;
pub mod catalogue;
pub mod consumers;
pub mod domain;
pub mod engine;
pub mod ports;
pub mod providers;
pub mod secrets;
#[cfg(test)]
pub mod testing;
