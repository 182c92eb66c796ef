//! Fixtures of the unit tests that run over the in-memory adapters: a demo web-hosting
//! configuration, a contract product on it, an engine over memory, SQS records as Lambda hands
//! them out.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::adapters::memory::{MemoryOutbox, MemoryStore};
use crate::consumers::SqsRecord;
use crate::domain::ProductStatus;
use crate::domain::configuration::Configuration;
use crate::domain::ids::{ConfigurationId, ContractProductId};
use crate::domain::product::ContractProduct;
use crate::engine::Engine;
use crate::secrets::SecretBox;

/// The key every fixture seals with.
pub fn secret_box() -> Arc<SecretBox> {
    Arc::new(SecretBox::from_key(&[9u8; 32]).expect("a 32-byte key"))
}

/// A demo web-hosting configuration `cfg-1`, with `settings` on top of a server hostname.
pub fn demo_configuration(settings: Value) -> Configuration {
    let mut all = json!({ "server_hostname": "srv1.example.net" });
    all.as_object_mut().expect("an object").extend(settings.as_object().cloned().unwrap_or_default());
    Configuration {
        id: ConfigurationId::parse("cfg-1").expect("an id"),
        name: "demo".into(),
        blueprint: "web-hosting".into(),
        provider: "demo".into(),
        enabled: true,
        settings: all,
        created_at: String::new(),
        updated_at: String::new(),
        version: 1,
        usage_count: 1,
        capacity: None,
        tags: Vec::new(),
        services_count: 0,
        limits: Default::default(),
        breaker: Default::default(),
    }
}

/// A contract product `id` of client-1 on `cfg-1`, of `blueprint`, with the given identifier
/// and provision fields, active.
pub fn contract_product(id: &str, blueprint: &str, service_identifier: Option<&str>, fields: Value) -> ContractProduct {
    ContractProduct {
        id: ContractProductId::parse(id).expect("an id"),
        client_id: "client-1".into(),
        product_id: None,
        blueprint: blueprint.into(),
        provider: "demo".into(),
        provision_configuration_id: ConfigurationId::parse("cfg-1").expect("an id"),
        deployment: "static".into(),
        service_identifier: service_identifier.map(String::from),
        provision_fields: fields.as_object().cloned().unwrap_or_default(),
        setup_action: "create-account".into(),
        status: ProductStatus::Active,
        created_at: String::new(),
        updated_at: String::new(),
        version: 1,
        unconfirmed_create: None,
        unconfirmed_action: None,
    }
}

/// Memory holding the demo configuration (`settings`) and a pending web-hosting product `cp-1`;
/// an engine over it, remembering configurations as the worker does, and the memory's outbox.
pub fn demo_world(settings: Value) -> (Engine, MemoryStore, MemoryOutbox) {
    let store = MemoryStore::new();
    store.put_configuration(demo_configuration(settings));
    let mut cp = contract_product("cp-1", "web-hosting", None, json!({ "package_name": "gold" }));
    cp.status = ProductStatus::Pending;
    store.put_product(cp);
    let engine = Engine::new(crate::adapters::cache::remembering(store.stores()), secret_box());
    let outbox = MemoryOutbox::of(&store);
    (engine, store, outbox)
}

/// An SQS record of a FIFO queue (`group`), received `receives` times.
pub fn record(id: &str, group: Option<&str>, body: &str, receives: u32) -> SqsRecord {
    let mut attributes = std::collections::HashMap::from([("ApproximateReceiveCount".to_owned(), receives.to_string())]);
    if let Some(g) = group {
        attributes.insert("MessageGroupId".into(), g.to_owned());
    }
    SqsRecord { message_id: id.into(), receipt_handle: format!("rh-{id}"), body: body.into(), attributes, event_source_arn: "arn:aws:sqs:eu-west-1:1:lifecycle.fifo".into(), waited: 0 }
}
