//! Making contract products: from a product (a provisioning template) and/or explicit fields,
//! with the configuration its deployment names or the enabled default of its provider or
//! blueprint. The admin API's POST /contract-products and the worker's first order.paid of an
//! unknown service both come here.

use serde_json::{Map, Value};

use super::{Engine, EngineError};
use crate::catalogue::schema::{any_object, one_of, params, string, string_max};
use crate::catalogue::validate::{FieldError, to_details, validate};
use crate::catalogue::{Blueprint, catalogue};
use crate::domain::ProductStatus;
use crate::domain::configuration::Configuration;
use crate::domain::ids::{ConfigurationId, ContractProductId, ProductId};
use crate::domain::product::{ContractProduct, Deployment};
use crate::domain::time::now_rfc3339;
use crate::ports::{Configurations, StoreError};
use crate::providers::provider;
use crate::secrets::{self, SecretBox};

/// A refusal naming the fields that are wrong.
pub(super) fn invalid(errors: Vec<FieldError>) -> EngineError {
    EngineError::invalid("the request has invalid fields", to_details(&errors))
}

pub(super) fn field(path: &str, message: impl Into<String>) -> FieldError {
    FieldError { path: path.to_owned(), message: message.into() }
}

/// A body checked against its schema, or the refusal naming every failing field.
pub(super) fn check(schema: &Value, body: &Value) -> Result<(), EngineError> {
    let errors = validate(schema, body);
    if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
}

pub fn deployment_schema() -> Value {
    params()
        .req("type", one_of(&["static", "dynamic", "pool"]))
        .opt("configuration_id", string())
        // pool: how the configurations with room are ordered, and the tag they must carry.
        .opt("strategy", one_of(&["least_used", "fill"]))
        .opt("tag", crate::catalogue::schema::pattern("^[A-Za-z0-9._-]{1,40}$"))
        .build()
}

/// A blueprint id of the catalogue.
pub fn blueprint_id() -> Value {
    one_of(&catalogue().blueprint_ids())
}

/// A provider id (which ones a blueprint has: `GET /blueprints`).
pub fn provider_id() -> Value {
    one_of(&crate::providers::provider_ids())
}

/// The create action a contract product is set up with.
pub fn setup_action_id() -> Value {
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

pub fn blueprint_of(id: &str) -> Result<&'static Blueprint, EngineError> {
    catalogue().blueprint(id).ok_or_else(|| invalid(vec![field("blueprint", "is not a blueprint of the catalogue")]))
}

/// The setup action: the one asked for, which must be a create action of the blueprint, or the
/// blueprint's first create action.
pub fn setup_action(b: &Blueprint, asked: Option<&str>) -> Result<String, EngineError> {
    let creates = |id: &str| b.actions.iter().any(|a| a.id == id && a.allowed_from.contains(&ProductStatus::Pending));
    match asked {
        Some(a) if creates(a) => Ok(a.to_owned()),
        Some(_) => Err(invalid(vec![field("setup_action", format!("must be a create action of {}", b.id))])),
        None => b.actions.iter().find(|a| a.allowed_from.contains(&ProductStatus::Pending)).map(|a| a.id.to_owned()).ok_or_else(|| EngineError::internal(format!("{} has no create action", b.id))),
    }
}

pub fn parse_deployment(v: &Value) -> Result<Deployment, EngineError> {
    let pooled = !v["strategy"].is_null() || !v["tag"].is_null();
    if pooled && v["type"].as_str() != Some("pool") {
        return Err(invalid(vec![field("deployment.type", "must be pool for a strategy or a tag")]));
    }
    match (v["type"].as_str(), v["configuration_id"].as_str()) {
        (Some("pool"), None) => {
            let strategy = match v["strategy"].as_str() {
                None | Some("least_used") => crate::domain::product::Placement::LeastUsed,
                Some("fill") => crate::domain::product::Placement::Fill,
                Some(_) => return Err(invalid(vec![field("deployment.strategy", "must be least_used or fill")])),
            };
            Ok(Deployment::Pool { strategy, tag: v["tag"].as_str().map(str::to_owned) })
        }
        (Some("pool"), Some(_)) => Err(invalid(vec![field("deployment.configuration_id", "is only for a static deployment")])),
        (Some("static"), Some(raw)) => ConfigurationId::parse(raw).map(|configuration_id| Deployment::Static { configuration_id }).map_err(|e| invalid(vec![field("deployment.configuration_id", e)])),
        (Some("static"), None) => Err(invalid(vec![field("deployment.configuration_id", "is required for a static deployment")])),
        (Some("dynamic"), None) => Ok(Deployment::Dynamic),
        (Some("dynamic"), Some(_)) => Err(invalid(vec![field("deployment.configuration_id", "is only for a static deployment")])),
        _ => Err(invalid(vec![field("deployment.type", "must be static, dynamic or pool")])),
    }
}

/// Provision fields as stored: every secret field sealed to its record (`kind:id`).
pub fn sealed_fields(fields: &Map<String, Value>, secrets: &SecretBox, kind: &str, id: &str) -> Map<String, Value> {
    match secrets::seal(catalogue().provision_schema(), &Value::Object(fields.clone()), secrets, &secrets::provision_context(kind, id)) {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// The value at a path of [`secrets::map_secrets`] (`registrant.register.password`, `a[0].b`).
pub fn at_path<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
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
pub fn with_stored_secrets(given: &Map<String, Value>, stored: &Map<String, Value>) -> Result<Map<String, Value>, EngineError> {
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

/// A static deployment's configuration must exist and fit the blueprint and provider.
pub async fn check_static(configurations: &dyn Configurations, id: &ConfigurationId, blueprint: &str, provider: Option<&str>) -> Result<(), EngineError> {
    let c = configurations.configuration(id).await?.ok_or_else(|| invalid(vec![field("deployment.configuration_id", format!("no provision configuration {id}"))]))?;
    if c.blueprint != blueprint || provider.is_some_and(|p| p != c.provider) {
        return Err(invalid(vec![field("deployment.configuration_id", format!("{id} is a {} / {} configuration", c.blueprint, c.provider))]));
    }
    Ok(())
}

/// What an order.paid event for an unknown contract product makes: a body of the POST
/// /contract-products shape from the event's data.
pub fn order_body(contract_product_id: &str, data: &Value) -> Value {
    let body = serde_json::json!({
        "id": contract_product_id,
        "client_id": data["client_id"],
        "product_id": data["product_id"],
        "service_identifier": data["service_identifier"],
        "provision_fields": data["provision_fields"],
    });
    Value::Object(body.as_object().cloned().unwrap_or_default().into_iter().filter(|(_, v)| !v.is_null()).collect())
}

impl Engine {
    /// Creates a contract product from a body of the POST /contract-products shape (also what an
    /// order.paid event for an unknown id becomes): see [`Engine::draft_contract_product`];
    /// stored, counted on its configuration, and announced as contract_product.created.
    pub async fn create_contract_product(&self, body: &Value) -> Result<ContractProduct, EngineError> {
        let (mut cp, alternatives) = self.plan_contract_product(body).await?;
        let pooled = cp.deployment == "pool";
        let mut alternatives = alternatives.into_iter();
        loop {
            match self.products.create(&cp, None, Some(&Self::created_event(&cp, "created"))).await {
                Ok(()) => break,
                // Filled (or disabled) since it was read: the next configuration with room.
                Err(StoreError::Conflict(why)) if pooled => match alternatives.next() {
                    _ if self.products.contract_product(&cp.id).await?.is_some() => return Err(EngineError::Conflict(why)),
                    Some(next) => {
                        cp.provision_configuration_id = next.id;
                        cp.provider = next.provider;
                    }
                    None => return Err(EngineError::Conflict(format!("every provision configuration of {}'s pool is full: no room for contract product {}", cp.blueprint, cp.id))),
                },
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(contract_product_id = %cp.id, configuration_id = %cp.provision_configuration_id, "contract product created");
        Ok(cp)
    }

    /// The event a new contract product makes (`contract_product.created`), made or imported:
    /// written with it (an outbox record).
    pub(super) fn created_event(cp: &ContractProduct, how: &str) -> crate::domain::outgoing::OutgoingEvent {
        crate::domain::outgoing::OutgoingEvent {
            id: format!("ev-created-{}", cp.id),
            kind: "contract_product.created".into(),
            contract_product_id: cp.id.to_string(),
            client_id: cp.client_id.clone(),
            blueprint: cp.blueprint.clone(),
            action: None,
            log_id: None,
            status: cp.status,
            message: format!("contract product {} {how}", cp.id),
            occurred_at: cp.created_at.clone(),
        }
    }

    /// The contract product a body of the POST /contract-products shape would make, checked but
    /// not stored: its configuration the static one named or the enabled default, its provision
    /// fields the product's and then the body's, secrets sealed to it.
    pub async fn draft_contract_product(&self, body: &Value) -> Result<ContractProduct, EngineError> {
        Ok(self.plan_contract_product(body).await?.0)
    }

    /// [`Engine::draft_contract_product`], with the other configurations a pool deployment may
    /// place it on, in order, should its first choice fill up before the product is stored.
    async fn plan_contract_product(&self, body: &Value) -> Result<(ContractProduct, Vec<Configuration>), EngineError> {
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
                Some(self.templates.product(&pid).await?.ok_or_else(|| invalid(vec![field("product_id", format!("no product {raw}"))]))?)
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
        let what = provider_id.map_or(format!("blueprint {}", b.id), |p| format!("provider {p} of {}", b.id));
        let mut alternatives = Vec::new();
        let configuration = match &deployment {
            Deployment::Static { configuration_id } => {
                check_static(self.configurations.as_ref(), configuration_id, b.id, provider_id).await?;
                self.configurations.configuration(configuration_id).await?.ok_or_else(|| EngineError::Conflict(format!("provision configuration {configuration_id} is gone")))?
            }
            Deployment::Dynamic => {
                let found = self.configurations.default_for(b.id, provider_id).await?;
                let id = found.ok_or_else(|| EngineError::Conflict(format!("no default provision configuration for {what}")))?;
                self.configurations.configuration(&id).await?.ok_or_else(|| EngineError::Conflict(format!("provision configuration {id} is gone")))?
            }
            Deployment::Pool { strategy, tag } => {
                // Every enabled configuration that fits and has room, in the strategy's order: the
                // first is tried, the others in turn if it fills up meanwhile (the store's count
                // decides, never this read).
                let mut candidates: Vec<Configuration> = self
                    .configurations
                    .of_blueprint(b.id)
                    .await?
                    .into_iter()
                    .filter(|c| c.enabled && c.has_room() && provider_id.is_none_or(|p| c.provider == p) && tag.as_ref().is_none_or(|t| c.tags.contains(t)))
                    .collect();
                strategy.order(&mut candidates);
                let tagged = tag.as_ref().map(|t| format!(" tagged {t}")).unwrap_or_default();
                let mut ordered = candidates.into_iter();
                let first = ordered.next().ok_or_else(|| EngineError::Conflict(format!("no enabled provision configuration for {what}{tagged} has room")))?;
                alternatives = ordered.collect();
                first
            }
        };
        let configuration_id = configuration.id.clone();
        let kind = deployment.kind();
        if !configuration.enabled {
            return Err(EngineError::Conflict(format!("provision configuration {configuration_id} is disabled")));
        }
        // The product's fields (opened, to be sealed again to this contract product), then the
        // request's.
        let inherited = match &product {
            Some(p) => match secrets::open(catalogue().provision_schema(), &Value::Object(p.provision_fields.clone()), &self.secrets, &secrets::provision_context("product", p.id.as_str())) {
                Ok(Value::Object(o)) => o,
                Ok(_) => Map::new(),
                Err(e) => return Err(EngineError::internal(format!("provision fields of product {} do not open: {e}", p.id))),
            },
            None => Map::new(),
        };
        let given = with_stored_secrets(&body["provision_fields"].as_object().cloned().unwrap_or_default(), &inherited)?;
        let mut fields = inherited;
        fields.extend(given);
        let fields = sealed_fields(&fields, &self.secrets, "cp", id.as_str());
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
        Ok((cp, alternatives))
    }

    /// Whether an order.paid event can run: the contract product it names (as it is, or as the
    /// event would make it) and its setup action with the params the worker would give it, all
    /// checked as the worker's run will check them, nothing written. The webhook refuses with this
    /// what would only fail later: a missing product or default configuration, a setup action's
    /// missing fields (from the product and the event's data).
    pub async fn check_order(&self, event_id: &str, contract_product_id: &str, known: Option<ContractProduct>, data: &Value) -> Result<(), EngineError> {
        let cp = match known {
            Some(cp) => cp,
            None => self.draft_contract_product(&order_body(contract_product_id, data)).await?,
        };
        let Some(b) = catalogue().blueprint(&cp.blueprint) else { return Ok(()) };
        let Some((action, params)) = super::lifecycle::action_for("order.paid", b, &cp, data) else { return Ok(()) };
        let actor = crate::domain::actor::Actor::System(format!("billing:{event_id}"));
        self.check_run(&actor, cp, b.id, action.id, &serde_json::json!({ "params": params })).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert!(matches!(refused, EngineError::Invalid { .. }), "{refused}");
    }
}
