//! License Resource Manager (`/lrm`): an organization's license from the host (O), and a
//! tenant's per service from the organization (T). Every PUT replaces its target's
//! allocation: codes missing from the body go to 0.

mod shapes;

use std::collections::BTreeSet;

use crate::app::App;
use allot_core::{LicenseKey, ProductKind, ServiceType, TenantId};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::shapes::{CodeCount, CodeQuantity};
use super::{Account, PmLicense, bad_body};
use crate::api::NoContent;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Read, Write, parse_json};
use crate::service::{HeldPool, OrgScope};
use allot_api::ErrorCode;
use shapes::{
    AccountLicense, OrgAvailability, OrgLicenseRequest, ProductAvailability, ProductQuantity, ServiceLicense,
    ServiceLicenseBody, ServiceLicenseRequest, ServiceProduct,
};

pub fn routes() -> Router<App> {
    let org_license = "/lrm/api/host/{host}/organization/{org}/license";
    let service_license = "/lrm/api/account/{org}/service-license/{tenant}/{service}";
    Router::new()
        .route(org_license, put(set_org).post(set_org))
        .route(&format!("{org_license}/available"), get(org_available))
        .route(&format!("{org_license}/remove"), delete(remove_org))
        .route("/lrm/api/account/{org}/account-license", get(account_license))
        .route("/lrm/api/account/{org}/available-account-licenses", get(available_account_licenses))
        .route(service_license, put(set_service).post(set_service).get(get_service).delete(remove_service))
}

/// `.../service-license/{tenant}/{service}`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct ServicePath {
    tenant: String,
    service: String,
}

fn kind(pool: &HeldPool) -> String {
    match pool.kind {
        Some(ProductKind::Unit) => "unit".into(),
        _ => "user".into(),
    }
}

fn seconds(millis: Option<i64>) -> Option<i64> {
    millis.map(|ms| ms.div_euclid(1000))
}

fn license_of(org: &OrgScope) -> AccountLicense {
    let pools = org.held_pools();
    let id = org.org().to_string();
    AccountLicense {
        account_id: id.clone(),
        license_code: format!("{id}-license"),
        bundle_code: None,
        subscription_code: format!("{id}-subscription"),
        subscription_plan: "allot".into(),
        license_status: "ACTIVE".into(),
        start_date: seconds(pools.iter().filter_map(|p| p.pool.grant.valid_from).min()),
        end_date: seconds(pools.iter().filter_map(|p| p.pool.grant.valid_until).max()),
        grace_period: 0,
        products: pools
            .iter()
            .map(|p| ProductQuantity { code: p.license.to_string(), quantity: p.pool.grant.quantity, kind: kind(p) })
            .collect(),
    }
}

/// A body's codes and quantities, checked for shape: 400 for bad codes, negative
/// quantities, or a code named twice.
fn quantities(products: &[CodeQuantity]) -> ApiResult<Vec<(LicenseKey, i64)>> {
    let mut seen = BTreeSet::new();
    products
        .iter()
        .map(|p| {
            let license = LicenseKey::parse(&p.code).map_err(|e| bad_body(e.to_string()))?;
            if p.quantity < 0 {
                return Err(bad_body(format!("quantity of `{}` is negative", p.code)));
            }
            if !seen.insert(p.code.to_ascii_lowercase()) {
                return Err(bad_body(format!("code `{}` is named twice", p.code)));
            }
            Ok((license, p.quantity))
        })
        .collect()
}

/// O: allocate licenses to an organization (host admin).
pub async fn set_org(
    account: Account<PmLicense, Write>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<AccountLicense>> {
    let host = account.host()?;
    let request: OrgLicenseRequest = parse_json(&body)?;
    let wanted = quantities(&request.product_quantities)?;
    if host.pools().1.pools.is_empty() {
        return Err(ApiError::not_found("the host has no license to allocate from"));
    }
    account.replace_pools(wanted).await?;
    Ok(Json(license_of(&account)))
}

/// What an organization holds and what of it is used.
pub async fn org_available(account: Account<PmLicense, Read>) -> Json<OrgAvailability> {
    let products_with_availability = account
        .held_pools()
        .iter()
        .map(|p| ProductAvailability {
            code: p.license.to_string(),
            kind: kind(p),
            available_quantity: p.pool.available(),
            consumed_quantity: p.pool.allocated,
            total_quantity: p.pool.grant.quantity,
        })
        .collect();
    Json(OrgAvailability { license: license_of(&account), products_with_availability })
}

/// Take an organization's license back (host admin); 409 while it is passed on.
pub async fn remove_org(account: Account<PmLicense, Write>) -> ApiResult<NoContent> {
    account.caller().require_host_admin()?;
    account.require_license()?;
    account.replace_pools(Vec::new()).await?;
    Ok(NoContent)
}

/// The organization's license; 404 when it has none.
pub async fn account_license(account: Account<PmLicense, Read>) -> ApiResult<Json<AccountLicense>> {
    account.require_license()?;
    Ok(Json(license_of(&account)))
}

/// Each license of the organization with how much of it is passed on.
pub async fn available_account_licenses(account: Account<PmLicense, Read>) -> Json<Vec<CodeCount>> {
    let held = account.held_pools();
    Json(
        held.iter()
            .map(|p| CodeCount {
                code: p.license.to_string(),
                allocated: p.pool.allocated,
                total: p.pool.grant.quantity,
            })
            .collect(),
    )
}

/// A tenant's license for one service; `None` when it has none (or there is no such tenant).
fn service_license(org: &OrgScope, tenant: &TenantId, service: &ServiceType) -> Option<ServiceLicense> {
    let pools = org.held_service_pools(tenant, service)?;
    if pools.is_empty() {
        return None;
    }
    let id = org.org();
    Some(ServiceLicense {
        account_id: id.to_string(),
        service_scope_id: tenant.to_string(),
        service_type: service.to_string(),
        license: ServiceLicenseBody {
            license_code: format!("{id}-{tenant}-{service}"),
            license_status: "ACTIVE".into(),
            start_date: seconds(pools.iter().filter_map(|p| p.pool.grant.valid_from).min()),
            end_date: seconds(pools.iter().filter_map(|p| p.pool.grant.valid_until).max()),
            products: pools
                .iter()
                .map(|p| ServiceProduct {
                    code: p.license.to_string(),
                    quantity: p.pool.grant.quantity,
                    kind: kind(p),
                    allocated: p.pool.allocated,
                })
                .collect(),
        },
        user_licensing_enabled: true,
        account_license_code: format!("{id}-license"),
    })
}

fn service_ids(path: &ServicePath) -> ApiResult<(TenantId, ServiceType)> {
    let tenant = TenantId::parse(&path.tenant).map_err(|e| bad_body(e.to_string()))?;
    let service = ServiceType::parse(&path.service).map_err(|e| bad_body(e.to_string()))?;
    Ok((tenant, service))
}

/// T: allocate licenses to one service of a tenant; a tenant allot does not know yet is
/// created, named `tenantName`.
pub async fn set_service(
    account: Account<PmLicense, Write>,
    Path(path): Path<ServicePath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<ServiceLicense>> {
    let request: ServiceLicenseRequest = parse_json(&body)?;
    let (tenant, service) = service_ids(&path)?;
    let wanted = quantities(&request.products)?;
    account.require_license()?;
    let name = request.tenant_name.unwrap_or_else(|| path.tenant.clone());
    account.replace_service_pools(&tenant, &name, &service, wanted).await?;
    let answer = service_license(&account, &tenant, &service);
    answer.map(Json).ok_or_else(|| ApiError::new(StatusCode::GONE, ErrorCode::Gone, "the service has no license"))
}

/// A tenant's license for one service; 410 when it has none.
pub async fn get_service(
    account: Account<PmLicense, Read>,
    Path(path): Path<ServicePath>,
) -> ApiResult<Json<ServiceLicense>> {
    let (tenant, service) = service_ids(&path)?;
    if account.held_service_pools(&tenant, &service).is_none() {
        return Err(ApiError::not_found(format!("tenant `{}` does not exist", path.tenant)));
    }
    service_license(&account, &tenant, &service).map(Json).ok_or_else(|| {
        let detail = format!("tenant `{}` has no license for `{}`", path.tenant, path.service);
        ApiError::new(StatusCode::GONE, ErrorCode::Gone, detail)
    })
}

/// Take a tenant's license for one service back to the organization.
pub async fn remove_service(account: Account<PmLicense, Write>, Path(path): Path<ServicePath>) -> ApiResult<NoContent> {
    account.require_license()?;
    let (tenant, service) = service_ids(&path)?;
    account.clear_service_pools(&tenant, &service).await?;
    Ok(NoContent)
}
