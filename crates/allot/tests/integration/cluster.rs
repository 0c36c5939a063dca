//! Several `allot serve` processes on one PostgreSQL database: they stay correct together.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

/// A child process killed when dropped, so a failed assertion leaves nothing running.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host admin's token from the server at `address`.
pub async fn admin_token(http: &reqwest::Client, address: &str) -> String {
    let server = allot_client::Client::with_http(http.clone(), address);
    server.login(None, "admin", ADMIN_PASSWORD).await.unwrap().access_token
}

/// A typed client of the server at `address`, as its host admin.
pub async fn admin_client(http: &reqwest::Client, address: &str) -> allot_client::Client {
    allot_client::Client::with_http(http.clone(), address).with_token(admin_token(http, address).await)
}

/// Starts `allot serve` on `database` (else SQLite in `dir`) and answers it with the
/// address it listens on.
pub async fn serve_process(database: Option<&str>, dir: &std::path::Path) -> (Child, String) {
    serve_process_with(database, dir, &[]).await
}

/// [`serve_process`] with more environment, e.g. `ALLOT_SYNC_INTERVAL_MS`.
pub async fn serve_process_with(
    database: Option<&str>,
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
    command.envs(env.iter().copied());
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
        admin_token(&self.http, &self.addresses[0]).await
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

    // A revision the database has not reached will not come by waiting: 503 with
    // Retry-After, at once rather than after the wait.
    let url = format!("{}/api/v1/orgs/acme/pools?min_revision=999999", cluster.addresses[0]);
    let asked = Instant::now();
    let response = cluster.http.get(url).bearer_auth(&admin).send().await.unwrap();
    let took = asked.elapsed();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()), Some("1".into()));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unavailable", "{body:#}");
    assert!(took < Duration::from_millis(900), "answered after {took:?}, not at once");
}

/// What the clients of a soak were told, user by user: how many of their changes were
/// acknowledged, and whether a request is in flight; and the highest revision an
/// acknowledgement carried. A sampler looks at it before and after each read: a user whose
/// two looks agree was settled while the read was answered, so the read must show what
/// that user was last told.
pub struct Told {
    users: Vec<(AtomicU64, AtomicBool)>,
    revision: AtomicU64,
}

impl Told {
    pub fn new(users: usize) -> Self {
        Self { users: (0..users).map(|_| Default::default()).collect(), revision: AtomicU64::new(0) }
    }

    pub fn sending(&self, user: usize) {
        self.users[user].1.store(true, Ordering::SeqCst);
    }

    /// `applied` is the revision of an acknowledged change; `None` for a refusal.
    pub fn answered(&self, user: usize, applied: Option<u64>) {
        if let Some(revision) = applied {
            self.revision.fetch_max(revision, Ordering::SeqCst);
            self.users[user].0.fetch_add(1, Ordering::SeqCst);
        }
        self.users[user].1.store(false, Ordering::SeqCst);
    }

    /// Acknowledged changes of `user`; each toggles it, starting from not holding.
    pub fn acknowledged(&self, user: usize) -> u64 {
        self.users[user].0.load(Ordering::SeqCst)
    }

    /// Each user's acknowledged count, or `None` while a request is in flight.
    pub fn look(&self) -> Vec<Option<u64>> {
        self.users
            .iter()
            .map(|(acked, busy)| {
                let busy = busy.load(Ordering::SeqCst);
                (!busy).then(|| acked.load(Ordering::SeqCst))
            })
            .collect()
    }

    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::SeqCst)
    }
}

/// Whether each user was settled between two looks, and if so whether it held.
fn settled(before: &[Option<u64>], after: &[Option<u64>]) -> Vec<Option<bool>> {
    before.iter().zip(after).map(|(b, a)| if b.is_some() && b == a { b.map(|n| n % 2 == 1) } else { None }).collect()
}

/// A request's status, the revision it was answered at, and its body.
async fn call(
    cluster: &Cluster,
    process: usize,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, u64, Value) {
    let url = format!("{}{path}", cluster.addresses[process % cluster.addresses.len()]);
    let mut request = cluster.http.request(method, url).bearer_auth(token).timeout(Duration::from_secs(10));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let revision = response.headers()["allot-revision"].to_str().unwrap().parse().unwrap();
    (status, revision, response.json().await.unwrap_or(Value::Null))
}

const DIRECT: usize = 47;
const MEMBERS: usize = 16;
const POOL_LOW: i64 = 16;
const POOL_HIGH: i64 = 24;

/// One soak client's next request and the answers that count as correct for it: `user`
/// toggles a direct ATTUNU licence (users below DIRECT), or its membership of group `g`
/// whose rule grants ATTUNU; the last client moves the pool between POOL_LOW and POOL_HIGH.
fn next_request(
    client: usize,
    acknowledged: u64,
) -> (reqwest::Method, String, Option<Value>, [(u16, &'static str); 2]) {
    use reqwest::Method;
    let take = acknowledged.is_multiple_of(2);
    if client < DIRECT {
        let licenses = if take { json!([{"license": "ATTUNU"}]) } else { json!([]) };
        let path = format!("/api/v1/orgs/acme/users/u{client}/licenses");
        (Method::PUT, path, Some(json!({ "licenses": licenses })), [(200, ""), (409, "license_limit_exceeded")])
    } else if client < DIRECT + MEMBERS {
        if take {
            let body = json!({"user": format!("u{client}")});
            (Method::POST, "/api/v1/orgs/acme/groups/g/members".into(), Some(body), [(201, ""), (201, "")])
        } else {
            (Method::DELETE, format!("/api/v1/orgs/acme/groups/g/members/u{client}"), None, [(204, ""), (204, "")])
        }
    } else {
        let quantity = if take { POOL_HIGH } else { POOL_LOW };
        let body = json!({"pools": [{"license": "ATTUNU", "quantity": quantity}]});
        (Method::PUT, "/api/v1/orgs/acme/pools".into(), Some(body), [(200, ""), (409, "quantity_in_use")])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_from_64_clients_on_three_processes_never_over_allocates_and_shows_what_was_acknowledged() {
    use reqwest::Method;
    const CLIENTS: usize = DIRECT + MEMBERS + 1;
    let soak = Duration::from_secs(std::env::var("ALLOT_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20));
    let cluster = Arc::new(Cluster::start(3, None).await);
    let admin = cluster.admin().await;
    cluster.org(&admin, "ATTUNU", POOL_LOW, DIRECT + MEMBERS).await;
    assert_eq!(
        cluster.send(0, Method::POST, "/api/v1/orgs/acme/groups", &admin, Some(json!({"id": "g"}))).await.0,
        201
    );
    let rule = json!({"licenses": ["ATTUNU"]});
    assert_eq!(cluster.send(0, Method::PUT, "/api/v1/orgs/acme/groups/g/licenses", &admin, Some(rule)).await.0, 200);
    cluster.sync().await;

    let told = Arc::new(Told::new(CLIENTS));
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (cluster, admin, stop, told, refused) =
                (cluster.clone(), admin.clone(), stop.clone(), told.clone(), refused.clone());
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (method, path, body, [applied, refusal]) = next_request(client, told.acknowledged(client));
                    told.sending(client);
                    let (status, revision, answer) = call(&cluster, client, method, &path, &admin, body).await;
                    if status == applied.0 {
                        told.answered(client, Some(revision));
                    } else if status == refusal.0 && answer["code"] == refusal.1 {
                        refused.fetch_add(1, Ordering::Relaxed);
                        told.answered(client, None);
                    } else {
                        told.answered(client, None);
                        wrong.push((path, status, answer));
                    }
                }
                wrong
            })
        })
        .collect();

    // Sample what clients see, on every process in turn: the pool within its quantity,
    // at least every settled direct holder counted, at most every user not settled free,
    // and the check telling a settled user what it was last told.
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < soak {
        let process = samples % cluster.addresses.len();
        let before = told.look();
        let fresh = told.revision();
        let path = format!("/api/v1/orgs/acme/pools?min_revision={fresh}");
        let (status, _, pools) = call(&cluster, process, Method::GET, &path, &admin, None).await;
        let user = samples % DIRECT;
        let path = format!("/api/v1/orgs/acme/users/u{user}/licenses/ATTUNU?min_revision={fresh}");
        let (_, _, check) = call(&cluster, process, Method::GET, &path, &admin, None).await;
        let settled = settled(&before, &told.look());
        assert_eq!(status, 200, "{pools:#}");
        let pool = pools["pools"].as_array().unwrap().iter().find(|p| p["license"] == "ATTUNU").unwrap();
        let (quantity, allocated) = (pool["quantity"].as_i64().unwrap(), pool["allocated"].as_i64().unwrap());
        let held = settled[..DIRECT].iter().filter(|s| **s == Some(true)).count() as i64;
        let free = settled[..DIRECT + MEMBERS].iter().filter(|s| **s == Some(false)).count() as i64;
        assert!((POOL_LOW..=POOL_HIGH).contains(&quantity), "process {process}: {pool}");
        assert!(allocated <= quantity, "process {process} shows an over-allocated pool: {pool}");
        assert!(allocated >= held, "process {process}: {allocated} allocated, {held} settled holders: {pool}");
        assert!(
            allocated <= (DIRECT + MEMBERS) as i64 - free,
            "process {process}: {allocated} allocated, {free} settled free"
        );
        if let Some(held) = settled[user] {
            assert_eq!(check["allowed"], held, "process {process}, u{user} was told it holds: {held}: {check:#}");
        }
        samples += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let wrong = client.await.unwrap();
        assert!(wrong.is_empty(), "{} answers outside the expected ones, the first: {:?}", wrong.len(), wrong.first());
    }
    let acknowledged: u64 = (0..CLIENTS).map(|c| told.acknowledged(c)).sum();
    let refused = refused.load(Ordering::Relaxed);
    eprintln!("soak {soak:?}: {acknowledged} changes acknowledged, {refused} refused, {samples} samples");
    assert!(acknowledged > 200 && refused > 0, "the load should move the pool and reach its limit");
    assert!(samples >= 20, "only {samples} samples");

    // At rest, every process answers exactly what the clients were told.
    cluster.sync().await;
    let fresh = told.revision();
    for process in 0..cluster.addresses.len() {
        let mut holders = 0;
        for user in 0..DIRECT + MEMBERS {
            let path = format!("/api/v1/orgs/acme/users/u{user}/licenses/ATTUNU?min_revision={fresh}");
            let (_, _, check) = call(&cluster, process, Method::GET, &path, &admin, None).await;
            let told_holds = told.acknowledged(user) % 2 == 1;
            if user < DIRECT {
                assert_eq!(check["allowed"], told_holds, "process {process}, u{user}: {check:#}");
            } else if !told_holds {
                assert_eq!(check["allowed"], false, "process {process}, u{user} left the group: {check:#}");
            }
            holders += i64::from(check["allowed"] == true);
        }
        let path = format!("/api/v1/orgs/acme/pools?min_revision={fresh}");
        let (_, _, pools) = call(&cluster, process, Method::GET, &path, &admin, None).await;
        let pool = pools["pools"].as_array().unwrap().iter().find(|p| p["license"] == "ATTUNU").unwrap();
        let quantity = if told.acknowledged(CLIENTS - 1) % 2 == 1 { POOL_HIGH } else { POOL_LOW };
        assert_eq!(
            (pool["quantity"].as_i64(), pool["allocated"].as_i64()),
            (Some(quantity), Some(holders)),
            "process {process}"
        );
    }
    cluster.check_ledger().await;
}
