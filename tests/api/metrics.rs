//! Metrics and log context as CloudWatch gets them: an action run writes one line in the
//! embedded metric format (the Actions count and ActionLatency by blueprint, provider and
//! outcome, with the configuration, product and log id), and the function's log lines carry
//! Powertools' context fields. Read from what the functions wrote to stdout (cargo lambda
//! watch's log, E2E_WATCH_LOG), as the Lambda service hands it to CloudWatch Logs.

use std::time::{Duration, Instant};

use e2e::{admin_token, call, unique};
use reqwest::Method;
use serde_json::{Value, json};

fn watch_log() -> String {
    let path = std::env::var("E2E_WATCH_LOG").expect("E2E_WATCH_LOG: cargo lambda watch's log (make test sets it)");
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The JSON lines of the log that satisfy `wanted`, waiting a little for them to be written.
async fn lines(wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<Value> = watch_log().lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| wanted(v)).collect();
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn an_action_run_writes_its_metrics_in_embedded_metric_format_and_its_lines_carry_the_context() {
    let token = admin_token();
    let (_, cfg) = call(Method::POST, "/provision-configurations", Some(&token), Some(json!({"name": unique("emf"), "blueprint": "seo", "provider": "demo", "settings": {}}))).await;
    let cp = unique("emf-cp");
    let (status, made) =
        call(Method::POST, "/contract-products", Some(&token), Some(json!({"id": cp, "client_id": "c-emf", "blueprint": "seo", "deployment": {"type": "static", "configuration_id": cfg["id"]}})))
            .await;
    assert_eq!(status, 201, "{made}");
    let params = json!({"customer_id": "c-emf", "customer_email": "ann@example.com", "domain": format!("{cp}.example"), "package_identifier": "pro"});
    let (status, run) = call(Method::POST, &format!("/contract-products/{cp}/actions/seo/create"), Some(&token), Some(json!({"params": params}))).await;
    assert_eq!(status, 200, "{run}");
    let log_id = run["log_id"].as_str().unwrap().to_owned();

    let emf = lines(|v| v["log_id"] == log_id.as_str() && v.get("_aws").is_some()).await;
    assert_eq!(emf.len(), 1, "one metrics line for the run");
    let m = &emf[0];
    let directive = &m["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Provisioning");
    assert_eq!(directive["Dimensions"], json!([["service", "blueprint", "provider", "outcome"], ["service", "outcome"]]));
    assert_eq!(directive["Metrics"], json!([{"Name": "Actions", "Unit": "Count"}, {"Name": "ActionLatency", "Unit": "Milliseconds"}]));
    assert!(m["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!((m["service"].as_str(), m["blueprint"].as_str(), m["provider"].as_str(), m["outcome"].as_str()), (Some("e2e"), Some("seo"), Some("demo"), Some("success")));
    assert_eq!((m["configuration_id"].as_str(), m["contract_product_id"].as_str(), m["action"].as_str()), (cfg["id"].as_str(), Some(cp.as_str()), Some("create")));
    assert_eq!(m["Actions"], 1.0);
    assert!(m["ActionLatency"].as_f64().unwrap() >= 0.0);
    assert_eq!(m["function_name"], "action");

    // The run's log line carries the invocation's context as Powertools names it.
    let ran = lines(|v| v["message"] == "action ran" && v["log_id"] == log_id.as_str()).await;
    assert_eq!(ran.len(), 1);
    for field in ["service", "function_name", "cold_start", "function_request_id"] {
        assert!(ran[0].get(field).is_some(), "{field} missing: {}", ran[0]);
    }
    assert!(ran[0]["cold_start"].is_boolean());
    // The action function counted its cold start, with its name.
    let cold = lines(|v| v["ColdStart"] == 1.0 && v["function_name"] == "action").await;
    assert!(!cold.is_empty(), "no cold start of the action function was counted");
}
