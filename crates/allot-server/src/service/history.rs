//! The ledger and the past, answered from it: who held a license at a moment, what a user
//! held, and a license's counts over time. Each answer of the past replays the ledger up
//! to that moment, so it cannot disagree with it.

use allot_api::{HeldLicense, Holder, Holders, LedgerEntryView, LedgerPage, LedgerParams, Usage, UsagePoint, rfc3339};

use allot_core::{Catalogue, Change, LedgerEntry, LicenseKey, Pool, Scope, State, Timestamp};
use allot_store::{LedgerQuery, Store};

use super::OrgScope;
use crate::api::license_key;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;
use axum::http::StatusCode;

/// Every ledger entry, oldest first.
async fn ledger(app: &App) -> ApiResult<Vec<LedgerEntry>> {
    Ok(app.store.ledger(LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() }).await?)
}

/// A license named in a query, as the catalogue spells it.
fn resolve(books: &State, raw: &str, field: &str) -> ApiResult<LicenseKey> {
    let key = license_key(raw, field).map_err(ApiError::into_query)?;
    books
        .catalogue()
        .resolve(&key)
        .map(|(k, _)| k)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownLicense, format!("{field}: {e}")))
}

/// Whether a change moves `license`'s pool: a pool grant, or a holding taken or released
/// (a change of capability moves both the old and the new one).
fn touches(change: &Change, license: &LicenseKey) -> bool {
    match change {
        Change::PoolSet { license: l, .. } => l == license,
        Change::HoldingSet { product, before, after, .. } => {
            [before, after].into_iter().flatten().any(|h| h.license(product) == *license)
        }
        _ => false,
    }
}

fn cursor(raw: &str) -> ApiResult<(u64, u32)> {
    let bad = || {
        ApiError::bad_request(ErrorCode::InvalidQuery, format!("after: `{raw}` is not a cursor from a previous page"))
    };
    let (revision, seq) = raw.split_once('.').ok_or_else(bad)?;
    Ok((revision.parse().map_err(|_| bad())?, seq.parse().map_err(|_| bad())?))
}

impl OrgScope {
    /// The organization's ledger, oldest first, a page at a time.
    pub async fn ledger(&self, params: LedgerParams) -> ApiResult<LedgerPage> {
        let limit = self.app().page_limit(params.limit)?;
        let license = match &params.license {
            // Filter by the catalogue's spelling, which is what the ledger stores.
            Some(raw) => {
                let key = license_key(raw, "license").map_err(ApiError::into_query)?;
                let books = self.app().books.read();
                Some(books.catalogue().resolve(&key).map(|(k, _)| k.to_string()).unwrap_or_else(|_| raw.clone()))
            }
            None => None,
        };
        let query = LedgerQuery {
            org: Some(self.org().key()),
            user: params.user,
            license,
            from_revision: params.from_revision,
            to_revision: params.to_revision,
            after: params.after.as_deref().map(cursor).transpose()?,
            limit: limit + 1,
        };
        let mut entries = self.app().store.ledger(query).await?;
        let next = (entries.len() > limit as usize).then(|| {
            entries.truncate(limit as usize);
            entries.last().map(|e| format!("{}.{}", e.revision, e.seq)).unwrap_or_default()
        });
        Ok(LedgerPage { entries: entries.into_iter().map(LedgerEntryView::from).collect(), next })
    }

    /// The books as they stood at `as_of`: the ledger replayed up to the last revision
    /// committed at or before it.
    pub async fn books_at(&self, as_of: Timestamp) -> ApiResult<State> {
        let entries = ledger(self.app()).await?;
        let last = entries.iter().filter(|e| e.at <= as_of).map(|e| e.revision).max().unwrap_or(0);
        let upto: Vec<&LedgerEntry> = entries.iter().take_while(|e| e.revision <= last).collect();
        allot_core::ledger::replay(Catalogue::default_products(), upto).map_err(ApiError::internal)
    }

    /// Who held `license` at `as_of` (now when absent).
    pub async fn holders(&self, license: &str, as_of: Option<Timestamp>) -> ApiResult<Holders> {
        let as_of = as_of.unwrap_or_else(|| self.app().clock.now());
        let books = self.books_at(as_of).await?;
        let license = resolve(&books, license, "license")?;
        let holders = books
            .org(self.org().as_str())
            .map(|o| {
                o.users
                    .iter()
                    .filter_map(|(id, u)| {
                        let holding =
                            u.holdings.get(&license.product).filter(|h| h.capability == license.capability)?;
                        Some(Holder { user: id.to_string(), holding: HeldLicense::new(&license.product, holding) })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Holders { license: license.to_string(), as_of: rfc3339(as_of), revision: books.revision(), holders })
    }

    /// A license's counts over time: the organization's pool after every change to it
    /// between `from` and `until`.
    pub async fn usage(&self, license: &str, from: Option<Timestamp>, until: Option<Timestamp>) -> ApiResult<Usage> {
        let (from, until) = (from.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX));
        let license = resolve(&self.app().books.read(), license, "license")?;
        let scope = Scope::Org { org: self.org().clone() };
        let history = self.pool_histories(&[(scope, license.clone())]).await?.pop().unwrap_or_default();
        let points = history
            .into_iter()
            .filter(|(_, at, _)| (from..=until).contains(at))
            .map(|(revision, at, pool)| UsagePoint {
                revision,
                at: rfc3339(at),
                quantity: pool.grant.quantity,
                allocated: pool.allocated,
            })
            .collect();
        Ok(Usage { license: license.to_string(), points })
    }

    /// Each of `pools` (of this organization) after every revision that moved it, as
    /// `(revision, at, pool)`, oldest first: the ledger replayed once for all of them.
    pub async fn pool_histories(&self, pools: &[(Scope, LicenseKey)]) -> ApiResult<Vec<Vec<(u64, Timestamp, Pool)>>> {
        let entries = ledger(self.app()).await?;
        let mut books = State::new(Catalogue::default_products());
        let mut histories = vec![Vec::new(); pools.len()];
        for revision in entries.chunk_by(|a, b| a.revision == b.revision) {
            let changes: Vec<Change> = revision.iter().map(|e| e.change.clone()).collect();
            books.apply_all(revision[0].revision, &changes).map_err(ApiError::internal)?;
            let ours = |c: &Change| c.org().is_some_and(|o| o.key() == self.org().key());
            for ((scope, license), history) in pools.iter().zip(histories.iter_mut()) {
                if changes.iter().any(|c| ours(c) && touches(c, license)) {
                    history.push((revision[0].revision, revision[0].at, books.pool(scope, license)));
                }
            }
        }
        Ok(histories)
    }
}
