//! Keeping to a configuration's limits and its circuit breaker (`domain::configuration`), around
//! every call the engine makes to a third party: runs (the worker's, bulk items', the action
//! function's), imports, listings and connection tests.
//!
//! Before a call: while the breaker is open the call is refused with when to come back (the
//! worker holds its work until then without counting an attempt; the API answers 503
//! `provider_unavailable` with Retry-After); when its time has come, one call (claimed in the
//! store) runs the connection test as the half-open probe, closing the breaker or opening it
//! again for longer. Then the call takes a place under the limits (a lease of the concurrency, a
//! start time spaced by the rate), waiting for one a few seconds when a person waits and longer
//! for queued work. After it: the lease goes back; a transient failure is counted, and the one
//! that opens the breaker is logged under the configuration, where an admin looks.

use std::time::Instant;

use serde_json::{Value, json};

use super::{Engine, EngineError, Opened, with_deadline};
use crate::domain::FailureKind;
use crate::domain::configuration::Configuration;
use crate::domain::ids::{ContractProductId, LogId};
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::time::{format_millis, now_millis, now_rfc3339};
use crate::ports::{Permit, RunRecord};

/// How long a call waits for a place under its configuration's limits: when a person waits
/// (the API), and for queued work (the worker, whose record budget has room for it).
pub const INTERACTIVE_WAIT_MS: i64 = 5_000;
pub const QUEUED_WAIT_MS: i64 = 20_000;
/// How soon to come back when another call is running the breaker's probe.
const PROBE_UNDER_WAY_MS: i64 = 5_000;

/// A refusal to call a configuration's third party now, and when to try again.
pub fn unavailable(configuration: &Configuration, why: &str, retry_after_ms: i64) -> EngineError {
    let seconds = (retry_after_ms.max(1_000) + 999) / 1000;
    EngineError::Unavailable {
        message: format!("provision configuration {} ({}) is not called now: {why}; try again in {seconds} s", configuration.id, configuration.name),
        retry_after_seconds: seconds as u64,
    }
}

impl Engine {
    /// Admits a call to a configuration's third party (see the module's doc); the permit goes
    /// back with [`Engine::leave`].
    /// `interactive`: a person waits for the answer (a caller of the API), not queued work.
    pub(super) async fn admit(&self, configuration: &Configuration, opened: &Opened, interactive: bool) -> Result<Permit, EngineError> {
        if configuration.breaker.open {
            self.through_breaker(configuration, opened).await?;
        }
        if !configuration.limits.gated() {
            return Ok(Permit::default());
        }
        let wait = if interactive { INTERACTIVE_WAIT_MS } else { QUEUED_WAIT_MS };
        match self.gate.acquire(&configuration.id, &configuration.limits, wait).await? {
            Ok(permit) => {
                let ahead = permit.start_at_ms - now_millis();
                if ahead > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(ahead as u64)).await;
                }
                Ok(permit)
            }
            Err(busy) => {
                let l = &configuration.limits;
                let limits: Vec<String> = [l.max_concurrency.map(|m| format!("{m} calls at once")), l.requests_per_second.map(|r| format!("{r} calls a second"))].into_iter().flatten().collect();
                Err(unavailable(configuration, &format!("it is at its limits ({})", limits.join(", ")), busy.retry_after_ms))
            }
        }
    }

    /// An open breaker: refused until its time; then one call probes (the connection test).
    async fn through_breaker(&self, cached: &Configuration, opened: &Opened) -> Result<(), EngineError> {
        // The copy may be old (another instance may have closed it): read afresh while open.
        self.configurations.forget(&cached.id);
        let fresh = self.configurations.configuration(&cached.id).await?.unwrap_or_else(|| cached.clone());
        let b = &fresh.breaker;
        if !b.open {
            return Ok(());
        }
        let now = now_millis();
        let cause = b.cause.clone().unwrap_or_else(|| "repeated failures".into());
        if now < b.retry_at_ms {
            return Err(unavailable(&fresh, &format!("its circuit breaker is open until {} after {cause}", format_millis(b.retry_at_ms)), b.retry_at_ms - now));
        }
        if !self.gate.claim_probe(&fresh.id).await? {
            return Err(unavailable(&fresh, "its circuit breaker is half open and another call is probing it", PROBE_UNDER_WAY_MS));
        }
        self.metrics.breaker("half_open", fresh.id.as_str());
        let clock = Instant::now();
        let probe = with_deadline(opened.connect.test_connection(&fresh.blueprint, &opened.settings)).await;
        let needles = crate::secrets::secret_values(&opened.spec.settings, &opened.settings);
        match probe {
            Ok(_) => {
                self.gate.close(&fresh.id).await?;
                self.metrics.breaker("closed", fresh.id.as_str());
                self.configurations.forget(&fresh.id);
                self.breaker_entry(&fresh, LogStatus::Success, "circuit breaker closed: its probe (the connection test) succeeded".into(), clock).await;
                Ok(())
            }
            Err(f) => {
                let why = super::scrub_text(&f.message, &needles);
                let again = self.gate.reopen(&fresh.id, b.opens + 1, &why).await?;
                self.metrics.breaker("open", fresh.id.as_str());
                let message = format!("circuit breaker stays open until {}: its probe (the connection test) failed: {why}", format_millis(again.retry_at_ms));
                self.breaker_entry(&fresh, LogStatus::Error, message, clock).await;
                Err(unavailable(&fresh, &format!("its circuit breaker is open: its probe failed ({why})"), again.retry_at_ms - now_millis()))
            }
        }
    }

    /// After a call: the lease goes back; a transient failure is counted toward the breaker, an
    /// answer (a success, or the third party's own refusal) starts the count again. The answer
    /// is written only where failures may have been counted (this instance counted one, or the
    /// configuration as read shows some): one write per failure, not per call.
    pub(super) async fn leave(&self, configuration: &Configuration, permit: &Permit, failure: Option<(FailureKind, &str)>) {
        if permit.lease.is_some() {
            self.gate.release(&configuration.id, permit).await;
        }
        let Some((kind, message)) = failure.filter(|(k, _)| *k != FailureKind::Permanent) else {
            let counted = self.counted.lock().map(|mut c| c.remove(&configuration.id)).unwrap_or(false);
            if (counted || configuration.breaker.failures > 0)
                && let Err(e) = self.gate.answered(&configuration.id).await
            {
                tracing::warn!(configuration_id = %configuration.id, error = %e, "the breaker's failures in a row were not cleared");
            }
            return;
        };
        if let Ok(mut c) = self.counted.lock() {
            c.insert(configuration.id.clone());
        }
        let threshold = configuration.limits.breaker_failures();
        match self.gate.failed(&configuration.id, threshold, message).await {
            Ok(Some(opened)) => {
                self.metrics.breaker("open", configuration.id.as_str());
                self.configurations.forget(&configuration.id);
                let text = format!(
                    "circuit breaker opened after {} transient failures in a row (the last: {kind:?}, {message}); calls wait until {}, then a connection test probes it",
                    opened.failures,
                    format_millis(opened.retry_at_ms)
                );
                tracing::error!(configuration_id = %configuration.id, "{text}");
                self.breaker_entry(configuration, LogStatus::Error, text, Instant::now()).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(configuration_id = %configuration.id, error = %e, "a transient failure was not counted toward the breaker"),
        }
    }

    /// [`Engine::leave`] after a provider call's result: its failure, secrets scrubbed from the
    /// message (the breaker's cause is shown on the configuration).
    pub(super) async fn leave_after(&self, configuration: &Configuration, permit: &Permit, opened: &Opened, failure: Option<&crate::providers::ProviderFailure>) {
        let needles = crate::secrets::secret_values(&opened.spec.settings, &opened.settings);
        let failed = failure.map(|f| (f.kind, super::scrub_text(&f.message, &needles)));
        self.leave(configuration, permit, failed.as_ref().map(|(k, m)| (*k, m.as_str()))).await;
    }

    /// A breaker's change in the configuration's log (where its connection tests are).
    async fn breaker_entry(&self, configuration: &Configuration, status: LogStatus, message: String, clock: Instant) {
        let entry = LogEntry {
            log_id: LogId::generate(),
            contract_product_id: ContractProductId::for_configuration(&configuration.id),
            configuration_id: configuration.id.clone(),
            blueprint: configuration.blueprint.clone(),
            provider: configuration.provider.clone(),
            action: "circuit-breaker".into(),
            actor: json!({ "role": "system", "id": "circuit-breaker" }),
            started_at: now_rfc3339(),
            duration_ms: clock.elapsed().as_millis() as u64,
            status,
            error: (status == LogStatus::Error).then(|| json!({ "code": "provider_unavailable", "message": message })),
            message,
            params: json!({}),
            data: Value::Null,
            debug: Value::Null,
        };
        if let Err(e) = self.products.record_run(RunRecord::entry(&entry)).await {
            tracing::error!(configuration_id = %configuration.id, error = %e, message = %entry.message, "a circuit breaker's change could not be logged");
        }
    }

    /// A connection test that succeeded closes an open breaker (an admin checked it by hand).
    pub(super) async fn connection_ok(&self, configuration: &Configuration) {
        if configuration.breaker.open {
            match self.gate.close(&configuration.id).await {
                Ok(()) => {
                    self.metrics.breaker("closed", configuration.id.as_str());
                    self.breaker_entry(configuration, LogStatus::Success, "circuit breaker closed: a connection test succeeded".into(), Instant::now()).await
                }
                Err(e) => tracing::warn!(configuration_id = %configuration.id, error = %e, "an open breaker was not closed after a good connection test"),
            }
            self.configurations.forget(&configuration.id);
        }
    }
}
