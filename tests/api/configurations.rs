//! Provision configurations over HTTP: create, read, list, change and remove; secrets sealed at
//! rest and never shown; bad input refused with every field named and nothing changed.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{admin_token, api_url, aws, client_token, http, main_table, unique};
use serde_json::{Value, json};

async fn call(method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    e2e::call(method, path, token, body).await
}

async fn admin(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(method, path, Some(&admin_token()), body).await
}

/// The configuration's item as stored, straight from DynamoDB.
async fn stored(id: &str) -> Option<Value> {
    let ddb = aws_sdk_dynamodb::Client::new(&aws().await);
    let out = ddb.get_item().table_name(main_table()).key("pk", AttributeValue::S(format!("CFG#{id}"))).key("sk", AttributeValue::S("CFG".into())).send().await.unwrap();
    out.item().map(|i| Value::Object(shared::adapters::dynamodb::from_item(i)))
}

fn hosting(name: &str, api_key: &str) -> Value {
    json!({
        "name": name, "blueprint": "web-hosting", "provider": "demo",
        "settings": { "server_hostname": "whm1.example.net", "api_key": api_key, "latency_ms": 0 }
    })
}

async fn names_listed(blueprint: &str) -> Vec<String> {
    let (status, body) = admin(reqwest::Method::GET, &format!("/provision-configurations?blueprint={blueprint}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_configuration_is_created_read_listed_changed_and_removed_with_its_secret_sealed() {
    let name = unique("whm");
    let (status, created) = admin(reqwest::Method::POST, "/provision-configurations", Some(hosting(&name, "tok-ABC-123"))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["settings"], json!({"server_hostname": "whm1.example.net", "api_key": "********", "latency_ms": 0}));
    assert_eq!((created["enabled"].as_bool(), created["version"].as_u64()), (Some(true), Some(1)));

    let raw = stored(&id).await.unwrap();
    assert!(!raw.to_string().contains("tok-ABC-123"), "the secret is sealed at rest: {raw}");
    assert!(raw["settings"]["api_key"]["$sealed"].as_str().unwrap().starts_with("v1:"));

    let (status, read) = admin(reqwest::Method::GET, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!((status, &read), (200, &created));
    assert!(names_listed("web-hosting").await.contains(&name));
    assert!(!names_listed("servers").await.contains(&name));

    // Sending the mask back keeps the secret; other fields change; the version moves on.
    let patch = json!({"name": format!("{name}-renamed"), "enabled": false, "settings": {"api_key": "********", "latency_ms": 5}});
    let (status, changed) = admin(reqwest::Method::PATCH, &format!("/provision-configurations/{id}"), Some(patch)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((changed["enabled"].as_bool(), changed["version"].as_u64(), changed["settings"]["latency_ms"].as_u64()), (Some(false), Some(2), Some(5)));
    let after = stored(&id).await.unwrap();
    assert_eq!(after["settings"]["api_key"], raw["settings"]["api_key"], "a masked secret sent back is unchanged");
    let (status, _) = admin(reqwest::Method::PATCH, &format!("/provision-configurations/{id}"), Some(json!({"settings": {"api_key": "new-token"}}))).await;
    assert_eq!(status, 200);
    let rotated = stored(&id).await.unwrap();
    assert_ne!(rotated["settings"]["api_key"], raw["settings"]["api_key"]);
    assert!(!rotated.to_string().contains("new-token"));

    let (status, body) = admin(reqwest::Method::DELETE, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(stored(&id).await.is_none());
    let (status, body) = admin(reqwest::Method::GET, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = admin(reqwest::Method::DELETE, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_configurations_are_refused_field_by_field_and_nothing_is_written() {
    let name = unique("bad");
    let cases = [
        (json!({"blueprint": "web-hosting", "provider": "demo", "settings": {}, "extra": 1}), vec!["name", "extra"]),
        (json!({"name": name, "blueprint": "coffee", "provider": "demo", "settings": {}}), vec!["blueprint"]),
        (json!({"name": name, "blueprint": "web-hosting", "provider": "cpanel-x", "settings": {}}), vec!["provider"]),
        (
            json!({"name": name, "blueprint": "web-hosting", "provider": "demo", "settings": {"api_key": 5, "latency_ms": 99999, "colour": "red"}}),
            vec!["settings.server_hostname", "settings.api_key", "settings.latency_ms", "settings.colour"],
        ),
        (json!({"name": "", "blueprint": "web-hosting", "provider": "demo", "settings": "nope", "enabled": "yes"}), vec!["name", "settings", "enabled"]),
    ];
    for (body, fields) in cases {
        let (status, answer) = admin(reqwest::Method::POST, "/provision-configurations", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed");
        let mut named: Vec<&str> = answer["error"]["details"]["fields"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = fields.clone();
        named.sort_unstable();
        want.sort_unstable();
        assert_eq!(named, want, "{answer}");
    }
    let response = http().post(format!("{}/provision-configurations", api_url())).bearer_auth(admin_token()).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(!names_listed("web-hosting").await.contains(&name), "nothing was written");

    // A bad change leaves the configuration as it was.
    let (_, created) = admin(reqwest::Method::POST, "/provision-configurations", Some(hosting(&unique("keep"), "k"))).await;
    let id = created["id"].as_str().unwrap();
    let (status, _) = admin(reqwest::Method::PATCH, &format!("/provision-configurations/{id}"), Some(json!({"settings": {"server_hostname": null}}))).await;
    assert_eq!(status, 400);
    let (_, read) = admin(reqwest::Method::GET, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!(read, created);
    let (status, _) = admin(reqwest::Method::GET, "/provision-configurations?blueprint=coffee", None).await;
    assert_eq!(status, 400);
    let (status, _) = admin(reqwest::Method::GET, "/provision-configurations/..%2F..%2Fetc", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn one_default_per_blueprint_and_none_removed_while_in_use() {
    let create = |name: String| async move {
        let body = json!({"name": name, "blueprint": "office-tools", "provider": "demo", "default_for_blueprint": true, "default_for_provider": true, "settings": {}});
        let (status, c) = admin(reqwest::Method::POST, "/provision-configurations", Some(body)).await;
        assert_eq!(status, 201, "{c}");
        c
    };
    let a = create(unique("office-a")).await;
    assert_eq!((a["default_for_blueprint"].as_bool(), a["default_for_provider"].as_bool()), (Some(true), Some(true)));
    let b = create(unique("office-b")).await;
    let (_, a_now) = admin(reqwest::Method::GET, &format!("/provision-configurations/{}", a["id"].as_str().unwrap()), None).await;
    assert_eq!(a_now["default_for_blueprint"], false, "the newer default replaced it");
    assert_eq!(b["default_for_blueprint"], true);

    // In use (a product names it): DELETE is refused with 409 and nothing changes.
    let id = b["id"].as_str().unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&aws().await);
    ddb.update_item()
        .table_name(main_table())
        .key("pk", AttributeValue::S(format!("CFG#{id}")))
        .key("sk", AttributeValue::S("CFG".into()))
        .update_expression("SET usage_count = :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let (status, body) = admin(reqwest::Method::DELETE, &format!("/provision-configurations/{id}"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    assert!(stored(id).await.is_some());
}

#[tokio::test]
async fn configurations_are_for_admins_only() {
    let client = client_token("client-1");
    for (method, path) in [
        (reqwest::Method::POST, "/provision-configurations"),
        (reqwest::Method::GET, "/provision-configurations"),
        (reqwest::Method::GET, "/provision-configurations/cfg-1"),
        (reqwest::Method::PATCH, "/provision-configurations/cfg-1"),
        (reqwest::Method::DELETE, "/provision-configurations/cfg-1"),
    ] {
        let (status, body) = call(method.clone(), path, Some(&client), Some(json!({}))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
        let (status, _) = call(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(status, 401, "{method} {path}");
    }
}

#[tokio::test]
async fn the_catalogue_lists_each_blueprints_providers_with_settings_schemas() {
    let (status, body) = admin(reqwest::Method::GET, "/blueprints", None).await;
    assert_eq!(status, 200);
    for b in body["blueprints"].as_array().unwrap() {
        let demo = &b["providers"][0];
        assert_eq!(demo["id"], "demo", "{}", b["id"]);
        assert_eq!(demo["settings"]["properties"]["api_key"]["x-secret"], true);
        assert_eq!(demo["supported_actions"].as_array().unwrap().len(), b["actions"].as_array().unwrap().len());
        // Every blueprint has a real provider (a vendor's API, not the demo or your own endpoint);
        // web hosting and servers two or more. Each marks its secret settings.
        let real: Vec<&Value> = b["providers"].as_array().unwrap().iter().filter(|p| p["id"] != "demo" && p["id"] != "http").collect();
        let wanted = if b["id"] == "web-hosting" || b["id"] == "servers" { 2 } else { 1 };
        assert!(real.len() >= wanted, "{}: {} real providers", b["id"], real.len());
        for p in real {
            let secret = p["settings"]["properties"].as_object().unwrap().values().any(|f| f["x-secret"] == true);
            assert!(secret, "{}/{} marks no secret setting", b["id"], p["id"]);
            assert!(!p["supported_actions"].as_array().unwrap().is_empty(), "{}/{} supports nothing", b["id"], p["id"]);
        }
    }
}

#[tokio::test]
async fn test_connection_checks_the_credentials_and_is_logged_under_the_configuration() {
    let (_, good) = admin(reqwest::Method::POST, "/provision-configurations", Some(hosting(&unique("tc"), "tok-ABC-123"))).await;
    let id = good["id"].as_str().unwrap();
    let (status, ok) = admin(reqwest::Method::POST, &format!("/provision-configurations/{id}/test-connection"), Some(json!({}))).await;
    assert_eq!(status, 200, "{ok}");
    assert!(ok["message"].as_str().unwrap().contains("connected"));
    let (_, logs) = admin(reqwest::Method::GET, &format!("/provision-configurations/{id}/logs"), None).await;
    assert_eq!(logs["items"][0]["action"], "test-connection");
    assert_eq!(logs["items"][0]["log_id"], ok["log_id"]);

    let (_, bad) = admin(reqwest::Method::POST, "/provision-configurations", Some(hosting(&unique("tc"), "invalid"))).await;
    let id = bad["id"].as_str().unwrap();
    let (status, refused) = admin(reqwest::Method::POST, &format!("/provision-configurations/{id}/test-connection"), Some(json!({}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (502, Some("provider_error")), "{refused}");
    assert!(refused["log_id"].is_string(), "the failed check is logged");
    let (status, _) = admin(reqwest::Method::POST, "/provision-configurations/cfg-nope/test-connection", Some(json!({}))).await;
    assert_eq!(status, 404);
}
