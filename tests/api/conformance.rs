//! Conformance of the real providers to the vendors' own API descriptions: every action each
//! supports is run against a prism mock server made from the vendor's spec (specs/), which
//! refuses any request the spec does not allow (a wrong path, method, content type, missing or
//! mistyped field: 4xx). Every exchange of every action must be accepted.

use std::sync::Arc;

use serde_json::{Value, json};
use shared::catalogue::catalogue;
use shared::domain::ids::ConfigurationId;
use shared::providers::blueprints::Implementation;
use shared::providers::{Connect, ProviderCall, ProviderFailure, ProviderOutput, hetzner, openprovider, provider};

fn prism(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: the conformance tests run against the prism servers `make test` starts"))
}

/// Runs one action (for a contract product when `product` is given); answers what it did and
/// every exchange.
async fn run(
    implementation: &Implementation,
    blueprint: &str,
    action: &str,
    settings: &Value,
    params: Value,
    identifier: Option<&str>,
    product: Option<&str>,
) -> (Result<ProviderOutput, ProviderFailure>, Vec<Value>) {
    let (b, a) = catalogue().action(blueprint, action).unwrap();
    let id = ConfigurationId::parse("cfg-conformance").unwrap();
    let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings, params: &params, service_identifier: identifier, following: None, contract_product_id: product };
    let out = implementation.run(call).await;
    let debug = match &out {
        Ok(o) => o.debug.clone(),
        Err(f) => f.debug.clone(),
    };
    (out, debug)
}

/// Every exchange answered 2xx by prism; the action's result fits its schema.
fn assert_conforms(provider_id: &str, action: &str, out: &Result<ProviderOutput, ProviderFailure>, debug: &[Value]) {
    assert!(!debug.is_empty(), "{provider_id} {action}: no request was sent ({:?})", out.as_ref().err().map(|f| &f.message));
    for exchange in debug {
        let status = exchange["response"]["status"].as_u64().unwrap_or(0);
        assert!((200..300).contains(&status), "{provider_id} {action}: the spec refused a request: {exchange}");
    }
}

/// Every exchange of a call that is not an action answered 2xx by prism.
fn assert_accepted(provider_id: &str, what: &str, debug: &[Value]) {
    assert!(!debug.is_empty(), "{provider_id} {what}: no request was sent");
    for exchange in debug {
        let status = exchange["response"]["status"].as_u64().unwrap_or(0);
        assert!((200..300).contains(&status), "{provider_id} {what}: the spec refused a request: {exchange}");
    }
}

#[tokio::test]
async fn hetzner_cloud_requests_conform_to_hetzners_openapi_description() {
    let settings = json!({ "api_token": "conformance-token", "api_url": prism("PRISM_HETZNER_URL"), "ssh_keys": "ops-key" });
    let hz = Implementation::Servers(Arc::new(hetzner::HetznerCloud::new()));
    let id = json!({ "instance_id": "42" });
    let with = |extra: Value| {
        let mut p = id.clone();
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        p
    };
    let cases: Vec<(&str, Value)> = vec![
        ("create-server", json!({ "email": "o@example.com", "label": "web-1", "location": "fsn1", "image": "ubuntu-24.04", "size": "cpx22", "root_password": "Root-pw-1" })),
        ("create-server", json!({ "email": "o@example.com", "label": "web-2", "location": "fsn1", "image": "ubuntu-24.04", "memory_mb": 2048, "cpu_cores": 2, "disk_mb": 40960 })),
        ("get-info", id.clone()),
        ("reinstall-server", with(json!({ "image": "debian-12", "root_password": "Root-pw-2" }))),
        ("resize-server", with(json!({ "size": "cpx32", "resize_running": true }))),
        ("get-connection", id.clone()),
        ("change-root-password", with(json!({ "root_password": "Root-pw-3" }))),
        ("power-on", id.clone()),
        ("shut-down", id.clone()),
        ("reboot", id.clone()),
        ("terminate", id.clone()),
    ];
    // The mock does refuse what the spec does not allow: a create without its image, a body on a
    // bodiless action.
    let client = reqwest::Client::new();
    let url = prism("PRISM_HETZNER_URL");
    let bad = client.post(format!("{url}/servers")).bearer_auth("t").json(&json!({ "name": "x", "server_type": "cpx22" })).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let bad = client.post(format!("{url}/servers/42/actions/poweron")).bearer_auth("t").json(&json!({})).send().await.unwrap();
    assert_eq!(bad.status(), 415);
    let spec = provider("servers", hetzner::ID).unwrap();
    for a in &spec.supported_actions {
        assert!(cases.iter().any(|(c, _)| c == a), "{a} has no conformance case");
    }
    for (action, params) in cases {
        // The second create is for a contract product: it looks for a server labelled with it first.
        let product = (action == "create-server" && params["label"] == "web-2").then_some("cp-conformance-1");
        let (out, debug) = run(&hz, "servers", action, &settings, params, Some("42"), product).await;
        assert_conforms(hetzner::ID, action, &out, &debug);
        if let Err(f) = &out {
            // Prism answers every action "running" and every server "running": only the resize of
            // a server that never stops may end short of the change.
            assert!(action == "resize-server" && f.message.contains("powering off"), "{action}: {}", f.message);
        }
    } // Listing the project's servers for a bulk import: the spec takes its query.
    let cfg = ConfigurationId::parse("cfg-conformance").unwrap();
    let listing = hetzner::HetznerCloud::new().list_services("servers", &cfg, &settings, Some("2")).await.expect("listed");
    assert_accepted(hetzner::ID, "list_servers", &listing.debug);
}

#[tokio::test]
async fn openprovider_requests_conform_to_openproviders_swagger_description() {
    let settings = json!({ "username": "reseller", "password": "conformance-pw", "api_url": prism("PRISM_OPENPROVIDER_URL"), "default_customer_handle": "XX123456-XX" });
    let op = Implementation::DomainNames(Arc::new(openprovider::OpenProvider::new()));
    let d = json!({ "sld": "shop", "tld": "com" });
    let with = |extra: Value| {
        let mut p = d.clone();
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        p
    };
    let contact = json!({ "register": { "name": "Jo Doe", "organisation": "Shop Ltd", "email": "jo@shop.com", "phone": "+44.2071234567", "address1": "High St 1", "city": "London", "state": "London", "postcode": "N1 1AA", "country_code": "GB" } });
    let cases: Vec<(&str, Value)> = vec![
        (
            "register",
            with(
                json!({ "renew_years": 1, "whois_privacy": true, "registrant": contact, "admin": { "id": "XX123456-XX" }, "tech": contact, "billing": contact, "nameservers": { "ns1": { "host": "ns1.host.example", "ip": "192.0.2.53" }, "ns2": { "host": "ns2.host.example" } } }),
            ),
        ),
        ("transfer", with(json!({ "epp_code": "Epp-code-1", "registrant": contact }))),
        ("renew", with(json!({ "renew_years": 2 }))),
        ("sync-due-date", d.clone()),
        ("get-info", d.clone()),
        ("set-lock", with(json!({ "lock": false }))),
        ("update-nameservers", with(json!({ "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example", "ip": "2001:db8::53" } }))),
        ("update-registrant", with(json!({ "contact": contact["register"] }))),
        ("update-registrant-with-default-details", d.clone()),
        ("get-epp-code", d.clone()),
        ("get-verification-status", d.clone()),
        ("resend-verification-email", d.clone()),
        ("set-glue-record", with(json!({ "hostname": "ns1.shop.com", "ip_1": "192.0.2.1", "ip_2": "2001:db8::1" }))),
        ("remove-glue-record", with(json!({ "hostname": "ns1.shop.com" }))),
    ];
    // Prism's check answers every name "active" (taken), so the register stops before its
    // CreateDomain: that request, as register builds it, is sent here.
    let register = &cases[0].1;
    let handles = [Some("XX123456-XX".to_owned()), Some("XX123456-XX".to_owned()), Some("XX123456-XX".to_owned()), Some("XX123456-XX".to_owned())];
    let register: shared::providers::params::Register = serde_json::from_value(register.clone()).expect("register's params");
    let body = openprovider::create_domain_request(&register, handles, true);
    let sent = reqwest::Client::new().post(format!("{}/v1beta/domains", prism("PRISM_OPENPROVIDER_URL"))).bearer_auth("token").json(&body).send().await.unwrap();
    assert!(sent.status().is_success(), "the spec refused CreateDomain {body}: {:?}", sent.headers().get("sl-violations"));
    let spec = provider("domain-names", openprovider::ID).unwrap();
    for a in &spec.supported_actions {
        assert!(cases.iter().any(|(c, _)| c == a), "{a} has no conformance case");
    }
    for (action, params) in cases {
        let (out, debug) = run(&op, "domain-names", action, &settings, params, Some("shop.com"), Some("cp-conformance-2")).await;
        assert_conforms(openprovider::ID, action, &out, &debug);
        if let Err(f) = &out {
            // Prism's examples report the example domain "in use" to a check.
            assert!(action == "register" && f.message.contains("cannot be registered"), "{action}: {}", f.message);
        }
    } // Listing the account's domains for a bulk import: the spec takes its query.
    let cfg = ConfigurationId::parse("cfg-conformance").unwrap();
    let listing = openprovider::OpenProvider::new().list_services("domain-names", &cfg, &settings, Some("100")).await.expect("listed");
    assert_accepted(openprovider::ID, "ListDomains", &listing.debug);
}
