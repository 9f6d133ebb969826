//! Refresh tokens with rotation (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).

use std::{collections::HashMap, sync::Mutex};

use super::{StoreFull, Sweeper, lock};

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
/// client return `Replayed` until the token would have expired; calls by other clients change nothing. A
/// token is forgotten once it has expired (a spent one is first reduced to its family and client).
pub trait RefreshStore: Send + Sync + 'static {
    /// Stores a new token, kept until `grant.expires_at`.
    fn insert(&self, token: &str, grant: RefreshGrant, now: u64) -> Result<(), StoreFull>;
    /// Atomically checks the client binding and spends the token.
    fn redeem(&self, token: &str, client_id: &str) -> RefreshRedemption;
    /// Spends a token for revocation (RFC 7009), with the same outcomes as `redeem`: `Fresh` or `Replayed`
    /// when it belonged to `client_id` (the caller revokes the family), `WrongClient` when it belongs to
    /// another client (nothing changes), `Unknown` otherwise.
    fn revoke(&self, token: &str, client_id: &str) -> RefreshRedemption;
    /// The grant of a token that is not yet spent (introspection, and checks made before spending).
    fn get_unspent(&self, token: &str) -> Option<RefreshGrant>;
}

enum Entry {
    /// Not yet used.
    Live(RefreshGrant),
    /// Rotated out or revoked: only what a replay needs.
    Spent {
        grant_id: String,
        client_id: String,
        expires_at: u64,
    },
}

impl Entry {
    fn expires_at(&self) -> u64 {
        match self {
            Entry::Live(g) => g.expires_at,
            Entry::Spent { expires_at, .. } => *expires_at,
        }
    }

    fn client_id(&self) -> &str {
        match self {
            Entry::Live(g) => &g.client_id,
            Entry::Spent { client_id, .. } => client_id,
        }
    }

    /// Marks the entry spent and says what it was.
    fn spend(&mut self) -> RefreshRedemption {
        match self {
            Entry::Spent { grant_id, .. } => RefreshRedemption::Replayed {
                grant_id: grant_id.clone(),
            },
            Entry::Live(g) => {
                let spent = Entry::Spent {
                    grant_id: g.grant_id.clone(),
                    client_id: g.client_id.clone(),
                    expires_at: g.expires_at,
                };
                match std::mem::replace(self, spent) {
                    Entry::Live(g) => RefreshRedemption::Fresh(g),
                    Entry::Spent { .. } => RefreshRedemption::Unknown,
                }
            }
        }
    }
}

/// The default, in-memory [`RefreshStore`], holding at most `cap` tokens (live and spent).
pub struct MemoryRefreshStore {
    /// Token → record; one lock makes "check and spend" atomic.
    inner: Mutex<(HashMap<String, Entry>, Sweeper)>,
    /// The most records held at once.
    cap: usize,
}

impl MemoryRefreshStore {
    /// An empty store holding at most `cap` records.
    pub fn new(cap: usize) -> Self {
        MemoryRefreshStore {
            inner: Mutex::new(Default::default()),
            cap,
        }
    }
}

impl std::fmt::Debug for MemoryRefreshStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryRefreshStore")
    }
}

impl RefreshStore for MemoryRefreshStore {
    fn insert(&self, token: &str, grant: RefreshGrant, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        if !sweeper.make_room(map, self.cap, now, |e| e.expires_at() > now) {
            return Err(StoreFull);
        }
        map.insert(token.to_owned(), Entry::Live(grant));
        Ok(())
    }

    fn redeem(&self, token: &str, client_id: &str) -> RefreshRedemption {
        let mut guard = lock(&self.inner);
        match guard.0.get_mut(token) {
            None => RefreshRedemption::Unknown,
            Some(entry) if entry.client_id() != client_id => RefreshRedemption::WrongClient,
            Some(entry) => entry.spend(),
        }
    }

    fn revoke(&self, token: &str, client_id: &str) -> RefreshRedemption {
        self.redeem(token, client_id)
    }

    fn get_unspent(&self, token: &str) -> Option<RefreshGrant> {
        match lock(&self.inner).0.get(token) {
            Some(Entry::Live(g)) => Some(g.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_at: u64) -> RefreshGrant {
        RefreshGrant {
            grant_id: "g".into(),
            client_id: "web".into(),
            sub: "s".into(),
            scope: vec![],
            auth_time: 0,
            expires_at,
        }
    }

    #[test]
    fn a_spent_token_is_replayed_until_it_expires_then_swept() {
        let store = MemoryRefreshStore::new(1);
        store.insert("r", grant(200), 100).expect("room");
        assert!(matches!(
            store.redeem("r", "web"),
            RefreshRedemption::Fresh(_)
        ));
        assert!(matches!(
            store.redeem("r", "web"),
            RefreshRedemption::Replayed { .. }
        ));
        assert_eq!(store.insert("s", grant(300), 199), Err(StoreFull));
        store.insert("s", grant(300), 200).expect("r swept");
        assert!(matches!(
            store.redeem("r", "web"),
            RefreshRedemption::Unknown
        ));
    }
}
