//! The store, written once for every SQL backend. A backend only runs statements (in one
//! write transaction) and queries (in one read snapshot); the statements, what they must
//! change (here and in `writes.rs`), and how rows become the model are here. SQL is written
//! with `?N` placeholders and kept to what SQLite and PostgreSQL (and PostgreSQL-compatible
//! distributed databases) both accept; only a batch's array form is PostgreSQL's alone.

use std::future::Future;

use allot_core::ledger::Replay;
use allot_core::state::Inconsistent;
use allot_core::{Catalogue, LedgerEntry, OrgId, OrgKey, State, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::rows::{self, Loader};
use crate::writes::commit_statements;
use crate::{
    ApiClient, Commit, LedgerCheck, LedgerQuery, Store, StoreError, StoreResult, Subject, TokenKind, TokenRecord,
};
use crate::{IdempotencyKey, IdempotencyRecord, StoredAnswer, StoredPlan};

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
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

pub type Row = Vec<Value>;

/// What a statement must have changed for the transaction to go on.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    Any,
    /// Exactly one row for each row of parameters, or the books moved under us: the
    /// transaction is refused.
    One(&'static str),
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
        rows: Vec<Row>,
        expect: Expect,
    },
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
    /// See [`Store::take_turn`]: takes the turn, then runs `then`, in one round trip. A
    /// database only one process writes needs no turns: `None`.
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
pub fn judge(changed: u64, expect: Expect, rows: usize) -> StoreResult<()> {
    match expect {
        Expect::One(what) if changed != rows as u64 => {
            Err(StoreError::Conflict(format!("{what}: expected {rows} row(s), found {changed}")))
        }
        _ => Ok(()),
    }
}

/// `?N` placeholders as `$N`, for PostgreSQL.
pub fn numbered_dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(value: &Value) -> StoreResult<T> {
    let raw = str_of(value)?;
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{e}: {raw}")))
}

pub(crate) fn str_of(value: &Value) -> StoreResult<&str> {
    match value {
        Value::Text(t) => Ok(t),
        other => Err(StoreError::Corrupt(format!("expected text, found {other:?}"))),
    }
}

pub(crate) fn text(value: &Value) -> StoreResult<String> {
    str_of(value).map(str::to_owned)
}

pub(crate) fn int(value: &Value) -> StoreResult<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(StoreError::Corrupt(format!("expected an integer, found {other:?}"))),
    }
}

pub(crate) fn opt_int(value: &Value) -> StoreResult<Option<i64>> {
    match value {
        Value::Null => Ok(None),
        other => int(other).map(Some),
    }
}

fn boolean(value: &Value) -> StoreResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        other => Err(StoreError::Corrupt(format!("expected a boolean, found {other:?}"))),
    }
}

pub(crate) fn parsed<T, E: std::fmt::Display>(value: Result<T, E>) -> StoreResult<T> {
    value.map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn key(org: &OrgId) -> Value {
    Value::Text(org.key().as_str().to_owned())
}

const ROW_QUERIES: [&str; 9] = [
    "SELECT value FROM meta WHERE key = 'revision'",
    "SELECT product FROM products ORDER BY code_key",
    "SELECT org_id, name FROM orgs",
    // By organization, so that each one's users are created together.
    "SELECT org_key, user_id, profile FROM users ORDER BY org_key",
    "SELECT org_key, group_id, name, rule FROM groups",
    "SELECT org_key, tenant_id, name FROM tenants",
    "SELECT org_key, group_id, user_id, seq FROM members ORDER BY seq",
    // '' (the host) sorts before 'org:', before 'tenant:': parents before children.
    "SELECT scope, license, quantity, allocated, valid_from, valid_until FROM pools ORDER BY scope",
    "SELECT org_key, user_id, product, holding FROM holdings",
];

fn row_queries() -> Vec<(String, Vec<Value>)> {
    ROW_QUERIES.iter().map(|q| ((*q).to_owned(), Vec::new())).collect()
}

/// The whole ledger, replayed as it is read, then the rows: what a ledger check compares,
/// from one snapshot.
struct LedgerAndRows {
    replay: Replay,
    entries: u64,
    rows: Loader,
}

impl Sink for LedgerAndRows {
    fn take(&mut self, query: usize, row: Row) -> StoreResult<()> {
        match query {
            0 => {
                let entry = ledger_entry(&row)?;
                self.entries += 1;
                self.replay.push(entry.revision, entry.change).map_err(not_replayable)
            }
            table => self.rows.take(table - 1, row),
        }
    }
}

/// The ledger itself is broken (out of order, or a change that does not apply).
fn not_replayable(error: Inconsistent) -> StoreError {
    StoreError::Corrupt(format!("the ledger does not replay: {error}"))
}

fn ledger_query(query: &LedgerQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT revision, seq, at, actor, request_id, change FROM ledger WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    let mut filter = |clause: &str, value: Value| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
    };
    if let Some(org) = &query.org {
        filter(" AND org_key = ?", org.as_str().into());
    }
    if let Some(user) = &query.user {
        filter(" AND user_id = ?", user.as_str().into());
    }
    if let Some(license) = &query.license {
        filter(" AND license = ?", license.as_str().into());
    }
    if let Some(from) = query.from_revision {
        filter(" AND revision >= ?", from.into());
    }
    if let Some(to) = query.to_revision {
        filter(" AND revision <= ?", to.into());
    }
    if let Some((revision, seq)) = query.after {
        filter(" AND (revision > ?", revision.into());
        filter(" OR (revision = ?", revision.into());
        filter(" AND seq > ?))", seq.into());
    }
    filter(" ORDER BY revision, seq LIMIT ?", query.limit.into());
    (sql, params)
}

fn ledger_entry(r: &Row) -> StoreResult<LedgerEntry> {
    Ok(LedgerEntry {
        revision: int(&r[0])?.max(0) as u64,
        seq: u32::try_from(int(&r[1])?).unwrap_or(u32::MAX),
        at: int(&r[2])?,
        actor: text(&r[3])?,
        request_id: text(&r[4])?,
        change: from_json(&r[5])?,
    })
}

const CLIENT_COLUMNS: &str = "client_id, org_key, name, secret_hash, scopes, created_at";

fn client(r: &Row) -> StoreResult<ApiClient> {
    Ok(ApiClient {
        client_id: text(&r[0])?,
        org: OrgKey::of(&text(&r[1])?),
        name: text(&r[2])?,
        secret_hash: text(&r[3])?,
        scopes: text(&r[4])?.split_whitespace().map(str::to_owned).collect(),
        created_at: int(&r[5])?,
    })
}

fn token(r: &Row) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        hash: text(&r[0])?,
        kind: if text(&r[1])? == "refresh" { TokenKind::Refresh } else { TokenKind::Access },
        subject: from_json(&r[2])?,
        scopes: text(&r[3])?.split_whitespace().map(str::to_owned).collect(),
        expires_at: int(&r[4])?,
    })
}

async fn read_one<S: Sql>(sql: &S, query: &str, params: Vec<Value>) -> StoreResult<Vec<Row>> {
    Ok(sql.read(vec![(query.to_owned(), params)]).await?.pop().unwrap_or_default())
}

async fn write_one<S: Sql>(sql: &S, query: &'static str, params: Vec<Value>) -> StoreResult<Vec<Row>> {
    Ok(sql.write(vec![statement(query, params, Expect::Any)]).await?.pop().unwrap_or_default())
}

impl<S: Sql> Store for S {
    async fn take_turn(&self, after: u64, limit: u32) -> StoreResult<Option<Vec<LedgerEntry>>> {
        let since = ledger_query(&LedgerQuery { from_revision: Some(after + 1), limit, ..LedgerQuery::default() });
        match Sql::take_turn(self, since).await? {
            Some(rows) => rows.iter().map(ledger_entry).collect::<StoreResult<Vec<_>>>().map(Some),
            None => Ok(None),
        }
    }

    async fn end_turn(&self) {
        Sql::end_turn(self).await
    }

    async fn load(&self) -> StoreResult<State> {
        self.scan(row_queries(), Loader::default()).await?.finish()
    }

    async fn commit_all(&self, commits: &[Commit]) -> StoreResult<()> {
        self.write_commits(commit_statements(commits)?).await
    }

    async fn ledger(&self, query: LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
        let (sql, params) = ledger_query(&query);
        read_one(self, &sql, params).await?.iter().map(ledger_entry).collect()
    }

    async fn check_ledger(&self) -> StoreResult<LedgerCheck> {
        // One snapshot, so the ledger and the balances are the same moment.
        let mut queries = vec![ledger_query(&LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() })];
        queries.extend(row_queries());
        let sink =
            LedgerAndRows { replay: Replay::new(Catalogue::default_products()), entries: 0, rows: Loader::default() };
        let LedgerAndRows { replay, entries, rows } = self.scan(queries, sink).await?;
        let stored = rows.finish()?;
        let replayed = replay.finish().map_err(not_replayable)?;
        Ok(LedgerCheck { revision: stored.revision(), entries, differences: rows::differences(&replayed, &stored) })
    }

    async fn revision(&self) -> StoreResult<u64> {
        let rows = read_one(self, ROW_QUERIES[0], Vec::new()).await?;
        Ok(rows.first().and_then(|r| r.first()).map(int).transpose()?.unwrap_or(0).max(0) as u64)
    }

    async fn idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let sql =
            "SELECT scope, key, fingerprint, revision, status, content_type, body, created_at, etag FROM idempotency
                   WHERE scope = ?1 AND key = ?2";
        let rows = read_one(self, sql, vec![scope.into(), key.into()]).await?;
        rows.first()
            .map(|r| {
                let answer = match (opt_int(&r[4])?, &r[5], &r[6]) {
                    (Some(status), Value::Text(content_type), Value::Text(body)) => Some(StoredAnswer {
                        status: u16::try_from(status).unwrap_or(500),
                        content_type: content_type.clone(),
                        etag: if let Value::Text(etag) = &r[8] { Some(etag.clone()) } else { None },
                        body: body.clone(),
                    }),
                    _ => None,
                };
                Ok(IdempotencyRecord {
                    key: IdempotencyKey { scope: text(&r[0])?, key: text(&r[1])?, fingerprint: text(&r[2])? },
                    revision: opt_int(&r[3])?.map(|r| r.max(0) as u64),
                    answer,
                    created_at: int(&r[7])?,
                })
            })
            .transpose()
    }

    async fn save_idempotency(&self, record: IdempotencyRecord) -> StoreResult<()> {
        let (status, content_type, etag, body) = match record.answer {
            Some(a) => (Some(i64::from(a.status)), Some(a.content_type), a.etag, Some(a.body)),
            None => (None, None, None, None),
        };
        let params = vec![
            record.key.scope.into(),
            record.key.key.into(),
            record.key.fingerprint.into(),
            record.revision.into(),
            status.into(),
            content_type.into(),
            body.into(),
            record.created_at.into(),
            etag.into(),
        ];
        write_one(
            self,
            "INSERT INTO idempotency (scope, key, fingerprint, revision, status, content_type, body, created_at, etag)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, revision = excluded.revision,
                 status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                 created_at = excluded.created_at, etag = excluded.etag",
            params,
        )
        .await
        .map(drop)
    }

    async fn insert_plan(&self, p: StoredPlan) -> StoreResult<()> {
        let params = vec![
            p.id.into(),
            p.org.as_str().into(),
            p.base_revision.into(),
            p.author.into(),
            p.created_at.into(),
            p.expires_at.into(),
            to_json(&p.commands)?.into(),
            to_json(&p.changes)?.into(),
        ];
        write_one(
            self,
            "INSERT INTO plans (id, org_key, base_revision, author, created_at, expires_at, commands, changes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params,
        )
        .await
        .map(drop)
    }

    async fn plan(&self, id: &str) -> StoreResult<Option<StoredPlan>> {
        let sql = "SELECT id, org_key, base_revision, author, created_at, expires_at, commands, changes FROM plans WHERE id = ?1";
        let rows = read_one(self, sql, vec![id.into()]).await?;
        rows.first()
            .map(|r| {
                Ok(StoredPlan {
                    id: text(&r[0])?,
                    org: OrgKey::of(&text(&r[1])?),
                    base_revision: int(&r[2])?.max(0) as u64,
                    author: text(&r[3])?,
                    created_at: int(&r[4])?,
                    expires_at: int(&r[5])?,
                    commands: from_json(&r[6])?,
                    changes: from_json(&r[7])?,
                })
            })
            .transpose()
    }

    async fn password_hash(&self, realm: &str, username: &str) -> StoreResult<Option<String>> {
        let rows = read_one(
            self,
            "SELECT password_hash FROM credentials WHERE realm = ?1 AND username = ?2",
            vec![realm.into(), username.into()],
        )
        .await?;
        rows.first().map(|r| text(&r[0])).transpose()
    }

    async fn set_password_hash(&self, realm: &str, username: &str, hash: &str) -> StoreResult<()> {
        write_one(
            self,
            "INSERT INTO credentials (realm, username, password_hash) VALUES (?1, ?2, ?3)
             ON CONFLICT (realm, username) DO UPDATE SET password_hash = excluded.password_hash",
            vec![realm.into(), username.into(), hash.into()],
        )
        .await
        .map(drop)
    }

    async fn has_host_admin(&self) -> StoreResult<bool> {
        let rows = read_one(self, "SELECT EXISTS (SELECT 1 FROM credentials WHERE realm = '')", Vec::new()).await?;
        rows.first().map(|r| boolean(&r[0])).transpose().map(|b| b.unwrap_or(false))
    }

    async fn insert_client(&self, c: ApiClient) -> StoreResult<()> {
        let params = vec![
            c.client_id.into(),
            c.org.as_str().into(),
            c.name.into(),
            c.secret_hash.into(),
            c.scopes.join(" ").into(),
            c.created_at.into(),
        ];
        write_one(
            self,
            "INSERT INTO api_clients (client_id, org_key, name, secret_hash, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params,
        )
        .await
        .map(drop)
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<ApiClient>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE client_id = ?1");
        read_one(self, &sql, vec![client_id.into()]).await?.first().map(client).transpose()
    }

    async fn clients(&self, org: &OrgKey) -> StoreResult<Vec<ApiClient>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE org_key = ?1 ORDER BY created_at, client_id");
        read_one(self, &sql, vec![org.as_str().into()]).await?.iter().map(client).collect()
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let rows =
            write_one(self, "DELETE FROM api_clients WHERE client_id = ?1 RETURNING client_id", vec![client_id.into()])
                .await?;
        Ok(!rows.is_empty())
    }

    async fn insert_token(&self, t: TokenRecord) -> StoreResult<()> {
        let params = vec![
            t.hash.into(),
            t.kind.as_str().into(),
            to_json(&t.subject)?.into(),
            t.scopes.join(" ").into(),
            t.expires_at.into(),
        ];
        write_one(
            self,
            "INSERT INTO tokens (hash, kind, subject, scopes, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params,
        )
        .await
        .map(drop)
    }

    async fn token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let rows = read_one(
            self,
            "SELECT hash, kind, subject, scopes, expires_at FROM tokens WHERE hash = ?1",
            vec![hash.into()],
        )
        .await?;
        rows.first().map(token).transpose()
    }

    async fn take_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let rows = write_one(
            self,
            "DELETE FROM tokens WHERE hash = ?1 AND kind = 'refresh' RETURNING hash, kind, subject, scopes, expires_at",
            vec![hash.into()],
        )
        .await?;
        rows.first().map(token).transpose()
    }

    async fn revoke_tokens(&self, subject: &Subject) -> StoreResult<u64> {
        let rows =
            write_one(self, "DELETE FROM tokens WHERE subject = ?1 RETURNING hash", vec![to_json(subject)?.into()])
                .await?;
        Ok(rows.len() as u64)
    }

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let rows =
            write_one(self, "DELETE FROM tokens WHERE expires_at <= ?1 RETURNING hash", vec![now.into()]).await?;
        Ok(rows.len() as u64)
    }
}
