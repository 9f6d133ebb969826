//! Refresh tokens with rotation (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).

use std::{collections::HashMap, sync::Mutex};

use super::{Sweeper, lock};

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    /// The family: the grant of the original code. Replaying a rotated token revokes it whole.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub sub: String,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// When the user authenticated.
    pub auth_time: u64,
    /// Unix seconds after which it is dead.
    pub expires_at: u64,
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum RefreshRedemption {
    /// First use by its own client; the token is now rotated out.
    Fresh(RefreshGrant),
    /// Already rotated out or revoked: the caller revokes the family.
    Replayed {
        /// The family to revoke.
        grant_id: String,
    },
    /// Another client presented it; nothing changed.
    WrongClient,
    /// Unknown token.
    Unknown,
}

/// Stores refresh tokens.
///
/// Invariant: `redeem` returns `Fresh` at most once per token, whatever the concurrency; later calls by its
/// client return `Replayed`; calls by other clients change nothing.
pub trait RefreshStore: Send + Sync + 'static {
    /// Stores a new token.
    fn insert(&self, token: &str, grant: RefreshGrant, now: u64);
    /// Atomically checks the client binding and spends the token.
    fn redeem(&self, token: &str, client_id: &str) -> RefreshRedemption;
    /// Marks a token spent (revocation, RFC 7009); returns its grant if it belonged to `client_id`.
    fn revoke(&self, token: &str, client_id: &str) -> Option<RefreshGrant>;
    /// The grant of a token that is not yet spent (introspection).
    fn get_unspent(&self, token: &str) -> Option<RefreshGrant>;
}

struct Entry {
    grant: RefreshGrant,
    spent: bool,
}

/// The default, in-memory [`RefreshStore`].
#[derive(Default)]
pub struct MemoryRefreshStore {
    /// Token → record; one lock makes "check and spend" atomic.
    inner: Mutex<(HashMap<String, Entry>, Option<Sweeper>)>,
}

impl std::fmt::Debug for MemoryRefreshStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryRefreshStore")
    }
}

impl RefreshStore for MemoryRefreshStore {
    fn insert(&self, token: &str, grant: RefreshGrant, now: u64) {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        sweeper
            .get_or_insert_with(Sweeper::new)
            .maybe_sweep(map, |e| e.grant.expires_at > now);
        map.insert(
            token.to_owned(),
            Entry {
                grant,
                spent: false,
            },
        );
    }

    fn redeem(&self, token: &str, client_id: &str) -> RefreshRedemption {
        let mut guard = lock(&self.inner);
        let Some(entry) = guard.0.get_mut(token) else {
            return RefreshRedemption::Unknown;
        };
        if entry.grant.client_id != client_id {
            return RefreshRedemption::WrongClient;
        }
        if entry.spent {
            return RefreshRedemption::Replayed {
                grant_id: entry.grant.grant_id.clone(),
            };
        }
        entry.spent = true;
        RefreshRedemption::Fresh(entry.grant.clone())
    }

    fn revoke(&self, token: &str, client_id: &str) -> Option<RefreshGrant> {
        let mut guard = lock(&self.inner);
        let entry = guard.0.get_mut(token)?;
        if entry.grant.client_id != client_id {
            return None;
        }
        entry.spent = true;
        Some(entry.grant.clone())
    }

    fn get_unspent(&self, token: &str) -> Option<RefreshGrant> {
        let guard = lock(&self.inner);
        guard
            .0
            .get(token)
            .filter(|e| !e.spent)
            .map(|e| e.grant.clone())
    }
}
