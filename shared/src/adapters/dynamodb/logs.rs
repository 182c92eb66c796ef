//! Provision log entries in the logs table: `pk` = contract product id, `sk` =
//! `<started_at>#<log_id>` (a product's logs newest first by a reverse Query), plus the keys of
//! the indexes: `configuration_id`, `status_day` (`<status>#<YYYY-MM-DD>`) and `log_id`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::{StoreError, s, to_item};
use crate::domain::ids::LogId;
use crate::domain::log::LogEntry;
use crate::ports::PageKey;

/// How long a log entry is kept (TTL).
pub const RETENTION_DAYS: u64 = 400;
/// Debug data over this many bytes is cut, so an entry stays far below DynamoDB's 400 KB.
pub const MAX_DEBUG_BYTES: usize = 64 * 1024;

impl LogEntry {
    /// The entry as a logs-table item.
    pub fn item(&self) -> HashMap<String, AttributeValue> {
        let mut entry = self.clone();
        let debug_size = entry.debug.to_string().len();
        if debug_size > MAX_DEBUG_BYTES {
            let text = entry.debug.to_string();
            let cut: String = text.chars().take(MAX_DEBUG_BYTES).collect();
            entry.debug = serde_json::json!({ "truncated": true, "bytes": debug_size, "excerpt": cut });
        }
        // A third party's raw answer the store could not keep (nested too deep, a number beyond
        // DynamoDB's) is kept as its text instead: the run's record is never refused for it.
        for part in [&mut entry.debug, &mut entry.data] {
            if !crate::catalogue::validate::is_storable(part) {
                *part = serde_json::json!({ "unstorable_as_json": part.to_string() });
            }
        }
        let Value::Object(mut o) = serde_json::to_value(&entry).expect("a log entry serializes") else { unreachable!("a struct is an object") };
        o.insert("pk".into(), self.contract_product_id.as_str().into());
        o.insert("sk".into(), format!("{}#{}", self.started_at, self.log_id).into());
        o.insert("status_day".into(), format!("{}#{}", self.status.as_str(), &self.started_at[..10.min(self.started_at.len())]).into());
        let expires = crate::domain::time::now_epoch() + RETENTION_DAYS * 86_400;
        o.insert("expires_at".into(), expires.into());
        to_item(&o)
    }

    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self, super::StoreError> {
        super::record_of(item)
    }
}

/// The key or index a log query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogIndex {
    /// A contract product's entries (the table's own key).
    Product,
    /// A configuration's entries.
    Configuration,
    /// The entries of one status on one day, system-wide (`<status>#<YYYY-MM-DD>`).
    StatusDay,
}

impl LogIndex {
    fn index(self) -> Option<&'static str> {
        match self {
            LogIndex::Product => None,
            LogIndex::Configuration => Some("by_configuration"),
            LogIndex::StatusDay => Some("by_status_day"),
        }
    }

    /// The attribute its partition is keyed on (a page key of it holds it).
    pub fn key_name(self) -> &'static str {
        match self {
            LogIndex::Product => "pk",
            LogIndex::Configuration => "configuration_id",
            LogIndex::StatusDay => "status_day",
        }
    }
}

/// One page's query: a partition of a key or index, a window of start times (RFC 3339 prefixes;
/// a date stands for its whole day) and equality filters.
#[derive(Debug, Clone, Copy)]
pub struct LogQuery<'a> {
    pub index: LogIndex,
    pub partition: &'a str,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub status: Option<&'a str>,
    pub action: Option<&'a str>,
}

/// Log entries as the logs API reads them.
#[derive(Clone)]
pub struct LogStore {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

impl LogStore {
    pub fn new(ddb: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        LogStore { ddb, table: table.into() }
    }

    /// One page of a query, newest first: the entries and where the page ended.
    /// [`StoreError::Conflict`] when `start` is no key of the query's index (a cursor of another
    /// query).
    pub async fn page(&self, q: &LogQuery<'_>, start: Option<PageKey>, limit: i32) -> Result<(Vec<LogEntry>, Option<PageKey>), StoreError> {
        let mut key_condition = "#pk = :pk".to_owned();
        let mut query = self
            .ddb
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.index().map(String::from))
            .scan_index_forward(false)
            .limit(limit)
            .expression_attribute_names("#pk", q.index.key_name())
            .expression_attribute_values(":pk", s(q.partition))
            .set_exclusive_start_key(super::start_key(start));
        match (q.since, q.until) {
            (Some(a), Some(b)) => {
                key_condition.push_str(" AND sk BETWEEN :since AND :until");
                query = query.expression_attribute_values(":since", s(a)).expression_attribute_values(":until", s(format!("{b}~")));
            }
            (Some(a), None) => {
                key_condition.push_str(" AND sk >= :since");
                query = query.expression_attribute_values(":since", s(a));
            }
            (None, Some(b)) => {
                key_condition.push_str(" AND sk <= :until");
                query = query.expression_attribute_values(":until", s(format!("{b}~")));
            }
            (None, None) => {}
        }
        let mut filter = Vec::new();
        if let Some(st) = q.status {
            filter.push("#status = :status");
            query = query.expression_attribute_names("#status", "status").expression_attribute_values(":status", s(st));
        }
        if let Some(a) = q.action {
            filter.push("#action = :action");
            query = query.expression_attribute_names("#action", "action").expression_attribute_values(":action", s(a));
        }
        if !filter.is_empty() {
            query = query.filter_expression(filter.join(" AND "));
        }
        let out = query.key_condition_expression(key_condition).send().await.map_err(|e| {
            let e = StoreError::aws(e);
            if e.to_string().contains("starting key") || e.to_string().contains("ExclusiveStartKey") { StoreError::Conflict("the start key is not of this query".into()) } else { e }
        })?;
        let items = out.items().iter().map(LogEntry::from_item).collect::<Result<Vec<_>, _>>()?;
        Ok((items, super::page_key(out.last_evaluated_key())))
    }

    /// One entry by its id: its keys from the log id index, then the entry.
    pub async fn entry(&self, id: &LogId) -> Result<Option<LogEntry>, StoreError> {
        let keys = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name("by_log_id")
            .key_condition_expression("log_id = :id")
            .expression_attribute_values(":id", s(id.as_str()))
            .limit(1)
            .send()
            .await
            .map_err(StoreError::aws)?;
        let Some(key) = keys.items().first() else { return Ok(None) };
        let (Some(pk), Some(sk)) = (key.get("pk").cloned(), key.get("sk").cloned()) else { return Ok(None) };
        let item = self.ddb.get_item().table_name(&self.table).key("pk", pk).key("sk", sk).send().await.map_err(StoreError::aws)?;
        item.item().map(LogEntry::from_item).transpose()
    }
}
