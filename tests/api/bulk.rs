//! Bulk actions end to end: POST /bulk-actions → the lifecycle queue (SQS emulator) → the
//! worker under cargo lambda watch plans, dispatches and runs each item on the demo provider;
//! progress, dry run, cancel and resume over HTTP.

use std::time::{Duration, Instant};

use e2e::{admin_token, call, unique};
use serde_json::{Value, json};

async fn admin(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(method, path, Some(&admin_token()), body).await
}

/// A demo hosting configuration holding `n` accounts, each imported as an active contract
/// product: (configuration id, contract product ids).
async fn imported_accounts(n: usize) -> (String, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("bulk{i:03}")).collect();
    let settings = json!({"server_hostname": "bulk.example.net", "existing_services": names.join(",")});
    let (status, cfg) = admin(reqwest::Method::POST, "/provision-configurations", Some(json!({"name": unique("bulk"), "blueprint": "web-hosting", "provider": "demo", "settings": settings}))).await;
    assert_eq!(status, 201, "{cfg}");
    let cfg_id = cfg["id"].as_str().unwrap().to_owned();
    let client = unique("client");
    let mut ids = Vec::new();
    for chunk in names.chunks(20) {
        let services: Vec<Value> = chunk.iter().map(|s| json!({"service_identifier": s, "client_id": client})).collect();
        let (status, results) = admin(reqwest::Method::POST, &format!("/provision-configurations/{cfg_id}/import"), Some(json!({ "services": services }))).await;
        assert_eq!(status, 200, "{results}");
        for r in results["items"].as_array().unwrap() {
            assert_eq!(r["result"], "imported", "{r}");
            ids.push(r["contract_product"]["id"].as_str().unwrap().to_owned());
        }
    }
    (cfg_id, ids)
}

/// Waits until a job has nothing queued or running, and answers its progress.
async fn settled(id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (status, job) = admin(reqwest::Method::GET, &format!("/bulk-actions/{id}"), None).await;
        assert_eq!(status, 200, "{job}");
        if ["finished", "cancelled"].contains(&job["state"].as_str().unwrap_or_default()) {
            return job;
        }
        assert!(Instant::now() < deadline, "bulk action {id} did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn statuses(ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let (_, cp) = admin(reqwest::Method::GET, &format!("/contract-products/{id}"), None).await;
        out.push(cp["status"].as_str().unwrap_or_default().to_owned());
    }
    out
}

async fn runs_of(cp: &str, action: &str) -> usize {
    let (_, logs) = admin(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?action={action}&limit=200"), None).await;
    logs["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_bulk_suspend_runs_each_service_once_and_reports_its_progress() {
    let (cfg, ids) = imported_accounts(30).await;
    let mut body =
        json!({"blueprint": "web-hosting", "action": "suspend-account", "params": {"reason": "unpaid"}, "selection": {"filter": {"configuration_id": cfg, "status": "active"}}, "dry_run": true});
    // The dry run: what would run, nothing written.
    let (status, dry) = admin(reqwest::Method::POST, "/bulk-actions", Some(body.clone())).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!((dry["selected"].as_u64(), dry["would_run"].as_u64(), dry["refused"].as_u64()), (Some(30), Some(30), Some(0)), "{dry}");
    assert!(statuses(&ids).await.iter().all(|s| s == "active"));

    body["dry_run"] = json!(false);
    let (status, job) = admin(reqwest::Method::POST, "/bulk-actions", Some(body)).await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["params"]["reason"], "unpaid");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = settled(&id).await;
    assert_eq!(done["state"], "finished", "{done}");
    assert_eq!((done["progress"]["done"].as_u64(), done["progress"]["failed"].as_u64()), (Some(30), Some(0)), "{done}");
    assert_eq!(done["items"].as_array().unwrap().len(), 30);
    for item in done["items"].as_array().unwrap() {
        let (status, entry) = admin(reqwest::Method::GET, &format!("/logs/{}", item["log_id"].as_str().unwrap()), None).await;
        assert_eq!((status, entry["action"].as_str(), entry["contract_product_id"].as_str()), (200, Some("suspend-account"), item["contract_product_id"].as_str()));
    }
    assert!(statuses(&ids).await.iter().all(|s| s == "suspended"));

    // Resumed after it finished (as after a crash that lost a message): its items are queued
    // again and none runs twice.
    let (status, resumed) = admin(reqwest::Method::POST, &format!("/bulk-actions/{id}/resume"), None).await;
    assert_eq!(status, 200, "{resumed}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = settled(&id).await;
    assert_eq!(again["progress"]["done"].as_u64(), Some(30), "{again}");
    for cp in &ids {
        assert_eq!(runs_of(cp, "suspend-account").await, 1, "{cp} was suspended more than once");
    }
    // Listed, newest first.
    let (status, list) = admin(reqwest::Method::GET, "/bulk-actions?limit=5", None).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["items"].as_array().unwrap().iter().any(|j| j["id"] == id.as_str()));
}

#[tokio::test]
async fn a_cancelled_bulk_action_runs_none_of_what_was_left_and_says_so() {
    let (_, ids) = imported_accounts(20).await;
    let body = json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"ids": ids}});
    let (status, job) = admin(reqwest::Method::POST, "/bulk-actions", Some(body)).await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let (status, cancelled) = admin(reqwest::Method::POST, &format!("/bulk-actions/{id}/cancel"), None).await;
    assert_eq!(status, 200, "{cancelled}");
    let (status, again) = admin(reqwest::Method::POST, &format!("/bulk-actions/{id}/cancel"), None).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");
    let (status, _) = admin(reqwest::Method::POST, &format!("/bulk-actions/{id}/resume"), None).await;
    assert_eq!(status, 409);
    let end = settled(&id).await;
    assert_eq!(end["state"], "cancelled", "{end}");
    // Whatever ran before the cancel is done; the rest is cancelled and its services untouched.
    let p = &end["progress"];
    let planned = end["items"].as_array().unwrap();
    assert_eq!(p["done"].as_u64().unwrap() + p["cancelled"].as_u64().unwrap(), planned.len() as u64, "{end}");
    for item in planned {
        let cp = item["contract_product_id"].as_str().unwrap();
        let (_, product) = admin(reqwest::Method::GET, &format!("/contract-products/{cp}"), None).await;
        let expected = if item["status"] == "done" { "suspended" } else { "active" };
        assert_eq!(product["status"], expected, "{item}");
    }
    // Not found: an id never made.
    let (status, _) = admin(reqwest::Method::GET, "/bulk-actions/bulk-0000", None).await;
    assert_eq!(status, 404);
}
