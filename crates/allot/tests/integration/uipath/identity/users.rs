//! Users: created (one or in bulk), read (one or a page), updated, given new passwords, deleted.

use super::*;

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
    let nothing = t.post(&boss, &path, json!({})).await.expect(400);
    assert_shape(&nothing, &identity_result());
    assert_eq!(nothing["succeeded"], false, "{nothing:#}");
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
    assert_eq!(
        t.delete(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.expect(204),
        Value::Null,
        "no body"
    );
    assert_eq!(t.get(&boss, &format!("/song-one/identity_/api/User/{ADA}")).await.status, 404);
    let with_unknown = json!({"partitionGlobalId": partition(), "userIds": [BOB, ADA]});
    assert_eq!(t.send(Method::DELETE, "/identity_/api/User", Some(&boss), Some(with_unknown)).await.status, 404);
    t.get(&boss, &format!("/song-one/identity_/api/User/{BOB}")).await.expect(200);
    let both = json!({"partitionGlobalId": partition(), "userIds": [BOB, "singer-77"]});
    assert_eq!(
        t.send(Method::DELETE, "/identity_/api/User", Some(&boss), Some(both)).await.expect(204),
        Value::Null,
        "no body"
    );
    assert_eq!(t.get(&boss, "/song-one/identity_/api/User/singer-77").await.status, 404);
    // Only the required fields (none): nothing to delete.
    assert_eq!(
        t.send(Method::DELETE, "/song-one/identity_/api/User", Some(&boss), Some(json!({}))).await.expect(204),
        Value::Null,
        "no body"
    );
}
