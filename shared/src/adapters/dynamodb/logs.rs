//! Provision log entries in the logs table: `pk` = contract product id, `sk` =
//! `<started_at>#<log_id>` (a product's logs newest first by a reverse Query), plus the keys of
//! the indexes: `configuration_id`, `status_day` (`<status>#<YYYY-MM-DD>`) and `log_id`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::{from_item, to_item};
use crate::domain::log::LogEntry;

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
        serde_json::from_value(Value::Object(from_item(item))).map_err(|e| super::StoreError::Malformed(e.to_string()))
    }
}
