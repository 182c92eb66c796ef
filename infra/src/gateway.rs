//! The local stack's front door (`local-stack gateway`): what API Gateway's HTTP API is in AWS.
//! Every request passes through to `cargo lambda watch`, which turns it into the function's event,
//! except one whose body is not UTF-8: watch cannot carry such a body and answers with its own
//! text/plain 500, while API Gateway base64-encodes it. Those the gateway hands to the routed
//! function itself, through watch's Invoke API, as API Gateway's payload-2.0 event with
//! `isBase64Encoded`, so the function answers them as it does in AWS (a JSON 400, or the 401 /
//! 404 / 405 that comes first).

use std::convert::Infallible;
use std::net::SocketAddr;

use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::api::routes::{FALLBACK_FUNCTION, ROUTES, match_path};

/// API Gateway's own cap on a request body (10 MB); the functions refuse far less (413).
const MAX_BODY: usize = 10 * 1024 * 1024;

/// The start of cargo lambda watch's own 500 (a problem+json body), never a function's answer.
const WATCH_OWN_500: &[u8] = br#"{"type":"https://httpstatuses.com/500""#;

/// Headers that belong to one hop, not passed on.
const HOP: [&str; 5] = ["connection", "keep-alive", "transfer-encoding", "upgrade", "content-length"];

#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
    /// cargo lambda watch, e.g. `http://127.0.0.1:9100`.
    upstream: String,
}

/// The function API Gateway routes a method and path to (its `$default` route: the fallback).
pub fn function_for(method: &str, path: &str) -> &'static str {
    ROUTES.iter().find(|r| r.method.eq_ignore_ascii_case(method) && match_path(r.path, path).is_some()).map_or(FALLBACK_FUNCTION, |r| r.function)
}

/// API Gateway's payload-2.0 event of a request whose body it had to base64-encode.
pub fn binary_event(method: &str, path: &str, query: &str, headers: &[(String, String)], body: &[u8], request_id: &str) -> Value {
    let mut joined: serde_json::Map<String, Value> = serde_json::Map::new();
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        let value = match joined.get(&k).and_then(Value::as_str) {
            Some(before) => format!("{before},{v}"),
            None => v.clone(),
        };
        joined.insert(k, Value::String(value));
    }
    let params: serde_json::Map<String, Value> = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).map(|(k, v)| (decode(k), Value::String(decode(v)))).collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "queryStringParameters": params,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "" }
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

/// A query component with `%XX` and `+` decoded (lossy where it is not UTF-8, as API Gateway).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// How long a read may go unanswered by watch before the gateway asks again.
const READ_PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", "application/json".parse().expect("a valid header value"));
    r
}

/// The gateway's own failures (watch unreachable, a body over API Gateway's cap), in the API's
/// error shape.
fn own_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({ "error": { "code": code, "message": message, "details": {} } }))
}

impl Gateway {
    pub fn new(upstream: &str) -> Self {
        Gateway { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a plain HTTP client builds"), upstream: upstream.trim_end_matches('/').to_owned() }
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return own_error(413, "payload_too_large", "request body exceeds 10485760 bytes"),
        };
        let headers: Vec<(String, String)> = parts.headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned()))).collect();
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let method = parts.method.as_str().to_owned();
        let answer = if std::str::from_utf8(&body).is_ok() { self.pass(&method, &parts.uri, &headers, body).await } else { self.invoke_binary(&method, &path, &query, &headers, &body).await };
        answer.unwrap_or_else(|e| {
            tracing::error!(error = %e, "local gateway: cargo lambda watch did not answer");
            own_error(500, "internal", "the local gateway could not reach cargo lambda watch")
        })
    }

    /// The request as it came, to watch; its answer as it came back. A read that watch itself
    /// failed (its own problem+json 500, which it now and then gives for a large answer while
    /// other requests are in flight, though the function answered) is asked again: a read changes
    /// nothing, and no function of ours answers that body. So is a read watch leaves unanswered
    /// for [`READ_PATIENCE`]: every function of ours answers a read in well under that.
    ///
    /// Each try runs to its end on its own task, never cut off: asking again leaves the first try
    /// going. A request to watch dropped mid-way (as a caller that goes away, or a client timeout,
    /// drops it) makes watch answer the function's response with its own 500 before reading it;
    /// a function still writing a large answer then dies of the broken pipe (lambda_runtime ends
    /// on it), watch starts no other instance, and every later request to that function waited
    /// until the run's checks timed out.
    async fn pass(&self, method: &str, uri: &hyper::Uri, headers: &[(String, String)], body: Bytes) -> Result<Response<Full<Bytes>>, String> {
        let target = format!("{}{}", self.upstream, uri.path_and_query().map_or("/", |p| p.as_str()));
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let read = method == reqwest::Method::GET;
        let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
        let try_once = || {
            let mut out = self.http.request(method.clone(), &target).body(body.clone());
            for (k, v) in headers.iter().filter(|(k, _)| !HOP.contains(&k.as_str()) && k != "host") {
                out = out.header(k, v);
            }
            let answers = answers.clone();
            tokio::spawn(async move {
                let answer = async {
                    let answer = out.send().await?;
                    let status = answer.status().as_u16();
                    let headers = answer.headers().clone();
                    Ok::<_, reqwest::Error>((status, headers, answer.bytes().await?))
                };
                // The gateway may have stopped waiting (its caller went away): nobody to tell.
                let _ = answers.send(answer.await);
            });
        };
        let mut tries = 1;
        try_once();
        let (status, answer_headers, bytes) = loop {
            let waited = if read { tokio::time::timeout(READ_PATIENCE, answered.recv()).await.ok() } else { Some(answered.recv().await) };
            let Some(answer) = waited else {
                if tries == 4 {
                    return Err(format!("cargo lambda watch left a read unanswered {tries} times, {} s each", READ_PATIENCE.as_secs()));
                }
                tracing::warn!(target = %target, tries, "local gateway: cargo lambda watch left a read unanswered; asking again (the first try goes on)");
                tries += 1;
                try_once();
                continue;
            };
            // The channel's sender is held here, so it is never closed.
            let (status, headers, bytes) = answer.ok_or("the local gateway's answer channel closed")?.map_err(|e| e.to_string())?;
            if status == 500 && bytes.starts_with(WATCH_OWN_500) {
                if read && tries < 4 {
                    tracing::warn!(target = %target, tries, "local gateway: cargo lambda watch answered its own 500 to a read; asking again");
                    tries += 1;
                    try_once();
                    continue;
                }
                // A write is never sent twice: the caller gets the 500, as from API Gateway when
                // an answer is lost, and may ask what became of it.
                tracing::warn!(target = %target, %method, "local gateway: cargo lambda watch answered its own 500; passed on");
            }
            break (status, headers, bytes);
        };
        let mut response = Response::builder().status(status);
        for (k, v) in answer_headers.iter().filter(|(k, _)| !HOP.contains(&k.as_str())) {
            response = response.header(k.as_str(), v.as_bytes());
        }
        response.body(Full::new(bytes)).map_err(|e| e.to_string())
    }

    /// A body watch cannot carry: the routed function gets API Gateway's base64 event.
    async fn invoke_binary(&self, method: &str, path: &str, query: &str, headers: &[(String, String)], body: &[u8]) -> Result<Response<Full<Bytes>>, String> {
        let function = function_for(method, path);
        let request_id = format!("local-{}", shared::domain::ids::random_hex());
        let event = binary_event(method, path, query, headers, body, &request_id);
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.upstream);
        let answer = self.http.post(url).json(&event).send().await.map_err(|e| e.to_string())?;
        let failed = answer.headers().contains_key("x-amz-function-error");
        let v: Value = answer.json().await.map_err(|e| e.to_string())?;
        if failed {
            return Err(format!("{function} failed: {v}"));
        }
        let mut response = Response::builder().status(v["statusCode"].as_u64().unwrap_or(500) as u16);
        for (k, val) in v["headers"].as_object().into_iter().flatten() {
            if let Some(val) = val.as_str() {
                response = response.header(k.as_str(), val);
            }
        }
        let text = v["body"].as_str().unwrap_or_default();
        let bytes = if v["isBase64Encoded"].as_bool() == Some(true) { base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| e.to_string())? } else { text.as_bytes().to_vec() };
        response.body(Full::new(Bytes::from(bytes))).map_err(|e| e.to_string())
    }

    /// Serves on `listen` until the process stops.
    pub async fn serve(self, listen: SocketAddr) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let gateway = self.clone();
            tokio::spawn(async move {
                // Each request is handled on its own task, to its end even when the caller goes
                // away (as API Gateway finishes the invocation): see [`Gateway::pass`].
                let service = hyper::service::service_fn(move |req| {
                    let gateway = gateway.clone();
                    let handled = tokio::spawn(async move { gateway.handle(req).await });
                    async move { Ok::<_, Infallible>(handled.await.unwrap_or_else(|e| own_error(500, "internal", &format!("the local gateway failed: {e}")))) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                    tracing::debug!(error = %e, "local gateway: connection ended");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_route_as_in_aws_with_the_fallback_for_the_rest() {
        assert_eq!(function_for("POST", "/contract-products/cp-1/actions/servers/reboot"), "action");
        assert_eq!(function_for("GET", "/logs/log-1"), "logs");
        assert_eq!(function_for("POST", "/webhooks/billing"), "webhook");
        assert_eq!(function_for("PUT", "/webhooks/billing"), FALLBACK_FUNCTION);
        assert_eq!(function_for("GET", "/nowhere"), FALLBACK_FUNCTION);
    }

    #[test]
    fn a_binary_body_reaches_the_function_base64_encoded_as_api_gateway_sends_it() {
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned()), ("X-A".to_owned(), "1".to_owned()), ("x-a".to_owned(), "2".to_owned())];
        let event = binary_event("POST", "/products", "a=1&b=x%20y&c", &headers, &[0xff, 0xfe], "req-1");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "//4=");
        assert_eq!(event["headers"]["x-a"], "1,2");
        assert_eq!(event["queryStringParameters"], json!({ "a": "1", "b": "x y", "c": "" }));
        let parsed: shared::api::HttpApiEvent = serde_json::from_value(event).unwrap();
        let request = shared::api::HttpRequest::from_event(parsed, "x").unwrap();
        assert_eq!(request.body.as_deref(), Some(&[0xff, 0xfe][..]));
        assert_eq!(request.method, "POST");
        assert_eq!(request.request_id, "req-1");
    }

    /// watch's stand-in: reads a request's head, then either sees the gateway close the
    /// connection within 300 ms (the request cut short) or answers it. Answers whether it answered.
    async fn slow_watch(listener: tokio::net::TcpListener) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request's head arrived");
            head.extend_from_slice(&buf[..n]);
        }
        if let Ok(read) = tokio::time::timeout(std::time::Duration::from_millis(300), stream.read(&mut buf)).await {
            assert!(!matches!(read, Ok(0) | Err(_)), "the gateway cut the request to watch short when its caller went away");
        }
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").await.is_ok()
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_does_not_cut_the_request_to_watch_short() {
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let watch = format!("http://{}", upstream.local_addr().unwrap());
        let answered = tokio::spawn(slow_watch(upstream));
        let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        tokio::spawn(Gateway::new(&watch).serve(listen));
        let caller = reqwest::Client::new();
        let mut gave_up = None;
        for _ in 0..250 {
            match caller.get(format!("http://{listen}/blueprints")).timeout(std::time::Duration::from_millis(100)).send().await {
                Err(e) if e.is_connect() => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                other => {
                    gave_up = Some(other);
                    break;
                }
            }
        }
        assert!(gave_up.expect("the gateway listens within 5 s").is_err_and(|e| e.is_timeout()), "the caller went away before watch answered");
        assert!(answered.await.unwrap(), "watch answered the request to its end");
    }

    #[test]
    fn query_components_decode_leniently() {
        assert_eq!(decode("a%2Fb+c"), "a/b c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
