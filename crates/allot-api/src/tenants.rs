//! Tenants of an organization. Their pools (per service) are in pools.rs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::pools::PoolRow;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServicePools {
    #[schema(value_type = crate::schema::ServiceType)]
    pub service: String,
    pub pools: Vec<PoolRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    #[schema(value_type = crate::schema::TenantId)]
    pub id: String,
    pub name: String,
    pub services: Vec<ServicePools>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    #[schema(value_type = crate::schema::TenantId)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
