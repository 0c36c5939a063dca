//! The `allot` binary's commands, run as a user runs them: `migrate`, `check-ledger`,
//! `config print-default`, the layers of the configuration, and `serve`'s graceful
//! shutdown on SIGTERM. Real processes, real files, real HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use allot_api::{CreateOrg, ErrorCode, LedgerParams, PlanRequest};
use allot_client::Tokens;
use allot_store::sql::{Expect, Sql, Statement};
use reqwest::StatusCode;
use serde_json::Value;

use crate::cluster::{Killed, serve_process};
use crate::harness::{ADMIN_PASSWORD, licenses, member, pools, scratch_database};

/// Generous: the machine is small and shared.
const PATIENCE: Duration = Duration::from_secs(60);

/// The `allot` binary, with none of the `ALLOT_*` (or `RUST_LOG`) variables of the test's
/// own environment: each test says which it sets.
fn allot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allot"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ALLOT_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// Runs a command of `allot` to its end (killed if it has not ended within [`PATIENCE`]).
fn run(command: &mut Command) -> Output {
    let mut child = Killed(command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let out = read(Box::new(child.0.stdout.take().unwrap()));
    let err = read(Box::new(child.0.stderr.take().unwrap()));
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{command:?} did not end within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    eprintln!(
        "{command:?}: {}\nstdout:\n{}stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An `allot serve` process, killed when dropped (even when the test fails).
struct Server {
    child: Killed,
    /// `http://HOST:PORT`, as the process printed it.
    address: String,
    /// What the process printed on stdout before it listened.
    printed: Vec<String>,
    /// Each request waits at most [`PATIENCE`].
    http: reqwest::Client,
}

impl Server {
    fn adopt(child: Child, address: String) -> Server {
        let http = reqwest::Client::builder().timeout(PATIENCE).build().unwrap();
        Server { child: Killed(child), address, printed: Vec::new(), http }
    }

    /// Starts `command` (an `allot serve ...`) and waits until it says where it listens.
    /// Its stdout is read to the end, so that it may go on printing.
    fn start(command: &mut Command) -> Server {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server::adopt(child, String::new());
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => match line.strip_prefix("allot: listening on ") {
                    Some(address) => {
                        server.address = address.to_owned();
                        return server;
                    }
                    None => server.printed.push(line),
                },
                Err(error) => {
                    let status = server.child.0.try_wait().unwrap();
                    panic!(
                        "allot serve did not listen ({error}; exit status {status:?}); it printed {:?}",
                        server.printed
                    );
                }
            }
        }
    }

    /// `HOST:PORT`.
    fn host_port(&self) -> &str {
        self.address.strip_prefix("http://").unwrap()
    }

    fn ip(&self) -> std::net::IpAddr {
        self.host_port().parse::<std::net::SocketAddr>().unwrap().ip()
    }

    fn pid(&self) -> String {
        self.child.0.id().to_string()
    }

    /// Sends SIGTERM, as a service manager does.
    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid()]).status().unwrap();
        assert!(status.success(), "kill -TERM {}: {status}", self.pid());
    }

    fn running(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "allot serve did not exit within {PATIENCE:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status, which must be success.
    fn stop(&mut self) {
        self.terminate();
        let status = self.wait_exit();
        assert!(status.success(), "allot serve exited with {status} after SIGTERM");
    }

    /// A typed client with no token, to log in with.
    fn anonymous(&self) -> allot_client::Client {
        allot_client::Client::with_http(self.http.clone(), &self.address)
    }

    /// The host admin's tokens.
    async fn login(&self, password: &str) -> Tokens {
        self.anonymous().login(None, "admin", password).await.expect("the admin's login")
    }

    /// A typed client as the host admin.
    async fn admin(&self, password: &str) -> allot_client::Client {
        self.anonymous().with_token(self.login(password).await.access_token)
    }
}

// ---------------------------------------------------------------------------------------
// allot migrate

/// The migrations the repository holds, by version, for a backend.
fn migration_versions(backend: &str) -> Vec<i64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../allot-store/migrations").join(backend);
    let mut versions: Vec<i64> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.split('_').next().unwrap().parse().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert!(versions.len() >= 3, "the migrations in {}: {versions:?}", dir.display());
    versions
}

#[test]
fn migrate_creates_the_database_in_a_fresh_data_dir_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh").join("books");
    let database = data.join("allot.db");

    let first = run(allot().arg("migrate").arg("--data-dir").arg(&data));
    assert!(first.status.success(), "the first migrate: {}", first.status);
    assert!(database.is_file(), "migrate creates {}", database.display());
    let expected = format!("applied migrations {:?}", migration_versions("sqlite"));
    assert!(stdout(&first).contains(&expected), "names every migration it applied ({expected}): {}", stdout(&first));

    let second = run(allot().arg("migrate").arg("--data-dir").arg(&data));
    assert!(second.status.success(), "the second migrate: {}", second.status);
    assert!(stdout(&second).contains("schema is up to date"), "{}", stdout(&second));
    assert!(!stdout(&second).contains("applied"), "nothing is applied twice: {}", stdout(&second));
}

#[tokio::test]
async fn migrate_with_a_database_url_brings_postgresql_up_to_date_and_a_second_run_changes_nothing() {
    let Some(url) = scratch_database().await else {
        eprintln!("PostgreSQL is tested on the PostgreSQL pass (ALLOT_TEST_BACKEND=postgres)");
        return;
    };
    let store = allot_store::PgStore::connect(&url).unwrap();
    let pools_tables = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pools'".to_owned();
    let before = store.read(vec![(pools_tables.clone(), vec![])]).await.unwrap();
    assert_eq!(before[0][0][0], allot_store::sql::Value::Int(0), "a scratch database starts empty");

    let first = run(allot().args(["migrate", "--database", &url]));
    assert!(first.status.success(), "the first migrate: {}", first.status);
    let expected = format!("applied migrations {:?}", migration_versions("postgres"));
    assert!(stdout(&first).contains(&expected), "{}", stdout(&first));
    let after = store
        .read(vec![
            (pools_tables, vec![]),
            ("SELECT version FROM schema_migrations ORDER BY version".to_owned(), vec![]),
        ])
        .await
        .unwrap();
    assert_eq!(after[0][0][0], allot_store::sql::Value::Int(1), "the schema is there");
    let versions: Vec<_> = after[1].iter().map(|row| row[0].clone()).collect();
    let expected_versions: Vec<_> =
        migration_versions("postgres").into_iter().map(allot_store::sql::Value::Int).collect();
    assert_eq!(versions, expected_versions);

    let second = run(allot().args(["migrate", "--database", &url]));
    assert!(second.status.success(), "the second migrate: {}", second.status);
    assert!(stdout(&second).contains("schema is up to date"), "{}", stdout(&second));
}

// ---------------------------------------------------------------------------------------
// allot check-ledger

/// Books with some changes, made over HTTP by a served process that is then stopped:
/// `acme` holds 2 of 5 ATTUNU (users u1 and u2) and 1 of 3 RPADEVNU (u3).
async fn books_with_changes(database: Option<&str>, dir: &Path) {
    let (child, address) = serve_process(database, dir).await;
    let mut server = Server::adopt(child, address);
    let admin = server.admin(ADMIN_PASSWORD).await;
    admin.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    admin.set_host_pools(&pools(&[("ATTUNU", 100), ("RPADEVNU", 100)])).await.unwrap();
    admin.set_org_pools("acme", &pools(&[("ATTUNU", 5), ("RPADEVNU", 3)])).await.unwrap();
    for (user, license) in [("u1", "ATTUNU"), ("u2", "ATTUNU"), ("u3", "RPADEVNU")] {
        admin.create_user("acme", &member(user)).await.unwrap();
        admin.set_user_licenses("acme", user, &licenses(&[license])).await.unwrap();
    }
    let pools = admin.org_pools("acme").await.unwrap();
    let allocated: BTreeMap<String, i64> = pools.pools.iter().map(|p| (p.license.clone(), p.allocated)).collect();
    assert_eq!(allocated, BTreeMap::from([("ATTUNU".to_owned(), 2), ("RPADEVNU".to_owned(), 1)]));
    server.stop();
}

fn check_ledger(database: Option<&str>, dir: &Path) -> Output {
    let mut command = allot();
    command.arg("check-ledger").arg("--data-dir").arg(dir);
    if let Some(database) = database {
        command.args(["--database", database]);
    }
    run(&mut command)
}

/// `revision R: N ledger entries replayed`: (R, N).
fn replayed(output: &Output) -> (u64, u64) {
    let text = stdout(output);
    let line = text.lines().find(|l| l.contains("ledger entries replayed")).unwrap_or_else(|| panic!("{text}"));
    let (revision, rest) = line.strip_prefix("revision ").unwrap().split_once(": ").unwrap();
    (revision.parse().unwrap(), rest.split(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn check_ledger_exits_0_and_says_the_balances_agree_on_books_a_served_process_changed() {
    let database = scratch_database().await;
    let dir = tempfile::tempdir().unwrap();
    books_with_changes(database.as_deref(), dir.path()).await;

    let output = check_ledger(database.as_deref(), dir.path());
    assert!(output.status.success(), "check-ledger on healthy books: {}", output.status);
    assert!(stdout(&output).contains("balances equal the ledger's replay"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("differs"), "{}", stdout(&output));
    let (revision, entries) = replayed(&output);
    // The org, two pool grants of two licenses each, three users and three holdings.
    assert!(revision >= 6 && entries >= 9, "replays every change: revision {revision}, {entries} entries");

    // A migrate of books in use changes nothing, and leaves them whole.
    let mut migrate = allot();
    migrate.arg("migrate").arg("--data-dir").arg(dir.path());
    if let Some(database) = &database {
        migrate.args(["--database", database]);
    }
    let migrated = run(&mut migrate);
    assert!(migrated.status.success() && stdout(&migrated).contains("schema is up to date"));
    let again = check_ledger(database.as_deref(), dir.path());
    assert!(again.status.success(), "check-ledger after migrate: {}", again.status);
    assert_eq!(replayed(&again), (revision, entries));
}

/// Runs statements on the books in one transaction, behind the ledger's back; each must
/// change one row.
async fn tamper(database: Option<&str>, dir: &Path, statements: &[&'static str]) {
    let statements: Vec<_> = statements
        .iter()
        .map(|sql| Statement::Single { sql, params: vec![], expect: Expect::One("one pool") })
        .collect();
    match database {
        Some(url) => allot_store::PgStore::connect(url).unwrap().write(statements).await.map(drop).unwrap(),
        None => {
            let store = allot_store::SqliteStore::open(&dir.join("allot.db")).unwrap();
            store.write(statements).await.map(drop).unwrap();
        }
    }
}

#[tokio::test]
async fn check_ledger_exits_non_zero_naming_the_pools_whose_stored_balances_were_tampered_with() {
    let database = scratch_database().await;
    let (database, dir) = (database.as_deref(), tempfile::tempdir().unwrap());
    books_with_changes(database, dir.path()).await;

    // A grant the ledger never recorded: acme's ATTUNU quantity 5 -> 4, and the host's
    // ATTUNU allocated with it, so that the stored balances add up among themselves.
    let ungranted = [
        "UPDATE pools SET quantity = 4 WHERE scope = 'org:acme' AND license = 'ATTUNU'",
        "UPDATE pools SET allocated = 4 WHERE scope = '' AND license = 'ATTUNU'",
    ];
    tamper(database, dir.path(), &ungranted).await;
    let output = check_ledger(database, dir.path());
    assert!(
        !output.status.success(),
        "check-ledger must fail on balances the ledger disagrees with: {}",
        output.status
    );
    let text = stdout(&output);
    let differences: Vec<String> =
        text.lines().filter(|l| l.contains("differs:")).map(str::to_ascii_lowercase).collect();
    assert_eq!(differences.len(), 2, "the two tampered pools differ, and nothing else: {text}");
    assert!(differences.iter().any(|d| d.contains("org:acme") && d.contains("attunu")), "names acme's pool: {text}");
    assert!(differences.iter().all(|d| d.contains("attunu")), "names only ATTUNU pools: {text}");
    assert!(!text.contains("balances equal"), "{text}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("disagree with the ledger"), "says why it failed: {stderr}");

    // Put back, the books agree again: those pools were the whole difference.
    let put_back = [
        "UPDATE pools SET quantity = 5 WHERE scope = 'org:acme' AND license = 'ATTUNU'",
        "UPDATE pools SET allocated = 5 WHERE scope = '' AND license = 'ATTUNU'",
    ];
    tamper(database, dir.path(), &put_back).await;
    assert!(check_ledger(database, dir.path()).status.success(), "the balances put back agree with the ledger");

    // An allocated count the holdings do not add up to (2 -> 1, within the CHECKs).
    tamper(database, dir.path(), &["UPDATE pools SET allocated = 1 WHERE scope = 'org:acme' AND license = 'ATTUNU'"])
        .await;
    let output = check_ledger(database, dir.path());
    assert!(!output.status.success(), "check-ledger must fail on a tampered allocated count: {}", output.status);
    let said = format!("{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr)).to_ascii_lowercase();
    assert!(said.contains("org:acme") && said.contains("attunu"), "names the pool: {said}");
    assert!(!said.contains("balances equal"), "{said}");
}

// ---------------------------------------------------------------------------------------
// allot config print-default

/// The README's Configuration table: key -> default, as the TOML would show it.
fn readme_defaults() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let section = readme.split("\n## Configuration").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut defaults = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let key = cells[1].trim_matches('`').to_owned();
        let default = cells[3];
        // `127.0.0.1:8080`; `""` = sqlite://...; `5184000` (60 days); random (= empty).
        let default = match default.split('`').nth(1) {
            Some("\"\"") => String::new(),
            Some(value) => value.to_owned(),
            None if default == "random" => String::new(),
            None => panic!("a README default without a value: {line}"),
        };
        defaults.insert(key, default);
    }
    assert!(defaults.len() >= 21, "the README's table: {defaults:?}");
    defaults
}

/// Every leaf of a TOML table, by dotted key, as text.
fn leaves(table: &toml::Table, prefix: &str, into: &mut BTreeMap<String, String>) {
    for (key, value) in table {
        let key = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => leaves(inner, &format!("{key}."), into),
            toml::Value::String(s) => {
                into.insert(key, s.clone());
            }
            other => {
                into.insert(key, other.to_string());
            }
        }
    }
}

fn print_default() -> String {
    let output = run(allot().args(["config", "print-default"]));
    assert!(output.status.success(), "config print-default: {}", output.status);
    stdout(&output)
}

#[test]
fn config_print_default_prints_every_setting_of_the_readme_with_its_default_as_toml() {
    let printed: toml::Table = print_default().parse().unwrap();
    let mut settings = BTreeMap::new();
    leaves(&printed, "", &mut settings);
    let documented = readme_defaults();
    let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&settings), keys(&documented), "the settings printed are the settings the README documents");
    for (key, default) in &documented {
        assert_eq!(&settings[key], default, "the default of `{key}`");
    }
}

/// What a served process shows of its settings.
#[derive(Debug, PartialEq)]
struct Shown {
    access_token_ttl_secs: u64,
    refresh_token: bool,
    /// The largest `limit=` a page takes, probed around `guess`.
    max_page: u32,
    /// A validated plan's `expires_at` less now, in minutes (a minute's slack for a slow machine).
    plan_ttl_minutes: i64,
}

/// The largest page `limit` the server takes, probed at `guess` and `guess + 1`.
async fn max_page(admin: &allot_client::Client, guess: u32) -> u32 {
    let limit = |limit| LedgerParams { limit: Some(limit), ..LedgerParams::default() };
    let taken = admin.ledger("acme", &limit(guess)).await;
    assert!(taken.is_ok(), "max_page is {guess}: {taken:?}");
    let over = admin.ledger("acme", &limit(guess + 1)).await.unwrap_err();
    let refusal = (over.status(), over.code());
    assert_eq!(refusal, (Some(StatusCode::BAD_REQUEST), Some(ErrorCode::InvalidQuery)), "max_page is {guess}: {over}");
    guess
}

async fn shown(server: &Server, password: &str, max_page_guess: u32) -> Shown {
    let login = server.login(password).await;
    let admin = server.anonymous().with_token(&login.access_token);
    admin.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    let plan = admin.plan("acme", &PlanRequest { apply: false, changes: vec![], after: None }).await.unwrap();
    let format = time::format_description::well_known::Rfc3339;
    let expires_at = time::OffsetDateTime::parse(plan.expires_at.as_deref().unwrap(), &format).unwrap();
    let seconds = (expires_at - time::OffsetDateTime::now_utc()).whole_seconds();
    Shown {
        access_token_ttl_secs: login.expires_in,
        refresh_token: login.refresh_token.is_some(),
        max_page: max_page(&admin, max_page_guess).await,
        // A minute's slack for a slow machine between the plan and now.
        plan_ttl_minutes: (seconds + 60) / 60,
    }
}

/// `allot serve` on a random port of 127.0.0.1, in `dir`.
fn serve_in(dir: &Path) -> Command {
    let mut command = allot();
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir);
    command
}

fn one_time_password(server: &Server, dir: &Path) -> String {
    let password = std::fs::read_to_string(dir.join("admin-password")).unwrap().trim().to_owned();
    assert!(
        server.printed.iter().any(|l| l.contains("one-time password") && l.contains(&password)),
        "the first start prints the password of the file: {:?}",
        server.printed
    );
    password
}

/// Each line on stderr is a JSON object, and the `info` line saying the server serves is there.
fn logs_are_json_at_info(stderr: &Path) {
    let logs = std::fs::read_to_string(stderr).unwrap();
    let lines: Vec<Value> = logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{l}"))).collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO" && l["message"] == "allot is serving"),
        "logs at info, as JSON: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_print_default_fed_back_as_the_config_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("default.toml");
    std::fs::write(&file, print_default()).unwrap();

    let mut seen = Vec::new();
    for with_file in [false, true] {
        let data = dir.path().join(if with_file { "with-file" } else { "without" });
        std::fs::create_dir_all(&data).unwrap();
        let stderr = data.join("stderr.log");
        let mut command = serve_in(&data);
        if with_file {
            command.arg("--config").arg(&file);
        }
        command.stderr(std::fs::File::create(&stderr).unwrap());
        let mut server = Server::start(&mut command);
        // `database = ""`: the embedded database in the data directory.
        assert!(data.join("allot.db").is_file(), "the database is {}/allot.db", data.display());
        // `admin_password = ""`: a random one-time password, printed and written down.
        let password = one_time_password(&server, &data);
        seen.push(shown(&server, &password, 1000).await);
        server.stop();
        logs_are_json_at_info(&stderr);
    }
    let defaults = Shown { access_token_ttl_secs: 3600, refresh_token: true, max_page: 1000, plan_ttl_minutes: 15 };
    assert_eq!(seen[0], defaults, "the defaults, without a file");
    assert_eq!(seen[1], defaults, "the defaults, with the printed file");
}

// ---------------------------------------------------------------------------------------
// Configuration layers: defaults < TOML file < environment < flags

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_toml_file_overrides_the_defaults_and_the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("allot.toml");
    std::fs::write(&file, "plan_ttl_secs = 7200\n\n[auth]\naccess_token_ttl_secs = 1111\n\n[limits]\nmax_page = 7\n")
        .unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[auth]\naccess_token_ttl_secs = 2222\n").unwrap();
    let cheap = |command: &mut Command| {
        command
            .env("ALLOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("ALLOT_LOG_LEVEL", "warn")
            .env("ALLOT_AUTH__ARGON2_MEMORY_KIB", "1024")
            .env("ALLOT_AUTH__ARGON2_ITERATIONS", "1");
    };
    let serve = |name: &str, tune: &dyn Fn(&mut Command)| {
        let data = dir.path().join(name);
        let mut command = serve_in(&data);
        cheap(&mut command);
        tune(&mut command);
        Server::start(&mut command)
    };

    // The file, named by --config, over the defaults (3600, 1000, 15 minutes).
    let server = serve("file", &|c| {
        c.arg("--config").arg(&file);
    });
    let file_only = shown(&server, ADMIN_PASSWORD, 7).await;
    assert_eq!(
        file_only,
        Shown { access_token_ttl_secs: 1111, refresh_token: true, max_page: 7, plan_ttl_minutes: 120 },
        "the file's settings"
    );
    drop(server);

    // The file named by ALLOT_CONFIG; ALLOT_* variables over it, nested with `__`. The file's
    // other settings of the same table stay.
    let server = serve("environment", &|c| {
        c.env("ALLOT_CONFIG", &file).env("ALLOT_LIMITS__MAX_PAGE", "9").env("ALLOT_PLAN_TTL_SECS", "10800");
    });
    let environment = shown(&server, ADMIN_PASSWORD, 9).await;
    assert_eq!(
        environment,
        Shown { access_token_ttl_secs: 1111, refresh_token: true, max_page: 9, plan_ttl_minutes: 180 },
        "the environment over the file"
    );
    drop(server);

    // --config over ALLOT_CONFIG.
    let server = serve("flag", &|c| {
        c.env("ALLOT_CONFIG", &other).arg("--config").arg(&file);
    });
    let login = server.login(ADMIN_PASSWORD).await;
    assert_eq!(login.expires_in, 1111, "--config wins over ALLOT_CONFIG");
    drop(server);
    let server = serve("other", &|c| {
        c.env("ALLOT_CONFIG", &other);
    });
    assert_eq!(server.login(ADMIN_PASSWORD).await.expires_in, 2222, "ALLOT_CONFIG alone names the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let file = d("allot.toml");
    let toml = format!(
        "listen = \"127.0.0.3:0\"\ndata_dir = {:?}\ndatabase = \"sqlite://{}\"\n",
        d("file-dir"),
        d("file-db/allot.db").display()
    );
    std::fs::write(&file, toml).unwrap();
    let command = |environment: &str| {
        let mut command = allot();
        command
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .env("ALLOT_LOG_LEVEL", "warn")
            .env("ALLOT_AUTH__ARGON2_MEMORY_KIB", "1024")
            .env("ALLOT_AUTH__ARGON2_ITERATIONS", "1")
            .env("ALLOT_LISTEN", "127.0.0.2:0")
            .env("ALLOT_DATA_DIR", d(&format!("{environment}-dir")))
            .env("ALLOT_DATABASE_URL", format!("sqlite://{}", d(&format!("{environment}-db/allot.db")).display()));
        command
    };
    let healthy = |server: &Server| {
        let address = server.host_port().to_owned();
        async move {
            let health = reqwest::get(format!("http://{address}/healthz")).await.unwrap();
            assert_eq!(health.status(), 200, "serves where it says it listens");
        }
    };

    // The data directories exist; the databases' directories are made by the server.
    for name in ["file-dir", "env-dir", "env2-dir", "flag-dir"] {
        std::fs::create_dir(d(name)).unwrap();
    }
    let password_in = |name: &str| d(name).join("admin-password").is_file();

    // ALLOT_LISTEN, ALLOT_DATA_DIR and ALLOT_DATABASE_URL over the file.
    let server = Server::start(&mut command("env"));
    assert_eq!(server.ip().to_string(), "127.0.0.2", "listens where ALLOT_LISTEN says: {}", server.address);
    healthy(&server).await;
    assert!(d("env-db/allot.db").is_file(), "the database ALLOT_DATABASE_URL names");
    assert!(password_in("env-dir"), "the data directory ALLOT_DATA_DIR names");
    assert!(!d("file-db").exists() && !password_in("file-dir"), "the file's places are not used");
    drop(server);

    // --listen, --data-dir and --database over the environment.
    let mut flagged = command("env2");
    flagged
        .args(["--listen", "127.0.0.4:0", "--data-dir"])
        .arg(d("flag-dir"))
        .arg("--database")
        .arg(format!("sqlite://{}", d("flag-db/allot.db").display()));
    let server = Server::start(&mut flagged);
    assert_eq!(server.ip().to_string(), "127.0.0.4", "listens where --listen says: {}", server.address);
    healthy(&server).await;
    assert!(d("flag-db/allot.db").is_file(), "the database --database names");
    assert!(password_in("flag-dir"), "the data directory --data-dir names");
    assert!(!d("env2-db").exists() && !password_in("env2-dir"), "the environment's places are not used");
    assert!(!d("file-db").exists() && !password_in("file-dir"), "nor the file's");
}

// ---------------------------------------------------------------------------------------
// SIGTERM

/// Reads an answer's head (to the blank line), byte by byte so as to read no further.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "the connection closed after {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A whole answer: the status and the body, which must be as long as `content-length` says.
fn read_answer(stream: &mut TcpStream) -> (u16, Value) {
    let head = read_head(stream);
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("an answer without content-length: {head}"));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{head}{}", String::from_utf8_lossy(&body))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_requests_in_flight_refuses_new_connections_and_exits_0() {
    let database = scratch_database().await;
    let dir = tempfile::tempdir().unwrap();
    let (child, address) = serve_process(database.as_deref(), dir.path()).await;
    let mut server = Server::adopt(child, address);
    let admin = server.login(ADMIN_PASSWORD).await.access_token;
    server.anonymous().with_token(&admin).create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    let host_port = server.host_port().to_owned();

    // Three writes, each with its head and half its body sent, byte by byte on the wire:
    // a client cannot stop halfway through a body. `100 Continue` says the
    // server has taken the request and is reading its body: they are in flight.
    let mut in_flight = Vec::new();
    for i in 0..3 {
        let body = format!("{{\"id\": \"inflight-{i}\", \"name\": \"sent half before SIGTERM\"}}");
        let mut stream = TcpStream::connect(&host_port).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "POST /api/v1/orgs/acme/users HTTP/1.1\r\nHost: {host_port}\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .unwrap();
        let interim = read_head(&mut stream);
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first.as_bytes()).unwrap();
        stream.flush().unwrap();
        in_flight.push((i, stream, rest.to_owned()));
    }

    server.terminate();
    // New connections are refused while the process still finishes the requests in flight.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match TcpStream::connect(&host_port) {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => break,
            // A connection the kernel queued as the listener closed is reset: refused too.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!("connecting after SIGTERM: {error}"),
            Ok(_accepted_before_the_signal_was_handled) => {}
        }
        assert!(server.running(), "the process exited with requests in flight");
        assert!(Instant::now() < deadline, "still accepting connections {PATIENCE:?} after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.running(), "the process waits for the requests in flight");

    for (i, mut stream, rest) in in_flight {
        stream.write_all(rest.as_bytes()).unwrap();
        stream.flush().unwrap();
        let (status, body) = read_answer(&mut stream);
        assert_eq!((status, body["id"].as_str()), (201, Some(format!("inflight-{i}").as_str())), "{body:#}");
    }
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "allot serve exits 0 after SIGTERM: {status}");

    // What was answered was committed.
    let (child, address) = serve_process(database.as_deref(), dir.path()).await;
    let server = Server::adopt(child, address);
    let admin = server.admin(ADMIN_PASSWORD).await;
    for i in 0..3 {
        admin.user("acme", &format!("inflight-{i}")).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_with_the_database_elsewhere_writes_the_password_file_to_a_new_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let database = match scratch_database().await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("db/allot.db").display()),
    };
    // The README's scale-out start on a fresh machine: no data directory yet.
    let mut command = allot();
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("ALLOT_DATABASE_URL", &database)
        .env("ALLOT_LOG_LEVEL", "warn");
    let server = Server::start(&mut command);
    let password = one_time_password(&server, &dir.path().join("allot-data"));
    server.admin(&password).await;
}

// ---------------------------------------------------------------------------------------
// The bootstrap admin's one-time password, and `allot admin reset-password`

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_at_start_while_the_one_time_password_file_exists_and_not_once_it_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Server::start(&mut serve_in(dir.path()));
    let password = one_time_password(&first, dir.path());
    first.login(&password).await;
    first.stop();

    let warned = |server: &Server| server.printed.iter().any(|l| l.contains("still holds the one-time password"));
    let mut again = Server::start(&mut serve_in(dir.path()));
    assert!(warned(&again), "a start while the file exists says so: {:?}", again.printed);
    again.admin(&password).await.set_admin_password("admin", "a new admin password 1").await.unwrap();
    assert!(!dir.path().join("admin-password").exists(), "changing the password deletes the file");
    again.stop();

    let mut last = Server::start(&mut serve_in(dir.path()));
    assert!(!warned(&last), "{:?}", last.printed);
    last.anonymous().login(None, "admin", "a new admin password 1").await.unwrap();
    last.stop();
}

/// `allot admin reset-password --data-dir DIR --password-stdin USER`, fed `password`.
fn reset_password(dir: &Path, user: &str, password: &str) -> Output {
    let mut command = allot();
    command.args(["admin", "reset-password", "--password-stdin", "--data-dir"]).arg(dir).arg(user);
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    eprintln!("{command:?}: {}\n{}{}", output.status, stdout(&output), String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_password_sets_a_lost_password_offline_and_revokes_the_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&mut serve_in(dir.path()));
    let password = one_time_password(&server, dir.path());
    let admin_token = server.login(&password).await.access_token;
    let admin = server.anonymous().with_token(&admin_token);
    admin.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    let rita = crate::harness::person("rita", allot_api::Role::Reader, "reader password 123");
    admin.create_user("acme", &rita).await.unwrap();
    let reader = server.anonymous().login(Some("acme"), "rita", "reader password 123").await.unwrap();
    server.stop();
    drop(admin);

    let refused = reset_password(dir.path(), "nobody", "a lost and found password");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no host administrator"), "{refused:?}");
    assert!(!reset_password(dir.path(), "admin", "short").status.success(), "a weak password is refused");
    assert!(reset_password(dir.path(), "admin", "a lost and found password").status.success());
    assert!(!dir.path().join("admin-password").exists(), "the one-time password is gone with its file");
    assert!(reset_password(dir.path(), "acme/rita", "rita's new password 1").status.success());

    let mut server = Server::start(&mut serve_in(dir.path()));
    let old = server.anonymous().with_token(&admin_token).orgs().await;
    assert_eq!(old.map_err(|e| e.status()).unwrap_err(), Some(StatusCode::UNAUTHORIZED));
    let old = server.anonymous().with_token(&reader.access_token).orgs().await;
    assert_eq!(old.map_err(|e| e.status()).unwrap_err(), Some(StatusCode::UNAUTHORIZED), "rita's tokens went too");
    server.admin("a lost and found password").await.orgs().await.unwrap();
    server.anonymous().login(Some("acme"), "rita", "rita's new password 1").await.unwrap();
    server.stop();
}
