//! DynamoDB adapters. Items are written and read as JSON objects through a lossless mapping to
//! attribute values; table names come from the functions' environment (template.yaml).

pub mod bulk;
pub mod configurations;
pub mod demo;
pub mod drift;
pub mod events;
pub mod gate;
pub mod handlers;
pub mod logs;
pub mod outbox;
pub mod products;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

pub use crate::ports::StoreError;

/// The tables of the stack.
#[derive(Debug, Clone)]
pub struct Tables {
    pub main: String,
    pub logs: String,
}

impl Tables {
    pub fn from_env() -> Result<Self, String> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty()).ok_or(format!("{k} is not set"));
        Ok(Tables { main: get("MAIN_TABLE")?, logs: get("LOGS_TABLE")? })
    }
}

impl StoreError {
    /// A DynamoDB call that failed for another reason than a condition.
    pub fn aws(e: impl std::error::Error) -> Self {
        StoreError::Unavailable(format!("DynamoDB: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
    }
}

/// Every store over the stack's tables, built from one client (a function's main makes one and
/// hands out what its handler needs).
#[derive(Clone)]
pub struct Dynamo {
    ddb: aws_sdk_dynamodb::Client,
    tables: Tables,
}

impl Dynamo {
    pub fn new(ddb: aws_sdk_dynamodb::Client, tables: Tables) -> Self {
        Dynamo { ddb, tables }
    }

    pub fn configurations(&self) -> configurations::ConfigurationStore {
        configurations::ConfigurationStore::new(self.ddb.clone(), &self.tables.main)
    }

    pub fn products(&self) -> products::ProductStore {
        products::ProductStore::new(self.ddb.clone(), &self.tables.main)
    }

    /// Lifecycle events, recording retries' log entries.
    pub fn events(&self) -> events::EventStore {
        events::EventStore::new(self.ddb.clone(), &self.tables.main).with_logs(&self.tables.logs)
    }

    pub fn handlers(&self) -> handlers::HandlerStore {
        handlers::HandlerStore::new(self.ddb.clone(), &self.tables.main)
    }

    pub fn logs(&self) -> logs::LogStore {
        logs::LogStore::new(self.ddb.clone(), &self.tables.logs)
    }

    /// Runs: a contract product, its identifier claim and its log entry in one write.
    pub fn runs(&self) -> products::DynamoContractProducts {
        products::DynamoContractProducts::new(self.ddb.clone(), &self.tables)
    }

    /// The engine's stores.
    pub fn stores(&self) -> crate::ports::Stores {
        stores(self.ddb.clone(), &self.tables)
    }
}

/// The engine's stores over the stack's tables.
pub fn stores(ddb: aws_sdk_dynamodb::Client, tables: &Tables) -> crate::ports::Stores {
    crate::ports::Stores {
        products: std::sync::Arc::new(products::DynamoContractProducts::new(ddb.clone(), tables)),
        templates: std::sync::Arc::new(products::ProductStore::new(ddb.clone(), &tables.main)),
        configurations: std::sync::Arc::new(configurations::ConfigurationStore::new(ddb.clone(), &tables.main)),
        demo: std::sync::Arc::new(demo::DynamoDemoState::new(ddb.clone(), &tables.main)),
        bulk: std::sync::Arc::new(bulk::BulkStore::new(ddb.clone(), &tables.main)),
        gate: std::sync::Arc::new(gate::DynamoGate::new(ddb.clone(), &tables.main)),
        drift: std::sync::Arc::new(drift::DriftStore::new(ddb, &tables.main)),
    }
}

/// Every item a query matches, page after page, each parsed (the lists that are small by
/// nature: configurations, products, event handlers).
pub async fn query_all<T>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    parse: impl Fn(&HashMap<String, AttributeValue>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = query.clone().set_exclusive_start_key(start.take()).send().await.map_err(StoreError::aws)?;
        for item in page.items() {
            out.push(parse(item)?);
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(out),
        }
    }
}

/// The items of these keys that exist (consistent reads), in BatchGetItems of 100 keys; the
/// keys DynamoDB leaves unprocessed are asked again, a few times at most.
pub async fn batch_get(ddb: &aws_sdk_dynamodb::Client, table: &str, keys: Vec<HashMap<String, AttributeValue>>) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(100) {
        let mut pending = chunk.to_vec();
        for _ in 0..10 {
            if pending.is_empty() {
                break;
            }
            let wanted = aws_sdk_dynamodb::types::KeysAndAttributes::builder().set_keys(Some(pending.clone())).consistent_read(true).build().expect("keys set");
            let answer = ddb.batch_get_item().request_items(table, wanted).send().await.map_err(StoreError::aws)?;
            out.extend(answer.responses().and_then(|r| r.get(table)).into_iter().flatten().cloned());
            pending = answer.unprocessed_keys().and_then(|u| u.get(table)).map(|k| k.keys().to_vec()).unwrap_or_default();
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable(format!("{} keys of {table} were left unread", pending.len())));
        }
    }
    Ok(out)
}

/// A page key as DynamoDB takes it (ExclusiveStartKey).
pub fn start_key(key: Option<crate::ports::PageKey>) -> Option<HashMap<String, AttributeValue>> {
    key.map(|k| k.into_iter().map(|(n, v)| (n, AttributeValue::S(v))).collect())
}

/// Where DynamoDB says a page ended (LastEvaluatedKey), as a page key; None at the end.
pub fn page_key(key: Option<&HashMap<String, AttributeValue>>) -> Option<crate::ports::PageKey> {
    key.filter(|k| !k.is_empty()).map(|k| k.iter().map(|(n, v)| (n.clone(), v.as_s().cloned().unwrap_or_default())).collect())
}

pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(o) => AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

pub fn from_attr(a: &AttributeValue) -> Value {
    match a {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| n.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).unwrap_or(Value::Null)),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect()),
        AttributeValue::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect()),
        AttributeValue::Ss(s) => Value::Array(s.iter().cloned().map(Value::String).collect()),
        _ => Value::Null,
    }
}

/// A record as an item: its JSON form through the lossless mapping, with `extra` attributes
/// (keys, index keys, the record's type) added. The one way a store writes a record.
pub fn item_of<T: serde::Serialize>(record: &T, extra: Vec<(&str, Value)>) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let Value::Object(mut o) = serde_json::to_value(record).map_err(|e| StoreError::Malformed(e.to_string()))? else {
        return Err(StoreError::Malformed("a record is not an object".into()));
    };
    for (k, v) in extra {
        o.insert(k.to_owned(), v);
    }
    Ok(to_item(&o))
}

/// A record read back from its item (extra attributes ignored). The one way a store reads one.
pub fn record_of<T: serde::de::DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(from_item(item))).map_err(|e| StoreError::Malformed(e.to_string()))
}

pub fn to_item(o: &Map<String, Value>) -> HashMap<String, AttributeValue> {
    o.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect()
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A transaction write of `item` if its record is still at `version` (optimistic locking).
pub fn put_if_version(table: &str, item: HashMap<String, AttributeValue>, version: u64) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        .build()
        .expect("table and item set");
    aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build()
}

/// True when a transaction was cancelled because one of its conditions failed.
pub fn condition_failed<E: ProvideErrorMetadata>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool {
    matches!(e.code(), Some("ConditionalCheckFailedException" | "TransactionCanceledException"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record goes through one codec both ways, whatever its nesting, with its extra
    /// attributes beside it (and ignored when it is read back).
    #[test]
    fn records_round_trip_through_one_codec() {
        let mut cp = crate::testing::contract_product("cp-1", "domain-names", Some("shop.example"), json!({ "registrant": { "name": "A", "phones": [1, 2.5] }, "big": u64::MAX }));
        cp.unconfirmed_action = Some("renew".into());
        let item = item_of(&cp, vec![("pk", "CP#cp-1".into()), ("gsi1pk", "CLIENT#client-1".into())]).unwrap();
        assert_eq!(item["pk"].as_s().unwrap(), "CP#cp-1");
        let back: crate::domain::product::ContractProduct = record_of(&item).unwrap();
        assert_eq!(back, cp);
        assert!(matches!(record_of::<crate::domain::product::ContractProduct>(&HashMap::new()), Err(StoreError::Malformed(_))));
    }

    #[test]
    fn json_round_trips_through_attribute_values() {
        let v = json!({"s": "x", "n": 42, "neg": -1, "f": 1.5, "b": true, "z": null, "l": [1, "a"], "m": {"k": {"$sealed": "v1:abc"}}});
        let item = to_item(v.as_object().unwrap());
        assert_eq!(Value::Object(from_item(&item)), v);
    }
}
