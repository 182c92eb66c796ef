//! Billing lifecycle events (API.md "Billing webhook"): their shape, and the action each runs.

use serde_json::{Map, Value, json};

use crate::catalogue::schema::{any_object, one_of, params, string, string_max};
use crate::catalogue::{Action, Blueprint};
use crate::domain::ProductStatus;
use crate::store::products::ContractProduct;

pub const EVENT_TYPES: [&str; 6] =
    ["order.paid", "contract.renewed", "invoice.overdue", "invoice.paid", "contract.cancelled", "contract.package_changed"];

/// The webhook body.
pub fn event_schema() -> Value {
    params()
        .req("id", string_max(128))
        .req("type", one_of(&EVENT_TYPES))
        .req("contract_product_id", string_max(128))
        .req("occurred_at", string())
        .opt(
            "data",
            params()
                .opt("product_id", string())
                .opt("client_id", string_max(128))
                .opt("service_identifier", string_max(255))
                .opt("provision_fields", any_object())
                .opt("package", string())
                .opt("params", any_object())
                .build(),
        )
        .build()
}

fn find<'a>(b: &'a Blueprint, prefixes: &[&str]) -> Option<&'a Action> {
    b.actions.iter().find(|a| prefixes.iter().any(|p| a.id == *p || a.id.starts_with(&format!("{p}-"))))
}

/// The action an event runs on a product now, with its params; None when there is nothing to
/// do (the product is already where the event would take it, or the blueprint has no such action).
pub fn action_for(kind: &str, b: &'static Blueprint, cp: &ContractProduct, data: &Value) -> Option<(&'static Action, Value)> {
    let status = cp.status;
    let action = match kind {
        "order.paid" if matches!(status, ProductStatus::Pending | ProductStatus::Failed) => b.actions.iter().find(|a| a.id == cp.setup_action)?,
        "contract.renewed" if matches!(status, ProductStatus::Active | ProductStatus::Suspended) => find(b, &["renew"])?,
        "invoice.overdue" if status == ProductStatus::Active => find(b, &["suspend"])?,
        "invoice.paid" if status == ProductStatus::Suspended => find(b, &["unsuspend"])?,
        "contract.cancelled" if matches!(status, ProductStatus::Active | ProductStatus::Suspended | ProductStatus::Failed) => {
            find(b, &["terminate", "delete"])?
        }
        "contract.package_changed" if matches!(status, ProductStatus::Active | ProductStatus::Suspended) => {
            find(b, &["change-package", "upgrade-downgrade-license"])?
        }
        _ => return None,
    };
    let mut p: Map<String, Value> = data.get("params").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(package) = data.get("package").and_then(Value::as_str) {
        let props = action.params.get("properties").and_then(Value::as_object);
        if let Some(field) = ["package_name", "package_identifier", "package_reference", "plan"].into_iter().find(|f| props.is_some_and(|p| p.contains_key(*f))) {
            p.entry(field.to_owned()).or_insert(json!(package));
        }
    }
    if action.id == "renew" && b.id == "domain-names" {
        p.entry("renew_years".to_owned()).or_insert(json!(1));
    }
    Some((action, Value::Object(p)))
}
