//! The queue consumers: the lifecycle worker and the outgoing events' dispatcher, and what they
//! share: the SQS event a Lambda function is invoked with, partial batch failures, the
//! invocation's deadline, and a growing, jittered retry delay.

mod bulk;
pub mod dispatcher;
mod drift;
pub mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::ports::Mailbox;

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
    /// Receives that were waits, not attempts (the worker fills it in from its store).
    #[serde(skip)]
    pub waited: u32,
}

impl SqsRecord {
    /// Attempts: the receives SQS counted, less those that only waited.
    pub fn receives(&self) -> u32 {
        self.queue_receives().saturating_sub(self.waited).max(1)
    }

    /// The queue's kind as the metrics name it (`lifecycle`, `operations`, `events`): its name's
    /// last word, `<stack>-lifecycle.fifo` say.
    pub fn queue(&self) -> &str {
        let name = self.event_source_arn.rsplit(':').next().unwrap_or_default();
        name.trim_end_matches(".fifo").rsplit('-').next().unwrap_or(name)
    }

    /// Receives as SQS counts them (what its redrive policy goes by).
    pub fn queue_receives(&self) -> u32 {
        self.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
    }
}

/// A DynamoDB stream event (the main table's: the outbox), as Lambda delivers it.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamData {
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    /// The item as written, in DynamoDB's JSON (`{"event": {"S": "..."}}`).
    #[serde(rename = "NewImage", default)]
    pub new_image: serde_json::Map<String, serde_json::Value>,
}

/// What the dispatcher is invoked with: new outbox records from the main table's stream, or
/// events from the events queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DispatcherInput {
    Outbox(StreamEvent),
    Queue(SqsEvent),
}

/// Partial batch failures, for SQS (message ids) and for streams (the sequence number of the
/// first record to go again).
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
pub async fn back_off(mailbox: &dyn Mailbox, record: &SqsRecord, receives: u32, base_seconds: u64) -> u64 {
    crate::adapters::metrics::retry(record.queue());
    let mut r = [0u8; 1];
    let _ = SystemRandom::new().fill(&mut r);
    let base = base_seconds.saturating_mul(1 << receives.saturating_sub(1).min(8));
    let seconds = (base + u64::from(r[0]) % base.max(1)).min(900);
    hold(mailbox, record, seconds).await;
    seconds
}

/// Makes a received message visible again in `seconds` (rather than the queue's visibility timeout).
pub async fn hold(mailbox: &dyn Mailbox, record: &SqsRecord, seconds: u64) {
    mailbox.hold(&record.event_source_arn, &record.receipt_handle, seconds).await;
}

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
