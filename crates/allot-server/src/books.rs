//! The books: the license state in memory, and the one path every change takes:
//! plan against memory, commit to the store, then apply to memory.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use allot_core::{Actor, Command, LedgerEntry, Plan, State, Timestamp};
use allot_store::{Backend, Commit, Store};
use tokio::sync::Mutex;

use crate::error::ApiResult;

pub struct Books {
    state: RwLock<State>,
    /// Held from planning to the in-memory apply of a write, so the plan committed is the
    /// plan computed. Validation does not take it.
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
    /// A plan with violations is answered unapplied; the caller decides how to refuse it.
    pub async fn apply(
        &self,
        store: &Backend,
        commands: &[Command],
        actor: &Actor,
        now: Timestamp,
    ) -> ApiResult<Outcome> {
        let _writer = self.writer.lock().await;
        let outcome = self.validate(commands, now);
        if !outcome.plan.is_possible() || outcome.plan.changes.is_empty() {
            return Ok(outcome);
        }
        let revision = outcome.plan.base_revision + 1;
        let entries = LedgerEntry::for_plan(revision, now, actor, &outcome.plan.changes);
        store.commit(Commit { revision, at: now, entries }).await?;
        let applied = self.write().apply_all(revision, &outcome.plan.changes);
        if let Err(error) = applied {
            // Committed but not applicable in memory: a bug. The database is the truth, so
            // serve what it holds rather than a state that disagrees with it.
            tracing::error!(%error, revision, "a committed plan did not apply in memory; reloading the books");
            *self.write() = store.load().await?;
        }
        Ok(Outcome { applied: true, revision, ..outcome })
    }
}
