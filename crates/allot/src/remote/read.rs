//! The commands that read: organizations, pools, users, groups, the check, holders and the
//! ledger.

use allot_api::{LedgerEntryView, LedgerParams, UserQuery, UserView};
use anyhow::Result;

use super::Session;
use super::output::{Format, Listing, cell};

/// Which ledger entries to read.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct LedgerFilter {
    /// Only entries about this user.
    #[arg(long, global = true)]
    user: Option<String>,
    /// Only entries about this license.
    #[arg(long, global = true)]
    license: Option<String>,
    /// Only entries from this moment on (RFC 3339, or a date: its midnight UTC).
    #[arg(long, global = true)]
    from: Option<String>,
    /// Only entries up to this moment.
    #[arg(long, global = true)]
    until: Option<String>,
}

impl LedgerFilter {
    /// The query of the first page.
    pub fn params(&self) -> Result<LedgerParams> {
        Ok(LedgerParams {
            user: self.user.clone(),
            license: self.license.clone(),
            from: self.from.as_deref().map(super::moment).transpose()?,
            until: self.until.as_deref().map(super::moment).transpose()?,
            limit: Some(1000),
            ..LedgerParams::default()
        })
    }
}

pub async fn orgs(session: &mut Session) -> Result<()> {
    let orgs = session.call(|c| c.orgs()).await?.organizations;
    let row = |o: &allot_api::OrgView| vec![o.id.clone(), o.name.clone(), o.users.to_string(), o.groups.to_string()];
    Listing::of(&["id", "name", "users", "groups"], &orgs, row).print(session.format)
}

pub async fn pools(session: &mut Session, service: Option<(&str, &str)>) -> Result<()> {
    let org = session.org()?;
    let pools = match service {
        Some((tenant, service)) => session.call(|c| c.service_pools(&org, tenant, service)).await?,
        None => session.call(|c| c.org_pools(&org)).await?,
    };
    let row = |p: &allot_api::PoolRow| {
        let numbers = [p.quantity, p.allocated, p.available].map(|n| n.to_string());
        [vec![p.license.clone()], numbers.to_vec(), vec![cell(p.valid_from.as_ref()), cell(p.valid_until.as_ref())]]
            .concat()
    };
    let columns = &["license", "quantity", "allocated", "available", "valid_from", "valid_until"];
    Listing::of(columns, &pools.pools, row).print(session.format)
}

/// Every user `query` lets through, page by page.
pub async fn all_users(session: &mut Session, mut query: UserQuery) -> Result<Vec<UserView>> {
    let org = session.org()?;
    query.limit = Some(1000);
    let mut users = Vec::new();
    loop {
        let page = session.call(|c| c.users_where(&org, &query)).await?;
        users.extend(page.users);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(users),
        }
    }
}

pub async fn users(session: &mut Session, query: UserQuery) -> Result<()> {
    let users = all_users(session, query).await?;
    let row = |u: &UserView| {
        vec![u.id.clone(), u.name.clone(), cell(u.email.as_ref()), role(u.role).to_owned(), u.groups.join(";")]
    };
    Listing::of(&["id", "name", "email", "role", "groups"], &users, row).print(session.format)
}

pub fn role(role: allot_api::Role) -> &'static str {
    match role {
        allot_api::Role::Member => "member",
        allot_api::Role::Reader => "reader",
        allot_api::Role::Admin => "admin",
    }
}

pub async fn groups(session: &mut Session) -> Result<()> {
    let org = session.org()?;
    let groups = session.call(|c| c.groups(&org)).await?.groups;
    let row = |g: &allot_api::GroupView| {
        vec![
            g.id.clone(),
            g.name.clone(),
            g.members.to_string(),
            g.licenses.join(";"),
            g.use_external_license.to_string(),
        ]
    };
    Listing::of(&["id", "name", "members", "licenses", "external"], &groups, row).print(session.format)
}

pub async fn check(session: &mut Session, user: &str, license: &str) -> Result<()> {
    let org = session.org()?;
    let answer = session.call(|c| c.check(&org, user, license)).await?;
    let via = answer.via.map(|via| match via {
        allot_api::Via::Direct => "direct",
        allot_api::Via::Group => "group",
    });
    let reason = serde_json::to_value(answer.reason)?.as_str().unwrap_or_default().to_owned();
    let row =
        vec![answer.allowed.to_string(), reason, cell(via), cell(answer.group.as_ref()), answer.revision.to_string()];
    Listing::one(&["allowed", "reason", "via", "group", "revision"], &answer, row).print(session.format)
}

pub async fn holders(session: &mut Session, license: &str, as_of: Option<&str>) -> Result<()> {
    let org = session.org()?;
    let query = allot_api::HoldersQuery { license: license.to_owned(), as_of: as_of.map(super::moment).transpose()? };
    let holders = session.call(|c| c.holders(&org, &query)).await?;
    let row = |h: &allot_api::Holder| {
        let via = serde_json::to_value(h.holding.source).ok().and_then(|v| v.as_str().map(str::to_owned));
        vec![
            h.user.clone(),
            h.holding.license.clone(),
            cell(via),
            cell(h.holding.group.as_ref()),
            cell(h.holding.valid_until.as_ref()),
        ]
    };
    let columns = &["user", "license", "via", "group", "valid_until"];
    let mut listing = Listing::of(columns, &holders.holders, row);
    listing.json = serde_json::to_value(&holders)?;
    listing.print(session.format)
}

/// The entries `filter` lets through, a page at a time, to `each`; answers the revision
/// of the last one.
pub async fn each_entry(
    session: &mut Session,
    mut params: LedgerParams,
    mut each: impl FnMut(LedgerEntryView) -> Result<()>,
) -> Result<Option<u64>> {
    let org = session.org()?;
    let mut last = None;
    loop {
        let page = session.call(|c| c.ledger(&org, &params)).await?;
        for entry in page.entries {
            last = Some(entry.revision);
            each(entry)?;
        }
        match page.next {
            Some(next) => params.after = Some(next),
            None => return Ok(last),
        }
    }
}

fn entry_row(e: &LedgerEntryView) -> Vec<String> {
    vec![e.revision.to_string(), e.at.clone(), e.actor.clone(), e.change.to_string()]
}

const ENTRY_COLUMNS: &[&str] = &["revision", "at", "actor", "change"];

pub async fn ledger(session: &mut Session, filter: &LedgerFilter, follow: bool) -> Result<()> {
    let params = filter.params()?;
    if !follow {
        let mut entries = Vec::new();
        each_entry(session, params, |e| {
            entries.push(e);
            Ok(())
        })
        .await?;
        return Listing::of(ENTRY_COLUMNS, &entries, entry_row).print(session.format);
    }
    // Following: each entry on a line of its own as it comes, JSON lines for programs.
    let format = session.format;
    let print = |e: LedgerEntryView| -> Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(&e)?)?,
            Format::Csv | Format::Table => writeln!(out, "{}", entry_row(&e).join("  "))?,
        }
        Ok(out.flush()?)
    };
    let mut from = each_entry(session, params.clone(), print).await?.map_or(0, |last| last + 1);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let since = LedgerParams { from_revision: Some(from), ..params.clone() };
        if let Some(last) = each_entry(session, since, print).await? {
            from = last + 1;
        }
    }
}
