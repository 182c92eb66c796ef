//! The catalogue: the 8 blueprints and 73 actions of API.md, the single source that the routes,
//! template.yaml, openapi.yaml and `GET /blueprints` derive from.
//!
//! Display names and meanings are the seed's (shared/seeds/000_*.txt); parameter and result field
//! names are the reference framework's, so data moves between the two without renaming.

mod auto_login;
mod domain_names;
pub mod example;
mod office_tools;
pub mod schema;
mod seo;
mod servers;
mod software_licenses;
pub mod validate;
mod web_hosting;
mod website_builders;

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{Audience, ProductStatus};

/// A product category; it fixes the set of actions.
#[derive(Debug, Clone, Serialize)]
pub struct Blueprint {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The category of the reference framework this blueprint maps to.
    pub framework_category: &'static str,
    /// What the service identifier is at the third party (a username, a domain name ...).
    pub service_identifier: &'static str,
    /// The parameter fields the engine fills from the contract product's service identifier.
    pub identifier_fields: &'static [&'static str],
    pub actions: Vec<Action>,
}

/// One action of a blueprint.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The reference framework's function, where it has one.
    pub framework_function: Option<&'static str>,
    /// Admin (and system) only, or also the owning client.
    pub audience: Audience,
    /// Answered 202 and finished by a worker.
    pub long_running: bool,
    /// The status a successful run moves the contract product to.
    pub moves_to: Option<ProductStatus>,
    /// The statuses the contract product may be in for the action to run.
    pub allowed_from: Vec<ProductStatus>,
    pub params: Value,
    pub result: Value,
}

/// Params that name which account at the third party an action concerns, besides the
/// blueprint's identifier fields (the framework's `service_identifier` and `customer_identifier`,
/// a hosting customer's and subscription's ids, a site builder's user): filled from the contract
/// product for every action but one that establishes the service.
/// Fields the action API fills from the request itself when the caller leaves them out: the
/// address a login link is for is the caller's own (API Gateway's `sourceIp`).
pub const REQUEST_FILLED: [&str; 1] = [CALLER_IP_FIELD];
/// The field a login link is bound to an address by.
pub const CALLER_IP_FIELD: &str = "user_ip";

pub const OWNERSHIP_FIELDS: [&str; 5] = ["service_identifier", "customer_identifier", "customer_id", "subscription_id", "site_builder_user_id"];

impl Blueprint {
    /// The params the engine fills from the contract product and a caller may not give (except
    /// to an action that establishes the service): the identifier fields and the ownership ones.
    pub fn engine_filled(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.identifier_fields.iter().copied().chain(OWNERSHIP_FIELDS)
    }
}

impl Action {
    /// Whether this action makes the service and so establishes its identifier (a create, a
    /// domain's register or transfer): the only ones whose params may name it.
    pub fn establishes_identifier(&self) -> bool {
        self.allowed_from.contains(&ProductStatus::Pending)
    }

    /// What a caller sends as `params` (openapi.yaml's request schema of the action): the full
    /// schema less the engine-filled fields (but on an action that establishes the service, where
    /// an admin may name them), with nothing required, because the contract product's provision
    /// fields (the product's defaults, what the create was made with) may supply any field. What
    /// must be there once filled is kept as `x-required-after-filling`; the full schema stays what
    /// the engine validates.
    pub fn caller_params(&self, b: &Blueprint) -> Value {
        let answered: Vec<&str> = REQUEST_FILLED.iter().copied().filter(|f| self.params["properties"].get(*f).is_some()).collect();
        let mut schema = self.params.clone();
        let filled: Vec<&str> = if self.establishes_identifier() { Vec::new() } else { b.engine_filled().collect() };
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            props.retain(|k, _| !filled.contains(&k.as_str()));
        }
        let Some(o) = schema.as_object_mut() else { return schema };
        let required: Vec<Value> =
            o.remove("required").and_then(|r| r.as_array().cloned()).unwrap_or_default().into_iter().filter(|f| f.as_str().is_some_and(|f| !filled.contains(&f) && !answered.contains(&f))).collect();
        if let Some(groups) = o.remove("anyOf") {
            o.insert("x-any-required-after-filling".into(), groups);
        }
        let mut description = String::from(
            "Each field may be left out where the contract product's provision fields hold it (the product's defaults, what the service was set up with); the engine fills it from there.",
        );
        if !required.is_empty() {
            let names: Vec<&str> = required.iter().filter_map(Value::as_str).collect();
            description.push_str(&format!(" Required once filled: {}.", names.join(", ")));
            o.insert("x-required-after-filling".into(), Value::Array(required));
        }
        let taken: Vec<&str> = filled.iter().copied().filter(|f| self.params["properties"].get(*f).is_some()).collect();
        if !taken.is_empty() {
            description.push_str(&format!(" Filled by the engine from the contract product and refused when given: {}.", taken.join(", ")));
        } else if self.establishes_identifier() && !b.identifier_fields.is_empty() {
            description.push_str(&format!(" {} establish the service: an admin may name them, a client may not.", b.identifier_fields.join(", ")));
        }
        if !answered.is_empty() {
            description.push_str(&format!(" Left out, {} is the caller's own address.", answered.join(", ")));
        }
        o.insert("description".into(), Value::String(description));
        schema
    }

    /// A new admin-only action that needs an active or suspended product and changes no status.
    fn new(id: &'static str, name: &'static str, description: &'static str) -> Self {
        Action {
            id,
            name,
            description,
            framework_function: None,
            audience: Audience::Admin,
            long_running: false,
            moves_to: None,
            allowed_from: vec![ProductStatus::Active, ProductStatus::Suspended],
            params: schema::params().build(),
            result: schema::result().build(),
        }
    }

    fn function(mut self, name: &'static str) -> Self {
        self.framework_function = Some(name);
        self
    }

    /// Open to the owning client too.
    fn client(mut self) -> Self {
        self.audience = Audience::Client;
        self
    }

    fn long_running(mut self) -> Self {
        self.long_running = true;
        self
    }

    /// Makes the service: from pending (or failed, to retry a setup) to active.
    fn creates(mut self) -> Self {
        self.moves_to = Some(ProductStatus::Active);
        self.allowed_from = vec![ProductStatus::Pending, ProductStatus::Failed];
        self
    }

    fn suspends(mut self) -> Self {
        self.moves_to = Some(ProductStatus::Suspended);
        self.allowed_from = vec![ProductStatus::Active];
        self
    }

    fn unsuspends(mut self) -> Self {
        self.moves_to = Some(ProductStatus::Active);
        self.allowed_from = vec![ProductStatus::Suspended];
        self
    }

    fn terminates(mut self) -> Self {
        self.moves_to = Some(ProductStatus::Terminated);
        self.allowed_from = vec![ProductStatus::Active, ProductStatus::Suspended, ProductStatus::Failed];
        self
    }

    /// Needs a running service (logins, consoles).
    fn active_only(mut self) -> Self {
        self.allowed_from = vec![ProductStatus::Active];
        self
    }

    fn params(mut self, params: impl Into<Value>) -> Self {
        self.params = params.into();
        self
    }

    fn result(mut self, result: impl Into<Value>) -> Self {
        self.result = result.into();
        self
    }
}

/// The whole catalogue.
#[derive(Debug, Serialize)]
pub struct Catalogue {
    pub blueprints: Vec<Blueprint>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    blueprints: vec![
        web_hosting::blueprint(),
        domain_names::blueprint(),
        auto_login::blueprint(),
        seo::blueprint(),
        website_builders::blueprint(),
        software_licenses::blueprint(),
        servers::blueprint(),
        office_tools::blueprint(),
    ],
});

/// The catalogue, built once per process.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

impl Catalogue {
    pub fn blueprint(&self, id: &str) -> Option<&Blueprint> {
        self.blueprints.iter().find(|b| b.id == id)
    }

    pub fn action(&self, blueprint: &str, action: &str) -> Option<(&Blueprint, &Action)> {
        let b = self.blueprint(blueprint)?;
        b.actions.iter().find(|a| a.id == action).map(|a| (b, a))
    }

    /// The document `GET /blueprints` serves. Providers join in as they are built.
    pub fn document(&self) -> Value {
        let blueprints: Vec<Value> = self
            .blueprints
            .iter()
            .map(|b| {
                let actions: Vec<Value> = b
                    .actions
                    .iter()
                    .map(|a| {
                        json!({
                            "id": a.id,
                            "name": a.name,
                            "description": a.description,
                            "framework_function": a.framework_function,
                            "client": a.audience == Audience::Client,
                            "long_running": a.long_running,
                            "moves_to": a.moves_to,
                            "allowed_from": a.allowed_from,
                            "params": a.params,
                            "request": a.caller_params(b),
                            "result": a.result,
                        })
                    })
                    .collect();
                json!({
                    "id": b.id,
                    "name": b.name,
                    "description": b.description,
                    "framework_category": b.framework_category,
                    "service_identifier": b.service_identifier,
                    "identifier_fields": b.identifier_fields,
                    "actions": actions,
                    "providers": [],
                })
            })
            .collect();
        json!({
            "blueprints": blueprints,
            "counts": { "blueprints": self.blueprints.len(), "actions": self.actions().count() },
        })
    }

    /// The schema of stored provision fields (a product's, a contract product's, a billing
    /// event's `data.params` and `data.provision_fields`): every action's params merged, so a
    /// field any action marks `x-secret` is sealed and masked wherever it is kept.
    pub fn provision_schema(&self) -> &'static Value {
        static MERGED: LazyLock<Value> = LazyLock::new(|| {
            let mut out = json!({ "type": "object", "properties": {} });
            for (_, a) in catalogue().actions() {
                merge_schema(&mut out, &a.params);
            }
            out
        });
        &MERGED
    }

    /// The name of every field any schema of the catalogue marks secret (params and results, at
    /// any depth): masked by name wherever free-form data may echo one (a provider's raw answer,
    /// `post_fields`, `metadata`).
    pub fn secret_names(&self) -> &'static [&'static str] {
        static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
            let mut names: Vec<&'static str> = Vec::new();
            for (_, a) in catalogue().actions() {
                for path in schema::secret_paths(&a.params).into_iter().chain(schema::secret_paths(&a.result)) {
                    let last = path.rsplit(['.', '[']).next().unwrap_or_default().trim_end_matches(']').to_owned();
                    if !last.is_empty() && !names.contains(&last.as_str()) {
                        names.push(Box::leak(last.into_boxed_str()));
                    }
                }
            }
            names
        });
        &NAMES
    }

    /// Every (blueprint, action) pair, in catalogue order.
    pub fn actions(&self) -> impl Iterator<Item = (&Blueprint, &Action)> {
        self.blueprints.iter().flat_map(|b| b.actions.iter().map(move |a| (b, a)))
    }

    /// Every blueprint id, in catalogue order (the enum of a `blueprint` field).
    pub fn blueprint_ids(&self) -> Vec<&'static str> {
        self.blueprints.iter().map(|b| b.id).collect()
    }

    /// Every action id that can set a service up (a product's `setup_action`), each once.
    pub fn setup_action_ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for (_, a) in self.actions().filter(|(_, a)| a.establishes_identifier()) {
            if !ids.contains(&a.id) {
                ids.push(a.id);
            }
        }
        ids
    }
}

/// Merges `from` into `into`: properties of either, nested objects and array items merged
/// alike, and a field secret in either is secret in the result.
fn merge_schema(into: &mut Value, from: &Value) {
    if from.get(schema::SECRET).and_then(Value::as_bool) == Some(true) {
        into[schema::SECRET] = json!(true);
    }
    if let Some(props) = from.get("properties").and_then(Value::as_object) {
        if !into.get("properties").is_some_and(Value::is_object) {
            into["properties"] = json!({});
        }
        for (k, v) in props {
            match into["properties"].get_mut(k) {
                Some(existing) => merge_schema(existing, v),
                None => {
                    into["properties"][k] = v.clone();
                }
            }
        }
    }
    if let Some(items) = from.get("items") {
        match into.get_mut("items") {
            Some(existing) => merge_schema(existing, items),
            None => into["items"] = items.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The ids of API.md, pinned: changing one breaks every client built against it.
    const PINNED: [(&str, &[&str]); 8] = [
        (
            "web-hosting",
            &[
                "create-account",
                "get-info",
                "get-usage-data",
                "login-to-control-panel",
                "make-reseller",
                "revoke-reseller",
                "change-password",
                "change-package",
                "suspend-account",
                "unsuspend-account",
                "delete-account",
            ],
        ),
        (
            "domain-names",
            &[
                "register",
                "transfer",
                "renew",
                "sync-due-date",
                "get-info",
                "set-lock",
                "update-nameservers",
                "update-registrant",
                "update-registrant-with-default-details",
                "get-epp-code",
                "update-ips-tag",
                "get-verification-status",
                "resend-verification-email",
                "set-glue-record",
                "remove-glue-record",
            ],
        ),
        ("auto-login", &["login", "create", "renew", "suspend", "unsuspend", "terminate"]),
        ("seo", &["login-to-control-panel", "create", "change-package", "suspend", "unsuspend", "terminate"]),
        ("website-builders", &["create-account", "get-info", "manage-website", "change-package", "suspend-account", "unsuspend-account", "delete-account"]),
        (
            "software-licenses",
            &["create-license", "reissue-license", "get-usage-data", "sync-tracked-product-quantities", "upgrade-downgrade-license", "suspend-license", "unsuspend-license", "terminate-license"],
        ),
        (
            "servers",
            &["create-server", "reinstall-server", "resize-server", "get-info", "get-connection", "change-root-password", "power-on", "shut-down", "reboot", "suspend", "unsuspend", "terminate"],
        ),
        ("office-tools", &["create", "login", "get-info", "renew", "change-package", "suspend", "unsuspend", "terminate"]),
    ];

    #[test]
    fn blueprint_and_action_ids_are_pinned() {
        let c = catalogue();
        let ids: Vec<_> = c.blueprints.iter().map(|b| b.id).collect();
        assert_eq!(ids, PINNED.iter().map(|(b, _)| *b).collect::<Vec<_>>());
        for (b, actions) in PINNED {
            let got: Vec<_> = c.blueprint(b).unwrap().actions.iter().map(|a| a.id).collect();
            assert_eq!(got, actions, "actions of {b}");
        }
        assert_eq!(c.actions().count(), 73);
    }

    #[test]
    fn only_the_api_md_client_actions_are_open_to_clients() {
        let open: BTreeSet<String> = catalogue().actions().filter(|(_, a)| a.audience == Audience::Client).map(|(b, a)| format!("{}/{}", b.id, a.id)).collect();
        let expected: BTreeSet<String> = [
            "web-hosting/login-to-control-panel",
            "web-hosting/get-info",
            "web-hosting/get-usage-data",
            "web-hosting/change-password",
            "domain-names/get-info",
            "domain-names/get-verification-status",
            "auto-login/login",
            "seo/login-to-control-panel",
            "website-builders/get-info",
            "website-builders/manage-website",
            "software-licenses/get-usage-data",
            "servers/get-info",
            "servers/get-connection",
            "office-tools/login",
            "office-tools/get-info",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(open, expected);
    }

    #[test]
    fn status_moves_follow_api_md() {
        for (b, a) in catalogue().actions() {
            let expected = if a.id.starts_with("create") || a.id == "register" || a.id == "transfer" || a.id.starts_with("unsuspend") {
                Some(ProductStatus::Active)
            } else if a.id.starts_with("suspend") {
                Some(ProductStatus::Suspended)
            } else if a.id.starts_with("delete") || a.id.starts_with("terminate") {
                Some(ProductStatus::Terminated)
            } else {
                None
            };
            assert_eq!(a.moves_to, expected, "{}/{}", b.id, a.id);
            assert!(!a.allowed_from.is_empty(), "{}/{}", b.id, a.id);
        }
    }

    #[test]
    fn every_blueprint_has_exactly_one_create_action() {
        for b in &catalogue().blueprints {
            let creates = b.actions.iter().filter(|a| a.allowed_from.contains(&ProductStatus::Pending)).count();
            assert_eq!(creates, if b.id == "domain-names" { 2 } else { 1 }, "{}", b.id);
        }
    }

    #[test]
    fn long_running_actions_are_the_slow_third_party_operations() {
        let long: Vec<_> = catalogue().actions().filter(|(_, a)| a.long_running).map(|(b, a)| format!("{}/{}", b.id, a.id)).collect();
        assert_eq!(long, ["domain-names/transfer", "servers/create-server", "servers/reinstall-server", "servers/resize-server"]);
    }

    /// Every schema is a well-formed object schema: required fields exist, names are snake_case,
    /// and every identifier field is a parameter of every action that is not a create.
    #[test]
    fn schemas_are_well_formed() {
        fn check(schema: &Value, at: &str) {
            if let Some(props) = schema.get("properties") {
                let props = props.as_object().unwrap_or_else(|| panic!("{at}: properties is not an object"));
                for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                    assert!(props.contains_key(r.as_str().unwrap()), "{at}: required {r} is not a property");
                }
                for (name, sub) in props {
                    assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{at}: field {name} is not snake_case");
                    check(sub, &format!("{at}.{name}"));
                }
            }
            if let Some(items) = schema.get("items") {
                check(items, &format!("{at}[]"));
            }
        }
        for (b, a) in catalogue().actions() {
            check(&a.params, &format!("{}/{} params", b.id, a.id));
            check(&a.result, &format!("{}/{} result", b.id, a.id));
            assert_eq!(a.params["additionalProperties"], false, "{}/{}", b.id, a.id);
            if !a.allowed_from.contains(&ProductStatus::Pending) {
                for f in b.identifier_fields {
                    assert!(a.params["properties"].get(*f).is_some(), "{}/{} lacks identifier {f}", b.id, a.id);
                }
            }
        }
    }

    #[test]
    fn passwords_and_codes_are_marked_secret() {
        let (_, a) = catalogue().action("web-hosting", "create-account").unwrap();
        assert_eq!(schema::secret_paths(&a.params), ["password"]);
        let (_, a) = catalogue().action("domain-names", "get-epp-code").unwrap();
        assert_eq!(schema::secret_paths(&a.result), ["epp_code"]);
        let (_, a) = catalogue().action("servers", "change-root-password").unwrap();
        assert_eq!(schema::secret_paths(&a.params), ["root_password"]);
    }

    /// A field name is secret everywhere or nowhere: the merged provision schema and the masking
    /// of free-form data by name rely on it.
    #[test]
    fn a_field_name_is_secret_in_every_schema_or_in_none() {
        let names = catalogue().secret_names();
        assert!(names.contains(&"password") && names.contains(&"epp_code") && names.contains(&"root_password"), "{names:?}");
        fn walk(schema: &Value, at: &str, names: &[&str]) {
            for (k, sub) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let secret = sub.get(schema::SECRET).and_then(Value::as_bool) == Some(true);
                assert_eq!(secret, names.contains(&k.as_str()), "{at}.{k}: secret in one schema, not in another");
                walk(sub, &format!("{at}.{k}"), names);
            }
            if let Some(items) = schema.get("items") {
                walk(items, &format!("{at}[]"), names);
            }
        }
        for (b, a) in catalogue().actions() {
            walk(&a.params, &format!("{}/{} params", b.id, a.id), names);
            walk(&a.result, &format!("{}/{} result", b.id, a.id), names);
        }
        let merged = catalogue().provision_schema();
        assert_eq!(merged["properties"]["password"][schema::SECRET], true);
        assert_eq!(merged["properties"]["username"].get(schema::SECRET), None);
    }

    /// Every non-create action that takes an identifier field is one a caller may not name it to.
    #[test]
    fn engine_filled_fields_are_the_identifier_and_ownership_fields() {
        let b = catalogue().blueprint("domain-names").unwrap();
        assert_eq!(b.engine_filled().collect::<Vec<_>>(), ["sld", "tld", "service_identifier", "customer_identifier", "customer_id", "subscription_id", "site_builder_user_id"]);
        for (b, a) in catalogue().actions() {
            assert_eq!(a.establishes_identifier(), a.moves_to == Some(ProductStatus::Active) && a.allowed_from.contains(&ProductStatus::Pending), "{}/{}", b.id, a.id);
        }
    }

    #[test]
    fn lookups_find_actions_and_refuse_unknown_ones() {
        let c = catalogue();
        assert!(c.action("servers", "reboot").is_some());
        assert!(c.action("servers", "register").is_none());
        assert!(c.action("coffee", "brew").is_none());
    }
}
