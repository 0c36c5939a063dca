//! The login throttle: counted before the password is hashed, per account at an address,
//! in the database, for client secrets too, and lifted by an administrator.

use allot_api::{CreateClient, ErrorCode, Role};
use serde_json::Value;

use crate::harness::{ADMIN_PASSWORD, Answer, TestApp, person, refused, spawn_app};

const WRONG: &str = "not the password!";

/// A token request sent from `from` (a loopback address of the test machine).
async fn token_from(t: &TestApp, from: &str, path: &str, form: &[(&str, &str)]) -> Answer {
    let http = reqwest::Client::builder().local_address(from.parse::<std::net::IpAddr>().ok()).build().unwrap();
    let response = http.post(t.url(path)).form(form).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Answer { status, headers, body: response.json().await.unwrap_or(Value::Null) }
}

fn password_form<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
    [("grant_type", "password"), ("username", username), ("password", password)]
}

#[tokio::test]
async fn forty_parallel_wrong_guesses_evaluate_at_most_the_limit_then_429() {
    let t = spawn_app().await;
    let form = password_form("admin", WRONG);
    let guesses = (0..40).map(|_| t.token_form(&form));
    let answers = futures_util::future::join_all(guesses).await;
    let evaluated = answers.iter().filter(|a| a.status == 400).count();
    let throttled = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((evaluated, throttled), (5, 35), "only auth.max_failed_logins guesses are checked");
    let right = t.token_form(&password_form("admin", ADMIN_PASSWORD)).await;
    assert_eq!(right.status, 429, "{:#}", right.body);
}

#[tokio::test]
async fn wrong_guesses_from_one_address_do_not_lock_the_account_for_another_address() {
    let t = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(token_from(&t, "127.0.0.3", "/oauth/token", &password_form("admin", WRONG)).await.status, 400);
    }
    let there = token_from(&t, "127.0.0.3", "/oauth/token", &password_form("admin", ADMIN_PASSWORD)).await;
    assert_eq!(there.status, 429, "the guessing address is locked out");
    let here = token_from(&t, "127.0.0.4", "/oauth/token", &password_form("admin", ADMIN_PASSWORD)).await;
    assert_eq!(here.status, 200, "another address is not: {:#}", here.body);
}

#[tokio::test]
async fn client_secret_failures_are_counted_on_every_token_endpoint() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let body = CreateClient { name: "ci".into(), scopes: vec!["allot:read".into(), "users:read".into()] };
    let created = t.client(&boss).create_client("acme", &body).await.unwrap();
    let id = created.client_id.as_str();
    let wrong = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", WRONG)];
    let vonage =
        [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", WRONG), ("scope", "users:read")];
    for path in ["/oauth/token", "/identity_/connect/token", "/acme/identity_/connect/token"] {
        assert_eq!(t.http.post(t.url(path)).form(&wrong).send().await.unwrap().status(), 401, "{path}");
    }
    for _ in 0..2 {
        let answer = t.http.post(t.url("/Auth/connect/token")).form(&vonage).send().await.unwrap();
        assert_eq!(answer.status(), 401);
    }
    let right = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", &created.client_secret)];
    let locked = t.token_form(&right).await;
    assert_eq!((locked.status.as_u16(), locked.body["error"].as_str()), (429, Some("invalid_client")));
    assert!(locked.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_host_admin_lifts_a_lockout() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    for _ in 0..5 {
        t.token_form(&password_form("admin", WRONG)).await;
    }
    assert_eq!(t.token_form(&password_form("admin", ADMIN_PASSWORD)).await.status, 429);
    t.client(&admin).unlock_admin("admin").await.unwrap();
    t.token_form(&password_form("admin", ADMIN_PASSWORD)).await.expect(200);
    assert_eq!(refused(t.client(&admin).unlock_admin("nobody").await), (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn an_org_admin_lifts_a_lockout_of_its_own_user_and_gets_404_for_another_orgs() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    t.org_with(&admin, "globex", &[("ATTUNU", 1)], &[]).await;
    t.client(&boss).create_user("acme", &person("rita", Role::Reader, "reader password 123")).await.unwrap();
    let rita =
        |password| [("grant_type", "password"), ("organization", "acme"), ("username", "rita"), ("password", password)];
    for _ in 0..5 {
        assert_eq!(t.token_form(&rita(WRONG)).await.status, 400);
    }
    assert_eq!(t.token_form(&rita("reader password 123")).await.status, 429);
    t.client(&boss).unlock_user("acme", "rita").await.unwrap();
    t.token_form(&rita("reader password 123")).await.expect(200);
    assert_eq!(refused(t.client(&boss).unlock_user("globex", "globex-admin").await), (404, ErrorCode::NotFound));
    assert_eq!(refused(t.client(&boss).unlock_user("acme", "nobody").await), (404, ErrorCode::NotFound));
    t.client(&admin).unlock_user("globex", "globex-admin").await.unwrap();
}
