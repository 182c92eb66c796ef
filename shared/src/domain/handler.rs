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

/// Whether a Lambda target is one the dispatcher may invoke: its name (of a name, a partial or a
/// full ARN, with or without a qualifier) starts with one of `HANDLER_FUNCTION_PREFIXES` (the
/// stack's own `<stack>-` and the operator's `HandlerFunctionPrefix`, which the dispatcher's IAM
/// policy names too). Never any function of the account.
pub fn allowed_function(function: &str) -> Result<(), String> {
    let name = match function.split_once("function:") {
        Some((_, rest)) => rest,
        None => function,
    };
    let name = name.split(':').next().unwrap_or_default();
    let prefixes: Vec<String> = std::env::var("HANDLER_FUNCTION_PREFIXES").unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
    if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
        Ok(())
    } else if prefixes.is_empty() {
        Err("names no function this stack may invoke (HANDLER_FUNCTION_PREFIXES is empty)".into())
    } else {
        Err(format!("must name a function whose name starts with {}", prefixes.join(" or ")))
    }
}
