//! The books: the license state in memory, and the one path every change takes:
//! plan against memory, commit to the store, then apply to memory. Other processes on
//! the same database are followed through the ledger.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use allot_core::{Actor, Change, Command, LedgerEntry, Plan, State, Timestamp};
use allot_store::{Backend, Commit, IdempotencyKey, LedgerQuery, Store, StoreError};
use tokio::sync::Mutex;

use crate::error::ApiResult;

/// How long a write keeps re-planning when other processes keep committing first.
const RETRY_FOR: Duration = Duration::from_secs(4);
/// Ledger entries read per round when catching up.
const CATCH_UP_PAGE: u32 = 5_000;

pub struct Books {
    state: RwLock<State>,
    /// Held from planning to the in-memory apply of a write, so the plan committed is the
    /// plan computed; catching up takes it too. Validation does not.
    writer: Mutex<()>,
}

/// What a plan request came to.
#[derive(Debug)]
pub struct Outcome {
    pub plan: Plan,
    pub applied: bool,
    /// The revision after the request: the new one if it applied changes.
    pub revision: u64,
}

impl Books {
    pub fn new(state: State) -> Self {
        Self { state: RwLock::new(state), writer: Mutex::new(()) }
    }

    /// Reads the state. Never hold the guard across an await.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Plans `commands` and changes nothing.
    pub fn validate(&self, commands: &[Command], now: Timestamp) -> Outcome {
        let plan = allot_core::plan(&mut self.write(), commands, now);
        let revision = plan.base_revision;
        Outcome { plan, applied: false, revision }
    }

    /// Plans `commands` and, if the plan has no violations, applies it all or nothing.
    /// When another process committed first, catches up and plans again. A plan with
    /// violations is answered unapplied; the caller decides how to refuse it.
    pub async fn apply(
        &self,
        store: &Backend,
        commands: &[Command],
        actor: &Actor,
        now: Timestamp,
    ) -> ApiResult<Outcome> {
        self.apply_checked(store, commands, actor, now, None, &|_, _| Ok(())).await
    }

    /// Like [`Books::apply`], but first `check`s the fresh plan against the state it was made
    /// on (a precondition such as If-Match, or a stored plan's expected changes). The check
    /// runs under the writer lock, so nothing moves between it and the commit.
    pub async fn apply_checked(
        &self,
        store: &Backend,
        commands: &[Command],
        actor: &Actor,
        now: Timestamp,
        idempotency: Option<&IdempotencyKey>,
        check: &(dyn Fn(&State, &Plan) -> ApiResult<()> + Sync),
    ) -> ApiResult<Outcome> {
        let _writer = self.writer.lock().await;
        let give_up = Instant::now() + RETRY_FOR;
        loop {
            let outcome = self.validate(commands, now);
            check(&self.read(), &outcome.plan)?;
            if !outcome.plan.is_possible() || outcome.plan.changes.is_empty() {
                return Ok(outcome);
            }
            let revision = outcome.plan.base_revision + 1;
            let entries = LedgerEntry::for_plan(revision, now, actor, &outcome.plan.changes);
            let commit = Commit { revision, at: now, entries, idempotency: idempotency.cloned() };
            match store.commit(commit).await {
                Ok(()) => {
                    self.apply_committed(store, revision, &outcome.plan.changes).await?;
                    return Ok(Outcome { applied: true, revision, ..outcome });
                }
                Err(StoreError::Conflict(detail)) if Instant::now() < give_up => {
                    // Moved on elsewhere? Then follow and plan again. If not, memory and the
                    // database disagree: serve the database's books from now on.
                    if self.catch_up_locked(store).await? == outcome.plan.base_revision {
                        tracing::error!(%detail, "a commit conflicted with no other process involved; reloading the books");
                        *self.write() = store.load().await?;
                        return Err(StoreError::Conflict(detail).into());
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn apply_committed(&self, store: &Backend, revision: u64, changes: &[Change]) -> ApiResult<()> {
        let applied = self.write().apply_all(revision, changes);
        if let Err(error) = applied {
            // Committed but not applicable in memory: a bug. The database is the truth, so
            // serve what it holds rather than a state that disagrees with it.
            tracing::error!(%error, revision, "a committed plan did not apply in memory; reloading the books");
            *self.write() = store.load().await?;
        }
        Ok(())
    }

    /// Applies what other processes committed since this one's revision; answers the
    /// revision reached.
    pub async fn catch_up(&self, store: &Backend) -> ApiResult<u64> {
        let _writer = self.writer.lock().await;
        self.catch_up_locked(store).await
    }

    async fn catch_up_locked(&self, store: &Backend) -> ApiResult<u64> {
        loop {
            let from = self.read().revision() + 1;
            let query = LedgerQuery { from_revision: Some(from), limit: CATCH_UP_PAGE, ..LedgerQuery::default() };
            let mut entries = store.ledger(query).await?;
            let full_page = entries.len() == CATCH_UP_PAGE as usize;
            if full_page {
                // The last revision may go on in the next page: take it whole next round.
                let last = entries.last().map(|e| e.revision);
                entries.retain(|e| Some(e.revision) != last);
                if entries.is_empty() {
                    // One revision fills the page: read it whole.
                    let whole = LedgerQuery {
                        from_revision: Some(from),
                        to_revision: Some(from),
                        limit: u32::MAX,
                        ..LedgerQuery::default()
                    };
                    entries = store.ledger(whole).await?;
                }
            }
            if entries.is_empty() && !full_page {
                return Ok(self.read().revision());
            }
            let applied = self.apply_entries(&entries);
            if let Err(error) = applied {
                tracing::error!(%error, "the ledger does not apply to memory; reloading the books");
                *self.write() = store.load().await?;
                return Ok(self.read().revision());
            }
            if !full_page {
                return Ok(self.read().revision());
            }
        }
    }

    fn apply_entries(&self, entries: &[LedgerEntry]) -> Result<(), allot_core::state::Inconsistent> {
        let mut state = self.write();
        for revision in entries.chunk_by(|a, b| a.revision == b.revision) {
            let number = revision[0].revision;
            if number != state.revision() + 1 {
                return Err(allot_core::state::Inconsistent(format!("revision {number} follows {}", state.revision())));
            }
            let changes: Vec<Change> = revision.iter().map(|e| e.change.clone()).collect();
            state.apply_all(number, &changes)?;
        }
        Ok(())
    }

    /// Ends the holdings whose time is up, as one ledger revision at `now`; the units freed
    /// go to waiting members in order. Answers the new revision, if anything ended.
    pub async fn expire_due(&self, store: &Backend, now: Timestamp) -> ApiResult<Option<u64>> {
        if self.read().next_ending().is_none_or(|next| next > now) {
            return Ok(None);
        }
        let actor = Actor { name: "system:expiry".into(), request_id: format!("expiry-{now}") };
        let outcome = self.apply(store, &[Command::Expire { now }], &actor, now).await?;
        if !outcome.plan.is_possible() {
            tracing::error!(violations = ?outcome.plan.violations, "expiry could not be applied");
        }
        Ok(outcome.applied.then_some(outcome.revision))
    }

    /// Follows other processes: every `interval`, catches up if the stored revision moved,
    /// and ends the holdings whose time is up by `clock`.
    pub async fn follow(&self, store: &Backend, interval: Duration, clock: &crate::clock::Clock) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store.revision().await {
                Ok(stored) if stored > self.read().revision() => {
                    if let Err(error) = self.catch_up(store).await {
                        tracing::warn!(
                            code = error.code(),
                            detail = error.detail(),
                            "cannot catch up with the database"
                        );
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "cannot read the stored revision"),
            }
            if let Err(error) = self.expire_due(store, clock.now()).await {
                tracing::warn!(code = error.code(), detail = error.detail(), "cannot end expired holdings");
            }
        }
    }
}
