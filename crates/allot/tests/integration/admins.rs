//! Host administrators: added and removed (never the last), passwords changed (the
//! one-time file goes), and logins that say what went wrong without saying who exists.

use allot_api::{ErrorCode, Role, UpdateUser};
use allot_server::config::Secret;

use crate::harness::{ADMIN_PASSWORD, person, refused, spawn_app, spawn_with};

const OPS_PASSWORD: &str = "ops password 12345";

#[tokio::test]
async fn the_bootstrap_admin_changes_its_password_and_the_one_time_file_is_deleted() {
    let t = spawn_with(|config| config.admin_password = Secret::default()).await;
    let file = t.dir.path().join("admin-password");
    let password = std::fs::read_to_string(&file).unwrap();
    let token = t.login(None, "admin", password.trim()).await;
    assert_eq!(refused(t.client(&token).set_admin_password("admin", "short").await), (422, ErrorCode::WeakPassword));
    assert!(file.exists(), "a refused change keeps the file");
    t.client(&token).set_admin_password("admin", "a new admin password 1").await.unwrap();
    assert!(!file.exists(), "the one-time password no longer works, and its file is gone");
    assert_eq!(refused(t.client(&token).orgs().await), (401, ErrorCode::Unauthorized), "the old tokens went");
    t.login(None, "admin", "a new admin password 1").await;
}

#[tokio::test]
async fn host_admins_are_created_and_removed_but_never_the_last() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let host = t.client(&admin);
    assert_eq!(host.create_admin("ops", OPS_PASSWORD).await.unwrap().name, "ops");
    assert_eq!(refused(host.create_admin("ops", OPS_PASSWORD).await), (409, ErrorCode::AlreadyExists));
    assert_eq!(refused(host.create_admin("weak", "short").await), (422, ErrorCode::WeakPassword));
    assert_eq!(refused(host.create_admin("..", OPS_PASSWORD).await), (400, ErrorCode::InvalidId));
    let names: Vec<String> = host.admins().await.unwrap().admins.into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["admin", "ops"]);

    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    assert_eq!(refused(t.client(&boss).admins().await), (403, ErrorCode::Forbidden));
    assert_eq!(refused(t.client(&boss).create_admin("x", OPS_PASSWORD).await), (403, ErrorCode::Forbidden));

    let ops = t.client(&t.login(None, "ops", OPS_PASSWORD).await);
    ops.delete_admin("admin").await.unwrap();
    assert_eq!(refused(host.orgs().await), (401, ErrorCode::Unauthorized), "a removed admin's tokens went");
    let gone = t.token_form(&[("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(gone.status, 400);
    assert_eq!(refused(ops.delete_admin("admin").await), (404, ErrorCode::NotFound));
    assert_eq!(refused(ops.delete_admin("ops").await), (409, ErrorCode::LastHostAdmin), "never the last");
    ops.orgs().await.unwrap();
}

#[tokio::test]
async fn a_login_without_organization_says_organization_users_must_send_it_whoever_exists() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let login = |username| [("grant_type", "password"), ("username", username), ("password", "org admin password 1")];
    let user = t.token_form(&login("acme-admin")).await;
    let nobody = t.token_form(&login("nobody-at-all")).await;
    assert_eq!((user.status.as_u16(), user.body["error"].as_str()), (400, Some("invalid_grant")));
    let described = user.body["error_description"].as_str().unwrap();
    assert!(described.contains("organization users must send `organization`"), "{described}");
    assert_eq!(user.body, nobody.body, "the same words whether the user exists or not");
}

#[tokio::test]
async fn a_members_login_says_members_cannot_sign_in() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let org = t.client(&boss);
    org.create_user("acme", &person("rita", Role::Reader, "reader password 123")).await.unwrap();
    let member = UpdateUser { role: Some(Role::Member), ..UpdateUser::default() };
    org.update_user("acme", "rita", &member).await.unwrap();
    let form = [
        ("grant_type", "password"),
        ("organization", "acme"),
        ("username", "rita"),
        ("password", "reader password 123"),
    ];
    let answer = t.token_form(&form).await;
    assert_eq!((answer.status.as_u16(), answer.body["error"].as_str()), (400, Some("invalid_grant")));
    let described = answer.body["error_description"].as_str().unwrap();
    assert!(described.contains("members hold licenses but cannot sign in"), "{described}");
    let wrong = [("password", "not her password"), form[0], form[1], form[2]];
    let answer = t.token_form(&wrong).await;
    assert_eq!(answer.body["error_description"], "the username or password is wrong", "no word without the password");
}
