//! Pools: what the host bought, what it granted each organization, and what each
//! organization granted its tenants per service.

use allot_api::{PoolList, SetPools};
use serde::Deserialize;

use crate::error::{ApiResult, Problem};
use crate::extract::{Host, Json, Org, Path, Read, Write};
use crate::service::etag::{IfMatch, Tagged};

#[derive(Deserialize)]
pub struct ServicePath {
    tenant: String,
    service: String,
}

/// What the host bought (host admin).
#[utoipa::path(get, path = "/host/pools", tag = "pools", security(("bearer" = [])),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 403, body = Problem)))]
pub async fn host(host: Host) -> Tagged<PoolList> {
    host.pools()
}

/// Record what the host bought (host admin). Pools not listed are left as they are.
#[utoipa::path(put, path = "/host/pools", tag = "pools", security(("bearer" = [])), request_body = SetPools,
    params(("If-Match" = Option<String>, Header, description = "Apply only if the pools still have this ETag; else 412")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`quantity_in_use`: organizations hold more", body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem)))]
pub async fn set_host(host: Host, if_match: IfMatch, Json(body): Json<SetPools>) -> ApiResult<Tagged<PoolList>> {
    host.set_pools(&body, &if_match).await
}

/// What the host granted an organization, and what it passed on.
#[utoipa::path(get, path = "/orgs/{org}/pools", tag = "pools", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 404, body = Problem)))]
pub async fn org(org: Org<Read>) -> Tagged<PoolList> {
    org.pools()
}

/// Grant an organization licenses from the host's (host admin).
#[utoipa::path(put, path = "/orgs/{org}/pools", tag = "pools", security(("bearer" = [])), request_body = SetPools,
    params(("org" = String, Path, description = "Organization id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the pools still have this ETag; else 412")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem),
        (status = 409, description = "`license_limit_exceeded`, `not_purchased` or `quantity_in_use`", body = Problem)))]
pub async fn set_org(org: Org<Read>, if_match: IfMatch, Json(body): Json<SetPools>) -> ApiResult<Tagged<PoolList>> {
    org.set_pools(&body, &if_match).await
}

/// What an organization granted one service of a tenant.
#[utoipa::path(get, path = "/orgs/{org}/tenants/{tenant}/services/{service}/pools", tag = "pools", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("tenant" = String, Path, description = "Tenant id"),
        ("service" = String, Path, description = "Service type, e.g. `orchestrator`")),
    responses((status = 200, body = PoolList, headers(("ETag" = String, description = "The pools' state; send it back as If-Match"))), (status = 404, body = Problem)))]
pub async fn tenant(org: Org<Read>, Path(path): Path<ServicePath>) -> ApiResult<Tagged<PoolList>> {
    org.service_pools(&path.tenant, &path.service)
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
    org: Org<Write>,
    Path(path): Path<ServicePath>,
    if_match: IfMatch,
    Json(body): Json<SetPools>,
) -> ApiResult<Tagged<PoolList>> {
    org.set_service_pools(&path.tenant, &path.service, &body, &if_match).await
}
