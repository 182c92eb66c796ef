//! (c) Worker throughput through the SQS emulator: lifecycle events (package changes on demo
//! hosting accounts, each a real action with its provider state, log entry and event
//! completion) taken off the lifecycle FIFO queue by pollers that play the event source mapping
//! and hand each batch to the worker in process; against its floor: a loop with as many pollers
//! on the same queue and the same messages that makes, bare, the very calls the worker makes per
//! event (the claim, the three reads, the provider's write, the transaction, the send) and
//! nothing else. A receive-and-delete loop is shown beside them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use serde_json::{Value, json};
use shared::adapters::dynamodb::Tables;
use shared::api::action::ActionApi;
use shared::api::admin::Admin;
use shared::api::webhook::WebhookApi;
use shared::consumers::SqsEvent;
use shared::consumers::worker::Worker;
use shared::engine::Engine;
use shared::secrets::sign;

use crate::common::{Aws, Error, admin_token, authenticator, env, request, unique};

pub struct WorkerReport {
    pub events: usize,
    pub groups: usize,
    pub pollers: usize,
    pub worker_per_second: f64,
    /// The floor: the worker's calls per event, made bare.
    pub floor_per_second: f64,
    /// Receive and delete only.
    pub bare_per_second: f64,
    /// Round trips per event during the worker's run, by service (DynamoDB, SQS).
    pub per_event: Vec<(String, f64)>,
}

/// Demo hosting accounts to change packages on, one message group each: their contract products.
pub async fn accounts(aws: &Aws, tables: &Tables, count: usize, settings: Value) -> Result<Vec<String>, Error> {
    let token = admin_token()?;
    let admin = Admin::new(authenticator()?, &shared::adapters::dynamodb::Dynamo::new(aws.ddb.clone(), tables.clone()), shared::adapters::ssm::secret_box(&aws.config).await?);
    let cfg = admin
        .handle(request("POST", "/provision-configurations", &token, Some(&json!({ "name": unique("bench-demo"), "blueprint": "web-hosting", "provider": "demo", "settings": settings }))))
        .await
        .map_err(|e| e.to_string())?;
    let cfg: Value = serde_json::from_str(&cfg.body)?;
    let cfg_id = cfg["id"].as_str().ok_or_else(|| format!("configuration: {cfg}"))?.to_owned();
    let mut ids = Vec::new();
    let engine = Engine::new(shared::adapters::dynamodb::stores(aws.ddb.clone(), tables), Arc::new(shared::adapters::ssm::secret_box(&aws.config).await?));
    let api = ActionApi::new(authenticator()?, engine, None);
    for _ in 0..count {
        let cp = admin
            .handle(request(
                "POST",
                "/contract-products",
                &token,
                Some(&json!({ "client_id": "bench-client", "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg_id } })),
            ))
            .await
            .map_err(|e| e.to_string())?;
        let cp: Value = serde_json::from_str(&cp.body)?;
        let id = cp["id"].as_str().ok_or_else(|| format!("contract product: {cp}"))?.to_owned();
        let path = format!("/contract-products/{id}/actions/web-hosting/create-account");
        let made = api
            .handle(request("POST", &path, &token, Some(&json!({ "params": { "email": "bench@example.net", "domain": "bench.example.net", "package_name": "basic" } }))))
            .await
            .map_err(|e| e.to_string())?;
        if made.status != 200 {
            return Err(format!("create-account: {}", made.body).into());
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A webhook request as the billing system sends it, signed.
pub fn webhook(body: &Value) -> Result<shared::api::HttpRequest, Error> {
    let text = body.to_string();
    let mut r = request("POST", "/webhooks/billing", "", Some(body));
    r.headers.remove("authorization");
    r.headers.insert("x-signature".into(), sign(env("WEBHOOK_SECRET")?.as_bytes(), text.as_bytes()));
    Ok(r)
}

pub fn in_process(worker: Worker) -> infra::poller::InProcess {
    let worker = Arc::new(worker);
    Arc::new(move |event: Value| {
        let worker = worker.clone();
        Box::pin(async move {
            let event: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
            serde_json::to_string(&worker.handle(event).await).map_err(|e| e.to_string())
        })
    })
}

pub fn mapping(queue_url: &str) -> infra::local::EventSourceMapping {
    infra::local::EventSourceMapping {
        function: "worker".into(),
        queue_arn: "arn:aws:sqs:us-east-1:123456789012:bench".into(),
        queue_url: queue_url.to_owned(),
        batch_size: 10,
        report_batch_item_failures: true,
    }
}

/// Runs `pollers` pollers until `total` messages were deleted; the seconds it took.
pub async fn drain(aws: &Aws, queue_url: &str, worker: Worker, pollers: usize, total: usize) -> Result<f64, Error> {
    let deleted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pollers {
        let poller = infra::poller::Poller::in_process(mapping(queue_url), aws.sqs.clone(), "us-east-1", in_process(worker.clone()));
        let deleted = deleted.clone();
        tasks.spawn(async move {
            while deleted.load(Ordering::Relaxed) < total {
                match poller.poll_once().await {
                    Ok(o) => {
                        deleted.fetch_add(o.deleted, Ordering::Relaxed);
                    }
                    Err(e) => return Err::<(), Error>(e.to_string().into()),
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

pub async fn run(aws: &Aws, events: usize, groups: usize, pollers: usize) -> Result<WorkerReport, Error> {
    let tables = Tables::from_env()?;
    let queue_url = env("LIFECYCLE_QUEUE_URL")?;
    let products = accounts(aws, &tables, groups, json!({ "server_hostname": "srv1.example.net" })).await?;
    let bodies: Vec<(String, Value)> = (0..events)
        .map(|i| {
            let cp = &products[i % groups];
            (cp.clone(), json!({ "id": unique("ev-bench"), "type": "contract.package_changed", "contract_product_id": cp, "occurred_at": shared::domain::time::now_rfc3339(), "data": { "package": format!("plan-{i}") } }))
        })
        .collect();

    // The bare loop: the same messages, received and deleted, nothing else.
    send_all(aws, &queue_url, &bodies).await?;
    let bare = bare_loop(aws, &queue_url, pollers, events, None).await?;
    // The floor: the same messages, and per message the calls the worker makes, bare.
    send_all(aws, &queue_url, &bodies).await?;
    let floor = bare_loop(aws, &queue_url, pollers, events, Some(Floor { main: tables.main.clone(), logs: tables.logs.clone(), read: Default::default() })).await?;
    aws.calls.take();

    // The worker: the same events, accepted by the webhook (claimed and queued), then run.
    let secrets = Arc::new(shared::adapters::ssm::secret_box(&aws.config).await?);
    let dynamo = shared::adapters::dynamodb::Dynamo::new(aws.ddb.clone(), tables.clone());
    let lifecycle = Arc::new(shared::adapters::sqs::SqsMailbox::lifecycle(aws.sqs.clone(), queue_url.clone()));
    let checker = Arc::new(Engine::new(shared::adapters::cache::remembering(dynamo.stores()), secrets.clone()));
    let hook = WebhookApi::new(env("WEBHOOK_SECRET")?.as_bytes(), dynamo.events(), dynamo.products(), lifecycle, checker);
    for (_, body) in &bodies {
        let answer = hook.handle(webhook(body)?).await.map_err(|e| e.to_string())?;
        if answer.status != 202 {
            return Err(format!("webhook: {} {}", answer.status, answer.body).into());
        }
    }
    let stores = shared::adapters::cache::remembering(shared::adapters::dynamodb::stores(aws.ddb.clone(), &tables));
    let engine = Engine::new(stores.clone(), secrets);
    let records = Arc::new(shared::adapters::dynamodb::events::EventStore::new(aws.ddb.clone(), &tables.main));
    let worker = Worker::new(engine, records, stores.products, Arc::new(shared::adapters::sqs::SqsMailbox::for_worker(aws.sqs.clone(), queue_url.clone())), 1);
    aws.calls.take();
    let seconds = drain(aws, &queue_url, worker, pollers, events).await?;
    let mut per_event: Vec<(String, f64)> = Vec::new();
    for (_, op) in aws.calls.take() {
        match per_event.iter_mut().find(|(name, _)| *name == op) {
            Some((_, n)) => *n += 1.0,
            None => per_event.push((op, 1.0)),
        }
    }
    per_event.iter_mut().for_each(|(_, n)| *n /= events as f64);
    per_event.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(WorkerReport { events, groups, pollers, worker_per_second: events as f64 / seconds, floor_per_second: events as f64 / floor, bare_per_second: events as f64 / bare, per_event })
}

/// Puts the messages on the queue, ten to a batch, each in its contract product's group.
async fn send_all(aws: &Aws, queue_url: &str, bodies: &[(String, Value)]) -> Result<(), Error> {
    for chunk in bodies.chunks(10) {
        let entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, (cp, b))| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(b.to_string()).message_group_id(cp).message_deduplication_id(unique("bare")).build())
            .collect::<Result<_, _>>()?;
        aws.sqs.send_message_batch().queue_url(queue_url).set_entries(Some(entries)).send().await?;
    }
    Ok(())
}

/// An SDK error with its causes, one line.
fn show(e: impl std::error::Error) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

/// Where the floor's calls go.
#[derive(Clone)]
struct Floor {
    main: String,
    logs: String,
    /// The configurations read so far: like the worker (adapters::cache), the floor reads a
    /// configuration once, not per event (a run shorter than the cache's 30 s).
    read: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Floor {
    /// The calls the worker makes for one event, bare: claim the event (a conditional update),
    /// read the contract product, its configuration (the first time only, as the worker
    /// remembers it) and the demo's account, write the account
    /// back, one transaction (the product under a condition, the log entry, the event's
    /// completion, the outgoing event's outbox record).
    async fn one(&self, aws: &Aws, cp: &str, message_id: &str) -> Result<(), Error> {
        self.calls(aws, cp, message_id).await.map_err(|e| format!("{cp}: {e}").into())
    }

    async fn calls(&self, aws: &Aws, cp: &str, message_id: &str) -> Result<(), String> {
        let key = |pk: String, sk: &str| std::collections::HashMap::from([("pk".to_owned(), AttributeValue::S(pk)), ("sk".to_owned(), AttributeValue::S(sk.to_owned()))]);
        let ddb = &aws.ddb;
        let event_key = key(format!("BENCHFLOOR#{message_id}"), "EVT");
        ddb.update_item()
            .table_name(&self.main)
            .set_key(Some(event_key.clone()))
            .update_expression("SET #s = :p")
            .condition_expression("attribute_not_exists(#s) OR #s <> :done")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":p", AttributeValue::S("processing".into()))
            .expression_attribute_values(":done", AttributeValue::S("done".into()))
            .send()
            .await
            .map_err(show)?;
        let product = ddb.get_item().table_name(&self.main).set_key(Some(key(format!("CP#{cp}"), "CP"))).consistent_read(true).send().await.map_err(show)?;
        let product = product.item().cloned().ok_or_else(|| format!("no contract product {cp}"))?;
        let text = |k: &str| product.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let cfg = text("provision_configuration_id");
        let first = self.read.lock().map_err(|_| "poisoned")?.insert(cfg.clone());
        if first {
            ddb.get_item().table_name(&self.main).set_key(Some(key(format!("CFG#{cfg}"), "CFG"))).consistent_read(true).send().await.map_err(show)?;
        }
        let account_key = key(format!("DEMO#{cfg}#web-hosting"), &text("service_identifier").to_lowercase());
        let account = ddb.get_item().table_name(&self.main).set_key(Some(account_key)).consistent_read(true).send().await.map_err(show)?;
        let account = account.item().cloned().ok_or("no demo account")?;
        ddb.put_item().table_name(&self.main).set_item(Some(account)).send().await.map_err(show)?;
        let mut log = key(cp.to_owned(), &format!("{}#floor-{message_id}", shared::domain::time::now_rfc3339()));
        log.insert("message".into(), AttributeValue::S("floor".into()));
        let event = unique("ev-floor");
        let mut outbox = key(format!("OUTBOX#{event}"), "OUTBOX");
        outbox.insert("event".into(), AttributeValue::S(json!({ "id": event, "contract_product_id": cp }).to_string()));
        let writes = vec![
            TransactWriteItem::builder().put(Put::builder().table_name(&self.main).set_item(Some(product)).condition_expression("attribute_exists(pk)").build().map_err(show)?).build(),
            TransactWriteItem::builder().put(Put::builder().table_name(&self.logs).set_item(Some(log)).build().map_err(show)?).build(),
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.main)
                        .set_key(Some(event_key))
                        .update_expression("SET #s = :done")
                        .expression_attribute_names("#s", "status")
                        .expression_attribute_values(":done", AttributeValue::S("done".into()))
                        .build()
                        .map_err(show)?,
                )
                .build(),
            TransactWriteItem::builder().put(Put::builder().table_name(&self.main).set_item(Some(outbox)).build().map_err(show)?).build(),
        ];
        ddb.transact_write_items().set_transact_items(Some(writes)).send().await.map_err(show)?;
        Ok(())
    }
}

/// `pollers` pollers receive and delete until `total` messages are gone; with a `floor`, each
/// message's calls are made first, as the worker runs a batch: a group's messages in order, the
/// groups side by side. The seconds it took.
async fn bare_loop(aws: &Aws, queue_url: &str, pollers: usize, total: usize, floor: Option<Floor>) -> Result<f64, Error> {
    let aws = Arc::new(Aws { config: aws.config.clone(), ddb: aws.ddb.clone(), sqs: aws.sqs.clone(), calls: aws.calls.clone() });
    let deleted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pollers {
        let (aws, url, deleted, floor) = (aws.clone(), queue_url.to_owned(), deleted.clone(), floor.clone());
        tasks.spawn(async move {
            while deleted.load(Ordering::Relaxed) < total {
                let got = aws
                    .sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                    .send()
                    .await?;
                if let Some(floor) = &floor {
                    // As the worker runs a batch: each group's messages in order, the groups side by side.
                    let mut lanes: Vec<(String, Vec<String>)> = Vec::new();
                    for m in got.messages() {
                        let group = m.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)).cloned().unwrap_or_default();
                        let id = m.message_id().unwrap_or_default().to_owned();
                        match lanes.iter_mut().find(|(g, _)| *g == group) {
                            Some((_, ids)) => ids.push(id),
                            None => lanes.push((group, vec![id])),
                        }
                    }
                    let mut calls = tokio::task::JoinSet::new();
                    for (group, ids) in lanes {
                        let (aws, floor) = (aws.clone(), floor.clone());
                        calls.spawn(async move {
                            for id in ids {
                                floor.one(&aws, &group, &id).await.map_err(|e| format!("floor: {e}"))?;
                            }
                            Ok::<_, String>(())
                        });
                    }
                    while let Some(done) = calls.join_next().await {
                        done?.map_err(Error::from)?;
                    }
                }
                let entries: Vec<DeleteMessageBatchRequestEntry> = got
                    .messages()
                    .iter()
                    .enumerate()
                    .map(|(i, m)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(m.receipt_handle().unwrap_or_default()).build())
                    .collect::<Result<_, _>>()?;
                if !entries.is_empty() {
                    let n = entries.len();
                    aws.sqs.delete_message_batch().queue_url(&url).set_entries(Some(entries)).send().await?;
                    deleted.fetch_add(n, Ordering::Relaxed);
                }
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}
