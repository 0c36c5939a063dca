//! `cargo run --release -p allot-bench -- all`: measures allot the way a platform team
//! would, over real HTTP, each target a ratio against a baseline measured in the same run
//! on the same machine. Prints one table, writes it as JSON, and exits non-zero when a
//! target is missed or the books do not balance at the end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use allot_server::Config;
use allot_store::{Backend, Store};
use anyhow::{Context as _, Result, ensure};
use clap::{Parser, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

mod load;

/// The allocator `allot serve` uses (see crates/allot/src/main.rs), so the minimal server
/// it is compared with, this binary, allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use load::Stats;

#[derive(Parser)]
#[command(about = "allot's benchmarks")]
struct Cli {
    /// Which scenarios to run.
    #[arg(value_enum, default_value = "all")]
    scenario: Scenario,
    /// Seconds of load per measured run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections (clients).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Rounds of the check, the SQLite scenario and the check at scale, each measuring the
    /// baseline again; the table gives the median round. An odd number.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Users in the scale scenario (3 holdings each).
    #[arg(long, default_value_t = 1_000_000)]
    scale_users: usize,
    /// Where to write the table as JSON.
    #[arg(long, default_value = "target/bench.json")]
    json: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Check,
    Sqlite,
    Postgres,
    Bulk,
    Scale,
    /// Not a scenario: the check's baseline server, which the check starts.
    #[value(hide = true)]
    MinimalServer,
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    measure: String,
    value: f64,
    baseline: f64,
    ratio: f64,
    target: String,
    met: bool,
}

const PASSWORD: &str = "benchmark admin password";

/// allot under test: `allot serve` processes on a fresh SQLite file or one PostgreSQL
/// database; with a host admin's token.
struct Allot {
    /// Where each server listens.
    addrs: Vec<std::net::SocketAddr>,
    base: String,
    token: String,
    store: Backend,
    _processes: Vec<Process>,
    _dir: tempfile::TempDir,
}

/// A server process of the bench's, killed when dropped, on every path.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `allot serve` (the binary built beside this one) on a fresh SQLite file, as it is
/// deployed: its own process, with its own runtime, apart from the load generator's.
async fn start_sqlite_process(http: &reqwest::Client) -> Result<Allot> {
    let dir = tempfile::tempdir()?;
    let (process, addr) = spawn_serve(dir.path(), None).await?;
    connect_sqlite(http, dir, process, addr).await
}

/// Logs in to `allot serve`, `process`, at `addr`, and opens its SQLite store in `dir`.
async fn connect_sqlite(
    http: &reqwest::Client,
    dir: tempfile::TempDir,
    process: Process,
    addr: std::net::SocketAddr,
) -> Result<Allot> {
    let base = format!("http://{addr}");
    let token = login(http, &base).await?;
    let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
    let store = allot_server::open_store(&config).await.map_err(anyhow::Error::msg)?;
    Ok(Allot { addrs: vec![addr], base, token, store, _processes: vec![process], _dir: dir })
}

/// `processes` × `allot serve` (the binary built beside this one) on database `url`.
async fn start_processes(http: &reqwest::Client, url: &str, processes: usize) -> Result<Allot> {
    let dir = tempfile::tempdir()?;
    let (mut started, mut addrs) = (Vec::new(), Vec::new());
    for n in 0..processes {
        let data_dir = dir.path().join(format!("process-{n}"));
        let (process, addr) = spawn_serve(&data_dir, Some(url)).await?;
        started.push(process);
        addrs.push(addr);
    }
    let base = format!("http://{}", addrs[0]);
    let token = login(http, &base).await?;
    let store = Backend::Postgres(allot_store::PgStore::open(url).await?);
    Ok(Allot { addrs, base, token, store, _processes: started, _dir: dir })
}

/// Starts `allot serve` (the binary built beside this one) on `database`, else on SQLite in
/// `data_dir`, as deployed: the default configuration, whatever this shell sets, logging
/// to a file beside the data. Answers it once it listens.
async fn spawn_serve(data_dir: &std::path::Path, database: Option<&str>) -> Result<(Process, std::net::SocketAddr)> {
    let binary = std::env::current_exe()?.with_file_name("allot");
    ensure!(binary.exists(), "{} is missing: build it with `cargo build --release -p allot`", binary.display());
    let mut command = std::process::Command::new(&binary);
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
    if let Some(database) = database {
        command.args(["--database", database]);
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ALLOT_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    std::fs::create_dir_all(data_dir)?;
    spawn_listening(command.env("ALLOT_ADMIN_PASSWORD", PASSWORD), &data_dir.join("allot.log")).await
}

/// Starts a server that prints `... listening on http://ADDR` on its standard output when
/// it listens, with its standard error going to `log`; answers it and ADDR.
async fn spawn_listening(
    command: &mut std::process::Command,
    log: &std::path::Path,
) -> Result<(Process, std::net::SocketAddr)> {
    use std::io::BufRead as _;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut process = Process(
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?,
    );
    let stdout = process.0.stdout.take().context("no stdout")?;
    let (found, listening) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        let addr = lines.by_ref().find_map(|line| line.split_once("listening on http://").map(|(_, a)| a.to_owned()));
        let _ = found.send(addr);
        // Read on: a line printed later into a closed pipe would fail the server.
        lines.for_each(drop);
    });
    match listening.await.ok().flatten() {
        Some(addr) => Ok((process, addr.parse()?)),
        None => {
            drop(process);
            let logged = std::fs::read_to_string(log).unwrap_or_default();
            anyhow::bail!("{program} exited before listening; it logged:\n{logged}")
        }
    }
}

async fn login(http: &reqwest::Client, base: &str) -> Result<String> {
    let form = [("grant_type", "password"), ("username", "admin"), ("password", PASSWORD)];
    let answer: Value = http.post(format!("{base}/oauth/token")).form(&form).send().await?.json().await?;
    Ok(answer["access_token"].as_str().context("no token")?.to_owned())
}

impl Allot {
    async fn call(&self, http: &reqwest::Client, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        let response =
            http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "{path}: {status} {answer}");
        Ok(answer)
    }

    /// An organization `bench` holding `quantity` of each license, and users u0..u{users}.
    async fn setup(&self, http: &reqwest::Client, licenses: &[String], quantity: i64, users: usize) -> Result<()> {
        use reqwest::Method;
        self.call(http, Method::POST, "/api/v1/orgs", json!({"id": "bench"})).await?;
        let host: Vec<Value> = licenses.iter().map(|l| json!({"license": l, "quantity": quantity})).collect();
        self.call(http, Method::PUT, "/api/v1/host/pools", json!({ "pools": host })).await?;
        self.call(http, Method::PUT, "/api/v1/orgs/bench/pools", json!({ "pools": host })).await?;
        for user in 0..users {
            self.call(http, Method::POST, "/api/v1/orgs/bench/users", json!({"id": format!("u{user}")})).await?;
        }
        Ok(())
    }

    /// Waits until every process has caught up with the database.
    async fn sync(&self, http: &reqwest::Client) -> Result<()> {
        let revision = self.store.revision().await?;
        for addr in &self.addrs {
            let response = http.get(format!("http://{addr}/healthz?min_revision={revision}")).send().await?;
            ensure!(response.status().is_success(), "{addr} did not reach revision {revision}");
        }
        Ok(())
    }

    /// The books must balance: the ledger replays to the stored balances, no pool is over
    /// its quantity, and every server, caught up, answers the pools the store holds.
    async fn verify(&self, http: &reqwest::Client) -> Result<()> {
        use allot_core::{OrgId, Scope};
        let check = self.store.check_ledger().await?;
        ensure!(check.differences.is_empty(), "the balances differ from the ledger: {:?}", check.differences);
        let stored = self.store.load().await?;
        let balances = stored.balances();
        for ((scope, license), pool) in &balances {
            ensure!(pool.allocated <= pool.grant.quantity, "{scope:?} {license} is over its quantity: {pool:?}");
        }
        let bench = Scope::Org { org: OrgId::parse("bench")? };
        for (path, scope) in [("/api/v1/host/pools", Scope::Host), ("/api/v1/orgs/bench/pools", bench)] {
            // (license, quantity, allocated), in the order the API lists them: by license.
            let held: Vec<(String, i64, i64)> = balances
                .iter()
                .filter(|((at, _), pool)| *at == scope && !pool.is_empty())
                .map(|((_, license), pool)| (license.to_string(), pool.grant.quantity, pool.allocated))
                .collect();
            for addr in &self.addrs {
                let url = format!("http://{addr}{path}?min_revision={}", stored.revision());
                let answer: Value =
                    http.get(url).bearer_auth(&self.token).send().await?.error_for_status()?.json().await?;
                let pools = answer["pools"].as_array().context("no pools in the answer")?;
                let served: Vec<(String, i64, i64)> = pools
                    .iter()
                    .map(|p| {
                        let number = |field: &str| p[field].as_i64().unwrap_or(-1);
                        (p["license"].as_str().unwrap_or_default().to_owned(), number("quantity"), number("allocated"))
                    })
                    .collect();
                ensure!(served == held, "{addr} answers {path} as {served:?}, the store holds {held:?}");
            }
        }
        Ok(())
    }
}

/// The baseline for the check: a minimal axum server answering a fixed small JSON body,
/// in a process of its own as `allot serve` is (this binary, `minimal-server`).
async fn spawn_minimal_server(dir: &std::path::Path) -> Result<(Process, std::net::SocketAddr)> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    spawn_listening(command.arg("minimal-server"), &dir.join("minimal.log")).await
}

/// `allot-bench minimal-server`: serves the check's baseline until killed.
async fn serve_minimal() -> Result<()> {
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::Json(json!({"allowed": true, "reason": "held", "revision": 1})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("minimal server: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}

/// `cli.connections` connections to `server`, each asking `path` over and over.
async fn get_load(server: std::net::SocketAddr, path: &str, token: Option<&str>, cli: &Cli) -> Stats {
    load::run(&[server], cli.connections, Duration::from_secs(cli.seconds), |_| vec![load::Call::get(path, token)])
        .await
}

/// The check against the minimal server, in rounds as the SQLite scenario: each round
/// measures the minimal server, then allot.
async fn check(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (_minimal, minimal) = spawn_minimal_server(dir.path()).await?;
    let allot = start_sqlite_process(http).await?;
    allot.setup(http, &["ATTUNU".to_owned()], 1000, 1).await?;
    allot
        .call(
            http,
            reqwest::Method::PUT,
            "/api/v1/orgs/bench/users/u0/licenses",
            json!({"licenses": [{"license": "ATTUNU"}]}),
        )
        .await?;
    let path = "/api/v1/orgs/bench/users/u0/licenses/ATTUNU";
    let answer: Value =
        http.get(format!("{}{path}", allot.base)).bearer_auth(&allot.token).send().await?.json().await?;
    ensure!(answer["allowed"] == true, "the check answers {answer}");
    let mut rounds = Vec::new();
    for _ in 0..cli.rounds {
        let baseline = get_load(minimal, "/", None, cli).await.all_answered("requests to the minimal server")?;
        let measured = get_load(allot.addrs[0], path, Some(&allot.token), cli).await.all_answered("checks")?;
        rounds.push((measured, baseline));
    }
    allot.verify(http).await?;
    let ((measured, baseline), ratio, (low, high)) = median_round(&rounds, |stats| stats.per_second);
    rows.push(Row {
        scenario: "check".into(),
        measure: format!("req/s ({} conns, p50 {:.2} ms; {low:.2}-{high:.2}x)", cli.connections, measured.p50_ms),
        value: measured.per_second,
        baseline: baseline.per_second,
        ratio,
        target: ">= 0.5x the minimal axum server".into(),
        met: ratio >= 0.5,
    });
    let ((measured, baseline), ratio, (low, high)) = median_round(&rounds, |stats| stats.p99_ms);
    rows.push(Row {
        scenario: "check".into(),
        measure: format!("p99 ms ({low:.2}-{high:.2}x)"),
        value: measured.p99_ms,
        baseline: baseline.p99_ms,
        ratio,
        target: "<= 2x the minimal axum server".into(),
        met: ratio <= 2.0,
    });
    Ok(())
}

/// Rounds of (allot's, the baseline's) figures: the round whose ratio of `figure`s is the
/// median, that ratio, and the lowest and the highest ratio of all. `rounds` is not empty.
fn median_round<T>(rounds: &[(T, T)], figure: impl Fn(&T) -> f64) -> (&(T, T), f64, (f64, f64)) {
    let ratio = |round: &(T, T)| figure(&round.0) / figure(&round.1);
    let mut sorted: Vec<&(T, T)> = rounds.iter().collect();
    sorted.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let median = sorted[sorted.len() / 2];
    (median, ratio(median), (ratio(sorted[0]), ratio(sorted[sorted.len() - 1])))
}

/// SQLite's own rate of one committed single-row write per transaction (WAL,
/// synchronous=FULL), on the same disk as allot's database.
fn sqlite_baseline(seconds: u64) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let conn = rusqlite::Connection::open(dir.path().join("baseline.db"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)",
    )?;
    let (started, mut writes) = (Instant::now(), 0u64);
    while started.elapsed() < Duration::from_secs(seconds) {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [writes])?;
        writes += 1;
    }
    Ok(writes as f64 / started.elapsed().as_secs_f64())
}

/// 64 clients, each allocating and releasing one user's license, over `pools` licenses;
/// connection n talks to process n mod the number of processes.
async fn allocations(cli: &Cli, http: &reqwest::Client, allot: &Allot, pools: usize) -> Result<Stats> {
    let licenses: Vec<String> = (0..pools).map(|i| format!("BENCH{i:03}")).collect();
    for code in &licenses {
        let product = json!({"code": code, "name": code, "kind": "user"});
        allot.call(http, reqwest::Method::POST, "/api/v1/products", product).await?;
    }
    allot.setup(http, &licenses, 1000, cli.connections).await?;
    allot.sync(http).await?;
    // Connection n's user takes a unit, gives it back, and so on: every request is one change.
    let calls = |n: usize| {
        let path = format!("/api/v1/orgs/bench/users/u{n}/licenses");
        let take = json!({"licenses": [{"license": licenses[n % licenses.len()]}]});
        let give_back = json!({"licenses": []});
        vec![load::Call::put(&path, &allot.token, &take), load::Call::put(&path, &allot.token, &give_back)]
    };
    let stats = load::run(&allot.addrs, cli.connections, Duration::from_secs(cli.seconds), calls)
        .await
        .all_answered("allocations")?;
    allot.verify(http).await?;
    Ok(stats)
}

/// SQLite's single-row commits swing with the disk from minute to minute here, so the
/// scenario runs in rounds, each measuring the baseline and then both allot runs, and the
/// table gives the round with the median ratio, with the range of all.
async fn sqlite(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let scenarios = [(100, 3.0, "durable allocations, SQLite, 100 pools"), (1, 2.0, "same, one hot pool of 1,000")];
    // Per scenario, each round's (changes/s, baseline).
    let mut rounds: Vec<Vec<(f64, f64)>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..cli.rounds {
        let seconds = cli.seconds;
        let baseline = tokio::task::spawn_blocking(move || sqlite_baseline(seconds)).await??;
        for ((pools, ..), measured) in scenarios.iter().zip(&mut rounds) {
            let stats = allocations(cli, http, &start_sqlite_process(http).await?, *pools).await?;
            measured.push((stats.per_second, baseline));
        }
    }
    for ((_, target, name), measured) in scenarios.into_iter().zip(rounds) {
        let (&(value, baseline), ratio, (low, high)) = median_round(&measured, |changes| *changes);
        rows.push(Row {
            scenario: name.into(),
            measure: format!("changes/s ({} clients; {low:.2}-{high:.2}x)", cli.connections),
            value,
            baseline,
            ratio,
            target: format!(">= {target}x SQLite's single-row commits/s"),
            met: ratio >= target,
        });
    }
    Ok(())
}

/// PostgreSQL's own rate for its simple-update transaction (`pgbench -N`), 64 clients, on
/// a database of its own on the same cluster.
async fn pgbench_baseline(server: &str, cli: &Cli) -> Result<f64> {
    let url = allot_store::postgres::scratch_database(server).await?;
    let pgbench = |args: &[&str]| -> Result<String> {
        let output =
            std::process::Command::new("pgbench").args(args).arg(&url).output().context("cannot run pgbench")?;
        ensure!(output.status.success(), "pgbench {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    pgbench(&["-i", "-q", "-s", "1"])?;
    let (clients, seconds) = (cli.connections.to_string(), cli.seconds.to_string());
    let report = pgbench(&["-N", "-n", "-c", &clients, "-j", "2", "-T", &seconds])?;
    let tps = report.lines().find_map(|line| line.strip_prefix("tps = ")).context("pgbench printed no tps")?;
    Ok(tps.split_whitespace().next().unwrap_or_default().parse()?)
}

/// Three `allot serve` processes on one PostgreSQL database, 64 clients over 100 pools.
async fn postgres(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let server = std::env::var("ALLOT_BENCH_POSTGRES_URL").context(
        "the PostgreSQL scenario needs a server: run scripts/bench, which starts a throwaway one, \
         or set ALLOT_BENCH_POSTGRES_URL to one this benchmark may create databases on",
    )?;
    let baseline = pgbench_baseline(&server, cli).await?;
    let url = allot_store::postgres::scratch_database(&server).await?;
    let allot = start_processes(http, &url, 3).await?;
    let stats = allocations(cli, http, &allot, 100).await?;
    let ratio = stats.per_second / baseline;
    rows.push(Row {
        scenario: "durable allocations, PostgreSQL, 3 processes".into(),
        measure: format!("changes/s ({} clients, 100 pools)", cli.connections),
        value: stats.per_second,
        baseline,
        ratio,
        target: ">= 1x pgbench -N transactions/s".into(),
        met: ratio >= 1.0,
    });
    Ok(())
}

/// Writes `users` users with 3 licenses each to a new SQLite database in `dir`, through
/// the planner and the store as the server would, in batches.
async fn seed(dir: &std::path::Path, users: usize) -> Result<()> {
    use allot_core::{Command, DirectLicense, Grant, LedgerEntry, LicenseKey, OrgId, UserId, UserProfile};
    const BATCH: usize = 25_000;
    let store = allot_store::SqliteStore::open(&dir.join("allot.db"))?;
    let mut state = allot_core::State::default();
    let org = OrgId::parse("bench")?;
    let codes = ["RPADEVNU", "ATTUNU", "TSTNU"].map(LicenseKey::parse).map(|key| key.map_err(anyhow::Error::msg));
    let codes = codes.into_iter().collect::<Result<Vec<_>>>()?;
    let quantity = i64::try_from(users)?;
    let mut setup = vec![Command::CreateOrg { org: org.clone(), name: "bench".into() }];
    for license in &codes {
        setup.push(Command::SetHostPool { license: license.clone(), grant: Grant::quantity(quantity) });
        setup.push(Command::SetOrgPool {
            org: org.clone(),
            license: license.clone(),
            grant: Grant::quantity(quantity),
        });
    }
    let mut batches = vec![setup];
    for first in (0..users).step_by(BATCH) {
        let mut commands = Vec::with_capacity(2 * BATCH);
        for n in first..(first + BATCH).min(users) {
            let user = UserId::parse(&format!("u{n}"))?;
            let profile = UserProfile::default();
            commands.push(Command::CreateUser { org: org.clone(), user: user.clone(), profile });
            let licenses = codes.iter().map(|l| DirectLicense::of(l.clone(), false)).collect();
            commands.push(Command::SetDirectLicenses { org: org.clone(), user, licenses });
        }
        batches.push(commands);
    }
    let actor = allot_core::Actor { name: "benchmark".into(), request_id: "seed".into() };
    for commands in batches {
        let plan = allot_core::plan(&mut state, &commands, 0);
        ensure!(plan.is_possible(), "seeding: {:?}", plan.violations.first());
        let revision = state.revision() + 1;
        let entries = LedgerEntry::for_plan(revision, 0, &actor, &plan.changes);
        store.commit(allot_store::Commit { revision, at: 0, entries, idempotency: None }).await?;
        state.apply_all(revision, &plan.changes)?;
    }
    Ok(())
}

/// A kilobyte figure from /proc/<pid>/status (`VmRSS`, `VmHWM`), in MB.
fn memory_mb(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field}"))?;
    let kb: f64 = line.split_whitespace().nth(1).context("no figure")?.parse()?;
    Ok(kb / 1024.0)
}

/// `allot serve` on a database of `users` users x 3 licenses, ready.
struct AtScale {
    users: usize,
    ready_seconds: f64,
    pid: u32,
    allot: Allot,
}

impl AtScale {
    /// Seeds the database, then starts the server and times it until ready.
    async fn start(http: &reqwest::Client, users: usize) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        seed(dir.path(), users).await?;
        let started = Instant::now();
        let (process, addr) = spawn_serve(dir.path(), None).await?;
        let pid = process.0.id();
        while !http.get(format!("http://{addr}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ready_seconds = started.elapsed().as_secs_f64();
        Ok(Self { users, ready_seconds, pid, allot: connect_sqlite(http, dir, process, addr).await? })
    }

    /// The check's rate, each connection asking about a different user.
    async fn check(&self, cli: &Cli) -> Result<Stats> {
        let step = (self.users / cli.connections).max(1);
        let calls = |n: usize| {
            let path = format!("/api/v1/orgs/bench/users/u{}/licenses/ATTUNU", (n * step) % self.users);
            vec![load::Call::get(path, Some(&self.allot.token))]
        };
        load::run(&self.allot.addrs, cli.connections, Duration::from_secs(cli.seconds), calls)
            .await
            .all_answered("checks")
    }
}

/// 1,000,000 users with 3 holdings each, against the same `allot serve` with 64. Both
/// servers run side by side and their checks take turns, in rounds, as in the SQLite
/// scenario: the table gives the round with the median ratio.
async fn scale(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let small = AtScale::start(http, cli.connections).await?;
    let large = AtScale::start(http, cli.scale_users).await?;
    let mut rounds = Vec::new();
    for _ in 0..cli.rounds {
        let (at_small, at_large) = (small.check(cli).await?, large.check(cli).await?);
        rounds.push((at_large, at_small));
    }
    let ((at_large, at_small), ratio, (low, high)) = median_round(&rounds, |stats| stats.per_second);
    let name = format!("scale: {} users x 3 holdings", cli.scale_users);
    let (peak_mb, rss_mb) = (memory_mb(large.pid, "VmHWM")?, memory_mb(large.pid, "VmRSS")?);
    rows.push(Row {
        scenario: name.clone(),
        measure: format!("peak RSS MB (now {rss_mb:.0} MB)"),
        value: peak_mb,
        baseline: memory_mb(small.pid, "VmHWM")?,
        ratio: peak_mb / 400.0,
        target: "<= 400 MB".into(),
        met: peak_mb <= 400.0,
    });
    rows.push(Row {
        scenario: name.clone(),
        measure: "seconds from start to ready".into(),
        value: large.ready_seconds,
        baseline: small.ready_seconds,
        ratio: large.ready_seconds / 5.0,
        target: "<= 5 s".into(),
        met: large.ready_seconds <= 5.0,
    });
    rows.push(Row {
        scenario: name,
        measure: format!("check req/s (p99 {:.1} ms; {low:.2}-{high:.2}x)", at_large.p99_ms),
        value: at_large.per_second,
        baseline: at_small.per_second,
        ratio,
        target: ">= 0.9x the same with 64 users".into(),
        met: ratio >= 0.9,
    });
    // Last: it replays the ledger and loads the books in this process, which would compete
    // with the servers measured.
    for at in [&small, &large] {
        at.allot.verify(http).await?;
    }
    Ok(())
}

/// One UiPath user-license call: 10,000 users x 3 codes, on SQLite.
async fn bulk(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    const USERS: usize = 10_000;
    let allot = start_sqlite_process(http).await?;
    let codes = ["RPADEVNU", "ATTUNU", "TSTNU"].map(str::to_owned);
    allot.setup(http, &codes, USERS as i64, 0).await?;
    // Users are created concurrently, before the measured call: one task per connection.
    let creators: Vec<_> = (0..cli.connections)
        .map(|task| {
            let (base, token, client, step) = (allot.base.clone(), allot.token.clone(), http.clone(), cli.connections);
            tokio::spawn(async move {
                for n in (task..USERS).step_by(step) {
                    let url = format!("{base}/api/v1/orgs/bench/users");
                    let response =
                        client.post(url).bearer_auth(&token).json(&json!({"id": format!("u{n}")})).send().await?;
                    ensure!(response.status().is_success(), "creating u{n}: {}", response.status());
                }
                Ok(())
            })
        })
        .collect();
    for creator in creators {
        creator.await??;
    }
    let body = json!({
        "userIds": (0..USERS).map(|n| format!("u{n}")).collect::<Vec<_>>(),
        "userBundleCodes": codes,
        "useExternalLicense": false,
    });
    let started = Instant::now();
    let response = http
        .put(format!("{}/lease_/api/account/bench/user-license", allot.base))
        .bearer_auth(&allot.token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(status.is_success(), "the bulk call answered {status}");
    allot.verify(http).await?;
    let tstnu = allot_core::LicenseKey::parse("TSTNU")?;
    let pool = allot.store.load().await?.org("bench").map(|o| o.pool(&tstnu)).unwrap_or_default();
    ensure!(pool.allocated == USERS as i64, "TSTNU allocated {} of {USERS}", pool.allocated);
    rows.push(Row {
        scenario: "bulk: UiPath user-license, 10,000 users x 3 codes".into(),
        measure: "seconds (SQLite)".into(),
        value: seconds,
        baseline: 1.0,
        ratio: seconds,
        target: "<= 1 s".into(),
        met: seconds <= 1.0,
    });
    Ok(())
}

/// Prints the table, each column as wide as its widest cell, the figures aligned right.
fn print(rows: &[Row]) {
    const HEADER: [&str; 7] = ["scenario", "measure", "allot", "baseline", "ratio", "target", "met"];
    let is_figure = |column: usize| matches!(HEADER[column], "allot" | "baseline" | "ratio");
    let cells: Vec<[String; HEADER.len()]> = std::iter::once(HEADER.map(String::from))
        .chain(rows.iter().map(|r| {
            [
                r.scenario.clone(),
                r.measure.clone(),
                format!("{:.1}", r.value),
                format!("{:.1}", r.baseline),
                format!("{:.2}", r.ratio),
                r.target.clone(),
                (if r.met { "yes" } else { "NO" }).into(),
            ]
        }))
        .collect();
    let widths = std::array::from_fn::<usize, { HEADER.len() }, _>(|column| {
        cells.iter().map(|row| row[column].chars().count()).max().unwrap_or(0)
    });
    for row in &cells {
        let line: Vec<String> = (0..HEADER.len())
            .map(|column| {
                let (cell, width) = (&row[column], widths[column]);
                if is_figure(column) { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.scenario == Scenario::MinimalServer {
        return serve_minimal().await;
    }
    ensure!(cli.rounds % 2 == 1, "--rounds takes an odd number, so that one round is the median");
    let http = reqwest::Client::builder().pool_max_idle_per_host(cli.connections * 2).build()?;
    let mut rows = Vec::new();
    if matches!(cli.scenario, Scenario::All | Scenario::Check) {
        check(&cli, &http, &mut rows).await?;
    }
    if matches!(cli.scenario, Scenario::All | Scenario::Sqlite) {
        sqlite(&cli, &http, &mut rows).await?;
    }
    if matches!(cli.scenario, Scenario::All | Scenario::Postgres) {
        postgres(&cli, &http, &mut rows).await?;
    }
    if matches!(cli.scenario, Scenario::All | Scenario::Bulk) {
        bulk(&cli, &http, &mut rows).await?;
    }
    if matches!(cli.scenario, Scenario::All | Scenario::Scale) {
        scale(&cli, &http, &mut rows).await?;
    }
    print(&rows);
    if let Some(dir) = cli.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.json, serde_json::to_string_pretty(&rows)?)?;
    let missed = rows.iter().filter(|r| !r.met).count();
    ensure!(missed == 0, "{missed} target(s) missed (table also in {})", cli.json.display());
    Ok(())
}
