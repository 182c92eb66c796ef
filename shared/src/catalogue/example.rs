//! Example values made from a schema: every required field filled with a value of its type,
//! format and pattern. Used for documentation, `make dev`'s sample calls, tests, and by the demo
//! provider to fill result fields its simulated object does not hold.

use serde_json::{Map, Value, json};

/// A sample string for the patterns the catalogue uses.
fn for_pattern(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        "^[A-Z]{2}$" => "GB",
        "^[A-Z]{3}$" => "GBP",
        "^[A-Za-z0-9._-]+$" => "web-1",
        "^[A-Za-z0-9_-]{1,63}$" | "^[A-Za-z0-9-]{1,63}$" => "example",
        "^[A-Za-z0-9.-]{2,63}$" => "com",
        "^[A-Za-z0-9-]{2,16}$" => "EXAMPLE-TAG",
        "^\\+[0-9]{1,3}\\.?[0-9]{4,14}$" => "+44.2071234567",
        "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$" => "2026-11-23 00:00:00",
        "^\\d+(\\.\\d+)?%$" => "25%",
        "^[a-z]{2}([_-][A-Za-z]{2})?$" => "en",
        "^ssh .+@.+" => "ssh root@192.0.2.10",
        "^wss://" => "wss://console.example.com/vnc",
        "^[^\\s@!]+@[^\\s@!]+![A-Za-z0-9_.-]+$" => "provisioning@pve!engine",
        _ => return None,
    })
}

/// Strings tried, in order, for a pattern the table above does not name.
const CANDIDATES: [&str; 8] = ["example", "example.com", "EXAMPLE", "12345", "127.0.0.1", "https://example.com", "a-b_c.1", "x"];

fn string_example(schema: &Value) -> String {
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        if let Some(s) = for_pattern(pattern) {
            return s.to_owned();
        }
        let only_pattern = json!({ "type": "string", "pattern": pattern });
        if let Some(s) = CANDIDATES.iter().find(|c| super::validate::validate(&only_pattern, &json!(c)).is_empty()) {
            return (*s).to_owned();
        }
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("email") => "user@example.com".into(),
        Some("hostname") => "example.com".into(),
        Some("uri") => "https://example.com/".into(),
        Some("date") => "2027-11-23".into(),
        Some("ipv4") => "192.0.2.10".into(),
        Some("password") => "Example-passw0rd!".into(),
        _ => "example".into(),
    }
}

fn first_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// An example value for a schema; objects get their required fields (and those an `anyOf`
/// alternative requires), minus `skip` at the top level.
pub fn example(schema: &Value, skip: &[&str]) -> Value {
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    if schema.get("anyOf").is_some() && first_type(schema) == Some("string") {
        return json!("192.0.2.10");
    }
    match first_type(schema) {
        Some("string") => Value::String(string_example(schema)),
        Some("integer") => json!(schema.get("minimum").and_then(Value::as_i64).map_or(1, |m| m.max(1).min(schema.get("maximum").and_then(Value::as_i64).unwrap_or(i64::MAX)))),
        Some("number") => json!(10.0),
        Some("boolean") => json!(true),
        Some("array") => json!([example(schema.get("items").unwrap_or(&Value::Null), &[])]),
        Some("object") => {
            let props = schema.get("properties").and_then(Value::as_object);
            let mut wanted: Vec<&str> = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            if let Some(first) = schema.get("anyOf").and_then(Value::as_array).and_then(|a| a.first()) {
                wanted.extend(first.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
            }
            let mut out = Map::new();
            for name in wanted {
                if skip.contains(&name) || out.contains_key(name) {
                    continue;
                }
                if let Some(sub) = props.and_then(|p| p.get(name)) {
                    out.insert(name.to_owned(), example(sub, &[]));
                }
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use crate::catalogue::validate::validate;

    /// The examples of every action's params and result fit their schemas: the schemas are
    /// coherent, and the demo provider can always answer in shape.
    #[test]
    fn every_example_fits_its_schema() {
        for (b, a) in catalogue().actions() {
            let params = example(&a.params, &[]);
            assert_eq!(validate(&a.params, &params), vec![], "{}/{} params {params}", b.id, a.id);
            let result = example(&a.result, &[]);
            assert_eq!(validate(&a.result, &result), vec![], "{}/{} result {result}", b.id, a.id);
        }
        for p in crate::providers::providers() {
            let settings = example(&p.settings, &[]);
            assert_eq!(validate(&p.settings, &settings), vec![], "{}/{} settings {settings}", p.blueprint, p.id);
        }
    }
}
