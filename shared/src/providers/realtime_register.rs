//! The `realtime-register` provider (domain names): Realtime Register's REST API v2, as the
//! registrar's own catalogue of it describes (../shared/specs/realtime-register, MIT; the tests
//! hold every request to its operations, parameters and enums). `https://api.yoursrs.com` (OTE:
//! `https://api.yoursrs-ote.com`), `Authorization: ApiKey <key>`, JSON camelCase; errors are
//! `{"type", "message"}` with a status. Changes to a domain are processes: answered 201 when done
//! at once, or 202 with `{"processId"}`, followed at `GET /v2/processes/{id}`. A billable change
//! is first refused (400 `BillableAcknowledgmentNeededException` with its `billables`) and sent
//! again with them, which acknowledges the charge, unless the configuration says not to.
//!
//! Contacts are handles of the configuration's customer, each made from its details
//! (`POST /v2/customers/{customer}/contacts/{handle}`) under a handle that is a digest of them, so
//! the same details make one contact, once. Periods are months (years × 12). Register: the check
//! first (a domain this account holds already is refused, never taken: a lost answer of ours is
//! the engine's to find through get-info, which reports a domain whose registration is still
//! processing as not known yet; a premium domain only where the configuration allows it), then
//! the domain with its registrant, ADMIN/TECH/BILLING contacts and nameservers.
//! Transfer: requested, then followed through its process until the domain is here (a failed,
//! cancelled or rejected transfer is the failure). Lock is the domain's `CLIENT_TRANSFER_PROHIBITED` status; the EPP code
//! is the domain's `authcode`; glue records are hosts (`/v2/hosts/{host}`). Realtime Register has
//! no IPS tag, and its verification is of contacts, not domains: update-ips-tag,
//! get-verification-status and resend-verification-email are not supported.

use crate::catalogue::schema::{address, boolean, params, pattern, secret};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{Contact, ContactSlot, Contacts, GlueHost, GlueRecord, Lock, Nameservers, NewRegistrant, Register, Renewal, non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;
use crate::domain::time::normalize_datetime;

pub const ID: &str = "realtime-register";
pub const LIVE_URL: &str = "https://api.yoursrs.com";
pub const OTE_URL: &str = "https://api.yoursrs-ote.com";
pub const WIRE_SECRETS: &[&str] = &["authcode", "epp_code"];
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a process is followed before the action answers (most end within ten seconds).
const PROCESS_POLLS: u32 = 8;
const POLL_INTERVAL: Duration = Duration::from_millis(if cfg!(test) { 10 } else { 1500 });
/// The statuses of a process not finished yet (waiting, running, or held for attention).
const UNFINISHED: [&str; 6] = ["NEW", "VALIDATED", "RUNNING", "SCHEDULED", "SUSPENDED", "IN_DOUBT"];
/// The status that locks a domain against transfers.
const LOCK: &str = "CLIENT_TRANSFER_PROHIBITED";
/// How many domains a page of the account's list holds.
const LIST_PAGE: u64 = 100;

pub struct RealtimeRegister;

impl Default for RealtimeRegister {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    api_key: String,
    customer: String,
    #[serde(default, deserialize_with = "or_default")]
    test_mode: bool,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    default_registrant_handle: Option<String>,
    #[serde(default)]
    acknowledge_billables: Option<bool>,
    #[serde(default, deserialize_with = "or_default")]
    register_premium: bool,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `transfer`
#[derive(Deserialize, Serialize)]
struct Transfer {
    #[serde(default)]
    renew_years: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    whois_privacy: bool,
    #[serde(default, deserialize_with = "non_empty")]
    epp_code: Option<String>,
    #[serde(flatten)]
    contacts: Contacts,
}

/// A refusal that names the charges to acknowledge.
const BILLABLE: &str = "BillableAcknowledgmentNeededException";
/// Where an answer keeps the process its `X-Process-Id` header named.
const PROCESS: &str = "x-process-id";

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let body = reply.body.as_ref();
        let kind_name = body.and_then(|b| str_of(b, "type")).unwrap_or("");
        let message = body.and_then(|b| str_of(b, "message")).unwrap_or("");
        let detail = if message.is_empty() { format!("HTTP {}", reply.status) } else { format!("{message} ({kind_name})") };
        match reply.status {
            200..=299 => {
                let mut answer = match body {
                    Some(b) if b.is_object() => b.clone(),
                    None if reply.text.trim().is_empty() => json!({}),
                    _ => return Err(ProviderFailure::permanent(format!("Realtime Register answered {what} with a malformed body"))),
                };
                // A change still running names its process in a header.
                if let Some(id) = reply.headers.get("x-process-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok()) {
                    answer[PROCESS] = json!(id);
                }
                Ok(answer)
            }
            // The charges to acknowledge travel back in the failure's message (read by `send`).
            400 if kind_name == BILLABLE => Err(ProviderFailure::permanent(format!("{BILLABLE}{}", body.map(|b| b["quote"]["billables"].to_string()).unwrap_or_default()))),
            401 | 403 => Err(ProviderFailure::permanent(format!("Realtime Register refused the API key for {what}: {detail} (check api_key and customer)"))),
            404 => Err(ProviderFailure::permanent(format!("Realtime Register has no such object for {what}: {detail}"))),
            400 if kind_name == "ObjectDoesNotExist" => Err(ProviderFailure::permanent(format!("Realtime Register has no such object for {what}: {detail}"))),
            429 => Err(ProviderFailure { kind: FailureKind::Transient, message: format!("Realtime Register's rate limit was reached on {what}: try later"), debug: vec![] }),
            502 | 503 => Err(ProviderFailure { kind: FailureKind::Transient, message: format!("Realtime Register cannot reach the registry for {what}: {detail}"), debug: vec![] }),
            status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("Realtime Register refused {what}: {detail}").chars().take(500).collect(), debug: vec![] }),
        }
    }
}

/// Whether a failure says the object is not there.
fn missing(f: &ProviderFailure) -> bool {
    f.kind == FailureKind::Permanent && f.message.starts_with("Realtime Register has no such object")
}

/// A domain by its two parts.
struct Domain {
    name: String,
    tld: String,
}

impl Domain {
    fn of(call: &ProviderCall<'_>) -> Result<Self, ProviderFailure> {
        let name = call.subject().unwrap_or_default().to_lowercase();
        match name.split_once('.') {
            Some((sld, tld)) if !sld.is_empty() && !tld.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') => {
                let tld = tld.to_owned();
                Ok(Domain { name, tld })
            }
            _ => Err(ProviderFailure::permanent("no domain name (sld and tld) to act on")),
        }
    }
}

impl Api<'_> {
    /// One call. A billable change refused for its charges is sent once more with them
    /// (acknowledged) where the configuration allows.
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let key = format!("ApiKey {}", self.settings.api_key);
        let mut body = body;
        for acknowledged in [false, true] {
            let sent = body.clone().map_or(Body::None, Body::Json);
            match self.wire.exchange(Request { what, method: method.clone(), url: &url, body: &sent, read }, |r| r.header("Authorization", &key), judge(what)).await {
                Err(f) if f.message.starts_with(BILLABLE) => {
                    let billables: Value = serde_json::from_str(&f.message[BILLABLE.len()..]).unwrap_or(Value::Null);
                    let listed: Vec<Value> = billables
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|b| {
                            let mut entry = json!({ "product": b["product"], "action": b["action"] });
                            if let Some(q) = b["quantity"].as_i64() {
                                entry["quantity"] = json!(q);
                            }
                            entry
                        })
                        .collect();
                    let charges =
                        billables.as_array().into_iter().flatten().map(|b| format!("{} {}", b["action"].as_str().unwrap_or("?"), b["product"].as_str().unwrap_or("?"))).collect::<Vec<_>>().join(", ");
                    if acknowledged || !self.settings.acknowledge_billables.unwrap_or(true) || listed.is_empty() || body.is_none() {
                        return Err(ProviderFailure::permanent(format!("Realtime Register asks to acknowledge the charges of {what} ({charges}): the configuration does not acknowledge them")));
                    }
                    if let Some(b) = body.as_mut() {
                        b["billables"] = json!(listed);
                    }
                }
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    async fn get(&mut self, what: &str, path: &str) -> Result<Option<Value>, ProviderFailure> {
        match self.send(what, reqwest::Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(f) if missing(&f) => Ok(None),
            Err(f) => Err(f),
        }
    }

    async fn domain(&mut self, d: &Domain) -> Result<Value, ProviderFailure> {
        self.get("getDomain", &format!("/v2/domains/{}", d.name)).await?.ok_or_else(|| ProviderFailure::permanent(format!("Realtime Register has no domain {} in this account", d.name)))
    }

    /// Follows a change's process (the answer of a 202) for a few seconds: done, failed (its
    /// errors), or still running (a timeout: the engine checks with get-info before anything is
    /// sent again).
    async fn settle(&mut self, what: &str, answer: &Value) -> Result<(), ProviderFailure> {
        let Some(id) = answer[PROCESS].as_i64() else { return Ok(()) };
        for poll in 0..=PROCESS_POLLS {
            // The change was accepted: a failure to follow it leaves it unknown, not undone.
            let process = self.send("getProcess", reqwest::Method::GET, &format!("/v2/processes/{id}"), None).await.map_err(|f| ProviderFailure {
                kind: FailureKind::Timeout,
                message: format!("Realtime Register accepted {what} (process {id}), but following it failed: {}", f.message),
                debug: vec![],
            })?;
            match process["status"].as_str() {
                Some("COMPLETED") => return Ok(()),
                Some(s @ ("FAILED" | "CANCELLED" | "INVALID")) => return Err(process_failed(what, s, &process)),
                _ if poll == PROCESS_POLLS => break,
                _ => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
        Err(ProviderFailure { kind: FailureKind::Timeout, message: format!("Realtime Register is still processing {what} (process {id})"), debug: vec![] })
    }

    /// The newest unfinished process on a domain, if any (`GET /v2/processes` in the listing
    /// format's filters, as Realtime Register's own WHMCS module writes them: `identifier:eq`,
    /// `type:eq`, `status:in`).
    async fn unfinished(&mut self, d: &Domain) -> Result<Option<Value>, ProviderFailure> {
        let listed = self.get("listProcesses", &unfinished_processes_path(&d.name)).await?;
        Ok(listed.and_then(|l| l["entities"].as_array().and_then(|e| e.first()).cloned()))
    }

    /// A change of the domain (`POST .../update` with these fields), followed.
    async fn update(&mut self, d: &Domain, fields: Value) -> Result<(), ProviderFailure> {
        let answer = self.send("updateDomain", reqwest::Method::POST, &format!("/v2/domains/{}/update", d.name), Some(fields)).await?;
        self.settle("updateDomain", &answer).await
    }

    /// The handle of a contact param: its id, or a contact made from its details under a handle
    /// that is their digest (made once; an existing one is used as it is).
    async fn handle(&mut self, slot: &ContactSlot) -> Result<String, ProviderFailure> {
        if let Some(id) = &slot.id {
            return Ok(id.clone());
        }
        let c = slot.register.as_ref().ok_or_else(|| ProviderFailure::permanent("a contact names neither a handle (id) nor details to register"))?;
        let body = contact_request(c);
        let handle = format!("pv-{}", super::digest_hex(&body.to_string(), 10));
        let path = format!("/v2/customers/{}/contacts/{handle}", self.settings.customer);
        match self.send("createContact", reqwest::Method::POST, &path, Some(body)).await {
            Ok(_) => Ok(handle),
            Err(f) if f.message.contains("(ObjectExists)") || f.message.contains("HTTP 409") => Ok(handle),
            Err(f) => Err(f),
        }
    }

    /// Handles of the registrant and the other roles (a role not given: the registrant's).
    async fn handles(&mut self, p: &Contacts, default: Option<&str>) -> Result<(String, Vec<Value>), ProviderFailure> {
        let registrant = match &p.registrant {
            Some(slot) => self.handle(slot).await?,
            None => default.map(str::to_owned).ok_or_else(|| ProviderFailure::permanent("no registrant: give one, or set default_registrant_handle"))?,
        };
        let mut roles = Vec::new();
        for (role, slot) in p.others() {
            let handle = match slot {
                Some(s) => self.handle(s).await?,
                None => registrant.clone(),
            };
            roles.push(json!({ "role": role.to_uppercase(), "handle": handle }));
        }
        Ok((registrant, roles))
    }

    /// The catalogue's domain result, with the registrant's details.
    async fn info(&mut self, d: &Domain, found: &Value) -> Result<Value, ProviderFailure> {
        let mut info = domain_result(d, found);
        if let Some(h) = str_of(found, "registrant") {
            let path = format!("/v2/customers/{}/contacts/{h}", self.settings.customer);
            if let Some(c) = self.get("getContact", &path).await? {
                info["registrant"] = contact_data(h, &c);
            }
        }
        Ok(info)
    }

    /// The glue records (hosts) under the domain that its nameservers name.
    async fn glue(&mut self, d: &Domain, found: &Value) -> Result<Value, ProviderFailure> {
        let mut records = Vec::new();
        for host in found["ns"].as_array().into_iter().flatten().filter_map(Value::as_str).filter(|h| h.ends_with(&format!(".{}", d.name))) {
            if let Some(h) = self.get("getHost", &format!("/v2/hosts/{host}")).await? {
                let ips: Vec<&str> = h["addresses"].as_array().into_iter().flatten().filter_map(|a| str_of(a, "address")).collect();
                if !ips.is_empty() {
                    records.push(glue_record(host, &ips));
                }
            }
        }
        Ok(json!(records))
    }
}

/// A register or transfer of a domain the account holds already: never taken as this service's.
/// The account holds other companies' clients' domains too, and a lost answer of our own is the
/// engine's to find (it asks get-info of an unconfirmed create before anything is sent again).
fn in_account_already(d: &Domain, verb: &str) -> ProviderFailure {
    ProviderFailure::permanent(format!("{} is already in this Realtime Register account: it is not {verb} again, nor taken as this service's (import it, if it is this client's)", d.name))
}

/// The search for the newest unfinished process on a domain (a name of letters, digits, dots
/// and hyphens: nothing to escape).
pub fn unfinished_processes_path(domain: &str) -> String {
    format!("/v2/processes?identifier:eq={domain}&type:eq=domain&status:in={}&order=-createdDate&limit=1", UNFINISHED.join(","))
}

fn process_failed(what: &str, status: &str, process: &Value) -> ProviderFailure {
    let why = str_of(process, "statusDetail").or_else(|| str_of(&process["error"], "message")).or_else(|| str_of(&process["error"], "type")).unwrap_or("no reason given");
    ProviderFailure::permanent(format!("Realtime Register's {what} ended {status}: {why}"))
}

/// The catalogue's glue record of a host and its addresses.
fn glue_record(host: &str, ips: &[&str]) -> Value {
    json!({ "hostname": host, "ips": ips })
}

/// A catalogue contact as Realtime Register's contact body.
fn contact_request(c: &Contact) -> Value {
    let name = c.name.as_deref().or(c.organisation.as_deref()).unwrap_or_default();
    let mut body = json!({
        "name": name,
        "addressLine": [c.address1],
        "postalCode": c.postcode,
        "city": c.city,
        "country": c.country_code.to_uppercase(),
        "email": c.email,
        "voice": super::e164(&c.phone),
    });
    if let Some(o) = &c.organisation {
        body["organization"] = json!(o);
    }
    if let Some(s) = &c.state {
        body["state"] = json!(s);
    }
    body
}

/// A contact of Realtime Register as the catalogue's contact data.
fn contact_data(handle: &str, c: &Value) -> Value {
    let mut out = json!({ "id": handle });
    for (field, from) in
        [("name", "name"), ("organisation", "organization"), ("email", "email"), ("phone", "voice"), ("postcode", "postalCode"), ("city", "city"), ("state", "state"), ("country_code", "country")]
    {
        if let Some(v) = str_of(c, from) {
            out[field] = json!(v);
        }
    }
    if let Some(line) = c["addressLine"].as_array().and_then(|l| l.first()).and_then(Value::as_str) {
        out["address1"] = json!(line);
    }
    out
}

/// A Realtime Register domain as the catalogue's domain result.
fn domain_result(d: &Domain, found: &Value) -> Value {
    let date = |k: &str| str_of(found, k).and_then(normalize_datetime).map_or(Value::Null, |s| json!(s));
    let statuses: Vec<Value> = found["status"].as_array().cloned().unwrap_or_default();
    let mut ns = serde_json::Map::new();
    for (i, host) in found["ns"].as_array().into_iter().flatten().filter_map(Value::as_str).take(5).enumerate() {
        ns.insert(format!("ns{}", i + 1), json!({ "host": host }));
    }
    json!({
        "id": d.name,
        "domain": d.name,
        "statuses": if statuses.is_empty() { json!(["OK"]) } else { json!(statuses) },
        "locked": statuses.iter().any(|s| s == LOCK),
        "whois_privacy": found["privacyProtect"] == true,
        "auto_renew": found["autoRenew"] == true,
        "ns": if ns.is_empty() { Value::Null } else { Value::Object(ns) },
        "created_at": date("createdDate"),
        "updated_at": date("updatedDate"),
        "expires_at": date("expiryDate"),
        "operation_status": if statuses.iter().any(|s| s == "PENDING_TRANSFER") { "in_progress" } else { "complete" },
    })
}

/// The nameserver hosts of a params' nameservers, in order.
fn hosts(p: &Nameservers) -> Vec<String> {
    p.list().into_iter().map(|(_, n)| n.host.to_lowercase()).collect()
}

impl RealtimeRegister {
    pub fn new() -> Self {
        RealtimeRegister
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let default = if settings.test_mode { OTE_URL } else { LIVE_URL };
        let base = settings.api_url.as_deref().unwrap_or(default).trim_end_matches('/').trim_end_matches("/v2").to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "Realtime Register", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `register`
    async fn register(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Register) -> Answer {
        let d = Domain::of(call)?;
        if api.get("getDomain", &format!("/v2/domains/{}", d.name)).await?.is_some() {
            return Err(in_account_already(&d, "registered"));
        }
        let check = api.send("checkDomain", reqwest::Method::GET, &format!("/v2/domains/{}/check", d.name), None).await?;
        if check["available"] != true {
            let reason = str_of(&check, "reason").unwrap_or("not available");
            return Err(ProviderFailure::permanent(format!("{} cannot be registered: {reason}", d.name)));
        }
        if check["premium"] == true && !api.settings.register_premium {
            let price = check["price"].as_i64().map(|c| format!(" at {}.{:02} {}", c / 100, c % 100, str_of(&check, "currency").unwrap_or_default())).unwrap_or_default();
            return Err(ProviderFailure::permanent(format!("{} is a premium domain{price}: the configuration does not register premium domains (register_premium)", d.name)));
        }
        let default = api.settings.default_registrant_handle.clone();
        let (registrant, contacts) = api.handles(&p.contacts, default.as_deref()).await?;
        let body = json!({
            "customer": api.settings.customer,
            "registrant": registrant,
            "privacyProtect": p.whois_privacy,
            "period": p.renew_years * 12,
            "autoRenew": false,
            "ns": hosts(&p.nameservers),
            "contacts": contacts,
        });
        let answer = api.send("createDomain", reqwest::Method::POST, &format!("/v2/domains/{}", d.name), Some(body)).await?;
        api.settle("createDomain", &answer).await?;
        let info = async {
            let found = api.domain(&d).await?;
            api.info(&d, &found).await
        };
        let info = info.await.map_err(super::made_but_unread)?;
        Ok((format!("{} registered for {} year(s)", d.name, p.renew_years), info, Some(d.name)))
    }

    /// `transfer`: requested, then followed through its process.
    async fn transfer(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Transfer) -> Answer {
        let d = Domain::of(call)?;
        if let Some(found) = api.get("getDomain", &format!("/v2/domains/{}", d.name)).await? {
            // Here: the transfer this service is following arrived; any other is not ours.
            if call.following.is_none() {
                return Err(in_account_already(&d, "transferred in"));
            }
            let info = api.info(&d, &found).await?;
            return Ok((format!("{} is in this account", d.name), info, Some(d.name)));
        }
        if call.following.is_some() {
            return self.transfer_state(api, &d).await;
        }
        let default = api.settings.default_registrant_handle.clone();
        let (registrant, contacts) = api.handles(&p.contacts, default.as_deref()).await?;
        let mut body = json!({ "customer": api.settings.customer, "registrant": registrant, "privacyProtect": p.whois_privacy, "autoRenew": false, "contacts": contacts });
        if let Some(code) = &p.epp_code {
            body["authcode"] = json!(code);
        }
        if let Some(years) = p.renew_years.filter(|y| *y > 0) {
            body["period"] = json!(years * 12);
        }
        let answer = api.send("transferDomain", reqwest::Method::POST, &format!("/v2/domains/{}/transfer", d.name), Some(body)).await?;
        let process = answer[PROCESS].as_i64().map(|i| i.to_string()).unwrap_or_else(|| "?".into());
        let mut info = domain_result(&d, &json!({ "status": ["PENDING_TRANSFER"] }));
        info["operation_status"] = json!("in_progress");
        Ok((format!("transfer of {} requested (process {process})", d.name), info, Some(d.name)))
    }

    /// A transfer not yet done: the domain's latest transfer (`GET .../transfer`, the process id
    /// left out: the most recent), failed or still under way.
    async fn transfer_state(&self, api: &mut Api<'_>, d: &Domain) -> Answer {
        let t = api.send("transferInfo", reqwest::Method::GET, &format!("/v2/domains/{}/transfer", d.name), None).await?;
        let status = str_of(&t, "status").unwrap_or("pending").to_lowercase();
        if matches!(status.as_str(), "failed" | "cancelled" | "rejected") {
            let why = t["log"].as_array().and_then(|l| l.last()).and_then(|e| str_of(e, "message")).unwrap_or("no reason given");
            return Err(ProviderFailure::permanent(format!("the transfer of {} was {status}: {why}", d.name)));
        }
        let mut info = domain_result(d, &json!({ "status": ["PENDING_TRANSFER"] }));
        info["operation_status"] = json!("in_progress");
        Ok((format!("the transfer of {} is {status}", d.name), info, None))
    }

    /// `get-info`: the domain; while a transfer is followed and it is not here yet, the
    /// transfer's state. A domain not here while a process on it is unfinished (a registration
    /// that outlasted its following) is not yet known: a transient failure, so the engine's
    /// reconcile of a lost register waits for it instead of registering it again (which the
    /// registrar would refuse, the name being taken by that very registration).
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        match api.get("getDomain", &format!("/v2/domains/{}", d.name)).await? {
            Some(found) => Ok((format!("{}: {}", d.name, found["status"]), api.info(&d, &found).await?, None)),
            None if call.following == Some("transfer") => self.transfer_state(api, &d).await,
            None => match api.unfinished(&d).await? {
                Some(p) => {
                    let (action, status) = (str_of(&p, "action").unwrap_or("a process"), str_of(&p, "status").unwrap_or("unfinished"));
                    let detail = str_of(&p, "statusDetail").map(|s| format!(": {s}")).unwrap_or_default();
                    let message = format!("{} is not in this Realtime Register account yet: its {action} (process {}) is {status}{detail}", d.name, p["id"]);
                    Err(ProviderFailure { kind: FailureKind::Transient, message, debug: vec![] })
                }
                None => Err(ProviderFailure::permanent(format!("Realtime Register has no domain {} in this account", d.name))),
            },
        }
    }

    /// `sync-due-date`: the domain as the registrar shows it (its expiry date with it).
    async fn sync_due_date(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.get_info(api, call).await
    }

    /// `renew`
    async fn renew(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Renewal) -> Answer {
        let d = Domain::of(call)?;
        api.domain(&d).await?;
        let answer = api.send("renewDomain", reqwest::Method::POST, &format!("/v2/domains/{}/renew", d.name), Some(json!({ "period": p.renew_years * 12 }))).await?;
        api.settle("renewDomain", &answer).await?;
        let found = api.domain(&d).await.map_err(super::made_but_unread)?;
        Ok((format!("{} renewed for {} year(s)", d.name, p.renew_years), api.info(&d, &found).await.map_err(super::made_but_unread)?, None))
    }

    /// `set-lock`: `CLIENT_TRANSFER_PROHIBITED` added to or taken from the domain's statuses.
    async fn set_lock(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Lock) -> Answer {
        let d = Domain::of(call)?;
        let found = api.domain(&d).await?;
        // The full list the domain is to have: the registrar changes only the CLIENT_ ones.
        let mut statuses: Vec<String> = found["status"].as_array().into_iter().flatten().filter_map(Value::as_str).filter(|s| *s != LOCK).map(str::to_owned).collect();
        if p.lock {
            statuses.push(LOCK.into());
        }
        api.update(&d, json!({ "status": statuses })).await?;
        let found = api.domain(&d).await.map_err(super::made_but_unread)?;
        Ok((format!("{} {}", d.name, if p.lock { "locked" } else { "unlocked" }), api.info(&d, &found).await.map_err(super::made_but_unread)?, None))
    }

    /// `update-nameservers`
    async fn update_nameservers(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Nameservers) -> Answer {
        let d = Domain::of(call)?;
        api.update(&d, json!({ "ns": hosts(&p) })).await?;
        let found = api.domain(&d).await.map_err(super::made_but_unread)?;
        let ns = domain_result(&d, &found)["ns"].clone();
        Ok((format!("{} delegated to {}", d.name, hosts(&p).join(", ")), if ns.is_object() { ns } else { json!({}) }, None))
    }

    /// `update-registrant`: a contact made from the new details, made the registrant.
    async fn update_registrant(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: NewRegistrant) -> Answer {
        let d = Domain::of(call)?;
        let handle = api.handle(&ContactSlot { id: None, register: Some(p.contact.clone()) }).await?;
        self.set_registrant(api, &d, &handle).await
    }

    /// `update-registrant-with-default-details`: the configured default registrant.
    async fn update_registrant_with_default_details(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let handle = api.settings.default_registrant_handle.clone().ok_or_else(|| ProviderFailure::permanent("no default registrant: set default_registrant_handle"))?;
        self.set_registrant(api, &d, &handle).await
    }

    async fn set_registrant(&self, api: &mut Api<'_>, d: &Domain, handle: &str) -> Answer {
        api.update(d, json!({ "registrant": handle })).await?;
        let path = format!("/v2/customers/{}/contacts/{handle}", api.settings.customer);
        let contact = api.get("getContact", &path).await.map_err(super::made_but_unread)?.unwrap_or_default();
        Ok((format!("{}'s registrant is {handle}", d.name), contact_data(handle, &contact), None))
    }

    /// `get-epp-code`: the domain's auth code.
    async fn get_epp_code(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let found = api.domain(&d).await?;
        let code =
            str_of(&found, "authcode").ok_or_else(|| ProviderFailure::permanent(format!("Realtime Register answered no auth code for {} (the .{} registry may not use them)", d.name, d.tld)))?;
        Ok((format!("the EPP code of {}", d.name), json!({ "epp_code": code }), None))
    }

    /// `set-glue-record`: the host made, or its addresses replaced.
    async fn set_glue_record(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: GlueRecord) -> Answer {
        let d = Domain::of(call)?;
        let host = super::glue_host(&p.hostname, &d.name)?;
        let addresses: Vec<Value> = p.ips().iter().map(|ip| json!({ "ipVersion": if ip.contains(':') { "V6" } else { "V4" }, "address": ip })).collect();
        let body = json!({ "addresses": addresses });
        if api.get("getHost", &format!("/v2/hosts/{host}")).await?.is_some() {
            api.send("updateHost", reqwest::Method::POST, &format!("/v2/hosts/{host}/update"), Some(body)).await?;
        } else {
            api.send("createHost", reqwest::Method::POST, &format!("/v2/hosts/{host}"), Some(body)).await?;
        }
        Ok((format!("glue record {host} set"), json!({ "glue_records": [glue_record(&host, &p.ips())] }), None))
    }

    /// `remove-glue-record`
    async fn remove_glue_record(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: GlueHost) -> Answer {
        let d = Domain::of(call)?;
        let host = super::glue_host(&p.hostname, &d.name)?;
        api.send("deleteHost", reqwest::Method::DELETE, &format!("/v2/hosts/{host}"), None).await?;
        let found = api.domain(&d).await.map_err(super::made_but_unread)?;
        Ok((format!("glue record {host} removed"), json!({ "glue_records": api.glue(&d, &found).await.map_err(super::made_but_unread)? }), None))
    }
}

session_of_api!(RealtimeRegister);

// No IPS tags (a .uk release) and no verification of domains (Realtime Register verifies contacts).
implements!(DomainNames for RealtimeRegister as ID, {
    register(Register),
    transfer(Transfer),
    renew(Renewal),
    sync_due_date,
    get_info,
    set_lock(Lock),
    update_nameservers(Nameservers),
    update_registrant(NewRegistrant),
    update_registrant_with_default_details,
    get_epp_code,
    set_glue_record(GlueRecord),
    remove_glue_record(GlueHost),
});

impl Connect for RealtimeRegister {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api.send("listDomains", reqwest::Method::GET, "/v2/domains?limit=1&fields=domainName", None).await.map(|list| {
                let total = list["pagination"]["total"].as_i64().map(|n| format!(": {n} domains in the account")).unwrap_or_default();
                (format!("connected to Realtime Register{total}"), json!({ "connected": true }), None)
            });
            super::with_debug(result, api.wire.take_debug())
        })
    }

    /// The account's domains, 100 a page (`page` is the offset).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let offset: u64 = page.map(|p| p.parse().map_err(|_| ProviderFailure::permanent(format!("{p:?} is not a page of Realtime Register's domain list")))).transpose()?.unwrap_or(0);
            let mut api = self.api(settings)?;
            let listed = api.send("listDomains", reqwest::Method::GET, &format!("/v2/domains?limit={LIST_PAGE}&offset={offset}&fields=domainName,status"), None).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let entities = list["entities"].as_array().cloned().unwrap_or_default();
            let services = entities.iter().filter_map(|e| Some(Listed { service_identifier: str_of(e, "domainName")?.to_lowercase(), label: None, suspended: None })).collect();
            let seen = offset + entities.len() as u64;
            let next = (!entities.is_empty() && seen < list["pagination"]["total"].as_u64().unwrap_or(0)).then(|| seen.to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// Realtime Register (domain names).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("api_key", secret())
        // The customer handle the domains and contacts belong to.
        .req("customer", pattern("^[A-Za-z0-9_.-]{1,40}$"))
        // The OTE (test) environment instead of the live one.
        .opt("test_mode", address(boolean()))
        .opt("api_url", address(super::api_url()))
        // The contact handle a registrant is reset to (update-registrant-with-default-details)
        // and a transfer without a registrant is made with.
        .opt("default_registrant_handle", pattern("^[A-Za-z0-9_.-]{1,40}$"))
        // Whether billable changes are acknowledged (sent again with their charges); on by default.
        .opt("acknowledge_billables", boolean())
        // Whether a premium domain (priced by the registry, often far above the TLD's price) may
        // be registered; off by default.
        .opt("register_premium", boolean())
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "domain-names",
        name: "Realtime Register",
        description: "Domain registrations through a Realtime Register reseller account (REST API v2, an API key)",
        settings,
        supported_actions: <RealtimeRegister as super::blueprints::Implements>::supported("domain-names"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use wiremock::matchers::{body_json, body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "rtr-key-Sup3rSecret";

    fn ok(body: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(body)
    }

    /// A 202 as Realtime Register answers a change: the process in `X-Process-Id`.
    fn accepted(process: i64) -> ResponseTemplate {
        ResponseTemplate::new(202).insert_header("X-Process-Id", process.to_string().as_str()).set_body_json(json!({ "domainName": "shop.com" }))
    }

    fn error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({ "type": kind, "message": message }))
    }

    /// The domain as `GET /v2/domains/{d}` answers it (the PHP SDK's fixture, values changed).
    fn domain(status: &[&str]) -> Value {
        json!({ "domainName": "shop.com", "registry": "verisign", "customer": "reseller1", "registrant": "pv-reg", "privacyProtect": false, "status": status, "authcode": "Auth-Secret-294759",
            "autoRenew": false, "autoRenewPeriod": 12, "ns": ["ns1.host.example", "ns2.shop.com"], "createdDate": "2026-11-23T10:00:00Z", "updatedDate": "2026-11-23T10:00:00Z",
            "expiryDate": "2027-11-23T10:00:00Z", "premium": false, "gateway": false, "contacts": [{ "role": "ADMIN", "handle": "pv-reg" }] })
    }

    async fn registrar() -> MockServer {
        let r = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/customers/reseller1/contacts/pv-reg"))
            .respond_with(ok(json!({ "handle": "pv-reg", "name": "Jo Doe", "addressLine": ["High St 1"], "postalCode": "N1 1AA",
            "city": "London", "country": "GB", "email": "jo@shop.com", "voice": "+44.2071234567" })))
            .mount(&r)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/processes/77"))
            .respond_with(ok(json!({ "id": 77, "status": "COMPLETED", "type": "domain", "action": "update", "identifier": "shop.com" })))
            .mount(&r)
            .await;
        r
    }

    async fn run_following(r: &MockServer, action: &str, params: Value, following: Option<&'static str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("domain-names", action).unwrap();
        let id = ConfigurationId::parse("cfg-rtr").unwrap();
        let settings = json!({ "api_key": KEY, "customer": "reseller1", "api_url": r.uri(), "default_registrant_handle": "pv-default" });
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some("shop.com"), following, contract_product_id: None };
        let out = (&RealtimeRegister::new() as &dyn super::super::blueprints::DomainNames).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(KEY) && !debug.contains("Auth-Secret-294759"), "{debug}");
        for r in r.received_requests().await.unwrap() {
            assert_eq!(r.headers.get("authorization").unwrap().to_str().unwrap(), format!("ApiKey {KEY}"));
        }
        out
    }

    async fn run(r: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_following(r, action, params, None).await
    }

    fn d(extra: Value) -> Value {
        let mut p = json!({ "sld": "shop", "tld": "com" });
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        p
    }

    fn contact() -> Value {
        json!({ "name": "Jo Doe", "organisation": "Shop Ltd", "email": "jo@shop.com", "phone": "+442071234567", "address1": "High St 1", "city": "London", "postcode": "N1 1AA", "country_code": "gb" })
    }

    #[tokio::test]
    async fn a_registration_makes_its_contacts_once_acknowledges_its_charge_and_follows_its_process() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(400, "ObjectDoesNotExist", "Domain shop.com not found")).up_to_n_times(1).with_priority(1).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com/check")).respond_with(ok(json!({ "available": true, "premium": false }))).mount(&r).await;
        // The same details make one contact: the second role finds it made already.
        Mock::given(method("POST"))
            .and(wiremock::matchers::path_regex("^/v2/customers/reseller1/contacts/pv-[0-9a-f]{20}$"))
            .and(body_json(json!({ "name": "Jo Doe", "organization": "Shop Ltd", "addressLine": ["High St 1"], "postalCode": "N1 1AA", "city": "London", "country": "GB", "email": "jo@shop.com", "voice": "+44.2071234567" })))
            .respond_with(ResponseTemplate::new(201))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&r)
            .await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::path_regex("^/v2/customers/reseller1/contacts/"))
            .respond_with(error(400, "ObjectExists", "An object with the same name already exists"))
            .mount(&r)
            .await;
        // Refused for its charge first, then sent again with it.
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "type": "BillableAcknowledgmentNeededException", "message": "Billable acknowledgment needed",
                "quote": { "currency": "EUR", "total": 1000, "billables": [{ "action": "CREATE", "product": "domain_com", "quantity": 1, "amount": 1000, "refundable": true, "total": 1000 }] } })))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&r)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com"))
            .and(body_partial_json(
                json!({ "customer": "reseller1", "period": 24, "ns": ["ns1.host.example", "ns2.host.example"], "billables": [{ "product": "domain_com", "action": "CREATE", "quantity": 1 }] }),
            ))
            .respond_with(accepted(77))
            .expect(1)
            .mount(&r)
            .await;
        let c = contact();
        let out = run(
            &r,
            "register",
            d(json!({ "renew_years": 2, "registrant": { "register": c }, "admin": { "register": c }, "tech": { "register": c }, "billing": { "id": "BILL-1" },
            "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "NS2.host.example" } } })),
        )
        .await
        .unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("shop.com"));
        assert_eq!((out.data["expires_at"].as_str(), out.data["registrant"]["country_code"].as_str()), (Some("2027-11-23 10:00:00"), Some("GB")));
        let create = r.received_requests().await.unwrap().into_iter().filter(|q| q.method.as_str() == "POST" && q.url.path() == "/v2/domains/shop.com").last().unwrap();
        let body: Value = serde_json::from_slice(&create.body).unwrap();
        let handle = body["registrant"].as_str().unwrap().to_owned();
        assert_eq!(body["contacts"], json!([{ "role": "ADMIN", "handle": handle }, { "role": "TECH", "handle": handle }, { "role": "BILLING", "handle": "BILL-1" }]));
    }

    #[tokio::test]
    async fn a_registration_that_outlasts_its_following_is_waited_for_not_registered_again() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(400, "ObjectDoesNotExist", "Domain shop.com not found")).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com/check")).respond_with(ok(json!({ "available": true, "premium": false }))).mount(&r).await;
        Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/v2/customers/reseller1/contacts/")).respond_with(ResponseTemplate::new(201)).mount(&r).await;
        Mock::given(method("POST")).and(path("/v2/domains/shop.com")).respond_with(accepted(80)).expect(1).mount(&r).await;
        let running = json!({ "id": 80, "status": "RUNNING", "type": "domain", "action": "create", "identifier": "shop.com" });
        Mock::given(method("GET")).and(path("/v2/processes/80")).respond_with(ok(running.clone())).mount(&r).await;
        let c = contact();
        let params = d(json!({ "renew_years": 1, "registrant": { "register": c }, "admin": { "register": c }, "tech": { "register": c }, "billing": { "register": c },
            "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }));
        let f = run(&r, "register", params).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Timeout, "{}", f.message);
        // The engine's reconcile asks get-info: the domain is not here, but its registration is
        // under way, so the answer is "not yet" (transient), never "not there" (which would send
        // the register again).
        Mock::given(method("GET"))
            .and(path("/v2/processes"))
            .and(wiremock::matchers::query_param("identifier:eq", "shop.com"))
            .and(wiremock::matchers::query_param("type:eq", "domain"))
            .and(wiremock::matchers::query_param("status:in", "NEW,VALIDATED,RUNNING,SCHEDULED,SUSPENDED,IN_DOUBT"))
            .respond_with(ok(json!({ "entities": [running], "pagination": { "limit": 1, "offset": 0, "total": 1 } })))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&r)
            .await;
        let f = run(&r, "get-info", d(json!({}))).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert_eq!(f.message, "shop.com is not in this Realtime Register account yet: its create (process 80) is RUNNING");
        // Once no process on it is unfinished, a domain not here is not there.
        Mock::given(method("GET")).and(path("/v2/processes")).respond_with(ok(json!({ "entities": [], "pagination": { "limit": 1, "offset": 0, "total": 0 } }))).mount(&r).await;
        let f = run(&r, "get-info", d(json!({}))).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "Realtime Register has no domain shop.com in this account"));
    }

    #[tokio::test]
    async fn a_domain_the_account_holds_already_is_never_taken_and_taken_or_premium_ones_are_refused() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        Mock::given(method("POST")).respond_with(accepted(1)).expect(0).mount(&r).await;
        let c = contact();
        let params = d(json!({ "renew_years": 1, "registrant": { "register": c }, "admin": { "register": c }, "tech": { "register": c }, "billing": { "register": c },
            "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }));
        // Another client's domain in the reseller's account: neither registered nor transferred
        // onto this service, and nothing of it (its registrant) answered.
        for action in ["register", "transfer"] {
            let f = run(&r, action, params.clone()).await.unwrap_err();
            assert_eq!(f.kind, FailureKind::Permanent);
            assert!(f.message.contains("already in this Realtime Register account"), "{action}: {}", f.message);
        }
        assert!(!r.received_requests().await.unwrap().iter().any(|q| q.url.path().contains("/contacts/")), "no contact of the domain was read");
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(404, "ObjectDoesNotExist", "not found")).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com/check")).respond_with(ok(json!({ "available": false, "reason": "Domain exists" }))).mount(&r).await;
        let f = run(&r, "register", params.clone()).await.unwrap_err();
        assert_eq!(f.message, "shop.com cannot be registered: Domain exists");
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(404, "ObjectDoesNotExist", "not found")).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com/check")).respond_with(ok(json!({ "available": true, "premium": true, "price": 250000, "currency": "USD" }))).mount(&r).await;
        Mock::given(method("POST")).respond_with(accepted(1)).expect(0).mount(&r).await;
        let f = run(&r, "register", params).await.unwrap_err();
        assert_eq!(f.message, "shop.com is a premium domain at 2500.00 USD: the configuration does not register premium domains (register_premium)");
    }

    #[tokio::test]
    async fn a_transfer_is_requested_and_followed_until_the_domain_is_here_or_the_transfer_fails() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(400, "ObjectDoesNotExist", "not found")).up_to_n_times(2).with_priority(1).mount(&r).await;
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com/transfer"))
            .and(body_json(json!({ "customer": "reseller1", "registrant": "pv-default", "privacyProtect": false, "autoRenew": false, "authcode": "Epp-Secret-1",
                "contacts": [{ "role": "ADMIN", "handle": "pv-default" }, { "role": "TECH", "handle": "pv-default" }, { "role": "BILLING", "handle": "pv-default" }] })))
            .respond_with(accepted(90))
            .expect(1)
            .mount(&r)
            .await;
        let out = run(&r, "transfer", d(json!({ "epp_code": "Epp-Secret-1" }))).await.unwrap();
        assert_eq!(out.data["operation_status"], "in_progress");
        assert!(!serde_json::to_string(&out.debug).unwrap().contains("Epp-Secret-1"), "the auth code is masked");
        Mock::given(method("GET"))
            .and(path("/v2/domains/shop.com/transfer"))
            .respond_with(ok(json!({ "domainName": "shop.com", "status": "pendingfoa", "type": "IN", "processId": 90 })))
            .up_to_n_times(1)
            .mount(&r)
            .await;
        let still = run_following(&r, "get-info", d(json!({})), Some("transfer")).await.unwrap();
        assert_eq!(still.data["operation_status"], "in_progress");
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        let done = run_following(&r, "get-info", d(json!({})), Some("transfer")).await.unwrap();
        assert_eq!(done.data["operation_status"], "complete");

        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(400, "ObjectDoesNotExist", "not found")).mount(&r).await;
        Mock::given(method("GET"))
            .and(path("/v2/domains/shop.com/transfer"))
            .respond_with(ok(json!({ "domainName": "shop.com", "status": "rejected", "type": "IN", "processId": 90, "log": [{ "date": "2026-11-23T10:00:00Z", "status": "rejected", "message": "Rejected by the losing registrar" }] })))
            .mount(&r)
            .await;
        let f = run_following(&r, "get-info", d(json!({})), Some("transfer")).await.unwrap_err();
        assert_eq!(f.message, "the transfer of shop.com was rejected: Rejected by the losing registrar");
    }

    #[tokio::test]
    async fn renew_lock_nameservers_registrant_code_and_glue_use_the_documented_calls() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK", "CLIENT_DELETE_PROHIBITED"]))).mount(&r).await;
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com/renew"))
            .and(body_json(json!({ "period": 12 })))
            .respond_with(ok(json!({ "domainName": "shop.com", "expiryDate": "2028-11-23T10:00:00Z" })))
            .expect(1)
            .mount(&r)
            .await;
        run(&r, "renew", d(json!({ "renew_years": 1 }))).await.unwrap();
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com/update"))
            .and(body_json(json!({ "status": ["OK", "CLIENT_DELETE_PROHIBITED", "CLIENT_TRANSFER_PROHIBITED"] })))
            .respond_with(accepted(77))
            .expect(1)
            .mount(&r)
            .await;
        run(&r, "set-lock", d(json!({ "lock": true }))).await.unwrap();
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com/update"))
            .and(body_json(json!({ "ns": ["ns1.new.example", "ns2.new.example"] })))
            .respond_with(accepted(77))
            .expect(1)
            .mount(&r)
            .await;
        run(&r, "update-nameservers", d(json!({ "ns1": { "host": "ns1.new.example" }, "ns2": { "host": "ns2.new.example" } }))).await.unwrap();
        Mock::given(method("POST")).and(path("/v2/domains/shop.com/update")).and(body_json(json!({ "registrant": "pv-default" }))).respond_with(accepted(77)).expect(1).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/customers/reseller1/contacts/pv-default")).respond_with(ok(json!({ "name": "Default Ltd", "country": "NL" }))).mount(&r).await;
        let reg = run(&r, "update-registrant-with-default-details", d(json!({}))).await.unwrap();
        assert_eq!((reg.data["id"].as_str(), reg.data["name"].as_str()), (Some("pv-default"), Some("Default Ltd")));
        let code = run(&r, "get-epp-code", d(json!({}))).await.unwrap();
        assert_eq!(code.data["epp_code"], "Auth-Secret-294759");
        Mock::given(method("GET")).and(path("/v2/hosts/ns2.shop.com")).respond_with(error(400, "ObjectDoesNotExist", "no host")).mount(&r).await;
        Mock::given(method("POST"))
            .and(path("/v2/hosts/ns2.shop.com"))
            .and(body_json(json!({ "addresses": [{ "ipVersion": "V4", "address": "192.0.2.1" }, { "ipVersion": "V6", "address": "2001:db8::1" }] })))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&r)
            .await;
        let glue = run(&r, "set-glue-record", d(json!({ "hostname": "ns2.shop.com", "ip_1": "192.0.2.1", "ip_2": "2001:db8::1" }))).await.unwrap();
        assert_eq!(glue.data["glue_records"][0]["ips"], json!(["192.0.2.1", "2001:db8::1"]));
        Mock::given(method("DELETE")).and(path("/v2/hosts/ns2.shop.com")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&r).await;
        run(&r, "remove-glue-record", d(json!({ "hostname": "ns2.shop.com" }))).await.unwrap();
        let f = run(&r, "update-ips-tag", d(json!({ "ips_tag": "TAG-1" }))).await.unwrap_err();
        assert_eq!(f.message, "domain-names/update-ips-tag is not supported by realtime-register");
    }

    #[tokio::test]
    async fn failed_processes_refused_keys_refused_charges_rate_limits_and_bad_bodies_are_clear_failures() {
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        Mock::given(method("POST")).and(path("/v2/domains/shop.com/update")).respond_with(accepted(78)).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/processes/78")).respond_with(ok(json!({ "id": 78, "status": "FAILED", "statusDetail": "Registry refused the nameservers" }))).mount(&r).await;
        let f = run(&r, "update-nameservers", d(json!({ "ns1": { "host": "ns1.bad.example" }, "ns2": { "host": "ns2.bad.example" } }))).await.unwrap_err();
        assert_eq!(f.message, "Realtime Register's updateDomain ended FAILED: Registry refused the nameservers");
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        Mock::given(method("POST")).and(path("/v2/domains/shop.com/update")).respond_with(accepted(79)).mount(&r).await;
        Mock::given(method("GET")).and(path("/v2/processes/79")).respond_with(ok(json!({ "id": 79, "status": "RUNNING" }))).mount(&r).await;
        let f = run(&r, "set-lock", d(json!({ "lock": false }))).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Timeout, "still running: the engine checks before sending it again");
        let r = MockServer::start().await;
        Mock::given(header("authorization", format!("ApiKey {KEY}").as_str())).respond_with(error(401, "AuthenticationError", "Invalid API key")).mount(&r).await;
        let f = run(&r, "get-info", d(json!({}))).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("api_key"), "{}", f.message);
        let r = MockServer::start().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(error(429, "TooManyRequests", "slow down")).mount(&r).await;
        let f = run(&r, "get-info", d(json!({}))).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
        let r = MockServer::start().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&r).await;
        assert!(run(&r, "get-info", d(json!({}))).await.unwrap_err().message.contains("malformed"));
        // A configuration that does not acknowledge charges: refused, naming them, sent once.
        let r = registrar().await;
        Mock::given(method("GET")).and(path("/v2/domains/shop.com")).respond_with(ok(domain(&["OK"]))).mount(&r).await;
        Mock::given(method("POST"))
            .and(path("/v2/domains/shop.com/renew"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(
                    json!({ "type": "BillableAcknowledgmentNeededException", "message": "ack", "quote": { "billables": [{ "action": "RENEW", "product": "domain_com", "quantity": 1 }] } }),
                ),
            )
            .expect(1)
            .mount(&r)
            .await;
        let (b, a) = catalogue().action("domain-names", "renew").unwrap();
        let id = ConfigurationId::parse("cfg-rtr").unwrap();
        let settings = json!({ "api_key": KEY, "customer": "reseller1", "api_url": r.uri(), "acknowledge_billables": false });
        let params = d(json!({ "renew_years": 1 }));
        let call = ProviderCall::for_service(b, a, &id, &settings, &params, Some("shop.com"));
        let f = (&RealtimeRegister::new() as &dyn super::super::blueprints::DomainNames).run(call).await.unwrap_err();
        assert_eq!(f.message, "Realtime Register asks to acknowledge the charges of renewDomain (RENEW domain_com): the configuration does not acknowledge them");
    }
}
