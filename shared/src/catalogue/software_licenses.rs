//! software-licenses: licence resellers (ispmanager, cPanel manage2, WHMCS ...).

use super::schema::*;
use super::{Action, Blueprint};

fn license() -> Obj {
    params().req("license_key", string()).opt("customer_identifier", string())
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "software-licenses",
        name: "Software licenses",
        description: "Software licences bought from a vendor or distributor and resold to clients.",
        framework_category: "software-licenses",
        service_identifier: "the licence key",
        identifier_fields: &["license_key"],
        actions: vec![
            Action::new("create-license", "Create license", "Issue a new software license to a client.")
                .function("create")
                .creates()
                .params(
                    params()
                        .req("customer_name", string())
                        .req("customer_email", email())
                        .opt("company_name", string())
                        .opt("customer_identifier", string())
                        .opt("service_identifier", string())
                        .opt("package_identifier", string())
                        .opt("ip", ip())
                        .opt("billing_cycle_months", integer())
                        .opt("extra", any_object()),
                )
                .result(result().req("license_key", string()).opt("service_identifier", string()).opt("package_identifier", string()).opt("customer_identifier", string())),
            Action::new("reissue-license", "Reissue license", "Replace or renew an existing license key.").function("reissue").params(license()).result(result().req("license_key", string())),
            Action::new("get-usage-data", "Get usage data", "Fetch current usage stats for the licensed software.")
                .function("getUsageData")
                .client()
                .params(license())
                .result(result().opt("units_consumed", int_min(0)).opt("usage_data", any_object())),
            Action::new("sync-tracked-product-quantities", "Sync tracked product quantities", "Update license quantities to match tracked data.")
                .params(license().req("quantities", array(params().req("product_identifier", string()).req("quantity", int_min(0)).build())))
                .result(result().req("license_key", string()).req("quantities", array(result().req("product_identifier", string()).req("quantity", int_min(0)).build()))),
            Action::new("upgrade-downgrade-license", "Upgrade/downgrade license", "Modify license level or features.")
                .function("changePackage")
                .params(license().req("package_identifier", string()).opt("billing_cycle_months", int_min(1)).opt("extra", any_object()))
                .result(result().opt("license_key", string()).opt("package_identifier", string())),
            Action::new("suspend-license", "Suspend license", "Temporarily disable the license.").function("suspend").suspends().params(license()),
            Action::new("unsuspend-license", "Unsuspend license", "Restore a suspended license.").function("unsuspend").unsuspends().params(license()),
            Action::new("terminate-license", "Terminate license", "Permanently revoke license access.").function("terminate").terminates().params(license()),
        ],
    }
}
