//! What every backend shares: how scopes are keyed, how a commit's pool changes add up,
//! and how the state is rebuilt from stored rows.

use std::collections::{BTreeMap, HashMap};

use allot_core::{
    Catalogue, Change, Grant, GroupId, Holding, LicenseKey, OrgId, OrgKey, Pool, Product, ProductCode, Rule, Scope,
    ServiceType, State, TenantId, UserId, UserProfile,
};

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

/// The stored rows the state is rebuilt from.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub revision: u64,
    pub products: Vec<Product>,
    pub orgs: Vec<(OrgId, String)>,
    pub users: Vec<(OrgKey, UserId, UserProfile)>,
    pub groups: Vec<(OrgKey, GroupId, String, Rule)>,
    pub tenants: Vec<(OrgKey, TenantId, String)>,
    pub members: Vec<(OrgKey, GroupId, UserId, u64)>,
    pub pools: Vec<(String, LicenseKey, Pool)>,
    pub holdings: Vec<(OrgKey, UserId, ProductCode, Holding)>,
}

/// Rebuilds the state by replaying each row as the change that would create it, then
/// checks every stored `allocated` against the one the holdings and grants add up to.
pub(crate) fn build_state(rows: Rows) -> StoreResult<State> {
    let mut state = State::new(Catalogue::default_products());
    let orgs: HashMap<OrgKey, OrgId> = rows.orgs.iter().map(|(id, _)| (id.key(), id.clone())).collect();
    let org =
        |key: &OrgKey| orgs.get(key).cloned().ok_or_else(|| StoreError::Corrupt(format!("no organization {key}")));
    let mut changes = Vec::new();
    for product in rows.products {
        changes.push(Change::ProductAdded { product });
    }
    for (org, name) in &rows.orgs {
        changes.push(Change::OrgCreated { org: org.clone(), name: name.clone() });
    }
    for (key, user, profile) in rows.users {
        changes.push(Change::UserCreated { org: org(&key)?, user, profile });
    }
    for (key, group, name, rule) in rows.groups {
        let org = org(&key)?;
        changes.push(Change::GroupCreated { org: org.clone(), group: group.clone(), name });
        changes.push(Change::RuleSet { org, group, before: Rule::default(), after: rule });
    }
    for (key, tenant, name) in rows.tenants {
        changes.push(Change::TenantCreated { org: org(&key)?, tenant, name });
    }
    let mut members = rows.members;
    members.sort_by_key(|(.., seq)| *seq);
    for (key, group, user, seq) in members {
        changes.push(Change::MemberAdded { org: org(&key)?, group, user, seq });
    }
    let mut stored_pools = Vec::new();
    for (scope, license, pool) in rows.pools {
        stored_pools.push((parse_scope(&scope, &orgs)?, license, pool));
    }
    // Parents before children, so each grant lands on a pool that exists.
    stored_pools.sort_by_key(|(scope, ..)| match scope {
        Scope::Host => 0,
        Scope::Org { .. } => 1,
        Scope::Tenant { .. } => 2,
    });
    for (scope, license, pool) in &stored_pools {
        let change = Change::PoolSet {
            scope: scope.clone(),
            license: license.clone(),
            before: Grant::default(),
            after: pool.grant,
        };
        changes.push(change);
    }
    for (key, user, product, holding) in rows.holdings {
        changes.push(Change::HoldingSet { org: org(&key)?, user, product, before: None, after: Some(holding) });
    }
    state.apply_all(rows.revision, &changes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    state.set_revision(rows.revision);
    for (scope, license, pool) in stored_pools {
        let derived = state.pool(&scope, &license);
        if derived.allocated != pool.allocated {
            return Err(StoreError::Corrupt(format!(
                "pool {} {license} stores allocated {} but its holdings and grants add up to {}",
                scope_key(&scope),
                pool.allocated,
                derived.allocated
            )));
        }
    }
    Ok(state)
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

/// The name a change is indexed under in the ledger (its serde tag).
pub(crate) fn change_kind(change: &Change) -> String {
    serde_json::to_value(change)
        .ok()
        .and_then(|value| value.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}
