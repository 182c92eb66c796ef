//! Products (provisioning templates the store sells) and contract products (one client's sold
//! service, known at the third party by its service identifier).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ProductStatus;
use super::ids::{ConfigurationId, ContractProductId, ProductId};

/// How a product finds its provision configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Deployment {
    /// Always this configuration.
    Static { configuration_id: ConfigurationId },
    /// The enabled default configuration of the provider, or else of the blueprint.
    Dynamic,
    /// Chosen per contract product among the enabled configurations of the blueprint (of the
    /// provider, where the product names one; with the tag, where given) that have room, as
    /// `strategy` orders them.
    Pool {
        #[serde(default)]
        strategy: Placement,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
}

impl Deployment {
    /// The configuration it always names, if it does.
    pub fn static_configuration(&self) -> Option<&ConfigurationId> {
        match self {
            Deployment::Static { configuration_id } => Some(configuration_id),
            Deployment::Dynamic | Deployment::Pool { .. } => None,
        }
    }

    /// What a contract product records of it.
    pub fn kind(&self) -> &'static str {
        match self {
            Deployment::Static { .. } => "static",
            Deployment::Dynamic => "dynamic",
            Deployment::Pool { .. } => "pool",
        }
    }
}

/// How a pool deployment orders the configurations with room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// The one holding the smallest share of its capacity (the fewest services, without one).
    #[default]
    LeastUsed,
    /// The oldest until it is full, then the next: as few systems in use as can be.
    Fill,
}

impl Placement {
    /// Orders configurations the way this strategy picks them, first choice first.
    pub fn order(self, candidates: &mut [super::configuration::Configuration]) {
        match self {
            Placement::LeastUsed => candidates.sort_by(|a, b| {
                let share = |c: &super::configuration::Configuration| c.services_count.max(0) as f64 / c.capacity.map_or(f64::INFINITY, |n| n.max(1) as f64);
                share(a).total_cmp(&share(b)).then(a.services_count.cmp(&b.services_count)).then(a.id.cmp(&b.id))
            }),
            Placement::Fill => candidates.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub blueprint: String,
    /// None: chosen automatically (dynamic deployment picks the blueprint's default).
    pub provider: Option<String>,
    pub deployment: Deployment,
    pub setup_action: String,
    pub provision_fields: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractProduct {
    pub id: ContractProductId,
    pub client_id: String,
    pub product_id: Option<ProductId>,
    pub blueprint: String,
    pub provider: String,
    pub provision_configuration_id: ConfigurationId,
    /// "static" or "dynamic": how the configuration was chosen.
    pub deployment: String,
    pub service_identifier: Option<String>,
    pub provision_fields: Map<String, Value>,
    pub setup_action: String,
    pub status: ProductStatus,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    /// The identifier of a create whose answer was lost (timeout): the next try checks the
    /// provider for it before creating anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed_create: Option<String>,
    /// A status move (suspend, unsuspend, delete ...) whose answer was lost: the next try of it
    /// asks the provider whether it happened before doing it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed_action: Option<String>,
}

/// A contract product search: one facet picks the index, the others filter. The service
/// identifier is matched by prefix, case-insensitively.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Search {
    pub identifier: Option<String>,
    pub client_id: Option<String>,
    pub configuration_id: Option<String>,
    pub status: Option<String>,
    pub blueprint: Option<String>,
}
