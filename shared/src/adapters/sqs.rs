//! SQS: the engine's queues as the ports name them. Outgoing events go on the events queue
//! ([`SqsPublisher`]); long-running work goes on the lifecycle FIFO queue, in the contract
//! product's group ([`SqsWorkQueue`]).

use std::sync::Arc;

use crate::domain::outgoing::OutgoingEvent;
use crate::ports::{BoxFuture, Publish, WorkMessage, WorkQueue};

/// Puts events on the events queue. A send that fails is retried, then logged as an error with
/// the whole event, so nothing goes missing unseen.
#[derive(Clone)]
pub struct SqsPublisher {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsPublisher {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsPublisher { sqs, queue_url }
    }

    /// The publisher of EVENTS_QUEUE_URL, where it is set.
    pub fn from_env(sqs: aws_sdk_sqs::Client) -> Option<Arc<dyn Publish>> {
        std::env::var("EVENTS_QUEUE_URL").ok().filter(|u| !u.is_empty()).map(|u| Arc::new(SqsPublisher::new(sqs, u)) as Arc<dyn Publish>)
    }
}

impl Publish for SqsPublisher {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let body = serde_json::to_string(event).unwrap_or_default();
            for attempt in 1..=3u64 {
                match self.sqs.send_message().queue_url(&self.queue_url).message_body(&body).send().await {
                    Ok(_) => return,
                    Err(e) if attempt < 3 => {
                        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), attempt, "publishing an event failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                    }
                    Err(e) => tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), event = %body, "an outgoing event could not be published"),
                }
            }
        })
    }
}

/// The lifecycle FIFO queue: a work message goes in its contract product's group, deduplicated
/// by its own id.
#[derive(Clone)]
pub struct SqsWorkQueue {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsWorkQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsWorkQueue { sqs, queue_url }
    }
}

impl WorkQueue for SqsWorkQueue {
    fn send<'a>(&'a self, message: &'a WorkMessage) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let body = serde_json::to_string(message).map_err(|e| e.to_string())?;
            let (group, dedup) = message.group_and_dedup();
            self.sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .message_group_id(group)
                .message_deduplication_id(dedup)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
        })
    }
}
