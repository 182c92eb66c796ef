//! `make faults`: lifecycle events through the whole path — the billing webhook (over HTTP), the
//! lifecycle FIFO queue, the worker — against a demo provider that fails 30% of its calls at
//! random (a 503, no answer, or no answer after the change was made), with duplicate deliveries
//! (webhooks sent twice, messages delivered twice), and down altogether for its first
//! `--outage` seconds (every call a 503): its configuration's circuit breaker opens, the events
//! wait without spending their attempts, a connection test probes it, and it closes once the
//! provider is back. Then it counts what became of every event. Lost events and duplicates at
//! the provider must be 0, the breaker must have opened and closed, and no event may have failed
//! on the outage.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::common::{Aws, Error, admin_token, env, unique};

const SEQUENCE: [&str; 4] = ["order.paid", "invoice.overdue", "invoice.paid", "contract.cancelled"];

#[derive(Debug, Default, Clone)]
pub struct FaultReport {
    pub events: usize,
    pub products: usize,
    pub fault_rate: u64,
    pub accepted: usize,
    pub refused: usize,
    pub webhook_repeats: usize,
    pub message_repeats: usize,
    pub done: usize,
    pub failed_with_log: usize,
    pub failed_without_log: usize,
    pub in_dlq: usize,
    pub duplicates_at_provider: u64,
    pub lost: usize,
    pub mismatched: usize,
    pub seconds: f64,
    /// How long the provider was down at the start.
    pub outage_seconds: u64,
    /// The breaker's openings and closings, as the configuration's log shows them.
    pub breaker_opened: usize,
    pub breaker_closed: usize,
    /// Failed events that spent more than one attempt on the outage (the breaker lets at most
    /// the first reach a provider that is down).
    pub failed_by_outage: usize,
}

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, Error> {
        let r = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token).json(&body).send().await?;
        let status = r.status().as_u16();
        let body: Value = r.json().await?;
        if status >= 300 {
            return Err(format!("{path}: {status} {body}").into());
        }
        Ok(body)
    }

    /// Posts a webhook; its status (retried on a connection failure, as a billing system does).
    async fn webhook(&self, body: &Value) -> Result<u16, Error> {
        let text = body.to_string();
        let signature = shared::secrets::sign(env("WEBHOOK_SECRET")?.as_bytes(), text.as_bytes());
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = self.http.post(format!("{}/webhooks/billing", self.url)).header("content-type", "application/json").header("x-signature", &signature).body(text.clone()).send().await;
            match sent {
                Ok(r) if r.status().as_u16() < 500 || tries >= 5 => return Ok(r.status().as_u16()),
                Ok(_) | Err(_) if tries < 5 => tokio::time::sleep(Duration::from_millis(200 * tries)).await,
                Ok(r) => return Ok(r.status().as_u16()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Event records by id, read straight from the main table.
/// Records of the main table by id (`pk = <prefix>#<id>`, `sk = <prefix>`), consistent reads,
/// 100 keys per BatchGetItem.
async fn records(ddb: &aws_sdk_dynamodb::Client, table: &str, prefix: &str, ids: &[String]) -> Result<HashMap<String, HashMap<String, AttributeValue>>, Error> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(100) {
        let keys: Vec<HashMap<String, AttributeValue>> =
            chunk.iter().map(|id| HashMap::from([("pk".to_owned(), AttributeValue::S(format!("{prefix}#{id}"))), ("sk".to_owned(), AttributeValue::S(prefix.to_owned()))])).collect();
        let mut request = Some(KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build()?);
        while let Some(keys) = request.take() {
            let got = ddb.batch_get_item().request_items(table, keys).send().await?;
            for item in got.responses().and_then(|r| r.get(table)).into_iter().flatten() {
                if let Some(id) = item.get("id").and_then(|v| v.as_s().ok()) {
                    out.insert(id.clone(), item.clone());
                }
            }
            request = got.unprocessed_keys().and_then(|u| u.get(table)).cloned().filter(|k| !k.keys().is_empty());
        }
    }
    Ok(out)
}

async fn event_records(ddb: &aws_sdk_dynamodb::Client, table: &str, ids: &[String]) -> Result<HashMap<String, HashMap<String, AttributeValue>>, Error> {
    records(ddb, table, "EVT", ids).await
}

/// Whether every one of `ids` is done or failed.
fn all_ended(records: &HashMap<String, HashMap<String, AttributeValue>>, ids: &[String]) -> bool {
    ids.iter().all(|id| matches!(records.get(id).map(status_of), Some("done" | "failed")))
}

fn status_of(item: &HashMap<String, AttributeValue>) -> &str {
    item.get("status").and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

/// `window`: how many contract products may have events under way at once (a billing system's
/// steady flow rather than one burst: the emulator's FIFO receive slows with the queue's depth).
pub async fn run(aws: &Aws, api_url: &str, events: usize, fault_rate: u64, window: usize, outage_seconds: u64) -> Result<FaultReport, Error> {
    let main = env("MAIN_TABLE")?;
    let logs = env("LOGS_TABLE")?;
    let queue_url = env("LIFECYCLE_QUEUE_URL")?;
    let dlq_url = queue_url.replace("-lifecycle.fifo", "-lifecycle-dlq.fifo");
    let api = Arc::new(Api { http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?, url: api_url.trim_end_matches('/').to_owned(), token: admin_token()? });

    let cfg = api
        .admin(
            reqwest::Method::POST,
            "/provision-configurations",
            json!({ "name": unique("faults"), "blueprint": "web-hosting", "provider": "demo", "settings": {
                "server_hostname": "faults.example.net", "fault_rate": fault_rate,
                "outage_until": shared::domain::time::format_millis(shared::domain::time::now_millis() + outage_seconds as i64 * 1000),
            },
            // A provider failing 30% of its calls at random is degraded, not down: its breaker
            // opens at 10 failures in a row (5 in a row come every few hundred calls here).
            "limits": { "breaker_failures": 10 } }),
        )
        .await?;
    let cfg_id = cfg["id"].as_str().unwrap_or_default().to_owned();
    let product = api
        .admin(
            reqwest::Method::POST,
            "/products",
            json!({ "name": unique("Faulty hosting"), "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg_id }, "provision_fields": { "package_name": "starter", "email": "owner@example.com" } }),
        )
        .await?;
    let product_id = product["id"].as_str().unwrap_or_default().to_owned();

    // Each contract product gets a prefix of the sequence: 1 to 4 events, in order.
    let run_id = unique("f");
    let mut plan: Vec<(String, Vec<Value>)> = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while total < events {
        let cp = format!("{run_id}-cp{i}");
        let n = (1 + i % 4).min(events - total);
        let list = SEQUENCE[..n]
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let mut e = json!({ "id": format!("{cp}-e{k}"), "type": kind, "contract_product_id": cp, "occurred_at": shared::domain::time::now_rfc3339() });
                if k == 0 {
                    e["data"] = json!({ "product_id": product_id, "client_id": format!("client-{i}"), "provision_fields": { "domain": format!("site{i}.example.net") } });
                }
                e
            })
            .collect();
        plan.push((cp, list));
        total += n;
        i += 1;
    }
    let mut report = FaultReport { events: total, products: plan.len(), fault_rate, outage_seconds, ..FaultReport::default() };
    eprintln!("[faults] {} events over {} contract products, {fault_rate}% provider faults, down for the first {outage_seconds} s", total, plan.len());

    let started = Instant::now();
    // Products side by side, each one's events in order, as a billing system sends: 8 posting at
    // once, `window` with events under way.
    let posting = Arc::new(Semaphore::new(8));
    let under_way = Arc::new(Semaphore::new(window.max(1)));
    let mut senders = tokio::task::JoinSet::new();
    for (n, (_, list)) in plan.iter().enumerate() {
        let (api, posting, under_way, list) = (api.clone(), posting.clone(), under_way.clone(), list.clone());
        let (sqs, queue_url, ddb, main) = (aws.sqs.clone(), queue_url.clone(), aws.ddb.clone(), main.clone());
        senders.spawn(async move {
            let _slot = under_way.acquire_owned().await?;
            let mut out = (0usize, 0usize, 0usize, 0usize, Vec::new());
            {
                let _posting = posting.acquire_owned().await?;
                for (k, event) in list.iter().enumerate() {
                    let status = api.webhook(event).await?;
                    if status == 202 || status == 200 {
                        out.0 += 1;
                        out.4.push(event["id"].as_str().unwrap_or_default().to_owned());
                    } else {
                        out.1 += 1;
                        eprintln!("[faults] refused {}: {status}", event["id"]);
                    }
                    // One event in ten is sent again by the billing system.
                    if (n + k) % 10 == 3 {
                        api.webhook(event).await?;
                        out.2 += 1;
                    }
                    // One in twenty is delivered twice by the queue (another message, same event).
                    if (n + k) % 20 == 7 {
                        let group = event["contract_product_id"].as_str().unwrap_or_default();
                        sqs.send_message().queue_url(&queue_url).message_body(event.to_string()).message_group_id(group).message_deduplication_id(unique("again")).send().await?;
                        out.3 += 1;
                    }
                }
            }
            // The slot is held until this service's events have ended (or stopped moving).
            let mut seen = 0;
            let mut still = Instant::now();
            loop {
                let records = event_records(&ddb, &main, &out.4).await?;
                if all_ended(&records, &out.4) {
                    break;
                }
                let moved = records.values().map(|r| status_of(r).len()).sum::<usize>();
                if moved != seen {
                    (seen, still) = (moved, Instant::now());
                } else if still.elapsed() > Duration::from_secs(180) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Ok::<_, Error>(out)
        });
    }
    let mut accepted_ids = Vec::new();
    let mut ended = 0;
    while let Some(done) = senders.join_next().await {
        ended += 1;
        if ended % 500 == 0 {
            aws.calls.take();
            eprintln!("[faults] {ended} of {} contract products through, {:.0} s", plan.len(), started.elapsed().as_secs_f64());
        }
        let (accepted, refused, repeats, redeliveries, ids) = done??;
        report.accepted += accepted;
        report.refused += refused;
        report.webhook_repeats += repeats;
        report.message_repeats += redeliveries;
        accepted_ids.extend(ids);
    }
    aws.calls.take();
    eprintln!("[faults] {} accepted; the last under way after {:.0} s", report.accepted, started.elapsed().as_secs_f64());

    // Until every accepted event is done or failed, or nothing moves for three minutes.
    let mut last_open = usize::MAX;
    let mut still = Instant::now();
    let records = loop {
        let records = event_records(&aws.ddb, &main, &accepted_ids).await?;
        aws.calls.take();
        let open = accepted_ids.iter().filter(|id| !matches!(records.get(*id).map(status_of), Some("done" | "failed"))).count();
        if open == 0 {
            break records;
        }
        if open != last_open {
            eprintln!("[faults] {open} events still open after {:.0} s", started.elapsed().as_secs_f64());
            last_open = open;
            still = Instant::now();
        } else if still.elapsed() > Duration::from_secs(180) {
            break records;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    };
    report.seconds = started.elapsed().as_secs_f64();

    // What became of each event.
    let mut failed = Vec::new();
    for id in &accepted_ids {
        match records.get(id).map(status_of) {
            Some("done") => report.done += 1,
            Some("failed") => failed.push(id.clone()),
            _ => report.lost += 1,
        }
    }
    for id in failed {
        // The event's contract product holds an error entry of it (the run's, or the give-up's).
        let cp = id.rsplit_once("-e").map(|(cp, _)| cp.to_owned()).unwrap_or_default();
        let outage = aws
            .ddb
            .query()
            .table_name(&logs)
            .key_condition_expression("pk = :pk")
            .filter_expression("#status = :error AND actor.id = :actor AND contains(message, :down)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", AttributeValue::S(cp.clone()))
            .expression_attribute_values(":error", AttributeValue::S("error".into()))
            .expression_attribute_values(":actor", AttributeValue::S(format!("billing:{id}")))
            .expression_attribute_values(":down", AttributeValue::S("service is down".into()))
            .send()
            .await?;
        // One attempt may meet the outage before the breaker opens; the breaker keeps it from
        // spending a second.
        if outage.count() > 1 {
            report.failed_by_outage += 1;
            eprintln!("[faults] {id} failed, having spent {} attempts on the outage", outage.count());
        }
        let entries = aws
            .ddb
            .query()
            .table_name(&logs)
            .key_condition_expression("pk = :pk")
            .filter_expression("#status = :error AND actor.id = :actor")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", AttributeValue::S(cp))
            .expression_attribute_values(":error", AttributeValue::S("error".into()))
            .expression_attribute_values(":actor", AttributeValue::S(format!("billing:{id}")))
            .send()
            .await?;
        if entries.count() > 0 { report.failed_with_log += 1 } else { report.failed_without_log += 1 }
    }
    // The dead-letter queue: this run's events given up on (others may share the queue). Read
    // and left there (they come back into view after 30 s).
    let mut seen = HashSet::new();
    loop {
        let got = aws.sqs.receive_message().queue_url(&dlq_url).max_number_of_messages(10).visibility_timeout(30).wait_time_seconds(1).send().await?;
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap_or(Value::Null);
            if body["id"].as_str().is_some_and(|id| id.starts_with(&run_id)) {
                seen.insert(m.message_id().unwrap_or_default().to_owned());
            }
        }
    }
    report.in_dlq = seen.len();
    // Duplicates at the provider: creates that found their account made already.
    let counter =
        aws.ddb.get_item().table_name(&main).key("pk", AttributeValue::S(format!("DEMO#{cfg_id}#faults"))).key("sk", AttributeValue::S("duplicates".into())).consistent_read(true).send().await?;
    // The breaker's changes, in the configuration's log.
    let notes = aws
        .ddb
        .query()
        .table_name(&logs)
        .key_condition_expression("pk = :pk")
        .filter_expression("#action = :breaker")
        .expression_attribute_names("#action", "action")
        .expression_attribute_values(":pk", AttributeValue::S(format!("configuration:{cfg_id}")))
        .expression_attribute_values(":breaker", AttributeValue::S("circuit-breaker".into()))
        .send()
        .await?;
    for note in notes.items() {
        let message = note.get("message").and_then(|m| m.as_s().ok()).map_or("", String::as_str);
        if message.starts_with("circuit breaker opened") {
            report.breaker_opened += 1;
        } else if message.starts_with("circuit breaker closed") {
            report.breaker_closed += 1;
        }
    }
    report.duplicates_at_provider = counter.item().and_then(|i| i.get("failed")).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
    // The provider's accounts against the engine's statuses, for products whose events all ended done.
    let mut accounts: HashMap<String, bool> = HashMap::new();
    let mut start = None;
    loop {
        let page = aws
            .ddb
            .query()
            .table_name(&main)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("DEMO#{cfg_id}#web-hosting")))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in page.items() {
            let object = item.get("object").map(shared::adapters::dynamodb::from_attr).unwrap_or(Value::Null);
            if let Some(sk) = item.get("sk").and_then(|v| v.as_s().ok()) {
                accounts.insert(sk.clone(), object["suspended"] == true);
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let ended: HashSet<&str> =
        plan.iter().filter(|(_, list)| list.iter().all(|e| records.get(e["id"].as_str().unwrap_or_default()).map(status_of) == Some("done"))).map(|(cp, _)| cp.as_str()).collect();
    let products = product_states(aws, &main, &ended.iter().map(|s| s.to_string()).collect::<Vec<_>>()).await?;
    for (cp, (status, identifier)) in &products {
        let account = identifier.as_ref().and_then(|i| accounts.get(&i.to_lowercase()));
        let agrees = match status.as_str() {
            "active" => account == Some(&false),
            "suspended" => account == Some(&true),
            "terminated" | "pending" | "failed" => account.is_none(),
            _ => false,
        };
        if !agrees {
            report.mismatched += 1;
            eprintln!("[faults] {cp}: {status} here, {account:?} at the provider");
        }
    }
    Ok(report)
}

/// Status and service identifier of contract products.
async fn product_states(aws: &Aws, table: &str, ids: &[String]) -> Result<HashMap<String, (String, Option<String>)>, Error> {
    let found = records(&aws.ddb, table, "CP", ids).await?;
    aws.calls.take();
    let text = |item: &HashMap<String, AttributeValue>, k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    Ok(found.into_iter().map(|(id, item)| (id, (text(&item, "status").unwrap_or_default(), text(&item, "service_identifier")))).collect())
}
