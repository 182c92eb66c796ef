//! The dispatcher: events out. It reads the outbox (new outbox records on the main table's
//! stream, each written in the transaction of the change that made it) and puts each event on
//! the events queue, in order; a refusal is answered as the record to start again from, so the
//! stream hands it over again (nothing after it is skipped). It is also the events queue's
//! consumer: each outgoing event goes to the enabled handlers of its type, lowest priority number
//! first: a URL gets a signed POST (`X-Signature: sha256=<hex
//! HMAC-SHA256 of the body with the handler's secret>`), a Lambda function is invoked with the
//! event. Every delivery is recorded as an execution. A failed delivery retries the event later
//! (growing, jittered delay); handlers it reached already are not called again. URLs go through
//! the guarded handler client (no private or metadata address, no redirects); Lambda targets must
//! be the stack's own or under the operator's prefix. A record is started only while one delivery
//! fits before the invocation's deadline.

use std::time::Instant;

use std::sync::Arc;

use super::{Deadline, DispatcherInput, ItemFailure, SqsBatchResponse, SqsEvent, SqsRecord, StreamEvent, back_off, hold};
use crate::domain::handler::{EventHandler, Execution, allowed_function};
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::time::now_rfc3339;
use crate::ports::{HandlerRecords, InvokeFunction, Mailbox, Publish};
use crate::secrets::SecretBox;
use crate::secrets::sign;

/// The longest one delivery may take (the handler client's timeout and the records around it).
pub const DELIVERY_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Clone)]
pub struct Dispatcher {
    handlers: Arc<dyn HandlerRecords>,
    secrets: Arc<SecretBox>,
    functions: Arc<dyn InvokeFunction>,
    /// The events queue, whose records it holds back for their retry.
    mailbox: Arc<dyn Mailbox>,
    retry_base_seconds: u64,
    /// The events queue, where the outbox's events go.
    publisher: Option<Arc<dyn Publish>>,
}

impl Dispatcher {
    pub fn new(handlers: Arc<dyn HandlerRecords>, secrets: Arc<SecretBox>, functions: Arc<dyn InvokeFunction>, mailbox: Arc<dyn Mailbox>, retry_base_seconds: u64) -> Self {
        Dispatcher { handlers, secrets, functions, mailbox, retry_base_seconds, publisher: None }
    }

    /// Puts the outbox's events on the events queue through `publisher`.
    pub fn with_publisher(mut self, publisher: Arc<dyn Publish>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// An invocation: outbox records or queued events.
    pub async fn invoked(&self, input: DispatcherInput, deadline: Option<Deadline>) -> SqsBatchResponse {
        match input {
            DispatcherInput::Outbox(records) => self.relay(records).await,
            DispatcherInput::Queue(event) => self.handle_within(event, deadline).await,
        }
    }

    /// Puts each new outbox record's event on the events queue, in stream order. The first one
    /// refused is answered as the failure: the stream hands it and those after it over again,
    /// until the queue takes them (handlers reached already are not called twice). A record that
    /// is no outbox event is logged and passed over: it would never go through.
    pub async fn relay(&self, event: StreamEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let Some(publisher) = &self.publisher else {
            tracing::error!("the dispatcher has no events queue: outbox records are left in the stream");
            if let Some(first) = event.records.first() {
                response.batch_item_failures.push(ItemFailure { item_identifier: first.dynamodb.sequence_number.clone() });
            }
            return response;
        };
        for record in event.records {
            let image = &record.dynamodb.new_image;
            let pk = image.get("pk").and_then(|v| v["S"].as_str()).unwrap_or_default();
            if record.event_name != "INSERT" || !pk.starts_with(crate::domain::outgoing::OUTBOX_PREFIX) {
                continue;
            }
            let event: OutgoingEvent = match image.get("event").and_then(|v| v["S"].as_str()).map(serde_json::from_str) {
                Some(Ok(e)) => e,
                _ => {
                    tracing::error!(pk, sequence_number = %record.dynamodb.sequence_number, "an outbox record holds no outgoing event: passed over");
                    continue;
                }
            };
            if let Err(why) = publisher.publish(&event).await {
                tracing::warn!(event_id = %event.id, event = %event.kind, sequence_number = %record.dynamodb.sequence_number, reason = %why, "the events queue refused an outbox event: the stream hands it over again");
                crate::adapters::metrics::retry("outbox");
                response.batch_item_failures.push(ItemFailure { item_identifier: record.dynamodb.sequence_number });
                break;
            }
            tracing::info!(event_id = %event.id, event = %event.kind, contract_product_id = %event.contract_product_id, "outbox event published");
        }
        response
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_within(event, None).await
    }

    /// [`Dispatcher::handle`] before `deadline`: a record is started only while
    /// [`DELIVERY_BUDGET`] fits; the rest go back to the queue as new messages (so the wait
    /// costs them none of the receives the queue's redrive policy counts; handlers already
    /// reached are not called again), else, where that send fails, at once as they are.
    pub async fn handle_within(&self, event: SqsEvent, deadline: Option<Deadline>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for (n, record) in event.records.into_iter().enumerate() {
            // The first record always runs (the function's timeout fits it with room).
            if n > 0 && deadline.is_some_and(|d| !d.fits(DELIVERY_BUDGET)) {
                match self.mailbox.send(crate::ports::QueueName::Events, &record.body, None, 0).await {
                    Ok(()) => tracing::info!(message_id = %record.message_id, "the invocation's time is nearly up: queued again for the next one"),
                    Err(e) => {
                        tracing::warn!(message_id = %record.message_id, error = %e, "the invocation's time is nearly up and queueing it again failed: left on the queue");
                        hold(self.mailbox.as_ref(), &record, 0).await;
                        response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
                    }
                }
                continue;
            }
            if let Err(why) = self.process(&record, deadline.filter(|_| n > 0)).await {
                let receives = record.receives();
                tracing::warn!(message_id = %record.message_id, receives, reason = %why, "delivery will be retried");
                back_off(self.mailbox.as_ref(), &record, receives, self.retry_base_seconds).await;
                response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
            }
        }
        response
    }

    async fn process(&self, record: &SqsRecord, deadline: Option<Deadline>) -> Result<(), String> {
        let event: OutgoingEvent = match serde_json::from_str(&record.body) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, message_id = %record.message_id, bytes = record.body.len(), "malformed outgoing event dropped");
                return Ok(());
            }
        };
        let handlers = self.handlers.for_event(&event.kind).await.map_err(|e| e.to_string())?;
        let mut failures = Vec::new();
        for h in handlers.iter().filter(|h| h.status == "enabled") {
            if self.handlers.delivered(&event.id, &h.id).await.map_err(|e| e.to_string())? {
                continue;
            }
            if deadline.is_some_and(|d| !d.fits(DELIVERY_BUDGET)) {
                failures.push(format!("{}: not reached before the invocation's deadline", h.id));
                break;
            }
            let execution = self.deliver(h, &event, &record.body).await;
            if let Err(e) = self.handlers.record_execution(&execution).await {
                tracing::error!(handler_id = %h.id, error = %e, "an execution could not be recorded");
            }
            if execution.success {
                self.handlers.mark_delivered(&event.id, &h.id).await.map_err(|e| e.to_string())?;
            } else {
                failures.push(format!("{}: {}", h.id, execution.error.clone().unwrap_or_default()));
            }
        }
        if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
    }

    async fn deliver(&self, h: &EventHandler, event: &OutgoingEvent, body: &str) -> Execution {
        let started_at = now_rfc3339();
        let clock = Instant::now();
        let (status_code, excerpt, error) = match h.target["type"].as_str() {
            Some("url") => self.post(h, event, body).await,
            Some("lambda") => self.invoke(h, body).await,
            _ => (None, None, Some("unknown target type".to_owned())),
        };
        let success = error.is_none() && status_code.is_some_and(|c| (200..300).contains(&c));
        Execution {
            handler_id: h.id.clone(),
            event_id: event.id.clone(),
            event: event.kind.clone(),
            started_at,
            duration_ms: clock.elapsed().as_millis() as u64,
            status_code,
            success,
            response_excerpt: excerpt,
            error: if success { None } else { error.or_else(|| Some(format!("status {}", status_code.unwrap_or(0)))) },
        }
    }

    async fn post(&self, h: &EventHandler, event: &OutgoingEvent, body: &str) -> (Option<u16>, Option<String>, Option<String>) {
        let secret = match crate::secrets::open_handler_secret(&h.secret, &self.secrets, &h.id) {
            Ok(s) => s,
            Err(e) => return (None, None, Some(e.to_string())),
        };
        let url = h.target["url"].as_str().unwrap_or_default();
        // Checked again at delivery: a handler saved before a rule tightened is held to it too.
        if let Err(why) = crate::providers::check_handler_url(url) {
            return (None, None, Some(format!("target.url {why}: not delivered")));
        }
        let sent = crate::providers::handler_client()
            .post(url)
            .header("content-type", "application/json")
            .header("x-signature", sign(secret.as_bytes(), body.as_bytes()))
            .header("x-event-id", &event.id)
            .header("x-event-type", &event.kind)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(r) => {
                let code = r.status().as_u16();
                let text: String = r.text().await.unwrap_or_default().chars().take(500).collect();
                (Some(code), Some(text), None)
            }
            Err(e) if e.is_timeout() => (None, None, Some("no answer within 10 s".into())),
            // The cause chain (a refused address says so), without the URL, whose query may carry a token.
            Err(e) => (None, None, Some(format!("delivery failed: {}", crate::domain::error_chain(&e.without_url())))),
        }
    }

    async fn invoke(&self, h: &EventHandler, body: &str) -> (Option<u16>, Option<String>, Option<String>) {
        let function = h.target["function"].as_str().unwrap_or_default();
        if let Err(why) = allowed_function(function) {
            return (None, None, Some(format!("target.function {why}: not invoked")));
        }
        let Ok(result) = tokio::time::timeout(std::time::Duration::from_secs(10), self.functions.invoke(function, body)).await else {
            return (None, None, Some("no answer within 10 s".into()));
        };
        match result {
            Ok(out) => match out.function_error {
                Some(e) => (out.status_code, Some(out.excerpt), Some(format!("the function failed: {e}"))),
                None => (out.status_code, Some(out.excerpt), None),
            },
            Err(e) => (None, None, Some(e)),
        }
    }
}
