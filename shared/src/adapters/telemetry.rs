//! Structured JSON logs through tracing: one JSON object per line, with the fields of the current
//! span (the request id of the invocation) on every line logged inside a request.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The level: AWS_LAMBDA_LOG_LEVEL (Lambda's advanced logging controls), then RUST_LOG (a level,
/// or `target=level` directives separated by commas), else INFO. (`Targets` rather than
/// `EnvFilter`: no regex engine in every bootstrap.)
fn filter() -> Targets {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|l| l.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// The JSON subscriber every function uses, writing to `writer`.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt().json().with_current_span(true).with_span_list(false).flatten_event(true).with_target(false).with_writer(writer).finish().with(filter())
}

/// The function this process is (its binary's name), once its main has said so.
static FUNCTION: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The function this process is, where it is one of the stack's (tools and tests are none).
pub fn function() -> Option<&'static str> {
    FUNCTION.get().copied()
}

/// Installs the JSON subscriber on stdout for the function `name` (its binary: a main passes
/// `env!("CARGO_PKG_NAME")`). A second call is harmless: the first one stays.
pub fn init(name: &'static str) {
    let _ = FUNCTION.set(name);
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use crate::api::{ApiError, HttpApiEvent, HttpResponse, serve};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Every line a request logs, success or failure, is JSON and carries its request id.
    #[test]
    fn every_log_line_of_a_request_is_json_with_its_request_id() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = super::subscriber(move || writer.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for (id, fail) in [("req-ok", false), ("req-err", true), ("req-boom", true)] {
                let event: HttpApiEvent = serde_json::from_value(serde_json::json!({
                    "rawPath": "/x", "requestContext": { "requestId": id, "http": { "method": "GET" } }
                }))
                .unwrap();
                let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
                runtime
                    .block_on(serve(event, move |_| async move {
                        tracing::info!("handler ran");
                        match (fail, id) {
                            (false, _) => Ok(HttpResponse::raw_json(200, "{}".into())),
                            (true, "req-err") => Err(ApiError::NotFound("nope".into())),
                            _ => Err(ApiError::internal("database on fire")),
                        }
                    }))
                    .unwrap();
            }
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        assert!(lines.len() >= 9, "{text}");
        for line in &lines {
            let id = line["span"]["request_id"].as_str().unwrap_or_else(|| panic!("no request id: {line}"));
            assert!(id.starts_with("req-"), "{line}");
        }
        let internal = lines.iter().find(|l| l["message"] == "internal error").unwrap();
        assert_eq!(internal["span"]["request_id"], "req-boom");
        assert_eq!(internal["error.cause"], "database on fire", "the cause is logged, not sent");
    }
}
