//! `Idempotency-Key` on native writes (the IETF httpapi draft's semantics). The first
//! answer for a key is kept and replayed to retries; the same key with another method,
//! path or body answers 422; a retry while the first is still running waits for it
//! briefly, then answers 409. Keys are scoped to the caller, and a request that failed
//! without changing anything keeps nothing, so a corrected retry may reuse its key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allot_store::{IdempotencyKey, IdempotencyRecord, Store, StoredAnswer};
use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex as AsyncMutex;

use crate::app::App;
use crate::auth::{Vouched, millis};
use crate::error::ApiError;
use allot_api::ErrorCode;

const HEADER: &str = "idempotency-key";
/// How long a retry waits for the first request with its key before answering 409.
const WAIT: Duration = Duration::from_secs(2);
/// A claimed key whose request never finished (its process stopped) may be claimed again
/// after this long: far beyond any request's run, which gives up within seconds.
const ABANDONED_AFTER_SECS: u64 = 60;

/// A caller's key: (scope, key).
type KeyId = (String, String);

/// Requests in flight by key, so retries in this process wait for the first.
#[derive(Default)]
pub struct InFlight(Mutex<HashMap<KeyId, Arc<AsyncMutex<()>>>>);

impl InFlight {
    fn lock_for(&self, id: &KeyId) -> Arc<AsyncMutex<()>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(id.clone()).or_default().clone()
    }

    fn release(&self, id: &KeyId) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // The map's reference and ours: nobody else waits.
        if map.get(id).is_some_and(|lock| Arc::strong_count(lock) <= 2) {
            map.remove(id);
        }
    }
}

fn is_native_write(request: &Request) -> bool {
    matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
        && request.uri().path().starts_with("/api/v1/")
}

/// Whether the request's route takes its method: the documented operations are the routes,
/// as both are made from the same list.
fn takes_method(request: &Request) -> bool {
    static WRITES: std::sync::LazyLock<HashMap<String, Vec<Method>>> = std::sync::LazyLock::new(|| {
        let mut writes = HashMap::<String, Vec<Method>>::new();
        for (path, item) in crate::openapi().paths.paths {
            let methods = [(Method::POST, item.post), (Method::PUT, item.put), (Method::PATCH, item.patch)];
            let methods = methods.into_iter().chain([(Method::DELETE, item.delete)]);
            writes.entry(path).or_default().extend(methods.filter(|(_, o)| o.is_some()).map(|(m, _)| m));
        }
        writes
    });
    let Some(route) = request.extensions().get::<MatchedPath>() else { return false };
    WRITES.get(route.as_str()).is_some_and(|methods| methods.contains(request.method()))
}

/// The key, quoted or bare.
fn key_of(request: &Request) -> Result<Option<String>, ApiError> {
    let Some(raw) = request.headers().get(HEADER) else { return Ok(None) };
    let key = raw.to_str().map(|v| v.trim().trim_matches('"').to_owned()).unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidHeader,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key))
}

fn in_progress() -> Response {
    let detail = "a request with this Idempotency-Key is still being processed; retry shortly";
    ApiError::conflict(ErrorCode::IdempotencyInProgress, detail).into_response()
}

fn replay(answer: StoredAnswer) -> Response {
    let mut response = (StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK), answer.body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&answer.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(etag) = answer.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Runs `request` through `next`, or replays or refuses it by its `Idempotency-Key`.
pub async fn idempotent(app: &App, request: Request, next: Next) -> Response {
    // A key is judged only on a request that reached a route that takes its method and an
    // authenticated caller: an unknown path answers 404, a method the path does not take 405,
    // and a missing token 401, whatever the key.
    let routed = request.extensions().get::<MatchedPath>().is_some();
    if !is_native_write(&request) || !routed || !request.headers().contains_key(HEADER) || !takes_method(&request) {
        return crate::stored::judged_on_stored(app, request, next).await;
    }
    // Keys belong to a caller; without a valid token the handler answers 401 anyway.
    let token = crate::auth::bearer(request.headers()).map(str::to_owned);
    let Some(principal) = (match token {
        Some(token) => app.auth.authenticate(&app.store, &token, app.clock.now(), Vouched::Recently).await.ok(),
        None => None,
    }) else {
        return crate::stored::judged_on_stored(app, request, next).await;
    };
    let key = match key_of(&request) {
        Ok(Some(key)) => key,
        Ok(None) => return crate::stored::judged_on_stored(app, request, next).await,
        Err(error) => return error.into_response(),
    };
    let scope = principal.actor_name();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, app.config.limits.max_body_bytes).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, "the body is larger than 1 MiB")
            .into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b"\n");
    hasher.update(parts.uri.to_string());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let fingerprint = crate::hex(&hasher.finalize());

    let id = (scope.clone(), key.clone());
    let lock = app.in_flight.lock_for(&id);
    let Ok(running) = tokio::time::timeout(WAIT, lock.lock_owned()).await else { return in_progress() };
    // Its own task: a client that hangs up after the commit must not stop the answer from
    // being kept, or its retry could never be replayed.
    let app = app.clone();
    let task = tokio::spawn(async move {
        let answer = first_answer(&app, &scope, &key, &fingerprint, parts, bytes, next).await;
        drop(running);
        app.in_flight.release(&id);
        answer
    });
    task.await.unwrap_or_else(|error| ApiError::internal(format!("idempotent request failed: {error}")).into_response())
}

/// Replays the stored answer for the key, or runs the request and keeps its answer.
async fn first_answer(
    app: &App,
    scope: &str,
    key: &str,
    fingerprint: &str,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    next: Next,
) -> Response {
    let now = app.clock.now();
    let fresh = |record: &IdempotencyRecord| record.created_at + millis(app.config.idempotency_ttl_secs) > now;
    match app.store.idempotency(scope, key).await {
        Err(error) => return ApiError::from(error).into_response(),
        Ok(Some(record)) if fresh(&record) => {
            if record.key.fingerprint != fingerprint {
                let detail = "this Idempotency-Key was used with another method, path or body";
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::IdempotencyKeyReused, detail)
                    .into_response();
            }
            return match record.answer {
                Some(answer) => replay(answer),
                // Claimed by a request still running, on another process.
                None if record.revision.is_none() => in_progress(),
                None => {
                    let revision = record.revision.map_or_else(String::new, |r| format!(" at revision {r}"));
                    let detail = format!(
                        "a change was applied{revision} under this Idempotency-Key, but its answer was not kept: read the resource"
                    );
                    ApiError::conflict(ErrorCode::IdempotencyInDoubt, detail).into_response()
                }
            };
        }
        Ok(_) => {}
    }
    let claim = IdempotencyKey { scope: scope.to_owned(), key: key.to_owned(), fingerprint: fingerprint.to_owned() };
    // Claimed in the database before it runs, so a retry on another process meanwhile does
    // not run it again.
    let ttl = millis(app.config.idempotency_ttl_secs);
    match app.store.claim_idempotency(&claim, now, now - ttl, now - millis(ABANDONED_AFTER_SECS)).await {
        Ok(true) => {}
        Ok(false) => return in_progress(),
        Err(error) => return ApiError::from(error).into_response(),
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(claim.clone());
    let response = crate::stored::judged_on_stored(app, request, next).await;

    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    // A change committed under this key left a pending record: its answer must be kept,
    // whatever it is. Without a change, only a success is kept.
    let pending = app
        .store
        .idempotency(scope, key)
        .await
        .ok()
        .flatten()
        .filter(|r| r.key.fingerprint == fingerprint && r.answer.is_none() && r.revision.is_some());
    if parts.status.is_success() || pending.is_some() {
        let header_text = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
        let answer = StoredAnswer {
            status: parts.status.as_u16(),
            content_type: header_text(header::CONTENT_TYPE).unwrap_or_else(|| "application/json".into()),
            etag: header_text(header::ETAG),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let record = IdempotencyRecord {
            key: claim,
            revision: pending.and_then(|p| p.revision),
            answer: Some(answer),
            created_at: now,
        };
        if let Err(error) = app.store.save_idempotency(record).await {
            tracing::warn!(%error, "cannot keep the answer of an idempotent request");
        }
    } else if let Err(error) = app.store.release_idempotency(&claim).await {
        // Held until it counts as abandoned; retries meanwhile hear it is in progress.
        tracing::warn!(%error, "cannot release the key of a refused idempotent request");
    }
    Response::from_parts(parts, Body::from(body))
}
