//! The ledger: every change, as it was applied.

use allot_core::{Change, LedgerEntry};
use serde::Serialize;
use utoipa::ToSchema;

use crate::common::rfc3339;

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub revision: u64,
    pub seq: u32,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub request_id: String,
    /// The change event, tagged by `type`.
    #[schema(value_type = Object)]
    pub change: Change,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(e: LedgerEntry) -> Self {
        Self {
            revision: e.revision,
            seq: e.seq,
            at: rfc3339(e.at),
            actor: e.actor,
            request_id: e.request_id,
            change: e.change,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
