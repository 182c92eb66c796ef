//! The local DynamoDB stream → Lambda poller: plays a `DynamoDB` event source mapping of
//! template.yaml as the Lambda service does, against DynamoDB Local's streams. It reads each
//! shard from its oldest record (TRIM_HORIZON), keeps the records the mapping's filter passes,
//! and invokes the function through `cargo lambda watch`'s Invoke API with an `aws:dynamodb`
//! event of at most the batch size. A reported failure (`batchItemFailures`: the sequence number
//! to go again from) or a failed invocation reads the shard again from there after a growing
//! pause (2 s doubling to 8 s), retried until it succeeds (MaximumRetryAttempts -1): nothing
//! after it is handed over first, as in a shard's order.
//!
//! DynamoDB Local serves the streams API (DynamoDBStreams_20120810) on its own port; the poller
//! speaks it as JSON over HTTP (DynamoDB Local takes any signature).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cfn::{Stack, scalar};
use crate::local::SetupError;

/// A `DynamoDB` event of a function in the template, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMapping {
    pub function: String,
    pub stream_arn: String,
    pub batch_size: usize,
    /// Lambda filter patterns (a record passes if any matches; none: every record).
    pub filters: Vec<Value>,
    pub report_batch_item_failures: bool,
}

/// Every DynamoDB stream event of every function, resolved against the created tables.
pub fn stream_mappings(stack: &Stack) -> Result<Vec<StreamMapping>, SetupError> {
    let mut out = Vec::new();
    for (function, id, props) in crate::local::events_of(stack, "DynamoDB")? {
        let filters = props["FilterCriteria"]["Filters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| serde_json::from_str(&scalar(&f["Pattern"])).map_err(|e| SetupError::Invalid(format!("{id}: a filter pattern is not JSON: {e}"))))
            .collect::<Result<Vec<Value>, _>>()?;
        out.push(StreamMapping {
            function,
            stream_arn: scalar(&props["Stream"]),
            batch_size: props["BatchSize"].as_u64().unwrap_or(100) as usize,
            filters,
            report_batch_item_failures: props["FunctionResponseTypes"].as_array().into_iter().flatten().any(|t| t == "ReportBatchItemFailures"),
        });
    }
    Ok(out)
}

/// Whether a record matches a Lambda filter pattern: every key of the pattern is in the record;
/// an array lists the values allowed (a value, or `{"prefix": ...}`), an object goes deeper.
pub fn matches(pattern: &Value, record: &Value) -> bool {
    let Some(keys) = pattern.as_object() else { return false };
    keys.iter().all(|(k, p)| {
        let Some(v) = record.get(k) else { return false };
        match p {
            Value::Array(allowed) => allowed.iter().any(|a| match a {
                Value::Object(rule) => rule.get("prefix").and_then(Value::as_str).is_some_and(|prefix| v.as_str().is_some_and(|s| s.starts_with(prefix))),
                other => other == v,
            }),
            Value::Object(_) => matches(p, v),
            _ => false,
        }
    })
}

pub struct StreamPoller {
    pub mapping: StreamMapping,
    http: reqwest::Client,
    /// DynamoDB Local.
    endpoint: String,
    invoke_url: String,
    region: String,
}

/// Where a shard's reading stands.
#[derive(Debug, Clone, Default)]
struct Shard {
    iterator: Option<String>,
    /// The last sequence number handed over (or passed over by the filter).
    last: Option<String>,
    /// Read to its end (a closed shard).
    done: bool,
    /// Failures in a row of the batch it stands at (the pause before the next try grows).
    failures: u32,
}

impl StreamPoller {
    pub fn new(mapping: StreamMapping, endpoint: &str, invoke_url: &str, region: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build().expect("a plain HTTP client builds");
        StreamPoller { mapping, http, endpoint: endpoint.trim_end_matches('/').to_owned(), invoke_url: invoke_url.trim_end_matches('/').to_owned(), region: region.to_owned() }
    }

    /// One call of the streams API.
    async fn call(&self, operation: &str, body: Value) -> Result<Value, String> {
        let credential = format!("{}/20260101/{}/dynamodb/aws4_request", std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "local".into()), self.region);
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{operation}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{operation}: {e}"))
    }

    async fn iterator(&self, shard: &str, after: Option<&str>, at: Option<&str>) -> Result<Option<String>, String> {
        let mut body = json!({ "StreamArn": self.mapping.stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" });
        if let Some(at) = at {
            body["ShardIteratorType"] = json!("AT_SEQUENCE_NUMBER");
            body["SequenceNumber"] = json!(at);
        } else if let Some(after) = after {
            body["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
            body["SequenceNumber"] = json!(after);
        }
        Ok(self.call("GetShardIterator", body).await?["ShardIterator"].as_str().map(str::to_owned))
    }

    /// Invokes the function with a batch; the sequence number to read again from, if any.
    async fn invoke(&self, batch: &[Value]) -> Result<Option<String>, String> {
        let records: Vec<Value> = batch
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["eventSourceARN"] = json!(self.mapping.stream_arn);
                r["eventSource"] = json!("aws:dynamodb");
                r["awsRegion"] = json!(self.region);
                r
            })
            .collect();
        let first = batch.first().map(|r| scalar(&r["dynamodb"]["SequenceNumber"]));
        let url = format!("{}/2015-03-31/functions/{}/invocations", self.invoke_url, self.mapping.function);
        let response = self.http.post(url).json(&json!({ "Records": records })).send().await.map_err(|e| e.to_string())?;
        let failed = response.headers().contains_key("x-amz-function-error") || !response.status().is_success();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if failed {
            tracing::warn!(function = %self.mapping.function, body = %body, "function error; the batch is read again");
            return Ok(first);
        }
        if !self.mapping.report_batch_item_failures {
            return Ok(None);
        }
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(failure) = parsed["batchItemFailures"].as_array().and_then(|f| f.first()) else { return Ok(None) };
        match failure["itemIdentifier"].as_str() {
            Some(seq) if batch.iter().any(|r| r["dynamodb"]["SequenceNumber"] == seq) => Ok(Some(seq.to_owned())),
            // Lambda's rule: an empty or unknown itemIdentifier fails the whole batch.
            _ => Ok(first),
        }
    }

    /// Reads one step of every shard: new shards are found, each open one is read once.
    /// How many records were handed over.
    async fn step(&self, shards: &mut BTreeMap<String, Shard>) -> Result<usize, String> {
        let described = self.call("DescribeStream", json!({ "StreamArn": self.mapping.stream_arn })).await?;
        for s in described["StreamDescription"]["Shards"].as_array().into_iter().flatten() {
            let id = scalar(&s["ShardId"]);
            // A child shard is read once its parent is read to its end (a shard's order).
            let parent_done = s["ParentShardId"].as_str().is_none_or(|p| shards.get(p).is_none_or(|p| p.done));
            if parent_done && !shards.contains_key(&id) {
                shards.insert(id, Shard::default());
            }
        }
        let mut handed = 0;
        for (id, shard) in shards.iter_mut().filter(|(_, s)| !s.done) {
            if shard.failures > 0 {
                tokio::time::sleep(Duration::from_secs(1 << shard.failures.min(4)).min(Duration::from_secs(8))).await;
            }
            if shard.iterator.is_none() {
                shard.iterator = self.iterator(id, shard.last.as_deref(), None).await?;
            }
            let Some(iterator) = shard.iterator.clone() else {
                shard.done = true;
                continue;
            };
            let page = match self.call("GetRecords", json!({ "ShardIterator": iterator, "Limit": 1000 })).await {
                Ok(p) => p,
                Err(e) => {
                    // An expired iterator, say: read again after the last record handed over.
                    tracing::warn!(shard = %id, error = %e, "GetRecords failed; the shard is read again from where it stood");
                    shard.iterator = None;
                    continue;
                }
            };
            let records: Vec<Value> = page["Records"].as_array().cloned().unwrap_or_default();
            let next = page["NextShardIterator"].as_str().map(str::to_owned);
            let passing: Vec<Value> = records.iter().filter(|r| self.mapping.filters.is_empty() || self.mapping.filters.iter().any(|f| matches(f, r))).cloned().collect();
            let mut again = None;
            for batch in passing.chunks(self.mapping.batch_size.max(1)) {
                match self.invoke(batch).await {
                    Ok(None) => handed += batch.len(),
                    Ok(Some(seq)) => {
                        again = Some(seq);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(function = %self.mapping.function, error = %e, "invocation failed; the batch is read again");
                        again = batch.first().map(|r| scalar(&r["dynamodb"]["SequenceNumber"]));
                        break;
                    }
                }
            }
            match again {
                Some(seq) => {
                    // From the record that failed, after a growing pause (2 s doubling to 8 s).
                    shard.iterator = self.iterator(id, None, Some(&seq)).await?;
                    shard.failures += 1;
                    tracing::info!(function = %self.mapping.function, shard = %id, sequence_number = %seq, "a batch failed; read again from its failed record");
                }
                None => {
                    shard.failures = 0;
                    if let Some(last) = records.last() {
                        shard.last = Some(scalar(&last["dynamodb"]["SequenceNumber"]));
                    }
                    shard.done = next.is_none();
                    shard.iterator = next;
                }
            }
        }
        Ok(handed)
    }

    /// Polls until the process stops; errors are logged and retried after a pause.
    pub async fn run(&self) {
        let mut shards = BTreeMap::new();
        loop {
            match self.step(&mut shards).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(n) => tracing::info!(function = %self.mapping.function, records = n, "stream records handed over"),
                Err(e) => {
                    tracing::error!(function = %self.mapping.function, error = %e, "stream poll failed; retrying in 2 s");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outbox filter of the template passes new outbox records and nothing else.
    #[test]
    fn the_outbox_filter_passes_new_outbox_records_only() {
        let filter = shared::domain::outgoing::outbox_filter();
        let record = |name: &str, pk: &str| json!({ "eventName": name, "dynamodb": { "Keys": { "pk": { "S": pk }, "sk": { "S": "x" } } } });
        assert!(matches(&filter, &record("INSERT", "OUTBOX#ev-1")));
        assert!(!matches(&filter, &record("MODIFY", "OUTBOX#ev-1")));
        assert!(!matches(&filter, &record("REMOVE", "OUTBOX#ev-1")));
        assert!(!matches(&filter, &record("INSERT", "CP#cp-1")));
        assert!(!matches(&filter, &json!({ "eventName": "INSERT" })));
    }
}
