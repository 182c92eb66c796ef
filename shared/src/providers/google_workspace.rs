//! The `google-workspace` provider (office tools): Google Workspace resold through the Reseller
//! API v1 (customers, subscriptions) with the customer's first admin made through the Admin SDK
//! Directory API v1, as their discovery documents (../shared/specs/google-workspace-reseller,
//! google-admin-directory) describe them. JSON both ways; errors are `{"error": {"code",
//! "message", "status", "errors": [{"reason"}]}}`.
//!
//! Auth: a service account with domain-wide delegation. Its key signs a JWT (RS256: `iss` the
//! account, `sub` the reseller admin it acts as, `scope` apps.order and admin.directory.user,
//! `aud` the token endpoint, an hour's life) exchanged at Google's OAuth 2.0 token endpoint
//! (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token, kept per warm
//! instance and configuration until five minutes before it expires, or until refused.
//!
//! A service is one subscription of one customer: its service identifier is
//! `<customerId>/<subscriptionId>` (both Google's). Create: the customer (inserted with its
//! postal address), its subscription of the plan's SKU (marked with a digest of the contract
//! product in its `purchaseOrderId`, and found by that mark when a create's answer was lost),
//! then its first admin (`admin@<domain>` unless `metadata.admin_username` says otherwise, a
//! generated password answered once in the metadata, made an admin). A domain that is already
//! a customer is refused, unless an earlier try of the same create made it (its contact, no
//! subscription): another client's tenant is never taken, nor a super admin made in it. A
//! change of SKU is a new subscription (`action=switch` from the old SKU: the service identifier changes); a change of seats is
//! changeSeats. Suspend and unsuspend are suspend and activate; terminate deletes the
//! subscription (`deletionType=cancel`). Google bills flexible plans monthly and renews annual
//! ones itself: renew is not supported. Login answers the customer's Admin console URL.

use crate::catalogue::schema::{address, email, one_of, params, secret};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::blueprints::{Answer, implements, session_of_api};
use super::params::{non_empty, settings_as};
// The mark a subscription carries of its contract product, in its purchase order id.
use super::product_mark as mark_of;
use super::wire::{Body, Reply, Request, Wire, kind_of_status};
use super::{BoxFuture, Connect, Listed, Listing, ProviderCall, ProviderFailure, ProviderOutput, str_of};
use crate::domain::FailureKind;
use crate::domain::ids::ConfigurationId;

pub const ID: &str = "google-workspace";
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const RESELLER_URL: &str = "https://reseller.googleapis.com";
pub const DIRECTORY_URL: &str = "https://admin.googleapis.com";
pub const SCOPES: &str = "https://www.googleapis.com/auth/apps.order https://www.googleapis.com/auth/admin.directory.user";
/// Fields that carry secrets on Google's wire (and in this provider's answers).
pub const WIRE_SECRETS: &[&str] = &["password", "admin_password", "access_token", "assertion", "customerAuthToken"];
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// A token is used until five minutes before Google says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// The Admin console, when Google names no customer page.
const ADMIN_CONSOLE: &str = "https://admin.google.com/";

pub struct GoogleWorkspace {
    /// Access tokens by configuration (and credentials), with when they stop being used.
    tokens: Mutex<HashMap<u64, (String, Instant)>>,
}

impl Default for GoogleWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration's settings (see [`spec`]).
#[derive(Deserialize)]
struct Settings {
    service_account_email: String,
    private_key: String,
    reseller_admin_email: String,
    #[serde(default, deserialize_with = "non_empty")]
    payment_plan: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    api_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    token_url: Option<String>,
}

pub struct Api<'a> {
    wire: Wire<'a>,
    settings: Settings,
    reseller: String,
    directory: String,
    token_url: String,
    key: u64,
    tokens: &'a Mutex<HashMap<u64, (String, Instant)>>,
}

/// `create`
#[derive(Deserialize, Serialize)]
struct Create {
    domain: String,
    customer_email: String,
    plan: String,
    seat_count: u32,
    #[serde(default, deserialize_with = "non_empty")]
    customer_name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    country_code: Option<String>,
    #[serde(default)]
    billing: Option<Billing>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

/// The billing details a create or a change may carry (the invoice is the purchase order).
#[derive(Deserialize, Serialize)]
struct Billing {
    #[serde(default, deserialize_with = "non_empty")]
    invoice_number: Option<String>,
}

/// `change-package`
#[derive(Deserialize, Serialize)]
struct ChangePackage {
    plan: String,
    seat_count: u32,
    #[serde(default)]
    billing: Option<Billing>,
}

/// A refused token: fetch another (once).
const STALE_TOKEN: &str = "stale token";

fn judge(what: &str) -> impl Fn(&Reply) -> Result<Value, ProviderFailure> + '_ {
    move |reply: &Reply| {
        let error = reply.body.as_ref().map(|b| &b["error"]);
        let message = error.and_then(|e| str_of(e, "message")).unwrap_or("");
        let reason = error.and_then(|e| e["errors"][0]["reason"].as_str()).or_else(|| error.and_then(|e| str_of(e, "status"))).unwrap_or("");
        let detail = if message.is_empty() { format!("HTTP {}", reply.status) } else { format!("{message} ({reason})") };
        let failure = |kind, message: String| Err(ProviderFailure { kind, message: message.chars().take(500).collect(), debug: vec![] });
        match reply.status {
            // A delete answers no body.
            200..=299 => match &reply.body {
                Some(b) if b.is_object() => Ok(b.clone()),
                None if reply.text.trim().is_empty() => Ok(json!({})),
                _ => failure(FailureKind::Permanent, format!("Google answered {what} with a malformed body")),
            },
            401 => failure(FailureKind::Permanent, STALE_TOKEN.into()),
            403 if reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" => failure(FailureKind::Transient, format!("Google's rate limit was reached on {what}: try later")),
            403 => failure(FailureKind::Permanent, format!("Google refused {what}: {detail} (the service account needs domain-wide delegation of the reseller and directory scopes)")),
            404 => failure(FailureKind::Permanent, format!("Google has no such resource for {what}: {detail}")),
            409 => failure(FailureKind::Permanent, format!("Google refused {what}, it exists already: {detail}")),
            429 => failure(FailureKind::Transient, format!("Google's rate limit was reached on {what}: try later")),
            status => failure(kind_of_status(status), format!("Google refused {what}: {detail}")),
        }
    }
}

/// What the token endpoint answers: the token and its life, or why not.
fn judge_token(reply: &Reply) -> Result<Value, ProviderFailure> {
    let body = reply.body.clone().unwrap_or_default();
    match reply.status {
        200..=299 if str_of(&body, "access_token").is_some() => Ok(body),
        200..=299 => Err(ProviderFailure::permanent("Google's token endpoint answered without an access token")),
        400 | 401 | 403 => {
            let why = [str_of(&body, "error"), str_of(&body, "error_description")].into_iter().flatten().collect::<Vec<_>>().join(": ");
            Err(ProviderFailure::permanent(format!(
                "Google refused the service account's token request ({why}): check service_account_email, private_key, reseller_admin_email and the domain-wide delegation of the scopes"
            )))
        }
        status => Err(ProviderFailure { kind: kind_of_status(status), message: format!("Google's token endpoint answered HTTP {status}"), debug: vec![] }),
    }
}

/// The service account's signed assertion (RS256) for the token endpoint.
pub fn assertion(service_account: &str, subject: &str, audience: &str, private_key_pem: &str, now_secs: u64) -> Result<String, ProviderFailure> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.replace("\\n", "\n").as_bytes())
        .map_err(|_| ProviderFailure::permanent("private_key is not an RSA private key in PEM (the service account key file's private_key)"))?;
    let claims = json!({ "iss": service_account, "sub": subject, "scope": SCOPES, "aud": audience, "iat": now_secs, "exp": now_secs + 3600 });
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).map_err(|e| ProviderFailure::permanent(format!("the assertion could not be signed: {e}")))
}

impl Api<'_> {
    /// A fresh access token from the token endpoint, cached.
    async fn fetch_token(&mut self) -> Result<String, ProviderFailure> {
        let now = crate::domain::time::now_millis() / 1000;
        let jwt = assertion(&self.settings.service_account_email, &self.settings.reseller_admin_email, &self.token_url, &self.settings.private_key, now as u64)?;
        let body = Body::Form(vec![("grant_type".into(), "urn:ietf:params:oauth:grant-type:jwt-bearer".into()), ("assertion".into(), jwt)]);
        let url = self.token_url.clone();
        let answer = self.wire.exchange(Request { what: "token", method: reqwest::Method::POST, url: &url, body: &body, read: true }, |r| r, judge_token).await?;
        let token = str_of(&answer, "access_token").unwrap_or_default().to_owned();
        let life = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(3600));
        self.tokens.lock().expect("token cache").insert(self.key, (token.clone(), Instant::now() + life.saturating_sub(TOKEN_MARGIN)));
        Ok(token)
    }

    async fn token(&mut self) -> Result<String, ProviderFailure> {
        let cached = self.tokens.lock().expect("token cache").get(&self.key).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone());
        match cached {
            Some(t) => Ok(t),
            None => self.fetch_token().await,
        }
    }

    /// One call (`url` complete) with the access token; a refused token is replaced once.
    async fn send(&mut self, what: &str, method: reqwest::Method, url: &str, body: Body) -> Result<Value, ProviderFailure> {
        let read = method == reqwest::Method::GET;
        for fresh in [false, true] {
            let token = if fresh { self.fetch_token().await? } else { self.token().await? };
            match self.wire.exchange(Request { what, method: method.clone(), url, body: &body, read }, |r| r.bearer_auth(&token), judge(what)).await {
                Err(f) if f.message == STALE_TOKEN && !fresh => {
                    self.tokens.lock().expect("token cache").remove(&self.key);
                }
                Err(f) if f.message == STALE_TOKEN => return Err(ProviderFailure::permanent(format!("Google refused the access token for {what}"))),
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    /// A Reseller API call (`path` under `apps/reseller/v1/`).
    async fn reseller(&mut self, what: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, ProviderFailure> {
        let url = format!("{}/apps/reseller/v1/{path}", self.reseller);
        self.send(what, method, &url, body.map_or(Body::None, Body::Json)).await
    }

    /// A Directory API call (`path` under `admin/directory/v1/`).
    async fn directory(&mut self, what: &str, path: &str, body: Value) -> Result<Value, ProviderFailure> {
        let url = format!("{}/admin/directory/v1/{path}", self.directory);
        self.send(what, reqwest::Method::POST, &url, Body::Json(body)).await
    }

    /// A read whose "not found" is an answer.
    async fn lookup(&mut self, what: &str, path: &str) -> Result<Option<Value>, ProviderFailure> {
        match self.reseller(what, reqwest::Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(f) if f.kind == FailureKind::Permanent && f.message.starts_with("Google has no such resource") => Ok(None),
            Err(f) => Err(f),
        }
    }

    async fn subscription(&mut self, s: &Service) -> Result<Value, ProviderFailure> {
        self.reseller("subscriptions.get", reqwest::Method::GET, &format!("customers/{}/subscriptions/{}", s.customer, s.subscription), None).await
    }

    /// The payment plan new subscriptions are on.
    fn payment_plan(&self) -> &str {
        self.settings.payment_plan.as_deref().unwrap_or("FLEXIBLE")
    }
}

/// A service: one subscription of one customer, as Google knows them.
struct Service {
    customer: String,
    subscription: String,
}

impl Service {
    fn of(call: &ProviderCall<'_>) -> Result<Self, ProviderFailure> {
        let raw = call.subject().unwrap_or_default();
        let ok = |s: &str| !s.is_empty() && s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        match raw.split_once('/') {
            Some((c, s)) if ok(c) && ok(s) => Ok(Service { customer: c.to_owned(), subscription: s.to_owned() }),
            _ => Err(ProviderFailure::permanent(format!("{raw:?} is not a Google Workspace service (customerId/subscriptionId)"))),
        }
    }

    fn id(&self) -> String {
        format!("{}/{}", self.customer, self.subscription)
    }
}

/// The seats of a plan: flexible and trial plans cap them (`maximumNumberOfSeats`), annual ones
/// commit to them (`numberOfSeats`).
fn seats(payment_plan: &str, n: u32) -> Value {
    if payment_plan.starts_with("ANNUAL") { json!({ "numberOfSeats": n }) } else { json!({ "maximumNumberOfSeats": n }) }
}

/// A subscription's purchase order id: the invoice it was sold on, where there is one, and the
/// mark (80 characters at most, as Google allows).
fn purchase_order(invoice: Option<&str>, mark: &str) -> String {
    match invoice {
        Some(i) => format!("{} {mark}", i.chars().take(80 - mark.len() - 1).collect::<String>()),
        None => mark.to_owned(),
    }
}

/// A subscription as the catalogue's office-tools info.
fn info(sub: &Value, customer_page: Option<&str>) -> Value {
    let seats = &sub["seats"];
    let count = seats["numberOfSeats"].as_i64().or_else(|| seats["maximumNumberOfSeats"].as_i64()).unwrap_or(0);
    let customer = str_of(sub, "customerId").unwrap_or_default();
    let subscription = str_of(sub, "subscriptionId").unwrap_or_default();
    let mut out = json!({
        "customer_id": customer,
        "service_id": format!("{customer}/{subscription}"),
        "domain": str_of(sub, "customerDomain").unwrap_or_default(),
        "plan": str_of(sub, "skuId").unwrap_or_default(),
        "seat_count": count.max(0),
        "seat_count_used": seats["licensedNumberOfSeats"].as_i64().unwrap_or(0).max(0),
        "status": str_of(sub, "status").unwrap_or("UNKNOWN"),
        "control_panel_url": customer_page.unwrap_or(ADMIN_CONSOLE),
        "workspace_url": "https://workspace.google.com/dashboard",
    });
    let mut metadata = json!({ "payment_plan": sub["plan"]["planName"], "sku_name": sub["skuName"] });
    if let Some(reasons) = sub["suspensionReasons"].as_array().filter(|r| !r.is_empty()) {
        metadata["suspension_reasons"] = json!(reasons);
    }
    if let Some(end) = sub["plan"]["commitmentInterval"]["endTime"].as_str().and_then(|e| e.parse::<i64>().ok()) {
        out["expiry_date"] = json!(crate::domain::time::framework_datetime(end)[..10].to_owned());
    }
    out["metadata"] = metadata;
    out
}

/// A metadata field of a create (`postal_code`, `admin_username` ...).
fn meta<'a>(p: &'a Create, key: &str) -> Option<&'a str> {
    p.metadata.as_ref().and_then(|m| m.get(key)).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A first admin's password: 20 characters from the system's random source.
fn generated_password() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=@";
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    let body: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{body}Aa7!")
}

/// customers.insert's body for a create: the domain, the contact e-mail, the postal address
/// (`contactName`, `organizationName`, `countryCode` and `postalCode` required by Google; the
/// rest where given) and a phone number where given.
pub fn customer_request(domain: &str, email: &str, postal_address: Value, phone: Option<&str>) -> Value {
    let mut body = json!({ "customerDomain": domain, "alternateEmail": email, "postalAddress": postal_address });
    if let Some(p) = phone {
        body["phoneNumber"] = json!(p);
    }
    body
}

impl GoogleWorkspace {
    pub fn new() -> Self {
        GoogleWorkspace { tokens: Mutex::new(HashMap::new()) }
    }

    fn api<'a>(&'a self, configuration: &str, settings: &Value) -> Result<Api<'a>, ProviderFailure> {
        let settings: Settings = settings_as(ID, settings)?;
        let root = settings.api_url.as_deref().map(|u| u.trim_end_matches('/').to_owned());
        let reseller = root.clone().unwrap_or_else(|| RESELLER_URL.to_owned());
        let directory = root.unwrap_or_else(|| DIRECTORY_URL.to_owned());
        let token_url = settings.token_url.clone().unwrap_or_else(|| TOKEN_URL.to_owned());
        let mut h = DefaultHasher::new();
        (configuration, &settings.service_account_email, &settings.private_key, &settings.reseller_admin_email, &token_url).hash(&mut h);
        Ok(Api { wire: Wire::new(super::http_client(), "Google", WIRE_SECRETS, CALL_TIMEOUT), settings, reseller, directory, token_url, key: h.finish(), tokens: &self.tokens })
    }

    /// `create`: the customer (made, or the one an earlier try of this create made), its
    /// subscription (bought, marked with the contract product in its purchase order id, or
    /// found by that mark when an earlier try's answer was lost), and for a customer made here
    /// its first admin. A customer this create did not make is never taken: its domain belongs
    /// to someone else's tenant, and its first admin would be a super admin there.
    async fn create(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: Create) -> Answer {
        let domain = p.domain.to_lowercase();
        let mark = mark_of(call.contract_product_id.unwrap_or(&domain));
        let existing = api.lookup("customers.get", &format!("customers/{domain}")).await?;
        if let Some(c) = &existing {
            let id = str_of(c, "customerId").unwrap_or(&domain).to_owned();
            let subs = api.reseller("subscriptions.list", reqwest::Method::GET, &format!("subscriptions?customerId={id}&maxResults=100"), None).await?;
            let live: Vec<&Value> = subs["subscriptions"].as_array().into_iter().flatten().filter(|s| s["status"] != "DELETED").collect();
            if let Some(sub) = live.iter().find(|s| str_of(s, "purchaseOrderId").is_some_and(|po| po.contains(&mark))) {
                let data = info(sub, str_of(c, "resourceUiUrl"));
                let sid = data["service_id"].as_str().unwrap_or_default().to_owned();
                return Ok((format!("{domain}'s {} subscription was bought by an earlier try whose answer was lost: not bought again", str_of(sub, "skuId").unwrap_or_default()), data, Some(sid)));
            }
            // Only a customer an earlier try made (its contact, no subscription yet) is carried on with.
            let ours = live.is_empty() && str_of(c, "alternateEmail").is_some_and(|e| e.eq_ignore_ascii_case(&p.customer_email));
            if !ours {
                return Err(ProviderFailure::permanent(format!(
                    "{domain} is already a Google Workspace customer of this reseller: a new service is not given an existing customer (import its subscription instead)"
                )));
            }
        }
        let made_here = existing.is_none();
        let customer = match existing {
            Some(c) => c,
            None => {
                let name = p.customer_name.as_deref().unwrap_or(&p.customer_email);
                let organisation = meta(&p, "organization_name").unwrap_or(name);
                let country = p.country_code.as_deref().ok_or_else(|| ProviderFailure::permanent("Google needs the customer's country (country_code) to make a new customer"))?;
                let postal = meta(&p, "postal_code").ok_or_else(|| ProviderFailure::permanent("Google needs the customer's postal code (metadata.postal_code) to make a new customer"))?;
                let mut address = json!({ "contactName": name, "organizationName": organisation, "countryCode": country.to_uppercase(), "postalCode": postal });
                for (field, key) in [("addressLine1", "address_line1"), ("locality", "locality")] {
                    if let Some(v) = meta(&p, key) {
                        address[field] = json!(v);
                    }
                }
                let body = customer_request(&domain, &p.customer_email, address, meta(&p, "phone_number"));
                api.reseller("customers.insert", reqwest::Method::POST, "customers", Some(body)).await?
            }
        };
        let customer_id = str_of(&customer, "customerId").unwrap_or(&domain).to_owned();
        let plan = api.payment_plan().to_owned();
        let po = purchase_order(p.billing.as_ref().and_then(|b| b.invoice_number.as_deref()), &mark);
        let body = json!({ "customerId": customer_id, "skuId": p.plan, "plan": { "planName": plan }, "seats": seats(&plan, p.seat_count), "purchaseOrderId": po });
        let sub = api.reseller("subscriptions.insert", reqwest::Method::POST, &format!("customers/{customer_id}/subscriptions"), Some(body)).await.map_err(|f| {
            if f.kind == FailureKind::Permanent { ProviderFailure { kind: FailureKind::Permanent, message: format!("{} (the customer {customer_id} was made)", f.message), debug: vec![] } } else { f }
        })?;
        let mut data = info(&sub, str_of(&customer, "resourceUiUrl"));
        let sid = data["service_id"].as_str().unwrap_or_default().to_owned();
        if str_of(&sub, "subscriptionId").is_none() {
            return Err(ProviderFailure { kind: FailureKind::Timeout, message: "Google answered subscriptions.insert without a subscription id".into(), debug: vec![] });
        }
        let admin = format!("{}@{domain}", meta(&p, "admin_username").unwrap_or("admin"));
        let mut message = format!("{domain} has Google Workspace {} for {} seats", p.plan, p.seat_count);
        if !made_here {
            message.push_str(&format!("; the customer was made by an earlier try whose answer was lost, so its first admin {admin} is for a person to make in the Admin console"));
            return Ok((message, data, Some(sid)));
        }
        // The first admin of the customer made here: a user of the domain, made an admin.
        let password = generated_password();
        let name = p.customer_name.as_deref().unwrap_or("Admin");
        let (given, family) = name.rsplit_once(' ').unwrap_or((name, name));
        let user = json!({ "primaryEmail": admin, "name": { "givenName": given, "familyName": family }, "password": password, "changePasswordAtNextLogin": true });
        let made = async {
            api.directory("directory.users.insert", "users", user).await?;
            api.directory("directory.users.makeAdmin", &format!("users/{admin}/makeAdmin"), json!({ "status": true })).await
        };
        data["metadata"]["admin_email"] = json!(admin);
        match made.await {
            Ok(_) => data["metadata"]["admin_password"] = json!(password),
            Err(f) if f.message.contains("exists already") => {}
            // The subscription stands; the admin is for a person to make (the log says why).
            Err(f) => {
                message.push_str(&format!("; its first admin {admin} was not made: {}", f.message));
                data["metadata"]["admin_error"] = json!(f.message);
            }
        }
        Ok((message, data, Some(sid)))
    }

    /// `login`: the customer's Admin console.
    async fn login(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let s = Service::of(call)?;
        let customer = api.reseller("customers.get", reqwest::Method::GET, &format!("customers/{}", s.customer), None).await?;
        let url = str_of(&customer, "resourceUiUrl").unwrap_or(ADMIN_CONSOLE);
        Ok(("the customer's Google Admin console".into(), json!({ "type": "redirect", "url": url }), None))
    }

    /// `get-info`
    async fn get_info(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let s = Service::of(call)?;
        let sub = api.subscription(&s).await?;
        Ok((format!("subscription {}", s.id()), info(&sub, None), None))
    }

    /// `change-package`: a new SKU switches the subscription (a new one); new seats change the
    /// seats.
    async fn change_package(&self, api: &mut Api<'_>, call: &ProviderCall<'_>, p: ChangePackage) -> Answer {
        let s = Service::of(call)?;
        let current = api.subscription(&s).await?;
        // Google answers ANNUAL_MONTHLY_PAY as ANNUAL, which it does not take as input.
        let plan = match current["plan"]["planName"].as_str().unwrap_or(api.payment_plan()) {
            "ANNUAL" => "ANNUAL_MONTHLY_PAY".to_owned(),
            other => other.to_owned(),
        };
        if current["skuId"] != p.plan.as_str() {
            let mark = mark_of(call.contract_product_id.unwrap_or(&s.customer));
            let po = purchase_order(p.billing.as_ref().and_then(|b| b.invoice_number.as_deref()), &mark);
            let body = json!({ "customerId": s.customer, "skuId": p.plan, "plan": { "planName": plan }, "seats": seats(&plan, p.seat_count), "purchaseOrderId": po });
            let from = str_of(&current, "skuId").unwrap_or_default().to_owned();
            let sub = api.reseller("subscriptions.insert", reqwest::Method::POST, &format!("customers/{}/subscriptions?action=switch&sourceSkuId={from}", s.customer), Some(body)).await?;
            let data = info(&sub, None);
            let sid = data["service_id"].as_str().filter(|i| !i.ends_with('/')).map(str::to_owned);
            return Ok((format!("{} moved from {from} to {}", s.customer, p.plan), data, sid));
        }
        let sub = api
            .reseller("subscriptions.changeSeats", reqwest::Method::POST, &format!("customers/{}/subscriptions/{}/changeSeats", s.customer, s.subscription), Some(seats(&plan, p.seat_count)))
            .await?;
        Ok((format!("subscription {} now has {} seats", s.id(), p.seat_count), info(&sub, None), None))
    }

    /// `suspend`
    async fn suspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let s = Service::of(call)?;
        let sub = api.reseller("subscriptions.suspend", reqwest::Method::POST, &format!("customers/{}/subscriptions/{}/suspend", s.customer, s.subscription), None).await?;
        Ok((format!("subscription {} suspended", s.id()), info(&sub, None), None))
    }

    /// `unsuspend`
    async fn unsuspend(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let s = Service::of(call)?;
        let sub = api.reseller("subscriptions.activate", reqwest::Method::POST, &format!("customers/{}/subscriptions/{}/activate", s.customer, s.subscription), None).await?;
        Ok((format!("subscription {} active again", s.id()), info(&sub, None), None))
    }

    /// `terminate`: the subscription cancelled (`deletionType=cancel`).
    async fn terminate(&self, api: &mut Api<'_>, call: &ProviderCall<'_>) -> Answer {
        let s = Service::of(call)?;
        api.reseller("subscriptions.delete", reqwest::Method::DELETE, &format!("customers/{}/subscriptions/{}?deletionType=cancel", s.customer, s.subscription), None).await?;
        Ok((format!("subscription {} cancelled", s.id()), json!({}), None))
    }
}

session_of_api!(GoogleWorkspace, by configuration);

// Renew is Google's own: flexible plans are billed monthly, annual ones renew by their settings.
implements!(OfficeTools for GoogleWorkspace as ID, {
    create(Create),
    login,
    get_info,
    change_package(ChangePackage),
    suspend,
    unsuspend,
    terminate,
});

impl Connect for GoogleWorkspace {
    fn test_connection<'a>(&'a self, _blueprint: &'a str, settings: &'a Value) -> BoxFuture<'a, Result<ProviderOutput, ProviderFailure>> {
        Box::pin(async move {
            let mut api = self.api("connection-check", settings)?;
            // A fresh token: the check is of the service account and its delegation.
            let result = match api.fetch_token().await {
                Ok(_) => api.reseller("subscriptions.list", reqwest::Method::GET, "subscriptions?maxResults=1", None).await,
                Err(f) => Err(f),
            };
            let connected = result.map(|_| ("connected to Google Workspace's Reseller API".to_owned(), json!({ "connected": true }), None));
            super::with_debug(connected, api.wire.take_debug())
        })
    }

    /// The reseller's subscriptions, 100 a page (`pageToken`).
    fn list_services<'a>(&'a self, _blueprint: &'a str, configuration: &'a ConfigurationId, settings: &'a Value, page: Option<&'a str>) -> BoxFuture<'a, Result<Listing, ProviderFailure>> {
        Box::pin(async move {
            if let Some(p) = page.filter(|p| !p.chars().all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c))) {
                return Err(ProviderFailure::permanent(format!("{p:?} is not a page of Google's subscription list")));
            }
            let mut api = self.api(configuration.as_str(), settings)?;
            let query = page.map(|p| format!("&pageToken={p}")).unwrap_or_default();
            let listed = api.reseller("subscriptions.list", reqwest::Method::GET, &format!("subscriptions?maxResults=100{query}"), None).await;
            let debug = api.wire.take_debug();
            let list = listed.map_err(super::failed_after(&debug))?;
            let services = list["subscriptions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    Some(Listed {
                        service_identifier: format!("{}/{}", str_of(s, "customerId")?, str_of(s, "subscriptionId")?),
                        label: str_of(s, "customerDomain").map(str::to_owned),
                        suspended: Some(s["status"] == "SUSPENDED"),
                    })
                })
                .collect();
            Ok(Listing { services, next: str_of(&list, "nextPageToken").map(str::to_owned), debug })
        })
    }
}

/// Google Workspace (office tools).
pub fn spec() -> super::ProviderSpec {
    let settings = params()
        // The service account (its key file's client_email) with domain-wide delegation.
        .req("service_account_email", email())
        // The key file's private_key (PEM).
        .req("private_key", secret())
        // The reseller domain's admin the service account acts as.
        .req("reseller_admin_email", email())
        // The payment plan of new subscriptions (Google's planName).
        .opt("payment_plan", one_of(&["FLEXIBLE", "ANNUAL_MONTHLY_PAY", "ANNUAL_YEARLY_PAY", "TRIAL"]))
        .opt("api_url", address(super::api_url()))
        .opt("token_url", address(super::api_url()))
        .build();
    super::ProviderSpec {
        id: ID,
        blueprint: "office-tools",
        name: "Google Workspace",
        description: "Google Workspace subscriptions through the Reseller API, with the first admin through the Directory API (a service account with domain-wide delegation)",
        settings,
        supported_actions: <GoogleWorkspace as super::blueprints::Implements>::supported("office-tools"),
        wire_secrets: WIRE_SECRETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;
    use wiremock::matchers::{body_partial_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const KEY: &str = include_str!("../../tests/fixtures/rsa-test-key.pem");
    const ACCESS: &str = "ya29.access-Sup3rSecret";

    /// Google's discovery documents (specs/), as the requests are checked against them.
    fn discovery() -> Vec<Value> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
        ["google-workspace-reseller/reseller-v1.json", "google-admin-directory/admin-directory_v1.json"]
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(root.join(f)).expect("the discovery document is in specs/")).unwrap())
            .collect()
    }

    /// Every method of a discovery document's resources (nested), with the document.
    fn methods(doc: &Value) -> Vec<Value> {
        fn walk(resources: &Value, out: &mut Vec<Value>) {
            for r in resources.as_object().into_iter().flat_map(|o| o.values()) {
                out.extend(r["methods"].as_object().into_iter().flat_map(|m| m.values().cloned()));
                walk(&r["resources"], out);
            }
        }
        let mut out = Vec::new();
        walk(&doc["resources"], &mut out);
        out
    }

    /// Whether a value fits a discovery schema (`$ref` by name; objects name only their
    /// properties, or any under `additionalProperties`): the reasons it does not.
    fn misfits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let schema = match schema["$ref"].as_str() {
            Some(name) => &doc["schemas"][name],
            None => schema,
        };
        let kind = schema["type"].as_str().unwrap_or("any");
        let fits = match kind {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64() || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !fits {
            return vec![format!("{at}: {value} is not {kind}")];
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            return vec![format!("{at}: {value} is not one of {allowed:?}")];
        }
        let mut out = Vec::new();
        if let Some(fields) = value.as_object().filter(|_| kind == "object") {
            for (k, v) in fields {
                match schema["properties"].get(k) {
                    Some(sub) => out.extend(misfits(doc, sub, v, &format!("{at}.{k}"))),
                    None if schema["additionalProperties"].is_object() => out.extend(misfits(doc, &schema["additionalProperties"], v, &format!("{at}.{k}"))),
                    None => out.push(format!("{at}: {k} is not a field of {}", schema["id"].as_str().unwrap_or("the object"))),
                }
            }
        }
        if let Some(items) = value.as_array() {
            for (i, v) in items.iter().enumerate() {
                out.extend(misfits(doc, &schema["items"], v, &format!("{at}[{i}]")));
            }
        }
        out
    }

    /// A request held to the discovery documents: a method with its HTTP method and path, every
    /// query parameter one of its own or the documents' common ones, every required one there, a
    /// body only where it takes one and fitting its schema. Answers the method's id.
    fn conforms(docs: &[Value], r: &Request) -> Result<String, String> {
        let path = r.url.path().trim_start_matches('/');
        for doc in docs {
            for m in methods(doc) {
                if m["httpMethod"] != r.method.as_str() {
                    continue;
                }
                let template = m["flatPath"].as_str().or(m["path"].as_str()).unwrap_or_default();
                let parts: Vec<&str> = template.split('/').collect();
                let got: Vec<&str> = path.split('/').collect();
                let same = parts.len() == got.len() && parts.iter().zip(&got).all(|(t, g)| (t.starts_with('{') && !g.is_empty()) || t == g);
                if !same {
                    continue;
                }
                let id = m["id"].as_str().unwrap_or_default().to_owned();
                let params = &m["parameters"];
                let query: Vec<(String, String)> = r.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                for (k, v) in &query {
                    let known = params.get(k).filter(|p| p["location"] == "query").or_else(|| doc["parameters"].get(k));
                    let Some(p) = known else { return Err(format!("{id}: {k} is not a query parameter")) };
                    if let Some(e) = p["enum"].as_array().filter(|e| !e.contains(&json!(v))) {
                        return Err(format!("{id}: {k}={v} is not one of {e:?}"));
                    }
                }
                for (k, p) in params.as_object().into_iter().flatten() {
                    if p["location"] == "query" && p["required"] == true && !query.iter().any(|(q, _)| q == k) {
                        return Err(format!("{id}: the required {k} is missing"));
                    }
                }
                return match (&m["request"]["$ref"], r.body.is_empty()) {
                    (Value::Null, true) => Ok(id),
                    (Value::Null, false) => Err(format!("{id} takes no body")),
                    (_, true) => Err(format!("{id} needs a body")),
                    (schema, false) => {
                        let body: Value = serde_json::from_slice(&r.body).map_err(|e| format!("{id}: the body is not JSON: {e}"))?;
                        let wrong = misfits(doc, &json!({ "$ref": schema }), &body, "body");
                        if wrong.is_empty() { Ok(id) } else { Err(format!("{id}: {wrong:?}")) }
                    }
                };
            }
        }
        Err(format!("no method of the discovery documents is {} {path}", r.method))
    }

    fn subscription(sku: &str, status: &str) -> Value {
        json!({ "kind": "reseller#subscription", "customerId": "C01abc", "subscriptionId": "S123", "skuId": sku, "skuName": "Google Workspace Business Starter", "customerDomain": "shop.example",
            "plan": { "planName": "FLEXIBLE", "isCommitmentPlan": false }, "seats": { "maximumNumberOfSeats": 5, "licensedNumberOfSeats": 2 }, "status": status })
    }

    /// A subscription an earlier try of `cp`'s create bought (its own id, the mark in its PO).
    fn marked(mut sub: Value, cp: &str) -> Value {
        sub["subscriptionId"] = json!("S124");
        sub["purchaseOrderId"] = json!(format!("INV-7 {}", mark_of(cp)));
        sub
    }

    /// Google with shop.example a customer already (its contact `alternate`, these
    /// subscriptions).
    async fn existing_customer(alternate: &str, subscriptions: Value) -> MockServer {
        let g = google().await;
        let customer = json!({ "customerId": "C01abc", "customerDomain": "shop.example", "alternateEmail": alternate });
        Mock::given(method("GET")).and(path("/apps/reseller/v1/customers/shop.example")).respond_with(ResponseTemplate::new(200).set_body_json(customer)).mount(&g).await;
        Mock::given(method("GET")).and(path("/apps/reseller/v1/subscriptions")).respond_with(ResponseTemplate::new(200).set_body_json(json!({ "subscriptions": subscriptions }))).mount(&g).await;
        g
    }

    #[tokio::test]
    async fn a_domain_that_is_already_someone_elses_customer_is_refused_and_nothing_is_bought_or_made() {
        // With its own subscriptions (one of them another contract product's), or none and
        // someone else's contact: neither is taken.
        for (alternate, subscriptions) in [
            ("owner@shop.example", json!([subscription("1010020028", "ACTIVE"), marked(subscription("1010020027", "ACTIVE"), "cp-other")])),
            ("owner@shop.example", json!([])),
            ("jo@elsewhere.example", json!([subscription("1010020028", "ACTIVE")])),
        ] {
            let g = existing_customer(alternate, subscriptions).await;
            Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/(apps|admin)/")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&g).await;
            let f = run(&g, "create", CREATE()).await.unwrap_err();
            assert_eq!(f.kind, FailureKind::Permanent);
            assert!(f.message.contains("already a Google Workspace customer"), "{}", f.message);
        }
    }

    #[tokio::test]
    async fn a_customer_an_earlier_try_made_gets_its_subscription_but_no_admin_is_made_in_it() {
        let g = existing_customer("Jo@Elsewhere.example", json!([])).await;
        Mock::given(method("POST"))
            .and(path("/apps/reseller/v1/customers/C01abc/subscriptions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "ACTIVE")))
            .expect(1)
            .mount(&g)
            .await;
        Mock::given(method("POST")).and(path("/admin/directory/v1/users")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&g).await;
        let out = run(&g, "create", CREATE()).await.unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("C01abc/S123"));
        assert!(out.data["metadata"]["admin_password"].is_null() && out.message.contains("for a person to make"), "{}", out.message);
    }

    fn error(status: u16, reason: &str, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({ "error": { "code": status, "message": message, "errors": [{ "reason": reason, "message": message }] } }))
    }

    /// Google's token endpoint and APIs on one double; the token endpoint checks the assertion.
    async fn google() -> MockServer {
        let g = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(wiremock::matchers::body_string_contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "access_token": ACCESS, "expires_in": 3599, "token_type": "Bearer" })))
            .mount(&g)
            .await;
        g
    }

    fn settings(g: &MockServer) -> Value {
        json!({ "service_account_email": "provisioner@reseller-project.iam.gserviceaccount.com", "private_key": KEY, "reseller_admin_email": "admin@reseller.example",
            "api_url": g.uri(), "token_url": format!("{}/token", g.uri()) })
    }

    async fn run_on(provider: &GoogleWorkspace, g: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        let (b, a) = catalogue().action("office-tools", action).unwrap();
        let id = ConfigurationId::parse("cfg-gw").unwrap();
        let settings = settings(g);
        let si = (action != "create").then_some("C01abc/S123");
        let call = ProviderCall { blueprint: b, action: a, configuration_id: &id, settings: &settings, params: &params, service_identifier: si, following: None, contract_product_id: Some("cp-1") };
        let out = (provider as &dyn super::super::blueprints::OfficeTools).run(call).await;
        if let Ok(o) = &out {
            assert!(validate(&a.result, &o.data).is_empty(), "{action}: {} does not fit {:?}", o.data, validate(&a.result, &o.data));
        }
        let debug = serde_json::to_string(&match &out {
            Ok(o) => o.debug.clone(),
            Err(f) => f.debug.clone(),
        })
        .unwrap();
        assert!(!debug.contains(ACCESS) && !debug.contains("BEGIN PRIVATE KEY") && !debug.contains("eyJ"), "no token, key or assertion in the exchanges: {debug}");
        out
    }

    async fn run(g: &MockServer, action: &str, params: Value) -> Result<ProviderOutput, ProviderFailure> {
        run_on(&GoogleWorkspace::new(), g, action, params).await
    }

    const CREATE: fn() -> Value = || {
        json!({ "domain": "Shop.Example", "customer_id": "c-1", "customer_email": "jo@elsewhere.example", "plan": "1010020027", "seat_count": 5, "customer_name": "Jo Doe", "country_code": "gb",
            "billing": { "amount": 30, "currency": "GBP", "invoice_number": "INV-7" }, "metadata": { "postal_code": "N1 1AA", "address_line1": "1 High St", "locality": "London" } })
    };

    #[tokio::test]
    async fn a_customer_its_subscription_and_first_admin_are_made_with_the_documented_calls() {
        let g = google().await;
        Mock::given(method("GET")).and(path("/apps/reseller/v1/customers/shop.example")).respond_with(error(404, "notFound", "Resource not found: shop.example")).mount(&g).await;
        Mock::given(method("POST"))
            .and(path("/apps/reseller/v1/customers"))
            .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
            .and(body_partial_json(json!({ "customerDomain": "shop.example", "alternateEmail": "jo@elsewhere.example",
                "postalAddress": { "contactName": "Jo Doe", "organizationName": "Jo Doe", "countryCode": "GB", "postalCode": "N1 1AA", "addressLine1": "1 High St", "locality": "London" } })))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({ "kind": "reseller#customer", "customerId": "C01abc", "customerDomain": "shop.example", "resourceUiUrl": "https://admin.google.com/shop.example/AdminHome" }),
                ),
            )
            .expect(1)
            .mount(&g)
            .await;
        Mock::given(method("POST"))
            .and(path("/apps/reseller/v1/customers/C01abc/subscriptions"))
            .and(body_partial_json(json!({ "customerId": "C01abc", "skuId": "1010020027", "plan": { "planName": "FLEXIBLE" }, "seats": { "maximumNumberOfSeats": 5 }, "purchaseOrderId": format!("INV-7 {}", mark_of("cp-1")) })))
            .respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "ACTIVE")))
            .expect(1)
            .mount(&g)
            .await;
        Mock::given(method("POST"))
            .and(path("/admin/directory/v1/users"))
            .and(body_partial_json(json!({ "primaryEmail": "admin@shop.example", "name": { "givenName": "Jo", "familyName": "Doe" }, "changePasswordAtNextLogin": true })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "u1", "primaryEmail": "admin@shop.example" })))
            .expect(1)
            .mount(&g)
            .await;
        Mock::given(method("POST")).and(path("/admin/directory/v1/users/admin@shop.example/makeAdmin")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&g).await;
        let out = run(&g, "create", CREATE()).await.unwrap();
        assert_eq!(out.service_identifier.as_deref(), Some("C01abc/S123"));
        assert_eq!((out.data["control_panel_url"].as_str(), out.data["seat_count"].as_i64()), (Some("https://admin.google.com/shop.example/AdminHome"), Some(5)));
        let password = out.data["metadata"]["admin_password"].as_str().unwrap().to_owned();
        assert!(!serde_json::to_string(&out.debug).unwrap().contains(&password), "the admin's password is masked in the exchanges");
        // The assertion: RS256, the account as issuer, the reseller admin as subject, both scopes.
        let sent = g.received_requests().await.unwrap();
        let token_request = String::from_utf8_lossy(&sent[0].body).into_owned();
        let jwt = token_request.split("assertion=").nth(1).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(include_str!("../../tests/fixtures/rsa-test-jwks.json")).unwrap().keys[0]).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[format!("{}/token", g.uri())]);
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("a valid RS256 assertion").claims;
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str(), claims["scope"].as_str()),
            (Some("provisioner@reseller-project.iam.gserviceaccount.com"), Some("admin@reseller.example"), Some(SCOPES))
        );
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
        // Every request but the token's is one the discovery documents describe.
        let docs = discovery();
        let ids: Vec<String> = sent.iter().filter(|r| r.url.path() != "/token").map(|r| conforms(&docs, r).unwrap()).collect();
        assert_eq!(ids, ["reseller.customers.get", "reseller.customers.insert", "reseller.subscriptions.insert", "directory.users.insert", "directory.users.makeAdmin"]);
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_finds_the_subscription_and_the_token_is_kept() {
        let g = google().await;
        Mock::given(method("GET"))
            .and(path("/apps/reseller/v1/customers/shop.example"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "customerId": "C01abc", "customerDomain": "shop.example" })))
            .mount(&g)
            .await;
        Mock::given(method("GET"))
            .and(path("/apps/reseller/v1/subscriptions"))
            .and(query_param("customerId", "C01abc"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "subscriptions": [subscription("1010020027", "ACTIVE"), marked(subscription("1010020027", "ACTIVE"), "cp-1")] })))
            .mount(&g)
            .await;
        Mock::given(method("POST")).and(wiremock::matchers::path_regex("^/(apps|admin)/")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&g).await;
        let provider = GoogleWorkspace::new();
        let out = run_on(&provider, &g, "create", CREATE()).await.unwrap();
        assert!(out.message.contains("not bought again"), "{}", out.message);
        assert_eq!(out.service_identifier.as_deref(), Some("C01abc/S124"), "the subscription with this contract product's mark");
        run_on(&provider, &g, "create", CREATE()).await.unwrap();
        let tokens = g.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/token").count();
        assert_eq!(tokens, 1, "one token for the warm instance's calls");
        let docs = discovery();
        for r in g.received_requests().await.unwrap().iter().filter(|r| r.url.path() != "/token") {
            conforms(&docs, r).unwrap();
        }
    }

    #[tokio::test]
    async fn seats_skus_suspension_login_and_cancel_use_the_documented_calls() {
        let g = google().await;
        let sub_path = "/apps/reseller/v1/customers/C01abc/subscriptions/S123";
        Mock::given(method("GET")).and(path(sub_path)).respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "ACTIVE"))).mount(&g).await;
        Mock::given(method("POST"))
            .and(path(format!("{sub_path}/changeSeats")))
            .and(wiremock::matchers::body_json(json!({ "maximumNumberOfSeats": 9 })))
            .respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "ACTIVE")))
            .expect(1)
            .mount(&g)
            .await;
        let billing = json!({ "amount": 30, "currency": "GBP" });
        run(&g, "change-package", json!({ "service_id": "C01abc/S123", "customer_id": "c-1", "domain": "shop.example", "plan": "1010020027", "seat_count": 9, "billing": billing })).await.unwrap();
        let mut switched = subscription("1010020028", "ACTIVE");
        switched["subscriptionId"] = json!("S456");
        Mock::given(method("POST"))
            .and(path("/apps/reseller/v1/customers/C01abc/subscriptions"))
            .and(query_param("action", "switch"))
            .and(query_param("sourceSkuId", "1010020027"))
            .and(body_partial_json(json!({ "skuId": "1010020028", "seats": { "maximumNumberOfSeats": 9 } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(switched))
            .expect(1)
            .mount(&g)
            .await;
        let moved =
            run(&g, "change-package", json!({ "service_id": "C01abc/S123", "customer_id": "c-1", "domain": "shop.example", "plan": "1010020028", "seat_count": 9, "billing": billing })).await.unwrap();
        assert_eq!(moved.service_identifier.as_deref(), Some("C01abc/S456"), "a new SKU is a new subscription");
        for (action, call) in [("suspend", "suspend"), ("unsuspend", "activate")] {
            Mock::given(method("POST")).and(path(format!("{sub_path}/{call}"))).respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "ACTIVE"))).expect(1).mount(&g).await;
            run(&g, action, json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap();
        }
        Mock::given(method("GET"))
            .and(path("/apps/reseller/v1/customers/C01abc"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "customerId": "C01abc", "resourceUiUrl": "https://admin.google.com/shop.example/AdminHome" })))
            .mount(&g)
            .await;
        let login = run(&g, "login", json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap();
        assert_eq!(login.data, json!({ "type": "redirect", "url": "https://admin.google.com/shop.example/AdminHome" }));
        Mock::given(method("DELETE")).and(path(sub_path)).and(query_param("deletionType", "cancel")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&g).await;
        run(&g, "terminate", json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap();
        let info = run(&g, "get-info", json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap();
        assert_eq!((info.data["seat_count"].as_i64(), info.data["seat_count_used"].as_i64(), info.data["status"].as_str()), (Some(5), Some(2), Some("ACTIVE")));
        let f = run(&g, "renew", json!({ "service_id": "C01abc/S123", "customer_id": "c-1", "domain": "shop.example", "billing": billing })).await.unwrap_err();
        assert_eq!(f.message, "office-tools/renew is not supported by google-workspace");
        let docs = discovery();
        for r in g.received_requests().await.unwrap().iter().filter(|r| r.url.path() != "/token") {
            conforms(&docs, r).unwrap();
        }
        // The checker does refuse what the documents do not allow.
        let wrong = |m: &str, p: &str, body: &str| Request { url: format!("http://g{p}").parse().unwrap(), method: m.parse().unwrap(), headers: Default::default(), body: body.as_bytes().to_vec() };
        assert!(conforms(&docs, &wrong("DELETE", "/apps/reseller/v1/customers/C/subscriptions/S", "")).unwrap_err().contains("deletionType"));
        assert!(conforms(&docs, &wrong("POST", "/apps/reseller/v1/customers/C/subscriptions/S/changeSeats", r#"{"seats": 3}"#)).unwrap_err().contains("not a field"));
        assert!(conforms(&docs, &wrong("POST", "/apps/reseller/v1/customers/C/subscriptions/S/suspend", "{}")).unwrap_err().contains("takes no body"));
    }

    #[tokio::test]
    async fn refused_keys_stale_tokens_missing_subscriptions_rate_limits_and_bad_bodies_are_clear_failures() {
        let g = MockServer::start().await;
        Mock::given(path("/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens" })))
            .mount(&g)
            .await;
        let f = run(&g, "get-info", json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap_err();
        assert!(f.kind == FailureKind::Permanent && f.message.contains("unauthorized_client") && f.message.contains("delegation"), "{}", f.message);

        let g = google().await;
        let sub_path = "/apps/reseller/v1/customers/C01abc/subscriptions/S123";
        Mock::given(method("GET")).and(path(sub_path)).respond_with(error(401, "authError", "Invalid Credentials")).up_to_n_times(1).with_priority(1).mount(&g).await;
        Mock::given(method("GET")).and(path(sub_path)).respond_with(ResponseTemplate::new(200).set_body_json(subscription("1010020027", "SUSPENDED"))).mount(&g).await;
        let provider = GoogleWorkspace::new();
        let info = run_on(&provider, &g, "get-info", json!({ "service_id": "C01abc/S123", "customer_id": "c-1" })).await.unwrap();
        assert_eq!(info.data["status"], "SUSPENDED");
        assert_eq!(g.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/token").count(), 2, "a refused token is replaced once");

        let g = google().await;
        Mock::given(path("/apps/reseller/v1/customers/C01abc/subscriptions/S404")).respond_with(error(404, "notFound", "Subscription not found")).mount(&g).await;
        Mock::given(path("/apps/reseller/v1/customers/C01abc/subscriptions/S429")).respond_with(error(429, "rateLimitExceeded", "Quota exceeded")).mount(&g).await;
        Mock::given(path("/apps/reseller/v1/customers/C01abc/subscriptions/S500")).respond_with(ResponseTemplate::new(200).set_body_string("<html>")).mount(&g).await;
        Mock::given(path("/apps/reseller/v1/customers/C01abc/subscriptions/S503/suspend")).respond_with(error(503, "backendError", "Backend Error")).mount(&g).await;
        let on = |s: &str| {
            let g = &g;
            let s = s.to_owned();
            async move {
                let (b, a) = catalogue().action("office-tools", if s.ends_with("503") { "suspend" } else { "get-info" }).unwrap();
                let id = ConfigurationId::parse("cfg-gw").unwrap();
                let (settings, params) = (settings(g), json!({ "service_id": s, "customer_id": "c-1" }));
                (&GoogleWorkspace::new() as &dyn super::super::blueprints::OfficeTools).run(ProviderCall::for_service(b, a, &id, &settings, &params, Some(&s))).await.unwrap_err()
            }
        };
        let f = on("C01abc/S404").await;
        assert!(f.kind == FailureKind::Permanent && f.message.contains("Subscription not found"), "{}", f.message);
        let f = on("C01abc/S429").await;
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 3), "the token, then the read tried twice");
        assert!(on("C01abc/S500").await.message.contains("malformed"));
        let f = on("C01abc/S503").await;
        assert_eq!((f.kind, f.debug.len()), (FailureKind::Transient, 2), "the token, then the write once");
        let f = on("S123").await;
        assert!(f.message.contains("customerId/subscriptionId") && f.debug.is_empty());
        Mock::given(method("GET")).and(path("/apps/reseller/v1/customers/new.example")).respond_with(error(404, "notFound", "no")).mount(&g).await;
        let f = run(&g, "create", json!({ "domain": "new.example", "customer_id": "c", "customer_email": "a@b.example", "plan": "1010020027", "seat_count": 1, "country_code": "GB", "billing": { "amount": 1, "currency": "GBP" } })).await.unwrap_err();
        assert!(f.message.contains("metadata.postal_code"), "{}", f.message);
    }
}
