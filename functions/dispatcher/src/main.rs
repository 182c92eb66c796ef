//! The dispatcher function: events out. The main table's stream (new outbox records) and the
//! events queue are its event sources.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::adapters::dynamodb::handlers::HandlerStore;
use shared::adapters::lambda::LambdaInvoker;
use shared::adapters::sqs::{SqsMailbox, SqsPublisher};
use shared::consumers::dispatcher::Dispatcher;
use shared::consumers::{Deadline, DispatcherInput};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let tables = Tables::from_env()?;
    let handlers = Arc::new(HandlerStore::new(shared::adapters::aws::dynamodb(&aws), &tables.main));
    let secrets = Arc::new(shared::adapters::ssm::secret_box(&aws).await?);
    let queue_url = std::env::var("EVENTS_QUEUE_URL").map_err(|_| "EVENTS_QUEUE_URL is not set")?;
    let retry_base = std::env::var("RETRY_BASE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let sqs = shared::adapters::aws::sqs(&aws);
    let mailbox = Arc::new(SqsMailbox::new(sqs.clone(), queue_url.clone()).with(shared::ports::QueueName::Events, Some(queue_url.clone())));
    let dispatcher =
        &Dispatcher::new(handlers, secrets, Arc::new(LambdaInvoker::new(shared::adapters::aws::lambda(&aws))), mailbox, retry_base).with_publisher(Arc::new(SqsPublisher::new(sqs, queue_url)));
    run(service_fn(move |event: LambdaEvent<DispatcherInput>| async move {
        shared::adapters::telemetry::begin(&event.context);
        Ok::<_, Error>(dispatcher.invoked(event.payload, Deadline::of(event.context.deadline)).await)
    }))
    .await
}
