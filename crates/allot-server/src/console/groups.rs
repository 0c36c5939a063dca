//! The groups pages: the organization's groups, one group's rule (changed through a plan,
//! `plans.rs`), its members in order of joining and its waiting line.

use allot_api::{CreateGroup, PageQuery};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};
use serde::Deserialize;

use super::pages::{Fields, checked_form, urlencoded};
use super::{Chrome, OrgPage, Page, render};
use crate::service::{Access, Need};

struct GroupRow {
    id: String,
    name: String,
    members: usize,
    licenses: String,
    link: String,
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct Groups {
    chrome: Chrome,
    org: String,
    can_write: bool,
    groups: Vec<GroupRow>,
    /// The search, if any, and the next page's link, if there is one.
    q: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct GroupsQuery {
    /// A part of the id or name to look for.
    #[serde(default)]
    q: String,
    after: Option<String>,
}

/// `/console/orgs/{org}/groups`: the groups, 50 to a page in id order, or those whose id
/// or name contains `q`; each with its rule and its number of members.
pub async fn list(page: OrgPage, Query(query): Query<GroupsQuery>) -> Result<Response, Page> {
    let listed = page.scope.groups_matching(&PageQuery { limit: Some(50), after: query.after }, &query.q)?;
    let q = query.q.trim().to_owned();
    let search = if q.is_empty() { String::new() } else { format!("q={}&", urlencoded(&q)) };
    let next = listed.next.map(|after| format!("{}/groups?{search}after={}", page.base(), urlencoded(&after)));
    let groups = listed
        .groups
        .into_iter()
        .map(|g| GroupRow {
            link: format!("{}/groups/{}", page.base(), urlencoded(&g.id)),
            licenses: if g.licenses.is_empty() { "nothing".to_owned() } else { g.licenses.join(", ") },
            members: g.members,
            name: g.name,
            id: g.id,
        })
        .collect();
    let org = page.scope.org().to_string();
    Ok(render(&Groups { chrome: page.chrome(), org, can_write: page.can_write(), groups, q, next }))
}

/// `POST /console/orgs/{org}/groups`: creates a group, then shows it.
pub async fn create(page: OrgPage, headers: HeaderMap, body: Bytes) -> Result<Redirect, Page> {
    let fields = Fields::of(&body);
    checked_form(&page.signed, &headers, &fields.one("csrf"))?;
    page.scope.require(Need::native(Access::Write))?;
    let (id, name) = (fields.one("id").trim().to_owned(), fields.one("name").trim().to_owned());
    let created = page.scope.create_group(CreateGroup { id, name: Some(name).filter(|n| !n.is_empty()) }).await?;
    Ok(Redirect::to(&format!("{}/groups/{}", page.base(), urlencoded(&created.id))))
}

/// A license the rule may name, and whether it does.
struct RuleLicense {
    license: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct Group {
    chrome: Chrome,
    org: String,
    can_write: bool,
    group: allot_api::GroupView,
    licenses: Vec<RuleLicense>,
    members: Vec<allot_api::MemberView>,
    /// Members waiting for one of the rule's licenses, as (user, license), first served first.
    waiting: Vec<(String, String)>,
    base: String,
}

/// `/console/orgs/{org}/groups/{group}`: the rule, the members in order, the waiting line.
pub async fn group(page: OrgPage, Path((_, id)): Path<(String, String)>) -> Result<Response, Page> {
    let scope = &page.scope;
    let group = scope.group(&id)?;
    let members = scope.members(&id)?.members;
    let licenses = scope
        .held_pools()
        .iter()
        .map(|p| p.license.to_string())
        .chain(group.licenses.iter().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|license| RuleLicense { chosen: group.licenses.contains(&license), license })
        .collect();
    let waiting = scope.group_waiting(&id)?;
    let base = format!("{}/groups/{}", page.base(), urlencoded(&group.id));
    let org = scope.org().to_string();
    Ok(render(&Group {
        chrome: page.chrome(),
        org,
        can_write: page.can_write(),
        group,
        licenses,
        members,
        waiting,
        base,
    }))
}

/// `POST .../members`: adds a member, who inherits the rule's licenses or waits in line.
pub async fn add_member(
    page: OrgPage,
    group: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Redirect, Page> {
    membership(page, group, headers, body, true).await
}

/// `POST .../members/remove`: removes a member, who loses what the group gave them.
pub async fn remove_member(
    page: OrgPage,
    group: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Redirect, Page> {
    membership(page, group, headers, body, false).await
}

/// The form's user joins (`join`) or leaves the group; then the group's page again.
async fn membership(
    page: OrgPage,
    Path((_, group)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    join: bool,
) -> Result<Redirect, Page> {
    let fields = Fields::of(&body);
    checked_form(&page.signed, &headers, &fields.one("csrf"))?;
    page.scope.require(Need::native(Access::Write))?;
    let user = fields.one("user");
    match join {
        true => page.scope.add_member(&group, user.trim()).await.map(drop)?,
        false => page.scope.remove_member(&group, user.trim()).await?,
    }
    Ok(Redirect::to(&format!("{}/groups/{}", page.base(), urlencoded(&group))))
}
