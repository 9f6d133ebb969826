//! Failed client authentications, counted per (client, remote address) in one-minute windows
//! (RFC 6819 §5.1.4.1.3 asks for throttling; counting per client alone would let anyone lock a client out).

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use super::{Sweeper, lock};

/// Length of a counting window, seconds.
const WINDOW: u64 = 60;

/// (client id, remote address) → (window start, failures in it).
type Counters = HashMap<(String, Option<IpAddr>), (u64, u32)>;

/// Failure counters keyed by (client id, remote address), at most `cap` of them.
///
/// Invariant: failures from one address never throttle the same client at another address. A counter goes
/// when its window ends. When `cap` counters are live, failures under a new key are not counted (throttling
/// fails open rather than refusing a client that never failed).
pub struct AuthFailures {
    /// The counters and their sweep bookkeeping.
    inner: Mutex<(Counters, Sweeper)>,
    /// The most counters held at once.
    cap: usize,
}

impl AuthFailures {
    /// No counters; at most `cap` at once.
    pub fn new(cap: usize) -> Self {
        AuthFailures {
            inner: Mutex::new(Default::default()),
            cap,
        }
    }

    /// Whether `client` at `addr` has had `max` failures in the current window.
    pub fn throttled(&self, client: &str, addr: Option<IpAddr>, max: u32, now: u64) -> bool {
        let guard = lock(&self.inner);
        guard
            .0
            .get(&(client.to_owned(), addr))
            .is_some_and(|&(start, n)| now < start + WINDOW && n >= max)
    }

    /// Counts one failure of `client` at `addr`.
    pub fn record(&self, client: &str, addr: Option<IpAddr>, now: u64) {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        let key = (client.to_owned(), addr);
        if !map.contains_key(&key)
            && !sweeper.make_room(map, self.cap, now, |&(start, _)| now < start + WINDOW)
        {
            return;
        }
        let entry = map.entry(key).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

impl std::fmt::Debug for AuthFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthFailures")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_at_one_address_do_not_throttle_another() {
        let f = AuthFailures::new(10);
        let (a, b) = (Some([127, 0, 0, 2].into()), Some([127, 0, 0, 1].into()));
        for _ in 0..3 {
            f.record("web", a, 100);
        }
        assert!(f.throttled("web", a, 3, 100));
        assert!(!f.throttled("web", b, 3, 100));
        assert!(!f.throttled("web", a, 3, 160), "the window ended");
    }

    #[test]
    fn a_full_table_fails_open_for_new_keys_and_frees_ended_windows() {
        let f = AuthFailures::new(1);
        f.record("web", None, 100);
        f.record("spa", None, 100);
        assert!(!f.throttled("spa", None, 1, 100), "not counted: table full");
        f.record("spa", None, 160);
        assert!(
            f.throttled("spa", None, 1, 160),
            "web's window ended, spa counted"
        );
    }
}
