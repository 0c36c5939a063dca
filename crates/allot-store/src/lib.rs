//! allot's persistence. One [`Store`] trait, written once (`store.rs`, `writes.rs`) over the
//! few SQL primitives each backend implements ([`sql::Sql`]); SQLite is the embedded
//! default and PostgreSQL serves several allot processes.
//!
//! The ledger is the record. The other tables are its balances, written in the same
//! transaction, with the invariant `allocated <= quantity` as a schema constraint so that
//! no bug above this layer can break it.

use allot_core::{Change, LedgerEntry, OrgKey, Timestamp};
use serde::{Deserialize, Serialize};

mod backend;
mod checkpoints;
pub mod postgres;
mod rows;
pub mod sql;
pub mod sqlite;
mod store;
mod writes;

pub use backend::Backend;
pub use checkpoints::Checkpoint;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::Store;

/// Why the store could not do what it was asked. Each kind calls for a different answer:
/// a lost race is retried, a refusal is the caller's to fix, an outage is waited out, and
/// anything else is a bug to log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Another writer committed first: the stored revision (or a row a conditional write
    /// expected) moved. Plan again on the new books.
    #[error("the books moved: {0}")]
    Raced(String),
    /// A constraint of the schema refused the write.
    #[error("refused by the schema: {0}")]
    Refused(Refusal),
    /// The database cannot serve now (unreachable, timed out, out of disk); try again later.
    #[error("database unavailable ({reason}): {detail}")]
    Unavailable { reason: Outage, detail: String },
    /// Stored data does not add up (balances disagree with holdings, undecodable rows).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Anything else: an SQL error, a missing table, a broken invariant of the caller's.
    #[error("database error: {0}")]
    Failed(String),
}

/// A write the schema's constraints refused, by what the constraint means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A row with this key exists: `what` (`user`, `API client`, ...) and its id.
    #[error("{what} `{id}` already exists")]
    Exists { what: &'static str, id: String },
    /// A pool's counts would leave `0 <= allocated <= quantity`; the constraint's name
    /// where the database reports it (PostgreSQL does, SQLite does not).
    #[error("a pool would leave its limits ({})", .constraint.unwrap_or("0 <= allocated <= quantity"))]
    PoolLimit { constraint: Option<&'static str> },
    /// A trigger refused the write (the schema's: the ledger is append-only).
    #[error("a trigger refused the write")]
    Trigger,
    /// Any other constraint (a foreign key, a uniqueness the caller did not expect).
    #[error("constraint {constraint}")]
    Other { constraint: String },
}

/// Why the database cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Outage {
    #[error("unreachable")]
    Unreachable,
    #[error("timed out")]
    TimedOut,
    #[error("disk full")]
    DiskFull,
}

impl StoreError {
    pub(crate) fn unavailable(reason: Outage, detail: impl Into<String>) -> Self {
        Self::Unavailable { reason, detail: detail.into() }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One applied plan, as the store writes it.
#[derive(Debug, Clone)]
pub struct Commit {
    pub revision: u64,
    pub at: Timestamp,
    pub entries: Vec<LedgerEntry>,
    /// The idempotency key of the request, written pending in the same transaction.
    pub idempotency: Option<IdempotencyKey>,
    /// What else the request writes, in the same transaction; not ledger events.
    pub side: Vec<SideWrite>,
}

/// A write that goes with a commit, all or nothing, but is not a ledger event: the ledger
/// records licenses and who exists, never credentials. (Tokens of a deleted user or
/// organization go with the deletion itself: see `writes.rs`.)
#[derive(Clone, PartialEq, Eq)]
pub enum SideWrite {
    /// Sets an account's password hash (a user created with a password).
    Password { realm: String, username: String, hash: String },
}

impl std::fmt::Debug for SideWrite {
    /// Without the hash: commits are logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { realm, username, .. } => {
                f.debug_struct("Password").field("realm", realm).field("username", username).finish_non_exhaustive()
            }
        }
    }
}

/// What a login counts its attempts on (see migrations/*/0005_login_throttle.sql).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterScope {
    /// One account from one address: locked after the rule's `max`.
    Pair,
    /// One account from anywhere: slowed, never locked, so no one address denies it.
    Account,
    /// One address, whatever the account: against spraying many accounts.
    Address,
}

impl CounterScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pair => "pair",
            Self::Account => "account",
            Self::Address => "address",
        }
    }
}

/// A counter a login attempt is reserved on, with its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCounter {
    pub scope: CounterScope,
    /// `''` for host admins, an organization key, or a realm of the caller's (API clients).
    pub realm: String,
    pub username: String,
    pub addr: String,
    /// Attempts allowed in the window; none after until it ends.
    pub max: u64,
    /// Attempts in the window after which each waits `delay_step_ms` more than the last
    /// (at most `delay_cap_ms`) since the previous one.
    pub delay_after: u64,
    pub delay_step_ms: i64,
    pub delay_cap_ms: i64,
}

/// A caller's idempotency key for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
}

/// The first answer for an idempotency key, as it is replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: String,
    pub etag: Option<String>,
    pub body: String,
}

/// What is stored for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub revision: Option<u64>,
    /// The first answer; `None` while pending.
    pub answer: Option<StoredAnswer>,
    pub created_at: Timestamp,
}

impl Commit {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.entries.iter().map(|entry| &entry.change)
    }
}

/// Which ledger entries to read, oldest first.
#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    pub org: Option<OrgKey>,
    pub user: Option<String>,
    pub license: Option<String>,
    pub from_revision: Option<u64>,
    pub to_revision: Option<u64>,
    /// Only entries made by this actor (as the ledger spells it, `user:acme/alice`).
    pub actor: Option<String>,
    /// Only entries committed at or after, and at or before, these moments.
    pub from_at: Option<Timestamp>,
    pub until_at: Option<Timestamp>,
    /// Entries strictly after this (revision, seq): the paging cursor.
    pub after: Option<(u64, u32)>,
    pub limit: u32,
}

/// A ledger entry without who made it: what a fold of the past reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedChange {
    pub revision: u64,
    pub seq: u32,
    pub at: Timestamp,
    pub change: allot_core::Change,
}

/// When a user or group was made, and when it was last modified since (none if never),
/// in Unix milliseconds: the times of the ledger entries that did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub created: Timestamp,
    pub modified: Option<Timestamp>,
}

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Subject {
    HostAdmin { username: String },
    OrgUser { org: OrgKey, user: String },
    Client { client_id: String, org: OrgKey },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
    /// A console session: its cookie's value is the token.
    Session,
    /// A long-lived token of an API client for SCIM provisioning, for identity providers
    /// that keep one static secret.
    Scim,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
            Self::Session => "session",
            Self::Scim => "scim",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token, hex.
    pub hash: String,
    pub kind: TokenKind,
    pub subject: Subject,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub client_id: String,
    pub org: OrgKey,
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
}

/// The outcome of recomputing every balance from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheck {
    pub revision: u64,
    pub entries: u64,
    /// Checkpoints compared with the replay.
    pub checkpoints: u64,
    /// Human-readable differences between the replay and the stored balances; empty when they agree.
    pub differences: Vec<String>,
}

/// A validated plan, kept to be applied later by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlan {
    pub id: String,
    pub org: OrgKey,
    pub base_revision: u64,
    pub author: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub commands: Vec<allot_core::Command>,
    pub changes: Vec<Change>,
}

#[cfg(test)]
mod conformance;
