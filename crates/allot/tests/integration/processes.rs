//! Promises that only several real `allot serve` processes on one PostgreSQL database can
//! break: revocations reach every process, `?min_revision=` catches up with another
//! process's write within its wait, expiry is swept once however many processes sweep, the
//! waiting line has one order everywhere, a process planning on stale state loses the race
//! and plans again, Idempotency-Key and stored plans work across processes, and role
//! licenses stop at the contract and the maximum overage whichever process is asked.
//!
//! These tests start their own processes (some with settings of their own) on a scratch
//! database of the PostgreSQL server `ALLOT_TEST_POSTGRES_URL` names, whatever
//! `ALLOT_TEST_BACKEND` says: running them in the PostgreSQL pass again only repeats them.

use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allot_api::{
    CheckAnswer, CreateClient, CreateGroup, CreateOrg, CreateTenant, ErrorCode, LedgerEntryView, LedgerParams,
    LicenseSpec, PageQuery, PoolList, PoolSetting, Reason, Role, SetPools, SetUserLicenses, UpdateUser, UserPage, Via,
};
use allot_core::{Change, Scope};
use allot_store::sql::Sql as _;
use allot_store::{PgStore, Store as _};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Barrier;

use crate::cluster::{Killed, serve_process_with};
use crate::harness::{ADMIN_PASSWORD, give, held, licenses, member, person, pools, postgres_url, refused, rule};

/// A process's own settings, as `ALLOT_*` variables on top of the defaults.
type Settings = &'static [(&'static str, &'static str)];

const DEFAULTS: Settings = &[];
/// A process that never follows the others by itself (its first look is at start): it
/// learns of their commits only through `?min_revision=`, its own writes, and the
/// catch-up a lost race makes.
const NEVER_FOLLOWS: Settings = &[("ALLOT_SYNC_INTERVAL_MS", "3600000")];

/// The advisory lock writers take turns with (crates/allot-store/src/postgres/mod.rs,
/// `TURN_LOCK`: "allot" in ASCII).
const TURN_LOCK: i64 = 0x0061_6c6c_6f74;
/// How long a process waits for its turn before writing without it: the `lock_timeout`
/// its connections are opened with (4 s), less a little for clocks.
const TURN_WAIT: Duration = Duration::from_millis(3_500);

/// The documented bound for a revocation to reach every process, and what this test
/// allows on top for a noisy machine (polling, scheduling).
const REVOCATION_BOUND: Duration = Duration::from_secs(5);
const REVOCATION_MARGIN: Duration = Duration::from_millis(1_500);

/// `allot serve` processes on one scratch database; killed when dropped.
struct Processes {
    url: String,
    addresses: Vec<String>,
    /// Each request waits at most 30 seconds.
    http: reqwest::Client,
    _children: Vec<Killed>,
    _dirs: Vec<tempfile::TempDir>,
}

/// Awaits `call`; answers what it answered and how long that took.
async fn timed<T>(call: impl IntoFuture<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = call.await;
    (answer, started.elapsed())
}

/// (quantity, allocated) of the pool of `license`; (0, 0) when it is not listed.
fn pool_of(pools: &PoolList, license: &str) -> (i64, i64) {
    pools.pools.iter().find(|p| p.license == license).map(|p| (p.quantity, p.allocated)).unwrap_or((0, 0))
}

impl Processes {
    /// One process per entry of `settings`, started one after the other (the first
    /// creates the schema) on a new scratch database.
    async fn start(settings: &[Settings]) -> Processes {
        let url = allot_store::postgres::scratch_database(&postgres_url()).await.unwrap();
        let http =
            reqwest::Client::builder().pool_max_idle_per_host(64).timeout(Duration::from_secs(30)).build().unwrap();
        let mut processes = Processes { url, addresses: Vec::new(), http, _children: Vec::new(), _dirs: Vec::new() };
        for own in settings {
            let dir = tempfile::tempdir().unwrap();
            let (child, address) = serve_process_with(Some(&processes.url), dir.path(), own).await;
            processes._children.push(Killed(child));
            processes.addresses.push(address);
            processes._dirs.push(dir);
        }
        processes
    }

    /// A typed client of process `process`, with no token: to log in with.
    fn anonymous(&self, process: usize) -> allot_client::Client {
        allot_client::Client::with_http(self.http.clone(), &self.addresses[process])
    }

    /// A typed client of process `process`, with `token`.
    fn client(&self, process: usize, token: &str) -> allot_client::Client {
        self.anonymous(process).with_token(token)
    }

    /// A token request whose refusal is under test: OAuth's errors (RFC 6749) are no
    /// problems, so the status and the body as they came.
    async fn token_refusal(&self, process: usize, form: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/oauth/token", self.addresses[process]);
        let response = self.http.post(url).form(form).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn admin(&self) -> String {
        self.anonymous(0).login(None, "admin", ADMIN_PASSWORD).await.unwrap().access_token
    }

    /// The organization's users, as `token` may list them on `process`.
    async fn users(&self, process: usize, token: &str) -> allot_client::Result<UserPage> {
        self.client(process, token).users("acme", &PageQuery::default()).await
    }

    /// Organization `acme` on process 0, with `pools` granted by the host and `users`;
    /// every process has seen it on return.
    async fn org(&self, admin: &str, quantities: &[(&str, i64)], users: &[&str]) {
        let host = self.client(0, admin);
        host.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
        let plenty: Vec<_> = quantities.iter().map(|(license, _)| (*license, 1_000_000)).collect();
        host.set_host_pools(&pools(&plenty)).await.unwrap();
        host.set_org_pools("acme", &pools(quantities)).await.unwrap();
        for user in users {
            host.create_user("acme", &member(user)).await.unwrap();
        }
        self.sync().await;
    }

    async fn store(&self) -> PgStore {
        PgStore::open(&self.url).await.unwrap()
    }

    /// The revision the database holds.
    async fn stored_revision(&self) -> u64 {
        self.store().await.revision().await.unwrap()
    }

    /// The revision process `process` serves from memory.
    async fn revision_of(&self, process: usize) -> u64 {
        let health: Value =
            self.http.get(format!("{}/healthz", self.addresses[process])).send().await.unwrap().json().await.unwrap();
        health["revision"].as_u64().unwrap()
    }

    /// Waits until every process serves the database's revision (through `min_revision`);
    /// answers it.
    async fn sync(&self) -> u64 {
        let revision = self.stored_revision().await;
        for address in &self.addresses {
            let url = format!("{address}/healthz?min_revision={revision}");
            assert_eq!(self.http.get(url).send().await.unwrap().status(), 200, "{address} catches up");
        }
        revision
    }

    /// The check, on `process`, reflecting at least `revision`.
    async fn check(&self, process: usize, token: &str, user: &str, license: &str, revision: u64) -> CheckAnswer {
        self.client(process, token).check("acme", user, license).min_revision(revision).await.unwrap()
    }

    /// (quantity, allocated) of the organization's pool of `license` on `process`, at
    /// `revision` or later; (0, 0) when it is not listed.
    async fn pool(&self, process: usize, token: &str, license: &str, revision: u64) -> (i64, i64) {
        pool_of(&self.client(process, token).org_pools("acme").min_revision(revision).await.unwrap(), license)
    }

    /// The organization's whole ledger, oldest first.
    async fn ledger(&self, process: usize, token: &str) -> Vec<LedgerEntryView> {
        let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
        let page = self.client(process, token).ledger("acme", &all).await.unwrap();
        assert!(page.next.is_none(), "one page holds this test's ledger");
        page.entries
    }

    /// The stored balances equal the ledger's replay, and no pool is over its quantity.
    async fn check_books(&self) {
        let store = self.store().await;
        let check = store.check_ledger().await.unwrap();
        assert_eq!(check.differences, Vec::<String>::new(), "balances equal the ledger's replay");
        let over = store
            .read(vec![("SELECT scope, license FROM pools WHERE allocated > quantity".to_owned(), vec![])])
            .await
            .unwrap();
        assert_eq!(over.concat(), Vec::<Vec<allot_store::sql::Value>>::new(), "no pool is over its quantity");
    }
}

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn parse_ms(text: &str) -> i64 {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// A whole second at least `ahead` ms from now, so the server's millisecond clock and
/// RFC 3339 agree exactly.
fn second_ahead(ahead: i64) -> i64 {
    (now_ms() + ahead + 999) / 1000 * 1000
}

/// Sleeps until the wall clock reaches `at` (ms).
async fn sleep_until_ms(at: i64) {
    let left = at - now_ms();
    if left > 0 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap())).await;
    }
}

/// A license held directly from `from` until `until`, either open when `None`.
fn held_between(license: &str, from: Option<i64>, until: Option<i64>) -> LicenseSpec {
    LicenseSpec { valid_from: from.map(rfc3339), valid_until: until.map(rfc3339), ..held(license) }
}

/// A pool setting from `from` until `until`, either open when `None`.
fn grant(license: &str, quantity: i64, from: Option<i64>, until: Option<i64>) -> PoolSetting {
    PoolSetting { license: license.into(), quantity, valid_from: from.map(rfc3339), valid_until: until.map(rfc3339) }
}

// 1. Revocations reach every process within 5 seconds.

/// Polls `process` with `token` until it answers 401; answers how long after `since` that
/// was. Fails if it still works after the bound and its margin.
async fn refused_after(processes: &Processes, process: usize, token: &str, since: Instant) -> Duration {
    loop {
        match processes.users(process, token).await {
            Err(error) if error.status() == Some(StatusCode::UNAUTHORIZED) => return since.elapsed(),
            Ok(_) => {}
            Err(other) => panic!("a revoked token answers 401, not {other}"),
        }
        assert!(
            since.elapsed() < REVOCATION_BOUND + REVOCATION_MARGIN,
            "process {process} still accepts the revoked token {:?} after the revocation",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The status of a refusal (`None` for an answer that was no refusal).
fn refused_with<T>(answer: allot_client::Result<T>) -> Option<u16> {
    answer.err().and_then(|error| error.status()).map(|status| status.as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_on_one_process_shuts_the_users_tokens_out_of_every_process_within_5_seconds() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &[]).await;
    let rita = person("rita", Role::Reader, "reader password 123");
    processes.client(0, &admin).create_user("acme", &rita).await.unwrap();
    processes.sync().await;
    let issued = processes.anonymous(0).login(Some("acme"), "rita", "reader password 123").await.unwrap();
    let (access, refresh) = (issued.access_token, issued.refresh_token.unwrap());

    // Issued on process 0, it works on process 1, which now vouches for it from memory.
    processes.users(1, &access).await.unwrap();
    processes.users(0, &access).await.unwrap();

    let revoked = Instant::now();
    processes.client(0, &admin).set_password("acme", "rita", "a brand new password 456").await.unwrap();
    assert_eq!(refused_with(processes.users(0, &access).await), Some(401), "at once where it was changed");
    let took = refused_after(&processes, 1, &access, revoked).await;
    eprintln!("the revocation reached process 1 after {took:?}");
    assert_eq!(refused_with(processes.users(1, &access).await), Some(401), "and stays revoked");
    // The refresh token went too, on every process.
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (status, body) = processes.token_refusal(1, &form).await;
    assert_eq!((status, &body["error"]), (400, &Value::from("invalid_grant")), "{body:#}");
    // The new password works anywhere.
    let fresh = processes.anonymous(1).login(Some("acme"), "rita", "a brand new password 456").await.unwrap();
    processes.users(0, &fresh.access_token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_api_client_on_one_process_stops_its_tokens_on_every_process_within_5_seconds() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &[]).await;
    let reporting = CreateClient { name: "reporting".into(), scopes: vec!["allot:read".into()] };
    let client = processes.client(0, &admin).create_client("acme", &reporting).await.unwrap();
    let (id, secret) = (client.client_id.as_str(), client.client_secret.as_str());
    let token = processes.anonymous(0).client_credentials(id, secret, None).await.unwrap().access_token;
    processes.users(1, &token).await.unwrap();

    let revoked = Instant::now();
    processes.client(0, &admin).delete_client("acme", id).await.unwrap();
    assert_eq!(refused_with(processes.users(0, &token).await), Some(401), "at once where it was deleted");
    // No new token on the other process either.
    let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
    let (status, body) = processes.token_refusal(1, &form).await;
    assert_eq!((status, &body["error"]), (401, &Value::from("invalid_client")), "{body:#}");
    let took = refused_after(&processes, 1, &token, revoked).await;
    eprintln!("the revocation reached process 1 after {took:?}");
    assert_eq!(refused_with(processes.users(1, &token).await), Some(401), "and stays revoked");
}

// 2. ?min_revision=R across processes.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_on_another_process_with_a_writes_revision_reflects_that_write() {
    let processes = Processes::start(&[DEFAULTS, NEVER_FOLLOWS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u0"]).await;
    processes.sync().await;
    let written = processes.client(0, &admin).set_user_licenses("acme", "u0", &licenses(&["ATTUNU"])).await.unwrap();
    let revision = written.revision;

    // Process 1 has not seen it by itself...
    let stale = processes.client(1, &admin).check("acme", "u0", "ATTUNU").await.unwrap();
    assert_eq!((stale.allowed, stale.revision), (false, revision - 1), "{stale:?}");
    // ...but asked for the write's revision, it catches up and answers with it.
    let check = processes.check(1, &admin, "u0", "ATTUNU", revision).await;
    assert_eq!((check.allowed, check.reason), (true, Reason::Held), "{check:?}");
    assert!(check.revision >= revision);
    assert_eq!(processes.pool(1, &admin, "ATTUNU", revision).await, (5, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_that_cannot_catch_up_within_the_configured_wait_answers_503_with_retry_after_once_it_is_over() {
    const WAIT: Duration = Duration::from_millis(1_500);
    const MARGIN: Duration = Duration::from_millis(1_000);
    let processes = Arc::new(
        Processes::start(&[DEFAULTS, &[("ALLOT_SYNC_INTERVAL_MS", "3600000"), ("ALLOT_MIN_REVISION_WAIT_MS", "1500")]])
            .await,
    );
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u0", "u1"]).await;

    // The database is slow to give turns (the test holds the turn): process 0's write
    // lands after its wait, and process 1, which does not follow, has not seen it.
    let turn = hold_the_turn(&processes.url).await;
    let written = processes.client(0, &admin).set_user_licenses("acme", "u0", &licenses(&["ATTUNU"])).await;
    let revision = written.unwrap().revision;
    assert!(processes.revision_of(1).await < revision);
    // Process 1 is busy with a write of its own, waiting for its turn too...
    let busy = {
        let second = processes.client(1, &admin);
        tokio::spawn(async move { second.set_user_licenses("acme", "u1", &licenses(&["ATTUNU"])).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...when a read asks it for the revision process 0 committed, which the database has.
    let (read, took) = timed(processes.client(1, &admin).org_pools("acme").min_revision(revision)).await;
    let busy = busy.await.unwrap();
    drop(turn);

    match read {
        Ok(_) => assert!(took < WAIT + MARGIN, "caught up, but only after {took:?}"),
        Err(error) if error.status() == Some(StatusCode::SERVICE_UNAVAILABLE) => {
            assert_eq!(error.code(), Some(ErrorCode::Unavailable), "{error}");
            let retry_after = error.retry_after().expect("503 carries Retry-After");
            assert!(retry_after >= 1);
            assert!(took >= WAIT, "answered 503 after {took:?}, before the configured wait of {WAIT:?}");
            assert!(took < WAIT + MARGIN, "answered 503 only after {took:?}");
        }
        Err(other) => panic!("{other}"),
    }
    busy.unwrap();
    processes.check_books().await;
}

// 3. Expiry with several processes sweeping.

/// The ledger entries `system:expiry` wrote.
fn expiry_entries(ledger: Vec<LedgerEntryView>) -> Vec<LedgerEntryView> {
    ledger.into_iter().filter(|e| e.actor == "system:expiry").collect()
}

/// Waits until the database holds no more than `allocated` of `license` at organization
/// scope, as process 0 answers at the database's revision; fails after `limit`.
async fn wait_for_allocated(processes: &Processes, admin: &str, license: &str, allocated: i64, limit: i64) {
    loop {
        let revision = processes.stored_revision().await;
        if processes.pool(0, admin, license, revision).await.1 <= allocated {
            return;
        }
        assert!(now_ms() < limit, "the ending was not swept by {}", rfc3339(limit));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holdings_that_end_are_ended_once_each_by_system_expiry_while_three_processes_sweep() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u0", "u1", "u2"]).await;
    // Two endings a second apart, and a holding that does not end.
    let first = second_ahead(4_000);
    let second = first + 1_000;
    for (user, until) in [("u0", Some(first)), ("u1", Some(second)), ("u2", None)] {
        let ends = SetUserLicenses { licenses: vec![held_between("ATTUNU", None, until)] };
        processes.client(0, &admin).set_user_licenses("acme", user, &ends).await.unwrap();
    }
    let before = processes.sync().await;
    assert!(now_ms() < first, "the setup outlasted the first ending; the test cannot see before it");
    for process in 0..3 {
        for user in ["u0", "u1", "u2"] {
            let check = processes.check(process, &admin, user, "ATTUNU", before).await;
            assert!(check.allowed, "process {process}, {user} before its end: {check:?}");
        }
        assert_eq!(processes.pool(process, &admin, "ATTUNU", before).await, (5, 3));
    }

    wait_for_allocated(&processes, &admin, "ATTUNU", 1, second + 10_000).await;
    // A few more sweeps of every process: none may end anything again.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let after = processes.sync().await;
    let ended = expiry_entries(processes.ledger(0, &admin).await);
    let users: Vec<&str> = ended
        .iter()
        .map(|e| match &e.change {
            Change::HoldingSet { user, .. } => user.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(users, ["u0", "u1"], "one entry per ending, in order, and nothing else: {ended:#?}");
    for (entry, until) in ended.iter().zip([first, second]) {
        assert_eq!(entry.change.kind(), "holding_set", "{entry:#?}");
        assert!(matches!(entry.change, Change::HoldingSet { after: None, .. }), "the holding ends: {entry:#?}");
        let at = parse_ms(&entry.at);
        assert!(at >= until && at < until + 10_000, "ended at {} for {}", rfc3339(at), rfc3339(until));
    }
    assert_ne!(ended[0].revision, ended[1].revision, "two endings, two sweeps");
    for process in 0..3 {
        for user in ["u0", "u1"] {
            let check = processes.check(process, &admin, user, "ATTUNU", after).await;
            assert!(!check.allowed, "process {process}, {user} after its end: {check:?}");
            assert!([Reason::Expired, Reason::NotHeld].contains(&check.reason), "{check:?}");
        }
        assert!(processes.check(process, &admin, "u2", "ATTUNU", after).await.allowed);
        assert_eq!(processes.pool(process, &admin, "ATTUNU", after).await, (5, 1), "process {process}");
    }
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_grant_that_ends_takes_what_was_drawn_from_it_once_while_three_processes_sweep() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 0), ("UNATT", 0)], &["u0", "u1", "u2"]).await;
    let host = processes.client(0, &admin);
    host.create_tenant("acme", &CreateTenant { id: "t1".into(), name: None }).await.unwrap();
    let until = second_ahead(4_000);
    let grants = SetPools { pools: vec![grant("ATTUNU", 3, None, Some(until)), grant("UNATT", 5, None, Some(until))] };
    host.set_org_pools("acme", &grants).await.unwrap();
    host.set_service_pools("acme", "t1", "orchestrator", &pools(&[("UNATT", 2)])).await.unwrap();
    for user in ["u0", "u1"] {
        host.set_user_licenses("acme", user, &licenses(&["ATTUNU"])).await.unwrap();
    }
    // An external holding draws nothing from the grant, so the grant's end leaves it.
    let external = SetUserLicenses { licenses: vec![LicenseSpec { external: true, ..held("ATTUNU") }] };
    host.set_user_licenses("acme", "u2", &external).await.unwrap();
    let before = processes.sync().await;
    assert!(now_ms() < until, "the setup outlasted the ending; the test cannot see before it");
    assert_eq!(processes.pool(2, &admin, "ATTUNU", before).await, (3, 2));
    assert_eq!(processes.pool(2, &admin, "UNATT", before).await, (5, 2));
    assert!(processes.check(1, &admin, "u0", "ATTUNU", before).await.allowed);

    wait_for_allocated(&processes, &admin, "UNATT", 0, until + 10_000).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let after = processes.sync().await;
    let ended = expiry_entries(processes.ledger(0, &admin).await);
    let mut endings: Vec<String> = ended
        .iter()
        .map(|e| match &e.change {
            Change::HoldingSet { user, product, .. } => format!("holding {user} {product}"),
            Change::PoolSet { scope, license, .. } => {
                let kind = match scope {
                    Scope::Host => "host",
                    Scope::Org { .. } => "org",
                    Scope::Tenant { .. } => "tenant",
                };
                format!("pool {kind} {license}")
            }
            other => format!("{}: {other:?}", other.kind()),
        })
        .collect();
    endings.sort();
    assert_eq!(
        endings,
        ["holding u0 ATTUNU", "holding u1 ATTUNU", "pool org ATTUNU", "pool org UNATT", "pool tenant UNATT"],
        "each ending once, and what was drawn from it with it: {ended:#?}"
    );
    assert!(ended.iter().all(|e| e.revision == ended[0].revision), "one sweep: {ended:#?}");
    for process in 0..3 {
        let api = processes.client(process, &admin);
        assert_eq!(processes.pool(process, &admin, "ATTUNU", after).await, (0, 0), "process {process}");
        assert_eq!(processes.pool(process, &admin, "UNATT", after).await, (0, 0), "process {process}");
        let tenant = api.service_pools("acme", "t1", "orchestrator").min_revision(after).await.unwrap();
        assert_eq!(pool_of(&tenant, "UNATT"), (0, 0), "process {process}");
        for user in ["u0", "u1"] {
            let check = processes.check(process, &admin, user, "ATTUNU", after).await;
            assert!(!check.allowed, "process {process}, {user}: {check:?}");
            assert!([Reason::Expired, Reason::NotHeld, Reason::PoolExhausted].contains(&check.reason), "{check:?}");
        }
        let external = processes.check(process, &admin, "u2", "ATTUNU", after).await;
        assert_eq!((external.allowed, external.external), (true, Some(true)), "{external:?}");
    }
    let host_pools = processes.client(0, &admin).host_pools().min_revision(after).await.unwrap();
    assert_eq!(pool_of(&host_pools, "ATTUNU"), (1_000_000, 0), "the host got its units back");
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holding_or_grant_valid_from_a_future_time_counts_on_every_process_only_from_then() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u0", "u1"]).await;
    let from = second_ahead(4_000);
    let host = processes.client(0, &admin);
    let timed_holding = SetUserLicenses { licenses: vec![held_between("ATTUNU", Some(from), None)] };
    host.set_user_licenses("acme", "u0", &timed_holding).await.unwrap();
    // A grant of RPADEVNU that starts at the same time.
    host.set_host_pools(&pools(&[("RPADEVNU", 100)])).await.unwrap();
    host.set_org_pools("acme", &SetPools { pools: vec![grant("RPADEVNU", 2, Some(from), None)] }).await.unwrap();
    let before = processes.sync().await;

    let take = licenses(&["RPADEVNU"]);
    for process in 0..3 {
        let check = processes.check(process, &admin, "u0", "ATTUNU", before).await;
        assert!(!check.allowed, "process {process}: not held before it starts: {check:?}");
        let refusal = refused(processes.client(process, &admin).set_user_licenses("acme", "u1", &take).await);
        assert_eq!(refusal, (409, ErrorCode::Expired), "process {process}");
    }
    assert!(now_ms() < from, "the checks outlasted the start; they did not see before it");

    // From then on, on every process, with no write in between.
    sleep_until_ms(from).await;
    for process in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let check = processes.client(process, &admin).check("acme", "u0", "ATTUNU").await.unwrap();
            if check.allowed {
                assert_eq!(check.reason, Reason::Held);
                break;
            }
            assert!(Instant::now() < deadline, "process {process} still refuses after the start: {check:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(processes.stored_revision().await, before, "starting takes no ledger entry");
    let taken = processes.client(2, &admin).set_user_licenses("acme", "u1", &take).await.unwrap();
    let revision = taken.revision;
    for process in 0..3 {
        assert!(processes.check(process, &admin, "u1", "RPADEVNU", revision).await.allowed);
        assert_eq!(processes.pool(process, &admin, "RPADEVNU", revision).await, (2, 1));
    }
    processes.check_books().await;
}

// 4. The waiting line's order under simultaneous joins.

/// Every user's place on `process` at `revision`: `Ok(())` when held through the group,
/// `Err(position)` when waiting. The check and the user's licenses must agree.
async fn places(
    processes: &Processes,
    process: usize,
    admin: &str,
    users: &[String],
    revision: u64,
) -> BTreeMap<String, Result<(), u64>> {
    let mut places = BTreeMap::new();
    for user in users {
        let check = processes.check(process, admin, user, "ATTUNU", revision).await;
        let held = processes.client(process, admin).user_licenses("acme", user).min_revision(revision).await.unwrap();
        let waiting: Vec<_> = held.waiting.iter().map(|w| (w.license.as_str(), w.group.as_str(), w.position)).collect();
        let place = match check.reason {
            Reason::Held => {
                assert_eq!((check.via, check.group.as_deref()), (Some(Via::Group), Some("g")), "{check:?}");
                assert_eq!(waiting, [], "{held:?}");
                Ok(())
            }
            Reason::Waiting => {
                let position = check.waiting_position.unwrap();
                assert_eq!(waiting, [("ATTUNU", "g", position)], "{held:?}");
                Err(position as u64)
            }
            other => panic!("process {process}: {user} is a member, so it holds or waits, not {other:?}: {check:?}"),
        };
        places.insert(user.clone(), place);
    }
    places
}

/// The places `order` (users in joining order) must have when the first `granted` hold.
fn expected_places(order: &[String], granted: usize) -> BTreeMap<String, Result<(), u64>> {
    order
        .iter()
        .enumerate()
        .map(|(i, user)| (user.clone(), if i < granted { Ok(()) } else { Err((i - granted + 1) as u64) }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_joining_at_once_on_three_processes_wait_in_one_strict_order_and_are_granted_in_it() {
    const MEMBERS: usize = 12;
    let processes = Arc::new(Processes::start(&[DEFAULTS, DEFAULTS, DEFAULTS]).await);
    let admin = processes.admin().await;
    let users: Vec<String> = (0..MEMBERS).map(|i| format!("u{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    processes.org(&admin, &[("ATTUNU", 2)], &names).await;
    processes.client(0, &admin).create_group("acme", &CreateGroup { id: "g".into(), name: None }).await.unwrap();
    processes.client(0, &admin).set_group_rule("acme", "g", &rule(&["ATTUNU"])).await.unwrap();
    processes.sync().await;

    let start = Arc::new(Barrier::new(MEMBERS));
    let joins: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let (api, start, user) = (processes.client(i % 3, &admin), start.clone(), user.clone());
            tokio::spawn(async move {
                start.wait().await;
                api.add_member("acme", "g", &user).await
            })
        })
        .collect();
    for join in joins {
        join.await.unwrap().unwrap();
    }
    let revision = processes.stored_revision().await;

    // The joining order is the ledger's: its member_added entries, in revision order,
    // with increasing places in the group.
    let ledger = processes.ledger(1, &admin).await;
    let added: Vec<(String, u64)> = ledger
        .iter()
        .filter_map(|e| match &e.change {
            Change::MemberAdded { user, seq, .. } => Some((user.to_string(), *seq)),
            _ => None,
        })
        .collect();
    let order: Vec<String> = added.iter().map(|(user, _)| user.clone()).collect();
    assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), MEMBERS, "each joined once: {order:?}");
    let seqs: Vec<u64> = added.iter().map(|(_, seq)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "places in the group follow the ledger: {seqs:?}");
    let members = processes.client(2, &admin).members("acme", "g").min_revision(revision).await.unwrap();
    let listed: Vec<String> = members.members.into_iter().map(|m| m.user).collect();
    assert_eq!(listed, order, "the member list is in joining order");

    // The first two hold, the others wait at 1..10, the same on every process.
    for process in 0..3 {
        let seen = places(&processes, process, &admin, &users, revision).await;
        assert_eq!(seen, expected_places(&order, 2), "process {process}, joining order {order:?}");
    }

    // A freed unit goes to the first in line, and the line moves up, everywhere.
    processes.client(1, &admin).remove_member("acme", "g", &order[0]).await.unwrap();
    let revision = processes.stored_revision().await;
    let rest = &order[1..];
    for process in 0..3 {
        let seen = places(&processes, process, &admin, rest, revision).await;
        assert_eq!(seen, expected_places(rest, 2), "process {process} after {} left", order[0]);
    }
    // Two more units: the next two in line.
    processes.client(2, &admin).set_org_pools("acme", &pools(&[("ATTUNU", 4)])).await.unwrap();
    let revision = processes.stored_revision().await;
    for process in 0..3 {
        let seen = places(&processes, process, &admin, rest, revision).await;
        assert_eq!(seen, expected_places(rest, 4), "process {process} after the pool grew");
        assert_eq!(processes.pool(process, &admin, "ATTUNU", revision).await, (4, 4));
    }
    processes.check_books().await;
}

// 5. A process that planned on stale state loses the race, catches up and plans again.

/// Takes the writers' turn lock on a connection of its own and keeps it until dropped, so
/// that every process must write without its turn: planned on what its memory holds,
/// which no catch-up refreshed first.
async fn hold_the_turn(url: &str) -> PgStore {
    let holder = PgStore::connect(url).unwrap();
    let lock = format!("SELECT 1 FROM (SELECT pg_advisory_lock({TURN_LOCK})) AS held");
    holder.read(vec![(lock, vec![])]).await.unwrap();
    // The pool keeps the connection, and so the lock, until the store is dropped.
    let probe = PgStore::connect(url).unwrap();
    let taken = format!("SELECT CASE WHEN pg_try_advisory_lock({TURN_LOCK}) THEN 1 ELSE 0 END");
    let rows = probe.read(vec![(taken, vec![])]).await.unwrap();
    assert_eq!(rows.concat(), vec![vec![allot_store::sql::Value::Int(0)]], "the test holds the turn");
    holder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_writing_on_stale_books_loses_the_race_catches_up_and_plans_again() {
    let processes = Arc::new(Processes::start(&[DEFAULTS, NEVER_FOLLOWS]).await);
    let admin = processes.admin().await;
    let users: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    processes.org(&admin, &[("ATTUNU", 3)], &names).await;
    processes.sync().await;
    let turn = hold_the_turn(&processes.url).await;

    // Process 0 writes (without its turn: it waited for it in vain); process 1 does not follow.
    let give_one = licenses(&["ATTUNU"]);
    let (first, took) = timed(processes.client(0, &admin).set_user_licenses("acme", "u0", &give_one)).await;
    assert!(took >= TURN_WAIT, "the write waited for the turn it could not get: {took:?}");
    let first = first.unwrap().revision;
    let stale = processes.revision_of(1).await;
    assert_eq!(stale, first - 1, "process 1 has not seen process 0's write");
    let check = processes.client(1, &admin).check("acme", "u0", "ATTUNU").await.unwrap();
    assert!(!check.allowed, "process 1's books are stale: {check:?}");

    // Process 1 plans on its stale books (the pool at 0 of 3), loses the commit, catches up
    // and plans again: the answer is the plan made on the fresh books.
    let second = processes.client(1, &admin).plan("acme", &give(&["u1"], &["ATTUNU"], true)).await.unwrap();
    assert!(second.applied, "{second:#?}");
    assert_eq!(second.base_revision, first, "planned again on process 0's write: {second:#?}");
    assert_eq!(second.revision, first + 1);
    let pool = &second.pools[0];
    assert_eq!(
        (pool.allocated_before, pool.allocated_after),
        (1, 2),
        "counted from the fresh books, not the stale ones: {second:#?}"
    );

    // Stale again (process 0 adds a user), then both write at once on the last unit, each
    // without its turn: one of them loses, catches up, and refuses on the fresh books.
    let late = processes.client(0, &admin).create_user("acme", &member("late")).await.unwrap();
    assert!(processes.revision_of(1).await < processes.stored_revision().await, "process 1 is behind again: {late:?}");
    let start = Arc::new(Barrier::new(8));
    let burst: Vec<_> = (2..10)
        .map(|i| {
            let (api, start, body) = (processes.client(i % 2, &admin), start.clone(), licenses(&["ATTUNU"]));
            tokio::spawn(async move {
                start.wait().await;
                api.set_user_licenses("acme", &format!("u{i}"), &body).await
            })
        })
        .collect();
    let mut granted = Vec::new();
    for (i, answer) in (2..10).zip(burst) {
        match answer.await.unwrap() {
            Ok(_) => granted.push(i),
            Err(error)
                if (error.status(), error.code())
                    == (Some(StatusCode::CONFLICT), Some(ErrorCode::LicenseLimitExceeded)) =>
            {
                let violation = &error.problem().unwrap().violations.as_ref().unwrap()[0];
                assert_eq!(violation.available, Some(0), "refused on the fresh books, where none is left: {error:?}");
            }
            Err(error) => panic!("u{i} on process {}: {error}", i % 2),
        }
    }
    assert_eq!(granted.len(), 1, "exactly one of the eight gets the last unit: {granted:?}");
    drop(turn);

    let revision = processes.sync().await;
    for process in 0..2 {
        assert_eq!(processes.pool(process, &admin, "ATTUNU", revision).await, (3, 3), "process {process}");
    }
    processes.check_books().await;
}

// 6. Idempotency-Key across processes.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_on_another_process_with_the_same_idempotency_key_is_replayed_and_changes_nothing() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u0", "u1"]).await;
    let before = processes.ledger(0, &admin).await.len();
    let body = licenses(&["ATTUNU"]);
    let grant_once = |process: usize, key: &str| {
        processes.client(process, &admin).set_user_licenses("acme", "u0", &body).idempotency_key(key).answer()
    };
    let first = grant_once(0, "\"grant-u0-once\"").await.unwrap();
    assert!(!first.replayed);

    let again = grant_once(1, "grant-u0-once").await.unwrap();
    assert!(again.replayed, "replayed by the other process: {again:?}");
    assert_eq!(again.etag, first.etag);
    let json = |body: &allot_api::UserLicenses| serde_json::to_value(body).unwrap();
    assert_eq!(json(&again.body), json(&first.body), "the first answer, as it was");
    let ledger = processes.ledger(1, &admin).await;
    assert_eq!(ledger.len(), before + 1, "one change only: {:#?}", &ledger[before..]);

    // The same key with another method (same path, same body), or another body, on the
    // other process: 422.
    let renamed = UpdateUser { name: Some("User One".into()), ..UpdateUser::default() };
    processes.client(0, &admin).update_user("acme", "u1", &renamed).idempotency_key("user-u1").await.unwrap();
    // Raw: a DELETE with the PATCH's body, so that only the method differs, which the
    // typed client (a DELETE has no body) cannot send.
    let url = format!("{}/api/v1/orgs/acme/users/u1", processes.addresses[1]);
    let reused = processes
        .http
        .delete(url)
        .bearer_auth(&admin)
        .header("idempotency-key", "user-u1")
        .json(&renamed)
        .send()
        .await
        .unwrap();
    let status = reused.status().as_u16();
    let reused: Value = reused.json().await.unwrap_or(Value::Null);
    assert_eq!((status, reused["code"].as_str()), (422, Some("idempotency_key_reused")), "{reused:#}");
    let other = UpdateUser { name: Some("Someone Else".into()), ..UpdateUser::default() };
    let reused = processes.client(1, &admin).update_user("acme", "u1", &other).idempotency_key("user-u1").await;
    assert_eq!(refused(reused), (422, ErrorCode::IdempotencyKeyReused));
    let revision = processes.stored_revision().await;
    let user = processes.client(0, &admin).user("acme", "u1").min_revision(revision).await.unwrap();
    assert_eq!(user.name, "User One", "neither reuse changed anything");
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_on_another_process_while_the_first_request_is_still_running_does_not_run_it_again() {
    let processes = Arc::new(Processes::start(&[DEFAULTS, DEFAULTS]).await);
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &[]).await;
    let create = CreateGroup { id: "g".into(), name: Some("Group G".into()) };
    let create_on = |process: usize| {
        processes.client(process, &admin).create_group("acme", &create).idempotency_key("create-g").answer()
    };

    // The first request is slow to commit (it waits for a turn the test holds), and its
    // client, tired of waiting, retries on the other process.
    let turn = hold_the_turn(&processes.url).await;
    let first = tokio::spawn(create_on(0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let retry = create_on(1).await;
    let first = first.await.unwrap();
    drop(turn);

    let first = first.unwrap().body;
    match retry {
        Ok(retry) => assert_eq!(retry.body, first, "a retry gets the first answer"),
        // Told that the first is still being processed: also an answer that runs nothing.
        Err(error)
            if error.code() == Some(ErrorCode::IdempotencyInProgress)
                && error.status() == Some(StatusCode::CONFLICT) => {}
        Err(error) => panic!("the retry ran the request again: {error}"),
    }
    let ledger = processes.ledger(0, &admin).await;
    let created = ledger.iter().filter(|e| matches!(e.change, Change::GroupCreated { .. })).count();
    assert_eq!(created, 1, "it ran once");
    // From now on, a retry on either process is the first answer.
    for process in 0..2 {
        let again = create_on(process).await.unwrap();
        assert!(again.replayed, "process {process}: {again:?}");
        assert_eq!(again.body, first);
    }
}

// 7. Stored plans applied on another process.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plan_validated_on_one_process_is_applied_by_id_on_another() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["a"]).await;
    let plan = processes.client(0, &admin).plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap();
    let id = plan.id.clone().unwrap();
    assert!(!plan.applied);
    let ledger = processes.ledger(0, &admin).await.len();

    let applied = processes.client(1, &admin).apply_plan("acme", &id).await.unwrap();
    assert_eq!((applied.applied, applied.id.as_deref()), (true, Some(id.as_str())));
    assert_eq!(applied.changes, plan.changes, "exactly the stored plan");
    let revision = applied.revision;
    for process in 0..2 {
        assert!(processes.check(process, &admin, "a", "ATTUNU", revision).await.allowed);
        assert_eq!(processes.pool(process, &admin, "ATTUNU", revision).await, (5, 1));
    }
    assert_eq!(processes.ledger(0, &admin).await.len(), ledger + 1);
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stored_plan_whose_state_changed_on_another_process_answers_plan_stale_with_the_differences_and_the_fresh_plan()
 {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5), ("TSTNU", 5), ("RPADEVNU", 1)], &["a", "c", "d"]).await;
    let first = processes.client(0, &admin);
    let stored = first.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap();
    let id = stored.id.unwrap();
    let last = first.plan("acme", &give(&["c"], &["RPADEVNU"], false)).await.unwrap();
    let last_id = last.id.clone().unwrap();
    assert!(last.possible);

    // On process 0: a comes to hold TSTNU (which the plan, setting a's licenses, now also
    // takes away), and d takes the last RPADEVNU (which the other plan no longer gets).
    first.set_user_licenses("acme", "a", &licenses(&["TSTNU"])).await.unwrap();
    first.set_user_licenses("acme", "d", &licenses(&["RPADEVNU"])).await.unwrap();
    let ledger = processes.ledger(0, &admin).await.len();

    let stale = processes.client(1, &admin).apply_plan("acme", &id).await.unwrap_err();
    assert_eq!((stale.status(), stale.code()), (Some(StatusCode::CONFLICT), Some(ErrorCode::PlanStale)), "{stale:?}");
    let problem = stale.problem().unwrap();
    let detail = &problem.detail;
    assert!(detail.contains("now also") && detail.contains("TSTNU"), "the difference: {detail}");
    assert!(!detail.contains("no longer"), "the ATTUNU part is unchanged: {detail}");
    let fresh = problem.plan.as_ref().unwrap();
    assert_eq!((fresh.possible, fresh.applied), (true, false), "{fresh:#?}");
    let mut holdings: Vec<(String, bool, bool)> =
        fresh.holdings.iter().map(|h| (h.product.clone(), h.before.is_none(), h.after.is_none())).collect();
    holdings.sort();
    assert_eq!(holdings, [("ATTUNU".into(), true, false), ("TSTNU".into(), false, true)], "{fresh:#?}");
    let mut pools: Vec<(String, i64, i64)> =
        fresh.pools.iter().map(|p| (p.license.clone(), p.allocated_before, p.allocated_after)).collect();
    pools.sort();
    assert_eq!(pools, [("ATTUNU".into(), 0, 1), ("TSTNU".into(), 1, 0)], "{fresh:#?}");

    // The other plan's own changes are the same, but the pool it draws from has no unit
    // left: refused, with the fresh plan and its violation. (Comparing only the changes,
    // the server may call this the violation rather than `plan_stale`.)
    let gone = processes.client(1, &admin).apply_plan("acme", &last_id).await.unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::CONFLICT), "{gone:?}");
    let code = gone.code();
    assert!([Some(ErrorCode::PlanStale), Some(ErrorCode::LicenseLimitExceeded)].contains(&code), "{gone:?}");
    let problem = gone.problem().unwrap();
    if code == Some(ErrorCode::PlanStale) {
        let detail = &problem.detail;
        assert!(detail.contains("RPADEVNU") && detail.contains("\"c\""), "{detail}");
    }
    let fresh = problem.plan.as_ref().unwrap();
    assert_eq!((fresh.possible, fresh.applied), (false, false), "{fresh:#?}");
    let violation = &fresh.violations[0];
    assert_eq!(
        (violation.code, violation.available, violation.requested),
        (ErrorCode::LicenseLimitExceeded, Some(0), Some(1)),
        "{fresh:#?}"
    );

    // Neither changed anything, on either process.
    let revision = processes.stored_revision().await;
    assert_eq!(processes.ledger(1, &admin).await.len(), ledger);
    for process in 0..2 {
        assert_eq!(processes.pool(process, &admin, "ATTUNU", revision).await, (5, 0));
        assert_eq!(processes.pool(process, &admin, "TSTNU", revision).await, (5, 1));
        assert_eq!(processes.pool(process, &admin, "RPADEVNU", revision).await, (1, 1));
        assert!(!processes.check(process, &admin, "c", "RPADEVNU", revision).await.allowed);
    }
    processes.check_books().await;
}

/// Which process creates and which writes at once in round `i` of `n` processes: every
/// ordered pair in turn, the one that never follows among them.
fn pair(i: usize, n: usize) -> (usize, usize) {
    let pairs: Vec<(usize, usize)> =
        (0..n).flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b))).collect();
    pairs[i % pairs.len()]
}

/// `answer` succeeded; else the refusal, named, for the tally.
fn refusal<T>(what: &str, answer: allot_client::Result<T>) -> Option<String> {
    answer.err().map(|error| format!("{what}: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_one_process_created_a_moment_ago_another_writes_to_at_once_200_times_each_on_two_processes() {
    create_on_one_write_on_another(&[DEFAULTS, NEVER_FOLLOWS]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_one_process_created_a_moment_ago_another_writes_to_at_once_200_times_each_on_three_processes() {
    create_on_one_write_on_another(&[DEFAULTS, NEVER_FOLLOWS, DEFAULTS]).await;
}

/// 200 rounds over `settings`' processes (one never following by itself: only the
/// database can tell it of what the others created) of: create on one process, then at
/// once write to it on another, for organizations, pools, users, groups, members and
/// tenants. No write may be refused.
async fn create_on_one_write_on_another(settings: &[Settings]) {
    let processes = Processes::start(settings).await;
    let admin = processes.admin().await;
    let host = processes.client(0, &admin);
    host.set_host_pools(&pools(&[("ATTUNU", 1_000_000), ("UNATT", 1_000_000)])).await.unwrap();
    let mut refusals = Vec::new();
    for i in 0..200 {
        let (creator, writer) = pair(i, settings.len());
        let (create, write) = (processes.client(creator, &admin), processes.client(writer, &admin));
        let org = format!("o{i}");
        // An organization, then its pools.
        create.create_org(&CreateOrg { id: org.clone(), name: None }).await.unwrap();
        let granted = write.set_org_pools(&org, &pools(&[("ATTUNU", 10), ("UNATT", 10)])).await;
        refusals.extend(refusal("org pools", granted));
        // A user, then their licenses (drawn from the pool granted a moment ago elsewhere).
        create.create_user(&org, &member("u")).await.unwrap();
        refusals.extend(refusal("user licenses", write.set_user_licenses(&org, "u", &licenses(&["ATTUNU"])).await));
        // A group, then its rule and a member; the member, then leaving.
        create.create_group(&org, &crate::harness::group("g")).await.unwrap();
        refusals.extend(refusal("group rule", write.set_group_rule(&org, "g", &rule(&["ATTUNU"])).await));
        create.add_member(&org, "g", "u").await.unwrap();
        refusals.extend(refusal("member", write.remove_member(&org, "g", "u").await));
        // A tenant, then its service's pools.
        create.create_tenant(&org, &CreateTenant { id: "t".into(), name: None }).await.unwrap();
        let service = write.set_service_pools(&org, "t", "orchestrator", &pools(&[("UNATT", 2)])).await;
        refusals.extend(refusal("tenant pools", service));
    }
    let first: Vec<&String> = refusals.iter().take(5).collect();
    assert!(
        refusals.is_empty(),
        "{} writes refused for what another process had just created: {first:?}",
        refusals.len()
    );
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_unit_for_200_users_created_a_moment_before_goes_to_one_over_three_processes_3_rounds() {
    let processes = Processes::start(&[DEFAULTS, NEVER_FOLLOWS, DEFAULTS]).await;
    let admin = processes.admin().await;
    let host = processes.client(0, &admin);
    host.set_host_pools(&pools(&[("ATTUNU", 1_000)])).await.unwrap();
    for round in 0..3 {
        let org = format!("race{round}");
        host.create_org(&CreateOrg { id: org.clone(), name: None }).await.unwrap();
        host.set_org_pools(&org, &pools(&[("ATTUNU", 1)])).await.unwrap();
        let users: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
        let creating: Vec<_> = users
            .iter()
            .map(|user| {
                let (host, org, user) = (host.clone(), org.clone(), user.clone());
                tokio::spawn(async move { host.create_user(&org, &member(&user)).await })
            })
            .collect();
        for created in creating {
            created.await.unwrap().unwrap();
        }
        // At once, from every process: the users are a moment old.
        let start = Arc::new(Barrier::new(users.len()));
        let tries: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, user)| {
                let client = processes.client(i % 3, &admin);
                let (org, user, start) = (org.clone(), user.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    client.set_user_licenses(&org, &user, &licenses(&["ATTUNU"])).await.map(|_| ())
                })
            })
            .collect();
        let mut tally = BTreeMap::<String, usize>::new();
        for answer in tries {
            let outcome = match answer.await.unwrap() {
                Ok(()) => "granted".to_owned(),
                Err(error) => format!("{:?} {:?}", error.status().map(|s| s.as_u16()), error.code()),
            };
            *tally.entry(outcome).or_default() += 1;
        }
        let expected = BTreeMap::from([
            ("granted".to_owned(), 1),
            (format!("{:?} {:?}", Some(409), Some(ErrorCode::LicenseLimitExceeded)), 199),
        ]);
        assert_eq!(tally, expected, "round {round}: one winner, every other 409, no 404");
    }
    processes.check_books().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_another_process_is_refused_at_once_after_its_credential_was_revoked_or_its_role_lowered() {
    // Process 1 never follows by itself and vouches for tokens it saw within 5 s from
    // memory: only the write path can know of what process 0 did a moment ago.
    let processes = Processes::start(&[DEFAULTS, NEVER_FOLLOWS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("ATTUNU", 5)], &["u"]).await;
    let host = processes.client(0, &admin);
    for boss in ["ada", "bea"] {
        host.create_user("acme", &person(boss, Role::Admin, "an admin password 123")).await.unwrap();
    }
    let robot = host
        .create_client("acme", &CreateClient { name: "robot".into(), scopes: vec!["allot:write".into()] })
        .await
        .unwrap();
    processes.sync().await;
    let processes = &processes;
    let login = |user: &'static str| async move {
        processes.anonymous(1).login(Some("acme"), user, "an admin password 123").await.unwrap().access_token
    };
    let (ada, bea) = (login("ada").await, login("bea").await);
    let robot_token = processes.anonymous(1).client_credentials(&robot.client_id, &robot.client_secret, None).await;
    let robot_token = robot_token.unwrap().access_token;
    let write = |token: String| async move {
        processes.client(1, &token).set_user_licenses("acme", "u", &licenses(&["ATTUNU"])).await.map(drop)
    };
    // Each works on process 1, which now remembers it.
    for token in [&ada, &bea, &robot_token] {
        write(token.clone()).await.unwrap();
    }

    // Ada's password changes, Bea becomes a reader and the robot is deleted, on process 0.
    host.set_password("acme", "ada", "a brand new password 456").await.unwrap();
    let reader = UpdateUser { role: Some(Role::Reader), ..UpdateUser::default() };
    host.update_user("acme", "bea", &reader).await.unwrap();
    host.delete_client("acme", &robot.client_id).await.unwrap();

    // At once, on process 1: no write goes through.
    let stored = processes.stored_revision().await;
    assert_eq!(refused(write(ada.clone()).await), (401, ErrorCode::Unauthorized), "a changed password");
    assert_eq!(refused(write(bea.clone()).await), (403, ErrorCode::Forbidden), "a lowered role");
    assert_eq!(refused(write(robot_token.clone()).await), (401, ErrorCode::Unauthorized), "a deleted client");
    assert_eq!(processes.stored_revision().await, stored, "the refused writes changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_logins_are_counted_once_for_every_process_on_the_database() {
    let processes = Processes::start(&[DEFAULTS, DEFAULTS]).await;
    let wrong = [("grant_type", "password"), ("username", "admin"), ("password", "not the password!")];
    for process in [0, 1, 0, 1, 0] {
        assert_eq!(processes.token_refusal(process, &wrong).await.0, 400, "process {process}");
    }
    let right = [("grant_type", "password"), ("username", "admin"), ("password", ADMIN_PASSWORD)];
    for process in [0, 1] {
        let (status, body) = processes.token_refusal(process, &right).await;
        assert_eq!(status, 429, "five failures over two processes lock the account here too: {body:#}");
    }
}

/// Vonage creates of Agents from three processes at once, `allowOverages=true`: the
/// contracted Agent licenses and then the maximum overage go to exactly as many creates,
/// whichever process each came to; the others get 409 and create nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_created_at_once_on_three_processes_stop_exactly_at_the_contract_and_the_maximum_overage() {
    let processes = Processes::start(&[DEFAULTS, NEVER_FOLLOWS, DEFAULTS]).await;
    let admin = processes.admin().await;
    processes.org(&admin, &[("vccrole:agent", 2), ("vccrole:agentoverage", 3)], &[]).await;
    let scopes = vec!["users:write".to_owned()];
    let client = processes.client(0, &admin);
    let api = client.create_client("acme", &CreateClient { name: "vcc".into(), scopes }).await.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", api.client_id.as_str()),
        ("client_secret", api.client_secret.as_str()),
        ("scope", "users:write"),
    ];
    let url = format!("{}/Auth/connect/token", processes.addresses[0]);
    let issued: Value = processes.http.post(url).form(&form).send().await.unwrap().json().await.unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let start = Arc::new(Barrier::new(60));
    let creates: Vec<_> = (0..60)
        .map(|i| {
            let url = format!("{}/useradmin/users?allowOverages=true", processes.addresses[i % 3]);
            let body = serde_json::json!({"username": format!("agent{i}"), "name": "A", "email": "a@example.com",
                                          "userAccountConfiguration": {"role": "Agent"}});
            let (http, token, start) = (processes.http.clone(), token.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let sent = http.post(url).bearer_auth(token).header("accept", "application/vnd.newvoicemedia.v4+json");
                sent.json(&body).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut tally = BTreeMap::<u16, usize>::new();
    for create in creates {
        *tally.entry(create.await.unwrap()).or_default() += 1;
    }
    assert_eq!(tally, BTreeMap::from([(201, 5), (409, 55)]), "two contracted, three over, no more");
    let pools = client.org_pools("acme").await.unwrap();
    assert_eq!((pool_of(&pools, "vccrole:agent"), pool_of(&pools, "vccrole:agentoverage")), ((2, 2), (3, 3)));
    assert_eq!(processes.users(0, &admin).await.unwrap().users.len(), 5, "a refused create creates no user");
    processes.check_books().await;
}
