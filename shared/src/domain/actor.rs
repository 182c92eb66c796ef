//! Who runs something: a caller of the API (from a verified token), the system for a billing
//! event, or the recorded actor of work started earlier.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Client,
}

/// A client's id as the billing system knows it. Parsed, never trusted raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// Who is calling, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin { subject: String },
    Client { subject: String, client_id: ClientId },
}

/// Who runs an action.
#[derive(Debug, Clone)]
pub enum Actor {
    Caller(Caller),
    /// The lifecycle worker, for a billing event.
    System(String),
    /// The worker finishing a long-running action someone started: their description is kept.
    Recorded(Value),
}

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty() && raw.len() <= 128 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c));
        if ok { Ok(ClientId(raw.to_owned())) } else { Err(format!("invalid client_id {raw:?}")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Caller {
    pub fn subject(&self) -> &str {
        match self {
            Caller::Admin { subject } | Caller::Client { subject, .. } => subject,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Caller::Admin { .. } => Role::Admin,
            Caller::Client { .. } => Role::Client,
        }
    }
}

impl Actor {
    pub fn describe(&self) -> Value {
        match self {
            Actor::Caller(Caller::Admin { subject }) => json!({ "role": "admin", "id": subject }),
            Actor::Caller(Caller::Client { subject, client_id }) => json!({ "role": "client", "id": subject, "client_id": client_id }),
            Actor::System(source) => json!({ "role": "system", "id": source }),
            Actor::Recorded(who) => who.clone(),
        }
    }
}
