//! Schema migrations, embedded in the binary; version numbers match migrations/postgres.

use rusqlite::{Connection, params};

use super::db_error;
use crate::StoreResult;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_plans.sql")),
    (3, include_str!("../../migrations/sqlite/0003_idempotency.sql")),
    (4, include_str!("../../migrations/sqlite/0004_columns.sql")),
    (5, include_str!("../../migrations/sqlite/0005_login_throttle.sql")),
    (6, include_str!("../../migrations/sqlite/0006_expiry_indexes.sql")),
    (7, include_str!("../../migrations/sqlite/0007_lifetimes.sql")),
    (8, include_str!("../../migrations/sqlite/0008_checkpoints.sql")),
    (9, include_str!("../../migrations/sqlite/0009_group_profiles.sql")),
];

/// Applies every migration the database lacks, each in its own transaction. Answers the
/// versions applied now.
pub fn migrate(conn: &mut Connection) -> StoreResult<Vec<i64>> {
    migrate_up_to(conn, i64::MAX)
}

/// Applies the migrations the database lacks up to version `last`.
pub(crate) fn migrate_up_to(conn: &mut Connection, last: i64) -> StoreResult<Vec<i64>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
    )
    .map_err(db_error)?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version <= last) {
        let tx = conn.transaction().map_err(db_error)?;
        let done: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", params![version], |r| {
                r.get(0)
            })
            .map_err(db_error)?;
        if !done {
            tx.execute_batch(sql).map_err(db_error)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch() * 1000)",
                params![version],
            )
            .map_err(db_error)?;
            applied.push(*version);
        }
        tx.commit().map_err(db_error)?;
    }
    Ok(applied)
}
