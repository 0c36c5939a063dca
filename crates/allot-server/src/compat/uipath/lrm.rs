//! License Resource Manager (`/lrm`): an organization's license from the host (O), and a
//! tenant's per service from the organization (T). Every PUT replaces its target's
//! allocation: codes missing from the body go to 0.

use std::collections::BTreeSet;

use allot_core::{Command, Grant, LicenseKey, OrgId, Pool, ServiceType, State as Books, TenantId};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::shapes::{
    AccountLicense, CodeCount, CodeQuantity, OrgAvailability, OrgLicenseRequest, ProductAvailability, ProductQuantity,
    ServiceLicense, ServiceLicenseBody, ServiceLicenseRequest, ServiceProduct,
};
use super::{Resource, apply_current, authorize, bad_body, check_host};
use crate::api::NoContent;
use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use allot_api::ErrorCode;

fn kind(books: &Books, license: &LicenseKey) -> String {
    match books.catalogue().get(license.product.as_str()).map(|p| p.kind) {
        Some(allot_core::ProductKind::Unit) => "unit".into(),
        _ => "user".into(),
    }
}

fn seconds(millis: Option<i64>) -> Option<i64> {
    millis.map(|ms| ms.div_euclid(1000))
}

/// The organization's pools with something in them, as UiPath names licenses (codes).
fn org_pools(books: &Books, org: &str) -> Vec<(LicenseKey, Pool)> {
    books
        .org(org)
        .map(|o| o.pools.iter().filter(|(_, p)| !p.is_empty()).map(|(l, p)| (l.clone(), *p)).collect())
        .unwrap_or_default()
}

pub(super) fn license_of(books: &Books, org: &str) -> AccountLicense {
    let pools = org_pools(books, org);
    let id = books.org(org).map(|o| o.id.to_string()).unwrap_or_default();
    AccountLicense {
        account_id: id.clone(),
        license_code: format!("{id}-license"),
        bundle_code: None,
        subscription_code: format!("{id}-subscription"),
        subscription_plan: "allot".into(),
        license_status: "ACTIVE".into(),
        start_date: seconds(pools.iter().filter_map(|(_, p)| p.grant.valid_from).min()),
        end_date: seconds(pools.iter().filter_map(|(_, p)| p.grant.valid_until).max()),
        grace_period: 0,
        products: pools
            .iter()
            .map(|(l, p)| ProductQuantity { code: l.to_string(), quantity: p.grant.quantity, kind: kind(books, l) })
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

/// The codes of `held` not named in `wanted`: a replacing PUT sets them to 0. Pools of
/// capability licenses (which UiPath cannot name) are left alone.
fn dropped<'a>(held: impl Iterator<Item = &'a LicenseKey>, wanted: &[(LicenseKey, i64)]) -> Vec<LicenseKey> {
    held.filter(|l| l.capability.is_none())
        .filter(|l| !wanted.iter().any(|(w, _)| w.product.as_str().eq_ignore_ascii_case(l.product.as_str())))
        .cloned()
        .collect()
}

/// O: allocate licenses to an organization (host admin).
pub async fn set_org(
    State(app): State<App>,
    caller: Caller,
    Path((host, org)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<axum::Json<AccountLicense>> {
    check_host(&host)?;
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    caller.require_host_admin()?;
    let request: OrgLicenseRequest = parse_json(&body)?;
    let wanted = quantities(&request.product_quantities)?;
    if app.books.read().host_pools().values().all(Pool::is_empty) {
        return Err(ApiError::not_found("the host has no license to allocate from"));
    }
    apply_current(&app, &caller, {
        let org = org.clone();
        move |books| {
            let held: Vec<LicenseKey> = org_pools(books, &org).into_iter().map(|(l, _)| l).collect();
            let mut commands: Vec<Command> = dropped(held.iter(), &wanted)
                .into_iter()
                .map(|license| Command::SetOrgPool { org: org_id.clone(), license, grant: Grant::default() })
                .collect();
            for (license, quantity) in &wanted {
                let grant = Grant::quantity(*quantity);
                commands.push(Command::SetOrgPool { org: org_id.clone(), license: license.clone(), grant });
            }
            Ok(commands)
        }
    })
    .await?;
    Ok(axum::Json(license_of(&app.books.read(), &org)))
}

/// What an organization holds and what of it is used.
pub async fn org_available(
    State(app): State<App>,
    caller: Caller,
    Path((host, org)): Path<(String, String)>,
) -> ApiResult<axum::Json<OrgAvailability>> {
    check_host(&host)?;
    authorize(&app, &caller, &org, Resource::License, false)?;
    let books = app.books.read();
    let products_with_availability = org_pools(&books, &org)
        .iter()
        .map(|(l, p)| ProductAvailability {
            code: l.to_string(),
            kind: kind(&books, l),
            available_quantity: p.available(),
            consumed_quantity: p.allocated,
            total_quantity: p.grant.quantity,
        })
        .collect();
    Ok(axum::Json(OrgAvailability { license: license_of(&books, &org), products_with_availability }))
}

/// Take an organization's license back (host admin); 409 while it is passed on.
pub async fn remove_org(
    State(app): State<App>,
    caller: Caller,
    Path((host, org)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    check_host(&host)?;
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    caller.require_host_admin()?;
    super::require_license(&app, &org)?;
    apply_current(&app, &caller, {
        let org = org.clone();
        move |books| {
            let held: Vec<LicenseKey> = org_pools(books, &org).into_iter().map(|(l, _)| l).collect();
            let zero = |license| Command::SetOrgPool { org: org_id.clone(), license, grant: Grant::default() };
            Ok(dropped(held.iter(), &[]).into_iter().map(zero).collect())
        }
    })
    .await?;
    Ok(NoContent)
}

/// The organization's license; 404 when it has none.
pub async fn account_license(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<AccountLicense>> {
    authorize(&app, &caller, &org, Resource::License, false)?;
    super::require_license(&app, &org)?;
    Ok(axum::Json(license_of(&app.books.read(), &org)))
}

/// Each license of the organization with how much of it is passed on.
pub async fn available_account_licenses(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<Vec<CodeCount>>> {
    authorize(&app, &caller, &org, Resource::License, false)?;
    let books = app.books.read();
    let counts = org_pools(&books, &org)
        .iter()
        .map(|(l, p)| CodeCount { code: l.to_string(), allocated: p.allocated, total: p.grant.quantity })
        .collect();
    Ok(axum::Json(counts))
}

fn service_license(books: &Books, org: &str, tenant: &TenantId, service: &ServiceType) -> Option<ServiceLicense> {
    let o = books.org(org)?;
    let t = o.tenants.get(tenant)?;
    let pools: Vec<(&LicenseKey, &Pool)> =
        t.pools.iter().filter(|((s, _), p)| s == service && !p.is_empty()).map(|((_, l), p)| (l, p)).collect();
    if pools.is_empty() {
        return None;
    }
    let account_license_code = format!("{}-license", o.id);
    Some(ServiceLicense {
        account_id: o.id.to_string(),
        service_scope_id: t.id.to_string(),
        service_type: service.to_string(),
        license: ServiceLicenseBody {
            license_code: format!("{}-{}-{service}", o.id, t.id),
            license_status: "ACTIVE".into(),
            start_date: seconds(pools.iter().filter_map(|(_, p)| p.grant.valid_from).min()),
            end_date: seconds(pools.iter().filter_map(|(_, p)| p.grant.valid_until).max()),
            products: pools
                .iter()
                .map(|(l, p)| ServiceProduct {
                    code: l.to_string(),
                    quantity: p.grant.quantity,
                    kind: kind(books, l),
                    allocated: p.allocated,
                })
                .collect(),
        },
        user_licensing_enabled: true,
        account_license_code,
    })
}

fn service_ids(tenant: &str, service: &str) -> ApiResult<(TenantId, ServiceType)> {
    let tenant = TenantId::parse(tenant).map_err(|e| bad_body(e.to_string()))?;
    let service = ServiceType::parse(service).map_err(|e| bad_body(e.to_string()))?;
    Ok((tenant, service))
}

/// T: allocate licenses to one service of a tenant; a tenant allot does not know yet is
/// created, named `tenantName`.
pub async fn set_service(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant, service)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult<axum::Json<ServiceLicense>> {
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    let request: ServiceLicenseRequest = parse_json(&body)?;
    let (tenant_id, service_type) = service_ids(&tenant, &service)?;
    let wanted = quantities(&request.products)?;
    super::require_license(&app, &org)?;
    apply_current(&app, &caller, {
        let (org, tenant_id, service_type) = (org.clone(), tenant_id.clone(), service_type.clone());
        move |books| {
            let mut commands = Vec::new();
            let held: Vec<LicenseKey> = match books.org(&org).and_then(|o| o.tenants.get(&tenant_id)) {
                Some(t) => t
                    .pools
                    .iter()
                    .filter(|((s, _), p)| *s == service_type && !p.is_empty())
                    .map(|((_, l), _)| l.clone())
                    .collect(),
                None => {
                    let name = request.tenant_name.clone().unwrap_or_else(|| tenant.clone());
                    commands.push(Command::CreateTenant { org: org_id.clone(), tenant: tenant_id.clone(), name });
                    Vec::new()
                }
            };
            let pool = |license: LicenseKey, quantity: i64| Command::SetTenantPool {
                org: org_id.clone(),
                tenant: tenant_id.clone(),
                service: service_type.clone(),
                license,
                grant: Grant::quantity(quantity),
            };
            commands.extend(dropped(held.iter(), &wanted).into_iter().map(|license| pool(license, 0)));
            commands.extend(wanted.iter().map(|(license, quantity)| pool(license.clone(), *quantity)));
            Ok(commands)
        }
    })
    .await?;
    let answer = service_license(&app.books.read(), &org, &tenant_id, &service_type);
    answer.map(axum::Json).ok_or_else(|| ApiError::new(StatusCode::GONE, ErrorCode::Gone, "the service has no license"))
}

/// A tenant's license for one service; 410 when it has none.
pub async fn get_service(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant, service)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<ServiceLicense>> {
    authorize(&app, &caller, &org, Resource::License, false)?;
    let (tenant_id, service_type) = service_ids(&tenant, &service)?;
    let books = app.books.read();
    if books.org(&org).and_then(|o| o.tenants.get(&tenant_id)).is_none() {
        return Err(ApiError::not_found(format!("tenant `{tenant}` does not exist")));
    }
    service_license(&books, &org, &tenant_id, &service_type).map(axum::Json).ok_or_else(|| {
        ApiError::new(StatusCode::GONE, ErrorCode::Gone, format!("tenant `{tenant}` has no license for `{service}`"))
    })
}

/// Take a tenant's license for one service back to the organization.
pub async fn remove_service(
    State(app): State<App>,
    caller: Caller,
    Path((org, tenant, service)): Path<(String, String, String)>,
) -> ApiResult<impl IntoResponse> {
    let org_id: OrgId = authorize(&app, &caller, &org, Resource::License, true)?;
    super::require_license(&app, &org)?;
    let (tenant_id, service_type) = service_ids(&tenant, &service)?;
    apply_current(&app, &caller, {
        let org = org.clone();
        move |books| {
            let Some(t) = books.org(&org).and_then(|o| o.tenants.get(&tenant_id)) else {
                return Err(ApiError::not_found(format!("tenant `{tenant}` does not exist")));
            };
            let zero = |license: &LicenseKey| Command::SetTenantPool {
                org: org_id.clone(),
                tenant: tenant_id.clone(),
                service: service_type.clone(),
                license: license.clone(),
                grant: Grant::default(),
            };
            Ok(t.pools
                .iter()
                .filter(|((s, _), p)| *s == service_type && !p.is_empty())
                .map(|((_, l), _)| zero(l))
                .collect())
        }
    })
    .await?;
    Ok(NoContent)
}
