//! Writes are judged on the database's books, whichever process takes them. A process
//! follows the others every `sync_interval_ms`, so its memory may not yet hold a user or
//! an organization another process created a moment ago. A write refused on this
//! process's books is therefore judged again, once, after catching up, whenever another
//! process committed since the request came: a refusal (404, 409, 412, 422, or a dialect's
//! 400) is answered only when the books it was judged on were at least the stored ones.
//! An accepted write needs nothing of this: the committer plans it after taking its turn
//! and catching up.

use allot_store::Store as _;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::app::App;
use crate::error::ApiError;
use allot_api::ErrorCode;

/// Runs `request`, a second time on caught-up books if it was refused on books older than
/// the database's.
pub async fn judged_on_stored(app: &App, request: Request, next: Next) -> Response {
    if !is_write(&request) {
        return next.run(request).await;
    }
    let before = app.books.read().revision();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, app.config.limits.max_body_bytes).await else {
        let detail = format!("the body is larger than {} bytes", app.config.limits.max_body_bytes);
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, detail).into_response();
    };
    let first = next.clone().run(Request::from_parts(parts.clone(), Body::from(bytes.clone()))).await;
    if !may_depend_on_the_books(first.status()) {
        return first;
    }
    match app.store.revision().await {
        // The books it was judged on held every stored revision: the refusal stands.
        Ok(stored) if stored <= before => return first,
        Ok(_) => {}
        Err(error) => {
            tracing::debug!(%error, "cannot read the stored revision; the refusal stands as judged");
            return first;
        }
    }
    if let Err(error) = app.books.catch_up().await {
        tracing::debug!(code = error.code().as_str(), "cannot catch up; the refusal stands as judged");
        return first;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// A request that may change the books. Logins are not: judging one twice would count a
/// wrong password twice.
fn is_write(request: &Request) -> bool {
    let path = request.uri().path();
    !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !path.ends_with("/token")
        && !path.ends_with("/api/account/authenticate")
}

/// A refusal the books could have decided: what is missing (404), gone (410), in conflict
/// (409), stale (412) or refused by a rule (422), a role's 403, and the 400 with which some
/// vendors answer an unknown id.
fn may_depend_on_the_books(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 403 | 404 | 409 | 410 | 412 | 422)
}
