//! The ledger: every applied change, in order, never edited. The state is its replay.

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::change::Change;
use crate::ids::Timestamp;
use crate::state::{Inconsistent, State};

/// Who made a change and on whose request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `host:admin`, `org:song-one/alice`, `client:<id>`, or `system`.
    pub name: String,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub revision: u64,
    /// Position within the revision.
    pub seq: u32,
    pub at: Timestamp,
    pub actor: String,
    pub request_id: String,
    pub change: Change,
}

impl LedgerEntry {
    /// The entries one applied plan writes.
    pub fn for_plan(revision: u64, at: Timestamp, actor: &Actor, changes: &[Change]) -> Vec<LedgerEntry> {
        changes
            .iter()
            .enumerate()
            .map(|(seq, change)| LedgerEntry {
                revision,
                seq: u32::try_from(seq).unwrap_or(u32::MAX),
                at,
                actor: actor.name.clone(),
                request_id: actor.request_id.clone(),
                change: change.clone(),
            })
            .collect()
    }
}

/// Rebuilds the state from the ledger, starting from `catalogue` (the built-in products;
/// products the host added are in the ledger). Entries must come in order.
pub fn replay<'a>(
    catalogue: Catalogue,
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
) -> Result<State, Inconsistent> {
    let mut state = State::new(catalogue);
    let mut batch: Vec<Change> = Vec::new();
    let mut revision = 0;
    for entry in entries {
        if entry.revision != revision && !batch.is_empty() {
            state.apply_all(revision, &batch)?;
            batch.clear();
        }
        if entry.revision < revision {
            return Err(Inconsistent(format!("ledger revision {} comes after {revision}", entry.revision)));
        }
        revision = entry.revision;
        batch.push(entry.change.clone());
    }
    state.apply_all(revision, &batch)?;
    Ok(state)
}
