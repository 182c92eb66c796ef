//! Event handlers (outgoing) and their executions in the main table.
//!
//! - handler: `pk = EH#<id>`, `sk = EH`; `gsi1pk = EH_EVENT#<event>`, `gsi1sk = <priority:05>#<id>`
//!   so the handlers of an event come in priority order in one Query; `gsi2pk = EH` lists all;
//! - execution: `pk = EH#<id>`, `sk = EXEC#<time>#<event id>`, newest last;
//! - delivered marker: `pk = DELIVERED#<event id>#<handler id>`: a retried event skips the
//!   handlers it reached already.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

use super::{StoreError, condition_failed, s};
use crate::domain::handler::{EventHandler, Execution};

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])
}

fn parse<T: serde::de::DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    super::record_of(item)
}

#[derive(Clone)]
pub struct HandlerStore {
    ddb: Client,
    table: String,
}

impl HandlerStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        HandlerStore { ddb, table: table.into() }
    }

    /// Writes a handler: new (`expected_version` None) or replacing the one at that version.
    pub async fn put(&self, h: &EventHandler, expected_version: Option<u64>) -> Result<(), StoreError> {
        let mut item = super::item_of(
            h,
            vec![
                ("type", "event_handler".into()),
                ("gsi1pk", format!("EH_EVENT#{}", h.event).into()),
                ("gsi1sk", format!("{:05}#{}", h.priority, h.id).into()),
                ("gsi2pk", "EH".into()),
                ("gsi2sk", format!("{}#{}", h.created_at, h.id).into()),
            ],
        )?;
        item.extend(key(format!("EH#{}", h.id), "EH"));
        let mut put = self.ddb.put_item().table_name(&self.table).set_item(Some(item));
        put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        put.send().await.map(|_| ()).map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("event handler {} changed meanwhile", h.id)) } else { StoreError::aws(e) })
    }

    pub async fn get(&self, id: &str) -> Result<Option<EventHandler>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(format!("EH#{id}"), "EH"))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(parse).transpose()
    }

    async fn query_all<T: for<'de> Deserialize<'de>>(&self, index: Option<&str>, pk_name: &str, pk: String, sk_prefix: Option<&str>) -> Result<Vec<T>, StoreError> {
        let mut q = self
            .ddb
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(String::from))
            .key_condition_expression(if sk_prefix.is_some() { "#pk = :pk AND begins_with(sk, :prefix)" } else { "#pk = :pk" })
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(pk));
        if let Some(p) = sk_prefix {
            q = q.expression_attribute_values(":prefix", s(p));
        }
        super::query_all(q, parse).await
    }

    pub async fn all(&self) -> Result<Vec<EventHandler>, StoreError> {
        self.query_all(Some("gsi2"), "gsi2pk", "EH".into(), None).await
    }

    /// The handlers of an event, lowest priority number first (every status; callers filter).
    pub async fn for_event(&self, event: &str) -> Result<Vec<EventHandler>, StoreError> {
        self.query_all(Some("gsi1"), "gsi1pk", format!("EH_EVENT#{event}"), None).await
    }

    pub async fn executions(&self, handler_id: &str) -> Result<Vec<Execution>, StoreError> {
        self.query_all(None, "pk", format!("EH#{handler_id}"), Some("EXEC#")).await
    }

    pub async fn record_execution(&self, x: &Execution) -> Result<(), StoreError> {
        let item = super::item_of(
            x,
            vec![
                ("pk", format!("EH#{}", x.handler_id).into()),
                ("sk", format!("EXEC#{}#{}", x.started_at, x.event_id).into()),
                ("expires_at", (crate::domain::time::now_epoch() + 90 * 86_400).into()),
            ],
        )?;
        self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(|_| ()).map_err(StoreError::aws)
    }

    pub async fn delivered(&self, event_id: &str, handler_id: &str) -> Result<bool, StoreError> {
        let out =
            self.ddb.get_item().table_name(&self.table).set_key(Some(key(format!("DELIVERED#{event_id}#{handler_id}"), "DELIVERED"))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        Ok(out.item().is_some())
    }

    pub async fn mark_delivered(&self, event_id: &str, handler_id: &str) -> Result<(), StoreError> {
        let mut item = key(format!("DELIVERED#{event_id}#{handler_id}"), "DELIVERED");
        item.insert("expires_at".into(), AttributeValue::N((crate::domain::time::now_epoch() + 14 * 86_400).to_string()));
        self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(|_| ()).map_err(StoreError::aws)
    }
}

impl crate::ports::HandlerRecords for HandlerStore {
    fn for_event<'a>(&'a self, event: &'a str) -> crate::ports::BoxFuture<'a, Result<Vec<EventHandler>, StoreError>> {
        Box::pin(HandlerStore::for_event(self, event))
    }

    fn delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> crate::ports::BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(HandlerStore::delivered(self, event_id, handler_id))
    }

    fn mark_delivered<'a>(&'a self, event_id: &'a str, handler_id: &'a str) -> crate::ports::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(HandlerStore::mark_delivered(self, event_id, handler_id))
    }

    fn record_execution<'a>(&'a self, execution: &'a Execution) -> crate::ports::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(HandlerStore::record_execution(self, execution))
    }
}
