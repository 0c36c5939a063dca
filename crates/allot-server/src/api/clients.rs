//! API clients: machine credentials of one organization, with scopes. Only people
//! (host admins and organization admins) manage them.

use allot_api::{ClientList, CreateClient, CreatedClient};
use serde::Deserialize;

use super::{Created, NoContent};
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Org, Path, Write};

#[derive(Deserialize)]
pub struct ClientPath {
    client_id: String,
}

/// List an organization's API clients.
#[utoipa::path(get, path = "/orgs/{org}/clients", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = ClientList), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(org: Org<Write>) -> ApiResult<axum::Json<ClientList>> {
    org.clients().await.map(axum::Json)
}

/// Create an API client; its secret is in this answer only.
#[utoipa::path(post, path = "/orgs/{org}/clients", tag = "clients", security(("bearer" = [])), request_body = CreateClient,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = CreatedClient), (status = 400, description = "`unknown_scope`", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn create(org: Org<Write>, Json(body): Json<CreateClient>) -> ApiResult<Created<CreatedClient>> {
    org.create_client(body).await.map(Created)
}

/// Delete an API client; its tokens stop working at once.
#[utoipa::path(delete, path = "/orgs/{org}/clients/{client_id}", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(org: Org<Write>, Path(path): Path<ClientPath>) -> ApiResult<NoContent> {
    org.delete_client(&path.client_id).await.map(|()| NoContent)
}
