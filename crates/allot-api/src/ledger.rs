//! The ledger: every change, as it was applied.

use allot_core::{Change, LedgerEntry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::common::rfc3339;

#[derive(Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntryView {
    pub revision: u64,
    pub seq: u32,
    #[schema(value_type = crate::schema::Time)]
    pub at: String,
    pub actor: String,
    pub request_id: String,
    #[schema(value_type = crate::ChangeView)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::Cursor>)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// Only entries about this user.
    #[param(value_type = Option<crate::schema::UserId>)]
    pub user: Option<String>,
    /// Only entries about this license.
    #[param(value_type = Option<crate::schema::License>)]
    pub license: Option<String>,
    /// Only entries at or after this revision.
    #[param(value_type = Option<crate::schema::Revision>)]
    pub from_revision: Option<u64>,
    /// Only entries at or before this revision.
    #[param(value_type = Option<crate::schema::Revision>)]
    pub to_revision: Option<u64>,
    /// Only entries made by this actor, as the ledger spells it (`host:admin`,
    /// `user:acme/alice`, `client:<id>`).
    pub actor: Option<String>,
    /// Only entries committed at or after this moment.
    #[param(value_type = Option<crate::schema::Time>)]
    pub from: Option<String>,
    /// Only entries committed at or before this moment.
    #[param(value_type = Option<crate::schema::Time>)]
    pub until: Option<String>,
    /// The `next` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub after: Option<String>,
    /// 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}
