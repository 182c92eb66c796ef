//! The admin API's handler: routes a request of the admin function to its operation.

use std::sync::LazyLock;

use crate::catalogue::catalogue;
use crate::http::auth::Authenticator;
use crate::http::{ApiError, HttpRequest, HttpResponse};

/// What the admin function holds across invocations.
#[derive(Clone)]
pub struct Admin {
    auth: Authenticator,
}

/// `GET /blueprints` is the same for every caller: serialized once per Lambda instance.
static BLUEPRINTS: LazyLock<String> = LazyLock::new(|| catalogue().document().to_string());

impl Admin {
    pub fn new(auth: Authenticator) -> Self {
        Admin { auth }
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        let (route, _params) = request.route("admin")?;
        let _caller = self.auth.authenticate(request.header("authorization")).await?;
        match route.operation_id {
            "listBlueprints" => Ok(HttpResponse::raw_json(200, BLUEPRINTS.clone())),
            other => Err(ApiError::internal(format!("route {other} has no handler"))),
        }
    }
}
