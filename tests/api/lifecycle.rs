//! Billing webhooks end to end: webhook → SQS FIFO (moto) → the local poller → the worker under
//! cargo lambda watch → the engine → the demo provider.

use std::time::{Duration, Instant};

use e2e::{admin_token, api_url, call, http, unique};
use serde_json::{Value, json};
use shared::secrets::sign;

fn secret() -> String {
    std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "local-webhook-secret".into())
}

/// Posts raw bytes to the webhook with a signature (the right one unless told otherwise).
async fn post_raw(body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut request = http().post(format!("{}/webhooks/billing", api_url())).header("content-type", "application/json").body(body.to_vec());
    if let Some(s) = signature {
        request = request.header("x-signature", s);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    e2e::record(&text);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn send(event: &Value) -> (u16, Value) {
    let body = event.to_string();
    post_raw(body.as_bytes(), Some(sign(secret().as_bytes(), body.as_bytes()))).await
}

fn event(id: &str, kind: &str, cp: &str, data: Value) -> Value {
    json!({ "id": id, "type": kind, "contract_product_id": cp, "occurred_at": "2026-11-23T06:00:00Z", "data": data })
}

/// Waits until an event is done or failed.
async fn settled(id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let (status, body) = call(reqwest::Method::GET, &format!("/lifecycle-events/{id}"), Some(&admin_token()), None).await;
        if status == 200 && ["done", "failed"].contains(&body["status"].as_str().unwrap_or_default()) {
            return body;
        }
        assert!(Instant::now() < deadline, "event {id} did not settle: {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A hosting product on its own demo configuration, ready for orders.
async fn product() -> String {
    product_with(json!({"server_hostname": "srv.example.net"})).await
}

async fn product_with(settings: Value) -> String {
    let token = admin_token();
    let (_, cfg) =
        call(reqwest::Method::POST, "/provision-configurations", Some(&token), Some(json!({"name": unique("billing"), "blueprint": "web-hosting", "provider": "demo", "settings": settings}))).await;
    let (status, product) = call(
        reqwest::Method::POST,
        "/products",
        Some(&token),
        Some(json!({"name": "Hosting", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg["id"]},
                    "provision_fields": {"package_name": "starter", "email": "owner@example.com"}})),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    product["id"].as_str().unwrap().to_owned()
}

async fn logs_of(cp: &str) -> Vec<Value> {
    let (_, logs) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=200"), Some(&admin_token()), None).await;
    let mut items = logs["items"].as_array().cloned().unwrap_or_default();
    items.reverse(); // oldest first
    items
}

#[tokio::test]
async fn an_order_makes_the_service_and_a_burst_of_events_runs_in_order() {
    let product = product().await;
    let cp = unique("whmcs:svc");
    let client = unique("client");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": client}));
    let (status, answer) = send(&paid).await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("queued")), "{answer}");
    let done = settled(paid["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "active", "{state}");
    assert_eq!(state["client_id"], client.as_str());
    assert!(state["service_identifier"].is_string());
    let (status, info) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/get-info"), Some(&admin_token()), Some(json!({}))).await;
    assert_eq!(status, 200, "the account exists at the demo provider: {info}");

    // overdue → paid → cancelled, in one burst: handled in order.
    let burst: Vec<Value> = ["invoice.overdue", "invoice.paid", "contract.cancelled"].iter().map(|k| event(&unique("evt"), k, &cp, json!({}))).collect();
    for e in &burst {
        assert_eq!(send(e).await.0, 202);
    }
    for e in &burst {
        assert_eq!(settled(e["id"].as_str().unwrap()).await["status"], "done");
    }
    let actions: Vec<String> = logs_of(&cp).await.iter().map(|l| l["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["create-account", "get-info", "suspend-account", "unsuspend-account", "delete-account"]);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "terminated");
    let system = logs_of(&cp).await[2]["actor"].clone();
    assert_eq!(system["role"], "system");
}

#[tokio::test]
async fn the_same_event_five_times_makes_one_create() {
    let product = product().await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    for _ in 0..5 {
        let (status, answer) = send(&paid).await;
        assert_eq!((status, answer["event_id"].as_str()), (202, paid["id"].as_str()), "{answer}");
    }
    assert_eq!(settled(paid["id"].as_str().unwrap()).await["status"], "done");
    for _ in 0..2 {
        let (status, answer) = send(&paid).await;
        assert_eq!((status, answer["status"].as_str()), (202, Some("done")), "the same answer, nothing queued: {answer}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let creates = logs_of(&cp).await.iter().filter(|l| l["action"] == "create-account").count();
    assert_eq!(creates, 1);
    // The same id with another body is refused.
    let mut other = paid.clone();
    other["data"]["client_id"] = json!("someone-else");
    assert_eq!(send(&other).await.0, 409);
}

#[tokio::test]
async fn bad_webhooks_are_refused_and_nothing_is_queued() {
    let cp = unique("whmcs:svc");
    let good = event(&unique("evt"), "invoice.overdue", &cp, json!({}));
    let body = good.to_string();
    let cases: Vec<(Vec<u8>, Option<String>, u16)> = vec![
        (body.clone().into_bytes(), None, 401),
        (body.clone().into_bytes(), Some("sha256=00".into()), 401),
        (body.clone().into_bytes(), Some(sign(b"not-the-secret", body.as_bytes())), 401),
        (b"{not json".to_vec(), Some(sign(secret().as_bytes(), b"{not json")), 400),
    ];
    for (raw, signature, want) in cases {
        let (status, answer) = post_raw(&raw, signature).await;
        assert_eq!(status, want, "{answer}");
    }
    for (e, want) in [
        (event(&unique("evt"), "order.shipped", &cp, json!({})), 400),
        (json!({"id": unique("evt"), "type": "invoice.paid"}), 400),
        (good.clone(), 404),
        (event(&unique("evt"), "order.paid", &cp, json!({"client_id": "c"})), 404),
    ] {
        let (status, answer) = send(&e).await;
        assert_eq!(status, want, "{e}: {answer}");
        if let Some(id) = e["id"].as_str() {
            let (status, _) = call(reqwest::Method::GET, &format!("/lifecycle-events/{id}"), Some(&admin_token()), None).await;
            assert_eq!(status, 404, "nothing was recorded or queued for {id}");
        }
    }
    let huge = event(&unique("evt"), "invoice.paid", &cp, json!({"params": {"x": "y".repeat(300 * 1024)}})).to_string();
    let (status, _) = post_raw(huge.as_bytes(), Some(sign(secret().as_bytes(), huge.as_bytes()))).await;
    assert_eq!(status, 413);
}

/// An order that cannot run is refused before it is queued, naming why: the setup action's
/// missing fields (from the product and the event's data), a product that does not exist.
/// Nothing is claimed, so the same event id is accepted once the order is fixed.
#[tokio::test]
async fn an_order_that_cannot_run_is_refused_naming_why_and_nothing_is_claimed() {
    let token = admin_token();
    let (_, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(&token),
        Some(json!({"name": unique("billing"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net"}})),
    )
    .await;
    // A product without the e-mail address the setup action needs.
    let (status, product) = call(
        reqwest::Method::POST,
        "/products",
        Some(&token),
        Some(json!({"name": "Hosting", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg["id"]}, "provision_fields": {"package_name": "starter"}})),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let (cp, id, client) = (unique("whmcs:svc"), unique("evt"), unique("client"));
    let (status, body) = send(&event(&id, "order.paid", &cp, json!({"product_id": product["id"], "client_id": client}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert!(body["error"]["details"]["fields"]["email"].is_string(), "the missing field is named: {body}");
    let (status, _) = call(reqwest::Method::GET, &format!("/lifecycle-events/{id}"), Some(&token), None).await;
    assert_eq!(status, 404, "not claimed");
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&token), None).await;
    assert_eq!(status, 404, "not made");

    // The same event id, the e-mail given in the event's data: accepted and run.
    let fixed = event(&id, "order.paid", &cp, json!({"product_id": product["id"], "client_id": client, "params": {"email": "owner@example.com"}}));
    assert_eq!(send(&fixed).await.0, 202);
    assert_eq!(settled(&id).await["status"], "done");

    // An order of a product that does not exist.
    let (status, body) = send(&event(&unique("evt"), "order.paid", &unique("whmcs:svc"), json!({"product_id": "prd-none", "client_id": client}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["details"]["fields"]["product_id"].as_str().is_some_and(|m| m.contains("no product")), "{body}");
}

#[tokio::test]
async fn a_provider_failing_twice_transiently_then_succeeding_ends_in_success_with_the_retries_logged() {
    let product = product_with(json!({"server_hostname": "srv.example.net", "transient_failures": 2})).await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    assert_eq!(send(&paid).await.0, 202);
    let done = settled(paid["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    let runs: Vec<(String, String)> = logs_of(&cp).await.iter().map(|l| (l["action"].as_str().unwrap().to_owned(), l["status"].as_str().unwrap().to_owned())).collect();
    let want: Vec<(String, String)> = [("create-account", "error"), ("create-account", "error"), ("create-account", "success")].iter().map(|(a, s)| (a.to_string(), s.to_string())).collect();
    assert_eq!(runs, want);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "active");
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried_and_fails_the_product() {
    let product = product_with(json!({"server_hostname": "srv.example.net", "api_key": "invalid"})).await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    assert_eq!(send(&paid).await.0, 202);
    let failed = settled(paid["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["log_ids"].as_array().map(Vec::len), Some(1));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = logs_of(&cp).await;
    assert_eq!(runs.len(), 1, "not retried");
    assert!(runs[0]["message"].as_str().unwrap().contains("authentication failed"));
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "failed");
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_given_up_after_five_attempts_with_an_error_logged() {
    let product = product_with(json!({"server_hostname": "srv.example.net", "transient_failures": 10})).await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    assert_eq!(send(&paid).await.0, 202);
    let failed = settled(paid["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("gave up after 5 attempts"), "{failed}");
    let runs = logs_of(&cp).await;
    assert_eq!(runs.iter().filter(|l| l["status"] == "error").count(), 6, "five attempts and the give-up entry");
    assert!(runs.last().unwrap()["message"].as_str().unwrap().contains("dead-letter queue"));
}

/// A create whose answer is lost (the provider made the account, then timed out) is checked at
/// the provider before it is tried again: one account, the product active.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_reconciled_not_repeated() {
    let product = product_with(json!({"server_hostname": "srv.example.net", "lost_answers": 1})).await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    assert_eq!(send(&paid).await.0, 202);
    let done = settled(paid["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    let runs = logs_of(&cp).await;
    let summary: Vec<(String, String)> = runs.iter().map(|l| (l["action"].as_str().unwrap().to_owned(), l["status"].as_str().unwrap().to_owned())).collect();
    assert_eq!(summary, [("create-account".to_string(), "error".to_string()), ("create-account".to_string(), "success".to_string())]);
    assert!(runs[0]["message"].as_str().unwrap().contains("did not answer in time"));
    assert!(runs[1]["message"].as_str().unwrap().contains("reconciled"), "{}", runs[1]);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "active");
    assert!(state.get("unconfirmed_create").is_none(), "{state}");
    let (status, _) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/get-info"), Some(&admin_token()), Some(json!({}))).await;
    assert_eq!(status, 200);
}

/// A billing system may send an order and the service's next events at once: once the order is
/// accepted, its contract product is known, and the events after it are accepted and run after it.
#[tokio::test]
async fn events_sent_right_after_an_order_are_accepted_and_run_after_it() {
    let product = product().await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
    let overdue = event(&unique("evt"), "invoice.overdue", &cp, json!({}));
    assert_eq!(send(&paid).await.0, 202);
    let (status, answer) = send(&overdue).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(settled(paid["id"].as_str().unwrap()).await["status"], "done");
    assert_eq!(settled(overdue["id"].as_str().unwrap()).await["status"], "done");
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "suspended", "{state}");
    // Another unknown id without an order is still refused.
    let (status, _) = send(&event(&unique("evt"), "invoice.overdue", &unique("whmcs:none"), json!({}))).await;
    assert_eq!(status, 404);
}

/// Secrets in a billing event's data travel sealed and are kept sealed: an order whose
/// `data.provision_fields` and `data.params` carry a password makes the service with it, and the
/// contract product shows it masked (the end-of-run scan finds it in no record, response or log).
#[tokio::test]
async fn an_orders_secret_fields_are_sealed_on_the_queue_and_in_the_product() {
    let product = product().await;
    let cp = unique("whmcs:svc");
    let paid = event(
        &unique("evt"),
        "order.paid",
        &cp,
        json!({"product_id": product, "client_id": unique("client"), "provision_fields": {"password": "Wh-Sealed-Secret1!"}, "params": {"domain": "sealed.example"}}),
    );
    assert_eq!(send(&paid).await.0, 202);
    assert_eq!(settled(paid["id"].as_str().unwrap()).await["status"], "done");
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&admin_token()), None).await;
    assert_eq!(state["status"], "active", "{state}");
    assert_eq!(state["provision_fields"]["password"], "********", "{state}");
    let client = e2e::client_token(state["client_id"].as_str().unwrap());
    let (_, seen) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&client), None).await;
    assert_eq!(seen["provision_fields"]["password"], "********", "{seen}");
    // A later event may not name the service: refused before it is queued.
    let named = event(&unique("evt"), "invoice.overdue", &cp, json!({"params": {"username": "someone-else"}}));
    let (status, refused) = send(&named).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["details"]["fields"]["data.params.username"].is_string(), "{refused}");
}

/// A claim the webhook made but never queued (it stopped between the two): the billing system's
/// retry queues it even with its keys in another order and spaced otherwise, and the schedule's
/// sweep queues one nobody sends again. Each then runs once.
#[tokio::test]
async fn a_claim_left_unqueued_is_queued_by_a_retry_or_by_the_sweep() {
    use shared::adapters::dynamodb::events::EventStore;
    use shared::domain::lifecycle::{EventRecord, EventStatus};
    let product = product().await;
    let stack = std::env::var("E2E_STACK").unwrap();
    let store = EventStore::new(aws_sdk_dynamodb::Client::new(&e2e::aws().await), format!("{stack}-main"));
    let stuck = |minutes_ago: i64| {
        let cp = unique("whmcs:svc");
        let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product, "client_id": unique("client")}));
        let at = shared::domain::time::format_millis(shared::domain::time::now_millis() - minutes_ago * 60_000);
        let record = EventRecord {
            id: paid["id"].as_str().unwrap().to_owned(),
            kind: "order.paid".into(),
            contract_product_id: cp,
            body_sha256: shared::api::webhook::event_hash(&paid),
            status: EventStatus::Received,
            log_ids: vec![],
            error: None,
            received_at: at.clone(),
            updated_at: at,
            retries: 0,
        };
        (paid, record)
    };
    // The retry: the same event, its keys reordered and spaced.
    let (paid, record) = stuck(0);
    assert!(matches!(store.claim(&record, Some(&paid.to_string())).await.unwrap(), shared::adapters::dynamodb::events::Claim::New));
    let mut reordered = String::from("{\n  \"occurred_at\": \"2026-11-23T06:00:00Z\",\n  \"data\": ");
    reordered.push_str(&serde_json::to_string_pretty(&paid["data"]).unwrap());
    reordered.push_str(&format!(
        ",\n  \"contract_product_id\": \"{}\",\n  \"type\": \"order.paid\",\n  \"id\": \"{}\"\n}}",
        paid["contract_product_id"].as_str().unwrap(),
        paid["id"].as_str().unwrap()
    ));
    let (status, answer) = post_raw(reordered.as_bytes(), Some(sign(secret().as_bytes(), reordered.as_bytes()))).await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("queued")), "{answer}");
    assert_eq!(settled(paid["id"].as_str().unwrap()).await["status"], "done");

    // The sweep: a claim left received for ten minutes is queued by the worker's schedule.
    let (paid, record) = stuck(10);
    assert!(matches!(store.claim(&record, Some(&paid.to_string())).await.unwrap(), shared::adapters::dynamodb::events::Claim::New));
    let url = format!("{}/2015-03-31/functions/worker/invocations", api_url());
    let swept: Value = http().post(&url).json(&json!({"sweep": "received-events"})).send().await.unwrap().json().await.unwrap();
    assert!(swept["swept"].as_u64().unwrap_or(0) >= 1, "{swept}");
    assert_eq!(settled(paid["id"].as_str().unwrap()).await["status"], "done");
    let cp = paid["contract_product_id"].as_str().unwrap();
    assert_eq!(logs_of(cp).await.iter().filter(|l| l["action"] == "create-account").count(), 1, "made once");
}

/// A failed event is listed, and an admin's retry sends it again as it was first queued: logged on
/// the product, run once, and refused once it is done.
#[tokio::test]
async fn a_failed_event_is_listed_and_runs_again_when_an_admin_retries_it() {
    let token = admin_token();
    let (_, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(&token),
        Some(json!({"name": unique("retry"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net", "api_key": "invalid"}})),
    )
    .await;
    let cfg_id = cfg["id"].as_str().unwrap().to_owned();
    let (_, product) = call(
        reqwest::Method::POST,
        "/products",
        Some(&token),
        Some(json!({"name": "Hosting", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg_id},
                    "provision_fields": {"package_name": "starter", "email": "owner@example.com"}})),
    )
    .await;
    let cp = unique("whmcs:svc");
    let paid = event(&unique("evt"), "order.paid", &cp, json!({"product_id": product["id"], "client_id": unique("client")}));
    let id = paid["id"].as_str().unwrap().to_owned();
    assert_eq!(send(&paid).await.0, 202);
    assert_eq!(settled(&id).await["status"], "failed");

    // Listed among the failed ones, newest first, page by page.
    let mut found = None;
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let path = match &cursor {
            Some(c) => format!("/lifecycle-events?status=failed&limit=20&cursor={c}"),
            None => "/lifecycle-events?status=failed&limit=20".to_owned(),
        };
        let (status, page) = call(reqwest::Method::GET, &path, Some(&token), None).await;
        assert_eq!(status, 200, "{page}");
        found = page["items"].as_array().unwrap().iter().find(|e| e["id"] == id.as_str()).cloned();
        cursor = page["next_cursor"].as_str().map(String::from);
        if found.is_some() || cursor.is_none() {
            break;
        }
    }
    let found = found.expect("the failed event is listed");
    assert!(found.get("queued_body").is_none() && found.get("gsi2pk").is_none(), "{found}");
    let (status, _) = call(reqwest::Method::GET, "/lifecycle-events?status=done", Some(&token), None).await;
    assert_eq!(status, 400);

    // The credentials fixed, an admin retries: queued again, logged, run once.
    let (status, _) = call(reqwest::Method::PATCH, &format!("/provision-configurations/{cfg_id}"), Some(&token), Some(json!({"settings": {"api_key": "demo-key-Sup3rSecret"}}))).await;
    assert_eq!(status, 200);
    let (status, retried) = call(reqwest::Method::POST, &format!("/lifecycle-events/{id}/retry"), Some(&token), None).await;
    assert_eq!((status, retried["status"].as_str(), retried["retries"].as_u64()), (202, Some("queued"), Some(1)), "{retried}");
    let done = settled(&id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["retries"], 1);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), Some(&token), None).await;
    assert_eq!(state["status"], "active", "{state}");
    let runs = logs_of(&cp).await;
    let retry = runs.iter().find(|l| l["action"] == "lifecycle:retry").expect("the retry is logged");
    assert_eq!(retry["log_id"], retried["log_id"]);
    assert_eq!(retry["actor"]["role"], "admin");
    let failed_run = runs.iter().find(|l| l["action"] == "create-account" && l["status"] == "error").expect("the failed run");
    assert!(failed_run["message"].as_str().unwrap().contains("authentication failed"), "{failed_run}");
    assert!(retry["message"].as_str().unwrap().contains(failed_run["log_id"].as_str().unwrap()), "the retry names the failed run: {retry}");
    assert_eq!(runs.iter().filter(|l| l["action"] == "create-account" && l["status"] == "success").count(), 1);

    // Done now: a second retry is refused; an unknown event is 404; a client may not retry.
    let (status, again) = call(reqwest::Method::POST, &format!("/lifecycle-events/{id}/retry"), Some(&token), None).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("invalid_state")), "{again}");
    let (status, _) = call(reqwest::Method::POST, "/lifecycle-events/no-such-event/retry", Some(&token), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(reqwest::Method::POST, &format!("/lifecycle-events/{id}/retry"), Some(&e2e::client_token("someone")), None).await;
    assert_eq!(status, 403);
}
