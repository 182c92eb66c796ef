//! The HTTP routes and the Lambda functions that serve them: the one table that template.yaml's
//! HttpApi events, the `cargo lambda watch` router in Cargo.toml and openapi.yaml derive from
//! (the functions' own specs, memory and permissions, are infra's: infra/src/functions.rs).

use std::collections::HashMap;

/// One HTTP route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub method: &'static str,
    /// Path template; `{name}` is a path parameter.
    pub path: &'static str,
    /// The function binary that serves it.
    pub function: &'static str,
    /// OpenAPI operationId.
    pub operation_id: &'static str,
    pub summary: &'static str,
}

const fn admin(method: &'static str, path: &'static str, operation_id: &'static str, summary: &'static str) -> ApiRoute {
    ApiRoute { method, path, function: "admin", operation_id, summary }
}

pub const ROUTES: &[ApiRoute] = &[
    admin("GET", "/blueprints", "listBlueprints", "The catalogue: blueprints, their actions with parameter and result schemas, providers with settings schemas"),
    admin("POST", "/provision-configurations", "createConfiguration", "Create a provision configuration; secret settings are sealed and never returned"),
    admin("GET", "/provision-configurations", "listConfigurations", "List provision configurations, optionally of one blueprint (?blueprint=)"),
    admin("GET", "/provision-configurations/{id}", "getConfiguration", "One provision configuration, secrets masked"),
    admin("PATCH", "/provision-configurations/{id}", "updateConfiguration", "Change a provision configuration; settings are merged field by field"),
    admin("DELETE", "/provision-configurations/{id}", "deleteConfiguration", "Remove a provision configuration; refused with 409 while products use it"),
    admin("POST", "/provision-configurations/{id}/test-connection", "testConnection", "Check a configuration's credentials against its third party; logged under the configuration"),
    admin(
        "GET",
        "/provision-configurations/{id}/services",
        "listConfigurationServices",
        "The services the configuration's account holds at its third party (WHM's accounts, OpenProvider's domains, Hetzner's servers, the demo's), a page at a time (?cursor=), each with the contract product holding it here; ?unknown=true lists only those not yet known. 400 for a provider that cannot list",
    ),
    admin(
        "POST",
        "/provision-configurations/{id}/import",
        "importConfigurationServices",
        "Import chosen services of the configuration (1 to 20, each with its client), as POST /contract-products/import does one: a result per service in order (201 with the contract product and its import entry, or the error); services not reached within the request's time are answered not_tried, to be sent again",
    ),
    admin(
        "GET",
        "/provision-configurations/{id}/drift",
        "configurationDrift",
        "The configuration's latest drift sweep (daily, or `local-stack sweep drift`): services asked, those that differ from the record at their third party (status, identifier, package and other reported fields, due date) with each difference and its drift entry's log_id, corrections made (sync-due-date), and those that could not be asked; 404 before the first sweep",
    ),
    admin("POST", "/products", "createProduct", "Create a product: a provisioning template (blueprint, provider or automatic, deployment, setup action, provision field defaults)"),
    admin("GET", "/products", "listProducts", "List products"),
    admin("GET", "/products/{id}", "getProduct", "One product"),
    admin("PATCH", "/products/{id}", "updateProduct", "Change a product; contract products made from it keep what they inherited"),
    admin("POST", "/contract-products", "createContractProduct", "Create a contract product (status pending) from a product and/or explicit fields; the caller may give its id"),
    admin(
        "POST",
        "/contract-products/import",
        "importContractProduct",
        "Import a service that exists at a configuration's third party: the provider is asked (get-info); the contract product is made active or suspended as it shows it, with the provision fields it reports and an import entry in its log (log_id); 400 when the provider does not show it, 409 when another contract product holds it",
    ),
    admin(
        "GET",
        "/contract-products",
        "listContractProducts",
        "Contract products, newest first, searched by ?identifier= (prefix), client_id, status, blueprint, configuration_id (&limit=&cursor=); a client sees its own",
    ),
    admin("GET", "/contract-products/{id}", "getContractProduct", "One contract product (admin, or the owning client)"),
    admin(
        "PATCH",
        "/contract-products/{id}",
        "updateContractProduct",
        "Change a contract product's provision fields, field by field (null removes one; a mask keeps the stored secret); logged on the product",
    ),
    ApiRoute {
        method: "POST",
        path: "/contract-products/{id}/actions/{blueprint}/{action}",
        function: "action",
        operation_id: "runAction",
        summary: "Run one action of the product's blueprint with {\"params\": {...}}; every run is logged",
    },
    ApiRoute {
        method: "POST",
        path: "/webhooks/billing",
        function: "webhook",
        operation_id: "billingWebhook",
        summary: "A billing lifecycle event, signed with X-Signature: sha256=<hex HMAC-SHA256 of the raw body>; 202 when queued; 404 for a contract product that neither exists nor has an accepted order.paid; an order.paid that cannot run is refused before it is queued, nothing claimed: 400 naming the product that does not exist or the setup action's missing fields (from the product and the event's data), 409 without a default configuration",
    },
    admin(
        "POST",
        "/bulk-actions",
        "createBulkAction",
        "Run one action on many contract products as a tracked job: {blueprint, action, params, selection: {ids} or {filter: {configuration_id, status, client_id, blueprint}}}; 201 with the job (planned, then dispatched through the lifecycle queue, each item run once, within its configuration's limits); with dry_run: true, 200 with what would run and why not, nothing written",
    ),
    admin("GET", "/bulk-actions", "listBulkActions", "Bulk actions, newest first (?limit=&cursor=)"),
    admin(
        "GET",
        "/bulk-actions/{id}",
        "getBulkAction",
        "A bulk action's progress: state (planning, dispatching, running, finished, cancelled), items per status (queued, running, done, failed, cancelled), and its items with each run's log_id and error (?status=&cursor=)",
    ),
    admin("POST", "/bulk-actions/{id}/cancel", "cancelBulkAction", "Cancel a bulk action: its items not yet started do not run (those running finish); 409 when cancelled already"),
    admin(
        "POST",
        "/bulk-actions/{id}/resume",
        "resumeBulkAction",
        "Queue a bulk action's current step again (after a crash lost its message): planning or dispatching goes on, a dispatched job's queued items are queued again; an item still runs at most once",
    ),
    admin("POST", "/event-handlers", "createEventHandler", "Create an outgoing event handler (URL or Lambda target); a secret it makes is shown this once"),
    admin("GET", "/event-handlers", "listEventHandlers", "List outgoing event handlers"),
    admin("GET", "/event-handlers/{id}", "getEventHandler", "One event handler, its secret masked"),
    admin("PATCH", "/event-handlers/{id}", "updateEventHandler", "Change an event handler (status enabled / disabled / archived, priority, target ...)"),
    admin("GET", "/event-handlers/{id}/executions", "eventHandlerExecutions", "The deliveries of one handler: status code, duration, response excerpt, error"),
    admin("GET", "/lifecycle-events", "listLifecycleEvents", "Lifecycle events that failed (?status=failed, the default) or are not yet queued (?status=received), newest first (?limit=&cursor=)"),
    admin("GET", "/lifecycle-events/{id}", "getLifecycleEvent", "A lifecycle event: queued, processing, done or failed, with its log ids"),
    admin("POST", "/lifecycle-events/{id}/retry", "retryLifecycleEvent", "Send a failed lifecycle event again, as it was first queued, on its contract product's FIFO group; logged on the product"),
    logs("/contract-products/{id}/logs", "productLogs", "A contract product's logs, newest first (?status=&action=&since=&until=&limit=&cursor=); admin or owner"),
    logs("/provision-configurations/{id}/logs", "configurationLogs", "A configuration's logs, newest first; admin"),
    logs("/logs", "systemLogs", "Logs of one status (default error) across the system, newest first, within 31 days; admin"),
    logs("/logs/{log_id}", "logEntry", "One log entry with its debug data (admin); the owning client sees it without debug"),
    console("/console", "consoleIndex", "The console's page (HTML; not part of the JSON API)"),
    console("/console/{proxy+}", "consoleFile", "The console's assets, settings and in-app pages (not part of the JSON API)"),
];

const fn console(path: &'static str, operation_id: &'static str, summary: &'static str) -> ApiRoute {
    ApiRoute { method: "GET", path, function: "console", operation_id, summary }
}

/// The function that serves HTML rather than the JSON API: openapi.yaml leaves its routes out.
pub const CONSOLE_FUNCTION: &str = "console";

const fn logs(path: &'static str, operation_id: &'static str, summary: &'static str) -> ApiRoute {
    ApiRoute { method: "GET", path, function: "logs", operation_id, summary }
}

/// The function behind API Gateway's `$default` route: every request no route matches reaches it
/// and gets the JSON 404 of API.md rather than API Gateway's own body.
pub const FALLBACK_FUNCTION: &str = "admin";

/// Matches a path against a template, returning the path parameters. A last `{name+}` takes
/// the rest of the path (API Gateway's greedy parameter), at least one character of it.
pub fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut t = template.trim_matches('/').split('/');
    let mut p = path.trim_end_matches('/').trim_start_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                    let rest: Vec<&str> = std::iter::once(ps).chain(p).collect();
                    let rest = rest.join("/");
                    return (!rest.is_empty()).then(|| {
                        params.insert(name.to_owned(), rest);
                        params
                    });
                }
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.insert(name.to_owned(), ps.to_owned());
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The methods some route answers on a path (of any function), in the route table's order.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in ROUTES.iter().filter(|r| match_path(r.path, path).is_some()) {
        if !out.contains(&r.method) {
            out.push(r.method);
        }
    }
    out
}

/// The route of `function` for a method and path.
pub fn find(function: &str, method: &str, path: &str) -> Option<(&'static ApiRoute, HashMap<String, String>)> {
    ROUTES.iter().filter(|r| r.function == function && r.method.eq_ignore_ascii_case(method)).find_map(|r| match_path(r.path, path).map(|params| (r, params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_names_the_methods_it_answers() {
        assert_eq!(methods_of("/provision-configurations"), ["POST", "GET"]);
        assert_eq!(methods_of("/contract-products/cp-1/actions/servers/reboot"), ["POST"]);
        assert!(methods_of("/no/such/path").is_empty());
    }

    #[test]
    fn paths_match_templates_with_parameters() {
        let p = match_path("/contract-products/{id}/actions/{blueprint}/{action}", "/contract-products/cp-1/actions/servers/reboot").unwrap();
        assert_eq!(p["id"], "cp-1");
        assert_eq!(p["action"], "reboot");
        assert!(match_path("/blueprints", "/blueprints/").is_some());
        assert!(match_path("/blueprints", "/blueprints/x").is_none());
        assert!(match_path("/a/{id}", "/a/").is_none());
        assert!(match_path("/a/{id}", "/b/1").is_none());
        assert_eq!(match_path("/console/{proxy+}", "/console/services/cp-1/logs").unwrap()["proxy"], "services/cp-1/logs");
        assert!(match_path("/console/{proxy+}", "/console").is_none());
        assert!(match_path("/console/{proxy+}", "/console/").is_none());
        assert!(match_path("/console", "/console/").is_some());
    }

    #[test]
    fn routes_are_found_by_function_method_and_path() {
        assert!(find("admin", "GET", "/blueprints").is_some());
        assert!(find("admin", "POST", "/blueprints").is_none());
    }
}
