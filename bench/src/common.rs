//! What every measure shares: the local stack's clients, in-process requests, statistics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use serde_json::Value;
use shared::api::HttpRequest;
use shared::api::auth::{AuthConfig, Authenticator, Claims, sign_hs256};
use shared::domain::actor::Role;
use shared::domain::time::now_epoch;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is not set (run through make bench / make faults)").into())
}

/// Every AWS call the clients make, with the moment it started: round trips are counted from it.
#[derive(Debug, Clone, Default)]
pub struct Calls(pub Arc<Mutex<Vec<(Instant, String)>>>);

impl Calls {
    pub fn take(&self) -> Vec<(Instant, String)> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "bench-call-counter"
    }

    /// Each request as it goes out (a retry is another round trip): `DynamoDB_20120810.GetItem`,
    /// `AmazonSQS.SendMessage` ... from the JSON protocols' target header.
    fn read_before_transmit(&self, context: &BeforeTransmitInterceptorContextRef<'_>, _: &RuntimeComponents, _: &mut ConfigBag) -> Result<(), BoxError> {
        let op = context.request().headers().get("x-amz-target").unwrap_or("?").replace("DynamoDB_20120810.", "DynamoDB.").replace("AmazonSQS.", "SQS.");
        self.0.lock().expect("not poisoned").push((Instant::now(), op));
        Ok(())
    }
}

pub struct Aws {
    pub config: aws_config::SdkConfig,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub calls: Calls,
}

impl Aws {
    pub async fn load() -> Aws {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let calls = Calls::default();
        let ddb = aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&config).interceptor(calls.clone()).build());
        let sqs = aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&config).interceptor(calls.clone()).build());
        Aws { config, ddb, sqs, calls }
    }
}

pub fn admin_token() -> Result<String, Error> {
    let claims = Claims { sub: "bench".into(), role: Role::Admin, client_id: None, exp: now_epoch() + 86_400, iss: env("AUTH_ISSUER")?, aud: env("AUTH_AUDIENCE")? };
    Ok(sign_hs256(env("AUTH_HS256_SECRET")?.as_bytes(), &claims))
}

pub fn authenticator() -> Result<Authenticator, Error> {
    Ok(Authenticator::new(AuthConfig::from_env()?, reqwest::Client::new()))
}

/// A request as API Gateway hands it to a function.
pub fn request(method: &str, path: &str, token: &str, body: Option<&Value>) -> HttpRequest {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()),
        None => (path, HashMap::new()),
    };
    HttpRequest {
        request_id: format!("bench-{}", now_epoch()),
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers: HashMap::from([("authorization".to_owned(), format!("Bearer {token}")), ("content-type".to_owned(), "application/json".to_owned())]),
        body: body.map(|b| b.to_string().into_bytes()),
        stage_prefix: String::new(),
        source_ip: None,
    }
}

/// p50 and p99 of a sample.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub p50: Duration,
    pub p99: Duration,
    pub n: usize,
}

pub fn summarize(mut sample: Vec<Duration>) -> Summary {
    sample.sort();
    let n = sample.len().max(1);
    let at = |q: f64| sample.get(((n as f64 * q).ceil() as usize).saturating_sub(1).min(n - 1)).copied().unwrap_or_default();
    Summary { p50: at(0.50), p99: at(0.99), n: sample.len() }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{:x}-{}", nanos % 0xffff_ffff, N.fetch_add(1, Ordering::Relaxed))
}
