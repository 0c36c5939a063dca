//! Tokens, logins, roles and scopes.

use allot_server::auth::token_hash;
use allot_server::config::Secret;
use allot_store::Store;
use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, spawn_app, spawn_with};

#[tokio::test]
async fn the_password_grant_answers_a_bearer_token_and_a_refresh_token_that_works_once() {
    let t = spawn_app().await;
    let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)];
    let answer = t.token_form(&form).await;
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = answer.expect(200);
    assert_eq!(
        (body["token_type"].clone(), body["expires_in"].clone(), body["scope"].clone()),
        (json!("Bearer"), json!(3600), json!("allot:write"))
    );
    let access = body["access_token"].as_str().unwrap();
    assert!(access.starts_with("allot_at_"));
    assert_eq!(t.get(access, "/api/v1/orgs").await.status, 200);

    let refresh = body["refresh_token"].as_str().unwrap();
    let again = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await.expect(200);
    assert_eq!(t.get(again["access_token"].as_str().unwrap(), "/api/v1/orgs").await.status, 200);
    let reused = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!((reused.status.as_u16(), reused.body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn tokens_and_passwords_are_stored_only_as_hashes() {
    let t = spawn_app().await;
    let token = t.admin().await;
    assert!(t.app.store.token(&token).await.unwrap().is_none());
    assert!(t.app.store.token(&token_hash(&token)).await.unwrap().is_some());
    let hash = t.app.store.password_hash("", "admin").await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_a_bearer_challenge() {
    let t = spawn_app().await;
    let none = t.send(reqwest::Method::GET, "/api/v1/orgs", None, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.headers["www-authenticate"], "Bearer realm=\"allot\"");
    assert_eq!(none.content_type(), "application/problem+json");
    assert_eq!(t.get("allot_at_forged", "/api/v1/orgs").await.status, 401);

    let token = t.admin().await;
    t.advance(3600 * 1000);
    let expired = t.get(&token, "/api/v1/orgs").await;
    assert_eq!(expired.status, 401);
    assert!(expired.body["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_released_after_the_window() {
    let t = spawn_app().await;
    let wrong = [("grant_type", "password"), ("username", "admin"), ("password", "not the password!")];
    for _ in 0..5 {
        assert_eq!(t.token_form(&wrong).await.body["error"], "invalid_grant");
    }
    let locked = t.token_form(&[("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(locked.status, 429, "even the right password waits: {:#}", locked.body);
    assert!(locked.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    t.advance(900 * 1000);
    t.admin().await;
    // Unknown accounts fail exactly like wrong passwords.
    let unknown =
        t.token_form(&[("grant_type", "password"), ("username", "nobody"), ("password", "whatever it is")]).await;
    assert_eq!((unknown.status.as_u16(), unknown.body["error"].clone()), (400, json!("invalid_grant")));
}

#[tokio::test]
async fn failed_logins_from_one_address_across_many_accounts_lock_the_address_out_for_the_window() {
    let t = spawn_with(|config| {
        config.auth.max_failed_logins_per_address = 8;
        config.auth.lockout_secs = 600;
    })
    .await;
    let admin = t.admin().await;
    t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let boss = [
        ("grant_type", "password"),
        ("organization", "acme"),
        ("username", "acme-admin"),
        ("password", "org admin password 1"),
    ];
    let right = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)];

    // Eight failures from 127.0.0.1, one per account: no account comes near its own limit of 5.
    for i in 0..8 {
        let name = format!("sprayed-{i}");
        let wrong = [("grant_type", "password"), ("username", name.as_str()), ("password", "not the password!")];
        let answer = t.token_form(&wrong).await;
        assert_eq!(
            (answer.status.as_u16(), answer.body["error"].clone()),
            (400, json!("invalid_grant")),
            "failure {i}"
        );
    }

    // The address is locked out: every account, even with the right password.
    for form in [&right[..], &boss[..]] {
        let locked = t.token_form(form).await;
        assert_eq!(locked.status, 429, "the right password waits too: {:#}", locked.body);
        assert_eq!(locked.body["error"], "invalid_grant");
        let retry_after: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=600).contains(&retry_after), "within auth.lockout_secs: {retry_after}");
    }
    // Only that address: the same account from another address logs in.
    let elsewhere =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().ok()).build().unwrap();
    let answer = elsewhere.post(t.url("/oauth/token")).form(&right).send().await.unwrap();
    assert_eq!(answer.status(), 200, "another address is not locked out");

    // Still locked a second before the window ends; open when it has.
    t.advance(599 * 1000);
    let locked = t.token_form(&right).await;
    assert_eq!((locked.status.as_u16(), locked.headers["retry-after"].to_str().unwrap()), (429, "1"));
    t.advance(1000);
    t.admin().await;
    t.token_form(&boss).await.expect(200);
}

#[tokio::test]
async fn grant_errors_follow_rfc_6749() {
    let t = spawn_app().await;
    let answer = t.token_form(&[("grant_type", "implicit")]).await;
    assert_eq!((answer.status.as_u16(), answer.body["error"].clone()), (400, json!("unsupported_grant_type")));
    let answer = t.token_form(&[("grant_type", "password"), ("username", "admin")]).await;
    assert_eq!(answer.body["error"], "invalid_request");
    let answer =
        t.token_form(&[("grant_type", "client_credentials"), ("client_id", "x"), ("client_secret", "y")]).await;
    assert_eq!((answer.status.as_u16(), answer.body["error"].clone()), (401, json!("invalid_client")));
}

#[tokio::test]
async fn roles_decide_what_people_may_do() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["member"]).await;
    let password = "reader password 123";
    t.post(&boss, "/api/v1/orgs/acme/users", json!({"id": "rita", "role": "reader", "password": password}))
        .await
        .expect(201);
    let reader = t.login(Some("acme"), "rita", password).await;
    assert_eq!(t.get(&reader, "/api/v1/orgs/acme/pools").await.status, 200);
    let denied =
        t.put(&reader, "/api/v1/orgs/acme/users/member/licenses", json!({"licenses": [{"license": "ATTUNU"}]})).await;
    assert_eq!((denied.status.as_u16(), denied.code()), (403, "forbidden"));
    assert_eq!(
        t.post(&reader, "/api/v1/orgs/acme/plans", json!({"changes": []})).await.status,
        200,
        "readers may validate"
    );
    assert_eq!(t.post(&reader, "/api/v1/orgs/acme/plans", json!({"apply": true, "changes": []})).await.status, 403);
    // Org admins cannot grant themselves licenses from the host.
    let grant =
        t.put(&boss, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "ATTUNU", "quantity": 50}]})).await;
    assert_eq!(grant.status, 403);
    assert_eq!(t.post(&boss, "/api/v1/orgs", json!({"id": "mine"})).await.status, 403);
    // A member cannot log in at all, even with a password; weak passwords are refused.
    let weak = t.put(&boss, "/api/v1/orgs/acme/users/member/password", json!({"password": "short"})).await;
    assert_eq!((weak.status.as_u16(), weak.code()), (422, "weak_password"));
    t.put(&boss, "/api/v1/orgs/acme/users/member/password", json!({"password": "member password 1"})).await.expect(204);
    let form = [
        ("grant_type", "password"),
        ("organization", "acme"),
        ("username", "member"),
        ("password", "member password 1"),
    ];
    assert_eq!(t.token_form(&form).await.body["error"], "invalid_grant");
    // Demoting a reader takes effect at once, on a token already issued.
    t.patch(&boss, "/api/v1/orgs/acme/users/rita", json!({"role": "member"})).await.expect(200);
    assert_eq!(t.get(&reader, "/api/v1/orgs/acme/pools").await.status, 403);
}

#[tokio::test]
async fn client_credentials_carry_only_granted_scopes_and_no_refresh_token() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let client = t
        .post(&boss, "/api/v1/orgs/acme/clients", json!({"name": "ci", "scopes": ["allot:read", "PM.License.Read"]}))
        .await
        .expect(201);
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let listed = t.get(&boss, "/api/v1/orgs/acme/clients").await.expect(200);
    assert_eq!(listed["clients"][0]["client_id"], id);
    assert!(listed["clients"][0].get("client_secret").is_none(), "the secret is shown once");

    let form =
        [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret), ("scope", "allot:read")];
    let body = t.token_form(&form).await.expect(200);
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "allot:read");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(t.get(token, "/api/v1/orgs/acme/pools").await.status, 200);
    assert_eq!(t.put(token, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": []})).await.status, 403);
    assert_eq!(t.get(token, "/api/v1/orgs/acme/clients").await.status, 403, "clients do not manage clients");

    let greedy =
        [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret), ("scope", "allot:write")];
    assert_eq!(t.token_form(&greedy).await.body["error"], "invalid_scope");
    let wrong = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", "allot_cs_wrong")];
    assert_eq!(t.token_form(&wrong).await.status, 401);
    let unknown_scope = t.post(&boss, "/api/v1/orgs/acme/clients", json!({"name": "x", "scopes": ["root"]})).await;
    assert_eq!((unknown_scope.status.as_u16(), unknown_scope.code()), (400, "unknown_scope"));

    t.delete(&boss, &format!("/api/v1/orgs/acme/clients/{id}")).await.expect(204);
    assert_eq!(t.get(token, "/api/v1/orgs/acme/pools").await.status, 401, "deleting a client revokes its tokens");
}

#[tokio::test]
async fn the_first_start_prints_a_one_time_password_to_an_owner_only_file() {
    let t = spawn_with(|config| config.admin_password = Secret::default()).await;
    let file = t.dir.path().join("admin-password");
    let password = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    t.login(None, "admin", password.trim()).await;
    assert!(allot_server::bootstrap_admin(&t.app).await.unwrap().is_none(), "only on the first start");
}

#[tokio::test]
async fn deleting_an_organization_revokes_its_clients_tokens_for_good() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    t.post(&admin, "/api/v1/orgs", json!({"id": "acme"})).await.expect(201);
    let client =
        t.post(&admin, "/api/v1/orgs/acme/clients", json!({"name": "ci", "scopes": ["allot:read"]})).await.expect(201);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client["client_id"].as_str().unwrap()),
        ("client_secret", client["client_secret"].as_str().unwrap()),
    ];
    let token = t.token_form(&form).await.expect(200)["access_token"].as_str().unwrap().to_owned();
    t.delete(&admin, "/api/v1/orgs/acme").await.expect(204);
    t.post(&admin, "/api/v1/orgs", json!({"id": "acme"})).await.expect(201);
    assert_eq!(
        t.get(&token, "/api/v1/orgs/acme").await.status,
        401,
        "a recreated organization does not revive old tokens"
    );
    assert_eq!(t.token_form(&form).await.status, 401, "nor old client secrets");
    let reserved = t.post(&admin, "/api/v1/orgs", json!({"id": "HOST"})).await;
    assert_eq!((reserved.status.as_u16(), reserved.code()), (400, "invalid_id"));
}

#[tokio::test]
async fn a_new_password_shuts_out_the_old_tokens_and_access_tokens_do_not_refresh() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let form = [
        ("grant_type", "password"),
        ("organization", "acme"),
        ("username", "acme-admin"),
        ("password", "org admin password 1"),
    ];
    let issued = t.token_form(&form).await.expect(200);
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();

    // An access token sent as a refresh token is refused, and keeps working.
    let wrong_kind = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", &boss)]).await;
    assert_eq!(wrong_kind.body["error"], "invalid_grant");
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme").await.status, 200);

    t.put(&admin, "/api/v1/orgs/acme/users/acme-admin/password", json!({"password": "a brand new password"}))
        .await
        .expect(204);
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme").await.status, 401, "the old access token is revoked");
    let refreshed = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(refreshed.body["error"], "invalid_grant", "and so is the old refresh token");
    t.login(Some("acme"), "acme-admin", "a brand new password").await;
}
