//! Helpers of the end-to-end tests. They run over the local stack that `make test` starts
//! (DynamoDB Local, the SQS emulator, cargo lambda watch) and find it through the environment.

use std::sync::atomic::{AtomicU32, Ordering};

use shared::api::auth::{Claims, sign_hs256};
use shared::domain::time::now_epoch;

use shared::domain::actor::Role;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: the end-to-end tests run over the local stack that `make test` starts"))
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

/// Whether a response is cargo lambda watch's own 500 (not our API's error shape). Under
/// concurrent requests watch 1.9.2 now and then fails to relay a large body (GET /blueprints,
/// ~150 KB) that the function answered with 200 — its log shows the 200. Only reads are retried.
/// Keeps every response body of the run in $RUN_DIR/responses.log, which `make test` searches
/// for secrets afterwards.
pub fn record(text: &str) {
    if let Ok(dir) = std::env::var("RUN_DIR") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(format!("{dir}/responses.log")) {
            let _ = writeln!(f, "{text}");
        }
    }
}

fn emulator_glitch(status: u16, text: &str) -> bool {
    status == 500 && text.contains("httpstatuses.com/500")
}

/// Sends a request to the API and returns its status and JSON body. GETs that meet the
/// emulator's relay glitch are sent again (at most 3 tries); nothing else is retried.
pub async fn call(method: reqwest::Method, path: &str, token: Option<&str>, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut request = http().request(method.clone(), format!("{}{path}", api_url()));
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = &body {
            request = request.json(b);
        }
        let response = request.send().await.expect("cargo lambda watch answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        record(&text);
        if method == reqwest::Method::GET && tries < 3 && emulator_glitch(status, &text) {
            continue;
        }
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: body is not JSON: {text}"));
        return (status, json);
    }
}
