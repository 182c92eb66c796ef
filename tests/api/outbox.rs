//! Lossless events out: while SQS refuses every send to the events queue, runs go on changing
//! contract products; their events wait in the outbox (written in each run's transaction, read
//! from the main table's stream) and, once SQS takes sends again, every one reaches its handlers,
//! once. The functions reach SQS through the test stack's SQS proxy, told here to refuse.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use e2e::{admin_token, call, http, unique};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn admin(m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(m, path, Some(&admin_token()), body).await
}

fn proxy() -> String {
    std::env::var("E2E_SQS_PROXY_URL").expect("E2E_SQS_PROXY_URL: the test stack's SQS proxy (make test sets it)")
}

/// The events each of `ours` received, by (contract product, event type).
async fn received(server: &MockServer, ours: &[String]) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for r in server.received_requests().await.unwrap_or_default() {
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let cp = v["contract_product_id"].as_str().unwrap_or_default().to_owned();
        if ours.contains(&cp) {
            *counts.entry((cp, v["type"].as_str().unwrap_or_default().to_owned())).or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn every_status_change_reaches_its_handlers_once_after_sqs_refused_sends() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let kinds = ["contract_product.created", "contract_product.activated", "contract_product.suspended"];
    let mut handlers = Vec::new();
    for kind in kinds {
        let body = json!({"name": unique("outbox"), "event": kind, "target": {"type": "url", "url": format!("{}/{kind}", server.uri())}});
        let (status, h) = admin(Method::POST, "/event-handlers", Some(body)).await;
        assert_eq!(status, 201, "{h}");
        handlers.push(h["id"].as_str().unwrap().to_owned());
    }
    let (status, cfg) = admin(Method::POST, "/provision-configurations", Some(json!({"name": unique("outbox"), "blueprint": "seo", "provider": "demo", "settings": {}}))).await;
    assert_eq!(status, 201, "{cfg}");

    // SQS refuses every send to the events queue from now on, for longer than the runs take.
    let faults = http().post(format!("{}/__faults/refuse-sends", proxy())).json(&json!({"queue_suffix": "-events", "seconds": 120})).send().await.unwrap();
    assert_eq!(faults.status().as_u16(), 200);

    let mut ours = Vec::new();
    for _ in 0..3 {
        let cp = unique("outbox-cp");
        let (status, made) =
            admin(Method::POST, "/contract-products", Some(json!({"id": cp, "client_id": "c-outbox", "blueprint": "seo", "deployment": {"type": "static", "configuration_id": cfg["id"]}}))).await;
        assert_eq!(status, 201, "{made}");
        let params = json!({"customer_id": "c-outbox", "customer_email": "ann@example.com", "domain": format!("{cp}.example"), "package_identifier": "pro"});
        let (status, run) = admin(Method::POST, &format!("/contract-products/{cp}/actions/seo/create"), Some(json!({"params": params}))).await;
        assert_eq!(status, 200, "{run}");
        let (status, run) = admin(Method::POST, &format!("/contract-products/{cp}/actions/seo/suspend"), Some(json!({"params": {}}))).await;
        assert_eq!(status, 200, "{run}");
        ours.push(cp);
    }

    // Nothing got through while SQS refused, and the dispatcher did try (and was refused).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(received(&server, &ours).await.is_empty(), "an event went through a refusing SQS");
    let state: Value = http().get(format!("{}/__faults", proxy())).send().await.unwrap().json().await.unwrap();
    assert!(state["refused"].as_u64().unwrap_or(0) > 0, "the dispatcher never tried to send: {state}");

    // SQS takes sends again: every event arrives, each once.
    http().delete(format!("{}/__faults/refuse-sends", proxy())).send().await.unwrap();
    let expected: Vec<(String, String)> = ours.iter().flat_map(|cp| kinds.iter().map(move |k| (cp.clone(), (*k).to_owned()))).collect();
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let got = received(&server, &ours).await;
        if expected.iter().all(|k| got.contains_key(k)) {
            break;
        }
        assert!(Instant::now() < deadline, "not every event arrived: {got:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A while longer: nothing comes twice.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = received(&server, &ours).await;
    assert_eq!(got.len(), expected.len(), "{got:?}");
    assert!(got.values().all(|n| *n == 1), "an event came twice: {got:?}");
    for id in handlers {
        admin(Method::PATCH, &format!("/event-handlers/{id}"), Some(json!({"status": "archived"}))).await;
    }
}
