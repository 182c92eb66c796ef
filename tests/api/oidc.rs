//! Sign-in through the local OpenID Connect provider (infra/oidc) as the console does it: the
//! authorization code flow with PKCE, the provider's own login form, the token exchange; then
//! the access token (RS256, verified by the API through the provider's JWKS) reaches what its
//! user may reach and nothing else. `make token`'s HS256 tokens keep working beside it.

use std::collections::BTreeMap;

use base64::Engine;
use e2e::{admin_token, api_url, call, unique};
use serde_json::{Value, json};

fn oidc_url() -> String {
    std::env::var("E2E_OIDC_URL").expect("E2E_OIDC_URL: the local OIDC provider make test starts")
}

fn password(user: &str) -> String {
    std::env::var(format!("OIDC_PASSWORD_{}", user.to_uppercase())).expect("the seeded users' passwords (make test sets them)")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A browser's cookie jar, as far as this flow needs one (one host, every path).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for c in response.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                self.0.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn location(response: &reqwest::Response) -> String {
    let to = response.headers().get("location").unwrap_or_else(|| panic!("no redirect: {}", response.status())).to_str().unwrap();
    if to.starts_with("http") { to.to_owned() } else { format!("{}{to}", oidc_url()) }
}

/// `application/x-www-form-urlencoded` of pairs.
fn form(pairs: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params("http://form.invalid/", pairs).unwrap().query().unwrap_or_default().to_owned()
}

/// What signing in gives: the login page's answer to a wrong password, or a code with its PKCE
/// verifier.
enum SignIn {
    Refused(u16, String),
    Code { code: String, verifier: String },
}

fn redirect_uri() -> String {
    format!("{}/console/callback", api_url())
}

async fn sign_in(user: &str, pass: &str) -> SignIn {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let verifier = b64(unique("pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz").as_bytes());
    let challenge = b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref());
    let state = unique("state");
    let mut jar = Jar::default();
    let redirect = redirect_uri();
    let params = [
        ("client_id", "console"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", redirect.as_str()),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let authorize = http.get(reqwest::Url::parse_with_params(&format!("{}/auth", oidc_url()), &params).unwrap()).send().await.unwrap();
    jar.take(&authorize);
    let login_page = location(&authorize);
    let page = http.get(&login_page).header("cookie", jar.header()).send().await.unwrap();
    jar.take(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("<label for=\"password\">Password</label>"), "the provider's login form: {html}");
    let posted = http
        .post(format!("{login_page}/login"))
        .header("cookie", jar.header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("username", user), ("password", pass)]))
        .send()
        .await
        .unwrap();
    jar.take(&posted);
    if !posted.status().is_redirection() {
        return SignIn::Refused(posted.status().as_u16(), posted.text().await.unwrap());
    }
    // Back to the authorization endpoint, then to the console with the code.
    let mut next = location(&posted);
    for _ in 0..5 {
        if next.starts_with(&redirect) {
            let url = reqwest::Url::parse(&next).unwrap();
            let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(q.get("state"), Some(&state), "{next}");
            return SignIn::Code { code: q.get("code").unwrap_or_else(|| panic!("no code: {next}")).clone(), verifier };
        }
        let hop = http.get(&next).header("cookie", jar.header()).send().await.unwrap();
        jar.take(&hop);
        next = location(&hop);
    }
    panic!("the provider did not send the browser back to the console: {next}");
}

/// The token exchange a console makes: (status, body).
async fn exchange(code: &str, verifier: &str) -> (u16, Value) {
    let redirect = redirect_uri();
    let r = reqwest::Client::new()
        .post(format!("{}/token", oidc_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", &redirect), ("client_id", "console"), ("code_verifier", verifier)]))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json::<Value>().await.unwrap())
}

async fn token_of(user: &str) -> (String, Value) {
    let SignIn::Code { code, verifier } = sign_in(user, &password(user)).await else { panic!("{user} could not sign in") };
    let (status, tokens) = exchange(&code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(exchange(&code, &verifier).await.0, 400, "a code is good once");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let payload: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    (access, payload)
}

#[tokio::test]
async fn people_sign_in_with_the_oidc_provider_and_reach_what_their_role_allows() {
    // A wrong password is the login page again, with a 401 and an alert; no code.
    match sign_in("alice", "not-her-password").await {
        SignIn::Refused(status, page) => assert!(status == 401 && page.contains("role=\"alert\""), "{status} {page}"),
        SignIn::Code { .. } => panic!("a wrong password signed in"),
    }
    // A code without its PKCE verifier gets no token.
    let SignIn::Code { code, .. } = sign_in("alice", &password("alice")).await else { panic!("alice could not sign in") };
    assert_eq!(exchange(&code, &b64(b"not-the-verifier-of-this-code-0123456789-abcdef")).await.0, 400, "PKCE holds");

    // Alice (client-1): an RS256 access token for the API, with her client id.
    let (alice, claims) = token_of("alice").await;
    assert_eq!((claims["role"].as_str(), claims["client_id"].as_str(), claims["aud"].as_str()), (Some("client"), Some("client-1"), Some("provisioning-api")), "{claims}");
    assert_eq!(claims["iss"].as_str(), Some(oidc_url().as_str()));
    let header: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(alice.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");

    // A service of hers and one of client-2's, made by an admin with a make-token token.
    let (_, cfg) = call(reqwest::Method::POST, "/provision-configurations", Some(&admin_token()), Some(json!({"name": unique("oidc"), "blueprint": "seo", "provider": "demo", "settings": {}}))).await;
    let mut made = Vec::new();
    for client in ["client-1", "client-2"] {
        let (status, cp) = call(
            reqwest::Method::POST,
            "/contract-products",
            Some(&admin_token()),
            Some(json!({"client_id": client, "blueprint": "seo", "deployment": {"type": "static", "configuration_id": cfg["id"]}})),
        )
        .await;
        assert_eq!(status, 201, "{cp}");
        made.push(cp["id"].as_str().unwrap().to_owned());
    }
    let (status, mine) = call(reqwest::Method::GET, "/contract-products?limit=500", Some(&alice), None).await;
    assert_eq!(status, 200, "{mine}");
    let ids: Vec<&str> = mine["items"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(ids.contains(&made[0].as_str()) && !ids.contains(&made[1].as_str()), "{ids:?}");
    assert_eq!(call(reqwest::Method::GET, &format!("/contract-products/{}", made[1]), Some(&alice), None).await.0, 404);
    assert_eq!(call(reqwest::Method::GET, "/provision-configurations", Some(&alice), None).await.0, 403);

    // The admin: every route; no client_id claim.
    let (admin, claims) = token_of("admin").await;
    assert_eq!(claims["role"], "admin");
    assert!(claims.get("client_id").is_none(), "{claims}");
    assert_eq!(call(reqwest::Method::GET, "/provision-configurations", Some(&admin), None).await.0, 200);

    // Bob is client-2: his own, not Alice's.
    let (bob, _) = token_of("bob").await;
    assert_eq!(call(reqwest::Method::GET, &format!("/contract-products/{}", made[1]), Some(&bob), None).await.0, 200);
    assert_eq!(call(reqwest::Method::GET, &format!("/contract-products/{}", made[0]), Some(&bob), None).await.0, 404);

    // Alice's token made to say client-2 (her signature kept) is refused.
    let parts: Vec<&str> = alice.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["client_id"] = json!("client-2");
    let forged = format!("{}.{}.{}", parts[0], b64(payload.to_string().as_bytes()), parts[2]);
    assert_eq!(call(reqwest::Method::GET, "/contract-products", Some(&forged), None).await.0, 401);
}
