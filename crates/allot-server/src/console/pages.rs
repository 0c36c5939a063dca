//! The console's pages: each reads or writes through the service layer, as the API does,
//! and renders a template.

use allot_api::PageQuery;
use allot_core::ProductKind;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, Page, Signed, render, same_site};
use crate::app::App;
use crate::auth::ClientAddr;
use crate::auth::LoginFailure;
use crate::auth::oauth::login_person;
use crate::auth::session::COOKIE;
use crate::service::{Access, Need, OrgScope};

const READ: Need = Need::native(Access::Read);

/// `/console`: the signed-in person's first page, their organization's or the host's.
pub async fn home(signed: Signed) -> Redirect {
    match signed.caller.home_org() {
        Some(org) => Redirect::to(&format!("/console/orgs/{}", urlencoded(org.as_str()))),
        None => Redirect::to("/console/host"),
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignIn<'a> {
    organization: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

pub async fn sign_in_form() -> Response {
    render(&SignIn { organization: "", username: "", error: None })
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    organization: String,
    username: String,
    password: String,
}

/// Signs in with the API's accounts and throttle: a host admin leaves the organization
/// empty. A session cookie on success; the form again, with why, on failure.
pub async fn sign_in(
    State(app): State<App>,
    addr: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !same_site(&headers) {
        return Page::refused(StatusCode::FORBIDDEN, "sign in from this site's own sign-in page").into_response();
    }
    let organization = Some(form.organization.trim()).filter(|o| !o.is_empty());
    let refused = |status: StatusCode, message: &str| {
        let page = SignIn { organization: form.organization.trim(), username: &form.username, error: Some(message) };
        (status, render(&page)).into_response()
    };
    let person = match login_person(&app, organization, form.username.trim(), &form.password, addr).await {
        Ok(person) => person,
        Err(LoginFailure::BadCredentials) => {
            return refused(StatusCode::UNAUTHORIZED, "The organization, username or password is wrong.");
        }
        Err(LoginFailure::Refused(reason)) => return refused(StatusCode::UNAUTHORIZED, reason),
        Err(LoginFailure::Throttled(seconds)) => {
            return refused(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed sign-ins: try again in {seconds} s."),
            );
        }
        Err(LoginFailure::Error(error)) => return Page::from(error).into_response(),
    };
    match app.auth.open_session(&app.store, person.subject, person.scopes, app.clock.now()).await {
        Ok(token) => {
            let max_age = app.config.auth.session_max_secs;
            let cookie = format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}");
            with_cookie(Redirect::to("/console"), &cookie)
        }
        Err(error) => Page::from(error).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session: its token is deleted from the store, and the cookie cleared.
pub async fn sign_out(
    State(app): State<App>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = checked_form(&signed, &headers, &form.csrf) {
        return refused.into_response();
    }
    if let Err(error) = app.auth.end_session(&app.store, signed.session.token()).await {
        return Page::from(error).into_response();
    }
    let cleared = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(Redirect::to("/console/sign-in"), &cleared)
}

/// A state-changing form is this session's own, sent from this site.
fn checked_form(signed: &Signed, headers: &HeaderMap, csrf: &str) -> Result<(), Page> {
    if !same_site(headers) || !signed.session.csrf_matches(csrf) {
        return Err(Page::refused(
            StatusCode::FORBIDDEN,
            "the form has expired or came from another site; reload the page",
        ));
    }
    Ok(())
}

fn with_cookie(redirect: Redirect, cookie: &str) -> Response {
    let mut response = redirect.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Letters, digits and `-._~` as they are; anything else percent-encoded.
fn urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct OrgRow {
    id: String,
    name: String,
    users: usize,
    link: String,
}

#[derive(Template)]
#[template(path = "console/host.html")]
struct Host {
    chrome: Chrome,
    orgs: Vec<OrgRow>,
}

/// The host's organizations (host admins only: another answers 404, as the API's host
/// paths are not there for them).
pub async fn host(State(app): State<App>, signed: Signed) -> Result<Response, Page> {
    if !signed.caller.is_host_admin() {
        return Err(Page::refused(StatusCode::NOT_FOUND, "there is nothing at /console/host"));
    }
    let orgs = crate::service::organizations(&app, &signed.caller)
        .organizations
        .into_iter()
        .map(|o| OrgRow {
            link: format!("/console/orgs/{}", urlencoded(&o.id)),
            id: o.id,
            name: o.name,
            users: o.users,
        })
        .collect();
    Ok(render(&Host { chrome: Chrome::of(&signed, None), orgs }))
}

/// One license's pool as the overview shows it.
struct PoolRow {
    license: String,
    purchased: i64,
    allocated: i64,
    available: i64,
    /// Allocated of purchased, in whole percent (0 with nothing purchased).
    percent: i64,
    /// `ok`, `warn` (80% or more) or `full`.
    level: &'static str,
    unit: bool,
}

impl PoolRow {
    fn of(held: &crate::service::HeldPool) -> Self {
        let (purchased, allocated) = (held.pool.grant.quantity, held.pool.allocated);
        let percent = if purchased > 0 { (allocated * 100 / purchased).clamp(0, 100) } else { 0 };
        let level = match () {
            _ if purchased > 0 && allocated >= purchased => "full",
            _ if percent >= 80 => "warn",
            _ => "ok",
        };
        let unit = held.kind == Some(ProductKind::Unit);
        Self {
            license: held.license.to_string(),
            purchased,
            allocated,
            available: purchased - allocated,
            percent,
            level,
            unit,
        }
    }
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct Overview {
    chrome: Chrome,
    name: String,
    pools: Vec<PoolRow>,
}

/// An organization's licenses: purchased, allocated, available, with a warning at 80%
/// and at exhaustion.
pub async fn overview(State(app): State<App>, signed: Signed, Path(org): Path<String>) -> Result<Response, Page> {
    let scope = OrgScope::authorize(&app, signed.caller.clone(), &org, READ)?;
    let name = scope.read_org(|o| o.name.clone())?;
    let pools = scope.held_pools().iter().map(PoolRow::of).collect();
    let chrome = Chrome::of(&signed, Some(scope.org().as_str()));
    Ok(render(&Overview { chrome, name, pools }))
}

struct UserRow {
    id: String,
    name: String,
    email: String,
    role: String,
    groups: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct Users {
    chrome: Chrome,
    users: Vec<UserRow>,
    /// The next page's link, if there is one.
    next: Option<String>,
}

/// An organization's users, a page at a time in id order (as the API pages them).
pub async fn users(
    State(app): State<App>,
    signed: Signed,
    Path(org): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Page> {
    let scope = OrgScope::authorize(&app, signed.caller.clone(), &org, READ)?;
    let page = scope.users(&PageQuery { limit: Some(query.limit.unwrap_or(50)), after: query.after })?;
    let base = format!("/console/orgs/{}/users", urlencoded(scope.org().as_str()));
    let next = page.next.map(|after| format!("{base}?after={}", urlencoded(&after)));
    let users = page
        .users
        .into_iter()
        .map(|u| UserRow {
            role: format!("{:?}", u.role).to_lowercase(),
            groups: u.groups.join(", "),
            email: u.email.unwrap_or_default(),
            name: u.name,
            id: u.id,
        })
        .collect();
    Ok(render(&Users { chrome: Chrome::of(&signed, Some(scope.org().as_str())), users, next }))
}
