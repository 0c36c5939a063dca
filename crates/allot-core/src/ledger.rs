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
    let mut replay = Replay::new(catalogue);
    for entry in entries {
        replay.push(entry.revision, entry.change.clone())?;
    }
    replay.finish()
}

/// A replay fed one entry at a time, as the ledger is read: only the changes of the
/// revision being read wait, so a long ledger replays without being held in memory.
pub struct Replay {
    state: State,
    revision: u64,
    batch: Vec<Change>,
}

impl Replay {
    pub fn new(catalogue: Catalogue) -> Self {
        Self { state: State::new(catalogue), revision: 0, batch: Vec::new() }
    }

    /// Takes the next entry's revision and change; entries must come in order. After an
    /// error the state is half replayed: drop the replay.
    pub fn push(&mut self, revision: u64, change: Change) -> Result<(), Inconsistent> {
        if revision < self.revision {
            return Err(Inconsistent(format!("ledger revision {revision} comes after {}", self.revision)));
        }
        if revision != self.revision && !self.batch.is_empty() {
            self.state.apply_all(self.revision, &self.batch)?;
            self.batch.clear();
        }
        self.revision = revision;
        self.batch.push(change);
        Ok(())
    }

    /// The state the entries pushed replay to.
    pub fn finish(mut self) -> Result<State, Inconsistent> {
        self.state.apply_all(self.revision, &self.batch)?;
        Ok(self.state)
    }
}
