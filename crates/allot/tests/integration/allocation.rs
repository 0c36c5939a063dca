//! The invariant and the allocation rules, over HTTP.

use std::sync::Arc;

use allot_api::{Reason, Via};
use allot_store::Store;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::harness::{spawn_app, spawn_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn last_unit_goes_to_exactly_one_of_200_requests() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let users: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
    let user_refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let boss = t.org_with(&admin, "acme", &[("RPADEVNU", 1)], &user_refs).await;

    // All 200 wait at the barrier, then send at once.
    let start = Arc::new(Barrier::new(users.len()));
    let requests: Vec<_> = users
        .iter()
        .map(|user| {
            let (http, start, boss) = (t.http.clone(), start.clone(), boss.clone());
            let url = t.url(&format!("/api/v1/orgs/acme/users/{user}/licenses"));
            tokio::spawn(async move {
                start.wait().await;
                let response = http
                    .put(url)
                    .bearer_auth(boss)
                    .json(&json!({"licenses": [{"license": "RPADEVNU"}]}))
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    let won = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<_> = answers.iter().filter(|(status, _)| *status != 200).collect();
    assert_eq!(won, 1, "exactly one request wins the last unit");
    assert_eq!(refused.len(), 199);
    assert!(
        refused.iter().all(|(status, body)| *status == 409 && body["code"] == "license_limit_exceeded"),
        "{:?}",
        refused[0]
    );
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (1, 1));
    let check = t.app.store.check_ledger().await.unwrap();
    assert!(check.differences.is_empty(), "{:?}", check.differences);
}

#[tokio::test]
async fn a_batch_that_would_exceed_a_pool_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("RPADEVNU", 5), ("ATTUNU", 2)], &["a", "b", "c"]).await;
    let before_ledger = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200);
    let revision = before_ledger["entries"].as_array().unwrap().last().unwrap()["revision"].clone();

    let batch = json!({"apply": true, "changes": [
        {"op": "set_user_licenses", "users": ["a", "b", "c"], "licenses": [{"license": "RPADEVNU"}, {"license": "ATTUNU"}]}
    ]});
    let refused = t.post(&boss, "/api/v1/orgs/acme/plans", batch).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.content_type(), "application/problem+json");
    assert_eq!(refused.code(), "license_limit_exceeded");
    let violations = refused.body["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0]["license"], "ATTUNU");
    assert_eq!((violations[0]["available"].as_i64(), violations[0]["requested"].as_i64()), (Some(2), Some(3)));
    assert_eq!(refused.body["plan"]["applied"], false);

    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 0), "the RPADEVNU part was not applied either");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (2, 0));
    let after_ledger = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200);
    assert_eq!(before_ledger["entries"], after_ledger["entries"]);
    assert_eq!(refused.headers["allot-revision"].to_str().unwrap(), revision.to_string());
}

#[tokio::test]
async fn validate_shows_counts_before_and_after_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("TSTNU", 3)], &["a", "b"]).await;
    let plan =
        json!({"changes": [{"op": "set_user_licenses", "users": ["a", "b"], "licenses": [{"license": "TSTNU"}]}]});
    let answer = t.post(&boss, "/api/v1/orgs/acme/plans", plan.clone()).await.expect(200);
    assert_eq!((answer["possible"].clone(), answer["applied"].clone()), (json!(true), json!(false)));
    let pool = &answer["pools"][0];
    assert_eq!((pool["allocated_before"].as_i64(), pool["allocated_after"].as_i64()), (Some(0), Some(2)));
    assert_eq!(answer["holdings"].as_array().unwrap().len(), 2);
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (3, 0));

    let answer = t.post(&boss, "/api/v1/orgs/acme/plans", json!({"changes": [
        {"op": "set_user_licenses", "users": ["a", "b", "acme-admin"], "licenses": [{"license": "TSTNU"}]},
        {"op": "set_tenant_pool", "tenant": "nope", "service": "orchestrator", "license": "UNATT", "quantity": 1}
    ]})).await;
    assert_eq!(answer.status, 404, "an unknown tenant is named before planning: {:#}", answer.body);

    let applied =
        t.post(&boss, "/api/v1/orgs/acme/plans", json!({"apply": true, "changes": plan["changes"]})).await.expect(200);
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["revision"].as_u64(), Some(applied["base_revision"].as_u64().unwrap() + 1));
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (3, 2));
}

#[tokio::test]
async fn group_members_beyond_capacity_wait_and_are_granted_in_order_when_a_unit_frees() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2)], &["first", "second", "third", "fourth"]).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "devs"})).await.expect(201);
    for user in ["first", "second", "third", "fourth"] {
        t.post(&boss, "/api/v1/orgs/acme/groups/devs/members", json!({"user": user})).await.expect(201);
    }
    let rule =
        t.put(&boss, "/api/v1/orgs/acme/groups/devs/licenses", json!({"licenses": ["ATTUNU"]})).await.expect(200);
    assert_eq!(rule["licenses"], json!(["ATTUNU"]));

    assert_eq!(t.check(&boss, "acme", "second", "ATTUNU").await.via, Some(Via::Group));
    let third = t.check(&boss, "acme", "third", "ATTUNU").await;
    assert_eq!((third.allowed, third.reason, third.waiting_position), (false, Reason::Waiting, Some(1)));
    let fourth = t.get(&boss, "/api/v1/orgs/acme/users/fourth/licenses").await.expect(200);
    assert_eq!(fourth["waiting"], json!([{"license": "ATTUNU", "group": "devs", "position": 2}]));

    t.delete(&boss, "/api/v1/orgs/acme/groups/devs/members/first").await.expect(204);
    assert!(t.check(&boss, "acme", "third", "ATTUNU").await.allowed, "first in line gets the freed unit");
    assert_eq!(t.check(&boss, "acme", "fourth", "ATTUNU").await.waiting_position, Some(1));
    assert_eq!(t.check(&boss, "acme", "first", "ATTUNU").await.reason, Reason::PoolExhausted, "not held, no unit free");

    // A raised quantity grants the next in line too.
    t.put(&admin, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "ATTUNU", "quantity": 3}]}))
        .await
        .expect(200);
    assert!(t.check(&boss, "acme", "fourth", "ATTUNU").await.allowed);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (3, 3));
}

#[tokio::test]
async fn a_direct_holding_overrides_an_inherited_one() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["ann"]).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "g"})).await.expect(201);
    t.post(&boss, "/api/v1/orgs/acme/groups/g/members", json!({"user": "ann"})).await.expect(201);
    t.put(&boss, "/api/v1/orgs/acme/groups/g/licenses", json!({"licenses": ["ATTUNU"]})).await.expect(200);
    let inherited = t.get(&boss, "/api/v1/orgs/acme/users/ann/licenses").await.expect(200);
    assert_eq!(inherited["licenses"][0]["source"], "group");
    assert_eq!(inherited["licenses"][0]["group"], "g");

    let direct = t
        .put(&boss, "/api/v1/orgs/acme/users/ann/licenses", json!({"licenses": [{"license": "ATTUNU"}]}))
        .await
        .expect(200);
    assert_eq!(direct["licenses"][0]["source"], "direct");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1), "the override keeps the one unit");
    t.put(&boss, "/api/v1/orgs/acme/groups/g/licenses", json!({"licenses": []})).await.expect(200);
    assert_eq!(
        t.check(&boss, "acme", "ann", "ATTUNU").await.via,
        Some(Via::Direct),
        "the rule no longer reaches a direct holding"
    );
}

#[tokio::test]
async fn use_external_license_draws_no_unit() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("TSTNU", 1)], &["a", "b", "c"]).await;
    for user in ["a", "b"] {
        let body = json!({"licenses": [{"license": "TSTNU", "external": true}]});
        t.put(&boss, &format!("/api/v1/orgs/acme/users/{user}/licenses"), body).await.expect(200);
    }
    t.put(&boss, "/api/v1/orgs/acme/users/c/licenses", json!({"licenses": [{"license": "TSTNU"}]})).await.expect(200);
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (1, 1));
    let check = t.check(&boss, "acme", "a", "TSTNU").await;
    assert_eq!((check.allowed, check.external), (true, Some(true)));
    // A group rule with use_external_license grants every member without drawing units.
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "ext"})).await.expect(201);
    t.put(
        &boss,
        "/api/v1/orgs/acme/groups/ext/licenses",
        json!({"licenses": ["RPADEVNU"], "use_external_license": true}),
    )
    .await
    .expect(200);
    t.post(&boss, "/api/v1/orgs/acme/groups/ext/members", json!({"user": "a"})).await.expect(201);
    assert_eq!(t.check(&boss, "acme", "a", "RPADEVNU").await.external, Some(true));
}

#[tokio::test]
async fn a_check_reflects_an_applied_change_immediately() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("analytics:creator", 1), ("analytics:viewer", 1)], &["u"]).await;
    assert_eq!(t.check(&boss, "acme", "u", "analytics").await.reason, Reason::NotHeld);
    let written = t
        .put(&boss, "/api/v1/orgs/acme/users/u/licenses", json!({"licenses": [{"license": "analytics:viewer"}]}))
        .await
        .expect(200);
    let check = t.check(&boss, "acme", "u", "analytics").await;
    assert_eq!((check.allowed, check.capability.as_deref()), (true, Some("viewer")));
    assert_eq!(Some(check.revision), written["revision"].as_u64());
    assert!(!t.check(&boss, "acme", "u", "analytics:creator").await.allowed);
    assert_eq!(t.check(&boss, "acme", "ghost", "analytics").await.reason, Reason::UnknownUser);
    assert_eq!(t.check(&boss, "acme", "u", "NOPE").await.reason, Reason::UnknownLicense);
}

/// A small deterministic generator, so a failure can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test]
async fn the_ledger_replay_equals_the_stored_balances_after_a_random_workload() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let users = ["u0", "u1", "u2", "u3", "u4", "u5"];
    let licenses = ["ATTUNU", "RPADEVNU", "TSTNU", "UNATT"];
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 3), ("RPADEVNU", 2), ("TSTNU", 4), ("UNATT", 5)], &users).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "g"})).await.expect(201);
    t.post(&boss, "/api/v1/orgs/acme/tenants", json!({"id": "t1"})).await.expect(201);
    let mut rng = Xorshift(0x5eed_1234_abcd_0042);
    let mut outcomes = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..150 {
        let user = users[rng.below(users.len())];
        let answer = match rng.below(6) {
            0 | 1 => {
                let mut held = Vec::new();
                for license in &licenses[..3] {
                    if rng.below(2) == 0 {
                        held.push(json!({"license": license, "external": rng.below(5) == 0}));
                    }
                }
                t.put(&boss, &format!("/api/v1/orgs/acme/users/{user}/licenses"), json!({ "licenses": held })).await
            }
            2 => t.post(&boss, "/api/v1/orgs/acme/groups/g/members", json!({"user": user})).await,
            3 => t.delete(&boss, &format!("/api/v1/orgs/acme/groups/g/members/{user}")).await,
            4 => {
                let rule: Vec<&str> = licenses[..3].iter().copied().filter(|_| rng.below(2) == 0).collect();
                t.put(&boss, "/api/v1/orgs/acme/groups/g/licenses", json!({ "licenses": rule })).await
            }
            _ => {
                let body = json!({"pools": [{"license": "UNATT", "quantity": rng.below(7)}]});
                t.put(&boss, "/api/v1/orgs/acme/tenants/t1/services/orchestrator/pools", body).await
            }
        };
        assert!(answer.status.as_u16() < 500, "{:#}", answer.body);
        *outcomes.entry(answer.status.as_u16()).or_default() += 1;
    }
    assert!(outcomes.get(&200).copied().unwrap_or(0) + outcomes.get(&201).copied().unwrap_or(0) > 50, "{outcomes:?}");
    assert!(outcomes.get(&409).copied().unwrap_or(0) > 0, "the workload should hit the limits: {outcomes:?}");

    let check = t.app.store.check_ledger().await.unwrap();
    assert_eq!(check.differences, Vec::<String>::new());
    let stored = t.app.store.load().await.unwrap();
    let books = t.app.books.read();
    assert_eq!(stored.balances(), books.balances(), "memory equals the stored balances");
    for ((scope, license), pool) in books.balances() {
        assert!(pool.allocated <= pool.grant.quantity, "{scope:?} {license}: {pool:?}");
    }
}

#[tokio::test]
async fn a_restart_serves_the_same_books() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2)], &["a"]).await;
    t.put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": [{"license": "ATTUNU"}]})).await.expect(200);
    let before = t.app.books.read().balances();
    let revision = t.app.books.read().revision();
    // The first server stops and lets go of its books before the second starts.
    let (dir, config) = t.stop().await;
    let again = spawn_in(dir, config).await;
    assert_eq!(again.app.books.read().balances(), before);
    assert_eq!(again.app.books.read().revision(), revision);
    let admin = again.admin().await;
    assert!(again.check(&admin, "acme", "a", "ATTUNU").await.allowed);
    assert_eq!(again.org_pool(&admin, "acme", "ATTUNU").await, (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_follows_a_revision_larger_than_a_catch_up_page() {
    use allot_core::{Actor, Command, OrgId, UserId, UserProfile};
    let t = spawn_app().await;
    let admin = t.admin().await;
    t.post(&admin, "/api/v1/orgs", json!({"id": "big"})).await.expect(201);
    // A second `allot serve` on the same database, started before the big change; nothing
    // but its own follower tells it of the change.
    let own_dir = tempfile::tempdir().unwrap();
    let (second, address) = match t.config.database.as_str() {
        "" => crate::cluster::serve_process(None, t.dir.path()).await,
        database => crate::cluster::serve_process(Some(database), own_dir.path()).await,
    };
    let _second = crate::cluster::Killed(second);
    let org = OrgId::parse("big").unwrap();
    let commands: Vec<Command> = (0..5_200)
        .map(|i| Command::CreateUser {
            org: org.clone(),
            user: UserId::parse(&format!("u{i}")).unwrap(),
            profile: UserProfile::default(),
        })
        .collect();
    let actor = Actor { name: "test".into(), request_id: "big".into() };
    let outcome = t.app.books.apply(&commands, &actor, crate::harness::START).await.unwrap();
    assert!(outcome.applied);

    let token = crate::cluster::admin_token(&t.http, &address).await;
    let seen = std::time::Instant::now();
    loop {
        let health: Value = t.http.get(format!("{address}/healthz")).send().await.unwrap().json().await.unwrap();
        if health["revision"].as_u64() == Some(outcome.revision) {
            break;
        }
        assert!(seen.elapsed() < std::time::Duration::from_secs(20), "the second process did not follow: {health}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut users = 0;
    let mut after = String::new();
    loop {
        let url = format!("{address}/api/v1/orgs/big/users?limit=1000{after}");
        let page: Value = t.http.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        users += page["users"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(users, 5_200, "the second process serves every user of the big revision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_revision_catches_up_then_answers_and_refuses_a_revision_not_reached() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2)], &["a"]).await;
    // A second `allot serve` on the same database whose follower, after its first look,
    // waits ten minutes: only `?min_revision=` makes it catch up.
    let own_dir = tempfile::tempdir().unwrap();
    let slow = [("ALLOT_SYNC_INTERVAL_MS", "600000")];
    let (second, address) = match t.config.database.as_str() {
        "" => crate::cluster::serve_process_with(None, t.dir.path(), &slow).await,
        database => crate::cluster::serve_process_with(Some(database), own_dir.path(), &slow).await,
    };
    let _second = crate::cluster::Killed(second);
    let token = crate::cluster::admin_token(&t.http, &address).await;
    let written = t
        .put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": [{"license": "ATTUNU"}]}))
        .await
        .expect(200);
    let revision = written["revision"].as_u64().unwrap();

    let check = |query: String| {
        let url = format!("{address}/api/v1/orgs/acme/users/a/licenses/ATTUNU{query}");
        t.http.get(url).bearer_auth(&token).send()
    };
    let stale: Value = check(String::new()).await.unwrap().json().await.unwrap();
    assert_eq!(stale["allowed"], false, "without min_revision the second process answers what it has: {stale:#}");
    let fresh = check(format!("?min_revision={revision}")).await.unwrap();
    assert_eq!(fresh.status(), 200);
    let fresh: Value = fresh.json().await.unwrap();
    assert_eq!(fresh["allowed"], true, "{fresh:#}");
    assert!(fresh["revision"].as_u64().unwrap() >= revision, "{fresh:#}");

    // A revision the database has not reached: 503 with Retry-After, on either process.
    for base in [t.url(""), address.clone()] {
        let url = format!("{base}/api/v1/orgs/acme/pools?min_revision={}", revision + 1);
        let token = if base == address { &token } else { &admin };
        let refused = t.http.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(refused.status(), 503, "{base}");
        assert_eq!(refused.headers()["retry-after"], "1");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "unavailable", "{body:#}");
    }
    let malformed = t.get(&admin, "/api/v1/orgs/acme/pools?min_revision=soon").await;
    assert_eq!((malformed.status.as_u16(), malformed.code()), (400, "invalid_query"));
}

#[tokio::test]
async fn a_holding_expires_at_the_clocks_tick_and_the_first_waiting_member_gets_the_unit() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["temp", "first", "second"]).await;
    let until = crate::harness::START + 60_000;
    let until_text = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(until) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let timed = json!({"licenses": [{"license": "ATTUNU", "valid_until": until_text}]});
    t.put(&boss, "/api/v1/orgs/acme/users/temp/licenses", timed).await.expect(200);
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "g"})).await.expect(201);
    t.put(&boss, "/api/v1/orgs/acme/groups/g/licenses", json!({"licenses": ["ATTUNU"]})).await.expect(200);
    for user in ["first", "second"] {
        t.post(&boss, "/api/v1/orgs/acme/groups/g/members", json!({"user": user})).await.expect(201);
    }
    let first = t.check(&boss, "acme", "first", "ATTUNU").await;
    assert_eq!((first.reason, first.waiting_position), (Reason::Waiting, Some(1)));

    // The clock reaches the end: the server's own sweep ends the holding.
    t.advance(60_000);
    let mut granted = false;
    for _ in 0..100 {
        if t.check(&boss, "acme", "first", "ATTUNU").await.allowed {
            granted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(granted, "the first waiting member gets the freed unit");
    assert_eq!(t.check(&boss, "acme", "second", "ATTUNU").await.waiting_position, Some(1));
    assert_eq!(t.check(&boss, "acme", "temp", "ATTUNU").await.reason, Reason::PoolExhausted);
    let ledger = t.get(&boss, "/api/v1/orgs/acme/ledger?user=temp").await.expect(200);
    let last = ledger["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].clone(), last["at"].clone()),
        (json!("system:expiry"), json!(until_text)),
        "a ledger entry at the tick"
    );
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1));
}
