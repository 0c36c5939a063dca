//! Users: created (one or in bulk, with passwords and groups), read (one or a page),
//! updated, given a new password, deleted (one or in bulk). Group membership changes go
//! through the native API's member commands; passwords through its password service.

use allot_core::{Command, DirectoryProfile, GroupId, UserId, UserProfile};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::shapes::{ChangePassword, CreateUser, CreateUsers, DeleteUsers, NewUser, UpdateUser, UserDto};
use super::views::user_dto;
use super::{Failed, Identity, body_org, read_org, succeeded};
use crate::api::NoContent;
use crate::app::{App, Caller};
use crate::auth::{ClientAddr, password};
use crate::compat::uipath::{Account, PmUser, bad_body};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Read, Write, parse_json};
use crate::prefix::OrgPrefix;
use crate::service::{Access, Family, Need};

mod pages;

pub use pages::list;

/// `/identity_/api/User/{user}`: the organization is the path's prefix or the caller's.
#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

/// Changing memberships needs the groups' write access too ("partition administrator").
fn may_change_groups(account: &Account<PmUser, Write>, groups: &[GroupId]) -> ApiResult<()> {
    if groups.is_empty() { Ok(()) } else { account.require(Need::new(Family::Group, Access::Write)) }
}

fn groups_named(account: &Account<PmUser, Write>, named: Option<&Vec<String>>) -> ApiResult<Vec<GroupId>> {
    named.into_iter().flatten().map(|group| account.path_group(group)).collect()
}

/// A directory entry only when something is set in it: most users have none.
fn boxed(directory: DirectoryProfile) -> Option<Box<DirectoryProfile>> {
    (directory != DirectoryProfile::default()).then(|| Box::new(directory))
}

/// A new user's profile: `name` is the first name (else the user name, else the id).
fn new_profile(id: &UserId, user: NewUser) -> ApiResult<UserProfile> {
    // Robots, directory users and applications are other parts of UiPath.
    if let Some(kind) = user.kind.filter(|kind| kind != "user") {
        return Err(bad_body(format!("type: allot keeps users of type `user`, not `{kind}`")));
    }
    let name = user.name.or_else(|| user.user_name.clone()).unwrap_or_else(|| id.to_string());
    let directory = DirectoryProfile {
        user_name: user.user_name,
        surname: user.surname,
        display_name: user.display_name,
        inactive: false,
        bypass_basic_auth_restriction: user.bypass_basic_auth_restriction.unwrap_or_default(),
        invitation_accepted: user.invitation_accepted.unwrap_or_default(),
        legacy_id: user.legacy_id,
        ..DirectoryProfile::default()
    };
    Ok(UserProfile { name, email: user.email.map(Into::into), role: Default::default(), directory: boxed(directory) })
}

/// Creates users (with their passwords) all or nothing, each joining `groups`. A user's
/// id is the one given, else a new UUID.
async fn create_users(
    account: &Account<PmUser, Write>,
    users: Vec<(NewUser, Option<String>)>,
    groups: Option<&Vec<String>>,
) -> ApiResult<()> {
    account.app().check_items(users.len() + groups.map_or(0, Vec::len))?;
    let groups = groups_named(account, groups)?;
    may_change_groups(account, &groups)?;
    let org = account.org();
    let (mut commands, mut side) = (Vec::new(), Vec::new());
    for (user, password) in users {
        let id = user.id.clone().unwrap_or_else(crate::random_uuid);
        let id = UserId::parse(&id).map_err(|e| bad_body(format!("id: {e}")))?;
        if let Some(password) = password {
            side.push(account.password_write(&id, &password).await?);
        }
        commands.push(Command::CreateUser { org: org.clone(), user: id.clone(), profile: new_profile(&id, user)? });
        commands.extend(groups.iter().map(|group| Command::AddMember {
            org: org.clone(),
            group: group.clone(),
            user: id.clone(),
        }));
    }
    account.change_with(&commands, side).await.map(drop)
}

/// Create a user, with a password and groups.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    JsonBytes(body): JsonBytes,
) -> Identity {
    let request: CreateUser = parse_json(&body)?;
    let org = body_org(&caller, prefix.as_deref(), request.partition_global_id.as_deref())?;
    let account = Account::<PmUser, Write>::authorize(&app, caller, &org)?;
    if request.user_logins.as_ref().is_some_and(|logins| !logins.is_empty()) {
        return Err(bad_body("userLogins: allot has no external logins").into());
    }
    let groups = request.group_ids.clone();
    create_users(&account, vec![request.split()], groups.as_ref()).await?;
    succeeded()
}

/// Create users in bulk, all or nothing, each joining the command's groups.
pub async fn create_many(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    JsonBytes(body): JsonBytes,
) -> Identity {
    let request: CreateUsers = parse_json(&body)?;
    let org = body_org(&caller, prefix.as_deref(), request.partition_global_id.as_deref())?;
    let account = Account::<PmUser, Write>::authorize(&app, caller, &org)?;
    let users = request.users.unwrap_or_default().into_iter().map(|user| (user, None)).collect();
    create_users(&account, users, request.group_ids.as_ref()).await?;
    succeeded()
}

pub async fn one(account: Account<PmUser, Read>, Path(path): Path<UserPath>) -> ApiResult<Json<UserDto>> {
    let user = account.path_user(&path.user)?;
    let lifetimes = account.lifetimes(std::slice::from_ref(&user), &[]).await?;
    read_org(&account, |org| {
        let found = org.users.get(&user).ok_or_else(|| account.missing("user", user.as_str()))?;
        Ok(Json(user_dto(&org.id, &user, found, &lifetimes)))
    })
}

/// The profile after an update: fields left out stay as they are.
fn updated(mut profile: UserProfile, request: &UpdateUser) -> UserProfile {
    let set = |field: &Option<String>, value: &mut Option<String>| {
        if let Some(given) = field {
            *value = Some(given.clone());
        }
    };
    if let Some(name) = &request.name {
        profile.name = name.clone();
    }
    if let Some(email) = &request.email {
        profile.email = Some(email.as_str().into());
    }
    let mut directory = profile.directory.take().map(|d| *d).unwrap_or_default();
    set(&request.surname, &mut directory.surname);
    set(&request.display_name, &mut directory.display_name);
    directory.inactive = request.is_active.map_or(directory.inactive, |active| !active);
    directory.bypass_basic_auth_restriction =
        request.bypass_basic_auth_restriction.unwrap_or(directory.bypass_basic_auth_restriction);
    directory.invitation_accepted = request.invitation_accepted.unwrap_or(directory.invitation_accepted);
    let attributes = &mut directory.attributes;
    attributes.extend(request.extension_user_attributes_to_add_or_update.clone().unwrap_or_default());
    request.extension_user_attributes_to_remove.iter().flatten().for_each(|key| drop(attributes.remove(key)));
    profile.directory = boxed(directory);
    profile
}

/// Update a user: profile, groups (leaving one the user is not in changes nothing) and
/// password, which is checked before anything changes and set after.
pub async fn update(
    account: Account<PmUser, Write>,
    Path(path): Path<UserPath>,
    JsonBytes(body): JsonBytes,
) -> Identity {
    let mut request: UpdateUser = parse_json(&body)?;
    let user = account.path_user(&path.user)?;
    let new_password = request.password.take();
    if let Some(new_password) = &new_password {
        password::check_strength(new_password)?;
    }
    let join = groups_named(&account, request.groups_to_add.as_ref())?;
    let leave = groups_named(&account, request.groups_to_remove.as_ref())?;
    account.app().check_items(join.len() + leave.len())?;
    may_change_groups(&account, &[join.as_slice(), leave.as_slice()].concat())?;
    let (org, target) = (account.org().clone(), user.clone());
    account
        .change_current(move |books| {
            let found = books.org(org.as_str()).and_then(|o| o.users.get(&target));
            let gone = || ApiError::not_found(format!("user `{target}` does not exist in organization `{org}`"));
            let found = found.ok_or_else(gone)?;
            let (org, user) = (&org, &target);
            let profile = updated(found.profile.clone(), &request);
            let mut commands = vec![Command::UpdateUser { org: org.clone(), user: user.clone(), profile }];
            let leaving = leave.iter().filter(|group| found.groups.contains_key(*group));
            commands.extend(leaving.map(|group| Command::RemoveMember {
                org: org.clone(),
                group: group.clone(),
                user: user.clone(),
            }));
            commands.extend(join.iter().map(|group| Command::AddMember {
                org: org.clone(),
                group: group.clone(),
                user: user.clone(),
            }));
            Ok(commands)
        })
        .await?;
    if let Some(new_password) = new_password {
        account.set_password(user.as_str(), &new_password).await?;
    }
    succeeded()
}

/// Change a user's password, given the current one (checked, and throttled, as a login).
pub async fn change_password(
    account: Account<PmUser, Write>,
    addr: ClientAddr,
    Path(path): Path<UserPath>,
    JsonBytes(body): JsonBytes,
) -> Identity {
    let request: ChangePassword = parse_json(&body)?;
    let user = account.path_user(&path.user)?;
    let new_password = request.new_password.ok_or_else(|| bad_body("newPassword: give the new password"))?;
    password::check_strength(&new_password)?;
    if !account.is_password(user.as_str(), &request.old_password.unwrap_or_default(), addr).await? {
        return Err(Failed::mismatch());
    }
    account.set_password(user.as_str(), &new_password).await?;
    succeeded()
}

/// Delete a user: their licenses return to the pools, and their tokens are revoked (in
/// the deletion's transaction).
pub async fn delete(account: Account<PmUser, Write>, Path(path): Path<UserPath>) -> ApiResult<NoContent> {
    let user = account.path_user(&path.user)?;
    account.delete_user(user.as_str()).await.map(|()| NoContent)
}

/// Delete users, all or nothing: one unknown id and none is deleted.
pub async fn delete_many(
    State(app): State<App>,
    caller: Caller,
    prefix: Option<Extension<OrgPrefix>>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<NoContent> {
    let request: DeleteUsers = parse_json(&body)?;
    let org = body_org(&caller, prefix.as_deref(), request.partition_global_id.as_deref())?;
    let account = Account::<PmUser, Write>::authorize(&app, caller, &org)?;
    let named = request.user_ids.unwrap_or_default();
    app.check_items(named.len())?;
    let users: Vec<UserId> = named.iter().map(|user| account.path_user(user)).collect::<ApiResult<_>>()?;
    account.delete_users(&users).await.map(|()| NoContent)
}
