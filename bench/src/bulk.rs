//! `bench bulk`: a bulk suspend of N demo services on a configuration limited to R calls a
//! second, through the whole path (POST /bulk-actions over HTTP, the lifecycle queue, the worker
//! under cargo lambda watch, the demo provider). It measures the job's duration and rate, and at
//! the provider double (each demo object records when the call that changed it arrived) the
//! most calls that arrived within any one second; it checks that every service was suspended
//! and logged exactly once. Then one service in twenty is unsuspended at the provider behind
//! the engine's back and a drift sweep of its configuration runs (the worker's schedule,
//! invoked now for that configuration alone): it must find
//! exactly those. Over the limit, any service left or logged twice, or a sweep that finds other
//! than the changed services fails the run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::common::{Aws, Error, admin_token, env, unique};

#[derive(Debug, Default, Clone)]
pub struct BulkReport {
    pub services: usize,
    pub limit: u32,
    pub done: u64,
    pub failed: u64,
    /// From the POST to the job's last item.
    pub seconds: f64,
    /// Calls a second at the provider, first arrival to last.
    pub rate: f64,
    /// The most calls that arrived at the provider within any one second (sliding).
    pub busiest_second: usize,
    pub suspended_at_provider: usize,
    /// Services whose log holds other than exactly one suspend.
    pub logged_wrong: usize,
    pub setup_seconds: f64,
    /// The drift sweep after it: services changed behind the engine's back, services it asked,
    /// those it found drifted, whether they are exactly the changed ones, and how long it took.
    pub changed: usize,
    pub swept: u64,
    pub drifted: u64,
    pub found_exactly: bool,
    pub sweep_seconds: f64,
    pub usage_refreshed: u64,
}

async fn call(http: &reqwest::Client, url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Error> {
    let (status, body) = answer(http, url, method, path, body).await?;
    if status >= 300 {
        return Err(format!("{path}: {status} {body}").into());
    }
    Ok(body)
}

/// The status and JSON body of one request, whatever the status.
async fn answer(http: &reqwest::Client, url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<(u16, Value), Error> {
    let mut request = http.request(method, format!("{url}{path}")).bearer_auth(admin_token()?);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// Imports `names` into the configuration for `client`, as a company moving its services here
/// would: 20 a request, and a request whose answer did not come back (a 5xx, as the local
/// gateway's cargo lambda watch now and then gives for a large answer though the function
/// answered) or services answered `not_tried` are sent again: a service an earlier try already
/// imported is then refused as held (409), which is what the API promises. The contract
/// products are then read from the configuration's service list; every name must be held.
async fn import_all(http: &reqwest::Client, url: &str, cfg_id: &str, names: &[String], client: &str) -> Result<Vec<String>, Error> {
    let path = format!("/provision-configurations/{cfg_id}/import");
    for chunk in names.chunks(20) {
        let mut pending: Vec<&String> = chunk.iter().collect();
        for attempt in 1..=4 {
            if pending.is_empty() {
                break;
            }
            let batch: Vec<Value> = pending.iter().map(|s| json!({ "service_identifier": s, "client_id": client })).collect();
            let (status, body) = answer(http, url, reqwest::Method::POST, &path, Some(json!({ "services": batch }))).await?;
            if status >= 500 && attempt < 4 {
                eprintln!("[bulk] an import answered {status}; sending its {} services again", pending.len());
                continue;
            }
            if status >= 300 {
                return Err(format!("{path}: {status} {body}").into());
            }
            let mut again = Vec::new();
            for (name, r) in pending.iter().zip(body["items"].as_array().into_iter().flatten()) {
                match (r["result"].as_str(), r["status"].as_u64()) {
                    (Some("imported"), _) => {}
                    (Some("refused"), Some(409)) if attempt > 1 => {}
                    (Some("not_tried"), _) => again.push(*name),
                    _ => return Err(format!("an import failed: {r}").into()),
                }
            }
            pending = again;
        }
        if !pending.is_empty() {
            return Err(format!("{} services were still not imported after four tries", pending.len()).into());
        }
    }
    let mut held: HashMap<String, String> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(c) => {
                let mut query = reqwest::Url::parse("http://cursor.invalid/").expect("a constant URL parses");
                query.query_pairs_mut().append_pair("cursor", c);
                format!("/provision-configurations/{cfg_id}/services?{}", query.query().unwrap_or_default())
            }
            None => format!("/provision-configurations/{cfg_id}/services"),
        };
        let page = call(http, url, reqwest::Method::GET, &page_path, None).await?;
        for s in page["items"].as_array().into_iter().flatten() {
            if let (Some(name), Some(cp)) = (s["service_identifier"].as_str(), s["contract_product_id"].as_str()) {
                held.insert(name.to_owned(), cp.to_owned());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    names.iter().map(|n| held.get(n).cloned().ok_or_else(|| format!("{n} was imported but its configuration's service list does not show a contract product holding it").into())).collect()
}

/// The most of `times` (ms, sorted) within any window of `width` ms.
pub fn busiest(times: &[i64], width: i64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

pub async fn run(aws: &Aws, api_url: &str, services: usize, limit: u32) -> Result<BulkReport, Error> {
    let main = env("MAIN_TABLE")?;
    let logs = env("LOGS_TABLE")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let url = api_url.trim_end_matches('/').to_owned();
    let setup = Instant::now();
    // The demo account holds the services from before; each is imported (20 a request).
    let names: Vec<String> = (0..services).map(|i| format!("b{i:05}")).collect();
    let settings = json!({ "server_hostname": "bulk.example.net", "existing_services": names.join(",") });
    let cfg =
        call(&http, &url, reqwest::Method::POST, "/provision-configurations", Some(json!({ "name": unique("bulk-bench"), "blueprint": "web-hosting", "provider": "demo", "settings": settings })))
            .await?;
    let cfg_id = cfg["id"].as_str().unwrap_or_default().to_owned();
    let client = unique("client");
    let ids = import_all(&http, &url, &cfg_id, &names, &client).await?;
    // What that leans on, checked every run: a batch sent again is refused as held, each service
    // a 409, so nothing is made twice.
    let batch: Vec<Value> = names.iter().take(20).map(|s| json!({ "service_identifier": s, "client_id": client })).collect();
    let again = call(&http, &url, reqwest::Method::POST, &format!("/provision-configurations/{cfg_id}/import"), Some(json!({ "services": batch }))).await?;
    if let Some(r) = again["items"].as_array().into_iter().flatten().find(|r| r["result"] != "refused" || r["status"] != 409) {
        return Err(format!("an import sent again was not refused as held: {r}").into());
    }
    // Then the limit, as a company would set it for a panel that allows `limit` calls a second.
    call(&http, &url, reqwest::Method::PATCH, &format!("/provision-configurations/{cfg_id}"), Some(json!({ "limits": { "requests_per_second": limit } }))).await?;
    let setup_seconds = setup.elapsed().as_secs_f64();
    eprintln!("[bulk] {} services imported in {setup_seconds:.0} s; suspending them at {limit} calls a second", ids.len());

    let started = Instant::now();
    let job = call(
        &http,
        &url,
        reqwest::Method::POST,
        "/bulk-actions",
        Some(json!({ "blueprint": "web-hosting", "action": "suspend-account", "params": { "reason": "bench" }, "selection": { "filter": { "configuration_id": cfg_id, "status": "active" } } })),
    )
    .await?;
    let job_id = job["id"].as_str().unwrap_or_default().to_owned();
    let mut last_done = u64::MAX;
    let mut still = Instant::now();
    let progress = loop {
        let p = call(&http, &url, reqwest::Method::GET, &format!("/bulk-actions/{job_id}?status=failed"), None).await?;
        if ["finished", "cancelled"].contains(&p["state"].as_str().unwrap_or_default()) {
            break p;
        }
        let done = p["progress"]["done"].as_u64().unwrap_or(0);
        if done != last_done {
            eprintln!("[bulk] {done} done after {:.0} s", started.elapsed().as_secs_f64());
            (last_done, still) = (done, Instant::now());
        } else if still.elapsed() > Duration::from_secs(180) {
            return Err(format!("bulk action {job_id} stopped moving: {p}").into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut report = BulkReport {
        services: ids.len(),
        limit,
        done: progress["progress"]["done"].as_u64().unwrap_or(0),
        failed: progress["progress"]["failed"].as_u64().unwrap_or(0),
        seconds,
        setup_seconds,
        ..BulkReport::default()
    };

    // At the provider double: when each suspend arrived.
    let mut arrivals = Vec::new();
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
            if object["suspended"] == true {
                report.suspended_at_provider += 1;
                if let Some(at) = object["requested_at_ms"].as_i64() {
                    arrivals.push(at);
                }
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    arrivals.sort_unstable();
    report.busiest_second = busiest(&arrivals, 1000);
    if let (Some(first), Some(last)) = (arrivals.first(), arrivals.last())
        && last > first
    {
        report.rate = (arrivals.len() - 1) as f64 * 1000.0 / (last - first) as f64;
    }
    // Each service's log: exactly one suspend.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        let found = aws
            .ddb
            .query()
            .table_name(&logs)
            .key_condition_expression("pk = :pk")
            .filter_expression("#action = :suspend")
            .expression_attribute_names("#action", "action")
            .expression_attribute_values(":pk", AttributeValue::S(id.clone()))
            .expression_attribute_values(":suspend", AttributeValue::S("suspend-account".into()))
            .send()
            .await?;
        counts.insert(id, found.count() as usize);
    }
    aws.calls.take();
    report.logged_wrong = counts.values().filter(|c| **c != 1).count();

    // Drift: one service in twenty unsuspended at the panel by hand.
    let changed: Vec<&String> = names.iter().step_by(20).collect();
    for name in &changed {
        aws.ddb
            .update_item()
            .table_name(&main)
            .key("pk", AttributeValue::S(format!("DEMO#{cfg_id}#web-hosting")))
            .key("sk", AttributeValue::S((*name).clone()))
            .update_expression("SET #o.suspended = :no, version = version + :one")
            .expression_attribute_names("#o", "object")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await?;
    }
    report.changed = changed.len();
    let swept_at = Instant::now();
    let invoked = http.post(format!("{url}/2015-03-31/functions/worker/invocations")).json(&json!({ "sweep": "drift", "configuration_id": cfg_id })).send().await?.text().await?;
    eprintln!("[bulk] drift sweep started: {} bytes of answer", invoked.len());
    let mut still = Instant::now();
    let mut last = u64::MAX;
    let drift = loop {
        let r = http.get(format!("{url}/provision-configurations/{cfg_id}/drift")).bearer_auth(admin_token()?).send().await?;
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if body["finished_at"].is_string() {
            break body;
        }
        let checked = body["checked"].as_u64().unwrap_or(0);
        if checked != last {
            (last, still) = (checked, Instant::now());
        } else if still.elapsed() > Duration::from_secs(180) {
            return Err(format!("the drift sweep of {cfg_id} stopped moving: {body}").into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    report.sweep_seconds = swept_at.elapsed().as_secs_f64();
    report.swept = drift["checked"].as_u64().unwrap_or(0);
    report.drifted = drift["drifted_count"].as_u64().unwrap_or(0);
    report.usage_refreshed = drift["usage_refreshed"].as_u64().unwrap_or(0);
    let mut found: Vec<&str> = drift["drifted"].as_array().into_iter().flatten().filter_map(|d| d["service_identifier"].as_str()).collect();
    found.sort_unstable();
    let mut expected: Vec<&str> = changed.iter().map(|s| s.as_str()).collect();
    expected.sort_unstable();
    report.found_exactly = found == expected && report.drifted == changed.len() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_busiest_second_is_a_sliding_window() {
        assert_eq!(super::busiest(&[0, 100, 999, 1000, 1001, 1500], 1000), 4);
        assert_eq!(super::busiest(&[], 1000), 0);
        assert_eq!(super::busiest(&[5], 1000), 1);
    }
}
