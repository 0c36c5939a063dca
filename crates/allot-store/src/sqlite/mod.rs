//! The embedded SQLite store: one writer connection (writes are serialized by SQLite
//! anyway), a few reader connections, WAL, `synchronous=FULL`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use allot_core::{
    Catalogue, Change, GroupId, Holding, LedgerEntry, LicenseKey, OrgId, OrgKey, Pool, Product, ProductCode, Rule,
    TenantId, Timestamp, UserId, UserProfile,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::rows::{self, Rows, change_kind, pool_writes};
use crate::{
    ApiClient, Commit, LedgerCheck, LedgerQuery, Store, StoreError, StoreResult, Subject, TokenKind, TokenRecord,
};

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
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        restrict_to_owner(path);
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Brings a database file's schema up to date; answers the versions applied now.
    pub fn migrate_file(path: &Path) -> StoreResult<Vec<i64>> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        migrate(&mut connect(path)?)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        blocking(move || {
            let mut conn = inner.writer.lock().map_err(|_| StoreError::Unavailable("writer lock poisoned".into()))?;
            work(&mut conn)
        })
        .await
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        blocking(move || {
            let pooled =
                inner.readers.lock().map_err(|_| StoreError::Unavailable("reader lock poisoned".into()))?.pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            let result = work(&conn);
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            result
        })
        .await
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

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
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

pub(crate) fn db_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(error.to_string()),
        _ => StoreError::Unavailable(error.to_string()),
    }
}

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{e}: {raw}")))
}

fn parsed<T, E: std::fmt::Display>(value: Result<T, E>) -> StoreResult<T> {
    value.map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// An UPDATE or DELETE that must hit exactly one row, or the books moved under us.
fn one_row(changed: usize, what: &str) -> StoreResult<()> {
    if changed == 1 { Ok(()) } else { Err(StoreError::Conflict(format!("{what}: expected one row, found {changed}"))) }
}

fn write_change(tx: &Transaction<'_>, change: &Change) -> StoreResult<()> {
    let run = |sql: &str, params: &[&dyn rusqlite::ToSql]| tx.execute(sql, params).map_err(db_error);
    match change {
        Change::ProductAdded { product } => {
            run(
                "INSERT INTO products (code_key, product) VALUES (?1, ?2)",
                &[&product.code.as_str().to_ascii_lowercase(), &to_json(product)?],
            )?;
        }
        Change::ProductRemoved { product } => {
            run("DELETE FROM products WHERE code_key = ?1", &[&product.code.as_str().to_ascii_lowercase()])?;
        }
        Change::OrgCreated { org, name } => {
            run(
                "INSERT INTO orgs (org_key, org_id, name) VALUES (?1, ?2, ?3)",
                &[&org.key().as_str(), &org.as_str(), name],
            )?;
        }
        Change::OrgRenamed { org, after, .. } => {
            one_row(
                run("UPDATE orgs SET name = ?2 WHERE org_key = ?1", &[&org.key().as_str(), after])?,
                "organization",
            )?;
        }
        Change::OrgDeleted { org, .. } => {
            let key = org.key();
            run(
                "DELETE FROM pools WHERE scope = ?1 OR scope LIKE ?2",
                &[&format!("org:{key}"), &format!("tenant:{key}/%")],
            )?;
            run("DELETE FROM api_clients WHERE org_key = ?1", &[&key.as_str()])?;
            run("DELETE FROM credentials WHERE realm = ?1", &[&key.as_str()])?;
            one_row(run("DELETE FROM orgs WHERE org_key = ?1", &[&key.as_str()])?, "organization")?;
        }
        Change::UserCreated { org, user, profile } => {
            run(
                "INSERT INTO users (org_key, user_id, profile) VALUES (?1, ?2, ?3)",
                &[&org.key().as_str(), &user.as_str(), &to_json(profile)?],
            )?;
        }
        Change::UserUpdated { org, user, after, .. } => {
            let changed = run(
                "UPDATE users SET profile = ?3 WHERE org_key = ?1 AND user_id = ?2",
                &[&org.key().as_str(), &user.as_str(), &to_json(after)?],
            )?;
            one_row(changed, "user")?;
        }
        Change::UserDeleted { org, user, .. } => {
            run("DELETE FROM credentials WHERE realm = ?1 AND username = ?2", &[&org.key().as_str(), &user.as_str()])?;
            let changed =
                run("DELETE FROM users WHERE org_key = ?1 AND user_id = ?2", &[&org.key().as_str(), &user.as_str()])?;
            one_row(changed, "user")?;
        }
        Change::GroupCreated { org, group, name } => {
            run(
                "INSERT INTO groups (org_key, group_id, name, rule) VALUES (?1, ?2, ?3, ?4)",
                &[&org.key().as_str(), &group.as_str(), name, &to_json(&Rule::default())?],
            )?;
        }
        Change::GroupDeleted { org, group, .. } => {
            let changed = run(
                "DELETE FROM groups WHERE org_key = ?1 AND group_id = ?2",
                &[&org.key().as_str(), &group.as_str()],
            )?;
            one_row(changed, "group")?;
        }
        Change::TenantCreated { org, tenant, name } => {
            run(
                "INSERT INTO tenants (org_key, tenant_id, name) VALUES (?1, ?2, ?3)",
                &[&org.key().as_str(), &tenant.as_str(), name],
            )?;
        }
        Change::TenantDeleted { org, tenant, .. } => {
            let changed = run(
                "DELETE FROM tenants WHERE org_key = ?1 AND tenant_id = ?2",
                &[&org.key().as_str(), &tenant.as_str()],
            )?;
            one_row(changed, "tenant")?;
        }
        Change::MemberAdded { org, group, user, seq } => {
            run(
                "INSERT INTO members (org_key, group_id, user_id, seq) VALUES (?1, ?2, ?3, ?4)",
                &[&org.key().as_str(), &group.as_str(), &user.as_str(), &(*seq as i64)],
            )?;
        }
        Change::MemberRemoved { org, group, user, seq } => {
            let changed = run(
                "DELETE FROM members WHERE org_key = ?1 AND group_id = ?2 AND user_id = ?3 AND seq = ?4",
                &[&org.key().as_str(), &group.as_str(), &user.as_str(), &(*seq as i64)],
            )?;
            one_row(changed, "group member")?;
        }
        Change::RuleSet { org, group, before, after } => {
            let changed = run(
                "UPDATE groups SET rule = ?4 WHERE org_key = ?1 AND group_id = ?2 AND rule = ?3",
                &[&org.key().as_str(), &group.as_str(), &to_json(before)?, &to_json(after)?],
            )?;
            one_row(changed, "group rule")?;
        }
        // Pools are written once per commit, from their net change (see `pool_writes`).
        Change::PoolSet { .. } => {}
        Change::HoldingSet { org, user, product, before, after } => {
            let (key, user, product) = (org.key(), user.as_str(), product.as_str());
            let changed = match (before, after) {
                (None, None) => 1,
                (None, Some(new)) => run(
                    "INSERT INTO holdings (org_key, user_id, product, holding) VALUES (?1, ?2, ?3, ?4)",
                    &[&key.as_str(), &user, &product, &to_json(new)?],
                )?,
                (Some(old), None) => run(
                    "DELETE FROM holdings WHERE org_key = ?1 AND user_id = ?2 AND product = ?3 AND holding = ?4",
                    &[&key.as_str(), &user, &product, &to_json(old)?],
                )?,
                (Some(old), Some(new)) => run(
                    "UPDATE holdings SET holding = ?5 WHERE org_key = ?1 AND user_id = ?2 AND product = ?3 AND holding = ?4",
                    &[&key.as_str(), &user, &product, &to_json(old)?, &to_json(new)?],
                )?,
            };
            one_row(changed, "holding")?;
        }
    }
    Ok(())
}

fn commit_in(conn: &mut Connection, commit: &Commit) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let revision = commit.revision as i64;
    let moved = tx
        .execute("UPDATE meta SET value = ?1 WHERE key = 'revision' AND value = ?2", params![revision, revision - 1])
        .map_err(db_error)?;
    if moved != 1 {
        return Err(StoreError::Conflict(format!("revision {} is no longer the latest", revision - 1)));
    }
    for change in commit.changes() {
        write_change(&tx, change)?;
    }
    for pool in pool_writes(commit.changes()) {
        let (from, until) = pool.grant.map(|g| (g.valid_from, g.valid_until)).unwrap_or_default();
        // UPDATE first: a CHECK judges an INSERT's values before an upsert could merge them.
        let updated = tx
            .execute(
                "UPDATE pools SET quantity = quantity + ?3, allocated = allocated + ?4,
                     valid_from = CASE WHEN ?7 THEN ?5 ELSE valid_from END,
                     valid_until = CASE WHEN ?7 THEN ?6 ELSE valid_until END
                 WHERE scope = ?1 AND license = ?2",
                params![
                    pool.scope,
                    pool.license,
                    pool.quantity_delta,
                    pool.allocated_delta,
                    from,
                    until,
                    pool.grant.is_some()
                ],
            )
            .map_err(db_error)?;
        if updated == 0 {
            tx.execute(
                "INSERT INTO pools (scope, license, quantity, allocated, valid_from, valid_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![pool.scope, pool.license, pool.quantity_delta, pool.allocated_delta, from, until],
            )
            .map_err(db_error)?;
        }
        tx.execute(
            "DELETE FROM pools WHERE scope = ?1 AND license = ?2 AND quantity = 0 AND allocated = 0
               AND valid_from IS NULL AND valid_until IS NULL",
            params![pool.scope, pool.license],
        )
        .map_err(db_error)?;
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO ledger (revision, seq, at, actor, request_id, org_key, user_id, license, kind, delta, change)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(db_error)?;
    for entry in &commit.entries {
        let change = &entry.change;
        insert
            .execute(params![
                entry.revision as i64,
                entry.seq,
                entry.at,
                entry.actor,
                entry.request_id,
                change.org().map(|o| o.key().as_str().to_owned()),
                change.user().map(UserId::as_str),
                change.license().map(|l| l.to_string()),
                change_kind(change),
                change.delta(),
                to_json(change)?,
            ])
            .map_err(db_error)?;
    }
    drop(insert);
    tx.commit().map_err(db_error)
}

fn read_rows(conn: &Connection) -> StoreResult<Rows> {
    let mut rows = Rows::default();
    let revision: i64 =
        conn.query_row("SELECT value FROM meta WHERE key = 'revision'", [], |r| r.get(0)).map_err(db_error)?;
    rows.revision = revision as u64;
    let texts = |sql: &str, width: usize| -> StoreResult<Vec<Vec<String>>> {
        let mut stmt = conn.prepare(sql).map_err(db_error)?;
        let mapped = stmt
            .query_map([], |r| (0..width).map(|i| r.get::<_, String>(i)).collect::<Result<Vec<_>, _>>())
            .map_err(db_error)?;
        mapped.collect::<Result<Vec<_>, _>>().map_err(db_error)
    };
    for r in texts("SELECT product FROM products ORDER BY code_key", 1)? {
        rows.products.push(from_json::<Product>(&r[0])?);
    }
    for r in texts("SELECT org_id, name FROM orgs", 2)? {
        rows.orgs.push((parsed(OrgId::parse(&r[0]))?, r[1].clone()));
    }
    for r in texts("SELECT org_key, user_id, profile FROM users", 3)? {
        rows.users.push((OrgKey::of(&r[0]), parsed(UserId::parse(&r[1]))?, from_json::<UserProfile>(&r[2])?));
    }
    for r in texts("SELECT org_key, group_id, name, rule FROM groups", 4)? {
        rows.groups.push((OrgKey::of(&r[0]), parsed(GroupId::parse(&r[1]))?, r[2].clone(), from_json::<Rule>(&r[3])?));
    }
    for r in texts("SELECT org_key, tenant_id, name FROM tenants", 3)? {
        rows.tenants.push((OrgKey::of(&r[0]), parsed(TenantId::parse(&r[1]))?, r[2].clone()));
    }
    for r in texts("SELECT org_key, group_id, user_id, CAST(seq AS TEXT) FROM members", 4)? {
        let seq = parsed(r[3].parse::<u64>())?;
        rows.members.push((OrgKey::of(&r[0]), parsed(GroupId::parse(&r[1]))?, parsed(UserId::parse(&r[2]))?, seq));
    }
    for r in texts("SELECT org_key, user_id, product, holding FROM holdings", 4)? {
        let holding = from_json::<Holding>(&r[3])?;
        rows.holdings.push((
            OrgKey::of(&r[0]),
            parsed(UserId::parse(&r[1]))?,
            parsed(ProductCode::parse(&r[2]))?,
            holding,
        ));
    }
    let mut stmt = conn
        .prepare("SELECT scope, license, quantity, allocated, valid_from, valid_until FROM pools")
        .map_err(db_error)?;
    let pools = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .map_err(db_error)?;
    for pool in pools {
        let (scope, license, quantity, allocated, valid_from, valid_until) = pool.map_err(db_error)?;
        let grant = allot_core::Grant { quantity, valid_from, valid_until };
        rows.pools.push((scope, parsed(LicenseKey::parse(&license))?, Pool { grant, allocated }));
    }
    Ok(rows)
}

fn read_ledger(conn: &Connection, query: &LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
    let mut sql = String::from("SELECT revision, seq, at, actor, request_id, change FROM ledger WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut filter = |clause: &str, value: rusqlite::types::Value| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(org) = &query.org {
        filter(" AND org_key = ?", org.as_str().to_owned().into());
    }
    if let Some(user) = &query.user {
        filter(" AND user_id = ?", user.clone().into());
    }
    if let Some(license) = &query.license {
        filter(" AND license = ?", license.clone().into());
    }
    if let Some(from) = query.from_revision {
        filter(" AND revision >= ?", (from as i64).into());
    }
    if let Some(to) = query.to_revision {
        filter(" AND revision <= ?", (to as i64).into());
    }
    if let Some((revision, seq)) = query.after {
        filter(" AND (revision > ?", (revision as i64).into());
        filter(" OR (revision = ?", (revision as i64).into());
        filter(" AND seq > ?))", i64::from(seq).into());
    }
    filter(" ORDER BY revision, seq LIMIT ?", i64::from(query.limit).into());
    let mut stmt = conn.prepare(&sql).map_err(db_error)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?))
        })
        .map_err(db_error)?;
    let mut entries = Vec::new();
    for row in rows {
        let (revision, seq, at, actor, request_id, change) = row.map_err(db_error)?;
        entries.push(LedgerEntry {
            revision: revision as u64,
            seq,
            at,
            actor,
            request_id,
            change: from_json(&change)?,
        });
    }
    Ok(entries)
}

fn client_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiClient> {
    let scopes: String = r.get(4)?;
    Ok(ApiClient {
        client_id: r.get(0)?,
        org: OrgKey::of(&r.get::<_, String>(1)?),
        name: r.get(2)?,
        secret_hash: r.get(3)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: r.get(5)?,
    })
}

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, Timestamp)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn token_record(row: (String, String, String, String, Timestamp)) -> StoreResult<TokenRecord> {
    let (hash, kind, subject, scopes, expires_at) = row;
    let kind = match kind.as_str() {
        "refresh" => TokenKind::Refresh,
        _ => TokenKind::Access,
    };
    Ok(TokenRecord {
        hash,
        kind,
        subject: from_json(&subject)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at,
    })
}

const CLIENT_COLUMNS: &str = "client_id, org_key, name, secret_hash, scopes, created_at";
const TOKEN_COLUMNS: &str = "hash, kind, subject, scopes, expires_at";

impl Store for SqliteStore {
    async fn load(&self) -> StoreResult<allot_core::State> {
        let rows = self.read(read_rows).await?;
        rows::build_state(rows)
    }

    async fn commit(&self, commit: Commit) -> StoreResult<()> {
        self.write(move |conn| commit_in(conn, &commit)).await
    }

    async fn ledger(&self, query: LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
        self.read(move |conn| read_ledger(conn, &query)).await
    }

    async fn check_ledger(&self) -> StoreResult<LedgerCheck> {
        let (entries, rows) = self
            .read(|conn| {
                // One read transaction, so the ledger and the balances are the same moment.
                conn.execute_batch("BEGIN").map_err(db_error)?;
                let all = LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() };
                let read = read_ledger(conn, &all).and_then(|entries| Ok((entries, read_rows(conn)?)));
                conn.execute_batch("COMMIT").map_err(db_error)?;
                read
            })
            .await?;
        let stored = rows::build_state(rows)?;
        let replayed = allot_core::ledger::replay(Catalogue::default_products(), &entries)
            .map_err(|e| StoreError::Corrupt(format!("the ledger does not replay: {e}")))?;
        Ok(LedgerCheck {
            revision: stored.revision(),
            entries: entries.len() as u64,
            differences: rows::differences(&replayed, &stored),
        })
    }

    async fn password_hash(&self, realm: &str, username: &str) -> StoreResult<Option<String>> {
        let (realm, username) = (realm.to_owned(), username.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT password_hash FROM credentials WHERE realm = ?1 AND username = ?2",
                params![realm, username],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)
        })
        .await
    }

    async fn set_password_hash(&self, realm: &str, username: &str, hash: &str) -> StoreResult<()> {
        let (realm, username, hash) = (realm.to_owned(), username.to_owned(), hash.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO credentials (realm, username, password_hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT (realm, username) DO UPDATE SET password_hash = excluded.password_hash",
                params![realm, username, hash],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn has_host_admin(&self) -> StoreResult<bool> {
        self.read(|conn| {
            conn.query_row("SELECT EXISTS (SELECT 1 FROM credentials WHERE realm = '')", [], |r| r.get(0))
                .map_err(db_error)
        })
        .await
    }

    async fn insert_client(&self, client: ApiClient) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                &format!("INSERT INTO api_clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    client.client_id,
                    client.org.as_str(),
                    client.name,
                    client.secret_hash,
                    client.scopes.join(" "),
                    client.created_at
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<ApiClient>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE client_id = ?1"),
                params![client_id],
                client_from_row,
            )
            .optional()
            .map_err(db_error)
        })
        .await
    }

    async fn clients(&self, org: &OrgKey) -> StoreResult<Vec<ApiClient>> {
        let org = org.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM api_clients WHERE org_key = ?1 ORDER BY created_at, client_id"
                ))
                .map_err(db_error)?;
            let rows = stmt.query_map(params![org.as_str()], client_from_row).map_err(db_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
        })
        .await
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let client_id = client_id.to_owned();
        self.write(move |conn| {
            let deleted =
                conn.execute("DELETE FROM api_clients WHERE client_id = ?1", params![client_id]).map_err(db_error)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                &format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
                params![
                    token.hash,
                    token.kind.as_str(),
                    to_json(&token.subject)?,
                    token.scopes.join(" "),
                    token.expires_at
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        let row = self
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"),
                    params![hash],
                    token_from_row,
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        row.map(token_record).transpose()
    }

    async fn take_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        let row = self
            .write(move |conn| {
                conn.query_row(
                    &format!("DELETE FROM tokens WHERE hash = ?1 RETURNING {TOKEN_COLUMNS}"),
                    params![hash],
                    token_from_row,
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        row.map(token_record).transpose()
    }

    async fn revoke_tokens(&self, subject: &Subject) -> StoreResult<u64> {
        let subject = to_json(subject)?;
        self.write(move |conn| {
            let deleted = conn.execute("DELETE FROM tokens WHERE subject = ?1", params![subject]).map_err(db_error)?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| {
            let deleted = conn.execute("DELETE FROM tokens WHERE expires_at <= ?1", params![now]).map_err(db_error)?;
            Ok(deleted as u64)
        })
        .await
    }
}
