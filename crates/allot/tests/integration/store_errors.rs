//! What a client sees when the database refuses or fails, on the real store: a bug is a
//! logged 500 that shows no SQL, a duplicate is a 409 naming it, a full disk is a 503
//! saying so that changes nothing, and a user's password is written with the user or not
//! at all. Faults are made on the same database, behind the server's back.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use allot_api::{CreateClient, CreateOrg, ErrorCode, LedgerParams, Role};
use allot_store::sql::{Expect, Sql, Statement};
use allot_store::{Backend, PgStore, SqliteStore};
use serde_json::json;

use crate::harness::{TestApp, member, on_postgres, person, postgres_url, refused, spawn_app, spawn_with};

/// A host admin's client, and organization `acme`.
async fn acme(t: &TestApp) -> (String, allot_client::Client) {
    let admin = t.admin().await;
    let host = t.client(&admin);
    host.create_org(&CreateOrg { id: "acme".into(), name: None }).await.unwrap();
    (admin, host)
}

/// The server's logs, captured for the whole test process (nextest runs each test in a
/// process of its own; under `cargo test` each test looks for its own marks in them).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("another subscriber already captures the logs");
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// A second connection to the server's own database, to change it behind the server's back.
async fn behind_the_back(t: &TestApp) -> Backend {
    if on_postgres() {
        Backend::Postgres(PgStore::connect(&t.config.database).unwrap())
    } else {
        Backend::Sqlite(SqliteStore::open(&t.config.data_dir.join("allot.db")).unwrap())
    }
}

async fn raw(store: &Backend, sql: &'static str) {
    store.write(vec![Statement::Single { sql, params: vec![], expect: Expect::Any }]).await.unwrap();
}

/// The revision the server answers at, and the number of ledger entries of `org`.
async fn books_at(t: &TestApp, token: &str, org: &str) -> (u64, usize) {
    let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
    let answer = t.client(token).ledger(org, &all).answer().await.unwrap();
    (answer.revision.unwrap(), answer.body.entries.len())
}

#[tokio::test]
async fn a_statement_the_database_cannot_run_answers_a_logged_500_without_sql() {
    let logs = logs();
    let t = spawn_app().await;
    let (admin, host) = acme(&t).await;
    let before = books_at(&t, &admin, "acme").await;
    let db = behind_the_back(&t).await;
    raw(&db, "ALTER TABLE users RENAME TO users_elsewhere").await;

    // What the body shows: raw.
    let answer = t.post(&admin, "/api/v1/orgs/acme/users", json!({"id": "pat"})).await;
    assert_eq!(answer.status, 500, "{:#}", answer.body);
    assert_eq!(answer.code(), "internal_error");
    assert!(answer.headers.get("retry-after").is_none(), "a bug is not an outage");
    let body = answer.body.to_string();
    for leak in ["users", "INSERT", "SQL", "relation", "no such table", "42P01"] {
        assert!(!body.contains(leak), "the body shows `{leak}`: {body}");
    }
    let logged = logged();
    let cause = if on_postgres() { r#"relation "users" does not exist"# } else { "no such table: users" };
    assert!(logged.contains(cause), "the cause is logged: {logged}");
    assert!(logged.contains("internal error"), "{logged}");
    assert_eq!(books_at(&t, &admin, "acme").await, before, "nothing changed");

    raw(&db, "ALTER TABLE users_elsewhere RENAME TO users").await;
    host.create_user("acme", &member("pat")).await.unwrap();
    drop(logs);
}

#[tokio::test]
async fn creating_a_user_or_an_api_client_whose_id_exists_answers_409_naming_it() {
    let t = spawn_app().await;
    let (admin, host) = acme(&t).await;
    let before = books_at(&t, &admin, "acme").await;
    // A user the database has and the server's books do not.
    let db = behind_the_back(&t).await;
    raw(&db, "INSERT INTO users (org_key, user_id, profile) VALUES ('acme', 'ghost', '{}')").await;

    let error = host.create_user("acme", &member("ghost")).await.unwrap_err();
    let problem = error.problem().unwrap_or_else(|| panic!("{error}"));
    assert_eq!((error.status().unwrap().as_u16(), problem.code), (409, ErrorCode::AlreadyExists));
    assert_eq!(problem.detail, "user `ghost` already exists");
    assert_eq!(books_at(&t, &admin, "acme").await, before, "nothing changed");
    // The server now serves the database's books, where the user exists.
    host.user("acme", "ghost").await.unwrap();

    // An API client's id is drawn at random, so no request can repeat one: the store
    // itself is asked twice, and its refusal answered as the API answers it.
    let created = host.create_client("acme", &CreateClient { name: "c".into(), scopes: vec!["allot:read".into()] });
    let id = created.await.unwrap().client_id;
    let existing = allot_store::Store::client(&t.app.store, &id).await.unwrap().unwrap();
    let refused = allot_store::Store::insert_client(&t.app.store, existing).await.unwrap_err();
    let answered = allot_server::error::ApiError::from(refused);
    assert_eq!(answered.status(), 409);
    assert_eq!(answered.code(), allot_api::ErrorCode::AlreadyExists);
    assert_eq!(answered.detail(), format!("API client `{id}` already exists"));
}

#[tokio::test]
async fn a_user_created_with_a_password_is_written_with_it_or_not_at_all() {
    let t = spawn_app().await;
    let (admin, host) = acme(&t).await;
    let before = books_at(&t, &admin, "acme").await;
    let db = behind_the_back(&t).await;
    // A fault between the user and the password: writing a password fails.
    if on_postgres() {
        raw(
            &db,
            "CREATE FUNCTION refuse_passwords() RETURNS trigger LANGUAGE plpgsql AS
             'BEGIN RAISE EXCEPTION ''injected fault''; END'",
        )
        .await;
        raw(
            &db,
            "CREATE TRIGGER refuse_passwords BEFORE INSERT OR UPDATE ON credentials
             FOR EACH ROW EXECUTE FUNCTION refuse_passwords()",
        )
        .await;
    } else {
        raw(
            &db,
            "CREATE TRIGGER refuse_passwords BEFORE INSERT ON credentials
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        )
        .await;
    }
    let password = "a password of pat's";
    let pat = person("pat", Role::Admin, password);
    let answer = host.create_user("acme", &pat).await;
    let found = host.user("acme", "pat").await;
    assert_eq!(refused(found), (404, ErrorCode::NotFound), "the user was created without its password");
    assert_eq!(books_at(&t, &admin, "acme").await, before, "neither the user nor the ledger moved");
    assert_eq!(refused(answer), (500, ErrorCode::InternalError), "an unknown trigger's refusal is a bug");
    let login = [("grant_type", "password"), ("username", "pat"), ("password", password), ("organization", "acme")];
    assert_eq!(t.token_form(&login).await.status, 400, "no password was kept");

    raw(
        &db,
        if on_postgres() { "DROP TRIGGER refuse_passwords ON credentials" } else { "DROP TRIGGER refuse_passwords" },
    )
    .await;
    host.create_user("acme", &pat).await.unwrap();
    t.login(Some("acme"), "pat", password).await;
}

/// A filesystem of its own, `size` bytes of memory (tmpfs), for a database to fill up.
/// Mounting needs root: without it the test fails, it does not skip.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0777"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "cannot mount a tmpfs at {} ({status:?}): the disk-full test needs root",
            dir.path().display()
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn filler(&self) -> PathBuf {
        self.path().join("filler")
    }

    /// Fills the filesystem to its last byte, and checks that it is full: the next write
    /// fails with ENOSPC.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let full = loop {
            if let Err(error) = file.write_all(&chunk) {
                break error;
            }
        };
        assert_eq!(full.kind(), std::io::ErrorKind::StorageFull, "the tmpfs is not full: {full}");
        let more = file.write_all(b"x").map_err(|e| e.kind());
        assert_eq!(more, Err(std::io::ErrorKind::StorageFull), "not one more byte fits");
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a database may still hold a file open there.
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Runs `sql` on the test cluster outside a transaction (as CREATE TABLESPACE must be).
fn psql(sql: &str) {
    let status = Command::new("psql").arg(postgres_url()).args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql]).status();
    assert!(matches!(status, Ok(s) if s.success()), "psql -c {sql}: {status:?}");
}

fn leaked(sql: String) -> &'static str {
    Box::leak(sql.into_boxed_str())
}

/// Puts the tables a user's creation grows (users, ledger) in a tablespace on `fs`, so
/// that PostgreSQL's next extension of them finds the disk full: the realistic way a
/// PostgreSQL server runs out of disk for its data. Answers the tablespace's name.
async fn tables_on(fs: &Tmpfs, db: &Backend) -> String {
    use std::os::unix::fs::MetadataExt as _;
    let location = fs.path().join("tablespace");
    std::fs::create_dir(&location).unwrap();
    // The server's own OS user must own the directory: the owner of its data directory.
    let query = "SELECT setting FROM pg_settings WHERE name = 'data_directory'".to_owned();
    let rows = db.read(vec![(query, vec![])]).await.unwrap();
    let data_directory = match &rows[0][0][0] {
        allot_store::sql::Value::Text(path) => path.clone(),
        other => panic!("data_directory is {other:?}"),
    };
    let owner = std::fs::metadata(&data_directory).unwrap();
    std::os::unix::fs::chown(&location, Some(owner.uid()), Some(owner.gid())).unwrap();
    let name = format!("allot_full_{}", std::process::id());
    psql(&format!("CREATE TABLESPACE {name} LOCATION '{}'", location.display()));
    for table in ["users", "ledger"] {
        raw(db, leaked(format!("ALTER TABLE {table} SET TABLESPACE {name}"))).await;
    }
    name
}

#[tokio::test]
async fn a_full_disk_answers_503_saying_so_and_changes_nothing() {
    let fs = Tmpfs::mount("16m");
    let t = if on_postgres() {
        spawn_app().await
    } else {
        let data = fs.path().join("data");
        spawn_with(|config| config.data_dir = data).await
    };
    let (_, host) = acme(&t).await;
    let db = behind_the_back(&t).await;
    let tablespace = if on_postgres() { Some(tables_on(&fs, &db).await) } else { None };

    fs.fill();
    // Writes until the database needs more disk; each one that fits commits whole.
    let mut revision = allot_store::Store::revision(&db).await.unwrap();
    let mut full = None;
    for i in 0..5_000 {
        let user = format!("u{i}");
        match host.create_user("acme", &member(&user)).await {
            Ok(_) => revision += 1,
            Err(error) if error.status().is_some_and(|s| s == 503) => {
                full = Some((user, error));
                break;
            }
            Err(error) => panic!("{error}"),
        }
    }
    let (user, error) = full.expect("the database never ran out of disk");
    assert_eq!(error.code(), Some(ErrorCode::Unavailable));
    assert!(error.retry_after().is_some(), "503 with Retry-After");
    let detail = &error.problem().unwrap().detail;
    assert!(detail.contains("disk full"), "{detail}");
    assert_eq!(allot_store::Store::revision(&db).await.unwrap(), revision, "the revision did not move");
    let after = allot_store::LedgerQuery { from_revision: Some(revision + 1), limit: 10, ..Default::default() };
    assert_eq!(allot_store::Store::ledger(&db, after).await.unwrap(), vec![], "the ledger is unchanged");
    assert_eq!(refused(host.user("acme", &user).await), (404, ErrorCode::NotFound));

    fs.free();
    host.create_user("acme", &member(&user)).await.unwrap();
    if let Some(name) = tablespace {
        for table in ["users", "ledger"] {
            raw(&db, leaked(format!("ALTER TABLE {table} SET TABLESPACE pg_default"))).await;
        }
        psql(&format!("DROP TABLESPACE {name}"));
    }
}
