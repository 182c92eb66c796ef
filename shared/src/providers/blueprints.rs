//! One trait per blueprint, one method per action. A real provider writes one inherent method
//! per action it supports, named after the action (`create_license` for `create-license`), and
//! [`implements!`] makes its blueprint trait from them and the list of what it supports; every
//! other method of the trait answers [`not_supported`]. [`Implementation`] runs a call on the
//! method its action names.

use std::sync::Arc;

use super::{BoxFuture, ProviderCall, ProviderFailure, ProviderOutput};

pub type ProviderFuture<'a> = BoxFuture<'a, Result<ProviderOutput, ProviderFailure>>;

/// The answer of an action a provider's third party cannot do (the engine refuses such a call
/// before it reaches the provider: this is the last guard).
pub fn not_supported<'a>(provider: &str, call: &ProviderCall<'_>) -> ProviderFuture<'a> {
    let message = format!("{}/{} is not supported by {provider}", call.blueprint.id, call.action.id);
    Box::pin(async move { Err(ProviderFailure::permanent(message)) })
}

/// What an action answered: its message, its data, the service identifier it made or changed.
pub type Answer = Result<super::Answered, ProviderFailure>;

/// What a real provider's actions share for one call: a context opened from the call (a client
/// of the vendor with the configuration's settings, recording its exchanges), handed to the
/// action's method, then closed into the exchanges recorded.
pub trait Session: Send + Sync {
    type Cx<'s>: Send
    where
        Self: 's;
    /// Opens a call's context; what it needs of the call is read before the future, which
    /// borrows the provider only.
    fn open<'s>(&'s self, call: &ProviderCall<'_>) -> super::BoxFuture<'s, Result<Self::Cx<'s>, ProviderFailure>>;
    fn debug(cx: Self::Cx<'_>) -> Vec<serde_json::Value>;
}

/// The [`Session`] of a provider whose call context is its own `Api` (with its recorded
/// exchanges in `api.wire`), opened by `self.api(settings)`, or with `by configuration` by
/// `self.api(configuration id, settings)` (a provider that keeps tokens per configuration).
macro_rules! session_of_api {
    ($ty:ty) => {
        $crate::providers::blueprints::session_of_api!(@ $ty, self, call => self.api(call.settings));
    };
    ($ty:ty, by configuration) => {
        $crate::providers::blueprints::session_of_api!(@ $ty, self, call => self.api(call.configuration_id.as_str(), call.settings));
    };
    (@ $ty:ty, $this:ident, $call:ident => $open:expr) => {
        impl $crate::providers::blueprints::Session for $ty {
            type Cx<'s> = Api<'s>;

            fn open<'s>(&'s $this, $call: &$crate::providers::ProviderCall<'_>) -> $crate::providers::BoxFuture<'s, Result<Api<'s>, $crate::providers::ProviderFailure>> {
                let cx = $open;
                Box::pin(async move { cx })
            }

            fn debug(mut api: Api<'_>) -> Vec<serde_json::Value> {
                api.wire.take_debug()
            }
        }
    };
}
pub(crate) use session_of_api;

/// The actions a provider implements (method names, as [`implements!`] lists them).
pub trait Implements {
    const METHODS: &'static [&'static str];
    /// The actions that take typed params: the method and its struct's parse-and-write-back.
    const PARAMS: &'static [(&'static str, super::params::Roundtrip)];

    /// The ids of the actions of `blueprint` it implements (`create_license` → `create-license`).
    fn supported(blueprint: &str) -> Vec<&'static str> {
        let Some(b) = crate::catalogue::catalogue().blueprint(blueprint) else { return Vec::new() };
        b.actions.iter().map(|a| a.id).filter(|id| Self::METHODS.iter().any(|m| m.replace('_', "-") == *id)).collect()
    }
}

/// Implements a blueprint's trait for a provider from its inherent methods named after the
/// actions: `async fn <action>(&self, cx: &mut <Session::Cx>, call: &ProviderCall<'_>) -> Answer`,
/// or, for an action listed as `<action>(Params)`, with a last argument `p: Params`: the call's
/// params parsed into that struct before anything is opened or sent. Each trait method opens the
/// provider's [`Session`], runs the inherent method and answers with the exchanges recorded; the
/// methods left out answer [`not_supported`].
macro_rules! implements {
    (@typed $v:ident $p:ty) => {
        $v
    };
    ($trait:ident for $ty:ty as $id:expr, { $( $method:ident $( ( $params:ty ) )? ),* $(,)? }) => {
        impl $crate::providers::blueprints::$trait for $ty {
            fn provider_id(&self) -> &'static str {
                $id
            }

            $(
                fn $method<'a>(&'a self, call: $crate::providers::ProviderCall<'a>) -> $crate::providers::blueprints::ProviderFuture<'a> {
                    Box::pin(async move {
                        $( let typed = call.params_as::<$params>()?; )?
                        let mut cx = <Self as $crate::providers::blueprints::Session>::open(self, &call).await?;
                        let answer = <$ty>::$method(self, &mut cx, &call $(, $crate::providers::blueprints::implements!(@typed typed $params))?).await;
                        $crate::providers::with_debug(answer, <Self as $crate::providers::blueprints::Session>::debug(cx))
                    })
                }
            )*
        }

        impl $crate::providers::blueprints::Implements for $ty {
            const METHODS: &'static [&'static str] = &[$( stringify!($method) ),*];
            const PARAMS: &'static [(&'static str, $crate::providers::params::Roundtrip)] =
                &[$( $( (stringify!($method), $crate::providers::params::roundtrip::<$params> as $crate::providers::params::Roundtrip), )? )*];
        }
    };
}
pub(crate) use implements;

macro_rules! blueprint_traits {
    ($( $trait:ident $blueprint:literal { $( $method:ident $action:literal ),* $(,)? } )*) => {
        $(
            #[doc = concat!("The `", $blueprint, "` blueprint: one method per action.")]
            pub trait $trait: Send + Sync {
                /// The provider's id, as refusals name it.
                fn provider_id(&self) -> &'static str;

                $(
                    #[doc = concat!("`", $blueprint, "/", $action, "`")]
                    fn $method<'a>(&'a self, call: ProviderCall<'a>) -> ProviderFuture<'a> {
                        not_supported(self.provider_id(), &call)
                    }
                )*
            }
        )*

        $(
            impl dyn $trait {
                #[doc = concat!("Runs a call on the method of its action (an action not of `", $blueprint, "` is refused).")]
                pub fn run<'a>(&'a self, call: ProviderCall<'a>) -> ProviderFuture<'a> {
                    match call.action.id {
                        $( $action => self.$method(call), )*
                        other => {
                            let message = format!("{} has no action {other}", $blueprint);
                            Box::pin(async move { Err(ProviderFailure::permanent(message)) })
                        }
                    }
                }
            }
        )*

        /// A provider implementation, by the blueprint it implements.
        #[derive(Clone)]
        pub enum Implementation {
            $( $trait(Arc<dyn $trait>), )*
        }

        impl Implementation {
            /// Runs a call on the method of its action.
            pub fn run<'a>(&'a self, call: ProviderCall<'a>) -> ProviderFuture<'a> {
                match self {
                    $( Implementation::$trait(p) => p.run(call), )*
                }
            }
        }

        /// Every (blueprint, action) the traits declare, for the test that pins them to the catalogue.
        pub const DECLARED: &[(&str, &str)] = &[ $( $( ($blueprint, $action), )* )* ];
    };
}

blueprint_traits! {
    WebHosting "web-hosting" {
        create_account "create-account",
        get_info "get-info",
        get_usage_data "get-usage-data",
        login_to_control_panel "login-to-control-panel",
        make_reseller "make-reseller",
        revoke_reseller "revoke-reseller",
        change_password "change-password",
        change_package "change-package",
        suspend_account "suspend-account",
        unsuspend_account "unsuspend-account",
        delete_account "delete-account",
    }
    DomainNames "domain-names" {
        register "register",
        transfer "transfer",
        renew "renew",
        sync_due_date "sync-due-date",
        get_info "get-info",
        set_lock "set-lock",
        update_nameservers "update-nameservers",
        update_registrant "update-registrant",
        update_registrant_with_default_details "update-registrant-with-default-details",
        get_epp_code "get-epp-code",
        update_ips_tag "update-ips-tag",
        get_verification_status "get-verification-status",
        resend_verification_email "resend-verification-email",
        set_glue_record "set-glue-record",
        remove_glue_record "remove-glue-record",
    }
    AutoLogin "auto-login" {
        login "login",
        create "create",
        renew "renew",
        suspend "suspend",
        unsuspend "unsuspend",
        terminate "terminate",
    }
    Seo "seo" {
        login_to_control_panel "login-to-control-panel",
        create "create",
        change_package "change-package",
        suspend "suspend",
        unsuspend "unsuspend",
        terminate "terminate",
    }
    WebsiteBuilders "website-builders" {
        create_account "create-account",
        get_info "get-info",
        manage_website "manage-website",
        change_package "change-package",
        suspend_account "suspend-account",
        unsuspend_account "unsuspend-account",
        delete_account "delete-account",
    }
    SoftwareLicenses "software-licenses" {
        create_license "create-license",
        reissue_license "reissue-license",
        get_usage_data "get-usage-data",
        sync_tracked_product_quantities "sync-tracked-product-quantities",
        upgrade_downgrade_license "upgrade-downgrade-license",
        suspend_license "suspend-license",
        unsuspend_license "unsuspend-license",
        terminate_license "terminate-license",
    }
    Servers "servers" {
        create_server "create-server",
        reinstall_server "reinstall-server",
        resize_server "resize-server",
        get_info "get-info",
        get_connection "get-connection",
        change_root_password "change-root-password",
        power_on "power-on",
        shut_down "shut-down",
        reboot "reboot",
        suspend "suspend",
        unsuspend "unsuspend",
        terminate "terminate",
    }
    OfficeTools "office-tools" {
        create "create",
        login "login",
        get_info "get-info",
        renew "renew",
        change_package "change-package",
        suspend "suspend",
        unsuspend "unsuspend",
        terminate "terminate",
    }
}

/// Implements every blueprint's trait for a provider whose actions all go through one
/// `async fn execute(&self, call: ProviderCall<'_>) -> Result<ProviderOutput, ProviderFailure>`
/// (the demo, the http provider).
macro_rules! every_action_through_execute {
    ($ty:ty as $id:expr) => {
        $crate::providers::blueprints::every_action_through_execute!(@ $ty as $id;
            WebHosting { create_account, get_info, get_usage_data, login_to_control_panel, make_reseller, revoke_reseller, change_password, change_package, suspend_account, unsuspend_account, delete_account }
            DomainNames { register, transfer, renew, sync_due_date, get_info, set_lock, update_nameservers, update_registrant, update_registrant_with_default_details, get_epp_code, update_ips_tag, get_verification_status, resend_verification_email, set_glue_record, remove_glue_record }
            AutoLogin { login, create, renew, suspend, unsuspend, terminate }
            Seo { login_to_control_panel, create, change_package, suspend, unsuspend, terminate }
            WebsiteBuilders { create_account, get_info, manage_website, change_package, suspend_account, unsuspend_account, delete_account }
            SoftwareLicenses { create_license, reissue_license, get_usage_data, sync_tracked_product_quantities, upgrade_downgrade_license, suspend_license, unsuspend_license, terminate_license }
            Servers { create_server, reinstall_server, resize_server, get_info, get_connection, change_root_password, power_on, shut_down, reboot, suspend, unsuspend, terminate }
            OfficeTools { create, login, get_info, renew, change_package, suspend, unsuspend, terminate }
        );
    };
    (@ $ty:ty as $id:expr; $( $trait:ident { $( $method:ident ),* $(,)? } )*) => {
        $(
            impl $crate::providers::blueprints::$trait for $ty {
                fn provider_id(&self) -> &'static str {
                    $id
                }

                $(
                    fn $method<'a>(&'a self, call: $crate::providers::ProviderCall<'a>) -> $crate::providers::blueprints::ProviderFuture<'a> {
                        Box::pin(self.execute(call))
                    }
                )*
            }
        )*
    };
}
pub(crate) use every_action_through_execute;

#[cfg(test)]
mod tests {
    use super::DECLARED;
    use crate::catalogue::catalogue;

    #[test]
    fn the_traits_declare_exactly_the_catalogues_actions() {
        let catalogued: Vec<(&str, &str)> = catalogue().actions().map(|(b, a)| (b.id, a.id)).collect();
        assert_eq!(DECLARED, catalogued.as_slice());
    }
}
