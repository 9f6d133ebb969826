//! Provider sessions: who logged in to which client, so that ending a session can tell each client's
//! back-channel endpoint (Back-Channel Logout 1.0 §2.7). A session is one login: this provider has no
//! single sign-on, so every authorization shows the login page (or is completed headlessly) and makes
//! a session of its own, whose `sid` is the login's grant id.

use std::{collections::HashMap, sync::Mutex};

use super::{StoreFull, Sweeper, lock};

/// One login at the provider, kept for clients that registered a `backchannel_logout_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's `sub`.
    pub sub: String,
    /// The user's username (for the request log and `Handle::logout`).
    pub username: String,
    /// The client the login was for.
    pub client_id: String,
    /// Unix seconds after which nothing issued in this session can still be alive.
    pub expires_at: u64,
}

/// Sessions by `sid`.
///
/// Invariant: `end` and `end_user` return a session at most once (ending is atomic: two concurrent
/// logouts never both notify a client), and never after its `expires_at`; an expired session is forgotten.
pub trait SessionStore: Send + Sync + 'static {
    /// Records a session; `now` drives the sweep.
    fn insert(&self, sid: &str, session: Session, now: u64) -> Result<(), StoreFull>;
    /// Ends one live session and returns it.
    fn end(&self, sid: &str, now: u64) -> Option<Session>;
    /// Ends every live session of `sub` and returns them as (sid, session).
    fn end_user(&self, sub: &str, now: u64) -> Vec<(String, Session)>;
}

/// The default, in-memory [`SessionStore`], holding at most `cap` sessions.
#[derive(Debug)]
pub struct MemorySessionStore {
    /// Sid → session; `std::sync::Mutex`, no `.await` under it.
    inner: Mutex<(HashMap<String, Session>, Sweeper)>,
    /// The most sessions held at once.
    cap: usize,
}

impl MemorySessionStore {
    /// An empty store holding at most `cap` sessions.
    pub fn new(cap: usize) -> Self {
        MemorySessionStore {
            inner: Mutex::new(Default::default()),
            cap,
        }
    }
}

impl SessionStore for MemorySessionStore {
    fn insert(&self, sid: &str, session: Session, now: u64) -> Result<(), StoreFull> {
        let mut guard = lock(&self.inner);
        let (map, sweeper) = &mut *guard;
        if !sweeper.make_room(map, self.cap, now, |s| s.expires_at > now) {
            return Err(StoreFull);
        }
        map.insert(sid.to_owned(), session);
        Ok(())
    }

    fn end(&self, sid: &str, now: u64) -> Option<Session> {
        lock(&self.inner)
            .0
            .remove(sid)
            .filter(|s| s.expires_at > now)
    }

    fn end_user(&self, sub: &str, now: u64) -> Vec<(String, Session)> {
        let mut guard = lock(&self.inner);
        let map = &mut guard.0;
        let sids: Vec<String> = map
            .iter()
            .filter(|(_, s)| s.sub == sub)
            .map(|(sid, _)| sid.clone())
            .collect();
        sids.into_iter()
            .filter_map(|sid| map.remove(&sid).map(|s| (sid, s)))
            .filter(|(_, s)| s.expires_at > now)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sub: &str, expires_at: u64) -> Session {
        Session {
            sub: sub.into(),
            username: "alice".into(),
            client_id: "web".into(),
            expires_at,
        }
    }

    #[test]
    fn a_session_ends_once_and_not_after_it_expired() {
        let store = MemorySessionStore::new(10);
        store.insert("s1", session("u1", 100), 0).expect("room");
        store.insert("s2", session("u1", 100), 0).expect("room");
        assert_eq!(store.end("s1", 10), Some(session("u1", 100)));
        assert_eq!(store.end("s1", 10), None);
        assert_eq!(store.end("s2", 100), None, "expired");
    }

    #[test]
    fn ending_a_user_ends_all_their_sessions_and_no_others() {
        let store = MemorySessionStore::new(10);
        store.insert("a", session("u1", 100), 0).expect("room");
        store.insert("b", session("u1", 100), 0).expect("room");
        store.insert("c", session("u2", 100), 0).expect("room");
        let mut ended: Vec<String> = store
            .end_user("u1", 1)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        ended.sort();
        assert_eq!(ended, ["a", "b"]);
        assert!(store.end_user("u1", 1).is_empty());
        assert!(store.end("c", 1).is_some());
    }

    #[test]
    fn a_full_store_refuses_until_its_sessions_expire() {
        let store = MemorySessionStore::new(1);
        store.insert("a", session("u1", 5), 0).expect("room");
        assert_eq!(store.insert("b", session("u1", 5), 1), Err(StoreFull));
        store.insert("b", session("u1", 9), 6).expect("swept");
    }
}
