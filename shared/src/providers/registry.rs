//! The registry: every provider's spec (its settings schema and what it supports, from its own
//! file) and the implementations a function holds, by blueprint and provider id.

use std::sync::{Arc, LazyLock};

use super::blueprints;
use super::{
    Connect, ProviderSpec, cpanel, demo, duda, epp, google_workspace, hetzner, http, ispmanager, linode, marketgoo, openprovider, openprovider_licenses, plesk, proxmox, realtime_register, spamexperts,
};
use crate::catalogue::catalogue;

/// The implementations a function holds, built once per Lambda instance.
#[derive(Clone)]
pub struct Implementations {
    demo: Arc<demo::Demo>,
    http: Arc<http::Http>,
    cpanel: Arc<cpanel::Cpanel>,
    hetzner: Arc<hetzner::HetznerCloud>,
    openprovider: Arc<openprovider::OpenProvider>,
    ispmanager: Arc<ispmanager::Ispmanager>,
    epp: Arc<epp::Epp>,
    spamexperts: Arc<spamexperts::SpamExperts>,
    openprovider_licenses: Arc<openprovider_licenses::OpenProviderLicenses>,
    linode: Arc<linode::Linode>,
    google_workspace: Arc<google_workspace::GoogleWorkspace>,
    marketgoo: Arc<marketgoo::Marketgoo>,
    duda: Arc<duda::Duda>,
    plesk: Arc<plesk::Plesk>,
    realtime_register: Arc<realtime_register::RealtimeRegister>,
    proxmox: Arc<proxmox::Proxmox>,
}

impl Implementations {
    /// Every provider, the demo's simulated third party kept in `demo_state`.
    pub fn new(demo_state: Arc<dyn crate::ports::DemoState>) -> Self {
        Implementations {
            demo: Arc::new(demo::Demo::new(demo_state)),
            http: Arc::new(http::Http::new()),
            cpanel: Arc::new(cpanel::Cpanel::new()),
            hetzner: Arc::new(hetzner::HetznerCloud::new()),
            openprovider: Arc::new(openprovider::OpenProvider::new()),
            ispmanager: Arc::new(ispmanager::Ispmanager::new()),
            epp: Arc::new(epp::Epp::new()),
            spamexperts: Arc::new(spamexperts::SpamExperts::new()),
            openprovider_licenses: Arc::new(openprovider_licenses::OpenProviderLicenses::new()),
            linode: Arc::new(linode::Linode::new()),
            google_workspace: Arc::new(google_workspace::GoogleWorkspace::new()),
            marketgoo: Arc::new(marketgoo::Marketgoo::new()),
            duda: Arc::new(duda::Duda::new()),
            plesk: Arc::new(plesk::Plesk::new()),
            realtime_register: Arc::new(realtime_register::RealtimeRegister::new()),
            proxmox: Arc::new(proxmox::Proxmox::new()),
        }
    }

    /// A provider of a blueprint: its actions, and its connection check.
    pub fn get(&self, blueprint: &str, provider_id: &str) -> Option<(blueprints::Implementation, Arc<dyn Connect>)> {
        use blueprints::Implementation as I;
        let spec = provider(blueprint, provider_id)?;
        /// One implementation serving every blueprint.
        macro_rules! every_blueprint {
            ($p:expr) => {{
                let p = $p;
                let actions = match blueprint {
                    "web-hosting" => I::WebHosting(p.clone()),
                    "domain-names" => I::DomainNames(p.clone()),
                    "auto-login" => I::AutoLogin(p.clone()),
                    "seo" => I::Seo(p.clone()),
                    "website-builders" => I::WebsiteBuilders(p.clone()),
                    "software-licenses" => I::SoftwareLicenses(p.clone()),
                    "servers" => I::Servers(p.clone()),
                    "office-tools" => I::OfficeTools(p.clone()),
                    _ => return None,
                };
                let connect: Arc<dyn Connect> = p;
                Some((actions, connect))
            }};
        }
        match spec.id {
            "demo" => every_blueprint!(self.demo.clone()),
            "http" => every_blueprint!(self.http.clone()),
            "cpanel" if blueprint == "web-hosting" => Some((I::WebHosting(self.cpanel.clone()), self.cpanel.clone() as Arc<dyn Connect>)),
            hetzner::ID if blueprint == "servers" => Some((I::Servers(self.hetzner.clone()), self.hetzner.clone() as Arc<dyn Connect>)),
            openprovider::ID if blueprint == "domain-names" => Some((I::DomainNames(self.openprovider.clone()), self.openprovider.clone() as Arc<dyn Connect>)),
            ispmanager::ID if blueprint == "software-licenses" => Some((I::SoftwareLicenses(self.ispmanager.clone()), self.ispmanager.clone() as Arc<dyn Connect>)),
            epp::ID if blueprint == "domain-names" => Some((I::DomainNames(self.epp.clone()), self.epp.clone() as Arc<dyn Connect>)),
            spamexperts::ID if blueprint == "auto-login" => Some((I::AutoLogin(self.spamexperts.clone()), self.spamexperts.clone() as Arc<dyn Connect>)),
            openprovider_licenses::ID if blueprint == "software-licenses" => Some((I::SoftwareLicenses(self.openprovider_licenses.clone()), self.openprovider_licenses.clone() as Arc<dyn Connect>)),
            linode::ID if blueprint == "servers" => Some((I::Servers(self.linode.clone()), self.linode.clone() as Arc<dyn Connect>)),
            google_workspace::ID if blueprint == "office-tools" => Some((I::OfficeTools(self.google_workspace.clone()), self.google_workspace.clone() as Arc<dyn Connect>)),
            marketgoo::ID if blueprint == "seo" => Some((I::Seo(self.marketgoo.clone()), self.marketgoo.clone() as Arc<dyn Connect>)),
            duda::ID if blueprint == "website-builders" => Some((I::WebsiteBuilders(self.duda.clone()), self.duda.clone() as Arc<dyn Connect>)),
            plesk::ID if blueprint == "web-hosting" => Some((I::WebHosting(self.plesk.clone()), self.plesk.clone() as Arc<dyn Connect>)),
            realtime_register::ID if blueprint == "domain-names" => Some((I::DomainNames(self.realtime_register.clone()), self.realtime_register.clone() as Arc<dyn Connect>)),
            proxmox::ID if blueprint == "servers" => Some((I::Servers(self.proxmox.clone()), self.proxmox.clone() as Arc<dyn Connect>)),
            _ => None,
        }
    }
}

static PROVIDERS: LazyLock<Vec<ProviderSpec>> = LazyLock::new(|| {
    let mut all: Vec<ProviderSpec> = catalogue().blueprints.iter().flat_map(|b| [demo::spec(b.id), http::spec(b.id)]).collect();
    all.push(cpanel::spec());
    all.push(hetzner::spec());
    all.push(openprovider::spec());
    all.push(ispmanager::spec());
    all.push(epp::spec());
    all.push(spamexperts::spec());
    all.push(openprovider_licenses::spec());
    all.push(linode::spec());
    all.push(google_workspace::spec());
    all.push(marketgoo::spec());
    all.push(duda::spec());
    all.push(plesk::spec());
    all.push(realtime_register::spec());
    all.push(proxmox::spec());
    all
});

/// Every provider of every blueprint.
pub fn providers() -> &'static [ProviderSpec] {
    &PROVIDERS
}

/// Every provider id, each once (the enum of a `provider` field; which ones a blueprint has is
/// in the catalogue).
pub fn provider_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for p in PROVIDERS.iter() {
        if !ids.contains(&p.id) {
            ids.push(p.id);
        }
    }
    ids
}

pub fn provider(blueprint: &str, id: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.blueprint == blueprint && p.id == id)
}
