//! The admin API's handler: routes a request of the admin function to its operation.

pub mod bulk;
pub mod configurations;
pub mod events;
pub mod handlers;
pub mod products;

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::adapters::dynamodb::Dynamo;
use crate::adapters::dynamodb::configurations::ConfigurationStore;
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::auth::Authenticator;
use crate::api::{ApiError, HttpRequest, HttpResponse, error_response_with_log};
use crate::catalogue::catalogue;
use crate::domain::actor::Actor;
use crate::engine::{Engine, Failure};
use crate::providers::providers;
use crate::secrets::SecretBox;

use configurations::Configurations;
use products::Products;

/// A 400 naming the fields that are wrong.
fn invalid(errors: Vec<crate::catalogue::validate::FieldError>) -> ApiError {
    ApiError::validation("the request has invalid fields", crate::catalogue::validate::to_details(&errors))
}

fn field(path: &str, message: impl Into<String>) -> crate::catalogue::validate::FieldError {
    crate::catalogue::validate::FieldError { path: path.to_owned(), message: message.into() }
}

/// A body checked against its schema, or the 400 naming every failing field.
fn check(schema: &Value, body: &Value) -> Result<(), ApiError> {
    let errors = crate::catalogue::validate::validate(schema, body);
    if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
}

/// What the admin function holds across invocations.
#[derive(Clone)]
pub struct Admin {
    auth: Authenticator,
    configurations: ConfigurationStore,
    products: ProductStore,
    secrets: Arc<SecretBox>,
    engine: Engine,
    events: crate::adapters::dynamodb::events::EventStore,
    handlers: crate::adapters::dynamodb::handlers::HandlerStore,
    runs: crate::adapters::dynamodb::products::DynamoContractProducts,
    /// Where a retried lifecycle event goes (the lifecycle queue).
    lifecycle_queue: Option<Arc<dyn crate::ports::Mailbox>>,
}

/// The catalogue with each blueprint's providers and their settings schemas.
fn blueprints_document() -> Value {
    let mut doc = catalogue().document();
    for b in doc["blueprints"].as_array_mut().into_iter().flatten() {
        let id = b["id"].as_str().unwrap_or_default().to_owned();
        let list: Vec<Value> = providers()
            .iter()
            .filter(|p| p.blueprint == id)
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "description": p.description,
                    "settings": p.settings, "supported_actions": p.supported_actions,
                })
            })
            .collect();
        b["providers"] = Value::Array(list);
    }
    doc
}

/// `GET /blueprints` is the same for every caller: serialized once per Lambda instance.
static BLUEPRINTS: LazyLock<String> = LazyLock::new(|| blueprints_document().to_string());

impl Admin {
    pub fn new(auth: Authenticator, dynamo: &Dynamo, secrets: SecretBox) -> Self {
        let secrets = Arc::new(secrets);
        Admin {
            auth,
            configurations: dynamo.configurations(),
            products: dynamo.products(),
            engine: Engine::new(dynamo.stores(), secrets.clone()).with_metrics(Arc::new(crate::adapters::metrics::Emf)),
            secrets,
            events: dynamo.events(),
            handlers: dynamo.handlers(),
            runs: dynamo.runs(),
            lifecycle_queue: None,
        }
    }

    /// The lifecycle queue a retried event is sent to.
    pub fn with_lifecycle_queue(mut self, queue: Arc<dyn crate::ports::Mailbox>) -> Self {
        self.lifecycle_queue = Some(queue);
        self
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        if let Some(redirect) = crate::api::console::trailing_slash(&request) {
            return Ok(redirect);
        }
        let (route, params) = request.route("admin")?;
        let caller = self.auth.authenticate(request.header("authorization")).await?;
        let products = Products { products: &self.products, configurations: &self.configurations, secrets: &self.secrets, engine: &self.engine };
        // Open to any valid token; the handlers scope a client to its own contract products.
        match route.operation_id {
            "listBlueprints" => return Ok(HttpResponse::raw_json(200, BLUEPRINTS.clone())),
            "getContractProduct" => return products.get_contract_product(&caller, &params).await,
            "listContractProducts" => return products.list_contract_products(&caller, &request).await,
            _ => crate::api::auth::require_admin(&caller)?,
        }
        let configurations = Configurations { store: &self.configurations, secrets: &self.secrets };
        let handlers = handlers::Handlers { store: &self.handlers, secrets: &self.secrets };
        match route.operation_id {
            "testConnection" => {
                let id = params.get("id").map(String::as_str).unwrap_or_default();
                match self.engine.test_connection(&Actor::Caller(caller), id).await {
                    Ok(outcome) => HttpResponse::json(outcome.status, &outcome.body),
                    Err(Failure { error, log_id: Some(log_id), .. }) => Ok(error_response_with_log(&error.into(), &request.request_id, log_id.as_str())),
                    Err(Failure { error, log_id: None, .. }) => Err(error.into()),
                }
            }
            "getLifecycleEvent" => {
                let id = params.get("id").map(String::as_str).unwrap_or_default();
                let record = self.events.get(id).await?.ok_or_else(|| ApiError::NotFound(format!("no lifecycle event {id:?}")))?;
                HttpResponse::json(200, &record)
            }
            "listLifecycleEvents" | "retryLifecycleEvent" => {
                let events = events::LifecycleEvents { store: &self.events, products: &self.products, queue: self.lifecycle_queue.as_deref() };
                if route.operation_id == "listLifecycleEvents" { events.list(&request).await } else { events.retry(&caller, &params).await }
            }
            "createBulkAction" | "listBulkActions" | "getBulkAction" | "cancelBulkAction" | "resumeBulkAction" => {
                let bulk = bulk::BulkActions { engine: &self.engine, queue: self.lifecycle_queue.as_deref() };
                match route.operation_id {
                    "createBulkAction" => bulk.create(&Actor::Caller(caller.clone()), &request).await,
                    "listBulkActions" => bulk.list(&request).await,
                    "getBulkAction" => bulk.get(&request, &params).await,
                    "cancelBulkAction" => bulk.cancel(&params).await,
                    _ => bulk.resume(&params).await,
                }
            }
            "configurationDrift" => {
                let id = params.get("id").map(String::as_str).unwrap_or_default();
                HttpResponse::json(200, &self.engine.latest_drift(id).await?)
            }
            "createEventHandler" => handlers.create(&request).await,
            "listEventHandlers" => handlers.list().await,
            "getEventHandler" => handlers.get(&params).await,
            "updateEventHandler" => handlers.patch(&request, &params).await,
            "eventHandlerExecutions" => handlers.executions(&params).await,
            "createProduct" => products.create_product(&request).await,
            "listProducts" => products.list_products().await,
            "getProduct" => products.get_product(&params).await,
            "updateProduct" => products.patch_product(&request, &params).await,
            "createContractProduct" => products.create_contract_product(&request).await,
            "importContractProduct" => products.import_contract_product(&Actor::Caller(caller.clone()), &request).await,
            "updateContractProduct" => products.patch_contract_product(&caller, &request, &params, &self.runs).await,
            "createConfiguration" => configurations.create(&request).await,
            "listConfigurationServices" => {
                let id = params.get("id").map(String::as_str).unwrap_or_default();
                let cursor = request.query.get("cursor").map(String::as_str);
                if cursor.is_some_and(|c| c.is_empty() || c.len() > 200 || !c.bytes().all(|b| b.is_ascii_graphic())) {
                    return Err(ApiError::validation("the request has invalid fields", serde_json::json!({ "fields": { "cursor": "is not a cursor this list gave" } })));
                }
                let unknown = match request.query.get("unknown").map(String::as_str) {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(_) => return Err(ApiError::validation("the request has invalid fields", serde_json::json!({ "fields": { "unknown": "must be true or false" } }))),
                };
                let page = self.engine.list_services(id, cursor, unknown).await?;
                HttpResponse::json(200, &serde_json::json!({ "items": page.items, "next_cursor": page.next }))
            }
            "importConfigurationServices" => {
                let id = params.get("id").map(String::as_str).unwrap_or_default();
                if self.configurations.get(&crate::domain::ids::ConfigurationId::parse(id).map_err(|_| ApiError::NotFound(format!("no provision configuration {id:?}")))?).await?.is_none() {
                    return Err(ApiError::NotFound(format!("no provision configuration {id:?}")));
                }
                let results = self.engine.import_services(&Actor::Caller(caller.clone()), id, &crate::api::json_body(&request)?).await?;
                let items: Vec<serde_json::Value> = results.into_iter().map(|(identifier, result)| products::import_result(&identifier, result)).collect();
                HttpResponse::json(200, &serde_json::json!({ "items": items }))
            }
            "listConfigurations" => configurations.list(&request).await,
            "getConfiguration" => configurations.get(&params).await,
            "updateConfiguration" => configurations.patch(&request, &params).await,
            "deleteConfiguration" => configurations.delete(&params).await,
            other => Err(ApiError::internal(format!("route {other} has no handler"))),
        }
    }
}
