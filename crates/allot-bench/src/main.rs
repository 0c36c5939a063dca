//! `cargo run --release -p allot-bench -- all`: measures allot the way a platform team
//! would, over real HTTP, each target a ratio against a baseline measured in the same run
//! on the same machine, in alternating rounds. Prints one table, writes it as JSON, and
//! exits non-zero when a target is missed or the books do not balance at the end.

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Result, ensure};
use clap::{Parser, ValueEnum};

mod allocations;
mod check;
mod history;
mod import;
mod load;
mod loaded;
mod seed;
mod servers;
mod system;
mod table;

/// The allocator `allot serve` uses (see crates/allot/src/main.rs), so the minimal server
/// it is compared with, this binary, allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "allot's benchmarks")]
pub struct Cli {
    /// Which scenarios to run.
    #[arg(value_enum, default_value = "all")]
    scenario: Scenario,
    /// Seconds of load per measured run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of each side's warm-up run, before the rounds; not recorded.
    #[arg(long, default_value_t = 3)]
    warm_up: u64,
    /// Concurrent keep-alive connections (clients).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Rounds of each scenario with a baseline, each measuring the baseline again, in
    /// alternating order; the table shows the median round. An odd number.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Users in the scale scenario.
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
    /// The check while a loop validates and applies 10,000-user changes, against idle.
    CheckLoaded,
    Sqlite,
    Postgres,
    Bulk,
    Scale,
    /// The past at scale: `holders?as_of=`, `usage` and memory at 10^6 ledger entries.
    History,
    /// The CLI's import of 100,000 users and their licenses from CSV.
    Import,
    /// Not a scenario: the check's baseline server, which the check starts.
    #[value(hide = true)]
    MinimalServer,
}

/// Round `round` measures the baseline first when even, allot first when odd: neither side
/// always gets the machine as the other one leaves it.
pub fn baseline_first(round: usize) -> bool {
    round.is_multiple_of(2)
}

/// Runs `allot` and `baseline` one after the other, in round `round`'s order.
pub async fn in_turn<A, B>(
    round: usize,
    allot: impl Future<Output = Result<A>>,
    baseline: impl Future<Output = Result<B>>,
) -> Result<(A, B)> {
    if baseline_first(round) {
        let baseline = baseline.await?;
        Ok((allot.await?, baseline))
    } else {
        let allot = allot.await?;
        Ok((allot, baseline.await?))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.scenario == Scenario::MinimalServer {
        return servers::serve_minimal().await;
    }
    ensure!(cli.rounds % 2 == 1, "--rounds takes an odd number, so that one round is the median");
    let http = reqwest::Client::builder().pool_max_idle_per_host(cli.connections * 2).build()?;
    let mut rows = Vec::new();
    // A scenario that fails still leaves the rows of those before it printed.
    let ran = run_scenarios(&cli, &http, &mut rows).await;
    table::print(&rows);
    if let Some(dir) = cli.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.json, serde_json::to_string_pretty(&rows)?)?;
    ran?;
    let missed = rows.iter().filter(|r| r.met == Some(false)).count();
    ensure!(missed == 0, "{missed} target(s) missed in some round (table also in {})", cli.json.display());
    Ok(())
}

/// The scenarios `cli` names, in order, each adding its rows.
async fn run_scenarios(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<table::Row>) -> Result<()> {
    let runs = |scenario: Scenario| cli.scenario == Scenario::All || cli.scenario == scenario;
    if runs(Scenario::Check) {
        check::check(cli, http, rows).await?;
    }
    if runs(Scenario::CheckLoaded) {
        loaded::loaded(cli, http, rows).await?;
    }
    if runs(Scenario::Sqlite) {
        allocations::sqlite(cli, http, rows).await?;
    }
    if runs(Scenario::Postgres) {
        allocations::postgres(cli, http, rows).await?;
    }
    if runs(Scenario::Bulk) {
        allocations::bulk(cli, http, rows).await?;
    }
    if runs(Scenario::Scale) {
        check::scale(cli, http, rows).await?;
    }
    if runs(Scenario::History) {
        history::history(cli, http, rows).await?;
    }
    if runs(Scenario::Import) {
        import::import(cli, http, rows).await?;
    }
    Ok(())
}
