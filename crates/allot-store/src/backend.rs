//! The store a server runs on, picked from the database URL at start-up. An enum rather
//! than a trait object: the trait's async methods are statically dispatched.

use allot_core::{LedgerEntry, OrgKey, State, Timestamp};

use crate::{
    ApiClient, Commit, LedgerCheck, LedgerQuery, PgStore, SqliteStore, Store, StoreResult, Subject, TokenRecord,
};

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

impl Store for Backend {
    async fn load(&self) -> StoreResult<State> {
        delegate!(self, s => s.load().await)
    }
    async fn take_turn(&self, after: u64, limit: u32) -> StoreResult<Option<Vec<LedgerEntry>>> {
        delegate!(self, s => s.take_turn(after, limit).await)
    }
    async fn end_turn(&self) {
        delegate!(self, s => s.end_turn().await)
    }
    async fn commit_all(&self, commits: &[Commit]) -> StoreResult<()> {
        delegate!(self, s => s.commit_all(commits).await)
    }
    async fn ledger(&self, query: LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
        delegate!(self, s => s.ledger(query).await)
    }
    async fn revision(&self) -> StoreResult<u64> {
        delegate!(self, s => s.revision().await)
    }
    async fn check_ledger(&self) -> StoreResult<LedgerCheck> {
        delegate!(self, s => s.check_ledger().await)
    }
    async fn idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<crate::IdempotencyRecord>> {
        delegate!(self, s => s.idempotency(scope, key).await)
    }
    async fn save_idempotency(&self, record: crate::IdempotencyRecord) -> StoreResult<()> {
        delegate!(self, s => s.save_idempotency(record).await)
    }
    async fn insert_plan(&self, plan: crate::StoredPlan) -> StoreResult<()> {
        delegate!(self, s => s.insert_plan(plan).await)
    }
    async fn plan(&self, id: &str) -> StoreResult<Option<crate::StoredPlan>> {
        delegate!(self, s => s.plan(id).await)
    }
    async fn password_hash(&self, realm: &str, username: &str) -> StoreResult<Option<String>> {
        delegate!(self, s => s.password_hash(realm, username).await)
    }
    async fn set_password_hash(&self, realm: &str, username: &str, hash: &str) -> StoreResult<()> {
        delegate!(self, s => s.set_password_hash(realm, username, hash).await)
    }
    async fn has_host_admin(&self) -> StoreResult<bool> {
        delegate!(self, s => s.has_host_admin().await)
    }
    async fn insert_client(&self, client: ApiClient) -> StoreResult<()> {
        delegate!(self, s => s.insert_client(client).await)
    }
    async fn client(&self, client_id: &str) -> StoreResult<Option<ApiClient>> {
        delegate!(self, s => s.client(client_id).await)
    }
    async fn clients(&self, org: &OrgKey) -> StoreResult<Vec<ApiClient>> {
        delegate!(self, s => s.clients(org).await)
    }
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        delegate!(self, s => s.delete_client(client_id).await)
    }
    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()> {
        delegate!(self, s => s.insert_token(token).await)
    }
    async fn token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        delegate!(self, s => s.token(hash).await)
    }
    async fn take_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        delegate!(self, s => s.take_token(hash).await)
    }
    async fn revoke_tokens(&self, subject: &Subject) -> StoreResult<u64> {
        delegate!(self, s => s.revoke_tokens(subject).await)
    }
    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        delegate!(self, s => s.delete_expired_tokens(now).await)
    }
}
