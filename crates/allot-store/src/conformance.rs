//! What every Store must do, written once against the trait. Each test takes a fresh
//! store; the SQLite instantiation is at the bottom.

use std::collections::{BTreeMap, HashMap};

use allot_core::{
    Actor, Change, Command, DirectLicense, Grant, GroupId, Holding, LedgerEntry, LicenseKey, OrgId, OrgKey, Product,
    ProductCode, ProductKind, Role, Rule, ServiceType, Source, State, TenantId, UserId, UserProfile,
};

use crate::sql::{Expect, FromRow, Statement, Value, row_struct};
use crate::{
    ApiClient, Commit, CounterScope, IdempotencyKey, IdempotencyRecord, LedgerQuery, Lifetime, LoginCounter, Outage,
    Refusal, SideWrite, Store, StoreError, StoreResult, StoredAnswer, Subject, TokenKind, TokenRecord,
};

const NOW: i64 = 1_700_000_000_000;

/// Plans and commits the way the server does; answers the ledger entries it wrote.
async fn apply(store: &impl Store, state: &mut State, commands: &[Command]) -> Vec<LedgerEntry> {
    let plan = allot_core::plan(state, commands, NOW);
    assert!(plan.is_possible(), "{:?}", plan.violations);
    let revision = state.revision() + 1;
    let actor = Actor { name: "test".into(), request_id: format!("req-{revision}") };
    let entries = LedgerEntry::for_plan(revision, NOW, &actor, &plan.changes);
    store
        .commit(Commit { revision, at: NOW, entries: entries.clone(), idempotency: None, side: vec![] })
        .await
        .unwrap();
    state.apply_all(revision, &plan.changes).unwrap();
    entries
}

/// Whether `result` is a trigger's refusal (the ledger's, migrations/*/0001_init.sql: SQLite's
/// `RAISE(ABORT, ...)`, SQLITE_CONSTRAINT_TRIGGER; PostgreSQL's `RAISE EXCEPTION`, P0001).
fn refused_by_a_trigger<T>(result: &StoreResult<T>) -> bool {
    matches!(result, Err(StoreError::Refused(Refusal::Trigger)))
}

/// The schema's constraint that a pool allocates no more than its quantity
/// (migrations/{sqlite,postgres}/0001_init.sql).
const WITHIN_QUANTITY: &str = "pool_allocated_within_quantity";

/// Whether `result` is a refusal by the pools' limits: on PostgreSQL, which names the
/// constraint, by `constraint`; SQLite names none outside its message.
fn refused_by_pool_limit<T>(result: &StoreResult<T>, constraint: &str) -> bool {
    match result {
        Err(StoreError::Refused(Refusal::PoolLimit { constraint: Some(named) })) => *named == constraint,
        Err(StoreError::Refused(Refusal::PoolLimit { constraint: None })) => true,
        _ => false,
    }
}

/// A group as the conformance tests compare it: id, name, rule, members and record.
type GroupView = (GroupId, String, Rule, BTreeMap<u64, UserId>, Option<allot_core::GroupProfile>);

/// An organization as loaded, beyond its pools and holdings: its name, users (profile,
/// groups joined with their place in line), groups (name, rule, members in order, record)
/// and tenants.
#[derive(Debug, PartialEq)]
struct OrgView {
    name: String,
    users: Vec<(UserId, UserProfile, BTreeMap<GroupId, u64>)>,
    groups: Vec<GroupView>,
    tenants: Vec<(TenantId, String)>,
}

fn orgs(state: &State) -> BTreeMap<OrgKey, OrgView> {
    state
        .orgs()
        .map(|o| {
            let view = OrgView {
                name: o.name.clone(),
                users: o.users.iter().map(|(id, u)| (id.clone(), u.profile.clone(), u.groups.clone())).collect(),
                groups: o
                    .groups
                    .values()
                    .map(|g| {
                        (g.id.clone(), g.name.clone(), g.rule.clone(), g.members.clone(), g.profile.as_deref().cloned())
                    })
                    .collect(),
                tenants: o.tenants.values().map(|t| (t.id.clone(), t.name.clone())).collect(),
            };
            (o.id.key(), view)
        })
        .collect()
}

fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

fn license(key: &str) -> LicenseKey {
    LicenseKey::parse(key).unwrap()
}

fn setup() -> Vec<Command> {
    let mut commands = vec![
        Command::CreateOrg { org: org(), name: "Acme".into() },
        Command::SetHostPool { license: license("ATTUNU"), grant: Grant::quantity(10) },
        Command::SetOrgPool { org: org(), license: license("ATTUNU"), grant: Grant::quantity(3) },
    ];
    for user in ["a", "b", "c", "d"] {
        commands.push(Command::CreateUser {
            org: org(),
            user: UserId::parse(user).unwrap(),
            profile: UserProfile::default(),
        });
    }
    commands
}

fn hold(user: &str, keys: &[&str]) -> Command {
    Command::SetDirectLicenses {
        org: org(),
        user: UserId::parse(user).unwrap(),
        licenses: keys.iter().map(|k| DirectLicense::of(license(k), false)).collect(),
    }
}

/// Every table the state loads from: products, organizations, users with their profiles,
/// groups with rules and members, tenants, pools of every scope, holdings (direct,
/// inherited, ending), and the revision.
pub async fn loads_what_was_committed(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    apply(&store, &mut state, &[hold("a", &["ATTUNU"]), hold("b", &["ATTUNU"])]).await;
    apply(&store, &mut state, &[hold("a", &[])]).await;
    let product = Product {
        code: ProductCode::parse("ROBOT9").unwrap(),
        name: "Robot nine".into(),
        kind: ProductKind::Unit,
        service_type: Some(ServiceType::parse("orchestrator").unwrap()),
        capabilities: Vec::new(),
        not_for: vec![license("vccrole:agent")],
    };
    let (g, tenant) = (GroupId::parse("g").unwrap(), TenantId::parse("t").unwrap());
    let ending = DirectLicense { valid_until: Some(NOW + 1000), ..DirectLicense::of(license("ATTUNU"), false) };
    // With a directory entry, which both stores keep in the profile's JSON.
    let directory = allot_core::DirectoryProfile {
        surname: Some("Bear".into()),
        inactive: true,
        attributes: [("team".to_owned(), "blue".to_owned())].into(),
        // A contact center account rides in the directory entry, on both stores.
        contact_center: Some(Box::new(allot_core::ContactCenterProfile {
            role: "Supervisor".into(),
            agent_configuration: Some(serde_json::json!({"capacity": {"live": 3}})),
            ..Default::default()
        })),
        ..Default::default()
    };
    let admin = UserProfile {
        name: "Bea".into(),
        email: Some("bea@example.com".into()),
        role: Role::Admin,
        directory: Some(Box::new(directory)),
    };
    apply(
        &store,
        &mut state,
        &[
            Command::AddProduct { product: product.clone() },
            Command::SetHostPool { license: license("ROBOT9"), grant: Grant::quantity(5) },
            Command::SetOrgPool { org: org(), license: license("ROBOT9"), grant: Grant::quantity(4) },
            Command::RenameOrg { org: org(), name: "Acme Renamed".into() },
            Command::UpdateUser { org: org(), user: UserId::parse("b").unwrap(), profile: admin },
            Command::CreateGroup { org: org(), group: g.clone(), name: "G".into() },
            Command::RenameGroup { org: org(), group: g.clone(), name: "G Renamed".into() },
            Command::SetGroupProfile {
                org: org(),
                group: g.clone(),
                profile: Some(allot_core::GroupProfile {
                    external_id: Some("okta-g".into()),
                    created: Some(NOW),
                    modified: None,
                }),
            },
            Command::AddMember { org: org(), group: g.clone(), user: UserId::parse("d").unwrap() },
            Command::AddMember { org: org(), group: g.clone(), user: UserId::parse("c").unwrap() },
            Command::SetGroupRule {
                org: org(),
                group: g,
                rule: Rule { licenses: vec![license("ATTUNU")], external: false },
            },
            Command::SetDirectLicenses { org: org(), user: UserId::parse("a").unwrap(), licenses: vec![ending] },
            Command::CreateTenant { org: org(), tenant: tenant.clone(), name: "T".into() },
            Command::SetTenantPool {
                org: org(),
                tenant,
                service: ServiceType::parse("orchestrator").unwrap(),
                license: license("ROBOT9"),
                grant: Grant::quantity(3),
            },
        ],
    )
    .await;
    let inherited = state.all_holdings().into_values().filter(|h| matches!(h.source, Source::Group(_))).count();
    assert_eq!(inherited, 2, "b's deactivation frees b's unit: d and c take the last two through the group");
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), state.revision());
    assert_eq!(loaded.catalogue().get("ROBOT9"), Some(&product));
    assert_eq!(orgs(&loaded), orgs(&state));
    assert_eq!(loaded.balances(), state.balances());
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    assert_eq!(loaded.next_ending(), Some(NOW + 1000), "a holding's end loads into the expiry index");
}

/// Users of two organizations, created in turns, load each into their own organization.
pub async fn loads_the_users_of_every_organization(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let beta = OrgId::parse("beta").unwrap();
    let user = |org: &OrgId, id: &str| Command::CreateUser {
        org: org.clone(),
        user: UserId::parse(id).unwrap(),
        profile: UserProfile::default(),
    };
    let created = Command::CreateOrg { org: beta.clone(), name: "Beta".into() };
    apply(&store, &mut state, &[created, user(&beta, "z"), user(&beta, "a")]).await;
    apply(&store, &mut state, &[user(&org(), "e"), user(&beta, "m")]).await;
    let loaded = store.load().await.unwrap();
    for name in ["acme", "beta"] {
        let ids = |s: &State| s.org(name).unwrap().users.keys().cloned().collect::<Vec<_>>();
        assert_eq!(ids(&loaded), ids(&state), "{name}");
    }
}

pub async fn a_commit_at_a_stale_revision_is_refused_whole(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let plan = allot_core::plan(&mut state, &[hold("a", &["ATTUNU"])], NOW);
    let actor = Actor { name: "test".into(), request_id: "stale".into() };
    let entries = LedgerEntry::for_plan(1, NOW, &actor, &plan.changes);
    let ledger = || store.ledger(LedgerQuery { limit: u32::MAX, ..Default::default() });
    let written = ledger().await.unwrap();
    let refused = store.commit(Commit { revision: 1, at: NOW, entries, idempotency: None, side: vec![] }).await;
    assert!(matches!(refused, Err(StoreError::Raced(_))), "{refused:?}");
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), 1);
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    assert_eq!(loaded.balances(), state.balances());
    assert_eq!(ledger().await.unwrap(), written, "nothing of the refused commit reaches the ledger");
}

/// A commit the planner would never produce: at `revision`, each of `users` takes a unit
/// of ATTUNU, whatever the pool holds.
fn forged(revision: u64, users: &[&str]) -> Commit {
    forged_holdings(revision, users, None, Some(Holding::new(None, Source::Direct, false)))
}

/// A commit that sets each of `users`' ATTUNU holding from `before` to `after`, whatever
/// they hold.
fn forged_holdings(revision: u64, users: &[&str], before: Option<Holding>, after: Option<Holding>) -> Commit {
    let changes: Vec<Change> = users
        .iter()
        .map(|user| Change::HoldingSet {
            org: org(),
            user: UserId::parse(user).unwrap(),
            product: ProductCode::parse("ATTUNU").unwrap(),
            before: before.clone(),
            after: after.clone(),
        })
        .collect();
    let actor = Actor { name: "test".into(), request_id: "forged".into() };
    let entries = LedgerEntry::for_plan(revision, NOW, &actor, &changes);
    Commit { revision, at: NOW, entries, idempotency: None, side: vec![] }
}

/// Even a commit the planner would never produce cannot take more than a pool holds:
/// the schema refuses it and nothing of it is written.
pub async fn the_schema_refuses_an_over_allocation(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let refused = store.commit(forged(2, &["a", "b", "c", "d"])).await;
    assert!(refused_by_pool_limit(&refused, WITHIN_QUANTITY), "{refused:?}");
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), 1);
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    let later = LedgerQuery { from_revision: Some(2), limit: 10, ..Default::default() };
    assert!(store.ledger(later).await.unwrap().is_empty());
}

/// Plans `batches` one after another on `state` and answers their commits, as the
/// server's committer groups them; `state` ends with all of them applied.
fn group(state: &mut State, batches: &[Vec<Command>]) -> Vec<Commit> {
    let dated: Vec<_> = batches.iter().map(|commands| (NOW, commands.clone())).collect();
    group_at(state, &dated)
}

/// A group of commits, each planned and committed at its own time.
fn group_at(state: &mut State, batches: &[(i64, Vec<Command>)]) -> Vec<Commit> {
    let mut commits = Vec::new();
    for (at, commands) in batches {
        let plan = allot_core::plan(state, commands, *at);
        assert!(plan.is_possible(), "{:?}", plan.violations);
        let revision = state.revision() + 1;
        let actor = Actor { name: "test".into(), request_id: format!("req-{revision}") };
        let entries = LedgerEntry::for_plan(revision, *at, &actor, &plan.changes);
        state.apply_all(revision, &plan.changes).unwrap();
        commits.push(Commit { revision, at: *at, entries, idempotency: None, side: vec![] });
    }
    commits
}

pub async fn a_group_commit_writes_every_plan_in_order(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let batches = [vec![hold("a", &["ATTUNU"])], vec![hold("b", &["ATTUNU"])], vec![hold("a", &[])]];
    store.commit_all(&group(&mut state, &batches)).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), 4);
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    let ledger = store.ledger(LedgerQuery { from_revision: Some(2), limit: 10, ..Default::default() }).await.unwrap();
    let revisions: Vec<u64> = ledger.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, [2, 3, 4]);
    assert!(store.check_ledger().await.unwrap().differences.is_empty());
}

/// One bad plan in a group refuses the whole group: the plans before it are not written.
pub async fn a_group_commit_is_all_or_nothing(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let before = state.all_holdings();
    let mut commits = group(&mut state, &[vec![hold("a", &["ATTUNU"])]]);
    // The second plan, forged, takes three more units of a pool of three.
    commits.push(forged(3, &["b", "c", "d"]));
    let refused = store.commit_all(&commits).await;
    assert!(refused_by_pool_limit(&refused, WITHIN_QUANTITY), "{refused:?}");
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), 1);
    assert_eq!(loaded.all_holdings(), before);
    // Revisions that do not follow each other are refused too.
    let mut gap =
        group(&mut store.load().await.unwrap(), &[vec![hold("a", &["ATTUNU"])], vec![hold("b", &["ATTUNU"])]]);
    gap[1].revision = 4;
    let refused = store.commit_all(&gap).await;
    let follows = "the revisions of a group of commits must follow each other";
    assert!(matches!(&refused, Err(StoreError::Failed(m)) if m == follows), "{refused:?}");
    assert_eq!(store.load().await.unwrap().revision(), 1);
}

/// An organization emptied, deleted, created again and granted anew, all in one group:
/// the stored pools are what memory holds.
pub async fn a_group_that_deletes_and_recreates_an_organization_keeps_its_pools(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let beta = OrgId::parse("beta").unwrap();
    let grant = |quantity| Command::SetOrgPool {
        org: beta.clone(),
        license: license("ATTUNU"),
        grant: Grant::quantity(quantity),
    };
    apply(&store, &mut state, &[Command::CreateOrg { org: beta.clone(), name: "Beta".into() }, grant(5)]).await;
    let batches = [
        vec![grant(0)],
        vec![Command::DeleteOrg { org: beta.clone() }],
        vec![Command::CreateOrg { org: beta.clone(), name: "Beta again".into() }],
        vec![grant(5)],
    ];
    store.commit_all(&group(&mut state, &batches)).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.balances(), state.balances());
    assert_eq!(loaded.org("beta").unwrap().pool(&license("ATTUNU")).grant.quantity, 5);
    assert!(store.check_ledger().await.unwrap().differences.is_empty());
}

/// Holdings go to the database in batches: a holding taken, given back and taken again in
/// one group, one changed in place, and one given back just before its holder is deleted
/// and created again all end as memory has them.
pub async fn a_group_that_writes_a_holding_again_and_deletes_its_holder_keeps_the_order(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let user = |id: &str| UserId::parse(id).unwrap();
    let external = |id: &str| Command::SetDirectLicenses {
        org: org(),
        user: user(id),
        licenses: vec![DirectLicense::of(license("ATTUNU"), true)],
    };
    let batches = [
        vec![hold("a", &["ATTUNU"]), hold("d", &["ATTUNU"]), external("c")],
        vec![hold("a", &[])],
        vec![hold("a", &["ATTUNU"]), hold("c", &["ATTUNU"])],
        vec![Command::DeleteUser { org: org(), user: user("d") }],
        vec![Command::CreateUser { org: org(), user: user("d"), profile: UserProfile::default() }],
        vec![external("d")],
    ];
    store.commit_all(&group(&mut state, &batches)).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    assert_eq!(loaded.balances(), state.balances());
    assert!(store.check_ledger().await.unwrap().differences.is_empty());
}

/// A batch in which one row finds nothing to change is refused whole: here a group gives
/// back two units, one of them held by nobody.
pub async fn a_batch_with_one_row_that_finds_nothing_is_refused_whole(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    apply(&store, &mut state, &[hold("a", &["ATTUNU"]), hold("c", &["ATTUNU"])]).await;
    let held = Holding::new(None, Source::Direct, false);
    let refused = store.commit(forged_holdings(3, &["a", "b"], Some(held), None)).await;
    // The row count check of the holdings' batch (`Expect::One("holding")`), not a constraint.
    assert!(matches!(&refused, Err(StoreError::Raced(m)) if m.starts_with("holding: expected")), "{refused:?}");
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.revision(), 2);
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    assert_eq!(loaded.balances(), state.balances());
}

pub async fn the_ledger_pages_filters_and_replays_to_the_stored_balances(store: impl Store) {
    let mut state = State::default();
    let mut written = apply(&store, &mut state, &setup()).await;
    let beta = OrgId::parse("beta").unwrap();
    written.extend(apply(&store, &mut state, &[Command::CreateOrg { org: beta.clone(), name: "Beta".into() }]).await);
    for round in 0..5 {
        let who = ["a", "b", "c"][round % 3];
        written.extend(apply(&store, &mut state, &[hold(who, &["ATTUNU"])]).await);
        written.extend(apply(&store, &mut state, &[hold(who, &[])]).await);
    }
    let beta_user =
        Command::CreateUser { org: beta, user: UserId::parse("b").unwrap(), profile: UserProfile::default() };
    written.extend(apply(&store, &mut state, &[beta_user, hold("b", &["ATTUNU"])]).await);
    let check = store.check_ledger().await.unwrap();
    assert_eq!(check.differences, Vec::<String>::new());
    assert_eq!(check.revision, state.revision());
    let all = store.ledger(LedgerQuery { limit: u32::MAX, ..Default::default() }).await.unwrap();
    assert_eq!(all, written, "the ledger is every entry committed, in order");
    assert_eq!(check.entries, all.len() as u64);

    // Each filter answers exactly the entries that match it, in order.
    let matching = |keep: &dyn Fn(&LedgerEntry) -> bool| all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>();
    let by_user =
        LedgerQuery { org: Some(OrgKey::of("ACME")), user: Some("b".into()), limit: 100, ..Default::default() };
    let entries = store.ledger(by_user).await.unwrap();
    let acme_b = |e: &LedgerEntry| {
        e.change.org().is_some_and(|o| o.as_str() == "acme") && e.change.user().is_some_and(|u| u.as_str() == "b")
    };
    assert_eq!(entries, matching(&acme_b));
    assert_eq!(entries.len(), 1 + 2 * 2 + 1, "created, two rounds of hold and release, the last hold");
    let by_license = LedgerQuery { license: Some("ATTUNU".into()), limit: 100, ..Default::default() };
    let attunu = |e: &LedgerEntry| e.change.license().is_some_and(|l| l.to_string() == "ATTUNU");
    assert_eq!(store.ledger(by_license).await.unwrap(), matching(&attunu));
    let by_org = LedgerQuery { org: Some(OrgKey::of("beta")), limit: 100, ..Default::default() };
    let beta_only = |e: &LedgerEntry| e.change.org().is_some_and(|o| o.as_str() == "beta");
    assert_eq!(store.ledger(by_org).await.unwrap(), matching(&beta_only));
    let range = LedgerQuery { from_revision: Some(3), to_revision: Some(5), limit: 100, ..Default::default() };
    assert_eq!(store.ledger(range).await.unwrap(), matching(&|e| (3..=5).contains(&e.revision)));
    let limited = store.ledger(LedgerQuery { limit: 3, ..Default::default() }).await.unwrap();
    assert_eq!(limited, all[..3]);

    // Pages of two, each after the last one's cursor, add up to the whole ledger.
    let mut paged: Vec<LedgerEntry> = Vec::new();
    loop {
        let after = paged.last().map(|e| (e.revision, e.seq));
        let page = store.ledger(LedgerQuery { limit: 2, after, ..Default::default() }).await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(paged, all);
}

pub async fn refresh_tokens_can_be_taken_once(store: impl Store) {
    let token = TokenRecord {
        hash: "abc".into(),
        kind: TokenKind::Refresh,
        subject: Subject::HostAdmin { username: "admin".into() },
        scopes: vec!["allot:write".into()],
        expires_at: NOW + 1000,
    };
    store.insert_token(token.clone()).await.unwrap();
    assert_eq!(store.token("abc").await.unwrap(), Some(token.clone()));
    assert_eq!(store.take_token("abc").await.unwrap(), Some(token));
    assert_eq!(store.take_token("abc").await.unwrap(), None);
}

/// A raw statement cannot rewrite the ledger: the schema's triggers refuse it.
pub async fn the_ledger_is_append_only(store: impl Store) {
    let mut state = State::default();
    let written = apply(&store, &mut state, &setup()).await;
    for sql in ["UPDATE ledger SET actor = 'someone else'", "DELETE FROM ledger"] {
        let refused = store.write(vec![Statement::Single { sql, params: vec![], expect: Expect::Any }]).await;
        assert!(refused_by_a_trigger(&refused), "{sql}: {refused:?}");
    }
    let ledger = store.ledger(LedgerQuery { limit: u32::MAX, ..Default::default() }).await.unwrap();
    assert_eq!(ledger, written);
    assert!(store.check_ledger().await.unwrap().differences.is_empty());
}

/// A raw statement cannot allocate more than a pool holds.
pub async fn the_schema_checks_allocated_within_quantity(store: impl Store) {
    let insert = "INSERT INTO pools (scope, license, quantity, allocated) VALUES ('', 'X', 1, 1)";
    store.write(vec![Statement::Single { sql: insert, params: vec![], expect: Expect::Any }]).await.unwrap();
    let over = "UPDATE pools SET allocated = allocated + 1 WHERE license = 'X'";
    let refused = store.write(vec![Statement::Single { sql: over, params: vec![], expect: Expect::Any }]).await;
    assert!(refused_by_pool_limit(&refused, WITHIN_QUANTITY), "{refused:?}");
    let rows = store.read(vec![("SELECT allocated FROM pools WHERE license = 'X'".into(), vec![])]).await.unwrap();
    assert_eq!(rows[0][0].values(), [Value::Int(1)], "the refused update changed nothing");
}

row_struct! { struct NamedRow { org_id: String, name: String } }

/// Rows are decoded by column name, as each database names its columns: the same row
/// struct reads a query whatever the order of its select list, and a column missing from
/// the query is corrupt data naming the column, not another column's value.
pub async fn rows_decode_by_column_name_in_any_order(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let queries = vec![
        ("SELECT org_id, name FROM orgs".to_owned(), vec![]),
        ("SELECT name, org_id FROM orgs".to_owned(), vec![]),
        ("SELECT name FROM orgs".to_owned(), vec![]),
    ];
    let mut answers = store.read(queries).await.unwrap().into_iter().map(|mut rows| rows.remove(0));
    let mut decoded = Vec::new();
    for _ in 0..2 {
        let row = NamedRow::from_row(answers.next().unwrap()).unwrap();
        decoded.push((row.org_id, row.name));
    }
    assert_eq!(decoded, [("acme".to_owned(), "Acme".to_owned()), ("acme".to_owned(), "Acme".to_owned())]);
    let missing = NamedRow::from_row(answers.next().unwrap()).map(|_| ());
    assert!(matches!(&missing, Err(StoreError::Corrupt(m)) if m.contains("`org_id`")), "{missing:?}");
}

/// A holding with every column set (a group's, ending, external) and a group's rule are
/// changed only where their stored columns are what the commit says they were: one column
/// changed behind the store's back refuses the commit as a lost race, whole; put back, the
/// same commit goes through.
pub async fn conditional_writes_compare_the_stored_columns(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let g = GroupId::parse("g").unwrap();
    let rule = |external| Command::SetGroupRule {
        org: org(),
        group: g.clone(),
        rule: Rule { licenses: vec![license("ATTUNU")], external },
    };
    let ending = DirectLicense { valid_until: Some(NOW + 5000), ..DirectLicense::of(license("ATTUNU"), false) };
    let setup = [
        Command::CreateGroup { org: org(), group: g.clone(), name: "G".into() },
        Command::AddMember { org: org(), group: g.clone(), user: UserId::parse("d").unwrap() },
        rule(true),
        Command::SetDirectLicenses { org: org(), user: UserId::parse("a").unwrap(), licenses: vec![ending] },
    ];
    apply(&store, &mut state, &setup).await;
    let raw =
        |sql: &'static str| store.write(vec![Statement::Single { sql, params: vec![], expect: Expect::One("row") }]);
    let changes = [hold("a", &[]), rule(false)];
    for (tamper, untamper) in [
        (
            "UPDATE holdings SET valid_until = valid_until + 1 WHERE user_id = 'a'",
            "UPDATE holdings SET valid_until = valid_until - 1 WHERE user_id = 'a'",
        ),
        (
            "UPDATE holdings SET external = NOT external WHERE user_id = 'd'",
            "UPDATE holdings SET external = NOT external WHERE user_id = 'd'",
        ),
        ("UPDATE groups SET licenses = 'ATTUNU RPADEVNU'", "UPDATE groups SET licenses = 'ATTUNU'"),
    ] {
        raw(tamper).await.unwrap();
        let mut planned = state.clone();
        let commits = group(&mut planned, &[changes.to_vec()]);
        let refused = store.commit_all(&commits).await;
        assert!(matches!(refused, Err(StoreError::Raced(_))), "{tamper}: {refused:?}");
        assert_eq!(store.revision().await.unwrap(), state.revision(), "{tamper}: nothing written");
        raw(untamper).await.unwrap();
    }
    let commits = group(&mut state, &[changes.to_vec()]);
    store.commit_all(&commits).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.all_holdings(), state.all_holdings());
    assert_eq!(orgs(&loaded), orgs(&state));
}

/// A row whose key exists is refused naming it: an API client, and a user the store has
/// but the plan did not know of.
pub async fn a_duplicate_key_is_refused_naming_it(store: impl Store) {
    let client = ApiClient {
        client_id: "allot_ci_twice".into(),
        org: OrgKey::of("acme"),
        name: "c".into(),
        secret_hash: "00".into(),
        scopes: vec!["allot:read".into()],
        created_at: NOW,
    };
    store.insert_client(client.clone()).await.unwrap();
    let refused = store.insert_client(client).await;
    let exists = Refusal::Exists { what: "API client", id: "allot_ci_twice".into() };
    assert!(matches!(&refused, Err(StoreError::Refused(r)) if *r == exists), "{refused:?}");

    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let behind = "INSERT INTO users (org_key, user_id, profile) VALUES ('acme', 'e', '{}')";
    store.write(vec![Statement::Single { sql: behind, params: vec![], expect: Expect::Any }]).await.unwrap();
    let create = Command::CreateUser { org: org(), user: UserId::parse("e").unwrap(), profile: UserProfile::default() };
    let refused = store.commit_all(&group(&mut state.clone(), &[vec![create]])).await;
    let exists = Refusal::Exists { what: "user", id: "e".into() };
    assert!(matches!(&refused, Err(StoreError::Refused(r)) if *r == exists), "{refused:?}");
    assert_eq!(store.revision().await.unwrap(), 1);
}

fn token_of(subject: Subject, hash: &str) -> TokenRecord {
    TokenRecord {
        hash: hash.into(),
        kind: TokenKind::Access,
        subject,
        scopes: vec!["allot:read".into()],
        expires_at: NOW + 1000,
    }
}

/// A commit's side writes go with it: a password is written with the user's creation,
/// and not at all when the commit is refused. Deleting a user, an organization or a
/// client, or setting a password, revokes the tokens in the same transaction.
pub async fn side_writes_and_revocations_go_with_their_change(store: impl Store) {
    let mut state = State::default();
    apply(&store, &mut state, &setup()).await;
    let user = UserId::parse("e").unwrap();
    let create = Command::CreateUser { org: org(), user: user.clone(), profile: UserProfile::default() };
    let password = SideWrite::Password { realm: "acme".into(), username: "e".into(), hash: "$argon2id$e".into() };
    let mut stale = group(&mut state.clone(), &[vec![create.clone()]]);
    stale[0].side = vec![password.clone()];
    stale[0].revision = 1;
    stale[0].entries.iter_mut().for_each(|e| e.revision = 1);
    assert!(matches!(store.commit_all(&stale).await, Err(StoreError::Raced(_))));
    assert_eq!(store.password_hash("acme", "e").await.unwrap(), None, "a refused commit writes no side write");
    let mut commits = group(&mut state, &[vec![create]]);
    commits[0].side = vec![password];
    store.commit_all(&commits).await.unwrap();
    assert_eq!(store.password_hash("acme", "e").await.unwrap().as_deref(), Some("$argon2id$e"));

    let e = Subject::OrgUser { org: OrgKey::of("acme"), user: "e".into() };
    let b = Subject::OrgUser { org: OrgKey::of("acme"), user: "b".into() };
    let client = Subject::Client { client_id: "allot_ci_c".into(), org: OrgKey::of("acme") };
    let admin = Subject::HostAdmin { username: "admin".into() };
    for (subject, hash) in [(&e, "e1"), (&b, "b1"), (&client, "c1"), (&admin, "h1")] {
        store.insert_token(token_of(subject.clone(), hash)).await.unwrap();
    }
    apply(&store, &mut state, &[Command::DeleteUser { org: org(), user }]).await;
    assert_eq!(store.token("e1").await.unwrap(), None, "the deleted user's token went with them");
    assert_eq!(store.token("b1").await.unwrap().map(|t| t.subject), Some(b.clone()));
    store.set_password_hash("acme", "b", "$argon2id$b").await.unwrap();
    assert_eq!(store.token("b1").await.unwrap(), None, "a new password revokes the old tokens");
    assert!(!store.delete_client("allot_ci_c").await.unwrap(), "no such client, but its tokens go");
    assert_eq!(store.token("c1").await.unwrap(), None);
    store.insert_token(token_of(b.clone(), "b2")).await.unwrap();
    store.insert_token(token_of(client, "c2")).await.unwrap();
    let empty: Vec<Command> = ["a", "b", "c", "d"]
        .iter()
        .map(|u| Command::DeleteUser { org: org(), user: UserId::parse(u).unwrap() })
        .chain([
            Command::SetOrgPool { org: org(), license: license("ATTUNU"), grant: Grant::quantity(0) },
            Command::DeleteOrg { org: org() },
        ])
        .collect();
    apply(&store, &mut state, &empty).await;
    assert_eq!(store.token("b2").await.unwrap(), None, "the organization's tokens went with it");
    assert_eq!(store.token("c2").await.unwrap(), None);
    assert_eq!(store.token("h1").await.unwrap().map(|t| t.subject), Some(admin), "the host's stay");
}

fn counter(scope: CounterScope, addr: &str, max: u64, delay_after: u64) -> LoginCounter {
    LoginCounter {
        scope,
        realm: "acme".into(),
        username: "a".into(),
        addr: addr.into(),
        max,
        delay_after,
        delay_step_ms: 1000,
        delay_cap_ms: 1500,
    }
}

/// Login attempts are reserved before the password is checked: of 20 at once, exactly the
/// limit get through. A counter locked for the window, or waiting out its delay, refuses
/// the whole reservation and counts on none of the others; success and a lifted lockout
/// start the account again.
/// Counters whose window ended and whose delay is over are purged; one still locking stays,
/// and so does its lock.
pub async fn failed_login_counters_that_hold_nothing_back_are_purged(store: impl Store) {
    const WINDOW: i64 = 60_000;
    let old = counter(CounterScope::Pair, "10.0.0.1", 3, u64::MAX);
    let recent = counter(CounterScope::Pair, "10.0.0.2", 1, u64::MAX);
    store.reserve_login(std::slice::from_ref(&old), NOW, WINDOW).await.unwrap().unwrap();
    store.reserve_login(std::slice::from_ref(&recent), NOW + WINDOW, WINDOW).await.unwrap().unwrap();
    let later = NOW + WINDOW + 1_000;
    assert_eq!(store.purge_login_counters(later - WINDOW, later, 10).await.unwrap(), 1, "the ended window only");
    assert_eq!(store.purge_login_counters(later - WINDOW, later, 10).await.unwrap(), 0);
    let locked = store.reserve_login(std::slice::from_ref(&recent), later, WINDOW).await.unwrap();
    assert_eq!(locked, Err(WINDOW - 1_000), "the counter still locking was kept");
}

pub async fn login_attempts_are_reserved_up_to_the_limit_and_refusals_count_nowhere(store: impl Store) {
    const WINDOW: i64 = 60_000;
    let here = counter(CounterScope::Pair, "10.0.0.1", 3, u64::MAX);
    let there = counter(CounterScope::Pair, "10.0.0.2", 3, u64::MAX);
    let account = counter(CounterScope::Account, "", u64::MAX, 1);
    let burst = (0..20).map(|_| store.reserve_login(std::slice::from_ref(&here), NOW, WINDOW));
    let reserved = futures_util::future::join_all(burst).await.into_iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    assert_eq!(reserved, 3, "exactly the limit of a burst is reserved");
    assert_eq!(store.reserve_login(std::slice::from_ref(&here), NOW + 1000, WINDOW).await.unwrap(), Err(59_000));

    let both = [there.clone(), account.clone()];
    assert_eq!(store.reserve_login(&both, NOW, WINDOW).await.unwrap(), Ok(()));
    assert_eq!(store.reserve_login(&both, NOW, WINDOW).await.unwrap(), Ok(()), "the second sets a delay");
    assert_eq!(store.reserve_login(&both, NOW + 400, WINDOW).await.unwrap(), Err(600), "the delay is on");
    assert_eq!(store.reserve_login(&both, NOW + 1000, WINDOW).await.unwrap(), Ok(()), "the third waits longer");
    let locked = [here.clone(), account.clone()];
    assert_eq!(store.reserve_login(&locked, NOW + 2500, WINDOW).await.unwrap(), Err(57_500));
    assert_eq!(
        store.reserve_login(std::slice::from_ref(&account), NOW + 2500, WINDOW).await.unwrap(),
        Ok(()),
        "the refused reservation counted nothing on the account"
    );
    assert!(store.reserve_login(std::slice::from_ref(&there), NOW + 2500, WINDOW).await.unwrap().is_err());

    store.login_succeeded("acme", "a", "10.0.0.2").await.unwrap();
    assert_eq!(store.reserve_login(&both, NOW + 2500, WINDOW).await.unwrap(), Ok(()), "success starts it again");
    assert!(store.reserve_login(std::slice::from_ref(&here), NOW + 2500, WINDOW).await.unwrap().is_err());
    assert_eq!(store.reserve_login(std::slice::from_ref(&here), NOW + WINDOW, WINDOW).await.unwrap(), Ok(()));
    assert_eq!(store.reserve_login(std::slice::from_ref(&here), NOW + WINDOW, WINDOW).await.unwrap(), Ok(()));
    assert_eq!(store.reserve_login(std::slice::from_ref(&here), NOW + WINDOW, WINDOW).await.unwrap(), Ok(()));
    assert!(store.reserve_login(std::slice::from_ref(&here), NOW + WINDOW, WINDOW).await.unwrap().is_err());
    assert_eq!(store.lift_lockout("acme", "a").await.unwrap(), 3, "two addresses and the account");
    assert_eq!(store.reserve_login(&locked, NOW + WINDOW, WINDOW).await.unwrap(), Ok(()), "lifted");
}

/// Host administrators are added and removed, never the last; a removal takes the
/// administrator's tokens with it, in the same transaction.
pub async fn host_admins_are_added_and_removed_but_never_the_last(store: impl Store) {
    store.set_password_hash("", "admin", "$argon2id$a").await.unwrap();
    store.create_host_admin("ops", "$argon2id$o").await.unwrap();
    let exists = Refusal::Exists { what: "host administrator", id: "ops".into() };
    let again = store.create_host_admin("ops", "$argon2id$x").await;
    assert!(matches!(&again, Err(StoreError::Refused(r)) if *r == exists), "{again:?}");
    assert_eq!(store.host_admins().await.unwrap(), ["admin", "ops"]);
    let ops = Subject::HostAdmin { username: "ops".into() };
    store.insert_token(token_of(ops, "o1")).await.unwrap();
    store.insert_token(token_of(Subject::HostAdmin { username: "admin".into() }, "a1")).await.unwrap();
    assert!(!store.delete_host_admin("nobody").await.unwrap());
    assert!(store.delete_host_admin("ops").await.unwrap());
    assert_eq!(store.token("o1").await.unwrap(), None, "its tokens went with it");
    assert!(store.token("a1").await.unwrap().is_some());
    assert!(!store.delete_host_admin("admin").await.unwrap(), "never the last");
    assert_eq!(store.host_admins().await.unwrap(), ["admin"]);
    assert!(store.token("a1").await.unwrap().is_some(), "a refused removal revokes nothing");
}

/// A statement the database cannot run (a table renamed behind the store's back) is a
/// failure, not an outage nor a conflict.
pub async fn broken_sql_is_a_failure_not_an_outage(store: impl Store) {
    let rename = "ALTER TABLE tenants RENAME TO tenants_elsewhere";
    store.write(vec![Statement::Single { sql: rename, params: vec![], expect: Expect::Any }]).await.unwrap();
    let failed = store.load().await;
    assert!(matches!(failed, Err(StoreError::Failed(_))), "{failed:?}");
    assert!(!matches!(failed, Err(StoreError::Unavailable { reason: Outage::Unreachable, .. })));
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn group_id(id: &str) -> GroupId {
    GroupId::parse(id).unwrap()
}

fn dated(created: i64, modified: Option<i64>) -> Lifetime {
    Lifetime { created, modified }
}

/// The dates of `users` and `groups`, as the store answers them.
async fn lifetimes_of(
    store: &impl Store,
    users: &[&str],
    groups: &[&str],
) -> (HashMap<UserId, Lifetime>, HashMap<GroupId, Lifetime>) {
    let users: Vec<UserId> = users.iter().map(|id| user(id)).collect();
    let groups: Vec<GroupId> = groups.iter().map(|id| group_id(id)).collect();
    let org = org().key();
    (store.user_lifetimes(&org, &users).await.unwrap(), store.group_lifetimes(&org, &groups).await.unwrap())
}

/// A user is modified by a profile update or a membership change, a group by a rule or
/// membership change, each at the time of its last one; changes in the revision that made
/// a row are part of its making. Holdings modify nothing; only asked ids are answered.
pub async fn users_and_groups_are_dated_by_the_changes_that_made_and_modified_them(store: impl Store) {
    let mut state = State::default();
    let (org, g) = (org(), group_id("g"));
    let profile = UserProfile { name: "Bea".into(), ..UserProfile::default() };
    let member = |user: &str| Command::AddMember { org: org.clone(), group: g.clone(), user: self::user(user) };
    let rule = Rule { licenses: vec![license("ATTUNU")], external: false };
    let batches = vec![
        (NOW, setup()),
        (NOW + 1, vec![Command::CreateGroup { org: org.clone(), group: g.clone(), name: "G".into() }, member("a")]),
        (NOW + 2, vec![Command::UpdateUser { org: org.clone(), user: user("b"), profile: profile.clone() }]),
        (NOW + 3, vec![hold("c", &["ATTUNU"])]),
        (NOW + 4, vec![member("d")]),
        (NOW + 5, vec![Command::SetGroupRule { org: org.clone(), group: g.clone(), rule }]),
    ];
    for commit in group_at(&mut state, &batches) {
        store.commit(commit).await.unwrap();
    }
    let (users, groups) = lifetimes_of(&store, &["a", "b", "c", "d", "nobody"], &["g", "none"]).await;
    let expected_users = [
        (user("a"), dated(NOW, Some(NOW + 1))),
        (user("b"), dated(NOW, Some(NOW + 2))),
        (user("c"), dated(NOW, None)),
        (user("d"), dated(NOW, Some(NOW + 4))),
    ];
    assert_eq!(users, HashMap::from(expected_users));
    assert_eq!(groups, HashMap::from([(g.clone(), dated(NOW + 1, Some(NOW + 5)))]));
    let (only_b, none) = lifetimes_of(&store, &["b"], &[]).await;
    assert_eq!((only_b.len(), none.len()), (1, 0));

    // In one group of commits: a membership's date waits for the end of the group, yet a
    // later profile update wins over it, and a user made and joined at once is not modified.
    let e = Command::CreateUser { org: org.clone(), user: user("e"), profile: UserProfile::default() };
    let leave = Command::RemoveMember { org: org.clone(), group: g.clone(), user: user("a") };
    let batches = vec![
        (NOW + 10, vec![leave]),
        (NOW + 11, vec![Command::UpdateUser { org: org.clone(), user: user("a"), profile }]),
        (NOW + 12, vec![e, member("e")]),
    ];
    store.commit_all(&group_at(&mut state, &batches)).await.unwrap();
    let (users, groups) = lifetimes_of(&store, &["a", "e"], &["g"]).await;
    assert_eq!(users, HashMap::from([(user("a"), dated(NOW, Some(NOW + 11))), (user("e"), dated(NOW + 12, None))]));
    assert_eq!(groups[&g], dated(NOW + 1, Some(NOW + 12)));

    // A rename modifies the group.
    let renamed = Command::RenameGroup { org: org.clone(), group: g.clone(), name: "G2".into() };
    store.commit_all(&group_at(&mut state, &[(NOW + 20, vec![renamed])])).await.unwrap();
    let (_, groups) = lifetimes_of(&store, &[], &["g"]).await;
    assert_eq!(groups[&g], dated(NOW + 1, Some(NOW + 20)));
}

/// Many more ids than one query binds are answered whole.
pub async fn lifetimes_of_many_ids_are_read_in_chunks(store: impl Store) {
    let mut state = State::default();
    let mut commands = setup();
    let many: Vec<UserId> = (0..2500).map(|n| user(&format!("u{n}"))).collect();
    commands.extend(many.iter().map(|id| Command::CreateUser {
        org: org(),
        user: id.clone(),
        profile: UserProfile::default(),
    }));
    apply(&store, &mut state, &commands).await;
    let found = store.user_lifetimes(&org().key(), &many).await.unwrap();
    assert_eq!(found.len(), many.len());
    assert!(found.values().all(|l| *l == dated(NOW, None)));
}

/// Migration 7 dates the rows of a database made before it from its ledger: the last
/// entry that made each id, and the last one after that revision that modified it.
/// `v6` is a store whose schema is at version 6; `migrate` brings it to the latest.
pub async fn migration_7_dates_users_and_groups_from_the_ledger(v6: impl Store, migrate: impl AsyncFnOnce()) {
    let (org, g, profile) = (org(), group_id("g"), UserProfile::default());
    let created = |id: &str| Change::UserCreated { org: org.clone(), user: user(id), profile: profile.clone() };
    let updated = |id: &str| Change::UserUpdated {
        org: org.clone(),
        user: user(id),
        before: profile.clone(),
        after: profile.clone(),
    };
    let joined = |id: &str| Change::MemberAdded { org: org.clone(), group: g.clone(), user: user(id), seq: 1 };
    let history: Vec<(i64, Vec<Change>)> = vec![
        (1000, vec![created("a"), Change::GroupCreated { org: org.clone(), group: g.clone(), name: "G".into() }]),
        (2000, vec![created("b")]),
        (3000, vec![updated("b")]),
        (
            4000,
            vec![Change::RuleSet {
                org: org.clone(),
                group: g.clone(),
                before: Rule::default(),
                after: Rule::default(),
            }],
        ),
        (5000, vec![created("d"), joined("d")]),
        (6000, vec![updated("d")]),
        (7000, vec![Change::UserDeleted { org: org.clone(), user: user("d"), profile: profile.clone() }]),
        (8000, vec![created("d")]),
        (9000, vec![created("u")]),
    ];
    let raw = |sql: &'static str, params: Vec<Value>| Statement::Single { sql, params, expect: Expect::Any };
    let mut statements = vec![
        raw("INSERT INTO orgs (org_key, org_id, name) VALUES ('acme', 'acme', 'Acme')", vec![]),
        raw("INSERT INTO users (org_key, user_id, profile) VALUES ('acme', 'a', '{}'), ('acme', 'b', '{}')", vec![]),
        raw(
            "INSERT INTO users (org_key, user_id, profile) VALUES ('acme', 'd', '{}'), ('acme', 'orphan', '{}')",
            vec![],
        ),
        raw(
            "INSERT INTO groups (org_key, group_id, name, licenses, external) VALUES ('acme', 'g', 'G', '', false)",
            vec![],
        ),
    ];
    for (revision, (at, changes)) in (1u64..).zip(history) {
        for (seq, change) in (0u32..).zip(changes) {
            let entry =
                LedgerEntry { revision, seq, at, actor: "test".into(), request_id: format!("req-{revision}"), change };
            statements.push(raw(
                "INSERT INTO ledger (revision, seq, at, actor, request_id, org_key, user_id, license, kind, delta, change)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                crate::writes::ledger_row(&entry).unwrap(),
            ));
        }
    }
    v6.write(statements).await.unwrap();
    migrate().await;

    let (users, groups) = lifetimes_of(&v6, &["a", "b", "d", "orphan"], &["g"]).await;
    let expected = [
        (user("a"), dated(1000, None)),
        (user("b"), dated(2000, Some(3000))),
        (user("d"), dated(8000, None)),
        // A row the ledger never made (it always does) keeps the column's default.
        (user("orphan"), dated(0, None)),
    ];
    assert_eq!(users, HashMap::from(expected));
    assert_eq!(groups, HashMap::from([(g, dated(1000, Some(5000)))]));
}

/// Migration 4 turns the JSON of version 3's holdings, group rules and token subjects
/// into columns: rows written by the old serialization read back the same. `v3` is a
/// store whose schema is at version 3; `migrate` brings it to the latest.
pub async fn migration_4_turns_json_rows_into_columns(v3: impl Store, migrate: impl AsyncFnOnce()) {
    use crate::rows::{GroupRow, HoldingRow};
    let (g, creator) = (GroupId::parse("g").unwrap(), allot_core::Capability::parse("creator").unwrap());
    let direct = Holding::new(None, Source::Direct, false).valid(None, Some(NOW + 5));
    let inherited = Holding::new(Some(creator), Source::Group(g.clone()), true).valid(Some(NOW), None);
    let rule = Rule { licenses: vec![license("ATTUNU"), license("analytics:creator")], external: true };
    let subjects = [
        ("h1", Subject::OrgUser { org: OrgKey::of("acme"), user: "a".into() }),
        ("h2", Subject::Client { client_id: "allot_ci_c".into(), org: OrgKey::of("acme") }),
        ("h3", Subject::HostAdmin { username: "admin".into() }),
    ];
    let json = |value: &dyn erased::Json| Value::Text(value.json());
    let raw = |sql| Statement::Single { sql, params: vec![], expect: Expect::Any };
    let mut statements = vec![
        raw("INSERT INTO orgs (org_key, org_id, name) VALUES ('acme', 'acme', 'Acme')"),
        raw("INSERT INTO users (org_key, user_id, profile) VALUES ('acme', 'a', '{}'), ('acme', 'd', '{}')"),
        Statement::Single {
            sql: "INSERT INTO groups (org_key, group_id, name, rule) VALUES ('acme', 'g', 'G', ?1)",
            params: vec![json(&rule)],
            expect: Expect::Any,
        },
        Statement::Single {
            sql: "INSERT INTO holdings (org_key, user_id, product, holding) VALUES ('acme', 'a', 'ATTUNU', ?1)",
            params: vec![json(&direct)],
            expect: Expect::Any,
        },
        Statement::Single {
            sql: "INSERT INTO holdings (org_key, user_id, product, holding) VALUES ('acme', 'd', 'analytics', ?1)",
            params: vec![json(&inherited)],
            expect: Expect::Any,
        },
    ];
    for (hash, subject) in &subjects {
        statements.push(Statement::Single {
            sql: "INSERT INTO tokens (hash, kind, subject, scopes, expires_at) VALUES (?1, 'access', ?2, 'allot:read', 9)",
            params: vec![Value::Text((*hash).into()), json(subject)],
            expect: Expect::Any,
        });
    }
    v3.write(statements).await.unwrap();
    migrate().await;

    let query = |sql: &str| (sql.to_owned(), vec![]);
    let mut read = v3
        .read(vec![
            query(&format!("SELECT {} FROM holdings ORDER BY user_id", HoldingRow::COLUMNS)),
            query(&format!("SELECT {} FROM groups", GroupRow::COLUMNS)),
        ])
        .await
        .unwrap()
        .into_iter();
    let holdings: Vec<_> = read.next().unwrap().into_iter().map(|r| HoldingRow::from_row(r).unwrap()).collect();
    let columns = |h: &HoldingRow| (h.capability.clone(), h.via_group.clone(), h.external, h.valid_from, h.valid_until);
    assert_eq!(
        holdings.iter().map(columns).collect::<Vec<_>>(),
        [(None, None, false, None, Some(NOW + 5)), (Some("creator".into()), Some("g".into()), true, Some(NOW), None),]
    );
    let group = GroupRow::from_row(read.next().unwrap().remove(0)).unwrap();
    assert_eq!((group.licenses.as_str(), group.external), ("ATTUNU analytics:creator", true));
    for (hash, subject) in subjects {
        assert_eq!(v3.token(hash).await.unwrap().map(|t| t.subject), Some(subject), "{hash}");
    }
}

fn expiring_token(hash: &str, kind: TokenKind, expires_at: i64) -> TokenRecord {
    TokenRecord { expires_at, kind, ..token_of(Subject::HostAdmin { username: "admin".into() }, hash) }
}

/// Which of `hashes` the store still has.
async fn tokens_kept(store: &impl Store, hashes: &[&str]) -> Vec<String> {
    let mut kept = Vec::new();
    for hash in hashes {
        if store.token(hash).await.unwrap().is_some() {
            kept.push((*hash).to_owned());
        }
    }
    kept
}

/// Tokens go by kind and `expires_at` (expired at `expires_at <= now`, as authentication
/// judges them), at most the batch per call, until none expired is left.
pub async fn purging_expired_tokens_removes_only_expired_ones_of_the_kind_at_most_the_batch_per_call(
    store: impl Store,
) {
    let tokens = [
        ("a1", TokenKind::Access, NOW - 10),
        ("a2", TokenKind::Access, NOW - 5),
        ("a3", TokenKind::Access, NOW),
        ("a4", TokenKind::Access, NOW + 1),
        ("r1", TokenKind::Refresh, NOW - 10),
        ("r2", TokenKind::Refresh, NOW + 1),
    ];
    for (hash, kind, expires_at) in tokens {
        store.insert_token(expiring_token(hash, kind, expires_at)).await.unwrap();
    }
    let hashes = tokens.map(|(hash, ..)| hash);
    assert_eq!(store.purge_expired_tokens(TokenKind::Access, NOW, 2).await.unwrap(), 2, "a batch of 2");
    let kept = tokens_kept(&store, &hashes).await;
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert!(kept.iter().filter(|hash| hash.starts_with('a')).count() == 2 && kept.contains(&"a4".to_owned()));
    assert_eq!(store.purge_expired_tokens(TokenKind::Access, NOW, 2).await.unwrap(), 1, "the rest");
    assert_eq!(store.purge_expired_tokens(TokenKind::Access, NOW, 2).await.unwrap(), 0);
    assert_eq!(tokens_kept(&store, &hashes).await, ["a4", "r1", "r2"], "refresh tokens are another kind");
    assert_eq!(store.purge_expired_tokens(TokenKind::Refresh, NOW, 1000).await.unwrap(), 1);
    assert_eq!(tokens_kept(&store, &hashes).await, ["a4", "r2"], "unexpired tokens stay");
}

fn stored_plan(id: &str, expires_at: i64) -> crate::StoredPlan {
    crate::StoredPlan {
        id: id.into(),
        org: OrgKey::of("acme"),
        base_revision: 0,
        author: "test".into(),
        created_at: NOW - 100,
        expires_at,
        commands: vec![],
        changes: vec![],
    }
}

/// Stored plans go by `expires_at` (refused as expired at `expires_at <= now`), at most
/// the batch per call.
pub async fn purging_expired_plans_removes_only_expired_ones_at_most_the_batch_per_call(store: impl Store) {
    for (id, expires_at) in [("p1", NOW - 10), ("p2", NOW - 5), ("p3", NOW), ("p4", NOW + 1)] {
        store.insert_plan(stored_plan(id, expires_at)).await.unwrap();
    }
    assert_eq!(store.purge_expired_plans(NOW, 2).await.unwrap(), 2, "a batch of 2");
    assert_eq!(store.purge_expired_plans(NOW, 2).await.unwrap(), 1, "the rest");
    assert_eq!(store.purge_expired_plans(NOW, 2).await.unwrap(), 0);
    for id in ["p1", "p2", "p3"] {
        assert_eq!(store.plan(id).await.unwrap(), None, "{id} expired");
    }
    assert_eq!(store.plan("p4").await.unwrap(), Some(stored_plan("p4", NOW + 1)), "the unexpired plan stays");
}

fn idempotency_record(scope: &str, key: &str, created_at: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: IdempotencyKey { scope: scope.into(), key: key.into(), fingerprint: "f".into() },
        revision: None,
        answer: None,
        created_at,
    }
}

/// Idempotency records go by age: created at or before the cutoff, at most the batch per
/// call; the same key of another caller is another row.
pub async fn purging_idempotency_keys_removes_only_those_created_by_the_cutoff_at_most_the_batch_per_call(
    store: impl Store,
) {
    let records = [("s1", "k", NOW - 10), ("s2", "k", NOW - 5), ("s1", "j", NOW), ("s2", "j", NOW + 1)];
    for (scope, key, created_at) in records {
        store.save_idempotency(idempotency_record(scope, key, created_at)).await.unwrap();
    }
    assert_eq!(store.purge_idempotency(NOW, 2).await.unwrap(), 2, "a batch of 2");
    assert_eq!(store.purge_idempotency(NOW, 2).await.unwrap(), 1, "the rest");
    assert_eq!(store.purge_idempotency(NOW, 2).await.unwrap(), 0);
    for (scope, key, _) in &records[..3] {
        assert_eq!(store.idempotency(scope, key).await.unwrap(), None, "{scope}/{key} is old");
    }
    let fresh = store.idempotency("s2", "j").await.unwrap();
    assert_eq!(fresh, Some(idempotency_record("s2", "j", NOW + 1)), "the fresh record stays");
}

/// A key is claimed by one request at a time: a claim held, answered, or committed under
/// is not taken; a released claim, an expired record and an abandoned claim are.
pub async fn an_idempotency_key_is_claimed_by_one_request_at_a_time(store: impl Store) {
    let key =
        |fingerprint: &str| IdempotencyKey { scope: "s".into(), key: "k".into(), fingerprint: fingerprint.into() };
    let (expired, abandoned) = (NOW - 1_000, NOW - 100);
    assert!(store.claim_idempotency(&key("a"), NOW, expired, abandoned).await.unwrap(), "a free key");
    assert!(!store.claim_idempotency(&key("b"), NOW, expired, abandoned).await.unwrap(), "held by the first");
    let held = store.idempotency("s", "k").await.unwrap().unwrap();
    assert_eq!((held.key.fingerprint.as_str(), held.revision, held.answer.is_none()), ("a", None, true));

    store.release_idempotency(&key("b")).await.unwrap();
    assert!(store.idempotency("s", "k").await.unwrap().is_some(), "another request cannot release it");
    store.release_idempotency(&key("a")).await.unwrap();
    assert_eq!(store.idempotency("s", "k").await.unwrap(), None, "released by its own");
    assert!(store.claim_idempotency(&key("b"), NOW, expired, abandoned).await.unwrap(), "free again");

    // Answered: not taken until it expires.
    let answer = StoredAnswer { status: 201, content_type: "application/json".into(), etag: None, body: "{}".into() };
    let answered = IdempotencyRecord { key: key("b"), revision: Some(7), answer: Some(answer), created_at: NOW };
    store.save_idempotency(answered).await.unwrap();
    assert!(!store.claim_idempotency(&key("c"), NOW + 500, NOW + 500 - 1_000, NOW + 400).await.unwrap());
    store.release_idempotency(&key("b")).await.unwrap();
    assert!(store.idempotency("s", "k").await.unwrap().unwrap().answer.is_some(), "an answer is not released");
    assert!(store.claim_idempotency(&key("c"), NOW + 1_000, NOW, NOW + 900).await.unwrap(), "expired: taken");

    // Committed under, answer not yet kept: not taken as abandoned.
    let committed = IdempotencyRecord { key: key("c"), revision: Some(8), answer: None, created_at: NOW + 1_000 };
    store.save_idempotency(committed).await.unwrap();
    assert!(!store.claim_idempotency(&key("d"), NOW + 1_200, NOW + 200, NOW + 1_100).await.unwrap());
    // A claim whose process stopped: taken once it is old enough.
    store.save_idempotency(idempotency_record("s", "j", NOW)).await.unwrap();
    let other = IdempotencyKey { scope: "s".into(), key: "j".into(), fingerprint: "g".into() };
    assert!(!store.claim_idempotency(&other, NOW + 50, expired, NOW - 50).await.unwrap(), "still young");
    assert!(store.claim_idempotency(&other, NOW + 150, expired, NOW + 50).await.unwrap(), "abandoned");
}

/// Processes purging at once (several servers on one PostgreSQL): each expired row is
/// deleted and counted once, and no purge fails for rows another deleted first.
pub async fn purges_running_at_once_delete_each_row_once(store: impl Store) {
    for n in 0..120 {
        store.insert_token(expiring_token(&format!("t{n}"), TokenKind::Access, NOW - 1)).await.unwrap();
        store.insert_plan(stored_plan(&format!("p{n}"), NOW - 1)).await.unwrap();
        store.save_idempotency(idempotency_record("s", &format!("k{n}"), NOW - 1)).await.unwrap();
    }
    // Two purgers on one store: PostgreSQL's pool gives each its own connection.
    let (mine, theirs) = tokio::join!(purge_in_batches(&store), purge_in_batches(&store));
    let total: Vec<u64> = mine.iter().zip(theirs).map(|(a, b)| a + b).collect();
    assert_eq!(total, [120, 120, 120], "each row once: {mine:?} and {theirs:?}");
}

/// Ten batches of 20 of each kind: more than enough for 120 rows between two purgers.
async fn purge_in_batches(store: &impl Store) -> [u64; 3] {
    let mut purged = [0; 3];
    for _ in 0..10 {
        purged[0] += store.purge_expired_tokens(TokenKind::Access, NOW, 20).await.unwrap();
        purged[1] += store.purge_expired_plans(NOW, 20).await.unwrap();
        purged[2] += store.purge_idempotency(NOW, 20).await.unwrap();
    }
    purged
}

/// A value as version 3 stored it: its JSON.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

macro_rules! conformance {
    ($fresh:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_guard, store) = $fresh.await;
            super::$name(store).await;
        }
    )*};
}

/// A checkpoint is read back at or after its revision, the organization's past is read from
/// it through `org_ledger`, and the ledger check compares every checkpoint with the replay:
/// one that disagrees with the ledger is reported, by organization and revision.
pub async fn checkpoints_are_read_back_and_one_that_disagrees_with_the_ledger_is_reported(store: impl Store) {
    let mut state = State::default();
    let mut written = apply(&store, &mut state, &setup()).await;
    written.extend(apply(&store, &mut state, &[hold("a", &["ATTUNU"])]).await);
    let first = state.revision();
    written.extend(apply(&store, &mut state, &[hold("b", &["ATTUNU"])]).await);
    let key = org().key();
    let ours = |upto: u64| written.iter().filter(|e| e.revision <= upto && e.change.org().is_some()).count() as u64;
    let good = crate::Checkpoint {
        org: key.clone(),
        revision: state.revision(),
        at: NOW,
        entries: ours(state.revision()),
        changes: allot_core::ledger::org_snapshot(&state, key.as_str()),
    };
    store.save_checkpoint(&good).await.unwrap();
    store.save_checkpoint(&good).await.unwrap();
    assert_eq!(store.checkpoint(&key, state.revision()).await.unwrap(), Some(good.clone()));
    assert_eq!(store.checkpoint(&key, first).await.unwrap(), None, "none at or before an earlier revision");
    let check = store.check_ledger().await.unwrap();
    assert_eq!((check.checkpoints, check.differences), (1, Vec::<String>::new()));

    // The host's own entries (its pool) and the organization's after revision 1.
    let (host, own) = store.org_ledger(&key, 1, state.revision()).await.unwrap();
    assert!(host.iter().all(|e| e.change.org().is_none()) && !host.is_empty());
    assert_eq!(own, written.iter().filter(|e| e.revision > 1 && e.change.org().is_some()).cloned().collect::<Vec<_>>());
    assert_eq!(store.revision_at(NOW).await.unwrap(), state.revision());
    assert_eq!(store.revision_at(NOW - 1).await.unwrap(), 0);

    // The books at the last revision, stored as if they stood at the one before: b's holding is too early.
    let wrong = crate::Checkpoint { revision: first, entries: ours(first), ..good };
    store.save_checkpoint(&wrong).await.unwrap();
    let check = store.check_ledger().await.unwrap();
    assert_eq!(check.checkpoints, 2);
    assert_eq!(check.differences.len(), 1, "{:?}", check.differences);
    assert!(
        check.differences[0].starts_with(&format!("checkpoint {key} @{first}: its books differ")),
        "{:?}",
        check.differences
    );
}

/// The ledger filtered by who made a change and when: four revisions by two actors a day
/// apart each; every filter answers exactly its entries.
pub async fn the_ledger_filters_by_actor_and_moment(store: impl Store) {
    let mut state = State::default();
    let day = 86_400_000;
    let mut all = apply(&store, &mut state, &setup()).await;
    for (i, user) in ["a", "b", "a"].iter().enumerate() {
        let at = NOW + day * (i as i64 + 1);
        let plan = allot_core::plan(&mut state, &[hold(user, if i == 2 { &[] } else { &["ATTUNU"] })], at);
        let revision = state.revision() + 1;
        let actor =
            Actor { name: format!("user:acme/{}", if i == 1 { "boss" } else { "clerk" }), request_id: "r".into() };
        let entries = LedgerEntry::for_plan(revision, at, &actor, &plan.changes);
        store.commit(Commit { revision, at, entries: entries.clone(), idempotency: None, side: vec![] }).await.unwrap();
        state.apply_all(revision, &plan.changes).unwrap();
        all.extend(entries);
    }
    let matching = |keep: &dyn Fn(&LedgerEntry) -> bool| all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>();
    let query = |actor: Option<&str>, from: Option<i64>, until: Option<i64>| LedgerQuery {
        actor: actor.map(str::to_owned),
        from_at: from,
        until_at: until,
        limit: 100,
        ..Default::default()
    };
    let clerk = store.ledger(query(Some("user:acme/clerk"), None, None)).await.unwrap();
    assert_eq!(clerk, matching(&|e| e.actor == "user:acme/clerk"));
    assert_eq!(clerk.len(), 2, "the first and the third");
    let (second, third) = (NOW + 2 * day, NOW + 3 * day);
    let middle = store.ledger(query(None, Some(second), Some(third - 1))).await.unwrap();
    assert_eq!(middle, matching(&|e| e.at == second));
    assert_eq!(middle.len(), 1);
    let since = store.ledger(query(None, Some(second), None)).await.unwrap();
    assert_eq!(since, matching(&|e| e.at >= second));
    let both = store.ledger(query(Some("user:acme/clerk"), Some(second), None)).await.unwrap();
    assert_eq!(both, matching(&|e| e.actor == "user:acme/clerk" && e.at >= second));
    assert_eq!(both.len(), 1);
}

macro_rules! every_conformance_test {
    ($fresh:expr) => {
        conformance!(
            $fresh;
            loads_what_was_committed,
            loads_the_users_of_every_organization,
            a_commit_at_a_stale_revision_is_refused_whole,
            the_schema_refuses_an_over_allocation,
            a_group_commit_writes_every_plan_in_order,
            a_group_commit_is_all_or_nothing,
            a_group_that_deletes_and_recreates_an_organization_keeps_its_pools,
            a_group_that_writes_a_holding_again_and_deletes_its_holder_keeps_the_order,
            a_batch_with_one_row_that_finds_nothing_is_refused_whole,
            the_ledger_pages_filters_and_replays_to_the_stored_balances,
            the_ledger_filters_by_actor_and_moment,
            refresh_tokens_can_be_taken_once,
            the_ledger_is_append_only,
            checkpoints_are_read_back_and_one_that_disagrees_with_the_ledger_is_reported,
            the_schema_checks_allocated_within_quantity,
            rows_decode_by_column_name_in_any_order,
            conditional_writes_compare_the_stored_columns,
            a_duplicate_key_is_refused_naming_it,
            side_writes_and_revocations_go_with_their_change,
            login_attempts_are_reserved_up_to_the_limit_and_refusals_count_nowhere,
            host_admins_are_added_and_removed_but_never_the_last,
            broken_sql_is_a_failure_not_an_outage,
            purging_expired_tokens_removes_only_expired_ones_of_the_kind_at_most_the_batch_per_call,
            purging_expired_plans_removes_only_expired_ones_at_most_the_batch_per_call,
            purging_idempotency_keys_removes_only_those_created_by_the_cutoff_at_most_the_batch_per_call,
            purges_running_at_once_delete_each_row_once,
            an_idempotency_key_is_claimed_by_one_request_at_a_time,
            failed_login_counters_that_hold_nothing_back_are_purged,
            users_and_groups_are_dated_by_the_changes_that_made_and_modified_them,
            lifetimes_of_many_ids_are_read_in_chunks,
        );
    };
}

mod sqlite {
    use crate::SqliteStore;

    async fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("allot.db")).unwrap();
        (dir, store)
    }

    every_conformance_test!(fresh());

    #[tokio::test]
    async fn migration_4_turns_json_rows_into_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allot.db");
        let v3 = SqliteStore::open_at(&path, 3).unwrap();
        super::migration_4_turns_json_rows_into_columns(v3, async || drop(SqliteStore::open(&path).unwrap())).await;
    }

    #[tokio::test]
    async fn migration_7_dates_users_and_groups_from_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allot.db");
        let v6 = SqliteStore::open_at(&path, 6).unwrap();
        let migrate = async || drop(SqliteStore::open(&path).unwrap());
        super::migration_7_dates_users_and_groups_from_the_ledger(v6, migrate).await;
    }
}

mod postgres {
    use crate::PgStore;

    /// A fresh database on the server of `ALLOT_TEST_POSTGRES_URL`, which `scripts/test`
    /// sets (starting a throwaway cluster when none is given).
    async fn fresh() -> ((), PgStore) {
        let url = std::env::var("ALLOT_TEST_POSTGRES_URL")
            .expect("ALLOT_TEST_POSTGRES_URL is not set: run scripts/test, which starts a throwaway PostgreSQL");
        let url = crate::postgres::scratch_database(&url).await.unwrap();
        ((), PgStore::open(&url).await.unwrap())
    }

    every_conformance_test!(fresh());

    #[tokio::test]
    async fn migration_4_turns_json_rows_into_columns() {
        let url = std::env::var("ALLOT_TEST_POSTGRES_URL").expect("ALLOT_TEST_POSTGRES_URL is not set");
        let url = crate::postgres::scratch_database(&url).await.unwrap();
        let v3 = PgStore::connect(&url).unwrap();
        v3.migrate_up_to(3).await.unwrap();
        let migrate = async || drop(PgStore::open(&url).await.unwrap());
        super::migration_4_turns_json_rows_into_columns(v3.clone(), migrate).await;
    }

    #[tokio::test]
    async fn migration_7_dates_users_and_groups_from_the_ledger() {
        let url = std::env::var("ALLOT_TEST_POSTGRES_URL").expect("ALLOT_TEST_POSTGRES_URL is not set");
        let url = crate::postgres::scratch_database(&url).await.unwrap();
        let v6 = PgStore::connect(&url).unwrap();
        v6.migrate_up_to(6).await.unwrap();
        let migrate = async || drop(PgStore::open(&url).await.unwrap());
        super::migration_7_dates_users_and_groups_from_the_ledger(v6.clone(), migrate).await;
    }
}
