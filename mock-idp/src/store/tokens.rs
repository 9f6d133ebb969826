//! Issued access tokens and their revocation (RFC 7009, RFC 6749 §4.1.2).

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use super::{Sweeper, lock};

/// What the server remembers of an access token it issued.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// The grant (code or refresh family) it came from, if any; revoking the grant revokes the token.
    pub grant_id: Option<String>,
    /// The client it was issued to (RFC 7009 §2.1: only that client may revoke it).
    pub client_id: String,
    /// Unix seconds after which it is dead anyway.
    pub expires_at: u64,
}

/// Records access tokens by `jti` and answers whether one was revoked.
///
/// Invariant: once `revoke_jti(j)` or `revoke_grant(g)` has returned, `is_revoked` is true for `j` and for
/// every token recorded with grant `g`, before or after the call, until the token has expired.
pub trait TokenStore: Send + Sync + 'static {
    /// Remembers an issued token.
    fn record(&self, jti: &str, record: AccessRecord, now: u64);
    /// The record of a token this server issued, if still known.
    fn get(&self, jti: &str) -> Option<AccessRecord>;
    /// Revokes one token.
    fn revoke_jti(&self, jti: &str);
    /// Revokes every token of a grant, including ones recorded later.
    fn revoke_grant(&self, grant_id: &str);
    /// Whether a token, or its grant, was revoked.
    fn is_revoked(&self, jti: &str) -> bool;
    /// Whether a grant was revoked.
    fn is_grant_revoked(&self, grant_id: &str) -> bool;
}

#[derive(Default)]
struct Inner {
    issued: HashMap<String, AccessRecord>,
    revoked_jtis: HashSet<String>,
    revoked_grants: HashSet<String>,
    sweeper: Option<Sweeper>,
}

/// The default, in-memory [`TokenStore`].
#[derive(Default)]
pub struct MemoryTokenStore {
    /// All maps under one lock so revocation and lookup cannot interleave.
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

impl TokenStore for MemoryTokenStore {
    fn record(&self, jti: &str, record: AccessRecord, now: u64) {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        inner
            .sweeper
            .get_or_insert_with(Sweeper::new)
            .maybe_sweep(&mut inner.issued, |r| r.expires_at > now);
        inner.issued.insert(jti.to_owned(), record);
    }

    fn get(&self, jti: &str) -> Option<AccessRecord> {
        lock(&self.inner).issued.get(jti).cloned()
    }

    fn revoke_jti(&self, jti: &str) {
        lock(&self.inner).revoked_jtis.insert(jti.to_owned());
    }

    fn revoke_grant(&self, grant_id: &str) {
        lock(&self.inner).revoked_grants.insert(grant_id.to_owned());
    }

    fn is_revoked(&self, jti: &str) -> bool {
        let inner = lock(&self.inner);
        inner.revoked_jtis.contains(jti)
            || inner
                .issued
                .get(jti)
                .and_then(|r| r.grant_id.as_ref())
                .is_some_and(|g| inner.revoked_grants.contains(g))
    }

    fn is_grant_revoked(&self, grant_id: &str) -> bool {
        lock(&self.inner).revoked_grants.contains(grant_id)
    }
}
