//! web-hosting: the framework's shared-hosting category (cPanel, Plesk, DirectAdmin ...).

use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

/// AccountUsername: how every call after create names the account.
fn account_username() -> Obj {
    params().opt("customer_id", string()).opt("subscription_id", string()).req("username", string_max(64)).opt("domain", domain()).opt("is_reseller", boolean())
}

fn reseller_options() -> Value {
    params()
        .opt("acl_name", string())
        .opt("account_limit", int_min(0))
        .opt("diskspace_mb_limit", int_min(0))
        .opt("diskspace_overselling", boolean())
        .opt("bandwidth_mb_limit", int_min(0))
        .opt("bandwidth_overselling", boolean())
        .build()
}

fn account_info() -> Value {
    result()
        .opt("customer_id", string())
        .opt("subscription_id", string())
        .req("username", string())
        .opt("domain", domain())
        .opt("reseller", boolean())
        .req("server_hostname", domain())
        .req("package_name", string())
        .req("suspended", boolean())
        .opt("suspend_reason", string())
        .opt("ip", ip())
        .opt("nameservers", array(domain()))
        .opt(
            "software",
            result()
                .req("software_id", string())
                .req("install_id", string())
                .opt("install_version", string())
                .req("admin_url", url())
                .opt("admin_email", email())
                .opt("admin_username", string())
                .opt("admin_password", secret())
                .build(),
        )
        .opt("location", string())
        .build()
}

/// UnitsConsumed: used, limit (null = unlimited) and the percentage used.
fn units() -> Value {
    result().req("used", number()).opt("limit", number()).opt("used_pc", pattern("^\\d+(\\.\\d+)?%$")).build()
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "web-hosting",
        name: "Web hosting",
        description: "Hosting accounts on a control panel server: create, manage and remove them.",
        framework_category: "shared-hosting",
        service_identifier: "the hosting account's username",
        identifier_fields: &["username"],
        actions: vec![
            Action::new("create-account", "Create account", "Automatically creates a new hosting account.")
                .function("create")
                .creates()
                .params(
                    params()
                        .opt("customer_id", string())
                        .opt("username", string_max(64))
                        .opt("owner_username", string())
                        .opt("owns_itself", boolean())
                        .req("email", email())
                        .opt("customer_name", string())
                        .opt("customer_reference", string())
                        .opt("customer_phone", string())
                        .opt(
                            "customer_address",
                            params()
                                .opt("address_1", string())
                                .opt("address_2", string())
                                .opt("city", string())
                                .opt("state", string())
                                .opt("postcode", string())
                                .opt("country_code", country_code())
                                .build(),
                        )
                        .opt("password", secret())
                        .opt("domain", domain())
                        .req("package_name", string())
                        .opt("as_reseller", boolean())
                        .opt("reseller_options", reseller_options())
                        .opt("custom_ip", ip())
                        .opt("location", string()),
                )
                .result(account_info()),
            Action::new("get-info", "Get info", "Retrieves current details about the hosting account.").function("getInfo").client().params(account_username()).result(account_info()),
            Action::new("get-usage-data", "Get usage data", "Fetches resource usage metrics (disk, bandwidth).").function("getUsage").client().params(account_username()).result(
                result()
                    .opt("usage_data", result().opt("disk_mb", units()).opt("bandwidth_mb", units()).opt("inodes", units()).opt("websites", units()).opt("mailboxes", units()).build())
                    .opt("reseller_usage_data", result().opt("disk_mb", units()).opt("bandwidth_mb", units()).opt("inodes", units()).opt("sub_accounts", units()).build()),
            ),
            Action::new("login-to-control-panel", "Login to control panel", "Provides a secure link to the hosting control panel and direct access without entering a username and password.")
                .function("getLoginUrl")
                .client()
                .active_only()
                .params(account_username().req("user_ip", ip()).opt("software", params().opt("software_id", string()).opt("install_id", string()).build()).opt("current_password", secret()))
                .result(result().req("login_url", url()).opt("for_ip", ip()).opt("expires", datetime()).opt("post_fields", any_object())),
            Action::new("make-reseller", "Make reseller", "Converts a hosting account into a reseller account.")
                .function("grantReseller")
                .params(params().req("username", string_max(64)).opt("owns_itself", boolean()))
                .result(result().req("reseller", boolean())),
            Action::new("revoke-reseller", "Revoke reseller", "Removes reseller privileges.").function("revokeReseller").params(account_username()).result(result().req("reseller", boolean())),
            Action::new("change-password", "Change password", "Updates the hosting account password.")
                .function("changePassword")
                .client()
                .params(params().opt("customer_id", string()).opt("subscription_id", string()).req("username", string_max(64)).req("password", secret())),
            Action::new("change-package", "Change package", "Switches the hosting plan or package.")
                .function("changePackage")
                .params(
                    params()
                        .req("username", string_max(64))
                        .opt("customer_id", string())
                        .opt("subscription_id", string())
                        .req("package_name", string())
                        .opt("as_reseller", boolean())
                        .opt("owns_itself", boolean())
                        .opt("reseller_options", reseller_options())
                        .opt("domain", domain()),
                )
                .result(account_info()),
            Action::new("suspend-account", "Suspend account", "Temporarily disables the hosting account.")
                .function("suspend")
                .suspends()
                .params(params().opt("customer_id", string()).opt("subscription_id", string()).req("username", string_max(64)).opt("domain", domain()).opt("reason", string_max(255)))
                .result(account_info()),
            Action::new("unsuspend-account", "Unsuspend account", "Reactivates a suspended account.").function("unSuspend").unsuspends().params(account_username()).result(account_info()),
            Action::new("delete-account", "Delete account", "Permanently removes the hosting account and data.").function("terminate").terminates().params(account_username()),
        ],
    }
}
