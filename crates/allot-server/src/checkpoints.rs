//! The past of one organization, read from its last checkpoint and the ledger after it,
//! and the checkpoints written: off the commit path, by a background task, from the
//! ledger alone (a checkpoint is derived data; `allot check-ledger` verifies each).

use allot_core::LedgerEntry;
use allot_core::ledger::{OrgReplay, fold_pool, org_snapshot};
use allot_core::{Catalogue, Change, LicenseKey, OrgKey, Pool, Scope, State, Timestamp};
use allot_store::{Checkpoint, LedgerQuery, Store, StoreError, StoreResult};

/// An organization's ledger entries between two checkpoints: a read of the past replays at
/// most this many of its own entries after the checkpoint it starts from.
pub const EVERY: u64 = 1000;

fn not_replayable(error: allot_core::state::Inconsistent) -> StoreError {
    StoreError::Corrupt(format!("the ledger does not replay: {error}"))
}

/// Organization `org`'s books after revision `upto`, from its last checkpoint at or before
/// it (when `checkpoints`) and the entries after; `each` sees every revision after
/// `from` (and its checkpoint) up to `upto`. Other organizations are absent.
pub async fn replay<S: Store>(
    store: &S,
    org: &OrgKey,
    from: u64,
    upto: u64,
    checkpoints: bool,
    mut each: impl FnMut(u64, Timestamp, &State, &[Change]),
) -> StoreResult<State> {
    let checkpoint = match checkpoints {
        true => store.checkpoint(org, from.min(upto)).await?,
        false => None,
    };
    let mut each = |revision: u64, at: Timestamp, state: &State, changes: &[Change]| {
        if revision > from {
            each(revision, at, state, changes);
        }
    };
    let (mut replay, mut pages) = replay_from(store, org, checkpoint.as_ref(), upto).await?;
    loop {
        let page = pages.next(store).await?;
        if page.is_empty() {
            break;
        }
        replay.push(&page, &mut each).map_err(not_replayable)?;
        tokio::task::yield_now().await;
    }
    let mut books = replay.finish(&mut each).map_err(not_replayable)?;
    books.set_revision(upto);
    Ok(books)
}

/// An organization's entries after a revision up to another, read `page` at a time.
struct Pages {
    query: LedgerQuery,
    done: bool,
}

impl Pages {
    fn new(org: &OrgKey, after: u64, upto: u64, page: u32) -> Self {
        let query = LedgerQuery {
            org: Some(org.clone()),
            from_revision: Some(after + 1),
            to_revision: Some(upto),
            limit: page,
            ..LedgerQuery::default()
        };
        Self { query, done: after >= upto }
    }

    /// The next page; empty at the end.
    async fn next<S: Store>(&mut self, store: &S) -> StoreResult<Vec<LedgerEntry>> {
        if self.done {
            return Ok(Vec::new());
        }
        let read = store.ledger(self.query.clone()).await?;
        match read.last().filter(|_| read.len() == self.query.limit as usize) {
            Some(last) => {
                (self.query.from_revision, self.query.after) = (Some(last.revision), Some((last.revision, last.seq)))
            }
            None => self.done = true,
        }
        Ok(read)
    }
}

/// `org` replayed from `checkpoint` (or the start) up to revision `upto`, ready for its
/// entries a page at a time ([`Pages`]): the replay holds the organization's books and
/// one page, however long the ledger after the checkpoint (all of it, before the first
/// is written). The host's entries are read whole: the catalogue and host pools are few.
async fn replay_from<S: Store>(
    store: &S,
    org: &OrgKey,
    checkpoint: Option<&Checkpoint>,
    upto: u64,
) -> StoreResult<(OrgReplay, Pages)> {
    // The ledger up to `upto` never changes: reading it in several snapshots is reading one.
    let (host, _) = store.org_ledger(org, upto, upto).await?;
    let start = checkpoint.map(|c| (c.revision, c.changes.as_slice()));
    let replay = OrgReplay::new(Catalogue::default_products(), host, start).map_err(not_replayable)?;
    Ok((replay, Pages::new(org, checkpoint.map_or(0, |c| c.revision), upto, PAGE)))
}

/// Entries of an organization's ledger read at once by [`pool_histories`].
pub const PAGE: u32 = 1000;

/// A pool's history: as it stood at the start, then after every revision that named its
/// license (as `(revision, at, pool)`, oldest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolHistory {
    pub start: Pool,
    pub points: Vec<(u64, Timestamp, Pool)>,
}

/// Each of `pools` (of organization `org`) after revision `from`, and after every revision
/// after it up to `upto` that named its license. The counts at `from` come from a replay
/// of the organization from its checkpoint before it; the entries after are folded into
/// them ([`fold_pool`]), [`PAGE`] entries at a time, so a read holds one page of the
/// ledger however long the range.
pub async fn pool_histories<S: Store>(
    store: &S,
    org: &OrgKey,
    pools: &[(Scope, LicenseKey)],
    from: u64,
    upto: u64,
) -> StoreResult<Vec<PoolHistory>> {
    folded(store, org, pools, from, upto, PAGE).await
}

/// [`pool_histories`], reading `page` entries at a time.
async fn folded<S: Store>(
    store: &S,
    org: &OrgKey,
    pools: &[(Scope, LicenseKey)],
    from: u64,
    upto: u64,
    page: u32,
) -> StoreResult<Vec<PoolHistory>> {
    let books = replay(store, org, from, from, true, |_, _, _, _| {}).await?;
    let mut histories: Vec<PoolHistory> = pools
        .iter()
        .map(|(scope, license)| PoolHistory { start: books.pool(scope, license), points: Vec::new() })
        .collect();
    drop(books);
    let mut current: Vec<Pool> = histories.iter().map(|h| h.start).collect();
    let mut named = vec![false; pools.len()];
    let mut record = |revision: u64, at: Timestamp, current: &[Pool], named: &mut [bool]| {
        for ((history, pool), named) in histories.iter_mut().zip(current).zip(named.iter_mut()) {
            if std::mem::take(named) {
                history.points.push((revision, at, *pool));
            }
        }
    };
    let mut query = LedgerQuery {
        org: Some(org.clone()),
        from_revision: Some(from + 1),
        to_revision: Some(upto),
        limit: page,
        ..LedgerQuery::default()
    };
    let mut open: Option<(u64, Timestamp)> = None;
    while query.from_revision.is_some_and(|r| r <= upto) {
        let read = store.ledger_changes(query.clone()).await?;
        for entry in &read {
            if let Some((revision, at)) = open.filter(|(r, _)| *r != entry.revision) {
                record(revision, at, &current, &mut named);
            }
            open = Some((entry.revision, entry.at));
            for (((scope, license), pool), named) in pools.iter().zip(current.iter_mut()).zip(named.iter_mut()) {
                *named |= fold_pool(pool, scope, license, &entry.change);
            }
        }
        match read.last().filter(|_| read.len() == page as usize) {
            Some(last) => (query.from_revision, query.after) = (Some(last.revision), Some((last.revision, last.seq))),
            None => break,
        }
    }
    if let Some((revision, at)) = open {
        record(revision, at, &current, &mut named);
    }
    Ok(histories)
}

/// The largest organization checkpoints are written for, in users. A checkpoint is one row
/// holding the organization's whole snapshot: at 1,000,000 users that is about 6,000,000
/// changes, gigabytes while it is made, and a row past SQLite's limit. Such an
/// organization's past is replayed from its first entry, a page at a time: memory as its
/// size, time as its ledger (docs/BENCHMARKS.md).
pub const MAX_USERS: usize = 100_000;

/// Entries of `org` between a checkpoint of `snapshot` changes and the next: `every`, or
/// the snapshot's size when larger, so a large organization's checkpoints cost in all no
/// more than its ledger (a snapshot of 100,000 users every 1,000 entries would cost a
/// hundred times it), and a read of its past replays no more than its size after one.
fn interval(every: u64, snapshot: usize) -> u64 {
    every.max(snapshot as u64)
}

/// Writes the checkpoints `org` lacks: after the revision at which each further
/// [`interval`] of its entries ends (`every` is [`EVERY`] when served), replaying its
/// ledger after the last one a page at a time, and saving each page's as it goes (a
/// large organization's snapshots are not held together). Answers how many it wrote.
pub async fn write<S: Store>(store: &S, org: &OrgKey, every: u64) -> StoreResult<u32> {
    let last = store.checkpoint(org, u64::MAX >> 1).await?;
    let (base, entries) = last.as_ref().map_or((0, 0), |c| (c.revision, c.entries));
    let first = interval(every, last.as_ref().map_or(0, |c| c.changes.len()));
    if store.org_entries_after(org, base, first).await? < first {
        return Ok(0);
    }
    let upto = store.revision().await?;
    let (mut replay, mut pages) = replay_from(store, org, last.as_ref(), upto).await?;
    drop(last);
    let (mut entries, mut next, mut written) = (entries, entries + first, 0);
    let due = std::sync::Mutex::new(Vec::new());
    let mut each = |revision: u64, at: Timestamp, state: &State, changes: &[Change]| {
        entries += changes.iter().filter(|c| c.org().is_some_and(|o| o.key() == *org)).count() as u64;
        if entries >= next {
            let changes = org_snapshot(state, org.as_str());
            next = entries + interval(every, changes.len());
            due.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Checkpoint {
                org: org.clone(),
                revision,
                at,
                entries,
                changes,
            });
        }
    };
    loop {
        let page = pages.next(store).await?;
        if page.is_empty() {
            break;
        }
        replay.push(&page, &mut each).map_err(not_replayable)?;
        written += save(store, taken(&due)).await?;
        tokio::task::yield_now().await;
    }
    replay.finish(&mut each).map_err(not_replayable)?;
    Ok(written + save(store, taken(&due)).await?)
}

/// What `due` holds, leaving it empty (the replay fills it; the page's end saves it).
fn taken(due: &std::sync::Mutex<Vec<Checkpoint>>) -> Vec<Checkpoint> {
    std::mem::take(&mut *due.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

async fn save<S: Store>(store: &S, checkpoints: Vec<Checkpoint>) -> StoreResult<u32> {
    for checkpoint in &checkpoints {
        store.save_checkpoint(checkpoint).await?;
    }
    Ok(checkpoints.len() as u32)
}

#[cfg(test)]
mod tests {
    use allot_core::ledger::{org_snapshot, replay as full_replay};
    use allot_core::{
        Actor, Change, Command, DirectLicense, Grant, LedgerEntry, LicenseKey, OrgId, Scope, ServiceType, State,
        TenantId, UserId,
    };

    use super::PoolHistory;
    use allot_store::{Commit, LedgerQuery, SqliteStore, Store};
    use proptest::prelude::*;

    /// One step of a random workload, on organization `org` (of three) and user `user`.
    #[derive(Debug, Clone)]
    enum Step {
        CreateUser {
            org: usize,
            user: u8,
        },
        /// Direct licenses, by the bits of `licenses`: ATTUNU, ACNU, and Analytics Creator
        /// or Viewer (a change of capability between the two); `external` ones draw no unit.
        Hold {
            org: usize,
            user: u8,
            licenses: u8,
            external: bool,
        },
        Pool {
            org: usize,
            license: usize,
            quantity: i64,
        },
        TenantPool {
            org: usize,
            quantity: i64,
        },
        HostPool {
            quantity: i64,
        },
    }

    /// The licenses whose pools the workload moves, the tenant's UNATT among them.
    const LICENSES: [&str; 4] = ["ATTUNU", "UNATT", "analytics:creator", "analytics:viewer"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize, 0..12u8).prop_map(|(org, user)| Step::CreateUser { org, user }),
            (0..3usize, 0..12u8, 0..16u8, proptest::bool::weighted(0.2))
                .prop_map(|(org, user, licenses, external)| Step::Hold { org, user, licenses, external }),
            (0..3usize, 0..4usize, 12..40i64).prop_map(|(org, license, quantity)| Step::Pool {
                org,
                license,
                quantity
            }),
            (0..3usize, 0..20i64).prop_map(|(org, quantity)| Step::TenantPool { org, quantity }),
            (120..200i64).prop_map(|quantity| Step::HostPool { quantity }),
        ]
    }

    fn org(i: usize) -> OrgId {
        OrgId::parse(["acme", "beta", "gamma"][i]).unwrap()
    }

    fn license(code: &str) -> LicenseKey {
        LicenseKey::parse(code).unwrap()
    }

    fn tenant() -> TenantId {
        TenantId::parse("t").unwrap()
    }

    fn service() -> ServiceType {
        ServiceType::parse("orchestrator").unwrap()
    }

    fn commands(step: &Step) -> Vec<Command> {
        let user = |u: &u8| UserId::parse(&format!("u{u}")).unwrap();
        let command = match step {
            Step::CreateUser { org: o, user: u } => {
                Command::CreateUser { org: org(*o), user: user(u), profile: Default::default() }
            }
            Step::Hold { org: o, user: u, licenses, external } => {
                let analytics = match licenses >> 2 {
                    1 => Some("analytics:creator"),
                    2 => Some("analytics:viewer"),
                    _ => None,
                };
                let named = ["ATTUNU", "ACNU"].iter().enumerate().filter(|(i, _)| licenses & (1 << i) != 0);
                let codes = named.map(|(_, code)| *code).chain(analytics);
                let licenses = codes.map(|code| DirectLicense::of(license(code), *external)).collect();
                Command::SetDirectLicenses { org: org(*o), user: user(u), licenses }
            }
            Step::Pool { org: o, license: l, quantity } => {
                Command::SetOrgPool { org: org(*o), license: license(LICENSES[*l]), grant: Grant::quantity(*quantity) }
            }
            Step::TenantPool { org: o, quantity } => Command::SetTenantPool {
                org: org(*o),
                tenant: tenant(),
                service: service(),
                license: license("UNATT"),
                grant: Grant::quantity(*quantity),
            },
            Step::HostPool { quantity } => {
                let grant = Grant::quantity(*quantity);
                return LICENSES.iter().map(|code| Command::SetHostPool { license: license(code), grant }).collect();
            }
        };
        vec![command]
    }

    /// Commits what the planner allows of `steps`, a revision each, 10 ms apart.
    async fn run(store: &SqliteStore, state: &mut State, steps: &[Step]) {
        for step in steps {
            let at = 1_000 + 10 * state.revision() as i64;
            let plan = allot_core::plan(state, &commands(step), at);
            if !plan.is_possible() || plan.changes.is_empty() {
                continue;
            }
            let revision = state.revision() + 1;
            let actor = Actor { name: "test".into(), request_id: format!("r{revision}") };
            let entries = LedgerEntry::for_plan(revision, at, &actor, &plan.changes);
            store.commit(Commit { revision, at, entries, idempotency: None, side: vec![] }).await.unwrap();
            state.apply_all(revision, &plan.changes).unwrap();
        }
    }

    /// Each organization at `revision` as the whole ledger's replay holds it.
    fn expected(ledger: &[LedgerEntry], revision: u64) -> Vec<Vec<allot_core::Change>> {
        let upto = ledger.iter().filter(|e| e.revision <= revision);
        let books = full_replay(allot_core::Catalogue::default_products(), upto).unwrap();
        (0..3).map(|o| org_snapshot(&books, org(o).as_str())).collect()
    }

    async fn answered(store: &SqliteStore, revision: u64, checkpoints: bool) -> Vec<Vec<allot_core::Change>> {
        let mut orgs = Vec::new();
        for o in 0..3 {
            let key = org(o).key();
            let books = super::replay(store, &key, revision, revision, checkpoints, |_, _, _, _| {}).await.unwrap();
            assert_eq!(books.revision(), revision);
            let pool = books.pool(&Scope::Org { org: org(o) }, &license("ATTUNU"));
            assert!(pool.allocated <= pool.grant.quantity, "{pool:?}");
            orgs.push(org_snapshot(&books, key.as_str()));
        }
        orgs
    }

    /// Whether a history of `license`'s pools records a point after `change`: a grant of it
    /// in an organization, or a holding of it taken or released.
    fn names(change: &Change, license: &LicenseKey) -> bool {
        match change {
            Change::PoolSet { scope, license: l, .. } => scope.org().is_some() && l == license,
            Change::HoldingSet { product, before, after, .. } => {
                [before, after].into_iter().flatten().any(|h| h.license(product) == *license)
            }
            _ => false,
        }
    }

    /// Every pool of organization `o` the workload moves.
    fn pools(o: usize) -> Vec<(Scope, LicenseKey)> {
        let own = LICENSES.iter().map(|code| (Scope::Org { org: org(o) }, license(code)));
        let tenant = Scope::Tenant { org: org(o), tenant: tenant(), service: service() };
        own.chain([(tenant, license("UNATT"))]).collect()
    }

    /// The histories of organization `o`'s pools between revisions `from` and `upto`, as
    /// the books replayed in full hold them after each revision.
    async fn replayed(store: &SqliteStore, o: usize, from: u64, upto: u64) -> Vec<PoolHistory> {
        let (key, pools) = (org(o).key(), pools(o));
        let start = super::replay(store, &key, from, from, false, |_, _, _, _| {}).await.unwrap();
        let start =
            |(scope, license): &(Scope, LicenseKey)| PoolHistory { start: start.pool(scope, license), points: vec![] };
        let mut histories: Vec<PoolHistory> = pools.iter().map(start).collect();
        let each = |revision: u64, at: i64, books: &State, changes: &[Change]| {
            for ((scope, license), history) in pools.iter().zip(histories.iter_mut()) {
                if changes.iter().any(|c| names(c, license)) {
                    history.points.push((revision, at, books.pool(scope, license)));
                }
            }
        };
        super::replay(store, &key, from, upto, false, each).await.unwrap();
        histories
    }

    /// Folded histories, read `page` entries at a time, equal the replayed ones between
    /// each two of `revisions`.
    async fn histories_equal_the_replay(store: &SqliteStore, revisions: &[u64], page: u32) {
        for pair in revisions.windows(2) {
            let (from, upto) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            for o in 0..3 {
                let folded = super::folded(store, &org(o).key(), &pools(o), from, upto, page).await.unwrap();
                assert_eq!(folded, replayed(store, o, from, upto).await, "organization {o}, {from}..={upto}");
            }
        }
    }

    /// A growing organization's checkpoints cost in all no more than twice its ledger: the
    /// interval grows with the snapshot, where one every 10 entries would cost 15 times.
    #[tokio::test]
    async fn checkpoints_of_a_growing_organization_cost_no_more_than_its_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("allot.db")).unwrap();
        let mut state = State::default();
        let plan = allot_core::plan(&mut state, &[Command::CreateOrg { org: org(0), name: "O".into() }], 0);
        let entries =
            LedgerEntry::for_plan(1, 1_000, &Actor { name: "t".into(), request_id: "r".into() }, &plan.changes);
        store.commit(Commit { revision: 1, at: 1_000, entries, idempotency: None, side: vec![] }).await.unwrap();
        state.apply_all(1, &plan.changes).unwrap();
        let users: Vec<Step> = (0..250).map(|user| Step::CreateUser { org: 0, user }).collect();
        run(&store, &mut state, &users).await;
        let users = u64::try_from(state.org("acme").unwrap().users.len()).unwrap();
        assert_eq!(users, 250);
        super::write(&store, &org(0).key(), 10).await.unwrap();
        let (mut sizes, mut upto) = (Vec::new(), state.revision());
        while let Some(checkpoint) = store.checkpoint(&org(0).key(), upto).await.unwrap() {
            sizes.push(checkpoint.changes.len() as u64);
            upto = checkpoint.revision - 1;
        }
        sizes.reverse();
        assert_eq!(sizes, [10, 20, 40, 80, 160], "each checkpoint after as many entries as the one before holds");
        assert!(sizes.iter().sum::<u64>() <= 2 * (users + 1));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The past of each organization at random moments of a random workload is the
        /// whole ledger's replay at that moment: read without checkpoints, with checkpoints
        /// written part of the way (for some organizations, up to the middle), and with
        /// checkpoints written for all. Each pool's history between two of the moments,
        /// folded from the counts at the first, is the replay's too.
        #[test]
        fn as_of_answers_equal_the_full_replay_with_checkpoints_present_absent_and_partly_written(
            first in proptest::collection::vec(step(), 10..60),
            second in proptest::collection::vec(step(), 10..60),
            moments in proptest::collection::vec(0..2_000i64, 6),
            every in 1..6u64,
            page in 1..8u32,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(&dir.path().join("allot.db")).unwrap();
                let mut state = State::default();
                let setup: Vec<Step> = (0..3).map(|org| Step::CreateUser { org, user: 0 }).collect();
                let orgs = (0..3).map(|o| Command::CreateOrg { org: org(o), name: format!("O{o}") });
                let tenants = (0..3).map(|o| Command::CreateTenant { org: org(o), tenant: tenant(), name: format!("T{o}") });
                let orgs: Vec<Command> = orgs.chain(tenants).collect();
                let plan = allot_core::plan(&mut state, &orgs, 0);
                let entries = LedgerEntry::for_plan(1, 1_000, &Actor { name: "t".into(), request_id: "r".into() }, &plan.changes);
                store.commit(Commit { revision: 1, at: 1_000, entries, idempotency: None, side: vec![] }).await.unwrap();
                state.apply_all(1, &plan.changes).unwrap();
                run(&store, &mut state, &[Step::HostPool { quantity: 150 }]).await;
                run(&store, &mut state, &setup).await;
                run(&store, &mut state, &first).await;
                // Partly written: only the first two organizations, and only up to here.
                for o in 0..2 {
                    super::write(&store, &org(o).key(), every).await.unwrap();
                }
                let partly = store.check_ledger().await.unwrap().checkpoints;
                run(&store, &mut state, &second).await;
                let ledger = store.ledger(LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() }).await.unwrap();
                let mut revisions: Vec<u64> = Vec::new();
                for at in &moments {
                    revisions.push(store.revision_at(*at).await.unwrap());
                }
                for (at, revision) in moments.iter().zip(&revisions) {
                    let last = ledger.iter().filter(|e| e.at <= *at).map(|e| e.revision).max().unwrap_or(0);
                    assert_eq!(*revision, last, "the last revision at or before {at}");
                }
                for revision in &revisions {
                    let expected = expected(&ledger, *revision);
                    assert_eq!(answered(&store, *revision, false).await, expected, "without checkpoints");
                    assert_eq!(answered(&store, *revision, true).await, expected, "with {partly} checkpoints written part of the way");
                }
                histories_equal_the_replay(&store, &revisions, page).await;
                for o in 0..3 {
                    super::write(&store, &org(o).key(), every).await.unwrap();
                }
                let check = store.check_ledger().await.unwrap();
                assert_eq!(check.differences, Vec::<String>::new());
                assert!(check.checkpoints >= partly);
                for revision in &revisions {
                    assert_eq!(answered(&store, *revision, true).await, expected(&ledger, *revision), "with every checkpoint");
                }
                histories_equal_the_replay(&store, &revisions, page).await;
            });
        }
    }
}
