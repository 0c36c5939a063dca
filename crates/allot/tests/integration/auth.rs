//! Tokens, logins, roles and scopes.

use allot_api::{CreateClient, CreateOrg, ErrorCode, PlanRequest, Role, UpdateUser};
use allot_server::auth::token_hash;
use allot_server::config::Secret;
use allot_store::Store;
use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, licenses, person, pools, refused, spawn_app, spawn_with};

fn org(id: &str) -> CreateOrg {
    CreateOrg { id: id.to_owned(), name: None }
}

fn api_client(name: &str, scopes: &[&str]) -> CreateClient {
    CreateClient { name: name.to_owned(), scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect() }
}

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
    t.client(access).orgs().await.unwrap();

    let refresh = body["refresh_token"].as_str().unwrap();
    let again = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await.expect(200);
    t.client(again["access_token"].as_str().unwrap()).orgs().await.unwrap();
    let reused = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!((reused.status.as_u16(), reused.body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn a_revoked_token_no_longer_works_whichever_kind_it_is() {
    let t = spawn_app().await;
    let anonymous = t.anonymous();
    let tokens = anonymous.login(None, "admin", ADMIN_PASSWORD).await.unwrap();
    let (access, refresh) = (tokens.access_token, tokens.refresh_token.unwrap());
    t.client(&access).orgs().await.unwrap();
    anonymous.revoke(&access).await.unwrap();
    assert_eq!(refused(t.client(&access).orgs().await).0, 401, "revoked at once on this process");
    anonymous.revoke(&refresh).await.unwrap();
    let reused = anonymous.refresh(&refresh).await.unwrap_err();
    assert_eq!(reused.status().map(|s| s.as_u16()), Some(400), "{reused}");
    anonymous.revoke("allot_at_never_issued").await.expect("an unknown token answers 200 too");
    let other = anonymous.login(None, "admin", ADMIN_PASSWORD).await.unwrap();
    t.client(&other.access_token).orgs().await.expect("another login of the same admin still works");
}

#[tokio::test]
async fn a_scim_token_is_shown_once_lives_up_to_two_years_and_stops_at_its_revocation() {
    use allot_api::CreateScimToken;
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &[]).await;
    let other = t.org_with(&admin, "other", &[("ATTUNU", 1)], &[]).await;
    let client = t.client(&boss);
    let idp = client.create_client("acme", &api_client("okta", &["scim"])).await.unwrap();
    let native = client.create_client("acme", &api_client("ci", &["allot:read"])).await.unwrap();
    let at = |days: i64| allot_api::rfc3339(crate::harness::START + days * 86_400_000);

    let created = client.create_scim_token("acme", &idp.client_id, &CreateScimToken::default()).await.unwrap();
    assert!(created.token.starts_with("allot_scim_"), "{}", created.token);
    assert_eq!(created.expires_at, at(365), "a year when not asked");
    let listed = client.scim_tokens("acme", &idp.client_id).await.unwrap().tokens;
    assert_eq!(
        listed,
        [allot_api::ScimTokenView { id: created.id.clone(), expires_at: at(365) }],
        "the token is not listed"
    );
    assert!(t.app.store.token(&created.token).await.unwrap().is_none(), "stored as its hash");

    // It authenticates as its client, which may do nothing but SCIM.
    let scim = t.client(&created.token);
    assert_eq!(refused(scim.org("acme").await), (403, ErrorCode::Forbidden));
    let longest = CreateScimToken { expires_at: Some(at(730)) };
    client.create_scim_token("acme", &idp.client_id, &longest).await.expect("two years is allowed");
    for too_far in [at(731), at(0)] {
        let asked = CreateScimToken { expires_at: Some(too_far.clone()) };
        assert_eq!(
            refused(client.create_scim_token("acme", &idp.client_id, &asked).await),
            (422, ErrorCode::InvalidDates),
            "{too_far}"
        );
    }
    let no_scope = client.create_scim_token("acme", &native.client_id, &CreateScimToken::default()).await;
    assert_eq!(refused(no_scope), (409, ErrorCode::UnknownScope), "only a client granted scim");
    let elsewhere = t.client(&other).create_scim_token("other", &idp.client_id, &CreateScimToken::default()).await;
    assert_eq!(refused(elsewhere).0, 404, "another organization's client is not found");

    client.revoke_scim_token("acme", &idp.client_id, &created.id).await.unwrap();
    assert_eq!(refused(scim.org("acme").await).0, 401, "revoked at once");
    assert_eq!(refused(client.revoke_scim_token("acme", &idp.client_id, &created.id).await).0, 404);
    assert_eq!(client.scim_tokens("acme", &idp.client_id).await.unwrap().tokens.len(), 1, "the two-year one");
    // Deleting the client ends its SCIM tokens too.
    let kept = client.create_scim_token("acme", &idp.client_id, &CreateScimToken::default()).await.unwrap();
    t.client(&kept.token).org("acme").await.unwrap_err();
    client.delete_client("acme", &idp.client_id).await.unwrap();
    assert_eq!(refused(t.client(&kept.token).org("acme").await).0, 401);
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
    assert_eq!(refused(t.client("allot_at_forged").orgs().await), (401, ErrorCode::Unauthorized));

    let token = t.admin().await;
    t.advance(3600 * 1000);
    let expired = t.client(&token).orgs().await.unwrap_err();
    assert_eq!((expired.status().unwrap().as_u16(), expired.code()), (401, Some(ErrorCode::Unauthorized)));
    assert!(expired.problem().unwrap().detail.contains("expired"), "{expired}");
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
    let client = t.client(&boss);
    client.create_user("acme", &person("rita", Role::Reader, password)).await.unwrap();
    let reader = t.client(&t.login(Some("acme"), "rita", password).await);
    reader.org_pools("acme").await.unwrap();
    let denied = reader.set_user_licenses("acme", "member", &licenses(&["ATTUNU"])).await;
    assert_eq!(refused(denied), (403, ErrorCode::Forbidden));
    let nothing = |apply| PlanRequest { apply, changes: vec![], after: None };
    reader.plan("acme", &nothing(false)).await.expect("readers may validate");
    assert_eq!(refused(reader.plan("acme", &nothing(true)).await), (403, ErrorCode::Forbidden));
    // Org admins cannot grant themselves licenses from the host.
    let grant = client.set_org_pools("acme", &pools(&[("ATTUNU", 50)])).await;
    assert_eq!(refused(grant), (403, ErrorCode::Forbidden));
    assert_eq!(refused(client.create_org(&org("mine")).await), (403, ErrorCode::Forbidden));
    // A member cannot log in at all, even with a password; weak passwords are refused.
    assert_eq!(refused(client.set_password("acme", "member", "short").await), (422, ErrorCode::WeakPassword));
    client.set_password("acme", "member", "member password 1").await.unwrap();
    let form = [
        ("grant_type", "password"),
        ("organization", "acme"),
        ("username", "member"),
        ("password", "member password 1"),
    ];
    assert_eq!(t.token_form(&form).await.body["error"], "invalid_grant");
    // Demoting a reader takes effect at once, on a token already issued.
    client
        .update_user("acme", "rita", &UpdateUser { role: Some(Role::Member), ..UpdateUser::default() })
        .await
        .unwrap();
    assert_eq!(refused(reader.org_pools("acme").await), (403, ErrorCode::Forbidden));
}

#[tokio::test]
async fn client_credentials_carry_only_granted_scopes_and_no_refresh_token() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let admin_of_acme = t.client(&boss);
    let created = admin_of_acme.create_client("acme", &api_client("ci", &["allot:read", "PM.License.Read"])).await;
    let created = created.unwrap();
    let (id, secret) = (created.client_id.as_str(), created.client_secret.as_str());
    let listed = admin_of_acme.clients("acme").await.unwrap();
    assert_eq!(listed.clients[0].client_id, id);
    assert_eq!(listed.clients[0].scopes, ["allot:read", "PM.License.Read"]);
    // Whether the secret is on the wire: raw.
    let listed = t.get(&boss, "/api/v1/orgs/acme/clients").await.expect(200);
    assert!(listed["clients"][0].get("client_secret").is_none(), "the secret is shown once");

    let form =
        [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret), ("scope", "allot:read")];
    let body = t.token_form(&form).await.expect(200);
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "allot:read");
    let machine = t.client(body["access_token"].as_str().unwrap());
    machine.org_pools("acme").await.unwrap();
    assert_eq!(refused(machine.set_user_licenses("acme", "a", &licenses(&[])).await), (403, ErrorCode::Forbidden));
    assert_eq!(refused(machine.clients("acme").await), (403, ErrorCode::Forbidden), "clients do not manage clients");

    let greedy =
        [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret), ("scope", "allot:write")];
    assert_eq!(t.token_form(&greedy).await.body["error"], "invalid_scope");
    let wrong = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", "allot_cs_wrong")];
    assert_eq!(t.token_form(&wrong).await.status, 401);
    let unknown_scope = admin_of_acme.create_client("acme", &api_client("x", &["root"])).await;
    assert_eq!(refused(unknown_scope), (400, ErrorCode::UnknownScope));

    admin_of_acme.delete_client("acme", id).await.unwrap();
    let revoked = machine.org_pools("acme").await;
    assert_eq!(refused(revoked), (401, ErrorCode::Unauthorized), "deleting a client revokes its tokens");
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
    let host = t.client(&admin);
    host.create_org(&org("acme")).await.unwrap();
    let client = host.create_client("acme", &api_client("ci", &["allot:read"])).await.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
    ];
    let token = t.token_form(&form).await.expect(200)["access_token"].as_str().unwrap().to_owned();
    host.delete_org("acme").await.unwrap();
    host.create_org(&org("acme")).await.unwrap();
    assert_eq!(
        refused(t.client(&token).org("acme").await),
        (401, ErrorCode::Unauthorized),
        "a recreated organization does not revive old tokens"
    );
    assert_eq!(t.token_form(&form).await.status, 401, "nor old client secrets");
    assert_eq!(refused(host.create_org(&org("HOST")).await), (400, ErrorCode::InvalidId));
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
    t.client(&boss).org("acme").await.unwrap();

    t.client(&admin).set_password("acme", "acme-admin", "a brand new password").await.unwrap();
    let revoked = t.client(&boss).org("acme").await;
    assert_eq!(refused(revoked), (401, ErrorCode::Unauthorized), "the old access token is revoked");
    let refreshed = t.token_form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(refreshed.body["error"], "invalid_grant", "and so is the old refresh token");
    t.login(Some("acme"), "acme-admin", "a brand new password").await;
}
