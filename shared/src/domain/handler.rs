//! Outgoing event handlers (a signed URL or a Lambda function) and their executions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventHandler {
    pub id: String,
    pub name: String,
    pub event: String,
    /// `{"type": "url", "url": ...}` or `{"type": "lambda", "function": ...}`
    pub target: Value,
    /// enabled | disabled | archived
    pub status: String,
    pub priority: u32,
    /// The signing secret, sealed.
    pub secret: Value,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub handler_id: String,
    pub event_id: String,
    pub event: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    pub success: bool,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}
