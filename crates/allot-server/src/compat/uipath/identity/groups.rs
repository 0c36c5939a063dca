//! Groups: read (with members), created, their members added and removed, deleted.
//! Members join through the native API's commands, so they inherit the group's rule first
//! come, first served.

use allot_core::{Command, GroupId, UserId};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::shapes::{CreateGroup, DeleteGroups, GroupDto, GroupPaging, UpdateGroup};
use super::views::group_dto;
use super::{body_org, read_org};
use crate::api::{Created, NoContent};
use crate::app::{App, Caller};
use crate::compat::uipath::{Account, PmGroup, bad_body};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Query, Read, Write, parse_json};
use crate::prefix::OrgPrefix;
use allot_api::ErrorCode;

/// `/identity_/api/Group/{id}`: GET and DELETE name an organization, PUT a group.
#[derive(Deserialize)]
pub struct IdPath {
    id: String,
}

/// `/identity_/api/Group/{org}/{group}`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

/// The most groups or users a page holds, as the definitions bound `top`.
pub const MAX_TOP: u32 = 1000;

/// The organization's groups, all of them unless `top` and `skip` ask for a page.
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<IdPath>,
    Query(paging): Query<GroupPaging>,
) -> ApiResult<Json<Vec<GroupDto>>> {
    let account = Account::<PmGroup, Read>::authorize(&app, caller, &path.id)?;
    if paging.top.is_some_and(|top| top > MAX_TOP) {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery, format!("top: at most {MAX_TOP}")));
    }
    let (skip, top) = (paging.skip.unwrap_or(0) as usize, paging.top.map_or(usize::MAX, |top| top as usize));
    let ids: Vec<GroupId> = read_org(&account, |org| Ok(org.groups.keys().skip(skip).take(top).cloned().collect()))?;
    let lifetimes = account.lifetimes(&[], &ids).await?;
    // The page as the books stand now: a group deleted since is left out.
    read_org(&account, |org| {
        let groups = ids.iter().filter_map(|id| org.groups.get(id));
        Ok(Json(groups.map(|g| group_dto(org, g, &lifetimes, false)).collect()))
    })
}

/// One group, with its members in order of joining.
pub async fn one(account: Account<PmGroup, Read>, Path(path): Path<GroupPath>) -> ApiResult<Json<GroupDto>> {
    let group = account.path_group(&path.group)?;
    answer(&account, &group).await.map(Json)
}

/// The group with its members, dated: theirs and its own dates only.
async fn answer<A: Sync>(account: &Account<PmGroup, A>, group: &GroupId) -> ApiResult<GroupDto> {
    let members: Vec<UserId> = read_org(account, |org| {
        let found = org.groups.get(group).ok_or_else(|| account.missing("group", group.as_str()))?;
        Ok(found.members.values().cloned().collect())
    })?;
    let lifetimes = account.lifetimes(&members, std::slice::from_ref(group)).await?;
    read_org(account, |org| {
        let found = org.groups.get(group).ok_or_else(|| account.missing("group", group.as_str()))?;
        Ok(group_dto(org, found, &lifetimes, true))
    })
}

fn user_ids(ids: Option<&Vec<String>>) -> ApiResult<Vec<UserId>> {
    ids.into_iter().flatten().map(|id| UserId::parse(id).map_err(|e| bad_body(e.to_string()))).collect()
}

/// Create a group with members; its id is the one given, else a new UUID.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Created<GroupDto>> {
    let request: CreateGroup = parse_json(&body)?;
    let org = body_org(&caller, prefix.as_deref(), request.partition_global_id.as_deref())?;
    let account = Account::<PmGroup, Write>::authorize(&app, caller, &org)?;
    let id = request.id.unwrap_or_else(crate::random_uuid);
    let group = GroupId::parse(&id).map_err(|e| bad_body(format!("id: {e}")))?;
    let name = request.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| bad_body("name: give the group a name"))?;
    let members = user_ids(request.directory_user_member_ids.as_ref())?;
    app.check_items(members.len())?;
    let org = account.org();
    let mut commands = vec![Command::CreateGroup { org: org.clone(), group: group.clone(), name }];
    commands.extend(members.into_iter().map(|user| Command::AddMember {
        org: org.clone(),
        group: group.clone(),
        user,
    }));
    account.change(&commands).await?;
    answer(&account, &group).await.map(Created)
}

/// Rename (`name`), and add and remove members (removing one who is not a member changes
/// nothing), in one change.
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    Path(path): Path<IdPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<GroupDto>> {
    let request: UpdateGroup = parse_json(&body)?;
    let org = body_org(&caller, prefix.as_deref(), request.partition_global_id.as_deref())?;
    let account = Account::<PmGroup, Write>::authorize(&app, caller, &org)?;
    let group = account.path_group(&path.id)?;
    let name = request.name.map(|n| n.trim().to_owned());
    if name.as_ref().is_some_and(String::is_empty) {
        return Err(bad_body("name: give the group a name"));
    }
    let (join, leave) = (user_ids(request.to_add.as_ref())?, user_ids(request.to_remove.as_ref())?);
    app.check_items(join.len() + leave.len())?;
    account.edit_group(group.as_str(), name, join, leave).await?;
    answer(&account, &group).await.map(Json)
}

/// Delete one group: its members lose what they inherited from it.
pub async fn delete(account: Account<PmGroup, Write>, Path(path): Path<GroupPath>) -> ApiResult<NoContent> {
    let group = account.path_group(&path.group)?;
    account.delete_group(group.as_str()).await.map(|()| NoContent)
}

/// Delete several groups, all or nothing: one unknown id and none is deleted.
pub async fn delete_many(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<IdPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<NoContent> {
    let request: DeleteGroups = parse_json(&body)?;
    let account = Account::<PmGroup, Write>::authorize(&app, caller, &path.id)?;
    let named = request.group_ids.unwrap_or_default();
    app.check_items(named.len())?;
    let groups: Vec<GroupId> = named.iter().map(|group| account.path_group(group)).collect::<ApiResult<_>>()?;
    let org = account.org();
    let commands: Vec<Command> =
        groups.into_iter().map(|group| Command::DeleteGroup { org: org.clone(), group }).collect();
    account.change(&commands).await.map(|_| NoContent)
}
