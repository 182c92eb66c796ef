//! Bulk actions: one action of a blueprint run on many contract products as a tracked job. A job
//! snapshots its selection into items first (planning), then puts each item on the lifecycle
//! queue (dispatching), then each item runs once in the worker. The job's progress is its
//! items' statuses; nothing about a job lives only in memory, so a crash anywhere resumes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::ids::BulkJobId;
use super::ids::ContractProductId;

/// The most contract products one job acts on.
pub const MAX_ITEMS: usize = 10_000;

/// What a job acts on: named contract products, or those a search finds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    Ids(Vec<ContractProductId>),
    Filter(Filter),
}

/// A search of contract products: each facet given must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<String>,
}

/// Where a job is: snapshotting its selection, putting its items on the queue, with every item
/// queued (its items run), or cancelled (its queued items do not run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Planning,
    Dispatching,
    Dispatched,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Planning => "planning",
            JobStatus::Dispatching => "dispatching",
            JobStatus::Dispatched => "dispatched",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

/// A bulk action as stored. `params` are the caller's, secrets sealed to the job's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkJob {
    pub id: BulkJobId,
    pub blueprint: String,
    pub action: String,
    pub params: Value,
    pub selection: Selection,
    pub status: JobStatus,
    /// Who started it (each item's run is logged as theirs).
    pub actor: Value,
    pub created_at: String,
    pub updated_at: String,
    /// Steps (pages planned or dispatched) taken: a step message names the step it takes.
    #[serde(default)]
    pub step: u64,
    /// Where planning or dispatching goes on from (opaque; none at the start of a phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Items written so far (planning), then the job's size.
    #[serde(default)]
    pub size: u64,
    /// Why planning stopped early (the selection was larger than [`MAX_ITEMS`], say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where one item of a job is. An item moves queued → running → done or failed once; a
/// transient failure puts it back to queued for its retry; a cancelled job's queued items end
/// cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 5] = [ItemStatus::Queued, ItemStatus::Running, ItemStatus::Done, ItemStatus::Failed, ItemStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Queued => "queued",
            ItemStatus::Running => "running",
            ItemStatus::Done => "done",
            ItemStatus::Failed => "failed",
            ItemStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn finished(self) -> bool {
        matches!(self, ItemStatus::Done | ItemStatus::Failed | ItemStatus::Cancelled)
    }
}

/// One contract product of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkItem {
    pub contract_product_id: ContractProductId,
    pub status: ItemStatus,
    /// The run's log entry, once it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Runs started (a transient failure's retry is one more).
    #[serde(default)]
    pub attempts: u32,
    pub updated_at: String,
}

/// A job's progress: items per status, and what it is as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl Progress {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a BulkItem>, job: JobStatus) -> Self {
        let mut p = Progress::default();
        for item in items {
            // A cancelled job's queued items will not run.
            let status = if job == JobStatus::Cancelled && item.status == ItemStatus::Queued { ItemStatus::Cancelled } else { item.status };
            match status {
                ItemStatus::Queued => p.queued += 1,
                ItemStatus::Running => p.running += 1,
                ItemStatus::Done => p.done += 1,
                ItemStatus::Failed => p.failed += 1,
                ItemStatus::Cancelled => p.cancelled += 1,
            }
        }
        p
    }

    /// The job as a whole: still planning or dispatching, running, or finished (every item done,
    /// failed or cancelled).
    pub fn state(&self, job: JobStatus) -> &'static str {
        match job {
            JobStatus::Planning | JobStatus::Dispatching => job.as_str(),
            JobStatus::Cancelled if self.running == 0 => "cancelled",
            _ if self.queued + self.running == 0 => "finished",
            _ => "running",
        }
    }
}

/// The work messages of a job on the lifecycle queue (told apart from others by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BulkMessage {
    /// Plan or dispatch the next page of a job (its own FIFO group: one step at a time).
    BulkStep { job_id: BulkJobId, step: u64 },
    /// Run one item (in its contract product's group, in order with its other work).
    BulkItem { job_id: BulkJobId, contract_product_id: ContractProductId },
}

impl BulkMessage {
    /// Whether a queue message's `kind` is a bulk one.
    pub fn is_bulk(kind: &str) -> bool {
        kind == "bulk_step" || kind == "bulk_item"
    }

    /// The FIFO group and deduplication id (≤ 128 characters).
    pub fn group_and_dedup(&self) -> (String, String) {
        match self {
            BulkMessage::BulkStep { job_id, step } => (format!("bulk:{job_id}"), format!("{job_id}:{step}")),
            BulkMessage::BulkItem { job_id, contract_product_id } => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("{job_id}\n{contract_product_id}").as_bytes());
                let short: String = digest.as_ref().iter().take(20).map(|b| format!("{b:02x}")).collect();
                (contract_product_id.to_string(), format!("bulk-{short}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: ItemStatus) -> BulkItem {
        BulkItem { contract_product_id: ContractProductId::parse("cp-1").unwrap(), status, log_id: None, error: None, attempts: 0, updated_at: String::new() }
    }

    #[test]
    fn a_job_is_finished_when_no_item_waits_or_runs() {
        let items = [item(ItemStatus::Done), item(ItemStatus::Failed)];
        assert_eq!(Progress::of(&items, JobStatus::Dispatched).state(JobStatus::Dispatched), "finished");
        let items = [item(ItemStatus::Done), item(ItemStatus::Queued)];
        assert_eq!(Progress::of(&items, JobStatus::Dispatched).state(JobStatus::Dispatched), "running");
        // A cancelled job's queued items count as cancelled.
        let p = Progress::of(&items, JobStatus::Cancelled);
        assert_eq!((p.queued, p.cancelled, p.state(JobStatus::Cancelled)), (0, 1, "cancelled"));
    }

    #[test]
    fn an_items_group_is_its_products_and_its_dedup_id_fits_sqs() {
        let long = ContractProductId::parse(&"c".repeat(128)).unwrap();
        let m = BulkMessage::BulkItem { job_id: BulkJobId::generate(), contract_product_id: long.clone() };
        let (group, dedup) = m.group_and_dedup();
        assert_eq!(group, long.as_str());
        assert!(dedup.len() <= 128);
        let json = serde_json::to_value(&m).unwrap();
        assert!(BulkMessage::is_bulk(json["kind"].as_str().unwrap()));
    }
}
