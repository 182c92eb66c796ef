//! The admin function. Builds its clients once, then hands each request to shared::admin.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::admin::Admin;
use shared::http::auth::{AuthConfig, Authenticator};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let auth = Authenticator::new(AuthConfig::from_env()?, reqwest::Client::new());
    let admin = &Admin::new(auth);
    run(service_fn(move |event: LambdaEvent<_>| shared::http::serve(event, move |request| admin.handle(request)))).await
}
