//! Host administrators, and lifting a lockout of the login throttle.

use serde::Deserialize;

use super::NoContent;
use crate::error::{ApiResult, Problem};
use crate::extract::{Host, Path};

/// `/host/admins/{admin}`.
#[derive(Deserialize)]
pub struct AdminPath {
    admin: String,
}

/// Lift a host administrator's login lockout, from every address.
#[utoipa::path(post, path = "/host/admins/{admin}/unlock", tag = "admins", security(("bearer" = [])),
    params(("admin" = String, Path, description = "Host administrator name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unlock(host: Host, Path(path): Path<AdminPath>) -> ApiResult<NoContent> {
    host.unlock_admin(&path.admin).await.map(|()| NoContent)
}
