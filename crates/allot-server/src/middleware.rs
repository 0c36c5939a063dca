//! One middleware for every request: a request id, a tracing span, metrics by route
//! template, and the revision the answer was given at.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore as _;
use tracing::Instrument as _;

use crate::app::App;

/// The id of the request being served; echoed in `x-request-id` and kept in the ledger.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: &str = "x-request-id";
pub const REVISION: &str = "allot-revision";

pub async fn observe(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::rng().next_u64()));
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", %method, %route, request_id = %request_id, principal = tracing::field::Empty);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    app.metrics.record(method.as_str(), &route, status.as_u16(), elapsed);
    span.in_scope(|| {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), micros, "answered");
        } else if status.is_client_error() && status != StatusCode::NOT_FOUND {
            tracing::info!(status = status.as_u16(), micros, "answered");
        } else {
            tracing::debug!(status = status.as_u16(), micros, "answered");
        }
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if !headers.contains_key(REVISION) {
        headers.insert(REVISION, HeaderValue::from(app.books.read().revision()));
    }
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}
