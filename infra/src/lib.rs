//! Workspace tools behind `make template`, `make dev` and `make test`.

pub mod generate;
pub mod openapi;
pub mod template;
pub mod yaml;
