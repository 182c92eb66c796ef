//! The lifecycle worker's part of bulk actions (`domain::bulk`, `engine::bulk`): a job's steps
//! (plan a page of its selection into items; then dispatch a page of its items onto the queue),
//! and its items' runs. Every step is conditional on the job's step count and every item's start
//! on its status, so a message delivered twice, a crash anywhere or a resume changes nothing
//! twice: an item runs at most once per job.

use serde_json::json;

use super::SqsRecord;
use super::worker::{Handled, MAX_RECEIVES, Worker};
use crate::domain::FailureKind;
use crate::domain::actor::Actor;
use crate::domain::bulk::{BulkJob, BulkMessage, ItemStatus, JobStatus, MAX_ITEMS, Selection};
use crate::domain::ids::{BulkJobId, ContractProductId};
use crate::engine::bulk::send;
use crate::ports::{Completion, ItemStart, PageKey, StoreError};

/// How many contract products one step plans, or items it dispatches.
pub const STEP_SIZE: usize = 100;
/// How many item messages a dispatch step sends at once.
const SENDS_AT_ONCE: usize = 10;

fn retry(e: impl std::fmt::Display) -> Handled {
    Handled::Retry(e.to_string())
}

impl Worker {
    pub(super) async fn bulk(&self, message: BulkMessage, record: &SqsRecord) -> Handled {
        match message {
            BulkMessage::BulkStep { job_id, step } => self.bulk_step(&job_id, step).await,
            BulkMessage::BulkItem { job_id, contract_product_id } => self.bulk_item(&job_id, &contract_product_id, record).await,
        }
    }

    /// One step of a job: the step its message names, unless it was taken already (then the
    /// next one's message is sent again, in case a crash came between the two).
    async fn bulk_step(&self, job_id: &BulkJobId, step: u64) -> Handled {
        let bulk = self.engine.bulk();
        let job = match bulk.job(job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                tracing::error!(%job_id, "a step of a bulk action that does not exist was dropped");
                return Handled::Settled;
            }
            Err(e) => return retry(e),
        };
        let finished = matches!(job.status, JobStatus::Cancelled | JobStatus::Dispatched);
        if job.step != step || finished {
            if job.step == step + 1 && !finished {
                return self.next_step(&job).await;
            }
            return Handled::Settled;
        }
        let mut next = job.clone();
        let result = match job.status {
            JobStatus::Planning => self.plan(&job, &mut next).await,
            JobStatus::Dispatching => self.dispatch(&job, &mut next).await,
            JobStatus::Cancelled | JobStatus::Dispatched => return Handled::Settled,
        };
        if let Err(e) = result {
            return retry(e);
        }
        match bulk.advance(&next, step).await {
            Ok(()) => {}
            // Taken by another delivery of this message, or cancelled meanwhile.
            Err(StoreError::Conflict(_)) => return Handled::Settled,
            Err(e) => return retry(e),
        }
        next.step = step + 1;
        tracing::info!(%job_id, step, status = next.status.as_str(), items = next.size, "bulk action step taken");
        if next.status == JobStatus::Dispatched { Handled::Settled } else { self.next_step(&next).await }
    }

    async fn next_step(&self, job: &BulkJob) -> Handled {
        match send(self.mailbox.as_ref(), &BulkMessage::BulkStep { job_id: job.id.clone(), step: job.step }).await {
            Ok(()) => Handled::Settled,
            Err(e) => retry(format!("queueing the next step of bulk action {}: {e}", job.id)),
        }
    }

    /// Plans a page of the selection into items (queued); the last page moves the job on to
    /// dispatching.
    async fn plan(&self, job: &BulkJob, next: &mut BulkJob) -> Result<(), StoreError> {
        let bulk = self.engine.bulk();
        let room = MAX_ITEMS.saturating_sub(job.size as usize).min(STEP_SIZE);
        let (page, cursor): (Vec<ContractProductId>, Option<String>) = match &job.selection {
            Selection::Ids(ids) => {
                let from: usize = job.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
                let to = (from + room).min(ids.len());
                (ids[from.min(to)..to].to_vec(), (to < ids.len()).then(|| to.to_string()))
            }
            Selection::Filter(filter) => {
                let start: Option<PageKey> = job.cursor.as_deref().and_then(|c| serde_json::from_str(c).ok());
                let (found, after) = bulk.search(filter, room.max(1) as i32, start).await?;
                (found.into_iter().map(|cp| cp.id).collect(), after.map(|k| serde_json::to_string(&k).unwrap_or_default()))
            }
        };
        bulk.add_items(&job.id, &page).await?;
        next.size = job.size + page.len() as u64;
        let full = next.size as usize >= MAX_ITEMS;
        if cursor.is_some() && full {
            next.note = Some(format!("the selection holds more than {MAX_ITEMS} contract products: the first {MAX_ITEMS} are acted on"));
        }
        match cursor.filter(|_| !full) {
            Some(c) => next.cursor = Some(c),
            None => {
                next.status = JobStatus::Dispatching;
                next.cursor = None;
            }
        }
        Ok(())
    }

    /// Puts a page of the job's queued items on the queue, each in its contract product's
    /// group; the last page marks the job dispatched.
    async fn dispatch(&self, job: &BulkJob, next: &mut BulkJob) -> Result<(), StoreError> {
        let (items, after) = self.engine.bulk().items(&job.id, job.cursor.as_deref(), STEP_SIZE as i32).await?;
        let queued: Vec<ContractProductId> = items.iter().filter(|i| i.status == ItemStatus::Queued).map(|i| i.contract_product_id.clone()).collect();
        for chunk in queued.chunks(SENDS_AT_ONCE) {
            let mut sending = tokio::task::JoinSet::new();
            for cp in chunk {
                let (mailbox, message) = (self.mailbox.clone(), BulkMessage::BulkItem { job_id: job.id.clone(), contract_product_id: cp.clone() });
                sending.spawn(async move { send(mailbox.as_ref(), &message).await });
            }
            while let Some(sent) = sending.join_next().await {
                sent.map_err(|e| StoreError::Unavailable(e.to_string()))?.map_err(|e| StoreError::Unavailable(format!("queueing an item of bulk action {}: {e}", job.id)))?;
            }
        }
        match after {
            Some(c) => next.cursor = Some(c),
            None => {
                next.status = JobStatus::Dispatched;
                next.cursor = None;
            }
        }
        Ok(())
    }

    /// One item: started (queued → running) unless its job is cancelled or it ran already, then
    /// run as the job's starter, settled in the run's own transaction. A transient failure puts
    /// it back to queued for its retry; refused or given up, it ends failed with the reason.
    async fn bulk_item(&self, job_id: &BulkJobId, cp_id: &ContractProductId, record: &SqsRecord) -> Handled {
        let bulk = self.engine.bulk();
        let end = |from: ItemStatus, to: ItemStatus, log_id: Option<String>, error: String| async move {
            match bulk.set_item(job_id, cp_id, from, to, log_id.as_deref(), Some(&error)).await {
                Ok(()) | Err(StoreError::Conflict(_)) => Handled::Settled,
                Err(e) => retry(e),
            }
        };
        let job = match bulk.job(job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Handled::Settled,
            Err(e) => return retry(e),
        };
        match bulk.start_item(job_id, cp_id).await {
            Ok(ItemStart::Started) => {}
            Ok(ItemStart::Cancelled) => return end(ItemStatus::Queued, ItemStatus::Cancelled, None, "the bulk action was cancelled before it ran".into()).await,
            Ok(ItemStart::Not(ItemStatus::Running)) => {
                // Its run was cut off before it settled (the worker stopped): it is not run
                // again, as it may have reached the provider; a person looks at the product.
                let why = "the run was interrupted before it was recorded: it may have reached the provider; see the contract product's log";
                tracing::error!(%job_id, contract_product_id = %cp_id, "{why}");
                return end(ItemStatus::Running, ItemStatus::Failed, None, why.into()).await;
            }
            Ok(ItemStart::Not(_) | ItemStart::Missing) => return Handled::Settled,
            Err(e) => return retry(e),
        }
        let cp = match self.products.contract_product(cp_id).await {
            Ok(Some(cp)) => cp,
            Ok(None) => return end(ItemStatus::Running, ItemStatus::Failed, None, format!("no contract product {cp_id}")).await,
            Err(e) => return self.requeue(job_id, cp_id, e.to_string()).await,
        };
        let params = match self.engine.open_bulk_params(&job) {
            Ok(p) => p,
            Err(e) => return end(ItemStatus::Running, ItemStatus::Failed, None, e.to_string()).await,
        };
        let completion = Completion::BulkItem { job_id: job_id.clone(), contract_product_id: cp_id.clone() };
        let actor = Actor::Recorded(job.actor.clone());
        let receives = record.receives();
        match self.engine.run_on(&actor, cp, &job.blueprint, &job.action, &json!({ "params": params }), Some(&completion)).await {
            // Settled with the run.
            Ok(_) => Handled::Settled,
            // Its configuration is not called now: back to queued, to wait (not an attempt).
            Err(f) if f.error.deferral().is_some() => match self.requeue(job_id, cp_id, f.error.to_string()).await {
                Handled::Retry(_) => Handled::Defer(f.error.deferral().unwrap_or(1)),
                other => other,
            },
            Err(f) if f.kind == Some(FailureKind::Permanent) => Handled::Settled,
            Err(f) if f.retryable() && receives < MAX_RECEIVES => self.requeue(job_id, cp_id, f.error.to_string()).await,
            Err(f) if f.retryable() => end(ItemStatus::Running, ItemStatus::Failed, f.log_id.map(|l| l.to_string()), format!("gave up after {receives} attempts: {}", f.error)).await,
            // Refused before its provider (its status does not allow the action, say).
            Err(f) => end(ItemStatus::Running, ItemStatus::Failed, f.log_id.map(|l| l.to_string()), crate::engine::refusal_text(&f.error)).await,
        }
    }

    /// A running item back to queued, to be tried again (the message is retried).
    async fn requeue(&self, job_id: &BulkJobId, cp_id: &ContractProductId, why: String) -> Handled {
        match self.engine.bulk().set_item(job_id, cp_id, ItemStatus::Running, ItemStatus::Queued, None, Some(&why)).await {
            Ok(()) => Handled::Retry(why),
            Err(e) => retry(format!("{why}; putting the item back failed: {e}")),
        }
    }
}
