//! A sweep's check of one service (`domain::drift`): get-info within its configuration's limits,
//! compared with the record; a drift entry in the product's log naming each difference, and the
//! safe ones corrected by the catalogue's action for them (a due date by sync-due-date). Where
//! the blueprint has usage data (web hosting, licences) and the provider serves it, the sweep
//! refreshes it too (get-usage-data, a run logged as any: the daily usage update hosting
//! companies expect). Nothing else is changed: a status or package that differs is for a person
//! to settle.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{Engine, EngineError, ask_info, failure_error, params_for, scrub_text};
use crate::catalogue::catalogue;
use crate::catalogue::validate::validate;
use crate::domain::FailureKind;
use crate::domain::actor::Actor;
use crate::domain::configuration::Configuration;
use crate::domain::drift::{Difference, DriftReport, Drifted, compare, describe};
use crate::domain::ids::{ConfigurationId, LogId};
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::product::ContractProduct;
use crate::domain::time::now_rfc3339;
use crate::ports::RunRecord;

/// A provider's refusal that says the service is not there (rather than, say, a credential
/// refused): only then is a service missing, not merely unchecked.
fn says_missing(message: &str) -> bool {
    let m = message.to_lowercase();
    ["does not exist", "not found", "no such", "unknown account", "doesn't exist"].iter().any(|p| m.contains(p))
}

impl Engine {
    pub fn drift(&self) -> &dyn crate::ports::DriftReports {
        self.drift.as_ref()
    }

    /// The configurations a sweep walks: enabled ones whose provider can tell a service's state.
    pub async fn sweepable(&self) -> Result<Vec<Configuration>, EngineError> {
        let mut out = Vec::new();
        for b in catalogue().blueprint_ids() {
            for c in self.configurations.of_blueprint(b).await? {
                let asks = crate::providers::provider(&c.blueprint, &c.provider).is_some_and(|p| p.supported_actions.contains(&"get-info"));
                if c.enabled && asks {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    /// The latest sweep of a configuration (404 when none has run).
    pub async fn latest_drift(&self, configuration_id: &str) -> Result<DriftReport, EngineError> {
        let not_found = || EngineError::NotFound(format!("no provision configuration {configuration_id:?}"));
        let id = ConfigurationId::parse(configuration_id).map_err(|_| not_found())?;
        self.configurations.configuration(&id).await?.ok_or_else(not_found)?;
        self.drift.latest(&id).await?.ok_or_else(|| EngineError::NotFound(format!("no drift sweep has run on {id} yet")))
    }

    /// Checks one service against its third party (see the module's doc): its drift, if any,
    /// and whether its usage data was refreshed. Not found at the third party is a drift; any
    /// other failure is an error (not checked).
    pub async fn drift_check(&self, sweep_id: &str, cp: ContractProduct) -> Result<(Option<Drifted>, bool), EngineError> {
        let drifted = self.drift_of(sweep_id, cp.clone()).await?;
        let missing = drifted.as_ref().is_some_and(|d| d.differences.iter().any(|x| x.field == "exists"));
        let usage = self.refresh_usage(sweep_id, cp, missing).await;
        Ok((drifted, usage))
    }

    /// The sweep's usage refresh: get-usage-data where the blueprint and provider have it.
    async fn refresh_usage(&self, sweep_id: &str, cp: ContractProduct, missing: bool) -> bool {
        let has =
            catalogue().action(&cp.blueprint, "get-usage-data").is_some() && crate::providers::provider(&cp.blueprint, &cp.provider).is_some_and(|p| p.supported_actions.contains(&"get-usage-data"));
        if !has || missing || cp.service_identifier.is_none() {
            return false;
        }
        let blueprint = cp.blueprint.clone();
        let id = cp.id.clone();
        match self.run_on(&Actor::System(format!("drift:{sweep_id}")), cp, &blueprint, "get-usage-data", &json!({ "params": {} }), None).await {
            Ok(_) => true,
            Err(f) => {
                tracing::warn!(contract_product_id = %id, error = %f.error, "a sweep's usage refresh failed");
                false
            }
        }
    }

    async fn drift_of(&self, sweep_id: &str, cp: ContractProduct) -> Result<Option<Drifted>, EngineError> {
        let Some(identifier) = cp.service_identifier.clone() else { return Ok(None) };
        let b = catalogue().blueprint(&cp.blueprint).ok_or_else(|| EngineError::internal(format!("unknown blueprint {}", cp.blueprint)))?;
        let configuration = self
            .configurations
            .configuration(&cp.provision_configuration_id)
            .await?
            .ok_or_else(|| EngineError::Conflict(format!("provision configuration {} is gone", cp.provision_configuration_id)))?;
        let opened = self.open(&configuration)?;
        let Some(info) = b.actions.iter().find(|a| a.id == "get-info").filter(|a| opened.spec.supported_actions.contains(&a.id)) else { return Ok(None) };
        let fields = self.open_fields(&cp)?;
        let params = params_for(b, info, &cp, &fields, &Map::new());
        if !validate(&info.params, &params).is_empty() {
            return Err(EngineError::invalid(format!("{} cannot be asked about: its provision fields do not give get-info what it needs", cp.id), json!({})));
        }
        let permit = self.admit(&configuration, &opened, false).await?;
        let clock = Instant::now();
        let result = ask_info(b, info, &params, &cp, &identifier, &configuration, &opened).await;
        let needles = crate::secrets::secret_values(&opened.spec.settings, &opened.settings);
        let failed = result.as_ref().err().map(|f| (f.kind, scrub_text(&f.message, &needles)));
        self.leave(&configuration, &permit, failed.as_ref().map(|(k, m)| (*k, m.as_str()))).await;
        let lasting: Vec<&str> = b.actions.iter().filter(|a| !a.establishes_identifier()).flat_map(|a| a.params["properties"].as_object().into_iter().flatten().map(|(k, _)| k.as_str())).collect();
        let mut differences = match (result, failed) {
            (Ok(out), _) => compare(&cp, &fields, &out.data, b.identifier_fields, &lasting),
            (Err(f), Some((_, message))) if f.kind == FailureKind::Permanent && says_missing(&message) => {
                vec![Difference { field: "exists".into(), ours: json!(cp.status.as_str()), theirs: json!(format!("missing: {message}")), corrected_by: None }]
            }
            (Err(f), Some((_, message))) => return Err(failure_error(f.kind, message)),
            (Err(f), None) => return Err(failure_error(f.kind, f.message)),
        };
        if differences.is_empty() {
            return Ok(None);
        }
        let actor = Actor::System(format!("drift:{sweep_id}"));
        // The safe corrections: what the catalogue has an action for.
        let syncs = b.actions.iter().any(|a| a.id == "sync-due-date") && opened.spec.supported_actions.contains(&"sync-due-date");
        if syncs && let Some(d) = differences.iter_mut().find(|d| d.field == "due_date") {
            match self.run_on(&actor, cp.clone(), b.id, "sync-due-date", &json!({ "params": {} }), None).await {
                Ok(_) => d.corrected_by = Some("sync-due-date".into()),
                Err(f) => tracing::warn!(contract_product_id = %cp.id, error = %f.error, "a drifted due date was not synced"),
            }
        }
        let message = describe(&differences, &configuration.provider);
        let entry = LogEntry {
            log_id: LogId::generate(),
            contract_product_id: cp.id.clone(),
            configuration_id: configuration.id.clone(),
            blueprint: b.id.to_owned(),
            provider: configuration.provider.clone(),
            action: "drift".into(),
            actor: actor.describe(),
            started_at: now_rfc3339(),
            duration_ms: clock.elapsed().as_millis() as u64,
            status: LogStatus::Error,
            error: Some(json!({ "code": "drift", "message": message })),
            message,
            params: json!({}),
            data: json!({ "differences": differences }),
            debug: Value::Null,
        };
        let entry = super::scrubbed(entry, &needles);
        self.products.record_run(RunRecord::entry(&entry)).await?;
        tracing::warn!(contract_product_id = %cp.id, log_id = %entry.log_id, "{}", entry.message);
        Ok(Some(Drifted { contract_product_id: cp.id, service_identifier: cp.service_identifier, differences, log_id: entry.log_id.to_string() }))
    }
}
