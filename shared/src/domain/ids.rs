//! Identifiers, parsed once at the boundary. A caller-given id (the billing system's own id of a
//! contract product, say) must be 1–128 characters of letters, digits and `._:-`; made ids are a
//! prefix and 128 random bits in hex.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

fn valid(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 128 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
}

/// 32 random hex characters.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

macro_rules! id_type {
    ($name:ident, $prefix:literal, $what:literal) => {
        #[doc = concat!("The id of ", $what, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                if valid(raw) { Ok($name(raw.to_owned())) } else { Err(format!("{} must be 1-128 letters, digits or ._:- characters", $what)) }
            }

            /// A fresh random id.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, random_hex()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(ConfigurationId, "cfg-", "a provision configuration");
id_type!(ProductId, "prd-", "a product");
id_type!(ContractProductId, "cp-", "a contract product");
id_type!(LogId, "log-", "a provision log entry");
id_type!(BulkJobId, "bulk-", "a bulk action");

/// Prefixes of contract product ids the engine keeps for itself (a configuration's connection
/// checks are logged under `configuration:<id>`): a caller cannot name a contract product so.
pub const RESERVED_PREFIXES: [&str; 1] = ["configuration:"];

impl ContractProductId {
    /// A contract product id a caller gives for a new contract product: [`ContractProductId::parse`],
    /// and none of the engine's own partitions.
    pub fn parse_given(raw: &str) -> Result<Self, String> {
        if RESERVED_PREFIXES.iter().any(|p| raw.as_bytes().get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes()))) {
            return Err(format!("a contract product id may not start with {}", RESERVED_PREFIXES.join(" or ")));
        }
        Self::parse(raw)
    }

    /// The pseudo product a configuration's connection checks are logged under.
    pub fn for_configuration(id: &ConfigurationId) -> Self {
        ContractProductId(format!("configuration:{id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly_and_generate_uniquely() {
        assert!(ContractProductId::parse("whmcs:service-42").is_ok());
        for bad in ["", "a b", "../etc", "x".repeat(129).as_str(), "ünï", "a/b", "<script>"] {
            assert!(ContractProductId::parse(bad).is_err(), "{bad:?}");
        }
        let a = ConfigurationId::generate();
        assert!(a.as_str().starts_with("cfg-") && a.as_str().len() == 36);
        assert_ne!(a, ConfigurationId::generate());
        let json: ConfigurationId = serde_json::from_str("\"cfg-1\"").unwrap();
        assert_eq!(json.as_str(), "cfg-1");
        assert!(serde_json::from_str::<ConfigurationId>("\"a b\"").is_err());
        assert!(ContractProductId::parse_given("Configuration:cfg-1").is_err());
        assert!(ContractProductId::parse_given("configurationé").is_err(), "refused, never a panic on a character boundary");
        assert!(ContractProductId::parse_given("whmcs:configuration:1").is_ok());
        assert_eq!(ContractProductId::for_configuration(&ConfigurationId::parse("cfg-1").unwrap()).as_str(), "configuration:cfg-1");
    }
}
