//! Several `allot serve` processes on one PostgreSQL database: they stay correct together.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use allot_store::sql::Sql;
use allot_store::{PgStore, Store};
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, postgres_url};

/// `allot serve` processes sharing one scratch database; killed when dropped.
pub struct Cluster {
    pub url: String,
    pub addresses: Vec<String>,
    pub http: reqwest::Client,
    children: Vec<Child>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `allot serve` on `database` (else SQLite in `dir`) and answers it with the
/// address it listens on.
pub async fn serve_process(database: Option<&str>, dir: &std::path::Path) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir);
    if let Some(database) = database {
        command.args(["--database", database]);
    }
    let mut child = command
        .env("ALLOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ALLOT_LOG_LEVEL", "warn")
        .env("ALLOT_AUTH__ARGON2_MEMORY_KIB", "1024")
        .env("ALLOT_AUTH__ARGON2_ITERATIONS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let address = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(address) = line.strip_prefix("allot: listening on ") {
                return address.to_owned();
            }
        }
        panic!("allot serve exited before listening");
    })
    .await
    .unwrap();
    (child, address)
}

impl Cluster {
    pub async fn start(processes: usize, url: Option<String>) -> Cluster {
        let url = match url {
            Some(url) => url,
            None => allot_store::postgres::scratch_database(&postgres_url()).await.unwrap(),
        };
        let mut cluster = Cluster {
            url,
            addresses: Vec::new(),
            http: reqwest::Client::new(),
            children: Vec::new(),
            _dirs: Vec::new(),
        };
        for _ in 0..processes {
            cluster.spawn_process().await;
        }
        cluster
    }

    async fn spawn_process(&mut self) {
        let dir = tempfile::tempdir().unwrap();
        let (child, address) = serve_process(Some(&self.url), dir.path()).await;
        self.addresses.push(address);
        self.children.push(child);
        self._dirs.push(dir);
    }

    pub async fn send(
        &self,
        process: usize,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.addresses[process % self.addresses.len()]);
        let mut request = self.http.request(method, url).bearer_auth(token).timeout(Duration::from_secs(10));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin(&self) -> String {
        let form = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)];
        let body: Value = self
            .http
            .post(format!("{}/oauth/token", self.addresses[0]))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An organization with `quantity` of `license` and users `u0..u{users}`.
    pub async fn org(&self, admin: &str, license: &str, quantity: i64, users: usize) {
        use reqwest::Method;
        let expect = |answer: (u16, Value), status: u16| assert_eq!(answer.0, status, "{:#}", answer.1);
        expect(self.send(0, Method::POST, "/api/v1/orgs", admin, Some(json!({"id": "acme"}))).await, 201);
        let pools = json!({"pools": [{"license": license, "quantity": 1_000_000}]});
        expect(self.send(0, Method::PUT, "/api/v1/host/pools", admin, Some(pools)).await, 200);
        let pools = json!({"pools": [{"license": license, "quantity": quantity}]});
        expect(self.send(0, Method::PUT, "/api/v1/orgs/acme/pools", admin, Some(pools)).await, 200);
        let users: Vec<String> = (0..users).map(|i| format!("u{i}")).collect();
        for user in users {
            expect(self.send(0, Method::POST, "/api/v1/orgs/acme/users", admin, Some(json!({"id": user}))).await, 201);
        }
        self.sync().await;
    }

    /// Waits until every process has seen what process 0 has (through `min_revision`).
    pub async fn sync(&self) {
        let health: Value =
            self.http.get(format!("{}/healthz", self.addresses[0])).send().await.unwrap().json().await.unwrap();
        let revision = health["revision"].as_u64().unwrap();
        for address in &self.addresses {
            let url = format!("{address}/healthz?min_revision={revision}");
            assert_eq!(self.http.get(url).send().await.unwrap().status(), 200);
        }
    }

    pub async fn check_ledger(&self) {
        let store = PgStore::open(&self.url).await.unwrap();
        let check = store.check_ledger().await.unwrap();
        assert_eq!(check.differences, Vec::<String>::new(), "balances equal the ledger's replay");
    }
}

/// Pools over their quantity right now, read straight from the database.
async fn over_allocated(store: &PgStore) -> Vec<String> {
    let rows = store
        .read(vec![("SELECT scope, license FROM pools WHERE allocated > quantity".to_owned(), vec![])])
        .await
        .unwrap();
    rows.concat().iter().map(|r| format!("{r:?}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_unit_goes_to_exactly_one_of_200_requests_spread_over_three_processes() {
    let cluster = Arc::new(Cluster::start(3, None).await);
    let admin = cluster.admin().await;
    cluster.org(&admin, "RPADEVNU", 1, 200).await;
    let start = Arc::new(tokio::sync::Barrier::new(200));
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let (cluster, admin, start) = (cluster.clone(), admin.clone(), start.clone());
            tokio::spawn(async move {
                let body = json!({"licenses": [{"license": "RPADEVNU"}]});
                start.wait().await;
                cluster
                    .send(
                        i,
                        reqwest::Method::PUT,
                        &format!("/api/v1/orgs/acme/users/u{i}/licenses"),
                        &admin,
                        Some(body),
                    )
                    .await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert!(status == 200 || (status == 409 && body["code"] == "license_limit_exceeded"), "{status}: {body:#}");
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get(&200), Some(&1), "{statuses:?}");
    cluster.check_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_on_one_process_is_seen_by_checks_on_another_within_a_second() {
    use reqwest::Method;
    let cluster = Cluster::start(2, None).await;
    let admin = cluster.admin().await;
    cluster.org(&admin, "ATTUNU", 5, 2).await;
    let body = json!({"licenses": [{"license": "ATTUNU"}]});
    let (status, written) =
        cluster.send(0, Method::PUT, "/api/v1/orgs/acme/users/u0/licenses", &admin, Some(body)).await;
    assert_eq!(status, 200);
    let revision = written["revision"].as_u64().unwrap();

    // Passing the revision of the write: never older state, on any process.
    let path = format!("/api/v1/orgs/acme/users/u0/licenses/ATTUNU?min_revision={revision}");
    let (status, check) = cluster.send(1, Method::GET, &path, &admin, None).await;
    assert_eq!((status, check["allowed"].clone()), (200, json!(true)), "{check:#}");
    assert!(check["revision"].as_u64().unwrap() >= revision);

    // Without it: seen within a second.
    let body = json!({"licenses": [{"license": "ATTUNU"}]});
    cluster.send(1, Method::PUT, "/api/v1/orgs/acme/users/u1/licenses", &admin, Some(body)).await;
    let written_at = Instant::now();
    loop {
        let (_, check) = cluster.send(0, Method::GET, "/api/v1/orgs/acme/users/u1/licenses/ATTUNU", &admin, None).await;
        if check["allowed"] == true {
            break;
        }
        assert!(written_at.elapsed() < Duration::from_secs(1), "not seen within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) =
        cluster.send(0, Method::GET, "/api/v1/orgs/acme/pools?min_revision=999999", &admin, None).await;
    assert_eq!((status, body["code"].clone()), (503, json!("unavailable")), "a revision that never comes: 503");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hot_pool_under_mixed_load_from_64_clients_on_three_processes_never_over_allocates() {
    const CLIENTS: usize = 64;
    let soak = Duration::from_secs(std::env::var("ALLOT_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20));
    let cluster = Arc::new(Cluster::start(3, None).await);
    let admin = cluster.admin().await;
    cluster.org(&admin, "ATTUNU", 16, CLIENTS).await;
    let store = PgStore::open(&cluster.url).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (granted, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (cluster, admin, stop) = (cluster.clone(), admin.clone(), stop.clone());
            let (granted, refused) = (granted.clone(), refused.clone());
            tokio::spawn(async move {
                let path = format!("/api/v1/orgs/acme/users/u{i}/licenses");
                let mut hold = true;
                let mut server_errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let licenses = if hold { json!([{"license": "ATTUNU"}]) } else { json!([]) };
                    let (status, body) = cluster
                        .send(i, reqwest::Method::PUT, &path, &admin, Some(json!({ "licenses": licenses })))
                        .await;
                    match status {
                        200 => {
                            granted.fetch_add(1, Ordering::Relaxed);
                            hold = !hold;
                        }
                        409 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            assert_eq!(body["code"], "license_limit_exceeded", "{body:#}");
                        }
                        _ => server_errors.push((status, body)),
                    }
                }
                server_errors
            })
        })
        .collect();
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < soak {
        assert_eq!(over_allocated(&store).await, Vec::<String>::new(), "a sampler saw allocated > quantity");
        samples += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let errors = client.await.unwrap();
        assert!(errors.is_empty(), "no client may get a 5xx: {errors:?}");
    }
    let (granted, refused) = (granted.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    eprintln!("soak {soak:?}: {granted} changes applied, {refused} refused at the limit, {samples} samples");
    assert!(granted > 100, "the load should move the pool: {granted}");
    cluster.check_ledger().await;
}
