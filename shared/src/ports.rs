//! Ports: what the engine and its callers need from storage and queues, as traits. The adapters
//! implement them twice: over DynamoDB and SQS (`adapters::dynamodb`, `adapters::sqs`) for the
//! functions, and in memory (`adapters::memory`) for unit tests that run in milliseconds without
//! the local stack. Nothing here names AWS.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::FailureKind;
use crate::domain::configuration::Configuration;
use crate::domain::ids::{ConfigurationId, ContractProductId, LogId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::LogEntry;
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::ContractProduct;

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

/// A lifecycle event an action run completes (in the run's own write): the event's record
/// is settled with the run that handled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub event_id: String,
}

impl Completion {
    /// What the event becomes after a run: done on success, failed on a permanent failure;
    /// nothing on a transient one (it is retried).
    pub fn settles(&self, failure: Option<FailureKind>) -> Option<EventStatus> {
        match failure {
            None => Some(EventStatus::Done),
            Some(FailureKind::Permanent) => Some(EventStatus::Failed),
            Some(_) => None,
        }
    }
}

/// An event's record settled by a run: its new status and the run's log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub event_id: String,
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
}

impl<'a> RunRecord<'a> {
    /// A log entry alone.
    pub fn entry(entry: &'a LogEntry) -> Self {
        RunRecord { product: None, claim: false, entry, settles: None }
    }
}

/// Contract products as the engine reads and writes them.
pub trait ContractProducts: Send + Sync {
    fn contract_product<'a>(&'a self, id: &'a ContractProductId) -> BoxFuture<'a, Result<Option<ContractProduct>, StoreError>>;
    /// Writes a run ([`RunRecord`]) in one transaction: [`StoreError::Conflict`] when the
    /// product is no longer at the expected version (nothing is written then).
    fn record_run<'a>(&'a self, run: RunRecord<'a>) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Provision configurations as the engine reads them.
pub trait Configurations: Send + Sync {
    fn configuration<'a>(&'a self, id: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<Configuration>, StoreError>>;
}

/// The demo provider's simulated third party: objects (accounts, domains, servers ...) under a
/// partition (a configuration and blueprint), each with a version, and fault counters.
pub trait DemoState: Send + Sync {
    /// The object and its version.
    fn load<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<Option<(Map<String, Value>, i64)>, StoreError>>;
    /// Writes the object if it is still at `version` (0: it must be new), as `version + 1`:
    /// [`StoreError::Conflict`] otherwise.
    fn store<'a>(&'a self, partition: &'a str, key: &'a str, object: &'a Map<String, Value>, version: i64) -> BoxFuture<'a, Result<(), StoreError>>;
    fn remove<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Counts one more under `counter` while fewer than `limit` were counted: whether it did.
    fn count<'a>(&'a self, partition: &'a str, counter: &'a str, limit: u64) -> BoxFuture<'a, Result<bool, StoreError>>;
}

/// Where outgoing events go (the events queue). A send that fails is retried, then logged with
/// the whole event: publishing never fails the run that made the event.
pub trait Publish: Send + Sync {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, ()>;
}

/// A long-running action for the worker to carry out, as the engine queues it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationMessage {
    pub log_id: LogId,
    pub started_at: String,
    pub contract_product_id: ContractProductId,
    pub blueprint: String,
    pub action: String,
    pub actor: Value,
    /// The caller's own params, secrets sealed to the log id: the worker fills the rest from the
    /// contract product again.
    pub params: Value,
}

/// The work messages of the lifecycle queue the engine sends, told apart by `kind` (billing
/// events, the queue's other messages, carry no `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkMessage {
    Operation(OperationMessage),
}

impl WorkMessage {
    /// The FIFO group (the contract product: its work runs in order) and deduplication id.
    pub fn group_and_dedup(&self) -> (&str, &str) {
        match self {
            WorkMessage::Operation(o) => (o.contract_product_id.as_str(), o.log_id.as_str()),
        }
    }
}

/// The lifecycle queue, as the engine sends to it.
pub trait WorkQueue: Send + Sync {
    fn send<'a>(&'a self, message: &'a WorkMessage) -> BoxFuture<'a, Result<(), String>>;
}

/// The stores an engine runs over.
#[derive(Clone)]
pub struct Stores {
    pub products: Arc<dyn ContractProducts>,
    pub configurations: Arc<dyn Configurations>,
    pub demo: Arc<dyn DemoState>,
}
