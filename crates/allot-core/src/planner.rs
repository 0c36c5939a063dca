//! The planner: turns a batch of commands into a plan of changes with counts before and
//! after, and every violation. It plans on the real state, applying each change as it goes
//! so later commands see earlier ones, and undoes everything before it returns.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalogue::{Product, ProductKind, UnknownLicense};
use crate::change::{Change, Scope};
use crate::command::{Command, DirectLicense};
use crate::ids::{LicenseKey, OrgId, OrgKey, ProductCode, Timestamp, UserId};
use crate::profile::GroupProfile;
use crate::state::{Grant, Holding, Pool, Rule, Source, State};
use crate::violation::{Violation, ViolationCode as Code};

/// The largest quantity a pool may hold: far beyond any purchase, and small enough that
/// no sum of quantities can overflow.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// One pool's balance before and after a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolDelta {
    pub scope: Scope,
    pub license: LicenseKey,
    pub before: Pool,
    pub after: Pool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The revision the plan was computed at.
    pub base_revision: u64,
    pub changes: Vec<Change>,
    pub pools: Vec<PoolDelta>,
    pub violations: Vec<Violation>,
}

impl Plan {
    pub fn is_possible(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Plans `commands` against `state`. The state is left as it was.
pub fn plan(state: &mut State, commands: &[Command], now: Timestamp) -> Plan {
    let mut planner = Planner {
        base_revision: state.revision(),
        state,
        now,
        changes: Vec::new(),
        violations: Vec::new(),
        pools_before: BTreeMap::new(),
        dirty_users: BTreeSet::new(),
        dirty_licenses: BTreeSet::new(),
    };
    for command in commands {
        planner.run(command);
    }
    planner.reconcile_groups();
    planner.check_eligibility();
    planner.check_pools();
    planner.finish()
}

struct Planner<'s> {
    state: &'s mut State,
    base_revision: u64,
    now: Timestamp,
    changes: Vec<Change>,
    violations: Vec<Violation>,
    pools_before: BTreeMap<(Scope, LicenseKey), Pool>,
    /// Users whose inherited holdings may no longer be backed by a group rule.
    dirty_users: BTreeSet<(OrgKey, UserId)>,
    /// Licenses whose waiting members may now be granted.
    dirty_licenses: BTreeSet<(OrgKey, LicenseKey)>,
}

/// A planner dropped before it finished (a panic while planning unwinds through it) takes
/// its changes back, so the state it planned on is left as it was, never half planned.
impl Drop for Planner<'_> {
    fn drop(&mut self) {
        self.state.revert(&self.changes);
    }
}

impl Planner<'_> {
    fn finish(mut self) -> Plan {
        let pools = std::mem::take(&mut self.pools_before)
            .into_iter()
            .filter_map(|((scope, license), before)| {
                let after = self.state.pool(&scope, &license);
                (before != after).then_some(PoolDelta { scope, license, before, after })
            })
            .collect();
        self.state.revert(&self.changes);
        let changes = std::mem::take(&mut self.changes);
        let violations = std::mem::take(&mut self.violations);
        Plan { base_revision: self.base_revision, changes, pools, violations }
    }

    fn violate(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    /// Applies a change to the state and records it, noting which pools it touches.
    fn emit(&mut self, change: Change) {
        for (scope, license) in touched_pools(&change) {
            let before = self.state.pool(&scope, &license);
            self.pools_before.entry((scope, license)).or_insert(before);
        }
        match &change {
            Change::HoldingSet { org, product, before, after, .. } => {
                for held in [before, after].into_iter().flatten() {
                    self.dirty_licenses.insert((org.key(), held.license(product)));
                }
            }
            Change::PoolSet { scope: Scope::Org { org } | Scope::Tenant { org, .. }, license, .. } => {
                self.dirty_licenses.insert((org.key(), license.clone()));
            }
            _ => {}
        }
        if let Err(error) = self.state.apply(&change) {
            // The planner only emits changes that fit; this is a bug, refuse the plan.
            self.violate(Violation::new(Code::Internal, format!("the planner made an inconsistent change: {error}")));
            return;
        }
        self.changes.push(change);
    }

    /// The organization's id as stored, or a violation.
    fn org(&mut self, org: &OrgId) -> Option<OrgId> {
        let found = self.state.org(org.as_str()).map(|o| o.id.clone());
        if found.is_none() {
            self.violate(Violation::new(Code::UnknownOrganization, format!("organization `{org}` does not exist")));
        }
        found
    }

    fn user_exists(&mut self, org: &OrgId, user: &UserId) -> bool {
        let exists = self.state.org(org.as_str()).is_some_and(|o| o.users.contains_key(user));
        if !exists {
            self.violate(
                Violation::new(Code::UnknownUser, format!("user `{user}` does not exist in organization `{org}`"))
                    .user(user),
            );
        }
        exists
    }

    fn group_exists(&mut self, org: &OrgId, group: &crate::ids::GroupId) -> bool {
        let exists = self.state.org(org.as_str()).is_some_and(|o| o.groups.contains_key(group));
        if !exists {
            self.violate(Violation::new(
                Code::UnknownGroup,
                format!("group `{group}` does not exist in organization `{org}`"),
            ));
        }
        exists
    }

    /// The catalogue's spelling of `license` and its product, checked to be of `kind`.
    fn license(&mut self, license: &LicenseKey, kind: Option<ProductKind>) -> Option<(LicenseKey, Product)> {
        let resolved = self.state.catalogue().resolve(license).map(|(key, product)| (key, product.clone()));
        match resolved {
            Err(unknown) => {
                let violation = Violation::new(Code::UnknownLicense, unknown.to_string());
                self.violate(match unknown {
                    UnknownLicense::Product(_) => violation,
                    _ => violation.license(license),
                });
                None
            }
            Ok((key, product)) if kind.is_some_and(|k| k != product.kind) => {
                let message = match product.kind {
                    ProductKind::User => {
                        format!("`{key}` is a user license: it is held by users and groups, not granted to tenants")
                    }
                    ProductKind::Unit => {
                        format!("`{key}` is a unit license: it is granted to tenants, not held by users or groups")
                    }
                };
                self.violate(Violation::new(Code::WrongLicenseKind, message).license(&key));
                None
            }
            Ok(found) => Some(found),
        }
    }

    fn check_grant(&mut self, grant: &Grant, license: &LicenseKey) -> bool {
        if !(0..=MAX_QUANTITY).contains(&grant.quantity) {
            let message = format!("quantity of `{license}` must be between 0 and {MAX_QUANTITY}");
            self.violate(Violation::new(Code::InvalidQuantity, message).license(license));
            return false;
        }
        dates_ok(self, grant.valid_from, grant.valid_until, license)
    }

    /// The parent pool a grant of `license` at `scope` draws from must hold some of it and
    /// be valid now. Lowering a grant to 0 always passes: that only gives units back.
    fn parent_holds(&mut self, scope: &Scope, license: &LicenseKey, grant: &Grant) -> bool {
        let Some(parent) = parent_of(scope) else { return true };
        if grant.quantity == 0 {
            return true;
        }
        self.pool_usable(&parent, license)
    }

    fn pool_usable(&mut self, scope: &Scope, license: &LicenseKey) -> bool {
        let pool = self.state.pool(scope, license);
        let holder = holder(scope);
        if pool.grant.quantity == 0 {
            self.violate(
                Violation::new(Code::NotPurchased, format!("{holder} holds no `{license}` licenses"))
                    .license(license)
                    .scope(scope),
            );
            return false;
        }
        if !pool.grant.is_valid_at(self.now) {
            self.violate(
                Violation::new(
                    Code::Expired,
                    format!("the `{license}` licenses of {holder} are outside their validity dates"),
                )
                .license(license)
                .scope(scope),
            );
            return false;
        }
        true
    }

    fn set_pool(&mut self, scope: Scope, license: &LicenseKey, kind: Option<ProductKind>, grant: &Grant) {
        let Some((license, product)) = self.license(license, kind) else { return };
        if let (Scope::Tenant { service, .. }, Some(own)) = (&scope, &product.service_type)
            && own != service
        {
            let message = format!("`{license}` belongs to service `{own}`, not `{service}`");
            self.violate(Violation::new(Code::WrongService, message).license(&license).scope(&scope));
            return;
        }
        if !self.check_grant(grant, &license) || !self.parent_holds(&scope, &license, grant) {
            return;
        }
        let before = self.state.pool(&scope, &license).grant;
        if before != *grant {
            self.emit(Change::PoolSet { scope, license, before, after: *grant });
        }
    }

    fn run(&mut self, command: &Command) {
        match command {
            Command::AddProduct { product } => {
                if self.state.catalogue().get(product.code.as_str()).is_some() {
                    let message = format!("license code `{}` is already in the catalogue", product.code);
                    self.violate(Violation::new(Code::AlreadyExists, message));
                } else {
                    self.emit(Change::ProductAdded { product: product.clone() });
                }
            }
            Command::SetHostPool { license, grant } => self.set_pool(Scope::Host, license, None, grant),
            Command::CreateOrg { org, name } => {
                if let Some(existing) = self.state.org(org.as_str()) {
                    let message = format!("organization `{}` already exists", existing.id);
                    self.violate(Violation::new(Code::AlreadyExists, message));
                } else {
                    self.emit(Change::OrgCreated { org: org.clone(), name: name.clone() });
                }
            }
            Command::RenameOrg { org, name } => {
                let Some(org) = self.org(org) else { return };
                let before = self.state.org(org.as_str()).map(|o| o.name.clone()).unwrap_or_default();
                if before != *name {
                    self.emit(Change::OrgRenamed { org, before, after: name.clone() });
                }
            }
            Command::DeleteOrg { org } => {
                let Some(org) = self.org(org) else { return };
                let in_use = self.state.org(org.as_str()).is_some_and(|o| {
                    !o.users.is_empty()
                        || !o.groups.is_empty()
                        || !o.tenants.is_empty()
                        || o.pools.values().any(|p| !p.is_empty())
                });
                if in_use {
                    let message =
                        format!("organization `{org}` still has users, groups, tenants or licenses: remove them first");
                    self.violate(Violation::new(Code::OrganizationNotEmpty, message));
                    return;
                }
                let name = self.state.org(org.as_str()).map(|o| o.name.clone()).unwrap_or_default();
                self.emit(Change::OrgDeleted { org, name });
            }
            Command::CreateUser { org, user, profile } => {
                let Some(org) = self.org(org) else { return };
                if self.state.org(org.as_str()).is_some_and(|o| o.users.contains_key(user)) {
                    let message = format!("user `{user}` already exists in organization `{org}`");
                    self.violate(Violation::new(Code::AlreadyExists, message).user(user));
                } else {
                    self.emit(Change::UserCreated { org, user: user.clone(), profile: profile.clone() });
                }
            }
            Command::UpdateUser { org, user, profile } => {
                let Some(org) = self.org(org) else { return };
                if !self.user_exists(&org, user) {
                    return;
                }
                let before = self.user_profile(&org, user);
                let mut after = profile.clone();
                match (before.is_active(), after.is_active()) {
                    // A user deactivated holds nothing: their licenses go back to the pools
                    // (and on to those waiting); the direct ones are remembered.
                    (true, false) => after.directory_mut().released = self.release_all(&org, user),
                    (was, _) => {
                        // What was released is the planner's to keep, whatever profile is given.
                        if !before.released().is_empty() {
                            after.directory_mut().released = before.released().to_vec();
                        }
                        // Reactivated, they inherit again what their groups' rules grant.
                        if !was {
                            self.dirty_users.insert((org.key(), user.clone()));
                        }
                    }
                }
                if before != after {
                    self.emit(Change::UserUpdated { org, user: user.clone(), before, after });
                }
            }
            Command::RestoreLicenses { org, user } => {
                let Some(org) = self.org(org) else { return };
                if !self.user_exists(&org, user) {
                    return;
                }
                let before = self.user_profile(&org, user);
                if !before.is_active() || before.released().is_empty() {
                    return;
                }
                for direct in before.released() {
                    if self.fits(&org, user, direct) {
                        let holding = Holding::new(direct.license.capability.clone(), Source::Direct, direct.external)
                            .valid(direct.valid_from, direct.valid_until);
                        self.set_holding(&org, user, &direct.license.product, Some(holding));
                    }
                }
                let mut after = before.clone();
                after.directory_mut().released = Vec::new();
                self.emit(Change::UserUpdated { org, user: user.clone(), before, after });
            }
            Command::SetGroupProfile { org, group, profile } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) {
                    return;
                }
                self.set_group_profile(&org, group, profile.clone());
            }
            Command::DeleteUser { org, user } => {
                let Some(org) = self.org(org) else { return };
                if !self.user_exists(&org, user) {
                    return;
                }
                let (holdings, groups) = self
                    .state
                    .org(org.as_str())
                    .and_then(|o| o.users.get(user))
                    .map(|u| (u.holdings.clone(), u.groups.clone()))
                    .unwrap_or_default();
                for (product, holding) in holdings {
                    self.emit(Change::HoldingSet {
                        org: org.clone(),
                        user: user.clone(),
                        product,
                        before: Some(holding),
                        after: None,
                    });
                }
                for (group, seq) in groups {
                    self.emit(Change::MemberRemoved { org: org.clone(), group, user: user.clone(), seq });
                }
                let profile = self.user_profile(&org, user);
                self.emit(Change::UserDeleted { org, user: user.clone(), profile });
            }
            Command::CreateGroup { org, group, name } => {
                let Some(org) = self.org(org) else { return };
                if self.state.org(org.as_str()).is_some_and(|o| o.groups.contains_key(group)) {
                    let message = format!("group `{group}` already exists in organization `{org}`");
                    self.violate(Violation::new(Code::AlreadyExists, message));
                } else {
                    self.emit(Change::GroupCreated { org, group: group.clone(), name: name.clone() });
                }
            }
            Command::RenameGroup { org, group, name } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) {
                    return;
                }
                let before = self.state.org(org.as_str()).and_then(|o| o.groups.get(group)).map(|g| g.name.clone());
                let before = before.unwrap_or_default();
                if before != *name {
                    self.emit(Change::GroupRenamed { org, group: group.clone(), before, after: name.clone() });
                }
            }
            Command::DeleteGroup { org, group } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) {
                    return;
                }
                let Some(found) = self.state.org(org.as_str()).and_then(|o| o.groups.get(group)).cloned() else {
                    return;
                };
                self.set_rule(&org, group, Rule::default());
                self.set_group_profile(&org, group, None);
                for (seq, user) in found.members {
                    self.emit(Change::MemberRemoved {
                        org: org.clone(),
                        group: group.clone(),
                        user: user.clone(),
                        seq,
                    });
                    self.dirty_users.insert((org.key(), user));
                }
                self.emit(Change::GroupDeleted { org, group: group.clone(), name: found.name });
            }
            Command::AddMember { org, group, user } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) || !self.user_exists(&org, user) {
                    return;
                }
                let member = self
                    .state
                    .org(org.as_str())
                    .and_then(|o| o.users.get(user))
                    .is_some_and(|u| u.groups.contains_key(group));
                if !member {
                    let seq = self.state.next_member_seq();
                    self.emit(Change::MemberAdded { org: org.clone(), group: group.clone(), user: user.clone(), seq });
                    self.touch_rule_licenses(&org, group);
                }
            }
            Command::RemoveMember { org, group, user } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) || !self.user_exists(&org, user) {
                    return;
                }
                let seq = self
                    .state
                    .org(org.as_str())
                    .and_then(|o| o.users.get(user))
                    .and_then(|u| u.groups.get(group).copied());
                let Some(seq) = seq else {
                    let message = format!("user `{user}` is not a member of group `{group}`");
                    self.violate(Violation::new(Code::NotAMember, message).user(user));
                    return;
                };
                self.emit(Change::MemberRemoved { org: org.clone(), group: group.clone(), user: user.clone(), seq });
                self.dirty_users.insert((org.key(), user.clone()));
                self.touch_rule_licenses(&org, group);
            }
            Command::CreateTenant { org, tenant, name } => {
                let Some(org) = self.org(org) else { return };
                if self.state.org(org.as_str()).is_some_and(|o| o.tenants.contains_key(tenant)) {
                    let message = format!("tenant `{tenant}` already exists in organization `{org}`");
                    self.violate(Violation::new(Code::AlreadyExists, message));
                } else {
                    self.emit(Change::TenantCreated { org, tenant: tenant.clone(), name: name.clone() });
                }
            }
            Command::DeleteTenant { org, tenant } => {
                let Some(org) = self.org(org) else { return };
                let Some(found) = self.tenant(&org, tenant) else { return };
                for ((service, license), pool) in found.pools {
                    let scope = Scope::Tenant { org: org.clone(), tenant: tenant.clone(), service };
                    if pool.grant != Grant::default() {
                        self.emit(Change::PoolSet { scope, license, before: pool.grant, after: Grant::default() });
                    }
                }
                self.emit(Change::TenantDeleted { org, tenant: tenant.clone(), name: found.name });
            }
            Command::SetOrgPool { org, license, grant } => {
                let Some(org) = self.org(org) else { return };
                self.set_pool(Scope::Org { org }, license, None, grant);
            }
            Command::SetTenantPool { org, tenant, service, license, grant } => {
                let Some(org) = self.org(org) else { return };
                if self.tenant(&org, tenant).is_none() {
                    return;
                }
                let scope = Scope::Tenant { org, tenant: tenant.clone(), service: service.clone() };
                self.set_pool(scope, license, Some(ProductKind::Unit), grant);
            }
            Command::SetDirectLicenses { org, user, licenses } => {
                let Some(org) = self.org(org) else { return };
                if !self.user_exists(&org, user) {
                    return;
                }
                let Some(wanted) = self.direct_set(&org, user, licenses) else { return };
                let current = self.holdings(&org, user);
                for (product, holding) in current.iter() {
                    if holding.source == Source::Direct && !wanted.contains_key(product) {
                        self.set_holding(&org, user, product, None);
                    }
                }
                for (product, holding) in wanted {
                    self.set_holding(&org, user, &product, Some(holding));
                }
            }
            Command::SetUserLicense { org, user, product, license, overflow } => {
                let Some(org) = self.org(org) else { return };
                if !self.user_exists(&org, user) {
                    return;
                }
                match license {
                    None => {
                        let Some((key, _)) = self.product(product) else { return };
                        self.set_holding(&org, user, &key, None);
                    }
                    Some(license) => {
                        let license = if *overflow { self.overflowed(&org, user, license) } else { license.clone() };
                        let Some(wanted) = self.direct_set(&org, user, std::slice::from_ref(&license)) else { return };
                        for (product, holding) in wanted {
                            self.set_holding(&org, user, &product, Some(holding));
                        }
                    }
                }
            }
            Command::Expire { now } => {
                for (org_key, user, product) in self.state.ending_by(*now) {
                    let Some(org) = self.state.org(org_key.as_str()).map(|o| o.id.clone()) else { continue };
                    self.set_holding(&org, &user, &product, None);
                }
                for (scope, license) in self.state.pools_ending_by(*now) {
                    self.end_pool(&scope, &license);
                }
            }
            Command::SetGroupRule { org, group, rule } => {
                let Some(org) = self.org(org) else { return };
                if !self.group_exists(&org, group) {
                    return;
                }
                let mut licenses = Vec::new();
                let mut products = BTreeSet::new();
                for license in &rule.licenses {
                    let Some((key, _)) = self.license(license, Some(ProductKind::User)) else { continue };
                    if !rule.external && !self.pool_usable(&Scope::Org { org: org.clone() }, &key) {
                        continue;
                    }
                    if licenses.contains(&key) {
                        continue;
                    }
                    if !products.insert(key.product.clone()) {
                        let message = format!("the rule names two capabilities of `{}`", key.product);
                        self.violate(Violation::new(Code::ConflictingCapabilities, message).license(&key));
                        continue;
                    }
                    licenses.push(key);
                }
                self.set_rule(&org, group, Rule { licenses, external: rule.external });
            }
        }
    }

    /// Ends a pool grant and, first, everything drawn from it: organization grants of a host
    /// pool, tenant grants and unit-drawing holdings of an organization pool.
    fn end_pool(&mut self, scope: &Scope, license: &LicenseKey) {
        match scope {
            Scope::Host => {
                let orgs: Vec<OrgId> =
                    self.state.orgs().filter(|o| o.pool(license).grant.quantity > 0).map(|o| o.id.clone()).collect();
                for org in orgs {
                    self.end_pool(&Scope::Org { org }, license);
                }
            }
            Scope::Org { org } => {
                let Some(o) = self.state.org(org.as_str()) else { return };
                let tenants: Vec<Scope> = o
                    .tenants
                    .values()
                    .flat_map(|t| {
                        t.pools.iter().filter(|((_, l), p)| l == license && p.grant.quantity > 0).map(
                            |((service, _), _)| Scope::Tenant {
                                org: org.clone(),
                                tenant: t.id.clone(),
                                service: service.clone(),
                            },
                        )
                    })
                    .collect();
                let holders: Vec<UserId> = o
                    .users
                    .iter()
                    .filter(|(_, u)| {
                        u.holdings
                            .get(&license.product)
                            .is_some_and(|h| h.draws_unit() && h.capability == license.capability)
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for tenant in tenants {
                    self.end_pool(&tenant, license);
                }
                for user in holders {
                    self.set_holding(org, &user, &license.product, None);
                }
            }
            Scope::Tenant { .. } => {}
        }
        let before = self.state.pool(scope, license).grant;
        if before != Grant::default() {
            self.emit(Change::PoolSet {
                scope: scope.clone(),
                license: license.clone(),
                before,
                after: Grant::default(),
            });
        }
    }

    fn user_profile(&self, org: &OrgId, user: &UserId) -> crate::state::UserProfile {
        self.state.org(org.as_str()).and_then(|o| o.users.get(user)).map(|u| u.profile.clone()).unwrap_or_default()
    }

    fn holdings(&self, org: &OrgId, user: &UserId) -> crate::state::Holdings {
        self.state.org(org.as_str()).and_then(|o| o.users.get(user)).map(|u| u.holdings.clone()).unwrap_or_default()
    }

    fn tenant(&mut self, org: &OrgId, tenant: &crate::ids::TenantId) -> Option<crate::state::Tenant> {
        let found = self.state.org(org.as_str()).and_then(|o| o.tenants.get(tenant)).cloned();
        if found.is_none() {
            let message = format!("tenant `{tenant}` does not exist in organization `{org}`");
            self.violate(Violation::new(Code::UnknownTenant, message));
        }
        found
    }

    fn product(&mut self, product: &ProductCode) -> Option<(ProductCode, Product)> {
        let found = self.state.catalogue().get(product.as_str()).cloned();
        match found {
            Some(p) => Some((p.code.clone(), p)),
            None => {
                let message = format!("license code `{product}` is not in the catalogue");
                self.violate(Violation::new(Code::UnknownLicense, message));
                None
            }
        }
    }

    /// Resolves a set of direct licenses into holdings by product, with violations for
    /// unknown or wrong-kind licenses, two capabilities of one product, and bad dates.
    /// Each new unit must come from a pool the organization holds.
    fn direct_set(
        &mut self,
        org: &OrgId,
        user: &UserId,
        licenses: &[DirectLicense],
    ) -> Option<BTreeMap<ProductCode, Holding>> {
        if !licenses.is_empty() && !self.user_profile(org, user).is_active() {
            let message = format!("user `{user}` is deactivated: an inactive user holds no licenses");
            self.violate(Violation::new(Code::UserInactive, message).user(user));
            return None;
        }
        let mut wanted = BTreeMap::new();
        let mut ok = true;
        let current = self.holdings(org, user);
        for direct in licenses {
            let Some((key, _)) = self.license(&direct.license, Some(ProductKind::User)) else {
                ok = false;
                continue;
            };
            if !dates_ok(self, direct.valid_from, direct.valid_until, &key) {
                ok = false;
                continue;
            }
            let holding = Holding::new(key.capability.clone(), Source::Direct, direct.external)
                .valid(direct.valid_from, direct.valid_until);
            let draws_already =
                current.get(&key.product).is_some_and(|h| h.draws_unit() && h.capability == key.capability);
            if holding.draws_unit() && !draws_already && !self.pool_usable(&Scope::Org { org: org.clone() }, &key) {
                ok = false;
                continue;
            }
            match wanted.insert(key.product.clone(), holding) {
                Some(other) if other.capability != key.capability => {
                    let message = format!("user `{user}` can hold only one capability of `{}`", key.product);
                    self.violate(Violation::new(Code::ConflictingCapabilities, message).license(&key).user(user));
                    ok = false;
                }
                _ => {}
            }
        }
        ok.then_some(wanted)
    }

    fn set_holding(&mut self, org: &OrgId, user: &UserId, product: &ProductCode, after: Option<Holding>) {
        let before = self.holdings(org, user).remove(product);
        if before != after {
            self.emit(Change::HoldingSet {
                org: org.clone(),
                user: user.clone(),
                product: product.clone(),
                before,
                after,
            });
            self.dirty_users.insert((org.key(), user.clone()));
        }
    }

    fn set_group_profile(&mut self, org: &OrgId, group: &crate::ids::GroupId, after: Option<GroupProfile>) {
        let found = self.state.org(org.as_str()).and_then(|o| o.groups.get(group));
        let before = found.and_then(|g| g.profile.as_deref().cloned());
        if before != after {
            self.emit(Change::GroupProfileSet { org: org.clone(), group: group.clone(), before, after });
        }
    }

    /// Releases every license `user` holds, direct and inherited; answers the direct ones.
    fn release_all(&mut self, org: &OrgId, user: &UserId) -> Vec<DirectLicense> {
        let mut direct = Vec::new();
        for (product, holding) in self.holdings(org, user) {
            if holding.source == Source::Direct {
                direct.push(DirectLicense {
                    license: holding.license(&product),
                    external: holding.external,
                    valid_from: holding.valid_from(),
                    valid_until: holding.valid_until(),
                });
            }
            self.set_holding(org, user, &product, None);
        }
        direct
    }

    /// Whether `user` could be given `direct` now without a violation: the product not held
    /// already, a unit free in a pool valid now (for a license that draws one), still within
    /// its own dates, and nothing held that refuses it.
    fn fits(&self, org: &OrgId, user: &UserId, direct: &DirectLicense) -> bool {
        let Some(o) = self.state.org(org.as_str()) else { return false };
        let key = &direct.license;
        let held = o.users.get(user).is_some_and(|u| u.holdings.contains_key(&key.product));
        let pool = o.pool(key);
        let unit = direct.external || (pool.grant.is_valid_at(self.now) && pool.available() > 0);
        let current = direct.valid_until.is_none_or(|until| until > self.now);
        !held && unit && current && self.eligible_for(&org.key(), user, key)
    }

    fn set_rule(&mut self, org: &OrgId, group: &crate::ids::GroupId, after: Rule) {
        let Some(found) = self.state.org(org.as_str()).and_then(|o| o.groups.get(group)).cloned() else { return };
        if found.rule == after {
            return;
        }
        for license in found.rule.licenses.iter().chain(&after.licenses) {
            self.dirty_licenses.insert((org.key(), license.clone()));
        }
        for user in found.members.values() {
            self.dirty_users.insert((org.key(), user.clone()));
        }
        self.emit(Change::RuleSet { org: org.clone(), group: group.clone(), before: found.rule, after });
    }

    fn touch_rule_licenses(&mut self, org: &OrgId, group: &crate::ids::GroupId) {
        let licenses = self.state.org(org.as_str()).and_then(|o| o.groups.get(group)).map(|g| g.rule.licenses.clone());
        for license in licenses.unwrap_or_default() {
            self.dirty_licenses.insert((org.key(), license));
        }
    }

    /// Group inheritance: drop inherited holdings no rule backs any more, then grant waiting
    /// members in order of joining while units are free (first come, first served).
    fn reconcile_groups(&mut self) {
        for (org_key, user) in std::mem::take(&mut self.dirty_users) {
            let Some(org) = self.state.org(org_key.as_str()) else { continue };
            let Some(found) = org.users.get(&user) else { continue };
            let stale: Vec<(ProductCode, Holding)> = found
                .holdings
                .iter()
                .filter(|(product, holding)| match &holding.source {
                    Source::Direct => false,
                    Source::Group(group) => {
                        let backed = found.groups.contains_key(group)
                            && org.groups.get(group).is_some_and(|g| {
                                g.rule.grants(&holding.license(product)) && g.rule.external == holding.external
                            });
                        !backed
                    }
                })
                .map(|(p, h)| (p.clone(), h.clone()))
                .collect();
            // Whatever the user's groups grant may now be theirs to inherit.
            let inheritable: Vec<LicenseKey> = found
                .groups
                .keys()
                .filter_map(|group| org.groups.get(group))
                .flat_map(|group| group.rule.licenses.iter().cloned())
                .collect();
            self.dirty_licenses.extend(inheritable.into_iter().map(|license| (org_key.clone(), license)));
            let org_id = org.id.clone();
            for (product, holding) in stale {
                self.emit(Change::HoldingSet {
                    org: org_id.clone(),
                    user: user.clone(),
                    product,
                    before: Some(holding),
                    after: None,
                });
            }
        }
        for (org_key, license) in std::mem::take(&mut self.dirty_licenses) {
            let Some(org) = self.state.org(org_key.as_str()) else { continue };
            let org_id = org.id.clone();
            let pool = org.pool(&license);
            let mut free = if pool.grant.is_valid_at(self.now) { pool.available().max(0) } else { 0 };
            let waiting: Vec<_> = org
                .waiting(&license)
                .into_iter()
                .map(|(_, user, group, external)| (user.clone(), group.clone(), external))
                .collect();
            for (user, group, external) in waiting {
                // A rule cannot give a product to a holder it is refused to: they stay waiting.
                if !self.eligible_for(&org_key, &user, &license) {
                    continue;
                }
                if !external {
                    if free == 0 {
                        continue;
                    }
                    free -= 1;
                }
                let holding = Holding::new(license.capability.clone(), Source::Group(group), external);
                self.emit(Change::HoldingSet {
                    org: org_id.clone(),
                    user,
                    product: license.product.clone(),
                    before: None,
                    after: Some(holding),
                });
            }
        }
    }

    /// `license` as asked, or its capability's overflow when that capability's pool has no
    /// unit left for the user (who does not hold it already) and the product names one.
    fn overflowed(&self, org: &OrgId, user: &UserId, license: &DirectLicense) -> DirectLicense {
        let Ok((key, product)) = self.state.catalogue().resolve(&license.license) else { return license.clone() };
        let info = key.capability.as_ref().and_then(|c| product.capability(c.as_str()));
        let Some(overflow) = info.and_then(|i| i.overflow.clone()) else { return license.clone() };
        let held = self.holdings(org, user).get(&key.product).map(|h| h.capability.clone());
        let Some(o) = self.state.org(org.as_str()) else { return license.clone() };
        let full = o.pool(&key).available() <= 0;
        let overflow_key = LicenseKey { product: key.product.clone(), capability: Some(overflow) };
        // A user already drawing from either pool keeps its place.
        if !full || license.external || held == Some(key.capability.clone()) {
            return license.clone();
        }
        DirectLicense { license: overflow_key, ..license.clone() }
    }

    /// Whether `user` may hold `license`: no holding of theirs is one the product is refused
    /// to, nor does any product they hold refuse holders of `license`.
    fn eligible_for(&self, org: &OrgKey, user: &UserId, license: &LicenseKey) -> bool {
        let catalogue = self.state.catalogue();
        let Some(found) = self.state.org(org.as_str()).and_then(|o| o.users.get(user)) else { return true };
        let Some(product) = catalogue.get(license.product.as_str()) else { return true };
        found.holdings.iter().all(|(held_product, holding)| {
            let held = holding.license(held_product);
            product.allows_holder_of(&held)
                && catalogue.get(held_product.as_str()).is_none_or(|p| p.allows_holder_of(license))
        })
    }

    /// Eligibility: every user whose holdings the plan changed holds nothing a product they
    /// hold is refused to, however the two came together (a product given, a role changed).
    fn check_eligibility(&mut self) {
        let touched: BTreeSet<(OrgId, UserId)> = self
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::HoldingSet { org, user, after: Some(_), .. } => Some((org.clone(), user.clone())),
                _ => None,
            })
            .collect();
        for (org, user) in touched {
            let Some(found) = self.state.org(org.as_str()).and_then(|o| o.users.get(&user)) else { continue };
            let catalogue = self.state.catalogue();
            let mut refused = Vec::new();
            for (product, holding) in found.holdings.iter() {
                let Some(info) = catalogue.get(product.as_str()) else { continue };
                for (other_product, other) in found.holdings.iter() {
                    let other = other.license(other_product);
                    if !info.allows_holder_of(&other) {
                        refused.push((holding.license(product), info.name.clone(), other));
                    }
                }
            }
            for (license, name, other) in refused {
                let message = format!("{name} (`{license}`) is not available to holders of `{other}`: user `{user}`");
                self.violate(Violation::new(Code::NotEligible, message).license(&license).user(&user));
            }
        }
    }

    /// The invariant: no pool allocates more than its quantity.
    fn check_pools(&mut self) {
        let touched: Vec<_> = self.pools_before.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for ((scope, license), before) in touched {
            let after = self.state.pool(&scope, &license);
            if after.allocated <= after.grant.quantity {
                continue;
            }
            let holder = holder(&scope);
            let requested = after.allocated - before.allocated;
            let mut violation = if after.grant.quantity < before.grant.quantity && requested <= 0 {
                let message = format!(
                    "{holder} has passed on {} `{license}` licenses; its quantity cannot go down to {}",
                    after.allocated, after.grant.quantity
                );
                Violation::new(Code::QuantityInUse, message)
            } else {
                let message = format!(
                    "{holder} has {} `{license}` licenses available; the change needs {requested}",
                    before.available().max(0)
                );
                Violation::new(Code::LicenseLimitExceeded, message)
            }
            .license(&license)
            .scope(&scope);
            violation.available = Some(before.available().max(0));
            violation.requested = Some(requested);
            self.violate(violation);
        }
    }
}

fn dates_ok(
    planner: &mut Planner<'_>,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    license: &LicenseKey,
) -> bool {
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        let message = format!("`{license}`: valid_from must be before valid_until");
        planner.violate(Violation::new(Code::InvalidDates, message).license(license));
        return false;
    }
    true
}

/// How messages name the holder of a pool.
fn holder(scope: &Scope) -> String {
    match scope {
        Scope::Host => "the host".to_owned(),
        Scope::Org { org } => format!("organization `{org}`"),
        Scope::Tenant { tenant, service, .. } => format!("tenant `{tenant}` ({service})"),
    }
}

/// The scope a grant at `scope` is drawn from.
pub fn parent_of(scope: &Scope) -> Option<Scope> {
    match scope {
        Scope::Host => None,
        Scope::Org { .. } => Some(Scope::Host),
        Scope::Tenant { org, .. } => Some(Scope::Org { org: org.clone() }),
    }
}

/// The pools whose balance a change moves.
fn touched_pools(change: &Change) -> Vec<(Scope, LicenseKey)> {
    match change {
        Change::PoolSet { scope, license, .. } => {
            let mut pools = vec![(scope.clone(), license.clone())];
            pools.extend(parent_of(scope).map(|parent| (parent, license.clone())));
            pools
        }
        Change::HoldingSet { org, product, before, after, .. } => [before, after]
            .into_iter()
            .flatten()
            .filter(|h| h.draws_unit())
            .map(|h| (Scope::Org { org: org.clone() }, h.license(product)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod unwinding {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::ids::OrgId;

    /// A panic in the middle of a plan, after it changed the state, unwinds through the
    /// planner: the state is the one planned on, not a half-planned one.
    #[test]
    fn a_panic_while_planning_leaves_the_state_as_it_was() {
        let org = OrgId::parse("song-one").unwrap();
        let mut state = State::default();
        let created = plan(&mut state, &[Command::CreateOrg { org: org.clone(), name: "Song".into() }], 0);
        state.apply_all(1, &created.changes).unwrap();
        let before = format!("{state:?}");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut planner = Planner {
                base_revision: state.revision(),
                state: &mut state,
                now: 0,
                changes: Vec::new(),
                violations: Vec::new(),
                pools_before: BTreeMap::new(),
                dirty_users: BTreeSet::new(),
                dirty_licenses: BTreeSet::new(),
            };
            for n in 0..100 {
                let user = UserId::parse(&format!("u{n}")).unwrap();
                planner.run(&Command::CreateUser { org: org.clone(), user, profile: Default::default() });
            }
            assert_eq!(planner.changes.len(), 100, "the plan changed the state before the panic");
            panic!("a bug in the planner");
        }));
        assert!(panicked.is_err());
        assert_eq!(format!("{state:?}"), before);
    }
}
