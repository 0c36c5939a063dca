//! Users of an organization: the people who hold licenses, and (with a role and a
//! password) administer the organization.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What a user may do through the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds licenses; may not use the API.
    #[default]
    Member,
    /// May read the organization's data.
    Reader,
    /// May read and change the organization's data.
    Admin,
}

impl From<allot_core::Role> for Role {
    fn from(role: allot_core::Role) -> Self {
        match role {
            allot_core::Role::Member => Role::Member,
            allot_core::Role::Reader => Role::Reader,
            allot_core::Role::Admin => Role::Admin,
        }
    }
}

impl From<Role> for allot_core::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => allot_core::Role::Member,
            Role::Reader => allot_core::Role::Reader,
            Role::Admin => allot_core::Role::Admin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = crate::schema::UserId)]
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub role: Role,
    /// Groups the user belongs to.
    #[schema(value_type = crate::schema::Vec<crate::schema::GroupId>)]
    pub groups: Vec<String>,
    /// The licenses held, direct and inherited: in listings asked `licenses=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<crate::licenses::HeldLicense>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::UserId>)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(value_type = crate::schema::UserId)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `member` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Lets a reader or admin log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Password>)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(value_type = crate::schema::Password)]
    pub password: String,
}

/// Which users a listing shows, a page at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// 100 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page: the last user id it listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::UserId>)]
    pub after: Option<String>,
    /// Users whose id, name or email contains this, in any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Users holding this license: a code (any capability) or `code:capability`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::License>)]
    pub license: Option<String>,
    /// Members of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::GroupId>)]
    pub group: Option<String>,
    /// With each user's licenses, direct and inherited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub licenses: bool,
}

impl UserQuery {
    /// The page asked for.
    pub fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit, after: self.after.clone() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 100 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page: the last user id it listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::UserId>)]
    pub after: Option<String>,
}
