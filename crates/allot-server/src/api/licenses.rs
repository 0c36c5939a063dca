//! Holdings: a user's effective licenses and where each comes from, the direct set, the
//! check ("does X hold Y?", answered from memory), and group rules.

use allot_core::{Command, DirectLicense, Rule};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use allot_api::{CheckAnswer, HeldLicense};

use super::dto::parse_time;
use super::etag::{IfMatch, Resource, Tagged};
use super::{license_key, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Query};

/// A license to hold directly.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseSpec {
    /// A license code, or `code:capability`.
    pub license: String,
    /// Record the holding without drawing a unit (`useExternalLicense`).
    #[serde(default)]
    pub external: bool,
    /// RFC 3339.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub valid_until: Option<String>,
}

impl LicenseSpec {
    pub fn direct(&self, field: &str) -> ApiResult<DirectLicense> {
        Ok(DirectLicense {
            license: license_key(&self.license, &format!("{field}.license"))?,
            external: self.external,
            valid_from: parse_time(&format!("{field}.valid_from"), self.valid_from.as_deref())?,
            valid_until: parse_time(&format!("{field}.valid_until"), self.valid_until.as_deref())?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetUserLicenses {
    /// The user's direct licenses become exactly these; inherited ones are untouched.
    pub licenses: Vec<LicenseSpec>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Waiting {
    pub license: String,
    pub group: String,
    /// 1 is next in line.
    pub position: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserLicenses {
    pub user: String,
    pub licenses: Vec<HeldLicense>,
    /// Licenses the user's groups grant that the user waits for.
    pub waiting: Vec<Waiting>,
    pub revision: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// Licenses every member inherits, first come first served.
    pub licenses: Vec<String>,
    /// Members' holdings are recorded but draw no unit.
    #[serde(default)]
    pub use_external_license: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupRuleView {
    pub group: String,
    pub licenses: Vec<String>,
    pub use_external_license: bool,
    pub revision: u64,
}

pub(crate) fn user_licenses(app: &App, org: &str, user: &allot_core::UserId) -> UserLicenses {
    user_licenses_in(&app.books.read(), org, user)
}

/// A user's licenses and waiting places in `books` (now, or replayed to a past moment).
pub(crate) fn user_licenses_in(books: &allot_core::State, org: &str, user: &allot_core::UserId) -> UserLicenses {
    let Some(o) = books.org(org) else {
        return UserLicenses { user: user.to_string(), licenses: vec![], waiting: vec![], revision: books.revision() };
    };
    let licenses =
        o.users.get(user).map(|u| u.holdings.iter().map(|(p, h)| HeldLicense::new(p, h)).collect()).unwrap_or_default();
    let mut waiting = Vec::new();
    if let Some(u) = o.users.get(user) {
        let rule_licenses = u.groups.keys().filter_map(|g| o.groups.get(g)).flat_map(|g| g.rule.licenses.iter());
        for license in rule_licenses.collect::<std::collections::BTreeSet<_>>() {
            let line = o.waiting(license);
            if let Some(position) = line.iter().position(|(_, id, ..)| *id == user) {
                waiting.push(Waiting {
                    license: license.to_string(),
                    group: line[position].2.to_string(),
                    position: position + 1,
                });
            }
        }
    }
    UserLicenses { user: user.to_string(), licenses, waiting, revision: books.revision() }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// RFC 3339: the user's licenses as they stood then, replayed from the ledger.
    pub as_of: Option<String>,
}

/// A user's effective licenses, each with where it comes from.
#[utoipa::path(get, path = "/orgs/{org}/users/{user}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("user" = String, Path, description = "User id"), AsOf),
    responses((status = 200, body = UserLicenses, headers(("ETag" = String, description = "The user's direct licenses; send it back as If-Match"))),
        (status = 404, body = Problem)))]
pub async fn get_user(
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
    Query(query): Query<AsOf>,
) -> ApiResult<Tagged<UserLicenses>> {
    org_for(&app, &caller, &org, Access::Read)?;
    if let Some(raw) = query.as_of.as_deref() {
        let as_of = parse_time("as_of", Some(raw))
            .map_err(|e| ApiError::bad_request("invalid_query", e.detail().to_owned()))?;
        let books = super::history::books_at(&app, as_of.unwrap_or_default()).await?;
        let id = allot_core::UserId::parse(&user)
            .ok()
            .filter(|id| books.org(&org).is_some_and(|o| o.users.contains_key(id)));
        let id = id.ok_or_else(|| ApiError::not_found(format!("user `{user}` did not exist at {raw}")))?;
        let etag = Resource::DirectLicenses { org: org.clone(), user: id.clone() }.etag(&books);
        return Ok(Tagged(etag, user_licenses_in(&books, &org, &id)));
    }
    let user = super::users::user_id(&app, &org, &user)?;
    let etag = Resource::DirectLicenses { org: org.clone(), user: user.clone() }.etag(&app.books.read());
    Ok(Tagged(etag, user_licenses(&app, &org, &user)))
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
    State(app): State<App>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
    if_match: IfMatch,
    Json(body): Json<SetUserLicenses>,
) -> ApiResult<Tagged<UserLicenses>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let user = super::users::user_id(&app, &org, &user)?;
    app.check_items(body.licenses.len())?;
    let licenses =
        body.licenses.iter().enumerate().map(|(i, l)| l.direct(&format!("licenses[{i}]"))).collect::<ApiResult<_>>()?;
    let resource = Resource::DirectLicenses { org: org.clone(), user: user.clone() };
    app.change_if(
        &caller,
        &[Command::SetDirectLicenses { org: org_id, user: user.clone(), licenses }],
        &if_match,
        &resource,
    )
    .await?;

    let etag = resource.etag(&app.books.read());
    Ok(Tagged(etag, user_licenses(&app, &org, &user)))
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
    Path((org, user, license)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<CheckAnswer>> {
    let books = app.books.read();
    caller.authorize(&books, &org, Access::Read)?;
    Ok(axum::Json(CheckAnswer::from(books.check(&org, &user, &license, app.clock.now()))))
}

fn rule_view(app: &App, org: &str, group: &allot_core::GroupId) -> GroupRuleView {
    let books = app.books.read();
    let rule = books.org(org).and_then(|o| o.groups.get(group)).map(|g| g.rule.clone()).unwrap_or_default();
    GroupRuleView {
        group: group.to_string(),
        licenses: rule.licenses.iter().map(ToString::to_string).collect(),
        use_external_license: rule.external,
        revision: books.revision(),
    }
}

/// A group's rule: the licenses its members inherit.
#[utoipa::path(get, path = "/orgs/{org}/groups/{group}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("group" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupRuleView, headers(("ETag" = String, description = "The rule; send it back as If-Match"))),
        (status = 404, body = Problem)))]
pub async fn get_group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<Tagged<GroupRuleView>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let group = super::groups::group_id(&app, &org, &group)?;
    let etag = Resource::GroupRule { org: org.clone(), group: group.clone() }.etag(&app.books.read());
    Ok(Tagged(etag, rule_view(&app, &org, &group)))
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
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
    if_match: IfMatch,
    Json(body): Json<GroupRule>,
) -> ApiResult<Tagged<GroupRuleView>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    let group = super::groups::group_id(&app, &org, &group)?;
    app.check_items(body.licenses.len())?;
    let licenses = body
        .licenses
        .iter()
        .enumerate()
        .map(|(i, l)| license_key(l, &format!("licenses[{i}]")))
        .collect::<ApiResult<_>>()?;
    let rule = Rule { licenses, external: body.use_external_license };
    let resource = Resource::GroupRule { org: org.clone(), group: group.clone() };
    app.change_if(&caller, &[Command::SetGroupRule { org: org_id, group: group.clone(), rule }], &if_match, &resource)
        .await?;

    let etag = resource.etag(&app.books.read());
    Ok(Tagged(etag, rule_view(&app, &org, &group)))
}
