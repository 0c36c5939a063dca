//! `user-license` for users: U (direct bundles), its reads and removals.

use allot_core::{Command, DirectLicense, UserId};
use allot_store::Subject;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::PageParams;
use super::shapes::{
    Deallocation, EditableUserBundles, ExplicitAllocation, LicenseAllocation, LicenseInheritance, LicenseState, Paged,
    UserIds, UserLicenseRequest, UserLicenseResult,
};
use super::{codes, listed, reads, user_bundles, user_ids, views};
use crate::app::{App, Caller};
use crate::compat::uipath::shapes::CodeCount;
use crate::compat::uipath::{Account, PmLicense, ids};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Path, Query, Read, Write, parse_json};
use crate::service;

/// `.../user-license/{user}...`: the organization comes with [`Account`].
#[derive(Deserialize)]
pub struct UserPath {
    user: String,
}

/// The organization's user bundles: `[{code, allocated, total}]`.
pub async fn inventory(account: Account<PmLicense, Read>) -> Json<Vec<CodeCount>> {
    Json(user_bundles(&account))
}

/// U: each listed user's direct bundles become exactly `userBundleCodes`, one unit per user
/// and code (none with `useExternalLicense`). All or nothing.
pub async fn set_users(
    account: Account<PmLicense, Write>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<UserLicenseResult>>> {
    let request: UserLicenseRequest = parse_json(&body)?;
    let users = user_ids(request.user_ids.as_deref())?;
    let licenses = codes(request.user_bundle_codes.as_deref().unwrap_or_default())?;
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
            // As the seed's answer has it: the organization's id.
            organization_id: account.org().to_string(),
            use_external_license: external,
            user_bundle_codes: spelled.clone(),
        })
        .collect();
    Ok(Json(answer))
}

/// `.../account/{org}/user-license`, for the POST that decides its access by its body.
#[derive(Deserialize)]
pub struct OrgPath {
    org: String,
}

/// POST: with `userBundleCodes` (or the deprecated `licenseCodes`) it allocates, as the
/// seed's guide calls it; without, it is the definitions' RetrieveExplicitAllocations,
/// which reads and never allocates.
pub async fn post_users(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<OrgPath>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    let value: Value = parse_json(&body)?;
    // A null list names no codes: such a body is no allocation (and, as a read, is refused).
    if ["userBundleCodes", "licenseCodes"].iter().any(|k| value.get(k).is_some_and(|v| !v.is_null())) {
        let account = Account::<PmLicense, Write>::authorize(&app, caller, &path.org)?;
        return set_users(account, JsonBytes(body)).await.map(IntoResponse::into_response);
    }
    let account = Account::<PmLicense, Read>::authorize(&app, caller, &path.org)?;
    let request: UserIds = parse_json(&body)?;
    let wanted = listed(request.user_ids.as_deref())?;
    account.app().check_items(wanted.len())?;
    let found = account.read_org(|org| reads::explicit_of(org, &wanted))?;
    Ok(Json(found).into_response())
}

/// Removes the listed users' direct bundles; unknown users are the failed ones.
pub async fn remove_users(
    account: Account<PmLicense, Write>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Deallocation>> {
    let request: UserIds = parse_json(&body)?;
    let users = listed(request.user_ids.as_deref())?;
    account.app().check_items(users.len())?;
    let (known, failed): (Vec<UserId>, Vec<UserId>) =
        users.into_iter().partition(|u| account.user_id(u.as_str()).is_ok());
    let clear =
        |user: &UserId| Command::SetDirectLicenses { org: account.org().clone(), user: user.clone(), licenses: vec![] };
    if !known.is_empty() {
        account.change(&known.iter().map(clear).collect::<Vec<_>>()).await?;
    }
    Ok(Json(Deallocation {
        successful_user_ids: known.iter().map(ToString::to_string).collect(),
        failed_user_ids: failed.iter().map(ToString::to_string).collect(),
    }))
}

/// The caller's own direct bundles removed: a person's token, in its own organization.
pub async fn remove_current_user(account: Account<PmLicense, Write>) -> ApiResult<Json<Deallocation>> {
    let Subject::OrgUser { user, .. } = &account.caller().principal.subject else {
        return Err(ApiError::forbidden("currentUser is the person the token belongs to: use a user token"));
    };
    let user = account.path_user(user)?;
    let clear = Command::SetDirectLicenses { org: account.org().clone(), user: user.clone(), licenses: vec![] };
    account.change(&[clear]).await?;
    Ok(Json(Deallocation { successful_user_ids: vec![user.to_string()], failed_user_ids: vec![] }))
}

/// Every user with an explicit allocation (the definitions give this read no paging).
pub async fn explicit_users(account: Account<PmLicense, Read>) -> ApiResult<Json<Vec<ExplicitAllocation>>> {
    let all = account.read_org(reads::all_explicit)?;
    Ok(Json(all))
}

/// A page of the users with an explicit allocation, by id (the default), name or email.
pub async fn explicit_page(
    account: Account<PmLicense, Read>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Paged<ExplicitAllocation>>> {
    let params = PageParams::parse(account.app(), pairs, &["id", "name", "email"], true)?;
    account.read_org(|org| reads::explicit_page(org, &params)).map(Json)
}

/// What each listed user holds, one entry for its direct bundles and one for those it
/// inherits, each only if it holds some; unknown users are left out.
pub async fn allocations_of(
    account: Account<PmLicense, Read>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<LicenseAllocation>>> {
    let request: UserIds = parse_json(&body)?;
    let wanted = listed(request.user_ids.as_deref())?;
    account.app().check_items(wanted.len())?;
    account.read_org(|org| reads::allocations_of(org, &wanted)).map(Json)
}

/// One user's explicit allocation (empty if it holds nothing directly).
pub async fn allocation(
    account: Account<PmLicense, Read>,
    Path(path): Path<UserPath>,
) -> ApiResult<Json<ExplicitAllocation>> {
    let user = account.path_user(&path.user)?;
    let found = account.read_org(|org| org.users.get(&user).map(|u| views::explicit(&user, u)))?;
    found.map(Json).ok_or_else(|| account.missing("user", &path.user))
}

/// The bundles a user could be given and those it holds, directly or through groups.
pub async fn editable(
    account: Account<PmLicense, Read>,
    Path(path): Path<UserPath>,
) -> ApiResult<Json<EditableUserBundles>> {
    let user = account.path_user(&path.user)?;
    let available_user_bundles = user_bundles(&account);
    let found = account.read_org(|org| {
        org.users.get(&user).map(|u| {
            let direct = views::explicit(&user, u);
            EditableUserBundles {
                available_user_bundles,
                explicit_allocation: !direct.user_bundle_licenses.is_empty(),
                allocated_user_bundles: direct.user_bundle_licenses,
                use_external_license: direct.use_external_license,
                group_license_inheritance: views::inherited(u),
            }
        })
    })?;
    found.map(Json).ok_or_else(|| account.missing("user", &path.user))
}

/// What a user inherits now, and the rules of all its groups.
pub async fn inheritance(
    account: Account<PmLicense, Read>,
    Path(path): Path<UserPath>,
) -> ApiResult<Json<LicenseInheritance>> {
    let user = account.path_user(&path.user)?;
    let found = account.read_org(|org| {
        org.users.get(&user).map(|u| LicenseInheritance {
            currently_used_license: views::inherited(u),
            all_group_license_allocation_rules: views::rules(org, u),
        })
    })?;
    found.map(Json).ok_or_else(|| account.missing("user", &path.user))
}

/// The distinct codes users hold directly, in code order.
pub async fn explicit_codes(account: Account<PmLicense, Read>) -> ApiResult<Json<Vec<String>>> {
    account.read_org(reads::explicit_codes).map(Json)
}

/// GetAcquiredLicenses: what a user holds, as UiPath's license token.
pub async fn acquired(account: Account<PmLicense, Read>, Path(path): Path<UserPath>) -> ApiResult<Json<LicenseState>> {
    let user = account.path_user(&path.user)?;
    let codes = account.read_org(|org| reads::held_codes(org, &user))?;
    let account_id = ids::account_uuid(account.org());
    let now = account.app().clock.now() / 1000;
    // UiPath's token is an unsecured JWT (`alg: none`) of the user's bundles, valid two
    // hours; allot's bundles have no finer license units, so `lu` repeats the bundles.
    // allot sells no trials: the plan is always ENTERPRISE.
    let token = (!codes.is_empty()).then(|| {
        let claims = json!({"lu": codes, "ubl": codes, "sub": user.as_str(), "prt_id": account_id, "plan": "ENTERPRISE", "nbf": now, "exp": now + 7200});
        let part = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.", part(&json!({"alg": "none"})), part(&claims))
    });
    Ok(Json(LicenseState { user_id: user.to_string(), account_id, license_token: token }))
}
