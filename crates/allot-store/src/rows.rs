//! What every backend shares: how scopes are keyed, how a commit's pool changes add up,
//! and how the state is rebuilt from stored rows.

use std::collections::{BTreeMap, HashMap};

use allot_core::{
    Catalogue, Change, Grant, GroupId, Holding, LicenseKey, OrgId, OrgKey, Product, ProductCode, Rule, Scope,
    ServiceType, Source, State, TenantId, UserId, UserProfile,
};

use crate::sql::{Row, Sink, Value, from_json, int, opt_int, parsed, str_of, text};
use crate::{StoreError, StoreResult};

pub(crate) const HOST_SCOPE: &str = "";

/// The key a pool's scope is stored under.
pub(crate) fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::Host => HOST_SCOPE.to_owned(),
        Scope::Org { org } => format!("org:{}", org.key()),
        Scope::Tenant { org, tenant, service } => format!("tenant:{}/{tenant}/{service}", org.key()),
    }
}

fn parse_scope(key: &str, orgs: &HashMap<OrgKey, OrgId>) -> StoreResult<Scope> {
    let corrupt = || StoreError::Corrupt(format!("pool scope `{key}` is not valid"));
    let org = |raw: &str| orgs.get(&OrgKey::of(raw)).cloned().ok_or_else(corrupt);
    if key == HOST_SCOPE {
        return Ok(Scope::Host);
    }
    if let Some(raw) = key.strip_prefix("org:") {
        return Ok(Scope::Org { org: org(raw)? });
    }
    let rest = key.strip_prefix("tenant:").ok_or_else(corrupt)?;
    let mut parts = rest.splitn(3, '/');
    let (Some(o), Some(t), Some(s)) = (parts.next(), parts.next(), parts.next()) else { return Err(corrupt()) };
    Ok(Scope::Tenant {
        org: org(o)?,
        tenant: TenantId::parse(t).map_err(|_| corrupt())?,
        service: ServiceType::parse(s).map_err(|_| corrupt())?,
    })
}

/// The net effect of a commit on one pool row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolWrite {
    pub scope: String,
    pub license: String,
    pub quantity_delta: i64,
    pub allocated_delta: i64,
    /// The pool's grant after the commit, when the commit set it.
    pub grant: Option<Grant>,
}

/// Adds up what a commit does to each pool, so each row is written once and the schema's
/// constraints judge the end state of the transaction, not a step in between.
pub(crate) fn pool_writes<'a>(changes: impl Iterator<Item = &'a Change>) -> Vec<PoolWrite> {
    fn entry<'w>(
        writes: &'w mut BTreeMap<(String, String), PoolWrite>,
        scope: &Scope,
        license: &LicenseKey,
    ) -> &'w mut PoolWrite {
        let key = (scope_key(scope), license.to_string());
        writes.entry(key.clone()).or_insert(PoolWrite {
            scope: key.0,
            license: key.1,
            quantity_delta: 0,
            allocated_delta: 0,
            grant: None,
        })
    }
    let mut writes = BTreeMap::new();
    for change in changes {
        match change {
            Change::PoolSet { scope, license, before, after } => {
                let delta = after.quantity - before.quantity;
                let own = entry(&mut writes, scope, license);
                own.quantity_delta += delta;
                own.grant = Some(*after);
                if let Some(parent) = allot_core::planner::parent_of(scope) {
                    entry(&mut writes, &parent, license).allocated_delta += delta;
                }
            }
            Change::HoldingSet { org, product, before, after, .. } => {
                let scope = Scope::Org { org: org.clone() };
                if let Some(old) = before.as_ref().filter(|h| h.draws_unit()) {
                    entry(&mut writes, &scope, &old.license(product)).allocated_delta -= 1;
                }
                if let Some(new) = after.as_ref().filter(|h| h.draws_unit()) {
                    entry(&mut writes, &scope, &new.license(product)).allocated_delta += 1;
                }
            }
            _ => {}
        }
    }
    writes.into_values().filter(|w| w.quantity_delta != 0 || w.allocated_delta != 0 || w.grant.is_some()).collect()
}

/// Rebuilds the state from the stored rows as they are read, in the order of the row
/// queries, applying each row as the change that would create it; then checks every stored
/// `allocated` against the one the holdings and grants add up to. Besides the state it keeps
/// only one organization's run of users, created together (which packs their map), so a
/// million users load in little more than the memory they are served from.
pub(crate) struct Loader {
    state: State,
    revision: u64,
    orgs: HashMap<OrgKey, OrgId>,
    /// Each pool's stored `allocated`, checked at the end.
    allocated: Vec<(Scope, LicenseKey, i64)>,
    /// The run of user rows being read, of one organization: created together.
    users: Option<(OrgId, Vec<(UserId, UserProfile)>)>,
}

impl Default for Loader {
    fn default() -> Self {
        Self {
            state: State::new(Catalogue::default_products()),
            revision: 0,
            orgs: HashMap::new(),
            allocated: Vec::new(),
            users: None,
        }
    }
}

/// The users' table in the row queries' order.
const USERS: usize = 3;

impl Sink for Loader {
    /// Takes one row of table `table`: meta, products, orgs, users, groups, tenants,
    /// members (by seq), pools (parents first), holdings.
    fn take(&mut self, table: usize, row: Row) -> StoreResult<()> {
        let r = &row;
        if table != USERS {
            self.create_users()?;
        }
        let change = match table {
            0 => {
                self.revision = int(&r[0])?.max(0) as u64;
                return Ok(());
            }
            1 => Change::ProductAdded { product: from_json::<Product>(&r[0])? },
            2 => {
                let org = parsed(OrgId::parse(str_of(&r[0])?))?;
                self.orgs.insert(org.key(), org.clone());
                Change::OrgCreated { org, name: text(&r[1])? }
            }
            USERS => {
                let (org, user) = (self.org(&r[0])?, parsed(UserId::parse(str_of(&r[1])?))?);
                return self.user(org, user, from_json::<UserProfile>(&r[2])?);
            }
            4 => {
                let (org, group) = (self.org(&r[0])?, parsed(GroupId::parse(str_of(&r[1])?))?);
                let created = Change::GroupCreated { org: org.clone(), group: group.clone(), name: text(&r[2])? };
                self.apply(&created)?;
                Change::RuleSet { org, group, before: Rule::default(), after: from_json::<Rule>(&r[3])? }
            }
            5 => Change::TenantCreated {
                org: self.org(&r[0])?,
                tenant: parsed(TenantId::parse(str_of(&r[1])?))?,
                name: text(&r[2])?,
            },
            6 => Change::MemberAdded {
                org: self.org(&r[0])?,
                group: parsed(GroupId::parse(str_of(&r[1])?))?,
                user: parsed(UserId::parse(str_of(&r[2])?))?,
                seq: int(&r[3])?.max(0) as u64,
            },
            7 => {
                let scope = parse_scope(str_of(&r[0])?, &self.orgs)?;
                let license = parsed(LicenseKey::parse(str_of(&r[1])?))?;
                let after = Grant { quantity: int(&r[2])?, valid_from: opt_int(&r[4])?, valid_until: opt_int(&r[5])? };
                self.allocated.push((scope.clone(), license.clone(), int(&r[3])?));
                Change::PoolSet { scope, license, before: Grant::default(), after }
            }
            8 => {
                let (org, product) = (self.org(&r[0])?, self.product(str_of(&r[2])?)?);
                let holding = self.sharing_codes(&org, &product, from_json::<Holding>(&r[3])?);
                Change::HoldingSet {
                    user: parsed(UserId::parse(str_of(&r[1])?))?,
                    org,
                    product,
                    before: None,
                    after: Some(holding),
                }
            }
            other => return Err(StoreError::Corrupt(format!("no table {other} to load"))),
        };
        self.apply(&change)
    }
}

impl Loader {
    fn org(&self, key: &Value) -> StoreResult<OrgId> {
        let key = OrgKey::of(str_of(key)?);
        self.orgs.get(&key).cloned().ok_or_else(|| StoreError::Corrupt(format!("no organization {key}")))
    }

    /// The catalogue's own code when it has the product, so that every holding of it shares
    /// one string.
    fn product(&self, code: &str) -> StoreResult<ProductCode> {
        match self.state.catalogue().get(code) {
            Some(product) => Ok(product.code.clone()),
            None => parsed(ProductCode::parse(code)),
        }
    }

    /// The holding, naming its capability and group with the strings the catalogue and the
    /// organization already hold, where they are spelled the same.
    fn sharing_codes(&self, org: &OrgId, product: &ProductCode, mut holding: Holding) -> Holding {
        if let Some(capability) = &holding.capability {
            let known = self.state.catalogue().get(product.as_str()).and_then(|p| p.capability(capability.as_str()));
            if let Some(known) = known.map(|info| &info.code).filter(|code| *code == capability) {
                holding.capability = Some(known.clone());
            }
        }
        if let Source::Group(group) = &holding.source
            && let Some((known, _)) = self.state.org(org.as_str()).and_then(|o| o.groups.get_key_value(group))
        {
            holding.source = Source::Group(known.clone());
        }
        holding
    }

    fn apply(&mut self, change: &Change) -> StoreResult<()> {
        self.state.apply(change).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn user(&mut self, org: OrgId, user: UserId, profile: UserProfile) -> StoreResult<()> {
        if self.users.as_ref().is_some_and(|(run, _)| *run != org) {
            self.create_users()?;
        }
        self.users.get_or_insert_with(|| (org, Vec::new())).1.push((user, profile));
        Ok(())
    }

    fn create_users(&mut self) -> StoreResult<()> {
        match self.users.take() {
            Some((org, users)) => self.state.create_users(&org, users).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(()),
        }
    }

    pub(crate) fn finish(mut self) -> StoreResult<State> {
        self.create_users()?;
        self.state.set_revision(self.revision);
        for (scope, license, stored) in self.allocated {
            let derived = self.state.pool(&scope, &license).allocated;
            if derived != stored {
                return Err(StoreError::Corrupt(format!(
                    "pool {} {license} stores allocated {stored} but its holdings and grants add up to {derived}",
                    scope_key(&scope)
                )));
            }
        }
        Ok(self.state)
    }
}

/// The differences between two states' balances and holdings, for ledger checks.
pub(crate) fn differences(replayed: &State, stored: &State) -> Vec<String> {
    let mut differences = Vec::new();
    let (a, b) = (replayed.balances(), stored.balances());
    for key in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        if a.get(key) != b.get(key) {
            differences.push(format!(
                "pool {} {}: ledger says {:?}, stored {:?}",
                scope_key(&key.0),
                key.1,
                a.get(key),
                b.get(key)
            ));
        }
    }
    let (a, b) = (replayed.all_holdings(), stored.all_holdings());
    for key in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        if a.get(key) != b.get(key) {
            differences.push(format!("holding {key:?}: ledger says {:?}, stored {:?}", a.get(key), b.get(key)));
        }
    }
    if replayed.revision() != stored.revision() {
        differences.push(format!("revision: ledger says {}, stored {}", replayed.revision(), stored.revision()));
    }
    differences
}
