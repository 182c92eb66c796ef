//! The billing webhook function. Builds its clients (and an engine, to check orders before they
//! are queued) once, then hands each request to shared::api::webhook.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;

use shared::adapters::dynamodb::{Dynamo, Tables};
use shared::adapters::sqs::SqsMailbox;
use shared::api::webhook::WebhookApi;
use shared::engine::Engine;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secret = shared::adapters::ssm::load_secret(&aws, "WEBHOOK_SECRET_PARAMETER", "WEBHOOK_SECRET").await?;
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let dynamo = Dynamo::new(shared::adapters::aws::dynamodb(&aws), Tables::from_env()?);
    let engine = Engine::new(shared::adapters::cache::remembering(dynamo.stores()), Arc::new(shared::adapters::ssm::secret_box(&aws).await?));
    let lifecycle = Arc::new(SqsMailbox::lifecycle(shared::adapters::aws::sqs(&aws), queue_url));
    let api = &WebhookApi::new(secret.as_bytes(), dynamo.events(), dynamo.products(), lifecycle, Arc::new(engine));
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| api.handle(request)))).await
}
