//! API clients: machine credentials of one organization, with scopes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every scope an API client may be granted: the native API's (`allot:read`,
/// `allot:write`) and the dialects' (UiPath's `PM.*`, Vonage's `users:*`).
pub const SCOPES: &[&str] = &[
    "allot:read",
    "allot:write",
    "PM.License",
    "PM.License.Read",
    "PM.License.Write",
    "PM.User",
    "PM.User.Read",
    "PM.User.Write",
    "PM.Group",
    "PM.Group.Read",
    "PM.Group.Write",
    "PM.Audit.Read",
    "users:read",
    "users:write",
    "scim",
];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    #[schema(value_type = crate::schema::ClientId)]
    pub client_id: String,
    pub name: String,
    #[schema(value_type = crate::schema::Vec<crate::schema::Scope>)]
    pub scopes: Vec<String>,
    #[schema(value_type = crate::schema::Time)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    #[schema(value_type = crate::schema::ClientId)]
    pub client_id: String,
    /// Shown once; only its hash is kept.
    pub client_secret: String,
    pub name: String,
    #[schema(value_type = crate::schema::Vec<crate::schema::Scope>)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(value_type = crate::schema::Name)]
    pub name: String,
    /// Scopes the client may ask for: at least one.
    #[schema(value_type = Vec<crate::schema::Scope>, min_items = 1)]
    pub scopes: Vec<String>,
}

/// A long-lived SCIM token asked for: for an identity provider that keeps one static secret.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScimToken {
    /// When it stops working: at most two years ahead; a year ahead when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub expires_at: Option<String>,
}

/// A SCIM token, as it is listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScimTokenView {
    /// The first 16 hexadecimal digits of the token's hash.
    pub id: String,
    #[schema(value_type = crate::schema::Time)]
    pub expires_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScimTokenList {
    pub tokens: Vec<ScimTokenView>,
}

/// A SCIM token just created: the token is in this answer only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedScimToken {
    pub id: String,
    /// Shown once; only its hash is kept.
    pub token: String,
    #[schema(value_type = crate::schema::Time)]
    pub expires_at: String,
}
