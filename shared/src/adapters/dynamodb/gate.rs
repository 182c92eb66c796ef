//! The provider gate ([`ProviderGate`]) in the main table. Limits: `pk = LIMIT#<configuration>`,
//! `sk = LIMIT`, with `tat_us` (the next free start time, in microseconds: the generic cell rate
//! algorithm) and `leases` (token → expiry, ms: the calls under way). Every change is one
//! conditional update that names the value it read, so Lambda instances racing for the last
//! place never both get it. The breaker is the configuration item's own `breaker` map, changed
//! only here (an admin's edit never writes it).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{StoreError, from_attr, s};
use crate::domain::configuration::{BREAKER_WINDOW_MS, Breaker, Limits};
use crate::domain::ids::ConfigurationId;
use crate::domain::time::now_millis;
use crate::ports::{BoxFuture, Busy, Permit, ProviderGate};

/// The longest a call may hold a concurrency lease (two provider calls under the deadline and
/// the writes around them); a lease left by a stopped instance is taken back after it.
pub const LEASE_MS: i64 = 70_000;

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn limit_key(id: &ConfigurationId) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("LIMIT#{id}"))), ("sk".into(), s("LIMIT"))])
}

fn configuration_key(id: &ConfigurationId) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("CFG#{id}"))), ("sk".into(), s("CFG"))])
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// What a conditional update found when its condition failed: the item (None: no item).
fn refused(e: aws_sdk_dynamodb::error::SdkError<UpdateItemError>) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    match e.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(c)) => Ok(c.item().cloned()),
        _ => Err(StoreError::aws(e)),
    }
}

fn breaker_of(item: Option<&HashMap<String, AttributeValue>>) -> Breaker {
    item.and_then(|i| i.get("breaker")).map(from_attr).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

fn jitter_ms() -> u64 {
    let mut b = [0u8; 1];
    let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut b);
    20 + u64::from(b[0]) % 60
}

#[derive(Clone)]
pub struct DynamoGate {
    ddb: Client,
    table: String,
}

impl DynamoGate {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        DynamoGate { ddb, table: table.into() }
    }

    /// The limits item, made on first use (empty leases, no start time taken).
    async fn make_limits_item(&self, id: &ConfigurationId) -> Result<(), StoreError> {
        let mut item = limit_key(id);
        item.insert("leases".into(), AttributeValue::M(HashMap::new()));
        item.insert("tat_us".into(), n(0));
        item.insert("type_of_record".into(), s("limits"));
        match self.ddb.put_item().table_name(&self.table).set_item(Some(item)).condition_expression("attribute_not_exists(pk)").send().await {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::aws(e)),
        }
    }

    /// A concurrency lease while fewer than `max` are held; expired ones are taken back.
    async fn lease(&self, id: &ConfigurationId, max: u32, deadline: i64) -> Result<Result<String, Busy>, StoreError> {
        let token = crate::domain::ids::random_hex();
        loop {
            let now = now_millis();
            let result = self
                .ddb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(limit_key(id)))
                .update_expression("SET leases.#t = :expires")
                .condition_expression("attribute_exists(leases) AND size(leases) < :max")
                .expression_attribute_names("#t", &token)
                .expression_attribute_values(":expires", n(now + LEASE_MS))
                .expression_attribute_values(":max", n(i64::from(max)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let Err(e) = result else { return Ok(Ok(token)) };
            let Some(item) = refused(e)? else {
                self.make_limits_item(id).await?;
                continue;
            };
            let leases: HashMap<String, i64> =
                item.get("leases").and_then(|l| l.as_m().ok()).map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?))).collect()).unwrap_or_default();
            let expired: Vec<(&String, &i64)> = leases.iter().filter(|(_, at)| **at < now).collect();
            if !expired.is_empty() {
                // Left by calls that stopped: taken back, each only if it is still the same.
                let mut update = self.ddb.update_item().table_name(&self.table).set_key(Some(limit_key(id)));
                let mut removes = Vec::new();
                let mut conditions = Vec::new();
                for (i, (token, at)) in expired.iter().enumerate() {
                    update = update.expression_attribute_names(format!("#x{i}"), *token).expression_attribute_values(format!(":x{i}"), n(**at));
                    removes.push(format!("leases.#x{i}"));
                    conditions.push(format!("leases.#x{i} = :x{i}"));
                }
                let _ = update.update_expression(format!("REMOVE {}", removes.join(", "))).condition_expression(conditions.join(" AND ")).send().await;
                tracing::warn!(configuration_id = %id, taken_back = expired.len(), "concurrency leases left by stopped calls were taken back");
                continue;
            }
            let soonest = leases.values().min().copied().unwrap_or(now) - now;
            if now >= deadline {
                return Ok(Err(Busy { retry_after_ms: soonest.clamp(1_000, LEASE_MS) }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(jitter_ms())).await;
        }
    }

    /// A start time spaced from the last one taken (no earlier than now), if one comes before
    /// `deadline`.
    async fn slot(&self, id: &ConfigurationId, spacing_us: i64, deadline: i64) -> Result<Result<i64, Busy>, StoreError> {
        loop {
            let now_us = now_millis() * 1000;
            // Idle: the slot is now.
            let result = self
                .ddb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(limit_key(id)))
                .update_expression("SET tat_us = :next")
                .condition_expression("attribute_exists(pk) AND tat_us <= :now")
                .expression_attribute_values(":next", n(now_us + spacing_us))
                .expression_attribute_values(":now", n(now_us))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let Err(e) = result else { return Ok(Ok(now_us / 1000)) };
            let Some(item) = refused(e)? else {
                self.make_limits_item(id).await?;
                continue;
            };
            let taken = number(&item, "tat_us").unwrap_or(0);
            if taken / 1000 > deadline {
                return Ok(Err(Busy { retry_after_ms: (taken / 1000 - now_us / 1000).max(1_000) }));
            }
            // Busy: the next free slot, if nobody took it meanwhile.
            let next = self
                .ddb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(limit_key(id)))
                .update_expression("SET tat_us = :next")
                .condition_expression("tat_us = :taken")
                .expression_attribute_values(":next", n(taken + spacing_us))
                .expression_attribute_values(":taken", n(taken))
                .send()
                .await;
            match next {
                Ok(_) => return Ok(Ok((taken + 999) / 1000)),
                Err(e) if super::condition_failed(&e) => continue,
                Err(e) => return Err(StoreError::aws(e)),
            }
        }
    }

    async fn acquire(&self, id: &ConfigurationId, limits: &Limits, wait_ms: i64) -> Result<Result<Permit, Busy>, StoreError> {
        let deadline = now_millis() + wait_ms;
        let lease = match limits.max_concurrency {
            Some(max) => match self.lease(id, max, deadline).await? {
                Ok(token) => Some(token),
                Err(busy) => return Ok(Err(busy)),
            },
            None => None,
        };
        let start_at_ms = match limits.spacing_us() {
            Some(spacing) => match self.slot(id, spacing, deadline).await {
                Ok(Ok(at)) => at,
                other => {
                    // No start time: the lease goes back.
                    let permit = Permit { lease, start_at_ms: 0 };
                    self.release(id, &permit).await;
                    return other.map(|o| o.map(|_| permit));
                }
            },
            None => now_millis(),
        };
        Ok(Ok(Permit { lease, start_at_ms }))
    }

    async fn release(&self, id: &ConfigurationId, permit: &Permit) {
        let Some(token) = &permit.lease else { return };
        let result = self.ddb.update_item().table_name(&self.table).set_key(Some(limit_key(id))).update_expression("REMOVE leases.#t").expression_attribute_names("#t", token).send().await;
        if let Err(e) = result {
            // Taken back when it expires.
            tracing::warn!(configuration_id = %id, error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "a concurrency lease was not released");
        }
    }

    async fn update_breaker(&self, id: &ConfigurationId, update: &str, condition: Option<&str>, values: Vec<(&str, AttributeValue)>) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let mut call = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(configuration_key(id)))
            .update_expression(update)
            .expression_attribute_names("#b", "breaker")
            .return_values(ReturnValue::AllNew);
        let names = ["#open", "#failures", "#window", "#retry", "#opens", "#probe", "#cause"];
        let fields = ["open", "failures", "window_ms", "retry_at_ms", "opens", "probe_until_ms", "cause"];
        let text = format!("{update} {}", condition.unwrap_or_default());
        for (name, field) in names.iter().zip(fields) {
            if text.contains(name) {
                call = call.expression_attribute_names(*name, field);
            }
        }
        for (k, v) in values {
            call = call.expression_attribute_values(k, v);
        }
        let cond = format!("attribute_exists(pk){}", condition.map(|c| format!(" AND ({c})")).unwrap_or_default());
        match call.condition_expression(cond).send().await {
            Ok(out) => Ok(out.attributes().cloned()),
            Err(e) if super::condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError::aws(e)),
        }
    }

    async fn failed(&self, id: &ConfigurationId, threshold: u32, cause: &str) -> Result<Option<Breaker>, StoreError> {
        if threshold == 0 {
            return Ok(None);
        }
        let now = now_millis();
        // Within the window: one more; else the window starts again with this one.
        let counted = self
            .update_breaker(
                id,
                "SET #b.#failures = #b.#failures + :one",
                Some("attribute_exists(#b.#failures) AND #b.#window > :since AND #b.#open = :false"),
                vec![(":one", n(1)), (":since", n(now - BREAKER_WINDOW_MS)), (":false", AttributeValue::Bool(false))],
            )
            .await?;
        let item = match counted {
            Some(item) => item,
            None => {
                let fresh = serde_json::to_value(Breaker { failures: 1, window_ms: now, ..Breaker::default() }).unwrap_or_default();
                match self
                    .update_breaker(
                        id,
                        "SET #b = :fresh",
                        Some("attribute_not_exists(#b.#open) OR #b.#open = :false"),
                        vec![(":fresh", super::to_attr(&fresh)), (":false", AttributeValue::Bool(false))],
                    )
                    .await?
                {
                    Some(item) => item,
                    None => return Ok(None), // open already
                }
            }
        };
        let breaker = breaker_of(Some(&item));
        if breaker.failures < threshold {
            return Ok(None);
        }
        let retry_at = now + Breaker::cooldown_ms(1);
        let opened = self
            .update_breaker(
                id,
                "SET #b.#open = :true, #b.#retry = :retry, #b.#opens = :one, #b.#probe = :zero, #b.#cause = :cause",
                Some("#b.#open = :false"),
                vec![(":true", AttributeValue::Bool(true)), (":false", AttributeValue::Bool(false)), (":retry", n(retry_at)), (":one", n(1)), (":zero", n(0)), (":cause", s(cause))],
            )
            .await?;
        Ok(opened.map(|item| breaker_of(Some(&item))))
    }

    async fn answered(&self, id: &ConfigurationId) -> Result<(), StoreError> {
        self.update_breaker(id, "SET #b.#failures = :zero", Some("#b.#failures > :zero AND #b.#open = :false"), vec![(":zero", n(0)), (":false", AttributeValue::Bool(false))]).await.map(|_| ())
    }

    async fn claim_probe(&self, id: &ConfigurationId) -> Result<bool, StoreError> {
        let now = now_millis();
        let claimed = self
            .update_breaker(
                id,
                "SET #b.#probe = :until",
                Some("#b.#open = :true AND #b.#retry <= :now AND #b.#probe < :now"),
                vec![(":until", n(now + LEASE_MS)), (":true", AttributeValue::Bool(true)), (":now", n(now))],
            )
            .await?;
        Ok(claimed.is_some())
    }

    async fn close(&self, id: &ConfigurationId) -> Result<(), StoreError> {
        let closed = serde_json::to_value(Breaker::default()).unwrap_or_default();
        self.update_breaker(id, "SET #b = :closed", None, vec![(":closed", super::to_attr(&closed))]).await.map(|_| ())
    }

    async fn reopen(&self, id: &ConfigurationId, opens: u32, cause: &str) -> Result<Breaker, StoreError> {
        let now = now_millis();
        let item = self
            .update_breaker(
                id,
                "SET #b.#open = :true, #b.#retry = :retry, #b.#opens = :opens, #b.#probe = :zero, #b.#cause = :cause",
                None,
                vec![(":true", AttributeValue::Bool(true)), (":retry", n(now + Breaker::cooldown_ms(opens))), (":opens", n(i64::from(opens))), (":zero", n(0)), (":cause", s(cause))],
            )
            .await?;
        Ok(breaker_of(item.as_ref()))
    }
}

impl ProviderGate for DynamoGate {
    fn acquire<'a>(&'a self, configuration: &'a ConfigurationId, limits: &'a Limits, wait_ms: i64) -> BoxFuture<'a, Result<Result<Permit, Busy>, StoreError>> {
        Box::pin(DynamoGate::acquire(self, configuration, limits, wait_ms))
    }
    fn release<'a>(&'a self, configuration: &'a ConfigurationId, permit: &'a Permit) -> BoxFuture<'a, ()> {
        Box::pin(DynamoGate::release(self, configuration, permit))
    }
    fn failed<'a>(&'a self, configuration: &'a ConfigurationId, threshold: u32, cause: &'a str) -> BoxFuture<'a, Result<Option<Breaker>, StoreError>> {
        Box::pin(DynamoGate::failed(self, configuration, threshold, cause))
    }
    fn claim_probe<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(DynamoGate::claim_probe(self, configuration))
    }
    fn answered<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DynamoGate::answered(self, configuration))
    }
    fn close<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DynamoGate::close(self, configuration))
    }
    fn reopen<'a>(&'a self, configuration: &'a ConfigurationId, opens: u32, cause: &'a str) -> BoxFuture<'a, Result<Breaker, StoreError>> {
        Box::pin(DynamoGate::reopen(self, configuration, opens, cause))
    }
}
