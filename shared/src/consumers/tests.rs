//! The consumers' unit tests over the in-memory adapters: the worker's order within a group,
//! retry and give-up, redelivery, first orders, long-running work and the sweep; the
//! dispatcher's signed deliveries, retries that skip handlers already reached, and refused
//! targets. No local stack.

use std::sync::Arc;

use serde_json::{Value, json};

use super::SqsEvent;
use super::dispatcher::Dispatcher;
use super::worker::{MAX_RECEIVES, Worker};
use crate::adapters::memory::{MemoryFunctions, MemoryHandlers, MemoryMailbox, MemoryOutbox, MemoryQueue, MemoryStore};
use crate::domain::ProductStatus;
use crate::domain::actor::{Actor, Caller};
use crate::domain::handler::EventHandler;
use crate::domain::ids::{ContractProductId, ProductId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::LogStatus;
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::{Deployment, Product};
use crate::engine::Engine;
use crate::engine::lifecycle::sealed_event;
use crate::ports::{QueueName, WorkMessage};
use crate::secrets::handler_secret_schema as secret_schema;
use crate::testing::{demo_world, record, secret_box};

struct Lane {
    worker: Worker,
    engine: Engine,
    store: MemoryStore,
    mailbox: MemoryMailbox,
    events: MemoryOutbox,
}

fn lane(settings: Value) -> Lane {
    let (engine, store, events) = demo_world(settings);
    let mailbox = MemoryMailbox::default();
    let worker = Worker::new(engine.clone(), Arc::new(store.clone()), Arc::new(store.clone()), Arc::new(mailbox.clone()), 1);
    Lane { worker, engine, store, mailbox, events }
}

/// A billing event as the webhook queues it (sealed), claimed.
fn claimed(store: &MemoryStore, id: &str, kind: &str, cp: &str, data: Value) -> String {
    let event = json!({ "id": id, "type": kind, "contract_product_id": cp, "occurred_at": "2026-11-30T08:00:00Z", "data": data });
    let body = sealed_event(&event, &secret_box()).to_string();
    store.claim_event(id, cp, &body, "2026-11-30T08:00:00Z");
    body
}

fn order() -> Value {
    json!({ "params": { "domain": "alice.example", "email": "alice@alice.example", "password": "Secret-pw-123" } })
}

fn batch(records: Vec<super::SqsRecord>) -> SqsEvent {
    SqsEvent { records }
}

fn cp1() -> ContractProductId {
    ContractProductId::parse("cp-1").unwrap()
}

#[tokio::test]
async fn events_of_a_group_run_in_order_and_settle_with_their_runs() {
    let l = lane(json!({}));
    let paid = claimed(&l.store, "evt-1", "order.paid", "cp-1", order());
    let overdue = claimed(&l.store, "evt-2", "invoice.overdue", "cp-1", json!({}));
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, 1), record("m-2", Some("cp-1"), &overdue, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(l.store.product(&cp1()).unwrap().status, ProductStatus::Suspended);
    let logs = l.store.logs();
    assert_eq!(logs.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["create-account", "suspend-account"]);
    assert_eq!(l.store.event("evt-1"), Some((EventStatus::Done, vec![logs[0].log_id.clone()])));
    assert_eq!(l.store.event("evt-2").map(|e| e.0), Some(EventStatus::Done));
    // Delivered again: handled already, nothing runs twice.
    l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, 2)])).await;
    assert_eq!(l.store.logs().len(), 2);
}

/// At the first record that must be retried, it and every later record of its group go back,
/// held for the same delay, in order; another group goes on.
#[tokio::test]
async fn a_retried_record_holds_back_the_rest_of_its_group_only() {
    let l = lane(json!({ "transient_failures": 1 }));
    let mut other = crate::testing::contract_product("cp-2", "web-hosting", Some("bob1"), json!({}));
    other.status = ProductStatus::Pending;
    l.store.put_product(other);
    let paid = claimed(&l.store, "evt-1", "order.paid", "cp-1", order());
    let overdue = claimed(&l.store, "evt-2", "invoice.overdue", "cp-1", json!({}));
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, 1), record("m-2", Some("cp-1"), &overdue, 1)])).await;
    let failed: Vec<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    assert_eq!(failed, ["m-1", "m-2"]);
    let holds = l.mailbox.holds();
    assert_eq!(holds.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["rh-m-1", "rh-m-2"]);
    assert_eq!(holds[0].1, holds[1].1, "the rest of the group waits exactly as long");
    assert_eq!(l.store.event("evt-2").map(|e| e.0), Some(EventStatus::Received), "never begun, out of order");
    // The retry runs both, in order.
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, 2), record("m-2", Some("cp-1"), &overdue, 2)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(l.store.product(&cp1()).unwrap().status, ProductStatus::Suspended);
}

/// The last allowed attempt of a transient failure is given up: an error entry naming why, the
/// event failed, the message moved to the dead-letter queue in its group.
#[tokio::test]
async fn the_last_attempt_gives_up_visibly() {
    let l = lane(json!({ "transient_failures": 10 }));
    let paid = claimed(&l.store, "evt-1", "order.paid", "cp-1", order());
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, MAX_RECEIVES)])).await;
    assert!(response.batch_item_failures.is_empty(), "moved on by the worker, not left to the queue");
    let sent = l.mailbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to, sent[0].fifo.clone(), sent[0].body.as_str()), (QueueName::LifecycleDeadLetter, Some(("cp-1".into(), "m-1".into())), paid.as_str()));
    assert_eq!(l.store.event("evt-1").map(|e| e.0), Some(EventStatus::Failed));
    assert!(l.store.event_error("evt-1").unwrap().starts_with("gave up after 5 attempts"));
    let last = l.store.logs().pop().unwrap();
    assert_eq!(last.status, LogStatus::Error);
    assert!(last.message.contains("dead-letter queue"), "{}", last.message);
}

/// An event whose action is refused before its provider is called (here the setup's params
/// lack the e-mail) fails visibly: an error entry naming the field, the event failed and linked
/// to it, the product failed and setup_failed announced with that entry.
#[tokio::test]
async fn a_refused_setup_fails_visibly() {
    let l = lane(json!({}));
    let paid = claimed(&l.store, "evt-1", "order.paid", "cp-1", json!({ "params": { "domain": "alice.example" } }));
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, 1)])).await;
    assert!(response.batch_item_failures.is_empty(), "settled, not retried");
    let logs = l.store.logs();
    assert_eq!(logs.len(), 1);
    let entry = &logs[0];
    assert_eq!((entry.status, entry.action.as_str()), (LogStatus::Error, "create-account"));
    assert!(entry.message.contains("invalid params for web-hosting/create-account") && entry.message.contains("email"), "{}", entry.message);
    assert_eq!(entry.error.as_ref().unwrap()["code"], "validation_failed");
    assert_eq!(l.store.event("evt-1"), Some((EventStatus::Failed, vec![entry.log_id.clone()])));
    assert!(l.store.event_error("evt-1").unwrap().contains("email"));
    assert_eq!(l.store.product(&cp1()).unwrap().status, ProductStatus::Failed);
    let events = l.events.events();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["contract_product.setup_failed"]);
    assert_eq!(events[0].log_id.as_deref(), Some(entry.log_id.as_str()));
}

/// A billing system only sends webhooks: the first order.paid of an unknown service makes its
/// contract product from the product, then sets it up.
#[tokio::test]
async fn a_first_order_makes_the_contract_product_then_sets_it_up() {
    let l = lane(json!({}));
    l.store.put_template(Product {
        id: ProductId::parse("prd-1").unwrap(),
        name: "Gold".into(),
        blueprint: "web-hosting".into(),
        provider: None,
        deployment: Deployment::Static { configuration_id: crate::domain::ids::ConfigurationId::parse("cfg-1").unwrap() },
        setup_action: "create-account".into(),
        provision_fields: json!({ "package_name": "gold" }).as_object().cloned().unwrap(),
        created_at: String::new(),
        updated_at: String::new(),
        version: 1,
    });
    let mut data = order();
    data["product_id"] = json!("prd-1");
    data["client_id"] = json!("client-9");
    let paid = claimed(&l.store, "evt-9", "order.paid", "cp-new", data);
    let response = l.worker.handle(batch(vec![record("m-9", Some("cp-new"), &paid, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    let cp = l.store.product(&ContractProductId::parse("cp-new").unwrap()).expect("made");
    assert_eq!((cp.client_id.as_str(), cp.status), ("client-9", ProductStatus::Active));
    assert_eq!(cp.provision_fields["package_name"], "gold");
}

/// A long-running action queued by the engine is finished by the worker, its pending entry
/// replaced; a redelivery of finished work and a malformed work message settle quietly.
#[tokio::test]
async fn queued_work_finishes_once_and_malformed_work_is_dropped() {
    let l = lane(json!({}));
    let admin = Actor::Caller(Caller::Admin { subject: "a".into() });
    l.engine.run(&admin, "cp-1", "web-hosting", "create-account", &order()).await.expect("created");
    let queue = MemoryQueue::default();
    let started = l.engine.start(&admin, "cp-1", "web-hosting", "change-password", &json!({ "params": { "password": "New-secret-456" } }), &queue).await.unwrap();
    let body = serde_json::to_string(&queue.messages()[0]).unwrap();
    assert!(matches!(serde_json::from_str::<WorkMessage>(&body), Ok(WorkMessage::Operation(_))));
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &body, 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    let entry = l.store.logs().into_iter().find(|e| e.log_id == started.log_id).unwrap();
    assert_eq!(entry.status, LogStatus::Success, "{}", entry.message);
    let entries = l.store.logs().len();
    l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &body, 2), record("m-2", Some("cp-1"), r#"{"kind":"operation","log_id":"nope"}"#, 1)])).await;
    assert_eq!(l.store.logs().len(), entries, "nothing ran again");
}

/// The sweep queues claims the webhook left unqueued, in their product's group, once.
#[tokio::test]
async fn the_sweep_queues_what_the_webhook_left() {
    let l = lane(json!({}));
    let body = claimed(&l.store, "evt-1", "invoice.paid", "cp-1", json!({}));
    let swept = l.worker.sweep().await;
    assert_eq!(swept["swept"], 1);
    let sent = l.mailbox.sent();
    assert_eq!((sent[0].to, sent[0].fifo.clone(), sent[0].body.clone()), (QueueName::Lifecycle, Some(("cp-1".into(), "evt-1".into())), body));
    assert_eq!(l.store.event("evt-1").map(|e| e.0), Some(EventStatus::Queued));
    assert_eq!(l.worker.sweep().await["swept"], 0, "queued once");
}

/// A handler of `event` posting to `url` with the signing secret `s3cret`.
fn url_handler(id: &str, priority: u32, target: Value) -> EventHandler {
    let secret = crate::secrets::seal(&secret_schema(), &json!({ "secret": "s3cret" }), &secret_box(), id)["secret"].clone();
    EventHandler {
        id: id.into(),
        name: id.into(),
        event: "contract_product.activated".into(),
        target,
        status: "enabled".into(),
        priority,
        secret,
        created_at: String::new(),
        updated_at: String::new(),
        version: 1,
    }
}

fn outgoing() -> String {
    serde_json::to_string(&OutgoingEvent {
        id: "ev-1".into(),
        kind: "contract_product.activated".into(),
        contract_product_id: "cp-1".into(),
        client_id: "client-1".into(),
        blueprint: "web-hosting".into(),
        action: Some("create-account".into()),
        log_id: None,
        status: ProductStatus::Active,
        message: "made".into(),
        occurred_at: "2026-11-30T08:00:00Z".into(),
    })
    .unwrap()
}

/// Each handler gets the event signed with its own secret; a failed delivery retries the event
/// later and the handlers it reached are not called again; a function outside the stack's
/// prefixes is never invoked.
#[tokio::test]
async fn deliveries_are_signed_retried_without_repeats_and_refused_targets_stay_uncalled() {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let body = outgoing();
    let signature = crate::secrets::sign(b"s3cret", body.as_bytes());
    Mock::given(method("POST")).and(header("x-signature", signature.as_str())).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let handlers = MemoryHandlers::default();
    handlers.put(url_handler("eh-1", 1, json!({ "type": "url", "url": format!("{}/ok", server.uri()) })));
    handlers.put(url_handler("eh-2", 2, json!({ "type": "url", "url": "http://127.0.0.1:9/down" })));
    handlers.put(url_handler("eh-3", 3, json!({ "type": "lambda", "function": "someone-elses-function" })));
    let functions = MemoryFunctions::default();
    let mailbox = MemoryMailbox::default();
    let dispatcher = Dispatcher::new(Arc::new(handlers.clone()), secret_box(), Arc::new(functions.clone()), Arc::new(mailbox.clone()), 1);
    let response = dispatcher.handle(batch(vec![record("m-1", None, &body, 1)])).await;
    assert_eq!(response.batch_item_failures.len(), 1, "retried for the handlers it did not reach");
    assert_eq!(mailbox.holds().len(), 1);
    let executions = handlers.executions();
    assert_eq!(executions.iter().map(|x| (x.handler_id.as_str(), x.success)).collect::<Vec<_>>(), [("eh-1", true), ("eh-2", false), ("eh-3", false)]);
    assert!(executions[2].error.as_deref().unwrap().contains("not invoked"), "{:?}", executions[2].error);
    assert!(functions.calls().is_empty());
    dispatcher.handle(batch(vec![record("m-1", None, &body, 2)])).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "the handler reached is not called again");
}

/// The outbox as the main table's stream hands it over: records of the outbox only, each
/// event's item in DynamoDB's JSON.
fn stream(events: &[OutgoingEvent], first: usize) -> super::StreamEvent {
    let mut records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            json!({ "eventName": "INSERT", "dynamodb": { "SequenceNumber": format!("{:04}", first + n), "NewImage": {
                "pk": { "S": format!("OUTBOX#{}", e.id) }, "sk": { "S": "OUTBOX" }, "event": { "S": serde_json::to_string(e).unwrap() }
            } } })
        })
        .collect();
    // Not an outbox record (the filter keeps these out; were one to come, it is passed over).
    records.insert(1, json!({ "eventName": "MODIFY", "dynamodb": { "SequenceNumber": "x", "NewImage": { "pk": { "S": "CP#cp-1" } } } }));
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Every status change a run makes is written to the outbox with it; while the events queue
/// refuses sends, the dispatcher answers the first event not published as the record to start
/// again from, and once the queue takes them each event is published once, in order.
#[tokio::test]
async fn the_outbox_reaches_the_events_queue_once_each_after_the_queue_refused_it() {
    let l = lane(json!({}));
    let caller = Actor::Caller(Caller::Admin { subject: "a".into() });
    l.engine.run(&caller, "cp-1", "web-hosting", "create-account", &order()).await.unwrap();
    l.engine.run(&caller, "cp-1", "web-hosting", "suspend-account", &json!({})).await.unwrap();
    l.engine.run(&caller, "cp-1", "web-hosting", "get-info", &json!({})).await.unwrap();
    let outbox = l.events.events();
    assert_eq!(outbox.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["contract_product.activated", "contract_product.suspended"], "one record per status change, none for a read");
    let queue = crate::adapters::memory::MemoryPublisher::default();
    let dispatcher =
        Dispatcher::new(Arc::new(MemoryHandlers::default()), secret_box(), Arc::new(MemoryFunctions::default()), Arc::new(MemoryMailbox::default()), 1).with_publisher(Arc::new(queue.clone()));
    queue.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = dispatcher.invoked(super::DispatcherInput::Outbox(stream(&outbox, 0)), None).await;
    assert_eq!(refused.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect::<Vec<_>>(), ["0000"], "the stream goes again from the first");
    assert!(queue.events().is_empty());
    queue.refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    let taken = dispatcher.invoked(super::DispatcherInput::Outbox(stream(&outbox, 0)), None).await;
    assert!(taken.batch_item_failures.is_empty());
    assert_eq!(queue.events(), outbox, "each published once, in order");
}

/// Runs every lifecycle message the mailbox got after the first `from`, as SQS would deliver
/// them (once each, in order), until no new one comes; returns how many were sent in all.
async fn drain(l: &Lane, mut from: usize) -> usize {
    loop {
        let sent = l.mailbox.sent();
        if sent.len() <= from {
            return from;
        }
        for (n, s) in sent[from..].iter().enumerate() {
            if s.to == QueueName::Lifecycle {
                let group = s.fifo.as_ref().map(|(g, _)| g.as_str());
                l.worker.handle(batch(vec![record(&format!("m-{}", from + n), group, &s.body, 1)])).await;
            }
        }
        from = sent.len();
    }
}

fn admin() -> Actor {
    Actor::Caller(Caller::Admin { subject: "admin-1".into() })
}

/// A lane with cp-1 pending (from the world) and five demo accounts made through the engine,
/// cp-b1 ... cp-b5, active.
async fn five_accounts() -> Lane {
    let l = lane(json!({}));
    for n in 1..=5 {
        let mut cp = crate::testing::contract_product(&format!("cp-b{n}"), "web-hosting", None, json!({ "package_name": "gold" }));
        cp.status = ProductStatus::Pending;
        l.store.put_product(cp);
        let body = json!({ "params": { "domain": format!("b{n}.example"), "email": "ops@b.example", "password": "Secret-pw-123" } });
        l.engine.run(&admin(), &format!("cp-b{n}"), "web-hosting", "create-account", &body).await.expect("created");
    }
    l
}

fn suspend_all(dry_run: bool) -> Value {
    json!({ "blueprint": "web-hosting", "action": "suspend-account", "params": { "reason": "abuse" }, "selection": { "filter": { "configuration_id": "cfg-1" } }, "dry_run": dry_run })
}

#[tokio::test]
async fn a_bulk_action_answers_its_dry_run_then_runs_each_item_once() {
    let l = five_accounts().await;
    let logged = l.store.logs().len();
    // The dry run writes nothing and sends nothing.
    let (status, dry) = l.engine.start_bulk(&admin(), &suspend_all(true), &l.mailbox).await.expect("a dry run");
    assert_eq!((status, dry["selected"].as_u64(), dry["would_run"].as_u64(), dry["refused"].as_u64()), (200, Some(6), Some(5), Some(1)));
    let refused = dry["items"].as_array().unwrap().iter().find(|i| i["would_run"] == false).unwrap();
    assert_eq!(refused["contract_product_id"], "cp-1");
    assert!(refused["reason"].as_str().unwrap().contains("pending"), "{refused}");
    assert!(l.mailbox.sent().is_empty() && l.store.logs().len() == logged);

    let (status, job) = l.engine.start_bulk(&admin(), &suspend_all(false), &l.mailbox).await.expect("started");
    assert_eq!((status, job["status"].as_str()), (201, Some("planning")));
    let id = job["id"].as_str().unwrap().to_owned();
    let sent = drain(&l, 0).await;
    let progress = l.engine.bulk_progress(&id, None, None).await.unwrap();
    assert_eq!(progress["state"], "finished", "{progress}");
    assert_eq!((progress["progress"]["done"].as_u64(), progress["progress"]["failed"].as_u64()), (Some(5), Some(1)));
    for n in 1..=5 {
        assert_eq!(l.store.product(&ContractProductId::parse(&format!("cp-b{n}")).unwrap()).unwrap().status, ProductStatus::Suspended);
    }
    // Each item's run is logged once and named by its item; the refused one says why.
    let items = progress["items"].as_array().unwrap();
    let runs: Vec<_> = l.store.logs().into_iter().skip(logged).collect();
    assert_eq!(runs.len(), 5);
    assert!(runs.iter().all(|e| e.action == "suspend-account" && e.actor["id"] == "admin-1"));
    for run in &runs {
        assert!(items.iter().any(|i| i["log_id"] == run.log_id.as_str() && i["status"] == "done"));
    }
    let failed = items.iter().find(|i| i["contract_product_id"] == "cp-1").unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("pending"));

    // Every message delivered again (a crash before SQS deleted them): nothing runs twice.
    let all = l.mailbox.sent();
    for (n, s) in all.iter().enumerate() {
        let group = s.fifo.as_ref().map(|(g, _)| g.as_str());
        l.worker.handle(batch(vec![record(&format!("again-{n}"), group, &s.body, 2)])).await;
    }
    assert_eq!(l.store.logs().len(), logged + 5);
    assert_eq!(l.mailbox.sent().len(), sent, "no step ran twice");
}

#[tokio::test]
async fn a_cancelled_job_runs_none_of_its_queued_items_and_an_interrupted_item_is_not_run_again() {
    let l = five_accounts().await;
    let logged = l.store.logs().len();
    let body = json!({ "blueprint": "web-hosting", "action": "suspend-account", "selection": { "ids": ["cp-b1", "cp-b2", "cp-b3", "cp-b2"] } });
    let (_, job) = l.engine.start_bulk(&admin(), &body, &l.mailbox).await.unwrap();
    let id = crate::domain::ids::BulkJobId::parse(job["id"].as_str().unwrap()).unwrap();
    // Plan and dispatch (the step messages) without running the items yet.
    let mut taken = 0;
    while let Some(step) = l.mailbox.sent().get(taken).cloned() {
        taken += 1;
        if step.body.contains("bulk_step") {
            l.worker.handle(batch(vec![record(&format!("s-{taken}"), step.fifo.as_ref().map(|(g, _)| g.as_str()), &step.body, 1)])).await;
        }
    }
    let items = l.store.bulk_items(&id);
    assert_eq!(items.len(), 3, "a repeated id is one item");
    // cp-b1 was started by a worker that stopped before its run was recorded.
    assert_eq!(l.engine.bulk().start_item(&id, &ContractProductId::parse("cp-b1").unwrap()).await.unwrap(), crate::ports::ItemStart::Started);
    l.engine.cancel_bulk(id.as_str()).await.expect("cancelled");
    assert!(matches!(l.engine.cancel_bulk(id.as_str()).await, Err(crate::engine::EngineError::Store(crate::ports::StoreError::Conflict(_)))));
    drain(&l, 0).await;
    let items = l.store.bulk_items(&id);
    let status = |cp: &str| items.iter().find(|i| i.contract_product_id.as_str() == cp).unwrap().status;
    use crate::domain::bulk::ItemStatus;
    assert_eq!((status("cp-b1"), status("cp-b2"), status("cp-b3")), (ItemStatus::Failed, ItemStatus::Cancelled, ItemStatus::Cancelled));
    assert!(items[0].error.as_deref().unwrap().contains("interrupted"));
    assert_eq!(l.store.logs().len(), logged, "nothing ran");
    let progress = l.engine.bulk_progress(id.as_str(), None, None).await.unwrap();
    assert_eq!((progress["state"].as_str(), progress["progress"]["cancelled"].as_u64()), (Some("cancelled"), Some(2)));
}

#[tokio::test]
async fn a_bulk_request_is_checked_before_anything_is_stored() {
    let l = lane(json!({}));
    for (body, field) in [
        (json!({ "blueprint": "web-hosting", "action": "fly", "selection": { "ids": ["cp-1"] } }), "action"),
        (json!({ "blueprint": "web-hosting", "action": "suspend-account", "selection": {} }), "selection"),
        (json!({ "blueprint": "web-hosting", "action": "suspend-account", "selection": { "ids": ["cp-1"], "filter": {} } }), "selection"),
        (json!({ "blueprint": "web-hosting", "action": "suspend-account", "params": { "colour": 1 }, "selection": { "ids": ["cp-1"] } }), "params.colour"),
        (json!({ "blueprint": "web-hosting", "action": "suspend-account", "selection": { "filter": { "blueprint": "seo" } } }), "selection.filter.blueprint"),
        (json!({ "blueprint": "web-hosting", "action": "suspend-account", "selection": { "ids": ["bad id"] } }), "selection.ids.0"),
        (json!({ "blueprint": "web-hosting", "action": "create-account", "params": { "username": "same" }, "selection": { "ids": ["cp-1"] } }), "params.username"),
    ] {
        match l.engine.start_bulk(&admin(), &body, &l.mailbox).await {
            Err(crate::engine::EngineError::Invalid { details, .. }) => assert!(details["fields"].get(field).is_some(), "{field}: {details}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(l.mailbox.sent().is_empty());
    assert!(l.engine.list_bulk(10, None).await.unwrap().0.is_empty());
}

/// Work for a configuration whose breaker is open waits, held until the breaker's time, and the
/// waits are not attempts: received far more often than the attempts allowed, it is neither
/// failed nor given up, and runs once the breaker closes. What waits behind it in its group
/// waits too.
#[tokio::test]
async fn work_waits_for_an_open_breaker_without_spending_its_attempts() {
    let l = lane(json!({}));
    let id = crate::domain::ids::ConfigurationId::parse("cfg-1").unwrap();
    let retry_at = crate::domain::time::now_millis() + 15_000;
    l.store.change_configuration(&id, |c| c.breaker = crate::domain::configuration::Breaker { open: true, retry_at_ms: retry_at, opens: 1, ..Default::default() });
    let paid = claimed(&l.store, "evt-1", "order.paid", "cp-1", order());
    let overdue = claimed(&l.store, "evt-2", "invoice.overdue", "cp-1", json!({}));
    for receives in 1..=(MAX_RECEIVES + 3) {
        let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, receives), record("m-2", Some("cp-1"), &overdue, receives)])).await;
        assert_eq!(response.batch_item_failures.len(), 2, "both wait (receive {receives})");
    }
    let holds = l.mailbox.holds();
    assert!(holds.iter().all(|(_, s)| (1..=15).contains(s)), "held until the breaker's time: {holds:?}");
    assert_eq!(l.store.event("evt-1").map(|e| e.0), Some(EventStatus::Processing), "neither failed nor given up");
    assert!(l.mailbox.sent().iter().all(|s| s.to != QueueName::LifecycleDeadLetter));
    assert!(l.store.logs().is_empty(), "nothing ran, nothing failed");
    // The breaker closes: the next receive runs both, in order.
    l.store.change_configuration(&id, |c| c.breaker = Default::default());
    let response = l.worker.handle(batch(vec![record("m-1", Some("cp-1"), &paid, MAX_RECEIVES + 4), record("m-2", Some("cp-1"), &overdue, MAX_RECEIVES + 4)])).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(l.store.product(&cp1()).unwrap().status, ProductStatus::Suspended);
    assert_eq!(l.store.event("evt-2").map(|e| e.0), Some(EventStatus::Done));
}

/// A drift sweep asks every active and suspended service of a configuration and finds exactly
/// those changed behind the engine's back: logged on each product, listed in the report; a
/// message delivered twice adds nothing twice.
#[tokio::test]
async fn a_drift_sweep_finds_exactly_the_services_changed_behind_the_engines_back() {
    let l = five_accounts().await;
    let partition = "cfg-1#web-hosting";
    let (objects, _) = crate::ports::DemoState::list(&l.store, partition, None, 100).await.unwrap();
    assert_eq!(objects.len(), 5);
    // Two changed at the panel by hand: one suspended, one moved to another package.
    for (n, (key, object)) in objects.iter().take(2).enumerate() {
        let (_, version) = crate::ports::DemoState::load(&l.store, partition, key).await.unwrap().unwrap();
        let mut changed = object.clone();
        if n == 0 {
            changed.insert("suspended".into(), json!(true));
        } else {
            changed.insert("package_name".into(), json!("platinum"));
        }
        crate::ports::DemoState::store(&l.store, partition, key, &changed, version).await.unwrap();
    }
    let logged = l.store.logs().len();
    let started = l.worker.invoked(super::worker::WorkerInput::Sweep { sweep: "drift".into(), configuration_id: None }, None).await;
    assert_eq!(started["sweeps"], 1, "{started}");
    drain(&l, 0).await;
    let id = crate::domain::ids::ConfigurationId::parse("cfg-1").unwrap();
    let report = l.engine.latest_drift(id.as_str()).await.expect("a report");
    assert!(report.finished_at.is_some(), "{report:?}");
    assert_eq!((report.checked, report.drifted_count, report.not_checked), (5, 2, 0), "{report:?}");
    let fields: Vec<Vec<&str>> = report.drifted.iter().map(|d| d.differences.iter().map(|x| x.field.as_str()).collect()).collect();
    assert!(fields.contains(&vec!["status"]) && fields.contains(&vec!["package_name"]), "{fields:?}");
    assert_eq!(report.usage_refreshed, 5, "usage data refreshed for each");
    let entries: Vec<_> = l.store.logs().into_iter().skip(logged).filter(|e| e.action == "drift").collect();
    assert_eq!(l.store.logs().iter().skip(logged).filter(|e| e.action == "get-usage-data").count(), 5);
    assert_eq!(entries.len(), 2, "only the drifted are logged as drift");
    assert!(entries.iter().all(|e| e.action == "drift" && e.status == LogStatus::Error && e.message.starts_with("drift: ")));
    assert!(entries.iter().any(|e| e.message.contains("status: active here, suspended at demo")), "{entries:?}");
    // Nothing was changed on the records: a person settles status and package.
    assert!(l.store.product(&ContractProductId::parse("cp-b1").unwrap()).is_some());
    // Every message again: the finished sweep adds nothing.
    for (n, s) in l.mailbox.sent().iter().enumerate() {
        l.worker.handle(batch(vec![record(&format!("again-{n}"), s.fifo.as_ref().map(|(g, _)| g.as_str()), &s.body, 2)])).await;
    }
    let again = l.engine.latest_drift(id.as_str()).await.unwrap();
    assert_eq!((again.checked, again.drifted_count), (5, 2));
    assert_eq!(l.store.logs().len(), logged + 2 + 5);
}
