//! Lifecycle events for staff: the failed ones (or those not yet queued) newest first, and the
//! retry of a failed one. A retry puts the event back to received, together with an entry in its
//! contract product's log. It then queues the event as it was first queued, on the product's FIFO
//! group. If the queueing fails, the worker's sweep queues it within minutes, as it does for any
//! claim left received. So a retry that was answered always runs, and runs once.

use std::collections::HashMap;

use serde_json::json;

use super::{field, invalid};
use crate::adapters::dynamodb::events::{EventStore, listed, retry_dedup_id};
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::cursor;
use crate::api::{ApiError, HttpRequest, HttpResponse};
use crate::domain::actor::Actor;
use crate::domain::actor::Caller;
use crate::domain::ids::ContractProductId;
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::{LogEntry, LogStatus};
use crate::ports::{Mailbox, QueueName, StoreError};

pub struct LifecycleEvents<'a> {
    pub store: &'a EventStore,
    pub products: &'a ProductStore,
    /// The lifecycle queue: where a retry sends an event.
    pub queue: Option<&'a dyn Mailbox>,
}

const DEFAULT_LIMIT: i32 = 50;
const MAX_LIMIT: i32 = 200;

impl LifecycleEvents<'_> {
    /// `GET /lifecycle-events?status=failed|received&limit=&cursor=`.
    pub async fn list(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let status = match request.query.get("status").map(String::as_str) {
            None | Some("failed") => EventStatus::Failed,
            Some("received") => EventStatus::Received,
            Some(_) => return Err(invalid(vec![field("status", "must be failed or received")])),
        };
        let limit = match request.query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l.parse::<i32>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| invalid(vec![field("limit", "must be 1 to 200")]))?,
        };
        let partition = listed(status).unwrap_or_default();
        let start = request.query.get("cursor").map(|c| cursor::decode_for(c, "gsi2pk", partition)).transpose()?;
        let (items, next) = self.store.page_of(status, limit, start).await?;
        HttpResponse::json(200, &json!({ "items": items, "next_cursor": cursor::encode(next.as_ref(), None) }))
    }

    /// `POST /lifecycle-events/{id}/retry`: 202 with the event's status now (queued, or received
    /// when the sweep is to queue it).
    pub async fn retry(&self, caller: &Caller, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        let (record, body) = self.store.get_with_body(id).await?.ok_or_else(|| ApiError::NotFound(format!("no lifecycle event {id:?}")))?;
        if record.status != EventStatus::Failed {
            let status = serde_json::to_value(record.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            return Err(ApiError::InvalidState(format!("lifecycle event {id} is {status}; only a failed event is sent again")));
        }
        let body =
            body.ok_or_else(|| ApiError::Conflict(format!("lifecycle event {id} failed before events kept what they were queued with; the billing system has to send it again under a new id")))?;
        let retry = record.retries + 1;
        let changed = || ApiError::Conflict(format!("lifecycle event {id} changed meanwhile (another retry?); read it again"));
        let cp = match ContractProductId::parse(&record.contract_product_id) {
            Ok(cp_id) => self.products.contract_product(&cp_id).await?,
            Err(_) => None,
        };
        // The retry is logged on its product, in the same transaction. An order that failed to
        // make its product has no log of its own: the event record keeps the retry count.
        let log_id = match &cp {
            Some(cp) => {
                let last_log = record.log_ids.last().cloned();
                let was = match (&record.error, &last_log) {
                    (Some(e), _) => e.clone(),
                    (None, Some(l)) => format!("see {l}"),
                    (None, None) => "no error was recorded".to_owned(),
                };
                let message = format!("lifecycle event {id} ({}) sent again, retry {retry}; it had failed: {was}", record.kind);
                let entry = LogEntry {
                    params: json!({ "event_id": id }),
                    data: json!({ "event_id": id, "type": record.kind, "retry": retry, "previous_error": record.error, "failed_log_id": last_log }),
                    ..LogEntry::note(cp, "lifecycle:retry", Actor::Caller(caller.clone()).describe(), LogStatus::Success, message)
                };
                self.store.retry(id, record.retries, Some(&entry)).await.map_err(|e| match e {
                    StoreError::Conflict(_) => changed(),
                    other => other.into(),
                })?;
                Some(entry.log_id)
            }
            None => {
                self.store.retry(id, record.retries, None).await.map_err(|e| match e {
                    StoreError::Conflict(_) => changed(),
                    other => other.into(),
                })?;
                None
            }
        };
        tracing::info!(event_id = %id, retry, by = %caller.subject(), "a failed lifecycle event is sent again");
        let status = self.enqueue(id, &record.contract_product_id, &body, retry).await;
        HttpResponse::json(202, &json!({ "event_id": id, "status": status, "retries": retry, "log_id": log_id }))
    }

    /// Queues the event as it was first queued; received when that fails (the sweep queues it).
    async fn enqueue(&self, id: &str, cp: &str, body: &str, retry: u32) -> EventStatus {
        let Some(queue) = self.queue else {
            tracing::error!(event_id = %id, "no lifecycle queue is configured: the sweep will queue the retried event");
            return EventStatus::Received;
        };
        if let Err(e) = queue.send(QueueName::Lifecycle, body, Some((cp, &retry_dedup_id(id, retry))), 0).await {
            tracing::error!(event_id = %id, error = %e, "a retried event could not be queued; the sweep will queue it");
            return EventStatus::Received;
        }
        if let Err(e) = self.store.mark_queued(id).await {
            tracing::warn!(event_id = %id, error = %e, "a retried event is queued but still shown received");
        }
        EventStatus::Queued
    }
}
