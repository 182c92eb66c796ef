//! (a) Action latency through the action handler, in process, against its floor: the very same
//! DynamoDB reads, provider HTTP call and transactional write (for a status change with the
//! event's outbox record in it) made bare with the SDK in the same process, on the same clients.
//!
//! The provider is the `http` provider calling a local server that answers after a fixed delay.
//! The round trips before and after the provider call are counted by an SDK interceptor against
//! the moment the provider server saw the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde_json::{Value, json};
use shared::adapters::dynamodb::Tables;
use shared::api::action::ActionApi;
use shared::api::admin::Admin;
use shared::catalogue::catalogue;
use shared::catalogue::example::example;
use shared::engine::Engine;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{Aws, Error, Summary, admin_token, authenticator, env, request, summarize, unique};

/// The fake provider's fixed answer time.
pub const PROVIDER_DELAY: Duration = Duration::from_millis(20);

/// The company's endpoint, answering every action with data in its result's shape after a fixed
/// delay, noting when each request arrived.
#[derive(Clone)]
struct Endpoint {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals.lock().expect("not poisoned").push(Instant::now());
        let label = request.headers.get("x-action").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let (blueprint, action) = label.split_once('/').unwrap_or_default();
        let mut data = catalogue().action(blueprint, action).map(|(_, a)| example(&a.result, &[])).unwrap_or(json!({}));
        if action == "suspend-account" {
            data["suspended"] = json!(true);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "message": format!("{label} done"), "data": data, "service_identifier": "benchuser" })).set_delay(PROVIDER_DELAY)
    }
}

pub struct ActionReport {
    pub action: String,
    pub handler: Summary,
    pub floor: Summary,
    pub before: usize,
    pub after: usize,
    pub after_ops: Vec<String>,
    pub floor_before: usize,
    pub floor_after: usize,
}

async fn ok(response: Result<shared::api::HttpResponse, shared::api::ApiError>, what: &str) -> Result<Value, Error> {
    match response {
        Ok(r) if r.status < 300 => Ok(serde_json::from_str(&r.body)?),
        Ok(r) => Err(format!("{what}: {} {}", r.status, r.body).into()),
        Err(e) => Err(format!("{what}: {e}").into()),
    }
}

pub async fn run(aws: &Aws, iterations: usize) -> Result<Vec<ActionReport>, Error> {
    let tables = Tables::from_env()?;
    let endpoint = Endpoint { arrivals: Arc::new(Mutex::new(Vec::new())) };
    let server = MockServer::builder().disable_request_recording().start().await;
    Mock::given(wiremock::matchers::method("POST")).respond_with(endpoint.clone()).mount(&server).await;

    let engine = Engine::new(shared::adapters::dynamodb::stores(aws.ddb.clone(), &tables), Arc::new(shared::adapters::ssm::secret_box(&aws.config).await?));
    let admin = Admin::new(authenticator()?, &shared::adapters::dynamodb::Dynamo::new(aws.ddb.clone(), tables.clone()), shared::adapters::ssm::secret_box(&aws.config).await?);
    let api = ActionApi::new(authenticator()?, engine, None).with_queue(Arc::new(shared::adapters::sqs::SqsWorkQueue::new(aws.sqs.clone(), env("LIFECYCLE_QUEUE_URL")?)));
    let token = admin_token()?;

    let settings = json!({ "endpoint_url": server.uri(), "signing_secret": "bench-signing-secret", "timeout_seconds": 10 });
    let cfg = ok(
        admin.handle(request("POST", "/provision-configurations", &token, Some(&json!({ "name": unique("bench"), "blueprint": "web-hosting", "provider": "http", "settings": settings })))).await,
        "configuration",
    )
    .await?;
    let cfg_id = cfg["id"].as_str().unwrap_or_default().to_owned();
    let cp = ok(
        admin
            .handle(request(
                "POST",
                "/contract-products",
                &token,
                Some(&json!({ "client_id": "bench-client", "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg_id } })),
            ))
            .await,
        "contract product",
    )
    .await?;
    let cp_id = cp["id"].as_str().unwrap_or_default().to_owned();
    let path = |action: &str| format!("/contract-products/{cp_id}/actions/web-hosting/{action}");
    ok(
        api.handle(request("POST", &path("create-account"), &token, Some(&json!({ "params": { "email": "bench@example.net", "domain": "bench.example.net", "package_name": "basic" } })))).await,
        "create",
    )
    .await?;

    let http = reqwest::Client::new();
    let mut reports = Vec::new();
    for (label, actions) in [
        ("web-hosting/get-info (log write)", vec!["get-info"]),
        ("web-hosting/suspend-account + unsuspend-account (status change: product + log + outbox event, one transaction)", vec!["suspend-account", "unsuspend-account"]),
    ] {
        let (mut handler, mut floor) = (Vec::new(), Vec::new());
        let (mut before, mut after, mut after_ops) = (0, 0, Vec::new());
        let (mut floor_before, mut floor_after) = (0, 0);
        let warm = 20;
        for i in 0..warm + iterations {
            let action = actions[i % actions.len()];
            // Through the handler.
            aws.calls.take();
            endpoint.arrivals.lock().expect("not poisoned").clear();
            let started = Instant::now();
            let answer = api.handle(request("POST", &path(action), &token, Some(&json!({ "params": {} })))).await;
            let took = started.elapsed();
            let body = ok(answer, action).await?;
            let calls = aws.calls.take();
            let arrived = endpoint.arrivals.lock().expect("not poisoned").first().copied().ok_or("the provider was not called")?;
            if i >= warm {
                handler.push(took);
                before = calls.iter().filter(|(t, _)| *t < arrived).count();
                after = calls.iter().filter(|(t, _)| *t >= arrived).count();
                after_ops = calls.iter().filter(|(t, _)| *t >= arrived).map(|(_, op)| op.clone()).collect();
            }
            // The floor: the same work, bare.
            let log_id = body["log_id"].as_str().unwrap_or_default().to_owned();
            let entry = last_log(aws, &tables.logs, &cp_id, &log_id).await?;
            endpoint.arrivals.lock().expect("not poisoned").clear();
            let started = Instant::now();
            let product =
                aws.ddb.get_item().table_name(&tables.main).key("pk", AttributeValue::S(format!("CP#{cp_id}"))).key("sk", AttributeValue::S("CP".into())).consistent_read(true).send().await?;
            let _configuration =
                aws.ddb.get_item().table_name(&tables.main).key("pk", AttributeValue::S(format!("CFG#{cfg_id}"))).key("sk", AttributeValue::S("CFG".into())).consistent_read(true).send().await?;
            let call = json!({ "blueprint": "web-hosting", "action": action, "configuration_id": cfg_id, "service_identifier": "benchuser", "params": { "username": "benchuser" } }).to_string();
            let answered: Value = http.post(server.uri()).header("x-action", format!("web-hosting/{action}")).body(call).send().await?.json().await?;
            let mut log = entry.clone();
            log.insert("sk".into(), AttributeValue::S(format!("{}#floor-{i}", shared::domain::time::now_rfc3339())));
            let mut writes = vec![TransactWriteItem::builder().put(Put::builder().table_name(&tables.logs).set_item(Some(log)).build()?).build()];
            let status_change = action != "get-info";
            if status_change {
                let mut item = product.item().cloned().unwrap_or_default();
                let version: u64 = item.get("version").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
                item.insert("version".into(), AttributeValue::N((version + 1).to_string()));
                writes.push(
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&tables.main)
                                .set_item(Some(item))
                                .condition_expression("version = :v")
                                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                                .build()?,
                        )
                        .build(),
                );
                // The event, an outbox record in the same transaction.
                let event = json!({ "id": unique("ev-floor"), "type": "contract_product.suspended", "contract_product_id": cp_id, "data": answered["data"] });
                let record = HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(format!("OUTBOX#{}", event["id"].as_str().unwrap_or_default()))),
                    ("sk".to_owned(), AttributeValue::S("OUTBOX".into())),
                    ("event".to_owned(), AttributeValue::S(event.to_string())),
                ]);
                writes.push(TransactWriteItem::builder().put(Put::builder().table_name(&tables.main).set_item(Some(record)).build()?).build());
            }
            aws.ddb.transact_write_items().set_transact_items(Some(writes)).send().await?;
            let took = started.elapsed();
            let calls = aws.calls.take();
            let arrived = endpoint.arrivals.lock().expect("not poisoned").first().copied().ok_or("the floor did not reach the provider")?;
            if i >= warm {
                floor.push(took);
                floor_before = calls.iter().filter(|(t, _)| *t < arrived).count();
                floor_after = calls.iter().filter(|(t, _)| *t >= arrived).count();
            }
        }
        reports.push(ActionReport { action: label.to_owned(), handler: summarize(handler), floor: summarize(floor), before, after, after_ops, floor_before, floor_after });
    }
    Ok(reports)
}

/// The log entry a run wrote (the floor writes a copy of it, under another key).
async fn last_log(aws: &Aws, table: &str, cp: &str, log_id: &str) -> Result<HashMap<String, AttributeValue>, Error> {
    let found = aws
        .ddb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .filter_expression("log_id = :id")
        .expression_attribute_values(":pk", AttributeValue::S(cp.to_owned()))
        .expression_attribute_values(":id", AttributeValue::S(log_id.to_owned()))
        .scan_index_forward(false)
        .send()
        .await?;
    // The interceptor counted this lookup: it is not part of either measure.
    aws.calls.take();
    found.items().first().cloned().ok_or_else(|| format!("no log entry {log_id}").into())
}
