//! UiPath's shapes for lease (camelCase, as its OpenAPI files spell them).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::compat::uipath::shapes::CodeCount;

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
#[serde(rename_all = "camelCase")]
pub struct GroupLicenses {
    pub available_user_bundles: Vec<CodeCount>,
    pub allocated_user_bundles: Vec<String>,
    pub use_external_license: bool,
}
