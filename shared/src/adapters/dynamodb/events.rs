//! Lifecycle events (billing webhooks) in the main table: `pk = EVT#<id>`, `sk = EVT`. The record
//! is claimed with a conditional put when the webhook first sees the event (idempotency), and
//! completed in the same transaction as the action's product write and log entry, so an event's
//! effect happens once however often SQS delivers it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::{StoreError, condition_failed, s};
use crate::domain::lifecycle::{EventRecord, EventStatus};
use crate::domain::log::LogEntry;
use crate::domain::time::now_rfc3339;
use crate::ports::{Begin, BoxFuture, LifecycleEvents, Stuck};

pub enum Claim {
    New,
    /// The record holding the id, and the event as it was queued (sealed), where it was kept.
    Existing(Box<EventRecord>, Option<String>),
}

/// The sparse index entry of a claim not yet on the queue (gsi2): what the sweep finds.
const RECEIVED_INDEX: &str = "EVT#RECEIVED";
/// The sparse index entry of a failed event (gsi2): what an admin lists and may retry.
const FAILED_INDEX: &str = "EVT#FAILED";

/// The gsi2 partition that lists events of a status, where one does.
pub fn listed(status: EventStatus) -> Option<&'static str> {
    match status {
        EventStatus::Received => Some(RECEIVED_INDEX),
        EventStatus::Failed => Some(FAILED_INDEX),
        _ => None,
    }
}

/// What an event record shows: not the queued body (sealed, and for the worker only) nor the
/// index keys.
fn event_of(item: &HashMap<String, AttributeValue>) -> Result<EventRecord, StoreError> {
    super::record_of(item)
}

fn key(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("EVT#{id}"))), ("sk".into(), s("EVT"))])
}

fn status_value(status: EventStatus) -> AttributeValue {
    s(serde_json::to_value(status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
}

/// The status write. The event as queued is kept until it is done (a failed one may be retried);
/// a failed event is listed in gsi2, a received one stays listed for the sweep.
pub(super) fn update_status(table: &str, id: &str, status: EventStatus, log_id: Option<&str>, error: Option<&str>) -> TransactWriteItem {
    let now = now_rfc3339();
    let mut expression = "SET #status = :status, updated_at = :now".to_owned();
    let remove = match status {
        EventStatus::Received => "",
        EventStatus::Done => " REMOVE gsi2pk, gsi2sk, queued_body",
        EventStatus::Failed => {
            expression.push_str(", gsi2pk = :listed, gsi2sk = :listed_at");
            ""
        }
        EventStatus::Queued | EventStatus::Processing => " REMOVE gsi2pk, gsi2sk",
    };
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(id)))
        .condition_expression("attribute_exists(pk) AND #status <> :done")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", status_value(status))
        .expression_attribute_values(":done", status_value(EventStatus::Done))
        .expression_attribute_values(":now", s(now.clone()));
    if status == EventStatus::Failed {
        update = update.expression_attribute_values(":listed", s(FAILED_INDEX)).expression_attribute_values(":listed_at", s(format!("{now}#{id}")));
    }
    if let Some(l) = log_id {
        expression.push_str(", log_ids = list_append(if_not_exists(log_ids, :empty), :log)");
        update = update.expression_attribute_values(":empty", AttributeValue::L(vec![])).expression_attribute_values(":log", AttributeValue::L(vec![s(l)]));
    }
    if let Some(e) = error {
        expression.push_str(", #error = :error");
        update = update.expression_attribute_names("#error", "error").expression_attribute_values(":error", s(e));
    }
    expression.push_str(remove);
    TransactWriteItem::builder().update(update.update_expression(expression).build().expect("table, key and expression set")).build()
}

/// The deduplication id of an event's `n`th retry on the FIFO queue.
pub fn retry_dedup_id(id: &str, n: u32) -> String {
    // SQS takes up to 128 characters; an event id may have 128 already.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let short: String = digest.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("retry-{n}-{short}")
}

#[derive(Clone)]
pub struct EventStore {
    ddb: Client,
    table: String,
    /// Where a retry's log entry goes (the logs table), when the store records retries.
    logs_table: Option<String>,
}

impl EventStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        EventStore { ddb, table: table.into(), logs_table: None }
    }

    /// Records retries' log entries in `logs_table`.
    pub fn with_logs(mut self, logs_table: impl Into<String>) -> Self {
        self.logs_table = Some(logs_table.into());
        self
    }

    /// Puts a failed event back to received for its retry number `retries + 1`
    /// (the write of `retry_write`), with the retry's log entry in the same transaction where
    /// one is given; [`StoreError::Conflict`] when the event is not failed (any more).
    pub async fn retry(&self, id: &str, retries: u32, entry: Option<&LogEntry>) -> Result<(), StoreError> {
        let mut writes = vec![self.retry_write(id, retries)];
        if let Some(entry) = entry {
            let logs = self.logs_table.as_deref().ok_or_else(|| StoreError::Malformed("the event store records no log entries".into()))?;
            let put = aws_sdk_dynamodb::types::Put::builder().table_name(logs).set_item(Some(entry.item())).build().expect("table and item set");
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        self.ddb
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict("the lifecycle event changed meanwhile".into()) } else { StoreError::aws(e) })
    }

    /// Claims an event id: a new record, or the one that holds it already (one round trip).
    /// `queued_body` is the event as it goes on the queue (secrets sealed), kept until it is
    /// queued so a retry or the sweep can send it again.
    pub async fn claim(&self, record: &EventRecord, queued_body: Option<&str>) -> Result<Claim, StoreError> {
        let mut item = super::item_of(record, vec![("type_of_record", "lifecycle_event".into())])?;
        item.extend(key(&record.id));
        // Until it is queued: listed for the sweep, with the event as it goes on the queue.
        item.insert("gsi2pk".into(), s(RECEIVED_INDEX));
        item.insert("gsi2sk".into(), s(format!("{}#{}", record.received_at, record.id)));
        if let Some(body) = queued_body {
            item.insert("queued_body".into(), s(body));
        }
        let result = self
            .ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::New),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                    let old = c.item().ok_or_else(|| StoreError::Malformed("a held event id without its record".into()))?;
                    let body = old.get("queued_body").and_then(|b| b.as_s().ok()).cloned();
                    Ok(Claim::Existing(Box::new(event_of(old)?), body))
                }
                _ => Err(StoreError::aws(e)),
            },
        }
    }

    /// Starts handling an event: marks it processing unless it is done or failed already (one
    /// conditional update, the old record returned on refusal).
    pub async fn begin(&self, id: &str) -> Result<Begin, StoreError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .update_expression("SET #status = :processing, updated_at = :now")
            .condition_expression("attribute_exists(pk) AND NOT (#status IN (:done, :failed))")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":processing", status_value(EventStatus::Processing))
            .expression_attribute_values(":done", status_value(EventStatus::Done))
            .expression_attribute_values(":failed", status_value(EventStatus::Failed))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Begin::Started),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => Ok(if c.item().is_some() { Begin::Handled } else { Begin::Missing }),
                _ => Err(StoreError::aws(e)),
            },
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<EventRecord>, StoreError> {
        Ok(self.get_with_body(id).await?.map(|(record, _)| record))
    }

    /// One page of the events of a listed status (received or failed), newest first.
    pub async fn page_of(&self, status: EventStatus, limit: i32, start: Option<crate::ports::PageKey>) -> Result<(Vec<EventRecord>, Option<crate::ports::PageKey>), StoreError> {
        let listed = listed(status).ok_or_else(|| StoreError::Malformed(format!("events {status:?} are not listed")))?;
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :pk")
            .expression_attribute_values(":pk", s(listed))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(super::start_key(start))
            .send()
            .await
            .map_err(StoreError::aws)?;
        let items = out.items().iter().map(event_of).collect::<Result<Vec<_>, _>>()?;
        Ok((items, super::page_key(out.last_evaluated_key())))
    }

    /// The write that puts a failed event back to received for its retry number `retries + 1`
    /// (joined to the transaction of the retry's log entry): listed for the sweep again, with a
    /// deduplication id of its own (SQS would drop a second message under the event's id within
    /// five minutes), its last error cleared. Its condition fails when the event is not failed
    /// (any more), another retry came first, or it failed before events kept what they were
    /// queued with.
    fn retry_write(&self, id: &str, retries: u32) -> TransactWriteItem {
        let now = now_rfc3339();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .update_expression("SET #status = :received, updated_at = :now, retries = :retries, dedup_id = :dedup, gsi2pk = :listed, gsi2sk = :listed_at REMOVE #error")
            .condition_expression("#status = :failed AND attribute_exists(queued_body) AND (attribute_not_exists(retries) OR retries = :before)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":received", status_value(EventStatus::Received))
            .expression_attribute_values(":failed", status_value(EventStatus::Failed))
            .expression_attribute_values(":now", s(now.clone()))
            .expression_attribute_values(":retries", AttributeValue::N((retries + 1).to_string()))
            .expression_attribute_values(":before", AttributeValue::N(retries.to_string()))
            .expression_attribute_values(":dedup", s(retry_dedup_id(id, retries + 1)))
            .expression_attribute_values(":listed", s(RECEIVED_INDEX))
            .expression_attribute_values(":listed_at", s(format!("{now}#{id}")))
            .build()
            .expect("table, key and expression set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Marks a claim queued once it is on the queue, only while it is still received: a worker
    /// that has begun, finished or failed it meanwhile keeps its status. Nothing happens otherwise.
    pub async fn mark_queued(&self, id: &str) -> Result<(), StoreError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .update_expression("SET #status = :queued, updated_at = :now REMOVE gsi2pk, gsi2sk")
            .condition_expression("#status = :received")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", status_value(EventStatus::Queued))
            .expression_attribute_values(":received", status_value(EventStatus::Received))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::aws(e)),
        }
    }

    /// An event with what it was queued as (secrets sealed), where that is kept: one read.
    pub async fn get_with_body(&self, id: &str) -> Result<Option<(EventRecord, Option<String>)>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(|i| Ok((event_of(i)?, i.get("queued_body").and_then(|b| b.as_s().ok()).cloned()))).transpose()
    }

    /// Claims left `received` since before `cutoff` (RFC 3339): the webhook claimed them but
    /// did not get them onto the queue, and the billing system did not send them again. Each with
    /// its contract product and the event as it was to be queued.
    pub async fn stuck_received(&self, cutoff: &str, limit: i32) -> Result<Vec<Stuck>, StoreError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :pk AND gsi2sk < :cutoff")
            .expression_attribute_values(":pk", s(RECEIVED_INDEX))
            .expression_attribute_values(":cutoff", s(cutoff))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::aws)?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| {
                let text = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
                let id = text("id")?;
                Some(Stuck { dedup_id: text("dedup_id").unwrap_or_else(|| id.clone()), contract_product_id: text("contract_product_id")?, body: text("queued_body")?, id })
            })
            .collect())
    }

    /// Moves an event on (never back from done); `log_id` and `error` are recorded with it.
    pub async fn set_status(&self, id: &str, status: EventStatus, log_id: Option<&str>, error: Option<&str>) -> Result<(), StoreError> {
        let write = update_status(&self.table, id, status, log_id, error);
        let update = write.update.expect("an update");
        self.ddb
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("event {id} is done already")) } else { StoreError::aws(e) })
    }
}

/// A message's waits: `pk = DEFER#<message id>`, `sk = DEFER`, gone a fortnight later (the
/// queues keep a message that long at most).
fn defer_key(message_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("DEFER#{message_id}"))), ("sk".into(), s("DEFER"))])
}

impl EventStore {
    pub async fn defer(&self, message_id: &str) -> Result<(), StoreError> {
        let expires = crate::domain::time::now_millis() / 1000 + 15 * 86_400;
        self.ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(defer_key(message_id)))
            .update_expression("ADD waits :one SET expires_at = :expires")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(StoreError::aws)
    }

    pub async fn deferrals(&self, message_id: &str) -> Result<u32, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(defer_key(message_id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        Ok(out.item().and_then(|i| i.get("waits")).and_then(|w| w.as_n().ok()).and_then(|w| w.parse().ok()).unwrap_or(0))
    }
}

impl LifecycleEvents for EventStore {
    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Begin, StoreError>> {
        Box::pin(EventStore::begin(self, id))
    }

    fn set_status<'a>(&'a self, id: &'a str, status: EventStatus, log_id: Option<&'a str>, error: Option<&'a str>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(EventStore::set_status(self, id, status, log_id, error))
    }

    fn stuck_received<'a>(&'a self, cutoff: &'a str, limit: i32) -> BoxFuture<'a, Result<Vec<Stuck>, StoreError>> {
        Box::pin(EventStore::stuck_received(self, cutoff, limit))
    }

    fn mark_queued<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(EventStore::mark_queued(self, id))
    }

    fn defer<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(EventStore::defer(self, message_id))
    }

    fn deferrals<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<u32, StoreError>> {
        Box::pin(EventStore::deferrals(self, message_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each retry has a deduplication id of its own that SQS takes (1-128 characters).
    #[test]
    fn a_retry_is_not_deduplicated_against_the_first_send_or_another_retry() {
        let long = "e".repeat(128);
        let (a, b) = (retry_dedup_id(&long, 1), retry_dedup_id(&long, 2));
        assert!(a != b && a != long && a.len() <= 128 && b.len() <= 128);
        assert_ne!(retry_dedup_id("evt-1", 1), retry_dedup_id("evt-2", 1));
    }

    #[test]
    fn failed_and_received_events_are_listed_and_others_not() {
        assert_eq!(listed(EventStatus::Failed), Some("EVT#FAILED"));
        assert_eq!(listed(EventStatus::Received), Some("EVT#RECEIVED"));
        assert_eq!(listed(EventStatus::Done), None);
    }
}
