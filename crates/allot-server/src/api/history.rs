//! The past, answered from the ledger: who held a license at a moment, and a license's
//! counts over time.

use allot_api::{Holders, HoldersQuery, Usage, UsageQuery};

use super::dto::parse_time;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Org, Query, Read};

/// Who held a license at a moment.
#[utoipa::path(get, path = "/orgs/{org}/holders", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), HoldersQuery),
    responses((status = 200, body = Holders), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn holders(org: Org<Read>, Query(query): Query<HoldersQuery>) -> ApiResult<axum::Json<Holders>> {
    let as_of = parse_time("as_of", query.as_of.as_deref()).map_err(ApiError::into_query)?;
    org.holders(&query.license, as_of).await.map(axum::Json)
}
/// A license's counts over time: the organization's pool after every change to it.
#[utoipa::path(get, path = "/orgs/{org}/usage", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), UsageQuery),
    responses((status = 200, body = Usage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn usage(org: Org<Read>, Query(query): Query<UsageQuery>) -> ApiResult<axum::Json<Usage>> {
    let from = parse_time("from", query.from.as_deref()).map_err(ApiError::into_query)?;
    let until = parse_time("until", query.until.as_deref()).map_err(ApiError::into_query)?;
    org.usage(&query.license, from, until).await.map(axum::Json)
}
