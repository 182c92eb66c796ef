//! Bulk actions (`domain::bulk`): the request parsed into a job, the dry run that answers what
//! would run without writing anything, a job's progress, cancelling and resuming. The job's
//! steps and items run in the lifecycle worker (`consumers::bulk`), each item through
//! [`Engine::run_on`] with its settling in the run's own transaction, so it runs at most once.

use serde_json::{Map, Value, json};

use super::contracts::{blueprint_id, check, field, invalid};
use super::{Engine, EngineError};
use crate::catalogue::catalogue;
use crate::catalogue::schema::{any_object, array, boolean, one_of, params, string_max};
use crate::domain::ProductStatus;
use crate::domain::actor::{Actor, ClientId};
use crate::domain::bulk::{BulkItem, BulkJob, BulkJobId, BulkMessage, Filter, ItemStatus, JobStatus, MAX_ITEMS, Progress, Selection};
use crate::domain::ids::{ConfigurationId, ContractProductId};
use crate::domain::product::ContractProduct;
use crate::domain::time::now_rfc3339;
use crate::ports::{BulkJobs, Mailbox, PageKey, QueueName};
use crate::secrets;

/// How many contract products a dry run checks in full (every check of a run, its
/// configuration read); the rest of the selection is counted.
pub const DRY_RUN_CHECKS: usize = 200;
/// How many of a dry run's checks it lists.
const DRY_RUN_LISTED: usize = 100;
/// How many items a progress answer lists (?cursor= for the next).
const ITEMS_LISTED: i32 = 500;

/// The body of POST /bulk-actions.
pub fn bulk_schema() -> Value {
    let mut ids = array(string_max(128));
    ids["minItems"] = json!(1);
    ids["maxItems"] = json!(MAX_ITEMS);
    let statuses: Vec<&str> = ProductStatus::ALL.iter().map(|s| s.as_str()).collect();
    let filter = params().opt("configuration_id", string_max(128)).opt("status", one_of(&statuses)).opt("client_id", string_max(128)).opt("blueprint", blueprint_id()).build();
    let selection = params().opt("ids", ids).opt("filter", filter).build();
    params().req("blueprint", blueprint_id()).req("action", string_max(64)).opt("params", any_object()).req("selection", selection).opt("dry_run", boolean()).build()
}

/// The first message of a job: its first step.
pub fn first_step(job: &BulkJob) -> BulkMessage {
    BulkMessage::BulkStep { job_id: job.id.clone(), step: job.step }
}

/// Sends a job's message on the lifecycle queue, in its FIFO group.
pub async fn send(mailbox: &dyn Mailbox, message: &BulkMessage) -> Result<(), String> {
    let body = serde_json::to_string(message).map_err(|e| e.to_string())?;
    let (group, dedup) = message.group_and_dedup();
    mailbox.send(QueueName::Lifecycle, &body, Some((&group, &dedup)), 0).await
}

/// A job as the API shows it (its sealed params masked).
pub fn job_view(job: &BulkJob, action_params: &Value) -> Value {
    let mut v = serde_json::to_value(job).unwrap_or(Value::Null);
    v["params"] = secrets::mask(action_params, &job.params);
    if let Some(o) = v.as_object_mut() {
        o.remove("cursor");
        o.remove("step");
    }
    v
}

impl Engine {
    pub fn bulk(&self) -> &dyn BulkJobs {
        self.bulk.as_ref()
    }

    /// A request checked and made into a job (not yet stored), and whether it is a dry run.
    fn parse_bulk(&self, actor: &Actor, body: &Value) -> Result<(BulkJob, Map<String, Value>, bool), EngineError> {
        check(&bulk_schema(), body)?;
        let blueprint = body["blueprint"].as_str().unwrap_or_default();
        let action = body["action"].as_str().unwrap_or_default();
        let (b, a) = catalogue().action(blueprint, action).ok_or_else(|| invalid(vec![field("action", format!("{blueprint} has no action {action:?}"))]))?;
        let given = body["params"].as_object().cloned().unwrap_or_default();
        if let Some(unknown) = given.keys().find(|k| a.params["properties"].get(k.as_str()).is_none()) {
            return Err(invalid(vec![field(&format!("params.{unknown}"), format!("is not a param of {blueprint}/{action}"))]));
        }
        // The same params go to every item: what names a service comes from each contract
        // product, never from the request (even for a create).
        if let Some(named) = given.keys().find(|k| b.engine_filled().any(|f| f == k.as_str())) {
            return Err(invalid(vec![field(&format!("params.{named}"), "comes from each contract product; a bulk action may not name it")]));
        }
        let selection = match (body["selection"].get("ids"), body["selection"].get("filter")) {
            (Some(ids), None) => {
                let mut seen = std::collections::HashSet::new();
                let mut parsed = Vec::new();
                for (n, raw) in ids.as_array().into_iter().flatten().enumerate() {
                    let id = ContractProductId::parse(raw.as_str().unwrap_or_default()).map_err(|e| invalid(vec![field(&format!("selection.ids.{n}"), e)]))?;
                    if seen.insert(id.clone()) {
                        parsed.push(id);
                    }
                }
                Selection::Ids(parsed)
            }
            (None, Some(f)) => {
                let text = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_owned);
                if let Some(c) = text("configuration_id") {
                    ConfigurationId::parse(&c).map_err(|e| invalid(vec![field("selection.filter.configuration_id", e)]))?;
                }
                if let Some(c) = text("client_id") {
                    ClientId::parse(&c).map_err(|e| invalid(vec![field("selection.filter.client_id", e)]))?;
                }
                if let Some(b) = text("blueprint").filter(|b| b != blueprint) {
                    return Err(invalid(vec![field("selection.filter.blueprint", format!("must be the action's blueprint {blueprint}, not {b}"))]));
                }
                Selection::Filter(Filter { configuration_id: text("configuration_id"), status: text("status"), client_id: text("client_id"), blueprint: Some(blueprint.to_owned()) })
            }
            _ => return Err(invalid(vec![field("selection", "must have either ids or filter")])),
        };
        let id = BulkJobId::generate();
        let now = now_rfc3339();
        let job = BulkJob {
            params: secrets::seal(&a.params, &Value::Object(given.clone()), &self.secrets, id.as_str()),
            id,
            blueprint: blueprint.to_owned(),
            action: action.to_owned(),
            selection,
            status: JobStatus::Planning,
            actor: actor.describe(),
            created_at: now.clone(),
            updated_at: now,
            step: 0,
            cursor: None,
            size: 0,
            note: None,
        };
        Ok((job, given, body["dry_run"].as_bool().unwrap_or(false)))
    }

    /// Starts a bulk action: the job stored and its first step queued (201), or for a dry run
    /// what would run (200), nothing written.
    pub async fn start_bulk(&self, actor: &Actor, body: &Value, mailbox: &dyn Mailbox) -> Result<(u16, Value), EngineError> {
        let (job, given, dry_run) = self.parse_bulk(actor, body)?;
        if dry_run {
            return Ok((200, self.dry_run(actor, &job, &given).await?));
        }
        self.bulk.create_job(&job).await?;
        let (_, a) = catalogue().action(&job.blueprint, &job.action).ok_or_else(|| EngineError::internal("a stored job's action is gone"))?;
        if let Err(e) = send(mailbox, &first_step(&job)).await {
            // The job is stored: a resume queues it again.
            tracing::error!(job_id = %job.id, error = %e, "a bulk action could not be queued");
            return Err(EngineError::Store(crate::ports::StoreError::Unavailable(format!(
                "bulk action {} was stored but could not be queued ({e}); POST /bulk-actions/{}/resume queues it",
                job.id, job.id
            ))));
        }
        tracing::info!(job_id = %job.id, blueprint = %job.blueprint, action = %job.action, "bulk action queued");
        Ok((201, job_view(&job, &a.params)))
    }

    /// What a job would do, nothing written: how many contract products it selects, and for the
    /// first [`DRY_RUN_CHECKS`] whether each would run (every check of a run) or why not.
    async fn dry_run(&self, actor: &Actor, job: &BulkJob, given: &Map<String, Value>) -> Result<Value, EngineError> {
        let body = json!({ "params": given });
        let (count, products, missing) = match &job.selection {
            Selection::Ids(ids) => {
                let mut products = Vec::new();
                let mut missing = Vec::new();
                for id in ids.iter().take(DRY_RUN_CHECKS) {
                    match self.products.contract_product(id).await? {
                        Some(cp) => products.push(cp),
                        None => missing.push(id.clone()),
                    }
                }
                (ids.len(), products, missing)
            }
            Selection::Filter(filter) => {
                let mut products: Vec<ContractProduct> = Vec::new();
                let mut count = 0;
                let mut start: Option<PageKey> = None;
                loop {
                    let (page, next) = self.bulk.search(filter, 500, start).await?;
                    count += page.len();
                    let room = DRY_RUN_CHECKS.saturating_sub(products.len());
                    products.extend(page.into_iter().take(room));
                    match next {
                        Some(n) if count < MAX_ITEMS => start = Some(n),
                        _ => break,
                    }
                }
                (count.min(MAX_ITEMS), products, Vec::new())
            }
        };
        let mut listed = Vec::new();
        let (mut would_run, mut refused) = (0, missing.len());
        for id in &missing {
            listed.push(json!({ "contract_product_id": id, "would_run": false, "reason": format!("no contract product {id}") }));
        }
        for cp in products {
            let view = json!({ "contract_product_id": cp.id, "service_identifier": cp.service_identifier, "status": cp.status.as_str() });
            let checked = self.check_run(actor, cp, &job.blueprint, &job.action, &body).await;
            let mut view = view;
            match checked {
                Ok(()) => {
                    would_run += 1;
                    view["would_run"] = json!(true);
                }
                Err(e) if e.retryable() => return Err(e),
                Err(e) => {
                    refused += 1;
                    view["would_run"] = json!(false);
                    view["reason"] = json!(super::refusal_text(&e));
                }
            }
            listed.push(view);
        }
        listed.truncate(DRY_RUN_LISTED);
        let note = (count >= MAX_ITEMS).then(|| format!("a job acts on at most {MAX_ITEMS} contract products"));
        Ok(json!({
            "dry_run": true, "blueprint": job.blueprint, "action": job.action, "selected": count,
            "checked": would_run + refused, "would_run": would_run, "refused": refused, "items": listed, "note": note,
        }))
    }

    /// A job and its progress: items per status, the job's state, and a page of its items
    /// (after `cursor`, of one status where asked) with each run's log id.
    pub async fn bulk_progress(&self, id: &str, cursor: Option<&str>, status: Option<ItemStatus>) -> Result<Value, EngineError> {
        let job = self.stored_job(id).await?;
        let mut all: Vec<BulkItem> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, next) = self.bulk.items(&job.id, after.as_deref(), 1000).await?;
            all.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let progress = Progress::of(&all, job.status);
        let shown = |i: &&BulkItem| {
            let effective = if job.status == JobStatus::Cancelled && i.status == ItemStatus::Queued { ItemStatus::Cancelled } else { i.status };
            status.is_none_or(|s| s == effective) && cursor.is_none_or(|c| i.contract_product_id.as_str() > c)
        };
        let mut page: Vec<&BulkItem> = all.iter().filter(shown).take(ITEMS_LISTED as usize + 1).collect();
        let more = page.len() > ITEMS_LISTED as usize;
        page.truncate(ITEMS_LISTED as usize);
        let next_cursor = more.then(|| page.last().map(|i| i.contract_product_id.to_string())).flatten();
        let (_, a) = catalogue().action(&job.blueprint, &job.action).ok_or_else(|| EngineError::internal("a stored job's action is gone"))?;
        let mut view = job_view(&job, &a.params);
        view["state"] = json!(progress.state(job.status));
        view["progress"] = json!(progress);
        view["items"] = json!(page);
        view["next_cursor"] = json!(next_cursor);
        Ok(view)
    }

    async fn stored_job(&self, id: &str) -> Result<BulkJob, EngineError> {
        let not_found = || EngineError::NotFound(format!("no bulk action {id:?}"));
        let id = BulkJobId::parse(id).map_err(|_| not_found())?;
        self.bulk.job(&id).await?.ok_or_else(not_found)
    }

    /// Cancels a job: its items not yet started will not run (those running finish).
    pub async fn cancel_bulk(&self, id: &str) -> Result<Value, EngineError> {
        let job = self.stored_job(id).await?;
        self.bulk.cancel(&job.id).await?;
        tracing::info!(job_id = %job.id, "bulk action cancelled");
        self.bulk_progress(id, None, None).await
    }

    /// Resumes a job whose messages were lost (a crash between storing and queueing, say): its
    /// current step is queued again; a dispatched job dispatches its queued items again. An item
    /// still runs at most once (its start is conditional), so resuming twice is harmless.
    pub async fn resume_bulk(&self, id: &str, mailbox: &dyn Mailbox) -> Result<Value, EngineError> {
        let mut job = self.stored_job(id).await?;
        match job.status {
            JobStatus::Cancelled => return Err(EngineError::Conflict(format!("bulk action {id} is cancelled"))),
            JobStatus::Dispatched => {
                // Dispatch again from the first item.
                let step = job.step;
                job.status = JobStatus::Dispatching;
                job.cursor = None;
                self.bulk.advance(&job, step).await?;
                job.step = step + 1;
            }
            JobStatus::Planning | JobStatus::Dispatching => {}
        }
        // Resent with a deduplication id of its own, so SQS does not drop it as the lost one's.
        let message = BulkMessage::BulkStep { job_id: job.id.clone(), step: job.step };
        let body = serde_json::to_string(&message).map_err(|e| EngineError::internal(e.to_string()))?;
        let (group, _) = message.group_and_dedup();
        let dedup = format!("{}:{}:resume-{}", job.id, job.step, crate::domain::time::now_millis());
        mailbox.send(QueueName::Lifecycle, &body, Some((&group, &dedup)), 0).await.map_err(|e| EngineError::Store(crate::ports::StoreError::Unavailable(format!("queueing bulk action {id}: {e}"))))?;
        tracing::info!(job_id = %job.id, step = job.step, "bulk action resumed");
        self.bulk_progress(id, None, None).await
    }

    /// A page of jobs, newest first.
    pub async fn list_bulk(&self, limit: i32, start: Option<PageKey>) -> Result<(Vec<Value>, Option<PageKey>), EngineError> {
        let (jobs, next) = self.bulk.jobs(limit, start).await?;
        let views = jobs
            .iter()
            .map(|j| {
                let schema = catalogue().action(&j.blueprint, &j.action).map(|(_, a)| a.params.clone()).unwrap_or(Value::Null);
                job_view(j, &schema)
            })
            .collect();
        Ok((views, next))
    }

    /// A job's params, secrets opened, for its items' runs.
    pub fn open_bulk_params(&self, job: &BulkJob) -> Result<Value, EngineError> {
        let (_, a) = catalogue().action(&job.blueprint, &job.action).ok_or_else(|| EngineError::internal(format!("no action {}/{}", job.blueprint, job.action)))?;
        secrets::open(&a.params, &job.params, &self.secrets, job.id.as_str()).map_err(|e| EngineError::internal(format!("params of bulk action {} do not open: {e}", job.id)))
    }
}
