//! UiPath's shapes for identity (camelCase, as its OpenAPI files spell them).

use serde::{Deserialize, Serialize};

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
