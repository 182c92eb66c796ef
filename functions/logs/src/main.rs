//! The logs function. Builds its clients once, then hands each request to shared::logs_api.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::http::auth::{AuthConfig, Authenticator};
use shared::logs_api::LogsApi;
use shared::store::Tables;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let auth = Authenticator::new(AuthConfig::load(&aws).await?, reqwest::Client::new());
    let ddb = shared::aws::dynamodb(&aws);
    let api = &LogsApi::new(auth, ddb, &Tables::from_env()?);
    run(service_fn(move |event: LambdaEvent<_>| shared::http::serve(event, move |request| api.handle(request)))).await
}
