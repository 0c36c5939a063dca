//! The product catalogue.

use allot_core::{Product, ProductKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityView {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductView {
    pub code: String,
    pub name: String,
    /// `user` (held by users) or `unit` (granted to tenants).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<CapabilityView>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            code: p.code.to_string(),
            name: p.name.clone(),
            kind: match p.kind {
                ProductKind::User => "user".into(),
                ProductKind::Unit => "unit".into(),
            },
            service_type: p.service_type.as_ref().map(ToString::to_string),
            capabilities: p
                .capabilities
                .iter()
                .map(|c| CapabilityView { code: c.code.to_string(), name: c.name.clone() })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductView>,
}
