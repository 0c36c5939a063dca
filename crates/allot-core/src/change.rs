//! Change events: what an applied plan did, each with the values before and after.
//! They are the ledger's entries and the only way the state changes.

use serde::{Deserialize, Serialize};

use crate::catalogue::Product;
use crate::ids::{GroupId, LicenseKey, OrgId, ProductCode, ServiceType, TenantId, UserId};
use crate::profile::GroupProfile;
use crate::state::{Grant, Holding, Rule, UserProfile};

/// Where a pool sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    Host,
    Org { org: OrgId },
    Tenant { org: OrgId, tenant: TenantId, service: ServiceType },
}

impl Scope {
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Scope::Host => None,
            Scope::Org { org } | Scope::Tenant { org, .. } => Some(org),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Change {
    ProductAdded {
        product: Product,
    },
    ProductRemoved {
        product: Product,
    },
    OrgCreated {
        org: OrgId,
        name: String,
    },
    OrgRenamed {
        org: OrgId,
        before: String,
        after: String,
    },
    OrgDeleted {
        org: OrgId,
        name: String,
    },
    UserCreated {
        org: OrgId,
        user: UserId,
        profile: UserProfile,
    },
    UserUpdated {
        org: OrgId,
        user: UserId,
        before: UserProfile,
        after: UserProfile,
    },
    UserDeleted {
        org: OrgId,
        user: UserId,
        profile: UserProfile,
    },
    GroupCreated {
        org: OrgId,
        group: GroupId,
        name: String,
    },
    GroupDeleted {
        org: OrgId,
        group: GroupId,
        name: String,
    },
    GroupRenamed {
        org: OrgId,
        group: GroupId,
        before: String,
        after: String,
    },
    /// An identity provider's record of the group set, changed or dropped.
    GroupProfileSet {
        org: OrgId,
        group: GroupId,
        before: Option<GroupProfile>,
        after: Option<GroupProfile>,
    },
    TenantCreated {
        org: OrgId,
        tenant: TenantId,
        name: String,
    },
    TenantDeleted {
        org: OrgId,
        tenant: TenantId,
        name: String,
    },
    MemberAdded {
        org: OrgId,
        group: GroupId,
        user: UserId,
        seq: u64,
    },
    MemberRemoved {
        org: OrgId,
        group: GroupId,
        user: UserId,
        seq: u64,
    },
    RuleSet {
        org: OrgId,
        group: GroupId,
        before: Rule,
        after: Rule,
    },
    PoolSet {
        scope: Scope,
        license: LicenseKey,
        before: Grant,
        after: Grant,
    },
    HoldingSet {
        org: OrgId,
        user: UserId,
        product: ProductCode,
        before: Option<Holding>,
        after: Option<Holding>,
    },
}

impl Change {
    /// The change's `type` as the ledger spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::ProductAdded { .. } => "product_added",
            Change::ProductRemoved { .. } => "product_removed",
            Change::OrgCreated { .. } => "org_created",
            Change::OrgRenamed { .. } => "org_renamed",
            Change::OrgDeleted { .. } => "org_deleted",
            Change::UserCreated { .. } => "user_created",
            Change::UserUpdated { .. } => "user_updated",
            Change::UserDeleted { .. } => "user_deleted",
            Change::GroupCreated { .. } => "group_created",
            Change::GroupDeleted { .. } => "group_deleted",
            Change::GroupRenamed { .. } => "group_renamed",
            Change::GroupProfileSet { .. } => "group_profile_set",
            Change::TenantCreated { .. } => "tenant_created",
            Change::TenantDeleted { .. } => "tenant_deleted",
            Change::MemberAdded { .. } => "member_added",
            Change::MemberRemoved { .. } => "member_removed",
            Change::RuleSet { .. } => "rule_set",
            Change::PoolSet { .. } => "pool_set",
            Change::HoldingSet { .. } => "holding_set",
        }
    }

    /// The change that undoes this one.
    pub fn inverse(&self) -> Change {
        match self.clone() {
            Change::ProductAdded { product } => Change::ProductRemoved { product },
            Change::ProductRemoved { product } => Change::ProductAdded { product },
            Change::OrgCreated { org, name } => Change::OrgDeleted { org, name },
            Change::OrgDeleted { org, name } => Change::OrgCreated { org, name },
            Change::OrgRenamed { org, before, after } => Change::OrgRenamed { org, before: after, after: before },
            Change::UserCreated { org, user, profile } => Change::UserDeleted { org, user, profile },
            Change::UserDeleted { org, user, profile } => Change::UserCreated { org, user, profile },
            Change::UserUpdated { org, user, before, after } => {
                Change::UserUpdated { org, user, before: after, after: before }
            }
            Change::GroupCreated { org, group, name } => Change::GroupDeleted { org, group, name },
            Change::GroupDeleted { org, group, name } => Change::GroupCreated { org, group, name },
            Change::GroupRenamed { org, group, before, after } => {
                Change::GroupRenamed { org, group, before: after, after: before }
            }
            Change::GroupProfileSet { org, group, before, after } => {
                Change::GroupProfileSet { org, group, before: after, after: before }
            }
            Change::TenantCreated { org, tenant, name } => Change::TenantDeleted { org, tenant, name },
            Change::TenantDeleted { org, tenant, name } => Change::TenantCreated { org, tenant, name },
            Change::MemberAdded { org, group, user, seq } => Change::MemberRemoved { org, group, user, seq },
            Change::MemberRemoved { org, group, user, seq } => Change::MemberAdded { org, group, user, seq },
            Change::RuleSet { org, group, before, after } => {
                Change::RuleSet { org, group, before: after, after: before }
            }
            Change::PoolSet { scope, license, before, after } => {
                Change::PoolSet { scope, license, before: after, after: before }
            }
            Change::HoldingSet { org, user, product, before, after } => {
                Change::HoldingSet { org, user, product, before: after, after: before }
            }
        }
    }

    /// The organization the change belongs to; `None` for host-wide changes.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Change::ProductAdded { .. } | Change::ProductRemoved { .. } => None,
            Change::PoolSet { scope, .. } => scope.org(),
            Change::OrgCreated { org, .. }
            | Change::OrgRenamed { org, .. }
            | Change::OrgDeleted { org, .. }
            | Change::UserCreated { org, .. }
            | Change::UserUpdated { org, .. }
            | Change::UserDeleted { org, .. }
            | Change::GroupCreated { org, .. }
            | Change::GroupDeleted { org, .. }
            | Change::GroupRenamed { org, .. }
            | Change::GroupProfileSet { org, .. }
            | Change::TenantCreated { org, .. }
            | Change::TenantDeleted { org, .. }
            | Change::MemberAdded { org, .. }
            | Change::MemberRemoved { org, .. }
            | Change::RuleSet { org, .. }
            | Change::HoldingSet { org, .. } => Some(org),
        }
    }

    /// The user the change concerns, for ledger filters.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Change::UserCreated { user, .. }
            | Change::UserUpdated { user, .. }
            | Change::UserDeleted { user, .. }
            | Change::MemberAdded { user, .. }
            | Change::MemberRemoved { user, .. }
            | Change::HoldingSet { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The license the change concerns, for ledger filters: the pool's license, or the
    /// held license (after the change, else before).
    pub fn license(&self) -> Option<LicenseKey> {
        match self {
            Change::PoolSet { license, .. } => Some(license.clone()),
            Change::HoldingSet { product, before, after, .. } => {
                after.as_ref().or(before.as_ref()).map(|h| h.license(product))
            }
            _ => None,
        }
    }

    /// The signed change in units drawn, for holdings (+1 granted, -1 released) and the
    /// change in quantity for pools.
    pub fn delta(&self) -> i64 {
        match self {
            Change::PoolSet { before, after, .. } => after.quantity - before.quantity,
            Change::HoldingSet { before, after, .. } => {
                let units = |h: &Option<Holding>| i64::from(h.as_ref().is_some_and(Holding::draws_unit));
                units(after) - units(before)
            }
            _ => 0,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Host => write!(f, "the host"),
            Scope::Org { org } => write!(f, "organization {org}"),
            Scope::Tenant { org, tenant, service } => write!(f, "tenant {org}/{tenant} ({service})"),
        }
    }
}

/// A change in words, for people: problem details and the console, never parsed.
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = |h: &Option<Holding>, product: &ProductCode| {
            h.as_ref().map_or_else(|| "none".to_owned(), |h| h.license(product).to_string())
        };
        match self {
            Change::ProductAdded { product } => write!(f, "product {} added", product.code),
            Change::ProductRemoved { product } => write!(f, "product {} removed", product.code),
            Change::OrgCreated { org, .. } => write!(f, "organization {org} created"),
            Change::OrgRenamed { org, before, after } => {
                write!(f, "organization {org} renamed from {before} to {after}")
            }
            Change::OrgDeleted { org, .. } => write!(f, "organization {org} deleted"),
            Change::UserCreated { org, user, .. } => write!(f, "user {org}/{user} created"),
            Change::UserUpdated { org, user, .. } => write!(f, "user {org}/{user} updated"),
            Change::UserDeleted { org, user, .. } => write!(f, "user {org}/{user} deleted"),
            Change::GroupCreated { org, group, .. } => write!(f, "group {org}/{group} created"),
            Change::GroupDeleted { org, group, .. } => write!(f, "group {org}/{group} deleted"),
            Change::GroupRenamed { org, group, before, after } => {
                write!(f, "group {org}/{group} renamed from {before} to {after}")
            }
            Change::GroupProfileSet { org, group, after, .. } => match after {
                Some(_) => write!(f, "group {org}/{group}: its directory record set"),
                None => write!(f, "group {org}/{group}: its directory record dropped"),
            },
            Change::TenantCreated { org, tenant, .. } => write!(f, "tenant {org}/{tenant} created"),
            Change::TenantDeleted { org, tenant, .. } => write!(f, "tenant {org}/{tenant} deleted"),
            Change::MemberAdded { org, group, user, .. } => write!(f, "{org}/{user} joins group {group}"),
            Change::MemberRemoved { org, group, user, .. } => write!(f, "{org}/{user} leaves group {group}"),
            Change::RuleSet { org, group, after, .. } => {
                let licenses: Vec<String> = after.licenses.iter().map(ToString::to_string).collect();
                let granted = if licenses.is_empty() { "nothing".to_owned() } else { licenses.join(", ") };
                write!(f, "group {org}/{group} grants {granted}{}", if after.external { " (external)" } else { "" })
            }
            Change::PoolSet { scope, license, before, after } => {
                write!(f, "{scope}'s {license}: {} → {}", before.quantity, after.quantity)
            }
            Change::HoldingSet { org, user, product, before, after } => {
                write!(f, "{org}/{user} {product}: {} → {}", held(before, product), held(after, product))
            }
        }
    }
}
