//! Storage, one narrow trait per artifact. Each trait states its invariant; the in-memory implementations
//! are the defaults. All take `now` from the caller's clock so tests can move time.
//!
//! The memory stores use `std::sync::Mutex` on purpose: no `.await` happens while a lock is held, and a
//! plain mutex is both cheaper and enough to make "check and mark" steps atomic.

mod codes;
mod refresh;
mod tokens;

pub use codes::{AuthorizationCode, CodeStore, MemoryCodeStore, Redemption};
pub use refresh::{MemoryRefreshStore, RefreshGrant, RefreshRedemption, RefreshStore};
pub use tokens::{AccessRecord, MemoryTokenStore, TokenStore};

use std::{collections::HashMap, sync::MutexGuard};

/// Locks a mutex, recovering from poisoning: every critical section here leaves the map consistent.
fn lock<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Drops expired entries once the map has doubled since the last sweep, so memory stays bounded by the
/// live set under steady load without a background task.
struct Sweeper {
    /// Map size after the last sweep.
    watermark: usize,
}

impl Sweeper {
    fn new() -> Self {
        Sweeper { watermark: 1024 }
    }

    fn maybe_sweep<V>(&mut self, map: &mut HashMap<String, V>, alive: impl Fn(&V) -> bool) {
        if map.len() >= self.watermark * 2 {
            map.retain(|_, v| alive(v));
            self.watermark = map.len().max(1024);
        }
    }
}
