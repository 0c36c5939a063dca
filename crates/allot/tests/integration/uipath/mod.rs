//! The UiPath Automation Suite dialect, as compat/uipath.md describes it.

use allot_api::{CreateClient, CreateOrg, CreatedClient, Role};
use reqwest::Method;
use serde_json::{Value, json};

mod identity;
mod lease;
mod lrm;
mod shape;

use crate::harness::{ADMIN_PASSWORD, Answer, TestApp, person, pools, spawn_app};

const HOST: &str = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d";
const ORG_ADMIN_PASSWORD: &str = "song one admin password";

/// The seed's call with its missing comma put back.
const SEED_BODY: &str = r#"{
"userIds": ["singer-77", "singer-88", "singer-111"],
"userBundleCodes": ["RPADEVNU", "ATTUNU", "TSTNU"],
"useExternalLicense": true
}"#;

/// The seed's call as printed: a comma is missing after the userIds array.
const SEED_BODY_AS_PRINTED: &str = r#"{
"userIds": ["singer-77", "singer-88", "singer-111"]
"userBundleCodes": ["RPADEVNU", "ATTUNU", "TSTNU"],
"useExternalLicense": true
}"#;

async fn raw(t: &TestApp, method: Method, path: &str, token: &str, body: &str) -> Answer {
    let response = t
        .http
        .request(method, t.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, headers, body }
}

/// A host admin's token from UiPath's ROPC login.
async fn host_login(t: &TestApp) -> String {
    let body = json!({"TenancyName": "host", "UsernameOrEmailAddress": "admin", "Password": ADMIN_PASSWORD});
    let answer = t.send(Method::POST, "/api/account/authenticate", None, Some(body)).await.expect(200);
    answer["result"].as_str().unwrap().to_owned()
}

/// An API client of `org`, registered natively: the identity server's password grant
/// names one.
async fn app_client(t: &TestApp, token: &str, org: &str) -> CreatedClient {
    let body = CreateClient { name: "UiPath app".into(), scopes: vec!["PM.User.Read".into()] };
    t.client(token).create_client(org, &body).await.unwrap()
}

/// The identity server's password grant through `client`: the token endpoint's answer.
async fn identity_login(t: &TestApp, org: &str, client: &CreatedClient, username: &str, password: &str) -> Value {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
        ("scope", "PM.License PM.User"),
    ];
    let response = t.http.post(t.url(&format!("/{org}/identity_/connect/token"))).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Organization `song-one` (made natively, as UiPath's API cannot create organizations),
/// its admin, and the seed's users created through the identity endpoints.
async fn song_one(t: &TestApp, host: &str) -> String {
    let native = t.client(host);
    native.create_org(&CreateOrg { id: "song-one".into(), name: Some("Song One".into()) }).await.unwrap();
    native.create_user("song-one", &person("boss", Role::Admin, ORG_ADMIN_PASSWORD)).await.unwrap();
    let client = app_client(t, host, "song-one").await;
    let token = identity_login(t, "song-one", &client, "boss", ORG_ADMIN_PASSWORD).await;
    let boss = token["access_token"].as_str().unwrap().to_owned();
    for user in ["singer-77", "singer-88", "singer-111"] {
        t.post(&boss, "/song-one/identity_/api/User", json!({"id": user, "name": user})).await.expect(200);
    }
    boss
}

async fn grant_org(t: &TestApp, host: &str, quantities: &[(&str, i64)]) -> Value {
    let products: Vec<Value> =
        quantities.iter().map(|(code, quantity)| json!({"code": code, "quantity": quantity})).collect();
    t.put(
        host,
        &format!("/lrm/api/host/{HOST}/organization/song-one/license"),
        json!({ "productQuantities": products }),
    )
    .await
    .expect(200)
}

async fn host_buys(t: &TestApp, host: &str, codes: &[&str]) {
    let plenty: Vec<_> = codes.iter().map(|code| (*code, 1000)).collect();
    t.client(host).set_host_pools(&pools(&plenty)).await.unwrap();
}

#[tokio::test]
async fn the_seeds_example_answers_as_documented() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["RPADEVNU", "ATTUNU", "TSTNU"]).await;
    grant_org(&t, &host, &[("RPADEVNU", 3), ("ATTUNU", 3), ("TSTNU", 3)]).await;

    // The seed's call, POST and all, on the seed's path with `song_one` for `song-one`.
    let answer = raw(&t, Method::POST, "/lease_/api/account/song_one/user-license", &boss, SEED_BODY).await;
    insta::assert_json_snapshot!("seed_example", answer.expect(200));
    let native = t.client(&boss).org_pools("song-one").await.unwrap();
    assert!(native.pools.iter().all(|p| p.allocated == 0), "external holdings draw no unit");

    let printed = raw(&t, Method::POST, "/lease_/api/account/song_one/user-license", &boss, SEED_BODY_AS_PRINTED).await;
    assert_eq!(printed.status, 400, "{:#}", printed.body);
    assert_eq!(printed.content_type(), "application/problem+json");
}

#[tokio::test]
async fn the_seeds_call_drawing_9_units_with_8_left_answers_409_and_allocates_nothing() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["RPADEVNU", "ATTUNU", "TSTNU"]).await;
    grant_org(&t, &host, &[("RPADEVNU", 3), ("ATTUNU", 3), ("TSTNU", 2)]).await;
    let drawing = SEED_BODY.replace("\"useExternalLicense\": true", "\"useExternalLicense\": false");
    let answer = raw(&t, Method::POST, "/lease_/api/account/song_one/user-license", &boss, &drawing).await;
    assert_eq!(answer.status, 409, "{:#}", answer.body);
    insta::assert_json_snapshot!("seed_over_allocation", answer.body, {".plan" => "[plan]"});
    let inventory = t.get(&boss, "/lease_/api/account/song-one/user-license").await.expect(200);
    assert!(inventory.as_array().unwrap().iter().all(|c| c["allocated"] == 0), "nothing was allocated: {inventory:#}");

    // With one more TSTNU unit the same call goes through: 9 units drawn.
    grant_org(&t, &host, &[("RPADEVNU", 3), ("ATTUNU", 3), ("TSTNU", 3)]).await;
    raw(&t, Method::PUT, "/lease_/api/account/song-one/user-license", &boss, &drawing).await.expect(200);
    let inventory = t.get(&boss, "/lease_/api/account/song-one/user-license").await.expect(200);
    insta::assert_json_snapshot!("inventory_after_9_units", inventory);
}

#[tokio::test]
async fn the_full_chain_through_the_dialect_matches_the_native_pools() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["UNATT", "NONPR", "RPADEVPRONU", "IDU", "ATTUNU"]).await;

    // O: the host grants the organization its license.
    let license =
        grant_org(&t, &host, &[("UNATT", 5), ("NONPR", 4), ("RPADEVPRONU", 3), ("IDU", 2), ("ATTUNU", 2)]).await;
    insta::assert_json_snapshot!("org_license", license);

    // T: a tenant's orchestrator gets robots.
    let tenant = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 3}, {"code": "NONPR", "quantity": 1}]});
    let service = t.put(&boss, "/lrm/api/account/song-one/service-license/prod/orchestrator", tenant).await.expect(200);
    insta::assert_json_snapshot!("service_license", service);

    // G: a group rule, members created through the identity endpoints.
    let group = json!({"partitionGlobalId": "song-one", "name": "Developers", "directoryUserMemberIDs": ["singer-77", "singer-88"]});
    let created = t.post(&boss, "/song-one/identity_/api/Group", group).await.expect(201);
    let group_id = created["id"].as_str().unwrap().to_owned();
    let rule = json!({"userBundleCodes": ["RPADEVPRONU", "IDU"], "useExternalLicense": false});
    let path = format!("/song-one/lease_/api/account/song-one/user-license/group/{group_id}");
    let answer = t.put(&boss, &path, rule).await.expect(200);
    assert_eq!(answer["userBundleCodes"], json!(["RPADEVPRONU", "IDU"]));

    // U: one user directly.
    let direct =
        json!({"userIds": ["singer-111"], "userBundleCodes": ["ATTUNU", "RPADEVPRONU"], "useExternalLicense": false});
    t.put(&boss, "/lease_/api/account/song-one/user-license", direct).await.expect(200);

    // Every count read back through the dialect equals the native API's pools.
    let native = t.client(&boss).org_pools("song-one").await.unwrap().pools;
    let available = t.get(&boss, "/lrm/api/account/song-one/available-account-licenses").await.expect(200);
    let counted =
        t.get(&host, &format!("/lrm/api/host/{HOST}/organization/song-one/license/available")).await.expect(200);
    for pool in &native {
        let code = pool.license.as_str();
        let row = available.as_array().unwrap().iter().find(|r| r["code"] == code).unwrap();
        assert_eq!(
            (row["total"].as_i64(), row["allocated"].as_i64()),
            (Some(pool.quantity), Some(pool.allocated)),
            "{code}"
        );
        let with = counted["productsWithAvailability"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap();
        assert_eq!(with["availableQuantity"].as_i64(), Some(pool.available), "{code}");
        assert_eq!(with["consumedQuantity"].as_i64(), Some(pool.allocated), "{code}");
    }
    let expected = [("UNATT", 5, 3), ("NONPR", 4, 1), ("RPADEVPRONU", 3, 3), ("IDU", 2, 2), ("ATTUNU", 2, 1)];
    for (code, total, allocated) in expected {
        let pool = native.iter().find(|p| p.license == code).unwrap();
        assert_eq!((pool.quantity, pool.allocated), (total, allocated), "{code}");
    }
    let group_view = t.get(&boss, &path).await.expect(200);
    insta::assert_json_snapshot!("group_licenses", group_view);
    let tenant_native = t.client(&boss).service_pools("song-one", "prod", "orchestrator").await.unwrap();
    assert_eq!(tenant_native.pools.len(), 2);
}

#[tokio::test]
async fn identity_tokens_honour_scopes_and_refresh_tokens_work_once() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["ATTUNU"]).await;
    grant_org(&t, &host, &[("ATTUNU", 2)]).await;
    let reporting = CreateClient { name: "reporting".into(), scopes: vec!["PM.License.Read".into()] };
    let client = t.client(&host).create_client("song-one", &reporting).await.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
        ("scope", "PM.License.Read"),
    ];
    let response = t.http.post(t.url("/identity_/connect/token")).form(&form).send().await.unwrap();
    let token: Value = response.json().await.unwrap();
    assert_eq!((token["token_type"].clone(), token["expires_in"].clone()), (json!("Bearer"), json!(3600)));
    assert!(token.get("refresh_token").is_none(), "client credentials get no refresh token");
    let reader = token["access_token"].as_str().unwrap();
    t.get(reader, "/lease_/api/account/song-one/user-license").await.expect(200);
    let put = t
        .put(
            reader,
            "/lease_/api/account/song-one/user-license",
            json!({"userIds": ["singer-77"], "userBundleCodes": ["ATTUNU"]}),
        )
        .await;
    assert_eq!(put.status, 403, "{:#}", put.body);
    let wider = [form[0], form[1], form[2], ("scope", "PM.License.Write")];
    let refused = t.http.post(t.url("/identity_/connect/token")).form(&wider).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_scope");

    // A person's refresh token works once.
    let app = app_client(&t, &host, "song-one").await;
    let first = identity_login(&t, "song-one", &app, "boss", ORG_ADMIN_PASSWORD).await;
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())];
    let again = t.http.post(t.url("/identity_/connect/token")).form(&refresh).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let twice = t.http.post(t.url("/identity_/connect/token")).form(&refresh).send().await.unwrap();
    assert_eq!(twice.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let discovery: Value = t
        .http
        .get(t.url("/song-one/identity_/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery["token_endpoint"].as_str().unwrap().ends_with("/song-one/identity_/connect/token"));
    drop(boss);
}

#[tokio::test]
async fn logins_answer_abp_envelopes() {
    let t = spawn_app().await;
    let answer = t
        .send(
            Method::POST,
            "/api/account/authenticate",
            None,
            Some(json!({"TenancyName": "", "UsernameOrEmailAddress": "admin", "Password": "wrong password!"})),
        )
        .await;
    assert_eq!(answer.status, 401);
    insta::assert_json_snapshot!("authenticate_failed", answer.body);
    let ok = t
        .send(
            Method::POST,
            "/x/y/api/account/authenticate",
            None,
            Some(json!({"tenancyName": "host", "usernameOrEmailAddress": "admin", "password": ADMIN_PASSWORD})),
        )
        .await
        .expect(200);
    insta::assert_json_snapshot!("authenticate", ok, {".result" => "[token]"});
    let malformed = raw(&t, Method::POST, "/api/account/authenticate", "", "{").await;
    assert_eq!(malformed.status, 400);
}

#[tokio::test]
async fn errors_of_every_endpoint() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    // Before the organization has a license: 404 on U, G, T and the account license.
    let users = json!({"userIds": ["singer-77"], "userBundleCodes": ["ATTUNU"], "useExternalLicense": false});
    assert_eq!(t.put(&boss, "/lease_/api/account/song-one/user-license", users.clone()).await.status, 404);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/account-license").await.status, 404);
    let tenant = json!({"tenantName": "T", "products": [{"code": "UNATT", "quantity": 1}]});
    assert_eq!(
        t.put(&boss, "/lrm/api/account/song-one/service-license/t1/orchestrator", tenant.clone()).await.status,
        404
    );
    // O before the host holds anything: 404; then too much: 409; a negative quantity: 400.
    let org_path = format!("/lrm/api/host/{HOST}/organization/song-one/license");
    let o = json!({"productQuantities": [{"code": "ATTUNU", "quantity": 5}]});
    assert_eq!(t.put(&host, &org_path, o.clone()).await.status, 404);
    host_buys(&t, &host, &["ATTUNU", "UNATT"]).await;
    let too_much = json!({"productQuantities": [{"code": "ATTUNU", "quantity": 5000}]});
    assert_eq!(t.put(&host, &org_path, too_much).await.status, 409);
    let negative = json!({"productQuantities": [{"code": "ATTUNU", "quantity": -1}]});
    assert_eq!(t.put(&host, &org_path, negative).await.status, 400);
    assert_eq!(t.put(&boss, &org_path, o.clone()).await.status, 403, "an organization admin cannot grant itself");
    assert_eq!(t.put(&host, "/lrm/api/host/not-the-host/organization/song-one/license", o.clone()).await.status, 404);
    grant_org(&t, &host, &[("ATTUNU", 1), ("UNATT", 2)]).await;

    // 401 without a token, 400 for malformed bodies and empty userIds, 409 beyond the pool
    // or for a code the organization does not hold or a unit code on a user.
    let none = t.send(Method::PUT, "/lease_/api/account/song-one/user-license", None, Some(users.clone())).await;
    assert_eq!(none.status, 401);
    let empty = json!({"userIds": [], "userBundleCodes": ["ATTUNU"]});
    assert_eq!(t.put(&boss, "/lease_/api/account/song-one/user-license", empty).await.status, 400);
    let both = json!({"userIds": ["singer-77", "singer-88"], "userBundleCodes": ["ATTUNU"]});
    let over = t.put(&boss, "/lease_/api/account/song-one/user-license", both).await;
    assert_eq!((over.status.as_u16(), over.code()), (409, "license_limit_exceeded"));
    let unheld = json!({"userIds": ["singer-77"], "userBundleCodes": ["TSTNU"]});
    assert_eq!(t.put(&boss, "/lease_/api/account/song-one/user-license", unheld).await.status, 409);
    let unit = json!({"userIds": ["singer-77"], "userBundleCodes": ["UNATT"]});
    let wrong_level = t.put(&boss, "/lease_/api/account/song-one/user-license", unit).await;
    assert_eq!((wrong_level.status.as_u16(), wrong_level.code()), (409, "wrong_license_kind"));
    let ghost = json!({"userIds": ["ghost"], "userBundleCodes": ["ATTUNU"]});
    assert_eq!(t.put(&boss, "/lease_/api/account/song-one/user-license", ghost).await.status, 404);

    // T: 200, then GET 200, a service with no license 410, DELETE, then 410.
    let service_path = "/lrm/api/account/song-one/service-license/t1/orchestrator";
    t.put(&boss, service_path, tenant).await.expect(200);
    t.get(&boss, service_path).await.expect(200);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-license/t1/aicenter").await.status, 410);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-license/nope/orchestrator").await.status, 404);
    t.delete(&boss, service_path).await.expect(200);
    assert_eq!(t.get(&boss, service_path).await.status, 410);
    let user_code = json!({"tenantName": "T", "products": [{"code": "ATTUNU", "quantity": 1}]});
    assert_eq!(t.put(&boss, service_path, user_code).await.status, 409, "a user bundle at tenant level");

    // G: unknown group 404; a code the organization lacks 409; DELETE empties the rule.
    let rule = json!({"userBundleCodes": ["ATTUNU"]});
    assert_eq!(t.put(&boss, "/lease_/api/account/song-one/user-license/group/nope", rule.clone()).await.status, 404);
    let group = json!({"partitionGlobalId": "song-one", "name": "G", "directoryUserMemberIDs": ["singer-77"]});
    let group_id = t.post(&boss, "/identity_/api/Group", group).await.expect(201)["id"].as_str().unwrap().to_owned();
    let rule_path = format!("/la/api/account/song-one/user-license/group/{group_id}");
    assert_eq!(t.put(&boss, &rule_path, json!({"userBundleCodes": ["TSTNU"]})).await.status, 409);
    t.put(&boss, &rule_path, rule).await.expect(200);
    t.delete(&boss, &rule_path).await.expect(200);
    assert_eq!(t.get(&boss, &rule_path).await.expect(200)["allocatedUserBundles"], json!([]));

    // U removal; O removal refused while units are passed on, then allowed.
    t.put(&boss, "/lease_/api/account/song-one/user-license", users).await.expect(200);
    let remove =
        raw(&t, Method::DELETE, "/lease_/api/account/song-one/user-license", &boss, r#"{"userIds": ["singer-77"]}"#)
            .await;
    assert_eq!(remove.status, 200);
    assert_eq!(remove.body, json!({"successfulUserIds": ["singer-77"], "failedUserIds": []}));
    t.put(
        &boss,
        "/lrm/api/account/song-one/service-license/t1/orchestrator",
        json!({"tenantName": "T", "products": [{"code": "UNATT", "quantity": 1}]}),
    )
    .await
    .expect(200);
    let busy = t.delete(&host, &format!("{org_path}/remove")).await;
    assert_eq!((busy.status.as_u16(), busy.code()), (409, "quantity_in_use"));
    t.delete(&boss, "/lrm/api/account/song-one/service-license/t1/orchestrator").await.expect(200);
    t.delete(&host, &format!("{org_path}/remove")).await.expect(200);
    assert_eq!(t.get(&host, "/lrm/api/account/song-one/account-license").await.status, 404);

    // Identity: groups and users of the organization; unknown ones 404.
    let groups = t.get(&boss, "/identity_/api/Group/song-one").await.expect(200);
    assert_eq!(groups[0]["id"], group_id.as_str());
    assert_eq!(t.get(&boss, "/identity_/api/Group/song-one/nope").await.status, 404);
    let swapped = json!({"partitionGlobalId": "song-one", "name": "G", "directoryUserIDsToAdd": ["singer-88"], "directoryUserIDsToRemove": ["singer-77"]});
    let updated = t.put(&boss, &format!("/identity_/api/Group/{group_id}"), swapped).await.expect(200);
    assert_eq!(updated["members"][0]["identifier"], "singer-88");
    insta::assert_json_snapshot!("identity_group", updated, {
        ".id" => "[group id]",
        ".creationTime" => "[time]",
        ".lastModificationTime" => "[time]",
        ".members[].creationTime" => "[time]",
    });
    assert_eq!(t.get(&boss, "/identity_/api/User/singer-77").await.expect(200)["userName"], "singer-77");
    assert_eq!(t.get(&boss, "/identity_/api/User/ghost").await.status, 404);
    assert_eq!(t.get(&host, "/identity_/api/User/singer-77").await.status, 400, "a host admin names the organization");
    t.delete(&boss, &format!("/identity_/api/Group/song-one/{group_id}")).await.expect(204);
    t.delete(&boss, "/identity_/api/User/singer-111").await.expect(204);
}

#[tokio::test]
async fn another_organizations_ids_answer_404() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["ATTUNU", "UNATT"]).await;
    grant_org(&t, &host, &[("ATTUNU", 2), ("UNATT", 2)]).await;
    // song-one's real tenant, so the 404 below is about whose it is, not whether it exists.
    let tenant = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 1}]});
    t.put(&boss, "/lrm/api/account/song-one/service-license/prod/orchestrator", tenant).await.expect(200);
    let native = t.client(&host);
    native.create_org(&CreateOrg { id: "other".into(), name: None }).await.unwrap();
    native.create_user("other", &person("eve", Role::Admin, "eve's long password")).await.unwrap();
    let app = app_client(&t, &host, "other").await;
    let token = identity_login(&t, "other", &app, "eve", "eve's long password").await;
    let eve = token["access_token"].as_str().unwrap();
    let users = json!({"userIds": ["singer-77"], "userBundleCodes": ["ATTUNU"]});
    for (method, path, body) in [
        (Method::GET, "/lease_/api/account/song-one/user-license".to_owned(), None),
        (Method::PUT, "/lease_/api/account/song-one/user-license".to_owned(), Some(users)),
        (Method::GET, "/lrm/api/account/song-one/account-license".to_owned(), None),
        (Method::GET, "/lrm/api/account/song-one/available-account-licenses".to_owned(), None),
        (Method::GET, "/lrm/api/account/song-one/service-license/prod/orchestrator".to_owned(), None),
        (Method::GET, "/identity_/api/Group/song-one".to_owned(), None),
        (Method::GET, "/song-one/identity_/api/User/singer-77".to_owned(), None),
        (Method::GET, format!("/lrm/api/host/{HOST}/organization/song-one/license/available"), None),
    ] {
        let answer = t.send(method.clone(), &path, Some(eve), body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {:#}", answer.body);
        if method == Method::GET {
            let own = t.send(method.clone(), &path, Some(&boss), None).await;
            assert_eq!(own.status, 200, "song-one's own admin reads {path}: {:#}", own.body);
        }
    }
}

#[tokio::test]
async fn deleting_a_user_through_identity_revokes_their_tokens() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    let deputy = json!({"id": "deputy", "role": "reader", "password": "the deputy's long password"});
    t.post(&host, "/api/v1/orgs/song-one/users", deputy).await.expect(201);
    let app = app_client(&t, &host, "song-one").await;
    let token = identity_login(&t, "song-one", &app, "deputy", "the deputy's long password").await;
    let (access, refresh) = (token["access_token"].as_str().unwrap(), token["refresh_token"].as_str().unwrap());
    t.get(access, "/api/v1/orgs/song-one/users").await.expect(200);

    t.delete(&boss, "/song-one/identity_/api/User/deputy").await.expect(204);
    assert_eq!(t.get(access, "/api/v1/orgs/song-one/users").await.status, 401, "the access token is revoked");
    let again = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let refused = t.http.post(t.url("/identity_/connect/token")).form(&again).send().await.unwrap();
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_grant", "and so is the refresh token");
}

#[tokio::test]
async fn bodies_not_sent_as_json_are_refused_415_and_change_nothing() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    let revision = |response: &reqwest::Response| response.headers()["allot-revision"].to_str().unwrap().to_owned();
    let before = t.http.get(t.url("/healthz")).send().await.unwrap();
    let before = revision(&before);
    for content_type in ["text/plain", "application/jsonx", "text/html+json"] {
        let response = t
            .http
            .put(t.url("/song-one/identity_/api/User/singer-99"))
            .bearer_auth(&boss)
            .header("content-type", content_type)
            .body(r#"{"name": "singer-99"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        assert_eq!(revision(&response), before, "{content_type} moved the revision");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unsupported_media_type", "{body}");
        let login = t
            .http
            .post(t.url("/api/account/authenticate"))
            .header("content-type", content_type)
            .body(r#"{"TenancyName": "host", "UsernameOrEmailAddress": "admin", "Password": "x"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 415, "{content_type}");
        let body: Value = login.json().await.unwrap();
        assert_eq!(body["success"], false, "UiPath's failure shape: {body}");
    }
}
