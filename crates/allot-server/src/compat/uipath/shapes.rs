//! UiPath's request and answer shapes (camelCase, as its API guide and OpenAPI files
//! spell them). Deprecated fields of its OpenAPI files are accepted and ignored.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeQuantity {
    pub code: String,
    pub quantity: i64,
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRuleRequest {
    pub user_bundle_codes: Vec<String>,
    #[serde(default)]
    pub use_external_license: Option<bool>,
    /// Deprecated in UiPath's OpenAPI files; accepted and ignored.
    #[serde(default, rename = "userBundleLicenses")]
    pub _user_bundle_licenses: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserLicenseRequest {
    pub user_ids: Vec<String>,
    pub user_bundle_codes: Vec<String>,
    #[serde(default)]
    pub use_external_license: Option<bool>,
    /// Deprecated in UiPath's OpenAPI files; accepted and ignored.
    #[serde(default, rename = "licenseCodes")]
    pub _license_codes: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveUsersRequest {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLicenseResult {
    pub user_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRuleResult {
    pub group_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CodeCount {
    pub code: String,
    pub allocated: i64,
    pub total: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLicenses {
    pub available_user_bundles: Vec<CodeCount>,
    pub allocated_user_bundles: Vec<String>,
    pub use_external_license: bool,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityGroup {
    pub id: String,
    pub name: String,
    pub display_name: String,
    /// 0 built-in, 1 custom.
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<IdentityUser>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRequest {
    pub partition_global_id: String,
    pub name: String,
    #[serde(default, rename = "directoryUserMemberIDs", alias = "directoryUserMemberIds")]
    pub directory_user_member_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityUser {
    pub id: String,
    pub user_name: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRequest {
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}
