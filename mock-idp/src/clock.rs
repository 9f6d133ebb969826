//! The clock every expiry decision reads, so tests can move time instead of sleeping.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Wall-clock time plus an offset that only moves forward. Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time by [`Clock::advance`].
    offset_ms: Arc<AtomicU64>,
}

impl Clock {
    /// A clock reading the system time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        system.saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clone_moves_the_original() {
        let clock = Clock::new();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(120));
        assert!(clock.now() >= before + 120);
    }
}
