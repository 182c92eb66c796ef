//! Products (provisioning templates) and contract products (sold services) in the main table.
//!
//! - a product: `pk = PRD#<id>`, `sk = PRD`, listed through `gsi1` (`gsi1pk = PRD`);
//! - a contract product: `pk = CP#<id>`, `sk = CP`, listed by client through `gsi1`
//!   (`gsi1pk = CLIENT#<client_id>`, `gsi1sk = <created_at>#<id>`).
//!
//! Whatever names a configuration (a static product, every contract product) raises its
//! `usage_count` in the same transaction, on condition that the configuration still exists, is of
//! the same blueprint and, for contract products, is enabled.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::Deserialize;
use serde_json::Value;

use super::{StoreError, condition_failed, item_of, put_if_version, record_of, s};
use crate::domain::ids::{ConfigurationId, ContractProductId, ProductId};
use crate::domain::log::LogStatus;
use crate::domain::outgoing::OutgoingEvent;
use crate::domain::product::{ContractProduct, Deployment, Product, Search};
use crate::ports::{BoxFuture, Completion, ContractProducts, RunRecord};

/// The most reads one search page makes (each a Query of what is left of the page).
pub const SEARCH_READS: usize = 10;

/// The identifier index's partition (its first character, so the index spreads) and sort key.
fn identifier_keys(identifier: &str) -> (String, String) {
    let lower = identifier.to_lowercase();
    let first: String = lower.chars().next().map(String::from).unwrap_or_default();
    (format!("CPI#{first}"), lower)
}

fn prefix_search(index: &str) -> bool {
    index == "gsi6"
}

impl Search {
    /// The index, its partition key's attribute and value, and the identifier prefix, if any.
    fn partition(&self) -> (&'static str, &'static str, String, Option<String>) {
        if let Some(i) = self.identifier.as_deref().filter(|i| !i.is_empty()) {
            let (shard, prefix) = identifier_keys(i);
            return ("gsi6", "gsi6pk", shard, Some(prefix));
        }
        match (&self.client_id, &self.configuration_id, &self.status, &self.blueprint) {
            (Some(c), ..) => ("gsi1", "gsi1pk", format!("CLIENT#{c}"), None),
            (None, Some(c), ..) => ("gsi4", "gsi4pk", format!("CPC#{c}"), None),
            (None, None, Some(st), _) => ("gsi3", "gsi3pk", format!("CPS#{st}"), None),
            (None, None, None, Some(b)) => ("gsi5", "gsi5pk", format!("CPB#{b}"), None),
            (None, None, None, None) => ("gsi2", "gsi2pk", "CP".to_owned(), None),
        }
    }

    /// The index partition a cursor must belong to: (attribute, value).
    pub fn cursor_partition(&self) -> (&'static str, String) {
        let (_, name, value, _) = self.partition();
        (name, value)
    }

    /// The facets the index does not hold, as (field, value) equality filters.
    fn filters(&self) -> Vec<(&'static str, String)> {
        let (index, ..) = self.partition();
        let mut out = Vec::new();
        let mut add = |field: &'static str, value: &Option<String>, keyed: &str| {
            if let Some(v) = value
                && index != keyed
            {
                out.push((field, v.clone()));
            }
        };
        add("client_id", &self.client_id, "gsi1");
        add("provision_configuration_id", &self.configuration_id, "gsi4");
        add("status", &self.status, "gsi3");
        add("blueprint", &self.blueprint, "gsi5");
        out
    }
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])
}

fn parse<T: serde::de::DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    record_of(item)
}

#[derive(Clone)]
pub struct ProductStore {
    ddb: Client,
    table: String,
}

impl ProductStore {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        ProductStore { ddb, table: table.into() }
    }

    /// Raises a configuration's usage count, if it still exists under the same blueprint (and is
    /// enabled, when `require_enabled`).
    /// Counts a product (`service` false) or a contract product on its configuration, which must
    /// exist and be of the blueprint; a contract product also needs it enabled and with room
    /// (`services_count` below `capacity`, where one is set), and counts as one of its services.
    fn use_configuration(&self, id: &ConfigurationId, blueprint: &str, service: bool) -> TransactWriteItem {
        let mut condition = "attribute_exists(pk) AND blueprint = :bp".to_owned();
        let mut expression = "SET usage_count = if_not_exists(usage_count, :zero) + :one".to_owned();
        if service {
            // `capacity` is one of DynamoDB's reserved words: named through #cap.
            condition
                .push_str(" AND enabled = :yes AND (attribute_not_exists(#cap) OR attribute_type(#cap, :null) OR services_count < #cap OR (attribute_not_exists(services_count) AND #cap > :zero))");
            expression.push_str(", services_count = if_not_exists(services_count, :zero) + :one");
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("CFG#{id}"), "CFG")))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":bp", s(blueprint));
        if service {
            update = update.expression_attribute_values(":yes", AttributeValue::Bool(true)).expression_attribute_values(":null", s("NULL")).expression_attribute_names("#cap", "capacity");
        }
        TransactWriteItem::builder().update(update.build().expect("table, key and expression set")).build()
    }

    /// One service fewer on a configuration (a contract product terminated).
    fn release_configuration(&self, id: &ConfigurationId) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("CFG#{id}"), "CFG")))
            .update_expression("SET services_count = if_not_exists(services_count, :zero) - :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .expect("table, key and expression set");
        TransactWriteItem::builder().update(update).build()
    }

    fn product_item(p: &Product) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item = item_of(p, vec![("type", "product".into()), ("gsi1pk", "PRD".into()), ("gsi1sk", format!("{}#{}", p.created_at, p.id).into())])?;
        item.extend(key(format!("PRD#{}", p.id), "PRD"));
        Ok(item)
    }

    fn put_new(&self, item: HashMap<String, AttributeValue>) -> TransactWriteItem {
        TransactWriteItem::builder().put(Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression("attribute_not_exists(pk)").build().expect("table and item set")).build()
    }

    async fn transact(&self, writes: Vec<TransactWriteItem>, conflict: String) -> Result<(), StoreError> {
        self.transact_claiming(writes, conflict, None).await
    }

    /// [`ProductStore::transact`], telling a refused service identifier claim (the write at
    /// `claim`, with what to say) from any other condition.
    async fn transact_claiming(&self, writes: Vec<TransactWriteItem>, conflict: String, claim: Option<(usize, String)>) -> Result<(), StoreError> {
        // A transaction cancelled only because another touched one of its items at the same
        // moment (TransactionConflict: a burst of orders on one configuration) wrote nothing: it
        // is sent again, a few times, after a short jittered pause.
        let mut sent = self.ddb.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
        for attempt in 1..=5u64 {
            let clashed = sent.as_ref().err().and_then(|e| e.as_service_error()).is_some_and(|s| match s {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => {
                    let codes: Vec<&str> = t.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
                    codes.contains(&"TransactionConflict") && !codes.contains(&"ConditionalCheckFailed")
                }
                _ => false,
            });
            if !clashed {
                break;
            }
            let jitter = u64::from(crate::domain::ids::random_hex().as_bytes()[0] % 50);
            tokio::time::sleep(std::time::Duration::from_millis(20 * attempt + jitter)).await;
            sent = self.ddb.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
        }
        match sent {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                let taken = claim.as_ref().is_some_and(|(at, _)| {
                    e.as_service_error()
                        .and_then(|s| match s {
                            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t.cancellation_reasons().get(*at).and_then(|r| r.code()),
                            _ => None,
                        })
                        .is_some_and(|code| code == "ConditionalCheckFailed")
                });
                Err(match claim {
                    Some((_, why)) if taken => StoreError::Taken(why),
                    _ => StoreError::Conflict(conflict),
                })
            }
            Err(e) => Err(StoreError::aws(e)),
        }
    }

    /// Claims a contract product's service identifier within its configuration (`SVC#<cfg>#<id>`):
    /// no two contract products act on one account, domain or server of the same third-party
    /// system (an order naming another's, a transfer adopting one already held). The claim is the
    /// product's if it is free or the product's already.
    fn claim_identifier(&self, cp: &ContractProduct) -> Option<(TransactWriteItem, String)> {
        let si = cp.service_identifier.as_deref()?;
        let mut item = key(format!("SVC#{}#{si}", cp.provision_configuration_id), "SVC");
        item.insert("contract_product_id".into(), s(cp.id.as_str()));
        item.insert("type".into(), s("service-identifier"));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR contract_product_id = :cp")
            .expression_attribute_values(":cp", s(cp.id.as_str()))
            .build()
            .expect("table and item set");
        let why = format!("service identifier {si} belongs to another contract product of provision configuration {}", cp.provision_configuration_id);
        Some((TransactWriteItem::builder().put(put).build(), why))
    }

    /// The contract products holding these service identifiers of a configuration: their
    /// claims, read in batches.
    pub async fn holders(&self, configuration: &ConfigurationId, identifiers: &[String]) -> Result<HashMap<String, ContractProductId>, StoreError> {
        let mut keys: Vec<HashMap<String, AttributeValue>> = identifiers.iter().map(|i| key(format!("SVC#{configuration}#{i}"), "SVC")).collect();
        keys.sort_by_key(|k| k.get("pk").and_then(|v| v.as_s().ok()).cloned());
        keys.dedup();
        let prefix = format!("SVC#{configuration}#");
        let claims = super::batch_get(&self.ddb, &self.table, keys).await?;
        Ok(claims
            .iter()
            .filter_map(|item| {
                let identifier = item.get("pk").and_then(|v| v.as_s().ok()).and_then(|pk| pk.strip_prefix(&prefix)).map(str::to_owned)?;
                let holder = item.get("contract_product_id").and_then(|v| v.as_s().ok()).and_then(|c| ContractProductId::parse(c).ok())?;
                Some((identifier, holder))
            })
            .collect())
    }

    pub async fn create_product(&self, p: &Product) -> Result<(), StoreError> {
        let mut writes = vec![self.put_new(Self::product_item(p)?)];
        if let Deployment::Static { configuration_id } = &p.deployment {
            writes.push(self.use_configuration(configuration_id, &p.blueprint, false));
        }
        self.transact(writes, format!("product {} exists already, or its configuration changed meanwhile", p.id)).await
    }

    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(format!("PRD#{id}"), "PRD"))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(parse).transpose()
    }

    async fn query_gsi1<T: for<'de> Deserialize<'de>>(&self, pk: String) -> Result<Vec<T>, StoreError> {
        let q = self.ddb.query().table_name(&self.table).index_name("gsi1").key_condition_expression("gsi1pk = :pk").expression_attribute_values(":pk", s(pk));
        super::query_all(q, parse).await
    }

    pub async fn products(&self) -> Result<Vec<Product>, StoreError> {
        self.query_gsi1("PRD".into()).await
    }

    /// A contract product's item: listed by client (gsi1) and across the system (gsi2).
    fn contract_product_item(cp: &ContractProduct) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let order = format!("{}#{}", cp.created_at, cp.id);
        let mut keys = vec![
            ("type", "contract_product".to_owned()),
            ("gsi1pk", format!("CLIENT#{}", cp.client_id)),
            ("gsi1sk", order.clone()),
            ("gsi2pk", "CP".into()),
            ("gsi2sk", order.clone()),
            ("gsi3pk", format!("CPS#{}", cp.status.as_str())),
            ("gsi3sk", order.clone()),
            ("gsi4pk", format!("CPC#{}", cp.provision_configuration_id)),
            ("gsi4sk", order.clone()),
            ("gsi5pk", format!("CPB#{}", cp.blueprint)),
            ("gsi5sk", order),
        ];
        if let Some(identifier) = cp.service_identifier.as_deref().filter(|i| !i.is_empty()) {
            let (shard, sort) = identifier_keys(identifier);
            keys.extend([("gsi6pk", shard), ("gsi6sk", format!("{sort}#{}", cp.id))]);
        }
        let mut item = item_of(cp, keys.into_iter().map(|(k, v)| (k, Value::String(v))).collect())?;
        item.extend(key(format!("CP#{}", cp.id), "CP"));
        Ok(item)
    }

    /// Creates a contract product (the id must be new) and counts it on its configuration, with
    /// a first log entry (its table and item) where given.
    pub async fn create_contract_product(&self, cp: &ContractProduct, log: Option<(&str, HashMap<String, AttributeValue>)>, also: Option<TransactWriteItem>) -> Result<(), StoreError> {
        let item = Self::contract_product_item(cp)?;
        let mut writes = vec![self.put_new(item), self.use_configuration(&cp.provision_configuration_id, &cp.blueprint, true)];
        writes.extend(also);
        if let Some((table, entry)) = log {
            writes.push(TransactWriteItem::builder().put(Put::builder().table_name(table).set_item(Some(entry)).build().expect("table and item set")).build());
        }
        let claim = self.claim_identifier(cp).map(|(write, why)| {
            writes.push(write);
            (writes.len() - 1, why)
        });
        self.transact_claiming(writes, format!("contract product {} exists already, or its configuration was changed or disabled meanwhile", cp.id), claim).await
    }

    /// Whether a contract product exists, or an accepted order.paid will make it (its `ORDER`
    /// marker, under the same partition key), with the product's blueprint where it exists
    /// already (None: unknown; Some(None): only an order's marker): one Query.
    pub async fn known_blueprint(&self, id: &ContractProductId) -> Result<Option<Option<String>>, StoreError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("CP#{id}")))
            .projection_expression("pk, blueprint")
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::aws)?;
        Ok(out.items().first().map(|item| item.get("blueprint").and_then(|b| b.as_s().ok()).cloned()))
    }

    /// Marks a contract product an accepted order.paid will make, so the events a billing system
    /// sends right after it are accepted too (they run after it, in order).
    pub async fn expect(&self, id: &ContractProductId, event_id: &str) -> Result<(), StoreError> {
        let mut item = key(format!("CP#{id}"), "ORDER");
        item.insert("event_id".into(), s(event_id));
        item.insert("type".into(), s("order-marker"));
        self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(StoreError::aws)?;
        Ok(())
    }

    pub async fn contract_product(&self, id: &ContractProductId) -> Result<Option<ContractProduct>, StoreError> {
        let out = self.ddb.get_item().table_name(&self.table).set_key(Some(key(format!("CP#{id}"), "CP"))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(parse).transpose()
    }

    /// Records an action run: the contract product as it is after the run (if still at
    /// `expected_version`) and its log entry, in one transaction, with `also` (a lifecycle
    /// event's settlement); with `claim`, the product's (new) service identifier is claimed in
    /// the same transaction ([`StoreError::Taken`] when another product holds it). On a version
    /// conflict nothing is written.
    pub async fn write_run_claiming(
        &self,
        cp: Option<(&ContractProduct, u64)>,
        (claim, releases): (bool, bool),
        logs_table: &str,
        log: HashMap<String, AttributeValue>,
        also: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        let mut writes = also;
        let mut claimed = None;
        if let Some((cp, expected_version)) = cp {
            writes.push(put_if_version(&self.table, Self::contract_product_item(cp)?, expected_version));
            if releases {
                writes.push(self.release_configuration(&cp.provision_configuration_id));
            }
            if let Some((write, why)) = self.claim_identifier(cp).filter(|_| claim) {
                writes.push(write);
                claimed = Some((writes.len() - 1, why));
            }
        }
        let put_log = Put::builder().table_name(logs_table).set_item(Some(log)).build().expect("table and item set");
        writes.push(TransactWriteItem::builder().put(put_log).build());
        self.transact_claiming(writes, "the contract product changed while the action ran; nothing was recorded for this run".into(), claimed).await
    }

    /// The status of one log entry, if it exists.
    pub async fn log_status(&self, logs_table: &str, pk: &str, sk: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .ddb
            .get_item()
            .table_name(logs_table)
            .set_key(Some(key(pk.to_owned(), sk)))
            .projection_expression("#s")
            .expression_attribute_names("#s", "status")
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::aws)?;
        Ok(out.item().and_then(|i| i.get("status")).and_then(|v| v.as_s().ok()).cloned())
    }

    /// One log entry by its keys (consistent: the worker reads what it is about to replace).
    pub async fn log_entry(&self, logs_table: &str, pk: &str, sk: &str) -> Result<Option<crate::domain::log::LogEntry>, StoreError> {
        let out = self.ddb.get_item().table_name(logs_table).set_key(Some(key(pk.to_owned(), sk))).consistent_read(true).send().await.map_err(StoreError::aws)?;
        out.item().map(crate::domain::log::LogEntry::from_item).transpose()
    }

    /// One page of a contract product search ([`Search`]): a Query on the index its leading facet
    /// picks, the other facets as a filter. Reads again (for what is left of the page) while a
    /// filtered read comes back short, at most [`SEARCH_READS`] times, so a page is full unless
    /// the index ends; the cursor is always where the last read stopped.
    pub async fn search(&self, search: &Search, limit: i32, start: Option<crate::ports::PageKey>) -> Result<(Vec<ContractProduct>, Option<crate::ports::PageKey>), StoreError> {
        let mut start = super::start_key(start);
        let (index, pk_name, pk, prefix) = search.partition();
        let mut condition = "#pk = :pk".to_owned();
        let mut names = HashMap::from([("#pk".to_owned(), pk_name.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), s(pk))]);
        if let Some(prefix) = prefix {
            condition.push_str(" AND begins_with(#sk, :prefix)");
            names.insert("#sk".into(), "gsi6sk".into());
            values.insert(":prefix".into(), s(prefix));
        }
        let filters = search.filters();
        for (n, (field, value)) in filters.iter().enumerate() {
            names.insert(format!("#f{n}"), (*field).to_owned());
            values.insert(format!(":f{n}"), s(value.clone()));
        }
        let filter = (!filters.is_empty()).then(|| (0..filters.len()).map(|n| format!("#f{n} = :f{n}")).collect::<Vec<_>>().join(" AND "));
        let mut items = Vec::new();
        for _ in 0..SEARCH_READS {
            let page = self
                .ddb
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(&condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                // Newest first, but an identifier's prefix search goes in the identifiers' order.
                .scan_index_forward(prefix_search(index))
                .limit(limit - items.len() as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::aws)?;
            for item in page.items() {
                items.push(parse(item)?);
            }
            start = page.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            if start.is_none() || items.len() as i32 >= limit {
                break;
            }
        }
        Ok((items, super::page_key(start.as_ref())))
    }

    /// Replaces a product if it is still at `expected_version`, moving the usage count when its
    /// static configuration changes.
    pub async fn update_product(&self, p: &Product, expected_version: u64, old: Option<&ConfigurationId>) -> Result<(), StoreError> {
        let mut writes = vec![put_if_version(&self.table, Self::product_item(p)?, expected_version)];
        let new = p.deployment.static_configuration();
        if old != new {
            if let Some(n) = new {
                writes.push(self.use_configuration(n, &p.blueprint, false));
            }
            if let Some(o) = old {
                let release = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(format!("CFG#{o}"), "CFG")))
                    .update_expression("SET usage_count = usage_count - :one")
                    .condition_expression("attribute_exists(pk) AND usage_count > :zero")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .build()
                    .expect("table, key and expression set");
                writes.push(TransactWriteItem::builder().update(release).build());
            }
        }
        self.transact(writes, format!("product {} changed meanwhile, or its configuration did", p.id)).await
    }
}

/// The engine's [`ContractProducts`] port over the main and logs tables: a run is one
/// transaction of the product, its identifier claim, its log entry and the event it settles.
#[derive(Clone)]
pub struct DynamoContractProducts {
    products: ProductStore,
    main_table: String,
    logs_table: String,
}

impl DynamoContractProducts {
    pub fn new(ddb: Client, tables: &super::Tables) -> Self {
        DynamoContractProducts { products: ProductStore::new(ddb, &tables.main), main_table: tables.main.clone(), logs_table: tables.logs.clone() }
    }
}

impl ContractProducts for DynamoContractProducts {
    fn create<'a>(&'a self, cp: &'a ContractProduct, entry: Option<&'a crate::domain::log::LogEntry>, announces: Option<&'a OutgoingEvent>) -> BoxFuture<'a, Result<(), StoreError>> {
        let log = entry.map(|e| (self.logs_table.as_str(), e.item()));
        Box::pin(self.products.create_contract_product(cp, log, announces.map(|e| super::outbox::put(&self.main_table, e))))
    }

    fn contract_product<'a>(&'a self, id: &'a ContractProductId) -> BoxFuture<'a, Result<Option<ContractProduct>, StoreError>> {
        Box::pin(self.products.contract_product(id))
    }

    fn record_run<'a>(&'a self, run: RunRecord<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let settles = run.settles.map(|s| match &s.completion {
                Completion::Event(id) => super::events::update_status(&self.main_table, id, s.status, Some(s.log_id.as_str()), None),
                Completion::BulkItem { job_id, contract_product_id } => super::bulk::settle_item(&self.main_table, job_id, contract_product_id, s.status, s.log_id.as_str()),
            });
            let outbox = run.announces.map(|e| super::outbox::put(&self.main_table, e));
            self.products.write_run_claiming(run.product, (run.claim, run.releases), &self.logs_table, run.entry.item(), settles.into_iter().chain(outbox).collect()).await
        })
    }

    fn holders<'a>(&'a self, configuration: &'a ConfigurationId, identifiers: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, ContractProductId>, StoreError>> {
        Box::pin(self.products.holders(configuration, identifiers))
    }

    fn log_status<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<LogStatus>, StoreError>> {
        Box::pin(async move {
            let status = self.products.log_status(&self.logs_table, contract_product_id, &format!("{started_at}#{log_id}")).await?;
            Ok(status.and_then(|s| LogStatus::parse(&s)))
        })
    }

    fn log_entry<'a>(&'a self, contract_product_id: &'a str, started_at: &'a str, log_id: &'a str) -> BoxFuture<'a, Result<Option<crate::domain::log::LogEntry>, StoreError>> {
        Box::pin(async move { self.products.log_entry(&self.logs_table, contract_product_id, &format!("{started_at}#{log_id}")).await })
    }
}

impl crate::ports::ProductTemplates for ProductStore {
    fn product<'a>(&'a self, id: &'a ProductId) -> BoxFuture<'a, Result<Option<Product>, StoreError>> {
        Box::pin(ProductStore::product(self, id))
    }
}
