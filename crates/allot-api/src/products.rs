//! The product catalogue.

use allot_core::Product;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityView {
    #[schema(value_type = crate::schema::ProductCode)]
    pub code: String,
    pub name: String,
    /// The capability a holder allowing overflow draws from once this one's pool is used
    /// up (Agent's overage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::ProductCode>)]
    pub overflow: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductView {
    #[schema(value_type = crate::schema::ProductCode)]
    pub code: String,
    pub name: String,
    pub kind: ProductKind,
    /// For `unit` products: the tenant service they are granted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::ServiceType>)]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<CapabilityView>,
    /// Eligibility: holders of any of these licenses (`code` or `code:capability`) may not
    /// hold this product; refused as `not_eligible`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<crate::schema::License>)]
    pub not_for: Vec<String>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            code: p.code.to_string(),
            name: p.name.clone(),
            kind: p.kind.into(),
            service_type: p.service_type.as_ref().map(ToString::to_string),
            capabilities: p
                .capabilities
                .iter()
                .map(|c| CapabilityView {
                    code: c.code.to_string(),
                    name: c.name.clone(),
                    overflow: c.overflow.as_ref().map(ToString::to_string),
                })
                .collect(),
            not_for: p.not_for.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductView>,
}

/// Who holds a product's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Held by users (named-user bundles, capability levels).
    User,
    /// Granted to tenants per service (robots, service units).
    Unit,
}

impl From<allot_core::ProductKind> for ProductKind {
    fn from(kind: allot_core::ProductKind) -> Self {
        match kind {
            allot_core::ProductKind::User => ProductKind::User,
            allot_core::ProductKind::Unit => ProductKind::Unit,
        }
    }
}

impl From<ProductKind> for allot_core::ProductKind {
    fn from(kind: ProductKind) -> Self {
        match kind {
            ProductKind::User => allot_core::ProductKind::User,
            ProductKind::Unit => allot_core::ProductKind::Unit,
        }
    }
}
