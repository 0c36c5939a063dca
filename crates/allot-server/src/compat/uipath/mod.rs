//! UiPath Automation Suite's license API, as `compat/uipath.md` describes it.

use allot_core::{Command, OrgId, Plan, ViolationCode};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, put};

use crate::app::{App, Caller};
use crate::books::Outcome;
use crate::error::{ApiError, ApiResult};
use crate::service::{self, Access, Family, Need};
use allot_api::ErrorCode;

mod account;
mod identity;
mod lease;
mod lrm;
mod shapes;

/// The documented default host account id, always accepted for the host.
pub const DEFAULT_HOST_ID: &str = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d";
/// The host's own id.
pub const HOST_ID: &str = "host";

pub fn router() -> Router<App> {
    let org_license = "/lrm/api/host/{host}/organization/{org}/license";
    let service_license = "/lrm/api/account/{org}/service-license/{tenant}/{service}";
    let mut router = Router::new()
        .route("/api/account/authenticate", post(account::authenticate))
        .route("/identity_/connect/token", post(crate::auth::oauth::token))
        .route("/identity_/.well-known/openid-configuration", get(account::openid_configuration))
        .route(org_license, put(lrm::set_org).post(lrm::set_org))
        .route(&format!("{org_license}/available"), get(lrm::org_available))
        .route(&format!("{org_license}/remove"), axum::routing::delete(lrm::remove_org))
        .route("/lrm/api/account/{org}/account-license", get(lrm::account_license))
        .route("/lrm/api/account/{org}/available-account-licenses", get(lrm::available_account_licenses))
        .route(
            service_license,
            put(lrm::set_service).post(lrm::set_service).get(lrm::get_service).delete(lrm::remove_service),
        )
        // One path, two meanings: GET lists an organization's groups, PUT updates one group.
        .route("/identity_/api/Group/{id}", get(identity::groups).put(identity::update_group))
        .route("/identity_/api/Group/{org}/{group}", get(identity::group).delete(identity::delete_group))
        .route("/identity_/api/Group", post(identity::create_group))
        .route("/identity_/api/User/{user}", get(identity::user).put(identity::put_user).delete(identity::delete_user));
    for root in ["/lease_", "/la"] {
        router = router
            .route(
                &format!("{root}/api/account/{{org}}/user-license"),
                put(lease::set_users).post(lease::set_users).get(lease::inventory).delete(lease::remove_users),
            )
            .route(
                &format!("{root}/api/account/{{org}}/user-license/group/{{group}}"),
                put(lease::set_group).post(lease::set_group).get(lease::get_group).delete(lease::remove_group),
            );
    }
    router
}

/// What a call touches, by UiPath's scope families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    License,
    Group,
    User,
}

/// Authorizes `caller` on organization `org` (UiPath's `accountId`) by the one access rule
/// (service/access.rs): host admins anywhere, an organization's admins (readers for reads),
/// and API clients of the organization with the resource's scope (`PM.License`, or
/// `PM.License.Read` / `.Write`). Another organization's ids answer 404, like unknown ones.
pub fn authorize(app: &App, caller: &Caller, org: &str, resource: Resource, write: bool) -> ApiResult<OrgId> {
    let family = match resource {
        Resource::License => Family::License,
        Resource::Group => Family::Group,
        Resource::User => Family::User,
    };
    let access = if write { Access::Write } else { Access::Read };
    Ok(service::authorized(app, caller, org, Need::new(family, access))?)
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

/// Applies `commands` all or nothing, refusing with UiPath's statuses.
pub async fn apply(app: &App, caller: &Caller, commands: &[Command]) -> ApiResult<Outcome> {
    let outcome = app.books.apply(commands, &caller.actor(), app.clock.now()).await?;
    if !outcome.plan.is_possible() {
        return Err(ApiError::refused_as(status_of(&outcome.plan), &outcome.plan));
    }
    Ok(outcome)
}

/// Applies commands computed from the books as they stand (a PUT that replaces a whole
/// allocation reads what to zero), only if the books still give the same commands when it
/// commits; if another change came between, computes them again.
pub async fn apply_current(
    app: &App,
    caller: &Caller,
    build: impl Fn(&allot_core::State) -> ApiResult<Vec<Command>> + Send + Sync + 'static,
) -> ApiResult<Outcome> {
    let build = std::sync::Arc::new(build);
    for _ in 0..8 {
        let commands = build(&app.books.read())?;
        let (expected, rebuild) = (commands.clone(), build.clone());
        let unmoved = move |books: &allot_core::State, _: &Plan| match rebuild(books) {
            Ok(now) if now == expected => Ok(()),
            _ => Err(allot_store::StoreError::Raced("the books moved under a replacing PUT".into()).into()),
        };
        let now = app.clock.now();
        match app.books.apply_checked(&commands, &caller.actor(), now, None, Box::new(unmoved)).await {
            Err(error) if error.raced() => continue,
            Err(error) => return Err(error),
            Ok(outcome) if !outcome.plan.is_possible() => {
                return Err(ApiError::refused_as(status_of(&outcome.plan), &outcome.plan));
            }
            Ok(outcome) => return Ok(outcome),
        }
    }
    Err(ApiError::conflict(ErrorCode::Conflict, "the books kept changing while this request was applied; retry it"))
}

/// "404 when the organization has no license from its parent": all its pools are empty.
pub fn require_license(app: &App, org: &str) -> ApiResult<()> {
    let has_any = app.books.read().org(org).is_some_and(|o| o.pools.values().any(|p| !p.is_empty()));
    if has_any {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no account license is allocated to organization `{org}`")))
    }
}

/// 400 for a malformed body, as UiPath answers it.
pub fn bad_body(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidBody, detail)
}
