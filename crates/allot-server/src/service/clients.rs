//! API clients: machine credentials of one organization, with scopes. Only people (host
//! admins and organization admins) manage them.

use allot_api::{
    ClientList, ClientView, CreateClient, CreateScimToken, CreatedClient, CreatedScimToken, ScimTokenList,
    ScimTokenView, rfc3339,
};
use allot_store::{ApiClient, Store, Subject, TokenKind, TokenRecord};
use axum::http::StatusCode;
use rand::RngCore as _;

use super::OrgScope;
use crate::auth::{KNOWN_SCOPES, new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// The scope that lets a client provision users and groups over SCIM.
pub const SCIM_SCOPE: &str = "scim";
/// How far ahead a SCIM token may expire: two years.
const SCIM_TOKEN_MAX_DAYS: i64 = 730;
const DAY: i64 = 24 * 60 * 60 * 1000;

fn view(client: &ApiClient) -> ClientView {
    ClientView {
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        scopes: client.scopes.clone(),
        created_at: rfc3339(client.created_at),
    }
}

impl OrgScope {
    fn require_person(&self) -> ApiResult<()> {
        match self.caller().subject {
            Subject::Client { .. } => Err(ApiError::forbidden("API clients cannot manage API clients")),
            _ => Ok(()),
        }
    }

    pub async fn clients(&self) -> ApiResult<ClientList> {
        self.require_person()?;
        let clients = self.app().store.clients(&self.org().key()).await?;
        Ok(ClientList { clients: clients.iter().map(view).collect() })
    }

    /// Creates an API client; its secret is in this answer only.
    pub async fn create_client(&self, body: CreateClient) -> ApiResult<CreatedClient> {
        self.require_person()?;
        if body.name.trim().is_empty() || body.name.chars().count() > 200 {
            return Err(ApiError::bad_request(ErrorCode::InvalidBody, "name: give 1 to 200 characters"));
        }
        if body.scopes.is_empty() {
            return Err(ApiError::bad_request(ErrorCode::UnknownScope, "scopes: grant at least one scope"));
        }
        if let Some(unknown) = body.scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownScope,
                format!("scope `{unknown}` is not one of {}", KNOWN_SCOPES.join(", ")),
            ));
        }
        let mut id = [0u8; 12];
        rand::rng().fill_bytes(&mut id);
        let client_id = format!("allot_ci_{}", crate::hex(&id));
        let client_secret = new_token("allot_cs_");
        let client = ApiClient {
            client_id: client_id.clone(),
            org: self.org().key(),
            name: body.name.clone(),
            secret_hash: token_hash(&client_secret),
            scopes: body.scopes.clone(),
            created_at: self.app().clock.now(),
        };
        self.app().store.insert_client(client).await?;
        Ok(CreatedClient { client_id, client_secret, name: body.name, scopes: body.scopes })
    }

    /// The API client `client_id` of this organization, or 404.
    async fn client_of_org(&self, client_id: &str) -> ApiResult<ApiClient> {
        let found = self.app().store.client(client_id).await?.filter(|c| c.org == self.org().key());
        found.ok_or_else(|| self.missing("client", client_id))
    }

    /// An API client's long-lived SCIM tokens.
    pub async fn scim_tokens(&self, client_id: &str) -> ApiResult<ScimTokenList> {
        self.require_person()?;
        self.client_of_org(client_id).await?;
        let tokens = self.app().store.scim_tokens(client_id).await?;
        let view = |(id, expires_at): (String, i64)| ScimTokenView { id, expires_at: rfc3339(expires_at) };
        Ok(ScimTokenList { tokens: tokens.into_iter().map(view).collect() })
    }

    /// A long-lived SCIM token for an API client granted `scim`, expiring within two years
    /// (a year when `expires_at` is absent); the token is in this answer only.
    pub async fn create_scim_token(&self, client_id: &str, body: CreateScimToken) -> ApiResult<CreatedScimToken> {
        self.require_person()?;
        let client = self.client_of_org(client_id).await?;
        if !client.scopes.iter().any(|s| s == SCIM_SCOPE) {
            let detail = format!("client `{client_id}` is not granted `{SCIM_SCOPE}`: create one that is");
            return Err(ApiError::conflict(ErrorCode::UnknownScope, detail));
        }
        let now = self.app().clock.now();
        let latest = now + SCIM_TOKEN_MAX_DAYS * DAY;
        let expires_at =
            crate::api::dto::parse_time("expires_at", body.expires_at.as_deref())?.unwrap_or(now + 365 * DAY);
        if expires_at <= now || expires_at > latest {
            let detail = format!("expires_at: give a moment after now and at most {SCIM_TOKEN_MAX_DAYS} days ahead");
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidDates, detail));
        }
        let token = new_token("allot_scim_");
        let record = TokenRecord {
            hash: token_hash(&token),
            kind: TokenKind::Scim,
            subject: Subject::Client { client_id: client.client_id, org: client.org },
            scopes: vec![SCIM_SCOPE.to_owned()],
            expires_at,
        };
        let id = record.hash[..16].to_owned();
        self.app().store.insert_token(record).await?;
        Ok(CreatedScimToken { id, token, expires_at: rfc3339(expires_at) })
    }

    /// Revokes an API client's SCIM token: it stops working at once.
    pub async fn revoke_scim_token(&self, client_id: &str, id: &str) -> ApiResult<()> {
        self.require_person()?;
        self.client_of_org(client_id).await?;
        let hash = self.app().store.revoke_scim_token(client_id, id).await?;
        let hash = hash.ok_or_else(|| self.missing("SCIM token", id))?;
        self.app().auth.forget_hash(&hash);
        Ok(())
    }

    /// Deletes an API client; its tokens stop working at once.
    pub async fn delete_client(&self, client_id: &str) -> ApiResult<()> {
        self.require_person()?;
        let (app, org) = (self.app(), self.org());
        let found = app.store.client(client_id).await?.filter(|c| c.org == org.key());
        if found.is_none() {
            return Err(self.missing("client", client_id));
        }
        // Its tokens go with it, in one transaction; the cache follows.
        app.store.delete_client(client_id).await?;
        app.auth.forget(|s| matches!(s, Subject::Client { client_id: id, .. } if id == client_id));
        Ok(())
    }
}
