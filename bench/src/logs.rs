//! (d) Log query latency for the product, configuration and status queries with a small and a
//! large logs table (bulk-loaded), and their ratio. Each table belongs to a stack of its own,
//! made from template.yaml as the functions' tables are; the queries run through the logs
//! handler in process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde_json::{Value, json};
use shared::adapters::dynamodb::Tables;
use shared::api::logs::LogsApi;
use shared::domain::ids::{ConfigurationId, ContractProductId, LogId};
use shared::domain::log::{LogEntry, LogStatus};
use shared::domain::time::{format_millis, now_millis};

use crate::common::{Aws, Error, Summary, admin_token, authenticator, request, summarize};

/// Rows of the one product, configuration and status-day the queries ask for (a full page each).
const TARGET_ROWS: usize = 120;
const DAY_MS: i64 = 86_400_000;

pub struct LogsReport {
    pub rows: usize,
    /// None: the rows were loaded by an earlier run and reused.
    pub load_seconds: Option<f64>,
    pub queries: Vec<(String, Summary)>,
}

/// The stack's tables (a stack of its own per size), created from template.yaml.
async fn stack_tables(aws: &Aws, name: &str) -> Result<Tables, Error> {
    let root = infra::generate::workspace_root();
    let template = infra::cfn::Template::load(&root.join("template.yaml"))?;
    let params =
        [("Stage".to_owned(), "local".to_owned()), ("AuthIssuer".into(), "bench".into()), ("AuthAudience".into(), "bench".into()), ("AuthHs256SecretParameter".into(), "/bench/token-secret".into())]
            .into();
    let mut stack = infra::cfn::Stack::new(template, name, "us-east-1", infra::local::LOCAL_ACCOUNT, &params);
    infra::local::setup(&mut stack, &aws.ddb, &aws.sqs).await?;
    let table = |suffix: &str| stack.physical.values().map(|p| p.reference.clone()).find(|r| r == &format!("{name}-{suffix}"));
    Ok(Tables { main: table("main").ok_or("no main table")?, logs: table("logs").ok_or("no logs table")? })
}

fn entry(i: usize, rows: usize, target_cp: &str, target_cfg: &str, now: i64) -> LogEntry {
    let target = i < TARGET_ROWS;
    let products = (rows / 50).max(1);
    let cp = if target { target_cp.to_owned() } else { format!("cp-bulk-{}", i % products) };
    let cfg = if target { target_cfg.to_owned() } else { format!("cfg-bulk-{}", i % 100) };
    let status = if target || i.is_multiple_of(10) {
        LogStatus::Error
    } else if i % 50 == 1 {
        LogStatus::Pending
    } else {
        LogStatus::Success
    };
    let started = if target { now - (i as i64) * 1000 } else { now - (i as i64 % 30) * DAY_MS - (i as i64 * 7919) % DAY_MS };
    LogEntry {
        log_id: LogId::generate(),
        contract_product_id: ContractProductId::parse(&cp).expect("a valid id"),
        configuration_id: ConfigurationId::parse(&cfg).expect("a valid id"),
        blueprint: "web-hosting".into(),
        provider: "demo".into(),
        action: if i.is_multiple_of(3) { "get-info".into() } else { "suspend-account".into() },
        actor: json!({ "role": "system", "id": format!("billing:ev-{i}") }),
        started_at: format_millis(started),
        duration_ms: 40 + (i as u64 % 200),
        status,
        message: format!("bulk{i} read"),
        params: json!({ "username": format!("bulk{}", i % products) }),
        data: json!({ "username": format!("bulk{}", i % products), "server_hostname": "srv1.example.net", "package_name": "basic", "suspended": false }),
        error: (status == LogStatus::Error).then(|| json!({ "code": "provider_error", "message": "the service is overloaded, try again later", "kind": "transient" })),
        debug: json!([{ "request": { "method": "POST", "url": "demo://web-hosting/get-info" }, "response": { "status": 200 } }]),
    }
}

/// Writes `rows` entries, 25 per BatchWriteItem, from a few writers at once.
async fn load(aws: &Aws, table: &str, rows: usize, target_cp: &str, target_cfg: &str) -> Result<f64, Error> {
    let started = Instant::now();
    let now = now_millis();
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (ddb, table, next, cp, cfg) = (aws.ddb.clone(), table.to_owned(), next.clone(), target_cp.to_owned(), target_cfg.to_owned());
        writers.spawn(async move {
            loop {
                let first = next.fetch_add(25, Ordering::Relaxed);
                if first >= rows {
                    return Ok::<_, Error>(());
                }
                let mut requests: Vec<WriteRequest> = (first..(first + 25).min(rows))
                    .map(|i| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(entry(i, rows, &cp, &cfg, now).item())).build().expect("item set")).build())
                    .collect();
                let mut tries = 0;
                while !requests.is_empty() {
                    let out = ddb.batch_write_item().request_items(&table, requests).send().await?;
                    requests = out.unprocessed_items().and_then(|u| u.get(&table)).cloned().unwrap_or_default();
                    tries += 1;
                    if tries > 20 {
                        return Err("DynamoDB kept items unprocessed".into());
                    }
                }
                if first % 100_000 == 0 && first > 0 {
                    eprintln!("[bench] {table}: {first} rows loaded");
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

pub async fn run(aws: &Aws, sizes: &[usize], iterations: usize) -> Result<Vec<LogsReport>, Error> {
    let token = admin_token()?;
    let mut reports = Vec::new();
    for &rows in sizes {
        let tables = stack_tables(aws, &format!("benchlogs{rows}")).await?;
        let admin = shared::api::admin::Admin::new(authenticator()?, &shared::adapters::dynamodb::Dynamo::new(aws.ddb.clone(), tables.clone()), shared::adapters::ssm::secret_box(&aws.config).await?);
        let cp_id = format!("cp-bench-target-{rows}");
        let found = admin.handle(request("GET", &format!("/contract-products/{cp_id}"), &token, None)).await;
        let held = aws.ddb.describe_table().table_name(&tables.logs).send().await?.table().and_then(|t| t.item_count()).unwrap_or(0);
        let (cfg_id, load_seconds) = match found {
            // Loaded by an earlier run on the same data directory: reused.
            Ok(r) if r.status == 200 && held >= rows as i64 => {
                let cp: Value = serde_json::from_str(&r.body)?;
                eprintln!("[bench] {held} log rows held from an earlier run: reused");
                (cp["provision_configuration_id"].as_str().unwrap_or_default().to_owned(), None)
            }
            Ok(r) if r.status == 200 => return Err(format!("{} holds {held} rows of an unfinished load: remove the bench's DynamoDB data (.local/bench-dynamodb)", tables.logs).into()),
            _ => {
                let created = admin
                    .handle(request(
                        "POST",
                        "/provision-configurations",
                        &token,
                        Some(&json!({ "name": "bulk", "blueprint": "web-hosting", "provider": "demo", "settings": { "server_hostname": "srv1.example.net" } })),
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                let cfg: Value = serde_json::from_str(&created.body)?;
                let cfg_id = cfg["id"].as_str().ok_or_else(|| format!("configuration: {}", created.body))?.to_owned();
                let made = admin
                    .handle(request(
                        "POST",
                        "/contract-products",
                        &token,
                        Some(&json!({ "id": cp_id, "client_id": "bench-client", "blueprint": "web-hosting", "deployment": { "type": "static", "configuration_id": cfg_id } })),
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                if made.status != 201 {
                    return Err(format!("contract product: {}", made.body).into());
                }
                eprintln!("[bench] loading {rows} log rows");
                let seconds = load(aws, &tables.logs, rows, &cp_id, &cfg_id).await?;
                eprintln!("[bench] {rows} rows in {seconds:.0} s");
                (cfg_id, Some(seconds))
            }
        };
        let dynamo = shared::adapters::dynamodb::Dynamo::new(aws.ddb.clone(), tables.clone());
        let api = LogsApi::new(authenticator()?, dynamo.logs(), dynamo.products());
        // The day the target rows were written (today, or the day of an earlier load).
        let newest = api.handle(request("GET", &format!("/contract-products/{cp_id}/logs?limit=1"), &token, None)).await.map_err(|e| e.to_string())?;
        let newest: Value = serde_json::from_str(&newest.body)?;
        let day = newest["items"][0]["started_at"].as_str().map_or_else(|| format_millis(now_millis()), str::to_owned);
        let today = &day[..10];
        let queries = [
            ("product (newest 50 of one contract product)", format!("/contract-products/{cp_id}/logs")),
            ("configuration (newest 50 of one configuration)", format!("/provision-configurations/{cfg_id}/logs")),
            ("status (newest 50 errors of one day)", format!("/logs?status=error&since={today}&until={today}")),
        ];
        let mut measured = Vec::new();
        for (label, path) in queries {
            let mut sample = Vec::new();
            for i in 0..iterations + 20 {
                let started = Instant::now();
                let answer = api.handle(request("GET", &path, &token, None)).await.map_err(|e| format!("{path}: {e}"))?;
                let took = started.elapsed();
                let body: Value = serde_json::from_str(&answer.body)?;
                let items = body["items"].as_array().map_or(0, Vec::len);
                if answer.status != 200 || items != 50 {
                    return Err(format!("{path}: {} with {items} items: {}", answer.status, answer.body.chars().take(300).collect::<String>()).into());
                }
                if i >= 20 {
                    sample.push(took);
                }
            }
            measured.push((label.to_owned(), summarize(sample)));
        }
        reports.push(LogsReport { rows, load_seconds, queries: measured });
    }
    Ok(reports)
}
