//! The demo provider's simulated third party in the main table: an object is
//! `pk = DEMO#<partition>`, `sk = <key>` with its `object` and `version`; a fault counter is
//! `pk = DEMO#<partition>`, `sk = <counter>` with `failed`.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::{StoreError, condition_failed, from_attr, s, to_attr};
use crate::ports::{BoxFuture, DemoObject, DemoState};

#[derive(Clone)]
pub struct DynamoDemoState {
    ddb: Client,
    table: String,
}

impl DynamoDemoState {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        DynamoDemoState { ddb, table: table.into() }
    }
}

fn key(partition: &str, key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(format!("DEMO#{partition}"))), ("sk".into(), s(key))])
}

impl DemoState for DynamoDemoState {
    fn load<'a>(&'a self, partition: &'a str, k: &'a str) -> BoxFuture<'a, Result<Option<DemoObject>, StoreError>> {
        Box::pin(async move {
            let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(partition, k))).consistent_read(true).send().await.map_err(StoreError::aws)?;
            Ok(out.item().map(|item| {
                let object = item.get("object").map(from_attr).and_then(|v| v.as_object().cloned()).unwrap_or_default();
                let version = item.get("version").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
                (object, version)
            }))
        })
    }

    fn store<'a>(&'a self, partition: &'a str, k: &'a str, object: &'a Map<String, Value>, version: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut item = key(partition, k);
            item.insert("object".into(), to_attr(&Value::Object(object.clone())));
            item.insert("version".into(), AttributeValue::N((version + 1).to_string()));
            item.insert("type".into(), s("demo-object"));
            let mut put = self.ddb.put_item().table_name(&self.table).set_item(Some(item));
            put = if version == 0 {
                put.condition_expression("attribute_not_exists(pk)")
            } else {
                put.condition_expression("version = :v").expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            };
            put.send().await.map(|_| ()).map_err(|e| if condition_failed(&e) { StoreError::Conflict(format!("{k} changed meanwhile")) } else { StoreError::aws(e) })
        })
    }

    fn remove<'a>(&'a self, partition: &'a str, k: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.ddb.delete_item().table_name(&self.table).set_key(Some(key(partition, k))).send().await.map(|_| ()).map_err(StoreError::aws) })
    }

    fn list<'a>(&'a self, partition: &'a str, after: Option<&'a str>, limit: usize) -> BoxFuture<'a, Result<crate::ports::DemoPage, StoreError>> {
        Box::pin(async move {
            let out = self
                .ddb
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("DEMO#{partition}")))
                .set_exclusive_start_key(after.map(|a| key(partition, a)))
                .limit(limit.clamp(1, 1000) as i32)
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::aws)?;
            let found = out
                .items()
                .iter()
                .filter_map(|item| {
                    let k = item.get("sk").and_then(|v| v.as_s().ok())?.clone();
                    let object = item.get("object").map(from_attr).and_then(|v| v.as_object().cloned())?;
                    Some((k, object))
                })
                .collect();
            let next = out.last_evaluated_key().and_then(|k| k.get("sk")).and_then(|v| v.as_s().ok()).cloned();
            Ok((found, next))
        })
    }

    fn count<'a>(&'a self, partition: &'a str, counter: &'a str, limit: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let counted = self
                .ddb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(partition, counter)))
                .update_expression("SET failed = if_not_exists(failed, :zero) + :one")
                .condition_expression("attribute_not_exists(failed) OR failed < :limit")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
                .send()
                .await;
            match counted {
                Ok(_) => Ok(true),
                Err(e) if condition_failed(&e) => Ok(false),
                Err(e) => Err(StoreError::aws(e)),
            }
        })
    }
}
