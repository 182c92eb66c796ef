//! The `spamexperts` provider (auto login): SpamExperts mail filtering bought through an
//! OpenProvider reseller account, with OpenProvider's REST API v1beta as
//! ../shared/specs/openprovider/swagger.json describes it (the account's client, login and token
//! cache are the `openprovider` provider's).
//!
//! A filtered domain is the service; its name is the service identifier (the create's
//! `service_identifier`, or `extra.domain_name`). The package names the filter products
//! (`incoming`, `outgoing`, `archiving`, joined by `+` or `,`; incoming alone by default).
//! Calls: `POST /v1beta/spam-expert/domains` (CreateDomain), `GET .../domains/{domain_name}`
//! (GetDomain; a create of a domain already filtered is refused, never taken), `POST
//! /v1beta/spam-expert/generate-login-url` (the login link, for the domain) and `DELETE
//! .../domains/{domain_name}`. OpenProvider has no call to renew, suspend or unsuspend a
//! filtered domain: those are not supported.
//!
//! The `bundle` setting says how the filters were bought (the bundle of old, or the filters
//! bought one by one: OpenProvider's own flag, sent on every call). The filter's own passwords
//! that GetDomain answers are masked in the exchanges recorded.

use crate::catalogue::schema::{address, array, boolean, params, pattern, secret, string_max};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::blueprints::{Answer, Session, implements};
use super::openprovider::{Api, OpenProvider};
use super::params::{non_empty, or_default};
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput, str_of};

pub const ID: &str = "spamexperts";
/// OpenProvider's wire secrets and the filter's passwords.
pub const WIRE_SECRETS: &[&str] = &["password", "token", "user_password", "smtp_password"];
/// The same and the login link's `url` (its `authticket` signs the client in), masked in that
/// exchange; the result carries it to the caller.
const LOGIN_SECRETS: &[&str] = &["password", "token", "user_password", "smtp_password", "url"];
/// The products a filtered domain may have, as OpenProvider names them.
const PRODUCTS: [&str; 3] = ["incoming", "outgoing", "archiving"];

pub struct SpamExperts {
    account: OpenProvider,
}

impl Default for SpamExperts {
    fn default() -> Self {
        Self::new()
    }
}

/// The settings besides the account's (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    #[serde(default, deserialize_with = "or_default")]
    bundle: bool,
    #[serde(default)]
    destinations: Option<Vec<String>>,
}

/// `create`: the domain to filter, by its service identifier or `extra.domain_name`.
#[derive(Deserialize, Serialize)]
struct Create {
    #[serde(default, deserialize_with = "non_empty")]
    service_identifier: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    package_identifier: Option<String>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
}

/// A session: the OpenProvider account's client and the filter's settings.
pub struct Cx<'a> {
    api: Api<'a>,
    bundle: bool,
    destinations: Vec<String>,
}

/// A domain name as SpamExperts takes it (lower case, labels of letters, digits and hyphens).
fn domain_name(raw: &str) -> Result<String, ProviderFailure> {
    let d = raw.trim().trim_end_matches('.').to_lowercase();
    let label_ok = |l: &str| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
        return Err(ProviderFailure::permanent(format!("{raw:?} is not a domain name: SpamExperts filters a domain (the service identifier)")));
    }
    Ok(d)
}

/// The products a package names (`incoming+outgoing`, `incoming,archiving` ...), as the
/// request's `products` object.
fn products(package: Option<&str>) -> Result<Value, ProviderFailure> {
    let mut chosen = Map::new();
    for p in PRODUCTS {
        chosen.insert(p.into(), json!(false));
    }
    let named: Vec<String> = package.unwrap_or("incoming").split(['+', ',', ' ']).map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).collect();
    for p in &named {
        if !PRODUCTS.contains(&p.as_str()) {
            return Err(ProviderFailure::permanent(format!("{p:?} is not a SpamExperts product: the package names incoming, outgoing or archiving (joined by + or ,)")));
        }
        chosen.insert(p.clone(), json!(true));
    }
    if named.is_empty() {
        chosen.insert("incoming".into(), json!(true));
    }
    Ok(Value::Object(chosen))
}

/// CreateDomain's body: the domain, how the filters were bought, its products and where its
/// mail goes (the conformance test sends it to the spec's mock too).
pub fn create_domain_request(domain: &str, bundle: bool, products: &Value, destinations: &[String]) -> Value {
    let mut body = json!({ "domain_name": domain, "bundle": bundle, "products": products });
    let destinations: Vec<Value> = destinations
        .iter()
        .map(|d| match d.rsplit_once(':').and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?))) {
            Some((host, port)) => json!({ "hostname": host, "port": port }),
            None => json!({ "hostname": d, "port": 25 }),
        })
        .collect();
    if !destinations.is_empty() {
        body["destinations"] = json!(destinations);
    }
    body
}

/// The package a filtered domain's products make (`incoming+outgoing`).
fn package_of(products: &Value) -> String {
    PRODUCTS.iter().filter(|p| products[**p] == true).copied().collect::<Vec<_>>().join("+")
}

/// The catalogue's account result for a filtered domain.
fn account(domain: &str, found: &Value) -> Value {
    let mut extra = json!({ "domain_name": domain });
    for k in ["is_active", "expiration_date", "id", "products"] {
        if !found[k].is_null() {
            extra[k] = found[k].clone();
        }
    }
    let mut out = json!({ "username": domain, "service_identifier": domain, "extra": extra });
    let package = package_of(&found["products"]);
    if !package.is_empty() {
        out["package_identifier"] = json!(package);
    }
    out
}

impl SpamExperts {
    pub fn new() -> Self {
        SpamExperts { account: OpenProvider::new() }
    }

    fn cx<'a>(&'a self, configuration: &str, settings: &Value) -> Result<Cx<'a>, ProviderFailure> {
        let own: Settings = super::params::settings_as(ID, settings)?;
        let api = self.account.api_with(configuration, settings, WIRE_SECRETS)?;
        Ok(Cx { api, bundle: own.bundle, destinations: own.destinations.unwrap_or_default() })
    }

    /// The domain a call acts on: the contract product's service identifier.
    fn domain(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
        domain_name(call.service_identifier.filter(|s| !s.is_empty()).ok_or_else(|| ProviderFailure::permanent("no filtered domain to act on"))?)
    }

    /// `create`: the domain's filter. One already in the account is refused, never taken as
    /// this service's: the reseller's account filters other clients' domains, a filter has no
    /// field to mark it ours, and auto-login has no get-info for the engine to reconcile a lost
    /// answer with; so a create whose answer was lost is refused on its next try too (nothing is
    /// added twice) and names the filter for a person to confirm.
    async fn create(&self, cx: &mut Cx<'_>, _call: &ProviderCall<'_>, p: Create) -> Answer {
        let named = p.service_identifier.clone().or_else(|| p.extra.as_ref().and_then(|e| str_of(&Value::Object(e.clone()), "domain_name").map(str::to_owned)));
        let domain = domain_name(&named.ok_or_else(|| ProviderFailure::permanent("SpamExperts filters a domain: give it as service_identifier (or extra.domain_name)"))?)?;
        let products = products(p.package_identifier.as_deref())?;
        let path = format!("spam-expert/domains/{domain}?bundle={}", cx.bundle);
        if cx.api.lookup("GetDomain", &path).await?.is_some_and(|f| str_of(&f, "domain_name").is_some_and(|d| d.eq_ignore_ascii_case(&domain))) {
            return Err(ProviderFailure::permanent(format!(
                "{domain} is already filtered in this account: it is not added again, nor taken as this service's (if an earlier try of this create made it, import it)"
            )));
        }
        cx.api.post("CreateDomain", "spam-expert/domains", create_domain_request(&domain, cx.bundle, &products, &cx.destinations)).await?;
        let found = cx.api.lookup("GetDomain", &path).await.map_err(super::made_but_unread)?.unwrap_or_else(|| json!({ "products": products }));
        Ok((format!("SpamExperts filters {domain} ({})", package_of(&products)), account(&domain, &found), Some(domain)))
    }

    /// `login`: a link that signs the client in to the domain's filter panel.
    async fn login(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let domain = Self::domain(call)?;
        let before = cx.api.wire.masking(LOGIN_SECRETS);
        let answer = cx.api.post("GenerateLoginURL", "spam-expert/generate-login-url", json!({ "domain_or_email": domain, "bundle": cx.bundle })).await;
        cx.api.wire.masking(before);
        let answer = answer?;
        let url = str_of(&answer, "url")
            .filter(|u| reqwest::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http")))
            .ok_or_else(|| ProviderFailure::permanent("OpenProvider answered GenerateLoginURL without a URL"))?;
        Ok((format!("a SpamExperts login link for {domain}"), json!({ "url": url }), None))
    }

    /// `terminate`: the domain's filter deleted.
    async fn terminate(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let domain = Self::domain(call)?;
        cx.api.send("DeleteDomain", reqwest::Method::DELETE, &format!("spam-expert/domains/{domain}?bundle={}", cx.bundle), super::wire::Body::None).await?;
        Ok((format!("SpamExperts no longer filters {domain}"), json!({}), None))
    }
}

impl Session for SpamExperts {
    type Cx<'s> = Cx<'s>;

    fn open<'s>(&'s self, call: &ProviderCall<'_>) -> BoxFuture<'s, Result<Cx<'s>, ProviderFailure>> {
        let cx = self.cx(call.configuration_id.as_str(), call.settings);
        Box::pin(async move { cx })
    }

    fn debug(mut cx: Cx<'_>) -> Vec<Value> {
        cx.api.wire.take_debug()
    }
}

// OpenProvider cannot renew, suspend or unsuspend a filtered domain.
implements!(AutoLogin for SpamExperts as ID, {
    create(Create),
    login,
    terminate,
});

impl Connect for SpamExperts {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut cx = self.cx("connection-check", settings)?;
            // A fresh login: the check is of the credentials, not of a cached token.
            let result = cx.api.login().await.map(|_| ("connected to OpenProvider (SpamExperts)".to_owned(), json!({ "connected": true }), None));
            super::with_debug(result, cx.api.wire.take_debug())
        })
    }
}

/// SpamExperts through OpenProvider (auto login).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("username", string_max(255))
        .req("password", secret())
        .opt("test_mode", address(boolean()))
        .opt("api_url", address(super::api_url()))
        // How the filters were bought: the bundle (true) or one by one (false, the default).
        .opt("bundle", boolean())
        // Mail servers the filtered mail is delivered to (`host` or `host:port`; port 25 unless
        // given), for every new domain.
        .opt("destinations", array(pattern("^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "auto-login",
        name: "SpamExperts (OpenProvider)",
        description: "SpamExperts mail filtering of a domain, bought through an OpenProvider reseller account, with a login link to its panel",
        settings,
        supported_actions: <SpamExperts as super::blueprints::Implements>::supported("auto-login"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::FailureKind;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PASSWORD: &str = "se-pw-Sup3rSecret";
    const TOKEN: &str = "se-token-abc123";

    fn ok(data: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }))
    }

    async fn openprovider() -> MockServer {
        let op = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1beta/auth/login"))
            .and(body_partial_json(json!({ "username": "reseller", "password": PASSWORD })))
            .respond_with(ok(json!({ "token": TOKEN, "reseller_id": 1 })))
            .mount(&op)
            .await;
        op
    }

    async fn run_for(op: &MockServer, action: &str, params: Value, product: Option<&str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("auto-login", action).unwrap();
        let id = ConfigurationId::parse("cfg-se").unwrap();
        let settings = json!({ "username": "reseller", "password": PASSWORD, "api_url": op.uri(), "destinations": ["mx.host.example"] });
        let si = (action != "create").then_some("shop.example");
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: si, following: None, contract_product_id: product };
        let out = super::super::blueprints::Implementation::AutoLogin(std::sync::Arc::new(SpamExperts::new())).run(call).await;
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(PASSWORD) && !debug.contains(TOKEN), "{debug}");
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        out
    }

    async fn run(op: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_for(op, action, params, None).await
    }

    #[tokio::test]
    async fn a_domain_is_filtered_logged_in_to_and_deleted_with_openproviders_calls() {
        let op = openprovider().await;
        Mock::given(method("GET"))
            .and(path("/v1beta/spam-expert/domains/shop.example"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "code": 404, "desc": "Domain not found", "data": "" })))
            .up_to_n_times(1)
            .mount(&op)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1beta/spam-expert/domains"))
            .and(body_partial_json(json!({ "domain_name": "shop.example", "bundle": false, "products": { "incoming": true, "outgoing": true, "archiving": false }, "destinations": [{ "hostname": "mx.host.example", "port": 25 }] })))
            .respond_with(ok(json!({ "success": true })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1beta/spam-expert/domains/shop.example"))
            .and(query_param("bundle", "false"))
            .respond_with(ok(
                json!({ "id": 9, "domain_name": "shop.example", "is_active": true, "products": { "incoming": true, "outgoing": true, "archiving": false }, "user_password": "filter-pw-1" }),
            ))
            .mount(&op)
            .await;
        let made = run(&op, "create", json!({ "user_id": "u1", "service_identifier": "Shop.Example", "package_identifier": "incoming+outgoing" })).await.unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some("shop.example"));
        assert_eq!((made.data["username"].as_str(), made.data["package_identifier"].as_str()), (Some("shop.example"), Some("incoming+outgoing")));
        assert!(!serde_json::to_string(&made.debug).unwrap().contains("filter-pw-1"), "the filter's password is masked");

        Mock::given(method("POST"))
            .and(path("/v1beta/spam-expert/generate-login-url"))
            .and(body_partial_json(json!({ "domain_or_email": "shop.example", "bundle": false })))
            .respond_with(ok(json!({ "url": "https://filter.antispamcloud.com/?authticket=sess-Secret" })))
            .mount(&op)
            .await;
        let login = run(&op, "login", json!({ "username": "shop.example" })).await.unwrap();
        assert!(login.data["url"].as_str().unwrap().contains("authticket"), "the client gets the link");
        let exchanges = serde_json::to_string(&login.debug).unwrap();
        assert!(!exchanges.contains("sess-Secret") && exchanges.contains("generate-login-url"), "the link is masked in its exchange: {exchanges}");

        Mock::given(method("DELETE")).and(path("/v1beta/spam-expert/domains/shop.example")).respond_with(ok(json!({ "success": true }))).expect(1).mount(&op).await;
        run(&op, "terminate", json!({ "username": "shop.example" })).await.unwrap();

        let f = run(&op, "suspend", json!({ "username": "shop.example" })).await.unwrap_err();
        assert_eq!(f.message, "auto-login/suspend is not supported by spamexperts");
    }

    #[tokio::test]
    async fn a_filter_already_in_the_account_is_neither_added_again_nor_taken() {
        let op = openprovider().await;
        Mock::given(method("GET"))
            .and(path("/v1beta/spam-expert/domains/shop.example"))
            .respond_with(ok(json!({ "domain_name": "shop.example", "is_active": true, "products": { "incoming": true } })))
            .mount(&op)
            .await;
        Mock::given(method("POST")).and(path("/v1beta/spam-expert/domains")).respond_with(ok(json!({}))).expect(0).mount(&op).await;
        let f = run_for(&op, "create", json!({ "user_id": "u1", "extra": { "domain_name": "shop.example" } }), Some("cp-1")).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Permanent);
        assert!(f.message.contains("already filtered in this account"), "{}", f.message);
        assert!(!op.received_requests().await.unwrap().iter().any(|r| r.url.path().contains("generate-login-url")), "no login link of it");
    }

    #[tokio::test]
    async fn refusals_outages_rate_limits_and_bad_bodies_are_clear_failures() {
        let op = MockServer::start().await;
        Mock::given(path("/v1beta/auth/login")).respond_with(ResponseTemplate::new(401).set_body_json(json!({ "code": 196, "desc": "Authentication failed" }))).mount(&op).await;
        let f = run(&op, "login", json!({ "username": "shop.example" })).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "OpenProvider refused the username and password"));

        let op = openprovider().await;
        Mock::given(path("/v1beta/spam-expert/generate-login-url")).respond_with(ResponseTemplate::new(429)).mount(&op).await;
        let f = run(&op, "login", json!({ "username": "shop.example" })).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert!(f.message.contains("rate limit"), "{}", f.message);
        Mock::given(path("/v1beta/spam-expert/domains/shop.example")).and(method("DELETE")).respond_with(ResponseTemplate::new(503)).mount(&op).await;
        let f = run(&op, "terminate", json!({})).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "login and one try: a write is never repeated");
        Mock::given(path("/v1beta/spam-expert/domains/bad.example")).respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>")).mount(&op).await;
        let f = run(&op, "create", json!({ "user_id": "u1", "service_identifier": "bad.example" })).await.unwrap_err();
        assert!(f.message.contains("malformed"), "{}", f.message);
        let f = run(&op, "create", json!({ "user_id": "u1", "service_identifier": "shop.example", "package_identifier": "virus-scan" })).await.unwrap_err();
        assert!(f.message.contains("not a SpamExperts product") && f.debug.is_empty(), "{}", f.message);
        let f = run(&op, "create", json!({ "user_id": "u1" })).await.unwrap_err();
        assert!(f.message.contains("give it as service_identifier"), "{}", f.message);
    }
}
