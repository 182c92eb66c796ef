//! Products and contract products over HTTP: static and dynamic deployment, inheritance from a
//! product, caller-given ids, usage counting, and a client scoped to its own services.

use e2e::{admin_token, client_token, unique};
use serde_json::{Value, json};

async fn call(method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    e2e::call(method, path, Some(token).filter(|t| !t.is_empty()), body).await
}

async fn post(path: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, path, &admin_token(), Some(body)).await
}

async fn get(path: &str) -> Value {
    let (status, body) = call(reqwest::Method::GET, path, &admin_token(), None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A fresh enabled demo configuration of a blueprint, optionally its default.
async fn configuration(blueprint: &str, default: bool) -> String {
    let settings = if blueprint == "web-hosting" { json!({"server_hostname": "srv.example.net"}) } else { json!({}) };
    let body = json!({"name": unique("cfg"), "blueprint": blueprint, "provider": "demo", "default_for_blueprint": default, "settings": settings});
    let (status, c) = post("/provision-configurations", body).await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_contract_product_inherits_from_its_product_and_explicit_fields_win() {
    let cfg = configuration("web-hosting", false).await;
    let (status, product) = post(
        "/products",
        json!({"name": "Starter hosting", "blueprint": "web-hosting", "provider": "demo",
               "deployment": {"type": "static", "configuration_id": cfg},
               "provision_fields": {"package_name": "starter", "location": "eu"}}),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["setup_action"], "create-account", "the blueprint's create action by default");
    let product_id = product["id"].as_str().unwrap();
    assert_eq!(get(&format!("/products/{product_id}")).await, product);

    let billing_id = unique("whmcs:service");
    let client = unique("client");
    let (status, cp) = post(
        "/contract-products",
        json!({"id": billing_id, "client_id": client, "product_id": product_id, "service_identifier": "alice01",
               "provision_fields": {"package_name": "pro"}}),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    assert_eq!(cp["id"], billing_id.as_str());
    assert_eq!((cp["status"].as_str(), cp["blueprint"].as_str(), cp["provider"].as_str()), (Some("pending"), Some("web-hosting"), Some("demo")));
    assert_eq!(cp["provision_configuration_id"], cfg.as_str());
    assert_eq!(cp["deployment"], "static");
    assert_eq!(cp["provision_fields"], json!({"package_name": "pro", "location": "eu"}));
    assert_eq!(cp["setup_action"], "create-account");

    // The same id again is a conflict, and nothing changes.
    let (status, again) = post("/contract-products", json!({"id": billing_id, "client_id": client, "product_id": product_id})).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");

    // The configuration counts its users (product + contract product) and cannot be removed.
    assert_eq!(get(&format!("/provision-configurations/{cfg}")).await["usage_count"], 2);
    let (status, _) = call(reqwest::Method::DELETE, &format!("/provision-configurations/{cfg}"), &admin_token(), None).await;
    assert_eq!(status, 409);

    // The owner reads it and lists it; another client gets 404 and may not list someone else's.
    let owner = client_token(&client);
    let (status, mine) = call(reqwest::Method::GET, &format!("/contract-products/{billing_id}"), &owner, None).await;
    assert_eq!((status, &mine), (200, &cp));
    let (status, list) = call(reqwest::Method::GET, "/contract-products", &owner, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([cp]));
    let other = client_token(&unique("client"));
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products/{billing_id}"), &other, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products?client_id={client}"), &other, None).await;
    assert_eq!(status, 403);
    assert_eq!(get(&format!("/contract-products?client_id={client}")).await["items"], json!([cp]));
}

#[tokio::test]
async fn dynamic_deployment_picks_the_enabled_default_or_says_there_is_none() {
    // seo: its own blueprint here, so no other test moves its default.
    let (status, none) = post("/contract-products", json!({"client_id": "c-1", "blueprint": "seo", "deployment": {"type": "dynamic"}})).await;
    assert_eq!((status, none["error"]["code"].as_str()), (409, Some("conflict")), "{none}");
    assert!(none["error"]["message"].as_str().unwrap().contains("no default provision configuration for blueprint seo"));

    let cfg = configuration("seo", true).await;
    let (status, cp) = post("/contract-products", json!({"client_id": "c-1", "blueprint": "seo", "deployment": {"type": "dynamic"}})).await;
    assert_eq!(status, 201, "{cp}");
    assert_eq!((cp["provision_configuration_id"].as_str(), cp["deployment"].as_str()), (Some(cfg.as_str()), Some("dynamic")));
    assert!(cp["id"].as_str().unwrap().starts_with("cp-"), "an id is made when none is given");

    let (status, _) = call(reqwest::Method::PATCH, &format!("/provision-configurations/{cfg}"), &admin_token(), Some(json!({"enabled": false}))).await;
    assert_eq!(status, 200);
    let (status, disabled) = post("/contract-products", json!({"client_id": "c-1", "blueprint": "seo"})).await;
    assert_eq!((status, disabled["error"]["code"].as_str()), (409, Some("conflict")), "{disabled}");
}

#[tokio::test]
async fn bad_products_and_contract_products_are_refused_and_change_nothing() {
    let client = unique("client");
    let cfg = configuration("servers", false).await;
    let cases = [
        ("/products", json!({"name": "x", "blueprint": "servers", "deployment": {"type": "static"}}), "deployment.configuration_id"),
        ("/products", json!({"name": "x", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg}}), "deployment.configuration_id"),
        ("/products", json!({"name": "x", "blueprint": "servers", "deployment": {"type": "dynamic"}, "setup_action": "reboot"}), "setup_action"),
        ("/products", json!({"name": "x", "blueprint": "servers", "deployment": {"type": "sometimes"}}), "deployment.type"),
        ("/contract-products", json!({"client_id": client, "blueprint": "servers", "id": "bad id!"}), "id"),
        ("/contract-products", json!({"client_id": client}), "blueprint"),
        ("/contract-products", json!({"client_id": client, "product_id": "prd-missing"}), "product_id"),
        ("/contract-products", json!({"client_id": "no spaces allowed", "blueprint": "servers"}), "client_id"),
        ("/contract-products", json!({"client_id": client, "blueprint": "servers", "provider": "aws"}), "provider"),
    ];
    for (path, body, named) in cases {
        let (status, answer) = post(path, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["error"]["details"]["fields"].get(named).is_some(), "{body} should name {named}: {answer}");
    }
    assert_eq!(get(&format!("/contract-products?client_id={client}")).await["items"], json!([]));
    assert_eq!(get(&format!("/provision-configurations/{cfg}")).await["usage_count"], 0);
    let (status, _) = call(reqwest::Method::GET, "/contract-products?limit=0", &admin_token(), None).await;
    assert_eq!(status, 400);
    let (status, _) = call(reqwest::Method::POST, "/products", &client_token(&client), Some(json!({}))).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn admins_page_through_every_contract_product_newest_first() {
    let cfg = configuration("website-builders", false).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let (status, cp) = post("/contract-products", json!({"client_id": unique("client"), "blueprint": "website-builders", "deployment": {"type": "static", "configuration_id": cfg}})).await;
        assert_eq!(status, 201);
        made.push(cp["id"].as_str().unwrap().to_owned());
    }
    // Other tests make contract products meanwhile: walk every page and check ours are there,
    // newest first, with no entry twice.
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => get(&format!("/contract-products?limit=2&cursor={c}")).await,
            None => get("/contract-products?limit=2").await,
        };
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique_seen = seen.clone();
    unique_seen.sort();
    unique_seen.dedup();
    assert_eq!(unique_seen.len(), seen.len(), "no entry twice");
    let position = |id: &str| seen.iter().position(|s| s == id).unwrap_or_else(|| panic!("{id} not listed"));
    assert!(position(&made[2]) < position(&made[1]) && position(&made[1]) < position(&made[0]), "newest first");
    let first = get("/contract-products?limit=1").await;
    let next = first["next_cursor"].as_str().unwrap();
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products?client_id=someone&cursor={next}"), &admin_token(), None).await;
    assert_eq!(status, 400, "a cursor of another listing");
}

#[tokio::test]
async fn a_product_changes_and_moves_its_configuration_usage() {
    let a = configuration("servers", false).await;
    let b = configuration("servers", false).await;
    let (_, product) = post("/products", json!({"name": "VPS", "blueprint": "servers", "deployment": {"type": "static", "configuration_id": a}, "provision_fields": {"location": "fsn1"}})).await;
    let id = product["id"].as_str().unwrap();
    assert_eq!(get(&format!("/provision-configurations/{a}")).await["usage_count"], 1);
    let patch = json!({"name": "VPS large", "deployment": {"type": "static", "configuration_id": b}, "provision_fields": {"location": null, "image": "debian-12"}});
    let (status, changed) = call(reqwest::Method::PATCH, &format!("/products/{id}"), &admin_token(), Some(patch)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((changed["name"].as_str(), changed["version"].as_u64()), (Some("VPS large"), Some(2)));
    assert_eq!(changed["provision_fields"], json!({"image": "debian-12"}));
    assert_eq!(get(&format!("/provision-configurations/{a}")).await["usage_count"], 0);
    assert_eq!(get(&format!("/provision-configurations/{b}")).await["usage_count"], 1);
    let (status, _) = call(reqwest::Method::PATCH, &format!("/products/{id}"), &admin_token(), Some(json!({"setup_action": "reboot"}))).await;
    assert_eq!(status, 400);
    assert_eq!(get(&format!("/products/{id}")).await, changed, "a refused change changes nothing");
    let (status, _) = call(reqwest::Method::PATCH, "/products/prd-nope", &admin_token(), Some(json!({}))).await;
    assert_eq!(status, 404);
}

/// Secret provision fields (a password a product or an admin sets) are stored sealed and shown
/// masked to admins and clients alike; the create action still gets the value itself, and a
/// masked value sent back to a product keeps the stored one.
#[tokio::test]
async fn secret_provision_fields_are_sealed_and_masked_but_reach_the_provider() {
    let cfg = configuration("web-hosting", false).await;
    let (status, product) = post(
        "/products",
        json!({"name": "Managed hosting", "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg},
               "provision_fields": {"package_name": "starter", "password": "Pf-Sealed-Secret1!"}}),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["provision_fields"], json!({"package_name": "starter", "password": "********"}));
    let product_id = product["id"].as_str().unwrap();
    let (status, changed) = call(reqwest::Method::PATCH, &format!("/products/{product_id}"), &admin_token(), Some(json!({"provision_fields": {"password": "********", "package_name": "pro"}}))).await;
    assert_eq!((status, changed["provision_fields"].clone()), (200, json!({"package_name": "pro", "password": "********"})), "{changed}");
    let client = unique("client");
    let (status, cp) = post("/contract-products", json!({"client_id": client, "product_id": product_id})).await;
    assert_eq!(status, 201, "{cp}");
    assert_eq!(cp["provision_fields"]["password"], "********");
    let cp_id = cp["id"].as_str().unwrap();
    let (_, seen) = call(reqwest::Method::GET, &format!("/contract-products/{cp_id}"), &client_token(&client), None).await;
    assert_eq!(seen["provision_fields"], json!({"package_name": "pro", "password": "********"}), "{seen}");
    // The create runs with the opened password (the demo's schema check would refuse a sealed one).
    let (status, made) = call(
        reqwest::Method::POST,
        &format!("/contract-products/{cp_id}/actions/web-hosting/create-account"),
        &admin_token(),
        Some(json!({"params": {"email": "o@sealed.example", "domain": "sealed.example"}})),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", made["log_id"].as_str().unwrap()), &admin_token(), None).await;
    assert_eq!(entry["params"]["password"], "********", "{entry}");
}

/// No two contract products of one configuration act on one service: a second product naming a
/// service identifier the first holds is a 409, and so is a billing order naming it.
#[tokio::test]
async fn a_service_identifier_belongs_to_one_contract_product_of_a_configuration() {
    let cfg = configuration("web-hosting", false).await;
    let (status, first) =
        post("/contract-products", json!({"client_id": unique("client"), "blueprint": "web-hosting", "service_identifier": "held01", "deployment": {"type": "static", "configuration_id": cfg}})).await;
    assert_eq!(status, 201, "{first}");
    let (status, second) =
        post("/contract-products", json!({"client_id": unique("client"), "blueprint": "web-hosting", "service_identifier": "held01", "deployment": {"type": "static", "configuration_id": cfg}})).await;
    assert_eq!((status, second["error"]["code"].as_str()), (409, Some("conflict")), "{second}");
    // Another configuration's product may hold the same name (another server).
    let other = configuration("web-hosting", false).await;
    let (status, elsewhere) =
        post("/contract-products", json!({"client_id": unique("client"), "blueprint": "web-hosting", "service_identifier": "held01", "deployment": {"type": "static", "configuration_id": other}}))
            .await;
    assert_eq!(status, 201, "{elsewhere}");
}

/// An admin fills in a provision field and saves it (seed 003): set field by field, a mask keeps
/// the stored secret, null removes a field, the change is logged on the product without values,
/// and a later action runs with what was saved. A client may not; bad bodies change nothing.
#[tokio::test]
async fn an_admin_edits_provision_fields_and_the_change_is_logged() {
    let cfg = configuration("web-hosting", false).await;
    let (status, cp) = post(
        "/contract-products",
        json!({"client_id": unique("client"), "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg},
               "provision_fields": {"package_name": "starter", "location": "eu", "password": "Pf-Sealed-Secret1!"}}),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let id = cp["id"].as_str().unwrap().to_owned();
    let path = format!("/contract-products/{id}");
    let patch = |body: Value, token: String| {
        let path = path.clone();
        async move { call(reqwest::Method::PATCH, &path, &token, Some(body)).await }
    };

    let (status, changed) = patch(json!({"provision_fields": {"package_name": "business", "location": null, "password": "********", "email": "owner@example.com"}}), admin_token()).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["provision_fields"]["package_name"], "business");
    assert!(changed["provision_fields"].get("location").is_none(), "{changed}");
    assert_eq!(changed["provision_fields"]["password"], "********", "still masked, still there");
    assert_eq!(changed["version"], cp["version"].as_u64().unwrap() + 1);
    let (_, logs) = call(reqwest::Method::GET, &format!("{path}/logs?action=update-provision-fields"), &admin_token(), None).await;
    let entry = &logs["items"][0];
    assert_eq!(entry["actor"]["role"], "admin", "{logs}");
    let mut fields: Vec<&str> = entry["data"]["changed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["email", "location", "package_name"], "the mask changed nothing");
    assert!(!entry.to_string().contains("business"), "no values in the entry: {entry}");

    // The create runs with what was saved.
    let (status, created) = call(reqwest::Method::POST, &format!("{path}/actions/web-hosting/create-account"), &admin_token(), Some(json!({"params": {"domain": "saved.example.com"}}))).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["package_name"], "business", "{created}");

    // Nothing changed: no new version. Refused: a client, a non-object, an unknown field, a mask with nothing behind it.
    let before = get(&path).await;
    let (status, same) = patch(json!({"provision_fields": {"package_name": "business"}}), admin_token()).await;
    assert_eq!((status, same["version"].clone()), (200, before["version"].clone()));
    let owner = client_token(cp["client_id"].as_str().unwrap());
    assert_eq!(patch(json!({"provision_fields": {"package_name": "x"}}), owner).await.0, 403);
    assert_eq!(patch(json!({"provision_fields": "x"}), admin_token()).await.0, 400);
    assert_eq!(patch(json!({"provision_fields": {}, "status": "active"}), admin_token()).await.0, 400);
    assert_eq!(patch(json!({"provision_fields": {"epp_code": "********"}}), admin_token()).await.0, 400);
    assert_eq!(call(reqwest::Method::PATCH, "/contract-products/no-such-cp", &admin_token(), Some(json!({"provision_fields": {}}))).await.0, 404);
    let after = get(&path).await;
    assert_eq!(after["provision_fields"]["package_name"], "business");
}

/// Staff find a service by its identifier's prefix, client, status, blueprint or configuration,
/// each through an index, the other facets filtering, page by page; a client only among its own.
#[tokio::test]
async fn contract_products_are_searched_by_identifier_client_status_blueprint_and_configuration() {
    let cfg = configuration("web-hosting", false).await;
    let tag = unique("Srch").to_lowercase().replace([':', '.', '_'], "-");
    let client = unique("client");
    let mut made = Vec::new();
    for n in 0..3 {
        let body = json!({"client_id": client, "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg}, "service_identifier": format!("{tag}-{n}.example.com")});
        let (status, cp) = post("/contract-products", body).await;
        assert_eq!(status, 201, "{cp}");
        made.push(cp["id"].as_str().unwrap().to_owned());
    }
    let (status, other) = post(
        "/contract-products",
        json!({"client_id": unique("client"), "blueprint": "web-hosting", "deployment": {"type": "static", "configuration_id": cfg}, "service_identifier": format!("{tag}-9.example.com")}),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    // One made active, so the status facet tells them apart (its account named so that its
    // identifier, the username, keeps the prefix and its place).
    let (status, created) = call(
        reqwest::Method::POST,
        &format!("/contract-products/{}/actions/web-hosting/create-account", made[0]),
        &admin_token(),
        Some(json!({"params": {"username": format!("{tag}-0"), "domain": format!("{tag}-0.example.com"), "email": "o@example.com", "package_name": "starter"}})),
    )
    .await;
    assert_eq!(status, 200, "{created}");

    let ids = |page: &Value| -> Vec<String> { page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect() };
    // By identifier prefix, case-insensitively, in the identifiers' order, page by page.
    let upper = tag.to_uppercase();
    let first = get(&format!("/contract-products?identifier={upper}&limit=2")).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = get(&format!("/contract-products?identifier={upper}&limit=2&cursor={cursor}")).await;
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, [made[0].clone(), made[1].clone(), made[2].clone(), other["id"].as_str().unwrap().to_owned()]);
    // Facets combined: the index of one, the others filtering.
    assert_eq!(ids(&get(&format!("/contract-products?identifier={tag}&client_id={client}")).await), made);
    assert_eq!(ids(&get(&format!("/contract-products?identifier={tag}&status=active")).await), [made[0].clone()]);
    let on_cfg = ids(&get(&format!("/contract-products?configuration_id={cfg}&status=pending")).await);
    assert_eq!(on_cfg.len(), 3, "newest first: {on_cfg:?}");
    assert_eq!(on_cfg[2], made[1]);
    assert!(ids(&get("/contract-products?status=active&blueprint=web-hosting&limit=500").await).contains(&made[0]));
    assert!(ids(&get(&format!("/contract-products?blueprint=web-hosting&client_id={client}")).await).len() == 3);
    // A client searches among its own only.
    let own = client_token(&client);
    let (status, mine) = call(reqwest::Method::GET, &format!("/contract-products?identifier={tag}"), &own, None).await;
    assert_eq!((status, ids(&mine)), (200, made.clone()));
    // Bad facets are refused.
    for bad in ["status=gone", "blueprint=nope", "configuration_id=a%20b", "identifier=", "identifier=%07"] {
        let (status, body) = call(reqwest::Method::GET, &format!("/contract-products?{bad}"), &admin_token(), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

/// A service that exists at the third party (the demo's `existing_services`) is imported
/// through the API: made active with an import entry in its log, its actions then run on it;
/// importing it twice is a 409, one the provider does not show a 400 naming the identifier.
#[tokio::test]
async fn an_existing_service_is_imported_and_then_managed_like_any_other() {
    let admin = admin_token();
    let (status, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        &admin,
        Some(json!({"name": unique("import"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "old.example.net", "existing_services": "legacy1, legacy2"}})),
    )
    .await;
    assert_eq!(status, 201, "{cfg}");
    let client = unique("client");
    let body = |identifier: &str| json!({"configuration_id": cfg["id"], "service_identifier": identifier, "client_id": client});
    let (status, imported) = call(reqwest::Method::POST, "/contract-products/import", &admin, Some(body("legacy1"))).await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!((imported["status"].as_str(), imported["service_identifier"].as_str(), imported["client_id"].as_str()), (Some("active"), Some("legacy1"), Some(client.as_str())));
    let cp = imported["id"].as_str().unwrap();
    let (_, entry) = call(reqwest::Method::GET, &format!("/logs/{}", imported["log_id"].as_str().unwrap()), &admin, None).await;
    assert_eq!((entry["action"].as_str(), entry["status"].as_str()), (Some("import"), Some("success")), "{entry}");
    let (status, suspended) = call(reqwest::Method::POST, &format!("/contract-products/{cp}/actions/web-hosting/suspend-account"), &admin, Some(json!({}))).await;
    assert_eq!(status, 200, "{suspended}");
    // The owning client sees it as its own.
    let (status, _) = call(reqwest::Method::GET, &format!("/contract-products/{cp}"), &client_token(&client), None).await;
    assert_eq!(status, 200);

    let (status, twice) = call(reqwest::Method::POST, "/contract-products/import", &admin, Some(body("legacy1"))).await;
    assert_eq!(status, 409, "{twice}");
    let (status, missing) = call(reqwest::Method::POST, "/contract-products/import", &admin, Some(body("nobody"))).await;
    assert_eq!(status, 400, "{missing}");
    assert!(missing["error"]["details"]["fields"]["service_identifier"].is_string(), "{missing}");
    // A client may not import.
    let (status, _) = call(reqwest::Method::POST, "/contract-products/import", &client_token(&client), Some(body("legacy2"))).await;
    assert_eq!(status, 403);
}

/// A bulk import through the API: the demo account's services listed with who holds them
/// (?unknown=true: those not yet known), the chosen ones imported with one result each, and
/// the list then shows them held.
#[tokio::test]
async fn an_accounts_services_are_listed_and_the_chosen_ones_imported() {
    let admin = admin_token();
    let (status, cfg) = call(
        reqwest::Method::POST,
        "/provision-configurations",
        &admin,
        Some(json!({"name": unique("bulk"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "old.example.net", "existing_services": "acct1, acct2, acct3"}})),
    )
    .await;
    assert_eq!(status, 201, "{cfg}");
    let cfg_id = cfg["id"].as_str().unwrap();
    let (status, listed) = call(reqwest::Method::GET, &format!("/provision-configurations/{cfg_id}/services?unknown=true"), &admin, None).await;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|s| s["service_identifier"].as_str().unwrap()).collect();
    assert_eq!(names, ["acct1", "acct2", "acct3"]);
    assert_eq!(listed["next_cursor"], Value::Null);
    let client = unique("client");
    let body = json!({"services": [{"service_identifier": "acct1", "client_id": client}, {"service_identifier": "ghost", "client_id": client}, {"service_identifier": "acct3", "client_id": client}]});
    let (status, results) = call(reqwest::Method::POST, &format!("/provision-configurations/{cfg_id}/import"), &admin, Some(body)).await;
    assert_eq!(status, 200, "{results}");
    let outcome: Vec<(&str, &str, Value)> =
        results["items"].as_array().unwrap().iter().map(|r| (r["service_identifier"].as_str().unwrap(), r["result"].as_str().unwrap(), r["status"].clone())).collect();
    assert_eq!(outcome, [("acct1", "imported", json!(201)), ("ghost", "refused", json!(400)), ("acct3", "imported", json!(201))]);
    assert_eq!(results["items"][0]["contract_product"]["status"], "active");
    let (_, unknown) = call(reqwest::Method::GET, &format!("/provision-configurations/{cfg_id}/services?unknown=true"), &admin, None).await;
    assert_eq!(unknown["items"].as_array().unwrap().iter().map(|s| s["service_identifier"].as_str().unwrap()).collect::<Vec<_>>(), ["acct2"]);
    let (_, all) = call(reqwest::Method::GET, &format!("/provision-configurations/{cfg_id}/services"), &admin, None).await;
    assert_eq!(all["items"][0]["contract_product_id"], results["items"][0]["contract_product"]["id"], "{all}");
    // A client may do neither.
    let (status, _) = call(reqwest::Method::GET, &format!("/provision-configurations/{cfg_id}/services"), &client_token(&client), None).await;
    assert_eq!(status, 403);
}

/// Placement is race-free: 51 orders at once for a pool of two configurations of capacity 25
/// end with exactly 25 on each and one refused with a clear 409; tags keep other
/// configurations out, and the configurations show what they hold.
#[tokio::test]
async fn fifty_one_concurrent_orders_fill_two_configurations_of_twenty_five_exactly() {
    let admin = admin_token();
    let tag = unique("region").replace(':', "-");
    let mut pool = Vec::new();
    for n in 0..2 {
        let (status, cfg) = call(
            reqwest::Method::POST,
            "/provision-configurations",
            &admin,
            Some(json!({"name": format!("pool {n}"), "blueprint": "web-hosting", "provider": "demo", "settings": {"server_hostname": "pool.example.net"}, "capacity": 25, "tags": [tag]})),
        )
        .await;
        assert_eq!(status, 201, "{cfg}");
        assert_eq!((cfg["capacity"].as_u64(), cfg["services_count"].as_i64()), (Some(25), Some(0)));
        pool.push(cfg["id"].as_str().unwrap().to_owned());
    }
    let (status, product) = post("/products", json!({"name": "Pooled hosting", "blueprint": "web-hosting", "deployment": {"type": "pool", "strategy": "least_used", "tag": tag}})).await;
    assert_eq!(status, 201, "{product}");
    let mut orders = tokio::task::JoinSet::new();
    for _ in 0..51 {
        let body = json!({"client_id": unique("client"), "product_id": product["id"]});
        orders.spawn(async move { post("/contract-products", body).await });
    }
    let (mut placed, mut refused) = (std::collections::HashMap::<String, usize>::new(), Vec::new());
    while let Some(done) = orders.join_next().await {
        let (status, answer) = done.unwrap();
        match status {
            201 => *placed.entry(answer["provision_configuration_id"].as_str().unwrap().to_owned()).or_default() += 1,
            _ => refused.push((status, answer)),
        }
    }
    assert_eq!((placed.get(&pool[0]), placed.get(&pool[1])), (Some(&25), Some(&25)), "{placed:?} {refused:?}");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, 409, "{:?}", refused[0].1);
    assert!(refused[0].1["error"]["message"].as_str().unwrap().contains("room") || refused[0].1["error"]["message"].as_str().unwrap().contains("full"), "{:?}", refused[0].1);
    for id in &pool {
        let cfg = get(&format!("/provision-configurations/{id}")).await;
        assert_eq!(cfg["services_count"], 25, "{cfg}");
    }
}
