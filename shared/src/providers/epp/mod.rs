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
//!
//! Here: the provider, its settings and its sessions' pool; `xml` reads answers (quick-xml) and
//! writes commands; `frame` is RFC 5734's framing; `session` the session with a registry;
//! `commands` one method per action.

mod commands;
mod frame;
mod session;
pub mod xml;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::blueprints::{Session, implements};
use super::params;
use super::{BoxFuture, Connect, ProviderCall, ProviderFailure, ProviderOutput};
use crate::catalogue::schema::{self, address, boolean, int_range, one_of, params, secret, string_max};
use session::{Conn, EppSession, Settings};

pub use frame::{receive_frame, send_frame};
pub use xml::masked;

pub const ID: &str = "epp";
pub(crate) const NS_DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
pub(crate) const NS_CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
pub(crate) const NS_HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
pub const NS_RELEASE: &str = "http://www.nominet.org.uk/epp/xml/std-release-1.0";
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// A session idle this long is checked with `<hello/>` before it is used again.
pub(crate) const IDLE_CHECK: Duration = Duration::from_secs(60);

pub struct Epp {
    sessions: tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<EppSession>>>>>,
}

impl Default for Epp {
    fn default() -> Self {
        Self::new()
    }
}

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
    register(params::Register),
    transfer(commands::Transfer),
    renew(params::Renewal),
    sync_due_date,
    get_info,
    set_lock(params::Lock),
    update_nameservers(params::Nameservers),
    update_registrant(params::NewRegistrant),
    update_registrant_with_default_details,
    get_epp_code,
    update_ips_tag(params::IpsTag),
    set_glue_record(params::GlueRecord),
    remove_glue_record(params::GlueHost),
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
    use crate::domain::FailureKind;
    use tokio::io::AsyncWriteExt;

    /// The trimmed text of the first element of `name` in a command (the registry double reads
    /// them).
    fn first(xml: &str, name: &str) -> Option<String> {
        xml::Element::parse(xml).ok().and_then(|d| d.first(name))
    }

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
        // A folder per check: tests run in parallel, and each removes its own at the end.
        static CHECKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("epp-frames-{}-{n}", std::process::id()));
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
