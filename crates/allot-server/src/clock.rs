//! Time as a parameter: the server asks its clock, tests set it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use allot_core::Timestamp;

#[derive(Clone)]
pub enum Clock {
    System,
    /// A clock the tests move by hand.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => {
                let since_epoch =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
            }
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }
}
