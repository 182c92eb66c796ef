//! Drift sweeps' reports in the main table: `pk = DRIFT#<configuration>`, `sk = SWEEP#<sweep id>`
//! (sweep ids start with their time, so the last one sorts last). A step's findings are added
//! in one conditional update naming the step it took, so a step delivered twice adds nothing
//! twice; a report lists at most `domain::drift::LISTED` drifted services and counts the rest.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{StoreError, condition_failed, s};
use crate::domain::drift::{DriftReport, LISTED};
use crate::domain::ids::ConfigurationId;
use crate::domain::time::now_rfc3339;
use crate::ports::{BoxFuture, DriftReports, StepFindings};

fn key(configuration: &ConfigurationId, sweep_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("DRIFT#{configuration}"))), ("sk".into(), s(format!("SWEEP#{sweep_id}")))])
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[derive(Clone)]
pub struct DriftStore {
    ddb: Client,
    table: String,
}

impl DriftStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        DriftStore { ddb, table: table.into() }
    }

    async fn start(&self, report: &DriftReport) -> Result<(), StoreError> {
        let mut item = super::item_of(report, vec![("type_of_record", "drift_report".into())])?;
        item.extend(key(&report.configuration_id, &report.sweep_id));
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("drift sweep {} exists", report.sweep_id)) } else { StoreError::aws(e) })
    }

    async fn report(&self, configuration: &ConfigurationId, sweep_id: &str) -> Result<Option<DriftReport>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(configuration, sweep_id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(super::record_of).transpose()
    }

    async fn latest(&self, configuration: &ConfigurationId) -> Result<Option<DriftReport>, StoreError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :sweep)")
            .expression_attribute_values(":pk", s(format!("DRIFT#{configuration}")))
            .expression_attribute_values(":sweep", s("SWEEP#"))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(StoreError::aws)?;
        out.items().first().map(super::record_of).transpose()
    }

    async fn advance(&self, configuration: &ConfigurationId, sweep_id: &str, step: u64, findings: &StepFindings, listed: usize) -> Result<(), StoreError> {
        let room = LISTED.saturating_sub(listed);
        let shown: Vec<serde_json::Value> = findings.drifted.iter().take(room).map(|d| serde_json::to_value(d).unwrap_or_default()).collect();
        let mut expression =
            "SET step = :next, drifted = list_append(if_not_exists(drifted, :none), :found) ADD checked :checked, not_checked :skipped, drifted_count :count, usage_refreshed :usage".to_owned();
        let mut update = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(configuration, sweep_id)))
            .condition_expression("step = :step")
            .expression_attribute_values(":next", n(step + 1))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":found", super::to_attr(&serde_json::Value::Array(shown)))
            .expression_attribute_values(":checked", n(findings.checked))
            .expression_attribute_values(":skipped", n(findings.not_checked))
            .expression_attribute_values(":count", n(findings.drifted.len() as u64))
            .expression_attribute_values(":usage", n(findings.usage_refreshed));
        expression = expression.replacen("SET step = :next", "SET step = :next, #cursor = :cursor", usize::from(findings.cursor.is_some()));
        if let Some(c) = &findings.cursor {
            update = update.expression_attribute_names("#cursor", "cursor").expression_attribute_values(":cursor", s(c));
        }
        if findings.finished {
            expression = expression.replacen("SET step = :next", "SET step = :next, finished_at = :now", 1);
            update = update.expression_attribute_values(":now", s(now_rfc3339()));
        }
        update
            .update_expression(expression)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("drift sweep {sweep_id} moved on meanwhile")) } else { StoreError::aws(e) })
    }
}

impl DriftReports for DriftStore {
    fn start<'a>(&'a self, report: &'a DriftReport) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DriftStore::start(self, report))
    }
    fn report<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str) -> BoxFuture<'a, Result<Option<DriftReport>, StoreError>> {
        Box::pin(DriftStore::report(self, configuration, sweep_id))
    }
    fn latest<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<DriftReport>, StoreError>> {
        Box::pin(DriftStore::latest(self, configuration))
    }
    fn advance<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str, step: u64, findings: &'a StepFindings, listed: usize) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DriftStore::advance(self, configuration, sweep_id, step, findings, listed))
    }
}
