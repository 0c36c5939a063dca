//! The past at scale: `holders?as_of=` and `usage` over a ledger of 10^4 and of 10^6
//! entries over 100 organizations of the same size, and the server's memory while 20 such
//! reads run at once.
//!
//! Setup writes the ledger straight to the store in bulk, as the committer would write it
//! (no HTTP: a million entries through the API would take the run's time), then the
//! checkpoints the server's housekeeping would write (`allot_server::checkpoints::write`),
//! so that the reads measured are those of a server that has caught up.

use std::path::Path;
use std::time::Instant;

use allot_core::{Change, Grant, Holding, LedgerEntry, LicenseKey, OrgId, Scope, Source, UserId, UserProfile};
use allot_store::{Commit, Store as _};
use anyhow::{Context, Result, ensure};

use crate::table::{Figures, Row, Target, median, median_round};
use crate::{Cli, servers, system};

const ORGS: usize = 100;
/// Users per organization, each created and given ATTUNU: 100 entries per organization,
/// 10,000 in all, the small ledger; the large one toggles the holdings on to 10^6.
const USERS: usize = 50;
const LICENSE: &str = "ATTUNU";
/// Entries per revision, and revisions per transaction while seeding.
const PER_REVISION: usize = 1_000;
const PER_TRANSACTION: usize = 20;
const YEAR_MS: i64 = 365 * 24 * 3_600 * 1_000;
/// 2026-01-01T00:00:00Z: the ledger spans the year after.
const START: i64 = 1_767_225_600_000;
const READS: usize = 30;
const CONCURRENT: usize = 20;

fn org(o: usize) -> Result<OrgId> {
    OrgId::parse(&format!("o{o}")).map_err(anyhow::Error::msg)
}

/// Every change of the ledger of `entries` entries, in order: the organizations and their
/// pools, their users with ATTUNU, then ATTUNU released and taken again, round robin.
fn changes(entries: usize) -> Result<Vec<Change>> {
    let license = LicenseKey::parse(LICENSE).map_err(anyhow::Error::msg)?;
    let product = license.product.clone();
    let held = Holding::new(None, Source::Direct, false);
    let quantity = i64::try_from(USERS)?;
    let mut all = vec![Change::PoolSet {
        scope: Scope::Host,
        license: license.clone(),
        before: Grant::default(),
        after: Grant::quantity(quantity * i64::try_from(ORGS)?),
    }];
    let users: Vec<UserId> =
        (0..USERS).map(|u| UserId::parse(&format!("u{u}"))).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
    for o in 0..ORGS {
        let org = org(o)?;
        all.push(Change::OrgCreated { org: org.clone(), name: format!("Org {o}") });
        let scope = Scope::Org { org: org.clone() };
        all.push(Change::PoolSet {
            scope,
            license: license.clone(),
            before: Grant::default(),
            after: Grant::quantity(quantity),
        });
        for user in &users {
            all.push(Change::UserCreated { org: org.clone(), user: user.clone(), profile: UserProfile::default() });
            let (before, after) = (None, Some(held.clone()));
            all.push(Change::HoldingSet {
                org: org.clone(),
                user: user.clone(),
                product: product.clone(),
                before,
                after,
            });
        }
    }
    // Toggling: the n-th pass over (organization, user) releases when n is even, takes when odd.
    let mut n = 0usize;
    while all.len() < entries {
        let (pass, at) = (n / (ORGS * USERS), n % (ORGS * USERS));
        let (org, user) = (org(at % ORGS)?, users[at / ORGS].clone());
        let (before, after) =
            if pass.is_multiple_of(2) { (Some(held.clone()), None) } else { (None, Some(held.clone())) };
        all.push(Change::HoldingSet { org, user, product: product.clone(), before, after });
        n += 1;
    }
    Ok(all)
}

/// Writes the ledger of `entries` entries to a new SQLite database in `dir`, its revisions
/// spread evenly over the year from [`START`], and the checkpoints it calls for.
async fn seed(dir: &Path, entries: usize) -> Result<()> {
    let store = allot_store::SqliteStore::open(&dir.join("allot.db"))?;
    let mut state = allot_core::State::default();
    let all = changes(entries)?;
    let revisions = all.len().div_ceil(PER_REVISION);
    let step = YEAR_MS / i64::try_from(revisions)?;
    let actor = allot_core::Actor { name: "benchmark".into(), request_id: "seed".into() };
    let mut commits = Vec::new();
    for (i, changes) in all.chunks(PER_REVISION).enumerate() {
        let revision = u64::try_from(i)? + 1;
        let at = START + step * i64::try_from(i)?;
        state.apply_all(revision, changes)?;
        let entries = LedgerEntry::for_plan(revision, at, &actor, changes);
        commits.push(Commit { revision, at, entries, idempotency: None, side: Vec::new() });
        if commits.len() == PER_TRANSACTION {
            store.commit_all(&std::mem::take(&mut commits)).await?;
        }
    }
    store.commit_all(&commits).await?;
    for o in 0..ORGS {
        allot_server::checkpoints::write(&store, &org(o)?.key(), allot_server::checkpoints::EVERY).await?;
    }
    Ok(())
}

/// A seeded server and a host admin's token.
struct Seeded {
    _dir: tempfile::TempDir,
    process: servers::Process,
    base: String,
    token: String,
}

impl Seeded {
    async fn start(http: &reqwest::Client, entries: usize) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let began = Instant::now();
        seed(dir.path(), entries).await?;
        eprintln!("history: seeded {entries} entries in {:.1} s", began.elapsed().as_secs_f64());
        let (process, addr) = servers::spawn_serve(dir.path(), None).await?;
        servers::wait_ready(http, addr).await;
        let base = format!("http://{addr}");
        let token = servers::login(http, &base).await?;
        Ok(Self { _dir: dir, process, base, token })
    }

    /// Milliseconds of one GET of `path` (answered 200).
    async fn get(&self, http: &reqwest::Client, path: &str) -> Result<f64> {
        let began = Instant::now();
        let answer = http.get(format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token).send().await?;
        ensure!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.bytes().await?;
        Ok(began.elapsed().as_secs_f64() * 1e3)
    }

    /// The median of [`READS`] reads of `path(o)` for organizations round robin.
    async fn median_ms(&self, http: &reqwest::Client, path: impl Fn(usize) -> String) -> Result<f64> {
        let mut times = Vec::with_capacity(READS);
        for i in 0..READS {
            times.push(self.get(http, &path((i * 37) % ORGS)).await?);
        }
        Ok(median(&times))
    }
}

fn rfc3339(at: i64) -> String {
    allot_api::rfc3339(at)
}

fn holders_path(o: usize) -> String {
    format!("/orgs/o{o}/holders?license={LICENSE}&as_of={}", rfc3339(START + YEAR_MS / 2))
}

fn usage_path(o: usize) -> String {
    format!("/orgs/o{o}/usage?license={LICENSE}&from={}&until={}", rfc3339(START), rfc3339(START + YEAR_MS))
}

pub async fn history(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let small = Seeded::start(http, 10_000).await?;
    let large = Seeded::start(http, 1_000_000).await?;
    let (mut holders, mut absolute, mut usage) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..cli.rounds {
        let (l, s) =
            crate::in_turn(round, large.median_ms(http, holders_path), small.median_ms(http, holders_path)).await?;
        holders.push(Figures { allot: l, baseline: s });
        absolute.push(Figures { allot: l, baseline: 20.0 });
        usage.push(Figures { allot: large.median_ms(http, usage_path).await?, baseline: 50.0 });
    }
    let name = format!("history: {ORGS} organizations of {USERS} users");
    let shown = median_round(&holders);
    let measure = "holders?as_of= (mid-year) median ms, 10^6 entries vs 10^4";
    rows.push(Row::new(&name, measure, &holders, shown, Target::AtMost(2.0), "<= 2x"));
    let measure = "holders?as_of= (mid-year) median ms at 10^6 entries";
    rows.push(Row::new(&name, measure, &absolute, median_round(&absolute), Target::AtMost(1.0), "<= 20 ms"));
    let measure = "usage over the year, median ms at 10^6 entries";
    rows.push(Row::new(&name, measure, &usage, median_round(&usage), Target::AtMost(1.0), "<= 50 ms"));

    // Memory: the largest RSS sampled while 20 reads of the past run at once, against the
    // RSS idle before them (the books loaded, the checkpoints written). The first burst
    // also pays what a process pays once (reader connections and their page caches, the
    // allocator's pages on threads that had not served yet): it is reported apart, and the
    // rounds measure a server that has served reads before, as a running one has.
    let first = large.burst(http).await?;
    let name_first = format!("{name} (first burst after start)");
    let measure = format!("peak RSS MB during the first {CONCURRENT} concurrent history reads vs idle");
    rows.push(Row::new(&name_first, &measure, std::slice::from_ref(&first), 0, Target::None, "reported"));
    let mut memory = Vec::new();
    for _ in 0..cli.rounds {
        memory.push(large.burst(http).await?);
    }
    let measure = format!("peak RSS MB during {CONCURRENT} concurrent history reads at 10^6 entries vs idle");
    rows.push(Row::new(&name, &measure, &memory, median_round(&memory), Target::AtMost(1.2), "<= 1.2x"));
    Ok(())
}

impl Seeded {
    /// The largest RSS sampled while [`CONCURRENT`] reads of the past (half
    /// `holders?as_of=`, half `usage`, of different organizations) run at once, and the RSS
    /// idle before them.
    async fn burst(&self, http: &reqwest::Client) -> Result<Figures> {
        let pid = self.process.pid();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let idle = system::memory_mb(pid, "VmRSS")?;
        let reads: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                let path = if i % 2 == 0 { holders_path(i * 5) } else { usage_path(i * 5) };
                let http = http.clone();
                async move { self.get(&http, &path).await }
            })
            .collect();
        let sampler = async {
            let mut peak: f64 = 0.0;
            for _ in 0..200 {
                peak = peak.max(system::memory_mb(pid, "VmRSS").unwrap_or(0.0));
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            peak
        };
        let (answers, peak) = tokio::join!(futures_join(reads), sampler);
        answers.context("a concurrent history read")?;
        Ok(Figures { allot: peak.max(system::memory_mb(pid, "VmRSS")?), baseline: idle })
    }
}

/// Runs `reads` at once; the first error, if any.
async fn futures_join(reads: Vec<impl std::future::Future<Output = Result<f64>>>) -> Result<()> {
    let mut set = Vec::with_capacity(reads.len());
    for read in reads {
        set.push(read);
    }
    let mut pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
    let mut done = vec![false; pinned.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (read, done) in pinned.iter_mut().zip(done.iter_mut()) {
            if *done {
                continue;
            }
            match read.as_mut().poll(cx) {
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Ready(Ok(_)) => *done = true,
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(Ok(())) }
    })
    .await
}
