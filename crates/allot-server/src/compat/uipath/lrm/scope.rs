//! A `serviceScopeId`: a tenant, named by its id or by its global id (`ids::tenant_uuid`).
//! Tenant ids are unique only within an organization, so a path without the account id
//! finds the organization from the tenant's global id, else the path's `/{org}` prefix, else
//! the caller's own organization.

use allot_core::TenantId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::app::{App, Caller};
use crate::compat::uipath::ids::named_tenant;
use crate::compat::uipath::{Account, PmLicense, bad_body};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Needs, PathParams};
use crate::prefix::OrgPrefix;
use crate::service::OrgScope;

/// A tenant of an organization the caller may act on as `A` says; 404 for a tenant that does
/// not exist there, as for an unknown organization.
pub struct Scoped<A> {
    pub account: Account<PmLicense, A>,
    pub tenant: TenantId,
}

impl<A: Needs> FromRequestParts<App> for Scoped<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        let params = PathParams::from_request_parts(parts, app).await?;
        let param = |name: &str| params.get(name);
        let scope = param("scope").ok_or_else(|| ApiError::internal("a route with Scoped<_> has no {scope}"))?;
        let org = match param("org") {
            Some(org) => org,
            None => scope_org(app, &caller, parts.extensions.get::<OrgPrefix>(), &scope)?,
        };
        let account = Account::authorize(app, caller, &org)?;
        let tenant = existing_tenant(&account, &scope)?;
        Ok(Self { account, tenant })
    }
}

/// The organization of a tenant named without its account id.
fn scope_org(app: &App, caller: &Caller, prefix: Option<&OrgPrefix>, scope: &str) -> ApiResult<String> {
    if let Some((org, _)) = named_tenant(app, scope) {
        return Ok(org.to_string());
    }
    match (prefix, caller.home_org()) {
        (Some(OrgPrefix(org)), _) => Ok(org.clone()),
        (None, Some(home)) => Ok(home.as_str().to_owned()),
        (None, None) => Err(bad_body(
            "name the organization: /{organization}/license_/api/service-license/..., or the tenant by its global id",
        )),
    }
}

/// The tenant `scope` names in `org` (its id, else its global id), or 404.
pub fn existing_tenant(org: &OrgScope, scope: &str) -> ApiResult<TenantId> {
    org.tenant_id(scope).or_else(|missing| {
        let global = named_tenant(org.app(), scope).filter(|(owner, _)| owner == org.org());
        global.map(|(_, tenant)| tenant).ok_or(missing)
    })
}

/// The tenant a write names: an existing one (by id or global id), else a new tenant of id
/// `scope` (400 if that is no valid id).
pub fn tenant_to_write(org: &OrgScope, scope: &str) -> ApiResult<TenantId> {
    existing_tenant(org, scope).or_else(|_| TenantId::parse(scope).map_err(|e| bad_body(e.to_string())))
}
