//! The Lambda functions of the stack (one binary under functions/ each): timeout, memory, what
//! each may do with the tables, queues and secrets (least privilege in template.yaml), schedules
//! and conditions. Only the template and the local stack need this; the functions do not ship it.

/// A Lambda function: one binary under functions/.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The binary (and crate) name, e.g. `admin`.
    pub name: &'static str,
    /// CloudFormation logical id.
    pub logical_id: &'static str,
    pub description: &'static str,
    pub timeout_seconds: u32,
    pub memory_mb: u32,
    /// What it may do on the main table (least privilege in template.yaml).
    pub main_table: TableAccess,
    /// What it may do on the logs table.
    pub logs_table: TableAccess,
    /// Whether it gets the key that seals secrets at rest.
    pub secrets_key: bool,
    /// In AWS, one Lambda per blueprint action, each pinned to its action (ACTION_PINNED).
    pub per_action: bool,
    /// What it does with the lifecycle queue.
    pub lifecycle_queue: QueueAccess,
    /// What it does with the events queue (outgoing events).
    pub events_queue: QueueAccess,
    /// Reads the outbox: the main table's stream (its outgoing events' records, written in the
    /// runs' own transactions), filtered to new outbox records.
    pub outbox: bool,
    /// What it does with the operations queue (delayed re-checks of long-running actions).
    pub operations_queue: QueueAccess,
    /// Whether it gets the billing webhook's HMAC secret.
    pub webhook_secret: bool,
    /// Whether it reads the HS256 token secret (the HTTP functions that verify bearer tokens).
    pub token_secret: bool,
    /// Schedules it runs on besides its events (EventBridge Scheduler): the event's name, a rate
    /// expression and the input it is invoked with then.
    pub schedules: &'static [(&'static str, &'static str, &'static str)],
    /// Serves the console: gets the sign-in settings (CONSOLE_*) of the template's parameters.
    pub console: bool,
    /// The template condition the function exists under (None: always).
    pub condition: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAccess {
    None,
    /// Sends messages.
    Send,
    /// Is the queue's event source (SQS → Lambda), with partial batch failures.
    Consume,
    /// Both: consumes the queue and sends to it (delayed re-checks).
    ConsumeAndSend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableAccess {
    None,
    Read,
    /// Put only (append-only records such as log entries).
    Write,
    /// Get and put (the worker reads a pending entry before it replaces it).
    ReadAppend,
    ReadWrite,
}

/// What a function has unless its spec says otherwise: nothing beyond its routes.
const BASE: FunctionSpec = FunctionSpec {
    name: "",
    logical_id: "",
    description: "",
    timeout_seconds: 10,
    memory_mb: 256,
    main_table: TableAccess::None,
    logs_table: TableAccess::None,
    secrets_key: false,
    per_action: false,
    lifecycle_queue: QueueAccess::None,
    events_queue: QueueAccess::None,
    outbox: false,
    operations_queue: QueueAccess::None,
    webhook_secret: false,
    token_secret: false,
    schedules: &[],
    console: false,
    condition: None,
};

pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "admin",
        logical_id: "AdminFunction",
        description: "Admin API: the catalogue, provision configurations, products and contract products, lifecycle events; answers unknown routes",
        timeout_seconds: 30,
        main_table: TableAccess::ReadWrite,
        logs_table: TableAccess::Write,
        secrets_key: true,
        token_secret: true,
        // Sends a failed lifecycle event again (retry).
        lifecycle_queue: QueueAccess::Send,
        ..BASE
    },
    FunctionSpec {
        name: "action",
        logical_id: "Action",
        description: "Runs one blueprint action on a contract product",
        timeout_seconds: 30,
        main_table: TableAccess::ReadWrite,
        logs_table: TableAccess::Write,
        secrets_key: true,
        token_secret: true,
        per_action: true,
        lifecycle_queue: QueueAccess::Send,
        ..BASE
    },
    FunctionSpec {
        name: "logs",
        logical_id: "LogsFunction",
        description: "Provision log queries: per contract product, per configuration, system-wide by status, one entry",
        main_table: TableAccess::Read,
        logs_table: TableAccess::Read,
        token_secret: true,
        ..BASE
    },
    FunctionSpec {
        name: "webhook",
        logical_id: "WebhookFunction",
        description: "Billing webhook: verifies the HMAC, claims the event id, queues the event",
        main_table: TableAccess::ReadWrite,
        secrets_key: true,
        lifecycle_queue: QueueAccess::Send,
        webhook_secret: true,
        ..BASE
    },
    FunctionSpec {
        name: "worker",
        logical_id: "WorkerFunction",
        description: "Lifecycle worker: runs each billing event's action, in order per contract product",
        // Room for a few records of a batch (each at most the provider's deadline and its
        // writes); the rest go back to the queue before the deadline (worker::RECORD_BUDGET).
        timeout_seconds: 120,
        main_table: TableAccess::ReadWrite,
        logs_table: TableAccess::ReadAppend,
        secrets_key: true,
        // Consumes it, and the sweep queues claims the webhook left unqueued.
        lifecycle_queue: QueueAccess::ConsumeAndSend,
        // And daily, a drift sweep of every configuration (consumers::drift).
        schedules: &[("Sweep", "rate(5 minutes)", r#"{"sweep": "received-events"}"#), ("DriftSweep", "rate(1 day)", r#"{"sweep": "drift"}"#)],
        operations_queue: QueueAccess::ConsumeAndSend,
        ..BASE
    },
    FunctionSpec {
        name: "dispatcher",
        logical_id: "DispatcherFunction",
        description: "Events out: puts each new outbox record (the main table's stream) on the events queue, and delivers the queue's events to the enabled event handlers, lowest priority number first",
        timeout_seconds: 60,
        main_table: TableAccess::ReadWrite,
        secrets_key: true,
        events_queue: QueueAccess::ConsumeAndSend,
        outbox: true,
        ..BASE
    },
    FunctionSpec {
        name: "console",
        logical_id: "ConsoleFunction",
        description: "The console: the admin and client areas' single-page app, its assets embedded, under a strict CSP",
        memory_mb: 128,
        console: true,
        ..BASE
    },
    FunctionSpec {
        name: "cognito-claims",
        logical_id: "CognitoClaimsFunction",
        description: "The Cognito user pool's pre token generation trigger: role, billing client id and audience in access tokens",
        timeout_seconds: 5,
        memory_mb: 128,
        condition: Some("CreatesUserPool"),
        ..BASE
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::routes::{FALLBACK_FUNCTION, ROUTES};

    /// Every route's function and the fallback are functions of the stack, each a binary under
    /// functions/ (whose main names itself by its package name).
    #[test]
    fn every_route_is_served_by_a_declared_function_with_its_own_binary() {
        for r in ROUTES {
            assert!(FUNCTIONS.iter().any(|f| f.name == r.function), "{r:?}");
        }
        assert!(FUNCTIONS.iter().any(|f| f.name == FALLBACK_FUNCTION));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        for f in FUNCTIONS {
            let manifest = std::fs::read_to_string(root.join(f.name).join("Cargo.toml")).unwrap_or_default();
            assert!(manifest.contains(&format!("name = \"{}\"", f.name)), "functions/{}/Cargo.toml names the package {}", f.name, f.name);
        }
    }
}
