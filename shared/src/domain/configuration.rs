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
    /// Products and contract products that name it (a delete waits for none).
    #[serde(default)]
    pub usage_count: u64,
    /// The most contract products it may hold (none: no limit): placement keeps to it.
    #[serde(default)]
    pub capacity: Option<u64>,
    /// Labels placement chooses by (a region, a disk type).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The contract products it holds (made here and not terminated): what `capacity` limits.
    /// Those made before it was counted are not in it (it may then run below zero).
    #[serde(default)]
    pub services_count: i64,
}

impl Configuration {
    /// Whether it has room for one more contract product.
    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.services_count.max(0) < c as i64)
    }
}

/// Which defaults a configuration holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaults {
    pub for_blueprint: bool,
    pub for_provider: bool,
}
