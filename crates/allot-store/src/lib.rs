//! allot's persistence. One [`Store`] trait, written once for SQL in `sql.rs`; SQLite is
//! the embedded default and PostgreSQL serves several allot processes.
//!
//! The ledger is the record. The other tables are its balances, written in the same
//! transaction, with the invariant `allocated <= quantity` as a schema constraint so that
//! no bug above this layer can break it.

use std::future::Future;

use allot_core::{Change, LedgerEntry, OrgKey, State, Timestamp};
use serde::{Deserialize, Serialize};

mod backend;
pub mod postgres;
mod rows;
pub mod sql;
pub mod sqlite;
mod writes;

pub use backend::Backend;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The change conflicts with what is stored (a constraint or a precondition failed).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or answered with an error; try again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not add up (balances disagree with holdings, bad JSON).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
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
    /// Entries strictly after this (revision, seq): the paging cursor.
    pub after: Option<(u64, u32)>,
    pub limit: u32,
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
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
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

/// Persistence for allot. Methods are async so that network databases fit the same trait.
pub trait Store: Send + Sync + 'static {
    /// The whole license state, built from the stored balances and checked against itself.
    fn load(&self) -> impl Future<Output = StoreResult<State>> + Send;

    /// Writes one plan atomically: its ledger entries, its balances, the new revision.
    /// Fails with [`StoreError::Conflict`] if the stored revision is not `revision - 1`.
    fn commit(&self, commit: Commit) -> impl Future<Output = StoreResult<()>> + Send {
        async move { self.commit_all(std::slice::from_ref(&commit)).await }
    }

    /// Writes several plans, in order, in one transaction (group commit): all or none.
    /// Each plan's revision must follow the one before it.
    fn commit_all(&self, commits: &[Commit]) -> impl Future<Output = StoreResult<()>> + Send;

    /// Waits for this process's turn to write among the processes sharing the database, and
    /// holds it until [`Store::end_turn`] (or until a group commit ends it). Answers up to
    /// `limit` ledger entries after revision `after` that others committed before the turn,
    /// read in the same round trip; `None` when this process is the database's only writer.
    /// Turns are for speed only: a writer that planned while another committed is refused
    /// by the revision check and plans again.
    fn take_turn(&self, after: u64, limit: u32) -> impl Future<Output = StoreResult<Option<Vec<LedgerEntry>>>> + Send;
    fn end_turn(&self) -> impl Future<Output = ()> + Send;

    fn ledger(&self, query: LedgerQuery) -> impl Future<Output = StoreResult<Vec<LedgerEntry>>> + Send;

    /// The latest committed revision.
    fn revision(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Recomputes every balance from the ledger and compares it with the stored balances.
    fn check_ledger(&self) -> impl Future<Output = StoreResult<LedgerCheck>> + Send;

    fn idempotency(
        &self,
        scope: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<IdempotencyRecord>>> + Send;
    /// Stores (or completes) a key's record with its answer.
    fn save_idempotency(&self, record: IdempotencyRecord) -> impl Future<Output = StoreResult<()>> + Send;

    fn insert_plan(&self, plan: StoredPlan) -> impl Future<Output = StoreResult<()>> + Send;
    fn plan(&self, id: &str) -> impl Future<Output = StoreResult<Option<StoredPlan>>> + Send;

    fn password_hash(&self, realm: &str, username: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    fn set_password_hash(
        &self,
        realm: &str,
        username: &str,
        hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Whether any host administrator exists (to bootstrap the first one).
    fn has_host_admin(&self) -> impl Future<Output = StoreResult<bool>> + Send;

    fn insert_client(&self, client: ApiClient) -> impl Future<Output = StoreResult<()>> + Send;
    fn client(&self, client_id: &str) -> impl Future<Output = StoreResult<Option<ApiClient>>> + Send;
    fn clients(&self, org: &OrgKey) -> impl Future<Output = StoreResult<Vec<ApiClient>>> + Send;
    fn delete_client(&self, client_id: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    fn insert_token(&self, token: TokenRecord) -> impl Future<Output = StoreResult<()>> + Send;
    fn token(&self, hash: &str) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;
    /// Removes and returns a refresh token (never another kind): it works once.
    fn take_token(&self, hash: &str) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;
    /// Removes every token of a subject (a deleted client or user); answers how many.
    fn revoke_tokens(&self, subject: &Subject) -> impl Future<Output = StoreResult<u64>> + Send;
    fn delete_expired_tokens(&self, now: Timestamp) -> impl Future<Output = StoreResult<u64>> + Send;
}

#[cfg(test)]
mod conformance;
