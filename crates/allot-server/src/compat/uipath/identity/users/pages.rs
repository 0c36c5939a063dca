//! A page of the organization's users: searched, sorted, then cut by `skip` and `top`,
//! over the books in place, keeping no more than `skip + top` users (see `paging.rs`);
//! only the page's users become DTOs, and only theirs are dated.

use std::borrow::Cow;

use allot_core::UserId;
use allot_core::state::User;
use axum::Json;

use super::super::groups::MAX_TOP;
use super::super::read_org;
use super::super::shapes::{Paging, SortOrder, UserPage};
use super::super::views::{login_name, user_dto};
use crate::compat::uipath::paging::Window;
use crate::compat::uipath::{Account, PmUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Read};
use allot_api::ErrorCode;

/// `top` when the query leaves it out, as the definitions give it.
const DEFAULT_TOP: u32 = 10;

/// The fields a page sorts by (UserDto's names); unsorted pages are in id order.
const SORTABLE: &[&str] = &["id", "userName", "name", "surname", "displayName", "email"];

/// The fields `searchTerm` looks in.
const SEARCHED: &[&str] = &["userName", "name", "surname", "displayName", "email"];

/// A user as the books hold it.
type Entry<'a> = (&'a UserId, &'a User);

/// A field of the user's DTO, as `user_dto` answers it.
fn field<'a>((id, user): Entry<'a>, name: &str) -> Option<Cow<'a, str>> {
    let profile = &user.profile;
    match name {
        "id" => Some(id.as_str().into()),
        "userName" => Some(login_name(id, profile).into()),
        "name" => Some(profile.name.as_str().into()),
        "surname" => profile.surname().map(Into::into),
        "displayName" => Some(profile.display_name().into()),
        _ => profile.email.as_deref().map(Into::into),
    }
}

/// Whether `term` (lower case) is in the user's names or email, in any case.
fn found(user: Entry<'_>, term: &str) -> bool {
    SEARCHED.iter().any(|name| field(user, name).is_some_and(|value| value.to_lowercase().contains(term)))
}

fn bad_query(detail: String) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, detail)
}

/// The page's users, in order, and how many match in all. In id order the users map is
/// already sorted; by another field, case-insensitively, ties in id order.
fn page<'a>(
    users: impl DoubleEndedIterator<Item = Entry<'a>>,
    sort_by: Option<&str>,
    window: Window,
) -> (usize, Vec<Entry<'a>>) {
    match sort_by.filter(|by| *by != "id") {
        None => window.in_order(users),
        Some(by) => window.sorted(users, |user| (field(*user, by).map(|value| value.to_lowercase()), user.0)),
    }
}

/// The organization's users, a page at a time, with how many match in all.
pub async fn list(account: Account<PmUser, Read>, Query(paging): Query<Paging>) -> ApiResult<Json<UserPage>> {
    let top = paging.top.unwrap_or(DEFAULT_TOP);
    if top > MAX_TOP {
        return Err(bad_query(format!("top: at most {MAX_TOP}")));
    }
    let sort_by = paging.sort_by.filter(|by| !by.is_empty());
    if let Some(by) = sort_by.as_deref().filter(|by| !SORTABLE.contains(by)) {
        return Err(bad_query(format!("sortBy: `{by}` is not one of {}", SORTABLE.join(", "))));
    }
    let term = paging.search_term.filter(|term| !term.is_empty()).map(|term| term.to_lowercase());
    let descending = paging.sort_order.unwrap_or_default() == SortOrder::Desc;
    let window = Window { skip: paging.skip.unwrap_or(0) as usize, top: top as usize, descending };
    let (total, ids) = read_org(&account, |org| {
        let users = org.users.iter().filter(|user| term.as_deref().is_none_or(|term| found(*user, term)));
        let (total, page) = page(users, sort_by.as_deref(), window);
        Ok((total, page.into_iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()))
    })?;
    let lifetimes = account.lifetimes(&ids, &[]).await?;
    // The page as the books stand now: a user deleted since the count is left out.
    let results = read_org(&account, |org| {
        let users = ids.iter().filter_map(|id| org.users.get_key_value(id));
        Ok(users.map(|(id, user)| user_dto(&org.id, id, user, &lifetimes)).collect())
    })?;
    Ok(Json(UserPage { total_count: i64::try_from(total).unwrap_or(i64::MAX), results: Some(results) }))
}
