//! An organization's license from the host (O), what it covers and what of it is passed on,
//! and the host's own.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;

use super::license::{host_license, kind, org_license};
use super::quantities;
use super::shapes::{AccountLicense, AvailableServices, LicenseAvailability, OrgLicenseRequest, ProductAvailability};
use crate::compat::uipath::shapes::CodeCount;
use crate::compat::uipath::{Account, PmLicense, check_host};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Host, JsonBytes, Path, Query, Read, Write, parse_json};
use crate::service::HeldPool;
use allot_core::ProductKind;

#[derive(Deserialize)]
pub struct HostPath {
    host: String,
}

/// `forceAllLicenses` asks for trial licenses too; allot has none, so it changes nothing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLicenseQuery {
    #[serde(default, rename = "forceAllLicenses")]
    _force_all_licenses: Option<bool>,
}

fn availability(pools: &[HeldPool]) -> Vec<ProductAvailability> {
    pools
        .iter()
        .map(|p| ProductAvailability {
            code: p.license.to_string(),
            kind: kind(p),
            available_quantity: p.pool.available(),
            consumed_quantity: p.pool.allocated,
            total_quantity: p.pool.grant.quantity,
        })
        .collect()
}

fn no_host_license() -> ApiError {
    ApiError::not_found("the host has no license to allocate from")
}

/// O: allocate licenses to an organization (host admin).
pub async fn set_org(
    account: Account<PmLicense, Write>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<AccountLicense>> {
    let host = account.host()?;
    let request: OrgLicenseRequest = parse_json(&body)?;
    let wanted = quantities("productQuantities", request.product_quantities.as_deref())?;
    if host.held_pools().is_empty() {
        return Err(no_host_license());
    }
    account.replace_pools(wanted).await?;
    Ok(Json(org_license(&account)))
}

/// What an organization holds and what of it is passed on; 404 while the host holds nothing.
pub async fn org_available(account: Account<PmLicense, Read>) -> ApiResult<Json<LicenseAvailability>> {
    if !account.host_has_license() {
        return Err(no_host_license());
    }
    let products_with_availability = availability(&account.held_pools());
    Ok(Json(LicenseAvailability { license: org_license(&account), products_with_availability }))
}

/// Take an organization's license back (host admin); 409 while it is passed on.
pub async fn remove_org(account: Account<PmLicense, Write>) -> ApiResult<StatusCode> {
    account.caller().require_host_admin()?;
    account.require_license()?;
    account.replace_pools(Vec::new()).await?;
    Ok(StatusCode::OK)
}

/// What the host bought and what of it is granted to organizations (host admin).
pub async fn host_available(host: Host, Path(path): Path<HostPath>) -> ApiResult<Json<LicenseAvailability>> {
    check_host(&path.host)?;
    let pools = host.held_pools();
    if pools.is_empty() {
        return Err(no_host_license());
    }
    let license = host_license(&pools, host.app().clock.now());
    Ok(Json(LicenseAvailability { license, products_with_availability: availability(&pools) }))
}

/// The organization's account licenses: allot's one; 404 when it has none.
pub async fn account_licenses(
    account: Account<PmLicense, Read>,
    Query(_): Query<AccountLicenseQuery>,
) -> ApiResult<Json<Vec<AccountLicense>>> {
    account.require_license()?;
    Ok(Json(vec![org_license(&account)]))
}

/// The services the organization's license covers: those its unit products belong to.
pub async fn available_services(account: Account<PmLicense, Read>) -> Json<AvailableServices> {
    let services: std::collections::BTreeSet<String> =
        account.held_pools().into_iter().filter_map(|p| p.service.map(|s| s.to_string())).collect();
    Json(AvailableServices { services: services.into_iter().collect() })
}

/// Each license of the organization with how much of it is passed on; 404 when it has none.
pub async fn available_account_licenses(account: Account<PmLicense, Read>) -> ApiResult<Json<Vec<CodeCount>>> {
    account.require_license()?;
    let held = account.held_pools();
    Ok(Json(held.iter().map(CodeCount::from).collect()))
}

/// Each unit license of the organization with how much of it its tenants were granted.
pub async fn tenant_allocations(account: Account<PmLicense, Read>) -> Json<Vec<CodeCount>> {
    let services = account.held_services(None);
    let granted = |p: &HeldPool| -> i64 {
        let pools = services.iter().flat_map(|s| s.pools.iter());
        pools.filter(|t| t.license == p.license).map(|t| t.pool.grant.quantity).sum()
    };
    let units = account.held_pools().into_iter().filter(|p| p.kind == Some(ProductKind::Unit));
    Json(
        units
            .map(|p| CodeCount { code: p.license.to_string(), allocated: granted(&p), total: p.pool.grant.quantity })
            .collect(),
    )
}
