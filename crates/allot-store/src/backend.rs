//! The store a server runs on, picked from the database URL at start-up. An enum rather
//! than a trait object: the trait's async methods are statically dispatched. It passes on
//! the SQL primitives only; every [`Store`] method is written once, over them.

use crate::sql::{Row, Sink, Sql, Statement, Value};
use crate::{PgStore, SqliteStore, Store, StoreResult};

#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Backend::Sqlite($store) => $call,
            Backend::Postgres($store) => $call,
        }
    };
}

impl Sql for Backend {
    async fn write(&self, statements: Vec<Statement>) -> StoreResult<Vec<Vec<Row>>> {
        delegate!(self, s => s.write(statements).await)
    }
    async fn scan<S: Sink>(&self, queries: Vec<(String, Vec<Value>)>, sink: S) -> StoreResult<S> {
        delegate!(self, s => s.scan(queries, sink).await)
    }
    async fn write_commits(&self, statements: Vec<Statement>) -> StoreResult<()> {
        delegate!(self, s => s.write_commits(statements).await)
    }
    async fn take_turn(&self, then: (String, Vec<Value>)) -> StoreResult<Option<Vec<Row>>> {
        delegate!(self, s => Sql::take_turn(s, then).await)
    }
    async fn end_turn(&self) {
        delegate!(self, s => Sql::end_turn(s).await)
    }
}

impl Store for Backend {}
