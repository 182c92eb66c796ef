//! The `http` provider: the hosting company's own system behind one HTTPS endpoint, for every
//! blueprint. Where no ready-made provider fits (an in-house panel, a vendor without a public
//! API), the company answers one documented JSON call per action and the engine does the rest:
//! statuses, lifecycle automation, logs, retries.
//!
//! The contract (ARCHITECTURE.md, "The http provider"):
//! - `POST <endpoint_url>` with `{"blueprint", "action", "configuration_id", "service_identifier",
//!   "params"}`, signed: `X-Signature: sha256=<hex HMAC-SHA256 of the body with signing_secret>`;
//!   `X-Action: <blueprint>/<action>`. `action` is `test-connection` for a connection check.
//! - 2xx answers `{"message", "data", "service_identifier"?}`; `data` must match the action's
//!   result schema (`GET /blueprints`). Any other status answers `{"error": {"message"}}`:
//!   408, 429 and 5xx are worth a retry, other 4xx are not.
//! - No answer within `timeout_seconds` is a timeout: the effect is unknown, a create is checked
//!   with get-info before it is tried again. Only reads (get-*) are retried here, once.

use crate::catalogue::schema::{address, int_range, params, secret, url};
use std::time::Duration;

use serde_json::{Value, json};

use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;
use crate::secrets::sign;

/// The longest a configuration may let one call take (under the engine's deadline).
pub const MAX_TIMEOUT_SECONDS: u64 = 20;

pub struct Http;

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        Http
    }

    /// One signed call; `read` calls are tried once more after a transient failure.
    async fn call(&self, settings: &Value, body: Value, debug_body: Value, read: bool) -> Result<ProviderOutput, ProviderFailure> {
        let url = settings["endpoint_url"].as_str().unwrap_or_default();
        let secret = settings["signing_secret"].as_str().unwrap_or_default();
        let timeout = Duration::from_secs(settings["timeout_seconds"].as_u64().unwrap_or(MAX_TIMEOUT_SECONDS).clamp(1, MAX_TIMEOUT_SECONDS));
        let label = format!("{}/{}", body["blueprint"].as_str().unwrap_or_default(), body["action"].as_str().unwrap_or_default());
        let text = body.to_string();
        super::check_destination(url)?;
        let mut debug = Vec::new();
        let attempts = if read { 2 } else { 1 };
        let mut last = None;
        for attempt in 1..=attempts {
            let request = json!({ "method": "POST", "url": url, "body": debug_body });
            let sent = super::http_client()
                .post(url)
                .timeout(timeout)
                .header("content-type", "application/json")
                .header("x-signature", sign(secret.as_bytes(), text.as_bytes()))
                .header("x-action", &label)
                .body(text.clone())
                .send()
                .await;
            let failure = match sent {
                Err(e) if e.is_timeout() => {
                    debug.push(json!({ "request": request, "response": null, "error": "timeout" }));
                    ProviderFailure { kind: FailureKind::Timeout, message: format!("{label}: the endpoint did not answer within {} s", timeout.as_secs()), debug: vec![] }
                }
                Err(e) => {
                    debug.push(json!({ "request": request, "response": null, "error": "connection failed" }));
                    let why = if e.is_connect() { "could not connect to the endpoint" } else { "the connection to the endpoint failed" };
                    ProviderFailure { kind: FailureKind::Transient, message: format!("{label}: {why}"), debug: vec![] }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let answer = response.text().await.ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
                    debug.push(json!({ "request": request, "response": { "status": status, "body": answer.as_ref().map_or(Value::Null, |a| a["data"].clone()) } }));
                    match answer {
                        Some(a) if (200..300).contains(&status) && (a["data"].is_object() || a["data"].is_null()) => {
                            let data = if a["data"].is_null() { json!({}) } else { a["data"].clone() };
                            return Ok(ProviderOutput {
                                message: a["message"].as_str().map_or_else(|| format!("{label} done"), |m| m.chars().take(500).collect()),
                                data,
                                service_identifier: a["service_identifier"].as_str().filter(|s| !s.is_empty()).map(|s| s.chars().take(255).collect()),
                                debug,
                            });
                        }
                        Some(a) if !(200..300).contains(&status) => {
                            let said = a["error"]["message"].as_str().unwrap_or("no reason given");
                            ProviderFailure { kind: super::wire::kind_of_status(status), message: format!("{label} refused ({status}): {}", said.chars().take(500).collect::<String>()), debug: vec![] }
                        }
                        None if !(200..300).contains(&status) => ProviderFailure { kind: super::wire::kind_of_status(status), message: format!("{label} failed with HTTP {status}"), debug: vec![] },
                        _ => ProviderFailure { kind: FailureKind::Permanent, message: format!("{label}: the endpoint answered with a malformed body"), debug: vec![] },
                    }
                }
            };
            let retry = failure.kind == FailureKind::Transient && attempt < attempts;
            last = Some(failure);
            if !retry {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut failure = last.unwrap_or_else(|| ProviderFailure::permanent(format!("{label} was not sent")));
        failure.debug = debug;
        Err(failure)
    }

    async fn execute(&self, call: ProviderCall<'_>) -> Result<ProviderOutput, ProviderFailure> {
        let body = json!({
            "blueprint": call.blueprint.id,
            "action": call.action.id,
            "configuration_id": call.configuration_id.as_str(),
            "service_identifier": call.service_identifier,
            "params": call.params,
        });
        let read = call.action.id.starts_with("get-") && call.action.moves_to.is_none();
        self.call(call.settings, body, call.params.clone(), read).await
    }
}

impl Connect for Http {
    fn test_connection<'a>(&'a self, blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let body = json!({ "blueprint": blueprint, "action": "test-connection", "configuration_id": null, "service_identifier": null, "params": {} });
            let mut out = self.call(settings, body, json!({}), true).await?;
            out.data = json!({ "connected": true });
            Ok(out)
        })
    }
}

// Every action of every blueprint is one call to the endpoint.
super::blueprints::every_action_through_execute!(Http as "http");

pub fn spec(blueprint: &'static str) -> super::ProviderSpec {
    let settings = params().req("endpoint_url", address(url())).req("signing_secret", secret()).opt("timeout_seconds", int_range(1, MAX_TIMEOUT_SECONDS as i64)).build();
    super::ProviderSpec {
        id: "http",
        blueprint,
        name: "Your own HTTP endpoint",
        description: "Every action is one signed JSON POST to an endpoint of your own system (contract in ARCHITECTURE.md)",
        settings,
        supported_actions: super::every_action(blueprint),
        wire_secrets: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn settings(url: &str) -> Value {
        json!({ "endpoint_url": url, "signing_secret": "s3cret-signing-key", "timeout_seconds": 1 })
    }

    async fn run(server: &MockServer, action: &str) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("web-hosting", action).unwrap();
        let id = ConfigurationId::parse("cfg-http").unwrap();
        let s = settings(&server.uri());
        let params = json!({ "username": "alice1", "password": "pw-not-logged" });
        Http::new().execute(ProviderCall::for_service(b, a, &id, &s, &params, Some("alice1"))).await
    }

    #[tokio::test]
    async fn a_signed_call_answers_the_endpoint_data() {
        let server = MockServer::start().await;
        let body = json!({ "blueprint": "web-hosting", "action": "get-info", "configuration_id": "cfg-http", "service_identifier": "alice1", "params": { "username": "alice1", "password": "pw-not-logged" } }).to_string();
        Mock::given(method("POST"))
            .and(header("x-signature", sign(b"s3cret-signing-key", body.as_bytes()).as_str()))
            .and(header("x-action", "web-hosting/get-info"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "message": "found", "data": { "username": "alice1" } })))
            .expect(1)
            .mount(&server)
            .await;
        let out = run(&server, "get-info").await.unwrap();
        assert_eq!(out.message, "found");
        assert_eq!(out.data, json!({ "username": "alice1" }));
        assert_eq!(out.debug[0]["response"]["status"], 200);
    }

    #[tokio::test]
    async fn statuses_map_to_failure_kinds_and_only_reads_are_retried() {
        for (status, kind) in [(503, FailureKind::Transient), (429, FailureKind::Transient), (404, FailureKind::Permanent), (401, FailureKind::Permanent)] {
            let server = MockServer::start().await;
            Mock::given(method("POST")).respond_with(ResponseTemplate::new(status).set_body_json(json!({ "error": { "message": "nope" } }))).mount(&server).await;
            let read = run(&server, "get-info").await.unwrap_err();
            assert_eq!(read.kind, kind, "{status}");
            assert!(read.message.contains("nope"), "{}", read.message);
            let reads = server.received_requests().await.unwrap().len();
            assert_eq!(reads, if kind == FailureKind::Transient { 2 } else { 1 }, "{status}");
            let write = run(&server, "suspend-account").await.unwrap_err();
            assert_eq!(write.kind, kind);
            assert_eq!(server.received_requests().await.unwrap().len(), reads + 1, "a write is never retried");
        }
    }

    #[tokio::test]
    async fn no_answer_in_time_is_a_timeout_and_a_bad_body_is_permanent() {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500))).mount(&server).await;
        assert_eq!(run(&server, "suspend-account").await.unwrap_err().kind, FailureKind::Timeout);
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&server).await;
        let f = run(&server, "get-info").await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent);
        assert!(f.message.contains("malformed"));
        // Nothing listens here: a connection failure is transient.
        let s = settings("http://127.0.0.1:9");
        let f = Http::new().test_connection("web-hosting", &s).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
    }
}
