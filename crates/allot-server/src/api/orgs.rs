//! Organizations.

use allot_core::{Command, OrgId, State as Books};
use allot_store::Subject;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Created, NoContent, invalid_id};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub users: usize,
    pub groups: usize,
    pub tenants: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub organizations: Vec<OrgView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// Letters, digits and `- _ . @ +`; compared case-insensitively with `-` and `_` equal.
    pub id: String,
    /// Defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: String,
}

pub(crate) fn view(books: &Books, org: &str) -> Option<OrgView> {
    books.org(org).map(|o| OrgView {
        id: o.id.to_string(),
        name: o.name.clone(),
        users: o.users.len(),
        groups: o.groups.len(),
        tenants: o.tenants.len(),
    })
}

/// List organizations: all of them for a host admin, one's own otherwise.
#[utoipa::path(get, path = "/orgs", tag = "organizations", security(("bearer" = [])),
    responses((status = 200, body = OrgList), (status = 401, body = Problem)))]
pub async fn list(State(app): State<App>, caller: Caller) -> ApiResult<axum::Json<OrgList>> {
    let books = app.books.read();
    let mut organizations: Vec<OrgView> = books
        .orgs()
        .filter(|o| caller.authorize(&books, o.id.as_str(), Access::Read).is_ok())
        .filter_map(|o| view(&books, o.id.as_str()))
        .collect();
    organizations.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(axum::Json(OrgList { organizations }))
}

/// Create an organization (host admin).
#[utoipa::path(post, path = "/orgs", tag = "organizations", security(("bearer" = [])), request_body = CreateOrg,
    responses((status = 201, body = OrgView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<CreateOrg>,
) -> ApiResult<Created<OrgView>> {
    caller.require_host_admin()?;
    let org = OrgId::parse(&body.id).map_err(invalid_id)?;
    if org.key().as_str() == "host" {
        return Err(ApiError::bad_request("invalid_id", "`host` is reserved for the host's own scope"));
    }
    let name = body.name.unwrap_or_else(|| body.id.clone());
    app.change(&caller, &[Command::CreateOrg { org: org.clone(), name }]).await?;
    let created = view(&app.books.read(), org.as_str());
    Ok(Created(created.ok_or_else(|| ApiError::internal("created organization is missing"))?))
}

/// Read an organization.
#[utoipa::path(get, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem)))]
pub async fn get(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> ApiResult<axum::Json<OrgView>> {
    let books = app.books.read();
    caller.authorize(&books, &org, Access::Read)?;
    view(&books, &org).map(axum::Json).ok_or_else(|| ApiError::not_found("no such organization"))
}

/// Rename an organization.
#[utoipa::path(patch, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])), request_body = UpdateOrg,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<UpdateOrg>,
) -> ApiResult<axum::Json<OrgView>> {
    let id = super::org_for(&app, &caller, &org, Access::Write)?;
    app.change(&caller, &[Command::RenameOrg { org: id, name: body.name }]).await?;
    view(&app.books.read(), &org).map(axum::Json).ok_or_else(|| ApiError::not_found("no such organization"))
}

/// Delete an empty organization (host admin).
#[utoipa::path(delete, path = "/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 204), (status = 404, body = Problem),
        (status = 409, description = "`organization_not_empty`", body = Problem)))]
pub async fn delete(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> ApiResult<NoContent> {
    let id = super::org_for(&app, &caller, &org, Access::Write)?;
    caller.require_host_admin()?;
    app.change(&caller, &[Command::DeleteOrg { org: id.clone() }]).await?;
    // Its clients, users and their tokens went with it, in its transaction; the cache follows.
    let key = id.key();
    app.auth.forget(|s| match s {
        Subject::OrgUser { org, .. } | Subject::Client { org, .. } => *org == key,
        Subject::HostAdmin { .. } => false,
    });
    Ok(NoContent)
}
