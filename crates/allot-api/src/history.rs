//! The past, answered from the ledger: who held a license at a moment, and a license's
//! counts over time.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::licenses::HeldLicense;

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    #[param(value_type = crate::schema::License)]
    pub license: String,
    /// Now when absent.
    #[param(value_type = Option<crate::schema::Time>)]
    pub as_of: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Holder {
    #[schema(value_type = crate::schema::UserId)]
    pub user: String,
    #[serde(flatten)]
    pub holding: HeldLicense,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Holders {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    /// The moment asked about, and the last revision committed by then.
    #[schema(value_type = crate::schema::Time)]
    pub as_of: String,
    pub revision: u64,
    pub holders: Vec<Holder>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    #[param(value_type = crate::schema::License)]
    pub license: String,
    /// Only points at or after.
    #[param(value_type = Option<crate::schema::Time>)]
    pub from: Option<String>,
    /// Only points at or before.
    #[param(value_type = Option<crate::schema::Time>)]
    pub until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsagePoint {
    pub revision: u64,
    #[schema(value_type = crate::schema::Time)]
    pub at: String,
    #[schema(value_type = crate::schema::Quantity)]
    pub quantity: i64,
    pub allocated: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    /// The organization's pool after each revision that moved it.
    pub points: Vec<UsagePoint>,
}
