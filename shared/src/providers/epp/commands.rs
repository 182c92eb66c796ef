//! The commands of each action: domains, contacts and hosts as EPP objects (RFC 5731, 5733,
//! 5732), glue records as hosts under the domain, and Nominet's release for IPS tags. One method
//! per action of the blueprint, named after it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::session::Conn;
use super::xml::{Element, Response, escape};
use super::{Epp, NS_CONTACT, NS_DOMAIN, NS_HOST, NS_RELEASE};
use crate::domain::time::normalize_datetime;
use crate::providers::blueprints::Answer;
use crate::providers::params::{Contact, ContactSlot, GlueHost, GlueRecord, IpsTag, Lock, Nameservers, NewRegistrant, Register, Renewal, non_empty};
use crate::providers::{ProviderCall, ProviderFailure};

/// `transfer`: the EPP code and, where given, the years added.
#[derive(Deserialize, Serialize)]
pub(super) struct Transfer {
    #[serde(default, deserialize_with = "non_empty")]
    epp_code: Option<String>,
    #[serde(default)]
    renew_years: Option<i64>,
}

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
fn contact_details(c: &Contact) -> String {
    let name = c.name.as_deref().or(c.organisation.as_deref()).map(escape).unwrap_or_default();
    let org = c.organisation.as_deref().map(|o| format!("<contact:org>{}</contact:org>", escape(o))).unwrap_or_default();
    let sp = c.state.as_deref().map(|s| format!("<contact:sp>{}</contact:sp>", escape(s))).unwrap_or_default();
    format!(
        r#"<contact:postalInfo type="int"><contact:name>{name}</contact:name>{org}<contact:addr><contact:street>{}</contact:street><contact:city>{}</contact:city>{sp}<contact:pc>{}</contact:pc><contact:cc>{}</contact:cc></contact:addr></contact:postalInfo><contact:voice>{}</contact:voice><contact:email>{}</contact:email>"#,
        escape(&c.address1),
        escape(&c.city),
        escape(&c.postcode),
        escape(&c.country_code).to_uppercase(),
        escape(&crate::providers::e164(&c.phone)),
        escape(&c.email),
    )
}

fn contact_create(id: &str, c: &Contact) -> String {
    format!(
        r#"<create><contact:create xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id>{}<contact:authInfo><contact:pw>{}</contact:pw></contact:authInfo></contact:create></create>"#,
        escape(id),
        contact_details(c),
        new_password()
    )
}

/// Whether a check's answer says an object of `element` (name, id) is available.
fn available(doc: &Element, element: &str) -> bool {
    doc.all(element).into_iter().any(|e| e.attr("avail").is_some_and(|v| v == "1" || v == "true"))
}

/// A contact's details as the catalogue's contact data (from contact:info).
fn contact_data(id: &str, doc: &Element) -> Value {
    let mut out = json!({ "id": id });
    for (k, element) in
        [("name", "name"), ("organisation", "org"), ("email", "email"), ("phone", "voice"), ("address1", "street"), ("city", "city"), ("state", "sp"), ("postcode", "pc"), ("country_code", "cc")]
    {
        if let Some(v) = doc.first(element) {
            out[k] = json!(v);
        }
    }
    out
}

fn domain_name(d: &str, body: &str) -> String {
    format!(r#"<domain:{body} xmlns:domain="{NS_DOMAIN}"><domain:name>{}</domain:name>"#, escape(d))
}

fn ns_of(doc: &Element) -> Vec<String> {
    let mut hosts: Vec<String> = doc.texts("hostObj").into_iter().map(|h| h.to_lowercase()).collect();
    hosts.extend(doc.texts("hostName").into_iter().map(|h| h.to_lowercase()));
    hosts
}

/// domain:info as the catalogue's domain result (glue records added by the caller).
fn domain_result(name: &str, doc: &Element) -> Value {
    let statuses: Vec<String> = doc.all("status").into_iter().filter_map(|e| e.attr("s").map(str::to_owned)).collect();
    let date = |k: &str| doc.first(k).and_then(|d| normalize_datetime(&d)).map_or(Value::Null, |d| json!(d));
    let ns: serde_json::Map<String, Value> = ns_of(doc).into_iter().take(5).enumerate().map(|(i, h)| (format!("ns{}", i + 1), json!({ "host": h }))).collect();
    let mut out = json!({
        "id": doc.first("roid").unwrap_or_else(|| name.to_owned()),
        "domain": name,
        "statuses": statuses,
        "locked": statuses.iter().any(|s| s == "clientTransferProhibited"),
        "ns": if ns.is_empty() { Value::Null } else { Value::Object(ns) },
        "created_at": date("crDate"),
        "updated_at": date("upDate"),
        "expires_at": date("exDate"),
        "operation_status": if statuses.iter().any(|s| s == "pendingCreate" || s == "pendingTransfer") { "in_progress" } else { "complete" },
    });
    if let Some(r) = doc.first("registrant") {
        out["registrant"] = json!({ "id": r });
    }
    for contact in doc.all("contact") {
        if let Some(t) = contact.attr("type").filter(|t| ["admin", "tech", "billing"].contains(t)) {
            out[t] = json!({ "id": contact.text.trim() });
        }
    }
    out
}

fn glue_of(host: &str, doc: &Element) -> Value {
    let ips: Vec<String> = doc.texts("addr").into_iter().filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()).collect();
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
        let mut out = domain_result(name, &info.doc);
        let hosts: Vec<String> = info.doc.texts("host").into_iter().map(|h| h.to_lowercase()).collect();
        let mut glue = Vec::new();
        for h in hosts {
            glue.push(glue_of(&h, &self.host_info(&h).await?.doc));
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
        Ok(available(&a.doc, "name"))
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
    async fn contact_create(&mut self, c: &Contact) -> Result<String, ProviderFailure> {
        for _ in 0..3 {
            let id = format!("PRV{}", random_text(9, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"));
            let check = format!(r#"<check><contact:check xmlns:contact="{NS_CONTACT}"><contact:id>{id}</contact:id></contact:check></check>"#);
            let a = self.send("contact:check", &check, None, true).await?;
            if available(&a.doc, "id") {
                self.send("contact:create", &contact_create(&id, c), None, false).await?;
                return Ok(id);
            }
        }
        Err(ProviderFailure::permanent("the registry found no free contact id in three tries"))
    }

    /// The contact id of a contact param: its id, or a contact made from its details.
    async fn contact_id(&mut self, contact: Option<&ContactSlot>) -> Result<Option<String>, ProviderFailure> {
        let Some(contact) = contact else { return Ok(None) };
        if let Some(id) = &contact.id {
            return Ok(Some(id.clone()));
        }
        match &contact.register {
            Some(details) => Ok(Some(self.contact_create(details).await?)),
            None => Ok(None),
        }
    }

    async fn contact_info(&mut self, id: &str) -> Result<Value, ProviderFailure> {
        let a = self.send("contact:info", &format!(r#"<info><contact:info xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id></contact:info></info>"#, escape(id)), None, true).await?;
        Ok(contact_data(id, &a.doc))
    }

    async fn update(&mut self, name: &str, add: &str, rem: &str, chg: &str) -> Result<(), ProviderFailure> {
        let part = |tag: &str, inner: &str| if inner.is_empty() { String::new() } else { format!("<domain:{tag}>{inner}</domain:{tag}>") };
        let body = format!("<update>{}{}{}{}</domain:update></update>", domain_name(name, "update"), part("add", add), part("rem", rem), part("chg", chg));
        self.send("domain:update", &body, None, false).await?;
        Ok(())
    }
}

fn nameservers_of(p: &Nameservers) -> Vec<(String, Option<String>)> {
    p.list().into_iter().map(|(_, n)| (n.host.to_lowercase(), n.ip.clone())).collect()
}

fn host_objs(hosts: &[String]) -> String {
    if hosts.is_empty() {
        return String::new();
    }
    format!("<domain:ns>{}</domain:ns>", hosts.iter().map(|h| format!("<domain:hostObj>{}</domain:hostObj>", escape(h))).collect::<String>())
}

// ---- actions ----

impl Epp {
    /// `register`
    pub(super) async fn register(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: Register) -> Answer {
        let name = domain(call)?;
        let check = format!(r#"<check><domain:check xmlns:domain="{NS_DOMAIN}"><domain:name>{}</domain:name></domain:check></check>"#, escape(&name));
        let checked = conn.send("domain:check", &check, None, true).await?;
        let free = available(&checked.doc, "name");
        if !free {
            let reason = checked.doc.first("reason").unwrap_or_else(|| "not available".into());
            return Err(ProviderFailure::permanent(format!("{name} cannot be registered: {reason}")));
        }
        // Hosts under the new domain can only be made once it exists (RFC 5732 §3.2.1): they
        // are added after the create.
        let (subordinate, external): (Vec<_>, Vec<_>) = nameservers_of(&p.nameservers).into_iter().partition(|(h, _)| h.ends_with(&format!(".{name}")));
        conn.ensure_hosts(&name, &external).await?;
        let registrant_slot = p.contacts.registrant.as_ref();
        let registrant = conn.contact_id(registrant_slot).await?.unwrap_or_default();
        let mut contacts = String::new();
        // The same details in two roles make one contact.
        let mut made: Vec<(Option<&ContactSlot>, String)> = vec![(registrant_slot, registrant.clone())];
        for (role, slot) in p.contacts.others() {
            let slot = slot.as_ref();
            let id = match made.iter().find(|(c, _)| *c == slot) {
                Some((_, id)) => Some(id.clone()),
                None => conn.contact_id(slot).await?,
            };
            if let Some(id) = id {
                made.push((slot, id.clone()));
                contacts.push_str(&format!(r#"<domain:contact type="{role}">{}</domain:contact>"#, escape(&id)));
            }
        }
        let hosts: Vec<String> = external.iter().map(|(h, _)| h.clone()).collect();
        let body = format!(
            r#"<create>{}<domain:period unit="y">{}</domain:period>{}<domain:registrant>{}</domain:registrant>{contacts}<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo></domain:create></create>"#,
            domain_name(&name, "create"),
            p.renew_years,
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
        let mut info = conn.info(&name).await.map_err(crate::providers::made_but_unread)?;
        if created.code == 1001 {
            info["operation_status"] = json!("in_progress");
        }
        Ok((message, info, Some(name)))
    }

    /// `transfer`
    pub(super) async fn transfer(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: Transfer) -> Answer {
        let name = domain(call)?;
        let epp_code = p.epp_code.as_deref();
        if let Ok(info) = conn.domain_info(&name, epp_code).await
            && info.doc.first("clID").is_some_and(|c| c.eq_ignore_ascii_case(&conn.settings.username))
        {
            return Ok((format!("{name} is sponsored by this account"), conn.info(&name).await?, Some(name)));
        }
        let period = p.renew_years.filter(|y| *y > 0).map(|y| format!(r#"<domain:period unit="y">{y}</domain:period>"#)).unwrap_or_default();
        let auth = epp_code.map(|pw| format!("<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo>", escape(pw))).unwrap_or_default();
        let body = format!(r#"<transfer op="request">{}{period}{auth}</domain:transfer></transfer>"#, domain_name(&name, "transfer"));
        let a = conn.send("domain:transfer", &body, None, false).await?;
        Ok((format!("transfer of {name} requested ({})", a.doc.first("trStatus").unwrap_or_else(|| "pending".into())), pending_transfer(&name, &a.doc), Some(name)))
    }

    /// `get-info`
    pub(super) async fn get_info(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let name = domain(call)?;
        if call.following == Some("transfer") {
            // Until the transfer completes the domain is another registrar's, whose info
            // answers less or is refused (RFC 5731 §3.1.2): the transfer's own state says more.
            let ours = match conn.domain_info(&name, None).await {
                Ok(info) => info.doc.first("clID").is_none_or(|c| c.eq_ignore_ascii_case(&conn.settings.username)),
                Err(f) if f.message.contains("(2201)") => false,
                Err(f) => return Err(f),
            };
            if !ours {
                let body = format!(r#"<transfer op="query">{}</domain:transfer></transfer>"#, domain_name(&name, "transfer"));
                let a = conn.send("domain:transfer", &body, None, true).await?;
                let status = a.doc.first("trStatus").unwrap_or_default();
                if matches!(status.as_str(), "clientRejected" | "clientCancelled" | "serverCancelled") {
                    return Err(ProviderFailure::permanent(format!("the transfer of {name} ended: {status}")));
                }
                return Ok((format!("transfer of {name}: {status}"), pending_transfer(&name, &a.doc), None));
            }
        }
        Ok((name.clone(), conn.info(&name).await?, None))
    }

    /// `sync-due-date`: the domain as the registry shows it (its expiry date with it).
    pub(super) async fn sync_due_date(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        self.get_info(conn, call).await
    }

    /// `renew`
    pub(super) async fn renew(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: Renewal) -> Answer {
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let expires = info
            .doc
            .first("exDate")
            .and_then(|d| d.get(..10).filter(|day| day.len() == 10 && day.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })).map(str::to_owned))
            .ok_or_else(|| ProviderFailure::permanent(format!("the registry shows no expiry date of {name}")))?;
        let years = p.renew_years;
        let body = format!(r#"<renew>{}<domain:curExpDate>{expires}</domain:curExpDate><domain:period unit="y">{years}</domain:period></domain:renew></renew>"#, domain_name(&name, "renew"));
        conn.send("domain:renew", &body, None, false).await?;
        Ok((format!("{name} renewed for {years} year(s)"), conn.info(&name).await?, None))
    }

    /// `set-lock`
    pub(super) async fn set_lock(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: Lock) -> Answer {
        let name = domain(call)?;
        let status = r#"<domain:status s="clientTransferProhibited"/>"#;
        let lock = p.lock;
        let (add, rem) = if lock { (status, "") } else { ("", status) };
        conn.update(&name, add, rem, "").await?;
        Ok((format!("{name} {}", if lock { "locked" } else { "unlocked" }), conn.info(&name).await?, None))
    }

    /// `update-nameservers`
    pub(super) async fn update_nameservers(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: Nameservers) -> Answer {
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let current = ns_of(&info.doc);
        let wanted = nameservers_of(&p);
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
    pub(super) async fn update_registrant(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: NewRegistrant) -> Answer {
        let name = domain(call)?;
        if conn.settings.registrant_in_place {
            // The registry's way (Nominet's): the registrant contact itself is changed.
            let info = conn.domain_info(&name, None).await?;
            let id = info.doc.first("registrant").ok_or_else(|| ProviderFailure::permanent(format!("the registry shows no registrant of {name}")))?;
            let body = format!(
                r#"<update><contact:update xmlns:contact="{NS_CONTACT}"><contact:id>{}</contact:id><contact:chg>{}</contact:chg></contact:update></update>"#,
                escape(&id),
                contact_details(&p.contact)
            );
            conn.send("contact:update", &body, None, false).await?;
            return Ok((format!("registrant {id} of {name} updated"), conn.contact_info(&id).await?, None));
        }
        let id = conn.contact_create(&p.contact).await?;
        conn.update(&name, "", "", &format!("<domain:registrant>{}</domain:registrant>", escape(&id))).await?;
        Ok((format!("registrant of {name} is now {id}"), conn.contact_info(&id).await?, None))
    }

    /// `update-registrant-with-default-details`
    pub(super) async fn update_registrant_with_default_details(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
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
    pub(super) async fn get_epp_code(&self, conn: &mut Conn, call: &ProviderCall<'_>) -> Answer {
        let name = domain(call)?;
        let info = conn.domain_info(&name, None).await?;
        let code = match info.doc.all("authInfo").into_iter().find_map(|a| a.first("pw")) {
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
    pub(super) async fn update_ips_tag(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: IpsTag) -> Answer {
        let name = domain(call)?;
        conn.ready().await?;
        if !conn.offers(NS_RELEASE) {
            return Err(ProviderFailure::permanent("domain-names/update-ips-tag is not supported by this registry (its greeting offers no std-release-1.0)"));
        }
        let tag = p.ips_tag.as_str();
        let body = format!(r#"<update><r:release xmlns:r="{NS_RELEASE}"><r:domainName>{}</r:domainName><r:registrarTag>{}</r:registrarTag></r:release></update>"#, escape(&name), escape(tag));
        let a = conn.send("release", &body, None, false).await?;
        let pending = if a.code == 1001 { " (the receiving registrar must accept it)" } else { "" };
        Ok((format!("{name} released to {tag}{pending}"), json!({}), None))
    }

    /// `set-glue-record`
    pub(super) async fn set_glue_record(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: GlueRecord) -> Answer {
        let name = domain(call)?;
        let host = crate::providers::glue_host(&p.hostname, &name)?;
        let wanted = p.ips();
        if conn.host_available(&host).await? {
            conn.host_create(&host, &wanted).await?;
        } else {
            let current: Vec<String> = glue_of(&host, &conn.host_info(&host).await?.doc)["ips"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
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
    pub(super) async fn remove_glue_record(&self, conn: &mut Conn, call: &ProviderCall<'_>, p: GlueHost) -> Answer {
        let name = domain(call)?;
        let host = crate::providers::glue_host(&p.hostname, &name)?;
        conn.send("host:delete", &format!(r#"<delete><host:delete xmlns:host="{NS_HOST}"><host:name>{}</host:name></host:delete></delete>"#, escape(&host)), None, false).await?;
        let glue = conn.info(&name).await?["glue_records"].clone();
        Ok((format!("glue record {host} removed"), json!({ "glue_records": if glue.is_null() { json!([]) } else { glue } }), None))
    }
}

/// The domain a call acts on (lower case).
pub(super) fn domain(call: &ProviderCall<'_>) -> Result<String, ProviderFailure> {
    call.subject().map(|n| n.to_lowercase()).ok_or_else(|| ProviderFailure::permanent("no domain name (sld and tld) to act on"))
}

/// A domain whose transfer is under way, as the catalogue's domain result.
fn pending_transfer(name: &str, doc: &Element) -> Value {
    let date = |k: &str| doc.first(k).and_then(|d| normalize_datetime(&d)).map_or(Value::Null, |d| json!(d));
    let status = doc.first("trStatus").unwrap_or_else(|| "pending".into());
    let done = matches!(status.as_str(), "clientApproved" | "serverApproved");
    json!({ "id": name, "domain": name, "statuses": [if done { "ok".to_owned() } else { "pendingTransfer".to_owned() }], "ns": null, "created_at": null, "updated_at": date("reDate"), "expires_at": date("exDate"),
        "operation_status": if done { "complete" } else { "in_progress" } })
}
