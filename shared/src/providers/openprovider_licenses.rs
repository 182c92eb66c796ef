//! The `openprovider-licenses` provider (software licences): Plesk and Virtuozzo licences bought
//! through an OpenProvider reseller account, with OpenProvider's REST API v1beta as
//! ../shared/specs/openprovider/swagger.json describes it (the account's client, login and token
//! cache are the `openprovider` provider's).
//!
//! A licence is addressed by its key id (`key_id`), which is the service identifier; its key
//! number and activation code are answered beside it. The `product` setting says which licences
//! the configuration sells (`plesk`, the default, or `virtuozzo`); a package is the licence's
//! items (`PLESK-12-VPS-WEB-HOST-1M`, more joined by `,`), the billing cycle its period in
//! months. Calls: Create<Product>License, Get<Product>License, Update<Product>License (items and
//! period for a change of package; `suspended` for suspend and unsuspend), Delete<Product>License
//! and ResetHwid (a reissue: the licence is freed from the server it was bound to).
//!
//! A new licence's title carries a digest of its contract product, so a create whose answer was
//! lost is found by `title_pattern` rather than bought twice.

use crate::catalogue::schema::{address, boolean, one_of, params, secret, string_max};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blueprints::{Answer, Session, implements};
use super::openprovider::{Api, OpenProvider};
use super::params::{non_empty, or_default, settings_as};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "openprovider-licenses";
/// OpenProvider's wire secrets and a licence's activation code (which activates it on any
/// server where its IP binding is not enforced; the result still carries it).
pub const WIRE_SECRETS: &[&str] = &["password", "token", "activation_code"];
/// How many licences a page of the account's list holds.
const LIST_PAGE: u64 = 100;
/// How a licence's title marks its contract product.
const MARK_PREFIX: &str = "cp-";

pub struct OpenProviderLicenses {
    account: OpenProvider,
}

impl Default for OpenProviderLicenses {
    fn default() -> Self {
        Self::new()
    }
}

/// The settings besides the account's (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    #[serde(default, deserialize_with = "non_empty")]
    product: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    restrict_ip_binding: bool,
}

/// `create-license`
#[derive(Deserialize, Serialize)]
struct CreateLicense {
    customer_name: String,
    customer_email: String,
    #[serde(default, deserialize_with = "non_empty")]
    company_name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    package_identifier: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    ip: Option<String>,
    #[serde(default)]
    billing_cycle_months: Option<i64>,
}

/// `upgrade-downgrade-license`
#[derive(Deserialize, Serialize)]
struct ChangePackage {
    package_identifier: String,
    #[serde(default)]
    billing_cycle_months: Option<i64>,
}

/// A session: the OpenProvider account's client and the licences' product.
pub struct Cx<'a> {
    api: Api<'a>,
    product: &'static str,
    restrict_ip_binding: bool,
}

impl Cx<'_> {
    /// The licence's record (Get<Product>License).
    async fn license(&mut self, key_id: i64) -> Result<Value, ProviderFailure> {
        self.api.get(&format!("Get{}License", title(self.product)), &format!("licenses/{}/{key_id}", self.product)).await
    }

    /// Update<Product>License with these fields.
    async fn update(&mut self, key_id: i64, mut fields: Value) -> Result<Value, ProviderFailure> {
        fields["key_id"] = json!(key_id);
        self.api.put(&format!("Update{}License", title(self.product)), &format!("licenses/{}/{key_id}", self.product), fields).await
    }
}

/// `plesk` → `Plesk` (OpenProvider's operation names).
fn title(product: &str) -> String {
    let mut c = product.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

/// The items a package names (`PLESK-12-VPS-WEB-HOST-1M`, more joined by `,`).
fn items(package: &str) -> Vec<String> {
    package.split(',').map(str::trim).filter(|i| !i.is_empty()).map(str::to_owned).collect()
}

/// A contract product's mark in a licence title (a digest: the id itself stays ours).
fn mark(contract_product_id: &str) -> String {
    format!("{MARK_PREFIX}{}", super::digest_hex(contract_product_id, 8))
}

/// The key id a call acts on: the contract product's service identifier.
fn key_id(call: &ProviderCall<'_>) -> Result<i64, ProviderFailure> {
    let raw = call.subject().unwrap_or_default();
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| ProviderFailure::permanent(format!("{raw:?} is not an OpenProvider licence key id (a positive number)")))
}

/// The catalogue's licence result for a licence record.
fn license_data(key_id: i64, l: &Value) -> Value {
    let mut out = json!({ "license_key": key_id.to_string(), "service_identifier": key_id.to_string() });
    let items: Vec<&str> = l["items"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !items.is_empty() {
        out["package_identifier"] = json!(items.join(","));
    }
    for k in ["key_number", "activation_code", "status", "expiration_date", "ip_address_binding", "period", "product"] {
        if !l[k].is_null() && l[k] != "" {
            out[k] = l[k].clone();
        }
    }
    out
}

impl OpenProviderLicenses {
    pub fn new() -> Self {
        OpenProviderLicenses { account: OpenProvider::new() }
    }

    fn cx<'a>(&'a self, configuration: &str, settings: &Value) -> Result<Cx<'a>, ProviderFailure> {
        let own: Settings = settings_as(ID, settings)?;
        let product = match own.product.as_deref() {
            None | Some("plesk") => "plesk",
            Some("virtuozzo") => "virtuozzo",
            Some(other) => return Err(ProviderFailure::permanent(format!("{other:?} is not a licence product of OpenProvider (plesk or virtuozzo)"))),
        };
        let api = self.account.api_with(configuration, settings, WIRE_SECRETS)?;
        Ok(Cx { api, product, restrict_ip_binding: own.restrict_ip_binding })
    }

    /// `create-license`: a licence titled with the customer and a mark of its contract product;
    /// one already marked (an earlier try whose answer was lost) is answered instead.
    async fn create_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>, p: CreateLicense) -> Answer {
        let package = p.package_identifier.as_deref().ok_or_else(|| ProviderFailure::permanent("the package names the licence's items (such as PLESK-12-VPS-WEB-HOST-1M)"))?;
        let mark = call.contract_product_id.map(mark);
        let product = cx.product;
        if let Some(mark) = &mark {
            let found = cx.api.get(&format!("List{}Licenses", title(product)), &format!("licenses/{product}?title_pattern=*{mark}*&limit=1")).await?;
            if let Some(key_id) = found["results"].as_array().and_then(|r| r.first()).and_then(|l| l["key_id"].as_i64()) {
                let l = cx.license(key_id).await?;
                return Ok((format!("licence {key_id} was bought by an earlier try whose answer was lost: not bought again"), license_data(key_id, &l), Some(key_id.to_string())));
            }
        }
        let who = p.company_name.as_deref().unwrap_or(&p.customer_name);
        let named: String = match &mark {
            Some(m) => format!("{} {m}", who.chars().take(60).collect::<String>()),
            None => who.chars().take(80).collect(),
        };
        let mut body = json!({ "title": named, "items": items(package), "comment": format!("{} <{}>", p.customer_name, p.customer_email) });
        if let Some(months) = p.billing_cycle_months.filter(|m| *m > 0) {
            body["period"] = json!(months);
        }
        if let Some(ip) = &p.ip {
            body["ip_address_binding"] = json!(ip);
            body["restrict_ip_binding"] = json!(cx.restrict_ip_binding);
        }
        let made = cx.api.post(&format!("Create{}License", title(product)), &format!("licenses/{product}"), body).await?;
        // Bought, but which licence it is was not said: the title's mark finds it on the next try.
        let key_id = made["key_id"].as_i64().ok_or_else(|| ProviderFailure {
            kind: FailureKind::Timeout,
            message: format!("OpenProvider answered Create{}License without a key id", title(product)),
            debug: vec![],
        })?;
        let l = cx.license(key_id).await.map_err(super::made_but_unread)?;
        Ok((format!("{product} licence {key_id} bought"), license_data(key_id, &l), Some(key_id.to_string())))
    }

    /// `reissue-license`: the licence freed from the hardware it was bound to (ResetHwid), so
    /// it can be activated again elsewhere.
    async fn reissue_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let key_id = key_id(call)?;
        let product = cx.product;
        let answer = cx.api.post("ResetHwid", &format!("licenses/hwids/reset/{product}/{key_id}"), json!({ "key_id": key_id, "product": product })).await?;
        if answer["success"] == false {
            return Err(ProviderFailure::permanent(format!("OpenProvider did not reset the hardware id of licence {key_id}")));
        }
        let l = cx.license(key_id).await.map_err(super::made_but_unread)?;
        Ok((format!("licence {key_id} reissued: its hardware binding was reset"), license_data(key_id, &l), None))
    }

    /// `get-usage-data`: the licence as OpenProvider holds it (status, expiry, items, binding).
    async fn get_usage_data(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let key_id = key_id(call)?;
        let l = cx.license(key_id).await?;
        let mut usage = license_data(key_id, &l);
        for k in ["license_key", "service_identifier"] {
            usage.as_object_mut().map(|o| o.remove(k));
        }
        Ok((format!("licence {key_id}: {}", str_of(&l, "status").unwrap_or("status unknown")), json!({ "usage_data": usage }), None))
    }

    /// `upgrade-downgrade-license`: the licence's items (and period) changed.
    async fn upgrade_downgrade_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>, p: ChangePackage) -> Answer {
        let key_id = key_id(call)?;
        let mut fields = json!({ "items": items(&p.package_identifier) });
        if let Some(months) = p.billing_cycle_months.filter(|m| *m > 0) {
            fields["period"] = json!(months);
        }
        cx.update(key_id, fields).await?;
        let l = cx.license(key_id).await.map_err(super::made_but_unread)?;
        Ok((format!("licence {key_id} now has {}", p.package_identifier), license_data(key_id, &l), None))
    }

    /// `suspend-license`
    async fn suspend_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let key_id = key_id(call)?;
        cx.update(key_id, json!({ "suspended": true })).await?;
        Ok((format!("licence {key_id} suspended"), json!({}), None))
    }

    /// `unsuspend-license`
    async fn unsuspend_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let key_id = key_id(call)?;
        cx.update(key_id, json!({ "suspended": false })).await?;
        Ok((format!("licence {key_id} active again"), json!({}), None))
    }

    /// `terminate-license`
    async fn terminate_license(&self, cx: &mut Cx<'_>, call: &ProviderCall<'_>) -> Answer {
        let key_id = key_id(call)?;
        let product = cx.product;
        cx.api.send(&format!("Delete{}License", title(product)), reqwest::Method::DELETE, &format!("licenses/{product}/{key_id}"), super::wire::Body::None).await?;
        Ok((format!("licence {key_id} deleted"), json!({}), None))
    }
}

impl Session for OpenProviderLicenses {
    type Cx<'s> = Cx<'s>;

    fn open<'s>(&'s self, call: &ProviderCall<'_>) -> BoxFuture<'s, Result<Cx<'s>, ProviderFailure>> {
        let cx = self.cx(call.configuration_id.as_str(), call.settings);
        Box::pin(async move { cx })
    }

    fn debug(mut cx: Cx<'_>) -> Vec<Value> {
        cx.api.wire.take_debug()
    }
}

// Quantities are not OpenProvider's: a licence's items are its package.
implements!(SoftwareLicenses for OpenProviderLicenses as ID, {
    create_license(CreateLicense),
    reissue_license,
    get_usage_data,
    upgrade_downgrade_license(ChangePackage),
    suspend_license,
    unsuspend_license,
    terminate_license,
});

impl Connect for OpenProviderLicenses {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut cx = self.cx("connection-check", settings)?;
            let product = cx.product;
            // A fresh login: the check is of the credentials, not of a cached token.
            let result = match cx.api.login().await {
                Ok(_) => cx.api.get(&format!("List{}Licenses", title(product)), &format!("licenses/{product}?limit=1")).await,
                Err(f) => Err(f),
            };
            let connected = result.map(|list| {
                let total = list["total"].as_i64().map(|n| format!(": {n} {product} licences in the account")).unwrap_or_default();
                (format!("connected to OpenProvider{total}"), json!({ "connected": true }), None)
            });
            super::with_debug(connected, cx.api.wire.take_debug())
        })
    }

    /// The account's licences of the configured product, 100 a page (`page` is the offset).
    fn list_services<'a>(&'a self, _blueprint: &'a str, configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            let offset: u64 = page.map(|p| p.parse().map_err(|_| ProviderFailure::permanent(format!("{p:?} is not a page of OpenProvider's licence list")))).transpose()?.unwrap_or(0);
            let mut cx = self.cx(configuration.as_str(), settings)?;
            let product = cx.product;
            let listed = cx.api.get(&format!("List{}Licenses", title(product)), &format!("licenses/{product}?limit={LIST_PAGE}&offset={offset}")).await;
            let debug = cx.api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let results = list["results"].as_array().cloned().unwrap_or_default();
            let services = results
                .iter()
                .filter_map(|l| {
                    let suspended = str_of(l, "status").map(|s| s.eq_ignore_ascii_case("suspended"));
                    Some(Listed { service_identifier: l["key_id"].as_i64()?.to_string(), label: str_of(l, "key_number").or(str_of(l, "title")).map(str::to_owned), suspended })
                })
                .collect();
            let seen = offset + results.len() as u64;
            let next = (!results.is_empty() && seen < list["total"].as_u64().unwrap_or(0)).then(|| seen.to_string());
            Ok(Listing { services, next, debug })
        })
    }
}

/// Plesk and Virtuozzo licences through OpenProvider (software licences).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        .req("username", string_max(255))
        .req("password", secret())
        .opt("test_mode", address(boolean()))
        .opt("api_url", address(super::api_url()))
        // Which licences this configuration sells.
        .opt("product", one_of(&["plesk", "virtuozzo"]))
        // Whether a licence given an IP address works on that address only.
        .opt("restrict_ip_binding", boolean())
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "software-licenses",
        name: "Plesk and Virtuozzo licences (OpenProvider)",
        description: "Plesk or Virtuozzo licences bought through an OpenProvider reseller account (REST API v1beta)",
        settings,
        supported_actions: <OpenProviderLicenses as super::blueprints::Implements>::supported("software-licenses"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;

    use wiremock::matchers::{body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PASSWORD: &str = "lic-pw-Sup3rSecret";
    const TOKEN: &str = "lic-token-abc123";

    fn ok(data: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({ "code": 0, "desc": "", "data": data }))
    }

    fn license(suspended: bool) -> Value {
        json!({ "key_id": 5501, "key_number": "PLSK.01234567.0000", "activation_code": "A00B00-ABCD12-EFGH34-IJKL56-MNOP78", "status": if suspended { "SUS" } else { "ACT" },
            "items": ["PLESK-12-VPS-WEB-HOST-1M"], "period": 1, "product": "plesk", "expiration_date": "2026-12-30", "ip_address_binding": "192.0.2.10", "title": "Shop Ltd cp-x" })
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
        let (b, a) = catalogue().action("software-licenses", action).unwrap();
        let id = ConfigurationId::parse("cfg-lic").unwrap();
        let settings = json!({ "username": "reseller", "password": PASSWORD, "api_url": op.uri(), "restrict_ip_binding": true });
        let si = (action != "create-license").then_some("5501");
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: si, following: None, contract_product_id: product };
        let out = super::super::blueprints::Implementation::SoftwareLicenses(std::sync::Arc::new(OpenProviderLicenses::new())).run(call).await;
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
    async fn a_plesk_licence_is_bought_marked_changed_suspended_reissued_and_deleted() {
        let op = openprovider().await;
        let m = mark("cp-7");
        Mock::given(method("GET"))
            .and(path("/v1beta/licenses/plesk"))
            .and(query_param("title_pattern", format!("*{m}*").as_str()))
            .respond_with(ok(json!({ "results": [], "total": 0 })))
            .mount(&op)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1beta/licenses/plesk"))
            .and(body_partial_json(json!({ "title": format!("Shop Ltd {m}"), "items": ["PLESK-12-VPS-WEB-HOST-1M"], "period": 1, "ip_address_binding": "192.0.2.10", "restrict_ip_binding": true })))
            .respond_with(ok(json!({ "key_id": 5501, "attached_keys": [] })))
            .expect(1)
            .mount(&op)
            .await;
        Mock::given(method("GET")).and(path("/v1beta/licenses/plesk/5501")).respond_with(ok(license(false))).mount(&op).await;
        let made = run_for(
            &op,
            "create-license",
            json!({ "customer_name": "Jo Doe", "customer_email": "jo@shop.example", "company_name": "Shop Ltd", "package_identifier": "PLESK-12-VPS-WEB-HOST-1M", "ip": "192.0.2.10", "billing_cycle_months": 1 }),
            Some("cp-7"),
        )
        .await
        .unwrap();
        assert_eq!(made.service_identifier.as_deref(), Some("5501"));
        assert_eq!((made.data["license_key"].as_str(), made.data["key_number"].as_str()), (Some("5501"), Some("PLSK.01234567.0000")));

        Mock::given(method("PUT"))
            .and(path("/v1beta/licenses/plesk/5501"))
            .and(body_partial_json(json!({ "key_id": 5501, "items": ["PLESK-12-VPS-WEB-PRO-1M", "EXT-WPT-1M"], "period": 12 })))
            .respond_with(ok(json!({ "success": true })))
            .expect(1)
            .mount(&op)
            .await;
        let changed = run(&op, "upgrade-downgrade-license", json!({ "license_key": "5501", "package_identifier": "PLESK-12-VPS-WEB-PRO-1M, EXT-WPT-1M", "billing_cycle_months": 12 })).await.unwrap();
        assert_eq!(changed.data["license_key"], "5501");
        for (action, suspended) in [("suspend-license", true), ("unsuspend-license", false)] {
            Mock::given(method("PUT"))
                .and(path("/v1beta/licenses/plesk/5501"))
                .and(body_partial_json(json!({ "key_id": 5501, "suspended": suspended })))
                .respond_with(ok(json!({ "success": true })))
                .expect(1)
                .mount(&op)
                .await;
            run(&op, action, json!({ "license_key": "5501" })).await.unwrap();
        }
        Mock::given(method("POST"))
            .and(path("/v1beta/licenses/hwids/reset/plesk/5501"))
            .and(body_partial_json(json!({ "key_id": 5501, "product": "plesk" })))
            .respond_with(ok(json!({ "success": true })))
            .expect(1)
            .mount(&op)
            .await;
        run(&op, "reissue-license", json!({ "license_key": "5501" })).await.unwrap();
        let usage = run(&op, "get-usage-data", json!({ "license_key": "5501" })).await.unwrap();
        assert_eq!(usage.data["usage_data"]["status"], "ACT");
        Mock::given(method("DELETE")).and(path("/v1beta/licenses/plesk/5501")).respond_with(ok(json!({ "success": true }))).expect(1).mount(&op).await;
        run(&op, "terminate-license", json!({ "license_key": "5501" })).await.unwrap();
        let f = run(&op, "sync-tracked-product-quantities", json!({ "license_key": "5501", "quantities": [] })).await.unwrap_err();
        assert_eq!(f.message, "software-licenses/sync-tracked-product-quantities is not supported by openprovider-licenses");
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_finds_the_marked_licence_instead_of_buying_another() {
        let op = openprovider().await;
        Mock::given(method("GET"))
            .and(path("/v1beta/licenses/plesk"))
            .and(query_param("title_pattern", format!("*{}*", mark("cp-lost")).as_str()))
            .respond_with(ok(json!({ "results": [license(false)], "total": 1 })))
            .mount(&op)
            .await;
        Mock::given(method("GET")).and(path("/v1beta/licenses/plesk/5501")).respond_with(ok(license(false))).mount(&op).await;
        Mock::given(method("POST")).and(path("/v1beta/licenses/plesk")).respond_with(ok(json!({ "key_id": 1 }))).expect(0).mount(&op).await;
        let out =
            run_for(&op, "create-license", json!({ "customer_name": "Jo", "customer_email": "jo@shop.example", "package_identifier": "PLESK-12-VPS-WEB-HOST-1M" }), Some("cp-lost")).await.unwrap();
        assert!(out.message.contains("not bought again"), "{}", out.message);
        assert_eq!(out.service_identifier.as_deref(), Some("5501"));
    }

    #[tokio::test]
    async fn missing_licences_rate_limits_outages_and_bad_bodies_are_clear_failures() {
        let op = openprovider().await;
        Mock::given(path("/v1beta/licenses/plesk/404")).respond_with(ResponseTemplate::new(404).set_body_json(json!({ "code": 320, "desc": "License not found" }))).mount(&op).await;
        Mock::given(path("/v1beta/licenses/plesk/429")).respond_with(ResponseTemplate::new(429)).mount(&op).await;
        Mock::given(path("/v1beta/licenses/plesk/500")).respond_with(ResponseTemplate::new(500)).mount(&op).await;
        Mock::given(path("/v1beta/licenses/plesk/200")).respond_with(ResponseTemplate::new(200).set_body_string("not json")).mount(&op).await;
        let usage = |id: &str| {
            let op = &op;
            let id = id.to_owned();
            async move {
                let (b, a) = catalogue().action("software-licenses", "get-usage-data").unwrap();
                let cfg = ConfigurationId::parse("cfg-lic").unwrap();
                let settings = json!({ "username": "reseller", "password": PASSWORD, "api_url": op.uri() });
                let params = json!({ "license_key": id });
                let call = ProviderCall::for_service(b, a, &cfg, &settings, &params, Some(&id));
                super::super::blueprints::Implementation::SoftwareLicenses(std::sync::Arc::new(OpenProviderLicenses::new())).run(call).await.unwrap_err()
            }
        };
        let f = usage("404").await;
        assert_eq!(f.kind, FailureKind::Permanent);
        assert!(f.message.contains("License not found"), "{}", f.message);
        let f = usage("429").await;
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 3), "login, then the read tried twice");
        assert_eq!(usage("500").await.kind, FailureKind::Transient);
        assert!(usage("200").await.message.contains("malformed"));
        let f = usage("PLSK-1").await;
        assert!(f.message.contains("not an OpenProvider licence key id") && f.debug.is_empty());
        let f = run(&op, "create-license", json!({ "customer_name": "Jo", "customer_email": "jo@shop.example" })).await.unwrap_err();
        assert!(f.message.contains("package names the licence's items"), "{}", f.message);
    }
}
