//! auto-login: single sign-on services (SpamExperts, SitePro, a generic SSO endpoint ...).

use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

fn account_identifier() -> Obj {
    params().req("username", string()).opt("service_identifier", string()).opt("package_identifier", string()).opt("extra", any_object())
}

/// BillingParams, shared with office-tools.
pub(super) fn billing_params() -> Value {
    params()
        .opt("transaction_id", string())
        .opt("invoice_number", string())
        .req("amount", number())
        .req("currency", currency())
        .opt("discount", number())
        .opt("tax", number())
        .opt("billing_cycle_months", int_min(1))
        .opt("expiry_date", date())
        .build()
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "auto-login",
        name: "Auto login",
        description: "Accounts at a third-party service that clients reach through a signed automatic login link.",
        framework_category: "auto-login",
        service_identifier: "the account's username at the service",
        identifier_fields: &["username"],
        actions: vec![
            Action::new("login", "Login", "Generates a secure automatic login link for clients.")
                .function("login")
                .client()
                .active_only()
                .params(account_identifier())
                .result(result().req("url", url())),
            Action::new("create", "Create", "Sets up necessary parameters for enabling auto login.")
                .function("create")
                .creates()
                .params(
                    params()
                        .req("user_id", string())
                        .opt("service_identifier", string())
                        .opt("package_identifier", string())
                        .opt("email", email())
                        .opt("customer_name", string())
                        .opt("promo_codes", array(string()))
                        .opt("billing", billing_params())
                        .opt("extra", any_object()),
                )
                .result(result().req("username", string()).opt("service_identifier", string()).opt("package_identifier", string()).opt("extra", any_object())),
            Action::new("renew", "Renew", "Extends or refreshes auto login credentials.").function("renew").params(account_identifier()),
            Action::new("suspend", "Suspend", "Temporarily disables auto login access.").function("suspend").suspends().params(account_identifier()),
            Action::new("unsuspend", "Unsuspend", "Restores suspended auto login functionality.").function("unsuspend").unsuspends().params(account_identifier()),
            Action::new("terminate", "Terminate", "Completely revokes auto login access.").function("terminate").terminates().params(account_identifier()),
        ],
    }
}
