//! Outgoing event handlers: their routes, and signed deliveries in priority order after a
//! lifecycle event fails at the provider (webhook → worker → engine → events queue → dispatcher).

use std::time::{Duration, Instant};

use e2e::{admin_token, api_url, call, http, unique};
use reqwest::Method;
use serde_json::{Value, json};
use shared::secrets::sign;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn admin(m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(m, path, Some(&admin_token()), body).await
}

#[tokio::test]
async fn handlers_are_made_checked_and_shown_without_their_secret() {
    let (status, made) =
        admin(Method::POST, "/event-handlers", Some(json!({"name": "crm", "event": "contract_product.activated", "target": {"type": "url", "url": "https://crm.example.com/hook"}}))).await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 48, "a made secret is shown once");
    assert_eq!((made["status"].as_str(), made["priority"].as_u64()), (Some("enabled"), Some(100)));
    let id = made["id"].as_str().unwrap();
    let (_, read) = admin(Method::GET, &format!("/event-handlers/{id}"), None).await;
    assert_eq!(read["secret"], "********");
    let (status, changed) = admin(Method::PATCH, &format!("/event-handlers/{id}"), Some(json!({"status": "disabled", "priority": 3}))).await;
    assert_eq!((status, changed["status"].as_str(), changed["priority"].as_u64()), (200, Some("disabled"), Some(3)));
    let (_, listed) = admin(Method::GET, "/event-handlers", None).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|h| h["id"] == id && h["secret"] == "********"));
    let (status, executions) = admin(Method::GET, &format!("/event-handlers/{id}/executions"), None).await;
    assert_eq!((status, executions["items"].as_array().map(Vec::len)), (200, Some(0)));
    for (body, field) in [
        (json!({"name": "x", "event": "contract_product.activated", "target": {"type": "url", "url": "http://crm.example.com/hook"}}), "target.url"),
        (json!({"name": "x", "event": "contract_product.activated", "target": {"type": "url", "url": "not a url"}}), "target.url"),
        (json!({"name": "x", "event": "order.shipped", "target": {"type": "lambda", "function": "f"}}), "event"),
        (json!({"name": "x", "event": "contract_product.activated", "target": {"type": "lambda", "function": "bad name!"}}), "target.function"),
        (json!({"name": "x", "event": "contract_product.activated", "target": {"type": "url", "url": "https://a.example"}, "priority": 0}), "priority"),
    ] {
        let (status, answer) = admin(Method::POST, "/event-handlers", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"]["details"]["fields"].get(field).is_some(), "{body}: {answer}");
    }
    let (status, _) = admin(Method::GET, "/event-handlers/eh-nope", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_setup_failure_is_delivered_signed_to_enabled_handlers_in_priority_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("thanks")).mount(&server).await;
    let make = |name: &str, priority: u32, status: &str, secret: &str| {
        json!({"name": name, "event": "contract_product.setup_failed", "priority": priority, "status": status, "secret": secret,
               "target": {"type": "url", "url": format!("{}/{name}", server.uri())}})
    };
    let mut ids = Vec::new();
    for body in [make("second", 20, "enabled", "secret-two"), make("first", 10, "enabled", "secret-one"), make("off", 1, "disabled", "secret-off")] {
        let (status, h) = admin(Method::POST, "/event-handlers", Some(body)).await;
        assert_eq!(status, 201, "{h}");
        ids.push(h["id"].as_str().unwrap().to_owned());
    }

    // A product whose setup fails at the provider (revoked credentials), ordered by webhook.
    let (_, cfg) =
        admin(Method::POST, "/provision-configurations", Some(json!({"name": unique("bad"), "blueprint": "software-licenses", "provider": "demo", "settings": {"api_key": "invalid"}}))).await;
    let (_, product) = admin(Method::POST, "/products", Some(json!({"name": "Licence", "blueprint": "software-licenses", "deployment": {"type": "static", "configuration_id": cfg["id"]}, "provision_fields": {"customer_name": "Ann", "customer_email": "ann@example.com"}}))).await;
    let cp = unique("whmcs:svc");
    let event = json!({"id": unique("evt"), "type": "order.paid", "contract_product_id": cp, "occurred_at": "2026-11-23T06:00:00Z", "data": {"product_id": product["id"], "client_id": "c-9"}});
    let body = event.to_string();
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "local-webhook-secret".into());
    let response = http().post(format!("{}/webhooks/billing", api_url())).header("x-signature", sign(secret.as_bytes(), body.as_bytes())).body(body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);

    // Deliveries for this product (other tests' events reach these handlers too).
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let received = server.received_requests().await.unwrap_or_default();
        let ours = received.iter().filter(|r| String::from_utf8_lossy(&r.body).contains(&cp)).count();
        if ours >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "only {ours} deliveries arrived");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A moment more, then read again: no third delivery (the disabled handler) came after them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = server.received_requests().await.unwrap_or_default();
    let ours: Vec<_> = received.into_iter().filter(|r| String::from_utf8_lossy(&r.body).contains(&cp)).collect();
    let paths: Vec<String> = ours.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(paths, ["/first", "/second"], "lowest priority number first; the disabled handler gets nothing");
    for (r, secret) in ours.iter().zip(["secret-one", "secret-two"]) {
        assert_eq!(r.headers.get("x-signature").unwrap().to_str().unwrap(), sign(secret.as_bytes(), &r.body), "signed with the handler's secret");
        let delivered: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((delivered["type"].as_str(), delivered["status"].as_str()), (Some("contract_product.setup_failed"), Some("failed")));
        assert_eq!(r.headers.get("x-event-type").unwrap(), "contract_product.setup_failed");
    }
    let (_, executions) = admin(Method::GET, &format!("/event-handlers/{}/executions", ids[1]), None).await;
    let mine: Vec<&Value> = executions["items"].as_array().unwrap().iter().filter(|x| x["success"] == true).collect();
    assert!(!mine.is_empty(), "{executions}");
    assert_eq!(mine[0]["status_code"], 200);
    assert_eq!(mine[0]["response_excerpt"], "thanks");
    // Archive them: the mock server goes away with this test.
    for id in ids {
        admin(Method::PATCH, &format!("/event-handlers/{id}"), Some(json!({"status": "archived"}))).await;
    }
}

/// A Lambda target is invoked with the event (locally through cargo lambda watch's Invoke API;
/// the admin function stands in for the operator's own function here).
#[tokio::test]
async fn a_lambda_target_is_invoked_with_the_event() {
    let (status, h) = admin(Method::POST, "/event-handlers", Some(json!({"name": "lambda", "event": "contract_product.created", "target": {"type": "lambda", "function": "admin"}}))).await;
    assert_eq!(status, 201, "{h}");
    let id = h["id"].as_str().unwrap().to_owned();
    let (_, cfg) = admin(Method::POST, "/provision-configurations", Some(json!({"name": unique("l"), "blueprint": "seo", "provider": "demo", "settings": {}}))).await;
    let cp = unique("lambda-cp");
    let (status, _) = admin(Method::POST, "/contract-products", Some(json!({"id": cp, "client_id": "c-1", "blueprint": "seo", "deployment": {"type": "static", "configuration_id": cfg["id"]}}))).await;
    assert_eq!(status, 201);
    let deadline = Instant::now() + Duration::from_secs(150);
    let execution = loop {
        let (_, executions) = admin(Method::GET, &format!("/event-handlers/{id}/executions"), None).await;
        let found = executions["items"].as_array().unwrap().iter().find(|x| x["event_id"] == format!("ev-created-{cp}")).cloned();
        if let Some(x) = found {
            break x;
        }
        assert!(Instant::now() < deadline, "no execution for {cp}: {executions}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!((execution["success"].as_bool(), execution["status_code"].as_u64()), (Some(true), Some(200)), "{execution}");
    assert!(execution["response_excerpt"].as_str().unwrap().contains("statusCode"), "the function's answer is kept: {execution}");
    admin(Method::PATCH, &format!("/event-handlers/{id}"), Some(json!({"status": "archived"}))).await;
}
