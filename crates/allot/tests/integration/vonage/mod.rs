//! The Vonage Contact Center dialect, as compat/vonage.md describes it: user licenses
//! here; users, role licenses and fair use in the modules below.

mod fair_use;
mod roles;
mod users;

use allot_api::{CreateClient, CreateOrg};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Answer, TestApp, group, licenses, member, pools, rule, spawn_app};

const V4: &str = "application/vnd.newvoicemedia.v4+json";
/// User U of the seed (the seed's example user id).
const U: &str = "8e22b1fe-d2ea-403d-8c03-50eb21188e79";

async fn call(
    t: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    accept: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut request = t.http.request(method, t.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Answer { status, headers, body: response.json().await.unwrap_or(Value::Null) }
}

async fn token(t: &TestApp, id: &str, secret: &str, scope: &str) -> Answer {
    let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret), ("scope", scope)];
    let response = t.http.post(t.url("/Auth/connect/token")).form(&form).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Answer { status, headers, body: response.json().await.unwrap_or(Value::Null) }
}

struct Seed {
    admin: String,
    write: String,
    read: String,
}

/// The seed's situation: U, A and B hold analytics:creator (contracted 10); C, D and E hold
/// krispnoisecancellation:enabled (contracted 3).
async fn seed(t: &TestApp) -> Seed {
    let admin = t.admin().await;
    // Exactly the seed's six users: the host admin sets the organization up, no org admin.
    let native = t.client(&admin);
    native.create_org(&CreateOrg { id: "vcc".into(), name: None }).await.unwrap();
    let codes = ["analytics:creator", "analytics:viewer", "krispnoisecancellation:enabled"];
    let host: Vec<_> = codes.iter().map(|code| (*code, 100)).collect();
    native.set_host_pools(&pools(&host)).await.unwrap();
    let contracted = [("analytics:creator", 10), ("analytics:viewer", 5), ("krispnoisecancellation:enabled", 3)];
    native.set_org_pools("vcc", &pools(&contracted)).await.unwrap();
    let holdings = [
        (U, Some("analytics:creator")),
        ("a", Some("analytics:creator")),
        ("b", Some("analytics:creator")),
        ("c", Some("krispnoisecancellation:enabled")),
        ("d", Some("krispnoisecancellation:enabled")),
        ("e", Some("krispnoisecancellation:enabled")),
    ];
    for (user, license) in holdings {
        native.create_user("vcc", &member(user)).await.unwrap();
        let held: Vec<&str> = license.into_iter().collect();
        native.set_user_licenses("vcc", user, &licenses(&held)).await.unwrap();
    }
    let scopes = vec!["users:read".into(), "users:write".into()];
    let client = native.create_client("vcc", &CreateClient { name: "vcc".into(), scopes }).await.unwrap();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let write = token(t, id, secret, "users:write").await.expect(200);
    assert_eq!((write["token_type"].clone(), write["expires_in"].clone()), (json!("Bearer"), json!(7200)));
    let read = token(t, id, secret, "users:read").await.expect(200);
    Seed {
        admin,
        write: write["access_token"].as_str().unwrap().to_owned(),
        read: read["access_token"].as_str().unwrap().to_owned(),
    }
}

const SEED_BODY: &str = r#"{"licenseTypes": {"analytics": "none", "krispnoisecancellation": "enabled"}}"#;

#[tokio::test]
async fn the_seeds_validation_answers_its_three_rows_and_the_patch_waits_for_a_fourth_unit() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let path = format!("/useradmin/users/{U}/licenses");
    let validated = call(&t, Method::POST, &format!("{path}/validate"), Some(&s.write), Some(V4), Some(SEED_BODY))
        .await
        .expect(200);
    assert_eq!(
        validated,
        json!({"changeValidations": [
            {"licenseName": "Analytics", "licenseCapability": "Creator", "operationType": "Delete",
             "currentCount": 3, "countAfterAssignment": 3, "isAssignmentPossible": true, "validationErrors": []},
            {"licenseName": "KrispNoiseCancellation", "licenseCapability": "None", "operationType": "Delete",
             "currentCount": 3, "countAfterAssignment": 3, "isAssignmentPossible": true, "validationErrors": []},
            {"licenseName": "KrispNoiseCancellation", "licenseCapability": "Enabled", "operationType": "Add",
             "currentCount": 3, "countAfterAssignment": 4, "isAssignmentPossible": false, "validationErrors": ["License limit exceeded"]}
        ]})
    );
    let patch_validated =
        call(&t, Method::PATCH, &format!("{path}/validate"), Some(&s.write), Some(V4), Some(SEED_BODY))
            .await
            .expect(200);
    assert_eq!(patch_validated, validated, "validate answers the same to PATCH and POST");

    let before = call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await.expect(200);
    assert_eq!(before, json!({"licenseTypes": {"analytics": "creator", "krispnoisecancellation": "none"}}));
    let refused = call(&t, Method::PATCH, &path, Some(&s.write), Some(V4), Some(SEED_BODY)).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["message"], "License limit exceeded");
    assert_eq!(refused.body["changeValidations"], validated["changeValidations"]);
    assert_eq!(
        call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await.expect(200),
        before,
        "nothing changed"
    );

    let raise = pools(&[("krispnoisecancellation:enabled", 4)]);
    t.client(&s.admin).set_org_pools("vcc", &raise).await.unwrap();
    let applied = call(&t, Method::PATCH, &path, Some(&s.write), Some(V4), Some(SEED_BODY)).await.expect(200);
    let after = json!({"licenseTypes": {"analytics": "none", "krispnoisecancellation": "enabled"}});
    assert_eq!(applied, after);
    assert_eq!(call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await.expect(200), after);
}

#[tokio::test]
async fn the_accept_header_must_name_version_4() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let path = format!("/useradmin/users/{U}/licenses");
    for accept in [None, Some("application/json"), Some("*/*")] {
        let answer = call(&t, Method::GET, &path, Some(&s.read), accept, None).await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.clone()),
            (400, json!({"message": "Version missing from Accept header!"})),
            "{accept:?}"
        );
    }
    for accept in [
        "application/vnd.newvoicemedia.v3+json",
        "application/vnd.newvoicemedia.v44+json",
        "application/vnd.newvoicemedia.v4+xml",
    ] {
        let answer = call(&t, Method::GET, &path, Some(&s.read), Some(accept), None).await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.clone()),
            (400, json!({"message": "Invalid api-version! Valid values: 4"})),
            "{accept}"
        );
    }
}

#[tokio::test]
async fn tokens_scopes_users_and_bodies_are_checked() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let path = format!("/useradmin/users/{U}/licenses");
    let body = Some(r#"{"licenseTypes": {"analytics": "viewer"}}"#);

    // 401 without a token, and with an expired one.
    assert_eq!(call(&t, Method::GET, &path, None, Some(V4), None).await.status, 401);
    // 403 for a users:read token on PATCH and validate.
    assert_eq!(call(&t, Method::PATCH, &path, Some(&s.read), Some(V4), body).await.status, 403);
    assert_eq!(call(&t, Method::POST, &format!("{path}/validate"), Some(&s.read), Some(V4), body).await.status, 403);
    // 404 for an unknown user and for a user of another organization.
    let unknown = call(&t, Method::GET, "/useradmin/users/nobody/licenses", Some(&s.read), Some(V4), None).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["message"].is_string());
    let boss = t.org_with(&s.admin, "other", &[("analytics:creator", 1)], &["stranger"]).await;
    drop(boss);
    assert_eq!(
        call(&t, Method::GET, "/useradmin/users/stranger/licenses", Some(&s.read), Some(V4), None).await.status,
        404
    );
    // 400 for an unknown product key, an unknown value, a missing licenseTypes, malformed JSON.
    for (bad, names) in [
        (r#"{"licenseTypes": {"wfm": "enabled"}}"#, "wfm"),
        (r#"{"licenseTypes": {"analytics": "editor"}}"#, "editor"),
        (r#"{"licenseTypes": {"analytics": 1}}"#, "analytics"),
        (r#"{}"#, "licenseTypes"),
        (r#"{"licenseTypes": {"analytics": "none"}"#, "Malformed"),
    ] {
        let answer = call(&t, Method::PATCH, &path, Some(&s.write), Some(V4), Some(bad)).await;
        assert_eq!(answer.status, 400, "{bad}");
        assert!(answer.body["message"].as_str().unwrap().contains(names), "{bad}: {}", answer.body);
    }
    t.advance(7200 * 1000);
    assert_eq!(call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await.status, 401, "an expired token");
}

#[tokio::test]
async fn omitted_keys_stay_none_removes_and_a_level_change_is_a_delete_and_an_add() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let path = "/useradmin/users/c/licenses";
    // C holds krisp:enabled; set analytics to viewer, leaving krisp out.
    let viewer =
        call(&t, Method::PATCH, path, Some(&s.write), Some(V4), Some(r#"{"licenseTypes": {"analytics": "viewer"}}"#))
            .await
            .expect(200);
    assert_eq!(viewer, json!({"licenseTypes": {"analytics": "viewer", "krispnoisecancellation": "enabled"}}));
    let rows = call(
        &t,
        Method::POST,
        &format!("{path}/validate"),
        Some(&s.write),
        Some(V4),
        Some(r#"{"licenseTypes": {"analytics": "creator"}}"#),
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("viewer_to_creator", rows);
    let none = call(
        &t,
        Method::PATCH,
        path,
        Some(&s.write),
        Some(V4),
        Some(r#"{"licenseTypes": {"krispnoisecancellation": "none"}}"#),
    )
    .await
    .expect(200);
    assert_eq!(none, json!({"licenseTypes": {"analytics": "viewer", "krispnoisecancellation": "none"}}));
    let unchanged = call(
        &t,
        Method::POST,
        &format!("{path}/validate"),
        Some(&s.write),
        Some(V4),
        Some(r#"{"licenseTypes": {"analytics": "viewer"}}"#),
    )
    .await
    .expect(200);
    assert_eq!(unchanged, json!({"changeValidations": []}), "unchanged products produce no row");
    let native = t.client(&s.admin).org_pools("vcc").await.unwrap();
    let allocated = |license: &str| native.pools.iter().find(|p| p.license == license).unwrap().allocated;
    assert_eq!((allocated("analytics:viewer"), allocated("krispnoisecancellation:enabled")), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_patches_for_the_last_unit_one_succeeds() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    t.client(&s.admin).set_org_pools("vcc", &pools(&[("krispnoisecancellation:enabled", 4)])).await.unwrap();
    // Both wait at the barrier, then send at once, each on a task of its own.
    let t = std::sync::Arc::new(t);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let patches: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|user| {
            let (t, start, write) = (t.clone(), start.clone(), s.write.clone());
            tokio::spawn(async move {
                let body = r#"{"licenseTypes": {"krispnoisecancellation": "enabled"}}"#;
                let path = format!("/useradmin/users/{user}/licenses");
                start.wait().await;
                call(&t, Method::PATCH, &path, Some(&write), Some(V4), Some(body)).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for patch in patches {
        answers.push(patch.await.unwrap());
    }
    answers.sort_by_key(|a| a.status);
    assert_eq!((answers[0].status.as_u16(), answers[1].status.as_u16()), (200, 409), "{answers:#?}");
}

#[tokio::test]
async fn the_token_endpoint_takes_client_credentials_with_a_scope() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    drop(s);
    let form =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let send = |pairs: Vec<(String, String)>| {
        let http = t.http.clone();
        let url = t.url("/Auth/connect/token");
        async move {
            let response = http.post(url).form(&pairs).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(form(&[("grant_type", "password"), ("username", "x"), ("password", "y")])).await;
    assert_eq!((status, body["error"].clone()), (400, json!("unsupported_grant_type")));
    let (status, body) =
        send(form(&[("grant_type", "client_credentials"), ("client_id", "x"), ("client_secret", "y")])).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_scope")));
    let (_, body) = send(form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "x"),
        ("client_secret", "y"),
        ("scope", "users:read"),
    ]))
    .await;
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn none_cannot_take_away_what_a_group_gives() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let native = t.client(&s.admin);
    native.create_group("vcc", &group("analysts")).await.unwrap();
    native.set_group_rule("vcc", "analysts", &rule(&["analytics:viewer"])).await.unwrap();
    native.add_member("vcc", "analysts", "c").await.unwrap();
    let before = call(&t, Method::GET, "/useradmin/users/c/licenses", Some(&s.read), Some(V4), None).await.expect(200);
    assert_eq!(before["licenseTypes"]["analytics"], "viewer");
    let refused = call(
        &t,
        Method::PATCH,
        "/useradmin/users/c/licenses",
        Some(&s.write),
        Some(V4),
        Some(r#"{"licenseTypes": {"analytics": "none"}}"#),
    )
    .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body["message"].as_str().unwrap().contains("analysts"), "{}", refused.body);
    assert_eq!(
        call(&t, Method::GET, "/useradmin/users/c/licenses", Some(&s.read), Some(V4), None).await.expect(200),
        before
    );
}

#[tokio::test]
async fn a_patch_not_sent_as_json_is_refused_415_in_vonages_shape_and_changes_nothing() {
    let t = spawn_app().await;
    let s = seed(&t).await;
    let path = format!("/useradmin/users/{U}/licenses");
    let before = call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await;
    let revision = |answer: &Answer| answer.headers["allot-revision"].to_str().unwrap().to_owned();
    for (method, path) in [(Method::PATCH, path.clone()), (Method::POST, format!("{path}/validate"))] {
        for content_type in ["text/plain", "application/jsonx", "text/html+json"] {
            let response = t
                .http
                .request(method.clone(), t.url(&path))
                .bearer_auth(&s.write)
                .header("accept", V4)
                .header("content-type", content_type)
                .body(r#"{"licenseTypes": {"analytics": "none"}}"#)
                .send()
                .await
                .unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            let refused = Answer { status, headers, body: response.json().await.unwrap_or(Value::Null) };
            assert_eq!(refused.status, 415, "{method} {content_type}: {}", refused.body);
            assert!(refused.body["message"].is_string() && refused.body.get("code").is_none(), "{}", refused.body);
            assert_eq!(revision(&refused), revision(&before), "{method} {content_type} moved the revision");
        }
    }
    let after = call(&t, Method::GET, &path, Some(&s.read), Some(V4), None).await;
    assert_eq!(after.body, before.body, "the licenses did not change");
}

/// A contact center account: organization `vcc` with `contracted` licenses (roles are
/// `vccrole:<role>`), and tokens of an API client with Vonage's scopes.
pub(crate) struct Center {
    admin: String,
    write: String,
    read: String,
}

async fn center(t: &TestApp, contracted: &[(&str, i64)]) -> Center {
    let admin = t.admin().await;
    let native = t.client(&admin);
    native.create_org(&CreateOrg { id: "vcc".into(), name: None }).await.unwrap();
    let host: Vec<_> = contracted.iter().map(|(code, _)| (*code, 1000)).collect();
    native.set_host_pools(&pools(&host)).await.unwrap();
    native.set_org_pools("vcc", &pools(contracted)).await.unwrap();
    let scopes = vec!["users:read".into(), "users:write".into()];
    let client = native.create_client("vcc", &CreateClient { name: "vcc".into(), scopes }).await.unwrap();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let write = token(t, id, secret, "users:write").await.expect(200);
    let read = token(t, id, secret, "users:read").await.expect(200);
    Center {
        admin,
        write: write["access_token"].as_str().unwrap().to_owned(),
        read: read["access_token"].as_str().unwrap().to_owned(),
    }
}

/// A Create user body with the required fields only.
fn new_user(username: &str, role: &str) -> Value {
    json!({"username": username, "name": username, "email": format!("{username}@example.com"),
           "userAccountConfiguration": {"role": role}})
}

async fn create_user(t: &TestApp, token: &str, query: &str, body: &Value) -> Answer {
    call(t, Method::POST, &format!("/useradmin/users{query}"), Some(token), Some(V4), Some(&body.to_string())).await
}

async fn patch_user(t: &TestApp, token: &str, user: &str, query: &str, body: &Value) -> Answer {
    let path = format!("/useradmin/users/{user}{query}");
    call(t, Method::PATCH, &path, Some(token), Some(V4), Some(&body.to_string())).await
}

async fn get_user(t: &TestApp, token: &str, user: &str) -> Answer {
    call(t, Method::GET, &format!("/useradmin/users/{user}"), Some(token), Some(V4), None).await
}
