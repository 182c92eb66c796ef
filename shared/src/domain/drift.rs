//! Drift: how a service at its third party differs from the engine's record of it. A sweep
//! (`consumers::drift`) asks each active and suspended service of a configuration for its state
//! (get-info), within the configuration's limits, and [`compare`]s: its status, its identifier,
//! the provision fields the provider reports (its package, plan ...) and its due date. Each
//! difference is logged on the product (`drift`), the safe ones are corrected with the action
//! the catalogue has for them (sync-due-date), and the configuration's drift report lists every
//! drifted service for a person.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::ProductStatus;
use super::ids::{ConfigurationId, ContractProductId};
use super::product::ContractProduct;

/// Services one sweep step checks.
pub const STEP_SIZE: i32 = 25;
/// Drifted services a report lists (the rest are counted).
pub const LISTED: usize = 500;

/// One difference between the record and the third party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// `status`, `exists`, `service_identifier`, `due_date`, or the provision field that differs.
    pub field: String,
    pub ours: Value,
    pub theirs: Value,
    /// The action that corrected it, where one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<String>,
}

/// A service that drifted, as a report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drifted {
    pub contract_product_id: ContractProductId,
    #[serde(default)]
    pub service_identifier: Option<String>,
    pub differences: Vec<Difference>,
    /// The drift entry in the product's log.
    pub log_id: String,
}

/// A sweep of one configuration: where it is and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub configuration_id: ConfigurationId,
    pub sweep_id: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Steps taken (a step message names the step it takes).
    #[serde(default)]
    pub step: u64,
    /// Where the next step starts (opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Services asked.
    #[serde(default)]
    pub checked: u64,
    /// Services that drifted (all of them; `drifted` lists the first [`LISTED`]).
    #[serde(default)]
    pub drifted_count: u64,
    #[serde(default)]
    pub drifted: Vec<Drifted>,
    /// Services that could not be asked (the third party failed or was not called).
    #[serde(default)]
    pub not_checked: u64,
    /// Services whose usage data the sweep refreshed (get-usage-data).
    #[serde(default)]
    pub usage_refreshed: u64,
}

/// The message of a sweep step on the lifecycle queue (told apart by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriftMessage {
    DriftStep { configuration_id: ConfigurationId, sweep_id: String, step: u64 },
}

impl DriftMessage {
    pub fn is_drift(kind: &str) -> bool {
        kind == "drift_step"
    }

    /// The FIFO group (the configuration's sweep: one step at a time) and deduplication id.
    pub fn group_and_dedup(&self) -> (String, String) {
        let DriftMessage::DriftStep { configuration_id, sweep_id, step } = self;
        (format!("drift:{configuration_id}"), format!("{sweep_id}:{step}"))
    }
}

/// Fields a provider's answer may carry that are not the service's lasting state.
fn volatile(field: &str) -> bool {
    field.ends_with("_at") || field.ends_with("_ms") || ["statuses", "operation_status", "state", "power", "ip", "ips", "usage"].contains(&field)
}

fn same_text(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => a == b,
    }
}

/// The day a date-time falls on, for comparing due dates.
fn day(v: &Value) -> Option<i64> {
    v.as_str().and_then(crate::domain::time::parse_datetime).map(|ms| ms.div_euclid(86_400_000))
}

/// How the record (`cp`, its provision fields opened) differs from what get-info reported
/// (`info`), given the blueprint's identifier fields and the fields its later actions take
/// (`lasting`): what a sweep logs and reports.
pub fn compare(cp: &ContractProduct, fields: &Map<String, Value>, info: &Value, identifier_fields: &[&str], lasting: &[&str]) -> Vec<Difference> {
    let mut out = Vec::new();
    let diff = |field: &str, ours: Value, theirs: Value| Difference { field: field.to_owned(), ours, theirs, corrected_by: None };
    if let Some(suspended) = info.get("suspended").and_then(Value::as_bool) {
        let ours_suspended = cp.status == ProductStatus::Suspended;
        if suspended != ours_suspended {
            out.push(diff("status", json!(cp.status.as_str()), json!(if suspended { "suspended" } else { "active" })));
        }
    }
    if let ([field], Some(ours)) = (identifier_fields, &cp.service_identifier)
        && let Some(theirs) = info.get(*field).filter(|v| v.is_string())
        && !same_text(&json!(ours), theirs)
    {
        out.push(diff("service_identifier", json!(ours), theirs.clone()));
    }
    for (k, ours) in fields {
        let Some(theirs) = info.get(k) else { continue };
        if volatile(k) || identifier_fields.contains(&k.as_str()) || !lasting.contains(&k.as_str()) || ours.is_object() || ours.is_array() || theirs.is_null() {
            continue;
        }
        if !same_text(ours, theirs) {
            out.push(diff(k, ours.clone(), theirs.clone()));
        }
    }
    let ours_due = ["expires_at", "due_date", "next_due_date"].iter().find_map(|k| fields.get(*k).map(|v| (*k, v)));
    if let (Some((_, ours)), Some(theirs)) = (ours_due, info.get("expires_at"))
        && day(ours).is_some()
        && day(ours) != day(theirs)
    {
        out.push(diff("due_date", ours.clone(), theirs.clone()));
    }
    out
}

/// A difference as a person reads it in the log.
pub fn describe(differences: &[Difference], provider: &str) -> String {
    let parts: Vec<String> = differences
        .iter()
        .map(|d| {
            let corrected = d.corrected_by.as_deref().map(|a| format!(" (corrected by {a})")).unwrap_or_default();
            format!("{}: {} here, {} at {provider}{corrected}", d.field, show(&d.ours), show(&d.theirs))
        })
        .collect();
    format!("drift: {}", parts.join("; "))
}

fn show(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(status: ProductStatus) -> ContractProduct {
        let mut cp = crate::testing::contract_product("cp-1", "web-hosting", Some("alice1"), json!({ "package_name": "gold" }));
        cp.status = status;
        cp
    }

    #[test]
    fn status_package_identifier_and_due_date_are_compared() {
        let fields = json!({ "package_name": "gold", "expires_at": "2027-01-10 00:00:00", "server_hostname": "a" }).as_object().cloned().unwrap();
        let same = json!({ "username": "ALICE1", "package_name": "gold", "suspended": false, "expires_at": "2027-01-10T12:00:00Z", "updated_at": "x" });
        assert!(compare(&cp(ProductStatus::Active), &fields, &same, &["username"], &["package_name", "server_hostname"]).is_empty());
        let drifted = json!({ "username": "bob", "package_name": "silver", "suspended": true, "expires_at": "2028-01-10 00:00:00", "server_hostname": "a" });
        let found = compare(&cp(ProductStatus::Active), &fields, &drifted, &["username"], &["package_name", "server_hostname"]);
        let names: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(names, ["status", "service_identifier", "package_name", "due_date"]);
        assert_eq!(describe(&found[..1], "demo"), "drift: status: active here, suspended at demo");
    }
}
