//! Authorization requests waiting at the login page.

use std::{collections::HashMap, sync::Mutex};

use super::AuthRequest;

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

/// Pending requests by id. Invariant: `take` returns a request at most once.
#[derive(Debug, Default)]
pub struct PendingStore {
    /// Id → pending request; `std::sync::Mutex`, no `.await` under it.
    inner: Mutex<HashMap<String, Pending>>,
}

impl PendingStore {
    /// Stores a pending request, dropping expired ones.
    pub fn insert(&self, id: String, pending: Pending, now: u64) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 1024 {
            map.retain(|_, p| p.expires_at > now);
        }
        map.insert(id, pending);
    }

    /// A live pending request, left in place (a wrong password shows the page again).
    pub fn get(&self, id: &str, now: u64) -> Option<Pending> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).filter(|p| p.expires_at > now).cloned()
    }

    /// Removes and returns a live pending request.
    pub fn take(&self, id: &str, now: u64) -> Option<Pending> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id).filter(|p| p.expires_at > now)
    }
}
