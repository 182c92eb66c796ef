//! Real providers of wave 2 end to end through the HTTP API, each against a local double that
//! answers as the vendor documents; every request a double received is sent again to the prism
//! mock made from the vendor's own description, which must accept it.

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::providers::{act, double_saw, foreign_identifier_is_refused, logs_text, product_on, replay_against_spec, status_of};

const OP_PASSWORD: &str = "Op-pw-Sup3rSecret";
const OP_TOKEN: &str = "Op-token-Sup3rSecret";

fn op_ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }))
}

/// An OpenProvider account: its login, as docs.openprovider.com documents it.
async fn openprovider() -> MockServer {
    let op = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/auth/login"))
        .and(body_partial_json(json!({ "username": "reseller", "password": OP_PASSWORD })))
        .respond_with(op_ok(json!({ "token": OP_TOKEN, "reseller_id": 1 })))
        .mount(&op)
        .await;
    op
}

#[tokio::test]
async fn spamexperts_filters_a_domain_signs_its_client_in_and_deletes_it_without_logging_a_password() {
    let op = openprovider().await;
    let domain = format!("{}.example", e2e::unique("shop").to_lowercase().replace(['_', ':'], "-"));
    let domain_path = format!("/v1beta/spam-expert/domains/{domain}");
    Mock::given(method("GET"))
        .and(path(domain_path.as_str()))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "code": 404, "desc": "Domain not found", "data": "" })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&op)
        .await;
    Mock::given(method("GET"))
        .and(path(domain_path.as_str()))
        .respond_with(op_ok(json!({ "id": 77, "domain_name": domain, "is_active": true, "products": { "incoming": true, "outgoing": false, "archiving": true }, "user_password": "Filter-pw-9" })))
        .mount(&op)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/spam-expert/domains"))
        .and(body_partial_json(json!({ "domain_name": domain, "products": { "incoming": true, "archiving": true } })))
        .respond_with(op_ok(json!({ "success": true })))
        .expect(1)
        .mount(&op)
        .await;
    Mock::given(method("POST")).and(path("/v1beta/spam-expert/generate-login-url")).respond_with(op_ok(json!({ "url": "https://filter.antispamcloud.com/?authticket=Ticket-1" }))).mount(&op).await;
    Mock::given(method("DELETE")).and(path(domain_path.as_str())).respond_with(op_ok(json!({ "success": true }))).expect(1).mount(&op).await;
    let cp = product_on("auto-login", "spamexperts", json!({ "username": "reseller", "password": OP_PASSWORD, "api_url": op.uri() }), OP_PASSWORD).await;
    let (status, made) = act(&cp, "auto-login", "create", json!({ "user_id": "u-1", "service_identifier": domain, "package_identifier": "incoming+archiving" })).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["data"]["username"].as_str(), made["data"]["package_identifier"].as_str()), (Some(domain.as_str()), Some("incoming+archiving")));
    assert_eq!(status_of(&cp).await["service_identifier"], domain.as_str());
    foreign_identifier_is_refused(&cp, "auto-login", "login", json!({ "username": "victim.example" }), "username").await;
    assert!(!double_saw(&op, "victim.example").await, "OpenProvider was never asked about another domain");
    let (status, login) = act(&cp, "auto-login", "login", json!({})).await;
    assert_eq!(status, 200, "{login}");
    assert!(login["data"]["url"].as_str().unwrap().contains("authticket"));
    let (status, refused) = act(&cp, "auto-login", "suspend", json!({})).await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = act(&cp, "auto-login", "terminate", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("spam-expert/domains"), "the exchanges are logged");
    for secret in [OP_PASSWORD, OP_TOKEN, "Filter-pw-9"] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
    replay_against_spec(&op, "PRISM_OPENPROVIDER_URL").await;
}

#[tokio::test]
async fn openprovider_licenses_buys_changes_suspends_reissues_and_deletes_a_plesk_licence() {
    let op = openprovider().await;
    let licence = |items: &[&str], status: &str| {
        json!({ "key_id": 880_001, "key_number": "PLSK.88000100.0000", "activation_code": "A00B00-TEST01-TEST02", "status": status, "items": items,
            "period": 1, "product": "plesk", "expiration_date": "2026-12-30", "title": "Shop Ltd" })
    };
    Mock::given(method("GET")).and(path("/v1beta/licenses/plesk")).respond_with(op_ok(json!({ "results": [], "total": 0 }))).mount(&op).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/licenses/plesk"))
        .and(body_partial_json(json!({ "items": ["PLESK-12-VPS-WEB-HOST-1M"], "ip_address_binding": "203.0.113.10" })))
        .respond_with(op_ok(json!({ "key_id": 880_001, "attached_keys": [] })))
        .expect(1)
        .mount(&op)
        .await;
    Mock::given(method("GET")).and(path("/v1beta/licenses/plesk/880001")).respond_with(op_ok(licence(&["PLESK-12-VPS-WEB-HOST-1M"], "ACT"))).mount(&op).await;
    Mock::given(method("PUT")).and(path("/v1beta/licenses/plesk/880001")).respond_with(op_ok(json!({ "success": true }))).mount(&op).await;
    Mock::given(method("POST")).and(path("/v1beta/licenses/hwids/reset/plesk/880001")).respond_with(op_ok(json!({ "success": true }))).expect(1).mount(&op).await;
    Mock::given(method("DELETE")).and(path("/v1beta/licenses/plesk/880001")).respond_with(op_ok(json!({ "success": true }))).expect(1).mount(&op).await;
    let cp = product_on("software-licenses", "openprovider-licenses", json!({ "username": "reseller", "password": OP_PASSWORD, "api_url": op.uri(), "product": "plesk" }), OP_PASSWORD).await;
    let (status, made) = act(
        &cp,
        "software-licenses",
        "create-license",
        json!({ "customer_name": "Jo Doe", "customer_email": "jo@shop.example", "company_name": "Shop Ltd", "package_identifier": "PLESK-12-VPS-WEB-HOST-1M", "ip": "203.0.113.10" }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["data"]["license_key"].as_str(), made["data"]["activation_code"].as_str()), (Some("880001"), Some("A00B00-TEST01-TEST02")));
    assert_eq!(status_of(&cp).await["service_identifier"], "880001");
    // The create looked for a licence marked with this contract product before it bought one.
    let sent = op.received_requests().await.unwrap();
    assert!(sent.iter().any(|r| r.method.as_str() == "GET" && r.url.query().is_some_and(|q| q.contains("title_pattern"))), "looked for the marked licence first");
    foreign_identifier_is_refused(&cp, "software-licenses", "get-usage-data", json!({ "license_key": "990099" }), "license_key").await;
    assert!(!double_saw(&op, "990099").await, "OpenProvider was never asked about another licence");
    let (status, changed) = act(&cp, "software-licenses", "upgrade-downgrade-license", json!({ "package_identifier": "PLESK-12-VPS-WEB-PRO-1M" })).await;
    assert_eq!(status, 200, "{changed}");
    for (action, want) in [("suspend-license", "suspended"), ("unsuspend-license", "active")] {
        let (status, body) = act(&cp, "software-licenses", action, json!({})).await;
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(status_of(&cp).await["status"], want);
    }
    let (status, _) = act(&cp, "software-licenses", "reissue-license", json!({})).await;
    assert_eq!(status, 200);
    let (status, usage) = act(&cp, "software-licenses", "get-usage-data", json!({})).await;
    assert_eq!((status, usage["data"]["usage_data"]["status"].as_str()), (200, Some("ACT")), "{usage}");
    let (status, _) = act(&cp, "software-licenses", "terminate-license", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let puts: Vec<Value> = op.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "PUT").map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(puts, [json!({ "key_id": 880_001, "items": ["PLESK-12-VPS-WEB-PRO-1M"] }), json!({ "key_id": 880_001, "suspended": true }), json!({ "key_id": 880_001, "suspended": false })]);
    let text = logs_text(&cp).await;
    assert!(!text.contains(OP_PASSWORD) && !text.contains(OP_TOKEN), "no credential in the log");
    replay_against_spec(&op, "PRISM_OPENPROVIDER_URL").await;
}

const LN_TOKEN: &str = "Ln-token-Sup3rSecret";

#[tokio::test]
async fn linode_creates_a_linode_follows_it_through_its_events_and_runs_its_life() {
    let ln = MockServer::start().await;
    let linode = |status: &str| {
        json!({ "id": 5151, "label": "web-1", "status": status, "created": "2026-11-23T10:00:00", "updated": "2026-11-23T10:00:00", "region": "us-east", "type": "g6-standard-2",
            "image": "linode/ubuntu24.04", "ipv4": ["203.0.113.51"], "specs": { "disk": 81920, "memory": 4096, "vcpus": 2, "transfer": 4000 }, "tags": [] })
    };
    let events = |status: &str| json!({ "data": [{ "id": 1, "action": "linode_create", "status": status, "entity": { "id": 5151, "type": "linode", "label": "web-1" }, "message": null }], "page": 1, "pages": 1, "results": 1 });
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let auth = format!("Bearer {LN_TOKEN}");
    // No Linode carries this product's tag yet: the create makes one.
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances"))
        .and(wiremock::matchers::header_exists("x-filter"))
        .respond_with(ok(json!({ "data": [], "page": 1, "pages": 1, "results": 0 })))
        .expect(1)
        .mount(&ln)
        .await;
    Mock::given(method("POST"))
        .and(path("/v4/linode/instances"))
        .and(wiremock::matchers::header("authorization", auth.as_str()))
        .and(body_partial_json(json!({ "label": "web-1", "region": "us-east", "type": "g6-standard-2", "image": "linode/ubuntu24.04", "booted": true })))
        .respond_with(ok(linode("provisioning")))
        .expect(1)
        .mount(&ln)
        .await;
    // Followed: provisioning while linode_create runs, then running once it finished.
    Mock::given(method("GET")).and(path("/v4/linode/instances/5151")).respond_with(ok(linode("provisioning"))).up_to_n_times(1).with_priority(1).mount(&ln).await;
    Mock::given(method("GET")).and(path("/v4/account/events")).respond_with(ok(events("started"))).up_to_n_times(1).with_priority(1).mount(&ln).await;
    Mock::given(method("GET")).and(path("/v4/account/events")).respond_with(ok(events("finished"))).mount(&ln).await;
    Mock::given(method("GET")).and(path("/v4/linode/instances/5151")).respond_with(ok(linode("running"))).with_priority(5).mount(&ln).await;
    for name in ["boot", "shutdown", "password"] {
        Mock::given(method("POST")).and(path(format!("/v4/linode/instances/5151/{name}"))).respond_with(ok(json!({}))).mount(&ln).await;
    }
    Mock::given(method("POST"))
        .and(path("/v4/linode/instances/5151/reboot"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "errors": [{ "reason": "Linode busy." }] })))
        .mount(&ln)
        .await;
    Mock::given(method("DELETE")).and(path("/v4/linode/instances/5151")).respond_with(ok(json!({}))).expect(1).mount(&ln).await;

    let cp = product_on("servers", "linode", json!({ "api_token": LN_TOKEN, "api_url": format!("{}/v4", ln.uri()) }), LN_TOKEN).await;
    let (status, started) =
        act(&cp, "servers", "create-server", json!({ "email": "o@example.com", "label": "web-1", "location": "us-east", "image": "linode/ubuntu24.04", "size": "g6-standard-2" })).await;
    assert_eq!(status, 202, "{started}");
    let generated = started["data"]["metadata"]["root_password"].as_str().map(str::to_owned);
    let entry = crate::providers::settled(started["log_id"].as_str().unwrap()).await;
    assert_eq!((entry["status"].as_str(), entry["data"]["state"].as_str()), (Some("success"), Some("running")), "{entry}");
    let state = status_of(&cp).await;
    assert_eq!((state["status"].as_str(), state["service_identifier"].as_str()), (Some("active"), Some("5151")));
    foreign_identifier_is_refused(&cp, "servers", "get-info", json!({ "instance_id": "31337" }), "instance_id").await;
    assert!(!double_saw(&ln, "31337").await, "Linode was never asked about another server");
    let (status, ssh) = act(&cp, "servers", "get-connection", json!({})).await;
    assert_eq!((status, ssh["data"]["command"].as_str()), (200, Some("ssh root@203.0.113.51")), "{ssh}");
    let (status, on) = act(&cp, "servers", "power-on", json!({})).await;
    assert_eq!(status, 200, "{on}");
    // The password: Linode's shutdown first (the double reports the Linode offline from then on).
    Mock::given(method("GET")).and(path("/v4/linode/instances/5151")).respond_with(ok(linode("offline"))).with_priority(2).mount(&ln).await;
    let (status, reset) = act(&cp, "servers", "change-root-password", json!({ "root_password": "Chosen-Root-pw-1!" })).await;
    assert_eq!(status, 200, "{reset}");
    let posts: Vec<String> = ln.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").map(|r| r.url.path().rsplit('/').next().unwrap().to_owned()).collect();
    assert!(posts.ends_with(&["password".to_owned()]), "an offline Linode gets the password at once: {posts:?}");
    crate::providers::assert_failed_cleanly(&cp, "servers", "reboot", json!({}), 502, "Linode refused post-reboot-linode-instance: Linode busy.").await;
    let sent_before = ln.received_requests().await.unwrap().len();
    let (status, refused) = act(&cp, "servers", "suspend", json!({})).await;
    assert_eq!((status, refused["error"]["message"].as_str()), (400, Some("servers/suspend is not supported by linode")), "{refused}");
    assert_eq!(ln.received_requests().await.unwrap().len(), sent_before);
    let (status, _) = act(&cp, "servers", "terminate", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("/account/events"), "the events read while following are in the logs");
    assert!(!text.contains(LN_TOKEN) && !text.contains("Chosen-Root-pw-1!"), "no token, no password in any log");
    if let Some(g) = generated {
        assert!(!text.contains(&g), "the generated password is not in the log's exchanges");
    }
    replay_against_spec(&ln, "PRISM_LINODE_URL").await;
}

const GW_KEY: &str = include_str!("../../shared/tests/fixtures/rsa-test-key.pem");
const GW_ACCESS: &str = "ya29.Access-Sup3rSecret";

#[tokio::test]
async fn google_workspace_sells_a_subscription_with_its_first_admin_and_runs_its_life() {
    let g = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let domain = format!("{}.example", e2e::unique("gw").to_lowercase().replace(['_', ':'], "-"));
    let subscription = |status: &str, seats: u32| {
        json!({ "kind": "reseller#subscription", "customerId": "C0gw1", "subscriptionId": "S777", "skuId": "1010020027", "customerDomain": domain,
            "plan": { "planName": "FLEXIBLE", "isCommitmentPlan": false }, "seats": { "maximumNumberOfSeats": seats, "licensedNumberOfSeats": 1 }, "status": status })
    };
    Mock::given(method("POST")).and(path("/token")).respond_with(ok(json!({ "access_token": GW_ACCESS, "expires_in": 3599, "token_type": "Bearer" }))).mount(&g).await;
    let customer_path = format!("/apps/reseller/v1/customers/{domain}");
    Mock::given(method("GET"))
        .and(path(customer_path.as_str()))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "error": { "code": 404, "message": "Resource not found", "errors": [{ "reason": "notFound" }] } })))
        .mount(&g)
        .await;
    let customer = json!({ "kind": "reseller#customer", "customerId": "C0gw1", "customerDomain": domain, "resourceUiUrl": "https://admin.google.com/gw/AdminHome" });
    Mock::given(method("POST")).and(path("/apps/reseller/v1/customers")).respond_with(ok(customer.clone())).expect(1).mount(&g).await;
    Mock::given(method("GET")).and(path("/apps/reseller/v1/customers/C0gw1")).respond_with(ok(customer)).mount(&g).await;
    Mock::given(method("POST")).and(path("/apps/reseller/v1/customers/C0gw1/subscriptions")).respond_with(ok(subscription("ACTIVE", 5))).expect(1).mount(&g).await;
    Mock::given(method("POST")).and(path("/admin/directory/v1/users")).respond_with(ok(json!({ "id": "u1" }))).expect(1).mount(&g).await;
    Mock::given(method("POST")).and(path(format!("/admin/directory/v1/users/admin@{domain}/makeAdmin"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&g).await;
    let sub = "/apps/reseller/v1/customers/C0gw1/subscriptions/S777";
    Mock::given(method("GET")).and(path(sub)).respond_with(ok(subscription("ACTIVE", 5))).mount(&g).await;
    Mock::given(method("POST"))
        .and(path(format!("{sub}/changeSeats")))
        .and(body_partial_json(json!({ "maximumNumberOfSeats": 8 })))
        .respond_with(ok(subscription("ACTIVE", 8)))
        .expect(1)
        .mount(&g)
        .await;
    Mock::given(method("POST")).and(path(format!("{sub}/suspend"))).respond_with(ok(subscription("SUSPENDED", 8))).expect(1).mount(&g).await;
    Mock::given(method("POST")).and(path(format!("{sub}/activate"))).respond_with(ok(subscription("ACTIVE", 8))).expect(1).mount(&g).await;
    Mock::given(method("DELETE")).and(path(sub)).respond_with(ResponseTemplate::new(204)).expect(1).mount(&g).await;
    let settings = json!({ "service_account_email": "provisioner@reseller.iam.gserviceaccount.com", "private_key": GW_KEY, "reseller_admin_email": "admin@reseller.example",
        "api_url": g.uri(), "token_url": format!("{}/token", g.uri()) });
    let cp = product_on("office-tools", "google-workspace", settings, "BEGIN PRIVATE KEY").await;
    let billing = json!({ "amount": 30, "currency": "GBP" });
    let (status, made) = act(
        &cp,
        "office-tools",
        "create",
        json!({ "domain": domain, "customer_id": "c-1", "customer_email": "jo@elsewhere.example", "plan": "1010020027", "seat_count": 5, "customer_name": "Jo Doe", "country_code": "GB",
            "billing": billing, "metadata": { "postal_code": "N1 1AA" } }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let admin_password = made["data"]["metadata"]["admin_password"].as_str().expect("the first admin's password, once").to_owned();
    assert_eq!(status_of(&cp).await["service_identifier"], "C0gw1/S777");
    foreign_identifier_is_refused(&cp, "office-tools", "get-info", json!({ "service_id": "Cvictim/S1", "customer_id": "c-1" }), "service_id").await;
    assert!(!double_saw(&g, "Cvictim").await, "Google was never asked about another customer");
    let (status, login) = act(&cp, "office-tools", "login", json!({})).await;
    assert_eq!((status, login["data"]["url"].as_str()), (200, Some("https://admin.google.com/gw/AdminHome")), "{login}");
    let (status, changed) = act(&cp, "office-tools", "change-package", json!({ "domain": domain, "plan": "1010020027", "seat_count": 8, "billing": billing })).await;
    assert_eq!((status, changed["data"]["seat_count"].as_i64()), (200, Some(8)), "{changed}");
    for (action, want) in [("suspend", "suspended"), ("unsuspend", "active")] {
        let (status, body) = act(&cp, "office-tools", action, json!({})).await;
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(status_of(&cp).await["status"], want);
    }
    let (status, _) = act(&cp, "office-tools", "terminate", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("subscriptions"), "the exchanges are logged");
    for secret in [GW_ACCESS, "BEGIN PRIVATE KEY", admin_password.as_str()] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
    let tokens = g.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/token").count();
    assert!(tokens <= 2, "the token is kept per warm instance ({tokens} fetched)");
}

const MG_KEY: &str = "Mg-key-Sup3rSecret";

#[tokio::test]
async fn marketgoo_makes_an_seo_account_signs_its_client_in_and_runs_its_life() {
    let mg = MockServer::start().await;
    let domain = format!("{}.example", e2e::unique("seo").to_lowercase().replace(['_', ':'], "-"));
    let uuid = "3abbef06969603f910293d20ff2797b24fc0cc02";
    let account = json!({ "id": uuid, "type": "account", "attributes": { "uuid": uuid, "product": "evolution", "domain": domain, "name": "Jo Doe", "email": "jo@shop.example", "deleted_at": null } });
    let list = |accounts: Value| ResponseTemplate::new(200).set_body_json(json!({ "data": accounts, "meta": { "total_items": 1, "total_pages": 1 } }));
    // None yet: the create makes it; every later call finds it by its domain.
    Mock::given(method("GET")).and(path("/api/accounts")).respond_with(list(json!([]))).up_to_n_times(2).with_priority(1).mount(&mg).await;
    Mock::given(method("GET")).and(path("/api/accounts")).and(wiremock::matchers::query_param("filter[domain]", domain.as_str())).respond_with(list(json!([account.clone()]))).mount(&mg).await;
    Mock::given(method("POST"))
        .and(path("/api/accounts"))
        .and(wiremock::matchers::header("x-auth-token", MG_KEY))
        .and(body_partial_json(json!({ "data": { "type": "account", "attributes": { "domain": domain, "product": "evolution", "email": "jo@shop.example" } } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "data": account })))
        .expect(1)
        .mount(&mg)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/accounts/{uuid}/login")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "meta": { "uuid": uuid, "bearer": "eyJ.Bearer-Sup3rSecret" }, "links": { "login": "https://seo.host.example/login?bearer=eyJ.Bearer-Sup3rSecret" } })),
        )
        .mount(&mg)
        .await;
    for name in ["upgrade", "suspend", "resume"] {
        Mock::given(method("PATCH"))
            .and(path(format!("/api/accounts/{uuid}/{name}")))
            .respond_with(ResponseTemplate::new(if name == "upgrade" { 200 } else { 204 }).set_body_json(json!({ "data": account })))
            .expect(1)
            .mount(&mg)
            .await;
    }
    Mock::given(method("DELETE")).and(path(format!("/api/accounts/{uuid}"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&mg).await;
    let cp = product_on("seo", "marketgoo", json!({ "api_url": mg.uri(), "api_key": MG_KEY }), MG_KEY).await;
    let (status, made) =
        act(&cp, "seo", "create", json!({ "customer_id": "c-1", "customer_email": "jo@shop.example", "customer_name": "Jo Doe", "domain": domain, "package_identifier": "evolution" })).await;
    assert_eq!((status, made["data"]["username"].as_str()), (200, Some(uuid)), "{made}");
    assert_eq!(status_of(&cp).await["service_identifier"], domain.as_str());
    foreign_identifier_is_refused(&cp, "seo", "login-to-control-panel", json!({ "domain": "victim.example" }), "domain").await;
    assert!(!double_saw(&mg, "victim.example").await, "marketgoo was never asked about another domain");
    let (status, login) = act(&cp, "seo", "login-to-control-panel", json!({})).await;
    assert_eq!(status, 200, "{login}");
    assert!(login["data"]["url"].as_str().unwrap().starts_with("https://seo.host.example/login"));
    let (status, changed) = act(&cp, "seo", "change-package", json!({ "package_identifier": "pro" })).await;
    assert_eq!(status, 200, "{changed}");
    for (action, want) in [("suspend", "suspended"), ("unsuspend", "active")] {
        let (status, body) = act(&cp, "seo", action, json!({})).await;
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(status_of(&cp).await["status"], want);
    }
    let (status, _) = act(&cp, "seo", "terminate", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("/api/accounts"), "the exchanges are logged");
    assert!(!text.contains(MG_KEY), "the key is never logged");
}

const DUDA_PASSWORD: &str = "Duda-pw-Sup3rSecret";

#[tokio::test]
async fn duda_makes_a_client_account_with_its_site_and_runs_its_life() {
    let d = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    // Before the create nothing is there; after it, the site and account are.
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api/sites/multiscreen/byexternalid/")).respond_with(ok(json!([]))).up_to_n_times(1).with_priority(1).mount(&d).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/api/accounts/cp-[0-9a-f]+$"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error_code": "ResourceNotExist", "message": "Account doesn't exist" })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&d)
        .await;
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api/sites/multiscreen/byexternalid/")).respond_with(ok(json!(["a1b2c3d4"]))).mount(&d).await;
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api/accounts/cp-[0-9a-f]+$")).respond_with(ok(json!({ "account_type": "CUSTOMER" }))).mount(&d).await;
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api/accounts/grant-access/")).respond_with(ok(json!([{ "site_name": "a1b2c3d4" }]))).mount(&d).await;
    let site = |status: &str| ok(json!({ "site_name": "a1b2c3d4", "publish_status": status, "site_default_domain": "shop1.multiscreensite.com", "first_published_date": null }));
    Mock::given(method("GET")).and(path("/api/sites/multiscreen/a1b2c3d4")).respond_with(site("NOT_PUBLISHED_YET")).mount(&d).await;
    Mock::given(method("GET")).and(path("/api/sites/multiscreen/a1b2c3d4/plan")).respond_with(ok(json!({ "planId": 203, "planName": "BUSINESS" }))).mount(&d).await;
    Mock::given(method("POST")).and(path("/api/sites/multiscreen/create")).respond_with(ok(json!({ "site_name": "a1b2c3d4" }))).expect(1).mount(&d).await;
    Mock::given(method("POST")).and(path("/api/accounts/create")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
    Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/api/accounts/cp-[0-9a-f]+/sites/a1b2c3d4/permissions$")).respond_with(ResponseTemplate::new(204)).mount(&d).await;
    Mock::given(method("DELETE")).and(wiremock::matchers::path_regex("^/api/accounts/cp-[0-9a-f]+/sites/a1b2c3d4/permissions$")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
    Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/api/sites/multiscreen/a1b2c3d4/plan/")).respond_with(ok(json!({ "planId": 203 }))).mount(&d).await;
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api/accounts/sso/")).respond_with(ok(json!({ "url": "https://editor.example/home/site/a1b2c3d4?dm_sso=2!tok" }))).mount(&d).await;
    Mock::given(method("DELETE")).and(path("/api/sites/multiscreen/a1b2c3d4")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
    Mock::given(method("DELETE")).and(wiremock::matchers::path_regex("^/api/accounts/cp-[0-9a-f]+$")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
    let cp =
        product_on("website-builders", "duda", json!({ "api_user": "partner1", "api_password": DUDA_PASSWORD, "template_id": 1027437, "api_url": format!("{}/api", d.uri()) }), DUDA_PASSWORD).await;
    let (status, made) = act(
        &cp,
        "website-builders",
        "create-account",
        json!({ "customer_id": "c-1", "customer_name": "Jo Doe", "customer_email": "jo@shop.example", "package_reference": "203", "billing_cycle_months": 12 }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let account = status_of(&cp).await["service_identifier"].as_str().unwrap().to_owned();
    assert!(account.starts_with("cp-") && made["data"]["account_reference"] == account.as_str(), "{made}");
    foreign_identifier_is_refused(&cp, "website-builders", "get-info", json!({ "account_reference": "victim-account" }), "account_reference").await;
    assert!(!double_saw(&d, "victim-account").await, "Duda was never asked about another account");
    let (status, sso) = act(&cp, "website-builders", "manage-website", json!({})).await;
    assert_eq!(status, 200, "{sso}");
    assert!(sso["data"]["login_url"].as_str().unwrap().contains("dm_sso"));
    let (status, changed) = act(&cp, "website-builders", "change-package", json!({ "package_reference": "203", "billing_cycle_months": 12 })).await;
    assert_eq!(status, 200, "{changed}");
    let (status, body) = act(&cp, "website-builders", "suspend-account", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&cp).await["status"], "suspended");
    let (status, body) = act(&cp, "website-builders", "unsuspend-account", json!({ "package_reference": "203", "billing_cycle_months": 12 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&cp).await["status"], "active");
    let (status, _) = act(&cp, "website-builders", "delete-account", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("/sites/multiscreen/create"), "the exchanges are logged");
    assert!(!text.contains(DUDA_PASSWORD), "the password is never logged");
}

const PLESK_KEY: &str = "Plesk-key-Sup3rSecret";

#[tokio::test]
async fn plesk_makes_a_customer_with_its_subscription_and_runs_a_hosting_life() {
    let p = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let client = |status: i64| json!({ "id": 7, "login": "shop01", "name": "Jo Doe", "email": "jo@shop.example", "type": "customer", "status": status });
    // No customer before the create; the customer and its subscription after it.
    Mock::given(method("GET")).and(path("/api/v2/clients")).respond_with(ok(json!([]))).up_to_n_times(1).with_priority(1).mount(&p).await;
    Mock::given(method("GET")).and(path("/api/v2/clients")).and(wiremock::matchers::header("x-api-key", PLESK_KEY)).respond_with(ok(json!([client(0)]))).mount(&p).await;
    Mock::given(method("GET")).and(path("/api/v2/clients/7/domains")).respond_with(ok(json!([{ "id": 31, "name": "shop.example", "base_domain_id": 0, "hosting_type": "virtual" }]))).mount(&p).await;
    Mock::given(method("GET")).and(path("/api/v2/domains/31/status")).respond_with(ok(json!({ "status": "active" }))).mount(&p).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/clients"))
        .and(body_partial_json(json!({ "login": "shop01", "email": "jo@shop.example", "type": "customer" })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 7, "guid": "g-7" })))
        .expect(1)
        .mount(&p)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/domains"))
        .and(body_partial_json(json!({ "name": "shop.example", "hosting_type": "virtual", "owner_client": { "login": "shop01" }, "plan": { "name": "Default Domain" } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 31, "guid": "g-31" })))
        .expect(1)
        .mount(&p)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/cli/subscription/call"))
        .and(body_partial_json(json!({ "params": ["--info"] })))
        .respond_with(ok(json!({ "code": 0, "stdout": "Domain name:    shop.example\nService plan:   Default Domain\n", "stderr": "" })))
        .mount(&p)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/cli/admin/call"))
        .respond_with(ok(json!({ "code": 0, "stdout": "https://plesk.example.net:8443/login?secret=Link1\n", "stderr": "" })))
        .mount(&p)
        .await;
    for to in ["suspend", "activate"] {
        Mock::given(method("PUT")).and(path(format!("/api/v2/clients/7/{to}"))).respond_with(ok(json!({ "status": "success" }))).expect(1).mount(&p).await;
    }
    Mock::given(method("PUT")).and(path("/api/v2/clients/7")).respond_with(ok(json!({ "id": 7, "guid": "g-7" }))).expect(1).mount(&p).await;
    Mock::given(method("DELETE")).and(path("/api/v2/domains/31")).respond_with(ok(json!({ "id": 31, "guid": "g-31" }))).expect(1).mount(&p).await;
    Mock::given(method("DELETE")).and(path("/api/v2/clients/7")).respond_with(ok(json!({ "id": 7, "guid": "g-7" }))).expect(1).mount(&p).await;
    let cp = product_on("web-hosting", "plesk", json!({ "hostname": "plesk.example.net", "api_key": PLESK_KEY, "api_url": format!("{}/api/v2", p.uri()) }), PLESK_KEY).await;
    let (status, made) = act(
        &cp,
        "web-hosting",
        "create-account",
        json!({ "username": "shop01", "domain": "shop.example", "email": "jo@shop.example", "customer_name": "Jo Doe", "package_name": "Default Domain", "password": "Shop-pw-Secret1!" }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["data"]["server_hostname"].as_str(), made["data"]["package_name"].as_str()), (Some("plesk.example.net"), Some("Default Domain")));
    foreign_identifier_is_refused(&cp, "web-hosting", "change-password", json!({ "username": "victim9", "password": "Takeover-pw-1!" }), "username").await;
    assert!(!double_saw(&p, "victim9").await, "Plesk was never asked about another customer");
    let (status, login) = act(&cp, "web-hosting", "login-to-control-panel", json!({ "user_ip": "198.51.100.4" })).await;
    assert_eq!(status, 200, "{login}");
    assert!(login["data"]["login_url"].as_str().unwrap().contains("login?secret="));
    let (status, _) = act(&cp, "web-hosting", "change-password", json!({ "password": "New-pw-Secret2!" })).await;
    assert_eq!(status, 200);
    let (status, suspended) = act(&cp, "web-hosting", "suspend-account", json!({ "reason": "overdue" })).await;
    assert_eq!((status, suspended["data"]["suspended"].as_bool()), (200, Some(true)), "{suspended}");
    assert_eq!(status_of(&cp).await["status"], "suspended");
    let (status, _) = act(&cp, "web-hosting", "unsuspend-account", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = act(&cp, "web-hosting", "delete-account", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("/api/v2/domains"), "the exchanges are logged");
    for secret in [PLESK_KEY, "Shop-pw-Secret1!", "New-pw-Secret2!"] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
}

/// Realtime Register's own catalogue of its API (specs/realtime-register/spec: operations with
/// their method, path, parameters and body fields, `_shared.yaml`'s enums and types), as the
/// requests of its provider are held to it.
struct RtrCatalogue {
    operations: Vec<Value>,
    shared: Value,
}

impl RtrCatalogue {
    fn load() -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/realtime-register/spec");
        let read = |f: &str| -> Value { serde_norway::from_str(&std::fs::read_to_string(dir.join(f)).expect("the catalogue is in specs/")).expect("the catalogue is YAML") };
        let operations = ["domains.yaml", "contacts.yaml", "hosts.yaml", "processes.yaml"].iter().flat_map(|f| read(f)["operations"].as_array().cloned().unwrap_or_default()).collect();
        RtrCatalogue { operations, shared: read("_shared.yaml") }
    }

    /// Why a value does not fit a catalogue field (its type, enum, `fieldsRef` / `itemsRef`).
    fn misfits(&self, field: &Value, value: &Value, at: &str) -> Vec<String> {
        let kind = field["type"].as_str().unwrap_or("any");
        let fits = match kind {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !fits {
            return vec![format!("{at}: {value} is not {kind}")];
        }
        let allowed = field["enum"].as_array().cloned().or_else(|| field["enumRef"].as_str().and_then(|e| self.shared["enums"][e]["values"].as_array().cloned()));
        if let Some(allowed) = allowed.filter(|_| !value.is_array())
            && !allowed.contains(value)
        {
            return vec![format!("{at}: {value} is not one of {allowed:?}")];
        }
        let mut out = Vec::new();
        if let Some(items) = value.as_array() {
            for (i, v) in items.iter().enumerate() {
                let item = match field["itemsRef"].as_str() {
                    Some(t) => json!({ "type": "object", "fieldsRef": t }),
                    None => json!({ "type": field["items"].as_str().unwrap_or("any"), "enumRef": field["enumRef"], "enum": field["enum"] }),
                };
                out.extend(self.misfits(&item, v, &format!("{at}[{i}]")));
            }
        }
        if let (Some(t), Some(o)) = (field["fieldsRef"].as_str(), value.as_object()) {
            out.extend(self.body_misfits(&self.shared["types"][t]["fields"], o, at));
        }
        out
    }

    /// Why a body does not fit the fields: a field not there, a required one missing, a misfit.
    fn body_misfits(&self, fields: &Value, body: &serde_json::Map<String, Value>, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in body {
            match fields.get(k) {
                Some(f) => out.extend(self.misfits(f, v, &format!("{at}.{k}"))),
                None => out.push(format!("{at}: {k} is not a field")),
            }
        }
        for (k, f) in fields.as_object().into_iter().flatten() {
            if f["required"] == true && !body.contains_key(k) {
                out.push(format!("{at}: the required {k} is missing"));
            }
        }
        out
    }

    /// A listing's filter (`field=value`, `field:eq=value`, `field:in=a,b`), which the catalogue
    /// leaves out: held to the filter fields the vendor's page of that listing names
    /// (docs/api/processes/list) and the operators its own WHMCS module uses; a status to the
    /// catalogue's ProcessStatus. None: not a filter of a listing the checker knows.
    fn listing_filter(&self, id: &str, key: &str, value: &str) -> Option<Result<(), String>> {
        let fields: &[&str] = match id {
            "listProcesses" => &["id", "status", "detailStatus", "createdDate", "updatedDate", "startedDate", "type", "identifier", "action", "billableAction"],
            _ => return None,
        };
        let (field, operator) = key.split_once(':').unwrap_or((key, "eq"));
        if !fields.contains(&field) {
            return None;
        }
        if !["eq", "in"].contains(&operator) {
            return Some(Err(format!("{id}: {key}: {operator} is not a filter operator")));
        }
        if field == "status" {
            let statuses = self.shared["enums"]["ProcessStatus"]["values"].as_array().cloned().unwrap_or_default();
            if let Some(wrong) = value.split(',').find(|s| !statuses.contains(&json!(s))) {
                return Some(Err(format!("{id}: {key}={wrong} is not one of {statuses:?}")));
            }
        }
        Some(Ok(()))
    }

    /// The operation a request is, with every query parameter and body field held to it.
    fn conforms(&self, r: &wiremock::Request) -> Result<String, String> {
        let path: Vec<&str> = r.url.path().split('/').collect();
        // The transfer info's process id is optional ("when omitted, the most recent transfer"),
        // though the catalogue writes the path with it.
        let optional_tail = |template: &str| template.strip_suffix("/transfer/{processId}").map(|t| format!("{t}/transfer"));
        for op in &self.operations {
            if op["method"] != r.method.as_str() {
                continue;
            }
            let template = op["path"].as_str().unwrap_or_default();
            let matches = |t: &str| {
                let parts: Vec<&str> = t.split('/').collect();
                parts.len() == path.len() && parts.iter().zip(&path).all(|(p, g)| (p.starts_with('{') && !g.is_empty()) || p == g)
            };
            if !matches(template) && !optional_tail(template).is_some_and(|t| matches(&t)) {
                continue;
            }
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            for (k, v) in r.url.query_pairs() {
                if let Some(filter) = self.listing_filter(&id, &k, &v) {
                    filter?;
                    continue;
                }
                let known = op["queryParams"].as_array().into_iter().flatten().find(|q| q["name"] == k.as_ref()).ok_or_else(|| format!("{id}: {k} is not a query parameter"))?;
                if known["type"] == "integer" && v.parse::<i64>().is_err() {
                    return Err(format!("{id}: {k}={v} is not an integer"));
                }
            }
            let fields = &op["requestBody"]["fields"];
            return match (fields.is_object(), r.body.is_empty()) {
                (_, true) => Ok(id),
                (false, false) => Err(format!("{id} takes no body")),
                (true, false) => {
                    let body: Value = serde_json::from_slice(&r.body).map_err(|e| format!("{id}: the body is not JSON: {e}"))?;
                    let wrong = self.body_misfits(fields, body.as_object().ok_or(format!("{id}: the body is not an object"))?, "body");
                    if wrong.is_empty() { Ok(id) } else { Err(format!("{id}: {wrong:?}")) }
                }
            };
        }
        Err(format!("no operation of the catalogue is {} {}", r.method, r.url.path()))
    }
}

const RTR_KEY: &str = "Rtr-key-Sup3rSecret";

#[tokio::test]
async fn realtime_register_registers_a_domain_runs_its_life_and_every_request_is_in_the_registrars_catalogue() {
    let r = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let sld = e2e::unique("rtr").to_lowercase().replace(['_', ':'], "-");
    let name = format!("{sld}.com");
    let accepted = |id: i64| ResponseTemplate::new(202).insert_header("X-Process-Id", id.to_string().as_str()).set_body_json(json!({ "domainName": name }));
    let domain = |status: &[&str]| {
        json!({ "domainName": name, "registry": "verisign", "customer": "reseller1", "registrant": "pv-reg", "privacyProtect": false, "status": status, "authcode": "Auth-Secret-7",
            "autoRenew": false, "autoRenewPeriod": 12, "ns": ["ns1.host.example", "ns2.host.example"], "createdDate": "2026-11-30T10:00:00Z", "expiryDate": "2027-11-30T10:00:00Z", "premium": false, "gateway": false })
    };
    let domain_path = format!("/v2/domains/{name}");
    Mock::given(method("GET"))
        .and(path(domain_path.as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "type": "ObjectDoesNotExist", "message": "not found" })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&r)
        .await;
    Mock::given(method("GET")).and(path(domain_path.as_str())).respond_with(ok(domain(&["OK"]))).mount(&r).await;
    Mock::given(method("GET")).and(path(format!("{domain_path}/check"))).respond_with(ok(json!({ "available": true }))).mount(&r).await;
    Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/v2/customers/reseller1/contacts/[^/]+$")).respond_with(ResponseTemplate::new(201)).mount(&r).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/v2/customers/reseller1/contacts/"))
        .respond_with(ok(json!({ "name": "Jo Doe", "country": "GB", "email": "jo@shop.com" })))
        .mount(&r)
        .await;
    Mock::given(method("POST"))
        .and(path(domain_path.as_str()))
        .and(wiremock::matchers::header("authorization", format!("ApiKey {RTR_KEY}").as_str()))
        .respond_with(accepted(501))
        .expect(1)
        .mount(&r)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/v2/processes/5[0-9]{2}$"))
        .respond_with(ok(json!({ "id": 501, "status": "COMPLETED", "type": "domain", "action": "create" })))
        .mount(&r)
        .await;
    Mock::given(method("POST")).and(path(format!("{domain_path}/renew"))).respond_with(ok(json!({ "domainName": name, "expiryDate": "2028-11-30T10:00:00Z" }))).expect(1).mount(&r).await;
    Mock::given(method("POST")).and(path(format!("{domain_path}/update"))).respond_with(accepted(502)).mount(&r).await;
    let cp = product_on("domain-names", "realtime-register", json!({ "api_key": RTR_KEY, "customer": "reseller1", "api_url": r.uri() }), RTR_KEY).await;
    let contact = json!({ "register": { "name": "Jo Doe", "email": "jo@shop.com", "phone": "+442071234567", "address1": "High St 1", "city": "London", "postcode": "N1 1AA", "country_code": "GB" } });
    let (status, made) = act(
        &cp,
        "domain-names",
        "register",
        json!({ "sld": sld, "tld": "com", "renew_years": 1, "registrant": contact, "admin": contact, "tech": contact, "billing": contact,
            "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(status_of(&cp).await["service_identifier"], name.as_str());
    foreign_identifier_is_refused(&cp, "domain-names", "get-epp-code", json!({ "sld": "victim", "tld": "com" }), "sld").await;
    assert!(!double_saw(&r, "victim.com").await, "Realtime Register was never asked about another domain");
    for (action, params) in [
        ("renew", json!({ "renew_years": 1 })),
        ("set-lock", json!({ "lock": true })),
        ("update-nameservers", json!({ "ns1": { "host": "ns1.new.example" }, "ns2": { "host": "ns2.new.example" } })),
        ("get-info", json!({})),
    ] {
        let (status, body) = act(&cp, "domain-names", action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, code) = act(&cp, "domain-names", "get-epp-code", json!({})).await;
    assert_eq!((status, code["data"]["epp_code"].as_str()), (200, Some("Auth-Secret-7")), "the caller gets the code: {code}");
    let text = logs_text(&cp).await;
    assert!(text.contains("/v2/domains/"), "the exchanges are logged");
    for secret in [RTR_KEY, "Auth-Secret-7"] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
    // Every request the provider sent is an operation of the registrar's catalogue, with its
    // parameters, fields and enums.
    let catalogue = RtrCatalogue::load();
    let mut seen = Vec::new();
    for request in r.received_requests().await.unwrap() {
        seen.push(catalogue.conforms(&request).unwrap_or_else(|e| panic!("{e}")));
    }
    for op in ["getDomain", "checkDomain", "createContact", "createDomain", "getProcess", "renewDomain", "updateDomain", "getContact"] {
        assert!(seen.iter().any(|s| s == op), "{op} was not exercised: {seen:?}");
    }
    // The checker refuses what the catalogue does not allow.
    let wrong =
        |m: &str, p: &str, body: &str| wiremock::Request { url: format!("http://r{p}").parse().unwrap(), method: m.parse().unwrap(), headers: Default::default(), body: body.as_bytes().to_vec() };
    assert!(catalogue.conforms(&wrong("POST", "/v2/domains/a.com", r#"{"customer":"c","registrant":"h","period":"12"}"#)).unwrap_err().contains("not integer"));
    assert!(catalogue.conforms(&wrong("POST", "/v2/domains/a.com/update", r#"{"status":["LOCKED"]}"#)).unwrap_err().contains("not one of"));
    assert!(catalogue.conforms(&wrong("POST", "/v2/domains/a.com", r#"{"customer":"c","registrant":"h","contacts":[{"role":"OWNER","handle":"h"}]}"#)).unwrap_err().contains("not one of"));
    assert!(catalogue.conforms(&wrong("POST", "/v2/domains/a.com", r#"{"customer":"c"}"#)).unwrap_err().contains("required registrant"));
    assert!(catalogue.conforms(&wrong("PUT", "/v2/domains/a.com", "")).is_err());
    // The search for a registration still under way (get-info of a domain not here yet), as the
    // provider writes it, is a listing the catalogue allows; a wrong status or field is not.
    let search = shared::providers::realtime_register::unfinished_processes_path("a.com");
    assert_eq!(catalogue.conforms(&wrong("GET", &search, "")), Ok("listProcesses".to_owned()));
    assert!(catalogue.conforms(&wrong("GET", &search.replace("RUNNING", "BUSY"), "")).unwrap_err().contains("not one of"));
    assert!(catalogue.conforms(&wrong("GET", &search.replace("type:eq", "colour:eq"), "")).unwrap_err().contains("not a query parameter"));
}

const PVE_SECRET: &str = "Pve-secret-Sup3rSecret";

#[tokio::test]
async fn proxmox_clones_a_vm_from_its_template_and_runs_its_life() {
    let pve = MockServer::start().await;
    let ok = |data: Value| ResponseTemplate::new(200).set_body_json(json!({ "data": data }));
    let upid = "UPID:pve1:00001A2B:0002C3D4:65A0B1C2:qmclone:9000:provisioning@pve!engine:";
    let status = |s: &str| ok(json!({ "vmid": 4242, "name": "web-1", "status": s, "qmpstatus": s, "cpus": 2, "maxmem": 2_147_483_648u64, "maxdisk": 10_737_418_240u64 }));
    Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu")).respond_with(ok(json!([{ "vmid": 9000, "name": "debian-12", "template": 1 }]))).mount(&pve).await;
    Mock::given(method("GET")).and(path("/api2/json/cluster/nextid")).respond_with(ok(json!("4242"))).expect(1).mount(&pve).await;
    Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/9000/clone")).respond_with(ok(json!(upid))).expect(1).mount(&pve).await;
    Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/api2/json/nodes/pve1/tasks/.+/status$")).respond_with(ok(json!({ "status": "stopped", "exitstatus": "OK" }))).mount(&pve).await;
    Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/4242/status/current")).respond_with(status("stopped")).up_to_n_times(2).with_priority(1).mount(&pve).await;
    Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/4242/status/current")).respond_with(status("running")).mount(&pve).await;
    Mock::given(method("PUT")).and(path("/api2/json/nodes/pve1/qemu/4242/config")).respond_with(ok(Value::Null)).mount(&pve).await;
    for name in ["start", "shutdown", "reboot", "suspend", "resume", "stop"] {
        Mock::given(method("POST")).and(path(format!("/api2/json/nodes/pve1/qemu/4242/status/{name}"))).respond_with(ok(json!(upid))).mount(&pve).await;
    }
    Mock::given(method("DELETE")).and(path("/api2/json/nodes/pve1/qemu/4242")).respond_with(ok(json!(upid))).expect(1).mount(&pve).await;
    let settings = json!({ "api_url": format!("{}/api2/json", pve.uri()), "token_id": "provisioning@pve!engine", "token_secret": PVE_SECRET, "node": "pve1" });
    let cp = product_on("servers", "proxmox", settings, PVE_SECRET).await;
    let (status_code, started) = act(
        &cp,
        "servers",
        "create-server",
        json!({ "email": "o@example.com", "label": "web-1", "location": "pve1", "image": "debian-12", "memory_mb": 2048, "cpu_cores": 2, "disk_mb": 10240, "root_password": "Root-pw-Secret9" }),
    )
    .await;
    assert!(status_code == 200 || status_code == 202, "{started}");
    if status_code == 202 {
        let entry = crate::providers::settled(started["log_id"].as_str().unwrap()).await;
        assert_eq!(entry["status"], "success", "{entry}");
    }
    let state = status_of(&cp).await;
    assert_eq!((state["status"].as_str(), state["service_identifier"].as_str()), (Some("active"), Some("4242")), "{state}");
    foreign_identifier_is_refused(&cp, "servers", "get-info", json!({ "instance_id": "31337" }), "instance_id").await;
    assert!(!double_saw(&pve, "31337").await, "Proxmox was never asked about another VM");
    for (action, want) in [("reboot", "active"), ("suspend", "suspended"), ("unsuspend", "active"), ("shut-down", "active"), ("power-on", "active")] {
        let (code, body) = act(&cp, "servers", action, json!({})).await;
        assert_eq!(code, 200, "{action}: {body}");
        assert_eq!(status_of(&cp).await["status"], want, "{action}");
    }
    let (code, reset) = act(&cp, "servers", "change-root-password", json!({ "root_password": "New-root-pw-2" })).await;
    assert_eq!(code, 200, "{reset}");
    let (code, _) = act(&cp, "servers", "terminate", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(status_of(&cp).await["status"], "terminated");
    let text = logs_text(&cp).await;
    assert!(text.contains("/api2/json/nodes/pve1/qemu/4242"), "the exchanges are logged");
    assert!(text.contains("/api2/json/nodes/pve1/qemu/9000/clone"), "the create's entry keeps its clone request, followed to its end or not");
    for secret in [PVE_SECRET, "Root-pw-Secret9", "New-root-pw-2"] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
}
