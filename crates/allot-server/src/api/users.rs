//! Users of an organization: the people who hold licenses, and (with a role and a
//! password) administer the organization.

use allot_api::{CreateUser, SetPassword, UpdateUser, UserPage, UserQuery, UserView};
use serde::Deserialize;

use super::{Created, NoContent};
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Org, Path, Query, Read, Write};

/// `/orgs/{org}/users/{user}`: the organization comes with [`Org`].
#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

/// List users, in id order, a page at a time; those that pass every filter given.
#[utoipa::path(get, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), UserQuery),
    responses((status = 200, body = UserPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(org: Org<Read>, Query(query): Query<UserQuery>) -> ApiResult<axum::Json<UserPage>> {
    org.users_asked(&query).map(axum::Json)
}

/// Create a user.
#[utoipa::path(post, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem), (status = 422, body = Problem)))]
pub async fn create(org: Org<Write>, Json(body): Json<CreateUser>) -> ApiResult<Created<UserView>> {
    org.create_user(body).await.map(Created)
}

/// Read a user.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn get(org: Org<Read>, Path(path): Path<UserPath>) -> ApiResult<axum::Json<UserView>> {
    org.user(&path.user).map(axum::Json)
}

/// Change a user's name, email or role; fields left out stay as they are.
#[utoipa::path(patch, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])), request_body = UpdateUser,
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn update(
    org: Org<Write>,
    Path(path): Path<UserPath>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<axum::Json<UserView>> {
    org.update_user(&path.user, body).await.map(axum::Json)
}

/// Delete a user: their licenses return to the pool, their tokens stop working.
#[utoipa::path(delete, path = "/orgs/{org}/users/{user}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(org: Org<Write>, Path(path): Path<UserPath>) -> ApiResult<NoContent> {
    org.delete_user(&path.user).await.map(|()| NoContent)
}

/// Set a user's password, so a reader or admin can log in.
#[utoipa::path(put, path = "/orgs/{org}/users/{user}/password", tag = "users", security(("bearer" = [])), request_body = SetPassword,
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem), (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn set_password(
    org: Org<Write>,
    Path(path): Path<UserPath>,
    Json(body): Json<SetPassword>,
) -> ApiResult<NoContent> {
    org.set_password(&path.user, &body.password).await.map(|()| NoContent)
}

/// Lift a user's login lockout, from every address.
#[utoipa::path(post, path = "/orgs/{org}/users/{user}/unlock", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn unlock(org: Org<Write>, Path(path): Path<UserPath>) -> ApiResult<NoContent> {
    org.unlock_user(&path.user).await.map(|()| NoContent)
}
