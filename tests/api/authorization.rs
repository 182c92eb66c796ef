//! The authorization matrix: admin, owning client, another client and no token, against every
//! route of the API. Clients reach only their own contract products, their logs and the
//! client actions; an admin-only route answers a client 403, another client's product is 404.

use e2e::{admin_token, call, client_token, unique};
use reqwest::Method;
use serde_json::{Value, json};
use shared::api::routes::ROUTES;
use shared::catalogue::catalogue;
use shared::catalogue::example::example;

#[tokio::test]
async fn every_route_answers_each_role_as_it_should() {
    let admin = admin_token();
    let owner_id = unique("owner");
    let owner = client_token(&owner_id);
    let other = client_token(&unique("other"));
    let (_, cfg) = call(
        Method::POST,
        "/provision-configurations",
        Some(&admin),
        Some(json!({"name": unique("authz"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net"}})),
    )
    .await;
    let cfg = cfg["id"].as_str().unwrap().to_owned();
    let (_, product) = call(Method::POST, "/products", Some(&admin), Some(json!({"name": "p", "blueprint": "web-hosting", "deployment": {"type": "dynamic"}}))).await;
    let product = product["id"].as_str().unwrap().to_owned();
    let (_, cp) =
        call(Method::POST, "/contract-products", Some(&admin), Some(json!({"client_id": owner_id, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg}}))).await;
    let cp = cp["id"].as_str().unwrap().to_owned();
    let create = catalogue().action("web-hosting", "create-account").unwrap().1;
    let (_, run) = call(Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/create-account"), Some(&admin), Some(json!({"params": example(&create.params, &[])}))).await;
    let log = run["log_id"].as_str().unwrap().to_owned();
    let (_, spare) = call(Method::POST, "/provision-configurations", Some(&admin), Some(json!({"name": unique("spare"), "blueprint": "seo", "provider": "demo", "settings": {}}))).await;
    let spare = spare["id"].as_str().unwrap().to_owned();

    // (method, path, body, admin, owner, other client); no token is always 401.
    let package = json!({"params": {"package_name": "gold"}});
    let matrix: Vec<(Method, String, Value, u16, u16, u16)> = vec![
        (Method::GET, "/blueprints".into(), Value::Null, 200, 200, 200),
        (Method::POST, "/provision-configurations".into(), json!({}), 400, 403, 403),
        (Method::GET, "/provision-configurations".into(), Value::Null, 200, 403, 403),
        (Method::GET, format!("/provision-configurations/{cfg}"), Value::Null, 200, 403, 403),
        (Method::PATCH, format!("/provision-configurations/{cfg}"), json!({}), 200, 403, 403),
        (Method::POST, format!("/provision-configurations/{cfg}/test-connection"), json!({}), 200, 403, 403),
        (Method::GET, format!("/provision-configurations/{cfg}/services"), Value::Null, 200, 403, 403),
        (Method::GET, format!("/provision-configurations/{cfg}/drift"), Value::Null, 404, 403, 403),
        (Method::POST, format!("/provision-configurations/{cfg}/import"), json!({}), 400, 403, 403),
        (Method::POST, "/products".into(), json!({}), 400, 403, 403),
        (Method::GET, "/products".into(), Value::Null, 200, 403, 403),
        (Method::GET, format!("/products/{product}"), Value::Null, 200, 403, 403),
        (Method::PATCH, format!("/products/{product}"), json!({}), 200, 403, 403),
        (Method::POST, "/contract-products".into(), json!({}), 400, 403, 403),
        (Method::POST, "/contract-products/import".into(), json!({}), 400, 403, 403),
        (Method::GET, format!("/contract-products?client_id={owner_id}"), Value::Null, 200, 200, 403),
        (Method::GET, format!("/contract-products/{cp}"), Value::Null, 200, 200, 404),
        (Method::POST, format!("/contract-products/{cp}/actions/web-hosting/get-info"), json!({}), 200, 200, 404),
        (Method::POST, format!("/contract-products/{cp}/actions/web-hosting/change-package"), package, 200, 403, 404),
        (Method::GET, format!("/contract-products/{cp}/logs"), Value::Null, 200, 200, 404),
        (Method::GET, format!("/provision-configurations/{cfg}/logs"), Value::Null, 200, 403, 403),
        (Method::GET, "/logs".into(), Value::Null, 200, 403, 403),
        (Method::GET, format!("/logs/{log}"), Value::Null, 200, 200, 404),
        (Method::POST, "/webhooks/billing".into(), json!({}), 401, 401, 401),
        (Method::POST, "/event-handlers".into(), json!({}), 400, 403, 403),
        (Method::GET, "/event-handlers".into(), Value::Null, 200, 403, 403),
        (Method::GET, "/event-handlers/eh-unknown".into(), Value::Null, 404, 403, 403),
        (Method::PATCH, "/event-handlers/eh-unknown".into(), json!({}), 404, 403, 403),
        (Method::GET, "/event-handlers/eh-unknown/executions".into(), Value::Null, 404, 403, 403),
        (Method::GET, "/lifecycle-events/evt-unknown".into(), Value::Null, 404, 403, 403),
        (Method::GET, "/lifecycle-events?status=failed".into(), Value::Null, 200, 403, 403),
        (Method::POST, "/lifecycle-events/evt-unknown/retry".into(), Value::Null, 404, 403, 403),
        (Method::PATCH, format!("/contract-products/{cp}"), json!({"provision_fields": {}}), 200, 403, 403),
        (Method::DELETE, format!("/provision-configurations/{spare}"), Value::Null, 200, 403, 403),
        (Method::POST, "/bulk-actions".into(), json!({}), 400, 403, 403),
        (Method::GET, "/bulk-actions".into(), Value::Null, 200, 403, 403),
        (Method::GET, "/bulk-actions/bulk-unknown".into(), Value::Null, 404, 403, 403),
        (Method::POST, "/bulk-actions/bulk-unknown/cancel".into(), Value::Null, 404, 403, 403),
        (Method::POST, "/bulk-actions/bulk-unknown/resume".into(), Value::Null, 404, 403, 403),
    ];
    // Every route of the API is in the matrix. The console's (HTML, its page and files) are
    // public by design and hold no data: every caller, signed in or not, gets the same files.
    for route in ROUTES.iter().filter(|r| r.function != shared::api::routes::CONSOLE_FUNCTION) {
        let covered = matrix.iter().any(|(m, p, ..)| {
            let path = p.split('?').next().unwrap();
            m.as_str() == route.method && shared::api::routes::match_path(route.path, path).is_some()
        });
        assert!(covered, "{} {} is not in the matrix", route.method, route.path);
    }
    let (status, settings) = call(Method::GET, "/console/config.json", None, None).await;
    assert_eq!(status, 200, "the console's settings are public: {settings}");
    assert!(settings["sign_in"].is_object() || settings["sign_in"].is_null(), "{settings}");
    for (method, path, body, want_admin, want_owner, want_other) in matrix {
        let body = (!body.is_null()).then_some(body);
        // Clients and the anonymous first: the admin's DELETE comes last.
        for (who, token, want) in [("owner", Some(owner.as_str()), want_owner), ("other", Some(other.as_str()), want_other), ("anonymous", None, 401), ("admin", Some(admin.as_str()), want_admin)] {
            let (status, answer) = call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(status, want, "{who}: {method} {path}: {answer}");
            if status >= 400 {
                assert!(answer["error"]["code"].is_string(), "{who}: {method} {path}: {answer}");
            }
        }
    }
}

/// The identifier override, for every blueprint: on every action that does not establish the
/// service, a request naming one of the blueprint's identifier fields (or the ownership fields
/// `service_identifier` / `customer_identifier`) is a 400 naming it, for the owning client (on the
/// client actions; the admin-only ones stay 403) and for an admin alike; nothing runs.
#[tokio::test]
async fn no_caller_names_the_service_an_action_acts_on() {
    let admin = admin_token();
    for b in &catalogue().blueprints {
        let owner_id = unique("ident");
        let owner = client_token(&owner_id);
        let (_, cfg) = call(
            Method::POST,
            "/provision-configurations",
            Some(&admin),
            Some(json!({"name": unique("ident"), "blueprint": b.id, "provider": "demo", "settings": example(&shared::providers::provider(b.id, "demo").unwrap().settings, &["api_key"])})),
        )
        .await;
        let (status, cp) = call(
            Method::POST,
            "/contract-products",
            Some(&admin),
            Some(json!({"client_id": owner_id, "blueprint": b.id, "service_identifier": "theirs-1", "deployment": {"type": "static", "configuration_id": cfg["id"]}})),
        )
        .await;
        assert_eq!(status, 201, "{cp}");
        let cp = cp["id"].as_str().unwrap().to_owned();
        for a in b.actions.iter().filter(|a| !a.establishes_identifier()) {
            let path = format!("/contract-products/{cp}/actions/{}/{}", b.id, a.id);
            for field in b.engine_filled().filter(|f| a.params["properties"].get(*f).is_some()) {
                let body = json!({"params": {field: "someone-else"}});
                let client_wants = if a.audience == shared::domain::Audience::Client { 400 } else { 403 };
                for (who, token, want) in [("owner", owner.as_str(), client_wants), ("admin", admin.as_str(), 400)] {
                    let (status, answer) = call(Method::POST, &path, Some(token), Some(body.clone())).await;
                    assert_eq!(status, want, "{who}: {}/{} naming {field}: {answer}", b.id, a.id);
                    if want == 400 {
                        assert!(answer["error"]["details"]["fields"][field].is_string(), "{who}: {}/{}: the field is named: {answer}", b.id, a.id);
                    }
                }
            }
        }
        let (_, logs) = call(Method::GET, &format!("/contract-products/{cp}/logs"), Some(&admin), None).await;
        assert_eq!(logs["items"], json!([]), "{}: nothing ran", b.id);
    }
}
