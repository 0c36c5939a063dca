//! The invariant and the allocation rules, over HTTP.

use std::sync::Arc;

use allot_api::{
    CreateOrg, CreateTenant, ErrorCode, GroupRule, LedgerParams, LicenseSpec, PageQuery, Reason, SetUserLicenses, Via,
};
use allot_store::Store;
use serde_json::Value;
use tokio::sync::Barrier;

use crate::harness::{give, group, held, licenses, pools, refused, rule, spawn_app, spawn_in};

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
            let (client, start, user) = (t.client(&boss), start.clone(), user.clone());
            tokio::spawn(async move {
                start.wait().await;
                client.set_user_licenses("acme", &user, &licenses(&["RPADEVNU"])).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    let (won, lost): (Vec<_>, Vec<_>) = answers.into_iter().partition(Result::is_ok);
    assert_eq!(won.len(), 1, "exactly one request wins the last unit");
    assert_eq!(lost.len(), 199);
    let refusals: Vec<_> = lost.into_iter().map(refused).collect();
    assert!(refusals.iter().all(|r| *r == (409, ErrorCode::LicenseLimitExceeded)), "{refusals:?}");
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (1, 1));
    let check = t.app.store.check_ledger().await.unwrap();
    assert!(check.differences.is_empty(), "{:?}", check.differences);
}

#[tokio::test]
async fn a_batch_that_would_exceed_a_pool_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("RPADEVNU", 5), ("ATTUNU", 2)], &["a", "b", "c"]).await;
    let client = t.client(&boss);
    let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
    let before_ledger = client.ledger("acme", &all).await.unwrap();
    let revision = before_ledger.entries.last().unwrap().revision;

    let batch = give(&["a", "b", "c"], &["RPADEVNU", "ATTUNU"], true);
    let error = client.plan("acme", &batch).await.unwrap_err();
    // The client takes a refusal for a problem only when it comes as application/problem+json.
    let problem = error.problem().expect("a problem+json answer");
    assert_eq!((error.status().unwrap().as_u16(), problem.code), (409, ErrorCode::LicenseLimitExceeded));
    let violations = problem.violations.as_ref().unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].license.as_deref(), Some("ATTUNU"));
    assert_eq!((violations[0].available, violations[0].requested), (Some(2), Some(3)));
    assert!(!problem.plan.as_ref().unwrap().applied);

    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 0), "the RPADEVNU part was not applied either");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (2, 0));
    let after_ledger = client.ledger("acme", &all).await.unwrap();
    assert_eq!(before_ledger.entries, after_ledger.entries);
    assert_eq!(error.revision(), Some(revision));
}

#[tokio::test]
async fn validate_shows_counts_before_and_after_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("TSTNU", 3)], &["a", "b"]).await;
    let client = t.client(&boss);
    let answer = client.plan("acme", &give(&["a", "b"], &["TSTNU"], false)).await.unwrap();
    assert_eq!((answer.possible, answer.applied), (true, false));
    let pool = &answer.pools[0];
    assert_eq!((pool.allocated_before, pool.allocated_after), (0, 2));
    assert_eq!(answer.holdings.len(), 2);
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (3, 0));

    let mut unknown_tenant = give(&["a", "b", "acme-admin"], &["TSTNU"], false);
    unknown_tenant.changes.push(allot_api::PlanChange::SetTenantPool {
        tenant: "nope".into(),
        service: "orchestrator".into(),
        license: "UNATT".into(),
        quantity: 1,
        valid_from: None,
        valid_until: None,
    });
    let error = client.plan("acme", &unknown_tenant).await.unwrap_err();
    assert_eq!(error.status().unwrap(), 404, "an unknown tenant is named before planning: {error}");

    let applied = client.plan("acme", &give(&["a", "b"], &["TSTNU"], true)).await.unwrap();
    assert!(applied.applied);
    assert_eq!(applied.revision, applied.base_revision + 1);
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (3, 2));
}

#[tokio::test]
async fn group_members_beyond_capacity_wait_and_are_granted_in_order_when_a_unit_frees() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2)], &["first", "second", "third", "fourth"]).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("devs")).await.unwrap();
    for user in ["first", "second", "third", "fourth"] {
        client.add_member("acme", "devs", user).await.unwrap();
    }
    let devs = client.set_group_rule("acme", "devs", &rule(&["ATTUNU"])).await.unwrap();
    assert_eq!(devs.licenses, ["ATTUNU"]);

    assert_eq!(t.check(&boss, "acme", "second", "ATTUNU").await.via, Some(Via::Group));
    let third = t.check(&boss, "acme", "third", "ATTUNU").await;
    assert_eq!((third.allowed, third.reason, third.waiting_position), (false, Reason::Waiting, Some(1)));
    let fourth = client.user_licenses("acme", "fourth").await.unwrap();
    let waiting: Vec<_> = fourth.waiting.iter().map(|w| (w.license.as_str(), w.group.as_str(), w.position)).collect();
    assert_eq!(waiting, [("ATTUNU", "devs", 2)]);

    client.remove_member("acme", "devs", "first").await.unwrap();
    assert!(t.check(&boss, "acme", "third", "ATTUNU").await.allowed, "first in line gets the freed unit");
    assert_eq!(t.check(&boss, "acme", "fourth", "ATTUNU").await.waiting_position, Some(1));
    assert_eq!(t.check(&boss, "acme", "first", "ATTUNU").await.reason, Reason::PoolExhausted, "not held, no unit free");

    // A raised quantity grants the next in line too.
    t.client(&admin).set_org_pools("acme", &pools(&[("ATTUNU", 3)])).await.unwrap();
    assert!(t.check(&boss, "acme", "fourth", "ATTUNU").await.allowed);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (3, 3));
}

#[tokio::test]
async fn a_direct_holding_overrides_an_inherited_one() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["ann"]).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("g")).await.unwrap();
    client.add_member("acme", "g", "ann").await.unwrap();
    client.set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    let inherited = client.user_licenses("acme", "ann").await.unwrap();
    assert_eq!(inherited.licenses[0].source, Via::Group);
    assert_eq!(inherited.licenses[0].group.as_deref(), Some("g"));

    let direct = client.set_user_licenses("acme", "ann", &licenses(&["ATTUNU"])).await.unwrap();
    assert_eq!(direct.licenses[0].source, Via::Direct);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1), "the override keeps the one unit");
    client.set_group_rule("acme", "g", &rule(&[])).await.unwrap();
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
    let client = t.client(&boss);
    for user in ["a", "b"] {
        let body = SetUserLicenses { licenses: vec![LicenseSpec { external: true, ..held("TSTNU") }] };
        client.set_user_licenses("acme", user, &body).await.unwrap();
    }
    client.set_user_licenses("acme", "c", &licenses(&["TSTNU"])).await.unwrap();
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (1, 1));
    let check = t.check(&boss, "acme", "a", "TSTNU").await;
    assert_eq!((check.allowed, check.external), (true, Some(true)));
    // A group rule with use_external_license grants every member without drawing units.
    client.create_group("acme", &group("ext")).await.unwrap();
    let external = GroupRule { use_external_license: true, ..rule(&["RPADEVNU"]) };
    client.set_group_rule("acme", "ext", &external).await.unwrap();
    client.add_member("acme", "ext", "a").await.unwrap();
    assert_eq!(t.check(&boss, "acme", "a", "RPADEVNU").await.external, Some(true));
}

#[tokio::test]
async fn a_check_reflects_an_applied_change_immediately() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("analytics:creator", 1), ("analytics:viewer", 1)], &["u"]).await;
    assert_eq!(t.check(&boss, "acme", "u", "analytics").await.reason, Reason::NotHeld);
    let written = t.client(&boss).set_user_licenses("acme", "u", &licenses(&["analytics:viewer"])).await.unwrap();
    let check = t.check(&boss, "acme", "u", "analytics").await;
    assert_eq!((check.allowed, check.capability.as_deref()), (true, Some("viewer")));
    assert_eq!(check.revision, written.revision);
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
    let client = t.client(&boss);
    client.create_group("acme", &group("g")).await.unwrap();
    client.create_tenant("acme", &CreateTenant { id: "t1".into(), name: None }).await.unwrap();
    let mut rng = Xorshift(0x5eed_1234_abcd_0042);
    let mut outcomes = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..150 {
        let user = users[rng.below(users.len())];
        // Each change with the status its success answers.
        let (success, answer) = match rng.below(6) {
            0 | 1 => {
                let mut held_now = Vec::new();
                for license in &licenses[..3] {
                    if rng.below(2) == 0 {
                        held_now.push(LicenseSpec { external: rng.below(5) == 0, ..held(license) });
                    }
                }
                let body = SetUserLicenses { licenses: held_now };
                (200, client.set_user_licenses("acme", user, &body).await.map(drop))
            }
            2 => (201, client.add_member("acme", "g", user).await.map(drop)),
            3 => (204, client.remove_member("acme", "g", user).await),
            4 => {
                let codes: Vec<&str> = licenses[..3].iter().copied().filter(|_| rng.below(2) == 0).collect();
                (200, client.set_group_rule("acme", "g", &rule(&codes)).await.map(drop))
            }
            _ => {
                let quantity = i64::try_from(rng.below(7)).unwrap();
                let body = pools(&[("UNATT", quantity)]);
                (200, client.set_service_pools("acme", "t1", "orchestrator", &body).await.map(drop))
            }
        };
        let status = match answer {
            Ok(()) => success,
            Err(error) => error.status().map(|s| s.as_u16()).unwrap_or_else(|| panic!("{error}")),
        };
        assert!(status < 500, "{status}");
        *outcomes.entry(status).or_default() += 1;
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
    t.client(&boss).set_user_licenses("acme", "a", &licenses(&["ATTUNU"])).await.unwrap();
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
    t.client(&admin).create_org(&CreateOrg { id: "big".into(), name: None }).await.unwrap();
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

    let second = crate::cluster::admin_client(&t.http, &address).await;
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
    let mut after = None;
    loop {
        let page = second.users("big", &PageQuery { limit: Some(1000), after }).await.unwrap();
        users += page.users.len();
        match page.next {
            Some(next) => after = Some(next),
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
    let second = crate::cluster::admin_client(&t.http, &address).await;
    let written = t.client(&boss).set_user_licenses("acme", "a", &licenses(&["ATTUNU"])).await.unwrap();
    let revision = written.revision;

    let stale = second.check("acme", "a", "ATTUNU").await.unwrap();
    assert!(!stale.allowed, "without min_revision the second process answers what it has: {stale:?}");
    let fresh = second.check("acme", "a", "ATTUNU").min_revision(revision).await.unwrap();
    assert!(fresh.allowed, "{fresh:?}");
    assert!(fresh.revision >= revision, "{fresh:?}");

    // A revision the database has not reached: 404 `revision_not_found` at once, on either
    // process; waiting would not bring it.
    for process in [t.client(&admin), second] {
        let error = process.org_pools("acme").min_revision(revision + 1).await.unwrap_err();
        let answer = (error.status().unwrap().as_u16(), error.code());
        assert_eq!(answer, (404, Some(ErrorCode::RevisionNotFound)), "{error}");
        assert_eq!(error.retry_after(), None, "{process:?}");
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
    let client = t.client(&boss);
    let timed =
        SetUserLicenses { licenses: vec![LicenseSpec { valid_until: Some(until_text.clone()), ..held("ATTUNU") }] };
    client.set_user_licenses("acme", "temp", &timed).await.unwrap();
    client.create_group("acme", &group("g")).await.unwrap();
    client.set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    for user in ["first", "second"] {
        client.add_member("acme", "g", user).await.unwrap();
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
    let ledger = client.ledger("acme", &LedgerParams { user: Some("temp".into()), ..LedgerParams::default() }).await;
    let ledger = ledger.unwrap();
    let last = ledger.entries.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.at.as_str()),
        ("system:expiry", until_text.as_str()),
        "a ledger entry at the tick"
    );
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1));
}
