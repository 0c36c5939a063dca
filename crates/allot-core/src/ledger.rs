//! The ledger: every applied change, in order, never edited. The state is its replay.

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::change::{Change, Scope};
use crate::ids::{LicenseKey, Timestamp};
use crate::state::{Grant, Inconsistent, Pool, Rule, State};

/// Who made a change and on whose request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `host:admin`, `org:song-one/alice`, `client:<id>`, or `system`.
    pub name: String,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub revision: u64,
    /// Position within the revision.
    pub seq: u32,
    pub at: Timestamp,
    pub actor: String,
    pub request_id: String,
    pub change: Change,
}

impl LedgerEntry {
    /// The entries one applied plan writes.
    pub fn for_plan(revision: u64, at: Timestamp, actor: &Actor, changes: &[Change]) -> Vec<LedgerEntry> {
        changes
            .iter()
            .enumerate()
            .map(|(seq, change)| LedgerEntry {
                revision,
                seq: u32::try_from(seq).unwrap_or(u32::MAX),
                at,
                actor: actor.name.clone(),
                request_id: actor.request_id.clone(),
                change: change.clone(),
            })
            .collect()
    }
}

/// Rebuilds the state from the ledger, starting from `catalogue` (the built-in products;
/// products the host added are in the ledger). Entries must come in order.
pub fn replay<'a>(
    catalogue: Catalogue,
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
) -> Result<State, Inconsistent> {
    let mut replay = Replay::new(catalogue);
    for entry in entries {
        replay.push(entry.revision, entry.change.clone())?;
    }
    replay.finish()
}

/// A replay fed one entry at a time, as the ledger is read: only the changes of the
/// revision being read wait, so a long ledger replays without being held in memory.
pub struct Replay {
    state: State,
    revision: u64,
    batch: Vec<Change>,
}

impl Replay {
    pub fn new(catalogue: Catalogue) -> Self {
        Self { state: State::new(catalogue), revision: 0, batch: Vec::new() }
    }

    /// Takes the next entry's revision and change; entries must come in order. After an
    /// error the state is half replayed: drop the replay.
    pub fn push(&mut self, revision: u64, change: Change) -> Result<(), Inconsistent> {
        if revision < self.revision {
            return Err(Inconsistent(format!("ledger revision {revision} comes after {}", self.revision)));
        }
        if revision != self.revision && !self.batch.is_empty() {
            self.state.apply_all(self.revision, &self.batch)?;
            self.batch.clear();
        }
        self.revision = revision;
        self.batch.push(change);
        Ok(())
    }

    /// The state the entries pushed replay to.
    pub fn finish(mut self) -> Result<State, Inconsistent> {
        self.state.apply_all(self.revision, &self.batch)?;
        Ok(self.state)
    }
}

/// The changes that recreate organization `org` as `state` holds it, on a state with the
/// same catalogue and host pools: what a checkpoint stores. In a fixed order (each map's
/// own), so two equal organizations give equal snapshots and a check can compare them.
pub fn org_snapshot(state: &State, org: &str) -> Vec<Change> {
    let Some(o) = state.org(org) else { return Vec::new() };
    let id = &o.id;
    let mut changes = vec![Change::OrgCreated { org: id.clone(), name: o.name.clone() }];
    for (user, u) in &o.users {
        changes.push(Change::UserCreated { org: id.clone(), user: user.clone(), profile: u.profile.clone() });
    }
    for (group, g) in &o.groups {
        changes.push(Change::GroupCreated { org: id.clone(), group: group.clone(), name: g.name.clone() });
        if let Some(profile) = &g.profile {
            let after = Some(profile.as_ref().clone());
            changes.push(Change::GroupProfileSet { org: id.clone(), group: group.clone(), before: None, after });
        }
        if g.rule != Rule::default() {
            let (before, after) = (Rule::default(), g.rule.clone());
            changes.push(Change::RuleSet { org: id.clone(), group: group.clone(), before, after });
        }
        for (seq, user) in &g.members {
            changes.push(Change::MemberAdded { org: id.clone(), group: group.clone(), user: user.clone(), seq: *seq });
        }
    }
    let grant = |scope: Scope, license: &LicenseKey, pool: &Pool| {
        (pool.grant != Grant::default()).then(|| Change::PoolSet {
            scope,
            license: license.clone(),
            before: Grant::default(),
            after: pool.grant,
        })
    };
    for (license, pool) in &o.pools {
        changes.extend(grant(Scope::Org { org: id.clone() }, license, pool));
    }
    for (tenant, t) in &o.tenants {
        changes.push(Change::TenantCreated { org: id.clone(), tenant: tenant.clone(), name: t.name.clone() });
        for ((service, license), pool) in &t.pools {
            let scope = Scope::Tenant { org: id.clone(), tenant: tenant.clone(), service: service.clone() };
            changes.extend(grant(scope, license, pool));
        }
    }
    for (user, u) in &o.users {
        for (product, holding) in u.holdings.iter() {
            changes.push(Change::HoldingSet {
                org: id.clone(),
                user: user.clone(),
                product: product.clone(),
                before: None,
                after: Some(holding.clone()),
            });
        }
    }
    changes
}

/// Replays one organization's past: the host's own entries (`host`: the catalogue, host
/// pools) and the organization's (`own`), each in order, from `checkpoint` (its revision and
/// [`org_snapshot`]) when there is one, else from the start. Only `own` entries after the
/// checkpoint's revision may be given; host entries at or before it are replayed first, as
/// the checkpoint was made on them. Calls `each` after every revision after the checkpoint
/// with the revision, when it was committed, the state and the revision's changes. The
/// organization ends as a full replay leaves it; other organizations are absent.
pub fn replay_org(
    catalogue: Catalogue,
    host: &[LedgerEntry],
    checkpoint: Option<(u64, &[Change])>,
    own: &[LedgerEntry],
    mut each: impl FnMut(u64, Timestamp, &State, &[Change]),
) -> Result<State, Inconsistent> {
    let mut replay = OrgReplay::new(catalogue, host.to_vec(), checkpoint)?;
    replay.push(own, &mut each)?;
    replay.finish(&mut each)
}

/// [`replay_org`] fed the organization's entries a page at a time, as they are read: a
/// replay holds the organization's books and one page, however long its ledger.
pub struct OrgReplay {
    state: State,
    base: u64,
    /// The host's entries after the checkpoint not replayed yet.
    host: std::collections::VecDeque<LedgerEntry>,
    /// The revision being gathered, and its changes so far.
    current: Option<(u64, Timestamp)>,
    batch: Vec<Change>,
}

impl OrgReplay {
    /// The books at `checkpoint` (or empty), with the host's entries up to it replayed;
    /// `host` is every host entry to replay, in order.
    pub fn new(
        catalogue: Catalogue,
        host: Vec<LedgerEntry>,
        checkpoint: Option<(u64, &[Change])>,
    ) -> Result<Self, Inconsistent> {
        let base = checkpoint.map_or(0, |(revision, _)| revision);
        let mut state = State::new(catalogue);
        let mut host = std::collections::VecDeque::from(host);
        let split = host.partition_point(|e| e.revision <= base);
        let mut batch: Vec<Change> = host.drain(..split).map(|e| e.change).collect();
        batch.extend(checkpoint.into_iter().flat_map(|(_, changes)| changes.iter().cloned()));
        state.apply_all(base, &batch)?;
        batch.clear();
        Ok(Self { state, base, host, current: None, batch })
    }

    /// Replays the next page of the organization's entries (and the host's before and
    /// among them); `each` sees every revision completed.
    pub fn push(
        &mut self,
        own: &[LedgerEntry],
        each: &mut impl FnMut(u64, Timestamp, &State, &[Change]),
    ) -> Result<(), Inconsistent> {
        for entry in own {
            while self.host.front().is_some_and(|h| (h.revision, h.seq) <= (entry.revision, entry.seq)) {
                if let Some(host) = self.host.pop_front() {
                    self.take(host.revision, host.at, host.change, each)?;
                }
            }
            self.take(entry.revision, entry.at, entry.change.clone(), each)?;
        }
        Ok(())
    }

    /// Replays what is left of the host's entries and the last revision; the books.
    pub fn finish(mut self, each: &mut impl FnMut(u64, Timestamp, &State, &[Change])) -> Result<State, Inconsistent> {
        while let Some(host) = self.host.pop_front() {
            self.take(host.revision, host.at, host.change, each)?;
        }
        self.complete(each)?;
        Ok(self.state)
    }

    fn take(
        &mut self,
        revision: u64,
        at: Timestamp,
        change: Change,
        each: &mut impl FnMut(u64, Timestamp, &State, &[Change]),
    ) -> Result<(), Inconsistent> {
        if revision <= self.base || self.current.is_some_and(|(r, _)| revision < r) {
            return Err(Inconsistent(format!("ledger revision {revision} is out of order")));
        }
        if self.current.is_some_and(|(r, _)| r != revision) {
            self.complete(each)?;
        }
        self.current = Some((revision, at));
        self.batch.push(change);
        Ok(())
    }

    /// Applies the revision gathered, if any, and shows it to `each`.
    fn complete(&mut self, each: &mut impl FnMut(u64, Timestamp, &State, &[Change])) -> Result<(), Inconsistent> {
        if let Some((revision, at)) = self.current.take() {
            self.state.apply_all(revision, &self.batch)?;
            each(revision, at, &self.state, &self.batch);
            self.batch.clear();
        }
        Ok(())
    }
}

/// Whether `a` and `b` name the same scope (organizations by key, as the books do).
fn same_scope(a: &Scope, b: &Scope) -> bool {
    match (a, b) {
        (Scope::Host, Scope::Host) => true,
        (Scope::Org { org: a }, Scope::Org { org: b }) => a.key() == b.key(),
        (Scope::Tenant { org: a, tenant: t, service: s }, Scope::Tenant { org: b, tenant: u, service: v }) => {
            a.key() == b.key() && t == u && s == v
        }
        _ => false,
    }
}

/// The scope whose pool a grant in `scope` draws from.
fn parent(scope: &Scope) -> Option<Scope> {
    match scope {
        Scope::Host => None,
        Scope::Org { .. } => Some(Scope::Host),
        Scope::Tenant { org, .. } => Some(Scope::Org { org: org.clone() }),
    }
}

/// Moves `pool`, the balance of `license` in `scope`, as applying `change` moves it in the
/// books, without the books: a grant in the scope sets it, a grant in a scope below it
/// draws from it, a unit held or released in its organization counts, and its
/// organization (or tenant) deleted empties it. Answers whether the change names the
/// license in an organization (a grant of it, a holding of it taken or released), which
/// is when a history of the pool records a point.
pub fn fold_pool(pool: &mut Pool, scope: &Scope, license: &LicenseKey, change: &Change) -> bool {
    match change {
        Change::PoolSet { scope: set, license: l, before, after } if l == license => {
            if same_scope(set, scope) {
                pool.grant = *after;
            } else if parent(set).is_some_and(|p| same_scope(&p, scope)) {
                pool.allocated += after.quantity - before.quantity;
            }
            set.org().is_some()
        }
        Change::HoldingSet { org, product, before, after, .. } => {
            let counts = same_scope(&Scope::Org { org: org.clone() }, scope);
            let mut named = false;
            for (held, sign) in [(before, -1), (after, 1)] {
                let Some(held) = held.as_ref().filter(|h| h.license(product) == *license) else { continue };
                named = true;
                if counts && held.draws_unit() {
                    pool.allocated += sign;
                }
            }
            named
        }
        Change::OrgDeleted { org, .. } if scope.org().is_some_and(|o| o.key() == org.key()) => {
            *pool = Pool::default();
            false
        }
        Change::TenantDeleted { org, tenant, .. } if matches!(scope, Scope::Tenant { org: o, tenant: t, .. } if o.key() == org.key() && t == tenant) =>
        {
            *pool = Pool::default();
            false
        }
        _ => false,
    }
}
