//! UiPath's shapes for the License Resource Manager (camelCase, as its definitions spell
//! them). Dates are Unix seconds; lists allot has nothing for are answered empty. Fields the
//! definitions type as doubles hold whole counts, written as .NET writes a whole double: `1`.

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::compat::uipath::shapes::CodeQuantity;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgLicenseRequest {
    #[serde(default)]
    pub product_quantities: Option<Vec<CodeQuantity>>,
    /// Accepted and ignored: allot never bypasses the check.
    #[serde(default, rename = "bypassUsageCheck")]
    pub _bypass_usage_check: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceLicenseRequest {
    #[serde(default)]
    pub tenant_name: Option<String>,
    #[serde(default)]
    pub products: Option<Vec<CodeQuantity>>,
    /// Accepted and ignored: allot never bypasses the check.
    #[serde(default, rename = "bypassUsageCheck")]
    pub _bypass_usage_check: Option<bool>,
}

/// A list allot has nothing for (templates, policies, entitlements, features, distributions).
#[derive(Debug, Default)]
pub struct NoneListed;

impl Serialize for NoneListed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_seq(Some(0))?.end()
    }
}

/// The definitions' `AccountProductDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProduct {
    pub code: String,
    pub quantity: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: NoneListed,
    pub consumption_distributions: NoneListed,
}

/// The definitions' `AccountLicenseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLicense {
    pub account_id: String,
    pub bundle_code: Option<String>,
    pub end_date: i64,
    pub grace_period: i64,
    pub license_code: String,
    pub license_status: &'static str,
    pub products: Vec<AccountProduct>,
    pub templates: NoneListed,
    pub policies: NoneListed,
    pub entitlements: NoneListed,
    pub start_date: i64,
    pub subscription_code: String,
    pub subscription_plan: &'static str,
    pub payload: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub parent_license_code: Option<String>,
}

/// The definitions' `ProductAvailabilityDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAvailability {
    pub code: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub available_quantity: i64,
    pub consumed_quantity: i64,
    pub total_quantity: i64,
}

/// The definitions' `OrganizationLicenseWithAvailableProducts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAvailability {
    pub license: AccountLicense,
    pub products_with_availability: Vec<ProductAvailability>,
}

/// The definitions' `AccountAvailableServicesDto`.
#[derive(Debug, Serialize)]
pub struct AvailableServices {
    pub services: Vec<String>,
}

/// The definitions' `ServiceProductDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProduct {
    pub code: String,
    pub quantity: i64,
    pub allocated: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: NoneListed,
    pub distribution_intervals: NoneListed,
}

/// The definitions' `LicenseData`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseData {
    pub license_code: String,
    pub parent_license_code: Option<String>,
    pub bundle_code: Option<String>,
    pub subscription_code: String,
    pub license_status: &'static str,
    pub start_date: i64,
    pub end_date: i64,
    pub grace_period: i64,
    pub products: Vec<ServiceProduct>,
    pub templates: NoneListed,
    pub policies: NoneListed,
    pub entitlements: NoneListed,
    pub payload: Option<String>,
    pub boon_license_code: Option<String>,
}

/// The definitions' `ServiceLicenseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicense {
    pub account_id: String,
    pub global_id: String,
    pub service_scope_id: String,
    pub service_type: Option<String>,
    pub license: LicenseData,
    pub user_licensing_enabled: bool,
    pub account_license_code: String,
}

/// The definitions' `ServiceLicenseStatusDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicenseStatus {
    pub account_id: String,
    pub service_scope_id: String,
    pub service_type: String,
    pub subscription_plan: &'static str,
    pub license_status: &'static str,
    pub expire_date: String,
    pub user_licensing_enabled: bool,
}

/// The definitions' `ProductDto`.
#[derive(Debug, Serialize)]
pub struct Product {
    pub code: String,
    pub quantity: i64,
    pub features: NoneListed,
}

/// The definitions' `TenantServiceProductDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantServiceProduct {
    pub code: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub quantity: i64,
    pub allocated: i64,
    pub reserved: i64,
    pub available: i64,
    pub used: i64,
    pub allocated_across_other_tenants: i64,
    pub consumed_by_deleted_tenants: i64,
    pub total_units: i64,
    pub consumed_at_organization_level: i64,
}

/// The definitions' `TenantServiceLicenseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantServiceLicense {
    pub service_type: String,
    pub products: Vec<TenantServiceProduct>,
}
