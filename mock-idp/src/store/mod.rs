//! Storage, one narrow trait per artifact. Each trait states its invariant; the in-memory implementations
//! are the defaults, bundled in [`Stores`] and chosen when the state is built. All take `now` from the
//! caller's clock so tests can move time.
//!
//! Every store is bounded (the caps are [`Limits`](crate::config::Limits)) and swept: a record lives only as
//! long as it can still matter (its own expiry, or the expiry of the tokens it could revoke), and a full store
//! refuses new records with [`StoreFull`] rather than growing. The one store a visitor fills without
//! credentials, the login pages, instead evicts fairly between client addresses (`fair.rs`), and the
//! failed-authentication counters drop their weakest counters: neither can be filled to lock others out.
//!
//! The memory stores use `std::sync::Mutex` on purpose: no `.await` happens while a lock is held, and a
//! plain mutex is both cheaper and enough to make "check and mark" steps atomic.

mod codes;
mod consents;
mod fair;
mod pending;
mod refresh;
mod sessions;
mod throttle;
mod tokens;

pub use crate::error::StoreFull;
pub use codes::{AuthorizationCode, CodeStore, MemoryCodeStore, Redemption};
pub(crate) use consents::Consents;
pub(crate) use fair::{FairMap, Owner};
pub use pending::{MemoryPendingStore, PENDING_TTL, Pending, PendingStore};
pub use refresh::{MemoryRefreshStore, RefreshGrant, RefreshRedemption, RefreshStore};
pub use sessions::{MemorySessionStore, Session, SessionStore};
pub use throttle::AuthFailures;
pub use tokens::{AccessRecord, Holder, MemoryTokenStore, TokenStore};

use std::{collections::HashMap, hash::Hash, sync::MutexGuard};

use crate::config::Limits;

/// The stores a server runs with. [`Stores::in_memory`] is the default; another backend replaces any of
/// them without touching the handlers, which only see the traits.
pub struct Stores {
    /// Authorization codes.
    pub codes: Box<dyn CodeStore>,
    /// Issued access tokens and revocations.
    pub tokens: Box<dyn TokenStore>,
    /// Refresh tokens.
    pub refresh: Box<dyn RefreshStore>,
    /// Authorization requests waiting at the login page.
    pub pending: Box<dyn PendingStore>,
    /// Provider sessions of clients with a back-channel logout URI.
    pub sessions: Box<dyn SessionStore>,
}

impl Stores {
    /// The in-memory stores, each capped by `limits`.
    pub fn in_memory(limits: &Limits) -> Stores {
        Stores {
            codes: Box::new(MemoryCodeStore::new(limits.codes)),
            tokens: Box::new(MemoryTokenStore::new(limits.access_tokens)),
            refresh: Box::new(MemoryRefreshStore::new(limits.refresh_tokens)),
            pending: Box::new(MemoryPendingStore::new(
                limits.pending_logins,
                limits.pending_logins_per_address,
            )),
            sessions: Box::new(MemorySessionStore::new(limits.sessions)),
        }
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering from poisoning: every critical section here leaves the map consistent.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Drops dead entries from a map, on insert, without a background task: at most once per clock second
/// (once the map holds 1024 entries or is full), and at once if the map has doubled since the last sweep. So a
/// map holds its live entries plus at most about a second's worth of dead ones, and a full store stays cheap to
/// refuse from. After a sweep that leaves the table mostly empty, it is shrunk, so memory comes back when
/// the load falls.
#[derive(Debug)]
pub(crate) struct Sweeper {
    /// Map size after the last sweep (at least 1024).
    watermark: usize,
    /// Clock second of the last sweep.
    last_sweep: Option<u64>,
}

impl Default for Sweeper {
    fn default() -> Self {
        Sweeper {
            watermark: 1024,
            last_sweep: None,
        }
    }
}

impl Sweeper {
    /// Sweeps as needed; returns whether the map has room for one more entry under `cap`.
    pub(crate) fn make_room<K: Eq + Hash, V>(
        &mut self,
        map: &mut HashMap<K, V>,
        cap: usize,
        now: u64,
        alive: impl Fn(&V) -> bool,
    ) -> bool {
        let doubled = map.len() >= self.watermark.saturating_mul(2);
        let due = self.last_sweep.is_none_or(|last| now > last)
            && (map.len() >= 1024 || map.len() >= cap);
        if doubled || due {
            map.retain(|_, v| alive(v));
            self.watermark = map.len().max(1024);
            self.last_sweep = Some(now);
            if map.capacity() > 4 * self.watermark {
                map.shrink_to(2 * map.len());
            }
        }
        map.len() < cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_is_swept_before_it_refuses() {
        let mut sweeper = Sweeper::default();
        let mut map: HashMap<u32, u64> = (0..10).map(|i| (i, 100)).collect();
        assert!(
            !sweeper.make_room(&mut map, 10, 50, |&exp| exp > 50),
            "all alive"
        );
        assert!(
            sweeper.make_room(&mut map, 10, 101, |&exp| exp > 101),
            "all dead"
        );
        assert!(map.is_empty());
    }

    #[test]
    fn a_map_is_swept_once_a_second_and_shrinks_when_the_load_falls() {
        let mut sweeper = Sweeper::default();
        let mut map: HashMap<u32, u64> = HashMap::new();
        // 100,000 entries within one second, each alive for one second.
        for i in 0..100_000u32 {
            assert!(sweeper.make_room(&mut map, usize::MAX, 10, |&exp| exp > 10));
            map.insert(i, 11);
        }
        let big = map.capacity();
        // The next second: all are dead; one insert sweeps them and gives the table back.
        assert!(sweeper.make_room(&mut map, usize::MAX, 11, |&exp| exp > 11));
        assert!(map.is_empty());
        assert!(map.capacity() < big / 8, "{} -> {}", big, map.capacity());
    }

    #[test]
    fn a_growing_map_is_swept_when_it_doubles() {
        let mut sweeper = Sweeper::default();
        let mut map: HashMap<u32, u64> = HashMap::new();
        for i in 0..10_000u32 {
            // Each entry is dead one second after it is added.
            assert!(
                sweeper.make_room(&mut map, usize::MAX, u64::from(i), |&exp| exp
                    > u64::from(i))
            );
            map.insert(i, u64::from(i) + 1);
        }
        assert!(map.len() <= 2048, "{}", map.len());
    }
}
