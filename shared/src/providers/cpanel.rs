//! The `cpanel` provider (web hosting): WHM API 1 over HTTPS.
//!
//! Every call is `GET https://<hostname>:2087/json-api/<function>?api.version=1&...` with
//! `Authorization: whm <whm_username>:<api_key>`; every answer is `{"data": ..., "metadata":
//! {"result": 1|0, "reason": ...}}` (result 0: refused, `reason` says why, after an
//! `(XID ...)` prefix that is dropped). Sources: api.docs.cpanel.net/openapi/whm/operation/*,
//! docs/providers-wave1-research.md.
//!
//! Reads are retried once after a transient failure; writes never. A create or suspend that
//! times out is checked with get-info (accountsummary) by the engine before it is tried again.

use crate::catalogue::schema::{address, domain, one_of, params, pattern, secret};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::blueprints::{Answer, Session, implements};
use super::params::{ResellerOptions, non_empty, or_default, settings_as};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;
use crate::domain::time::framework_datetime;

/// One WHM call may take this long (under the engine's 25 s deadline).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The functions the API token must be allowed to call (the connection check).
const NEEDED: [&str; 10] = ["createacct", "setupreseller", "unsetupreseller", "accountsummary", "changepackage", "create_user_session", "suspendacct", "unsuspendacct", "passwd", "removeacct"];

pub struct Cpanel;

impl Default for Cpanel {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    hostname: String,
    whm_username: String,
    api_key: String,
    #[serde(default, deserialize_with = "non_empty")]
    sso_destination: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
}

/// A session of calls for one action: where, as whom, and the exchanges for the log's debug.
pub struct Whm<'a> {
    client: &'a reqwest::Client,
    settings: Settings,
    base: String,
    auth: String,
    debug: Vec<Value>,
}

/// `create-account`, as createacct takes it (the username comes from [`account`]).
#[derive(Deserialize, Serialize)]
struct CreateAccount {
    email: String,
    package_name: String,
    #[serde(default, deserialize_with = "non_empty")]
    domain: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    password: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    custom_ip: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    owner_username: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    owns_itself: bool,
    #[serde(default, deserialize_with = "or_default")]
    as_reseller: bool,
    #[serde(default)]
    reseller_options: Option<ResellerOptions>,
}

/// `login-to-control-panel`: cPanel's or, for a reseller, WHM's; or a Softaculous installation.
#[derive(Deserialize, Serialize)]
struct Login {
    #[serde(default, deserialize_with = "or_default")]
    is_reseller: bool,
    #[serde(default, deserialize_with = "non_empty")]
    user_ip: Option<String>,
    #[serde(default)]
    software: Option<Software>,
}

#[derive(Deserialize, Serialize)]
struct Software {
    #[serde(default, deserialize_with = "non_empty")]
    install_id: Option<String>,
}

/// `make-reseller`.
#[derive(Deserialize, Serialize)]
struct MakeReseller {
    #[serde(default, deserialize_with = "or_default")]
    owns_itself: bool,
}

/// `change-password`.
#[derive(Deserialize, Serialize)]
struct NewPassword {
    password: String,
}

/// `change-package`: the package and, where given, whether the account is a reseller.
#[derive(Deserialize, Serialize)]
struct ChangePackage {
    package_name: String,
    #[serde(default)]
    as_reseller: Option<bool>,
    #[serde(default, deserialize_with = "or_default")]
    owns_itself: bool,
    #[serde(default)]
    reseller_options: Option<ResellerOptions>,
}

/// `suspend-account`.
#[derive(Deserialize, Serialize)]
struct Suspension {
    #[serde(default, deserialize_with = "non_empty")]
    reason: Option<String>,
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

use super::str_of;

/// WHM's reason without its `(XID abc123)` prefix.
fn reason(metadata: &Value) -> String {
    let raw = metadata["reason"].as_str().unwrap_or("no reason given");
    let raw = raw.strip_prefix("API failure: ").unwrap_or(raw);
    let raw = match raw.strip_prefix("(XID ") {
        Some(rest) => rest.split_once(") ").map_or(rest, |(_, r)| r),
        None => raw,
    };
    raw.chars().take(500).collect()
}

impl Whm<'_> {
    /// One WHM API 1 function; its `data` on success.
    async fn call(&mut self, function: &str, params: &[(&str, String)], read: bool) -> Result<Value, ProviderFailure> {
        let url = format!("{}/json-api/{function}", self.base);
        let mut query: Vec<(&str, String)> = vec![("api.version", "1".into())];
        query.extend(params.iter().cloned());
        let shown: Map<String, Value> = params.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        super::check_destination(&url)?;
        let attempts = if read { 2 } else { 1 };
        let mut failure = ProviderFailure::permanent(format!("{function} was not sent"));
        for attempt in 1..=attempts {
            let request = json!({ "method": "GET", "url": url, "query": shown });
            let target =
                reqwest::Url::parse_with_params(&url, query.iter().map(|(k, v)| (*k, v.as_str()))).map_err(|_| ProviderFailure::permanent(format!("the WHM address {} is not a URL", self.base)))?;
            let sent = self.client.get(target).header("authorization", &self.auth).timeout(CALL_TIMEOUT).send().await;
            failure = match sent {
                Err(e) if e.is_timeout() => {
                    self.debug.push(json!({ "request": request, "response": null, "error": "timeout" }));
                    ProviderFailure { kind: FailureKind::Timeout, message: format!("WHM did not answer {function} in time"), debug: vec![] }
                }
                Err(e) => {
                    self.debug.push(json!({ "request": request, "response": null, "error": if e.is_connect() { "could not connect" } else { "connection failed" } }));
                    ProviderFailure { kind: FailureKind::Transient, message: format!("could not reach WHM for {function}"), debug: vec![] }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await;
                    let body = text.as_ref().ok().and_then(|t| serde_json::from_str::<Value>(t).ok());
                    self.debug.push(json!({ "request": request, "response": { "status": status, "body": body.clone().unwrap_or(Value::Null) } }));
                    match (status, body) {
                        // A write that reached WHM and whose outcome is unknown (its answer broke
                        // off, or a proxy gave up waiting: 502, 504, Cloudflare's 524): checked
                        // with get-info by the engine before it is sent again.
                        (200..=299, None) | (502 | 504 | 524, _) if !read && (text.is_err() || status >= 500) => {
                            ProviderFailure { kind: FailureKind::Timeout, message: format!("WHM's answer to {function} was lost (HTTP {status})"), debug: vec![] }
                        }
                        (401 | 403, _) => ProviderFailure::permanent("WHM refused the credentials: check whm_username and api_key"),
                        (408 | 429 | 500..=599, _) => ProviderFailure { kind: FailureKind::Transient, message: format!("WHM answered {function} with HTTP {status}"), debug: vec![] },
                        (200..=299, Some(b)) if b["metadata"]["result"] == 1 => return Ok(b["data"].clone()),
                        (200..=299, Some(b)) if b["metadata"]["result"] == 0 => ProviderFailure::permanent(format!("WHM refused {function}: {}", reason(&b["metadata"]))),
                        (200..=299, _) => ProviderFailure::permanent(format!("WHM answered {function} with a malformed body")),
                        _ => ProviderFailure::permanent(format!("WHM answered {function} with HTTP {status}")),
                    }
                }
            };
            if failure.kind != FailureKind::Transient || attempt == attempts {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(failure)
    }

    /// The package as WHM knows it: the name given or, for a reseller's own packages, the
    /// `<owner>_<name>` WHM stores them under.
    async fn package(&mut self, name: &str, owner: &str) -> Result<String, ProviderFailure> {
        match self.call("getpkginfo", &[("pkg", name.to_owned())], true).await {
            Ok(_) => Ok(name.to_owned()),
            Err(f) if f.kind == FailureKind::Permanent && f.message.starts_with("WHM refused") => {
                let prefixed = format!("{owner}_{name}");
                match self.call("getpkginfo", &[("pkg", prefixed.clone())], true).await {
                    Ok(_) => Ok(prefixed),
                    Err(g) if g.kind == FailureKind::Permanent && g.message.starts_with("WHM refused") => Err(ProviderFailure::permanent(format!("WHM has no package {name} (nor {prefixed})"))),
                    Err(g) => Err(g),
                }
            }
            Err(f) => Err(f),
        }
    }

    async fn is_reseller(&mut self, username: &str) -> Result<bool, ProviderFailure> {
        let resellers = self.call("listresellers", &[], true).await?;
        Ok(resellers["reseller"].as_array().is_some_and(|r| r.iter().any(|x| x.as_str() == Some(username))))
    }

    /// A reseller's ACL list and limits (the framework's reseller_options), where given.
    async fn reseller_options(&mut self, username: &str, o: &ResellerOptions) -> Result<(), ProviderFailure> {
        if let Some(acl) = &o.acl_name {
            self.call("setacls", &[("reseller", username.to_owned()), ("acllist", acl.clone())], false).await?;
        }
        let mut limits = vec![("user", username.to_owned())];
        if let Some(n) = o.account_limit {
            limits.extend([("enable_account_limit", "1".to_owned()), ("account_limit", n.to_string())]);
        }
        let (disk, bandwidth) = (o.diskspace_mb_limit, o.bandwidth_mb_limit);
        if disk.is_some() || bandwidth.is_some() {
            limits.push(("enable_resource_limits", "1".to_owned()));
            limits.extend(disk.map(|d| ("diskspace_limit", d.to_string())));
            limits.extend(bandwidth.map(|b| ("bandwidth_limit", b.to_string())));
        }
        let (disk_over, bw_over) = (o.diskspace_overselling == Some(true), o.bandwidth_overselling == Some(true));
        if o.diskspace_overselling.is_some() || o.bandwidth_overselling.is_some() {
            limits.extend([("enable_overselling", flag(disk_over || bw_over)), ("enable_overselling_diskspace", flag(disk_over)), ("enable_overselling_bandwidth", flag(bw_over))]);
        }
        if limits.len() > 1 {
            self.call("setresellerlimits", &limits, false).await?;
        }
        Ok(())
    }

    /// The account as get-info reports it (accountsummary, and whether it is a reseller).
    /// A reseller's usage across the accounts it owns: disk and bandwidth from resellerstats
    /// (megabytes; a limit of 0 is unlimited), the number of accounts from acctcounts (a null
    /// limit is unlimited).
    async fn reseller_usage(&mut self, username: &str) -> Result<Value, ProviderFailure> {
        let stats = self.call("resellerstats", &[("user", username.to_owned())], true).await?;
        let stats = &stats["reseller"];
        let counts = self.call("acctcounts", &[("user", username.to_owned())], true).await?;
        let counts = &counts["reseller"];
        let mut usage = json!({});
        if let Some(used) = megabytes(&stats["diskused"]) {
            usage["disk_mb"] = units(used, megabytes(&stats["diskquota"]));
        }
        if let Some(used) = megabytes(&stats["totalbwused"]) {
            usage["bandwidth_mb"] = units(used, megabytes(&stats["bandwidthlimit"]));
        }
        if let Some(accounts) = counts["active"].as_f64() {
            usage["sub_accounts"] = units(accounts, counts["limit"].as_f64());
        }
        Ok(usage)
    }

    async fn account(&mut self, username: &str, hostname: &str) -> Result<Value, ProviderFailure> {
        let data = self.call("accountsummary", &[("user", username.to_owned())], true).await?;
        let acct = data["acct"].get(0).cloned().ok_or_else(|| ProviderFailure::permanent(format!("WHM has no account {username}")))?;
        let reseller = self.is_reseller(username).await?;
        let suspended = acct["suspended"] == 1 || acct["suspended"] == true;
        let mut info = json!({
            "username": str_of(&acct, "user").unwrap_or(username),
            "server_hostname": hostname,
            "package_name": str_of(&acct, "plan").unwrap_or("default"),
            "suspended": suspended,
            "reseller": reseller,
        });
        if let Some(d) = str_of(&acct, "domain") {
            info["domain"] = json!(d);
        }
        if let Some(ip) = str_of(&acct, "ip") {
            info["ip"] = json!(ip);
        }
        if let Some(r) = str_of(&acct, "suspendreason").filter(|r| suspended && *r != "not suspended") {
            info["suspend_reason"] = json!(r);
        }
        Ok(info)
    }
}

/// "14M" / "unlimited" → megabytes (None: unlimited or unknown).
fn megabytes(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim_end_matches('M').parse().ok(),
        _ => None,
    }
}

fn units(used: f64, limit: Option<f64>) -> Value {
    let mut u = json!({ "used": (used * 100.0).round() / 100.0 });
    if let Some(l) = limit.filter(|l| *l > 0.0) {
        u["limit"] = json!(l);
        u["used_pc"] = json!(format!("{:.2}%", used / l * 100.0));
    }
    u
}

/// A username made from the domain, as cPanel wants one: lowercase letters and digits, a letter
/// first, at most 8 characters (the engine usually gives one: the same on every try).
fn username_for(params: &Value) -> String {
    let base: String = str_of(params, "domain").unwrap_or("user").trim_start_matches("www.").chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    let base = base.trim_start_matches(|c: char| c.is_ascii_digit());
    let base = if base.is_empty() { "user" } else { base };
    base.chars().take(8).collect()
}

impl Cpanel {
    pub fn new() -> Self {
        Cpanel
    }

    fn session<'a>(&'a self, settings: &Value) -> Result<Whm<'a>, ProviderFailure> {
        let settings: Settings = settings_as("cpanel", settings)?;
        let base = settings.api_url.as_deref().map_or_else(|| format!("https://{}:2087", settings.hostname), |u| u.trim_end_matches('/').to_owned());
        let auth = format!("whm {}:{}", settings.whm_username, settings.api_key);
        Ok(Whm { client: super::http_client(), settings, base, auth, debug: Vec::new() })
    }

    /// `create-account`
    async fn create_account(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: CreateAccount) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        whm.call("verify_new_username", &[("user", user.clone())], true).await?;
        let whm_user = whm.settings.whm_username.clone();
        let owner = if p.owns_itself { user.clone() } else { p.owner_username.clone().unwrap_or_else(|| whm_user.clone()) };
        let plan = whm.package(&p.package_name, &whm_user).await?;
        let mut params = vec![
            ("username", user.clone()),
            ("domain", p.domain.as_deref().unwrap_or_default().trim_start_matches("www.").to_owned()),
            ("plan", plan),
            ("contactemail", p.email.clone()),
            ("owner", owner),
            ("reseller", flag(p.as_reseller)),
        ];
        params.extend(p.password.map(|pw| ("password", pw)));
        params.extend(p.custom_ip.map(|ip| ("customip", ip)));
        whm.call("createacct", &params, false).await?;
        if p.as_reseller
            && let Some(options) = &p.reseller_options
            && let Err(f) = whm.reseller_options(&user, options).await
        {
            // A reseller without its limits is not what was sold: the account goes again.
            let removed = whm.call("removeacct", &[("username", user.clone())], false).await.is_ok();
            let outcome = if removed { "the new account was removed again" } else { "removing the new account failed too: remove it by hand" };
            return Err(ProviderFailure { kind: FailureKind::Permanent, message: format!("{} ({outcome})", f.message), debug: vec![] });
        }
        let info = whm.account(&user, &hostname).await.map_err(super::made_but_unread)?;
        Ok((format!("account {user} created on {hostname}"), info, Some(user)))
    }

    /// `get-info`
    async fn get_info(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        Ok((format!("account {user}"), whm.account(&user, &hostname).await?, None))
    }

    /// `get-usage-data`
    async fn get_usage_data(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>) -> Answer {
        let user = account(call)?;
        let summary = whm.call("accountsummary", &[("user", user.clone())], true).await?;
        let acct = summary["acct"].get(0).cloned().ok_or_else(|| ProviderFailure::permanent(format!("WHM has no account {user}")))?;
        let bw = whm.call("showbw", &[("searchtype", "user".into()), ("search", format!("^{user}$"))], true).await?;
        let bw = bw["acct"].get(0).cloned().unwrap_or(Value::Null);
        let mb = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).map(|b| b / 1_048_576.0);
        let mut usage = json!({ "disk_mb": units(megabytes(&acct["diskused"]).unwrap_or(0.0), megabytes(&acct["disklimit"])) });
        if let Some(used) = mb(&bw["totalbytes"]) {
            usage["bandwidth_mb"] = units(used, mb(&bw["limit"]));
        }
        if let Some(used) = acct["inodesused"].as_f64() {
            usage["inodes"] = units(used, acct["inodeslimit"].as_f64());
        }
        let mut data = json!({ "usage_data": usage });
        if whm.is_reseller(&user).await? {
            data["reseller_usage_data"] = whm.reseller_usage(&user).await?;
        }
        Ok((format!("usage of {user}"), data, None))
    }

    /// `login-to-control-panel`
    async fn login_to_control_panel(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: Login) -> Answer {
        let user = account(call)?;
        let service = if p.is_reseller { "whostmgrd" } else { "cpaneld" };
        let mut params = vec![("user", user.clone()), ("service", service.to_owned())];
        // Softaculous's auto sign-on to an installation's admin, when one is named and
        // the configuration sends logins there.
        let to_software = whm.settings.sso_destination.as_deref().is_some_and(|d| d != "control_panel");
        let install = p.software.and_then(|s| s.install_id).filter(|_| service == "cpaneld" && to_software);
        if let Some(insid) = install {
            let autoid = crate::domain::ids::random_hex();
            params.push(("goto_uri", format!("frontend/jupiter/softaculous/index.live.php?act=sign_on&insid={insid}&autoid={autoid}")));
        }
        let data = whm.call("create_user_session", &params, false).await?;
        let url = str_of(&data, "url").ok_or_else(|| ProviderFailure::permanent("WHM answered create_user_session without a URL"))?;
        let mut out = json!({ "login_url": url, "for_ip": p.user_ip });
        if let Some(expires) = data["expires"].as_i64() {
            out["expires"] = json!(framework_datetime(expires * 1000));
        }
        Ok((format!("login link for {user}"), out, None))
    }

    /// `make-reseller`
    async fn make_reseller(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: MakeReseller) -> Answer {
        let user = account(call)?;
        whm.call("setupreseller", &[("user", user.clone()), ("makeowner", flag(p.owns_itself))], false).await?;
        Ok((format!("{user} is a reseller"), json!({ "reseller": true }), None))
    }

    /// `revoke-reseller`
    async fn revoke_reseller(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>) -> Answer {
        let user = account(call)?;
        whm.call("unsetupreseller", &[("user", user.clone())], false).await?;
        Ok((format!("{user} is no longer a reseller"), json!({ "reseller": false }), None))
    }

    /// `change-password`
    async fn change_password(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: NewPassword) -> Answer {
        let user = account(call)?;
        if user == "root" {
            return Err(ProviderFailure::permanent("the root password is not changed through a hosting account"));
        }
        whm.call("passwd", &[("user", user.clone()), ("password", p.password)], false).await?;
        Ok((format!("password of {user} changed"), json!({}), None))
    }

    /// `change-package`
    async fn change_package(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: ChangePackage) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        let reseller = whm.is_reseller(&user).await?;
        match p.as_reseller {
            Some(true) => {
                if !reseller {
                    whm.call("setupreseller", &[("user", user.clone()), ("makeowner", flag(p.owns_itself))], false).await?;
                }
                if let Some(options) = &p.reseller_options {
                    whm.reseller_options(&user, options).await?;
                }
            }
            Some(false) if reseller => {
                whm.call("unsetupreseller", &[("user", user.clone())], false).await?;
            }
            _ => {}
        }
        let whm_user = whm.settings.whm_username.clone();
        let plan = whm.package(&p.package_name, &whm_user).await?;
        whm.call("changepackage", &[("user", user.clone()), ("pkg", plan.clone())], false).await?;
        Ok((format!("{user} moved to {plan}"), whm.account(&user, &hostname).await?, None))
    }

    /// `suspend-account`
    async fn suspend_account(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>, p: Suspension) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        let reason = p.reason;
        // A reseller is suspended with every account it owns.
        let function = if whm.is_reseller(&user).await? { "suspendreseller" } else { "suspendacct" };
        let mut params = vec![("user", user.clone())];
        params.extend(reason.map(|r| ("reason", r)));
        whm.call(function, &params, false).await?;
        Ok((format!("{user} suspended"), whm.account(&user, &hostname).await?, None))
    }

    /// `unsuspend-account`
    async fn unsuspend_account(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        let function = if whm.is_reseller(&user).await? { "unsuspendreseller" } else { "unsuspendacct" };
        whm.call(function, &[("user", user.clone())], false).await?;
        Ok((format!("{user} unsuspended"), whm.account(&user, &hostname).await?, None))
    }

    /// `delete-account`
    async fn delete_account(&self, whm: &mut Whm<'_>, call: &ProviderCall<'_>) -> Answer {
        let user = account(call)?;
        let hostname = whm.settings.hostname.clone();
        // A reseller is terminated with every account it owns.
        if whm.is_reseller(&user).await? {
            whm.call("terminatereseller", &[("user", user.clone()), ("terminatereseller", "1".into())], false).await?;
        } else {
            whm.call("removeacct", &[("username", user.clone())], false).await?;
        }
        Ok((format!("{user} removed from {hostname}"), json!({}), None))
    }
}

/// The account a call acts on: the contract product's, or the one a create names (made up from
/// the domain when none is given).
fn account(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    match call.subject() {
        Some(user) => Ok(user),
        None if call.action.establishes_identifier() => Ok(username_for(call.params)),
        None => Err(ProviderFailure::permanent("the hosting account has no username yet: run create-account first")),
    }
}

impl Session for Cpanel {
    type Cx<'s> = Whm<'s>;

    fn open<'s>(&'s self, call: &ProviderCall<'_>) -> BoxFuture<'s, Result<Whm<'s>, ProviderFailure>> {
        let cx = self.session(call.settings);
        Box::pin(async move { cx })
    }

    fn debug(whm: Whm<'_>) -> Vec<Value> {
        whm.debug
    }
}

// Each action is the method of its name above, on a WHM session.
implements!(WebHosting for Cpanel as "cpanel", {
    create_account(CreateAccount),
    get_info,
    get_usage_data,
    login_to_control_panel(Login),
    make_reseller(MakeReseller),
    revoke_reseller,
    change_password(NewPassword),
    change_package(ChangePackage),
    suspend_account(Suspension),
    unsuspend_account,
    delete_account,
});

impl Connect for Cpanel {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut whm = self.session(settings)?;
            let apps = whm.call("applist", &[], true).await;
            let debug = std::mem::take(&mut whm.debug);
            let apps = apps.map_err(super::failed_after(&debug))?;
            let allowed: Vec<&str> = apps["app"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let missing: Vec<&str> = NEEDED.iter().copied().filter(|f| !allowed.contains(f)).collect();
            if !missing.is_empty() {
                return Err(ProviderFailure { kind: FailureKind::Permanent, message: format!("the API token may not call: {}", missing.join(", ")), debug });
            }
            Ok(ProviderOutput { message: format!("connected to WHM at {}", whm.settings.hostname), data: json!({ "connected": true }), service_identifier: None, debug })
        })
    }

    /// The server's accounts, 100 a page (listaccts with WHM API 1's `api.chunk.*` pagination;
    /// `page` is the first record, 1-indexed).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let start: u64 = page.map(|p| p.parse().ok().filter(|n| *n > 0).ok_or_else(|| ProviderFailure::permanent(format!("{p:?} is not a page of WHM's account list")))).transpose()?.unwrap_or(1);
            let mut whm = self.session(settings)?;
            let chunk = [("api.chunk.enable", "1".to_owned()), ("api.chunk.size", LIST_PAGE.to_string()), ("api.chunk.start", start.to_string())];
            let listed = whm.call("listaccts", &chunk, true).await;
            let debug = std::mem::take(&mut whm.debug);
            let data = listed.map_err(super::failed_after(&debug))?;
            let accounts = data["acct"].as_array().cloned().unwrap_or_default();
            let services = accounts
                .iter()
                .filter_map(|a| {
                    let user = str_of(a, "user")?;
                    Some(Listed { service_identifier: user.to_owned(), label: str_of(a, "domain").map(str::to_owned), suspended: Some(a["suspended"] == 1 || a["suspended"] == true) })
                })
                .collect();
            let next = (accounts.len() as u64 >= LIST_PAGE).then(|| (start + LIST_PAGE).to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// How many accounts a page of listaccts holds.
const LIST_PAGE: u64 = 100;

/// cPanel/WHM (web hosting), settings named as the reference framework names them.
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("hostname", address(domain()))
        .req("whm_username", pattern("^[A-Za-z0-9_-]{1,64}$"))
        .req("api_key", secret())
        // Where a login with a Softaculous installation named lands: its admin (auto sign-on) or
        // cPanel itself.
        .opt("sso_destination", one_of(&["control_panel", "softaculous_sso", "auto"]))
        // Where WHM answers, when not https://<hostname>:2087 (a proxy; a local double in tests).
        .opt("api_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: "cpanel",
        blueprint: "web-hosting",
        name: "cPanel & WHM",
        description: "Hosting accounts on a cPanel & WHM server through WHM API 1 (an API token of root or a reseller)",
        settings,
        supported_actions: <Cpanel as super::blueprints::Implements>::supported("web-hosting"),
        wire_secrets: &["password"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn ok(data: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "data": data, "metadata": { "result": 1, "reason": "OK", "version": 1 } }))
    }

    fn refused(reason: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "metadata": { "result": 0, "reason": reason, "version": 1 } }))
    }

    async fn whm() -> MockServer {
        let server = MockServer::start().await;
        let summary = json!({ "acct": [{ "user": "alice1", "domain": "alice.example", "plan": "basic", "suspended": 0, "suspendreason": "not suspended", "ip": "192.0.2.7", "diskused": "14M", "disklimit": "1024M", "inodesused": 120, "inodeslimit": 5000 }] });
        Mock::given(path("/json-api/accountsummary")).and(query_param("user", "alice1")).respond_with(ok(summary)).mount(&server).await;
        Mock::given(path("/json-api/listresellers")).respond_with(ok(json!({ "reseller": ["bob"] }))).mount(&server).await;
        Mock::given(path("/json-api/getpkginfo")).and(query_param("pkg", "basic")).respond_with(ok(json!({ "pkg": { "name": "basic" } }))).mount(&server).await;
        Mock::given(path("/json-api/getpkginfo")).and(query_param("pkg", "gold")).respond_with(ok(json!({ "pkg": { "name": "gold" } }))).mount(&server).await;
        server
    }

    async fn run(server: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("web-hosting", action).unwrap();
        let id = ConfigurationId::parse("cfg-whm").unwrap();
        let settings = json!({ "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": "TOKEN-secret-1", "api_url": server.uri() });
        // As the engine does: the account acted on is the contract product's (here, the params').
        let si = params["username"].as_str().unwrap_or("alice1").to_owned();
        let out = super::super::blueprints::Implementation::WebHosting(std::sync::Arc::new(Cpanel::new())).run(ProviderCall::for_service(b, a, &id, &settings, &params, Some(&si))).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        out
    }

    /// The server's accounts are listed a page at a time with WHM API 1's chunking: a full page
    /// says where the next starts, a short one ends the list.
    #[tokio::test]
    async fn the_accounts_are_listed_a_chunk_at_a_time() {
        let server = MockServer::start().await;
        let full: Vec<Value> = (1..=100).map(|i| json!({ "user": format!("user{i}"), "domain": format!("d{i}.example"), "suspended": i64::from(i == 2) })).collect();
        Mock::given(path("/json-api/listaccts"))
            .and(query_param("api.version", "1"))
            .and(query_param("api.chunk.enable", "1"))
            .and(query_param("api.chunk.size", "100"))
            .and(query_param("api.chunk.start", "1"))
            .and(header("authorization", "whm reseller1:TOKEN-secret-1"))
            .respond_with(ok(json!({ "acct": full })))
            .mount(&server)
            .await;
        Mock::given(path("/json-api/listaccts"))
            .and(query_param("api.chunk.start", "101"))
            .respond_with(ok(json!({ "acct": [{ "user": "last1", "domain": "last.example", "suspended": 0 }] })))
            .mount(&server)
            .await;
        let settings = json!({ "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": "TOKEN-secret-1", "api_url": server.uri() });
        let id = ConfigurationId::parse("cfg-whm").unwrap();
        let first = Cpanel::new().list_services("web-hosting", &id, &settings, None).await.unwrap();
        assert_eq!(first.services.len(), 100);
        assert_eq!(first.services[1], crate::providers::Listed { service_identifier: "user2".into(), label: Some("d2.example".into()), suspended: Some(true) });
        assert_eq!(first.next.as_deref(), Some("101"));
        assert!(!serde_json::to_string(&first.debug).unwrap().contains("TOKEN-secret-1") || first.debug.iter().all(|d| d["request"].get("headers").is_none()), "no credential in the exchanges");
        let last = Cpanel::new().list_services("web-hosting", &id, &settings, first.next.as_deref()).await.unwrap();
        assert_eq!((last.services.len(), last.next), (1, None));
        assert!(Cpanel::new().list_services("web-hosting", &id, &settings, Some("x")).await.is_err());
    }

    #[tokio::test]
    async fn create_checks_the_name_then_creates_and_reads_the_account_back() {
        let server = whm().await;
        Mock::given(method("GET"))
            .and(path("/json-api/verify_new_username"))
            .and(query_param("api.version", "1"))
            .and(header("authorization", "whm reseller1:TOKEN-secret-1"))
            .respond_with(ok(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/json-api/createacct"))
            .and(query_param("username", "alice1"))
            .and(query_param("domain", "alice.example"))
            .and(query_param("plan", "basic"))
            .and(query_param("contactemail", "a@alice.example"))
            .and(query_param("owner", "reseller1"))
            .respond_with(ok(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        let out = run(&server, "create-account", json!({ "username": "alice1", "domain": "www.alice.example", "email": "a@alice.example", "package_name": "basic", "password": "Pw-alice-1!" }))
            .await
            .unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("alice1"));
        assert_eq!(out.data["server_hostname"], "whm.example.net");
        assert_eq!(out.data["suspended"], false);
        assert_eq!(out.data["reseller"], false);
        assert!(!serde_json::to_string(&out.debug).unwrap().contains("TOKEN-secret-1"), "the token is never in debug");
    }

    #[tokio::test]
    async fn every_other_action_maps_to_its_whm_function() {
        let server = whm().await;
        for f in ["setupreseller", "unsetupreseller", "passwd", "changepackage", "suspendacct", "unsuspendacct", "removeacct"] {
            Mock::given(path(format!("/json-api/{f}"))).respond_with(ok(json!({}))).expect(1).mount(&server).await;
        }
        Mock::given(path("/json-api/create_user_session"))
            .and(query_param("service", "cpaneld"))
            .respond_with(ok(json!({ "url": "https://whm.example.net:2083/cpsess123/login/?session=x", "expires": 1_790_000_000 })))
            .mount(&server)
            .await;
        Mock::given(path("/json-api/showbw")).and(query_param("search", "^alice1$")).respond_with(ok(json!({ "acct": [{ "totalbytes": 10_485_760, "limit": 104_857_600 }] }))).mount(&server).await;
        let u = json!({ "username": "alice1" });
        assert_eq!(run(&server, "get-info", u.clone()).await.unwrap().data["package_name"], "basic");
        let usage = run(&server, "get-usage-data", u.clone()).await.unwrap().data;
        assert_eq!(usage["usage_data"]["disk_mb"], json!({ "used": 14.0, "limit": 1024.0, "used_pc": "1.37%" }));
        assert_eq!(usage["usage_data"]["bandwidth_mb"]["used"], 10.0);
        let login = run(&server, "login-to-control-panel", json!({ "username": "alice1", "user_ip": "198.51.100.4" })).await.unwrap().data;
        assert!(login["login_url"].as_str().unwrap().contains("cpsess"));
        assert_eq!(run(&server, "make-reseller", u.clone()).await.unwrap().data, json!({ "reseller": true }));
        assert_eq!(run(&server, "revoke-reseller", u.clone()).await.unwrap().data, json!({ "reseller": false }));
        run(&server, "change-password", json!({ "username": "alice1", "password": "New-pw-2!" })).await.unwrap();
        run(&server, "change-package", json!({ "username": "alice1", "package_name": "gold" })).await.unwrap();
        run(&server, "suspend-account", json!({ "username": "alice1", "reason": "overdue" })).await.unwrap();
        run(&server, "unsuspend-account", u.clone()).await.unwrap();
        run(&server, "delete-account", u).await.unwrap();
    }

    #[tokio::test]
    async fn refusals_auth_failures_outages_and_bad_bodies_are_clear_failures() {
        let server = whm().await;
        Mock::given(path("/json-api/suspendacct")).respond_with(refused("(XID 9gk2s) The account “alice1” is already suspended.")).mount(&server).await;
        let f = run(&server, "suspend-account", json!({ "username": "alice1" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent);
        assert_eq!(f.message, "WHM refused suspendacct: The account “alice1” is already suspended.");
        assert_eq!(f.debug.len(), 2, "listresellers (is it a reseller?), then suspendacct");

        let server = MockServer::start().await;
        Mock::given(path("/json-api/accountsummary")).respond_with(ResponseTemplate::new(403)).mount(&server).await;
        let f = run(&server, "get-info", json!({ "username": "alice1" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent);
        assert!(f.message.contains("credentials"), "{}", f.message);

        let server = MockServer::start().await;
        Mock::given(path("/json-api/accountsummary")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        Mock::given(path("/json-api/removeacct")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        Mock::given(path("/json-api/listresellers")).respond_with(ok(json!({ "reseller": [] }))).mount(&server).await;
        assert_eq!(run(&server, "get-info", json!({ "username": "alice1" })).await.unwrap_err().kind, FailureKind::Transient);
        assert_eq!(run(&server, "delete-account", json!({ "username": "alice1" })).await.unwrap_err().kind, FailureKind::Transient);
        let sent = server.received_requests().await.unwrap();
        assert_eq!(sent.iter().filter(|r| r.url.path().ends_with("accountsummary")).count(), 2, "a read is tried twice");
        assert_eq!(sent.iter().filter(|r| r.url.path().ends_with("removeacct")).count(), 1, "a write once");

        let server = MockServer::start().await;
        Mock::given(path("/json-api/accountsummary")).respond_with(ResponseTemplate::new(200).set_body_string("<html>cPanel</html>")).mount(&server).await;
        assert!(run(&server, "get-info", json!({ "username": "alice1" })).await.unwrap_err().message.contains("malformed"));
    }

    #[tokio::test]
    async fn a_resellers_usage_adds_its_accounts_disk_and_bandwidth_and_an_accounts_does_not() {
        let server = MockServer::start().await;
        let summary = json!({ "acct": [{ "user": "bob", "diskused": "300M", "disklimit": "unlimited" }] });
        Mock::given(path("/json-api/accountsummary")).and(query_param("user", "bob")).respond_with(ok(summary)).mount(&server).await;
        Mock::given(path("/json-api/showbw")).respond_with(ok(json!({ "acct": [] }))).mount(&server).await;
        Mock::given(path("/json-api/listresellers")).respond_with(ok(json!({ "reseller": ["bob"] }))).mount(&server).await;
        // As WHM documents them: megabytes as strings or numbers, 0 for an unlimited limit.
        let stats = json!({ "reseller": { "user": "bob", "diskused": 5.69, "diskquota": 0, "totalbwused": "512.5", "bandwidthlimit": "2048", "totaldiskalloc": "1100", "acct": [] } });
        Mock::given(path("/json-api/resellerstats")).and(query_param("user", "bob")).respond_with(ok(stats)).expect(1).mount(&server).await;
        let counts = json!({ "reseller": { "user": "bob", "active": 9, "suspended": 5, "limit": 25 } });
        Mock::given(path("/json-api/acctcounts")).and(query_param("user", "bob")).respond_with(ok(counts)).expect(1).mount(&server).await;
        let data = run(&server, "get-usage-data", json!({ "username": "bob" })).await.unwrap().data;
        assert_eq!(data["usage_data"]["disk_mb"], json!({ "used": 300.0 }));
        let r = &data["reseller_usage_data"];
        assert_eq!(r["disk_mb"], json!({ "used": 5.69 }), "no limit: unlimited");
        assert_eq!(r["bandwidth_mb"], json!({ "used": 512.5, "limit": 2048.0, "used_pc": "25.02%" }));
        assert_eq!(r["sub_accounts"], json!({ "used": 9.0, "limit": 25.0, "used_pc": "36.00%" }));

        // An account that is not a reseller has no reseller usage, and no reseller calls.
        let server = whm().await;
        Mock::given(path("/json-api/showbw")).respond_with(ok(json!({ "acct": [] }))).mount(&server).await;
        let plain = run(&server, "get-usage-data", json!({ "username": "alice1" })).await.unwrap().data;
        assert!(plain.get("reseller_usage_data").is_none(), "{plain}");
    }

    #[tokio::test]
    async fn reseller_packages_limits_and_reseller_wide_moves_and_softaculous_sign_on() {
        let server = MockServer::start().await;
        let summary = json!({ "acct": [{ "user": "alice1", "domain": "alice.example", "plan": "reseller1_starter", "suspended": 0, "suspendreason": "not suspended" }] });
        Mock::given(path("/json-api/accountsummary")).respond_with(ok(summary)).mount(&server).await;
        Mock::given(path("/json-api/listresellers")).respond_with(ok(json!({ "reseller": ["alice1"] }))).mount(&server).await;
        Mock::given(path("/json-api/verify_new_username")).respond_with(ok(json!({}))).mount(&server).await;
        Mock::given(path("/json-api/getpkginfo")).and(query_param("pkg", "starter")).respond_with(refused("The package “starter” does not exist.")).mount(&server).await;
        Mock::given(path("/json-api/getpkginfo")).and(query_param("pkg", "reseller1_starter")).respond_with(ok(json!({}))).mount(&server).await;
        Mock::given(path("/json-api/createacct")).and(query_param("plan", "reseller1_starter")).and(query_param("reseller", "1")).respond_with(ok(json!({}))).expect(2).mount(&server).await;
        Mock::given(path("/json-api/setacls")).and(query_param("reseller", "alice1")).and(query_param("acllist", "standard")).respond_with(ok(json!({}))).expect(2).mount(&server).await;
        Mock::given(path("/json-api/setresellerlimits"))
            .and(query_param("account_limit", "10"))
            .and(query_param("enable_resource_limits", "1"))
            .and(query_param("diskspace_limit", "5000"))
            .and(query_param("enable_overselling_diskspace", "1"))
            .respond_with(ok(json!({})))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/json-api/setresellerlimits")).respond_with(refused("Invalid limits")).mount(&server).await;
        Mock::given(path("/json-api/removeacct")).respond_with(ok(json!({}))).expect(1).mount(&server).await;
        let create = json!({ "username": "alice1", "domain": "alice.example", "email": "a@alice.example", "package_name": "starter", "as_reseller": true,
            "reseller_options": { "acl_name": "standard", "account_limit": 10, "diskspace_mb_limit": 5000, "diskspace_overselling": true } });
        let out = run(&server, "create-account", create.clone()).await.unwrap();
        assert_eq!((out.data["package_name"].as_str(), out.data["reseller"].as_bool()), (Some("reseller1_starter"), Some(true)));
        // Limits refused: the new account is removed again, and the failure says so.
        let f = run(&server, "create-account", create).await.unwrap_err();
        assert_eq!(f.message, "WHM refused setresellerlimits: Invalid limits (the new account was removed again)");

        for function in ["suspendreseller", "unsuspendreseller", "terminatereseller"] {
            Mock::given(path(format!("/json-api/{function}"))).and(query_param("user", "alice1")).respond_with(ok(json!({}))).expect(1).mount(&server).await;
        }
        run(&server, "suspend-account", json!({ "username": "alice1", "reason": "overdue" })).await.unwrap();
        run(&server, "unsuspend-account", json!({ "username": "alice1" })).await.unwrap();
        run(&server, "delete-account", json!({ "username": "alice1" })).await.unwrap();

        Mock::given(path("/json-api/create_user_session"))
            .and(wiremock::matchers::query_param_contains("goto_uri", "softaculous/index.live.php?act=sign_on&insid=26_1&autoid="))
            .respond_with(ok(json!({ "url": "https://whm.example.net:2083/cpsess1/login/?session=x&goto_uri=soft" })))
            .expect(1)
            .mount(&server)
            .await;
        let (b, a) = catalogue().action("web-hosting", "login-to-control-panel").unwrap();
        let id = ConfigurationId::parse("cfg-whm").unwrap();
        let settings = json!({ "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": "TOKEN-secret-1", "api_url": server.uri(), "sso_destination": "softaculous_sso" });
        let params = json!({ "username": "alice1", "user_ip": "198.51.100.4", "software": { "software_id": "26", "install_id": "26_1" } });
        super::super::blueprints::Implementation::WebHosting(std::sync::Arc::new(Cpanel::new())).run(ProviderCall::for_service(b, a, &id, &settings, &params, Some("alice1"))).await.unwrap();
    }

    #[tokio::test]
    async fn the_connection_check_lists_the_functions_the_token_may_not_call() {
        let server = MockServer::start().await;
        Mock::given(path("/json-api/applist")).respond_with(ok(json!({ "app": ["accountsummary", "createacct"] }))).mount(&server).await;
        let settings = json!({ "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": "TOKEN-secret-1", "api_url": server.uri() });
        let f = Cpanel::new().test_connection("web-hosting", &settings).await.unwrap_err();
        assert!(f.message.contains("removeacct"), "{}", f.message);
        assert_eq!(username_for(&json!({ "domain": "www.9lives-shop.example" })), "livessho");
    }
}
