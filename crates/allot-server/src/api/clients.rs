//! API clients: machine credentials of one organization, with scopes. Only people
//! (host admins and organization admins) manage them.

use allot_api::{ClientList, CreateClient, CreateScimToken, CreatedClient, CreatedScimToken, ScimTokenList};
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

#[derive(Deserialize)]
pub struct ScimTokenPath {
    client_id: String,
    id: String,
}

/// List an API client's long-lived SCIM tokens (never the tokens themselves).
#[utoipa::path(get, path = "/orgs/{org}/clients/{client_id}/scim-tokens", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ScimTokenList), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn scim_tokens(org: Org<Write>, Path(path): Path<ClientPath>) -> ApiResult<axum::Json<ScimTokenList>> {
    org.scim_tokens(&path.client_id).await.map(axum::Json)
}

/// Create a long-lived SCIM token for an API client granted `scim`, for an identity
/// provider that keeps one static secret; the token is in this answer only.
#[utoipa::path(post, path = "/orgs/{org}/clients/{client_id}/scim-tokens", tag = "clients", security(("bearer" = [])),
    request_body = CreateScimToken,
    params(("org" = String, Path, description = "Organization id"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 201, body = CreatedScimToken), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "`unknown_scope`: the client is not granted `scim`", body = Problem),
        (status = 422, description = "`invalid_dates`: not after now, or more than two years ahead", body = Problem)))]
pub async fn create_scim_token(
    org: Org<Write>,
    Path(path): Path<ClientPath>,
    Json(body): Json<CreateScimToken>,
) -> ApiResult<Created<CreatedScimToken>> {
    org.create_scim_token(&path.client_id, body).await.map(Created)
}

/// Revoke a SCIM token: it stops working at once.
#[utoipa::path(delete, path = "/orgs/{org}/clients/{client_id}/scim-tokens/{id}", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("client_id" = String, Path, description = "Client id"),
        ("id" = String, Path, description = "The token's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_scim_token(org: Org<Write>, Path(path): Path<ScimTokenPath>) -> ApiResult<NoContent> {
    org.revoke_scim_token(&path.client_id, &path.id).await.map(|()| NoContent)
}
