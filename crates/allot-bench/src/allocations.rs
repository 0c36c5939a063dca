//! Durable allocations: 64 clients, each allocating a unit to its user and giving it back,
//! over HTTP, on SQLite against SQLite's own commits, and on PostgreSQL against pgbench.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_store::Store as _;
use anyhow::{Context as _, Result, bail, ensure};
use serde_json::json;

use crate::load::{self, Requests, Stats};
use crate::servers::{self, Allot};
use crate::system::{self, SyncCounter};
use crate::table::{Figures, Row, Target, median, median_round};
use crate::{Cli, baseline_first, in_turn};

/// allot set up for allocations: organization `bench` with one user per connection, and
/// `licenses` pools that every client draws from.
struct Scene {
    allot: Allot,
    licenses: Arc<Vec<String>>,
    token: Arc<str>,
}

/// What one run of allocations measured.
struct Allocations {
    stats: Stats,
    /// Changes committed per second: the revisions the store moved by (one per change),
    /// so a refused or empty request counts as none.
    changes_per_second: f64,
    /// Changes per commit group (per fsync of the log), when the syncs were counted.
    group: Option<f64>,
}

impl Scene {
    /// `pools` licenses of `quantity` units each, on `allot`.
    async fn new(allot: Allot, http: &reqwest::Client, cli: &Cli, pools: usize, quantity: i64) -> Result<Self> {
        let licenses: Vec<String> = (0..pools).map(|i| format!("BENCH{i:03}")).collect();
        for code in &licenses {
            let product = json!({"code": code, "name": code, "kind": "user"});
            allot.call(http, reqwest::Method::POST, "/api/v1/products", product).await?;
        }
        allot.setup(http, &licenses, quantity, cli.connections).await?;
        allot.sync(http).await?;
        let token = allot.token.as_str().into();
        Ok(Self { allot, licenses: Arc::new(licenses), token })
    }

    /// One run of `duration`; counting the server's syncs when `count_syncs` (one SQLite
    /// process).
    async fn run(&self, cli: &Cli, duration: Duration, count_syncs: bool) -> Result<Allocations> {
        let counter =
            if count_syncs { Some(SyncCounter::start(self.allot.processes[0].pid(), "allot.db")?) } else { None };
        let before = self.allot.store.revision().await?;
        let (licenses, token) = (&self.licenses, &self.token);
        let requests = |n: usize, host| allocation_requests(host, token.clone(), licenses.clone(), n, n as u64);
        let stats = load::run(&self.allot.addrs, cli.connections, duration, requests).await?.answered("allocations")?;
        let changes = self.allot.store.revision().await? - before;
        let syncs = counter.map(SyncCounter::stop).transpose()?;
        let group = syncs.map(|syncs| changes as f64 / syncs.commits().max(1) as f64);
        Ok(Allocations { changes_per_second: changes as f64 / stats.seconds, group, stats })
    }
}

/// User `user`'s requests: take a unit of a license drawn at random from `licenses`, give
/// it back, and so on. Every client draws from every pool, so clients share pools and
/// their changes meet in the same groups.
fn allocation_requests(
    host: SocketAddr,
    token: Arc<str>,
    licenses: Arc<Vec<String>>,
    user: usize,
    seed: u64,
) -> Requests {
    let mut rng = load::Draw::new(seed);
    let mut take = true;
    Box::new(move |out| {
        let body = if take {
            format!(r#"{{"licenses":[{{"license":"{}"}}]}}"#, licenses[rng.below(licenses.len())])
        } else {
            r#"{"licenses":[]}"#.to_owned()
        };
        take = !take;
        load::write_head(out, "PUT", &host, format_args!("/api/v1/orgs/bench/users/u{user}/licenses"), Some(&token));
        out.extend_from_slice(
            format!("content-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes(),
        );
        out.extend_from_slice(body.as_bytes());
    })
}

/// SQLite's own rate of committed rows, `rows_per_commit` single-row inserts per
/// transaction (on average: a fraction alternates between the integers around it), WAL,
/// `synchronous = FULL`, on the same disk as allot's database. One row per commit is the
/// single-row baseline; allot's rows per fsync, the limit a group commit could reach.
/// Answers the rows per second and the transactions committed.
fn sqlite_commits(seconds: u64, rows_per_commit: f64) -> Result<(f64, u64)> {
    let dir = tempfile::tempdir()?;
    let mut conn = rusqlite::Connection::open(dir.path().join("baseline.db"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)",
    )?;
    let (started, mut rows, mut commits) = (Instant::now(), 0u64, 0u64);
    while started.elapsed() < Duration::from_secs(seconds) {
        // The rows due by the end of this commit, less those written.
        let batch = ((commits + 1) as f64 * rows_per_commit).floor() as u64 - rows;
        let transaction = conn.transaction()?;
        for _ in 0..batch.max(1) {
            transaction.execute("INSERT INTO t (v) VALUES (?1)", [rows])?;
            rows += 1;
        }
        transaction.commit()?;
        commits += 1;
    }
    Ok((rows as f64 / started.elapsed().as_secs_f64(), commits))
}

/// The same, on the blocking pool.
async fn sqlite_rate(seconds: u64, rows_per_commit: f64) -> Result<f64> {
    Ok(tokio::task::spawn_blocking(move || sqlite_commits(seconds, rows_per_commit)).await??.0)
}

/// Checks `Syncs::commits` against SQLite's own commits, whose number is known: the
/// bench's process makes no other syncs while it runs them.
async fn check_commit_count(rows_per_commit: f64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("baseline.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (v INTEGER)")?;
    let counter = SyncCounter::start(std::process::id(), "baseline.db")?;
    let mut conn = conn;
    let commits = tokio::task::spawn_blocking(move || -> Result<u64> {
        for n in 0..20_000u64 {
            let transaction = conn.transaction()?;
            for _ in 0..rows_per_commit as u64 {
                transaction.execute("INSERT INTO t (v) VALUES (?1)", [n])?;
            }
            transaction.commit()?;
        }
        Ok(20_000)
    })
    .await??;
    let syncs = counter.stop()?;
    let counted = syncs.commits();
    eprintln!("sync count check: {commits} commits, {syncs:?}, counted as {counted} commits");
    ensure!(counted.abs_diff(commits) * 100 <= commits, "counting {syncs:?} as {counted} commits, not {commits}");
    Ok(())
}

/// The SQLite scenarios: 100 pools shared by all clients, one hot pool of 1,000 units,
/// and one pool of half as many units as clients, where refusals happen.
pub async fn sqlite(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let counting = system::can_count_syncs();
    if counting {
        check_commit_count(12.0).await?;
    } else {
        eprintln!("perf cannot count system calls here: allot's group size, and the limit, are not measured");
    }
    let at_limit = i64::try_from(cli.connections / 2)?;
    let scenes = [
        ("durable allocations, SQLite, 100 shared pools".to_owned(), 100, 1000, 3.0),
        ("same, one hot pool of 1,000".to_owned(), 1, 1000, 2.0),
        (format!("same, at the limit: one pool of {at_limit} units"), 1, at_limit, f64::NAN),
    ];
    let mut set_up = Vec::new();
    for (_, pools, quantity, _) in &scenes {
        let allot = servers::start_sqlite_process(http).await?;
        set_up.push(Scene::new(allot, http, cli, *pools, *quantity).await?);
    }
    // The latest group size each scene reached; the limit is measured at it.
    let mut groups: Vec<f64> = vec![1.0; scenes.len()];
    // Warm-up, unrecorded: it also gives the first round its group sizes.
    let warm_up = Duration::from_secs(cli.warm_up);
    for (scene, group) in set_up.iter().zip(&mut groups) {
        *group = scene.run(cli, warm_up, counting).await?.group.unwrap_or(1.0);
    }
    sqlite_rate(cli.warm_up, 1.0).await?;
    // Per round: the single-row rate, the limit per scene, each scene's run.
    let mut rounds: Vec<(f64, Vec<f64>, Vec<Allocations>)> = Vec::new();
    for round in 0..cli.rounds {
        let mut baselines = None;
        if baseline_first(round) {
            baselines = Some(sqlite_baselines(cli, &groups[..2]).await?);
        }
        let mut measured = Vec::new();
        for (scene, group) in set_up.iter().zip(&mut groups) {
            let run = scene.run(cli, Duration::from_secs(cli.seconds), counting).await?;
            *group = run.group.unwrap_or(1.0);
            measured.push(run);
        }
        let (single, limits) = match baselines {
            Some(baselines) => baselines,
            None => sqlite_baselines(cli, &groups[..2]).await?,
        };
        rounds.push((single, limits, measured));
    }
    for scene in &set_up {
        scene.allot.verify(http).await?;
    }
    for (s, (name, _, quantity, target)) in scenes.iter().enumerate() {
        sqlite_rows(cli, name, *quantity, *target, s, &rounds, counting, rows);
    }
    Ok(())
}

/// One round's baselines: SQLite's single-row commits, then its batched commits at each
/// scene's group size.
async fn sqlite_baselines(cli: &Cli, groups: &[f64]) -> Result<(f64, Vec<f64>)> {
    let single = sqlite_rate(cli.seconds, 1.0).await?;
    let mut limits = Vec::new();
    for group in groups {
        limits.push(sqlite_rate(cli.seconds, *group).await?);
    }
    Ok((single, limits))
}

/// The rows of scene `s`: against single-row commits (and its target, unless NaN), and
/// against the limit at its group size (the first two scenes, when syncs were counted).
#[allow(clippy::too_many_arguments)]
fn sqlite_rows(
    cli: &Cli,
    name: &str,
    quantity: i64,
    target: f64,
    s: usize,
    rounds: &[(f64, Vec<f64>, Vec<Allocations>)],
    counting: bool,
    rows: &mut Vec<Row>,
) {
    let figures: Vec<Figures> = rounds
        .iter()
        .map(|(single, _, runs)| Figures { allot: runs[s].changes_per_second, baseline: *single })
        .collect();
    let shown = median_round(&figures);
    let run = &rounds[shown].2[s];
    let refused: u64 = rounds.iter().map(|(_, _, runs)| runs[s].stats.refused).sum();
    let answered: u64 = rounds.iter().map(|(_, _, runs)| runs[s].stats.requests).sum();
    let measure = format!(
        "changes/s ({} clients, {quantity} units a pool; answered {:.0} req/s, p99 {:.1} ms; 409s: {:.1}% of all rounds' answers)",
        cli.connections,
        run.stats.per_second,
        run.stats.p99_ms,
        100.0 * refused as f64 / answered.max(1) as f64,
    );
    let (target, text) = if target.is_nan() {
        (Target::None, "none yet (reported)".to_owned())
    } else {
        (Target::AtLeast(target), format!(">= {target}x SQLite's single-row commits/s"))
    };
    rows.push(Row::new(name, &measure, &figures, shown, target, &text));
    if !counting || s >= rounds[0].1.len() {
        return;
    }
    let groups: Vec<f64> = rounds.iter().filter_map(|(_, _, runs)| runs[s].group).collect();
    let limits: Vec<Figures> = rounds
        .iter()
        .map(|(_, limits, runs)| Figures { allot: runs[s].changes_per_second, baseline: limits[s] })
        .collect();
    let measure = format!(
        "changes/s vs SQLite's rows/s at allot's group size ({:.1} changes per fsync, median; rounds {:.1}-{:.1})",
        median(&groups),
        groups.iter().copied().fold(f64::INFINITY, f64::min),
        groups.iter().copied().fold(0.0, f64::max),
    );
    rows.push(Row::new(
        "  its limit: SQLite's batched commits",
        &measure,
        &limits,
        shown,
        Target::None,
        "none: the limit",
    ));
}

/// Refuses a server that would not make a commit durable: `fsync` and
/// `synchronous_commit` must be on, as read on a connection to `url` itself (`psql`, which
/// comes with pgbench), so a setting per database or per role is seen too.
fn ensure_durable(url: &str) -> Result<()> {
    for setting in ["fsync", "synchronous_commit"] {
        let output = std::process::Command::new("psql")
            .args(["-X", "-A", "-t", "-c", &format!("SHOW {setting}"), url])
            .output()
            .context("cannot run psql")?;
        ensure!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
        let value = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if value != "on" {
            bail!(
                "PostgreSQL runs with {setting} = {value}: its commits are not durable, so the bench refuses to \
                 report. Run scripts/bench (its cluster runs with fsync and synchronous_commit on), or set both on."
            );
        }
    }
    Ok(())
}

/// `pgbench` on database `url`, which `init` prepares (scale 1), or runs the simple-update
/// transaction (`-N`) with 64 clients for `seconds`: its transactions per second.
async fn pgbench(url: &str, cli: &Cli, seconds: u64, init: bool) -> Result<f64> {
    let (url, clients) = (url.to_owned(), cli.connections.to_string());
    let args: Vec<String> = if init {
        ["-i", "-q", "-s", "1"].map(String::from).into()
    } else {
        ["-N", "-n", "-c", &clients, "-j", "2", "-T", &seconds.to_string()].map(String::from).into()
    };
    let report = tokio::task::spawn_blocking(move || -> Result<String> {
        let output =
            std::process::Command::new("pgbench").args(&args).arg(&url).output().context("cannot run pgbench")?;
        ensure!(output.status.success(), "pgbench {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    })
    .await??;
    if init {
        return Ok(0.0);
    }
    let tps = report.lines().find_map(|line| line.strip_prefix("tps = ")).context("pgbench printed no tps")?;
    Ok(tps.split_whitespace().next().unwrap_or_default().parse()?)
}

/// Three `allot serve` processes on one PostgreSQL database, 64 clients over 100 shared
/// pools, in rounds with pgbench on a database of its own in the same cluster.
pub async fn postgres(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let server = std::env::var("ALLOT_BENCH_POSTGRES_URL").context(
        "the PostgreSQL scenario needs a server: run scripts/bench, which starts a throwaway one, \
         or set ALLOT_BENCH_POSTGRES_URL to one this benchmark may create databases on",
    )?;
    let bench_url = allot_store::postgres::scratch_database(&server).await?;
    let url = allot_store::postgres::scratch_database(&server).await?;
    for database in [&server, &bench_url, &url] {
        ensure_durable(database)?;
    }
    pgbench(&bench_url, cli, 0, true).await?;
    let name = "durable allocations, PostgreSQL, 3 processes";
    let scene = Scene::new(servers::start_processes(http, &url, 3).await?, http, cli, 100, 1000).await?;
    scene.run(cli, Duration::from_secs(cli.warm_up), false).await?;
    pgbench(&bench_url, cli, cli.warm_up, false).await?;
    let mut figures = Vec::new();
    let mut runs = Vec::new();
    for round in 0..cli.rounds {
        let measured = scene.run(cli, Duration::from_secs(cli.seconds), false);
        let (run, tps) = in_turn(round, measured, pgbench(&bench_url, cli, cli.seconds, false)).await?;
        figures.push(Figures { allot: run.changes_per_second, baseline: tps });
        runs.push(run);
    }
    scene.allot.verify(http).await?;
    let shown = median_round(&figures);
    let measure = format!(
        "changes/s ({} clients, 100 shared pools, fsync on; p99 {:.1} ms)",
        cli.connections, runs[shown].stats.p99_ms
    );
    rows.push(Row::new(name, &measure, &figures, shown, Target::AtLeast(1.0), ">= 1x pgbench -N transactions/s"));
    Ok(())
}

/// One UiPath user-license call: 10,000 users x 3 codes, on SQLite.
pub async fn bulk(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    const USERS: usize = 10_000;
    let allot = servers::start_sqlite_process(http).await?;
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
    let tstnu = allot_core::LicenseKey::parse("TSTNU").map_err(anyhow::Error::msg)?;
    let pool = allot.store.load().await?.org("bench").map(|o| o.pool(&tstnu)).unwrap_or_default();
    ensure!(pool.allocated == USERS as i64, "TSTNU allocated {} of {USERS}", pool.allocated);
    let figures = [Figures { allot: seconds, baseline: 1.0 }];
    let name = "bulk: UiPath user-license, 10,000 users x 3 codes";
    rows.push(Row::new(name, "seconds (SQLite)", &figures, 0, Target::AtMost(1.0), "<= 1 s"));
    Ok(())
}
