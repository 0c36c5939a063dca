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
/// [`EVERY`] of its entries end. Answers how many it wrote.
pub async fn write<S: Store>(store: &S, org: &OrgKey) -> StoreResult<u32> {
    let last = store.checkpoint(org, u64::MAX >> 1).await?;
    let (base, mut entries) = last.as_ref().map_or((0, 0), |c| (c.revision, c.entries));
    let upto = store.revision().await?;
    let (host, own) = store.org_ledger(org, base, upto).await?;
    if (own.len() as u64) < EVERY {
        return Ok(0);
    }
    let start = last.as_ref().map(|c| (c.revision, c.changes.as_slice()));
    let mut due = Vec::new();
    let mut next = entries + EVERY;
    let each = |revision: u64, at: Timestamp, state: &State, changes: &[Change]| {
        entries += changes.iter().filter(|c| c.org().is_some_and(|o| o.key() == *org)).count() as u64;
        if entries >= next {
            next = entries + EVERY;
            due.push(Checkpoint { org: org.clone(), revision, at, entries, changes: org_snapshot(state, org.as_str()) });
        }
    };
    replay_org(Catalogue::default_products(), &host, start, &own, each).map_err(not_replayable)?;
    for checkpoint in &due {
        store.save_checkpoint(checkpoint).await?;
    }
    Ok(due.len() as u32)
}
