//! The admin API's handler: routes a request of the admin function to its operation.

mod configurations;

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::catalogue::catalogue;
use crate::http::auth::Authenticator;
use crate::http::{ApiError, HttpRequest, HttpResponse};
use crate::providers::providers;
use crate::secrets::SecretBox;
use crate::store::configurations::ConfigurationStore;

use configurations::Configurations;

/// What the admin function holds across invocations.
#[derive(Clone)]
pub struct Admin {
    auth: Authenticator,
    configurations: ConfigurationStore,
    secrets: Arc<SecretBox>,
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
    pub fn new(auth: Authenticator, configurations: ConfigurationStore, secrets: SecretBox) -> Self {
        Admin { auth, configurations, secrets: Arc::new(secrets) }
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        let (route, params) = request.route("admin")?;
        let caller = self.auth.authenticate(request.header("authorization")).await?;
        if route.operation_id == "listBlueprints" {
            return Ok(HttpResponse::raw_json(200, BLUEPRINTS.clone()));
        }
        caller.require_admin()?;
        let configurations = Configurations { store: &self.configurations, secrets: &self.secrets };
        match route.operation_id {
            "createConfiguration" => configurations.create(&request).await,
            "listConfigurations" => configurations.list(&request).await,
            "getConfiguration" => configurations.get(&params).await,
            "updateConfiguration" => configurations.patch(&request, &params).await,
            "deleteConfiguration" => configurations.delete(&params).await,
            other => Err(ApiError::internal(format!("route {other} has no handler"))),
        }
    }
}
