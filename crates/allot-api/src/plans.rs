//! Plans: what a change would do, pool by pool and holding by holding, and why it may not.

use allot_core::{Change, Plan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{ScopeView, ViolationView};
use crate::licenses::{HeldLicense, LicenseSpec};

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
        let holdings = plan
            .changes
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
            changes: plan.changes.clone(),
        }
    }
}

/// One change of a batch, by `op`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
