//! The `duda` provider (website builders): Duda's Partner API, as developer.duda.co documents
//! it (and Duda's own SDK, DudaDev/partner-api, names its paths; recorded examples beside the
//! tests). `https://api.duda.co/api`, HTTP Basic with the partner's API user and password, a
//! `User-Agent` on every call; writes answer 204 or a small JSON body; errors are
//! `{"error_code", "message"}` (a missing resource: 404, or 400 `ResourceNotExist`).
//!
//! A service is one Duda client account (`account_name`, the service identifier: made from the
//! contract product, so a create whose answer was lost finds it) with its site (created from the
//! configuration's template, its `external_uid` the account's name, so it is found by
//! `GET /sites/multiscreen/byexternalid/`). Create: the site, the account, the account's access to
//! the site (the configured permissions), and the site's plan (the package: a Duda plan id or
//! name; Duda sells plans on its Custom plan only). Manage website answers Duda's SSO link to the
//! editor (valid two minutes). Duda has no suspension of an account: suspend unpublishes the site
//! (a published one) and removes the account's access; unsuspend gives the access back and
//! publishes again a site that had been published. Delete removes the sites, then the account.

use crate::catalogue::schema::{address, array, integer, params, pattern, secret, string_max};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{non_empty, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;

pub const ID: &str = "duda";
pub const DEFAULT_API_URL: &str = "https://api.duda.co/api";
/// The partner password and the links that sign a person in (the welcome and reset links):
/// the exchanges never show them.
pub const WIRE_SECRETS: &[&str] = &["password", "reset_url", "welcome_url"];
/// The same and the SSO answer's `url` (its `dm_sso` token), masked in that exchange.
const SSO_SECRETS: &[&str] = &["password", "reset_url", "welcome_url", "url"];
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Duda's `User-Agent` requirement.
const USER_AGENT: &str = "provisioning-engine (duda provider)";
/// What a client may do on its site unless the configuration says otherwise.
const DEFAULT_PERMISSIONS: &[&str] = &["EDIT", "PUBLISH", "REPUBLISH", "STATS_TAB", "SEO", "CUSTOM_DOMAIN", "BLOG", "E_COMMERCE", "BACKUPS"];

pub struct Duda;

impl Default for Duda {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    api_user: String,
    api_password: String,
    template_id: i64,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `create-account`
#[derive(Deserialize, Serialize)]
struct CreateAccount {
    customer_id: String,
    customer_name: String,
    customer_email: String,
    #[serde(default, deserialize_with = "non_empty")]
    domain_name: Option<String>,
    package_reference: String,
    #[serde(default, deserialize_with = "non_empty")]
    language_code: Option<String>,
}

/// `change-package` (and the package an unsuspension is given with).
#[derive(Deserialize, Serialize)]
struct Package {
    package_reference: String,
}

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let code = reply.body.as_ref().and_then(|b| str_of(b, "error_code")).unwrap_or("");
        let message = reply.body.as_ref().and_then(|b| str_of(b, "message")).unwrap_or("");
        let detail = if message.is_empty() { format!("HTTP {}", reply.status) } else { format!("{message} ({code})") };
        match reply.status {
            200..=299 => match &reply.body {
                Some(b) if b.is_object() || b.is_array() => Ok(b.clone()),
                None if reply.text.trim().is_empty() => Ok(json!({})),
                _ => Err(ProviderFailure::permanent(format!("Duda answered {what} with a malformed body"))),
            },
            401 | 403 => Err(ProviderFailure::permanent(format!("Duda refused the API credentials for {what}: check api_user and api_password (API access from Duda's dashboard)"))),
            404 => Err(ProviderFailure::permanent(format!("Duda has no such resource for {what}: {detail}"))),
            400 if code == "ResourceNotExist" => Err(ProviderFailure::permanent(format!("Duda has no such resource for {what}: {detail}"))),
            429 => Err(ProviderFailure { kind: FailureKind::Transient, message: format!("Duda's rate limit was reached on {what}: try later"), debug: vec![] }),
            status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("Duda refused {what}: {detail}").chars().take(500).collect(), debug: vec![] }),
        }
    }
}

/// Whether a failure says the resource is not there.
fn missing(f: &ProviderFailure) -> bool {
    f.kind == FailureKind::Permanent && f.message.starts_with("Duda has no such resource")
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}{path}", self.base);
        let (user, password) = (self.settings.api_user.clone(), self.settings.api_password.clone());
        let body = body.map_or(Body::None, Body::Json);
        self.wire
            .exchange(
                Request { what, method, url: &url, body: &body, read },
                |r| r.basic_auth(&user, Some(&password)).header("User-Agent", USER_AGENT).header("Accept", "application/json"),
                judge(what),
            )
            .await
    }

    async fn get(&mut self, what: &str, path: &str) -> Result<Option<Value>, ProviderFailure> {
        match self.send(what, reqwest::Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(f) if missing(&f) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// The account's sites (by their external id, the account's name: found even while the
    /// account has no access to them).
    async fn sites(&mut self, account: &str) -> Result<Vec<String>, ProviderFailure> {
        let found = self.get("get sites by external id", &format!("/sites/multiscreen/byexternalid/{account}")).await?;
        Ok(found.and_then(|f| f.as_array().cloned()).unwrap_or_default().iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }

    /// A plan's id from the package: a number as it is, a name looked up in the partner's plans.
    async fn plan_id(&mut self, package: &str) -> Result<i64, ProviderFailure> {
        if let Ok(id) = package.parse::<i64>() {
            return Ok(id);
        }
        let plans = self.send("list plans", reqwest::Method::GET, "/sites/multiscreen/plans", None).await?;
        plans
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["planName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(package)))
            .and_then(|p| p["planId"].as_i64())
            .ok_or_else(|| ProviderFailure::permanent(format!("Duda has no plan {package:?} for this partner account (a plan id or name of GET /sites/multiscreen/plans)")))
    }

    async fn grant(&mut self, account: &str, site: &str) -> Result<(), ProviderFailure> {
        let permissions: Vec<String> = self.settings.permissions.clone().unwrap_or_else(|| DEFAULT_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect());
        self.send("grant site access", reqwest::Method::POST, &format!("/accounts/{account}/sites/{site}/permissions"), Some(json!({ "permissions": permissions }))).await?;
        Ok(())
    }

    /// get-info: the account, its sites, the first site's state and plan.
    async fn info(&mut self, account: &str) -> Result<Value, ProviderFailure> {
        self.get("get account", &format!("/accounts/{account}")).await?.ok_or_else(|| ProviderFailure::permanent(format!("Duda has no account {account}")))?;
        let sites = self.sites(account).await?;
        let access = self.send("list client sites", reqwest::Method::GET, &format!("/accounts/grant-access/{account}/sites/multiscreen"), None).await?;
        let with_access = access.as_array().map_or(0, Vec::len);
        let mut out = json!({ "account_reference": account, "site_count": sites.len(), "package_reference": "none", "suspended": !sites.is_empty() && with_access == 0 });
        if let Some(site) = sites.first() {
            let s = self.send("get site", reqwest::Method::GET, &format!("/sites/multiscreen/{site}"), None).await?;
            out["site_builder_user_id"] = json!(site);
            out["is_published"] = json!(s["publish_status"] == "PUBLISHED");
            out["has_ssl"] = json!(s["certificate_status"] == "COMPLETE" || s["certification_status"] == "COMPLETE");
            if let Some(d) = str_of(&s, "site_domain").or_else(|| str_of(&s, "site_default_domain")).filter(|d| d.contains('.')) {
                out["domain_name"] = json!(d.to_lowercase());
            }
            out["extra"] = json!({ "publish_status": s["publish_status"], "editor_site_url": s["editor_site_url"], "preview_site_url": s["preview_site_url"] });
            if let Some(plan) = self.get("get site plan", &format!("/sites/multiscreen/{site}/plan")).await? {
                out["package_reference"] = json!(plan["planId"].as_i64().map(|i| i.to_string()).or_else(|| str_of(&plan, "planName").map(str::to_owned)).unwrap_or_else(|| "none".into()));
            }
        }
        Ok(out)
    }
}

/// The account a call acts on (the contract product's service identifier).
fn account_of(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    let a = call.subject().unwrap_or_default();
    if a.is_empty() || a.len() > 45 || !a.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
        return Err(ProviderFailure::permanent(format!("{a:?} is not a Duda account name")));
    }
    Ok(a)
}

/// The account name of a new service: made from its contract product (the same on every try).
fn account_name(contract_product_id: Option<&str>, customer_id: &str) -> String {
    let source = contract_product_id.unwrap_or(customer_id);
    format!("cp-{}", super::digest_hex(source, 10))
}

/// A step of a create after its site was made failed: Duda's own refusal (a bad e-mail, a plan
/// it does not have) stays what it is, so the product fails with the reason, and says that the
/// next try carries on from the site (found by its external uid); anything else leaves the
/// outcome unknown, for the engine to ask about.
fn site_made(f: ProviderFailure, site: &str) -> ProviderFailure {
    if f.kind == FailureKind::Permanent { ProviderFailure { message: format!("{} (the site {site} was made; a new try carries on from it)", f.message), ..f } } else { super::made_but_unread(f) }
}

impl Duda {
    pub fn new() -> Self {
        Duda
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = settings.api_url.as_deref().unwrap_or(DEFAULT_API_URL).trim_end_matches('/').to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "Duda", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `create-account`: each step looked for first, so a try after a lost answer completes
    /// what the first began instead of making a second site or account.
    async fn create_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: CreateAccount) -> Answer {
        let account = account_name(call.contract_product_id, &p.customer_id);
        let plan = api.plan_id(&p.package_reference).await?;
        let site = match api.sites(&account).await?.into_iter().next() {
            Some(site) => site,
            None => {
                let mut site_data = json!({ "external_uid": account });
                if let Some(d) = &p.domain_name {
                    site_data["site_domain"] = json!(d.to_lowercase());
                }
                let mut body = json!({ "template_id": api.settings.template_id, "site_data": site_data });
                if let Some(l) = &p.language_code {
                    body["lang"] = json!(l.replace('-', "_").to_lowercase());
                }
                let made = api.send("create site", reqwest::Method::POST, "/sites/multiscreen/create", Some(body)).await?;
                str_of(&made, "site_name").map(str::to_owned).ok_or_else(|| ProviderFailure {
                    kind: FailureKind::Timeout,
                    message: "Duda answered create site without a site name".into(),
                    debug: vec![],
                })?
            }
        };
        if api.get("get account", &format!("/accounts/{account}")).await?.is_none() {
            let (first, last) = p.customer_name.rsplit_once(' ').unwrap_or((&p.customer_name, ""));
            let mut body = json!({ "account_name": account, "first_name": first, "email": p.customer_email, "account_type": "CUSTOMER" });
            if !last.is_empty() {
                body["last_name"] = json!(last);
            }
            if let Some(l) = &p.language_code {
                body["lang"] = json!(l.replace('-', "_").to_lowercase());
            }
            api.send("create account", reqwest::Method::POST, "/accounts/create", Some(body)).await.map_err(|f| site_made(f, &site))?;
        }
        api.grant(&account, &site).await.map_err(|f| site_made(f, &site))?;
        api.send("update site plan", reqwest::Method::POST, &format!("/sites/multiscreen/{site}/plan/{plan}"), None).await.map_err(|f| site_made(f, &site))?;
        let mut info = api.info(&account).await.map_err(super::made_but_unread)?;
        info["package_reference"] = json!(plan.to_string());
        Ok((format!("Duda account {account} with site {site} on plan {plan}"), info, Some(account)))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let account = account_of(call)?;
        Ok((format!("Duda account {account}"), api.info(&account).await?, None))
    }

    /// `manage-website`: Duda's SSO link to the editor of the account's site (two minutes).
    async fn manage_website(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let account = account_of(call)?;
        let site = api.sites(&account).await?.into_iter().next();
        let query = site.as_ref().map(|s| format!("?site_name={s}&target=EDITOR")).unwrap_or_default();
        let before = api.wire.masking(SSO_SECRETS);
        let link = api.send("get SSO link", reqwest::Method::GET, &format!("/accounts/sso/{account}/link{query}"), None).await;
        api.wire.masking(before);
        let link = link?;
        let url = str_of(&link, "url").ok_or_else(|| ProviderFailure::permanent("Duda answered the SSO link call without a URL"))?;
        Ok((format!("a Duda editor link for {account}, valid two minutes"), json!({ "login_url": url }), None))
    }

    /// `change-package`: every site of the account on the new plan.
    async fn change_package(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Package) -> Answer {
        let account = account_of(call)?;
        let plan = api.plan_id(&p.package_reference).await?;
        for site in api.sites(&account).await? {
            api.send("update site plan", reqwest::Method::POST, &format!("/sites/multiscreen/{site}/plan/{plan}"), None).await?;
        }
        let info = api.info(&account).await.map_err(super::made_but_unread)?;
        Ok((format!("Duda account {account} is on plan {plan}"), info, None))
    }

    /// `suspend-account`: the published sites taken down, the account's access removed.
    async fn suspend_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let account = account_of(call)?;
        for site in api.sites(&account).await? {
            let s = api.send("get site", reqwest::Method::GET, &format!("/sites/multiscreen/{site}"), None).await?;
            if s["publish_status"] == "PUBLISHED" {
                api.send("unpublish site", reqwest::Method::POST, &format!("/sites/multiscreen/unpublish/{site}"), None).await?;
            }
            match api.send("remove site access", reqwest::Method::DELETE, &format!("/accounts/{account}/sites/{site}/permissions"), None).await {
                Err(f) if !missing(&f) => return Err(f),
                _ => {}
            }
        }
        let mut info = api.info(&account).await.map_err(super::made_but_unread)?;
        info["suspended"] = json!(true);
        Ok((format!("Duda account {account} suspended: its sites are offline and closed to it"), info, None))
    }

    /// `unsuspend-account`: the access given back; a site that had been published is
    /// published again (Duda bills it again from then).
    async fn unsuspend_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let account = account_of(call)?;
        for site in api.sites(&account).await? {
            api.grant(&account, &site).await?;
            let s = api.send("get site", reqwest::Method::GET, &format!("/sites/multiscreen/{site}"), None).await?;
            if s["publish_status"] == "UNPUBLISHED" && str_of(&s, "first_published_date").is_some() {
                api.send("publish site", reqwest::Method::POST, &format!("/sites/multiscreen/publish/{site}"), None).await?;
            }
        }
        let mut info = api.info(&account).await.map_err(super::made_but_unread)?;
        info["suspended"] = json!(false);
        Ok((format!("Duda account {account} active again"), info, None))
    }

    /// `delete-account`: the sites deleted (Duda cancels their subscriptions), then the account.
    async fn delete_account(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let account = account_of(call)?;
        for site in api.sites(&account).await? {
            api.send("delete site", reqwest::Method::DELETE, &format!("/sites/multiscreen/{site}"), None).await?;
        }
        match api.send("delete account", reqwest::Method::DELETE, &format!("/accounts/{account}"), None).await {
            Err(f) if !missing(&f) => return Err(f),
            _ => {}
        }
        Ok((format!("Duda account {account} and its sites deleted"), json!({}), None))
    }
}

session_of_api!(Duda);

implements!(WebsiteBuilders for Duda as ID, {
    create_account(CreateAccount),
    get_info,
    manage_website,
    change_package(Package),
    suspend_account,
    unsuspend_account,
    delete_account,
});

impl Connect for Duda {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api
                .send("list permissions", reqwest::Method::GET, "/accounts/permissions/multiscreen", None)
                .await
                .map(|_| ("connected to Duda's Partner API".to_owned(), json!({ "connected": true }), None));
            super::with_debug(result, api.wire.take_debug())
        })
    }
}

/// Duda (website builders).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("api_user", string_max(255))
        .req("api_password", secret())
        // The template new sites are made from (GET /sites/multiscreen/templates).
        .req("template_id", integer())
        // What a client may do on its site (Duda's permission names); a sensible editing set
        // when not given.
        .opt("permissions", array(pattern("^[A-Z_]{2,40}$")))
        .opt("api_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "website-builders",
        name: "Duda",
        description: "Duda website builder client accounts and their sites through the Partner API (API user and password; plans on Duda's Custom plan)",
        settings,
        supported_actions: <Duda as super::blueprints::Implements>::supported("website-builders"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PASSWORD: &str = "duda-pw-Sup3rSecret";

    fn account_name_of(cp: &str) -> String {
        account_name(Some(cp), "c-1")
    }

    /// A site as Get Site answers it (the docs' example, shortened).
    fn site(status: &str) -> Value {
        json!({ "site_name": "6c56394c", "external_uid": account_name_of("cp-1"), "site_domain": "shop.example", "site_default_domain": "shop.multiscreensite.com", "publish_status": status,
            "first_published_date": if status == "NOT_PUBLISHED_YET" { Value::Null } else { json!("2016-04-03T04:36:54") }, "certificate_status": "COMPLETE",
            "editor_site_url": "https://editor.example/6c56394c", "preview_site_url": "http://preview.example/6c56394c" })
    }

    /// A Duda partner account holding one client (with its site) and its plans.
    async fn duda(status: &str) -> MockServer {
        let d = MockServer::start().await;
        let name = account_name_of("cp-1");
        Mock::given(method("GET")).and(path(format!("/api/sites/multiscreen/byexternalid/{name}"))).respond_with(ResponseTemplate::new(200).set_body_json(json!(["6c56394c"]))).mount(&d).await;
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/{name}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "account_name": name, "first_name": "Jo", "email": "jo@shop.example", "account_type": "CUSTOMER" })))
            .mount(&d)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/grant-access/{name}/sites/multiscreen")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "site_name": "6c56394c" }])))
            .mount(&d)
            .await;
        Mock::given(method("GET")).and(path("/api/sites/multiscreen/6c56394c")).respond_with(ResponseTemplate::new(200).set_body_json(site(status))).mount(&d).await;
        Mock::given(method("GET"))
            .and(path("/api/sites/multiscreen/6c56394c/plan"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "planName": "BUSINESS", "planId": 203 })))
            .mount(&d)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/sites/multiscreen/plans"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "planId": 201, "planName": "BASIC" }, { "planId": 203, "planName": "BUSINESS" }])))
            .mount(&d)
            .await;
        d
    }

    async fn run(d: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("website-builders", action).unwrap();
        let id = ConfigurationId::parse("cfg-duda").unwrap();
        let settings = json!({ "api_user": "partner1", "api_password": PASSWORD, "template_id": 1027437, "api_url": format!("{}/api", d.uri()), "permissions": ["EDIT", "PUBLISH"] });
        let name = account_name_of("cp-1");
        let si = (action != "create-account").then_some(name.as_str());
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: si, following: None, contract_product_id: Some("cp-1") };
        let out = super::super::blueprints::Implementation::WebsiteBuilders(std::sync::Arc::new(Duda::new())).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        for r in d.received_requests().await.unwrap() {
            assert!(r.headers.get("user-agent").is_some() && r.headers.get("authorization").is_some_and(|h| h.to_str().unwrap().starts_with("Basic ")), "Basic auth and a User-Agent on every call");
        }
        out
    }

    fn on() -> Value {
        json!({ "account_reference": account_name_of("cp-1") })
    }

    #[tokio::test]
    async fn an_account_is_made_with_its_site_access_and_plan_and_a_lost_create_completes_instead_of_repeating() {
        let d = MockServer::start().await;
        let name = account_name_of("cp-1");
        Mock::given(method("GET"))
            .and(path(format!("/api/sites/multiscreen/byexternalid/{name}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&d)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/{name}")))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error_code": "ResourceNotExist", "message": format!("Account with name '{name}' doesn't exist") })))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&d)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/sites/multiscreen/create"))
            .and(body_json(json!({ "template_id": 1027437, "lang": "en_gb", "site_data": { "external_uid": name, "site_domain": "shop.example" } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "site_name": "6c56394c" })))
            .expect(1)
            .mount(&d)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/accounts/create"))
            .and(body_json(json!({ "account_name": name, "first_name": "Jo", "last_name": "Doe", "email": "jo@shop.example", "account_type": "CUSTOMER", "lang": "en_gb" })))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&d)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/api/accounts/{name}/sites/6c56394c/permissions")))
            .and(body_json(json!({ "permissions": ["EDIT", "PUBLISH"] })))
            .respond_with(ResponseTemplate::new(204))
            .expect(2)
            .mount(&d)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/sites/multiscreen/6c56394c/plan/203"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "planName": "BUSINESS", "planId": 203 })))
            .expect(2)
            .mount(&d)
            .await;
        // Once made, the reads find the site and the account.
        let name2 = name.clone();
        Mock::given(method("GET")).and(path(format!("/api/sites/multiscreen/byexternalid/{name2}"))).respond_with(ResponseTemplate::new(200).set_body_json(json!(["6c56394c"]))).mount(&d).await;
        Mock::given(method("GET")).and(path(format!("/api/accounts/{name2}"))).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "account_name": name2 }))).mount(&d).await;
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/grant-access/{name2}/sites/multiscreen")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "site_name": "6c56394c" }])))
            .mount(&d)
            .await;
        Mock::given(method("GET")).and(path("/api/sites/multiscreen/6c56394c")).respond_with(ResponseTemplate::new(200).set_body_json(site("NOT_PUBLISHED_YET"))).mount(&d).await;
        Mock::given(method("GET"))
            .and(path("/api/sites/multiscreen/6c56394c/plan"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "planName": "BUSINESS", "planId": 203 })))
            .mount(&d)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/sites/multiscreen/plans"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "planId": 201, "planName": "BASIC" }, { "planId": 203, "planName": "BUSINESS" }])))
            .mount(&d)
            .await;
        let create = json!({ "customer_id": "c-1", "customer_name": "Jo Doe", "customer_email": "jo@shop.example", "domain_name": "shop.example", "package_reference": "business", "billing_cycle_months": 12, "language_code": "en-GB" });
        let made = run(&d, "create-account", create.clone()).await.unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some(name.as_str()));
        assert_eq!((made.data["package_reference"].as_str(), made.data["site_count"].as_i64(), made.data["domain_name"].as_str()), (Some("203"), Some(1), Some("shop.example")));
        // A second try (the first one's answer lost) finds the site and the account: only the
        // access and the plan are set again (both idempotent).
        let again = run(&d, "create-account", create).await.unwrap();
        assert_eq!(again.service_identifier.as_deref(), Some(name.as_str()));
    }

    #[tokio::test]
    async fn sso_plans_suspension_and_deletion_use_dudas_calls() {
        let d = duda("PUBLISHED").await;
        let name = account_name_of("cp-1");
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/sso/{name}/link")))
            .and(query_param("site_name", "6c56394c"))
            .and(query_param("target", "EDITOR"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "url": "https://editor.example/home/site/6c56394c?dm_sso=2!abc" })))
            .mount(&d)
            .await;
        let sso = run(&d, "manage-website", on()).await.unwrap();
        assert!(sso.data["login_url"].as_str().unwrap().contains("dm_sso"));
        let exchanges = serde_json::to_string(&sso.debug).unwrap();
        assert!(!exchanges.contains("dm_sso") && exchanges.contains("/sso/"), "the SSO link is masked in its exchange: {exchanges}");
        Mock::given(method("POST")).and(path("/api/sites/multiscreen/6c56394c/plan/201")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "planId": 201 }))).expect(1).mount(&d).await;
        let mut with = on();
        with["package_reference"] = json!("201");
        with["billing_cycle_months"] = json!(1);
        run(&d, "change-package", with.clone()).await.unwrap();
        Mock::given(method("POST")).and(path("/api/sites/multiscreen/unpublish/6c56394c")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
        Mock::given(method("DELETE")).and(path(format!("/api/accounts/{name}/sites/6c56394c/permissions"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
        let suspended = run(&d, "suspend-account", on()).await.unwrap();
        assert_eq!(suspended.data["suspended"], true);
        Mock::given(method("POST"))
            .and(path(format!("/api/accounts/{name}/sites/6c56394c/permissions")))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&d)
            .await;
        run(&d, "unsuspend-account", with).await.unwrap();
        Mock::given(method("DELETE")).and(path("/api/sites/multiscreen/6c56394c")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
        Mock::given(method("DELETE")).and(path(format!("/api/accounts/{name}"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
        run(&d, "delete-account", on()).await.unwrap();
        let info = run(&d, "get-info", on()).await.unwrap();
        assert_eq!((info.data["is_published"].as_bool(), info.data["has_ssl"].as_bool(), info.data["package_reference"].as_str()), (Some(true), Some(true), Some("203")));
    }

    #[tokio::test]
    async fn an_unpublished_site_is_published_again_on_unsuspension_only_if_it_had_been() {
        let d = duda("UNPUBLISHED").await;
        let name = account_name_of("cp-1");
        Mock::given(method("POST")).and(path(format!("/api/accounts/{name}/sites/6c56394c/permissions"))).respond_with(ResponseTemplate::new(204)).mount(&d).await;
        Mock::given(method("POST")).and(path("/api/sites/multiscreen/publish/6c56394c")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&d).await;
        let mut with = on();
        with["package_reference"] = json!("203");
        with["billing_cycle_months"] = json!(1);
        run(&d, "unsuspend-account", with.clone()).await.unwrap();
        let d = duda("NOT_PUBLISHED_YET").await;
        Mock::given(method("POST")).and(path(format!("/api/accounts/{name}/sites/6c56394c/permissions"))).respond_with(ResponseTemplate::new(204)).mount(&d).await;
        Mock::given(method("POST")).and(path("/api/sites/multiscreen/publish/6c56394c")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&d).await;
        run(&d, "unsuspend-account", with).await.unwrap();
    }

    #[tokio::test]
    async fn refused_credentials_missing_accounts_unknown_plans_rate_limits_and_bad_bodies_are_clear_failures() {
        let d = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&d).await;
        let f = run(&d, "get-info", on()).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("api_password"), "{}", f.message);
        let d = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error_code": "ResourceNotExist", "message": "Account doesn't exist" }))).mount(&d).await;
        let f = run(&d, "get-info", on()).await.unwrap_err();
        assert!(f.message.starts_with("Duda has no account"), "{}", f.message);
        let d = duda("PUBLISHED").await;
        let mut with = on();
        with["package_reference"] = json!("GOLD");
        with["billing_cycle_months"] = json!(1);
        let f = run(&d, "change-package", with).await.unwrap_err();
        assert!(f.message.contains("no plan \"GOLD\""), "{}", f.message);
        Mock::given(method("POST")).and(path("/api/sites/multiscreen/unpublish/6c56394c")).respond_with(ResponseTemplate::new(429)).mount(&d).await;
        let f = run(&d, "suspend-account", on()).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert_eq!(f.debug.iter().filter(|e| e["request"]["url"].as_str().is_some_and(|u| u.contains("unpublish"))).count(), 1, "a write is tried once");
        let d = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&d).await;
        assert!(run(&d, "get-info", on()).await.unwrap_err().message.contains("malformed"));
    }
}
