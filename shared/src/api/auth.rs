//! Bearer JWT verification. Functions verify tokens themselves, so the rules hold the same under
//! `cargo lambda watch` as in AWS: HS256 with a shared secret (local and simple deployments) or
//! RS256 with keys from a JWKS URL (the deployed option). `exp`, `iss` and `aud` are always
//! checked; `role` must be admin or client, and a client token must carry its `client_id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::ApiError;
use crate::domain::actor::{Caller, ClientId, Role};

/// The least length an HS256 secret may have (RFC 7518 §3.2: a key as long as the hash).
pub const MIN_HS256_SECRET_BYTES: usize = 32;
const LEEWAY_SECONDS: u64 = 30;
const JWKS_TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` refetches the key set at most this often (key rotation without a stampede).
const JWKS_REFRESH_FLOOR: Duration = Duration::from_secs(30);
/// How long past its time the last good JWKS is still used while the identity provider cannot
/// be reached (bounded: a key the provider revoked stops working after this at the latest).
const JWKS_GRACE: Duration = Duration::from_secs(2 * 3600);

/// The claims this API reads. Others are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// How tokens are signed.
#[derive(Clone)]
pub enum KeySource {
    Hs256 { secret: Vec<u8> },
    Jwks { url: String },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Hs256 { .. } => f.write_str("Hs256 { secret: <redacted> }"),
            KeySource::Jwks { url } => f.debug_struct("Jwks").field("url", url).finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub keys: KeySource,
    pub issuer: String,
    pub audience: String,
    /// A second issuer trusted beside the first, RS256 through its JWKS (AUTH_OIDC_ISSUER and
    /// AUTH_OIDC_JWKS_URL): on the local stack, the OIDC provider people sign in with, while
    /// `make token`'s HS256 tokens keep working for scripts.
    pub oidc: Option<OidcTrust>,
    /// The claim naming a client's id in the billing system (AUTH_CLIENT_CLAIM, default
    /// `client_id`; `billing_client_id` with the stack's Cognito pool, where `client_id` is the
    /// app client's and cannot be changed).
    pub client_claim: String,
}

/// An OpenID Connect provider whose access tokens are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcTrust {
    pub issuer: String,
    pub jwks_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("AUTH_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("AUTH_CLIENT_CLAIM must be a claim name (letters, digits, _ : . -)")]
    BadClaimName,
}

impl AuthConfig {
    /// Reads AUTH_JWKS_URL (RS256, preferred when set) or AUTH_HS256_SECRET, with AUTH_ISSUER and
    /// AUTH_AUDIENCE.
    pub fn from_env() -> Result<Self, AuthConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`AuthConfig::from_env`], with the HS256 secret given where the function's main read it
    /// (`adapters::ssm::token_secret`: the SSM parameter AUTH_HS256_SECRET_PARAMETER names).
    pub fn with_secret(secret: Option<String>) -> Result<Self, AuthConfigError> {
        let Some(secret) = secret else { return Self::from_env() };
        Self::from_lookup(|k| if k == "AUTH_HS256_SECRET" { Some(secret.clone()) } else { std::env::var(k).ok().filter(|v| !v.is_empty()) })
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        let issuer = get("AUTH_ISSUER").ok_or(AuthConfigError::Missing("AUTH_ISSUER"))?;
        let audience = get("AUTH_AUDIENCE").ok_or(AuthConfigError::Missing("AUTH_AUDIENCE"))?;
        let keys = if let Some(url) = get("AUTH_JWKS_URL") {
            KeySource::Jwks { url }
        } else {
            let secret = get("AUTH_HS256_SECRET").ok_or(AuthConfigError::Missing("AUTH_JWKS_URL or AUTH_HS256_SECRET"))?;
            if secret.len() < MIN_HS256_SECRET_BYTES {
                return Err(AuthConfigError::ShortSecret);
            }
            KeySource::Hs256 { secret: secret.into_bytes() }
        };
        let oidc = match (get("AUTH_OIDC_ISSUER"), get("AUTH_OIDC_JWKS_URL")) {
            (Some(issuer), Some(jwks_url)) => Some(OidcTrust { issuer, jwks_url }),
            (None, None) => None,
            (Some(_), None) => return Err(AuthConfigError::Missing("AUTH_OIDC_JWKS_URL")),
            (None, Some(_)) => return Err(AuthConfigError::Missing("AUTH_OIDC_ISSUER")),
        };
        let client_claim = get("AUTH_CLIENT_CLAIM").unwrap_or_else(|| "client_id".into());
        if client_claim.len() > 64 || !client_claim.chars().all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c)) {
            return Err(AuthConfigError::BadClaimName);
        }
        Ok(AuthConfig { keys, issuer, audience, oidc, client_claim })
    }
}

struct CachedJwks {
    keys: JwkSet,
    fetched: Instant,
    /// The last time a fetch was tried (failed ones too): refetches are at most this often.
    tried: Instant,
}

/// Verifies bearer tokens. Build once per Lambda instance; the JWKS is cached across calls.
#[derive(Clone)]
pub struct Authenticator {
    config: Arc<AuthConfig>,
    http: reqwest::Client,
    jwks: Arc<RwLock<Option<CachedJwks>>>,
    /// The OIDC provider's keys, cached apart.
    oidc_jwks: Arc<RwLock<Option<CachedJwks>>>,
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::Unauthenticated(message.to_owned())
}

impl Authenticator {
    pub fn new(config: AuthConfig, http: reqwest::Client) -> Self {
        Authenticator { config: Arc::new(config), http, jwks: Arc::new(RwLock::new(None)), oidc_jwks: Arc::new(RwLock::new(None)) }
    }

    fn validation(&self, algorithm: Algorithm, issuer: &str) -> Validation {
        let mut v = Validation::new(algorithm);
        v.set_issuer(&[issuer]);
        v.set_audience(&[&self.config.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECONDS;
        v
    }

    /// The caller of a request, from its `Authorization` header.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        let header = authorization.ok_or_else(|| unauthenticated("missing Authorization header"))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("Authorization must be 'Bearer <token>'"))?;
        let claims = self.verify(token).await?;
        match claims.role {
            Role::Admin => Ok(Caller::Admin { subject: claims.sub }),
            Role::Client => {
                let raw = claims.client_id.ok_or_else(|| unauthenticated("a client token needs a client_id claim"))?;
                let client_id = ClientId::parse(&raw).map_err(|e| unauthenticated(&e))?;
                Ok(Caller::Client { subject: claims.sub, client_id })
            }
        }
    }

    async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed token"))?;
        // The OIDC provider's tokens, by their issuer (read before the signature is checked
        // only to pick the keys; the validation checks it again).
        let oidc = self.config.oidc.as_ref().filter(|o| unverified_issuer(token).as_deref() == Some(o.issuer.as_str()));
        let (key, issuer) = match (oidc, &self.config.keys, header.alg) {
            (Some(o), _, Algorithm::RS256) => (self.jwks_key(header.kid.as_deref(), &o.jwks_url, &self.oidc_jwks).await?, o.issuer.as_str()),
            (Some(_), ..) => return Err(unauthenticated("token algorithm not accepted")),
            (None, KeySource::Hs256 { secret }, Algorithm::HS256) => (DecodingKey::from_secret(secret), self.config.issuer.as_str()),
            (None, KeySource::Jwks { url }, Algorithm::RS256) => (self.jwks_key(header.kid.as_deref(), url, &self.jwks).await?, self.config.issuer.as_str()),
            _ => return Err(unauthenticated("token algorithm not accepted")),
        };
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &self.validation(header.alg, issuer)).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let why = match e.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::InvalidSignature => "token signature invalid",
                ErrorKind::InvalidIssuer => "token issuer not accepted",
                ErrorKind::InvalidAudience => "token audience not accepted",
                ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
                ErrorKind::ImmatureSignature => "token not valid yet",
                _ => "token invalid",
            };
            unauthenticated(why)
        })?;
        // An ID token of the same issuer (Cognito's say) is no access token.
        if claims.get("token_use").is_some_and(|u| u != "access") {
            return Err(unauthenticated("not an access token"));
        }
        let client = claims.get(&self.config.client_claim).and_then(serde_json::Value::as_str).map(str::to_owned);
        let mut read: Claims = serde_json::from_value(serde_json::Value::Object(claims)).map_err(|_| unauthenticated("token claims malformed"))?;
        read.client_id = client;
        Ok(read)
    }

    async fn jwks_key(&self, kid: Option<&str>, url: &str, jwks: &RwLock<Option<CachedJwks>>) -> Result<DecodingKey, ApiError> {
        let kid = kid.ok_or_else(|| unauthenticated("token has no kid"))?;
        let find = |set: &JwkSet| set.find(kid).map(DecodingKey::from_jwk);
        {
            let cache = jwks.read().await;
            if let Some(c) = cache.as_ref() {
                let fresh = c.fetched.elapsed() < JWKS_TTL;
                let in_grace = c.fetched.elapsed() < JWKS_TTL + JWKS_GRACE;
                let tried_lately = c.tried.elapsed() < JWKS_REFRESH_FLOOR;
                match find(&c.keys) {
                    // Stale while the identity provider is out: the last good keys, for a while.
                    Some(key) if fresh || (in_grace && tried_lately) => return key.map_err(|_| unauthenticated("signing key unusable")),
                    None if tried_lately => return Err(unauthenticated("token signed by an unknown key")),
                    _ => {}
                }
            }
        }
        match self.fetch_jwks(url).await {
            Ok(keys) => {
                let key = find(&keys);
                let now = Instant::now();
                *jwks.write().await = Some(CachedJwks { keys, fetched: now, tried: now });
                key.ok_or_else(|| unauthenticated("token signed by an unknown key"))?.map_err(|_| unauthenticated("signing key unusable"))
            }
            Err(e) => {
                // An identity provider outage: the last good keys keep working for JWKS_GRACE
                // past their time, instead of every request failing; refetches wait the floor.
                let mut cache = jwks.write().await;
                if let Some(c) = cache.as_mut() {
                    c.tried = Instant::now();
                    if c.fetched.elapsed() < JWKS_TTL + JWKS_GRACE
                        && let Some(key) = find(&c.keys)
                    {
                        tracing::warn!(error = %e, age_seconds = c.fetched.elapsed().as_secs(), "the JWKS could not be fetched: the last good keys are used");
                        return key.map_err(|_| unauthenticated("signing key unusable"));
                    }
                }
                Err(e)
            }
        }
    }

    /// Makes the cached JWKS look fetched `by` ago (tests of expiry and grace).
    #[cfg(test)]
    async fn age_jwks(&self, by: Duration) {
        if let Some(c) = self.jwks.write().await.as_mut() {
            c.fetched = Instant::now().checked_sub(by).unwrap_or(c.fetched);
            c.tried = c.fetched;
        }
    }

    async fn fetch_jwks(&self, url: &str) -> Result<JwkSet, ApiError> {
        let response = self.http.get(url).timeout(Duration::from_secs(5)).send().await.and_then(|r| r.error_for_status()).map_err(|e| ApiError::internal(format!("fetching the JWKS failed: {e}")))?;
        response.json::<JwkSet>().await.map_err(|e| ApiError::internal(format!("the JWKS is malformed: {e}")))
    }
}

/// The `iss` claim of a token, unverified: only to choose which keys verify it.
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?.get("iss")?.as_str().map(String::from)
}

/// Signs HS256 tokens the way the local stack expects (`make token`, tests). Never used in AWS,
/// where tokens come from the identity provider.
pub fn sign_hs256(secret: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).expect("HS256 signing cannot fail")
}

/// Refuses a client where a route is for admins only.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Admin { .. } => Ok(()),
        Caller::Client { .. } => Err(ApiError::Forbidden("this route is for admins only".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::now_epoch;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

    fn hs_config() -> AuthConfig {
        AuthConfig { keys: KeySource::Hs256 { secret: SECRET.as_bytes().to_vec() }, issuer: "local-dev".into(), audience: "provisioning-api".into(), oidc: None, client_claim: "client_id".into() }
    }

    fn claims(role: Role, client_id: Option<&str>) -> Claims {
        Claims { sub: "user-1".into(), role, client_id: client_id.map(String::from), exp: now_epoch() + 600, iss: "local-dev".into(), aud: "provisioning-api".into() }
    }

    fn bearer(t: &str) -> String {
        format!("Bearer {t}")
    }

    async fn check(auth: &Authenticator, header: Option<&str>) -> Result<Caller, String> {
        auth.authenticate(header).await.map_err(|e| {
            assert_eq!(e.status(), 401, "{e}");
            e.to_string()
        })
    }

    fn sign_json(v: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &v, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    }

    /// The stack's Cognito pool: `client_id` is the app client's; the billing client comes in
    /// the claim AUTH_CLIENT_CLAIM names, and an ID token of the same issuer is refused.
    #[tokio::test]
    async fn the_billing_client_is_read_from_the_configured_claim_and_id_tokens_are_refused() {
        let auth = Authenticator::new(AuthConfig { client_claim: "billing_client_id".into(), ..hs_config() }, reqwest::Client::new());
        let base = serde_json::json!({ "sub": "u-1", "role": "client", "exp": now_epoch() + 600, "iss": "local-dev", "aud": "provisioning-api", "client_id": "4tq6appclient", "token_use": "access" });
        let mut with_billing = base.clone();
        with_billing["billing_client_id"] = serde_json::json!("client-42");
        let caller = check(&auth, Some(&bearer(&sign_json(with_billing.clone())))).await.unwrap();
        assert_eq!(caller, Caller::Client { subject: "u-1".into(), client_id: ClientId::parse("client-42").unwrap() });
        let no_billing = check(&auth, Some(&bearer(&sign_json(base)))).await.unwrap_err();
        assert!(no_billing.contains("client_id"), "{no_billing}");
        with_billing["token_use"] = serde_json::json!("id");
        assert!(check(&auth, Some(&bearer(&sign_json(with_billing)))).await.unwrap_err().contains("not an access token"));
        assert!(matches!(
            AuthConfig::from_lookup(|k| match k {
                "AUTH_ISSUER" | "AUTH_AUDIENCE" => Some("x".into()),
                "AUTH_HS256_SECRET" => Some(SECRET.into()),
                "AUTH_CLIENT_CLAIM" => Some("bad claim".into()),
                _ => None,
            }),
            Err(AuthConfigError::BadClaimName)
        ));
    }

    #[tokio::test]
    async fn hs256_admin_and_client_tokens_are_accepted() {
        let auth = Authenticator::new(hs_config(), reqwest::Client::new());
        let admin = sign_hs256(SECRET.as_bytes(), &claims(Role::Admin, None));
        assert_eq!(check(&auth, Some(&bearer(&admin))).await, Ok(Caller::Admin { subject: "user-1".into() }));
        let client = sign_hs256(SECRET.as_bytes(), &claims(Role::Client, Some("c-42")));
        assert_eq!(check(&auth, Some(&bearer(&client))).await, Ok(Caller::Client { subject: "user-1".into(), client_id: ClientId::parse("c-42").unwrap() }));
    }

    #[tokio::test]
    async fn bad_tokens_are_refused_with_a_reason() {
        let auth = Authenticator::new(hs_config(), reqwest::Client::new());
        let sign = |c: &Claims| sign_hs256(SECRET.as_bytes(), c);
        let mut expired = claims(Role::Admin, None);
        expired.exp = now_epoch() - 3600;
        let mut wrong_iss = claims(Role::Admin, None);
        wrong_iss.iss = "someone-else".into();
        let mut wrong_aud = claims(Role::Admin, None);
        wrong_aud.aud = "other-api".into();
        let forged = sign_hs256(b"another-secret-also-32-bytes-long!!", &claims(Role::Admin, None));
        let cases: Vec<(Option<String>, &str)> = vec![
            (None, "missing Authorization header"),
            (Some("Basic abc".into()), "Authorization must be 'Bearer <token>'"),
            (Some("Bearer ".into()), "Authorization must be 'Bearer <token>'"),
            (Some(bearer("not.a.jwt")), "malformed token"),
            (Some(bearer(&sign(&expired))), "token expired"),
            (Some(bearer(&sign(&wrong_iss))), "token issuer not accepted"),
            (Some(bearer(&sign(&wrong_aud))), "token audience not accepted"),
            (Some(bearer(&forged)), "token signature invalid"),
            (Some(bearer(&sign(&claims(Role::Client, None)))), "a client token needs a client_id claim"),
            (Some(bearer(&sign(&claims(Role::Client, Some("bad id with spaces"))))), "invalid client_id \"bad id with spaces\""),
        ];
        for (header, why) in cases {
            assert_eq!(check(&auth, header.as_deref()).await, Err(why.to_owned()), "{header:?}");
        }
    }

    #[tokio::test]
    async fn an_unsigned_or_rs256_token_is_refused_under_hs256() {
        let auth = Authenticator::new(hs_config(), reqwest::Client::new());
        // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert!(check(&auth, Some(&bearer(none))).await.is_err());
        let rs = jsonwebtoken::encode(
            &Header { kid: Some("k1".into()), ..Header::new(Algorithm::RS256) },
            &claims(Role::Admin, None),
            &EncodingKey::from_rsa_pem(include_bytes!("../../tests/fixtures/rsa-test-key.pem")).unwrap(),
        )
        .unwrap();
        assert_eq!(check(&auth, Some(&bearer(&rs))).await, Err("token algorithm not accepted".into()));
    }

    #[tokio::test]
    async fn rs256_tokens_are_checked_against_the_jwks_which_is_cached() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(include_str!("../../tests/fixtures/rsa-test-jwks.json"), "application/json"))
            .expect(1)
            .mount(&server)
            .await;
        let config = AuthConfig { keys: KeySource::Jwks { url: format!("{}/.well-known/jwks.json", server.uri()) }, ..hs_config() };
        let auth = Authenticator::new(config, reqwest::Client::new());
        let key = EncodingKey::from_rsa_pem(include_bytes!("../../tests/fixtures/rsa-test-key.pem")).unwrap();
        let sign = |kid: &str| jsonwebtoken::encode(&Header { kid: Some(kid.into()), ..Header::new(Algorithm::RS256) }, &claims(Role::Admin, None), &key).unwrap();
        for _ in 0..3 {
            assert!(check(&auth, Some(&bearer(&sign("test-key-1")))).await.is_ok());
        }
        assert_eq!(check(&auth, Some(&bearer(&sign("rotated-away")))).await, Err("token signed by an unknown key".into()));
        // An HS256 token must not pass where RS256 is configured, whatever its secret.
        let hs = sign_hs256(SECRET.as_bytes(), &claims(Role::Admin, None));
        assert_eq!(check(&auth, Some(&bearer(&hs))).await, Err("token algorithm not accepted".into()));
    }

    /// An identity provider outage: the last good keys keep working for a bounded grace past
    /// their time (without a refetch on every request), then tokens are refused.
    #[tokio::test]
    async fn the_last_good_jwks_outlives_an_identity_provider_outage_for_a_bounded_grace() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(include_str!("../../tests/fixtures/rsa-test-jwks.json"), "application/json"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET")).and(path("/.well-known/jwks.json")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        let config = AuthConfig { keys: KeySource::Jwks { url: format!("{}/.well-known/jwks.json", server.uri()) }, ..hs_config() };
        let auth = Authenticator::new(config, reqwest::Client::new());
        let key = EncodingKey::from_rsa_pem(include_bytes!("../../tests/fixtures/rsa-test-key.pem")).unwrap();
        let token = jsonwebtoken::encode(&Header { kid: Some("test-key-1".into()), ..Header::new(Algorithm::RS256) }, &claims(Role::Admin, None), &key).unwrap();
        assert!(check(&auth, Some(&bearer(&token))).await.is_ok());
        // Past its time, the provider down: still accepted, and asked again only after the floor.
        auth.age_jwks(JWKS_TTL + Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert!(check(&auth, Some(&bearer(&token))).await.is_ok());
        }
        assert_eq!(server.received_requests().await.unwrap().len(), 2, "one refetch, not one per request");
        // Past the grace: refused (the error is the outage, not a silent pass).
        auth.age_jwks(JWKS_TTL + JWKS_GRACE + Duration::from_secs(60)).await;
        assert!(auth.authenticate(Some(&bearer(&token))).await.is_err());
    }

    /// Beside the HS256 issuer, an OIDC provider's RS256 tokens (by their issuer, through its own
    /// JWKS); neither issuer's tokens pass with the other's algorithm or keys.
    #[tokio::test]
    async fn an_oidc_providers_tokens_are_trusted_beside_the_hs256_issuer() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(include_str!("../../tests/fixtures/rsa-test-jwks.json"), "application/json"))
            .mount(&server)
            .await;
        let issuer = "http://127.0.0.1:4400";
        let config = AuthConfig { oidc: Some(OidcTrust { issuer: issuer.into(), jwks_url: format!("{}/jwks", server.uri()) }), ..hs_config() };
        let auth = Authenticator::new(config, reqwest::Client::new());
        let key = EncodingKey::from_rsa_pem(include_bytes!("../../tests/fixtures/rsa-test-key.pem")).unwrap();
        let rs = |iss: &str| {
            let c = Claims { iss: iss.into(), ..claims(Role::Client, Some("client-1")) };
            jsonwebtoken::encode(&Header { kid: Some("test-key-1".into()), ..Header::new(Algorithm::RS256) }, &c, &key).unwrap()
        };
        let caller = check(&auth, Some(&bearer(&rs(issuer)))).await.unwrap();
        assert_eq!(caller, Caller::Client { subject: "user-1".into(), client_id: ClientId::parse("client-1").unwrap() });
        assert!(check(&auth, Some(&bearer(&sign_hs256(SECRET.as_bytes(), &claims(Role::Admin, None))))).await.is_ok(), "make token's tokens still pass");
        assert_eq!(check(&auth, Some(&bearer(&rs("local-dev")))).await, Err("token algorithm not accepted".into()), "RS256 under the HS256 issuer");
        let hs_as_oidc = sign_hs256(SECRET.as_bytes(), &Claims { iss: issuer.into(), ..claims(Role::Admin, None) });
        assert_eq!(check(&auth, Some(&bearer(&hs_as_oidc))).await, Err("token algorithm not accepted".into()), "HS256 under the OIDC issuer");
        assert_eq!(check(&auth, Some(&bearer(&rs("https://elsewhere.example")))).await, Err("token algorithm not accepted".into()));
    }

    #[test]
    fn config_comes_from_the_environment_and_refuses_weak_secrets() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let ok = AuthConfig::from_lookup(env(&[("AUTH_ISSUER", "i"), ("AUTH_AUDIENCE", "a"), ("AUTH_HS256_SECRET", "local-dev-secret-not-for-production")])).unwrap();
        assert!(matches!(ok.keys, KeySource::Hs256 { .. }));
        assert!(!format!("{ok:?}").contains("local-dev-secret"), "the secret must not appear in Debug");
        let short = AuthConfig::from_lookup(env(&[("AUTH_ISSUER", "i"), ("AUTH_AUDIENCE", "a"), ("AUTH_HS256_SECRET", "short")]));
        assert!(matches!(short, Err(AuthConfigError::ShortSecret)));
        let jwks = AuthConfig::from_lookup(env(&[("AUTH_ISSUER", "i"), ("AUTH_AUDIENCE", "a"), ("AUTH_JWKS_URL", "https://x/jwks")]));
        assert!(matches!(jwks.unwrap().keys, KeySource::Jwks { .. }));
        assert!(matches!(AuthConfig::from_lookup(env(&[("AUTH_AUDIENCE", "a")])), Err(AuthConfigError::Missing("AUTH_ISSUER"))));
        let both = AuthConfig::from_lookup(env(&[
            ("AUTH_ISSUER", "i"),
            ("AUTH_AUDIENCE", "a"),
            ("AUTH_HS256_SECRET", "local-dev-secret-not-for-production"),
            ("AUTH_OIDC_ISSUER", "http://127.0.0.1:4400"),
            ("AUTH_OIDC_JWKS_URL", "http://127.0.0.1:4400/jwks"),
        ]));
        assert_eq!(both.unwrap().oidc.map(|o| o.issuer), Some("http://127.0.0.1:4400".to_owned()));
        let half = AuthConfig::from_lookup(env(&[("AUTH_ISSUER", "i"), ("AUTH_AUDIENCE", "a"), ("AUTH_HS256_SECRET", "local-dev-secret-not-for-production"), ("AUTH_OIDC_ISSUER", "x")]));
        assert!(matches!(half, Err(AuthConfigError::Missing("AUTH_OIDC_JWKS_URL"))));
    }
}
