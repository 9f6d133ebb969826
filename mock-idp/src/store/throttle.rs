//! Failed client authentications, counted per (client, remote address) in one-minute windows
//! (RFC 6819 §5.1.4.1.3 asks for throttling; counting per client alone would let anyone lock a client out).

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use super::{Sweeper, fair::Owner, lock};

/// Length of a counting window, seconds.
const WINDOW: u64 = 60;

/// (client id, remote address) → (window start, failures in it).
type Counters = HashMap<(String, Owner), (u64, u32)>;

/// Failure counters keyed by (client id, remote address; IPv6 by /64), at most `cap` of them.
///
/// Invariant: failures from one address never throttle the same client at another address, and every
/// failure is counted. A counter goes when its window ends. When `cap` counters are live, the weakest
/// eighth (fewest failures, then oldest window) is dropped to make room: a stranger filling the table from
/// many addresses only pushes out counters like its own, while a counter near the limit (a brute-forcer
/// being throttled) outlives any number of single failures.
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
            .get(&(client.to_owned(), Owner::of(addr)))
            .is_some_and(|&(start, n)| now < start + WINDOW && n >= max)
    }

    /// Counts one failure of `client` at `addr`.
    pub fn record(&self, client: &str, addr: Option<IpAddr>, now: u64) {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        let key = (client.to_owned(), Owner::of(addr));
        if !map.contains_key(&key)
            && !sweeper.make_room(map, self.cap, now, |&(start, _)| now < start + WINDOW)
        {
            drop_weakest(map, self.cap / 8 + 1);
        }
        let entry = map.entry(key).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// Drops the `n` counters with the fewest failures (the oldest window first among equals). One O(len)
/// selection per `n` insertions keeps a full table cheap to insert into.
fn drop_weakest(map: &mut Counters, n: usize) {
    let mut ranked: Vec<((u32, u64), (String, Owner))> = map
        .iter()
        .map(|(k, &(start, count))| ((count, start), k.clone()))
        .collect();
    let n = n.min(ranked.len());
    if n == 0 {
        return;
    }
    if n < ranked.len() {
        ranked.select_nth_unstable_by_key(n - 1, |(rank, _)| *rank);
    }
    for (_, key) in ranked.into_iter().take(n) {
        map.remove(&key);
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
    fn a_table_filled_from_many_addresses_still_counts_a_brute_forcer() {
        let f = AuthFailures::new(100);
        let stranger = |j: u32| {
            let [_, _, a, b] = j.to_be_bytes();
            Some([10, 0, a, b].into())
        };
        for j in 0..1_000 {
            f.record("", stranger(j), 100);
        }
        let brute = Some([127, 0, 0, 2].into());
        for i in 0..10u32 {
            f.record("web", brute, 101);
            // Strangers keep failing between its attempts.
            for j in 0..20 {
                f.record("", stranger(1_000 + i * 20 + j), 100);
            }
        }
        assert!(f.throttled("web", brute, 10, 101));
        assert!(!f.throttled("web", Some([127, 0, 0, 3].into()), 1, 101));
        assert!(lock(&f.inner).0.len() <= 100);
    }
}
