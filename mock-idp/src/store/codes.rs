//! Authorization codes (RFC 6749 §4.1.2, §10.5).

use std::{collections::HashMap, sync::Mutex};

use super::{Sweeper, lock};

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
/// `Fresh` at most once; every later call by that client returns `Replayed`. A call by another client
/// returns `WrongClient` and changes nothing. Spent codes are kept (at least until `retain_until`) so replays
/// are recognised after the code has expired.
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a fresh code. `retain_until` is when the record may be forgotten; `now` drives the sweep.
    fn insert(&self, code: &str, grant: AuthorizationCode, retain_until: u64, now: u64);
    /// Atomically checks the binding to `client_id` and spends the code.
    fn redeem(&self, code: &str, client_id: &str) -> Redemption;
}

struct Entry {
    grant: AuthorizationCode,
    spent: bool,
    retain_until: u64,
}

/// The default, in-memory [`CodeStore`].
#[derive(Default)]
pub struct MemoryCodeStore {
    /// Code → record, with the sweep bookkeeping; one lock makes "check and spend" atomic.
    inner: Mutex<(HashMap<String, Entry>, Option<Sweeper>)>,
}

impl std::fmt::Debug for MemoryCodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryCodeStore")
    }
}

impl CodeStore for MemoryCodeStore {
    fn insert(&self, code: &str, grant: AuthorizationCode, retain_until: u64, now: u64) {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        sweeper
            .get_or_insert_with(Sweeper::new)
            .maybe_sweep(map, |e| e.retain_until > now);
        map.insert(
            code.to_owned(),
            Entry {
                grant,
                spent: false,
                retain_until,
            },
        );
    }

    fn redeem(&self, code: &str, client_id: &str) -> Redemption {
        let mut guard = lock(&self.inner);
        let Some(entry) = guard.0.get_mut(code) else {
            return Redemption::Unknown;
        };
        if entry.grant.client_id != client_id {
            return Redemption::WrongClient;
        }
        if entry.spent {
            return Redemption::Replayed {
                grant_id: entry.grant.grant_id.clone(),
            };
        }
        entry.spent = true;
        Redemption::Fresh(entry.grant.clone())
    }
}
