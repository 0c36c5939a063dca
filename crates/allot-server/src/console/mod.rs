//! The web console at `/console`: server-rendered pages (askama templates, compiled and
//! type-checked) over the same service layer as the API. Signed in with a session cookie
//! (`auth/session.rs`); every state-changing form carries the session's CSRF token, and a
//! browser's `Sec-Fetch-Site` must say the request came from this site. Pages load
//! nothing but this server's own stylesheet and scripts: the Content-Security-Policy forbids
//! the rest. The pages work without the scripts (htmx and the trend charts enhance them).

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::{App, Caller};
use crate::auth::session::{COOKIE, Session};
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::service::{Access, Need, OrgScope};

mod audit;
mod clients;
mod groups;
mod host;
mod pages;
mod plans;
mod tenants;

/// What every console answer says about itself: no script or style from anywhere but
/// here, no framing, no referrer, no caching of pages that show a person's data.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<App> {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/host", get(host::host))
        .route("/console/host/orgs", post(host::create_org))
        .route("/console/orgs/{org}", get(pages::overview))
        .route("/console/orgs/{org}/users", get(pages::users))
        .route("/console/orgs/{org}/preview", post(plans::plan))
        .route("/console/orgs/{org}/users/{user}", get(pages::user))
        .route("/console/orgs/{org}/plans/{id}/apply", post(plans::apply))
        .route("/console/orgs/{org}/groups", get(groups::list).post(groups::create))
        .route("/console/orgs/{org}/groups/{group}", get(groups::group))
        .route("/console/orgs/{org}/groups/{group}/members", post(groups::add_member))
        .route("/console/orgs/{org}/groups/{group}/members/remove", post(groups::remove_member))
        .route("/console/orgs/{org}/clients", get(clients::list).post(clients::create))
        .route("/console/orgs/{org}/clients/{client}/delete", post(clients::delete))
        .route("/console/orgs/{org}/tenants", get(tenants::list).post(tenants::create))
        .route("/console/orgs/{org}/audit", get(audit::audit))
        .route("/console/orgs/{org}/audit.csv", get(audit::export))
        .route("/console/console.css", get(stylesheet))
        .route("/console/assets/{file}", get(asset))
        .layer(axum::middleware::map_response(secure))
}

async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The console's script and the libraries it uses, vendored from npm at the versions
/// `assets/vendor/VERSIONS` records (`scripts/vendor-assets`) and embedded here.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/console.js")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/vendor/htmx.min.js")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/vendor/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../../assets/vendor/uPlot.min.css")),
];

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some((_, kind, bytes)) => {
            ([(header::CONTENT_TYPE, *kind), (header::CACHE_CONTROL, "max-age=3600")], *bytes).into_response()
        }
        None => {
            Page::refused(StatusCode::NOT_FOUND, format!("there is nothing at /console/assets/{file}")).into_response()
        }
    }
}

async fn stylesheet() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")];
    (headers, include_str!("../../assets/console.css")).into_response()
}

/// A signed-in console user, from the session cookie; without an open session, the
/// request is sent to sign in.
pub struct Signed {
    pub session: Session,
    pub caller: Caller,
}

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let token = cookie(&parts.headers, COOKIE).ok_or_else(to_sign_in)?;
        let session =
            app.auth.session(&app.store, token, app.clock.now()).await.map_err(|error| match error.status() {
                StatusCode::UNAUTHORIZED => to_sign_in(),
                _ => Page::from(error).into_response(),
            })?;
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let caller = Caller { principal: session.principal.clone(), request_id, idempotency: None };
        Ok(Self { session, caller })
    }
}

/// A signed-in person's page of organization `{org}`, authorized for reading: what every
/// organization page takes. Another organization's, or one that does not exist, answers
/// 404 in words, as the API's paths do.
pub struct OrgPage {
    pub signed: Signed,
    pub scope: OrgScope,
}

impl FromRequestParts<App> for OrgPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, app).await?;
        let params = RawPathParams::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
        let org = params.iter().find(|(name, _)| *name == "org").map(|(_, value)| value.to_owned()).unwrap_or_default();
        let scope = OrgScope::authorize(app, signed.caller.clone(), &org, Need::native(Access::Read))
            .map_err(|denied| Page::from(denied).into_response())?;
        Ok(Self { signed, scope })
    }
}

impl OrgPage {
    pub fn chrome(&self) -> Chrome {
        Chrome { can_write: self.can_write(), ..Chrome::of(&self.signed, Some(self.scope.org().as_str())) }
    }

    /// Whether the page shows write controls (the server refuses a reader's writes anyway).
    pub fn can_write(&self) -> bool {
        self.scope.require(Need::native(Access::Write)).is_ok()
    }

    /// The organization's part of a console path: `/console/orgs/{org}`.
    pub fn base(&self) -> String {
        format!("/console/orgs/{}", pages::urlencoded(self.scope.org().as_str()))
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

/// The value of cookie `name` of the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Whether a state-changing request may be from this site: a browser says where it
/// came from in `Sec-Fetch-Site` (older ones send only `Origin`, checked against `Host`).
fn same_site(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("sec-fetch-site") {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => match (text("origin"), text("host")) {
            (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, rest)| rest == host),
            _ => true,
        },
    }
}

/// A page that could not be shown, in words: the status and what went wrong.
pub struct Page {
    status: StatusCode,
    message: String,
}

impl Page {
    fn refused(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl From<ApiError> for Page {
    fn from(error: ApiError) -> Self {
        Self { status: error.status(), message: error.detail().to_owned() }
    }
}

impl From<crate::service::Denied> for Page {
    fn from(denied: crate::service::Denied) -> Self {
        ApiError::from(denied).into()
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        (self.status, render(&ErrorPage { title, message: &self.message })).into_response()
    }
}

/// A template rendered, or the error page when it cannot be.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// The state every page shows in its header: who is signed in, and the form to sign out.
pub struct Chrome {
    pub who: String,
    pub csrf: String,
    /// The organization whose pages the navigation links, if any.
    pub org: Option<String>,
    pub host_admin: bool,
    /// Whether the signed-in person may write in the organization (administrators' links).
    pub can_write: bool,
}

impl Chrome {
    fn of(signed: &Signed, org: Option<&str>) -> Self {
        Self {
            who: signed.caller.actor_name(),
            csrf: signed.session.csrf(),
            org: org.map(str::to_owned),
            host_admin: signed.caller.is_host_admin(),
            can_write: false,
        }
    }
}
