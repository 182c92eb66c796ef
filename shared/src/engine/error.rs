//! The engine's one error type: why a run was refused or failed, and whether trying again may
//! help. The API maps it to an HTTP status in one place (`api::error`); the worker asks
//! [`EngineError::retryable`].

use serde_json::Value;

use crate::domain::{FailureKind, Invalid};
use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad input: nothing was sent, nothing changed.
    #[error("{message}")]
    Invalid { message: String, details: Value },
    /// No such contract product, configuration or action (or one the caller may not see).
    #[error("{0}")]
    NotFound(String),
    /// The caller may see it but not run it.
    #[error("{0}")]
    Forbidden(String),
    /// The contract product's status does not allow the action.
    #[error("{0}")]
    InvalidState(String),
    /// Another run or record came first.
    #[error("{0}")]
    Conflict(String),
    /// The third party failed the action.
    #[error("{message}")]
    Provider { kind: FailureKind, message: String },
    /// The third party is not called now (its configuration's breaker is open, or it is at its
    /// limits): try again after the given time.
    #[error("{message}")]
    Unavailable { message: String, retry_after_seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something broke inside (settings that do not open, an unknown provider).
    #[error("{0}")]
    Internal(String),
}

impl From<Invalid> for EngineError {
    fn from(e: Invalid) -> Self {
        EngineError::Invalid { message: e.message, details: e.details }
    }
}

impl EngineError {
    pub fn invalid(message: impl Into<String>, details: Value) -> Self {
        EngineError::Invalid { message: message.into(), details }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        EngineError::Internal(cause.to_string())
    }

    /// Whether a later try of the same run may succeed: a transient failure or timeout at the
    /// provider, a store that could not be reached, an internal failure. Bad input, a missing
    /// record, a refused status or a conflict of records stay as they are.
    pub fn retryable(&self) -> bool {
        match self {
            EngineError::Provider { kind, .. } => *kind != FailureKind::Permanent,
            EngineError::Store(StoreError::Conflict(_) | StoreError::Taken(_)) => false,
            EngineError::Store(_) | EngineError::Internal(_) | EngineError::Unavailable { .. } => true,
            EngineError::Invalid { .. } | EngineError::NotFound(_) | EngineError::Forbidden(_) | EngineError::InvalidState(_) | EngineError::Conflict(_) => false,
        }
    }

    /// How long queued work waits before it is tried again, when the third party is not called
    /// now (not an attempt: nothing was tried).
    pub fn deferral(&self) -> Option<u64> {
        match self {
            EngineError::Unavailable { retry_after_seconds, .. } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The code a log entry records for it (the API answers with the same code).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid { .. } => "validation_failed",
            EngineError::NotFound(_) => "not_found",
            EngineError::Forbidden(_) => "forbidden",
            EngineError::InvalidState(_) => "invalid_state",
            EngineError::Conflict(_) | EngineError::Store(StoreError::Conflict(_) | StoreError::Taken(_)) => "conflict",
            EngineError::Provider { kind: FailureKind::Timeout, .. } => "provider_timeout",
            EngineError::Provider { .. } => "provider_error",
            EngineError::Unavailable { .. } => "provider_unavailable",
            EngineError::Store(_) | EngineError::Internal(_) => "internal",
        }
    }
}
