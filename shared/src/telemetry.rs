//! Structured JSON logs through tracing: one JSON object per line, with the fields of the current
//! span (the request id of the invocation) on every line logged inside a request.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. The level comes from AWS_LAMBDA_LOG_LEVEL (Lambda's advanced
/// logging controls), then RUST_LOG, else INFO.
pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|l| EnvFilter::try_new(l).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}
