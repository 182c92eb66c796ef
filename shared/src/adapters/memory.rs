//! In-memory adapters of every engine port: the same contracts as the DynamoDB and SQS ones
//! (version conditions, identifier claims, all-or-nothing runs), held in a mutex, so the engine
//! and the demo provider are unit-tested in milliseconds without the local stack. Not for
//! production: nothing survives the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::domain::configuration::Configuration;
use crate::domain::ids::{ConfigurationId, ContractProductId, LogId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::LogEntry;
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::ContractProduct;
use crate::ports::{BoxFuture, Configurations, ContractProducts, DemoState, Publish, RunRecord, StoreError, Stores, WorkMessage, WorkQueue};

#[derive(Default)]
struct State {
    products: HashMap<ContractProductId, ContractProduct>,
    configurations: HashMap<ConfigurationId, Configuration>,
    /// Service identifier claims: (configuration, identifier) → contract product.
    claims: HashMap<(ConfigurationId, String), ContractProductId>,
    /// In the order written; an entry written again (a pending one finished) replaces itself.
    logs: Vec<LogEntry>,
    /// Settled lifecycle events: event id → (status, log ids).
    events: HashMap<String, (EventStatus, Vec<LogId>)>,
    demo: HashMap<(String, String), (Map<String, Value>, i64)>,
    counters: HashMap<(String, String), u64>,
    /// Runs to refuse with a version conflict before writing, as another writer would cause.
    conflicts: usize,
    /// Whether the store answers at all.
    down: bool,
}

/// Every store port in one memory, shared by its clones.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine's stores, all this memory.
    pub fn stores(&self) -> Stores {
        Stores { products: Arc::new(self.clone()), configurations: Arc::new(self.clone()), demo: Arc::new(self.clone()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put_product(&self, cp: ContractProduct) {
        let mut s = self.lock();
        if let Some(si) = &cp.service_identifier {
            s.claims.insert((cp.provision_configuration_id.clone(), si.clone()), cp.id.clone());
        }
        s.products.insert(cp.id.clone(), cp);
    }

    pub fn put_configuration(&self, c: Configuration) {
        self.lock().configurations.insert(c.id.clone(), c);
    }

    pub fn product(&self, id: &ContractProductId) -> Option<ContractProduct> {
        self.lock().products.get(id).cloned()
    }

    /// Every log entry, in the order first written.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.lock().logs.clone()
    }

    pub fn event(&self, id: &str) -> Option<(EventStatus, Vec<LogId>)> {
        self.lock().events.get(id).cloned()
    }

    /// The next `n` runs that write a product meet a version conflict.
    pub fn conflict_next(&self, n: usize) {
        self.lock().conflicts = n;
    }

    /// Changes a stored product behind the engine's back (another run), raising its version.
    pub fn change_product(&self, id: &ContractProductId, change: impl FnOnce(&mut ContractProduct)) {
        let mut s = self.lock();
        if let Some(cp) = s.products.get_mut(id) {
            change(cp);
            cp.version += 1;
        }
    }

    /// Whether the store answers (false: every call fails as an unreachable store does).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    fn up(s: &State) -> Result<(), StoreError> {
        if s.down { Err(StoreError::Unavailable("memory store is down".into())) } else { Ok(()) }
    }
}

impl ContractProducts for MemoryStore {
    fn contract_product<'a>(&'a self, id: &'a ContractProductId) -> BoxFuture<'a, Result<Option<ContractProduct>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.products.get(id).cloned())
        })
    }

    fn record_run<'a>(&'a self, run: RunRecord<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            // Every condition first: nothing is written unless all hold.
            if let Some((cp, expected)) = run.product {
                if s.conflicts > 0 {
                    s.conflicts -= 1;
                    if let Some(stored) = s.products.get_mut(&cp.id) {
                        stored.version += 1;
                    }
                    return Err(StoreError::Conflict("the contract product changed while the action ran; nothing was recorded for this run".into()));
                }
                if s.products.get(&cp.id).map(|p| p.version) != Some(expected) {
                    return Err(StoreError::Conflict("the contract product changed while the action ran; nothing was recorded for this run".into()));
                }
                if run.claim
                    && let Some(si) = &cp.service_identifier
                    && s.claims.get(&(cp.provision_configuration_id.clone(), si.clone())).is_some_and(|holder| *holder != cp.id)
                {
                    return Err(StoreError::Taken(format!("{si} is another contract product's service at this configuration")));
                }
            }
            if let Some(settles) = run.settles
                && s.events.get(&settles.event_id).is_some_and(|(status, _)| *status == EventStatus::Done)
            {
                return Err(StoreError::Conflict(format!("event {} is done already", settles.event_id)));
            }
            if let Some((cp, _)) = run.product {
                if run.claim
                    && let Some(si) = &cp.service_identifier
                {
                    s.claims.insert((cp.provision_configuration_id.clone(), si.clone()), cp.id.clone());
                }
                s.products.insert(cp.id.clone(), cp.clone());
            }
            match s.logs.iter_mut().find(|e| e.log_id == run.entry.log_id) {
                Some(e) => *e = run.entry.clone(),
                None => s.logs.push(run.entry.clone()),
            }
            if let Some(settles) = run.settles {
                let event = s.events.entry(settles.event_id.clone()).or_insert((settles.status, Vec::new()));
                event.0 = settles.status;
                event.1.push(settles.log_id.clone());
            }
            Ok(())
        })
    }
}

impl Configurations for MemoryStore {
    fn configuration<'a>(&'a self, id: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<Configuration>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.configurations.get(id).cloned())
        })
    }
}

impl DemoState for MemoryStore {
    fn load<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<Option<(Map<String, Value>, i64)>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.demo.get(&(partition.to_owned(), key.to_owned())).cloned())
        })
    }

    fn store<'a>(&'a self, partition: &'a str, key: &'a str, object: &'a Map<String, Value>, version: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let k = (partition.to_owned(), key.to_owned());
            let current = s.demo.get(&k).map(|(_, v)| *v).unwrap_or(0);
            if current != version {
                return Err(StoreError::Conflict(format!("{key} changed meanwhile")));
            }
            s.demo.insert(k, (object.clone(), version + 1));
            Ok(())
        })
    }

    fn remove<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            s.demo.remove(&(partition.to_owned(), key.to_owned()));
            Ok(())
        })
    }

    fn count<'a>(&'a self, partition: &'a str, counter: &'a str, limit: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let n = s.counters.entry((partition.to_owned(), counter.to_owned())).or_insert(0);
            if *n >= limit {
                return Ok(false);
            }
            *n += 1;
            Ok(true)
        })
    }
}

/// Outgoing events, kept in order.
#[derive(Clone, Default)]
pub struct MemoryPublisher {
    events: Arc<Mutex<Vec<OutgoingEvent>>>,
}

impl MemoryPublisher {
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Publish for MemoryPublisher {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone()) })
    }
}

/// Work messages, kept in order; `refuse` makes sends fail as an unreachable queue does.
#[derive(Clone, Default)]
pub struct MemoryQueue {
    messages: Arc<Mutex<Vec<WorkMessage>>>,
    pub refuse: bool,
}

impl MemoryQueue {
    /// A queue that refuses every send, as an unreachable one does.
    pub fn refusing() -> Self {
        MemoryQueue { refuse: true, ..Self::default() }
    }

    pub fn messages(&self) -> Vec<WorkMessage> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl WorkQueue for MemoryQueue {
    fn send<'a>(&'a self, message: &'a WorkMessage) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if self.refuse {
                return Err("the queue refused the message".into());
            }
            self.messages.lock().unwrap_or_else(|p| p.into_inner()).push(message.clone());
            Ok(())
        })
    }
}
