//! Real providers end to end through the HTTP API, each against a local server that answers as
//! the vendor documents: what the demo provider does, on the vendor's own calls.

use e2e::{admin_token, unique};
use serde_json::{Value, json};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WHM_TOKEN: &str = "WHM-token-Sup3rSecret";

pub(crate) async fn call(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
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
    Mock::given(path("/json-api/getpkginfo")).and(query_param("pkg", "basic")).respond_with(whm_ok(json!({ "pkg": { "name": "basic" } }))).mount(&server).await;
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
    // The client's own service, another client's account named: refused, never sent to WHM.
    for (action, params) in [
        ("get-info", json!({ "username": "victim9" })),
        ("change-password", json!({ "username": "victim9", "password": "Takeover-pw-1!" })),
        ("login-to-control-panel", json!({ "username": "victim9", "user_ip": "198.51.100.4" })),
    ] {
        foreign_identifier_is_refused(&cp, "web-hosting", action, params, "username").await;
    }
    assert!(!double_saw(&server, "victim9").await, "WHM was never asked about another account");
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
    assert_eq!(&functions[..4], ["verify_new_username", "getpkginfo", "createacct", "accountsummary"]);
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
    Mock::given(path("/json-api/getpkginfo")).respond_with(whm_ok(json!({}))).mount(&server).await;
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

/// A configuration of a provider and a contract product on it; answers the product's id.
pub(crate) async fn product_on(blueprint: &str, provider: &str, settings: Value, secret: &str) -> String {
    let (status, cfg) = call(reqwest::Method::POST, "/provision-configurations", Some(json!({ "name": unique(provider), "blueprint": blueprint, "provider": provider, "settings": settings }))).await;
    assert_eq!(status, 201, "{cfg}");
    assert!(!cfg.to_string().contains(secret), "the secret is never shown back");
    let (status, cp) =
        call(reqwest::Method::POST, "/contract-products", Some(json!({ "client_id": unique("client"), "blueprint": blueprint, "deployment": { "type": "static", "configuration_id": cfg["id"] } })))
            .await;
    assert_eq!(status, 201, "{cp}");
    cp["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn act(cp: &str, blueprint: &str, action: &str, params: Value) -> (u16, Value) {
    call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/{blueprint}/{action}"), Some(json!({ "params": params }))).await
}

pub(crate) async fn status_of(cp: &str) -> Value {
    call(reqwest::Method::GET, &format!("/contract-products/{cp}"), None).await.1
}

/// Every log entry of a product, in full (debug included), as one text.
pub(crate) async fn logs_text(cp: &str) -> String {
    let (_, logs) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=100"), None).await;
    let mut text = String::new();
    for item in logs["items"].as_array().unwrap() {
        let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", item["log_id"].as_str().unwrap()), None).await;
        text.push_str(&entry.to_string());
    }
    text
}

/// A failed run: answered with `status`, logged as an error with the same message, and the
/// product unchanged.
pub(crate) async fn assert_failed_cleanly(cp: &str, blueprint: &str, action: &str, params: Value, status: u16, message: &str) {
    let before = status_of(cp).await;
    let (got, body) = act(cp, blueprint, action, params).await;
    assert_eq!((got, body["error"]["message"].as_str()), (status, Some(message)), "{body}");
    let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", body["log_id"].as_str().unwrap()), None).await;
    assert_eq!((entry["status"].as_str(), entry["action"].as_str(), entry["error"]["message"].as_str()), (Some("error"), Some(action), Some(message)), "{entry}");
    let after = status_of(cp).await;
    assert_eq!(
        (after["status"].clone(), after["service_identifier"].clone(), after["version"].clone()),
        (before["status"].clone(), before["service_identifier"].clone(), before["version"].clone()),
        "nothing changed"
    );
}

/// The owning client, then an admin, naming another account in an action's params: each a 400
/// naming the field, nothing run, nothing logged; the caller of the test then checks that the
/// vendor's double never saw the foreign identifier.
pub(crate) async fn foreign_identifier_is_refused(cp: &str, blueprint: &str, action: &str, params: Value, field: &str) {
    let product = status_of(cp).await;
    let owner = e2e::client_token(product["client_id"].as_str().unwrap());
    let (_, logs_before) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=100"), None).await;
    let path = format!("/contract-products/{cp}/actions/{blueprint}/{action}");
    let client_action = shared::catalogue::catalogue().action(blueprint, action).unwrap().1.audience == shared::domain::Audience::Client;
    for (token, want) in [(owner, if client_action { 400 } else { 403 }), (admin_token(), 400)] {
        let (status, body) = e2e::call(reqwest::Method::POST, &path, Some(&token), Some(json!({ "params": params }))).await;
        assert_eq!(status, want, "{blueprint}/{action} naming another account: {body}");
        if want == 400 {
            assert!(body["error"]["details"]["fields"][field].is_string(), "the field is named: {body}");
        }
        assert!(body.get("log_id").is_none(), "refused before any run: {body}");
    }
    let (_, logs_after) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=100"), None).await;
    assert_eq!(logs_after["items"], logs_before["items"], "nothing ran");
    assert_eq!(status_of(cp).await, product, "nothing changed");
}

/// Whether any request a vendor double received names `what` (its URL or its body).
pub(crate) async fn double_saw(double: &MockServer, what: &str) -> bool {
    double.received_requests().await.unwrap().iter().any(|r| r.url.as_str().contains(what) || String::from_utf8_lossy(&r.body).contains(what))
}

/// Waits for a long-running action's entry to leave pending.
pub(crate) async fn settled(log_id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{log_id}"), None).await;
        if entry["status"] != "pending" {
            return entry;
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {entry}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Sends every request a vendor double received again to the prism mock server made from the
/// vendor's own description: the double accepted nothing the spec refuses.
pub(crate) async fn replay_against_spec(double: &MockServer, prism_var: &str) {
    let prism = std::env::var(prism_var).unwrap_or_else(|_| panic!("{prism_var} is not set: make test starts the prism servers"));
    let client = reqwest::Client::new();
    for r in double.received_requests().await.unwrap() {
        let url = format!("{prism}{}{}", r.url.path(), r.url.query().map(|q| format!("?{q}")).unwrap_or_default());
        let mut request = client.request(reqwest::Method::from_bytes(r.method.as_str().as_bytes()).unwrap(), &url);
        for name in ["authorization", "content-type"] {
            if let Some(v) = r.headers.get(name) {
                request = request.header(name, v.to_str().unwrap());
            }
        }
        if !r.body.is_empty() {
            request = request.body(r.body.clone());
        }
        let answer = request.send().await.unwrap();
        let violations = answer.headers().get("sl-violations").map(|v| v.to_str().unwrap_or_default().to_owned());
        // Prism's 500 for an answer of the vendor's own example that breaks its spec (the
        // request was valid): every violation is of the response.
        let listed: Vec<Value> = violations.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
        let example_only = answer.status() == 500 && !listed.is_empty() && listed.iter().all(|v| v["location"][0] == "response");
        assert!(answer.status().is_success() || example_only, "the spec refuses {} {url}: {} {violations:?}", r.method, answer.status());
    }
}

const HZ_TOKEN: &str = "Hz-token-Sup3rSecret";
const HZ_GENERATED: &str = "Hz-generated-Root9";

#[tokio::test]
async fn hetzner_cloud_creates_a_server_follows_it_to_running_and_runs_its_life() {
    let hz = MockServer::start().await;
    let server = |status: &str| {
        json!({ "server": { "id": 4711, "name": "web-1", "status": status, "created": "2026-11-23T10:00:00+00:00", "public_net": { "ipv4": { "ip": "203.0.113.4" } },
            "server_type": { "name": "cpx22", "cores": 2, "memory": 4, "disk": 80 }, "location": { "name": "fsn1" }, "datacenter": { "name": "fsn1-dc14" },
            "image": { "name": "ubuntu-24.04" }, "primary_disk_size": 80, "labels": {} } })
    };
    let action = |id: u64, command: &str, status: &str| json!({ "id": id, "command": command, "status": status, "progress": 100, "started": "2026-11-23T10:00:00+00:00", "finished": null, "resources": [], "error": null });
    let auth = format!("Bearer {HZ_TOKEN}");
    Mock::given(wiremock::matchers::method("POST"))
        .and(path("/servers"))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json({
            let mut created = server("initializing");
            created["action"] = action(1, "create_server", "running");
            created["next_actions"] = json!([action(2, "start_server", "running")]);
            created["root_password"] = Value::Null;
            created
        }))
        .expect(1)
        .mount(&hz)
        .await;
    // No server carries this product's label yet: the create makes one.
    Mock::given(path("/servers"))
        .and(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::query_param_contains("label_selector", "provisioning-product=="))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "servers": [], "meta": { "pagination": { "page": 1, "per_page": 25, "previous_page": null, "next_page": null, "last_page": 1, "total_entries": 0 } } })),
        )
        .expect(1)
        .mount(&hz)
        .await;
    Mock::given(path("/servers/4711")).and(wiremock::matchers::method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(server("running"))).mount(&hz).await;
    // Followed: the create runs at first, then is done.
    Mock::given(path("/servers/4711/actions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(1, "create_server", "running")], "meta": {} })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&hz)
        .await;
    Mock::given(path("/servers/4711/actions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(2, "start_server", "success"), action(1, "create_server", "success")], "meta": {} })))
        .mount(&hz)
        .await;
    Mock::given(path("/servers/4711/actions/poweron")).respond_with(ResponseTemplate::new(201).set_body_json(json!({ "action": action(3, "start_server", "success") }))).mount(&hz).await;
    Mock::given(path("/servers/4711/actions/reset_password"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "root_password": HZ_GENERATED, "action": action(4, "reset_password", "success") })))
        .mount(&hz)
        .await;
    Mock::given(path("/servers/4711/actions/reboot"))
        .respond_with(ResponseTemplate::new(423).set_body_json(json!({ "error": { "code": "locked", "message": "server is locked", "details": null } })))
        .mount(&hz)
        .await;
    Mock::given(path("/servers/4711"))
        .and(wiremock::matchers::method("DELETE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "action": action(5, "delete_server", "success") })))
        .mount(&hz)
        .await;

    let cp = product_on("servers", "hetzner-cloud", json!({ "api_token": HZ_TOKEN, "api_url": hz.uri() }), HZ_TOKEN).await;
    let (status, started) = act(&cp, "servers", "create-server", json!({ "email": "o@example.com", "label": "web-1", "location": "fsn1", "image": "ubuntu-24.04", "size": "cpx22" })).await;
    assert_eq!(status, 202, "{started}");
    let entry = settled(started["log_id"].as_str().unwrap()).await;
    assert_eq!((entry["status"].as_str(), entry["data"]["state"].as_str()), (Some("success"), Some("running")), "{entry}");
    let state = status_of(&cp).await;
    assert_eq!((state["status"].as_str(), state["service_identifier"].as_str()), (Some("active"), Some("4711")));
    foreign_identifier_is_refused(&cp, "servers", "get-info", json!({ "instance_id": "31337" }), "instance_id").await;
    foreign_identifier_is_refused(&cp, "servers", "get-connection", json!({ "instance_id": "31337" }), "instance_id").await;
    assert!(!double_saw(&hz, "31337").await, "Hetzner was never asked about another server");
    let (status, on) = act(&cp, "servers", "power-on", json!({})).await;
    assert_eq!((status, on["data"]["metadata"]["hetzner_action"]["status"].as_str()), (200, Some("success")), "{on}");
    let (status, reset) = act(&cp, "servers", "change-root-password", json!({ "root_password": "Chosen-root-1" })).await;
    assert_eq!((status, reset["data"]["metadata"]["root_password"].as_str()), (200, Some(HZ_GENERATED)), "the caller gets Hetzner's password: {reset}");
    assert_failed_cleanly(&cp, "servers", "reboot", json!({}), 502, "Hetzner Cloud refused reboot: server is locked (locked)").await;
    // Hetzner has no suspension: refused before anything is sent, nothing changes.
    let sent_before = hz.received_requests().await.unwrap().len();
    let (status, refused) = act(&cp, "servers", "suspend", json!({})).await;
    assert_eq!((status, refused["error"]["message"].as_str()), (400, Some("servers/suspend is not supported by hetzner-cloud")), "{refused}");
    assert_eq!(hz.received_requests().await.unwrap().len(), sent_before);
    assert_eq!(status_of(&cp).await["status"], "active");
    let (status, _) = act(&cp, "servers", "terminate", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("create_server") || text.contains("/servers"), "the exchanges are in the logs");
    assert!(!text.contains(HZ_TOKEN) && !text.contains(HZ_GENERATED), "no token, no generated password in any log");
    replay_against_spec(&hz, "PRISM_HETZNER_URL").await;
}

const OP_PASSWORD: &str = "Op-pw-Sup3rSecret";

#[tokio::test]
async fn openprovider_registers_a_domain_and_answers_its_epp_code_without_logging_it() {
    let op = MockServer::start().await;
    let ok = |data: Value| ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }));
    Mock::given(path("/v1beta/auth/login")).respond_with(ok(json!({ "token": "op-bearer-Tok3n", "reseller_id": 1 }))).mount(&op).await;
    Mock::given(path("/v1beta/domains/check")).respond_with(ok(json!({ "results": [{ "domain": "shop-e2e.com", "status": "free" }] }))).mount(&op).await;
    Mock::given(path("/v1beta/domains"))
        .and(wiremock::matchers::method("POST"))
        .and(header("authorization", "Bearer op-bearer-Tok3n"))
        .respond_with(ok(json!({ "id": 9001, "status": "ACT" })))
        .expect(1)
        .mount(&op)
        .await;
    Mock::given(path("/v1beta/domains"))
        .and(wiremock::matchers::method("GET"))
        .and(query_param("full_name", "shop-e2e.com"))
        .respond_with(ok(json!({ "results": [{ "id": 9001, "domain": { "name": "shop-e2e", "extension": "com" }, "status": "ACT", "is_locked": true, "name_servers": [{ "name": "ns1.host.example", "seq_nr": 0 }, { "name": "ns2.host.example", "seq_nr": 1 }],
            "creation_date": "2026-11-23 10:00:00", "expiration_date": "2027-11-23 10:00:00" }] })))
        .mount(&op)
        .await;
    Mock::given(path("/v1beta/domains/9001/renew")).respond_with(ResponseTemplate::new(429)).mount(&op).await;
    Mock::given(path("/v1beta/domains/9001/authcode")).respond_with(ok(json!({ "auth_code": "Op-auth-C0de", "success": true }))).mount(&op).await;
    let cp = product_on("domain-names", "openprovider", json!({ "username": "reseller", "password": OP_PASSWORD, "api_url": op.uri() }), OP_PASSWORD).await;
    let contact = json!({ "id": "JD000001-US" });
    let (status, made) = act(
        &cp,
        "domain-names",
        "register",
        json!({ "sld": "shop-e2e", "tld": "com", "renew_years": 1, "registrant": contact, "admin": contact, "tech": contact, "billing": contact,
        "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["data"]["expires_at"].as_str(), made["data"]["locked"].as_bool()), (Some("2027-11-23 10:00:00"), Some(true)));
    assert_eq!(status_of(&cp).await["service_identifier"], "shop-e2e.com");
    foreign_identifier_is_refused(&cp, "domain-names", "get-info", json!({ "sld": "victim9", "tld": "com" }), "sld").await;
    foreign_identifier_is_refused(&cp, "domain-names", "get-epp-code", json!({ "sld": "victim9", "tld": "com" }), "tld").await;
    assert!(!double_saw(&op, "victim9").await, "OpenProvider was never asked about another domain");
    let (status, code) = act(&cp, "domain-names", "get-epp-code", json!({})).await;
    assert_eq!((status, code["data"]["epp_code"].as_str()), (200, Some("Op-auth-C0de")));
    assert_failed_cleanly(&cp, "domain-names", "renew", json!({ "renew_years": 1 }), 502, "OpenProvider's rate limit was reached on RenewDomain: try later").await;
    let (status, refused) = act(&cp, "domain-names", "update-ips-tag", json!({ "ips_tag": "SOMETAG" })).await;
    assert_eq!((status, refused["error"]["message"].as_str()), (400, Some("domain-names/update-ips-tag is not supported by openprovider")));
    let text = logs_text(&cp).await;
    assert!(text.contains("CreateDomain") || text.contains("/v1beta/domains"), "the exchanges are in the logs");
    assert!(!text.contains(OP_PASSWORD) && !text.contains("op-bearer-Tok3n") && !text.contains("Op-auth-C0de"), "no password, token or auth code in any log");
    // GET /blueprints says which actions each real provider supports.
    let (_, doc) = call(reqwest::Method::GET, "/blueprints", None).await;
    let supported = |blueprint: &str, provider: &str| -> Vec<String> {
        let b = doc["blueprints"].as_array().unwrap().iter().find(|b| b["id"] == blueprint).unwrap();
        let p = b["providers"].as_array().unwrap().iter().find(|p| p["id"] == provider).unwrap_or_else(|| panic!("{provider} is not listed"));
        p["supported_actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
    };
    assert!(!supported("domain-names", "openprovider").contains(&"update-ips-tag".to_owned()));
    assert!(!supported("servers", "hetzner-cloud").contains(&"suspend".to_owned()));
    assert!(!supported("software-licenses", "ispmanager").contains(&"sync-tracked-product-quantities".to_owned()));
    assert_eq!(supported("web-hosting", "cpanel").len(), 11);
    replay_against_spec(&op, "PRISM_OPENPROVIDER_URL").await;
}

const ISP_PASSWORD: &str = "Isp-pw-Sup3rSecret";

#[tokio::test]
async fn ispmanager_orders_suspends_activates_and_deletes_a_licence_and_a_refusal_changes_nothing() {
    let isp = MockServer::start().await;
    let doc = |v: Value| ResponseTemplate::new(200).set_body_json(json!({ "doc": v }));
    let func = |f: &str| wiremock::matchers::body_string_contains(format!("func={f}&"));
    Mock::given(func("soft.order.param")).respond_with(doc(json!({ "id": { "$": "3157009" } }))).expect(1).mount(&isp).await;
    Mock::given(func("soft.edit")).respond_with(doc(json!({ "model": { "lickey": { "$": "3157009-Key" }, "status": { "$": "2" } } }))).mount(&isp).await;
    Mock::given(func("soft.suspend")).respond_with(doc(json!({ "ok": {} }))).expect(1).mount(&isp).await;
    Mock::given(func("soft.resume"))
        .respond_with(doc(json!({ "error": { "type": "access", "msg": { "$": "The licence is blocked by the vendor" } } })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&isp)
        .await;
    Mock::given(func("soft.resume")).respond_with(doc(json!({ "ok": {} }))).mount(&isp).await;
    Mock::given(func("soft.delete")).respond_with(doc(json!({ "ok": {} }))).expect(1).mount(&isp).await;
    let cp =
        product_on("software-licenses", "ispmanager", json!({ "username": "reseller@example.com", "password": ISP_PASSWORD, "api_url": format!("{}/manager/billmgr", isp.uri()) }), ISP_PASSWORD).await;
    let (status, made) =
        act(&cp, "software-licenses", "create-license", json!({ "customer_name": "Jo", "customer_email": "jo@shop.example", "package_identifier": "55227", "ip": "203.0.113.10" })).await;
    assert_eq!((status, made["data"]["license_key"].as_str()), (200, Some("3157009-Key")), "{made}");
    assert_eq!(status_of(&cp).await["service_identifier"], "3157009");
    foreign_identifier_is_refused(&cp, "software-licenses", "get-usage-data", json!({ "license_key": "9990999" }), "license_key").await;
    assert!(!double_saw(&isp, "9990999").await, "ispmanager was never asked about another licence");
    let (status, _) = act(&cp, "software-licenses", "suspend-license", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "suspended");
    let (status, refused) = act(&cp, "software-licenses", "unsuspend-license", json!({})).await;
    assert_eq!((status, refused["error"]["message"].as_str()), (502, Some("ispmanager refused soft.resume: The licence is blocked by the vendor")));
    assert_eq!(status_of(&cp).await["status"], "suspended", "a refusal changes nothing");
    let (status, _) = act(&cp, "software-licenses", "unsuspend-license", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = act(&cp, "software-licenses", "terminate-license", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("The licence is blocked by the vendor"), "the refusal is logged");
    assert!(!text.contains(ISP_PASSWORD), "authinfo is never logged");
}

const EPP_PASSWORD: &str = "Epp-pw-Sup3rS";

/// A registry on this machine over plain TCP with EPP's framing: a greeting, the login, and the
/// answers RFC 5730-5732 give to the commands of a registration.
async fn epp_registry() -> u16 {
    use shared::providers::epp::{receive_frame, send_frame};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    const EPP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">"#;
    let reply = |code: u32, res: &str| format!("{EPP}<response><result code=\"{code}\"><msg>done</msg></result>{res}<trID><svTRID>SV-1</svTRID></trID></response></epp>");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let greeting = format!(
                    "{EPP}<greeting><svID>Local</svID><svDate>2026-11-23T10:00:00.0Z</svDate><svcMenu><version>1.0</version><lang>en</lang><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI><objURI>urn:ietf:params:xml:ns:contact-1.0</objURI><objURI>urn:ietf:params:xml:ns:host-1.0</objURI></svcMenu></greeting></epp>"
                );
                send_frame(&mut s, &greeting).await.unwrap();
                while let Ok(cmd) = receive_frame(&mut s).await {
                    let d = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;
                    let out = if cmd.contains("<login>") && !cmd.contains(&format!("<pw>{EPP_PASSWORD}</pw>")) {
                        reply(2200, "")
                    } else if cmd.contains("<domain:check") {
                        reply(1000, &format!(r#"<resData><domain:chkData {d}><domain:cd><domain:name avail="1">shop-epp.example</domain:name></domain:cd></domain:chkData></resData>"#))
                    } else if cmd.contains("<host:check") {
                        reply(
                            1000,
                            r#"<resData><host:chkData xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:cd><host:name avail="0">ns1.host.example</host:name></host:cd></host:chkData></resData>"#,
                        )
                    } else if cmd.contains("<domain:info") {
                        reply(
                            1000,
                            &format!(
                                r#"<resData><domain:infData {d}><domain:name>shop-epp.example</domain:name><domain:roid>D77-REP</domain:roid><domain:status s="ok"/><domain:registrant>PRVREG1</domain:registrant><domain:ns><domain:hostObj>ns1.host.example</domain:hostObj><domain:hostObj>ns2.host.example</domain:hostObj></domain:ns><domain:clID>ClientX</domain:clID><domain:crDate>2026-11-23T10:00:00.0Z</domain:crDate><domain:exDate>2027-11-23T10:00:00.0Z</domain:exDate><domain:authInfo><domain:pw>Epp-auth-C0de</domain:pw></domain:authInfo></domain:infData></resData>"#
                            ),
                        )
                    } else {
                        reply(1000, "")
                    };
                    if send_frame(&mut s, &out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn epp_registers_at_a_registry_and_answers_its_epp_code_without_logging_any_password() {
    let port = epp_registry().await;
    let cp = product_on("domain-names", "epp", json!({ "hostname": "127.0.0.1", "port": port, "tls": false, "epp_username": "ClientX", "epp_password": EPP_PASSWORD }), EPP_PASSWORD).await;
    let contact = json!({ "id": "PRVREG1" });
    let (status, made) = act(
        &cp,
        "domain-names",
        "register",
        json!({ "sld": "shop-epp", "tld": "example", "renew_years": 1, "registrant": contact, "admin": contact, "tech": contact, "billing": contact,
        "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["data"]["id"].as_str(), made["data"]["expires_at"].as_str()), (Some("D77-REP"), Some("2027-11-23 10:00:00")));
    foreign_identifier_is_refused(&cp, "domain-names", "get-info", json!({ "sld": "victim9", "tld": "example" }), "sld").await;
    let (status, code) = act(&cp, "domain-names", "get-epp-code", json!({})).await;
    assert_eq!((status, code["data"]["epp_code"].as_str()), (200, Some("Epp-auth-C0de")));
    let (status, refused) = act(&cp, "domain-names", "get-verification-status", json!({})).await;
    assert_eq!((status, refused["error"]["message"].as_str()), (400, Some("domain-names/get-verification-status is not supported by epp")));
    let text = logs_text(&cp).await;
    assert!(text.contains("domain:create"), "every command is in the logs");
    assert!(!text.contains(EPP_PASSWORD) && !text.contains("Epp-auth-C0de"), "no password or auth code in any log");
    // A wrong password: a clear refusal, nothing changes.
    let cp = product_on("domain-names", "epp", json!({ "hostname": "127.0.0.1", "port": port, "tls": false, "epp_username": "ClientX", "epp_password": "Wrong-pw-1" }), "Wrong-pw-1").await;
    let (status, refused) = act(
        &cp,
        "domain-names",
        "register",
        json!({ "sld": "shop-epp", "tld": "example", "renew_years": 1, "registrant": contact, "admin": contact, "tech": contact, "billing": contact,
        "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }),
    )
    .await;
    assert_eq!((status, refused["error"]["message"].as_str()), (502, Some("the registry refused the EPP login: done (2200)")), "{refused}");
    assert!(status_of(&cp).await["service_identifier"].is_null());
}

#[tokio::test]
async fn an_openprovider_transfer_is_requested_and_followed_by_the_worker_until_the_domain_is_active() {
    let op = MockServer::start().await;
    let ok = |data: Value| ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }));
    let listed = |status: &str| json!({ "results": [{ "id": 9101, "domain": { "name": "moving", "extension": "com" }, "status": status, "owner_handle": "DF000001-NL", "creation_date": "2020-01-01 10:00:00", "expiration_date": "2027-01-01 10:00:00" }] });
    Mock::given(path("/v1beta/auth/login")).respond_with(ok(json!({ "token": "op-bearer-Tok3n" }))).mount(&op).await;
    Mock::given(path("/v1beta/customers/DF000001-NL")).respond_with(ok(json!({ "handle": "DF000001-NL", "name": { "full_name": "Default Owner" }, "email": "owner@example.com" }))).mount(&op).await;
    Mock::given(path("/v1beta/domains/transfer"))
        .and(wiremock::matchers::body_partial_json(json!({ "owner_handle": "DF000001-NL", "auth_code": "Op-auth-C0de" })))
        .respond_with(ok(json!({ "id": 9101, "status": "REQ" })))
        .expect(1)
        .mount(&op)
        .await;
    // The domain as each read finds it: not in the account, requested (twice), then active.
    let find = || Mock::given(path("/v1beta/domains")).and(wiremock::matchers::method("GET")).and(query_param("full_name", "moving.com"));
    find().respond_with(ok(json!({ "results": [] }))).with_priority(1).up_to_n_times(1).mount(&op).await;
    find().respond_with(ok(listed("REQ"))).with_priority(2).up_to_n_times(2).mount(&op).await;
    find().respond_with(ok(listed("ACT"))).with_priority(3).mount(&op).await;
    let cp = product_on("domain-names", "openprovider", json!({ "username": "reseller", "password": OP_PASSWORD, "api_url": op.uri(), "default_customer_handle": "DF000001-NL" }), OP_PASSWORD).await;
    let (status, started) = act(&cp, "domain-names", "transfer", json!({ "sld": "moving", "tld": "com", "epp_code": "Op-auth-C0de" })).await;
    assert_eq!(status, 202, "{started}");
    let entry = settled(started["log_id"].as_str().unwrap()).await;
    assert_eq!((entry["status"].as_str(), entry["data"]["operation_status"].as_str()), (Some("success"), Some("complete")), "{entry}");
    let state = status_of(&cp).await;
    assert_eq!((state["status"].as_str(), state["service_identifier"].as_str()), (Some("active"), Some("moving.com")));
    assert!(!logs_text(&cp).await.contains("Op-auth-C0de"), "the auth code is never logged");
    replay_against_spec(&op, "PRISM_OPENPROVIDER_URL").await;
}
