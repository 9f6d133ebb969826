//! The clock every expiry decision reads (codes, access tokens, id_tokens, refresh tokens), so tests can
//! move or stop time instead of sleeping.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Wall-clock time plus an offset, optionally frozen. Cheap to clone; clones share the offset and the
/// frozen state. It never goes backwards (advancing adds, and unfreezing resumes from the frozen instant)
/// unless explicitly [`Clock::reset`].
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time.
    offset_ms: Arc<AtomicI64>,
    /// The time (ms since the epoch) the clock is frozen at; 0 while it runs.
    frozen_at_ms: Arc<AtomicU64>,
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn to_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Clock {
    /// A clock reading the system time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// Moves this clock (and every clone) forward, frozen or not.
    pub fn advance(&self, by: Duration) {
        let ms = to_ms(by);
        // While frozen, the frozen instant moves; the offset moves too so that unfreezing keeps the jump.
        let _ = self
            .frozen_at_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                (f != 0).then(|| f.saturating_add(ms))
            });
        self.offset_ms
            .fetch_add(i64::try_from(ms).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// Stops time at its current reading until [`Clock::unfreeze`]; expiry then moves only by
    /// [`Clock::advance`].
    pub fn freeze(&self) {
        let now = self.now_ms().max(1);
        let _ = self
            .frozen_at_ms
            .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Lets time run again from the instant it was frozen at (it does not jump over the frozen span).
    pub fn unfreeze(&self) {
        let frozen = self.frozen_at_ms.load(Ordering::SeqCst);
        if frozen == 0 {
            return;
        }
        let frozen_i = i64::try_from(frozen).unwrap_or(i64::MAX);
        self.offset_ms
            .store(frozen_i.saturating_sub(system_ms()), Ordering::SeqCst);
        self.frozen_at_ms.store(0, Ordering::SeqCst);
    }

    /// Back to the system time, running: undoes every advance and freeze. The one way the clock goes
    /// backwards, for a harness that shares one provider between tests and resets it between them (never
    /// while a flow is in flight).
    pub fn reset(&self) {
        self.frozen_at_ms.store(0, Ordering::SeqCst);
        self.offset_ms.store(0, Ordering::SeqCst);
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen_at_ms.load(Ordering::SeqCst) != 0
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        let frozen = self.frozen_at_ms.load(Ordering::SeqCst);
        if frozen != 0 {
            return frozen;
        }
        let ms = system_ms().saturating_add(self.offset_ms.load(Ordering::SeqCst));
        u64::try_from(ms).unwrap_or(0)
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

    #[test]
    fn a_frozen_clock_moves_only_when_advanced_and_resumes_without_a_jump() {
        let clock = Clock::new();
        clock.freeze();
        let frozen = clock.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.now_ms(), frozen);
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.now_ms(), frozen + 61_000);
        clock.unfreeze();
        let resumed = clock.now_ms();
        assert!(
            resumed >= frozen + 61_000 && resumed < frozen + 62_000,
            "{resumed} vs {frozen}"
        );
        assert!(!clock.is_frozen());
    }
}
