//! The past, answered from the ledger: who held a license at a moment, what a user held,
//! and a license's counts over time. Each answer replays the ledger up to that moment, so
//! it cannot disagree with it.

use allot_core::{Catalogue, Change, LedgerEntry, LicenseKey, Scope, State as Books, Timestamp};
use allot_store::{LedgerQuery, Store};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use allot_api::{HeldLicense, rfc3339};

use super::dto::parse_time;
use super::{license_key, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Query;

/// Every ledger entry, oldest first.
async fn ledger(app: &App) -> ApiResult<Vec<LedgerEntry>> {
    Ok(app.store.ledger(LedgerQuery { limit: u32::MAX, ..LedgerQuery::default() }).await?)
}

/// The books as they stood at `as_of`: the ledger replayed up to the last revision
/// committed at or before it.
pub async fn books_at(app: &App, as_of: Timestamp) -> ApiResult<Books> {
    let entries = ledger(app).await?;
    let last = entries.iter().filter(|e| e.at <= as_of).map(|e| e.revision).max().unwrap_or(0);
    let upto: Vec<&LedgerEntry> = entries.iter().take_while(|e| e.revision <= last).collect();
    allot_core::ledger::replay(Catalogue::default_products(), upto).map_err(ApiError::internal)
}

fn resolve(books: &Books, raw: &str, field: &str) -> ApiResult<LicenseKey> {
    let key = license_key(raw, field).map_err(|e| ApiError::bad_request("invalid_query", e.detail().to_owned()))?;
    books
        .catalogue()
        .resolve(&key)
        .map(|(k, _)| k)
        .map_err(|e| ApiError::bad_request("invalid_query", format!("{field}: {e}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    /// A license code, or `code:capability`.
    pub license: String,
    /// RFC 3339; now when absent.
    pub as_of: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Holder {
    pub user: String,
    #[serde(flatten)]
    pub holding: HeldLicense,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Holders {
    pub license: String,
    /// The moment asked about, and the last revision committed by then.
    pub as_of: String,
    pub revision: u64,
    pub holders: Vec<Holder>,
}

/// Who held a license at a moment.
#[utoipa::path(get, path = "/orgs/{org}/holders", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), HoldersQuery),
    responses((status = 200, body = Holders), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn holders(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HoldersQuery>,
) -> ApiResult<axum::Json<Holders>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let as_of = parse_time("as_of", query.as_of.as_deref())
        .map_err(|e| ApiError::bad_request("invalid_query", e.detail().to_owned()))?;
    let as_of = as_of.unwrap_or_else(|| app.clock.now());
    let books = books_at(&app, as_of).await?;
    let license = resolve(&books, &query.license, "license")?;
    let holders = books
        .org(&org)
        .map(|o| {
            o.users
                .iter()
                .filter_map(|(id, u)| {
                    let holding = u.holdings.get(&license.product).filter(|h| h.capability == license.capability)?;
                    Some(Holder { user: id.to_string(), holding: HeldLicense::new(&license.product, holding) })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(axum::Json(Holders { license: license.to_string(), as_of: rfc3339(as_of), revision: books.revision(), holders }))
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// A license code, or `code:capability`.
    pub license: String,
    /// RFC 3339: only points at or after.
    pub from: Option<String>,
    /// RFC 3339: only points at or before.
    pub until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePoint {
    pub revision: u64,
    pub at: String,
    pub quantity: i64,
    pub allocated: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub license: String,
    /// The organization's pool after each revision that moved it.
    pub points: Vec<UsagePoint>,
}

/// A license's counts over time: the organization's pool after every change to it.
#[utoipa::path(get, path = "/orgs/{org}/usage", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), UsageQuery),
    responses((status = 200, body = Usage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn usage(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<UsageQuery>,
) -> ApiResult<axum::Json<Usage>> {
    let org_id = org_for(&app, &caller, &org, Access::Read)?;
    let bad = |e: ApiError| ApiError::bad_request("invalid_query", e.detail().to_owned());
    let from = parse_time("from", query.from.as_deref()).map_err(bad)?.unwrap_or(i64::MIN);
    let until = parse_time("until", query.until.as_deref()).map_err(bad)?.unwrap_or(i64::MAX);
    let license = resolve(&app.books.read(), &query.license, "license")?;
    let scope = Scope::Org { org: org_id.clone() };
    let entries = ledger(&app).await?;
    let mut books = Books::new(Catalogue::default_products());
    let mut points = Vec::new();
    for revision in entries.chunk_by(|a, b| a.revision == b.revision) {
        let changes: Vec<Change> = revision.iter().map(|e| e.change.clone()).collect();
        books.apply_all(revision[0].revision, &changes).map_err(ApiError::internal)?;
        let at = revision[0].at;
        let moved = changes.iter().any(|c| c.org().is_some_and(|o| o.key() == org_id.key()) && touches(c, &license));
        if moved && (from..=until).contains(&at) {
            let pool = books.pool(&scope, &license);
            points.push(UsagePoint {
                revision: revision[0].revision,
                at: rfc3339(at),
                quantity: pool.grant.quantity,
                allocated: pool.allocated,
            });
        }
    }
    Ok(axum::Json(Usage { license: license.to_string(), points }))
}
