//! A page of the organization's users: searched, sorted, then cut by `skip` and `top`.

use std::cmp::Ordering;

use axum::Json;

use super::super::groups::MAX_TOP;
use super::super::read_org;
use super::super::shapes::{Paging, SortOrder, UserDto, UserPage};
use super::super::views::user_dto;
use crate::compat::uipath::{Account, PmUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Read};
use allot_api::ErrorCode;

/// `top` when the query leaves it out, as the definitions give it.
const DEFAULT_TOP: u32 = 10;

/// The fields a page sorts by (UserDto's names); unsorted pages are in id order.
const SORTABLE: &[&str] = &["id", "userName", "name", "surname", "displayName", "email"];

fn field<'a>(user: &'a UserDto, name: &str) -> Option<&'a str> {
    match name {
        "id" => Some(&user.id),
        "userName" => user.user_name.as_deref(),
        "name" => user.name.as_deref(),
        "surname" => user.surname.as_deref(),
        "displayName" => user.display_name.as_deref(),
        _ => user.email.as_deref(),
    }
}

/// Whether `term` is in the user's names or email, in any case.
fn found(user: &UserDto, term: &str) -> bool {
    let term = term.to_lowercase();
    ["userName", "name", "surname", "displayName", "email"]
        .iter()
        .any(|name| field(user, name).is_some_and(|value| value.to_lowercase().contains(&term)))
}

fn sorted_by(by: &str, order: SortOrder) -> impl Fn(&UserDto, &UserDto) -> Ordering + '_ {
    move |a, b| {
        let key = |user: &UserDto| field(user, by).map(str::to_lowercase);
        let ordering = key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id));
        if order == SortOrder::Desc { ordering.reverse() } else { ordering }
    }
}

fn bad_query(detail: String) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, detail)
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
    let lifetimes = account.lifetimes(None).await?;
    let mut users = read_org(&account, |org| {
        Ok(org.users.iter().map(|(id, user)| user_dto(&org.id, id, user, &lifetimes)).collect::<Vec<_>>())
    })?;
    if let Some(term) = paging.search_term.as_deref().filter(|term| !term.is_empty()) {
        users.retain(|user| found(user, term));
    }
    let order = paging.sort_order.unwrap_or_default();
    users.sort_by(sorted_by(sort_by.as_deref().unwrap_or("id"), order));
    let total_count = i64::try_from(users.len()).unwrap_or(i64::MAX);
    let page = users.into_iter().skip(paging.skip.unwrap_or(0) as usize).take(top as usize).collect();
    Ok(Json(UserPage { total_count, results: Some(page) }))
}
