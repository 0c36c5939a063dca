//! The ledger and the past, answered from it: who held a license at a moment, what a user
//! held, and a license's counts over time. Each answer of the past replays the
//! organization's ledger up to that moment from its last checkpoint before it
//! (`checkpoints.rs`), so it cannot disagree with the ledger, and costs the organization's
//! size, not the ledger's. The present is answered from memory.

use allot_api::{HeldLicense, Holder, Holders, LedgerEntryView, LedgerPage, LedgerParams, Usage, UsagePoint, rfc3339};

use allot_core::{LicenseKey, Scope, State, Timestamp};
use allot_store::{LedgerQuery, Store};

use crate::checkpoints;

use super::OrgScope;
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;
use axum::http::StatusCode;

/// A license named in a query, as the catalogue spells it.
fn resolve(books: &State, raw: &str, field: &str) -> ApiResult<LicenseKey> {
    let key = license_key(raw, field).map_err(ApiError::into_query)?;
    books
        .catalogue()
        .resolve(&key)
        .map(|(k, _)| k)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownLicense, format!("{field}: {e}")))
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
        let time =
            |field: &str, value: &Option<String>| parse_time(field, value.as_deref()).map_err(ApiError::into_query);
        let query = LedgerQuery {
            org: Some(self.org().key()),
            user: params.user,
            license,
            from_revision: params.from_revision,
            to_revision: params.to_revision,
            from_at: time("from", &params.from)?,
            until_at: time("until", &params.until)?,
            actor: params.actor,
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

    /// The organization's books as they stood at `as_of`: after the last revision
    /// committed at or before it. Other organizations are absent.
    pub async fn books_at(&self, as_of: Timestamp) -> ApiResult<State> {
        let store = &self.app().store;
        let revision = store.revision_at(as_of).await?;
        Ok(checkpoints::replay(store, &self.org().key(), revision, revision, true, |_, _, _, _| {}).await?)
    }

    /// Who held `license` at `as_of` (now when absent: from memory).
    pub async fn holders(&self, license: &str, as_of: Option<Timestamp>) -> ApiResult<Holders> {
        match as_of {
            Some(as_of) => self.holders_in(&self.books_at(as_of).await?, license, as_of),
            None => self.holders_in(&self.app().books.read(), license, self.app().clock.now()),
        }
    }

    fn holders_in(&self, books: &State, license: &str, as_of: Timestamp) -> ApiResult<Holders> {
        let license = resolve(books, license, "license")?;
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

    /// A license's counts over time: the organization's pool after every change of this
    /// organization that named it between `from` and `until` (the host's own entries move
    /// no pool of its), folded from the counts as they stood before `from`.
    pub async fn usage(&self, license: &str, from: Option<Timestamp>, until: Option<Timestamp>) -> ApiResult<Usage> {
        let license = resolve(&self.app().books.read(), license, "license")?;
        let store = &self.app().store;
        let start = match from {
            Some(from) => store.revision_at(from.saturating_sub(1)).await?,
            None => 0,
        };
        let end = match until {
            Some(until) => store.revision_at(until).await?,
            None => store.revision().await?,
        };
        let scope = Scope::Org { org: self.org().clone() };
        let points = match end > start {
            true => {
                let pools = [(scope, license.clone())];
                let mut histories = checkpoints::pool_histories(store, &self.org().key(), &pools, start, end).await?;
                histories.pop().map(|h| h.points).unwrap_or_default()
            }
            false => Vec::new(),
        };
        let points = points
            .into_iter()
            .map(|(revision, at, pool)| UsagePoint {
                revision,
                at: rfc3339(at),
                quantity: pool.grant.quantity,
                allocated: pool.allocated,
            })
            .collect();
        Ok(Usage { license: license.to_string(), points })
    }

    /// Each of `pools` (of this organization) as it stood at `since` and after every
    /// revision since that moved it.
    pub async fn pool_histories(
        &self,
        pools: &[(Scope, LicenseKey)],
        since: Timestamp,
    ) -> ApiResult<Vec<checkpoints::PoolHistory>> {
        let store = &self.app().store;
        let start = store.revision_at(since.saturating_sub(1)).await?;
        let end = store.revision().await?;
        Ok(checkpoints::pool_histories(store, &self.org().key(), pools, start, end.max(start)).await?)
    }
}
