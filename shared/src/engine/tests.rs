//! The engine's unit tests: pure rules (params, identifiers) and whole runs over the in-memory
//! adapters with the demo provider, so every refusal path, the settle step, version conflicts,
//! identifier claims and reconcile-before-retry run in milliseconds without the local stack.

use super::*;
use crate::domain::ids::ConfigurationId;

fn product(blueprint: &str, service_identifier: Option<&str>, fields: Value) -> ContractProduct {
    crate::testing::contract_product("cp-1", blueprint, service_identifier, fields)
}

fn client() -> Actor {
    Actor::Caller(Caller::Client { subject: "s".into(), client_id: crate::domain::actor::ClientId::parse("client-1").unwrap() })
}

fn admin() -> Actor {
    Actor::Caller(Caller::Admin { subject: "a".into() })
}

/// Identifiers come from the contract product: named by a client always refused, by an admin
/// refused but on an action that establishes the service; filled from the service identifier
/// (never from a provision field) for every other action.
#[test]
fn identifiers_come_from_the_contract_product_never_from_a_caller() {
    let (b, info) = catalogue().action("web-hosting", "get-info").unwrap();
    let (_, create) = catalogue().action("web-hosting", "create-account").unwrap();
    let naming = json!({ "username": "victim" }).as_object().cloned().unwrap();
    for actor in [client(), admin(), Actor::System("billing:e-1".into())] {
        let refused = named_identifiers(b, info, &actor, &naming, &Map::new()).expect("refused");
        assert!(matches!(refused, EngineError::Invalid { .. }));
        assert!(refused.to_string().contains("username"), "{refused}");
    }
    assert!(named_identifiers(b, create, &admin(), &naming, &Map::new()).is_none(), "an admin's create names the new account");
    assert!(named_identifiers(b, create, &client(), &naming, &Map::new()).is_some(), "a client never names one");
    let (d, renew) = catalogue().action("domain-names", "renew").unwrap();
    let both = json!({ "sld": "other", "tld": "com", "service_identifier": "x" }).as_object().cloned().unwrap();
    let refused = named_identifiers(d, renew, &admin(), &both, &Map::new()).unwrap();
    let fields = match &refused {
        EngineError::Invalid { details, .. } => details["fields"].as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        other => panic!("{other}"),
    };
    assert_eq!(fields, ["sld", "tld", "service_identifier"]);
    // A client may not change what the product holds; a new secret it may set.
    let (_, login) = catalogue().action("web-hosting", "login-to-control-panel").unwrap();
    let stored = json!({ "domain": "alice.example", "password": { "$sealed": "v1:x" } }).as_object().cloned().unwrap();
    let asked = json!({ "domain": "victim.example" }).as_object().cloned().unwrap();
    assert!(named_identifiers(b, login, &client(), &asked, &stored).is_some());
    assert!(named_identifiers(b, login, &admin(), &asked, &stored).is_none(), "an admin may");
    let (_, change) = catalogue().action("web-hosting", "change-password").unwrap();
    let new_password = json!({ "password": "New-pw-1!" }).as_object().cloned().unwrap();
    assert!(named_identifiers(b, change, &client(), &new_password, &stored).is_none());

    // Filled from the service identifier, whatever a provision field says.
    let cp = product("web-hosting", Some("alice1"), json!({ "username": "stale", "package_name": "gold" }));
    let params = params_for(b, info, &cp, &cp.provision_fields, &Map::new());
    assert_eq!(params["username"], "alice1");
    let cp = product("domain-names", Some("shop.co.uk"), json!({}));
    let params = params_for(d, renew, &cp, &cp.provision_fields, &json!({ "renew_years": 1 }).as_object().cloned().unwrap());
    assert_eq!((params["sld"].as_str(), params["tld"].as_str()), (Some("shop"), Some("co.uk")));
    // A create takes what it is given, and makes a stable username when none is.
    let cp = product("web-hosting", None, json!({ "package_name": "gold" }));
    let given = json!({ "domain": "alice.example", "email": "a@alice.example" }).as_object().cloned().unwrap();
    let first = params_for(b, create, &cp, &cp.provision_fields, &given);
    assert_eq!(first["username"], params_for(b, create, &cp, &cp.provision_fields, &given)["username"]);
    assert!(first["username"].as_str().unwrap().starts_with("aliceexa"));
}

// ---- Whole runs over the in-memory adapters ----

use crate::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryStore};
use crate::domain::lifecycle::EventStatus;

/// An engine over memory with one demo web-hosting configuration (`settings` on top of a
/// server hostname) and a pending contract product of client-1 on it.
struct World {
    engine: Engine,
    store: MemoryStore,
    events: MemoryOutbox,
}

fn world(settings: Value) -> World {
    let (engine, store, events) = crate::testing::demo_world(settings);
    World { engine, store, events }
}

fn cp1() -> ContractProductId {
    ContractProductId::parse("cp-1").unwrap()
}

fn create_body() -> Value {
    json!({ "params": { "domain": "alice.example", "email": "alice@alice.example", "password": "Secret-pw-123" } })
}

async fn created(w: &World) -> Outcome {
    w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &create_body()).await.expect("created")
}

#[tokio::test]
async fn a_create_activates_the_product_records_one_entry_and_publishes_activated() {
    let w = world(json!({}));
    let out = created(&w).await;
    assert_eq!(out.status, 200);
    let cp = w.store.product(&cp1()).unwrap();
    assert_eq!(cp.status, ProductStatus::Active);
    assert_eq!(cp.version, 2);
    let username = cp.service_identifier.clone().expect("the create named the account");
    assert!(username.starts_with("aliceexa"), "{username}");
    assert_eq!(cp.provision_fields["domain"], "alice.example", "what the service was made with is the product's now");
    assert!(!cp.provision_fields.contains_key("password"), "never a secret");
    let logs = w.store.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!((logs[0].status, logs[0].action.as_str()), (LogStatus::Success, "create-account"));
    assert_eq!(logs[0].params["password"], secrets::MASK, "params are masked by schema");
    assert!(!serde_json::to_string(&logs[0]).unwrap().contains("Secret-pw-123"), "no secret anywhere in the entry");
    let kinds: Vec<String> = w.events.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["contract_product.activated"]);
    // A later action acts on the stored identifier.
    let info = w.engine.run(&client(), "cp-1", "web-hosting", "get-info", &Value::Null).await.expect("the owner reads it");
    assert_eq!(info.body["data"]["username"], username.as_str());
}

/// Every refusal before the provider: the right error, and nothing written or published.
#[tokio::test]
async fn refusals_change_nothing_and_say_why() {
    let w = world(json!({}));
    let other = Actor::Caller(Caller::Client { subject: "m".into(), client_id: crate::domain::actor::ClientId::parse("client-2").unwrap() });
    let cases: Vec<(Actor, &str, &str, &str, Value, &str)> = vec![
        (admin(), "cp-404", "web-hosting", "create-account", create_body(), "not_found"),
        (admin(), "not an id!", "web-hosting", "create-account", create_body(), "not_found"),
        (admin(), "cp-1", "web-hosting", "no-such-action", Value::Null, "not_found"),
        (other, "cp-1", "web-hosting", "get-info", Value::Null, "not_found"),
        (client(), "cp-1", "web-hosting", "create-account", create_body(), "forbidden"),
        (admin(), "cp-1", "servers", "create-server", Value::Null, "validation_failed"),
        (admin(), "cp-1", "web-hosting", "create-account", json!({ "params": { "domain": "alice.example" } }), "validation_failed"),
        (admin(), "cp-1", "web-hosting", "create-account", json!({ "params": {}, "extra": 1 }), "validation_failed"),
        (admin(), "cp-1", "web-hosting", "create-account", json!([1]), "validation_failed"),
        (admin(), "cp-1", "web-hosting", "suspend-account", Value::Null, "invalid_state"),
    ];
    for (actor, id, blueprint, action, body, code) in cases {
        let f = w.engine.run(&actor, id, blueprint, action, &body).await.expect_err("refused");
        assert_eq!(f.error.code(), code, "{blueprint}/{action} on {id}: {}", f.error);
        assert!(f.log_id.is_none() && !f.retryable(), "{blueprint}/{action}");
    }
    // Without a service identifier, an action on the service cannot run even where its status allows.
    w.store.change_product(&cp1(), |cp| cp.status = ProductStatus::Active);
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "get-info", &Value::Null).await.unwrap_err();
    assert_eq!(f.error.code(), "invalid_state");
    // A configuration that is gone: a conflict, not an internal error.
    w.store.change_product(&cp1(), |cp| {
        cp.provision_configuration_id = ConfigurationId::parse("cfg-gone").unwrap();
        cp.status = ProductStatus::Pending;
    });
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &create_body()).await.unwrap_err();
    assert_eq!(f.error.code(), "conflict");
    assert!(w.store.logs().is_empty() && w.events.events().is_empty(), "nothing was recorded or published");
}

/// A permanent failure of the setup action marks the product failed, settles its lifecycle
/// event failed in the same write, and publishes setup_failed; a transient one changes nothing
/// but its entry and leaves the event to be retried.
#[tokio::test]
async fn the_settle_step_follows_the_kind_of_failure() {
    let w = world(json!({ "api_key": "invalid" }));
    w.store.claim_event("evt-1", "cp-1", "{}", "2026-11-30T00:00:00Z");
    let completion = Completion::event("evt-1");
    let f = w.engine.run_with(&Actor::System("billing:evt-1".into()), "cp-1", "web-hosting", "create-account", &create_body(), Some(&completion)).await.unwrap_err();
    assert_eq!((f.kind, f.retryable()), (Some(FailureKind::Permanent), false));
    assert_eq!(w.store.product(&cp1()).unwrap().status, ProductStatus::Failed);
    let log_id = f.log_id.expect("logged");
    assert_eq!(w.store.event("evt-1"), Some((EventStatus::Failed, vec![log_id.clone()])));
    let events = w.events.events();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["contract_product.setup_failed"]);
    assert_eq!(events[0].log_id.as_deref(), Some(log_id.as_str()));

    let w = world(json!({ "transient_failures": 1 }));
    w.store.claim_event("evt-2", "cp-1", "{}", "2026-11-30T00:00:00Z");
    let f = w.engine.run_with(&Actor::System("billing:evt-2".into()), "cp-1", "web-hosting", "create-account", &create_body(), Some(&Completion::event("evt-2"))).await.unwrap_err();
    assert_eq!((f.kind, f.retryable()), (Some(FailureKind::Transient), true));
    assert_eq!(w.store.product(&cp1()).unwrap().status, ProductStatus::Pending);
    assert_eq!(w.store.event("evt-2").map(|e| e.0), Some(EventStatus::Received), "a transient failure leaves the event to its retry");
    assert_eq!(w.store.logs()[0].status, LogStatus::Error);
    // The retry succeeds and settles it done.
    w.engine.run_with(&Actor::System("billing:evt-2".into()), "cp-1", "web-hosting", "create-account", &create_body(), Some(&Completion::event("evt-2"))).await.expect("the retry");
    assert_eq!(w.store.event("evt-2").map(|e| e.0), Some(EventStatus::Done));
}

/// The worker remembers a configuration for a while, but a failed run forgets it: credentials
/// fixed after the failure are used by the very next attempt.
#[tokio::test]
async fn credentials_fixed_after_a_failure_are_used_by_the_next_attempt() {
    let w = world(json!({ "api_key": "invalid" }));
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &create_body()).await.unwrap_err();
    assert_eq!((f.error.code(), f.kind), ("provider_error", Some(FailureKind::Permanent)));
    w.store.put_configuration(crate::testing::demo_configuration(json!({ "api_key": "fixed" })));
    let mut cp = w.store.product(&cp1()).unwrap();
    cp.status = ProductStatus::Pending;
    w.store.put_product(cp);
    created(&w).await;
    assert_eq!(w.store.product(&cp1()).unwrap().status, ProductStatus::Active);
}

/// A create whose answer was lost is found by get-info on the next try, not made twice.
#[tokio::test]
async fn a_lost_create_is_reconciled_not_repeated() {
    let w = world(json!({ "lost_answers": 1 }));
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &create_body()).await.unwrap_err();
    assert_eq!(f.kind, Some(FailureKind::Timeout));
    assert_eq!(f.error.code(), "provider_timeout");
    let cp = w.store.product(&cp1()).unwrap();
    assert_eq!(cp.status, ProductStatus::Pending);
    let marked = cp.unconfirmed_create.clone().expect("the next try asks first");
    let out = created(&w).await;
    assert!(out.body["message"].as_str().unwrap().starts_with("reconciled"), "{}", out.body);
    let cp = w.store.product(&cp1()).unwrap();
    assert_eq!((cp.status, cp.service_identifier.as_deref(), cp.unconfirmed_create), (ProductStatus::Active, Some(marked.as_str()), None));
}

/// A run that meets a concurrent change of its product has its change applied onto it; a
/// service identifier another product holds is refused, logged, and not bound.
#[tokio::test]
async fn concurrent_changes_are_merged_and_held_identifiers_refused() {
    let w = world(json!({}));
    w.store.conflict_next(1);
    created(&w).await;
    let cp = w.store.product(&cp1()).unwrap();
    assert_eq!(cp.status, ProductStatus::Active);
    assert_eq!(cp.version, 3, "written onto the other writer's version");

    let w = world(json!({}));
    let mut holder = product("web-hosting", Some("taken1"), json!({}));
    holder.id = ContractProductId::parse("cp-2").unwrap();
    w.store.put_product(holder);
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &json!({ "params": { "username": "taken1", "domain": "b.example", "email": "b@b.example" } })).await.unwrap_err();
    assert_eq!(f.error.code(), "conflict");
    assert_eq!(f.kind, Some(FailureKind::Permanent));
    let cp = w.store.product(&cp1()).unwrap();
    assert_eq!((cp.status, cp.service_identifier), (ProductStatus::Pending, None));
    let logs = w.store.logs();
    assert_eq!((logs.len(), logs[0].status), (1, LogStatus::Error));
}

/// A long-running action is queued as a typed message, its caller's secrets sealed to its log
/// id, with a pending entry; a queue that refuses is a failure the caller may retry.
#[tokio::test]
async fn a_long_running_action_is_queued_typed_and_sealed() {
    let w = world(json!({}));
    created(&w).await;
    let queue = MemoryQueue::default();
    let out = w.engine.start(&admin(), "cp-1", "web-hosting", "change-password", &json!({ "params": { "password": "New-secret-456" } }), &queue).await.expect("queued");
    assert_eq!((out.status, out.in_progress), (202, true));
    let messages = queue.messages();
    let [crate::ports::WorkMessage::Operation(m)] = messages.as_slice() else { panic!("one operation message: {messages:?}") };
    let wire = serde_json::to_value(&messages[0]).unwrap();
    assert_eq!((wire["kind"].as_str(), wire["log_id"].as_str()), (Some("operation"), Some(out.log_id.as_str())), "the wire form keeps its flat fields: {wire}");
    assert_eq!((m.work.log_id.as_str(), m.work.contract_product_id.as_str(), m.work.action.as_str()), (out.log_id.as_str(), "cp-1", "change-password"));
    assert!(!m.params.to_string().contains("New-secret-456"), "sealed: {}", m.params);
    assert_eq!(w.engine.open_operation_params("web-hosting", "change-password", &m.params, m.work.log_id.as_str()).unwrap()["password"], "New-secret-456");
    assert_eq!(w.store.logs().last().unwrap().status, LogStatus::Pending);
    let refusing = MemoryQueue::refusing();
    let f = w.engine.start(&admin(), "cp-1", "web-hosting", "change-password", &json!({ "params": { "password": "New-secret-789" } }), &refusing).await.unwrap_err();
    assert!(f.retryable(), "{}", f.error);
}

/// A long-running action's entry, once re-checked (get-info recorded as the action), keeps the
/// exchanges of the action itself and adds the latest re-check's (marked `followed`); earlier
/// re-checks' are not piled up.
#[tokio::test]
async fn a_re_checked_long_running_action_keeps_its_own_exchanges() {
    let w = world(json!({}));
    created(&w).await;
    let out = w.engine.start(&admin(), "cp-1", "web-hosting", "change-password", &json!({ "params": { "password": "New-secret-456" } }), &MemoryQueue::default()).await.unwrap();
    let pending = w.store.logs().into_iter().find(|e| e.log_id.as_str() == out.log_id.as_str()).unwrap();
    let operation = Operation { log_id: pending.log_id.clone(), started_at: pending.started_at.clone() };
    w.engine.finish(&admin(), "cp-1", "web-hosting", "change-password", &json!({ "params": { "password": "New-secret-456" } }), &operation).await.unwrap();
    let urls = |w: &World| -> Vec<(String, bool)> {
        let e = w.store.logs().into_iter().find(|e| e.log_id == operation.log_id).unwrap();
        e.debug.as_array().unwrap().iter().map(|x| (x["request"]["url"].as_str().unwrap_or_default().to_owned(), x["followed"] == true)).collect()
    };
    assert_eq!(urls(&w), [("demo://web-hosting/change-password".to_owned(), false)]);
    for _ in 0..2 {
        w.engine.check(&admin(), "cp-1", "web-hosting", "change-password", &operation).await.unwrap();
        assert_eq!(urls(&w), [("demo://web-hosting/change-password".to_owned(), false), ("demo://web-hosting/get-info".to_owned(), true)]);
    }
    assert_eq!(w.store.logs().iter().filter(|e| e.log_id == operation.log_id).count(), 1, "one entry, replaced");
}

/// A store that cannot be reached is an internal failure a retry may get past.
#[tokio::test]
async fn an_unreachable_store_is_retryable() {
    let w = world(json!({}));
    w.store.set_down(true);
    let f = w.engine.run(&admin(), "cp-1", "web-hosting", "create-account", &create_body()).await.unwrap_err();
    assert_eq!(f.error.code(), "internal");
    assert!(f.retryable());
}

/// An order is checked as the worker will run it, nothing written: a product that does not
/// exist, the setup's missing fields (from the product and the event's data), or fine.
#[tokio::test]
async fn an_order_is_checked_as_it_will_run_and_nothing_is_written() {
    let w = world(json!({}));
    w.store.put_template(crate::domain::product::Product {
        id: crate::domain::ids::ProductId::parse("prd-1").unwrap(),
        name: "Gold".into(),
        blueprint: "web-hosting".into(),
        provider: None,
        deployment: crate::domain::product::Deployment::Static { configuration_id: ConfigurationId::parse("cfg-1").unwrap() },
        setup_action: "create-account".into(),
        provision_fields: json!({ "package_name": "gold" }).as_object().cloned().unwrap(),
        created_at: String::new(),
        updated_at: String::new(),
        version: 1,
    });
    let refused = |e: EngineError| match e {
        EngineError::Invalid { details, .. } => details["fields"].as_object().map(|f| f.keys().cloned().collect::<Vec<_>>()).unwrap_or_default(),
        other => panic!("refused as invalid, not {other}"),
    };
    let order = json!({ "product_id": "prd-1", "client_id": "client-9" });
    let e = w.engine.check_order("evt-1", "cp-new", None, &order).await.unwrap_err();
    assert_eq!(refused(e), ["email"]);
    let mut fixed = order.clone();
    fixed["params"] = json!({ "email": "o@example.com" });
    w.engine.check_order("evt-1", "cp-new", None, &fixed).await.expect("would run");
    let e = w.engine.check_order("evt-2", "cp-other", None, &json!({ "product_id": "prd-none", "client_id": "client-9" })).await.unwrap_err();
    assert_eq!(refused(e), ["product_id"]);
    // A pending product already made: its own fields count.
    let pending = w.store.product(&cp1()).unwrap();
    w.engine.check_order("evt-3", "cp-1", Some(pending), &json!({ "params": { "email": "o@example.com" } })).await.expect("would run");
    assert!(w.store.product(&ContractProductId::parse("cp-new").unwrap()).is_none() && w.store.logs().is_empty(), "nothing written");
}

/// An existing service is imported as the provider shows it: active, its provision fields from
/// get-info, an `import` entry in the same write. One the provider does not show is a 400 naming
/// the identifier, one another contract product holds a 409, and neither writes anything.
#[tokio::test]
async fn an_existing_service_is_imported_as_the_provider_shows_it() {
    let w = world(json!({ "existing_services": "legacy1, legacy2" }));
    let body = |identifier: &str, id: &str| json!({ "configuration_id": "cfg-1", "service_identifier": identifier, "client_id": "client-7", "id": id });
    let imported = w.engine.import_contract_product(&admin(), &body("legacy1", "cp-imported")).await.expect("imported");
    let cp = w.store.product(&ContractProductId::parse("cp-imported").unwrap()).expect("made");
    assert_eq!((cp.status, cp.service_identifier.as_deref(), cp.client_id.as_str(), cp.version), (ProductStatus::Active, Some("legacy1"), "client-7", 1));
    assert!(cp.provision_fields.contains_key("package_name"), "the fields later actions take, as get-info reports them: {:?}", cp.provision_fields);
    let logs = w.store.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!((logs[0].action.as_str(), logs[0].status, &logs[0].log_id), ("import", LogStatus::Success, &imported.log_id));
    assert!(logs[0].message.starts_with("imported legacy1"), "{}", logs[0].message);
    assert_eq!(w.events.events().iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["contract_product.created"]);
    // Its actions run on it as on any other.
    w.engine.run(&admin(), "cp-imported", "web-hosting", "suspend-account", &json!({})).await.expect("suspended");

    let e = w.engine.import_contract_product(&admin(), &body("nobody", "cp-nobody")).await.unwrap_err();
    assert!(matches!(&e, EngineError::Invalid { details, .. } if details["fields"]["service_identifier"].as_str().is_some_and(|m| m.contains("does not show nobody"))), "{e}");
    let e = w.engine.import_contract_product(&admin(), &body("legacy1", "cp-twice")).await.unwrap_err();
    assert_eq!(e.code(), "conflict", "{e}");
    assert!(w.store.product(&ContractProductId::parse("cp-nobody").unwrap()).is_none() && w.store.product(&ContractProductId::parse("cp-twice").unwrap()).is_none());
    assert_eq!(w.store.logs().iter().filter(|l| l.action == "import").count(), 1, "nothing written for a refusal");
}

/// A bulk import: the account's services listed with who holds them, the chosen ones imported
/// one result each (a service the provider does not show refused alone), and the list then
/// shows them held; `unknown_only` leaves those out.
#[tokio::test]
async fn a_bulk_import_lists_the_accounts_services_and_imports_the_chosen_ones() {
    let w = world(json!({ "existing_services": "legacy1, legacy2, legacy3" }));
    let page = w.engine.list_services("cfg-1", None, false).await.expect("listed");
    let listed: Vec<(&str, bool)> = page.items.iter().map(|s| (s.listed.service_identifier.as_str(), s.contract_product_id.is_some())).collect();
    assert_eq!(listed, [("legacy1", false), ("legacy2", false), ("legacy3", false)]);
    assert_eq!(page.next, None);
    let body = json!({ "services": [
        { "service_identifier": "legacy1", "client_id": "client-7" },
        { "service_identifier": "nobody", "client_id": "client-8" },
        { "service_identifier": "legacy2", "client_id": "client-8" },
    ] });
    let results = w.engine.import_services(&admin(), "cfg-1", &body).await.expect("answered");
    let outcome: Vec<(&str, Option<bool>)> = results.iter().map(|(i, r)| (i.as_str(), r.as_ref().map(Result::is_ok))).collect();
    assert_eq!(outcome, [("legacy1", Some(true)), ("nobody", Some(false)), ("legacy2", Some(true))]);
    let page = w.engine.list_services("cfg-1", None, false).await.unwrap();
    let held: Vec<(&str, bool)> = page.items.iter().map(|s| (s.listed.service_identifier.as_str(), s.contract_product_id.is_some())).collect();
    assert_eq!(held, [("legacy1", true), ("legacy2", true), ("legacy3", false)]);
    let unknown = w.engine.list_services("cfg-1", None, true).await.unwrap();
    assert_eq!(unknown.items.iter().map(|s| s.listed.service_identifier.as_str()).collect::<Vec<_>>(), ["legacy3"]);
    // Bad input changes nothing.
    for bad in [json!({}), json!({ "services": [] }), json!({ "services": [{ "service_identifier": "legacy3" }] })] {
        assert!(matches!(w.engine.import_services(&admin(), "cfg-1", &bad).await, Err(EngineError::Invalid { .. })), "{bad}");
    }
    assert!(matches!(w.engine.list_services("cfg-none", None, false).await, Err(EngineError::NotFound(_))));
}

/// A pool configuration of capacity `capacity`, tagged, made at `created_at`.
fn pooled(id: &str, capacity: u64, tags: &[&str], created_at: &str) -> crate::domain::configuration::Configuration {
    crate::domain::configuration::Configuration {
        id: ConfigurationId::parse(id).unwrap(),
        capacity: Some(capacity),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: created_at.into(),
        usage_count: 0,
        ..crate::testing::demo_configuration(json!({}))
    }
}

fn pool_order(strategy: &str, tag: &str, id: &str) -> Value {
    json!({ "id": id, "client_id": "client-1", "blueprint": "web-hosting", "deployment": { "type": "pool", "strategy": strategy, "tag": tag } })
}

/// Placement keeps to each configuration's capacity, however many orders come at once: least
/// used spreads them, a tag narrows them, the one after the last room is refused (409) and
/// nothing is made; a terminated service frees its room.
#[tokio::test]
async fn placement_keeps_to_capacity_under_concurrent_orders_and_frees_room_on_termination() {
    let w = world(json!({}));
    w.store.put_configuration(pooled("cfg-a", 5, &["eu"], "2026-01-01T00:00:00Z"));
    w.store.put_configuration(pooled("cfg-b", 5, &["eu"], "2026-02-01T00:00:00Z"));
    w.store.put_configuration(pooled("cfg-us", 50, &["us"], "2026-03-01T00:00:00Z"));
    let mut running = tokio::task::JoinSet::new();
    for i in 0..11 {
        let engine = w.engine.clone();
        running.spawn(async move { engine.create_contract_product(&pool_order("least_used", "eu", &format!("cp-pool-{i}"))).await });
    }
    let mut made: Vec<ContractProduct> = Vec::new();
    let mut refused = Vec::new();
    while let Some(done) = running.join_next().await {
        match done.unwrap() {
            Ok(cp) => made.push(cp),
            Err(e) => refused.push(e),
        }
    }
    let on = |cfg: &str| made.iter().filter(|cp| cp.provision_configuration_id.as_str() == cfg).count();
    assert_eq!((on("cfg-a"), on("cfg-b"), on("cfg-us"), refused.len()), (5, 5, 0, 1), "{refused:?}");
    assert_eq!(refused[0].code(), "conflict");
    assert!(made.iter().all(|cp| cp.deployment == "pool"));
    let refused_id = (0..11).map(|i| format!("cp-pool-{i}")).find(|id| !made.iter().any(|cp| cp.id.as_str() == id)).unwrap();
    assert!(w.store.product(&ContractProductId::parse(&refused_id).unwrap()).is_none(), "nothing made for the refused order");

    // A terminated service frees its room for the next order.
    let first = made.iter().find(|cp| cp.provision_configuration_id.as_str() == "cfg-a").unwrap().id.clone();
    w.engine.run(&admin(), first.as_str(), "web-hosting", "create-account", &create_body_for("first.example")).await.expect("created");
    w.engine.run(&admin(), first.as_str(), "web-hosting", "delete-account", &json!({})).await.expect("deleted");
    let next = w.engine.create_contract_product(&pool_order("least_used", "eu", "cp-pool-after")).await.expect("room again");
    assert_eq!(next.provision_configuration_id.as_str(), "cfg-a");
}

/// Fill puts orders on the oldest configuration until it is full, then on the next.
#[tokio::test]
async fn fill_uses_the_oldest_configuration_until_it_is_full() {
    let w = world(json!({}));
    w.store.put_configuration(pooled("cfg-new", 2, &["eu"], "2026-05-01T00:00:00Z"));
    w.store.put_configuration(pooled("cfg-old", 2, &["eu"], "2026-01-01T00:00:00Z"));
    let mut placed = Vec::new();
    for i in 0..4 {
        placed.push(w.engine.create_contract_product(&pool_order("fill", "eu", &format!("cp-fill-{i}"))).await.unwrap().provision_configuration_id.to_string());
    }
    assert_eq!(placed, ["cfg-old", "cfg-old", "cfg-new", "cfg-new"]);
    let e = w.engine.create_contract_product(&pool_order("fill", "eu", "cp-fill-4")).await.unwrap_err();
    assert!(e.to_string().contains("has room") || e.to_string().contains("full"), "{e}");
}

fn create_body_for(domain: &str) -> Value {
    json!({ "params": { "domain": domain, "email": "o@example.com", "package_name": "gold", "password": "Secret-pw-123" } })
}

/// Five transient failures within a minute open the configuration's breaker: the next call is
/// refused without reaching the provider, with when to come back; once its time has come one
/// call probes (the connection test) and, the provider back, closes it and runs. Both changes
/// are in the configuration's log.
#[tokio::test]
async fn repeated_transient_failures_open_the_breaker_and_a_good_probe_closes_it() {
    let (engine, store, _) = crate::testing::demo_world(json!({ "transient_failures": 5 }));
    let id = ConfigurationId::parse("cfg-1").unwrap();
    let create = json!({ "params": { "domain": "alice.example", "email": "a@alice.example", "password": "Secret-pw-123" } });
    let system = Actor::System("billing:e-1".into());
    for n in 1..=5 {
        let f = engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
        assert_eq!(f.kind, Some(FailureKind::Transient), "attempt {n}");
    }
    let b = store.breaker(&id);
    assert!(b.open && b.failures == 5 && b.cause.as_deref().unwrap().contains("overloaded"), "{b:?}");
    let runs = store.logs().iter().filter(|e| e.action == "create-account").count();
    // Refused while open: nothing reaches the provider, nothing is logged on the product.
    let f = engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
    let seconds = f.error.deferral().expect("a wait");
    assert!((1..=20).contains(&seconds), "{seconds}");
    assert_eq!(f.error.code(), "provider_unavailable");
    assert_eq!(store.logs().iter().filter(|e| e.action == "create-account").count(), runs);
    // Its time comes: the probe succeeds (the demo is back), the breaker closes, the call runs.
    store.change_configuration(&id, |c| c.breaker.retry_at_ms = crate::domain::time::now_millis() - 1);
    engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.expect("ran after the probe");
    assert!(!store.breaker(&id).open);
    let notes: Vec<_> = store.logs().into_iter().filter(|e| e.action == "circuit-breaker").collect();
    assert_eq!(notes.len(), 2, "opened, then closed");
    assert!(notes[0].message.contains("opened after 5 transient failures") && notes[0].status == LogStatus::Error);
    assert!(notes[1].message.contains("closed") && notes[1].contract_product_id.as_str() == "configuration:cfg-1");
}

/// A probe that fails keeps the breaker open, for longer; breaker_failures 0 never opens it.
#[tokio::test]
async fn a_failed_probe_keeps_the_breaker_open_longer_and_zero_turns_it_off() {
    let until = crate::domain::time::format_millis(crate::domain::time::now_millis() + 60_000);
    let (engine, store, _) = crate::testing::demo_world(json!({ "outage_until": until }));
    let id = ConfigurationId::parse("cfg-1").unwrap();
    let create = json!({ "params": { "domain": "alice.example", "email": "a@alice.example", "password": "Secret-pw-123" } });
    let system = Actor::System("billing:e-1".into());
    for _ in 0..5 {
        engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
    }
    let first = store.breaker(&id);
    assert!(first.open && first.opens == 1);
    store.change_configuration(&id, |c| c.breaker.retry_at_ms = crate::domain::time::now_millis() - 1);
    let f = engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
    assert!(f.error.deferral().is_some());
    let again = store.breaker(&id);
    assert!(again.open && again.opens == 2 && again.retry_at_ms - crate::domain::time::now_millis() > crate::domain::configuration::BREAKER_COOLDOWN_MS, "{again:?}");
    assert!(again.cause.unwrap().contains("down"));

    // Off: failures are never counted into an opening.
    store.change_configuration(&id, |c| {
        c.breaker = Default::default();
        c.limits.breaker_failures = Some(0);
    });
    for _ in 0..7 {
        let f = engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
        assert_eq!(f.kind, Some(FailureKind::Transient));
    }
    assert!(!store.breaker(&id).open);
}

/// Limits: calls start no closer than the rate allows (as the provider sees them), no more than
/// the concurrency run at once, and a caller that cannot get a place in time is told when to
/// come back; every lease goes back.
#[tokio::test]
async fn calls_keep_to_a_configurations_rate_and_concurrency() {
    let (_, store, _) = crate::testing::demo_world(json!({}));
    let id = ConfigurationId::parse("cfg-1").unwrap();
    store.change_configuration(&id, |c| c.limits = crate::domain::configuration::Limits { max_concurrency: Some(2), requests_per_second: Some(20), breaker_failures: None });
    let engine = Engine::new(store.stores(), crate::testing::secret_box());
    let mut running = tokio::task::JoinSet::new();
    for n in 0..6 {
        let mut cp = product("web-hosting", None, json!({ "package_name": "gold" }));
        cp.id = ContractProductId::parse(&format!("cp-r{n}")).unwrap();
        cp.status = ProductStatus::Pending;
        store.put_product(cp);
        let engine = engine.clone();
        running.spawn(async move {
            let body = json!({ "params": { "domain": format!("r{n}.example"), "email": "a@r.example", "password": "Secret-pw-123" } });
            engine.run(&Actor::System("bulk".into()), &format!("cp-r{n}"), "web-hosting", "create-account", &body).await.map(|_| ())
        });
    }
    while let Some(done) = running.join_next().await {
        done.unwrap().expect("each ran");
    }
    // When each call arrived at the provider double: at least 1/20 s (and 5%) apart.
    let (objects, _) = crate::ports::DemoState::list(&store, "cfg-1#web-hosting", None, 100).await.unwrap();
    let mut arrivals: Vec<i64> = objects.iter().map(|(_, o)| o["requested_at_ms"].as_i64().unwrap()).collect();
    assert_eq!(arrivals.len(), 6);
    arrivals.sort();
    for pair in arrivals.windows(2) {
        assert!(pair[1] - pair[0] >= 50, "{arrivals:?}");
    }
    assert_eq!(store.leases(&id), 0, "every lease went back");

    // Both places held elsewhere: a caller gets none within its wait and is told when to return.
    store.change_configuration(&id, |c| c.limits.requests_per_second = None);
    let limits = crate::domain::configuration::Limits { max_concurrency: Some(2), ..Default::default() };
    let held = acquire_n(&store, &id, &limits, 2).await;
    let busy = crate::ports::ProviderGate::acquire(&store, &id, &limits, 50).await.unwrap();
    assert!(matches!(busy, Err(crate::ports::Busy { retry_after_ms }) if retry_after_ms >= 1_000));
    for permit in &held {
        crate::ports::ProviderGate::release(&store, &id, permit).await;
    }
    assert!(crate::ports::ProviderGate::acquire(&store, &id, &limits, 50).await.unwrap().is_ok());
}

async fn acquire_n(store: &crate::adapters::memory::MemoryStore, id: &ConfigurationId, limits: &crate::domain::configuration::Limits, n: usize) -> Vec<crate::ports::Permit> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(crate::ports::ProviderGate::acquire(store, id, limits, 50).await.unwrap().expect("a place"));
    }
    out
}

/// The breaker counts failures in a row: an answer in between starts the count again, so a
/// provider that fails now and then never opens it.
#[tokio::test]
async fn an_answer_between_failures_starts_the_count_again() {
    let (engine, store, _) = crate::testing::demo_world(json!({ "transient_failures": 4 }));
    let id = ConfigurationId::parse("cfg-1").unwrap();
    let create = json!({ "params": { "domain": "alice.example", "email": "a@alice.example", "password": "Secret-pw-123" } });
    let system = Actor::System("billing:e-1".into());
    for _ in 0..4 {
        engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.unwrap_err();
    }
    assert_eq!(store.breaker(&id).failures, 4);
    engine.run(&system, "cp-1", "web-hosting", "create-account", &create).await.expect("the fifth goes through");
    let b = store.breaker(&id);
    assert!(!b.open && b.failures == 0, "{b:?}");
}
