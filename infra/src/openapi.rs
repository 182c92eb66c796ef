//! openapi.yaml, generated from the same route table as template.yaml and from the catalogue, so
//! that what a generated client or an API fuzzer reads is what the functions do: each route's
//! real statuses, its path and query parameters with their limits, request bodies as a caller
//! sends them, response models, links from what a create makes to the routes that use it, and
//! the security of each route.

use serde_json::{Map, Value, json};
use shared::api::routes::{ApiRoute, ROUTES};
use shared::catalogue::catalogue;
use shared::catalogue::example::example;

/// The error codes of API.md and their statuses (shared::api::error is the one mapping).
const ERRORS: [(u16, &str, &str); 11] = [
    (400, "validation_failed", "The request is invalid (a body that is not UTF-8 JSON, a field or query parameter that fails its schema); details.fields names each"),
    (401, "unauthenticated", "No valid credentials: a missing, expired or wrongly signed bearer token (the webhook: a bad X-Signature)"),
    (403, "forbidden", "The caller may not do this (a client on an admin route, or on an action not open to clients)"),
    (404, "not_found", "No such record, or one the caller may not see"),
    (405, "method_not_allowed", "A known path asked with a method it does not answer; the Allow header lists those it does"),
    (409, "conflict", "A conflict (the id or service identifier is taken, a record changed meanwhile) or invalid_state (the contract product's status does not allow the action)"),
    (413, "payload_too_large", "The body is over the limit"),
    (500, "internal", "Something broke inside; nothing internal is in the message"),
    (502, "provider_error", "The third party refused or failed; the run is logged (log_id)"),
    (
        503,
        "provider_unavailable",
        "The third party is not called now: its configuration's circuit breaker is open, or it is at its limits (calls at once, calls a second); nothing was sent. Retry-After says when to try again",
    ),
    (504, "provider_timeout", "The third party did not answer in time; the run is logged (log_id)"),
];

fn error_schema() -> Value {
    // invalid_state shares 409 with conflict.
    let codes: Vec<&str> = ERRORS.iter().map(|(_, code, _)| *code).chain(["invalid_state"]).collect();
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": { "type": "string", "enum": codes },
                    "message": { "type": "string" },
                    "details": { "type": "object", "properties": {
                        "request_id": { "type": "string" },
                        "fields": { "type": "object", "description": "the invalid fields, each with what is wrong", "additionalProperties": true }
                    }}
                }
            },
            "log_id": { "type": "string", "description": "present where an action ran" }
        }
    })
}

fn string_enum(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

fn product_status() -> Value {
    string_enum(&["pending", "active", "suspended", "terminated", "failed"])
}

fn timestamp() -> Value {
    json!({ "type": "string", "description": "RFC 3339 UTC" })
}

/// An object whose named fields are all present; other fields may follow.
fn model(properties: Value) -> Value {
    let required: Vec<&String> = properties.as_object().map(|p| p.keys().collect()).unwrap_or_default();
    json!({ "type": "object", "required": required, "properties": properties })
}

fn list_of(item: &str) -> Value {
    json!({ "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } } } })
}

fn page_of(item: &str) -> Value {
    json!({ "type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } },
        "next_cursor": { "type": ["string", "null"], "description": "give it as `cursor` for the next page; null on the last" }
    }})
}

fn blueprint_schema() -> Value {
    json!({
        "type": "object",
        "required": ["id", "name", "description", "actions", "providers"],
        "properties": {
            "id": string_enum(&catalogue().blueprint_ids()),
            "name": { "type": "string" },
            "description": { "type": "string" },
            "framework_category": { "type": "string" },
            "service_identifier": { "type": "string" },
            "identifier_fields": { "type": "array", "items": { "type": "string" } },
            "providers": { "type": "array", "items": { "type": "object", "required": ["id", "name", "settings"], "properties": {
                "id": string_enum(&shared::providers::provider_ids()),
                "name": { "type": "string" },
                "description": { "type": "string" },
                "settings": { "type": "object", "description": "JSON Schema of a configuration's settings; secret fields carry x-secret" },
                "supported_actions": { "type": "array", "items": { "type": "string" } }
            }}},
            "actions": { "type": "array", "items": {
                "type": "object",
                "required": ["id", "name", "description", "client", "long_running", "params", "request", "result"],
                "properties": {
                    "id": { "type": "string" },
                    "name": { "type": "string" },
                    "description": { "type": "string" },
                    "framework_function": { "type": ["string", "null"] },
                    "client": { "type": "boolean", "description": "the owning client may run it" },
                    "long_running": { "type": "boolean", "description": "answered 202 and finished by a worker" },
                    "moves_to": { "oneOf": [product_status(), { "type": "null" }] },
                    "allowed_from": { "type": "array", "items": product_status() },
                    "params": { "type": "object", "description": "JSON Schema of the parameters, as the engine validates them once filled from the contract product" },
                    "request": { "type": "object", "description": "JSON Schema of what a caller sends as `params` (this action's request in this document): the engine-filled fields left out; x-required-after-filling names what must be there once filled" },
                    "result": { "type": "object", "description": "JSON Schema of the result data" }
                }
            }}
        }
    })
}

/// The bulk actions' and drift reports' schemas (apart: one json! of every schema is past the
/// macro's recursion).
fn with_bulk_schemas(mut schemas: Value) -> Value {
    let bulk = json!({
        "BulkAction": { "type": "object", "required": ["id", "blueprint", "action", "params", "selection", "status", "actor", "created_at", "updated_at", "size"], "properties": {
            "id": { "type": "string" }, "blueprint": { "type": "string" }, "action": { "type": "string" },
            "params": { "type": "object", "description": "the params every item runs with; secrets masked" },
            "selection": { "type": "object", "description": "{ids: [...]} or {filter: {configuration_id, status, client_id, blueprint}}" },
            "status": string_enum(&["planning", "dispatching", "dispatched", "cancelled"]),
            "actor": { "type": "object" }, "created_at": timestamp(), "updated_at": timestamp(),
            "size": { "type": "integer", "minimum": 0, "description": "contract products planned so far, then the job's size" },
            "note": { "type": "string" },
            "state": string_enum(&["planning", "dispatching", "running", "finished", "cancelled"]),
            "progress": { "type": "object", "required": ["queued", "running", "done", "failed", "cancelled"], "properties": {
                "queued": { "type": "integer" }, "running": { "type": "integer" }, "done": { "type": "integer" }, "failed": { "type": "integer" }, "cancelled": { "type": "integer" }
            }},
            "items": { "$ref": "#/components/schemas/BulkItems" },
            "next_cursor": { "type": ["string", "null"] }
        }},
        "BulkItems": { "type": "array", "items": { "type": "object", "required": ["contract_product_id", "status", "attempts", "updated_at"], "properties": {
            "contract_product_id": { "type": "string" }, "status": string_enum(&["queued", "running", "done", "failed", "cancelled"]),
            "log_id": { "type": "string", "description": "the item's run in the contract product's log" }, "error": { "type": "string" },
            "attempts": { "type": "integer", "minimum": 0 }, "updated_at": timestamp()
        }}},
        "BulkActionPage": page_of("BulkAction"),
        "BulkDryRun": { "type": "object", "required": ["dry_run", "blueprint", "action", "selected", "checked", "would_run", "refused", "items"], "properties": {
            "dry_run": { "const": true }, "blueprint": { "type": "string" }, "action": { "type": "string" },
            "selected": { "type": "integer", "minimum": 0, "description": "contract products the selection holds (at most 10,000)" },
            "checked": { "type": "integer", "minimum": 0, "description": "of them, checked as a run checks (the first 200)" },
            "would_run": { "type": "integer", "minimum": 0 }, "refused": { "type": "integer", "minimum": 0 },
            "items": { "type": "array", "items": { "type": "object", "required": ["contract_product_id", "would_run"], "properties": {
                "contract_product_id": { "type": "string" }, "service_identifier": { "type": ["string", "null"] }, "status": { "type": "string" },
                "would_run": { "type": "boolean" }, "reason": { "type": "string", "description": "why it would not run" }
            }}},
            "note": { "type": ["string", "null"] }
        }}
    });
    let drift = json!({ "type": "object", "required": ["configuration_id", "sweep_id", "started_at", "finished_at", "checked", "drifted_count", "drifted", "not_checked", "usage_refreshed"], "properties": {
        "configuration_id": { "type": "string" }, "sweep_id": { "type": "string" }, "started_at": { "type": "string" },
        "finished_at": { "type": ["string", "null"], "description": "null while the sweep goes on" },
        "step": { "type": "integer" }, "cursor": { "type": "string" },
        "checked": { "type": "integer", "minimum": 0, "description": "active and suspended services asked (get-info)" },
        "drifted_count": { "type": "integer", "minimum": 0 }, "not_checked": { "type": "integer", "minimum": 0, "description": "services the third party could not be asked about (it failed, or was not called)" },
        "usage_refreshed": { "type": "integer", "minimum": 0, "description": "services whose usage data the sweep refreshed (get-usage-data, logged as a run)" },
        "drifted": { "type": "array", "description": "the first 500 drifted services", "items": { "type": "object", "required": ["contract_product_id", "differences", "log_id"], "properties": {
            "contract_product_id": { "type": "string" }, "service_identifier": { "type": ["string", "null"] }, "log_id": { "type": "string", "description": "its drift entry in the product's log" },
            "differences": { "type": "array", "items": { "type": "object", "required": ["field", "ours", "theirs"], "properties": {
                "field": { "type": "string", "description": "status, exists, service_identifier, due_date, or the provision field that differs" },
                "ours": {}, "theirs": {}, "corrected_by": { "type": "string", "description": "the action that corrected it" }
            }}}
        }}}
    }});
    if let (Some(all), Value::Object(more)) = (schemas.as_object_mut(), bulk) {
        all.extend(more);
        all.insert("DriftReport".into(), drift);
    }
    schemas
}

fn schemas() -> Value {
    let blueprint = string_enum(&catalogue().blueprint_ids());
    let provider = string_enum(&shared::providers::provider_ids());
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "Error": error_schema(),
        "Catalogue": { "type": "object", "required": ["blueprints", "counts"], "properties": {
            "blueprints": { "type": "array", "items": { "$ref": "#/components/schemas/Blueprint" } },
            "counts": { "type": "object", "properties": { "blueprints": { "type": "integer" }, "actions": { "type": "integer" } } }
        }},
        "Blueprint": blueprint_schema(),
        "Configuration": model(json!({
            "id": { "type": "string" }, "name": { "type": "string" }, "blueprint": blueprint, "provider": provider,
            "enabled": { "type": "boolean" }, "default_for_blueprint": { "type": "boolean" }, "default_for_provider": { "type": "boolean" },
            "settings": { "type": "object", "description": "the provider's settings; secret ones masked" },
            "usage_count": { "type": "integer", "minimum": 0, "description": "products and contract products that use it" },
            "capacity": { "type": ["integer", "null"], "minimum": 0, "description": "the most contract products it holds; null: no limit" },
            "tags": { "type": "array", "items": { "type": "string" }, "description": "labels a pool deployment chooses by (a region, a disk type)" },
            "services_count": { "type": "integer", "description": "contract products placed on it and not terminated" },
            "limits": { "type": "object", "description": "kept across every instance: calls to its third party at once and a second, and the transient failures within a minute that open its breaker (default 5; 0: never)", "properties": {
                "max_concurrency": { "type": "integer", "minimum": 1 }, "requests_per_second": { "type": "integer", "minimum": 1 }, "breaker_failures": { "type": "integer", "minimum": 0 }
            }},
            "breaker": { "type": "object", "required": ["state", "failures", "retry_at"], "description": "its circuit breaker: closed; open (calls wait, or are answered 503, until retry_at); half_open (the next call probes it with a connection test)", "properties": {
                "state": string_enum(&["closed", "open", "half_open"]), "failures": { "type": "integer", "minimum": 0, "description": "transient failures counted in the current minute" },
                "retry_at": { "type": ["string", "null"] }, "cause": { "type": ["string", "null"] }
            }},
            "created_at": timestamp(), "updated_at": timestamp(), "version": { "type": "integer", "minimum": 1 }
        })),
        "ConfigurationList": list_of("Configuration"),
        "Deployment": { "type": "object", "required": ["type"], "properties": {
            "type": string_enum(&["static", "dynamic", "pool"]),
            "configuration_id": { "type": "string", "description": "static: the configuration" },
            "strategy": { "type": "string", "enum": ["least_used", "fill"], "description": "pool: the configuration with the smallest share of its capacity used, or the oldest until it is full" },
            "tag": { "type": "string", "description": "pool: only configurations carrying this tag" }
        }},
        "Product": model(json!({
            "id": { "type": "string" }, "name": { "type": "string" }, "blueprint": blueprint,
            "provider": { "oneOf": [provider, { "type": "null" }], "description": "null: chosen automatically" },
            "deployment": { "$ref": "#/components/schemas/Deployment" },
            "setup_action": { "type": "string" },
            "provision_fields": { "type": "object", "description": "defaults its contract products inherit; secret ones masked" },
            "created_at": timestamp(), "updated_at": timestamp(), "version": { "type": "integer", "minimum": 1 }
        })),
        "ProductList": list_of("Product"),
        "ContractProduct": model(json!({
            "id": { "type": "string" }, "client_id": { "type": "string" }, "product_id": nullable_string,
            "blueprint": blueprint, "provider": provider, "provision_configuration_id": { "type": "string" },
            "deployment": string_enum(&["static", "dynamic", "pool"]),
            "service_identifier": { "type": ["string", "null"], "description": "the service at the third party (a username, a domain, a licence key ...)" },
            "provision_fields": { "type": "object", "description": "filled in by actions too; secret ones masked" },
            "setup_action": { "type": "string" }, "status": product_status(),
            "created_at": timestamp(), "updated_at": timestamp(), "version": { "type": "integer", "minimum": 1 }
        })),
        "ContractProductPage": page_of("ContractProduct"),
        "ListedService": model(json!({
            "service_identifier": { "type": "string", "description": "what the blueprint's actions know it by" },
            "label": { "type": ["string", "null"], "description": "a name it is known by (its domain, its server's name)" },
            "suspended": { "type": ["boolean", "null"] },
            "contract_product_id": { "type": ["string", "null"], "description": "the contract product holding it here; null: not yet known" }
        })),
        "ListedServicePage": page_of("ListedService"),
        "ImportResults": { "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": { "type": "object",
            "required": ["service_identifier", "result", "status"],
            "properties": {
                "service_identifier": { "type": "string" },
                "result": string_enum(&["imported", "refused", "not_tried"]),
                "status": { "type": ["integer", "null"], "description": "what the single import answers: 201, or the error's status; null when not tried" },
                "contract_product": { "$ref": "#/components/schemas/ContractProduct" },
                "log_id": { "type": "string", "description": "the import entry" },
                "error": { "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } } }
            }
        }}}},
        "Actor": { "type": "object", "required": ["role"], "properties": {
            "role": string_enum(&["admin", "client", "system"]), "id": { "type": "string" }, "client_id": { "type": "string" }
        }},
        "LogEntry": {
            "type": "object",
            "required": ["log_id", "contract_product_id", "configuration_id", "blueprint", "provider", "action", "actor", "started_at", "duration_ms", "status", "message", "params", "data", "error"],
            "properties": {
                "log_id": { "type": "string" }, "contract_product_id": { "type": "string" }, "configuration_id": { "type": "string" },
                "blueprint": { "type": "string" }, "provider": { "type": "string" }, "action": { "type": "string" },
                "actor": { "$ref": "#/components/schemas/Actor" }, "started_at": timestamp(),
                "duration_ms": { "type": "integer", "minimum": 0 }, "status": string_enum(&["success", "error", "pending"]),
                "message": { "type": "string" }, "params": { "description": "what the run was given, secrets masked" },
                "data": { "description": "the result data" },
                "error": { "type": ["object", "null"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } },
                "debug": { "description": "the third-party requests and answers, secrets masked: one entry (GET /logs/{log_id}) to an admin only" }
            }
        },
        "LogPage": page_of("LogEntry"),
        "EventHandler": model(json!({
            "id": { "type": "string" }, "name": { "type": "string" }, "event": string_enum(&shared::domain::outgoing::EVENT_NAMES),
            "target": { "$ref": "#/components/schemas/HandlerTarget" },
            "status": string_enum(&["enabled", "disabled", "archived"]), "priority": { "type": "integer", "minimum": 1, "maximum": 1000 },
            "secret": { "type": "string", "description": "masked, but in the answer to the create that made it" },
            "created_at": timestamp(), "updated_at": timestamp(), "version": { "type": "integer", "minimum": 1 }
        })),
        "HandlerTarget": { "type": "object", "required": ["type"], "properties": {
            "type": string_enum(&["url", "lambda"]), "url": { "type": "string" }, "function": { "type": "string" }
        }},
        "EventHandlerList": list_of("EventHandler"),
        "Execution": model(json!({
            "handler_id": { "type": "string" }, "event_id": { "type": "string" }, "event": { "type": "string" }, "started_at": timestamp(),
            "duration_ms": { "type": "integer", "minimum": 0 }, "status_code": { "type": ["integer", "null"] }, "success": { "type": "boolean" },
            "response_excerpt": nullable_string, "error": nullable_string
        })),
        "ExecutionList": list_of("Execution"),
        "LifecycleEvent": model(json!({
            "id": { "type": "string" }, "type": string_enum(&shared::domain::lifecycle::EVENT_TYPES), "contract_product_id": { "type": "string" },
            "body_sha256": { "type": "string" }, "status": string_enum(&["received", "queued", "processing", "done", "failed"]),
            "log_ids": { "type": "array", "items": { "type": "string" } }, "error": nullable_string,
            "received_at": timestamp(), "updated_at": timestamp(), "retries": { "type": "integer", "minimum": 0, "description": "how often an admin sent it again" }
        })),
        "LifecycleEventPage": page_of("LifecycleEvent"),
        "EventRetried": { "type": "object", "required": ["event_id", "status", "retries", "log_id"], "properties": {
            "event_id": { "type": "string" }, "status": string_enum(&["queued", "received"]), "retries": { "type": "integer", "minimum": 1 },
            "log_id": { "type": ["string", "null"], "description": "the retry's entry in the contract product's log (null when the order never made the product)" }
        }},
        "EventAccepted": model(json!({
            "event_id": { "type": "string" }, "status": string_enum(&["received", "queued", "processing", "done", "failed"])
        })),
        "Deleted": model(json!({ "id": { "type": "string" }, "deleted": { "const": true } })),
        "ActionDone": { "type": "object", "required": ["status", "message", "data", "log_id"], "properties": {
            "status": { "const": "ok" }, "message": { "type": "string" }, "data": { "type": "object" }, "log_id": { "type": "string" }
        }},
        "ActionStarted": { "type": "object", "required": ["status", "message", "log_id"], "properties": {
            "status": { "const": "pending" }, "message": { "type": "string" }, "log_id": { "type": "string" }
        }}
    })
}

/// A record id in a path: what the functions' id types accept.
fn id_parameter(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" } })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn cursor() -> Value {
    query("cursor", "next_cursor of the page before", json!({ "type": "string", "minLength": 1, "maxLength": 2048 }))
}

fn log_filters(default_status: Option<&str>) -> Vec<Value> {
    let mut status = json!({ "type": "string", "enum": ["success", "error", "pending"] });
    if let Some(d) = default_status {
        status["default"] = json!(d);
    }
    // since / until: a date or an instant, compared with the entries' start times.
    let instant = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$", "maxLength": 30, "examples": ["2026-11-23", "2026-11-23T00:00:00Z"] });
    vec![
        query("status", "only entries of this outcome", status),
        query("action", "only runs of this action", string_enum(&action_ids())),
        query("since", "entries started at or after (RFC 3339 date or instant)", instant.clone()),
        query("until", "entries started before (RFC 3339 date or instant)", instant),
        query("limit", "entries per page", json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 50 })),
        cursor(),
    ]
}

/// Every action id of the catalogue, each once, and the entries the engine writes of its own
/// (a connection test, an import, a change of provision fields, the circuit breaker's changes,
/// a drift sweep's findings).
fn action_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = vec!["test-connection", "import", "update-provision-fields", "circuit-breaker", "drift"];
    for (_, a) in catalogue().actions() {
        if !ids.contains(&a.id) {
            ids.push(a.id);
        }
    }
    ids
}

/// Each route's success answer: status, description, body schema.
fn success(operation_id: &str) -> (u16, &'static str, Value) {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    match operation_id {
        "listBlueprints" => (200, "The catalogue", r("Catalogue")),
        "createConfiguration" => (201, "Created; secret settings masked", r("Configuration")),
        "listConfigurations" => (200, "The configurations", r("ConfigurationList")),
        "getConfiguration" | "updateConfiguration" => (200, "The configuration, secret settings masked", r("Configuration")),
        "deleteConfiguration" => (200, "Removed", r("Deleted")),
        "testConnection" => (200, "The credentials work; the check is logged", r("ActionDone")),
        "createProduct" => (201, "Created", r("Product")),
        "listProducts" => (200, "The products", r("ProductList")),
        "getProduct" | "updateProduct" => (200, "The product", r("Product")),
        "createContractProduct" => (201, "Created, status pending", r("ContractProduct")),
        "importContractProduct" => (201, "Imported, active or suspended as the provider shows it; log_id names its import entry", r("ContractProduct")),
        "listConfigurationServices" => (200, "One page of the account's services", r("ListedServicePage")),
        "importConfigurationServices" => (200, "A result per service, in order", r("ImportResults")),
        "listContractProducts" => (200, "One page, newest first", r("ContractProductPage")),
        "createBulkAction" => (201, "Stored and queued; follow it at GET /bulk-actions/{id} (a dry run answers 200 instead)", r("BulkAction")),
        "listBulkActions" => (200, "One page, newest first", r("BulkActionPage")),
        "configurationDrift" => (200, "The latest sweep's report", r("DriftReport")),
        "getBulkAction" | "cancelBulkAction" | "resumeBulkAction" => (200, "The bulk action with its progress and a page of its items", r("BulkAction")),
        "getContractProduct" => (200, "The contract product", r("ContractProduct")),
        "updateContractProduct" => (200, "The contract product as it is now; the change is in its log", r("ContractProduct")),
        "billingWebhook" => (202, "Accepted (or seen before: the same answer)", r("EventAccepted")),
        "createEventHandler" => (201, "Created; its secret shown this once", r("EventHandler")),
        "listEventHandlers" => (200, "The handlers, secrets masked", r("EventHandlerList")),
        "getEventHandler" | "updateEventHandler" => (200, "The handler, its secret masked", r("EventHandler")),
        "eventHandlerExecutions" => (200, "Its deliveries, newest first", r("ExecutionList")),
        "getLifecycleEvent" => (200, "The event", r("LifecycleEvent")),
        "listLifecycleEvents" => (200, "One page, newest first", r("LifecycleEventPage")),
        "retryLifecycleEvent" => (202, "Sent again: queued (or received, when the worker's sweep is to queue it within minutes)", r("EventRetried")),
        "productLogs" | "configurationLogs" | "systemLogs" => (200, "One page, newest first; entries without debug", r("LogPage")),
        "logEntry" => (200, "The entry", r("LogEntry")),
        other => panic!("openapi: route {other} has no success answer"),
    }
}

fn query_parameters(operation_id: &str) -> Vec<Value> {
    match operation_id {
        "listConfigurations" => vec![query("blueprint", "only this blueprint's", string_enum(&catalogue().blueprint_ids()))],
        "listConfigurationServices" => vec![
            query("cursor", "where the page before said the next starts (next_cursor)", json!({ "type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$" })),
            query("unknown", "only the services no contract product holds here", json!({ "type": "string", "enum": ["true", "false"] })),
        ],
        "listContractProducts" => vec![
            query("identifier", "service identifiers starting with this (case-insensitive), in their order", json!({ "type": "string", "minLength": 1, "maxLength": 255 })),
            query("client_id", "only this client's (a client may name only itself)", json!({ "type": "string", "minLength": 1, "maxLength": 128 })),
            query("status", "only of this status", product_status()),
            query("blueprint", "only of this blueprint", string_enum(&catalogue().blueprint_ids())),
            query("configuration_id", "only on this provision configuration", json!({ "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" })),
            query("limit", "items per page", json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 100 })),
            cursor(),
        ],
        "listBulkActions" => vec![query("limit", "jobs per page", json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 50 })), cursor()],
        "getBulkAction" => vec![
            query("status", "only items of this status", string_enum(&["queued", "running", "done", "failed", "cancelled"])),
            query("cursor", "next_cursor of the page before", json!({ "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" })),
        ],
        "listLifecycleEvents" => vec![
            query("status", "failed events, or those not yet queued", json!({ "type": "string", "enum": ["failed", "received"], "default": "failed" })),
            query("limit", "events per page", json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 50 })),
            cursor(),
        ],
        "productLogs" | "configurationLogs" => log_filters(None),
        "systemLogs" => log_filters(Some("error")),
        _ => Vec::new(),
    }
}

/// The error statuses a route answers.
fn error_statuses(route: &ApiRoute) -> Vec<u16> {
    let body = matches!(route.method, "POST" | "PATCH" | "PUT");
    let mut out = vec![400, 401];
    if route.operation_id != "billingWebhook" && route.operation_id != "listBlueprints" {
        out.push(403);
    }
    if route.path.contains('{') || route.operation_id == "billingWebhook" {
        out.push(404);
    }
    if body || route.method == "DELETE" {
        out.push(409);
    }
    if body {
        out.push(413);
    }
    out.push(500);
    if ["testConnection", "importContractProduct", "listConfigurationServices"].contains(&route.operation_id) {
        out.extend([502, 503, 504]);
    }
    out
}

fn error_responses(statuses: &[u16]) -> Map<String, Value> {
    statuses.iter().map(|s| (s.to_string(), json!({ "$ref": format!("#/components/responses/E{s}") }))).collect()
}

fn request_schema(operation_id: &str) -> Option<Value> {
    use shared::api::admin::{configurations, products};
    Some(match operation_id {
        "createConfiguration" => with_settings_by_provider(configurations::create_schema()),
        "updateConfiguration" => configurations::patch_schema(),
        "createProduct" => shared::engine::contracts::product_schema(),
        "updateProduct" => products::params_schema_patch(),
        "createContractProduct" => shared::engine::contracts::contract_product_schema(),
        "importContractProduct" => shared::engine::imports::import_schema(),
        "importConfigurationServices" => shared::engine::imports::bulk_import_schema(),
        "createBulkAction" => shared::engine::bulk::bulk_schema(),
        "updateContractProduct" => products::contract_product_patch_schema(),
        "createEventHandler" => with_target_requirements(shared::api::admin::handlers::create_schema()),
        "updateEventHandler" => with_target_requirements(shared::api::admin::handlers::patch_schema()),
        "billingWebhook" => shared::engine::lifecycle::event_schema(),
        _ => return None,
    })
}

/// A configuration's settings are its provider's settings schema (per blueprint).
fn with_settings_by_provider(mut schema: Value) -> Value {
    let conditions: Vec<Value> = shared::providers::providers()
        .iter()
        .map(|p| {
            json!({
                "if": { "properties": { "blueprint": { "const": p.blueprint }, "provider": { "const": p.id } }, "required": ["blueprint", "provider"] },
                "then": { "properties": { "settings": p.settings } }
            })
        })
        .collect();
    schema["allOf"] = Value::Array(conditions);
    schema
}

/// A url target needs `url`, a lambda target `function`.
fn with_target_requirements(mut schema: Value) -> Value {
    if let Some(target) = schema.pointer_mut("/properties/target") {
        target["allOf"] = json!([
            { "if": { "properties": { "type": { "const": "url" } }, "required": ["type"] }, "then": { "required": ["url"], "properties": { "url": { "type": "string", "description": "https (plain http only to loopback, locally); no credentials, no private address" } } } },
            { "if": { "properties": { "type": { "const": "lambda" } }, "required": ["type"] }, "then": { "required": ["function"], "properties": { "function": { "type": "string", "description": "a function name or ARN of this deployment's prefix" } } } }
        ]);
    }
    schema
}

/// Links from what a route makes or names to the routes that read and change it.
fn links(operation_id: &str) -> Option<Value> {
    let by_id = |ops: &[&str], from: &str| -> Value {
        Value::Object(ops.iter().map(|op| ((*op).to_owned(), json!({ "operationId": op, "parameters": { "id": format!("$response.body#/{from}") } }))).collect())
    };
    let log = || json!({ "logEntry": { "operationId": "logEntry", "parameters": { "log_id": "$response.body#/log_id" } } });
    Some(match operation_id {
        "createConfiguration" => by_id(&["getConfiguration", "updateConfiguration", "deleteConfiguration", "testConnection", "configurationLogs"], "id"),
        "createProduct" => by_id(&["getProduct", "updateProduct"], "id"),
        "createContractProduct" | "getContractProduct" | "importContractProduct" => {
            // And every action: a tool chaining calls runs them on the product it made.
            let mut ops = vec!["getContractProduct".to_owned(), "updateContractProduct".to_owned(), "productLogs".to_owned()];
            ops.extend(catalogue().actions().map(|(b, a)| action_operation_id(b.id, a.id)));
            let refs: Vec<&str> = ops.iter().map(String::as_str).collect();
            by_id(&refs, "id")
        }
        "listEventHandlers" => json!({ "getEventHandler": { "operationId": "getEventHandler", "parameters": { "id": "$response.body#/items/0/id" } },
            "eventHandlerExecutions": { "operationId": "eventHandlerExecutions", "parameters": { "id": "$response.body#/items/0/id" } } }),
        "listProducts" => json!({ "getProduct": { "operationId": "getProduct", "parameters": { "id": "$response.body#/items/0/id" } } }),
        "listConfigurations" => json!({ "getConfiguration": { "operationId": "getConfiguration", "parameters": { "id": "$response.body#/items/0/id" } },
            "configurationLogs": { "operationId": "configurationLogs", "parameters": { "id": "$response.body#/items/0/id" } } }),
        "listContractProducts" => json!({ "getContractProduct": { "operationId": "getContractProduct", "parameters": { "id": "$response.body#/items/0/id" } },
            "productLogs": { "operationId": "productLogs", "parameters": { "id": "$response.body#/items/0/id" } } }),
        "productLogs" | "configurationLogs" | "systemLogs" => json!({ "logEntry": { "operationId": "logEntry", "parameters": { "log_id": "$response.body#/items/0/log_id" } } }),
        "createEventHandler" => by_id(&["getEventHandler", "updateEventHandler", "eventHandlerExecutions"], "id"),
        "billingWebhook" => by_id(&["getLifecycleEvent"], "event_id"),
        "listLifecycleEvents" => json!({ "getLifecycleEvent": { "operationId": "getLifecycleEvent", "parameters": { "id": "$response.body#/items/0/id" } },
            "retryLifecycleEvent": { "operationId": "retryLifecycleEvent", "parameters": { "id": "$response.body#/items/0/id" } } }),
        "retryLifecycleEvent" => by_id(&["getLifecycleEvent"], "event_id"),
        "testConnection" => log(),
        _ => return None,
    })
}

/// The action route, written out per action (as API Gateway routes it in AWS): the params a
/// caller sends, and the answer with the action's result schema.
fn action_operations(paths: &mut Map<String, Value>, template: &ApiRoute) {
    for (b, a) in catalogue().actions() {
        let path = template.path.replace("{blueprint}", b.id).replace("{action}", a.id);
        let access = if a.audience == shared::domain::Audience::Client { "admin or the owning client" } else { "admin" };
        let params = a.caller_params(b);
        let params_example = example(&a.params, &if a.establishes_identifier() { Vec::new() } else { b.engine_filled().collect::<Vec<_>>() });
        let mut responses = error_responses(&[400, 401, 403, 404, 409, 413, 500, 502, 503, 504]);
        let log_link = json!({ "logEntry": { "operationId": "logEntry", "parameters": { "log_id": "$response.body#/log_id" } } });
        let (status, answer) = if a.long_running {
            (
                "202",
                json!({ "description": "Started: the worker finishes it; GET /logs/{log_id} follows it from pending to success or error (its data then has x-result-schema)",
                    "content": { "application/json": { "schema": {
                        "allOf": [{ "$ref": "#/components/schemas/ActionStarted" }], "x-result-schema": a.result
                    }}},
                    "links": log_link }),
            )
        } else {
            (
                "200",
                json!({ "description": "Done", "content": { "application/json": {
                    "schema": { "type": "object", "required": ["status", "message", "data", "log_id"],
                        "properties": { "status": { "const": "ok" }, "message": { "type": "string" }, "data": a.result, "log_id": { "type": "string" } } },
                    "example": { "status": "ok", "message": format!("{} done", a.name), "data": example(&a.result, &[]), "log_id": "log-01JD7Z9Q4X3W2V1T0S9R8P7N6M" }
                }},
                "links": log_link }),
            )
        };
        responses.insert(status.to_owned(), answer);
        paths.insert(
            path,
            json!({ "post": {
                "operationId": action_operation_id(b.id, a.id),
                "summary": format!("{}: {} ({access})", a.name, a.description),
                "tags": [b.id],
                "parameters": [id_parameter("id", "the contract product")],
                "requestBody": { "required": false, "content": { "application/json": {
                    "schema": { "type": "object", "additionalProperties": false, "properties": { "params": params } },
                    "example": { "params": params_example }
                }}},
                "responses": sorted(responses),
            }}),
        );
    }
}

fn action_operation_id(blueprint: &str, action: &str) -> String {
    format!("{}{}", camel(blueprint), pascal(action))
}

fn sorted(map: Map<String, Value>) -> Value {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

fn camel(id: &str) -> String {
    let p = pascal(id);
    let mut c = p.chars();
    c.next().map(|f| f.to_ascii_lowercase().to_string() + c.as_str()).unwrap_or_default()
}

/// The tag of a route: what it is about.
fn tag(route: &ApiRoute) -> &'static str {
    if route.function == "logs" {
        return "logs";
    }
    match route.path.split('/').nth(1).unwrap_or_default() {
        "blueprints" => "catalogue",
        "provision-configurations" => "configurations",
        "products" => "products",
        "contract-products" => "contract-products",
        "webhooks" => "billing",
        _ => "events",
    }
}

fn operation(route: &ApiRoute) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| match (route.operation_id, name) {
            // A billing system's event id: any printable ASCII (percent-encoded in the path).
            ("getLifecycleEvent" | "retryLifecycleEvent", _) => {
                json!({ "name": name, "in": "path", "required": true, "description": "the event's id", "schema": { "type": "string", "pattern": "^[!-~]{1,128}$" } })
            }
            _ => id_parameter(name, "the record's id"),
        })
        .collect();
    parameters.extend(query_parameters(route.operation_id));
    let (status, description, schema) = success(route.operation_id);
    let mut ok = json!({ "description": description, "content": { "application/json": { "schema": schema } } });
    if let Some(links) = links(route.operation_id) {
        ok["links"] = links;
    }
    let mut responses = error_responses(&error_statuses(route));
    responses.insert(status.to_string(), ok);
    if route.operation_id == "createBulkAction" {
        let dry = json!({ "$ref": "#/components/schemas/BulkDryRun" });
        responses.insert("200".into(), json!({ "description": "A dry run: what would run and why not; nothing written", "content": { "application/json": { "schema": dry } } }));
    }
    let mut op = json!({
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [tag(route)],
        "responses": sorted(responses),
    });
    if route.operation_id == "billingWebhook" {
        // Signed by the billing system, not a bearer token.
        op["security"] = json!([{ "webhookSignature": [] }]);
        parameters.push(json!({ "name": "X-Signature", "in": "header", "required": true,
            "description": "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>", "schema": { "type": "string", "pattern": "^sha256=[0-9a-f]{64}$" } }));
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if let Some(schema) = request_schema(route.operation_id) {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    op
}

fn error_components() -> Value {
    let mut out = Map::new();
    for (status, code, description) in ERRORS {
        let mut response = json!({ "description": description, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" },
            "example": { "error": { "code": code, "message": description, "details": { "request_id": "c0ffee00-0000-4000-8000-000000000000" } } }
        }}});
        if status == 405 {
            response["headers"] = json!({ "Allow": { "description": "the methods the path answers", "schema": { "type": "string" } } });
        }
        if status == 503 {
            response["headers"] = json!({ "Retry-After": { "description": "seconds until the third party may be called again", "schema": { "type": "integer", "minimum": 1 } } });
        }
        out.insert(format!("E{status}"), response);
    }
    Value::Object(out)
}

pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES.iter().filter(|r| r.function != shared::api::routes::CONSOLE_FUNCTION) {
        if route.operation_id == "runAction" {
            action_operations(&mut paths, route);
            continue;
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Provisioning engine API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Generated by `make template` from shared/src/routes.rs and the catalogue. Every non-2xx answer has the Error shape. A known path asked with a method it does not answer is 405 with Allow; any other route is 404, both in that shape."
        },
        "servers": [
            { "url": "http://127.0.0.1:9000", "description": "the local stack (make dev)" },
            { "url": "https://{api}.execute-api.{region}.amazonaws.com/{stage}", "description": "a deployed stack (Outputs.ApiUrl)",
              "variables": { "api": { "default": "api-id" }, "region": { "default": "eu-west-1" }, "stage": { "default": "prod" } } }
        ],
        "security": [{ "bearerAuth": [] }],
        "tags": [
            { "name": "catalogue", "description": "blueprints, their actions and providers" },
            { "name": "configurations", "description": "provision configurations: a third-party system and its credentials" },
            { "name": "products", "description": "provisioning templates" },
            { "name": "contract-products", "description": "sold services" },
            { "name": "billing", "description": "the billing system's lifecycle events" },
            { "name": "events", "description": "lifecycle events in, event handlers out" },
            { "name": "logs", "description": "provision logs" }
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "HS256 or RS256 JWT with sub, role (admin | client), client_id (clients), exp, iss, aud" },
                "webhookSignature": { "type": "apiKey", "in": "header", "name": "X-Signature",
                    "description": "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>" }
            },
            "responses": error_components(),
            "schemas": with_bulk_schemas(schemas())
        }
    })
}

pub fn openapi_yaml() -> String {
    format!("# Generated by `make template`; a test fails when this file drifts from the generator.\n{}", crate::yaml::to_yaml(&openapi()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
        &doc["paths"][path][method]
    }

    #[test]
    fn creates_answer_201_long_running_actions_202_and_errors_their_statuses() {
        let doc = openapi();
        for (path, method) in [("/contract-products", "post"), ("/products", "post"), ("/provision-configurations", "post"), ("/event-handlers", "post")] {
            let responses = &op(&doc, path, method)["responses"];
            assert!(responses.get("201").is_some() && responses.get("200").is_none(), "{method} {path}");
            assert!(responses["201"]["links"].as_object().is_some_and(|l| !l.is_empty()), "{method} {path} links what it made");
        }
        let register = &op(&doc, "/contract-products/{id}/actions/servers/create-server", "post")["responses"];
        assert!(register.get("202").is_some() && register.get("200").is_none());
        assert!(op(&doc, "/webhooks/billing", "post")["responses"].get("202").is_some());
        // Every status the API maps an error to is declared somewhere, each in the Error shape.
        for (status, ..) in ERRORS {
            assert_eq!(doc["components"]["responses"][format!("E{status}")]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(operation["responses"].get("401").is_some(), "{method} {path} declares 401");
                assert!(operation["responses"].get("default").is_none(), "{method} {path}: no catch-all status");
            }
        }
    }

    #[test]
    fn an_action_request_is_what_a_caller_sends() {
        let doc = openapi();
        let params = |path: &str| op(&doc, path, "post")["requestBody"]["content"]["application/json"]["schema"]["properties"]["params"].clone();
        let info = params("/contract-products/{id}/actions/web-hosting/get-info");
        assert!(info["properties"].get("username").is_none(), "the engine fills the identifier");
        assert!(info.get("required").is_none());
        let create = params("/contract-products/{id}/actions/web-hosting/create-account");
        assert!(create["properties"].get("username").is_some(), "a create may name its account");
        assert!(create.get("required").is_none(), "the product's provision fields may supply package_name");
        assert!(create["x-required-after-filling"].as_array().unwrap().contains(&json!("package_name")));
        let renew = params("/contract-products/{id}/actions/domain-names/renew");
        assert!(renew["properties"].get("sld").is_none() && renew["properties"].get("tld").is_none());
        // The engine still validates the full schema.
        let (_, a) = catalogue().action("web-hosting", "get-info").unwrap();
        assert!(a.params["properties"].get("username").is_some());
    }

    #[test]
    fn parameters_enums_conditions_and_security_are_declared() {
        let doc = openapi();
        let names = |path: &str, method: &str| -> Vec<String> { op(&doc, path, method)["parameters"].as_array().into_iter().flatten().map(|p| p["name"].as_str().unwrap().to_owned()).collect() };
        assert_eq!(names("/contract-products", "get"), ["identifier", "client_id", "status", "blueprint", "configuration_id", "limit", "cursor"]);
        assert_eq!(names("/logs", "get"), ["status", "action", "since", "until", "limit", "cursor"]);
        assert_eq!(names("/contract-products/{id}/logs", "get"), ["id", "status", "action", "since", "until", "limit", "cursor"]);
        assert_eq!(names("/provision-configurations", "get"), ["blueprint"]);
        let body = |path: &str| op(&doc, path, "post")["requestBody"]["content"]["application/json"]["schema"].clone();
        assert_eq!(body("/contract-products")["properties"]["blueprint"]["enum"].as_array().unwrap().len(), catalogue().blueprints.len());
        assert!(body("/contract-products")["properties"]["provider"]["enum"].as_array().unwrap().contains(&json!("cpanel")));
        let target = &body("/event-handlers")["properties"]["target"]["allOf"];
        assert_eq!(target[0]["then"]["required"], json!(["url"]));
        assert_eq!(target[1]["then"]["required"], json!(["function"]));
        assert_eq!(body("/provision-configurations")["allOf"].as_array().unwrap().len(), shared::providers::providers().len());
        assert_eq!(op(&doc, "/webhooks/billing", "post")["security"], json!([{ "webhookSignature": [] }]));
        assert_eq!(doc["security"], json!([{ "bearerAuth": [] }]));
    }
}
