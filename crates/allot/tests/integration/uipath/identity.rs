//! The UiPath dialect's identity operations, against UiPath's definitions
//! (`definitions/identity.yaml`, `identity.token.yaml`): every operation with every
//! documented field, and with only the required ones.

use allot_api::{CreateGroup, Role};
use allot_core::OrgId;
use reqwest::Method;
use serde_json::{Value, json};

use super::shape::{Bool, DateTime, Int, Shape, Str, Uuid, array, assert_shape, map, nullable, object, one_of};
use super::{ORG_ADMIN_PASSWORD, app_client, host_buys, host_login, identity_login, song_one};
use crate::harness::{TestApp, person, spawn_app};

const GROUP_TYPES: &[&str] = &["builtIn", "custom"];
const USER_TYPES: &[&str] = &["user", "robot", "directoryUser", "directoryGroup", "robotAccount", "application"];
const STRONG: &str = "a long enough password";
const STRONGER: &str = "an even longer password";

/// DirectoryUser (DirectoryEntity's fields and its own).
fn directory_user() -> Shape {
    object(vec![
        ("objectType", Str),
        ("source", nullable(Str)),
        ("identifier", nullable(Str)),
        ("name", nullable(Str)),
        ("email", nullable(Str)),
        ("displayName", nullable(Str)),
        ("firstName", nullable(Str)),
        ("lastName", nullable(Str)),
        ("jobTitle", nullable(Str)),
        ("companyName", nullable(Str)),
        ("city", nullable(Str)),
        ("department", nullable(Str)),
        ("extensionUserAttributes", nullable(map(Str))),
        ("externalId", nullable(Str)),
        ("creationTime", DateTime),
    ])
}

fn group_dto() -> Shape {
    object(vec![
        ("id", Uuid),
        ("name", nullable(Str)),
        ("displayName", nullable(Str)),
        ("type", one_of(GROUP_TYPES)),
        ("creationTime", DateTime),
        ("lastModificationTime", nullable(DateTime)),
        ("members", nullable(array(directory_user()))),
    ])
}

fn user_dto() -> Shape {
    user_dto_with(Uuid)
}

/// UserDto, its `id` of `id`'s shape: the seed's users have the guide's ids (`singer-77`),
/// which are not UUIDs.
fn user_dto_with(id: Shape) -> Shape {
    object(vec![
        ("id", id),
        ("userName", nullable(Str)),
        ("email", nullable(Str)),
        ("emailConfirmed", Bool),
        ("name", nullable(Str)),
        ("surname", nullable(Str)),
        ("displayName", nullable(Str)),
        ("creationTime", DateTime),
        ("lastModificationTime", nullable(DateTime)),
        ("lastLoginTime", nullable(DateTime)),
        ("groupIDs", nullable(array(Uuid))),
        ("legacyId", Int),
        ("isActive", Bool),
        ("bypassBasicAuthRestriction", Bool),
        ("type", one_of(USER_TYPES)),
        ("invitationAccepted", Bool),
    ])
}

fn user_page() -> Shape {
    object(vec![("totalCount", Int), ("results", nullable(array(user_dto())))])
}

fn identity_result() -> Shape {
    object(vec![
        ("succeeded", Bool),
        ("errors", nullable(array(object(vec![("code", nullable(Str)), ("description", nullable(Str))])))),
    ])
}

/// song-one's global id, as UiPath names a partition.
fn partition() -> String {
    allot_server::compat::uipath::ids::account_uuid(&OrgId::parse("song-one").unwrap())
}

const ADA: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const BOB: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const TEAM: &str = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";

async fn setup() -> (TestApp, String, String) {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    (t, host, boss)
}

#[track_caller]
fn succeeded(answer: crate::harness::Answer) {
    let body = answer.expect(200);
    assert_shape(&body, &identity_result());
    assert_eq!(body, json!({"succeeded": true, "errors": []}));
}

#[track_caller]
fn failed(answer: crate::harness::Answer, code: &str) {
    let body = answer.expect(400);
    assert_shape(&body, &identity_result());
    assert_eq!((&body["succeeded"], &body["errors"][0]["code"]), (&json!(false), &json!(code)), "{body:#}");
}

/// Creates Ada and Bob (UUID ids), members of nothing.
async fn ada_and_bob(t: &TestApp, boss: &str) {
    for (id, name) in [(ADA, "Ada"), (BOB, "Bob")] {
        let user = json!({"id": id, "userName": name.to_lowercase(), "name": name, "partitionGlobalId": partition()});
        succeeded(t.post(boss, "/identity_/api/User", user).await);
    }
}

#[tokio::test]
async fn creating_a_group_with_every_field_answers_201_and_the_group_dto() {
    let (t, _, boss) = setup().await;
    ada_and_bob(&t, &boss).await;
    let body =
        json!({"partitionGlobalId": partition(), "id": TEAM, "name": "Team", "directoryUserMemberIDs": [ADA, BOB]});
    let created = t.post(&boss, "/identity_/api/Group", body).await.expect(201);
    assert_shape(&created, &group_dto());
    assert_eq!((&created["id"], &created["name"], &created["type"]), (&json!(TEAM), &json!("Team"), &json!("custom")));
    assert_eq!(created["lastModificationTime"], Value::Null, "made in one change: never modified since");
    let members: Vec<&Value> = created["members"].as_array().unwrap().iter().map(|m| &m["identifier"]).collect();
    assert_eq!(members, [ADA, BOB], "in order of joining");
    let ada = &created["members"][0];
    assert_eq!(
        (&ada["objectType"], &ada["name"], &ada["firstName"]),
        (&json!("DirectoryUser"), &json!("ada"), &json!("Ada"))
    );

    let again =
        t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Again"}));
    assert_eq!(again.await.status, 409, "ids are unique");
}

#[tokio::test]
async fn creating_a_group_with_only_a_name_gives_it_a_new_uuid() {
    let (t, _, boss) = setup().await;
    let created = t.post(&boss, "/song-one/identity_/api/Group", json!({"name": "Plain"})).await.expect(201);
    assert_shape(&created, &group_dto());
    let id = created["id"].as_str().unwrap();
    assert_eq!(&id[14..15], "4", "a random UUID: {id}");
    assert_eq!(created["members"], json!([]));
    let nameless = t.post(&boss, "/song-one/identity_/api/Group", json!({})).await;
    assert_eq!(nameless.status, 400, "{:#}", nameless.body);
    let unknown_field = t.post(&boss, "/song-one/identity_/api/Group", json!({"name": "X", "type": 1})).await;
    assert_eq!(unknown_field.status, 400);
}

#[tokio::test]
async fn listing_groups_answers_group_dtos_without_members_by_id_or_global_id() {
    let (t, host, boss) = setup().await;
    // A group made natively is answered with a UUID derived from its id, and found by it.
    let native = CreateGroup { id: "natives".into(), name: Some("Natives".into()) };
    t.client(&host).create_group("song-one", &native).await.unwrap();
    t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team"}))
        .await
        .expect(201);
    let all = t.get(&boss, &format!("/identity_/api/Group/{}", partition())).await.expect(200);
    assert_shape(&all, &array(group_dto()));
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(all.as_array().unwrap().iter().all(|g| g["members"].is_null()), "lists leave members out");
    let derived = all.as_array().unwrap().iter().find(|g| g["name"] == "Natives").unwrap()["id"].as_str().unwrap();
    let by_uuid = t.get(&boss, &format!("/identity_/api/Group/song-one/{derived}")).await.expect(200);
    let by_id = t.get(&boss, "/identity_/api/Group/song-one/natives").await.expect(200);
    assert_eq!(by_uuid, by_id);
    assert_shape(&by_uuid, &group_dto());

    // top and skip cut the same list.
    let page = t.get(&boss, "/identity_/api/Group/song-one?top=1&skip=1").await.expect(200);
    assert_eq!(page.as_array().unwrap(), &all.as_array().unwrap()[1..]);
    assert_eq!(t.get(&boss, "/identity_/api/Group/song-one?top=1001").await.status, 400);
}

#[tokio::test]
async fn updating_a_group_adds_and_removes_members_who_inherit_first_come_first_served() {
    let (t, host, boss) = setup().await;
    host_buys(&t, &host, &["ATTUNU"]).await;
    super::grant_org(&t, &host, &[("ATTUNU", 1)]).await;
    ada_and_bob(&t, &boss).await;
    t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team"}))
        .await
        .expect(201);
    t.put(
        &boss,
        &format!("/lease_/api/account/song-one/user-license/group/{TEAM}"),
        json!({"userBundleCodes": ["ATTUNU"]}),
    )
    .await
    .expect(200);

    // Every field: Ada joins first, so she holds the one unit; Bob waits.
    let body = json!({"partitionGlobalId": partition(), "name": "Team", "directoryUserIDsToAdd": [ADA, BOB], "directoryUserIDsToRemove": ["singer-77"]});
    let updated = t.put(&boss, &format!("/identity_/api/Group/{TEAM}"), body).await.expect(200);
    assert_shape(&updated, &group_dto());
    assert!(updated["lastModificationTime"].is_string());
    let pool = t.org_pool(&boss, "song-one", "ATTUNU").await;
    assert_eq!(pool, (1, 1), "one unit, taken");
    assert!(t.check(&boss, "song-one", ADA, "ATTUNU").await.allowed);
    assert!(!t.check(&boss, "song-one", BOB, "ATTUNU").await.allowed);

    // Only the required fields (none): nothing changes. Then Ada leaves and Bob moves up.
    let same = t.put(&boss, &format!("/song-one/identity_/api/Group/{TEAM}"), json!({})).await.expect(200);
    assert_eq!(same["members"], updated["members"]);
    let leave = json!({"directoryUserIDsToRemove": [ADA]});
    let after = t.put(&boss, &format!("/song-one/identity_/api/Group/{TEAM}"), leave).await.expect(200);
    assert_eq!(after["members"].as_array().unwrap().len(), 1);
    assert!(t.check(&boss, "song-one", BOB, "ATTUNU").await.allowed, "the waiting member is granted");

    let team = format!("/song-one/identity_/api/Group/{TEAM}");
    assert_eq!(t.put(&boss, &team, json!({"name": "Other"})).await.status, 400, "allot keeps group names");
    let replace = t.put(&boss, &team, json!({"directoryUserMemberIDs": [ADA]})).await;
    assert_eq!(replace.status, 400, "the update adds and removes; it does not replace");
    assert_eq!(t.put(&boss, &team, json!({"directoryUserIDsToAdd": ["ghost"]})).await.status, 404);
}

#[tokio::test]
async fn deleting_groups_one_or_in_bulk_answers_204_all_or_nothing() {
    let (t, _, boss) = setup().await;
    for (id, name) in [(TEAM, "Team"), (ADA, "Second"), (BOB, "Third")] {
        let body = json!({"partitionGlobalId": "song-one", "id": id, "name": name});
        t.post(&boss, "/identity_/api/Group", body).await.expect(201);
    }
    t.delete(&boss, &format!("/identity_/api/Group/{}/{TEAM}", partition())).await.expect(204);
    assert_eq!(t.get(&boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.status, 404);

    let path = format!("/identity_/api/Group/{}", partition());
    let with_unknown = json!({"groupIDs": [ADA, TEAM]});
    assert_eq!(t.send(Method::DELETE, &path, Some(&boss), Some(with_unknown)).await.status, 404);
    assert_eq!(t.get(&boss, &path).await.expect(200).as_array().unwrap().len(), 2, "nothing was deleted");
    t.send(Method::DELETE, &path, Some(&boss), Some(json!({"groupIDs": [ADA, BOB]}))).await.expect(204);
    assert_eq!(t.get(&boss, &path).await.expect(200), json!([]));
    // Only the required fields (none): nothing to delete.
    t.send(Method::DELETE, &path, Some(&boss), Some(json!({}))).await.expect(204);
}

#[tokio::test]
async fn creating_a_user_with_every_field_stores_and_answers_each() {
    let (t, _, boss) = setup().await;
    t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team"}))
        .await
        .expect(201);
    let body = json!({
        "id": ADA, "userName": "ada", "email": "ada@example.com", "name": "Ada", "surname": "Lovelace",
        "displayName": "Countess Ada", "type": "user", "bypassBasicAuthRestriction": true, "legacyId": 7,
        "invitationAccepted": true, "partitionGlobalId": partition(), "password": STRONG,
        "validatePassword": true, "groupIDs": [TEAM], "userLogins": []
    });
    succeeded(t.post(&boss, "/identity_/api/User", body).await);
    let ada = t.get(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.expect(200);
    assert_shape(&ada, &user_dto());
    let expected = [
        ("id", json!(ADA)),
        ("userName", json!("ada")),
        ("email", json!("ada@example.com")),
        ("name", json!("Ada")),
        ("surname", json!("Lovelace")),
        ("displayName", json!("Countess Ada")),
        ("groupIDs", json!([TEAM])),
        ("legacyId", json!(7)),
        ("isActive", json!(true)),
        ("bypassBasicAuthRestriction", json!(true)),
        ("type", json!("user")),
        ("invitationAccepted", json!(true)),
        ("lastModificationTime", Value::Null),
    ];
    for (field, value) in expected {
        assert_eq!(ada[field], value, "{field}");
    }
    let team = t.get(&boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.expect(200);
    assert_eq!(team["members"][0]["identifier"], ADA);

    let robot = json!({"id": BOB, "type": "robot", "partitionGlobalId": "song-one"});
    failed(t.post(&boss, "/identity_/api/User", robot).await, "invalid_body");
    let logins = json!({"id": BOB, "userLogins": [{"loginProvider": "saml"}], "partitionGlobalId": "song-one"});
    failed(t.post(&boss, "/identity_/api/User", logins).await, "invalid_body");
    let weak = json!({"id": BOB, "password": "short", "partitionGlobalId": "song-one"});
    assert_eq!(t.post(&boss, "/identity_/api/User", weak).await.status, 400);
    assert_eq!(t.get(&boss, &format!("/song-one/identity_/api/User/{BOB}")).await.status, 404, "nothing was made");
}

#[tokio::test]
async fn creating_a_user_with_only_the_required_fields_gives_a_new_uuid() {
    let (t, _, boss) = setup().await;
    succeeded(t.post(&boss, "/song-one/identity_/api/User", json!({})).await);
    let page = t.get(&boss, "/identity_/api/User/users/song-one?top=100").await.expect(200);
    let made: Vec<&Value> =
        page["results"].as_array().unwrap().iter().filter(|u| !u["id"].as_str().unwrap().contains("singer")).collect();
    let made = made.into_iter().find(|u| u["id"] != "boss").unwrap();
    assert_shape(made, &user_dto());
    let id = made["id"].as_str().unwrap();
    assert_eq!(&id[14..15], "4", "{id}");
    assert_eq!((&made["userName"], &made["name"], &made["groupIDs"]), (&json!(id), &json!(id), &json!([])));
}

#[tokio::test]
async fn bulk_creation_answers_an_identity_result_and_is_all_or_nothing() {
    let (t, _, boss) = setup().await;
    t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team"}))
        .await
        .expect(201);
    let full = |id: &str, name: &str| {
        json!({"id": id, "userName": name, "email": format!("{name}@example.com"), "name": name, "surname": "S",
            "displayName": name, "type": "user", "bypassBasicAuthRestriction": false, "legacyId": 1,
            "invitationAccepted": false})
    };
    let body =
        json!({"users": [full(ADA, "ada"), full(BOB, "bob")], "partitionGlobalId": partition(), "groupIDs": [TEAM]});
    succeeded(t.post(&boss, "/identity_/api/User/BulkCreate", body).await);
    let team = t.get(&boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.expect(200);
    assert_eq!(team["members"].as_array().unwrap().len(), 2, "both joined the command's group");

    // Only the required fields (none), with one user who repeats an id: nothing is made.
    let again = json!({"users": [{}, {"id": ADA}]});
    assert_eq!(t.post(&boss, "/song-one/identity_/api/User/BulkCreate", again).await.status, 409);
    let count = t.get(&boss, "/identity_/api/User/users/song-one").await.expect(200)["totalCount"].clone();
    assert_eq!(count, 6, "boss, three singers, Ada and Bob");
    succeeded(t.post(&boss, "/song-one/identity_/api/User/BulkCreate", json!({})).await);
}

#[tokio::test]
async fn reading_a_user_answers_the_user_dto() {
    let (t, _, boss) = setup().await;
    ada_and_bob(&t, &boss).await;
    let ada = t.get(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.expect(200);
    assert_shape(&ada, &user_dto());
    assert_eq!(
        (&ada["surname"], &ada["displayName"], &ada["emailConfirmed"]),
        (&Value::Null, &json!("Ada"), &json!(false))
    );
    assert_eq!(t.get(&boss, "/song-one/identity_/api/User/ghost").await.status, 404);
}

#[tokio::test]
async fn updating_a_user_with_every_field_answers_an_identity_result_and_stores_them() {
    let (t, host, boss) = setup().await;
    t.post(&boss, "/identity_/api/Group", json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team"}))
        .await
        .expect(201);
    // A reader, so the password and the active flag show at login.
    let reader = json!({"id": ADA, "role": "reader", "password": STRONG});
    t.post(&host, "/api/v1/orgs/song-one/users", reader).await.expect(201);
    let path = format!("/song-one/identity_/api/User/{ADA}");
    let body = json!({
        "name": "Ada", "surname": "Lovelace", "displayName": "Ada L.", "email": "ada@example.com",
        "isActive": true, "password": STRONGER, "groupIDsToAdd": [TEAM], "groupIDsToRemove": [],
        "bypassBasicAuthRestriction": true, "invitationAccepted": true,
        "extensionUserAttributesToAddOrUpdate": {"team": "blue", "floor": "3"},
        "extensionUserAttributesToRemove": ["floor"]
    });
    succeeded(t.put(&boss, &path, body).await);
    let ada = t.get(&boss, &path).await.expect(200);
    assert_shape(&ada, &user_dto());
    assert_eq!(
        (&ada["name"], &ada["surname"], &ada["displayName"]),
        (&json!("Ada"), &json!("Lovelace"), &json!("Ada L."))
    );
    assert_eq!((&ada["groupIDs"], &ada["bypassBasicAuthRestriction"]), (&json!([TEAM]), &json!(true)));
    assert!(ada["lastModificationTime"].is_string());
    let team = t.get(&boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.expect(200);
    assert_eq!(team["members"][0]["extensionUserAttributes"], json!({"team": "blue"}));
    let app = app_client(&t, &host, "song-one").await;
    identity_login(&t, "song-one", &app, ADA, STRONGER).await;

    // Only the required fields (none): nothing changes. Then Ada is deactivated and leaves.
    succeeded(t.put(&boss, &path, json!({})).await);
    assert_eq!(t.get(&boss, &path).await.expect(200)["surname"], "Lovelace");
    succeeded(t.put(&boss, &path, json!({"isActive": false, "groupIDsToRemove": [TEAM]})).await);
    let ada = t.get(&boss, &path).await.expect(200);
    assert_eq!((&ada["isActive"], &ada["groupIDs"]), (&json!(false), &json!([])));
    let form = [
        ("grant_type", "password"),
        ("username", ADA),
        ("password", STRONGER),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
    ];
    let refused = t.http.post(t.url("/identity_/connect/token")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 400, "an inactive user cannot log in");

    failed(t.put(&boss, &path, json!({"password": "short"})).await, "weak_password");
    assert_eq!(t.put(&boss, "/song-one/identity_/api/User/ghost", json!({})).await.status, 404);
}

#[tokio::test]
async fn changing_a_password_needs_the_current_one() {
    let (t, host, boss) = setup().await;
    let reader = json!({"id": ADA, "role": "reader", "password": STRONG});
    t.post(&host, "/api/v1/orgs/song-one/users", reader).await.expect(201);
    let path = format!("/song-one/identity_/api/User/{ADA}/changepassword");
    let wrong = json!({"oldPassword": "not the password", "newPassword": STRONGER});
    failed(t.post(&boss, &path, wrong).await, "PasswordMismatch");
    succeeded(t.post(&boss, &path, json!({"oldPassword": STRONG, "newPassword": STRONGER})).await);
    let app = app_client(&t, &host, "song-one").await;
    identity_login(&t, "song-one", &app, ADA, STRONGER).await;
    // Only the required fields (none): there is no new password to set.
    assert_eq!(t.post(&boss, &path, json!({})).await.status, 400);
}

#[tokio::test]
async fn listing_users_pages_searches_and_sorts() {
    let (t, _, boss) = setup().await;
    ada_and_bob(&t, &boss).await;
    let path = format!("/identity_/api/User/users/{}", partition());
    // Only the required fields: the first ten, in id order.
    let all = t.get(&boss, &path).await.expect(200);
    assert_shape(&all, &object(vec![("totalCount", Int), ("results", nullable(array(user_dto_with(Str))))]));
    assert_eq!(all["totalCount"], 6);
    let ids: Vec<&str> = all["results"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [ADA, BOB, "boss", "singer-111", "singer-77", "singer-88"]);
    // Every field: the search finds Ada and Bob (UUID ids, so the whole page has the documented shape).
    let page = t.get(&boss, &format!("{path}?searchTerm=O&top=1&skip=1&sortBy=name&sortOrder=desc")).await.expect(200);
    assert_shape(&page, &user_page());
    assert_eq!(page["totalCount"], 2, "bob and boss");
    let ordered = t.get(&boss, &format!("{path}?searchTerm=a&sortBy=name&sortOrder=asc")).await.expect(200);
    assert_eq!(ordered["results"][0]["name"], "Ada");
    assert_eq!(t.get(&boss, &format!("{path}?sortBy=shoeSize")).await.status, 400);
    assert_eq!(t.get(&boss, &format!("{path}?top=1001")).await.status, 400);
}

#[tokio::test]
async fn deleting_users_one_or_in_bulk_answers_204_all_or_nothing() {
    let (t, _, boss) = setup().await;
    ada_and_bob(&t, &boss).await;
    t.delete(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.expect(204);
    assert_eq!(t.get(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.status, 404);
    let with_unknown = json!({"partitionGlobalId": partition(), "userIds": [BOB, ADA]});
    assert_eq!(t.send(Method::DELETE, "/identity_/api/User", Some(&boss), Some(with_unknown)).await.status, 404);
    t.get(&boss, &format!("/song-one/identity_/api/User/{BOB}")).await.expect(200);
    let both = json!({"partitionGlobalId": partition(), "userIds": [BOB, "singer-77"]});
    t.send(Method::DELETE, "/identity_/api/User", Some(&boss), Some(both)).await.expect(204);
    assert_eq!(t.get(&boss, "/song-one/identity_/api/User/singer-77").await.status, 404);
    // Only the required fields (none): nothing to delete.
    t.send(Method::DELETE, "/song-one/identity_/api/User", Some(&boss), Some(json!({}))).await.expect(204);
}

#[tokio::test]
async fn the_password_grant_names_an_api_client_of_the_users_organization() {
    let (t, host, _) = setup().await;
    let app = app_client(&t, &host, "song-one").await;
    let (id, secret) = (app.client_id.as_str(), app.client_secret.as_str());
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = t.http.post(t.url(path)).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let form = |secret: Option<&str>| {
        let mut form = vec![
            ("grant_type", "password".to_owned()),
            ("username", "boss".to_owned()),
            ("password", ORG_ADMIN_PASSWORD.to_owned()),
            ("client_id", id.to_owned()),
        ];
        form.extend(secret.map(|s| ("client_secret", s.to_owned())));
        form
    };
    let (status, body) = post("/song-one/identity_/connect/token", form(None)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "client_secret is required");
    let (status, body) = post("/song-one/identity_/connect/token", form(Some("wrong"))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // Without an organization in the path, the client's is the user's.
    let (status, body) = post("/identity_/connect/token", form(Some(secret))).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["refresh_token"].is_string());

    t.client(&host).create_org(&allot_api::CreateOrg { id: "other".into(), name: None }).await.unwrap();
    t.client(&host).create_user("other", &person("boss", Role::Admin, ORG_ADMIN_PASSWORD)).await.unwrap();
    let (status, body) = post("/other/identity_/connect/token", form(Some(secret))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "another organization's client");
    // The native endpoint keeps its password grant without a client.
    let native = t.token_form(&[
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", crate::harness::ADMIN_PASSWORD),
    ]);
    native.await.expect(200);
}
