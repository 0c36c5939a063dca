//! Housekeeping: expired tokens, stored plans and idempotency keys are purged on a
//! schedule, a batch of each kind per tick, and counted in `/metrics`; what has not
//! expired stays and works.

use std::time::{Duration, Instant};

use allot_api::ErrorCode;
use allot_server::Config;
use allot_server::housekeeping::{self, Expired};
use allot_store::sql::{Sql as _, Value};

use crate::harness::{TestApp, give, licenses, refused, spawn_with};

const BOSS_PASSWORD: &str = "org admin password 1";

/// Every kind expires within two minutes of the test clock.
fn short_lived(config: &mut Config) {
    config.auth.access_token_ttl_secs = 60;
    config.auth.refresh_token_ttl_secs = 120;
    config.auth.session_idle_secs = 120;
    config.plan_ttl_secs = 60;
    config.idempotency_ttl_secs = 60;
    config.auth.lockout_secs = 60;
}

const PAST_EVERY_TTL: i64 = 121_000;

/// Rows of `table` (and `filter`), as the database has them.
async fn rows(t: &TestApp, table: &str, filter: &str) -> u64 {
    let count = format!("SELECT count(*) AS n FROM {table} WHERE {filter}");
    let answer = t.app.store.read(vec![(count, vec![])]).await.unwrap();
    match answer[0][0][0] {
        Value::Int(n) => u64::try_from(n).unwrap(),
        ref other => panic!("count(*) is {other:?}"),
    }
}

/// Rows of each kind, in the order of [`Expired::ALL`].
async fn stored(t: &TestApp) -> [u64; 7] {
    [
        rows(t, "tokens", "kind = 'access'").await,
        rows(t, "tokens", "kind = 'refresh'").await,
        rows(t, "tokens", "kind = 'session'").await,
        rows(t, "tokens", "kind = 'scim'").await,
        rows(t, "plans", "1 = 1").await,
        rows(t, "idempotency", "1 = 1").await,
        rows(t, "login_throttle", "1 = 1").await,
    ]
}

/// A wrong password for `user` of acme: its counters stay in the database.
async fn failed_login(t: &TestApp, user: &str) {
    let form = [("grant_type", "password"), ("organization", "acme"), ("username", user), ("password", "wrong!")];
    let answer = t.http.post(t.url("/oauth/token")).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 400, "{user}");
}

/// A console session of acme's admin: its token stays in the database.
async fn console_session(t: &TestApp) {
    let form = [("organization", "acme"), ("username", "acme-admin"), ("password", BOSS_PASSWORD)];
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = http.post(t.url("/console/sign-in")).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 303);
}

/// `count` SCIM tokens of a new API client of acme, expiring within a minute of the test clock.
async fn scim_tokens(t: &TestApp, boss: &str, count: usize) {
    let client = t.client(boss);
    let scim = allot_api::CreateClient { name: "idp".into(), scopes: vec!["scim".into()] };
    let created = client.create_client("acme", &scim).await.unwrap();
    let expires_at = allot_api::rfc3339(crate::harness::START + 60_000);
    let body = allot_api::CreateScimToken { expires_at: Some(expires_at) };
    for _ in 0..count {
        client.create_scim_token("acme", &created.client_id, &body).await.unwrap();
    }
}

/// `allot_purged_total` of each kind, in the order of [`Expired::ALL`].
async fn purged_in_metrics(t: &TestApp) -> [u64; 7] {
    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    Expired::ALL.map(|kind| {
        let series = format!("allot_purged_total{{kind=\"{}\"}} ", kind.label());
        let line = metrics.lines().find_map(|line| line.strip_prefix(&series));
        line.unwrap_or_else(|| panic!("no {series}in {metrics}")).parse().unwrap()
    })
}

#[tokio::test]
async fn expired_tokens_plans_and_idempotency_keys_are_purged_on_schedule_and_fresh_ones_still_work() {
    let t = spawn_with(|config| {
        short_lived(config);
        config.housekeeping_interval_secs = 1;
    })
    .await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a", "b", "c"]).await;
    let client = t.client(&boss);
    let stale_plan = client.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap().id.unwrap();
    client.set_user_licenses("acme", "b", &licenses(&["ATTUNU"])).idempotency_key("old-key").await.unwrap();
    console_session(&t).await;
    scim_tokens(&t, &boss, 1).await;
    let [access, refresh, sessions, scim, plans, keys, _] = stored(&t).await;
    let made = access >= 2 && refresh >= 2 && sessions == 1 && scim == 1 && plans == 1 && keys >= 1;
    assert!(made, "{:?}", stored(&t).await);
    assert_eq!(purged_in_metrics(&t).await, [0; 7], "nothing has expired yet");

    t.advance(PAST_EVERY_TTL);
    // Made after the clock moved: none of these has expired. The plan last, so that the
    // keyed write does not move the pool it was made on.
    let fresh = t.client(&t.login(Some("acme"), "acme-admin", BOSS_PASSWORD).await);
    let grant_c = || fresh.set_user_licenses("acme", "c", &licenses(&["ATTUNU"])).idempotency_key("fresh-key");
    assert!(!grant_c().answer().await.unwrap().replayed);
    let plan = fresh.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap().id.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The login counters are the tick test's: a fresh login may renew an old one.
        let purged = purged_in_metrics(&t).await;
        if purged[..6] == [access, refresh, sessions, scim, plans, keys] {
            break;
        }
        let stored = [access, refresh, sessions, scim, plans, keys];
        assert!(Instant::now() < deadline, "purged {purged:?} of {stored:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored(&t).await[..6], [1, 1, 0, 0, 1, 1], "only the fresh login's tokens, plan and key are left");
    assert!(grant_c().answer().await.unwrap().replayed, "the fresh key still replays");
    assert!(fresh.apply_plan("acme", &plan).await.unwrap().applied, "the fresh plan still applies");
    assert_eq!(refused(fresh.apply_plan("acme", &stale_plan).await), (404, ErrorCode::NotFound), "purged");
    assert_eq!(refused(client.org_pools("acme").await).0, 401, "the purged token is still refused");
}

#[tokio::test]
async fn a_tick_purges_at_most_the_batch_of_each_kind_and_counts_what_it_purged() {
    let t = spawn_with(|config| {
        short_lived(config);
        // No schedule: the test ticks by hand.
        config.housekeeping_interval_secs = 0;
        config.housekeeping_batch = 2;
    })
    .await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a", "b", "c"]).await;
    let client = t.client(&boss);
    for user in ["a", "b", "c"] {
        client.plan("acme", &give(&[user], &["ATTUNU"], false)).await.unwrap();
        let key = format!("key-{user}");
        client.set_user_licenses("acme", user, &licenses(&["ATTUNU"])).idempotency_key(&key).await.unwrap();
    }
    t.login(Some("acme"), "acme-admin", BOSS_PASSWORD).await;
    for user in ["nobody", "somebody", "anybody"] {
        failed_login(&t, user).await;
        console_session(&t).await;
    }
    scim_tokens(&t, &boss, 3).await;
    let before = stored(&t).await;
    assert!(before.iter().all(|n| *n >= 3), "{before:?}");

    t.advance(PAST_EVERY_TTL);
    let mut purged = [0; 7];
    for tick in 1..=before.iter().max().unwrap().div_ceil(2) + 1 {
        let counts = housekeeping::tick(&t.app).await;
        assert_eq!(counts.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(), Expired::ALL, "tick {tick}");
        for (at, (_, count)) in counts.into_iter().enumerate() {
            assert!(count <= 2, "tick {tick} purged {count} of {:?}", Expired::ALL[at]);
            assert_eq!(count, (before[at] - purged[at]).min(2), "tick {tick}, {:?}", Expired::ALL[at]);
            purged[at] += count;
        }
    }
    assert_eq!(purged, before, "every expired row, over the ticks");
    assert_eq!(stored(&t).await, [0; 7]);
    assert_eq!(purged_in_metrics(&t).await, before);
}

#[tokio::test]
async fn the_schedule_writes_checkpoints_that_check_ledger_finds_equal_to_the_ledger() {
    use allot_core::{Actor, Command, OrgId, UserId, UserProfile};
    use allot_store::Store as _;
    let t = spawn_with(|config| config.housekeeping_interval_secs = 1).await;
    let admin = t.admin().await;
    t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    // More of acme's entries than one checkpoint's worth, in one write.
    let org = OrgId::parse("acme").unwrap();
    let users = (0..allot_server::checkpoints::EVERY + 10).map(|i| Command::CreateUser {
        org: org.clone(),
        user: UserId::parse(&format!("u{i}")).unwrap(),
        profile: UserProfile::default(),
    });
    let actor = Actor { name: "test".into(), request_id: "many".into() };
    assert!(t.app.books.apply(&users.collect::<Vec<_>>(), &actor, crate::harness::START).await.unwrap().applied);

    let deadline = Instant::now() + Duration::from_secs(10);
    while t.app.store.checkpoint(&org.key(), u64::MAX >> 1).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "no checkpoint written on schedule");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let check = t.app.store.check_ledger().await.unwrap();
    assert!(check.checkpoints >= 1 && check.differences.is_empty(), "{check:?}");
}
