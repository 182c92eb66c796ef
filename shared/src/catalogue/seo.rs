//! seo: SEO tool accounts (Marketgoo, Ranking Coach ...).

use super::schema::*;
use super::{Action, Blueprint};

fn account() -> Obj {
    params().req("username", string()).req("domain", domain()).opt("extra", any_object())
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "seo",
        name: "SEO",
        description: "Search engine optimisation tool accounts for a client's website.",
        framework_category: "seo",
        service_identifier: "the website's domain name",
        identifier_fields: &["domain"],
        actions: vec![
            Action::new("login-to-control-panel", "Login to control panel", "Grants direct access to the SEO control panel.")
                .function("login")
                .client()
                .active_only()
                .params(account())
                .result(result().req("url", url())),
            Action::new("create", "Create", "Initializes a new SEO service account.")
                .function("create")
                .creates()
                .params(
                    params()
                        .req("customer_id", string())
                        .req("customer_email", email())
                        .opt("customer_name", string())
                        .req("domain", domain())
                        .req("package_identifier", string())
                        .opt("promo_codes", array(string()))
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
                        .opt("extra", any_object()),
                )
                .result(result().req("username", string()).req("domain", domain()).opt("package_identifier", string())),
            Action::new("change-package", "Change package", "Updates the SEO plan or service package.").function("changePackage").params(account().req("package_identifier", string())),
            Action::new("suspend", "Suspend", "Pauses the SEO service.").function("suspend").suspends().params(account()),
            Action::new("unsuspend", "Unsuspend", "Reactivates a suspended SEO service.").function("unsuspend").unsuspends().params(account()),
            Action::new("terminate", "Terminate", "Cancels the SEO service entirely.").function("terminate").terminates().params(account()),
        ],
    }
}
