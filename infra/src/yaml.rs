//! A small, deterministic YAML writer for JSON values: block style, keys in insertion order,
//! strings plain where YAML reads them back as the same string and JSON-quoted otherwise (a JSON
//! string is a valid YAML double-quoted scalar). CloudFormation intrinsics are written in their
//! long form (`Ref`, `Fn::GetAtt` ...), so the output needs no YAML tags.

use serde_json::Value;

pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn indent(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(map: &serde_json::Map<String, Value>, level: usize, out: &mut String) {
    for (key, value) in map {
        indent(level, out);
        out.push_str(&string_text(key));
        out.push(':');
        write_child(value, level, out);
    }
}

fn write_seq(items: &[Value], level: usize, out: &mut String) {
    for item in items {
        indent(level, out);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first entry shares the dash's line; the rest align under it.
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(level + 2, out);
                    }
                    out.push_str(&string_text(key));
                    out.push(':');
                    write_child(value, level + 2, out);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(inner, level + 2, out);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

/// Writes what follows `key:`.
fn write_child(value: &Value, level: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, level + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, level + 2, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

const RESERVED: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];

fn string_text(s: &str) -> String {
    let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '$' || c == '_');
    let rest_ok = s.chars().all(|c| c.is_ascii_alphanumeric() || " _-./:$(){}*+,".contains(c));
    let plain = first_ok && rest_ok && !s.ends_with(' ') && !s.ends_with(':') && !s.contains(": ") && !s.contains(" #") && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_owned() } else { Value::String(s.to_owned()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let v = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Plain": "provided.al2023",
            "Tricky": ["yes", "No", "", " lead", "a: b", "x #y", "-dash", "1.5", "line\nbreak", "quote\"s", "ünï"],
            "Nested": {"List": [{"A": 1, "B": [true, null]}, [1, 2], {}], "Empty": [], "Sub": {"Fn::Sub": "${AWS::StackName}-main"}},
            "Path": "/contract-products/{id}"
        });
        let text = to_yaml(&v);
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, v, "{text}");
        assert!(text.contains("Plain: provided.al2023\n"));
        assert!(text.contains("Path: /contract-products/{id}\n"));
    }
}
