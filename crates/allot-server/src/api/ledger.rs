//! The ledger of an organization: every applied change, oldest first, a page at a time.

use allot_api::{LedgerPage, LedgerParams};

use crate::error::{ApiResult, Problem};
use crate::extract::{Org, Query, Read};

/// Read the ledger.
#[utoipa::path(get, path = "/orgs/{org}/ledger", tag = "ledger", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), LedgerParams),
    responses((status = 200, body = LedgerPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(org: Org<Read>, Query(params): Query<LedgerParams>) -> ApiResult<axum::Json<LedgerPage>> {
    org.ledger(params).await.map(axum::Json)
}
