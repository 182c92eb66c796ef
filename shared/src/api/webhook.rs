//! `POST /webhooks/billing`: a billing system's lifecycle event, checked and queued.
//!
//! The raw body's HMAC-SHA256 (`X-Signature: sha256=<hex>`, WEBHOOK_SECRET) is verified in
//! constant time before anything else; the body is validated; the contract product must exist
//! (or the event must say how to make it), and an event for a known product may not name the
//! service it acts on; the secret fields of its data are sealed; the event id is claimed with a
//! conditional put (compared in canonical form, holding the sealed event), then the event goes on
//! the lifecycle FIFO queue (group = contract product, deduplication id = event id). The same
//! event again gets the same answer and is not queued twice; a claim left unqueued is queued when
//! the event comes again, or by the worker's sweep.

use aws_lc_rs::hmac;
use serde_json::{Value, json};

use crate::adapters::dynamodb::events::{Claim, EventStore};

use crate::adapters::dynamodb::products::ProductStore;
use crate::api::{ApiError, HttpRequest, HttpResponse, json_body};
use crate::catalogue::validate::{to_details, validate};
use crate::domain::ProductStatus;
use crate::domain::ids::ContractProductId;
use crate::domain::lifecycle::{EventRecord, EventStatus};
use crate::domain::time::now_rfc3339;
use crate::engine::Engine;
use crate::engine::lifecycle::{event_schema, sealed_event};

#[derive(Clone)]
pub struct WebhookApi {
    key: hmac::Key,
    events: EventStore,
    products: ProductStore,
    /// The lifecycle queue.
    queue: std::sync::Arc<dyn crate::ports::Mailbox>,
    /// Seals the secret fields of an event's `data.params` and `data.provision_fields` before it
    /// goes on the queue (and so into its dead-letter queue); checks an order before it is
    /// queued ([`Engine::check_order`]).
    engine: std::sync::Arc<Engine>,
}

/// The canonical text of a JSON value: object keys sorted at every depth, no whitespace. A
/// billing system that sends the same event again with its keys in another order or spaced
/// otherwise sends the same event.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&o[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// What a claim holds of its event: the SHA-256 of its canonical text.
pub fn event_hash(event: &Value) -> String {
    sha256_hex(canonical(event).as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl WebhookApi {
    pub fn new(secret: &[u8], events: EventStore, products: ProductStore, queue: std::sync::Arc<dyn crate::ports::Mailbox>, engine: std::sync::Arc<Engine>) -> Self {
        WebhookApi { engine, key: hmac::Key::new(hmac::HMAC_SHA256, secret), events, products, queue }
    }

    fn verify(&self, request: &HttpRequest) -> Result<(), ApiError> {
        let refused = || ApiError::Unauthenticated("missing or wrong X-Signature".into());
        let header = request.header("x-signature").ok_or_else(refused)?;
        let tag = header.strip_prefix("sha256=").and_then(hex_decode).ok_or_else(refused)?;
        hmac::verify(&self.key, request.body.as_deref().unwrap_or_default(), &tag).map_err(|_| refused())
    }

    async fn enqueue(&self, event: &Value, cp_id: &str, event_id: &str) -> Result<(), ApiError> {
        self.queue.send(crate::ports::QueueName::Lifecycle, &event.to_string(), Some((cp_id, event_id)), 0).await.map_err(|e| ApiError::internal(format!("queueing event {event_id}: {e}")))?;
        // Only while still received: a worker may have finished it already.
        Ok(self.events.mark_queued(event_id).await?)
    }

    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, ApiError> {
        request.route("webhook")?;
        self.verify(&request)?;
        let event = json_body(&request)?;
        let errors = validate(&event_schema(), &event);
        if !errors.is_empty() {
            return Err(ApiError::validation("the event has invalid fields", to_details(&errors)));
        }
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let queued = sealed_event(&event, self.engine.secrets());
        let raw_cp = event["contract_product_id"].as_str().unwrap_or_default();
        let cp_id = ContractProductId::parse_given(raw_cp).map_err(|e| ApiError::validation("the event has invalid fields", json!({ "fields": { "contract_product_id": e } })))?;
        let known = self.products.known_blueprint(&cp_id).await?;
        let unknown = known.is_none();
        let blueprint = known.flatten().and_then(|b| crate::catalogue::catalogue().blueprint(&b));
        crate::engine::lifecycle::check_event_data(&kind, blueprint, &event["data"])?;
        if unknown {
            let creates = kind == "order.paid" && event["data"]["product_id"].is_string() && event["data"]["client_id"].is_string();
            if !creates {
                return Err(ApiError::NotFound(format!("no contract product {raw_cp:?} (an order.paid event with data.product_id and data.client_id makes it)")));
            }
        }
        if kind == "order.paid" {
            // An order that cannot run is refused now, naming why, rather than accepted and
            // failed later: the product to make, its configuration, the setup's fields.
            let pending = if unknown { None } else { self.products.contract_product(&cp_id).await?.filter(|cp| cp.status == ProductStatus::Pending) };
            if unknown || pending.is_some() {
                self.engine.check_order(&id, cp_id.as_str(), pending, &event["data"]).await?;
            }
        }
        let now = now_rfc3339();
        let record = EventRecord {
            id: id.clone(),
            kind,
            contract_product_id: cp_id.to_string(),
            body_sha256: event_hash(&event),
            status: EventStatus::Received,
            log_ids: Vec::new(),
            error: None,
            received_at: now.clone(),
            updated_at: now,
            retries: 0,
        };
        let queued_text = queued.to_string();
        // Records claimed before the canonical form held the raw body's hash: both count.
        let raw_sha256 = sha256_hex(request.body.as_deref().unwrap_or_default());
        let status = match self.events.claim(&record, Some(&queued_text)).await? {
            Claim::New => {
                if unknown {
                    // Known from now on: events sent right after the order are accepted and run after it.
                    self.products.expect(&cp_id, &id).await?;
                }
                self.enqueue(&queued, cp_id.as_str(), &id).await?;
                tracing::info!(event_id = %id, contract_product_id = %cp_id, "lifecycle event queued");
                EventStatus::Queued
            }
            Claim::Existing(held, _) if held.body_sha256 != record.body_sha256 && held.body_sha256 != raw_sha256 => {
                return Err(ApiError::Conflict(format!("event id {id} was used for another event")));
            }
            Claim::Existing(held, stored) if held.status == EventStatus::Received => {
                // Claimed before, but queueing failed: queue it now (SQS drops a duplicate), as
                // it was claimed (the stored event), else as sent now.
                if unknown {
                    self.products.expect(&cp_id, &id).await?;
                }
                let stored: Option<Value> = stored.and_then(|b| serde_json::from_str(&b).ok());
                self.enqueue(stored.as_ref().unwrap_or(&queued), cp_id.as_str(), &id).await?;
                EventStatus::Queued
            }
            Claim::Existing(held, _) => held.status,
        };
        HttpResponse::json(202, &json!({ "event_id": id, "status": status }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::sign;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(hex_decode("0aff"), Some(vec![10, 255]));
        assert_eq!(hex_decode("0g"), None);
        assert_eq!(hex_decode("abc"), None);
    }

    #[test]
    fn the_canonical_form_ignores_key_order_and_spacing_but_not_values() {
        let a: Value = serde_json::from_str(r#"{"id":"e-1","data":{"b":1,"a":[{"y":2,"x":1}]},"type":"invoice.paid"}"#).unwrap();
        let b: Value = serde_json::from_str("{ \"type\": \"invoice.paid\",\n \"data\": { \"a\": [ { \"x\": 1, \"y\": 2 } ], \"b\": 1 }, \"id\": \"e-1\" }").unwrap();
        assert_eq!(event_hash(&a), event_hash(&b));
        let c: Value = serde_json::from_str(r#"{"id":"e-1","data":{"b":2,"a":[{"y":2,"x":1}]},"type":"invoice.paid"}"#).unwrap();
        assert_ne!(event_hash(&a), event_hash(&c));
    }
}
