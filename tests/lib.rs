//! Helpers of the end-to-end tests. They run over the local stack that `make test` starts
//! (DynamoDB Local, the SQS emulator, cargo lambda watch) and find it through the environment.

use std::sync::atomic::{AtomicU32, Ordering};

use shared::http::auth::{Claims, Role, now_epoch, sign_hs256};

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the end-to-end tests run over the local stack that `make test` starts")
    })
}

/// The API served by cargo lambda watch.
pub fn api_url() -> String {
    required("E2E_API_URL")
}

/// The main table of the stack the API runs on.
pub fn main_table() -> String {
    format!("{}-main", required("E2E_STACK"))
}

/// AWS SDK configuration pointing at the emulators (AWS_ENDPOINT_URL_DYNAMODB / _SQS).
pub async fn aws() -> aws_config::SdkConfig {
    required("AWS_ENDPOINT_URL_DYNAMODB");
    required("AWS_ENDPOINT_URL_SQS");
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub fn secret() -> String {
    std::env::var("AUTH_HS256_SECRET").unwrap_or_else(|_| "local-dev-secret-not-for-production".into())
}

pub fn claims(role: Role, client_id: Option<&str>) -> Claims {
    Claims {
        sub: format!("e2e-{role:?}").to_lowercase(),
        role,
        client_id: client_id.map(String::from),
        exp: now_epoch() + 600,
        iss: std::env::var("AUTH_ISSUER").unwrap_or_else(|_| "local-dev".into()),
        aud: std::env::var("AUTH_AUDIENCE").unwrap_or_else(|_| "provisioning-api".into()),
    }
}

pub fn token(claims: &Claims) -> String {
    sign_hs256(secret().as_bytes(), claims)
}

pub fn admin_token() -> String {
    token(&claims(Role::Admin, None))
}

pub fn client_token(client_id: &str) -> String {
    token(&claims(Role::Client, Some(client_id)))
}

/// A name no other test of this run uses (for stacks and queues made by a test).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// An HTTP client with a timeout long enough for cargo lambda watch's first start of a function.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(120)).build().unwrap()
}
