//! Outgoing event handlers (API.md `/event-handlers`): name, event, target (a URL, https or
//! loopback http; or a Lambda function), status enabled / disabled / archived, priority (1 runs
//! first), and a signing secret that is sealed at rest and never shown after creation.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{check, field, invalid};
use crate::adapters::dynamodb::handlers::HandlerStore;
use crate::api::{ApiError, HttpRequest, HttpResponse, json_body};
use crate::catalogue::schema::{int_range, one_of, params, secret, string_max};
use crate::domain::handler::EventHandler;
use crate::domain::outgoing::EVENT_NAMES;
use crate::domain::time::now_rfc3339;
use crate::secrets::{self, MASK, SecretBox};

fn target_schema() -> Value {
    params().req("type", one_of(&["url", "lambda"])).opt("url", string_max(2048)).opt("function", string_max(256)).build()
}

/// The body of POST /event-handlers.
pub fn create_schema() -> Value {
    params()
        .req("name", string_max(100))
        .req("event", one_of(&EVENT_NAMES))
        .req("target", target_schema())
        .opt("status", one_of(&["enabled", "disabled", "archived"]))
        .opt("priority", int_range(1, 1000))
        .opt("secret", secret())
        .build()
}

/// The body of PATCH /event-handlers/{id}.
pub fn patch_schema() -> Value {
    params()
        .opt("name", string_max(100))
        .opt("event", one_of(&EVENT_NAMES))
        .opt("target", target_schema())
        .opt("status", one_of(&["enabled", "disabled", "archived"]))
        .opt("priority", int_range(1, 1000))
        .opt("secret", secret())
        .build()
}

fn bad(path: &str, message: &str) -> ApiError {
    invalid(vec![field(path, message)])
}

/// A URL target must be https to a public host (plain http only to this machine, on the local
/// stack: [`crate::providers::check_handler_url`]); a Lambda target one of the stack's own
/// functions or one under the configured prefix ([`crate::domain::handler::allowed_function`]).
fn check_target(t: &Value) -> Result<(), ApiError> {
    match t["type"].as_str() {
        Some("url") => {
            let url = t["url"].as_str().ok_or_else(|| bad("target.url", "is required for a url target"))?;
            crate::providers::check_handler_url(url).map_err(|why| bad("target.url", &why))
        }
        Some("lambda") => {
            let f = t["function"].as_str().ok_or_else(|| bad("target.function", "is required for a lambda target"))?;
            let ok = f.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c)) && !f.is_empty();
            if !ok {
                return Err(bad("target.function", "must be a function name or ARN"));
            }
            crate::domain::handler::allowed_function(f).map_err(|why| bad("target.function", &why))
        }
        _ => Err(bad("target.type", "must be url or lambda")),
    }
}

fn view(h: &EventHandler) -> Value {
    let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
    v["secret"] = json!(MASK);
    v
}

fn random_secret() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Handlers<'a> {
    pub store: &'a HandlerStore,
    pub secrets: &'a SecretBox,
}

impl Handlers<'_> {
    fn load_id(params: &HashMap<String, String>) -> String {
        params.get("id").cloned().unwrap_or_default()
    }

    async fn load(&self, id: &str) -> Result<EventHandler, ApiError> {
        self.store.get(id).await?.ok_or_else(|| ApiError::NotFound(format!("no event handler {id:?}")))
    }

    pub async fn create(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let body = json_body(request)?;
        check(&create_schema(), &body)?;
        check_target(&body["target"])?;
        let id = format!("eh-{}", &random_secret()[..32]);
        let given = body["secret"].as_str().map(String::from);
        let plain = given.clone().unwrap_or_else(random_secret);
        let now = now_rfc3339();
        let h = EventHandler {
            secret: secrets::seal(&crate::secrets::handler_secret_schema(), &json!({ "secret": plain }), self.secrets, &id)["secret"].clone(),
            id,
            name: body["name"].as_str().unwrap_or_default().to_owned(),
            event: body["event"].as_str().unwrap_or_default().to_owned(),
            target: body["target"].clone(),
            status: body["status"].as_str().unwrap_or("enabled").to_owned(),
            priority: body["priority"].as_u64().unwrap_or(100) as u32,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        };
        self.store.put(&h, None).await?;
        let mut answer = view(&h);
        if given.is_none() {
            // A secret the engine made is shown this once, so the receiver can check signatures.
            answer["secret"] = json!(plain);
        }
        HttpResponse::json(201, &answer)
    }

    pub async fn list(&self) -> Result<HttpResponse, ApiError> {
        let items: Vec<Value> = self.store.all().await?.iter().map(view).collect();
        HttpResponse::json(200, &json!({ "items": items }))
    }

    pub async fn get(&self, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        HttpResponse::json(200, &view(&self.load(&Self::load_id(params)).await?))
    }

    pub async fn patch(&self, request: &HttpRequest, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let body = json_body(request)?;
        check(&patch_schema(), &body)?;
        let current = self.load(&Self::load_id(params)).await?;
        let mut next = current.clone();
        if let Some(v) = body["name"].as_str() {
            next.name = v.to_owned();
        }
        if let Some(v) = body["event"].as_str() {
            next.event = v.to_owned();
        }
        if body["target"].is_object() {
            check_target(&body["target"])?;
            next.target = body["target"].clone();
        }
        if let Some(v) = body["status"].as_str() {
            next.status = v.to_owned();
        }
        if let Some(v) = body["priority"].as_u64() {
            next.priority = v as u32;
        }
        if let Some(v) = body["secret"].as_str().filter(|v| *v != MASK) {
            next.secret = secrets::seal(&crate::secrets::handler_secret_schema(), &json!({ "secret": v }), self.secrets, &next.id)["secret"].clone();
        }
        next.version = current.version + 1;
        next.updated_at = now_rfc3339();
        self.store.put(&next, Some(current.version)).await?;
        HttpResponse::json(200, &view(&next))
    }

    pub async fn executions(&self, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let h = self.load(&Self::load_id(params)).await?;
        HttpResponse::json(200, &json!({ "items": self.store.executions(&h.id).await? }))
    }
}
