//! Every error a client sees: RFC 9457 problem+json with a stable `code`.

use allot_core::{Plan, Violation, ViolationCode};
use allot_store::{Outage, Refusal, StoreError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use allot_api::{ErrorCode, PlanView, ViolationView};

pub use allot_api::Problem;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    /// A refused plan's violations and the plan; boxed, as errors travel by value.
    violations: Option<Box<(Vec<Violation>, Option<PlanView>)>>,
    retry_after: Option<u64>,
    bearer_challenge: bool,
    /// Made from [`StoreError::Raced`]: another writer committed first, so planning
    /// again may succeed. Retry loops steer on this, not on the code.
    raced: bool,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            violations: None,
            retry_after: None,
            bearer_challenge: false,
            raced: false,
        }
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail)
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self { bearer_challenge: true, ..Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, detail) }
    }

    pub fn too_many(detail: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyAttempts, detail)
        }
    }

    /// The client's rate limit (`rate_limits`) is used up for now.
    pub fn rate_limited(detail: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, detail)
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self { retry_after: Some(1), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, detail) }
    }

    /// An error the client cannot act on. It is logged here; its detail stays here.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "an internal error occurred; it has been logged",
        )
    }

    /// A plan refused for its violations. The status follows the first violation: a
    /// missing target is 404, bad values or unknown codes 422, else a conflict with the
    /// state (409).
    pub fn refused(plan: &Plan, view: Option<PlanView>) -> Self {
        let first = plan.violations.first().map(|v| v.code).unwrap_or(ViolationCode::Internal);
        let status = match first {
            code if code.is_unknown_target() => StatusCode::NOT_FOUND,
            ViolationCode::InvalidQuantity | ViolationCode::InvalidDates | ViolationCode::UnknownLicense => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ViolationCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::CONFLICT,
        };
        let detail = plan.violations.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; ");
        Self { violations: Some(Box::new((plan.violations.clone(), view))), ..Self::new(status, first.into(), detail) }
    }

    /// A plan refused for its violations, with the status a dialect gives it.
    pub fn refused_as(status: StatusCode, plan: &Plan) -> Self {
        Self { status, ..Self::refused(plan, None) }
    }

    /// Attaches a plan to the answer (for `plan_stale`, the fresh plan).
    pub fn with_plan(self, view: PlanView) -> Self {
        Self { violations: Some(Box::new((Vec::new(), Some(view)))), ..self }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The plan a refusal or a `plan_stale` carries, if any.
    pub fn plan(&self) -> Option<&PlanView> {
        self.violations.as_ref().and_then(|v| v.1.as_ref())
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The same problem, found in the query string.
    pub fn into_query(self) -> Self {
        Self::bad_request(ErrorCode::InvalidQuery, self.detail)
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether the request lost the race to another writer ([`StoreError::Raced`]).
    pub fn raced(&self) -> bool {
        self.raced
    }

    pub fn violations(&self) -> &[Violation] {
        self.violations.as_deref().map(|(v, _)| v.as_slice()).unwrap_or_default()
    }
}

/// What each kind of store error tells the client. A refusal names what exists or the
/// limit; an outage says to retry (and when the disk is full, says so); anything else is a
/// bug, logged here with its detail, which never reaches the client.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Raced(detail) => {
                tracing::warn!(%detail, "lost the race to another writer");
                let answer = ApiError::conflict(
                    ErrorCode::Conflict,
                    "the books changed while this request was applied; retry it",
                );
                ApiError { raced: true, ..answer }
            }
            StoreError::Refused(refusal @ Refusal::Exists { .. }) => {
                ApiError::conflict(ErrorCode::AlreadyExists, refusal.to_string())
            }
            StoreError::Refused(Refusal::PoolLimit { constraint }) => {
                let limit = match constraint {
                    Some("pool_quantity_not_negative") => "a pool's quantity may not go below 0",
                    Some("pool_allocated_not_negative") => "a pool's allocated count may not go below 0",
                    _ => "a pool may not allocate more than its quantity",
                };
                tracing::warn!(?constraint, "the schema refused a change the planner allowed");
                ApiError::conflict(
                    ErrorCode::LicenseLimitExceeded,
                    format!("the database refused the change: {limit}; retry it"),
                )
            }
            StoreError::Refused(refusal @ (Refusal::Trigger | Refusal::Other { .. })) => {
                ApiError::internal(format!("refused by the schema: {refusal}"))
            }
            StoreError::Unavailable { reason: Outage::DiskFull, detail } => {
                tracing::error!(%detail, "the database's disk is full");
                ApiError::unavailable(
                    "disk full: the database cannot write, so nothing was changed; retry once space is freed",
                )
            }
            StoreError::Unavailable { reason, detail } => {
                tracing::error!(%reason, %detail, "database unavailable");
                ApiError::unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Corrupt(detail) => ApiError::internal(format!("stored data is inconsistent: {detail}")),
            StoreError::Failed(detail) => ApiError::internal(format!("database error: {detail}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (violations, plan) = match self.violations.map(|boxed| *boxed) {
            Some((violations, plan)) => (Some(violations.iter().map(ViolationView::from).collect()), plan),
            None => (None, None),
        };
        let problem = Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            violations,
            plan: plan.map(Box::new),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.bearer_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"allot\""));
        }
        response
    }
}
