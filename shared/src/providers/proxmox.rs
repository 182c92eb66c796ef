//! The `proxmox` provider (servers): QEMU guests on one node of a Proxmox VE cluster, through its
//! API (`https://HOST:8006/api2/json`, `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`),
//! as ../shared/specs/proxmox-ve/apidata.js describes it (the tests hold every request to its
//! method's parameter schema). Bodies are form-encoded; every answer is `{"data": ...}`; a change
//! that takes time answers a task id (UPID), followed at `/nodes/{node}/tasks/{upid}/status`
//! (`running`, then `stopped` with `exitstatus` `OK` or the error).
//!
//! A server is a VM (its VMID is the service identifier) cloned from a template (the image: a
//! template's VMID, or its name). Create: a free VMID (`/cluster/nextid`), the clone (`full` per
//! the configuration; its description carries a digest of the contract product), then, once the
//! clone's task has ended, memory and cores, cloud-init's root password and the disk, and the
//! start. A create is resumable: every try first looks for the VM of its contract product (by name
//! and the digest in its description), so a try after a lost answer, or after a clone that outlasted
//! the wait, carries on where the last stopped instead of cloning again. Rebuild: the template is
//! cloned anew and configured like the old VM, then the old VM is stopped and destroyed: the
//! service identifier becomes the new VMID. Resize: memory, cores and a grown disk (a running VM
//! only with `resize_running`: it is shut down, changed and started). Root password: cloud-init's
//! `cipassword`, applied by a reboot of a running VM. Console: a VNC proxy ticket and its
//! websocket. Suspend and unsuspend pause and resume the VM. Terminate: stopped, then destroyed
//! with its disks.

use crate::catalogue::schema::{address, boolean, params, pattern, secret};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{Rebuild, Resize, ServerSize as Size, non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "proxmox";
/// Fields that carry secrets on Proxmox's wire (and in this provider's answers).
pub const WIRE_SECRETS: &[&str] = &["cipassword", "root_password", "password", "ticket", "vncticket"];
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How many reads a task is followed for before the action answers.
const TASK_POLLS: u32 = 10;
const POLL_INTERVAL: Duration = Duration::from_millis(if cfg!(test) { 10 } else { 1000 });
/// How a VM's description marks its contract product.
const MARK: &str = "provisioning-product";

pub struct Proxmox;

impl Default for Proxmox {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    api_url: String,
    token_id: String,
    token_secret: String,
    node: String,
    #[serde(default, deserialize_with = "non_empty")]
    storage: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    full_clone: bool,
    #[serde(default, deserialize_with = "non_empty")]
    disk: Option<String>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `create-server`
#[derive(Deserialize, Serialize)]
struct CreateServer {
    label: String,
    image: String,
    #[serde(default, deserialize_with = "non_empty")]
    root_password: Option<String>,
    #[serde(flatten)]
    size: Size,
}

/// `change-root-password`
#[derive(Deserialize, Serialize)]
struct RootPassword {
    root_password: String,
}

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let body = reply.body.as_ref();
        let mut detail: Vec<String> = body.and_then(|b| str_of(b, "message")).map(|m| m.trim().to_owned()).into_iter().collect();
        detail.extend(body.and_then(|b| b["errors"].as_object()).into_iter().flatten().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("invalid").trim())));
        let detail = if detail.is_empty() { format!("HTTP {}", reply.status) } else { detail.join("; ") };
        match reply.status {
            200..=299 => match body {
                Some(b) if b.is_object() => Ok(b["data"].clone()),
                _ => Err(ProviderFailure::permanent(format!("Proxmox VE answered {what} with a malformed body"))),
            },
            401 => Err(ProviderFailure::permanent("Proxmox VE refused the API token: check token_id (USER@REALM!TOKENID) and token_secret")),
            403 => Err(ProviderFailure::permanent(format!(
                "Proxmox VE refused {what} to this token: {detail} (the token needs VM.Allocate, VM.Clone, VM.Config.*, VM.PowerMgmt, VM.Console and Datastore.AllocateSpace)"
            ))),
            // Proxmox answers any error without a code of its own as a 500 with its message:
            // a lock or a timeout passes; a missing VM, a full storage or a bad value does not.
            // 595/596 are pveproxy's own: the node it forwards to could not be reached.
            status => {
                let kind = match status {
                    500 if detail.contains("does not exist") => FailureKind::Permanent,
                    500 => {
                        let passing = ["lock", "timeout", "temporarily"].iter().any(|w| detail.to_lowercase().contains(w));
                        if passing { FailureKind::Transient } else { FailureKind::Permanent }
                    }
                    595 | 596 => FailureKind::Transient,
                    other => kind_of_status(other),
                };
                Err(ProviderFailure { kind, message: format!("Proxmox VE refused {what}: {detail}").chars().take(500).collect(), debug: vec![] })
            }
        }
    }
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, form: Vec<(&str, String)>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let auth = format!("PVEAPIToken={}={}", self.settings.token_id, self.settings.token_secret);
        let body = if form.is_empty() { Body::None } else { Body::Form(form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()) };
        self.wire.exchange(Request { what, method, url: &url, body: &body, read }, |r| r.header("Authorization", &auth), judge(what)).await
    }

    async fn get(&mut self, what: &str, path: &str) -> Result<Value, ProviderFailure> {
        self.send(what, reqwest::Method::GET, path, Vec::new()).await
    }

    fn vm(&self, vmid: u64) -> String {
        format!("/nodes/{}/qemu/{vmid}", self.settings.node)
    }

    async fn status(&mut self, vmid: u64) -> Result<Value, ProviderFailure> {
        let path = format!("{}/status/current", self.vm(vmid));
        self.get("qemu status", &path).await
    }

    async fn config(&mut self, vmid: u64) -> Result<Value, ProviderFailure> {
        let path = format!("{}/config", self.vm(vmid));
        self.get("qemu config", &path).await
    }

    /// Follows a task for up to `polls` reads: true once it ended well; its failure if it ended
    /// badly; false while it runs.
    async fn follow(&mut self, upid: &Value, polls: u32) -> Result<bool, ProviderFailure> {
        let Some(upid) = upid.as_str().filter(|u| u.starts_with("UPID:")) else { return Ok(true) };
        let path = format!("/nodes/{}/tasks/{}/status", self.settings.node, super::wire::form_encode(&[(String::new(), upid.to_owned())]).trim_start_matches('='));
        for poll in 0..=polls {
            // The change was asked for: a failure reading how it goes leaves its outcome unknown.
            let task = self.get("task status", &path).await.map_err(super::made_but_unread)?;
            if task["status"] == "stopped" {
                let exit = str_of(&task, "exitstatus").unwrap_or("OK");
                // pve-common's upid_status_is_error: "OK" and "WARNINGS: n" are a task done.
                let warnings = exit.strip_prefix("WARNINGS: ").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                return if exit == "OK" || warnings { Ok(true) } else { Err(ProviderFailure::permanent(format!("Proxmox VE's task {} failed: {exit}", str_of(&task, "type").unwrap_or("")))) };
            }
            if poll < polls {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
        Ok(false)
    }

    /// A power action (`start`, `shutdown`, `stop`, `reboot`, `suspend`, `resume`), followed.
    async fn power(&mut self, vmid: u64, name: &str) -> Result<bool, ProviderFailure> {
        let path = format!("{}/status/{name}", self.vm(vmid));
        let upid = self.send(&format!("qemu {name}"), reqwest::Method::POST, &path, Vec::new()).await?;
        self.follow(&upid, TASK_POLLS).await
    }

    /// The template an image names: its VMID, or a template of that name on the node.
    async fn template(&mut self, image: &str) -> Result<(u64, String), ProviderFailure> {
        let path = format!("/nodes/{}/qemu", self.settings.node);
        let vms = self.get("list qemu", &path).await?;
        let templates = vms.as_array().cloned().unwrap_or_default().into_iter().filter(|v| v["template"] == 1 || v["template"] == true);
        let found = templates.into_iter().find(|t| t["vmid"].as_u64().map(|i| i.to_string()).as_deref() == Some(image) || t["name"].as_str() == Some(image));
        let t = found.ok_or_else(|| ProviderFailure::permanent(format!("node {} has no template {image:?} (a template's VMID or name)", self.settings.node)))?;
        Ok((t["vmid"].as_u64().unwrap_or_default(), str_of(&t, "name").unwrap_or(image).to_owned()))
    }

    /// The VM made for a contract product (or a rebuild): of this name (any, when none is
    /// given), its description carrying the mark.
    async fn marked(&mut self, name: Option<&str>, mark: &str) -> Result<Option<u64>, ProviderFailure> {
        let path = format!("/nodes/{}/qemu", self.settings.node);
        let vms = self.get("list qemu", &path).await?;
        let named = |v: &&Value| name.is_none_or(|n| v["name"] == n);
        let candidates: Vec<u64> = vms.as_array().into_iter().flatten().filter(named).filter(|v| v["template"] != 1).filter_map(|v| v["vmid"].as_u64()).collect();
        for vmid in candidates {
            if self.config(vmid).await?["description"].as_str().is_some_and(|d| d.contains(mark)) {
                return Ok(Some(vmid));
            }
        }
        Ok(None)
    }

    /// Clones a template to a new VM (its VMID), the clone's task followed: true once done.
    async fn clone_from(&mut self, template: u64, name: &str, description: &str) -> Result<(u64, bool), ProviderFailure> {
        let newid = self.get("next vmid", "/cluster/nextid").await?;
        let newid = newid.as_u64().or_else(|| newid.as_str().and_then(|s| s.parse().ok())).ok_or_else(|| ProviderFailure::permanent("Proxmox VE answered no free VMID"))?;
        let mut form = vec![("newid", newid.to_string()), ("name", name.to_owned()), ("description", description.to_owned()), ("full", u8::from(self.settings.full_clone).to_string())];
        if let Some(s) = self.settings.storage.clone().filter(|_| self.settings.full_clone) {
            form.push(("storage", s));
        }
        let path = format!("{}/clone", self.vm(template));
        let upid = self.send("qemu clone", reqwest::Method::POST, &path, form).await?;
        let done = self.follow(&upid, TASK_POLLS).await?;
        Ok((newid, done))
    }

    /// Gives a VM its size and root password and, when `start`, starts it (each step safe to
    /// repeat).
    async fn finish(&mut self, vmid: u64, size: &Size, password: Option<&str>, start: bool) -> Result<(), ProviderFailure> {
        let mut form: Vec<(&str, String)> = Vec::new();
        if let Some(m) = size.memory_mb {
            form.push(("memory", m.to_string()));
        }
        if let Some(c) = size.cpu_cores {
            form.push(("cores", c.to_string()));
        }
        if let Some(pw) = password {
            form.push(("ciuser", "root".into()));
            form.push(("cipassword", pw.to_owned()));
        }
        if !form.is_empty() {
            let path = format!("{}/config", self.vm(vmid));
            self.send("qemu config", reqwest::Method::PUT, &path, form).await?;
        }
        self.grow_disk(vmid, size.disk_mb).await?;
        if start && self.status(vmid).await?["status"] != "running" {
            self.power(vmid, "start").await?;
        }
        Ok(())
    }

    /// Grows the configured disk to `disk_mb` (never shrinks: Proxmox cannot).
    async fn grow_disk(&mut self, vmid: u64, disk_mb: Option<u64>) -> Result<(), ProviderFailure> {
        let Some(want) = disk_mb else { return Ok(()) };
        let have = self.status(vmid).await?["maxdisk"].as_u64().unwrap_or(0) / 1_048_576;
        if want <= have {
            return Ok(());
        }
        let disk = self.settings.disk.clone().unwrap_or_else(|| "scsi0".into());
        let path = format!("{}/resize", self.vm(vmid));
        let upid = self.send("qemu resize", reqwest::Method::PUT, &path, vec![("disk", disk), ("size", format!("{want}M"))]).await?;
        self.follow(&upid, TASK_POLLS).await?;
        Ok(())
    }

    /// The VM as the catalogue's server_info.
    async fn info(&mut self, vmid: u64) -> Result<Value, ProviderFailure> {
        let s = self.status(vmid).await?;
        Ok(server_info(vmid, &s, &self.settings.node))
    }
}

/// A VM's status as the catalogue's server_info.
fn server_info(vmid: u64, s: &Value, node: &str) -> Value {
    let state = match (str_of(s, "lock"), s["qmpstatus"].as_str().or(s["status"].as_str())) {
        (Some("clone" | "create"), _) => "initializing",
        (_, Some("paused" | "suspended")) => "suspended",
        (_, Some(other)) => other,
        _ => "unknown",
    };
    let mut info = json!({
        "instance_id": vmid.to_string(),
        "state": state,
        "suspended": state == "suspended",
        "label": str_of(s, "name").unwrap_or_default(),
        "hostname": str_of(s, "name").unwrap_or_default(),
        "image": "template",
        "location": node,
        "node": node,
        "virtualization_type": "kvm",
    });
    if let Some(c) = s["cpus"].as_f64() {
        info["cpu_cores"] = json!(c as i64);
    }
    for (field, from) in [("memory_mb", "maxmem"), ("disk_mb", "maxdisk")] {
        if let Some(b) = s[from].as_u64() {
            info[field] = json!(b / 1_048_576);
        }
    }
    info
}

fn vmid_of(call: &ProviderCall<'_>) -> Result<u64, ProviderFailure> {
    let raw = call.subject().unwrap_or_default();
    raw.parse::<u64>().ok().filter(|i| *i >= 100).ok_or_else(|| ProviderFailure::permanent(format!("{raw:?} is not a Proxmox VE VMID (100 or more)")))
}

/// A contract product's mark (a digest: the id itself stays ours).
fn mark_of(contract_product_id: &str) -> String {
    format!("{MARK} {}", super::digest_hex(contract_product_id, 8))
}

/// A VM name Proxmox takes (a DNS name): the label's letters, digits, `-` and `.`.
fn vm_name(label: &str) -> Result<String, ProviderFailure> {
    let name: String = label.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect::<String>().trim_matches(['-', '.']).chars().take(63).collect();
    if name.is_empty() { Err(ProviderFailure::permanent(format!("{label:?} cannot be a VM name"))) } else { Ok(name) }
}

impl Proxmox {
    pub fn new() -> Self {
        Proxmox
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = settings.api_url.trim_end_matches('/').to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "Proxmox VE", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `create-server`: find-or-clone, then size, password and start once the clone is done.
    async fn create_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: CreateServer) -> Answer {
        let name = vm_name(&p.label)?;
        let mark = mark_of(call.contract_product_id.unwrap_or(&name));
        let vmid = match api.marked(Some(&name), &mark).await? {
            Some(vmid) => vmid,
            None => {
                let (template, _) = api.template(&p.image).await?;
                let (vmid, done) = api.clone_from(template, &name, &mark).await?;
                if !done {
                    return Err(still_cloning(vmid));
                }
                vmid
            }
        };
        if str_of(&api.status(vmid).await?, "lock").is_some_and(|l| l == "clone") {
            return Err(still_cloning(vmid));
        }
        api.finish(vmid, &p.size, p.root_password.as_deref(), true).await.map_err(unread_unless_refused)?;
        let mut info = api.info(vmid).await.map_err(super::made_but_unread)?;
        info["image"] = json!(p.image);
        if info["state"] == "running" {
            info["state"] = json!("starting");
        }
        Ok((format!("VM {vmid} ({name}) cloned from {} and starting", p.image), info, Some(vmid.to_string())))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let vmid = vmid_of(call)?;
        Ok((format!("VM {vmid}"), api.info(vmid).await?, None))
    }

    /// `reinstall-server`: a new clone of the template, sized like the old VM, started; then the
    /// old VM destroyed. The service identifier becomes the new VMID.
    async fn reinstall_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Rebuild) -> Answer {
        let old = vmid_of(call)?;
        // The new VM carries this in its description: a try after one whose answer was lost
        // carries on from it rather than cloning again.
        let rebuild_mark = format!("(rebuild of {old})");
        let config = match api.config(old).await {
            // The old VM is gone: an earlier try made the new one and retired it.
            Err(f) if f.kind == FailureKind::Permanent && f.message.contains("does not exist") => match api.marked(None, &rebuild_mark).await? {
                Some(new) => {
                    let info = api.info(new).await?;
                    return Ok((format!("VM {old} was rebuilt as VM {new} by an earlier try whose answer was lost"), info, Some(new.to_string())));
                }
                None => return Err(f),
            },
            other => other?,
        };
        let name = str_of(&config, "name").map(str::to_owned).unwrap_or_else(|| format!("vm-{old}"));
        let description = str_of(&config, "description").unwrap_or_default().to_owned();
        let status = api.status(old).await?;
        let size = Size {
            size: None,
            memory_mb: config["memory"].as_u64().or_else(|| config["memory"].as_str().and_then(|m| m.trim_start_matches("current=").parse().ok())),
            cpu_cores: config["cores"].as_u64(),
            disk_mb: status["maxdisk"].as_u64().map(|b| b / 1_048_576),
        };
        let still_cloning = |new: u64| ProviderFailure { kind: FailureKind::Timeout, message: format!("VM {old}'s rebuild: the clone {new} is still running"), debug: vec![] };
        let new = match api.marked(Some(&name), &rebuild_mark).await? {
            Some(new) if str_of(&api.status(new).await?, "lock").is_some_and(|l| l == "clone") => return Err(still_cloning(new)),
            Some(new) => new,
            None => {
                let (template, _) = api.template(&p.image).await?;
                let (new, done) = api.clone_from(template, &name, &format!("{description} {rebuild_mark}")).await?;
                if !done {
                    return Err(still_cloning(new));
                }
                new
            }
        };
        api.finish(new, &size, p.root_password.as_deref(), true).await.map_err(unread_unless_refused)?;
        // The new VM stands: the old one goes (stopped first, as Proxmox requires).
        let retire = async {
            if api.status(old).await?["status"] == "running" {
                api.power(old, "stop").await?;
            }
            let path = format!("{}?purge=1&destroy-unreferenced-disks=1", api.vm(old));
            let upid = api.send("qemu destroy", reqwest::Method::DELETE, &path, Vec::new()).await?;
            api.follow(&upid, TASK_POLLS).await
        };
        let retired = retire.await;
        let mut info = api.info(new).await.map_err(super::made_but_unread)?;
        info["image"] = json!(p.image);
        info["state"] = json!("rebuilding");
        let mut message = format!("VM {old} rebuilt from {} as VM {new}", p.image);
        if let Err(f) = retired {
            message.push_str(&format!("; the old VM {old} is still there: {}", f.message));
        }
        Ok((message, info, Some(new.to_string())))
    }

    /// `resize-server`: memory and cores set, the disk grown; a running VM only with leave to
    /// stop it (shut down, changed, started again).
    async fn resize_server(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Resize) -> Answer {
        let vmid = vmid_of(call)?;
        if p.size.size.is_some() && p.size.memory_mb.is_none() && p.size.cpu_cores.is_none() {
            return Err(ProviderFailure::permanent("Proxmox VE has no plans: give memory_mb, cpu_cores and disk_mb"));
        }
        let running = api.status(vmid).await?["status"] == "running";
        if running && !p.resize_running {
            return Err(ProviderFailure::permanent(format!("VM {vmid} is running: a resize stops it for a while (shut it down first, or set resize_running)")));
        }
        if running && !api.power(vmid, "shutdown").await? {
            return Err(ProviderFailure { kind: FailureKind::Transient, message: format!("VM {vmid} is still shutting down: the resize will be tried again"), debug: vec![] });
        }
        // Started again only if the resize stopped it: a VM shut down on purpose stays down.
        api.finish(vmid, &p.size, None, running).await?;
        let mut info = api.info(vmid).await.map_err(super::made_but_unread)?;
        info["state"] = json!("resizing");
        Ok((format!("VM {vmid} resized"), info, None))
    }

    /// `get-connection`: a VNC proxy ticket and the websocket it opens (valid for a short while).
    async fn get_connection(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let vmid = vmid_of(call)?;
        let path = format!("{}/vncproxy", api.vm(vmid));
        let proxy = api.send("qemu vncproxy", reqwest::Method::POST, &path, vec![("websocket", "1".into())]).await?;
        let (port, ticket) = (proxy["port"].as_u64().or_else(|| proxy["port"].as_str().and_then(|p| p.parse().ok())), str_of(&proxy, "ticket"));
        let (Some(port), Some(ticket)) = (port, ticket) else { return Err(ProviderFailure::permanent("Proxmox VE answered vncproxy without a port and ticket")) };
        let ws = api.base.replacen("https://", "wss://", 1);
        if !ws.starts_with("wss://") {
            return Err(ProviderFailure::permanent("the console needs the API at an https address (its websocket is wss)"));
        }
        let encoded = super::wire::form_encode(&[("vncticket".into(), ticket.to_owned())]);
        let url = format!("{ws}{}/vncwebsocket?port={port}&{encoded}", api.vm(vmid));
        let expires = crate::domain::time::framework_datetime(crate::domain::time::now_millis() + 40_000);
        Ok((format!("a console of VM {vmid}"), json!({ "type": "vnc", "vnc_connection": { "websocket_url": url, "password": ticket }, "expires_at": expires }), None))
    }

    /// `change-root-password`: cloud-init's password, applied by a reboot of a running VM.
    async fn change_root_password(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: RootPassword) -> Answer {
        let vmid = vmid_of(call)?;
        let path = format!("{}/config", api.vm(vmid));
        api.send("qemu config", reqwest::Method::PUT, &path, vec![("ciuser", "root".into()), ("cipassword", p.root_password)]).await?;
        let running = api.status(vmid).await.map_err(super::made_but_unread)?["status"] == "running";
        if running {
            api.power(vmid, "reboot").await?;
        }
        let info = api.info(vmid).await.map_err(super::made_but_unread)?;
        let applied = if running { "applied by a reboot" } else { "applied at its next start" };
        Ok((format!("VM {vmid} has a new root password ({applied}: cloud-init sets it)"), info, None))
    }

    /// `power-on`
    async fn power_on(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, call, "start").await
    }

    /// `shut-down`: an ACPI shutdown.
    async fn shut_down(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, call, "shutdown").await
    }

    /// `reboot`
    async fn reboot(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, call, "reboot").await
    }

    /// `suspend`: the VM paused.
    async fn suspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, call, "suspend").await
    }

    /// `unsuspend`: the VM resumed.
    async fn unsuspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.power(api, call, "resume").await
    }

    async fn power(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, name: &str) -> Answer {
        let vmid = vmid_of(call)?;
        let done = api.power(vmid, name).await?;
        let info = api.info(vmid).await.map_err(super::made_but_unread)?;
        Ok((format!("{name} of VM {vmid}: {}", if done { "done" } else { "under way" }), info, None))
    }

    /// `terminate`: stopped, then destroyed with its disks.
    async fn terminate(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let vmid = vmid_of(call)?;
        // Gone already (an earlier try's destroy whose answer was lost): done.
        let status = match api.status(vmid).await {
            Err(f) if f.kind == FailureKind::Permanent && f.message.contains("does not exist") => return Ok((format!("VM {vmid} is gone already"), json!({}), None)),
            other => other?,
        };
        if status["status"] == "running" && !api.power(vmid, "stop").await? {
            return Err(ProviderFailure { kind: FailureKind::Transient, message: format!("VM {vmid} is still stopping: it will be destroyed on the next try"), debug: vec![] });
        }
        let path = format!("{}?purge=1&destroy-unreferenced-disks=1", api.vm(vmid));
        let upid = api.send("qemu destroy", reqwest::Method::DELETE, &path, Vec::new()).await?;
        api.follow(&upid, TASK_POLLS).await?;
        Ok((format!("VM {vmid} destroyed"), json!({}), None))
    }
}

/// A failure finishing a VM that stands: Proxmox's own refusal (a start without the memory for
/// it, a bad size) stays what it is, so the product fails with it rather than being tried
/// forever; anything else leaves the outcome unknown, for the engine to ask about.
fn unread_unless_refused(f: ProviderFailure) -> ProviderFailure {
    if f.kind == FailureKind::Permanent { f } else { super::made_but_unread(f) }
}

fn still_cloning(vmid: u64) -> ProviderFailure {
    ProviderFailure { kind: FailureKind::Transient, message: format!("the clone of VM {vmid} is still running: the create carries on from it on its next try"), debug: vec![] }
}

session_of_api!(Proxmox);

implements!(Servers for Proxmox as ID, {
    create_server(CreateServer),
    reinstall_server(Rebuild),
    resize_server(Resize),
    get_info,
    get_connection,
    change_root_password(RootPassword),
    power_on,
    shut_down,
    reboot,
    suspend,
    unsuspend,
    terminate,
});

impl Connect for Proxmox {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = async {
                let version = api.get("version", "/version").await?;
                let path = format!("/nodes/{}/qemu", api.settings.node);
                let vms = api.get("list qemu", &path).await?;
                Ok((
                    format!("connected to Proxmox VE {} on node {}: {} VMs", str_of(&version, "version").unwrap_or("?"), api.settings.node, vms.as_array().map_or(0, Vec::len)),
                    json!({ "connected": true }),
                    None,
                ))
            };
            let result = result.await;
            super::with_debug(result, api.wire.take_debug())
        })
    }

    /// The node's VMs (templates left out), all at once.
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, _page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let path = format!("/nodes/{}/qemu", api.settings.node);
            let listed = api.get("list qemu", &path).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let services = list
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["template"] != 1)
                .filter_map(|v| Some(Listed { service_identifier: v["vmid"].as_u64()?.to_string(), label: str_of(v, "name").map(str::to_owned), suspended: Some(v["qmpstatus"] == "paused") }))
                .collect();
            Ok(Listing { services, next: None, debug })
        })
    }
}

/// Proxmox VE (servers).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // The API's address: https://HOST:8006/api2/json.
        .req("api_url", address(super::api_url()))
        // The API token's id, USER@REALM!TOKENID.
        .req("token_id", pattern("^[^\\s@!]+@[^\\s@!]+![A-Za-z0-9_.-]+$"))
        .req("token_secret", secret())
        // The node the VMs run on.
        .req("node", pattern("^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$"))
        // Where full clones are stored (the template's storage when not given).
        .opt("storage", pattern("^[A-Za-z][A-Za-z0-9_.-]{1,99}$"))
        // Full clones (independent of the template) instead of linked ones.
        .opt("full_clone", boolean())
        // The disk a resize grows (scsi0 when not given).
        .opt("disk", pattern("^(ide|scsi|virtio|sata)[0-9]{1,2}$"))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "servers",
        name: "Proxmox VE",
        description: "QEMU VMs cloned from templates on a Proxmox VE node through its API (an API token)",
        settings,
        supported_actions: <Proxmox as super::blueprints::Implements>::supported("servers"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const TOKEN_ID: &str = "provisioning@pve!engine";
    const SECRET: &str = "5d1f8b8e-0b55-41f7-9f3a-3c2b1d0e9a11";
    const UPID: &str = "UPID:pve1:00001A2B:0002C3D4:65A0B1C2:qmclone:9000:provisioning@pve!engine:";

    /// Proxmox VE's API schema (specs/proxmox-ve/apidata.js), by path.
    fn schema() -> std::collections::HashMap<String, Value> {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/proxmox-ve/apidata.js");
        let text = std::fs::read_to_string(file).expect("apidata.js is in specs/");
        let start = text.find("const apiSchema = ").expect("the schema's start") + "const apiSchema = ".len();
        let end = start + text[start..].find("\n]\n").expect("the schema's end") + 2;
        let tree: Value = serde_json::from_str(&text[start..end]).expect("the schema is JSON");
        let mut out = std::collections::HashMap::new();
        fn walk(nodes: &Value, out: &mut std::collections::HashMap<String, Value>) {
            for n in nodes.as_array().into_iter().flatten() {
                out.insert(n["path"].as_str().unwrap_or_default().to_owned(), n.clone());
                walk(&n["children"], out);
            }
        }
        walk(&tree, &mut out);
        out
    }

    /// A request held to its method's parameter schema: the path a schema path (its `{params}`
    /// filled), every form and query parameter one of the method's, of its type, enum and
    /// pattern, and every required one given (in the path or the form). Answers the method.
    fn conforms(schema: &std::collections::HashMap<String, Value>, r: &Request) -> Result<String, String> {
        let got: Vec<String> = r.url.path().trim_start_matches("/api2/json").split('/').map(|s| s.replace("%3A", ":").replace("%40", "@").replace("%21", "!")).collect();
        for (template, node) in schema {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != got.len() || !parts.iter().zip(&got).all(|(t, g)| (t.starts_with('{') && !g.is_empty()) || t == g) {
                continue;
            }
            let Some(info) = node["info"].get(r.method.as_str()) else { return Err(format!("{template} has no {}", r.method)) };
            let props = info["parameters"]["properties"].as_object().cloned().unwrap_or_default();
            let in_path: Vec<&str> = parts.iter().filter(|p| p.starts_with('{')).map(|p| p.trim_matches(['{', '}'])).collect();
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let mut given: Vec<(String, String)> = r.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            for pair in body.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| {
                    let bytes = s.replace('+', " ").into_bytes();
                    let mut out = Vec::new();
                    let mut i = 0;
                    while i < bytes.len() {
                        match (bytes[i], bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())) {
                            (b'%', Some(b)) => {
                                out.push(b);
                                i += 3;
                            }
                            (c, _) => {
                                out.push(c);
                                i += 1;
                            }
                        }
                    }
                    String::from_utf8(out).unwrap()
                };
                given.push((decode(k), decode(v)));
            }
            for (k, v) in &given {
                let Some(p) = props.get(k) else { return Err(format!("{} {template}: {k} is not a parameter", r.method)) };
                let ok = match p["type"].as_str() {
                    Some("integer") => v.parse::<i64>().is_ok(),
                    Some("boolean") => ["0", "1", "true", "false"].contains(&v.as_str()),
                    Some("number") => v.parse::<f64>().is_ok(),
                    _ => true,
                };
                if !ok {
                    return Err(format!("{} {template}: {k}={v} is not {}", r.method, p["type"]));
                }
                if let Some(e) = p["enum"].as_array().filter(|e| !e.contains(&json!(v))) {
                    return Err(format!("{} {template}: {k}={v} is not one of {e:?}", r.method));
                }
                if let Some(re) = p["pattern"].as_str()
                    && !regex_lite::Regex::new(&format!("^(?:{re})$")).unwrap().is_match(v)
                {
                    return Err(format!("{} {template}: {k}={v} does not match {re}", r.method));
                }
            }
            for (k, p) in &props {
                let optional = p["optional"] == 1 || p["optional"] == true;
                if !optional && !in_path.contains(&k.as_str()) && !given.iter().any(|(g, _)| g == k) {
                    return Err(format!("{} {template}: the required {k} is missing", r.method));
                }
            }
            return Ok(format!("{} {template}", r.method));
        }
        Err(format!("no path of the schema is {}", r.url.path()))
    }

    fn ok(data: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
    }

    fn vm_status(status: &str, lock: Option<&str>) -> Value {
        let mut s = json!({ "vmid": 123, "name": "web-1", "status": status, "qmpstatus": status, "cpus": 2, "maxmem": 4_294_967_296u64, "maxdisk": 34_359_738_368u64 });
        if let Some(l) = lock {
            s["lock"] = json!(l);
        }
        s
    }

    /// A node with the template 9000 (`debian-12`) and the VM 123.
    async fn node() -> MockServer {
        let pve = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api2/json/nodes/pve1/qemu"))
            .respond_with(ok(json!([{ "vmid": 9000, "name": "debian-12", "template": 1, "status": "stopped" }, { "vmid": 123, "name": "web-1", "status": "running" }])))
            .mount(&pve)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/api2/json/nodes/pve1/tasks/UPID.*/status$"))
            .respond_with(ok(json!({ "status": "stopped", "exitstatus": "OK", "type": "qmclone", "upid": UPID })))
            .mount(&pve)
            .await;
        pve
    }

    async fn run_for(pve: &MockServer, action: &str, params: Value, product: Option<&str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("servers", action).unwrap();
        let id = ConfigurationId::parse("cfg-pve").unwrap();
        let settings = json!({ "api_url": format!("{}/api2/json", pve.uri()), "token_id": TOKEN_ID, "token_secret": SECRET, "node": "pve1", "full_clone": true, "storage": "local-lvm" });
        let si = params["instance_id"].as_str().unwrap_or("123").to_owned();
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some(&si), following: None, contract_product_id: product };
        let out = super::super::blueprints::Implementation::Servers(std::sync::Arc::new(Proxmox::new())).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(SECRET) && !debug.contains("Root-pw-Secret9"), "{debug}");
        let schema = schema();
        for r in pve.received_requests().await.unwrap() {
            assert_eq!(r.headers.get("authorization").unwrap().to_str().unwrap(), format!("PVEAPIToken={TOKEN_ID}={SECRET}"));
            conforms(&schema, &r).unwrap_or_else(|e| panic!("{e}"));
        }
        out
    }

    async fn run(pve: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_for(pve, action, params, None).await
    }

    #[tokio::test]
    async fn a_create_clones_the_template_sizes_and_starts_the_vm_and_every_request_fits_the_schema() {
        let pve = node().await;
        Mock::given(method("GET")).and(path("/api2/json/cluster/nextid")).respond_with(ok(json!("123"))).expect(1).mount(&pve).await;
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/9000/clone")).respond_with(ok(json!(UPID))).expect(1).mount(&pve).await;
        Mock::given(method("GET"))
            .and(path("/api2/json/nodes/pve1/qemu/123/config"))
            .respond_with(ok(json!({ "name": "web-1", "description": "other", "memory": "4096", "cores": 2 })))
            .mount(&pve)
            .await;
        Mock::given(method("PUT")).and(path("/api2/json/nodes/pve1/qemu/123/config")).respond_with(ok(Value::Null)).expect(1).mount(&pve).await;
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ok(vm_status("stopped", None))).up_to_n_times(3).with_priority(1).mount(&pve).await;
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ok(vm_status("running", None))).mount(&pve).await;
        Mock::given(method("PUT")).and(path("/api2/json/nodes/pve1/qemu/123/resize")).respond_with(ok(json!(UPID))).expect(1).mount(&pve).await;
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/123/status/start")).respond_with(ok(json!(UPID))).expect(1).mount(&pve).await;
        let out = run_for(
            &pve,
            "create-server",
            json!({ "email": "o@example.com", "label": "web_1", "location": "pve1", "image": "debian-12", "memory_mb": 4096, "cpu_cores": 2, "disk_mb": 65536, "root_password": "Root-pw-Secret9" }),
            Some("cp-1"),
        )
        .await
        .unwrap();
        assert_eq!((out.service_identifier.as_deref(), out.data["state"].as_str()), (Some("123"), Some("starting")));
        let sent = pve.received_requests().await.unwrap();
        let form = |p: &str, m: &str| String::from_utf8_lossy(&sent.iter().find(|r| r.url.path().ends_with(p) && r.method.as_str() == m).unwrap().body).into_owned();
        let clone = form("/clone", "POST");
        assert!(clone.contains("newid=123") && clone.contains("name=web-1") && clone.contains("full=1") && clone.contains("storage=local-lvm") && clone.contains("provisioning-product"), "{clone}");
        let config = form("/config", "PUT");
        assert!(config.contains("memory=4096") && config.contains("cores=2") && config.contains("ciuser=root") && config.contains("cipassword=Root-pw-Secret9"), "{config}");
        assert_eq!(form("/resize", "PUT"), "disk=scsi0&size=65536M");
    }

    #[tokio::test]
    async fn a_create_whose_clone_outlasts_the_wait_carries_on_from_its_vm_on_the_next_try() {
        let pve = node().await;
        let mark = mark_of("cp-2");
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/config")).respond_with(ok(json!({ "name": "web-1", "description": mark }))).mount(&pve).await;
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ok(vm_status("stopped", Some("clone")))).up_to_n_times(1).with_priority(1).mount(&pve).await;
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/9000/clone")).respond_with(ok(json!(UPID))).expect(0).mount(&pve).await;
        let params = json!({ "email": "o@example.com", "label": "web-1", "location": "pve1", "image": "debian-12", "memory_mb": 2048, "cpu_cores": 1, "disk_mb": 1024 });
        // This try looks, finds the VM marked with its contract product, and it is still cloning.
        let f = run_for(&pve, "create-server", params.clone(), Some("cp-2")).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient, "{}", f.message);
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ok(vm_status("running", None))).mount(&pve).await;
        Mock::given(method("PUT")).and(path("/api2/json/nodes/pve1/qemu/123/config")).respond_with(ok(Value::Null)).expect(1).mount(&pve).await;
        let out = run_for(&pve, "create-server", params, Some("cp-2")).await.unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("123"), "the same VM, not a second clone");
    }

    #[tokio::test]
    async fn power_suspension_password_console_resize_and_destruction_use_the_documented_calls() {
        let pve = node().await;
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ok(vm_status("running", None))).mount(&pve).await;
        for name in ["start", "shutdown", "reboot", "suspend", "resume", "stop"] {
            Mock::given(method("POST")).and(path(format!("/api2/json/nodes/pve1/qemu/123/status/{name}"))).respond_with(ok(json!(UPID))).mount(&pve).await;
        }
        let on = json!({ "instance_id": "123" });
        for action in ["power-on", "shut-down", "reboot", "suspend", "unsuspend"] {
            run(&pve, action, on.clone()).await.unwrap_or_else(|f| panic!("{action}: {}", f.message));
        }
        Mock::given(method("PUT")).and(path("/api2/json/nodes/pve1/qemu/123/config")).respond_with(ok(Value::Null)).mount(&pve).await;
        let reset = run(&pve, "change-root-password", json!({ "instance_id": "123", "root_password": "Root-pw-Secret9" })).await.unwrap();
        assert!(reset.message.contains("applied by a reboot"), "{}", reset.message);
        Mock::given(method("POST"))
            .and(path("/api2/json/nodes/pve1/qemu/123/vncproxy"))
            .respond_with(ok(json!({ "port": "5900", "ticket": "PVEVNC:Ticket-Secret", "cert": "-----BEGIN CERTIFICATE-----", "upid": UPID, "user": TOKEN_ID })))
            .mount(&pve)
            .await;
        // wiremock serves http: the console refuses a websocket that would not be wss.
        let f = run(&pve, "get-connection", on.clone()).await.unwrap_err();
        assert!(f.message.contains("https"), "{}", f.message);
        let f = run(&pve, "resize-server", json!({ "instance_id": "123", "memory_mb": 8192, "cpu_cores": 4, "disk_mb": 1024 })).await.unwrap_err();
        assert!(f.message.contains("resize_running"), "{}", f.message);
        Mock::given(method("DELETE")).and(path("/api2/json/nodes/pve1/qemu/123")).respond_with(ok(json!(UPID))).expect(1).mount(&pve).await;
        run(&pve, "terminate", on.clone()).await.unwrap();
        let deleted = pve.received_requests().await.unwrap().into_iter().find(|r| r.method.as_str() == "DELETE").unwrap();
        assert_eq!(deleted.url.query(), Some("purge=1&destroy-unreferenced-disks=1"));
    }

    #[tokio::test]
    async fn refused_tokens_missing_vms_failed_tasks_outages_and_bad_bodies_are_clear_failures() {
        let pve = MockServer::start().await;
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/123/status/current")).respond_with(ResponseTemplate::new(401)).mount(&pve).await;
        let f = run(&pve, "get-info", json!({ "instance_id": "123" })).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("token_id"), "{}", f.message);
        let pve = node().await;
        Mock::given(method("GET"))
            .and(path("/api2/json/nodes/pve1/qemu/124/status/current"))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "data": null, "message": "Configuration file 'nodes/pve1/qemu-server/124.conf' does not exist\n" })))
            .mount(&pve)
            .await;
        let f = run(&pve, "get-info", json!({ "instance_id": "124" })).await.unwrap_err();
        assert!(f.message.contains("does not exist") && f.kind == FailureKind::Permanent, "a missing VM is not tried again: {f:?}");
        let gone = run(&pve, "terminate", json!({ "instance_id": "124" })).await.unwrap();
        assert!(gone.message.contains("gone already"), "a VM an earlier destroy took is terminated: {}", gone.message);
        Mock::given(method("GET"))
            .and(path("/api2/json/nodes/pve1/qemu/131/status/current"))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "data": null, "message": "can't lock file '/var/lock/qemu-server/lock-131.conf' - got timeout\n" })))
            .mount(&pve)
            .await;
        assert_eq!(run(&pve, "get-info", json!({ "instance_id": "131" })).await.unwrap_err().kind, FailureKind::Transient, "a lock passes");
        // A task that ended with warnings is done (pve-common's upid_status_is_error).
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/132/status/current")).respond_with(ok(vm_status("running", None))).mount(&pve).await;
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/132/status/shutdown")).respond_with(ok(json!("UPID:pve1:1:2:3:qmshutdown:132:root@pam:"))).mount(&pve).await;
        Mock::given(method("GET")).and(path_regex("qmshutdown")).respond_with(ok(json!({ "status": "stopped", "exitstatus": "WARNINGS: 1", "type": "qmshutdown" }))).mount(&pve).await;
        run(&pve, "shut-down", json!({ "instance_id": "132" })).await.unwrap();
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/125/status/current")).respond_with(ok(vm_status("stopped", None))).mount(&pve).await;
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/125/status/start")).respond_with(ok(json!("UPID:pve1:1:2:3:qmstart:125:root@pam:"))).mount(&pve).await;
        Mock::given(method("GET"))
            .and(path_regex("qmstart"))
            .respond_with(ok(json!({ "status": "stopped", "exitstatus": "start failed: not enough memory", "type": "qmstart" })))
            .with_priority(1)
            .mount(&pve)
            .await;
        let f = run(&pve, "power-on", json!({ "instance_id": "125" })).await.unwrap_err();
        assert!(f.message.contains("not enough memory"), "{}", f.message);
        Mock::given(method("POST")).and(path("/api2/json/nodes/pve1/qemu/126/status/reboot")).respond_with(ResponseTemplate::new(503)).mount(&pve).await;
        let f = run(&pve, "reboot", json!({ "instance_id": "126" })).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 1), "a write is tried once");
        Mock::given(method("GET")).and(path("/api2/json/nodes/pve1/qemu/127/status/current")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&pve).await;
        assert!(run(&pve, "get-info", json!({ "instance_id": "127" })).await.unwrap_err().message.contains("malformed"));
        let f = run(&pve, "get-info", json!({ "instance_id": "web-1" })).await.unwrap_err();
        assert!(f.message.contains("not a Proxmox VE VMID") && f.debug.is_empty());
        // The checker does refuse what the schema does not allow.
        let schema = schema();
        let wrong = |m: &str, p: &str, body: &str| Request {
            url: format!("http://pve/api2/json{p}").parse().unwrap(),
            method: m.parse().unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        };
        assert!(conforms(&schema, &wrong("POST", "/nodes/pve1/qemu/9000/clone", "name=x")).unwrap_err().contains("required newid"));
        assert!(conforms(&schema, &wrong("PUT", "/nodes/pve1/qemu/123/resize", "disk=hd9&size=10G")).unwrap_err().contains("not one of"));
        assert!(conforms(&schema, &wrong("PUT", "/nodes/pve1/qemu/123/resize", "disk=scsi0&size=ten")).unwrap_err().contains("does not match"));
        assert!(conforms(&schema, &wrong("PUT", "/nodes/pve1/qemu/123/config", "colour=red")).unwrap_err().contains("not a parameter"));
    }
}
