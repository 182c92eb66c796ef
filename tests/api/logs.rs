//! The log routes: per product (filters, pages behind a cursor), per configuration, system-wide
//! by status, and one entry with its debug data for admins only.

use e2e::{admin_token, call, client_token, unique};
use serde_json::{Value, json};
use shared::catalogue::catalogue;
use shared::catalogue::example::example;

async fn admin_get(path: &str) -> (u16, Value) {
    call(reqwest::Method::GET, path, Some(&admin_token()), None).await
}

/// A web-hosting product on its own configuration, with `runs` successful actions after its
/// create (get-info), and the configuration id.
async fn product_with_runs(client: &str, api_key: &str, runs: usize) -> (String, String) {
    let token = admin_token();
    let (_, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(&token),
        Some(json!({"name": unique("logs"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net", "api_key": api_key}})),
    )
    .await;
    let cfg_id = cfg["id"].as_str().unwrap().to_owned();
    let (_, cp) =
        call(reqwest::Method::POST, "/contract-products", Some(&token), Some(json!({"client_id": client, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg_id}})))
            .await;
    let cp_id = cp["id"].as_str().unwrap().to_owned();
    let create = catalogue().action("web-hosting", "create-account").unwrap().1;
    let path = |a: &str| format!("/contract-products/{cp_id}/actions/web-hosting/{a}");
    call(reqwest::Method::POST, &path("create-account"), Some(&token), Some(json!({"params": example(&create.params, &[])}))).await;
    for _ in 0..runs {
        let (status, body) = call(reqwest::Method::POST, &path("get-info"), Some(&token), Some(json!({}))).await;
        assert_eq!(status, 200, "{body}");
    }
    (cp_id, cfg_id)
}

#[tokio::test]
async fn a_products_logs_come_newest_first_filtered_and_paged() {
    let client = unique("client");
    let (cp, cfg) = product_with_runs(&client, "k", 4).await;
    let (status, all) = admin_get(&format!("/contract-products/{cp}/logs")).await;
    assert_eq!(status, 200, "{all}");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[4]["action"], "create-account", "newest first");
    assert!(items.windows(2).all(|w| w[0]["started_at"].as_str() >= w[1]["started_at"].as_str()));
    assert!(items.iter().all(|i| i.get("debug").is_none()), "lists leave debug out");
    assert_eq!(all["next_cursor"], Value::Null);

    let (_, creates) = admin_get(&format!("/contract-products/{cp}/logs?action=create-account")).await;
    assert_eq!(creates["items"].as_array().unwrap().len(), 1);
    let (_, errors) = admin_get(&format!("/contract-products/{cp}/logs?status=error")).await;
    assert_eq!(errors["items"], json!([]));

    // Pages of two, followed by cursor, give the same entries in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/contract-products/{cp}/logs?limit=2&cursor={c}"),
            None => format!("/contract-products/{cp}/logs?limit=2"),
        };
        let (status, page) = admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(&paged, items);

    // The same entries by configuration.
    let (status, by_cfg) = admin_get(&format!("/provision-configurations/{cfg}/logs")).await;
    assert_eq!(status, 200);
    assert_eq!(by_cfg["items"].as_array().unwrap(), items);

    // The owner reads its product's logs; another client does not see the product at all.
    let (status, mine) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs"), Some(&client_token(&client)), None).await;
    assert_eq!((status, mine["items"].as_array().map(Vec::len)), (200, Some(5)));
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs"), Some(&client_token("intruder")), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(reqwest::Method::GET, &format!("/provision-configurations/{cfg}/logs"), Some(&client_token(&client)), None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn bad_log_queries_are_refused() {
    let (cp, _) = product_with_runs(&unique("client"), "k", 2).await;
    let (other, _) = product_with_runs(&unique("client"), "k", 2).await;
    let (_, page) = admin_get(&format!("/contract-products/{other}/logs?limit=1")).await;
    let foreign = page["next_cursor"].as_str().unwrap().to_owned();
    for query in ["limit=0", "limit=500", "limit=x", "status=weird", "action=DROP%20TABLE", "since=yesterday", "cursor=%%%", "cursor=bm90LWpzb24", &format!("cursor={foreign}")] {
        let (status, body) = admin_get(&format!("/contract-products/{cp}/logs?{query}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{query}: {body}");
    }
    let (status, _) = admin_get("/contract-products/no-such-product/logs").await;
    assert_eq!(status, 404);
    let (status, _) = admin_get("/logs?since=2020-01-01&until=2026-01-01").await;
    assert_eq!(status, 400, "a window over 31 days");
    let (status, _) = call(reqwest::Method::GET, "/logs", Some(&client_token("c")), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(reqwest::Method::GET, "/logs", None, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn errors_across_the_system_and_one_entry_with_its_debug() {
    let client = unique("client");
    let (cp, _) = product_with_runs(&client, "invalid", 0).await; // its create fails: authentication
    let (_, logs) = admin_get(&format!("/contract-products/{cp}/logs")).await;
    let entry = &logs["items"][0];
    assert_eq!(entry["status"], "error");
    let log_id = entry["log_id"].as_str().unwrap();

    let (status, recent) = admin_get("/logs?status=error&limit=200").await;
    assert_eq!(status, 200, "{recent}");
    assert!(recent["items"].as_array().unwrap().iter().any(|i| i["log_id"] == log_id), "the error is among the system's recent errors");

    let (status, full) = admin_get(&format!("/logs/{log_id}")).await;
    assert_eq!(status, 200);
    assert!(full.get("debug").is_some(), "admins get the debug data");
    assert!(full["error"]["message"].as_str().unwrap().contains("authentication failed"));
    let (status, owner) = call(reqwest::Method::GET, &format!("/logs/{log_id}"), Some(&client_token(&client)), None).await;
    assert_eq!(status, 200);
    assert!(owner.get("debug").is_none(), "the owner sees no debug data");
    let (status, _) = call(reqwest::Method::GET, &format!("/logs/{log_id}"), Some(&client_token("someone-else")), None).await;
    assert_eq!(status, 404);
    let (status, _) = admin_get("/logs/log-0000").await;
    assert_eq!(status, 404);
}
