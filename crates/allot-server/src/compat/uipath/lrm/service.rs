//! A tenant's licenses per service (T): allocated from the organization's, read one by one
//! or all together, taken back; and the tallies of them UiPath's front end reads.

use allot_api::rfc3339;
use allot_core::{Pool, ServiceType, TenantId};
use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;

use super::license::{SUBSCRIPTION_PLAN, Window, held_service_license, kind, service_license};
use super::scope::{Scoped, tenant_to_write};
use super::shapes::{
    NoneListed, Product, ServiceLicense, ServiceLicenseRequest, ServiceLicenseStatus, TenantServiceLicense,
    TenantServiceProduct,
};
use super::{gone, quantities};
use crate::compat::uipath::shapes::CodeCount;
use crate::compat::uipath::{Account, PmLicense, bad_body};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Query, Read, Write, parse_json};
use crate::service::{HeldPool, HeldService};
use allot_api::ErrorCode;

/// `.../service-license/{scope}/{service}`: the account and tenant come with the extractor.
#[derive(Deserialize)]
pub struct ServicePath {
    scope: String,
    service: String,
}

#[derive(Deserialize)]
pub struct ServiceParam {
    service: String,
}

/// The definitions' `ApplicationCommandSource`: who asks, which changes nothing in allot.
#[derive(Deserialize)]
pub enum CommandSource {
    Ui,
    Job,
    Test,
}

#[derive(Deserialize)]
pub struct SourceQuery {
    #[serde(default, rename = "commandSource")]
    _command_source: Option<CommandSource>,
}

#[derive(Deserialize)]
pub struct ServicesQuery {
    /// Service types, comma-separated (the definitions type it as one string).
    #[serde(default)]
    services: Option<String>,
}

/// The tenant's pools of `service`; 410 if it holds none (a service type that is no valid id
/// holds none).
fn licensed<A>(scoped: &Scoped<A>, service: &str) -> ApiResult<(ServiceType, Vec<HeldPool>)> {
    let none = || gone(scoped.tenant.as_str(), service);
    let service_type = ServiceType::parse(service).map_err(|_| none())?;
    let pools = scoped.account.held_service_pools(&scoped.tenant, &service_type).unwrap_or_default();
    if pools.is_empty() { Err(none()) } else { Ok((service_type, pools)) }
}

/// T: allocate licenses to one service of a tenant; a tenant allot does not know yet is
/// created, named `tenantName` (else by its id).
pub async fn set(
    account: Account<PmLicense, Write>,
    Path(path): Path<ServicePath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<ServiceLicense>> {
    let request: ServiceLicenseRequest = parse_json(&body)?;
    let service = ServiceType::parse(&path.service).map_err(|e| bad_body(e.to_string()))?;
    let wanted = quantities("products", request.products.as_deref())?;
    account.require_license()?;
    let tenant = tenant_to_write(&account, &path.scope)?;
    let name = request.tenant_name.unwrap_or_else(|| path.scope.clone());
    account.replace_service_pools(&tenant, &name, &service, wanted).await?;
    let pools = account.held_service_pools(&tenant, &service).unwrap_or_default();
    Ok(Json(service_license(&account, &tenant, Some(&service), &pools)))
}

/// A tenant's license for one service; 410 when it has none.
pub async fn one(
    scoped: Scoped<Read>,
    Path(path): Path<ServiceParam>,
    Query(_): Query<SourceQuery>,
) -> ApiResult<Json<ServiceLicense>> {
    let (service, pools) = licensed(&scoped, &path.service)?;
    Ok(Json(service_license(&scoped.account, &scoped.tenant, Some(&service), &pools)))
}

/// Take a tenant's license for one service back to the organization.
pub async fn remove(scoped: Scoped<Write>, Path(path): Path<ServiceParam>) -> ApiResult<StatusCode> {
    scoped.account.require_license()?;
    let service = ServiceType::parse(&path.service).map_err(|e| ApiError::not_found(e.to_string()))?;
    scoped.account.clear_service_pools(&scoped.tenant, Some(&service)).await?;
    Ok(StatusCode::OK)
}

/// The products of a tenant's license for one service; 410 when it has none.
pub async fn products(scoped: Scoped<Read>, Path(path): Path<ServiceParam>) -> ApiResult<Json<Vec<Product>>> {
    let (_, pools) = licensed(&scoped, &path.service)?;
    let products = pools.iter().map(|p| Product {
        code: p.license.to_string(),
        quantity: p.pool.grant.quantity,
        features: NoneListed,
    });
    Ok(Json(products.collect()))
}

/// The status of a tenant's license for one service; 410 when it has none.
pub async fn status(scoped: Scoped<Read>, Path(path): Path<ServiceParam>) -> ApiResult<Json<ServiceLicenseStatus>> {
    let (service, pools) = licensed(&scoped, &path.service)?;
    let window = Window::of(&pools);
    Ok(Json(ServiceLicenseStatus {
        account_id: scoped.account.org().to_string(),
        service_scope_id: scoped.tenant.to_string(),
        service_type: service.to_string(),
        subscription_plan: SUBSCRIPTION_PLAN,
        license_status: window.status(scoped.account.app().clock.now()),
        expire_date: rfc3339(window.end_date().saturating_mul(1000)),
        user_licensing_enabled: true,
    }))
}

/// A tenant's licenses for all its services as one: its service type is the tenant's only
/// service, or null when it has several (or none).
pub async fn of_tenant(scoped: Scoped<Read>) -> Json<ServiceLicense> {
    let services = scoped.account.held_services(Some(&scoped.tenant));
    let only = match services.as_slice() {
        [one] => Some(one.service.clone()),
        _ => None,
    };
    let pools: Vec<HeldPool> = services.into_iter().flat_map(|s| s.pools).collect();
    Json(service_license(&scoped.account, &scoped.tenant, only.as_ref(), &pools))
}

/// Take a tenant's licenses for every service back to the organization.
pub async fn remove_tenant(scoped: Scoped<Write>) -> ApiResult<StatusCode> {
    scoped.account.clear_service_pools(&scoped.tenant, None).await?;
    Ok(StatusCode::OK)
}

/// Every service license of the organization's tenants.
pub async fn all(account: Result<Account<PmLicense, Read>, ApiError>) -> ApiResult<Json<Vec<ServiceLicense>>> {
    let account = match account {
        // An unknown account has none, as the definitions say (another's is answered alike).
        Err(error) if error.status() == StatusCode::NOT_FOUND => return Ok(Json(Vec::new())),
        other => other?,
    };
    Ok(Json(account.held_services(None).iter().map(|s| held_service_license(&account, s)).collect()))
}

/// The service types a `services` query names.
fn requested(services: Option<&str>) -> ApiResult<Option<Vec<ServiceType>>> {
    let Some(services) = services else { return Ok(None) };
    let named = services.split(',').map(str::trim).filter(|s| !s.is_empty());
    let parsed =
        named.map(|s| ServiceType::parse(s).map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, e.to_string())));
    parsed.collect::<ApiResult<Vec<_>>>().map(Some)
}

/// A product of a tenant's service, with the organization's tallies of it.
fn tally(pool: &HeldPool, tenant: &TenantId, services: &[HeldService], org_pools: &[HeldPool]) -> TenantServiceProduct {
    let granted = |to_others: bool| -> i64 {
        let pools = services.iter().filter(|s| !to_others || s.tenant != *tenant).flat_map(|s| s.pools.iter());
        pools.filter(|t| t.license == pool.license).map(|t| t.pool.grant.quantity).sum()
    };
    let org = org_pools.iter().find(|o| o.license == pool.license).map(|o| o.pool).unwrap_or_default();
    TenantServiceProduct {
        code: pool.license.to_string(),
        kind: kind(pool),
        quantity: pool.pool.grant.quantity,
        allocated: pool.pool.grant.quantity,
        // allot reserves nothing, and a deleted tenant's units go back to the organization.
        reserved: 0,
        available: org.available(),
        used: pool.pool.allocated,
        allocated_across_other_tenants: granted(true),
        consumed_by_deleted_tenants: 0,
        total_units: org.grant.quantity,
        consumed_at_organization_level: (org.allocated - granted(false)).max(0),
    }
}

/// A tenant's licenses per service, with the organization's tallies; with `services`, exactly
/// those, a service without a license answered with the organization's products for it, none
/// allocated. 404 when the organization (or, unasked, the tenant) has no license.
pub async fn tenant_services(
    scoped: Scoped<Read>,
    Query(query): Query<ServicesQuery>,
) -> ApiResult<Json<Vec<TenantServiceLicense>>> {
    let account = &scoped.account;
    account.require_license()?;
    let services = account.held_services(None);
    let org_pools = account.held_pools();
    let mine = |service: &ServiceType| services.iter().find(|s| s.tenant == scoped.tenant && s.service == *service);
    let unlicensed = |service: &ServiceType| -> Vec<HeldPool> {
        let products = org_pools.iter().filter(|p| p.service.as_ref() == Some(service));
        products.map(|p| HeldPool { pool: Pool::default(), ..p.clone() }).collect()
    };
    let listed: Vec<(ServiceType, Vec<HeldPool>)> = match requested(query.services.as_deref())? {
        Some(types) => types
            .into_iter()
            .map(|t| {
                let pools = mine(&t).map_or_else(|| unlicensed(&t), |s| s.pools.clone());
                (t, pools)
            })
            .collect(),
        None => services
            .iter()
            .filter(|s| s.tenant == scoped.tenant)
            .map(|s| (s.service.clone(), s.pools.clone()))
            .collect(),
    };
    if listed.is_empty() {
        return Err(ApiError::not_found(format!("tenant `{}` has no license", scoped.tenant)));
    }
    let answer = listed.into_iter().map(|(service, pools)| TenantServiceLicense {
        service_type: service.to_string(),
        products: pools.iter().map(|p| tally(p, &scoped.tenant, &services, &org_pools)).collect(),
    });
    Ok(Json(answer.collect()))
}

/// Each license of a tenant, over its services, with how much of it is in use; 404 when it
/// has none.
pub async fn available(scoped: Scoped<Read>) -> ApiResult<Json<Vec<CodeCount>>> {
    let services = scoped.account.held_services(Some(&scoped.tenant));
    let rows: Vec<CodeCount> = services.iter().flat_map(|s| s.pools.iter()).map(CodeCount::from).collect();
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("tenant `{}` has no license", scoped.tenant)));
    }
    Ok(Json(rows))
}
