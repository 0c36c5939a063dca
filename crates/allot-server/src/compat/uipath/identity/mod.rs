//! The identity endpoints allocations rely on: groups (with members) and users. The
//! `partitionGlobalId` is the organization id. User paths name no organization: it is the
//! path's `/{org}` prefix, else the caller's own organization.

mod shapes;

use allot_api::{CreateUser, UpdateUser, UserView};
use allot_core::{Command, GroupId, UserId};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::RngCore as _;
use serde::Deserialize;

use super::{Account, PmGroup, PmUser, bad_body};
use crate::api::{Created, NoContent};
use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Read, Write, parse_json};
use crate::service::OrgScope;
use shapes::{GroupRequest, IdentityGroup, IdentityUser, UserRequest};

pub fn routes() -> Router<App> {
    Router::new()
        // One path, two meanings: GET lists an organization's groups, PUT updates one group.
        .route("/identity_/api/Group/{id}", get(groups).put(update_group))
        .route("/identity_/api/Group/{org}/{group}", get(group).delete(delete_group))
        .route("/identity_/api/Group", post(create_group))
        .route("/identity_/api/User/{user}", get(user).put(put_user).delete(delete_user))
}

/// `/identity_/api/Group/{id}`: GET names an organization, PUT a group.
#[derive(Deserialize)]
pub struct IdPath {
    id: String,
}

/// `/identity_/api/Group/{org}/{group}`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

/// `/identity_/api/User/{user}`.
#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

fn user_view(user: UserView) -> IdentityUser {
    IdentityUser { id: user.id.clone(), user_name: user.id, name: user.name, email: user.email }
}

fn group_view(org: &OrgScope, group: &str, with_members: bool) -> ApiResult<IdentityGroup> {
    let found = org.group(group)?;
    let members = match with_members {
        true => {
            Some(org.members(group)?.members.iter().filter_map(|m| org.user(&m.user).ok()).map(user_view).collect())
        }
        false => None,
    };
    Ok(IdentityGroup { id: found.id, name: found.name.clone(), display_name: found.name, kind: 1, members })
}

/// All groups of the organization.
pub async fn groups(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<IdPath>,
) -> ApiResult<Json<Vec<IdentityGroup>>> {
    let account = Account::<PmGroup, Read>::authorize(&app, caller, &path.id)?;
    let groups = account.groups()?.groups.into_iter();
    Ok(Json(
        groups
            .map(|g| IdentityGroup { id: g.id, name: g.name.clone(), display_name: g.name, kind: 1, members: None })
            .collect(),
    ))
}

/// One group, with its members.
pub async fn group(account: Account<PmGroup, Read>, Path(path): Path<GroupPath>) -> ApiResult<Json<IdentityGroup>> {
    let group = account.path_group(&path.group)?;
    group_view(&account, group.as_str(), true).map(Json)
}

fn members(app: &App, request: &GroupRequest) -> ApiResult<Vec<UserId>> {
    app.check_items(request.directory_user_member_ids.len())?;
    request.directory_user_member_ids.iter().map(|id| UserId::parse(id).map_err(|e| bad_body(e.to_string()))).collect()
}

/// Create a group, with members; its id is generated.
pub async fn create_group(
    State(app): State<App>,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Created<IdentityGroup>> {
    let request: GroupRequest = parse_json(&body)?;
    let account = Account::<PmGroup, Write>::authorize(&app, caller, &request.partition_global_id)?;
    let mut raw = [0u8; 8];
    rand::rng().fill_bytes(&mut raw);
    let id = GroupId::parse(&crate::hex(&raw)).map_err(|e| ApiError::internal(e.to_string()))?;
    if request.name.trim().is_empty() {
        return Err(bad_body("name: give the group a name"));
    }
    let org = account.org();
    let mut commands = vec![Command::CreateGroup { org: org.clone(), group: id.clone(), name: request.name.clone() }];
    for user in members(&app, &request)? {
        commands.push(Command::AddMember { org: org.clone(), group: id.clone(), user });
    }
    account.change(&commands).await?;
    group_view(&account, id.as_str(), true).map(Created)
}

/// Replace a group's members with `directoryUserMemberIDs` (the name is kept).
pub async fn update_group(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<IdPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<IdentityGroup>> {
    let request: GroupRequest = parse_json(&body)?;
    let account = Account::<PmGroup, Write>::authorize(&app, caller, &request.partition_global_id)?;
    let group = account.group_id(&path.id)?;
    account.replace_members(group.as_str(), members(&app, &request)?).await?;
    group_view(&account, group.as_str(), true).map(Json)
}

/// Delete a group: members lose what they inherited from it.
pub async fn delete_group(account: Account<PmGroup, Write>, Path(path): Path<GroupPath>) -> ApiResult<NoContent> {
    let group = account.path_group(&path.group)?;
    account.delete_group(group.as_str()).await.map(|()| NoContent)
}

pub async fn user(account: Account<PmUser, Read>, Path(path): Path<UserPath>) -> ApiResult<Json<IdentityUser>> {
    let found =
        account.user(&path.user).map_err(|_| ApiError::not_found(format!("user `{}` does not exist", path.user)));
    found.map(user_view).map(Json)
}

/// Create or update a user.
pub async fn put_user(
    account: Account<PmUser, Write>,
    Path(path): Path<UserPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<IdentityUser>> {
    let request: UserRequest = parse_json(&body)?;
    let id = UserId::parse(&path.user).map_err(|e| bad_body(e.to_string()))?;
    let name = match (request.name, request.surname) {
        (Some(name), Some(surname)) => Some(format!("{name} {surname}")),
        (name, _) => name,
    };
    let user = match account.user(id.as_str()) {
        Ok(_) => account.update_user(id.as_str(), UpdateUser { name, email: request.email, role: None }).await?,
        Err(_) => {
            let name = name.or(request.user_name);
            let user = CreateUser { id: path.user, name, email: request.email, role: None, password: None };
            account.create_user(user).await?
        }
    };
    Ok(Json(user_view(user)))
}

/// Delete a user: their licenses return to the pools, and their tokens are revoked (in
/// the deletion's transaction).
pub async fn delete_user(account: Account<PmUser, Write>, Path(path): Path<UserPath>) -> ApiResult<NoContent> {
    let user = account.path_user(&path.user)?;
    account.delete_user(user.as_str()).await.map(|()| NoContent)
}
