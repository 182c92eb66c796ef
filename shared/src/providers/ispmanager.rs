//! The `ispmanager` provider (software licences): ispmanager 6 licences bought through the
//! ispmanager billing system (BILLmanager) API, as ispmanager.com/docs/ispmanager/
//! reselling-of-ispmanager-licenses-via-api documents it: `https://api-eu.ispmanager.com/
//! manager/billmgr`, every call one `func` with `authinfo=user:password`, answered as JSON
//! (`out=bjson`; an error is `error.msg`). Sent as a form POST so the password stays out of
//! URLs.
//!
//! A licence is addressed by its id (`elid`), which is the service identifier; its key
//! (`lickey`) is answered as `license_key`. Packages are price lists (ispmanager 6 lite is
//! 55227, ...): a price-list id is used as it is, a package name is looked up in the vendor's
//! table. Functions: soft.order.param (order, renewed automatically each period from the
//! account's balance), soft.edit (read; `clicked_button=newkey`: regenerate the key),
//! service.changepricelist (change tariff), soft.suspend / soft.resume (suspend, activate; a
//! licence that expired meanwhile is renewed first with service.prolong), soft.delete (delete).

use crate::catalogue::schema::{address, int_range, params, secret, string_max};
use std::time::Duration;

use serde_json::{Value, json};

use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{non_empty, settings_as};
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;

pub const ID: &str = "ispmanager";
pub const DEFAULT_API_URL: &str = "https://api-eu.ispmanager.com/manager/billmgr";
pub const WIRE_SECRETS: &[&str] = &["authinfo", "password"];
/// Under the engine's 25 s deadline, so a read's second try fits.
const CALL_TIMEOUT: Duration = Duration::from_secs(12);

/// The vendor's price lists of ispmanager 6 (its documentation's table).
pub const PRICE_LISTS: &[(&str, u32)] =
    &[("ispmanager 6 trial", 55239), ("ispmanager 6 business trial", 55240), ("ispmanager 6 lite", 55227), ("ispmanager 6 pro", 55228), ("ispmanager 6 host", 55229), ("ispmanager 6 business", 55230)];
const TRIALS: [u32; 2] = [55239, 55240];
/// The node addon of ispmanager 6 business.
const BUSINESS_NODES_ADDON: &str = "addon_55236";

pub struct Ispmanager;

impl Default for Ispmanager {
    fn default() -> Self {
        Self::new()
    }
}

/// A BILLmanager value: a plain string, or `{"$": "..."}` (and `v` for some ids).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("$").or_else(|| o.get("v")).and_then(text),
        _ => None,
    }
}

/// A field of an answer: at the top, or in its `model`.
fn field(doc: &Value, key: &str) -> Option<String> {
    text(&doc[key]).or_else(|| text(&doc["model"][key]))
}

/// The price list of a package: its id, or its name in the vendor's table.
pub fn price_list(package: &str) -> Option<u32> {
    let p = package.trim();
    p.parse::<u32>().ok().or_else(|| PRICE_LISTS.iter().find(|(name, _)| name.eq_ignore_ascii_case(p)).map(|(_, id)| *id))
}

/// The licence id of a licence param: the id itself, or the part of a key before its first `-`.
fn elid(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    let raw = call.subject().unwrap_or_default();
    let id = raw.split('-').next().unwrap_or_default();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) { Ok(id.to_owned()) } else { Err(ProviderFailure::permanent(format!("{raw:?} is not an ispmanager licence id"))) }
}

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let failure = |kind, message: String| Err(ProviderFailure { kind, message: message.chars().take(500).collect(), debug: vec![] });
        match (reply.status, &reply.body) {
            (200..=299, Some(body)) => {
                let doc = if body["doc"].is_object() { &body["doc"] } else { body };
                let error = &doc["error"];
                if error.is_null() || (error.is_object() && text(&error["msg"]).is_none() && error["type"].is_null()) {
                    return Ok(doc.clone());
                }
                let message = text(&error["msg"]).or_else(|| text(error)).unwrap_or_else(|| "no reason given".into());
                if error["type"] == "auth" || error["object"] == "badpassword" {
                    return failure(
                        FailureKind::Permanent,
                        format!("ispmanager refused the username and password ({message}): check them, and that two-factor authentication is off for this account"),
                    );
                }
                failure(FailureKind::Permanent, format!("ispmanager refused {what}: {message}"))
            }
            (200..=299, None) if reply.text.trim().is_empty() => failure(FailureKind::Transient, format!("ispmanager answered {what} with nothing")),
            (200..=299, None) => failure(FailureKind::Permanent, format!("ispmanager answered {what} with a malformed body")),
            (status, _) => failure(kind_of_status(status), format!("ispmanager answered {what} with HTTP {status}")),
        }
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    username: String,
    password: String,
    #[serde(default)]
    renewal_months: Option<i64>,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    url: String,
    authinfo: String,
    renewal_months: Option<i64>,
}

/// `create-license`: a price list, the IP address it is bound to, what names it.
#[derive(Deserialize, Serialize)]
struct CreateLicense {
    #[serde(default, deserialize_with = "non_empty")]
    package_identifier: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    ip: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    service_identifier: Option<String>,
    #[serde(default)]
    customer_identifier: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    customer_email: Option<String>,
    #[serde(default)]
    billing_cycle_months: Option<i64>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
}

/// `upgrade-downgrade-license`: another price list.
#[derive(Deserialize, Serialize)]
struct ChangeLicense {
    #[serde(default, deserialize_with = "non_empty")]
    package_identifier: Option<String>,
    #[serde(default)]
    billing_cycle_months: Option<i64>,
    #[serde(default, deserialize_with = "non_empty")]
    license_key: Option<String>,
}

impl Api<'_> {
    async fn call(&mut self, func: &str, params: &[(&str, String)], read: bool) -> Result<Value, ProviderFailure> {
        let mut form: Vec<(String, String)> = vec![("func".into(), func.into()), ("out".into(), "bjson".into()), ("lang".into(), "en".into()), ("authinfo".into(), self.authinfo.clone())];
        form.extend(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let url = self.url.clone();
        self.wire.exchange(Request { what: func, method: reqwest::Method::POST, url: &url, body: &Body::Form(form), read }, |r| r, judge(func)).await
    }

    /// The licence as soft.edit shows it.
    async fn licence(&mut self, elid: &str) -> Result<Value, ProviderFailure> {
        self.call("soft.edit", &[("elid", elid.to_owned())], true).await
    }
}

impl Ispmanager {
    pub fn new() -> Self {
        Ispmanager
    }

    fn api<'a>(&'a self, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let url = settings.api_url.as_deref().unwrap_or(DEFAULT_API_URL).to_owned();
        let authinfo = format!("{}:{}", settings.username, settings.password);
        Ok(Api { wire: Wire::new(super::http_client(), "ispmanager", WIRE_SECRETS, CALL_TIMEOUT), url, authinfo, renewal_months: settings.renewal_months })
    }

    /// `create-license`: ordered (and paid) on its price list, renewed automatically each period.
    async fn create_license(&self, api: &mut Api<'_>, _call: &ProviderCall<'_>, p: CreateLicense) -> Answer {
        let (package, list) = package(p.package_identifier.as_deref())?;
        let ip = p.ip.as_deref().ok_or_else(|| ProviderFailure::permanent("an ispmanager licence is bound to an IP address: give ip"))?;
        let name = [p.service_identifier.as_deref(), p.customer_identifier.as_deref().filter(|c| !c.is_empty()), p.customer_email.as_deref()].into_iter().flatten().next().unwrap_or("licence");
        let mut params = vec![
            ("clicked_button", "finish".to_owned()),
            ("ip", ip.to_owned()),
            ("licname", name.to_owned()),
            ("period", period(p.billing_cycle_months, list)),
            ("pricelist", list.to_string()),
            // The vendor renews it from the account's balance each period (trials cannot be).
            ("autoprolong", if TRIALS.contains(&list) { "null".to_owned() } else { period(p.billing_cycle_months, list) }),
            ("sok", "ok".to_owned()),
            ("skipbasket", "on".to_owned()),
        ];
        if let Some(nodes) = p.extra.as_ref().and_then(|e| e.get("nodes")).and_then(Value::as_u64).filter(|_| list == 55230) {
            params.push((BUSINESS_NODES_ADDON, nodes.to_string()));
        }
        let ordered = api.call("soft.order.param", &params, false).await?;
        let id = field(&ordered, "id").or_else(|| field(&ordered, "elid")).ok_or_else(|| ProviderFailure::permanent("ispmanager answered soft.order.param without the licence id"))?;
        // Ordered (and paid): its key is read back, but a failed read is no reason to order
        // it again; the id stands in for the key until get-usage-data shows it.
        let licence = api.licence(&id).await.ok();
        let key = licence.as_ref().and_then(|l| field(l, "lickey")).unwrap_or_else(|| id.clone());
        let data = json!({ "license_key": key, "service_identifier": id, "package_identifier": package, "customer_identifier": p.customer_identifier });
        let data = strip_nulls(data);
        Ok((format!("ispmanager licence {id} ordered for {ip}"), data, Some(id)))
    }

    /// `reissue-license`: a new key (soft.edit with `clicked_button=newkey`), read back.
    async fn reissue_license(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = elid(call)?;
        api.call("soft.edit", &[("elid", id.clone()), ("clicked_button", "newkey".into()), ("sok", "ok".into())], false).await?;
        let licence = api.licence(&id).await?;
        let key = field(&licence, "lickey").ok_or_else(|| ProviderFailure::permanent(format!("ispmanager shows no key for licence {id}")))?;
        Ok((format!("a new key was made for licence {id}"), json!({ "license_key": key }), None))
    }

    /// `get-usage-data`: the licence as soft.edit shows it; its web domains are the units used.
    async fn get_usage_data(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = elid(call)?;
        let licence = api.licence(&id).await?;
        let mut usage = serde_json::Map::new();
        for k in ["licname", "ip", "lickey", "status", "createdate", "expiredate", "pricelist_name", "webdomains"] {
            if let Some(v) = field(&licence, k) {
                usage.insert(k.to_owned(), json!(v));
            }
        }
        let mut data = json!({ "usage_data": usage });
        if let Some(n) = field(&licence, "webdomains").and_then(|w| w.parse::<u64>().ok()) {
            data["units_consumed"] = json!(n);
        }
        Ok((format!("licence {id}"), data, None))
    }

    /// `upgrade-downgrade-license`: another price list (service.changepricelist).
    async fn upgrade_downgrade_license(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: ChangeLicense) -> Answer {
        let id = elid(call)?;
        let (package, list) = package(p.package_identifier.as_deref())?;
        api.call("service.changepricelist", &[("elid", id.clone()), ("pricelist", list.to_string()), ("period", period(p.billing_cycle_months, list)), ("sok", "ok".into())], false).await?;
        Ok((format!("licence {id} moved to {package}"), json!({ "license_key": p.license_key.as_deref().unwrap_or(&id), "package_identifier": package }), None))
    }

    /// `suspend-license`: soft.suspend.
    async fn suspend_license(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = elid(call)?;
        api.call("soft.suspend", &[("elid", id.clone())], false).await?;
        Ok((format!("licence {id} suspended"), json!({}), None))
    }

    /// `unsuspend-license`: soft.resume; a licence whose term ran out while suspended is renewed
    /// first (service.prolong).
    async fn unsuspend_license(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = elid(call)?;
        let licence = api.licence(&id).await?;
        let expired = field(&licence, "expiredate").and_then(|d| crate::domain::time::parse_datetime(&d)).is_some_and(|at| at < crate::domain::time::now_millis());
        let mut message = format!("licence {id} activated");
        if expired {
            let months = if api.renewal_months == Some(12) { "12" } else { "1" };
            api.call("service.prolong", &[("elid", id.clone()), ("period", months.to_owned()), ("sok", "ok".into())], false).await?;
            message = format!("licence {id} renewed for {months} month(s) and activated");
        }
        api.call("soft.resume", &[("elid", id.clone())], false).await?;
        Ok((message, json!({}), None))
    }

    /// `terminate-license`: soft.delete.
    async fn terminate_license(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let id = elid(call)?;
        api.call("soft.delete", &[("elid", id.clone()), ("sok", "ok".into())], false).await?;
        Ok((format!("licence {id} deleted"), json!({}), None))
    }
}

/// A call's price list: its `package_identifier` (an id, or a name of the vendor's table).
fn package(package: Option<&str>) -> Result<(String, u32), ProviderFailure> {
    let package = package.ok_or_else(|| ProviderFailure::permanent("an ispmanager licence needs package_identifier (a price list such as 55227, or a name such as \"ispmanager 6 lite\")"))?;
    let id = price_list(package).ok_or_else(|| {
        ProviderFailure::permanent(format!("{package:?} is not an ispmanager 6 price list (known: {})", PRICE_LISTS.iter().map(|(n, i)| format!("{n} = {i}")).collect::<Vec<_>>().join(", ")))
    })?;
    Ok((package.to_owned(), id))
}

/// The period a price list is ordered for: a trial's own, else 12 months where the billing
/// cycle is a year or more, else 1.
fn period(billing_cycle_months: Option<i64>, list: u32) -> String {
    if TRIALS.contains(&list) {
        "-100".into()
    } else if billing_cycle_months.is_some_and(|m| m >= 12) {
        "12".into()
    } else {
        "1".into()
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| !x.is_null());
    }
    v
}

session_of_api!(Ispmanager);

implements!(SoftwareLicenses for Ispmanager as ID, {
    create_license(CreateLicense),
    reissue_license,
    get_usage_data,
    upgrade_downgrade_license(ChangeLicense),
    suspend_license,
    unsuspend_license,
    terminate_license,
});

impl Connect for Ispmanager {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api(settings)?;
            // The licence list: a read that needs the credentials and changes nothing.
            let result = api.call("soft", &[], true).await;
            let connected = result.map(|_| ("connected to the ispmanager billing system".to_owned(), json!({ "connected": true }), None));
            super::with_debug(connected, api.wire.take_debug())
        })
    }
}

/// ispmanager licences (software licences), settings named as the reference framework names them.
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // The e-mail of the account at eu.ispmanager.com (two-factor authentication off).
        .req("username", string_max(255))
        .req("password", secret())
        // How long a licence that expired while suspended is renewed for when it is activated
        // again: 1 or 12 months (default 1).
        .opt("renewal_months", int_range(1, 12))
        .opt("api_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "software-licenses",
        name: "ispmanager",
        description: "ispmanager 6 licences bought through an account of the ispmanager billing system (packages are its price lists)",
        settings,
        supported_actions: <Ispmanager as super::blueprints::Implements>::supported("software-licenses"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::ids::ConfigurationId;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PASSWORD: &str = "isp-pw-Sup3rSecret";

    fn doc(v: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "doc": v }))
    }

    async fn run_on(isp: &MockServer, action: &str, params: Value, identifier: Option<&str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("software-licenses", action).unwrap();
        let id = ConfigurationId::parse("cfg-isp").unwrap();
        let settings = json!({ "username": "reseller@example.com", "password": PASSWORD, "api_url": format!("{}/manager/billmgr", isp.uri()) });
        let out = super::super::blueprints::Implementation::SoftwareLicenses(std::sync::Arc::new(Ispmanager::new())).run(ProviderCall::for_service(b, a, &id, &settings, &params, identifier)).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
            assert!(!serde_json::to_string(&o.debug).unwrap().contains(PASSWORD));
        }
        out
    }

    #[tokio::test]
    async fn a_licence_is_ordered_on_its_price_list_read_back_and_managed_by_its_id() {
        let isp = MockServer::start().await;
        let func = |f: &str| body_string_contains(format!("func={f}&"));
        Mock::given(method("POST"))
            .and(path("/manager/billmgr"))
            .and(func("soft.order.param"))
            .and(body_string_contains("authinfo=reseller%40example.com%3Aisp-pw-Sup3rSecret"))
            .and(body_string_contains("pricelist=55227"))
            .and(body_string_contains("period=12"))
            .and(body_string_contains("ip=203.0.113.10"))
            .and(body_string_contains("skipbasket=on"))
            .and(body_string_contains("autoprolong=12"))
            .respond_with(doc(json!({ "id": { "$": "3157001" }, "ok": {} })))
            .expect(1)
            .mount(&isp)
            .await;
        Mock::given(func("soft.edit")).respond_with(doc(json!({ "model": { "lickey": { "$": "3157001-AbCd" }, "licname": { "$": "shop" }, "status": { "$": "3" }, "webdomains": { "$": "7" }, "ip": { "$": "203.0.113.10" }, "expiredate": { "$": "2026-01-31" } } }))).mount(&isp).await;
        for f in ["service.changepricelist", "soft.suspend", "soft.resume", "soft.delete", "service.prolong"] {
            Mock::given(func(f)).and(body_string_contains("elid=3157001")).respond_with(doc(json!({ "ok": {} }))).expect(1).mount(&isp).await;
        }
        let made = run_on(
            &isp,
            "create-license",
            json!({ "customer_name": "Jo", "customer_email": "jo@shop.example", "package_identifier": "ispmanager 6 lite", "ip": "203.0.113.10", "billing_cycle_months": 12 }),
            None,
        )
        .await
        .unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some("3157001"));
        assert_eq!(made.data["license_key"], "3157001-AbCd");
        let usage = run_on(&isp, "get-usage-data", json!({ "license_key": "3157001" }), Some("3157001")).await.unwrap();
        assert_eq!(usage.data["units_consumed"], 7);
        run_on(&isp, "upgrade-downgrade-license", json!({ "license_key": "3157001", "package_identifier": "55228" }), Some("3157001")).await.unwrap();
        run_on(&isp, "suspend-license", json!({ "license_key": "3157001" }), Some("3157001")).await.unwrap();
        let resumed = run_on(&isp, "unsuspend-license", json!({ "license_key": "3157001" }), Some("3157001")).await.unwrap();
        assert_eq!(resumed.message, "licence 3157001 renewed for 1 month(s) and activated", "it had expired: prolonged first");
        run_on(&isp, "terminate-license", json!({ "license_key": "3157001-AbCd" }), Some("3157001-AbCd")).await.unwrap();
        let f =
            run_on(&isp, "create-license", json!({ "customer_name": "Jo", "customer_email": "jo@shop.example", "package_identifier": "ispmanager 5", "ip": "203.0.113.10" }), None).await.unwrap_err();
        assert!(f.message.contains("not an ispmanager 6 price list") && f.debug.is_empty(), "nothing is sent: {}", f.message);
    }

    #[tokio::test]
    async fn refusals_bad_credentials_outages_and_bad_bodies_are_clear_failures() {
        let isp = MockServer::start().await;
        Mock::given(body_string_contains("func=soft.suspend&")).respond_with(doc(json!({ "error": { "type": "access", "msg": { "$": "Access denied to the licence" } } }))).mount(&isp).await;
        Mock::given(body_string_contains("func=service.changepricelist&"))
            .respond_with(doc(json!({ "error": { "type": "auth", "object": "badpassword", "msg": { "$": "Invalid username or password" } } })))
            .mount(&isp)
            .await;
        Mock::given(body_string_contains("func=soft.edit&")).respond_with(ResponseTemplate::new(503)).mount(&isp).await;
        Mock::given(body_string_contains("func=soft.delete&")).respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>")).mount(&isp).await;
        let id = Some("3157001");
        let f = run_on(&isp, "suspend-license", json!({ "license_key": "3157001" }), id).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "ispmanager refused soft.suspend: Access denied to the licence"));
        let f = run_on(&isp, "upgrade-downgrade-license", json!({ "license_key": "3157001", "package_identifier": "55228" }), id).await.unwrap_err();
        assert!(f.message.contains("refused the username and password"), "{}", f.message);
        assert!(!serde_json::to_string(&f.debug).unwrap().contains(PASSWORD), "authinfo is masked");
        let f = run_on(&isp, "get-usage-data", json!({ "license_key": "3157001" }), id).await.unwrap_err();
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "a read is tried twice");
        assert!(run_on(&isp, "terminate-license", json!({ "license_key": "3157001" }), id).await.unwrap_err().message.contains("malformed"));
        let f = run_on(&isp, "sync-tracked-product-quantities", json!({ "license_key": "3157001", "quantities": [] }), id).await.unwrap_err();
        assert!(f.message.contains("not supported by ispmanager"));
    }
}
