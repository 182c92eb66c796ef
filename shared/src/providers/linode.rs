//! The `linode` provider (servers): Linode's API v4 (REST, JSON, `Authorization: Bearer
//! <personal access token>`), as ../shared/specs/linode/openapi.yaml describes it. Errors are
//! `{"errors": [{"reason", "field"}]}` with a status; changes answer at once and run on, each
//! recorded as an event (`linode_create`, `linode_rebuild`, `linode_resize` ...: `scheduled`,
//! `started`, `finished` or `failed`).
//!
//! Long-running actions (create, rebuild, resize) answer with the instance in its transitional
//! status (`provisioning`, `rebuilding`, `resizing`); the engine then follows them through
//! get-info, which reads the instance and its newest events (`GET /account/events` filtered to
//! the instance with `X-Filter`): an event of the followed action that failed is that action's
//! failure, with Linode's message. Power actions are followed here for a few seconds.
//!
//! Linode sets a root password at create and rebuild (required there: a chosen one, or one
//! generated here and answered in `metadata.root_password`), and resets it only on a Linode that
//! is shut down: change-root-password shuts a running one down, waits for it, sets the password
//! and boots it again. Linode has no suspension: suspend and unsuspend are not supported; the
//! connection is SSH to the server's address (Lish, Linode's console, takes the account's own
//! login, which is not the client's to have).

use crate::catalogue::schema::{address, boolean, int_min, params, secret, string_max};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{Rebuild, Resize, ServerSize as Size, non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "linode";
pub const DEFAULT_API_URL: &str = "https://api.linode.com/v4";
/// Fields that carry secrets on Linode's wire (and in this provider's answers).
pub const WIRE_SECRETS: &[&str] = &["root_pass", "root_password", "password", "token", "user_data"];
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How many reads a quick action (power, the shutdown before a password reset) is followed for.
const QUICK_POLLS: u32 = 8;
const POLL_INTERVAL: Duration = Duration::from_millis(if cfg!(test) { 10 } else { 1000 });
/// The tag that marks a Linode with (a digest of) its contract product.
const PRODUCT_TAG: &str = "cp-";
/// The tag a Linode carries while change-root-password has it shut down.
const BOOT_TAG: &str = "provisioning-boot-after-password";

pub struct Linode;

impl Default for Linode {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    api_token: String,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    authorized_keys: Option<String>,
    #[serde(default)]
    firewall_id: Option<u64>,
    #[serde(default, deserialize_with = "or_default")]
    private_ip: bool,
    #[serde(default)]
    allow_auto_disk_resize: Option<bool>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `create-server`.
#[derive(Deserialize, Serialize)]
struct CreateServer {
    label: String,
    image: String,
    location: String,
    #[serde(default, deserialize_with = "non_empty")]
    root_password: Option<String>,
    #[serde(flatten)]
    size: Size,
}

/// `change-root-password`.
#[derive(Deserialize, Serialize)]
struct RootPassword {
    root_password: String,
}

/// What an answer means: the body on 2xx, otherwise Linode's error reasons.
fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let reasons: Vec<String> = reply
            .body
            .as_ref()
            .and_then(|b| b["errors"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| {
                str_of(e, "reason").map(|r| match str_of(e, "field") {
                    Some(f) => format!("{f}: {r}"),
                    None => r.to_owned(),
                })
            })
            .collect();
        let detail = if reasons.is_empty() { format!("HTTP {}", reply.status) } else { reasons.join("; ") };
        match reply.status {
            200..=299 => reply.body.clone().filter(Value::is_object).ok_or_else(|| ProviderFailure::permanent(format!("Linode answered {what} with a malformed body"))),
            401 => Err(ProviderFailure::permanent("Linode refused the API token: check api_token (a personal access token with Linodes and Events read/write)")),
            403 => Err(ProviderFailure::permanent(format!("Linode refused {what} to this token: {detail} (the token needs the Linodes and Events scopes)"))),
            404 => Err(ProviderFailure::permanent(format!("Linode has no such resource for {what}: {detail}"))),
            429 => Err(ProviderFailure { kind: FailureKind::Transient, message: format!("Linode's rate limit was reached on {what}: try later"), debug: vec![] }),
            status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("Linode refused {what}: {detail}").chars().take(500).collect(), debug: vec![] }),
        }
    }
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Body, filter: Option<&Value>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let token = self.settings.api_token.clone();
        let filter = filter.map(Value::to_string);
        self.wire
            .exchange(
                Request { what, method, url: &url, body: &body, read },
                |r| {
                    let r = r.bearer_auth(&token);
                    match &filter {
                        Some(f) => r.header("X-Filter", f),
                        None => r,
                    }
                },
                judge(what),
            )
            .await
    }

    async fn get(&mut self, what: &str, path: &str) -> Result<Value, ProviderFailure> {
        self.send(what, reqwest::Method::GET, path, Body::None, None).await
    }

    async fn post(&mut self, what: &str, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        self.send(what, reqwest::Method::POST, path, body.map_or(Body::None, Body::Json), None).await
    }

    async fn instance(&mut self, id: u64) -> Result<Value, ProviderFailure> {
        self.get("get-linode-instance", &format!("/linode/instances/{id}")).await
    }

    /// The instance's newest events (all of them, or of these actions), newest first.
    async fn events(&mut self, id: u64) -> Result<Vec<Value>, ProviderFailure> {
        let filter = json!({ "entity.id": id, "entity.type": "linode", "+order_by": "created", "+order": "desc" });
        let list = self.send("get-events", reqwest::Method::GET, "/account/events?page_size=25", Body::None, Some(&filter)).await?;
        Ok(list["data"].as_array().cloned().unwrap_or_default())
    }

    /// Reads the instance while its status is one of `passing` (up to `polls` times).
    async fn settle(&mut self, id: u64, mut instance: Value, passing: &[&str], polls: u32) -> Result<Value, ProviderFailure> {
        for _ in 0..polls {
            if !passing.contains(&instance["status"].as_str().unwrap_or("")) {
                break;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            instance = self.instance(id).await?;
        }
        Ok(instance)
    }

    /// get-info: the instance as the catalogue shows it. `following`: the event actions of the
    /// operation being followed; if the newest of them failed, that failure; while one runs, the
    /// state stays transitional.
    async fn info(&mut self, id: u64, following: &[&str]) -> Result<Value, ProviderFailure> {
        let instance = self.instance(id).await?;
        let mut info = server_info(&instance);
        if following.is_empty() {
            return Ok(info);
        }
        let events = self.events(id).await?;
        if let Some(last) = events.iter().find(|e| e["action"].as_str().is_some_and(|a| following.contains(&a))) {
            match last["status"].as_str() {
                Some("failed") => return Err(event_failed(last)),
                Some("scheduled" | "started") if !crate::domain::in_progress(&info) => {
                    info["state"] = json!(transitional(last["action"].as_str().unwrap_or("")).unwrap_or("initializing"));
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// The type for a size given by memory, cores and disk: the smallest that fits.
    async fn type_for(&mut self, wanted: &Size) -> Result<String, ProviderFailure> {
        if let Some(size) = &wanted.size {
            return Ok(size.clone());
        }
        let want = |n: Option<u64>| n.unwrap_or(0) as f64;
        let (memory, cores, disk) = (want(wanted.memory_mb), want(wanted.cpu_cores), want(wanted.disk_mb));
        let types = self.get("get-linode-types", "/linode/types").await?;
        let fits = types["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["memory"].as_f64().unwrap_or(0.0) >= memory && t["vcpus"].as_f64().unwrap_or(0.0) >= cores && t["disk"].as_f64().unwrap_or(0.0) >= disk && t["class"] != "gpu");
        let smallest = fits.min_by(|a, b| {
            let key = |t: &Value| (t["memory"].as_f64().unwrap_or(0.0), t["vcpus"].as_f64().unwrap_or(0.0), t["disk"].as_f64().unwrap_or(0.0));
            key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal)
        });
        smallest.and_then(|t| str_of(t, "id").map(str::to_owned)).ok_or_else(|| ProviderFailure::permanent(format!("no Linode type has {cores} cores, {memory} MB memory and {disk} MB disk")))
    }

    /// The SSH keys the settings put on every new or rebuilt Linode (one per line).
    fn authorized_keys(&self) -> Vec<Value> {
        self.settings.authorized_keys.as_deref().into_iter().flat_map(str::lines).map(str::trim).filter(|k| !k.is_empty()).map(|k| json!(k)).collect()
    }
}

fn event_failed(event: &Value) -> ProviderFailure {
    let action = event["action"].as_str().unwrap_or("action");
    let reason = str_of(event, "message").unwrap_or("no reason given");
    ProviderFailure::permanent(format!("Linode's {action} failed: {reason}"))
}

/// The catalogue's state while an event of this action runs.
fn transitional(action: &str) -> Option<&'static str> {
    match action {
        "linode_create" | "linode_clone" => Some("initializing"),
        "linode_boot" => Some("starting"),
        "linode_rebuild" => Some("rebuilding"),
        "linode_resize" | "linode_resize_create" => Some("resizing"),
        "linode_migrate" | "linode_migrate_datacenter" => Some("migrating"),
        _ => None,
    }
}

/// A Linode status as the catalogue's state (its transitional ones by the catalogue's names).
fn state(status: &str) -> &str {
    match status {
        "provisioning" | "cloning" | "restoring" => "initializing",
        "booting" => "starting",
        other => other,
    }
}

/// A Linode as the catalogue's server_info.
fn server_info(l: &Value) -> Value {
    let mut info = json!({
        "instance_id": l["id"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
        "state": state(str_of(l, "status").unwrap_or("unknown")),
        "suspended": l["status"] == "billing_suspension",
        "label": str_of(l, "label").unwrap_or_default(),
        "hostname": str_of(l, "label").unwrap_or_default(),
        "image": str_of(l, "image").unwrap_or("unknown"),
        "location": str_of(l, "region").unwrap_or("unknown"),
        "virtualization_type": "kvm",
    });
    let public = l["ipv4"].as_array().into_iter().flatten().filter_map(Value::as_str).find(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok_and(|a| !a.is_private()));
    if let Some(ip) = public {
        info["ip_address"] = json!(ip);
    }
    if let Some(t) = str_of(l, "type") {
        info["size"] = json!(t);
    }
    for (field, spec) in [("memory_mb", "memory"), ("cpu_cores", "vcpus"), ("disk_mb", "disk")] {
        if let Some(n) = l["specs"][spec].as_i64() {
            info[field] = json!(n);
        }
    }
    for (field, at) in [("created_at", "created"), ("updated_at", "updated")] {
        if let Some(t) = str_of(l, at).and_then(crate::domain::time::normalize_datetime) {
            info[field] = json!(t);
        }
    }
    info
}

/// A root password Linode's strength check accepts: 24 characters of letters, digits and
/// symbols from the system's random source.
fn generated_password() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=@^_";
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    let body: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    // One of each class whatever the draw.
    format!("{}Aa7!", &body[..20])
}

fn instance_id(call: &ProviderCall<'_>) -> Result<u64, ProviderFailure> {
    let raw = call.subject().unwrap_or_default();
    raw.parse::<u64>().ok().filter(|i| *i > 0).ok_or_else(|| ProviderFailure::permanent(format!("{raw:?} is not a Linode id (a positive number)")))
}

/// A Linode label from the catalogue's: 3 to 64 of letters, digits and `-_.`, starting and
/// ending with a letter or digit, no two of `-_.` in a row (Linode's rules).
fn linode_label(label: &str) -> Result<String, ProviderFailure> {
    let mut out = String::new();
    for c in label.chars() {
        let separator = matches!(c, '-' | '_' | '.');
        if !(c.is_ascii_alphanumeric() || separator) || (separator && out.ends_with(['-', '_', '.'])) {
            continue;
        }
        out.push(c);
    }
    let out: String = out.trim_matches(['-', '_', '.']).chars().take(64).collect::<String>().trim_end_matches(['-', '_', '.']).to_owned();
    if out.len() < 3 {
        return Err(ProviderFailure::permanent(format!("{label:?} cannot be a Linode label (3 to 64 letters, digits, - _ or .)")));
    }
    Ok(out)
}

/// A Linode's tags.
fn tags_of(instance: &Value) -> Vec<String> {
    instance["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// A contract product's tag (a digest: the id itself stays ours).
fn product_tag(contract_product_id: &str) -> String {
    format!("{PRODUCT_TAG}{}", super::digest_hex(contract_product_id, 8))
}

impl Linode {
    pub fn new() -> Self {
        Linode
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = settings.api_url.as_deref().unwrap_or(DEFAULT_API_URL).trim_end_matches('/').to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "Linode", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `create-server`: a Linode tagged with a digest of its contract product, so a create whose
    /// answer was lost finds it.
    async fn create_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: CreateServer) -> Answer {
        let tag = call.contract_product_id.map(product_tag);
        if let Some(tag) = &tag {
            let found = api.send("get-linode-instances", reqwest::Method::GET, "/linode/instances", Body::None, Some(&json!({ "tags": tag }))).await?;
            if let Some(l) = found["data"].as_array().and_then(|d| d.first()) {
                let info = server_info(l);
                let id = info["instance_id"].as_str().unwrap_or_default().to_owned();
                if !id.is_empty() {
                    // A password generated by that try went with its answer: it is never stored.
                    let password = if p.root_password.is_none() { "; the root password generated for it was lost with that answer: set one with change-root-password" } else { "" };
                    return Ok((format!("Linode {id} was made by an earlier try whose answer was lost: not created again{password}"), info, Some(id)));
                }
            }
        }
        let linode_type = api.type_for(&p.size).await?;
        let generated = p.root_password.is_none();
        let root_pass = p.root_password.clone().unwrap_or_else(generated_password);
        let mut body = json!({
            "label": linode_label(&p.label)?,
            "region": p.location,
            "type": linode_type,
            "image": p.image,
            "root_pass": root_pass,
            "booted": true,
            "private_ip": api.settings.private_ip,
            "tags": tag.iter().collect::<Vec<_>>(),
        });
        let keys = api.authorized_keys();
        if !keys.is_empty() {
            body["authorized_keys"] = json!(keys);
        }
        if let Some(f) = api.settings.firewall_id {
            body["firewall_id"] = json!(f);
        }
        let made = api.post("post-linode-instance", "/linode/instances", Some(body)).await?;
        let mut info = server_info(&made);
        let id = info["instance_id"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(ProviderFailure { kind: FailureKind::Timeout, message: "Linode answered post-linode-instance without an id".into(), debug: vec![] });
        }
        if generated {
            info["metadata"] = json!({ "root_password": root_pass });
        }
        Ok((format!("Linode {id} ({}) is being created", info["label"].as_str().unwrap_or_default()), info, Some(id)))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let following: &[&str] = match call.following {
            Some("create-server") => &["linode_create", "linode_boot"],
            Some("reinstall-server") => &["linode_rebuild"],
            Some("resize-server") => &["linode_resize", "linode_resize_create"],
            _ => &[],
        };
        Ok((format!("Linode {id}"), api.info(id, following).await?, None))
    }

    /// `reinstall-server`: the Linode rebuilt from an image (Linode requires a root password:
    /// the chosen one or one generated, answered in the metadata).
    async fn reinstall_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Rebuild) -> Answer {
        let id = instance_id(call)?;
        let generated = p.root_password.is_none();
        let root_pass = p.root_password.clone().unwrap_or_else(generated_password);
        let mut body = json!({ "image": p.image, "root_pass": root_pass, "booted": true });
        let keys = api.authorized_keys();
        if !keys.is_empty() {
            body["authorized_keys"] = json!(keys);
        }
        let answer = api.post("post-rebuild-linode-instance", &format!("/linode/instances/{id}/rebuild"), Some(body)).await?;
        let mut info = server_info(&answer);
        info["state"] = json!("rebuilding");
        if generated {
            info["metadata"] = json!({ "root_password": root_pass });
        }
        Ok((format!("Linode {id} is being rebuilt from {}", p.image), info, None))
    }

    /// `resize-server`: a cold resize (Linode shuts a running Linode down, moves it and boots it
    /// again), only with leave to stop a running one.
    async fn resize_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Resize) -> Answer {
        let id = instance_id(call)?;
        let instance = api.instance(id).await?;
        let target = api.type_for(&p.size).await?;
        if instance["status"] == "running" && !p.resize_running {
            return Err(ProviderFailure::permanent(format!("Linode {id} is running: a resize stops it for a while (shut it down first, or set resize_running)")));
        }
        let allow = api.settings.allow_auto_disk_resize.unwrap_or(true);
        api.post("post-resize-linode-instance", &format!("/linode/instances/{id}/resize"), Some(json!({ "type": target, "allow_auto_disk_resize": allow, "migration_type": "cold" }))).await?;
        let mut info = server_info(&api.instance(id).await.map_err(super::made_but_unread)?);
        info["state"] = json!("resizing");
        Ok((format!("Linode {id} is moving to {target}"), info, None))
    }

    /// `get-connection`: SSH as root to the Linode's public address.
    async fn get_connection(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let info = server_info(&api.instance(id).await?);
        let ip = info["ip_address"].as_str().ok_or_else(|| ProviderFailure::permanent(format!("Linode {id} has no public IPv4 address to connect to")))?;
        Ok((format!("SSH to Linode {id}"), json!({ "type": "ssh", "command": format!("ssh root@{ip}") }), None))
    }

    /// `change-root-password`: Linode resets the password of a Linode that is shut down only, so
    /// a running one is shut down, waited for, given the password and booted again.
    async fn change_root_password(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: RootPassword) -> Answer {
        let id = instance_id(call)?;
        let mut instance = api.instance(id).await?;
        // A Linode this action shuts down carries BOOT_TAG until it is booted again, so a try
        // after one that timed out waiting for the shutdown still boots it.
        let mut boot_after = tags_of(&instance).iter().any(|t| t == BOOT_TAG);
        if instance["status"] != "offline" {
            if matches!(instance["status"].as_str(), Some("running" | "booting" | "rebooting")) {
                if !boot_after {
                    let mut tags = tags_of(&instance);
                    tags.push(BOOT_TAG.to_owned());
                    api.send("put-linode-instance", reqwest::Method::PUT, &format!("/linode/instances/{id}"), Body::Json(json!({ "tags": tags })), None).await?;
                    boot_after = true;
                }
                api.post("post-shutdown-linode-instance", &format!("/linode/instances/{id}/shutdown"), None).await?;
                instance = api.instance(id).await?;
            }
            instance = api.settle(id, instance, &["running", "shutting_down", "booting", "rebooting"], QUICK_POLLS).await?;
            if instance["status"] != "offline" {
                return Err(ProviderFailure {
                    kind: FailureKind::Transient,
                    message: format!("Linode {id} is {} and must be shut down for a new root password: try again shortly", str_of(&instance, "status").unwrap_or("busy")),
                    debug: vec![],
                });
            }
        }
        let reset = api.post("post-reset-linode-password", &format!("/linode/instances/{id}/password"), Some(json!({ "root_pass": p.root_password }))).await;
        if !boot_after {
            reset?;
            let info = server_info(&api.instance(id).await.map_err(super::made_but_unread)?);
            return Ok((format!("Linode {id} has a new root password"), info, None));
        }
        // Booted again whatever the reset's outcome: a refused password must not leave it down.
        let booted = async {
            api.post("post-boot-linode-instance", &format!("/linode/instances/{id}/boot"), None).await?;
            let tags: Vec<String> = tags_of(&api.instance(id).await?).into_iter().filter(|t| t != BOOT_TAG).collect();
            api.send("put-linode-instance", reqwest::Method::PUT, &format!("/linode/instances/{id}"), Body::Json(json!({ "tags": tags })), None).await
        };
        let booted = booted.await;
        if let Err(f) = reset {
            let again = if booted.is_ok() { "booted again" } else { "not booted again: power it on" };
            return Err(ProviderFailure { message: format!("{} (Linode {id} was shut down for it and is {again})", f.message), ..f });
        }
        booted.map_err(super::made_but_unread)?;
        let info = server_info(&api.instance(id).await.map_err(super::made_but_unread)?);
        Ok((format!("Linode {id} has a new root password and it is booting again"), info, None))
    }

    /// `power-on`
    async fn power_on(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "boot", &["booting", "offline"]).await
    }

    /// `shut-down`
    async fn shut_down(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "shutdown", &["shutting_down", "running"]).await
    }

    /// `reboot`
    async fn reboot(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "reboot", &["rebooting"]).await
    }

    /// A power action (`boot`, `shutdown`, `reboot`), followed briefly while the Linode passes
    /// through `passing`.
    async fn power(&self, api: &mut Api<'_>, id: u64, name: &str, passing: &[&str]) -> Answer {
        api.post(&format!("post-{name}-linode-instance"), &format!("/linode/instances/{id}/{name}"), None).await?;
        let instance = api.instance(id).await.map_err(super::made_but_unread)?;
        let instance = api.settle(id, instance, passing, QUICK_POLLS).await.map_err(super::made_but_unread)?;
        let info = server_info(&instance);
        Ok((format!("{name} of Linode {id}: {}", info["state"].as_str().unwrap_or("sent")), info, None))
    }

    /// `terminate`
    async fn terminate(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        match api.send("delete-linode-instance", reqwest::Method::DELETE, &format!("/linode/instances/{id}"), Body::None, None).await {
            // Gone already (an earlier try's delete whose answer was lost): done.
            Err(f) if f.message.starts_with("Linode has no such resource") => Ok((format!("Linode {id} is gone already"), json!({}), None)),
            Err(f) => Err(f),
            Ok(_) => Ok((format!("Linode {id} deleted"), json!({}), None)),
        }
    }
}

session_of_api!(Linode);

// suspend and unsuspend are not Linode's: a Linode is shut down or deleted.
implements!(Servers for Linode as ID, {
    create_server(CreateServer),
    reinstall_server(Rebuild),
    resize_server(Resize),
    get_info,
    get_connection,
    change_root_password(RootPassword),
    power_on,
    shut_down,
    reboot,
    terminate,
});

impl Connect for Linode {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api.get("get-profile", "/profile").await.map(|profile| {
                let who = str_of(&profile, "username").map(|u| format!(" as {u}")).unwrap_or_default();
                (format!("connected to Linode{who}"), json!({ "connected": true }), None)
            });
            super::with_debug(result, api.wire.take_debug())
        })
    }

    /// The account's Linodes, 100 a page (`page` and `page_size`).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let number: u64 = page.map(|p| p.parse().ok().filter(|n| *n > 0).ok_or_else(|| ProviderFailure::permanent(format!("{p:?} is not a page of Linode's list")))).transpose()?.unwrap_or(1);
            let mut api = self.api(settings)?;
            let listed = api.get("get-linode-instances", &format!("/linode/instances?page={number}&page_size=100")).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let services = list["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| Some(Listed { service_identifier: l["id"].as_u64()?.to_string(), label: str_of(l, "label").map(str::to_owned), suspended: Some(l["status"] == "billing_suspension") }))
                .collect();
            let pages = list["pages"].as_u64().unwrap_or(1);
            let next = (number < pages).then(|| (number + 1).to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// Linode (servers).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("api_token", secret())
        .opt("api_url", address(super::api_url()))
        // Public SSH keys (one per line) put on every new or rebuilt Linode.
        .opt("authorized_keys", string_max(20_000))
        // A Cloud Firewall every new Linode is attached to.
        .opt("firewall_id", int_min(1))
        // Whether new Linodes get a private IPv4 address.
        .opt("private_ip", boolean())
        // Whether a resize also resizes the disks (Linode's default: yes).
        .opt("allow_auto_disk_resize", boolean())
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "servers",
        name: "Linode (Akamai)",
        description: "Linodes (cloud servers) in a Linode account through API v4 (a personal access token with Linodes and Events read/write)",
        settings,
        supported_actions: <Linode as super::blueprints::Implements>::supported("servers"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "ln-token-Sup3rSecret";

    fn linode(status: &str) -> Value {
        json!({ "id": 123, "label": "web-1", "status": status, "created": "2026-11-23T10:00:00", "updated": "2026-11-23T10:05:00", "region": "us-east", "type": "g6-standard-2",
            "image": "linode/ubuntu24.04", "ipv4": ["192.168.130.4", "203.0.113.7"], "specs": { "disk": 81920, "memory": 4096, "vcpus": 2, "transfer": 4000 }, "tags": [] })
    }

    fn event(action: &str, status: &str) -> Value {
        json!({ "id": 9, "action": action, "status": status, "entity": { "id": 123, "type": "linode", "label": "web-1" }, "message": if status == "failed" { json!("image not found") } else { Value::Null } })
    }

    fn error(status: u16, reason: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({ "errors": [{ "reason": reason }] }))
    }

    async fn run_following(ln: &MockServer, action: &str, params: Value, following: Option<&'static str>, product: Option<&str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("servers", action).unwrap();
        let id = ConfigurationId::parse("cfg-ln").unwrap();
        let settings = json!({ "api_token": TOKEN, "api_url": format!("{}/v4", ln.uri()), "authorized_keys": "ssh-ed25519 AAAAC3Nz ops@example\n", "firewall_id": 77 });
        let si = params["instance_id"].as_str().unwrap_or("123").to_owned();
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some(&si), following, contract_product_id: product };
        let out = super::super::blueprints::Implementation::Servers(std::sync::Arc::new(Linode::new())).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(TOKEN) && !debug.contains("Root-pw-Secret9"), "{debug}");
        out
    }

    async fn run(ln: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_following(ln, action, params, None, None).await
    }

    #[tokio::test]
    async fn create_sends_the_documented_body_and_is_followed_through_the_linodes_events() {
        let ln = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v4/linode/instances"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_partial_json(json!({ "label": "web-1", "region": "us-east", "type": "g6-standard-2", "image": "linode/ubuntu24.04", "root_pass": "Root-pw-Secret9", "booted": true,
                "authorized_keys": ["ssh-ed25519 AAAAC3Nz ops@example"], "firewall_id": 77, "tags": [] })))
            .respond_with(ResponseTemplate::new(200).set_body_json(linode("provisioning")))
            .expect(1)
            .mount(&ln)
            .await;
        let out = run(
            &ln,
            "create-server",
            json!({ "email": "o@example.com", "label": "web-1", "location": "us-east", "image": "linode/ubuntu24.04", "size": "g6-standard-2", "root_password": "Root-pw-Secret9" }),
        )
        .await
        .unwrap();
        assert_eq!((out.service_identifier.as_deref(), out.data["state"].as_str()), (Some("123"), Some("initializing")));
        assert!(crate::domain::in_progress(&out.data), "the engine follows it");
        assert_eq!((out.data["ip_address"].as_str(), out.data["memory_mb"].as_i64()), (Some("203.0.113.7"), Some(4096)), "the public address, not the private one");

        // Followed: the instance boots while linode_boot runs; a failed create is reported.
        Mock::given(path("/v4/linode/instances/123")).respond_with(ResponseTemplate::new(200).set_body_json(linode("booting"))).up_to_n_times(1).mount(&ln).await;
        Mock::given(path("/v4/account/events"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [event("linode_boot", "started"), event("linode_create", "finished")], "page": 1, "pages": 1, "results": 2 })))
            .up_to_n_times(1)
            .mount(&ln)
            .await;
        let still = run_following(&ln, "get-info", json!({ "instance_id": "123" }), Some("create-server"), None).await.unwrap();
        assert_eq!(still.data["state"], "starting");
        let asked = ln.received_requests().await.unwrap().into_iter().find(|r| r.url.path() == "/v4/account/events").unwrap();
        let filter: Value = serde_json::from_slice(asked.headers.get("x-filter").unwrap().as_bytes()).unwrap();
        assert_eq!(filter, json!({ "entity.id": 123, "entity.type": "linode", "+order_by": "created", "+order": "desc" }), "the instance's events, newest first");
        Mock::given(path("/v4/linode/instances/123")).respond_with(ResponseTemplate::new(200).set_body_json(linode("running"))).mount(&ln).await;
        Mock::given(path("/v4/account/events"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [event("linode_boot", "finished"), event("linode_create", "finished")], "page": 1, "pages": 1, "results": 2 })))
            .up_to_n_times(1)
            .mount(&ln)
            .await;
        let done = run_following(&ln, "get-info", json!({ "instance_id": "123" }), Some("create-server"), None).await.unwrap();
        assert_eq!((done.data["state"].as_str(), done.data["created_at"].as_str()), (Some("running"), Some("2026-11-23 10:00:00")));
        Mock::given(path("/v4/account/events"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [event("linode_rebuild", "failed")], "page": 1, "pages": 1, "results": 1 })))
            .mount(&ln)
            .await;
        let f = run_following(&ln, "get-info", json!({ "instance_id": "123" }), Some("reinstall-server"), None).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "Linode's linode_rebuild failed: image not found"));
        assert_eq!(run(&ln, "get-info", json!({ "instance_id": "123" })).await.unwrap().data["state"], "running", "an old failure does not fail a plain get-info");
    }

    #[tokio::test]
    async fn a_create_without_a_password_gets_a_generated_one_and_a_lost_create_is_found_by_its_tag() {
        let ln = MockServer::start().await;
        let tag = product_tag("cp-lost-1");
        Mock::given(method("GET"))
            .and(path("/v4/linode/instances"))
            .and(header("x-filter", json!({ "tags": tag }).to_string().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [linode("running")], "page": 1, "pages": 1, "results": 1 })))
            .expect(1)
            .mount(&ln)
            .await;
        Mock::given(method("POST")).and(path("/v4/linode/instances")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&ln).await;
        let params = json!({ "email": "o@example.com", "label": "web-1", "location": "us-east", "image": "linode/ubuntu24.04", "memory_mb": 2048, "cpu_cores": 1, "disk_mb": 40000 });
        let out = run_following(&ln, "create-server", params.clone(), None, Some("cp-lost-1")).await.unwrap();
        assert!(out.message.contains("not created again") && out.message.contains("set one with change-root-password"), "{}", out.message);
        assert!(out.data["metadata"]["root_password"].is_null(), "no password is made up for it");

        let ln = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v4/linode/types"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [
                { "id": "g6-standard-4", "memory": 8192, "vcpus": 4, "disk": 163840, "class": "standard" },
                { "id": "g6-standard-1", "memory": 2048, "vcpus": 1, "disk": 51200, "class": "standard" },
                { "id": "g6-nanode-1", "memory": 1024, "vcpus": 1, "disk": 25600, "class": "nanode" } ], "page": 1, "pages": 1, "results": 3 })))
            .mount(&ln)
            .await;
        Mock::given(method("POST"))
            .and(path("/v4/linode/instances"))
            .and(body_partial_json(json!({ "type": "g6-standard-1" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(linode("provisioning")))
            .expect(1)
            .mount(&ln)
            .await;
        let out = run(&ln, "create-server", params).await.unwrap();
        let generated = out.data["metadata"]["root_password"].as_str().unwrap().to_owned();
        assert_eq!(generated.len(), 24);
        let sent: Value = serde_json::from_slice(&ln.received_requests().await.unwrap().last().unwrap().body).unwrap();
        assert_eq!(sent["root_pass"], generated.as_str(), "the password set is the one answered");
        assert!(!serde_json::to_string(&out.debug).unwrap().contains(&generated), "and it is masked in the exchanges");
    }

    #[tokio::test]
    async fn a_root_password_is_set_on_a_shut_down_linode_which_is_booted_again() {
        let ln = MockServer::start().await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(linode("running"))).up_to_n_times(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123/shutdown")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(linode("shutting_down"))).up_to_n_times(2).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(linode("offline"))).up_to_n_times(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123/password"))
            .and(body_json(json!({ "root_pass": "Root-pw-Secret9" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .expect(1)
            .mount(&ln)
            .await;
        Mock::given(path("/v4/linode/instances/123/boot")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(tagged(linode("booting")))).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123")).and(method("PUT")).respond_with(ResponseTemplate::new(200).set_body_json(linode("running"))).expect(2).mount(&ln).await;
        let out = run(&ln, "change-root-password", json!({ "instance_id": "123", "root_password": "Root-pw-Secret9" })).await.unwrap();
        assert!(out.message.contains("booting again"), "{}", out.message);
        let sent = ln.received_requests().await.unwrap();
        let order: Vec<String> = sent.iter().filter(|r| r.method.as_str() != "GET").map(|r| format!("{} {}", r.method, r.url.path().rsplit('/').next().unwrap())).collect();
        assert_eq!(order, ["PUT 123", "POST shutdown", "POST password", "POST boot", "PUT 123"]);
        let tags: Vec<Value> = sent.iter().filter(|r| r.method.as_str() == "PUT").map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["tags"].clone()).collect();
        assert_eq!(tags, [json!([BOOT_TAG]), json!(["cp-keep"])], "the boot tag is set before the shutdown and taken after the boot; other tags stay");

        // A Linode that will not go down in time: no password is sent; try again later. The
        // next try finds it down with the boot tag, so it is booted again after its password.
        let ln = MockServer::start().await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(tagged(linode("shutting_down")))).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123/password")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&ln).await;
        let f = run(&ln, "change-root-password", json!({ "instance_id": "123", "root_password": "Root-pw-Secret9" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        let ln = MockServer::start().await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(tagged(linode("offline")))).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123")).and(method("PUT")).respond_with(ResponseTemplate::new(200).set_body_json(linode("offline"))).expect(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123/password")).respond_with(error(400, "Password does not meet strength requirement")).expect(1).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/123/boot")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(1).mount(&ln).await;
        let f = run(&ln, "change-root-password", json!({ "instance_id": "123", "root_password": "weak" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent, "{}", f.message);
        assert!(f.message.ends_with("(Linode 123 was shut down for it and is booted again)"), "a refused password leaves it running: {}", f.message);
    }

    /// A Linode with the boot tag (and a tag of its own, which stays).
    fn tagged(mut l: Value) -> Value {
        l["tags"] = json!([BOOT_TAG, "cp-keep"]);
        l
    }

    #[tokio::test]
    async fn power_rebuild_resize_connection_and_delete_use_linodes_calls() {
        let ln = MockServer::start().await;
        Mock::given(path("/v4/linode/instances/123")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(linode("running"))).mount(&ln).await;
        for name in ["boot", "shutdown", "reboot"] {
            Mock::given(path(format!("/v4/linode/instances/123/{name}"))).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(1).mount(&ln).await;
        }
        run(&ln, "power-on", json!({ "instance_id": "123" })).await.unwrap();
        run(&ln, "reboot", json!({ "instance_id": "123" })).await.unwrap();
        run(&ln, "shut-down", json!({ "instance_id": "123" })).await.unwrap();
        let posts = ln.received_requests().await.unwrap();
        assert!(posts.iter().filter(|r| r.method.as_str() == "POST").all(|r| r.body.is_empty()), "power calls carry no body");
        Mock::given(path("/v4/linode/instances/123/rebuild"))
            .and(body_partial_json(json!({ "image": "linode/debian12", "root_pass": "Root-pw-Secret9", "authorized_keys": ["ssh-ed25519 AAAAC3Nz ops@example"] })))
            .respond_with(ResponseTemplate::new(200).set_body_json(linode("rebuilding")))
            .expect(1)
            .mount(&ln)
            .await;
        let rebuilt = run(&ln, "reinstall-server", json!({ "instance_id": "123", "image": "linode/debian12", "root_password": "Root-pw-Secret9" })).await.unwrap();
        assert_eq!(rebuilt.data["state"], "rebuilding");
        let f = run(&ln, "resize-server", json!({ "instance_id": "123", "size": "g6-standard-4" })).await.unwrap_err();
        assert!(f.message.contains("resize_running"), "{}", f.message);
        Mock::given(path("/v4/linode/instances/123/resize"))
            .and(body_json(json!({ "type": "g6-standard-4", "allow_auto_disk_resize": true, "migration_type": "cold" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .expect(1)
            .mount(&ln)
            .await;
        let resized = run(&ln, "resize-server", json!({ "instance_id": "123", "size": "g6-standard-4", "resize_running": true })).await.unwrap();
        assert_eq!(resized.data["state"], "resizing");
        let ssh = run(&ln, "get-connection", json!({ "instance_id": "123" })).await.unwrap();
        assert_eq!(ssh.data, json!({ "type": "ssh", "command": "ssh root@203.0.113.7" }));
        Mock::given(path("/v4/linode/instances/123")).and(method("DELETE")).respond_with(ResponseTemplate::new(200).set_body_json(json!({}))).expect(1).mount(&ln).await;
        run(&ln, "terminate", json!({ "instance_id": "123" })).await.unwrap();
        let f = run(&ln, "suspend", json!({ "instance_id": "123" })).await.unwrap_err();
        assert_eq!(f.message, "servers/suspend is not supported by linode");
    }

    #[tokio::test]
    async fn auth_failures_missing_linodes_rate_limits_outages_and_bad_bodies_are_clear_failures() {
        let ln = MockServer::start().await;
        Mock::given(path("/v4/linode/instances/1")).respond_with(error(401, "Invalid Token")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/2")).respond_with(error(404, "Not found")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/3")).respond_with(error(429, "Too Many Requests")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/4")).respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/5/reboot")).respond_with(error(500, "Internal error")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/6/password")).respond_with(error(400, "Password does not meet strength requirement")).mount(&ln).await;
        Mock::given(path("/v4/linode/instances/6")).respond_with(ResponseTemplate::new(200).set_body_json(linode("offline"))).mount(&ln).await;
        let info = |id: &str| json!({ "instance_id": id });
        let f = run(&ln, "get-info", info("1")).await.unwrap_err();
        assert_eq!((f.kind, f.message.contains("api_token")), (FailureKind::Permanent, true));
        let f = run(&ln, "get-info", info("2")).await.unwrap_err();
        assert_eq!((f.kind, f.message.contains("Not found")), (FailureKind::Permanent, true));
        let f = run(&ln, "get-info", info("3")).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
        assert!(run(&ln, "get-info", info("4")).await.unwrap_err().message.contains("malformed"));
        let f = run(&ln, "reboot", info("5")).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 1), "a write is tried once");
        let f = run(&ln, "change-root-password", json!({ "instance_id": "6", "root_password": "weak" })).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "Linode refused post-reset-linode-password: Password does not meet strength requirement"));
        let f = run(&ln, "get-info", info("web-1")).await.unwrap_err();
        assert!(f.message.contains("not a Linode id") && f.debug.is_empty());
        assert_eq!(linode_label("my server #1!").unwrap(), "myserver1");
        assert_eq!(linode_label("--a..b__c--").unwrap(), "a.b_c");
        assert!(linode_label("x").is_err());
    }

    #[tokio::test]
    async fn the_linodes_are_listed_a_page_at_a_time_and_the_connection_check_reads_the_profile() {
        let ln = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v4/linode/instances"))
            .and(query_param("page", "1"))
            .and(query_param("page_size", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [linode("running")], "page": 1, "pages": 2, "results": 101 })))
            .mount(&ln)
            .await;
        Mock::given(method("GET")).and(path("/v4/profile")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "username": "reseller1", "email": "r@example.com" }))).mount(&ln).await;
        let settings = json!({ "api_token": TOKEN, "api_url": format!("{}/v4", ln.uri()) });
        let id = ConfigurationId::parse("cfg-ln").unwrap();
        let first = Linode::new().list_services("servers", &id, &settings, None).await.unwrap();
        assert_eq!(first.services, [Listed { service_identifier: "123".into(), label: Some("web-1".into()), suspended: Some(false) }]);
        assert_eq!(first.next.as_deref(), Some("2"));
        let connected = Linode::new().test_connection("servers", &settings).await.unwrap();
        assert_eq!(connected.message, "connected to Linode as reseller1");
        assert!(!serde_json::to_string(&connected.debug).unwrap().contains(TOKEN));
    }
}
