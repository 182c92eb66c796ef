//! Products (provisioning templates, seed 002) and contract products (one client's sold service).
//! A contract product is made from a product and/or explicit fields (explicit wins); its
//! configuration is the static one named, or, when dynamic, the enabled default of its provider
//! or else of its blueprint.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{check, field, invalid};
use crate::adapters::dynamodb::configurations::ConfigurationStore;
use crate::adapters::dynamodb::cursor;
use crate::adapters::dynamodb::products::ProductStore;
use crate::api::{ApiError, HttpRequest, HttpResponse, json_body};
use crate::catalogue::schema::{any_object, one_of, params, string, string_max};
use crate::catalogue::{Blueprint, catalogue};
use crate::domain::ProductStatus;
use crate::domain::actor::Caller;
use crate::domain::ids::{ConfigurationId, ContractProductId, ProductId};
use crate::domain::product::{ContractProduct, Deployment, Product, Search};
use crate::domain::time::now_rfc3339;
use crate::providers::provider;
use crate::secrets::{self, SecretBox};

fn deployment_schema() -> Value {
    params().req("type", one_of(&["static", "dynamic"])).opt("configuration_id", string()).build()
}

/// A blueprint id of the catalogue.
fn blueprint_id() -> Value {
    one_of(&catalogue().blueprint_ids())
}

/// A provider id (which ones a blueprint has: `GET /blueprints`).
fn provider_id() -> Value {
    one_of(&crate::providers::provider_ids())
}

/// The create action a contract product is set up with.
fn setup_action_id() -> Value {
    one_of(&catalogue().setup_action_ids())
}

/// The body of POST /products.
pub fn product_schema() -> Value {
    params()
        .req("name", string_max(200))
        .req("blueprint", blueprint_id())
        .opt("provider", provider_id())
        .req("deployment", deployment_schema())
        .opt("setup_action", setup_action_id())
        .opt("provision_fields", any_object())
        .build()
}

/// The body of POST /contract-products.
pub fn contract_product_schema() -> Value {
    params()
        .opt("id", string_max(128))
        .req("client_id", string_max(128))
        .opt("product_id", string_max(128))
        .opt("blueprint", blueprint_id())
        .opt("provider", provider_id())
        .opt("deployment", deployment_schema())
        .opt("service_identifier", string_max(255))
        .opt("setup_action", setup_action_id())
        .opt("provision_fields", any_object())
        .build()
}

fn blueprint_of(id: &str) -> Result<&'static Blueprint, ApiError> {
    catalogue().blueprint(id).ok_or_else(|| invalid(vec![field("blueprint", "is not a blueprint of the catalogue")]))
}

/// The setup action: the one asked for, which must be a create action of the blueprint, or the
/// blueprint's first create action.
fn setup_action(b: &Blueprint, asked: Option<&str>) -> Result<String, ApiError> {
    let creates = |id: &str| b.actions.iter().any(|a| a.id == id && a.allowed_from.contains(&ProductStatus::Pending));
    match asked {
        Some(a) if creates(a) => Ok(a.to_owned()),
        Some(_) => Err(invalid(vec![field("setup_action", format!("must be a create action of {}", b.id))])),
        None => b.actions.iter().find(|a| a.allowed_from.contains(&ProductStatus::Pending)).map(|a| a.id.to_owned()).ok_or_else(|| ApiError::internal(format!("{} has no create action", b.id))),
    }
}

fn parse_deployment(v: &Value) -> Result<Deployment, ApiError> {
    match (v["type"].as_str(), v["configuration_id"].as_str()) {
        (Some("static"), Some(raw)) => ConfigurationId::parse(raw).map(|configuration_id| Deployment::Static { configuration_id }).map_err(|e| invalid(vec![field("deployment.configuration_id", e)])),
        (Some("static"), None) => Err(invalid(vec![field("deployment.configuration_id", "is required for a static deployment")])),
        (Some("dynamic"), None) => Ok(Deployment::Dynamic),
        (Some("dynamic"), Some(_)) => Err(invalid(vec![field("deployment.configuration_id", "is only for a static deployment")])),
        _ => Err(invalid(vec![field("deployment.type", "must be static or dynamic")])),
    }
}

/// A contract product as answered, to admins and clients alike: provision fields a schema marks
/// secret are stored sealed and shown masked.
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

/// Provision fields as stored: every secret field sealed to its record (`kind:id`).
fn sealed_fields(fields: &Map<String, Value>, secrets: &SecretBox, kind: &str, id: &str) -> Map<String, Value> {
    match secrets::seal(catalogue().provision_schema(), &Value::Object(fields.clone()), secrets, &secrets::provision_context(kind, id)) {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// The value at a path of [`secrets::map_secrets`] (`registrant.register.password`, `a[0].b`).
fn at_path<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut here: Option<&Value> = None;
    for (n, part) in parts.by_ref().enumerate() {
        let (name, indexes) = part.split_once('[').map_or((part, ""), |(name, rest)| (name, rest));
        here = if n == 0 { root.get(name) } else { here?.get(name) };
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            here = here?.get(index.trim_end_matches(']').parse::<usize>().ok()?);
        }
    }
    here
}

/// Provision fields as given over the API, with every secret sent back as the mask (at any depth:
/// a contact's password inside `registrant`) replaced by the value stored at the same path; a
/// mask with nothing stored behind it is refused, naming its path (it would be kept as the
/// secret itself).
fn with_stored_secrets(given: &Map<String, Value>, stored: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut missing = Vec::new();
    let merged = secrets::map_secrets::<std::convert::Infallible>(catalogue().provision_schema(), &Value::Object(given.clone()), &mut |path, v| {
        if v.as_str() != Some(secrets::MASK) {
            return Ok(v.clone());
        }
        Ok(match at_path(stored, path) {
            Some(kept) => kept.clone(),
            None => {
                missing.push(field(&format!("provision_fields.{path}"), "is the mask, not a value: give the secret itself"));
                v.clone()
            }
        })
    })
    .unwrap_or_else(|e| match e {});
    if !missing.is_empty() {
        return Err(invalid(missing));
    }
    Ok(merged.as_object().cloned().unwrap_or_default())
}

pub struct Products<'a> {
    pub products: &'a ProductStore,
    pub configurations: &'a ConfigurationStore,
    /// Seals secret provision fields (and opens a product's, to seal them again for a contract
    /// product made from it).
    pub secrets: &'a SecretBox,
    /// Announces each new contract product (contract_product.created).
    pub publisher: Option<&'a dyn crate::ports::Publish>,
}

impl Products<'_> {
    /// A static deployment's configuration must exist and fit the blueprint and provider.
    async fn check_static(&self, id: &ConfigurationId, blueprint: &str, provider: Option<&str>) -> Result<(), ApiError> {
        let c = self.configurations.get(id).await?.ok_or_else(|| invalid(vec![field("deployment.configuration_id", format!("no provision configuration {id}"))]))?;
        if c.blueprint != blueprint || provider.is_some_and(|p| p != c.provider) {
            return Err(invalid(vec![field("deployment.configuration_id", format!("{id} is a {} / {} configuration", c.blueprint, c.provider))]));
        }
        Ok(())
    }

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
            self.check_static(configuration_id, b.id, provider_id).await?;
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

    /// Creates a contract product from a body of the POST /contract-products shape (also what an
    /// order.paid event for an unknown id becomes).
    pub async fn create_contract_product_from(&self, body: &Value) -> Result<ContractProduct, ApiError> {
        let body = body.clone();
        check(&contract_product_schema(), &body)?;
        let id = match body["id"].as_str() {
            Some(raw) => ContractProductId::parse_given(raw).map_err(|e| invalid(vec![field("id", e)]))?,
            None => ContractProductId::generate(),
        };
        let client_id = crate::domain::actor::ClientId::parse(body["client_id"].as_str().unwrap_or_default()).map_err(|e| invalid(vec![field("client_id", e)]))?;
        let product = match body["product_id"].as_str() {
            Some(raw) => {
                let pid = ProductId::parse(raw).map_err(|e| invalid(vec![field("product_id", e)]))?;
                Some(self.products.product(&pid).await?.ok_or_else(|| invalid(vec![field("product_id", format!("no product {raw}"))]))?)
            }
            None => None,
        };
        // Explicit fields win over the product's.
        let blueprint_id = body["blueprint"].as_str().or(product.as_ref().map(|p| p.blueprint.as_str()));
        let b = blueprint_of(blueprint_id.ok_or_else(|| invalid(vec![field("blueprint", "is required without a product_id")]))?)?;
        if let Some(p) = &product
            && p.blueprint != b.id
        {
            return Err(invalid(vec![field("blueprint", format!("product {} is of blueprint {}", p.id, p.blueprint))]));
        }
        let provider_id = body["provider"].as_str().or(product.as_ref().and_then(|p| p.provider.as_deref()));
        if let Some(p) = provider_id {
            provider(b.id, p).ok_or_else(|| invalid(vec![field("provider", "is not a provider of this blueprint")]))?;
        }
        let deployment = match &body["deployment"] {
            Value::Null => product.as_ref().map(|p| p.deployment.clone()).unwrap_or(Deployment::Dynamic),
            d => parse_deployment(d)?,
        };
        let (configuration_id, kind) = match &deployment {
            Deployment::Static { configuration_id } => {
                self.check_static(configuration_id, b.id, provider_id).await?;
                (configuration_id.clone(), "static")
            }
            Deployment::Dynamic => {
                let found = self.configurations.default_for(b.id, provider_id).await?;
                let what = provider_id.map_or(format!("blueprint {}", b.id), |p| format!("provider {p} of {}", b.id));
                let id = found.ok_or_else(|| ApiError::Conflict(format!("no default provision configuration for {what}")))?;
                (id, "dynamic")
            }
        };
        let configuration = self.configurations.get(&configuration_id).await?.ok_or_else(|| ApiError::Conflict(format!("provision configuration {configuration_id} is gone")))?;
        if !configuration.enabled {
            return Err(ApiError::Conflict(format!("provision configuration {configuration_id} is disabled")));
        }
        // The product's fields (opened, to be sealed again to this contract product), then the
        // request's.
        let inherited = match &product {
            Some(p) => match secrets::open(catalogue().provision_schema(), &Value::Object(p.provision_fields.clone()), self.secrets, &secrets::provision_context("product", p.id.as_str())) {
                Ok(Value::Object(o)) => o,
                Ok(_) => Map::new(),
                Err(e) => return Err(ApiError::internal(format!("provision fields of product {} do not open: {e}", p.id))),
            },
            None => Map::new(),
        };
        let given = with_stored_secrets(&body["provision_fields"].as_object().cloned().unwrap_or_default(), &inherited)?;
        let mut fields = inherited;
        fields.extend(given);
        let fields = sealed_fields(&fields, self.secrets, "cp", id.as_str());
        let now = now_rfc3339();
        let cp = ContractProduct {
            id,
            client_id: client_id.as_str().to_owned(),
            product_id: product.as_ref().map(|p| p.id.clone()),
            blueprint: b.id.to_owned(),
            provider: configuration.provider.clone(),
            provision_configuration_id: configuration_id,
            deployment: kind.to_owned(),
            service_identifier: body["service_identifier"].as_str().map(String::from),
            provision_fields: fields,
            setup_action: setup_action(b, body["setup_action"].as_str().or(product.as_ref().map(|p| p.setup_action.as_str())))?,
            status: ProductStatus::Pending,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
            unconfirmed_create: None,
            unconfirmed_action: None,
        };
        self.products.create_contract_product(&cp).await?;
        tracing::info!(contract_product_id = %cp.id, configuration_id = %cp.provision_configuration_id, "contract product created");
        if let Some(p) = self.publisher {
            p.publish(&crate::domain::outgoing::OutgoingEvent {
                id: format!("ev-created-{}", cp.id),
                kind: "contract_product.created".into(),
                contract_product_id: cp.id.to_string(),
                client_id: cp.client_id.clone(),
                blueprint: cp.blueprint.clone(),
                action: None,
                log_id: None,
                status: cp.status,
                message: format!("contract product {} created", cp.id),
                occurred_at: cp.created_at.clone(),
            })
            .await;
        }
        Ok(cp)
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
    pub async fn patch_contract_product(&self, caller: &Caller, request: &HttpRequest, params: &HashMap<String, String>, logs_table: &str) -> Result<HttpResponse, ApiError> {
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
        self.products.write_run(Some((&next, current.version)), logs_table, entry.item(), None).await.map_err(|e| match e {
            crate::adapters::dynamodb::StoreError::Conflict(_) => ApiError::Conflict(format!("contract product {id} changed meanwhile; read it again")),
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
            self.check_static(configuration_id, b.id, next.provider.as_deref()).await?;
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
        let old = match &current.deployment {
            Deployment::Static { configuration_id } => Some(configuration_id),
            Deployment::Dynamic => None,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A mask sent back keeps the stored value at its path, however deep; a mask with nothing
    /// behind it is refused by path; other values are taken as given.
    #[test]
    fn masked_secrets_keep_the_stored_value_at_any_depth() {
        let schema = catalogue().provision_schema();
        let nested: Vec<String> = crate::catalogue::schema::secret_paths(schema).into_iter().filter(|p| p.contains('.')).collect();
        let path = nested.first().expect("a nested secret field in the catalogue").clone();
        let (outer, inner) = path.split_once('.').unwrap();
        let wrap = |leaf: Value| {
            let mut v = leaf;
            for part in inner.rsplit('.') {
                v = json!({ part: v });
            }
            v
        };
        let stored: Map<String, Value> = json!({ outer: wrap(json!({ "$sealed": "v1:kept" })), "password": { "$sealed": "v1:pw" } }).as_object().cloned().unwrap();
        let given: Map<String, Value> = json!({ outer: wrap(json!(secrets::MASK)), "password": secrets::MASK, "package_name": "gold" }).as_object().cloned().unwrap();
        let merged = with_stored_secrets(&given, &stored).unwrap();
        assert_eq!(at_path(&merged, &path), Some(&json!({ "$sealed": "v1:kept" })), "{merged:?}");
        assert_eq!(merged["password"], json!({ "$sealed": "v1:pw" }));
        assert_eq!(merged["package_name"], "gold");
        let refused = with_stored_secrets(&given, &Map::new()).unwrap_err();
        assert!(refused.to_string().contains("invalid") || refused.status() == 400, "{refused}");
    }
}
