//! Lifecycle events (API.md "Billing webhook") as records: their types and statuses. What each
//! event runs is the engine's (`engine::lifecycle`).

use serde::{Deserialize, Serialize};

pub const EVENT_TYPES: [&str; 6] = ["order.paid", "contract.renewed", "invoice.overdue", "invoice.paid", "contract.cancelled", "contract.package_changed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Claimed, not yet on the queue.
    Received,
    Queued,
    Processing,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub contract_product_id: String,
    /// SHA-256 of the raw body: the same id with another body is refused.
    pub body_sha256: String,
    pub status: EventStatus,
    #[serde(default)]
    pub log_ids: Vec<String>,
    #[serde(default)]
    pub error: Option<String>,
    pub received_at: String,
    pub updated_at: String,
    /// How often an admin has sent it again after it failed.
    #[serde(default)]
    pub retries: u32,
}
