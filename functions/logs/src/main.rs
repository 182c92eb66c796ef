//! The logs function. Builds its clients once, then hands each request to shared::api::logs.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::{Dynamo, Tables};
use shared::api::auth::{AuthConfig, Authenticator};
use shared::api::logs::LogsApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let auth = Authenticator::new(AuthConfig::with_secret(shared::adapters::ssm::token_secret(&aws).await?)?, reqwest::Client::new());
    let dynamo = Dynamo::new(shared::adapters::aws::dynamodb(&aws), Tables::from_env()?);
    let api = &LogsApi::new(auth, dynamo.logs(), dynamo.products());
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| api.handle(request)))).await
}
