//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service.

use allot_core::{LicenseKey, Pool};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::rfc3339;

/// One pool's balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoolRow {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    #[schema(value_type = crate::schema::Quantity)]
    pub quantity: i64,
    pub allocated: i64,
    pub available: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_until: Option<String>,
}

impl PoolRow {
    pub fn new(license: &LicenseKey, pool: &Pool) -> Self {
        Self {
            license: license.to_string(),
            quantity: pool.grant.quantity,
            allocated: pool.allocated,
            available: pool.available(),
            valid_from: pool.grant.valid_from.map(rfc3339),
            valid_until: pool.grant.valid_until.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolList {
    pub pools: Vec<PoolRow>,
    pub revision: u64,
}

/// A quantity to grant: the pool of `license` at this scope becomes `quantity`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSetting {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    #[schema(value_type = crate::schema::Quantity)]
    #[serde(deserialize_with = "crate::schema::quantity")]
    pub quantity: i64,
    /// The units cannot be used before.
    #[serde(default)]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_from: Option<String>,
    /// The units cannot be used from then on.
    #[serde(default)]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_until: Option<String>,
}

/// Pools to set; pools not listed are left as they are.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPools {
    pub pools: Vec<PoolSetting>,
}
