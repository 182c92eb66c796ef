//! servers: virtual and dedicated servers (Hetzner Cloud, Linode, Virtualizor, SolusVM ...).

use super::schema::*;
use super::{Action, Blueprint};
use serde_json::Value;

fn instance() -> Obj {
    params().req("instance_id", string())
}

/// A size by plan name, or by memory, cores and disk.
fn sizing(o: Obj) -> Obj {
    o.opt("size", string()).opt("memory_mb", int_min(1)).opt("cpu_cores", int_min(1)).opt("disk_mb", int_min(1)).any_required(&[&["size"], &["memory_mb", "cpu_cores", "disk_mb"]])
}

fn server_info() -> Value {
    result()
        .req("instance_id", string())
        .req("state", string())
        .opt("suspended", boolean())
        .req("label", string())
        .opt("hostname", string())
        .opt("ip_address", ip())
        .req("image", string())
        .opt("size", string())
        .opt("memory_mb", integer())
        .opt("cpu_cores", integer())
        .opt("disk_mb", integer())
        .req("location", string())
        .opt("node", string())
        .opt("virtualization_type", string())
        .opt("customer_identifier", string())
        .opt("created_at", datetime())
        .opt("updated_at", datetime())
        .opt("software", any_object())
        .opt("licenses", any_object())
        .opt("metadata", any_object())
        .build()
}

fn power(id: &'static str, name: &'static str, description: &'static str, function: &'static str) -> Action {
    Action::new(id, name, description).function(function).params(instance()).result(server_info())
}

pub(super) fn blueprint() -> Blueprint {
    Blueprint {
        id: "servers",
        name: "Servers",
        description: "Virtual and dedicated servers: deploy, power, resize, rebuild and decommission them.",
        framework_category: "servers",
        service_identifier: "the server's instance id at the provider",
        identifier_fields: &["instance_id"],
        actions: vec![
            Action::new("create-server", "Create server", "Deploy a new server instance.")
                .function("create")
                .creates()
                .long_running()
                .params(sizing(
                    params()
                        .opt("customer_identifier", string())
                        .opt("upmind_client_int_id", integer())
                        .opt("customer_name", string())
                        .req("email", email())
                        .req("label", alpha_dash_dot())
                        .req("location", string())
                        .req("image", string())
                        .opt("root_password", secret())
                        .opt("virtualization_type", string())
                        .opt("software", any_object())
                        .opt("licenses", any_object())
                        .opt("metadata", any_object()),
                ))
                .result(server_info()),
            Action::new("reinstall-server", "Reinstall server", "Reinstall the server OS or software.")
                .function("reinstall")
                .long_running()
                .params(instance().req("image", string()).opt("root_password", secret()))
                .result(server_info()),
            Action::new("resize-server", "Resize server", "Adjust server resources such as CPU, RAM, or storage.")
                .function("resize")
                .long_running()
                .params(sizing(instance().opt("resize_running", boolean())))
                .result(server_info()),
            Action::new("get-info", "Get info", "Get the detailed status and configuration of the server.").function("getInfo").client().params(instance()).result(server_info()),
            Action::new("get-connection", "Get connection", "Retrieve connection details such as IP addresses and ports.")
                .function("getConnection")
                .client()
                .active_only()
                .params(instance().opt("application", string()).opt("application_params", any_object()))
                .result(
                    result()
                        .req("type", one_of(&["ssh", "vnc", "redirect", "form_post"]))
                        .opt("command", pattern("^ssh .+@.+"))
                        .opt("redirect_url", url())
                        .opt("form_post", result().req("url", url()).req("params", any_object()).build())
                        .opt(
                            "vnc_connection",
                            result()
                                .opt("websocket_url", secret_matching("^wss://"))
                                .opt("host", string())
                                .opt("port", int_range(1, 65535))
                                .opt("password", secret())
                                .opt("username", string())
                                .build(),
                        )
                        .opt("password", secret())
                        .opt("expires_at", datetime()),
                ),
            Action::new("change-root-password", "Change root password", "Update the server’s root/admin password.")
                .function("changeRootPassword")
                .params(instance().req("root_password", secret()))
                .result(server_info()),
            power("power-on", "Power on", "Power up the server.", "powerOn"),
            power("shut-down", "Shut down", "Gracefully power down the server.", "shutdown"),
            power("reboot", "Reboot", "Restart the server.", "reboot"),
            power("suspend", "Suspend", "Temporarily suspend the server.", "suspend").suspends(),
            power("unsuspend", "Unsuspend", "Resume a suspended server.", "unsuspend").unsuspends(),
            Action::new("terminate", "Terminate", "Permanently delete or decommission the server.").function("terminate").terminates().params(instance()),
        ],
    }
}
