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
pub mod epp;
pub mod hetzner;
pub mod http;
pub mod ispmanager;
pub mod openprovider;
pub mod wire;

use std::sync::{Arc, LazyLock};

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::{Action, Blueprint, catalogue};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub use crate::ports::BoxFuture;

/// One action for an implementation to carry out.
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

/// The HTTP client every HTTP provider shares, built on first use (not at cold start, where most
/// functions never call a third party): a connect timeout, pooled connections, and no redirects
/// (an answer is the third party's own; a redirect could lead a call where it must not go).
pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
        reqwest::Client::builder()
            .dns_resolver(GuardedResolver { refused: local_ip })
            .connect_timeout(std::time::Duration::from_secs(10))
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds")
    });
    &CLIENT
}

/// Whether local test doubles may be reached (plain http, loopback): in unit tests, or where the
/// environment says so (`PROVIDER_TEST_DOUBLES=1`: the local stack, the tests and the bench set
/// it; a deployed stack never does).
pub fn test_doubles_allowed() -> bool {
    cfg!(test) || std::env::var("PROVIDER_TEST_DOUBLES").is_ok_and(|v| v == "1")
}

/// Whether an address is this machine's or link-local (the Lambda runtime API, a metadata
/// service).
pub fn local_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => ip.is_loopback() || ip.is_link_local() || ip.is_unspecified(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xffc0) == 0xfe80 || ip.to_ipv4_mapped().is_some_and(|v4| local_ip(std::net::IpAddr::V4(v4))),
    }
}

/// Whether an address is this machine's, link-local, or of a private network (RFC 1918, shared
/// address space, ULA, "this network"): where an outgoing event handler must not post, since
/// its URL is given over the API and the stack may sit inside a VPC.
pub fn private_ip(ip: std::net::IpAddr) -> bool {
    if local_ip(ip) {
        return true;
    }
    match ip {
        std::net::IpAddr::V4(ip) => {
            let [a, b, c, _] = ip.octets();
            ip.is_private()
                || a == 0
                || a >= 240 // reserved, broadcast
                || (a == 100 && (64..128).contains(&b)) // shared address space
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || ip.is_multicast()
        }
        std::net::IpAddr::V6(ip) => {
            let s = ip.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            let embedded = std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            (s[0] & 0xfe00) == 0xfc00 || ip.is_multicast() || ip.to_ipv4_mapped().is_some_and(|v4| private_ip(std::net::IpAddr::V4(v4))) || (nat64 && private_ip(std::net::IpAddr::V4(embedded)))
        }
    }
}

/// The HTTP client of outgoing event handlers: the providers' guards and stricter, since a
/// handler's URL is anyone's with an admin token: no redirects, a 10 s timeout, and the resolved
/// address must not be this machine, link-local (a metadata service) or a private network, unless
/// test doubles are allowed (the local stack).
pub fn handler_client() -> &'static reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
        reqwest::Client::builder()
            .dns_resolver(GuardedResolver { refused: private_ip })
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds")
    });
    &CLIENT
}

/// Whether a handler's URL may be posted to: https to a name or a public address; plain http
/// only to this machine and only where test doubles are allowed. Checked when a handler is saved
/// and again before each delivery (the resolved address by [`handler_client`]).
pub fn check_handler_url(url: &str) -> Result<(), String> {
    handler_url_ok(url, test_doubles_allowed())
}

fn handler_url_ok(url: &str, doubles: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a URL".to_owned())?;
    let host = parsed.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let literal = bare.parse::<std::net::IpAddr>().ok();
    let loopback = host.eq_ignore_ascii_case("localhost") || literal.is_some_and(|ip| ip.is_loopback());
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("may not carry credentials".into());
    }
    match parsed.scheme() {
        "https" if host.is_empty() => Err("has no host".into()),
        "https" | "http" if (literal.is_some_and(private_ip) || local_host(host)) && !doubles => Err("may not be this machine, a link-local (metadata) or a private network address".into()),
        "https" => Ok(()),
        "http" if loopback && doubles => Ok(()),
        _ => Err("must be https (plain http only to this machine, on the local stack)".into()),
    }
}

/// Whether a host (a name or an address) is this machine or link-local.
pub fn local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") || host.parse::<std::net::IpAddr>().is_ok_and(local_ip)
}

/// The addresses a host name resolved to that a call may use: none of this machine's or
/// link-local ones (a name pointed there is refused as the address itself would be), unless
/// `allow_local`.
pub fn usable_addresses(host: &str, resolved: Vec<std::net::SocketAddr>, allow_local: bool) -> Result<Vec<std::net::SocketAddr>, String> {
    usable_addresses_by(host, resolved, allow_local, local_ip)
}

/// [`usable_addresses`], refusing what `refused` says.
fn usable_addresses_by(host: &str, resolved: Vec<std::net::SocketAddr>, allow_local: bool, refused: fn(std::net::IpAddr) -> bool) -> Result<Vec<std::net::SocketAddr>, String> {
    let usable: Vec<std::net::SocketAddr> = resolved.iter().copied().filter(|a| allow_local || !refused(a.ip())).collect();
    if usable.is_empty() {
        return Err(if resolved.is_empty() { format!("{host} has no address") } else { format!("{host} resolves to this machine or a link-local address: configurations do not call it") });
    }
    Ok(usable)
}

/// The resolver of the guarded HTTP clients: the system's, through [`usable_addresses`], with
/// the addresses `refused` names left out.
struct GuardedResolver {
    refused: fn(std::net::IpAddr) -> bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let refused = self.refused;
        Box::pin(async move {
            let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable = usable_addresses_by(&host, resolved, test_doubles_allowed(), refused)?;
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Refuses, before anything is sent, a destination a configuration must not reach: this machine
/// or a link-local address, unless test doubles are allowed.
pub fn check_destination(url: &str) -> Result<(), ProviderFailure> {
    let parsed = reqwest::Url::parse(url).map_err(|_| ProviderFailure::permanent(format!("{url} is not a URL")))?;
    let host = parsed.host_str().unwrap_or_default();
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(ProviderFailure::permanent(format!("{url}: only https addresses are called")));
    }
    if local_host(host) && !test_doubles_allowed() {
        return Err(ProviderFailure::permanent(format!("{host} is this machine or a link-local address: configurations do not call it (local test doubles only)")));
    }
    Ok(())
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

/// What every provider does besides its blueprint's actions.
pub trait Connect: Send + Sync {
    /// Checks a configuration's credentials against the third party, changing nothing there.
    fn test_connection<'a>(&'a self, blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>>;
}

/// The implementations a function holds, built once per Lambda instance.
#[derive(Clone)]
pub struct Implementations {
    demo: Arc<demo::Demo>,
    http: Arc<http::Http>,
    cpanel: Arc<cpanel::Cpanel>,
    hetzner: Arc<hetzner::HetznerCloud>,
    openprovider: Arc<openprovider::OpenProvider>,
    ispmanager: Arc<ispmanager::Ispmanager>,
    epp: Arc<epp::Epp>,
}

impl Implementations {
    /// Every provider, the demo's simulated third party kept in `demo_state`.
    pub fn new(demo_state: Arc<dyn crate::ports::DemoState>) -> Self {
        Implementations {
            demo: Arc::new(demo::Demo::new(demo_state)),
            http: Arc::new(http::Http::new()),
            cpanel: Arc::new(cpanel::Cpanel::new()),
            hetzner: Arc::new(hetzner::HetznerCloud::new()),
            openprovider: Arc::new(openprovider::OpenProvider::new()),
            ispmanager: Arc::new(ispmanager::Ispmanager::new()),
            epp: Arc::new(epp::Epp::new()),
        }
    }

    /// A provider of a blueprint: its actions, and its connection check.
    pub fn get(&self, blueprint: &str, provider_id: &str) -> Option<(blueprints::Implementation, Arc<dyn Connect>)> {
        use blueprints::Implementation as I;
        let spec = provider(blueprint, provider_id)?;
        /// One implementation serving every blueprint.
        macro_rules! every_blueprint {
            ($p:expr) => {{
                let p = $p;
                let actions = match blueprint {
                    "web-hosting" => I::WebHosting(p.clone()),
                    "domain-names" => I::DomainNames(p.clone()),
                    "auto-login" => I::AutoLogin(p.clone()),
                    "seo" => I::Seo(p.clone()),
                    "website-builders" => I::WebsiteBuilders(p.clone()),
                    "software-licenses" => I::SoftwareLicenses(p.clone()),
                    "servers" => I::Servers(p.clone()),
                    "office-tools" => I::OfficeTools(p.clone()),
                    _ => return None,
                };
                let connect: Arc<dyn Connect> = p;
                Some((actions, connect))
            }};
        }
        match spec.id {
            "demo" => every_blueprint!(self.demo.clone()),
            "http" => every_blueprint!(self.http.clone()),
            "cpanel" if blueprint == "web-hosting" => Some((I::WebHosting(self.cpanel.clone()), self.cpanel.clone() as Arc<dyn Connect>)),
            hetzner::ID if blueprint == "servers" => Some((I::Servers(self.hetzner.clone()), self.hetzner.clone() as Arc<dyn Connect>)),
            openprovider::ID if blueprint == "domain-names" => Some((I::DomainNames(self.openprovider.clone()), self.openprovider.clone() as Arc<dyn Connect>)),
            ispmanager::ID if blueprint == "software-licenses" => Some((I::SoftwareLicenses(self.ispmanager.clone()), self.ispmanager.clone() as Arc<dyn Connect>)),
            epp::ID if blueprint == "domain-names" => Some((I::DomainNames(self.epp.clone()), self.epp.clone() as Arc<dyn Connect>)),
            _ => None,
        }
    }
}
use crate::catalogue::schema::{address, boolean, domain, int_range, one_of, params, pattern, secret, string_max, url};

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

/// Every action of a blueprint (the demo and http providers carry out each one).
fn every_action(blueprint: &str) -> Vec<&'static str> {
    catalogue().blueprint(blueprint).map(|b| b.actions.iter().map(|a| a.id).collect()).unwrap_or_default()
}

fn demo(blueprint: &'static str) -> ProviderSpec {
    let mut settings = params()
        .opt("account_label", string_max(100))
        .opt("api_key", secret())
        .opt("latency_ms", int_range(0, 10_000))
        .opt("transient_failures", int_range(0, 10))
        .opt("lost_answers", int_range(0, 10))
        .opt("async_seconds", int_range(0, 600))
        .opt("fault_rate", int_range(0, 100));
    if blueprint == "web-hosting" {
        settings = settings.req("server_hostname", domain());
    }
    ProviderSpec {
        id: "demo",
        blueprint,
        name: "Demo",
        description: "A working simulation with its state in DynamoDB: try every action with no third-party account",
        settings: settings.build(),
        supported_actions: every_action(blueprint),
        wire_secrets: &[],
    }
}

fn http(blueprint: &'static str) -> ProviderSpec {
    let settings = params().req("endpoint_url", address(url())).req("signing_secret", secret()).opt("timeout_seconds", int_range(1, http::MAX_TIMEOUT_SECONDS as i64)).build();
    ProviderSpec {
        id: "http",
        blueprint,
        name: "Your own HTTP endpoint",
        description: "Every action is one signed JSON POST to an endpoint of your own system (contract in ARCHITECTURE.md)",
        settings,
        supported_actions: every_action(blueprint),
        wire_secrets: &[],
    }
}

/// cPanel/WHM (web hosting), settings named as the reference framework names them.
fn cpanel() -> ProviderSpec {
    let settings = params()
        .req("hostname", address(domain()))
        .req("whm_username", pattern("^[A-Za-z0-9_-]{1,64}$"))
        .req("api_key", secret())
        // Where a login with a Softaculous installation named lands: its admin (auto sign-on) or
        // cPanel itself.
        .opt("sso_destination", one_of(&["control_panel", "softaculous_sso", "auto"]))
        // Where WHM answers, when not https://<hostname>:2087 (a proxy; a local double in tests).
        .opt("api_url", address(api_url()))
        .build();
    ProviderSpec {
        id: "cpanel",
        blueprint: "web-hosting",
        name: "cPanel & WHM",
        description: "Hosting accounts on a cPanel & WHM server through WHM API 1 (an API token of root or a reseller)",
        settings,
        supported_actions: <cpanel::Cpanel as blueprints::Implements>::supported("web-hosting"),
        wire_secrets: &["password"],
    }
}

/// A vendor API's address, when not its public one (a proxy; a local double in tests): https,
/// or plain http to this machine (refused at call time unless test doubles are allowed: see
/// [`check_destination`]); no query or fragment, so the paths appended stay paths.
fn api_url() -> Value {
    pattern("^(https://[^\\s?#]+|http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?(/[^\\s?#]*)?)$")
}

/// Hetzner Cloud (servers).
fn hetzner_cloud() -> ProviderSpec {
    let settings = params()
        .req("api_token", secret())
        .opt("api_url", address(api_url()))
        // SSH keys of the project (names or ids, comma-separated) put on every new server.
        .opt("ssh_keys", string_max(1000))
        // Whether a resize also grows the disk (a later downgrade is then impossible).
        .opt("upgrade_disk", boolean())
        .build();
    ProviderSpec {
        id: hetzner::ID,
        blueprint: "servers",
        name: "Hetzner Cloud",
        description: "Cloud servers in a Hetzner Cloud project through its API (a read-write API token of the project)",
        settings,
        supported_actions: <hetzner::HetznerCloud as blueprints::Implements>::supported("servers"),
        wire_secrets: hetzner::WIRE_SECRETS,
    }
}

/// OpenProvider (domain names), settings named as the reference framework names them.
fn openprovider() -> ProviderSpec {
    let settings = params()
        .req("username", string_max(255))
        .req("password", secret())
        .opt("test_mode", address(boolean()))
        .opt("disable_whois_privacy", boolean())
        // The customer handle a registrant is reset to (update-registrant-with-default-details)
        // and a transfer without contacts is made with.
        .opt("default_customer_handle", pattern("^[A-Za-z0-9-]{3,32}$"))
        .opt("api_url", address(api_url()))
        .build();
    ProviderSpec {
        id: openprovider::ID,
        blueprint: "domain-names",
        name: "OpenProvider",
        description: "Domain registrations through an OpenProvider reseller account (REST API v1beta)",
        settings,
        supported_actions: <openprovider::OpenProvider as blueprints::Implements>::supported("domain-names"),
        wire_secrets: openprovider::WIRE_SECRETS,
    }
}

/// ispmanager licences (software licences), settings named as the reference framework names them.
fn ispmanager() -> ProviderSpec {
    let settings = params()
        // The e-mail of the account at eu.ispmanager.com (two-factor authentication off).
        .req("username", string_max(255))
        .req("password", secret())
        // How long a licence that expired while suspended is renewed for when it is activated
        // again: 1 or 12 months (default 1).
        .opt("renewal_months", int_range(1, 12))
        .opt("api_url", address(api_url()))
        .build();
    ProviderSpec {
        id: ispmanager::ID,
        blueprint: "software-licenses",
        name: "ispmanager",
        description: "ispmanager 6 licences bought through an account of the ispmanager billing system (packages are its price lists)",
        settings,
        supported_actions: <ispmanager::Ispmanager as blueprints::Implements>::supported("software-licenses"),
        wire_secrets: ispmanager::WIRE_SECRETS,
    }
}

/// A registry over EPP (domain names), settings named as the reference framework's EPP
/// providers name them.
fn epp() -> ProviderSpec {
    let settings = params()
        // The registry's EPP host (an IPv4 address or localhost for a registry on this machine).
        .req("hostname", address(pattern("^((([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9-]{2,63})|localhost|[0-9]{1,3}(\\.[0-9]{1,3}){3})$")))
        .opt("port", address(int_range(1, 65535)))
        .req("epp_username", pattern("^[^\\s]{3,16}$"))
        .req("epp_password", secret())
        // A TLS client certificate and its key (PEM), for registries that ask for one.
        .opt("certificate", secret())
        // The registry's own certificate authority (PEM), when its certificate is not from a public one.
        .opt("ca_certificate", address(string_max(20_000)))
        // The contact a registrant is reset to (update-registrant-with-default-details).
        .opt("default_contact_id", pattern("^[^\\s]{3,16}$"))
        // update-registrant: a new contact made registrant (default), or the registrant contact
        // itself changed (registries such as Nominet).
        .opt("registrant_update", one_of(&["new_contact", "in_place"]))
        // Plain TCP is refused unless the registry is on this machine (a test double).
        .opt("tls", address(boolean()))
        .build();
    ProviderSpec {
        id: epp::ID,
        blueprint: "domain-names",
        name: "EPP registry",
        description: "Domain registrations directly at a registry over EPP (RFC 5730-5734) on TLS; Nominet's release for IPS tags",
        settings,
        supported_actions: <epp::Epp as blueprints::Implements>::supported("domain-names"),
        wire_secrets: &["pw", "newPW", "password"],
    }
}

static PROVIDERS: LazyLock<Vec<ProviderSpec>> = LazyLock::new(|| {
    let mut all: Vec<ProviderSpec> = catalogue().blueprints.iter().flat_map(|b| [demo(b.id), http(b.id)]).collect();
    all.push(cpanel());
    all.push(hetzner_cloud());
    all.push(openprovider());
    all.push(ispmanager());
    all.push(epp());
    all
});

/// Every provider of every blueprint.
pub fn providers() -> &'static [ProviderSpec] {
    &PROVIDERS
}

/// Every provider id, each once (the enum of a `provider` field; which ones a blueprint has is
/// in the catalogue).
pub fn provider_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for p in PROVIDERS.iter() {
        if !ids.contains(&p.id) {
            ids.push(p.id);
        }
    }
    ids
}

pub fn provider(blueprint: &str, id: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.blueprint == blueprint && p.id == id)
}

#[cfg(test)]
mod tests {
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
            ("domain-names", I::DomainNames(Arc::new(openprovider::OpenProvider::new())), "shop.com", "mallory9.com", serde_json::json!({ "username": "r", "password": "p-123456", "api_url": uri })),
            (
                "software-licenses",
                I::SoftwareLicenses(Arc::new(ispmanager::Ispmanager::new())),
                "3157001",
                "8880888",
                serde_json::json!({ "username": "r@example.com", "password": "p-123456", "api_url": format!("{uri}/manager/billmgr") }),
            ),
        ];
        let id = ConfigurationId::parse("cfg-mallory").unwrap();
        for (blueprint, implementation, legit, mallory, settings) in cases {
            let b = catalogue().blueprint(blueprint).unwrap();
            let spec = providers().iter().find(|p| p.blueprint == blueprint && p.id != "demo" && p.id != "http" && p.id != "epp").unwrap();
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
