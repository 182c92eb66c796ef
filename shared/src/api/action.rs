//! The action function's handler: `POST /contract-products/{id}/actions/{blueprint}/{action}`.
//! In AWS one Lambda per blueprint action runs this binary, pinned by ACTION_PINNED to its own
//! action (a pinned Lambda refuses any other); locally one unpinned instance serves them all.

use serde_json::Value;

use crate::api::auth::Authenticator;
use crate::api::{ApiError, HttpRequest, HttpResponse, error_response_with_log, json_body};
use crate::domain::actor::Actor;
use crate::engine::Engine;

#[derive(Clone)]
pub struct ActionApi {
    auth: Authenticator,
    engine: Engine,
    /// `blueprint/action` this instance is limited to.
    pinned: Option<String>,
    /// Where long-running actions go to be finished by the worker.
    queue: Option<std::sync::Arc<dyn crate::ports::WorkQueue>>,
}

impl ActionApi {
    pub fn new(auth: Authenticator, engine: Engine, pinned: Option<String>) -> Self {
        ActionApi { auth, engine, pinned: pinned.filter(|p| !p.is_empty()), queue: None }
    }

    /// Long-running actions answer 202 and are finished by the worker from this queue.
    pub fn with_queue(mut self, queue: std::sync::Arc<dyn crate::ports::WorkQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        let (_, params) = request.route("action")?;
        let caller = self.auth.authenticate(request.header("authorization")).await?;
        let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        let (id, blueprint, action) = (get("id"), get("blueprint"), get("action"));
        if let Some(pinned) = &self.pinned
            && *pinned != format!("{blueprint}/{action}")
        {
            return Err(ApiError::NotFound(format!("this function runs {pinned} only")));
        }
        let body = match request.body.as_deref() {
            None | Some(b"") => Value::Null,
            Some(_) => json_body(&request)?,
        };
        let body = fill_from_request(body, blueprint, action, request.source_ip);
        let actor = Actor::Caller(caller);
        let long_running = crate::catalogue::catalogue().action(blueprint, action).is_some_and(|(_, a)| a.long_running);
        let result = match (&self.queue, long_running) {
            (Some(queue), true) => self.engine.start(&actor, id, blueprint, action, &body, queue.as_ref()).await,
            _ => self.engine.run(&actor, id, blueprint, action, &body).await,
        };
        match result {
            Ok(outcome) => HttpResponse::json(outcome.status, &outcome.body),
            Err(failure) => match failure.log_id {
                Some(log_id) => Ok(error_response_with_log(&failure.error.into(), &request.request_id, log_id.as_str())),
                None => Err(failure.error.into()),
            },
        }
    }
}

/// The request's own answers to the fields [`crate::catalogue::REQUEST_FILLED`] names, where the
/// action takes them and the caller gave none.
fn fill_from_request(mut body: Value, blueprint: &str, action: &str, source_ip: Option<std::net::IpAddr>) -> Value {
    let Some(ip) = source_ip else { return body };
    use crate::catalogue::CALLER_IP_FIELD;
    let takes = crate::catalogue::catalogue().action(blueprint, action).is_some_and(|(_, a)| a.params["properties"].get(CALLER_IP_FIELD).is_some());
    if !takes {
        return body;
    }
    if body.is_null() {
        body = serde_json::json!({});
    }
    if let Some(params) = body.as_object_mut().map(|o| o.entry("params").or_insert_with(|| serde_json::json!({})))
        && let Some(p) = params.as_object_mut()
        && p.get(CALLER_IP_FIELD).is_none_or(Value::is_null)
    {
        p.insert(CALLER_IP_FIELD.into(), Value::String(ip.to_string()));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::auth::{AuthConfig, Claims, KeySource, sign_hs256};
    use crate::api::{HttpApiEvent, serve};
    use crate::domain::actor::Role;
    use crate::domain::time::now_epoch;
    use crate::secrets::SecretBox;
    use std::sync::Arc;

    const SECRET: &[u8] = b"unit-test-secret-at-least-32-bytes!!";

    /// An action Lambda pinned to one action refuses every other before touching any table (its
    /// DynamoDB client here points nowhere).
    #[test]
    fn a_login_left_without_an_address_is_for_the_callers_own() {
        let ip: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let filled = fill_from_request(serde_json::json!({ "params": {} }), "web-hosting", "login-to-control-panel", Some(ip));
        assert_eq!(filled["params"]["user_ip"], "203.0.113.7");
        let given = fill_from_request(serde_json::json!({ "params": { "user_ip": "198.51.100.4" } }), "web-hosting", "login-to-control-panel", Some(ip));
        assert_eq!(given["params"]["user_ip"], "198.51.100.4");
        assert_eq!(fill_from_request(Value::Null, "web-hosting", "login-to-control-panel", Some(ip))["params"]["user_ip"], "203.0.113.7");
        assert_eq!(fill_from_request(serde_json::json!({}), "web-hosting", "get-info", Some(ip)), serde_json::json!({}), "an action without the field is left alone");
        assert_eq!(fill_from_request(serde_json::json!([1]), "web-hosting", "login-to-control-panel", Some(ip)), serde_json::json!([1]), "a body that is no object is the engine's to refuse");
    }

    #[tokio::test]
    async fn a_pinned_function_refuses_other_actions() {
        let config = AuthConfig { keys: KeySource::Hs256 { secret: SECRET.to_vec() }, issuer: "i".into(), audience: "a".into(), oidc: None, client_claim: "client_id".into() };
        let auth = Authenticator::new(config, reqwest::Client::new());
        let engine = Engine::new(crate::adapters::memory::MemoryStore::new().stores(), Arc::new(SecretBox::from_key(&[7u8; 32]).unwrap()));
        let api = ActionApi::new(auth, engine, Some("servers/reboot".into()));
        let token = sign_hs256(SECRET, &Claims { sub: "s".into(), role: Role::Admin, client_id: None, exp: now_epoch() + 60, iss: "i".into(), aud: "a".into() });
        let event: HttpApiEvent = serde_json::from_value(serde_json::json!({
            "rawPath": "/contract-products/cp-1/actions/servers/terminate",
            "headers": { "authorization": format!("Bearer {token}") },
            "requestContext": { "requestId": "r-1", "http": { "method": "POST" } }
        }))
        .unwrap();
        let response = serve(lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()), |r| api.handle(r)).await.unwrap();
        assert_eq!(response.status_code, 404);
        assert!(response.body.contains("this function runs servers/reboot only"), "{}", response.body);
    }
}
