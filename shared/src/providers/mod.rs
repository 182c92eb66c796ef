//! Providers: one third party's implementation of a blueprint. Each declares the settings a
//! provision configuration of it needs (a schema; secret fields marked `x-secret`) and the
//! actions it supports. Every blueprint has `demo`, a working simulation.
//!
//! An implementation gets a call whose params were already checked against the action's schema
//! and whose settings are opened; it answers with result data (checked against the result
//! schema by the engine) or a failure that says whether trying again may help. Every exchange
//! with the third party goes into `debug`; the engine masks secrets in it by schema.

pub mod blueprints;
pub mod cpanel;
pub mod demo;
pub mod http;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::{Action, Blueprint, catalogue};
use crate::ids::ConfigurationId;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One action for an implementation to carry out.
pub struct ProviderCall<'a> {
    pub blueprint: &'static Blueprint,
    pub action: &'static Action,
    pub configuration_id: &'a ConfigurationId,
    /// The configuration's settings, secrets opened.
    pub settings: &'a Value,
    /// Checked against the action's params schema.
    pub params: &'a Value,
    /// The contract product's identifier at the third party (none before a create).
    pub service_identifier: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct ProviderOutput {
    pub message: String,
    pub data: Value,
    /// The service identifier after the action, when it made or changed it.
    pub service_identifier: Option<String>,
    pub debug: Vec<Value>,
}

/// Whether trying again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The third party refused (bad input, missing object, bad credentials): retrying won't help.
    Permanent,
    /// 5xx, throttling, a dropped connection: a later try may succeed.
    Transient,
    /// No answer in time: the effect is unknown until checked.
    Timeout,
}

#[derive(Debug, Clone)]
pub struct ProviderFailure {
    pub kind: FailureKind,
    /// Safe for end users: no credentials, no internals.
    pub message: String,
    pub debug: Vec<Value>,
}

impl ProviderFailure {
    pub fn permanent(message: impl Into<String>) -> Self {
        ProviderFailure { kind: FailureKind::Permanent, message: message.into(), debug: Vec::new() }
    }
}

/// What every provider does besides its blueprint's actions.
pub trait Connect: Send + Sync {
    /// Checks a configuration's credentials against the third party, changing nothing there.
    fn test_connection<'a>(&'a self, blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>>;
}

/// The implementations a function holds, built once per Lambda instance.
#[derive(Clone)]
pub struct Implementations {
    demo: Arc<demo::Demo>,
    http: Arc<http::Http>,
    cpanel: Arc<cpanel::Cpanel>,
}

impl Implementations {
    pub fn new(ddb: aws_sdk_dynamodb::Client, main_table: &str) -> Self {
        Implementations { demo: Arc::new(demo::Demo::new(ddb, main_table)), http: Arc::new(http::Http::new()), cpanel: Arc::new(cpanel::Cpanel::new()) }
    }

    /// A provider of a blueprint: its actions, and its connection check.
    pub fn get(&self, blueprint: &str, provider_id: &str) -> Option<(blueprints::Implementation, Arc<dyn Connect>)> {
        use blueprints::Implementation as I;
        let spec = provider(blueprint, provider_id)?;
        /// One implementation serving every blueprint.
        macro_rules! every_blueprint {
            ($p:expr) => {{
                let p = $p;
                let actions = match blueprint {
                    "web-hosting" => I::WebHosting(p.clone()),
                    "domain-names" => I::DomainNames(p.clone()),
                    "auto-login" => I::AutoLogin(p.clone()),
                    "seo" => I::Seo(p.clone()),
                    "website-builders" => I::WebsiteBuilders(p.clone()),
                    "software-licenses" => I::SoftwareLicenses(p.clone()),
                    "servers" => I::Servers(p.clone()),
                    "office-tools" => I::OfficeTools(p.clone()),
                    _ => return None,
                };
                let connect: Arc<dyn Connect> = p;
                Some((actions, connect))
            }};
        }
        match spec.id {
            "demo" => every_blueprint!(self.demo.clone()),
            "http" => every_blueprint!(self.http.clone()),
            "cpanel" if blueprint == "web-hosting" => Some((I::WebHosting(self.cpanel.clone()), self.cpanel.clone() as Arc<dyn Connect>)),
            _ => None,
        }
    }
}
use crate::catalogue::schema::{domain, int_range, params, pattern, secret, string_max, url};

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
        .opt("latency_ms", int_range(0, 10_000))
        .opt("transient_failures", int_range(0, 10))
        .opt("lost_answers", int_range(0, 10))
        .opt("async_seconds", int_range(0, 600))
        .opt("fault_rate", int_range(0, 100));
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

fn http(blueprint: &'static str) -> ProviderSpec {
    let settings = params()
        .req("endpoint_url", url())
        .req("signing_secret", secret())
        .opt("timeout_seconds", int_range(1, http::MAX_TIMEOUT_SECONDS as i64))
        .build();
    ProviderSpec {
        id: "http",
        blueprint,
        name: "Your own HTTP endpoint",
        description: "Every action is one signed JSON POST to an endpoint of your own system (contract in ARCHITECTURE.md)",
        settings,
        supported_actions: catalogue().blueprint(blueprint).map(|b| b.actions.iter().map(|a| a.id).collect()).unwrap_or_default(),
    }
}

/// cPanel/WHM (web hosting), settings named as the reference framework names them.
fn cpanel() -> ProviderSpec {
    let settings = params()
        .req("hostname", domain())
        .req("whm_username", pattern("^[A-Za-z0-9_-]{1,64}$"))
        .req("api_key", secret())
        // Where WHM answers, when not https://<hostname>:2087 (a proxy; a local double in tests):
        // https, or plain http to this machine only.
        .opt("api_url", pattern("^(https://[^\\s]+|http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?(/[^\\s]*)?)$"))
        .build();
    ProviderSpec {
        id: "cpanel",
        blueprint: "web-hosting",
        name: "cPanel & WHM",
        description: "Hosting accounts on a cPanel & WHM server through WHM API 1 (an API token of root or a reseller)",
        settings,
        supported_actions: catalogue().blueprint("web-hosting").map(|b| b.actions.iter().map(|a| a.id).collect()).unwrap_or_default(),
    }
}

static PROVIDERS: LazyLock<Vec<ProviderSpec>> = LazyLock::new(|| {
    let mut all: Vec<ProviderSpec> = catalogue().blueprints.iter().flat_map(|b| [demo(b.id), http(b.id)]).collect();
    all.push(cpanel());
    all
});

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
        assert!(provider("domain-names", "cpanel").is_none());
        let c = provider("web-hosting", "cpanel").unwrap();
        assert_eq!(crate::catalogue::schema::secret_paths(&c.settings), ["api_key"]);
        let ok = |url: &str| crate::catalogue::validate::validate(&c.settings, &serde_json::json!({ "hostname": "whm.example.net", "whm_username": "root", "api_key": "k", "api_url": url })).is_empty();
        assert!(ok("https://whm.example.net:2087") && ok("http://127.0.0.1:8080"));
        assert!(!ok("http://169.254.169.254/latest") && !ok("http://whm.example.net:2086"));
        let h = provider("servers", "http").unwrap();
        assert_eq!(crate::catalogue::schema::secret_paths(&h.settings), ["signing_secret"]);
    }
}
