//! Server-side, short-lived, single-use artifacts: login transactions, binding tickets and cookie sessions.
//!
//! All three are in memory: they live minutes, and losing them on restart only means logging in again.
//! Each store's `take` removes what it returns, under one lock, so a value is handed out at most once.
//! The mutexes are `std::sync::Mutex` on purpose: no `.await` happens while one is held.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// A fresh CSPRNG value of `bytes` bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Constant-time equality of two strings (cookie values, nonces).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One login in progress (step 1 to step 4 of the flow).
#[derive(Clone, Debug)]
pub struct LoginTransaction {
    /// The `state` sent to the provider: 256 bits from the OS CSPRNG (ST-FRESH-EXPIRY).
    pub state: String,
    /// The `nonce` the id_token must echo (ID-NONCE).
    pub nonce: String,
    /// The PKCE verifier (256 bits) whose S256 challenge went to the provider (PK-VALID).
    pub pkce_verifier: String,
    /// The value of this browser's transaction cookie; the callback must present it (ST-BOUND-TO-UA).
    pub browser_binding: String,
    /// Where to send the user after login; always a relative path (ST-OPEN-REDIRECT).
    pub return_to: Option<String>,
    /// Unix seconds, from the application clock.
    pub created_at: u64,
}

/// Why a transaction could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum TakeError {
    /// No transaction with this state: never issued, or already used.
    Unknown,
    /// It exists but this browser's cookie does not match; it is left in place for its own browser.
    OtherBrowser,
    /// It was too old; it has been removed.
    Expired,
}

/// Login transactions, keyed by state.
///
/// Invariant: [`TransactionStore::take`] returns a transaction at most once; after a successful take, or an
/// expired one, every later take of the same state returns [`TakeError::Unknown`].
#[derive(Debug, Default)]
pub struct TransactionStore {
    /// state → transaction.
    inner: Mutex<HashMap<String, LoginTransaction>>,
}

impl TransactionStore {
    /// Stores a new transaction; also drops transactions older than `ttl_secs`.
    pub fn insert(&self, tx: LoginTransaction, now: u64, ttl_secs: u64) {
        let mut map = lock(&self.inner);
        map.retain(|_, t| now.saturating_sub(t.created_at) <= ttl_secs);
        map.insert(tx.state.clone(), tx);
    }

    /// Removes and returns the transaction for `state` if `browser_binding` matches its cookie and it is not
    /// older than `ttl_secs`.
    pub fn take(
        &self,
        state: &str,
        browser_binding: Option<&str>,
        now: u64,
        ttl_secs: u64,
    ) -> Result<LoginTransaction, TakeError> {
        let mut map = lock(&self.inner);
        let tx = map.get(state).ok_or(TakeError::Unknown)?;
        match browser_binding {
            Some(b) if ct_eq(b, &tx.browser_binding) => {}
            _ => return Err(TakeError::OtherBrowser),
        }
        let tx = map.remove(state).ok_or(TakeError::Unknown)?;
        if now.saturating_sub(tx.created_at) > ttl_secs {
            return Err(TakeError::Expired);
        }
        Ok(tx)
    }

    /// Number of pending transactions (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.inner).len()
    }

    /// True when no transaction is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a binding ticket remembers: a verified login whose identity is not yet bound to a user.
#[derive(Clone, Debug)]
pub struct PendingBinding {
    /// The verified id_token `iss`.
    pub issuer: String,
    /// The verified id_token `sub`.
    pub subject: String,
    /// `name` from the id_token, if any.
    pub display_name: Option<String>,
    /// `picture` from the id_token, if any.
    pub avatar_url: Option<String>,
    /// The browser that logged in; only it may redeem the ticket.
    pub browser_binding: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// Binding tickets (require-binding policy), keyed by ticket.
///
/// Invariant: a ticket is redeemed at most once and only before it expires.
#[derive(Debug, Default)]
pub struct BindingTickets {
    /// ticket → pending binding.
    inner: Mutex<HashMap<String, PendingBinding>>,
}

impl BindingTickets {
    /// Stores a pending binding under a fresh ticket and returns the ticket.
    pub fn issue(&self, pending: PendingBinding, now: u64, ttl_secs: u64) -> String {
        let ticket = random_token(32);
        let mut map = lock(&self.inner);
        map.retain(|_, p| now.saturating_sub(p.created_at) <= ttl_secs);
        map.insert(ticket.clone(), pending);
        ticket
    }

    /// Removes and returns the pending binding if the browser matches and it has not expired.
    pub fn take(
        &self,
        ticket: &str,
        browser_binding: Option<&str>,
        now: u64,
        ttl_secs: u64,
    ) -> Option<PendingBinding> {
        let mut map = lock(&self.inner);
        let pending = map.get(ticket)?;
        if !browser_binding.is_some_and(|b| ct_eq(b, &pending.browser_binding)) {
            return None;
        }
        let pending = map.remove(ticket)?;
        (now.saturating_sub(pending.created_at) <= ttl_secs).then_some(pending)
    }
}

/// A cookie-mode session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The internal user id.
    pub user_id: i64,
    /// Unix seconds after which the session is dead.
    pub expires_at: u64,
}

/// Server-side sessions for `session_mode = "cookie"`, keyed by the cookie's random id.
#[derive(Debug, Default)]
pub struct SessionStore {
    /// session id → session.
    inner: Mutex<HashMap<String, Session>>,
}

impl SessionStore {
    /// Creates a session and returns its id (the cookie value).
    pub fn create(&self, user_id: i64, expires_at: u64) -> String {
        let id = random_token(32);
        lock(&self.inner).insert(
            id.clone(),
            Session {
                user_id,
                expires_at,
            },
        );
        id
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let mut map = lock(&self.inner);
        match map.get(id) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        lock(&self.inner).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(state: &str, now: u64) -> LoginTransaction {
        LoginTransaction {
            state: state.into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            browser_binding: "browser-a".into(),
            return_to: None,
            created_at: now,
        }
    }

    // ST-SINGLE-USE
    #[test]
    fn a_transaction_is_taken_once() {
        let store = TransactionStore::default();
        store.insert(tx("s", 100), 100, 600);
        assert!(store.take("s", Some("browser-a"), 101, 600).is_ok());
        assert_eq!(
            store.take("s", Some("browser-a"), 101, 600).err(),
            Some(TakeError::Unknown)
        );
    }

    // ST-BOUND-TO-UA
    #[test]
    fn another_browser_cannot_take_or_burn_a_transaction() {
        let store = TransactionStore::default();
        store.insert(tx("s", 100), 100, 600);
        assert_eq!(
            store.take("s", Some("browser-b"), 101, 600).err(),
            Some(TakeError::OtherBrowser)
        );
        assert_eq!(
            store.take("s", None, 101, 600).err(),
            Some(TakeError::OtherBrowser)
        );
        assert!(store.take("s", Some("browser-a"), 101, 600).is_ok());
    }

    // ST-FRESH-EXPIRY
    #[test]
    fn an_old_transaction_is_expired_and_removed() {
        let store = TransactionStore::default();
        store.insert(tx("s", 100), 100, 600);
        assert_eq!(
            store.take("s", Some("browser-a"), 701, 600).err(),
            Some(TakeError::Expired)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn random_tokens_carry_256_bits() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }
}
