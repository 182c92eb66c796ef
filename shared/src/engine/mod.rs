//! The engine: runs one action on one contract product.
//!
//! 1. load the contract product, then its configuration (two reads; the worker and the action
//!    function remember configurations for a short time, `adapters::cache`, so mostly one);
//! 2. check the caller's rights, the params and the product's status. The service an action acts
//!    on comes from the product alone: a caller naming an identifier field is refused (but for
//!    an admin's create, register or transfer), the params are filled from the opened provision
//!    fields, then the caller's, then the identifier fields from the service identifier — bad
//!    input is refused here and changes nothing;
//! 3. call the provider, with a deadline;
//! 4. write the product's new status, provision fields and service identifier (under a version
//!    condition, claiming a new service identifier) and the log entry in one transaction. A
//!    concurrent run that changed the product first has this run's change applied onto it.
//!
//! Every run that reaches the provider leaves exactly one log entry, with params, data and debug
//! masked by the action's schemas and every secret value scrubbed, from its message too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::catalogue::validate::{to_details, validate};
use crate::catalogue::{Action, Blueprint, catalogue};
use crate::domain::FailureKind;
use crate::domain::actor::{Actor, Caller};
use crate::domain::configuration::Configuration;
use crate::domain::ids::{ContractProductId, LogId};
use crate::domain::in_progress;
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::outgoing::{OutgoingEvent, event_for};
use crate::domain::product::ContractProduct;
use crate::domain::time::now_rfc3339;
use crate::domain::{Audience, ProductStatus};
use crate::ports::{Completion, Configurations, ContractProducts, OperationMessage, RunRecord, Settlement, StoreError, Stores, Work, WorkMessage, WorkQueue};
use crate::providers::{Implementations, ProviderCall, ProviderFailure, ProviderOutput, wire};
use crate::secrets::{self, SecretBox};

pub mod bulk;
pub mod contracts;
pub mod drift;
mod error;
mod gate;
pub mod imports;
pub mod lifecycle;
mod settle;

pub use error::EngineError;
use settle::{Run, Settled, settle};

/// How long a provider may take before the run is a timeout.
pub const PROVIDER_DEADLINE: Duration = Duration::from_secs(25);

/// A long-running action in progress: its pending log entry, which the finished run replaces.
#[derive(Debug, Clone)]
pub struct Operation {
    pub log_id: LogId,
    pub started_at: String,
}

/// Everything checked before a provider is called.
struct Prepared {
    b: &'static Blueprint,
    /// The action the provider is asked for.
    a: &'static Action,
    /// The action the run is recorded as (the same, but for a re-check of a long-running one).
    logged: &'static Action,
    cp: ContractProduct,
    /// The contract product's provision fields, secrets opened (for the provider call only).
    fields: Map<String, Value>,
    /// The caller's own params (what a queued long-running action carries to the worker, which
    /// fills the rest from the contract product again).
    given: Map<String, Value>,
    params: Value,
    configuration: Configuration,
}

/// A finished run: the HTTP status and body to answer with.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub body: Value,
    pub log_id: LogId,
    /// A long-running action the provider is still working on.
    pub in_progress: bool,
}

/// A run that failed; `log_id` where it reached the provider and was logged, `kind` where the
/// provider failed (whether a retry may help).
#[derive(Debug)]
pub struct Failure {
    pub error: EngineError,
    pub log_id: Option<LogId>,
    pub kind: Option<FailureKind>,
}

impl Failure {
    /// Whether a later try may succeed: as the provider said, where it failed; else as the
    /// error says.
    pub fn retryable(&self) -> bool {
        match self.kind {
            Some(kind) => kind != FailureKind::Permanent,
            None => self.error.retryable(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        Failure { error, log_id: None, kind: None }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure { error: e.into(), log_id: None, kind: None }
    }
}

#[derive(Clone)]
pub struct Engine {
    products: Arc<dyn ContractProducts>,
    templates: Arc<dyn crate::ports::ProductTemplates>,
    configurations: Arc<dyn Configurations>,
    implementations: Implementations,
    secrets: Arc<SecretBox>,
    /// Where each run and breaker move is measured.
    metrics: Arc<dyn crate::ports::Metrics>,
    bulk: Arc<dyn crate::ports::BulkJobs>,
    gate: Arc<dyn crate::ports::ProviderGate>,
    drift: Arc<dyn crate::ports::DriftReports>,
    /// Configurations this instance counted a transient failure of since their last answer.
    counted: Arc<std::sync::Mutex<std::collections::HashSet<crate::domain::ids::ConfigurationId>>>,
}

/// The identifier fields of a blueprint's params, from the service identifier.
fn identifier_params(b: &Blueprint, service_identifier: &str) -> Map<String, Value> {
    let mut out = Map::new();
    if b.identifier_fields == ["sld", "tld"] {
        if let Some((sld, tld)) = service_identifier.split_once('.') {
            out.insert("sld".into(), json!(sld));
            out.insert("tld".into(), json!(tld));
        }
    } else {
        for f in b.identifier_fields {
            out.insert((*f).to_owned(), json!(service_identifier));
        }
    }
    out
}

/// The params of a run. An action that establishes the service (a create, register, transfer)
/// takes the provision fields, then the caller's own; every other action takes its identifier and
/// ownership fields from the contract product alone (the service identifier; the provision fields
/// for `service_identifier` / `customer_identifier`), never from a caller, who is refused before
/// this for naming one.
fn params_for(b: &Blueprint, a: &Action, cp: &ContractProduct, fields: &Map<String, Value>, given: &Map<String, Value>) -> Value {
    let known = a.params.get("properties").and_then(Value::as_object);
    let takes = |k: &str| known.is_some_and(|p| p.contains_key(k));
    let establishes = a.establishes_identifier();
    let identifier = |k: &str| b.identifier_fields.contains(&k);
    let mut params: Map<String, Value> = fields.iter().filter(|(k, _)| takes(k) && (establishes || !identifier(k))).map(|(k, v)| (k.clone(), v.clone())).collect();
    if establishes {
        params.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    } else {
        params.extend(given.iter().filter(|(k, _)| !b.engine_filled().any(|f| f == k.as_str())).map(|(k, v)| (k.clone(), v.clone())));
        if let Some(si) = &cp.service_identifier {
            params.extend(identifier_params(b, si).into_iter().filter(|(k, _)| takes(k)));
        }
    }
    // A create whose identifier the caller may choose (a hosting username) gets one made from the
    // product when none is given: the same on every try, so a retried create cannot make a second
    // account under another name.
    if establishes
        && let [field] = b.identifier_fields
        && takes(field)
        && params.get(*field).is_none_or(Value::is_null)
    {
        let base: String = params
            .get("domain")
            .or_else(|| params.get("email"))
            .and_then(Value::as_str)
            .unwrap_or("user")
            .chars()
            .take_while(|c| *c != '@')
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_lowercase();
        let base = if base.starts_with(|c: char| c.is_ascii_alphabetic()) { base } else { format!("u{base}") };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cp.id.as_str().as_bytes());
        let suffix: String = digest.as_ref().iter().take(2).map(|b| format!("{b:02x}")).collect();
        params.insert((*field).to_owned(), json!(format!("{base}{}", &suffix[..3])));
    }
    Value::Object(params)
}

/// The engine-filled params a request names where it may not: every one for a client, and for
/// anyone on an action that does not establish the service. Answered 400 naming each field.
/// A client may not give a value the contract product holds either (its provision fields: the
/// account's domain, customer, package ...), secrets it sets anew (a new password) aside.
fn named_identifiers(b: &Blueprint, a: &Action, actor: &Actor, given: &Map<String, Value>, stored: &Map<String, Value>) -> Option<EngineError> {
    let client = matches!(actor, Actor::Caller(Caller::Client { .. }));
    if a.establishes_identifier() && !client {
        return None;
    }
    let mut fields: Map<String, Value> =
        b.engine_filled().filter(|f| given.contains_key(*f)).map(|f| (f.to_owned(), json!("is filled by the engine from the contract product; a request may not name it"))).collect();
    if client {
        let secret = catalogue().secret_names();
        for k in given.keys().filter(|k| stored.contains_key(k.as_str()) && !secret.contains(&k.as_str())) {
            fields.entry(k.clone()).or_insert_with(|| json!("is the contract product's own; a client may not change it"));
        }
    }
    if fields.is_empty() {
        return None;
    }
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    Some(EngineError::invalid(format!("{} of {}/{} come from the contract product, not the request", names.join(", "), b.id, a.id), json!({ "fields": fields })))
}

/// The identifier a create's params name, where the caller chooses it (username, domain ...).
fn create_identifier(b: &Blueprint, params: &Value) -> Option<String> {
    match b.identifier_fields {
        ["sld", "tld"] => Some(format!("{}.{}", params["sld"].as_str()?, params["tld"].as_str()?).to_lowercase()),
        [field] => params[*field].as_str().map(String::from),
        _ => None,
    }
}

/// The error of a provider failure.
fn failure_error(kind: FailureKind, message: String) -> EngineError {
    EngineError::Provider { kind, message }
}

/// A provider call under the engine's deadline.
async fn with_deadline(call: impl std::future::Future<Output = Result<ProviderOutput, ProviderFailure>>) -> Result<ProviderOutput, ProviderFailure> {
    tokio::time::timeout(PROVIDER_DEADLINE, call).await.unwrap_or_else(|_| Err(ProviderFailure { kind: FailureKind::Timeout, message: "the provider did not answer in time".into(), debug: vec![] }))
}

/// get-info on a service under the engine's deadline: what a reconciliation asks the provider
/// after an answer was lost.
async fn ask_info(
    b: &'static Blueprint,
    info: &'static Action,
    params: &Value,
    cp: &ContractProduct,
    identifier: &str,
    configuration: &Configuration,
    opened: &Opened,
) -> Result<ProviderOutput, ProviderFailure> {
    let call = ProviderCall {
        blueprint: b,
        action: info,
        configuration_id: &configuration.id,
        settings: &opened.settings,
        params,
        service_identifier: Some(identifier),
        following: None,
        contract_product_id: Some(cp.id.as_str()),
    };
    with_deadline(opened.actions.run(call)).await
}

/// A configuration's provider: its spec, its settings with secrets opened, its implementation.
struct Opened {
    spec: &'static crate::providers::ProviderSpec,
    settings: Value,
    actions: crate::providers::blueprints::Implementation,
    connect: Arc<dyn crate::providers::Connect>,
}

/// A message with every secret value masked.
fn scrub_text(message: &str, needles: &[String]) -> String {
    match secrets::scrub(&Value::String(message.to_owned()), needles) {
        Value::String(m) => m,
        _ => message.to_owned(),
    }
}

/// Free-form data (a result's `post_fields` or `metadata`, a provider's raw exchanges) with every
/// field named as a secret masked at any depth: the catalogue's secret names (`password`,
/// `root_password`, `epp_code` ...) and the provider's wire secrets.
fn free_form(value: &Value, spec: &crate::providers::ProviderSpec) -> Value {
    let names: Vec<&str> = catalogue().secret_names().iter().chain(spec.wire_secrets).copied().collect();
    wire::mask_keys(value, &names)
}

/// Whether two states of a contract product differ in what a run may change.
fn state_differs(a: &ContractProduct, b: &ContractProduct) -> bool {
    a.status != b.status
        || a.service_identifier != b.service_identifier
        || a.provision_fields != b.provision_fields
        || a.unconfirmed_create != b.unconfirmed_create
        || a.unconfirmed_action != b.unconfirmed_action
}

/// The entry with every secret value masked wherever it appears in what it recorded.
fn scrubbed(mut entry: LogEntry, needles: &[String]) -> LogEntry {
    entry.params = secrets::scrub(&entry.params, needles);
    entry.data = secrets::scrub(&entry.data, needles);
    entry.debug = secrets::scrub(&entry.debug, needles);
    entry.error = entry.error.map(|e| secrets::scrub(&e, needles));
    if let Value::String(m) = secrets::scrub(&Value::String(entry.message.clone()), needles) {
        entry.message = m;
    }
    entry
}

impl Engine {
    /// An engine over its stores (`adapters::dynamodb::stores` in the functions,
    /// `adapters::memory::MemoryStore::stores` in unit tests), with every provider.
    pub fn new(stores: Stores, secrets: Arc<SecretBox>) -> Self {
        Engine {
            products: stores.products,
            templates: stores.templates,
            configurations: stores.configurations,
            implementations: Implementations::new(stores.demo),
            secrets,
            metrics: Arc::new(crate::ports::NoMetrics),
            bulk: stores.bulk,
            gate: stores.gate,
            drift: stores.drift,
            counted: Default::default(),
        }
    }

    /// Measures each run and each move of a breaker there (the functions: in the embedded
    /// metric format).
    pub fn with_metrics(mut self, metrics: Arc<dyn crate::ports::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The key that seals secrets at rest (shared with what the engine's callers store).
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    fn open(&self, configuration: &Configuration) -> Result<Opened, EngineError> {
        let spec = crate::providers::provider(&configuration.blueprint, &configuration.provider).ok_or_else(|| EngineError::internal(format!("unknown provider {}", configuration.provider)))?;
        let settings = secrets::open(&spec.settings, &configuration.settings, &self.secrets, configuration.id.as_str())
            .map_err(|e| EngineError::internal(format!("settings of {} do not open: {e}", configuration.id)))?;
        let (actions, connect) =
            self.implementations.get(&configuration.blueprint, &configuration.provider).ok_or_else(|| EngineError::internal(format!("provider {} has no implementation", configuration.provider)))?;
        Ok(Opened { spec, settings, actions, connect })
    }

    /// Checks a configuration's credentials at its third party. Logged like an action, under the
    /// configuration (`contract_product_id` = `configuration:<id>`), so its logs list it.
    pub async fn test_connection(&self, actor: &Actor, configuration_id: &str) -> Result<Outcome, Failure> {
        let not_found = || EngineError::NotFound(format!("no provision configuration {configuration_id:?}"));
        let id = crate::domain::ids::ConfigurationId::parse(configuration_id).map_err(|_| not_found())?;
        // A connection test is how an admin checks fixed credentials: always read fresh.
        self.configurations.forget(&id);
        let configuration = self.configurations.configuration(&id).await?.ok_or_else(not_found)?;
        let opened = self.open(&configuration)?;
        // A connection test is the breaker's probe by hand: it goes through an open breaker,
        // within the limits.
        let unbroken = Configuration { breaker: Default::default(), ..configuration.clone() };
        let permit = self.admit(&unbroken, &opened, true).await?;
        let log_id = LogId::generate();
        let started_at = now_rfc3339();
        let clock = Instant::now();
        let result = with_deadline(opened.connect.test_connection(&configuration.blueprint, &opened.settings)).await;
        self.leave_after(&configuration, &permit, &opened, result.as_ref().err()).await;
        if result.is_ok() {
            self.connection_ok(&configuration).await;
        }
        let pseudo = ContractProductId::for_configuration(&id);
        let mut entry = LogEntry {
            log_id: log_id.clone(),
            contract_product_id: pseudo,
            configuration_id: id.clone(),
            blueprint: configuration.blueprint.clone(),
            provider: configuration.provider.clone(),
            action: "test-connection".into(),
            actor: actor.describe(),
            started_at,
            duration_ms: clock.elapsed().as_millis() as u64,
            status: LogStatus::Success,
            message: String::new(),
            params: json!({}),
            data: Value::Null,
            error: None,
            debug: Value::Null,
        };
        let needles = secrets::secret_values(&opened.spec.settings, &opened.settings);
        let outcome = match result {
            Ok(out) => {
                entry.message = scrub_text(&out.message, &needles);
                entry.data = secrets::scrub(&free_form(&out.data, opened.spec), &needles);
                entry.debug = free_form(&Value::Array(out.debug), opened.spec);
                Ok(json!({ "status": "ok", "message": entry.message, "data": entry.data, "log_id": log_id }))
            }
            Err(f) => {
                let message = scrub_text(&f.message, &needles);
                entry.status = LogStatus::Error;
                entry.message = message.clone();
                entry.debug = free_form(&Value::Array(f.debug), opened.spec);
                let error = failure_error(f.kind, message.clone());
                entry.error = Some(json!({ "code": error.code(), "message": message, "kind": f.kind }));
                Err(error)
            }
        };
        // Free-form debug: every secret value of the settings is scrubbed wherever it appears.
        let entry = scrubbed(entry, &needles);
        self.products.record_run(RunRecord::entry(&entry)).await.map_err(Failure::from)?;
        match outcome {
            Ok(body) => Ok(Outcome { status: 200, body, log_id, in_progress: false }),
            Err(error) => Err(Failure { error, log_id: Some(log_id), kind: None }),
        }
    }

    /// Runs `blueprint/action` on a contract product with a request body `{"params": {...}}`.
    pub async fn run(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value) -> Result<Outcome, Failure> {
        self.run_with(actor, product_id, blueprint, action, body, None).await
    }

    /// [`Engine::run`], completing a lifecycle event in the same transaction as the run's
    /// product write and log entry.
    pub async fn run_with(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value, completion: Option<&Completion>) -> Result<Outcome, Failure> {
        let prepared = self.prepare(actor, product_id, blueprint, action, body).await?;
        self.execute(actor, prepared, completion, None).await
    }

    /// [`Engine::run_with`] on a contract product the caller has just read (the lifecycle worker,
    /// which reads it to choose the action): one read fewer. A change since is caught by the
    /// version condition of the run's transaction.
    pub async fn run_on(&self, actor: &Actor, cp: ContractProduct, blueprint: &str, action: &str, body: &Value, completion: Option<&Completion>) -> Result<Outcome, Failure> {
        let prepared = self.prepare_on(actor, cp, blueprint, action, body, true).await?;
        self.execute(actor, prepared, completion, None).await
    }

    /// Finishes a long-running action in the worker: the same checks, then the run, whose entry
    /// replaces the pending one. A transient failure keeps it pending (the worker retries).
    pub async fn finish(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value, operation: &Operation) -> Result<Outcome, Failure> {
        let prepared = self.prepare(actor, product_id, blueprint, action, body).await?;
        self.execute(actor, prepared, None, Some(operation)).await
    }

    /// Re-checks a long-running action the provider reported in progress: asks for the service's
    /// state (get-info) and records the answer as that action's run, replacing its entry, which
    /// stays pending while the provider is still at it.
    pub async fn check(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, operation: &Operation) -> Result<Outcome, Failure> {
        let (_, logged) = catalogue().action(blueprint, action).ok_or_else(|| EngineError::NotFound(format!("no action {blueprint}/{action}")))?;
        let mut p = self.prepare_with(actor, product_id, blueprint, "get-info", &Value::Null, false).await?;
        p.logged = logged;
        self.execute(actor, p, None, Some(operation)).await
    }

    /// Starts a long-running action: the checks of a run, a pending log entry, and the work
    /// queued for the worker (on the product's FIFO group, after any earlier event). Secret
    /// params travel sealed.
    pub async fn start(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value, queue: &dyn WorkQueue) -> Result<Outcome, Failure> {
        let p = self.prepare(actor, product_id, blueprint, action, body).await?;
        let operation = Operation { log_id: LogId::generate(), started_at: now_rfc3339() };
        let entry = LogEntry {
            log_id: operation.log_id.clone(),
            contract_product_id: p.cp.id.clone(),
            configuration_id: p.configuration.id.clone(),
            blueprint: p.b.id.to_owned(),
            provider: p.configuration.provider.clone(),
            action: p.a.id.to_owned(),
            actor: actor.describe(),
            started_at: operation.started_at.clone(),
            duration_ms: 0,
            status: LogStatus::Pending,
            message: "started; it finishes in the background".into(),
            params: secrets::mask(&p.a.params, &p.params),
            data: Value::Null,
            error: None,
            debug: Value::Null,
        };
        self.products.record_run(RunRecord::entry(&entry)).await?;
        let message = WorkMessage::Operation(OperationMessage {
            work: Work {
                log_id: operation.log_id.clone(),
                started_at: operation.started_at.clone(),
                contract_product_id: p.cp.id.clone(),
                blueprint: p.b.id.to_owned(),
                action: p.a.id.to_owned(),
                actor: actor.describe(),
            },
            // The caller's own params only: the worker fills the rest from the contract product.
            params: secrets::seal(&p.a.params, &Value::Object(p.given.clone()), &self.secrets, operation.log_id.as_str()),
        });
        queue.send(&message).await.map_err(|e| Failure::from(EngineError::internal(format!("queueing {}: {e}", operation.log_id))))?;
        let body = json!({ "status": "pending", "message": format!("{blueprint}/{action} started; follow it at /logs/{}", operation.log_id), "log_id": operation.log_id });
        Ok(Outcome { status: 202, body, log_id: operation.log_id, in_progress: true })
    }

    /// A re-check's exchanges after those of the action it follows, kept from the entry it
    /// replaces: the log shows what the action sent (the create, the clone) and how the service
    /// was last seen. Earlier re-checks' exchanges (marked `followed`) are not kept. An entry
    /// that cannot be read leaves the re-check's own (the run is never refused for it).
    async fn after_the_actions_exchanges(&self, cp: &ContractProduct, o: &Operation, check: Value) -> Value {
        let before = match self.products.log_entry(cp.id.as_str(), &o.started_at, o.log_id.as_str()).await {
            Ok(found) => found.map(|e| e.debug).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(contract_product_id = %cp.id, log_id = %o.log_id, error = %e, "the entry a re-check replaces could not be read: its exchanges are not kept");
                Value::Null
            }
        };
        let mut out: Vec<Value> = before.as_array().into_iter().flatten().filter(|x| x.get("followed").is_none()).cloned().collect();
        if out.is_empty() {
            return check;
        }
        out.extend(check.as_array().into_iter().flatten().map(|x| {
            let mut x = x.clone();
            if let Some(fields) = x.as_object_mut() {
                fields.insert("followed".into(), json!(true));
            }
            x
        }));
        Value::Array(out)
    }

    /// After a create whose answer was lost: asks the provider (get-info) whether the service
    /// exists. Found: the create is done, nothing is made twice. Not found: None, create it.
    /// Unreachable: that failure, to retry later.
    async fn reconcile(
        &self,
        b: &'static Blueprint,
        create: &'static Action,
        (cp, fields): (&ContractProduct, &Map<String, Value>),
        configuration: &Configuration,
        opened: &Opened,
        identifier: &str,
    ) -> Option<Result<ProviderOutput, ProviderFailure>> {
        let info = b.actions.iter().find(|x| x.id == "get-info")?;
        let mut probe = cp.clone();
        probe.service_identifier = Some(identifier.to_owned());
        let params = params_for(b, info, &probe, fields, &Map::new());
        if !validate(&info.params, &params).is_empty() {
            return None;
        }
        match ask_info(b, info, &params, cp, identifier, configuration, opened).await {
            Ok(found) if validate(&create.result, &found.data).is_empty() => Some(Ok(ProviderOutput {
                message: format!("reconciled: {identifier} exists at the provider (the earlier answer was lost); not created again"),
                data: found.data,
                service_identifier: Some(identifier.to_owned()),
                debug: found.debug,
            })),
            Ok(_) => None,
            Err(f) if f.kind == FailureKind::Permanent => None,
            Err(f) => Some(Err(f)),
        }
    }

    /// After a status move whose answer was lost (a timeout): asks the provider (get-info)
    /// whether it happened. Done (the service is gone after a delete, suspended after a suspend,
    /// running again after an unsuspend): that is the answer, nothing is sent twice. Not done, or
    /// no way to tell: None, send it. Unreachable: that failure, to retry later.
    async fn reconcile_move(
        &self,
        b: &'static Blueprint,
        a: &'static Action,
        cp: &ContractProduct,
        fields: &Map<String, Value>,
        configuration: &Configuration,
        opened: &Opened,
    ) -> Option<Result<ProviderOutput, ProviderFailure>> {
        let info = b.actions.iter().find(|x| x.id == "get-info")?;
        let target = a.moves_to?;
        let identifier = cp.service_identifier.as_deref()?;
        let params = params_for(b, info, cp, fields, &Map::new());
        if !validate(&info.params, &params).is_empty() {
            return None;
        }
        // What the move would have answered: the service as get-info shows it, or nothing.
        let done = |message: String, data: Value, debug: Vec<Value>| {
            let data = if validate(&a.result, &data).is_empty() { data } else { json!({}) };
            validate(&a.result, &data).is_empty().then_some(Ok(ProviderOutput { message, data, service_identifier: None, debug }))
        };
        match (target, ask_info(b, info, &params, cp, identifier, configuration, opened).await) {
            (ProductStatus::Terminated, Err(f)) if f.kind == FailureKind::Permanent => {
                done(format!("reconciled: {identifier} is gone at the provider (the earlier answer was lost); not removed again"), json!({}), f.debug)
            }
            (ProductStatus::Suspended, Ok(found)) if found.data["suspended"] == true => {
                done(format!("reconciled: {identifier} is suspended at the provider (the earlier answer was lost); not sent again"), found.data, found.debug)
            }
            (ProductStatus::Active, Ok(found)) if found.data["suspended"] == false => {
                done(format!("reconciled: {identifier} is active at the provider (the earlier answer was lost); not sent again"), found.data, found.debug)
            }
            (_, Err(f)) if f.kind != FailureKind::Permanent => Some(Err(f)),
            _ => None,
        }
    }

    /// A contract product's provision fields with their secrets opened (they are stored sealed).
    fn open_fields(&self, cp: &ContractProduct) -> Result<Map<String, Value>, EngineError> {
        let stored = Value::Object(cp.provision_fields.clone());
        match secrets::open(catalogue().provision_schema(), &stored, &self.secrets, &secrets::provision_context("cp", cp.id.as_str())) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(EngineError::internal(format!("provision fields of {} do not open: {e}", cp.id))),
        }
    }

    /// After a version conflict on a run whose change must stand (the provider carried it out):
    /// the product is read again and this run's change applied onto it (what another run changed
    /// meanwhile stands too), with the log entry and the event's completion, a few times at most.
    /// A status the other run moved elsewhere stands, and this run's move is left as
    /// `unconfirmed_action`, so its next try asks the provider (get-info) before sending it.
    /// None: nothing could be applied (the product is gone, or it kept changing).
    async fn reapply(
        &self,
        cp: &ContractProduct,
        next: &ContractProduct,
        logged: &Action,
        (entry, event_at): (&LogEntry, &(dyn Fn(ProductStatus) -> Option<OutgoingEvent> + Sync)),
        settles: Option<&Settlement>,
    ) -> Result<Option<ContractProduct>, StoreError> {
        for _ in 0..3 {
            let Some(fresh) = self.products.contract_product(&cp.id).await? else { return Ok(None) };
            let mut merged = fresh.clone();
            let mut unconfirmed = next.unconfirmed_action.clone();
            if next.status != cp.status && fresh.status != next.status {
                if fresh.status == cp.status {
                    merged.status = next.status;
                } else if logged.moves_to.is_some() {
                    unconfirmed = Some(logged.id.to_owned());
                }
            }
            if next.service_identifier != cp.service_identifier {
                merged.service_identifier = next.service_identifier.clone();
            }
            for (k, v) in &next.provision_fields {
                if cp.provision_fields.get(k) != Some(v) {
                    merged.provision_fields.insert(k.clone(), v.clone());
                }
            }
            // Markers merge three ways: this run's setting one stands; its clearing one stands only
            // if the other run left that marker as it was (never erasing one the other run set).
            let marker = |ours: &Option<String>, base: &Option<String>, theirs: &Option<String>| match (ours == base, ours) {
                (true, _) => theirs.clone(),
                (false, Some(_)) => ours.clone(),
                (false, None) if theirs == base => None,
                (false, None) => theirs.clone(),
            };
            merged.unconfirmed_create = marker(&next.unconfirmed_create, &cp.unconfirmed_create, &fresh.unconfirmed_create);
            merged.unconfirmed_action = marker(&unconfirmed, &cp.unconfirmed_action, &fresh.unconfirmed_action);
            merged.version = fresh.version + 1;
            merged.updated_at = now_rfc3339();
            let same = !state_differs(&merged, &fresh);
            let write = (!same).then_some((&merged, fresh.version));
            let claim = merged.service_identifier.is_some() && merged.service_identifier != fresh.service_identifier;
            let releases = fresh.status != ProductStatus::Terminated && merged.status == ProductStatus::Terminated;
            // The event tells the status the product is left in.
            let event = event_at(merged.status);
            match self.products.record_run(RunRecord { product: write, claim, entry, settles, releases, announces: event.as_ref() }).await {
                Ok(()) => return Ok(Some(if same { fresh } else { merged })),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The event a finished run makes, if any (API.md "Events out"): by the status it moved the
    /// product to, else by the action. It is written with the run (an outbox record).
    fn event_of(cp: &ContractProduct, logged: &Action, final_status: ProductStatus, failed: bool, log_id: &LogId, message: &str) -> Option<OutgoingEvent> {
        let kind = event_for(logged.id, cp.status, final_status, failed, logged.id == cp.setup_action)?;
        Some(OutgoingEvent {
            id: format!("ev-{}", log_id.as_str().trim_start_matches("log-")),
            kind: kind.to_owned(),
            contract_product_id: cp.id.to_string(),
            client_id: cp.client_id.clone(),
            blueprint: cp.blueprint.clone(),
            action: Some(logged.id.to_owned()),
            log_id: Some(log_id.to_string()),
            status: final_status,
            message: message.to_owned(),
            occurred_at: now_rfc3339(),
        })
    }

    /// Records a lifecycle event's action that was refused before its provider was called (bad
    /// params, a status it cannot run from, a configuration gone): an error entry on the
    /// product naming the cause and, for the setup action of a product still pending, the
    /// product marked failed (one transaction) and `setup_failed` announced. The caller settles
    /// the event failed, linked to the entry answered: nothing fails silently.
    pub async fn record_refusal(&self, actor: &Actor, cp: &ContractProduct, action: &str, error: &EngineError) -> Result<LogId, StoreError> {
        let message = refusal_text(error);
        let mut entry = LogEntry::note(cp, action, actor.describe(), LogStatus::Error, message.clone());
        entry.error = Some(match error {
            EngineError::Invalid { details, .. } => json!({ "code": error.code(), "message": message, "details": details }),
            _ => json!({ "code": error.code(), "message": message }),
        });
        let fails_setup = action == cp.setup_action && cp.status == ProductStatus::Pending;
        let mut next = cp.clone();
        if fails_setup {
            next.status = ProductStatus::Failed;
            next.updated_at = now_rfc3339();
            next.version = cp.version + 1;
        }
        let product = fails_setup.then_some((&next, cp.version));
        let event = catalogue().action(&cp.blueprint, action).filter(|_| fails_setup).and_then(|(_, a)| Self::event_of(cp, a, ProductStatus::Failed, true, &entry.log_id, &message));
        let announces = event.as_ref();
        match self.products.record_run(RunRecord { product, claim: false, entry: &entry, settles: None, releases: false, announces }).await {
            Ok(()) => {}
            // Changed meanwhile: the entry is kept all the same (and its setup_failed event),
            // the product left as it now is.
            Err(StoreError::Conflict(_)) if fails_setup => self.products.record_run(RunRecord { announces, ..RunRecord::entry(&entry) }).await?,
            Err(e) => return Err(e),
        }
        tracing::warn!(contract_product_id = %cp.id, action, log_id = %entry.log_id, "{message}");
        Ok(entry.log_id)
    }

    /// Opens the sealed params of a queued operation.
    pub fn open_operation_params(&self, blueprint: &str, action: &str, sealed: &Value, log_id: &str) -> Result<Value, EngineError> {
        let (_, a) = catalogue().action(blueprint, action).ok_or_else(|| EngineError::NotFound(format!("no action {blueprint}/{action}")))?;
        secrets::open(&a.params, sealed, &self.secrets, log_id).map_err(|e| EngineError::internal(format!("params of {log_id} do not open: {e}")))
    }

    /// Every check a run makes before its provider is called (rights, params, status), on a
    /// contract product the caller has (a draft, say), nothing written.
    pub async fn check_run(&self, actor: &Actor, cp: ContractProduct, blueprint: &str, action: &str, body: &Value) -> Result<(), EngineError> {
        self.prepare_on(actor, cp, blueprint, action, body, true).await.map(|_| ()).map_err(|f| f.error)
    }

    async fn prepare(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value) -> Result<Prepared, Failure> {
        self.prepare_with(actor, product_id, blueprint, action, body, true).await
    }

    async fn prepare_with(&self, actor: &Actor, product_id: &str, blueprint: &str, action: &str, body: &Value, check_status: bool) -> Result<Prepared, Failure> {
        let not_found = || EngineError::NotFound(format!("no contract product {product_id:?}"));
        let id = ContractProductId::parse(product_id).map_err(|_| not_found())?;
        catalogue().action(blueprint, action).ok_or_else(|| EngineError::NotFound(format!("no action {blueprint}/{action}")))?;
        let cp = self.products.contract_product(&id).await?.ok_or_else(not_found)?;
        self.prepare_on(actor, cp, blueprint, action, body, check_status).await
    }

    /// [`Engine::prepare_with`] on a contract product the caller has just read.
    async fn prepare_on(&self, actor: &Actor, cp: ContractProduct, blueprint: &str, action: &str, body: &Value, check_status: bool) -> Result<Prepared, Failure> {
        let id = cp.id.clone();
        let not_found = || EngineError::NotFound(format!("no contract product {:?}", id.as_str()));
        let (b, a) = catalogue().action(blueprint, action).ok_or_else(|| EngineError::NotFound(format!("no action {blueprint}/{action}")))?;
        if let Actor::Caller(Caller::Client { client_id, .. }) = actor {
            if client_id.as_str() != cp.client_id {
                return Err(not_found().into()); // another client's product: nothing leaks
            }
            if a.audience != Audience::Client {
                return Err(EngineError::Forbidden(format!("{blueprint}/{action} is for admins only")).into());
            }
        }
        if cp.blueprint != b.id {
            return Err(EngineError::invalid(
                format!("contract product {id} is of blueprint {}, not {blueprint}", cp.blueprint),
                json!({ "fields": { "blueprint": format!("must be {}", cp.blueprint) } }),
            )
            .into());
        }
        let given = match body {
            Value::Null => Map::new(),
            Value::Object(o) => {
                if let Some(extra) = o.keys().find(|k| *k != "params") {
                    return Err(EngineError::invalid("the request has invalid fields", json!({ "fields": { extra: "is not a known field" } })).into());
                }
                match o.get("params") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(p)) => p.clone(),
                    Some(_) => return Err(EngineError::invalid("the request has invalid fields", json!({ "fields": { "params": "must be object" } })).into()),
                }
            }
            _ => return Err(EngineError::invalid("the request body must be a JSON object", json!({ "fields": { "(body)": "must be object" } })).into()),
        };
        if let Some(refused) = named_identifiers(b, a, actor, &given, &cp.provision_fields) {
            return Err(refused.into());
        }
        if check_status && !a.allowed_from.contains(&cp.status) {
            let allowed: Vec<&str> = a.allowed_from.iter().map(|s| s.as_str()).collect();
            return Err(EngineError::InvalidState(format!("{blueprint}/{action} needs the contract product to be {}; it is {}", allowed.join(" or "), cp.status.as_str())).into());
        }
        let fields = self.open_fields(&cp)?;
        let params = params_for(b, a, &cp, &fields, &given);
        if !a.establishes_identifier() && cp.service_identifier.is_none() && b.identifier_fields.iter().any(|f| a.params["properties"].get(*f).is_some()) {
            return Err(EngineError::InvalidState(format!("contract product {id} has no service identifier yet: run its create action first, or set service_identifier")).into());
        }
        let errors = validate(&a.params, &params);
        if !errors.is_empty() {
            return Err(EngineError::invalid(format!("invalid params for {blueprint}/{action}"), to_details(&errors)).into());
        }
        let configuration = self
            .configurations
            .configuration(&cp.provision_configuration_id)
            .await?
            .ok_or_else(|| EngineError::Conflict(format!("provision configuration {} is gone", cp.provision_configuration_id)))?;
        Ok(Prepared { b, a, logged: a, cp, fields, given, params, configuration })
    }

    /// Writes a settled run: the product (where it changed, under its version, claiming a new
    /// service identifier), its log entry and the event it settles, in one transaction. A
    /// concurrent change is met by applying this run's change onto it; a service another
    /// product holds, or a product that keeps changing, is logged alone and answered 409.
    async fn write_run(
        &self,
        cp: &ContractProduct,
        logged: &Action,
        (mut next, mut entry): (ContractProduct, LogEntry),
        failure_kind: Option<FailureKind>,
        (changed, finished): (bool, bool),
        completion: Option<&Completion>,
    ) -> Result<(ContractProduct, LogEntry), Failure> {
        let log_id = entry.log_id.clone();
        // Its event by the status the product is left in, none while the provider is still at
        // it; written in the run's transaction.
        let message = entry.message.clone();
        let event_at = |status: ProductStatus| if finished { Self::event_of(cp, logged, status, failure_kind.is_some(), &log_id, &message) } else { None };
        let event = event_at(if changed { next.status } else { cp.status });
        let announces = event.as_ref();
        let product_write = changed.then_some((&next, cp.version));
        let settlement = |c: &Completion, failure: Option<FailureKind>| c.settles(failure).map(|status| Settlement { completion: c.clone(), status, log_id: log_id.clone() });
        let also = completion.and_then(|c| settlement(c, failure_kind));
        let claim = next.service_identifier.is_some() && next.service_identifier != cp.service_identifier;
        let releases = changed && cp.status != ProductStatus::Terminated && next.status == ProductStatus::Terminated;
        let mut written = self.products.record_run(RunRecord { product: product_write, claim, entry: &entry, settles: also.as_ref(), releases, announces }).await;
        if changed && matches!(written, Err(StoreError::Conflict(_))) {
            // Another run changed the product while the provider carried this one out: its
            // change is applied onto the product as it is now, not lost and not sent again.
            match self.reapply(cp, &next, logged, (&entry, &event_at), also.as_ref()).await {
                Ok(Some(merged)) => {
                    tracing::info!(contract_product_id = %cp.id, log_id = %log_id, version = merged.version, "a concurrent change was met: this run's change was applied onto it");
                    next = merged;
                    written = Ok(());
                }
                Ok(None) => {}
                Err(e @ StoreError::Taken(_)) => written = Err(e),
                Err(e) => return Err(Failure::from(e)),
            }
        }
        match written {
            Ok(()) => {}
            Err(StoreError::Taken(message)) => {
                // The provider answered with a service another contract product holds (a
                // transfer adopting a domain already in the account, say): this run is logged,
                // and the product is not bound to that service.
                entry.status = LogStatus::Error;
                entry.error = Some(json!({ "code": "conflict", "message": message }));
                let settled = completion.and_then(|c| settlement(c, Some(FailureKind::Permanent)));
                self.products.record_run(RunRecord { settles: settled.as_ref(), ..RunRecord::entry(&entry) }).await.map_err(Failure::from)?;
                return Err(Failure { error: EngineError::Conflict(message), log_id: Some(log_id), kind: Some(FailureKind::Permanent) });
            }
            Err(StoreError::Conflict(message)) => {
                // Another run changed the product first: this run is logged, nothing else. A
                // retry (of a lifecycle event) may succeed: the kind says so.
                entry.status = LogStatus::Error;
                entry.error = Some(json!({ "code": "conflict", "message": message }));
                self.products.record_run(RunRecord::entry(&entry)).await.map_err(Failure::from)?;
                return Err(Failure { error: EngineError::Conflict(message), log_id: Some(log_id), kind: Some(FailureKind::Transient) });
            }
            Err(e) => return Err(Failure::from(e)),
        }
        Ok((next, entry))
    }

    async fn execute(&self, actor: &Actor, p: Prepared, completion: Option<&Completion>, operation: Option<&Operation>) -> Result<Outcome, Failure> {
        let Prepared { b, a, logged, cp, fields, params, configuration, .. } = p;
        let (blueprint, action) = (b.id, logged.id);
        let opened = self.open(&configuration).inspect_err(|_| self.configurations.forget(&configuration.id))?;
        if !opened.spec.supported_actions.contains(&a.id) {
            // Nothing is sent and nothing changes: the third party cannot do it.
            let message = format!("{blueprint}/{} is not supported by {}", a.id, opened.spec.id);
            return Err(Failure::from(EngineError::invalid(message.clone(), json!({ "fields": { "action": message } }))));
        }
        // Within the configuration's breaker and limits (it may wait here for its place).
        let permit = self.admit(&configuration, &opened, matches!(actor, Actor::Caller(_))).await?;
        let (log_id, started_at) = match operation {
            Some(o) => (o.log_id.clone(), o.started_at.clone()),
            None => (LogId::generate(), now_rfc3339()),
        };
        let clock = Instant::now();
        let call = ProviderCall {
            blueprint: b,
            action: a,
            configuration_id: &configuration.id,
            settings: &opened.settings,
            params: &params,
            service_identifier: cp.service_identifier.as_deref(),
            following: (logged.id != a.id).then_some(logged.id),
            contract_product_id: Some(cp.id.as_str()),
        };
        let creates = logged.establishes_identifier() && a.id == logged.id;
        let reconciled = match (&cp.unconfirmed_create, creates) {
            (Some(identifier), true) => self.reconcile(b, a, (&cp, &fields), &configuration, &opened, identifier).await,
            _ if !creates && operation.is_none() && cp.unconfirmed_action.as_deref() == Some(a.id) => self.reconcile_move(b, a, &cp, &fields, &configuration, &opened).await,
            _ => None,
        };
        let result = match reconciled {
            Some(r) => r,
            None => with_deadline(opened.actions.run(call)).await,
        };
        self.leave_after(&configuration, &permit, &opened, result.as_ref().err()).await;
        // Results are checked as the framework does: a provider answering out of shape failed.
        let result = result.and_then(|out| {
            let errors = validate(&a.result, &out.data);
            if errors.is_empty() {
                Ok(out)
            } else {
                let mut debug = out.debug;
                debug.push(json!({ "provider_output": to_details(&errors) }));
                Err(ProviderFailure { kind: FailureKind::Permanent, message: "the provider answered with malformed data".into(), debug })
            }
        });
        let duration_ms = clock.elapsed().as_millis() as u64;
        let Settled { next, mut entry, outcome, failure_kind, still_running, changed } = settle(
            Run { b, a, logged, cp: &cp, params: &params, fields: &fields, spec: opened.spec, settings: &opened.settings, operation: operation.is_some() },
            LogEntry {
                log_id: log_id.clone(),
                contract_product_id: cp.id.clone(),
                configuration_id: configuration.id.clone(),
                blueprint: b.id.to_owned(),
                provider: configuration.provider.clone(),
                action: logged.id.to_owned(),
                actor: actor.describe(),
                started_at,
                duration_ms,
                status: LogStatus::Success,
                message: String::new(),
                params: secrets::mask(&a.params, &params),
                data: Value::Null,
                error: None,
                debug: Value::Null,
            },
            result,
        );
        if failure_kind.is_some() {
            // The third party refused or failed: its configuration is read afresh next time, so
            // credentials or an address fixed meanwhile are used by the very next attempt.
            self.configurations.forget(&configuration.id);
        }
        self.metrics.action(&crate::ports::ActionRun {
            blueprint,
            provider: &configuration.provider,
            action,
            outcome: if still_running {
                "in_progress"
            } else if failure_kind.is_some() {
                "failure"
            } else {
                "success"
            },
            duration_ms,
            configuration_id: configuration.id.as_str(),
            contract_product_id: cp.id.as_str(),
            log_id: log_id.as_str(),
        });
        if let Some(o) = operation.filter(|_| logged.id != a.id) {
            entry.debug = self.after_the_actions_exchanges(&cp, o, std::mem::take(&mut entry.debug)).await;
        }
        let (_, entry) = self.write_run(&cp, logged, (next, entry), failure_kind, (changed, !still_running), completion).await?;
        tracing::info!(contract_product_id = %cp.id, action = %format!("{blueprint}/{action}"), log_id = %log_id, status = entry.status.as_str(), duration_ms, "action ran");
        match outcome {
            Ok(body) => Ok(Outcome { status: 200, body, log_id, in_progress: still_running }),
            Err(error) => Err(Failure { error, log_id: Some(log_id), kind: failure_kind }),
        }
    }
}

/// A refusal as a person reads it in the log: the error and, for bad input, each field's
/// problem ("invalid params for web-hosting/create-account: email: is required; ...").
pub fn refusal_text(error: &EngineError) -> String {
    let EngineError::Invalid { message, details } = error else { return error.to_string() };
    let fields: Vec<String> = details["fields"].as_object().into_iter().flatten().map(|(k, v)| format!("{k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect();
    if fields.is_empty() { message.clone() } else { format!("{message}: {}", fields.join("; ")) }
}

#[cfg(test)]
mod tests;
