//! Reads template.yaml back and resolves its intrinsic functions the way CloudFormation would for
//! one local "stack", so the local stack is built from the template itself: tables, queues,
//! the functions' environment and the SQS event source mappings.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum CfnError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(String),
    #[error("cannot resolve {0}")]
    Unresolved(String),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub doc: Value,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, CfnError> {
        let text = std::fs::read_to_string(path).map_err(|source| CfnError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, CfnError> {
        let doc: Value = serde_norway::from_str(text).map_err(|e| CfnError::Yaml(e.to_string()))?;
        Ok(Template { doc })
    }

    /// (logical id, resource) of every resource of a type, in template order.
    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.doc["Resources"].as_object().into_iter().flatten().filter(move |(_, r)| r["Type"] == kind).map(|(id, r)| (id.as_str(), r))
    }
}

/// What `Ref` and `Fn::GetAtt` give for a created resource.
#[derive(Debug, Clone, Default)]
pub struct Physical {
    pub reference: String,
    pub attributes: HashMap<String, String>,
}

/// One stack's context: pseudo parameters, parameter values and the resources made so far.
#[derive(Debug, Clone)]
pub struct Stack {
    pub template: Template,
    pub name: String,
    pub region: String,
    pub account: String,
    params: HashMap<String, String>,
    pub physical: HashMap<String, Physical>,
}

/// Marks a value that resolved to `AWS::NoValue`: the key holding it is dropped.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Stack {
    /// A stack with the template's parameter defaults, overridden by `overrides`.
    pub fn new(template: Template, name: &str, region: &str, account: &str, overrides: &HashMap<String, String>) -> Self {
        let mut params = HashMap::new();
        for (key, spec) in template.doc["Parameters"].as_object().into_iter().flatten() {
            if let Some(default) = spec.get("Default") {
                params.insert(key.clone(), scalar(default));
            }
        }
        params.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Stack { template, name: name.into(), region: region.into(), account: account.into(), params, physical: HashMap::new() }
    }

    fn reference(&self, name: &str) -> Result<String, CfnError> {
        Ok(match name {
            "AWS::StackName" => self.name.clone(),
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::NoValue" => NO_VALUE.into(),
            _ => match (self.params.get(name), self.physical.get(name)) {
                (Some(v), _) => v.clone(),
                (None, Some(p)) => p.reference.clone(),
                _ => return Err(CfnError::Unresolved(format!("Ref {name}"))),
            },
        })
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, CfnError> {
        self.physical.get(resource).and_then(|p| p.attributes.get(attribute)).cloned().ok_or_else(|| CfnError::Unresolved(format!("Fn::GetAtt {resource}.{attribute}")))
    }

    fn sub(&self, text: &str) -> Result<String, CfnError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or_else(|| CfnError::Unresolved(format!("Fn::Sub {text}")))? + start;
            let name = &rest[start + 2..end];
            out.push_str(&match name.split_once('.') {
                Some((res, attr)) if !name.starts_with("AWS::") => self.attribute(res, attr)?,
                _ => self.reference(name)?,
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Whether a resource exists in this stack (its `Condition`, if it has one, holds).
    pub fn exists(&self, resource: &Value) -> Result<bool, CfnError> {
        match resource.get("Condition").and_then(Value::as_str) {
            Some(name) => self.condition(name),
            None => Ok(true),
        }
    }

    pub fn condition(&self, name: &str) -> Result<bool, CfnError> {
        let c = self.template.doc["Conditions"].get(name).ok_or_else(|| CfnError::Unresolved(format!("Condition {name}")))?;
        self.truth(c)
    }

    fn truth(&self, v: &Value) -> Result<bool, CfnError> {
        let bad = || CfnError::Unresolved(format!("condition {v}"));
        let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
        let (f, args) = obj.iter().next().ok_or_else(bad)?;
        let list = args.as_array();
        match f.as_str() {
            "Condition" => self.condition(args.as_str().ok_or_else(bad)?),
            "Fn::Equals" => {
                let l = list.filter(|l| l.len() == 2).ok_or_else(bad)?;
                Ok(self.resolve(&l[0])? == self.resolve(&l[1])?)
            }
            "Fn::Not" => Ok(!self.truth(list.and_then(|l| l.first()).ok_or_else(bad)?)?),
            "Fn::Or" => list.ok_or_else(bad)?.iter().try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            "Fn::And" => list.ok_or_else(bad)?.iter().try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            _ => Err(bad()),
        }
    }

    /// Resolves every intrinsic function inside a value.
    pub fn resolve(&self, v: &Value) -> Result<Value, CfnError> {
        match v {
            Value::Object(map) if map.len() == 1 => {
                let (k, arg) = map.iter().next().expect("one entry");
                match k.as_str() {
                    "Ref" => Ok(Value::String(self.reference(arg.as_str().unwrap_or_default())?)),
                    "Fn::Sub" => Ok(Value::String(self.sub(arg.as_str().ok_or_else(|| CfnError::Unresolved(format!("{v}")))?)?)),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = match arg {
                            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                            Value::String(s) => s.splitn(2, '.').collect(),
                            _ => vec![],
                        };
                        match parts.as_slice() {
                            [res, attr] => Ok(Value::String(self.attribute(res, attr)?)),
                            _ => Err(CfnError::Unresolved(format!("{v}"))),
                        }
                    }
                    "Fn::If" => {
                        let a = arg.as_array().filter(|a| a.len() == 3).ok_or_else(|| CfnError::Unresolved(format!("{v}")))?;
                        let branch = if self.condition(a[0].as_str().unwrap_or_default())? { &a[1] } else { &a[2] };
                        self.resolve(branch)
                    }
                    _ => self.resolve_map(map),
                }
            }
            Value::Object(map) => self.resolve_map(map),
            Value::Array(items) => Ok(Value::Array(items.iter().map(|i| self.resolve(i)).collect::<Result<Vec<_>, _>>()?.into_iter().filter(|i| !is_no_value(i)).collect())),
            other => Ok(other.clone()),
        }
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Result<Value, CfnError> {
        let mut out = Map::new();
        for (k, v) in map {
            let r = self.resolve(v)?;
            if !is_no_value(&r) {
                out.insert(k.clone(), r);
            }
        }
        Ok(Value::Object(out))
    }

    /// The environment of a function: Globals.Function.Environment merged with its own.
    pub fn function_environment(&self, logical_id: &str) -> Result<Vec<(String, String)>, CfnError> {
        let mut vars = Map::new();
        for source in [&self.template.doc["Globals"]["Function"]["Environment"]["Variables"], &self.template.doc["Resources"][logical_id]["Properties"]["Environment"]["Variables"]] {
            if let Value::Object(o) = self.resolve(source)? {
                vars.extend(o);
            }
        }
        Ok(vars.into_iter().map(|(k, v)| (k, scalar(&v))).collect())
    }
}

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some(NO_VALUE)
}

/// A scalar as the string CloudFormation would pass on.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  Stage: {Type: String, Default: prod}
  Secret: {Type: String, Default: ""}
Conditions:
  HasSecret: {"Fn::Not": [{"Fn::Equals": [{"Ref": Secret}, ""]}]}
Resources:
  Q: {Type: "AWS::SQS::Queue", Properties: {QueueName: {"Fn::Sub": "${AWS::StackName}-q"}}}
  T: {Type: "AWS::DynamoDB::Table", Properties: {}}
Globals:
  Function:
    Environment:
      Variables:
        STAGE: {Ref: Stage}
        QUEUE: {Ref: Q}
        QUEUE_ARN: {"Fn::GetAtt": [Q, Arn]}
        SECRET: {"Fn::If": [HasSecret, {Ref: Secret}, {Ref: "AWS::NoValue"}]}
        SUB: {"Fn::Sub": "${AWS::Region}/${Q.Arn}/${Stage}"}
"#;

    #[test]
    fn intrinsics_resolve_like_cloudformation() {
        let mut stack = Stack::new(Template::parse(T).unwrap(), "local", "us-east-1", "123456789012", &HashMap::new());
        let props = stack.resolve(&stack.template.doc["Resources"]["Q"]["Properties"]).unwrap();
        assert_eq!(props["QueueName"], "local-q");
        stack.physical.insert("Q".into(), Physical { reference: "http://q/url".into(), attributes: [("Arn".to_string(), "arn:q".to_string())].into() });
        let env: HashMap<_, _> = stack.function_environment("Fn").unwrap().into_iter().collect();
        assert_eq!(env["STAGE"], "prod");
        assert_eq!(env["QUEUE"], "http://q/url");
        assert_eq!(env["QUEUE_ARN"], "arn:q");
        assert_eq!(env["SUB"], "us-east-1/arn:q/prod");
        assert!(!env.contains_key("SECRET"), "AWS::NoValue drops the key");

        let overrides = [("Secret".to_string(), "s3cret".to_string()), ("Stage".to_string(), "local".to_string())].into();
        let mut stack = Stack::new(Template::parse(T).unwrap(), "local", "us-east-1", "123456789012", &overrides);
        stack.physical = [("Q".to_string(), Physical { reference: "u".into(), attributes: [("Arn".to_string(), "a".to_string())].into() })].into();
        let env: HashMap<_, _> = stack.function_environment("Fn").unwrap().into_iter().collect();
        assert_eq!((env["SECRET"].as_str(), env["STAGE"].as_str()), ("s3cret", "local"));
    }

    #[test]
    fn unknown_references_are_errors_not_guesses() {
        let stack = Stack::new(Template::parse(T).unwrap(), "local", "us-east-1", "1", &HashMap::new());
        assert!(stack.resolve(&serde_json::json!({"Ref": "Nope"})).is_err());
        assert!(stack.resolve(&serde_json::json!({"Fn::GetAtt": ["Q", "Arn"]})).is_err());
    }
}
