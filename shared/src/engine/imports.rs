//! Importing a service that already exists at a third party (how a company moves here from
//! another system, or takes on a service made by hand): the provider is asked (get-info) and,
//! where the service exists, a contract product is made with the status and the provision
//! fields it reports, its first log entry (`import`) in the same transaction. A service another
//! contract product holds is refused (409), one the provider does not show is a 400 naming the
//! identifier, and nothing is written for either.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::contracts::{check, field, invalid};
use super::settle::{Run, Settled, settle};
use super::{Engine, EngineError, ask_info, params_for};
use crate::catalogue::catalogue;
use crate::catalogue::schema::{any_object, params, string_max};
use crate::catalogue::validate::{to_details, validate};
use crate::domain::ProductStatus;
use crate::domain::actor::Actor;
use crate::domain::ids::{ConfigurationId, LogId};
use crate::domain::log::{LogEntry, LogStatus};
use crate::domain::product::ContractProduct;
use crate::domain::time::now_rfc3339;

/// The body of POST /contract-products/import.
pub fn import_schema() -> Value {
    params()
        .req("configuration_id", string_max(128))
        .req("service_identifier", string_max(255))
        .req("client_id", string_max(128))
        .opt("id", string_max(128))
        .opt("product_id", string_max(128))
        .opt("provision_fields", any_object())
        .build()
}

/// What an import made: the contract product and its `import` entry.
#[derive(Debug, Clone)]
pub struct Imported {
    pub contract_product: ContractProduct,
    pub log_id: LogId,
}

impl Engine {
    /// Imports one existing service (see the module's doc).
    pub async fn import_contract_product(&self, actor: &Actor, body: &Value) -> Result<Imported, EngineError> {
        check(&import_schema(), body)?;
        let raw = body["configuration_id"].as_str().unwrap_or_default();
        let configuration_id = ConfigurationId::parse(raw).map_err(|e| invalid(vec![field("configuration_id", e)]))?;
        let configuration = self.configurations.configuration(&configuration_id).await?.ok_or_else(|| invalid(vec![field("configuration_id", format!("no provision configuration {raw}"))]))?;
        let identifier = body["service_identifier"].as_str().unwrap_or_default().trim().to_owned();
        if identifier.is_empty() {
            return Err(invalid(vec![field("service_identifier", "must not be empty")]));
        }
        // The contract product as POST /contract-products would make it on this configuration:
        // the product's provision fields (where one is named), then the body's.
        let mut draft = json!({
            "client_id": body["client_id"],
            "blueprint": configuration.blueprint,
            "provider": configuration.provider,
            "deployment": { "type": "static", "configuration_id": raw },
            "service_identifier": identifier,
        });
        for k in ["id", "product_id", "provision_fields"] {
            if !body[k].is_null() {
                draft[k] = body[k].clone();
            }
        }
        let cp = self.draft_contract_product(&draft).await?;
        let b = catalogue().blueprint(&cp.blueprint).ok_or_else(|| EngineError::internal(format!("unknown blueprint {}", cp.blueprint)))?;
        let opened = self.open(&configuration)?;
        let info = b.actions.iter().find(|a| a.id == "get-info").filter(|a| opened.spec.supported_actions.contains(&a.id));
        let info = info.ok_or_else(|| invalid(vec![field("configuration_id", format!("{} cannot tell what a service is (no get-info): nothing to import from", opened.spec.id))]))?;
        let fields = self.open_fields(&cp)?;
        let params = params_for(b, info, &cp, &fields, &Map::new());
        let errors = validate(&info.params, &params);
        if !errors.is_empty() {
            return Err(EngineError::invalid(format!("the provision fields do not give {}/get-info what it needs", b.id), to_details(&errors)));
        }
        let permit = self.admit(&configuration, &opened, matches!(actor, Actor::Caller(_))).await?;
        let started_at = now_rfc3339();
        let clock = Instant::now();
        let result = ask_info(b, info, &params, &cp, &identifier, &configuration, &opened).await;
        self.leave_after(&configuration, &permit, &opened, result.as_ref().err()).await;
        let result = result.and_then(|out| {
            let errors = validate(&info.result, &out.data);
            if errors.is_empty() { Ok(out) } else { Err(crate::providers::ProviderFailure::permanent("the provider answered get-info with malformed data")) }
        });
        let permanent = result.as_ref().err().is_some_and(|f| f.kind == crate::domain::FailureKind::Permanent);
        let suspended = result.as_ref().is_ok_and(|out| out.data["suspended"] == true);
        let entry = LogEntry {
            log_id: LogId::generate(),
            contract_product_id: cp.id.clone(),
            configuration_id: configuration.id.clone(),
            blueprint: b.id.to_owned(),
            provider: configuration.provider.clone(),
            action: "import".into(),
            actor: actor.describe(),
            started_at,
            duration_ms: clock.elapsed().as_millis() as u64,
            status: LogStatus::Success,
            message: String::new(),
            params: crate::secrets::mask(&info.params, &params),
            data: Value::Null,
            error: None,
            debug: Value::Null,
        };
        // Masked and scrubbed as any run's entry; the product's provision fields follow what
        // the provider reports, as after any get-info.
        let run = Run { b, a: info, logged: info, cp: &cp, params: &params, fields: &fields, spec: opened.spec, settings: &opened.settings, operation: false };
        let Settled { mut next, mut entry, outcome, .. } = settle(run, entry, result);
        if let Err(error) = outcome {
            return Err(if permanent { invalid(vec![field("service_identifier", format!("{} does not show {identifier}: {error}", opened.spec.id))]) } else { error });
        }
        next.version = 1;
        next.status = if suspended { ProductStatus::Suspended } else { ProductStatus::Active };
        next.service_identifier = next.service_identifier.or(Some(identifier.clone()));
        entry.message = format!("imported {identifier} from {} ({}): {}", configuration.name, opened.spec.id, if suspended { "suspended there" } else { "active there" });
        self.products.create(&next, Some(&entry), Some(&Self::created_event(&next, "imported"))).await?;
        tracing::info!(contract_product_id = %next.id, configuration_id = %configuration.id, log_id = %entry.log_id, "service imported");
        Ok(Imported { contract_product: next, log_id: entry.log_id })
    }
}

/// A service an account holds, with the contract product that holds it here (none: unknown).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedService {
    #[serde(flatten)]
    pub listed: crate::providers::Listed,
    pub contract_product_id: Option<crate::domain::ids::ContractProductId>,
}

/// A page of a configuration's services, and where the next starts.
#[derive(Debug, Clone)]
pub struct ServicesPage {
    pub items: Vec<ListedService>,
    pub next: Option<String>,
}

/// At most this many services are imported by one request (each asks the provider).
pub const IMPORT_BATCH: usize = 20;
/// How many imports of a request ask their provider at once.
const IMPORTS_AT_ONCE: usize = 4;
/// No import of a request starts later than this after it began (the admin function has 30 s):
/// the rest are answered "not tried", to be sent again.
const IMPORT_WINDOW: std::time::Duration = std::time::Duration::from_secs(18);

/// The body of POST /provision-configurations/{id}/import.
pub fn bulk_import_schema() -> Value {
    let service = params()
        .req("service_identifier", string_max(255))
        .req("client_id", string_max(128))
        .opt("id", string_max(128))
        .opt("product_id", string_max(128))
        .opt("provision_fields", any_object())
        .build();
    let mut services = crate::catalogue::schema::array(service);
    services["minItems"] = json!(1);
    services["maxItems"] = json!(IMPORT_BATCH);
    params().req("services", services).build()
}

/// One service of a bulk import and how it went (None: not tried within the request's time).
pub type ImportResult = (String, Option<Result<Imported, EngineError>>);

impl Engine {
    /// A page of the services a configuration's account holds (`page`: where the last answer
    /// said the next starts), each with the contract product holding it; `unknown_only` leaves
    /// out those held. The provider is only read.
    pub async fn list_services(&self, configuration_id: &str, page: Option<&str>, unknown_only: bool) -> Result<ServicesPage, EngineError> {
        let not_found = || EngineError::NotFound(format!("no provision configuration {configuration_id:?}"));
        let id = ConfigurationId::parse(configuration_id).map_err(|_| not_found())?;
        let configuration = self.configurations.configuration(&id).await?.ok_or_else(not_found)?;
        let opened = self.open(&configuration)?;
        let permit = self.admit(&configuration, &opened, true).await?;
        let listed = tokio::time::timeout(super::PROVIDER_DEADLINE, opened.connect.list_services(&configuration.blueprint, &id, &opened.settings, page)).await;
        let needles = crate::secrets::secret_values(&opened.spec.settings, &opened.settings);
        let failed = match &listed {
            Err(_) => Some((crate::domain::FailureKind::Timeout, "the provider did not answer in time".to_owned())),
            Ok(Err(f)) if f.message != crate::providers::CANNOT_LIST => Some((f.kind, super::scrub_text(&f.message, &needles))),
            Ok(_) => None,
        };
        self.leave(&configuration, &permit, failed.as_ref().map(|(k, m)| (*k, m.as_str()))).await;
        let listing = match listed {
            Err(_) => return Err(super::failure_error(crate::domain::FailureKind::Timeout, "the provider did not answer in time".into())),
            Ok(Ok(listing)) => listing,
            Ok(Err(f)) if f.message == crate::providers::CANNOT_LIST => {
                return Err(invalid(vec![field("configuration_id", format!("{} {}: import its services one by one", opened.spec.id, crate::providers::CANNOT_LIST))]));
            }
            Ok(Err(f)) => return Err(super::failure_error(f.kind, super::scrub_text(&f.message, &needles))),
        };
        let identifiers: Vec<String> = listing.services.iter().map(|s| s.service_identifier.clone()).collect();
        let holders = self.products.holders(&id, &identifiers).await?;
        let items = listing
            .services
            .into_iter()
            .map(|listed| {
                let contract_product_id = holders.get(&listed.service_identifier).cloned();
                ListedService { listed, contract_product_id }
            })
            .filter(|s| !unknown_only || s.contract_product_id.is_none())
            .collect();
        Ok(ServicesPage { items, next: listing.next })
    }

    /// Imports the chosen services of a configuration (at most [`IMPORT_BATCH`]), a few at
    /// once, each as [`Engine::import_contract_product`]: one result per service, in order.
    pub async fn import_services(&self, actor: &Actor, configuration_id: &str, body: &Value) -> Result<Vec<ImportResult>, EngineError> {
        check(&bulk_import_schema(), body)?;
        let started = Instant::now();
        let services: Vec<Value> = body["services"].as_array().cloned().unwrap_or_default();
        let mut results: Vec<ImportResult> = services.iter().map(|s| (s["service_identifier"].as_str().unwrap_or_default().to_owned(), None)).collect();
        for chunk in (0..services.len()).collect::<Vec<_>>().chunks(IMPORTS_AT_ONCE) {
            if started.elapsed() > IMPORT_WINDOW {
                break;
            }
            let mut running = tokio::task::JoinSet::new();
            for &i in chunk {
                let mut one = services[i].clone();
                one["configuration_id"] = json!(configuration_id);
                let (engine, actor) = (self.clone(), actor.clone());
                running.spawn(async move { (i, engine.import_contract_product(&actor, &one).await) });
            }
            while let Some(done) = running.join_next().await {
                let (i, result) = done.map_err(|e| EngineError::internal(format!("an import stopped: {e}")))?;
                results[i].1 = Some(result);
            }
        }
        Ok(results)
    }
}
