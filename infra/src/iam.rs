//! The IAM check of `make test`: every AWS call the functions made during the end-to-end run (the
//! call log `shared::adapters::aws` writes where `AWS_CALL_LOG` is set) is held to that function's policy
//! in template.yaml, resolved for the local stack. A call no statement allows is a failure: the
//! function would be refused in AWS (the worker's read of a pending log entry, say), which the
//! local emulators, having no IAM, would never show.

use std::collections::BTreeMap;

use crate::functions::FUNCTIONS;
use serde_json::Value;

use crate::cfn::Stack;

/// One recorded call a policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub function: String,
    pub action: String,
    pub arn: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} function called {} on {}, which its policy in template.yaml does not allow", self.function, self.action, self.arn)
    }
}

/// Whether an IAM pattern (`*` any run, `?` one character) matches a value.
pub fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
        _ => vec![],
    }
}

/// Whether some Allow statement of a resolved policy list covers the action on the ARN.
pub fn allowed(policies: &Value, action: &str, arn: &str) -> bool {
    policies
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
        .any(|s| s["Effect"] == "Allow" && strings(&s["Action"]).iter().any(|a| a.eq_ignore_ascii_case(action) || glob(a, action)) && strings(&s["Resource"]).iter().any(|r| glob(r, arn)))
}

/// The ARN a recorded resource stands for in this stack: tables and queues by the ARNs the
/// emulators gave them, parameters and functions as the template writes theirs.
pub fn arn_of(stack: &Stack, action: &str, resource: &str) -> String {
    let physical_arn = |reference: &str| stack.physical.values().find(|p| p.reference == reference).and_then(|p| p.attributes.get("Arn").cloned());
    match action.split_once(':').map(|(service, _)| service) {
        Some("dynamodb") => {
            let (table, rest) = match resource.split_once('/') {
                Some((t, r)) => (t, format!("/{r}")),
                None => (resource, String::new()),
            };
            let base = physical_arn(table).unwrap_or_else(|| format!("arn:aws:dynamodb:{}:{}:table/{table}", stack.region, stack.account));
            format!("{base}{rest}")
        }
        Some("sqs") => physical_arn(resource).unwrap_or_else(|| format!("arn:aws:sqs:{}:{}:{}", stack.region, stack.account, resource.rsplit('/').next().unwrap_or(resource))),
        Some("ssm") => format!("arn:aws:ssm:{}:{}:parameter{resource}", stack.region, stack.account),
        Some("lambda") if resource.starts_with("arn:") => resource.to_owned(),
        Some("lambda") => format!("arn:aws:lambda:{}:{}:function:{resource}", stack.region, stack.account),
        _ => resource.to_owned(),
    }
}

/// The resolved policies of a function, by its binary name (the per-action function: the first
/// action's, as all 73 have the same).
pub fn policies_of(stack: &Stack, function: &str) -> Option<Value> {
    let f = FUNCTIONS.iter().find(|f| f.name == function)?;
    let logical = if f.per_action {
        let (b, a) = shared::catalogue::catalogue().actions().next()?;
        crate::template::action_logical_id(f, b.id, a.id)
    } else {
        f.logical_id.to_owned()
    };
    stack.resolve(&stack.template.doc["Resources"][logical.as_str()]["Properties"]["Policies"]).ok()
}

/// What the check found: calls per function and action, and the violations.
#[derive(Debug, Default)]
pub struct Report {
    pub calls: BTreeMap<(String, String), usize>,
    pub violations: Vec<Violation>,
}

/// Checks a call log (JSON lines `{"function", "action", "resource"}`) against the stack.
pub fn check(stack: &Stack, log: &str) -> Report {
    let mut report = Report::default();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(call) = serde_json::from_str::<Value>(line) else { continue };
        let (function, action, resource) = (call["function"].as_str().unwrap_or_default(), call["action"].as_str().unwrap_or_default(), call["resource"].as_str().unwrap_or_default());
        *report.calls.entry((function.to_owned(), action.to_owned())).or_default() += 1;
        let arn = arn_of(stack, action, resource);
        let ok = policies_of(stack, function).is_some_and(|p| allowed(&p, action, &arn));
        let violation = Violation { function: function.to_owned(), action: action.to_owned(), arn };
        if !ok && !report.violations.contains(&violation) {
            report.violations.push(violation);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::{Physical, Template};
    use std::collections::HashMap;

    #[test]
    fn iam_patterns_match_as_iam_does() {
        assert!(glob("arn:aws:lambda:r:1:function:s-*", "arn:aws:lambda:r:1:function:s-admin"));
        assert!(!glob("arn:aws:lambda:r:1:function:s-*", "arn:aws:lambda:r:1:function:payroll"));
        assert!(glob("arn:aws:dynamodb:r:1:table/t/index/*", "arn:aws:dynamodb:r:1:table/t/index/gsi2"));
        assert!(!glob("arn:aws:dynamodb:r:1:table/t", "arn:aws:dynamodb:r:1:table/t/index/gsi2"));
        assert!(glob("dynamodb:?etItem", "dynamodb:GetItem"));
    }

    /// The class of fault the check is for: a function reading a table its policy only lets it
    /// write (the worker reading a pending log entry, before the policy said so).
    #[test]
    fn a_call_the_functions_policy_misses_is_a_violation() {
        let template = Template { doc: crate::template::template() };
        let mut stack = Stack::new(
            template,
            "s",
            "us-east-1",
            "123456789012",
            &HashMap::from([("AuthIssuer".to_string(), "i".to_string()), ("AuthHs256SecretParameter".to_string(), "/provisioning/token-secret".to_string())]),
        );
        for (logical, name) in [("MainTable", "s-main"), ("LogsTable", "s-logs")] {
            stack
                .physical
                .insert(logical.into(), Physical { reference: name.into(), attributes: HashMap::from([("Arn".to_string(), format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"))]) });
        }
        for (logical, name) in [
            ("LifecycleQueue", "s-lifecycle.fifo"),
            ("LifecycleQueueDlq", "s-lifecycle-dlq.fifo"),
            ("EventsQueue", "s-events"),
            ("EventsQueueDlq", "s-events-dlq"),
            ("OperationsQueue", "s-operations"),
            ("OperationsQueueDlq", "s-operations-dlq"),
        ] {
            stack.physical.insert(
                logical.into(),
                Physical { reference: format!("http://q/123456789012/{name}"), attributes: HashMap::from([("Arn".to_string(), format!("arn:aws:sqs:us-east-1:123456789012:{name}"))]) },
            );
        }
        let log = [
            r#"{"function": "worker", "action": "dynamodb:GetItem", "resource": "s-logs"}"#,
            r#"{"function": "worker", "action": "dynamodb:PutItem", "resource": "s-logs"}"#,
            r#"{"function": "worker", "action": "sqs:SendMessage", "resource": "http://q/123456789012/s-lifecycle-dlq.fifo"}"#,
            r#"{"function": "logs", "action": "dynamodb:Query", "resource": "s-logs/index/gsi1"}"#,
            r#"{"function": "admin", "action": "ssm:GetParameter", "resource": "/provisioning/secrets-key"}"#,
            r#"{"function": "dispatcher", "action": "lambda:InvokeFunction", "resource": "s-AdminFunction-X1"}"#,
        ]
        .join("\n");
        let report = check(&stack, &log);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        let bad = [
            r#"{"function": "logs", "action": "dynamodb:PutItem", "resource": "s-logs"}"#,
            r#"{"function": "webhook", "action": "dynamodb:GetItem", "resource": "s-logs"}"#,
            r#"{"function": "dispatcher", "action": "lambda:InvokeFunction", "resource": "payroll"}"#,
            r#"{"function": "worker", "action": "ssm:GetParameter", "resource": "/provisioning/token-secret"}"#,
        ]
        .join("\n");
        let report = check(&stack, &bad);
        assert_eq!(report.violations.len(), 4, "{:?}", report.violations);
    }
}
