//! Logging in: ABP's `/api/account/authenticate` (a bearer token for 30 minutes), and the
//! identity server's discovery document. `/identity_/connect/token` is the native
//! token endpoint.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::shapes::{AbpAnswer, AbpError, Authenticate};
use crate::app::App;
use crate::auth::oauth::{WRONG_HOST_LOGIN, login_person};
use crate::auth::{ClientAddr, LoginFailure};
use crate::error::ApiError;
use crate::extract::{JsonBytes, parse_json};
use crate::prefix::OrgPrefix;

/// ABP tokens last 30 minutes.
const TOKEN_TTL_SECS: u64 = 30 * 60;

fn failure(status: StatusCode, message: impl Into<String>, details: Option<String>) -> Response {
    let answer = AbpAnswer {
        result: None,
        target_url: None,
        success: false,
        error: Some(AbpError { code: 0, message: message.into(), details }),
        un_authorized_request: status == StatusCode::UNAUTHORIZED,
        abp: true,
    };
    (status, axum::Json(answer)).into_response()
}

/// `TenancyName` is the organization id, or `host` (or empty) for a host admin.
pub async fn authenticate(
    State(app): State<App>,
    prefix: Option<Extension<OrgPrefix>>,
    addr: ClientAddr,
    body: Result<JsonBytes, ApiError>,
) -> Response {
    let parsed = body.and_then(|JsonBytes(body)| parse_json(&body));
    let request: Authenticate = match parsed {
        Err(error) if error.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            return failure(error.status(), "Unsupported media type", Some(error.detail().to_owned()));
        }
        Ok(request) => request,
        Err(error) => return failure(StatusCode::BAD_REQUEST, "Invalid request", Some(error.detail().to_owned())),
    };
    let tenancy =
        request.tenancy_name.or_else(|| prefix.map(|p| p.0.0.clone())).filter(|t| !t.eq_ignore_ascii_case("host"));
    let person =
        login_person(&app, tenancy.as_deref(), &request.username_or_email_address, &request.password, addr).await;
    let person = match person {
        Ok(person) => person,
        Err(LoginFailure::BadCredentials | LoginFailure::Refused(WRONG_HOST_LOGIN)) => {
            return failure(StatusCode::UNAUTHORIZED, "Login failed!", Some("Invalid user name or password".into()));
        }
        // TenancyName, not `organization`, is how ABP names it: its own words stay.
        Err(LoginFailure::Refused(reason)) => {
            return failure(StatusCode::UNAUTHORIZED, "Login failed!", Some(reason.into()));
        }
        Err(LoginFailure::Throttled(seconds)) => {
            let mut response = failure(
                StatusCode::TOO_MANY_REQUESTS,
                "Login failed!",
                Some(format!("Too many failed logins; try again in {seconds} seconds")),
            );
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            return response;
        }
        Err(LoginFailure::Error(error)) => return error.into_response(),
    };
    match app.auth.issue(&app.store, person.subject, person.scopes, TOKEN_TTL_SECS, false, app.clock.now()).await {
        Ok(issued) => axum::Json(AbpAnswer {
            result: Some(issued.access_token),
            target_url: None,
            success: true,
            error: None,
            un_authorized_request: false,
            abp: true,
        })
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// The discovery document of the identity server.
pub async fn openid_configuration(headers: HeaderMap, prefix: Option<Extension<OrgPrefix>>) -> axum::Json<Value> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let base = match prefix {
        Some(Extension(OrgPrefix(org))) => format!("http://{host}/{org}/identity_"),
        None => format!("http://{host}/identity_"),
    };
    axum::Json(json!({
        "issuer": base,
        "token_endpoint": format!("{base}/connect/token"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "scopes_supported": crate::auth::KNOWN_SCOPES,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["token"],
    }))
}
