//! Typed params: what a real provider's action method reads, parsed once from the params the
//! engine has already checked against the action's schema ("parse, don't validate"). Each
//! provider declares a struct per action beside its method (`implements!` names it, parses it
//! and hands it over); the blueprint's shared shapes (a contact, nameservers, reseller limits,
//! glue addresses) are here. A test parses every action's examples into its struct and fails
//! when a struct names a field the action's schema does not have.
//!
//! The catalogue's optional fields are nullable: absent and `null` both read as `None` (or as
//! the default, with [`or_default`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{ProviderCall, ProviderFailure};

impl ProviderCall<'_> {
    /// The call's params as the action's typed struct. They were checked against the schema, so
    /// a mismatch is a provider's bug: refused, nothing sent.
    pub fn params_as<T: DeserializeOwned>(&self) -> Result<T, ProviderFailure> {
        T::deserialize(self.params).map_err(|e| ProviderFailure::permanent(format!("the params of {}/{} do not fit the provider: {e}", self.blueprint.id, self.action.id)))
    }
}

/// A configuration's settings as a provider's typed struct (checked against its schema when
/// saved, so a mismatch is a bug: refused, nothing sent).
pub fn settings_as<T: DeserializeOwned>(provider: &str, settings: &Value) -> Result<T, ProviderFailure> {
    T::deserialize(settings).map_err(|e| ProviderFailure::permanent(format!("the settings do not fit {provider}: {e}")))
}

/// A nullable field read as its default when absent or `null` (with `#[serde(default)]`).
pub fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A nullable string read as `None` when absent, `null` or empty.
pub fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// A nameserver: its host and, for one under the domain itself, its address (glue).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Nameserver {
    pub host: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub ip: Option<String>,
}

/// Two to five nameservers, `ns1` … `ns5`, as the catalogue names them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Nameservers {
    pub ns1: Nameserver,
    pub ns2: Nameserver,
    #[serde(default)]
    pub ns3: Option<Nameserver>,
    #[serde(default)]
    pub ns4: Option<Nameserver>,
    #[serde(default)]
    pub ns5: Option<Nameserver>,
}

impl Nameservers {
    /// Those given (a non-empty host), each with its position (`ns1` is 0).
    pub fn list(&self) -> Vec<(usize, &Nameserver)> {
        [Some(&self.ns1), Some(&self.ns2), self.ns3.as_ref(), self.ns4.as_ref(), self.ns5.as_ref()]
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| n.filter(|n| !n.host.is_empty()).map(|n| (i, n)))
            .collect()
    }
}

/// A domain contact's details, as the catalogue names them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Contact {
    #[serde(default, deserialize_with = "non_empty")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub organisation: Option<String>,
    pub email: String,
    pub phone: String,
    pub address1: String,
    pub city: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub state: Option<String>,
    pub postcode: String,
    pub country_code: String,
    #[serde(default, deserialize_with = "non_empty")]
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub password: Option<String>,
}

/// A contact role of a registration: an existing handle at the registrar, or details to
/// register one from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ContactSlot {
    #[serde(default, deserialize_with = "non_empty")]
    pub id: Option<String>,
    #[serde(default)]
    pub register: Option<Contact>,
}

/// The four contact roles of a registration or a transfer (a role not given: none).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Contacts {
    #[serde(default)]
    pub registrant: Option<ContactSlot>,
    #[serde(default)]
    pub admin: Option<ContactSlot>,
    #[serde(default)]
    pub tech: Option<ContactSlot>,
    #[serde(default)]
    pub billing: Option<ContactSlot>,
}

impl Contacts {
    /// The roles besides the registrant, by the name registries give them.
    pub fn others(&self) -> [(&'static str, &Option<ContactSlot>); 3] {
        [("admin", &self.admin), ("tech", &self.tech), ("billing", &self.billing)]
    }
}

/// `register`: the domain, its period, contacts and nameservers.
#[derive(Deserialize, Serialize)]
pub struct Register {
    pub sld: String,
    pub tld: String,
    pub renew_years: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub whois_privacy: bool,
    #[serde(flatten)]
    pub contacts: Contacts,
    pub nameservers: Nameservers,
    #[serde(default)]
    pub additional_fields: Option<Map<String, Value>>,
}

/// `set-glue-record`: a host under the domain and one to four addresses.
#[derive(Debug, Deserialize, Serialize)]
pub struct GlueRecord {
    pub hostname: String,
    pub ip_1: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub ip_2: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub ip_3: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub ip_4: Option<String>,
}

impl GlueRecord {
    pub fn ips(&self) -> Vec<&str> {
        std::iter::once(self.ip_1.as_str()).chain([&self.ip_2, &self.ip_3, &self.ip_4].into_iter().flatten().map(String::as_str)).filter(|ip| !ip.is_empty()).collect()
    }
}

/// `remove-glue-record`: the host.
#[derive(Debug, Deserialize, Serialize)]
pub struct GlueHost {
    pub hostname: String,
}

/// A registration period in years (`renew`).
#[derive(Debug, Deserialize, Serialize)]
pub struct Renewal {
    pub renew_years: i64,
}

/// `set-lock`.
#[derive(Debug, Deserialize, Serialize)]
pub struct Lock {
    pub lock: bool,
}

/// `update-registrant`: the new registrant's details.
#[derive(Debug, Deserialize, Serialize)]
pub struct NewRegistrant {
    pub contact: Contact,
}

/// `update-ips-tag`.
#[derive(Debug, Deserialize, Serialize)]
pub struct IpsTag {
    pub ips_tag: String,
}

/// A hosting reseller's ACL list and limits (the framework's `reseller_options`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ResellerOptions {
    #[serde(default, deserialize_with = "non_empty")]
    pub acl_name: Option<String>,
    #[serde(default)]
    pub account_limit: Option<u64>,
    #[serde(default)]
    pub diskspace_mb_limit: Option<u64>,
    #[serde(default)]
    pub diskspace_overselling: Option<bool>,
    #[serde(default)]
    pub bandwidth_mb_limit: Option<u64>,
    #[serde(default)]
    pub bandwidth_overselling: Option<bool>,
}

/// A server's size: a plan by name (`size`), or memory, cores and disk.
#[derive(Debug, Deserialize, Serialize)]
pub struct ServerSize {
    #[serde(default, deserialize_with = "non_empty")]
    pub size: Option<String>,
    #[serde(default)]
    pub memory_mb: Option<u64>,
    #[serde(default)]
    pub cpu_cores: Option<u64>,
    #[serde(default)]
    pub disk_mb: Option<u64>,
}

/// `reinstall-server`: the image, and a root password where one is chosen.
#[derive(Debug, Deserialize, Serialize)]
pub struct Rebuild {
    pub image: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub root_password: Option<String>,
}

/// `resize-server`: a new size, and whether a running server may be stopped for it.
#[derive(Debug, Deserialize, Serialize)]
pub struct Resize {
    #[serde(default, deserialize_with = "or_default")]
    pub resize_running: bool,
    #[serde(flatten)]
    pub size: ServerSize,
}

/// What the test checks of each typed action: its struct parsed from a value and written back.
pub type Roundtrip = fn(&Value) -> Result<Value, String>;

/// Parses `value` as `T` and writes it back, for the test that pins the structs to the schemas.
pub fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let parsed = T::deserialize(value).map_err(|e| e.to_string())?;
    serde_json::to_value(parsed).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::Roundtrip;
    use crate::catalogue::catalogue;
    use crate::catalogue::example::example;
    use crate::providers::blueprints::Implements;

    /// A provider, its blueprint, and its typed actions.
    type Typed = (&'static str, &'static str, &'static [(&'static str, Roundtrip)]);

    /// Every real provider's typed actions, with their blueprint.
    fn typed() -> Vec<Typed> {
        vec![
            ("cpanel", "web-hosting", <crate::providers::cpanel::Cpanel as Implements>::PARAMS),
            ("hetzner-cloud", "servers", <crate::providers::hetzner::HetznerCloud as Implements>::PARAMS),
            ("openprovider", "domain-names", <crate::providers::openprovider::OpenProvider as Implements>::PARAMS),
            ("epp", "domain-names", <crate::providers::epp::Epp as Implements>::PARAMS),
            ("ispmanager", "software-licenses", <crate::providers::ispmanager::Ispmanager as Implements>::PARAMS),
            ("google-workspace", "office-tools", <crate::providers::google_workspace::GoogleWorkspace as Implements>::PARAMS),
            ("realtime-register", "domain-names", <crate::providers::realtime_register::RealtimeRegister as Implements>::PARAMS),
            ("proxmox", "servers", <crate::providers::proxmox::Proxmox as Implements>::PARAMS),
            ("plesk", "web-hosting", <crate::providers::plesk::Plesk as Implements>::PARAMS),
            ("duda", "website-builders", <crate::providers::duda::Duda as Implements>::PARAMS),
            ("marketgoo", "seo", <crate::providers::marketgoo::Marketgoo as Implements>::PARAMS),
            ("linode", "servers", <crate::providers::linode::Linode as Implements>::PARAMS),
            ("spamexperts", "auto-login", <crate::providers::spamexperts::SpamExperts as Implements>::PARAMS),
            ("openprovider-licenses", "software-licenses", <crate::providers::openprovider_licenses::OpenProviderLicenses as Implements>::PARAMS),
        ]
    }

    fn types(schema: &Value) -> Vec<&str> {
        match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        }
    }

    /// A value with every property of `schema` filled, at every level.
    fn every_field(schema: &Value) -> Value {
        if schema.get("enum").is_none() && types(schema).contains(&"object") {
            let props = schema["properties"].as_object().cloned().unwrap_or_default();
            return Value::Object(props.iter().map(|(k, v)| (k.clone(), every_field(v))).collect::<Map<_, _>>());
        }
        if types(schema).contains(&"array") {
            return json!([every_field(&schema["items"])]);
        }
        example(schema, &[])
    }

    /// The required fields only, every optional one given as null.
    fn nulls(schema: &Value) -> Value {
        let mut out = example(schema, &[]);
        for (k, v) in schema["properties"].as_object().into_iter().flatten() {
            if types(v).contains(&"null") && !out.as_object().is_some_and(|o| o.contains_key(k)) {
                out[k] = Value::Null;
            }
        }
        out
    }

    /// The fields of `value` that `schema` does not have, by path.
    fn unknown(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(o) => {
                let Some(props) = schema["properties"].as_object() else { return };
                for (k, v) in o {
                    match props.get(k) {
                        Some(sub) => unknown(v, sub, &format!("{path}.{k}"), out),
                        None => out.push(format!("{path}.{k}")),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| unknown(v, &schema["items"], path, out)),
            _ => {}
        }
    }

    /// Each typed action's struct reads the action's examples (every field given; only the
    /// required ones; the optional ones null) and names no field its schema lacks, so a typo in
    /// a struct fails here rather than reading as absent.
    #[test]
    fn typed_params_read_every_example_and_name_only_their_schemas_fields() {
        let mut problems = Vec::new();
        for (provider, blueprint, actions) in typed() {
            let b = catalogue().blueprint(blueprint).expect("a blueprint");
            for (method, roundtrip) in actions {
                let id = method.replace('_', "-");
                let action = b.actions.iter().find(|a| a.id == id).expect("an action of the blueprint");
                for (shape, value) in [("every field", every_field(&action.params)), ("required", example(&action.params, &[])), ("nulls", nulls(&action.params))] {
                    match roundtrip(&value) {
                        Ok(written) => {
                            let mut extra = Vec::new();
                            unknown(&written, &action.params, "", &mut extra);
                            if !extra.is_empty() {
                                problems.push(format!("{provider} {blueprint}/{id}: fields not in the schema: {extra:?}"));
                            }
                        }
                        Err(e) => problems.push(format!("{provider} {blueprint}/{id} ({shape}: {value}): {e}")),
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(typed().iter().all(|(_, _, actions)| !actions.is_empty()));
    }
}
