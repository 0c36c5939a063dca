//! The native API under `/api/v1`: one module per resource. Routes and their OpenAPI
//! descriptions are registered together, so they cannot drift apart.

use allot_core::{InvalidId, LicenseKey};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

pub mod admins;
pub mod clients;
pub mod dto;
pub mod groups;
pub mod history;
pub mod ledger;
pub mod licenses;
pub mod orgs;
pub mod plans;
pub mod pools;
pub mod products;
pub mod tenants;
pub mod users;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(orgs::list, orgs::create))
        .routes(routes!(orgs::get, orgs::update, orgs::delete))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::set_password))
        .routes(routes!(users::unlock))
        .routes(routes!(admins::list, admins::create))
        .routes(routes!(admins::delete))
        .routes(routes!(admins::set_password))
        .routes(routes!(admins::unlock))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::delete))
        .routes(routes!(groups::members, groups::add_member))
        .routes(routes!(groups::remove_member))
        .routes(routes!(tenants::list, tenants::create))
        .routes(routes!(tenants::get, tenants::delete))
        .routes(routes!(products::list, products::create))
        .routes(routes!(pools::host, pools::set_host))
        .routes(routes!(pools::org, pools::set_org))
        .routes(routes!(pools::tenant, pools::set_tenant))
        .routes(routes!(licenses::get_user, licenses::set_user))
        .routes(routes!(licenses::check))
        .routes(routes!(licenses::get_group, licenses::set_group))
        .routes(routes!(plans::create))
        .routes(routes!(plans::apply))
        .routes(routes!(ledger::list))
        .routes(routes!(history::holders))
        .routes(routes!(history::usage))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::delete))
        .routes(routes!(clients::scim_tokens, clients::create_scim_token))
        .routes(routes!(clients::revoke_scim_token))
}

/// A 201 answer with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, axum::Json(self.0)).into_response()
    }
}

/// A 204 answer.
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

pub(crate) fn invalid_id(error: InvalidId) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidId, error.to_string())
}

/// A license key from a request field; whether it is in the catalogue is the planner's call.
pub(crate) fn license_key(raw: &str, field: &str) -> ApiResult<LicenseKey> {
    LicenseKey::parse(raw).map_err(|e| ApiError::bad_request(ErrorCode::InvalidBody, format!("{field}: {e}")))
}
