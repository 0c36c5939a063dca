//! The ledger of an organization: every applied change, oldest first, a page at a time.

use allot_core::OrgKey;
use allot_store::{LedgerQuery, Store};
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use allot_api::{LedgerEntryView, LedgerPage};
use super::org_for;
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// Only entries about this user.
    pub user: Option<String>,
    /// Only entries about this license (`CODE` or `code:capability`).
    pub license: Option<String>,
    /// Only entries at or after this revision.
    pub from_revision: Option<u64>,
    /// Only entries at or before this revision.
    pub to_revision: Option<u64>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most `limits.max_page` (1000 by default); 100 when absent.
    pub limit: Option<u32>,
}

fn cursor(raw: &str) -> ApiResult<(u64, u32)> {
    let bad = || ApiError::bad_request("invalid_query", format!("after: `{raw}` is not a cursor from a previous page"));
    let (revision, seq) = raw.split_once('.').ok_or_else(bad)?;
    Ok((revision.parse().map_err(|_| bad())?, seq.parse().map_err(|_| bad())?))
}

/// Read the ledger.
#[utoipa::path(get, path = "/orgs/{org}/ledger", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), LedgerParams),
    responses((status = 200, body = LedgerPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Query(params): Query<LedgerParams>,
) -> ApiResult<axum::Json<LedgerPage>> {
    org_for(&app, &caller, &org, Access::Read)?;
    let limit = app.page_limit(params.limit)?;
    let license = match &params.license {
        // Filter by the catalogue's spelling, which is what the ledger stores.
        Some(raw) => {
            let key = super::license_key(raw, "license")
                .map_err(|e| ApiError::bad_request("invalid_query", e.detail().to_owned()))?;
            let books = app.books.read();
            Some(books.catalogue().resolve(&key).map(|(k, _)| k.to_string()).unwrap_or_else(|_| raw.clone()))
        }
        None => None,
    };
    let query = LedgerQuery {
        org: Some(OrgKey::of(&org)),
        user: params.user,
        license,
        from_revision: params.from_revision,
        to_revision: params.to_revision,
        after: params.after.as_deref().map(cursor).transpose()?,
        limit: limit + 1,
    };
    let mut entries = app.store.ledger(query).await?;
    let next = (entries.len() > limit as usize).then(|| {
        entries.truncate(limit as usize);
        entries.last().map(|e| format!("{}.{}", e.revision, e.seq)).unwrap_or_default()
    });
    Ok(axum::Json(LedgerPage { entries: entries.into_iter().map(LedgerEntryView::from).collect(), next }))
}
