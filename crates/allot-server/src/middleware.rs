//! One middleware for every request: a request id, a tracing span, metrics by route
//! template, and the revision the answer was given at; within it, the client's rate limit,
//! `?min_revision=` and then `Idempotency-Key`. One layer, not three: axum clones a route's layers for every request,
//! and with two layers fewer the check went from 0.60 to 0.64-0.70 of the minimal server's
//! rate (docs/BENCHMARKS.md).

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::IntoResponse as _;
use axum::response::Response;
use rand::RngCore as _;
use tracing::Instrument as _;

use allot_store::Store as _;

use crate::app::App;
use crate::error::ApiError;
use allot_api::ErrorCode;

/// The id of the request being served; echoed in `x-request-id` and kept in the ledger.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: &str = "x-request-id";
pub const REVISION: &str = "allot-revision";

/// Serves a request inside its span, timed for the metrics: first `?min_revision=`, then
/// `Idempotency-Key`, then the route; stamps the answer with its request id and revision.
pub async fn observe(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::rng().next_u64()));
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    // A read's span is a debug one: opening a span on every check cost 5% of the server's
    // CPU (docs/BENCHMARKS.md), and reads rarely log within. Its answer says which request
    // it was all the same.
    let read = method == Method::GET || method == Method::HEAD;
    let span = if read {
        tracing::debug_span!("request", %method, %route, request_id = %request_id)
    } else {
        tracing::info_span!("request", %method, %route, request_id = %request_id)
    };
    let started = Instant::now();
    let served = async {
        // Before anything else, and once: a refused write judged again is one request.
        if let Some(limited) = crate::rate_limit::refused(&app, route, &request) {
            return limited;
        }
        match fresh_enough(&app, &mut request).await {
            Ok(()) => crate::idempotency::idempotent(&app, request, next).await,
            Err(refused) => refused.into_response(),
        }
    };
    let mut response = served.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    app.metrics.record(method.as_str(), route, status.as_u16(), elapsed);
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    // In the request's span, or, where that is not logged, with its fields.
    macro_rules! answered {
        ($level:ident) => {
            if span.is_disabled() {
                tracing::$level!(%method, %route, request_id = %request_id, status = status.as_u16(), micros, "answered")
            } else {
                span.in_scope(|| tracing::$level!(status = status.as_u16(), micros, "answered"))
            }
        };
    }
    if status.is_server_error() {
        answered!(warn);
    } else if status.is_client_error() && status != StatusCode::NOT_FOUND {
        answered!(info);
    } else {
        answered!(debug);
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if !headers.contains_key(REVISION) {
        headers.insert(REVISION, HeaderValue::from(app.books.revision()));
    }
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// `?min_revision=R`: the answer reflects revision R or later. A process that is behind
/// catches up from the database, waiting up to `min_revision_wait_ms`, else answers 503.
/// A revision the database has not reached answers 404 `revision_not_found` at once:
/// waiting would not bring it.
/// The parameter is taken off the query, so every endpoint accepts it.
async fn fresh_enough(app: &App, request: &mut Request) -> Result<(), ApiError> {
    let Some((wanted, uri)) = take_min_revision(request.uri())? else { return Ok(()) };
    *request.uri_mut() = uri;
    let give_up = Instant::now() + Duration::from_millis(app.config.min_revision_wait_ms);
    if app.books.revision() < wanted {
        let stored = app.store.revision().await?;
        if stored < wanted {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::RevisionNotFound,
                format!("revision {wanted} does not exist (the latest is {stored})"),
            ));
        }
    }
    let too_late = || ApiError::unavailable(format!("this process has not seen revision {wanted} yet; retry shortly"));
    while app.books.revision() < wanted {
        // Catching up waits for the committer, which may be waiting for its turn to write:
        // the wait is bounded all the same.
        let left = give_up.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(too_late());
        }
        tokio::time::timeout(left, app.books.catch_up()).await.map_err(|_| too_late())??;
        if app.books.revision() < wanted {
            tokio::time::sleep(Duration::from_millis(25).min(left)).await;
        }
    }
    Ok(())
}

fn take_min_revision(uri: &Uri) -> Result<Option<(u64, Uri)>, ApiError> {
    let Some(query) = uri.query() else { return Ok(None) };
    let (mine, rest): (Vec<&str>, Vec<&str>) = query.split('&').partition(|p| p.starts_with("min_revision="));
    let Some(raw) = mine.last() else { return Ok(None) };
    let value = raw.trim_start_matches("min_revision=");
    let wanted = value.parse::<u64>().map_err(|_| {
        ApiError::bad_request(ErrorCode::InvalidQuery, format!("min_revision: `{value}` is not a revision number"))
    })?;
    let rest = rest.join("&");
    let path = if rest.is_empty() { uri.path().to_owned() } else { format!("{}?{rest}", uri.path()) };
    let uri =
        path.parse().map_err(|_| ApiError::bad_request(ErrorCode::InvalidQuery, "the query string is malformed"))?;
    Ok(Some((wanted, uri)))
}
