//! Groups and their members. A group's rule (which licenses members inherit) is in
//! licenses.rs with the other holdings.

use allot_api::{AddMember, CreateGroup, GroupList, GroupView, MemberList};
use serde::Deserialize;

use super::{Created, NoContent};
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Org, Path, Read, Write};

#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

#[derive(Deserialize)]
pub struct MemberPath {
    group: String,
    user: String,
}

/// List groups.
#[utoipa::path(get, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = GroupList), (status = 404, body = Problem)))]
pub async fn list(org: Org<Read>) -> ApiResult<axum::Json<GroupList>> {
    org.groups().map(axum::Json)
}

/// Create a group.
#[utoipa::path(post, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])), request_body = CreateGroup,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = GroupView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(org: Org<Write>, Json(body): Json<CreateGroup>) -> ApiResult<Created<GroupView>> {
    org.create_group(body).await.map(Created)
}

/// Read a group.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 404, body = Problem)))]
pub async fn get(org: Org<Read>, Path(path): Path<GroupPath>) -> ApiResult<axum::Json<GroupView>> {
    org.group(&path.group).map(axum::Json)
}

/// Delete a group: members lose what they inherited from it.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{group}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(org: Org<Write>, Path(path): Path<GroupPath>) -> ApiResult<NoContent> {
    org.delete_group(&path.group).await.map(|()| NoContent)
}

/// List members in order of joining.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}/members", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = MemberList), (status = 404, body = Problem)))]
pub async fn members(org: Org<Read>, Path(path): Path<GroupPath>) -> ApiResult<axum::Json<MemberList>> {
    org.members(&path.group).map(axum::Json)
}

/// Add a member; they inherit the group's licenses if units are free, else wait in order.
#[utoipa::path(post, path = "/orgs/{org}/groups/{group}/members", tag = "groups", security(("bearer" = [])), request_body = AddMember,
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 201, body = MemberList), (status = 404, description = "Unknown group or user", body = Problem)))]
pub async fn add_member(
    org: Org<Write>,
    Path(path): Path<GroupPath>,
    Json(body): Json<AddMember>,
) -> ApiResult<Created<MemberList>> {
    org.add_member(&path.group, &body.user).await.map(Created)
}

/// Remove a member.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{group}/members/{user}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id"),
        ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, description = "Unknown group or user, or not a member", body = Problem)))]
pub async fn remove_member(org: Org<Write>, Path(path): Path<MemberPath>) -> ApiResult<NoContent> {
    org.remove_member(&path.group, &path.user).await.map(|()| NoContent)
}
