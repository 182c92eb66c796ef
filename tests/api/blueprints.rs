//! GET /blueprints and the API's refusals, over HTTP through cargo lambda watch.

use e2e::{admin_token, api_url, claims, client_token, http, token};
use serde_json::Value;
use shared::api::auth::sign_hs256;
use shared::catalogue::catalogue;
use shared::domain::actor::Role;
use shared::domain::time::now_epoch;

async fn get(path: &str, authorization: Option<&str>) -> (u16, Value, reqwest::header::HeaderMap) {
    for _ in 0..3 {
        let mut request = http().get(format!("{}{path}", api_url()));
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        let response = request.send().await.expect("cargo lambda watch answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        e2e::record(&text);
        // cargo lambda watch's own 500 (see e2e::call): read again.
        if status == 500 && text.contains("httpstatuses.com/500") {
            continue;
        }
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: body is not JSON: {text}"));
        return (status, body, headers);
    }
    panic!("{path}: the emulator failed three times");
}

/// The error shape of API.md, with the request id of the response header.
fn assert_error(status: u16, body: &Value, headers: &reqwest::header::HeaderMap, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["error"]["details"]["request_id"].as_str(), headers["x-request-id"].to_str().ok(), "{body}");
}

#[tokio::test]
async fn an_admin_gets_the_whole_catalogue_with_schemas() {
    let (status, body, _) = get("/blueprints", Some(&format!("Bearer {}", admin_token()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["blueprints"], 8);
    assert_eq!(body["counts"]["actions"], 73);
    let blueprints = body["blueprints"].as_array().unwrap();
    assert_eq!(blueprints.len(), 8);
    let mut actions = 0;
    for (b, want) in blueprints.iter().zip(&catalogue().blueprints) {
        assert_eq!(b["id"], want.id);
        for (a, want) in b["actions"].as_array().unwrap().iter().zip(&want.actions) {
            actions += 1;
            assert_eq!(a["id"], want.id);
            assert_eq!(a["params"]["type"], "object", "{}", a["id"]);
            assert_eq!(a["result"]["type"], "object", "{}", a["id"]);
            assert!(a["client"].is_boolean() && a["long_running"].is_boolean());
        }
    }
    assert_eq!(actions, 73);
    let create = &blueprints[0]["actions"][0];
    assert_eq!((create["id"].as_str(), create["moves_to"].as_str()), (Some("create-account"), Some("active")));
    assert_eq!(create["params"]["required"], serde_json::json!(["email", "package_name"]));
}

#[tokio::test]
async fn a_client_may_read_the_catalogue_too() {
    let (status, body, _) = get("/blueprints", Some(&format!("Bearer {}", client_token("client-7")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["actions"], 73);
}

#[tokio::test]
async fn missing_malformed_expired_and_forged_tokens_get_401() {
    let mut expired = claims(Role::Admin, None);
    expired.exp = now_epoch() - 3600;
    let mut other_issuer = claims(Role::Admin, None);
    other_issuer.iss = "evil".into();
    let mut other_audience = claims(Role::Admin, None);
    other_audience.aud = "another-api".into();
    let forged = sign_hs256(b"not-the-secret-but-32-bytes-long-anyway", &claims(Role::Admin, None));
    let cases = [
        None,
        Some("Bearer".to_string()),
        Some("Basic YWRtaW46YWRtaW4=".to_string()),
        Some("Bearer not-a-jwt".to_string()),
        Some(format!("Bearer {}", token(&expired))),
        Some(format!("Bearer {}", token(&other_issuer))),
        Some(format!("Bearer {}", token(&other_audience))),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {}", token(&claims(Role::Client, None)))),
    ];
    for authorization in cases {
        let (status, body, headers) = get("/blueprints", authorization.as_deref()).await;
        assert_error(status, &body, &headers, 401, "unauthenticated");
    }
}

#[tokio::test]
async fn unknown_routes_get_a_json_404_and_wrong_methods_a_405_with_allow() {
    let auth = format!("Bearer {}", admin_token());
    for path in ["/", "/nope", "/blueprints/web-hosting/extra", "/../etc/passwd"] {
        let (status, body, headers) = get(path, Some(&auth)).await;
        assert_error(status, &body, &headers, 404, "not_found");
    }
    for method in [reqwest::Method::POST, reqwest::Method::DELETE, reqwest::Method::PUT] {
        let response = http().request(method.clone(), format!("{}/blueprints", api_url())).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        assert_error(status, &body, &headers, 405, "method_not_allowed");
        assert_eq!(headers["allow"], "GET", "{body}");
        assert_eq!(body["error"]["message"], format!("{method} is not allowed on /blueprints; it answers GET"));
    }
}
