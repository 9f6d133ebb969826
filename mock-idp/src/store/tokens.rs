//! Issued access tokens and their revocation (RFC 7009, RFC 6749 §4.1.2).

use std::{collections::HashMap, sync::Mutex};

use super::{StoreFull, Sweeper, lock};

/// What the server remembers of an access token it issued.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// The grant (code or refresh family) it came from, if any; revoking the grant revokes the token.
    pub grant_id: Option<String>,
    /// The client it was issued to (RFC 7009 §2.1: only that client may revoke it).
    pub client_id: String,
    /// Unix seconds after which it is dead anyway.
    pub expires_at: u64,
    /// For an opaque token (GitHub's `gho_…`), whom it stands for: the token itself carries nothing.
    pub holder: Option<Box<Holder>>,
}

/// The user and scopes an opaque access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The user's `sub`.
    pub sub: String,
    /// The granted scopes.
    pub scope: Vec<String>,
}

/// Records access tokens by `jti` and answers whether one was revoked.
///
/// Invariant: once `revoke_jti(j, ..)` or `revoke_grant(g, until, ..)` has returned `Ok`, `is_revoked` is true
/// for `j` and for every token recorded with grant `g`, before or after the call, until the token has expired
/// (for a grant: until `until`, by when every token of the grant is dead). Records are forgotten when the
/// token they describe would have expired.
pub trait TokenStore: Send + Sync + 'static {
    /// Remembers an issued token until `record.expires_at`.
    fn record(&self, jti: &str, record: AccessRecord, now: u64) -> Result<(), StoreFull>;
    /// The record of a token this server issued, if still known.
    fn get(&self, jti: &str) -> Option<AccessRecord>;
    /// Revokes one token that expires at `expires_at`.
    fn revoke_jti(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreFull>;
    /// Revokes every token of a grant, including ones recorded later, until `until`.
    fn revoke_grant(&self, grant_id: &str, until: u64, now: u64) -> Result<(), StoreFull>;
    /// Whether a token, or its grant, was revoked.
    fn is_revoked(&self, jti: &str) -> bool;
    /// Whether a grant was revoked.
    fn is_grant_revoked(&self, grant_id: &str) -> bool;
}

struct Issued {
    record: AccessRecord,
    revoked: bool,
}

#[derive(Default)]
struct Inner {
    /// jti → record, until the token expires.
    issued: HashMap<String, Issued>,
    issued_sweep: Sweeper,
    /// Revoked tokens this store has no record of (e.g. minted by another process with the same key), until
    /// they expire.
    revoked_jtis: HashMap<String, u64>,
    revoked_jtis_sweep: Sweeper,
    /// Revoked grants, until every token of the grant is dead.
    revoked_grants: HashMap<String, u64>,
    revoked_grants_sweep: Sweeper,
}

/// The default, in-memory [`TokenStore`]: at most `cap` issued-token records, `cap` revoked-token records and
/// `cap` revoked-grant records.
pub struct MemoryTokenStore {
    /// All maps under one lock so revocation and lookup cannot interleave.
    inner: Mutex<Inner>,
    /// The most records of each kind held at once.
    cap: usize,
}

impl MemoryTokenStore {
    /// An empty store holding at most `cap` records of each kind.
    pub fn new(cap: usize) -> Self {
        MemoryTokenStore {
            inner: Mutex::new(Inner::default()),
            cap,
        }
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

impl TokenStore for MemoryTokenStore {
    fn record(&self, jti: &str, record: AccessRecord, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        if !inner
            .issued_sweep
            .make_room(&mut inner.issued, self.cap, now, |r| {
                r.record.expires_at > now
            })
        {
            return Err(StoreFull);
        }
        inner.issued.insert(
            jti.to_owned(),
            Issued {
                record,
                revoked: false,
            },
        );
        Ok(())
    }

    fn get(&self, jti: &str) -> Option<AccessRecord> {
        lock(&self.inner).issued.get(jti).map(|i| i.record.clone())
    }

    fn revoke_jti(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        if let Some(issued) = inner.issued.get_mut(jti) {
            issued.revoked = true;
            return Ok(());
        }
        if expires_at <= now || inner.revoked_jtis.contains_key(jti) {
            return Ok(());
        }
        if !inner
            .revoked_jtis_sweep
            .make_room(&mut inner.revoked_jtis, self.cap, now, |&exp| exp > now)
        {
            return Err(StoreFull);
        }
        inner.revoked_jtis.insert(jti.to_owned(), expires_at);
        Ok(())
    }

    fn revoke_grant(&self, grant_id: &str, until: u64, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        if let Some(existing) = inner.revoked_grants.get_mut(grant_id) {
            *existing = (*existing).max(until);
            return Ok(());
        }
        if !inner
            .revoked_grants_sweep
            .make_room(&mut inner.revoked_grants, self.cap, now, |&u| u > now)
        {
            return Err(StoreFull);
        }
        inner.revoked_grants.insert(grant_id.to_owned(), until);
        Ok(())
    }

    fn is_revoked(&self, jti: &str) -> bool {
        let inner = lock(&self.inner);
        match inner.issued.get(jti) {
            Some(issued) => {
                issued.revoked
                    || issued
                        .record
                        .grant_id
                        .as_ref()
                        .is_some_and(|g| inner.revoked_grants.contains_key(g))
            }
            None => inner.revoked_jtis.contains_key(jti),
        }
    }

    fn is_grant_revoked(&self, grant_id: &str) -> bool {
        lock(&self.inner).revoked_grants.contains_key(grant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(grant: &str, expires_at: u64) -> AccessRecord {
        AccessRecord {
            holder: None,
            grant_id: Some(grant.into()),
            client_id: "web".into(),
            expires_at,
        }
    }

    #[test]
    fn revocation_records_go_when_the_tokens_they_refer_to_expire() {
        let store = MemoryTokenStore::new(1);
        store.record("a", record("g", 200), 100).expect("room");
        store.revoke_grant("g", 300, 100).expect("room");
        assert!(store.is_revoked("a"));
        store.revoke_jti("x", 250, 100).expect("room");
        assert!(store.is_revoked("x"));
        // Full until the records are dead, then swept to make room.
        assert_eq!(store.record("b", record("h", 400), 199), Err(StoreFull));
        store.record("b", record("h", 400), 200).expect("a swept");
        assert_eq!(store.revoke_jti("y", 400, 249), Err(StoreFull));
        store.revoke_jti("y", 400, 250).expect("x swept");
        assert!(!store.is_revoked("x"));
        assert_eq!(store.revoke_grant("h", 500, 299), Err(StoreFull));
        store.revoke_grant("h", 500, 300).expect("g swept");
        assert!(!store.is_grant_revoked("g") && store.is_grant_revoked("h"));
    }
}
