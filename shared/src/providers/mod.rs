//! Providers: one third party's implementation of a blueprint. Each declares the settings a
//! provision configuration of it needs (a schema; secret fields marked `x-secret`) and the
//! actions it supports. Every blueprint has `demo`, a working simulation.

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::catalogue;
use crate::catalogue::schema::{domain, int_range, params, secret, string_max};

#[derive(Debug, Clone, Serialize)]
pub struct ProviderSpec {
    pub id: &'static str,
    pub blueprint: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of a configuration's settings.
    pub settings: Value,
    pub supported_actions: Vec<&'static str>,
}

fn demo(blueprint: &'static str) -> ProviderSpec {
    let mut settings = params()
        .opt("account_label", string_max(100))
        .opt("api_key", secret())
        .opt("latency_ms", int_range(0, 10_000));
    if blueprint == "web-hosting" {
        settings = settings.req("server_hostname", domain());
    }
    ProviderSpec {
        id: "demo",
        blueprint,
        name: "Demo",
        description: "A working simulation with its state in DynamoDB: try every action with no third-party account",
        settings: settings.build(),
        supported_actions: catalogue().blueprint(blueprint).map(|b| b.actions.iter().map(|a| a.id).collect()).unwrap_or_default(),
    }
}

static PROVIDERS: LazyLock<Vec<ProviderSpec>> =
    LazyLock::new(|| catalogue().blueprints.iter().map(|b| demo(b.id)).collect());

/// Every provider of every blueprint.
pub fn providers() -> &'static [ProviderSpec] {
    &PROVIDERS
}

pub fn provider(blueprint: &str, id: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.blueprint == blueprint && p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blueprint_has_a_demo_provider_supporting_all_its_actions() {
        for b in &catalogue().blueprints {
            let p = provider(b.id, "demo").unwrap_or_else(|| panic!("{} has no demo", b.id));
            assert_eq!(p.supported_actions.len(), b.actions.len());
            assert_eq!(crate::catalogue::schema::secret_paths(&p.settings), ["api_key"]);
        }
        assert!(provider("web-hosting", "cpanel").is_none());
    }
}
