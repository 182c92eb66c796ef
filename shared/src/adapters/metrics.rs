//! The engine's metrics in CloudWatch's embedded metric format (EMF): one JSON line on stdout per
//! measurement, which CloudWatch Logs turns into metrics. No call to CloudWatch, no extra round
//! trip, nothing to fail. Namespace POWERTOOLS_METRICS_NAMESPACE ("Provisioning"), every metric
//! with the `service` dimension (the stack), as Powertools for AWS Lambda emits them.
//!
//! - `Actions` (Count) and `ActionLatency` (Milliseconds) per run, by blueprint, provider and
//!   outcome (`success`, `failure`, `in_progress`), and by outcome alone; the line also carries
//!   the configuration, contract product, action and log id (the per-configuration failure
//!   rule of the template reads `configuration_id` and `outcome`).
//! - `Retries` and `GiveUps` (Count) by queue (lifecycle, operations, events, outbox).
//! - `Breaker` (Count) by state (`open`, `half_open`, `closed`): each transition, with the
//!   configuration.
//! - `ColdStart` (Count) by function name.
//!
//! Lines are written only in a function (after telemetry::init): tools, benchmarks and tests
//! running the engine in process write none.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::telemetry;
use crate::ports::{ActionRun, Metrics};

/// The engine's [`Metrics`] port in the embedded metric format.
pub struct Emf;

impl Metrics for Emf {
    fn action(&self, run: &ActionRun<'_>) {
        action(run);
    }

    fn breaker(&self, state: &str, configuration_id: &str) {
        breaker(state, configuration_id);
    }
}

/// One measurement: `metrics` (name, unit, value) with `dimensions` (name, value), recorded under
/// each of `sets` (lists of dimension names, `service` added to each), and other `properties`.
#[derive(Debug, Clone, Default)]
pub struct Measurement<'a> {
    pub metrics: &'a [(&'a str, &'a str, f64)],
    pub dimensions: &'a [(&'a str, &'a str)],
    pub sets: &'a [&'a [&'a str]],
    pub properties: Map<String, Value>,
}

fn namespace() -> String {
    std::env::var("POWERTOOLS_METRICS_NAMESPACE").ok().filter(|n| !n.is_empty()).unwrap_or_else(|| "Provisioning".into())
}

/// The EMF line of a measurement at `timestamp_ms` (without the newline).
pub fn line(m: &Measurement<'_>, timestamp_ms: u128, namespace: &str, service: &str) -> String {
    let mut root = Map::new();
    let sets: Vec<Vec<&str>> = m.sets.iter().map(|set| std::iter::once("service").chain(set.iter().copied()).collect()).collect();
    let definitions: Vec<Value> = m.metrics.iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit })).collect();
    root.insert("_aws".into(), json!({ "Timestamp": timestamp_ms as u64, "CloudWatchMetrics": [{ "Namespace": namespace, "Dimensions": sets, "Metrics": definitions }] }));
    root.insert("service".into(), service.into());
    for (k, v) in m.dimensions {
        root.insert((*k).into(), (*v).into());
    }
    for (name, _, value) in m.metrics {
        root.insert((*name).into(), json!(value));
    }
    if let Some(i) = telemetry::current() {
        root.insert("function_name".into(), i.function_name.into());
        root.insert("cold_start".into(), i.cold_start.into());
        root.insert("function_request_id".into(), i.request_id.into());
        if let Some(t) = i.xray_trace_id {
            root.insert("xray_trace_id".into(), t.into());
        }
    }
    for (k, v) in &m.properties {
        root.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(root).to_string()
}

/// Writes a measurement's line, in a function only (one write: never split by a log line).
pub fn emit(m: &Measurement<'_>) {
    if telemetry::function().is_none() {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let mut text = line(m, now, &namespace(), &telemetry::service());
    text.push('\n');
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// A run's measurement but its metrics and dimensions: the dimension sets and the properties
/// that tell which run it was.
fn run_measurement<'a>(run: &ActionRun<'a>) -> Measurement<'a> {
    let mut properties = Map::new();
    properties.insert("action".into(), run.action.into());
    properties.insert("configuration_id".into(), run.configuration_id.into());
    properties.insert("contract_product_id".into(), run.contract_product_id.into());
    properties.insert("log_id".into(), run.log_id.into());
    Measurement { metrics: &[], dimensions: &[], sets: &[&["blueprint", "provider", "outcome"], &["outcome"]], properties }
}

/// Counts a run and its latency.
pub fn action(run: &ActionRun<'_>) {
    let metrics = [("Actions", "Count", 1.0), ("ActionLatency", "Milliseconds", run.duration_ms as f64)];
    let dimensions = [("blueprint", run.blueprint), ("provider", run.provider), ("outcome", run.outcome)];
    emit(&Measurement { metrics: &metrics, dimensions: &dimensions, ..run_measurement(run) });
}

fn count(metric: &str, dimension: (&str, &str), properties: Map<String, Value>) {
    let names = [dimension.0];
    emit(&Measurement { metrics: &[(metric, "Count", 1.0)], dimensions: &[dimension], sets: &[&names], properties });
}

/// A record that goes back to its queue (or the stream) to be tried again.
pub fn retry(queue: &str) {
    count("Retries", ("queue", queue), Map::new());
}

/// A record given up on after its last attempt (recorded where a person looks).
pub fn give_up(queue: &str) {
    count("GiveUps", ("queue", queue), Map::new());
}

/// A configuration's circuit breaker moving to `state` (open, half_open, closed).
pub fn breaker(state: &str, configuration_id: &str) {
    count("Breaker", ("state", state), Map::from_iter([("configuration_id".to_owned(), Value::from(configuration_id))]));
}

/// The first invocation of an instance.
pub fn cold_start() {
    let name = telemetry::function_name();
    count("ColdStart", ("function_name", &name), Map::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An action's line is what the embedded metric format specifies: a root `_aws` with the
    /// timestamp and one directive naming the namespace, dimension sets and metrics, and every
    /// metric and dimension a member of the root.
    #[test]
    fn an_action_line_follows_the_embedded_metric_format() {
        let run = ActionRun {
            blueprint: "web-hosting",
            provider: "demo",
            action: "create-account",
            outcome: "failure",
            duration_ms: 42,
            configuration_id: "cfg-1",
            contract_product_id: "cp-1",
            log_id: "log-1",
        };
        let metrics = [("Actions", "Count", 1.0), ("ActionLatency", "Milliseconds", 42.0)];
        let dimensions = [("blueprint", "web-hosting"), ("provider", "demo"), ("outcome", "failure")];
        let text = line(&Measurement { metrics: &metrics, dimensions: &dimensions, ..run_measurement(&run) }, 1_700_000_000_000, "Provisioning", "stack");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Provisioning");
        assert_eq!(directive["Dimensions"], json!([["service", "blueprint", "provider", "outcome"], ["service", "outcome"]]));
        assert_eq!(directive["Metrics"], json!([{ "Name": "Actions", "Unit": "Count" }, { "Name": "ActionLatency", "Unit": "Milliseconds" }]));
        for set in directive["Dimensions"].as_array().unwrap() {
            assert!(set.as_array().unwrap().len() <= 30);
            for d in set.as_array().unwrap() {
                assert!(v[d.as_str().unwrap()].is_string(), "dimension {d} is a string member of the root");
            }
        }
        assert_eq!((v["Actions"].as_f64(), v["ActionLatency"].as_f64()), (Some(1.0), Some(42.0)));
        assert_eq!((&v["service"], &v["configuration_id"], &v["outcome"], &v["log_id"]), (&json!("stack"), &json!("cfg-1"), &json!("failure"), &json!("log-1")));
        assert!(!text.contains('\n'));
    }
}
