//! The provision configuration routes: one third-party system and its credentials each.
//! Settings are checked against the provider's schema; secret ones are sealed before they are
//! stored and never shown again (masked on every read).

use serde_json::{Map, Value, json};

use super::{check, field, invalid};
use crate::adapters::dynamodb::configurations::ConfigurationStore;
use crate::api::{ApiError, HttpRequest, HttpResponse, json_body};
use crate::catalogue::catalogue;
use crate::catalogue::schema::{any_object, array, boolean, int_range, one_of, params, pattern, string_max};
use crate::catalogue::validate::{FieldError, validate};
use crate::domain::configuration::{Configuration, Defaults};
use crate::domain::ids::ConfigurationId;
use crate::domain::time::now_rfc3339;
use crate::providers::{ProviderSpec, provider};
use crate::secrets::{self, MASK, SEALED, SecretBox};

/// The body of POST /provision-configurations.
pub fn create_schema() -> Value {
    params()
        .req("name", string_max(100))
        .req("blueprint", one_of(&catalogue().blueprint_ids()))
        .req("provider", one_of(&crate::providers::provider_ids()))
        .opt("enabled", boolean())
        .opt("default_for_blueprint", boolean())
        .opt("default_for_provider", boolean())
        .req("settings", any_object())
        .opt("capacity", int_range(0, 1_000_000))
        .opt("tags", tags_schema())
        .opt("limits", limits_schema())
        .build()
}

/// A configuration's limits: provider calls at once and per second across every instance, and
/// the transient failures in a row that open its breaker (0: never).
pub fn limits_schema() -> Value {
    params().opt("max_concurrency", int_range(1, 1000)).opt("requests_per_second", int_range(1, 10_000)).opt("breaker_failures", int_range(0, 1000)).build()
}

fn limits_of(v: &Value) -> crate::domain::configuration::Limits {
    let n = |k: &str| v[k].as_u64().map(|n| n as u32);
    crate::domain::configuration::Limits { max_concurrency: n("max_concurrency"), requests_per_second: n("requests_per_second"), breaker_failures: n("breaker_failures") }
}

/// A configuration's tags: labels placement chooses by (a region, a disk type).
pub fn tags_schema() -> Value {
    let mut tags = array(pattern("^[A-Za-z0-9._-]{1,40}$"));
    tags["maxItems"] = json!(20);
    tags
}

/// The body of PATCH /provision-configurations/{id}.
pub fn patch_schema() -> Value {
    params()
        .opt("name", string_max(100))
        .opt("enabled", boolean())
        .opt("default_for_blueprint", boolean())
        .opt("default_for_provider", boolean())
        .opt("settings", any_object())
        // null removes the limit.
        .opt("capacity", int_range(0, 1_000_000))
        .opt("tags", tags_schema())
        // Replaces the limits as a whole: a limit left out is lifted.
        .opt("limits", limits_schema())
        .build()
}

/// Settings as the schema sees them: sealed secrets stand as the mask, a valid value.
fn checkable(spec: &ProviderSpec, settings: &Value) -> Value {
    secrets::map_secrets::<std::convert::Infallible>(&spec.settings, settings, &mut |_, v| Ok(if v.get(SEALED).is_some() { Value::String(MASK.into()) } else { v.clone() }))
        .unwrap_or_else(|e| match e {})
}

fn check_settings(spec: &ProviderSpec, settings: &Value) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = validate(&spec.settings, &checkable(spec, settings))
        .into_iter()
        .map(|e| FieldError { path: if e.path.is_empty() { "settings".into() } else { format!("settings.{}", e.path) }, ..e })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
}

/// Refuses a change of where the credentials are sent (any field the schema marks `x-address`:
/// host, port, base URL, sandbox switch, trusted CA) that keeps a stored secret: each secret
/// field must be given again with it, or the stored token would be sent to the new address.
/// A masked secret sent back is only kept while the address stays.
fn refuse_moved_secrets(spec: &ProviderSpec, stored: &Value, changes: &Map<String, Value>, secret_fields: &[String]) -> Result<(), ApiError> {
    let moved: Vec<String> = crate::catalogue::schema::address_fields(&spec.settings).into_iter().filter(|k| changes.get(k).is_some_and(|v| stored.get(k).unwrap_or(&Value::Null) != v)).collect();
    if moved.is_empty() {
        return Ok(());
    }
    let kept: Vec<FieldError> = secret_fields
        .iter()
        .filter(|k| !stored.get(k.as_str()).unwrap_or(&Value::Null).is_null())
        .filter(|k| changes.get(k.as_str()).is_none_or(|v| v.as_str() == Some(MASK)))
        .map(|k| FieldError { path: format!("settings.{k}"), message: format!("must be given again: {} changes where it is sent", moved.join(", ")) })
        .collect();
    if kept.is_empty() { Ok(()) } else { Err(invalid(kept)) }
}

/// Tags as given (checked against [`tags_schema`]), each once, in order.
fn tags_of(v: &Value) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_owned());
        }
    }
    tags
}

fn spec_of(c: &Configuration) -> Result<&'static ProviderSpec, ApiError> {
    provider(&c.blueprint, &c.provider).ok_or_else(|| ApiError::internal(format!("configuration {} names unknown provider {}", c.id, c.provider)))
}

/// What the API shows of a configuration: secrets masked.
pub fn view(c: &Configuration, defaults: Defaults) -> Result<Value, ApiError> {
    Ok(json!({
        "id": c.id,
        "name": c.name,
        "blueprint": c.blueprint,
        "provider": c.provider,
        "enabled": c.enabled,
        "default_for_blueprint": defaults.for_blueprint,
        "default_for_provider": defaults.for_provider,
        "settings": secrets::mask(&spec_of(c)?.settings, &c.settings),
        "usage_count": c.usage_count,
        "capacity": c.capacity,
        "tags": c.tags,
        "services_count": c.services_count,
        "limits": c.limits,
        "breaker": breaker_view(&c.breaker),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "version": c.version,
    }))
}

/// The breaker as the API shows it: its state, the failures counted, and while open when its
/// probe may run and what opened it.
pub fn breaker_view(b: &crate::domain::configuration::Breaker) -> Value {
    let state = b.state(crate::domain::time::now_millis());
    let retry_at = (state != "closed").then(|| crate::domain::time::format_millis(b.retry_at_ms));
    json!({ "state": state, "failures": b.failures, "retry_at": retry_at, "cause": b.cause })
}

fn parse_id(params: &std::collections::HashMap<String, String>) -> Result<ConfigurationId, ApiError> {
    let raw = params.get("id").map(String::as_str).unwrap_or_default();
    ConfigurationId::parse(raw).map_err(|_| ApiError::NotFound(format!("no provision configuration {raw:?}")))
}

pub struct Configurations<'a> {
    pub store: &'a ConfigurationStore,
    pub secrets: &'a SecretBox,
}

impl Configurations<'_> {
    async fn load(&self, id: &ConfigurationId) -> Result<(Configuration, Defaults), ApiError> {
        let c = self.store.get(id).await?.ok_or_else(|| ApiError::NotFound(format!("no provision configuration {id}")))?;
        let defaults = self.store.defaults(&[(c.blueprint.clone(), c.provider.clone())]).await?.of(&c);
        Ok((c, defaults))
    }

    pub async fn create(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let body = json_body(request)?;
        check(&create_schema(), &body)?;
        let blueprint = body["blueprint"].as_str().unwrap_or_default();
        let provider_id = body["provider"].as_str().unwrap_or_default();
        if catalogue().blueprint(blueprint).is_none() {
            return Err(invalid(vec![field("blueprint", "is not a blueprint of the catalogue")]));
        }
        let spec = provider(blueprint, provider_id).ok_or_else(|| invalid(vec![field("provider", "is not a provider of this blueprint")]))?;
        check_settings(spec, &body["settings"])?;
        let masked: Vec<FieldError> = crate::catalogue::schema::secret_paths(&spec.settings)
            .into_iter()
            .filter(|k| body["settings"][k.as_str()].as_str() == Some(MASK))
            .map(|k| FieldError { path: format!("settings.{k}"), message: "is the mask, not a value: give the secret itself".into() })
            .collect();
        if !masked.is_empty() {
            return Err(invalid(masked));
        }
        let id = ConfigurationId::generate();
        let now = now_rfc3339();
        let c = Configuration {
            settings: secrets::seal(&spec.settings, &body["settings"], self.secrets, id.as_str()),
            id,
            name: body["name"].as_str().unwrap_or_default().to_owned(),
            blueprint: blueprint.to_owned(),
            provider: provider_id.to_owned(),
            enabled: body["enabled"].as_bool().unwrap_or(true),
            created_at: now.clone(),
            updated_at: now,
            version: 1,
            usage_count: 0,
            capacity: body["capacity"].as_u64(),
            tags: tags_of(&body["tags"]),
            services_count: 0,
            limits: limits_of(&body["limits"]),
            breaker: Default::default(),
        };
        let defaults = Defaults { for_blueprint: body["default_for_blueprint"].as_bool().unwrap_or(false), for_provider: body["default_for_provider"].as_bool().unwrap_or(false) };
        self.store.create(&c, defaults).await?;
        tracing::info!(configuration_id = %c.id, blueprint = %c.blueprint, provider = %c.provider, "provision configuration created");
        HttpResponse::json(201, &view(&c, defaults)?)
    }

    pub async fn list(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let blueprint = request.query.get("blueprint").map(String::as_str);
        if let Some(b) = blueprint
            && catalogue().blueprint(b).is_none()
        {
            return Err(invalid(vec![field("blueprint", "is not a blueprint of the catalogue")]));
        }
        let all = self.store.list(blueprint).await?;
        let pairs: Vec<(String, String)> = all.iter().map(|c| (c.blueprint.clone(), c.provider.clone())).collect();
        let defaults = self.store.defaults(&pairs).await?;
        let items = all.iter().map(|c| view(c, defaults.of(c))).collect::<Result<Vec<_>, _>>()?;
        HttpResponse::json(200, &json!({ "items": items }))
    }

    pub async fn get(&self, params: &std::collections::HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let (c, defaults) = self.load(&parse_id(params)?).await?;
        HttpResponse::json(200, &view(&c, defaults)?)
    }

    pub async fn patch(&self, request: &HttpRequest, params: &std::collections::HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let id = parse_id(params)?;
        let body = json_body(request)?;
        check(&patch_schema(), &body)?;
        let (current, has) = self.load(&id).await?;
        let spec = spec_of(&current)?;
        let mut next = current.clone();
        if let Some(name) = body["name"].as_str() {
            next.name = name.to_owned();
        }
        if let Some(enabled) = body["enabled"].as_bool() {
            next.enabled = enabled;
        }
        if body.get("capacity").is_some() {
            next.capacity = body["capacity"].as_u64();
        }
        if body.get("tags").is_some() {
            next.tags = tags_of(&body["tags"]);
        }
        if body.get("limits").is_some() {
            next.limits = limits_of(&body["limits"]);
        }
        if let Some(changes) = body["settings"].as_object() {
            let mut settings: Map<String, Value> = current.settings.as_object().cloned().unwrap_or_default();
            let secret_fields = crate::catalogue::schema::secret_paths(&spec.settings);
            refuse_moved_secrets(spec, &current.settings, changes, &secret_fields)?;
            for (k, v) in changes {
                match v {
                    Value::Null => {
                        settings.remove(k);
                    }
                    // A secret sent back masked, as a form shows it, stays as it was.
                    Value::String(m) if m == MASK && secret_fields.contains(k) => {}
                    other => {
                        settings.insert(k.clone(), other.clone());
                    }
                }
            }
            next.settings = Value::Object(settings);
            check_settings(spec, &next.settings)?;
            next.settings = secrets::seal(&spec.settings, &next.settings, self.secrets, id.as_str());
        }
        let want = Defaults { for_blueprint: body["default_for_blueprint"].as_bool().unwrap_or(has.for_blueprint), for_provider: body["default_for_provider"].as_bool().unwrap_or(has.for_provider) };
        next.version = current.version + 1;
        next.updated_at = now_rfc3339();
        self.store.update(&next, current.version, has, want).await?;
        tracing::info!(configuration_id = %id, version = next.version, "provision configuration changed");
        HttpResponse::json(200, &view(&next, want)?)
    }

    pub async fn delete(&self, params: &std::collections::HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let (c, has) = self.load(&parse_id(params)?).await?;
        if c.usage_count > 0 {
            return Err(ApiError::Conflict(format!("provision configuration {} is used by {} products", c.id, c.usage_count)));
        }
        self.store.delete(&c, has).await?;
        tracing::info!(configuration_id = %c.id, "provision configuration deleted");
        HttpResponse::json(200, &json!({ "id": c.id, "deleted": true }))
    }
}
