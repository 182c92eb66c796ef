//! The functions' way to the SQS emulator in the test stack (`local-stack sqs-proxy`): every
//! request passes through to moto as it came, except that for a while it can refuse the sends to
//! one queue as SQS does when it cannot take them (503 ServiceUnavailable), so a test can show
//! that nothing is lost when SQS refuses. Told on its own path:
//!
//! - `POST /__faults/refuse-sends` `{"queue_suffix": "-events", "seconds": 20}`: refuse sends
//!   (SendMessage, SendMessageBatch) to queues whose URL ends so, for that long;
//! - `DELETE /__faults/refuse-sends`: take them again;
//! - `GET /__faults`: what it refuses now and how many sends it refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[derive(Debug, Default)]
struct Faults {
    /// Queue URL suffix and until when its sends are refused.
    refusing: Option<(String, Instant)>,
    refused: u64,
}

#[derive(Clone)]
pub struct SqsProxy {
    http: reqwest::Client,
    upstream: String,
    faults: Arc<Mutex<Faults>>,
}

fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("content-type", content_type.parse().expect("a valid header value"));
    r
}

/// The queue URLs a send names, whatever protocol the client speaks (JSON, or the query form).
fn sent_to(target: Option<&str>, body: &[u8]) -> Option<Vec<String>> {
    match target {
        Some("AmazonSQS.SendMessage" | "AmazonSQS.SendMessageBatch") => {
            let v: Value = serde_json::from_slice(body).ok()?;
            Some(v["QueueUrl"].as_str().map(str::to_owned).into_iter().collect())
        }
        Some(_) => None,
        None => {
            let text = std::str::from_utf8(body).ok()?;
            let pairs: Vec<(String, String)> = text.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_owned(), v.replace("%3A", ":").replace("%2F", "/"))).collect();
            let action = pairs.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.as_str());
            matches!(action, Some("SendMessage" | "SendMessageBatch")).then(|| pairs.iter().filter(|(k, _)| k == "QueueUrl").map(|(_, v)| v.clone()).collect())
        }
    }
}

impl SqsProxy {
    pub fn new(upstream: &str) -> Self {
        SqsProxy { http: reqwest::Client::new(), upstream: upstream.trim_end_matches('/').to_owned(), faults: Arc::default() }
    }

    fn control(&self, method: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        match method {
            "POST" => {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let (Some(suffix), Some(seconds)) = (v["queue_suffix"].as_str(), v["seconds"].as_u64()) else {
                    return respond(400, "application/json", json!({ "error": "needs queue_suffix and seconds" }).to_string());
                };
                f.refusing = Some((suffix.to_owned(), Instant::now() + Duration::from_secs(seconds)));
            }
            "DELETE" => f.refusing = None,
            _ => {}
        }
        let refusing = f.refusing.as_ref().filter(|(_, until)| *until > Instant::now()).map(|(s, _)| s.clone());
        respond(200, "application/json", json!({ "refusing": refusing, "refused": f.refused }).to_string())
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else { return respond(400, "text/plain", "unreadable body") };
        if parts.uri.path().starts_with("/__faults") {
            return self.control(parts.method.as_str(), &body);
        }
        let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
        if let Some(queues) = sent_to(target, &body) {
            let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            let refuse = f.refusing.as_ref().is_some_and(|(suffix, until)| *until > Instant::now() && queues.iter().any(|q| q.ends_with(suffix.as_str())));
            if refuse {
                f.refused += 1;
                tracing::info!(?queues, "sqs proxy: a send refused, as told");
                return respond(
                    503,
                    "application/x-amz-json-1.0",
                    json!({ "__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "the local SQS proxy refuses sends to this queue for now" }).to_string(),
                );
            }
        }
        let url = format!("{}{}", self.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
        let Ok(method) = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) else { return respond(405, "text/plain", "method") };
        let mut out = self.http.request(method, url).body(body);
        for (k, v) in parts.headers.iter().filter(|(k, _)| !matches!(k.as_str(), "host" | "content-length" | "connection" | "transfer-encoding")) {
            out = out.header(k.as_str(), v.as_bytes());
        }
        match out.send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let headers = answer.headers().clone();
                let bytes = answer.bytes().await.unwrap_or_default();
                let mut response = Response::builder().status(status);
                for (k, v) in headers.iter().filter(|(k, _)| !matches!(k.as_str(), "content-length" | "connection" | "transfer-encoding")) {
                    response = response.header(k.as_str(), v.as_bytes());
                }
                response.body(Full::new(bytes)).unwrap_or_else(|_| respond(502, "text/plain", "bad answer"))
            }
            Err(e) => respond(502, "text/plain", format!("sqs proxy: {e}")),
        }
    }

    /// Serves on `listen` until the process stops.
    pub async fn serve(self, listen: SocketAddr) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let proxy = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_recognised_in_either_protocol() {
        let json_body = br#"{"QueueUrl":"http://127.0.0.1:9/123/e2e-events","MessageBody":"x"}"#;
        assert_eq!(sent_to(Some("AmazonSQS.SendMessage"), json_body), Some(vec!["http://127.0.0.1:9/123/e2e-events".to_owned()]));
        assert_eq!(sent_to(Some("AmazonSQS.ReceiveMessage"), json_body), None);
        let form = b"Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2F1%2Fe2e-events&MessageBody=x";
        assert_eq!(sent_to(None, form), Some(vec!["http://h/1/e2e-events".to_owned()]));
        assert_eq!(sent_to(None, b"Action=ReceiveMessage&QueueUrl=x"), None);
    }
}
