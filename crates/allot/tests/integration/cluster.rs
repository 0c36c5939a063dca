//! Several `allot serve` processes on one PostgreSQL database: they stay correct together.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use allot_api::{CreateOrg, ErrorCode, PoolList};
use allot_store::{PgStore, Store};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{ADMIN_PASSWORD, group, licenses, member, pools, postgres_url, rule};

/// `allot serve` processes sharing one scratch database; killed when dropped.
pub struct Cluster {
    pub url: String,
    pub addresses: Vec<String>,
    /// For the health probes, which are no part of the native API.
    pub http: reqwest::Client,
    /// For the typed clients: each request waits at most 10 seconds.
    api: reqwest::Client,
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
            api: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap(),
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

    /// A typed client of process `process` (counted round the processes), with `token`.
    pub fn client(&self, process: usize, token: &str) -> allot_client::Client {
        let address = &self.addresses[process % self.addresses.len()];
        allot_client::Client::with_http(self.api.clone(), address).with_token(token)
    }

    pub async fn admin(&self) -> String {
        admin_token(&self.http, &self.addresses[0]).await
    }

    /// An organization with `quantity` of `license` and users `u0..u{users}`.
    pub async fn org(&self, admin: &str, license: &str, quantity: i64, users: usize) {
        let host = self.client(0, admin);
        host.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
        host.set_host_pools(&pools(&[(license, 1_000_000)])).await.unwrap();
        host.set_org_pools("acme", &pools(&[(license, quantity)])).await.unwrap();
        for user in 0..users {
            host.create_user("acme", &member(&format!("u{user}"))).await.unwrap();
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
            let (client, start) = (cluster.client(i, &admin), start.clone());
            tokio::spawn(async move {
                let body = licenses(&["RPADEVNU"]);
                start.wait().await;
                client.set_user_licenses("acme", &format!("u{i}"), &body).await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for request in requests {
        let status = match request.await.unwrap() {
            Ok(_) => 200,
            Err(error) => {
                let refusal = (error.status(), error.code());
                assert_eq!(refusal, (Some(StatusCode::CONFLICT), Some(ErrorCode::LicenseLimitExceeded)), "{error}");
                409
            }
        };
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get(&200), Some(&1), "{statuses:?}");
    cluster.check_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_on_one_process_is_seen_by_checks_on_another_within_a_second() {
    let cluster = Cluster::start(2, None).await;
    let admin = cluster.admin().await;
    cluster.org(&admin, "ATTUNU", 5, 2).await;
    let (first, second) = (cluster.client(0, &admin), cluster.client(1, &admin));
    let written = first.set_user_licenses("acme", "u0", &licenses(&["ATTUNU"])).await.unwrap();
    let revision = written.revision;

    // Passing the revision of the write: never older state, on any process.
    let check = second.check("acme", "u0", "ATTUNU").min_revision(revision).await.unwrap();
    assert!(check.allowed, "{check:?}");
    assert!(check.revision >= revision);

    // Without it: seen within a second.
    second.set_user_licenses("acme", "u1", &licenses(&["ATTUNU"])).await.unwrap();
    let written_at = Instant::now();
    loop {
        if first.check("acme", "u1", "ATTUNU").await.unwrap().allowed {
            break;
        }
        assert!(written_at.elapsed() < Duration::from_secs(1), "not seen within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A revision the database has not reached will not come by waiting: 404
    // `revision_not_found`, at once rather than after the wait.
    let asked = Instant::now();
    let refused = first.org_pools("acme").min_revision(999_999).await.unwrap_err();
    let took = asked.elapsed();
    assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND), "{refused}");
    assert_eq!(refused.retry_after(), None);
    assert_eq!(refused.code(), Some(ErrorCode::RevisionNotFound), "{refused}");
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

const DIRECT: usize = 47;
const MEMBERS: usize = 16;
const POOL_LOW: i64 = 16;
const POOL_HIGH: i64 = 24;

/// One soak client's next change, sent: `client` toggles a direct ATTUNU licence (clients
/// below DIRECT), or its membership of group `g` whose rule grants ATTUNU; the last client
/// moves the pool between POOL_LOW and POOL_HIGH. Answers what it asked, the revision the
/// change was applied at (or the refusal), and the one refusal that counts as correct for it.
async fn next_change(
    api: &allot_client::Client,
    client: usize,
    acknowledged: u64,
) -> (String, allot_client::Result<Option<u64>>, Option<ErrorCode>) {
    let take = acknowledged.is_multiple_of(2);
    let user = format!("u{client}");
    if client < DIRECT {
        let held: &[&str] = if take { &["ATTUNU"] } else { &[] };
        let answer = api.set_user_licenses("acme", &user, &licenses(held)).answer().await;
        (format!("{user} holds {held:?}"), answer.map(|a| a.revision), Some(ErrorCode::LicenseLimitExceeded))
    } else if client < DIRECT + MEMBERS {
        if take {
            let answer = api.add_member("acme", "g", &user).answer().await;
            (format!("{user} joins g"), answer.map(|a| a.revision), None)
        } else {
            let answer = api.remove_member("acme", "g", &user).answer().await;
            (format!("{user} leaves g"), answer.map(|a| a.revision), None)
        }
    } else {
        let quantity = if take { POOL_HIGH } else { POOL_LOW };
        let answer = api.set_org_pools("acme", &pools(&[("ATTUNU", quantity)])).answer().await;
        (format!("the pool to {quantity}"), answer.map(|a| a.revision), Some(ErrorCode::QuantityInUse))
    }
}

/// The ATTUNU row of a pool list.
fn attunu(pools: &PoolList) -> &allot_api::PoolRow {
    pools.pools.iter().find(|p| p.license == "ATTUNU").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_from_64_clients_on_three_processes_never_over_allocates_and_shows_what_was_acknowledged() {
    const CLIENTS: usize = DIRECT + MEMBERS + 1;
    let soak = Duration::from_secs(std::env::var("ALLOT_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20));
    let cluster = Arc::new(Cluster::start(3, None).await);
    let admin = cluster.admin().await;
    cluster.org(&admin, "ATTUNU", POOL_LOW, DIRECT + MEMBERS).await;
    cluster.client(0, &admin).create_group("acme", &group("g")).await.unwrap();
    cluster.client(0, &admin).set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    cluster.sync().await;

    let told = Arc::new(Told::new(CLIENTS));
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (api, stop, told, refused) =
                (cluster.client(client, &admin), stop.clone(), told.clone(), refused.clone());
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let acknowledged = told.acknowledged(client);
                    told.sending(client);
                    let (what, answer, refusal) = next_change(&api, client, acknowledged).await;
                    match answer {
                        Ok(revision) => told.answered(client, Some(revision.expect("an allot-revision"))),
                        Err(error)
                            if error.status() == Some(StatusCode::CONFLICT)
                                && error.code().is_some()
                                && error.code() == refusal =>
                        {
                            assert!(error.revision().is_some(), "a refusal carries its allot-revision: {error}");
                            refused.fetch_add(1, Ordering::Relaxed);
                            told.answered(client, None);
                        }
                        Err(error) => {
                            told.answered(client, None);
                            wrong.push((what, error.to_string()));
                        }
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
        let api = cluster.client(process, &admin);
        let before = told.look();
        let fresh = told.revision();
        let pools = api.org_pools("acme").min_revision(fresh).await;
        let user = samples % DIRECT;
        let check = api.check("acme", &format!("u{user}"), "ATTUNU").min_revision(fresh).await;
        let settled = settled(&before, &told.look());
        let pools = pools.unwrap();
        let pool = attunu(&pools);
        let (quantity, allocated) = (pool.quantity, pool.allocated);
        let held = settled[..DIRECT].iter().filter(|s| **s == Some(true)).count() as i64;
        let free = settled[..DIRECT + MEMBERS].iter().filter(|s| **s == Some(false)).count() as i64;
        assert!((POOL_LOW..=POOL_HIGH).contains(&quantity), "process {process}: {pool:?}");
        assert!(allocated <= quantity, "process {process} shows an over-allocated pool: {pool:?}");
        assert!(allocated >= held, "process {process}: {allocated} allocated, {held} settled holders: {pool:?}");
        assert!(
            allocated <= (DIRECT + MEMBERS) as i64 - free,
            "process {process}: {allocated} allocated, {free} settled free"
        );
        if let Some(held) = settled[user] {
            let check = check.unwrap();
            assert_eq!(check.allowed, held, "process {process}, u{user} was told it holds: {held}: {check:?}");
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
        let api = cluster.client(process, &admin);
        let mut holders = 0;
        for user in 0..DIRECT + MEMBERS {
            let check = api.check("acme", &format!("u{user}"), "ATTUNU").min_revision(fresh).await.unwrap();
            let told_holds = told.acknowledged(user) % 2 == 1;
            if user < DIRECT {
                assert_eq!(check.allowed, told_holds, "process {process}, u{user}: {check:?}");
            } else if !told_holds {
                assert!(!check.allowed, "process {process}, u{user} left the group: {check:?}");
            }
            holders += i64::from(check.allowed);
        }
        let pools = api.org_pools("acme").min_revision(fresh).await.unwrap();
        let pool = attunu(&pools);
        let quantity = if told.acknowledged(CLIENTS - 1) % 2 == 1 { POOL_HIGH } else { POOL_LOW };
        assert_eq!((pool.quantity, pool.allocated), (quantity, holders), "process {process}");
    }
    cluster.check_ledger().await;
}
