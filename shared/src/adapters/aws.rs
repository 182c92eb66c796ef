//! AWS clients as every function builds them (once, in main, from the loaded config), and the
//! permissions each AWS call needs.
//!
//! Where `AWS_CALL_LOG` names a file (the local stack under `make test` sets it), every client
//! records each call it sends there, one JSON line with the function, the IAM action and the
//! resource; `local-stack iam-check` then holds every recorded call to that function's policy in
//! template.yaml, so a call the policy misses fails the tests here, not the first run in AWS.
//! Nothing is recorded anywhere else (a deployed stack never sets the variable).

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::{Value, json};

/// One permission a call needs: the IAM action and the resource as the call names it (a table
/// or `table/index/<name>`, a queue URL, a parameter name, a function name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

fn permission(action: impl Into<String>, resource: impl Into<String>) -> Permission {
    Permission { action: action.into(), resource: resource.into() }
}

/// The permissions a request needs, from what it sends: the JSON protocols' `X-Amz-Target`
/// (DynamoDB, SQS, SSM) and body, or Lambda's REST path. A transaction needs the action of each
/// of its items on each item's table; a query on an index needs it on the index.
pub fn permissions(target: Option<&str>, path: &str, body: &[u8]) -> Vec<Permission> {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    match target.and_then(|t| t.split_once('.')) {
        Some(("DynamoDB_20120810", op)) => match op {
            "TransactWriteItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let (kind, inner) = item.as_object()?.iter().next()?;
                    let action = match kind.as_str() {
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        "ConditionCheck" => "ConditionCheckItem",
                        _ => return None,
                    };
                    Some(permission(format!("dynamodb:{action}"), text(inner, "TableName")))
                })
                .collect(),
            "TransactGetItems" => body["TransactItems"].as_array().into_iter().flatten().map(|i| permission("dynamodb:GetItem", text(&i["Get"], "TableName"))).collect(),
            "BatchGetItem" | "BatchWriteItem" => body["RequestItems"].as_object().into_iter().flatten().map(|(table, _)| permission(format!("dynamodb:{op}"), table.clone())).collect(),
            _ => {
                let table = text(&body, "TableName");
                let resource = match body.get("IndexName").and_then(Value::as_str) {
                    Some(index) => format!("{table}/index/{index}"),
                    None => table,
                };
                vec![permission(format!("dynamodb:{op}"), resource)]
            }
        },
        Some(("AmazonSQS", op)) => vec![permission(format!("sqs:{op}"), text(&body, "QueueUrl"))],
        Some(("AmazonSSM", op)) => vec![permission(format!("ssm:{op}"), text(&body, "Name"))],
        _ => match path.strip_prefix("/2015-03-31/functions/").and_then(|rest| rest.strip_suffix("/invocations")) {
            Some(function) => vec![permission("lambda:InvokeFunction", percent_decode(function))],
            None => vec![permission(format!("unknown:{}", target.unwrap_or("?")), path.to_owned())],
        },
    }
}

/// `%3A` and the like in a path segment (a function ARN's colons).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Records each call a client sends to the file `AWS_CALL_LOG` names.
#[derive(Debug, Clone)]
struct CallRecorder {
    function: String,
    file: Arc<Mutex<std::fs::File>>,
}

impl CallRecorder {
    /// The recorder of this process, where `AWS_CALL_LOG` is set (one per process: every client
    /// shares it).
    fn get() -> Option<CallRecorder> {
        static RECORDER: std::sync::LazyLock<Option<CallRecorder>> = std::sync::LazyLock::new(|| {
            let path = std::env::var("AWS_CALL_LOG").ok().filter(|p| !p.is_empty())?;
            let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).ok()?;
            // Only the stack's functions (their mains name themselves): tools and tests that share
            // the environment are not recorded.
            let function = super::telemetry::function()?.to_owned();
            Some(CallRecorder { function, file: Arc::new(Mutex::new(file)) })
        });
        RECORDER.clone()
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "aws-call-recorder"
    }

    fn read_before_transmit(&self, context: &BeforeTransmitInterceptorContextRef<'_>, _: &RuntimeComponents, _: &mut ConfigBag) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        let target = request.headers().get("x-amz-target");
        let path = request.uri().split('?').next().unwrap_or_default();
        let path = path.find("://").and_then(|i| path[i + 3..].find('/').map(|j| &path[i + 3 + j..])).unwrap_or(path);
        let mut lines = String::new();
        for p in permissions(target, path, request.body().bytes().unwrap_or_default()) {
            lines.push_str(&json!({ "function": self.function, "action": p.action, "resource": p.resource }).to_string());
            lines.push('\n');
        }
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_all(lines.as_bytes());
        }
        Ok(())
    }
}

/// A DynamoDB client of the loaded config (with the call recorder where asked for).
pub fn dynamodb(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(r) = CallRecorder::get() {
        builder = builder.interceptor(r);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// An SQS client of the loaded config (with the call recorder where asked for).
pub fn sqs(config: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let mut builder = aws_sdk_sqs::config::Builder::from(config);
    if let Some(r) = CallRecorder::get() {
        builder = builder.interceptor(r);
    }
    aws_sdk_sqs::Client::from_conf(builder.build())
}

/// An SSM client of the loaded config (with the call recorder where asked for).
pub fn ssm(config: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    let mut builder = aws_sdk_ssm::config::Builder::from(config);
    if let Some(r) = CallRecorder::get() {
        builder = builder.interceptor(r);
    }
    aws_sdk_ssm::Client::from_conf(builder.build())
}

/// A Lambda client of the loaded config (with the call recorder where asked for).
pub fn lambda(config: &aws_config::SdkConfig) -> aws_sdk_lambda::Client {
    let mut builder = aws_sdk_lambda::config::Builder::from(config);
    if let Some(r) = CallRecorder::get() {
        builder = builder.interceptor(r);
    }
    aws_sdk_lambda::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(target: &str, body: Value) -> Vec<(String, String)> {
        permissions(Some(target), "/", body.to_string().as_bytes()).into_iter().map(|p| (p.action, p.resource)).collect()
    }

    #[test]
    fn each_call_names_the_permissions_iam_checks() {
        assert_eq!(of("DynamoDB_20120810.GetItem", json!({ "TableName": "s-logs", "Key": {} })), [("dynamodb:GetItem".into(), "s-logs".into())]);
        assert_eq!(of("DynamoDB_20120810.Query", json!({ "TableName": "s-main", "IndexName": "gsi2" })), [("dynamodb:Query".into(), "s-main/index/gsi2".into())]);
        let transaction = json!({ "TransactItems": [{ "Put": { "TableName": "s-logs" } }, { "Update": { "TableName": "s-main" } }, { "ConditionCheck": { "TableName": "s-main" } }] });
        assert_eq!(
            of("DynamoDB_20120810.TransactWriteItems", transaction),
            [("dynamodb:PutItem".into(), "s-logs".into()), ("dynamodb:UpdateItem".into(), "s-main".into()), ("dynamodb:ConditionCheckItem".into(), "s-main".into())]
        );
        assert_eq!(of("DynamoDB_20120810.BatchGetItem", json!({ "RequestItems": { "s-main": {} } })), [("dynamodb:BatchGetItem".into(), "s-main".into())]);
        assert_eq!(of("AmazonSQS.SendMessage", json!({ "QueueUrl": "http://q/1/s-events" })), [("sqs:SendMessage".into(), "http://q/1/s-events".into())]);
        assert_eq!(of("AmazonSSM.GetParameter", json!({ "Name": "/p/key" })), [("ssm:GetParameter".into(), "/p/key".into())]);
        let invoke = permissions(None, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3As-f/invocations", b"{}");
        assert_eq!(invoke, [permission("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:s-f")]);
    }
}
