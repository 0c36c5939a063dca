//! PostgreSQL stops mid-load and comes back: requests fail fast and clean with 503, and
//! the processes recover by themselves. This test stops the shared test cluster, so
//! scripts/test runs it on its own, with ALLOT_TEST_PG_CTL naming how to stop and start it.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use allot_api::{ErrorCode, LedgerParams, Reason};
use reqwest::StatusCode;

use crate::cluster::Cluster;
use crate::harness::licenses;

fn pg_ctl(action: &str) {
    let control = std::env::var("ALLOT_TEST_PG_CTL")
        .expect("ALLOT_TEST_PG_CTL is not set: scripts/test sets it to the throwaway cluster's pg_ctlcluster");
    let mut words = control.split_whitespace();
    let program = words.next().unwrap();
    let status = Command::new(program)
        .args(words)
        .arg(action)
        .args(["-m", "fast"].iter().filter(|_| action == "stop"))
        .status()
        .unwrap();
    assert!(status.success(), "{control} {action} failed");
}

/// One answer seen by a client: its refusal, if it was one, and how long it took.
type Seen = (Option<allot_client::Error>, Duration);

/// A read that must be refused: the refusal, and how long it took.
async fn refusal<T: std::fmt::Debug>(
    read: impl std::future::IntoFuture<Output = allot_client::Result<T>>,
) -> (allot_client::Error, Duration) {
    let asked = Instant::now();
    let answer = read.await;
    (answer.expect_err("refused while the database is away"), asked.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_postgres_mid_load_fails_fast_and_clean_and_recovers_without_a_restart() {
    let cluster = Arc::new(Cluster::start(2, None).await);
    let admin = cluster.admin().await;
    // u0..u7 take turns at 4 units; u8 holds one throughout and u9 none.
    cluster.org(&admin, "ATTUNU", 5, 10).await;
    cluster.client(0, &admin).set_user_licenses("acme", "u8", &licenses(&["ATTUNU"])).await.unwrap();
    cluster.sync().await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (api, stop) = (cluster.client(i % 2, &admin), stop.clone());
            tokio::spawn(async move {
                let mut seen: Vec<Seen> = Vec::new();
                let mut hold = true;
                while !stop.load(Ordering::Relaxed) {
                    let held: &[&str] = if hold { &["ATTUNU"] } else { &[] };
                    let started = Instant::now();
                    let refused = api.set_user_licenses("acme", &format!("u{i}"), &licenses(held)).await.err();
                    let unavailable =
                        refused.as_ref().and_then(|e| e.status()) == Some(StatusCode::SERVICE_UNAVAILABLE);
                    if refused.is_none() {
                        hold = !hold;
                    }
                    seen.push((refused, started.elapsed()));
                    if unavailable {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                seen
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    pg_ctl("stop");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = cluster.http.get(format!("{}/readyz", cluster.addresses[0])).send().await.unwrap();
    assert_eq!(ready.status(), 503, "/readyz reports the database is away");
    // Checks and present-time holders are answered from memory: they go on, with the
    // books as they were.
    for process in 0..2 {
        let api = cluster.client(process, &admin);
        let now = allot_api::HoldersQuery { license: "ATTUNU".into(), as_of: None };
        let holders = api.holders("acme", &now).await.unwrap();
        assert!(holders.holders.iter().any(|h| h.user == "u8"), "process {process}: {holders:?}");
        // u9's denial says whether a unit is free, which the load decides.
        for (user, allowed, reasons) in
            [("u8", true, &[Reason::Held][..]), ("u9", false, &[Reason::NotHeld, Reason::PoolExhausted])]
        {
            let check = api.check("acme", user, "ATTUNU").await.unwrap();
            assert_eq!(check.allowed, allowed, "{user} on process {process}: {check:?}");
            assert!(reasons.contains(&check.reason), "{check:?}");
        }
    }
    // Database reads (the ledger, the past replayed from it, the API clients) are not
    // served from memory: 503 with Retry-After, within 5 seconds, on every process.
    for process in 0..2 {
        let api = cluster.client(process, &admin);
        let ledger = LedgerParams { limit: Some(10), ..LedgerParams::default() };
        let moment = "2026-01-01T00:00:00Z".to_owned();
        let past = allot_api::HoldersQuery { license: "ATTUNU".into(), as_of: Some(moment) };
        for (read, (refused, took)) in [
            ("the ledger", refusal(api.ledger("acme", &ledger)).await),
            ("the holders in the past", refusal(api.holders("acme", &past)).await),
            ("the API clients", refusal(api.clients("acme")).await),
        ] {
            assert_eq!(
                (refused.status(), refused.code()),
                (Some(StatusCode::SERVICE_UNAVAILABLE), Some(ErrorCode::Unavailable)),
                "process {process}, {read}: {refused}"
            );
            assert!(
                refused.retry_after().is_some_and(|s| s >= 1),
                "process {process}, {read}: 503 with Retry-After, not {:?}",
                refused.retry_after()
            );
            assert!(took < Duration::from_secs(5), "process {process}, {read}: answered after {took:?}");
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg_ctl("start");

    // Service resumes by itself: a write succeeds on every process within a few seconds.
    let back = Instant::now();
    for process in 0..2 {
        let api = cluster.client(process, &admin);
        loop {
            let written = api.set_user_licenses("acme", "u7", &licenses(&[])).await;
            let Err(error) = written else { break };
            assert!(back.elapsed() < Duration::from_secs(20), "process {process} did not recover: {error}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);

    let mut unavailable = 0;
    for client in clients {
        for (refused, took) in client.await.unwrap() {
            assert!(took < Duration::from_secs(5), "an answer took {took:?}");
            let Some(refused) = refused else { continue };
            match (refused.status().map(|s| s.as_u16()), refused.code()) {
                (Some(409), code) => assert_eq!(code, Some(ErrorCode::LicenseLimitExceeded), "{refused}"),
                (Some(503), code) => {
                    unavailable += 1;
                    assert!(refused.retry_after().is_some(), "503 without Retry-After");
                    assert_eq!(code, Some(ErrorCode::Unavailable), "{refused}");
                }
                _ => panic!("unexpected {refused}"),
            }
        }
    }
    assert!(unavailable > 0, "the outage was seen");
    let ready = cluster.http.get(format!("{}/readyz", cluster.addresses[0])).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    cluster.check_ledger().await;
}
