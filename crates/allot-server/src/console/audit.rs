//! The audit page: the organization's ledger filtered by user, license, actor and dates,
//! a page at a time, exported as CSV; and who held a license at a past moment.

use allot_api::{LedgerEntryView, LedgerParams};
use askama::Template;
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::pages::urlencoded;
use super::{Chrome, OrgPage, Page, render};

/// Rows a CSV export holds at most: a longer ledger is to be narrowed by its filters.
const EXPORT_LIMIT: usize = 100_000;

/// The audit page's filters, as its form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    user: String,
    #[serde(default)]
    license: String,
    #[serde(default)]
    actor: String,
    /// `YYYY-MM-DD`, from the start of the day (UTC)...
    #[serde(default)]
    from: String,
    /// ...to its end.
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
    /// "As of": a license and a day, to list its holders at the end of that day.
    #[serde(default)]
    held: String,
    #[serde(default)]
    on: String,
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

impl Filters {
    fn params(&self, limit: u32) -> LedgerParams {
        LedgerParams {
            user: some(&self.user),
            license: some(&self.license),
            actor: some(&self.actor),
            from: some(&self.from).map(|day| format!("{day}T00:00:00Z")),
            until: some(&self.until).map(|day| format!("{day}T23:59:59.999Z")),
            after: some(&self.after),
            limit: Some(limit),
            ..LedgerParams::default()
        }
    }

    /// The query string of these filters (without the page), for links that keep them.
    fn query(&self) -> String {
        [
            ("user", &self.user),
            ("license", &self.license),
            ("actor", &self.actor),
            ("from", &self.from),
            ("until", &self.until),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoded(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// One ledger entry in words.
pub(super) struct EntryRow {
    pub(super) revision: u64,
    pub(super) seq: u32,
    pub(super) at: String,
    pub(super) actor: String,
    pub(super) request_id: String,
    pub(super) kind: &'static str,
    pub(super) user: String,
    pub(super) license: String,
    pub(super) detail: String,
}

impl EntryRow {
    pub(super) fn of(entry: LedgerEntryView) -> Self {
        let change = &entry.change;
        Self {
            kind: change.kind(),
            user: change.user().map(ToString::to_string).unwrap_or_default(),
            license: change.license().map(|l| l.to_string()).unwrap_or_default(),
            detail: change.to_string(),
            revision: entry.revision,
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor,
            request_id: entry.request_id,
        }
    }
}

struct HolderRow {
    user: String,
    via: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct Audit {
    chrome: Chrome,
    org: String,
    filters: Filters,
    entries: Vec<EntryRow>,
    next: Option<String>,
    export: String,
    licenses: Vec<String>,
    /// Who held `filters.held` at the end of `filters.on`, when asked.
    holders: Option<Vec<HolderRow>>,
}

/// `/console/orgs/{org}/audit`: the ledger, filtered and paged; and "as of".
pub async fn audit(page: OrgPage, Query(filters): Query<Filters>) -> Result<Response, Page> {
    let scope = &page.scope;
    let listed = scope.ledger(filters.params(50)).await?;
    let base = format!("{}/audit", page.base());
    let kept = filters.query();
    let joined = |rest: String| if kept.is_empty() { rest } else { format!("{kept}&{rest}") };
    let next = listed.next.map(|after| format!("{base}?{}", joined(format!("after={}", urlencoded(&after)))));
    let export = format!("{base}.csv?{kept}");
    let holders = match (some(&filters.held), some(&filters.on)) {
        (Some(license), Some(day)) => {
            let as_of = crate::api::dto::parse_time("on", Some(&format!("{day}T23:59:59.999Z")))?.unwrap_or_default();
            let held = scope.holders(&license, Some(as_of)).await?;
            Some(
                held.holders
                    .into_iter()
                    .map(|h| HolderRow { user: h.user, via: format!("{:?}", h.holding.source).to_lowercase() })
                    .collect(),
            )
        }
        _ => None,
    };
    let licenses = scope.held_pools().iter().map(|p| p.license.to_string()).collect();
    let entries = listed.entries.into_iter().map(EntryRow::of).collect();
    let org = scope.org().to_string();
    Ok(render(&Audit { chrome: page.chrome(), org, filters, entries, next, export, licenses, holders }))
}

/// `/console/orgs/{org}/audit.csv`: the entries the filters select, oldest first, as CSV.
pub async fn export(page: OrgPage, Query(mut filters): Query<Filters>) -> Result<Response, Page> {
    let scope = &page.scope;
    let mut csv = String::from("revision,seq,at,actor,request_id,type,user,license,detail\n");
    let mut rows = 0;
    filters.after.clear();
    loop {
        let page = scope.ledger(filters.params(1000)).await?;
        for entry in page.entries {
            let row = EntryRow::of(entry);
            let fields = [
                &row.revision.to_string(),
                &row.seq.to_string(),
                &row.at,
                &row.actor,
                &row.request_id,
                row.kind,
                &row.user,
                &row.license,
                &row.detail,
            ];
            csv.push_str(&fields.iter().map(|f| cell(f)).collect::<Vec<_>>().join(","));
            csv.push('\n');
            rows += 1;
        }
        match page.next {
            Some(after) if rows < EXPORT_LIMIT => filters.after = after,
            _ => break,
        }
    }
    let name = format!("attachment; filename=\"{}-ledger.csv\"", scope.org().as_str());
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], csv)
        .into_response())
}

/// A CSV cell: quoted when it must be, and never read by a spreadsheet as a formula.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(super::cell("plain"), "plain");
        assert_eq!(super::cell("a,b"), "\"a,b\"");
        assert_eq!(super::cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(super::cell("-1,2"), "\"'-1,2\"");
    }
}
