//! Holdings: a user's effective licenses and where each comes from, the direct set, the
//! check ("does X hold Y?", answered from memory), and group rules.

use allot_api::{CheckAnswer, GroupRule, GroupRuleView, SetUserLicenses, UserLicenses};
use serde::Deserialize;

use super::dto::parse_time;
use axum::extract::State;

use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Org, Path, Query, Read, Write};
use crate::service::etag::{IfMatch, Tagged};

#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

/// The check takes its organization itself: the hot path authorizes and answers under one
/// read of the books.
#[derive(Deserialize)]
pub struct CheckPath {
    org: String,
    user: String,
    license: String,
}

#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The user's licenses as they stood then, replayed from the ledger.
    #[param(value_type = Option<allot_api::schema::Time>)]
    pub as_of: Option<String>,
}

/// A user's effective licenses, each with where it comes from.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id"), AsOf),
    responses((status = 200, body = UserLicenses, headers(("ETag" = String, description = "The user's direct licenses; send it back as If-Match"))),
        (status = 404, body = Problem)))]
pub async fn get_user(
    org: Org<Read>,
    Path(path): Path<UserPath>,
    Query(query): Query<AsOf>,
) -> ApiResult<Tagged<UserLicenses>> {
    let as_of = parse_time("as_of", query.as_of.as_deref()).map_err(ApiError::into_query)?;
    org.user_licenses(&path.user, as_of).await
}

/// Set a user's direct licenses. All or nothing: a refused change changes nothing.
#[utoipa::path(put, path = "/orgs/{org}/users/{user}/licenses", tag = "licenses", security(("bearer" = [])),
    request_body = SetUserLicenses,
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the direct licenses still have this ETag; else 412")),
    responses((status = 200, body = UserLicenses, headers(("ETag" = String, description = "The user's direct licenses"))),
        (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem),
        (status = 409, description = "`license_limit_exceeded`, `not_purchased`, `expired`, `wrong_license_kind`, `conflicting_capabilities`", body = Problem),
        (status = 422, description = "`unknown_license`, `invalid_dates`", body = Problem)))]
pub async fn set_user(
    org: Org<Write>,
    Path(path): Path<UserPath>,
    if_match: IfMatch,
    Json(body): Json<SetUserLicenses>,
) -> ApiResult<Tagged<UserLicenses>> {
    org.set_user_licenses(&path.user, &body.licenses, &if_match).await
}

/// Does the user hold the license? Answered from memory. `license` is a code (any
/// capability counts) or `code:capability`.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}/licenses/{license}", tag = "licenses", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id"),
        ("license" = String, Path, description = "License code or `code:capability`")),
    responses((status = 200, body = CheckAnswer), (status = 404, description = "Unknown organization", body = Problem)))]
pub async fn check(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<CheckPath>,
) -> ApiResult<axum::Json<CheckAnswer>> {
    Ok(axum::Json(crate::service::check(&app, &caller, &path.org, &path.user, &path.license)?))
}

/// A group's rule: the licenses its members inherit.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupRuleView, headers(("ETag" = String, description = "The rule; send it back as If-Match"))),
        (status = 404, body = Problem)))]
pub async fn get_group(org: Org<Read>, Path(path): Path<GroupPath>) -> ApiResult<Tagged<GroupRuleView>> {
    org.group_rule(&path.group)
}

/// Set a group's rule. Members inherit first come, first served; those beyond the pool
/// wait in order of joining and are granted when units free up.
#[utoipa::path(put, path = "/orgs/{org}/groups/{group}/licenses", tag = "licenses", security(("bearer" = [])),
    request_body = GroupRule,
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the rule still has this ETag; else 412")),
    responses((status = 200, body = GroupRuleView, headers(("ETag" = String, description = "The rule"))),
        (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 412, description = "`precondition_failed`: If-Match is stale", body = Problem),
        (status = 409, description = "`not_purchased`, `wrong_license_kind`, `conflicting_capabilities`", body = Problem)))]
pub async fn set_group(
    org: Org<Write>,
    Path(path): Path<GroupPath>,
    if_match: IfMatch,
    Json(body): Json<GroupRule>,
) -> ApiResult<Tagged<GroupRuleView>> {
    org.set_group_rule(&path.group, &body, &if_match).await
}
