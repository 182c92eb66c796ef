//! Lambda HTTP glue: API Gateway HTTP API (payload 2.0) events in, JSON responses out, bearer
//! auth, the error shape of API.md and one tracing span per request carrying its request id.

pub mod action;
pub mod admin;
pub mod auth;
pub mod cognito;
pub mod console;
pub mod cursor;
mod error;
pub mod logs;
pub mod routes;
pub mod webhook;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use base64::Engine;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

pub use error::ApiError;

/// The API Gateway HTTP API event (payload format 2.0), as far as this API reads it. Header
/// names arrive in lower case; repeated headers are joined with commas.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    pub raw_path: Option<String>,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub query_string_parameters: HashMap<String, String>,
    #[serde(default)]
    pub request_context: HttpApiContext,
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiContext {
    pub request_id: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub http: HttpApiMethod,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiMethod {
    #[serde(default)]
    pub method: String,
    pub path: Option<String>,
    /// The caller's address as API Gateway saw it.
    pub source_ip: Option<String>,
}

/// The response API Gateway turns into HTTP.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    /// Always empty, but part of the shape API Gateway and the local emulator expect.
    pub multi_value_headers: HashMap<String, Vec<String>>,
    pub cookies: Vec<String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

use routes::ApiRoute;

/// The largest request body any route accepts (API.md: over 256 KB is 413).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// One HTTP request, taken out of its Lambda event.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub request_id: String,
    /// Upper case: GET, POST ...
    pub method: String,
    /// The path as the client wrote it, without an API Gateway stage prefix.
    pub path: String,
    pub query: HashMap<String, String>,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Option<Vec<u8>>,
    /// The API Gateway stage prefix the client wrote before `path` ("" on the `$default`
    /// stage, "/prod" on a named one): what a page must put before the URLs it links to.
    pub stage_prefix: String,
    /// The caller's address (API Gateway's `sourceIp`), when it is one.
    pub source_ip: Option<std::net::IpAddr>,
}

impl HttpRequest {
    pub fn from_event(event: HttpApiEvent, lambda_request_id: &str) -> Result<Self, ApiError> {
        let ctx = &event.request_context;
        let request_id = ctx.request_id.clone().filter(|id| !id.is_empty()).unwrap_or_else(|| lambda_request_id.to_owned());
        let mut path = event.raw_path.clone().or_else(|| ctx.http.path.clone()).unwrap_or_else(|| "/".into());
        let mut stage_prefix = String::new();
        if let Some(stage) = ctx.stage.as_deref().filter(|s| *s != "$default" && !s.is_empty()) {
            let prefix = format!("/{stage}");
            if path == prefix || path.starts_with(&format!("{prefix}/")) {
                path = path[prefix.len()..].to_owned();
                if path.is_empty() {
                    path = "/".into();
                }
                stage_prefix = prefix;
            }
        }
        let body = match event.body {
            None => None,
            Some(b) if event.is_base64_encoded => {
                Some(base64::engine::general_purpose::STANDARD.decode(b.as_bytes()).map_err(|_| ApiError::validation("request body is not valid base64", serde_json::json!({})))?)
            }
            Some(b) => Some(b.into_bytes()),
        };
        if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        let method = ctx.http.method.to_ascii_uppercase();
        let source_ip = ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
        let headers = event.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Ok(HttpRequest { request_id, method, path, query: event.query_string_parameters, headers, body, stage_prefix, source_ip })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The route of `function` this request is for, with its path parameters.
    pub fn route(&self, function: &str) -> Result<(&'static ApiRoute, HashMap<String, String>), ApiError> {
        routes::find(function, &self.method, &self.path).ok_or_else(|| {
            // A path the API knows, asked with another method: 405 naming the ones it answers.
            let allowed = routes::methods_of(&self.path);
            if allowed.is_empty() {
                ApiError::NotFound(format!("no route {} {}", self.method, self.path))
            } else {
                ApiError::MethodNotAllowed { method: self.method.clone(), path: self.path.clone(), allowed }
            }
        })
    }
}

/// A response: JSON (the API) unless the console sets another type.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// `Allow` of a 405: the methods the path answers.
    pub allow: Option<String>,
    /// `content-type`; JSON unless set.
    pub content_type: &'static str,
    /// Headers beyond the ones every response carries (lower-case names); a `cache-control`
    /// here replaces the API's `no-store`.
    pub headers: Vec<(&'static str, String)>,
    /// `body` is base64 of the bytes to send (a gzip-encoded asset).
    pub base64: bool,
}

impl HttpResponse {
    pub fn json(status: u16, body: &impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body).map_err(ApiError::internal)?;
        Ok(Self::raw_json(status, body))
    }

    /// A body already serialized (cached responses).
    pub fn raw_json(status: u16, body: String) -> Self {
        HttpResponse { status, body, allow: None, content_type: "application/json", headers: Vec::new(), base64: false }
    }

    fn into_event(self, request_id: &str) -> HttpApiResponse {
        let headers = [("content-type", self.content_type), ("cache-control", "no-store"), ("x-content-type-options", "nosniff"), ("x-request-id", request_id)];
        let mut headers: HashMap<String, String> = headers.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        if let Some(allow) = self.allow {
            headers.insert("allow".into(), allow);
        }
        headers.extend(self.headers.into_iter().map(|(k, v)| (k.to_owned(), v)));
        HttpApiResponse { status_code: self.status, headers, multi_value_headers: HashMap::new(), cookies: Vec::new(), body: self.body, is_base64_encoded: self.base64 }
    }
}

/// Runs one HTTP invocation: builds the request, runs `handler` inside a span that carries the
/// request id, maps any error to the JSON error shape and logs the outcome. It never fails the
/// invocation itself, so API Gateway never answers with a bare 500.
pub async fn serve<F, Fut>(event: LambdaEvent<HttpApiEvent>, handler: F) -> Result<HttpApiResponse, Infallible>
where
    F: FnOnce(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, ApiError>>,
{
    let started = Instant::now();
    crate::adapters::telemetry::begin(&event.context);
    let lambda_request_id = event.context.request_id.clone();
    let method = event.payload.request_context.http.method.clone();
    let request_id = event.payload.request_context.request_id.clone().filter(|id| !id.is_empty()).unwrap_or_else(|| lambda_request_id.clone());
    let span = tracing::info_span!("request", request_id = %request_id, lambda_request_id = %lambda_request_id);
    async move {
        let outcome = match HttpRequest::from_event(event.payload, &lambda_request_id) {
            Ok(request) => {
                tracing::info!(method = %request.method, path = %request.path, "request");
                handler(request).await
            }
            Err(e) => Err(e),
        };
        let response = outcome.unwrap_or_else(|e| error_response(&e, &request_id));
        tracing::info!(
            method = %method,
            status = response.status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "response"
        );
        Ok(response.into_event(&request_id))
    }
    .instrument(span)
    .await
}

/// The response for an error, logged at a level that fits who is at fault.
pub fn error_response(error: &ApiError, request_id: &str) -> HttpResponse {
    match error {
        ApiError::Internal(cause) => tracing::error!(error.code = error.code(), error.cause = %crate::domain::error_chain(cause.as_ref()), "internal error"),
        e if e.status() >= 500 => tracing::warn!(error.code = e.code(), error.message = %e, "upstream failure"),
        e => tracing::info!(error.code = e.code(), error.message = %e, "request refused"),
    }
    let allow = match error {
        ApiError::MethodNotAllowed { allowed, .. } => Some(allowed.join(", ")),
        _ => None,
    };
    let mut response = HttpResponse { allow, ..HttpResponse::raw_json(error.status(), error.body(request_id, None).to_string()) };
    if let ApiError::ProviderUnavailable { retry_after_seconds, .. } = error {
        response.headers.push(("retry-after", retry_after_seconds.to_string()));
    }
    response
}

/// The response for an error of an action run that was logged: the body carries its `log_id`.
pub fn error_response_with_log(error: &ApiError, request_id: &str, log_id: &str) -> HttpResponse {
    let mut response = error_response(error, request_id);
    response.body = error.body(request_id, Some(log_id)).to_string();
    response
}

/// The request body as JSON, or a 400 that says why it is not.
pub fn json_body(request: &HttpRequest) -> Result<Value, ApiError> {
    let bytes = request.body.as_deref().unwrap_or(b"");
    serde_json::from_slice(bytes).map_err(|e| ApiError::validation("request body is not valid JSON", serde_json::json!({ "body": e.to_string() })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(path: &str, stage: &str, body: Option<&str>, base64: bool) -> HttpApiEvent {
        let raw = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "a=1",
            "headers": {"Authorization": "Bearer x"},
            "queryStringParameters": {"a": "1"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
                "domainPrefix": "localhost", "requestId": "req-123", "routeKey": "$default",
                "stage": stage, "time": "23/Nov/2026:05:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"}
            },
            "body": body,
            "isBase64Encoded": base64
        });
        serde_json::from_value(raw).unwrap()
    }

    #[test]
    fn the_stage_prefix_is_removed_and_the_request_id_kept() {
        let r = HttpRequest::from_event(event("/prod/blueprints", "prod", None, false), "lambda-1").unwrap();
        assert_eq!((r.path.as_str(), r.request_id.as_str()), ("/blueprints", "req-123"));
        let r = HttpRequest::from_event(event("/blueprints", "$default", None, false), "lambda-1").unwrap();
        assert_eq!(r.path, "/blueprints");
        assert_eq!(r.query.get("a").map(String::as_str), Some("1"));
        assert_eq!(r.header("Authorization"), Some("Bearer x"));
        assert_eq!(r.source_ip, Some(std::net::Ipv4Addr::LOCALHOST.into()));
    }

    #[test]
    fn bodies_are_decoded_and_bounded() {
        let r = HttpRequest::from_event(event("/x", "$default", Some("eyJhIjoxfQ=="), true), "l").unwrap();
        assert_eq!(json_body(&r).unwrap(), json!({"a": 1}));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let e = HttpRequest::from_event(event("/x", "$default", Some(&big), false), "l").unwrap_err();
        assert_eq!(e.status(), 413);
        let r = HttpRequest::from_event(event("/x", "$default", Some("{nope"), false), "l").unwrap();
        assert_eq!(json_body(&r).unwrap_err().status(), 400);
    }

    #[tokio::test]
    async fn serve_maps_errors_to_the_json_shape() {
        let ev = LambdaEvent::new(event("/nowhere", "$default", None, false), lambda_runtime::Context::default());
        let response = serve(ev, |r| async move { Err::<HttpResponse, _>(ApiError::NotFound(format!("no route {}", r.path))) }).await.unwrap();
        assert_eq!(response.status_code, 404);
        assert_eq!(response.headers["content-type"], "application/json");
        assert_eq!(response.headers["x-request-id"], "req-123");
        let body: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["message"], "no route /nowhere");
    }

    /// A known path asked with a method it does not answer: 405, `Allow`, the JSON error shape.
    #[tokio::test]
    async fn a_wrong_method_on_a_known_path_is_a_405_with_allow() {
        let ev = LambdaEvent::new(event("/provision-configurations", "$default", None, false), lambda_runtime::Context::default());
        let response = serve(ev, |r| async move {
            let request = HttpRequest { method: "PUT".into(), ..r };
            request.route("admin").map(|_| HttpResponse::raw_json(200, "{}".into()))
        })
        .await
        .unwrap();
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["allow"], "POST, GET");
        let body: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!((body["error"]["code"].as_str(), body["error"]["details"]["allow"].clone()), (Some("method_not_allowed"), json!(["POST", "GET"])));
    }
}
