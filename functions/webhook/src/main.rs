//! The billing webhook function. Builds its clients once, then hands each request to
//! shared::api::webhook.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::api::webhook::WebhookApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secret = shared::adapters::ssm::load_secret(&aws, "WEBHOOK_SECRET_PARAMETER", "WEBHOOK_SECRET").await?;
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let tables = Tables::from_env()?;
    let secrets = std::sync::Arc::new(shared::adapters::ssm::secret_box(&aws).await?);
    let api = &WebhookApi::new(secret.as_bytes(), shared::adapters::aws::dynamodb(&aws), &tables.main, shared::adapters::aws::sqs(&aws), queue_url, secrets);
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| api.handle(request)))).await
}
