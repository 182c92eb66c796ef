//! website-builders: site builder accounts (BaseKit, Weebly, Duda ...).

use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

fn account_identifier() -> Obj {
    params().opt("site_builder_user_id", string()).req("account_reference", string()).opt("domain_name", domain())
}

fn account_info() -> Value {
    result()
        .opt("site_builder_user_id", string())
        .req("account_reference", string())
        .opt("domain_name", domain())
        .req("package_reference", string())
        .opt("suspended", boolean())
        .opt("site_count", int_min(0))
        .opt("storage_used", string())
        .opt("ip_address", ip())
        .opt("is_published", boolean())
        .opt("has_ssl", boolean())
        .opt("extra", any_object())
        .build()
}

fn with_package() -> Obj {
    account_identifier().req("package_reference", string()).req("billing_cycle_months", int_min(1))
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "website-builders",
        name: "Website builders",
        description: "Website builder accounts where clients design and publish their sites.",
        framework_category: "website-builders",
        service_identifier: "the builder's account reference",
        identifier_fields: &["account_reference"],
        actions: vec![
            Action::new("create-account", "Create account", "Launch a new website builder account instantly.")
                .function("create")
                .creates()
                .params(
                    params()
                        .opt("site_builder_user_id", string())
                        .req("customer_id", string())
                        .req("customer_name", string())
                        .req("customer_email", email())
                        .opt("domain_name", domain())
                        .req("package_reference", string())
                        .req("billing_cycle_months", int_min(1))
                        .opt("password", secret())
                        .opt("language_code", pattern("^[a-z]{2}([_-][A-Za-z]{2})?$"))
                        .opt("extra", any_object()),
                )
                .result(account_info()),
            Action::new("get-info", "Get info", "Retrieve detailed information about an existing website builder account.")
                .function("getInfo")
                .client()
                .params(account_identifier())
                .result(account_info()),
            Action::new("manage-website", "Manage website", "Access management functions and settings for the website.")
                .function("login")
                .client()
                .active_only()
                .params(account_identifier())
                .result(result().req("login_url", url())),
            Action::new("change-package", "Change package", "Switch the website builder plan or features.").function("changePackage").params(with_package()).result(account_info()),
            Action::new("suspend-account", "Suspend account", "Temporarily disable a website builder account.").function("suspend").suspends().params(account_identifier()).result(account_info()),
            Action::new("unsuspend-account", "Unsuspend account", "Reactivate a suspended account.").function("unSuspend").unsuspends().params(with_package()).result(account_info()),
            Action::new("delete-account", "Delete account", "Permanently delete the website builder account and its data.").function("terminate").terminates().params(account_identifier()),
        ],
    }
}
