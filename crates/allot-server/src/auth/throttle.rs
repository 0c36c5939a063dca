//! Failed-login throttling, per account and per client address.

use std::collections::HashMap;
use std::sync::Mutex;

use allot_core::Timestamp;

pub struct Throttle {
    window_ms: i64,
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

impl Throttle {
    pub fn new(window_secs: u64) -> Self {
        Self {
            window_ms: i64::try_from(window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when `key` has failed `limit` times within the window.
    pub fn admit(&self, key: &str, limit: u32, now: Timestamp) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(key) {
            Some((count, since)) if *count >= limit && now - since < self.window_ms => {
                let remaining_ms = self.window_ms - (now - since);
                Err(u64::try_from((remaining_ms + 999) / 1000).unwrap_or(1).max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > 100_000 {
            // Forget stale entries rather than grow without bound under a spray of names.
            let window = self.window_ms;
            failures.retain(|_, (_, since)| now - *since < window);
        }
        let entry = failures.entry(key.to_owned()).or_insert((0, now));
        if now - entry.1 >= self.window_ms {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn succeed(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_opens_after_the_window() {
        let throttle = Throttle::new(60);
        for _ in 0..3 {
            assert!(throttle.admit("k", 3, 0).is_ok());
            throttle.fail("k", 0);
        }
        assert_eq!(throttle.admit("k", 3, 1_000), Err(59));
        assert!(throttle.admit("k", 3, 60_000).is_ok());
        throttle.succeed("k");
        assert!(throttle.admit("k", 3, 1_000).is_ok());
    }
}
