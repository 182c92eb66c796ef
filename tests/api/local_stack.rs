//! The local stack is built from template.yaml itself: the tables and queues on the emulators
//! are exactly the template's, and building again changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_sqs::types::QueueAttributeName;
use e2e::{aws, unique};
use infra::cfn::{Stack, Template};
use infra::generate::workspace_root;
use infra::local::{self, LOCAL_ACCOUNT};
use serde_json::{Value, json};

fn template() -> Template {
    Template::load(&workspace_root().join("template.yaml")).unwrap()
}

fn new_stack(name: &str) -> Stack {
    let params: HashMap<String, String> = [("AuthIssuer".to_string(), "it".to_string())].into();
    Stack::new(template(), name, "us-east-1", LOCAL_ACCOUNT, &params)
}

/// The key schema of a table or index as (attribute, HASH|RANGE) pairs.
fn keys_of_template(v: &Value) -> Vec<(String, String)> {
    v["KeySchema"].as_array().unwrap().iter().map(|k| (k["AttributeName"].as_str().unwrap().into(), k["KeyType"].as_str().unwrap().into())).collect()
}

fn keys_of_sdk(k: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, String)> {
    k.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned())).collect()
}

#[tokio::test]
async fn tables_and_queues_are_exactly_those_of_the_template() {
    let config = aws().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = unique("it");
    let mut stack = new_stack(&name);
    local::setup(&mut stack, &ddb, &sqs).await.unwrap();

    // Tables: the same set, keys, indexes (keys and projection) and TTL.
    let tables = ddb.list_tables().send().await.unwrap();
    let ours: BTreeSet<&str> = tables.table_names().iter().map(String::as_str).filter(|t| t.starts_with(&format!("{name}-"))).collect();
    let declared: Vec<(&str, Value)> = stack.template.resources_of("AWS::DynamoDB::Table").map(|(_, r)| ("", stack.resolve(&r["Properties"]).unwrap())).collect();
    let declared_names: BTreeSet<&str> = declared.iter().map(|(_, p)| p["TableName"].as_str().unwrap()).collect();
    assert_eq!(ours, declared_names);
    assert_eq!(declared_names, BTreeSet::from([format!("{name}-main").as_str(), format!("{name}-logs").as_str()]));
    for (_, props) in &declared {
        let table_name = props["TableName"].as_str().unwrap();
        let described = ddb.describe_table().table_name(table_name).send().await.unwrap();
        let t = described.table().unwrap();
        assert_eq!(keys_of_sdk(t.key_schema()), keys_of_template(props), "{table_name}");
        let have: BTreeMap<String, (Vec<(String, String)>, String)> = t
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let projection = g.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_owned()).unwrap_or_default();
                (g.index_name().unwrap().to_owned(), (keys_of_sdk(g.key_schema()), projection))
            })
            .collect();
        let want: BTreeMap<String, (Vec<(String, String)>, String)> = props["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["IndexName"].as_str().unwrap().to_owned(), (keys_of_template(g), g["Projection"]["ProjectionType"].as_str().unwrap().to_owned())))
            .collect();
        assert_eq!(have, want, "{table_name}");
        let ttl = ddb.describe_time_to_live().table_name(table_name).send().await.unwrap();
        assert_eq!(ttl.time_to_live_description().and_then(|d| d.attribute_name()), Some("expires_at"), "{table_name}");
    }

    // Queues: the same set and every attribute the template sets.
    let listed = sqs.list_queues().queue_name_prefix(format!("{name}-")).send().await.unwrap();
    let urls: BTreeSet<String> = listed.queue_urls().iter().cloned().collect();
    let mut want_urls = BTreeSet::new();
    for (id, res) in stack.template.resources_of("AWS::SQS::Queue") {
        let props = stack.resolve(&res["Properties"]).unwrap();
        let url = stack.physical[id].reference.clone();
        want_urls.insert(url.clone());
        let attrs = sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::All).send().await.unwrap();
        let attrs = attrs.attributes().unwrap();
        for key in ["VisibilityTimeout", "MessageRetentionPeriod", "FifoQueue", "ContentBasedDeduplication"] {
            if let Some(want) = props.get(key) {
                assert_eq!(attrs.get(&QueueAttributeName::from(key)).map(String::as_str), Some(infra::cfn::scalar(want).as_str()), "{id}.{key}");
            }
        }
        if let Some(want) = props.get("RedrivePolicy") {
            let have: Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(have["deadLetterTargetArn"], want["deadLetterTargetArn"], "{id}");
            assert_eq!(have["maxReceiveCount"].to_string().trim_matches('"'), want["maxReceiveCount"].to_string(), "{id}");
            assert!(want["deadLetterTargetArn"].as_str().unwrap().ends_with("-dlq.fifo") || id != "LifecycleQueue");
        }
    }
    assert_eq!(urls, want_urls);
    assert_eq!(want_urls.len(), 6, "three queues, each with its DLQ");

    // The functions' environment names what was made.
    let env: HashMap<String, String> = local::environment(&stack).unwrap().into_iter().collect();
    assert_eq!(env["MAIN_TABLE"], format!("{name}-main"));
    assert_eq!(env["LOGS_TABLE"], format!("{name}-logs"));
    assert!(env["LIFECYCLE_QUEUE_URL"].ends_with(&format!("/{name}-lifecycle.fifo")));
    assert_eq!(env["AUTH_ISSUER"], "it");

    // A second run (a second `make dev`) finds everything in place and changes nothing.
    let mut again = new_stack(&name);
    local::setup(&mut again, &ddb, &sqs).await.unwrap();
    assert_eq!(again.physical.len(), stack.physical.len());
    for (id, p) in &stack.physical {
        assert_eq!(again.physical[id].reference, p.reference, "{id}");
    }
}

#[tokio::test]
async fn a_table_missing_new_indexes_gets_them_and_one_with_unknown_indexes_is_reported() {
    let config = aws().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let params: HashMap<String, String> = [("AuthIssuer".to_string(), "it".to_string())].into();
    // An older template: the main table without its indexes.
    let name = unique("older");
    let mut doc = template().doc;
    let props = &mut doc["Resources"]["MainTable"]["Properties"];
    props["GlobalSecondaryIndexes"] = json!([]);
    props["AttributeDefinitions"] = json!([{ "AttributeName": "pk", "AttributeType": "S" }, { "AttributeName": "sk", "AttributeType": "S" }]);
    local::setup(&mut Stack::new(Template { doc }, &name, "us-east-1", LOCAL_ACCOUNT, &params), &ddb, &sqs).await.unwrap();
    local::setup(&mut new_stack(&name), &ddb, &sqs).await.unwrap();
    let t = ddb.describe_table().table_name(format!("{name}-main")).send().await.unwrap();
    let mut indexes: Vec<&str> = t.table().unwrap().global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["gsi1", "gsi2", "gsi3", "gsi4", "gsi5", "gsi6"]);

    // A table with an index the template does not know is reported, never changed.
    let name = unique("drift");
    let mut doc = template().doc;
    doc["Resources"]["MainTable"]["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] = json!("legacy");
    local::setup(&mut Stack::new(Template { doc }, &name, "us-east-1", LOCAL_ACCOUNT, &params), &ddb, &sqs).await.unwrap();
    let err = local::setup(&mut new_stack(&name), &ddb, &sqs).await.unwrap_err();
    assert!(err.to_string().contains("exists with another definition"), "{err}");
}
