//! Billing lifecycle events (API.md "Billing webhook"): their shape, their secret data sealed
//! for the queue, and the action each runs on a contract product.

use serde_json::{Map, Value, json};

use crate::catalogue::schema::{any_object, one_of, params, string, string_max};
use crate::catalogue::{Action, Blueprint, catalogue};
use crate::domain::Invalid;
use crate::domain::ProductStatus;
use crate::domain::lifecycle::EVENT_TYPES;
use crate::domain::product::ContractProduct;
use crate::secrets::{self, SecretBox, SecretsError};

/// The webhook body.
pub fn event_schema() -> Value {
    params()
        // SQS's deduplication id: 1-128 printable ASCII characters.
        .req("id", json!({ "type": "string", "pattern": "^[!-~]{1,128}$" }))
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

/// The data fields that may hold secrets: sealed on the queue by the catalogue's merged schema.
const SEALED_DATA: [&str; 2] = ["params", "provision_fields"];

fn data_context(event_id: &str, field: &str) -> String {
    format!("event:{event_id}:data.{field}")
}

/// The event as it goes on the lifecycle queue (and so into its dead-letter queue): the secret
/// fields of `data.params` and `data.provision_fields` sealed to the event.
pub fn sealed_event(event: &Value, secrets: &SecretBox) -> Value {
    let mut out = event.clone();
    let id = event["id"].as_str().unwrap_or_default();
    for field in SEALED_DATA {
        if let Some(v) = event["data"].get(field).filter(|v| v.is_object()) {
            out["data"][field] = secrets::seal(catalogue().provision_schema(), v, secrets, &data_context(id, field));
        }
    }
    out
}

/// A queued event's data with its sealed fields opened again (in the worker, for the run).
pub fn opened_data(event: &Value, secrets: &SecretBox) -> Result<Value, SecretsError> {
    let mut data = event.get("data").cloned().unwrap_or(Value::Null);
    let id = event["id"].as_str().unwrap_or_default();
    for field in SEALED_DATA {
        if let Some(v) = event["data"].get(field).filter(|v| v.is_object()) {
            data[field] = secrets::open(catalogue().provision_schema(), v, secrets, &data_context(id, field))?;
        }
    }
    Ok(data)
}

/// Refuses, before it is queued, an event whose `data.params` name a field the engine fills from
/// the contract product (its identifier, its owner at the third party): only an `order.paid`,
/// whose setup action establishes the service, may name them. `blueprint` is the contract
/// product's, where it exists already.
/// A secret given as the mask (`********`, as a screen shows a stored one) is refused too: it would
/// be kept as the secret itself.
pub fn check_event_data(kind: &str, blueprint: Option<&Blueprint>, data: &Value) -> Result<(), Invalid> {
    let mut masked = Map::new();
    for field in SEALED_DATA {
        if let Some(v) = data.get(field) {
            let _ = secrets::map_secrets::<std::convert::Infallible>(catalogue().provision_schema(), v, &mut |path, v| {
                if v.as_str() == Some(secrets::MASK) {
                    masked.insert(format!("data.{field}.{path}"), json!("is the mask, not a value: give the secret itself"));
                }
                Ok(v.clone())
            });
        }
    }
    if !masked.is_empty() {
        return Err(Invalid::new("the event's data holds masked secrets", json!({ "fields": masked })));
    }
    let (Some(b), false) = (blueprint, kind == "order.paid") else { return Ok(()) };
    let Some(params) = data.get("params").and_then(Value::as_object) else { return Ok(()) };
    let fields: Map<String, Value> =
        b.engine_filled().filter(|f| params.contains_key(*f)).map(|f| (format!("data.params.{f}"), json!("is filled by the engine from the contract product; an event may not name it"))).collect();
    if fields.is_empty() {
        return Ok(());
    }
    Err(Invalid::new(format!("a {kind} event may not name the service it acts on"), json!({ "fields": fields })))
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
        "contract.cancelled" if matches!(status, ProductStatus::Active | ProductStatus::Suspended | ProductStatus::Failed) => find(b, &["terminate", "delete"])?,
        "contract.package_changed" if matches!(status, ProductStatus::Active | ProductStatus::Suspended) => find(b, &["change-package", "upgrade-downgrade-license"])?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::validate::validate;

    /// What goes on the queue holds no secret of the event's data in the clear; the worker opens
    /// it again, and only for this event.
    #[test]
    fn an_events_secret_data_is_sealed_for_the_queue_and_opens_for_its_own_event() {
        let key = SecretBox::from_key(&[3u8; 32]).unwrap();
        let event = json!({ "id": "evt-1", "type": "order.paid", "contract_product_id": "cp-1", "occurred_at": "2026-11-30T00:00:00Z",
            "data": { "product_id": "prd-1", "client_id": "c-1", "provision_fields": { "password": "Pw-in-fields-1", "package_name": "gold" }, "params": { "root_password": "Pw-in-params-1", "domain": "a.example" } } });
        let queued = sealed_event(&event, &key);
        let text = queued.to_string();
        assert!(!text.contains("Pw-in-fields-1") && !text.contains("Pw-in-params-1"), "{text}");
        assert_eq!(queued["data"]["provision_fields"]["package_name"], "gold");
        assert_eq!(opened_data(&queued, &key).unwrap(), event["data"]);
        let mut moved = queued.clone();
        moved["id"] = json!("evt-2");
        assert!(opened_data(&moved, &key).is_err(), "sealed to its own event");
    }

    #[test]
    fn event_ids_are_what_sqs_deduplicates_on_and_events_may_not_name_the_service() {
        let ok = |id: &str| validate(&event_schema(), &json!({ "id": id, "type": "invoice.paid", "contract_product_id": "cp-1", "occurred_at": "x" })).is_empty();
        assert!(ok("evt-1") && ok("whmcs:42/paid#1") && ok(&"x".repeat(128)));
        assert!(!ok("with space") && !ok("ünï") && !ok(&"x".repeat(129)) && !ok(""));
        let b = catalogue().blueprint("web-hosting").unwrap();
        let naming = json!({ "params": { "username": "other" } });
        assert!(check_event_data("invoice.overdue", Some(b), &naming).is_err());
        assert!(check_event_data("order.paid", Some(b), &naming).is_ok(), "the setup action establishes the service");
        assert!(check_event_data("invoice.overdue", None, &naming).is_ok(), "unknown yet: the engine refuses it when it runs");
        let masked = json!({ "provision_fields": { "password": "********" } });
        assert!(check_event_data("order.paid", None, &masked).is_err(), "a mask is not a secret");
    }

    /// Each billing event runs the action its blueprint has for it, only from the statuses it
    /// applies to; a package change names the package in the field the action takes.
    #[test]
    fn events_map_to_the_blueprints_actions_by_status() {
        let cp = |blueprint: &str, status: ProductStatus| ContractProduct { status, ..crate::testing::contract_product("cp-1", blueprint, Some("x"), json!({})) };
        let hosting = catalogue().blueprint("web-hosting").unwrap();
        let domains = catalogue().blueprint("domain-names").unwrap();
        let servers = catalogue().blueprint("servers").unwrap();
        let ran = |kind: &str, b: &'static Blueprint, status: ProductStatus, data: Value| action_for(kind, b, &cp(b.id, status), &data).map(|(a, p)| (a.id, p));
        use ProductStatus::*;
        assert_eq!(ran("order.paid", hosting, Pending, json!({})).map(|r| r.0), Some("create-account"));
        assert_eq!(ran("order.paid", hosting, Failed, json!({})).map(|r| r.0), Some("create-account"), "a failed setup may be ordered again");
        assert_eq!(ran("order.paid", hosting, Active, json!({})), None, "already set up");
        assert_eq!(ran("invoice.overdue", hosting, Active, json!({})).map(|r| r.0), Some("suspend-account"));
        assert_eq!(ran("invoice.overdue", hosting, Suspended, json!({})), None);
        assert_eq!(ran("invoice.paid", servers, Suspended, json!({})).map(|r| r.0), Some("unsuspend"));
        assert_eq!(ran("contract.cancelled", hosting, Suspended, json!({})).map(|r| r.0), Some("delete-account"));
        assert_eq!(ran("contract.cancelled", servers, Active, json!({})).map(|r| r.0), Some("terminate"));
        assert_eq!(ran("contract.cancelled", hosting, Terminated, json!({})), None);
        let renew = ran("contract.renewed", domains, Active, json!({})).unwrap();
        assert_eq!((renew.0, renew.1["renew_years"].clone()), ("renew", json!(1)));
        let changed = ran("contract.package_changed", hosting, Active, json!({ "package": "platinum" })).unwrap();
        assert_eq!((changed.0, changed.1["package_name"].clone()), ("change-package", json!("platinum")));
    }
}
