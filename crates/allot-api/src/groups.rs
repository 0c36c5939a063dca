//! Groups and their members. A group's rule (which licenses members inherit) is with the
//! other holdings, in licenses.rs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    #[schema(value_type = crate::schema::GroupId)]
    pub id: String,
    pub name: String,
    pub members: usize,
    /// Licenses every member inherits (first come, first served).
    #[schema(value_type = crate::schema::Vec<crate::schema::License>)]
    pub licenses: Vec<String>,
    pub use_external_license: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    #[schema(value_type = crate::schema::GroupId)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    #[schema(value_type = crate::schema::UserId)]
    pub user: String,
    /// Order of joining, 1 first: who is served first when units are short.
    #[schema(minimum = 1)]
    pub position: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    #[schema(value_type = crate::schema::UserId)]
    pub user: String,
}
