//! The action function. Builds its clients once, then hands each request to shared::api::action.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::adapters::sqs::SqsWorkQueue;
use shared::api::action::ActionApi;
use shared::api::auth::{AuthConfig, Authenticator};
use shared::engine::Engine;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let auth = Authenticator::new(AuthConfig::with_secret(shared::adapters::ssm::token_secret(&aws).await?)?, reqwest::Client::new());
    let (ddb, sqs) = (shared::adapters::aws::dynamodb(&aws), shared::adapters::aws::sqs(&aws));
    let engine = Engine::new(shared::adapters::cache::remembering(shared::adapters::dynamodb::stores(ddb, &Tables::from_env()?)), Arc::new(shared::adapters::ssm::secret_box(&aws).await?))
        .with_metrics(Arc::new(shared::adapters::metrics::Emf));
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let api = &ActionApi::new(auth, engine, std::env::var("ACTION_PINNED").ok()).with_queue(Arc::new(SqsWorkQueue::new(sqs, queue_url)));
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| api.handle(request)))).await
}
