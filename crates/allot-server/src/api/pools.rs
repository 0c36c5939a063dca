//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service.

use allot_core::{Command, Grant, LicenseKey, Pool, ServiceType};
use axum::extract::{Path, State};

use allot_api::{PoolList, PoolRow, SetPools};

use super::dto::parse_time;
use super::etag::{IfMatch, Resource, Tagged};
use super::{license_key, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

fn rows<'a>(pools: impl Iterator<Item = (&'a LicenseKey, &'a Pool)>) -> Vec<PoolRow> {
    pools.filter(|(_, p)| !p.is_empty()).map(|(l, p)| PoolRow::new(l, p)).collect()
}

/// The grants a `SetPools` body asks for, checked for shape; the planner checks the rest.
fn grants(app: &App, body: &SetPools) -> ApiResult<Vec<(LicenseKey, Grant)>> {
    app.check_items(body.pools.len())?;
    body.pools
        .iter()
        .enumerate()
        .map(|(i, setting)| {
            if setting.quantity < 0 {
                return Err(ApiError::bad_request(
                    "invalid_body",
                    format!("pools[{i}].quantity: must not be negative"),
                ));
            }
            let grant = Grant {
                quantity: setting.quantity,
                valid_from: parse_time(&format!("pools[{i}].valid_from"), setting.valid_from.as_deref())?,
                valid_until: parse_time(&format!("pools[{i}].valid_until"), setting.valid_until.as_deref())?,
            };
            Ok((license_key(&setting.license, &format!("pools[{i}].license"))?, grant))
        })
        .collect()
}

/// What the host bought (host admin).
#[utoipa::path(get, path = "/host/pools", tag = "pools", security(("bearer" = [])),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 403, body = Problem)))]
pub async fn host(State(app): State<App>, caller: Caller) -> ApiResult<Tagged<PoolList>> {
    caller.require_host_admin()?;
    let books = app.books.read();
    let list = PoolList { pools: rows(books.host_pools().iter()), revision: books.revision() };
    Ok(Tagged(Resource::HostPools.etag(&books), list))
}

/// Record what the host bought (host admin). Pools not listed are left as they are.
#[utoipa::path(put, path = "/host/pools", tag = "pools", security(("bearer" = [])), request_body = SetPools,
    params(("If-Match" = Option<String>, Header, description = "Apply only if the pools still have this ETag; else 412")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`quantity_in_use`: organizations hold more", body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem)))]
pub async fn set_host(
    State(app): State<App>,
    caller: Caller,
    if_match: IfMatch,
    Json(body): Json<SetPools>,
) -> ApiResult<Tagged<PoolList>> {
    caller.require_host_admin()?;
    let commands: Vec<Command> =
        grants(&app, &body)?.into_iter().map(|(license, grant)| Command::SetHostPool { license, grant }).collect();
    app.change_if(&caller, &commands, &if_match, &Resource::HostPools).await?;
    host(State(app), caller).await
}

/// What the host granted an organization, and what it passed on.
#[utoipa::path(get, path = "/orgs/{org}/pools", tag = "pools", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 404, body = Problem)))]
pub async fn org(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> ApiResult<Tagged<PoolList>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let books = app.books.read();
    let pools = books.org(&org).map(|o| rows(o.pools.iter())).unwrap_or_default();
    Ok(Tagged(Resource::OrgPools(org.clone()).etag(&books), PoolList { pools, revision: books.revision() }))
}

/// Grant an organization licenses from the host's (host admin).
#[utoipa::path(put, path = "/orgs/{org}/pools", tag = "pools", security(("bearer" = [])), request_body = SetPools,
    params(("org" = String, Path, description = "Organization id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the pools still have this ETag; else 412")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem),
        (status = 409, description = "`license_limit_exceeded`, `not_purchased` or `quantity_in_use`", body = Problem)))]
pub async fn set_org(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    if_match: IfMatch,
    Json(body): Json<SetPools>,
) -> ApiResult<Tagged<PoolList>> {
    let org_id = org_for(&app, &caller, &org, Access::Read)?;
    caller.require_host_admin()?;
    let commands: Vec<Command> = grants(&app, &body)?
        .into_iter()
        .map(|(license, grant)| Command::SetOrgPool { org: org_id.clone(), license, grant })
        .collect();
    app.change_if(&caller, &commands, &if_match, &Resource::OrgPools(org.clone())).await?;
    self::org(State(app), caller, Path(org)).await
}

/// What an organization granted one service of a tenant.
#[utoipa::path(get, path = "/orgs/{org}/tenants/{tenant}/services/{service}/pools", tag = "pools", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id"),
        ("service" = String, Path, description = "Service type, e.g. `orchestrator`")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 404, body = Problem)))]
pub async fn tenant(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant, service)): Path<(String, String, String)>,
) -> ApiResult<Tagged<PoolList>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let tenant = super::tenants::tenant_id(&app, &org, &tenant)?;
    let service_type = ServiceType::parse(&service).map_err(|e| ApiError::not_found(e.to_string()))?;
    let books = app.books.read();
    let pools = books
        .org(&org)
        .and_then(|o| o.tenants.get(&tenant))
        .map(|t| rows(t.pools.iter().filter(|((s, _), _)| *s == service_type).map(|((_, l), p)| (l, p))))
        .unwrap_or_default();
    let resource = Resource::ServicePools { org: org.clone(), tenant, service: service_type };
    Ok(Tagged(resource.etag(&books), PoolList { pools, revision: books.revision() }))
}

/// Grant a tenant's service units from the organization's pools.
#[utoipa::path(put, path = "/orgs/{org}/tenants/{tenant}/services/{service}/pools", tag = "pools", security(("bearer" = [])),
    request_body = SetPools,
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id"),
        ("service" = String, Path, description = "Service type, e.g. `orchestrator`"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the pools still have this ETag; else 412")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem),
        (status = 409, description = "`license_limit_exceeded`, `not_purchased`, `wrong_license_kind` or `wrong_service`", body = Problem)))]
pub async fn set_tenant(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant, service)): Path<(String, String, String)>,
    if_match: IfMatch,
    Json(body): Json<SetPools>,
) -> ApiResult<Tagged<PoolList>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let tenant_id = super::tenants::tenant_id(&app, &org, &tenant)?;
    let service_type = ServiceType::parse(&service).map_err(|e| ApiError::not_found(e.to_string()))?;
    let commands: Vec<Command> = grants(&app, &body)?
        .into_iter()
        .map(|(license, grant)| Command::SetTenantPool {
            org: org_id.clone(),
            tenant: tenant_id.clone(),
            service: service_type.clone(),
            license,
            grant,
        })
        .collect::<Vec<Command>>();
    let resource = Resource::ServicePools { org: org.clone(), tenant: tenant_id, service: service_type };
    app.change_if(&caller, &commands, &if_match, &resource).await?;
    self::tenant(State(app), caller, Path((org, tenant, service))).await
}
