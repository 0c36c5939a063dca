//! The whole license state of an installation, in memory: what the check answers from and
//! what the planner plans against. It changes only by [`Change`] events, the same events
//! the ledger stores, so the state is always a replay of the ledger.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::change::{Change, Scope};
use crate::cow::CowMap;
use crate::ids::{
    Capability, GroupId, LicenseKey, OrgId, OrgKey, ProductCode, ServiceType, TenantId, Timestamp, UserId,
};

/// What a pool was granted: a quantity and an optional validity window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

impl Grant {
    pub fn quantity(quantity: i64) -> Self {
        Self { quantity, ..Self::default() }
    }

    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        within(self.valid_from, self.valid_until, now)
    }
}

/// Whether `now` lies in the window from `from` (inclusive) to `until` (exclusive).
fn within(from: Option<Timestamp>, until: Option<Timestamp>, now: Timestamp) -> bool {
    from.is_none_or(|from| from <= now) && until.is_none_or(|until| now < until)
}

/// One scope's balance of one license. `allocated` counts what the scope passed on:
/// child grants and, at organization scope, units held by users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub grant: Grant,
    pub allocated: i64,
}

impl Pool {
    pub fn available(&self) -> i64 {
        self.grant.quantity - self.allocated
    }

    pub fn is_empty(&self) -> bool {
        self.grant.quantity == 0 && self.allocated == 0
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds licenses; may not use the API.
    #[default]
    Member,
    /// May read the organization's data.
    Reader,
    /// May read and change the organization's data.
    Admin,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    #[serde(default)]
    pub name: String,
    /// A boxed `str`, 8 bytes smaller than a `String`: the room the directory's pointer takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Box<str>>,
    #[serde(default)]
    pub role: Role,
    /// What a directory (UiPath's identity API) records beyond these; rarely set, so out of
    /// line, as a million users are held in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Box<DirectoryProfile>>,
}

/// A user's directory entry: the fields of UiPath's identity API that allot stores and answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirectoryProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Inactive users cannot log in.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inactive: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bypass_basic_auth_restriction: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub invitation_accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// A contact center's account of the user (the Vonage dialect's), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_center: Option<Box<crate::profile::ContactCenterProfile>>,
    /// An identity provider's record of the user (SCIM's), if one provisioned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim: Option<Box<crate::profile::ScimProfile>>,
    /// The direct licenses the user held when deactivated, which a reactivation may give
    /// back ([`crate::Command::RestoreLicenses`]). Set by the planner.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<crate::command::DirectLicense>,
}

impl UserProfile {
    /// Whether the user is active: may log in, hold licenses and wait for them. A user
    /// deactivated in the directory holds nothing.
    pub fn is_active(&self) -> bool {
        !self.directory.as_ref().is_some_and(|d| d.inactive)
    }

    /// The directory's user name (a contact center's username), if one is set.
    pub fn user_name(&self) -> Option<&str> {
        self.directory.as_deref().and_then(|d| d.user_name.as_deref())
    }

    /// The user's contact center account, if it has one.
    pub fn contact_center(&self) -> Option<&crate::profile::ContactCenterProfile> {
        self.directory.as_deref().and_then(|d| d.contact_center.as_deref())
    }

    /// The identity provider's record of the user, if one provisioned it.
    pub fn scim(&self) -> Option<&crate::profile::ScimProfile> {
        self.directory.as_deref().and_then(|d| d.scim.as_deref())
    }

    /// The direct licenses the user's deactivation released.
    pub fn released(&self) -> &[crate::command::DirectLicense] {
        self.directory.as_deref().map_or(&[], |d| d.released.as_slice())
    }

    /// The directory entry, to change: the one there is, or an empty one.
    pub fn directory_mut(&mut self) -> &mut DirectoryProfile {
        self.directory.get_or_insert_with(Box::default)
    }

    /// The directory's surname, if one is set.
    pub fn surname(&self) -> Option<&str> {
        self.directory.as_deref().and_then(|d| d.surname.as_deref())
    }

    /// The display name: the one set, else name and surname, as a directory shows a user.
    pub fn display_name(&self) -> String {
        if let Some(set) = self.directory.as_deref().and_then(|d| d.display_name.clone()) {
            return set;
        }
        match self.surname() {
            Some(surname) => format!("{} {surname}", self.name).trim().to_owned(),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "group")]
pub enum Source {
    Direct,
    Group(GroupId),
}

/// A user's holding of one product. Laid out small, as a million users hold a few each:
/// the validity window, rarely set, lives out of line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "HoldingFields", into = "HoldingFields")]
pub struct Holding {
    pub capability: Option<Capability>,
    pub source: Source,
    /// Recorded but drawing no unit: the license comes from outside the organization.
    pub external: bool,
    /// `None` when the holding has neither start nor end.
    window: Option<Box<Window>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl Holding {
    /// A holding valid at all times.
    pub fn new(capability: Option<Capability>, source: Source, external: bool) -> Self {
        Self { capability, source, external, window: None }
    }

    /// The same holding, valid from `from` (inclusive) until `until` (exclusive).
    pub fn valid(mut self, from: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        let unbounded = from.is_none() && until.is_none();
        self.window = (!unbounded).then(|| Box::new(Window { from, until }));
        self
    }

    pub fn valid_from(&self) -> Option<Timestamp> {
        self.window.as_ref().and_then(|w| w.from)
    }

    pub fn valid_until(&self) -> Option<Timestamp> {
        self.window.as_ref().and_then(|w| w.until)
    }

    pub fn license(&self, product: &ProductCode) -> LicenseKey {
        LicenseKey { product: product.clone(), capability: self.capability.clone() }
    }

    pub fn draws_unit(&self) -> bool {
        !self.external
    }

    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        within(self.valid_from(), self.valid_until(), now)
    }
}

/// A holding as the ledger and the store spell it.
#[derive(Serialize, Deserialize)]
struct HoldingFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capability: Option<Capability>,
    source: Source,
    #[serde(default)]
    external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<Timestamp>,
}

impl From<HoldingFields> for Holding {
    fn from(fields: HoldingFields) -> Self {
        Holding::new(fields.capability, fields.source, fields.external).valid(fields.valid_from, fields.valid_until)
    }
}

impl From<Holding> for HoldingFields {
    fn from(holding: Holding) -> Self {
        HoldingFields {
            valid_from: holding.valid_from(),
            valid_until: holding.valid_until(),
            capability: holding.capability,
            source: holding.source,
            external: holding.external,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub licenses: Vec<LicenseKey>,
    #[serde(default)]
    pub external: bool,
}

impl Rule {
    pub fn grants(&self, license: &LicenseKey) -> bool {
        self.licenses.contains(license)
    }
}

/// A user's holdings by product, in product order: a vector sized to what is held, as most
/// users hold a handful (a map's node would take a kilobyte each, a million users over).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings(Vec<(ProductCode, Holding)>);

impl Holdings {
    fn find(&self, product: &ProductCode) -> Result<usize, usize> {
        self.0.binary_search_by(|(held, _)| held.cmp(product))
    }

    pub fn get(&self, product: &ProductCode) -> Option<&Holding> {
        self.find(product).ok().map(|at| &self.0[at].1)
    }

    pub fn contains_key(&self, product: &ProductCode) -> bool {
        self.find(product).is_ok()
    }

    /// Sets the holding of `product`; answers the one it replaces.
    pub fn insert(&mut self, product: ProductCode, holding: Holding) -> Option<Holding> {
        match self.find(&product) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, holding)),
            Err(at) => {
                self.0.reserve_exact(1);
                self.0.insert(at, (product, holding));
                None
            }
        }
    }

    pub fn remove(&mut self, product: &ProductCode) -> Option<Holding> {
        let removed = self.find(product).ok().map(|at| self.0.remove(at).1);
        self.0.shrink_to_fit();
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ProductCode, &Holding)> {
        self.0.iter().map(|(product, holding)| (product, holding))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Holdings {
    type Item = (ProductCode, Holding);
    type IntoIter = std::vec::IntoIter<(ProductCode, Holding)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A user, kept in its organization's map under its id.
#[derive(Debug, Clone)]
pub struct User {
    pub profile: UserProfile,
    pub holdings: Holdings,
    /// Groups the user belongs to, with the sequence number of joining (first come, first served).
    pub groups: BTreeMap<GroupId, u64>,
}

impl User {
    pub fn new(profile: UserProfile) -> Self {
        Self { profile, holdings: Holdings::default(), groups: BTreeMap::new() }
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub rule: Rule,
    /// Members in order of joining.
    pub members: BTreeMap<u64, UserId>,
    /// An identity provider's record of the group (SCIM's), if one provisioned it.
    pub profile: Option<Box<crate::profile::GroupProfile>>,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub pools: BTreeMap<(ServiceType, LicenseKey), Pool>,
}

#[derive(Debug, Clone)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub users: CowMap<UserId, User>,
    /// Short runs: a group holds its members, so a run is costly to copy.
    pub groups: CowMap<GroupId, Group, 8>,
    pub tenants: BTreeMap<TenantId, Tenant>,
    pub pools: BTreeMap<LicenseKey, Pool>,
}

impl Org {
    pub fn pool(&self, license: &LicenseKey) -> Pool {
        self.pools.get(license).copied().unwrap_or_default()
    }

    /// Members waiting for `license` through a group rule, first in line first: members of
    /// groups whose rule grants it, holding no capability of its product.
    pub fn waiting(&self, license: &LicenseKey) -> Vec<(u64, &UserId, &GroupId, bool)> {
        let mut waiting: Vec<_> = self
            .groups
            .values()
            .filter(|group| group.rule.grants(license))
            .flat_map(|group| group.members.iter().map(move |(seq, user)| (*seq, user, &group.id, group.rule.external)))
            .filter(|(_, user, _, _)| {
                self.users
                    .get(*user)
                    .is_some_and(|u| u.profile.is_active() && !u.holdings.contains_key(&license.product))
            })
            .collect();
        waiting.sort_by_key(|(seq, ..)| *seq);
        // A member of two such groups waits once, at their earliest place in line.
        let mut seen = std::collections::HashSet::new();
        waiting.retain(|(_, user, ..)| seen.insert(*user));
        waiting
    }
}

/// Why a change event does not fit the state it is applied to: a ledger that does not
/// replay, or a plan applied to a state it was not computed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change does not fit the state: {0}")]
pub struct Inconsistent(pub String);

#[derive(Debug, Clone)]
pub struct State {
    revision: u64,
    catalogue: Catalogue,
    host_pools: BTreeMap<LicenseKey, Pool>,
    /// Shared with copies of the state until changed (see [`CowMap`]).
    orgs: HashMap<OrgKey, Arc<Org>>,
    next_member_seq: u64,
    /// Holdings with an end, by when they end: what expiry has to look at, and no more.
    ending: CowMap<(Timestamp, OrgKey, UserId, ProductCode), ()>,
    /// Pool grants with an end, by when they end.
    ending_pools: CowMap<(Timestamp, Scope, LicenseKey), ()>,
}

impl Default for State {
    fn default() -> Self {
        Self::new(Catalogue::default_products())
    }
}

impl State {
    pub fn new(catalogue: Catalogue) -> Self {
        Self {
            revision: 0,
            catalogue,
            host_pools: BTreeMap::new(),
            orgs: HashMap::new(),
            next_member_seq: 1,
            ending: CowMap::new(),
            ending_pools: CowMap::new(),
        }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn org(&self, id: &str) -> Option<&Org> {
        self.orgs.get(&*OrgKey::canonical(id)).map(|org| &**org)
    }

    pub fn orgs(&self) -> impl Iterator<Item = &Org> {
        self.orgs.values().map(|org| &**org)
    }

    pub fn host_pools(&self) -> &BTreeMap<LicenseKey, Pool> {
        &self.host_pools
    }

    pub fn host_pool(&self, license: &LicenseKey) -> Pool {
        self.host_pools.get(license).copied().unwrap_or_default()
    }

    pub fn pool(&self, scope: &Scope, license: &LicenseKey) -> Pool {
        match scope {
            Scope::Host => self.host_pool(license),
            Scope::Org { org } => self.org(org.as_str()).map(|o| o.pool(license)).unwrap_or_default(),
            Scope::Tenant { org, tenant, service } => self
                .org(org.as_str())
                .and_then(|o| o.tenants.get(tenant))
                .and_then(|t| t.pools.get(&(service.clone(), license.clone())).copied())
                .unwrap_or_default(),
        }
    }

    /// Sets the revision of a state built from stored rows rather than from the ledger.
    pub fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// Every pool with a grant or an allocation, by scope and license.
    pub fn balances(&self) -> BTreeMap<(Scope, LicenseKey), Pool> {
        let mut balances = BTreeMap::new();
        for (license, pool) in &self.host_pools {
            balances.insert((Scope::Host, license.clone()), *pool);
        }
        for org in self.orgs.values() {
            for (license, pool) in &org.pools {
                balances.insert((Scope::Org { org: org.id.clone() }, license.clone()), *pool);
            }
            for tenant in org.tenants.values() {
                for ((service, license), pool) in &tenant.pools {
                    let scope =
                        Scope::Tenant { org: org.id.clone(), tenant: tenant.id.clone(), service: service.clone() };
                    balances.insert((scope, license.clone()), *pool);
                }
            }
        }
        balances.retain(|_, pool| !pool.is_empty());
        balances
    }

    /// Every holding, by organization, user and product.
    pub fn all_holdings(&self) -> BTreeMap<(OrgKey, UserId, ProductCode), Holding> {
        self.orgs
            .iter()
            .flat_map(|(key, org)| {
                org.users.iter().flat_map(move |(id, user)| {
                    user.holdings
                        .iter()
                        .map(move |(product, h)| ((key.clone(), id.clone(), product.clone()), h.clone()))
                })
            })
            .collect()
    }

    /// When the next holding or pool grant ends, if any does.
    pub fn next_ending(&self) -> Option<Timestamp> {
        let holding = self.ending.first_key().map(|(until, ..)| *until);
        let pool = self.ending_pools.first_key().map(|(until, ..)| *until);
        holding.into_iter().chain(pool).min()
    }

    /// Holdings of organization `org` that end after `from` and at or before `until`, in
    /// order of ending: (when, user, product). The window is found by a binary search; the
    /// organization's are picked from it.
    pub fn holdings_ending<'a>(
        &'a self,
        org: &'a OrgKey,
        from: Timestamp,
        until: Timestamp,
    ) -> impl Iterator<Item = (Timestamp, &'a UserId, &'a ProductCode)> + 'a {
        let window = self.ending.keys_within(|(at, ..)| *at, from, until);
        window.filter(move |(_, o, ..)| o == org).map(|(at, _, user, product)| (*at, user, product))
    }

    /// Pool grants of organization `org` (its own and its tenants') that end after `from`
    /// and at or before `until`, in order of ending.
    pub fn pools_ending<'a>(
        &'a self,
        org: &'a OrgKey,
        from: Timestamp,
        until: Timestamp,
    ) -> impl Iterator<Item = (Timestamp, &'a Scope, &'a LicenseKey)> + 'a {
        let window = self.ending_pools.keys_within(|(at, ..)| *at, from, until);
        let of_org = move |scope: &Scope| scope.org().is_some_and(|o| OrgKey::canonical(o.as_str()) == org.as_str());
        window.filter(move |(_, scope, _)| of_org(scope)).map(|(at, s, l)| (*at, s, l))
    }

    /// Pool grants that end at or before `now`.
    pub fn pools_ending_by(&self, now: Timestamp) -> Vec<(Scope, LicenseKey)> {
        self.ending_pools
            .keys()
            .take_while(|(until, ..)| *until <= now)
            .map(|(_, s, l)| (s.clone(), l.clone()))
            .collect()
    }

    /// Holdings that end at or before `now`: (organization, user, product).
    pub fn ending_by(&self, now: Timestamp) -> Vec<(OrgKey, UserId, ProductCode)> {
        self.ending
            .keys()
            .take_while(|(until, ..)| *until <= now)
            .map(|(_, o, u, p)| (o.clone(), u.clone(), p.clone()))
            .collect()
    }

    pub(crate) fn next_member_seq(&self) -> u64 {
        self.next_member_seq
    }

    /// Applies one plan's changes as revision `revision`. All or nothing: on an
    /// inconsistency the changes applied so far are undone.
    pub fn apply_all(&mut self, revision: u64, changes: &[Change]) -> Result<(), Inconsistent> {
        for (done, change) in changes.iter().enumerate() {
            if let Err(error) = self.apply(change) {
                self.revert(&changes[..done]);
                return Err(error);
            }
        }
        if !changes.is_empty() {
            self.revision = revision;
        }
        Ok(())
    }

    /// Takes back changes applied with [`State::apply_all`], newest first, and returns to
    /// `revision`.
    pub fn revert_all(&mut self, revision: u64, changes: &[Change]) {
        self.revert(changes);
        self.revision = revision;
    }

    /// Undoes changes applied with [`State::apply`], newest first.
    pub(crate) fn revert(&mut self, changes: &[Change]) {
        for change in changes.iter().rev() {
            // The inverse of an applied change always fits: it restores what `apply` checked.
            let _ = self.apply(&change.inverse());
        }
    }

    /// Applies one change. Every `before` in the change must match the state.
    pub fn apply(&mut self, change: &Change) -> Result<(), Inconsistent> {
        match change {
            Change::ProductAdded { product } => {
                if self.catalogue.get(product.code.as_str()).is_some() {
                    return Err(Inconsistent(format!("product {} exists", product.code)));
                }
                self.catalogue.insert(product.clone());
            }
            Change::ProductRemoved { product } => self.catalogue.remove(&product.code),
            Change::OrgCreated { org, name } => {
                if self.orgs.contains_key(&org.key()) {
                    return Err(Inconsistent(format!("organization {org} exists")));
                }
                let created = Org {
                    id: org.clone(),
                    name: name.clone(),
                    users: CowMap::new(),
                    groups: CowMap::new(),
                    tenants: BTreeMap::new(),
                    pools: BTreeMap::new(),
                };
                self.orgs.insert(org.key(), Arc::new(created));
            }
            Change::OrgRenamed { org, before, after } => {
                let o = self.org_mut(org)?;
                expect_eq(&o.name, before, "organization name")?;
                o.name = after.clone();
            }
            Change::OrgDeleted { org, .. } => {
                self.orgs.remove(&org.key()).ok_or_else(|| missing("organization", org))?;
            }
            Change::UserCreated { org, user, profile } => {
                let o = self.org_mut(org)?;
                if o.users.contains_key(user) {
                    return Err(Inconsistent(format!("user {user} exists")));
                }
                o.users.insert(user.clone(), User::new(profile.clone()));
            }
            Change::UserUpdated { org, user, before, after } => {
                let u = self.user_mut(org, user)?;
                expect_eq(&u.profile, before, "user profile")?;
                u.profile = after.clone();
            }
            Change::UserDeleted { org, user, .. } => {
                let o = self.org_mut(org)?;
                let removed = o.users.remove(user).ok_or_else(|| missing("user", user))?;
                if !removed.holdings.is_empty() || !removed.groups.is_empty() {
                    o.users.insert(user.clone(), removed);
                    return Err(Inconsistent(format!("user {user} still holds licenses or groups")));
                }
            }
            Change::GroupCreated { org, group, name } => {
                let o = self.org_mut(org)?;
                if o.groups.contains_key(group) {
                    return Err(Inconsistent(format!("group {group} exists")));
                }
                let created = Group {
                    id: group.clone(),
                    name: name.clone(),
                    rule: Rule::default(),
                    members: BTreeMap::new(),
                    profile: None,
                };
                o.groups.insert(group.clone(), created);
            }
            Change::GroupRenamed { org, group, before, after } => {
                let o = self.org_mut(org)?;
                let g = o.groups.get_mut(group).ok_or_else(|| missing("group", group))?;
                expect_eq(&g.name, before, "group name")?;
                g.name = after.clone();
            }
            Change::GroupProfileSet { org, group, before, after } => {
                let o = self.org_mut(org)?;
                let g = o.groups.get_mut(group).ok_or_else(|| missing("group", group))?;
                expect_eq(&g.profile.as_deref(), &before.as_ref(), "group profile")?;
                g.profile = after.clone().map(Box::new);
            }
            Change::GroupDeleted { org, group, .. } => {
                let o = self.org_mut(org)?;
                let g = o.groups.get(group).ok_or_else(|| missing("group", group))?;
                if g.profile.is_some() {
                    return Err(Inconsistent(format!("group {group} still has a profile")));
                }
                o.groups.remove(group);
            }
            Change::TenantCreated { org, tenant, name } => {
                let o = self.org_mut(org)?;
                if o.tenants.contains_key(tenant) {
                    return Err(Inconsistent(format!("tenant {tenant} exists")));
                }
                o.tenants
                    .insert(tenant.clone(), Tenant { id: tenant.clone(), name: name.clone(), pools: BTreeMap::new() });
            }
            Change::TenantDeleted { org, tenant, .. } => {
                let o = self.org_mut(org)?;
                o.tenants.remove(tenant).ok_or_else(|| missing("tenant", tenant))?;
            }
            Change::MemberAdded { org, group, user, seq } => {
                let o = self.org_mut(org)?;
                let u = o.users.get_mut(user).ok_or_else(|| missing("user", user))?;
                let g = o.groups.get_mut(group).ok_or_else(|| missing("group", group))?;
                if u.groups.insert(group.clone(), *seq).is_some() {
                    return Err(Inconsistent(format!("user {user} is already in group {group}")));
                }
                g.members.insert(*seq, user.clone());
                self.next_member_seq = self.next_member_seq.max(seq + 1);
            }
            Change::MemberRemoved { org, group, user, seq } => {
                let o = self.org_mut(org)?;
                let u = o.users.get_mut(user).ok_or_else(|| missing("user", user))?;
                let g = o.groups.get_mut(group).ok_or_else(|| missing("group", group))?;
                if u.groups.get(group) != Some(seq) {
                    return Err(Inconsistent(format!("user {user} is not in group {group}")));
                }
                u.groups.remove(group);
                g.members.remove(seq);
            }
            Change::RuleSet { org, group, before, after } => {
                let o = self.org_mut(org)?;
                let g = o.groups.get_mut(group).ok_or_else(|| missing("group", group))?;
                expect_eq(&g.rule, before, "group rule")?;
                g.rule = after.clone();
            }
            Change::PoolSet { scope, license, before, after } => self.set_pool(scope, license, before, after)?,
            Change::HoldingSet { org, user, product, before, after } => {
                let o = self.org_mut(org)?;
                let u = o.users.get_mut(user).ok_or_else(|| missing("user", user))?;
                expect_eq(&u.holdings.get(product).cloned(), before, "holding")?;
                match after {
                    Some(holding) => u.holdings.insert(product.clone(), holding.clone()),
                    None => u.holdings.remove(product),
                };
                if let Some(old) = before.as_ref().filter(|h| h.draws_unit()) {
                    o.pools.entry(old.license(product)).or_default().allocated -= 1;
                }
                if let Some(new) = after.as_ref().filter(|h| h.draws_unit()) {
                    o.pools.entry(new.license(product)).or_default().allocated += 1;
                }
                if let Some(until) = before.as_ref().and_then(Holding::valid_until) {
                    self.ending.remove(&(until, org.key(), user.clone(), product.clone()));
                }
                if let Some(until) = after.as_ref().and_then(Holding::valid_until) {
                    self.ending.insert((until, org.key(), user.clone(), product.clone()), ());
                }
            }
        }
        Ok(())
    }

    /// Applies [`Change::UserCreated`] for each of `users` at once, which packs the map's
    /// nodes full: a million users loaded one by one would leave them half empty. Meant for
    /// loading: an organization that has users already has its whole map rebuilt.
    pub fn create_users(&mut self, org: &OrgId, users: Vec<(UserId, UserProfile)>) -> Result<(), Inconsistent> {
        let o = self.org_mut(org)?;
        let given = users.len();
        let mut created: BTreeMap<_, _> = users.into_iter().map(|(id, profile)| (id, User::new(profile))).collect();
        if created.len() != given || created.keys().any(|id| o.users.contains_key(id)) {
            return Err(Inconsistent(format!("a user created in organization {org} exists")));
        }
        o.users.append(&mut created);
        Ok(())
    }

    fn set_pool(
        &mut self,
        scope: &Scope,
        license: &LicenseKey,
        before: &Grant,
        after: &Grant,
    ) -> Result<(), Inconsistent> {
        let delta = after.quantity - before.quantity;
        let (pool, parent) = match scope {
            Scope::Host => (self.host_pools.entry(license.clone()).or_default(), None),
            Scope::Org { org } => {
                let o = self.orgs.get_mut(&org.key()).map(Arc::make_mut).ok_or_else(|| missing("organization", org))?;
                (o.pools.entry(license.clone()).or_default(), Some(self.host_pools.entry(license.clone()).or_default()))
            }
            Scope::Tenant { org, tenant, service } => {
                let o = self.orgs.get_mut(&org.key()).map(Arc::make_mut).ok_or_else(|| missing("organization", org))?;
                let t = o.tenants.get_mut(tenant).ok_or_else(|| missing("tenant", tenant))?;
                (
                    t.pools.entry((service.clone(), license.clone())).or_default(),
                    Some(o.pools.entry(license.clone()).or_default()),
                )
            }
        };
        expect_eq(&pool.grant, before, "pool grant")?;
        pool.grant = *after;
        if let Some(parent) = parent {
            parent.allocated += delta;
        }
        if let Some(until) = before.valid_until {
            self.ending_pools.remove(&(until, scope.clone(), license.clone()));
        }
        if let Some(until) = after.valid_until.filter(|_| after.quantity > 0) {
            self.ending_pools.insert((until, scope.clone(), license.clone()), ());
        }
        Ok(())
    }

    fn org_mut(&mut self, org: &OrgId) -> Result<&mut Org, Inconsistent> {
        self.orgs.get_mut(&org.key()).map(Arc::make_mut).ok_or_else(|| missing("organization", org))
    }

    fn user_mut(&mut self, org: &OrgId, user: &UserId) -> Result<&mut User, Inconsistent> {
        self.org_mut(org)?.users.get_mut(user).ok_or_else(|| missing("user", user))
    }

    /// "Does `user` of `org` hold `license`?" A license without a capability asks for any
    /// capability of its product.
    pub fn check(&self, org: &str, user: &str, license: &str, now: Timestamp) -> CheckOutcome {
        let answer = |reason, via, holding: Option<&Holding>| CheckOutcome {
            allowed: reason == CheckReason::Held,
            reason,
            via,
            capability: holding.and_then(|h| h.capability.clone()),
            waiting_position: None,
            revision: self.revision,
        };
        let Some(org) = self.org(org) else {
            return answer(CheckReason::UnknownOrganization, None, None);
        };
        // Looked up by their spellings: a spelling that is no id names nothing here either.
        let Some((id, user)) = org.users.get_key_value(user) else {
            return answer(CheckReason::UnknownUser, None, None);
        };
        let (code, wanted) = match license.split_once(':') {
            Some((code, capability)) => (code, Some(capability)),
            None => (license, None),
        };
        let Some(product) = self.catalogue.get(code) else {
            return answer(CheckReason::UnknownLicense, None, None);
        };
        let capability = match wanted {
            None => None,
            Some(wanted) => match product.capability(wanted) {
                Some(info) => Some(info.code.clone()),
                None => return answer(CheckReason::UnknownLicense, None, None),
            },
        };
        let held = user.holdings.get(&product.code).filter(|h| capability.is_none() || h.capability == capability);
        match held {
            Some(holding) if holding.is_valid_at(now) => {
                answer(CheckReason::Held, Some(Via::of(holding)), Some(holding))
            }
            Some(holding) => answer(CheckReason::Expired, Some(Via::of(holding)), Some(holding)),
            None => {
                let key = LicenseKey { product: product.code.clone(), capability };
                let position = org.waiting(&key).iter().position(|(_, waiting, ..)| *waiting == id);
                match position {
                    Some(position) => CheckOutcome {
                        waiting_position: Some(position + 1),
                        ..answer(CheckReason::Waiting, None, None)
                    },
                    // Not held, and no unit of this license is free to give: say so.
                    None if key.capability.is_some() || product.capabilities.is_empty() => {
                        let pool = org.pool(&key);
                        let exhausted = pool.available() <= 0 || !pool.grant.is_valid_at(now);
                        answer(if exhausted { CheckReason::PoolExhausted } else { CheckReason::NotHeld }, None, None)
                    }
                    None => answer(CheckReason::NotHeld, None, None),
                }
            }
        }
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(actual: &T, expected: &T, what: &str) -> Result<(), Inconsistent> {
    if actual == expected {
        Ok(())
    } else {
        Err(Inconsistent(format!("{what} is {actual:?}, the change expected {expected:?}")))
    }
}

fn missing(what: &str, id: &dyn std::fmt::Display) -> Inconsistent {
    Inconsistent(format!("{what} {id} does not exist"))
}

/// Where a held license comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Via {
    Direct { external: bool },
    Group { group: GroupId, external: bool },
}

impl Via {
    pub fn of(holding: &Holding) -> Self {
        match &holding.source {
            Source::Direct => Self::Direct { external: holding.external },
            Source::Group(group) => Self::Group { group: group.clone(), external: holding.external },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckReason {
    Held,
    NotHeld,
    Waiting,
    Expired,
    /// Not held, and the organization has no free unit of it.
    PoolExhausted,
    UnknownOrganization,
    UnknownUser,
    UnknownLicense,
}

/// The answer to "does X hold Y?", with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub allowed: bool,
    pub reason: CheckReason,
    pub via: Option<Via>,
    pub capability: Option<Capability>,
    pub waiting_position: Option<usize>,
    pub revision: u64,
}
