//! UiPath's shapes shared by its services, and the login's (camelCase, as its API guide and
//! OpenAPI files spell them). Deprecated fields of its OpenAPI files are accepted and ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct CodeCount {
    pub code: String,
    pub allocated: i64,
    pub total: i64,
}

impl From<&crate::service::HeldPool> for CodeCount {
    /// A held pool: its quantity, and what of it is allocated.
    fn from(held: &crate::service::HeldPool) -> Self {
        Self { code: held.license.to_string(), allocated: held.pool.allocated, total: held.pool.grant.quantity }
    }
}

/// A code and a quantity asked for (the definitions' `ProductQuantityDto`, `ProductRequested`):
/// neither is required; a missing quantity is 0.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeQuantity {
    pub code: Option<String>,
    #[serde(default)]
    pub quantity: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authenticate {
    #[serde(default, alias = "TenancyName", alias = "tenancyName")]
    pub tenancy_name: Option<String>,
    #[serde(alias = "UsernameOrEmailAddress", alias = "usernameOrEmailAddress")]
    pub username_or_email_address: String,
    #[serde(alias = "Password", alias = "password")]
    pub password: String,
}

/// ABP's answer envelope for `/api/account/authenticate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AbpAnswer {
    pub result: Option<String>,
    pub target_url: Option<String>,
    pub success: bool,
    pub error: Option<AbpError>,
    pub un_authorized_request: bool,
    #[serde(rename = "__abp")]
    pub abp: bool,
}

#[derive(Debug, Serialize)]
pub struct AbpError {
    pub code: i32,
    pub message: String,
    pub details: Option<String>,
}
