//! `AppState`: the one cloneable value every handler receives. It holds the registry (clients, users),
//! the signing key, the stores, the clock and the templates; nothing is global, so many servers can run in
//! one process and tests can reach into theirs through the handle.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock, atomic::AtomicU64},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use subtle::ConstantTimeEq;

use crate::{
    clock::Clock,
    config::Config,
    faults::FaultRegistry,
    keys::{KeySet, SigningKey},
    model::{ClientConfig, GrantType, IdTokenAlg, Persona, UserConfig},
    requests::RequestLog,
    store::{
        AuthFailures, CodeStore, Consents, PendingStore, RefreshStore, SessionStore, Stores,
        TokenStore,
    },
};

/// A registered client with its secret kept only as a hash (CA-HARDENING).
#[derive(Debug, Clone)]
pub(crate) struct RegisteredClient {
    /// The client's configuration; `client_secret` is cleared once hashed.
    pub config: ClientConfig,
    /// SHA-256 of the secret, compared in constant time.
    secret_hash: Option<[u8; 32]>,
    /// The HMAC-SHA256 key made from the secret's octets (Core §10.1): it MACs the id_tokens of a client
    /// registered with `id_token_signed_response_alg = HS256`, and the `id_token.other_alg` fault's for
    /// any other. It holds the MAC's precomputed state, never the secret, and its `Debug` shows neither.
    /// In an `Arc`: the client is cloned out of the registry on every request, and this clone stays a
    /// reference count.
    secret_mac: Option<Arc<aws_lc_rs::hmac::Key>>,
}

/// SHA-256 of a secret. A fast hash is enough here: client secrets in this mock are high-entropy test values,
/// and hashing exists so that a memory dump or `Debug` output never shows them.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    crate::keys::sha256(secret.as_bytes())
}

impl RegisteredClient {
    /// Registers a client, hashing its secret.
    pub fn new(mut config: ClientConfig) -> Self {
        let secret = config.client_secret.take();
        let secret_hash = secret.as_ref().map(|s| secret_hash(s.expose()));
        let secret_mac = secret.map(|s| {
            Arc::new(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                s.expose().as_bytes(),
            ))
        });
        RegisteredClient {
            config,
            secret_hash,
            secret_mac,
        }
    }

    /// The key that MACs this client's id_tokens, if it registered HS256.
    pub fn id_token_mac(&self) -> Option<&aws_lc_rs::hmac::Key> {
        self.secret_mac
            .as_deref()
            .filter(|_| self.config.id_token_signed_response_alg == Some(IdTokenAlg::HS256))
    }

    /// HMAC-SHA256 keyed with this client's secret, whatever it registered (for `id_token.other_alg`).
    pub fn secret_mac(&self) -> Option<&aws_lc_rs::hmac::Key> {
        self.secret_mac.as_deref()
    }

    /// Constant-time secret check; a public client has no secret to match.
    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(hash) => bool::from(hash.ct_eq(&secret_hash(presented))),
            None => false,
        }
    }

    /// Whether the client has a secret (a shared one, or keys it signs client-secret JWTs with: Apple).
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some() || !self.config.client_secret_keys.is_empty()
    }
}

/// Everything a handler can reach. Every field is cheap to share.
pub struct Inner {
    /// The issuer identifier (no trailing slash).
    pub issuer: String,
    /// The issuer's path (`""` at the root, `/t/NAME` for a tenant): the prefix of every path this
    /// provider serves, for the login form's action and the browser cookie's path.
    pub base_path: String,
    /// Lifetimes and switches from the configuration (clients and users live in the registries below).
    pub config: Config,
    /// Clients by id; a `RwLock` because tests add clients while the server runs.
    pub clients: RwLock<HashMap<String, RegisteredClient>>,
    /// Users by username, with an index by subject.
    pub users: RwLock<Users>,
    /// The keys that sign id_tokens and access tokens: one active, older ones published until retired.
    pub keys: KeySet,
    /// The keys of the other key type (ES256 beside RS256, or back), which sign the id_tokens of clients
    /// registered with it (`id_token_signed_response_alg`): made on first use, published while such a
    /// client is registered, rotated with `keys`.
    pub other_keys: KeySet,
    /// Faults armed on this provider; every endpoint asks it once per response.
    pub faults: FaultRegistry,
    /// Every request received, masked and bounded.
    pub requests: RequestLog,
    /// Where the JWKS is served while `jwks.moved` is armed: `/keys/{random}/jwks`, new for every provider
    /// (so a client cannot guess it and must read discovery's `jwks_uri`); its last segment stays `jwks`,
    /// so the request log counts a fetch there as a JWKS fetch.
    pub moved_jwks_path: String,
    /// Authorization codes.
    pub codes: Box<dyn CodeStore>,
    /// Issued access tokens and revocations.
    pub tokens: Box<dyn TokenStore>,
    /// Refresh tokens.
    pub refresh: Box<dyn RefreshStore>,
    /// Authorization requests waiting for the user at the login page.
    pub pending: Box<dyn PendingStore>,
    /// Logins of clients with a back-channel logout URI, by `sid`.
    pub sessions: Box<dyn SessionStore>,
    /// Which users authorized which clients before (Apple's `user` field, Google's first-consent refresh
    /// token).
    pub consents: Consents,
    /// Usernames that the next authorization requests complete as, without the page (tests, scripts).
    pub next_logins: Mutex<std::collections::VecDeque<String>>,
    /// The time source of every expiry decision.
    pub clock: Clock,
    /// HTML templates; minijinja escapes every value in `.html` templates.
    pub templates: Arc<minijinja::Environment<'static>>,
    /// Failed client authentications per (client id, remote address), so a stranger cannot lock a client out.
    pub auth_failures: AuthFailures,
    /// Requests that reached the token endpoint, so a harness can prove a client made no token request
    /// after a bad callback (what the conformance suite counts as a rejection).
    pub token_requests: AtomicU64,
}

/// The first segment of [`Inner::moved_jwks_path`].
pub const MOVED_JWKS_PREFIX: &str = "/keys/";

/// The shared state; clone freely.
#[derive(Clone)]
pub(crate) struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state for `issuer` from a validated configuration, with the in-memory stores.
    pub fn new(issuer: String, config: Config, key: SigningKey, clock: Clock) -> AppState {
        AppState::with_keys(issuer, config, KeySet::new(key), clock)
    }

    /// Builds the state with the given stores (another backend than the in-memory default).
    pub fn with_stores(
        issuer: String,
        config: Config,
        key: SigningKey,
        clock: Clock,
        stores: Stores,
    ) -> AppState {
        AppState::build(issuer, config, KeySet::new(key), clock, stores)
    }

    /// As [`AppState::new`], with a key set (e.g. one generated on first use, for a tenant).
    pub fn with_keys(issuer: String, config: Config, keys: KeySet, clock: Clock) -> AppState {
        let stores = Stores::in_memory(&config.limits);
        AppState::build(issuer, config, keys, clock, stores)
    }

    fn build(
        issuer: String,
        config: Config,
        keys: KeySet,
        clock: Clock,
        stores: Stores,
    ) -> AppState {
        let clients = config
            .clients
            .iter()
            .cloned()
            .map(|c| (c.client_id.clone(), RegisteredClient::new(c)))
            .collect();
        let users = config
            .users
            .iter()
            .cloned()
            .fold(Users::default(), |mut users, u| {
                users.insert(u.username.clone(), u);
                users
            });
        // The configured start of the provider's clock: the same operations as the handle's.
        clock.advance(std::time::Duration::from_secs(config.clock_advance_secs));
        if config.clock_frozen {
            clock.freeze();
        }
        let faults = FaultRegistry::default();
        for (i, f) in config.faults.iter().enumerate() {
            // Validated with the rest of the configuration; a failure here is logged, not fatal.
            match f.spec(&format!("faults[{i}]")).map(|spec| faults.arm(spec)) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("faults[{i}]: {e}"),
                Err(e) => tracing::error!("{e}"),
            }
        }
        for (i, spec) in config.armed_faults.iter().enumerate() {
            if let Err(e) = faults.arm(spec.clone()) {
                tracing::error!("armed_faults[{i}]: {e}");
            }
        }
        let base_path = url::Url::parse(&issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        AppState(Arc::new(Inner {
            base_path,
            issuer,
            clients: RwLock::new(clients),
            users: RwLock::new(users),
            other_keys: KeySet::generated(keys.alg().other()),
            keys,
            faults,
            requests: RequestLog::new(config.request_log_capacity),
            moved_jwks_path: format!("{MOVED_JWKS_PREFIX}{}/jwks", random_token(12)),
            codes: stores.codes,
            tokens: stores.tokens,
            refresh: stores.refresh,
            pending: stores.pending,
            sessions: stores.sessions,
            consents: Consents::default(),
            next_logins: Mutex::new(Default::default()),
            clock,
            templates: crate::pages::templates(),
            auth_failures: AuthFailures::new(config.limits.auth_failure_counters),
            token_requests: AtomicU64::new(0),
            config,
        }))
    }

    /// Adds or replaces a user (the handle, the admin API).
    pub fn add_user(&self, user: UserConfig) -> Result<(), crate::error::ConfigError> {
        user.validate("user")?;
        write(&self.users).insert(user.username.clone(), user);
        Ok(())
    }

    /// Adds or replaces a client, hashing its secret.
    pub fn add_client(&self, client: ClientConfig) -> Result<(), crate::error::ConfigError> {
        client.validate("client")?;
        client.validate_for_provider("client", self.keys.alg())?;
        write(&self.clients).insert(client.client_id.clone(), RegisteredClient::new(client));
        Ok(())
    }

    /// Makes the next authorization request complete as `username`, without the page. The queue holds at
    /// most [`MAX_NEXT_LOGINS`]; false when it is full (the admin API can fill it over the network).
    pub fn queue_next_login(&self, username: &str) -> bool {
        let mut queue = self.next_logins.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= MAX_NEXT_LOGINS {
            return false;
        }
        queue.push_back(username.to_owned());
        true
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The algorithms id_tokens are signed with here (`id_token_signing_alg_values_supported`, Discovery
    /// §3): the provider's key's, the other key type's while a client is registered with it, and HS256
    /// while a client is registered with that. A scan of the clients: discovery is not on a login's path.
    pub fn id_token_algs(&self) -> Vec<&'static str> {
        let other = IdTokenAlg::from(self.other_keys.alg());
        let (mut uses_other, mut uses_hs256) = (false, false);
        for c in read(&self.clients).values() {
            match c.config.id_token_signed_response_alg {
                Some(IdTokenAlg::HS256) => uses_hs256 = true,
                Some(alg) if alg == other => uses_other = true,
                _ => {}
            }
        }
        let mut algs = vec![self.keys.alg().as_str()];
        if uses_other {
            algs.push(other.as_str());
        }
        if uses_hs256 {
            algs.push(IdTokenAlg::HS256.as_str());
        }
        algs
    }

    /// Whether a registered client has its id_tokens signed by the other key type.
    fn uses_other_keys(&self) -> bool {
        let other = IdTokenAlg::from(self.other_keys.alg());
        read(&self.clients)
            .values()
            .any(|c| c.config.id_token_signed_response_alg == Some(other))
    }

    /// The keys that sign `client`'s id_tokens: the other key type's if it registered that, else the
    /// provider's. (HS256 clients are MACed: [`RegisteredClient::id_token_mac`].)
    pub fn id_token_keys(&self, client: &RegisteredClient) -> &KeySet {
        match client.config.id_token_signed_response_alg {
            Some(alg) if alg == IdTokenAlg::from(self.other_keys.alg()) => &self.other_keys,
            _ => &self.keys,
        }
    }

    /// The JWKS document (RFC 7517 §5): the provider's keys, then the other key type's while a client is
    /// registered with it.
    pub fn jwks(&self) -> serde_json::Value {
        let mut doc = self.keys.jwks();
        if self.uses_other_keys()
            && let (Some(keys), Some(more)) = (
                doc["keys"].as_array_mut(),
                self.other_keys.jwks()["keys"].as_array(),
            )
        {
            keys.extend(more.iter().cloned());
        }
        doc
    }

    /// Verifies an id_token this provider signed with either key type (a logout hint).
    pub fn verify_signed(&self, jws: &str) -> Option<(Option<String>, serde_json::Value)> {
        self.keys.verify(jws).or_else(|| {
            self.other_keys
                .is_made()
                .then(|| self.other_keys.verify(jws))
                .flatten()
        })
    }

    /// A registered client by id.
    pub fn client(&self, id: &str) -> Option<RegisteredClient> {
        read(&self.clients).get(id).cloned()
    }

    /// A user by username.
    pub fn user(&self, username: &str) -> Option<UserConfig> {
        read(&self.users).get(username).cloned()
    }

    /// A user by subject.
    pub fn user_by_sub(&self, sub: &str) -> Option<UserConfig> {
        let users = read(&self.users);
        users
            .by_sub
            .get(sub)
            .and_then(|name| users.by_name.get(name))
            .cloned()
    }

    /// Every registered client's configuration, sorted by client id.
    pub fn client_configs(&self) -> Vec<ClientConfig> {
        let mut all: Vec<ClientConfig> = read(&self.clients)
            .values()
            .map(|c| c.config.clone())
            .collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        all
    }

    /// All users, sorted by username.
    pub fn usernames(&self) -> Vec<UserConfig> {
        read(&self.users).by_name.values().cloned().collect()
    }

    /// When every token a grant of `client` could have produced until now is dead: the bound kept by
    /// revocation and replay records (RFC 6749 §4.1.2, RFC 7009 §2.1).
    pub fn tokens_dead_by(&self, client: &ClientConfig) -> u64 {
        let persona = self.config.persona;
        let access = client
            .access_token_ttl
            .or(persona.access_ttl())
            .unwrap_or(self.config.access_token_ttl);
        // WeChat always hands out a refresh token; GitHub only with expiring tokens (a client lifetime).
        let refreshes = match persona {
            Persona::Oidc | Persona::Entra | Persona::Apple | Persona::Google => {
                client.grant_types.contains(&GrantType::RefreshToken)
            }
            Persona::Wechat => true,
            Persona::Github => client.access_token_ttl.is_some(),
        };
        let refresh = if refreshes {
            persona
                .refresh_ttl()
                .unwrap_or(self.config.refresh_token_ttl)
        } else {
            0
        };
        self.clock.now().saturating_add(access.max(refresh))
    }
}

/// The users, sorted by username (the login page lists them in order without sorting) and indexed by `sub`
/// (every token request looks a user up by subject).
#[derive(Debug, Default, Clone)]
pub struct Users {
    /// Username → user.
    by_name: BTreeMap<String, UserConfig>,
    /// `sub` → username.
    by_sub: HashMap<String, String>,
}

impl Users {
    /// Adds or replaces the user `username`.
    pub fn insert(&mut self, username: String, user: UserConfig) {
        if let Some(old) = self.by_name.remove(&username) {
            self.by_sub.remove(&old.sub);
        }
        self.by_sub.insert(user.sub.clone(), username.clone());
        self.by_name.insert(username, user);
    }

    /// Removes a user.
    pub fn remove(&mut self, username: &str) {
        if let Some(old) = self.by_name.remove(username) {
            self.by_sub.remove(&old.sub);
        }
    }

    /// A user by username.
    pub fn get(&self, username: &str) -> Option<&UserConfig> {
        self.by_name.get(username)
    }

    /// Users in username order.
    pub fn iter(&self) -> impl Iterator<Item = &UserConfig> {
        self.by_name.values()
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }
}

/// The most next logins queued on one provider.
pub const MAX_NEXT_LOGINS: usize = 1_024;

/// Reads a `RwLock`, recovering from poisoning (writers only insert whole values).
pub fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

/// Writes a `RwLock`, recovering from poisoning.
pub fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// `n` bytes from the operating system's CSPRNG, base64url: codes, tokens, ids (RFC 6749 §10.10).
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // aws-lc's RNG only fails if the OS entropy source is broken, in which case no token is safe to issue.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("operating system CSPRNG");
    B64.encode(bytes)
}
