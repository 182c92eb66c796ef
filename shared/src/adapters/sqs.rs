//! SQS: the engine's queues as the ports name them. The dispatcher puts the outbox's events on
//! the events queue ([`SqsPublisher`]); long-running work goes on the lifecycle FIFO queue, in the
//! contract product's group ([`SqsWorkQueue`]).

use std::collections::HashMap;

use crate::domain::outgoing::OutgoingEvent;
use crate::ports::{BoxFuture, Mailbox, Publish, QueueName, WorkMessage, WorkQueue};

/// Puts events on the events queue (the SDK retries a send that fails on its way; a refusal is
/// the caller's: the outbox record waits in the stream).
#[derive(Clone)]
pub struct SqsPublisher {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsPublisher {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsPublisher { sqs, queue_url }
    }
}

impl Publish for SqsPublisher {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
            self.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await.map(|_| ()).map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
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

/// The queues a consumer sends to and receives from, by name.
#[derive(Clone)]
pub struct SqsMailbox {
    sqs: aws_sdk_sqs::Client,
    /// The queue its records come from, unless their ARN names another it knows.
    home: String,
    urls: HashMap<QueueName, String>,
}

/// Whether a queue URL is the queue an ARN names (the name is the last part of both).
fn same_queue(url: &str, arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or_default();
    !name.is_empty() && url.rsplit('/').next() == Some(name)
}

impl SqsMailbox {
    /// A consumer of the queue at `home`.
    pub fn new(sqs: aws_sdk_sqs::Client, home: String) -> Self {
        SqsMailbox { sqs, home, urls: HashMap::new() }
    }

    /// Also sends to `name` at `url` (ignored when empty).
    pub fn with(mut self, name: QueueName, url: Option<String>) -> Self {
        if let Some(url) = url.filter(|u| !u.is_empty()) {
            self.urls.insert(name, url);
        }
        self
    }

    /// A sender to the lifecycle queue (the webhook's, an event retry's).
    pub fn lifecycle(sqs: aws_sdk_sqs::Client, lifecycle_url: String) -> Self {
        SqsMailbox::new(sqs, lifecycle_url.clone()).with(QueueName::Lifecycle, Some(lifecycle_url))
    }

    /// The worker's: the lifecycle queue, and the operations queue and dead-letter queue the
    /// environment names (OPERATIONS_QUEUE_URL, LIFECYCLE_DLQ_URL).
    pub fn for_worker(sqs: aws_sdk_sqs::Client, lifecycle_url: String) -> Self {
        SqsMailbox::lifecycle(sqs, lifecycle_url).with(QueueName::Operations, std::env::var("OPERATIONS_QUEUE_URL").ok()).with(QueueName::LifecycleDeadLetter, std::env::var("LIFECYCLE_DLQ_URL").ok())
    }
}

impl Mailbox for SqsMailbox {
    fn send<'a>(&'a self, to: QueueName, body: &'a str, fifo: Option<(&'a str, &'a str)>, delay_seconds: u32) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let url = self.urls.get(&to).ok_or_else(|| format!("no URL of the {to:?} queue is set"))?;
            let mut send = self.sqs.send_message().queue_url(url).message_body(body);
            if let Some((group, dedup)) = fifo {
                send = send.message_group_id(group).message_deduplication_id(dedup);
            }
            if delay_seconds > 0 {
                send = send.delay_seconds(delay_seconds.min(900) as i32);
            }
            send.send().await.map(|_| ()).map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
        })
    }

    fn hold<'a>(&'a self, source: &'a str, receipt: &'a str, seconds: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let url = self.urls.values().find(|u| same_queue(u, source)).unwrap_or(&self.home);
            if let Err(e) = self.sqs.change_message_visibility().queue_url(url).receipt_handle(receipt).visibility_timeout(seconds.min(43_200) as i32).send().await {
                // The queue's own visibility timeout applies instead: later, but not lost.
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not shorten the retry delay");
            }
        })
    }
}
