//! The `openprovider` provider (domain names): OpenProvider's REST API v1beta, as
//! ../shared/specs/openprovider/swagger.json describes it. JSON both ways; every answer is
//! `{code, desc, data, warnings}` (code 0: done); every call but the login carries
//! `Authorization: Bearer <token>` from `POST /v1beta/auth/login`, kept per warm instance and
//! configuration until it is a day old (OpenProvider's tokens last two days) or refused.
//!
//! Domains are found by name (`GET /v1beta/domains?full_name=`) for their numeric id. Contacts
//! are OpenProvider customers (handles). A transfer is followed through the domain's status
//! (REQ, SCH, PEN: under way; ACT: done; FAI: failed). OpenProvider has no IPS tags
//! (update-ips-tag is not supported); the default registrant is the `default_customer_handle`
//! setting.

use crate::catalogue::schema::{address, boolean, params, pattern, secret, string_max};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{Contact, ContactSlot, Contacts, GlueHost, GlueRecord, Lock, Nameservers, NewRegistrant, Register, Renewal, non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;
use crate::domain::time::normalize_datetime;

pub const ID: &str = "openprovider";
pub const LIVE_URL: &str = "https://api.openprovider.eu";
pub const SANDBOX_URL: &str = "http://api.sandbox.openprovider.nl:8480";
pub const WIRE_SECRETS: &[&str] = &["password", "token", "auth_code", "internal_auth_code", "epp_code"];
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// A token is used for a day (OpenProvider's last two).
const TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);

pub struct OpenProvider {
    /// Bearer tokens by configuration (and credentials), with when they were issued.
    tokens: Mutex<HashMap<u64, (String, Instant)>>,
}

impl Default for OpenProvider {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    username: String,
    password: String,
    #[serde(default, deserialize_with = "or_default")]
    test_mode: bool,
    #[serde(default, deserialize_with = "or_default")]
    disable_whois_privacy: bool,
    #[serde(default, deserialize_with = "non_empty")]
    default_customer_handle: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
}

pub struct Api<'a> {
    pub(crate) wire: Wire<'a>,
    base: String,
    settings: Settings,
    key: u64,
    tokens: &'a Mutex<HashMap<u64, (String, Instant)>>,
}

use super::str_of;

/// A refused token: log in again (once).
const STALE_TOKEN: &str = "stale token";

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let desc = reply.body.as_ref().and_then(|b| str_of(b, "desc")).unwrap_or("");
        let code = reply.body.as_ref().and_then(|b| b["code"].as_i64()).unwrap_or(-1);
        let failure = |kind, message: String| Err(ProviderFailure { kind, message: message.chars().take(500).collect(), debug: vec![] });
        match reply.status {
            401 => failure(FailureKind::Permanent, STALE_TOKEN.into()),
            200..=299 => match &reply.body {
                Some(b) if b["maintenance"] == true && code != 0 => failure(FailureKind::Transient, format!("OpenProvider is in maintenance ({what}): try later")),
                Some(b) if code == 0 || b.get("code").is_none() => Ok(b.clone()),
                Some(_) if code == 10005 => failure(FailureKind::Permanent, "OpenProvider refused the call from this address: add the engine's IP address to the API whitelist".into()),
                Some(_) => failure(FailureKind::Permanent, format!("OpenProvider refused {what}: {} (code {code})", if desc.is_empty() { "no reason given" } else { desc })),
                None => failure(FailureKind::Permanent, format!("OpenProvider answered {what} with a malformed body")),
            },
            429 => failure(FailureKind::Transient, format!("OpenProvider's rate limit was reached on {what}: try later")),
            status => {
                let detail = if desc.is_empty() { format!("HTTP {status}") } else { format!("{desc} (HTTP {status}, code {code})") };
                failure(kind_of_status(status), format!("OpenProvider refused {what}: {detail}"))
            }
        }
    }
}

impl Api<'_> {
    pub(crate) async fn login(&mut self) -> Result<String, ProviderFailure> {
        let body = Body::Json(json!({ "username": self.settings.username, "password": self.settings.password, "ip": "0.0.0.0" }));
        let url = format!("{}/v1beta/auth/login", self.base);
        // The description secures every operation, the login included, with the Authorization
        // header: it is sent empty of a token here.
        let answer =
            self.wire.exchange(Request { what: "auth/login", method: reqwest::Method::POST, url: &url, body: &body, read: false }, |r| r.header("authorization", "Bearer"), judge("auth/login")).await;
        let answer = answer.map_err(|f| if f.message == STALE_TOKEN { ProviderFailure::permanent("OpenProvider refused the username and password") } else { f })?;
        let token = str_of(&answer["data"], "token").ok_or_else(|| ProviderFailure::permanent("OpenProvider answered auth/login without a token"))?.to_owned();
        self.tokens.lock().expect("token cache").insert(self.key, (token.clone(), Instant::now()));
        Ok(token)
    }

    async fn token(&mut self) -> Result<String, ProviderFailure> {
        let cached = self.tokens.lock().expect("token cache").get(&self.key).filter(|(_, at)| at.elapsed() < TOKEN_LIFE).map(|(t, _)| t.clone());
        match cached {
            Some(t) => Ok(t),
            None => self.login().await,
        }
    }

    /// One call with the bearer token; a refused token is replaced once.
    pub(crate) async fn send(&mut self, what: &str, method: reqwest::Method, path_and_query: &str, body: Body) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}/v1beta/{path_and_query}", self.base);
        for fresh in [false, true] {
            let token = if fresh { self.login().await? } else { self.token().await? };
            match self.wire.exchange(Request { what, method: method.clone(), url: &url, body: &body, read }, |r| r.bearer_auth(&token), judge(what)).await {
                Err(f) if f.message == STALE_TOKEN && !fresh => {
                    self.tokens.lock().expect("token cache").remove(&self.key);
                }
                Err(f) if f.message == STALE_TOKEN => return Err(ProviderFailure::permanent(format!("OpenProvider refused the token for {what}: check the username and password"))),
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    pub(crate) async fn get(&mut self, what: &str, path_and_query: &str) -> Result<Value, ProviderFailure> {
        Ok(self.send(what, reqwest::Method::GET, path_and_query, Body::None).await?["data"].take())
    }

    /// A read whose "there is none" is an answer: `None` when OpenProvider says it has no such
    /// thing (HTTP 404, or a refusal saying it was not found or does not exist).
    pub(crate) async fn lookup(&mut self, what: &str, path_and_query: &str) -> Result<Option<Value>, ProviderFailure> {
        match self.get(what, path_and_query).await {
            Ok(v) => Ok(Some(v)),
            Err(f) if f.kind == FailureKind::Permanent && absent(&f.message) => Ok(None),
            Err(f) => Err(f),
        }
    }

    pub(crate) async fn post(&mut self, what: &str, path: &str, body: Value) -> Result<Value, ProviderFailure> {
        Ok(self.send(what, reqwest::Method::POST, path, Body::Json(body)).await?["data"].take())
    }

    pub(crate) async fn put(&mut self, what: &str, path: &str, body: Value) -> Result<Value, ProviderFailure> {
        Ok(self.send(what, reqwest::Method::PUT, path, Body::Json(body)).await?["data"].take())
    }

    /// The domain as OpenProvider lists it (None: not in this account).
    async fn find(&mut self, d: &Domain) -> Result<Option<Value>, ProviderFailure> {
        let list = self.get("ListDomains", &format!("domains?full_name={}&limit=1", d.full())).await?;
        Ok(list["results"].as_array().and_then(|r| r.first()).cloned())
    }

    async fn find_required(&mut self, d: &Domain) -> Result<(i64, Value), ProviderFailure> {
        let found = self.find(d).await?.ok_or_else(|| ProviderFailure::permanent(format!("OpenProvider has no domain {} in this account", d.full())))?;
        let id = found["id"].as_i64().ok_or_else(|| ProviderFailure::permanent(format!("OpenProvider listed {} without an id", d.full())))?;
        Ok((id, found))
    }

    /// The handle of a contact param: its id, or a customer made from its details.
    async fn handle(&mut self, contact: &ContactSlot) -> Result<String, ProviderFailure> {
        if let Some(id) = &contact.id {
            return Ok(id.clone());
        }
        let c = contact.register.as_ref().ok_or_else(|| ProviderFailure::permanent("a contact names neither a handle (id) nor details to register"))?;
        let made = self.post("CreateCustomer", "customers", customer(c)).await?;
        str_of(&made, "handle").map(str::to_owned).ok_or_else(|| ProviderFailure::permanent("OpenProvider answered CreateCustomer without a handle"))
    }

    /// Handles of the four roles; the same details make one customer.
    async fn handles(&mut self, p: &Contacts, default: Option<&str>) -> Result<[Option<String>; 4], ProviderFailure> {
        let mut made: Vec<(&ContactSlot, String)> = Vec::new();
        let mut out: [Option<String>; 4] = Default::default();
        for (i, role) in [&p.registrant, &p.admin, &p.tech, &p.billing].into_iter().enumerate() {
            let Some(contact) = role else {
                out[i] = default.map(str::to_owned);
                continue;
            };
            if let Some((_, h)) = made.iter().find(|(c, _)| *c == contact) {
                out[i] = Some(h.clone());
                continue;
            }
            let h = self.handle(contact).await?;
            made.push((contact, h.clone()));
            out[i] = Some(h);
        }
        Ok(out)
    }

    async fn contact(&mut self, handle: &str) -> Result<Value, ProviderFailure> {
        let c = self.get("GetCustomer", &format!("customers/{handle}")).await?;
        Ok(contact_data(handle, &c))
    }

    /// The catalogue's domain result for a listed domain (with its registrant).
    async fn info(&mut self, d: &Domain, found: &Value) -> Result<Value, ProviderFailure> {
        let mut info = domain_result(d, found);
        if let Some(h) = str_of(found, "owner_handle") {
            info["registrant"] = self.contact(h).await?;
        }
        Ok(info)
    }

    /// The glue records (OpenProvider nameservers) under the domain.
    async fn glue(&mut self, d: &Domain) -> Result<Value, ProviderFailure> {
        let list = self.get("ListNameservers", &format!("dns/nameservers?pattern=*.{}&limit=100", d.full())).await?;
        let records: Vec<Value> = list["results"].as_array().into_iter().flatten().filter_map(glue_record).collect();
        Ok(json!(records))
    }
}

/// Whether a refusal says the thing asked for is not there.
fn absent(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("http 404") || m.contains("not found") || m.contains("does not exist") || m.contains("no such")
}

/// A domain by its two parts.
struct Domain {
    sld: String,
    tld: String,
}

impl Domain {
    /// The domain a call acts on: [`ProviderCall::subject`] (the contract product's, or a
    /// register's / transfer's params).
    fn of(call: &ProviderCall<'_>) -> Result<Self, ProviderFailure> {
        call.subject()
            .as_deref()
            .and_then(|i| i.split_once('.'))
            .map(|(s, t)| Domain { sld: s.to_lowercase(), tld: t.to_lowercase() })
            .ok_or_else(|| ProviderFailure::permanent("no domain name (sld and tld) to act on"))
    }

    fn full(&self) -> String {
        format!("{}.{}", self.sld, self.tld)
    }

    fn wire(&self) -> Value {
        json!({ "name": self.sld, "extension": self.tld })
    }
}

/// A catalogue contact as an OpenProvider customer.
fn customer(c: &Contact) -> Value {
    let name = c.name.as_deref().or(c.organisation.as_deref()).unwrap_or_default();
    let (first, last) = name.rsplit_once(' ').unwrap_or((name, name));
    let phone = super::e164(&c.phone);
    let (country_code, number) = phone.split_once('.').map_or((phone.clone(), String::new()), |(cc, n)| (cc.to_owned(), n.to_owned()));
    let (area, subscriber) = number.split_at(number.len().min(3));
    let street = c.address1.as_str();
    // OpenProvider keeps the house number apart: the last word of the line when it has a digit.
    let (street, house) = match street.rsplit_once(' ') {
        Some((s, n)) if n.chars().any(|ch| ch.is_ascii_digit()) => (s, n),
        _ => (street, ""),
    };
    let mut out = json!({
        "name": { "first_name": first, "last_name": last, "full_name": name, "initials": first.chars().next().map(|ch| format!("{ch}.")).unwrap_or_default() },
        "email": c.email,
        "phone": { "country_code": country_code, "area_code": area, "subscriber_number": subscriber },
        "address": { "street": street, "number": house, "zipcode": c.postcode, "city": c.city, "country": c.country_code.to_uppercase() },
    });
    if let Some(o) = &c.organisation {
        out["company_name"] = json!(o);
    }
    if let Some(s) = &c.state {
        out["address"]["state"] = json!(s);
    }
    out
}

/// An OpenProvider customer as the catalogue's contact data.
fn contact_data(handle: &str, c: &Value) -> Value {
    let mut out = json!({ "id": handle });
    let set = |out: &mut Value, k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out[k] = json!(v);
        }
    };
    set(&mut out, "name", str_of(&c["name"], "full_name"));
    set(&mut out, "organisation", str_of(c, "company_name"));
    set(&mut out, "email", str_of(c, "email").filter(|e| e.contains('@')));
    let phone = &c["phone"];
    let number = format!("{}.{}{}", str_of(phone, "country_code").unwrap_or_default(), str_of(phone, "area_code").unwrap_or_default(), str_of(phone, "subscriber_number").unwrap_or_default());
    set(&mut out, "phone", Some(number.as_str()).filter(|n| n.len() > 1));
    let a = &c["address"];
    let line = [str_of(a, "street"), str_of(a, "number")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    set(&mut out, "address1", Some(line.as_str()));
    set(&mut out, "city", str_of(a, "city"));
    set(&mut out, "state", str_of(a, "state"));
    set(&mut out, "postcode", str_of(a, "zipcode"));
    set(&mut out, "country_code", str_of(a, "country").filter(|c| c.len() == 2));
    out
}

fn glue_record(ns: &Value) -> Option<Value> {
    let name = str_of(ns, "name")?;
    let ips: Vec<&str> = [str_of(ns, "ip"), str_of(ns, "ip6")].into_iter().flatten().filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()).collect();
    Some(json!({ "hostname": name, "ips": ips }))
}

/// A listed domain as the catalogue's domain result.
fn domain_result(d: &Domain, found: &Value) -> Value {
    let date = |k: &str| str_of(found, k).and_then(normalize_datetime).map_or(Value::Null, |s| json!(s));
    let status = str_of(found, "status").unwrap_or("unknown");
    let mut statuses = vec![json!(status)];
    for (k, name) in [("client_hold", "clientHold"), ("client_transfer_prohibited", "clientTransferProhibited")] {
        if found["registry_statuses"][k].is_object() {
            statuses.push(json!(name));
        }
    }
    let mut ns = serde_json::Map::new();
    let mut listed: Vec<&Value> = found["name_servers"].as_array().into_iter().flatten().collect();
    listed.sort_by_key(|n| n["seq_nr"].as_i64().unwrap_or(0));
    for (i, n) in listed.iter().filter(|n| str_of(n, "name").is_some()).take(5).enumerate() {
        let mut entry = json!({ "host": n["name"] });
        if let Some(ip) = str_of(n, "ip").filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()) {
            entry["ip"] = json!(ip);
        }
        ns.insert(format!("ns{}", i + 1), entry);
    }
    let mut out = json!({
        "id": found["id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
        "domain": d.full(),
        "statuses": statuses,
        "locked": found["is_locked"] == true,
        "whois_privacy": found["is_private_whois_enabled"] == true,
        "auto_renew": found["autorenew"] == "on",
        "ns": if ns.is_empty() { Value::Null } else { Value::Object(ns) },
        "created_at": date("creation_date"),
        "updated_at": date("last_changed"),
        "expires_at": date("expiration_date"),
    });
    out["operation_status"] = json!(if matches!(status, "REQ" | "SCH" | "PEN") { "in_progress" } else { "complete" });
    out
}

/// `transfer`.
#[derive(Deserialize, Serialize)]
struct Transfer {
    #[serde(default, deserialize_with = "or_default")]
    whois_privacy: bool,
    #[serde(default, deserialize_with = "non_empty")]
    epp_code: Option<String>,
    #[serde(flatten)]
    contacts: Contacts,
}

/// The body of `POST /v1beta/domains` (CreateDomain) for a register's params and contact handles.
pub fn create_domain_request(p: &Register, handles: [Option<String>; 4], privacy: bool) -> Value {
    let [owner, admin, tech, billing] = handles;
    let mut body = json!({
        "domain": { "name": p.sld.to_lowercase(), "extension": p.tld.trim_start_matches('.').to_lowercase() },
        "period": p.renew_years, "unit": "y",
        "owner_handle": owner, "admin_handle": admin, "tech_handle": tech, "billing_handle": billing,
        "name_servers": nameservers_of(&p.nameservers), "autorenew": "off", "is_private_whois_enabled": privacy,
    });
    if let Some(fields) = &p.additional_fields {
        body["additional_data"] = Value::Object(fields.clone());
    }
    body
}

fn nameservers_of(p: &Nameservers) -> Vec<Value> {
    p.list()
        .into_iter()
        .map(|(i, n)| {
            let mut e = json!({ "name": n.host, "seq_nr": i });
            if let Some(ip) = &n.ip {
                e[if ip.contains(':') { "ip6" } else { "ip" }] = json!(ip);
            }
            e
        })
        .collect()
}

impl OpenProvider {
    pub fn new() -> Self {
        OpenProvider { tokens: Mutex::new(HashMap::new()) }
    }

    /// A client of the account the settings name (username, password, test_mode, api_url),
    /// its token cached per configuration: OpenProvider's SpamExperts and licence providers use
    /// it too.
    pub(crate) fn api<'a>(&'a self, configuration: &str, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        self.api_with(configuration, settings, WIRE_SECRETS)
    }

    /// [`Self::api`], masking these wire fields in the exchanges recorded.
    pub(crate) fn api_with<'a>(&'a self, configuration: &str, settings: &Value, secrets: &'static [&'static str]) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let default = if settings.test_mode { SANDBOX_URL } else { LIVE_URL };
        let base = settings.api_url.as_deref().unwrap_or(default).trim_end_matches('/').trim_end_matches("/v1beta").to_owned();
        let mut h = DefaultHasher::new();
        (configuration, &base, &settings.username, &settings.password).hash(&mut h);
        Ok(Api { wire: Wire::new(super::http_client(), "OpenProvider", secrets, CALL_TIMEOUT), base, settings, key: h.finish(), tokens: &self.tokens })
    }

    /// `register`
    async fn register(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Register) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let privacy = p.whois_privacy && !api.settings.disable_whois_privacy;
        let check = api.post("CheckDomain", "domains/check", json!({ "domains": [d.wire()] })).await?;
        let status = check["results"][0]["status"].as_str().unwrap_or("unknown");
        if status != "free" {
            return Err(ProviderFailure::permanent(format!("{name} cannot be registered: OpenProvider reports it {status}")));
        }
        let handles = api.handles(&p.contacts, None).await?;
        let body = create_domain_request(&p, handles, privacy);
        api.post("CreateDomain", "domains", body).await?;
        // Registered: a failure reading it back is no reason to register it again.
        let read_back = async {
            let (_, found) = api.find_required(&d).await?;
            api.info(&d, &found).await
        };
        let info = read_back.await.map_err(super::made_but_unread)?;
        Ok((format!("{name} registered"), info, Some(name)))
    }

    /// `transfer`
    async fn transfer(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Transfer) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let privacy = p.whois_privacy && !api.settings.disable_whois_privacy;
        let default_handle = api.settings.default_customer_handle.clone();
        if let Some(found) = api.find(&d).await? {
            let info = api.info(&d, &found).await?;
            if found["status"] == "FAI" && call.following.is_some() {
                return Err(ProviderFailure::permanent(format!("the transfer of {name} failed at OpenProvider")));
            }
            if found["status"] != "FAI" {
                return Ok((format!("{name} is in this account ({})", found["status"].as_str().unwrap_or("?")), info, Some(name)));
            }
        }
        let [owner, admin, tech, billing] = api.handles(&p.contacts, default_handle.as_deref()).await?;
        if owner.is_none() {
            return Err(ProviderFailure::permanent("a transfer to OpenProvider needs a registrant: give one, or set default_customer_handle"));
        }
        let mut body = json!({
            "domain": d.wire(), "owner_handle": owner, "admin_handle": admin.or(owner.clone()), "tech_handle": tech.or(owner.clone()), "billing_handle": billing.or(owner.clone()),
            "autorenew": "off", "is_private_whois_enabled": privacy, "unit": "y",
        });
        if let Some(code) = &p.epp_code {
            body["auth_code"] = json!(code);
        }
        let answer = api.post("TransferDomain", "domains/transfer", body).await?;
        let status = answer["status"].as_str().unwrap_or("REQ");
        if status == "FAI" {
            return Err(ProviderFailure::permanent(format!("OpenProvider could not start the transfer of {name}")));
        }
        let (_, found) = api.find_required(&d).await?;
        let mut info = api.info(&d, &found).await?;
        if status != "ACT" {
            info["operation_status"] = json!("in_progress");
        }
        Ok((format!("transfer of {name} requested ({status})"), info, Some(name)))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (_, found) = api.find_required(&d).await?;
        if call.following == Some("transfer") && found["status"] == "FAI" {
            return Err(ProviderFailure::permanent(format!("the transfer of {name} failed at OpenProvider")));
        }
        Ok((format!("{name}: {}", found["status"].as_str().unwrap_or("?")), api.info(&d, &found).await?, None))
    }

    /// `sync-due-date`: the domain as OpenProvider shows it (its expiry date with it).
    async fn sync_due_date(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.get_info(api, call).await
    }

    /// `renew`
    async fn renew(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Renewal) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (id, _) = api.find_required(&d).await?;
        let years = p.renew_years;
        api.post("RenewDomain", &format!("domains/{id}/renew"), json!({ "id": id, "period": years })).await?;
        let (_, found) = api.find_required(&d).await?;
        Ok((format!("{name} renewed for {years} year(s)"), api.info(&d, &found).await?, None))
    }

    /// `set-lock`
    async fn set_lock(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Lock) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (id, found) = api.find_required(&d).await?;
        let lock = p.lock;
        if lock && found["is_lockable"] == false {
            return Err(ProviderFailure::permanent(format!("the registry of .{} does not allow {name} to be locked", d.tld)));
        }
        api.put("UpdateDomain", &format!("domains/{id}"), json!({ "id": id, "is_locked": lock })).await?;
        let (_, found) = api.find_required(&d).await?;
        Ok((format!("{name} {}", if lock { "locked" } else { "unlocked" }), api.info(&d, &found).await?, None))
    }

    /// `update-nameservers`
    async fn update_nameservers(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Nameservers) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (id, _) = api.find_required(&d).await?;
        api.put("UpdateDomain", &format!("domains/{id}"), json!({ "id": id, "name_servers": nameservers_of(&p) })).await?;
        let (_, found) = api.find_required(&d).await?;
        let ns = domain_result(&d, &found)["ns"].clone();
        Ok((format!("nameservers of {name} updated"), if ns.is_null() { json!({}) } else { ns }, None))
    }

    /// `update-registrant`
    async fn update_registrant(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: NewRegistrant) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (id, _) = api.find_required(&d).await?;
        let handle = api.handle(&ContactSlot { id: None, register: Some(p.contact) }).await?;
        api.put("UpdateDomain", &format!("domains/{id}"), json!({ "id": id, "owner_handle": handle })).await?;
        Ok((format!("registrant of {name} is now {handle}"), api.contact(&handle).await?, None))
    }

    /// `update-registrant-with-default-details`
    async fn update_registrant_with_default_details(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let handle = api
            .settings
            .default_customer_handle
            .clone()
            .ok_or_else(|| ProviderFailure::permanent("domain-names/update-registrant-with-default-details needs the default_customer_handle setting of the openprovider configuration"))?;
        let (id, _) = api.find_required(&d).await?;
        api.put("UpdateDomain", &format!("domains/{id}"), json!({ "id": id, "owner_handle": handle })).await?;
        Ok((format!("registrant of {name} is now the default {handle}"), api.contact(&handle).await?, None))
    }

    /// `get-epp-code`
    async fn get_epp_code(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let (id, _) = api.find_required(&d).await?;
        let code = api.get("GetAuthCode", &format!("domains/{id}/authcode")).await?;
        let code = str_of(&code, "auth_code").ok_or_else(|| ProviderFailure::permanent(format!("OpenProvider has no EPP code for {name}")))?;
        Ok((format!("EPP code of {name}"), json!({ "epp_code": code }), None))
    }

    /// `get-verification-status`
    async fn get_verification_status(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let list = api.get("ListDomainEmailVerifications", &format!("customers/verifications/emails/domains?domain={name}")).await?;
        let Some(v) = list["results"].as_array().and_then(|r| r.first()).cloned() else {
            return Ok((format!("{name} has no e-mail verification at OpenProvider"), json!({ "icann_verification_status": "not required" }), None));
        };
        let mut out = json!({ "icann_verification_status": str_of(&v, "status").unwrap_or("unknown"), "provider_specific_data": v });
        if let Some(deadline) = str_of(&v, "expiration_date").and_then(normalize_datetime) {
            out["verification_deadline"] = json!(deadline);
        }
        if v["is_suspended"].is_boolean() {
            out["provider_specific_data"]["is_suspended"] = v["is_suspended"].clone();
        }
        Ok((format!("verification of {name}"), out, None))
    }

    /// `resend-verification-email`
    async fn resend_verification_email(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let list = api.get("ListDomainEmailVerifications", &format!("customers/verifications/emails/domains?domain={name}")).await?;
        let listed = list["results"].as_array().and_then(|r| r.iter().find_map(|v| str_of(v, "email").map(str::to_owned)));
        // None listed: the registrant's address is the one to verify.
        let email = match listed {
            Some(e) => e,
            None => {
                let (_, found) = api.find_required(&d).await?;
                let handle = str_of(&found, "owner_handle").ok_or_else(|| ProviderFailure::permanent(format!("OpenProvider lists no registrant for {name}")))?.to_owned();
                let email = api.contact(&handle).await?["email"].as_str().map(str::to_owned);
                email.ok_or_else(|| ProviderFailure::permanent(format!("the registrant of {name} has no e-mail address at OpenProvider")))?
            }
        };
        let answer = api.post("RestartEmailVerification", "customers/verifications/emails/restart", json!({ "email": email })).await?;
        let success = answer["success"] != false;
        Ok((
            format!("verification e-mail for {name} sent again"),
            json!({ "success": success, "message": if success { "the verification e-mail was sent again" } else { "OpenProvider did not send the e-mail" } }),
            None,
        ))
    }

    /// `set-glue-record`
    async fn set_glue_record(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: GlueRecord) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let host = crate::providers::glue_host(&p.hostname, &name)?;
        let ips = p.ips();
        let (v6, v4): (Vec<&str>, Vec<&str>) = ips.iter().partition(|ip| ip.contains(':'));
        if v4.len() > 1 || v6.len() > 1 {
            return Err(ProviderFailure::permanent("OpenProvider keeps one IPv4 and one IPv6 address per nameserver"));
        }
        let mut body = json!({ "name": host });
        if let Some(ip) = v4.first() {
            body["ip"] = json!(ip);
        }
        if let Some(ip) = v6.first() {
            body["ip6"] = json!(ip);
        }
        let exists = match api.get("GetNameserver", &format!("dns/nameservers/{host}")).await {
            Ok(found) => str_of(&found, "name").is_some(),
            Err(f) if f.kind == FailureKind::Permanent && !f.message.contains("refused the token") => false,
            Err(f) => return Err(f),
        };
        if exists {
            api.put("UpdateNameserver", &format!("dns/nameservers/{host}"), body).await?;
        } else {
            api.post("CreateNameserver", "dns/nameservers", body).await?;
        }
        Ok((format!("glue record {host} set"), json!({ "glue_records": api.glue(&d).await? }), None))
    }

    /// `remove-glue-record`
    async fn remove_glue_record(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: GlueHost) -> Answer {
        let d = Domain::of(call)?;
        let name = d.full();
        let host = crate::providers::glue_host(&p.hostname, &name)?;
        api.send("DeleteNameserver", reqwest::Method::DELETE, &format!("dns/nameservers/{host}"), Body::None).await?;
        Ok((format!("glue record {host} removed"), json!({ "glue_records": api.glue(&d).await? }), None))
    }
}

session_of_api!(OpenProvider, by configuration);

// update-ips-tag is Nominet's (a .uk release), not OpenProvider's.
implements!(DomainNames for OpenProvider as ID, {
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
    get_verification_status,
    resend_verification_email,
    set_glue_record(GlueRecord),
    remove_glue_record(GlueHost),
});

impl Connect for OpenProvider {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api("connection-check", settings)?;
            // A fresh login: the check is of the credentials, not of a cached token.
            let result = match api.login().await {
                Ok(_) => api.get("ListDomains", "domains?limit=1").await,
                Err(f) => Err(f),
            };
            let connected = result.map(|list| {
                let total = list["total"].as_i64().map(|n| format!(": {n} domains in the account")).unwrap_or_default();
                (format!("connected to OpenProvider{total}"), json!({ "connected": true }), None)
            });
            super::with_debug(connected, api.wire.take_debug())
        })
    }

    /// The account's domains, 100 a page (ListDomains with `limit` and `offset`; `page` is the
    /// offset).
    fn list_services<'a>(&'a self, _blueprint: &'a str, configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let offset: u64 = page.map(|p| p.parse().map_err(|_| ProviderFailure::permanent(format!("{p:?} is not a page of OpenProvider's domain list")))).transpose()?.unwrap_or(0);
            let mut api = self.api(configuration.as_str(), settings)?;
            let listed = api.get("ListDomains", &format!("domains?limit={LIST_PAGE}&offset={offset}")).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let results = list["results"].as_array().cloned().unwrap_or_default();
            let services: Vec<Listed> = results
                .iter()
                .filter_map(|d| {
                    let (name, extension) = (str_of(&d["domain"], "name")?, str_of(&d["domain"], "extension")?);
                    Some(Listed { service_identifier: format!("{name}.{extension}").to_lowercase(), label: None, suspended: None })
                })
                .collect();
            let total = list["total"].as_u64().unwrap_or(0);
            let seen = offset + results.len() as u64;
            let next = (!results.is_empty() && seen < total).then(|| seen.to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// How many domains a page of ListDomains holds.
const LIST_PAGE: u64 = 100;

/// OpenProvider (domain names), settings named as the reference framework names them.
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("username", string_max(255))
        .req("password", secret())
        .opt("test_mode", address(boolean()))
        .opt("disable_whois_privacy", boolean())
        // The customer handle a registrant is reset to (update-registrant-with-default-details)
        // and a transfer without contacts is made with.
        .opt("default_customer_handle", pattern("^[A-Za-z0-9-]{3,32}$"))
        .opt("api_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "domain-names",
        name: "OpenProvider",
        description: "Domain registrations through an OpenProvider reseller account (REST API v1beta)",
        settings,
        supported_actions: <OpenProvider as super::blueprints::Implements>::supported("domain-names"),
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
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PASSWORD: &str = "op-pw-Sup3rSecret";
    const TOKEN: &str = "op-token-abc123";

    fn ok(data: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }))
    }

    fn listed(status: &str) -> Value {
        json!({ "results": [{ "id": 7001, "domain": { "name": "shop", "extension": "com" }, "status": status, "is_locked": false, "is_lockable": true,
            "autorenew": "off", "owner_handle": "JD000001-US", "name_servers": [{ "name": "ns2.host.example", "seq_nr": 1 }, { "name": "ns1.host.example", "ip": "192.0.2.53", "seq_nr": 0 }],
            "creation_date": "2026-11-23 10:00:00", "last_changed": "2026-11-23 10:00:00", "expiration_date": "2027-11-23 10:00:00" }], "total": 1 })
    }

    async fn openprovider() -> MockServer {
        let op = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1beta/auth/login"))
            .and(body_partial_json(json!({ "username": "reseller", "password": PASSWORD })))
            .respond_with(ok(json!({ "token": TOKEN, "reseller_id": 1 })))
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/customers/JD000001-US"))
            .respond_with(ok(
                json!({ "handle": "JD000001-US", "name": { "full_name": "Jo Doe" }, "email": "jo@shop.com", "phone": { "country_code": "+44", "area_code": "207", "subscriber_number": "1234567" },
                "address": { "street": "High St", "number": "1", "zipcode": "N1 1AA", "city": "London", "country": "GB" } }),
            ))
            .mount(&op)
            .await;
        op
    }

    async fn run_with(provider: &OpenProvider, op: &MockServer, action: &str, params: Value, following: Option<&'static str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("domain-names", action).unwrap();
        let id = ConfigurationId::parse("cfg-op").unwrap();
        let settings = json!({ "username": "reseller", "password": PASSWORD, "api_url": op.uri(), "default_customer_handle": "DF000001-NL" });
        // As the engine does: the domain acted on is the contract product's (here, the params').
        let named = params["sld"].as_str().zip(params["tld"].as_str()).map(|(s, t)| format!("{s}.{t}"));
        let si = named.unwrap_or_else(|| "shop.com".to_owned());
        let out = (provider as &dyn super::super::blueprints::DomainNames)
            .run(ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some(&si), following, contract_product_id: None })
            .await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
            let debug = serde_json::to_string(&o.debug).unwrap();
            assert!(!debug.contains(PASSWORD) && !debug.contains(TOKEN), "{debug}");
        }
        out
    }

    async fn run(op: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_with(&OpenProvider::new(), op, action, params, None).await
    }

    fn contact() -> Value {
        json!({ "register": { "name": "Jo Doe", "email": "jo@shop.com", "phone": "+44.2071234567", "address1": "High St 1", "city": "London", "postcode": "N1 1AA", "country_code": "GB" } })
    }

    /// The account's domains are listed 100 at a time: the offset of the next page until the
    /// total is reached.
    #[tokio::test]
    async fn the_domains_are_listed_a_page_at_a_time() {
        let op = openprovider().await;
        let domains = |names: &[&str]| json!(names.iter().map(|n| json!({ "id": 1, "domain": { "name": n, "extension": "com" }, "status": "ACT" })).collect::<Vec<_>>());
        let first: Vec<String> = (0..100).map(|i| format!("shop{i}")).collect();
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        Mock::given(method("GET"))
            .and(path("/v1beta/domains"))
            .and(query_param("limit", "100"))
            .and(query_param("offset", "0"))
            .respond_with(ok(json!({ "results": domains(&first), "total": 101 })))
            .mount(&op)
            .await;
        Mock::given(method("GET")).and(path("/v1beta/domains")).and(query_param("offset", "100")).respond_with(ok(json!({ "results": domains(&["Last"]), "total": 101 }))).mount(&op).await;
        let settings = json!({ "username": "reseller", "password": PASSWORD, "api_url": op.uri() });
        let id = ConfigurationId::parse("cfg-op-list").unwrap();
        let provider = OpenProvider::new();
        let page = provider.list_services("domain-names", &id, &settings, None).await.unwrap();
        assert_eq!((page.services.len(), page.services[0].service_identifier.as_str(), page.next.as_deref()), (100, "shop0.com", Some("100")));
        let last = provider.list_services("domain-names", &id, &settings, page.next.as_deref()).await.unwrap();
        assert_eq!((last.services[0].service_identifier.as_str(), last.next), ("last.com", None));
        assert!(!serde_json::to_string(&page.debug).unwrap().contains(PASSWORD), "the password is not in the exchanges");
    }

    #[tokio::test]
    async fn register_checks_makes_one_customer_registers_and_reads_back_with_one_login() {
        let op = openprovider().await;
        let bearer = format!("Bearer {TOKEN}");
        Mock::given(path("/v1beta/domains/check")).and(header("authorization", bearer.as_str())).respond_with(ok(json!({ "results": [{ "domain": "shop.com", "status": "free" }] }))).mount(&op).await;
        Mock::given(method("POST"))
            .and(path("/v1beta/customers"))
            .and(body_partial_json(json!({ "name": { "full_name": "Jo Doe", "last_name": "Doe" }, "phone": { "country_code": "+44", "area_code": "207", "subscriber_number": "1234567" }, "address": { "street": "High St", "number": "1", "country": "GB" } })))
            .respond_with(ok(json!({ "handle": "JD000001-US" })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1beta/domains"))
            .and(body_partial_json(json!({ "domain": { "name": "shop", "extension": "com" }, "period": 2, "unit": "y", "owner_handle": "JD000001-US", "billing_handle": "JD000001-US",
                "name_servers": [{ "name": "ns1.host.example", "ip": "192.0.2.53", "seq_nr": 0 }, { "name": "ns2.host.example", "seq_nr": 1 }] })))
            .respond_with(ok(json!({ "id": 7001, "status": "ACT" })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/domains")).and(method("GET")).and(query_param("full_name", "shop.com")).respond_with(ok(listed("ACT"))).mount(&op).await;
        let provider = OpenProvider::new();
        let params = json!({ "sld": "shop", "tld": "com", "renew_years": 2, "registrant": contact(), "admin": contact(), "tech": contact(), "billing": contact(),
            "nameservers": { "ns1": { "host": "ns1.host.example", "ip": "192.0.2.53" }, "ns2": { "host": "ns2.host.example" } } });
        let out = run_with(&provider, &op, "register", params, None).await.unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("shop.com"));
        assert_eq!((out.data["id"].as_str(), out.data["expires_at"].as_str(), out.data["ns"]["ns1"]["host"].as_str()), (Some("7001"), Some("2027-11-23 10:00:00"), Some("ns1.host.example")));
        assert_eq!(out.data["registrant"]["phone"], "+44.2071234567");
        run_with(&provider, &op, "get-info", json!({ "sld": "shop", "tld": "com" }), None).await.unwrap();
        let logins = op.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v1beta/auth/login").count();
        assert_eq!(logins, 1, "the token is kept for the next action");
        let f = run(&op, "update-ips-tag", json!({ "sld": "shop", "tld": "com", "ips_tag": "TAG" })).await.unwrap_err();
        assert!(f.message.contains("not supported by openprovider"));
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_and_refusals_outages_and_bad_bodies_are_clear() {
        let op = openprovider().await;
        Mock::given(path("/v1beta/domains"))
            .and(query_param("full_name", "shop.com"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "code": 196, "desc": "Authentication/Authorization Failed" })))
            .up_to_n_times(1)
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/domains")).and(query_param("full_name", "shop.com")).respond_with(ok(listed("ACT"))).mount(&op).await;
        Mock::given(path("/v1beta/domains/7001"))
            .and(method("PUT"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "code": 366, "desc": "Domain is locked by the registry" })))
            .mount(&op)
            .await;
        let provider = OpenProvider::new();
        run_with(&provider, &op, "get-info", json!({ "sld": "shop", "tld": "com" }), None).await.unwrap();
        let logins = op.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v1beta/auth/login").count();
        assert_eq!(logins, 2, "one login, then one more after the token was refused");
        let f = run_with(&provider, &op, "set-lock", json!({ "sld": "shop", "tld": "com", "lock": true }), None).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "OpenProvider refused UpdateDomain: Domain is locked by the registry (code 366)"));

        let op = MockServer::start().await;
        Mock::given(path("/v1beta/auth/login")).respond_with(ResponseTemplate::new(401).set_body_json(json!({ "code": 196, "desc": "Authentication/Authorization Failed" }))).mount(&op).await;
        let f = run(&op, "get-info", json!({ "sld": "shop", "tld": "com" })).await.unwrap_err();
        assert_eq!(f.message, "OpenProvider refused the username and password");
        assert!(!serde_json::to_string(&f.debug).unwrap().contains(PASSWORD));

        let op = openprovider().await;
        Mock::given(path("/v1beta/domains")).and(query_param("full_name", "shop.com")).respond_with(ResponseTemplate::new(429)).mount(&op).await;
        Mock::given(path("/v1beta/domains")).and(query_param("full_name", "gone.com")).respond_with(ok(json!({ "results": [], "total": 0 }))).mount(&op).await;
        Mock::given(path("/v1beta/domains")).and(query_param("full_name", "odd.com")).respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>")).mount(&op).await;
        let f = run(&op, "get-info", json!({ "sld": "shop", "tld": "com" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert_eq!(f.debug.len(), 3, "login, then the read twice");
        let f = run(&op, "get-info", json!({ "sld": "gone", "tld": "com" })).await.unwrap_err();
        assert_eq!(f.message, "OpenProvider has no domain gone.com in this account");
        assert!(run(&op, "get-info", json!({ "sld": "odd", "tld": "com" })).await.unwrap_err().message.contains("malformed"));
    }

    #[tokio::test]
    async fn a_transfer_is_requested_with_the_default_handle_and_followed_to_its_end() {
        let op = openprovider().await;
        Mock::given(path("/v1beta/domains")).and(method("GET")).respond_with(ok(json!({ "results": [] }))).up_to_n_times(1).mount(&op).await;
        Mock::given(path("/v1beta/domains/transfer"))
            .and(body_partial_json(json!({ "domain": { "name": "shop", "extension": "com" }, "auth_code": "Epp-code-77", "owner_handle": "DF000001-NL", "tech_handle": "DF000001-NL" })))
            .respond_with(ok(json!({ "id": 7001, "status": "REQ" })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/domains")).and(method("GET")).respond_with(ok(listed("REQ"))).up_to_n_times(1).mount(&op).await;
        let out = run(&op, "transfer", json!({ "sld": "shop", "tld": "com", "epp_code": "Epp-code-77" })).await.unwrap();
        assert_eq!(out.data["operation_status"], "in_progress");
        assert!(!serde_json::to_string(&out.debug).unwrap().contains("Epp-code-77"), "the auth code is masked");
        Mock::given(path("/v1beta/domains")).and(method("GET")).respond_with(ok(listed("FAI"))).mount(&op).await;
        let f = run_with(&OpenProvider::new(), &op, "get-info", json!({ "sld": "shop", "tld": "com" }), Some("transfer")).await.unwrap_err();
        assert_eq!(f.message, "the transfer of shop.com failed at OpenProvider");
    }

    #[tokio::test]
    async fn glue_records_are_created_or_updated_and_epp_codes_read() {
        let op = openprovider().await;
        Mock::given(path("/v1beta/dns/nameservers/ns1.shop.com"))
            .and(method("GET"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "code": 3501, "desc": "Nameserver not found" })))
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/dns/nameservers"))
            .and(method("POST"))
            .and(body_partial_json(json!({ "name": "ns1.shop.com", "ip": "192.0.2.1", "ip6": "2001:db8::1" })))
            .respond_with(ok(json!({ "success": true })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(path("/v1beta/dns/nameservers"))
            .and(method("GET"))
            .and(query_param("pattern", "*.shop.com"))
            .respond_with(ok(json!({ "results": [{ "name": "ns1.shop.com", "ip": "192.0.2.1", "ip6": "2001:db8::1" }] })))
            .mount(&op)
            .await;
        let out = run(&op, "set-glue-record", json!({ "sld": "shop", "tld": "com", "hostname": "ns1.shop.com", "ip_1": "192.0.2.1", "ip_2": "2001:db8::1" })).await.unwrap();
        assert_eq!(out.data["glue_records"], json!([{ "hostname": "ns1.shop.com", "ips": ["192.0.2.1", "2001:db8::1"] }]));
        let f = run(&op, "set-glue-record", json!({ "sld": "shop", "tld": "com", "hostname": "ns1.shop.com", "ip_1": "192.0.2.1", "ip_2": "192.0.2.2" })).await.unwrap_err();
        assert!(f.message.contains("one IPv4"));
        Mock::given(path("/v1beta/domains")).and(method("GET")).respond_with(ok(listed("ACT"))).mount(&op).await;
        Mock::given(path("/v1beta/domains/7001/authcode")).respond_with(ok(json!({ "auth_code": "Auth-Secret-1", "success": true, "type": "internal" }))).mount(&op).await;
        let out = run(&op, "get-epp-code", json!({ "sld": "shop", "tld": "com" })).await.unwrap();
        assert_eq!(out.data["epp_code"], "Auth-Secret-1");
        assert!(!serde_json::to_string(&out.debug).unwrap().contains("Auth-Secret-1"));
    }
}
