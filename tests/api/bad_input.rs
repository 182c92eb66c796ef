//! The bad-input catalogue: more than fifty malformed, oversized, unauthorised or hostile
//! requests over every kind of route. Each gets its status and the JSON error shape; afterwards
//! nothing they aimed at has changed and nothing was created or queued.

use e2e::{admin_token, api_url, call, claims, client_token, http, token, unique};
use reqwest::Method;
use serde_json::{Value, json};
use shared::api::auth::sign_hs256;
use shared::domain::actor::Role;
use shared::domain::time::now_epoch;
use shared::secrets::sign;

/// One raw request: method, path, bearer (None: no header), content, expected status.
struct Case {
    method: Method,
    path: String,
    bearer: Option<String>,
    body: Option<Vec<u8>>,
    signature: Option<String>,
    status: u16,
}

fn case(method: Method, path: &str, bearer: Option<String>, body: Option<Vec<u8>>, status: u16) -> Case {
    Case { method, path: path.to_owned(), bearer, body, signature: None, status }
}

async fn send(c: &Case) -> (u16, Value) {
    let mut r = http().request(c.method.clone(), format!("{}{}", api_url(), c.path));
    if let Some(b) = &c.bearer {
        r = r.header("authorization", format!("Bearer {b}"));
    }
    if let Some(s) = &c.signature {
        r = r.header("x-signature", s);
    }
    if let Some(b) = &c.body {
        r = r.header("content-type", "application/json").body(b.clone());
    }
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    e2e::record(&text);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn j(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

#[tokio::test]
async fn the_bad_input_catalogue_is_refused_and_changes_nothing() {
    let admin = admin_token();
    // Things the cases aim at, and their state before.
    let (_, cfg) = call(
        Method::POST,
        "/provision-configurations",
        Some(&admin),
        Some(json!({"name": unique("target"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net"}})),
    )
    .await;
    let cfg_id = cfg["id"].as_str().unwrap().to_owned();
    let owner = unique("owner");
    let (_, cp) =
        call(Method::POST, "/contract-products", Some(&admin), Some(json!({"client_id": owner, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg_id}}))).await;
    let cp_id = cp["id"].as_str().unwrap().to_owned();
    let (_, cfg_before) = call(Method::GET, &format!("/provision-configurations/{cfg_id}"), Some(&admin), None).await;
    let (_, cp_before) = call(Method::GET, &format!("/contract-products/{cp_id}"), Some(&admin), None).await;
    let marker = unique("never-made");

    let mut expired = claims(Role::Admin, None);
    expired.exp = now_epoch() - 120;
    let forged = sign_hs256(b"a-forged-secret-that-is-32-bytes-long!", &claims(Role::Admin, None));
    let mut no_aud = claims(Role::Admin, None);
    no_aud.aud = String::new();
    let other = client_token(&unique("other"));
    let own = client_token(&owner);
    let big = vec![b'x'; 300 * 1024];
    let action = |a: &str| format!("/contract-products/{cp_id}/actions/web-hosting/{a}");
    let cfg_path = format!("/provision-configurations/{cfg_id}");
    let create_cfg = |v: Value| j(v);

    let mut cases = vec![
        // tokens
        case(Method::GET, "/blueprints", None, None, 401),
        case(Method::GET, "/blueprints", Some("".into()), None, 401),
        case(Method::GET, "/blueprints", Some("not.a.token".into()), None, 401),
        case(Method::GET, "/blueprints", Some(token(&expired)), None, 401),
        case(Method::GET, "/blueprints", Some(forged.clone()), None, 401),
        case(Method::GET, "/blueprints", Some(token(&no_aud)), None, 401),
        case(Method::GET, "/blueprints", Some(token(&claims(Role::Client, None))), None, 401),
        case(Method::POST, "/provision-configurations", Some(forged.clone()), create_cfg(json!({"name": marker})), 401),
        // roles
        case(Method::POST, "/provision-configurations", Some(own.clone()), create_cfg(json!({"name": marker, "blueprint": "seo", "provider": "demo", "settings": {}})), 403),
        case(Method::PATCH, &cfg_path, Some(own.clone()), j(json!({"name": "x"})), 403),
        case(Method::DELETE, &cfg_path, Some(own.clone()), None, 403),
        case(Method::POST, "/products", Some(own.clone()), j(json!({})), 403),
        case(Method::POST, "/contract-products", Some(own.clone()), j(json!({})), 403),
        case(Method::POST, "/contract-products/import", Some(own.clone()), j(json!({"configuration_id": cfg_id, "service_identifier": "x", "client_id": owner})), 403),
        case(Method::POST, &action("suspend-account"), Some(own.clone()), j(json!({})), 403),
        case(Method::POST, &action("unsuspend-account"), Some(admin.clone()), j(json!({})), 409),
        case(Method::POST, &action("get-info"), Some(other.clone()), j(json!({})), 404),
        case(Method::GET, &format!("/contract-products/{cp_id}"), Some(other.clone()), None, 404),
        case(Method::GET, "/logs", Some(own.clone()), None, 403),
        case(Method::GET, "/event-handlers", Some(own.clone()), None, 403),
        // malformed JSON and wrong types
        case(Method::POST, "/provision-configurations", Some(admin.clone()), Some(b"{".to_vec()), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), Some(b"[]".to_vec()), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), Some(b"null".to_vec()), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), Some(b"\"text\"".to_vec()), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": 5, "blueprint": "seo", "provider": "demo", "settings": {}})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": marker, "blueprint": ["seo"], "provider": "demo", "settings": {}})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": marker, "blueprint": "seo", "provider": "demo", "settings": []})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": marker, "blueprint": "seo", "provider": "demo", "settings": {}, "enabled": "true"})), 400),
        // missing and extra fields
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"blueprint": "seo", "provider": "demo", "settings": {}})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": marker, "blueprint": "seo", "provider": "demo", "settings": {}, "id": "cfg-mine"})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": marker, "blueprint": "web-hosting", "provider": "demo", "settings": {}})), 400),
        case(
            Method::POST,
            "/provision-configurations",
            Some(admin.clone()),
            create_cfg(json!({"name": marker, "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "srv.example.net", "extra": 1}})),
            400,
        ),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), j(json!({"blueprint": "seo"})), 400),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), j(json!({"settings": {"server_hostname": null}})), 400),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), j(json!({"limits": {"max_concurrency": 0}})), 400),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), j(json!({"limits": {"requests_per_second": "fast"}})), 400),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), j(json!({"limits": {"breaker_failures": -1, "extra": 1}})), 400),
        case(Method::POST, "/products", Some(admin.clone()), j(json!({"name": marker, "blueprint": "web-hosting"})), 400),
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"blueprint": "web-hosting"})), 400),
        case(Method::POST, "/contract-products/import", Some(admin.clone()), j(json!({"configuration_id": cfg_id, "client_id": owner})), 400),
        case(Method::GET, &format!("/provision-configurations/{cfg_id}/services?unknown=maybe"), Some(admin.clone()), None, 400),
        case(Method::GET, &format!("/provision-configurations/{cfg_id}/services?cursor=%00"), Some(admin.clone()), None, 400),
        case(Method::GET, "/provision-configurations/cfg-none/services", Some(admin.clone()), None, 404),
        case(Method::GET, "/provision-configurations/cfg-none/drift", Some(admin.clone()), None, 404),
        case(Method::GET, &format!("/provision-configurations/{cfg_id}/drift"), Some(own.clone()), None, 403),
        case(Method::GET, &format!("/provision-configurations/{cfg_id}/services"), Some(own.clone()), None, 403),
        case(Method::POST, &format!("/provision-configurations/{cfg_id}/import"), Some(admin.clone()), j(json!({"services": []})), 400),
        case(Method::POST, &format!("/provision-configurations/{cfg_id}/import"), Some(admin.clone()), j(json!({"services": [{"service_identifier": "x"}]})), 400),
        case(Method::POST, "/provision-configurations/cfg-none/import", Some(admin.clone()), j(json!({"services": [{"service_identifier": "x", "client_id": owner}]})), 404),
        case(Method::POST, "/contract-products/import", Some(admin.clone()), j(json!({"configuration_id": "cfg-none", "service_identifier": "x", "client_id": owner})), 400),
        case(Method::POST, "/contract-products/import", Some(admin.clone()), j(json!({"configuration_id": cfg_id, "service_identifier": "no-such-account", "client_id": owner, "id": marker})), 400),
        case(Method::POST, "/contract-products/import", Some(admin.clone()), j(json!({"configuration_id": cfg_id, "service_identifier": "x", "client_id": owner, "extra": 1})), 400),
        // bulk actions: a selection of neither or both kinds, an unknown action or param, a
        // filter of another blueprint, an id that is not one, a client, unknown jobs
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {}})), 400),
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"ids": [cp_id], "filter": {}}})), 400),
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "take-over", "selection": {"ids": [cp_id]}})), 400),
        case(
            Method::POST,
            "/bulk-actions",
            Some(admin.clone()),
            j(json!({"blueprint": "web-hosting", "action": "suspend-account", "params": {"username": marker, "bogus": 1}, "selection": {"ids": [cp_id]}})),
            400,
        ),
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"filter": {"blueprint": "seo"}}})), 400),
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"ids": ["../etc"]}})), 400),
        case(Method::POST, "/bulk-actions", Some(admin.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"ids": []}})), 400),
        case(Method::POST, "/bulk-actions", Some(own.clone()), j(json!({"blueprint": "web-hosting", "action": "suspend-account", "selection": {"ids": [cp_id]}})), 403),
        case(Method::GET, "/bulk-actions?limit=0", Some(admin.clone()), None, 400),
        case(Method::GET, "/bulk-actions?cursor=eyJrIjp7InBrIjoib3RoZXIifX0", Some(admin.clone()), None, 400),
        case(Method::GET, "/bulk-actions/bulk-none?status=lost", Some(admin.clone()), None, 400),
        case(Method::GET, "/bulk-actions/bulk-none", Some(admin.clone()), None, 404),
        case(Method::POST, "/bulk-actions/bulk-none/cancel", Some(admin.clone()), None, 404),
        case(Method::POST, "/bulk-actions/bulk-none/resume", Some(admin.clone()), None, 404),
        case(Method::POST, &action("create-account"), Some(admin.clone()), j(json!({"params": {"email": "a@b.co"}})), 400),
        case(Method::POST, &action("create-account"), Some(admin.clone()), j(json!({"params": {"email": "a@b.co", "package_name": "p", "bogus": true}})), 400),
        case(Method::POST, &action("create-account"), Some(admin.clone()), j(json!({"parameters": {}})), 400),
        case(Method::POST, &action("create-account"), Some(admin.clone()), j(json!({"params": "email=a@b.co"})), 400),
        // oversized
        case(Method::POST, "/provision-configurations", Some(admin.clone()), Some(big.clone()), 413),
        case(Method::POST, &action("create-account"), Some(admin.clone()), Some(big.clone()), 413),
        case(Method::PATCH, &cfg_path, Some(admin.clone()), Some(big.clone()), 413),
        // injection strings and path traversal in identifiers
        case(Method::GET, "/provision-configurations/..%2F..%2Fetc%2Fpasswd", Some(admin.clone()), None, 404),
        case(Method::GET, "/contract-products/%27%20OR%201%3D1%20--", Some(admin.clone()), None, 404),
        case(Method::GET, "/contract-products/%3Cscript%3Ealert(1)%3C%2Fscript%3E", Some(admin.clone()), None, 404),
        case(Method::GET, "/logs/log-%00", Some(admin.clone()), None, 404),
        case(Method::POST, "/contract-products/x%2F..%2Fy/actions/web-hosting/get-info", Some(admin.clone()), j(json!({})), 404),
        case(Method::GET, "/contract-products?client_id=%27%20OR%20%271%27%3D%271", Some(admin.clone()), None, 400),
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": "../../etc", "client_id": "c", "blueprint": "web-hosting"})), 400),
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": "a'; DROP TABLE x; --", "client_id": "c", "blueprint": "web-hosting"})), 400),
        case(Method::GET, &format!("/contract-products/{cp_id}/logs?action=%27OR%271"), Some(admin.clone()), None, 400),
        case(Method::GET, &format!("/contract-products/{cp_id}/logs?cursor=eyJrIjp7InBrIjoib3RoZXIifX0"), Some(admin.clone()), None, 400),
        // unicode edge cases
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": "ünïcödé", "client_id": "c", "blueprint": "web-hosting"})), 400),
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": "a\u{202e}b", "client_id": "c", "blueprint": "web-hosting"})), 400),
        case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"client_id": "c\u{0}", "blueprint": "web-hosting"})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": "", "blueprint": "seo", "provider": "demo", "settings": {}})), 400),
        case(Method::POST, "/provision-configurations", Some(admin.clone()), create_cfg(json!({"name": "名".repeat(101), "blueprint": "seo", "provider": "demo", "settings": {}})), 400),
        case(Method::GET, "/blueprints/%F0%9F%98%80", Some(admin.clone()), None, 404),
        // unknown routes and methods
        case(Method::PUT, "/provision-configurations", Some(admin.clone()), j(json!({})), 405),
        case(Method::DELETE, "/contract-products", Some(admin.clone()), None, 405),
        case(Method::GET, &action("get-info"), Some(admin.clone()), None, 405),
        case(Method::PUT, "/no/such/route", Some(admin.clone()), j(json!({})), 404),
        // bodies that are not UTF-8: the function answers them, as behind API Gateway
        case(Method::POST, "/contract-products", Some(admin.clone()), Some(vec![0xff, 0xfe, b'{']), 400),
        case(Method::POST, &action("suspend-account"), Some(admin.clone()), Some(vec![b'{', 0xc3, 0x28, b'}']), 400),
        case(Method::POST, "/contract-products", None, Some(vec![0xff]), 401),
        case(Method::PUT, "/products", Some(admin.clone()), Some(vec![0x80, 0x81]), 405),
        case(Method::POST, "/webhooks/billing", None, Some(vec![0xff, 0xff]), 401),
    ];
    // trust boundaries: identifiers come from the contract product, never from a caller
    cases.push(case(Method::POST, &action("get-info"), Some(own.clone()), j(json!({"params": {"username": "someone-else"}})), 400));
    cases.push(case(Method::POST, &action("change-password"), Some(own.clone()), j(json!({"params": {"username": "someone-else", "password": "Takeover-1!"}})), 400));
    cases.push(case(Method::POST, &action("suspend-account"), Some(admin.clone()), j(json!({"params": {"username": "someone-else"}})), 400));
    // a contract product may not take an id of the engine's own partitions
    cases.push(case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": format!("configuration:{cfg_id}"), "client_id": owner, "blueprint": "web-hosting"})), 400));
    // a masked secret is not a value
    cases.push(case(
        Method::POST,
        "/contract-products",
        Some(admin.clone()),
        j(json!({"id": marker, "client_id": owner, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg_id}, "provision_fields": {"password": "********"}})),
        400,
    ));
    cases.push(case(
        Method::POST,
        "/provision-configurations",
        Some(admin.clone()),
        create_cfg(json!({"name": marker, "blueprint": "web-hosting", "provider": "cpanel", "settings": {"hostname": "whm.example.net", "whm_username": "root", "api_key": "********"}})),
        400,
    ));
    // what the store cannot keep: refused before anything is sent
    let mut deep = json!("leaf");
    for _ in 0..20 {
        deep = json!({ "a": deep });
    }
    cases.push(case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": marker, "client_id": owner, "blueprint": "web-hosting", "provision_fields": {"extra": deep}})), 400));
    cases.push(case(Method::POST, "/contract-products", Some(admin.clone()), j(json!({"id": marker, "client_id": owner, "blueprint": "web-hosting", "provision_fields": {"quota": 1e300}})), 400));
    // moving where a configuration's credentials go needs them again (a cPanel configuration)
    let (_, whm) = call(
        Method::POST,
        "/provision-configurations",
        Some(&admin),
        Some(json!({"name": unique("whm"), "blueprint": "web-hosting", "provider": "cpanel", "settings": {"hostname": "whm.example.net", "whm_username": "root", "api_key": "WHM-token-Sup3rSecret"}})),
    )
    .await;
    let whm_path = format!("/provision-configurations/{}", whm["id"].as_str().unwrap());
    let (_, whm_before) = call(Method::GET, &whm_path, Some(&admin), None).await;
    cases.push(case(Method::PATCH, &whm_path, Some(admin.clone()), j(json!({"settings": {"hostname": "attacker.example"}})), 400));
    cases.push(case(Method::PATCH, &whm_path, Some(admin.clone()), j(json!({"settings": {"hostname": "attacker.example", "api_key": "********"}})), 400));
    cases.push(case(Method::PATCH, &whm_path, Some(admin.clone()), j(json!({"settings": {"api_url": "https://attacker.example:2087"}})), 400));
    // event handlers: no private, metadata or plain-http address; no Lambda function outside the stack's
    for target in [
        json!({"type": "url", "url": "http://hooks.example.com/x"}),
        json!({"type": "url", "url": "https://user:pw@hooks.example.com/x"}),
        json!({"type": "lambda", "function": "arn:aws:lambda:eu-west-1:123456789012:function:payroll"}),
    ] {
        cases.push(case(Method::POST, "/event-handlers", Some(admin.clone()), j(json!({"name": marker, "event": "contract_product.activated", "target": target})), 400));
    }
    // webhooks: signatures
    let event = json!({"id": marker, "type": "invoice.paid", "contract_product_id": cp_id, "occurred_at": "2026-11-23T06:00:00Z"}).to_string();
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "local-webhook-secret".into());
    for (signature, status) in [
        (None, 401),
        (Some("sha256=".to_string()), 401),
        (Some("sha1=abcd".to_string()), 401),
        (Some(sign(b"wrong", event.as_bytes())), 401),
        (Some(sign(secret.as_bytes(), b"another body")), 401),
        (Some(sign(secret.as_bytes(), event.as_bytes()).to_uppercase()), 401),
    ] {
        cases.push(Case { method: Method::POST, path: "/webhooks/billing".into(), bearer: None, body: Some(event.clone().into_bytes()), signature, status });
    }
    // webhooks: an unknown type, an event naming the service it acts on, an id SQS cannot
    // deduplicate on, data the store cannot keep, a masked secret
    for bad_event in [
        json!({"id": marker, "type": "invoice.burned", "contract_product_id": cp_id, "occurred_at": "x"}),
        json!({"id": marker, "type": "invoice.overdue", "contract_product_id": cp_id, "occurred_at": "2026-11-23T06:00:00Z", "data": {"params": {"username": "someone-else"}}}),
        json!({"id": format!("{marker} with spaces"), "type": "invoice.paid", "contract_product_id": cp_id, "occurred_at": "2026-11-23T06:00:00Z"}),
        json!({"id": marker, "type": "invoice.paid", "contract_product_id": cp_id, "occurred_at": "2026-11-23T06:00:00Z", "data": {"params": {"extra": deep}}}),
        json!({"id": marker, "type": "invoice.paid", "contract_product_id": cp_id, "occurred_at": "2026-11-23T06:00:00Z", "data": {"params": {"amount": 1e300}}}),
        json!({"id": marker, "type": "order.paid", "contract_product_id": format!("{marker}-new"), "occurred_at": "2026-11-23T06:00:00Z", "data": {"product_id": "prd-x", "client_id": owner, "provision_fields": {"password": "********"}}}),
    ] {
        let bad_event = bad_event.to_string();
        cases.push(Case {
            method: Method::POST,
            path: "/webhooks/billing".into(),
            bearer: None,
            signature: Some(sign(secret.as_bytes(), bad_event.as_bytes())),
            body: Some(bad_event.into_bytes()),
            status: 400,
        });
    }
    assert!(cases.len() >= 50, "{} cases", cases.len());

    for c in &cases {
        let (status, body) = send(c).await;
        assert_eq!(status, c.status, "{} {}: {body}", c.method, c.path);
        if status >= 400 {
            assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{} {}: not the error shape: {body}", c.method, c.path);
            assert!(body.get("log_id").is_none(), "{} {}: refused before any run", c.method, c.path);
        }
    }

    // Nothing they aimed at changed; nothing was made or queued.
    let (_, cfg_after) = call(Method::GET, &format!("/provision-configurations/{cfg_id}"), Some(&admin), None).await;
    assert_eq!(cfg_after, cfg_before);
    let (_, cp_after) = call(Method::GET, &format!("/contract-products/{cp_id}"), Some(&admin), None).await;
    assert_eq!(cp_after, cp_before);
    let (_, whm_after) = call(Method::GET, &whm_path, Some(&admin), None).await;
    assert_eq!(whm_after, whm_before, "the configuration did not move");
    let (_, handlers) = call(Method::GET, "/event-handlers", Some(&admin), None).await;
    assert!(!handlers.to_string().contains(&marker), "no handler was made");
    let (_, listed) = call(Method::GET, "/provision-configurations", Some(&admin), None).await;
    assert!(!listed.to_string().contains(&marker), "no configuration was made");
    let (_, logs) = call(Method::GET, &format!("/contract-products/{cp_id}/logs"), Some(&admin), None).await;
    assert_eq!(logs["items"], json!([]), "no action ran");
    let (status, _) = call(Method::GET, &format!("/lifecycle-events/{marker}"), Some(&admin), None).await;
    assert_eq!(status, 404, "no event was claimed or queued");
    let (_, jobs) = call(Method::GET, "/bulk-actions?limit=200", Some(&admin), None).await;
    assert!(!jobs.to_string().contains(&cp_id), "no bulk action was made");
}
