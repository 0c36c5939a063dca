//! Plans: what a change would do, pool by pool and holding by holding, and why it may not.

use allot_core::{Change, Plan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{ScopeView, ViolationView};
use crate::licenses::{HeldLicense, LicenseSpec};
use crate::users::Role;

/// One pool's balance before and after a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoolChangeView {
    pub scope: ScopeView,
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    pub quantity_before: i64,
    pub quantity_after: i64,
    pub allocated_before: i64,
    pub allocated_after: i64,
    pub available_after: i64,
}

/// A change of one user's holding of one product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldingChangeView {
    #[schema(value_type = crate::schema::UserId)]
    pub user: String,
    #[schema(value_type = crate::schema::ProductCode)]
    pub product: String,
    pub before: Option<HeldLicense>,
    pub after: Option<HeldLicense>,
}

/// A plan: what a request changes, and whether it may.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    /// The stored plan's id, for `POST /orgs/{org}/plans/{id}/apply` (validated plans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::PlanId>)]
    pub id: Option<String>,
    /// Until when the stored plan may be applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
    pub expires_at: Option<String>,
    /// No violations: applying it would succeed.
    pub possible: bool,
    pub applied: bool,
    /// The revision the plan was computed at.
    pub base_revision: u64,
    /// The revision after the request (the new one if it was applied).
    pub revision: u64,
    pub pools: Vec<PoolChangeView>,
    pub holdings: Vec<HoldingChangeView>,
    pub violations: Vec<ViolationView>,
    /// Every change event, as the ledger records it.
    #[schema(value_type = Vec<crate::ChangeView>)]
    pub changes: Vec<Change>,
}

impl PlanView {
    pub fn new(plan: &Plan, applied: bool, revision: u64) -> Self {
        Self::showing(plan, 0, applied, revision)
    }

    /// The view of `plan` showing its changes from the `first`th on (and the holdings they
    /// set): the pools and violations are the whole plan's.
    pub fn showing(plan: &Plan, first: usize, applied: bool, revision: u64) -> Self {
        let shown = plan.changes.get(first..).unwrap_or_default();
        let pools = plan
            .pools
            .iter()
            .map(|p| PoolChangeView {
                scope: ScopeView::from(&p.scope),
                license: p.license.to_string(),
                quantity_before: p.before.grant.quantity,
                quantity_after: p.after.grant.quantity,
                allocated_before: p.before.allocated,
                allocated_after: p.after.allocated,
                available_after: p.after.available(),
            })
            .collect();
        let holdings = shown
            .iter()
            .filter_map(|change| match change {
                Change::HoldingSet { user, product, before, after, .. } => Some(HoldingChangeView {
                    user: user.to_string(),
                    product: product.to_string(),
                    before: before.as_ref().map(|h| HeldLicense::new(product, h)),
                    after: after.as_ref().map(|h| HeldLicense::new(product, h)),
                }),
                _ => None,
            })
            .collect();
        Self {
            id: None,
            expires_at: None,
            possible: plan.is_possible(),
            applied,
            base_revision: plan.base_revision,
            revision,
            pools,
            holdings,
            violations: plan.violations.iter().map(ViolationView::from).collect(),
            changes: shown.to_vec(),
        }
    }
}

/// One change of a batch, by `op`. The changes are planned in order, each on the state the
/// ones before it leave.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanChange {
    /// Each listed user's direct licenses become exactly `licenses` (users x licenses).
    SetUserLicenses {
        #[schema(value_type = Vec<crate::schema::UserId>, min_items = 1)]
        users: Vec<String>,
        licenses: Vec<LicenseSpec>,
    },
    /// A group's rule.
    SetGroupRule {
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        #[schema(value_type = crate::schema::Vec<crate::schema::License>)]
        licenses: Vec<String>,
        #[serde(default)]
        use_external_license: bool,
    },
    /// A new user, a `member` unless `role` says otherwise; the changes after this one may
    /// name them. A password is set through the user's `password` endpoint.
    CreateUser {
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        /// The id when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
    },
    /// A user's name, email or role; fields left out stay as they are.
    UpdateUser {
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
    },
    /// Deletes a user: their licenses return to the pools, their memberships end and their
    /// tokens are revoked.
    DeleteUser {
        #[schema(value_type = crate::schema::UserId)]
        user: String,
    },
    AddMember {
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
    },
    RemoveMember {
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
    },
    /// The quantity a tenant's service gets from the organization.
    SetTenantPool {
        #[schema(value_type = crate::schema::TenantId)]
        tenant: String,
        #[schema(value_type = crate::schema::ServiceType)]
        service: String,
        #[schema(value_type = crate::schema::License)]
        license: String,
        #[schema(value_type = crate::schema::Quantity)]
        #[serde(deserialize_with = "crate::schema::quantity")]
        quantity: i64,
        #[serde(default)]
        #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
        valid_from: Option<String>,
        #[serde(default)]
        #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
        valid_until: Option<String>,
    },
    /// The quantity the organization gets from the host (host admin only).
    SetOrgPool {
        #[schema(value_type = crate::schema::License)]
        license: String,
        #[schema(value_type = crate::schema::Quantity)]
        #[serde(deserialize_with = "crate::schema::quantity")]
        quantity: i64,
        #[serde(default)]
        #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
        valid_from: Option<String>,
        #[serde(default)]
        #[schema(value_type = crate::schema::Option<crate::schema::Time>)]
        valid_until: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// `false` (default): validate only, change nothing. `true`: apply all or nothing.
    #[serde(default)]
    pub apply: bool,
    pub changes: Vec<PlanChange>,
    /// Validates these changes after those of the stored plan `after` (a validation only),
    /// for a change too large for one request, sent in parts: the plan answered, and kept,
    /// is of the parts so far together. Its pools and violations are the whole's, its
    /// holdings and changes this part's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::PlanId>)]
    pub after: Option<String>,
}

impl PlanChange {
    /// Items this change carries, for the per-request limit: the targets it changes (each
    /// user of a batch; one for anything else).
    pub fn items(&self) -> usize {
        match self {
            PlanChange::SetUserLicenses { users, .. } => users.len(),
            _ => 1,
        }
    }
}
