//! In-memory adapters of every engine port: the same contracts as the DynamoDB and SQS ones
//! (version conditions, identifier claims, all-or-nothing runs), held in a mutex, so the engine
//! and the demo provider are unit-tested in milliseconds without the local stack. Not for
//! production: nothing survives the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::domain::bulk::{BulkItem, BulkJob, Filter, ItemStatus, JobStatus};
use crate::domain::configuration::Configuration;
use crate::domain::configuration::{BREAKER_WINDOW_MS, Breaker, Limits};
use crate::domain::handler::{EventHandler, Execution};
use crate::domain::ids::{BulkJobId, ConfigurationId, ContractProductId, LogId, ProductId};
use crate::domain::lifecycle::EventStatus;
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::{ContractProduct, Product};
use crate::ports::{
    Begin, BoxFuture, BulkJobs, Completion, Configurations, ContractProducts, DemoObject, DemoState, HandlerRecords, InvokeFunction, Invoked, ItemStart, LifecycleEvents, Mailbox, PageKey,
    ProductTemplates, Publish, QueueName, RunRecord, StoreError, Stores, Stuck, WorkMessage, WorkQueue,
};
use crate::ports::{Busy, ItemsPage, Page, Permit, ProviderGate};

/// A lifecycle event's record.
#[derive(Debug, Clone)]
struct MemoryEvent {
    status: EventStatus,
    log_ids: Vec<LogId>,
    error: Option<String>,
    contract_product_id: String,
    /// The event as it goes on the queue, while it may be queued again.
    body: Option<String>,
    received_at: String,
}

#[derive(Default)]
struct State {
    products: HashMap<ContractProductId, ContractProduct>,
    configurations: HashMap<ConfigurationId, Configuration>,
    /// Default configurations: (blueprint, provider or none) → configuration.
    defaults: HashMap<(String, Option<String>), ConfigurationId>,
    templates: HashMap<ProductId, Product>,
    /// Service identifier claims: (configuration, identifier) → contract product.
    claims: HashMap<(ConfigurationId, String), ContractProductId>,
    /// In the order written; an entry written again (a pending one finished) replaces itself.
    logs: Vec<LogEntry>,
    /// Lifecycle events' records by id.
    events: HashMap<String, MemoryEvent>,
    demo: HashMap<(String, String), DemoObject>,
    counters: HashMap<(String, String), u64>,
    /// Bulk actions, and their items by contract product id (in id order).
    jobs: HashMap<BulkJobId, BulkJob>,
    items: HashMap<BulkJobId, std::collections::BTreeMap<String, BulkItem>>,
    /// Drift sweeps' reports by configuration and sweep id.
    reports: std::collections::BTreeMap<(ConfigurationId, String), crate::domain::drift::DriftReport>,
    /// How often each queue message waited (by message id).
    deferrals: HashMap<String, u32>,
    /// Per configuration: the next free start time (µs) and the leases held (token → expiry, ms).
    limits: HashMap<ConfigurationId, (i64, HashMap<String, i64>)>,
    /// Runs to refuse with a version conflict before writing, as another writer would cause.
    conflicts: usize,
    /// Whether the store answers at all.
    down: bool,
    /// Outbox records (outgoing events) in the order written, one per event id.
    outbox: Vec<OutgoingEvent>,
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
        Stores {
            products: Arc::new(self.clone()),
            templates: Arc::new(self.clone()),
            configurations: Arc::new(self.clone()),
            demo: Arc::new(self.clone()),
            bulk: Arc::new(self.clone()),
            gate: Arc::new(self.clone()),
            drift: Arc::new(self.clone()),
        }
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

    /// Makes a configuration the default of its blueprint (`for_provider`: of its provider).
    pub fn set_default(&self, id: &ConfigurationId, for_provider: bool) {
        let mut s = self.lock();
        if let Some(c) = s.configurations.get(id).cloned() {
            s.defaults.insert((c.blueprint, for_provider.then_some(c.provider)), id.clone());
        }
    }

    pub fn put_template(&self, p: Product) {
        self.lock().templates.insert(p.id.clone(), p);
    }

    pub fn product(&self, id: &ContractProductId) -> Option<ContractProduct> {
        self.lock().products.get(id).cloned()
    }

    /// Every log entry, in the order first written.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.lock().logs.clone()
    }

    /// An event's status and the log ids of the runs that handled it.
    pub fn event(&self, id: &str) -> Option<(EventStatus, Vec<LogId>)> {
        self.lock().events.get(id).map(|e| (e.status, e.log_ids.clone()))
    }

    /// An event's last error.
    pub fn event_error(&self, id: &str) -> Option<String> {
        self.lock().events.get(id).and_then(|e| e.error.clone())
    }

    /// Claims an event as the webhook does: received, with what it is queued as.
    pub fn claim_event(&self, id: &str, contract_product_id: &str, body: &str, received_at: &str) {
        let event = MemoryEvent {
            status: EventStatus::Received,
            log_ids: Vec::new(),
            error: None,
            contract_product_id: contract_product_id.to_owned(),
            body: Some(body.to_owned()),
            received_at: received_at.to_owned(),
        };
        self.lock().events.insert(id.to_owned(), event);
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

    /// Changes a stored configuration behind the engine's back.
    pub fn change_configuration(&self, id: &ConfigurationId, change: impl FnOnce(&mut Configuration)) {
        if let Some(c) = self.lock().configurations.get_mut(id) {
            change(c);
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
    fn create<'a>(&'a self, cp: &'a ContractProduct, entry: Option<&'a LogEntry>, announces: Option<&'a OutgoingEvent>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let usable = s.configurations.get(&cp.provision_configuration_id).is_some_and(|c| c.blueprint == cp.blueprint && c.enabled && c.has_room());
            if s.products.contains_key(&cp.id) || !usable {
                return Err(StoreError::Conflict(format!("contract product {} exists already, or its configuration changed", cp.id)));
            }
            let claim = cp.service_identifier.clone().filter(|i| !i.is_empty()).map(|i| (cp.provision_configuration_id.clone(), i));
            if let Some(held) = claim.as_ref().and_then(|c| s.claims.get(c)).filter(|holder| **holder != cp.id) {
                return Err(StoreError::Taken(format!("the service is held by contract product {held}")));
            }
            if let Some(c) = s.configurations.get_mut(&cp.provision_configuration_id) {
                c.usage_count += 1;
                c.services_count += 1;
            }
            if let Some(c) = claim {
                s.claims.insert(c, cp.id.clone());
            }
            s.products.insert(cp.id.clone(), cp.clone());
            s.logs.extend(entry.cloned());
            s.announce(announces);
            Ok(())
        })
    }

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
            match run.settles.map(|s| &s.completion) {
                Some(Completion::Event(id)) if s.events.get(id).is_none_or(|e| e.status == EventStatus::Done) => return Err(StoreError::Conflict(format!("event {id} is done already"))),
                Some(Completion::BulkItem { job_id, contract_product_id }) if s.items.get(job_id).and_then(|i| i.get(contract_product_id.as_str())).is_none_or(|i| i.status != ItemStatus::Running) => {
                    return Err(StoreError::Conflict(format!("item {contract_product_id} of {job_id} is not running")));
                }
                _ => {}
            }
            if let Some((cp, _)) = run.product {
                if run.claim
                    && let Some(si) = &cp.service_identifier
                {
                    s.claims.insert((cp.provision_configuration_id.clone(), si.clone()), cp.id.clone());
                }
                if run.releases
                    && let Some(c) = s.configurations.get_mut(&cp.provision_configuration_id)
                {
                    c.services_count -= 1;
                }
                s.products.insert(cp.id.clone(), cp.clone());
            }
            match s.logs.iter_mut().find(|e| e.log_id == run.entry.log_id) {
                Some(e) => *e = run.entry.clone(),
                None => s.logs.push(run.entry.clone()),
            }
            match run.settles.map(|settles| (settles, &settles.completion)) {
                Some((settles, Completion::Event(id))) => {
                    if let Some(event) = s.events.get_mut(id) {
                        event.status = settles.status;
                        event.log_ids.push(settles.log_id.clone());
                        if settles.status == EventStatus::Done {
                            event.body = None;
                        }
                    }
                }
                Some((settles, Completion::BulkItem { job_id, contract_product_id })) => {
                    if let Some(item) = s.items.get_mut(job_id).and_then(|i| i.get_mut(contract_product_id.as_str())) {
                        item.status = if settles.status == EventStatus::Done { ItemStatus::Done } else { ItemStatus::Failed };
                        item.log_id = Some(settles.log_id.to_string());
                    }
                }
                None => {}
            }
            s.announce(run.announces);
            Ok(())
        })
    }

    fn holders<'a>(&'a self, configuration: &'a ConfigurationId, identifiers: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, ContractProductId>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(identifiers.iter().filter_map(|i| s.claims.get(&(configuration.clone(), i.clone())).map(|cp| (i.clone(), cp.clone()))).collect())
        })
    }

    fn log_status<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<LogStatus>, StoreError>> {
        Box::pin(async move {
            Self::up(&self.lock())?;
            Ok(self.status_of(contract_product_id, started_at, log_id))
        })
    }

    fn log_entry<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<LogEntry>, StoreError>> {
        Box::pin(async move {
            Self::up(&self.lock())?;
            Ok(self.entry_of(contract_product_id, started_at, log_id))
        })
    }
}

impl MemoryStore {
    fn entry_of(&self, contract_product_id: &str, started_at: &str, log_id: &str) -> Option<LogEntry> {
        let s = self.lock();
        s.logs.iter().find(|e| e.contract_product_id.as_str() == contract_product_id && e.started_at == started_at && e.log_id.as_str() == log_id).cloned()
    }

    fn status_of(&self, contract_product_id: &str, started_at: &str, log_id: &str) -> Option<LogStatus> {
        let s = self.lock();
        s.logs.iter().find(|e| e.contract_product_id.as_str() == contract_product_id && e.started_at == started_at && e.log_id.as_str() == log_id).map(|e| e.status)
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

    fn of_blueprint<'a>(&'a self, blueprint: &'a str) -> BoxFuture<'a, Result<Vec<Configuration>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.configurations.values().filter(|c| c.blueprint == blueprint).cloned().collect())
        })
    }

    fn default_for<'a>(&'a self, blueprint: &'a str, provider: Option<&'a str>) -> BoxFuture<'a, Result<Option<ConfigurationId>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.defaults.get(&(blueprint.to_owned(), provider.map(str::to_owned))).cloned())
        })
    }
}

impl LifecycleEvents for MemoryStore {
    fn begin<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Begin, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            Ok(match s.events.get_mut(id) {
                None => Begin::Missing,
                Some(e) if matches!(e.status, EventStatus::Done | EventStatus::Failed) => Begin::Handled,
                Some(e) => {
                    e.status = EventStatus::Processing;
                    Begin::Started
                }
            })
        })
    }

    fn set_status<'a>(&'a self, id: &'a str, status: EventStatus, log_id: Option<&'a str>, error: Option<&'a str>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let e = s.events.get_mut(id).filter(|e| e.status != EventStatus::Done).ok_or_else(|| StoreError::Conflict(format!("event {id} is done already")))?;
            e.status = status;
            if let Some(l) = log_id.and_then(|l| LogId::parse(l).ok()) {
                e.log_ids.push(l);
            }
            if let Some(error) = error {
                e.error = Some(error.to_owned());
            }
            Ok(())
        })
    }

    fn stuck_received<'a>(&'a self, cutoff: &'a str, limit: i32) -> BoxFuture<'a, Result<Vec<Stuck>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            let mut stuck: Vec<(&String, &MemoryEvent)> = s.events.iter().filter(|(_, e)| e.status == EventStatus::Received && e.received_at.as_str() < cutoff && e.body.is_some()).collect();
            stuck.sort_by(|a, b| a.1.received_at.cmp(&b.1.received_at));
            Ok(stuck
                .into_iter()
                .take(limit.max(0) as usize)
                .map(|(id, e)| Stuck { id: id.clone(), contract_product_id: e.contract_product_id.clone(), body: e.body.clone().unwrap_or_default(), dedup_id: id.clone() })
                .collect())
        })
    }

    fn mark_queued<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            if let Some(e) = s.events.get_mut(id).filter(|e| e.status == EventStatus::Received) {
                e.status = EventStatus::Queued;
            }
            Ok(())
        })
    }

    fn defer<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            *s.deferrals.entry(message_id.to_owned()).or_default() += 1;
            Ok(())
        })
    }

    fn deferrals<'a>(&'a self, message_id: &'a str) -> BoxFuture<'a, Result<u32, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.deferrals.get(message_id).copied().unwrap_or(0))
        })
    }
}

impl MemoryStore {
    /// A bulk action's items, in contract product id order.
    pub fn bulk_items(&self, job: &BulkJobId) -> Vec<BulkItem> {
        self.lock().items.get(job).map(|i| i.values().cloned().collect()).unwrap_or_default()
    }
}

impl BulkJobs for MemoryStore {
    fn create_job<'a>(&'a self, job: &'a BulkJob) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            if s.jobs.contains_key(&job.id) {
                return Err(StoreError::Conflict(format!("bulk action {} exists", job.id)));
            }
            s.jobs.insert(job.id.clone(), job.clone());
            Ok(())
        })
    }

    fn job<'a>(&'a self, id: &'a BulkJobId) -> BoxFuture<'a, Result<Option<BulkJob>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.jobs.get(id).cloned())
        })
    }

    fn jobs<'a>(&'a self, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<BulkJob>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            let mut jobs: Vec<BulkJob> = s.jobs.values().cloned().collect();
            jobs.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
            let after = start.and_then(|k| k.get("id").cloned());
            let jobs: Vec<BulkJob> = jobs.into_iter().skip_while(|j| after.as_ref().is_some_and(|a| j.id.as_str() != a)).skip(usize::from(after.is_some())).collect();
            let more = jobs.len() > limit as usize;
            let page: Vec<BulkJob> = jobs.into_iter().take(limit as usize).collect();
            let next = more.then(|| page.last().map(|j| PageKey::from([("id".to_owned(), j.id.to_string()), ("gsi2pk".to_owned(), "BULK".to_owned())]))).flatten();
            Ok((page, next))
        })
    }

    fn add_items<'a>(&'a self, job: &'a BulkJobId, items: &'a [ContractProductId]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let now = crate::domain::time::now_rfc3339();
            let stored = s.items.entry(job.clone()).or_default();
            for cp in items {
                let item = BulkItem { contract_product_id: cp.clone(), status: ItemStatus::Queued, log_id: None, error: None, attempts: 0, updated_at: now.clone() };
                stored.insert(cp.to_string(), item);
            }
            Ok(())
        })
    }

    fn advance<'a>(&'a self, job: &'a BulkJob, step: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            match s.jobs.get_mut(&job.id) {
                Some(stored) if stored.step == step && stored.status != JobStatus::Cancelled => {
                    *stored = BulkJob { step: step + 1, updated_at: crate::domain::time::now_rfc3339(), ..job.clone() };
                    Ok(())
                }
                _ => Err(StoreError::Conflict(format!("bulk action {} moved on meanwhile, or was cancelled", job.id))),
            }
        })
    }

    fn cancel<'a>(&'a self, id: &'a BulkJobId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            match s.jobs.get_mut(id) {
                Some(job) if job.status != JobStatus::Cancelled => {
                    job.status = JobStatus::Cancelled;
                    Ok(())
                }
                _ => Err(StoreError::Conflict(format!("bulk action {id} is cancelled already"))),
            }
        })
    }

    fn items<'a>(&'a self, job: &'a BulkJobId, after: Option<&'a str>, limit: i32) -> BoxFuture<'a, Result<ItemsPage, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            let Some(items) = s.items.get(job) else { return Ok((Vec::new(), None)) };
            let mut rest = items.range::<str, _>((after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded), std::ops::Bound::Unbounded));
            let page: Vec<BulkItem> = rest.by_ref().take(limit as usize).map(|(_, i)| i.clone()).collect();
            let next = rest.next().and(page.last().map(|i| i.contract_product_id.to_string()));
            Ok((page, next))
        })
    }

    fn start_item<'a>(&'a self, job: &'a BulkJobId, item: &'a ContractProductId) -> BoxFuture<'a, Result<ItemStart, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let cancelled = s.jobs.get(job).is_none_or(|j| j.status == JobStatus::Cancelled);
            let Some(stored) = s.items.get_mut(job).and_then(|i| i.get_mut(item.as_str())) else { return Ok(ItemStart::Missing) };
            Ok(match stored.status {
                ItemStatus::Queued if cancelled => ItemStart::Cancelled,
                ItemStatus::Queued => {
                    stored.status = ItemStatus::Running;
                    stored.attempts += 1;
                    ItemStart::Started
                }
                other => ItemStart::Not(other),
            })
        })
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
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            match s.items.get_mut(job).and_then(|i| i.get_mut(item.as_str())) {
                Some(stored) if stored.status == from => {
                    stored.status = to;
                    if let Some(l) = log_id {
                        stored.log_id = Some(l.to_owned());
                    }
                    if let Some(e) = error {
                        stored.error = Some(e.to_owned());
                    }
                    Ok(())
                }
                _ => Err(StoreError::Conflict(format!("item {item} of bulk action {job} is not {}", from.as_str()))),
            }
        })
    }

    fn search<'a>(&'a self, filter: &'a Filter, limit: i32, start: Option<PageKey>) -> BoxFuture<'a, Result<Page<ContractProduct>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
            let mut found: Vec<&ContractProduct> = s
                .products
                .values()
                .filter(|cp| {
                    same(&filter.client_id, &cp.client_id)
                        && same(&filter.configuration_id, cp.provision_configuration_id.as_str())
                        && same(&filter.status, cp.status.as_str())
                        && same(&filter.blueprint, &cp.blueprint)
                })
                .collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            let after = start.and_then(|k| k.get("id").cloned());
            let rest: Vec<&ContractProduct> = found.into_iter().filter(|cp| after.as_ref().is_none_or(|a| cp.id.as_str() > a.as_str())).collect();
            let page: Vec<ContractProduct> = rest.iter().take(limit as usize).map(|cp| (*cp).clone()).collect();
            let next = (rest.len() > page.len()).then(|| page.last().map(|cp| PageKey::from([("id".to_owned(), cp.id.to_string())]))).flatten();
            Ok((page, next))
        })
    }
}

impl MemoryStore {
    /// A configuration's breaker as stored.
    pub fn breaker(&self, id: &ConfigurationId) -> Breaker {
        self.lock().configurations.get(id).map(|c| c.breaker.clone()).unwrap_or_default()
    }

    /// Leases held on a configuration now.
    pub fn leases(&self, id: &ConfigurationId) -> usize {
        self.lock().limits.get(id).map_or(0, |(_, l)| l.len())
    }
}

impl ProviderGate for MemoryStore {
    fn acquire<'a>(&'a self, configuration: &'a ConfigurationId, limits: &'a Limits, wait_ms: i64) -> BoxFuture<'a, Result<Result<Permit, Busy>, StoreError>> {
        Box::pin(async move {
            let deadline = crate::domain::time::now_millis() + wait_ms;
            let token = crate::domain::ids::random_hex();
            loop {
                let now = crate::domain::time::now_millis();
                {
                    let mut s = self.lock();
                    Self::up(&s)?;
                    let (tat, leases) = s.limits.entry(configuration.clone()).or_default();
                    leases.retain(|_, at| *at >= now);
                    let room = limits.max_concurrency.is_none_or(|max| leases.len() < max as usize);
                    // Only a rate spaces start times.
                    let start_us = if limits.spacing_us().is_some() { (*tat).max(now * 1000) } else { now * 1000 };
                    if room && start_us / 1000 <= deadline {
                        let lease = limits.max_concurrency.map(|_| {
                            leases.insert(token.clone(), now + super::dynamodb::gate::LEASE_MS);
                            token.clone()
                        });
                        if let Some(spacing) = limits.spacing_us() {
                            *tat = start_us + spacing;
                        }
                        return Ok(Ok(Permit { lease, start_at_ms: (start_us + 999) / 1000 }));
                    }
                    if now >= deadline || (room && start_us / 1000 > deadline) {
                        return Ok(Err(Busy { retry_after_ms: 1_000.max(start_us / 1000 - now) }));
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    }

    fn release<'a>(&'a self, configuration: &'a ConfigurationId, permit: &'a Permit) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let (Some(token), Some((_, leases))) = (&permit.lease, self.lock().limits.get_mut(configuration)) {
                leases.remove(token);
            }
        })
    }

    fn failed<'a>(&'a self, configuration: &'a ConfigurationId, threshold: u32, cause: &'a str) -> BoxFuture<'a, Result<Option<Breaker>, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let now = crate::domain::time::now_millis();
            let Some(c) = s.configurations.get_mut(configuration) else { return Ok(None) };
            let b = &mut c.breaker;
            if threshold == 0 || b.open {
                return Ok(None);
            }
            if b.window_ms > now - BREAKER_WINDOW_MS {
                b.failures += 1;
            } else {
                *b = Breaker { failures: 1, window_ms: now, ..Breaker::default() };
            }
            if b.failures < threshold {
                return Ok(None);
            }
            b.open = true;
            b.opens = 1;
            b.retry_at_ms = now + Breaker::cooldown_ms(1);
            b.probe_until_ms = 0;
            b.cause = Some(cause.to_owned());
            Ok(Some(b.clone()))
        })
    }

    fn answered<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            if let Some(c) = s.configurations.get_mut(configuration).filter(|c| !c.breaker.open) {
                c.breaker.failures = 0;
            }
            Ok(())
        })
    }

    fn claim_probe<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let now = crate::domain::time::now_millis();
            let Some(c) = s.configurations.get_mut(configuration) else { return Ok(false) };
            let b = &mut c.breaker;
            if b.open && b.retry_at_ms <= now && b.probe_until_ms < now {
                b.probe_until_ms = now + super::dynamodb::gate::LEASE_MS;
                return Ok(true);
            }
            Ok(false)
        })
    }

    fn close<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            if let Some(c) = s.configurations.get_mut(configuration) {
                c.breaker = Breaker::default();
            }
            Ok(())
        })
    }

    fn reopen<'a>(&'a self, configuration: &'a ConfigurationId, opens: u32, cause: &'a str) -> BoxFuture<'a, Result<Breaker, StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let now = crate::domain::time::now_millis();
            let Some(c) = s.configurations.get_mut(configuration) else { return Ok(Breaker::default()) };
            c.breaker = Breaker { open: true, retry_at_ms: now + Breaker::cooldown_ms(opens), opens, probe_until_ms: 0, cause: Some(cause.to_owned()), ..c.breaker.clone() };
            Ok(c.breaker.clone())
        })
    }
}

impl crate::ports::DriftReports for MemoryStore {
    fn start<'a>(&'a self, report: &'a crate::domain::drift::DriftReport) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            s.reports.insert((report.configuration_id.clone(), report.sweep_id.clone()), report.clone());
            Ok(())
        })
    }

    fn report<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str) -> BoxFuture<'a, Result<Option<crate::domain::drift::DriftReport>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.reports.get(&(configuration.clone(), sweep_id.to_owned())).cloned())
        })
    }

    fn latest<'a>(&'a self, configuration: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<crate::domain::drift::DriftReport>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.reports.iter().filter(|((c, _), _)| c == configuration).map(|(_, r)| r.clone()).next_back())
        })
    }

    fn advance<'a>(&'a self, configuration: &'a ConfigurationId, sweep_id: &'a str, step: u64, findings: &'a crate::ports::StepFindings, listed: usize) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut s = self.lock();
            Self::up(&s)?;
            let Some(r) = s.reports.get_mut(&(configuration.clone(), sweep_id.to_owned())).filter(|r| r.step == step) else {
                return Err(StoreError::Conflict(format!("drift sweep {sweep_id} moved on meanwhile")));
            };
            r.step += 1;
            r.cursor = findings.cursor.clone();
            r.checked += findings.checked;
            r.not_checked += findings.not_checked;
            r.usage_refreshed += findings.usage_refreshed;
            r.drifted_count += findings.drifted.len() as u64;
            r.drifted.extend(findings.drifted.iter().take(crate::domain::drift::LISTED.saturating_sub(listed)).cloned());
            if findings.finished {
                r.finished_at = Some(crate::domain::time::now_rfc3339());
            }
            Ok(())
        })
    }
}

impl ProductTemplates for MemoryStore {
    fn product<'a>(&'a self, id: &'a ProductId) -> BoxFuture<'a, Result<Option<Product>, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            Ok(s.templates.get(id).cloned())
        })
    }
}

impl DemoState for MemoryStore {
    fn load<'a>(&'a self, partition: &'a str, key: &'a str) -> BoxFuture<'a, Result<Option<DemoObject>, StoreError>> {
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

    fn list<'a>(&'a self, partition: &'a str, after: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<crate::ports::DemoPage, StoreError>> {
        Box::pin(async move {
            let s = self.lock();
            Self::up(&s)?;
            let mut found: Vec<(String, Map<String, Value>)> =
                s.demo.iter().filter(|((p, k), _)| p == partition && after.is_none_or(|a| k.as_str() > a)).map(|((_, k), (o, _))| (k.clone(), o.clone())).collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            let more = found.len() > limit;
            found.truncate(limit);
            let next = if more { found.last().map(|(k, _)| k.clone()) } else { None };
            Ok((found, next))
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

/// A memory's outbox: the outgoing events its runs wrote, in order.
#[derive(Clone, Default)]
pub struct MemoryOutbox(MemoryStore);

impl MemoryOutbox {
    pub fn of(store: &MemoryStore) -> Self {
        MemoryOutbox(store.clone())
    }

    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.0.lock().outbox.clone()
    }
}

impl State {
    /// Writes an outbox record unless one of that event id exists (as a put of the same key in
    /// DynamoDB is a change, not a new record, and the stream's filter passes new ones only).
    fn announce(&mut self, event: Option<&OutgoingEvent>) {
        if let Some(e) = event.filter(|e| !self.outbox.iter().any(|o| o.id == e.id)) {
            self.outbox.push(e.clone());
        }
    }
}

/// The events queue as the dispatcher publishes to it: events in order; `refuse` makes sends
/// fail as a queue refusing them does.
#[derive(Clone, Default)]
pub struct MemoryPublisher {
    events: Arc<Mutex<Vec<OutgoingEvent>>>,
    pub refuse: Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryPublisher {
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Publish for MemoryPublisher {
    fn publish<'a>(&'a self, event: &'a OutgoingEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("the events queue refused the send".into());
            }
            self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
            Ok(())
        })
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

/// One message a [`MemoryMailbox`] sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub to: QueueName,
    pub body: String,
    /// (group, deduplication id) of a FIFO send.
    pub fifo: Option<(String, String)>,
    pub delay_seconds: u32,
}

/// Sends and holds, kept in order; `refuse` makes sends fail.
#[derive(Clone, Default)]
pub struct MemoryMailbox {
    sent: Arc<Mutex<Vec<Sent>>>,
    holds: Arc<Mutex<Vec<(String, u64)>>>,
    refuse: Arc<Mutex<bool>>,
}

impl MemoryMailbox {
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// (receipt handle, seconds) of every hold.
    pub fn holds(&self) -> Vec<(String, u64)> {
        self.holds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_refusing(&self, refuse: bool) {
        *self.refuse.lock().unwrap_or_else(|p| p.into_inner()) = refuse;
    }
}

impl Mailbox for MemoryMailbox {
    fn send<'a>(&'a self, to: QueueName, body: &'a str, fifo: Option<(&'a str, &'a str)>, delay_seconds: u32) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if *self.refuse.lock().unwrap_or_else(|p| p.into_inner()) {
                return Err("the queue refused the message".into());
            }
            let fifo = fifo.map(|(g, d)| (g.to_owned(), d.to_owned()));
            self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(Sent { to, body: body.to_owned(), fifo, delay_seconds });
            Ok(())
        })
    }

    fn hold<'a>(&'a self, _source: &'a str, receipt: &'a str, seconds: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.holds.lock().unwrap_or_else(|p| p.into_inner()).push((receipt.to_owned(), seconds)) })
    }
}

/// Outgoing event handlers, their delivered markers and executions.
#[derive(Clone, Default)]
pub struct MemoryHandlers {
    handlers: Arc<Mutex<Vec<EventHandler>>>,
    delivered: Arc<Mutex<Vec<(String, String)>>>,
    executions: Arc<Mutex<Vec<Execution>>>,
}

impl MemoryHandlers {
    pub fn put(&self, h: EventHandler) {
        self.handlers.lock().unwrap_or_else(|p| p.into_inner()).push(h);
    }

    pub fn executions(&self) -> Vec<Execution> {
        self.executions.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl HandlerRecords for MemoryHandlers {
    fn for_event<'a>(&'a self, event: &'a str) -> BoxFuture<'a, Result<Vec<EventHandler>, StoreError>> {
        Box::pin(async move {
            let mut of: Vec<EventHandler> = self.handlers.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|h| h.event == event).cloned().collect();
            of.sort_by_key(|h| (h.priority, h.id.clone()));
            Ok(of)
        })
    }

    fn delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.delivered.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|(e, h)| e == event_id && h == handler_id)) })
    }

    fn mark_delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.delivered.lock().unwrap_or_else(|p| p.into_inner()).push((event_id.to_owned(), handler_id.to_owned()));
            Ok(())
        })
    }

    fn record_execution<'a>(&'a self, execution: &'a Execution) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.executions.lock().unwrap_or_else(|p| p.into_inner()).push(execution.clone());
            Ok(())
        })
    }
}

/// Functions that answer as told, recording every call.
#[derive(Clone, Default)]
pub struct MemoryFunctions {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    /// The function error every call answers with, if any.
    pub fails_with: Option<String>,
}

impl MemoryFunctions {
    /// (function, payload) of every call.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl InvokeFunction for MemoryFunctions {
    fn invoke<'a>(&'a self, function: &'a str, payload: &'a str) -> BoxFuture<'a, Result<Invoked, String>> {
        Box::pin(async move {
            self.calls.lock().unwrap_or_else(|p| p.into_inner()).push((function.to_owned(), payload.to_owned()));
            Ok(Invoked { status_code: Some(200), excerpt: "ok".into(), function_error: self.fails_with.clone() })
        })
    }
}
