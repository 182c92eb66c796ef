//! The lifecycle worker's drift sweeps (`domain::drift`, `engine::drift`): on its schedule (or
//! `local-stack sweep drift`) it starts a sweep of every configuration that can tell a service's
//! state; each sweep then walks its configuration's services a step at a time, on the lifecycle
//! queue in its own FIFO group, within the configuration's limits. A step is conditional on the
//! sweep's step count, so a message delivered twice adds nothing twice.

use serde_json::{Value, json};

use super::worker::{Handled, Worker};
use crate::domain::ProductStatus;
use crate::domain::bulk::Filter;
use crate::domain::drift::{DriftMessage, DriftReport, STEP_SIZE};
use crate::domain::ids::ConfigurationId;
use crate::domain::time::now_rfc3339;
use crate::ports::{PageKey, QueueName, StepFindings, StoreError};

async fn send(worker: &Worker, message: &DriftMessage) -> Result<(), String> {
    let body = serde_json::to_string(message).map_err(|e| e.to_string())?;
    let (group, dedup) = message.group_and_dedup();
    worker.mailbox.send(QueueName::Lifecycle, &body, Some((&group, &dedup)), 0).await
}

impl Worker {
    /// Starts a sweep of every configuration that can be asked (the schedule's input
    /// `{"sweep": "drift"}`), or of one (`only`).
    pub async fn start_drift_sweeps(&self, only: Option<&str>) -> Value {
        let configurations = match self.engine.sweepable().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the drift sweep could not list the configurations");
                return json!({ "sweeps": 0, "error": e.to_string() });
            }
        };
        let mut started = Vec::new();
        for c in configurations.into_iter().filter(|c| only.is_none_or(|id| c.id.as_str() == id)) {
            let sweep_id = format!("{}-{}", now_rfc3339(), &crate::domain::ids::random_hex()[..6]);
            let report = DriftReport {
                configuration_id: c.id.clone(),
                sweep_id: sweep_id.clone(),
                started_at: now_rfc3339(),
                finished_at: None,
                step: 0,
                cursor: None,
                checked: 0,
                drifted_count: 0,
                drifted: Vec::new(),
                not_checked: 0,
                usage_refreshed: 0,
            };
            if let Err(e) = self.engine.drift().start(&report).await {
                tracing::error!(configuration_id = %c.id, error = %e, "a drift sweep could not start");
                continue;
            }
            match send(self, &DriftMessage::DriftStep { configuration_id: c.id.clone(), sweep_id: sweep_id.clone(), step: 0 }).await {
                Ok(()) => started.push(json!({ "configuration_id": c.id, "sweep_id": sweep_id })),
                Err(e) => tracing::error!(configuration_id = %c.id, error = %e, "a drift sweep could not be queued"),
            }
        }
        json!({ "sweeps": started.len(), "started": started })
    }

    /// One step of a sweep: a page of the configuration's services, each active or suspended
    /// one checked; the findings added to its report; the next step queued.
    pub(super) async fn drift_step(&self, configuration_id: &ConfigurationId, sweep_id: &str, step: u64) -> Handled {
        let reports = self.engine.drift();
        let report = match reports.report(configuration_id, sweep_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Handled::Settled,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        if report.finished_at.is_some() || report.step != step {
            if report.finished_at.is_none() && report.step == step + 1 {
                // Taken; its successor's message may have been lost with a crash between.
                return self.next_drift_step(&report).await;
            }
            return Handled::Settled;
        }
        let start: Option<PageKey> = report.cursor.as_deref().and_then(|c| serde_json::from_str(c).ok());
        let filter = Filter { configuration_id: Some(configuration_id.to_string()), ..Filter::default() };
        let (page, next) = match self.engine.bulk().search(&filter, STEP_SIZE, start).await {
            Ok(p) => p,
            Err(e) => return Handled::Retry(e.to_string()),
        };
        let mut findings = StepFindings { cursor: next.as_ref().map(|k| serde_json::to_string(k).unwrap_or_default()), finished: next.is_none(), ..StepFindings::default() };
        for cp in page.into_iter().filter(|cp| matches!(cp.status, ProductStatus::Active | ProductStatus::Suspended)) {
            let id = cp.id.clone();
            match self.engine.drift_check(sweep_id, cp).await {
                Ok((drifted, usage)) => {
                    findings.checked += 1;
                    findings.usage_refreshed += u64::from(usage);
                    findings.drifted.extend(drifted);
                }
                // Its third party is not called now: the step waits, unless it is under way.
                Err(e) if e.deferral().is_some() && findings.checked == 0 && findings.drifted.is_empty() && findings.not_checked == 0 => {
                    return Handled::Defer(e.deferral().unwrap_or(1));
                }
                Err(e) => {
                    findings.not_checked += 1;
                    tracing::warn!(contract_product_id = %id, error = %e, "a service was not checked for drift");
                }
            }
        }
        match reports.advance(configuration_id, sweep_id, step, &findings, report.drifted.len()).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Handled::Settled,
            Err(e) => return Handled::Retry(e.to_string()),
        }
        if findings.finished {
            tracing::info!(configuration_id = %configuration_id, sweep_id, "drift sweep finished");
            return Handled::Settled;
        }
        self.next_drift_step(&DriftReport { step: step + 1, ..report }).await
    }

    async fn next_drift_step(&self, report: &DriftReport) -> Handled {
        let message = DriftMessage::DriftStep { configuration_id: report.configuration_id.clone(), sweep_id: report.sweep_id.clone(), step: report.step };
        match send(self, &message).await {
            Ok(()) => Handled::Settled,
            Err(e) => Handled::Retry(format!("queueing the next step of drift sweep {}: {e}", report.sweep_id)),
        }
    }
}
