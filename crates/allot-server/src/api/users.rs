//! Users of an organization: the people who hold licenses, and (with a role and a
//! password) administer the organization.

use std::ops::Bound;

use allot_core::{Command, Role, UserId, UserProfile};
use allot_store::{SideWrite, Store, Subject};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Created, NoContent, invalid_id, org_for};
use crate::app::{App, Caller};
use crate::auth::{Access, password};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Query};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `member` (holds licenses), `reader` or `admin` (may use the API with a password).
    pub role: String,
    /// Groups the user belongs to.
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// `member` (default), `reader` or `admin`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Lets a reader or admin log in; 12 to 256 characters.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most `limits.max_page` (1000 by default); 100 when absent.
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Reader => "reader",
        Role::Admin => "admin",
    }
}

fn view(id: &UserId, user: &allot_core::state::User) -> UserView {
    UserView {
        id: id.to_string(),
        name: user.profile.name.clone(),
        email: user.profile.email.clone(),
        role: role_name(user.profile.role).into(),
        groups: user.groups.keys().map(ToString::to_string).collect(),
    }
}

/// The user's view, or 404.
fn read_user(app: &App, org: &str, user: &str) -> ApiResult<UserView> {
    let books = app.books.read();
    let found = books
        .org(org)
        .and_then(|o| UserId::parse(user).ok().and_then(|id| o.users.get_key_value(&id).map(|(id, u)| view(id, u))));
    found.ok_or_else(|| ApiError::not_found(format!("user `{user}` does not exist in organization `{org}`")))
}

pub(crate) fn user_id(app: &App, org: &str, user: &str) -> ApiResult<UserId> {
    let id = UserId::parse(user).ok().filter(|id| app.books.read().org(org).is_some_and(|o| o.users.contains_key(id)));
    id.ok_or_else(|| ApiError::not_found(format!("user `{user}` does not exist in organization `{org}`")))
}

/// List users, in id order, a page at a time.
#[utoipa::path(get, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), PageQuery),
    responses((status = 200, body = UserPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<UserPage>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let limit = app.page_limit(query.limit)? as usize;
    let books = app.books.read();
    let Some(o) = books.org(&org) else { return Err(ApiError::not_found("no such organization")) };
    let after = query.after.as_deref().map(UserId::parse).transpose();
    let after = after.map_err(|e| ApiError::bad_request("invalid_query", format!("after: {e}")))?;
    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut users: Vec<UserView> =
        o.users.range((from, Bound::Unbounded)).take(limit + 1).map(|(id, u)| view(id, u)).collect();
    let next = (users.len() > limit).then(|| {
        users.truncate(limit);
        users.last().map(|u| u.id.clone()).unwrap_or_default()
    });
    Ok(axum::Json(UserPage { users, next }))
}

/// Create a user.
#[utoipa::path(post, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<CreateUser>,
) -> ApiResult<Created<UserView>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let user = UserId::parse(&body.id).map_err(invalid_id)?;
    // Hash first; the hash is written with the user, in one transaction: both or neither.
    let side = match &body.password {
        Some(password) => {
            password::check_strength(password)?;
            let hash = app.auth.passwords.hash(password).await?;
            vec![SideWrite::Password { realm: org_id.key().to_string(), username: user.to_string(), hash }]
        }
        None => Vec::new(),
    };
    let profile = UserProfile {
        name: body.name.unwrap_or_else(|| body.id.clone()),
        email: body.email,
        role: body.role.unwrap_or_default(),
    };
    app.change_with(&caller, &[Command::CreateUser { org: org_id, user: user.clone(), profile }], side).await?;
    read_user(&app, &org, user.as_str()).map(Created)
}

/// Read a user.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<axum::Json<UserView>> {
    org_for(&app, &caller, &org, Access::Read)?;
    read_user(&app, &org, &user).map(axum::Json)
}

/// Change a user's name, email or role; fields left out stay as they are.
#[utoipa::path(patch, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])), request_body = UpdateUser,
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<axum::Json<UserView>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let user = user_id(&app, &org, &user)?;
    let current =
        app.books.read().org(&org).and_then(|o| o.users.get(&user).map(|u| u.profile.clone())).unwrap_or_default();
    let profile = UserProfile {
        name: body.name.unwrap_or(current.name),
        email: body.email.or(current.email),
        role: body.role.unwrap_or(current.role),
    };
    app.change(&caller, &[Command::UpdateUser { org: org_id, user: user.clone(), profile }]).await?;
    read_user(&app, &org, user.as_str()).map(axum::Json)
}

/// Delete a user: their licenses return to the pool, their tokens stop working.
#[utoipa::path(delete, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let user = user_id(&app, &org, &user)?;
    app.change(&caller, &[Command::DeleteUser { org: org_id.clone(), user: user.clone() }]).await?;
    // The deletion revoked their tokens in the store; this process's cache follows.
    let revoked = Subject::OrgUser { org: org_id.key(), user: user.to_string() };
    app.auth.forget(|s| *s == revoked);
    Ok(NoContent)
}

/// Set a user's password, so a reader or admin can log in.
#[utoipa::path(put, path = "/orgs/{org}/users/{user}/password", tag = "users", security(("bearer" = [])), request_body = SetPassword,
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem), (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn set_password(
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
    Json(body): Json<SetPassword>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let user = user_id(&app, &org, &user)?;
    password::check_strength(&body.password)?;
    let hash = app.auth.passwords.hash(&body.password).await?;
    // A new password shuts out whoever had the old one, refresh tokens included: the store
    // revokes them with it.
    app.store.set_password_hash(org_id.key().as_str(), user.as_str(), &hash).await?;
    let revoked = Subject::OrgUser { org: org_id.key(), user: user.to_string() };
    app.auth.forget(|s| *s == revoked);
    Ok(NoContent)
}
