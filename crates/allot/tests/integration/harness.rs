//! `spawn_app()`: a real server on a random port, on a fresh SQLite file, with a clock the
//! test moves by hand; and a small client that speaks to it over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use allot_api::{
    CheckAnswer, CreateGroup, CreateOrg, CreateUser, ErrorCode, GroupRule, LicenseSpec, PlanChange, PlanRequest,
    PoolSetting, Role, SetPools, SetUserLicenses,
};
use allot_server::config::{AuthConfig, Secret};
use allot_server::{App, Clock, Config};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const START: i64 = 1_800_000_000_000;

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub config: Config,
    pub http: reqwest::Client,
    pub clock: Arc<AtomicI64>,
    pub dir: tempfile::TempDir,
    shutdown: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        admin_password: Secret(ADMIN_PASSWORD.into()),
        // Cheap hashing keeps the suite fast; the defaults are OWASP's.
        auth: AuthConfig { argon2_memory_kib: 1024, argon2_iterations: 1, ..AuthConfig::default() },
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    if let Some(database) = scratch_database().await {
        config.database = database;
    }
    tune(&mut config);
    spawn_in(dir, config).await
}

/// The backend the HTTP suite runs on: `ALLOT_TEST_BACKEND`, `sqlite` (the default) or
/// `postgres`. Any other value stops the test rather than quietly running on SQLite.
pub fn on_postgres() -> bool {
    match std::env::var("ALLOT_TEST_BACKEND") {
        Err(std::env::VarError::NotPresent) => false,
        Ok(backend) if backend == "sqlite" => false,
        Ok(backend) if backend == "postgres" => true,
        other => panic!("ALLOT_TEST_BACKEND is {other:?}: it must be `sqlite` or `postgres`"),
    }
}

/// A fresh PostgreSQL database when the suite runs on PostgreSQL; `None` on SQLite, whose
/// database is a file in the test's own directory.
pub async fn scratch_database() -> Option<String> {
    if !on_postgres() {
        return None;
    }
    Some(allot_store::postgres::scratch_database(&postgres_url()).await.unwrap())
}

/// The PostgreSQL server tests may create databases on; `scripts/test` sets it.
pub fn postgres_url() -> String {
    std::env::var("ALLOT_TEST_POSTGRES_URL")
        .expect("ALLOT_TEST_POSTGRES_URL is not set: run scripts/test, which starts a throwaway PostgreSQL")
}

/// Serves the books in `dir` (a restart when they exist).
pub async fn spawn_in(dir: tempfile::TempDir, config: Config) -> TestApp {
    let clock = Arc::new(AtomicI64::new(START));
    let store = allot_server::open_store(&config).await.unwrap();
    let app = App::new(store, config.clone(), Clock::Manual(clock.clone())).await.unwrap();
    allot_server::bootstrap_admin(&app).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = app.clone();
    let served = tokio::spawn(async move {
        allot_server::serve(serving, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    TestApp { addr, app, config, http, clock, dir, shutdown, served }
}

/// An answer: status, headers and the body as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {:#}", self.body);
        self.body
    }

    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

impl TestApp {
    /// Stops the server as `serve` stops on SIGTERM and lets go of its books, so nothing of
    /// it runs on; answers its files and configuration, for a restart on them.
    pub async fn stop(self) -> (tempfile::TempDir, Config) {
        let TestApp { addr, app, config, dir, shutdown, served, .. } = self;
        shutdown.send(()).unwrap();
        served.await.unwrap();
        drop(app);
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the stopped server still listens on {addr}");
        (dir, config)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn advance(&self, millis: i64) {
        self.clock.fetch_add(millis, Ordering::SeqCst);
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    pub async fn token_form(&self, form: &[(&str, &str)]) -> Answer {
        let response = self.http.post(self.url("/oauth/token")).form(form).send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    pub async fn login(&self, organization: Option<&str>, username: &str, password: &str) -> String {
        self.anonymous().login(organization, username, password).await.unwrap().access_token
    }

    pub async fn admin(&self) -> String {
        self.login(None, "admin", ADMIN_PASSWORD).await
    }

    /// A typed client of the native API, with `token`.
    pub fn client(&self, token: &str) -> allot_client::Client {
        self.anonymous().with_token(token)
    }

    /// A typed client with no token, to log in with.
    pub fn anonymous(&self) -> allot_client::Client {
        allot_client::Client::with_http(self.http.clone(), self.url(""))
    }

    /// An organization with host licenses granted, users, and an org admin's token.
    pub async fn org_with(&self, admin: &str, org: &str, licenses: &[(&str, i64)], users: &[&str]) -> String {
        let host = self.client(admin);
        let plenty: Vec<_> = licenses.iter().map(|(license, _)| (*license, 100_000)).collect();
        host.create_org(&CreateOrg { id: org.into(), name: Some(org.into()) }).await.unwrap();
        host.set_host_pools(&pools(&plenty)).await.unwrap();
        host.set_org_pools(org, &pools(licenses)).await.unwrap();
        for user in users {
            host.create_user(org, &member(user)).await.unwrap();
        }
        let boss = format!("{org}-admin");
        let password = "org admin password 1";
        host.create_user(org, &person(&boss, Role::Admin, password)).await.unwrap();
        self.login(Some(org), &boss, password).await
    }

    /// The organization's pool of `license`: (quantity, allocated).
    pub async fn org_pool(&self, token: &str, org: &str, license: &str) -> (i64, i64) {
        let pools = self.client(token).org_pools(org).await.unwrap();
        pools.pools.iter().find(|p| p.license == license).map(|p| (p.quantity, p.allocated)).unwrap_or((0, 0))
    }

    pub async fn check(&self, token: &str, org: &str, user: &str, license: &str) -> CheckAnswer {
        self.client(token).check(org, user, license).await.unwrap()
    }
}

// The request bodies tests send again and again.

/// Pools of these quantities.
pub fn pools(quantities: &[(&str, i64)]) -> SetPools {
    let setting = |(license, quantity): &(&str, i64)| PoolSetting {
        license: (*license).to_owned(),
        quantity: *quantity,
        valid_from: None,
        valid_until: None,
    };
    SetPools { pools: quantities.iter().map(setting).collect() }
}

/// A license held directly, drawing a unit, for good.
pub fn held(license: &str) -> LicenseSpec {
    LicenseSpec { license: license.to_owned(), external: false, valid_from: None, valid_until: None }
}

/// Direct licenses, each drawing a unit, for good.
pub fn licenses(codes: &[&str]) -> SetUserLicenses {
    SetUserLicenses { licenses: codes.iter().copied().map(held).collect() }
}

/// A group's rule: members inherit these, drawing units.
pub fn rule(codes: &[&str]) -> GroupRule {
    GroupRule { licenses: codes.iter().map(|code| (*code).to_owned()).collect(), use_external_license: false }
}

pub fn group(id: &str) -> CreateGroup {
    CreateGroup { id: id.to_owned(), name: None }
}

/// A reader or admin who logs in with `password`.
pub fn person(id: &str, role: Role, password: &str) -> CreateUser {
    CreateUser { id: id.to_owned(), role: Some(role), password: Some(password.to_owned()), ..CreateUser::default() }
}

/// A user who holds licenses and may not log in.
pub fn member(id: &str) -> CreateUser {
    CreateUser { id: id.to_owned(), ..CreateUser::default() }
}

/// A plan giving each of `users` exactly the direct `licenses`.
pub fn give(users: &[&str], licenses: &[&str], apply: bool) -> PlanRequest {
    let users = users.iter().map(|user| (*user).to_owned()).collect();
    let change = PlanChange::SetUserLicenses { users, licenses: licenses.iter().copied().map(held).collect() };
    PlanRequest { apply, changes: vec![change], after: None }
}

/// A refusal's status and code, to compare in one assertion.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(result: allot_client::Result<T>) -> (u16, ErrorCode) {
    let error = result.expect_err("the request was refused");
    match (error.status(), error.code()) {
        (Some(status), Some(code)) => (status.as_u16(), code),
        _ => panic!("not a problem answer: {error}"),
    }
}
