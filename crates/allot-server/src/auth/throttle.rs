//! Failed-login throttling, in the database so that every process counts the same
//! attempts. Following OWASP's advice, no one address can deny an account to others:
//!
//! - an account at one address is locked after `max_failed_logins` in the window;
//! - an account from everywhere is never locked, only slowed: past `max_failed_logins`
//!   failures, each attempt waits a second more than the last (at most [`DELAY_CAP_MS`]);
//!   one address, locked at the limit, never reaches the delay;
//! - an address is locked after `max_failed_logins_per_address`, whatever the accounts
//!   (spraying one password over many names).
//!
//! An attempt is reserved on every counter before the secret is checked, so parallel
//! guesses get no more evaluations than the limits allow.

use std::net::IpAddr;

use allot_core::Timestamp;
use allot_store::{CounterScope, LoginCounter, Store};

use super::LoginFailure;
use crate::config::AuthConfig;

/// Each slowed attempt waits this much longer than the one before.
const DELAY_STEP_MS: i64 = 1000;
/// The longest wait an account's delay imposes.
pub const DELAY_CAP_MS: i64 = 30_000;

pub struct Throttle {
    window_ms: i64,
    per_account: u64,
    per_address: u64,
}

impl Throttle {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            window_ms: super::millis(config.lockout_secs),
            per_account: u64::from(config.max_failed_logins),
            per_address: u64::from(config.max_failed_logins_per_address),
        }
    }

    fn counters(&self, realm: &str, username: &str, addr: &str) -> Vec<LoginCounter> {
        let counter = |scope, username: &str, addr: &str, max, delay_after| LoginCounter {
            scope,
            realm: if scope == CounterScope::Address { String::new() } else { realm.to_owned() },
            username: username.to_owned(),
            addr: addr.to_owned(),
            max,
            delay_after,
            delay_step_ms: DELAY_STEP_MS,
            delay_cap_ms: DELAY_CAP_MS,
        };
        let mut counters = vec![
            counter(CounterScope::Pair, username, addr, self.per_account, u64::MAX),
            counter(CounterScope::Account, username, "", u64::MAX, self.per_account),
        ];
        if !addr.is_empty() {
            counters.push(counter(CounterScope::Address, "", addr, self.per_address, u64::MAX));
        }
        counters
    }

    /// Reserves an attempt for `realm`/`username` from `addr`, or answers how long to wait.
    pub async fn reserve(
        &self,
        store: &impl Store,
        realm: &str,
        username: &str,
        addr: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), LoginFailure> {
        let counters = self.counters(realm, username, &address(addr));
        match store.reserve_login(&counters, now, self.window_ms).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(wait_ms)) => Err(LoginFailure::Throttled(seconds(wait_ms))),
            Err(error) => Err(LoginFailure::Error(error.into())),
        }
    }

    /// The attempt succeeded: it was no failure.
    pub async fn succeeded(
        &self,
        store: &impl Store,
        realm: &str,
        username: &str,
        addr: Option<IpAddr>,
    ) -> Result<(), LoginFailure> {
        store.login_succeeded(realm, username, &address(addr)).await.map_err(|e| LoginFailure::Error(e.into()))
    }
}

fn address(addr: Option<IpAddr>) -> String {
    addr.map(|a| a.to_string()).unwrap_or_default()
}

/// Whole seconds to wait, rounded up, at least one.
fn seconds(wait_ms: i64) -> u64 {
    u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!((seconds(0), seconds(1), seconds(1000), seconds(1001)), (1, 1, 1, 2));
    }
}
