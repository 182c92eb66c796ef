//! The lifecycle worker function: the SQS event source of the lifecycle FIFO queue.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::adapters::dynamodb::events::EventStore;
use shared::adapters::sqs::SqsMailbox;
use shared::consumers::Deadline;
use shared::consumers::worker::{Worker, WorkerInput};
use shared::engine::Engine;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let tables = Tables::from_env()?;
    let (ddb, sqs) = (shared::adapters::aws::dynamodb(&aws), shared::adapters::aws::sqs(&aws));
    let stores = shared::adapters::cache::remembering(shared::adapters::dynamodb::stores(ddb.clone(), &tables));
    let engine = Engine::new(stores.clone(), Arc::new(shared::adapters::ssm::secret_box(&aws).await?)).with_metrics(Arc::new(shared::adapters::metrics::Emf));
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let retry_base = std::env::var("RETRY_BASE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let worker = &Worker::new(engine, Arc::new(EventStore::new(ddb, &tables.main)), stores.products, Arc::new(SqsMailbox::for_worker(sqs, queue_url)), retry_base);
    run(service_fn(move |event: LambdaEvent<WorkerInput>| async move {
        shared::adapters::telemetry::begin(&event.context);
        Ok::<_, Error>(worker.invoked(event.payload, Deadline::of(event.context.deadline)).await)
    }))
    .await
}
