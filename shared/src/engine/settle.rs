//! The settle step: what a run writes, decided from the provider's answer alone, with no I/O.
//! The product's next state (its status move, service identifier, provision fields and the
//! markers of a lost answer), the log entry (masked by the action's schemas, every secret value
//! scrubbed) and the caller's answer.

use serde_json::{Map, Value, json};

use super::{EngineError, create_identifier, failure_error, free_form, in_progress, scrub_text, scrubbed, state_differs};
use crate::catalogue::schema::secret_paths;
use crate::catalogue::{Action, Blueprint, catalogue};
use crate::domain::FailureKind;
use crate::domain::ProductStatus;
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::product::ContractProduct;
use crate::domain::time::now_rfc3339;
use crate::providers::{ProviderFailure, ProviderOutput, ProviderSpec};
use crate::secrets;

/// What a run was: the action asked of the provider, the one it is recorded as, the product as
/// it was read, the params sent and the provision fields (opened), the provider's spec and
/// settings (opened), and whether it finishes a long-running action.
pub(super) struct Run<'a> {
    pub b: &'static Blueprint,
    pub a: &'static Action,
    pub logged: &'static Action,
    pub cp: &'a ContractProduct,
    pub params: &'a Value,
    pub fields: &'a Map<String, Value>,
    pub spec: &'static ProviderSpec,
    pub settings: &'a Value,
    pub operation: bool,
}

/// What a run settles to.
pub(super) struct Settled {
    /// The product after the run (written only where it `changed`).
    pub next: ContractProduct,
    pub entry: LogEntry,
    /// The caller's answer, or the error of a failed run.
    pub outcome: Result<Value, EngineError>,
    pub failure_kind: Option<FailureKind>,
    /// A long-running action the provider is still working on.
    pub still_running: bool,
    pub changed: bool,
}

/// Settles a run from the provider's answer.
pub(super) fn settle(run: Run<'_>, mut entry: LogEntry, result: Result<ProviderOutput, ProviderFailure>) -> Settled {
    let Run { b, a, logged, cp, params, fields, spec, settings, operation } = run;
    let operation = operation.then_some(());
    let creates = logged.establishes_identifier() && a.id == logged.id;
    // Secrets never reach a log: params, data and debug are masked by the action's schemas.
    let debug_schema = json!({ "type": "array", "items": { "type": "object", "properties": {
        "request": { "type": "object", "properties": { "body": a.params } },
        "response": { "type": "object", "properties": { "body": a.result } }
    }}});
    let mut next = cp.clone();
    next.version = cp.version + 1;
    next.updated_at = now_rfc3339();
    let failure_kind = result.as_ref().err().map(|f| f.kind);
    // Every secret value of the settings and the params: scrubbed from the entry and from a
    // failure's message wherever it appears (a provider echoing a password in its refusal).
    let mut needles = secrets::secret_values(&spec.settings, settings);
    needles.extend(secrets::secret_values(&a.params, params));
    needles.extend(secrets::secret_values(catalogue().provision_schema(), &Value::Object(fields.clone())));
    // A long-running action the provider is still working on stays pending, its status move
    // waiting for the re-check that finds it done.
    let still_running = operation.is_some() && result.as_ref().is_ok_and(|out| in_progress(&out.data));
    let outcome = match result {
        Ok(out) => {
            entry.message = scrub_text(&out.message, &needles);
            entry.data = free_form(&secrets::mask(&a.result, &out.data), spec);
            entry.debug = free_form(&secrets::mask(&debug_schema, &Value::Array(out.debug)), spec);
            if still_running {
                entry.status = LogStatus::Pending;
                entry.message = format!("in progress at the provider: {}", out.message);
            } else if let Some(status) = logged.moves_to {
                next.status = status;
            }
            if let Some(si) = out.service_identifier {
                next.service_identifier = Some(si);
            } else if creates {
                // The service is known by what its create named, when the provider said nothing.
                next.service_identifier = next.service_identifier.clone().or_else(|| create_identifier(b, params));
            }
            next.unconfirmed_create = None;
            if next.unconfirmed_action.as_deref() == Some(a.id) {
                next.unconfirmed_action = None;
            }
            // What the service was made with (its domain, customer, package ...) is the
            // product's from now on, for the later actions that take it: never a secret, never
            // an identifier (the service identifier stands for it).
            if creates {
                let secret = catalogue().secret_names();
                for (k, v) in params.as_object().into_iter().flatten() {
                    let later_param = b.actions.iter().any(|x| !x.establishes_identifier() && x.params["properties"].get(k).is_some());
                    let scalar = !v.is_null() && !v.is_object() && !v.is_array();
                    if later_param && scalar && !secret.contains(&k.as_str()) && !b.identifier_fields.contains(&k.as_str()) && !next.provision_fields.contains_key(k) {
                        next.provision_fields.insert(k.clone(), v.clone());
                    }
                }
            }
            // Provision fields follow what the provider reports, for the fields later actions
            // of the blueprint take (never a secret, never one-off data such as login links).
            let secret = secret_paths(&a.result);
            for (k, v) in out.data.as_object().into_iter().flatten() {
                let later_param = b.actions.iter().any(|x| x.params["properties"].get(k).is_some());
                if later_param && !secret.contains(k) && !v.is_null() && !v.is_object() && !v.is_array() {
                    next.provision_fields.insert(k.clone(), v.clone());
                }
            }
            // The answer goes whole to the caller who ran the action (a generated password, an
            // EPP code are why it ran), but never with a credential or stored secret in it.
            Ok(json!({ "status": "ok", "message": scrub_text(&out.message, &needles), "data": secrets::scrub(&out.data, &needles), "log_id": entry.log_id }))
        }
        Err(f) => {
            let message = scrub_text(&f.message, &needles);
            entry.status = LogStatus::Error;
            entry.message = message.clone();
            entry.debug = free_form(&secrets::mask(&debug_schema, &Value::Array(f.debug)), spec);
            let error = failure_error(f.kind, message.clone());
            entry.error = Some(json!({ "code": error.code(), "message": message, "kind": f.kind }));
            if logged.id == cp.setup_action && f.kind == FailureKind::Permanent {
                next.status = ProductStatus::Failed;
            }
            if creates && f.kind == FailureKind::Timeout {
                // The provider may have made it: the next try asks before creating.
                next.unconfirmed_create = create_identifier(b, params).or(next.unconfirmed_create.clone());
            } else if f.kind == FailureKind::Timeout && logged.moves_to.is_some() && operation.is_none() {
                // The provider may have done it: the next try of it asks first.
                next.unconfirmed_action = Some(a.id.to_owned());
            } else if f.kind == FailureKind::Permanent && next.unconfirmed_action.as_deref() == Some(a.id) {
                next.unconfirmed_action = None;
            }
            Err(error)
        }
    };
    // The last guard: any secret value (of the settings or the params) echoed anywhere in the
    // entry, free-form debug included, is masked too.
    entry = scrubbed(entry, &needles);
    if operation.is_some() && matches!(failure_kind, Some(FailureKind::Transient | FailureKind::Timeout)) {
        entry.status = LogStatus::Pending;
        entry.message = format!("retrying after: {}", entry.message);
    }
    let changed = state_differs(&next, cp);
    Settled { next, entry, outcome, failure_kind, still_running, changed }
}
