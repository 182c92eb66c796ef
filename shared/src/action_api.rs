//! The action function's handler: `POST /contract-products/{id}/actions/{blueprint}/{action}`.
//! In AWS one Lambda per blueprint action runs this binary, pinned by ACTION_PINNED to its own
//! action (a pinned Lambda refuses any other); locally one unpinned instance serves them all.

use serde_json::Value;

use crate::engine::{Actor, Engine};
use crate::http::auth::Authenticator;
use crate::http::{ApiError, HttpRequest, HttpResponse, error_response_with_log, json_body};

#[derive(Clone)]
pub struct ActionApi {
    auth: Authenticator,
    engine: Engine,
    /// `blueprint/action` this instance is limited to.
    pinned: Option<String>,
}

impl ActionApi {
    pub fn new(auth: Authenticator, engine: Engine, pinned: Option<String>) -> Self {
        ActionApi { auth, engine, pinned: pinned.filter(|p| !p.is_empty()) }
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        let (_, params) = request.route("action")?;
        let caller = self.auth.authenticate(request.header("authorization")).await?;
        let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        let (id, blueprint, action) = (get("id"), get("blueprint"), get("action"));
        if let Some(pinned) = &self.pinned {
            if *pinned != format!("{blueprint}/{action}") {
                return Err(ApiError::NotFound(format!("this function runs {pinned} only")));
            }
        }
        let body = match request.body.as_deref() {
            None | Some(b"") => Value::Null,
            Some(_) => json_body(&request)?,
        };
        match self.engine.run(&Actor::Caller(caller), id, blueprint, action, &body).await {
            Ok(outcome) => HttpResponse::json(outcome.status, &outcome.body),
            Err(failure) => match failure.log_id {
                Some(log_id) => Ok(error_response_with_log(&failure.error, &request.request_id, log_id.as_str())),
                None => Err(failure.error),
            },
        }
    }
}
