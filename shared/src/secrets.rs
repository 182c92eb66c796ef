//! Secrets at rest and in sight. Fields a schema marks `x-secret` are sealed with AES-256-GCM
//! before they are stored, and masked wherever a value is shown (responses, logs, debug data).
//! Which fields are secret comes from the schemas alone: no code names a field to hide.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::catalogue::schema::SECRET;

/// What a masked secret reads as.
pub const MASK: &str = "********";
/// The key under which a sealed value is stored: `{"$sealed": "v1:<base64>"}`.
pub const SEALED: &str = "$sealed";
const VERSION: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("neither SECRETS_KEY_PARAMETER nor SECRETS_KEY is set")]
    MissingKey,
    #[error("the secrets key parameter cannot be read: {0}")]
    Parameter(String),
    #[error("the secrets key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a sealed value does not open with this key (wrong key, or moved between records)")]
    Tampered,
}

/// The AES-256-GCM key that seals secrets at rest. Debug never shows it.
pub struct SecretBox {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    pub fn from_key(raw: &[u8]) -> Result<Self, SecretsError> {
        let unbound = UnboundKey::new(&AES_256_GCM, raw).map_err(|_| SecretsError::BadKey)?;
        Ok(SecretBox { key: LessSafeKey::new(unbound), random: SystemRandom::new() })
    }

    pub fn from_base64(encoded: &str) -> Result<Self, SecretsError> {
        let raw = STANDARD.decode(encoded.trim()).map_err(|_| SecretsError::BadKey)?;
        if raw.len() != 32 {
            return Err(SecretsError::BadKey);
        }
        Self::from_key(&raw)
    }

    /// SECRETS_KEY: 32 bytes, base64 (tests and tools; functions use [`crate::adapters::ssm::secret_box`]).
    pub fn from_env() -> Result<Self, SecretsError> {
        Self::from_base64(&std::env::var("SECRETS_KEY").map_err(|_| SecretsError::MissingKey)?)
    }

    /// Seals `plaintext`, bound to `context` (the record and field it belongs to), so a sealed
    /// value copied to another record or field does not open.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).expect("the system random source works");
        let mut data = plaintext.as_bytes().to_vec();
        self.key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data).expect("AES-GCM sealing of a bounded buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretsError> {
        let raw = sealed.strip_prefix(VERSION).ok_or(SecretsError::Malformed)?;
        let mut data = STANDARD.decode(raw).map_err(|_| SecretsError::Malformed)?;
        if data.len() < NONCE_LEN {
            return Err(SecretsError::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&data[..NONCE_LEN]).map_err(|_| SecretsError::Malformed)?;
        let mut body = data.split_off(NONCE_LEN);
        let plain = self.key.open_in_place(nonce, Aad::from(context.as_bytes()), &mut body).map_err(|_| SecretsError::Tampered)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SecretsError::Malformed)
    }
}

/// Applies `f` to every value of `value` that `schema` marks secret, through nested objects and
/// arrays. `f` gets the field's dot path and the value, and returns the replacement.
pub fn map_secrets<E>(schema: &Value, value: &Value, f: &mut impl FnMut(&str, &Value) -> Result<Value, E>) -> Result<Value, E> {
    fn walk<E>(schema: &Value, value: &Value, path: &str, f: &mut impl FnMut(&str, &Value) -> Result<Value, E>) -> Result<Value, E> {
        if schema.get(SECRET).and_then(Value::as_bool) == Some(true) && !value.is_null() {
            return f(path, value);
        }
        match value {
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let mut out = Map::new();
                for (k, v) in map {
                    let sub = props.and_then(|p| p.get(k));
                    let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    out.insert(
                        k.clone(),
                        match sub {
                            Some(sub) => walk(sub, v, &child, f)?,
                            None => v.clone(),
                        },
                    );
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => match schema.get("items") {
                Some(item_schema) => items.iter().enumerate().map(|(i, v)| walk(item_schema, v, &format!("{path}[{i}]"), f)).collect::<Result<Vec<_>, _>>().map(Value::Array),
                None => Ok(value.clone()),
            },
            other => Ok(other.clone()),
        }
    }
    walk(schema, value, "", f)
}

/// The value with every secret field shown as `********`.
pub fn mask(schema: &Value, value: &Value) -> Value {
    map_secrets::<std::convert::Infallible>(schema, value, &mut |_, _| Ok(Value::String(MASK.into()))).unwrap_or_else(|e| match e {})
}

/// The value with every secret field sealed; `context` names the record (each field's path is
/// added to it).
pub fn seal(schema: &Value, value: &Value, secrets: &SecretBox, context: &str) -> Value {
    let mut seal_one = |path: &str, v: &Value| -> Result<Value, std::convert::Infallible> {
        if v.get(SEALED).is_some() {
            return Ok(v.clone()); // already sealed (an unchanged field of a PATCH)
        }
        let plain = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(serde_json::json!({ SEALED: secrets.seal(&plain, &format!("{context}#{path}")) }))
    };
    map_secrets(schema, value, &mut seal_one).unwrap_or_else(|e| match e {})
}

/// The sealing context of a record's provision fields (`kind` is `cp` or `product`).
pub fn provision_context(kind: &str, id: &str) -> String {
    format!("{kind}:{id}#provision_fields")
}

/// The value with every sealed secret opened again (for the provider call only).
pub fn open(schema: &Value, value: &Value, secrets: &SecretBox, context: &str) -> Result<Value, SecretsError> {
    map_secrets(schema, value, &mut |path, v| match v.get(SEALED).and_then(Value::as_str) {
        Some(sealed) => secrets.open(sealed, &format!("{context}#{path}")).map(Value::String),
        None => Ok(v.clone()),
    })
}

/// The values of a value's secret fields (per its schema), as strings.
pub fn secret_values(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let _ = map_secrets::<std::convert::Infallible>(schema, value, &mut |_, v| {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Null => {}
            other => out.push(other.to_string()),
        }
        Ok(v.clone())
    });
    out
}

/// Every string inside `value` with each of `needles` replaced by the mask: the last guard for
/// free-form data (a third party's raw answer echoing a token). Needles shorter than 4
/// characters are left alone; they would mask ordinary words.
pub fn scrub(value: &Value, needles: &[String]) -> Value {
    let needles: Vec<&String> = needles.iter().filter(|n| n.chars().count() >= 4).collect();
    if needles.is_empty() {
        return value.clone();
    }
    fn walk(v: &Value, needles: &[&String]) -> Value {
        match v {
            Value::String(s) => {
                let mut out = s.clone();
                for n in needles {
                    if out.contains(n.as_str()) {
                        out = out.replace(n.as_str(), MASK);
                    }
                }
                Value::String(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|i| walk(i, needles)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, i)| (k.clone(), walk(i, needles))).collect()),
            other => other.clone(),
        }
    }
    walk(value, &needles)
}

/// The signature a body must carry: `sha256=` and the hex HMAC-SHA256 of the raw body.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret), body);
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The stored form of an outgoing event handler's signing secret: a secret field, sealed to the
/// handler.
pub fn handler_secret_schema() -> Value {
    crate::catalogue::schema::params().opt("secret", crate::catalogue::schema::secret()).build()
}

/// The plain signing secret of a handler (`sealed`: as stored, sealed to `handler_id`).
pub fn open_handler_secret(sealed: &Value, secrets: &SecretBox, handler_id: &str) -> Result<String, SecretsError> {
    let opened = open(&handler_secret_schema(), &serde_json::json!({ "secret": sealed }), secrets, handler_id)?;
    Ok(opened["secret"].as_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::schema::{params, secret, string};
    use serde_json::json;

    fn key() -> SecretBox {
        SecretBox::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let b = key();
        let sealed = b.seal("hunter2", "cfg-1#password");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, b.seal("hunter2", "cfg-1#password"), "a fresh nonce each time");
        assert_eq!(b.open(&sealed, "cfg-1#password").unwrap(), "hunter2");
        assert!(matches!(b.open(&sealed, "cfg-2#password"), Err(SecretsError::Tampered)));
        let other = SecretBox::from_key(&[9u8; 32]).unwrap();
        assert!(matches!(other.open(&sealed, "cfg-1#password"), Err(SecretsError::Tampered)));
        assert!(matches!(b.open("v1:!!", "x"), Err(SecretsError::Malformed)));
        assert!(matches!(SecretBox::from_base64("c2hvcnQ="), Err(SecretsError::BadKey)));
        assert_eq!(format!("{b:?}"), "SecretBox(<key redacted>)");
    }

    #[test]
    fn schemas_drive_sealing_masking_and_opening() {
        let schema = params().req("hostname", string()).req("api_token", secret()).opt("extra", params().opt("password", secret()).build()).build();
        let value = json!({"hostname": "whm.example.com", "api_token": "tok-123", "extra": {"password": "pw"}});
        let sealed = seal(&schema, &value, &key(), "cfg-1");
        let text = sealed.to_string();
        assert!(!text.contains("tok-123") && !text.contains("\"pw\""), "{text}");
        assert_eq!(sealed["hostname"], "whm.example.com");
        assert_eq!(mask(&schema, &sealed), json!({"hostname": "whm.example.com", "api_token": MASK, "extra": {"password": MASK}}));
        assert_eq!(open(&schema, &sealed, &key(), "cfg-1").unwrap(), value);
        assert_eq!(seal(&schema, &sealed, &key(), "cfg-1"), sealed, "sealing twice changes nothing");
        assert!(open(&schema, &sealed, &key(), "cfg-2").is_err());
    }

    #[test]
    fn secret_values_are_scrubbed_from_free_form_data() {
        let schema = params().req("api_token", secret()).opt("x", secret()).build();
        let needles = secret_values(&schema, &json!({"api_token": "tok-123456", "x": "ab"}));
        assert_eq!(needles, ["tok-123456", "ab"]);
        let raw = json!({"headers": ["Authorization: whm root:tok-123456"], "body": {"note": "ab stays (too short)"}});
        assert_eq!(scrub(&raw, &needles), json!({"headers": ["Authorization: whm root:********"], "body": {"note": "ab stays (too short)"}}));
    }

    #[test]
    fn catalogue_params_are_masked_by_their_schema() {
        let (_, a) = crate::catalogue::catalogue().action("web-hosting", "change-password").unwrap();
        let masked = mask(&a.params, &json!({"username": "bob", "password": "s3cret!"}));
        assert_eq!(masked, json!({"username": "bob", "password": MASK}));
    }
}
