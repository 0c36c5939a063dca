//! The product catalogue: which license codes exist, what kind they are, their capabilities.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{Capability, LicenseKey, ProductCode, ServiceType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A named-user license: a user holds it and it costs one unit of the organization's pool.
    User,
    /// A counted quantity granted to tenants per service type; no user holds it.
    Unit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityInfo {
    pub code: Capability,
    pub name: String,
    /// Where a holder that allows overflow draws from once this capability's pool is used
    /// up: Agent's overage, up to that pool's quantity and no further.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Capability>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub code: ProductCode,
    pub name: String,
    pub kind: ProductKind,
    /// For unit products: the tenant service the units belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Mutually exclusive levels; empty when the product is a single license.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<CapabilityInfo>,
    /// Eligibility: holders of any of these licenses may not hold this product (Analytics
    /// is refused to Agents), whichever of the two comes first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_for: Vec<LicenseKey>,
}

impl Product {
    pub fn capability(&self, wanted: &str) -> Option<&CapabilityInfo> {
        self.capabilities.iter().find(|c| c.code.as_str().eq_ignore_ascii_case(wanted))
    }

    /// Whether a holder of `license` may hold this product.
    pub fn allows_holder_of(&self, license: &LicenseKey) -> bool {
        !self.not_for.contains(license)
    }
}

/// The product whose capabilities are Vonage Contact Center's roles: each user holds one,
/// and each is contracted per organization like any other license.
pub const ROLE_PRODUCT: &str = "vccrole";
/// The role whose pool overflows into [`AGENT_OVERAGE`] for callers that allow overages.
pub const AGENT: &str = "agent";
/// Agents beyond the contracted ones: the pool's quantity is the maximum overage.
pub const AGENT_OVERAGE: &str = "agentoverage";

/// Why a license key does not name a license of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownLicense {
    #[error("license code `{0}` is not in the catalogue")]
    Product(String),
    #[error("license `{product}` has no capability `{capability}`")]
    Capability { product: String, capability: String },
    #[error("license `{0}` has capabilities: name one, as `{0}:<capability>`")]
    CapabilityMissing(String),
}

/// Products by code. Codes are looked up case-insensitively and answered in the
/// catalogue's spelling.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    products: BTreeMap<String, Product>,
}

impl Catalogue {
    pub fn get(&self, code: &str) -> Option<&Product> {
        // Codes are at most 64 bytes: lower-cased on the stack, a lookup allocates nothing.
        let mut lower = [0u8; 64];
        let lower = lower.get_mut(..code.len())?;
        lower.copy_from_slice(code.as_bytes());
        lower.make_ascii_lowercase();
        self.products.get(std::str::from_utf8(lower).ok()?)
    }

    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }

    pub fn insert(&mut self, product: Product) {
        self.products.insert(product.code.as_str().to_ascii_lowercase(), product);
    }

    pub fn remove(&mut self, code: &ProductCode) {
        self.products.remove(&code.as_str().to_ascii_lowercase());
    }

    /// The catalogue's spelling of a license, with its product. A product with
    /// capabilities needs one named; a product without takes none.
    pub fn resolve(&self, key: &LicenseKey) -> Result<(LicenseKey, &Product), UnknownLicense> {
        let product = self.get(key.product.as_str()).ok_or_else(|| UnknownLicense::Product(key.product.to_string()))?;
        let capability = match (&key.capability, product.capabilities.is_empty()) {
            (None, true) => None,
            (None, false) => return Err(UnknownLicense::CapabilityMissing(product.code.to_string())),
            (Some(wanted), _) => Some(
                product
                    .capability(wanted.as_str())
                    .ok_or_else(|| UnknownLicense::Capability {
                        product: product.code.to_string(),
                        capability: wanted.to_string(),
                    })?
                    .code
                    .clone(),
            ),
        };
        Ok((LicenseKey { product: product.code.clone(), capability }, product))
    }

    /// The catalogue allot ships with: every code of compat/uipath.md, plus the
    /// capability products of compat/vonage.md.
    pub fn default_products() -> Self {
        let mut catalogue = Self::default();
        // Built-in codes are constants; `default_catalogue_codes_are_valid` counts them all in.
        let users = USER_BUNDLES.iter().filter_map(|(code, name)| simple(code, name, ProductKind::User, None));
        let units = UNIT_CODES.iter().flat_map(|(service, codes)| {
            codes.iter().filter_map(|(code, name)| simple(code, name, ProductKind::Unit, Some(service)))
        });
        let levels = [
            with_capabilities("analytics", "Analytics", &[("creator", "Creator"), ("viewer", "Viewer")])
                .and_then(|p| not_for(p, &[AGENT, AGENT_OVERAGE])),
            with_capabilities("krispnoisecancellation", "KrispNoiseCancellation", &[("enabled", "Enabled")]),
            with_capabilities(ROLE_PRODUCT, "VCC role", ROLES).and_then(agent_overflows),
        ];
        users.chain(units).chain(levels.into_iter().flatten()).for_each(|p| catalogue.insert(p));
        catalogue
    }
}

const USER_BUNDLES: &[(&str, &str)] = &[
    ("ACNU", "Action Center - Named User"),
    ("ATTUNU", "Attended - Named User"),
    ("RPADEVPRONU", "Automation Developer - Named User"),
    ("AKIT", "Automation Express"),
    ("CTZDEVNU", "Citizen Developer - Named User"),
    ("AXPNU", "Express - Named User"),
    ("IDU", "Insights Designer"),
    ("PMBU", "Process Mining Business User"),
    ("PMD", "Process Mining Developer"),
    ("TSTNU", "Tester - Named User"),
    ("RPADEVNU", "RPA Developer - Named User"),
    ("ATTUCU", "Attended - Multiuser"),
    ("CTZDEVCU", "Citizen Developer - Multiuser"),
    ("RPADEVCU", "RPA Developer - Multiuser"),
    ("RPADEVPROCU", "Automation Developer - Multiuser"),
    ("TSTDEVPRONU", "Test Developer Pro - Named User"),
];

/// Vonage Contact Center's roles, each a license (compat/vonage.md).
const ROLES: &[(&str, &str)] = &[
    ("admin", "Admin"),
    ("supervisor", "Supervisor"),
    ("wallboard", "Wallboard"),
    (AGENT, "Agent"),
    (AGENT_OVERAGE, "Agent (overage)"),
];

const UNIT_CODES: &[(&str, &[(&str, &str)])] = &[
    (
        "orchestrator",
        &[
            ("UNATT", "Unattended Robot"),
            ("NONPR", "NonProduction Robot"),
            ("TAUNATT", "Testing Robot"),
            ("UNATT-HOSTING", "Unattended Robot - Hosting"),
            ("APPTESTR", "App Testing Robot"),
            ("ACR", "Automation Cloud Robot"),
            ("PERFTEST", "Performance Testing"),
        ],
    ),
    ("aicenter", &[("AIG", "AI Center")]),
    ("du", &[("TIE", "Document Understanding")]),
    ("dataservice", &[("DSU", "Data Service Unit")]),
];

fn simple(code: &str, name: &str, kind: ProductKind, service: Option<&str>) -> Option<Product> {
    Some(Product {
        code: ProductCode::parse(code).ok()?,
        name: name.to_owned(),
        kind,
        service_type: service.map(ServiceType::parse).transpose().ok()?,
        capabilities: Vec::new(),
        not_for: Vec::new(),
    })
}

fn with_capabilities(code: &str, name: &str, capabilities: &[(&str, &str)]) -> Option<Product> {
    let capabilities = capabilities
        .iter()
        .map(|(c, n)| Some(CapabilityInfo { code: Capability::parse(c).ok()?, name: (*n).to_owned(), overflow: None }))
        .collect::<Option<Vec<_>>>()?;
    Some(Product { capabilities, ..simple(code, name, ProductKind::User, None)? })
}

/// The product, refused to holders of these roles.
fn not_for(mut product: Product, roles: &[&str]) -> Option<Product> {
    for role in roles {
        let capability = Some(Capability::parse(role).ok()?);
        product.not_for.push(LicenseKey { product: ProductCode::parse(ROLE_PRODUCT).ok()?, capability });
    }
    Some(product)
}

/// The role product, its Agent pool overflowing into the overage pool.
fn agent_overflows(mut roles: Product) -> Option<Product> {
    let overage = Capability::parse(AGENT_OVERAGE).ok()?;
    let agent = roles.capabilities.iter_mut().find(|c| c.code.as_str() == AGENT)?;
    agent.overflow = Some(overage);
    Some(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalogue_codes_are_valid() {
        let catalogue = Catalogue::default_products();
        assert_eq!(catalogue.products().count(), USER_BUNDLES.len() + 10 + 3);
        assert_eq!(catalogue.get("unatt").map(|p| p.kind), Some(ProductKind::Unit));
        assert_eq!(catalogue.get("Analytics").map(|p| p.capabilities.len()), Some(2));
        let roles = catalogue.get(ROLE_PRODUCT).unwrap();
        assert_eq!(roles.capability(AGENT).unwrap().overflow.as_ref().map(Capability::as_str), Some(AGENT_OVERAGE));
        let analytics = catalogue.get("analytics").unwrap();
        assert!(!analytics.allows_holder_of(&LicenseKey::parse("vccrole:agent").unwrap()));
        assert!(analytics.allows_holder_of(&LicenseKey::parse("vccrole:wallboard").unwrap()));
    }

    #[test]
    fn resolve_answers_the_catalogue_spelling_and_requires_a_capability_where_there_are_some() {
        let catalogue = Catalogue::default_products();
        let (key, _) = catalogue.resolve(&LicenseKey::parse("rpadevnu").unwrap()).unwrap();
        assert_eq!(key.to_string(), "RPADEVNU");
        let (key, _) = catalogue.resolve(&LicenseKey::parse("ANALYTICS:Creator").unwrap()).unwrap();
        assert_eq!(key.to_string(), "analytics:creator");
        assert!(matches!(
            catalogue.resolve(&LicenseKey::parse("analytics").unwrap()),
            Err(UnknownLicense::CapabilityMissing(_))
        ));
        assert!(matches!(
            catalogue.resolve(&LicenseKey::parse("analytics:editor").unwrap()),
            Err(UnknownLicense::Capability { .. })
        ));
        assert!(matches!(catalogue.resolve(&LicenseKey::parse("NOPE").unwrap()), Err(UnknownLicense::Product(_))));
    }
}
