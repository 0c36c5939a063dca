//! The host's pages, for host administrators: the organizations with how full their pools
//! are, a form to add one, what the host bought and has granted, and the product
//! catalogue. Grants to one organization are made on its overview, through a plan.

use allot_api::{CreateOrg, ProductView};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};

use super::pages::{AfterQuery, Fields, PoolRow, checked_form, page_after, urlencoded};
use super::{Chrome, Page, Signed, render};
use crate::app::App;
use crate::service::{Access, HostScope, Need, OrgScope};

struct OrgRow {
    id: String,
    name: String,
    users: usize,
    link: String,
    /// The fullest pool, as `LICENSE allocated/purchased`, if the organization has any.
    fullest: Option<PoolRow>,
}

#[derive(Template)]
#[template(path = "console/host.html")]
struct Host {
    chrome: Chrome,
    orgs: Vec<OrgRow>,
    /// The next page of organizations, if there is one.
    next: Option<String>,
    pools: Vec<PoolRow>,
    products: Vec<ProductView>,
}

/// A host administrator's scope; anyone else is answered 404, as the API's host paths
/// are not there for them.
fn host_scope(app: &App, signed: &Signed) -> Result<HostScope, Page> {
    HostScope::authorize(app, signed.caller.clone())
        .map_err(|_| Page::refused(StatusCode::NOT_FOUND, "there is nothing at /console/host"))
}

/// `/console/host`: the organizations, the host's pools and the catalogue.
pub async fn host(State(app): State<App>, signed: Signed, Query(query): Query<AfterQuery>) -> Result<Response, Page> {
    let host = host_scope(&app, &signed)?;
    let all = crate::service::organizations(&app, &signed.caller).organizations;
    let (listed, next) = page_after(all, query.after.as_deref(), |o| &o.id);
    let next = next.map(|after| format!("/console/host?after={}", urlencoded(&after)));
    let mut orgs = Vec::new();
    for org in listed {
        let scope = OrgScope::authorize(&app, signed.caller.clone(), &org.id, Need::native(Access::Read))?;
        let pools = scope.held_pools();
        let fullest = pools.iter().map(PoolRow::of).max_by_key(|p| (p.percent, p.allocated));
        let link = format!("/console/orgs/{}", urlencoded(&org.id));
        orgs.push(OrgRow { id: org.id, name: org.name, users: org.users, link, fullest });
    }
    let pools = host.held_pools().iter().map(PoolRow::of).collect();
    let products = crate::service::products(&app).products;
    Ok(render(&Host { chrome: Chrome::of(&signed, None), orgs, next, pools, products }))
}

/// `POST /console/host/orgs`: adds an organization, then shows its overview.
pub async fn create_org(
    State(app): State<App>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Redirect, Page> {
    let fields = Fields::of(&body);
    let one = |name: &str| fields.one(name).trim().to_owned();
    checked_form(&signed, &headers, &one("csrf"))?;
    let host = host_scope(&app, &signed)?;
    let name = Some(one("name")).filter(|n| !n.is_empty());
    let created = host.create_org(CreateOrg { id: one("id"), name }).await?;
    Ok(Redirect::to(&format!("/console/orgs/{}", urlencoded(&created.id))))
}
