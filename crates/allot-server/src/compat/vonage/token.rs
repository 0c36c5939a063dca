//! `POST /Auth/connect/token`: client credentials only, form-encoded, a scope required;
//! tokens last two hours.

use allot_store::Subject;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::ClientAddr;
use crate::auth::oauth::{OAuthFailure, authenticate_client, narrow_scopes};

const TOKEN_TTL_SECS: u64 = 7200;

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    token_type: &'static str,
}

pub async fn token(
    State(app): State<App>,
    addr: ClientAddr,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthFailure> {
    let Form(request) = form.map_err(|e| OAuthFailure::new("invalid_request", e.body_text()))?;
    if request.grant_type.as_deref() != Some("client_credentials") {
        return Err(OAuthFailure::new("unsupported_grant_type", "Invalid grant_type"));
    }
    let scope = request.scope.as_deref().filter(|s| !s.trim().is_empty());
    let Some(scope) = scope else { return Err(OAuthFailure::new("invalid_scope", "You must specify a scope")) };
    let (id, secret) = (request.client_id.unwrap_or_default(), request.client_secret.unwrap_or_default());
    let (org, granted) = authenticate_client(&app, &id, &secret, addr).await?;
    let scopes = narrow_scopes(Some(scope), &granted)?;
    let issued = app
        .auth
        .issue(&app.store, Subject::Client { client_id: id, org }, scopes, TOKEN_TTL_SECS, false, app.clock.now())
        .await?;
    Ok(axum::Json(TokenAnswer {
        access_token: issued.access_token,
        expires_in: issued.expires_in,
        token_type: "Bearer",
    })
    .into_response())
}
