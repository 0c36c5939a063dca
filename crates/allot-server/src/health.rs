//! Liveness, readiness and metrics.

use allot_store::Store;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::error::{ApiError, ApiResult};

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
    pub revision: u64,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz(State(app): State<App>) -> axum::Json<Health> {
    axum::Json(Health { status: "ok".into(), revision: app.books.read().revision() })
}

/// The process can serve: its database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "The database is unavailable", body = crate::error::Problem))
)]
pub async fn readyz(State(app): State<App>) -> ApiResult<axum::Json<Health>> {
    app.store.has_host_admin().await.map_err(ApiError::from)?;
    Ok(axum::Json(Health { status: "ready".into(), revision: app.books.read().revision() }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(app): State<App>) -> Response {
    let body = app.metrics.render(app.books.read().revision());
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}
