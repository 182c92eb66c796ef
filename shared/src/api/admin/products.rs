//! Products (provisioning templates, seed 002) and contract products (one client's sold service).
//! A contract product is made from a product and/or explicit fields (explicit wins); its
//! configuration is the static one named, or, when dynamic, the enabled default of its provider
//! or else of its blueprint.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{check, field, invalid};
use crate::adapters::dynamodb::configurations::ConfigurationStore;
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::cursor;
use crate::api::{ApiError, HttpRequest, HttpResponse, json_body};
use crate::catalogue::catalogue;
use crate::catalogue::schema::{any_object, params, string_max};
use crate::domain::ProductStatus;
use crate::domain::actor::Caller;
use crate::domain::ids::{ConfigurationId, ContractProductId, ProductId};
use crate::domain::product::{ContractProduct, Deployment, Product, Search};
use crate::domain::time::now_rfc3339;
use crate::engine::Engine;
use crate::engine::contracts::{blueprint_of, check_static, deployment_schema, parse_deployment, product_schema, provider_id, sealed_fields, setup_action, setup_action_id, with_stored_secrets};
use crate::ports::{ContractProducts, RunRecord};
use crate::providers::provider;
use crate::secrets::{self, SecretBox};

/// A contract product as answered, to admins and clients alike: provision fields a schema marks
/// secret are stored sealed and shown masked.
/// One service of a bulk import as the answer lists it: `imported` (201, the contract product
/// and its import entry), `refused` (the status and error the single import would answer), or
/// `not_tried` within the request's time (to be sent again).
pub fn import_result(identifier: &str, result: Option<Result<crate::engine::imports::Imported, crate::engine::EngineError>>) -> Value {
    match result {
        Some(Ok(imported)) => json!({ "service_identifier": identifier, "result": "imported", "status": 201, "contract_product": cp_view(&imported.contract_product), "log_id": imported.log_id }),
        Some(Err(e)) => {
            let message = crate::engine::refusal_text(&e);
            let error = ApiError::from(e);
            json!({ "service_identifier": identifier, "result": "refused", "status": error.status(), "error": { "code": error.code(), "message": message } })
        }
        None => json!({ "service_identifier": identifier, "result": "not_tried", "status": null, "error": { "code": "not_tried", "message": "not reached within the request's time: send it again" } }),
    }
}

fn cp_view(cp: &ContractProduct) -> Value {
    let mut view = serde_json::to_value(cp).unwrap_or(Value::Null);
    view["provision_fields"] = masked_fields(&cp.provision_fields);
    view
}

fn product_view(p: &Product) -> Value {
    let mut view = serde_json::to_value(p).unwrap_or(Value::Null);
    view["provision_fields"] = masked_fields(&p.provision_fields);
    view
}

fn masked_fields(fields: &Map<String, Value>) -> Value {
    secrets::mask(catalogue().provision_schema(), &Value::Object(fields.clone()))
}

pub struct Products<'a> {
    pub products: &'a ProductStore,
    pub configurations: &'a ConfigurationStore,
    /// Seals secret provision fields (and opens a product's, to seal them again for a contract
    /// product made from it).
    pub secrets: &'a SecretBox,
    /// Makes contract products (and announces each: contract_product.created).
    pub engine: &'a Engine,
}

impl Products<'_> {
    pub async fn create_product(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let body = json_body(request)?;
        check(&product_schema(), &body)?;
        let b = blueprint_of(body["blueprint"].as_str().unwrap_or_default())?;
        let provider_id = body["provider"].as_str();
        if let Some(p) = provider_id {
            provider(b.id, p).ok_or_else(|| invalid(vec![field("provider", "is not a provider of this blueprint")]))?;
        }
        let deployment = parse_deployment(&body["deployment"])?;
        if let Deployment::Static { configuration_id } = &deployment {
            check_static(self.configurations, configuration_id, b.id, provider_id).await?;
        }
        let now = now_rfc3339();
        let given = with_stored_secrets(&body["provision_fields"].as_object().cloned().unwrap_or_default(), &Map::new())?;
        let id = ProductId::generate();
        let p = Product {
            provision_fields: sealed_fields(&given, self.secrets, "product", id.as_str()),
            id,
            name: body["name"].as_str().unwrap_or_default().to_owned(),
            blueprint: b.id.to_owned(),
            provider: provider_id.map(String::from),
            deployment,
            setup_action: setup_action(b, body["setup_action"].as_str())?,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        };
        self.products.create_product(&p).await?;
        tracing::info!(product_id = %p.id, blueprint = %p.blueprint, "product created");
        HttpResponse::json(201, &product_view(&p))
    }

    pub async fn list_products(&self) -> Result<HttpResponse, ApiError> {
        let items: Vec<Value> = self.products.products().await?.iter().map(product_view).collect();
        HttpResponse::json(200, &json!({ "items": items }))
    }

    pub async fn get_product(&self, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        let not_found = || ApiError::NotFound(format!("no product {raw:?}"));
        let id = ProductId::parse(raw).map_err(|_| not_found())?;
        HttpResponse::json(200, &product_view(&self.products.product(&id).await?.ok_or_else(not_found)?))
    }

    pub async fn create_contract_product(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let cp = self.create_contract_product_from(&json_body(request)?).await?;
        HttpResponse::json(201, &cp_view(&cp))
    }

    /// Imports an existing service (`Engine::import_contract_product`): the contract product, with
    /// the log id of its import entry.
    pub async fn import_contract_product(&self, actor: &crate::domain::actor::Actor, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let imported = self.engine.import_contract_product(actor, &json_body(request)?).await?;
        let mut view = cp_view(&imported.contract_product);
        view["log_id"] = json!(imported.log_id);
        HttpResponse::json(201, &view)
    }

    /// Creates a contract product from a body of the POST /contract-products shape.
    pub async fn create_contract_product_from(&self, body: &Value) -> Result<ContractProduct, ApiError> {
        Ok(self.engine.create_contract_product(body).await?)
    }

    /// Admins read any contract product; a client only its own (others are 404: nothing leaks).
    pub async fn get_contract_product(&self, caller: &Caller, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        let not_found = || ApiError::NotFound(format!("no contract product {raw:?}"));
        let id = ContractProductId::parse(raw).map_err(|_| not_found())?;
        let cp = self.products.contract_product(&id).await?.ok_or_else(not_found)?;
        if let Caller::Client { client_id, .. } = caller
            && client_id.as_str() != cp.client_id
        {
            return Err(not_found());
        }
        HttpResponse::json(200, &cp_view(&cp))
    }

    /// `?identifier=&client_id=&status=&blueprint=&configuration_id=&limit=&cursor=`: newest first
    /// (by identifier prefix, in the identifiers' order). A client lists its own (and may not name
    /// another); an admin searches every contract product. One Query per read, never a Scan.
    pub async fn list_contract_products(&self, caller: &Caller, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let q = |k: &str| request.query.get(k).map(String::as_str);
        let client_id: Option<String> = match (caller, q("client_id")) {
            (Caller::Client { client_id, .. }, None) => Some(client_id.as_str().to_owned()),
            (Caller::Client { client_id, .. }, Some(a)) if a == client_id.as_str() => Some(a.to_owned()),
            (Caller::Client { .. }, Some(_)) => return Err(ApiError::Forbidden("a client lists its own contract products only".into())),
            (Caller::Admin { .. }, asked) => asked.map(|c| crate::domain::actor::ClientId::parse(c).map(|c| c.as_str().to_owned()).map_err(|e| invalid(vec![field("client_id", e)]))).transpose()?,
        };
        let limit = match q("limit") {
            None => 100,
            Some(l) => l.parse::<i32>().ok().filter(|l| (1..=500).contains(l)).ok_or_else(|| invalid(vec![field("limit", "must be 1 to 500")]))?,
        };
        let status = q("status")
            .map(|st| ProductStatus::parse(st).map(|st| st.as_str().to_owned()).ok_or_else(|| invalid(vec![field("status", "must be pending, active, suspended, terminated or failed")])))
            .transpose()?;
        let blueprint = q("blueprint").map(|b| blueprint_of(b).map(|b| b.id.to_owned())).transpose()?;
        let configuration_id = q("configuration_id").map(|c| ConfigurationId::parse(c).map(|c| c.to_string()).map_err(|e| invalid(vec![field("configuration_id", e)]))).transpose()?;
        let identifier = q("identifier")
            .map(|i| {
                if (1..=255).contains(&i.chars().count()) && !i.chars().any(char::is_control) {
                    Ok(i.to_owned())
                } else {
                    Err(invalid(vec![field("identifier", "must be 1 to 255 characters, no control characters")]))
                }
            })
            .transpose()?;
        let search = Search { identifier, client_id, configuration_id, status, blueprint };
        let (pk_name, pk) = search.cursor_partition();
        let start = q("cursor").map(|c| cursor::decode_for(c, pk_name, &pk)).transpose()?;
        let (items, next) = self.products.search(&search, limit, start).await?;
        let items: Vec<Value> = items.iter().map(cp_view).collect();
        HttpResponse::json(200, &json!({ "items": items, "next_cursor": cursor::encode(next.as_ref(), None) }))
    }

    /// Changes a contract product's provision fields (seed 003: "fill in the licence key, save"),
    /// field by field: a field given is set (a mask keeps the stored secret), `null` removes it.
    /// The change and an entry in the product's log that says who changed which fields (never
    /// their values) are written in one transaction, at the version read (409 if it moved).
    pub async fn patch_contract_product(&self, caller: &Caller, request: &HttpRequest, params: &HashMap<String, String>, runs: &dyn ContractProducts) -> Result<HttpResponse, ApiError> {
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        let not_found = || ApiError::NotFound(format!("no contract product {raw:?}"));
        let id = ContractProductId::parse(raw).map_err(|_| not_found())?;
        let body = json_body(request)?;
        check(&contract_product_patch_schema(), &body)?;
        let current = self.products.contract_product(&id).await?.ok_or_else(not_found)?;
        let stored = match secrets::open(catalogue().provision_schema(), &Value::Object(current.provision_fields.clone()), self.secrets, &secrets::provision_context("cp", id.as_str())) {
            Ok(Value::Object(o)) => o,
            Ok(_) => Map::new(),
            Err(e) => return Err(ApiError::internal(format!("provision fields of contract product {id} do not open: {e}"))),
        };
        let given = body["provision_fields"].as_object().cloned().unwrap_or_default();
        let (removed, set): (Map<String, Value>, Map<String, Value>) = given.into_iter().partition(|(_, v)| v.is_null());
        let set = with_stored_secrets(&set, &stored)?;
        let mut fields = stored.clone();
        for k in removed.keys() {
            fields.remove(k);
        }
        fields.extend(set);
        let mut changed: Vec<&str> = fields.iter().filter(|(k, v)| stored.get(*k) != Some(v)).map(|(k, _)| k.as_str()).collect();
        changed.extend(stored.keys().filter(|k| !fields.contains_key(*k)).map(String::as_str));
        if changed.is_empty() {
            return HttpResponse::json(200, &cp_view(&current));
        }
        let mut next = current.clone();
        next.provision_fields = sealed_fields(&fields, self.secrets, "cp", id.as_str());
        next.version = current.version + 1;
        next.updated_at = now_rfc3339();
        let actor = crate::domain::actor::Actor::Caller(caller.clone()).describe();
        let message = format!("provision fields changed: {}", changed.join(", "));
        let entry = crate::domain::log::LogEntry {
            params: json!({ "fields": changed }),
            data: json!({ "changed": changed, "version": next.version }),
            ..crate::domain::log::LogEntry::note(&current, "update-provision-fields", actor, crate::domain::log::LogStatus::Success, message)
        };
        runs.record_run(RunRecord { product: Some((&next, current.version)), ..RunRecord::entry(&entry) }).await.map_err(|e| match e {
            crate::ports::StoreError::Conflict(_) => ApiError::Conflict(format!("contract product {id} changed meanwhile; read it again")),
            other => other.into(),
        })?;
        tracing::info!(contract_product_id = %id, fields = %changed.join(","), by = %caller.subject(), "provision fields changed");
        HttpResponse::json(200, &cp_view(&next))
    }

    /// Changes a product. Contract products already made from it keep what they inherited.
    pub async fn patch_product(&self, request: &HttpRequest, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        let not_found = || ApiError::NotFound(format!("no product {raw:?}"));
        let id = ProductId::parse(raw).map_err(|_| not_found())?;
        let body = json_body(request)?;
        let schema = params_schema_patch();
        check(&schema, &body)?;
        let current = self.products.product(&id).await?.ok_or_else(not_found)?;
        let b = blueprint_of(&current.blueprint)?;
        let mut next = current.clone();
        if let Some(name) = body["name"].as_str() {
            next.name = name.to_owned();
        }
        if let Some(p) = body.get("provider") {
            next.provider = match p.as_str() {
                Some(p) => {
                    provider(b.id, p).ok_or_else(|| invalid(vec![field("provider", "is not a provider of this blueprint")]))?;
                    Some(p.to_owned())
                }
                None => None, // null: chosen automatically
            };
        }
        if !body["deployment"].is_null() {
            next.deployment = parse_deployment(&body["deployment"])?;
        }
        if let Deployment::Static { configuration_id } = &next.deployment
            && (next.deployment != current.deployment || next.provider != current.provider)
        {
            check_static(self.configurations, configuration_id, b.id, next.provider.as_deref()).await?;
        }
        if let Some(a) = body["setup_action"].as_str() {
            next.setup_action = setup_action(b, Some(a))?;
        }
        if let Some(changes) = body["provision_fields"].as_object() {
            // A masked secret sent back unchanged (at any depth) keeps the stored value.
            for (k, v) in with_stored_secrets(changes, &current.provision_fields)? {
                if v.is_null() {
                    next.provision_fields.remove(&k);
                } else {
                    next.provision_fields.insert(k, v);
                }
            }
            next.provision_fields = sealed_fields(&next.provision_fields, self.secrets, "product", id.as_str());
        }
        next.version = current.version + 1;
        next.updated_at = now_rfc3339();
        let old = current.deployment.static_configuration();
        self.products.update_product(&next, current.version, old).await?;
        HttpResponse::json(200, &product_view(&next))
    }
}

/// The body of PATCH /contract-products/{id}: provision fields to set (`null` removes one).
pub fn contract_product_patch_schema() -> Value {
    params().req("provision_fields", any_object()).build()
}

/// The body of PATCH /products/{id}.
pub fn params_schema_patch() -> Value {
    params().opt("name", string_max(200)).opt("provider", provider_id()).opt("deployment", deployment_schema()).opt("setup_action", setup_action_id()).opt("provision_fields", any_object()).build()
}
