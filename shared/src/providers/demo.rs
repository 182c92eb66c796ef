//! The `demo` provider: a working simulation of a third party for every blueprint, with its
//! state behind the [`DemoState`] port (DynamoDB in the functions: one item per simulated remote
//! object; memory in unit tests). It behaves like the real systems
//! it stands for: a create makes the object and refuses a duplicate, actions on a missing object
//! fail, suspended services refuse logins, servers follow a power state machine, logins return
//! signed URLs that expire, usage follows the state.
//!
//! Settings: `latency_ms` delays each call; an `api_key` of "invalid" fails authentication, as a
//! revoked credential would; `transient_failures: n` makes the configuration's first n calls fail
//! as an overloaded service does (503), to exercise retries; `lost_answers: n` makes its first n
//! creates succeed but time out before answering, as a slow panel does; `async_seconds: n` makes
//! long-running actions (server create, rebuild, resize; domain transfer) take n seconds at the
//! "provider", reported in progress until then; `fault_rate: p` makes p percent of calls, at
//! random, fail as real systems do: a 503 before anything is done, no answer before anything is
//! done, or no answer after the change was made (a slow panel) — the fault run's provider;
//! `server_hostname` (web hosting) names the simulated server; `existing_services` (identifiers,
//! comma-separated) are services the simulated system held before the engine came, made once on
//! the configuration's first call: what an import finds. A create that finds its object
//! made already is counted (partition `<configuration>#faults`, counter `duplicates`): at a provider that
//! did not refuse it, it would have been a second account. `outage_until` (a date-time) makes
//! every call, connection tests too, fail with a 503 until then: a third party that is down.
//! Each object records when the last call that changed it arrived (`requested_at_ms`): what a
//! rate limit is measured by at this double.

use crate::catalogue::schema::{domain, int_range, params, secret, string_max};
use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput};
use crate::catalogue::example::example;
use crate::catalogue::validate::validate;
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;
use crate::domain::time::{framework_datetime, now_millis};
use crate::ports::{DemoState, StoreError};

const DAY_MS: i64 = 86_400_000;
const LOGIN_TTL_MS: i64 = 300_000;

pub struct Demo {
    state: std::sync::Arc<dyn DemoState>,
    /// Partitions this instance has seen seeded (their existing services made): not asked again.
    seeded: std::sync::Mutex<std::collections::HashSet<String>>,
}

fn hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The simulated third party is down (`outage_until` has not passed): a 503.
fn down(settings: &Value, url: &str) -> Result<(), ProviderFailure> {
    let until = str_of(settings, "outage_until").and_then(crate::domain::time::parse_datetime);
    match until {
        Some(until) if now_millis() < until => Err(ProviderFailure {
            kind: FailureKind::Transient,
            message: "the service is down (503 Service Unavailable)".into(),
            debug: vec![json!({ "request": { "method": "POST", "url": url }, "response": { "status": 503 } })],
        }),
        _ => Ok(()),
    }
}

/// The random faults of `fault_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RandomFault {
    /// A 503 before anything was done.
    Unavailable,
    /// No answer, nothing done.
    NoAnswer,
    /// No answer, but the change was made.
    AnswerLost,
}

fn no_answer(call: &ProviderCall<'_>) -> ProviderFailure {
    ProviderFailure {
        kind: FailureKind::Timeout,
        message: "the provider did not answer in time".into(),
        debug: vec![json!({ "request": { "method": "POST", "url": format!("demo://{}/{}", call.blueprint.id, call.action.id) }, "response": null })],
    }
}

fn fail(message: impl Into<String>) -> ProviderFailure {
    ProviderFailure::permanent(message)
}

/// A long-running change the simulated provider has finished by now.
fn settle_async(object: &mut Map<String, Value>, now: i64) {
    if object.get("ready_ms").and_then(Value::as_i64).is_some_and(|ready| ready <= now) {
        object.remove("ready_ms");
        if matches!(object.get("state").and_then(Value::as_str), Some("initializing" | "rebuilding" | "resizing")) {
            object.insert("state".into(), json!("running"));
        }
        if object.get("operation_status") == Some(&json!("in_progress")) {
            object.insert("operation_status".into(), json!("complete"));
            object.insert("statuses".into(), json!(["clientTransferProhibited"]));
        }
    }
}

/// The expiry in the two forms results use (`Y-m-d H:i:s`, `Y-m-d`).
fn stamp_expiry(object: &mut Map<String, Value>) {
    if let Some(ms) = object.get("expires_ms").and_then(Value::as_i64) {
        object.insert("expires_at".into(), json!(framework_datetime(ms)));
        object.insert("expiry_date".into(), json!(framework_datetime(ms)[..10].to_owned()));
    }
}

/// A DynamoDB error of the simulated service: as a real one down for a moment, worth a retry.
fn unavailable(e: StoreError) -> ProviderFailure {
    ProviderFailure { kind: FailureKind::Transient, message: "the service is unavailable, try again".into(), debug: vec![json!({ "error": e.to_string() })] }
}

use super::str_of;

/// The remote object's identifier for a create: taken from the params where the real system
/// lets the caller choose it, made up where the system assigns it.
fn new_identifier(blueprint: &str, params: &Value) -> String {
    match blueprint {
        "web-hosting" => str_of(params, "username").map(str::to_owned).unwrap_or_else(|| {
            let base: String = str_of(params, "domain")
                .or_else(|| str_of(params, "email").and_then(|e| e.split('@').next()))
                .unwrap_or("user")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
                .to_lowercase();
            let base = if base.starts_with(|c: char| c.is_ascii_alphabetic()) { base } else { format!("u{base}") };
            format!("{base}{}", &hex(2)[..3])
        }),
        "domain-names" => format!("{}.{}", str_of(params, "sld").unwrap_or_default(), str_of(params, "tld").unwrap_or_default()).to_lowercase(),
        "auto-login" => str_of(params, "service_identifier").map_or_else(|| format!("al-{}", hex(5)), str::to_owned),
        "seo" => str_of(params, "domain").unwrap_or_default().to_lowercase(),
        "website-builders" => format!("wb-{}", hex(6)),
        "software-licenses" => new_license_key(),
        "servers" => format!("srv-{}", hex(6)),
        _ => format!("ot-{}", hex(6)),
    }
}

fn new_license_key() -> String {
    let h = hex(8).to_uppercase();
    format!("DEMO-{}-{}-{}-{}", &h[..4], &h[4..8], &h[8..12], &h[12..16])
}

/// Result data in the shape of the action's result schema: each field from the object where
/// it holds a valid value, required ones it lacks from the schema's example.
fn shape(schema: &Value, object: &Map<String, Value>) -> Value {
    let props = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let mut out = Map::new();
    for (name, sub) in props.into_iter().flatten() {
        match object.get(name) {
            Some(v) if !v.is_null() && validate(sub, v).is_empty() => {
                out.insert(name.clone(), v.clone());
            }
            _ if required.contains(&name.as_str()) => {
                out.insert(name.clone(), example(sub, &[]));
            }
            _ => {}
        }
    }
    let shaped = Value::Object(out);
    if validate(schema, &shaped).is_empty() { shaped } else { example(schema, &[]) }
}

impl Demo {
    pub fn new(state: std::sync::Arc<dyn DemoState>) -> Self {
        Demo { state, seeded: Default::default() }
    }

    /// The partition of a configuration's objects of a blueprint, and an object's key in it.
    fn key(call: &ProviderCall<'_>, identifier: &str) -> (String, String) {
        (format!("{}#{}", call.configuration_id, call.blueprint.id), identifier.to_lowercase())
    }

    async fn load(&self, call: &ProviderCall<'_>, identifier: &str) -> Result<Option<(Map<String, Value>, i64)>, ProviderFailure> {
        let (partition, key) = Self::key(call, identifier);
        self.state.load(&partition, &key).await.map_err(unavailable)
    }

    /// Writes the object if it is still at `version` (0: must be new).
    async fn store(&self, call: &ProviderCall<'_>, identifier: &str, object: &Map<String, Value>, version: i64) -> Result<(), ProviderFailure> {
        let (partition, key) = Self::key(call, identifier);
        self.state.store(&partition, &key, object, version).await.map_err(|e| match e {
            StoreError::Conflict(_) if version == 0 => fail(format!("{identifier} exists already")),
            StoreError::Conflict(_) => ProviderFailure { kind: FailureKind::Transient, message: format!("{identifier} is being changed by another request, try again"), debug: vec![] },
            other => unavailable(other),
        })
    }

    async fn remove(&self, call: &ProviderCall<'_>, identifier: &str) -> Result<(), ProviderFailure> {
        let (partition, key) = Self::key(call, identifier);
        self.state.remove(&partition, &key).await.map_err(unavailable)
    }

    /// Counts one more of a configuration's simulated faults, up to `limit`: true while it may.
    async fn fault(&self, call: &ProviderCall<'_>, counter: &str, limit: u64) -> Result<bool, ProviderFailure> {
        if limit == 0 {
            return Ok(false);
        }
        self.state.count(&format!("{}#faults", call.configuration_id), counter, limit).await.map_err(unavailable)
    }

    /// The services the simulated system held before the engine came (`existing_services`),
    /// made once per configuration and blueprint, on its first call (counted atomically).
    async fn seed(&self, call: &ProviderCall<'_>) -> Result<(), ProviderFailure> {
        let existing: Vec<String> = str_of(call.settings, "existing_services").unwrap_or_default().split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect();
        if existing.is_empty() {
            return Ok(());
        }
        let faults = format!("{}#faults", call.configuration_id);
        let done = format!("seeded-{}-done", call.blueprint.id);
        let known = format!("{faults}#{done}");
        if self.seeded.lock().is_ok_and(|s| s.contains(&known)) {
            return Ok(());
        }
        if !self.fault(call, &format!("seeded-{}", call.blueprint.id), 1).await? {
            // Another call is seeding: this one waits until it is done, as the services are there
            // before the engine came.
            for _ in 0..300 {
                if self.state.load(&faults, &done).await.map_err(unavailable)?.is_some() {
                    if let Ok(mut s) = self.seeded.lock() {
                        s.insert(known);
                    }
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return Err(ProviderFailure { kind: FailureKind::Transient, message: "the simulated system is still starting".into(), debug: Vec::new() });
        }
        let empty = json!({});
        let plain = ProviderCall { params: &empty, ..*call };
        for identifier in existing {
            let object = self.created(&plain, &identifier, now_millis());
            match self.store(call, &identifier, &object, 0).await {
                Ok(()) => {}
                Err(f) if f.kind == FailureKind::Permanent => {} // made since: it stays as it is
                Err(f) => return Err(f),
            }
        }
        match self.state.store(&faults, &done, &Map::new(), 0).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {
                if let Ok(mut s) = self.seeded.lock() {
                    s.insert(known);
                }
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The first `transient_failures` calls of a configuration fail with a 503, counted atomically.
    async fn maybe_overloaded(&self, call: &ProviderCall<'_>) -> Result<(), ProviderFailure> {
        let limit = call.settings.get("transient_failures").and_then(Value::as_u64).unwrap_or(0);
        if self.fault(call, "faults", limit).await? {
            return Err(ProviderFailure {
                kind: FailureKind::Transient,
                message: "the service is overloaded, try again later".into(),
                debug: vec![json!({ "request": { "method": "POST", "url": format!("demo://{}/{}", call.blueprint.id, call.action.id) }, "response": { "status": 503 } })],
            });
        }
        Ok(())
    }

    /// A random fault, `fault_rate` percent of calls: which one, if any.
    fn random_fault(call: &ProviderCall<'_>) -> Option<RandomFault> {
        let rate = call.settings.get("fault_rate").and_then(Value::as_u64).unwrap_or(0);
        if rate == 0 {
            return None;
        }
        let mut r = [0u8; 4];
        SystemRandom::new().fill(&mut r).ok()?;
        let draw = u32::from_le_bytes(r) % 30_000;
        if u64::from(draw) >= rate * 300 {
            return None;
        }
        Some(match draw % 3 {
            0 => RandomFault::Unavailable,
            1 => RandomFault::NoAnswer,
            _ => RandomFault::AnswerLost,
        })
    }

    /// A signed single sign-on URL that expires, as panels hand out.
    fn login_url(call: &ProviderCall<'_>, identifier: &str) -> (String, i64) {
        let expires = now_millis() + LOGIN_TTL_MS;
        let secret = str_of(call.settings, "api_key").map(str::to_owned).unwrap_or_else(|| call.configuration_id.to_string());
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let payload = format!("{}|{identifier}|{expires}", call.blueprint.id);
        let tag = hmac::sign(&key, payload.as_bytes());
        let signature: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        (format!("https://demo-panel.local.test/{}/sso?user={identifier}&expires={}&signature={signature}", call.blueprint.id, expires / 1000), expires)
    }

    async fn execute(&self, call: ProviderCall<'_>) -> Result<ProviderOutput, ProviderFailure> {
        // When the call arrived at the simulated third party (what a rate limit is measured by).
        let arrived = now_millis();
        if let Some(ms) = call.settings.get("latency_ms").and_then(Value::as_u64) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        down(call.settings, &format!("demo://{}/{}", call.blueprint.id, call.action.id))?;
        if str_of(call.settings, "api_key") == Some("invalid") {
            return Err(fail("authentication failed: check the configuration's credentials"));
        }
        self.maybe_overloaded(&call).await?;
        self.seed(&call).await?;
        let random = Self::random_fault(&call);
        match random {
            Some(RandomFault::Unavailable) => {
                return Err(ProviderFailure {
                    kind: FailureKind::Transient,
                    message: "the service is unavailable (503), try again later".into(),
                    debug: vec![json!({ "request": { "method": "POST", "url": format!("demo://{}/{}", call.blueprint.id, call.action.id) }, "response": { "status": 503 } })],
                });
            }
            Some(RandomFault::NoAnswer) => return Err(no_answer(&call)),
            _ => {}
        }
        let action = call.action;
        let p = call.params;
        let now = now_millis();
        let creates = action.allowed_from.contains(&crate::domain::ProductStatus::Pending);
        let identifier = if creates {
            new_identifier(call.blueprint.id, p)
        } else {
            call.service_identifier.map(str::to_owned).ok_or_else(|| fail("the service has no identifier yet: run its create action first"))?
        };
        let (mut object, version) = if creates {
            if self.load(&call, &identifier).await?.is_some() {
                self.fault(&call, "duplicates", u64::MAX / 2).await?;
                return Err(fail(format!("{identifier} exists already")));
            }
            (self.created(&call, &identifier, now), 0)
        } else {
            self.load(&call, &identifier).await?.ok_or_else(|| fail(format!("{identifier} does not exist")))?
        };
        if !creates {
            settle_async(&mut object, now);
        }
        let mut new_identifier = creates.then(|| identifier.clone());
        let suspended = object.get("suspended") == Some(&Value::Bool(true));
        let message = match (call.blueprint.id, action.id) {
            (_, a) if a.starts_with("create") || a == "register" || a == "transfer" => format!("{identifier} created"),
            (_, a) if a.starts_with("unsuspend") => {
                object.insert("suspended".into(), json!(false));
                object.remove("suspend_reason");
                if call.blueprint.id == "servers" {
                    object.insert("state".into(), json!("running"));
                }
                format!("{identifier} unsuspended")
            }
            (_, a) if a.starts_with("suspend") => {
                object.insert("suspended".into(), json!(true));
                if let Some(r) = str_of(p, "reason") {
                    object.insert("suspend_reason".into(), json!(r));
                }
                if call.blueprint.id == "servers" {
                    object.insert("state".into(), json!("suspended"));
                }
                format!("{identifier} suspended")
            }
            (_, a) if a.starts_with("delete") || a.starts_with("terminate") => {
                self.remove(&call, &identifier).await?;
                return Ok(self.output(&call, format!("{identifier} removed"), Value::Object(Map::new()), None));
            }
            (_, "login" | "login-to-control-panel" | "manage-website" | "get-connection") => {
                if suspended {
                    return Err(fail(format!("{identifier} is suspended")));
                }
                let (url, expires) = Self::login_url(&call, &identifier);
                for k in ["login_url", "url", "redirect_url"] {
                    object.insert(k.into(), json!(url));
                }
                object.insert("expires".into(), json!(framework_datetime(expires)));
                object.insert("expires_at".into(), json!(framework_datetime(expires)));
                object.insert("type".into(), json!(if call.blueprint.id == "servers" { "ssh" } else { "redirect" }));
                object.insert("command".into(), json!(format!("ssh root@{}", object.get("ip_address").and_then(Value::as_str).unwrap_or("192.0.2.10"))));
                if let Some(ip) = str_of(p, "user_ip") {
                    object.insert("for_ip".into(), json!(ip));
                }
                return Ok(self.output(&call, format!("login link for {identifier}, valid 5 minutes"), shape(&action.result, &object), None));
            }
            (_, "change-package" | "upgrade-downgrade-license") => {
                for k in ["package_name", "package_identifier", "package_reference", "plan", "seat_count", "billing_cycle_months", "as_reseller"] {
                    if let Some(v) = p.get(k).filter(|v| !v.is_null()) {
                        object.insert(k.into(), v.clone());
                    }
                }
                format!("{identifier} moved to its new package")
            }
            (_, "change-password" | "change-root-password") => {
                object.insert("password_changed_at".into(), json!(framework_datetime(now)));
                format!("password of {identifier} changed")
            }
            ("web-hosting", "make-reseller") => {
                object.insert("reseller".into(), json!(true));
                format!("{identifier} is a reseller")
            }
            ("web-hosting", "revoke-reseller") => {
                object.insert("reseller".into(), json!(false));
                format!("{identifier} is no longer a reseller")
            }
            ("domain-names", "renew") => {
                let years = p.get("renew_years").and_then(Value::as_i64).unwrap_or(1);
                let base = object.get("expires_ms").and_then(Value::as_i64).unwrap_or(now).max(now);
                object.insert("expires_ms".into(), json!(base + years * 365 * DAY_MS));
                format!("{identifier} renewed for {years} years")
            }
            ("domain-names", "set-lock") => {
                let lock = p.get("lock").and_then(Value::as_bool).unwrap_or(true);
                object.insert("locked".into(), json!(lock));
                format!("{identifier} {}", if lock { "locked" } else { "unlocked" })
            }
            ("domain-names", "update-nameservers") => {
                let ns: Map<String, Value> = (1..=5).filter_map(|i| p.get(format!("ns{i}")).filter(|v| !v.is_null()).map(|v| (format!("ns{i}"), v.clone()))).collect();
                object.insert("ns".into(), Value::Object(ns.clone()));
                object.extend(ns);
                format!("nameservers of {identifier} updated")
            }
            ("domain-names", "update-registrant") => {
                object.insert("registrant".into(), p["contact"].clone());
                object.extend(p["contact"].as_object().cloned().unwrap_or_default());
                format!("registrant of {identifier} updated")
            }
            ("domain-names", "update-registrant-with-default-details") => {
                let default = json!({"id": "default-registrant", "name": "Domain Administrator", "organisation": "Demo Hosting Ltd", "email": "domains@demo-hosting.test", "country_code": "GB"});
                object.insert("registrant".into(), default.clone());
                object.extend(default.as_object().cloned().unwrap_or_default());
                format!("registrant of {identifier} reset to the default details")
            }
            ("domain-names", "get-epp-code") => {
                object.insert("epp_code".into(), json!(format!("Ep{}!", hex(6))));
                format!("transfer code of {identifier}")
            }
            ("domain-names", "update-ips-tag") => {
                object.insert("ips_tag".into(), p["ips_tag"].clone());
                object.insert("statuses".into(), json!(["pendingRelease"]));
                format!("{identifier} released to {}", p["ips_tag"].as_str().unwrap_or_default())
            }
            ("domain-names", "set-glue-record" | "remove-glue-record") => {
                let host = str_of(p, "hostname").unwrap_or_default().to_lowercase();
                let mut glue: Vec<Value> = object.get("glue_records").and_then(Value::as_array).cloned().unwrap_or_default();
                let existed = glue.iter().any(|g| g["hostname"] == host.as_str());
                glue.retain(|g| g["hostname"] != host.as_str());
                if action.id == "set-glue-record" {
                    let ips: Vec<Value> = (1..=4).filter_map(|i| p.get(format!("ip_{i}")).filter(|v| !v.is_null()).cloned()).collect();
                    glue.push(json!({"hostname": host, "ips": ips}));
                } else if !existed {
                    return Err(fail(format!("{identifier} has no glue record {host}")));
                }
                object.insert("glue_records".into(), Value::Array(glue));
                format!("glue records of {identifier} updated")
            }
            ("domain-names", "get-verification-status") => {
                object.insert("icann_verification_status".into(), json!(object.get("verified").map_or("pending", |_| "verified")));
                format!("verification status of {identifier}")
            }
            ("domain-names", "resend-verification-email") => {
                object.insert("success".into(), json!(true));
                object.insert("message".into(), json!("verification email sent"));
                format!("verification email for {identifier} sent")
            }
            ("software-licenses", "reissue-license") => {
                let key = new_license_key();
                self.remove(&call, &identifier).await?;
                object.insert("license_key".into(), json!(key));
                self.store(&call, &key, &object, 0).await?;
                return Ok(self.output(&call, format!("licence reissued as {key}"), shape(&action.result, &object), Some(key)));
            }
            ("software-licenses", "sync-tracked-product-quantities") => {
                object.insert("quantities".into(), p["quantities"].clone());
                format!("quantities of {identifier} synchronised")
            }
            ("servers", "power-on") => {
                if suspended {
                    return Err(fail(format!("{identifier} is suspended")));
                }
                object.insert("state".into(), json!("running"));
                format!("{identifier} powered on")
            }
            ("servers", "shut-down") => {
                object.insert("state".into(), json!("stopped"));
                format!("{identifier} shut down")
            }
            ("servers", "reboot") => {
                if object.get("state") != Some(&json!("running")) {
                    return Err(fail(format!("{identifier} is not running")));
                }
                format!("{identifier} rebooted")
            }
            ("servers", "resize-server") => {
                if object.get("state") == Some(&json!("running")) && p.get("resize_running") != Some(&json!(true)) {
                    return Err(fail(format!("{identifier} must be stopped to resize (or ask for resize_running)")));
                }
                for k in ["size", "memory_mb", "cpu_cores", "disk_mb"] {
                    if let Some(v) = p.get(k).filter(|v| !v.is_null()) {
                        object.insert(k.into(), v.clone());
                    }
                }
                format!("{identifier} resized")
            }
            ("servers", "reinstall-server") => {
                object.insert("image".into(), p["image"].clone());
                object.insert("state".into(), json!("running"));
                format!("{identifier} reinstalled with {}", p["image"].as_str().unwrap_or_default())
            }
            (_, "renew") => {
                let base = object.get("expires_ms").and_then(Value::as_i64).unwrap_or(now).max(now);
                object.insert("expires_ms".into(), json!(base + 365 * DAY_MS));
                format!("{identifier} renewed")
            }
            (_, "get-usage-data") => {
                let days = (now - object.get("created_ms").and_then(Value::as_i64).unwrap_or(now)) / DAY_MS;
                let disk = 50 + days * 3;
                let units = |used: i64, limit: i64| json!({"used": used, "limit": limit, "used_pc": format!("{}%", used * 100 / limit.max(1))});
                object.insert("usage_data".into(), json!({"disk_mb": units(disk, 10_240), "bandwidth_mb": units(disk * 4, 102_400), "websites": units(1, 10), "mailboxes": units(2, 50)}));
                object.insert("units_consumed".into(), json!(object.get("quantities").and_then(Value::as_array).map_or(1, Vec::len)));
                format!("usage of {identifier}")
            }
            _ => format!("{identifier} read"),
        };
        stamp_expiry(&mut object);
        let async_ms = call.settings.get("async_seconds").and_then(Value::as_i64).unwrap_or(0) * 1000;
        if action.long_running && async_ms > 0 {
            // The provider takes its time: in progress until ready_ms.
            object.insert("ready_ms".into(), json!(now + async_ms));
            let transitional = match action.id {
                "create-server" => Some("initializing"),
                "reinstall-server" => Some("rebuilding"),
                "resize-server" => Some("resizing"),
                _ => None,
            };
            match transitional {
                Some(state) => {
                    object.insert("state".into(), json!(state));
                }
                None => {
                    object.insert("operation_status".into(), json!("in_progress"));
                    object.insert("statuses".into(), json!(["pendingTransfer"]));
                }
            }
        }
        object.insert("updated_at".into(), json!(framework_datetime(now)));
        object.insert("requested_at_ms".into(), json!(arrived));
        self.store(&call, &identifier, &object, version).await?;
        if !creates {
            new_identifier = None;
        }
        let lost = call.settings.get("lost_answers").and_then(Value::as_u64).unwrap_or(0);
        if (creates && self.fault(&call, "lost", lost).await?) || random == Some(RandomFault::AnswerLost) {
            // Made, but the answer never arrives: the caller sees a timeout.
            return Err(no_answer(&call));
        }
        Ok(self.output(&call, message, shape(&action.result, &object), new_identifier))
    }

    /// The new remote object of a create: what the caller asked for (never its secrets) and what
    /// the system assigns.
    fn created(&self, call: &ProviderCall<'_>, identifier: &str, now: i64) -> Map<String, Value> {
        let secret_fields = crate::catalogue::schema::secret_paths(&call.action.params);
        let mut object: Map<String, Value> = call.params.as_object().into_iter().flatten().filter(|(k, v)| !v.is_null() && !secret_fields.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let created = framework_datetime(now);
        object.insert("created_ms".into(), json!(now));
        object.insert("created_at".into(), json!(created));
        object.insert("suspended".into(), json!(false));
        object.insert("status".into(), json!("active"));
        match call.blueprint.id {
            "web-hosting" => {
                object.insert("username".into(), json!(identifier));
                let host = str_of(call.settings, "server_hostname").unwrap_or("demo-server.local.test");
                object.insert("server_hostname".into(), json!(host));
                object.insert("ip".into(), json!("192.0.2.10"));
                object.insert("nameservers".into(), json!(["ns1.demo-hosting.test", "ns2.demo-hosting.test"]));
                object.insert("reseller".into(), json!(call.params.get("as_reseller").and_then(Value::as_bool).unwrap_or(false)));
            }
            "domain-names" => {
                let years = call.params.get("renew_years").and_then(Value::as_i64).unwrap_or(1).max(1);
                object.insert("id".into(), json!(format!("dom-{}", hex(4))));
                object.insert("domain".into(), json!(identifier));
                object.insert("statuses".into(), json!(["clientTransferProhibited"]));
                object.insert("locked".into(), json!(true));
                object.insert("expires_ms".into(), json!(now + years * 365 * DAY_MS));
                let ns = call.params.get("nameservers").cloned().unwrap_or_else(|| json!({"ns1": {"host": "ns1.demo-registrar.test"}, "ns2": {"host": "ns2.demo-registrar.test"}}));
                object.insert("ns".into(), ns);
                for c in ["registrant", "billing", "tech", "admin"] {
                    if let Some(contact) = call.params.get(c).and_then(|v| v.get("register")) {
                        object.insert(c.into(), contact.clone());
                    }
                }
            }
            "auto-login" | "seo" => {
                object.insert("username".into(), json!(if call.blueprint.id == "seo" { format!("seo-{}", hex(3)) } else { identifier.to_owned() }));
            }
            "website-builders" => {
                object.insert("account_reference".into(), json!(identifier));
                object.insert("site_count".into(), json!(1));
                object.insert("is_published".into(), json!(false));
            }
            "software-licenses" => {
                object.insert("license_key".into(), json!(identifier));
            }
            "servers" => {
                object.insert("instance_id".into(), json!(identifier));
                object.insert("state".into(), json!("running"));
                object.insert("ip_address".into(), json!(format!("192.0.2.{}", 10 + u8::from_str_radix(&hex(1), 16).unwrap_or(0) % 200)));
                object.insert("hostname".into(), json!(format!("{}.demo-cloud.test", call.params.get("label").and_then(Value::as_str).unwrap_or(identifier))));
            }
            _ => {
                object.insert("service_id".into(), json!(identifier));
                object.insert("seat_count_used".into(), json!(0));
                object.insert("expires_ms".into(), json!(now + 365 * DAY_MS));
            }
        }
        stamp_expiry(&mut object);
        object
    }

    fn output(&self, call: &ProviderCall<'_>, message: String, data: Value, service_identifier: Option<String>) -> ProviderOutput {
        // What a real provider's debug holds: the exchange with the third party. The engine masks
        // the secrets in it by the action's schemas.
        let debug = vec![json!({
            "request": { "method": "POST", "url": format!("demo://{}/{}", call.blueprint.id, call.action.id), "body": call.params },
            "response": { "status": 200, "body": data },
        })];
        ProviderOutput { message, data, service_identifier, debug }
    }
}

impl Connect for Demo {
    fn test_connection<'a>(&'a self, blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            if let Some(ms) = settings.get("latency_ms").and_then(Value::as_u64) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            down(settings, &format!("demo://{blueprint}/whoami"))?;
            let exchange = json!({ "request": { "method": "GET", "url": format!("demo://{blueprint}/whoami") } });
            if str_of(settings, "api_key") == Some("invalid") {
                let mut f = fail("authentication failed: check the configuration's credentials");
                f.debug = vec![json!({ "request": exchange["request"], "response": { "status": 401 } })];
                return Err(f);
            }
            let label = str_of(settings, "account_label").unwrap_or("demo account");
            Ok(ProviderOutput {
                message: format!("connected to the demo {blueprint} service as {label}"),
                data: json!({ "connected": true }),
                service_identifier: None,
                debug: vec![json!({ "request": exchange["request"], "response": { "status": 200, "body": { "account": label } } })],
            })
        })
    }

    /// The simulated account's services in key order, 100 a page (`page`: the last key of the
    /// page before), its `existing_services` made first if they were not yet.
    fn list_services<'a>(&'a self, blueprint: &'a str, configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let b = crate::catalogue::catalogue().blueprint(blueprint).ok_or_else(|| fail(format!("no blueprint {blueprint}")))?;
            let action = b.actions.iter().find(|a| a.id == "get-info").or(b.actions.first()).ok_or_else(|| fail(format!("{blueprint} has no actions")))?;
            let empty = json!({});
            let call = ProviderCall { blueprint: b, action, configuration_id: configuration, settings, params: &empty, service_identifier: None, following: None, contract_product_id: None };
            down(settings, &format!("demo://{blueprint}/services"))?;
            if str_of(settings, "api_key") == Some("invalid") {
                return Err(fail("authentication failed: check the configuration's credentials"));
            }
            self.seed(&call).await?;
            let (partition, _) = Self::key(&call, "");
            let (objects, next) = self.state.list(&partition, page, 100).await.map_err(unavailable)?;
            let services = objects
                .into_iter()
                .map(|(key, o)| {
                    let label = ["domain", "label", "hostname"].iter().find_map(|k| o.get(*k).and_then(Value::as_str)).filter(|l| *l != key).map(str::to_owned);
                    Listed { service_identifier: key, label, suspended: o.get("suspended").and_then(Value::as_bool) }
                })
                .collect::<Vec<_>>();
            let debug = vec![
                json!({ "request": { "method": "GET", "url": format!("demo://{blueprint}/services"), "query": { "after": page } }, "response": { "status": 200, "body": { "count": services.len() } } }),
            ];
            Ok(Listing { services, next, debug })
        })
    }
}

// Every action of every blueprint goes through the one simulation above.
super::blueprints::every_action_through_execute!(Demo as "demo");

pub fn spec(blueprint: &'static str) -> super::ProviderSpec {
    let mut settings = params()
        .opt("account_label", string_max(100))
        .opt("api_key", secret())
        .opt("latency_ms", int_range(0, 10_000))
        .opt("transient_failures", int_range(0, 10))
        .opt("lost_answers", int_range(0, 10))
        .opt("async_seconds", int_range(0, 600))
        .opt("fault_rate", int_range(0, 100))
        // Services the simulated system holds from before (identifiers, comma-separated): what
        // an import finds.
        .opt("existing_services", string_max(20_000))
        // Down until then (a date-time, RFC 3339 or "YYYY-MM-DD HH:MM:SS"): every call a 503.
        .opt("outage_until", crate::catalogue::schema::pattern(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$"));
    if blueprint == "web-hosting" {
        settings = settings.req("server_hostname", domain());
    }
    super::ProviderSpec {
        id: "demo",
        blueprint,
        name: "Demo",
        description: "A working simulation with its state in DynamoDB: try every action with no third-party account",
        settings: settings.build(),
        supported_actions: super::every_action(blueprint),
        wire_secrets: &[],
    }
}
