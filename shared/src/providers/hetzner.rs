//! The `hetzner-cloud` provider (servers): the Hetzner Cloud API (REST, JSON,
//! `Authorization: Bearer <api_token>`), as ../shared/specs/hetzner-cloud/cloud.spec.json
//! describes it. Errors are `{"error": {"code", "message"}}` with a status; every change answers
//! an action (`id`, `command`, `status`: running | success | error) that is followed by its id.
//!
//! Long-running actions (create, rebuild, change type) answer at once with the server in a
//! transitional state; the engine then follows them through get-info, which looks at the
//! server's actions: still running → the transitional state; ended in error → the failure, with
//! Hetzner's reason. Quick ones (power, reset password, delete) are followed here for a few
//! seconds. Hetzner cannot suspend a server: suspend and unsuspend are not supported.
//!
//! A chosen root password is set at create and rebuild through cloud-init (`user_data`); Hetzner
//! generates the password of reset_password itself, which is answered in
//! `metadata.root_password` (masked in the log like every wire secret).

use crate::catalogue::schema::{address, boolean, params, secret, string_max};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{Rebuild, Resize, ServerSize as Size, non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "hetzner-cloud";
pub const DEFAULT_API_URL: &str = "https://api.hetzner.cloud/v1";
/// Fields that carry secrets on Hetzner's wire (and in this provider's answers).
pub const WIRE_SECRETS: &[&str] = &["root_password", "password", "wss_url", "user_data", "token"];
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a quick action (power, reset password, delete) is followed before answering.
const QUICK_POLLS: u32 = 4;
const POLL_INTERVAL: Duration = Duration::from_millis(if cfg!(test) { 10 } else { 1000 });
/// The label that marks a server with (a digest of) its contract product.
const PRODUCT_LABEL: &str = "provisioning-product";
/// The label a resize of a running server leaves, so that its follow-up powers it on again.
const POWER_ON_LABEL: &str = "provisioning-power-on-after-resize";

pub struct HetznerCloud;

impl Default for HetznerCloud {
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
    ssh_keys: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    upgrade_disk: bool,
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
    #[serde(default, deserialize_with = "non_empty")]
    customer_identifier: Option<String>,
    #[serde(flatten)]
    size: Size,
}

use super::str_of;

/// What an answer means: the body on 2xx, otherwise Hetzner's error by its code.
fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let error = reply.body.as_ref().map(|b| &b["error"]);
        let code = error.and_then(|e| e["code"].as_str()).unwrap_or("");
        let message = error.and_then(|e| e["message"].as_str()).unwrap_or("");
        match reply.status {
            200..=299 => reply.body.clone().ok_or_else(|| ProviderFailure::permanent(format!("Hetzner Cloud answered {what} with a malformed body"))),
            401 => Err(ProviderFailure::permanent("Hetzner Cloud refused the API token: check api_token (a read-write token of the project)")),
            status => {
                let kind = match (status, code) {
                    (403, "maintenance") | (409, "conflict") | (423, "locked") => FailureKind::Transient,
                    (423, _) => FailureKind::Permanent,
                    (s, _) => kind_of_status(s),
                };
                let detail = if message.is_empty() { format!("HTTP {status}") } else { format!("{message} ({code})") };
                let message = match status {
                    404 => format!("Hetzner Cloud has no such resource for {what}: {detail}"),
                    429 => format!("Hetzner Cloud's rate limit was reached on {what}: try later"),
                    _ => format!("Hetzner Cloud refused {what}: {detail}"),
                };
                Err(ProviderFailure { kind, message: message.chars().take(500).collect(), debug: vec![] })
            }
        }
    }
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Body) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let token = self.settings.api_token.clone();
        self.wire.exchange(Request { what, method, url: &url, body: &body, read }, |r| r.bearer_auth(&token), judge(what)).await
    }

    async fn get(&mut self, what: &str, path: &str) -> Result<Value, ProviderFailure> {
        self.send(what, reqwest::Method::GET, path, Body::None).await
    }

    /// A server action (`POST /servers/{id}/actions/<name>`), with a body only when it takes one.
    async fn act(&mut self, id: u64, name: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let body = body.map_or(Body::None, Body::Json);
        self.send(name, reqwest::Method::POST, &format!("/servers/{id}/actions/{name}"), body).await
    }

    /// Follows an action for up to `polls` reads: the last state seen, or its failure.
    async fn follow(&mut self, action: &Value, polls: u32) -> Result<Value, ProviderFailure> {
        let mut action = action.clone();
        for poll in 0..=polls {
            match action["status"].as_str() {
                Some("success") => break,
                Some("error") => return Err(action_failed(&action)),
                _ if poll == polls => break,
                _ => {}
            }
            let Some(id) = action["id"].as_u64() else { break };
            tokio::time::sleep(POLL_INTERVAL).await;
            action = self.get("get_action", &format!("/actions/{id}")).await?["action"].clone();
        }
        Ok(action)
    }

    async fn server(&mut self, id: u64) -> Result<Value, ProviderFailure> {
        Ok(self.get("get_server", &format!("/servers/{id}")).await?["server"].clone())
    }

    /// The server's latest actions, newest first.
    async fn actions(&mut self, id: u64) -> Result<Vec<Value>, ProviderFailure> {
        let list = self.get("list_server_actions", &format!("/servers/{id}/actions?sort=id:desc&per_page=25")).await?;
        Ok(list["actions"].as_array().cloned().unwrap_or_default())
    }

    /// get-info: the server as the catalogue shows it, its state transitional while one of its
    /// long actions runs. `following`: the commands of the operation being followed; if the
    /// newest of them failed, that failure.
    async fn info(&mut self, id: u64, following: &[&str]) -> Result<Value, ProviderFailure> {
        let server = self.server(id).await?;
        let actions = self.actions(id).await?;
        if let Some(last) = actions.iter().find(|a| a["command"].as_str().is_some_and(|c| following.contains(&c)))
            && last["status"] == "error"
        {
            return Err(action_failed(last));
        }
        let mut info = server_info(&server);
        let running = actions.iter().filter(|a| a["status"] == "running").find_map(|a| transitional(a["command"].as_str().unwrap_or("")));
        if let Some(state) = running {
            info["state"] = json!(state);
        }
        // A resize of a running server powers it on again once the new type is in place.
        if following.contains(&"change_server_type") && running.is_none() && server["labels"].get(POWER_ON_LABEL).is_some() {
            // Powered on first, the label dropped after: a failed power-on is tried again by the
            // next follow-up, never forgotten.
            if server["status"] == "off" {
                let action = self.act(id, "poweron", None).await?["action"].clone();
                self.follow(&action, 0).await?;
                info["state"] = json!("starting");
            }
            let mut labels = server["labels"].clone();
            if let Some(l) = labels.as_object_mut() {
                l.remove(POWER_ON_LABEL);
            }
            self.send("update_server", reqwest::Method::PUT, &format!("/servers/{id}"), Body::Json(json!({ "labels": labels }))).await?;
        }
        Ok(info)
    }

    /// The type for a size given by memory, cores and disk: the smallest that fits.
    async fn type_for(&mut self, wanted: &Size, location: Option<&str>) -> Result<String, ProviderFailure> {
        if let Some(size) = &wanted.size {
            return Ok(size.clone());
        }
        let want = |k: &str| {
            let n = match k {
                "cpu_cores" => wanted.cpu_cores,
                "memory_mb" => wanted.memory_mb,
                _ => wanted.disk_mb,
            };
            n.unwrap_or(0) as f64
        };
        let types = self.get("list_server_types", "/server_types?per_page=50").await?;
        let fits = types["server_types"].as_array().into_iter().flatten().filter(|t| {
            let at = location.is_none_or(|l| t["prices"].as_array().is_some_and(|p| p.iter().any(|p| p["location"] == l)));
            at && t["deprecated"] != true
                && t["cores"].as_f64().unwrap_or(0.0) >= want("cpu_cores")
                && t["memory"].as_f64().unwrap_or(0.0) * 1024.0 >= want("memory_mb")
                && t["disk"].as_f64().unwrap_or(0.0) * 1024.0 >= want("disk_mb")
        });
        let smallest = fits.min_by(|a, b| {
            let key = |t: &Value| (t["memory"].as_f64().unwrap_or(0.0), t["cores"].as_f64().unwrap_or(0.0), t["disk"].as_f64().unwrap_or(0.0));
            key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal)
        });
        smallest.and_then(|t| str_of(t, "name").map(str::to_owned)).ok_or_else(|| {
            ProviderFailure::permanent(format!(
                "no Hetzner Cloud server type has {} cores, {} MB memory and {} MB disk{}",
                want("cpu_cores"),
                want("memory_mb"),
                want("disk_mb"),
                location.map(|l| format!(" in {l}")).unwrap_or_default()
            ))
        })
    }
}

fn action_failed(action: &Value) -> ProviderFailure {
    let command = action["command"].as_str().unwrap_or("action");
    let reason = action["error"]["message"].as_str().unwrap_or("no reason given");
    ProviderFailure::permanent(format!("Hetzner Cloud's {command} failed: {reason}"))
}

/// The catalogue's state while an action of this command runs.
fn transitional(command: &str) -> Option<&'static str> {
    match command {
        "create_server" => Some("initializing"),
        "start_server" | "poweron" => Some("starting"),
        "rebuild_server" => Some("rebuilding"),
        "change_server_type" => Some("resizing"),
        _ => None,
    }
}

/// A Hetzner server as the catalogue's server_info.
fn server_info(s: &Value) -> Value {
    let gb_to_mb = |v: &Value| v.as_f64().map(|g| (g * 1024.0).round() as i64);
    let image = str_of(&s["image"], "name").or_else(|| str_of(&s["image"], "description")).unwrap_or("unknown");
    let location = str_of(&s["location"], "name").or_else(|| str_of(&s["datacenter"]["location"], "name")).unwrap_or("unknown");
    let mut info = json!({
        "instance_id": s["id"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
        "state": str_of(s, "status").unwrap_or("unknown"),
        "suspended": false,
        "label": str_of(s, "name").unwrap_or_default(),
        "hostname": str_of(s, "name").unwrap_or_default(),
        "image": image,
        "location": location,
        "virtualization_type": "kvm",
    });
    if let Some(ip) = str_of(&s["public_net"]["ipv4"], "ip") {
        info["ip_address"] = json!(ip);
    }
    if let Some(t) = str_of(&s["server_type"], "name") {
        info["size"] = json!(t);
    }
    if let Some(c) = s["server_type"]["cores"].as_f64() {
        info["cpu_cores"] = json!(c as i64);
    }
    if let Some(m) = gb_to_mb(&s["server_type"]["memory"]) {
        info["memory_mb"] = json!(m);
    }
    if let Some(d) = gb_to_mb(&s["primary_disk_size"]).or_else(|| gb_to_mb(&s["server_type"]["disk"])) {
        info["disk_mb"] = json!(d);
    }
    if let Some(n) = str_of(&s["datacenter"], "name") {
        info["node"] = json!(n);
    }
    if let Some(c) = str_of(s, "created").and_then(crate::domain::time::normalize_datetime) {
        info["created_at"] = json!(c);
    }
    info
}

/// cloud-init that sets the root password (Hetzner has no parameter for a chosen one).
fn password_user_data(password: &str) -> String {
    let quoted = serde_json::to_string(password).unwrap_or_default();
    format!("#cloud-config\nssh_pwauth: true\nchpasswd:\n  expire: false\n  users:\n    - name: root\n      password: {quoted}\n      type: text\n")
}

fn instance_id(call: &ProviderCall<'_>) -> Result<u64, ProviderFailure> {
    let raw = call.subject().unwrap_or_default();
    raw.parse::<u64>().ok().filter(|i| *i > 0).ok_or_else(|| ProviderFailure::permanent(format!("{raw:?} is not a Hetzner Cloud server id (a positive number)")))
}

impl HetznerCloud {
    pub fn new() -> Self {
        HetznerCloud
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = settings.api_url.as_deref().unwrap_or(DEFAULT_API_URL).trim_end_matches('/').to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "Hetzner Cloud", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let following: &[&str] = match call.following {
            Some("create-server") => &["create_server", "start_server"],
            Some("reinstall-server") => &["rebuild_server"],
            Some("resize-server") => &["change_server_type", "stop_server"],
            _ => &[],
        };
        Ok((format!("server {id}"), api.info(id, following).await?, None))
    }

    /// `reinstall-server`
    async fn reinstall_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Rebuild) -> Answer {
        let id = instance_id(call)?;
        let mut body = json!({ "image": p.image });
        if let Some(pw) = &p.root_password {
            body["user_data"] = json!(password_user_data(pw));
        }
        let answer = api.act(id, "rebuild", Some(body)).await?;
        let mut info = server_info(&api.server(id).await?);
        info["state"] = json!("rebuilding");
        with_answer(&mut info, &answer);
        Ok((format!("server {id} is being rebuilt from {}", p.image), info, None))
    }

    /// `resize-server`
    async fn resize_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Resize) -> Answer {
        let id = instance_id(call)?;
        let server = api.server(id).await?;
        let location = str_of(&server["location"], "name").map(str::to_owned);
        let target = api.type_for(&p.size, location.as_deref()).await?;
        if server["status"] != "off" {
            if !p.resize_running {
                return Err(ProviderFailure::permanent(format!(
                    "server {id} is {}: Hetzner Cloud changes the type of a stopped server only (shut it down first, or set resize_running)",
                    str_of(&server, "status").unwrap_or("running")
                )));
            }
            let mut labels = server["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels[POWER_ON_LABEL] = json!("true");
            api.send("update_server", reqwest::Method::PUT, &format!("/servers/{id}"), Body::Json(json!({ "labels": labels }))).await?;
            let off = api.act(id, "poweroff", None).await?["action"].clone();
            let off = api.follow(&off, QUICK_POLLS).await?;
            if off["status"] != "success" {
                return Err(ProviderFailure { kind: FailureKind::Transient, message: format!("server {id} is still powering off: the resize will be tried again"), debug: vec![] });
            }
        }
        let upgrade_disk = api.settings.upgrade_disk;
        let answer = api.act(id, "change_type", Some(json!({ "server_type": target, "upgrade_disk": upgrade_disk }))).await?;
        let mut info = server_info(&api.server(id).await?);
        info["state"] = json!("resizing");
        with_answer(&mut info, &answer);
        Ok((format!("server {id} is moving to {target}"), info, None))
    }

    /// `get-connection`
    async fn get_connection(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let answer = api.act(id, "request_console", None).await?;
        let url = str_of(&answer, "wss_url").ok_or_else(|| ProviderFailure::permanent("Hetzner Cloud answered request_console without a wss_url"))?;
        let expires = crate::domain::time::framework_datetime(crate::domain::time::now_millis() + 60_000);
        let data = json!({
            "type": "vnc",
            "vnc_connection": { "websocket_url": url, "password": answer["password"] },
            "expires_at": expires,
        });
        Ok((format!("a console of server {id}, valid for one minute"), data, None))
    }

    /// `change-root-password`
    async fn change_root_password(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let answer = api.act(id, "reset_password", None).await?;
        let action = api.follow(&answer["action"], QUICK_POLLS).await?;
        let mut info = server_info(&api.server(id).await?);
        with_answer(&mut info, &json!({ "action": action, "root_password": answer["root_password"] }));
        Ok((format!("Hetzner Cloud set a new root password on server {id} (it generates the password: the one asked for cannot be set; the new one is in metadata.root_password)"), info, None))
    }

    /// `power-on`: the server's poweron action, followed briefly.
    async fn power_on(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "poweron").await
    }

    /// `shut-down`: an ACPI shutdown, followed briefly.
    async fn shut_down(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "shutdown").await
    }

    /// `reboot`: a soft reboot, followed briefly.
    async fn reboot(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, instance_id(call)?, "reboot").await
    }

    /// A power action of the server (`poweron`, `shutdown`, `reboot`), followed briefly.
    async fn power(&self, api: &mut Api<'_>, id: u64, name: &str) -> Answer {
        let answer = api.act(id, name, None).await?;
        let action = api.follow(&answer["action"], QUICK_POLLS).await?;
        let mut info = server_info(&api.server(id).await?);
        with_answer(&mut info, &json!({ "action": action }));
        Ok((format!("{name} of server {id}: {}", action["status"].as_str().unwrap_or("sent")), info, None))
    }

    /// `terminate`
    async fn terminate(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = instance_id(call)?;
        let answer = api.send("delete_server", reqwest::Method::DELETE, &format!("/servers/{id}"), Body::None).await?;
        api.follow(&answer["action"], QUICK_POLLS).await?;
        Ok((format!("server {id} deleted"), json!({}), None))
    }

    /// `create-server`: a server labelled with a digest of its contract product, so a create
    /// whose answer was lost finds it.
    async fn create_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: CreateServer) -> Answer {
        // Every server is labelled with a digest of its contract product: a create whose answer
        // was lost finds the server it made instead of making a second (Hetzner has no
        // idempotency key, and its id is unknown to the engine until the answer arrives).
        let mark = call.contract_product_id.map(|id| super::digest_hex(id, 16));
        if let Some(mark) = &mark {
            let found = api.get("list_servers", &format!("/servers?label_selector={PRODUCT_LABEL}%3D%3D{mark}")).await?;
            if let Some(server) = found["servers"].as_array().and_then(|s| s.first()) {
                let info = server_info(server);
                let id = info["instance_id"].as_str().unwrap_or_default().to_owned();
                if !id.is_empty() {
                    return Ok((format!("server {id} was made by an earlier try whose answer was lost: not created again"), info, Some(id)));
                }
            }
        }
        let location = Some(p.location.as_str()).filter(|l| !l.is_empty());
        let server_type = api.type_for(&p.size, location).await?;
        let mut body = json!({
            "name": p.label,
            "server_type": server_type,
            "image": p.image,
            "start_after_create": true,
        });
        if let Some(l) = location {
            body["location"] = json!(l);
        }
        let keys: Vec<Value> = api.settings.ssh_keys.as_deref().into_iter().flat_map(|k| k.split(',')).map(str::trim).filter(|k| !k.is_empty()).map(|k| json!(k)).collect();
        if !keys.is_empty() {
            body["ssh_keys"] = json!(keys);
        }
        if let Some(pw) = &p.root_password {
            body["user_data"] = json!(password_user_data(pw));
        }
        let mut labels = serde_json::Map::new();
        if let Some(c) = p.customer_identifier.as_deref().filter(|c| c.len() <= 63 && c.chars().all(|x| x.is_ascii_alphanumeric() || "-_.".contains(x))) {
            labels.insert("customer".into(), json!(c));
        }
        if let Some(mark) = mark {
            labels.insert(PRODUCT_LABEL.into(), json!(mark));
        }
        if !labels.is_empty() {
            body["labels"] = Value::Object(labels);
        }
        let answer = api.send("create_server", reqwest::Method::POST, "/servers", Body::Json(body)).await?;
        let mut info = server_info(&answer["server"]);
        if info["instance_id"] == "" {
            return Err(ProviderFailure::permanent("Hetzner Cloud answered create_server without a server id"));
        }
        if info["state"] == "running" && answer["action"]["status"] == "running" {
            info["state"] = json!("initializing");
        }
        with_answer(&mut info, &answer);
        let id = info["instance_id"].as_str().unwrap_or_default().to_owned();
        Ok((format!("server {id} ({}) is being created", info["label"].as_str().unwrap_or_default()), info, Some(id)))
    }
}

/// What an answer adds to the server's metadata: the action that carries the change (its id,
/// command, status) and a password Hetzner generated (masked in the log).
fn with_answer(info: &mut Value, answer: &Value) {
    let mut metadata = serde_json::Map::new();
    let action = &answer["action"];
    if action.is_object() {
        metadata.insert("hetzner_action".into(), json!({ "id": action["id"], "command": action["command"], "status": action["status"] }));
    }
    if let Some(pw) = str_of(answer, "root_password") {
        metadata.insert("root_password".into(), json!(pw));
    }
    if !metadata.is_empty() {
        info["metadata"] = Value::Object(metadata);
    }
}

session_of_api!(HetznerCloud);

// suspend and unsuspend are not Hetzner Cloud's: a server is shut down or deleted.
implements!(Servers for HetznerCloud as ID, {
    create_server(CreateServer),
    reinstall_server(Rebuild),
    resize_server(Resize),
    get_info,
    get_connection,
    change_root_password,
    power_on,
    shut_down,
    reboot,
    terminate,
});

impl Connect for HetznerCloud {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api.get("list_servers", "/servers?per_page=1").await;
            let connected = result.map(|list| {
                let message = match list["meta"]["pagination"]["total_entries"].as_u64() {
                    Some(n) => format!("connected to Hetzner Cloud: the project has {n} servers"),
                    None => "connected to Hetzner Cloud".to_owned(),
                };
                (message, json!({ "connected": true }), None)
            });
            super::with_debug(connected, api.wire.take_debug())
        })
    }

    /// The project's servers, 50 a page (list_servers with `page` and `per_page`).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let number: u64 =
                page.map(|p| p.parse().ok().filter(|n| *n > 0).ok_or_else(|| ProviderFailure::permanent(format!("{p:?} is not a page of Hetzner's server list")))).transpose()?.unwrap_or(1);
            let mut api = self.api(settings)?;
            let listed = api.get("list_servers", &format!("/servers?page={number}&per_page=50")).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let services = list["servers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| Some(Listed { service_identifier: s["id"].as_u64()?.to_string(), label: str_of(s, "name").map(str::to_owned), suspended: None }))
                .collect();
            let next = list["meta"]["pagination"]["next_page"].as_u64().map(|n| n.to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// Hetzner Cloud (servers).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("api_token", secret())
        .opt("api_url", address(super::api_url()))
        // SSH keys of the project (names or ids, comma-separated) put on every new server.
        .opt("ssh_keys", string_max(1000))
        // Whether a resize also grows the disk (a later downgrade is then impossible).
        .opt("upgrade_disk", boolean())
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "servers",
        name: "Hetzner Cloud",
        description: "Cloud servers in a Hetzner Cloud project through its API (a read-write API token of the project)",
        settings,
        supported_actions: <HetznerCloud as super::blueprints::Implements>::supported("servers"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{body_partial_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const TOKEN: &str = "hz-token-Sup3rSecret";

    fn server(status: &str) -> Value {
        json!({ "id": 42, "name": "web-1", "status": status, "created": "2026-11-23T10:00:00+00:00",
            "public_net": { "ipv4": { "ip": "203.0.113.4" } }, "server_type": { "name": "cpx22", "cores": 2, "memory": 4, "disk": 80 },
            "location": { "name": "fsn1" }, "datacenter": { "name": "fsn1-dc14", "location": { "name": "fsn1" } },
            "image": { "name": "ubuntu-24.04", "description": "Ubuntu 24.04" }, "primary_disk_size": 80, "labels": {} })
    }

    fn action(id: u64, command: &str, status: &str) -> Value {
        json!({ "id": id, "command": command, "status": status, "progress": 0, "started": "2026-11-23T10:00:00+00:00", "finished": null, "resources": [{ "id": 42, "type": "server" }],
            "error": if status == "error" { json!({ "code": "action_failed", "message": "image not found" }) } else { Value::Null } })
    }

    fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({ "error": { "code": code, "message": message, "details": null } }))
    }

    async fn run_following(hz: &MockServer, action: &str, params: Value, following: Option<&'static str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("servers", action).unwrap();
        let id = ConfigurationId::parse("cfg-hz").unwrap();
        let settings = json!({ "api_token": TOKEN, "api_url": hz.uri(), "ssh_keys": "ops-key, 7" });
        // As the engine does: the server acted on is the contract product's (here, the params').
        let si = params["instance_id"].as_str().unwrap_or("42").to_owned();
        let out = super::super::blueprints::Implementation::Servers(std::sync::Arc::new(HetznerCloud::new()))
            .run(ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some(&si), following, contract_product_id: None })
            .await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        out
    }

    async fn run(hz: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_following(hz, action, params, None).await
    }

    #[tokio::test]
    async fn create_sends_the_documented_body_and_is_followed_through_the_servers_actions() {
        let hz = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/servers"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_partial_json(json!({ "name": "web-1", "server_type": "cpx22", "image": "ubuntu-24.04", "location": "fsn1", "ssh_keys": ["ops-key", "7"], "start_after_create": true })))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({ "server": server("initializing"), "action": action(1, "create_server", "running"), "next_actions": [action(2, "start_server", "running")], "root_password": null }),
            ))
            .expect(1)
            .mount(&hz)
            .await;
        let out = run(&hz, "create-server", json!({ "email": "o@example.com", "label": "web-1", "location": "fsn1", "image": "ubuntu-24.04", "size": "cpx22", "root_password": "Root-pw-Secret9" }))
            .await
            .unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("42"));
        assert_eq!(out.data["state"], "initializing");
        assert!(crate::domain::in_progress(&out.data), "the engine follows it");
        let sent = &hz.received_requests().await.unwrap()[0];
        let body: Value = serde_json::from_slice(&sent.body).unwrap();
        assert!(body["user_data"].as_str().unwrap().contains("chpasswd"), "the chosen password goes through cloud-init");
        let debug = serde_json::to_string(&out.debug).unwrap();
        assert!(!debug.contains("Root-pw-Secret9") && !debug.contains(TOKEN), "{debug}");

        // Followed: while create_server runs the server is initializing; once done it is running.
        Mock::given(path("/servers/42")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("running") }))).mount(&hz).await;
        Mock::given(path("/servers/42/actions"))
            .and(query_param("sort", "id:desc"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(2, "start_server", "running"), action(1, "create_server", "success")], "meta": {} })))
            .up_to_n_times(1)
            .mount(&hz)
            .await;
        let still = run_following(&hz, "get-info", json!({ "instance_id": "42" }), Some("create-server")).await.unwrap();
        assert_eq!(still.data["state"], "starting");
        Mock::given(path("/servers/42/actions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(2, "start_server", "success"), action(1, "create_server", "success")], "meta": {} })))
            .mount(&hz)
            .await;
        let done = run_following(&hz, "get-info", json!({ "instance_id": "42" }), Some("create-server")).await.unwrap();
        assert_eq!((done.data["state"].as_str(), done.data["memory_mb"].as_i64(), done.data["ip_address"].as_str()), (Some("running"), Some(4096), Some("203.0.113.4")));
        assert_eq!(done.data["created_at"], "2026-11-23 10:00:00");
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_finds_its_server_by_label_instead_of_making_another() {
        let hz = MockServer::start().await;
        let mark: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"cp-lost-1").as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
        Mock::given(method("GET"))
            .and(path("/servers"))
            .and(query_param("label_selector", format!("{PRODUCT_LABEL}=={mark}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "servers": [server("running")], "meta": {} })))
            .expect(1)
            .mount(&hz)
            .await;
        Mock::given(method("POST")).and(path("/servers")).respond_with(ResponseTemplate::new(201)).expect(0).mount(&hz).await;
        let (b, a) = catalogue().action("servers", "create-server").unwrap();
        let id = ConfigurationId::parse("cfg-hz").unwrap();
        let settings = json!({ "api_token": TOKEN, "api_url": hz.uri() });
        let params = json!({ "email": "o@example.com", "label": "web-1", "location": "fsn1", "image": "ubuntu-24.04", "size": "cpx22" });
        let call =
            ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: None, following: None, contract_product_id: Some("cp-lost-1") };
        let out = super::super::blueprints::Implementation::Servers(std::sync::Arc::new(HetznerCloud::new())).run(call).await.unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("42"));
        assert!(out.message.contains("not created again"), "{}", out.message);
    }

    #[tokio::test]
    async fn a_failed_rebuild_is_reported_when_followed_and_power_actions_are_bodiless_and_followed() {
        let hz = MockServer::start().await;
        Mock::given(path("/servers/42")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("running") }))).mount(&hz).await;
        Mock::given(path("/servers/42/actions")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(5, "rebuild_server", "error")], "meta": {} }))).mount(&hz).await;
        let f = run_following(&hz, "get-info", json!({ "instance_id": "42" }), Some("reinstall-server")).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "Hetzner Cloud's rebuild_server failed: image not found"));
        assert_eq!(run(&hz, "get-info", json!({ "instance_id": "42" })).await.unwrap().data["state"], "running", "an old failure does not fail a plain get-info");

        Mock::given(path("/servers/42/actions/poweron")).respond_with(ResponseTemplate::new(201).set_body_json(json!({ "action": action(6, "start_server", "running") }))).mount(&hz).await;
        Mock::given(path("/actions/6")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "action": action(6, "start_server", "success") }))).expect(1).mount(&hz).await;
        let on = run(&hz, "power-on", json!({ "instance_id": "42" })).await.unwrap();
        assert_eq!(on.data["metadata"]["hetzner_action"]["status"], "success");
        let sent = hz.received_requests().await.unwrap();
        let post = sent.iter().find(|r| r.url.path().ends_with("/poweron")).unwrap();
        assert!(post.body.is_empty() && post.headers.get("content-type").is_none(), "action POSTs carry no body");

        Mock::given(path("/servers/42/actions/reset_password"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "root_password": "Gen-pw-Secret7", "action": action(7, "reset_password", "success") })))
            .mount(&hz)
            .await;
        let reset = run(&hz, "change-root-password", json!({ "instance_id": "42", "root_password": "Chosen-pw-1" })).await.unwrap();
        assert_eq!(reset.data["metadata"]["root_password"], "Gen-pw-Secret7", "the caller gets the generated password");
        assert!(!serde_json::to_string(&reset.debug).unwrap().contains("Gen-pw-Secret7"), "but it is masked on the wire record");

        Mock::given(path("/servers/42/actions/request_console"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({ "wss_url": "wss://console.hetzner.cloud/?server_id=42&token=t0k", "password": "vnc-pw-9", "action": action(8, "request_console", "success") })),
            )
            .mount(&hz)
            .await;
        let console = run(&hz, "get-connection", json!({ "instance_id": "42" })).await.unwrap();
        assert_eq!(console.data["vnc_connection"]["password"], "vnc-pw-9");
        assert!(!serde_json::to_string(&console.debug).unwrap().contains("t0k"));

        let (b, a) = catalogue().action("servers", "suspend").unwrap();
        let id = ConfigurationId::parse("cfg-hz").unwrap();
        let (settings, params) = (json!({ "api_token": TOKEN }), json!({ "instance_id": "42" }));
        let call = ProviderCall::for_service(b, a, &id, &settings, &params, Some("42"));
        let implementation = super::super::blueprints::Implementation::Servers(std::sync::Arc::new(HetznerCloud::new()));
        assert_eq!(implementation.run(call).await.unwrap_err().message, "servers/suspend is not supported by hetzner-cloud");
    }

    #[tokio::test]
    async fn a_running_server_is_resized_only_when_asked_and_powered_on_again_after() {
        let hz = MockServer::start().await;
        Mock::given(path("/servers/42")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("running") }))).up_to_n_times(1).mount(&hz).await;
        let f = run(&hz, "resize-server", json!({ "instance_id": "42", "size": "cpx32" })).await.unwrap_err();
        assert!(f.message.contains("stopped server only"), "{}", f.message);
        Mock::given(path("/servers/42")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("running") }))).up_to_n_times(1).mount(&hz).await;
        Mock::given(path("/servers/42"))
            .and(method("PUT"))
            .and(body_partial_json(json!({ "labels": { POWER_ON_LABEL: "true" } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("running") })))
            .expect(1)
            .mount(&hz)
            .await;
        Mock::given(path("/servers/42/actions/poweroff")).respond_with(ResponseTemplate::new(201).set_body_json(json!({ "action": action(9, "stop_server", "success") }))).expect(1).mount(&hz).await;
        Mock::given(path("/servers/42/actions/change_type"))
            .and(body_partial_json(json!({ "server_type": "cpx32", "upgrade_disk": false })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "action": action(10, "change_server_type", "running") })))
            .expect(1)
            .mount(&hz)
            .await;
        Mock::given(path("/servers/42")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("off") }))).up_to_n_times(1).mount(&hz).await;
        let out = run(&hz, "resize-server", json!({ "instance_id": "42", "size": "cpx32", "resize_running": true })).await.unwrap();
        assert_eq!(out.data["state"], "resizing");
        // The follow-up: the type changed, the server is off and labelled: power on, drop the label.
        let mut labelled = server("off");
        labelled["labels"] = json!({ POWER_ON_LABEL: "true", "customer": "c1" });
        Mock::given(path("/servers/42")).and(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": labelled }))).mount(&hz).await;
        Mock::given(path("/servers/42/actions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "actions": [action(10, "change_server_type", "success")], "meta": {} })))
            .mount(&hz)
            .await;
        Mock::given(path("/servers/42"))
            .and(method("PUT"))
            .and(body_partial_json(json!({ "labels": { "customer": "c1" } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "server": server("off") })))
            .expect(1)
            .mount(&hz)
            .await;
        Mock::given(path("/servers/42/actions/poweron")).respond_with(ResponseTemplate::new(201).set_body_json(json!({ "action": action(11, "start_server", "running") }))).expect(1).mount(&hz).await;
        let after = run_following(&hz, "get-info", json!({ "instance_id": "42" }), Some("resize-server")).await.unwrap();
        assert_eq!(after.data["state"], "starting");
        let put = hz.received_requests().await.unwrap().into_iter().filter(|r: &Request| r.method.as_str() == "PUT").last().unwrap();
        let body: Value = serde_json::from_slice(&put.body).unwrap();
        assert!(body["labels"].get(POWER_ON_LABEL).is_none());
    }

    /// The project's servers are listed a page at a time, as the API's pagination says.
    #[tokio::test]
    async fn the_servers_are_listed_a_page_at_a_time() {
        let hz = MockServer::start().await;
        let page = |servers: Value, next: Value| {
            ResponseTemplate::new(200).set_body_json(json!({ "servers": servers, "meta": { "pagination": { "page": 1, "per_page": 50, "next_page": next, "total_entries": 51 } } }))
        };
        Mock::given(method("GET"))
            .and(path("/servers"))
            .and(query_param("page", "1"))
            .and(query_param("per_page", "50"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(page(json!([{ "id": 42, "name": "web-1", "status": "running" }]), json!(2)))
            .mount(&hz)
            .await;
        Mock::given(method("GET")).and(path("/servers")).and(query_param("page", "2")).respond_with(page(json!([{ "id": 43, "name": "web-2", "status": "off" }]), Value::Null)).mount(&hz).await;
        let settings = json!({ "api_token": TOKEN, "api_url": hz.uri() });
        let id = ConfigurationId::parse("cfg-hz").unwrap();
        let first = HetznerCloud::new().list_services("servers", &id, &settings, None).await.unwrap();
        assert_eq!(first.services, [crate::providers::Listed { service_identifier: "42".into(), label: Some("web-1".into()), suspended: None }]);
        assert_eq!(first.next.as_deref(), Some("2"));
        let last = HetznerCloud::new().list_services("servers", &id, &settings, Some("2")).await.unwrap();
        assert_eq!((last.services[0].service_identifier.as_str(), last.next), ("43", None));
        assert!(!serde_json::to_string(&first.debug).unwrap().contains(TOKEN), "the token is not in the exchanges");
    }

    #[tokio::test]
    async fn auth_failures_missing_servers_rate_limits_locks_and_bad_bodies_are_clear_failures() {
        let hz = MockServer::start().await;
        Mock::given(path("/servers/1")).respond_with(error(401, "unauthorized", "unable to authenticate")).mount(&hz).await;
        Mock::given(path("/servers/2")).respond_with(error(404, "not_found", "server with ID '2' not found")).mount(&hz).await;
        Mock::given(path("/servers/3")).respond_with(error(429, "rate_limit_exceeded", "limit of 3600 requests per hour reached")).mount(&hz).await;
        Mock::given(path("/servers/4")).respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>")).mount(&hz).await;
        Mock::given(path("/servers/5/actions/reboot")).respond_with(error(423, "locked", "server is locked")).mount(&hz).await;
        Mock::given(path("/servers/6")).and(method("DELETE")).respond_with(error(503, "unavailable", "service unavailable")).mount(&hz).await;
        let info = |id: &str| json!({ "instance_id": id });
        let f = run(&hz, "get-info", info("1")).await.unwrap_err();
        assert_eq!((f.kind, f.message.contains("api_token")), (FailureKind::Permanent, true));
        let f = run(&hz, "get-info", info("2")).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent);
        assert!(f.message.contains("server with ID '2' not found (not_found)"), "{}", f.message);
        let f = run(&hz, "get-info", info("3")).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
        assert!(run(&hz, "get-info", info("4")).await.unwrap_err().message.contains("malformed"));
        let f = run(&hz, "reboot", info("5")).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 1), "a write is tried once");
        assert_eq!(run(&hz, "terminate", info("6")).await.unwrap_err().debug.len(), 1);
        let f = run(&hz, "get-info", info("web-1")).await.unwrap_err();
        assert!(f.message.contains("not a Hetzner Cloud server id") && f.debug.is_empty());
    }
}
