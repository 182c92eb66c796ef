//! The Cognito user pool's pre token generation trigger (version 2): hands each event to
//! shared::api::cognito, which adds the claims the API reads to the access token. A refusal fails the
//! invocation, and Cognito then refuses the sign-in; it is logged for the operator.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    run(service_fn(|event: LambdaEvent<Value>| async move {
        shared::adapters::telemetry::begin(&event.context);
        shared::api::cognito::token_claims(event.payload).map_err(|refusal| {
            tracing::warn!(refusal = %refusal, "sign-in refused: no token for this user");
            Error::from(refusal)
        })
    }))
    .await
}
