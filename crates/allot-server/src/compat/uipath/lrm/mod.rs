//! License Resource Manager (`/lrm`, also `/license_`, as UiPath's definitions serve it): an
//! organization's license from the host, and a tenant's per service from the organization.
//! Every PUT replaces its target's allocation: codes missing from the body go to 0.

mod account;
mod license;
mod scope;
mod service;
mod shapes;

use std::collections::BTreeSet;

use allot_core::LicenseKey;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get, put};

use super::bad_body;
use super::shapes::CodeQuantity;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// The roots the License Resource Manager answers under.
const ROOTS: [&str; 2] = ["/lrm", "/license_"];

pub fn routes() -> Router<App> {
    ROOTS.iter().fold(Router::new(), |router, root| router.merge(routes_under(root)))
}

fn routes_under(root: &str) -> Router<App> {
    let host = format!("{root}/api/host/{{host}}");
    let org_license = format!("{host}/organization/{{org}}/license");
    let account = format!("{root}/api/account/{{org}}");
    let service = format!("{account}/service-license/{{scope}}/{{service}}");
    Router::new()
        .route(&org_license, put(account::set_org).post(account::set_org))
        .route(&format!("{org_license}/available"), get(account::org_available))
        .route(&format!("{org_license}/remove"), delete(account::remove_org))
        .route(&format!("{host}/available-products"), get(account::host_available))
        .route(&format!("{account}/account-license"), get(account::account_licenses))
        .route(&format!("{account}/account-license/available"), get(account::available_services))
        .route(&format!("{account}/available-account-licenses"), get(account::available_account_licenses))
        .route(&format!("{account}/tenantAllocations"), get(account::tenant_allocations))
        .route(&format!("{account}/service-license"), get(service::all))
        .route(&format!("{account}/service-license/{{scope}}"), get(service::of_tenant).delete(service::remove_tenant))
        .route(&service, put(service::set).post(service::set).get(service::one).delete(service::remove))
        .route(&format!("{service}/products"), get(service::products))
        .route(&format!("{service}/status"), get(service::status))
        .route(&format!("{account}/service-licenses/{{scope}}"), get(service::tenant_services))
        .route(&format!("{account}/available-service-licenses/{{scope}}"), get(service::available))
        .route(&format!("{root}/api/service-license/{{scope}}/{{service}}"), get(service::one))
}

/// A body's codes and quantities, checked for shape: 400 for a missing or bad code, a
/// negative quantity, or a code named twice. No list is an empty one; `field` names it.
fn quantities(field: &str, products: Option<&[CodeQuantity]>) -> ApiResult<Vec<(LicenseKey, i64)>> {
    let mut seen = BTreeSet::new();
    products
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let code = p.code.as_deref().ok_or_else(|| bad_body(format!("{field}[{i}].code is required")))?;
            let license = LicenseKey::parse(code).map_err(|e| bad_body(e.to_string()))?;
            if p.quantity < 0 {
                return Err(bad_body(format!("quantity of `{code}` is negative")));
            }
            if !seen.insert(code.to_ascii_lowercase()) {
                return Err(bad_body(format!("code `{code}` is named twice")));
            }
            Ok((license, i64::from(p.quantity)))
        })
        .collect()
}

/// 410, UiPath's answer for a tenant service without a license.
fn gone(tenant: &str, service: &str) -> ApiError {
    ApiError::new(StatusCode::GONE, ErrorCode::Gone, format!("tenant `{tenant}` has no license for `{service}`"))
}
