//! The one place the application reads the time.
//!
//! Everything that checks an expiry (login transactions, binding tickets, id_tokens, app JWTs, sessions) asks
//! the [`Clock`] held in the application state, so tests can move time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time plus an offset that tests can advance. Cloning shares the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time; only grows, except through a test build's reset hook.
    offset_secs: Arc<AtomicU64>,
}

impl Clock {
    /// A clock that follows the system time.
    pub fn system() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch, as JWT `iat`/`exp` count them.
    pub fn now_unix(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        system + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_secs.fetch_add(by.as_secs(), Ordering::Relaxed);
    }

    /// Puts this clock (and every clone of it) back on the system time: only the test hooks do this.
    pub fn reset(&self) {
        self.offset_secs.store(0, Ordering::Relaxed);
    }
}
