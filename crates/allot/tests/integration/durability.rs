//! Durability is not traded for speed: every change allot acknowledged survives `kill -9`
//! of the server in the middle of a stream of writes, that is, group commit answers only
//! after the transaction committed. (`kill -9` leaves the kernel's page cache alone, so this
//! proves "acknowledged means committed", not the fsync; `synchronous=FULL` is what makes a
//! commit survive the machine.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use allot_api::CreateOrg;
use allot_core::Change;
use allot_store::{LedgerQuery, Store};

use crate::cluster::{Killed, admin_client, serve_process};
use crate::harness::{licenses, member, pools};

const USERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::harness::scratch_database().await;
    let (server, address) = serve_process(database.as_deref(), dir.path()).await;
    let mut server = Killed(server);
    let http = reqwest::Client::new();
    let admin = admin_client(&http, &address).await;
    admin.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    admin.set_host_pools(&pools(&[("ATTUNU", 1000)])).await.unwrap();
    admin.set_org_pools("acme", &pools(&[("ATTUNU", 1000)])).await.unwrap();
    for user in 0..USERS {
        admin.create_user("acme", &member(&format!("u{user}"))).await.unwrap();
    }

    // Each client toggles its user's license until a request fails; it counts the
    // acknowledged ones (whole answers). At most one request per client is in flight when
    // the server dies.
    let acknowledged: Arc<Vec<AtomicU64>> = Arc::new((0..USERS).map(|_| AtomicU64::new(0)).collect());
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..USERS)
        .map(|user| {
            let (admin, acknowledged, killed) = (admin.clone(), acknowledged.clone(), killed.clone());
            tokio::spawn(async move {
                loop {
                    let take = acknowledged[user].load(Ordering::SeqCst) % 2 == 0;
                    let held: &[&str] = if take { &["ATTUNU"] } else { &[] };
                    match admin.set_user_licenses("acme", &format!("u{user}"), &licenses(held)).await {
                        Ok(_) => acknowledged[user].fetch_add(1, Ordering::SeqCst),
                        // No answer: the server is gone.
                        Err(allot_client::Error::Http(_)) => return,
                        Err(refused) => {
                            assert!(killed.load(Ordering::SeqCst), "u{user}: {refused} before the kill");
                            return;
                        }
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
    let pools = admin_client(&http, &address).await.org_pools("acme").await.unwrap();
    let allocated = pools.pools.iter().find(|p| p.license == "ATTUNU").unwrap().allocated;
    assert_eq!(allocated, pool.allocated);
}
