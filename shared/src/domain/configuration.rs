//! Provision configurations: one third-party system and its credentials (sealed).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::ConfigurationId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub id: ConfigurationId,
    pub name: String,
    pub blueprint: String,
    pub provider: String,
    pub enabled: bool,
    /// The provider's settings, secret fields sealed.
    pub settings: Value,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    #[serde(default)]
    pub usage_count: u64,
}

/// Which defaults a configuration holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaults {
    pub for_blueprint: bool,
    pub for_provider: bool,
}
