//! API clients: machine credentials of one organization, with scopes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    pub client_id: String,
    /// Shown once; only its hash is kept.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    /// Scopes the client may ask for: `allot:read`, `allot:write`, and the dialects'
    /// (`PM.License`, `PM.License.Read`, ..., `users:read`, `users:write`).
    pub scopes: Vec<String>,
}
