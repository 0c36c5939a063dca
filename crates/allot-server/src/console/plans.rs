//! Changes made from the console, always through a plan: the form's change is validated and
//! stored, shown with every pool's count before and after and every violation in words,
//! and applied only from that page, exactly as shown. A plan the books moved away from
//! applies nothing: the page says what moved and shows the fresh plan.

use allot_api::{PlanChange, PlanRequest, PlanView};
use askama::Template;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::pages::{Fields, checked_form};
use super::{Chrome, OrgPage, Page, render};
use crate::error::{ApiError, ApiResult};
use crate::service::{Access, Need};
use allot_api::ErrorCode;

/// What a form asks to change.
enum Asked {
    /// The users page: `license` given to (or taken from) the selected users.
    Licenses { users: Vec<String>, license: String, give: bool },
    /// A group's page: its rule becomes `licenses` (`external`: drawing no unit).
    Rule { group: String, licenses: Vec<String>, external: bool },
    /// The tenants page: tenant `tenant` gets `quantity` units of unit license `license`,
    /// for the service its units belong to.
    TenantPool { tenant: String, license: String, quantity: String },
    /// An organization's overview, for a host administrator: the organization gets
    /// `quantity` of `license` from the host.
    OrgPool { license: String, quantity: String },
}

/// A form that asks for a plan, as sent: its CSRF token and its change.
struct Sent {
    csrf: String,
    asked: Asked,
}

impl Sent {
    fn of(body: &[u8]) -> Self {
        let fields = Fields::of(body);
        let (one, all) = (|name: &str| fields.one(name), |name: &str| fields.all(name));
        let asked = match one("kind").as_str() {
            "rule" => Asked::Rule { group: one("group"), licenses: all("license"), external: one("external") == "on" },
            "org_pool" => Asked::OrgPool { license: one("license"), quantity: one("quantity") },
            "tenant_pool" => {
                Asked::TenantPool { tenant: one("tenant"), license: one("license"), quantity: one("quantity") }
            }
            _ => Asked::Licenses { users: all("user"), license: one("license"), give: one("action") != "take" },
        };
        Self { csrf: one("csrf"), asked }
    }
}

impl Asked {
    fn changes(&self, page: &OrgPage) -> ApiResult<Vec<PlanChange>> {
        match self {
            Asked::Licenses { users, license, give } => page.scope.direct_license_changes(users, license, *give),
            Asked::Rule { group, licenses, external } => Ok(vec![PlanChange::SetGroupRule {
                group: group.clone(),
                licenses: licenses.clone(),
                use_external_license: *external,
            }]),
            Asked::OrgPool { license, quantity } => Ok(vec![PlanChange::SetOrgPool {
                license: license.clone(),
                quantity: whole(quantity)?,
                valid_from: None,
                valid_until: None,
            }]),
            Asked::TenantPool { tenant, license, quantity } => {
                let quantity = whole(quantity)?;
                let unit = page.scope.held_pools().into_iter().find(|p| p.license.to_string() == *license);
                let service = unit.and_then(|p| p.service).ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::InvalidBody,
                        format!("`{license}` is not a unit license of this organization"),
                    )
                })?;
                Ok(vec![PlanChange::SetTenantPool {
                    tenant: tenant.clone(),
                    service: service.to_string(),
                    license: license.clone(),
                    quantity,
                    valid_from: None,
                    valid_until: None,
                }])
            }
        }
    }

    /// The form's fields again, for the apply form: a stale plan is planned afresh from them.
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Asked::Licenses { users, license, give } => {
                let mut fields: Vec<_> = users.iter().map(|u| ("user", u.clone())).collect();
                fields.push(("license", license.clone()));
                fields.push(("action", if *give { "give" } else { "take" }.to_owned()));
                fields
            }
            Asked::Rule { group, licenses, external } => {
                let mut fields = vec![("kind", "rule".to_owned()), ("group", group.clone())];
                fields.extend(licenses.iter().map(|l| ("license", l.clone())));
                if *external {
                    fields.push(("external", "on".to_owned()));
                }
                fields
            }
            Asked::OrgPool { license, quantity } => {
                vec![("kind", "org_pool".to_owned()), ("license", license.clone()), ("quantity", quantity.clone())]
            }
            Asked::TenantPool { tenant, license, quantity } => vec![
                ("kind", "tenant_pool".to_owned()),
                ("tenant", tenant.clone()),
                ("license", license.clone()),
                ("quantity", quantity.clone()),
            ],
        }
    }

    /// Where the page links back to.
    fn back(&self, page: &OrgPage) -> (String, &'static str) {
        match self {
            Asked::Licenses { .. } => (format!("{}/users", page.base()), "Back to the users"),
            Asked::Rule { group, .. } => {
                (format!("{}/groups/{}", page.base(), super::pages::urlencoded(group)), "Back to the group")
            }
            Asked::TenantPool { .. } => (format!("{}/tenants", page.base()), "Back to the tenants"),
            Asked::OrgPool { .. } => (page.base(), "Back to the overview"),
        }
    }
}

/// A form's quantity: a whole number, not below zero.
fn whole(quantity: &str) -> ApiResult<i64> {
    quantity.trim().parse::<i64>().ok().filter(|q| *q >= 0).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidBody, format!("quantity: `{quantity}` is not a whole number of units"))
    })
}

struct PoolMove {
    scope: String,
    license: String,
    allocated_before: i64,
    allocated_after: i64,
    quantity: i64,
    available_after: i64,
}

struct HoldingMove {
    user: String,
    product: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "console/plan.html")]
struct Preview {
    chrome: Chrome,
    org: String,
    /// Why this preview was shown again, if it was (what moved since the last one).
    moved: Option<String>,
    applied: bool,
    possible: bool,
    id: String,
    pools: Vec<PoolMove>,
    holdings: Vec<HoldingMove>,
    violations: Vec<String>,
    fields: Vec<(&'static str, String)>,
    back: (String, &'static str),
    can_write: bool,
}

impl Preview {
    fn of(page: &OrgPage, plan: &PlanView, asked: &Asked) -> Self {
        let held =
            |h: &Option<allot_api::HeldLicense>| h.as_ref().map_or_else(|| "—".to_owned(), |h| h.license.clone());
        let scope_name = |s: &allot_api::ScopeView| match (&s.tenant, &s.service, &s.org) {
            (Some(tenant), Some(service), _) => format!("tenant {tenant} / {service}"),
            (_, _, Some(_)) => "organization".to_owned(),
            _ => "host".to_owned(),
        };
        let pools = plan.pools.iter().map(|p| PoolMove {
            scope: scope_name(&p.scope),
            license: p.license.clone(),
            allocated_before: p.allocated_before,
            allocated_after: p.allocated_after,
            quantity: p.quantity_after,
            available_after: p.available_after,
        });
        let holdings = plan.holdings.iter().map(|h| HoldingMove {
            user: h.user.clone(),
            product: h.product.clone(),
            before: held(&h.before),
            after: held(&h.after),
        });
        Self {
            chrome: page.chrome(),
            org: page.scope.org().to_string(),
            moved: None,
            applied: plan.applied,
            possible: plan.possible,
            id: plan.id.clone().unwrap_or_default(),
            pools: pools.collect(),
            holdings: holdings.collect(),
            violations: plan.violations.iter().map(|v| v.message.clone()).collect(),
            fields: asked.fields(),
            back: asked.back(page),
            can_write: page.can_write(),
        }
    }
}

/// The plan of what a form asked for, validated and stored, shown.
async fn preview(page: &OrgPage, asked: &Asked, moved: Option<String>) -> Result<Response, Page> {
    let plan = page.scope.plan(PlanRequest { apply: false, changes: asked.changes(page)?, after: None }).await?;
    Ok(render(&Preview { moved, ..Preview::of(page, &plan, asked) }))
}

/// `POST .../preview`: the plan of a form's change (the users page's, a group's rule).
pub async fn plan(page: OrgPage, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, Page> {
    let sent = Sent::of(&body);
    checked_form(&page.signed, &headers, &sent.csrf)?;
    preview(&page, &sent.asked, None).await
}

/// `POST .../plans/{id}/apply`: applies exactly the previewed plan. If the books moved
/// since, nothing is applied: the page says what moved and shows the fresh plan.
pub async fn apply(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Page> {
    let sent = Sent::of(&body);
    checked_form(&page.signed, &headers, &sent.csrf)?;
    page.scope.require(Need::native(Access::Write))?;
    match page.scope.apply_plan(&id).await {
        Ok(plan) => Ok(render(&Preview::of(&page, &plan, &sent.asked))),
        Err(error) if error.code() == allot_api::ErrorCode::PlanStale => {
            preview(&page, &sent.asked, Some(error.detail().to_owned())).await
        }
        Err(error) => match error.plan() {
            Some(plan) => {
                let moved = Some(error.detail().to_owned());
                let shown = Preview { moved, ..Preview::of(&page, plan, &sent.asked) };
                Ok((error.status(), render(&shown)).into_response())
            }
            None => Err(error.into()),
        },
    }
}
