//! Housekeeping: purges what has expired and will never be accepted again (access and
//! refresh tokens, stored plans, idempotency keys past their replay window, failed-login
//! counters that hold nothing back any more) on a schedule,
//! at most a batch of each kind per tick, so a backlog is worked off without long
//! transactions. Every process runs it; on a shared PostgreSQL two may delete the same rows
//! at once, which is harmless: a row is deleted, and counted, by whoever gets it.

use std::time::Duration;

use allot_core::Timestamp;
use allot_store::{Store, StoreResult, TokenKind};

use crate::App;
use crate::auth::millis;

/// What housekeeping purges, as `/metrics` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    AccessToken,
    RefreshToken,
    Session,
    /// A long-lived SCIM token past its expiry.
    ScimToken,
    Plan,
    IdempotencyKey,
    /// A failed-login counter whose window ended and whose delay is over.
    LoginCounter,
}

impl Expired {
    pub const ALL: [Expired; 7] = [
        Expired::AccessToken,
        Expired::RefreshToken,
        Expired::Session,
        Expired::ScimToken,
        Expired::Plan,
        Expired::IdempotencyKey,
        Expired::LoginCounter,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Expired::AccessToken => "access_token",
            Expired::RefreshToken => "refresh_token",
            Expired::Session => "session",
            Expired::ScimToken => "scim_token",
            Expired::Plan => "plan",
            Expired::IdempotencyKey => "idempotency_key",
            Expired::LoginCounter => "login_counter",
        }
    }
}

/// Runs a tick every `interval` until the task is aborted (as `serve` does on shutdown).
/// Time comes from the app's clock; only the pace is the runtime's.
pub async fn run(app: &App, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        tick(app).await;
        write_checkpoints(app).await;
    }
}

/// Writes the checkpoints each organization lacks (`checkpoints.rs`): here, off the commit
/// path, so a commit never waits for one. An organization larger than
/// [`checkpoints::MAX_USERS`] gets none (see there). Answers how many it wrote.
pub async fn write_checkpoints(app: &App) -> u32 {
    let small = |o: &&allot_core::state::Org| o.users.len() <= crate::checkpoints::MAX_USERS;
    let orgs: Vec<_> = app.books.read().orgs().filter(small).map(|o| o.id.key()).collect();
    let mut written = 0;
    for org in orgs {
        match crate::checkpoints::write(&app.store, &org, crate::checkpoints::EVERY).await {
            Ok(count) => written += count,
            Err(error) => tracing::warn!(%error, %org, "cannot write checkpoints"),
        }
    }
    written
}

/// Purges at most `housekeeping_batch` rows of each kind expired by the clock's now, and
/// counts them in the metrics; answers what it purged, by kind. A kind that fails is
/// logged and tried again next tick; the others go on.
pub async fn tick(app: &App) -> Vec<(Expired, u64)> {
    let now = app.clock.now();
    let mut purged = Vec::with_capacity(Expired::ALL.len());
    for kind in Expired::ALL {
        match purge(app, kind, now).await {
            Ok(count) => {
                app.metrics.purged(kind, count);
                purged.push((kind, count));
            }
            Err(error) => tracing::warn!(%error, kind = kind.label(), "cannot purge expired rows"),
        }
    }
    purged
}

async fn purge(app: &App, kind: Expired, now: Timestamp) -> StoreResult<u64> {
    let batch = app.config.housekeeping_batch;
    match kind {
        Expired::AccessToken => app.store.purge_expired_tokens(TokenKind::Access, now, batch).await,
        Expired::RefreshToken => app.store.purge_expired_tokens(TokenKind::Refresh, now, batch).await,
        Expired::Session => app.store.purge_expired_tokens(TokenKind::Session, now, batch).await,
        Expired::ScimToken => app.store.purge_expired_tokens(TokenKind::Scim, now, batch).await,
        Expired::Plan => app.store.purge_expired_plans(now, batch).await,
        // A record is replayed while `created_at + ttl > now` (idempotency.rs).
        Expired::IdempotencyKey => {
            app.store.purge_idempotency(now.saturating_sub(millis(app.config.idempotency_ttl_secs)), batch).await
        }
        // A counter counts within `lockout_secs` of its window's start (auth/throttle.rs).
        Expired::LoginCounter => {
            let ended = now.saturating_sub(millis(app.config.auth.lockout_secs));
            app.store.purge_login_counters(ended, now, batch).await
        }
    }
}
