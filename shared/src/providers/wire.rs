//! One exchange with a vendor's HTTP API, as every real provider makes it: a timeout on every
//! call, transient failures of reads tried once more (writes never), and each request and
//! answer recorded for the log's debug with the vendor's wire secrets masked.
//!
//! Redaction is by schema: each provider declares the field names that carry secrets on its
//! wire ([`Wire::new`]'s `secret_keys`: passwords, tokens, auth codes), and every recorded body is
//! masked by them at any depth before it is kept. Headers (where bearer tokens travel) are never
//! recorded. The engine's last guard (every secret setting's value scrubbed from the entry) still
//! runs after this.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::ProviderFailure;
use crate::domain::FailureKind;
use crate::secrets::MASK;

/// What a request carries.
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// One request: what it is (for messages), where, with what; `read`: it changes nothing, so a
/// transient failure is tried once more.
pub struct Request<'a> {
    pub what: &'a str,
    pub method: reqwest::Method,
    pub url: &'a str,
    pub body: &'a Body,
    pub read: bool,
}

/// An answer, for the provider to judge.
pub struct Reply {
    pub status: u16,
    /// The answer's headers (a vendor may say there what its body does not: Realtime Register's
    /// `X-Process-Id`). Never recorded.
    pub headers: reqwest::header::HeaderMap,
    /// The body parsed as JSON (None: empty or not JSON).
    pub body: Option<Value>,
    /// The raw body when it was not JSON (for messages; never recorded beyond 500 characters).
    pub text: String,
}

pub struct Wire<'a> {
    client: &'a reqwest::Client,
    /// The vendor's name in messages ("Hetzner Cloud").
    vendor: &'static str,
    secret_keys: &'static [&'static str],
    timeout: Duration,
    pub debug: Vec<Value>,
}

/// `value` with every field named in `keys` (at any depth) shown as the mask.
pub fn mask_keys(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let secret = keys.iter().any(|s| s.eq_ignore_ascii_case(k)) && !v.is_null();
                    (k.clone(), if secret { json!(MASK) } else { mask_keys(v, keys) })
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| mask_keys(v, keys)).collect()),
        other => other.clone(),
    }
}

impl<'a> Wire<'a> {
    pub fn new(client: &'a reqwest::Client, vendor: &'static str, secret_keys: &'static [&'static str], timeout: Duration) -> Self {
        Wire { client, vendor, secret_keys, timeout, debug: Vec::new() }
    }

    /// Sends one request (built afresh for each try by `build`) and hands each answer to `judge`,
    /// which says what it means.
    pub async fn exchange<T>(
        &mut self,
        request: Request<'_>,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
        judge: impl Fn(&Reply) -> Result<T, ProviderFailure>,
    ) -> Result<T, ProviderFailure> {
        let Request { what, method, url, body, read } = request;
        super::check_destination(url)?;
        let shown_body = match body {
            Body::None => Value::Null,
            Body::Json(v) => mask_keys(v, self.secret_keys),
            Body::Form(pairs) => mask_keys(&Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>()), self.secret_keys),
        };
        let mut request = json!({ "method": method.as_str(), "url": url });
        if !shown_body.is_null() {
            request["body"] = shown_body;
        }
        let attempts = if read { 2 } else { 1 };
        let mut failure = ProviderFailure::permanent(format!("{what} was not sent"));
        for attempt in 1..=attempts {
            let mut builder = build(self.client.request(method.clone(), url)).timeout(self.timeout);
            builder = match body {
                Body::None => builder,
                Body::Json(v) => builder.json(v),
                Body::Form(pairs) => builder.header("content-type", "application/x-www-form-urlencoded").body(form_encode(pairs)),
            };
            failure = match builder.send().await {
                Err(e) if e.is_timeout() => {
                    self.debug.push(json!({ "request": request, "response": null, "error": "timeout" }));
                    ProviderFailure { kind: FailureKind::Timeout, message: format!("{} did not answer {what} in time", self.vendor), debug: vec![] }
                }
                // Nothing was sent when the connection could not be made; a write whose
                // connection broke after that may have been done: the engine checks first.
                Err(e) if !read && !e.is_connect() => {
                    self.debug.push(json!({ "request": request, "response": null, "error": "connection failed" }));
                    ProviderFailure { kind: FailureKind::Timeout, message: format!("the connection to {} broke during {what}: it may have been done", self.vendor), debug: vec![] }
                }
                Err(e) => {
                    let error = if e.is_connect() { "could not connect" } else { "connection failed" };
                    self.debug.push(json!({ "request": request, "response": null, "error": error }));
                    ProviderFailure { kind: FailureKind::Transient, message: format!("could not reach {} for {what}", self.vendor), debug: vec![] }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let Ok(text) = response.text().await else {
                        // The answer broke off: a write may have been done.
                        self.debug.push(json!({ "request": request, "response": { "status": status, "body": null }, "error": "the answer broke off" }));
                        let kind = if read { FailureKind::Transient } else { FailureKind::Timeout };
                        failure = ProviderFailure { kind, message: format!("{}'s answer to {what} broke off", self.vendor), debug: vec![] };
                        if read && attempt < attempts {
                            continue;
                        }
                        break;
                    };
                    let body = serde_json::from_str::<Value>(&text).ok();
                    let shown = match &body {
                        Some(b) => mask_keys(b, self.secret_keys),
                        None => json!(text.chars().take(500).collect::<String>()),
                    };
                    self.debug.push(json!({ "request": request, "response": { "status": status, "body": shown } }));
                    let unreadable = body.is_none();
                    match judge(&Reply { status, headers, body, text }) {
                        Ok(value) => return Ok(value),
                        // A write that reached the vendor (a 2xx with no JSON body, a 2xx its
                        // judge could not make sense of, or a gateway that gave up waiting) may
                        // have been done: the engine checks before it is sent again. A 2xx the
                        // judge read as the vendor's own refusal stays what it is.
                        Err(f) if !read && ((f.kind == FailureKind::Transient && matches!(status, 200..=299 | 502 | 504 | 524)) || (unreadable && matches!(status, 200..=299))) => {
                            ProviderFailure { kind: FailureKind::Timeout, ..f }
                        }
                        Err(f) => f,
                    }
                }
            };
            if failure.kind != FailureKind::Transient || attempt == attempts {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(failure)
    }

    /// Masks these field names in the exchanges from now on (a call whose answer signs a person
    /// in: its link is masked in that exchange only); answers the names masked before, to put
    /// back. (Not `url` everywhere: the engine masks wire secrets at any depth of the debug,
    /// and every exchange records its request's `url`.)
    pub fn masking(&mut self, keys: &'static [&'static str]) -> &'static [&'static str] {
        std::mem::replace(&mut self.secret_keys, keys)
    }

    /// The exchanges so far, for a failure or an output.
    pub fn take_debug(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.debug)
    }

    pub fn vendor(&self) -> &'static str {
        self.vendor
    }
}

/// `application/x-www-form-urlencoded` of the pairs.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The usual reading of an HTTP status when the body says nothing more.
pub fn kind_of_status(status: u16) -> FailureKind {
    match status {
        408 | 425 | 429 | 500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_masked_at_any_depth_and_forms_encode() {
        let v = json!({ "root_password": "x1", "server": { "name": "a", "password": null }, "list": [{ "token": "t" }] });
        assert_eq!(mask_keys(&v, &["root_password", "token", "password"]), json!({ "root_password": MASK, "server": { "name": "a", "password": null }, "list": [{ "token": MASK }] }));
        assert_eq!(form_encode(&[("a b".into(), "x&y=é".into())]), "a+b=x%26y%3D%C3%A9");
    }
}
