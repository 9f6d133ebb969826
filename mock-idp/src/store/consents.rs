//! Consents: which users have authorized which clients before. Sign in with Apple sends the `user` form
//! field only on a user's first authorization of a client; Google sends a refresh token only on the first
//! consent (or again after `prompt=consent`). An entry is made only by a user who signed in at a
//! registered client, so there are at most (users × clients) of them; [`MAX_CONSENTS`] bounds it anyway.

use std::{collections::HashSet, sync::Mutex};

use super::lock;

/// The most (client, subject) pairs remembered. Past it nothing more is recorded, so every further
/// authorization counts as a first one (as after the user revoked the app): the `user` field comes again.
pub const MAX_CONSENTS: usize = 100_000;

/// (client id, subject) pairs that have authorized before.
#[derive(Debug, Default)]
pub struct Consents {
    inner: Mutex<HashSet<(String, String)>>,
}

impl Consents {
    /// Records an authorization of `client_id` by `sub`; true when it is the first (or nothing more can be
    /// remembered).
    pub fn first(&self, client_id: &str, sub: &str) -> bool {
        let mut set = lock(&self.inner);
        let key = (client_id.to_owned(), sub.to_owned());
        if set.contains(&key) {
            return false;
        }
        if set.len() < MAX_CONSENTS {
            set.insert(key);
        }
        true
    }

    /// Forgets `sub`'s authorization of `client_id` (the user revoked the app); true if there was one.
    pub fn forget(&self, client_id: &str, sub: &str) -> bool {
        lock(&self.inner).remove(&(client_id.to_owned(), sub.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_authorization_per_client_and_user_is_first_until_forgotten() {
        let c = Consents::default();
        assert!(c.first("app", "alice"));
        assert!(!c.first("app", "alice"));
        assert!(c.first("other", "alice"));
        assert!(c.first("app", "bob"));
        assert!(c.forget("app", "alice"));
        assert!(c.first("app", "alice"));
    }
}
