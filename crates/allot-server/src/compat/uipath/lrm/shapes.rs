//! UiPath's shapes for lrm (camelCase, as its OpenAPI files spell them).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::compat::uipath::shapes::CodeQuantity;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgLicenseRequest {
    pub product_quantities: Vec<CodeQuantity>,
    /// In UiPath's OpenAPI files; accepted and ignored: allot never bypasses the check.
    #[serde(default, rename = "bypassUsageCheck")]
    pub _bypass_usage_check: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceLicenseRequest {
    #[serde(default)]
    pub tenant_name: Option<String>,
    pub products: Vec<CodeQuantity>,
    /// In UiPath's OpenAPI files; accepted and ignored: allot never bypasses the check.
    #[serde(default, rename = "bypassUsageCheck")]
    pub _bypass_usage_check: Option<IgnoredAny>,
}

#[derive(Debug, Serialize)]
pub struct ProductQuantity {
    pub code: String,
    pub quantity: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Dates are Unix seconds (our decision; UiPath does not say).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLicense {
    pub account_id: String,
    pub license_code: String,
    pub bundle_code: Option<String>,
    pub subscription_code: String,
    pub subscription_plan: String,
    pub license_status: String,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub grace_period: i64,
    pub products: Vec<ProductQuantity>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAvailability {
    pub code: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub available_quantity: i64,
    pub consumed_quantity: i64,
    pub total_quantity: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgAvailability {
    pub license: AccountLicense,
    pub products_with_availability: Vec<ProductAvailability>,
}

#[derive(Debug, Serialize)]
pub struct ServiceProduct {
    pub code: String,
    pub quantity: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub allocated: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicenseBody {
    pub license_code: String,
    pub license_status: String,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub products: Vec<ServiceProduct>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicense {
    pub account_id: String,
    pub service_scope_id: String,
    pub service_type: String,
    pub license: ServiceLicenseBody,
    pub user_licensing_enabled: bool,
    pub account_license_code: String,
}
