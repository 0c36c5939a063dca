//! The statements that write a group of commits: each change's rows, each pool once from
//! its net change, and the hot rows (holdings, pools, ledger entries) in batches, so that a
//! group of a hundred allocations is a handful of statements, not hundreds.

use std::collections::{HashMap, HashSet};

use allot_core::{Change, Holding, LedgerEntry, OrgId, OrgKey, ProductCode, Rule, Timestamp, UserId};

use crate::rows::{PoolWrite, holding_columns, pool_writes, rule_licenses};
use crate::sql::{Expect, Statement, Value, key, statement, to_json};
use crate::{Commit, IdempotencyKey, SideWrite, StoreError, StoreResult, Subject};

type Row = Vec<Value>;

/// Every statement of a group of commits, one transaction:
/// - first the revision moves, only from the one the first plan was made at;
/// - then each change's rows, in order, except holdings and pools, which wait in batches;
/// - holdings go before any deletion of a user or an organization (whose rows they
///   reference), and at the end;
/// - pools go once each, from their net change, so that the schema's constraints judge
///   the transaction's end state: at the end, and before an organization's deletion, which
///   deletes its pool rows itself;
/// - then the users' and groups' dates of membership changes (see [`Dates`]), once each;
/// - then the idempotency keys, the side writes (credentials: not ledger events, but all or
///   nothing with their change) and the ledger entries.
pub fn commit_statements(commits: &[Commit]) -> StoreResult<Vec<Statement>> {
    let (Some(first), Some(last)) = (commits.first(), commits.last()) else {
        return Ok(Vec::new());
    };
    if commits.iter().zip(first.revision..).any(|(commit, expected)| commit.revision != expected) {
        return Err(StoreError::Failed("the revisions of a group of commits must follow each other".into()));
    }
    // A revision that moved on sets NULL, which the schema refuses: the database itself
    // stops the transaction there, before it takes any other row's lock.
    let mut out = vec![statement(
        "UPDATE meta SET value = CASE WHEN value = ?2 THEN CAST(?1 AS BIGINT) END WHERE key = 'revision'",
        vec![last.revision.into(), first.revision.saturating_sub(1).into()],
        Expect::Revision,
    )];
    let mut holdings = HoldingWrites::default();
    let mut pool_changes: Vec<&Change> = Vec::new();
    let mut dates = Dates::default();
    let mut ledger = Vec::new();
    for commit in commits {
        dates.made.clear();
        for entry in &commit.entries {
            let change = &entry.change;
            match change {
                Change::UserDeleted { .. } => holdings.flush(&mut out),
                Change::OrgDeleted { .. } => {
                    holdings.flush(&mut out);
                    pool_statements(pool_writes(pool_changes.drain(..)), &mut out);
                }
                Change::HoldingSet { org, user, product, before, after } => {
                    holdings.add(org, user, product, before.as_ref(), after.as_ref(), &mut out)?;
                    pool_changes.push(change);
                }
                Change::PoolSet { .. } => pool_changes.push(change),
                _ => {}
            }
            let modified = dates.follow(change, entry.at);
            change_statements(change, entry.at, modified, &mut out)?;
            ledger.push(ledger_row(entry)?);
        }
    }
    holdings.flush(&mut out);
    pool_statements(pool_writes(pool_changes.into_iter()), &mut out);
    dates.flush(&mut out);
    for commit in commits {
        if let Some(key) = &commit.idempotency {
            out.push(idempotency_statement(key, commit));
        }
        out.extend(commit.side.iter().map(side_statement));
    }
    out.extend(rows(LEDGER, ledger, Expect::Any));
    Ok(out)
}

/// A row that must be new: its table's primary key (as PostgreSQL names it), and what
/// a refusal says exists.
fn new(constraint: &'static str, what: &'static str, id: impl ToString) -> Expect {
    Expect::New { constraint, what, id: id.to_string() }
}

/// The statements that write one change's rows, but for holdings and pools. `at` is the
/// change's time, `modified` the modification time its row takes (see [`Dates::follow`]).
fn change_statements(
    change: &Change,
    at: Timestamp,
    modified: Option<Timestamp>,
    out: &mut Vec<Statement>,
) -> StoreResult<()> {
    use Expect::{Any, One};
    match change {
        Change::ProductAdded { product } => out.push(statement(
            "INSERT INTO products (code_key, product) VALUES (?1, ?2)",
            vec![product.code.as_str().to_ascii_lowercase().into(), to_json(product)?.into()],
            new("products_pkey", "product", &product.code),
        )),
        Change::ProductRemoved { product } => out.push(statement(
            "DELETE FROM products WHERE code_key = ?1",
            vec![product.code.as_str().to_ascii_lowercase().into()],
            Any,
        )),
        Change::OrgCreated { org, name } => out.push(statement(
            "INSERT INTO orgs (org_key, org_id, name) VALUES (?1, ?2, ?3)",
            vec![key(org), org.as_str().into(), name.as_str().into()],
            new("orgs_pkey", "organization", org),
        )),
        Change::OrgRenamed { org, after, .. } => out.push(statement(
            "UPDATE orgs SET name = ?2 WHERE org_key = ?1",
            vec![key(org), after.as_str().into()],
            One("organization"),
        )),
        Change::OrgDeleted { org, .. } => {
            let k = org.key();
            out.push(statement(
                "DELETE FROM pools WHERE scope = ?1 OR scope LIKE ?2",
                vec![format!("org:{k}").into(), format!("tenant:{k}/%").into()],
                Any,
            ));
            out.push(statement("DELETE FROM api_clients WHERE org_key = ?1", vec![key(org)], Any));
            out.push(statement("DELETE FROM credentials WHERE realm = ?1", vec![key(org)], Any));
            // Its users' and clients' tokens must not outlive them.
            out.push(statement("DELETE FROM tokens WHERE realm = ?1", vec![key(org)], Any));
            out.push(statement("DELETE FROM orgs WHERE org_key = ?1", vec![key(org)], One("organization")));
        }
        Change::UserCreated { org, user, profile } => out.push(statement(
            "INSERT INTO users (org_key, user_id, profile, created_at) VALUES (?1, ?2, ?3, ?4)",
            vec![key(org), user.as_str().into(), to_json(profile)?.into(), at.into()],
            new("users_pkey", "user", user),
        )),
        Change::UserUpdated { org, user, after, .. } => out.push(statement(
            "UPDATE users SET profile = ?3, modified_at = ?4 WHERE org_key = ?1 AND user_id = ?2",
            vec![key(org), user.as_str().into(), to_json(after)?.into(), modified.into()],
            One("user"),
        )),
        Change::UserDeleted { org, user, .. } => {
            out.push(statement(
                "DELETE FROM credentials WHERE realm = ?1 AND username = ?2",
                vec![key(org), user.as_str().into()],
                Any,
            ));
            out.push(revoke_statement(&Subject::OrgUser { org: org.key(), user: user.to_string() }));
            out.push(statement(
                "DELETE FROM users WHERE org_key = ?1 AND user_id = ?2",
                vec![key(org), user.as_str().into()],
                One("user"),
            ));
        }
        Change::GroupCreated { org, group, name } => out.push(statement(
            "INSERT INTO groups (org_key, group_id, name, licenses, external, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            vec![
                key(org),
                group.as_str().into(),
                name.as_str().into(),
                rule_licenses(&Rule::default()).into(),
                false.into(),
                at.into(),
            ],
            new("groups_pkey", "group", group),
        )),
        Change::GroupRenamed { org, group, after, .. } => out.push(statement(
            "UPDATE groups SET name = ?3, modified_at = ?4 WHERE org_key = ?1 AND group_id = ?2",
            vec![key(org), group.as_str().into(), after.as_str().into(), modified.into()],
            One("group"),
        )),
        Change::GroupProfileSet { org, group, after, .. } => out.push(statement(
            "UPDATE groups SET profile = ?3, modified_at = ?4 WHERE org_key = ?1 AND group_id = ?2",
            vec![key(org), group.as_str().into(), after.as_ref().map(to_json).transpose()?.into(), modified.into()],
            One("group"),
        )),
        Change::GroupDeleted { org, group, .. } => out.push(statement(
            "DELETE FROM groups WHERE org_key = ?1 AND group_id = ?2",
            vec![key(org), group.as_str().into()],
            One("group"),
        )),
        Change::TenantCreated { org, tenant, name } => out.push(statement(
            "INSERT INTO tenants (org_key, tenant_id, name) VALUES (?1, ?2, ?3)",
            vec![key(org), tenant.as_str().into(), name.as_str().into()],
            new("tenants_pkey", "tenant", tenant),
        )),
        Change::TenantDeleted { org, tenant, .. } => out.push(statement(
            "DELETE FROM tenants WHERE org_key = ?1 AND tenant_id = ?2",
            vec![key(org), tenant.as_str().into()],
            One("tenant"),
        )),
        Change::MemberAdded { org, group, user, seq } => out.push(statement(
            "INSERT INTO members (org_key, group_id, user_id, seq) VALUES (?1, ?2, ?3, ?4)",
            vec![key(org), group.as_str().into(), user.as_str().into(), (*seq).into()],
            new("members_pkey", "member", format!("{user} of group {group}")),
        )),
        Change::MemberRemoved { org, group, user, seq } => out.push(statement(
            "DELETE FROM members WHERE org_key = ?1 AND group_id = ?2 AND user_id = ?3 AND seq = ?4",
            vec![key(org), group.as_str().into(), user.as_str().into(), (*seq).into()],
            One("group member"),
        )),
        Change::RuleSet { org, group, before, after } => out.push(statement(
            "UPDATE groups SET licenses = ?5, external = ?6, modified_at = ?7
             WHERE org_key = ?1 AND group_id = ?2 AND licenses = ?3 AND external = ?4",
            vec![
                key(org),
                group.as_str().into(),
                rule_licenses(before).into(),
                before.external.into(),
                rule_licenses(after).into(),
                after.external.into(),
                modified.into(),
            ],
            One("group rule"),
        )),
        Change::PoolSet { .. } => {}
        // Written in batches: see `HoldingWrites`.
        Change::HoldingSet { .. } => {}
    }
    Ok(())
}

/// A user's or a group's row: (organization key, id).
type Dated = (String, String);

/// The `created_at` and `modified_at` of users and groups, kept with the changes that
/// date them. A user is modified by a profile update or a change of its memberships; a
/// group by a change of its name, its rule or its members.
/// Holdings modify neither: they are licenses, not the directory. A change in the
/// revision that made the row is part of the making: a user created with its groups has
/// never been modified.
///
/// Profile, name and rule updates set `modified_at` on the statement they run anyway; a
/// membership change writes a members row only, so its dates wait here and go once per
/// user and group, as a batch, at the end of the group of commits.
#[derive(Default)]
struct Dates {
    /// What the commit being written made.
    made: HashSet<(bool, Dated)>,
    users: HashMap<Dated, Timestamp>,
    groups: HashMap<Dated, Timestamp>,
}

impl Dates {
    /// Follows one change, in order; answers the `modified_at` the change's own statement
    /// sets, if it sets one: `at`, or none for a row this commit made (whose column is
    /// still NULL).
    fn follow(&mut self, change: &Change, at: Timestamp) -> Option<Timestamp> {
        let row = |org: &OrgId, id: &str| (org.key().as_str().to_owned(), id.to_owned());
        let modified = |made: &HashSet<(bool, Dated)>, user: bool, row: &Dated| {
            (!made.contains(&(user, row.clone()))).then_some(at)
        };
        match change {
            Change::UserCreated { org, user, .. } | Change::UserDeleted { org, user, .. } => {
                let row = row(org, user.as_str());
                // A later statement than any waiting date: the row is new, or gone.
                self.users.remove(&row);
                self.made.insert((true, row));
                None
            }
            Change::GroupCreated { org, group, .. } | Change::GroupDeleted { org, group, .. } => {
                let row = row(org, group.as_str());
                self.groups.remove(&row);
                self.made.insert((false, row));
                None
            }
            Change::UserUpdated { org, user, .. } => {
                let row = row(org, user.as_str());
                // This statement's date is later than the one waiting: it replaces it.
                self.users.remove(&row);
                modified(&self.made, true, &row)
            }
            Change::RuleSet { org, group, .. }
            | Change::GroupRenamed { org, group, .. }
            | Change::GroupProfileSet { org, group, .. } => {
                let row = row(org, group.as_str());
                self.groups.remove(&row);
                modified(&self.made, false, &row)
            }
            Change::MemberAdded { org, group, user, .. } | Change::MemberRemoved { org, group, user, .. } => {
                let (user, group) = (row(org, user.as_str()), row(org, group.as_str()));
                if let Some(at) = modified(&self.made, true, &user) {
                    self.users.insert(user, at);
                }
                if let Some(at) = modified(&self.made, false, &group) {
                    self.groups.insert(group, at);
                }
                None
            }
            Change::OrgDeleted { org, .. } => {
                let gone = org.key().as_str().to_owned();
                self.users.retain(|(org, _), _| *org != gone);
                self.groups.retain(|(org, _), _| *org != gone);
                None
            }
            _ => None,
        }
    }

    /// The waiting dates' statements. A row deleted since is no longer waiting.
    fn flush(self, out: &mut Vec<Statement>) {
        let of = |dates: HashMap<Dated, Timestamp>| -> Vec<Row> {
            dates.into_iter().map(|((org, id), at)| vec![org.into(), id.into(), at.into()]).collect()
        };
        out.extend(rows(USERS_MODIFIED, of(self.users), Expect::Any));
        out.extend(rows(GROUPS_MODIFIED, of(self.groups), Expect::Any));
    }
}

const USERS_MODIFIED: Batched = Batched {
    each: "UPDATE users SET modified_at = ?3 WHERE org_key = ?1 AND user_id = ?2",
    all: "UPDATE users u SET modified_at = d.m FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(o, i, m)
          WHERE u.org_key = d.o AND u.user_id = d.i",
};

const GROUPS_MODIFIED: Batched = Batched {
    each: "UPDATE groups SET modified_at = ?3 WHERE org_key = ?1 AND group_id = ?2",
    all: "UPDATE groups g SET modified_at = d.m FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(o, i, m)
          WHERE g.org_key = d.o AND g.group_id = d.i",
};

/// Holding writes waiting to go as batches. Their keys are distinct, so the batches may
/// run in any order; a key written again sends the batches first.
#[derive(Default)]
struct HoldingWrites {
    keys: HashSet<(OrgKey, UserId, ProductCode)>,
    inserts: Vec<Row>,
    updates: Vec<Row>,
    deletes: Vec<Row>,
}

impl HoldingWrites {
    fn add(
        &mut self,
        org: &OrgId,
        user: &UserId,
        product: &ProductCode,
        before: Option<&Holding>,
        after: Option<&Holding>,
        out: &mut Vec<Statement>,
    ) -> StoreResult<()> {
        let written = (org.key(), user.clone(), product.clone());
        if self.keys.contains(&written) {
            self.flush(out);
        }
        self.keys.insert(written);
        let at = vec![key(org), user.as_str().into(), product.as_str().into()];
        match (before, after) {
            (None, None) => {}
            (None, Some(new)) => self.inserts.push([at, holding_columns(new).into()].concat()),
            (Some(old), None) => self.deletes.push([at, holding_columns(old).into()].concat()),
            (Some(old), Some(new)) => {
                self.updates.push([at, holding_columns(old).into(), holding_columns(new).into()].concat())
            }
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<Statement>) {
        self.keys.clear();
        out.extend(rows(DELETE_HOLDINGS, std::mem::take(&mut self.deletes), Expect::One("holding")));
        out.extend(rows(UPDATE_HOLDINGS, std::mem::take(&mut self.updates), Expect::One("holding")));
        out.extend(rows(INSERT_HOLDINGS, std::mem::take(&mut self.inserts), Expect::Any));
    }
}

/// A statement for each of many rows, in two spellings: `each` with one row's parameters
/// (`?N`), and `all` with each parameter an array of the rows' values of that column
/// (`$N::type[]`, PostgreSQL's `unnest`), which a backend may run once instead.
struct Batched {
    each: &'static str,
    all: &'static str,
}

// A holding's row: its key (org_key, user_id, product), then `holding_columns`. Its
// conditional writes compare those columns (NULL equal to NULL), never a serialized form.
const INSERT_HOLDINGS: Batched = Batched {
    each: "INSERT INTO holdings (org_key, user_id, product, capability, via_group, external, valid_from, valid_until)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    all: "INSERT INTO holdings (org_key, user_id, product, capability, via_group, external, valid_from, valid_until)
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[],
              $7::bigint[], $8::bigint[])",
};

const DELETE_HOLDINGS: Batched = Batched {
    each: "DELETE FROM holdings WHERE org_key = ?1 AND user_id = ?2 AND product = ?3
             AND capability IS NOT DISTINCT FROM ?4 AND via_group IS NOT DISTINCT FROM ?5 AND external = ?6
             AND valid_from IS NOT DISTINCT FROM ?7 AND valid_until IS NOT DISTINCT FROM ?8",
    all: "DELETE FROM holdings h
          USING unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[],
              $8::bigint[]) AS d(o, u, p, c, g, x, f, t)
          WHERE h.org_key = d.o AND h.user_id = d.u AND h.product = d.p
            AND h.capability IS NOT DISTINCT FROM d.c AND h.via_group IS NOT DISTINCT FROM d.g AND h.external = d.x
            AND h.valid_from IS NOT DISTINCT FROM d.f AND h.valid_until IS NOT DISTINCT FROM d.t",
};

const UPDATE_HOLDINGS: Batched = Batched {
    each: "UPDATE holdings SET capability = ?9, via_group = ?10, external = ?11, valid_from = ?12, valid_until = ?13
           WHERE org_key = ?1 AND user_id = ?2 AND product = ?3
             AND capability IS NOT DISTINCT FROM ?4 AND via_group IS NOT DISTINCT FROM ?5 AND external = ?6
             AND valid_from IS NOT DISTINCT FROM ?7 AND valid_until IS NOT DISTINCT FROM ?8",
    all: "UPDATE holdings h SET capability = d.nc, via_group = d.ng, external = d.nx, valid_from = d.nf,
              valid_until = d.nt
          FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[],
              $8::bigint[], $9::text[], $10::text[], $11::boolean[], $12::bigint[], $13::bigint[])
              AS d(o, u, p, c, g, x, f, t, nc, ng, nx, nf, nt)
          WHERE h.org_key = d.o AND h.user_id = d.u AND h.product = d.p
            AND h.capability IS NOT DISTINCT FROM d.c AND h.via_group IS NOT DISTINCT FROM d.g AND h.external = d.x
            AND h.valid_from IS NOT DISTINCT FROM d.f AND h.valid_until IS NOT DISTINCT FROM d.t",
};

// The row first, empty if new, then the change: a CHECK would judge an upsert's INSERT
// values before the merge.
const INSERT_POOLS: Batched = Batched {
    each: "INSERT INTO pools (scope, license, quantity, allocated) VALUES (?1, ?2, 0, 0)
           ON CONFLICT (scope, license) DO NOTHING",
    all: "INSERT INTO pools (scope, license, quantity, allocated)
          SELECT s, l, 0, 0 FROM unnest($1::text[], $2::text[]) AS d(s, l)
          ON CONFLICT (scope, license) DO NOTHING",
};

const UPDATE_POOLS: Batched = Batched {
    each: "UPDATE pools SET quantity = quantity + ?3, allocated = allocated + ?4,
               valid_from = CASE WHEN ?7 THEN ?5 ELSE valid_from END,
               valid_until = CASE WHEN ?7 THEN ?6 ELSE valid_until END
           WHERE scope = ?1 AND license = ?2",
    all: "UPDATE pools p SET quantity = p.quantity + d.q, allocated = p.allocated + d.a,
              valid_from = CASE WHEN d.g THEN d.f ELSE p.valid_from END,
              valid_until = CASE WHEN d.g THEN d.u ELSE p.valid_until END
          FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[])
              AS d(s, l, q, a, f, u, g)
          WHERE p.scope = d.s AND p.license = d.l",
};

const DELETE_EMPTY_POOLS: Batched = Batched {
    each: "DELETE FROM pools WHERE scope = ?1 AND license = ?2 AND quantity = 0 AND allocated = 0
             AND valid_from IS NULL AND valid_until IS NULL",
    all: "DELETE FROM pools p USING unnest($1::text[], $2::text[]) AS d(s, l)
          WHERE p.scope = d.s AND p.license = d.l AND p.quantity = 0 AND p.allocated = 0
            AND p.valid_from IS NULL AND p.valid_until IS NULL",
};

const LEDGER: Batched = Batched {
    each: "INSERT INTO ledger (revision, seq, at, actor, request_id, org_key, user_id, license, kind, delta, change)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    all: "INSERT INTO ledger (revision, seq, at, actor, request_id, org_key, user_id, license, kind, delta, change)
          SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])",
};

/// The batch's statement for `rows`, if there are any.
fn rows(batched: Batched, of: Vec<Row>, expect: Expect) -> Option<Statement> {
    (!of.is_empty()).then_some(Statement::Rows { each: batched.each, all: batched.all, rows: of, expect })
}

/// Writes each pool once from its net change. Only a pool whose grant the group sets can
/// lack a row (a new grant) or be left empty (a smaller one), so only such a pool gets its
/// row ahead, empty if new, and its removal if the change leaves it empty. A pool that the
/// group only takes units from or gives units back to has a row: units need a quantity
/// (the `CHECK`), and units given back were counted in it.
fn pool_statements(pools: Vec<PoolWrite>, out: &mut Vec<Statement>) {
    let (mut granted, mut changes) = (Vec::new(), Vec::new());
    for pool in pools {
        let (from, until) = pool.grant.map(|g| (g.valid_from, g.valid_until)).unwrap_or_default();
        let at: Row = vec![pool.scope.into(), pool.license.into()];
        if pool.grant.is_some() {
            granted.push(at.clone());
        }
        let change = [pool.quantity_delta.into(), pool.allocated_delta.into(), from.into(), until.into()];
        changes.push([at, change.into(), vec![pool.grant.is_some().into()]].concat());
    }
    out.extend(rows(INSERT_POOLS, granted.clone(), Expect::Any));
    out.extend(rows(UPDATE_POOLS, changes, Expect::One("pool")));
    out.extend(rows(DELETE_EMPTY_POOLS, granted, Expect::Any));
}

/// Keeps the request's idempotency key, pending its answer, with the change it made.
fn idempotency_statement(key: &IdempotencyKey, commit: &Commit) -> Statement {
    statement(
        "INSERT INTO idempotency (scope, key, fingerprint, revision, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, revision = excluded.revision,
             status = NULL, content_type = NULL, body = NULL, created_at = excluded.created_at",
        vec![
            key.scope.as_str().into(),
            key.key.as_str().into(),
            key.fingerprint.as_str().into(),
            commit.revision.into(),
            commit.at.into(),
        ],
        Expect::Any,
    )
}

pub(crate) fn ledger_row(entry: &LedgerEntry) -> StoreResult<Row> {
    let change = &entry.change;
    Ok(vec![
        entry.revision.into(),
        entry.seq.into(),
        entry.at.into(),
        entry.actor.as_str().into(),
        entry.request_id.as_str().into(),
        change.org().map(|o| o.key().as_str().to_owned()).into(),
        change.user().map(UserId::as_str).into(),
        change.license().map(|l| l.to_string()).into(),
        change.kind().into(),
        change.delta().into(),
        to_json(change)?.into(),
    ])
}

/// A side write's statement.
fn side_statement(side: &SideWrite) -> Statement {
    match side {
        SideWrite::Password { realm, username, hash } => password_statement(realm, username, hash),
    }
}

/// Sets an account's password hash.
pub(crate) fn password_statement(realm: &str, username: &str, hash: &str) -> Statement {
    statement(
        "INSERT INTO credentials (realm, username, password_hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (realm, username) DO UPDATE SET password_hash = excluded.password_hash",
        vec![realm.into(), username.into(), hash.into()],
        Expect::Any,
    )
}

/// A token's subject as its columns hold it: kind, realm ('' for the host, else the
/// organization's key) and the principal's id. Revocations match these columns.
pub(crate) fn subject_columns(subject: &Subject) -> [Value; 3] {
    let (kind, realm, principal) = match subject {
        Subject::HostAdmin { username } => ("host_admin", "", username.as_str()),
        Subject::OrgUser { org, user } => ("org_user", org.as_str(), user.as_str()),
        Subject::Client { client_id, org } => ("client", org.as_str(), client_id.as_str()),
    };
    [kind.into(), realm.into(), principal.into()]
}

/// Removes every token of `subject`, returning their hashes.
pub(crate) fn revoke_statement(subject: &Subject) -> Statement {
    statement(
        "DELETE FROM tokens WHERE subject_kind = ?1 AND realm = ?2 AND principal = ?3 RETURNING hash",
        subject_columns(subject).into(),
        Expect::Any,
    )
}
