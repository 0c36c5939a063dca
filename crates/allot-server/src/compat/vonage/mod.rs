//! Vonage Contact Center's user license API, as `compat/vonage.md` describes it: the
//! organization is the token's, every request names API version 4 in `Accept`, errors are
//! `{"message": ...}`.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::app::{App, Caller};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Needs;
use crate::service::{Denied, Family, Need, OrgScope};

mod licenses;
mod shapes;
mod token;
mod users;

pub fn router() -> Router<App> {
    Router::new()
        .route("/Auth/connect/token", post(token::token))
        .route("/useradmin/users", get(users::list).post(users::create))
        .route("/useradmin/users/{user}", get(users::get).patch(users::update))
        .route("/useradmin/users/{user}/licenses", get(licenses::get).patch(licenses::patch))
        .route("/useradmin/users/{user}/licenses/validate", post(licenses::validate).patch(licenses::validate))
}

const MEDIA_TYPE: &str = "application/vnd.newvoicemedia.v";
const VERSION: &str = "4";

/// A Vonage error answer: `{"message": ...}`, with the validation rows on a 409.
#[derive(Debug)]
pub struct VonageError {
    status: StatusCode,
    message: String,
    rows: Option<Vec<licenses::ChangeValidation>>,
}

impl VonageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), rows: None }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for VonageError {
    fn from(error: ApiError) -> Self {
        Self::new(error.status(), error.detail())
    }
}

impl From<Denied> for VonageError {
    fn from(denied: Denied) -> Self {
        let message = match denied {
            Denied::Homeless | Denied::Unknown { .. } => "Forbidden: the token belongs to no account",
            Denied::Forbidden { .. } => "Forbidden: the token lacks the scope users:write",
        };
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl IntoResponse for VonageError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            message: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            change_validations: Option<Vec<licenses::ChangeValidation>>,
        }
        let mut response =
            (self.status, axum::Json(Body { message: self.message, change_validations: self.rows })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Vonage's fair use answer: 429, `{"message"}`, and when to come back.
pub fn too_many_requests(retry_after: u64) -> Response {
    let mut response =
        VonageError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests: fair usage limit reached").into_response();
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    response
}

/// The API version an `Accept` header asks for: it must be 4.
fn check_version(parts: &Parts) -> Result<(), VonageError> {
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(start) = accept.find(MEDIA_TYPE) else {
        return Err(VonageError::bad_request("Version missing from Accept header!"));
    };
    let rest = &accept[start + MEDIA_TYPE.len()..];
    let version = rest.split('+').next().unwrap_or_default();
    if version != VERSION || !rest[version.len()..].starts_with("+json") {
        return Err(VonageError::bad_request(format!("Invalid api-version! Valid values: {VERSION}")));
    }
    Ok(())
}

/// The token's own organization, authorized by the one access rule (service/access.rs)
/// for Vonage's users and access `A`: API clients by `users:read` / `users:write`, people
/// by role. As an extractor it first checks the API version and the token.
pub struct Account<A> {
    scope: OrgScope,
    needs: PhantomData<A>,
}

impl<A> Deref for Account<A> {
    type Target = OrgScope;

    fn deref(&self) -> &OrgScope {
        &self.scope
    }
}

impl<A: Needs> FromRequestParts<App> for Account<A> {
    type Rejection = VonageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, VonageError> {
        check_version(parts)?;
        let principal = Principal::from_request_parts(parts, app).await.map_err(|e| {
            VonageError::new(
                e.status(),
                if e.status() == StatusCode::UNAUTHORIZED { "Unauthorized" } else { e.detail() },
            )
        })?;
        let request_id =
            parts.extensions.get::<crate::middleware::RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let caller = Caller { principal, request_id, idempotency: None };
        let scope = OrgScope::authorize_home(app, caller, Need::new(Family::Users, A::ACCESS))?;
        Ok(Self { scope, needs: PhantomData })
    }
}
