//! The web console, over HTTP as a browser speaks to it: forms, a session cookie, redirects
//! not followed, and the pages' HTML and headers read as they are sent.

use allot_api::{CreateUser, Role};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::harness::{ADMIN_PASSWORD, TestApp, licenses, member, person, spawn_app};

const READER_PASSWORD: &str = "reader password 1";

/// A browser: no redirect followed, one cookie kept by hand, forms sent from this site.
struct Browser<'a> {
    t: &'a TestApp,
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Shown {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Shown {
    /// The ids the page links to under `under` (`/console/orgs/acme/users/`), in order.
    fn linked(&self, under: &str) -> Vec<String> {
        let marker = format!("href=\"{under}");
        self.html.split(&marker).skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
    }

    /// The page's "next page" link, if it has one.
    fn next(&self) -> Option<String> {
        let link = self.html.split("rel=\"next\" href=\"").nth(1)?;
        Some(link.split('"').next()?.replace("&#38;", "&"))
    }

    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the page's hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.html[at..].split('"').next().unwrap().to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(t: &'a TestApp) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { t, http, cookie: None }
    }

    async fn shown(&mut self, request: reqwest::RequestBuilder) -> Shown {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", format!("allot_session={cookie}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        if let Some(set) = headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let value = set.split(';').next().unwrap().trim_start_matches("allot_session=");
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        Shown { status, headers, html: response.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Shown {
        let request = self.http.get(self.t.url(path));
        self.shown(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)], site: &str) -> Shown {
        let request = self.http.post(self.t.url(path)).header("sec-fetch-site", site).form(form);
        self.shown(request).await
    }

    async fn sign_in(&mut self, organization: &str, username: &str, password: &str) -> Shown {
        let form = [("organization", organization), ("username", username), ("password", password)];
        self.post("/console/sign-in", &form, "same-origin").await
    }
}

/// acme with ATTUNU 10 (3 held), TSTNU 5 and UNATT 5, an admin `acme-admin` and a reader `r`;
/// and beta, another organization. Answers the host admin's and acme admin's tokens.
async fn two_orgs(t: &TestApp) -> (String, String) {
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 10), ("TSTNU", 5), ("UNATT", 5)], &["u1", "u2", "u3"]).await;
    for user in ["u1", "u2", "u3"] {
        t.client(&boss).set_user_licenses("acme", user, &licenses(&["ATTUNU"])).await.unwrap();
    }
    t.client(&boss).create_user("acme", &person("r", Role::Reader, READER_PASSWORD)).await.unwrap();
    t.org_with(&admin, "beta", &[("ATTUNU", 2)], &["b1"]).await;
    (admin, boss)
}

#[tokio::test]
async fn an_organization_admin_signs_in_and_sees_the_pools_the_api_answers() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    let form = browser.get("/console/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("<label for=\"password\">"), "{}", form.html);

    let signed = browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    assert_eq!((signed.status, signed.location()), (StatusCode::SEE_OTHER, "/console"));
    let set = signed.headers.get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    let home = browser.get("/console").await;
    assert_eq!((home.status, home.location()), (StatusCode::SEE_OTHER, "/console/orgs/acme"));

    let overview = browser.get("/console/orgs/acme").await;
    assert_eq!(overview.status, StatusCode::OK);
    let pools = t.client(&boss).org_pools("acme").await.unwrap().pools;
    assert!(!pools.is_empty());
    for pool in pools {
        let at = overview.html.find(&format!("data-license=\"{}\"", pool.license)).expect("a row per pool");
        let row = &overview.html[at..at + overview.html[at..].find("</tr>").unwrap()];
        assert!(row.contains(&format!("class=\"n purchased\">{}<", pool.quantity)), "{row}");
        assert!(row.contains(&format!("class=\"n allocated\">{}<", pool.allocated)), "{row}");
        assert!(row.contains(&format!("class=\"n available\">{}<", pool.quantity - pool.allocated)), "{row}");
    }
}

#[tokio::test]
async fn the_overview_warns_at_80_percent_and_at_exhaustion() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("ACNU", 2), ("TSTNU", 10)], &["a", "b", "c", "d"]).await;
    for user in ["a", "b", "c", "d"] {
        t.client(&boss).set_user_licenses("acme", user, &licenses(&["ATTUNU"])).await.unwrap();
    }
    for user in ["a", "b"] {
        t.client(&boss).set_user_licenses("acme", user, &licenses(&["ATTUNU", "ACNU"])).await.unwrap();
    }
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let html = browser.get("/console/orgs/acme").await.html;
    let row = |license: &str| {
        let at = html.find(&format!("data-license=\"{license}\"")).unwrap();
        html[..at].rsplit("<tr").next().unwrap().to_owned() + &html[at..at + html[at..].find("</tr>").unwrap()]
    };
    assert!(row("ATTUNU").contains("class=\"warn\"") && row("ATTUNU").contains("80% allocated"), "{}", row("ATTUNU"));
    assert!(row("ACNU").contains("class=\"full\"") && row("ACNU").contains("exhausted"), "{}", row("ACNU"));
    assert!(row("TSTNU").contains("class=\"ok\"") && !row("TSTNU").contains("badge"), "{}", row("TSTNU"));
}

#[tokio::test]
async fn every_page_renders_for_every_role_with_the_csp_and_frame_headers() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let org_pages = [
        "/console/orgs/acme",
        "/console/orgs/acme/users",
        "/console/orgs/acme/tenants",
        "/console/orgs/acme/groups",
        "/console/orgs/acme/audit",
    ];
    let with = |more: &[&'static str]| [more, &org_pages[..]].concat();
    let roles = [
        ("", "admin", ADMIN_PASSWORD, with(&["/console/host", "/console/orgs/acme/clients"])),
        ("acme", "acme-admin", "org admin password 1", with(&["/console/orgs/acme/clients"])),
        ("acme", "r", READER_PASSWORD, with(&[])),
    ];
    for (org, user, password, pages) in roles {
        let mut browser = Browser::new(&t);
        assert_eq!(browser.sign_in(org, user, password).await.status, StatusCode::SEE_OTHER, "{user}");
        for path in pages.into_iter().chain(["/console/sign-in", "/console/nowhere"]) {
            let page = browser.get(path).await;
            let expected = if path == "/console/nowhere" { StatusCode::NOT_FOUND } else { StatusCode::OK };
            assert_eq!(page.status, expected, "{user} {path}");
            let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            if path != "/console/nowhere" {
                assert!(header("content-type").starts_with("text/html"), "{path}");
                assert!(header("content-security-policy").contains("default-src 'none'"), "{path}");
                assert!(header("content-security-policy").contains("frame-ancestors 'none'"), "{path}");
                assert_eq!(header("x-frame-options"), "DENY", "{path}");
                assert_eq!(header("cache-control"), "no-store", "{path}");
                let scripts: Vec<&str> = page.html.split("<script").skip(1).collect();
                assert!(
                    scripts.iter().all(|s| s.starts_with(" src=\"/console/assets/")
                        && s.split_once('>').is_some_and(|(_, rest)| rest.starts_with("</script>"))),
                    "{path}: only this server's own scripts, none inline"
                );
            }
        }
    }
}

#[tokio::test]
async fn user_supplied_text_is_escaped() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let name = "<script>alert(\"x\")</script> & Co";
    let user = CreateUser { name: Some(name.into()), email: Some("a\"b@example.com".into()), ..member("evil") };
    t.client(&boss).create_user("acme", &user).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let html = browser.get("/console/orgs/acme/users").await.html;
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; Co"), "{html}");
    assert!(html.contains("a&#34;b@example.com"), "{html}");
}

#[tokio::test]
async fn another_organizations_pages_and_the_host_pages_answer_404() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    for path in ["/console/orgs/beta", "/console/orgs/beta/users", "/console/orgs/nope", "/console/host"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.html.contains("role=\"alert\""), "the error in words: {}", page.html);
        assert!(!page.html.contains("b1"), "nothing of beta's");
    }
}

#[tokio::test]
async fn pages_without_a_session_send_to_sign_in() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    for path in ["/console", "/console/host", "/console/orgs/acme", "/console/orgs/acme/users"] {
        let page = browser.get(path).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/sign-in"), "{path}");
    }
    browser.cookie = Some("allot_se_1_forged".into());
    assert_eq!(browser.get("/console/orgs/acme").await.location(), "/console/sign-in");
}

#[tokio::test]
async fn sign_out_needs_the_forms_csrf_token_and_ends_the_session() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "r", READER_PASSWORD).await;
    let page = browser.get("/console/orgs/acme").await;
    let csrf = page.csrf();
    let session = browser.cookie.clone();

    let without = browser.post("/console/sign-out", &[], "same-origin").await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let wrong = browser.post("/console/sign-out", &[("csrf", "0".repeat(64).as_str())], "same-origin").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let foreign = browser.post("/console/sign-out", &[("csrf", csrf.as_str())], "cross-site").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/console/orgs/acme").await.status, StatusCode::OK, "the session is still open");

    let out = browser.post("/console/sign-out", &[("csrf", csrf.as_str())], "same-origin").await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/console/sign-in"));
    assert!(out.headers.get(SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    browser.cookie = session;
    assert_eq!(browser.get("/console/orgs/acme").await.location(), "/console/sign-in", "the old cookie is dead");
}

#[tokio::test]
async fn a_sign_in_from_another_site_or_with_a_wrong_password_opens_no_session() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    let form = [("organization", "acme"), ("username", "acme-admin"), ("password", "org admin password 1")];
    let foreign = browser.post("/console/sign-in", &form, "cross-site").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(browser.cookie.is_none());

    let wrong = browser.sign_in("acme", "acme-admin", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("role=\"alert\"") && wrong.html.contains("value=\"acme-admin\""), "{}", wrong.html);
    assert!(browser.cookie.is_none());
    let member = browser.sign_in("acme", "u1", "anything at all").await;
    assert_eq!(member.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_sign_ins_go_through_the_apis_throttle() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    let max = t.config.auth.max_failed_logins;
    for _ in 0..max {
        assert_eq!(browser.sign_in("acme", "acme-admin", "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{}", throttled.html);
    assert!(browser.cookie.is_none());
    let api = t.anonymous().login(Some("acme"), "acme-admin", "org admin password 1").await;
    assert!(api.is_err(), "the API's password grant is throttled too");
}

#[tokio::test]
async fn a_session_ends_when_idle_at_its_age_limit_and_on_a_password_change() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let auth = &t.config.auth;
    let (idle, max) = (auth.session_idle_secs as i64 * 1000, auth.session_max_secs as i64 * 1000);

    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "r", READER_PASSWORD).await;
    t.advance(idle - 1000);
    assert_eq!(browser.get("/console/orgs/acme").await.status, StatusCode::OK, "used before it idled out");
    t.advance(idle - 1000);
    assert_eq!(browser.get("/console/orgs/acme").await.status, StatusCode::OK, "the use slid it");
    t.advance(idle + 1000);
    assert_eq!(browser.get("/console/orgs/acme").await.location(), "/console/sign-in", "idle too long");

    browser.sign_in("acme", "r", READER_PASSWORD).await;
    let mut used = 0;
    while used + idle / 2 < max {
        t.advance(idle / 2);
        used += idle / 2;
        assert_eq!(browser.get("/console/orgs/acme").await.status, StatusCode::OK, "after {used} ms");
    }
    t.advance(max - used + 1000);
    assert_eq!(browser.get("/console/orgs/acme").await.location(), "/console/sign-in", "past its age limit");

    browser.sign_in("acme", "r", READER_PASSWORD).await;
    assert_eq!(browser.get("/console/orgs/acme").await.status, StatusCode::OK);
    // The clock moved a day past the first token's hour: a fresh one.
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    t.client(&boss).set_password("acme", "r", "a new reader password 2").await.unwrap();
    assert_eq!(browser.get("/console/orgs/acme").await.location(), "/console/sign-in", "the password changed");
}

/// The users page's form, as a browser sends it: the selected users, a license, give or take.
fn assignment<'a>(csrf: &'a str, users: &[&'a str], license: &'a str, action: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("csrf", csrf)];
    form.extend(users.iter().map(|user| ("user", *user)));
    form.extend([("license", license), ("action", action)]);
    form
}

/// The hidden fields and action of a page's apply form, to send it back as the browser would.
fn apply_form(page: &Shown) -> (String, Vec<(String, String)>) {
    let at = page.html.find("/plans/").expect("an apply form");
    let action = page.html[..at].rsplit('"').next().unwrap().to_owned() + page.html[at..].split('"').next().unwrap();
    let form = &page.html[at..page.html[at..].find("</form>").unwrap() + at];
    let fields = form
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|field| {
            let (name, rest) = field.split_once("\" value=\"").unwrap();
            (name.to_owned(), rest.split('"').next().unwrap().replace("&#34;", "\""))
        })
        .collect();
    (action, fields)
}

impl Browser<'_> {
    async fn send_back(&mut self, page: &Shown) -> Shown {
        let (action, fields) = apply_form(page);
        let form: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.post(&action, &form, "same-origin").await
    }
}

#[tokio::test]
async fn a_license_given_to_three_users_is_previewed_then_applied_exactly() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    for user in ["u4", "u5", "u6"] {
        t.client(&boss).create_user("acme", &member(user)).await.unwrap();
    }
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let users = browser.get("/console/orgs/acme/users").await;
    assert!(users.html.contains("name=\"user\" value=\"u4\""), "a checkbox per user");
    let csrf = users.csrf();

    let preview = browser
        .post("/console/orgs/acme/preview", &assignment(&csrf, &["u4", "u5", "u6"], "ATTUNU", "give"), "same-origin")
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    let row = &preview.html[preview.html.find("data-license=\"ATTUNU\"").unwrap()..];
    assert!(row.contains("class=\"n before\">3<") && row.contains("class=\"n after\">6<"), "{row}");
    assert!(preview.html.contains("Apply this plan"));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 3), "a preview changes nothing");

    let applied = browser.send_back(&preview).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.html);
    assert!(applied.html.contains("applied exactly as previewed"), "{}", applied.html);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 6));
    for user in ["u4", "u5", "u6"] {
        assert!(t.check(&boss, "acme", user, "ATTUNU").await.allowed, "{user}");
    }
    // Sent again, the plan is stale: the books moved (by itself), nothing more is applied.
    let again = browser.send_back(&preview).await;
    assert!(again.html.contains("Nothing was applied"), "a plan applies once: {}", again.html);
    assert!(again.html.contains("Nothing to change") && !again.html.contains("Apply this plan"), "{}", again.html);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 6));
}

#[tokio::test]
async fn an_over_allocation_shows_the_violation_and_changes_nothing() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let csrf = browser.get("/console/orgs/acme/users").await.csrf();
    // acme purchased no ACNU: two users cannot be given one.
    let preview = browser
        .post("/console/orgs/acme/preview", &assignment(&csrf, &["u1", "u2"], "ACNU", "give"), "same-origin")
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("This cannot be applied"), "{}", preview.html);
    let violations = &preview.html[preview.html.find("class=\"violations\"").unwrap()..];
    assert!(violations.contains("ACNU"), "the violation in words: {violations}");
    assert!(!preview.html.contains("Apply this plan"), "no apply control for an impossible plan");
    assert!(!preview.html.contains("{\""), "no raw JSON");
    assert_eq!(t.org_pool(&boss, "acme", "ACNU").await, (0, 0), "nothing changed");
    assert!(!t.check(&boss, "acme", "u1", "ACNU").await.allowed);
}

#[tokio::test]
async fn a_stale_preview_applies_nothing_and_shows_what_moved_with_the_fresh_plan() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    t.client(&boss).create_user("acme", &member("u4")).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let csrf = browser.get("/console/orgs/acme/users").await.csrf();
    let preview =
        browser.post("/console/orgs/acme/preview", &assignment(&csrf, &["u4"], "ATTUNU", "give"), "same-origin").await;
    assert!(preview.html.contains("Apply this plan"), "{}", preview.html);

    // Meanwhile, through the API: u4 gets TSTNU directly.
    t.client(&boss).set_user_licenses("acme", "u4", &licenses(&["TSTNU"])).await.unwrap();
    let stale = browser.send_back(&preview).await;
    assert_eq!(stale.status, StatusCode::OK, "{}", stale.html);
    assert!(stale.html.contains("Nothing was applied"), "{}", stale.html);
    assert!(stale.html.contains("now also: acme/u4 TSTNU: TSTNU → none"), "what moved, in words: {}", stale.html);
    assert!(!stale.html.contains("{&#34;"), "no raw JSON");
    assert!(!t.check(&boss, "acme", "u4", "ATTUNU").await.allowed, "nothing applied");

    let fresh = browser.send_back(&stale).await;
    assert!(fresh.html.contains("applied exactly as previewed"), "{}", fresh.html);
    assert!(t.check(&boss, "acme", "u4", "ATTUNU").await.allowed);
    assert!(t.check(&boss, "acme", "u4", "TSTNU").await.allowed, "the fresh plan kept what moved");
}

#[tokio::test]
async fn a_reader_sees_no_write_controls_and_a_forged_apply_is_refused() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut admin = Browser::new(&t);
    admin.sign_in("acme", "acme-admin", "org admin password 1").await;
    let csrf = admin.get("/console/orgs/acme/users").await.csrf();
    let preview =
        admin.post("/console/orgs/acme/preview", &assignment(&csrf, &["r"], "ATTUNU", "give"), "same-origin").await;
    let (action, _) = apply_form(&preview);

    let mut reader = Browser::new(&t);
    reader.sign_in("acme", "r", READER_PASSWORD).await;
    let users = reader.get("/console/orgs/acme/users").await;
    assert_eq!(users.status, StatusCode::OK);
    for control in ["form=\"assign\"", "name=\"user\"", "name=\"action\"", "/preview"] {
        assert!(!users.html.contains(control), "no {control} for a reader");
    }
    let own = users.csrf();
    let forged = reader.post(&action, &[("csrf", own.as_str())], "same-origin").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 3), "nothing changed");
    let without = admin.post(&action, &[], "same-origin").await;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "no CSRF token");
    let foreign =
        admin.post("/console/orgs/acme/preview", &assignment(&csrf, &["r"], "ATTUNU", "give"), "cross-site").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 3));
}

#[tokio::test]
async fn the_audit_page_filters_the_ledger_and_exports_what_it_shows() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    t.advance(2 * 86_400_000);
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    t.client(&boss).set_user_licenses("acme", "u2", &licenses(&[])).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;

    let all = browser.get("/console/orgs/acme/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.html.contains("holding_set") && all.html.contains("user:acme/acme-admin"), "{}", all.html);
    let u2 = browser.get("/console/orgs/acme/audit?user=u2").await.html;
    let rows = |html: &str| html.matches("<tr><td class=\"n\">").count();
    let api = t
        .client(&boss)
        .ledger("acme", &allot_api::LedgerParams { user: Some("u2".into()), limit: Some(1000), ..Default::default() });
    assert_eq!(rows(&u2), api.await.unwrap().entries.len(), "the page lists what the API's filter answers");
    assert!(u2.contains("ATTUNU → none"), "the release in words: {u2}");

    // The last day only: u2's release, not the entries two days before.
    let today = allot_api::rfc3339(crate::harness::START + 2 * 86_400_000)[..10].to_owned();
    let recent = browser.get(&format!("/console/orgs/acme/audit?from={today}&until={today}")).await.html;
    assert_eq!(rows(&recent), 1, "{recent}");
    let by_actor = browser.get("/console/orgs/acme/audit?actor=host:admin").await.html;
    let table = &by_actor[by_actor.find("class=\"ledger\"").expect("entries")..];
    assert!(rows(table) > 0 && !table.contains("user:acme/acme-admin"), "{table}");

    let csv = browser.get("/console/orgs/acme/audit.csv?user=u2").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.html.lines().collect();
    assert_eq!(lines[0], "revision,seq,at,actor,request_id,type,user,license,detail");
    assert_eq!(lines.len() - 1, rows(&u2), "the export holds what the page shows");
    assert!(lines[1..].iter().all(|l| l.contains(",u2,")), "{lines:?}");
}

#[tokio::test]
async fn as_of_a_past_day_shows_who_held_a_license_then() {
    let t = spawn_app().await;
    two_orgs(&t).await;
    let first = allot_api::rfc3339(crate::harness::START)[..10].to_owned();
    t.advance(3 * 86_400_000);
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    t.client(&boss).set_user_licenses("acme", "u3", &licenses(&[])).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "r", READER_PASSWORD).await;
    let then = browser.get(&format!("/console/orgs/acme/audit?held=ATTUNU&on={first}")).await.html;
    let holders = &then[then.find("class=\"holders\"").expect("the holders")..];
    for user in ["u1", "u2", "u3"] {
        assert!(holders.contains(&format!("<td>{user}</td>")), "{user} held ATTUNU then: {holders}");
    }
    let now = allot_api::rfc3339(crate::harness::START + 3 * 86_400_000)[..10].to_owned();
    let today = browser.get(&format!("/console/orgs/acme/audit?held=ATTUNU&on={now}")).await.html;
    assert!(!today[today.find("class=\"holders\"").unwrap()..].contains("<td>u3</td>"), "u3 released it since");
}

#[tokio::test]
async fn the_users_page_finds_users_by_id_name_or_email() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let named = |id: &str, name: &str, email: &str| CreateUser {
        name: Some(name.into()),
        email: Some(email.into()),
        ..member(id)
    };
    t.client(&boss).create_user("acme", &named("ana", "Ana Okafor", "ana@example.com")).await.unwrap();
    t.client(&boss).create_user("acme", &named("bo", "Bo Tanaka", "bo@Okafor-Family.org")).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "r", READER_PASSWORD).await;
    // The users listed, by the links to their pages.
    const USERS: &str = "/console/orgs/acme/users/";
    assert_eq!(
        browser.get("/console/orgs/acme/users?q=okafor").await.linked(USERS),
        ["ana", "bo"],
        "by name and by email"
    );
    assert_eq!(browser.get("/console/orgs/acme/users?q=BO").await.linked(USERS), ["bo"], "by id, in any case");
    let none = browser.get("/console/orgs/acme/users?q=nobody").await;
    assert!(none.linked(USERS).is_empty() && none.html.contains("No user matches"), "{}", none.html);
}

#[tokio::test]
async fn a_users_page_shows_licenses_with_their_source_groups_the_check_and_history() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let client = t.client(&boss);
    client.create_group("acme", &crate::harness::group("devs")).await.unwrap();
    client.set_group_rule("acme", "devs", &crate::harness::rule(&["TSTNU"])).await.unwrap();
    client.add_member("acme", "devs", "u1").await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "r", READER_PASSWORD).await;
    let page = browser.get("/console/orgs/acme/users/u1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let row = |license: &str| {
        let at = page
            .html
            .find(&format!("data-license=\"{license}\""))
            .unwrap_or_else(|| panic!("{license}: {}", page.html));
        page.html[at..at + page.html[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row("ATTUNU").contains("class=\"source\">direct<"), "{}", row("ATTUNU"));
    assert!(row("TSTNU").contains("class=\"source\">group devs<"), "{}", row("TSTNU"));
    assert!(page.html.contains("<li>devs</li>"));
    assert!(page.html.contains("holding_set"), "the history");

    let yes = browser.get("/console/orgs/acme/users/u1?check=TSTNU").await.html;
    assert!(yes.contains("TSTNU: yes, through group devs"), "{yes}");
    let no = browser.get("/console/orgs/acme/users/u2?check=TSTNU").await.html;
    assert!(no.contains("TSTNU: no (not held)"), "{no}");
    assert_eq!(browser.get("/console/orgs/acme/users/nobody").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        browser.get("/console/orgs/beta/users/b1").await.status,
        StatusCode::NOT_FOUND,
        "another organization's user"
    );
}

#[tokio::test]
async fn a_group_is_made_its_rule_previewed_and_applied_and_its_members_wait_in_order() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let csrf = browser.get("/console/orgs/acme/groups").await.csrf();
    let made = browser
        .post(
            "/console/orgs/acme/groups",
            &[("csrf", csrf.as_str()), ("id", "testers"), ("name", "Testers")],
            "same-origin",
        )
        .await;
    assert_eq!((made.status, made.location()), (StatusCode::SEE_OTHER, "/console/orgs/acme/groups/testers"));
    for user in ["u1", "u2", "u3"] {
        let added = browser
            .post(
                "/console/orgs/acme/groups/testers/members",
                &[("csrf", csrf.as_str()), ("user", user)],
                "same-origin",
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    }
    let admin = t.admin().await;
    t.client(&admin)
        .set_org_pools("acme", &crate::harness::pools(&[("ATTUNU", 10), ("TSTNU", 2), ("UNATT", 5)]))
        .await
        .unwrap();

    // The rule through a plan: TSTNU for the members, two units for three.
    let form = [("csrf", csrf.as_str()), ("kind", "rule"), ("group", "testers"), ("license", "TSTNU")];
    let preview = browser.post("/console/orgs/acme/preview", &form, "same-origin").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    let row = &preview.html[preview.html.find("data-license=\"TSTNU\"").expect("the pool moves")..];
    assert!(row.contains("class=\"n before\">0<") && row.contains("class=\"n after\">2<"), "{row}");
    assert!(preview.html.contains("Back to the group"));
    let applied = browser.send_back(&preview).await;
    assert!(applied.html.contains("applied exactly as previewed"), "{}", applied.html);

    let page = browser.get("/console/orgs/acme/groups/testers").await.html;
    assert!(page.contains("Members get TSTNU"), "{page}");
    let members = &page[page.find("class=\"members\"").unwrap()..];
    let order: Vec<usize> = ["u1", "u2", "u3"].iter().map(|u| members.find(&format!(">{u}</a>")).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order of joining");
    let waiting = &page[page.find("Waiting line").unwrap()..];
    assert!(waiting.contains("<li>u3 waits for TSTNU</li>"), "the third waits: {waiting}");
    assert!(t.check(&boss, "acme", "u1", "TSTNU").await.allowed);

    // u1 leaves: u3, first in line, is served.
    let removed = browser
        .post(
            "/console/orgs/acme/groups/testers/members/remove",
            &[("csrf", csrf.as_str()), ("user", "u1")],
            "same-origin",
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(!t.check(&boss, "acme", "u1", "TSTNU").await.allowed);
    assert!(t.check(&boss, "acme", "u3", "TSTNU").await.allowed, "the first in line got the unit");

    let mut reader = Browser::new(&t);
    reader.sign_in("acme", "r", READER_PASSWORD).await;
    for path in ["/console/orgs/acme/groups", "/console/orgs/acme/groups/testers"] {
        let html = reader.get(path).await.html;
        assert!(!html.contains("method=\"post\" action=\"/console/orgs"), "no write form for a reader on {path}");
    }
    let own = reader.get("/console/orgs/acme/groups").await.csrf();
    let form = [("csrf", own.as_str()), ("user", "u2")];
    let forged = reader.post("/console/orgs/acme/groups/testers/members", &form, "same-origin").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

/// The text of the element with `id`.
fn by_id(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("no #{id} in {html}")) + id.len() + 6;
    html[at..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_api_client_is_created_with_its_secret_shown_once_and_deleted() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let overview = browser.get("/console/orgs/acme").await;
    assert!(overview.html.contains("/console/orgs/acme/clients\">API clients"), "an admin's link");
    let page = browser.get("/console/orgs/acme/clients").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("No API clients yet."), "{}", page.html);
    let csrf = page.csrf();
    let form = [("csrf", csrf.as_str()), ("name", "ci <runner>"), ("scope", "allot:read")];
    let created = browser.post("/console/orgs/acme/clients", &form, "same-origin").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let (id, secret) = (by_id(&created.html, "client-id"), by_id(&created.html, "client-secret"));
    assert!(id.starts_with("allot_ci_") && secret.starts_with("allot_cs_"), "{id} {secret}");
    assert!(created.html.contains("ci &#60;runner&#62;") && !created.html.contains("ci <runner>"));
    assert_eq!(created.headers.get("cache-control").unwrap(), "no-store", "the secret is not cached");
    let listed = t.client(&boss).clients("acme").await.unwrap().clients;
    assert_eq!((listed.len(), &listed[0].client_id, &listed[0].scopes), (1, &id, &vec!["allot:read".to_owned()]));

    let again = browser.get("/console/orgs/acme/clients").await;
    assert!(again.html.contains(&id) && !again.html.contains(&secret), "the secret is shown once");
    let grant = [("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_secret", secret.as_str())];
    let token = t.token_form(&grant).await.expect(200)["access_token"].as_str().unwrap().to_owned();
    t.client(&token).org_pools("acme").await.unwrap();

    let none =
        browser.post("/console/orgs/acme/clients", &[("csrf", csrf.as_str()), ("name", "x")], "same-origin").await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(none.html.contains("grant at least one scope"), "the error in words: {}", none.html);
    let forged = browser.post(&format!("/console/orgs/acme/clients/{id}/delete"), &[], "same-origin").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
    let deleted = browser
        .post(&format!("/console/orgs/acme/clients/{id}/delete"), &[("csrf", csrf.as_str())], "same-origin")
        .await;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/console/orgs/acme/clients"));
    assert!(t.client(&boss).clients("acme").await.unwrap().clients.is_empty());
    let stopped = t.client(&token).org_pools("acme").await.unwrap_err().status();
    assert_eq!(stopped, Some(StatusCode::UNAUTHORIZED), "its token stops at once");

    let mut reader = Browser::new(&t);
    reader.sign_in("acme", "r", READER_PASSWORD).await;
    assert!(!reader.get("/console/orgs/acme").await.html.contains("API clients"), "no link for a reader");
    let refused = reader.get("/console/orgs/acme/clients").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.html.contains("role=\"alert\""));
}

#[tokio::test]
async fn the_overview_shows_the_tenants_shares_what_ends_within_30_days_and_the_waiting_lines() {
    use crate::harness::{START, group, held, pools, rule};
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1), ("UNATT", 5)], &["temp", "first", "second"]).await;
    let client = t.client(&boss);
    let day = |at: i64| allot_api::rfc3339(at).chars().take(10).collect::<String>();
    let soon = allot_api::SetUserLicenses {
        licenses: vec![allot_api::LicenseSpec {
            valid_until: Some(allot_api::rfc3339(START + 86_400_000)),
            ..held("ATTUNU")
        }],
    };
    client.set_user_licenses("acme", "temp", &soon).await.unwrap();
    client.create_group("acme", &group("g")).await.unwrap();
    client.set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    for user in ["first", "second"] {
        client.add_member("acme", "g", user).await.unwrap();
    }
    client.create_tenant("acme", &allot_api::CreateTenant { id: "t1".into(), name: None }).await.unwrap();
    client.set_service_pools("acme", "t1", "orchestrator", &pools(&[("UNATT", 3)])).await.unwrap();

    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let html = browser.get("/console/orgs/acme").await.html;
    let at = html.find("data-license=\"UNATT\"").unwrap();
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    assert!(row.contains("Tenants: t1/orchestrator 3") && row.contains("class=\"n allocated\">3<"), "{row}");
    assert!(html.contains(&format!("{}</time>: temp&#39;s ATTUNU", day(START + 86_400_000))), "{html}");
    let waiting = &html[html.find("class=\"waiting\"").expect("the waiting lines")..];
    assert!(waiting.contains(">g</a></td><td class=\"n\">2</td><td>first, for ATTUNU</td>"), "{waiting}");

    // Past the 30 days, and once no one waits, the sections say so.
    t.advance(2 * 86_400_000);
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    for user in ["first", "second"] {
        t.client(&boss).remove_member("acme", "g", user).await.unwrap();
    }
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let html = browser.get("/console/orgs/acme").await.html;
    assert!(html.contains("Nothing ends within 30 days.") && html.contains("No member waits"), "{html}");
}

#[tokio::test]
async fn a_tenants_units_are_set_through_the_preview_and_an_over_grant_changes_nothing() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let page = browser.get("/console/orgs/acme/tenants").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("No tenants yet."), "{}", page.html);
    let csrf = page.csrf();
    let made = browser
        .post(
            "/console/orgs/acme/tenants",
            &[("csrf", csrf.as_str()), ("id", "prod"), ("name", "Production")],
            "same-origin",
        )
        .await;
    assert_eq!((made.status, made.location()), (StatusCode::SEE_OTHER, "/console/orgs/acme/tenants"));
    let page = browser.get("/console/orgs/acme/tenants").await;
    assert!(page.html.contains("<option value=\"UNATT\">UNATT (orchestrator; 5 left)"), "{}", page.html);

    let set = |quantity: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("kind", "tenant_pool".into()),
            ("tenant", "prod".into()),
            ("license", "UNATT".into()),
            ("quantity", quantity.into()),
        ]
    };
    let form = set("3");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let preview = browser.post("/console/orgs/acme/preview", &form, "same-origin").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("tenant prod / orchestrator"), "{}", preview.html);
    assert!(
        t.client(&boss)
            .service_pools("acme", "prod", "orchestrator")
            .await
            .unwrap()
            .pools
            .iter()
            .all(|p| p.quantity == 0)
    );
    let applied = browser.send_back(&preview).await;
    assert!(applied.html.contains("applied exactly as previewed"), "{}", applied.html);
    let pools = t.client(&boss).service_pools("acme", "prod", "orchestrator").await.unwrap().pools;
    assert_eq!(pools.iter().find(|p| p.license == "UNATT").map(|p| p.quantity), Some(3));
    let shown = browser.get("/console/orgs/acme/tenants").await.html;
    assert!(shown.contains("data-pool=\"prod/orchestrator/UNATT\"><td>orchestrator</td><td>UNATT</td>\n        <td class=\"n granted\">3<"), "{shown}");

    let form = set("6");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let over = browser.post("/console/orgs/acme/preview", &form, "same-origin").await;
    assert!(over.html.contains("class=\"violations\""), "{}", over.html);
    assert!(!over.html.contains("Apply this plan"), "an impossible plan offers no apply: {}", over.html);
    let form = set("three");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let bad = browser.post("/console/orgs/acme/preview", &form, "same-origin").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("is not a whole number of units"), "{}", bad.html);
    let pools = t.client(&boss).service_pools("acme", "prod", "orchestrator").await.unwrap().pools;
    assert_eq!(pools.iter().find(|p| p.license == "UNATT").map(|p| p.quantity), Some(3), "nothing changed");

    let mut reader = Browser::new(&t);
    reader.sign_in("acme", "r", READER_PASSWORD).await;
    let html = reader.get("/console/orgs/acme/tenants").await.html;
    assert!(html.contains("Production") && !html.contains("name=\"quantity\"") && !html.contains("Create tenant"));
}

#[tokio::test]
async fn the_users_page_filters_by_license_source_group_and_waiting() {
    use crate::harness::{group, held, rule};
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1), ("TSTNU", 5)], &["a", "b", "c", "d"]).await;
    let client = t.client(&boss);
    client.set_user_licenses("acme", "a", &licenses(&["ATTUNU"])).await.unwrap();
    let outside = allot_api::LicenseSpec { external: true, ..held("TSTNU") };
    client.set_user_licenses("acme", "b", &allot_api::SetUserLicenses { licenses: vec![outside] }).await.unwrap();
    for (id, license, member) in [("g", "TSTNU", "c"), ("w", "ATTUNU", "d")] {
        client.create_group("acme", &group(id)).await.unwrap();
        client.set_group_rule("acme", id, &rule(&[license])).await.unwrap();
        client.add_member("acme", id, member).await.unwrap();
    }
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    for (query, expected) in [
        ("license=ATTUNU", vec!["a"]),
        ("license=TSTNU", vec!["b", "c"]),
        ("license=TSTNU&source=group", vec!["c"]),
        ("source=external", vec!["b"]),
        ("source=direct", vec!["a"]),
        ("group=w", vec!["d"]),
        ("waiting=on", vec!["d"]),
        ("q=a&license=TSTNU", vec![]),
    ] {
        let page = browser.get(&format!("/console/orgs/acme/users?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.html);
        assert_eq!(page.linked("/console/orgs/acme/users/"), expected, "{query}");
    }
    let shown = browser.get("/console/orgs/acme/users?license=TSTNU&source=group").await.html;
    assert!(shown.contains("<option selected>TSTNU</option>") && shown.contains("value=\"group\" selected"), "{shown}");
    for (query, status, why) in [
        ("source=elsewhere", StatusCode::BAD_REQUEST, "is not direct, group or external"),
        ("license=NOPE", StatusCode::NOT_FOUND, "is not in the catalogue"),
    ] {
        let refused = browser.get(&format!("/console/orgs/acme/users?{query}")).await;
        assert_eq!(refused.status, status, "{query}");
        assert!(refused.html.contains(why), "{}", refused.html);
    }
    assert_eq!(browser.get("/console/orgs/acme/users?group=nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_host_admin_sees_the_organizations_fill_adds_one_and_grants_it_licenses_through_the_preview() {
    let t = spawn_app().await;
    let (admin, boss) = two_orgs(&t).await;
    let mut browser = Browser::new(&t);
    browser.sign_in("", "admin", ADMIN_PASSWORD).await;
    let host = browser.get("/console/host").await;
    assert_eq!(host.status, StatusCode::OK);
    let row = |html: &str, marker: &str| {
        let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row(&host.html, "data-org=\"acme\"").contains("ATTUNU 3/10 (30%)"), "{}", host.html);
    let bought = row(&host.html, "data-license=\"ATTUNU\"");
    assert!(
        bought.contains("class=\"n purchased\">100000<") && bought.contains("class=\"n allocated\">12<"),
        "{bought}"
    );
    assert!(host.html.contains("<code>ATTUNU</code>"), "the catalogue");

    let csrf = host.csrf();
    let made = browser
        .post("/console/host/orgs", &[("csrf", csrf.as_str()), ("id", "gamma"), ("name", "Gamma")], "same-origin")
        .await;
    assert_eq!((made.status, made.location()), (StatusCode::SEE_OTHER, "/console/orgs/gamma"));
    let overview = browser.get("/console/orgs/gamma").await;
    assert!(overview.html.contains("Grant from the host") && overview.html.contains("<option>TSTNU</option>"));
    let grant = |quantity: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("kind", "org_pool".into()),
            ("license", "TSTNU".into()),
            ("quantity", quantity.into()),
        ]
    };
    let form = grant("7");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let preview = browser.post("/console/orgs/gamma/preview", &form, "same-origin").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert_eq!(t.org_pool(&admin, "gamma", "TSTNU").await, (0, 0), "a preview changes nothing");
    let applied = browser.send_back(&preview).await;
    assert!(applied.html.contains("applied exactly as previewed"), "{}", applied.html);
    assert_eq!(t.org_pool(&admin, "gamma", "TSTNU").await, (7, 0));
    let form = grant("200000");
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let over = browser.post("/console/orgs/gamma/preview", &form, "same-origin").await;
    assert!(over.html.contains("class=\"violations\"") && !over.html.contains("Apply this plan"), "{}", over.html);
    assert_eq!(t.org_pool(&admin, "gamma", "TSTNU").await, (7, 0), "nothing changed");

    let mut org_admin = Browser::new(&t);
    org_admin.sign_in("acme", "acme-admin", "org admin password 1").await;
    let own = org_admin.get("/console/orgs/acme").await;
    assert!(!own.html.contains("Grant from the host"), "no host controls for an organization's admin");
    let csrf = own.csrf();
    let forged = org_admin.post("/console/host/orgs", &[("csrf", csrf.as_str()), ("id", "delta")], "same-origin").await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let form = [("csrf", csrf.as_str()), ("kind", "org_pool"), ("license", "ATTUNU"), ("quantity", "1000")];
    let refused = org_admin.post("/console/orgs/acme/preview", &form, "same-origin").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 3));
}

#[tokio::test]
async fn the_overviews_trend_carries_each_pools_counts_from_the_ledger_and_its_scripts_are_served_here() {
    use crate::harness::START;
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    t.advance(60_000);
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let html = browser.get("/console/orgs/acme?days=90").await.html;
    let at = html.find("class=\"trend\" data-license=\"ATTUNU\"").expect("a trend per license");
    let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
    assert!(figure.contains("allocated 0 of 0 90 days ago, 3 of 10 now (4 changes)"), "{figure}");
    let raw = figure.split("data-points=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#34;", "\"");
    let points: Vec<[i64; 3]> = serde_json::from_str(&raw).unwrap();
    let now = (START + 60_000) / 1000;
    assert_eq!(points.first(), Some(&[now - 90 * 86_400, 0, 0]), "the counts at the range's start");
    assert_eq!(points.last(), Some(&[now, 3, 10]), "and now: {points:?}");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (10, 3));
    let allocated: Vec<i64> = points.iter().map(|p| p[1]).collect();
    assert_eq!(allocated, [0, 3, 3], "the day's changes as one point, its last counts");
    assert_eq!(browser.get("/console/orgs/acme?days=7").await.status, StatusCode::BAD_REQUEST);

    for (asset, kind) in [
        ("console.js", "text/javascript"),
        ("htmx.min.js", "text/javascript"),
        ("uPlot.iife.min.js", "text/javascript"),
        ("uPlot.min.css", "text/css"),
    ] {
        let served = browser.get(&format!("/console/assets/{asset}")).await;
        assert_eq!(served.status, StatusCode::OK, "{asset}");
        assert!(served.headers.get("content-type").unwrap().to_str().unwrap().starts_with(kind), "{asset}");
        let dir = if asset == "console.js" { "" } else { "vendor/" };
        let file = format!("{}/../allot-server/assets/{dir}{asset}", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(served.html, std::fs::read_to_string(&file).unwrap(), "{asset} as committed");
    }
    assert_eq!(browser.get("/console/assets/nothing.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_groups_and_the_organizations_are_listed_a_page_at_a_time_and_groups_found_by_name() {
    use crate::harness::group;
    let t = spawn_app().await;
    let (admin, boss) = two_orgs(&t).await;
    for n in 0..55 {
        let made = allot_api::CreateGroup { id: format!("g{n:02}"), name: Some(format!("Team {n:02}")) };
        t.client(&boss).create_group("acme", &made).await.unwrap();
        t.client(&admin).create_org(&allot_api::CreateOrg { id: format!("org{n:02}"), name: None }).await.unwrap();
    }
    t.client(&boss).create_group("acme", &group("zeta")).await.unwrap();
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let first = browser.get("/console/orgs/acme/groups").await;
    let shown = first.linked("/console/orgs/acme/groups/");
    assert_eq!((shown.len(), shown[0].as_str(), shown[49].as_str()), (50, "g00", "g49"));
    let next = first.next().expect("a next page");
    assert_eq!(next, "/console/orgs/acme/groups?after=g49");
    let second = browser.get(&next).await;
    assert_eq!(second.linked("/console/orgs/acme/groups/"), ["g50", "g51", "g52", "g53", "g54", "zeta"]);
    assert_eq!(second.next(), None, "the last page");
    let found = browser.get("/console/orgs/acme/groups?q=team%2007").await;
    assert_eq!(found.linked("/console/orgs/acme/groups/"), ["g07"], "by name, in any case");

    let mut host = Browser::new(&t);
    host.sign_in("", "admin", ADMIN_PASSWORD).await;
    let page = host.get("/console/host").await;
    let orgs = page.linked("/console/orgs/");
    assert_eq!((orgs.len(), orgs[0].as_str(), orgs[49].as_str()), (50, "acme", "org47"));
    let next = page.next().expect("a next page");
    assert_eq!(next, "/console/host?after=org47");
    assert_eq!(
        host.get(&next).await.linked("/console/orgs/"),
        ["org48", "org49", "org50", "org51", "org52", "org53", "org54"]
    );
}

#[tokio::test]
async fn the_new_pages_writes_need_the_forms_token_and_write_access() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    let mut reader = Browser::new(&t);
    reader.sign_in("acme", "r", READER_PASSWORD).await;
    let own = reader.get("/console/orgs/acme/tenants").await.csrf();
    let mut admin = Browser::new(&t);
    admin.sign_in("acme", "acme-admin", "org admin password 1").await;
    let csrf = admin.get("/console/orgs/acme/tenants").await.csrf();
    let tenant = [("id", "forged")];
    let client = [("name", "forged"), ("scope", "allot:read")];
    for (path, fields) in [("/console/orgs/acme/tenants", &tenant[..]), ("/console/orgs/acme/clients", &client[..])] {
        fn with<'a>(fields: &[(&'a str, &'a str)], token: &'a str) -> Vec<(&'a str, &'a str)> {
            fields.iter().copied().chain([("csrf", token)]).collect()
        }
        assert_eq!(
            reader.post(path, &with(fields, &own), "same-origin").await.status,
            StatusCode::FORBIDDEN,
            "a reader: {path}"
        );
        assert_eq!(admin.post(path, fields, "same-origin").await.status, StatusCode::FORBIDDEN, "no token: {path}");
        assert_eq!(
            admin.post(path, &with(fields, &csrf), "cross-site").await.status,
            StatusCode::FORBIDDEN,
            "another site: {path}"
        );
    }
    assert!(t.client(&boss).tenants("acme").await.unwrap().tenants.is_empty(), "no tenant made");
    assert!(t.client(&boss).clients("acme").await.unwrap().clients.is_empty(), "no client made");
    let mut host = Browser::new(&t);
    host.sign_in("", "admin", ADMIN_PASSWORD).await;
    let made = host.post("/console/host/orgs", &[("id", "forged")], "same-origin").await;
    assert_eq!(made.status, StatusCode::FORBIDDEN, "no token");
    assert_eq!(host.get("/console/orgs/forged").await.status, StatusCode::NOT_FOUND, "no organization made");
}

#[tokio::test]
async fn the_tenants_and_the_api_clients_are_listed_a_page_at_a_time() {
    let t = spawn_app().await;
    let (_, boss) = two_orgs(&t).await;
    for n in 0..52 {
        t.client(&boss)
            .create_tenant("acme", &allot_api::CreateTenant { id: format!("t{n:02}"), name: None })
            .await
            .unwrap();
        let client = allot_api::CreateClient { name: format!("c{n:02}"), scopes: vec!["allot:read".into()] };
        t.client(&boss).create_client("acme", &client).await.unwrap();
    }
    let mut browser = Browser::new(&t);
    browser.sign_in("acme", "acme-admin", "org admin password 1").await;
    let count = |page: &Shown, marker: &str| page.html.matches(marker).count();

    let tenants = browser.get("/console/orgs/acme/tenants").await;
    assert_eq!(count(&tenants, "<section class=\"tenant\""), 50);
    assert_eq!(tenants.next().as_deref(), Some("/console/orgs/acme/tenants?after=t49"));
    let rest = browser.get("/console/orgs/acme/tenants?after=t49").await;
    assert_eq!((count(&rest, "<section class=\"tenant\""), rest.next()), (2, None));
    assert!(rest.html.contains("(t50)") && rest.html.contains("(t51)"), "{}", rest.html);

    let clients = browser.get("/console/orgs/acme/clients").await;
    assert_eq!(count(&clients, "aria-label=\"Delete c"), 50);
    let rest = browser.get(&clients.next().expect("a next page")).await;
    assert_eq!((count(&rest, "aria-label=\"Delete c"), rest.next()), (2, None));
}
