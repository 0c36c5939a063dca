//! `allot users import` and `allot licenses import`: a CSV file becomes the plan changes
//! that make the books say what it says, computed against what the server holds now, so a
//! row already true changes nothing. The whole file is validated first, in parts chained by
//! `after`, and the plan printed: each pool's count before and after, and every violation
//! with the row that causes it. Without `--dry-run` the parts are then applied in turn,
//! each with an `Idempotency-Key` derived from the file and the part: a part whose answer
//! was lost is sent again and replayed, not applied twice, and an import interrupted for
//! good is finished by running it again.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use allot_api::{HeldLicense, LicenseSpec, PlanChange, PlanRequest, PlanView, Role, UserQuery, UserView, Via};
use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::Session;
use super::csv_files::{Row, Sheet};
use super::output::{Format, Listing};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV file: a header row naming its columns, then a row per line.
    pub file: PathBuf,
    /// Validate the whole file and print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `exact`: the file says all (memberships or direct licenses of each listed user);
    /// `add`: only add to what the users have.
    #[arg(long, value_enum, default_value = "exact")]
    pub mode: Mode,
    /// Changes sent per request, at most the server's `max_items`.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub part_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Exact,
    Add,
}

pub const USER_COLUMNS: &[&str] = &["id", "name", "email", "role", "groups"];
pub const LICENSE_COLUMNS: &[&str] = &["user", "license", "external", "valid_from", "valid_until"];

/// A change of the import, with the row it comes from.
struct FromRow {
    change: PlanChange,
    row: u64,
}

pub async fn users(session: &mut Session, args: &ImportArgs) -> Result<()> {
    let sheet = Sheet::read(&args.file, USER_COLUMNS, &["id"])?;
    let wanted = wanted_users(&sheet)?;
    let current: HashMap<String, UserView> =
        super::read::all_users(session, UserQuery::default()).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
    let org = session.org()?;
    let groups: BTreeSet<String> = session.call(|c| c.groups(&org)).await?.groups.into_iter().map(|g| g.id).collect();
    let mut changes = Vec::new();
    for (row, user) in &wanted {
        if let Some(unknown) = user.groups.iter().flatten().find(|g| !groups.contains(*g)) {
            return Err(sheet.wrong(row, "groups", format!("organization `{org}` has no group `{unknown}`")));
        }
        let mut add = |change| changes.push(FromRow { change, row: row.number });
        let had = current.get(&user.id);
        match had {
            None => add(PlanChange::CreateUser {
                user: user.id.clone(),
                name: user.name.clone(),
                email: user.email.clone(),
                role: user.role,
            }),
            Some(had) => {
                let name = user.name.clone().filter(|name| *name != had.name);
                let email = user.email.clone().filter(|email| had.email.as_ref() != Some(email));
                let role = user.role.filter(|role| *role != had.role);
                if name.is_some() || email.is_some() || role.is_some() {
                    add(PlanChange::UpdateUser { user: user.id.clone(), name, email, role });
                }
            }
        }
        let Some(listed) = &user.groups else { continue };
        let member_of: BTreeSet<&String> = had.map(|h| h.groups.iter().collect()).unwrap_or_default();
        for group in listed.iter().filter(|g| !member_of.contains(g)) {
            add(PlanChange::AddMember { group: group.clone(), user: user.id.clone() });
        }
        if args.mode == Mode::Exact {
            for group in member_of.into_iter().filter(|g| !listed.contains(*g)) {
                add(PlanChange::RemoveMember { group: group.clone(), user: user.id.clone() });
            }
        }
    }
    Import { session, args, sheet: &sheet, changes }.run().await
}

/// A user as a row of the file says they should be; `None` where its column is absent or
/// its cell empty (left as it is).
struct WantedUser {
    id: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<Role>,
    groups: Option<BTreeSet<String>>,
}

fn wanted_users(sheet: &Sheet) -> Result<Vec<(&Row, WantedUser)>> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut wanted = Vec::new();
    for row in &sheet.rows {
        let id = sheet.get(row, "id").ok_or_else(|| sheet.wrong(row, "id", "a user needs an id"))?;
        allot_core::UserId::parse(id).map_err(|e| sheet.wrong(row, "id", e))?;
        if let Some(first) = seen.insert(id.to_owned(), row.number) {
            return Err(sheet.wrong(row, "id", format!("user `{id}` is also on row {first}")));
        }
        let role = match sheet.get(row, "role") {
            None => None,
            Some(role) => Some(match role.to_lowercase().as_str() {
                "member" => Role::Member,
                "reader" => Role::Reader,
                "admin" => Role::Admin,
                _ => return Err(sheet.wrong(row, "role", format!("`{role}` is not member, reader or admin"))),
            }),
        };
        let groups = sheet
            .has("groups")
            .then(|| sheet.get(row, "groups").unwrap_or_default().split(';').map(str::trim).filter(|g| !g.is_empty()));
        let groups = match groups {
            None => None,
            Some(groups) => Some(
                groups
                    .map(|g| {
                        allot_core::GroupId::parse(g).map(|_| g.to_owned()).map_err(|e| sheet.wrong(row, "groups", e))
                    })
                    .collect::<Result<BTreeSet<_>>>()?,
            ),
        };
        let field = |column| sheet.get(row, column).map(str::to_owned);
        wanted.push((row, WantedUser { id: id.to_owned(), name: field("name"), email: field("email"), role, groups }));
    }
    Ok(wanted)
}

pub async fn licenses(session: &mut Session, args: &ImportArgs) -> Result<()> {
    let sheet = Sheet::read(&args.file, LICENSE_COLUMNS, &["user", "license"])?;
    // Each listed user's direct licenses as the file gives them, users in the file's order.
    let mut wanted: Vec<(&Row, String, Vec<LicenseSpec>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut rows_of: HashMap<(String, String), u64> = HashMap::new();
    for row in &sheet.rows {
        let user = sheet.get(row, "user").ok_or_else(|| sheet.wrong(row, "user", "a row needs a user"))?;
        allot_core::UserId::parse(user).map_err(|e| sheet.wrong(row, "user", e))?;
        let license = sheet.get(row, "license").ok_or_else(|| sheet.wrong(row, "license", "a row needs a license"))?;
        allot_core::LicenseKey::parse(license).map_err(|e| sheet.wrong(row, "license", e))?;
        if let Some(first) = rows_of.insert((user.to_owned(), license.to_owned()), row.number) {
            return Err(sheet.wrong(row, "license", format!("`{user}` holds `{license}` on row {first} already")));
        }
        let external = match sheet.get(row, "external").map(str::to_lowercase).as_deref() {
            None | Some("false" | "no" | "0") => false,
            Some("true" | "yes" | "1") => true,
            Some(other) => return Err(sheet.wrong(row, "external", format!("`{other}` is not true or false"))),
        };
        let moment = |column: &str| {
            sheet.get(row, column).map(|raw| super::moment(raw).map_err(|e| sheet.wrong(row, column, e))).transpose()
        };
        let spec = LicenseSpec {
            license: license.to_owned(),
            external,
            valid_from: moment("valid_from")?,
            valid_until: moment("valid_until")?,
        };
        match index.get(user) {
            Some(&at) => wanted[at].2.push(spec),
            None => {
                index.insert(user.to_owned(), wanted.len());
                wanted.push((row, user.to_owned(), vec![spec]));
            }
        }
    }
    let query = UserQuery { licenses: true, ..UserQuery::default() };
    let current: HashMap<String, Vec<LicenseSpec>> = super::read::all_users(session, query)
        .await?
        .into_iter()
        .map(|u| (u.id, u.licenses.unwrap_or_default().iter().filter(|h| h.source == Via::Direct).map(spec).collect()))
        .collect();
    let mut changes = Vec::new();
    for (row, user, mut specs) in wanted {
        let Some(held) = current.get(&user) else {
            return Err(sheet.wrong(row, "user", format!("`{user}` is not a user of the organization")));
        };
        if args.mode == Mode::Add {
            let kept: Vec<LicenseSpec> =
                held.iter().filter(|h| !specs.iter().any(|s| same_product(&s.license, &h.license))).cloned().collect();
            specs = kept.into_iter().chain(specs).collect();
        }
        if !same_licenses(&specs, held) {
            let change = PlanChange::SetUserLicenses { users: vec![user], licenses: specs };
            changes.push(FromRow { change, row: row.number });
        }
    }
    Import { session, args, sheet: &sheet, changes }.run().await
}

/// A held license as the import's row would give it.
pub fn spec(held: &HeldLicense) -> LicenseSpec {
    LicenseSpec {
        license: held.license.clone(),
        external: held.external,
        valid_from: held.valid_from.clone(),
        valid_until: held.valid_until.clone(),
    }
}

/// Two licenses of one product (`code` or `code:capability`).
fn same_product(a: &str, b: &str) -> bool {
    let product = |l: &str| l.split(':').next().unwrap_or(l).to_uppercase();
    product(a) == product(b)
}

/// The same licenses, whatever the order, moments compared as instants.
fn same_licenses(a: &[LicenseSpec], b: &[LicenseSpec]) -> bool {
    let key = |s: &LicenseSpec| {
        let instant = |m: &Option<String>| {
            m.as_deref()
                .and_then(|m| time::OffsetDateTime::parse(m, &time::format_description::well_known::Rfc3339).ok())
        };
        (s.license.to_uppercase(), s.external, instant(&s.valid_from), instant(&s.valid_until))
    };
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}

/// Bytes of changes per request, below the server's default body limit of 1 MiB.
const PART_BYTES: usize = 768 * 1024;

/// An import's changes, on their way to the server.
struct Import<'a> {
    session: &'a mut Session,
    args: &'a ImportArgs,
    sheet: &'a Sheet,
    changes: Vec<FromRow>,
}

/// The plan of a whole import, as it is printed.
#[derive(Serialize)]
struct Summary {
    file: String,
    possible: bool,
    applied: bool,
    /// Requests the changes are sent in.
    parts: usize,
    changes: usize,
    pools: Vec<PoolSummary>,
    violations: Vec<RowViolation>,
}

#[derive(Serialize)]
struct PoolSummary {
    pool: String,
    license: String,
    quantity: i64,
    allocated_before: i64,
    allocated_after: i64,
    available_after: i64,
}

#[derive(Serialize)]
struct RowViolation {
    /// The row of the file that causes it, where one does.
    row: Option<u64>,
    user: Option<String>,
    code: String,
    message: String,
}

impl Import<'_> {
    async fn run(self) -> Result<()> {
        let Import { session, args, sheet, changes } = self;
        let org = session.org()?;
        let parts = parts(changes, args.part_size)?;
        let count: usize = parts.iter().map(Vec::len).sum();
        if count == 0 {
            eprintln!("allot: {}: the books already say what the file says; nothing to change", sheet.name);
            if session.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&summary(sheet, &[], 0, true))?);
            }
            return Ok(());
        }
        // The whole file validated, part after part, each plan of all the parts so far.
        let progress = progress_bar(parts.len(), "validating");
        let mut views: Vec<PlanView> = Vec::new();
        for part in &parts {
            let request = PlanRequest {
                apply: false,
                changes: part.iter().map(|c| c.change.clone()).collect(),
                after: views.last().and_then(|v| v.id.clone()),
            };
            views.push(session.call(|c| c.plan(&org, &request)).await?);
            progress.inc(1);
        }
        progress.finish_and_clear();
        let mut shown = summary(sheet, &views, parts.len(), false);
        if !shown.possible || args.dry_run {
            print(session.format, &shown)?;
            if !shown.possible {
                bail!(
                    "{}: the import is not possible ({} violations); nothing was changed",
                    sheet.name,
                    shown.violations.len()
                );
            }
            return Ok(());
        }
        let file = std::fs::read(&args.file)?;
        let validated_at = views.first().map_or(0, |v| v.base_revision);
        let progress = progress_bar(parts.len(), "applying");
        for (n, part) in parts.iter().enumerate() {
            let request =
                PlanRequest { apply: true, changes: part.iter().map(|c| c.change.clone()).collect(), after: None };
            let key = idempotency_key(&file, validated_at, &request)?;
            let mut sent = session.call(|c| c.plan(&org, &request).idempotency_key(&key)).await;
            if sent.as_ref().is_err_and(is_transport) {
                // The answer may be lost though the part applied: the same key replays it.
                sent = session.call(|c| c.plan(&org, &request).idempotency_key(&key)).await;
            }
            if let Err(error) = sent {
                progress.abandon();
                let rows = |part: &[FromRow]| (part[0].row, part[part.len() - 1].row);
                let (first, last) = rows(part);
                let before = match n {
                    0 => "no part was applied before it".to_owned(),
                    1 => "part 1 was applied before it".to_owned(),
                    n => format!("parts 1-{n} were applied before it"),
                };
                return Err(anyhow!(
                    "{}: part {} of {} (rows {first}-{last}) failed, and may or may not be applied: {error:#}; \
                     {before}. Run the same import again to finish: what is applied already is not changed again",
                    sheet.name,
                    n + 1,
                    parts.len()
                ));
            }
            progress.inc(1);
        }
        progress.finish_and_clear();
        shown.applied = true;
        print(session.format, &shown)
    }
}

/// The changes in parts of at most `size` changes and [`PART_BYTES`], a row's changes in
/// one part.
fn parts(changes: Vec<FromRow>, size: u64) -> Result<Vec<Vec<FromRow>>> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut parts: Vec<Vec<FromRow>> = Vec::new();
    let (mut items, mut bytes) = (0, 0);
    for change in changes {
        let change_bytes = serde_json::to_vec(&change.change)?.len() + 1;
        let items_of = change.change.items();
        let full = items + items_of > size || bytes + change_bytes > PART_BYTES;
        match parts.last_mut() {
            // A row's changes stay together, whatever the size.
            Some(part) if !full || part.last().is_some_and(|last| last.row == change.row) => part.push(change),
            _ => {
                parts.push(vec![change]);
                (items, bytes) = (0, 0);
            }
        }
        items += items_of;
        bytes += change_bytes;
    }
    Ok(parts)
}

/// The key of a part: the file's and the part's contents and the revision they were
/// validated at, hashed. The same part sent again within a run is replayed; the same file
/// imported again later (after its users were deleted, say) is a new change, not a replay.
fn idempotency_key(file: &[u8], validated_at: u64, part: &PlanRequest) -> Result<String> {
    let mut hash = Sha256::new();
    hash.update(Sha256::digest(file));
    hash.update(validated_at.to_be_bytes());
    hash.update(serde_json::to_vec(part)?);
    let digest = hash.finalize();
    Ok(format!("import-{}", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>()))
}

fn is_transport(error: &anyhow::Error) -> bool {
    error.downcast_ref::<allot_client::Error>().is_some_and(|e| matches!(e, allot_client::Error::Http(_)))
}

fn progress_bar(parts: usize, what: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(parts as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} part {pos}/{len} {wide_bar}") {
        bar.set_style(style);
    }
    bar.set_message(what);
    bar
}

/// The whole import's plan from the parts' plans: the last one's pools and violations (it
/// judged the whole), each violation with its row; every part's changes.
fn summary(sheet: &Sheet, views: &[PlanView], parts: usize, possible: bool) -> Summary {
    // Each part's plan is of all the parts so far: the last one's pools are the whole's.
    let pools = views.last().map_or_else(Vec::new, |last| {
        last.pools
            .iter()
            .map(|pool| PoolSummary {
                pool: scope_name(&pool.scope),
                license: pool.license.clone(),
                quantity: pool.quantity_after,
                allocated_before: pool.allocated_before,
                allocated_after: pool.allocated_after,
                available_after: pool.available_after,
            })
            .collect()
    });
    let holdings: Vec<&allot_api::HoldingChangeView> = views.iter().flat_map(|v| &v.holdings).collect();
    let violations = views.last().map_or_else(Vec::new, |last| {
        last.violations
            .iter()
            .map(|v| {
                let user = v.user.clone().or_else(|| over_limit_user(&holdings, v));
                RowViolation {
                    row: user.as_deref().and_then(|u| row_of_user(sheet, u)),
                    user,
                    code: v.code.as_str().to_owned(),
                    message: v.message.clone(),
                }
            })
            .collect()
    });
    let possible = possible || views.last().is_some_and(|v| v.possible);
    Summary {
        file: sheet.name.clone(),
        possible,
        applied: false,
        parts,
        changes: views.iter().map(|v| v.changes.len()).sum(),
        pools,
        violations,
    }
}

/// For a pool over its limit: the user whose holding is the first the pool has no unit
/// for, in the order of the file.
fn over_limit_user(holdings: &[&allot_api::HoldingChangeView], violation: &allot_api::ViolationView) -> Option<String> {
    let (license, available) = (violation.license.as_ref()?, violation.available?);
    let draws = |h: &&&allot_api::HoldingChangeView| {
        let now = h.after.as_ref().filter(|a| !a.external && a.license.eq_ignore_ascii_case(license));
        let before = h.before.as_ref().filter(|b| !b.external && b.license.eq_ignore_ascii_case(license));
        now.is_some() && before.is_none()
    };
    let index = usize::try_from(available).ok()?;
    holdings.iter().filter(draws).nth(index).map(|h| h.user.clone())
}

/// The row naming `user` first.
fn row_of_user(sheet: &Sheet, user: &str) -> Option<u64> {
    sheet
        .rows
        .iter()
        .find(|row| sheet.get(row, "id").or_else(|| sheet.get(row, "user")) == Some(user))
        .map(|r| r.number)
}

fn scope_name(scope: &allot_api::ScopeView) -> String {
    let parts = [scope.org.as_deref(), scope.tenant.as_deref(), scope.service.as_deref()];
    let named: Vec<&str> = parts.into_iter().flatten().collect();
    if named.is_empty() { "host".to_owned() } else { named.join("/") }
}

fn print(format: Format, summary: &Summary) -> Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    let pool = |p: &PoolSummary| {
        let numbers = [p.quantity, p.allocated_before, p.allocated_after, p.available_after].map(|n| n.to_string());
        [vec![p.pool.clone(), p.license.clone()], numbers.to_vec()].concat()
    };
    let columns = &["pool", "license", "quantity", "allocated_before", "allocated_after", "available_after"];
    Listing::of(columns, &summary.pools, pool).print(format)?;
    if !summary.violations.is_empty() {
        let violation = |v: &RowViolation| {
            vec![super::output::cell(v.row), super::output::cell(v.user.as_ref()), v.code.clone(), v.message.clone()]
        };
        println!();
        Listing::of(&["row", "user", "code", "message"], &summary.violations, violation).print(format)?;
    }
    let verb = if summary.applied { "applied" } else { "validated" };
    eprintln!(
        "allot: {}: {} changes in {} part(s) {verb}{}",
        summary.file,
        summary.changes,
        summary.parts,
        if summary.possible { "" } else { "; not possible" }
    );
    Ok(())
}
