//! Provision configurations in the main table.
//!
//! - a configuration: `pk = CFG#<id>`, `sk = CFG`, listed through `gsi1` (`gsi1pk = CFG`,
//!   `gsi1sk = <blueprint>#<created_at>#<id>`), so a list by blueprint is one Query;
//! - the default of a blueprint, and of a provider, is a marker item
//!   (`pk = DEFAULT#BLUEPRINT#<blueprint>` / `DEFAULT#PROVIDER#<blueprint>#<provider>`) naming
//!   the configuration: one default each by construction, found in one GetItem;
//! - `usage_count` counts the products and contract products that name the configuration; a
//!   delete is conditional on it being zero.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde_json::Value;

use super::{StoreError, condition_failed, from_item, item_of, record_of, s};
use crate::domain::configuration::{Configuration, Defaults};
use crate::domain::ids::ConfigurationId;

fn key(id: &ConfigurationId) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("CFG#{id}"))), ("sk".into(), s("CFG"))])
}

fn blueprint_marker(blueprint: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("DEFAULT#BLUEPRINT#{blueprint}"))), ("sk".into(), s("DEFAULT"))])
}

fn provider_marker(blueprint: &str, provider: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("DEFAULT#PROVIDER#{blueprint}#{provider}"))), ("sk".into(), s("DEFAULT"))])
}

#[derive(Clone)]
pub struct ConfigurationStore {
    ddb: Client,
    table: String,
}

impl ConfigurationStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        ConfigurationStore { ddb, table: table.into() }
    }

    fn item(&self, c: &Configuration) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item = item_of(c, vec![("type", "configuration".into()), ("gsi1pk", "CFG".into()), ("gsi1sk", format!("{}#{}#{}", c.blueprint, c.created_at, c.id).into())])?;
        item.extend(key(&c.id));
        Ok(item)
    }

    fn parse(item: &HashMap<String, AttributeValue>) -> Result<Configuration, StoreError> {
        record_of(item)
    }

    fn marker_put(&self, marker: HashMap<String, AttributeValue>, id: &ConfigurationId) -> TransactWriteItem {
        let mut item = marker;
        item.insert("configuration_id".into(), s(id.as_str()));
        item.insert("type".into(), s("default-marker"));
        TransactWriteItem::builder().put(Put::builder().table_name(&self.table).set_item(Some(item)).build().expect("table and item set")).build()
    }

    /// Removes a marker only while it still names `id`.
    fn marker_delete(&self, marker: HashMap<String, AttributeValue>, id: &ConfigurationId) -> TransactWriteItem {
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(marker))
                    .condition_expression("configuration_id = :id")
                    .expression_attribute_values(":id", s(id.as_str()))
                    .build()
                    .expect("table and key set"),
            )
            .build()
    }

    /// Marker writes that make the defaults of `c` what `want` says, given what it `has`.
    fn default_writes(&self, c: &Configuration, has: Defaults, want: Defaults) -> Vec<TransactWriteItem> {
        let mut writes = Vec::new();
        match (has.for_blueprint, want.for_blueprint) {
            (false, true) => writes.push(self.marker_put(blueprint_marker(&c.blueprint), &c.id)),
            (true, false) => writes.push(self.marker_delete(blueprint_marker(&c.blueprint), &c.id)),
            _ => {}
        }
        match (has.for_provider, want.for_provider) {
            (false, true) => writes.push(self.marker_put(provider_marker(&c.blueprint, &c.provider), &c.id)),
            (true, false) => writes.push(self.marker_delete(provider_marker(&c.blueprint, &c.provider), &c.id)),
            _ => {}
        }
        writes
    }

    async fn transact(&self, writes: Vec<TransactWriteItem>, conflict: &str) -> Result<(), StoreError> {
        self.ddb.transact_write_items().set_transact_items(Some(writes)).send().await.map_err(|e| if condition_failed(&e) { StoreError::Conflict(conflict.to_owned()) } else { StoreError::aws(e) })?;
        Ok(())
    }

    pub async fn create(&self, c: &Configuration, defaults: Defaults) -> Result<(), StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(self.item(c)?)).condition_expression("attribute_not_exists(pk)").build().expect("table and item set");
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        writes.extend(self.default_writes(c, Defaults::default(), defaults));
        self.transact(writes, &format!("provision configuration {} exists already", c.id)).await
    }

    pub async fn get(&self, id: &ConfigurationId) -> Result<Option<Configuration>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(id))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(Self::parse).transpose()
    }

    /// Every configuration, or those of one blueprint, oldest first.
    pub async fn list(&self, blueprint: Option<&str>) -> Result<Vec<Configuration>, StoreError> {
        let mut q = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression(if blueprint.is_some() { "gsi1pk = :pk AND begins_with(gsi1sk, :bp)" } else { "gsi1pk = :pk" })
            .expression_attribute_values(":pk", s("CFG"));
        if let Some(b) = blueprint {
            q = q.expression_attribute_values(":bp", s(format!("{b}#")));
        }
        super::query_all(q, Self::parse).await
    }

    /// The default configuration ids of a blueprint and of its providers, in one BatchGetItem.
    pub async fn defaults(&self, pairs: &[(String, String)]) -> Result<DefaultsIndex, StoreError> {
        let mut keys: Vec<HashMap<String, AttributeValue>> = Vec::new();
        for (blueprint, provider) in pairs {
            for k in [blueprint_marker(blueprint), provider_marker(blueprint, provider)] {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let mut index = DefaultsIndex::default();
        for item in super::batch_get(&self.ddb, &self.table, keys).await? {
            let m = from_item(&item);
            if let (Some(pk), Some(id)) = (m.get("pk").and_then(Value::as_str), m.get("configuration_id").and_then(Value::as_str)) {
                index.markers.insert(pk.to_owned(), id.to_owned());
            }
        }
        Ok(index)
    }

    /// The default configuration of a provider of a blueprint (`Some(provider)`) or of the
    /// blueprint: one GetItem on its marker.
    pub async fn default_for(&self, blueprint: &str, provider: Option<&str>) -> Result<Option<ConfigurationId>, StoreError> {
        let marker = match provider {
            Some(p) => provider_marker(blueprint, p),
            None => blueprint_marker(blueprint),
        };
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(marker)).consistent_read(true).send().await.map_err(StoreError::aws)?;
        let id = out.item().and_then(|i| i.get("configuration_id")).and_then(|v| v.as_s().ok()).cloned();
        id.map(|raw| ConfigurationId::parse(&raw).map_err(StoreError::Malformed)).transpose()
    }

    /// Replaces a configuration if it is still at `expected_version`, and moves its defaults.
    /// Writes what an admin changes (name, enabled, settings, capacity, tags, limits) under a
    /// version condition, never the counters nor the breaker: a contract product made meanwhile
    /// keeps its count, a breaker the engine opened meanwhile stays open.
    pub async fn update(&self, c: &Configuration, expected_version: u64, has: Defaults, want: Defaults) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&c.id)))
            // Every name through a placeholder: `name` and `capacity` are DynamoDB reserved words.
            .update_expression("SET #name = :name, #enabled = :enabled, #settings = :settings, #cap = :capacity, #tags = :tags, #limits = :limits, #version = :next, #at = :at")
            .condition_expression("#version = :v")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#enabled", "enabled")
            .expression_attribute_names("#settings", "settings")
            .expression_attribute_names("#cap", "capacity")
            .expression_attribute_names("#tags", "tags")
            .expression_attribute_names("#limits", "limits")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#at", "updated_at")
            .expression_attribute_values(":name", s(&c.name))
            .expression_attribute_values(":enabled", AttributeValue::Bool(c.enabled))
            .expression_attribute_values(":settings", super::to_attr(&c.settings))
            .expression_attribute_values(":capacity", c.capacity.map_or(AttributeValue::Null(true), |n| AttributeValue::N(n.to_string())))
            .expression_attribute_values(":tags", super::to_attr(&serde_json::json!(c.tags)))
            .expression_attribute_values(":limits", super::to_attr(&serde_json::json!(c.limits)))
            .expression_attribute_values(":next", AttributeValue::N(c.version.to_string()))
            .expression_attribute_values(":at", s(&c.updated_at))
            .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
            .build()
            .expect("table, key and expression set");
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        writes.extend(self.default_writes(c, has, want));
        self.transact(writes, &format!("provision configuration {} changed meanwhile; read it again", c.id)).await
    }

    /// Deletes a configuration that nothing uses, with the default markers that name it.
    pub async fn delete(&self, c: &Configuration, has: Defaults) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(&c.id)))
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(usage_count) OR usage_count = :zero)")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .build()
            .expect("table and key set");
        let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
        writes.extend(self.default_writes(c, has, Defaults::default()));
        self.transact(writes, &format!("provision configuration {} is used by products, or changed meanwhile", c.id)).await
    }
}

/// Default markers read in one go.
#[derive(Debug, Default)]
pub struct DefaultsIndex {
    markers: HashMap<String, String>,
}

impl DefaultsIndex {
    pub fn of(&self, c: &Configuration) -> Defaults {
        let names = |pk: String| self.markers.get(&pk).is_some_and(|id| id == c.id.as_str());
        Defaults { for_blueprint: names(format!("DEFAULT#BLUEPRINT#{}", c.blueprint)), for_provider: names(format!("DEFAULT#PROVIDER#{}#{}", c.blueprint, c.provider)) }
    }
}

impl crate::ports::Configurations for ConfigurationStore {
    fn configuration<'a>(&'a self, id: &'a ConfigurationId) -> crate::ports::BoxFuture<'a, Result<Option<Configuration>, StoreError>> {
        Box::pin(self.get(id))
    }

    fn default_for<'a>(&'a self, blueprint: &'a str, provider: Option<&'a str>) -> crate::ports::BoxFuture<'a, Result<Option<ConfigurationId>, StoreError>> {
        Box::pin(ConfigurationStore::default_for(self, blueprint, provider))
    }

    fn of_blueprint<'a>(&'a self, blueprint: &'a str) -> crate::ports::BoxFuture<'a, Result<Vec<Configuration>, StoreError>> {
        Box::pin(ConfigurationStore::list(self, Some(blueprint)))
    }
}
