//! The one error type of the HTTP boundary and its mapping to status codes (API.md "Error").

use serde_json::{Value, json};

use crate::domain::{FailureKind, Invalid};
use crate::engine::EngineError;
use crate::ports::StoreError;

/// Every way an HTTP call can fail. The status and code of each variant are fixed here and
/// nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A known path asked with a method it does not answer: 405 with `Allow`.
    #[error("{method} is not allowed on {path}; it answers {}", allowed.join(", "))]
    MethodNotAllowed { method: String, path: String, allowed: Vec<&'static str> },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    ProviderError(String),
    #[error("{0}")]
    ProviderTimeout(String),
    /// The third party is not called now (its breaker is open, or it is at its limits): 503 with
    /// Retry-After.
    #[error("{message}")]
    ProviderUnavailable { message: String, retry_after_seconds: u64 },
    /// Something broke inside. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn validation(message: impl Into<String>, details: Value) -> Self {
        ApiError::Validation { message: message.into(), details }
    }

    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(cause.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation { .. } => 400,
            ApiError::Unauthenticated(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) | ApiError::InvalidState(_) => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::ProviderError(_) => 502,
            ApiError::ProviderTimeout(_) => 504,
            ApiError::ProviderUnavailable { .. } => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "validation_failed",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidState(_) => "invalid_state",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::ProviderError(_) => "provider_error",
            ApiError::ProviderTimeout(_) => "provider_timeout",
            ApiError::ProviderUnavailable { .. } => "provider_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The error body of API.md: `{"error":{"code","message","details"}}`, plus `log_id` where an
    /// action ran. `request_id` lets support find the log lines of a failed call.
    pub fn body(&self, request_id: &str, log_id: Option<&str>) -> Value {
        let mut details = match self {
            ApiError::Validation { details, .. } => details.clone(),
            ApiError::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            ApiError::MethodNotAllowed { allowed, .. } => json!({ "allow": allowed }),
            ApiError::ProviderUnavailable { retry_after_seconds, .. } => json!({ "retry_after_seconds": retry_after_seconds }),
            _ => json!({}),
        };
        if let Value::Object(map) = &mut details {
            map.insert("request_id".into(), json!(request_id));
        }
        let mut body = json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": details }
        });
        if let Some(log_id) = log_id {
            body["log_id"] = json!(log_id);
        }
        body
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) | StoreError::Taken(m) => ApiError::Conflict(m),
            other => ApiError::internal(other),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Validation { message: e.message, details: e.details }
    }
}

/// The one place an engine error becomes an HTTP answer.
impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { message, details } => ApiError::Validation { message, details },
            EngineError::NotFound(m) => ApiError::NotFound(m),
            EngineError::Forbidden(m) => ApiError::Forbidden(m),
            EngineError::InvalidState(m) => ApiError::InvalidState(m),
            EngineError::Conflict(m) => ApiError::Conflict(m),
            EngineError::Provider { kind: FailureKind::Timeout, message } => ApiError::ProviderTimeout(message),
            EngineError::Provider { message, .. } => ApiError::ProviderError(message),
            EngineError::Unavailable { message, retry_after_seconds } => ApiError::ProviderUnavailable { message, retry_after_seconds },
            EngineError::Store(e) => e.into(),
            EngineError::Internal(m) => ApiError::internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_its_api_md_status() {
        let cases = [
            (ApiError::validation("bad", json!({"fields": {}})), 400, "validation_failed"),
            (ApiError::Unauthenticated("x".into()), 401, "unauthenticated"),
            (ApiError::Forbidden("x".into()), 403, "forbidden"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::InvalidState("x".into()), 409, "invalid_state"),
            (ApiError::PayloadTooLarge { limit: 262_144 }, 413, "payload_too_large"),
            (ApiError::ProviderError("x".into()), 502, "provider_error"),
            (ApiError::ProviderTimeout("x".into()), 504, "provider_timeout"),
            (ApiError::internal("db password is hunter2"), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.code()), (status, code));
            let body = err.body("req-1", None);
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["details"]["request_id"], "req-1");
        }
    }

    /// An engine error answers with the code its log entry records.
    #[test]
    fn engine_errors_answer_with_the_code_they_log() {
        let cases = [
            EngineError::invalid("bad", json!({})),
            EngineError::NotFound("x".into()),
            EngineError::Forbidden("x".into()),
            EngineError::InvalidState("x".into()),
            EngineError::Conflict("x".into()),
            EngineError::Provider { kind: FailureKind::Timeout, message: "x".into() },
            EngineError::Provider { kind: FailureKind::Transient, message: "x".into() },
            EngineError::Store(StoreError::Taken("x".into())),
            EngineError::Store(StoreError::Unavailable("x".into())),
            EngineError::internal("x"),
        ];
        for e in cases {
            let code = e.code();
            assert_eq!(ApiError::from(e).code(), code);
        }
    }

    #[test]
    fn internal_errors_leak_nothing() {
        let body = ApiError::internal("db password is hunter2").body("r", Some("log-1"));
        assert_eq!(body["error"]["message"], "internal error");
        assert!(!body.to_string().contains("hunter2"));
        assert_eq!(body["log_id"], "log-1");
    }
}
