//! The logs function: provision log queries. Every query is one page of a key or index of the
//! log store (`LogStore`: the logs table's key or one of its indexes), newest first, behind an
//! opaque cursor; its cost follows the page, not the table.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::adapters::dynamodb::logs::{LogIndex, LogQuery, LogStore};
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::auth::Authenticator;
use crate::api::cursor::{self, Key};
use crate::api::{ApiError, HttpRequest, HttpResponse};
use crate::domain::actor::Caller;
use crate::domain::ids::{ConfigurationId, ContractProductId, LogId};
use crate::domain::log::LogEntry;
use crate::domain::time::{format_millis, now_millis};

const DEFAULT_LIMIT: i32 = 50;
const MAX_LIMIT: i32 = 200;
/// The longest window of the system-wide query, in days (one Query per day at most).
const MAX_DAYS: i64 = 31;

#[derive(Clone)]
pub struct LogsApi {
    auth: Authenticator,
    logs: LogStore,
    products: ProductStore,
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::validation("the query has invalid parameters", json!({ "fields": { field: message } }))
}

/// `since` / `until`: RFC 3339 instants or dates, compared as the sort keys are.
fn instant(query: &HashMap<String, String>, name: &str) -> Result<Option<String>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(v) => {
            let ok = v.len() >= 10 && v.len() <= 30 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-' && v.chars().all(|c| c.is_ascii_digit() || "-:TZ.+".contains(c));
            if ok { Ok(Some(v.clone())) } else { Err(bad(name, "must be an RFC 3339 date or time, e.g. 2026-11-23T00:00:00Z")) }
        }
    }
}

struct Filters {
    status: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: i32,
    cursor: Option<Key>,
    cursor_day: Option<String>,
}

fn filters(query: &HashMap<String, String>) -> Result<Filters, ApiError> {
    let status = query.get("status").cloned();
    if let Some(s) = &status
        && !["success", "error", "pending"].contains(&s.as_str())
    {
        return Err(bad("status", "must be success, error or pending"));
    }
    let action = query.get("action").cloned();
    if let Some(a) = &action
        && (a.is_empty() || a.len() > 64 || !a.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    {
        return Err(bad("action", "must be an action id such as suspend-account"));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l.parse::<i32>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| bad("limit", "must be 1 to 200"))?,
    };
    let (cursor, cursor_day) = match query.get("cursor") {
        None => (None, None),
        Some(c) => cursor::decode(c, true)?,
    };
    let (since, until) = (instant(query, "since")?, instant(query, "until")?);
    if let (Some(a), Some(b)) = (&since, &until) {
        ordered(a, b)?;
    }
    Ok(Filters { status, action, since, until, limit, cursor, cursor_day })
}

/// A window the sort key can hold: `since` not after `until` (a date stands for its whole day).
fn ordered(since: &str, until: &str) -> Result<(), ApiError> {
    if since > format!("{until}~").as_str() { Err(bad("until", "must not be before since")) } else { Ok(()) }
}

fn cursor_of(key: Option<&Key>, day: Option<&str>) -> Option<String> {
    cursor::encode(key, day)
}

/// A list item: the entry without its debug data.
fn summary(entry: &LogEntry) -> Value {
    let mut v = serde_json::to_value(entry).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("debug");
    }
    v
}

impl LogsApi {
    pub fn new(auth: Authenticator, logs: LogStore, products: ProductStore) -> Self {
        LogsApi { auth, logs, products }
    }

    /// One page of `index` at `partition`, newest first, with the query's window and filters.
    async fn page(&self, index: LogIndex, partition: &str, f: &Filters, cursor: Option<Key>, limit: i32) -> Result<(Vec<LogEntry>, Option<Key>), ApiError> {
        let query = LogQuery { index, partition, since: f.since.as_deref(), until: f.until.as_deref(), status: f.status.as_deref(), action: f.action.as_deref() };
        self.logs.page(&query, cursor, limit).await.map_err(|e| match e {
            // A cursor of another query names a key the index does not have.
            crate::ports::StoreError::Conflict(_) => bad("cursor", "does not belong to this query"),
            other => other.into(),
        })
    }

    fn check_cursor_pk(f: &Filters, pk_name: &str, pk: &str) -> Result<(), ApiError> {
        match f.cursor.as_ref().map(|c| c.get(pk_name).map(String::as_str)) {
            Some(Some(p)) if p != pk => Err(bad("cursor", "does not belong to this query")),
            Some(None) => Err(bad("cursor", "does not belong to this query")),
            _ => Ok(()),
        }
    }

    async fn by_key(&self, index: LogIndex, pk: &str, query: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let f = filters(query)?;
        if f.cursor_day.is_some() {
            return Err(cursor::bad_cursor("does not belong to this query").into());
        }
        Self::check_cursor_pk(&f, index.key_name(), pk)?;
        let (items, next) = self.page(index, pk, &f, f.cursor.clone(), f.limit).await?;
        let items: Vec<Value> = items.iter().map(summary).collect();
        HttpResponse::json(200, &json!({ "items": items, "next_cursor": cursor_of(next.as_ref(), None) }))
    }

    /// Logs of one status across the system, day partition by day partition, newest first.
    async fn by_status(&self, query: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let mut f = filters(query)?;
        let status = f.status.clone().unwrap_or_else(|| "error".into());
        let day_ms = |d: &str| -> Option<i64> {
            let (y, m, dd) = (d.get(0..4)?.parse::<i64>().ok()?, d.get(5..7)?.parse::<i64>().ok()?, d.get(8..10)?.parse::<i64>().ok()?);
            // days from civil (inverse of time::format_millis)
            let y = if m <= 2 { y - 1 } else { y };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + dd - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            Some((era * 146_097 + doe - 719_468) * 86_400_000)
        };
        // By default the week up to `until` (or up to now).
        let until = f.until.clone().unwrap_or_else(|| format_millis(now_millis()));
        let since = match &f.since {
            Some(since) => since.clone(),
            None => format_millis(day_ms(&until).ok_or_else(|| bad("until", "is not a date"))? - 7 * 86_400_000),
        };
        ordered(&since, &until)?;
        let (first, last) = (day_ms(&since).ok_or_else(|| bad("since", "is not a date"))?, day_ms(&until).ok_or_else(|| bad("until", "is not a date"))?);
        if last < first {
            return Err(bad("until", "must not be before since"));
        }
        if (last - first) / 86_400_000 >= MAX_DAYS {
            return Err(bad("since", "the window may span 31 days at most"));
        }
        // The status is the index's key here, not a filter.
        f.status = None;
        f.since = Some(since);
        f.until = Some(until);
        let mut day = match &f.cursor_day {
            Some(d) => day_ms(d).filter(|d| *d >= first && *d <= last).ok_or_else(|| bad("cursor", "does not belong to this query"))?,
            None => last,
        };
        let mut start = f.cursor.take();
        let mut items: Vec<LogEntry> = Vec::new();
        let answer = |items: &[LogEntry], cursor: Option<String>| HttpResponse::json(200, &json!({ "items": items.iter().map(summary).collect::<Vec<_>>(), "next_cursor": cursor }));
        loop {
            let day_text = format_millis(day)[..10].to_owned();
            let partition = format!("{status}#{day_text}");
            if let Some(c) = &start
                && c.get(LogIndex::StatusDay.key_name()) != Some(&partition)
            {
                return Err(bad("cursor", "does not belong to this query"));
            }
            let want = f.limit - items.len() as i32;
            let (page, next) = self.page(LogIndex::StatusDay, &partition, &f, start.take(), want).await?;
            items.extend(page);
            let full = items.len() as i32 >= f.limit;
            if let Some(next) = next.filter(|n| !n.is_empty()) {
                if full {
                    return answer(&items, cursor_of(Some(&next), Some(&day_text)));
                }
                start = Some(next);
                continue;
            }
            day -= 86_400_000;
            if day < first {
                return answer(&items, None);
            }
            if full {
                // The next page starts at the top of the next (older) day.
                return answer(&items, cursor_of(None, Some(&format_millis(day)[..10])));
            }
        }
    }

    async fn one(&self, caller: &Caller, raw: &str) -> Result<HttpResponse, ApiError> {
        let not_found = || ApiError::NotFound(format!("no log entry {raw:?}"));
        let id = LogId::parse(raw).map_err(|_| not_found())?;
        let entry = self.logs.entry(&id).await?.ok_or_else(not_found)?;
        match caller {
            Caller::Admin { .. } => HttpResponse::json(200, &entry),
            Caller::Client { client_id, .. } => {
                let cp = self.products.contract_product(&entry.contract_product_id).await?.ok_or_else(not_found)?;
                if cp.client_id != client_id.as_str() {
                    return Err(not_found());
                }
                HttpResponse::json(200, &summary(&entry))
            }
        }
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        let (route, params) = request.route("logs")?;
        let caller = self.auth.authenticate(request.header("authorization")).await?;
        let id = params.get("id").or_else(|| params.get("log_id")).cloned().unwrap_or_default();
        match route.operation_id {
            "productLogs" => {
                let not_found = || ApiError::NotFound(format!("no contract product {id:?}"));
                let cp_id = ContractProductId::parse(&id).map_err(|_| not_found())?;
                let cp = self.products.contract_product(&cp_id).await?.ok_or_else(not_found)?;
                if let Caller::Client { client_id, .. } = &caller
                    && client_id.as_str() != cp.client_id
                {
                    return Err(not_found());
                }
                self.by_key(LogIndex::Product, cp_id.as_str(), &request.query).await
            }
            "configurationLogs" => {
                crate::api::auth::require_admin(&caller)?;
                let cfg = ConfigurationId::parse(&id).map_err(|_| ApiError::NotFound(format!("no provision configuration {id:?}")))?;
                self.by_key(LogIndex::Configuration, cfg.as_str(), &request.query).await
            }
            "systemLogs" => {
                crate::api::auth::require_admin(&caller)?;
                self.by_status(&request.query).await
            }
            "logEntry" => self.one(&caller, &id).await,
            other => Err(ApiError::internal(format!("route {other} has no handler"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A window that ends before it starts is the caller's mistake (400), never a query the
    /// store refuses (500); a date stands for its whole day.
    #[test]
    fn a_window_ending_before_it_starts_is_refused() {
        assert!(filters(&query(&[("since", "2026-11-23"), ("until", "0007-05-06")])).is_err());
        assert!(filters(&query(&[("since", "2026-11-23T10:00:00Z"), ("until", "2026-11-23T09:00:00Z")])).is_err());
        assert!(filters(&query(&[("since", "2026-11-23T10:00:00Z"), ("until", "2026-11-23")])).is_ok());
        assert!(filters(&query(&[("since", "2026-11-23"), ("until", "2026-11-23")])).is_ok());
    }
}
