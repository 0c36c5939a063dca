//! License Accountant (`/lease_`, also `/la`): user bundles for users (U) and group rules (G).

use allot_core::{Command, DirectLicense, LicenseKey, ProductKind, Rule, UserId};
use axum::body::Bytes;
use axum::extract::{Path, State};

use super::shapes::{
    CodeCount, GroupLicenses, GroupRuleRequest, GroupRuleResult, RemoveUsersRequest, UserLicenseRequest,
    UserLicenseResult,
};
use super::{Resource, apply, authorize, bad_body};
use crate::api::NoContent;
use crate::app::{App, Caller};
use crate::error::ApiResult;
use crate::extract::parse_json;

fn codes(raw: &[String]) -> ApiResult<Vec<LicenseKey>> {
    raw.iter().map(|code| LicenseKey::parse(code).map_err(|e| bad_body(e.to_string()))).collect()
}

/// The organization's user-bundle pools as `[{code, allocated, total}]`.
fn user_bundles(app: &App, org: &str) -> Vec<CodeCount> {
    let books = app.books.read();
    let Some(o) = books.org(org) else { return Vec::new() };
    o.pools
        .iter()
        .filter(|(l, p)| {
            !p.is_empty() && books.catalogue().get(l.product.as_str()).is_some_and(|p| p.kind == ProductKind::User)
        })
        .map(|(l, p)| CodeCount { code: l.to_string(), allocated: p.allocated, total: p.grant.quantity })
        .collect()
}

fn user_ids(raw: &[String]) -> ApiResult<Vec<UserId>> {
    if raw.is_empty() {
        return Err(bad_body("userIds: name at least one user"));
    }
    raw.iter().map(|id| UserId::parse(id).map_err(|e| bad_body(e.to_string()))).collect()
}

/// U: each listed user's direct bundles become exactly `userBundleCodes`, one unit per user
/// and code (none with `useExternalLicense`). All or nothing.
pub async fn set_users(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<Vec<UserLicenseResult>>> {
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    let request: UserLicenseRequest = parse_json(&body)?;
    let users = user_ids(&request.user_ids)?;
    let licenses = codes(&request.user_bundle_codes)?;
    app.check_items(users.len())?;
    super::require_license(&app, &org)?;
    let external = request.use_external_license.unwrap_or(false);
    let direct: Vec<DirectLicense> = licenses.iter().map(|l| DirectLicense::of(l.clone(), external)).collect();
    let commands: Vec<Command> = users
        .iter()
        .map(|user| Command::SetDirectLicenses { org: org_id.clone(), user: user.clone(), licenses: direct.clone() })
        .collect();
    apply(&app, &caller, &commands).await?;
    let books = app.books.read();
    let catalogue = books.catalogue();
    let spelled: Vec<String> = licenses
        .iter()
        .map(|l| catalogue.resolve(l).map(|(k, _)| k.to_string()).unwrap_or_else(|_| l.to_string()))
        .collect();
    let answer = users
        .iter()
        .map(|user| UserLicenseResult {
            user_id: user.to_string(),
            organization_id: org_id.to_string(),
            use_external_license: external,
            user_bundle_codes: spelled.clone(),
        })
        .collect();
    Ok(axum::Json(answer))
}

/// The organization's user bundles: `[{code, allocated, total}]`.
pub async fn inventory(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<Vec<CodeCount>>> {
    authorize(&app, &caller, &org, Resource::License, false)?;
    Ok(axum::Json(user_bundles(&app, &org)))
}

/// Removes the listed users' direct bundles.
pub async fn remove_users(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult<NoContent> {
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    let request: RemoveUsersRequest = parse_json(&body)?;
    let users = user_ids(&request.user_ids)?;
    app.check_items(users.len())?;
    let commands: Vec<Command> = users
        .into_iter()
        .map(|user| Command::SetDirectLicenses { org: org_id.clone(), user, licenses: Vec::new() })
        .collect();
    apply(&app, &caller, &commands).await?;
    Ok(NoContent)
}

fn group_id(app: &App, org: &str, group: &str) -> ApiResult<allot_core::GroupId> {
    crate::api::groups::group_id(app, org, group)
}

/// G: the group's rule becomes `userBundleCodes`. Members inherit first come, first
/// served; those beyond the pools wait. 409 only for a code the organization lacks.
pub async fn set_group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<axum::Json<GroupRuleResult>> {
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    let request: GroupRuleRequest = parse_json(&body)?;
    let licenses = codes(&request.user_bundle_codes)?;
    app.check_items(licenses.len())?;
    let group = group_id(&app, &org, &group)?;
    super::require_license(&app, &org)?;
    let external = request.use_external_license.unwrap_or(false);
    let command =
        Command::SetGroupRule { org: org_id.clone(), group: group.clone(), rule: Rule { licenses, external } };
    apply(&app, &caller, &[command]).await?;
    let rule =
        app.books.read().org(&org).and_then(|o| o.groups.get(&group)).map(|g| g.rule.clone()).unwrap_or_default();
    Ok(axum::Json(GroupRuleResult {
        group_id: group.to_string(),
        organization_id: org_id.to_string(),
        use_external_license: rule.external,
        user_bundle_codes: rule.licenses.iter().map(ToString::to_string).collect(),
    }))
}

/// The bundles a group rule may use, the ones it does, and whether they are external.
pub async fn get_group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<axum::Json<GroupLicenses>> {
    authorize(&app, &caller, &org, Resource::License, false)?;
    let group = group_id(&app, &org, &group)?;
    let rule =
        app.books.read().org(&org).and_then(|o| o.groups.get(&group)).map(|g| g.rule.clone()).unwrap_or_default();
    Ok(axum::Json(GroupLicenses {
        available_user_bundles: user_bundles(&app, &org),
        allocated_user_bundles: rule.licenses.iter().map(ToString::to_string).collect(),
        use_external_license: rule.external,
    }))
}

/// Empties a group's rule: members lose what they inherited from it.
pub async fn remove_group(
    State(app): State<App>,
    caller: Caller,
    Path((org, group)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = authorize(&app, &caller, &org, Resource::License, true)?;
    let group = group_id(&app, &org, &group)?;
    apply(&app, &caller, &[Command::SetGroupRule { org: org_id, group, rule: Rule::default() }]).await?;
    Ok(NoContent)
}
