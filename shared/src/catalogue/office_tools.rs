//! office-tools: hosted e-mail and office suites (Titan Mail ...).

use super::auto_login::billing_params;
use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

fn service() -> Obj {
    params().req("service_id", string()).req("customer_id", string())
}

fn info_result() -> Value {
    result()
        .req("customer_id", string())
        .req("service_id", string())
        .req("domain", domain())
        .req("plan", string())
        .req("seat_count", int_min(0))
        .req("seat_count_used", int_min(0))
        .opt("status", string())
        .opt("expiry_date", date())
        .opt("metadata", any_object())
        .opt("control_panel_url", url())
        .opt("workspace_url", url())
        .build()
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "office-tools",
        name: "Office tools",
        description: "Hosted e-mail and office suites sold per seat for a client's domain.",
        framework_category: "office-tools",
        service_identifier: "the service id of the order at the provider",
        identifier_fields: &["service_id"],
        actions: vec![
            Action::new("create", "Create", "Initialize a new office tool account or service.")
                .function("create")
                .creates()
                .params(
                    params()
                        .req("domain", domain())
                        .req("customer_id", string())
                        .req("customer_email", email())
                        .req("plan", string())
                        .req("seat_count", int_min(1))
                        .opt("customer_name", string())
                        .opt("country_code", country_code())
                        .req("billing", billing_params())
                        .opt("metadata", any_object()),
                )
                .result(info_result()),
            Action::new("login", "Login", "Generate auto-login credentials or direct access links.")
                .function("login")
                .client()
                .active_only()
                .params(service().opt("locale", string()).opt("login_type", one_of(&["redirect", "token"])))
                .result(result().req("type", one_of(&["redirect", "token"])).opt("url", url()).opt("token", secret())),
            Action::new("get-info", "Get info", "Retrieve service details and status.").function("getInfo").client().params(service()).result(info_result()),
            Action::new("renew", "Renew", "Extend the subscription or license period.")
                .function("renew")
                .params(service().req("domain", domain()).req("billing", billing_params()).opt("metadata", any_object()))
                .result(info_result()),
            Action::new("change-package", "Change package", "Modify the subscribed office tool plan.")
                .function("changePackage")
                .params(service().req("domain", domain()).req("plan", string()).req("billing", billing_params()).req("seat_count", int_min(1)).opt("metadata", any_object()))
                .result(info_result()),
            Action::new("suspend", "Suspend", "Temporarily disable the office tool service.").function("suspend").suspends().params(service()).result(info_result()),
            Action::new("unsuspend", "Unsuspend", "Reactivate a suspended service.").function("unsuspend").unsuspends().params(service()).result(info_result()),
            Action::new("terminate", "Terminate", "Cancel and remove the office tool service.").function("terminate").terminates().params(service()),
        ],
    }
}
