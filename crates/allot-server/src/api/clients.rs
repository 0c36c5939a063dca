//! API clients: machine credentials of one organization, with scopes. Only people
//! (host admins and organization admins) manage them.

use allot_store::{ApiClient, Store, Subject};
use axum::extract::{Path, State};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::{Created, NoContent, org_for};
use crate::app::{App, Caller};
use crate::auth::{Access, KNOWN_SCOPES, new_token, token_hash};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    pub client_id: String,
    /// Shown once; only its hash is kept.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    /// Scopes the client may ask for: `allot:read`, `allot:write`, and the dialects'
    /// (`PM.License`, `PM.License.Read`, ..., `users:read`, `users:write`).
    pub scopes: Vec<String>,
}

fn view(client: &ApiClient) -> ClientView {
    ClientView {
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        scopes: client.scopes.clone(),
        created_at: rfc3339(client.created_at),
    }
}

fn require_person(caller: &Caller) -> ApiResult<()> {
    match caller.subject {
        Subject::Client { .. } => Err(ApiError::forbidden("API clients cannot manage API clients")),
        _ => Ok(()),
    }
}

/// List an organization's API clients.
#[utoipa::path(get, path = "/orgs/{org}/clients", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = ClientList), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<ClientList>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    require_person(&caller)?;
    let clients = app.store.clients(&org_id.key()).await?;
    Ok(axum::Json(ClientList { clients: clients.iter().map(view).collect() }))
}

/// Create an API client; its secret is in this answer only.
#[utoipa::path(post, path = "/orgs/{org}/clients", tag = "clients", security(("bearer" = [])), request_body = CreateClient,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 201, body = CreatedClient), (status = 400, description = "`unknown_scope`", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<CreateClient>,
) -> ApiResult<Created<CreatedClient>> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    require_person(&caller)?;
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(ApiError::bad_request("invalid_body", "name: give 1 to 200 characters"));
    }
    if body.scopes.is_empty() {
        return Err(ApiError::bad_request("unknown_scope", "scopes: grant at least one scope"));
    }
    if let Some(unknown) = body.scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::bad_request(
            "unknown_scope",
            format!("scope `{unknown}` is not one of {}", KNOWN_SCOPES.join(", ")),
        ));
    }
    let mut id = [0u8; 12];
    rand::rng().fill_bytes(&mut id);
    let client_id = format!("allot_ci_{}", crate::hex(&id));
    let client_secret = new_token("allot_cs_");
    let client = ApiClient {
        client_id: client_id.clone(),
        org: org_id.key(),
        name: body.name.clone(),
        secret_hash: token_hash(&client_secret),
        scopes: body.scopes.clone(),
        created_at: app.clock.now(),
    };
    app.store.insert_client(client).await?;
    Ok(Created(CreatedClient { client_id, client_secret, name: body.name, scopes: body.scopes }))
}

/// Delete an API client; its tokens stop working at once.
#[utoipa::path(delete, path = "/orgs/{org}/clients/{client_id}", tag = "clients", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, client_id)): Path<(String, String)>,
) -> ApiResult<NoContent> {
    let org_id = org_for(&app, &caller, &org, Access::Write)?;
    require_person(&caller)?;
    let found = app.store.client(&client_id).await?.filter(|c| c.org == org_id.key());
    if found.is_none() {
        return Err(ApiError::not_found(format!("client `{client_id}` does not exist in organization `{org}`")));
    }
    // Its tokens go with it, in one transaction; the cache follows.
    app.store.delete_client(&client_id).await?;
    app.auth.forget(|s| matches!(s, Subject::Client { client_id: id, .. } if *id == client_id));
    Ok(NoContent)
}
