//! The lifecycle worker: the SQS FIFO consumer that runs each billing event's action as the
//! system. Records are handled in order; at the first record that must be retried, it and every
//! later record of its message group are reported as failures (ReportBatchItemFailures), so a
//! group never runs out of order. A transient failure (5xx, timeout, a concurrent change) waits
//! a growing, jittered visibility timeout and is retried by SQS; a permanent one is recorded and
//! not retried; after [`MAX_RECEIVES`] attempts the worker marks the event failed and moves the
//! message to the dead-letter queue. Work whose configuration's third party is not called now
//! (its breaker open, its limits full) waits, held, and a wait is not an attempt (counted in the
//! store by message id). An event whose action already ran is not run again. The groups of
//! a batch run side by side, and a record is started only while it fits before the invocation's
//! deadline. An event's sealed data is opened here, for the run. On its schedule the function
//! sweeps claims the webhook left unqueued onto the queue.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Deadline, ItemFailure, SqsBatchResponse, SqsEvent, SqsRecord, back_off, hold};
use crate::catalogue::catalogue;
use crate::domain::FailureKind;
use crate::domain::actor::Actor;
use crate::domain::ids::LogId;
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::product::ContractProduct;
use crate::engine::{Engine, Operation};
use crate::ports::{Begin, CheckMessage, ContractProducts, LifecycleEvents, Mailbox, OperationMessage, QueueName, RunRecord, Stuck, Work, WorkMessage};

/// Attempts before the worker gives work up (recorded) and moves it to the dead-letter queue
/// itself; receives that were waits (see [`QUEUE_MAX_RECEIVES`]) do not count.
pub const MAX_RECEIVES: u32 = 5;

/// What the worker function is invoked with: a batch of its queues, or the schedule's sweep.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WorkerInput {
    /// `{"sweep": "received-events"}`: the schedule (template.yaml) every few minutes;
    /// `{"sweep": "drift"}`: the daily drift sweep of every configuration (one, with
    /// `"configuration_id"`).
    Sweep {
        sweep: String,
        #[serde(default)]
        configuration_id: Option<String>,
    },
    Batch(SqsEvent),
}

/// How long a claim may stay `received` before the sweep queues it (the webhook sends right after
/// claiming; this leaves a request in flight alone).
pub const SWEEP_AFTER_MS: i64 = 2 * 60 * 1000;

/// The engine's handle on the pending entry a work message is about.
fn operation_of(work: &Work) -> Operation {
    Operation { log_id: work.log_id.clone(), started_at: work.started_at.clone() }
}

/// What became of one record.
pub(super) enum Handled {
    Settled,
    Retry(String),
    /// Given up on, recorded as failed with an error entry: the message goes to the dead-letter
    /// queue now and the rest of its group goes on.
    GiveUp(String),
    /// Not tried: its configuration's third party is not called now (breaker open, limits
    /// full). It waits this many seconds, and the wait is not counted as an attempt.
    Defer(u64),
}

/// The queues' own receive limit for the worker's queues (template.yaml's maxReceiveCount):
/// waits are not attempts, so a message may be received this often while its configuration's
/// breaker stays open (hours, as the breaker's cooldown grows); at the last receive the worker
/// gives it up itself, recorded, rather than let the queue move it unrecorded.
pub const QUEUE_MAX_RECEIVES: u32 = 100;

#[derive(Clone)]
pub struct Worker {
    pub(super) engine: Engine,
    events: Arc<dyn LifecycleEvents>,
    pub(super) products: Arc<dyn ContractProducts>,
    /// The lifecycle queue (swept claims), the operations queue (delayed re-checks of
    /// long-running actions) and the lifecycle dead-letter queue (given-up work).
    pub(super) mailbox: Arc<dyn Mailbox>,
    retry_base_seconds: u64,
}

/// The longest one record may take: two provider calls (a create whose answer was lost is first
/// checked with get-info) under the provider's deadline, and the store writes around them.
pub const RECORD_BUDGET: std::time::Duration = std::time::Duration::from_secs(2 * crate::engine::PROVIDER_DEADLINE.as_secs() + 10);

/// How long a long-running action may stay in progress at the provider.
pub const OPERATION_DEADLINE_MS: i64 = 30 * 60 * 1000;

impl Worker {
    pub fn new(engine: Engine, events: Arc<dyn LifecycleEvents>, products: Arc<dyn ContractProducts>, mailbox: Arc<dyn Mailbox>, retry_base_seconds: u64) -> Self {
        Worker { engine, events, products, mailbox, retry_base_seconds }
    }

    /// Moves a given-up message to the dead-letter queue (where an operator can redrive it).
    async fn dead_letter(&self, record: &SqsRecord) -> Result<(), String> {
        let fifo = record.attributes.get("MessageGroupId").map(|group| (group.as_str(), record.message_id.as_str()));
        self.mailbox.send(QueueName::LifecycleDeadLetter, &record.body, fifo, 0).await
    }

    /// Work that failed its last allowed attempt for a reason of its own (not the provider's):
    /// recorded as failed with an error entry, to go to the dead-letter queue.
    async fn abandon(&self, record: &SqsRecord, why: &str) -> Handled {
        let why = format!("gave up after {} attempts: {why}", record.receives());
        let Ok(message) = serde_json::from_str::<Value>(&record.body) else { return Handled::GiveUp(why) };
        if let Ok(crate::domain::bulk::BulkMessage::BulkItem { job_id, contract_product_id }) = serde_json::from_value(message.clone()) {
            // The item ends failed (from wherever it was), its message in the dead-letter queue.
            let bulk = self.engine.bulk();
            for from in [crate::domain::bulk::ItemStatus::Running, crate::domain::bulk::ItemStatus::Queued] {
                if bulk.set_item(&job_id, &contract_product_id, from, crate::domain::bulk::ItemStatus::Failed, None, Some(&why)).await.is_ok() {
                    break;
                }
            }
            return Handled::GiveUp(why);
        }
        if message.get("kind").is_some() {
            let Ok(message) = serde_json::from_value::<WorkMessage>(message) else { return Handled::GiveUp(why) };
            let work = message.work();
            let operation = operation_of(work);
            if self.pending(work.contract_product_id.as_str(), &operation).await.is_ok() {
                self.fail_operation(work.contract_product_id.as_str(), &work.action, &why, &operation).await;
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
    async fn schedule_check(&self, check: CheckMessage) -> Handled {
        let body = match serde_json::to_string(&WorkMessage::Check(check)) {
            Ok(b) => b,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let delay = (self.retry_base_seconds * 2).clamp(1, 900) as u32;
        match self.mailbox.send(QueueName::Operations, &body, None, delay).await {
            Ok(()) => Handled::Settled,
            Err(e) => Handled::Retry(format!("scheduling a re-check: {e}")),
        }
    }

    /// Whether a long-running action's entry is still pending (a redelivery of finished work is
    /// settled here).
    async fn pending(&self, cp: &str, operation: &Operation) -> Result<(), Handled> {
        match self.products.log_status(cp, &operation.started_at, operation.log_id.as_str()).await {
            Ok(Some(status)) if status != LogStatus::Pending => Err(Handled::Settled),
            Ok(_) => Ok(()),
            Err(e) => Err(Handled::Retry(e.to_string())),
        }
    }

    /// A re-check of a long-running action the provider reported in progress.
    async fn check_operation(&self, message: CheckMessage) -> Handled {
        let operation = operation_of(&message.work);
        let Work { contract_product_id: cp, blueprint, action, actor, .. } = &message.work;
        let cp = cp.as_str();
        if let Err(handled) = self.pending(cp, &operation).await {
            return handled;
        }
        if crate::domain::time::now_millis() > message.deadline_ms {
            let why = format!("{blueprint}/{action} did not finish at the provider within {} minutes", OPERATION_DEADLINE_MS / 60_000);
            self.fail_operation(cp, action, &why, &operation).await;
            return Handled::Settled;
        }
        let actor = Actor::Recorded(actor.clone());
        match self.engine.check(&actor, cp, blueprint, action, &operation).await {
            Ok(outcome) if outcome.in_progress => self.schedule_check(message).await,
            Ok(_) => Handled::Settled,
            Err(f) if f.error.deferral().is_some() => Handled::Defer(f.error.deferral().unwrap_or(1)),
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled,
                Some(_) => Handled::Retry(f.error.to_string()),
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => {
                    self.fail_operation(cp, action, &format!("could not be checked: {}", f.error), &operation).await;
                    Handled::Settled
                }
            },
        }
    }

    /// An error entry on the product for work that ends here: an event given up on (its message
    /// goes to the dead-letter queue), or a long-running action that cannot run (its pending entry
    /// becomes this error).
    async fn log_failure(&self, cp: &ContractProduct, action: &str, source: &str, message: &str, operation: Option<&Operation>) -> Option<LogId> {
        let mut entry = LogEntry {
            error: Some(json!({ "code": "provider_error", "message": message, "kind": "gave_up" })),
            ..LogEntry::note(cp, action, json!({ "role": "system", "id": source }), LogStatus::Error, message.to_owned())
        };
        // A long-running action's pending entry becomes this error.
        if let Some(o) = operation {
            entry.log_id = o.log_id.clone();
            entry.started_at = o.started_at.clone();
        }
        match self.products.record_run(RunRecord::entry(&entry)).await {
            Ok(()) => Some(entry.log_id),
            Err(e) => {
                tracing::error!(error = %e, source, "a failure entry could not be logged");
                None
            }
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
        for Stuck { id, contract_product_id: cp, body, dedup_id } in &stuck {
            match self.mailbox.send(QueueName::Lifecycle, body, Some((cp, dedup_id)), 0).await {
                Ok(()) => {
                    queued += 1;
                    tracing::warn!(event_id = %id, contract_product_id = %cp, "a claimed event left unqueued was queued by the sweep");
                    if let Err(e) = self.events.mark_queued(id).await {
                        tracing::warn!(event_id = %id, error = %e, "a swept event's status stays received (queued again next time; SQS and the worker drop the duplicate)");
                    }
                }
                Err(e) => tracing::error!(event_id = %id, error = %e, "the sweep could not queue an event"),
            }
        }
        json!({ "swept": queued, "found": stuck.len() })
    }

    /// Runs what the function was invoked with: a batch (before `deadline`) or the sweep.
    pub async fn invoked(&self, input: WorkerInput, deadline: Option<Deadline>) -> Value {
        match input {
            WorkerInput::Sweep { sweep, .. } if sweep == "received-events" => self.sweep().await,
            WorkerInput::Sweep { sweep, configuration_id } if sweep == "drift" => self.start_drift_sweeps(configuration_id.as_deref()).await,
            WorkerInput::Sweep { sweep, .. } => {
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
        // The lane stopped at a record that waits for its configuration (not an attempt).
        let mut waiting = false;
        for (n, mut record) in records.into_iter().enumerate() {
            if record.queue_receives() >= MAX_RECEIVES {
                // Near the limit: the receives that were waits do not count.
                record.waited = self.events.deferrals(&record.message_id).await.unwrap_or(0);
            }
            // The first record of a lane always runs (the function's timeout is set to fit one
            // with room: template.yaml); a later one only while its budget still fits.
            if stopped.is_none() && n > 0 && deadline.is_some_and(|d| !d.fits(RECORD_BUDGET)) {
                // Not enough time left for one more: this record and the rest of its group go
                // back to the queue now, in order, rather than be cut off mid-run.
                tracing::info!(message_id = %record.message_id, "the invocation's time is nearly up: left for the next one");
                stopped = Some(0);
            }
            if let Some(seconds) = stopped {
                if waiting && record.queue_receives() + 1 < QUEUE_MAX_RECEIVES {
                    // Behind one that waits for its configuration: it waits too, not an attempt.
                    let _ = self.events.defer(&record.message_id).await;
                    hold(self.mailbox.as_ref(), &record, seconds).await;
                    failures.push(ItemFailure { item_identifier: record.message_id });
                    continue;
                }
                if record.receives() >= MAX_RECEIVES || record.queue_receives() + 1 >= QUEUE_MAX_RECEIVES {
                    // Its last receive went by behind the earlier one: recorded as given up, not
                    // left for the queue to move unrecorded.
                    let _ = self.abandon(&record, "it waited behind an earlier event of its service that kept failing").await;
                    if self.dead_letter(&record).await.is_ok() {
                        continue;
                    }
                }
                // Behind a record that waits: it comes back with it, in order (a message of the
                // group left in flight would hold the whole group for the visibility timeout).
                hold(self.mailbox.as_ref(), &record, seconds).await;
                failures.push(ItemFailure { item_identifier: record.message_id });
                continue;
            }
            let span = tracing::info_span!("message", message_id = %record.message_id, group = %group);
            let receives = record.receives();
            let handled = match tracing::Instrument::instrument(self.process(&record), span).await {
                // The queue would move it to the dead-letter queue on its next receive, unrecorded.
                Handled::Retry(why) if receives >= MAX_RECEIVES => self.abandon(&record, &why).await,
                Handled::Defer(_) if record.queue_receives() + 1 >= QUEUE_MAX_RECEIVES => {
                    self.abandon(&record, &format!("it waited {} times for its configuration's third party", record.queue_receives())).await
                }
                other => other,
            };
            if let Handled::Defer(seconds) = handled {
                if let Err(e) = self.events.defer(&record.message_id).await {
                    tracing::warn!(message_id = %record.message_id, error = %e, "a wait was not recorded: it counts as an attempt");
                }
                tracing::info!(message_id = %record.message_id, seconds, "waits for its configuration's third party (not an attempt)");
                hold(self.mailbox.as_ref(), &record, seconds).await;
                if !group.is_empty() {
                    stopped = Some(seconds);
                    waiting = true;
                }
                failures.push(ItemFailure { item_identifier: record.message_id });
                continue;
            }
            if matches!(handled, Handled::GiveUp(_)) {
                crate::adapters::metrics::give_up(record.queue());
            }
            let why = match handled {
                // Waits were held above.
                Handled::Settled | Handled::Defer(_) => continue,
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
            let seconds = back_off(self.mailbox.as_ref(), &record, receives, self.retry_base_seconds).await;
            // Only FIFO records have a group to keep in order.
            if !group.is_empty() {
                stopped = Some(seconds);
            }
            failures.push(ItemFailure { item_identifier: record.message_id });
        }
        failures
    }

    /// A long-running action started over HTTP: run it, replacing its pending log entry.
    async fn finish_operation(&self, message: OperationMessage, record: &SqsRecord) -> Handled {
        let operation = operation_of(&message.work);
        let Work { contract_product_id: cp, blueprint, action, actor, .. } = &message.work;
        let cp = cp.as_str();
        if let Err(handled) = self.pending(cp, &operation).await {
            return handled;
        }
        let log_id = operation.log_id.to_string();
        let params = match self.engine.open_operation_params(blueprint, action, &message.params, &log_id) {
            Ok(p) => p,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let actor = Actor::Recorded(actor.clone());
        let receives = record.receives();
        match self.engine.finish(&actor, cp, blueprint, action, &json!({ "params": params }), &operation).await {
            Ok(outcome) if outcome.in_progress => self.schedule_check(message.check(crate::domain::time::now_millis() + OPERATION_DEADLINE_MS)).await,
            Ok(_) => Handled::Settled,
            Err(f) if f.error.deferral().is_some() => Handled::Defer(f.error.deferral().unwrap_or(1)),
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled,
                Some(_) if receives < MAX_RECEIVES => Handled::Retry(f.error.to_string()),
                Some(_) => {
                    // Given up: the pending entry becomes the error.
                    let why = format!("gave up after {receives} attempts: {}; the work is in the dead-letter queue", f.error);
                    self.fail_operation(cp, action, &why, &operation).await;
                    Handled::GiveUp(why)
                }
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => {
                    // Refused when it came to run (the product changed since it started).
                    self.fail_operation(cp, action, &format!("refused when it came to run: {}", f.error), &operation).await;
                    Handled::Settled
                }
            },
        }
    }

    async fn fail_operation(&self, cp: &str, action: &str, message: &str, operation: &Operation) {
        let log_id = operation.log_id.as_str();
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
            Ok(()) | Err(crate::ports::StoreError::Conflict(_)) => Handled::Settled,
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
        if let Some(kind) = event.get("kind").and_then(|k| k.as_str())
            && crate::domain::drift::DriftMessage::is_drift(kind)
        {
            return match serde_json::from_value::<crate::domain::drift::DriftMessage>(event) {
                Ok(crate::domain::drift::DriftMessage::DriftStep { configuration_id, sweep_id, step }) => self.drift_step(&configuration_id, &sweep_id, step).await,
                Err(e) => {
                    tracing::error!(error = %e, message_id = %record.message_id, "a malformed drift sweep message was dropped");
                    Handled::Settled
                }
            };
        }
        if let Some(kind) = event.get("kind").and_then(|k| k.as_str())
            && crate::domain::bulk::BulkMessage::is_bulk(kind)
        {
            return match serde_json::from_value::<crate::domain::bulk::BulkMessage>(event) {
                Ok(m) => self.bulk(m, record).await,
                Err(e) => {
                    tracing::error!(error = %e, message_id = %record.message_id, "a malformed bulk action message was dropped");
                    Handled::Settled
                }
            };
        }
        if event.get("kind").is_some() {
            return match serde_json::from_value::<WorkMessage>(event) {
                Ok(WorkMessage::Operation(o)) => self.finish_operation(o, record).await,
                Ok(WorkMessage::Check(c)) => self.check_operation(c).await,
                Err(e) => {
                    tracing::error!(error = %e, message_id = %record.message_id, "a malformed work message was dropped");
                    Handled::Settled
                }
            };
        }
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default();
        let cp_raw = event["contract_product_id"].as_str().unwrap_or_default();
        let data = match crate::engine::lifecycle::opened_data(&event, self.engine.secrets()) {
            Ok(d) => d,
            Err(e) => return self.settle(&id, EventStatus::Failed, Some(&format!("the event's sealed data does not open: {e}"))).await,
        };
        let receives = record.receives();
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
                match self.engine.create_contract_product(&crate::engine::contracts::order_body(cp_raw, &data)).await {
                    Ok(cp) => cp,
                    Err(e) if e.retryable() => return Handled::Retry(e.to_string()),
                    Err(e) => return self.settle(&id, EventStatus::Failed, Some(&format!("the contract product could not be made: {e}"))).await,
                }
            }
            Ok(None) => return self.settle(&id, EventStatus::Failed, Some("no such contract product")).await,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let Some(b) = catalogue().blueprint(&cp.blueprint) else {
            return self.settle(&id, EventStatus::Failed, Some("unknown blueprint")).await;
        };
        let Some((action, params)) = crate::engine::lifecycle::action_for(kind, b, &cp, &data) else {
            tracing::info!(event_id = %id, kind, status = cp.status.as_str(), "nothing to do");
            return self.settle(&id, EventStatus::Done, None).await;
        };
        let actor = Actor::System(format!("billing:{id}"));
        let completion = crate::ports::Completion::event(id.clone());
        let body = json!({ "params": params });
        match self.engine.run_on(&actor, cp.clone(), b.id, action.id, &body, Some(&completion)).await {
            Ok(outcome) => {
                tracing::info!(event_id = %id, action = action.id, log_id = %outcome.log_id, "event handled");
                Handled::Settled
            }
            Err(f) if f.error.deferral().is_some() => Handled::Defer(f.error.deferral().unwrap_or(1)),
            Err(f) => match f.kind {
                Some(FailureKind::Permanent) => Handled::Settled, // recorded as failed with the run
                Some(_) if receives >= MAX_RECEIVES => {
                    let why = format!("gave up after {receives} attempts: {}", f.error);
                    // The error entry first: an event shown as failed always has it.
                    let logged = self.log_failure(&cp, action.id, &format!("billing:{id}"), &format!("{why}; the event is in the dead-letter queue"), None).await;
                    let _ = self.events.set_status(&id, EventStatus::Failed, logged.or(f.log_id).as_ref().map(|l| l.as_str()), Some(&why)).await;
                    tracing::error!(event_id = %id, "{why}; the message goes to the dead-letter queue");
                    Handled::GiveUp(why)
                }
                Some(_) => Handled::Retry(f.error.to_string()),
                None if f.error.retryable() => Handled::Retry(f.error.to_string()),
                None => {
                    // Refused before the provider (bad params, a status it cannot run from, a
                    // configuration gone): logged on the product, a setup failing it, and the
                    // event linked to that entry.
                    let why = crate::engine::refusal_text(&f.error);
                    match self.engine.record_refusal(&actor, &cp, action.id, &f.error).await {
                        Ok(log_id) => match self.events.set_status(&id, EventStatus::Failed, Some(log_id.as_str()), Some(&why)).await {
                            Ok(()) | Err(crate::ports::StoreError::Conflict(_)) => Handled::Settled,
                            Err(e) => Handled::Retry(e.to_string()),
                        },
                        Err(e) => Handled::Retry(e.to_string()),
                    }
                }
            },
        }
    }
}
