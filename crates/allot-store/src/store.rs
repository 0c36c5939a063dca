//! The [`Store`] trait, written once over the SQL primitives of [`Sql`]: every method's
//! statements, and how its rows (read by column name) become the model. A backend
//! implements only [`Sql`] and says `impl Store for ItsStore {}`.

use std::collections::HashMap;
use std::future::Future;

use allot_core::{GroupId, LedgerEntry, OrgKey, State, Timestamp, UserId};

use crate::checkpoints::{self, CheckpointCheck};
use crate::rows::{self, Loader, TABLES, Table};
use crate::sql::{Expect, FromRow, Row, Sink, Sql, Statement, Value, from_json, row_struct, statement, to_json};
use crate::writes::{commit_statements, password_statement, revoke_statement, subject_columns};
use crate::{
    ApiClient, Checkpoint, Commit, DatedChange, IdempotencyKey, IdempotencyRecord, LedgerCheck, LedgerQuery, Lifetime,
    LoginCounter, StoreError, StoreResult, StoredAnswer, StoredPlan, Subject, TokenKind, TokenRecord,
};

row_struct! {
    struct LedgerRow { revision: u64, seq: u32, at: Timestamp, actor: String, request_id: String, change: String }
}
row_struct! {
    struct ChangeRow { revision: u64, seq: u32, at: Timestamp, change: String }
}
row_struct! {
    struct ClientRow {
        client_id: String,
        org_key: String,
        name: String,
        secret_hash: String,
        scopes: String,
        created_at: Timestamp,
    }
}
row_struct! {
    struct TokenRow {
        hash: String,
        kind: String,
        subject_kind: String,
        realm: String,
        principal: String,
        scopes: String,
        expires_at: Timestamp,
    }
}
row_struct! {
    struct IdempotencyRow {
        scope: String,
        key: String,
        fingerprint: String,
        revision: Option<u64>,
        status: Option<i64>,
        content_type: Option<String>,
        body: Option<String>,
        created_at: Timestamp,
        etag: Option<String>,
    }
}
row_struct! {
    struct PlanRow {
        id: String,
        org_key: String,
        base_revision: u64,
        author: String,
        created_at: Timestamp,
        expires_at: Timestamp,
        commands: String,
        changes: String,
    }
}
row_struct! { struct PasswordRow { password_hash: String } }
row_struct! { struct LifetimeRow { id: String, created_at: Timestamp, modified_at: Option<Timestamp> } }
row_struct! { struct UsernameRow { username: String } }
row_struct! { struct CounterRow { failures: u64, window_start: Timestamp, next_at: Timestamp } }

/// Opens a login counter, or a new window on one whose window is over (`?6`: now less the window).
const OPEN_COUNTER: &str = "INSERT INTO login_throttle (scope, realm, username, addr, failures, window_start, next_at)
     VALUES (?1, ?2, ?3, ?4, 0, ?5, 0)
     ON CONFLICT (scope, realm, username, addr)
     DO UPDATE SET failures = 0, window_start = excluded.window_start, next_at = 0
     WHERE login_throttle.window_start <= ?6";

/// Reserves one attempt, if the counter's rule allows one now: fewer than `?9` in the
/// window and its delay over; past `?6` attempts, the next waits `?7` ms per attempt more
/// (at most `?8`). Changes no row when refused, which rolls the whole reservation back.
const RESERVE_ATTEMPT: &str = "UPDATE login_throttle SET failures = failures + 1,
         next_at = CASE WHEN failures + 1 > ?6
             THEN ?5 + CASE WHEN (failures + 1 - ?6) * ?7 > ?8 THEN ?8 ELSE (failures + 1 - ?6) * ?7 END
             ELSE next_at END
     WHERE scope = ?1 AND realm = ?2 AND username = ?3 AND addr = ?4 AND failures < ?9 AND next_at <= ?5";

fn counter_key(c: &LoginCounter) -> Vec<Value> {
    vec![c.scope.as_str().into(), c.realm.as_str().into(), c.username.as_str().into(), c.addr.as_str().into()]
}

/// How long until `counter`, as stored, allows another attempt; 0 when it does.
fn wait_for(counter: &LoginCounter, row: &CounterRow, now: Timestamp, window_ms: i64) -> i64 {
    let open = row.window_start > now - window_ms;
    let locked = if open && row.failures >= counter.max { row.window_start + window_ms - now } else { 0 };
    locked.max(row.next_at - now).max(0)
}
row_struct! { struct ExistsRow { found: bool } }
row_struct! { struct RevisionOnly { revision: u64 } }
row_struct! { struct CountRow { count: u64 } }

impl LedgerRow {
    fn entry(self) -> StoreResult<LedgerEntry> {
        Ok(LedgerEntry {
            revision: self.revision,
            seq: self.seq,
            at: self.at,
            actor: self.actor,
            request_id: self.request_id,
            change: from_json(&self.change)?,
        })
    }
}

fn ledger_entry(row: Row) -> StoreResult<LedgerEntry> {
    LedgerRow::from_row(row)?.entry()
}

fn scopes(listed: &str) -> Vec<String> {
    listed.split_whitespace().map(str::to_owned).collect()
}

fn client(row: Row) -> StoreResult<ApiClient> {
    let r = ClientRow::from_row(row)?;
    Ok(ApiClient {
        client_id: r.client_id,
        org: OrgKey::of(&r.org_key),
        name: r.name,
        secret_hash: r.secret_hash,
        scopes: scopes(&r.scopes),
        created_at: r.created_at,
    })
}

fn token(row: Row) -> StoreResult<TokenRecord> {
    let r = TokenRow::from_row(row)?;
    let subject = match r.subject_kind.as_str() {
        "host_admin" => Subject::HostAdmin { username: r.principal },
        "org_user" => Subject::OrgUser { org: OrgKey::of(&r.realm), user: r.principal },
        "client" => Subject::Client { client_id: r.principal, org: OrgKey::of(&r.realm) },
        other => return Err(StoreError::Corrupt(format!("token subject kind `{other}`"))),
    };
    let kind = match r.kind.as_str() {
        "refresh" => TokenKind::Refresh,
        "access" => TokenKind::Access,
        "session" => TokenKind::Session,
        "scim" => TokenKind::Scim,
        other => return Err(StoreError::Corrupt(format!("token kind `{other}`"))),
    };
    Ok(TokenRecord { hash: r.hash, kind, subject, scopes: scopes(&r.scopes), expires_at: r.expires_at })
}

/// The whole ledger, replayed as it is read (checking each checkpoint as it passes it), then
/// the rows: what a ledger check compares, from one snapshot.
struct LedgerAndRows {
    replay: CheckpointCheck,
    entries: u64,
    rows: Loader,
}

impl Sink for LedgerAndRows {
    fn take(&mut self, query: usize, row: Row) -> StoreResult<()> {
        match query.checked_sub(1) {
            None => {
                self.entries += 1;
                self.replay.push(ledger_entry(row)?)
            }
            Some(table) => self.rows.take(table, row),
        }
    }
}

fn ledger_query(query: &LedgerQuery) -> (String, Vec<Value>) {
    ledger_select(LedgerRow::COLUMNS, query)
}

/// The `columns` of the entries `query` asks for.
fn ledger_select(columns: &str, query: &LedgerQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {columns} FROM ledger WHERE 1 = 1");
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
    if let Some(actor) = &query.actor {
        filter(" AND actor = ?", actor.as_str().into());
    }
    if let Some(from) = query.from_at {
        filter(" AND at >= ?", from.into());
    }
    if let Some(until) = query.until_at {
        filter(" AND at <= ?", until.into());
    }
    if let Some((revision, seq)) = query.after {
        filter(" AND (revision > ?", revision.into());
        filter(" OR (revision = ?", revision.into());
        filter(" AND seq > ?))", seq.into());
    }
    filter(" ORDER BY revision, seq LIMIT ?", query.limit.into());
    (sql, params)
}

/// Ids per query of [`lifetimes`]: SQLite binds at most 32,766 parameters, PostgreSQL 65,535.
const IDS_PER_QUERY: usize = 1000;

/// The dates of `ids` in `table` (whose id column is `column`) of organization `org`, read
/// in one snapshot; ids without a row are left out.
async fn lifetimes<S: Sql + ?Sized, Id: Clone + Eq + std::hash::Hash>(
    sql: &S,
    (table, column): (&str, &str),
    org: &OrgKey,
    ids: &[Id],
    as_str: fn(&Id) -> &str,
) -> StoreResult<HashMap<Id, Lifetime>> {
    let queries: Vec<_> = ids
        .chunks(IDS_PER_QUERY)
        .map(|chunk| {
            let marks: Vec<String> = (2..chunk.len() + 2).map(|n| format!("?{n}")).collect();
            let query = format!(
                "SELECT {column} AS id, created_at, modified_at FROM {table} WHERE org_key = ?1 AND {column} IN ({})",
                marks.join(", ")
            );
            let params = std::iter::once(Value::from(org.as_str())).chain(chunk.iter().map(|id| as_str(id).into()));
            (query, params.collect())
        })
        .collect();
    if queries.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    for row in sql.read(queries).await?.into_iter().flatten() {
        let row = LifetimeRow::from_row(row)?;
        found.insert(row.id, Lifetime { created: row.created_at, modified: row.modified_at });
    }
    Ok(ids.iter().filter_map(|id| found.get(as_str(id)).map(|dates| (id.clone(), *dates))).collect())
}

async fn read_one<S: Sql + ?Sized>(sql: &S, query: String, params: Vec<Value>) -> StoreResult<Vec<Row>> {
    Ok(sql.read(vec![(query, params)]).await?.pop().unwrap_or_default())
}

/// Runs `statements` in one transaction; answers the rows the first returned.
async fn write_first<S: Sql + ?Sized>(sql: &S, statements: Vec<Statement>) -> StoreResult<Vec<Row>> {
    Ok(sql.write(statements).await?.into_iter().next().unwrap_or_default())
}

/// Persistence for allot. Methods are async so that network databases fit the same trait.
pub trait Store: Sql {
    /// The whole license state, built from the stored balances and checked against itself.
    fn load(&self) -> impl Future<Output = StoreResult<State>> + Send {
        async move { self.scan(rows::load_queries(), Loader::default()).await?.finish() }
    }

    /// Writes one plan atomically: its ledger entries, its balances, the new revision, and
    /// its side writes. Fails with [`StoreError::Raced`] if the stored revision is not
    /// `revision - 1`.
    fn commit(&self, commit: Commit) -> impl Future<Output = StoreResult<()>> + Send {
        async move { self.commit_all(std::slice::from_ref(&commit)).await }
    }

    /// Writes several plans, in order, in one transaction (group commit): all or none.
    /// Each plan's revision must follow the one before it.
    fn commit_all(&self, commits: &[Commit]) -> impl Future<Output = StoreResult<()>> + Send {
        let statements = commit_statements(commits);
        async move { self.write_commits(statements?).await }
    }

    /// Waits for this process's turn to write among the processes sharing the database, and
    /// holds it until [`Store::end_turn`] (or until a group commit ends it). Answers up to
    /// `limit` ledger entries after revision `after` that others committed before the turn,
    /// read in the same round trip; `None` when this process is the database's only writer.
    /// Turns are for speed only: a writer that planned while another committed is refused
    /// by the revision check and plans again.
    fn take_turn(&self, after: u64, limit: u32) -> impl Future<Output = StoreResult<Option<Vec<LedgerEntry>>>> + Send {
        async move {
            let since = ledger_query(&LedgerQuery { from_revision: Some(after + 1), limit, ..LedgerQuery::default() });
            match Sql::take_turn(self, since).await? {
                Some(rows) => rows.into_iter().map(ledger_entry).collect::<StoreResult<Vec<_>>>().map(Some),
                None => Ok(None),
            }
        }
    }

    fn end_turn(&self) -> impl Future<Output = ()> + Send {
        Sql::end_turn(self)
    }

    fn ledger(&self, query: LedgerQuery) -> impl Future<Output = StoreResult<Vec<LedgerEntry>>> + Send {
        async move {
            let (sql, params) = ledger_query(&query);
            read_one(self, sql, params).await?.into_iter().map(ledger_entry).collect()
        }
    }

    /// The changes of the entries `query` asks for, without who made them: what a fold of
    /// the past reads (two columns fewer to read and decode per entry).
    fn ledger_changes(&self, query: LedgerQuery) -> impl Future<Output = StoreResult<Vec<DatedChange>>> + Send {
        async move {
            let (sql, params) = ledger_select(ChangeRow::COLUMNS, &query);
            let rows = read_one(self, sql, params).await?;
            rows.into_iter()
                .map(|row| {
                    let r = ChangeRow::from_row(row)?;
                    Ok(DatedChange { revision: r.revision, seq: r.seq, at: r.at, change: from_json(&r.change)? })
                })
                .collect()
        }
    }

    /// When each of `users` of `org` was made and last modified, as the store keeps them
    /// with every change (see `Dates` in writes.rs); users it does not have are left out.
    fn user_lifetimes(
        &self,
        org: &OrgKey,
        users: &[UserId],
    ) -> impl Future<Output = StoreResult<HashMap<UserId, Lifetime>>> + Send {
        async move { lifetimes(self, ("users", "user_id"), org, users, UserId::as_str).await }
    }

    /// When each of `groups` of `org` was made and last modified; see [`Store::user_lifetimes`].
    fn group_lifetimes(
        &self,
        org: &OrgKey,
        groups: &[GroupId],
    ) -> impl Future<Output = StoreResult<HashMap<GroupId, Lifetime>>> + Send {
        async move { lifetimes(self, ("groups", "group_id"), org, groups, GroupId::as_str).await }
    }

    /// The latest committed revision.
    fn revision(&self) -> impl Future<Output = StoreResult<u64>> + Send {
        async move { rows::revision(read_one(self, Table::Revision.query(), Vec::new()).await?) }
    }

    /// Recomputes every balance from the ledger and compares it with the stored balances,
    /// and every checkpoint with the organization the replay holds at its revision.
    fn check_ledger(&self) -> impl Future<Output = StoreResult<LedgerCheck>> + Send {
        async move {
            // Checkpoints first: one written after the ledger's snapshot would be a revision
            // the check has not read. The ledger and the balances are one snapshot.
            let (sql, params) = checkpoints::all_query();
            let stored: Vec<Checkpoint> = read_one(self, sql, params)
                .await?
                .into_iter()
                .map(checkpoints::checkpoint)
                .collect::<StoreResult<_>>()?;
            let checked = stored.len() as u64;
            let mut queries = vec![ledger_query(&LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() })];
            queries.extend(rows::load_queries());
            debug_assert_eq!(queries.len(), TABLES.len() + 1);
            let sink = LedgerAndRows { replay: CheckpointCheck::new(stored), entries: 0, rows: Loader::default() };
            let LedgerAndRows { mut replay, entries, rows } = self.scan(queries, sink).await?;
            let stored = rows.finish()?;
            replay.apply(None)?;
            let mut differences = rows::differences(replay.state(), &stored);
            differences.append(&mut replay.differences);
            Ok(LedgerCheck { revision: stored.revision(), entries, checkpoints: checked, differences })
        }
    }

    /// The latest checkpoint of `org` at or before revision `upto`.
    fn checkpoint(&self, org: &OrgKey, upto: u64) -> impl Future<Output = StoreResult<Option<Checkpoint>>> + Send {
        let (sql, params) = checkpoints::latest_query(org, upto);
        async move { read_one(self, sql, params).await?.into_iter().next().map(checkpoints::checkpoint).transpose() }
    }

    /// Stores a checkpoint; one already stored for its organization and revision stays.
    fn save_checkpoint(&self, checkpoint: &Checkpoint) -> impl Future<Output = StoreResult<()>> + Send {
        let insert = checkpoints::insert_params(checkpoint).map(|p| statement(checkpoints::INSERT, p, Expect::Any));
        async move { self.write(vec![insert?]).await.map(drop) }
    }

    /// What the past of `org` up to revision `upto` is replayed from, in one snapshot: the
    /// host's own entries (the catalogue, host pools) up to `upto`, and the organization's
    /// entries after revision `after` up to `upto`, each oldest first. Both are read
    /// through `ledger_by_org` (org_key, revision, seq).
    fn org_ledger(
        &self,
        org: &OrgKey,
        after: u64,
        upto: u64,
    ) -> impl Future<Output = StoreResult<(Vec<LedgerEntry>, Vec<LedgerEntry>)>> + Send {
        let host = format!(
            "SELECT {} FROM ledger WHERE org_key IS NULL AND revision <= ?1 ORDER BY revision, seq",
            LedgerRow::COLUMNS
        );
        let own = ledger_query(&LedgerQuery {
            org: Some(org.clone()),
            from_revision: Some(after + 1),
            to_revision: Some(upto),
            limit: u32::MAX,
            ..LedgerQuery::default()
        });
        async move {
            let mut read = self.read(vec![(host, vec![upto.into()]), own]).await?.into_iter();
            let mut entries = || -> StoreResult<Vec<LedgerEntry>> {
                read.next().unwrap_or_default().into_iter().map(ledger_entry).collect()
            };
            Ok((entries()?, entries()?))
        }
    }

    /// The last revision committed at or before `at` (0 when none was). Commits are dated
    /// by the committer's clock, in revision order, so the latest moment's last revision is it.
    fn revision_at(&self, at: Timestamp) -> impl Future<Output = StoreResult<u64>> + Send {
        let sql = "SELECT revision FROM ledger WHERE at <= ?1 ORDER BY at DESC, revision DESC LIMIT 1".to_owned();
        async move {
            let rows = read_one(self, sql, vec![at.into()]).await?;
            Ok(rows.into_iter().next().map(RevisionOnly::from_row).transpose()?.map_or(0, |r| r.revision))
        }
    }

    /// How many of `org`'s entries come after revision `after`, counted up to `most`.
    fn org_entries_after(&self, org: &OrgKey, after: u64, most: u64) -> impl Future<Output = StoreResult<u64>> + Send {
        let sql = "SELECT COUNT(*) AS count FROM \
                   (SELECT 1 FROM ledger WHERE org_key = ?1 AND revision > ?2 LIMIT ?3) AS counted"
            .to_owned();
        let params = vec![org.as_str().into(), after.into(), most.into()];
        async move {
            let rows = read_one(self, sql, params).await?;
            Ok(rows.into_iter().next().map(CountRow::from_row).transpose()?.map_or(0, |r| r.count))
        }
    }

    fn idempotency(
        &self,
        scope: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<IdempotencyRecord>>> + Send {
        let sql = format!("SELECT {} FROM idempotency WHERE scope = ?1 AND key = ?2", IdempotencyRow::COLUMNS);
        let params = vec![scope.into(), key.into()];
        async move {
            let Some(row) = read_one(self, sql, params).await?.into_iter().next() else { return Ok(None) };
            let r = IdempotencyRow::from_row(row)?;
            let answer = match (r.status, r.content_type, r.body) {
                (Some(status), Some(content_type), Some(body)) => Some(StoredAnswer {
                    status: u16::try_from(status).unwrap_or(500),
                    content_type,
                    etag: r.etag,
                    body,
                }),
                _ => None,
            };
            Ok(Some(IdempotencyRecord {
                key: IdempotencyKey { scope: r.scope, key: r.key, fingerprint: r.fingerprint },
                revision: r.revision,
                answer,
                created_at: r.created_at,
            }))
        }
    }

    /// Stores (or completes) a key's record with its answer.
    fn save_idempotency(&self, record: IdempotencyRecord) -> impl Future<Output = StoreResult<()>> + Send {
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
        let upsert = statement(
            "INSERT INTO idempotency (scope, key, fingerprint, revision, status, content_type, body, created_at, etag)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, revision = excluded.revision,
                 status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                 created_at = excluded.created_at, etag = excluded.etag",
            params,
            Expect::Any,
        );
        async move { self.write(vec![upsert]).await.map(drop) }
    }

    /// Claims `key` for a request about to run: stores it pending, with no revision and no
    /// answer, unless another request holds it. A record whose answer is no longer replayed
    /// (created at or before `expired`) and a claim abandoned by a process that stopped
    /// (claimed at or before `abandoned`, with nothing committed) are taken over. Answers
    /// whether the claim is this request's.
    fn claim_idempotency(
        &self,
        key: &IdempotencyKey,
        now: Timestamp,
        expired: Timestamp,
        abandoned: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send {
        let claim = statement(
            "INSERT INTO idempotency (scope, key, fingerprint, revision, created_at) VALUES (?1, ?2, ?3, NULL, ?4)
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, revision = NULL,
                 status = NULL, content_type = NULL, body = NULL, etag = NULL, created_at = excluded.created_at
             WHERE idempotency.created_at <= ?5
                OR (idempotency.revision IS NULL AND idempotency.status IS NULL AND idempotency.created_at <= ?6)
             RETURNING key",
            vec![
                key.scope.as_str().into(),
                key.key.as_str().into(),
                key.fingerprint.as_str().into(),
                now.into(),
                expired.into(),
                abandoned.into(),
            ],
            Expect::Any,
        );
        async move { Ok(!write_first(self, vec![claim]).await?.is_empty()) }
    }

    /// Gives up this request's claim of `key` when it changed nothing: a refused request
    /// keeps no key.
    fn release_idempotency(&self, key: &IdempotencyKey) -> impl Future<Output = StoreResult<()>> + Send {
        let release = statement(
            "DELETE FROM idempotency
             WHERE scope = ?1 AND key = ?2 AND fingerprint = ?3 AND revision IS NULL AND status IS NULL",
            vec![key.scope.as_str().into(), key.key.as_str().into(), key.fingerprint.as_str().into()],
            Expect::Any,
        );
        async move { self.write(vec![release]).await.map(drop) }
    }

    fn insert_plan(&self, p: StoredPlan) -> impl Future<Output = StoreResult<()>> + Send {
        async move {
            let params = vec![
                p.id.as_str().into(),
                p.org.as_str().into(),
                p.base_revision.into(),
                p.author.into(),
                p.created_at.into(),
                p.expires_at.into(),
                to_json(&p.commands)?.into(),
                to_json(&p.changes)?.into(),
            ];
            let insert = statement(
                "INSERT INTO plans (id, org_key, base_revision, author, created_at, expires_at, commands, changes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params,
                Expect::New { constraint: "plans_pkey", what: "plan", id: p.id },
            );
            self.write(vec![insert]).await.map(drop)
        }
    }

    fn plan(&self, id: &str) -> impl Future<Output = StoreResult<Option<StoredPlan>>> + Send {
        let sql = format!("SELECT {} FROM plans WHERE id = ?1", PlanRow::COLUMNS);
        let params = vec![id.into()];
        async move {
            let Some(row) = read_one(self, sql, params).await?.into_iter().next() else { return Ok(None) };
            let r = PlanRow::from_row(row)?;
            Ok(Some(StoredPlan {
                id: r.id,
                org: OrgKey::of(&r.org_key),
                base_revision: r.base_revision,
                author: r.author,
                created_at: r.created_at,
                expires_at: r.expires_at,
                commands: from_json(&r.commands)?,
                changes: from_json(&r.changes)?,
            }))
        }
    }

    fn password_hash(&self, realm: &str, username: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send {
        let sql = format!("SELECT {} FROM credentials WHERE realm = ?1 AND username = ?2", PasswordRow::COLUMNS);
        let params = vec![realm.into(), username.into()];
        async move {
            let row = read_one(self, sql, params).await?.into_iter().next();
            Ok(row.map(PasswordRow::from_row).transpose()?.map(|r| r.password_hash))
        }
    }

    /// Sets an account's password hash and, in the same transaction, revokes the account's
    /// tokens: a new password shuts out whoever had the old one.
    fn set_password_hash(
        &self,
        realm: &str,
        username: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        let subject = match realm {
            "" => Subject::HostAdmin { username: username.to_owned() },
            org => Subject::OrgUser { org: OrgKey::of(org), user: username.to_owned() },
        };
        let statements = vec![password_statement(realm, username, hash), revoke_statement(&subject)];
        async move { self.write(statements).await.map(drop) }
    }

    /// Whether any host administrator exists (to bootstrap the first one).
    fn has_host_admin(&self) -> impl Future<Output = StoreResult<bool>> + Send {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM credentials WHERE realm = '') AS {}", ExistsRow::COLUMNS);
        async move {
            let row = read_one(self, sql, Vec::new()).await?.into_iter().next();
            Ok(row.map(ExistsRow::from_row).transpose()?.is_some_and(|r| r.found))
        }
    }

    /// The host administrators' names, in order.
    fn host_admins(&self) -> impl Future<Output = StoreResult<Vec<String>>> + Send {
        let sql = format!("SELECT {} FROM credentials WHERE realm = '' ORDER BY username", UsernameRow::COLUMNS);
        async move {
            let rows = read_one(self, sql, Vec::new()).await?;
            rows.into_iter().map(|r| UsernameRow::from_row(r).map(|r| r.username)).collect()
        }
    }

    /// Adds a host administrator; refused as existing when the name is taken.
    fn create_host_admin(&self, username: &str, hash: &str) -> impl Future<Output = StoreResult<()>> + Send {
        let insert = statement(
            "INSERT INTO credentials (realm, username, password_hash) VALUES ('', ?1, ?2)",
            vec![username.into(), hash.into()],
            Expect::New { constraint: "credentials_pkey", what: "host administrator", id: username.to_owned() },
        );
        async move { self.write(vec![insert]).await.map(drop) }
    }

    /// Removes a host administrator and, in the same transaction, its tokens and login
    /// counters; never the last one. Answers `false` (and changes nothing) when `username`
    /// is no host administrator or the only one.
    fn delete_host_admin(&self, username: &str) -> impl Future<Output = StoreResult<bool>> + Send {
        let statements = vec![
            // Locks every host administrator's row first (PostgreSQL), so that two removals
            // at once cannot each see the other still there and leave none.
            statement("UPDATE credentials SET password_hash = password_hash WHERE realm = ''", Vec::new(), Expect::Any),
            statement(
                "DELETE FROM credentials WHERE realm = '' AND username = ?1
                 AND EXISTS (SELECT 1 FROM credentials AS other WHERE other.realm = '' AND other.username <> ?1)",
                vec![username.into()],
                Expect::One("host administrator"),
            ),
            revoke_statement(&Subject::HostAdmin { username: username.to_owned() }),
            statement(
                "DELETE FROM login_throttle WHERE realm = '' AND username = ?1 AND scope IN ('pair', 'account')",
                vec![username.into()],
                Expect::Any,
            ),
        ];
        async move {
            match self.write(statements).await {
                Ok(_) => Ok(true),
                Err(StoreError::Raced(_)) => Ok(false),
                Err(error) => Err(error),
            }
        }
    }

    fn insert_client(&self, c: ApiClient) -> impl Future<Output = StoreResult<()>> + Send {
        let params = vec![
            c.client_id.as_str().into(),
            c.org.as_str().into(),
            c.name.into(),
            c.secret_hash.into(),
            c.scopes.join(" ").into(),
            c.created_at.into(),
        ];
        let insert = statement(
            "INSERT INTO api_clients (client_id, org_key, name, secret_hash, scopes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params,
            Expect::New { constraint: "api_clients_pkey", what: "API client", id: c.client_id },
        );
        async move { self.write(vec![insert]).await.map(drop) }
    }

    fn client(&self, client_id: &str) -> impl Future<Output = StoreResult<Option<ApiClient>>> + Send {
        let sql = format!("SELECT {} FROM api_clients WHERE client_id = ?1", ClientRow::COLUMNS);
        let params = vec![client_id.into()];
        async move { read_one(self, sql, params).await?.into_iter().next().map(client).transpose() }
    }

    fn clients(&self, org: &OrgKey) -> impl Future<Output = StoreResult<Vec<ApiClient>>> + Send {
        let sql =
            format!("SELECT {} FROM api_clients WHERE org_key = ?1 ORDER BY created_at, client_id", ClientRow::COLUMNS);
        let params = vec![org.as_str().into()];
        async move { read_one(self, sql, params).await?.into_iter().map(client).collect() }
    }

    /// Deletes an API client and, in the same transaction, its tokens; answers whether it
    /// existed.
    fn delete_client(&self, client_id: &str) -> impl Future<Output = StoreResult<bool>> + Send {
        let statements = vec![
            statement(
                "DELETE FROM api_clients WHERE client_id = ?1 RETURNING client_id",
                vec![client_id.into()],
                Expect::Any,
            ),
            statement(
                "DELETE FROM tokens WHERE subject_kind = 'client' AND principal = ?1",
                vec![client_id.into()],
                Expect::Any,
            ),
        ];
        async move { Ok(!write_first(self, statements).await?.is_empty()) }
    }

    fn insert_token(&self, t: TokenRecord) -> impl Future<Output = StoreResult<()>> + Send {
        let [kind, realm, principal] = subject_columns(&t.subject);
        let params = vec![
            t.hash.into(),
            t.kind.as_str().into(),
            kind,
            realm,
            principal,
            t.scopes.join(" ").into(),
            t.expires_at.into(),
        ];
        let insert = statement(
            "INSERT INTO tokens (hash, kind, subject_kind, realm, principal, scopes, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params,
            Expect::Any,
        );
        async move { self.write(vec![insert]).await.map(drop) }
    }

    fn token(&self, hash: &str) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send {
        let sql = format!("SELECT {} FROM tokens WHERE hash = ?1", TokenRow::COLUMNS);
        let params = vec![hash.into()];
        async move { read_one(self, sql, params).await?.into_iter().next().map(token).transpose() }
    }

    /// Removes and returns a refresh token (never another kind): it works once.
    fn take_token(&self, hash: &str) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send {
        // The RETURNING list is TokenRow's columns: decoded by name, a mismatch is loud.
        let taken = statement(
            "DELETE FROM tokens WHERE hash = ?1 AND kind = 'refresh'
             RETURNING hash, kind, subject_kind, realm, principal, scopes, expires_at",
            vec![hash.into()],
            Expect::Any,
        );
        async move { write_first(self, vec![taken]).await?.into_iter().next().map(token).transpose() }
    }

    /// Removes an access or refresh token (RFC 7009 revocation); answers whether it was held.
    fn revoke_token(&self, hash: &str) -> impl Future<Output = StoreResult<bool>> + Send {
        let revoke = statement(
            "DELETE FROM tokens WHERE hash = ?1 AND kind IN ('access', 'refresh') RETURNING hash",
            vec![hash.into()],
            Expect::Any,
        );
        async move { Ok(!write_first(self, vec![revoke]).await?.is_empty()) }
    }

    /// An API client's SCIM tokens: the first 16 hex digits of each one's hash (its id), and
    /// when it expires, soonest first.
    fn scim_tokens(&self, client_id: &str) -> impl Future<Output = StoreResult<Vec<(String, Timestamp)>>> + Send {
        let sql = format!(
            "SELECT {} FROM tokens WHERE kind = 'scim' AND subject_kind = 'client' AND principal = ?1
             ORDER BY expires_at, hash",
            TokenRow::COLUMNS
        );
        let params = vec![client_id.into()];
        async move {
            let rows = read_one(self, sql, params).await?;
            rows.into_iter().map(|row| token(row).map(|t| (t.hash[..16].to_owned(), t.expires_at))).collect()
        }
    }

    /// Removes the SCIM token of `client_id` whose id is `id`; answers its hash, if it held one.
    fn revoke_scim_token(&self, client_id: &str, id: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send {
        let revoke = statement(
            "DELETE FROM tokens WHERE kind = 'scim' AND subject_kind = 'client' AND principal = ?1
                 AND substr(hash, 1, 16) = ?2
             RETURNING hash",
            vec![client_id.into(), id.into()],
            Expect::Any,
        );
        async move {
            let removed = write_first(self, vec![revoke]).await?;
            removed.into_iter().next().map(|mut row| row.take::<String>("hash")).transpose()
        }
    }

    /// Moves a console session's expiry (it slides while the session is used).
    fn touch_session(&self, hash: &str, expires_at: Timestamp) -> impl Future<Output = StoreResult<()>> + Send {
        let touch = statement(
            "UPDATE tokens SET expires_at = ?2 WHERE hash = ?1 AND kind = 'session'",
            vec![hash.into(), expires_at.into()],
            Expect::Any,
        );
        async move { self.write(vec![touch]).await.map(drop) }
    }

    /// Ends a console session (signing out); a session already gone is no error.
    fn end_session(&self, hash: &str) -> impl Future<Output = StoreResult<()>> + Send {
        let end = statement("DELETE FROM tokens WHERE hash = ?1 AND kind = 'session'", vec![hash.into()], Expect::Any);
        async move { self.write(vec![end]).await.map(drop) }
    }

    /// Removes every token of a subject (a deleted client or user); answers how many.
    fn revoke_tokens(&self, subject: &Subject) -> impl Future<Output = StoreResult<u64>> + Send {
        let revoke = revoke_statement(subject);
        async move { Ok(write_first(self, vec![revoke]).await?.len() as u64) }
    }

    /// Deletes up to `limit` tokens of `kind` expired by `now` (no longer accepted);
    /// answers how many. Bounded, so a backlog is worked off a batch per call; processes
    /// purging at once are safe: a row another deleted first is simply not counted twice.
    fn purge_expired_tokens(
        &self,
        kind: TokenKind,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        let purge = statement(
            "DELETE FROM tokens WHERE hash IN
                 (SELECT hash FROM tokens WHERE kind = ?1 AND expires_at <= ?2 LIMIT ?3)
             RETURNING hash",
            vec![kind.as_str().into(), now.into(), limit.into()],
            Expect::Any,
        );
        async move { Ok(write_first(self, vec![purge]).await?.len() as u64) }
    }

    /// Deletes up to `limit` stored plans expired by `now` (no longer applicable); answers
    /// how many.
    fn purge_expired_plans(&self, now: Timestamp, limit: u32) -> impl Future<Output = StoreResult<u64>> + Send {
        let purge = statement(
            "DELETE FROM plans WHERE id IN (SELECT id FROM plans WHERE expires_at <= ?1 LIMIT ?2) RETURNING id",
            vec![now.into(), limit.into()],
            Expect::Any,
        );
        async move { Ok(write_first(self, vec![purge]).await?.len() as u64) }
    }

    /// Deletes up to `limit` idempotency records created at or before `cutoff` (no longer
    /// replayed); answers how many.
    fn purge_idempotency(&self, cutoff: Timestamp, limit: u32) -> impl Future<Output = StoreResult<u64>> + Send {
        let purge = statement(
            "DELETE FROM idempotency WHERE (scope, key) IN
                 (SELECT scope, key FROM idempotency WHERE created_at <= ?1 LIMIT ?2)
             RETURNING key",
            vec![cutoff.into(), limit.into()],
            Expect::Any,
        );
        async move { Ok(write_first(self, vec![purge]).await?.len() as u64) }
    }

    /// Deletes up to `limit` failed-login counters that hold nothing back any more: their
    /// window started at or before `ended` and their delay is over by `now`. Answers how many.
    fn purge_login_counters(
        &self,
        ended: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send {
        let purge = statement(
            "DELETE FROM login_throttle WHERE (scope, realm, username, addr) IN
                 (SELECT scope, realm, username, addr FROM login_throttle
                  WHERE window_start <= ?1 AND next_at <= ?2 LIMIT ?3)
             RETURNING scope",
            vec![ended.into(), now.into(), limit.into()],
            Expect::Any,
        );
        async move { Ok(write_first(self, vec![purge]).await?.len() as u64) }
    }

    /// Reserves a login attempt on every counter at once, before the password is checked:
    /// `Ok(Err(ms))` when one of them allows none for `ms` more milliseconds, and then
    /// none is counted. The reservation stays a failure until [`Store::login_succeeded`].
    fn reserve_login(
        &self,
        counters: &[LoginCounter],
        now: Timestamp,
        window_ms: i64,
    ) -> impl Future<Output = StoreResult<Result<(), i64>>> + Send {
        let mut statements = Vec::new();
        let mut queries = Vec::new();
        for c in counters {
            let mut open = counter_key(c);
            open.extend([now.into(), (now - window_ms).into()]);
            statements.push(statement(OPEN_COUNTER, open, Expect::Any));
            let mut reserve = counter_key(c);
            reserve.extend([
                now.into(),
                c.delay_after.into(),
                c.delay_step_ms.into(),
                c.delay_cap_ms.into(),
                c.max.into(),
            ]);
            statements.push(statement(RESERVE_ATTEMPT, reserve, Expect::One("login attempt")));
            let sql = format!(
                "SELECT {} FROM login_throttle WHERE scope = ?1 AND realm = ?2 AND username = ?3 AND addr = ?4",
                CounterRow::COLUMNS
            );
            queries.push((sql, counter_key(c)));
        }
        let counters = counters.to_vec();
        async move {
            match self.write(statements).await {
                Ok(_) => Ok(Ok(())),
                Err(StoreError::Raced(_)) => {
                    let mut wait = 1;
                    for (counter, rows) in counters.iter().zip(self.read(queries).await?) {
                        for row in rows {
                            wait = wait.max(wait_for(counter, &CounterRow::from_row(row)?, now, window_ms));
                        }
                    }
                    Ok(Err(wait))
                }
                Err(error) => Err(error),
            }
        }
    }

    /// A login of `realm`/`username` from `addr` succeeded: its reservation was no failure,
    /// the address counts one less, and the account's delay and this address's count for
    /// it start again. Other addresses' counts for the account stay.
    fn login_succeeded(&self, realm: &str, username: &str, addr: &str) -> impl Future<Output = StoreResult<()>> + Send {
        let forget = statement(
            "DELETE FROM login_throttle WHERE realm = ?1 AND username = ?2
             AND (scope = 'account' OR (scope = 'pair' AND addr = ?3))",
            vec![realm.into(), username.into(), addr.into()],
            Expect::Any,
        );
        let release = statement(
            "UPDATE login_throttle SET failures = failures - 1
             WHERE scope = 'address' AND realm = '' AND username = '' AND addr = ?1 AND failures > 0",
            vec![addr.into()],
            Expect::Any,
        );
        async move { self.write(vec![forget, release]).await.map(drop) }
    }

    /// Lifts every lockout and delay of an account, from every address; answers how many
    /// counters it removed.
    fn lift_lockout(&self, realm: &str, username: &str) -> impl Future<Output = StoreResult<u64>> + Send {
        let lift = statement(
            "DELETE FROM login_throttle WHERE realm = ?1 AND username = ?2 AND scope IN ('pair', 'account')
             RETURNING scope",
            vec![realm.into(), username.into()],
            Expect::Any,
        );
        async move { Ok(write_first(self, vec![lift]).await?.len() as u64) }
    }
}
