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
    /// How hard the engine may press its third party (none set: as hard as it is asked).
    #[serde(default)]
    pub limits: Limits,
    /// The circuit breaker over its third party (kept by the engine, never by an edit).
    #[serde(default)]
    pub breaker: Breaker,
}

impl Configuration {
    /// Whether it has room for one more contract product.
    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.services_count.max(0) < c as i64)
    }
}

/// A configuration's limits, kept across every Lambda instance (their state is in the store):
/// provider calls at once, provider calls started per second, and the transient failures in a
/// row (within a minute) that open its breaker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// Transient failures in a row, within [`BREAKER_WINDOW_MS`] of the first, that open the
    /// breaker (default [`BREAKER_FAILURES`]; 0 turns the breaker off). An answer from the
    /// third party, even a refusal, starts the count again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker_failures: Option<u32>,
}

/// Transient failures in a row that open a breaker, unless a configuration says.
pub const BREAKER_FAILURES: u32 = 5;
/// The window failures are counted in.
pub const BREAKER_WINDOW_MS: i64 = 60_000;
/// How long a breaker stays open the first time; each time its probe fails it doubles, up to
/// [`BREAKER_MAX_COOLDOWN_MS`].
pub const BREAKER_COOLDOWN_MS: i64 = 20_000;
pub const BREAKER_MAX_COOLDOWN_MS: i64 = 300_000;

impl Limits {
    /// Whether any call waits for a place (a lease or a start time).
    pub fn gated(&self) -> bool {
        self.max_concurrency.is_some() || self.requests_per_second.is_some()
    }

    pub fn breaker_failures(&self) -> u32 {
        self.breaker_failures.unwrap_or(BREAKER_FAILURES)
    }

    /// The time between two calls' starts at `requests_per_second`, in microseconds, 10% wider
    /// than the rate: `rate + 1` starts then span 1.1 s, so up to 100 ms of scheduling jitter
    /// between a start and its arrival never puts more calls than the rate into any one second
    /// at the provider.
    pub fn spacing_us(&self) -> Option<i64> {
        self.requests_per_second.filter(|r| *r > 0).map(|r| 1_100_000 / i64::from(r))
    }
}

/// A circuit breaker: closed (calls go through, transient failures counted in a window) or open
/// until `retry_at_ms`, when one call (the half-open probe: the connection test) may try the
/// third party; its success closes the breaker, its failure opens it again for twice as long.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    #[serde(default)]
    pub open: bool,
    /// Transient failures in a row, counted since `window_ms`.
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub window_ms: i64,
    /// While open: when the probe may run.
    #[serde(default)]
    pub retry_at_ms: i64,
    /// Times it opened in a row (its cooldown doubles each time).
    #[serde(default)]
    pub opens: u32,
    /// Until when a probe is under way (one at a time).
    #[serde(default)]
    pub probe_until_ms: i64,
    /// What opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Breaker {
    /// How long to stay open after `opens` openings in a row.
    pub fn cooldown_ms(opens: u32) -> i64 {
        (BREAKER_COOLDOWN_MS << opens.saturating_sub(1).min(8)).min(BREAKER_MAX_COOLDOWN_MS)
    }

    /// As the API shows it: closed, open (until when) or half_open (its probe may run).
    pub fn state(&self, now_ms: i64) -> &'static str {
        match (self.open, now_ms >= self.retry_at_ms) {
            (false, _) => "closed",
            (true, false) => "open",
            (true, true) => "half_open",
        }
    }
}

/// Which defaults a configuration holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaults {
    pub for_blueprint: bool,
    pub for_provider: bool,
}
