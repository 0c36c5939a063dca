//! What a SQL backend provides, and what every backend shares: values, rows read by
//! column name, statements with what they must change and what a refusal of them means,
//! and how a database error is classified. A backend only runs statements (in one write
//! transaction) and queries (in one read snapshot); the statements are in `store.rs` and
//! `writes.rs`. SQL is written with `?N` placeholders and kept to what SQLite and
//! PostgreSQL (and PostgreSQL-compatible distributed databases) both accept; only a
//! batch's array form is PostgreSQL's alone.

use std::future::Future;
use std::sync::Arc;

use allot_core::OrgId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Outage, Refusal, StoreError, StoreResult};

/// A parameter or a column value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One row of a query's answer: its values, by column name.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of `values`, one per column of `columns` (shared by every row of a query).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    /// Takes the value of `column` out of the row, decoded; a missing column or another
    /// type is corrupt data. Taken, not copied: a million rows load without copying text.
    pub fn take<T: FromValue>(&mut self, column: &str) -> StoreResult<T> {
        let at = self.columns.iter().position(|c| c == column);
        let value = at.and_then(|at| self.values.get_mut(at)).map(std::mem::take);
        let value = value.ok_or_else(|| StoreError::Corrupt(format!("no column `{column}` in {:?}", self.columns)))?;
        T::from_value(value).map_err(|e| StoreError::Corrupt(format!("column `{column}`: {e}")))
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// A row equals its values, whatever its columns are named (for tests and checks).
impl PartialEq<Vec<Value>> for Row {
    fn eq(&self, values: &Vec<Value>) -> bool {
        self.values == *values
    }
}

impl std::ops::Index<usize> for Row {
    type Output = Value;

    fn index(&self, at: usize) -> &Value {
        &self.values[at]
    }
}

/// A Rust value a column decodes to.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, String>;
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}
impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for u64 {
    fn from_value(value: Value) -> Result<Self, String> {
        u64::try_from(i64::from_value(value)?).map_err(|e| e.to_string())
    }
}
impl FromValue for u32 {
    fn from_value(value: Value) -> Result<Self, String> {
        u32::try_from(i64::from_value(value)?).map_err(|e| e.to_string())
    }
}
impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(t) => Ok(t),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    /// SQLite has no booleans: 0 or 1.
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A struct a row decodes into, column by column by name.
pub trait FromRow: Sized {
    fn from_row(row: Row) -> StoreResult<Self>;
}

/// Declares a row struct: its fields are the columns, decoded by name, and `COLUMNS` is
/// the select list that names them, so the query and the decoding cannot drift apart.
macro_rules! row_struct {
    ($(#[$meta:meta])* struct $name:ident { $first:ident: $fty:ty $(, $field:ident: $ty:ty)* $(,)? }) => {
        $(#[$meta])*
        pub(crate) struct $name {
            pub $first: $fty,
            $(pub $field: $ty,)*
        }
        impl $name {
            #[allow(dead_code, reason = "not every row struct is selected by its own list")]
            pub const COLUMNS: &'static str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
        }
        impl $crate::sql::FromRow for $name {
            fn from_row(mut row: $crate::sql::Row) -> $crate::StoreResult<Self> {
                Ok(Self { $first: row.take(stringify!($first))?, $($field: row.take(stringify!($field))?,)* })
            }
        }
    };
}
pub(crate) use row_struct;

/// What a statement must have changed for the transaction to go on, and what a
/// constraint's refusal of it means.
#[derive(Debug, Clone)]
pub enum Expect {
    Any,
    /// Exactly one row for each row of parameters, or the books moved under us: the
    /// transaction is refused.
    One(&'static str),
    /// Moves the revision row, only from the value the plan was made at: a refusal means
    /// another writer moved it first.
    Revision,
    /// Inserts a row whose primary key is `constraint` (as PostgreSQL names it); its
    /// refusal means `what` `id` exists already.
    New {
        constraint: &'static str,
        what: &'static str,
        id: String,
    },
}

#[derive(Debug, Clone)]
pub enum Statement {
    Single {
        sql: &'static str,
        params: Vec<Value>,
        expect: Expect,
    },
    /// The same statement for each of `rows`: `each` takes one row's parameters; `all`
    /// takes each parameter as the array of the rows' values of that column
    /// (PostgreSQL's `unnest`), so a backend may run it once for them all, in any order.
    /// Never empty: `writes.rs` builds a batch only for rows it has.
    Rows {
        each: &'static str,
        all: &'static str,
        rows: Vec<Vec<Value>>,
        expect: Expect,
    },
}

impl Statement {
    pub fn expect(&self) -> &Expect {
        match self {
            Statement::Single { expect, .. } | Statement::Rows { expect, .. } => expect,
        }
    }
}

pub(crate) fn statement(sql: &'static str, params: Vec<Value>, expect: Expect) -> Statement {
    Statement::Single { sql, params, expect }
}

/// What a backend provides.
pub trait Sql: Send + Sync + 'static {
    /// Runs the statements in one write transaction, in order, honouring each `expect`;
    /// answers the rows each returned. Any failure rolls everything back.
    fn write(&self, statements: Vec<Statement>) -> impl Future<Output = StoreResult<Vec<Vec<Row>>>> + Send;
    /// Runs the queries in one read snapshot and hands every row to `sink` as it is read,
    /// so that no more than a row need be held; answers the sink back.
    fn scan<S: Sink>(&self, queries: Vec<(String, Vec<Value>)>, sink: S)
    -> impl Future<Output = StoreResult<S>> + Send;

    /// Runs the queries in one read snapshot; answers the rows of each.
    fn read(&self, queries: Vec<(String, Vec<Value>)>) -> impl Future<Output = StoreResult<Vec<Vec<Row>>>> + Send {
        let tables = vec![Vec::new(); queries.len()];
        self.scan(queries, tables)
    }
    /// Writes a group of commits' statements, like [`Sql::write`]; a backend may use the
    /// turn it holds to save round trips.
    fn write_commits(&self, statements: Vec<Statement>) -> impl Future<Output = StoreResult<()>> + Send {
        async move { self.write(statements).await.map(drop) }
    }
    /// See [`crate::Store::take_turn`]: takes the turn, then runs `then`, in one round
    /// trip. A database only one process writes needs no turns: `None`.
    fn take_turn(&self, then: (String, Vec<Value>)) -> impl Future<Output = StoreResult<Option<Vec<Row>>>> + Send {
        let _ = then;
        async { Ok(None) }
    }
    fn end_turn(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Where [`Sql::scan`] puts the rows it reads.
pub trait Sink: Send + 'static {
    /// Takes one row of the `query`-th query; an error stops the scan.
    fn take(&mut self, query: usize, row: Row) -> StoreResult<()>;
}

/// The rows of each query, as they are.
impl Sink for Vec<Vec<Row>> {
    fn take(&mut self, query: usize, row: Row) -> StoreResult<()> {
        let count = self.len();
        let rows =
            self.get_mut(query).ok_or_else(|| StoreError::Corrupt(format!("a row of query {query} of {count}")))?;
        rows.push(row);
        Ok(())
    }
}

/// Whether a statement run for `rows` rows of parameters that changed `changed` rows lets
/// the transaction go on; `Err` rolls it back.
pub fn judge(changed: u64, expect: &Expect, rows: usize) -> StoreResult<()> {
    match expect {
        Expect::One(what) if changed != rows as u64 => {
            Err(StoreError::Raced(format!("{what}: expected {rows} row(s), found {changed}")))
        }
        Expect::Revision if changed != 1 => Err(StoreError::Raced("the revision row is missing".into())),
        _ => Ok(()),
    }
}

/// The kinds of constraint a database reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    PrimaryKey,
    Unique,
    NotNull,
    Check,
    ForeignKey,
    Trigger,
    Other,
}

/// A database error as a backend classifies it (by codes and constraint names, never by
/// its message), before the statement it came from says what it means.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A constraint refused a statement; its name where the database reports one.
    Constraint {
        kind: Kind,
        name: Option<String>,
        detail: String,
    },
    Raced(String),
    Outage(Outage, String),
    Failed(String),
}

/// The schema's CHECK constraints (migrations/*/0001_init.sql): every one is a pool's.
const POOL_LIMITS: [&str; 3] =
    ["pool_quantity_not_negative", "pool_allocated_not_negative", "pool_allocated_within_quantity"];

impl Fault {
    /// What the fault means, for the statement that raised it (`None`: outside one).
    pub(crate) fn meaning(self, expect: Option<&Expect>) -> StoreError {
        let Fault::Constraint { kind, name, detail } = self else {
            return match self {
                Fault::Raced(detail) => StoreError::Raced(detail),
                Fault::Outage(reason, detail) => StoreError::Unavailable { reason, detail },
                Fault::Failed(detail) | Fault::Constraint { detail, .. } => StoreError::Failed(detail),
            };
        };
        let refusal = match (kind, name, expect) {
            (_, _, Some(Expect::Revision)) => return StoreError::Raced(format!("the stored revision moved: {detail}")),
            // SQLite names no constraint but tells a primary key from other uniqueness;
            // PostgreSQL names it.
            (Kind::PrimaryKey, None, Some(Expect::New { what, id, .. })) => Refusal::Exists { what, id: id.clone() },
            (Kind::Unique | Kind::PrimaryKey, Some(name), Some(Expect::New { constraint, what, id }))
                if name == *constraint =>
            {
                Refusal::Exists { what, id: id.clone() }
            }
            (Kind::Check, Some(name), _) => match POOL_LIMITS.iter().find(|known| **known == name) {
                Some(known) => Refusal::PoolLimit { constraint: Some(known) },
                None => Refusal::Other { constraint: name },
            },
            // SQLite does not name a CHECK outside its message; the schema's are all pools'.
            (Kind::Check, None, _) => Refusal::PoolLimit { constraint: None },
            (Kind::Trigger, _, _) => Refusal::Trigger,
            (kind, name, _) => Refusal::Other { constraint: name.unwrap_or_else(|| format!("{kind:?}: {detail}")) },
        };
        StoreError::Refused(refusal)
    }
}

/// `?N` placeholders as `$N`, for PostgreSQL.
pub fn numbered_dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Failed(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{e}: {raw}")))
}

pub(crate) fn parsed<T, E: std::fmt::Display>(value: Result<T, E>) -> StoreResult<T> {
    value.map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn key(org: &OrgId) -> Value {
    Value::Text(org.key().as_str().to_owned())
}
