//! The identity endpoints allocations rely on: groups (with members) and users. The
//! `partitionGlobalId` is the organization id. User paths name no organization: it is the
//! path's `/{org}` prefix, else the caller's own organization.

use allot_core::{Command, GroupId, UserId, UserProfile};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use rand::RngCore as _;

use super::shapes::{GroupRequest, IdentityGroup, IdentityUser, UserRequest};
use super::{Resource, apply, apply_current, authorize, bad_body};
use crate::api::{Created, NoContent};
use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::prefix::OrgPrefix;

fn user_view(id: &UserId, user: &allot_core::state::User) -> IdentityUser {
    IdentityUser {
        id: id.to_string(),
        user_name: id.to_string(),
        name: user.profile.name.clone(),
        email: user.profile.email.clone(),
    }
}

fn group_view(app: &App, org: &str, group: &GroupId, with_members: bool) -> ApiResult<IdentityGroup> {
    let books = app.books.read();
    let o = books.org(org).ok_or_else(|| ApiError::not_found(format!("organization `{org}` does not exist")))?;
    let g = o.groups.get(group).ok_or_else(|| ApiError::not_found(format!("group `{group}` does not exist")))?;
    let members = with_members
        .then(|| g.members.values().filter_map(|u| o.users.get_key_value(u)).map(|(id, u)| user_view(id, u)).collect());
    Ok(IdentityGroup { id: g.id.to_string(), name: g.name.clone(), display_name: g.name.clone(), kind: 1, members })
}

/// All groups of the organization.
pub async fn groups(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<Vec<IdentityGroup>>> {
    authorize(&app, &caller, &org, Resource::Group, false)?;
    let ids: Vec<GroupId> = app.books.read().org(&org).map(|o| o.groups.keys().cloned().collect()).unwrap_or_default();
    ids.iter().map(|id| group_view(&app, &org, id, false)).collect::<ApiResult<_>>().map(axum::Json)
}

/// One group, with its members.
pub async fn group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<axum::Json<IdentityGroup>> {
    authorize(&app, &caller, &org, Resource::Group, false)?;
    let group = crate::api::groups::group_id(&app, &org, &group)?;
    group_view(&app, &org, &group, true).map(axum::Json)
}

fn members(app: &App, request: &GroupRequest) -> ApiResult<Vec<UserId>> {
    app.check_items(request.directory_user_member_ids.len())?;
    request.directory_user_member_ids.iter().map(|id| UserId::parse(id).map_err(|e| bad_body(e.to_string()))).collect()
}

/// Create a group, with members; its id is generated.
pub async fn create_group(State(app): State<App>, caller: Caller, body: Bytes) -> ApiResult<Created<IdentityGroup>> {
    let request: GroupRequest = parse_json(&body)?;
    let org = authorize(&app, &caller, &request.partition_global_id, Resource::Group, true)?;
    let mut raw = [0u8; 8];
    rand::rng().fill_bytes(&mut raw);
    let id = GroupId::parse(&crate::hex(&raw)).map_err(|e| ApiError::internal(e.to_string()))?;
    if request.name.trim().is_empty() {
        return Err(bad_body("name: give the group a name"));
    }
    let mut commands = vec![Command::CreateGroup { org: org.clone(), group: id.clone(), name: request.name.clone() }];
    for user in members(&app, &request)? {
        commands.push(Command::AddMember { org: org.clone(), group: id.clone(), user });
    }
    apply(&app, &caller, &commands).await?;
    group_view(&app, org.as_str(), &id, true).map(Created)
}

/// Replace a group's members with `directoryUserMemberIDs` (the name is kept).
pub async fn update_group(
    State(app): State<App>,
    caller: Caller,
    Path(group): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<IdentityGroup>> {
    let request: GroupRequest = parse_json(&body)?;
    let org = authorize(&app, &caller, &request.partition_global_id, Resource::Group, true)?;
    let group = crate::api::groups::group_id(&app, org.as_str(), &group)?;
    let wanted = members(&app, &request)?;
    apply_current(&app, &caller, {
        let (org, group) = (org.clone(), group.clone());
        move |books| {
            let current: Vec<UserId> = books
                .org(org.as_str())
                .and_then(|o| o.groups.get(&group))
                .map(|g| g.members.values().cloned().collect())
                .unwrap_or_default();
            let mut commands: Vec<Command> = current
                .iter()
                .filter(|u| !wanted.contains(u))
                .map(|user| Command::RemoveMember { org: org.clone(), group: group.clone(), user: user.clone() })
                .collect();
            for user in wanted.iter().filter(|u| !current.contains(u)) {
                commands.push(Command::AddMember { org: org.clone(), group: group.clone(), user: user.clone() });
            }
            Ok(commands)
        }
    })
    .await?;
    group_view(&app, org.as_str(), &group, true).map(axum::Json)
}

/// Delete a group: members lose what they inherited from it.
pub async fn delete_group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = authorize(&app, &caller, &org, Resource::Group, true)?;
    let group = crate::api::groups::group_id(&app, &org, &group)?;
    apply(&app, &caller, &[Command::DeleteGroup { org: org_id, group }]).await?;
    Ok(NoContent)
}

/// The organization a user path is about.
fn user_org(caller: &Caller, prefix: Option<Extension<OrgPrefix>>) -> ApiResult<String> {
    match (prefix, caller.home_org()) {
        (Some(Extension(OrgPrefix(org))), _) => Ok(org),
        (None, Some(home)) => Ok(home.as_str().to_owned()),
        (None, None) => Err(bad_body("name the organization: /{organization}/identity_/api/User/{userId}")),
    }
}

fn read_user(app: &App, org: &str, user: &str) -> ApiResult<IdentityUser> {
    let books = app.books.read();
    let found = books.org(org).and_then(|o| {
        UserId::parse(user).ok().and_then(|id| o.users.get_key_value(&id).map(|(id, u)| user_view(id, u)))
    });
    found.ok_or_else(|| ApiError::not_found(format!("user `{user}` does not exist")))
}

pub async fn user(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<IdentityUser>> {
    let org = user_org(&caller, prefix)?;
    authorize(&app, &caller, &org, Resource::User, false)?;
    read_user(&app, &org, &user).map(axum::Json)
}

/// Create or update a user.
pub async fn put_user(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    Path(user): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<IdentityUser>> {
    let org = user_org(&caller, prefix)?;
    let org_id = authorize(&app, &caller, &org, Resource::User, true)?;
    let request: UserRequest = parse_json(&body)?;
    let id = UserId::parse(&user).map_err(|e| bad_body(e.to_string()))?;
    let current = app.books.read().org(&org).and_then(|o| o.users.get(&id).map(|u| u.profile.clone()));
    let name = match (request.name, request.surname) {
        (Some(name), Some(surname)) => Some(format!("{name} {surname}")),
        (name, _) => name,
    };
    let command = match current {
        Some(profile) => Command::UpdateUser {
            org: org_id,
            user: id.clone(),
            profile: UserProfile {
                name: name.unwrap_or(profile.name),
                email: request.email.or(profile.email),
                role: profile.role,
            },
        },
        None => Command::CreateUser {
            org: org_id,
            user: id.clone(),
            profile: UserProfile {
                name: name.or(request.user_name).unwrap_or_else(|| user.clone()),
                email: request.email,
                ..UserProfile::default()
            },
        },
    };
    apply(&app, &caller, &[command]).await?;
    read_user(&app, &org, id.as_str()).map(axum::Json)
}

/// Delete a user: their licenses return to the pools.
pub async fn delete_user(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    Path(user): Path<String>,
) -> ApiResult<NoContent> {
    let org = user_org(&caller, prefix)?;
    let org_id = authorize(&app, &caller, &org, Resource::User, true)?;
    let id = crate::api::users::user_id(&app, &org, &user)?;
    apply(&app, &caller, &[Command::DeleteUser { org: org_id.clone(), user: id.clone() }]).await?;
    app.auth.revoke(&app.store, &allot_store::Subject::OrgUser { org: org_id.key(), user: id.to_string() }).await?;
    Ok(NoContent)
}
