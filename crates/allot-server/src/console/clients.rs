//! The API clients page: an organization's machine credentials, created with their scopes
//! (the secret shown on the answer to the creation only, as the API gives it) and deleted.
//! Administrators only, as in the API.

use allot_api::{ClientView, CreateClient, CreatedClient};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};

use super::pages::{AfterQuery, Fields, checked_form, page_after, urlencoded};
use super::{Chrome, OrgPage, Page, render};
use crate::auth::KNOWN_SCOPES;
use crate::service::{Access, Need};

#[derive(Template)]
#[template(path = "console/clients.html")]
struct Clients {
    chrome: Chrome,
    base: String,
    clients: Vec<ClientView>,
    /// The next page's link, if there is one.
    next: Option<String>,
    scopes: &'static [&'static str],
    /// The client just created, with its secret: shown on this answer only.
    created: Option<CreatedClient>,
}

/// `/console/orgs/{org}/clients`: the organization's API clients, and the form to add one.
pub async fn list(page: OrgPage, Query(query): Query<AfterQuery>) -> Result<Response, Page> {
    page.scope.require(Need::native(Access::Write))?;
    show(&page, None, query.after.as_deref()).await
}

/// `POST /console/orgs/{org}/clients`: creates a client and shows its secret, once.
pub async fn create(page: OrgPage, headers: HeaderMap, body: Bytes) -> Result<Response, Page> {
    let fields = Fields::of(&body);
    checked_form(&page.signed, &headers, &fields.one("csrf"))?;
    page.scope.require(Need::native(Access::Write))?;
    let name = fields.one("name").trim().to_owned();
    let created = page.scope.create_client(CreateClient { name, scopes: fields.all("scope") }).await?;
    show(&page, Some(created), None).await
}

/// `POST /console/orgs/{org}/clients/{client}/delete`: deletes a client; its tokens stop
/// working at once.
pub async fn delete(
    page: OrgPage,
    Path((_, client)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Redirect, Page> {
    checked_form(&page.signed, &headers, &Fields::of(&body).one("csrf"))?;
    page.scope.require(Need::native(Access::Write))?;
    page.scope.delete_client(&client).await?;
    Ok(Redirect::to(&format!("{}/clients", page.base())))
}

async fn show(page: &OrgPage, created: Option<CreatedClient>, after: Option<&str>) -> Result<Response, Page> {
    let mut clients = page.scope.clients().await?.clients;
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let (clients, next) = page_after(clients, after, |c| &c.client_id);
    let base = page.base();
    let next = next.map(|after| format!("{base}/clients?after={}", urlencoded(&after)));
    Ok(render(&Clients { chrome: page.chrome(), base, clients, next, scopes: KNOWN_SCOPES, created }))
}

/// A client's delete path under `base`.
fn delete_path(base: &str, client: &str) -> String {
    format!("{base}/clients/{}/delete", urlencoded(client))
}
