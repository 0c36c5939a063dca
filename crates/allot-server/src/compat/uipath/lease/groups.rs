//! `user-license/group...`: G (group rules), their reads, and releasing members.

use allot_api::GroupRule;
use allot_core::{Command, GroupId, UserId};
use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;

use super::page::PageParams;
use super::shapes::{
    ExplicitAllocation, GroupAllocation, GroupIds, GroupLicenses, GroupRuleRequest, GroupRuleResult, MemberAllocation,
    Paged, UserIds,
};
use super::{codes, listed, reads, user_bundles, views};
use crate::compat::uipath::{Account, PmLicense};
use crate::error::ApiResult;
use crate::extract::{JsonBytes, Path, Query, Read, Write, parse_json};
use crate::service::etag::IfMatch;

/// `.../user-license/group/{group}`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct GroupPath {
    group: String,
}

/// `.../user-license/group/{group}/user/{user}`.
#[derive(Deserialize)]
pub struct MemberPath {
    group: String,
    user: String,
}

/// G: the group's rule becomes `userBundleCodes` (none: an empty rule). Members inherit
/// first come, first served; those beyond the pools wait. 409 only for a code the
/// organization lacks.
pub async fn set_group(
    account: Account<PmLicense, Write>,
    Path(path): Path<GroupPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<GroupRuleResult>> {
    let request: GroupRuleRequest = parse_json(&body)?;
    let licenses = codes(request.user_bundle_codes.as_deref().unwrap_or_default())?;
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

/// Empties a group's rule: members lose what they inherited from it. 200, no body.
pub async fn remove_group(account: Account<PmLicense, Write>, Path(path): Path<GroupPath>) -> ApiResult<StatusCode> {
    let group = account.path_group(&path.group)?;
    let empty = GroupRule { licenses: Vec::new(), use_external_license: false };
    account.set_group_rule(group.as_str(), &empty, &IfMatch::default()).await?;
    Ok(StatusCode::OK)
}

/// All group rules at once, as one `GroupRuleAllocationDto`: the organization's bundles,
/// every code some rule allocates, and whether all those rules are external.
pub async fn all_rules(account: Account<PmLicense, Read>) -> ApiResult<Json<GroupLicenses>> {
    let available_user_bundles = user_bundles(&account);
    let (allocated_user_bundles, use_external_license) = account.read_org(reads::all_rules)?;
    Ok(Json(GroupLicenses { available_user_bundles, allocated_user_bundles, use_external_license }))
}

/// A page of the groups whose rule allocates something, by id (the default) or name.
pub async fn page(
    account: Account<PmLicense, Read>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Paged<GroupAllocation>>> {
    let params = PageParams::parse(account.app(), pairs, &["id", "name"], true)?;
    account.read_org(|org| reads::group_page(org, &params)).map(Json)
}

/// The allocations of the listed groups; unknown ones are left out.
pub async fn allocations_of(
    account: Account<PmLicense, Read>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<GroupAllocation>>> {
    let request: GroupIds = parse_json(&body)?;
    let raw = request.group_ids.unwrap_or_default();
    account.app().check_items(raw.len())?;
    let wanted: Vec<GroupId> = raw.iter().filter_map(|g| GroupId::parse(g).ok()).collect();
    account.read_org(|org| reads::groups_of(org, &wanted)).map(Json)
}

/// A group's rule, in the shape UiPath answers for it.
pub async fn allocation(
    account: Account<PmLicense, Read>,
    Path(path): Path<GroupPath>,
) -> ApiResult<Json<ExplicitAllocation>> {
    let group = account.path_group(&path.group)?;
    let found = account.read_org(|org| org.groups.get(&group).map(views::group_as_explicit))?;
    found.map(Json).ok_or_else(|| account.missing("group", &path.group))
}

/// The distinct codes of all group rules, in code order.
pub async fn rule_codes(account: Account<PmLicense, Read>) -> ApiResult<Json<Vec<String>>> {
    account.read_org(reads::rule_codes).map(Json)
}

/// A page of a group's members, in order of joining (the default) or by name, with what
/// each holds through the group.
pub async fn members(
    account: Account<PmLicense, Read>,
    Path(path): Path<GroupPath>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Paged<MemberAllocation>>> {
    let group = account.path_group(&path.group)?;
    let params = PageParams::parse(account.app(), pairs, &["name", "id"], false)?;
    account.read_org(|org| reads::member_page(org, &group, &params)).map(Json)
}

/// UiPath's identity calls this as users leave a group; in allot a member's inheritance
/// ends with its membership, so releasing it is the leaving. Non-members are ignored.
pub async fn release_members(
    account: Account<PmLicense, Write>,
    Path(path): Path<GroupPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<StatusCode> {
    let request: UserIds = parse_json(&body)?;
    let users = listed(request.user_ids.as_deref())?;
    account.app().check_items(users.len())?;
    let group = account.path_group(&path.group)?;
    release(&account, &group, &users).await
}

/// One user released from a group, as [`release_members`] does.
pub async fn release_member(account: Account<PmLicense, Write>, Path(path): Path<MemberPath>) -> ApiResult<StatusCode> {
    let group = account.path_group(&path.group)?;
    let user = account.path_user(&path.user)?;
    release(&account, &group, &[user]).await
}

async fn release(account: &Account<PmLicense, Write>, group: &GroupId, users: &[UserId]) -> ApiResult<StatusCode> {
    let members = account.read_org(|org| reads::members_of(org, group))?;
    let leave = users.iter().filter(|u| members.contains(*u)).map(|user| Command::RemoveMember {
        org: account.org().clone(),
        group: group.clone(),
        user: user.clone(),
    });
    let commands: Vec<Command> = leave.collect();
    if !commands.is_empty() {
        account.change(&commands).await?;
    }
    Ok(StatusCode::OK)
}
