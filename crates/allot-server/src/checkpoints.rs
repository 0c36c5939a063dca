//! The past of one organization, read from its last checkpoint and the ledger after it,
//! and the checkpoints written: off the commit path, by a background task, from the
//! ledger alone (a checkpoint is derived data; `allot check-ledger` verifies each).

use allot_core::ledger::{org_snapshot, replay_org};
use allot_core::{Catalogue, Change, OrgKey, State, Timestamp};
use allot_store::{Checkpoint, Store, StoreError, StoreResult};

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
    let base = checkpoint.as_ref().map_or(0, |c| c.revision);
    let (host, own) = store.org_ledger(org, base, upto).await?;
    let start = checkpoint.as_ref().map(|c| (c.revision, c.changes.as_slice()));
    let each = |revision: u64, at: Timestamp, state: &State, changes: &[Change]| {
        if revision > from {
            each(revision, at, state, changes);
        }
    };
    let mut books = replay_org(Catalogue::default_products(), &host, start, &own, each).map_err(not_replayable)?;
    books.set_revision(upto);
    Ok(books)
}

/// Writes the checkpoints `org` lacks: one after the revision at which each further
/// `every` ([`EVERY`] when served) of its entries end. Answers how many it wrote.
pub async fn write<S: Store>(store: &S, org: &OrgKey, every: u64) -> StoreResult<u32> {
    let last = store.checkpoint(org, u64::MAX >> 1).await?;
    let (base, mut entries) = last.as_ref().map_or((0, 0), |c| (c.revision, c.entries));
    let upto = store.revision().await?;
    let (host, own) = store.org_ledger(org, base, upto).await?;
    if (own.len() as u64) < every {
        return Ok(0);
    }
    let start = last.as_ref().map(|c| (c.revision, c.changes.as_slice()));
    let mut due = Vec::new();
    let mut next = entries + every;
    let each = |revision: u64, at: Timestamp, state: &State, changes: &[Change]| {
        entries += changes.iter().filter(|c| c.org().is_some_and(|o| o.key() == *org)).count() as u64;
        if entries >= next {
            next = entries + every;
            due.push(Checkpoint {
                org: org.clone(),
                revision,
                at,
                entries,
                changes: org_snapshot(state, org.as_str()),
            });
        }
    };
    replay_org(Catalogue::default_products(), &host, start, &own, each).map_err(not_replayable)?;
    for checkpoint in &due {
        store.save_checkpoint(checkpoint).await?;
    }
    Ok(due.len() as u32)
}

#[cfg(test)]
mod tests {
    use allot_core::ledger::{org_snapshot, replay as full_replay};
    use allot_core::{Actor, Command, DirectLicense, Grant, LedgerEntry, LicenseKey, OrgId, Scope, State, UserId};
    use allot_store::{Commit, LedgerQuery, SqliteStore, Store};
    use proptest::prelude::*;

    /// One step of a random workload, on organization `org` (of three) and user `user`.
    #[derive(Debug, Clone)]
    enum Step {
        CreateUser { org: usize, user: u8 },
        Hold { org: usize, user: u8, licenses: u8 },
        Pool { org: usize, quantity: i64 },
        HostPool { quantity: i64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize, 0..12u8).prop_map(|(org, user)| Step::CreateUser { org, user }),
            (0..3usize, 0..12u8, 0..4u8).prop_map(|(org, user, licenses)| Step::Hold { org, user, licenses }),
            (0..3usize, 12..40i64).prop_map(|(org, quantity)| Step::Pool { org, quantity }),
            (120..200i64).prop_map(|quantity| Step::HostPool { quantity }),
        ]
    }

    fn org(i: usize) -> OrgId {
        OrgId::parse(["acme", "beta", "gamma"][i]).unwrap()
    }

    fn license(code: &str) -> LicenseKey {
        LicenseKey::parse(code).unwrap()
    }

    fn command(step: &Step) -> Command {
        let user = |u: &u8| UserId::parse(&format!("u{u}")).unwrap();
        match step {
            Step::CreateUser { org: o, user: u } => {
                Command::CreateUser { org: org(*o), user: user(u), profile: Default::default() }
            }
            Step::Hold { org: o, user: u, licenses } => {
                let held = ["ATTUNU", "ACNU"].iter().enumerate().filter(|(i, _)| licenses & (1 << i) != 0);
                let licenses = held.map(|(_, code)| DirectLicense::of(license(code), false)).collect();
                Command::SetDirectLicenses { org: org(*o), user: user(u), licenses }
            }
            Step::Pool { org: o, quantity } => {
                Command::SetOrgPool { org: org(*o), license: license("ATTUNU"), grant: Grant::quantity(*quantity) }
            }
            Step::HostPool { quantity } => {
                Command::SetHostPool { license: license("ATTUNU"), grant: Grant::quantity(*quantity) }
            }
        }
    }

    /// Commits what the planner allows of `steps`, a revision each, 10 ms apart.
    async fn run(store: &SqliteStore, state: &mut State, steps: &[Step]) {
        for step in steps {
            let at = 1_000 + 10 * state.revision() as i64;
            let plan = allot_core::plan(state, &[command(step)], at);
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The past of each organization at random moments of a random workload is the
        /// whole ledger's replay at that moment: read without checkpoints, with checkpoints
        /// written part of the way (for some organizations, up to the middle), and with
        /// checkpoints written for all.
        #[test]
        fn as_of_answers_equal_the_full_replay_with_checkpoints_present_absent_and_partly_written(
            first in proptest::collection::vec(step(), 10..60),
            second in proptest::collection::vec(step(), 10..60),
            moments in proptest::collection::vec(0..2_000i64, 6),
            every in 1..6u64,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(&dir.path().join("allot.db")).unwrap();
                let mut state = State::default();
                let setup: Vec<Step> = (0..3).map(|org| Step::CreateUser { org, user: 0 }).collect();
                let orgs: Vec<Command> = (0..3).map(|o| Command::CreateOrg { org: org(o), name: format!("O{o}") }).collect();
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
                for o in 0..3 {
                    super::write(&store, &org(o).key(), every).await.unwrap();
                }
                let check = store.check_ledger().await.unwrap();
                assert_eq!(check.differences, Vec::<String>::new());
                assert!(check.checkpoints >= partly);
                for revision in &revisions {
                    assert_eq!(answered(&store, *revision, true).await, expected(&ledger, *revision), "with every checkpoint");
                }
            });
        }
    }
}
