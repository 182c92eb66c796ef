//! The `epp` provider (domain names): a registry over EPP (RFC 5730 to 5734) on TLS, each data
//! unit framed by a 4-byte big-endian length that counts itself (RFC 5734 §4). A session
//! (greeting, login) is kept per warm instance and configuration, checked with `<hello/>` after
//! a pause, logged out of never (the registry ends idle ones), and made again when the registry
//! drops it. Domains, contacts and hosts are EPP objects (RFC 5731, 5733, 5732); glue records
//! are host objects under the domain. Nominet's release extension (std-release-1.0) serves
//! update-ips-tag when the registry's greeting offers it.
//!
//! Every command and answer is recorded for the log's debug with `<pw>`/`<newPW>` and authInfo
//! masked. Reads are sent again once on a fresh session when the first one broke; a write whose
//! answer was lost is a timeout (the engine checks with get-info before sending it again).

use crate::catalogue::schema::{self, address, boolean, int_range, one_of, params, secret, string_max};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use regex_lite::Regex;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::blueprints::{Answer, Session, implements};
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput};
use crate::domain::FailureKind;
use crate::domain::time::normalize_datetime;

pub const ID: &str = "epp";
const NS_DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
const NS_CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
const NS_HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
pub const NS_RELEASE: &str = "http://www.nominet.org.uk/epp/xml/std-release-1.0";
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// A session idle this long is checked with `<hello/>` before it is used again.
const IDLE_CHECK: Duration = Duration::from_secs(60);
/// The largest data unit accepted from a registry.
const MAX_FRAME: usize = 4 * 1024 * 1024;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One open EPP session.
struct EppSession {
    stream: Box<dyn Stream>,
    /// The registry's extensions (the greeting's svcExtension).
    extensions: Vec<String>,
    last_used: Instant,
    sequence: u64,
}

pub struct Epp {
    sessions: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<EppSession>>>>>,
}

impl Default for Epp {
    fn default() -> Self {
        Self::new()
    }
}

// ---- XML: the few shapes EPP answers take, read without a full parser. ----

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// A compiled pattern, each compiled once per instance (the few element and attribute names
/// EPP answers are read by recur on every command).
fn pattern(source: &str) -> Arc<Regex> {
    static CACHE: LazyLock<std::sync::Mutex<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().expect("pattern cache");
    cache.entry(source.to_owned()).or_insert_with(|| Arc::new(Regex::new(source).expect("a valid pattern"))).clone()
}

/// Every element of a local name (any prefix): its attributes and inner text.
fn elements(xml: &str, name: &str) -> Vec<(String, String)> {
    let re = pattern(&format!(r"(?s)<(?:[A-Za-z0-9]+:)?{name}(\s[^>]*?)?(?:/>|>(.*?)</(?:[A-Za-z0-9]+:)?{name}>)"));
    re.captures_iter(xml).map(|c| (c.get(1).map_or("", |m| m.as_str()).to_owned(), c.get(2).map_or("", |m| m.as_str()).to_owned())).collect()
}

fn first(xml: &str, name: &str) -> Option<String> {
    elements(xml, name).into_iter().next().map(|(_, inner)| unescape(inner.trim())).filter(|s| !s.is_empty())
}

fn attribute(attrs: &str, name: &str) -> Option<String> {
    let re = pattern(&format!(r#"\b{name}\s*=\s*["']([^"']*)["']"#));
    re.captures(attrs).map(|c| unescape(&c[1]))
}

/// The XML with every password masked: `<pw>`, `<newPW>` (any prefix).
pub fn masked(xml: &str) -> String {
    static PW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)(<(?:[A-Za-z0-9]+:)?(?:pw|newPW)(?:\s[^>]*)?>)(.*?)(</)").expect("a valid pattern"));
    PW.replace_all(xml, "${1}********${3}").into_owned()
}

/// An EPP answer's result.
struct Response {
    code: u32,
    message: String,
    xml: String,
}

fn answer(xml: String) -> Result<Response, ProviderFailure> {
    let (attrs, inner) = elements(&xml, "result").into_iter().next().ok_or_else(|| ProviderFailure::permanent("the registry answered without an EPP result"))?;
    let code = attribute(&attrs, "code").and_then(|c| c.parse().ok()).ok_or_else(|| ProviderFailure::permanent("the registry answered an EPP result without a code"))?;
    let mut message = first(&inner, "msg").unwrap_or_default();
    for detail in elements(&inner, "reason").into_iter().chain(elements(&inner, "value")) {
        // A <value> may echo the element refused, a password among them: masked first.
        let text = unescape(pattern(r"<[^>]+>").replace_all(&masked(&detail.1), " ").trim());
        if !text.is_empty() {
            message.push_str(&format!(" ({text})"));
        }
    }
    Ok(Response { code, message, xml })
}

/// The command document around `body`.
fn command(body: &str, extension: Option<&str>, transaction: &str) -> String {
    let extension = extension.map(|e| format!("<extension>{e}</extension>")).unwrap_or_default();
    format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}{extension}<clTRID>{transaction}</clTRID></command></epp>"#)
}

// ---- framing (RFC 5734 §4) ----

async fn write_frame(stream: &mut (impl AsyncWrite + Unpin), xml: &str) -> std::io::Result<()> {
    let len = u32::try_from(xml.len() + 4).map_err(|_| std::io::Error::other("frame too large"))?;
    let mut frame = Vec::with_capacity(xml.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(xml.as_bytes());
    stream.write_all(&frame).await?;
    stream.flush().await
}

async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<String> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = u32::from_be_bytes(header) as usize;
    if !(5..=MAX_FRAME).contains(&len) {
        return Err(std::io::Error::other(format!("a data unit of {len} bytes")));
    }
    let mut body = vec![0u8; len - 4];
    stream.read_exact(&mut body).await?;
    String::from_utf8(body).map_err(|_| std::io::Error::other("a data unit that is not UTF-8"))
}

/// Writes one frame (public for the tests' registry double).
pub async fn send_frame(stream: &mut (impl AsyncWrite + Unpin), xml: &str) -> std::io::Result<()> {
    write_frame(stream, xml).await
}

/// Reads one frame (public for the tests' registry double).
pub async fn receive_frame(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<String> {
    read_frame(stream).await
}

// ---- settings ----

struct Settings {
    host: String,
    port: u16,
    username: String,
    password: String,
    tls: bool,
    certificate: Option<String>,
    /// The registry's own certificate authority (PEM), trusted instead of the system's.
    ca_certificate: Option<String>,
    default_contact: Option<String>,
    /// update-registrant changes the registrant contact itself instead of making a new one.
    registrant_in_place: bool,
}

use super::str_of;

impl Settings {
    fn of(v: &Value) -> Result<Self, ProviderFailure> {
        let host = str_of(v, "hostname").unwrap_or_default().to_owned();
        let tls = v["tls"] != false;
        if !tls && !matches!(host.as_str(), "127.0.0.1" | "localhost") {
            return Err(ProviderFailure::permanent("EPP without TLS is only for a registry on this machine (a test double): set tls, or use 127.0.0.1"));
        }
        if super::local_host(&host) && !super::test_doubles_allowed() {
            return Err(ProviderFailure::permanent(format!("{host} is this machine or a link-local address: configurations do not call it (local test doubles only)")));
        }
        Ok(Settings {
            host,
            port: v["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(700),
            username: str_of(v, "epp_username").unwrap_or_default().to_owned(),
            password: str_of(v, "epp_password").unwrap_or_default().to_owned(),
            tls,
            certificate: str_of(v, "certificate").map(str::to_owned),
            ca_certificate: str_of(v, "ca_certificate").map(str::to_owned),
            default_contact: str_of(v, "default_contact_id").map(str::to_owned),
            registrant_in_place: v["registrant_update"] == "in_place",
        })
    }

    fn key(&self, configuration: &str) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        (configuration, &self.host, self.port, &self.username, &self.password).hash(&mut h);
        format!("{configuration}:{:x}", h.finish())
    }
}

/// A TLS stream to the registry (with the client certificate when one is set).
async fn connect(s: &Settings) -> Result<Box<dyn Stream>, ProviderFailure> {
    let unreachable = |what: &str| ProviderFailure { kind: FailureKind::Transient, message: format!("could not reach the registry at {}:{} ({what})", s.host, s.port), debug: vec![] };
    let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((s.host.as_str(), s.port)).await.map_err(|_| unreachable("its name does not resolve"))?.collect();
    let usable = super::net::usable_addresses(&s.host, resolved, super::test_doubles_allowed()).map_err(ProviderFailure::permanent)?;
    let tcp = tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(&usable[..])).await.map_err(|_| unreachable("no answer"))?.map_err(|_| unreachable("refused"))?;
    if !s.tls {
        return Ok(Box::new(tcp));
    }
    use rustls_platform_verifier::BuilderVerifierExt;
    // One process-wide crypto provider (aws-lc-rs, as every other TLS client here uses).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let builder = match &s.ca_certificate {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok) {
                roots.add(cert).map_err(|_| ProviderFailure::permanent("the ca_certificate setting holds a certificate that cannot be used"))?;
            }
            if roots.is_empty() {
                return Err(ProviderFailure::permanent("the ca_certificate setting holds no certificate (PEM)"));
            }
            rustls::ClientConfig::builder().with_root_certificates(roots)
        }
        None => rustls::ClientConfig::builder().with_platform_verifier().map_err(|_| ProviderFailure::permanent("the system's certificate store could not be read"))?,
    };
    let config = match &s.certificate {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok).collect();
            let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| ProviderFailure::permanent("the certificate setting holds no private key (PEM)"))?;
            if certs.is_empty() {
                return Err(ProviderFailure::permanent("the certificate setting holds no certificate (PEM)"));
            }
            builder.with_client_auth_cert(certs, key).map_err(|_| ProviderFailure::permanent("the client certificate and key do not fit"))?
        }
    };
    let name = rustls::pki_types::ServerName::try_from(s.host.clone()).map_err(|_| ProviderFailure::permanent(format!("{} is not a host name", s.host)))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::time::timeout(IO_TIMEOUT, tls.connect(name, tcp)).await.map_err(|_| unreachable("TLS handshake timed out"))?.map_err(|_| unreachable("TLS handshake failed"))?;
    Ok(Box::new(stream))
}

// ---- the session of one action ----

/// The commands of one action on the configuration's session, recorded for the log's debug.
pub struct Conn {
    settings: Settings,
    slot: tokio::sync::OwnedMutexGuard<Option<EppSession>>,
    debug: Vec<Value>,
}

fn broken(what: &str, sent: bool) -> ProviderFailure {
    if sent {
        ProviderFailure { kind: FailureKind::Timeout, message: format!("the registry's answer to {what} was lost (the session broke)"), debug: vec![] }
    } else {
        ProviderFailure { kind: FailureKind::Transient, message: format!("the registry's session broke before {what}"), debug: vec![] }
    }
}

/// The failure an EPP result code means.
fn refused(what: &str, a: &Response) -> ProviderFailure {
    let kind = match a.code {
        2400 | 2500..=2502 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    };
    let message = match a.code {
        2200 => format!("the registry refused the EPP login: {} ({})", a.message, a.code),
        _ => format!("the registry refused {what}: {} ({})", a.message, a.code),
    };
    ProviderFailure { kind, message: message.chars().take(500).collect(), debug: vec![] }
}

impl Conn {
    fn record(&mut self, what: &str, sent: Option<&str>, received: Option<&str>, error: Option<&str>) {
        let mut entry = json!({ "request": { "command": what, "xml": sent.map(masked) }, "response": { "xml": received.map(masked) } });
        if let Some(e) = error {
            entry["error"] = json!(e);
        }
        self.debug.push(entry);
    }

    /// A fresh session: connect, greeting, login.
    async fn open(&mut self) -> Result<(), ProviderFailure> {
        *self.slot = None;
        let mut stream = connect(&self.settings).await?;
        let greeting = match tokio::time::timeout(IO_TIMEOUT, read_frame(&mut stream)).await {
            Ok(Ok(g)) => g,
            _ => return Err(ProviderFailure { kind: FailureKind::Transient, message: "the registry sent no EPP greeting".into(), debug: vec![] }),
        };
        self.record("greeting", None, Some(&greeting), None);
        let extensions: Vec<String> = elements(&greeting, "extURI").into_iter().map(|(_, u)| u.trim().to_owned()).collect();
        let offered: Vec<String> = elements(&greeting, "objURI").into_iter().map(|(_, u)| u.trim().to_owned()).collect();
        let objects: String = [NS_DOMAIN, NS_CONTACT, NS_HOST].iter().filter(|o| offered.is_empty() || offered.iter().any(|x| x == *o)).map(|o| format!("<objURI>{o}</objURI>")).collect();
        let ext: String = extensions.iter().filter(|e| e.as_str() == NS_RELEASE || e.contains("secDNS")).map(|e| format!("<extURI>{}</extURI>", escape(e))).collect();
        let ext = if ext.is_empty() { String::new() } else { format!("<svcExtension>{ext}</svcExtension>") };
        let login = format!(
            "<login><clID>{}</clID><pw>{}</pw><options><version>1.0</version><lang>en</lang></options><svcs>{objects}{ext}</svcs></login>",
            escape(&self.settings.username),
            escape(&self.settings.password)
        );
        let mut session = EppSession { stream, extensions, last_used: Instant::now(), sequence: 0 };
        let xml = command(&login, None, &transaction(&mut session));
        let reply = exchange(&mut session, &xml).await;
        self.record("login", Some(&xml), reply.as_ref().ok().map(String::as_str), reply.as_ref().err().map(|_| "the session broke"));
        let a = answer(reply.map_err(|_| ProviderFailure { kind: FailureKind::Transient, message: "the registry dropped the session at login".into(), debug: vec![] })?)?;
        if a.code != 1000 {
            return Err(refused("the EPP login", &a));
        }
        *self.slot = Some(session);
        Ok(())
    }

    /// The session, opened or checked as needed.
    async fn ready(&mut self) -> Result<(), ProviderFailure> {
        let stale = self.slot.as_ref().is_some_and(|s| s.last_used.elapsed() > IDLE_CHECK);
        if stale {
            // Out of the slot while in use: if this future is dropped half way, so is the session.
            let mut session = self.slot.take().expect("checked above");
            let hello = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#;
            if matches!(exchange(&mut session, hello).await, Ok(g) if g.contains("greeting")) {
                *self.slot = Some(session);
            }
        }
        if self.slot.is_none() {
            self.open().await?;
        }
        Ok(())
    }

    /// One command; its answer when the result is a success (1xxx).
    async fn send(&mut self, what: &str, body: &str, extension: Option<&str>, read: bool) -> Result<Response, ProviderFailure> {
        for attempt in 0..2 {
            self.ready().await?;
            // Out of the slot while in use: a command whose answer was not read (this future
            // dropped at the engine's deadline) takes its session with it, so no later command
            // reads an answer meant for another.
            let mut session = self.slot.take().expect("ready opens it");
            let transaction = transaction(&mut session);
            let xml = command(body, extension, &transaction);
            match exchange(&mut session, &xml).await {
                Ok(reply) => {
                    self.record(what, Some(&xml), Some(&reply), None);
                    let a = answer(reply)?;
                    if first(&a.xml, "clTRID").is_some_and(|t| t != transaction) {
                        return Err(ProviderFailure {
                            kind: FailureKind::Timeout,
                            message: format!("the registry's answer to {what} was for another command: the session was dropped"),
                            debug: vec![],
                        });
                    }
                    if !matches!(a.code, 2500..=2502) {
                        *self.slot = Some(session); // (the registry ends the session on those)
                    }
                    return if a.code < 2000 { Ok(a) } else { Err(refused(what, &a)) };
                }
                Err(sent) => {
                    self.record(what, Some(&xml), None, Some("the session broke"));
                    if !read || attempt == 1 {
                        return Err(broken(what, sent));
                    }
                }
            }
        }
        unreachable!("the loop returns")
    }

    fn offers(&self, extension: &str) -> bool {
        self.slot.as_ref().is_some_and(|s| s.extensions.iter().any(|e| e == extension))
    }
}

fn transaction(session: &mut EppSession) -> String {
    session.sequence += 1;
    format!("PRV-{}-{}", crate::domain::time::now_millis(), session.sequence)
}

/// Writes a command and reads its answer. Err(true): written, the answer lost; Err(false):
/// not written.
async fn exchange(session: &mut EppSession, xml: &str) -> Result<String, bool> {
    match tokio::time::timeout(IO_TIMEOUT, write_frame(&mut session.stream, xml)).await {
        Ok(Ok(())) => {}
        _ => return Err(false),
    }
    let reply = tokio::time::timeout(IO_TIMEOUT, read_frame(&mut session.stream)).await;
    session.last_used = Instant::now();
    match reply {
        Ok(Ok(r)) => Ok(r),
        _ => Err(true),
    }
}

// ---- objects ----

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
    bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect()
}

/// A new object's authInfo password: 14 characters with every class (pwType allows 6 to 16).
fn new_password() -> String {
    let core = random_text(11, b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789");
    format!("{core}7a-")
}

/// A catalogue contact's postal info, voice and e-mail elements (create and update share them).
fn contact_details(c: &Value) -> String {
    let t = |k: &str| str_of(c, k).map(escape);
    let name = t("name").or_else(|| t("organisation")).unwrap_or_default();
    let org = t("organisation").map(|o| format!("<contact:org>{o}</contact:org>")).unwrap_or_default();
    let sp = t("state").map(|s| format!("<contact:sp>{s}</contact:sp>")).unwrap_or_default();
    format!(
        r#"<contact:postalInfo type="int"><contact:name>{name}</contact:name>{org}<contact:addr><contact:street>{}</contact:street><contact:city>{}</contact:city>{sp}<contact:pc>{}</contact:pc><contact:cc>{}</contact:cc></contact:addr></contact:postalInfo><contact:voice>{}</contact:voice><contact:email>{}</contact:email>"#,
        t("address1").unwrap_or_default(),
        t("city").unwrap_or_default(),
        t("postcode").unwrap_or_default(),
        t("country_code").unwrap_or_default().to_uppercase(),
        escape(&super::e164(str_of(c, "phone").unwrap_or_default())),
        t("email").unwrap_or_default(),
    )
}

fn contact_create(id: &str, c: &Value) -> String {
    format!(
        r#"<create><contact:create xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id>{}<contact:authInfo><contact:pw>{}</contact:pw></contact:authInfo></contact:create></create>"#,
        escape(id),
        contact_details(c),
        new_password()
    )
}

/// A contact's details as the catalogue's contact data (from contact:info).
fn contact_data(id: &str, xml: &str) -> Value {
    let mut out = json!({ "id": id });
    for (k, element) in
        [("name", "name"), ("organisation", "org"), ("email", "email"), ("phone", "voice"), ("address1", "street"), ("city", "city"), ("state", "sp"), ("postcode", "pc"), ("country_code", "cc")]
    {
        if let Some(v) = first(xml, element) {
            out[k] = json!(v);
        }
    }
    out
}

fn domain_name(d: &str, body: &str) -> String {
    format!(r#"<domain:{body} xmlns:domain="{NS_DOMAIN}"><domain:name>{}</domain:name>"#, escape(d))
}

fn ns_of(xml: &str) -> Vec<String> {
    let mut hosts: Vec<String> = elements(xml, "hostObj").into_iter().map(|(_, h)| unescape(h.trim()).to_lowercase()).collect();
    hosts.extend(elements(xml, "hostName").into_iter().map(|(_, h)| unescape(h.trim()).to_lowercase()));
    hosts
}

/// domain:info as the catalogue's domain result (glue records added by the caller).
fn domain_result(name: &str, xml: &str) -> Value {
    let statuses: Vec<String> = elements(xml, "status").into_iter().filter_map(|(a, _)| attribute(&a, "s")).collect();
    let date = |k: &str| first(xml, k).and_then(|d| normalize_datetime(&d)).map_or(Value::Null, |d| json!(d));
    let ns: serde_json::Map<String, Value> = ns_of(xml).into_iter().take(5).enumerate().map(|(i, h)| (format!("ns{}", i + 1), json!({ "host": h }))).collect();
    let mut out = json!({
        "id": first(xml, "roid").unwrap_or_else(|| name.to_owned()),
        "domain": name,
        "statuses": statuses,
        "locked": statuses.iter().any(|s| s == "clientTransferProhibited"),
        "ns": if ns.is_empty() { Value::Null } else { Value::Object(ns) },
        "created_at": date("crDate"),
        "updated_at": date("upDate"),
        "expires_at": date("exDate"),
        "operation_status": if statuses.iter().any(|s| s == "pendingCreate" || s == "pendingTransfer") { "in_progress" } else { "complete" },
    });
    if let Some(r) = first(xml, "registrant") {
        out["registrant"] = json!({ "id": r });
    }
    for (attrs, id) in elements(xml, "contact") {
        if let Some(t) = attribute(&attrs, "type").filter(|t| ["admin", "tech", "billing"].contains(&t.as_str())) {
            out[t] = json!({ "id": unescape(id.trim()) });
        }
    }
    out
}

fn glue_of(host: &str, xml: &str) -> Value {
    let ips: Vec<String> = elements(xml, "addr").into_iter().map(|(_, ip)| ip.trim().to_owned()).filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()).collect();
    json!({ "hostname": host, "ips": ips })
}

impl Conn {
    async fn domain_info(&mut self, name: &str, auth: Option<&str>) -> Result<Response, ProviderFailure> {
        let auth = auth.map(|pw| format!("<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo>", escape(pw))).unwrap_or_default();
        let body = format!(r#"<info><domain:info xmlns:domain="{NS_DOMAIN}"><domain:name hosts="all">{}</domain:name>{auth}</domain:info></info>"#, escape(name));
        self.send("domain:info", &body, None, true).await
    }

    /// The domain as get-info answers it: domain:info, and host:info of its subordinate hosts.
    async fn info(&mut self, name: &str) -> Result<Value, ProviderFailure> {
        let info = self.domain_info(name, None).await?;
        let mut out = domain_result(name, &info.xml);
        let hosts: Vec<String> = elements(&info.xml, "host").into_iter().map(|(_, h)| unescape(h.trim()).to_lowercase()).collect();
        let mut glue = Vec::new();
        for h in hosts {
            glue.push(glue_of(&h, &self.host_info(&h).await?.xml));
        }
        if !glue.is_empty() {
            out["glue_records"] = json!(glue);
        }
        Ok(out)
    }

    async fn host_info(&mut self, host: &str) -> Result<Response, ProviderFailure> {
        self.send("host:info", &format!(r#"<info><host:info xmlns:host="{NS_HOST}"><host:name>{}</host:name></host:info></info>"#, escape(host)), None, true).await
    }

    async fn host_available(&mut self, host: &str) -> Result<bool, ProviderFailure> {
        let a = self.send("host:check", &format!(r#"<check><host:check xmlns:host="{NS_HOST}"><host:name>{}</host:name></host:check></check>"#, escape(host)), None, true).await?;
        Ok(elements(&a.xml, "name").into_iter().any(|(attrs, _)| attribute(&attrs, "avail").is_some_and(|v| v == "1" || v == "true")))
    }

    async fn host_create(&mut self, host: &str, ips: &[&str]) -> Result<(), ProviderFailure> {
        let addrs: String = ips.iter().map(|ip| format!(r#"<host:addr ip="{}">{ip}</host:addr>"#, if ip.contains(':') { "v6" } else { "v4" })).collect();
        self.send("host:create", &format!(r#"<create><host:create xmlns:host="{NS_HOST}"><host:name>{}</host:name>{addrs}</host:create></create>"#, escape(host)), None, false).await?;
        Ok(())
    }

    /// Host objects for nameservers that have none yet (with addresses when under `domain`).
    async fn ensure_hosts(&mut self, domain: &str, nameservers: &[(String, Option<String>)]) -> Result<(), ProviderFailure> {
        for (host, ip) in nameservers {
            if self.host_available(host).await? {
                let ips: Vec<&str> = ip.as_deref().filter(|_| host.ends_with(&format!(".{domain}"))).into_iter().collect();
                self.host_create(host, &ips).await?;
            }
        }
        Ok(())
    }

    /// A new contact under a fresh id (checked free first).
    async fn contact_create(&mut self, c: &Value) -> Result<String, ProviderFailure> {
        for _ in 0..3 {
            let id = format!("PRV{}", random_text(9, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"));
            let check = format!(r#"<check><contact:check xmlns:contact="{NS_CONTACT}"><contact:id>{id}</contact:id></contact:check></check>"#);
            let a = self.send("contact:check", &check, None, true).await?;
            if elements(&a.xml, "id").into_iter().any(|(attrs, _)| attribute(&attrs, "avail").is_some_and(|v| v == "1" || v == "true")) {
                self.send("contact:create", &contact_create(&id, c), None, false).await?;
                return Ok(id);
            }
        }
        Err(ProviderFailure::permanent("the registry found no free contact id in three tries"))
    }

    /// The contact id of a contact param: its id, or a contact made from its details.
    async fn contact_id(&mut self, contact: &Value) -> Result<Option<String>, ProviderFailure> {
        if let Some(id) = str_of(contact, "id") {
            return Ok(Some(id.to_owned()));
        }
        if contact["register"].is_object() {
            return Ok(Some(self.contact_create(&contact["register"]).await?));
        }
        Ok(None)
    }

    async fn contact_info(&mut self, id: &str) -> Result<Value, ProviderFailure> {
        let a = self.send("contact:info", &format!(r#"<info><contact:info xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id></contact:info></info>"#, escape(id)), None, true).await?;
        Ok(contact_data(id, &a.xml))
    }

    async fn update(&mut self, name: &str, add: &str, rem: &str, chg: &str) -> Result<(), ProviderFailure> {
        let part = |tag: &str, inner: &str| if inner.is_empty() { String::new() } else { format!("<domain:{tag}>{inner}</domain:{tag}>") };
        let body = format!("<update>{}{}{}{}</domain:update></update>", domain_name(name, "update"), part("add", add), part("rem", rem), part("chg", chg));
        self.send("domain:update", &body, None, false).await?;
        Ok(())
    }
}

fn nameservers_of(p: &Value) -> Vec<(String, Option<String>)> {
    (1..=5)
        .filter_map(|i| {
            let n = &p[format!("ns{i}")];
            str_of(n, "host").map(|h| (h.to_lowercase(), str_of(n, "ip").map(str::to_owned)))
        })
        .collect()
}

fn host_objs(hosts: &[String]) -> String {
    if hosts.is_empty() {
        return String::new();
    }
    format!("<domain:ns>{}</domain:ns>", hosts.iter().map(|h| format!("<domain:hostObj>{}</domain:hostObj>", escape(h))).collect::<String>())
}

// ---- actions ----

impl Epp {
    pub fn new() -> Self {
        Epp { sessions: tokio::sync::Mutex::new(HashMap::new()) }
    }

    /// The configuration's session slot, held for the whole action (EPP is one command at a
    /// time per session).
    async fn slot(&self, key: String) -> tokio::sync::OwnedMutexGuard<Option<EppSession>> {
        let slot = self.sessions.lock().await.entry(key).or_insert_with(|| Arc::new(tokio::sync::Mutex::new(None))).clone();
        slot.lock_owned().await
    }

    /// `register`
    async fn register(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let check = format!(r#"<check><domain:check xmlns:domain="{NS_DOMAIN}"><domain:name>{}</domain:name></domain:check></check>"#, escape(&name));
        let checked = conn.send("domain:check", &check, None, true).await?;
        let free = elements(&checked.xml, "name").into_iter().any(|(attrs, _)| attribute(&attrs, "avail").is_some_and(|v| v == "1" || v == "true"));
        if !free {
            let reason = first(&checked.xml, "reason").unwrap_or_else(|| "not available".into());
            return Err(ProviderFailure::permanent(format!("{name} cannot be registered: {reason}")));
        }
        // Hosts under the new domain can only be made once it exists (RFC 5732 §3.2.1): they
        // are added after the create.
        let (subordinate, external): (Vec<_>, Vec<_>) = nameservers_of(&p["nameservers"]).into_iter().partition(|(h, _)| h.ends_with(&format!(".{name}")));
        conn.ensure_hosts(&name, &external).await?;
        let registrant = conn.contact_id(&p["registrant"]).await?.unwrap_or_default();
        let mut contacts = String::new();
        let mut made: Vec<(Value, String)> = vec![(p["registrant"].clone(), registrant.clone())];
        for role in ["admin", "tech", "billing"] {
            let id = match made.iter().find(|(c, _)| *c == p[role]) {
                Some((_, id)) => Some(id.clone()),
                None => conn.contact_id(&p[role]).await?,
            };
            if let Some(id) = id {
                made.push((p[role].clone(), id.clone()));
                contacts.push_str(&format!(r#"<domain:contact type="{role}">{}</domain:contact>"#, escape(&id)));
            }
        }
        let hosts: Vec<String> = external.iter().map(|(h, _)| h.clone()).collect();
        let body = format!(
            r#"<create>{}<domain:period unit="y">{}</domain:period>{}<domain:registrant>{}</domain:registrant>{contacts}<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo></domain:create></create>"#,
            domain_name(&name, "create"),
            p["renew_years"].as_i64().unwrap_or(1),
            host_objs(&hosts),
            escape(&registrant),
            new_password()
        );
        let created = conn.send("domain:create", &body, None, false).await?;
        // Registered: what follows cannot undo it, and is no reason to register it again.
        let mut message = format!("{name} registered");
        if !subordinate.is_empty() {
            let added = async {
                conn.ensure_hosts(&name, &subordinate).await?;
                let hosts: Vec<String> = subordinate.iter().map(|(h, _)| h.clone()).collect();
                conn.update(&name, &host_objs(&hosts), "", "").await
            };
            if let Err(f) = added.await {
                message = format!("{message}; its own nameservers could not be set: {}", f.message);
            }
        }
        let mut info = conn.info(&name).await.map_err(super::made_but_unread)?;
        if created.code == 1001 {
            info["operation_status"] = json!("in_progress");
        }
        Ok((message, info, Some(name)))
    }

    /// `transfer`
    async fn transfer(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let epp_code = str_of(p, "epp_code");
        if let Ok(info) = conn.domain_info(&name, epp_code).await
            && first(&info.xml, "clID").is_some_and(|c| c.eq_ignore_ascii_case(&conn.settings.username))
        {
            return Ok((format!("{name} is sponsored by this account"), conn.info(&name).await?, Some(name)));
        }
        let period = p["renew_years"].as_i64().filter(|y| *y > 0).map(|y| format!(r#"<domain:period unit="y">{y}</domain:period>"#)).unwrap_or_default();
        let auth = epp_code.map(|pw| format!("<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo>", escape(pw))).unwrap_or_default();
        let body = format!(r#"<transfer op="request">{}{period}{auth}</domain:transfer></transfer>"#, domain_name(&name, "transfer"));
        let a = conn.send("domain:transfer", &body, None, false).await?;
        Ok((format!("transfer of {name} requested ({})", first(&a.xml, "trStatus").unwrap_or_else(|| "pending".into())), pending_transfer(&name, &a.xml), Some(name)))
    }

    /// `get-info`
    async fn get_info(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let name = domain(call)?;
        if call.following == Some("transfer") {
            // Until the transfer completes the domain is another registrar's, whose info
            // answers less or is refused (RFC 5731 §3.1.2): the transfer's own state says more.
            let ours = match conn.domain_info(&name, None).await {
                Ok(info) => first(&info.xml, "clID").is_none_or(|c| c.eq_ignore_ascii_case(&conn.settings.username)),
                Err(f) if f.message.contains("(2201)") => false,
                Err(f) => return Err(f),
            };
            if !ours {
                let body = format!(r#"<transfer op="query">{}</domain:transfer></transfer>"#, domain_name(&name, "transfer"));
                let a = conn.send("domain:transfer", &body, None, true).await?;
                let status = first(&a.xml, "trStatus").unwrap_or_default();
                if matches!(status.as_str(), "clientRejected" | "clientCancelled" | "serverCancelled") {
                    return Err(ProviderFailure::permanent(format!("the transfer of {name} ended: {status}")));
                }
                return Ok((format!("transfer of {name}: {status}"), pending_transfer(&name, &a.xml), None));
            }
        }
        Ok((name.clone(), conn.info(&name).await?, None))
    }

    /// `sync-due-date`: the domain as the registry shows it (its expiry date with it).
    async fn sync_due_date(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        self.get_info(conn, call).await
    }

    /// `renew`
    async fn renew(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let expires = first(&info.xml, "exDate")
            .and_then(|d| d.get(..10).filter(|day| day.len() == 10 && day.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })).map(str::to_owned))
            .ok_or_else(|| ProviderFailure::permanent(format!("the registry shows no expiry date of {name}")))?;
        let years = p["renew_years"].as_i64().unwrap_or(1);
        let body = format!(r#"<renew>{}<domain:curExpDate>{expires}</domain:curExpDate><domain:period unit="y">{years}</domain:period></domain:renew></renew>"#, domain_name(&name, "renew"));
        conn.send("domain:renew", &body, None, false).await?;
        Ok((format!("{name} renewed for {years} year(s)"), conn.info(&name).await?, None))
    }

    /// `set-lock`
    async fn set_lock(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let status = r#"<domain:status s="clientTransferProhibited"/>"#;
        let lock = p["lock"] == true;
        let (add, rem) = if lock { (status, "") } else { ("", status) };
        conn.update(&name, add, rem, "").await?;
        Ok((format!("{name} {}", if lock { "locked" } else { "unlocked" }), conn.info(&name).await?, None))
    }

    /// `update-nameservers`
    async fn update_nameservers(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let current = ns_of(&info.xml);
        let wanted = nameservers_of(p);
        conn.ensure_hosts(&name, &wanted).await?;
        let wanted: Vec<String> = wanted.into_iter().map(|(h, _)| h).collect();
        let add: Vec<String> = wanted.iter().filter(|h| !current.contains(h)).cloned().collect();
        let rem: Vec<String> = current.iter().filter(|h| !wanted.contains(h)).cloned().collect();
        if !add.is_empty() || !rem.is_empty() {
            conn.update(&name, &host_objs(&add), &host_objs(&rem), "").await?;
        }
        let ns = conn.info(&name).await?["ns"].clone();
        Ok((format!("nameservers of {name} updated"), if ns.is_null() { json!({}) } else { ns }, None))
    }

    /// `update-registrant`
    async fn update_registrant(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        if conn.settings.registrant_in_place {
            // The registry's way (Nominet's): the registrant contact itself is changed.
            let info = conn.domain_info(&name, None).await?;
            let id = first(&info.xml, "registrant").ok_or_else(|| ProviderFailure::permanent(format!("the registry shows no registrant of {name}")))?;
            let body = format!(
                r#"<update><contact:update xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id><contact:chg>{}</contact:chg></contact:update></update>"#,
                escape(&id),
                contact_details(&p["contact"])
            );
            conn.send("contact:update", &body, None, false).await?;
            return Ok((format!("registrant {id} of {name} updated"), conn.contact_info(&id).await?, None));
        }
        let id = conn.contact_create(&p["contact"]).await?;
        conn.update(&name, "", "", &format!("<domain:registrant>{}</domain:registrant>", escape(&id))).await?;
        Ok((format!("registrant of {name} is now {id}"), conn.contact_info(&id).await?, None))
    }

    /// `update-registrant-with-default-details`
    async fn update_registrant_with_default_details(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let name = domain(call)?;
        let id = conn
            .settings
            .default_contact
            .clone()
            .ok_or_else(|| ProviderFailure::permanent("domain-names/update-registrant-with-default-details needs the default_contact_id setting of the epp configuration"))?;
        conn.update(&name, "", "", &format!("<domain:registrant>{}</domain:registrant>", escape(&id))).await?;
        Ok((format!("registrant of {name} is now the default {id}"), conn.contact_info(&id).await?, None))
    }

    /// `get-epp-code`
    async fn get_epp_code(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let code = match elements(&info.xml, "authInfo").into_iter().find_map(|(_, inner)| first(&inner, "pw")) {
            Some(code) => code,
            None => {
                // The registry does not show it: a new one is set and answered.
                let code = new_password();
                conn.update(&name, "", "", &format!("<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo>", escape(&code))).await?;
                code
            }
        };
        Ok((format!("EPP code of {name}"), json!({ "epp_code": code }), None))
    }

    /// `update-ips-tag`
    async fn update_ips_tag(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        conn.ready().await?;
        if !conn.offers(NS_RELEASE) {
            return Err(ProviderFailure::permanent("domain-names/update-ips-tag is not supported by this registry (its greeting offers no std-release-1.0)"));
        }
        let tag = str_of(p, "ips_tag").unwrap_or_default();
        let body = format!(r#"<update><r:release xmlns:r="{NS_RELEASE}"><r:domainName>{}</r:domainName><r:registrarTag>{}</r:registrarTag></r:release></update>"#, escape(&name), escape(tag));
        let a = conn.send("release", &body, None, false).await?;
        let pending = if a.code == 1001 { " (the receiving registrar must accept it)" } else { "" };
        Ok((format!("{name} released to {tag}{pending}"), json!({}), None))
    }

    /// `set-glue-record`
    async fn set_glue_record(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let host = str_of(p, "hostname").unwrap_or_default().to_lowercase();
        if !host.ends_with(&format!(".{name}")) {
            return Err(ProviderFailure::permanent(format!("{host} is not under {name}: a glue record names a host of the domain")));
        }
        let wanted: Vec<&str> = ["ip_1", "ip_2", "ip_3", "ip_4"].iter().filter_map(|k| str_of(p, k)).collect();
        if conn.host_available(&host).await? {
            conn.host_create(&host, &wanted).await?;
        } else {
            let current: Vec<String> = glue_of(&host, &conn.host_info(&host).await?.xml)["ips"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            let addr = |ip: &str| format!(r#"<host:addr ip="{}">{ip}</host:addr>"#, if ip.contains(':') { "v6" } else { "v4" });
            let add: String = wanted.iter().filter(|ip| !current.iter().any(|c| c == *ip)).map(|ip| addr(ip)).collect();
            let rem: String = current.iter().filter(|c| !wanted.contains(&c.as_str())).map(|ip| addr(ip)).collect();
            if !add.is_empty() || !rem.is_empty() {
                let part = |tag: &str, inner: &str| if inner.is_empty() { String::new() } else { format!("<host:{tag}>{inner}</host:{tag}>") };
                let body = format!(r#"<update><host:update xmlns:host="{NS_HOST}"><host:name>{}</host:name>{}{}</host:update></update>"#, escape(&host), part("add", &add), part("rem", &rem));
                conn.send("host:update", &body, None, false).await?;
            }
        }
        let glue = conn.info(&name).await?["glue_records"].clone();
        Ok((format!("glue record {host} set"), json!({ "glue_records": if glue.is_null() { json!([]) } else { glue } }), None))
    }

    /// `remove-glue-record`
    async fn remove_glue_record(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let p = call.params;
        let name = domain(call)?;
        let host = str_of(p, "hostname").unwrap_or_default().to_lowercase();
        if !host.ends_with(&format!(".{name}")) {
            return Err(ProviderFailure::permanent(format!("{host} is not under {name}: a glue record names a host of the domain")));
        }
        conn.send("host:delete", &format!(r#"<delete><host:delete xmlns:host="{NS_HOST}"><host:name>{}</host:name></host:delete></delete>"#, escape(&host)), None, false).await?;
        let glue = conn.info(&name).await?["glue_records"].clone();
        Ok((format!("glue record {host} removed"), json!({ "glue_records": if glue.is_null() { json!([]) } else { glue } }), None))
    }
}

/// The domain a call acts on (lower case).
fn domain(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    call.subject().map(|n| n.to_lowercase()).ok_or_else(|| ProviderFailure::permanent("no domain name (sld and tld) to act on"))
}

/// A domain whose transfer is under way, as the catalogue's domain result.
fn pending_transfer(name: &str, xml: &str) -> Value {
    let date = |k: &str| first(xml, k).and_then(|d| normalize_datetime(&d)).map_or(Value::Null, |d| json!(d));
    let status = first(xml, "trStatus").unwrap_or_else(|| "pending".into());
    let done = matches!(status.as_str(), "clientApproved" | "serverApproved");
    json!({ "id": name, "domain": name, "statuses": [if done { "ok".to_owned() } else { "pendingTransfer".to_owned() }], "ns": null, "created_at": null, "updated_at": date("reDate"), "expires_at": date("exDate"),
        "operation_status": if done { "complete" } else { "in_progress" } })
}

impl Session for Epp {
    type Cx<'s> = Conn;

    /// The configuration's session slot, held for the whole action (EPP is one command at a
    /// time per session).
    fn open<'s>(&'s self, call: &ProviderCall<'_>) -> BoxFuture<'s, Result<Conn, ProviderFailure>> {
        let settings = Settings::of(call.settings);
        let configuration = call.configuration_id.as_str().to_owned();
        Box::pin(async move {
            let settings = settings?;
            let slot = self.slot(settings.key(&configuration)).await;
            Ok(Conn { settings, slot, debug: Vec::new() })
        })
    }

    fn debug(conn: Conn) -> Vec<Value> {
        conn.debug
    }
}

// The verification actions are a registrar's (ICANN's registrant checks), not a registry's.
implements!(DomainNames for Epp as ID, {
    register,
    transfer,
    renew,
    sync_due_date,
    get_info,
    set_lock,
    update_nameservers,
    update_registrant,
    update_registrant_with_default_details,
    get_epp_code,
    update_ips_tag,
    set_glue_record,
    remove_glue_record,
});

impl Connect for Epp {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let s = Settings::of(settings)?;
            let slot = self.slot(s.key("connection-check")).await;
            let (host, port) = (s.host.clone(), s.port);
            let mut conn = Conn { settings: s, slot, debug: Vec::new() };
            // A fresh session: the check is of the credentials, not of a kept session.
            let opened = conn.open().await;
            let logout = r#"<logout/>"#;
            if opened.is_ok() {
                let _ = conn.send("logout", logout, None, false).await;
                *conn.slot = None;
            }
            let connected = opened.map(|()| (format!("logged in to the registry at {host}:{port}"), json!({ "connected": true }), None));
            super::with_debug(connected, conn.debug)
        })
    }
}

/// A registry over EPP (domain names), settings named as the reference framework's EPP
/// providers name them.
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // The registry's EPP host (an IPv4 address or localhost for a registry on this machine).
        .req("hostname", address(schema::pattern("^((([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9-]{2,63})|localhost|[0-9]{1,3}(\\.[0-9]{1,3}){3})$")))
        .opt("port", address(int_range(1, 65535)))
        .req("epp_username", schema::pattern("^[^\\s]{3,16}$"))
        .req("epp_password", secret())
        // A TLS client certificate and its key (PEM), for registries that ask for one.
        .opt("certificate", secret())
        // The registry's own certificate authority (PEM), when its certificate is not from a public one.
        .opt("ca_certificate", address(string_max(20_000)))
        // The contact a registrant is reset to (update-registrant-with-default-details).
        .opt("default_contact_id", schema::pattern("^[^\\s]{3,16}$"))
        // update-registrant: a new contact made registrant (default), or the registrant contact
        // itself changed (registries such as Nominet).
        .opt("registrant_update", one_of(&["new_contact", "in_place"]))
        // Plain TCP is refused unless the registry is on this machine (a test double).
        .opt("tls", address(boolean()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "domain-names",
        name: "EPP registry",
        description: "Domain registrations directly at a registry over EPP (RFC 5730-5734) on TLS; Nominet's release for IPS tags",
        settings,
        supported_actions: <Epp as super::blueprints::Implements>::supported("domain-names"),
        wire_secrets: &["pw", "newPW", "password"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Epp {
        /// A call as the engine makes it: through the blueprint's trait.
        async fn execute(&self, call: ProviderCall<'_>) -> Result<ProviderOutput, ProviderFailure> {
            (self as &dyn crate::providers::blueprints::DomainNames).run(call).await
        }
    }
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use crate::domain::ids::ConfigurationId;
    use std::sync::Mutex as StdMutex;

    const PASSWORD: &str = "Epp-pw-S3cret";
    const EPP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">"#;

    fn greeting(release: bool) -> String {
        let ext = if release { format!("<svcExtension><extURI>{NS_RELEASE}</extURI></svcExtension>") } else { String::new() };
        format!(
            "{EPP}<greeting><svID>Test Registry</svID><svDate>2026-11-23T10:00:00.0Z</svDate><svcMenu><version>1.0</version><lang>en</lang><objURI>{NS_DOMAIN}</objURI><objURI>{NS_CONTACT}</objURI><objURI>{NS_HOST}</objURI>{ext}</svcMenu><dcp><access><all/></access><statement><purpose><admin/><prov/></purpose><recipient><ours/></recipient><retention><stated/></retention></statement></dcp></greeting></epp>"
        )
    }

    fn reply(code: u32, msg: &str, res: &str) -> String {
        let res = if res.is_empty() { String::new() } else { format!("<resData>{res}</resData>") };
        format!("{EPP}<response><result code=\"{code}\"><msg>{msg}</msg></result>{res}<trID><clTRID>ABC-1</clTRID><svTRID>SV-1</svTRID></trID></response></epp>")
    }

    /// A registry over plain TCP on this machine answering as RFC 5730-5734 document; every
    /// data unit both ways is kept for the schema check.
    struct Registry {
        port: u16,
        frames: Arc<StdMutex<Vec<String>>>,
        connections: Arc<StdMutex<u32>>,
        /// Closes every open session (a registry dropping them).
        drop_all: Arc<tokio::sync::Notify>,
    }

    async fn registry(release: bool) -> Registry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frames = Arc::new(StdMutex::new(Vec::new()));
        let connections = Arc::new(StdMutex::new(0));
        let locked = Arc::new(StdMutex::new(false));
        let drop_all = Arc::new(tokio::sync::Notify::new());
        let (f, c, d) = (frames.clone(), connections.clone(), drop_all.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else { return };
                *c.lock().unwrap() += 1;
                let (frames, locked, dropped) = (f.clone(), locked.clone(), d.clone());
                tokio::spawn(async move {
                    let g = greeting(release);
                    frames.lock().unwrap().push(g.clone());
                    send_frame(&mut s, &g).await.unwrap();
                    loop {
                        let cmd = tokio::select! {
                            c = receive_frame(&mut s) => match c { Ok(c) => c, Err(_) => return },
                            _ = dropped.notified() => return,
                        };
                        frames.lock().unwrap().push(cmd.clone());
                        let out = answer_for(&cmd, &locked, release);
                        frames.lock().unwrap().push(out.clone());
                        if send_frame(&mut s, &out).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Registry { port, frames, connections, drop_all }
    }

    /// The answer to a command, carrying the command's clTRID as RFC 5730 §2.7 has it.
    fn answer_for(cmd: &str, locked: &StdMutex<bool>, release: bool) -> String {
        let out = answer_to(cmd, locked, release);
        let echo = first(cmd, "clTRID").map(|t| format!("<clTRID>{t}</clTRID>")).unwrap_or_default();
        out.replace("<clTRID>ABC-1</clTRID>", &echo)
    }

    fn answer_to(cmd: &str, locked: &StdMutex<bool>, release: bool) -> String {
        let d = format!(r#"xmlns:domain="{NS_DOMAIN}""#);
        let h = format!(r#"xmlns:host="{NS_HOST}""#);
        if cmd.contains("<hello/>") {
            return greeting(release);
        }
        if cmd.contains("<login>") {
            return if cmd.contains(&format!("<pw>{PASSWORD}</pw>")) { reply(1000, "Command completed successfully", "") } else { reply(2200, "Authentication error", "") };
        }
        if cmd.contains("<logout/>") {
            return reply(1500, "Command completed successfully; ending session", "");
        }
        if cmd.contains("<domain:check") {
            let name = first(cmd, "name").unwrap_or_default();
            let avail = if name.starts_with("taken") { r#"0"# } else { "1" };
            let reason = if avail == "0" { "<domain:reason>In use</domain:reason>" } else { "" };
            return reply(1000, "Command completed successfully", &format!(r#"<domain:chkData {d}><domain:cd><domain:name avail="{avail}">{name}</domain:name>{reason}</domain:cd></domain:chkData>"#));
        }
        if cmd.contains("<contact:check") {
            let id = first(cmd, "id").unwrap_or_default();
            return reply(
                1000,
                "Command completed successfully",
                &format!(r#"<contact:chkData xmlns:contact="{NS_CONTACT}"><contact:cd><contact:id avail="1">{id}</contact:id></contact:cd></contact:chkData>"#),
            );
        }
        if cmd.contains("<host:check") {
            let name = first(cmd, "name").unwrap_or_default();
            let avail = if name.starts_with("ns1.shop") { 0 } else { 1 };
            return reply(1000, "Command completed successfully", &format!(r#"<host:chkData {h}><host:cd><host:name avail="{avail}">{name}</host:name></host:cd></host:chkData>"#));
        }
        if cmd.contains("<host:info") {
            let name = first(cmd, "name").unwrap_or_default();
            return reply(
                1000,
                "Command completed successfully",
                &format!(
                    r#"<host:infData {h}><host:name>{name}</host:name><host:roid>H1-REP</host:roid><host:status s="linked"/><host:addr ip="v4">192.0.2.1</host:addr><host:clID>ClientX</host:clID><host:crID>ClientX</host:crID><host:crDate>2026-11-23T10:00:00.0Z</host:crDate></host:infData>"#
                ),
            );
        }
        if cmd.contains("<contact:info") {
            let id = first(cmd, "id").unwrap_or_default();
            return reply(
                1000,
                "Command completed successfully",
                &format!(
                    r#"<contact:infData xmlns:contact="{NS_CONTACT}"><contact:id>{id}</contact:id><contact:roid>C1-REP</contact:roid><contact:status s="ok"/><contact:postalInfo type="int"><contact:name>Jo Doe</contact:name><contact:addr><contact:street>High St 1</contact:street><contact:city>London</contact:city><contact:cc>GB</contact:cc></contact:addr></contact:postalInfo><contact:email>jo@shop.example</contact:email><contact:clID>ClientX</contact:clID><contact:crID>ClientX</contact:crID><contact:crDate>2026-11-23T10:00:00.0Z</contact:crDate></contact:infData>"#
                ),
            );
        }
        if cmd.contains("<contact:create") {
            let id = first(cmd, "id").unwrap_or_default();
            return reply(
                1000,
                "Command completed successfully",
                &format!(r#"<contact:creData xmlns:contact="{NS_CONTACT}"><contact:id>{id}</contact:id><contact:crDate>2026-11-23T10:00:00.0Z</contact:crDate></contact:creData>"#),
            );
        }
        if cmd.contains("<domain:info") {
            if cmd.contains("gone.example") {
                return reply(2303, "Object does not exist", "");
            }
            if cmd.contains("other.example") {
                return reply(2201, "Authorization error", "");
            }
            let lock = if *locked.lock().unwrap() { r#"<domain:status s="clientTransferProhibited"/>"# } else { "" };
            return reply(
                1000,
                "Command completed successfully",
                &format!(
                    r#"<domain:infData {d}><domain:name>shop.example</domain:name><domain:roid>D58-REP</domain:roid><domain:status s="ok"/>{lock}<domain:registrant>PRVREG</domain:registrant><domain:contact type="admin">PRVADM</domain:contact><domain:ns><domain:hostObj>ns1.shop.example</domain:hostObj><domain:hostObj>ns2.host.example</domain:hostObj></domain:ns><domain:host>ns1.shop.example</domain:host><domain:clID>ClientX</domain:clID><domain:crID>ClientX</domain:crID><domain:crDate>2026-11-23T10:00:00.0Z</domain:crDate><domain:exDate>2027-11-23T10:00:00.0Z</domain:exDate><domain:authInfo><domain:pw>Dom-auth-9x</domain:pw></domain:authInfo></domain:infData>"#
                ),
            );
        }
        if cmd.contains("<domain:create") {
            return reply(
                1000,
                "Command completed successfully",
                &format!(
                    r#"<domain:creData {d}><domain:name>shop.example</domain:name><domain:crDate>2026-11-23T10:00:00.0Z</domain:crDate><domain:exDate>2027-11-23T10:00:00.0Z</domain:exDate></domain:creData>"#
                ),
            );
        }
        if cmd.contains("<domain:renew") {
            return reply(
                1000,
                "Command completed successfully",
                &format!(r#"<domain:renData {d}><domain:name>shop.example</domain:name><domain:exDate>2028-11-23T10:00:00.0Z</domain:exDate></domain:renData>"#),
            );
        }
        if cmd.contains("<domain:transfer") {
            return reply(
                1001,
                "Command completed successfully; action pending",
                &format!(
                    r#"<domain:trnData {d}><domain:name>other.example</domain:name><domain:trStatus>pending</domain:trStatus><domain:reID>ClientX</domain:reID><domain:reDate>2026-11-23T10:00:00.0Z</domain:reDate><domain:acID>ClientY</domain:acID><domain:acDate>2026-11-28T10:00:00.0Z</domain:acDate></domain:trnData>"#
                ),
            );
        }
        if cmd.contains("<domain:update") {
            if cmd.contains("<domain:add><domain:status") {
                *locked.lock().unwrap() = true;
            }
            return reply(1000, "Command completed successfully", "");
        }
        if cmd.contains("<r:release") {
            return reply(1001, "Command completed successfully; action pending", "");
        }
        reply(1000, "Command completed successfully", "")
    }

    async fn run_at(epp: &Epp, port: u16, action: &str, params: Value, following: Option<&'static str>) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("domain-names", action).unwrap();
        let id = ConfigurationId::parse("cfg-epp").unwrap();
        let settings = json!({ "hostname": "127.0.0.1", "port": port, "tls": false, "epp_username": "ClientX", "epp_password": PASSWORD, "default_contact_id": "PRVDEF" });
        // As the engine does: the domain acted on is the contract product's (here, the params').
        let named = params["sld"].as_str().zip(params["tld"].as_str()).map(|(s, t)| format!("{s}.{t}"));
        let si = named.as_deref().unwrap_or("shop.example");
        let out = epp
            .execute(ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: Some(si), following, contract_product_id: None })
            .await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = match &out {
            Ok(o) => serde_json::to_string(&o.debug).unwrap(),
            Err(f) => serde_json::to_string(&f.debug).unwrap(),
        };
        assert!(!debug.contains(PASSWORD) && !debug.contains("Dom-auth-9x") && !debug.contains("Epp-code-1"), "{debug}");
        out
    }

    /// Every data unit against the EPP schemas (xmllint, as `make test` installs it); the release,
    /// whose Nominet schema is not published offline, as well-formed XML.
    fn check_with_xmllint(frames: &[String]) {
        let dir = std::env::temp_dir().join(format!("epp-frames-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/epp/all.xsd");
        for (i, frame) in frames.iter().enumerate() {
            let file = dir.join(format!("{i}.xml"));
            std::fs::write(&file, frame).unwrap();
            let mut cmd = std::process::Command::new("xmllint");
            cmd.args(["--noout", "--nonet"]);
            if !frame.contains(NS_RELEASE) {
                cmd.args(["--schema", xsd]);
            }
            let out = cmd.arg(&file).output().expect("xmllint is installed (make test installs libxml2-utils)");
            assert!(out.status.success(), "not valid EPP: {frame}\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Params naming another domain (which the engine refuses before this) never reach the
    /// registry: every action that does not establish the domain acts on the service identifier.
    #[tokio::test]
    async fn params_naming_another_domain_never_reach_the_registry() {
        let r = registry(true).await;
        let epp = Epp::new();
        let id = ConfigurationId::parse("cfg-epp-mallory").unwrap();
        let settings = json!({ "hostname": "127.0.0.1", "port": r.port, "tls": false, "epp_username": "ClientX", "epp_password": PASSWORD, "default_contact_id": "PRVDEF" });
        let b = catalogue().blueprint("domain-names").unwrap();
        let supported = &crate::providers::provider("domain-names", ID).unwrap().supported_actions;
        for a in b.actions.iter().filter(|a| !a.establishes_identifier() && supported.contains(&a.id)) {
            let mut params = crate::catalogue::example::example(&a.params, &[]);
            params["sld"] = json!("mallory9");
            params["tld"] = json!("example");
            let call = ProviderCall::for_service(b, a, &id, &settings, &params, Some("shop.example"));
            let _ = tokio::time::timeout(Duration::from_secs(10), epp.execute(call)).await;
        }
        let frames = r.frames.lock().unwrap().clone();
        assert!(frames.iter().any(|f| f.contains("shop.example")), "the registry was asked about the service's own domain");
        assert!(!frames.iter().any(|f| f.contains("mallory9")), "no command named another domain");
    }

    #[tokio::test]
    async fn every_action_speaks_valid_epp_on_one_kept_session() {
        let r = registry(true).await;
        let epp = Epp::new();
        let contact =
            json!({ "register": { "name": "Jo Doe", "email": "jo@shop.example", "phone": "+442071234567", "address1": "High St 1", "city": "London", "postcode": "N1 1AA", "country_code": "gb" } });
        let sd = json!({ "sld": "shop", "tld": "example" });
        let with = |extra: Value| {
            let mut p = sd.clone();
            p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            p
        };
        let made = run_at(
            &epp,
            r.port,
            "register",
            with(json!({ "renew_years": 2, "registrant": contact, "admin": contact, "tech": { "id": "PRVTEC" }, "billing": contact,
            "nameservers": { "ns1": { "host": "ns1.shop.example", "ip": "192.0.2.1" }, "ns2": { "host": "ns2.host.example" } } })),
            None,
        )
        .await
        .unwrap();
        assert_eq!((made.data["id"].as_str(), made.data["expires_at"].as_str()), (Some("D58-REP"), Some("2027-11-23 10:00:00")));
        assert_eq!(made.data["glue_records"], json!([{ "hostname": "ns1.shop.example", "ips": ["192.0.2.1"] }]));
        let locked = run_at(&epp, r.port, "set-lock", with(json!({ "lock": true })), None).await.unwrap();
        assert_eq!(locked.data["locked"], true);
        run_at(&epp, r.port, "renew", with(json!({ "renew_years": 1 })), None).await.unwrap();
        run_at(&epp, r.port, "update-nameservers", with(json!({ "ns1": { "host": "ns1.shop.example" }, "ns2": { "host": "ns3.host.example" } })), None).await.unwrap();
        run_at(&epp, r.port, "update-registrant", with(json!({ "contact": contact["register"] })), None).await.unwrap();
        assert_eq!(run_at(&epp, r.port, "update-registrant-with-default-details", sd.clone(), None).await.unwrap().data["id"], "PRVDEF");
        assert_eq!(run_at(&epp, r.port, "get-epp-code", sd.clone(), None).await.unwrap().data["epp_code"], "Dom-auth-9x");
        run_at(&epp, r.port, "set-glue-record", with(json!({ "hostname": "ns1.shop.example", "ip_1": "192.0.2.1", "ip_2": "2001:db8::1" })), None).await.unwrap();
        run_at(&epp, r.port, "remove-glue-record", with(json!({ "hostname": "ns9.shop.example" })), None).await.unwrap();
        let moving = run_at(&epp, r.port, "transfer", json!({ "sld": "other", "tld": "example", "epp_code": "Epp-code-1" }), None).await.unwrap();
        assert_eq!(moving.data["operation_status"], "in_progress");
        let followed = run_at(&epp, r.port, "get-info", json!({ "sld": "other", "tld": "example" }), Some("transfer")).await.unwrap();
        assert_eq!(followed.data["operation_status"], "in_progress", "not ours yet: the transfer's own state");
        let released = run_at(&epp, r.port, "update-ips-tag", with(json!({ "ips_tag": "NEW-TAG" })), None).await.unwrap();
        assert!(released.message.contains("must accept"), "{}", released.message);
        assert_eq!(*r.connections.lock().unwrap(), 1, "one session for every action");
        let frames = r.frames.lock().unwrap().clone();
        assert!(frames.iter().filter(|f| f.contains("<login>")).count() == 1);
        check_with_xmllint(&frames);
    }

    #[tokio::test]
    async fn a_taken_name_is_refused_and_a_registrant_may_be_changed_in_place_and_a_dropped_session_is_made_again() {
        let r = registry(false).await;
        let epp = Epp::new();
        let contact = json!({ "id": "PRVREG" });
        let f = run_at(
            &epp,
            r.port,
            "register",
            json!({ "sld": "taken", "tld": "example", "renew_years": 1, "registrant": contact, "admin": contact, "tech": contact, "billing": contact,
            "nameservers": { "ns1": { "host": "ns1.host.example" }, "ns2": { "host": "ns2.host.example" } } }),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(f.message, "taken.example cannot be registered: In use");

        let (b, a) = catalogue().action("domain-names", "update-registrant").unwrap();
        let id = ConfigurationId::parse("cfg-epp-in-place").unwrap();
        let settings = json!({ "hostname": "127.0.0.1", "port": r.port, "tls": false, "epp_username": "ClientX", "epp_password": PASSWORD, "registrant_update": "in_place" });
        let params = json!({ "sld": "shop", "tld": "example", "contact": { "name": "Jo Doe", "email": "jo@shop.example", "phone": "+1.5555550100", "address1": "Main St 1", "city": "Springfield", "postcode": "12345", "country_code": "US" } });
        let out = epp.execute(ProviderCall::for_service(b, a, &id, &settings, &params, Some("shop.example"))).await.unwrap();
        assert_eq!(out.data["id"], "PRVREG", "the registrant contact itself");
        let frames = r.frames.lock().unwrap().clone();
        assert!(frames.iter().any(|f| f.contains("<contact:update") && f.contains("<contact:id>PRVREG</contact:id>")));
        assert!(!frames.iter().any(|f| f.contains("<contact:create")));
        check_with_xmllint(&frames);

        // The registry drops the session: the next read finds it broken and is sent on a new one.
        let before = *r.connections.lock().unwrap();
        r.drop_all.notify_waiters();
        tokio::time::sleep(Duration::from_millis(100)).await;
        run_at(&epp, r.port, "get-info", json!({ "sld": "shop", "tld": "example" }), None).await.unwrap();
        assert_eq!(*r.connections.lock().unwrap(), before + 1, "a new session, made once");
    }

    #[tokio::test]
    async fn a_registry_on_tls_is_reached_with_its_own_certificate_authority() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-fixtures/epp-tls");
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(format!("{fixtures}/server.pem")).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(format!("{fixtures}/server.key")).unwrap();
        let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut s) = acceptor.accept(tcp).await else { continue };
                let _ = send_frame(&mut s, &greeting(false)).await;
                let locked = StdMutex::new(false);
                while let Ok(cmd) = receive_frame(&mut s).await {
                    if send_frame(&mut s, &answer_for(&cmd, &locked, false)).await.is_err() {
                        break;
                    }
                }
            }
        });
        let (b, a) = catalogue().action("domain-names", "get-info").unwrap();
        let id = ConfigurationId::parse("cfg-epp-tls").unwrap();
        let params = json!({ "sld": "shop", "tld": "example" });
        let ca = std::fs::read_to_string(format!("{fixtures}/ca.pem")).unwrap();
        let settings = json!({ "hostname": "localhost", "port": port, "epp_username": "ClientX", "epp_password": PASSWORD, "ca_certificate": ca });
        let out = Epp::new().execute(ProviderCall::for_service(b, a, &id, &settings, &params, Some("shop.example"))).await.unwrap();
        assert_eq!(out.data["id"], "D58-REP");
        // Without the registry's authority its certificate is not trusted: nothing is sent.
        let untrusted = json!({ "hostname": "localhost", "port": port, "epp_username": "ClientX", "epp_password": PASSWORD });
        let f = Epp::new().execute(ProviderCall::for_service(b, a, &id, &untrusted, &params, Some("shop.example"))).await.unwrap_err();
        assert!(f.message.contains("TLS handshake failed") && f.debug.is_empty(), "{}", f.message);
    }

    #[tokio::test]
    async fn refusals_bad_logins_dropped_sessions_and_garbage_are_clear_failures() {
        let r = registry(false).await;
        let epp = Epp::new();
        let f = run_at(&epp, r.port, "get-info", json!({ "sld": "gone", "tld": "example" }), None).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "the registry refused domain:info: Object does not exist (2303)"));
        let f = run_at(&epp, r.port, "update-ips-tag", json!({ "sld": "shop", "tld": "example", "ips_tag": "T1" }), None).await.unwrap_err();
        assert!(f.message.contains("offers no std-release-1.0"), "{}", f.message);

        let (b, a) = catalogue().action("domain-names", "get-info").unwrap();
        let id = ConfigurationId::parse("cfg-epp-bad").unwrap();
        let params = json!({ "sld": "shop", "tld": "example" });
        let settings = json!({ "hostname": "127.0.0.1", "port": r.port, "tls": false, "epp_username": "ClientX", "epp_password": "wrong-pw-1" });
        let f = epp.execute(ProviderCall::for_service(b, a, &id, &settings, &params, Some("shop.example"))).await.unwrap_err();
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Permanent, "the registry refused the EPP login: Authentication error (2200)"));
        let remote = json!({ "hostname": "epp.example.net", "tls": false, "epp_username": "ClientX", "epp_password": PASSWORD });
        let f = epp.execute(ProviderCall::for_service(b, a, &id, &remote, &params, Some("shop.example"))).await.unwrap_err();
        assert!(f.message.contains("without TLS"), "{}", f.message);

        // A registry that drops the session after the greeting: a read is tried on a new one,
        // and fails as transient.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = send_frame(&mut s, &greeting(false)).await;
                let _ = receive_frame(&mut s).await;
                let _ = send_frame(&mut s, &reply(1000, "ok", "")).await;
                let _ = receive_frame(&mut s).await; // the command; then the connection closes
            }
        });
        let f = run_at(&epp, port, "get-info", json!({ "sld": "shop", "tld": "example" }), None).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Timeout, "{}", f.message);
        let f = run_at(&epp, port, "renew", json!({ "sld": "shop", "tld": "example", "renew_years": 1 }), None).await.unwrap_err();
        assert_ne!(f.kind, FailureKind::Permanent);

        // An answer carrying another command's clTRID (one left unread before): the session is
        // dropped, never trusted.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = send_frame(&mut s, &greeting(false)).await;
                let _ = receive_frame(&mut s).await;
                let _ = send_frame(&mut s, &reply(1000, "ok", "")).await;
                while receive_frame(&mut s).await.is_ok() {
                    let stale = reply(1000, "ok", "").replace("ABC-1", "PRV-0-0");
                    let _ = send_frame(&mut s, &stale).await;
                }
            }
        });
        let epp = Epp::new();
        let f = run_at(&epp, port, "get-epp-code", json!({ "sld": "shop", "tld": "example" }), None).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Timeout, "{}", f.message);
        assert!(epp.sessions.lock().await.values().all(|slot| slot.try_lock().is_ok_and(|s| s.is_none())), "the session is gone");

        // Garbage instead of EPP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(b"\xff\xff\xff\xffHTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let f = run_at(&epp, port, "get-info", json!({ "sld": "shop", "tld": "example" }), None).await.unwrap_err();
        assert_eq!(f.kind, FailureKind::Transient);
        assert_eq!(masked("<login><clID>a</clID><pw>x1</pw><newPW>y2</newPW></login>"), "<login><clID>a</clID><pw>********</pw><newPW>********</newPW></login>");
    }
}
