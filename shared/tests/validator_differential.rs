//! A differential test of the catalogue's own validator (the functions keep it for its size)
//! against the `jsonschema` crate: on every schema the API checks input with (each action's
//! params and result, each provider's settings, the provision fields, the billing event), both
//! must accept the catalogue's example and both must refuse each of a set of bad inputs made
//! from the schema (a wrong type, a missing required field, an unknown field, a value outside
//! its enum, its length or its range, a string off its pattern or format).

use serde_json::{Map, Value, json};
use shared::catalogue::catalogue;
use shared::catalogue::example::example;
use shared::catalogue::validate::validate;

/// Every schema the API validates with, named.
fn schemas() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for (b, a) in catalogue().actions() {
        all.push((format!("{}/{} params", b.id, a.id), a.params.clone()));
        all.push((format!("{}/{} result", b.id, a.id), a.result.clone()));
    }
    for p in shared::providers::providers() {
        all.push((format!("{}/{} settings", p.blueprint, p.id), p.settings.clone()));
    }
    all.push(("provision fields".into(), catalogue().provision_schema().clone()));
    all.push(("billing event".into(), shared::engine::lifecycle::event_schema()));
    all.push(("contract product".into(), shared::engine::contracts::contract_product_schema()));
    all.push(("import".into(), shared::engine::imports::import_schema()));
    all.push(("bulk import".into(), shared::engine::imports::bulk_import_schema()));
    all
}

/// A value of another JSON type than the schema allows.
fn wrong_type(schema: &Value) -> Option<Value> {
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    [json!(12345), json!("text"), json!(true), json!({ "k": 1 }), json!([1])].into_iter().find(|v| {
        let t = match v {
            Value::Number(_) => "integer",
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Object(_) => "object",
            _ => "array",
        };
        let allowed_here = allowed.contains(&t) || (t == "integer" && allowed.contains(&"number"));
        !allowed_here
    })
}

/// Bad values of one property's schema (each must be refused), given a good one.
fn bad_values(schema: &Value, good: &Value) -> Vec<(String, Value)> {
    let mut bad = Vec::new();
    if let Some(v) = wrong_type(schema) {
        bad.push(("wrong type".into(), v));
    }
    if let Some(options) = schema["enum"].as_array() {
        let outside = (0..).map(|n| json!(format!("not-an-option-{n}"))).find(|v| !options.contains(v)).unwrap();
        bad.push(("outside the enum".into(), outside));
    }
    if schema["type"] == "string" || good.is_string() {
        if let Some(max) = schema["maxLength"].as_u64() {
            bad.push(("too long".into(), json!("x".repeat(max as usize + 1))));
        }
        if let Some(min) = schema["minLength"].as_u64().filter(|m| *m > 0) {
            bad.push(("too short".into(), json!("x".repeat(min as usize - 1))));
        }
        if schema["format"].is_string() && schema["pattern"].is_null() {
            bad.push((format!("not a {}", schema["format"]), json!("not a value of this format \u{1}")));
        }
        if schema["pattern"].is_string() && schema["enum"].is_null() {
            bad.push(("off the pattern".into(), json!("\u{1} off\npattern \u{7f}")));
        }
    }
    if let Some(max) = schema["maximum"].as_f64() {
        bad.push(("above the maximum".into(), json!(max + 1.0)));
    }
    if let Some(min) = schema["minimum"].as_f64() {
        bad.push(("below the minimum".into(), json!(min - 1.0)));
    }
    bad
}

/// The example with one change at a time: each bad value of each top-level property, each
/// required property left out, an unknown property where the schema has none.
fn mutations(schema: &Value, good: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let Some(object) = good.as_object() else { return out };
    let properties = schema["properties"].as_object().cloned().unwrap_or_default();
    for (name, property) in &properties {
        let current = object.get(name).cloned().unwrap_or_else(|| example(property, &[]));
        for (what, value) in bad_values(property, &current) {
            let mut changed: Map<String, Value> = object.clone();
            changed.insert(name.clone(), value);
            out.push((format!("{name}: {what}"), Value::Object(changed)));
        }
    }
    for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let mut changed = object.clone();
        changed.remove(required);
        out.push((format!("{required} left out"), Value::Object(changed)));
    }
    if schema["additionalProperties"] == false {
        let mut changed = object.clone();
        changed.insert("no_such_field_anywhere".into(), json!(1));
        out.push(("an unknown field".into(), Value::Object(changed)));
    }
    out
}

#[test]
fn the_catalogue_validator_agrees_with_jsonschema() {
    let mut disagreements = Vec::new();
    let mut compared = 0;
    let schemas = schemas();
    for (name, schema) in &schemas {
        let reference = jsonschema::options().should_validate_formats(true).build(schema).unwrap_or_else(|e| panic!("{name}: not a valid JSON Schema: {e}"));
        let good = example(schema, &[]);
        let ours = validate(schema, &good);
        if !ours.is_empty() || !reference.is_valid(&good) {
            disagreements.push(format!("{name}: the example {good} (ours: {ours:?}, jsonschema valid: {})", reference.is_valid(&good)));
        }
        for (what, bad) in mutations(schema, &good) {
            compared += 1;
            let ours_refuses = !validate(schema, &bad).is_empty();
            let reference_refuses = !reference.is_valid(&bad);
            if ours_refuses != reference_refuses {
                disagreements.push(format!("{name}, {what}: ours refuses {ours_refuses}, jsonschema refuses {reference_refuses}"));
            }
        }
    }
    eprintln!("{compared} bad inputs and {} examples compared", schemas.len());
    assert!(compared > 1000, "only {compared} bad inputs were compared");
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}
