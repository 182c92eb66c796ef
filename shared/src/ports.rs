//! Ports: what the engine and its callers need from storage and queues, as traits. The adapters
//! implement them twice: over DynamoDB and SQS (`adapters::dynamodb`, `adapters::sqs`) for the
//! functions, and in memory (`adapters::memory`) for unit tests that run in milliseconds without
//! the local stack. Nothing here names AWS.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::FailureKind;
use crate::domain::bulk::{BulkItem, BulkJob, Filter, ItemStatus};
use crate::domain::configuration::{Breaker, Configuration, Limits};
use crate::domain::drift::{DriftReport, Drifted};
use crate::domain::handler::{EventHandler, Execution};
use crate::domain::ids::{BulkJobId, ConfigurationId, ContractProductId, LogId, ProductId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::{ContractProduct, Product};

/// Where a page of a listing ended: the key attributes of its last item (strings only, as all
/// our keys are), to start the next page after.
pub type PageKey = std::collections::BTreeMap<String, String>;

/// A page of a listing: its records and where the next page starts.
pub type Page<T> = (Vec<T>, Option<PageKey>);

/// A page of a bulk action's items and the contract product id the next page starts after.
pub type ItemsPage = (Vec<BulkItem>, Option<String>);

/// A boxed future: what a port's method returns, so a port can be held as `Arc<dyn Port>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Every way a store can fail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A condition failed: the record changed, exists already, or is still in use.
    #[error("{0}")]
    Conflict(String),
    /// A contract product's service identifier is another's of the same configuration.
    #[error("{0}")]
    Taken(String),
    #[error("stored data is malformed: {0}")]
    Malformed(String),
    /// The store could not be reached or refused the call (a later try may succeed).
    #[error("store: {0}")]
    Unavailable(String),
}

/// What an action run completes in the run's own write: a lifecycle event's record, or an item
/// of a bulk action. It is settled with the run that handled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Event(String),
    BulkItem { job_id: BulkJobId, contract_product_id: ContractProductId },
}

impl Completion {
    /// A lifecycle event's completion.
    pub fn event(id: impl Into<String>) -> Self {
        Completion::Event(id.into())
    }

    /// What the record becomes after a run: done on success, failed on a permanent failure;
    /// nothing on a transient one (it is retried).
    pub fn settles(&self, failure: Option<FailureKind>) -> Option<EventStatus> {
        match failure {
            None => Some(EventStatus::Done),
            Some(FailureKind::Permanent) => Some(EventStatus::Failed),
            Some(_) => None,
        }
    }
}

/// A record settled by a run: its new status (done or failed) and the run's log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub completion: Completion,
    pub status: EventStatus,
    pub log_id: LogId,
}

/// What one run writes, all or nothing: the contract product's new state (if it is still at the
/// expected version), a claim of its new service identifier, the log entry, and the lifecycle
/// event it settles.
#[derive(Debug, Clone, Copy)]
pub struct RunRecord<'a> {
    pub product: Option<(&'a ContractProduct, u64)>,
    /// Claims the product's service identifier within its configuration
    /// ([`StoreError::Taken`] when another product holds it).
    pub claim: bool,
    pub entry: &'a LogEntry,
    pub settles: Option<&'a Settlement>,
    /// The product left its configuration (terminated): one fewer service it holds.
    pub releases: bool,
    /// The outgoing event the run makes, written as an outbox record in the same transaction
    /// (a record of that event id written before stays as it was: no second announcement).
    pub announces: Option<&'a OutgoingEvent>,
}

impl<'a> RunRecord<'a> {
    /// A log entry alone.
    pub fn entry(entry: &'a LogEntry) -> Self {
        RunRecord { product: None, claim: false, entry, settles: None, releases: false, announces: None }
    }
}

/// Contract products as the engine reads and writes them.
pub trait ContractProducts: Send + Sync {
    /// Stores a new contract product, raising its configuration's usage count and claiming its
    /// service identifier, on condition that the id is free and the configuration still exists,
    /// of the same blueprint, and enabled ([`StoreError::Conflict`] otherwise;
    /// [`StoreError::Taken`] when another product holds the identifier); with `entry`, its
    /// first log entry in the same transaction (an import's), and `announces` as an outbox record.
    fn create<'a>(&'a self, cp: &'a ContractProduct, entry: Option<&'a LogEntry>, announces: Option<&'a OutgoingEvent>) -> BoxFuture<'a, Result<(), StoreError>>;
    fn contract_product<'a>(&'a self, id: &'a ContractProductId) -> BoxFuture<'a, Result<Option<ContractProduct>, StoreError>>;
    /// Writes a run ([`RunRecord`]) in one transaction: [`StoreError::Conflict`] when the
    /// product is no longer at the expected version (nothing is written then).
    fn record_run<'a>(&'a self, run: RunRecord<'a>) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The contract products holding these service identifiers of a configuration (those held).
    fn holders<'a>(&'a self, configuration: &'a ConfigurationId, identifiers: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, ContractProductId>, StoreError>>;
    /// The status of one log entry of a contract product, if it exists.
    fn log_status<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<LogStatus>, StoreError>>;
    /// One log entry of a contract product, if it exists (a long-running action's re-check
    /// keeps the exchanges of the run it follows).
    fn log_entry<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<LogEntry>, StoreError>>;
}

/// Lifecycle events' records as the worker moves them on.
pub trait LifecycleEvents: Send + Sync {
    /// Marks an event processing unless it is done or failed already.
    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Begin, StoreError>>;
    /// Moves an event on (never back from done), with the run's log id and an error where given
    /// ([`StoreError::Conflict`] when it is done already).
    fn set_status<'a>(&'a self, id: &'a str, status: EventStatus, log_id: Option<&'a str>, error: Option<&'a str>) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Claims left received since before `cutoff` (RFC 3339), at most `limit`.
    fn stuck_received<'a>(&'a self, cutoff: &'a str, limit: i32) -> BoxFuture<'a, Result<Vec<Stuck>, StoreError>>;
    /// Marks a claim queued, only while it is still received.
    fn mark_queued<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Counts one more time a queue message waited rather than ran (its configuration's
    /// breaker was open, or it was at its limits): such a receive is not an attempt.
    fn defer<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// How often a queue message waited.
    fn deferrals<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<u32, StoreError>>;
}

/// What [`LifecycleEvents::begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Marked processing: run it.
    Started,
    /// Done or failed already.
    Handled,
    /// No record.
    Missing,
}

/// A claim left received: to be queued as it was claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    pub id: String,
    pub contract_product_id: String,
    pub body: String,
    /// The event's id, or its retry's.
    pub dedup_id: String,
}

/// Bulk actions' jobs and items (`domain::bulk`), and the contract product search a job's
/// filter runs.
pub trait BulkJobs: Send + Sync {
    /// Stores a new job ([`StoreError::Conflict`] when its id exists).
    fn create_job<'a>(&'a self, job: &'a BulkJob) -> BoxFuture<'a, Result<(), StoreError>>;
    fn job<'a>(&'a self, id: &'a BulkJobId) -> BoxFuture<'a, Result<Option<BulkJob>, StoreError>>;
    /// Jobs, newest first, a page at a time.
    fn jobs<'a>(&'a self, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<BulkJob>, StoreError>>;
    /// Writes items as queued (a planning page: nothing of the job has run yet, so writing one
    /// again changes nothing).
    fn add_items<'a>(&'a self, job: &'a BulkJobId, items: &'a [ContractProductId]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Moves a job on from step `step` (its status, cursor and size as given), only while it is
    /// at that step and not cancelled: [`StoreError::Conflict`] otherwise.
    fn advance<'a>(&'a self, job: &'a BulkJob, step: u64) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Cancels a job ([`StoreError::Conflict`] when it is cancelled already).
    fn cancel<'a>(&'a self, job: &'a BulkJobId) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Items in contract product id order after `after`, at most `limit`, and where the next
    /// page starts.
    fn items<'a>(&'a self, job: &'a BulkJobId, after: Option<&'a str>, limit: i32) -> BoxFuture<'a, Result<ItemsPage, StoreError>>;
    /// Starts an item: queued → running (one more attempt), only while its job is not
    /// cancelled.
    fn start_item<'a>(&'a self, job: &'a BulkJobId, item: &'a ContractProductId) -> BoxFuture<'a, Result<ItemStart, StoreError>>;
    /// Moves an item from `from` to `to` with its log entry and error where given (an item
    /// refused, given up or cancelled, or a running one back to queued for its retry):
    /// [`StoreError::Conflict`] when it is not at `from`.
    fn set_item<'a>(
        &'a self,
        job: &'a BulkJobId,
        item: &'a ContractProductId,
        from: ItemStatus,
        to: ItemStatus,
        log_id: Option<&'a str>,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Contract products a filter finds, newest first, a page at a time.
    fn search<'a>(&'a self, filter: &'a Filter, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<ContractProduct>, StoreError>>;
}

/// What [`BulkJobs::start_item`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStart {
    /// Marked running (one more attempt counted): run it.
    Started,
    /// The job is cancelled and the item still queued.
    Cancelled,
    /// Not queued: running (a run cut off before it settled), or finished.
    Not(ItemStatus),
    Missing,
}

/// A place under a configuration's limits: the concurrency lease it holds (released after the
/// call) and when the call may start (ms since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permit {
    pub lease: Option<String>,
    pub start_at_ms: i64,
}

/// No place came within the wait: try again after this many milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after_ms: i64,
}

/// What keeps the engine's calls to a configuration's third party within its limits and its
/// circuit breaker, across every Lambda instance: the state is in the store, every change a
/// conditional write.
pub trait ProviderGate: Send + Sync {
    /// A concurrency lease (while fewer than `max_concurrency` are held; an expired one is
    /// taken back) and a start time spaced by the rate, waiting at most `wait_ms` for either.
    fn acquire<'a>(&'a self, configuration: &'a ConfigurationId, limits: &'a Limits, wait_ms: i64) -> BoxFuture<'a, Result<Result<Permit, Busy>, StoreError>>;
    fn release<'a>(&'a self, configuration: &'a ConfigurationId, permit: &'a Permit) -> BoxFuture<'a, ()>;
    /// Counts a transient failure in a row (within the breaker's window); opens the breaker when
    /// the count reaches `threshold`: the breaker as this call opened it, if it did.
    fn failed<'a>(&'a self, configuration: &'a ConfigurationId, threshold: u32, cause: &'a str) -> BoxFuture<'a, Result<Option<Breaker>, StoreError>>;
    /// The third party answered (a success, or a refusal of its own): the failures in a row
    /// start again from none.
    fn answered<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Claims the probe of an open breaker whose time has come, one at a time: whether this
    /// call got it.
    fn claim_probe<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Closes the breaker (its probe, or a connection test, succeeded).
    fn close<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Opens it again after its probe failed, for longer (`opens`: times in a row).
    fn reopen<'a>(&'a self, configuration: &'a ConfigurationId, opens: u32, cause: &'a str) -> BoxFuture<'a, Result<Breaker, StoreError>>;
}

/// What one step of a drift sweep found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepFindings {
    /// Where the next step starts (none: this was the last).
    pub cursor: Option<String>,
    pub finished: bool,
    pub checked: u64,
    pub not_checked: u64,
    pub usage_refreshed: u64,
    pub drifted: Vec<Drifted>,
}

/// Drift sweeps' reports, one per configuration and sweep.
pub trait DriftReports: Send + Sync {
    fn start<'a>(&'a self, report: &'a DriftReport) -> BoxFuture<'a, Result<(), StoreError>>;
    fn report<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str) -> BoxFuture<'a, Result<Option<DriftReport>, StoreError>>;
    /// The configuration's latest sweep.
    fn latest<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<DriftReport>, StoreError>>;
    /// Adds a step's findings (listing drifted services while fewer than the report's limit
    /// are, `listed` being how many are), only while the sweep is at `step`:
    /// [`StoreError::Conflict`] otherwise.
    fn advance<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str, step: u64, findings: &'a StepFindings, listed: usize) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Provision configurations as the engine reads them.
pub trait Configurations: Send + Sync {
    fn configuration<'a>(&'a self, id: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<Configuration>, StoreError>>;
    /// The default configuration of a provider of a blueprint (`Some(provider)`), or of the
    /// blueprint.
    fn default_for<'a>(&'a self, blueprint: &'a str, provider: Option<&'a str>) -> BoxFuture<'a, Result<Option<ConfigurationId>, StoreError>>;
    /// Every configuration of a blueprint, as stored now (placement chooses among them).
    fn of_blueprint<'a>(&'a self, blueprint: &'a str) -> BoxFuture<'a, Result<Vec<Configuration>, StoreError>>;
    /// Drops what is remembered of a configuration, so its next read is fresh: the engine calls
    /// it when a run at its third party fails (the credentials may since have been fixed) and
    /// before a connection test. Stores that remember nothing ignore it.
    fn forget(&self, _id: &ConfigurationId) {}
}

/// Products (provisioning templates) as the engine reads them.
pub trait ProductTemplates: Send + Sync {
    fn product<'a>(&'a self, id: &'a ProductId) -> BoxFuture<'a, Result<Option<Product>, StoreError>>;
}

/// A simulated remote object and its version.
pub type DemoObject = (Map<String, Value>, i64);

/// The demo provider's simulated third party: objects (accounts, domains, servers ...) under a
/// partition (a configuration and blueprint), each with a version, and fault counters.
pub trait DemoState: Send + Sync {
    /// The object and its version.
    fn load<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<Option<DemoObject>, StoreError>>;
    /// Writes the object if it is still at `version` (0: it must be new), as `version + 1`:
    /// [`StoreError::Conflict`] otherwise.
    fn store<'a>(&'a self, partition: &'a str, key: &'a str, object: &'a Map<String, Value>, version: i64) -> BoxFuture<'a, Result<(), StoreError>>;
    fn remove<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Counts one more under `counter` while fewer than `limit` were counted: whether it did.
    fn count<'a>(&'a self, partition: &'a str, counter: &'a str, limit: u64) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// The partition's objects in key order after `after`, at most `limit`, and the last key
    /// when more may follow.
    fn list<'a>(&'a self, partition: &'a str, after: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<DemoPage, StoreError>>;
}

/// A page of the demo's objects: keys and objects, and where the next page starts.
pub type DemoPage = (Vec<(String, Map<String, Value>)>, Option<String>);

/// One run of an action as the engine measures it (the [`Metrics`] port).
#[derive(Debug, Clone)]
pub struct ActionRun<'a> {
    pub blueprint: &'a str,
    pub provider: &'a str,
    pub action: &'a str,
    /// `success`, `failure` or `in_progress` (the provider is still at it).
    pub outcome: &'a str,
    pub duration_ms: u64,
    pub configuration_id: &'a str,
    pub contract_product_id: &'a str,
    pub log_id: &'a str,
}

/// What the engine measures as it goes: each run, and each move of a configuration's circuit
/// breaker (`open`, `half_open`, `closed`). adapters::metrics writes them in CloudWatch's
/// embedded metric format; an engine measures nothing unless given it ([`NoMetrics`]).
pub trait Metrics: Send + Sync {
    fn action(&self, run: &ActionRun<'_>);
    fn breaker(&self, state: &str, configuration_id: &str);
}

/// Measures nothing (tests, tools, the benchmarks' in-process engines).
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn action(&self, _: &ActionRun<'_>) {}
    fn breaker(&self, _: &str, _: &str) {}
}

/// Where the dispatcher puts the outbox's events (the events queue). A refusal is the caller's
/// to retry: the outbox record stays in the stream until it is published.
pub trait Publish: Send + Sync {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, Result<(), String>>;
}

/// The long-running action a work message is about: its pending log entry, the contract
/// product, the action, and who started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    pub log_id: LogId,
    pub started_at: String,
    pub contract_product_id: ContractProductId,
    pub blueprint: String,
    pub action: String,
    pub actor: Value,
}

/// A long-running action for the worker to carry out, as the engine queues it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationMessage {
    #[serde(flatten)]
    pub work: Work,
    /// The caller's own params, secrets sealed to the log id: the worker fills the rest from the
    /// contract product again.
    pub params: Value,
}

/// A re-check of a long-running action the provider reported in progress: the operation
/// without its params, and when to give up on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckMessage {
    #[serde(flatten)]
    pub work: Work,
    /// Milliseconds since the epoch.
    pub deadline_ms: i64,
}

impl OperationMessage {
    /// The re-check of this operation, given up on after `deadline_ms`.
    pub fn check(&self, deadline_ms: i64) -> CheckMessage {
        CheckMessage { work: self.work.clone(), deadline_ms }
    }
}

/// The work messages of the queues besides billing events, told apart by `kind` (a billing
/// event, the webhook's, carries none): a long-running action to carry out (lifecycle queue),
/// and its re-checks (operations queue, delayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkMessage {
    Operation(OperationMessage),
    Check(CheckMessage),
}

impl WorkMessage {
    pub fn work(&self) -> &Work {
        match self {
            WorkMessage::Operation(o) => &o.work,
            WorkMessage::Check(c) => &c.work,
        }
    }

    /// The FIFO group (the contract product: its work runs in order) and deduplication id.
    pub fn group_and_dedup(&self) -> (&str, &str) {
        let work = self.work();
        (work.contract_product_id.as_str(), work.log_id.as_str())
    }
}

/// The queues a consumer sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Billing events and long-running actions, FIFO by contract product.
    Lifecycle,
    /// Delayed re-checks of long-running actions (standard).
    Operations,
    /// Where the lifecycle queue's given-up messages go.
    LifecycleDeadLetter,
    /// Outgoing events (the dispatcher's own queue: a record left for the next invocation goes
    /// back as a new message, so waiting costs it no receive).
    Events,
}

/// The queues as a consumer sees them: sends (FIFO ones with a group and deduplication id, a
/// delay where asked) and holding a received message back for a while.
pub trait Mailbox: Send + Sync {
    fn send<'a>(&'a self, to: QueueName, body: &'a str, fifo: Option<(&'a str, &'a str)>, delay_seconds: u32) -> BoxFuture<'a, Result<(), String>>;
    /// Makes a message received from the queue `source` (its ARN) visible again in `seconds`
    /// (a failure leaves the queue's own visibility timeout: later, not lost).
    fn hold<'a>(&'a self, source: &'a str, receipt: &'a str, seconds: u64) -> BoxFuture<'a, ()>;
}

/// The lifecycle queue, as the engine sends to it.
pub trait WorkQueue: Send + Sync {
    fn send<'a>(&'a self, message: &'a WorkMessage) -> BoxFuture<'a, Result<(), String>>;
}

/// Outgoing event handlers and their deliveries, as the dispatcher reads and records them.
pub trait HandlerRecords: Send + Sync {
    /// The handlers of an event type, lowest priority number first (every status).
    fn for_event<'a>(&'a self, event: &'a str) -> BoxFuture<'a, Result<Vec<EventHandler>, StoreError>>;
    /// Whether an event reached a handler already.
    fn delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn mark_delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn record_execution<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// What invoking a function answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    pub status_code: Option<u16>,
    pub excerpt: String,
    /// The function's own error, where it failed.
    pub function_error: Option<String>,
}

/// Invokes a function (a Lambda handler of outgoing events) with a payload.
pub trait InvokeFunction: Send + Sync {
    fn invoke<'a>(&'a self, function: &'a str, payload: &'a str) -> BoxFuture<'a, Result<Invoked, String>>;
}

/// The stores an engine runs over.
#[derive(Clone)]
pub struct Stores {
    pub products: Arc<dyn ContractProducts>,
    pub templates: Arc<dyn ProductTemplates>,
    pub configurations: Arc<dyn Configurations>,
    pub demo: Arc<dyn DemoState>,
    pub bulk: Arc<dyn BulkJobs>,
    pub gate: Arc<dyn ProviderGate>,
    pub drift: Arc<dyn DriftReports>,
}
