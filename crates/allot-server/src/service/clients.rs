//! API clients: machine credentials of one organization, with scopes. Only people (host
//! admins and organization admins) manage them.

use allot_api::{ClientList, ClientView, CreateClient, CreatedClient, rfc3339};
use allot_store::{ApiClient, Store, Subject};
use rand::RngCore as _;

use super::OrgScope;
use crate::auth::{KNOWN_SCOPES, new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

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
