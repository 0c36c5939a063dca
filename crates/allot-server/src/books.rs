//! The books: the license state in memory, and the one path every change takes:
//! plan against memory, commit to the store, then apply to memory. Writes are grouped:
//! one committer plans the writes queued while the last group committed, one after
//! another, commits them in one transaction (one fsync), and only then applies them to
//! memory and answers.
//! Other processes on the same database are followed through the ledger.
//!
//! Nothing plans on the state that is served. Readers take the last committed state, an
//! `Arc` held for a pointer's copy; planning (a validation, the committer's group, a
//! catch-up) works on a private copy, which shares all but what it changes (the state's
//! maps copy a run of entries on their first change), and the committer swaps its copy in
//! once committed. So a check never waits for a plan, and a plan that panics leaves
//! nothing half planned behind: its copy is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use allot_core::{Actor, Change, Command, LedgerEntry, Plan, State, Timestamp};
use allot_store::{Backend, Commit, IdempotencyKey, LedgerQuery, SideWrite, Store, StoreError};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::{ApiError, ApiResult};

/// How long a write keeps re-planning when other processes keep committing first.
const RETRY_FOR: Duration = Duration::from_secs(4);
/// Ledger entries read per round when catching up.
const CATCH_UP_PAGE: u32 = 5_000;
/// The most writes one transaction takes.
const MAX_GROUP: usize = 256;

/// A precondition checked on the fresh plan against the state it was made on.
pub type Precondition = Box<dyn Fn(&State, &Plan) -> ApiResult<()> + Send + Sync>;

#[derive(Clone)]
pub struct Books {
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Job>,
}

struct Shared {
    /// The last committed state. The lock is held only to copy or swap the pointer.
    state: RwLock<Arc<State>>,
    /// The revision of `state`, for the answers that need no more of it (every answer's
    /// `allot-revision`): read without the lock.
    revision: AtomicU64,
    store: Backend,
    /// Held from planning to the swap of a group of writes, so what is committed is what
    /// was planned and no other copy is swapped in meanwhile; catching up takes it too.
    /// Validation does not: it swaps nothing in.
    writer: Mutex<()>,
}

/// A write waiting for the committer.
struct Job {
    commands: Vec<Command>,
    actor: Actor,
    now: Timestamp,
    idempotency: Option<IdempotencyKey>,
    /// Written with the job's change, in its transaction, if it changes anything.
    side: Vec<SideWrite>,
    precondition: Precondition,
    answer: oneshot::Sender<ApiResult<Outcome>>,
}

/// What a plan request came to.
#[derive(Debug)]
pub struct Outcome {
    pub plan: Plan,
    pub applied: bool,
    /// The revision after the request: the new one if it applied changes.
    pub revision: u64,
}

/// A group's fate when it could not be committed whole.
enum GroupFailed {
    /// The store refused it (a constraint, a failed statement, or a race no other process
    /// explains): one of its writes may be at fault, so each is tried alone.
    Refused(StoreError),
    Store(StoreError),
}

impl Books {
    /// The books of `state`, kept in `store`. Starts the committer on a thread of its own,
    /// so that a group's answers and the next group never wait behind the runtime's other
    /// tasks; it ends when the last handle is dropped. Call from within the runtime.
    pub fn new(state: State, store: Backend) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            revision: AtomicU64::new(state.revision()),
            state: RwLock::new(Arc::new(state)),
            store,
            writer: Mutex::new(()),
        });
        let (queue, jobs) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let committer = shared.clone();
        std::thread::Builder::new().name("allot-committer".into()).spawn(move || {
            let run = std::panic::AssertUnwindSafe(|| runtime.block_on(commit_queued(committer, jobs)));
            if std::panic::catch_unwind(run).is_err() {
                // A bug, perhaps with a group half planned in memory: stop rather than serve
                // books that may not be the database's, or take writes no one will answer.
                tracing::error!("the committer panicked; stopping the process");
                std::process::abort();
            }
        })?;
        Ok(Self { shared, queue })
    }

    /// The last committed state. It does not move while held: a later commit swaps in
    /// another. Held long, it keeps the runs that later commits replaced alive.
    pub fn read(&self) -> Arc<State> {
        self.shared.read()
    }

    /// The revision of the last committed state.
    pub fn revision(&self) -> u64 {
        self.shared.revision.load(Ordering::Acquire)
    }

    /// Plans `commands` on a copy of the last committed state and changes nothing.
    ///
    /// Planning a large change takes a while (tens of milliseconds for 10,000 users): on a
    /// runtime worker, it would hold the checks queued behind it there. So the worker says
    /// it blocks (`block_in_place`), and the runtime moves its other tasks to another
    /// worker meanwhile.
    pub fn validate(&self, commands: &[Command], now: Timestamp) -> Outcome {
        let plan = || allot_core::plan(&mut self.shared.draft(), commands, now);
        let on_workers = tokio::runtime::Handle::try_current()
            .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let plan = if on_workers { tokio::task::block_in_place(plan) } else { plan() };
        let revision = plan.base_revision;
        Outcome { plan, applied: false, revision }
    }

    /// Plans `commands` and, if the plan has no violations, applies it all or nothing.
    /// When another process committed first, catches up and plans again. A plan with
    /// violations is answered unapplied; the caller decides how to refuse it.
    pub async fn apply(&self, commands: &[Command], actor: &Actor, now: Timestamp) -> ApiResult<Outcome> {
        self.apply_if(commands, actor, now, None, Box::new(|_, _| Ok(()))).await
    }

    /// Like [`Books::apply`], only if `precondition` holds of the fresh plan and the state it
    /// was made on (such as If-Match, or a stored plan's expected changes). It is judged in
    /// the committer, so nothing moves between it and the commit.
    pub async fn apply_if(
        &self,
        commands: &[Command],
        actor: &Actor,
        now: Timestamp,
        idempotency: Option<&IdempotencyKey>,
        precondition: Precondition,
    ) -> ApiResult<Outcome> {
        self.apply_with(commands, actor, now, idempotency, Vec::new(), precondition).await
    }

    /// Like [`Books::apply_if`], and writes `side` in the same transaction as the
    /// change (not as ledger entries); nothing of it if the plan changes nothing.
    pub async fn apply_with(
        &self,
        commands: &[Command],
        actor: &Actor,
        now: Timestamp,
        idempotency: Option<&IdempotencyKey>,
        side: Vec<SideWrite>,
        precondition: Precondition,
    ) -> ApiResult<Outcome> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            commands: commands.to_vec(),
            actor: actor.clone(),
            now,
            idempotency: idempotency.cloned(),
            side,
            precondition,
            answer,
        };
        let stopped = || ApiError::internal("the committer has stopped");
        self.queue.send(job).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Applies what other processes committed since this one's revision; answers the
    /// revision reached.
    pub async fn catch_up(&self) -> ApiResult<u64> {
        let _writer = self.shared.writer.lock().await;
        Ok(self.shared.catch_up_locked().await?)
    }

    /// Ends the holdings whose time is up, as one ledger revision at `now`; the units freed
    /// go to waiting members in order. Answers the new revision, if anything ended.
    pub async fn expire_due(&self, now: Timestamp) -> ApiResult<Option<u64>> {
        if self.read().next_ending().is_none_or(|next| next > now) {
            return Ok(None);
        }
        let actor = Actor { name: "system:expiry".into(), request_id: format!("expiry-{now}") };
        let outcome = self.apply(&[Command::Expire { now }], &actor, now).await?;
        if !outcome.plan.is_possible() {
            tracing::error!(violations = ?outcome.plan.violations, "expiry could not be applied");
        }
        Ok(outcome.applied.then_some(outcome.revision))
    }

    /// Follows other processes: every `interval`, catches up if the stored revision moved,
    /// and ends the holdings whose time is up by `clock`.
    pub async fn follow(&self, interval: Duration, clock: &crate::clock::Clock) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.shared.store.revision().await {
                Ok(stored) if stored > self.read().revision() => {
                    if let Err(error) = self.catch_up().await {
                        tracing::warn!(
                            code = error.code().as_str(),
                            detail = error.detail(),
                            "cannot catch up with the database"
                        );
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "cannot read the stored revision"),
            }
            if let Err(error) = self.expire_due(clock.now()).await {
                tracing::warn!(code = error.code().as_str(), detail = error.detail(), "cannot end expired holdings");
            }
        }
    }
}

/// The committer's loop: waits for the first write, then for its turn among processes,
/// and takes every write queued by then as one group.
async fn commit_queued(shared: Arc<Shared>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let writer = shared.writer.lock().await;
        shared.take_turn().await;
        let mut group = vec![first];
        while group.len() < MAX_GROUP
            && let Ok(job) = jobs.try_recv()
        {
            group.push(job);
        }
        let outcomes = shared.settle(&group).await;
        shared.store.end_turn().await;
        drop(writer);
        for (job, outcome) in group.into_iter().zip(outcomes) {
            // The caller may have gone; the change stands either way.
            let _ = job.answer.send(outcome);
        }
    }
}

impl Shared {
    // The lock guards a pointer's copy or swap, which cannot panic half done: poisoning
    // says nothing about the state, and is ignored.
    fn read(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// A private copy of the last committed state to plan on.
    fn draft(&self) -> State {
        State::clone(&self.read())
    }

    /// Serves `state` from now on. Only under the writer lock, with a copy of the state
    /// served when the lock was taken, so nothing committed meanwhile is lost.
    fn publish(&self, state: State) {
        let revision = state.revision();
        let state = Arc::new(state);
        let old = std::mem::replace(&mut *self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner()), state);
        self.revision.store(revision, Ordering::Release);
        // Freed outside the lock (what only it held: the runs the new state replaced).
        drop(old);
    }

    /// Takes this process's turn to write (where processes share the database) and catches
    /// up with what the others committed before it: planned on the latest books, the group
    /// does not lose the race. Without a turn (the database is slow) the group is planned
    /// anyway. Runs under the writer lock.
    async fn take_turn(&self) {
        let since = self.read().revision();
        match self.store.take_turn(since, CATCH_UP_PAGE).await {
            Ok(None) => {}
            Ok(Some(entries)) => {
                let whole = entries.len() < CATCH_UP_PAGE as usize;
                if !(whole && self.apply_entries(&entries).is_ok())
                    && let Err(error) = self.catch_up_locked().await
                {
                    tracing::debug!(%error, "cannot catch up before committing");
                }
            }
            Err(error) => tracing::debug!(%error, "writing without a turn"),
        }
    }

    /// Commits a group of writes and answers each; a group the store refuses is tried one
    /// write at a time, so one bad write cannot fail the others. Runs under the writer lock.
    async fn settle(&self, jobs: &[Job]) -> Vec<ApiResult<Outcome>> {
        match self.commit_group(jobs).await {
            Ok(outcomes) => outcomes,
            Err(GroupFailed::Refused(_)) if jobs.len() > 1 => {
                let mut outcomes = Vec::with_capacity(jobs.len());
                for job in jobs {
                    outcomes.push(match self.commit_group(std::slice::from_ref(job)).await {
                        Ok(mut alone) => alone.remove(0),
                        Err(failed) => Err(self.failed(failed).await),
                    });
                }
                outcomes
            }
            Err(GroupFailed::Store(error)) => jobs.iter().map(|_| Err(error.clone().into())).collect(),
            // A lone write the store refused.
            Err(refused @ GroupFailed::Refused(_)) => vec![Err(self.failed(refused).await)],
        }
    }

    /// A lone write the store refused. Refused by a constraint or a race no other process
    /// explains, memory and the database disagree: serve the database's books from now on.
    async fn failed(&self, failed: GroupFailed) -> ApiError {
        match failed {
            GroupFailed::Refused(error @ (StoreError::Raced(_) | StoreError::Refused(_))) => {
                tracing::error!(%error, "a commit conflicted with no other process involved; reloading the books");
                match self.store.load().await {
                    Ok(state) => self.publish(state),
                    Err(error) => return error.into(),
                }
                error.into()
            }
            GroupFailed::Refused(error) | GroupFailed::Store(error) => error.into(),
        }
    }

    /// Plans the group one write after another (each sees the ones before it), commits the
    /// changes in one transaction, then applies them to memory. When another process
    /// committed first, catches up and plans the group again. Runs under the writer lock.
    async fn commit_group(&self, jobs: &[Job]) -> Result<Vec<ApiResult<Outcome>>, GroupFailed> {
        let give_up = Instant::now() + RETRY_FOR;
        loop {
            // A panic while planning (a bug) loses only the private copy: nothing of the
            // group is served, and the group is tried one write at a time, as a refused one.
            let planning = std::panic::AssertUnwindSafe(|| self.plan_group(jobs));
            let Ok((outcomes, commits, planned)) = std::panic::catch_unwind(planning) else {
                tracing::error!("planning a group of writes panicked; nothing of it applies");
                return Err(GroupFailed::Refused(StoreError::Failed("planning the change panicked".into())));
            };
            if commits.is_empty() {
                return Ok(outcomes);
            }
            let base = commits[0].revision - 1;
            let error = match self.store.commit_all(&commits).await {
                Ok(()) => {
                    // Committed: the copy the group was planned and applied on is the books.
                    self.publish(planned);
                    return Ok(outcomes);
                }
                Err(error) => error,
            };
            match error {
                // Lost the race, perhaps: follow and plan again, below.
                StoreError::Raced(_) => {}
                // One write's fault (a constraint, a statement the database cannot run).
                StoreError::Refused(_) | StoreError::Failed(_) => return Err(GroupFailed::Refused(error)),
                StoreError::Unavailable { .. } | StoreError::Corrupt(_) => return Err(GroupFailed::Store(error)),
            }
            // Moved on elsewhere? Then follow and plan again.
            match self.catch_up_locked().await {
                Ok(reached) if reached == base => return Err(GroupFailed::Refused(error)),
                Ok(_) if Instant::now() < give_up => {}
                Ok(_) => return Err(GroupFailed::Store(error)),
                // Cannot even read the ledger: that, not the conflict, is the answer.
                Err(unreachable) => return Err(GroupFailed::Store(unreachable)),
            }
        }
    }

    /// Plans each job on a copy of the books as the jobs before it leave it, and answers
    /// each job's outcome, the commits of those that change something, and the copy with
    /// them applied, to be served once they are committed. The books served do not move.
    fn plan_group(&self, jobs: &[Job]) -> (Vec<ApiResult<Outcome>>, Vec<Commit>, State) {
        let mut state = self.draft();
        let (mut outcomes, mut commits) = (Vec::with_capacity(jobs.len()), Vec::new());
        for job in jobs {
            let plan = allot_core::plan(&mut state, &job.commands, job.now);
            if let Err(refused) = (job.precondition)(&state, &plan) {
                outcomes.push(Err(refused));
                continue;
            }
            if !plan.is_possible() || plan.changes.is_empty() {
                outcomes.push(Ok(Outcome { revision: plan.base_revision, applied: false, plan }));
                continue;
            }
            let revision = state.revision() + 1;
            if let Err(error) = state.apply_all(revision, &plan.changes) {
                // The planner's own changes do not apply: a bug, answered as such.
                tracing::error!(%error, "a plan does not apply to the state it was made on");
                outcomes.push(Err(ApiError::internal(format!("the plan does not apply: {error}"))));
                continue;
            }
            let entries = LedgerEntry::for_plan(revision, job.now, &job.actor, &plan.changes);
            commits.push(Commit {
                revision,
                at: job.now,
                entries,
                idempotency: job.idempotency.clone(),
                side: job.side.clone(),
            });
            outcomes.push(Ok(Outcome { applied: true, revision, plan }));
        }
        (outcomes, commits, state)
    }

    /// Applies what other processes committed since this one's revision; answers the
    /// revision reached. Runs under the writer lock.
    async fn catch_up_locked(&self) -> Result<u64, StoreError> {
        loop {
            let from = self.read().revision() + 1;
            let query = LedgerQuery { from_revision: Some(from), limit: CATCH_UP_PAGE, ..LedgerQuery::default() };
            let mut entries = self.store.ledger(query).await?;
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
                    entries = self.store.ledger(whole).await?;
                }
            }
            if entries.is_empty() && !full_page {
                return Ok(self.read().revision());
            }
            let applied = self.apply_entries(&entries);
            if let Err(error) = applied {
                tracing::error!(%error, "the ledger does not apply to memory; reloading the books");
                self.publish(self.store.load().await?);
                return Ok(self.read().revision());
            }
            if !full_page {
                return Ok(self.read().revision());
            }
        }
    }

    /// Applies other processes' entries to a copy and serves it; on an inconsistency,
    /// serves nothing of them. Runs under the writer lock.
    fn apply_entries(&self, entries: &[LedgerEntry]) -> Result<(), allot_core::state::Inconsistent> {
        let mut state = self.draft();
        for revision in entries.chunk_by(|a, b| a.revision == b.revision) {
            let number = revision[0].revision;
            if number != state.revision() + 1 {
                return Err(allot_core::state::Inconsistent(format!("revision {number} follows {}", state.revision())));
            }
            let changes: Vec<Change> = revision.iter().map(|e| e.change.clone()).collect();
            state.apply_all(number, &changes)?;
        }
        self.publish(state);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
