//! Organizations.

use allot_api::{CreateOrg, OrgList, OrgView, UpdateOrg};
use axum::extract::State;

use super::{Created, NoContent};
use crate::app::{App, Caller};
use crate::error::{ApiResult, Problem};
use crate::extract::{Host, Json, Org, Read, Write};

/// List organizations: all of them for a host admin, one's own otherwise.
#[utoipa::path(get, path = "/orgs", tag = "organizations", security(("bearer" = [])),
    responses((status = 200, body = OrgList), (status = 401, body = Problem)))]
pub async fn list(State(app): State<App>, caller: Caller) -> ApiResult<axum::Json<OrgList>> {
    Ok(axum::Json(crate::service::organizations(&app, &caller)))
}

/// Create an organization (host admin).
#[utoipa::path(post, path = "/orgs", tag = "organizations", security(("bearer" = [])), request_body = CreateOrg,
    responses((status = 201, body = OrgView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(host: Host, Json(body): Json<CreateOrg>) -> ApiResult<Created<OrgView>> {
    host.create_org(body).await.map(Created)
}

/// Read an organization.
#[utoipa::path(get, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem)))]
pub async fn get(org: Org<Read>) -> ApiResult<axum::Json<OrgView>> {
    org.view().map(axum::Json)
}

/// Rename an organization.
#[utoipa::path(patch, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])), request_body = UpdateOrg,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update(org: Org<Write>, Json(body): Json<UpdateOrg>) -> ApiResult<axum::Json<OrgView>> {
    org.rename(body.name).await.map(axum::Json)
}

/// Delete an empty organization (host admin).
#[utoipa::path(delete, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 204), (status = 404, body = Problem),
        (status = 409, description = "`organization_not_empty`", body = Problem)))]
pub async fn delete(org: Org<Write>) -> ApiResult<NoContent> {
    org.delete().await.map(|()| NoContent)
}
