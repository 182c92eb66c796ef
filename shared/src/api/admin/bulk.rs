//! The bulk actions' routes (`engine::bulk`): start one (or its dry run), list them, follow
//! one's progress, cancel and resume. Admins only; the request's checks are the engine's.

use std::collections::HashMap;

use serde_json::json;

use crate::api::{ApiError, HttpRequest, HttpResponse, cursor, json_body};
use crate::domain::actor::Actor;
use crate::domain::bulk::ItemStatus;
use crate::engine::Engine;
use crate::ports::Mailbox;

pub struct BulkActions<'a> {
    pub engine: &'a Engine,
    /// Where a job's steps go (the lifecycle queue).
    pub queue: Option<&'a dyn Mailbox>,
}

fn bad(field: &str, why: &str) -> ApiError {
    ApiError::validation("the query has invalid parameters", json!({ "fields": { field: why } }))
}

impl BulkActions<'_> {
    fn queue(&self) -> Result<&dyn Mailbox, ApiError> {
        self.queue.ok_or_else(|| ApiError::internal("the admin function has no lifecycle queue"))
    }

    pub async fn create(&self, actor: &Actor, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let body = json_body(request)?;
        let (status, answer) = self.engine.start_bulk(actor, &body, self.queue()?).await?;
        HttpResponse::json(status, &answer)
    }

    pub async fn list(&self, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        let q = |k: &str| request.query.get(k).map(String::as_str);
        let limit = match q("limit") {
            None => 50,
            Some(l) => l.parse::<i32>().ok().filter(|l| (1..=200).contains(l)).ok_or_else(|| bad("limit", "must be 1 to 200"))?,
        };
        let start = q("cursor").map(|c| cursor::decode_for(c, "gsi2pk", "BULK")).transpose()?;
        let (items, next) = self.engine.list_bulk(limit, start).await?;
        HttpResponse::json(200, &json!({ "items": items, "next_cursor": cursor::encode(next.as_ref(), None) }))
    }

    pub async fn get(&self, request: &HttpRequest, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        let status = request.query.get("status").map(|s| ItemStatus::parse(s).ok_or_else(|| bad("status", "must be queued, running, done, failed or cancelled"))).transpose()?;
        let after = request.query.get("cursor").map(String::as_str);
        if let Some(c) = after
            && crate::domain::ids::ContractProductId::parse(c).is_err()
        {
            return Err(bad("cursor", "is not a cursor this API gave"));
        }
        HttpResponse::json(200, &self.engine.bulk_progress(id, after, status).await?)
    }

    pub async fn cancel(&self, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        HttpResponse::json(200, &self.engine.cancel_bulk(id).await?)
    }

    pub async fn resume(&self, params: &HashMap<String, String>) -> Result<HttpResponse, ApiError> {
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        HttpResponse::json(200, &self.engine.resume_bulk(id, self.queue()?).await?)
    }
}
