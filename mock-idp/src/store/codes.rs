//! Authorization codes (RFC 6749 §4.1.2, §10.5).

use std::{collections::HashMap, sync::Mutex};

use super::{StoreFull, Sweeper, lock};

/// What an authorization code stands for: everything the token endpoint must check it against.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    /// Identifies every token issued from this code, so a replay can revoke them all (§4.1.2).
    pub grant_id: String,
    /// The client the code was issued to (§4.1.3: "ensure that the authorization code was issued to the
    /// authenticated confidential client").
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, if it carried one (§4.1.3).
    pub redirect_uri: Option<String>,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// The request's nonce, echoed in the id_token (Core §3.1.2.1).
    pub nonce: Option<String>,
    /// The authenticated user's `sub`.
    pub sub: String,
    /// When the user authenticated (Core §2 `auth_time`).
    pub auth_time: u64,
    /// The S256 PKCE challenge, if one was sent (RFC 7636 §4.4).
    pub code_challenge: Option<String>,
    /// Unix seconds after which the code is dead.
    pub expires_at: u64,
    /// What the request asked that only its persona reads (`None` for plain OpenID Connect).
    pub persona: Option<Box<crate::model::PersonaRequest>>,
}

/// The outcome of presenting a code at the token endpoint.
#[derive(Debug)]
pub enum Redemption {
    /// First use by its own client. The code is now spent; the caller still checks expiry, redirect URI and
    /// PKCE.
    Fresh(AuthorizationCode),
    /// Its own client presented an already spent code: the caller must revoke `grant_id`'s tokens.
    Replayed {
        /// The grant whose tokens to revoke.
        grant_id: String,
    },
    /// Another client presented it. Nothing changed: a foreign client can neither spend nor revoke it.
    WrongClient,
    /// No such code.
    Unknown,
}

/// Stores authorization codes.
///
/// Invariant: for any code, across any number of concurrent calls, `redeem` by its own client returns
/// `Fresh` at most once; every later call by that client returns `Replayed` for as long as the spent record is
/// kept (`spent_until`: when the tokens of that redemption expire, so a late replay can still revoke them). A
/// call by another client returns `WrongClient` and changes nothing. An unspent code is forgotten once it has
/// expired; a spent one is reduced to its grant id and client, then forgotten at `spent_until`.
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a fresh code, kept until `grant.expires_at` unless redeemed. `now` drives the sweep.
    fn insert(&self, code: &str, grant: AuthorizationCode, now: u64) -> Result<(), StoreFull>;
    /// Atomically checks the binding to `client_id` and spends the code; its spent record is kept until
    /// `spent_until`.
    fn redeem(&self, code: &str, client_id: &str, spent_until: u64) -> Redemption;
}

enum Entry {
    /// Not yet redeemed: everything the token request is checked against.
    Fresh(AuthorizationCode),
    /// Redeemed: only what a replay needs (about 100 bytes instead of the whole request).
    Spent {
        grant_id: String,
        client_id: String,
        until: u64,
    },
}

impl Entry {
    fn alive(&self, now: u64) -> bool {
        match self {
            Entry::Fresh(grant) => grant.expires_at > now,
            Entry::Spent { until, .. } => *until > now,
        }
    }

    fn client_id(&self) -> &str {
        match self {
            Entry::Fresh(grant) => &grant.client_id,
            Entry::Spent { client_id, .. } => client_id,
        }
    }
}

/// The default, in-memory [`CodeStore`], holding at most `cap` codes (fresh and spent).
pub struct MemoryCodeStore {
    /// Code → record, with the sweep bookkeeping; one lock makes "check and spend" atomic.
    inner: Mutex<(HashMap<String, Entry>, Sweeper)>,
    /// The most records held at once.
    cap: usize,
}

impl MemoryCodeStore {
    /// An empty store holding at most `cap` records.
    pub fn new(cap: usize) -> Self {
        MemoryCodeStore {
            inner: Mutex::new(Default::default()),
            cap,
        }
    }

    /// Records held now, live or not yet swept (tests, metrics).
    pub fn len(&self) -> usize {
        lock(&self.inner).0.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for MemoryCodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryCodeStore")
    }
}

impl CodeStore for MemoryCodeStore {
    fn insert(&self, code: &str, grant: AuthorizationCode, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        if !sweeper.make_room(map, self.cap, now, |e| e.alive(now)) {
            return Err(StoreFull);
        }
        map.insert(code.to_owned(), Entry::Fresh(grant));
        Ok(())
    }

    fn redeem(&self, code: &str, client_id: &str, spent_until: u64) -> Redemption {
        let mut guard = lock(&self.inner);
        let Some(entry) = guard.0.get_mut(code) else {
            return Redemption::Unknown;
        };
        if entry.client_id() != client_id {
            return Redemption::WrongClient;
        }
        match entry {
            Entry::Spent { grant_id, .. } => Redemption::Replayed {
                grant_id: grant_id.clone(),
            },
            Entry::Fresh(grant) => {
                let spent = Entry::Spent {
                    grant_id: grant.grant_id.clone(),
                    client_id: grant.client_id.clone(),
                    until: spent_until,
                };
                match std::mem::replace(entry, spent) {
                    Entry::Fresh(grant) => Redemption::Fresh(grant),
                    Entry::Spent { .. } => Redemption::Unknown,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(expires_at: u64) -> AuthorizationCode {
        AuthorizationCode {
            grant_id: "g".into(),
            client_id: "web".into(),
            redirect_uri: None,
            scope: vec!["openid".into()],
            nonce: None,
            sub: "s".into(),
            auth_time: 0,
            code_challenge: None,
            expires_at,
            persona: None,
        }
    }

    #[test]
    fn a_spent_code_is_remembered_until_its_tokens_expire_then_forgotten() {
        let store = MemoryCodeStore::new(1);
        store.insert("c", code(160), 100).expect("room");
        assert!(matches!(
            store.redeem("c", "web", 3700),
            Redemption::Fresh(_)
        ));
        // Past the code's own expiry, a replay is still recognised...
        assert!(
            store.insert("d", code(4000), 3000).is_err(),
            "full: c is still needed"
        );
        assert!(matches!(
            store.redeem("c", "web", 0),
            Redemption::Replayed { .. }
        ));
        // ...and once its tokens are dead the record goes, making room.
        store.insert("d", code(4000), 3700).expect("c swept");
        assert!(matches!(store.redeem("c", "web", 0), Redemption::Unknown));
    }

    #[test]
    fn an_unspent_code_goes_when_it_expires() {
        let store = MemoryCodeStore::new(1);
        store.insert("c", code(160), 100).expect("room");
        assert_eq!(store.insert("d", code(300), 159), Err(StoreFull));
        store.insert("d", code(300), 160).expect("c expired");
        assert_eq!(store.len(), 1);
    }
}
