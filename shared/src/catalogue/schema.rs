//! A small vocabulary for the catalogue's JSON Schemas (draft 2020-12).
//!
//! Field names follow the reference provisioning framework. Two conventions hold everywhere:
//! - an optional field also accepts `null` (the framework's "optional or nullable");
//! - a secret field (passwords, auth codes, tokens) carries `"x-secret": true`. Redaction of logs,
//!   debug data and responses is driven by that marker, never by field names in code.

use serde_json::{Map, Value, json};

/// The marker every secret field carries.
pub const SECRET: &str = "x-secret";
/// A settings field that decides where a configuration's credentials are sent (a host, a port, a
/// base URL, the sandbox switch, the CA trusted): moving it needs every secret given again.
pub const ADDRESS: &str = "x-address";

/// `schema` marked as an address field (see [`ADDRESS`]).
pub fn address(mut schema: Value) -> Value {
    schema[ADDRESS] = Value::Bool(true);
    schema
}

/// The top-level fields a schema marks as addresses.
pub fn address_fields(schema: &Value) -> Vec<String> {
    schema.get("properties").and_then(Value::as_object).into_iter().flatten().filter(|(_, sub)| sub.get(ADDRESS).and_then(Value::as_bool) == Some(true)).map(|(k, _)| k.clone()).collect()
}

pub fn string() -> Value {
    json!({"type": "string", "minLength": 1})
}

pub fn string_max(max: u32) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max})
}

pub fn pattern(re: &str) -> Value {
    json!({"type": "string", "pattern": re})
}

pub fn email() -> Value {
    json!({"type": "string", "format": "email", "maxLength": 254})
}

pub fn url() -> Value {
    json!({"type": "string", "format": "uri"})
}

pub fn ip() -> Value {
    json!({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
}

/// A domain name (the framework's `domain_name` rule).
pub fn domain() -> Value {
    json!({"type": "string", "format": "hostname", "maxLength": 253,
           "pattern": "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9-]{2,63}$"})
}

/// The framework's date-time string, `Y-m-d H:i:s`.
pub fn datetime() -> Value {
    json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$",
           "description": "date and time as Y-m-d H:i:s (UTC)"})
}

pub fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

pub fn country_code() -> Value {
    json!({"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"})
}

pub fn currency() -> Value {
    json!({"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"})
}

/// Letters, digits, dots, dashes and underscores (the framework's `alpha_dash_dot`).
pub fn alpha_dash_dot() -> Value {
    json!({"type": "string", "pattern": "^[A-Za-z0-9._-]+$"})
}

pub fn secret() -> Value {
    json!({"type": "string", "minLength": 1, "format": "password", SECRET: true})
}

/// A secret string of a shape (a URL that carries a ticket or a token): masked as [`secret`].
pub fn secret_matching(pattern: &str) -> Value {
    json!({"type": "string", "pattern": pattern, SECRET: true})
}

pub fn integer() -> Value {
    json!({"type": "integer"})
}

pub fn int_range(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

pub fn int_min(min: i64) -> Value {
    json!({"type": "integer", "minimum": min})
}

pub fn number() -> Value {
    json!({"type": "number"})
}

pub fn boolean() -> Value {
    json!({"type": "boolean"})
}

pub fn one_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

pub fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// A free-form key/value object (the framework's `arr`).
pub fn any_object() -> Value {
    json!({"type": "object"})
}

/// Adds `null` to a schema's accepted types.
pub fn nullable(mut schema: Value) -> Value {
    if let Some(Value::String(t)) = schema.get("type").cloned() {
        schema["type"] = json!([t, "null"]);
    }
    schema
}

/// An object schema under construction.
#[derive(Debug, Clone)]
pub struct Obj {
    properties: Map<String, Value>,
    required: Vec<String>,
    closed: bool,
    extra: Map<String, Value>,
}

/// Parameters: unknown fields are refused, so a typo never passes silently.
pub fn params() -> Obj {
    Obj { properties: Map::new(), required: Vec::new(), closed: true, extra: Map::new() }
}

/// Results: third parties may add fields; the ones named here are the contract.
pub fn result() -> Obj {
    Obj { closed: false, ..params() }
}

impl Obj {
    pub fn req(mut self, name: &str, schema: Value) -> Self {
        self.properties.insert(name.to_owned(), schema);
        self.required.push(name.to_owned());
        self
    }

    pub fn opt(mut self, name: &str, schema: Value) -> Self {
        self.properties.insert(name.to_owned(), nullable(schema));
        self
    }

    /// At least one of the named fields must be present.
    pub fn any_required(mut self, groups: &[&[&str]]) -> Self {
        let alternatives: Vec<Value> = groups.iter().map(|g| json!({"required": g})).collect();
        self.extra.insert("anyOf".into(), Value::Array(alternatives));
        self
    }

    /// Every field of `other`, with its required-ness.
    pub fn merge(mut self, other: Obj) -> Self {
        for (name, schema) in other.properties {
            self.properties.insert(name, schema);
        }
        for name in other.required {
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
        self
    }

    pub fn build(self) -> Value {
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(self.properties));
        if !self.required.is_empty() {
            schema.insert("required".into(), json!(self.required));
        }
        schema.insert("additionalProperties".into(), json!(!self.closed));
        schema.extend(self.extra);
        Value::Object(schema)
    }
}

impl From<Obj> for Value {
    fn from(obj: Obj) -> Value {
        obj.build()
    }
}

/// Paths (dot-separated) of every field marked secret in a schema, through nested objects
/// and arrays (`[]` stands for any element).
pub fn secret_paths(schema: &Value) -> Vec<String> {
    fn walk(schema: &Value, prefix: &str, out: &mut Vec<String>) {
        if schema.get(SECRET).and_then(Value::as_bool) == Some(true) {
            out.push(prefix.to_owned());
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                walk(sub, &path, out);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(items, &format!("{prefix}[]"), out);
        }
    }
    let mut out = Vec::new();
    walk(schema, "", &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_accept_null_and_params_are_closed() {
        let s = params().req("a", string()).opt("b", integer()).build();
        assert_eq!(s["required"], json!(["a"]));
        assert_eq!(s["properties"]["b"]["type"], json!(["integer", "null"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(result().build()["additionalProperties"], json!(true));
    }

    #[test]
    fn secret_paths_reach_nested_fields() {
        let s = params().req("password", secret()).opt("inner", params().opt("token", secret()).build()).opt("list", array(params().req("pw", secret()).build())).build();
        assert_eq!(secret_paths(&s), vec!["inner.token", "list[].pw", "password"]);
    }
}
