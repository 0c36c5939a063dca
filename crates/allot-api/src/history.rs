//! The past, answered from the ledger: who held a license at a moment, and a license's
//! counts over time.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::licenses::HeldLicense;

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    /// A license code, or `code:capability`.
    pub license: String,
    /// RFC 3339; now when absent.
    pub as_of: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Holder {
    pub user: String,
    #[serde(flatten)]
    pub holding: HeldLicense,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Holders {
    pub license: String,
    /// The moment asked about, and the last revision committed by then.
    pub as_of: String,
    pub revision: u64,
    pub holders: Vec<Holder>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// A license code, or `code:capability`.
    pub license: String,
    /// RFC 3339: only points at or after.
    pub from: Option<String>,
    /// RFC 3339: only points at or before.
    pub until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsagePoint {
    pub revision: u64,
    pub at: String,
    pub quantity: i64,
    pub allocated: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub license: String,
    /// The organization's pool after each revision that moved it.
    pub points: Vec<UsagePoint>,
}
