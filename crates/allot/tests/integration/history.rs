//! The past from the ledger: as_of answers equal what the books said at that moment.

use std::collections::BTreeMap;

use allot_api::{HoldersQuery, UsageQuery, UserLicenses};
use serde_json::Value;

use crate::harness::{START, group, licenses, refused, rule, spawn_app};

fn at(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// What the live API said at one moment: each user's (licenses, waiting), and the holders.
type Snapshot = (BTreeMap<&'static str, Value>, Value);

/// The parts of an answer that describe the books, not the moment of asking.
fn licenses_of(answer: &UserLicenses) -> Value {
    serde_json::to_value((&answer.licenses, &answer.waiting)).unwrap()
}

#[tokio::test]
async fn as_of_answers_match_the_books_at_random_past_moments() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let users = ["u0", "u1", "u2", "u3"];
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2), ("TSTNU", 3)], &users).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("g")).await.unwrap();
    client.set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    let attunu = |as_of: Option<String>| HoldersQuery { license: "ATTUNU".into(), as_of };

    // After each step, at a later second, record what the live API says.
    let mut seen: BTreeMap<i64, Snapshot> = BTreeMap::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for step in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let user = users[(seed % 4) as usize];
        t.advance(1000);
        // Refusals (a member again, a unit short) are part of the workload.
        let _ = match (seed >> 8) % 4 {
            0 => client.add_member("acme", "g", user).await.map(drop),
            1 => client.remove_member("acme", "g", user).await,
            2 => client.set_user_licenses("acme", user, &licenses(&["TSTNU"])).await.map(drop),
            _ => client.set_user_licenses("acme", user, &licenses(&["ATTUNU"])).await.map(drop),
        };
        let now = START + (step + 1) * 1000;
        let mut per_user = BTreeMap::new();
        for u in users {
            per_user.insert(u, licenses_of(&client.user_licenses("acme", u).await.unwrap()));
        }
        let holders = serde_json::to_value(client.holders("acme", &attunu(None)).await.unwrap().holders).unwrap();
        seen.insert(now, (per_user, holders));
    }
    t.advance(1000);
    let distinct: std::collections::BTreeSet<String> = seen.values().map(|v| format!("{v:?}")).collect();
    assert!(distinct.len() > 5, "the workload should move the books: {} distinct states", distinct.len());
    for (moment, (per_user, holders)) in seen.iter().step_by(3) {
        // Half a second later: the same books, as nothing was committed in between.
        let when = at(moment + 500);
        for u in users {
            let past = client.user_licenses_as_of("acme", u, &when).await.unwrap();
            assert_eq!(licenses_of(&past), per_user[u], "{u} at {when}");
        }
        let past = client.holders("acme", &attunu(Some(when.clone()))).await.unwrap();
        assert_eq!(&serde_json::to_value(past.holders).unwrap(), holders, "holders at {when}");
    }
    let before_any = at(START - 3_600_000);
    let too_early = client.user_licenses_as_of("acme", "u0", &before_any).await;
    assert_eq!(refused(too_early).0, 404, "u0 did not exist yet");
    let not_a_time = client.holders("acme", &attunu(Some("yesterday".into()))).await;
    assert_eq!(refused(not_a_time).0, 400);

    // Usage over time ends at the pool as it is now.
    let usage = client.usage("acme", &UsageQuery { license: "ATTUNU".into(), ..UsageQuery::default() }).await;
    let usage = usage.unwrap();
    let last = usage.points.last().unwrap();
    let (quantity, allocated) = t.org_pool(&boss, "acme", "ATTUNU").await;
    assert_eq!((last.quantity, last.allocated), (quantity, allocated));
    assert!(usage.points.len() > 3);
}
