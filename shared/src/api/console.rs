//! The console's HTTP side: serves the single-page app (built from console/ and embedded in the
//! console function) under a strict Content-Security-Policy, and its sign-in settings. Same origin
//! as the API, so the app calls the API with no CORS; the only other origin a page may reach is
//! the identity provider's token endpoint (the PKCE code exchange).

use serde_json::json;

use crate::api::{ApiError, HttpRequest, HttpResponse};
use base64::Engine;

/// One embedded file of the built app (under `/console/assets/`), and its gzip copy.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The content-hashed file name, e.g. `main-3F2A9C1B.js`.
    pub name: &'static str,
    pub body: &'static [u8],
    pub gzip: &'static [u8],
}

/// The identity provider the console signs in with (authorization code + PKCE, a public client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub client_id: String,
    pub authorize_url: reqwest::Url,
    pub token_url: reqwest::Url,
    pub logout_url: Option<reqwest::Url>,
}

impl SignIn {
    /// From CONSOLE_CLIENT_ID, CONSOLE_AUTHORIZE_URL, CONSOLE_TOKEN_URL and CONSOLE_LOGOUT_URL (the
    /// template's parameters). No client id: none (the console says sign-in is not set up).
    pub fn from_env() -> Result<Option<Self>, String> {
        let var = |name: &str| std::env::var(name).unwrap_or_default().trim().to_owned();
        Self::parse(&var("CONSOLE_CLIENT_ID"), &var("CONSOLE_AUTHORIZE_URL"), &var("CONSOLE_TOKEN_URL"), &var("CONSOLE_LOGOUT_URL"))
    }

    pub fn parse(client_id: &str, authorize: &str, token: &str, logout: &str) -> Result<Option<Self>, String> {
        if client_id.is_empty() {
            return Ok(None);
        }
        let url = |name: &str, value: &str| -> Result<reqwest::Url, String> {
            let u = reqwest::Url::parse(value).map_err(|e| format!("{name} is not a URL ({e}): {value:?}"))?;
            match u.scheme() {
                "https" => Ok(u),
                // Plain http only on this machine (the local stack's provider).
                "http" if matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) => Ok(u),
                _ => Err(format!("{name} must be an https URL: {value:?}")),
            }
        };
        let logout_url = if logout.is_empty() { None } else { Some(url("CONSOLE_LOGOUT_URL", logout)?) };
        Ok(Some(SignIn { client_id: client_id.to_owned(), authorize_url: url("CONSOLE_AUTHORIZE_URL", authorize)?, token_url: url("CONSOLE_TOKEN_URL", token)?, logout_url }))
    }
}

/// The console function's handler: the app's page, its assets and `config.json`.
pub struct Console {
    index: &'static str,
    files: &'static [Asset],
    config: String,
    csp: String,
}

const INDEX_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

impl Console {
    /// `index`: the page, with `{{BASE}}` where the stage prefix goes; `files`: the assets.
    pub fn new(index: &'static str, files: &'static [Asset], sign_in: Option<SignIn>) -> Self {
        let config = match &sign_in {
            Some(s) => json!({ "sign_in": {
                "client_id": s.client_id,
                "authorization_endpoint": s.authorize_url.as_str(),
                "token_endpoint": s.token_url.as_str(),
                "end_session_endpoint": s.logout_url.as_ref().map(|u| u.as_str()),
            }}),
            None => json!({ "sign_in": null }),
        };
        // The token exchange is the page's one request to another origin.
        let connect = sign_in.as_ref().map(|s| format!(" {}", s.token_url.origin().ascii_serialization())).unwrap_or_default();
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'{connect}; \
             manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        Console { index, files, config: config.to_string(), csp }
    }

    pub fn content_security_policy(&self) -> &str {
        &self.csp
    }

    pub fn handle(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let (_, params) = request.route(crate::api::routes::CONSOLE_FUNCTION)?;
        let rest = params.get("proxy").map(String::as_str).unwrap_or("");
        if let Some(name) = rest.strip_prefix("assets/") {
            let asset = self.files.iter().find(|a| a.name == name).ok_or_else(|| ApiError::NotFound(format!("no console asset {name}")))?;
            return Ok(self.asset(request, asset));
        }
        if rest == "config.json" {
            let mut r = HttpResponse::raw_json(200, self.config.clone());
            r.headers.push(("cache-control", INDEX_CACHE.into()));
            return Ok(r);
        }
        // Every other path is one of the app's own pages: the app routes it.
        Ok(self.page(&request.stage_prefix))
    }

    fn page(&self, stage_prefix: &str) -> HttpResponse {
        // API Gateway's stage names are [A-Za-z0-9_-]; nothing else reaches the page.
        let base: String = stage_prefix.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_')).collect();
        let body = self.index.replace("{{BASE}}", &base);
        HttpResponse { content_type: "text/html; charset=utf-8", headers: self.security_headers(INDEX_CACHE), ..HttpResponse::raw_json(200, body) }
    }

    fn asset(&self, request: &HttpRequest, asset: &Asset) -> HttpResponse {
        let gzip = request.header("accept-encoding").is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
        let mut headers = self.security_headers(ASSET_CACHE);
        headers.push(("vary", "accept-encoding".into()));
        let bytes = if gzip {
            headers.push(("content-encoding", "gzip".into()));
            asset.gzip
        } else {
            asset.body
        };
        let body = base64::engine::general_purpose::STANDARD.encode(bytes);
        HttpResponse { content_type: content_type(asset.name), headers, base64: true, ..HttpResponse::raw_json(200, body) }
    }

    fn security_headers(&self, cache: &str) -> Vec<(&'static str, String)> {
        vec![
            ("cache-control", cache.into()),
            ("content-security-policy", self.csp.clone()),
            ("x-frame-options", "DENY".into()),
            // The sign-in callback's URL carries the authorization code: never sent on.
            ("referrer-policy", "no-referrer".into()),
            ("cross-origin-opener-policy", "same-origin".into()),
            ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()".into()),
        ]
    }
}

/// `GET /console/` reaches no route of API Gateway (its `$default` route takes it): the fallback
/// function sends it to the console's page, `/console`.
pub fn trailing_slash(request: &HttpRequest) -> Option<HttpResponse> {
    (request.method == "GET" && request.path == "/console/").then(|| {
        let mut r = HttpResponse::raw_json(308, serde_json::json!({ "moved_to": format!("{}/console", request.stage_prefix) }).to_string());
        r.headers.push(("location", format!("{}/console", request.stage_prefix)));
        r
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    static FILES: &[Asset] = &[Asset { name: "main-ABC.js", body: b"console.log(1)", gzip: b"\x1f\x8b-gz" }];
    const INDEX: &str = r#"<script src="{{BASE}}/console/assets/main-ABC.js"></script>"#;

    fn get(path: &str, headers: &[(&str, &str)], stage_prefix: &str) -> HttpRequest {
        HttpRequest {
            request_id: "r".into(),
            method: "GET".into(),
            path: path.into(),
            query: HashMap::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: None,
            stage_prefix: stage_prefix.into(),
            source_ip: None,
        }
    }

    fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    fn console() -> Console {
        let sign_in = SignIn::parse("console", "https://id.example.com/auth", "https://id.example.com:8443/token", "").unwrap();
        Console::new(INDEX, FILES, sign_in)
    }

    #[test]
    fn every_app_path_is_the_page_with_a_strict_policy_and_no_cache() {
        let c = console();
        for path in ["/console", "/console/", "/console/services/cp-1", "/console/callback"] {
            let r = c.handle(&get(path, &[], "")).unwrap();
            assert_eq!((r.status, r.content_type), (200, "text/html; charset=utf-8"), "{path}");
            assert_eq!(header(&r, "cache-control"), Some("no-cache"));
            assert!(r.body.contains(r#"src="/console/assets/main-ABC.js""#));
        }
        let csp = c.content_security_policy();
        assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("connect-src 'self' https://id.example.com:8443;"), "{csp}");
        let r = c.handle(&get("/console/x", &[], "/prod")).unwrap();
        assert!(r.body.contains(r#"src="/prod/console/assets/main-ABC.js""#));
    }

    #[test]
    fn assets_are_immutable_and_gzipped_when_asked() {
        let c = console();
        let r = c.handle(&get("/console/assets/main-ABC.js", &[("accept-encoding", "br, gzip;q=0.8")], "")).unwrap();
        assert_eq!((r.content_type, r.base64, header(&r, "content-encoding")), ("text/javascript; charset=utf-8", true, Some("gzip")));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&r.body).unwrap(), b"\x1f\x8b-gz");
        assert_eq!(header(&r, "cache-control"), Some(ASSET_CACHE));
        let r = c.handle(&get("/console/assets/main-ABC.js", &[], "")).unwrap();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&r.body).unwrap(), b"console.log(1)");
        assert_eq!(header(&r, "content-encoding"), None);
        assert_eq!(c.handle(&get("/console/assets/nope.js", &[], "")).unwrap_err().status(), 404);
    }

    #[test]
    fn the_settings_name_the_provider_and_never_more() {
        let r = console().handle(&get("/console/config.json", &[], "")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["sign_in"]["client_id"], "console");
        assert_eq!(v["sign_in"]["token_endpoint"], "https://id.example.com:8443/token");
        assert_eq!(v["sign_in"]["end_session_endpoint"], serde_json::Value::Null);
        let bare = Console::new(INDEX, FILES, None);
        assert!(bare.handle(&get("/console/config.json", &[], "")).unwrap().body.contains(r#""sign_in":null"#));
        assert_eq!(bare.content_security_policy().matches("connect-src 'self';").count(), 1);
    }

    #[test]
    fn sign_in_settings_are_parsed_not_trusted() {
        assert_eq!(SignIn::parse("", "", "", ""), Ok(None));
        assert!(SignIn::parse("c", "http://id.example.com/auth", "https://id.example.com/token", "").is_err());
        assert!(SignIn::parse("c", "https://id.example.com/auth", "not a url", "").is_err());
        assert!(SignIn::parse("c", "http://127.0.0.1:4400/auth", "http://127.0.0.1:4400/token", "http://127.0.0.1:4400/session/end").unwrap().is_some());
    }

    #[test]
    fn the_console_root_with_a_slash_moves_to_the_page() {
        let r = trailing_slash(&get("/console/", &[], "/prod")).unwrap();
        assert_eq!((r.status, header(&r, "location")), (308, Some("/prod/console")));
        assert!(trailing_slash(&get("/console", &[], "")).is_none());
        assert!(trailing_slash(&get("/blueprints/", &[], "")).is_none());
    }

    #[test]
    fn other_methods_are_refused_as_the_api_refuses_them() {
        let mut r = get("/console/x", &[], "");
        r.method = "POST".into();
        assert_eq!(console().handle(&r).unwrap_err().status(), 405);
    }
}
