//! The tenants page: each tenant's services and the unit pools the organization granted
//! them, set through a plan (`plans.rs`), and a form to add a tenant.

use allot_api::{CreateTenant, TenantView};
use allot_core::ProductKind;
use askama::Template;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};

use super::pages::{AfterQuery, Fields, checked_form, page_after, urlencoded};
use super::{Chrome, OrgPage, Page, render};
use crate::service::{Access, Need};

/// A unit license the organization holds, and the service its units belong to.
struct UnitLicense {
    license: String,
    service: String,
    available: i64,
}

#[derive(Template)]
#[template(path = "console/tenants.html")]
struct Tenants {
    chrome: Chrome,
    base: String,
    can_write: bool,
    tenants: Vec<TenantView>,
    /// The next page's link, if there is one.
    next: Option<String>,
    units: Vec<UnitLicense>,
}

/// `/console/orgs/{org}/tenants`: the tenants, their services' pools, and the forms to
/// set one (through a plan) or add a tenant.
pub async fn list(page: OrgPage, Query(query): Query<AfterQuery>) -> Result<Response, Page> {
    let (tenants, next) = page_after(page.scope.tenants()?.tenants, query.after.as_deref(), |t| &t.id);
    let next = next.map(|after| format!("{}/tenants?after={}", page.base(), urlencoded(&after)));
    let units = page
        .scope
        .held_pools()
        .into_iter()
        .filter(|p| p.kind == Some(ProductKind::Unit))
        .filter_map(|p| {
            let service = p.service.as_ref()?.to_string();
            Some(UnitLicense { license: p.license.to_string(), service, available: p.pool.available() })
        })
        .collect();
    let shown = Tenants { chrome: page.chrome(), base: page.base(), can_write: page.can_write(), tenants, next, units };
    Ok(render(&shown))
}

/// `POST /console/orgs/{org}/tenants`: adds a tenant, then shows the tenants.
pub async fn create(page: OrgPage, headers: HeaderMap, body: Bytes) -> Result<Redirect, Page> {
    let fields = Fields::of(&body);
    let one = |name: &str| fields.one(name).trim().to_owned();
    checked_form(&page.signed, &headers, &one("csrf"))?;
    page.scope.require(Need::native(Access::Write))?;
    let name = Some(one("name")).filter(|n| !n.is_empty());
    page.scope.create_tenant(CreateTenant { id: one("id"), name }).await?;
    Ok(Redirect::to(&format!("{}/tenants", page.base())))
}
