//! domain-names: registrars and registries (EPP, OpenProvider, Nominet ...).

use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

/// Second-level label: letters, digits and dashes (no underscore where a name is registered).
fn sld(underscore: bool) -> Value {
    if underscore { pattern("^[A-Za-z0-9_-]{1,63}$") } else { pattern("^[A-Za-z0-9-]{1,63}$") }
}

fn tld() -> Value {
    pattern("^[A-Za-z0-9.-]{2,63}$")
}

/// Every function but poll and the availability check names the domain by sld and tld.
fn domain_params() -> Obj {
    params().req("sld", sld(true)).req("tld", tld())
}

fn contact_params() -> Value {
    params()
        .opt("name", string_max(255))
        .opt("organisation", string_max(255))
        .req("email", email())
        .req("phone", pattern("^\\+[0-9]{1,3}\\.?[0-9]{4,14}$"))
        .req("address1", string_max(255))
        .req("city", string_max(255))
        .opt("state", string_max(255))
        .req("postcode", string_max(32))
        .req("country_code", country_code())
        .opt("type", string())
        .opt("password", secret())
        .any_required(&[&["name"], &["organisation"]])
        .build()
}

/// An existing contact handle, or a new contact to create.
fn register_contact() -> Value {
    params().opt("id", string()).opt("register", contact_params()).any_required(&[&["id"], &["register"]]).build()
}

fn contact_data() -> Value {
    result()
        .opt("id", string())
        .opt("name", string())
        .opt("organisation", string())
        .opt("email", email())
        .opt("phone", string())
        .opt("address1", string())
        .opt("city", string())
        .opt("state", string())
        .opt("postcode", string())
        .opt("country_code", country_code())
        .opt("type", string())
        .build()
}

fn nameserver() -> Value {
    params().req("host", domain()).opt("ip", ip()).build()
}

fn nameservers(required: usize) -> Obj {
    (1..=5).fold(params(), |o, i| {
        let name = format!("ns{i}");
        if i <= required { o.req(&name, nameserver()) } else { o.opt(&name, nameserver()) }
    })
}

fn glue_record() -> Value {
    result().req("hostname", domain()).req("ips", array(ip())).build()
}

fn domain_result() -> Value {
    result()
        .req("id", string())
        .req("domain", domain())
        .req("statuses", array(string()))
        .opt("locked", boolean())
        .opt("whois_privacy", boolean())
        .opt("auto_renew", boolean())
        .opt("registrant", contact_data())
        .opt("billing", contact_data())
        .opt("tech", contact_data())
        .opt("admin", contact_data())
        .req("ns", nullable(result().merge(nameservers(0)).build()))
        .opt("glue_records", array(glue_record()))
        .req("created_at", nullable(datetime()))
        .req("updated_at", nullable(datetime()))
        .req("expires_at", nullable(datetime()))
        .opt("operation_status", one_of(&["in_progress", "complete"]))
        .build()
}

fn glue_records() -> Obj {
    result().opt("glue_records", array(glue_record()))
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "domain-names",
        name: "Domain names",
        description: "Domain registrations at a registrar or registry: register, transfer, renew and manage them.",
        framework_category: "domain-names",
        service_identifier: "the domain name (sld.tld)",
        identifier_fields: &["sld", "tld"],
        actions: vec![
            Action::new("register", "Register", "Registers a new domain name.")
                .function("register")
                .creates()
                .params(
                    params()
                        .req("sld", sld(false))
                        .req("tld", tld())
                        .req("renew_years", int_range(1, 10))
                        .opt("whois_privacy", boolean())
                        .req("registrant", register_contact())
                        .req("billing", register_contact())
                        .req("tech", register_contact())
                        .req("admin", register_contact())
                        .req("nameservers", nameservers(2).build())
                        .opt("additional_fields", any_object()),
                )
                .result(domain_result()),
            Action::new("transfer", "Transfer", "Initiates the transfer of a domain from another registrar.")
                .function("transfer")
                .creates()
                .long_running()
                .params(
                    params()
                        .req("sld", sld(false))
                        .req("tld", tld())
                        .opt("renew_years", int_range(0, 10))
                        .opt("whois_privacy", boolean())
                        .opt("epp_code", secret())
                        .opt("registrant", register_contact())
                        .opt("billing", register_contact())
                        .opt("tech", register_contact())
                        .opt("admin", register_contact()),
                )
                .result(domain_result()),
            Action::new("renew", "Renew", "Extends the domain registration period.").function("renew").params(domain_params().req("renew_years", int_range(1, 10))).result(domain_result()),
            Action::new("sync-due-date", "Sync due date", "Updates the expiry date to match the registrar’s records.").function("getInfo").params(domain_params()).result(domain_result()),
            Action::new("get-info", "Get info", "Retrieves current domain registration details.").function("getInfo").client().params(domain_params()).result(domain_result()),
            Action::new("set-lock", "Lock/unlock", "Enables or disables domain transfer locking.").function("setLock").params(domain_params().req("lock", boolean())).result(domain_result()),
            Action::new("update-nameservers", "Update nameservers", "Changes the domain's DNS nameservers.")
                .function("updateNameservers")
                .params(domain_params().merge(nameservers(2)))
                .result(result().merge(nameservers(0))),
            Action::new("update-registrant", "Update registrant", "Edits the domain owner’s details.")
                .function("updateRegistrantContact")
                .params(domain_params().req("contact", contact_params()))
                .result(contact_data()),
            Action::new("update-registrant-with-default-details", "Update registrant with default details", "Resets registrant info to default company data.")
                .params(domain_params())
                .result(contact_data()),
            Action::new("get-epp-code", "Get epp code (non-UK domains)", "Retrieves the authorization code for the domain transfer.")
                .function("getEppCode")
                .params(domain_params())
                .result(result().req("epp_code", secret())),
            Action::new("update-ips-tag", "Update IPS tag (UK domain release)", "Modifies the IPS tag for UK domains to enable transfers.")
                .function("updateIpsTag")
                .params(domain_params().req("ips_tag", pattern("^[A-Za-z0-9-]{2,16}$"))),
            Action::new("get-verification-status", "Get verification status", "Checks the verification state of a domain.").function("getVerificationStatus").client().params(domain_params()).result(
                result()
                    .opt("icann_verification_status", string())
                    .opt("cctld_verification_status", string())
                    .opt("verification_deadline", datetime())
                    .opt("days_to_suspend", integer())
                    .opt("email_bounced", boolean())
                    .opt("provider_specific_data", any_object())
                    .any_required(&[&["icann_verification_status"], &["cctld_verification_status"]]),
            ),
            Action::new("resend-verification-email", "Resend verification email", "Sends the domain verification email again.")
                .function("resendVerificationEmail")
                .params(domain_params())
                .result(result().req("success", boolean()).req("message", string())),
            Action::new("set-glue-record", "Set Glue Record", "Adds a glue record by linking a nameserver to an IP address.")
                .function("setGlueRecord")
                .params(domain_params().req("hostname", domain()).req("ip_1", ip()).opt("ip_2", ip()).opt("ip_3", ip()).opt("ip_4", ip()))
                .result(glue_records()),
            Action::new("remove-glue-record", "Remove Glue Record", "Deletes an existing glue record from the domain.")
                .function("removeGlueRecord")
                .params(domain_params().req("hostname", domain()))
                .result(glue_records()),
        ],
    }
}
