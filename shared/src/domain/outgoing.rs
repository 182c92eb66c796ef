//! Events out (API.md "Events out"): each status change or failure makes an event, written as an
//! outbox record in the same transaction as the change itself (so an event is never lost, nor
//! made for a change that was not stored). The main table's stream brings new outbox records to
//! the dispatcher, which puts them on the events queue and delivers them to the enabled handlers
//! of their type.

use serde::{Deserialize, Serialize};

use crate::domain::ProductStatus;

pub const EVENT_NAMES: [&str; 9] = [
    "contract_product.created",
    "contract_product.activated",
    "contract_product.suspended",
    "contract_product.unsuspended",
    "contract_product.renewed",
    "contract_product.package_changed",
    "contract_product.terminated",
    "contract_product.setup_failed",
    "contract_product.action_failed",
];

/// The main table's partition key prefix of outbox records (`OUTBOX#<event id>`).
pub const OUTBOX_PREFIX: &str = "OUTBOX#";

/// The stream filter of the dispatcher's event source mapping (Lambda's filter pattern syntax):
/// new outbox records, nothing else the main table writes.
pub fn outbox_filter() -> serde_json::Value {
    serde_json::json!({ "eventName": ["INSERT"], "dynamodb": { "Keys": { "pk": { "S": [{ "prefix": OUTBOX_PREFIX }] } } } })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub contract_product_id: String,
    pub client_id: String,
    pub blueprint: String,
    pub action: Option<String>,
    pub log_id: Option<String>,
    pub status: ProductStatus,
    pub message: String,
    pub occurred_at: String,
}

/// The event a run makes, if any: by the status it moved the product to, else by the action.
pub fn event_for(action: &str, before: ProductStatus, after: ProductStatus, failed: bool, setup: bool) -> Option<&'static str> {
    Some(match (failed, before, after) {
        (true, _, _) if setup => "contract_product.setup_failed",
        (true, _, _) => "contract_product.action_failed",
        (false, ProductStatus::Suspended, ProductStatus::Active) => "contract_product.unsuspended",
        (false, b, ProductStatus::Active) if b != ProductStatus::Active => "contract_product.activated",
        (false, b, ProductStatus::Suspended) if b != ProductStatus::Suspended => "contract_product.suspended",
        (false, b, ProductStatus::Terminated) if b != ProductStatus::Terminated => "contract_product.terminated",
        _ if action == "renew" => "contract_product.renewed",
        _ if action == "change-package" || action == "upgrade-downgrade-license" => "contract_product.package_changed",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProductStatus::*;

    #[test]
    fn runs_make_the_events_of_api_md() {
        assert_eq!(event_for("create-account", Pending, Active, false, true), Some("contract_product.activated"));
        assert_eq!(event_for("create-account", Pending, Failed, true, true), Some("contract_product.setup_failed"));
        assert_eq!(event_for("suspend-account", Active, Suspended, false, false), Some("contract_product.suspended"));
        assert_eq!(event_for("unsuspend-account", Suspended, Active, false, false), Some("contract_product.unsuspended"));
        assert_eq!(event_for("delete-account", Active, Terminated, false, false), Some("contract_product.terminated"));
        assert_eq!(event_for("renew", Active, Active, false, false), Some("contract_product.renewed"));
        assert_eq!(event_for("change-package", Active, Active, false, false), Some("contract_product.package_changed"));
        assert_eq!(event_for("get-info", Active, Active, false, false), None);
        assert_eq!(event_for("get-info", Active, Active, true, false), Some("contract_product.action_failed"));
    }
}
