//! Workspace tools behind `make template`, `make dev` and `make test`: the generated files, the
//! template reader, the local resources and the local SQS→Lambda poller.

pub mod cfn;
pub mod functions;
pub mod gateway;
pub mod generate;
pub mod iam;
pub mod local;
pub mod monitoring;
pub mod openapi;
pub mod poller;
pub mod sqs_faults;
pub mod streams;
pub mod template;
pub mod yaml;
