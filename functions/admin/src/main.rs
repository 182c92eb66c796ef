//! The admin function. Builds its clients once, then hands each request to shared::api::admin.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::adapters::dynamodb::Tables;
use shared::api::admin::Admin;
use shared::api::auth::{AuthConfig, Authenticator};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init();
    let tables = Tables::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let auth = Authenticator::new(AuthConfig::load(&aws).await?, reqwest::Client::new());
    let ddb = shared::adapters::aws::dynamodb(&aws);
    let publisher = shared::adapters::sqs::SqsPublisher::from_env(shared::adapters::aws::sqs(&aws));
    let queue_url = std::env::var("LIFECYCLE_QUEUE_URL").map_err(|_| "LIFECYCLE_QUEUE_URL is not set")?;
    let admin = &Admin::new(auth, ddb, &tables, shared::adapters::ssm::secret_box(&aws).await?, publisher).with_lifecycle_queue(shared::adapters::aws::sqs(&aws), queue_url);
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| admin.handle(request)))).await
}
