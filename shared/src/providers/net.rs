//! The guarded network clients: the one every HTTP provider shares (no redirects, no call to
//! this machine or a link-local address: a configuration's URL is an admin's to give, and a
//! metadata service must stay out of reach) and the stricter one of outgoing event handlers (no
//! private network either). Test doubles on loopback only where the environment allows them.

use std::sync::LazyLock;

use super::ProviderFailure;

/// The HTTP client every HTTP provider shares, built on first use (not at cold start, where most
/// functions never call a third party): a connect timeout, pooled connections, and no redirects
/// (an answer is the third party's own; a redirect could lead a call where it must not go).
///
/// An idle connection is dropped after 4 s, before the 5 s after which Node and Apache close
/// theirs: a request sent on a connection the server is closing breaks, and a broken write is
/// one the engine must ask about before anything is sent again. One action's calls follow each
/// other within that time and still share a connection.
pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
        reqwest::Client::builder()
            .dns_resolver(GuardedResolver { refused: local_ip })
            .connect_timeout(std::time::Duration::from_secs(10))
            .pool_idle_timeout(std::time::Duration::from_secs(4))
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

pub(crate) fn handler_url_ok(url: &str, doubles: bool) -> Result<(), String> {
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
