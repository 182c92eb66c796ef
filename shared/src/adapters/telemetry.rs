//! Structured JSON logs through tracing: one JSON object per line, with the fields of the current
//! span (the request id of the invocation) on every line logged inside a request, and on every
//! line of a function the invocation's context as Powertools for AWS Lambda names it:
//! `service`, `function_name`, `cold_start`, `function_request_id`, `xray_trace_id` (so a log
//! query or a Contributor Insights rule can group by them).

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

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
    let format = tracing_subscriber::fmt::format().json().with_current_span(true).with_span_list(false).flatten_event(true).with_target(false);
    tracing_subscriber::fmt().json().event_format(WithInvocation(format)).with_writer(writer).finish().with(filter())
}

/// A JSON event format with the invocation's context first on every line.
struct WithInvocation<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithInvocation<F>
where
    F: FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &tracing::Event<'_>) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let context = CONTEXT.read().unwrap_or_else(|p| p.into_inner());
        match line.strip_prefix('{') {
            Some(rest) if !context.is_empty() => write!(writer, "{{{context},{rest}"),
            _ => writer.write_str(&line),
        }
    }
}

/// The invocation's context as JSON members (`"service":"...","function_name":"..."`), empty
/// outside a function. A Lambda instance runs one invocation at a time.
static CONTEXT: RwLock<String> = RwLock::new(String::new());
static COLD: AtomicBool = AtomicBool::new(true);

/// The service name (POWERTOOLS_SERVICE_NAME: the stack's name in AWS), else the function's.
pub fn service() -> String {
    std::env::var("POWERTOOLS_SERVICE_NAME").ok().filter(|s| !s.is_empty()).or_else(|| function().map(str::to_owned)).unwrap_or_else(|| "provisioning".into())
}

/// The Lambda function's name (AWS_LAMBDA_FUNCTION_NAME; locally the binary's).
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok().filter(|s| !s.is_empty()).or_else(|| function().map(str::to_owned)).unwrap_or_default()
}

/// The invocation now running, as [`begin`] found it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    pub cold_start: bool,
    pub function_name: String,
    pub request_id: String,
    pub xray_trace_id: Option<String>,
}

static CURRENT: RwLock<Option<Invocation>> = RwLock::new(None);

/// The invocation now running, if any.
pub fn current() -> Option<Invocation> {
    CURRENT.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Starts an invocation: its context goes on every log line and metric from here, and the
/// first one of an instance is counted as a cold start (the ColdStart metric).
pub fn begin(context: &lambda_runtime::Context) {
    let invocation = Invocation {
        cold_start: COLD.swap(false, Ordering::SeqCst),
        function_name: function_name(),
        request_id: context.request_id.clone(),
        xray_trace_id: context.xray_trace_id.clone().filter(|t| !t.is_empty()),
    };
    let mut members = serde_json::Map::new();
    members.insert("service".into(), service().into());
    members.insert("function_name".into(), invocation.function_name.clone().into());
    members.insert("cold_start".into(), invocation.cold_start.into());
    members.insert("function_request_id".into(), invocation.request_id.clone().into());
    if let Some(trace) = &invocation.xray_trace_id {
        members.insert("xray_trace_id".into(), trace.clone().into());
    }
    let text = serde_json::Value::Object(members).to_string();
    *CONTEXT.write().unwrap_or_else(|p| p.into_inner()) = text[1..text.len() - 1].to_owned();
    let cold = invocation.cold_start;
    *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = Some(invocation);
    if cold {
        super::metrics::cold_start();
    }
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
