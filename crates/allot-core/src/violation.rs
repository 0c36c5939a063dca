//! Why a plan cannot be applied, with a stable code per reason.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::change::Scope;
use crate::ids::{LicenseKey, UserId};

/// Stable violation codes: clients match on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    /// The change would allocate more than the pool's quantity.
    LicenseLimitExceeded,
    /// The change would lower a quantity below what is already passed on.
    QuantityInUse,
    /// The parent scope holds none of this license.
    NotPurchased,
    /// The pool the units would come from is outside its validity dates.
    Expired,
    UnknownLicense,
    UnknownOrganization,
    UnknownUser,
    UnknownGroup,
    UnknownTenant,
    /// A user license used at tenant level, or a unit license given to a user or group.
    WrongLicenseKind,
    /// A unit license granted to a service type it does not belong to.
    WrongService,
    /// Two capabilities of one product for one user or rule.
    ConflictingCapabilities,
    /// The user holds a license the product is refused to (Analytics for an Agent).
    NotEligible,
    AlreadyExists,
    NotAMember,
    /// A license for a user who is deactivated.
    UserInactive,
    OrganizationNotEmpty,
    InvalidQuantity,
    InvalidDates,
    /// A bug in allot; the plan is refused.
    Internal,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LicenseLimitExceeded => "license_limit_exceeded",
            Self::QuantityInUse => "quantity_in_use",
            Self::NotPurchased => "not_purchased",
            Self::Expired => "expired",
            Self::UnknownLicense => "unknown_license",
            Self::UnknownOrganization => "unknown_organization",
            Self::UnknownUser => "unknown_user",
            Self::UnknownGroup => "unknown_group",
            Self::UnknownTenant => "unknown_tenant",
            Self::WrongLicenseKind => "wrong_license_kind",
            Self::WrongService => "wrong_service",
            Self::ConflictingCapabilities => "conflicting_capabilities",
            Self::NotEligible => "not_eligible",
            Self::AlreadyExists => "already_exists",
            Self::NotAMember => "not_a_member",
            Self::UserInactive => "user_inactive",
            Self::OrganizationNotEmpty => "organization_not_empty",
            Self::InvalidQuantity => "invalid_quantity",
            Self::InvalidDates => "invalid_dates",
            Self::Internal => "internal_error",
        }
    }

    /// Violations that name something that does not exist (404 material) rather than a
    /// conflict with the current state (409 material).
    pub fn is_unknown_target(self) -> bool {
        matches!(
            self,
            Self::UnknownOrganization | Self::UnknownUser | Self::UnknownGroup | Self::UnknownTenant | Self::NotAMember
        )
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub code: ViolationCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<LicenseKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// For limits: units the pool had available before the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// For limits: units the plan asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
}

impl Violation {
    pub fn new(code: ViolationCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), license: None, scope: None, user: None, available: None, requested: None }
    }

    pub fn license(mut self, license: &LicenseKey) -> Self {
        self.license = Some(license.clone());
        self
    }

    pub fn user(mut self, user: &UserId) -> Self {
        self.user = Some(user.clone());
        self
    }

    pub fn scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.clone());
        self
    }
}
