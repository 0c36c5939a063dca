//! Host administrators, and lifting a lockout of the login throttle.

use allot_api::{AdminList, AdminView, CreateAdmin, SetPassword};
use serde::Deserialize;

use super::{Created, NoContent};
use crate::error::{ApiResult, Problem};
use crate::extract::{Host, Json, Path};

/// `/host/admins/{admin}`.
#[derive(Deserialize)]
pub struct AdminPath {
    admin: String,
}

/// List the host administrators.
#[utoipa::path(get, path = "/host/admins", tag = "admins", security(("bearer" = [])),
    responses((status = 200, body = AdminList), (status = 403, body = Problem)))]
pub async fn list(host: Host) -> ApiResult<axum::Json<AdminList>> {
    host.admins().await.map(axum::Json)
}

/// Add a host administrator, with a password.
#[utoipa::path(post, path = "/host/admins", tag = "admins", security(("bearer" = [])), request_body = CreateAdmin,
    responses((status = 201, body = AdminView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem),
        (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn create(host: Host, Json(body): Json<CreateAdmin>) -> ApiResult<Created<AdminView>> {
    host.create_admin(body).await.map(Created)
}

/// Remove a host administrator; its tokens stop working. Never the last one.
#[utoipa::path(delete, path = "/host/admins/{admin}", tag = "admins", security(("bearer" = [])),
    params(("admin" = String, Path, description = "Host administrator name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`last_host_admin`", body = Problem)))]
pub async fn delete(host: Host, Path(path): Path<AdminPath>) -> ApiResult<NoContent> {
    host.delete_admin(&path.admin).await.map(|()| NoContent)
}

/// Set a host administrator's password; its tokens stop working. Changing the bootstrap
/// `admin`'s deletes the one-time password file.
#[utoipa::path(put, path = "/host/admins/{admin}/password", tag = "admins", security(("bearer" = [])),
    request_body = SetPassword,
    params(("admin" = String, Path, description = "Host administrator name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn set_password(
    host: Host,
    Path(path): Path<AdminPath>,
    Json(body): Json<SetPassword>,
) -> ApiResult<NoContent> {
    host.set_admin_password(&path.admin, &body.password).await.map(|()| NoContent)
}

/// Lift a host administrator's login lockout, from every address.
#[utoipa::path(post, path = "/host/admins/{admin}/unlock", tag = "admins", security(("bearer" = [])),
    params(("admin" = String, Path, description = "Host administrator name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unlock(host: Host, Path(path): Path<AdminPath>) -> ApiResult<NoContent> {
    host.unlock_admin(&path.admin).await.map(|()| NoContent)
}
