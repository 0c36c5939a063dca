//! The PostgreSQL store: several allot processes can share one database. It runs the
//! statements of `sql.rs` and `writes.rs`, a batch as one statement over arrays. Correctness rests on the transaction alone (the revision row
//! moves only from the expected value, and the schema's CHECKs hold the invariant), never
//! on advisory locks or LISTEN/NOTIFY. An advisory lock only takes turns between writers,
//! so that one plans after the last commit instead of planning, losing and planning again.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Timeouts};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{IsolationLevel, NoTls};

use crate::sql::{Expect, Fault, Kind, Row, Sink, Sql, Statement, Value, judge, numbered_dollars};
use crate::{Outage, Store, StoreError, StoreResult};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_plans.sql")),
    (3, include_str!("../../migrations/postgres/0003_idempotency.sql")),
    (4, include_str!("../../migrations/postgres/0004_columns.sql")),
    (5, include_str!("../../migrations/postgres/0005_login_throttle.sql")),
    (6, include_str!("../../migrations/postgres/0006_expiry_indexes.sql")),
    (7, include_str!("../../migrations/postgres/0007_lifetimes.sql")),
    (8, include_str!("../../migrations/postgres/0008_checkpoints.sql")),
    (9, include_str!("../../migrations/postgres/0009_group_profiles.sql")),
];

/// How long a request may wait for the database before it answers 503.
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    turn: std::sync::Arc<tokio::sync::Mutex<Turn>>,
}

/// The advisory lock writers take turns with ("allot" in ASCII).
const TURN_LOCK: i64 = 0x0061_6c6c_6f74;

/// The committer's own connection, on which it takes its turns and writes its groups.
#[derive(Default)]
struct Turn {
    client: Option<deadpool_postgres::Object>,
    /// Whether the connection holds the writers' lock.
    held: bool,
}

impl Turn {
    /// Closes the connection, which releases the lock if it holds it: a connection that might
    /// hold it, or be inside a transaction, never goes back to the pool.
    fn close(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
        self.held = false;
    }
}

impl PgStore {
    /// Connects (lazily: connections open on first use) and brings the schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let store = Self::connect(url)?;
        store.migrate().await?;
        Ok(store)
    }

    /// A pool for `url`, without touching the database yet.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Failed(format!("invalid PostgreSQL URL: {e}")))?;
        config.connect_timeout(TIMEOUT);
        // A statement that runs longer than this is cancelled by the server.
        config.options("-c statement_timeout=5000 -c lock_timeout=4000");
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(16)
            .timeouts(Timeouts { wait: Some(TIMEOUT), create: Some(TIMEOUT), recycle: Some(TIMEOUT) })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Failed(format!("cannot build the connection pool: {e}")))?;
        Ok(Self { pool, turn: Default::default() })
    }

    /// Applies every migration the database lacks; answers the versions applied now.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        self.migrate_up_to(i64::MAX).await
    }

    /// Applies the migrations the database lacks up to version `last`.
    pub(crate) async fn migrate_up_to(&self, last: i64) -> StoreResult<Vec<i64>> {
        let mut client = self.client().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .map_err(pg_error)?;
        let mut applied = Vec::new();
        for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version <= last) {
            let tx = client.transaction().await.map_err(pg_error)?;
            // Two processes starting at once: the second waits here for the first.
            tx.batch_execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await.map_err(pg_error)?;
            let done = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])
                .await
                .map_err(pg_error)?;
            if done.is_none() {
                tx.batch_execute(sql).await.map_err(pg_error)?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])
                    .await
                    .map_err(pg_error)?;
                applied.push(*version);
            }
            tx.commit().await.map_err(pg_error)?;
        }
        Ok(applied)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(error) => pg_error(error),
            other => StoreError::unavailable(Outage::Unreachable, format!("no database connection: {other}")),
        })
    }
}

/// An error outside any statement of ours.
fn pg_error(error: tokio_postgres::Error) -> StoreError {
    fault(&error).meaning(None)
}

/// Classifies an error by its SQLSTATE and the constraint name the server reports.
fn fault(error: &tokio_postgres::Error) -> Fault {
    let Some(db) = error.as_db_error() else {
        // No answer from the server: the connection is gone, refused or timed out.
        return Fault::Outage(Outage::Unreachable, error.to_string());
    };
    // The server's own words, not just "db error".
    let detail = format!("{}: {}", db.code().code(), db.message());
    let constraint =
        |kind| Fault::Constraint { kind, name: db.constraint().map(str::to_owned), detail: detail.clone() };
    let code = db.code();
    match code.code() {
        "23505" => constraint(Kind::Unique),
        "23502" => constraint(Kind::NotNull),
        "23514" => constraint(Kind::Check),
        "23503" => constraint(Kind::ForeignKey),
        c if c.starts_with("23") => constraint(Kind::Other),
        // A trigger's RAISE EXCEPTION.
        "P0001" => constraint(Kind::Trigger),
        _ if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Fault::Raced(detail)
        }
        _ if *code == SqlState::DISK_FULL => Fault::Outage(Outage::DiskFull, detail),
        _ if *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE => {
            Fault::Outage(Outage::TimedOut, detail)
        }
        // Connection exceptions, insufficient resources, operator intervention (shutdown,
        // starting up), system (I/O) errors.
        c if ["08", "53", "57", "58"].iter().any(|class| c.starts_with(class)) => {
            Fault::Outage(Outage::Unreachable, detail)
        }
        _ => Fault::Failed(detail),
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Text(t) => t.as_str().to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::TEXT | Type::VARCHAR | Type::BOOL)
    }

    to_sql_checked!();
}

fn row(row: &tokio_postgres::Row, columns: &std::sync::Arc<[String]>) -> StoreResult<Row> {
    let values = (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            let value = match *ty {
                Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(Value::Null, Value::Int)),
                Type::INT4 => {
                    row.try_get::<_, Option<i32>>(i).map(|v| v.map_or(Value::Null, |v| Value::Int(i64::from(v))))
                }
                Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.map_or(Value::Null, Value::Bool)),
                _ => row.try_get::<_, Option<String>>(i).map(|v| v.map_or(Value::Null, Value::Text)),
            };
            value.map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Row::new(columns.clone(), values))
}

/// The names of a statement's columns, shared by its rows.
fn columns(columns: &[tokio_postgres::Column]) -> std::sync::Arc<[String]> {
    columns.iter().map(|c| c.name().to_owned()).collect()
}

/// A statement as it is sent: SQL in PostgreSQL's spelling, and the parameters, which for
/// a batch are its columns, each one array.
struct Sent<'a> {
    sql: String,
    params: Vec<Box<dyn ToSql + Send + Sync + 'a>>,
    expect: &'a Expect,
    rows: usize,
}

impl<'a> Sent<'a> {
    fn of(statement: &'a Statement) -> Self {
        match statement {
            Statement::Single { sql, params, expect } => Sent {
                sql: numbered_dollars(sql),
                params: params.iter().map(|p| Box::new(p) as _).collect(),
                expect,
                rows: 1,
            },
            Statement::Rows { all, rows, expect, .. } => {
                let width = rows.first().map_or(0, Vec::len);
                let column = |i| rows.iter().map(|row| row.get(i).unwrap_or(&Value::Null)).collect::<Vec<_>>();
                Sent {
                    sql: (*all).to_owned(),
                    params: (0..width).map(|i| Box::new(column(i)) as _).collect(),
                    expect,
                    rows: rows.len(),
                }
            }
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as _).collect()
    }
}

/// Prepares `statements` (cached per connection), then sends them all without waiting for
/// an answer in between; PostgreSQL runs them in order. Answers each one's rows, or the
/// first failure in statement order (once one fails, those after it only say that the
/// transaction is aborted).
async fn pipeline(client: &impl GenericClient, statements: &[Statement]) -> StoreResult<Vec<Vec<Row>>> {
    let sent: Vec<Sent> = statements.iter().map(Sent::of).collect();
    let mut prepared = Vec::with_capacity(sent.len());
    for statement in &sent {
        prepared
            .push(client.prepare_cached(&statement.sql).await.map_err(|e| fault(&e).meaning(Some(statement.expect)))?);
    }
    // Each is sent when its future is first polled, and join_all polls them in order.
    let runs = sent.iter().zip(&prepared).map(|(s, prepared)| run(client, prepared, s.params(), s.expect, s.rows));
    futures_util::future::join_all(runs).await.into_iter().collect()
}

/// Runs a prepared statement with `params`, standing for `rows` rows of them, judged by
/// `expect`; answers the rows it returns.
async fn run(
    tx: &impl GenericClient,
    prepared: &tokio_postgres::Statement,
    params: Vec<&(dyn ToSql + Sync)>,
    expect: &Expect,
    rows: usize,
) -> StoreResult<Vec<Row>> {
    let failed = |e: tokio_postgres::Error| fault(&e).meaning(Some(expect));
    let (returned, changed) = if prepared.columns().is_empty() {
        (Vec::new(), tx.execute(prepared, &params).await.map_err(failed)?)
    } else {
        let returned = tx.query(prepared, &params).await.map_err(failed)?;
        let count = returned.len() as u64;
        let names = columns(prepared.columns());
        (returned.iter().map(|r| row(r, &names)).collect::<StoreResult<Vec<_>>>()?, count)
    };
    judge(changed, expect, rows)?;
    Ok(returned)
}

impl Sql for PgStore {
    async fn take_turn(&self, then: (String, Vec<Value>)) -> StoreResult<Option<Vec<Row>>> {
        let mut turn = self.turn.lock().await;
        if turn.client.is_none() {
            turn.client = Some(self.client().await?);
        }
        let Some(client) = turn.client.as_ref() else {
            return Err(StoreError::unavailable(Outage::Unreachable, "no connection to take a turn on"));
        };
        let (sql, params) = then;
        // Both prepared first: a statement given as text would send its Bind only after its
        // Parse is answered, behind `then`. Prepared, each goes out whole, in order.
        let lock = client.prepare_cached("SELECT pg_advisory_lock($1)").await.map_err(pg_error)?;
        let prepared = client.prepare_cached(&numbered_dollars(&sql)).await.map_err(pg_error)?;
        // The lock waits at most lock_timeout (the caller then writes without its turn);
        // `then`, sent right behind it, runs once it is held.
        let lock = client.execute(&lock, &[&TURN_LOCK]);
        let params = params.iter().map(|p| p as _).collect();
        match futures_util::future::join(lock, run(client, &prepared, params, &Expect::Any, 1)).await {
            (Ok(_), Ok(rows)) => {
                turn.held = true;
                Ok(Some(rows))
            }
            (Ok(_), Err(error)) => {
                turn.held = true;
                Err(error)
            }
            (Err(error), _) => {
                // Waited too long (lock_timeout): the connection is fine, keep it.
                if client.is_closed() {
                    turn.close();
                }
                Err(pg_error(error))
            }
        }
    }

    async fn end_turn(&self) {
        let mut turn = self.turn.lock().await;
        let released = match (turn.client.as_ref(), turn.held) {
            (Some(client), true) => client.execute("SELECT pg_advisory_unlock($1)", &[&TURN_LOCK]).await.is_ok(),
            _ => true,
        };
        if released {
            turn.held = false;
        } else {
            turn.close();
        }
    }

    /// With the turn held: on the turn's connection, BEGIN goes with the statements, and
    /// COMMIT with the end of the turn, two round trips in all. The connection is the
    /// committer's alone, so no one can leave it in the middle of a transaction.
    async fn write_commits(&self, statements: Vec<Statement>) -> StoreResult<()> {
        use futures_util::future::join;
        let mut turn = self.turn.lock().await;
        let client = match (turn.client.as_ref(), turn.held) {
            (Some(client), true) => client,
            _ => {
                drop(turn);
                return self.write(statements).await.map(drop);
            }
        };
        let unlock = client.prepare_cached("SELECT pg_advisory_unlock($1)").await.map_err(pg_error)?;
        let (began, written) = join(client.batch_execute("BEGIN"), pipeline(client, &statements)).await;
        if let Err(error) = began.map_err(pg_error).and(written) {
            if client.batch_execute("ROLLBACK").await.is_err() {
                turn.close();
            }
            return Err(error);
        }
        let (committed, released) = join(client.batch_execute("COMMIT"), client.execute(&unlock, &[&TURN_LOCK])).await;
        match (committed, released) {
            (Ok(()), Ok(_)) => {
                turn.held = false;
                Ok(())
            }
            (Ok(()), Err(_)) => {
                turn.close();
                Ok(())
            }
            (Err(error), _) => {
                turn.close();
                Err(pg_error(error))
            }
        }
    }

    async fn write(&self, statements: Vec<Statement>) -> StoreResult<Vec<Vec<Row>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let results = pipeline(&tx, &statements).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(results)
    }

    async fn scan<S: Sink>(&self, queries: Vec<(String, Vec<Value>)>, mut sink: S) -> StoreResult<S> {
        let mut client = self.client().await?;
        if let [(sql, params)] = queries.as_slice() {
            // One query is one snapshot already: no transaction, one round trip.
            scan_one(&client, 0, sql, params, &mut sink).await?;
            return Ok(sink);
        }
        // One snapshot: every query sees the same moment.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        for (index, (sql, params)) in queries.iter().enumerate() {
            scan_one(&tx, index, sql, params, &mut sink).await?;
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(sink)
    }
}

/// Runs query number `index`, handing its rows to `sink` as they arrive.
async fn scan_one(
    client: &impl GenericClient,
    index: usize,
    sql: &str,
    params: &[Value],
    sink: &mut impl Sink,
) -> StoreResult<()> {
    use futures_util::TryStreamExt as _;
    let prepared = client.prepare_cached(&numbered_dollars(sql)).await.map_err(pg_error)?;
    let params = params.iter().map(|p| p as &(dyn ToSql + Sync));
    let names = columns(prepared.columns());
    let rows = client.query_raw(&prepared, params).await.map_err(pg_error)?;
    let mut rows = std::pin::pin!(rows);
    while let Some(found) = rows.try_next().await.map_err(pg_error)? {
        sink.take(index, row(&found, &names)?)?;
    }
    Ok(())
}

impl Store for PgStore {}

/// Creates a new, empty database on the server `url` names and answers its URL: every
/// test and benchmark run gets books of its own.
pub async fn scratch_database(url: &str) -> StoreResult<String> {
    use rand::RngCore as _;
    let config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Failed(format!("invalid PostgreSQL URL: {e}")))?;
    let (client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let driver = tokio::spawn(connection);
    let name = format!("allot_{:016x}", rand::rng().next_u64());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(pg_error)?;
    drop(client);
    let _ = driver.await;
    let (base, _) = url.rsplit_once('/').ok_or_else(|| StoreError::Failed("the URL names no database".into()))?;
    Ok(format!("{base}/{name}"))
}
