//! Groups and their members. A group's rule (which licenses members inherit) is in
//! licenses.rs with the other holdings.

use allot_core::{Command, GroupId};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Created, NoContent, invalid_id, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub members: usize,
    /// Licenses every member inherits (first come, first served).
    pub licenses: Vec<String>,
    pub use_external_license: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user: String,
    /// Order of joining, 1 first: who is served first when units are short.
    pub position: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub user: String,
}

fn view(group: &allot_core::state::Group) -> GroupView {
    GroupView {
        id: group.id.to_string(),
        name: group.name.clone(),
        members: group.members.len(),
        licenses: group.rule.licenses.iter().map(ToString::to_string).collect(),
        use_external_license: group.rule.external,
    }
}

fn read_group(app: &App, org: &str, group: &str) -> ApiResult<GroupView> {
    let books = app.books.read();
    let found = books.org(org).and_then(|o| GroupId::parse(group).ok().and_then(|id| o.groups.get(&id).map(view)));
    found.ok_or_else(|| ApiError::not_found(format!("group `{group}` does not exist in organization `{org}`")))
}

pub(crate) fn group_id(app: &App, org: &str, group: &str) -> ApiResult<GroupId> {
    let id =
        GroupId::parse(group).ok().filter(|id| app.books.read().org(org).is_some_and(|o| o.groups.contains_key(id)));
    id.ok_or_else(|| ApiError::not_found(format!("group `{group}` does not exist in organization `{org}`")))
}

/// List groups.
#[utoipa::path(get, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = GroupList), (status = 404, body = Problem)))]
pub async fn list(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> ApiResult<axum::Json<GroupList>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let books = app.books.read();
    let groups = books.org(&org).map(|o| o.groups.values().map(view).collect()).unwrap_or_default();
    Ok(axum::Json(GroupList { groups }))
}

/// Create a group.
#[utoipa::path(post, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])), request_body = CreateGroup,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = GroupView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<CreateGroup>,
) -> ApiResult<Created<GroupView>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let group = GroupId::parse(&body.id).map_err(invalid_id)?;
    let name = body.name.unwrap_or_else(|| body.id.clone());
    app.change(&caller, &[Command::CreateGroup { org: org_id, group: group.clone(), name }]).await?;
    read_group(&app, &org, group.as_str()).map(Created)
}

/// Read a group.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<axum::Json<GroupView>> {
    org_for(&app, &caller, &org, Access::Read)?;
    read_group(&app, &org, &group).map(axum::Json)
}

/// Delete a group: members lose what they inherited from it.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{group}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let group = group_id(&app, &org, &group)?;
    app.change(&caller, &[Command::DeleteGroup { org: org_id, group }]).await?;
    Ok(NoContent)
}

/// List members in order of joining.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}/members", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = MemberList), (status = 404, body = Problem)))]
pub async fn members(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<axum::Json<MemberList>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let group = group_id(&app, &org, &group)?;
    let books = app.books.read();
    let members = books
        .org(&org)
        .and_then(|o| o.groups.get(&group))
        .map(|g| {
            g.members.values().enumerate().map(|(i, u)| MemberView { user: u.to_string(), position: i + 1 }).collect()
        })
        .unwrap_or_default();
    Ok(axum::Json(MemberList { members }))
}

/// Add a member; they inherit the group's licenses if units are free, else wait in order.
#[utoipa::path(post, path = "/orgs/{org}/groups/{group}/members", tag = "groups", security(("bearer" = [])), request_body = AddMember,
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 201, body = MemberList), (status = 404, description = "Unknown group or user", body = Problem)))]
pub async fn add_member(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
    Json(body): Json<AddMember>,
) -> ApiResult<Created<MemberList>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let group_id = group_id(&app, &org, &group)?;
    let user = super::users::user_id(&app, &org, &body.user)?;
    app.change(&caller, &[Command::AddMember { org: org_id, group: group_id, user }]).await?;
    members(State(app), caller, Path((org, group))).await.map(|m| Created(m.0))
}

/// Remove a member.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{group}/members/{user}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id"),
        ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, description = "Unknown group or user, or not a member", body = Problem)))]
pub async fn remove_member(
    State(app): State<App>,
    caller: Caller,
    Path((org, group, user)): Path<(String, String, String)>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let group = group_id(&app, &org, &group)?;
    let user = super::users::user_id(&app, &org, &user)?;
    app.change(&caller, &[Command::RemoveMember { org: org_id, group, user }]).await?;
    Ok(NoContent)
}
