//! Per-configuration limits and the circuit breaker over HTTP, on the local stack: limits set
//! and shown on the configuration; calls spaced by the rate; a provider that is down opens the
//! breaker (503 provider_unavailable with Retry-After, nothing sent), logged under the
//! configuration; a connection test once it is back closes it.

use std::time::Duration;

use e2e::{admin_token, api_url, call, http, unique};
use serde_json::{Value, json};

async fn admin(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(method, path, Some(&admin_token()), body).await
}

/// A demo hosting configuration (with `limits`) whose account holds `acct1`.
async fn account(settings: Value, limits: Value) -> String {
    let mut all = json!({"server_hostname": "limits.example.net", "existing_services": "acct1"});
    all.as_object_mut().unwrap().extend(settings.as_object().cloned().unwrap_or_default());
    let (status, cfg) =
        admin(reqwest::Method::POST, "/provision-configurations", Some(json!({"name": unique("limits"), "blueprint": "web-hosting", "provider": "demo", "settings": all, "limits": limits}))).await;
    assert_eq!(status, 201, "{cfg}");
    cfg["id"].as_str().unwrap().to_owned()
}

async fn import(cfg: &str, identifier: &str) -> String {
    let (status, imported) = admin(reqwest::Method::POST, "/contract-products/import", Some(json!({"configuration_id": cfg, "service_identifier": identifier, "client_id": unique("client")}))).await;
    assert_eq!(status, 201, "{imported}");
    imported["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn calls_are_spaced_by_a_configurations_rate() {
    let cfg = account(json!({"existing_services": "acct1,acct2,acct3,acct4"}), json!({"requests_per_second": 2, "max_concurrency": 1})).await;
    let (_, shown) = admin(reqwest::Method::GET, &format!("/provision-configurations/{cfg}"), None).await;
    assert_eq!(shown["limits"], json!({"requests_per_second": 2, "max_concurrency": 1}), "{shown}");
    assert_eq!(shown["breaker"]["state"], "closed");
    let mut products = Vec::new();
    for n in 1..=4 {
        products.push(import(&cfg, &format!("acct{n}")).await);
    }
    // Four suspends at once: each waits for its start time (within the five seconds a caller
    // waits), and the provider double records when each arrived.
    let mut running = tokio::task::JoinSet::new();
    for cp in products {
        let path = format!("/contract-products/{cp}/actions/web-hosting/suspend-account");
        running.spawn(async move { admin(reqwest::Method::POST, &path, Some(json!({}))).await });
    }
    while let Some(done) = running.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let ddb = aws_sdk_dynamodb::Client::new(&e2e::aws().await);
    let objects = ddb
        .query()
        .table_name(e2e::main_table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("DEMO#{cfg}#web-hosting")))
        .send()
        .await
        .unwrap();
    let mut arrivals: Vec<i64> = objects.items().iter().filter_map(|i| i.get("object")).map(shared::adapters::dynamodb::from_attr).filter_map(|o| o["requested_at_ms"].as_i64()).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 4, "{arrivals:?}");
    for pair in arrivals.windows(2) {
        assert!(pair[1] - pair[0] >= 500, "arrived closer than the rate allows: {arrivals:?}");
    }
    // Lifted: a PATCH without limits leaves them; one with an empty object lifts them.
    let (status, patched) = admin(reqwest::Method::PATCH, &format!("/provision-configurations/{cfg}"), Some(json!({"name": "renamed"}))).await;
    assert_eq!((status, &patched["limits"]["requests_per_second"]), (200, &json!(2)));
    let (_, lifted) = admin(reqwest::Method::PATCH, &format!("/provision-configurations/{cfg}"), Some(json!({"limits": {}}))).await;
    assert_eq!(lifted["limits"], json!({}));
}

#[tokio::test]
async fn a_provider_that_is_down_opens_the_breaker_and_a_connection_test_closes_it() {
    let down_for = Duration::from_secs(6);
    let until = shared::domain::time::format_millis(shared::domain::time::now_millis() + down_for.as_millis() as i64);
    let cfg = account(json!({"outage_until": until}), json!({"breaker_failures": 3})).await;
    // Made here and set up while the provider is down.
    let (status, cp) = admin(
        reqwest::Method::POST,
        "/contract-products",
        Some(json!({"client_id": unique("client"), "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg}, "provision_fields": {"package_name": "gold"}})),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let cp = cp["id"].as_str().unwrap().to_owned();
    let path = format!("/contract-products/{cp}/actions/web-hosting/create-account");
    let create = json!({"params": {"domain": "down.example", "email": "ops@down.example", "password": "Secret-pw-123"}});
    for _ in 0..3 {
        let (status, body) = admin(reqwest::Method::POST, &path, Some(create.clone())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (502, Some("provider_error")), "{body}");
    }
    // Open: refused before the provider, with when to come back.
    let response = http().post(format!("{}{path}", api_url())).bearer_auth(admin_token()).json(&create).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider_unavailable", "{body}");
    assert!(body.get("log_id").is_none(), "nothing was sent, nothing logged on the product");
    let (_, shown) = admin(reqwest::Method::GET, &format!("/provision-configurations/{cfg}"), None).await;
    assert_eq!(shown["breaker"]["state"], "open", "{shown}");
    assert!(shown["breaker"]["cause"].as_str().unwrap().contains("down"), "{shown}");
    let (_, runs) = admin(reqwest::Method::GET, &format!("/contract-products/{cp}/logs"), None).await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 3, "only the three that reached the provider");

    // The provider comes back; an admin's connection test closes the breaker at once.
    tokio::time::sleep(down_for).await;
    let (status, tested) = admin(reqwest::Method::POST, &format!("/provision-configurations/{cfg}/test-connection"), Some(json!({}))).await;
    assert_eq!(status, 200, "{tested}");
    let (_, shown) = admin(reqwest::Method::GET, &format!("/provision-configurations/{cfg}"), None).await;
    assert_eq!(shown["breaker"]["state"], "closed", "{shown}");
    let (status, body) = admin(reqwest::Method::POST, &path, Some(create)).await;
    assert_eq!(status, 200, "{body}");
    let (_, notes) = admin(reqwest::Method::GET, &format!("/provision-configurations/{cfg}/logs?action=circuit-breaker"), None).await;
    let messages: Vec<&str> = notes["items"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages.len(), 2, "{notes}");
    assert!(messages[0].starts_with("circuit breaker closed") && messages[1].starts_with("circuit breaker opened"), "{messages:?}");
}
