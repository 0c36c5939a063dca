//! Creation and modification times: the store keeps them with each change, so they are
//! the changes' times on every read, and the same after a restart, on either backend.

use allot_api::rfc3339;

use super::*;
use crate::harness::{START, spawn_in};

/// Every read that dates Ada, Bob and Team, as (what, creationTime, lastModificationTime).
async fn dates(t: &TestApp, boss: &str) -> Vec<(String, Value, Value)> {
    let mut dates = Vec::new();
    let mut keep = |what: &str, dto: &Value| {
        dates.push((what.to_owned(), dto["creationTime"].clone(), dto["lastModificationTime"].clone()));
    };
    for user in [ADA, BOB] {
        keep(user, &t.get(boss, &format!("/song-one/identity_/api/User/{user}")).await.expect(200));
    }
    for sort in ["sortBy=name", "sortBy=id&sortOrder=desc", "searchTerm=ADA"] {
        let page = t.get(boss, &format!("/identity_/api/User/users/song-one?top=100&{sort}")).await.expect(200);
        for user in
            page["results"].as_array().unwrap().iter().filter(|u| [ADA, BOB].contains(&u["id"].as_str().unwrap()))
        {
            keep(&format!("{sort}: {}", user["id"]), user);
        }
    }
    let team = t.get(boss, &format!("/identity_/api/Group/song-one/{TEAM}")).await.expect(200);
    keep("team", &team);
    for member in team["members"].as_array().unwrap() {
        keep(&format!("member {}", member["identifier"]), member);
    }
    let groups = t.get(boss, "/identity_/api/Group/song-one").await.expect(200);
    keep("listed team", groups.as_array().unwrap().iter().find(|g| g["id"] == TEAM).unwrap());
    dates
}

#[tokio::test]
async fn users_and_groups_are_dated_by_their_changes_and_keep_their_dates_across_a_restart() {
    let (t, _, boss) = setup().await;
    ada_and_bob(&t, &boss).await;
    t.advance(1_000);
    let team = json!({"partitionGlobalId": "song-one", "id": TEAM, "name": "Team", "directoryUserMemberIDs": [ADA]});
    t.post(&boss, "/identity_/api/Group", team).await.expect(201);
    t.advance(1_000);
    succeeded(t.put(&boss, &format!("/song-one/identity_/api/User/{BOB}"), json!({"name": "Robert"})).await);
    t.advance(1_000);
    let join = json!({"partitionGlobalId": "song-one", "directoryUserIDsToAdd": [BOB]});
    t.put(&boss, &format!("/identity_/api/Group/{TEAM}"), join).await.expect(200);

    let at = |offset: i64| json!(rfc3339(START + offset));
    let (ada, bob) = ((at(0), at(1_000)), (at(0), at(3_000)));
    let mut expected =
        vec![(ADA.to_owned(), ada.0.clone(), ada.1.clone()), (BOB.to_owned(), bob.0.clone(), bob.1.clone())];
    // By name Ada comes first, by id descending Bob (7c9e…) before Ada (0f8f…); the search finds Ada.
    for (sort, users) in
        [("sortBy=name", [ADA, BOB].as_slice()), ("sortBy=id&sortOrder=desc", &[BOB, ADA]), ("searchTerm=ADA", &[ADA])]
    {
        for user in users {
            let (created, modified) = if *user == ADA { ada.clone() } else { bob.clone() };
            expected.push((format!("{sort}: \"{user}\""), created, modified));
        }
    }
    expected.push(("team".into(), at(1_000), at(3_000)));
    // A member's DirectoryUser has a creation time only.
    expected.push((format!("member \"{ADA}\""), at(0), Value::Null));
    expected.push((format!("member \"{BOB}\""), at(0), Value::Null));
    expected.push(("listed team".into(), at(1_000), at(3_000)));
    let before = dates(&t, &boss).await;
    assert_eq!(before, expected);

    let (dir, config) = t.stop().await;
    let again = spawn_in(dir, config).await;
    assert_eq!(dates(&again, &boss).await, before, "the dates are the store's, not the process's");
}
