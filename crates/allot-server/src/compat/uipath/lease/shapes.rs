//! UiPath's shapes for lease (camelCase, as its OpenAPI files spell them). Fields its
//! definitions mark nullable are `Option`s; deprecated ones are accepted and ignored.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::compat::uipath::shapes::CodeCount;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRuleRequest {
    #[serde(default)]
    pub user_bundle_codes: Option<Vec<String>>,
    #[serde(default)]
    pub use_external_license: Option<bool>,
    /// Deprecated in UiPath's OpenAPI files; accepted and ignored.
    #[serde(default, rename = "userBundleLicenses")]
    pub _user_bundle_licenses: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserLicenseRequest {
    #[serde(default)]
    pub user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub user_bundle_codes: Option<Vec<String>>,
    #[serde(default)]
    pub use_external_license: Option<bool>,
    /// Deprecated in UiPath's OpenAPI files; accepted and ignored.
    #[serde(default, rename = "licenseCodes")]
    pub _license_codes: Option<IgnoredAny>,
}

/// `UserIdsRequestDto`, `UserBundleDeallocationRequestDto`, `DeleteUsersFromGroupRequestDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserIds {
    #[serde(default)]
    pub user_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupIds {
    #[serde(default)]
    pub group_ids: Option<Vec<String>>,
}

/// `ProductUsageRequestDto` (and `ProductOrganizationUsageRequestDto`, its `timePeriod`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageRequest {
    #[serde(default)]
    pub client_ids: Option<Vec<String>>,
    #[serde(default)]
    pub time_period: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationUsageRequest {
    #[serde(default)]
    pub time_period: Option<i32>,
}

/// `UserLicenseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLicenseResult {
    pub user_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

/// `GroupRuleDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRuleResult {
    pub group_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

/// `GroupRuleAllocationDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLicenses {
    pub available_user_bundles: Vec<CodeCount>,
    pub allocated_user_bundles: Vec<String>,
    pub use_external_license: bool,
}

/// `UserBundleDeallocationResponseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deallocation {
    pub successful_user_ids: Vec<String>,
    pub failed_user_ids: Vec<String>,
}

/// `UserExplicitAllocationDto`: a user's (or, on `group/{id}/allocation`, a group's) own
/// allocation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplicitAllocation {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub last_in_use: Option<String>,
    pub user_bundle_licenses: Vec<String>,
    pub use_external_license: bool,
    pub orphan: bool,
}

/// `UserAllocationsDto`: a member and what it holds through one group.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberAllocation {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub display_name: Option<String>,
    pub last_in_use: Option<String>,
    pub user_bundle_licenses: Vec<String>,
    pub orphan: bool,
}

/// `GroupAllocationDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAllocation {
    pub id: String,
    pub name: Option<String>,
    pub user_bundle_licenses: Vec<String>,
    pub user_bundle_leases: BTreeMap<String, i64>,
    pub use_external_license: bool,
    pub orphan: bool,
}

/// `...PagedResult`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    pub total_count: usize,
    pub results: Vec<T>,
}

/// `UserLicenseAllocationDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAllocation {
    pub user_id: String,
    pub user_bundle_codes: Vec<String>,
    pub use_external_license: bool,
    pub inherited_from_group: bool,
}

/// `GroupInheritanceDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInheritance {
    pub group: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

/// `LicenseInheritanceDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseInheritance {
    pub currently_used_license: Vec<GroupInheritance>,
    pub all_group_license_allocation_rules: Vec<GroupInheritance>,
}

/// `EditableUserBundleDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditableUserBundles {
    pub available_user_bundles: Vec<CodeCount>,
    pub allocated_user_bundles: Vec<String>,
    pub explicit_allocation: bool,
    pub use_external_license: bool,
    pub group_license_inheritance: Vec<GroupInheritance>,
}

/// `UserLicenseStateResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseState {
    pub user_id: String,
    pub account_id: String,
    #[serde(rename = "license_token")]
    pub license_token: Option<String>,
}

/// `ProductUsageTimelineDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTimeline {
    pub client_id: String,
    pub product_code: String,
    pub product_usage: BTreeMap<String, f64>,
}

/// `ProductOrganizationUsageTimelineDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationTimeline {
    pub organization_id: String,
    pub product_code: String,
    pub product_usage: BTreeMap<String, f64>,
}

/// `ProductInUseDto`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InUse {
    pub client_id: String,
    pub product_code: String,
    pub used: f64,
    pub total: f64,
}
