//! Providers: one third party's implementation of a blueprint. Each declares the settings a
//! provision configuration of it needs (a schema; secret fields marked `x-secret`) and the
//! actions it supports. Every blueprint has `demo`, a working simulation.
//!
//! An implementation gets a call whose params were already checked against the action's schema
//! and whose settings are opened; it answers with result data (checked against the result
//! schema by the engine) or a failure that says whether trying again may help. Every exchange
//! with the third party goes into `debug`; the engine masks secrets in it by schema.

pub mod blueprints;
pub mod cpanel;
pub mod demo;
pub mod duda;
pub mod epp;
pub mod google_workspace;
pub mod hetzner;
pub mod http;
pub mod ispmanager;
pub mod linode;
pub mod marketgoo;
pub mod net;
pub mod openprovider;
pub mod openprovider_licenses;
pub mod params;
pub mod plesk;
pub mod proxmox;
pub mod realtime_register;
pub mod registry;
pub mod spamexperts;
pub mod wire;

pub use net::{check_destination, check_handler_url, handler_client, http_client, local_host, test_doubles_allowed};
pub use registry::{Implementations, provider, provider_ids, providers};

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::{Action, Blueprint, catalogue};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub use crate::ports::BoxFuture;

/// One action for an implementation to carry out.
#[derive(Clone, Copy)]
pub struct ProviderCall<'a> {
    pub blueprint: &'static Blueprint,
    pub action: &'static Action,
    pub configuration_id: &'a ConfigurationId,
    /// The configuration's settings, secrets opened.
    pub settings: &'a Value,
    /// Checked against the action's params schema.
    pub params: &'a Value,
    /// The contract product's identifier at the third party (none before a create).
    pub service_identifier: Option<&'a str>,
    /// When get-info runs to follow a long-running action the provider reported in progress:
    /// that action's id (a provider may then say how that very operation ended).
    pub following: Option<&'static str>,
    /// The contract product the call is for (a provider without a natural key for a create may
    /// mark what it makes with it, so a create whose answer was lost is found, not made twice).
    pub contract_product_id: Option<&'a str>,
}

#[cfg(test)]
impl<'a> ProviderCall<'a> {
    /// A call on a service as the engine makes it, not following anything, for no named
    /// contract product (tests).
    pub(crate) fn for_service(
        blueprint: &'static Blueprint,
        action: &'static Action,
        configuration_id: &'a ConfigurationId,
        settings: &'a Value,
        params: &'a Value,
        service_identifier: Option<&'a str>,
    ) -> Self {
        ProviderCall { blueprint, action, configuration_id, settings, params, service_identifier, following: None, contract_product_id: None }
    }
}

impl ProviderCall<'_> {
    /// The service this call acts on, as the third party knows it. Only an action that
    /// establishes it (a create, a domain's register or transfer) reads it from its params (the
    /// blueprint's identifier fields: `sld`.`tld` for domains); every other action acts on the
    /// contract product's service identifier alone, whatever its params say.
    pub fn subject(&self) -> Option<String> {
        if !self.action.establishes_identifier() {
            return self.service_identifier.filter(|s| !s.is_empty()).map(str::to_owned);
        }
        match self.blueprint.identifier_fields {
            ["sld", "tld"] => Some(format!("{}.{}", str_of(self.params, "sld")?, str_of(self.params, "tld")?.trim_start_matches('.')).to_lowercase()),
            [field] => str_of(self.params, field).map(str::to_owned),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderOutput {
    pub message: String,
    pub data: Value,
    /// The service identifier after the action, when it made or changed it.
    pub service_identifier: Option<String>,
    pub debug: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct ProviderFailure {
    pub kind: FailureKind,
    /// Safe for end users: no credentials, no internals.
    pub message: String,
    pub debug: Vec<Value>,
}

/// A non-empty string field of a JSON object (settings, params, a vendor's answer).
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A short digest of `source` (the hex of its SHA-256's first `bytes` bytes): how a provider
/// marks a vendor's object as a contract product's without giving the vendor our identifier.
pub(crate) fn digest_hex(source: &str, bytes: usize) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, source.as_bytes());
    digest.as_ref()[..bytes.min(32)].iter().map(|b| format!("{b:02x}")).collect()
}

/// A contract product's mark in a vendor's record (`pv-` and a digest: the id itself stays
/// ours), by which a create knows what an earlier try of it made.
pub(crate) fn product_mark(contract_product_id: &str) -> String {
    format!("pv-{}", digest_hex(contract_product_id, 8))
}

/// The host a glue record action names (`hostname`, lower case), which must be under `domain`.
pub(crate) fn glue_host(hostname: &str, domain: &str) -> Result<String, ProviderFailure> {
    let host = hostname.to_lowercase();
    if !host.ends_with(&format!(".{domain}")) {
        return Err(ProviderFailure::permanent(format!("{host} is not under {domain}: a glue record names a host of the domain")));
    }
    Ok(host)
}

/// A catalogue phone (`+44.2071234567`, or without the dot) as `+CC.NUMBER` (EPP's form; OpenProvider splits it at the dot).
pub(crate) fn e164(phone: &str) -> String {
    if phone.contains('.') {
        return phone.to_owned();
    }
    let digits = phone.trim_start_matches('+');
    const TWO: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
        "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    let cc = if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO.iter().any(|p| digits.starts_with(p)) {
        2
    } else {
        3
    };
    format!("+{}.{}", &digits[..cc.min(digits.len())], &digits[cc.min(digits.len())..])
}

/// A failure after the action's change was made (reading the result back): a timeout, so the
/// engine checks with get-info before it would send the change again.
pub fn made_but_unread(f: ProviderFailure) -> ProviderFailure {
    ProviderFailure { kind: FailureKind::Timeout, message: format!("done, but reading the result back failed: {}", f.message), debug: f.debug }
}

/// What an action answered (message, data, new service identifier), with its exchanges.
pub type Answered = (String, Value, Option<String>);

/// An action's output or failure, each with the exchanges recorded on the way.
/// A failure that carries the exchanges made before it (for the log's debug), as the call's
/// answer would: `result.map_err(failed_after(&debug))`.
pub fn failed_after(debug: &[Value]) -> impl FnOnce(ProviderFailure) -> ProviderFailure + '_ {
    move |mut f| {
        f.debug = debug.to_vec();
        f
    }
}

pub fn with_debug(result: Result<Answered, ProviderFailure>, debug: Vec<Value>) -> Result<ProviderOutput, ProviderFailure> {
    match result {
        Ok((message, data, service_identifier)) => Ok(ProviderOutput { message, data, service_identifier, debug }),
        Err(mut f) => {
            f.debug = debug;
            Err(f)
        }
    }
}

impl ProviderFailure {
    pub fn permanent(message: impl Into<String>) -> Self {
        ProviderFailure { kind: FailureKind::Permanent, message: message.into(), debug: Vec::new() }
    }
}

/// One service an account at a third party holds, as it lists them (for a bulk import).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    /// What the blueprint's actions know it by (a username, a domain, a server id).
    pub service_identifier: String,
    /// A name a person recognises it by (its domain, its server's name), where it differs.
    pub label: Option<String>,
    pub suspended: Option<bool>,
}

/// A page of what an account holds, and where the next page starts (none: the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub services: Vec<Listed>,
    pub next: Option<String>,
    /// The exchanges with the third party, for the log's debug.
    pub debug: Vec<Value>,
}

/// The answer of a provider that cannot list what an account holds.
pub const CANNOT_LIST: &str = "cannot list the services of an account";

/// What every provider does besides its blueprint's actions.
pub trait Connect: Send + Sync {
    /// Checks a configuration's credentials against the third party, changing nothing there.
    fn test_connection<'a>(&'a self, blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>>;

    /// The services a configuration's account holds, a page at a time (`page`: where the last
    /// answer said the next starts), changing nothing there: what a bulk import offers. Not
    /// every third party can list ([`CANNOT_LIST`]).
    fn list_services<'a>(&'a self, _blueprint: &'a str, _configuration: &'a ConfigurationId, _settings: &'a Value, _page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async { Err(ProviderFailure::permanent(CANNOT_LIST)) })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderSpec {
    pub id: &'static str,
    pub blueprint: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of a configuration's settings.
    pub settings: Value,
    pub supported_actions: Vec<&'static str>,
    /// Field names that carry secrets on this provider's wire and in its free-form answers
    /// (passwords, tokens, auth codes): masked at any depth in the log's debug and data.
    #[serde(skip)]
    pub wire_secrets: &'static [&'static str],
}

/// A vendor API's address, when not its public one (a proxy; a local double in tests): https,
/// or plain http to this machine (refused at call time unless test doubles are allowed: see
/// [`check_destination`]); no query or fragment, so the paths appended stay paths.
pub(crate) fn api_url() -> Value {
    crate::catalogue::schema::pattern("^(https://[^\\s?#]+|http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?(/[^\\s?#]*)?)$")
}

/// Every action of a blueprint (the demo and http providers carry out each one).
pub(crate) fn every_action(blueprint: &str) -> Vec<&'static str> {
    catalogue().blueprint(blueprint).map(|b| b.actions.iter().map(|a| a.id).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::net::{handler_url_ok, private_ip, usable_addresses};
    use super::*;

    /// Whatever a call's params say, a real provider acts on the contract product's service
    /// identifier: params naming another account (which the engine refuses before this) never
    /// reach the vendor. Every supported action that does not establish the service is run with
    /// every identifier and ownership field naming "mallory"; no request may name it.
    #[tokio::test]
    async fn params_naming_another_account_never_reach_the_vendor() {
        use blueprints::Implementation as I;
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
        let server = MockServer::start().await;
        // One answer every vendor reads as success far enough to name what it acts on next.
        let answer = serde_json::json!({ "code": 0, "data": { "token": "tok-1", "results": [] }, "metadata": { "result": 1, "reason": "OK" }, "doc": {} });
        Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_json(answer)).mount(&server).await;
        let uri = server.uri();
        let cases: Vec<(&str, I, &str, &str, Value)> = vec![
            (
                "web-hosting",
                I::WebHosting(Arc::new(cpanel::Cpanel::new())),
                "alice1",
                "mallory9",
                serde_json::json!({ "hostname": "whm.example.net", "whm_username": "reseller1", "api_key": "k-123456", "api_url": uri }),
            ),
            ("servers", I::Servers(Arc::new(hetzner::HetznerCloud::new())), "42", "9990999", serde_json::json!({ "api_token": "t-123456", "api_url": uri })),
            ("servers", I::Servers(Arc::new(linode::Linode::new())), "42", "9990999", serde_json::json!({ "api_token": "t-123456", "api_url": uri })),
            ("domain-names", I::DomainNames(Arc::new(openprovider::OpenProvider::new())), "shop.com", "mallory9.com", serde_json::json!({ "username": "r", "password": "p-123456", "api_url": uri })),
            (
                "software-licenses",
                I::SoftwareLicenses(Arc::new(ispmanager::Ispmanager::new())),
                "3157001",
                "8880888",
                serde_json::json!({ "username": "r@example.com", "password": "p-123456", "api_url": format!("{uri}/manager/billmgr") }),
            ),
            ("auto-login", I::AutoLogin(Arc::new(spamexperts::SpamExperts::new())), "shop.example", "mallory9.example", serde_json::json!({ "username": "r", "password": "p-123456", "api_url": uri })),
            (
                "software-licenses",
                I::SoftwareLicenses(Arc::new(openprovider_licenses::OpenProviderLicenses::new())),
                "5501",
                "8880888",
                serde_json::json!({ "username": "r", "password": "p-123456", "api_url": uri }),
            ),
            ("web-hosting", I::WebHosting(Arc::new(plesk::Plesk::new())), "alice1", "mallory9", serde_json::json!({ "hostname": "plesk.example.net", "api_key": "k-123456", "api_url": uri })),
            (
                "servers",
                I::Servers(Arc::new(proxmox::Proxmox::new())),
                "4242",
                "9990999",
                serde_json::json!({ "api_url": uri, "token_id": "engine@pve!t", "token_secret": "s-123456", "node": "pve1" }),
            ),
            (
                "domain-names",
                I::DomainNames(Arc::new(realtime_register::RealtimeRegister::new())),
                "shop.com",
                "mallory9.com",
                serde_json::json!({ "api_key": "k-123456", "customer": "reseller1", "api_url": uri }),
            ),
            ("seo", I::Seo(Arc::new(marketgoo::Marketgoo::new())), "shop.example", "mallory9.example", serde_json::json!({ "api_key": "k-123456", "api_url": uri })),
            (
                "website-builders",
                I::WebsiteBuilders(Arc::new(duda::Duda::new())),
                "alice1",
                "mallory9",
                serde_json::json!({ "api_user": "p", "api_password": "p-123456", "template_id": 1, "api_url": uri }),
            ),
        ];
        let id = ConfigurationId::parse("cfg-mallory").unwrap();
        for (blueprint, implementation, legit, mallory, settings) in cases {
            let b = catalogue().blueprint(blueprint).unwrap();
            let provider_id = match &implementation {
                I::WebHosting(p) => p.provider_id(),
                I::Servers(p) => p.provider_id(),
                I::DomainNames(p) => p.provider_id(),
                I::SoftwareLicenses(p) => p.provider_id(),
                I::AutoLogin(p) => p.provider_id(),
                I::Seo(p) => p.provider_id(),
                I::WebsiteBuilders(p) => p.provider_id(),
                I::OfficeTools(p) => p.provider_id(),
            };
            let spec = provider(blueprint, provider_id).unwrap();
            let mut ran = 0;
            for a in b.actions.iter().filter(|a| !a.establishes_identifier() && spec.supported_actions.contains(&a.id)) {
                let mut params = crate::catalogue::example::example(&a.params, &[]);
                let (sld, tld) = mallory.split_once('.').unwrap_or((mallory, ""));
                for f in b.engine_filled() {
                    let value = match f {
                        "sld" => sld,
                        "tld" => tld,
                        _ => mallory,
                    };
                    if a.params["properties"].get(f).is_some() {
                        params[f] = serde_json::json!(value);
                    }
                }
                let call = ProviderCall { contract_product_id: Some("cp-1"), ..ProviderCall::for_service(b, a, &id, &settings, &params, Some(legit)) };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(20), implementation.run(call)).await;
                ran += 1;
            }
            let requests = server.received_requests().await.unwrap_or_default();
            let named = |r: &wiremock::Request| format!("{} {}", r.url, String::from_utf8_lossy(&r.body));
            assert!(requests.iter().any(|r| named(r).contains(legit.split('.').next().unwrap_or(legit))), "{blueprint}: no request named {legit} ({ran} actions)");
            for r in &requests {
                assert!(!named(r).contains(mallory.split('.').next().unwrap_or(mallory)), "{blueprint}: a request named {mallory}: {}", named(r));
            }
            server.reset().await;
            Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({ "code": 0, "data": { "token": "tok-1", "results": [] }, "metadata": { "result": 1, "reason": "OK" }, "doc": {} })),
                )
                .mount(&server)
                .await;
        }
    }

    #[test]
    fn every_blueprint_has_a_demo_provider_supporting_all_its_actions() {
        for b in &catalogue().blueprints {
            let p = provider(b.id, "demo").unwrap_or_else(|| panic!("{} has no demo", b.id));
            assert_eq!(p.supported_actions.len(), b.actions.len());
            assert_eq!(crate::catalogue::schema::secret_paths(&p.settings), ["api_key"]);
        }
        assert!(provider("domain-names", "cpanel").is_none());
        let c = provider("web-hosting", "cpanel").unwrap();
        assert_eq!(crate::catalogue::schema::secret_paths(&c.settings), ["api_key"]);
        let ok =
            |url: &str| crate::catalogue::validate::validate(&c.settings, &serde_json::json!({ "hostname": "whm.example.net", "whm_username": "root", "api_key": "k", "api_url": url })).is_empty();
        assert!(ok("https://whm.example.net:2087") && ok("http://127.0.0.1:8080"));
        assert!(!ok("http://169.254.169.254/latest") && !ok("http://whm.example.net:2086"));
        assert!(!ok("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next#") && !ok("https://whm.example.net/x?y=1"), "no query or fragment to bend the path");
        for local in ["localhost", "127.0.0.1", "127.1.2.3", "169.254.169.254", "[::1]", "::ffff:127.0.0.1", "fe80::1", "0.0.0.0", "api.localhost"] {
            assert!(local_host(local), "{local}");
        }
        for remote in ["api.hetzner.cloud", "10.0.0.5", "203.0.113.9", "2001:db8::1"] {
            assert!(!local_host(remote), "{remote}");
        }
        assert!(check_destination("ftp://example.net/").is_err() && check_destination("https://api.hetzner.cloud/v1/servers").is_ok());
        // A name that resolves to this machine (DNS rebinding) is refused like the address.
        let at = |ip: &str| std::net::SocketAddr::new(ip.parse().unwrap(), 0);
        assert!(usable_addresses("evil.example", vec![at("127.0.0.1"), at("169.254.169.254")], false).is_err());
        assert_eq!(usable_addresses("mixed.example", vec![at("127.0.0.1"), at("203.0.113.9")], false).unwrap(), vec![at("203.0.113.9")]);
        assert_eq!(usable_addresses("double.test", vec![at("127.0.0.1")], true).unwrap().len(), 1);
        let e = provider("domain-names", "epp").unwrap();
        let host_ok = |h: &str| crate::catalogue::validate::validate(&e.settings, &serde_json::json!({ "hostname": h, "epp_username": "ClientX", "epp_password": "pw-123456" })).is_empty();
        assert!(host_ok("epp.nominet.org.uk") && host_ok("127.0.0.1") && !host_ok("epp.example.net:700") && !host_ok("a b"));
        for private in
            ["10.0.0.5", "172.16.3.4", "192.168.1.1", "100.64.0.1", "fd00:ec2::254", "::ffff:10.1.2.3", "169.254.169.254", "0.0.0.0", "64:ff9b::a9fe:a9fe", "198.18.0.1", "240.0.0.1", "192.0.0.8"]
        {
            assert!(private_ip(private.parse().unwrap()), "{private}");
        }
        assert!(!private_ip("203.0.113.9".parse().unwrap()) && !private_ip("2001:db8::1".parse().unwrap()));
        // Handler URLs: https to a public host only (unit tests allow test doubles: plain http to loopback).
        assert!(check_handler_url("https://hooks.example.com/x").is_ok() && check_handler_url("http://127.0.0.1:9/x").is_ok());
        for bad in ["http://hooks.example.com/x", "ftp://x.example/", "https://user:pw@hooks.example.com/", "not a url"] {
            assert!(check_handler_url(bad).is_err(), "{bad}");
        }
        // Outside the local stack: no loopback, metadata or private address, by any scheme.
        for bad in ["http://127.0.0.1:9/x", "https://127.0.0.1/x", "https://169.254.169.254/latest/meta-data", "https://10.0.0.5/hook", "https://[fd00:ec2::254]/", "https://localhost/x"] {
            assert!(handler_url_ok(bad, false).is_err(), "{bad}");
        }
        assert!(handler_url_ok("https://hooks.example.com/x", false).is_ok());
        let h = provider("servers", "http").unwrap();
        assert_eq!(crate::catalogue::schema::secret_paths(&h.settings), ["signing_secret"]);
    }
}
