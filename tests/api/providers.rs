//! Real providers end to end through the HTTP API, each against a local server that answers as
//! the vendor documents: what the demo provider does, on the vendor's own calls.

use e2e::{admin_token, unique};
use serde_json::{Value, json};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WHM_TOKEN: &str = "WHM-token-Sup3rSecret";

async fn call(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    e2e::call(method, path, Some(&admin_token()), body).await
}

fn whm_ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": data, "metadata": { "result": 1, "reason": "OK", "version": 1 } }))
}

/// A WHM server: every function the hosting actions call, as api.docs.cpanel.net documents them,
/// with the account suspended once suspendacct was called.
async fn whm() -> MockServer {
    let server = MockServer::start().await;
    let auth = format!("whm reseller1:{WHM_TOKEN}");
    let account = |suspended: u8| json!({ "acct": [{ "user": "shop01", "domain": "shop.example", "plan": "basic", "suspended": suspended, "suspendreason": if suspended == 1 { "overdue" } else { "not suspended" }, "ip": "192.0.2.9", "diskused": "20M", "disklimit": "unlimited" }] });
    for f in ["verify_new_username", "createacct", "unsuspendacct", "removeacct"] {
        Mock::given(path(format!("/json-api/{f}"))).and(header("authorization", auth.as_str())).respond_with(whm_ok(json!({}))).mount(&server).await;
    }
    Mock::given(path("/json-api/listresellers")).respond_with(whm_ok(json!({ "reseller": [] }))).mount(&server).await;
    Mock::given(path("/json-api/suspendacct")).and(query_param("reason", "overdue")).respond_with(whm_ok(json!({}))).mount(&server).await;
    // The account as each read finds it: active after the create, suspended after the
    // suspension, active again after.
    for (n, suspended) in [(1, 0), (2, 1), (3, 0)] {
        let answer = Mock::given(path("/json-api/accountsummary")).and(query_param("user", "shop01")).respond_with(whm_ok(account(suspended))).with_priority(n);
        let answer = if n < 3 { answer.up_to_n_times(1) } else { answer };
        answer.mount(&server).await;
    }
    Mock::given(path("/json-api/create_user_session"))
        .respond_with(whm_ok(json!({ "url": "https://whm.example.net:2083/cpsess9/login/?session=shop01:x", "expires": 1_790_000_000 })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn cpanel_runs_a_hosting_life_on_whm_and_logs_it_without_the_token() {
    let server = whm().await;
    let (status, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(json!({ "name": unique("whm"), "blueprint": "web-hosting", "provider": "cpanel", "settings": { "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": WHM_TOKEN, "api_url": server.uri() } })),
    )
    .await;
    assert_eq!(status, 201, "{cfg}");
    assert!(!cfg.to_string().contains(WHM_TOKEN));
    let (status, cp) = call(
        reqwest::Method::POST,
        "/contract-products",
        Some(json!({ "client_id": unique("client"), "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg["id"] } })),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let cp = cp["id"].as_str().unwrap().to_owned();
    let run = |action: &str, params: Value| {
        let path = format!("/contract-products/{cp}/actions/web-hosting/{action}");
        async move { call(reqwest::Method::POST, &path, Some(json!({ "params": params }))).await }
    };
    let (status, made) = run("create-account", json!({ "username": "shop01", "domain": "shop.example", "email": "owner@shop.example", "package_name": "basic", "password": "Shop-pw-Secret1!" })).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["server_hostname"], "whm.example.net");
    let (status, login) = run("login-to-control-panel", json!({ "user_ip": "198.51.100.4" })).await;
    assert_eq!(status, 200, "{login}");
    assert!(login["data"]["login_url"].as_str().unwrap().contains("cpsess9"));
    let (status, suspended) = run("suspend-account", json!({ "reason": "overdue" })).await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["data"]["suspended"], true);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), None).await;
    assert_eq!((state["status"].as_str(), state["service_identifier"].as_str()), (Some("suspended"), Some("shop01")));
    let (status, _) = run("unsuspend-account", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = run("delete-account", json!({})).await;
    assert_eq!(status, 200);
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), None).await;
    assert_eq!(state["status"], "terminated");
    // What WHM was asked, in order; and the log's debug holds each exchange, without the token
    // or the account's password.
    let functions: Vec<String> = server.received_requests().await.unwrap().iter().map(|r| r.url.path().trim_start_matches("/json-api/").to_owned()).collect();
    assert_eq!(&functions[..3], ["verify_new_username", "createacct", "accountsummary"]);
    assert!(functions.contains(&"removeacct".to_owned()));
    let (_, logs) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=50"), None).await;
    let items = logs["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let create = items.iter().find(|e| e["action"] == "create-account").unwrap();
    let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", create["log_id"].as_str().unwrap()), None).await;
    assert!(entry["debug"].to_string().contains("createacct"), "{entry}");
    let text = entry.to_string();
    assert!(!text.contains(WHM_TOKEN) && !text.contains("Shop-pw-Secret1!"), "{text}");
}

#[tokio::test]
async fn cpanel_refusals_are_clear_errors_and_change_nothing() {
    let server = MockServer::start().await;
    Mock::given(path("/json-api/verify_new_username")).respond_with(whm_ok(json!({}))).mount(&server).await;
    Mock::given(path("/json-api/createacct"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "metadata": { "result": 0, "reason": "(XID 7abc) Sorry, a group for that username already exists.", "version": 1 } })))
        .mount(&server)
        .await;
    let (_, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(json!({ "name": unique("whm"), "blueprint": "web-hosting", "provider": "cpanel", "settings": { "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": WHM_TOKEN, "api_url": server.uri() } })),
    )
    .await;
    let (_, cp) = call(
        reqwest::Method::POST,
        "/contract-products",
        Some(json!({ "client_id": unique("client"), "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg["id"] } })),
    )
    .await;
    let cp = cp["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("/contract-products/{cp}/actions/web-hosting/create-account"),
        Some(json!({ "params": { "username": "taken1", "domain": "taken.example", "email": "o@taken.example", "package_name": "basic" } })),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["message"], "WHM refused createacct: Sorry, a group for that username already exists.");
    let (_, state) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), None).await;
    assert_eq!(state["status"], "failed", "a refused setup marks the product failed");
    assert!(state["service_identifier"].is_null());
    // A configuration whose WHM address is plain http to another host is refused.
    let (status, body) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        Some(json!({ "name": unique("whm"), "blueprint": "web-hosting", "provider": "cpanel", "settings": { "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": WHM_TOKEN, "api_url": "http://169.254.169.254/latest" } })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
