//! The `marketgoo` provider (SEO): marketgoo's Provisioning API, as its public API description
//! documents it (github.com/marketgoo/api-documentation, apiary.apib, rendered at
//! marketgoo.docs.apiary.io; recorded examples beside the tests). Every partner has its own
//! white-label host (`https://<host>/api/...`); calls carry `X-Auth-Token: <api key>` and
//! `Accept: application/vnd.marketgoo.api+json`; bodies are JSON:API documents
//! (`{"data": {"type": "account", "attributes": {...}}}`); errors are `{"errors": [{"status" |
//! "code", "title", "detail"}]}`.
//!
//! The service is the website's domain (the blueprint's identifier); marketgoo knows an account
//! by its UUID, found for each call by `GET /api/accounts?filter[domain]=` (exact: `www.` counts)
//! among the active and the suspended accounts; a domain with more than one is refused, none of
//! them touched. A create first looks the same way: an account of the same domain and e-mail is
//! the one an earlier try whose answer was lost made; one with another e-mail is refused. Calls: `POST /api/accounts` (create), `GET /api/accounts/{uuid}/login?expires=5`
//! (a login link valid five minutes), `PATCH .../upgrade` (change of product), `PATCH
//! .../suspend` and `.../resume` (409 "already" is done), `DELETE /api/accounts/{uuid}` (marketgoo
//! keeps it `inactive`), `GET /api/me` (the connection check).

use crate::catalogue::schema::{boolean, params, pattern, secret};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{non_empty, or_default, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;

pub const ID: &str = "marketgoo";
/// marketgoo's JSON:API media type, sent as `Accept` on every call.
pub const MEDIA_TYPE: &str = "application/vnd.marketgoo.api+json";
/// Fields that carry secrets on marketgoo's wire: the login link's bearer and token.
pub const WIRE_SECRETS: &[&str] = &["bearer", "token", "public_login_url", "login"];
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Minutes a login link lasts (marketgoo: 5 to 1440; none: permanent).
const LOGIN_MINUTES: u32 = 5;

pub struct Marketgoo;

impl Default for Marketgoo {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    api_url: String,
    api_key: String,
    #[serde(default, deserialize_with = "non_empty")]
    lang: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    partner_token: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    force_downgrade: bool,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    base: String,
    settings: Settings,
}

/// `create`
#[derive(Deserialize, Serialize)]
struct Create {
    customer_email: String,
    #[serde(default, deserialize_with = "non_empty")]
    customer_name: Option<String>,
    domain: String,
    package_identifier: String,
    #[serde(default)]
    promo_codes: Option<Vec<String>>,
    #[serde(default)]
    customer_address: Option<Address>,
}

#[derive(Deserialize, Serialize)]
struct Address {
    #[serde(default, deserialize_with = "non_empty")]
    country_code: Option<String>,
}

/// `change-package`
#[derive(Deserialize, Serialize)]
struct ChangePackage {
    package_identifier: String,
}

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let errors: Vec<String> = reply
            .body
            .as_ref()
            .and_then(|b| b["errors"].as_array())
            .into_iter()
            .flatten()
            .map(|e| [str_of(e, "title"), str_of(e, "detail")].into_iter().flatten().collect::<Vec<_>>().join(": "))
            .collect();
        let detail = if errors.is_empty() { format!("HTTP {}", reply.status) } else { format!("{} (HTTP {})", errors.join("; "), reply.status) };
        match reply.status {
            // A 204 has no body.
            200..=299 => match &reply.body {
                Some(b) if b.is_object() => Ok(b.clone()),
                None if reply.text.trim().is_empty() => Ok(json!({})),
                _ => Err(ProviderFailure::permanent(format!("marketgoo answered {what} with a malformed body"))),
            },
            401 | 403 => Err(ProviderFailure::permanent(format!("marketgoo refused the API key for {what}: check api_key and api_url (your partner host)"))),
            429 => Err(ProviderFailure { kind: FailureKind::Transient, message: format!("marketgoo's rate limit was reached on {what}: try later"), debug: vec![] }),
            status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("marketgoo refused {what}: {detail}").chars().take(500).collect(), debug: vec![] }),
        }
    }
}

impl Api<'_> {
    async fn send(&mut self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        let url = format!("{}/api/{path}", self.base);
        let key = self.settings.api_key.clone();
        let body = body.map_or(Body::None, Body::Json);
        self.wire.exchange(Request { what, method, url: &url, body: &body, read }, |r| r.header("X-Auth-Token", &key).header("Accept", MEDIA_TYPE), judge(what)).await
    }

    /// The accounts of a domain with this status (`active`, `suspended`).
    async fn of_domain(&mut self, domain: &str, status: &str) -> Result<Vec<Value>, ProviderFailure> {
        let list = self.send("list accounts", reqwest::Method::GET, &format!("accounts?filter%5Bdomain%5D={domain}&filter%5Bstatus%5D={status}"), None).await?;
        Ok(list["data"].as_array().cloned().unwrap_or_default())
    }

    /// The domain's account (active or suspended), if there is one. marketgoo may hold more
    /// than one account of a domain (another reseller flow, another customer): then which is
    /// this service's cannot be told, and nothing is done to any of them.
    async fn find(&mut self, domain: &str) -> Result<Option<Value>, ProviderFailure> {
        let mut found: Vec<Value> = Vec::new();
        for status in ["active", "suspended"] {
            for a in self.of_domain(domain, status).await? {
                let same = |f: &Value| matches!((uuid_of(f), uuid_of(&a)), (Ok(x), Ok(y)) if x == y);
                if !found.iter().any(same) {
                    found.push(a);
                }
            }
        }
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => Err(ProviderFailure::permanent(format!("marketgoo holds {n} accounts for {domain}: which is this service's cannot be told, so none is touched (a person settles it in marketgoo)"))),
        }
    }

    /// The UUID of the domain's account, which must be there.
    async fn uuid(&mut self, domain: &str) -> Result<String, ProviderFailure> {
        let found = self.find(domain).await?.ok_or_else(|| ProviderFailure::permanent(format!("marketgoo has no active or suspended account for {domain}")))?;
        uuid_of(&found)
    }
}

fn uuid_of(account: &Value) -> Result<String, ProviderFailure> {
    str_of(account, "id")
        .or_else(|| str_of(&account["attributes"], "uuid"))
        .filter(|u| u.len() <= 64 && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .ok_or_else(|| ProviderFailure::permanent("marketgoo answered an account without its id"))
}

/// The domain a call acts on (the contract product's service identifier).
fn domain_of(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    let d = call.subject().unwrap_or_default().to_lowercase();
    let ok = d.contains('.') && d.len() <= 253 && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok { Ok(d) } else { Err(ProviderFailure::permanent(format!("{d:?} is not a domain marketgoo can look up"))) }
}

/// The catalogue's create result for an account.
fn account_data(uuid: &str, domain: &str, a: &Value) -> Value {
    let mut out = json!({ "username": uuid, "domain": domain });
    if let Some(p) = str_of(&a["attributes"], "product") {
        out["package_identifier"] = json!(p);
    }
    out
}

impl Marketgoo {
    pub fn new() -> Self {
        Marketgoo
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let base = settings.api_url.trim_end_matches('/').trim_end_matches("/api").to_owned();
        Ok(Api { wire: Wire::new(super::http_client(), "marketgoo", WIRE_SECRETS, CALL_TIMEOUT), base, settings })
    }

    /// `create`
    async fn create(&self, api: &mut Api<'_>, _call: &ProviderCall<'_>, p: Create) -> Answer {
        let domain = p.domain.to_lowercase();
        if let Some(found) = api.find(&domain).await? {
            // The same domain and e-mail: the account an earlier try made. Another customer's
            // is neither taken nor joined by a second account (a domain names one account).
            if !found["attributes"]["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(&p.customer_email)) {
                return Err(ProviderFailure::permanent(format!("marketgoo already has an account for {domain} with another e-mail: it is not taken, nor a second one made")));
            }
            let uuid = uuid_of(&found)?;
            return Ok((format!("marketgoo account {uuid} for {domain} was made by an earlier try whose answer was lost: not created again"), account_data(&uuid, &domain, &found), Some(domain)));
        }
        let name = p.customer_name.clone().unwrap_or_else(|| p.customer_email.split('@').next().unwrap_or("Customer").to_owned());
        let mut attributes = json!({ "domain": domain, "product": p.package_identifier, "name": name, "email": p.customer_email });
        if let Some(l) = &api.settings.lang {
            attributes["lang"] = json!(l);
        }
        if let Some(c) = p.customer_address.as_ref().and_then(|a| a.country_code.as_deref()) {
            attributes["country"] = json!(c.to_lowercase());
        }
        if let Some(promo) = p.promo_codes.as_ref().and_then(|c| c.first()).filter(|c| c.len() <= 100 && c.chars().all(|x| x.is_ascii_alphanumeric() || "-_".contains(x))) {
            attributes["promo"] = json!(promo);
        }
        if let Some(t) = &api.settings.partner_token {
            attributes["partner_token"] = json!(t);
        }
        let made = api.send("create account", reqwest::Method::POST, "accounts", Some(json!({ "data": { "type": "account", "attributes": attributes } }))).await?;
        let account = &made["data"];
        let uuid = uuid_of(account).map_err(|f| ProviderFailure { kind: FailureKind::Timeout, ..f })?;
        Ok((format!("marketgoo account {uuid} made for {domain} ({})", p.package_identifier), account_data(&uuid, &domain, account), Some(domain)))
    }

    /// `login-to-control-panel`: a login link valid five minutes.
    async fn login_to_control_panel(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let domain = domain_of(call)?;
        let uuid = api.uuid(&domain).await?;
        let answer = api.send("login link", reqwest::Method::GET, &format!("accounts/{uuid}/login?expires={LOGIN_MINUTES}"), None).await?;
        let url =
            str_of(&answer["links"], "login").or_else(|| str_of(&answer["meta"], "public_login_url")).ok_or_else(|| ProviderFailure::permanent("marketgoo answered the login call without a link"))?;
        Ok((format!("a marketgoo login link for {domain}, valid {LOGIN_MINUTES} minutes"), json!({ "url": url }), None))
    }

    /// `change-package`: the account moved to another product (excess keywords and competitors
    /// deleted on a downgrade only where the configuration says so).
    async fn change_package(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: ChangePackage) -> Answer {
        let domain = domain_of(call)?;
        let uuid = api.uuid(&domain).await?;
        let body = json!({ "data": { "type": "account", "id": uuid, "attributes": { "product": p.package_identifier, "force": api.settings.force_downgrade } } });
        api.send("upgrade account", reqwest::Method::PATCH, &format!("accounts/{uuid}/upgrade"), Some(body)).await?;
        Ok((format!("{domain} is now on marketgoo's {}", p.package_identifier), json!({}), None))
    }

    /// `suspend`
    async fn suspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.pause(api, call, "suspend", "Already suspended").await
    }

    /// `unsuspend`
    async fn unsuspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        self.pause(api, call, "resume", "Not suspended").await
    }

    /// A suspension or resumption; marketgoo's 409 that it is so already is done.
    async fn pause(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, name: &str, already: &str) -> Answer {
        let domain = domain_of(call)?;
        let uuid = api.uuid(&domain).await?;
        match api.send(&format!("{name} account"), reqwest::Method::PATCH, &format!("accounts/{uuid}/{name}"), None).await {
            Ok(_) => Ok((format!("{name} of {domain}'s marketgoo account done"), json!({}), None)),
            Err(f) if f.message.contains("(HTTP 409)") && f.message.contains(already) => Ok((format!("{domain}'s marketgoo account: {already}"), json!({}), None)),
            Err(f) => Err(f),
        }
    }

    /// `terminate`: marketgoo keeps the account as `inactive` (no longer billed).
    async fn terminate(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let domain = domain_of(call)?;
        let uuid = api.uuid(&domain).await?;
        api.send("delete account", reqwest::Method::DELETE, &format!("accounts/{uuid}"), None).await?;
        Ok((format!("{domain}'s marketgoo account deleted"), json!({}), None))
    }
}

session_of_api!(Marketgoo);

implements!(Seo for Marketgoo as ID, {
    login_to_control_panel,
    create(Create),
    change_package(ChangePackage),
    suspend,
    unsuspend,
    terminate,
});

impl Connect for Marketgoo {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            let result = api.send("me", reqwest::Method::GET, "me", None).await.map(|me| {
                let who = str_of(&me["data"]["attributes"], "name").map(|n| format!(" as {n}")).unwrap_or_default();
                (format!("connected to marketgoo{who}"), json!({ "connected": true }), None)
            });
            super::with_debug(result, api.wire.take_debug())
        })
    }
}

/// marketgoo (SEO).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // Your marketgoo partner host's address (https://app.example.com; `/api` is added).
        .req("api_url", crate::catalogue::schema::address(super::api_url()))
        .req("api_key", secret())
        // The language of new accounts (marketgoo's: en, gb, de, es, nl, pt, fr, da, sv).
        .opt("lang", pattern("^(en|gb|de|es|nl|pt|fr|da|sv)$"))
        // A partner token (sub-brand) new accounts are linked to.
        .opt("partner_token", pattern("^[-_A-Za-z0-9]{1,100}$"))
        // Whether a downgrade deletes the keywords and competitors over the new plan's limits
        // (marketgoo refuses it otherwise).
        .opt("force_downgrade", boolean())
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "seo",
        name: "marketgoo",
        description: "marketgoo SEO accounts through a partner's Provisioning API (the partner host and its API key)",
        settings,
        supported_actions: <Marketgoo as super::blueprints::Implements>::supported("seo"),
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

    const KEY: &str = "mg-key-Sup3rSecret";
    const UUID: &str = "1cbd65c81e6462906c8f4eaf02417d3cae667ffb";

    /// An account as the docs' Example A answers it.
    fn account(product: &str) -> Value {
        json!({ "id": UUID, "type": "account", "attributes": { "uuid": UUID, "promo": "xmas-promo", "created_at": "2017-09-28T00:22:38Z", "deleted_at": null, "suspended_at": null,
            "delete_date": null, "trial_period": 10, "is_configured": false, "product": product, "domain": "shop.example", "name": "Jo Doe", "email": "jo@shop.example", "lang": "en" } })
    }

    fn listed(accounts: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "data": accounts, "meta": { "total_items": 1, "total_pages": 1 } }))
    }

    async fn marketgoo() -> MockServer {
        let mg = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/accounts"))
            .and(query_param("filter[domain]", "shop.example"))
            .and(query_param("filter[status]", "active"))
            .respond_with(listed(json!([account("evolution")])))
            .mount(&mg)
            .await;
        Mock::given(method("GET")).and(path("/api/accounts")).and(query_param("filter[status]", "suspended")).respond_with(listed(json!([]))).mount(&mg).await;
        mg
    }

    async fn run_for(mg: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("seo", action).unwrap();
        let id = ConfigurationId::parse("cfg-mg").unwrap();
        let settings = json!({ "api_url": mg.uri(), "api_key": KEY, "lang": "en" });
        let si = (action != "create").then_some("shop.example");
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: si, following: None, contract_product_id: Some("cp-1") };
        let out = super::super::blueprints::Implementation::Seo(std::sync::Arc::new(Marketgoo::new())).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        // Every request carries the key and the JSON:API media type.
        for r in mg.received_requests().await.unwrap() {
            assert_eq!((r.headers.get("x-auth-token").map(|h| h.to_str().unwrap()), r.headers.get("accept").map(|h| h.to_str().unwrap())), (Some(KEY), Some(MEDIA_TYPE)));
        }
        out
    }

    const ON: fn() -> Value = || json!({ "username": UUID, "domain": "shop.example" });

    #[tokio::test]
    async fn an_account_is_made_with_the_documented_json_api_body() {
        let mg = MockServer::start().await;
        for status in ["active", "suspended"] {
            Mock::given(method("GET")).and(path("/api/accounts")).and(query_param("filter[status]", status)).respond_with(listed(json!([]))).mount(&mg).await;
        }
        Mock::given(method("POST"))
            .and(path("/api/accounts"))
            .and(body_json(json!({ "data": { "type": "account", "attributes": { "domain": "shop.example", "product": "evolution", "name": "Jo Doe", "email": "jo@shop.example", "lang": "en", "country": "gb", "promo": "xmas-promo" } } })))
            .respond_with(ResponseTemplate::new(201).insert_header("Location", format!("{}/api/accounts/{UUID}", mg.uri())).set_body_json(json!({ "data": account("evolution") })))
            .expect(1)
            .mount(&mg)
            .await;
        let made = run_for(
            &mg,
            "create",
            json!({ "customer_id": "c-1", "customer_email": "jo@shop.example", "customer_name": "Jo Doe", "domain": "Shop.Example", "package_identifier": "evolution", "promo_codes": ["xmas-promo", "second"], "customer_address": { "country_code": "GB" } }),
        )
        .await
        .unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some("shop.example"));
        assert_eq!(made.data, json!({ "username": UUID, "domain": "shop.example", "package_identifier": "evolution" }));
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_finds_the_account_of_its_domain_and_email() {
        let mg = marketgoo().await;
        Mock::given(method("POST")).and(path("/api/accounts")).respond_with(ResponseTemplate::new(201)).expect(0).mount(&mg).await;
        let out = run_for(&mg, "create", json!({ "customer_id": "c-1", "customer_email": "JO@shop.example", "domain": "shop.example", "package_identifier": "evolution" })).await.unwrap();
        assert!(out.message.contains("not created again"), "{}", out.message);
    }

    #[tokio::test]
    async fn another_customers_account_of_the_domain_is_never_taken_and_two_accounts_are_touched_by_nothing() {
        let mg = marketgoo().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(201)).expect(0).mount(&mg).await;
        let f = run_for(&mg, "create", json!({ "customer_id": "c-2", "customer_email": "mallory@evil.example", "domain": "shop.example", "package_identifier": "evolution" })).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("with another e-mail"), "{}", f.message);
        // Two accounts for the domain (one active, one suspended): no login, no delete of either.
        let mg = MockServer::start().await;
        let mut other = account("evolution");
        other["id"] = json!("2cbd65c81e6462906c8f4eaf02417d3cae667ffb");
        Mock::given(method("GET")).and(path("/api/accounts")).and(query_param("filter[status]", "active")).respond_with(listed(json!([account("evolution")]))).mount(&mg).await;
        Mock::given(method("GET")).and(path("/api/accounts")).and(query_param("filter[status]", "suspended")).respond_with(listed(json!([other]))).mount(&mg).await;
        Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&mg).await;
        for action in ["login-to-control-panel", "terminate"] {
            let f = run_for(&mg, action, ON()).await.unwrap_err();
            assert!(f.message.contains("holds 2 accounts"), "{action}: {}", f.message);
        }
        assert!(!mg.received_requests().await.unwrap().iter().any(|r| r.url.path().contains("/login")), "no login link of either");
    }

    #[tokio::test]
    async fn login_upgrade_suspension_and_delete_act_on_the_domains_account() {
        let mg = marketgoo().await;
        Mock::given(method("GET"))
            .and(path(format!("/api/accounts/{UUID}/login")))
            .and(query_param("expires", "5"))
            .respond_with(ResponseTemplate::new(200).insert_header("X-Login-Bearer", "eyJ0eXAi.sso").set_body_json(json!({
                "meta": { "uuid": UUID, "bearer": "eyJ0eXAi.sso", "token": "c02cd23f8f44da2a52f8fa104f7820d66eb4475a", "expires_at": "2018-04-25T15:35:08Z", "public_login_url": "https://app.acmeseo.com/login?bearer=eyJ0eXAi.sso" },
                "links": { "login": "https://app.acmeseo.com/login?bearer=eyJ0eXAi.sso" } })))
            .mount(&mg)
            .await;
        let login = run_for(&mg, "login-to-control-panel", ON()).await.unwrap();
        assert_eq!(login.data["url"], "https://app.acmeseo.com/login?bearer=eyJ0eXAi.sso");
        assert!(!serde_json::to_string(&login.debug).unwrap().contains("eyJ0eXAi.sso"), "the link's bearer is masked in the exchanges");
        Mock::given(method("PATCH"))
            .and(path(format!("/api/accounts/{UUID}/upgrade")))
            .and(body_json(json!({ "data": { "type": "account", "id": UUID, "attributes": { "product": "pro", "force": false } } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": account("pro") })))
            .expect(1)
            .mount(&mg)
            .await;
        let mut with = ON();
        with["package_identifier"] = json!("pro");
        run_for(&mg, "change-package", with).await.unwrap();
        Mock::given(method("PATCH")).and(path(format!("/api/accounts/{UUID}/suspend"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&mg).await;
        run_for(&mg, "suspend", ON()).await.unwrap();
        Mock::given(method("PATCH"))
            .and(path(format!("/api/accounts/{UUID}/resume")))
            .respond_with(ResponseTemplate::new(409).set_body_json(json!({ "errors": [{ "status": 409, "title": "Not suspended", "detail": "The requested account is not suspended" }] })))
            .expect(1)
            .mount(&mg)
            .await;
        let resumed = run_for(&mg, "unsuspend", ON()).await.unwrap();
        assert!(resumed.message.contains("Not suspended"), "already so is done: {}", resumed.message);
        Mock::given(method("DELETE")).and(path(format!("/api/accounts/{UUID}"))).respond_with(ResponseTemplate::new(204)).expect(1).mount(&mg).await;
        run_for(&mg, "terminate", ON()).await.unwrap();
        let sent = mg.received_requests().await.unwrap();
        assert!(sent.iter().filter(|r| r.method.as_str() == "PATCH" && !r.url.path().ends_with("/upgrade")).all(|r| r.body.is_empty()), "suspend and resume carry no body");
    }

    #[tokio::test]
    async fn refused_keys_missing_accounts_bad_products_outages_and_bad_bodies_are_clear_failures() {
        let mg = MockServer::start().await;
        Mock::given(path("/api/accounts")).respond_with(ResponseTemplate::new(403).set_body_json(json!({ "errors": [{ "status": 403, "title": "Forbidden" }] }))).mount(&mg).await;
        let f = run_for(&mg, "suspend", ON()).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("api_key"), "{}", f.message);

        let mg = MockServer::start().await;
        Mock::given(path("/api/accounts")).respond_with(listed(json!([]))).mount(&mg).await;
        let f = run_for(&mg, "terminate", ON()).await.unwrap_err();
        assert_eq!(f.message, "marketgoo has no active or suspended account for shop.example");

        let mg = marketgoo().await;
        Mock::given(path(format!("/api/accounts/{UUID}/upgrade")))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({ "errors": [{ "code": 1023, "title": "Invalid product token", "detail": "The provided product token is invalid.", "source": { "pointer": "/data/attributes/product" } }] }),
            ))
            .mount(&mg)
            .await;
        let mut with = ON();
        with["package_identifier"] = json!("nope");
        let f = run_for(&mg, "change-package", with).await.unwrap_err();
        assert_eq!(f.message, "marketgoo refused upgrade account: Invalid product token: The provided product token is invalid. (HTTP 400)");
        Mock::given(path(format!("/api/accounts/{UUID}/suspend"))).respond_with(ResponseTemplate::new(503)).mount(&mg).await;
        let f = run_for(&mg, "suspend", ON()).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 3), "the two lookups (active, suspended), then the write once");
        Mock::given(path(format!("/api/accounts/{UUID}/login"))).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&mg).await;
        assert!(run_for(&mg, "login-to-control-panel", ON()).await.unwrap_err().message.contains("malformed"));
        let mg = MockServer::start().await;
        Mock::given(path("/api/accounts")).respond_with(ResponseTemplate::new(429)).mount(&mg).await;
        let f = run_for(&mg, "suspend", ON()).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
    }

    #[tokio::test]
    async fn the_connection_check_reads_the_partners_branding() {
        let mg = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/me"))
            .and(header("x-auth-token", KEY))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "data": { "id": "mktgoo", "type": "branding", "attributes": { "branding": "mktgoo", "name": "marketgoo", "domain": "apps.marketgoo.com" } } })),
            )
            .mount(&mg)
            .await;
        let out = Marketgoo::new().test_connection("seo", &json!({ "api_url": format!("{}/api", mg.uri()), "api_key": KEY })).await.unwrap();
        assert_eq!(out.message, "connected to marketgoo as marketgoo");
    }
}
