//! Authorization requests waiting at the login page.
//!
//! Anyone can create one with a plain `GET /authorize`, so the store is fair between client addresses
//! ([`FairMap`]): an address holds at most `[limits] pending_logins_per_address`, and a full store evicts the
//! oldest page of the address holding the most. A flood from one address costs only that address its own
//! unfinished logins; a user elsewhere is never turned away. An evicted page answers like an expired one
//! (start again from the application). Codes and tokens are never in here.

use std::{net::IpAddr, sync::Mutex};

use super::{FairMap, Owner, StoreFull, lock};
use crate::authorize::request::AuthRequest;

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
/// forgotten once it has expired. A store may evict an unfinished request early (the visitor starts again),
/// but must not let requests from one address push out those of another that holds fewer.
pub trait PendingStore: Send + Sync + 'static {
    /// Stores a pending request created by a visitor at `from`.
    fn insert(
        &self,
        id: String,
        pending: Pending,
        from: Option<IpAddr>,
        now: u64,
    ) -> Result<(), StoreFull>;
    /// A live pending request, left in place (a wrong password shows the page again).
    fn get(&self, id: &str, now: u64) -> Option<Pending>;
    /// Removes and returns a live pending request.
    fn take(&self, id: &str, now: u64) -> Option<Pending>;
}

/// The default, in-memory [`PendingStore`]: at most `cap` requests, at most `per_address` from one address,
/// fair as the module docs say. It never answers [`StoreFull`].
#[derive(Debug)]
pub struct MemoryPendingStore {
    /// Id → pending request; `std::sync::Mutex`, no `.await` under it.
    inner: Mutex<FairMap<String, Pending>>,
}

impl MemoryPendingStore {
    /// An empty store holding at most `cap` requests, `per_address` of them from one address.
    pub fn new(cap: usize, per_address: usize) -> Self {
        MemoryPendingStore {
            inner: Mutex::new(FairMap::new(cap, per_address)),
        }
    }
}

impl PendingStore for MemoryPendingStore {
    fn insert(
        &self,
        id: String,
        pending: Pending,
        from: Option<IpAddr>,
        now: u64,
    ) -> Result<(), StoreFull> {
        lock(&self.inner).insert(id, pending, Owner::of(from), now, |p| p.expires_at > now);
        Ok(())
    }

    fn get(&self, id: &str, now: u64) -> Option<Pending> {
        lock(&self.inner)
            .get(id)
            .filter(|p| p.expires_at > now)
            .cloned()
    }

    fn take(&self, id: &str, now: u64) -> Option<Pending> {
        lock(&self.inner).remove(id).filter(|p| p.expires_at > now)
    }
}
