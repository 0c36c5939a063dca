//! The product catalogue.

use allot_api::{ProductList, ProductView};
use axum::extract::State;

use super::Created;
use crate::app::{App, Caller};
use crate::error::{ApiResult, Problem};
use crate::extract::{Host, Json};

/// List the catalogue.
#[utoipa::path(get, path = "/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, body = ProductList), (status = 401, body = Problem)))]
pub async fn list(State(app): State<App>, _caller: Caller) -> axum::Json<ProductList> {
    axum::Json(crate::service::products(&app))
}

/// Add a license code to the catalogue (host admin).
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = [])), request_body = ProductView,
    responses((status = 201, body = ProductView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(host: Host, Json(body): Json<ProductView>) -> ApiResult<Created<ProductView>> {
    host.add_product(body).await.map(Created)
}
