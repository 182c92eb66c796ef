//! Validation of JSON values against the catalogue's schemas: the subset of JSON Schema 2020-12
//! that schema.rs writes (type, properties, required, additionalProperties, enum, lengths,
//! pattern, format, minimum/maximum, items, anyOf). Every failing field is reported, by path, so
//! a caller can fix all of them at once.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{LazyLock, RwLock};

use regex_lite::Regex;
use serde_json::{Map, Value};

/// One field that does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dot path from the root (`contact.email`, `quantities[2].quantity`); empty for the root.
    pub path: String,
    pub message: String,
}

/// The failures as a JSON object `{path: message}`, the `details.fields` of a 400.
pub fn to_details(errors: &[FieldError]) -> Value {
    let fields: Map<String, Value> = errors.iter().map(|e| (if e.path.is_empty() { "(body)".to_owned() } else { e.path.clone() }, Value::String(e.message.clone()))).collect();
    serde_json::json!({ "fields": fields })
}

/// Checks `value` against `schema`; an empty list means it fits. Every value is also checked
/// against what the store can keep (see [`storable`]), so free-form data the store would refuse
/// is a 400 before anything is sent to a third party, never a 500 after.
pub fn validate(schema: &Value, value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    storable(value, "", 0, &mut errors);
    errors
}

/// Whether the store can keep a value (see [`MAX_DEPTH`] and the number range below).
pub fn is_storable(value: &Value) -> bool {
    let mut errors = Vec::new();
    storable(value, "", 0, &mut errors);
    errors.is_empty()
}

/// How deep a value accepted from outside may nest: DynamoDB keeps 32 levels in an item, and a
/// value is stored a few levels down (a log entry's params, an event's data).
pub const MAX_DEPTH: usize = 16;

/// What DynamoDB's number type holds: 38 significant digits, magnitudes from 1e-130 to below
/// 1e126. JSON numbers beyond that (1e300, 1e-200) are refused by path.
fn storable(value: &Value, path: &str, depth: usize, errors: &mut Vec<FieldError>) {
    let at = |p: &str| if p.is_empty() { "(body)".to_owned() } else { p.to_owned() };
    match value {
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            errors.push(FieldError { path: at(path), message: format!("nests deeper than {MAX_DEPTH} levels") });
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                storable(v, &format!("{path}[{i}]"), depth + 1, errors);
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                // DynamoDB refuses a map key that is empty ("Empty attribute name").
                if k.is_empty() {
                    errors.push(FieldError { path: at(path), message: "has a field with an empty name, which cannot be stored".into() });
                }
                storable(v, &join(path, k), depth + 1, errors);
            }
        }
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            let f = n.as_f64().unwrap_or(f64::INFINITY).abs();
            if f != 0.0 && !(1e-130..1e126).contains(&f) {
                errors.push(FieldError { path: at(path), message: "is a number beyond what can be stored (magnitudes 1e-130 to 1e125)".into() });
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(wanted: &str, v: &Value) -> bool {
    let actual = type_name(v);
    actual == wanted || (wanted == "number" && actual == "integer") || (wanted == "integer" && v.as_f64().is_some_and(|f| f.fract() == 0.0 && f.is_finite()))
}

static PATTERNS: LazyLock<RwLock<HashMap<String, Option<Regex>>>> = LazyLock::new(|| RwLock::new(HashMap::new()));

/// Compiled once per process; a pattern that does not compile fails closed.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    if let Some(re) = PATTERNS.read().expect("pattern cache").get(pattern) {
        return re.as_ref().is_some_and(|re| re.is_match(s));
    }
    let re = Regex::new(pattern).ok();
    let ok = re.as_ref().is_some_and(|re| re.is_match(s));
    PATTERNS.write().expect("pattern cache").insert(pattern.to_owned(), re);
    ok
}

fn hostname_ok(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-') && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "email" => s.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && local.len() <= 64 && !local.contains(char::is_whitespace) && domain.contains('.') && hostname_ok(domain)),
        "hostname" => hostname_ok(s),
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "uri" => s
            .split_once("://")
            .is_some_and(|(scheme, rest)| !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) && !rest.is_empty() && !rest.contains(char::is_whitespace)),
        "date" => {
            let b = s.as_bytes();
            b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && s[..4].parse::<u16>().is_ok()
                && s[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
                && s[8..].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        }
        _ => true,
    }
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let mut fail = |message: String| errors.push(FieldError { path: path.to_owned(), message });

    if let Some(t) = schema.get("type") {
        let wanted: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !wanted.is_empty() && !wanted.iter().any(|w| type_matches(w, value)) {
            let shown: Vec<&str> = wanted.iter().copied().filter(|w| *w != "null").collect();
            fail(format!("must be {}, not {}", shown.join(" or "), type_name(value)));
            return;
        }
    }
    if value.is_null() {
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let shown: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        fail(format!("must be one of {}", shown.join(", ")));
    }
    match value {
        Value::String(s) => {
            // One message per field: the first rule it breaks, the most telling first.
            let len = s.chars().count() as u64;
            let min = schema.get("minLength").and_then(Value::as_u64);
            let max = schema.get("maxLength").and_then(Value::as_u64);
            let format = schema.get("format").and_then(Value::as_str);
            let pattern = schema.get("pattern").and_then(Value::as_str);
            if let Some(min) = min.filter(|m| len < *m) {
                fail(if min == 1 { "must not be empty".into() } else { format!("must be at least {min} characters") });
            } else if let Some(max) = max.filter(|m| len > *m) {
                fail(format!("must be at most {max} characters"));
            } else if let Some(f) = format.filter(|f| !format_ok(f, s)) {
                fail(format!("must be a valid {f}"));
            } else if let Some(p) = pattern.filter(|p| !pattern_matches(p, s)) {
                fail(format!("must match {p}"));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                fail(format!("must be at least {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                fail(format!("must be at most {max}"));
            }
        }
        Value::Array(items) => {
            let (min, max) = (schema.get("minItems").and_then(Value::as_u64), schema.get("maxItems").and_then(Value::as_u64));
            if let Some(min) = min.filter(|m| (items.len() as u64) < *m) {
                errors.push(FieldError { path: path.to_owned(), message: format!("must hold at least {min} items") });
            }
            if let Some(max) = max.filter(|m| (items.len() as u64) > *m) {
                errors.push(FieldError { path: path.to_owned(), message: format!("must hold at most {max} items") });
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    errors.push(FieldError { path: join(path, name), message: "is required".into() });
                }
            }
            for (key, v) in map {
                match props.and_then(|p| p.get(key)) {
                    Some(sub) => check(sub, v, &join(path, key), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(FieldError { path: join(path, key), message: "is not a known field".into() });
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        let fits = alternatives.iter().any(|alt| {
            let mut sub = Vec::new();
            check(alt, value, path, &mut sub);
            sub.is_empty()
        });
        if !fits {
            let described: Vec<String> = alternatives
                .iter()
                .map(|alt| match alt.get("required").and_then(Value::as_array) {
                    Some(r) => r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" + "),
                    None => alt.get("format").and_then(Value::as_str).unwrap_or("an alternative").to_owned(),
                })
                .collect();
            errors.push(FieldError { path: path.to_owned(), message: format!("needs one of: {}", described.join(", ")) });
        }
    }
}

#[cfg(test)]
mod storable_tests {
    use super::*;
    use serde_json::json;

    /// Arrays hold as many items as `minItems` and `maxItems` allow, refused by path otherwise
    /// (jsonschema agrees: the differential test holds the bulk import's schema).
    #[test]
    fn arrays_keep_to_their_item_counts() {
        let schema = json!({ "type": "object", "properties": { "list": { "type": "array", "minItems": 1, "maxItems": 2 } } });
        assert!(validate(&schema, &json!({ "list": [1] })).is_empty());
        for bad in [json!({ "list": [] }), json!({ "list": [1, 2, 3] })] {
            let errors = validate(&schema, &bad);
            assert_eq!(errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["list"], "{bad}");
        }
    }

    #[test]
    fn deep_nesting_and_unstorable_numbers_are_refused_by_path() {
        let mut deep = json!("leaf");
        for _ in 0..20 {
            deep = json!({ "a": deep });
        }
        let schema = json!({ "type": "object" });
        let errors = validate(&schema, &json!({ "x": deep, "big": 1e300, "tiny": 1e-200, "ok": 1.5, "n": 18446744073709551615u64 }));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths.len(), 3, "{errors:?}");
        assert!(paths.contains(&"big") && paths.contains(&"tiny"), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("x.a.a")), "{paths:?}");
    }

    /// DynamoDB keeps no map key that is empty: refused by path, at any depth.
    #[test]
    fn a_field_with_an_empty_name_is_refused() {
        let errors = validate(&json!({ "type": "object" }), &json!({ "fields": { "": 1, "ok": { "inner": { "": [] } } } }));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["fields", "fields.ok.inner"], "{errors:?}");
        assert!(!is_storable(&json!({ "": "x" })));
        assert!(is_storable(&json!({ "a": { "b": "" } })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use serde_json::json;

    fn errors(blueprint: &str, action: &str, params: Value) -> Vec<(String, String)> {
        let (_, a) = catalogue().action(blueprint, action).unwrap();
        validate(&a.params, &params).into_iter().map(|e| (e.path, e.message)).collect()
    }

    #[test]
    fn good_params_pass() {
        assert_eq!(errors("web-hosting", "create-account", json!({"email": "a@example.com", "package_name": "basic", "domain": "example.com", "password": null})), vec![]);
        assert_eq!(errors("servers", "create-server", json!({"email": "a@b.io", "label": "web-1", "location": "fsn1", "image": "debian-12", "size": "cx22"})), vec![]);
        assert_eq!(errors("domain-names", "set-glue-record", json!({"sld": "example", "tld": "com", "hostname": "ns1.example.com", "ip_1": "192.0.2.1", "ip_2": "2001:db8::1"})), vec![]);
        assert_eq!(errors("software-licenses", "create-license", json!({"customer_name": "A", "customer_email": "a@b.co", "billing_cycle_months": 12.0})), vec![]);
    }

    #[test]
    fn every_failing_field_is_named() {
        let got =
            errors("web-hosting", "create-account", json!({"email": "not-an-email", "domain": "-bad-.com", "custom_ip": "999.1.1.1", "typo_field": 1, "customer_address": {"country_code": "gb"}}));
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["package_name", "email", "domain", "custom_ip", "typo_field", "customer_address.country_code"], "{got:?}");
        assert!(got.iter().any(|(p, m)| p == "typo_field" && m == "is not a known field"));
        assert!(got.iter().any(|(p, m)| p == "package_name" && m == "is required"));
    }

    #[test]
    fn types_ranges_arrays_and_alternatives_are_checked() {
        let got = errors("domain-names", "renew", json!({"sld": "ex", "tld": "com", "renew_years": 11}));
        assert_eq!(got, vec![("renew_years".into(), "must be at most 10".into())]);
        let got = errors("domain-names", "renew", json!({"sld": "ex", "tld": "com", "renew_years": "2"}));
        assert_eq!(got, vec![("renew_years".into(), "must be integer, not string".into())]);
        let got = errors("servers", "create-server", json!({"email": "a@b.io", "label": "web 1", "location": "x", "image": "y", "memory_mb": 1024}));
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["label", ""], "{got:?}");
        assert!(got[1].1.contains("size, memory_mb + cpu_cores + disk_mb"));
        let got = errors("software-licenses", "sync-tracked-product-quantities", json!({"license_key": "K", "quantities": [{"product_identifier": "a", "quantity": -1}, {}]}));
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["quantities[0].quantity", "quantities[1].product_identifier", "quantities[1].quantity"]);
        let got = errors("web-hosting", "get-info", json!("a string"));
        assert_eq!(got, vec![("".into(), "must be object, not string".into())]);
    }

    #[test]
    fn every_catalogue_pattern_compiles() {
        fn walk(s: &Value, out: &mut Vec<String>) {
            match s {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|v| walk(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut patterns = Vec::new();
        for (_, a) in catalogue().actions() {
            walk(&a.params, &mut patterns);
            walk(&a.result, &mut patterns);
        }
        for p in patterns {
            assert!(Regex::new(&p).is_ok(), "pattern {p} does not compile");
        }
    }

    #[test]
    fn details_list_fields_by_path() {
        let d = to_details(&[FieldError { path: "a.b".into(), message: "is required".into() }]);
        assert_eq!(d, json!({"fields": {"a.b": "is required"}}));
    }
}
