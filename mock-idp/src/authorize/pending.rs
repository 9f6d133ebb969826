//! Authorization requests waiting at the login page.

use std::{collections::HashMap, sync::Mutex};

use super::AuthRequest;
use crate::store::{StoreFull, Sweeper, lock};

/// How long a login page stays usable, in seconds.
pub const PENDING_TTL: u64 = 600;

/// A request shown on the login page, bound to one browser and one CSRF token.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The checked request.
    pub request: AuthRequest,
    /// The browser cookie value the form must come back with.
    pub browser: String,
    /// The hidden form token the form must come back with.
    pub csrf: String,
    /// Unix seconds after which the page is dead.
    pub expires_at: u64,
}

/// Pending requests by id.
///
/// Invariant: `take` returns a request at most once, and never after its `expires_at`; a request is
/// forgotten once it has expired.
pub trait PendingStore: Send + Sync + 'static {
    /// Stores a pending request.
    fn insert(&self, id: String, pending: Pending, now: u64) -> Result<(), StoreFull>;
    /// A live pending request, left in place (a wrong password shows the page again).
    fn get(&self, id: &str, now: u64) -> Option<Pending>;
    /// Removes and returns a live pending request.
    fn take(&self, id: &str, now: u64) -> Option<Pending>;
}

/// The default, in-memory [`PendingStore`], holding at most `cap` requests.
#[derive(Debug)]
pub struct MemoryPendingStore {
    /// Id → pending request; `std::sync::Mutex`, no `.await` under it.
    inner: Mutex<(HashMap<String, Pending>, Sweeper)>,
    /// The most requests held at once.
    cap: usize,
}

impl MemoryPendingStore {
    /// An empty store holding at most `cap` requests.
    pub fn new(cap: usize) -> Self {
        MemoryPendingStore {
            inner: Mutex::new(Default::default()),
            cap,
        }
    }
}

impl PendingStore for MemoryPendingStore {
    fn insert(&self, id: String, pending: Pending, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        if !sweeper.make_room(map, self.cap, now, |p| p.expires_at > now) {
            return Err(StoreFull);
        }
        map.insert(id, pending);
        Ok(())
    }

    fn get(&self, id: &str, now: u64) -> Option<Pending> {
        lock(&self.inner)
            .0
            .get(id)
            .filter(|p| p.expires_at > now)
            .cloned()
    }

    fn take(&self, id: &str, now: u64) -> Option<Pending> {
        lock(&self.inner)
            .0
            .remove(id)
            .filter(|p| p.expires_at > now)
    }
}
