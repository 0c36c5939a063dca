//! The application: its store, its books, its auth, and the helpers handlers share.

use std::ops::Deref;
use std::sync::Arc;

use allot_core::{Actor, Command};
use allot_store::{Backend, SideWrite, Store};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{Auth, Principal};
use crate::books::{Books, Outcome, Precondition};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::middleware::RequestId;
use crate::service::etag::{IfMatch, Resource};
use crate::start::StartError;
use allot_api::ErrorCode;
use allot_api::PlanView;

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub store: Backend,
    pub books: Books,
    pub auth: Auth,
    pub config: Config,
    pub clock: Clock,
    pub metrics: Metrics,
    pub rate_limiter: crate::rate_limit::Limiter,
    pub in_flight: crate::idempotency::InFlight,
}

impl Deref for App {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Loads the books from the store.
    pub async fn new(store: Backend, config: Config, clock: Clock) -> Result<Self, StartError> {
        let state = store.load().await.map_err(StartError::Load)?;
        let auth = Auth::new(&config.auth).map_err(StartError::Auth)?;
        let books = Books::new(state, store.clone()).map_err(StartError::Committer)?;
        Ok(Self(Arc::new(AppInner {
            books,
            store,
            auth,
            config,
            clock,
            metrics: Metrics::default(),
            rate_limiter: Default::default(),
            in_flight: Default::default(),
        })))
    }

    /// Applies `commands` all or nothing on behalf of `caller`; a plan with violations is
    /// refused whole with its violations and the refused plan.
    pub async fn change(&self, caller: &Caller, commands: &[Command]) -> ApiResult<Outcome> {
        let outcome = self.apply(caller, commands, Vec::new(), unconditional()).await?;
        if outcome.plan.is_possible() { Ok(outcome) } else { Err(refused(&outcome)) }
    }

    /// Like [`App::change`], only if `If-Match` still names `resource`'s current state.
    pub async fn change_if(
        &self,
        caller: &Caller,
        commands: &[Command],
        if_match: &IfMatch,
        resource: &Resource,
    ) -> ApiResult<Outcome> {
        let outcome = self.apply(caller, commands, Vec::new(), if_matches(if_match, resource)).await?;
        if outcome.plan.is_possible() { Ok(outcome) } else { Err(refused(&outcome)) }
    }

    /// Plans `commands` on behalf of `caller` and, if `precondition` holds and the plan has
    /// no violations, applies it all or nothing, writing `side` in the change's transaction
    /// (see [`SideWrite`]). A plan with violations is answered unapplied: the surface
    /// decides how to refuse it.
    pub async fn apply(
        &self,
        caller: &Caller,
        commands: &[Command],
        side: Vec<SideWrite>,
        precondition: Precondition,
    ) -> ApiResult<Outcome> {
        let key = caller.idempotency.as_ref();
        // The caller's role is judged again on the books the change is planned on: a person
        // demoted or deleted on another process a moment ago may no longer write.
        let principal = caller.principal.clone();
        let precondition: Precondition = Box::new(move |books, plan| {
            if !crate::service::access::may_write(&principal, books) {
                return Err(ApiError::forbidden("your role no longer allows changes in this organization"));
            }
            precondition(books, plan)
        });
        self.books.apply_with(commands, &caller.actor(), self.clock.now(), key, side, precondition).await
    }

    /// Refuses requests changing more items (users, pools, members, codes of a rule) than
    /// the configured limit.
    pub fn check_items(&self, count: usize) -> ApiResult<()> {
        let limit = self.config.limits.max_items;
        if count > limit {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooManyItems,
                format!("the request carries {count} items; at most {limit} are allowed"),
            ));
        }
        Ok(())
    }

    /// A page size: the default when absent, refused above the limit.
    pub fn page_limit(&self, limit: Option<u32>) -> ApiResult<u32> {
        let max = self.config.limits.max_page;
        match limit {
            None => Ok(100.min(max)),
            Some(0) => Err(ApiError::bad_request(ErrorCode::InvalidQuery, "limit must be at least 1")),
            Some(n) if n > max => {
                Err(ApiError::bad_request(ErrorCode::InvalidQuery, format!("limit must be at most {max}")))
            }
            Some(n) => Ok(n),
        }
    }
}

/// No precondition.
pub fn unconditional() -> Precondition {
    Box::new(|_, _| Ok(()))
}

/// The precondition of a conditional write: `If-Match` still names `resource`'s state.
pub fn if_matches(if_match: &IfMatch, resource: &Resource) -> Precondition {
    let (if_match, resource) = (if_match.clone(), resource.clone());
    Box::new(move |books, _| if_match.require(&resource, books))
}

/// The native API's refusal of a plan: the status of its first violation, its violations
/// and the refused plan.
pub fn refused(outcome: &Outcome) -> ApiError {
    ApiError::refused(&outcome.plan, Some(PlanView::new(&outcome.plan, false, outcome.revision)))
}

/// An authenticated request: who calls, and the request id the ledger records.
#[derive(Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    /// The request's idempotency key, written with its change (see idempotency.rs).
    pub idempotency: Option<allot_store::IdempotencyKey>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor { name: self.principal.actor_name(), request_id: self.request_id.clone() }
    }
}

impl Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, app).await?;
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let idempotency = parts.extensions.get::<allot_store::IdempotencyKey>().cloned();
        Ok(Self { principal, request_id, idempotency })
    }
}
