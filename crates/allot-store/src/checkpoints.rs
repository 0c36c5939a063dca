//! Checkpoints of one organization's books (migrations/*/0008_checkpoints.sql): the rows, the
//! reads the past is answered from, and how a ledger check verifies them against the replay.

use std::collections::HashMap;

use allot_core::ledger::org_snapshot;
use allot_core::{Catalogue, Change, LedgerEntry, OrgKey, State, Timestamp};

use crate::sql::{FromRow, Row, Value, from_json, row_struct, to_json};
use crate::{StoreError, StoreResult};

/// An organization as it stood after `revision`: the changes that recreate it
/// ([`org_snapshot`]), and how many of its ledger entries it folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub org: OrgKey,
    pub revision: u64,
    /// When `revision` was committed.
    pub at: Timestamp,
    /// The organization's ledger entries up to `revision`.
    pub entries: u64,
    pub changes: Vec<Change>,
}

row_struct! {
    struct CheckpointRow { org_key: String, revision: u64, at: Timestamp, entries: u64, changes: String }
}

pub(crate) fn checkpoint(row: Row) -> StoreResult<Checkpoint> {
    let r = CheckpointRow::from_row(row)?;
    Ok(Checkpoint {
        org: OrgKey::of(&r.org_key),
        revision: r.revision,
        at: r.at,
        entries: r.entries,
        changes: from_json(&r.changes)?,
    })
}

/// The latest checkpoint of `org` at or before `upto`.
pub(crate) fn latest_query(org: &OrgKey, upto: u64) -> (String, Vec<Value>) {
    let sql = format!(
        "SELECT {} FROM checkpoints WHERE org_key = ?1 AND revision <= ?2 ORDER BY revision DESC LIMIT 1",
        CheckpointRow::COLUMNS
    );
    (sql, vec![org.as_str().into(), upto.into()])
}

/// Every checkpoint, oldest first: what a check compares with the replay as it passes each.
pub(crate) fn all_query() -> (String, Vec<Value>) {
    (format!("SELECT {} FROM checkpoints ORDER BY revision, org_key", CheckpointRow::COLUMNS), Vec::new())
}

pub(crate) fn insert_params(c: &Checkpoint) -> StoreResult<Vec<Value>> {
    Ok(vec![c.org.as_str().into(), c.revision.into(), c.at.into(), c.entries.into(), to_json(&c.changes)?.into()])
}

/// Written once: a checkpoint is derived, so a second writer's is the same one.
pub(crate) const INSERT: &str = "INSERT INTO checkpoints (org_key, revision, at, entries, changes)
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (org_key, revision) DO NOTHING";

/// Replays the ledger as it is read and, as the replay passes each checkpoint's revision,
/// compares the checkpoint with the organization the replay holds then.
pub(crate) struct CheckpointCheck {
    state: State,
    /// The revision being read and its changes, applied when the next one starts.
    pending: Option<(u64, Timestamp, Vec<Change>)>,
    /// Ledger entries per organization, up to the last revision applied.
    entries: HashMap<OrgKey, u64>,
    /// Checkpoints not reached yet, newest first (popped from the end).
    waiting: Vec<Checkpoint>,
    pub(crate) differences: Vec<String>,
}

impl CheckpointCheck {
    pub(crate) fn new(mut checkpoints: Vec<Checkpoint>) -> Self {
        checkpoints.reverse();
        Self {
            state: State::new(Catalogue::default_products()),
            pending: None,
            entries: HashMap::new(),
            waiting: checkpoints,
            differences: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, entry: LedgerEntry) -> StoreResult<()> {
        if self.pending.as_ref().is_some_and(|(revision, ..)| *revision > entry.revision) {
            return Err(StoreError::Corrupt(format!(
                "the ledger does not replay: revision {} out of order",
                entry.revision
            )));
        }
        if self.pending.as_ref().is_some_and(|(revision, ..)| *revision != entry.revision) {
            self.apply(Some(entry.revision))?;
        }
        if let Some(org) = entry.change.org() {
            *self.entries.entry(org.key()).or_default() += 1;
        }
        let (_, _, batch) = self.pending.get_or_insert_with(|| (entry.revision, entry.at, Vec::new()));
        batch.push(entry.change);
        Ok(())
    }

    /// Applies the pending revision, then compares every checkpoint at or after it and
    /// before `next` (the next revision in the ledger; none at its end).
    pub(crate) fn apply(&mut self, next: Option<u64>) -> StoreResult<()> {
        let Some((revision, at, batch)) = self.pending.take() else { return self.compare(None, next) };
        self.state
            .apply_all(revision, &batch)
            .map_err(|e| StoreError::Corrupt(format!("the ledger does not replay: {e}")))?;
        self.compare(Some((revision, at)), next)
    }

    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    fn compare(&mut self, applied: Option<(u64, Timestamp)>, next: Option<u64>) -> StoreResult<()> {
        while let Some(c) = self.waiting.pop_if(|c| next.is_none_or(|next| c.revision < next)) {
            let mut wrong = Vec::new();
            if applied.is_none_or(|(revision, at)| revision != c.revision || at != c.at) {
                wrong.push(format!("revision {} at {} is not a revision of the ledger", c.revision, c.at));
            }
            let entries = self.entries.get(&c.org).copied().unwrap_or(0);
            if entries != c.entries {
                wrong.push(format!("it counts {} entries, the ledger {entries}", c.entries));
            }
            if org_snapshot(&self.state, c.org.as_str()) != c.changes {
                wrong.push("its books differ from the ledger's".to_owned());
            }
            if !wrong.is_empty() {
                self.differences.push(format!("checkpoint {} @{}: {}", c.org, c.revision, wrong.join("; ")));
            }
        }
        Ok(())
    }
}
