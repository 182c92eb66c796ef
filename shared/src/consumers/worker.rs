//! The lifecycle worker: the SQS FIFO consumer that runs each billing event's action as the
//! system. Records are handled in order; at the first record that must be retried, it and every
//! later record of its message group are reported as failures (ReportBatchItemFailures), so a
//! group never runs out of order. A transient failure (5xx, timeout, a concurrent change) waits
//! a growing, jittered visibility timeout and is retried by SQS; a permanent one is recorded and
//! not retried; after the queue's maxReceiveCount the message goes to the dead-letter queue and
//! the event is marked failed. An event whose action already ran is not run again. The groups of
//! a batch run side by side, and a record is started only while it fits before the invocation's
//! deadline. An event's sealed data is opened here, for the run. On its schedule the function
//! sweeps claims the webhook left unqueued onto the queue.

use std::collections::HashMap;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::adapters::dynamodb::Tables;
use crate::adapters::dynamodb::configurations::ConfigurationStore;
use crate::adapters::dynamodb::events::{Begin, EventStore};
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::admin::products::Products;
use crate::catalogue::catalogue;
use crate::domain::FailureKind;
use crate::domain::actor::Actor;
use crate::domain::lifecycle::EventStatus;
use crate::engine::Engine;

/// The queue's maxReceiveCount (template.yaml): the last attempt before the DLQ.
pub const MAX_RECEIVES: u32 = 5;

#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    pub message_id: String,
    #[serde(default)]
    pub receipt_handle: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attributes: HashMap<String, String>,
    /// The queue's ARN.
    #[serde(default, rename = "eventSourceARN")]
    pub event_source_arn: String,
}

impl SqsRecord {
    pub fn receives(&self) -> u32 {
        self.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
    }
}

/// Whether a queue URL is the queue an ARN names (the name is the last part of both).
fn same_queue(url: &str, arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or_default();
    !name.is_empty() && url.rsplit('/').next() == Some(name)
}

/// What the worker function is invoked with: a batch of its queues, or the schedule's sweep.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WorkerInput {
    /// `{"sweep": "received-events"}`: the schedule (template.yaml) every few minutes.
    Sweep {
        sweep: String,
    },
    Batch(SqsEvent),
}

/// How long a claim may stay `received` before the sweep queues it (the webhook sends right after
/// claiming; this leaves a request in flight alone).
pub const SWEEP_AFTER_MS: i64 = 2 * 60 * 1000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SqsBatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// A growing, jittered delay before SQS hands a failed message out again: its seconds.
pub async fn back_off(sqs: &aws_sdk_sqs::Client, queue_url: &str, record: &SqsRecord, receives: u32, base_seconds: u64) -> u64 {
    let mut r = [0u8; 1];
    let _ = SystemRandom::new().fill(&mut r);
    let base = base_seconds.saturating_mul(1 << receives.saturating_sub(1).min(8));
    let seconds = (base + u64::from(r[0]) % base.max(1)).min(900);
    hold(sqs, queue_url, record, seconds).await;
    seconds
}

/// Makes a received message visible again in `seconds` (rather than the queue's visibility timeout).
pub(crate) async fn hold(sqs: &aws_sdk_sqs::Client, queue_url: &str, record: &SqsRecord, seconds: u64) {
    if let Err(e) = sqs.change_message_visibility().queue_url(queue_url).receipt_handle(&record.receipt_handle).visibility_timeout(seconds as i32).send().await {
        // The queue's own visibility timeout applies instead: later, but not lost.
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not shorten the retry delay");
    }
}

/// What became of one record.
enum Handled {
    Settled,
    Retry(String),
    /// Given up on, recorded as failed with an error entry: the message goes to the dead-letter
    /// queue now and the rest of its group goes on.
    GiveUp(String),
}

#[derive(Clone)]
pub struct Worker {
    engine: Engine,
    events: EventStore,
    products: ProductStore,
    configurations: ConfigurationStore,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    retry_base_seconds: u64,
    logs_table: String,
    /// Where re-checks of long-running actions wait (a standard queue: delayed messages).
    operations_queue_url: Option<String>,
    /// The lifecycle queue's dead-letter queue, where given-up work is moved.
    dead_letter_url: Option<String>,
}

/// The longest one record may take: two provider calls (a create whose answer was lost is first
/// checked with get-info) under the provider's deadline, and the store writes around them.
pub const RECORD_BUDGET: std::time::Duration = std::time::Duration::from_secs(2 * crate::engine::PROVIDER_DEADLINE.as_secs() + 10);

/// When a Lambda invocation ends (its context's deadline, ms since the epoch).
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub u64);

impl Deadline {
    /// The context's deadline; None where there is none (0).
    pub fn of(deadline_ms: u64) -> Option<Self> {
        (deadline_ms > 0).then_some(Deadline(deadline_ms))
    }

    /// Whether `budget` still fits before the deadline.
    pub fn fits(&self, budget: std::time::Duration) -> bool {
        let now = crate::domain::time::now_millis().max(0) as u64;
        self.0.saturating_sub(now) >= budget.as_millis() as u64
    }
}

/// How long a long-running action may stay in progress at the provider.
pub const OPERATION_DEADLINE_MS: i64 = 30 * 60 * 1000;

impl Worker {
    pub fn new(engine: Engine, ddb: aws_sdk_dynamodb::Client, tables: &Tables, sqs: aws_sdk_sqs::Client, queue_url: String, retry_base_seconds: u64) -> Self {
        Worker {
            engine,
            events: EventStore::new(ddb.clone(), &tables.main),
            products: ProductStore::new(ddb.clone(), &tables.main),
            configurations: ConfigurationStore::new(ddb, &tables.main),
            sqs,
            queue_url,
            retry_base_seconds,
            logs_table: tables.logs.clone(),
            operations_queue_url: std::env::var("OPERATIONS_QUEUE_URL").ok().filter(|u| !u.is_empty()),
            dead_letter_url: std::env::var("LIFECYCLE_DLQ_URL").ok().filter(|u| !u.is_empty()),
        }
    }

    /// The URL of the queue a record came from.
    fn queue_of(&self, record: &SqsRecord) -> &str {
        match &self.operations_queue_url {
            Some(url) if same_queue(url, &record.event_source_arn) => url,
            _ => &self.queue_url,
        }
    }

    /// Moves a given-up message to the dead-letter queue (where an operator can redrive it).
    async fn dead_letter(&self, record: &SqsRecord) -> Result<(), String> {
        let url = self.dead_letter_url.as_ref().ok_or("LIFECYCLE_DLQ_URL is not set")?;
        let mut send = self.sqs.send_message().queue_url(url).message_body(&record.body);
        if let Some(group) = record.attributes.get("MessageGroupId") {
            send = send.message_group_id(group).message_deduplication_id(&record.message_id);
        }
        send.send().await.map(|_| ()).map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }

    /// Work that failed its last allowed attempt for a reason of its own (not the provider's):
    /// recorded as failed with an error entry, to go to the dead-letter queue.
    async fn abandon(&self, record: &SqsRecord, why: &str) -> Handled {
        let why = format!("gave up after {} attempts: {why}", record.receives());
        let Ok(message) = serde_json::from_str::<Value>(&record.body) else { return Handled::GiveUp(why) };
        if message["kind"] == "operation" || message["kind"] == "check" {
            if let Ok((operation, cp, _, action)) = self.pending_operation(&message, record).await {
                self.fail_operation(&cp, &action, &operation.log_id.to_string(), &why, &operation).await;
            }
            return Handled::GiveUp(why);
        }
        let id = message["id"].as_str().unwrap_or_default();
        // The error entry first: an event shown as failed always has it.
        if let Ok(cp_id) = crate::domain::ids::ContractProductId::parse(message["contract_product_id"].as_str().unwrap_or_default())
            && let Ok(Some(cp)) = self.products.contract_product(&cp_id).await
        {
            let action = format!("lifecycle:{}", message["type"].as_str().unwrap_or_default());
            self.log_failure(&cp, &action, &format!("billing:{id}"), &format!("{why}; the event is in the dead-letter queue"), None).await;
        }
        let _ = self.events.set_status(id, EventStatus::Failed, None, Some(&why)).await;
        Handled::GiveUp(why)
    }

    /// Asks again later (a delayed message on the operations queue) about a long-running action.
    async fn schedule_check(&self, message: &Value, deadline_ms: i64) -> Handled {
        let Some(url) = &self.operations_queue_url else {
            return Handled::Retry("OPERATIONS_QUEUE_URL is not set".into());
        };
        let mut check = message.clone();
        check["kind"] = json!("check");
        check["deadline_ms"] = json!(deadline_ms);
        check.as_object_mut().map(|o| o.remove("params"));
        let delay = (self.retry_base_seconds * 2).clamp(1, 900) as i32;
        match self.sqs.send_message().queue_url(url).message_body(check.to_string()).delay_seconds(delay).send().await {
            Ok(_) => Handled::Settled,
            Err(e) => Handled::Retry(format!("scheduling a re-check: {}", aws_sdk_sqs::error::DisplayErrorContext(e))),
        }
    }

    /// The long-running action a message is about, if its entry is still pending (a redelivery of
    /// finished work, or a malformed message, is settled here).
    async fn pending_operation(&self, message: &Value, record: &SqsRecord) -> Result<(crate::engine::Operation, String, String, String), Handled> {
        let text = |k: &str| message[k].as_str().unwrap_or_default().to_owned();
        let (log_id, started_at, cp) = (text("log_id"), text("started_at"), text("contract_product_id"));
        let Ok(log) = crate::domain::ids::LogId::parse(&log_id) else {
            tracing::error!(message_id = %record.message_id, "a malformed operation message was dropped");
            return Err(Handled::Settled);
        };
        match self.products.log_status(&self.logs_table, &cp, &format!("{started_at}#{log_id}")).await {
            Ok(Some(status)) if status != "pending" => Err(Handled::Settled),
            Ok(_) => Ok((crate::engine::Operation { log_id: log, started_at }, cp, text("blueprint"), text("action"))),
            Err(e) => Err(Handled::Retry(e.to_string())),
        }
    }

    /// A re-check of a long-running action the provider reported in progress.
    async fn check_operation(&self, message: &Value, record: &SqsRecord) -> Handled {
        let (operation, cp, blueprint, action) = match self.pending_operation(message, record).await {
            Ok(found) => found,
            Err(handled) => return handled,
        };
        let log_id = operation.log_id.to_string();
        let deadline_ms = message["deadline_ms"].as_i64().unwrap_or(0);
        if crate::domain::time::now_millis() > deadline_ms {
            let why = format!("{blueprint}/{action} did not finish at the provider within {} minutes", OPERATION_DEADLINE_MS / 60_000);
            self.fail_operation(&cp, &action, &log_id, &why, &operation).await;
            return Handled::Settled;
        }
        let actor = Actor::Recorded(message["actor"].clone());
        match self.engine.check(&actor, &cp, &blueprint, &action, &operation).await {
            Ok(outcome) if outcome.in_progress => self.schedule_check(message, deadline_ms).await,
            Ok(_) => Handled::Settled,
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled,
                Some(_) => Handled::Retry(f.error.to_string()),
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => {
                    self.fail_operation(&cp, &action, &log_id, &format!("could not be checked: {}", f.error), &operation).await;
                    Handled::Settled
                }
            },
        }
    }

    /// An error entry on the product for work that ends here: an event given up on (its message
    /// goes to the dead-letter queue), or a long-running action that cannot run (its pending entry
    /// becomes this error).
    async fn log_failure(&self, cp: &crate::domain::product::ContractProduct, action: &str, source: &str, message: &str, operation: Option<&crate::engine::Operation>) {
        let mut entry = crate::domain::log::LogEntry {
            error: Some(json!({ "code": "provider_error", "message": message, "kind": "gave_up" })),
            ..crate::domain::log::LogEntry::note(cp, action, json!({ "role": "system", "id": source }), crate::domain::log::LogStatus::Error, message.to_owned())
        };
        // A long-running action's pending entry becomes this error.
        if let Some(o) = operation {
            entry.log_id = o.log_id.clone();
            entry.started_at = o.started_at.clone();
        }
        if let Err(e) = self.products.write_run(None, &self.logs_table, entry.item(), None).await {
            tracing::error!(error = %e, source, "a failure entry could not be logged");
        }
    }

    /// The sweep: claims the webhook made but did not get onto the queue (it stopped between the
    /// two) and the billing system has not sent again are queued now, as they were claimed.
    pub async fn sweep(&self) -> Value {
        let cutoff = crate::domain::time::format_millis(crate::domain::time::now_millis() - SWEEP_AFTER_MS);
        let stuck = match self.events.stuck_received(&cutoff, 100).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the sweep could not list received events");
                return json!({ "swept": 0, "error": e.to_string() });
            }
        };
        let mut queued = 0;
        for crate::adapters::dynamodb::events::Stuck { id, contract_product_id: cp, body, dedup_id } in &stuck {
            let sent = self.sqs.send_message().queue_url(&self.queue_url).message_body(body).message_group_id(cp).message_deduplication_id(dedup_id).send().await;
            match sent {
                Ok(_) => {
                    queued += 1;
                    tracing::warn!(event_id = %id, contract_product_id = %cp, "a claimed event left unqueued was queued by the sweep");
                    if let Err(e) = self.events.mark_queued(id).await {
                        tracing::warn!(event_id = %id, error = %e, "a swept event's status stays received (queued again next time; SQS and the worker drop the duplicate)");
                    }
                }
                Err(e) => tracing::error!(event_id = %id, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "the sweep could not queue an event"),
            }
        }
        json!({ "swept": queued, "found": stuck.len() })
    }

    /// Runs what the function was invoked with: a batch (before `deadline`) or the sweep.
    pub async fn invoked(&self, input: WorkerInput, deadline: Option<Deadline>) -> Value {
        match input {
            WorkerInput::Sweep { sweep } if sweep == "received-events" => self.sweep().await,
            WorkerInput::Sweep { sweep } => {
                tracing::error!(sweep, "an unknown sweep was asked for");
                json!({ "swept": 0, "error": format!("no sweep {sweep:?}") })
            }
            WorkerInput::Batch(event) => serde_json::to_value(self.handle_within(event, deadline).await).unwrap_or(Value::Null),
        }
    }

    /// Runs a batch with no deadline (tools and benchmarks).
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_within(event, None).await
    }

    /// Runs a batch: the records of one FIFO group in order, one after another; the groups (and
    /// the records of a standard queue, which have none) side by side. `deadline` is when the
    /// invocation ends (the Lambda context's, ms since the epoch): a record is started only while
    /// [`RECORD_BUDGET`] still fits before it, so an invocation is never killed mid-record; the
    /// records not started go back to the queue at once, in order.
    pub async fn handle_within(&self, event: SqsEvent, deadline: Option<Deadline>) -> SqsBatchResponse {
        let mut lanes: Vec<(String, Vec<SqsRecord>)> = Vec::new();
        for record in event.records {
            let group = record.attributes.get("MessageGroupId").cloned().unwrap_or_default();
            match lanes.iter_mut().find(|(g, _)| !g.is_empty() && *g == group) {
                Some((_, records)) => records.push(record),
                None => lanes.push((group, vec![record])),
            }
        }
        let mut running = Vec::new();
        for (group, records) in lanes {
            let ids: Vec<String> = records.iter().map(|r| r.message_id.clone()).collect();
            let worker = self.clone();
            let lane = tracing::Instrument::in_current_span(async move { worker.lane(&group, records, deadline).await });
            running.push((ids, tokio::spawn(lane)));
        }
        let mut response = SqsBatchResponse::default();
        for (ids, task) in running {
            match task.await {
                Ok(failures) => response.batch_item_failures.extend(failures),
                Err(e) => {
                    // A lane that died: every record of it is tried again.
                    tracing::error!(error = %e, "a lane of the batch failed");
                    response.batch_item_failures.extend(ids.into_iter().map(|item_identifier| ItemFailure { item_identifier }));
                }
            }
        }
        response
    }

    /// The records of one group in order: at the first that must be retried, it and the rest
    /// are reported as failures.
    async fn lane(&self, group: &str, records: Vec<SqsRecord>, deadline: Option<Deadline>) -> Vec<ItemFailure> {
        let mut failures = Vec::new();
        let mut stopped: Option<u64> = None;
        for (n, record) in records.into_iter().enumerate() {
            // The first record of a lane always runs (the function's timeout is set to fit one
            // with room: template.yaml); a later one only while its budget still fits.
            if stopped.is_none() && n > 0 && deadline.is_some_and(|d| !d.fits(RECORD_BUDGET)) {
                // Not enough time left for one more: this record and the rest of its group go
                // back to the queue now, in order, rather than be cut off mid-run.
                tracing::info!(message_id = %record.message_id, "the invocation's time is nearly up: left for the next one");
                stopped = Some(0);
            }
            if let Some(seconds) = stopped {
                if record.receives() >= MAX_RECEIVES {
                    // Its last receive went by behind the earlier one: recorded as given up, not
                    // left for the queue to move unrecorded.
                    let _ = self.abandon(&record, "it waited behind an earlier event of its service that kept failing").await;
                    if self.dead_letter(&record).await.is_ok() {
                        continue;
                    }
                }
                // Behind a record that waits: it comes back with it, in order (a message of the
                // group left in flight would hold the whole group for the visibility timeout).
                hold(&self.sqs, self.queue_of(&record), &record, seconds).await;
                failures.push(ItemFailure { item_identifier: record.message_id });
                continue;
            }
            let span = tracing::info_span!("message", message_id = %record.message_id, group = %group);
            let receives = record.receives();
            let handled = match tracing::Instrument::instrument(self.process(&record), span).await {
                // The queue would move it to the dead-letter queue on its next receive, unrecorded.
                Handled::Retry(why) if receives >= MAX_RECEIVES => self.abandon(&record, &why).await,
                other => other,
            };
            let why = match handled {
                Handled::Settled => continue,
                // A standard queue's own redrive policy moves it on its next receive.
                Handled::GiveUp(why) if group.is_empty() => why,
                Handled::GiveUp(why) => match self.dead_letter(&record).await {
                    Ok(()) => {
                        tracing::error!(message_id = %record.message_id, reason = %why, "given up; moved to the dead-letter queue");
                        continue;
                    }
                    // Left to the queue's redrive policy instead.
                    Err(e) => format!("{why}; moving it to the dead-letter queue failed: {e}"),
                },
                Handled::Retry(why) => why,
            };
            tracing::warn!(message_id = %record.message_id, receives, reason = %why, "will retry");
            let seconds = back_off(&self.sqs, self.queue_of(&record), &record, receives, self.retry_base_seconds).await;
            // Only FIFO records have a group to keep in order.
            if !group.is_empty() {
                stopped = Some(seconds);
            }
            failures.push(ItemFailure { item_identifier: record.message_id });
        }
        failures
    }

    /// A long-running action started over HTTP: run it, replacing its pending log entry.
    async fn finish_operation(&self, message: &Value, record: &SqsRecord) -> Handled {
        let (operation, cp, blueprint, action) = match self.pending_operation(message, record).await {
            Ok(found) => found,
            Err(handled) => return handled,
        };
        let log_id = operation.log_id.to_string();
        let params = match self.engine.open_operation_params(&blueprint, &action, &message["params"], &log_id) {
            Ok(p) => p,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let actor = Actor::Recorded(message["actor"].clone());
        let receives: u32 = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        match self.engine.finish(&actor, &cp, &blueprint, &action, &json!({ "params": params }), &operation).await {
            Ok(outcome) if outcome.in_progress => self.schedule_check(message, crate::domain::time::now_millis() + OPERATION_DEADLINE_MS).await,
            Ok(_) => Handled::Settled,
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled,
                Some(_) if receives < MAX_RECEIVES => Handled::Retry(f.error.to_string()),
                Some(_) => {
                    // Given up: the pending entry becomes the error.
                    let why = format!("gave up after {receives} attempts: {}; the work is in the dead-letter queue", f.error);
                    self.fail_operation(&cp, &action, &log_id, &why, &operation).await;
                    Handled::GiveUp(why)
                }
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => {
                    // Refused when it came to run (the product changed since it started).
                    self.fail_operation(&cp, &action, &log_id, &format!("refused when it came to run: {}", f.error), &operation).await;
                    Handled::Settled
                }
            },
        }
    }

    async fn fail_operation(&self, cp: &str, action: &str, log_id: &str, message: &str, operation: &crate::engine::Operation) {
        tracing::error!(log_id, "{message}");
        let product = match crate::domain::ids::ContractProductId::parse(cp) {
            Ok(id) => self.products.contract_product(&id).await.ok().flatten(),
            Err(_) => None,
        };
        if let Some(product) = product {
            self.log_failure(&product, action, &format!("operation:{log_id}"), message, Some(operation)).await;
        }
    }

    async fn settle(&self, id: &str, status: EventStatus, error: Option<&str>) -> Handled {
        match self.events.set_status(id, status, None, error).await {
            Ok(()) | Err(crate::adapters::dynamodb::StoreError::Conflict(_)) => Handled::Settled,
            Err(e) => Handled::Retry(e.to_string()),
        }
    }

    async fn process(&self, record: &SqsRecord) -> Handled {
        let event: Value = match serde_json::from_str(&record.body) {
            Ok(v) => v,
            Err(e) => {
                // The webhook queues only checked events: this is a bug, kept visible (its id, never its body:
                // billing data may hold passwords), not retried.
                tracing::error!(error = %e, message_id = %record.message_id, bytes = record.body.len(), "malformed lifecycle message dropped");
                return Handled::Settled;
            }
        };
        if event["kind"] == "operation" {
            return self.finish_operation(&event, record).await;
        }
        if event["kind"] == "check" {
            return self.check_operation(&event, record).await;
        }
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default();
        let cp_raw = event["contract_product_id"].as_str().unwrap_or_default();
        let data = match crate::domain::lifecycle::opened_data(&event, self.engine.secrets()) {
            Ok(d) => d,
            Err(e) => return self.settle(&id, EventStatus::Failed, Some(&format!("the event's sealed data does not open: {e}"))).await,
        };
        let receives: u32 = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        match self.events.begin(&id).await {
            Ok(Begin::Started) => {}
            Ok(Begin::Handled) => {
                tracing::info!(event_id = %id, "already handled");
                return Handled::Settled;
            }
            Ok(Begin::Missing) => {
                // Only the webhook queues events, after claiming them: kept visible, not retried.
                tracing::error!(event_id = %id, message_id = %record.message_id, "a queued event without its record was dropped");
                return Handled::Settled;
            }
            Err(e) => return Handled::Retry(e.to_string()),
        }
        let cp_id = match crate::domain::ids::ContractProductId::parse(cp_raw) {
            Ok(c) => c,
            Err(e) => return self.settle(&id, EventStatus::Failed, Some(&e)).await,
        };
        let cp = match self.products.contract_product(&cp_id).await {
            Ok(Some(cp)) => cp,
            Ok(None) if kind == "order.paid" => {
                // A billing system only ever sends webhooks: the first order of a service makes it.
                let body = json!({
                    "id": cp_raw,
                    "client_id": data["client_id"],
                    "product_id": data["product_id"],
                    "service_identifier": data["service_identifier"],
                    "provision_fields": data["provision_fields"],
                });
                let body = Value::Object(body.as_object().cloned().unwrap_or_default().into_iter().filter(|(_, v)| !v.is_null()).collect());
                let products = Products { products: &self.products, configurations: &self.configurations, secrets: self.engine.secrets(), publisher: self.engine.publisher() };
                match products.create_contract_product_from(&body).await {
                    Ok(cp) => cp,
                    Err(e) if e.status() >= 500 => return Handled::Retry(e.to_string()),
                    Err(e) => return self.settle(&id, EventStatus::Failed, Some(&format!("the contract product could not be made: {e}"))).await,
                }
            }
            Ok(None) => return self.settle(&id, EventStatus::Failed, Some("no such contract product")).await,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let Some(b) = catalogue().blueprint(&cp.blueprint) else {
            return self.settle(&id, EventStatus::Failed, Some("unknown blueprint")).await;
        };
        let Some((action, params)) = crate::domain::lifecycle::action_for(kind, b, &cp, &data) else {
            tracing::info!(event_id = %id, kind, status = cp.status.as_str(), "nothing to do");
            return self.settle(&id, EventStatus::Done, None).await;
        };
        let actor = Actor::System(format!("billing:{id}"));
        let completion = crate::ports::Completion { event_id: id.clone() };
        let body = json!({ "params": params });
        match self.engine.run_on(&actor, cp.clone(), b.id, action.id, &body, Some(&completion)).await {
            Ok(outcome) => {
                tracing::info!(event_id = %id, action = action.id, log_id = %outcome.log_id, "event handled");
                Handled::Settled
            }
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled, // recorded as failed with the run
                Some(_) if receives >= MAX_RECEIVES => {
                    let why = format!("gave up after {receives} attempts: {}", f.error);
                    // The error entry first: an event shown as failed always has it.
                    self.log_failure(&cp, action.id, &format!("billing:{id}"), &format!("{why}; the event is in the dead-letter queue"), None).await;
                    let _ = self.events.set_status(&id, EventStatus::Failed, f.log_id.as_ref().map(|l| l.as_str()), Some(&why)).await;
                    tracing::error!(event_id = %id, "{why}; the message goes to the dead-letter queue");
                    Handled::GiveUp(why)
                }
                Some(_) => Handled::Retry(f.error.to_string()),
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => self.settle(&id, EventStatus::Failed, Some(&f.error.to_string())).await,
            },
        }
    }
}
