//! Creates the stack's DynamoDB tables and SQS queues on the local emulators, exactly as
//! template.yaml declares them, and works out what the functions and the poller need to know.
//! Running it again on existing resources checks them and changes nothing.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::cfn::{CfnError, Physical, Stack, scalar};

/// The account id the SQS emulator (moto) uses in queue URLs and ARNs.
pub const LOCAL_ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Template(#[from] CfnError),
    #[error("{0}")]
    Invalid(String),
    #[error("{resource}: {message}")]
    Aws { resource: String, message: String },
    #[error("table {table} exists with another definition ({what}); remove the local data (make clean-data) to recreate it")]
    TableDiffers { table: String, what: String },
}

fn aws_err(resource: &str, e: impl std::error::Error) -> SetupError {
    SetupError::Aws { resource: resource.to_owned(), message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string() }
}

fn strings<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> + 'a {
    v[key].as_array().into_iter().flatten()
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, SetupError> {
    strings(v, "KeySchema")
        .map(|k| {
            KeySchemaElement::builder().attribute_name(scalar(&k["AttributeName"])).key_type(KeyType::from(scalar(&k["KeyType"]).as_str())).build().map_err(|e| SetupError::Invalid(e.to_string()))
        })
        .collect()
}

/// The template's attribute definitions of a table, those `wanted` only.
fn attribute_definitions(props: &Value, wanted: impl Fn(&str) -> bool) -> Result<Vec<AttributeDefinition>, SetupError> {
    strings(props, "AttributeDefinitions")
        .filter(|a| wanted(&scalar(&a["AttributeName"])))
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(scalar(&a["AttributeName"]))
                .attribute_type(ScalarAttributeType::from(scalar(&a["AttributeType"]).as_str()))
                .build()
                .map_err(|e| SetupError::Invalid(e.to_string()))
        })
        .collect()
}

/// How long a table or a new index may take to become ACTIVE. DynamoDB Local builds an index in
/// the background, and on a loaded two-core machine (a whole test run beside it) that has taken
/// more than a minute; AWS itself may take far longer on a full table.
const ACTIVE_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

/// Waits until a table and its indexes are ACTIVE (one index may be built at a time), and says
/// how long that took.
async fn wait_until_active(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<std::time::Duration, SetupError> {
    use aws_sdk_dynamodb::types::{IndexStatus, TableStatus};
    let started = std::time::Instant::now();
    loop {
        let t = ddb.describe_table().table_name(name).send().await.map_err(|e| aws_err(name, e))?;
        let table = t.table().ok_or_else(|| SetupError::Invalid(format!("{name}: empty description")))?;
        let ready = table.table_status() == Some(&TableStatus::Active) && table.global_secondary_indexes().iter().all(|g| g.index_status() == Some(&IndexStatus::Active));
        if ready {
            return Ok(started.elapsed());
        }
        if started.elapsed() > ACTIVE_WITHIN {
            return Err(SetupError::Invalid(format!("{name} did not become active within {} s", ACTIVE_WITHIN.as_secs())));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Creates (or checks) one table; its name, and its stream's ARN where it has one.
async fn ensure_table(ddb: &aws_sdk_dynamodb::Client, props: &Value) -> Result<(String, Option<String>), SetupError> {
    let name = scalar(&props["TableName"]);
    let keys = key_schema(props)?;
    let stream = props["StreamSpecification"]["StreamViewType"]
        .as_str()
        .map(|view| StreamSpecification::builder().stream_enabled(true).stream_view_type(StreamViewType::from(view)).build())
        .transpose()
        .map_err(|e| SetupError::Invalid(e.to_string()))?;
    let mut gsis = Vec::new();
    for g in strings(props, "GlobalSecondaryIndexes") {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(scalar(&g["Projection"]["ProjectionType"]).as_str()))
            .set_non_key_attributes(g["Projection"]["NonKeyAttributes"].as_array().map(|a| a.iter().map(scalar).collect()))
            .build();
        gsis.push(
            GlobalSecondaryIndex::builder().index_name(scalar(&g["IndexName"])).set_key_schema(Some(key_schema(g)?)).projection(projection).build().map_err(|e| SetupError::Invalid(e.to_string()))?,
        );
    }
    match ddb.describe_table().table_name(&name).send().await {
        Ok(existing) => {
            let t = existing.table().ok_or_else(|| SetupError::Invalid(format!("{name}: empty description")))?;
            if t.key_schema() != keys.as_slice() {
                return Err(SetupError::TableDiffers { table: name, what: "key schema".into() });
            }
            let have: Vec<&str> = t.global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
            let want: Vec<&str> = gsis.iter().map(|g| g.index_name()).collect();
            if let Some(extra) = have.iter().find(|h| !want.contains(h)) {
                return Err(SetupError::TableDiffers { table: name, what: format!("index {extra} is not in the template") });
            }
            // An index the template gained since the table was made is added, as CloudFormation
            // would: one UpdateTable each.
            for g in gsis.iter().filter(|g| !have.contains(&g.index_name())) {
                let definitions = attribute_definitions(props, |name| g.key_schema().iter().any(|k| k.attribute_name() == name))?;
                let create = CreateGlobalSecondaryIndexAction::builder()
                    .index_name(g.index_name())
                    .set_key_schema(Some(g.key_schema().to_vec()))
                    .set_projection(g.projection().cloned())
                    .build()
                    .map_err(|e| SetupError::Invalid(e.to_string()))?;
                ddb.update_table()
                    .table_name(&name)
                    .set_attribute_definitions(Some(definitions))
                    .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
                    .send()
                    .await
                    .map_err(|e| aws_err(&name, e))?;
                let took = wait_until_active(ddb, &name).await?;
                eprintln!("[setup] {name}: added index {} ({} ms)", g.index_name(), took.as_millis());
            }
            // A stream the template gained since (make dev's kept data), as CloudFormation would.
            let enabled = t.stream_specification().is_some_and(|s| s.stream_enabled());
            if let Some(spec) = stream.clone().filter(|_| !enabled) {
                ddb.update_table().table_name(&name).stream_specification(spec).send().await.map_err(|e| aws_err(&name, e))?;
                wait_until_active(ddb, &name).await?;
                eprintln!("[setup] {name}: stream enabled");
            }
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            let definitions = attribute_definitions(props, |_| true)?;
            ddb.create_table()
                .table_name(&name)
                .billing_mode(BillingMode::from(scalar(&props["BillingMode"]).as_str()))
                .set_attribute_definitions(Some(definitions))
                .set_key_schema(Some(keys))
                .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
                .set_stream_specification(stream)
                .send()
                .await
                .map_err(|e| aws_err(&name, e))?;
        }
        Err(e) => return Err(aws_err(&name, e)),
    }
    if let Some(attr) = props["TimeToLiveSpecification"]["AttributeName"].as_str() {
        let current = ddb.describe_time_to_live().table_name(&name).send().await.map_err(|e| aws_err(&name, e))?;
        let enabled = current.time_to_live_description().and_then(|d| d.attribute_name()) == Some(attr);
        if !enabled && props["TimeToLiveSpecification"]["Enabled"] == true {
            let spec = TimeToLiveSpecification::builder().attribute_name(attr).enabled(true).build().map_err(|e| SetupError::Invalid(e.to_string()))?;
            ddb.update_time_to_live().table_name(&name).time_to_live_specification(spec).send().await.map_err(|e| aws_err(&name, e))?;
        }
    }
    let described = ddb.describe_table().table_name(&name).send().await.map_err(|e| aws_err(&name, e))?;
    Ok((name, described.table().and_then(|t| t.latest_stream_arn()).map(str::to_owned)))
}

/// The SQS attributes of a queue's CloudFormation properties.
pub fn queue_attributes(props: &Value) -> HashMap<QueueAttributeName, String> {
    let mut attrs = HashMap::new();
    for (key, value) in props.as_object().into_iter().flatten() {
        if key == "QueueName" || key == "Tags" {
            continue;
        }
        let text = match value {
            Value::Object(_) | Value::Array(_) => value.to_string(),
            other => scalar(other),
        };
        attrs.insert(QueueAttributeName::from(key.as_str()), text);
    }
    attrs
}

async fn ensure_queue(sqs: &aws_sdk_sqs::Client, props: &Value) -> Result<(String, String), SetupError> {
    let name = scalar(&props["QueueName"]);
    let out = sqs.create_queue().queue_name(&name).set_attributes(Some(queue_attributes(props))).send().await.map_err(|e| aws_err(&name, e))?;
    let url = out.queue_url().ok_or_else(|| SetupError::Invalid(format!("{name}: no queue URL")))?.to_owned();
    Ok((name, url))
}

/// Creates every table and queue of the template; fills `stack.physical` with what Ref and
/// GetAtt give for them and for the functions (whose local name is their binary).
pub async fn setup(stack: &mut Stack, ddb: &aws_sdk_dynamodb::Client, sqs: &aws_sdk_sqs::Client) -> Result<(), SetupError> {
    let template = stack.template.clone();
    for (id, res) in template.resources_of("AWS::Serverless::Function") {
        if !stack.exists(res)? {
            continue;
        }
        let binary = scalar(&res["Metadata"]["BuildProperties"]["Binary"]);
        let arn = format!("arn:aws:lambda:{}:{}:function:{binary}", stack.region, stack.account);
        stack.physical.insert(id.into(), Physical { reference: binary, attributes: [("Arn".into(), arn)].into() });
    }
    for (id, res) in template.resources_of("AWS::DynamoDB::Table") {
        let props = stack.resolve(&res["Properties"])?;
        let (name, stream) = ensure_table(ddb, &props).await?;
        let arn = format!("arn:aws:dynamodb:{}:{}:table/{name}", stack.region, stack.account);
        let mut attributes: HashMap<String, String> = [("Arn".into(), arn)].into();
        attributes.extend(stream.map(|s| ("StreamArn".to_owned(), s)));
        stack.physical.insert(id.into(), Physical { reference: name, attributes });
    }
    // Queues in dependency order: a queue whose properties name another (its DLQ) waits for it.
    let mut pending: Vec<(&str, &Value)> = template.resources_of("AWS::SQS::Queue").collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for (id, res) in pending {
            match stack.resolve(&res["Properties"]) {
                Ok(props) => {
                    let (name, url) = ensure_queue(sqs, &props).await?;
                    let arn = format!("arn:aws:sqs:{}:{}:{name}", stack.region, stack.account);
                    let attributes = [("Arn".into(), arn), ("QueueName".into(), name.clone()), ("QueueUrl".into(), url.clone())].into();
                    stack.physical.insert(id.into(), Physical { reference: url, attributes });
                }
                Err(CfnError::Unresolved(_)) => waiting.push((id, res)),
                Err(e) => return Err(e.into()),
            }
        }
        if waiting.len() == before {
            let ids: Vec<_> = waiting.iter().map(|(id, _)| *id).collect();
            return Err(SetupError::Invalid(format!("queues with unresolvable references: {ids:?}")));
        }
        pending = waiting;
    }
    Ok(())
}

/// The environment every function gets (the template's, resolved), as `KEY=VALUE` lines.
pub fn environment(stack: &Stack) -> Result<Vec<(String, String)>, SetupError> {
    let mut all: Vec<(String, String)> = Vec::new();
    for (id, res) in stack.template.resources_of("AWS::Serverless::Function") {
        if !stack.exists(res)? {
            continue;
        }
        // Locally one unpinned `action` instance serves every action (watch has one environment).
        for (k, v) in stack.function_environment(id)?.into_iter().filter(|(k, _)| k != "ACTION_PINNED") {
            match all.iter().find(|(name, _)| *name == k) {
                Some((_, existing)) if *existing != v => {
                    return Err(SetupError::Invalid(format!("{k} differs between functions; cargo lambda watch has one environment")));
                }
                Some(_) => {}
                None => all.push((k, v)),
            }
        }
    }
    Ok(all)
}

/// An SQS→Lambda event source mapping of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSourceMapping {
    pub function: String,
    pub queue_arn: String,
    pub queue_url: String,
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
}

/// The events of one `kind` (SQS, DynamoDB ...) of every function the stack has: the function's
/// local name, its logical id and the event's properties, resolved.
pub fn events_of(stack: &Stack, kind: &str) -> Result<Vec<(String, String, Value)>, SetupError> {
    let mut out = Vec::new();
    for (id, res) in stack.template.resources_of("AWS::Serverless::Function") {
        if !stack.exists(res)? {
            continue;
        }
        let function = stack.physical.get(id).map(|p| p.reference.clone()).unwrap_or_default();
        for event in res["Properties"]["Events"].as_object().into_iter().flatten().map(|(_, e)| e).filter(|e| e["Type"] == kind) {
            out.push((function.clone(), id.to_owned(), stack.resolve(&event["Properties"])?));
        }
    }
    Ok(out)
}

/// Every SQS event of every function, resolved against the created queues.
pub fn event_source_mappings(stack: &Stack) -> Result<Vec<EventSourceMapping>, SetupError> {
    let mut out = Vec::new();
    for (function, id, props) in events_of(stack, "SQS")? {
        let queue_arn = scalar(&props["Queue"]);
        let queue_url =
            stack.physical.values().find(|p| p.attributes.get("Arn") == Some(&queue_arn)).map(|p| p.reference.clone()).ok_or_else(|| SetupError::Invalid(format!("{id}: no queue {queue_arn}")))?;
        out.push(EventSourceMapping {
            function,
            queue_arn,
            queue_url,
            batch_size: props["BatchSize"].as_i64().unwrap_or(10) as i32,
            report_batch_item_failures: strings(&props, "FunctionResponseTypes").any(|t| t == "ReportBatchItemFailures"),
        });
    }
    Ok(out)
}

/// A template parameter's value in this stack (the SSM parameter names, say).
pub fn parameter_value(stack: &Stack, parameter: &str) -> String {
    stack.resolve(&serde_json::json!({ "Ref": parameter })).map(|v| scalar(&v)).unwrap_or_default()
}

/// Puts a local secret where the functions read it, as an operator does before deploying (an
/// existing parameter is left as it is: the secrets key must keep opening sealed data).
pub async fn put_secure_parameter(ssm: &aws_sdk_ssm::Client, name: &str, key: &str) -> Result<(), SetupError> {
    let result = ssm.put_parameter().name(name).value(key).r#type(aws_sdk_ssm::types::ParameterType::SecureString).overwrite(false).send().await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_already_exists()) => Ok(()),
        Err(e) => Err(SetupError::Aws { resource: name.to_owned(), message: aws_sdk_ssm::error::DisplayErrorContext(e).to_string() }),
    }
}
