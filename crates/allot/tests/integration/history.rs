//! The past from the ledger: as_of answers equal what the books said at that moment.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::{START, spawn_app};

fn at(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// What the live API said at one moment: each user's (licenses, waiting), and the holders.
type Snapshot = (BTreeMap<&'static str, (Value, Value)>, Value);

/// The parts of an answer that describe the books, not the moment of asking.
fn licenses_of(answer: &Value) -> (Value, Value) {
    (answer["licenses"].clone(), answer["waiting"].clone())
}

#[tokio::test]
async fn as_of_answers_match_the_books_at_random_past_moments() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let users = ["u0", "u1", "u2", "u3"];
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2), ("TSTNU", 3)], &users).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "g"})).await.expect(201);
    t.put(&boss, "/api/v1/orgs/acme/groups/g/licenses", json!({"licenses": ["ATTUNU"]})).await.expect(200);

    // After each step, at a later second, record what the live API says.
    let mut seen: BTreeMap<i64, Snapshot> = BTreeMap::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for step in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let user = users[(seed % 4) as usize];
        t.advance(1000);
        match (seed >> 8) % 4 {
            0 => t.post(&boss, "/api/v1/orgs/acme/groups/g/members", json!({"user": user})).await,
            1 => t.delete(&boss, &format!("/api/v1/orgs/acme/groups/g/members/{user}")).await,
            2 => {
                t.put(
                    &boss,
                    &format!("/api/v1/orgs/acme/users/{user}/licenses"),
                    json!({"licenses": [{"license": "TSTNU"}]}),
                )
                .await
            }
            _ => {
                t.put(
                    &boss,
                    &format!("/api/v1/orgs/acme/users/{user}/licenses"),
                    json!({"licenses": [{"license": "ATTUNU"}]}),
                )
                .await
            }
        };
        let now = START + (step + 1) * 1000;
        let mut per_user = BTreeMap::new();
        for u in users {
            per_user.insert(
                u,
                licenses_of(&t.get(&boss, &format!("/api/v1/orgs/acme/users/{u}/licenses")).await.expect(200)),
            );
        }
        let holders = t.get(&boss, "/api/v1/orgs/acme/holders?license=ATTUNU").await.expect(200)["holders"].clone();
        seen.insert(now, (per_user, holders));
    }
    t.advance(1000);
    let distinct: std::collections::BTreeSet<String> = seen.values().map(|v| format!("{v:?}")).collect();
    assert!(distinct.len() > 5, "the workload should move the books: {} distinct states", distinct.len());
    for (moment, (per_user, holders)) in seen.iter().step_by(3) {
        // Half a second later: the same books, as nothing was committed in between.
        let when = at(moment + 500);
        for u in users {
            let past = t.get(&boss, &format!("/api/v1/orgs/acme/users/{u}/licenses?as_of={when}")).await.expect(200);
            assert_eq!(licenses_of(&past), per_user[u], "{u} at {when}");
        }
        let past = t.get(&boss, &format!("/api/v1/orgs/acme/holders?license=ATTUNU&as_of={when}")).await.expect(200);
        assert_eq!(&past["holders"], holders, "holders at {when}");
    }
    let before_any = at(START - 3_600_000);
    assert_eq!(
        t.get(&boss, &format!("/api/v1/orgs/acme/users/u0/licenses?as_of={before_any}")).await.status,
        404,
        "u0 did not exist yet"
    );
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme/holders?license=ATTUNU&as_of=yesterday").await.status, 400);

    // Usage over time ends at the pool as it is now.
    let usage = t.get(&boss, "/api/v1/orgs/acme/usage?license=ATTUNU").await.expect(200);
    let last = usage["points"].as_array().unwrap().last().unwrap().clone();
    let (quantity, allocated) = t.org_pool(&boss, "acme", "ATTUNU").await;
    assert_eq!((last["quantity"].as_i64(), last["allocated"].as_i64()), (Some(quantity), Some(allocated)));
    assert!(usage["points"].as_array().unwrap().len() > 3);
}
