//! The dispatcher function: the SQS event source of the events queue.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::adapters::dynamodb::handlers::HandlerStore;
use shared::adapters::lambda::LambdaInvoker;
use shared::adapters::sqs::SqsMailbox;
use shared::consumers::dispatcher::Dispatcher;
use shared::consumers::{Deadline, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let tables = Tables::from_env()?;
    let handlers = Arc::new(HandlerStore::new(shared::adapters::aws::dynamodb(&aws), &tables.main));
    let secrets = Arc::new(shared::adapters::ssm::secret_box(&aws).await?);
    let queue_url = std::env::var("EVENTS_QUEUE_URL").map_err(|_| "EVENTS_QUEUE_URL is not set")?;
    let retry_base = std::env::var("RETRY_BASE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mailbox = Arc::new(SqsMailbox::new(shared::adapters::aws::sqs(&aws), queue_url));
    let dispatcher = &Dispatcher::new(handlers, secrets, Arc::new(LambdaInvoker::new(shared::adapters::aws::lambda(&aws))), mailbox, retry_base);
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move { Ok::<_, Error>(dispatcher.handle_within(event.payload, Deadline::of(event.context.deadline)).await) })).await
}
