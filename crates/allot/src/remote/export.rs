//! `allot users export`, `allot licenses export` and `allot ledger export`: CSV on stdout,
//! in the columns the imports read, so that an export imports back unchanged.

use allot_api::{UserQuery, Via};
use anyhow::Result;

use super::Session;
use super::import::{LICENSE_COLUMNS, USER_COLUMNS};
use super::output::cell;
use super::read::{LedgerFilter, all_users, each_entry, role};

fn writer() -> csv::Writer<std::io::StdoutLock<'static>> {
    csv::Writer::from_writer(std::io::stdout().lock())
}

pub async fn users(session: &mut Session) -> Result<()> {
    let users = all_users(session, UserQuery::default()).await?;
    let mut out = writer();
    out.write_record(USER_COLUMNS)?;
    for u in users {
        out.write_record([u.id, u.name, cell(u.email), role(u.role).to_owned(), u.groups.join(";")])?;
    }
    Ok(out.flush()?)
}

pub async fn licenses(session: &mut Session) -> Result<()> {
    let users = all_users(session, UserQuery { licenses: true, ..UserQuery::default() }).await?;
    let mut out = writer();
    out.write_record(LICENSE_COLUMNS)?;
    for user in users {
        for held in user.licenses.iter().flatten().filter(|h| h.source == Via::Direct) {
            let spec = super::import::spec(held);
            out.write_record([
                user.id.clone(),
                spec.license,
                spec.external.to_string(),
                cell(spec.valid_from),
                cell(spec.valid_until),
            ])?;
        }
    }
    Ok(out.flush()?)
}

pub async fn ledger(session: &mut Session, filter: &LedgerFilter) -> Result<()> {
    let mut out = writer();
    out.write_record(["revision", "seq", "at", "actor", "request_id", "change", "event"])?;
    each_entry(session, filter.params()?, |e| {
        let event = serde_json::to_string(&e.change)?;
        let row = [e.revision.to_string(), e.seq.to_string(), e.at.clone(), e.actor.clone(), e.request_id.clone()];
        Ok(out.write_record(row.into_iter().chain([e.change.to_string(), event]))?)
    })
    .await?;
    Ok(out.flush()?)
}
