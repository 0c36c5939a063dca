//! UiPath Automation Suite's license API, as `compat/uipath.md` describes it.

use std::marker::PhantomData;
use std::ops::Deref;

use allot_core::{GroupId, Plan, UserId, ViolationCode};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};

use crate::app::{App, Caller};
use crate::books::Outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Needs, PathParams};
use crate::prefix::OrgPrefix;
use crate::service::{Family, Need, OrgScope};
use allot_api::ErrorCode;

mod identity;
pub mod ids;
mod lease;
mod login;
mod lrm;
mod paging;
mod shapes;

/// The documented default host account id, always accepted for the host.
pub const DEFAULT_HOST_ID: &str = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d";
/// The host's own id.
pub const HOST_ID: &str = "host";

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/account/authenticate", post(login::authenticate))
        .route("/identity_/connect/token", post(crate::auth::oauth::identity_token))
        .route("/identity_/.well-known/openid-configuration", get(login::openid_configuration))
        .merge(lrm::routes())
        .merge(lease::routes())
        .merge(identity::routes())
}

/// UiPath's scope families, as an [`Account`] names the one its route touches.
pub trait Touches {
    const FAMILY: Family;
}

/// Licenses: `PM.License` (or `PM.License.Read` / `.Write`).
pub struct PmLicense;
/// Groups: `PM.Group` (or `.Read` / `.Write`).
pub struct PmGroup;
/// Users: `PM.User` (or `.Read` / `.Write`).
pub struct PmUser;

impl Touches for PmLicense {
    const FAMILY: Family = Family::License;
}

impl Touches for PmGroup {
    const FAMILY: Family = Family::Group;
}

impl Touches for PmUser {
    const FAMILY: Family = Family::User;
}

/// An organization (UiPath's `accountId`) the caller may act on: authorized by the one
/// access rule (service/access.rs) for family `F` and access `A` (host admins anywhere, an
/// organization's admins, readers for reads, and its API clients by `F`'s scopes), refusing
/// plans with UiPath's statuses. Another organization's ids answer 404, like unknown ones.
///
/// As an extractor it takes the organization from the path's `{org}` (checking `{host}`
/// first, if the path has one), else, on user paths, from the path's `/{org}` prefix or
/// the caller's own organization.
pub struct Account<F, A> {
    scope: OrgScope,
    /// The organization as the request names it, as UiPath's messages repeat it.
    named: String,
    touches: PhantomData<(F, A)>,
}

impl<F, A> Deref for Account<F, A> {
    type Target = OrgScope;

    fn deref(&self) -> &OrgScope {
        &self.scope
    }
}

impl<F: Touches, A: Needs> Account<F, A> {
    /// Authorizes `caller` on organization `org`, as the request names it.
    pub fn authorize(app: &App, caller: Caller, org: &str) -> ApiResult<Self> {
        let id = ids::named_org(app, org);
        let scope = OrgScope::authorize(app, caller, &id, Need::new(F::FAMILY, A::ACCESS))?.refusing(refused);
        Ok(Self { scope, named: org.to_owned(), touches: PhantomData })
    }
}

impl<F: Touches, A: Needs> FromRequestParts<App> for Account<F, A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        let params = PathParams::from_request_parts(parts, app).await?;
        let param = |name: &str| params.get(name);
        if let Some(host) = param("host") {
            check_host(&host)?;
        }
        let org = match param("org") {
            Some(org) => org,
            None => user_org(&caller, parts.extensions.get::<OrgPrefix>())?,
        };
        Self::authorize(app, caller, &org)
    }
}

impl<F, A> Account<F, A> {
    /// "404 when the organization has no license from its parent": all its pools are empty.
    pub fn require_license(&self) -> ApiResult<()> {
        if self.has_license() {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("no account license is allocated to organization `{}`", self.named)))
        }
    }

    /// The group a path names (by its id or global id), or 404.
    pub fn path_group(&self, group: &str) -> ApiResult<GroupId> {
        let id = ids::named_group(self.app(), self.org(), group);
        self.group_id(&id).map_err(|_| self.missing_here("group", group))
    }

    /// The user a path names, or 404.
    pub fn path_user(&self, user: &str) -> ApiResult<UserId> {
        self.user_id(user).map_err(|_| self.missing_here("user", user))
    }

    fn missing_here(&self, what: &str, id: &str) -> ApiError {
        ApiError::not_found(format!("{what} `{id}` does not exist in organization `{}`", self.named))
    }
}

/// The organization a user path is about, when the path has no `{org}`: the path's
/// `/{org}` prefix, else the caller's own organization.
fn user_org(caller: &Caller, prefix: Option<&OrgPrefix>) -> ApiResult<String> {
    match (prefix, caller.home_org()) {
        (Some(OrgPrefix(org)), _) => Ok(org.clone()),
        (None, Some(home)) => Ok(home.as_str().to_owned()),
        (None, None) => Err(bad_body("name the organization: /{organization}/identity_/api/User/{userId}")),
    }
}

/// The host account id in a path: the host's id or the documented default.
pub fn check_host(host: &str) -> ApiResult<()> {
    if host.eq_ignore_ascii_case(HOST_ID) || host.eq_ignore_ascii_case(DEFAULT_HOST_ID) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("host account `{host}` does not exist")))
    }
}

/// UiPath's statuses for a refused plan: 404 for something unknown, 400 for bad values,
/// 409 for anything that would exceed or is not held by the parent.
fn status_of(plan: &Plan) -> StatusCode {
    match plan.violations.first().map(|v| v.code) {
        Some(code) if code.is_unknown_target() => StatusCode::NOT_FOUND,
        Some(ViolationCode::InvalidQuantity | ViolationCode::InvalidDates) => StatusCode::BAD_REQUEST,
        Some(ViolationCode::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    }
}

/// A refused plan, as UiPath answers it: its status, the violations, no plan.
fn refused(outcome: &Outcome) -> ApiError {
    ApiError::refused_as(status_of(&outcome.plan), &outcome.plan)
}

/// 400 for a malformed body, as UiPath answers it.
pub fn bad_body(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidBody, detail)
}
