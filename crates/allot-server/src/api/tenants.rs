//! Tenants of an organization. Their pools (per service) are in pools.rs.

use allot_core::{Command, TenantId};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::PoolRow;
use super::{Created, NoContent, invalid_id, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePools {
    pub service: String,
    pub pools: Vec<PoolRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub services: Vec<ServicePools>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

fn view(tenant: &allot_core::state::Tenant) -> TenantView {
    let mut services: Vec<ServicePools> = Vec::new();
    for ((service, license), pool) in &tenant.pools {
        if pool.is_empty() {
            continue;
        }
        let row = PoolRow::new(license, pool);
        match services.last_mut() {
            Some(last) if last.service == service.as_str() => last.pools.push(row),
            _ => services.push(ServicePools { service: service.to_string(), pools: vec![row] }),
        }
    }
    TenantView { id: tenant.id.to_string(), name: tenant.name.clone(), services }
}

fn read_tenant(app: &App, org: &str, tenant: &str) -> ApiResult<TenantView> {
    let books = app.books.read();
    let found = books.org(org).and_then(|o| TenantId::parse(tenant).ok().and_then(|id| o.tenants.get(&id).map(view)));
    found.ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` does not exist in organization `{org}`")))
}

pub(crate) fn tenant_id(app: &App, org: &str, tenant: &str) -> ApiResult<TenantId> {
    let id =
        TenantId::parse(tenant).ok().filter(|id| app.books.read().org(org).is_some_and(|o| o.tenants.contains_key(id)));
    id.ok_or_else(|| ApiError::not_found(format!("tenant `{tenant}` does not exist in organization `{org}`")))
}

/// List tenants with their pools.
#[utoipa::path(get, path = "/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = TenantList), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<TenantList>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let books = app.books.read();
    let tenants = books.org(&org).map(|o| o.tenants.values().map(view).collect()).unwrap_or_default();
    Ok(axum::Json(TenantList { tenants }))
}

/// Create a tenant.
#[utoipa::path(post, path = "/orgs/{org}/tenants", tag = "tenants", security(("bearer" = [])), request_body = CreateTenant,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = TenantView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<CreateTenant>,
) -> ApiResult<Created<TenantView>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let tenant = TenantId::parse(&body.id).map_err(invalid_id)?;
    let name = body.name.unwrap_or_else(|| body.id.clone());
    app.change(&caller, &[Command::CreateTenant { org: org_id, tenant: tenant.clone(), name }]).await?;
    read_tenant(&app, &org, tenant.as_str()).map(Created)
}

/// Read a tenant with its pools.
#[utoipa::path(get, path = "/orgs/{org}/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant)): Path<(String, String)>,
) -> ApiResult<axum::Json<TenantView>> {
    org_for(&app, &caller, &org, Access::Read)?;
    read_tenant(&app, &org, &tenant).map(axum::Json)
}

/// Delete a tenant: its units return to the organization.
#[utoipa::path(delete, path = "/orgs/{org}/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let tenant = tenant_id(&app, &org, &tenant)?;
    app.change(&caller, &[Command::DeleteTenant { org: org_id, tenant }]).await?;
    Ok(NoContent)
}
