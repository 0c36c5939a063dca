//! The check while the books plan: the same checks as the check scenario, on the same
//! `allot serve`, once idle and once while a loop validates and applies changes of 10,000
//! users (`POST /orgs/bench/plans`, a dry run then the same change applied, each change
//! undoing the one before). The p99 under that load is held against the idle p99 measured
//! in the same rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};

use crate::check::{CHECK_USERS, Seeded, rate_and_p99};
use crate::load::Stats;
use crate::servers::Allot;
use crate::table::Row;
use crate::{Cli, in_turn};

/// Users each change of the loop sets the licenses of (the server's `max_items`).
const CHANGED_USERS: usize = 10_000;

/// Plans (validated and applied) while the checks ran.
#[derive(Default)]
struct Planned {
    validated: AtomicU64,
    applied: AtomicU64,
}

/// Validates, then applies, changes of `CHANGED_USERS` users until `stop`: the users'
/// direct licenses go from the two seeded ones to one, and back.
async fn plan_in_a_loop(allot: &Allot, http: &reqwest::Client, stop: &AtomicBool, planned: &Planned) -> Result<()> {
    let users: Vec<String> = (0..CHANGED_USERS).map(|n| format!("u{n}")).collect();
    let sets = [json!([{"license": "RPADEVNU"}]), json!([{"license": "RPADEVNU"}, {"license": "TSTNU"}])];
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let change = |apply: bool| -> Value {
            json!({"apply": apply, "changes": [{"op": "set_user_licenses", "users": users, "licenses": sets[turn % 2]}]})
        };
        allot.call(http, Method::POST, "/api/v1/orgs/bench/plans", change(false)).await?;
        planned.validated.fetch_add(1, Ordering::Relaxed);
        allot.call(http, Method::POST, "/api/v1/orgs/bench/plans", change(true)).await?;
        planned.applied.fetch_add(1, Ordering::Relaxed);
        turn += 1;
    }
    Ok(())
}

/// The checks for `duration` while the loop plans; answers them and the plans made.
async fn checks_while_planning(
    seeded: &Seeded,
    http: &reqwest::Client,
    cli: &Cli,
    duration: Duration,
) -> Result<(Stats, (u64, u64))> {
    let (stop, planned) = (Arc::new(AtomicBool::new(false)), Arc::new(Planned::default()));
    let looping = plan_in_a_loop(&seeded.allot, http, &stop, &planned);
    let checks = async {
        let stats = seeded.checks(seeded.allot.addrs[0], cli, duration).await;
        stop.store(true, Ordering::Relaxed);
        stats
    };
    let (looped, stats) = tokio::join!(looping, checks);
    looped?;
    Ok((stats?, (planned.validated.load(Ordering::Relaxed), planned.applied.load(Ordering::Relaxed))))
}

/// The check's p99 while a loop validates and applies 10,000-user changes, against the same
/// server idle, in rounds (after one unrecorded warm-up of each).
pub async fn loaded(cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let seeded = Seeded::start(http, CHECK_USERS).await?;
    let server = seeded.allot.addrs[0];
    let warm_up = Duration::from_secs(cli.warm_up);
    checks_while_planning(&seeded, http, cli, warm_up).await?;
    seeded.checks(server, cli, warm_up).await?;
    let seconds = Duration::from_secs(cli.seconds);
    let mut rounds = Vec::new();
    let mut plans = Vec::new();
    for round in 0..cli.rounds {
        let ((loaded, planned), idle) =
            in_turn(round, checks_while_planning(&seeded, http, cli, seconds), seeded.checks(server, cli, seconds))
                .await?;
        plans.push(planned);
        rounds.push((loaded, idle));
    }
    seeded.allot.verify(http).await?;
    let planned: Vec<String> = plans.iter().map(|(v, a)| format!("{v}/{a}")).collect();
    let scenario = format!(
        "check while a loop validates and applies {CHANGED_USERS}-user changes (validated/applied per round: {})",
        planned.join(", ")
    );
    let rate = (format!("req/s, {} conns, vs idle", cli.connections), crate::table::Target::None, "reported");
    let p99 = Some((crate::table::Target::AtMost(2.0), "<= 2x the same server idle"));
    rate_and_p99(&scenario, &rounds, (&rate.0, rate.1, rate.2), p99, rows);
    Ok(())
}
