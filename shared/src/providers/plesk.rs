//! The `plesk` provider (web hosting): Plesk Obsidian's REST API v2 (`https://HOST:8443/api/v2`,
//! `X-API-Key`; the schema a Plesk server serves under Tools & Settings > Remote API) and its CLI
//! gateway (`POST /api/v2/cli/{utility}/call` with `{"params": [...]}`, answered
//! `{"code", "stdout", "stderr"}` with HTTP 200 whatever the exit code), as docs.plesk.com
//! documents them; no spec with a licence is kept, so the tests' double follows the docs with
//! recorded examples. Errors are `{"code", "message"}` with a status (a duplicate is 400).
//!
//! A service is a Plesk customer (its login is the service identifier) with one subscription
//! (a domain with physical hosting on a service plan). The customer is found by its login among
//! `GET /clients` (the API has no filter), its subscription among `GET /clients/{id}/domains`.
//! Create: the customer (`POST /clients`, a reseller when asked), then its subscription
//! (`POST /domains`, owner and plan by name, the FTP user named after the login); a create whose
//! answer was lost finds both. Password: `PUT /clients/{id}`. Suspend and unsuspend: `PUT
//! /clients/{id}/suspend|activate`. Usage: `GET /clients/{id}/statistics`. Plan change: the CLI's
//! `subscription --switch-subscription DOMAIN -service-plan PLAN`. Login: the CLI's `admin
//! --get-login-link -user LOGIN` (a one-time link; masked in the exchanges). The plan a
//! subscription is on is read from `subscription --info`. Delete: the subscription, then the
//! customer. Converting a customer to a reseller and back is not in the REST API nor documented
//! for the CLI gateway's utilities: make-reseller and revoke-reseller are not supported (a
//! reseller is made as one at create).

use crate::catalogue::schema::{address, ip, params, pattern, secret, string_max};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// The mark the customer a create makes carries as its `external_id`.
use super::blueprints::{Answer, implements, session_of_api};
use super::params::{non_empty, or_default, settings_as};
use super::product_mark as mark_of;
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "plesk";
pub const WIRE_SECRETS: &[&str] = &["password", "ftp_password", "PSA_PASSWORD"];
/// The login link's call also masks its output (the link signs its holder in).
const LOGIN_SECRETS: &[&str] = &["password", "stdout"];
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Plesk;

impl Default for Plesk {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    hostname: String,
    api_key: String,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    ip_address: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    owner_login: Option<String>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `create-account`
#[derive(Deserialize, Serialize)]
struct CreateAccount {
    #[serde(default, deserialize_with = "non_empty")]
    username: Option<String>,
    email: String,
    #[serde(default, deserialize_with = "non_empty")]
    customer_name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    password: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    domain: Option<String>,
    package_name: String,
    #[serde(default, deserialize_with = "or_default")]
    as_reseller: bool,
    #[serde(default, deserialize_with = "non_empty")]
    custom_ip: Option<String>,
}

/// `change-password`
#[derive(Deserialize, Serialize)]
struct NewPassword {
    password: String,
}

/// `change-package`
#[derive(Deserialize, Serialize)]
struct NewPackage {
    package_name: String,
}

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let body = reply.body.as_ref();
        let mut detail = body.and_then(|b| str_of(b, "message")).unwrap_or("").to_owned();
        let fields: Vec<String> = body.and_then(|b| b["errors"].as_array()).into_iter().flatten().filter_map(|e| Some(format!("{}: {}", str_of(e, "property")?, str_of(e, "message")?))).collect();
        if !fields.is_empty() {
            detail = format!("{detail} ({})", fields.join("; "));
        }
        if detail.is_empty() {
            detail = format!("HTTP {}", reply.status);
        }
        match reply.status {
            200..=299 => match body {
                Some(b) if b.is_object() || b.is_array() => Ok(b.clone()),
                None if reply.text.trim().is_empty() => Ok(json!({})),
                _ => Err(ProviderFailure::permanent(format!("Plesk answered {what} with a malformed body"))),
            },
            401 | 403 => {
                Err(ProviderFailure::permanent(format!("Plesk refused the API key for {what}: check api_key (a key of the administrator, from this address) and that the REST API is enabled")))
            }
            404 => Err(ProviderFailure::permanent(format!("Plesk has no such resource for {what}: {detail}"))),
            status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("Plesk refused {what}: {detail}").chars().take(500).collect(), debug: vec![] }),
        }
    }
}

/// What the CLI gateway answered: its stdout, or the command's failure.
fn cli_output(utility: &str, answer: &Value) -> Result<String, ProviderFailure> {
    match answer["code"].as_i64() {
        Some(0) => Ok(str_of(answer, "stdout").unwrap_or_default().to_owned()),
        Some(code) => {
            let why = str_of(answer, "stderr").or_else(|| str_of(answer, "stdout")).unwrap_or("no output").trim().to_owned();
            Err(ProviderFailure::permanent(format!("Plesk's {utility} utility failed ({code}): {}", why.chars().take(400).collect::<String>())))
        }
        None => Err(ProviderFailure::permanent(format!("Plesk answered the {utility} utility without an exit code"))),
    }
}

/// The customer and its subscription, as found.
struct Account {
    client: Value,
    subscription: Option<Value>,
}

impl Account {
    fn id(&self) -> i64 {
        self.client["id"].as_i64().unwrap_or_default()
    }

    fn domain(&self) -> Option<&str> {
        self.subscription.as_ref().and_then(|s| str_of(s, "name"))
    }
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let key = self.settings.api_key.clone();
        let body = body.map_or(Body::None, Body::Json);
        self.wire.exchange(Request { what, method, url: &url, body: &body, read }, |r| r.header("X-API-Key", &key).header("Accept", "application/json"), judge(what)).await
    }

    /// A CLI gateway call: the utility's stdout, or its failure. `read`: it changes nothing.
    async fn cli(&mut self, utility: &str, params: &[&str], read: bool) -> Result<String, ProviderFailure> {
        let url = format!("{}/cli/{utility}/call", self.base);
        let key = self.settings.api_key.clone();
        let what = format!("{utility} {}", params.first().unwrap_or(&""));
        let body = Body::Json(json!({ "params": params }));
        let answer = self.wire.exchange(Request { what: &what, method: reqwest::Method::POST, url: &url, body: &body, read }, |r| r.header("X-API-Key", &key), judge(&what)).await?;
        cli_output(utility, &answer)
    }

    /// The customer with this login, and its subscription (its domain of its own).
    async fn find(&mut self, login: &str) -> Result<Option<Account>, ProviderFailure> {
        let clients = self.send("list clients", reqwest::Method::GET, "/clients", None).await?;
        let Some(client) = clients.as_array().into_iter().flatten().find(|c| c["login"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(login))).cloned() else { return Ok(None) };
        let id = client["id"].as_i64().ok_or_else(|| ProviderFailure::permanent("Plesk listed a client without an id"))?;
        let domains = self.send("list client domains", reqwest::Method::GET, &format!("/clients/{id}/domains"), None).await?;
        let subscription = domains.as_array().into_iter().flatten().find(|d| d["base_domain_id"].as_i64().unwrap_or(0) == 0).cloned();
        Ok(Some(Account { client, subscription }))
    }

    async fn account(&mut self, login: &str) -> Result<Account, ProviderFailure> {
        self.find(login).await?.ok_or_else(|| ProviderFailure::permanent(format!("Plesk has no customer {login}")))
    }

    /// The plan a subscription is on, from `subscription --info` (none when it names none).
    async fn plan_of(&mut self, domain: &str) -> Result<Option<String>, ProviderFailure> {
        let info = self.cli("subscription", &["--info", domain], true).await?;
        Ok(info.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("Service plan").then(|| v.trim().trim_matches('"').to_owned()).filter(|v| !v.is_empty())
        }))
    }

    /// get-info: the customer, its subscription, its state and plan.
    async fn info(&mut self, a: &Account) -> Result<Value, ProviderFailure> {
        let mut out = json!({
            "username": str_of(&a.client, "login").unwrap_or_default(),
            "customer_id": a.id().to_string(),
            "server_hostname": self.settings.hostname,
            "reseller": a.client["type"] == "reseller",
            // 16: disabled by the administrator.
            "suspended": a.client["status"].as_i64().unwrap_or(0) != 0,
            "package_name": "none",
        });
        if let Some(s) = &a.subscription {
            let id = s["id"].as_i64().unwrap_or_default();
            out["subscription_id"] = json!(id.to_string());
            if let Some(d) = a.domain() {
                out["domain"] = json!(d);
                if let Some(plan) = self.plan_of(d).await? {
                    out["package_name"] = json!(plan);
                }
            }
            let status = self.send("get domain status", reqwest::Method::GET, &format!("/domains/{id}/status"), None).await?;
            if status["status"] != "active" {
                out["suspended"] = json!(true);
                out["suspend_reason"] = json!(format!("the subscription is {}", str_of(&status, "status").unwrap_or("not active")));
            }
        }
        if let Some(ip) = &self.settings.ip_address {
            out["ip"] = json!(ip);
        }
        Ok(out)
    }
}

/// The login a call acts on (the contract product's service identifier).
fn login_of(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    plesk_login(call.subject().unwrap_or_default())
}

/// A Plesk login: letters, digits and `-_.@`, beginning with a letter or a digit (so the CLI
/// gateway never reads it as an option).
fn plesk_login(l: String) -> Result<String, ProviderFailure> {
    let starts_well = l.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !starts_well || l.len() > 60 || !l.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
        return Err(ProviderFailure::permanent(format!("{l:?} is not a Plesk login")));
    }
    Ok(l)
}

/// A value a CLI gateway call carries as an argument: never one the utility would read as an
/// option of its own.
fn cli_value<'v>(name: &str, v: &'v str) -> Result<&'v str, ProviderFailure> {
    if v.is_empty() || v.starts_with('-') || v.chars().any(char::is_control) {
        return Err(ProviderFailure::permanent(format!("{name} {v:?} cannot be given to Plesk's command line (it is empty, begins with '-' or holds a control character)")));
    }
    Ok(v)
}

/// A password Plesk's length rule (5 to 14) and strength check accept.
fn generated_password() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    let body: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{body}Aa7!")
}

impl Plesk {
    pub fn new() -> Self {
        Plesk
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = match &settings.api_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("https://{}:8443/api/v2", settings.hostname),
        };
        Ok(Api { wire: Wire::new(super::http_client(), "Plesk", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `create-account`: the customer, then its subscription; either found already (a try
    /// after a lost answer) is not made again.
    async fn create_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: CreateAccount) -> Answer {
        let login = plesk_login(call.subject().or(p.username.clone()).ok_or_else(|| ProviderFailure::permanent("no login for the new Plesk customer"))?)?;
        let domain = p.domain.as_deref().map(str::to_lowercase).ok_or_else(|| ProviderFailure::permanent("a Plesk subscription is a domain: give the account's domain"))?;
        let password = p.password.clone().unwrap_or_else(generated_password);
        let mark = mark_of(call.contract_product_id.unwrap_or(&login));
        let found = api.find(&login).await?;
        if let Some(a) = &found {
            // Only the customer an earlier try of this create made (its mark) is carried on
            // with: any other of that login (the administrator, another company's client) is not
            // taken, nor given a subscription.
            if a.client["external_id"].as_str() != Some(mark.as_str()) {
                return Err(ProviderFailure::permanent(format!("Plesk has a customer {login} already: choose another username")));
            }
            if a.domain() == Some(domain.as_str()) {
                let info = api.info(a).await?;
                return Ok((format!("Plesk customer {login} with {domain} was made by an earlier try whose answer was lost: not made again"), info, Some(login)));
            }
        }
        if found.is_none() {
            let mut client = json!({ "name": p.customer_name.as_deref().unwrap_or(&login), "login": login, "password": password, "email": p.email, "type": if p.as_reseller { "reseller" } else { "customer" }, "external_id": mark });
            if let Some(owner) = &api.settings.owner_login {
                client["owner_login"] = json!(owner);
            }
            api.send("create client", reqwest::Method::POST, "/clients", Some(client)).await?;
        }
        let mut subscription = json!({
            "name": domain,
            "hosting_type": "virtual",
            "hosting_settings": { "ftp_login": login, "ftp_password": password },
            "owner_client": { "login": login },
            "plan": { "name": p.package_name },
        });
        if let Some(ip) = p.custom_ip.as_ref().or(api.settings.ip_address.as_ref()) {
            subscription["ip_addresses"] = json!([ip]);
        }
        api.send("create domain", reqwest::Method::POST, "/domains", Some(subscription)).await.map_err(|f| {
            if f.kind == FailureKind::Permanent { ProviderFailure { message: format!("{} (the customer {login} was made; a new try makes its subscription)", f.message), ..f } } else { f }
        })?;
        let account = api.account(&login).await.map_err(super::made_but_unread)?;
        let mut info = api.info(&account).await.map_err(super::made_but_unread)?;
        info["package_name"] = json!(p.package_name);
        Ok((format!("Plesk customer {login} with the subscription {domain} on {}", p.package_name), info, Some(login)))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        Ok((format!("Plesk customer {login}"), api.info(&a).await?, None))
    }

    /// `get-usage-data`: the customer's statistics (bytes, as Plesk counts them).
    async fn get_usage_data(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        let s = api.send("get client statistics", reqwest::Method::GET, &format!("/clients/{}/statistics", a.id()), None).await?;
        let mb = |k: &str| (s[k].as_f64().unwrap_or(0.0) / 1_048_576.0 * 100.0).round() / 100.0;
        let usage = json!({
            "disk_mb": { "used": mb("disk_space") },
            "bandwidth_mb": { "used": mb("traffic") },
            "websites": { "used": s["active_domains"].as_i64().unwrap_or(0) + s["subdomains"].as_i64().unwrap_or(0) },
            "mailboxes": { "used": s["email_postboxes"].as_i64().unwrap_or(0) },
        });
        Ok((format!("usage of Plesk customer {login}"), json!({ "usage_data": usage }), None))
    }

    /// `login-to-control-panel`: a one-time login link of the customer (the CLI's admin
    /// utility), masked in the exchanges recorded.
    async fn login_to_control_panel(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let login = login_of(call)?;
        let url = format!("{}/cli/admin/call", api.base);
        let key = api.settings.api_key.clone();
        let body = Body::Json(json!({ "params": ["--get-login-link", "-user", login] }));
        let mut wire = Wire::new(super::http_client(), "Plesk", LOGIN_SECRETS, CALL_TIMEOUT);
        let answer = wire
            .exchange(Request { what: "admin --get-login-link", method: reqwest::Method::POST, url: &url, body: &body, read: false }, |r| r.header("X-API-Key", &key), judge("admin --get-login-link"))
            .await;
        api.wire.debug.extend(wire.take_debug());
        let out = cli_output("admin", &answer?)?;
        let link =
            out.lines().map(str::trim).find(|l| l.starts_with("https://") || l.starts_with("http://")).ok_or_else(|| ProviderFailure::permanent("Plesk's admin utility answered no login link"))?;
        Ok((format!("a one-time Plesk login link for {login}"), json!({ "login_url": link }), None))
    }

    /// `change-password`: the customer's password (`PUT /clients/{id}`).
    async fn change_password(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: NewPassword) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        api.send("update client", reqwest::Method::PUT, &format!("/clients/{}", a.id()), Some(json!({ "password": p.password }))).await?;
        Ok((format!("Plesk customer {login} has a new password"), json!({}), None))
    }

    /// `change-package`: the subscription switched to another service plan.
    async fn change_package(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: NewPackage) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        let domain = a.domain().ok_or_else(|| ProviderFailure::permanent(format!("Plesk customer {login} has no subscription")))?.to_owned();
        let plan = cli_value("package_name", &p.package_name)?;
        api.cli("subscription", &["--switch-subscription", &domain, "-service-plan", plan], false).await?;
        let mut info = api.info(&a).await.map_err(super::made_but_unread)?;
        info["package_name"] = json!(p.package_name);
        Ok((format!("{domain} is on {}", p.package_name), info, None))
    }

    /// `suspend-account`: the customer suspended (its sites with it).
    async fn suspend_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.switch(api, call, "suspend").await
    }

    /// `unsuspend-account`
    async fn unsuspend_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.switch(api, call, "activate").await
    }

    async fn switch(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, to: &str) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        api.send(&format!("{to} client"), reqwest::Method::PUT, &format!("/clients/{}/{to}", a.id()), None).await?;
        let after = api.account(&login).await.map_err(super::made_but_unread)?;
        let mut info = api.info(&after).await.map_err(super::made_but_unread)?;
        info["suspended"] = json!(to == "suspend");
        Ok((format!("Plesk customer {login}: {to} done"), info, None))
    }

    /// `delete-account`: the subscription, then the customer.
    async fn delete_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let login = login_of(call)?;
        let a = api.account(&login).await?;
        if let Some(id) = a.subscription.as_ref().and_then(|s| s["id"].as_i64()) {
            api.send("delete domain", reqwest::Method::DELETE, &format!("/domains/{id}"), None).await?;
        }
        api.send("delete client", reqwest::Method::DELETE, &format!("/clients/{}", a.id()), None).await?;
        Ok((format!("Plesk customer {login} and its subscription deleted"), json!({}), None))
    }
}

session_of_api!(Plesk);

// make-reseller and revoke-reseller: no documented conversion in the REST API or the CLI gateway.
implements!(WebHosting for Plesk as ID, {
    create_account(CreateAccount),
    get_info,
    get_usage_data,
    login_to_control_panel,
    change_password(NewPassword),
    change_package(NewPackage),
    suspend_account,
    unsuspend_account,
    delete_account,
});

impl Connect for Plesk {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api.send("get server", reqwest::Method::GET, "/server", None).await.map(|s| {
                let version = [str_of(&s, "panel_version"), str_of(&s, "panel_update_version")].into_iter().flatten().collect::<Vec<_>>().join(".");
                (format!("connected to Plesk {version} on {}", str_of(&s, "hostname").unwrap_or("the server")), json!({ "connected": true }), None)
            });
            super::with_debug(result, api.wire.take_debug())
        })
    }

    /// The server's customers and resellers (Plesk lists them all at once).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, _page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let listed = api.send("list clients", reqwest::Method::GET, "/clients", None).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let services = list
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["type"] != "admin")
                .filter_map(|c| {
                    Some(Listed { service_identifier: str_of(c, "login")?.to_owned(), label: str_of(c, "name").map(str::to_owned), suspended: Some(c["status"].as_i64().unwrap_or(0) != 0) })
                })
                .collect();
            Ok(Listing { services, next: None, debug })
        })
    }
}

/// Plesk (web hosting).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // The Plesk server's name (its panel answers at https://HOSTNAME:8443).
        .req("hostname", address(pattern("^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")))
        // A REST API key of the administrator (POST /api/v2/auth/keys, or `plesk bin secret_key --create`).
        .req("api_key", secret())
        // The IP address new subscriptions are on (the server's default when not given).
        .opt("ip_address", ip())
        // The reseller who owns new customers (the administrator when not given).
        .opt("owner_login", string_max(60))
        .opt("api_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "web-hosting",
        name: "Plesk",
        description: "Plesk Obsidian customers and their subscriptions through the REST API v2 and its CLI gateway (an administrator's API key)",
        settings,
        supported_actions: <Plesk as super::blueprints::Implements>::supported("web-hosting"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use wiremock::matchers::{body_json, body_partial_json, header, method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "plesk-key-Sup3rSecret";

    fn ok(body: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(body)
    }

    /// A client as `GET /clients` lists it (the schema's example, values changed).
    fn client(status: i64) -> Value {
        json!({ "id": 7, "created": "2026-11-23", "name": "Jo Doe", "company": "", "login": "shop01", "status": status, "email": "jo@shop.example", "locale": "en-US",
            "guid": "18b78dd1-7ae5-4e40-8e8c-1b6a3c7dc3a1", "description": "", "type": "customer", "external_id": mark_of("cp-1") })
    }

    /// `subscription --info`'s text (a recorded output's shape, values changed).
    const SUBSCRIPTION_INFO: &str = "General\n=============================\nDomain name:                            shop.example\nOwner's contact name:                   Jo Doe (shop01)\nDomain status:                          OK\nService plan:                           Default Domain\n";

    /// A Plesk server with the customer shop01 and its subscription shop.example.
    async fn plesk(status: i64) -> MockServer {
        let p = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/clients"))
            .and(header("x-api-key", KEY))
            .respond_with(ok(json!([{ "id": 1, "login": "admin", "type": "admin", "status": 0 }, client(status)])))
            .mount(&p)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/clients/7/domains"))
            .respond_with(ok(json!([{ "id": 31, "name": "shop.example", "ascii_name": "shop.example", "hosting_type": "virtual", "base_domain_id": 0, "guid": "g-31", "created": "2026-11-23" },
                { "id": 32, "name": "blog.shop.example", "base_domain_id": 31, "hosting_type": "virtual" }])))
            .mount(&p)
            .await;
        Mock::given(method("GET")).and(path("/api/v2/domains/31/status")).respond_with(ok(json!({ "status": if status == 0 { "active" } else { "suspended" } }))).mount(&p).await;
        Mock::given(method("POST"))
            .and(path("/api/v2/cli/subscription/call"))
            .and(body_json(json!({ "params": ["--info", "shop.example"] })))
            .respond_with(ok(json!({ "code": 0, "stdout": SUBSCRIPTION_INFO, "stderr": "" })))
            .mount(&p)
            .await;
        p
    }

    async fn run(p: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("web-hosting", action).unwrap();
        let id = ConfigurationId::parse("cfg-plesk").unwrap();
        let settings = json!({ "hostname": "plesk.example.net", "api_key": KEY, "api_url": format!("{}/api/v2", p.uri()), "ip_address": "192.0.2.10" });
        let call = ProviderCall {
            blueprint: b,
            action: a,
            configuration_id: &id,
            settings: &settings,
            params: &params,
            service_identifier: Some("shop01"),
            following: None,
            contract_product_id: Some("cp-1"),
        };
        let out = super::super::blueprints::Implementation::WebHosting(std::sync::Arc::new(Plesk::new())).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(KEY) && !debug.contains("Shop-pw-Secret1") && !debug.contains("login?secret="), "{debug}");
        out
    }

    fn on() -> Value {
        json!({ "username": "shop01" })
    }

    #[tokio::test]
    async fn a_customer_and_its_subscription_are_made_with_the_documented_bodies() {
        let p = MockServer::start().await;
        Mock::given(method("GET")).and(path("/api/v2/clients")).respond_with(ok(json!([]))).up_to_n_times(1).with_priority(1).mount(&p).await;
        Mock::given(method("POST"))
            .and(path("/api/v2/clients"))
            .and(body_json(json!({ "name": "Jo Doe", "login": "shop01", "password": "Shop-pw-Secret1", "email": "jo@shop.example", "type": "customer", "external_id": mark_of("cp-1") })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 7, "guid": "18b78dd1-7ae5-4e40-8e8c-1b6a3c7dc3a1" })))
            .expect(1)
            .mount(&p)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v2/domains"))
            .and(body_json(json!({ "name": "shop.example", "hosting_type": "virtual", "hosting_settings": { "ftp_login": "shop01", "ftp_password": "Shop-pw-Secret1" },
                "owner_client": { "login": "shop01" }, "plan": { "name": "Default Domain" }, "ip_addresses": ["192.0.2.10"] })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 31, "guid": "g-31" })))
            .expect(1)
            .mount(&p)
            .await;
        Mock::given(method("GET")).and(path("/api/v2/clients")).respond_with(ok(json!([client(0)]))).mount(&p).await;
        Mock::given(method("GET")).and(path("/api/v2/clients/7/domains")).respond_with(ok(json!([{ "id": 31, "name": "shop.example", "base_domain_id": 0 }]))).mount(&p).await;
        Mock::given(method("GET")).and(path("/api/v2/domains/31/status")).respond_with(ok(json!({ "status": "active" }))).mount(&p).await;
        Mock::given(method("POST")).and(path("/api/v2/cli/subscription/call")).respond_with(ok(json!({ "code": 0, "stdout": "Service plan:   Default Domain\n", "stderr": "" }))).mount(&p).await;
        let create = json!({ "username": "shop01", "email": "jo@shop.example", "customer_name": "Jo Doe", "password": "Shop-pw-Secret1", "domain": "shop.example", "package_name": "Default Domain" });
        let made = run(&p, "create-account", create.clone()).await.unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some("shop01"));
        assert_eq!((made.data["domain"].as_str(), made.data["package_name"].as_str(), made.data["customer_id"].as_str()), (Some("shop.example"), Some("Default Domain"), Some("7")));
        // Again, as after a lost answer: both are found, nothing is made.
        let again = run(&p, "create-account", create.clone()).await.unwrap();
        assert!(again.message.contains("not made again"), "{}", again.message);
        // A customer of that login this create did not make (the administrator, another
        // company's client, even of the same e-mail): neither taken nor given a subscription.
        for found in [json!({ "id": 1, "login": "shop01", "email": "jo@shop.example", "type": "admin", "status": 0 }), {
            let mut c = client(0);
            c["external_id"] = json!("link:12345");
            c
        }] {
            let p = MockServer::start().await;
            Mock::given(method("GET")).and(path("/api/v2/clients")).respond_with(ok(json!([found]))).mount(&p).await;
            Mock::given(method("GET")).and(path_regex("^/api/v2/clients/[0-9]+/domains$")).respond_with(ok(json!([]))).mount(&p).await;
            Mock::given(method("POST")).respond_with(ResponseTemplate::new(201)).expect(0).mount(&p).await;
            let f = run(&p, "create-account", create.clone()).await.unwrap_err();
            assert!(f.kind == FailureKind::Permanent && f.message.contains("choose another username"), "{}", f.message);
        }
        // Nor is a login or a plan the command line would read as an option of its own.
        let f = run(&p, "create-account", json!({ "username": "-admin", "email": "jo@shop.example", "domain": "shop.example", "package_name": "Default Domain" })).await.unwrap_err();
        assert!(f.message.contains("is not a Plesk login"), "{}", f.message);
        let f = run(&p, "change-package", json!({ "username": "shop01", "package_name": "-remove-subscription" })).await.unwrap_err();
        assert!(f.message.contains("begins with '-'"), "{}", f.message);
    }

    #[tokio::test]
    async fn info_usage_login_password_plan_suspension_and_deletion_use_plesks_calls() {
        let p = plesk(0).await;
        let info = run(&p, "get-info", on()).await.unwrap();
        assert_eq!((info.data["package_name"].as_str(), info.data["suspended"].as_bool(), info.data["domain"].as_str()), (Some("Default Domain"), Some(false), Some("shop.example")));
        Mock::given(method("GET"))
            .and(path("/api/v2/clients/7/statistics"))
            .respond_with(ok(json!({ "active_domains": 1, "subdomains": 1, "disk_space": 765952, "email_postboxes": 3, "email_redirects": 0, "email_response_messages": 0, "mailing_lists": 0, "databases": 1, "traffic": 2097152, "traffic_prevday": 0 })))
            .mount(&p)
            .await;
        let usage = run(&p, "get-usage-data", on()).await.unwrap();
        assert_eq!(usage.data["usage_data"], json!({ "disk_mb": { "used": 0.73 }, "bandwidth_mb": { "used": 2.0 }, "websites": { "used": 2 }, "mailboxes": { "used": 3 } }));
        Mock::given(method("POST"))
            .and(path("/api/v2/cli/admin/call"))
            .and(body_json(json!({ "params": ["--get-login-link", "-user", "shop01"] })))
            .respond_with(ok(json!({ "code": 0, "stdout": "https://plesk.example.net:8443/login?secret=Abc123\n", "stderr": "" })))
            .mount(&p)
            .await;
        let login = run(&p, "login-to-control-panel", json!({ "username": "shop01", "user_ip": "198.51.100.4" })).await.unwrap();
        assert_eq!(login.data["login_url"], "https://plesk.example.net:8443/login?secret=Abc123");
        Mock::given(method("PUT")).and(path("/api/v2/clients/7")).and(body_json(json!({ "password": "Shop-pw-Secret1" }))).respond_with(ok(json!({ "id": 7, "guid": "g" }))).expect(1).mount(&p).await;
        run(&p, "change-password", json!({ "username": "shop01", "password": "Shop-pw-Secret1" })).await.unwrap();
        Mock::given(method("POST"))
            .and(path("/api/v2/cli/subscription/call"))
            .and(body_json(json!({ "params": ["--switch-subscription", "shop.example", "-service-plan", "Unlimited"] })))
            .respond_with(ok(json!({ "code": 0, "stdout": "SUCCESS: Subscription switched", "stderr": "" })))
            .expect(1)
            .mount(&p)
            .await;
        let changed = run(&p, "change-package", json!({ "username": "shop01", "package_name": "Unlimited" })).await.unwrap();
        assert_eq!(changed.data["package_name"], "Unlimited");
        for to in ["suspend", "activate"] {
            Mock::given(method("PUT")).and(path(format!("/api/v2/clients/7/{to}"))).respond_with(ok(json!({ "status": "success" }))).expect(1).mount(&p).await;
        }
        assert_eq!(run(&p, "suspend-account", on()).await.unwrap().data["suspended"], true);
        assert_eq!(run(&p, "unsuspend-account", on()).await.unwrap().data["suspended"], false);
        Mock::given(method("DELETE")).and(path("/api/v2/domains/31")).respond_with(ok(json!({ "id": 31, "guid": "g-31" }))).expect(1).mount(&p).await;
        Mock::given(method("DELETE")).and(path("/api/v2/clients/7")).respond_with(ok(json!({ "id": 7, "guid": "g" }))).expect(1).mount(&p).await;
        run(&p, "delete-account", on()).await.unwrap();
        let f = run(&p, "make-reseller", on()).await.unwrap_err();
        assert_eq!(f.message, "web-hosting/make-reseller is not supported by plesk");
    }

    #[tokio::test]
    async fn refused_keys_missing_customers_failed_commands_outages_and_bad_bodies_are_clear_failures() {
        let p = MockServer::start().await;
        Mock::given(path("/api/v2/clients")).respond_with(ResponseTemplate::new(401).set_body_json(json!({ "code": 1, "message": "Incorrect login" }))).mount(&p).await;
        let f = run(&p, "get-info", on()).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("api_key"), "{}", f.message);
        let p = MockServer::start().await;
        Mock::given(path("/api/v2/clients")).respond_with(ok(json!([]))).mount(&p).await;
        assert_eq!(run(&p, "get-info", on()).await.unwrap_err().message, "Plesk has no customer shop01");
        let p = plesk(0).await;
        Mock::given(method("POST"))
            .and(path("/api/v2/cli/subscription/call"))
            .and(body_partial_json(json!({ "params": ["--switch-subscription"] })))
            .respond_with(ok(json!({ "code": 1, "stdout": "", "stderr": "Unable to find service plan: Gold" })))
            .mount(&p)
            .await;
        let f = run(&p, "change-package", json!({ "username": "shop01", "package_name": "Gold" })).await.unwrap_err();
        assert_eq!(f.message, "Plesk's subscription utility failed (1): Unable to find service plan: Gold");
        Mock::given(method("PUT")).and(path("/api/v2/clients/7/suspend")).respond_with(ResponseTemplate::new(503)).mount(&p).await;
        let f = run(&p, "suspend-account", on()).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert_eq!(f.debug.iter().filter(|e| e["request"]["method"] == "PUT").count(), 1, "a write is tried once");
        let p = MockServer::start().await;
        Mock::given(path("/api/v2/clients")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&p).await;
        assert!(run(&p, "get-info", on()).await.unwrap_err().message.contains("malformed"));
        let p = MockServer::start().await;
        Mock::given(path("/api/v2/clients")).respond_with(ResponseTemplate::new(502)).mount(&p).await;
        let f = run(&p, "get-info", on()).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
    }

    #[tokio::test]
    async fn the_connection_check_reads_the_server_and_the_customers_are_listed() {
        let p = plesk(16).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/server"))
            .respond_with(ok(json!({ "platform": "Unix", "hostname": "plesk.example.net", "guid": "g", "panel_version": "18.0.61", "panel_revision": "r", "panel_build_date": "2024-05-20", "panel_update_version": "5", "extension_version": "1.1.0", "extension_release": "10" })))
            .mount(&p)
            .await;
        let settings = json!({ "hostname": "plesk.example.net", "api_key": KEY, "api_url": format!("{}/api/v2", p.uri()) });
        let out = Plesk::new().test_connection("web-hosting", &settings).await.unwrap();
        assert_eq!(out.message, "connected to Plesk 18.0.61.5 on plesk.example.net");
        let listed = Plesk::new().list_services("web-hosting", &ConfigurationId::parse("cfg-plesk").unwrap(), &settings, None).await.unwrap();
        assert_eq!(listed.services, [Listed { service_identifier: "shop01".into(), label: Some("Jo Doe".into()), suspended: Some(true) }]);
        let info = run(&p, "get-info", on()).await.unwrap();
        assert_eq!((info.data["suspended"].as_bool(), info.data["suspend_reason"].as_str()), (Some(true), Some("the subscription is suspended")));
    }
}
