//! The outbox in the main table: an outgoing event written in the transaction of the change that
//! makes it (`OUTBOX#<event id>`), so it exists exactly when the change does. The table's stream
//! brings each new record to the dispatcher (its event source mapping passes new outbox records
//! only), which puts it on the events queue; a record expires after a week (TTL), long after.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::s;
use crate::domain::outgoing::{OUTBOX_PREFIX, OutgoingEvent};

/// How long an outbox record stays (for a person to look at), long past its publishing.
const KEEP_SECONDS: u64 = 7 * 24 * 3600;

/// The outbox record of an event. A plain put: the same event written again (a run recorded a
/// second time) changes nothing the stream's filter passes, so it is announced once.
pub fn item(event: &OutgoingEvent) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([("pk".to_owned(), s(format!("{OUTBOX_PREFIX}{}", event.id))), ("sk".to_owned(), s("OUTBOX"))]);
    item.insert("type".into(), s("outbox"));
    item.insert("event".into(), s(serde_json::to_string(event).unwrap_or_default()));
    item.insert("created_at".into(), s(crate::domain::time::now_rfc3339()));
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) + KEEP_SECONDS;
    item.insert("expires_at".into(), AttributeValue::N(expires.to_string()));
    item
}

/// The put of an event's outbox record, for a transaction.
pub fn put(table: &str, event: &OutgoingEvent) -> TransactWriteItem {
    TransactWriteItem::builder().put(Put::builder().table_name(table).set_item(Some(item(event))).build().expect("table and item set")).build()
}
