//! Server-side, short-lived, single-use artifacts: login transactions, binding tickets and cookie sessions.
//!
//! All three are in memory: they live minutes, and losing them on restart only means logging in again.
//! Each store's `take` removes what it returns, under one lock, so a value is handed out at most once.
//! The mutexes are `std::sync::Mutex` on purpose: no `.await` happens while one is held.
//!
//! Each store is bounded ([`StoreLimits`]) and swept on insert: at most once per second (and at once when the
//! map has doubled), never a scan per insert, and always before a full store refuses.
//! A full store answers [`StoreFull`], which the API turns into 503 with `Retry-After`.
//!
//! The exception is the store a stranger fills without any credentials: login transactions (`GET /auth/login`
//! and `GET /api/auth/login-url` each create one). It never refuses; it is fair between client addresses
//! instead ([`TransactionStore`]), so a flood from one address only ever evicts that address's own
//! unfinished logins. The other stores are written only after the provider authenticated someone (binding
//! tickets, sessions) or after a provider-signed token was checked (logout `jti`s).

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
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
    /// Of those, the most started from one client address (IPv6: one /64).
    pub transactions_per_address: usize,
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
            transactions_per_address: 1_000,
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
        self.sweep(now, alive);
        if self.map.len() >= self.cap {
            return Err(StoreFull);
        }
        self.map.insert(key, value);
        Ok(())
    }

    /// Drops dead entries when due: once a clock second (from 1024 entries, or when full), and at once when
    /// the map has doubled since the last sweep.
    fn sweep(&mut self, now: u64, alive: impl Fn(&V) -> bool) {
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
    }
}

/// Whose login transaction it is: the client address, IPv6 grouped by /64 (one host usually holds a whole
/// /64), IPv4-mapped IPv6 read as IPv4. `None` when the request came without a socket address.
fn owner(addr: Option<IpAddr>) -> Option<IpAddr> {
    addr.map(|a| match a {
        IpAddr::V4(_) => a,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    })
}

/// One owner's records, oldest first. `order` may hold stale entries (records taken or swept since); they are
/// skipped when met and compacted away when they outnumber the live ones.
#[derive(Debug)]
struct Held<K> {
    /// Records of this owner in the map.
    live: usize,
    /// (insertion number, key), oldest first.
    order: VecDeque<(u64, K)>,
}

// By hand: a derive would ask for `K: Default`.
impl<K> Default for Held<K> {
    fn default() -> Self {
        Held {
            live: 0,
            order: VecDeque::new(),
        }
    }
}

/// A capped map that is fair between owners (client addresses): an owner holds at most `quota` records and a
/// new one beyond that evicts its own oldest; a map at `cap` evicts the oldest record of the owner holding
/// the most. So a visitor holding fewer records than the biggest holder is never evicted. Swept like
/// [`Bounded`]. Only for records whose loss costs a retry, never for one that guards a security property.
#[derive(Debug)]
struct Fair<K, V> {
    /// The records: key → (value, owner, insertion number).
    inner: Bounded<K, (V, Option<IpAddr>, u64)>,
    /// Owner → its records in insertion order.
    owners: HashMap<Option<IpAddr>, Held<K>>,
    /// The next insertion number.
    next: u64,
    /// The most records one owner holds.
    quota: usize,
}

impl<K: Clone + Eq + Hash, V> Fair<K, V> {
    fn new(cap: usize, quota: usize) -> Self {
        Self {
            inner: Bounded::new(cap.max(1)),
            owners: HashMap::new(),
            next: 0,
            quota: quota.max(1),
        }
    }

    /// Inserts, after sweeping and evicting as the type's docs say. Never refuses.
    fn insert(
        &mut self,
        key: K,
        value: V,
        from: Option<IpAddr>,
        now: u64,
        alive: impl Fn(&V) -> bool,
    ) {
        let owner = owner(from);
        let before = self.inner.map.len();
        self.inner.sweep(now, |(v, _, _)| alive(v));
        if self.inner.map.len() != before {
            self.recount();
        }
        if let Some((_, old, _)) = self.inner.map.remove(&key) {
            self.forget(old);
        }
        while self
            .owners
            .get(&owner)
            .is_some_and(|h| h.live >= self.quota)
        {
            self.evict_oldest(owner);
        }
        while self.inner.map.len() >= self.inner.cap {
            let biggest = self
                .owners
                .iter()
                .max_by_key(|(_, h)| h.live)
                .map(|(o, _)| *o);
            match biggest {
                Some(o) => self.evict_oldest(o),
                None => break,
            }
        }
        let seq = self.next;
        self.next += 1;
        let held = self.owners.entry(owner).or_default();
        held.live += 1;
        held.order.push_back((seq, key.clone()));
        if held.order.len() > 2 * held.live + 32 {
            let map = &self.inner.map;
            held.order
                .retain(|(s, k)| map.get(k).is_some_and(|e| e.2 == *s));
        }
        self.inner.map.insert(key, (value, owner, seq));
    }

    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.inner.map.get(key).map(|(v, _, _)| v)
    }

    fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let (v, owner, _) = self.inner.map.remove(key)?;
        self.forget(owner);
        Some(v)
    }

    fn forget(&mut self, owner: Option<IpAddr>) {
        if let Some(held) = self.owners.get_mut(&owner) {
            held.live = held.live.saturating_sub(1);
            if held.live == 0 {
                self.owners.remove(&owner);
            }
        }
    }

    fn evict_oldest(&mut self, owner: Option<IpAddr>) {
        let Some(held) = self.owners.get_mut(&owner) else {
            return;
        };
        while let Some((seq, key)) = held.order.pop_front() {
            if self.inner.map.get(&key).is_some_and(|e| e.2 == seq) {
                self.inner.map.remove(&key);
                held.live = held.live.saturating_sub(1);
                break;
            }
        }
        if held.live == 0 || held.order.is_empty() {
            self.owners.remove(&owner);
        }
    }

    fn recount(&mut self) {
        let map = &self.inner.map;
        self.owners.retain(|_, held| {
            held.order
                .retain(|(s, k)| map.get(k).is_some_and(|e| e.2 == *s));
            held.live = held.order.len();
            held.live > 0
        });
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
    /// The address that started it: the transaction store's fairness counts per address.
    pub client_addr: Option<IpAddr>,
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
/// At most [`StoreLimits::transactions`] are held, at most [`StoreLimits::transactions_per_address`] of them
/// started from one address; one is forgotten once older than the ttl. Anyone can start one, so the store
/// never refuses: a new one evicts the oldest of its own address when that address is at its quota, and the
/// oldest of the address holding the most when the store is full. An evicted login fails at its callback
/// like an expired one, and the user starts again.
#[derive(Debug)]
pub struct TransactionStore {
    /// state → transaction, fair between client addresses.
    inner: Mutex<Fair<String, LoginTransaction>>,
}

impl Default for TransactionStore {
    fn default() -> Self {
        let limits = StoreLimits::default();
        Self::new(limits.transactions, limits.transactions_per_address)
    }
}

impl TransactionStore {
    /// An empty store holding at most `cap` transactions, `per_address` of them from one address.
    pub fn new(cap: usize, per_address: usize) -> Self {
        Self {
            inner: Mutex::new(Fair::new(cap, per_address)),
        }
    }

    /// Stores a new transaction, evicting as the type's docs say; expired ones are swept first.
    pub fn insert(&self, tx: LoginTransaction, now: u64, ttl_secs: u64) {
        let from = tx.client_addr;
        lock(&self.inner).insert(tx.state.clone(), tx, from, now, |t| {
            now.saturating_sub(t.created_at) <= ttl_secs
        });
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
        lock(&self.inner).inner.map.len()
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
            client_addr: Some([127, 0, 0, 1].into()),
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
    fn a_flood_from_one_address_evicts_only_its_own_oldest_transactions() {
        let store = TransactionStore::new(10, 4);
        let mut other = tx("other", 100);
        other.client_addr = Some([127, 0, 0, 2].into());
        store.insert(other, 100, 600);
        for i in 0..1_000 {
            store.insert(tx(&i.to_string(), 100), 100, 600);
        }
        assert_eq!(
            store.len(),
            5,
            "the quota of one address, and the other one"
        );
        assert!(store.take("other", Some("browser-a"), 101, 600).is_ok());
        assert!(store.take("999", Some("browser-a"), 101, 600).is_ok());
        assert_eq!(
            store.take("995", Some("browser-a"), 101, 600).err(),
            Some(TakeError::Unknown)
        );
    }

    #[test]
    fn a_full_transaction_store_evicts_from_the_address_holding_the_most() {
        let store = TransactionStore::new(4, 4);
        for (state, last) in [("a", 2), ("b", 3), ("c", 1), ("d", 1)] {
            let mut t = tx(state, 100);
            t.client_addr = Some([127, 0, 0, last].into());
            store.insert(t, 100, 600);
        }
        let mut e = tx("e", 100);
        e.client_addr = Some([127, 0, 0, 4].into());
        store.insert(e, 100, 600);
        assert_eq!(store.len(), 4);
        for kept in ["a", "b", "d", "e"] {
            assert!(
                store.take(kept, Some("browser-a"), 101, 600).is_ok(),
                "{kept}"
            );
        }
    }

    #[test]
    fn inserting_many_transactions_keeps_only_the_live_ones() {
        let store = TransactionStore::new(usize::MAX, usize::MAX);
        for i in 0..50_000u64 {
            // One per second, each living 10 seconds.
            store.insert(tx(&i.to_string(), i), i, 10);
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
