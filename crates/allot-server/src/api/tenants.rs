//! Tenants of an organization. Their pools (per service) are in pools.rs.

use allot_api::{CreateTenant, TenantList, TenantView};
use serde::Deserialize;

use super::{Created, NoContent};
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Org, Path, Read, Write};

#[derive(Deserialize)]
pub struct TenantPath {
    tenant: String,
}

/// List tenants with their pools.
#[utoipa::path(get, path = "/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = TenantList), (status = 404, body = Problem)))]
pub async fn list(org: Org<Read>) -> ApiResult<axum::Json<TenantList>> {
    org.tenants().map(axum::Json)
}

/// Create a tenant.
#[utoipa::path(post, path = "/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])), request_body = CreateTenant,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = TenantView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(org: Org<Write>, Json(body): Json<CreateTenant>) -> ApiResult<Created<TenantView>> {
    org.create_tenant(body).await.map(Created)
}

/// Read a tenant with its pools.
#[utoipa::path(get, path = "/orgs/{org}/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 404, body = Problem)))]
pub async fn get(org: Org<Read>, Path(path): Path<TenantPath>) -> ApiResult<axum::Json<TenantView>> {
    org.tenant(&path.tenant).map(axum::Json)
}

/// Delete a tenant: its units return to the organization.
#[utoipa::path(delete, path = "/orgs/{org}/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(org: Org<Write>, Path(path): Path<TenantPath>) -> ApiResult<NoContent> {
    org.delete_tenant(&path.tenant).await.map(|()| NoContent)
}
