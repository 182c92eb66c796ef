//! Bulk actions in the main table: a job is `pk = BULK#<id>`, `sk = JOB` (listed newest first in
//! gsi2 under `BULK`), each of its items `pk = BULK#<id>`, `sk = ITEM#<contract product id>`, so a
//! job's items are one partition read in order. An item's moves are conditional updates, and
//! its settling is part of its run's transaction ([`settle_item`]), so it runs at most once.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest};

use super::{StoreError, condition_failed, s};
use crate::domain::bulk::{BulkItem, BulkJob, Filter, ItemStatus, JobStatus};
use crate::domain::ids::{BulkJobId, ContractProductId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::product::{ContractProduct, Search};
use crate::domain::time::now_rfc3339;
use crate::ports::{BoxFuture, BulkJobs, ItemStart, ItemsPage, Page, PageKey};

const JOBS_INDEX: &str = "BULK";

fn job_key(id: &BulkJobId) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("BULK#{id}"))), ("sk".into(), s("JOB"))])
}

fn item_key(job: &BulkJobId, cp: &ContractProductId) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("BULK#{job}"))), ("sk".into(), s(format!("ITEM#{cp}")))])
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The write that settles an item with its run (done or failed), only while it is running.
pub(super) fn settle_item(table: &str, job: &BulkJobId, cp: &ContractProductId, status: EventStatus, log_id: &str) -> TransactWriteItem {
    let to = if status == EventStatus::Done { ItemStatus::Done } else { ItemStatus::Failed };
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(item_key(job, cp)))
        .update_expression("SET #status = :to, log_id = :log, updated_at = :now")
        .condition_expression("#status = :running")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":running", s(ItemStatus::Running.as_str()))
        .expression_attribute_values(":log", s(log_id))
        .expression_attribute_values(":now", s(now_rfc3339()))
        .build()
        .expect("table, key and expression set");
    TransactWriteItem::builder().update(update).build()
}

#[derive(Clone)]
pub struct BulkStore {
    ddb: Client,
    table: String,
    products: super::products::ProductStore,
}

impl BulkStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        let table = table.into();
        BulkStore { products: super::products::ProductStore::new(ddb.clone(), &table), ddb, table }
    }

    async fn create_job(&self, job: &BulkJob) -> Result<(), StoreError> {
        let mut item = super::item_of(job, vec![("type_of_record", "bulk_job".into())])?;
        item.extend(job_key(&job.id));
        item.insert("gsi2pk".into(), s(JOBS_INDEX));
        item.insert("gsi2sk".into(), s(format!("{}#{}", job.created_at, job.id)));
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("bulk action {} exists", job.id)) } else { StoreError::aws(e) })
    }

    async fn job(&self, id: &BulkJobId) -> Result<Option<BulkJob>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(job_key(id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(super::record_of).transpose()
    }

    async fn jobs(&self, limit: i32, start: Option<PageKey>) -> Result<Page<BulkJob>, StoreError> {
        let page = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :pk")
            .expression_attribute_values(":pk", s(JOBS_INDEX))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(super::start_key(start))
            .send()
            .await
            .map_err(StoreError::aws)?;
        let jobs = page.items().iter().map(super::record_of).collect::<Result<Vec<BulkJob>, _>>()?;
        Ok((jobs, super::page_key(page.last_evaluated_key())))
    }

    async fn add_items(&self, job: &BulkJobId, items: &[ContractProductId]) -> Result<(), StoreError> {
        let now = now_rfc3339();
        for chunk in items.chunks(25) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for cp in chunk {
                let record = BulkItem { contract_product_id: cp.clone(), status: ItemStatus::Queued, log_id: None, error: None, attempts: 0, updated_at: now.clone() };
                let mut item = super::item_of(&record, vec![("type_of_record", "bulk_item".into())])?;
                item.extend(item_key(job, cp));
                requests.push(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().expect("item set")).build());
            }
            // What DynamoDB leaves unprocessed is written again, a few times at most.
            for attempt in 0..10u64 {
                if requests.is_empty() {
                    break;
                }
                let out = self.ddb.batch_write_item().request_items(&self.table, requests.clone()).send().await.map_err(StoreError::aws)?;
                requests = out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
                }
            }
            if !requests.is_empty() {
                return Err(StoreError::Unavailable(format!("{} items of bulk action {job} were left unwritten", requests.len())));
            }
        }
        Ok(())
    }

    async fn advance(&self, job: &BulkJob, step: u64) -> Result<(), StoreError> {
        let mut expression = "SET #status = :status, #size = :size, updated_at = :now, step = :next".to_owned();
        let mut update = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(&job.id)))
            .condition_expression("step = :step AND #status <> :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#size", "size")
            .expression_attribute_values(":status", s(job.status.as_str()))
            .expression_attribute_values(":size", n(job.size))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .expression_attribute_values(":next", n(step + 1))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":cancelled", s(JobStatus::Cancelled.as_str()));
        let mut remove = Vec::new();
        match &job.cursor {
            Some(c) => {
                expression.push_str(", #cursor = :cursor");
                update = update.expression_attribute_names("#cursor", "cursor").expression_attribute_values(":cursor", s(c));
            }
            None => remove.push("#cursor"),
        }
        match &job.note {
            Some(note) => {
                expression.push_str(", note = :note");
                update = update.expression_attribute_values(":note", s(note));
            }
            None => remove.push("note"),
        }
        if remove.contains(&"#cursor") {
            update = update.expression_attribute_names("#cursor", "cursor");
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        update
            .update_expression(expression)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("bulk action {} moved on meanwhile, or was cancelled", job.id)) } else { StoreError::aws(e) })
    }

    async fn cancel(&self, id: &BulkJobId) -> Result<(), StoreError> {
        self.ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(id)))
            .update_expression("SET #status = :cancelled, updated_at = :now")
            .condition_expression("attribute_exists(pk) AND #status <> :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(JobStatus::Cancelled.as_str()))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("bulk action {id} is cancelled already")) } else { StoreError::aws(e) })
    }

    async fn items(&self, job: &BulkJobId, after: Option<&str>, limit: i32) -> Result<ItemsPage, StoreError> {
        let start = after.map(|cp| HashMap::from([("pk".into(), s(format!("BULK#{job}"))), ("sk".into(), s(format!("ITEM#{cp}")))]));
        let page = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :item)")
            .expression_attribute_values(":pk", s(format!("BULK#{job}")))
            .expression_attribute_values(":item", s("ITEM#"))
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::aws)?;
        let items = page.items().iter().map(super::record_of).collect::<Result<Vec<BulkItem>, _>>()?;
        let next = page.last_evaluated_key().filter(|k| !k.is_empty()).and_then(|_| items.last().map(|i| i.contract_product_id.to_string()));
        Ok((items, next))
    }

    async fn start_item(&self, job: &BulkJobId, cp: &ContractProductId) -> Result<ItemStart, StoreError> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(job_key(job)))
            .condition_expression("#status <> :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(JobStatus::Cancelled.as_str()))
            .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and condition set");
        let start = Update::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(job, cp)))
            .update_expression("SET #status = :running, attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now")
            .condition_expression("#status = :queued")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(ItemStatus::Running.as_str()))
            .expression_attribute_values(":queued", s(ItemStatus::Queued.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expression set");
        let result =
            self.ddb.transact_write_items().transact_items(TransactWriteItem::builder().condition_check(check).build()).transact_items(TransactWriteItem::builder().update(start).build()).send().await;
        let Err(e) = result else { return Ok(ItemStart::Started) };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() else {
            return Err(StoreError::aws(e));
        };
        let reasons = c.cancellation_reasons();
        let failed = |n: usize| reasons.get(n).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
        let item_status = reasons.get(1).and_then(|r| r.item()).and_then(|i| i.get("status")).and_then(|v| v.as_s().ok()).and_then(|v| ItemStatus::parse(v));
        if failed(1) {
            return Ok(match item_status {
                Some(status) => ItemStart::Not(status),
                None => ItemStart::Missing,
            });
        }
        if failed(0) {
            return Ok(ItemStart::Cancelled);
        }
        Err(StoreError::Unavailable(format!("starting an item of bulk action {job}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))))
    }

    async fn set_item(&self, job: &BulkJobId, cp: &ContractProductId, from: ItemStatus, to: ItemStatus, log_id: Option<&str>, error: Option<&str>) -> Result<(), StoreError> {
        let mut expression = "SET #status = :to, updated_at = :now".to_owned();
        let mut update = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(job, cp)))
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None);
        if let Some(l) = log_id {
            expression.push_str(", log_id = :log");
            update = update.expression_attribute_values(":log", s(l));
        }
        if let Some(e) = error {
            expression.push_str(", #error = :error");
            update = update.expression_attribute_names("#error", "error").expression_attribute_values(":error", s(e));
        }
        update
            .update_expression(expression)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("item {cp} of bulk action {job} is not {}", from.as_str())) } else { StoreError::aws(e) })
    }

    async fn search(&self, filter: &Filter, limit: i32, start: Option<PageKey>) -> Result<Page<ContractProduct>, StoreError> {
        let search =
            Search { identifier: None, client_id: filter.client_id.clone(), configuration_id: filter.configuration_id.clone(), status: filter.status.clone(), blueprint: filter.blueprint.clone() };
        self.products.search(&search, limit, start).await
    }
}

impl BulkJobs for BulkStore {
    fn create_job<'a>(&'a self, job: &'a BulkJob) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(BulkStore::create_job(self, job))
    }
    fn job<'a>(&'a self, id: &'a BulkJobId) -> BoxFuture<'a, Result<Option<BulkJob>, StoreError>> {
        Box::pin(BulkStore::job(self, id))
    }
    fn jobs<'a>(&'a self, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<BulkJob>, StoreError>> {
        Box::pin(BulkStore::jobs(self, limit, start))
    }
    fn add_items<'a>(&'a self, job: &'a BulkJobId, items: &'a [ContractProductId]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(BulkStore::add_items(self, job, items))
    }
    fn advance<'a>(&'a self, job: &'a BulkJob, step: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(BulkStore::advance(self, job, step))
    }
    fn cancel<'a>(&'a self, job: &'a BulkJobId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(BulkStore::cancel(self, job))
    }
    fn items<'a>(&'a self, job: &'a BulkJobId, after: Option<&'a str>, limit: i32) -> BoxFuture<'a, Result<ItemsPage, StoreError>> {
        Box::pin(BulkStore::items(self, job, after, limit))
    }
    fn start_item<'a>(&'a self, job: &'a BulkJobId, item: &'a ContractProductId) -> BoxFuture<'a, Result<ItemStart, StoreError>> {
        Box::pin(BulkStore::start_item(self, job, item))
    }
    fn set_item<'a>(
        &'a self,
        job: &'a BulkJobId,
        item: &'a ContractProductId,
        from: ItemStatus,
        to: ItemStatus,
        log_id: Option<&'a str>,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(BulkStore::set_item(self, job, item, from, to, log_id, error))
    }
    fn search<'a>(&'a self, filter: &'a Filter, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<ContractProduct>, StoreError>> {
        Box::pin(BulkStore::search(self, filter, limit, start))
    }
}
