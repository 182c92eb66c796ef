//! The admin function. Builds its clients once, then hands each request to shared::api::admin.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::sync::Arc;

use shared::adapters::dynamodb::{Dynamo, Tables};
use shared::adapters::sqs::SqsMailbox;
use shared::api::admin::Admin;
use shared::api::auth::{AuthConfig, Authenticator};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let tables = Tables::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let auth = Authenticator::new(AuthConfig::with_secret(shared::adapters::ssm::token_secret(&aws).await?)?, reqwest::Client::new());
    let dynamo = Dynamo::new(shared::adapters::aws::dynamodb(&aws), tables);
    let sqs = shared::adapters::aws::sqs(&aws);
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let lifecycle = Arc::new(SqsMailbox::lifecycle(sqs.clone(), queue_url));
    let admin = &Admin::new(auth, &dynamo, shared::adapters::ssm::secret_box(&aws).await?).with_lifecycle_queue(lifecycle);
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| admin.handle(request)))).await
}
