//! The servers the bench measures: `allot serve` as deployed (the release binary built
//! beside this one, in a process of its own) and the check's baseline, a minimal axum
//! server, in a process of its own too.

use std::net::SocketAddr;
use std::path::Path;

use allot_server::Config;
use allot_store::{Backend, Store};
use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};

pub const PASSWORD: &str = "benchmark admin password";

/// allot under test: `allot serve` processes on a SQLite file or one PostgreSQL database;
/// with a host admin's token.
pub struct Allot {
    /// Where each server listens.
    pub addrs: Vec<SocketAddr>,
    pub base: String,
    pub token: String,
    pub store: Backend,
    pub processes: Vec<Process>,
    pub dir: tempfile::TempDir,
}

/// A server process of the bench's, killed when dropped, on every path.
pub struct Process(pub std::process::Child);

impl Process {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `allot serve` on a fresh SQLite file, as it is deployed: its own process, with its
/// own runtime, apart from the load generator's.
pub async fn start_sqlite_process(http: &reqwest::Client) -> Result<Allot> {
    let dir = tempfile::tempdir()?;
    let (process, addr) = spawn_serve(dir.path(), None).await?;
    connect_sqlite(http, dir, process, addr).await
}

/// Logs in to `allot serve`, `process`, at `addr`, and opens its SQLite store in `dir`.
pub async fn connect_sqlite(
    http: &reqwest::Client,
    dir: tempfile::TempDir,
    process: Process,
    addr: SocketAddr,
) -> Result<Allot> {
    let base = format!("http://{addr}");
    let token = login(http, &base).await?;
    let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
    let store = allot_server::open_store(&config).await.map_err(anyhow::Error::msg)?;
    Ok(Allot { addrs: vec![addr], base, token, store, processes: vec![process], dir })
}

/// `processes` × `allot serve` on database `url`.
pub async fn start_processes(http: &reqwest::Client, url: &str, processes: usize) -> Result<Allot> {
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
    Ok(Allot { addrs, base, token, store, processes: started, dir })
}

/// Starts `allot serve` on `database`, else on SQLite in `data_dir`, as deployed: the
/// default configuration, whatever this shell sets, logging to a file beside the data.
/// Answers it once it listens.
pub async fn spawn_serve(data_dir: &Path, database: Option<&str>) -> Result<(Process, SocketAddr)> {
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
async fn spawn_listening(command: &mut std::process::Command, log: &Path) -> Result<(Process, SocketAddr)> {
    use std::io::BufRead as _;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut process = Process(
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::options().create(true).append(true).open(log)?)
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

pub async fn login(http: &reqwest::Client, base: &str) -> Result<String> {
    let form = [("grant_type", "password"), ("username", "admin"), ("password", PASSWORD)];
    let answer: Value = http.post(format!("{base}/oauth/token")).form(&form).send().await?.json().await?;
    Ok(answer["access_token"].as_str().context("no token")?.to_owned())
}

/// Waits until `/readyz` at `addr` answers 2xx.
pub async fn wait_ready(http: &reqwest::Client, addr: SocketAddr) {
    while !http.get(format!("http://{addr}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

impl Allot {
    pub async fn call(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value> {
        let response =
            http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "{path}: {status} {answer}");
        Ok(answer)
    }

    /// `count` tokens of the host admin, each from a login of its own: load spread over
    /// several tokens, as several callers would send, not one the cache always holds.
    pub async fn tokens(&self, http: &reqwest::Client, count: usize) -> Result<Vec<String>> {
        let mut tokens = Vec::with_capacity(count);
        for _ in 0..count {
            tokens.push(login(http, &self.base).await?);
        }
        Ok(tokens)
    }

    /// An organization `bench` holding `quantity` of each license, and users u0..u{users}.
    pub async fn setup(&self, http: &reqwest::Client, licenses: &[String], quantity: i64, users: usize) -> Result<()> {
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
    pub async fn sync(&self, http: &reqwest::Client) -> Result<()> {
        let revision = self.store.revision().await?;
        for addr in &self.addrs {
            let response = http.get(format!("http://{addr}/healthz?min_revision={revision}")).send().await?;
            ensure!(response.status().is_success(), "{addr} did not reach revision {revision}");
        }
        Ok(())
    }

    /// The books must balance: the ledger replays to the stored balances, no pool is over
    /// its quantity, and every server, caught up, answers the pools the store holds.
    pub async fn verify(&self, http: &reqwest::Client) -> Result<()> {
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

/// The baseline for the check: a minimal axum server answering a fixed small JSON body to
/// any GET, whatever its path, in a process of its own as `allot serve` is (this binary,
/// `minimal-server`): the load generator sends it the very requests it sends allot.
pub async fn spawn_minimal_server(dir: &Path) -> Result<(Process, SocketAddr)> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    spawn_listening(command.arg("minimal-server"), &dir.join("minimal.log")).await
}

/// `allot-bench minimal-server`: serves the check's baseline until killed.
pub async fn serve_minimal() -> Result<()> {
    let answer = || async { axum::Json(json!({"allowed": true, "reason": "held", "revision": 1})) };
    let router = axum::Router::new().fallback(axum::routing::get(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("minimal server: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
