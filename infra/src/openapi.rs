//! openapi.yaml, generated from the same route table as template.yaml.

use serde_json::{Map, Value, json};
use shared::routes::ROUTES;

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": { "type": "string", "enum": [
                        "validation_failed", "unauthenticated", "forbidden", "not_found", "conflict",
                        "invalid_state", "payload_too_large", "provider_error", "provider_timeout", "internal"
                    ]},
                    "message": { "type": "string" },
                    "details": { "type": "object", "properties": { "request_id": { "type": "string" } } }
                }
            },
            "log_id": { "type": "string", "description": "present where an action ran" }
        }
    })
}

fn catalogue_schema() -> Value {
    json!({
        "type": "object",
        "required": ["blueprints", "counts"],
        "properties": {
            "blueprints": { "type": "array", "items": { "$ref": "#/components/schemas/Blueprint" } },
            "counts": { "type": "object", "properties": { "blueprints": { "type": "integer" }, "actions": { "type": "integer" } } }
        }
    })
}

fn blueprint_schema() -> Value {
    let status = json!({ "type": "string", "enum": ["pending", "active", "suspended", "terminated", "failed"] });
    json!({
        "type": "object",
        "required": ["id", "name", "description", "actions", "providers"],
        "properties": {
            "id": { "type": "string" },
            "name": { "type": "string" },
            "description": { "type": "string" },
            "framework_category": { "type": "string" },
            "service_identifier": { "type": "string" },
            "identifier_fields": { "type": "array", "items": { "type": "string" } },
            "providers": { "type": "array", "items": { "type": "object" } },
            "actions": { "type": "array", "items": {
                "type": "object",
                "required": ["id", "name", "description", "client", "long_running", "params", "result"],
                "properties": {
                    "id": { "type": "string" },
                    "name": { "type": "string" },
                    "description": { "type": "string" },
                    "framework_function": { "type": ["string", "null"] },
                    "client": { "type": "boolean", "description": "the owning client may run it" },
                    "long_running": { "type": "boolean", "description": "answered 202 and finished by a worker" },
                    "moves_to": { "oneOf": [status.clone(), { "type": "null" }] },
                    "allowed_from": { "type": "array", "items": status },
                    "params": { "type": "object", "description": "JSON Schema of the parameters" },
                    "result": { "type": "object", "description": "JSON Schema of the result data" }
                }
            }}
        }
    })
}

fn response_schema(operation_id: &str) -> Value {
    match operation_id {
        "listBlueprints" => json!({ "$ref": "#/components/schemas/Catalogue" }),
        _ => json!({ "type": "object" }),
    }
}

fn request_schema(operation_id: &str) -> Option<Value> {
    use shared::admin::{configurations, products};
    Some(match operation_id {
        "createConfiguration" => configurations::create_schema(),
        "updateConfiguration" => configurations::patch_schema(),
        "createProduct" => products::product_schema(),
        "updateProduct" => products::params_schema_patch(),
        "createContractProduct" => products::contract_product_schema(),
        "createEventHandler" => shared::admin::handlers::create_schema(),
        "updateEventHandler" => shared::admin::handlers::patch_schema(),
        "billingWebhook" => shared::lifecycle::event_schema(),
        _ => return None,
    })
}

/// The action route, written out per action (as API Gateway routes it in AWS), each with its
/// params and result schemas.
fn action_operations(paths: &mut Map<String, Value>, template: &shared::routes::ApiRoute) {
    for (b, a) in shared::catalogue::catalogue().actions() {
        let path = template.path.replace("{blueprint}", b.id).replace("{action}", a.id);
        let access = if a.audience == shared::domain::Audience::Client { "admin or the owning client" } else { "admin" };
        paths.insert(path, json!({ "post": {
            "operationId": format!("{}{}", camel(b.id), pascal(a.id)),
            "summary": format!("{}: {} ({access})", a.name, a.description),
            "tags": [b.id],
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "requestBody": { "content": { "application/json": { "schema": {
                "type": "object", "additionalProperties": false,
                "properties": { "params": a.params },
                "description": "params: the blueprint's identifier fields and the product's provision fields are filled in from the contract product; the caller's win"
            }}}},
            "responses": if a.long_running { json!({
                "202": { "description": "Started: the worker finishes it; GET /logs/{log_id} follows it from pending to success or error (its data then has the result schema below)", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["status", "message", "log_id"],
                    "properties": { "status": { "const": "pending" }, "message": { "type": "string" }, "log_id": { "type": "string" } },
                    "x-result-schema": a.result
                }}}},
                "default": { "$ref": "#/components/responses/Error" }
            }) } else { json!({
                "200": { "description": "Done", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["status", "message", "data", "log_id"],
                    "properties": { "status": { "const": "ok" }, "message": { "type": "string" }, "data": a.result, "log_id": { "type": "string" } }
                }}}},
                "default": { "$ref": "#/components/responses/Error" }
            }) }
        }}));
    }
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

pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        if route.operation_id == "runAction" {
            action_operations(&mut paths, route);
            continue;
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": response_schema(route.operation_id) } } },
                "401": { "$ref": "#/components/responses/Error" },
                "default": { "$ref": "#/components/responses/Error" }
            }
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if route.operation_id == "billingWebhook" {
            // Signed by the billing system, not a bearer token.
            op["security"] = json!([]);
            op["parameters"] = json!([{ "name": "X-Signature", "in": "header", "required": true,
                "description": "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>", "schema": { "type": "string", "pattern": "^sha256=[0-9a-f]{64}$" } }]);
            op["responses"]["202"] = json!({ "description": "Accepted (or seen before: the same answer)", "content": { "application/json": { "schema": {
                "type": "object", "properties": { "event_id": { "type": "string" }, "status": { "type": "string", "enum": ["received", "queued", "processing", "done", "failed"] } } } } } });
            op["responses"].as_object_mut().map(|r| r.remove("200"));
        }
        if let Some(schema) = request_schema(route.operation_id) {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
        }
        entry[route.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Provisioning engine API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Generated by `make template` from shared/src/routes.rs and the catalogue. Every non-2xx answer has the Error shape. Any route not listed answers 404 not_found in that shape."
        },
        "servers": [
            { "url": "http://127.0.0.1:9000", "description": "the local stack (make dev)" },
            { "url": "https://{api}.execute-api.{region}.amazonaws.com/{stage}", "description": "a deployed stack (Outputs.ApiUrl)",
              "variables": { "api": { "default": "api-id" }, "region": { "default": "eu-west-1" }, "stage": { "default": "prod" } } }
        ],
        "security": [{ "bearerAuth": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "HS256 or RS256 JWT with sub, role (admin | client), client_id (clients), exp, iss, aud" } },
            "responses": { "Error": { "description": "An error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } },
            "schemas": { "Error": error_schema(), "Catalogue": catalogue_schema(), "Blueprint": blueprint_schema() }
        }
    })
}

pub fn openapi_yaml() -> String {
    format!("# Generated by `make template`; a test fails when this file drifts from the generator.\n{}", crate::yaml::to_yaml(&openapi()))
}
