//! What every backend shares: how scopes are keyed, how a commit's pool changes add up,
//! and how the state is rebuilt from stored rows.

use std::collections::{BTreeMap, HashMap};

use allot_core::{
    Capability, Catalogue, Change, Grant, GroupId, GroupProfile, Holding, LicenseKey, OrgId, OrgKey, Product,
    ProductCode, Rule, Scope, ServiceType, Source, State, TenantId, Timestamp, UserId, UserProfile,
};

use crate::sql::{FromRow, Row, Sink, Value, from_json, parsed, row_struct};
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

row_struct! { struct RevisionRow { value: u64 } }
row_struct! { struct ProductRow { product: String } }
row_struct! { struct OrgRow { org_id: String, name: String } }
row_struct! { struct UserRow { org_key: String, user_id: String, profile: String } }
row_struct! {
    struct GroupRow { org_key: String, group_id: String, name: String, licenses: String, external: bool, profile: Option<String> }
}
row_struct! { struct TenantRow { org_key: String, tenant_id: String, name: String } }
row_struct! { struct MemberRow { org_key: String, group_id: String, user_id: String, seq: u64 } }
row_struct! {
    struct PoolRow {
        scope: String,
        license: String,
        quantity: i64,
        allocated: i64,
        valid_from: Option<Timestamp>,
        valid_until: Option<Timestamp>,
    }
}
row_struct! {
    /// A holding's columns after its key (see `holding_columns`).
    struct HoldingRow {
        org_key: String,
        user_id: String,
        product: String,
        capability: Option<String>,
        via_group: Option<String>,
        external: bool,
        valid_from: Option<Timestamp>,
        valid_until: Option<Timestamp>,
    }
}

/// A group's rule as its columns hold it: the licenses space-separated, in order (a
/// license key has no spaces), and whether they are external.
pub(crate) fn rule_licenses(rule: &Rule) -> String {
    rule.licenses.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// A holding's columns after its key: capability, via_group, external, valid_from,
/// valid_until. Conditional writes compare these, never a serialized form.
pub(crate) fn holding_columns(holding: &Holding) -> [Value; 5] {
    let group = match &holding.source {
        Source::Direct => None,
        Source::Group(group) => Some(group.as_str()),
    };
    [
        holding.capability.as_ref().map(|c| c.as_str()).into(),
        group.into(),
        holding.external.into(),
        holding.valid_from().into(),
        holding.valid_until().into(),
    ]
}

/// The tables the state is rebuilt from, in the order it is rebuilt: each one's rows need
/// only those of the tables before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Revision,
    Products,
    Orgs,
    Users,
    Groups,
    Tenants,
    Members,
    Pools,
    Holdings,
}

pub(crate) const TABLES: [Table; 9] = [
    Table::Revision,
    Table::Products,
    Table::Orgs,
    Table::Users,
    Table::Groups,
    Table::Tenants,
    Table::Members,
    Table::Pools,
    Table::Holdings,
];

impl Table {
    pub(crate) fn query(self) -> String {
        match self {
            Table::Revision => format!("SELECT {} FROM meta WHERE key = 'revision'", RevisionRow::COLUMNS),
            Table::Products => format!("SELECT {} FROM products ORDER BY code_key", ProductRow::COLUMNS),
            Table::Orgs => format!("SELECT {} FROM orgs", OrgRow::COLUMNS),
            // By organization, so that each one's users are created together.
            Table::Users => format!("SELECT {} FROM users ORDER BY org_key", UserRow::COLUMNS),
            Table::Groups => format!("SELECT {} FROM groups", GroupRow::COLUMNS),
            Table::Tenants => format!("SELECT {} FROM tenants", TenantRow::COLUMNS),
            Table::Members => format!("SELECT {} FROM members ORDER BY seq", MemberRow::COLUMNS),
            // '' (the host) sorts before 'org:', before 'tenant:': parents before children.
            Table::Pools => format!("SELECT {} FROM pools ORDER BY scope", PoolRow::COLUMNS),
            Table::Holdings => format!("SELECT {} FROM holdings", HoldingRow::COLUMNS),
        }
    }
}

/// The queries a [`Loader`] takes the rows of, in [`TABLES`] order.
pub(crate) fn load_queries() -> Vec<(String, Vec<Value>)> {
    TABLES.iter().map(|table| (table.query(), Vec::new())).collect()
}

/// The stored revision, from the rows of [`Table::Revision`]'s query.
pub(crate) fn revision(rows: Vec<Row>) -> StoreResult<u64> {
    rows.into_iter().next().map(RevisionRow::from_row).transpose().map(|r| r.map_or(0, |r| r.value))
}

/// Rebuilds the state from the stored rows as they are read, table by table in [`TABLES`]
/// order, applying each row as the change that would create it; then checks every stored
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

impl Sink for Loader {
    /// Takes one row of the `query`-th of [`load_queries`].
    fn take(&mut self, query: usize, row: Row) -> StoreResult<()> {
        let table = TABLES.get(query).ok_or_else(|| StoreError::Corrupt(format!("no table {query} to load")))?;
        self.row(*table, row)
    }
}

impl Loader {
    /// Takes one row of `table`.
    pub(crate) fn row(&mut self, table: Table, row: Row) -> StoreResult<()> {
        if table != Table::Users {
            self.create_users()?;
        }
        let change = match table {
            Table::Revision => {
                self.revision = RevisionRow::from_row(row)?.value;
                return Ok(());
            }
            Table::Products => {
                Change::ProductAdded { product: from_json::<Product>(&ProductRow::from_row(row)?.product)? }
            }
            Table::Orgs => {
                let r = OrgRow::from_row(row)?;
                let org = parsed(OrgId::parse(&r.org_id))?;
                self.orgs.insert(org.key(), org.clone());
                Change::OrgCreated { org, name: r.name }
            }
            Table::Users => {
                let r = UserRow::from_row(row)?;
                let (org, user) = (self.org(&r.org_key)?, parsed(UserId::parse(&r.user_id))?);
                return self.user(org, user, from_json::<UserProfile>(&r.profile)?);
            }
            Table::Groups => {
                let r = GroupRow::from_row(row)?;
                let (org, group) = (self.org(&r.org_key)?, parsed(GroupId::parse(&r.group_id))?);
                let created = Change::GroupCreated { org: org.clone(), group: group.clone(), name: r.name };
                self.apply(&created)?;
                let licenses = r.licenses.split_whitespace().map(|l| parsed(LicenseKey::parse(l)));
                let rule = Rule { licenses: licenses.collect::<StoreResult<_>>()?, external: r.external };
                if let Some(profile) = r.profile.as_deref() {
                    let after = Some(from_json::<GroupProfile>(profile)?);
                    self.apply(&Change::GroupProfileSet {
                        org: org.clone(),
                        group: group.clone(),
                        before: None,
                        after,
                    })?;
                }
                Change::RuleSet { org, group, before: Rule::default(), after: rule }
            }
            Table::Tenants => {
                let r = TenantRow::from_row(row)?;
                Change::TenantCreated {
                    org: self.org(&r.org_key)?,
                    tenant: parsed(TenantId::parse(&r.tenant_id))?,
                    name: r.name,
                }
            }
            Table::Members => {
                let r = MemberRow::from_row(row)?;
                Change::MemberAdded {
                    org: self.org(&r.org_key)?,
                    group: parsed(GroupId::parse(&r.group_id))?,
                    user: parsed(UserId::parse(&r.user_id))?,
                    seq: r.seq,
                }
            }
            Table::Pools => {
                let r = PoolRow::from_row(row)?;
                let scope = parse_scope(&r.scope, &self.orgs)?;
                let license = parsed(LicenseKey::parse(&r.license))?;
                let after = Grant { quantity: r.quantity, valid_from: r.valid_from, valid_until: r.valid_until };
                self.allocated.push((scope.clone(), license.clone(), r.allocated));
                Change::PoolSet { scope, license, before: Grant::default(), after }
            }
            Table::Holdings => {
                let r = HoldingRow::from_row(row)?;
                let (org, product) = (self.org(&r.org_key)?, self.product(&r.product)?);
                let capability = r.capability.as_deref().map(Capability::parse).transpose();
                let source = match r.via_group.as_deref().map(GroupId::parse).transpose() {
                    Ok(Some(group)) => Source::Group(group),
                    Ok(None) => Source::Direct,
                    Err(e) => return Err(StoreError::Corrupt(e.to_string())),
                };
                let holding = Holding::new(parsed(capability)?, source, r.external).valid(r.valid_from, r.valid_until);
                let holding = self.sharing_codes(&org, &product, holding);
                Change::HoldingSet {
                    user: parsed(UserId::parse(&r.user_id))?,
                    org,
                    product,
                    before: None,
                    after: Some(holding),
                }
            }
        };
        self.apply(&change)
    }

    fn org(&self, key: &str) -> StoreResult<OrgId> {
        let key = OrgKey::of(key);
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
