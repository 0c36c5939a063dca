//! The console's pages: each reads or writes through the service layer, as the API does,
//! and renders a template.

use allot_api::{LedgerParams, PageQuery};
use allot_core::{ProductKind, Timestamp};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, OrgPage, Page, Signed, render, same_site};
use crate::app::App;
use crate::auth::ClientAddr;
use crate::auth::LoginFailure;
use crate::auth::oauth::login_person;
use crate::auth::session::COOKIE;
use crate::service::{Ending, HeldBy, UserFilter};

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
pub(super) fn checked_form(signed: &Signed, headers: &HeaderMap, csrf: &str) -> Result<(), Page> {
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
pub(super) fn urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One license's pool as the overview shows it.
pub(super) struct PoolRow {
    pub(super) license: String,
    pub(super) purchased: i64,
    pub(super) allocated: i64,
    pub(super) available: i64,
    /// Allocated of purchased, in whole percent (0 with nothing purchased).
    pub(super) percent: i64,
    /// `ok`, `warn` (80% or more) or `full`.
    pub(super) level: &'static str,
    pub(super) unit: bool,
    /// For unit licenses, what each tenant's service was granted of it.
    pub(super) tenants: String,
}

impl PoolRow {
    pub(super) fn of(held: &crate::service::HeldPool) -> Self {
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
            tenants: String::new(),
        }
    }
}

/// Something that ends soon, in words.
struct EndingRow {
    /// The day it ends (UTC).
    day: String,
    what: String,
}

impl EndingRow {
    fn of(ending: &Ending) -> Self {
        let what = match ending {
            Ending::Holding { user, product, .. } => format!("{user}'s {product}"),
            Ending::Pool { scope, license, .. } => format!("the grant of {license} to {scope}"),
        };
        Self { day: allot_api::rfc3339(ending.at()).chars().take(10).collect(), what }
    }
}

/// A group whose members wait for its licenses.
struct WaitingRow {
    link: String,
    group: String,
    waiting: usize,
    /// The first in line, and for what.
    first: String,
}

/// What the overview shows of what ends soon.
const ENDING_SHOWN: usize = 20;
const DAY: Timestamp = 24 * 3600 * 1000;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct Overview {
    chrome: Chrome,
    name: String,
    pools: Vec<PoolRow>,
    ending: Vec<EndingRow>,
    /// Of everything ending within 30 days, the rows not shown.
    ending_more: usize,
    waiting: Vec<WaitingRow>,
    /// For a host administrator: every license of the catalogue, to grant from the host.
    grantable: Vec<String>,
    base: String,
    /// The trend's range, in days, and each license's trend over it.
    days: i64,
    trends: Vec<Trend>,
}

/// An organization's licenses: purchased, allocated, available (for unit licenses, the
/// tenants' shares), with a warning at 80% and at exhaustion; what ends within 30 days;
/// and the groups whose members wait.
pub async fn overview(page: OrgPage, Query(query): Query<OverviewQuery>) -> Result<Response, Page> {
    let days = query.days.unwrap_or(30);
    if !TREND_DAYS.contains(&days) {
        return Err(Page::refused(StatusCode::BAD_REQUEST, format!("days: `{days}` is not one of 30, 90 or 365")));
    }
    let name = page.scope.read_org(|o| o.name.clone())?;
    let services = page.scope.held_services(None);
    let held = page.scope.held_pools();
    let pools = held
        .iter()
        .map(|held| {
            let shares = services.iter().flat_map(|s| {
                let share = s.pools.iter().find(|p| p.license == held.license).map(|p| p.pool.grant.quantity);
                share.filter(|q| *q > 0).map(|q| format!("{}/{} {q}", s.tenant, s.service))
            });
            PoolRow { tenants: shares.collect::<Vec<_>>().join(", "), ..PoolRow::of(held) }
        })
        .collect();
    let (ending, count) = page.scope.ending_within(30 * DAY, ENDING_SHOWN);
    let waiting = page.scope.waiting_lines()?.into_iter().map(|line| WaitingRow {
        link: format!("{}/groups/{}", page.base(), urlencoded(&line.group)),
        group: line.name,
        waiting: line.waiting,
        first: format!("{}, for {}", line.first.0, line.first.1),
    });
    let waiting = waiting.collect();
    let ending_more = count - ending.len();
    let ending = ending.iter().map(EndingRow::of).collect();
    let trends = trends(&page, &held, days).await?;
    let grantable = if page.signed.caller.is_host_admin() { grantable(&page.scope) } else { Vec::new() };
    let base = page.base();
    let overview =
        Overview { chrome: page.chrome(), name, pools, ending, ending_more, waiting, grantable, base, days, trends };
    Ok(render(&overview))
}

/// The trend chart's ranges, in days.
const TREND_DAYS: [i64; 3] = [30, 90, 365];

#[derive(Deserialize)]
pub struct OverviewQuery {
    /// The trend's range: 30, 90 or 365 days back from now.
    days: Option<i64>,
}

/// One license's pool over the trend's range, for the chart (`console.js`) and the table
/// read without it.
struct Trend {
    license: String,
    /// `[[unix seconds, allocated, purchased], ...]`: at the range's start, at the last
    /// change of each day since that had one, and now.
    points: String,
    start: (i64, i64),
    now: (i64, i64),
    changes: usize,
}

/// Each license's allocated and purchased over the last `days`, from the ledger: the
/// counts at the range's start and after every change since.
async fn trends(page: &OrgPage, held: &[crate::service::HeldPool], days: i64) -> Result<Vec<Trend>, Page> {
    let now = page.scope.app().clock.now();
    let since = now.saturating_sub(days * DAY);
    let org = page.scope.org();
    let pools: Vec<_> = held.iter().map(|p| (allot_core::Scope::Org { org: org.clone() }, p.license.clone())).collect();
    let histories = page.scope.pool_histories(&pools, since).await?;
    let trends = pools.iter().zip(histories).map(|((_, license), history)| {
        let at = |pool: &allot_core::Pool| (pool.allocated, pool.grant.quantity);
        let last = history.points.last().map_or(at(&history.start), |(_, _, pool)| at(pool));
        // A point a day at most (the day's last counts): a year's chart is 367 points
        // however busy the pool was.
        let mut points = vec![(since, at(&history.start))];
        for (_, when, pool) in &history.points {
            match points.last_mut() {
                Some((day, counts)) if *day / DAY == *when / DAY && *day != since => *counts = at(pool),
                _ => points.push((*when, at(pool))),
            }
        }
        points.push((now, last));
        let json: Vec<[i64; 3]> =
            points.iter().map(|(when, (allocated, purchased))| [when / 1000, *allocated, *purchased]).collect();
        Trend {
            license: license.to_string(),
            points: serde_json::to_string(&json).unwrap_or_default(),
            start: at(&history.start),
            now: last,
            changes: history.points.len(),
        }
    });
    Ok(trends.collect())
}

/// The catalogue's licenses: each product's code, or `code:capability` for each of its
/// capabilities.
fn grantable(scope: &crate::service::OrgScope) -> Vec<String> {
    let products = crate::service::products(scope.app()).products;
    let licenses = products.into_iter().flat_map(|p| {
        if p.capabilities.is_empty() {
            vec![p.code]
        } else {
            p.capabilities.iter().map(|c| format!("{}:{}", p.code, c.code)).collect()
        }
    });
    licenses.collect()
}

struct UserRow {
    link: String,
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
    org: String,
    /// Whether the write controls are shown (the server refuses a reader's writes anyway).
    can_write: bool,
    /// The licenses the organization holds, to give or take.
    licenses: Vec<String>,
    users: Vec<UserRow>,
    /// The next page's link, if there is one.
    next: Option<String>,
    /// The filters asked for.
    query: UsersQuery,
    /// Whether any filter is set.
    filtered: bool,
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    /// A part of the id, name or email to look for.
    #[serde(default)]
    q: String,
    /// Holding this license.
    #[serde(default)]
    license: String,
    /// Members of this group.
    #[serde(default)]
    group: String,
    /// Holding a license this way: `direct`, `group` or `external`.
    #[serde(default)]
    source: String,
    /// Waiting for a group's license (the checkbox: `on`).
    #[serde(default)]
    waiting: String,
    after: Option<String>,
}

impl UsersQuery {
    /// The filters as a query string, to carry to the next page: `name=value&` each.
    fn carried(&self) -> String {
        let fields = [
            ("q", self.q.trim()),
            ("license", self.license.as_str()),
            ("group", self.group.as_str()),
            ("source", self.source.as_str()),
            ("waiting", self.waiting.as_str()),
        ];
        fields.iter().filter(|(_, v)| !v.is_empty()).map(|(n, v)| format!("{n}={}&", urlencoded(v))).collect()
    }
}

/// An organization's users, a page at a time in id order (as the API pages them), those
/// the filters let through: a search by id, name or email, a license held, a group, where
/// a license comes from, waiting in a group's line.
pub async fn users(page: OrgPage, Query(query): Query<UsersQuery>) -> Result<Response, Page> {
    let asked = PageQuery { limit: Some(50), after: query.after.clone() };
    let source = match query.source.as_str() {
        "" => None,
        other => Some(HeldBy::parse(other).ok_or_else(|| {
            Page::refused(StatusCode::BAD_REQUEST, format!("source: `{other}` is not direct, group or external"))
        })?),
    };
    let filter = UserFilter {
        search: query.q.clone(),
        license: Some(query.license.trim().to_owned()).filter(|l| !l.is_empty()),
        group: Some(query.group.trim().to_owned()).filter(|g| !g.is_empty()),
        source,
        waiting: query.waiting == "on",
    };
    let listed = page.scope.users_matching(&asked, &filter)?;
    let carried = query.carried();
    let next = listed.next.map(|after| format!("{}/users?{carried}after={}", page.base(), urlencoded(&after)));
    let users = listed
        .users
        .into_iter()
        .map(|u| UserRow {
            link: format!("{}/users/{}", page.base(), urlencoded(&u.id)),
            role: format!("{:?}", u.role).to_lowercase(),
            groups: u.groups.join(", "),
            email: u.email.unwrap_or_default(),
            name: u.name,
            id: u.id,
        })
        .collect();
    let licenses = page.scope.held_pools().iter().map(|p| p.license.to_string()).collect();
    let org = page.scope.org().to_string();
    let filtered = !carried.is_empty();
    let shown =
        Users { chrome: page.chrome(), org, can_write: page.can_write(), licenses, users, next, query, filtered };
    Ok(render(&shown))
}

struct HeldRow {
    license: String,
    source: String,
    external: bool,
    until: String,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: Chrome,
    org: String,
    user: allot_api::UserView,
    held: Vec<HeldRow>,
    waiting: Vec<String>,
    /// The check asked for, and its answer in words.
    check: Option<(String, String)>,
    history: Vec<super::audit::EntryRow>,
    licenses: Vec<String>,
}

#[derive(Deserialize)]
pub struct UserQuery {
    #[serde(default)]
    check: String,
}

/// A user: effective licenses and where each comes from and until when, groups, waiting
/// places, the check's answer for any license, and the user's last ledger entries.
pub async fn user(
    page: OrgPage,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<UserQuery>,
) -> Result<Response, Page> {
    let scope = &page.scope;
    let user = scope.user(&id)?;
    let licenses = scope.user_licenses(&id, None).await?.1;
    let held = licenses
        .licenses
        .into_iter()
        .map(|h| HeldRow {
            source: match (&h.source, &h.group) {
                (allot_api::Via::Group, Some(group)) => format!("group {group}"),
                _ => "direct".to_owned(),
            },
            external: h.external,
            until: h.valid_until.unwrap_or_else(|| "no end".to_owned()),
            license: h.license,
        })
        .collect();
    let waiting = licenses
        .waiting
        .iter()
        .map(|w| format!("{} through group {}: place {}", w.license, w.group, w.position))
        .collect();
    let check = match query.check.trim() {
        "" => None,
        license => {
            let answer = crate::service::check(scope.app(), scope.caller(), scope.org().as_str(), &id, license)?;
            let words = match (answer.allowed, &answer.via, &answer.group) {
                (true, Some(allot_api::Via::Group), Some(group)) => format!("yes, through group {group}"),
                (true, _, _) => "yes, directly".to_owned(),
                (false, _, _) => format!(
                    "no ({})",
                    serde_json::to_value(answer.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                        .replace('_', " ")
                ),
            };
            Some((license.to_owned(), words))
        }
    };
    let recent = LedgerParams { user: Some(id.clone()), limit: Some(20), ..LedgerParams::default() };
    let history = scope.ledger(recent).await?.entries.into_iter().map(super::audit::EntryRow::of).collect();
    let options = scope.held_pools().iter().map(|p| p.license.to_string()).collect();
    let org = scope.org().to_string();
    Ok(render(&UserPage { chrome: page.chrome(), org, user, held, waiting, check, history, licenses: options }))
}

/// Rows to a page of a console list.
pub(super) const PAGE: usize = 50;

/// The page of `items` (in id order) that starts after the one whose id is `after`, and
/// the id to ask the next page after, if there are more.
pub(super) fn page_after<T>(items: Vec<T>, after: Option<&str>, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
    let mut page: Vec<T> =
        items.into_iter().filter(|item| after.is_none_or(|after| id(item) > after)).take(PAGE + 1).collect();
    let next = (page.len() > PAGE).then(|| {
        page.truncate(PAGE);
        page.last().map(|item| id(item).to_owned()).unwrap_or_default()
    });
    (page, next)
}

/// `?after=ID`, the page a list starts after.
#[derive(Deserialize)]
pub struct AfterQuery {
    pub(super) after: Option<String>,
}

/// A form's fields in order, repeated names kept (`user=a&user=b`), decoded; a body that
/// is not a form has none.
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn of(body: &[u8]) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The first value named `name`, or empty.
    pub(super) fn one(&self, name: &str) -> String {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value named `name`, in order.
    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_next_page_carries_the_filters_set() {
        let query = super::UsersQuery {
            q: " ana ".into(),
            license: "analytics:creator".into(),
            waiting: "on".into(),
            ..Default::default()
        };
        assert_eq!(query.carried(), "q=ana&license=analytics%3Acreator&waiting=on&");
        assert_eq!(super::UsersQuery::default().carried(), "");
    }

    #[test]
    fn form_fields_keep_repeated_names_and_decode() {
        let fields = super::Fields::of(b"user=a&user=b%20c&license=ATTUNU&csrf=x%2By+z&empty=&&bad=%zz");
        let pairs: Vec<(&str, &str)> = fields.0.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [("user", "a"), ("user", "b c"), ("license", "ATTUNU"), ("csrf", "x+y z"), ("empty", ""), ("bad", "%zz")]
        );
        assert_eq!(
            (fields.one("user"), fields.all("user"), fields.one("none")),
            ("a".into(), vec!["a".into(), "b c".into()], String::new())
        );
    }
}
