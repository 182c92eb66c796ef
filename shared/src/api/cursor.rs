//! Opaque page cursors: where a store's page ended ([`PageKey`]: its key attributes, strings
//! only, as all our keys are), plus an optional marker of the query's own (the day partition of
//! a system-wide log query), as unpadded base64url JSON. A cursor that does not decode is a 400.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::domain::Invalid;

pub use crate::ports::PageKey as Key;

pub fn bad_cursor(why: &str) -> Invalid {
    Invalid::new("the query has invalid parameters", json!({ "fields": { "cursor": why } }))
}

/// A cursor for the next page, if there is one.
pub fn encode(key: Option<&Key>, marker: Option<&str>) -> Option<String> {
    let key = key.filter(|k| !k.is_empty());
    if key.is_none() && marker.is_none() {
        return None;
    }
    let k: Option<Map<String, Value>> = key.map(|key| key.iter().map(|(n, v)| (n.clone(), Value::String(v.clone()))).collect());
    Some(URL_SAFE_NO_PAD.encode(json!({ "k": k, "d": marker }).to_string()))
}

/// The key and marker of a cursor. `marker_alone`: whether a cursor may carry a marker and no key.
pub fn decode(raw: &str, marker_alone: bool) -> Result<(Option<Key>, Option<String>), Invalid> {
    let invalid = || bad_cursor("is not a cursor this API gave");
    let decoded: Value = URL_SAFE_NO_PAD.decode(raw.as_bytes()).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(invalid)?;
    let marker = decoded["d"].as_str().map(String::from);
    let key = match &decoded["k"] {
        Value::Null if marker_alone && marker.is_some() => None,
        Value::Object(k) if !k.is_empty() && k.values().all(Value::is_string) => Some(k.iter().map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_owned())).collect()),
        _ => return Err(invalid()),
    };
    Ok((key, marker))
}

/// The key of a cursor, which must name `pk_name = pk` (a cursor of another query is refused).
pub fn decode_for(raw: &str, pk_name: &str, pk: &str) -> Result<Key, Invalid> {
    let (key, _) = decode(raw, false)?;
    let key = key.ok_or_else(|| bad_cursor("is not a cursor this API gave"))?;
    if key.get(pk_name).map(String::as_str) != Some(pk) {
        return Err(bad_cursor("does not belong to this query"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let key: Key = [("pk".to_string(), "cp-1".to_string()), ("sk".to_string(), "2026#log-1".to_string())].into();
        let c = encode(Some(&key), None).unwrap();
        assert_eq!(decode_for(&c, "pk", "cp-1").unwrap(), key);
        assert_eq!(decode_for(&c, "pk", "cp-2").unwrap_err().details["fields"]["cursor"], "does not belong to this query");
        for bad in ["", "%%%", "bm90LWpzb24", &URL_SAFE_NO_PAD.encode(r#"{"k":{"pk":1}}"#)] {
            assert_eq!(decode(bad, false).unwrap_err().details["fields"]["cursor"], "is not a cursor this API gave", "{bad}");
        }
        let day = encode(None, Some("2026-11-23")).unwrap();
        assert_eq!(decode(&day, true).unwrap(), (None, Some("2026-11-23".into())));
        assert!(decode(&day, false).is_err());
        assert_eq!(encode(None, None), None);
    }
}
