//! Every one of the 73 actions over HTTP on the demo provider, each leaving one log entry with
//! no secret in it; the refusals of bad input, which change nothing; concurrent runs.

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{admin_token, aws, client_token, unique};
use serde_json::{Value, json};
use shared::catalogue::catalogue;
use shared::catalogue::example::example;

const API_KEY: &str = "demo-key-Sup3rSecret";

async fn call(method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    e2e::call(method, path, Some(token).filter(|t| !t.is_empty()), body).await
}

/// A demo configuration of its own (static deployment: no default is touched) and a contract
/// product on it.
async fn product(blueprint: &str, client: &str, api_key: &str) -> String {
    let mut settings = json!({"api_key": api_key});
    if blueprint == "web-hosting" {
        settings["server_hostname"] = json!("srv1.example.net");
    }
    let (status, cfg) =
        call(reqwest::Method::POST, "/provision-configurations", &admin_token(), Some(json!({"name": unique("demo"), "blueprint": blueprint, "provider": "demo", "settings": settings}))).await;
    assert_eq!(status, 201, "{cfg}");
    let (status, cp) =
        call(reqwest::Method::POST, "/contract-products", &admin_token(), Some(json!({"client_id": client, "blueprint": blueprint, "deployment": {"type": "static", "configuration_id": cfg["id"]}})))
            .await;
    assert_eq!(status, 201, "{cp}");
    cp["id"].as_str().unwrap().to_owned()
}

async fn run(cp: &str, blueprint: &str, action: &str, token: &str, params: Value) -> (u16, Value) {
    call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/{blueprint}/{action}"), token, Some(json!({ "params": params }))).await
}

/// Waits for a long-running action's log entry to leave pending.
async fn finished(log_id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (status, entry) = call(reqwest::Method::GET, &format!("/logs/{log_id}"), &admin_token(), None).await;
        if status == 200 && entry["status"] != "pending" {
            return entry;
        }
        assert!(std::time::Instant::now() < deadline, "{log_id} stayed pending: {entry}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn product_state(cp: &str) -> Value {
    let (status, body) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), &admin_token(), None).await;
    assert_eq!(status, 200);
    body
}

/// The log entries of a contract product, straight from the logs table.
async fn log_items(cp: &str) -> Vec<Value> {
    let ddb = aws_sdk_dynamodb::Client::new(&aws().await);
    let out = ddb
        .query()
        .table_name(format!("{}-logs", std::env::var("E2E_STACK").unwrap()))
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(cp.to_owned()))
        .send()
        .await
        .unwrap();
    out.items().iter().map(|i| Value::Object(shared::adapters::dynamodb::from_item(i))).collect()
}

/// The order a life of the service runs in: create first, the rest, then suspend, unsuspend,
/// and the end. Servers power off and on between their other actions.
fn sequence(blueprint: &str) -> Vec<&'static str> {
    let b = catalogue().blueprint(blueprint).unwrap();
    let ids: Vec<&'static str> = b.actions.iter().map(|a| a.id).collect();
    let find = |p: &str| ids.iter().copied().find(|id| id.starts_with(p));
    let create = find("create").or(find("register")).unwrap();
    // Domains have no suspend or end of their own: they lapse at the registry.
    let lifecycle: Vec<&'static str> = [find("suspend"), find("unsuspend"), find("terminate").or(find("delete"))].into_iter().flatten().collect();
    let mut all = vec![create];
    all.extend(ids.iter().copied().filter(|id| *id != create && !lifecycle.contains(id) && !["transfer", "shut-down", "power-on"].contains(id)));
    if blueprint == "servers" {
        all.extend(["shut-down", "power-on"]);
    }
    all.extend(lifecycle);
    all
}

/// Every action of every blueprint runs on a demo product, moves its status as the catalogue
/// says, and leaves exactly one log entry that holds no secret.
#[tokio::test]
async fn all_73_actions_run_on_the_demo_provider_and_are_logged() {
    let mut ran = 0;
    for b in &catalogue().blueprints {
        let client = unique("client");
        let cp = product(b.id, &client, API_KEY).await;
        let mut runs = Vec::new();
        for action in sequence(b.id) {
            let a = b.actions.iter().find(|a| a.id == action).unwrap();
            // A create names its service; later actions get the identifier from the product.
            let creates = a.allowed_from.contains(&shared::domain::ProductStatus::Pending);
            // Filled from the product: its identifier and ownership fields, and for a client
            // whatever the product holds (a client may not change those).
            let mut filled: Vec<String> = b.engine_filled().map(String::from).collect();
            if a.audience == shared::domain::Audience::Client {
                filled.extend(product_state(&cp).await["provision_fields"].as_object().into_iter().flatten().filter(|(_, v)| v.as_str() != Some("********")).map(|(k, _)| k.clone()));
            }
            let skip: Vec<&str> = filled.iter().map(String::as_str).collect();
            let mut params = example(&a.params, if creates { &[] } else { &skip });
            if action == "resize-server" {
                params["resize_running"] = json!(true);
            }
            let token = if a.audience == shared::domain::Audience::Client { client_token(&client) } else { admin_token() };
            let (status, body) = run(&cp, b.id, action, &token, params).await;
            let data = if a.long_running {
                // 202: the worker finishes it; its log entry moves from pending to success.
                assert_eq!((status, body["status"].as_str()), (202, Some("pending")), "{}/{action}: {body}", b.id);
                let entry = finished(body["log_id"].as_str().unwrap()).await;
                assert_eq!(entry["status"], "success", "{}/{action}: {entry}", b.id);
                entry["data"].clone()
            } else {
                assert_eq!(status, 200, "{}/{action}: {body}", b.id);
                assert_eq!(body["status"], "ok");
                body["data"].clone()
            };
            assert!(body["log_id"].as_str().unwrap().starts_with("log-"));
            assert!(shared::catalogue::validate::validate(&a.result, &data).is_empty(), "{}/{action} result {data}", b.id);
            if let Some(status) = a.moves_to {
                assert_eq!(product_state(&cp).await["status"], status.as_str(), "{}/{action}", b.id);
            }
            runs.push(body["log_id"].as_str().unwrap().to_owned());
            ran += 1;
        }
        let state = product_state(&cp).await;
        assert_eq!(state["status"], if b.id == "domain-names" { "active" } else { "terminated" });
        assert!(state["service_identifier"].is_string(), "the create set the service identifier: {state}");
        // Each run's entry is served by the log route, newest first.
        let (status, served) = call(reqwest::Method::GET, &format!("/contract-products/{cp}/logs?limit=200"), &admin_token(), None).await;
        assert_eq!(status, 200, "{served}");
        let served_ids: Vec<&str> = served["items"].as_array().unwrap().iter().map(|i| i["log_id"].as_str().unwrap()).collect();
        let mut expected: Vec<&str> = runs.iter().map(String::as_str).collect();
        expected.reverse();
        assert_eq!(served_ids, expected, "{}: one entry per run, newest first", b.id);
        let logs = log_items(&cp).await;
        assert_eq!(logs.len(), runs.len(), "{}: one entry per run", b.id);
        for entry in &logs {
            assert_eq!(entry["status"], "success");
            let text = entry.to_string();
            for secret in [API_KEY, "Example-passw0rd!"] {
                assert!(!text.contains(secret), "{}: a secret in the log: {text}", b.id);
            }
        }
    }
    // transfer: the other way a domain starts.
    let cp = product("domain-names", &unique("client"), API_KEY).await;
    let a = catalogue().action("domain-names", "transfer").unwrap().1;
    let (status, body) = run(&cp, "domain-names", "transfer", &admin_token(), example(&a.params, &[])).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(finished(body["log_id"].as_str().unwrap()).await["status"], "success");
    assert_eq!(product_state(&cp).await["status"], "active");
    ran += 1;
    assert_eq!(ran, 73);
}

#[tokio::test]
async fn bad_action_requests_are_refused_and_change_nothing() {
    let client = unique("client");
    let cp = product("web-hosting", &client, API_KEY).await;
    let before = product_state(&cp).await;
    let admin = admin_token();
    let cases: Vec<(String, String, Value, u16, &str)> = vec![
        (format!("/contract-products/{}/actions/web-hosting/create-account", unique("missing")), admin.clone(), json!({"params": {}}), 404, "not_found"),
        (format!("/contract-products/{cp}/actions/servers/create-server"), admin.clone(), json!({"params": {}}), 400, "validation_failed"),
        (format!("/contract-products/{cp}/actions/web-hosting/brew-coffee"), admin.clone(), json!({}), 404, "not_found"),
        (format!("/contract-products/{cp}/actions/web-hosting/create-account"), admin.clone(), json!({"params": {"email": "nope", "package_name": 5}}), 400, "validation_failed"),
        (format!("/contract-products/{cp}/actions/web-hosting/create-account"), admin.clone(), json!({"params": {}, "extra": 1}), 400, "validation_failed"),
        (format!("/contract-products/{cp}/actions/web-hosting/create-account"), admin.clone(), json!(["not", "an", "object"]), 400, "validation_failed"),
        (format!("/contract-products/{cp}/actions/web-hosting/unsuspend-account"), admin.clone(), json!({}), 409, "invalid_state"),
        (format!("/contract-products/{cp}/actions/web-hosting/create-account"), client_token(&client), json!({"params": {"email": "a@b.co", "package_name": "x"}}), 403, "forbidden"),
        (format!("/contract-products/{cp}/actions/web-hosting/get-info"), client_token("someone-else"), json!({}), 404, "not_found"),
    ];
    for (path, token, body, status, code) in cases {
        let (got, answer) = call(reqwest::Method::POST, &path, &token, Some(body.clone())).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{path} {body}: {answer}");
        assert!(answer.get("log_id").is_none(), "refused before any run: {answer}");
    }
    let huge = json!({"params": {"email": "a@b.co", "package_name": "x".repeat(300 * 1024)}});
    let (status, answer) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/create-account"), &admin, Some(huge)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
    let (_, answer) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/create-account"), &admin, Some(json!({"params": {"email": "nope"}}))).await;
    let fields: Vec<&str> = answer["error"]["details"]["fields"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["package_name", "email"], "every failing field is named");
    assert_eq!(product_state(&cp).await, before, "nothing changed");
    assert!(log_items(&cp).await.is_empty(), "nothing was logged");
    let (status, _) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/get-info"), "", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_failed_setup_is_logged_with_its_error_and_marks_the_product_failed() {
    let cp = product("software-licenses", &unique("client"), "invalid").await;
    let a = catalogue().action("software-licenses", "create-license").unwrap().1;
    let (status, body) = run(&cp, "software-licenses", "create-license", &admin_token(), example(&a.params, &[])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("provider_error")), "{body}");
    let log_id = body["log_id"].as_str().unwrap();
    assert_eq!(product_state(&cp).await["status"], "failed");
    let logs = log_items(&cp).await;
    assert_eq!(logs.len(), 1);
    assert_eq!((logs[0]["log_id"].as_str(), logs[0]["status"].as_str()), (Some(log_id), Some("error")));
    assert!(logs[0]["message"].as_str().unwrap().contains("authentication failed"));
}

/// The engine in this process, on the e2e stack's tables, and an admin to run it as (cargo lambda
/// watch runs one instance at a time: runs meant to be truly at once need this).
async fn in_process_engine() -> (shared::engine::Engine, shared::domain::actor::Actor) {
    let stack = std::env::var("E2E_STACK").unwrap();
    let tables = shared::adapters::dynamodb::Tables { main: format!("{stack}-main"), logs: format!("{stack}-logs") };
    let secrets = std::sync::Arc::new(shared::secrets::SecretBox::from_env().unwrap());
    let engine = shared::engine::Engine::new(shared::adapters::dynamodb::stores(aws_sdk_dynamodb::Client::new(&aws().await), &tables), secrets);
    (engine, shared::domain::actor::Actor::Caller(shared::domain::actor::Caller::Admin { subject: "e2e".into() }))
}

/// Runs in-process on the engine (cargo lambda watch runs one instance at a time), truly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runs_on_one_product_lose_no_update() {
    let client = unique("client");
    let cp = product("auto-login", &client, API_KEY).await;
    let a = catalogue().action("auto-login", "create").unwrap().1;
    let (status, _) = run(&cp, "auto-login", "create", &admin_token(), example(&a.params, &[])).await;
    assert_eq!(status, 200);
    let version = product_state(&cp).await["version"].as_u64().unwrap();

    let (engine, actor) = in_process_engine().await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (engine, actor, cp) = (engine.clone(), actor.clone(), cp.clone());
        handles.push(tokio::spawn(async move { engine.run(&actor, &cp, "auto-login", "suspend", &json!({})).await }));
    }
    let mut wins = 0;
    let mut logged_failures = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => wins += 1,
            Err(f) => {
                assert!([409, 502].contains(&shared::api::ApiError::from(f.error).status()));
                logged_failures += usize::from(f.log_id.is_some());
            }
        }
    }
    assert!(wins >= 1);
    let state = product_state(&cp).await;
    assert_eq!(state["status"], "suspended");
    assert_eq!(state["version"].as_u64().unwrap(), version + 1, "exactly one run changed the product");
    assert_eq!(log_items(&cp).await.len(), 1 + wins + logged_failures, "every run that reached the provider is logged once");
}

/// Two runs that both reached the provider meet in the store: the later one's change is applied
/// onto the product as the first left it (not refused with a 409 that would send it again), and
/// the provider was asked once per run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_that_meets_a_concurrent_change_applies_its_own_on_top() {
    let (_, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        &admin_token(),
        Some(json!({"name": unique("slowish"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv1.example.net", "latency_ms": 1500}})),
    )
    .await;
    let (_, cp) = call(
        reqwest::Method::POST,
        "/contract-products",
        &admin_token(),
        Some(json!({"client_id": unique("client"), "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg["id"]}})),
    )
    .await;
    let cp = cp["id"].as_str().unwrap().to_owned();
    let (status, made) = run(&cp, "web-hosting", "create-account", &admin_token(), json!({"email": "o@race.example", "domain": "race.example", "package_name": "basic"})).await;
    assert_eq!(status, 200, "{made}");
    let version = product_state(&cp).await["version"].as_u64().unwrap();

    let (engine, actor) = in_process_engine().await;
    // Both read the product before either writes; the provider takes each in turn.
    let first = {
        let (engine, actor, cp) = (engine.clone(), actor.clone(), cp.clone());
        tokio::spawn(async move { engine.run(&actor, &cp, "web-hosting", "change-package", &json!({"params": {"package_name": "gold"}})).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let second = engine.run(&actor, &cp, "web-hosting", "change-package", &json!({"params": {"package_name": "platinum"}})).await;
    let first = first.await.unwrap();
    assert!(first.is_ok(), "{:?}", first.err());
    assert!(second.is_ok(), "the later run is applied, not refused: {:?}", second.err().map(|f| f.error.to_string()));
    let state = product_state(&cp).await;
    assert_eq!(state["provision_fields"]["package_name"], "platinum", "{state}");
    assert_eq!(state["version"].as_u64().unwrap(), version + 2, "both changes were written");
    let changes: Vec<Value> = log_items(&cp).await.into_iter().filter(|e| e["action"] == "change-package").collect();
    assert_eq!(changes.len(), 2, "one entry per run, each sent once");
    assert!(changes.iter().all(|e| e["status"] == "success"), "{changes:?}");
}

/// A long-running action the provider takes a while over: 202, the entry pending "in progress"
/// while the worker re-checks through delayed messages, then success and the status move.
#[tokio::test]
async fn a_slow_long_running_action_is_followed_until_the_provider_finishes() {
    let (status, cfg) =
        call(reqwest::Method::POST, "/provision-configurations", &admin_token(), Some(json!({"name": unique("slow"), "blueprint": "servers", "provider": "demo", "settings": {"async_seconds": 12}})))
            .await;
    assert_eq!(status, 201, "{cfg}");
    let (_, cp) = call(
        reqwest::Method::POST,
        "/contract-products",
        &admin_token(),
        Some(json!({"client_id": unique("client"), "blueprint": "servers", "deployment": {"type": "static", "configuration_id": cfg["id"]}})),
    )
    .await;
    let cp = cp["id"].as_str().unwrap().to_owned();
    let a = catalogue().action("servers", "create-server").unwrap().1;
    let (status, started) = run(&cp, "servers", "create-server", &admin_token(), example(&a.params, &[])).await;
    assert_eq!(status, 202, "{started}");
    let log_id = started["log_id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut saw_in_progress = false;
    let entry = loop {
        // The product is read before the entry: both change in one transaction, so an entry
        // still pending means the product read just before it had not moved either.
        let product_status = product_state(&cp).await["status"].clone();
        let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{log_id}"), &admin_token(), None).await;
        if entry["status"] == "pending" {
            saw_in_progress |= entry["message"].as_str().unwrap_or_default().contains("in progress at the provider");
            assert_eq!(product_status, "pending", "the status moves only when the provider is done");
        } else {
            break entry;
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {entry}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert!(saw_in_progress, "the entry was pending while the provider worked");
    assert_eq!((entry["status"].as_str(), entry["action"].as_str(), entry["data"]["state"].as_str()), (Some("success"), Some("create-server"), Some("running")), "{entry}");
    assert_eq!(product_state(&cp).await["status"], "active");
    let creates = log_items(&cp).await.iter().filter(|l| l["action"] == "create-server").count();
    assert_eq!(creates, 1, "one entry, from pending to success");
}

/// An `http` configuration on a company endpoint (its signing secret never shown back) and a
/// hosting contract product on it.
async fn on_own_endpoint(endpoint: &str, signing: &str, timeout_seconds: u64) -> String {
    let (status, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        &admin_token(),
        Some(json!({"name": unique("own"), "blueprint": "web-hosting", "provider": "http", "settings": { "endpoint_url": endpoint, "signing_secret": signing, "timeout_seconds": timeout_seconds }})),
    )
    .await;
    assert_eq!(status, 201, "{cfg}");
    assert!(!cfg.to_string().contains(signing));
    let (status, cp) = call(
        reqwest::Method::POST,
        "/contract-products",
        &admin_token(),
        Some(json!({"client_id": unique("client"), "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg["id"]}})),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    cp["id"].as_str().unwrap().to_owned()
}

/// The `http` provider end to end: the engine calls the company's own endpoint (here a local
/// server), signed, and records the answer; the signing secret is in no response and no log.
#[tokio::test]
async fn the_http_provider_calls_the_companys_endpoint_signed_and_logs_it() {
    use wiremock::matchers::{header, header_exists, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const SIGNING: &str = "endpoint-signing-Sup3rSecret";
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/create-account"))
        .and(header_exists("x-signature"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": "account made on panel-7",
            "service_identifier": "acme01",
            "data": { "username": "acme01", "domain": "acme.example", "server_hostname": "panel-7.example.net", "package_name": "basic", "suspended": false }
        })))
        .expect(1)
        .mount(&endpoint)
        .await;
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/suspend-account"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({ "error": { "message": "panel-7 is busy" } })))
        .expect(1)
        .mount(&endpoint)
        .await;
    let cp = on_own_endpoint(&endpoint.uri(), SIGNING, 5).await;
    let (status, body) =
        run(&cp, "web-hosting", "create-account", &admin_token(), json!({ "domain": "acme.example", "email": "ops@acme.example", "password": "Pw-for-acme-1!", "package_name": "basic" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "account made on panel-7");
    let state = product_state(&cp).await;
    assert_eq!(state["status"], "active");
    assert_eq!(state["service_identifier"], "acme01");
    // A write the endpoint refuses with a 503 is a provider error, sent once (no retry of writes).
    let (status, body) = run(&cp, "web-hosting", "suspend-account", &admin_token(), json!({})).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("panel-7 is busy"), "{body}");
    assert_eq!(product_state(&cp).await["status"], "active");
    let requests = endpoint.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["params"]["password"], "Pw-for-acme-1!", "the endpoint gets what it needs");
    assert_eq!(sent["service_identifier"], Value::Null);
    let expected = shared::secrets::sign(SIGNING.as_bytes(), &requests[0].body);
    assert_eq!(requests[0].headers.get("x-signature").unwrap().to_str().unwrap(), expected);
    let logs = log_items(&cp).await.to_vec();
    assert_eq!(logs.len(), 2);
    let text = serde_json::to_string(&logs).unwrap();
    assert!(!text.contains("Pw-for-acme-1!") && !text.contains(SIGNING), "{text}");
}

/// A status move whose answer was lost is not sent twice: the next try asks the provider
/// (get-info) first, and a service already gone counts as deleted.
#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_checked_before_it_is_sent_again() {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let endpoint = MockServer::start().await;
    let account = json!({ "username": "lost01", "server_hostname": "panel-7.example.net", "package_name": "basic", "suspended": false });
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/create-account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "message": "made", "service_identifier": "lost01", "data": account })))
        .mount(&endpoint)
        .await;
    // The delete is done, but its answer comes too late.
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/delete-account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "message": "removed", "data": {} })).set_delay(std::time::Duration::from_secs(15)))
        .expect(1)
        .mount(&endpoint)
        .await;
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/get-info"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "error": { "message": "no account lost01" } })))
        .expect(1)
        .mount(&endpoint)
        .await;
    let cp = on_own_endpoint(&endpoint.uri(), "endpoint-signing-Sup3rSecret", 5).await;
    let (status, body) = run(&cp, "web-hosting", "create-account", &admin_token(), json!({ "email": "ops@lost.example", "package_name": "basic" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = run(&cp, "web-hosting", "delete-account", &admin_token(), json!({})).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(product_state(&cp).await["status"], "active");
    let (status, body) = run(&cp, "web-hosting", "delete-account", &admin_token(), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("reconciled"), "{body}");
    assert_eq!(product_state(&cp).await["status"], "terminated");
    // One delete reached the endpoint; the second try only asked.
    let deletes = endpoint.received_requests().await.unwrap().iter().filter(|r| r.headers.get("x-action").unwrap() == "web-hosting/delete-account").count();
    assert_eq!(deletes, 1);
}

/// Secrets an endpoint echoes never come back out: a refusal repeating the new password and the
/// signing secret is answered and logged with both masked, and a login's free-form
/// `post_fields.password` is masked in the log (the caller who asked gets its answer).
#[tokio::test]
async fn secrets_a_provider_echoes_are_scrubbed_from_answers_and_logs() {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const SIGNING: &str = "endpoint-signing-Sup3rSecret";
    let endpoint = MockServer::start().await;
    let account = json!({ "username": "echo01", "server_hostname": "panel-7.example.net", "package_name": "basic", "suspended": false });
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/create-account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "message": "made", "service_identifier": "echo01", "data": account })))
        .mount(&endpoint)
        .await;
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/change-password"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": { "message": format!("refused New-echo-pw-1! under key {SIGNING}") } })))
        .mount(&endpoint)
        .await;
    Mock::given(method("POST"))
        .and(header("x-action", "web-hosting/login-to-control-panel"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "message": "ok", "data": { "login_url": "https://panel-7.example.net/login", "post_fields": { "user": "echo01", "password": "Posted-pw-9!" } } })),
        )
        .mount(&endpoint)
        .await;
    let cp = on_own_endpoint(&endpoint.uri(), SIGNING, 5).await;
    let (status, body) = run(&cp, "web-hosting", "create-account", &admin_token(), json!({ "email": "ops@echo.example", "package_name": "basic" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, refused) = run(&cp, "web-hosting", "change-password", &admin_token(), json!({ "password": "New-echo-pw-1!" })).await;
    assert_eq!(status, 502, "{refused}");
    let text = refused.to_string();
    assert!(!text.contains("New-echo-pw-1!") && !text.contains(SIGNING) && text.contains("********"), "{text}");
    let (status, login) = run(&cp, "web-hosting", "login-to-control-panel", &admin_token(), json!({ "user_ip": "198.51.100.4" })).await;
    assert_eq!(status, 200, "{login}");
    let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", login["log_id"].as_str().unwrap()), &admin_token(), None).await;
    assert_eq!(entry["data"]["post_fields"]["password"], "********", "{entry}");
    let logs = serde_json::to_string(&log_items(&cp).await).unwrap();
    assert!(!logs.contains("New-echo-pw-1!") && !logs.contains(SIGNING) && !logs.contains("Posted-pw-9!"), "{logs}");
}
