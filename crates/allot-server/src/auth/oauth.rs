//! `POST /oauth/token`: the password grant for people (and the CLI), client credentials
//! for API clients, and single-use refresh tokens. Errors follow RFC 6749.

use allot_core::{OrgKey, Role};
use allot_store::{Store, Subject, TokenKind};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ClientAddr, HOST_REALM, LoginFailure, READ, WRITE, token_hash};
use crate::app::App;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    /// `password`, `client_credentials` or `refresh_token`.
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// For the password grant: the organization of the user; empty or absent for a host admin.
    pub organization: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated scopes; a client may ask only for scopes it was granted.
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
}

/// The token request's form, by grant (the schema of [`TokenRequest`]). A client's
/// credentials may come as HTTP Basic instead of form fields.
#[derive(ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
#[allow(dead_code)]
enum TokenGrant {
    /// A person: a host admin (no `organization`) or a user of an organization.
    Password {
        #[schema(min_length = 1)]
        username: String,
        #[schema(min_length = 1)]
        password: String,
        organization: Option<String>,
        /// Space-separated scopes, narrowing the role's.
        scope: Option<String>,
    },
    /// An API client.
    ClientCredentials {
        client_id: Option<String>,
        client_secret: Option<String>,
        /// Space-separated scopes; a client may ask only for scopes it was granted.
        scope: Option<String>,
    },
    /// A refresh token from a password grant; it works once.
    RefreshToken {
        #[schema(min_length = 1)]
        refresh_token: String,
        scope: Option<String>,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub scope: String,
    /// For people only; it works once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

/// An RFC 6749 error answer.
pub struct OAuthFailure {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after: Option<u64>,
}

impl OAuthFailure {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        Self { status, error, description: description.into(), retry_after: None }
    }

    fn throttled(error: &'static str, seconds: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error,
            description: format!("too many failed logins; try again in {seconds} seconds"),
            retry_after: Some(seconds),
        }
    }

    fn login(failure: LoginFailure) -> Self {
        match failure {
            LoginFailure::BadCredentials => Self::new("invalid_grant", "the username or password is wrong"),
            LoginFailure::Refused(reason) => Self::new("invalid_grant", reason),
            LoginFailure::Throttled(seconds) => Self::throttled("invalid_grant", seconds),
            LoginFailure::Error(error) => Self::from(error),
        }
    }
}

impl From<ApiError> for OAuthFailure {
    fn from(error: ApiError) -> Self {
        Self {
            status: error.status(),
            error: "server_error",
            description: error.detail().to_owned(),
            retry_after: None,
        }
    }
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let body = OAuthError { error: self.error.into(), error_description: self.description };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A failed login without `organization`: the name may be an organization user's.
pub const WRONG_HOST_LOGIN: &str = "the username or password is wrong; organization users must send `organization` \
     (the organization's id) with their login";
/// A member's login: members hold licenses and have no access to the API.
pub const MEMBER_LOGIN: &str = "members hold licenses but cannot sign in; an organization admin may give the user \
     the reader or admin role";

/// A login of a user deactivated in the directory (UiPath's `isActive: false`).
pub const INACTIVE_LOGIN: &str = "the user is not active; an organization admin may activate them";

/// A person who passed a password login, with the scopes their role carries.
pub struct Person {
    pub subject: Subject,
    pub scopes: Vec<String>,
}

/// Logs a person in: a host admin (no or empty organization) or a user of `organization` whose
/// role lets them use the API. Unknown organizations and users fail like wrong passwords.
pub async fn login_person(
    app: &App,
    organization: Option<&str>,
    username: &str,
    password: &str,
    addr: ClientAddr,
) -> Result<Person, LoginFailure> {
    let now = app.clock.now();
    let organization = organization.filter(|o| !o.is_empty());
    let realm = organization.map(|o| OrgKey::of(o).as_str().to_owned()).unwrap_or_else(|| HOST_REALM.to_owned());
    if realm == super::CLIENT_REALM {
        return Err(LoginFailure::BadCredentials);
    }
    let checked = app.auth.check_password(&app.store, &realm, username, password, addr.0, now).await;
    if organization.is_none() {
        // Said whether the name is a host administrator's or not, so it tells nothing.
        checked.map_err(|failure| match failure {
            LoginFailure::BadCredentials => LoginFailure::Refused(WRONG_HOST_LOGIN),
            other => other,
        })?;
    } else {
        checked?;
    }
    let Some(org) = organization else {
        return Ok(Person {
            subject: Subject::HostAdmin { username: username.to_owned() },
            scopes: vec![WRITE.into()],
        });
    };
    let role = {
        let state = app.books.read();
        let org = state.org(org).ok_or(LoginFailure::BadCredentials)?;
        let user = allot_core::UserId::parse(username).ok().and_then(|id| org.users.get(&id));
        user.map(|u| (u.profile.role, u.profile.is_active()))
    };
    // The password was right, so saying why the login fails leaks nothing.
    if role.is_some_and(|(_, active)| !active) {
        return Err(LoginFailure::Refused(INACTIVE_LOGIN));
    }
    let scopes = match role.map(|(role, _)| role) {
        Some(Role::Admin) => vec![WRITE.to_owned()],
        Some(Role::Reader) => vec![READ.to_owned()],
        // The password was right: saying why it does not do is no leak.
        Some(Role::Member) => return Err(LoginFailure::Refused(MEMBER_LOGIN)),
        None => return Err(LoginFailure::BadCredentials),
    };
    Ok(Person { subject: Subject::OrgUser { org: OrgKey::of(org), user: username.to_owned() }, scopes })
}

/// Checks a client's id and secret, throttled like a password login; answers the
/// client's organization and granted scopes.
pub async fn authenticate_client(
    app: &App,
    client_id: &str,
    secret: &str,
    addr: ClientAddr,
) -> Result<(OrgKey, Vec<String>), OAuthFailure> {
    let client = app.store.client(client_id).await.map_err(|e| OAuthFailure::from(ApiError::from(e)))?;
    let matches =
        || client.as_ref().is_some_and(|c| constant_time_eq(c.secret_hash.as_bytes(), token_hash(secret).as_bytes()));
    match app.auth.check_client_secret(&app.store, client_id, matches, addr.0, app.clock.now()).await {
        Ok(()) => client
            .map(|c| (c.org, c.scopes))
            .ok_or_else(|| OAuthFailure::new("invalid_client", "the client id or secret is wrong")),
        Err(LoginFailure::BadCredentials | LoginFailure::Refused(_)) => {
            Err(OAuthFailure::new("invalid_client", "the client id or secret is wrong"))
        }
        Err(LoginFailure::Throttled(seconds)) => Err(OAuthFailure::throttled("invalid_client", seconds)),
        Err(LoginFailure::Error(error)) => Err(OAuthFailure::from(error)),
    }
}

/// The scopes to put in a token: all granted ones when none are asked for, else the ones
/// asked for, each of which must have been granted.
pub fn narrow_scopes(asked: Option<&str>, granted: &[String]) -> Result<Vec<String>, OAuthFailure> {
    let asked: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if asked.is_empty() {
        return Ok(granted.to_vec());
    }
    for scope in &asked {
        if !granted.iter().any(|g| g == scope) {
            return Err(OAuthFailure::new("invalid_scope", format!("scope `{scope}` was not granted to this client")));
        }
    }
    Ok(asked.into_iter().map(str::to_owned).collect())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Client credentials may also come as HTTP Basic (RFC 6749 section 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn token_answer(issued: super::Issued) -> Response {
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        scope: issued.scopes.join(" "),
        refresh_token: issued.refresh_token,
    };
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthFailure> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthFailure::new("invalid_request", format!("`{name}` is required")))
}

/// Get a token.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "auth",
    request_body(content = TokenGrant, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Bad grant, scope or request", body = OAuthError),
        (status = 401, description = "Unknown client or wrong secret", body = OAuthError),
        (status = 429, description = "Too many failed logins; see Retry-After", body = OAuthError),
    )
)]
pub async fn token(
    State(app): State<App>,
    addr: ClientAddr,
    prefix: Option<axum::Extension<crate::prefix::OrgPrefix>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthFailure> {
    grant(&app, addr, prefix, &headers, form, Login::Person).await
}

/// The revocation form (RFC 7009).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// An access or refresh token.
    pub token: String,
    /// `access_token` or `refresh_token`; either is found without it.
    #[serde(default)]
    pub token_type_hint: Option<String>,
}

/// Revoke a token (RFC 7009): a logout. Holding the token is the right to revoke it; an
/// unknown or already revoked token answers 200 as well, as the RFC says.
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    tag = "auth",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The token no longer works"), (status = 400, body = OAuthError))
)]
pub async fn revoke(
    State(app): State<App>,
    form: Result<Form<RevokeRequest>, FormRejection>,
) -> Result<(), OAuthFailure> {
    let Form(request) = form.map_err(|e| OAuthFailure::new("invalid_request", e.body_text()))?;
    app.auth.revoke_token(&app.store, &request.token).await.map_err(OAuthFailure::from)
}

/// UiPath's `/identity_/connect/token`: as [`token`], except that its password grant
/// requires `client_id` and `client_secret` (its definitions do), naming an API client of
/// the user's organization.
pub async fn identity_token(
    State(app): State<App>,
    addr: ClientAddr,
    prefix: Option<axum::Extension<crate::prefix::OrgPrefix>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthFailure> {
    grant(&app, addr, prefix, &headers, form, Login::PersonThroughClient).await
}

/// Who a password grant needs to hear from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Login {
    /// The person alone.
    Person,
    /// The person, through an API client of their organization.
    PersonThroughClient,
}

/// A client's id and secret: HTTP Basic, else the form's fields, both required.
fn client_credentials(headers: &HeaderMap, request: &TokenRequest) -> Result<(String, String), OAuthFailure> {
    match basic_credentials(headers) {
        Some(pair) => Ok(pair),
        None => Ok((
            required(&request.client_id, "client_id")?.to_owned(),
            required(&request.client_secret, "client_secret")?.to_owned(),
        )),
    }
}

/// The organization a password grant through `client` logs in to: the client's own. One
/// the request names otherwise (its path or `organization`) must be the same.
async fn client_org(
    app: &App,
    headers: &HeaderMap,
    request: &TokenRequest,
    addr: ClientAddr,
) -> Result<String, OAuthFailure> {
    let (id, secret) = client_credentials(headers, request)?;
    let (org, _) = authenticate_client(app, &id, &secret, addr).await?;
    match request.organization.as_deref().filter(|o| !o.is_empty()) {
        Some(named) if OrgKey::of(named) != org => {
            Err(OAuthFailure::new("invalid_client", "the client belongs to another organization than the user"))
        }
        _ => Ok(org.as_str().to_owned()),
    }
}

async fn grant(
    app: &App,
    addr: ClientAddr,
    prefix: Option<axum::Extension<crate::prefix::OrgPrefix>>,
    headers: &HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
    login: Login,
) -> Result<Response, OAuthFailure> {
    let Form(mut request) = form.map_err(|e| OAuthFailure::new("invalid_request", e.body_text()))?;
    // `/{org}/identity_/connect/token` names the organization in the path.
    if request.organization.is_none() {
        request.organization = prefix.map(|p| p.0.0.clone());
    }
    let now = app.clock.now();
    let ttl = app.auth.config.access_token_ttl_secs;
    match request.grant_type.as_deref() {
        Some("password") => {
            let username = required(&request.username, "username")?;
            let password = required(&request.password, "password")?;
            if login == Login::PersonThroughClient {
                request.organization = Some(client_org(app, headers, &request, ClientAddr(addr.0)).await?);
            }
            let person = login_person(app, request.organization.as_deref(), username, password, addr)
                .await
                .map_err(OAuthFailure::login)?;
            let issued = app.auth.issue(&app.store, person.subject, person.scopes, ttl, true, now).await?;
            Ok(token_answer(issued))
        }
        Some("client_credentials") => {
            let (id, secret) = client_credentials(headers, &request)?;
            let (org, granted) = authenticate_client(app, &id, &secret, addr).await?;
            let scopes = narrow_scopes(request.scope.as_deref(), &granted)?;
            let subject = Subject::Client { client_id: id, org };
            let issued = app.auth.issue(&app.store, subject, scopes, ttl, false, now).await?;
            Ok(token_answer(issued))
        }
        Some("refresh_token") => {
            let token = required(&request.refresh_token, "refresh_token")?;
            let record =
                app.store.take_token(&token_hash(token)).await.map_err(|e| OAuthFailure::from(ApiError::from(e)))?;
            let record = record.filter(|r| r.kind == TokenKind::Refresh && r.expires_at > now).ok_or_else(|| {
                OAuthFailure::new("invalid_grant", "the refresh token is not valid, expired or already used")
            })?;
            let issued = app.auth.issue(&app.store, record.subject, record.scopes, ttl, true, now).await?;
            Ok(token_answer(issued))
        }
        Some(other) => {
            Err(OAuthFailure::new("unsupported_grant_type", format!("grant type `{other}` is not supported")))
        }
        None => Err(OAuthFailure::new("invalid_request", "`grant_type` is required")),
    }
}
