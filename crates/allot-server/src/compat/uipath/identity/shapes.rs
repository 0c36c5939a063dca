//! UiPath's identity shapes (camelCase, as its OpenAPI definitions spell them): the
//! commands it takes and the DTOs it answers. Nullable fields are `Option`s.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// GroupDto.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDto {
    pub id: String,
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: GroupType,
    pub creation_time: String,
    pub last_modification_time: Option<String>,
    /// `null` in lists, the members when one group is read.
    pub members: Option<Vec<DirectoryUser>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupType {
    /// allot has no groups of its own making (UiPath's `builtIn` ones).
    Custom,
}

/// DirectoryUser: a member of a group, as the directory lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub object_type: &'static str,
    pub source: Option<&'static str>,
    pub identifier: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    pub city: Option<String>,
    pub department: Option<String>,
    pub extension_user_attributes: Option<BTreeMap<String, String>>,
    pub external_id: Option<String>,
    pub creation_time: String,
}

/// UserDto.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: String,
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub email_confirmed: bool,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub display_name: Option<String>,
    pub creation_time: String,
    pub last_modification_time: Option<String>,
    pub last_login_time: Option<String>,
    #[serde(rename = "groupIDs")]
    pub group_ids: Option<Vec<String>>,
    pub legacy_id: i64,
    pub is_active: bool,
    pub bypass_basic_auth_restriction: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub invitation_accepted: bool,
}

/// UserDtoPagedResultDto.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub total_count: i64,
    pub results: Option<Vec<UserDto>>,
}

/// IdentityResult: how the user operations answer, success or failure.
#[derive(Debug, Serialize)]
pub struct IdentityResult {
    pub succeeded: bool,
    pub errors: Option<Vec<IdentityError>>,
}

#[derive(Debug, Serialize)]
pub struct IdentityError {
    pub code: Option<String>,
    pub description: Option<String>,
}

impl IdentityResult {
    pub fn success() -> Self {
        Self { succeeded: true, errors: Some(Vec::new()) }
    }
}

/// CreateGroupCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGroup {
    #[serde(default)]
    pub partition_global_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "directoryUserMemberIDs", alias = "directoryUserMemberIds")]
    pub directory_user_member_ids: Option<Vec<String>>,
}

/// UpdateGroupCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateGroup {
    #[serde(default)]
    pub partition_global_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "directoryUserIDsToAdd", alias = "directoryUserIdsToAdd")]
    pub to_add: Option<Vec<String>>,
    #[serde(default, rename = "directoryUserIDsToRemove", alias = "directoryUserIdsToRemove")]
    pub to_remove: Option<Vec<String>>,
}

/// BulkGroupDeleteCommand.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteGroups {
    #[serde(default, rename = "groupIDs", alias = "groupIds")]
    pub group_ids: Option<Vec<String>>,
}

/// CreateUserCommandBase: one user of a bulk creation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub bypass_basic_auth_restriction: Option<bool>,
    #[serde(default)]
    pub legacy_id: Option<i64>,
    #[serde(default)]
    pub invitation_accepted: Option<bool>,
}

/// CreateUserCommand: a user, with a password and groups.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub bypass_basic_auth_restriction: Option<bool>,
    #[serde(default)]
    pub legacy_id: Option<i64>,
    #[serde(default)]
    pub invitation_accepted: Option<bool>,
    #[serde(default)]
    pub partition_global_id: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Accepted and ignored: allot checks every password's strength.
    #[serde(default, rename = "validatePassword")]
    pub _validate_password: Option<IgnoredAny>,
    #[serde(default, rename = "groupIDs", alias = "groupIds")]
    pub group_ids: Option<Vec<String>>,
    /// External logins (CreateUserLoginCommand): allot has none, so only none are accepted.
    #[serde(default)]
    pub user_logins: Option<Vec<IgnoredAny>>,
}

impl CreateUser {
    /// The user's own fields, as a bulk creation gives them.
    pub fn split(self) -> (NewUser, Option<String>) {
        let user = NewUser {
            id: self.id,
            user_name: self.user_name,
            email: self.email,
            name: self.name,
            surname: self.surname,
            display_name: self.display_name,
            kind: self.kind,
            bypass_basic_auth_restriction: self.bypass_basic_auth_restriction,
            legacy_id: self.legacy_id,
            invitation_accepted: self.invitation_accepted,
        };
        (user, self.password)
    }
}

/// CreateUsersCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUsers {
    #[serde(default)]
    pub users: Option<Vec<NewUser>>,
    #[serde(default)]
    pub partition_global_id: Option<String>,
    #[serde(default, rename = "groupIDs", alias = "groupIds")]
    pub group_ids: Option<Vec<String>>,
}

/// UpdateUserCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default, rename = "groupIDsToAdd", alias = "groupIdsToAdd")]
    pub groups_to_add: Option<Vec<String>>,
    #[serde(default, rename = "groupIDsToRemove", alias = "groupIdsToRemove")]
    pub groups_to_remove: Option<Vec<String>>,
    #[serde(default)]
    pub bypass_basic_auth_restriction: Option<bool>,
    #[serde(default)]
    pub invitation_accepted: Option<bool>,
    #[serde(default)]
    pub extension_user_attributes_to_add_or_update: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub extension_user_attributes_to_remove: Option<Vec<String>>,
}

/// BulkSoftDeleteCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteUsers {
    #[serde(default)]
    pub partition_global_id: Option<String>,
    #[serde(default, alias = "userIDs")]
    pub user_ids: Option<Vec<String>>,
}

/// ChangeUserPasswordCommand.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassword {
    #[serde(default)]
    pub old_password: Option<String>,
    #[serde(default)]
    pub new_password: Option<String>,
}

/// The query of the group list: the user list's `top` and `skip`.
#[derive(Debug, Default, Deserialize)]
pub struct GroupPaging {
    #[serde(default)]
    pub top: Option<u32>,
    #[serde(default)]
    pub skip: Option<u32>,
}

/// The query of `GET User/users/{partitionGlobalId}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    #[serde(default)]
    pub search_term: Option<String>,
    #[serde(default)]
    pub top: Option<u32>,
    #[serde(default)]
    pub skip: Option<u32>,
    #[serde(default)]
    pub sort_by: Option<String>,
    #[serde(default)]
    pub sort_order: Option<SortOrder>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}
