//! Durability is not traded for speed: every change allot acknowledged survives `kill -9`
//! of the server in the middle of a stream of writes, that is, group commit answers only
//! after the transaction committed. (`kill -9` leaves the kernel's page cache alone, so this
//! proves "acknowledged means committed", not the fsync; `synchronous=FULL` is what makes a
//! commit survive the machine.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use allot_core::Change;
use allot_store::{LedgerQuery, Store};
use serde_json::{Value, json};

use crate::cluster::{Killed, admin_token, serve_process};

const USERS: usize = 32;

async fn put(http: &reqwest::Client, url: String, token: &str, body: Value) -> reqwest::Result<reqwest::StatusCode> {
    http.put(url).bearer_auth(token).json(&body).send().await.map(|r| r.status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::harness::scratch_database().await;
    let (server, address) = serve_process(database.as_deref(), dir.path()).await;
    let mut server = Killed(server);
    let http = reqwest::Client::new();
    let token = admin_token(&http, &address).await;
    let post = |path: &str, body: Value| http.post(format!("{address}{path}")).bearer_auth(&token).json(&body).send();
    assert!(post("/api/v1/orgs", json!({"id": "acme"})).await.unwrap().status().is_success());
    let pools = json!({"pools": [{"license": "ATTUNU", "quantity": 1000}]});
    assert!(put(&http, format!("{address}/api/v1/host/pools"), &token, pools.clone()).await.unwrap().is_success());
    assert!(put(&http, format!("{address}/api/v1/orgs/acme/pools"), &token, pools).await.unwrap().is_success());
    for user in 0..USERS {
        assert!(
            post("/api/v1/orgs/acme/users", json!({"id": format!("u{user}")})).await.unwrap().status().is_success()
        );
    }

    // Each client toggles its user's license until a request fails; it counts the
    // acknowledged ones. At most one request per client is in flight when the server dies.
    let acknowledged: Arc<Vec<AtomicU64>> = Arc::new((0..USERS).map(|_| AtomicU64::new(0)).collect());
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..USERS)
        .map(|user| {
            let (http, token, acknowledged, killed) =
                (http.clone(), token.clone(), acknowledged.clone(), killed.clone());
            let url = format!("{address}/api/v1/orgs/acme/users/u{user}/licenses");
            tokio::spawn(async move {
                loop {
                    let take = acknowledged[user].load(Ordering::SeqCst) % 2 == 0;
                    let held = if take { json!([{"license": "ATTUNU"}]) } else { json!([]) };
                    match put(&http, url.clone(), &token, json!({ "licenses": held })).await {
                        Ok(status) if status.is_success() => acknowledged[user].fetch_add(1, Ordering::SeqCst),
                        Ok(status) => {
                            assert!(killed.load(Ordering::SeqCst), "u{user}: {status} before the kill");
                            return;
                        }
                        Err(_) => return,
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    killed.store(true, Ordering::SeqCst);
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let total: u64 = acknowledged.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert!(total > 100, "only {total} changes were acknowledged before the kill");

    // The database as the killed server left it.
    let mut config = crate::harness::test_config(dir.path());
    config.database = database.clone().unwrap_or_default();
    let store = allot_server::open_store(&config).await.unwrap();
    let check = store.check_ledger().await.unwrap();
    assert!(check.differences.is_empty(), "{:?}", check.differences);
    let state = store.load().await.unwrap();
    let pool = state.org("acme").unwrap().pool(&allot_core::LicenseKey::parse("ATTUNU").unwrap());
    let mut holders = 0;
    for user in 0..USERS {
        let acked = acknowledged[user].load(Ordering::SeqCst);
        let query = LedgerQuery {
            org: Some(allot_core::OrgKey::of("acme")),
            user: Some(format!("u{user}")),
            limit: u32::MAX,
            ..LedgerQuery::default()
        };
        let entries = store.ledger(query).await.unwrap();
        let changes = entries.iter().filter(|e| matches!(e.change, Change::HoldingSet { .. })).count() as u64;
        // Every acknowledged change is there; at most the one in flight is there besides.
        assert!(changes == acked || changes == acked + 1, "u{user}: {acked} acknowledged, {changes} stored");
        let holds = state
            .org("acme")
            .unwrap()
            .users
            .iter()
            .any(|(id, u)| id.as_str() == format!("u{user}") && !u.holdings.is_empty());
        assert_eq!(holds, changes % 2 == 1, "u{user}: {changes} toggles stored");
        holders += i64::from(holds);
    }
    assert_eq!(pool.allocated, holders, "the pool counts exactly the stored holders");
    drop(store);

    // A restarted server serves those books.
    let (restarted, address) = serve_process(database.as_deref(), dir.path()).await;
    let _restarted = Killed(restarted);
    let token = admin_token(&http, &address).await;
    let answer: Value = http
        .get(format!("{address}/api/v1/orgs/acme/pools"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let allocated =
        answer["pools"].as_array().unwrap().iter().find(|p| p["license"] == "ATTUNU").unwrap()["allocated"].clone();
    assert_eq!(allocated, json!(pool.allocated));
}
