//! Lifecycle events (billing webhooks) in the main table: `pk = EVT#<id>`, `sk = EVT`. The record
//! is claimed with a conditional put when the webhook first sees the event (idempotency), and
//! completed in the same transaction as the action's product write and log entry, so an event's
//! effect happens once however often SQS delivers it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{StoreError, condition_failed, from_item, s, to_item};
use crate::providers::FailureKind;
use crate::time::now_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Claimed, not yet on the queue.
    Received,
    Queued,
    Processing,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub contract_product_id: String,
    /// SHA-256 of the raw body: the same id with another body is refused.
    pub body_sha256: String,
    pub status: EventStatus,
    #[serde(default)]
    pub log_ids: Vec<String>,
    #[serde(default)]
    pub error: Option<String>,
    pub received_at: String,
    pub updated_at: String,
}

pub enum Claim {
    New,
    /// The record holding the id, and the event as it was queued (sealed), where it was kept.
    Existing(Box<EventRecord>, Option<String>),
}

/// The sparse index entry of a claim not yet on the queue (gsi2): what the sweep finds.
const RECEIVED_INDEX: &str = "EVT#RECEIVED";

fn key(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("EVT#{id}"))), ("sk".into(), s("EVT"))])
}

/// The write that completes an event with the run that handled it, joined to the engine's
/// transaction.
#[derive(Debug, Clone)]
pub struct Completion {
    pub table: String,
    pub event_id: String,
}

impl Completion {
    /// Done on success, failed on a permanent failure; nothing on a transient one (it is retried).
    pub fn write(&self, log_id: &str, failure: Option<FailureKind>) -> Option<TransactWriteItem> {
        let status = match failure {
            None => EventStatus::Done,
            Some(FailureKind::Permanent) => EventStatus::Failed,
            Some(_) => return None,
        };
        Some(update_status(&self.table, &self.event_id, status, Some(log_id), None))
    }
}

fn status_value(status: EventStatus) -> AttributeValue {
    s(serde_json::to_value(status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
}

fn update_status(table: &str, id: &str, status: EventStatus, log_id: Option<&str>, error: Option<&str>) -> TransactWriteItem {
    let mut expression = "SET #status = :status, updated_at = :now".to_owned();
    let remove = if status == EventStatus::Received { "" } else { " REMOVE gsi2pk, gsi2sk, queued_body" };
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(id)))
        .condition_expression("attribute_exists(pk) AND #status <> :done")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", status_value(status))
        .expression_attribute_values(":done", status_value(EventStatus::Done))
        .expression_attribute_values(":now", s(now_rfc3339()));
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

/// What [`EventStore::begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Marked processing: run it.
    Started,
    /// Done or failed already.
    Handled,
    /// No record.
    Missing,
}

#[derive(Clone)]
pub struct EventStore {
    ddb: Client,
    table: String,
}

impl EventStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        EventStore { ddb, table: table.into() }
    }

    pub fn completion(&self, event_id: &str) -> Completion {
        Completion { table: self.table.clone(), event_id: event_id.to_owned() }
    }

    /// Claims an event id: a new record, or the one that holds it already (one round trip).
    /// `queued_body` is the event as it goes on the queue (secrets sealed), kept until it is
    /// queued so a retry or the sweep can send it again.
    pub async fn claim(&self, record: &EventRecord, queued_body: Option<&str>) -> Result<Claim, StoreError> {
        let Value::Object(mut o) = serde_json::to_value(record).map_err(|e| StoreError::Malformed(e.to_string()))? else {
            return Err(StoreError::Malformed("an event is not an object".into()));
        };
        o.insert("type_of_record".into(), "lifecycle_event".into());
        let mut item = to_item(&o);
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
                    Ok(Claim::Existing(Box::new(serde_json::from_value(Value::Object(from_item(old))).map_err(|e| StoreError::Malformed(e.to_string()))?), body))
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
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(|i| serde_json::from_value(Value::Object(from_item(i))).map_err(|e| StoreError::Malformed(e.to_string()))).transpose()
    }

    /// Claims left `received` since before `cutoff` (RFC 3339): the webhook claimed them but
    /// did not get them onto the queue, and the billing system did not send them again. Each with
    /// its contract product and the event as it was to be queued.
    pub async fn stuck_received(&self, cutoff: &str, limit: i32) -> Result<Vec<(String, String, String)>, StoreError> {
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
                Some((text("id")?, text("contract_product_id")?, text("queued_body")?))
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
