//! PostgreSQL stops mid-load and comes back: requests fail fast and clean with 503, and
//! the processes recover by themselves. This test stops the shared test cluster, so
//! scripts/test runs it on its own, with ALLOT_TEST_PG_CTL naming how to stop and start it.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::Cluster;

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

/// One answer seen by a client: status, whether Retry-After came with it, and how long it took.
type Seen = (u16, bool, Duration, Value);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_postgres_mid_load_fails_fast_and_clean_and_recovers_without_a_restart() {
    let cluster = Arc::new(Cluster::start(2, None).await);
    let admin = cluster.admin().await;
    // u0..u7 take turns at 4 units; u8 holds one throughout and u9 none.
    cluster.org(&admin, "ATTUNU", 5, 10).await;
    let steady = json!({"licenses": [{"license": "ATTUNU"}]});
    let (status, _) =
        cluster.send(0, reqwest::Method::PUT, "/api/v1/orgs/acme/users/u8/licenses", &admin, Some(steady)).await;
    assert_eq!(status, 200);
    cluster.sync().await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (cluster, admin, stop) = (cluster.clone(), admin.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen: Vec<Seen> = Vec::new();
                let mut hold = true;
                while !stop.load(Ordering::Relaxed) {
                    let licenses = if hold { json!([{"license": "ATTUNU"}]) } else { json!([]) };
                    let url = format!("{}/api/v1/orgs/acme/users/u{i}/licenses", cluster.addresses[i % 2]);
                    let started = Instant::now();
                    let response = cluster
                        .http
                        .put(url)
                        .bearer_auth(&admin)
                        .json(&json!({ "licenses": licenses }))
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if status == 200 {
                        hold = !hold;
                    }
                    seen.push((status, retry_after, started.elapsed(), body));
                    if status == 503 {
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
    // Checks are answered from memory: they go on, with the books as they were.
    for process in 0..2 {
        // u9's denial says whether a unit is free, which the load decides.
        for (user, allowed, reasons) in [("u8", true, &["held"][..]), ("u9", false, &["not_held", "pool_exhausted"])] {
            let path = format!("/api/v1/orgs/acme/users/{user}/licenses/ATTUNU");
            let (status, check) = cluster.send(process, reqwest::Method::GET, &path, &admin, None).await;
            assert_eq!(status, 200, "{check:#}");
            assert_eq!(check["allowed"], allowed, "{user} on process {process}: {check:#}");
            assert!(reasons.contains(&check["reason"].as_str().unwrap()), "{check:#}");
        }
    }
    // Database reads (the ledger, the past replayed from it, the API clients) are not
    // served from memory: 503 with Retry-After, within 5 seconds, on every process.
    for process in 0..2 {
        for path in [
            "/api/v1/orgs/acme/ledger?limit=10",
            "/api/v1/orgs/acme/holders?license=ATTUNU",
            "/api/v1/orgs/acme/clients",
        ] {
            let url = format!("{}{path}", cluster.addresses[process]);
            let asked = Instant::now();
            let response =
                cluster.http.get(url).bearer_auth(&admin).timeout(Duration::from_secs(30)).send().await.unwrap();
            let took = asked.elapsed();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, body["code"].as_str()),
                (503, Some("unavailable")),
                "process {process}, {path}: {body:#}"
            );
            assert!(
                retry_after.as_deref().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1),
                "process {process}, {path}: 503 with Retry-After, not {retry_after:?}"
            );
            assert!(took < Duration::from_secs(5), "process {process}, {path}: answered after {took:?}");
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg_ctl("start");

    // Service resumes by itself: a write succeeds on every process within a few seconds.
    let back = Instant::now();
    for process in 0..2 {
        loop {
            let body = json!({"licenses": []});
            let (status, _) = cluster
                .send(process, reqwest::Method::PUT, "/api/v1/orgs/acme/users/u7/licenses", &admin, Some(body))
                .await;
            if status == 200 {
                break;
            }
            assert!(back.elapsed() < Duration::from_secs(20), "process {process} did not recover: {status}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);

    let mut unavailable = 0;
    for client in clients {
        for (status, retry_after, took, body) in client.await.unwrap() {
            assert!(took < Duration::from_secs(5), "an answer took {took:?}");
            match status {
                200 => {}
                409 => assert_eq!(body["code"], "license_limit_exceeded", "{body:#}"),
                503 => {
                    unavailable += 1;
                    assert!(retry_after, "503 without Retry-After");
                    assert_eq!(body["code"], "unavailable", "{body:#}");
                }
                other => panic!("unexpected {other}: {body:#}"),
            }
        }
    }
    assert!(unavailable > 0, "the outage was seen");
    let ready = cluster.http.get(format!("{}/readyz", cluster.addresses[0])).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    cluster.check_ledger().await;
}
