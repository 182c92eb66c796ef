//! Adapters: the only code that knows AWS. DynamoDB stores, the SQS queues, SSM parameters, the
//! clients every function builds once, and telemetry.

pub mod aws;
pub mod cache;
pub mod dynamodb;
pub mod lambda;
pub mod memory;
pub mod metrics;
pub mod sqs;
pub mod ssm;
pub mod telemetry;
