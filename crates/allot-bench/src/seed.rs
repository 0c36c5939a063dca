//! A population like a real organization's, written to a new SQLite database through the
//! planner and the store as the server would, in batches:
//! - every user has a profile: a name and an e-mail address;
//! - every user is in one department (a group of about 1,000 whose rule grants ATTUNU, so
//!   the user inherits it and draws a unit) and in one or two teams (groups of about 50
//!   with no rule);
//! - every user holds RPADEVNU and TSTNU directly.
//!
//! So each user has three holdings, two direct and one inherited, and two or three group
//! memberships.

use std::path::Path;

use allot_core::{Command, DirectLicense, Grant, GroupId, LedgerEntry, LicenseKey, OrgId, Rule, UserId, UserProfile};
use allot_store::Store as _;
use anyhow::{Result, ensure};

/// The licenses the population holds: every user holds each, the second through a group.
pub const LICENSES: [&str; 3] = ["RPADEVNU", "ATTUNU", "TSTNU"];
/// The license a department's rule grants.
const INHERITED: &str = "ATTUNU";
const DEPARTMENT_SIZE: usize = 1_000;
const TEAM_SIZE: usize = 50;
/// Users written per transaction.
const BATCH: usize = 25_000;

const GIVEN: [&str; 16] = [
    "Ana", "Bo", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kalani", "Lena", "Mateo", "Nadia",
    "Omar", "Priya",
];
const FAMILY: [&str; 16] = [
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Novak",
    "Haddad",
    "Silva",
    "Kowalski",
    "Nguyen",
    "Schmidt",
    "Rossi",
    "Petrov",
    "Osei",
    "Fernandes",
    "Kim",
    "Murphy",
];

/// Writes `users` users of organization `bench` to a new SQLite database in `dir`.
pub async fn seed(dir: &Path, users: usize) -> Result<()> {
    let store = allot_store::SqliteStore::open(&dir.join("allot.db"))?;
    let mut state = allot_core::State::default();
    let org = OrgId::parse("bench")?;
    let mut batches = vec![setup(&org, users)?];
    for first in (0..users).step_by(BATCH) {
        let mut commands = Vec::with_capacity(5 * BATCH);
        for n in first..(first + BATCH).min(users) {
            user(&org, n, users, &mut commands)?;
        }
        batches.push(commands);
    }
    let actor = allot_core::Actor { name: "benchmark".into(), request_id: "seed".into() };
    for commands in batches {
        let plan = allot_core::plan(&mut state, &commands, 0);
        ensure!(plan.is_possible(), "seeding: {:?}", plan.violations.first());
        let revision = state.revision() + 1;
        let entries = LedgerEntry::for_plan(revision, 0, &actor, &plan.changes);
        store.commit(allot_store::Commit { revision, at: 0, entries, idempotency: None, side: Vec::new() }).await?;
        state.apply_all(revision, &plan.changes)?;
    }
    Ok(())
}

fn license(code: &str) -> Result<LicenseKey> {
    LicenseKey::parse(code).map_err(anyhow::Error::msg)
}

fn departments(users: usize) -> usize {
    users.div_ceil(DEPARTMENT_SIZE).max(1)
}

fn teams(users: usize) -> usize {
    users.div_ceil(TEAM_SIZE).max(1)
}

/// The organization, its pools (one unit per user of each license), its departments with
/// their rule, and its teams.
fn setup(org: &OrgId, users: usize) -> Result<Vec<Command>> {
    let quantity = i64::try_from(users)?;
    let mut commands = vec![Command::CreateOrg { org: org.clone(), name: "bench".into() }];
    for code in LICENSES {
        let grant = Grant::quantity(quantity);
        commands.push(Command::SetHostPool { license: license(code)?, grant });
        commands.push(Command::SetOrgPool { org: org.clone(), license: license(code)?, grant });
    }
    for d in 0..departments(users) {
        let group = GroupId::parse(&format!("department-{d}")).map_err(anyhow::Error::msg)?;
        commands.push(Command::CreateGroup { org: org.clone(), group: group.clone(), name: format!("Department {d}") });
        let rule = Rule { licenses: vec![license(INHERITED)?], external: false };
        commands.push(Command::SetGroupRule { org: org.clone(), group, rule });
    }
    for t in 0..teams(users) {
        let group = GroupId::parse(&format!("team-{t}")).map_err(anyhow::Error::msg)?;
        commands.push(Command::CreateGroup { org: org.clone(), group, name: format!("Team {t}") });
    }
    Ok(commands)
}

/// User `n` of `users`: created with a profile, added to its department and its teams,
/// given its direct licenses. Memberships are spread by a multiplicative hash, so a
/// department's or a team's members are not neighbours by id.
fn user(org: &OrgId, n: usize, users: usize, commands: &mut Vec<Command>) -> Result<()> {
    let user = UserId::parse(&format!("u{n}")).map_err(anyhow::Error::msg)?;
    let hash = n.wrapping_mul(2_654_435_761) >> 7;
    let (given, family) = (GIVEN[hash % GIVEN.len()], FAMILY[(hash / GIVEN.len()) % FAMILY.len()]);
    let profile = UserProfile {
        name: format!("{given} {family}"),
        email: Some(format!("{}.{}.{n}@example.com", given.to_lowercase(), family.to_lowercase()).into()),
        ..UserProfile::default()
    };
    commands.push(Command::CreateUser { org: org.clone(), user: user.clone(), profile });
    let mut groups = vec![format!("department-{}", hash % departments(users)), format!("team-{}", n % teams(users))];
    // One user in three is in a second team.
    if hash.is_multiple_of(3) {
        groups.push(format!("team-{}", (n + teams(users) / 2 + 1) % teams(users)));
    }
    groups.dedup();
    for group in groups {
        let group = GroupId::parse(&group).map_err(anyhow::Error::msg)?;
        commands.push(Command::AddMember { org: org.clone(), group, user: user.clone() });
    }
    let licenses = [LICENSES[0], LICENSES[2]]
        .into_iter()
        .map(|code| Ok(DirectLicense::of(license(code)?, false)))
        .collect::<Result<_>>()?;
    commands.push(Command::SetDirectLicenses { org: org.clone(), user, licenses });
    Ok(())
}
