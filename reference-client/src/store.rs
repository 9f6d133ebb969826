//! Server-side, short-lived, single-use artifacts: login transactions, binding tickets and cookie sessions.
//!
//! All three are in memory: they live minutes, and losing them on restart only means logging in again.
//! Each store's `take` removes what it returns, under one lock, so a value is handed out at most once.
//! The mutexes are `std::sync::Mutex` on purpose: no `.await` happens while one is held.
//!
//! Each store is bounded ([`StoreLimits`]) and swept on insert: at most once per second (and at once when the
//! map has doubled), never a scan per insert, and always before a full store refuses.
//! A full store answers [`StoreFull`], which the API turns into 503 with `Retry-After`.

use std::collections::HashMap;
use std::hash::Hash;
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

/// The upper bounds of the in-memory stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Login transactions in progress (`transaction_ttl` each, 10 minutes by default).
    pub transactions: usize,
    /// Binding tickets waiting for a phone number (`binding_ticket_ttl` each).
    pub binding_tickets: usize,
    /// Cookie-mode sessions (`jwt_ttl` each).
    pub sessions: usize,
    /// `jti`s of accepted back-channel logout tokens (`logout_token_max_age` each).
    pub logout_jtis: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            transactions: 10_000,
            binding_tickets: 10_000,
            sessions: 100_000,
            logout_jtis: 10_000,
        }
    }
}

/// A store is at its bound even after dropping every expired entry; nothing is evicted to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the store is full")]
pub struct StoreFull;

/// A map with a cap, swept on insert: at most once per clock second (once it holds 1024 entries or is full),
/// and at once when it has doubled since the last sweep; shrunk when a sweep leaves it mostly empty.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    /// Size after the last sweep (at least 1024).
    watermark: usize,
    /// Clock second of the last sweep.
    last_sweep: Option<u64>,
    /// The most entries held.
    cap: usize,
}

impl<K: Eq + Hash, V> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            watermark: 1024,
            last_sweep: None,
            cap,
        }
    }

    /// Inserts after sweeping as needed; refuses when the map is still full.
    fn insert(
        &mut self,
        key: K,
        value: V,
        now: u64,
        alive: impl Fn(&V) -> bool,
    ) -> Result<(), StoreFull> {
        let len = self.map.len();
        let doubled = len >= self.watermark.saturating_mul(2);
        let due = self.last_sweep.is_none_or(|last| now > last) && (len >= 1024 || len >= self.cap);
        if doubled || due {
            self.map.retain(|_, v| alive(v));
            self.watermark = self.map.len().max(1024);
            self.last_sweep = Some(now);
            if self.map.capacity() > 4 * self.watermark {
                self.map.shrink_to(2 * self.map.len());
            }
        }
        if self.map.len() >= self.cap {
            return Err(StoreFull);
        }
        self.map.insert(key, value);
        Ok(())
    }
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
    /// The configured provider the browser was sent to; the callback completes with that one only.
    pub provider: String,
    /// The logged-in user who started this login to link another identity, if any.
    pub link_user: Option<i64>,
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
/// At most [`StoreLimits::transactions`] are held; one is forgotten once older than the ttl.
#[derive(Debug)]
pub struct TransactionStore {
    /// state → transaction.
    inner: Mutex<Bounded<String, LoginTransaction>>,
}

impl Default for TransactionStore {
    fn default() -> Self {
        Self::new(StoreLimits::default().transactions)
    }
}

impl TransactionStore {
    /// An empty store holding at most `cap` transactions.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Bounded::new(cap)),
        }
    }

    /// Stores a new transaction, unless the store is full of transactions younger than `ttl_secs`.
    pub fn insert(&self, tx: LoginTransaction, now: u64, ttl_secs: u64) -> Result<(), StoreFull> {
        lock(&self.inner).insert(tx.state.clone(), tx, now, |t| {
            now.saturating_sub(t.created_at) <= ttl_secs
        })
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
        let mut guard = lock(&self.inner);
        let map = &mut guard.map;
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
        lock(&self.inner).map.len()
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
/// Invariant: a ticket is redeemed at most once and only before it expires. At most
/// [`StoreLimits::binding_tickets`] are held; one is forgotten once expired.
#[derive(Debug)]
pub struct BindingTickets {
    /// ticket → pending binding.
    inner: Mutex<Bounded<String, PendingBinding>>,
}

impl Default for BindingTickets {
    fn default() -> Self {
        Self::new(StoreLimits::default().binding_tickets)
    }
}

impl BindingTickets {
    /// An empty store holding at most `cap` tickets.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Bounded::new(cap)),
        }
    }

    /// Stores a pending binding under a fresh ticket and returns the ticket.
    pub fn issue(
        &self,
        pending: PendingBinding,
        now: u64,
        ttl_secs: u64,
    ) -> Result<String, StoreFull> {
        let ticket = random_token(32);
        lock(&self.inner).insert(ticket.clone(), pending, now, |p| {
            now.saturating_sub(p.created_at) <= ttl_secs
        })?;
        Ok(ticket)
    }

    /// Removes and returns the pending binding if the browser matches and it has not expired.
    pub fn take(
        &self,
        ticket: &str,
        browser_binding: Option<&str>,
        now: u64,
        ttl_secs: u64,
    ) -> Option<PendingBinding> {
        let mut guard = lock(&self.inner);
        let map = &mut guard.map;
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
    /// The user's session version when it was created (see [`crate::db::User::session_version`]).
    pub version: i64,
    /// Unix seconds after which the session is dead.
    pub expires_at: u64,
}

/// Server-side sessions for `session_mode = "cookie"`, keyed by the cookie's random id. At most
/// [`StoreLimits::sessions`] are held; one is forgotten once expired.
#[derive(Debug)]
pub struct SessionStore {
    /// session id → session.
    inner: Mutex<Bounded<String, Session>>,
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::new(StoreLimits::default().sessions)
    }
}

impl SessionStore {
    /// An empty store holding at most `cap` sessions.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Bounded::new(cap)),
        }
    }

    /// Creates a session and returns its id (the cookie value).
    pub fn create(
        &self,
        user_id: i64,
        version: i64,
        now: u64,
        expires_at: u64,
    ) -> Result<String, StoreFull> {
        let id = random_token(32);
        let session = Session {
            user_id,
            version,
            expires_at,
        };
        lock(&self.inner).insert(id.clone(), session, now, |s| s.expires_at > now)?;
        Ok(id)
    }

    /// Number of sessions held (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let map = &mut lock(&self.inner).map;
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
        lock(&self.inner).map.remove(id);
    }
}

/// The `jti`s of accepted back-channel logout tokens (Back-Channel Logout 1.0 §2.6 step 9: a token is used
/// once).
///
/// Invariant: [`UsedJtis::first_use`] returns true at most once per `jti` while it is remembered, and a
/// `jti` is remembered until `forget_at`, when a token carrying it is too old to be accepted anyway. At
/// most [`StoreLimits::logout_jtis`] are held; a full store refuses (the token is then not accepted).
#[derive(Debug)]
pub struct UsedJtis {
    /// jti → Unix seconds after which it is forgotten.
    inner: Mutex<Bounded<String, u64>>,
}

impl Default for UsedJtis {
    fn default() -> Self {
        Self::new(StoreLimits::default().logout_jtis)
    }
}

impl UsedJtis {
    /// An empty store holding at most `cap` jtis.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Bounded::new(cap)),
        }
    }

    /// Records `jti` until `forget_at`; false when it was seen before.
    pub fn first_use(&self, jti: &str, forget_at: u64, now: u64) -> Result<bool, StoreFull> {
        let mut guard = lock(&self.inner);
        if guard.map.get(jti).is_some_and(|&until| until > now) {
            return Ok(false);
        }
        guard.insert(jti.to_owned(), forget_at, now, |&until| until > now)?;
        Ok(true)
    }

    /// Number of jtis remembered.
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            provider: "p".into(),
            link_user: None,
        }
    }

    // ST-SINGLE-USE
    #[test]
    fn a_transaction_is_taken_once() {
        let store = TransactionStore::default();
        store.insert(tx("s", 100), 100, 600).expect("room");
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
        store.insert(tx("s", 100), 100, 600).expect("room");
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
        store.insert(tx("s", 100), 100, 600).expect("room");
        assert_eq!(
            store.take("s", Some("browser-a"), 701, 600).err(),
            Some(TakeError::Expired)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn a_full_transaction_store_refuses_until_old_transactions_expire() {
        let store = TransactionStore::new(2);
        store.insert(tx("a", 100), 100, 600).expect("room");
        store.insert(tx("b", 100), 100, 600).expect("room");
        assert_eq!(store.insert(tx("c", 200), 200, 600), Err(StoreFull));
        assert_eq!(store.len(), 2);
        store
            .insert(tx("c", 701), 701, 600)
            .expect("a and b expired");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn inserting_many_transactions_keeps_only_the_live_ones() {
        let store = TransactionStore::new(usize::MAX);
        for i in 0..50_000u64 {
            // One per second, each living 10 seconds.
            store.insert(tx(&i.to_string(), i), i, 10).expect("no cap");
        }
        assert!(store.len() <= 2048, "{}", store.len());
    }

    #[test]
    fn sessions_are_swept_and_bounded() {
        let store = SessionStore::new(2);
        let a = store.create(1, 0, 100, 200).expect("room");
        store.create(2, 0, 100, 200).expect("room");
        assert_eq!(store.create(3, 0, 150, 300), Err(StoreFull));
        assert!(store.get(&a, 150).is_some());
        store.create(3, 0, 200, 300).expect("both expired");
        assert_eq!(store.len(), 1);
    }

    // LO-BACKCHANNEL
    #[test]
    fn a_logout_jti_is_accepted_once_and_forgotten_when_too_old_to_matter() {
        let store = UsedJtis::new(2);
        assert_eq!(store.first_use("a", 400, 100), Ok(true));
        assert_eq!(store.first_use("a", 400, 101), Ok(false));
        assert_eq!(store.first_use("b", 400, 101), Ok(true));
        assert_eq!(store.first_use("c", 400, 102), Err(StoreFull));
        assert_eq!(store.first_use("c", 900, 401), Ok(true), "a and b swept");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn random_tokens_carry_256_bits() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }
}
