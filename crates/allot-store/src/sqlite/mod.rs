//! The embedded SQLite store: one writer connection (SQLite serializes writes anyway), a
//! few reader connections, WAL, `synchronous=FULL`. It runs the statements of `sql.rs` and
//! `writes.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql, TransactionBehavior, ffi};

use crate::sql::{Expect, Fault, Kind, Row, Sink, Sql, Statement, Value, judge};
use crate::{Outage, Store, StoreError, StoreResult};

mod migrations;

pub use migrations::migrate;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// A permit per reader connection: reads beyond [`READERS`] at once wait for one, so
    /// a burst of reads costs [`READERS`] connections (each with its page cache) and
    /// threads, not one each.
    free: tokio::sync::Semaphore,
}

/// Reader connections open at most at once.
pub const READERS: usize = 4;

impl Inner {
    fn new(path: &Path, writer: Connection) -> Self {
        Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            free: tokio::sync::Semaphore::new(READERS),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        create_parent(path)?;
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        restrict_to_owner(path);
        Ok(Self { inner: Arc::new(Inner::new(path, writer)) })
    }

    /// Opens a database file with its schema at `version`, to test later migrations.
    #[cfg(test)]
    pub(crate) fn open_at(path: &Path, version: i64) -> StoreResult<Self> {
        let mut writer = connect(path)?;
        migrations::migrate_up_to(&mut writer, version)?;
        Ok(Self { inner: Arc::new(Inner::new(path, writer)) })
    }

    /// Brings a database file's schema up to date; answers the versions applied now.
    pub fn migrate_file(path: &Path) -> StoreResult<Vec<i64>> {
        create_parent(path)?;
        migrate(&mut connect(path)?)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

fn create_parent(path: &Path) -> StoreResult<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| {
            let reason =
                if e.kind() == std::io::ErrorKind::StorageFull { Outage::DiskFull } else { Outage::Unreachable };
            StoreError::unavailable(reason, format!("cannot create {}: {e}", dir.display()))
        }),
        None => Ok(()),
    }
}

/// The database holds password hashes: only its owner may read it.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if let Err(error) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                tracing::debug!(%error, file = %file.display(), "cannot restrict permissions");
            }
        }
    }
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(db_error)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(db_error)?;
    Ok(conn)
}

/// An error outside any statement of ours.
pub(crate) fn db_error(error: rusqlite::Error) -> StoreError {
    fault(&error).meaning(None)
}

/// An error of a statement expecting `expect`.
fn statement_error(expect: &Expect) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |error| fault(&error).meaning(Some(expect))
}

/// Classifies an error by SQLite's (extended) result codes. SQLite names a constraint only
/// inside its message, which is not read: the code tells the kind, the statement the rest.
fn fault(error: &rusqlite::Error) -> Fault {
    let detail = error.to_string();
    let rusqlite::Error::SqliteFailure(failure, _) = error else { return Fault::Failed(detail) };
    match failure.code {
        ErrorCode::ConstraintViolation => {
            let kind = match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Kind::PrimaryKey,
                ffi::SQLITE_CONSTRAINT_UNIQUE => Kind::Unique,
                ffi::SQLITE_CONSTRAINT_NOTNULL => Kind::NotNull,
                ffi::SQLITE_CONSTRAINT_CHECK => Kind::Check,
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Kind::ForeignKey,
                ffi::SQLITE_CONSTRAINT_TRIGGER => Kind::Trigger,
                _ => Kind::Other,
            };
            Fault::Constraint { kind, name: None, detail }
        }
        ErrorCode::DiskFull => Fault::Outage(Outage::DiskFull, detail),
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Fault::Outage(Outage::TimedOut, detail),
        ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::OutOfMemory => {
            Fault::Outage(Outage::Unreachable, detail)
        }
        _ => Fault::Failed(detail),
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

fn value(raw: ValueRef<'_>) -> Value {
    match raw {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Text(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
    }
}

/// Runs one statement, answering the rows it returned; a batch, row by row (a statement
/// costs microseconds in process).
fn run(conn: &Connection, statement: &Statement) -> StoreResult<Vec<Row>> {
    match statement {
        Statement::Single { sql, params, expect } => {
            let (rows, changed) = query(conn, sql, params, expect)?;
            judge(changed, expect, 1)?;
            Ok(rows)
        }
        Statement::Rows { each, rows, expect, .. } => {
            let failed = statement_error(expect);
            let mut prepared = conn.prepare_cached(each).map_err(&failed)?;
            for params in rows {
                let changed = prepared.execute(rusqlite::params_from_iter(params)).map_err(&failed)?;
                judge(changed as u64, expect, 1)?;
            }
            Ok(Vec::new())
        }
    }
}

fn query(conn: &Connection, sql: &str, params: &[Value], expect: &Expect) -> StoreResult<(Vec<Row>, u64)> {
    let mut rows = Vec::new();
    let changed = each_row(conn, sql, params, expect, |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok((rows, changed))
}

/// Runs one statement, handing each row it returns to `each`; answers how many rows it
/// changed (or returned).
fn each_row(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    expect: &Expect,
    mut each: impl FnMut(Row) -> StoreResult<()>,
) -> StoreResult<u64> {
    let failed = statement_error(expect);
    let mut stmt = conn.prepare_cached(sql).map_err(&failed)?;
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    if columns.is_empty() {
        let changed = stmt.execute(rusqlite::params_from_iter(params)).map_err(&failed)?;
        return Ok(changed as u64);
    }
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(&failed)?;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(&failed)? {
        let values = (0..columns.len()).map(|i| row.get_ref(i).map(value)).collect::<Result<Vec<_>, _>>();
        each(Row::new(columns.clone(), values.map_err(&failed)?))?;
        count += 1;
    }
    Ok(count)
}

/// Runs the statements in one write transaction, on this thread.
fn write_now(inner: &Inner, statements: &[Statement]) -> StoreResult<Vec<Vec<Row>>> {
    let mut conn = inner.writer.lock().map_err(|_| StoreError::Failed("writer lock poisoned".into()))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let results = statements.iter().map(|s| run(&tx, s)).collect::<StoreResult<Vec<_>>>()?;
    tx.commit().map_err(db_error)?;
    Ok(results)
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Failed(format!("database task failed: {e}")))?
}

impl Sql for SqliteStore {
    async fn write(&self, statements: Vec<Statement>) -> StoreResult<Vec<Vec<Row>>> {
        let inner = self.inner.clone();
        blocking(move || write_now(&inner, &statements)).await
    }

    /// On the calling thread: the committer has one of its own, so its groups are written
    /// there rather than handed to another thread and back.
    async fn write_commits(&self, statements: Vec<Statement>) -> StoreResult<()> {
        write_now(&self.inner, &statements).map(drop)
    }

    async fn scan<S: Sink>(&self, queries: Vec<(String, Vec<Value>)>, mut sink: S) -> StoreResult<S> {
        let _permit =
            self.inner.free.acquire().await.map_err(|_| StoreError::Failed("the readers are closed".into()))?;
        let inner = self.inner.clone();
        blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| StoreError::Failed("reader lock poisoned".into()))?.pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            // One read transaction: every query sees the same moment.
            let tx = conn.transaction().map_err(db_error)?;
            let scanned = queries.iter().enumerate().try_for_each(|(index, (sql, params))| {
                each_row(&tx, sql, params, &Expect::Any, |row| sink.take(index, row)).map(drop)
            });
            drop(tx);
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            scanned.map(|()| sink)
        })
        .await
    }
}

impl Store for SqliteStore {}
