//! License Accountant (`/lease_`, also `/la`): user bundles for users (U) and group rules
//! (G), their reads, and usage statistics, as UiPath's `license.la.yaml` defines them.

mod groups;
mod page;
mod reads;
mod shapes;
mod stats;
mod status;
mod users;
mod views;

use allot_core::{LicenseKey, ProductKind, UserId};
use axum::Router;
use axum::routing::{delete, get, post};

use super::bad_body;
use super::shapes::CodeCount;
use crate::app::App;
use crate::error::ApiResult;
use crate::service::OrgScope;

pub fn routes() -> Router<App> {
    let mut router = Router::new();
    for root in ["/lease_", "/la"] {
        let at = |path: &str| format!("{root}/api/account/{{org}}/{path}");
        router = router
            .route(
                &at("user-license"),
                get(users::inventory).put(users::set_users).post(users::post_users).delete(users::remove_users),
            )
            .route(&at("user-license/users"), get(users::explicit_users))
            .route(&at("user-license/user/page"), get(users::explicit_page))
            .route(&at("user-license/license/users"), post(users::allocations_of))
            .route(&at("user-license/user/{user}/allocation"), get(users::allocation))
            .route(&at("user-license/{user}/availableUserBundles"), get(users::editable))
            .route(&at("user-license/licenseInheritance/{user}"), get(users::inheritance))
            .route(&at("user-license/ublCodes/explicit"), get(users::explicit_codes))
            .route(&at("user-license/currentUser"), delete(users::remove_current_user))
            .route(&at("user-license/{user}"), get(users::acquired))
            .route(&at("user-license/status"), get(status::get_status).put(status::set_status))
            .route(&at("user-license/groups"), get(groups::all_rules))
            .route(&at("user-license/group/page"), get(groups::page))
            .route(&at("user-license/group"), post(groups::allocations_of))
            .route(&at("user-license/ublCodes/group"), get(groups::rule_codes))
            .route(
                &at("user-license/group/{group}"),
                get(groups::get_group).put(groups::set_group).post(groups::set_group).delete(groups::remove_group),
            )
            .route(&at("user-license/group/{group}/allocation"), get(groups::allocation))
            .route(&at("user-license/group/{group}/user"), get(groups::members).delete(groups::release_members))
            .route(&at("user-license/group/{group}/user/{user}"), delete(groups::release_member))
            .route(&at("stats/timeline"), post(stats::timeline))
            .route(&at("stats/organization/timeline"), post(stats::organization_timeline))
            .route(&at("stats/used"), post(stats::used));
    }
    router
}

fn codes(raw: &[String]) -> ApiResult<Vec<LicenseKey>> {
    raw.iter().map(|code| LicenseKey::parse(code).map_err(|e| bad_body(e.to_string()))).collect()
}

/// The organization's user-bundle pools as `[{code, allocated, total}]`.
fn user_bundles(org: &OrgScope) -> Vec<CodeCount> {
    let pools = org.held_pools();
    pools.iter().filter(|p| p.kind == Some(ProductKind::User)).map(CodeCount::from).collect()
}

/// `userIds` for an allocation: at least one, each spelled as an id.
fn user_ids(raw: Option<&[String]>) -> ApiResult<Vec<UserId>> {
    if raw.is_none_or(<[String]>::is_empty) {
        return Err(bad_body("userIds: name at least one user"));
    }
    listed(raw)
}

/// `userIds` for a read or a removal: none (or null) names nobody, and answers nothing.
fn listed(raw: Option<&[String]>) -> ApiResult<Vec<UserId>> {
    raw.unwrap_or_default().iter().map(|id| UserId::parse(id).map_err(|e| bad_body(e.to_string()))).collect()
}
