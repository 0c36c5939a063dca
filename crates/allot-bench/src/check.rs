//! The check, "does user X hold license Y?", against a minimal axum server; and the same
//! check at scale, on 1,000,000 users against 64. Both draw every request's user, license
//! and token at random, over the whole population, so no cache holds the one answer asked
//! for again and again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use serde_json::Value;

use crate::load::{self, Requests, Stats};
use crate::seed::{self, LICENSES};
use crate::servers::{self, Allot};
use crate::system;
use crate::table::{Figures, Row, Target, median_round};
use crate::{Cli, in_turn};

/// Users of the check scenario: a large organization's.
pub const CHECK_USERS: usize = 100_000;
/// Tokens the load spreads over, each request drawing one.
const TOKENS: usize = 16;
/// Users of the server the check at scale is compared with.
const SMALL_USERS: usize = 64;

/// `allot serve` on a seeded population (see `seed`), with tokens to ask with.
pub struct Seeded {
    pub users: usize,
    /// Seconds from the first start to ready, the page cache holding the database just
    /// written.
    pub first_ready: f64,
    tokens: Arc<Vec<String>>,
    pub allot: Allot,
}

impl Seeded {
    /// Seeds the database, then starts the server and times it until ready.
    pub async fn start(http: &reqwest::Client, users: usize) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        seed::seed(dir.path(), users).await?;
        let started = Instant::now();
        let (process, addr) = servers::spawn_serve(dir.path(), None).await?;
        servers::wait_ready(http, addr).await;
        let first_ready = started.elapsed().as_secs_f64();
        let allot = servers::connect_sqlite(http, dir, process, addr).await?;
        let tokens = Arc::new(allot.tokens(http, TOKENS).await?);
        let seeded = Self { users, first_ready, tokens, allot };
        seeded.answers_as_seeded(http).await?;
        seeded.settle().await?;
        Ok(seeded)
    }

    /// Stops the server and starts it again on the same database, after dropping the page
    /// cache when `cold`: the seconds to ready, or why the cold start is not measurable.
    pub async fn restart(&mut self, http: &reqwest::Client, cold: bool) -> Result<Result<f64, String>> {
        self.allot.processes.clear();
        let dropped = if cold { system::drop_page_cache(self.allot.dir.path()) } else { Ok(()) };
        let started = Instant::now();
        let (process, addr) = servers::spawn_serve(self.allot.dir.path(), None).await?;
        servers::wait_ready(http, addr).await;
        let seconds = started.elapsed().as_secs_f64();
        (self.allot.processes, self.allot.addrs, self.allot.base) =
            (vec![process], vec![addr], format!("http://{addr}"));
        self.answers_as_seeded(http).await?;
        self.settle().await?;
        Ok(dropped.map(|()| seconds))
    }

    /// Waits for the server to finish what a start on a seeded database sets it doing
    /// (its first checkpoints), so the figures that follow are its steady state's.
    async fn settle(&self) -> Result<()> {
        let (waited, settled) = system::wait_settled(self.pid(), Duration::from_secs(180)).await?;
        eprintln!(
            "{} users: the server settled after {waited:.1} s{}",
            self.users,
            if settled { "" } else { " (still busy: measuring anyway)" }
        );
        Ok(())
    }

    /// The last user holds the inherited license through a group: the checks are answered
    /// from the seeded books, not refused.
    async fn answers_as_seeded(&self, http: &reqwest::Client) -> Result<()> {
        let path = format!("/api/v1/orgs/bench/users/u{}/licenses/ATTUNU", self.users - 1);
        let answer: Value =
            http.get(format!("{}{path}", self.allot.base)).bearer_auth(&self.tokens[0]).send().await?.json().await?;
        ensure!(answer["allowed"] == true && answer["via"] != "direct", "the check answers {answer}");
        Ok(())
    }

    /// `cli.connections` connections to `server`, asking this population's checks at random.
    pub async fn checks(&self, server: SocketAddr, cli: &Cli, duration: Duration) -> Result<Stats> {
        let (users, tokens) = (self.users, &self.tokens);
        load::run(&[server], cli.connections, duration, |n, host| random_checks(host, users, tokens.clone(), n as u64))
            .await?
            .answered("checks")
    }

    pub fn pid(&self) -> u32 {
        self.allot.processes[0].pid()
    }
}

/// Checks of a user drawn from u0..u{users}, a license drawn from the three every user
/// holds, with a token drawn from `tokens`: a new draw for every request.
fn random_checks(host: SocketAddr, users: usize, tokens: Arc<Vec<String>>, seed: u64) -> Requests {
    let mut rng = load::Draw::new(seed);
    Box::new(move |out| {
        let user = rng.below(users);
        let license = LICENSES[rng.below(LICENSES.len())];
        let token = &tokens[rng.below(tokens.len())];
        let path = format_args!("/api/v1/orgs/bench/users/u{user}/licenses/{license}");
        load::write_head(out, "GET", &host, path, Some(token));
        out.extend_from_slice(b"\r\n");
    })
}

/// A server the checks are sent to: the population they are drawn from, where it
/// listens, and its process (for the CPU it spends).
pub type Checked<'a> = (&'a Seeded, SocketAddr, u32);

/// Rounds of (allot's, the baseline's) runs: a warm-up of each first, unrecorded, then
/// `cli.rounds` rounds, each measuring both in the order `in_turn` gives. Prints each
/// round's CPU time per answered check of both servers: the figure that says where a
/// ratio's difference is spent, steadier than the ratio on a machine the load generator
/// shares.
pub async fn rounds(cli: &Cli, allot: Checked<'_>, baseline: Checked<'_>) -> Result<Vec<(Stats, Stats)>> {
    let warm_up = Duration::from_secs(cli.warm_up);
    allot.0.checks(allot.1, cli, warm_up).await?;
    baseline.0.checks(baseline.1, cli, warm_up).await?;
    let seconds = Duration::from_secs(cli.seconds);
    let mut rounds = Vec::new();
    for round in 0..cli.rounds {
        let measured = costed(allot.2, allot.0.checks(allot.1, cli, seconds));
        let base = costed(baseline.2, baseline.0.checks(baseline.1, cli, seconds));
        let ((measured, allot_cpu), (base, base_cpu)) = in_turn(round, measured, base).await?;
        eprintln!("round {round}: CPU per check, allot {allot_cpu:.1} µs, baseline {base_cpu:.1} µs");
        rounds.push((measured, base));
    }
    Ok(rounds)
}

/// The run's figures, and the CPU microseconds process `pid` spent per answered request.
async fn costed(pid: u32, run: impl std::future::Future<Output = Result<Stats>>) -> Result<(Stats, f64)> {
    let before = system::cpu_seconds(pid)?;
    let stats = run.await?;
    let spent = system::cpu_seconds(pid)? - before;
    let per_request = spent * 1e6 / stats.requests as f64;
    Ok((stats, per_request))
}

/// The rows of throughput and p99 from the same rounds, showing the round whose throughput
/// ratio is the median.
pub fn rate_and_p99(
    scenario: &str,
    rounds: &[(Stats, Stats)],
    rate: (&str, Target, &str),
    p99: Option<(Target, &str)>,
    rows: &mut Vec<Row>,
) {
    let per_second: Vec<Figures> =
        rounds.iter().map(|(a, b)| Figures { allot: a.per_second, baseline: b.per_second }).collect();
    let p99s: Vec<Figures> = rounds.iter().map(|(a, b)| Figures { allot: a.p99_ms, baseline: b.p99_ms }).collect();
    let shown = median_round(&per_second);
    let (allot, _) = &rounds[shown];
    let measure = format!("{} (p50 {:.2} ms, p99 {:.2} ms)", rate.0, allot.p50_ms, allot.p99_ms);
    rows.push(Row::new(scenario, &measure, &per_second, shown, rate.1, rate.2));
    if let Some((target, text)) = p99 {
        rows.push(Row::new(scenario, "p99 ms, same rounds", &p99s, shown, target, text));
    }
}

/// The check against the minimal server, in rounds.
pub async fn check(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (minimal_process, minimal) = servers::spawn_minimal_server(dir.path()).await?;
    let allot = Seeded::start(http, CHECK_USERS).await?;
    // The minimal server is sent the very requests allot is, drawn alike.
    let rounds =
        rounds(cli, (&allot, allot.allot.addrs[0], allot.pid()), (&allot, minimal, minimal_process.pid())).await?;
    allot.allot.verify(http).await?;
    let scenario = format!("check: random user of {CHECK_USERS}, license, token of {TOKENS}");
    let rate = (format!("req/s, {} conns", cli.connections), Target::AtLeast(0.8), ">= 0.8x the minimal axum server");
    let p99 = Some((Target::AtMost(1.5), "<= 1.5x the minimal axum server"));
    rate_and_p99(&scenario, &rounds, (&rate.0, rate.1, rate.2), p99, rows);
    Ok(())
}

/// 1,000,000 users against the same `allot serve` with 64: memory, time to ready with the
/// page cache warm and dropped, and the check in rounds.
pub async fn scale(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let small = Seeded::start(http, SMALL_USERS).await?;
    let mut large = Seeded::start(http, cli.scale_users).await?;
    // The first start also creates the admin; the restarts only load.
    let warm = large.restart(http, false).await?.map_err(anyhow::Error::msg)?;
    let cold = large.restart(http, true).await?;
    let rounds =
        rounds(cli, (&large, large.allot.addrs[0], large.pid()), (&small, small.allot.addrs[0], small.pid())).await?;
    let name = format!("scale: {} users, 3 holdings, 2-3 groups each", cli.scale_users);
    let (peak, now) = (system::memory_mb(large.pid(), "VmHWM")?, system::memory_mb(large.pid(), "VmRSS")?);
    let memory = [Figures { allot: peak, baseline: 400.0 }];
    // The large server's last start loaded the books and served the checks, and nothing
    // else: the logins that hash passwords were made on its first start.
    let measure = format!("peak RSS MB of 10^6 bytes, after the checks (now {now:.0} MB)");
    rows.push(Row::new(&name, &measure, &memory, 0, Target::AtMost(1.0), "<= 400 MB"));
    let ready = |seconds: f64| [Figures { allot: seconds, baseline: 5.0 }];
    let warm_measure = format!("seconds to ready, page cache warm (first start {:.1} s)", large.first_ready);
    rows.push(Row::new(&name, &warm_measure, &ready(warm), 0, Target::AtMost(1.0), "<= 5 s"));
    match cold {
        Ok(seconds) => rows.push(Row::new(
            &name,
            "seconds to ready, page cache dropped",
            &ready(seconds),
            0,
            Target::AtMost(1.0),
            "<= 5 s",
        )),
        Err(why) => {
            eprintln!("the cold start is not measurable here: {why}");
            let measure = format!("seconds to ready, page cache dropped: not measurable ({why})");
            rows.push(Row::new(&name, &measure, &ready(f64::NAN), 0, Target::None, "<= 5 s"));
        }
    }
    let rate = ("check req/s, random user", Target::AtLeast(0.9), ">= 0.9x the same with 64 users");
    rate_and_p99(&name, &rounds, rate, None, rows);
    // After the memory figures: signing in hashes a password.
    console_users_pages(&large, &name, rows).await?;
    // Last: it replays the ledger and loads the books in this process, which would compete
    // with the servers measured.
    for at in [&small, &large] {
        at.allot.verify(http).await?;
    }
    Ok(())
}

/// The console's users page of the large organization, as a host admin signed in sees it:
/// the first page, one in the middle, a search and a filter that match almost no one (so
/// they read every user). Each is asked 21 times, one at a time; the median, against the
/// 100 ms the console's issue allows.
async fn console_users_pages(large: &Seeded, name: &str, rows: &mut Vec<Row>) -> Result<()> {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = [("organization", ""), ("username", "admin"), ("password", servers::PASSWORD)];
    let signed = browser
        .post(format!("{}/console/sign-in", large.allot.base))
        .header("sec-fetch-site", "same-origin")
        .form(&form);
    let signed = signed.send().await?;
    let cookie = signed.headers().get("set-cookie").and_then(|v| v.to_str().ok()).context("no session cookie")?;
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
    let middle = large.users / 2;
    let pages = [
        ("the first page".to_owned(), String::new()),
        (format!("the page after u{middle}"), format!("?after=u{middle}")),
        (format!("a search for u{}, reading every user", large.users - 1), format!("?q=u{}", large.users - 1)),
        ("a filter no one passes (source=external), reading every user".to_owned(), "?source=external".to_owned()),
    ];
    for (what, query) in pages {
        let url = format!("{}/console/orgs/bench/users{query}", large.allot.base);
        let mut times = Vec::new();
        for _ in 0..21 {
            let started = Instant::now();
            let answer = browser.get(&url).header("cookie", &cookie).send().await?;
            ensure!(answer.status().is_success(), "{url} answered {}", answer.status());
            answer.text().await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
        let measure = format!("console users page, {what}: median ms of 21 (worst {worst:.1} ms)");
        rows.push(Row::new(
            name,
            &measure,
            &[Figures { allot: median, baseline: 100.0 }],
            0,
            Target::AtMost(1.0),
            "<= 100 ms",
        ));
    }
    Ok(())
}
