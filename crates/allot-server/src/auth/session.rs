//! Console sessions: a random token in an HttpOnly cookie, stored server-side like every
//! token (as its SHA-256), signed in with the same accounts as the API. A session ends on
//! sign-out, on a password change (every token of the person is revoked), after
//! `session_idle_secs` without a request, and `session_max_secs` after sign-in.
//!
//! The sign-in time is part of the token (`allot_se_<millis>_<random>`): the stored hash
//! covers it, so it cannot be moved, and the absolute expiry needs no column of its own.

use allot_core::Timestamp;
use allot_store::{Store, Subject, TokenKind, TokenRecord};
use sha2::{Digest, Sha256};

use super::{Auth, Principal, millis, new_token, token_hash};
use crate::error::{ApiError, ApiResult};

/// The session cookie's name.
pub const COOKIE: &str = "allot_session";

const PREFIX: &str = "allot_se_";

/// A signed-in console user.
#[derive(Clone)]
pub struct Session {
    pub principal: Principal,
    /// The cookie's value.
    token: String,
}

impl Session {
    /// The CSRF token every state-changing form of this session carries: derived from the
    /// session's secret, so a page of another site can neither read nor guess it.
    pub fn csrf(&self) -> String {
        crate::hex(&Sha256::digest(format!("csrf\0{}", self.token).as_bytes()))
    }

    /// Whether a form's CSRF token is this session's (compared in constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let expected = self.csrf();
        expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

/// When the session `token` was signed in to, from its spelling.
fn signed_in_at(token: &str) -> Option<Timestamp> {
    let (millis, _) = token.strip_prefix(PREFIX)?.split_once('_')?;
    millis.parse().ok()
}

impl Auth {
    /// Signs `subject` in to the console: answers the session's cookie value.
    pub async fn open_session(
        &self,
        store: &impl Store,
        subject: Subject,
        scopes: Vec<String>,
        now: Timestamp,
    ) -> ApiResult<String> {
        let token = new_token(&format!("{PREFIX}{now}_"));
        let expires_at = self.session_expiry(now, now);
        store
            .insert_token(TokenRecord {
                hash: token_hash(&token),
                kind: TokenKind::Session,
                subject,
                scopes,
                expires_at,
            })
            .await?;
        Ok(token)
    }

    /// The session of cookie value `token`, if it is open: sliding its idle expiry forward
    /// (stored at most once a minute, so a busy session does not write on every page).
    pub async fn session(&self, store: &impl Store, token: &str, now: Timestamp) -> ApiResult<Session> {
        let ended = || ApiError::unauthorized("the session has ended; sign in again");
        let started = signed_in_at(token).ok_or_else(ended)?;
        let hash = token_hash(token);
        let record = store.token(&hash).await?.filter(|r| r.kind == TokenKind::Session).ok_or_else(ended)?;
        if record.expires_at <= now || started.saturating_add(millis(self.config.session_max_secs)) <= now {
            store.end_session(&hash).await?;
            return Err(ended());
        }
        let slid = self.session_expiry(started, now);
        if slid - record.expires_at >= 60_000 {
            store.touch_session(&hash, slid).await?;
        }
        Ok(Session { principal: Principal::new(record.subject, record.scopes), token: token.to_owned() })
    }

    /// Ends the session of cookie value `token`.
    pub async fn end_session(&self, store: &impl Store, token: &str) -> ApiResult<()> {
        Ok(store.end_session(&token_hash(token)).await?)
    }

    /// When a session signed in at `started` and last used at `now` ends.
    fn session_expiry(&self, started: Timestamp, now: Timestamp) -> Timestamp {
        let idle = now.saturating_add(millis(self.config.session_idle_secs));
        idle.min(started.saturating_add(millis(self.config.session_max_secs)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sign_in_time_is_read_from_the_token_and_nothing_else() {
        assert_eq!(super::signed_in_at("allot_se_1700000000000_abc_def"), Some(1_700_000_000_000));
        assert_eq!(super::signed_in_at("allot_at_1700000000000_abc"), None);
        assert_eq!(super::signed_in_at("allot_se_soon_abc"), None);
        assert_eq!(super::signed_in_at("allot_se_"), None);
    }
}
