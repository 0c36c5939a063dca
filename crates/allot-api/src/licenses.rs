//! Holdings and the check.

use allot_core::{CheckOutcome, CheckReason, Holding, Source};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::rfc3339;

/// A license held by a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeldLicense {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    pub source: Via,
    /// The group it is inherited from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::GroupId>)]
    pub group: Option<String>,
    /// Recorded but drawing no unit: the license comes from outside the organization.
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_until: Option<String>,
}

impl HeldLicense {
    pub fn new(product: &allot_core::ProductCode, holding: &Holding) -> Self {
        let (source, group) = match &holding.source {
            Source::Direct => (Via::Direct, None),
            Source::Group(group) => (Via::Group, Some(group.to_string())),
        };
        Self {
            license: holding.license(product).to_string(),
            source,
            group,
            external: holding.external,
            valid_from: holding.valid_from().map(rfc3339),
            valid_until: holding.valid_until().map(rfc3339),
        }
    }
}

/// Why a check answers as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Held,
    NotHeld,
    /// In a group's waiting line: see `waiting_position`.
    Waiting,
    Expired,
    /// Not held, and no unit is free.
    PoolExhausted,
    UnknownUser,
    UnknownLicense,
}

impl From<CheckReason> for Reason {
    fn from(reason: CheckReason) -> Self {
        match reason {
            CheckReason::Held => Reason::Held,
            CheckReason::NotHeld => Reason::NotHeld,
            CheckReason::Waiting => Reason::Waiting,
            CheckReason::Expired => Reason::Expired,
            CheckReason::PoolExhausted => Reason::PoolExhausted,
            // A check is made within an organization the caller was authorized for.
            CheckReason::UnknownOrganization | CheckReason::UnknownUser => Reason::UnknownUser,
            CheckReason::UnknownLicense => Reason::UnknownLicense,
        }
    }
}

/// How a license is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Direct,
    Group,
}

/// The answer to "does this user hold this license?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub reason: Reason,
    /// When held (or held but expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::GroupId>)]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// The capability held, for products with capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::ProductCode>)]
    pub capability: Option<String>,
    /// For `waiting`: 1 is next in line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub waiting_position: Option<usize>,
    pub revision: u64,
}

impl From<CheckOutcome> for CheckAnswer {
    fn from(check: CheckOutcome) -> Self {
        let (via, group, external) = match check.via {
            Some(allot_core::Via::Direct { external }) => (Some(Via::Direct), None, Some(external)),
            Some(allot_core::Via::Group { group, external }) => {
                (Some(Via::Group), Some(group.to_string()), Some(external))
            }
            None => (None, None, None),
        };
        Self {
            allowed: check.allowed,
            reason: check.reason.into(),
            via,
            group,
            external,
            capability: check.capability.map(|c| c.to_string()),
            waiting_position: check.waiting_position,
            revision: check.revision,
        }
    }
}

/// A license to hold directly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseSpec {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    /// Record the holding without drawing a unit (`useExternalLicense`).
    #[serde(default)]
    pub external: bool,
    #[serde(default)]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_from: Option<String>,
    #[serde(default)]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub valid_until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetUserLicenses {
    /// The user's direct licenses become exactly these; inherited ones are untouched.
    pub licenses: Vec<LicenseSpec>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Waiting {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    #[schema(value_type = crate::schema::GroupId)]
    pub group: String,
    /// 1 is next in line.
    #[schema(minimum = 1)]
    pub position: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserLicenses {
    #[schema(value_type = crate::schema::UserId)]
    pub user: String,
    pub licenses: Vec<HeldLicense>,
    /// Licenses the user's groups grant that the user waits for.
    pub waiting: Vec<Waiting>,
    pub revision: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// Licenses every member inherits, first come first served.
    #[schema(value_type = crate::schema::Vec<crate::schema::License>)]
    pub licenses: Vec<String>,
    /// Members' holdings are recorded but draw no unit.
    #[serde(default)]
    pub use_external_license: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupRuleView {
    #[schema(value_type = crate::schema::GroupId)]
    pub group: String,
    #[schema(value_type = crate::schema::Vec<crate::schema::License>)]
    pub licenses: Vec<String>,
    pub use_external_license: bool,
    pub revision: u64,
}
