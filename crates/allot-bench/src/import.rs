//! The CLI's import, end to end, as an IT admin runs it: `allot login`, then `allot users
//! import` of 100,000 users in 100 groups and `allot licenses import` of a license each,
//! from CSV files, against `allot serve` on SQLite. Each import validates the whole file
//! before it applies it, part by part.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result, ensure};
use reqwest::Method;
use serde_json::json;

use crate::Cli;
use crate::servers::{self, PASSWORD};
use crate::table::{Figures, Row, Target};

const USERS: usize = 100_000;
const GROUPS: usize = 100;
const LICENSE: &str = "RPADEVNU";

/// Runs the `allot` binary beside this one with `args`, its profiles in `config`.
fn allot(config: &Path, args: &[&str], stdin: &str) -> Result<()> {
    use std::io::Write as _;
    let binary = std::env::current_exe()?.with_file_name("allot");
    let mut child = std::process::Command::new(&binary)
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("ALLOT_TOKEN")
        .env_remove("ALLOT_SERVER")
        .env_remove("ALLOT_PROFILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    child.stdin.take().context("no stdin")?.write_all(stdin.as_bytes())?;
    let output = child.wait_with_output()?;
    ensure!(output.status.success(), "allot {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

pub async fn import(_cli: &Cli, http: &reqwest::Client, rows: &mut Vec<Row>) -> Result<()> {
    let allot_server = servers::start_sqlite_process(http).await?;
    allot_server.setup(http, &[LICENSE.to_owned()], USERS as i64, 0).await?;
    for group in 0..GROUPS {
        allot_server.call(http, Method::POST, "/api/v1/orgs/bench/groups", json!({"id": format!("g{group}")})).await?;
    }
    let dir = tempfile::tempdir()?;
    let users: String =
        (0..USERS).map(|n| format!("u{n},User {n},u{n}@example.com,member,g{}\n", n % GROUPS)).collect();
    let users_file = dir.path().join("users.csv");
    std::fs::write(&users_file, format!("id,name,email,role,groups\n{users}"))?;
    let licenses: String = (0..USERS).map(|n| format!("u{n},{LICENSE}\n")).collect();
    let licenses_file = dir.path().join("licenses.csv");
    std::fs::write(&licenses_file, format!("user,license\n{licenses}"))?;
    let config = dir.path().join("config");

    let started = Instant::now();
    let login = ["login", "--server", &allot_server.base, "--username", "admin", "--password-stdin"];
    allot(&config, &login, &format!("{PASSWORD}\n"))?;
    let users_path = users_file.display().to_string();
    allot(&config, &["users", "import", &users_path, "--org", "bench", "-o", "json"], "")?;
    let users_seconds = started.elapsed().as_secs_f64();
    let licenses_path = licenses_file.display().to_string();
    allot(&config, &["licenses", "import", &licenses_path, "--org", "bench", "-o", "json"], "")?;
    let seconds = started.elapsed().as_secs_f64();

    let pools: serde_json::Value =
        allot_server.call(http, Method::GET, "/api/v1/orgs/bench/pools", json!(null)).await?;
    let allocated = pools["pools"][0]["allocated"].as_i64();
    ensure!(allocated == Some(USERS as i64), "after the import the pool holds {allocated:?}, not {USERS}");
    allot_server.verify(http).await?;
    let name = format!("import: {USERS} users in {GROUPS} groups, then a license each, from CSV with the CLI (SQLite)");
    let measure = format!("seconds end to end (users {users_seconds:.1} s, licenses {:.1} s)", seconds - users_seconds);
    rows.push(Row::new(
        &name,
        &measure,
        &[Figures { allot: seconds, baseline: 30.0 }],
        0,
        Target::AtMost(1.0),
        "<= 30 s",
    ));
    Ok(())
}
