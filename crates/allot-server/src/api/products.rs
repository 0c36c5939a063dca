//! The product catalogue.

use allot_core::catalogue::CapabilityInfo;
use allot_core::{Capability, Command, Product, ProductCode, ProductKind, ServiceType};
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Created;
use allot_api::ProductView;
use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductView>,
}

/// List the catalogue.
#[utoipa::path(get, path = "/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, body = ProductList), (status = 401, body = Problem)))]
pub async fn list(State(app): State<App>, _caller: Caller) -> axum::Json<ProductList> {
    let books = app.books.read();
    axum::Json(ProductList { products: books.catalogue().products().map(ProductView::from).collect() })
}

/// Add a license code to the catalogue (host admin).
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = [])), request_body = ProductView,
    responses((status = 201, body = ProductView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`already_exists`", body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<ProductView>,
) -> ApiResult<Created<ProductView>> {
    caller.require_host_admin()?;
    let invalid = |e: allot_core::InvalidId| ApiError::bad_request("invalid_body", e.to_string());
    let kind = match body.kind.as_str() {
        "user" => ProductKind::User,
        "unit" => ProductKind::Unit,
        other => return Err(ApiError::bad_request("invalid_body", format!("kind: `{other}` is not `user` or `unit`"))),
    };
    if kind == ProductKind::User && body.service_type.is_some() {
        return Err(ApiError::bad_request("invalid_body", "service_type: only unit licenses belong to a service"));
    }
    let capabilities = body
        .capabilities
        .iter()
        .map(|c| Ok(CapabilityInfo { code: Capability::parse(&c.code).map_err(invalid)?, name: c.name.clone() }))
        .collect::<ApiResult<Vec<_>>>()?;
    let product = Product {
        code: ProductCode::parse(&body.code).map_err(invalid)?,
        name: body.name.clone(),
        kind,
        service_type: body.service_type.as_deref().map(ServiceType::parse).transpose().map_err(invalid)?,
        capabilities,
    };
    let view = ProductView::from(&product);
    app.change(&caller, &[Command::AddProduct { product }]).await?;
    Ok(Created(view))
}
