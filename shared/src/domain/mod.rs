//! The domain: plain types and pure rules shared by every part of the engine. No AWS, no HTTP.

pub mod actor;
pub mod bulk;
pub mod configuration;
pub mod drift;
pub mod handler;
pub mod ids;
pub mod lifecycle;
pub mod log;
pub mod outgoing;
pub mod product;
pub mod time;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Input refused by a pure rule: what is wrong, and the fields it names (`{"fields": {...}}`),
/// as an API answers it (400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
    pub details: Value,
}

impl Invalid {
    pub fn new(message: impl Into<String>, details: Value) -> Self {
        Invalid { message: message.into(), details }
    }
}

/// The life of a contract product (API.md "contract product").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Pending,
    Active,
    Suspended,
    Terminated,
    Failed,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 5] = [ProductStatus::Pending, ProductStatus::Active, ProductStatus::Suspended, ProductStatus::Terminated, ProductStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Pending => "pending",
            ProductStatus::Active => "active",
            ProductStatus::Suspended => "suspended",
            ProductStatus::Terminated => "terminated",
            ProductStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Who may run something. Admins and the system may run every action; a client only those the
/// catalogue opens to clients, and only on its own contract products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Admin and system only.
    Admin,
    /// Also the client that owns the contract product.
    Client,
}

/// Whether trying again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The third party refused (bad input, missing object, bad credentials): retrying won't help.
    Permanent,
    /// 5xx, throttling, a dropped connection: a later try may succeed.
    Transient,
    /// No answer in time: the effect is unknown until checked.
    Timeout,
}

/// Whether result data says the provider is still working (the framework's operation_status,
/// a server's transitional state).
pub fn in_progress(data: &Value) -> bool {
    data["operation_status"] == "in_progress" || matches!(data["state"].as_str(), Some("initializing" | "starting" | "rebuilding" | "resizing" | "migrating"))
}

/// An error and its causes, one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
