//! Groups: created, listed, read, their members added and removed, deleted.

use super::*;

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
    grant_org(&t, &host, &[("ATTUNU", 1)]).await;
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
    assert_shape(&same, &group_dto());
    assert_eq!(same["members"], updated["members"]);
    let leave = json!({"directoryUserIDsToRemove": [ADA]});
    let after = t.put(&boss, &format!("/song-one/identity_/api/Group/{TEAM}"), leave).await.expect(200);
    assert_eq!(after["members"].as_array().unwrap().len(), 1);
    assert!(t.check(&boss, "song-one", BOB, "ATTUNU").await.allowed, "the waiting member is granted");

    let team = format!("/song-one/identity_/api/Group/{TEAM}");
    let renamed = t.put(&boss, &team, json!({"name": "Builders"})).await.expect(200);
    assert_eq!((&renamed["name"], &renamed["displayName"]), (&json!("Builders"), &json!("Builders")));
    assert_eq!(t.get(&boss, &format!("/api/v1/orgs/song-one/groups/{TEAM}")).await.expect(200)["name"], "Builders");
    let ledger = t.get(&boss, "/api/v1/orgs/song-one/ledger?limit=1000").await.expect(200);
    let renames: Vec<&Value> =
        ledger["entries"].as_array().unwrap().iter().filter(|e| e["change"]["type"] == "group_renamed").collect();
    assert_eq!(renames.len(), 1, "one rename in the ledger: {renames:?}");
    assert_eq!((&renames[0]["change"]["before"], &renames[0]["change"]["after"]), (&json!("Team"), &json!("Builders")));
    assert_eq!(t.put(&boss, &team, json!({"name": " "})).await.status, 400, "a group keeps a name");
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
    assert_eq!(
        t.delete(&boss, &format!("/identity_/api/Group/{}/{TEAM}", partition())).await.expect(204),
        Value::Null,
        "no body"
    );
    assert_eq!(t.get(&boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.status, 404);

    let path = format!("/identity_/api/Group/{}", partition());
    let with_unknown = json!({"groupIDs": [ADA, TEAM]});
    assert_eq!(t.send(Method::DELETE, &path, Some(&boss), Some(with_unknown)).await.status, 404);
    assert_eq!(t.get(&boss, &path).await.expect(200).as_array().unwrap().len(), 2, "nothing was deleted");
    assert_eq!(
        t.send(Method::DELETE, &path, Some(&boss), Some(json!({"groupIDs": [ADA, BOB]}))).await.expect(204),
        Value::Null,
        "no body"
    );
    assert_eq!(t.get(&boss, &path).await.expect(200), json!([]));
    // Only the required fields (none): nothing to delete.
    assert_eq!(t.send(Method::DELETE, &path, Some(&boss), Some(json!({}))).await.expect(204), Value::Null, "no body");
}
