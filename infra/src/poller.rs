//! The local SQS→Lambda poller: plays an event source mapping of template.yaml as the Lambda
//! service does. It long-polls the queue, invokes the function through `cargo lambda watch`'s
//! Invoke API with an `aws:sqs` event, deletes what succeeded and leaves the rest to the queue's
//! visibility timeout and redrive policy (maxReceiveCount, then the DLQ).

use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

use crate::local::EventSourceMapping;

/// What happened to one received batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub received: usize,
    pub deleted: usize,
    /// Left on the queue: reported as failures, or the whole batch when the invocation failed.
    pub retained: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("SQS: {0}")]
    Sqs(String),
}

/// A function run in this process: takes the `aws:sqs` event, answers its response body.
pub type InProcess = std::sync::Arc<dyn Fn(Value) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// How the poller reaches the function.
enum Target {
    /// cargo lambda watch's Invoke API.
    Http { http: reqwest::Client, invoke_url: String },
    /// The function's handler in this process (the benchmarks and the fault run).
    InProcess(InProcess),
}

pub struct Poller {
    pub mapping: EventSourceMapping,
    sqs: aws_sdk_sqs::Client,
    target: Target,
    region: String,
    pub wait_seconds: i32,
}

fn record(m: &Message, mapping: &EventSourceMapping, region: &str) -> Value {
    let mut attributes = Map::new();
    for (k, v) in m.attributes().into_iter().flatten() {
        attributes.insert(k.as_str().to_owned(), json!(v));
    }
    let mut message_attributes = Map::new();
    for (k, v) in m.message_attributes().into_iter().flatten() {
        message_attributes.insert(
            k.clone(),
            json!({
                "stringValue": v.string_value(),
                "binaryValue": v.binary_value().map(|b| base64_encode(b.as_ref())),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": v.data_type(),
            }),
        );
    }
    json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": region,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Poller {
    pub fn new(mapping: EventSourceMapping, sqs: aws_sdk_sqs::Client, invoke_url: &str, region: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build().expect("a plain HTTP client builds");
        Poller { mapping, sqs, target: Target::Http { http, invoke_url: invoke_url.trim_end_matches('/').to_owned() }, region: region.to_owned(), wait_seconds: 10 }
    }

    /// A poller handing each batch to a handler in this process.
    pub fn in_process(mapping: EventSourceMapping, sqs: aws_sdk_sqs::Client, region: &str, handler: InProcess) -> Self {
        Poller { mapping, sqs, target: Target::InProcess(handler), region: region.to_owned(), wait_seconds: 1 }
    }

    /// Which messages of a batch to delete, from the function's answer. `None`: the invocation
    /// failed, so the whole batch stays (as the Lambda service does).
    fn succeeded(&self, messages: &[Message], response: Result<(u16, bool, String), String>) -> Option<Vec<usize>> {
        let (status, function_error, body) = match response {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(function = %self.mapping.function, error = %e, "invocation failed; the batch stays on the queue");
                return None;
            }
        };
        if status >= 300 || function_error {
            tracing::warn!(function = %self.mapping.function, status, body = %body, "function error; the batch stays on the queue");
            return None;
        }
        if !self.mapping.report_batch_item_failures {
            return Some((0..messages.len()).collect());
        }
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let failures = match &parsed["batchItemFailures"] {
            Value::Null => Vec::new(),
            Value::Array(items) => items.clone(),
            _ => {
                tracing::warn!(function = %self.mapping.function, "malformed batchItemFailures; the whole batch failed");
                return None;
            }
        };
        let mut failed = Vec::new();
        for f in failures {
            match f["itemIdentifier"].as_str().and_then(|id| messages.iter().position(|m| m.message_id() == Some(id))) {
                Some(i) => failed.push(i),
                None => {
                    // Lambda's rule: an empty or unknown itemIdentifier fails the whole batch.
                    tracing::warn!(function = %self.mapping.function, item = %f, "unknown itemIdentifier; the whole batch failed");
                    return None;
                }
            }
        }
        Some((0..messages.len()).filter(|i| !failed.contains(i)).collect())
    }

    async fn invoke(&self, event: Value) -> Result<(u16, bool, String), String> {
        let (http, invoke_url) = match &self.target {
            Target::InProcess(handler) => return handler(event).await.map(|body| (200, false, body)),
            Target::Http { http, invoke_url } => (http, invoke_url),
        };
        let url = format!("{invoke_url}/2015-03-31/functions/{}/invocations", self.mapping.function);
        let response = http.post(url).json(&event).send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok((status, function_error, body))
    }

    /// Receives one batch (long poll), runs it and settles it.
    pub async fn poll_once(&self) -> Result<BatchOutcome, PollError> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.mapping.queue_url)
            .max_number_of_messages(self.mapping.batch_size.clamp(1, 10))
            .wait_time_seconds(self.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| PollError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let event = json!({ "Records": messages.iter().map(|m| record(m, &self.mapping, &self.region)).collect::<Vec<_>>() });
        let response = self.invoke(event).await;
        let ok = self.succeeded(messages, response).unwrap_or_default();
        // One DeleteMessageBatch for the batch's successes, as the Lambda service does.
        let entries: Vec<DeleteMessageBatchRequestEntry> = ok
            .iter()
            .filter_map(|&i| messages[i].receipt_handle().map(|h| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(h).build()))
            .collect::<Result<_, _>>()
            .map_err(|e| PollError::Sqs(e.to_string()))?;
        if !entries.is_empty() {
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.mapping.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PollError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
            if let Some(f) = out.failed().first() {
                // Not deleted: the message comes back after its visibility timeout (a duplicate
                // delivery the function is built to take).
                tracing::warn!(function = %self.mapping.function, failed = out.failed().len(), code = f.code(), "some messages were not deleted");
            }
        }
        let outcome = BatchOutcome { received: messages.len(), deleted: ok.len(), retained: messages.len() - ok.len() };
        tracing::info!(function = %self.mapping.function, queue = %self.mapping.queue_url, ?outcome, "batch settled");
        Ok(outcome)
    }

    /// Polls until the process stops. SQS errors are logged and retried after a pause.
    pub async fn run(&self) {
        loop {
            if let Err(e) = self.poll_once().await {
                tracing::error!(function = %self.mapping.function, error = %e, "poll failed; retrying in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::base64_encode;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}
