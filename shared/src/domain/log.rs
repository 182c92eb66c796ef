//! Provision log entries: one per action run, and per note on a contract product (an edit, a
//! retry, work given up).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{ConfigurationId, ContractProductId, LogId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    Success,
    Error,
    Pending,
}

/// One action run. Params, data and debug hold no secret: the engine masks them by schema first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub log_id: LogId,
    pub contract_product_id: ContractProductId,
    pub configuration_id: ConfigurationId,
    pub blueprint: String,
    pub provider: String,
    pub action: String,
    /// `{"role": "admin" | "client" | "system", "id": ...}`
    pub actor: Value,
    pub started_at: String,
    pub duration_ms: u64,
    pub status: LogStatus,
    pub message: String,
    pub params: Value,
    pub data: Value,
    /// `{"code", "message"}` when it failed.
    pub error: Option<Value>,
    pub debug: Value,
}

impl LogStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        [LogStatus::Success, LogStatus::Error, LogStatus::Pending].into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Success => "success",
            LogStatus::Error => "error",
            LogStatus::Pending => "pending",
        }
    }
}

impl LogEntry {
    /// An entry on a contract product for what is not a provider's answer (an edit, a retry,
    /// work given up): now, no duration, no params, data or debug until the caller sets them.
    pub fn note(cp: &super::product::ContractProduct, action: &str, actor: Value, status: LogStatus, message: String) -> Self {
        LogEntry {
            log_id: LogId::generate(),
            contract_product_id: cp.id.clone(),
            configuration_id: cp.provision_configuration_id.clone(),
            blueprint: cp.blueprint.clone(),
            provider: cp.provider.clone(),
            action: action.to_owned(),
            actor,
            started_at: super::time::now_rfc3339(),
            duration_ms: 0,
            status,
            message,
            params: serde_json::json!({}),
            data: Value::Null,
            error: None,
            debug: Value::Null,
        }
    }
}
