//! The session of a configuration with its registry: settings, the TLS connection, the greeting
//! and login, one command at a time with its answer recorded for the log (passwords masked), a
//! `<hello/>` after a pause, and a new session when the registry dropped the old one.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};

use super::frame::{read_frame, write_frame};
use super::xml::{Element, Response, command, escape, masked, response};
use super::{IDLE_CHECK, IO_TIMEOUT, NS_CONTACT, NS_DOMAIN, NS_HOST, NS_RELEASE};
use crate::domain::FailureKind;
use crate::providers::{ProviderFailure, str_of};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One open EPP session.
pub(super) struct EppSession {
    stream: Box<dyn Stream>,
    /// The registry's extensions (the greeting's svcExtension).
    extensions: Vec<String>,
    last_used: Instant,
    sequence: u64,
}

pub(super) struct Settings {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) username: String,
    pub(super) password: String,
    pub(super) tls: bool,
    pub(super) certificate: Option<String>,
    /// The registry's own certificate authority (PEM), trusted instead of the system's.
    pub(super) ca_certificate: Option<String>,
    pub(super) default_contact: Option<String>,
    /// update-registrant changes the registrant contact itself instead of making a new one.
    pub(super) registrant_in_place: bool,
}

impl Settings {
    pub(super) fn of(v: &Value) -> Result<Self, ProviderFailure> {
        let host = str_of(v, "hostname").unwrap_or_default().to_owned();
        let tls = v["tls"] != false;
        if !tls && !matches!(host.as_str(), "127.0.0.1" | "localhost") {
            return Err(ProviderFailure::permanent("EPP without TLS is only for a registry on this machine (a test double): set tls, or use 127.0.0.1"));
        }
        if crate::providers::local_host(&host) && !crate::providers::test_doubles_allowed() {
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

    pub(super) fn key(&self, configuration: &str) -> String {
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
    let usable = crate::providers::net::usable_addresses(&s.host, resolved, crate::providers::test_doubles_allowed()).map_err(ProviderFailure::permanent)?;
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
    pub(super) settings: Settings,
    pub(super) slot: tokio::sync::OwnedMutexGuard<Option<EppSession>>,
    pub(super) debug: Vec<Value>,
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
    pub(super) fn record(&mut self, what: &str, sent: Option<&str>, received: Option<&str>, error: Option<&str>) {
        let mut entry = json!({ "request": { "command": what, "xml": sent.map(masked) }, "response": { "xml": received.map(masked) } });
        if let Some(e) = error {
            entry["error"] = json!(e);
        }
        self.debug.push(entry);
    }

    /// A fresh session: connect, greeting, login.
    pub(super) async fn open(&mut self) -> Result<(), ProviderFailure> {
        *self.slot = None;
        let mut stream = connect(&self.settings).await?;
        let greeting = match tokio::time::timeout(IO_TIMEOUT, read_frame(&mut stream)).await {
            Ok(Ok(g)) => g,
            _ => return Err(ProviderFailure { kind: FailureKind::Transient, message: "the registry sent no EPP greeting".into(), debug: vec![] }),
        };
        self.record("greeting", None, Some(&greeting), None);
        let greeting = Element::parse(&greeting).map_err(|e| ProviderFailure::permanent(format!("the registry greeted with malformed XML ({e})")))?;
        let extensions: Vec<String> = greeting.texts("extURI");
        let offered: Vec<String> = greeting.texts("objURI");
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
        let a = response(reply.map_err(|_| ProviderFailure { kind: FailureKind::Transient, message: "the registry dropped the session at login".into(), debug: vec![] })?)?;
        if a.code != 1000 {
            return Err(refused("the EPP login", &a));
        }
        *self.slot = Some(session);
        Ok(())
    }

    /// The session, opened or checked as needed.
    pub(super) async fn ready(&mut self) -> Result<(), ProviderFailure> {
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
    pub(super) async fn send(&mut self, what: &str, body: &str, extension: Option<&str>, read: bool) -> Result<Response, ProviderFailure> {
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
                    let a = response(reply)?;
                    if a.doc.first("clTRID").is_some_and(|t| t != transaction) {
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

    pub(super) fn offers(&self, extension: &str) -> bool {
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
