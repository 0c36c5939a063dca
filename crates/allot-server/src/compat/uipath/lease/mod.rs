//! License Accountant (`/lease_`, also `/la`): user bundles for users (U) and group rules (G).

mod shapes;

use crate::app::App;
use allot_api::GroupRule;
use allot_core::{Command, DirectLicense, LicenseKey, ProductKind, UserId};
use axum::routing::put;
use axum::{Json, Router};
use serde::Deserialize;

use super::shapes::CodeCount;
use super::{Account, PmLicense, bad_body};
use crate::api::NoContent;
use crate::error::ApiResult;
use crate::extract::{JsonBytes, Path, Read, Write, parse_json};
use crate::service::etag::IfMatch;
use crate::service::{self, OrgScope};
use shapes::{
    GroupLicenses, GroupRuleRequest, GroupRuleResult, RemoveUsersRequest, UserLicenseRequest, UserLicenseResult,
};

pub fn routes() -> Router<App> {
    let mut router = Router::new();
    for root in ["/lease_", "/la"] {
        router = router
            .route(
                &format!("{root}/api/account/{{org}}/user-license"),
                put(set_users).post(set_users).get(inventory).delete(remove_users),
            )
            .route(
                &format!("{root}/api/account/{{org}}/user-license/group/{{group}}"),
                put(set_group).post(set_group).get(get_group).delete(remove_group),
            );
    }
    router
}

/// `.../user-license/group/{group}`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

fn codes(raw: &[String]) -> ApiResult<Vec<LicenseKey>> {
    raw.iter().map(|code| LicenseKey::parse(code).map_err(|e| bad_body(e.to_string()))).collect()
}

/// The organization's user-bundle pools as `[{code, allocated, total}]`.
fn user_bundles(org: &OrgScope) -> Vec<CodeCount> {
    let bundles = org.held_pools().into_iter().filter(|p| p.kind == Some(ProductKind::User));
    bundles
        .map(|p| CodeCount { code: p.license.to_string(), allocated: p.pool.allocated, total: p.pool.grant.quantity })
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
    account: Account<PmLicense, Write>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<UserLicenseResult>>> {
    let request: UserLicenseRequest = parse_json(&body)?;
    let users = user_ids(&request.user_ids)?;
    let licenses = codes(&request.user_bundle_codes)?;
    account.app().check_items(users.len())?;
    account.require_license()?;
    let external = request.use_external_license.unwrap_or(false);
    let direct: Vec<DirectLicense> = licenses.iter().map(|l| DirectLicense::of(l.clone(), external)).collect();
    let set = |user: &UserId| Command::SetDirectLicenses {
        org: account.org().clone(),
        user: user.clone(),
        licenses: direct.clone(),
    };
    account.change(&users.iter().map(set).collect::<Vec<_>>()).await?;
    let spelled: Vec<String> = licenses.iter().map(|l| service::spelled(account.app(), l)).collect();
    let answer = users
        .iter()
        .map(|user| UserLicenseResult {
            user_id: user.to_string(),
            organization_id: account.org().to_string(),
            use_external_license: external,
            user_bundle_codes: spelled.clone(),
        })
        .collect();
    Ok(Json(answer))
}

/// The organization's user bundles: `[{code, allocated, total}]`.
pub async fn inventory(account: Account<PmLicense, Read>) -> Json<Vec<CodeCount>> {
    Json(user_bundles(&account))
}

/// Removes the listed users' direct bundles.
pub async fn remove_users(account: Account<PmLicense, Write>, JsonBytes(body): JsonBytes) -> ApiResult<NoContent> {
    let request: RemoveUsersRequest = parse_json(&body)?;
    let users = user_ids(&request.user_ids)?;
    account.app().check_items(users.len())?;
    let clear = |user| Command::SetDirectLicenses { org: account.org().clone(), user, licenses: Vec::new() };
    account.change(&users.into_iter().map(clear).collect::<Vec<_>>()).await?;
    Ok(NoContent)
}

/// G: the group's rule becomes `userBundleCodes`. Members inherit first come, first
/// served; those beyond the pools wait. 409 only for a code the organization lacks.
pub async fn set_group(
    account: Account<PmLicense, Write>,
    Path(path): Path<GroupPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<GroupRuleResult>> {
    let request: GroupRuleRequest = parse_json(&body)?;
    let licenses = codes(&request.user_bundle_codes)?;
    account.app().check_items(licenses.len())?;
    let group = account.path_group(&path.group)?;
    account.require_license()?;
    let rule = GroupRule {
        licenses: licenses.iter().map(ToString::to_string).collect(),
        use_external_license: request.use_external_license.unwrap_or(false),
    };
    let rule = account.set_group_rule(group.as_str(), &rule, &IfMatch::default()).await?.1;
    Ok(Json(GroupRuleResult {
        group_id: group.to_string(),
        organization_id: account.org().to_string(),
        use_external_license: rule.use_external_license,
        user_bundle_codes: rule.licenses,
    }))
}

/// The bundles a group rule may use, the ones it does, and whether they are external.
pub async fn get_group(
    account: Account<PmLicense, Read>,
    Path(path): Path<GroupPath>,
) -> ApiResult<Json<GroupLicenses>> {
    let group = account.path_group(&path.group)?;
    let rule = account.group_rule(group.as_str())?.1;
    Ok(Json(GroupLicenses {
        available_user_bundles: user_bundles(&account),
        allocated_user_bundles: rule.licenses,
        use_external_license: rule.use_external_license,
    }))
}

/// Empties a group's rule: members lose what they inherited from it.
pub async fn remove_group(account: Account<PmLicense, Write>, Path(path): Path<GroupPath>) -> ApiResult<NoContent> {
    let group = account.path_group(&path.group)?;
    let empty = GroupRule { licenses: Vec::new(), use_external_license: false };
    account.set_group_rule(group.as_str(), &empty, &IfMatch::default()).await?;
    Ok(NoContent)
}
