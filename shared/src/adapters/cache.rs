//! Configurations remembered per warm instance, for a short, stated time.
//!
//! A lifecycle event or an action reads its contract product and then the product's
//! configuration; the configuration changes rarely (an admin edits it by hand), so a warm worker
//! or action function keeps what it read for [`CONFIGURATION_TTL`] and an event costs one read.
//! What makes the staleness harmless:
//! - the engine forgets a configuration whenever a run at its third party fails and before every
//!   connection test, so credentials fixed after a failure are used by the very next attempt;
//! - whatever a run writes is checked by the store itself (a new contract product's transaction
//!   requires its configuration to exist, of its blueprint, and enabled), never against the copy;
//! - a configuration not found is not remembered (one made a moment ago is seen at once), nor
//!   are defaults (`default_for` reads through).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::configuration::Configuration;
use crate::domain::ids::ConfigurationId;
use crate::ports::{BoxFuture, Configurations, StoreError, Stores};

/// How long a warm instance uses a configuration it read before reading it again.
pub const CONFIGURATION_TTL: Duration = Duration::from_secs(30);

/// The stores with their configurations remembered for [`CONFIGURATION_TTL`]: what the worker
/// and the action function run their engine over.
pub fn remembering(stores: Stores) -> Stores {
    Stores { configurations: Arc::new(CachedConfigurations::new(stores.configurations, CONFIGURATION_TTL)), ..stores }
}

/// A [`Configurations`] store with a memory in front of it.
pub struct CachedConfigurations {
    inner: Arc<dyn Configurations>,
    ttl: Duration,
    seen: Mutex<HashMap<ConfigurationId, (Instant, Configuration)>>,
}

impl CachedConfigurations {
    pub fn new(inner: Arc<dyn Configurations>, ttl: Duration) -> Self {
        CachedConfigurations { inner, ttl, seen: Mutex::new(HashMap::new()) }
    }

    fn remembered(&self, id: &ConfigurationId) -> Option<Configuration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }
}

impl Configurations for CachedConfigurations {
    fn configuration<'a>(&'a self, id: &'a ConfigurationId) -> BoxFuture<'a, Result<Option<Configuration>, StoreError>> {
        Box::pin(async move {
            if let Some(c) = self.remembered(id) {
                return Ok(Some(c));
            }
            let read = self.inner.configuration(id).await?;
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            match &read {
                Some(c) => {
                    seen.insert(id.clone(), (Instant::now(), c.clone()));
                }
                None => {
                    seen.remove(id);
                }
            }
            // Configurations are few; expired ones are dropped as others are read.
            let ttl = self.ttl;
            seen.retain(|_, (at, _)| at.elapsed() < ttl);
            Ok(read)
        })
    }

    fn default_for<'a>(&'a self, blueprint: &'a str, provider: Option<&'a str>) -> BoxFuture<'a, Result<Option<ConfigurationId>, StoreError>> {
        self.inner.default_for(blueprint, provider)
    }

    fn of_blueprint<'a>(&'a self, blueprint: &'a str) -> BoxFuture<'a, Result<Vec<Configuration>, StoreError>> {
        self.inner.of_blueprint(blueprint)
    }

    fn forget(&self, id: &ConfigurationId) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        self.inner.forget(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryStore;
    use crate::testing::demo_configuration;

    fn renamed(name: &str) -> Configuration {
        Configuration { name: name.into(), ..demo_configuration(serde_json::json!({})) }
    }

    #[tokio::test]
    async fn a_configuration_is_read_once_within_its_time_and_fresh_after_forget() {
        let store = MemoryStore::new();
        store.put_configuration(renamed("first"));
        let id = renamed("first").id;
        let cached = CachedConfigurations::new(Arc::new(store.clone()), Duration::from_secs(60));
        assert_eq!(cached.configuration(&id).await.unwrap().unwrap().name, "first");
        store.put_configuration(renamed("changed"));
        // Within its time the copy is used ...
        assert_eq!(cached.configuration(&id).await.unwrap().unwrap().name, "first");
        // ... until the engine forgets it.
        cached.forget(&id);
        assert_eq!(cached.configuration(&id).await.unwrap().unwrap().name, "changed");
    }

    #[tokio::test]
    async fn an_expired_copy_is_read_again_and_an_absent_one_is_not_remembered() {
        let store = MemoryStore::new();
        store.put_configuration(renamed("first"));
        let id = renamed("first").id;
        let cached = CachedConfigurations::new(Arc::new(store.clone()), Duration::ZERO);
        cached.configuration(&id).await.unwrap().unwrap();
        store.put_configuration(renamed("changed"));
        assert_eq!(cached.configuration(&id).await.unwrap().unwrap().name, "changed");
        let other = ConfigurationId::parse("cfg-not-yet").unwrap();
        assert!(cached.configuration(&other).await.unwrap().is_none());
        assert!(!cached.seen.lock().unwrap().contains_key(&other));
    }
}
