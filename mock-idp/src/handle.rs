//! [`Handle`]: the controls of one provider (the root or a tenant), and [`FaultHandle`].

use crate::{
    clock::Clock,
    config::Config,
    error::ConfigError,
    faults::{ArmedFault, Fault, FaultError, FaultSpec},
    model::{ClientConfig, Persona, UserConfig},
    requests::RequestRecord,
    state::{AppState, write},
    verdict::Verdict,
};

/// The controls of one provider (the root or a tenant): its issuer and URLs, users, clients, the next
/// login, its clock, faults, keys, request log and verdict. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handle {
    /// The provider's state, shared with its handlers.
    state: AppState,
}

impl Handle {
    /// The controls of a provider state.
    pub(crate) fn of(state: AppState) -> Handle {
        Handle { state }
    }

    /// The issuer identifier, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// An absolute URL for `path` on this server, e.g. `url("/token")`.
    pub fn url(&self, path: &str) -> String {
        self.state.url(path)
    }

    /// The tenant's name (`team-a` for an issuer ending in `/t/team-a`), `None` for the root provider.
    pub fn tenant_name(&self) -> Option<&str> {
        self.state.base_path.strip_prefix("/t/")
    }

    /// The login page, where an authorization request that needs the user shows its form.
    pub fn login_page_url(&self) -> String {
        self.url(crate::authorize::LOGIN_PATH)
    }

    /// A registered user, as configured.
    pub fn user(&self, username: &str) -> Option<UserConfig> {
        self.state.user(username)
    }

    /// The registered users, as configured.
    pub fn users(&self) -> Vec<UserConfig> {
        self.state.usernames()
    }

    /// The registered clients, as configured, by client id.
    pub fn clients(&self) -> Vec<ClientConfig> {
        self.state.client_configs()
    }

    /// A registered client, as configured (its secret included).
    pub fn client(&self, client_id: &str) -> Option<ClientConfig> {
        self.state.client(client_id).map(|c| c.config)
    }

    /// The configuration this provider was built from (clients and users as at start; [`Handle::user`]
    /// and [`Handle::client`] see later changes).
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The algorithm of the provider's own key (`signing_alg`), which signs access and logout tokens.
    pub fn signing_alg(&self) -> crate::SigningAlg {
        self.state.keys.alg()
    }

    /// What discovery's `id_token_signing_alg_values_supported` lists now: the provider's alg and every
    /// other one a registered client uses.
    pub fn id_token_algs(&self) -> Vec<&'static str> {
        self.state.id_token_algs()
    }

    /// The PEM (SPKI) of the public half of the key that signs now, e.g. to forge an HS256 token keyed
    /// with it (the classic algorithm-confusion attack a client must refuse).
    pub fn signing_key_public_pem(&self) -> Result<String, crate::keys::KeyError> {
        self.state.keys.active()?.public_pem()
    }

    /// A JWS of `claims` signed with the key that signs now, under `header_b64` (a base64url JSON header,
    /// e.g. one taken from a token this provider issued): for tests that change a valid token's claims
    /// and need it still validly signed.
    pub fn sign_with_header(
        &self,
        header_b64: &str,
        claims: &serde_json::Value,
    ) -> Result<String, crate::keys::KeyError> {
        self.state
            .keys
            .active()?
            .sign_with_header(header_b64, claims)
    }

    /// Ends every provider session of the subject `sub` without sending any back-channel logout token,
    /// and returns each ended session's `(sid, client_id)`: for a test that delivers logout tokens of its
    /// own making ([`Handle::logout`] ends them and delivers the provider's).
    pub fn end_sessions_quietly(&self, sub: &str) -> Vec<(String, String)> {
        self.state
            .sessions
            .end_user(sub, self.state.clock.now())
            .into_iter()
            .map(|(sid, session)| (sid, session.client_id))
            .collect()
    }

    /// The request log's position now: [`Handle::requests_since`] with it returns what comes after.
    pub fn log_cursor(&self) -> u64 {
        self.state.requests.last_seq()
    }

    /// A valid back-channel logout token for `client_id` naming `sub` and `sid` (Back-Channel Logout 1.0
    /// §2.4), signed with the provider's key, as the provider's own logout sends it (without faults).
    pub fn logout_token(
        &self,
        client_id: &str,
        sub: &str,
        sid: &str,
    ) -> Result<String, crate::keys::KeyError> {
        crate::logout::logout_token(&self.state, client_id, sub, sid)
    }

    /// The protocol this provider speaks.
    pub fn persona(&self) -> Persona {
        self.state.config.persona
    }

    /// The generated avatar of `username` (what the built-in users' pictures point to).
    pub fn avatar_url(&self, username: &str) -> String {
        self.url(&format!("/avatars/{username}.svg"))
    }

    /// The OpenID discovery document URL.
    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// The authorization endpoint.
    pub fn authorization_endpoint(&self) -> String {
        self.url("/authorize")
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> String {
        self.url("/token")
    }

    /// The userinfo endpoint.
    pub fn userinfo_endpoint(&self) -> String {
        self.url("/userinfo")
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        self.url("/jwks")
    }

    /// Where the JWKS is while `jwks.moved` is armed: a path of this provider's own, new every run, that
    /// discovery's `jwks_uri` names then (the request log records fetches there as JWKS fetches).
    pub fn moved_jwks_uri(&self) -> String {
        self.url(&self.state.moved_jwks_path)
    }

    /// The revocation endpoint.
    pub fn revocation_endpoint(&self) -> String {
        self.url("/revoke")
    }

    /// The introspection endpoint.
    pub fn introspection_endpoint(&self) -> String {
        self.url("/introspect")
    }

    /// The end-session endpoint (RP-Initiated Logout 1.0 §2).
    pub fn end_session_endpoint(&self) -> String {
        self.url(crate::logout::LOGOUT_PATH)
    }

    /// Ends every session of `username` at the provider, as if they logged out there, and sends each
    /// client with a back-channel logout URI its logout token (Back-Channel Logout 1.0 §2.7); returns what
    /// each delivery came to, or `None` for an unknown user.
    pub async fn logout(&self, username: &str) -> Option<Vec<crate::logout::Delivery>> {
        crate::logout::logout_user(&self.state, username).await
    }

    /// Adds or replaces a user.
    pub fn add_user(&self, user: UserConfig) -> Result<(), ConfigError> {
        self.state.add_user(user)
    }

    /// Removes a user; their tokens stop working at userinfo. Whether it existed.
    pub fn remove_user(&self, username: &str) -> bool {
        let mut users = write(&self.state.users);
        let existed = users.get(username).is_some();
        users.remove(username);
        existed
    }

    /// Apple persona: forgets that `username` authorized `client_id` before (the user revoked the app in
    /// their Apple ID settings), so their next authorization is a first one and carries the `user` form
    /// field again. Whether there was such an authorization.
    pub fn forget_consent(&self, client_id: &str, username: &str) -> bool {
        self.state
            .user(username)
            .is_some_and(|u| self.state.consents.forget(client_id, &u.sub))
    }

    /// Adds or replaces a client.
    pub fn add_client(&self, client: ClientConfig) -> Result<(), ConfigError> {
        self.state.add_client(client)
    }

    /// Changes a registered client's configuration in place (its secret stays as registered), e.g. the
    /// lifetime of its access tokens; returns the configuration before the change, `None` when there is
    /// no such client. Tokens already issued keep their lifetime.
    pub fn update_client(
        &self,
        client_id: &str,
        change: impl FnOnce(&mut ClientConfig),
    ) -> Option<ClientConfig> {
        let mut clients = write(&self.state.clients);
        let client = clients.get_mut(client_id)?;
        let before = client.config.clone();
        change(&mut client.config);
        Some(before)
    }

    /// Tokens for a user and client without a browser, as if a code flow had just completed: an RFC 9068
    /// access token and, with `openid`, an id_token, with the request's extra claims and lifetime (the
    /// token endpoint's JSON body). The same operation as `POST /admin/tenants/TENANT/tokens`, `mock-idp
    /// admin token` and `mock-idp token`; an error names the request's field at fault.
    pub fn mint_tokens(
        &self,
        request: &crate::tokens::MintRequest,
    ) -> Result<serde_json::Value, crate::tokens::MintError> {
        crate::tokens::mint(&self.state, request)
    }

    /// Removes a client; whether it existed.
    pub fn remove_client(&self, client_id: &str) -> bool {
        write(&self.state.clients).remove(client_id).is_some()
    }

    /// Makes the next authorization request that passes its checks complete as `username` without the
    /// login page (a 303 straight to the redirect URI). Calls queue up, one login each.
    pub fn next_login(&self, username: &str) {
        if !self.state.queue_next_login(username) {
            tracing::error!(
                "{} next logins are queued already; {username} not queued",
                crate::state::MAX_NEXT_LOGINS
            );
        }
    }

    /// Arms `fault` for every matching response until cleared; the returned handle narrows it
    /// (`.times(1).for_client("app")`) or clears it. Each narrowing applies at once; to arm an already
    /// narrowed fault atomically (providers shared by concurrent tests), use [`Handle::arm`].
    pub fn fault(&self, fault: Fault) -> FaultHandle<'_> {
        // An unscoped spec always passes `check`, and the registry has room unless 1,024 are armed.
        let id = self.state.faults.arm(FaultSpec::new(fault)).ok();
        FaultHandle {
            registry: &self.state.faults,
            id,
        }
    }

    /// Arms a fault as described (what every surface calls); returns its id.
    pub fn arm(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        self.state.faults.arm(spec)
    }

    /// The armed faults, oldest first.
    pub fn faults(&self) -> Vec<ArmedFault> {
        self.state.faults.list()
    }

    /// Disarms one fault by id.
    pub fn clear_fault(&self, id: u64) -> Result<(), FaultError> {
        self.state.faults.clear(id)
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear_all();
    }

    /// Publishes a fresh signing key and signs with it from now on; `retire_old` drops the older keys
    /// from the JWKS. Returns the new `kid` (of the provider's key type; the other one's, if made for a
    /// client registered with it, is rotated too).
    pub fn rotate_keys(&self, retire_old: bool) -> Result<String, crate::keys::KeyError> {
        // The second key type, once made for a client registered with it, rotates with the first.
        if self.state.other_keys.is_made() {
            self.state.other_keys.rotate(retire_old)?;
        }
        self.state.keys.rotate(retire_old)
    }

    /// The published keys as they are now, for [`Handle::restore_keys`].
    pub fn keys_snapshot(&self) -> Result<crate::keys::KeySnapshot, crate::keys::KeyError> {
        self.state.keys.snapshot().map(crate::keys::KeySnapshot)
    }

    /// Puts back the keys of a [`Handle::keys_snapshot`]: they sign and are published again, and keys
    /// rotated in since are gone.
    pub fn restore_keys(&self, keys: crate::keys::KeySnapshot) {
        self.state.keys.restore(keys.0);
    }

    /// The kids in the JWKS, the signing one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.state.keys.kids()
    }

    /// Every request the log still holds, oldest first, secrets masked.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests.all()
    }

    /// The requests logged after sequence number `seq` (a cursor: each record has its `seq`).
    pub fn requests_since(&self, seq: u64) -> Vec<RequestRecord> {
        self.state.requests.since(seq)
    }

    /// The provider's verdict on its clients' behaviour, from the request log.
    pub fn verdict(&self) -> Verdict {
        self.state.verdict()
    }

    /// The verdict over the requests logged after position `seq` (a position from the request log's `last_seq`).
    pub fn verdict_since(&self, seq: u64) -> Verdict {
        self.state.verdict_since(seq)
    }

    /// How many POST requests reached the token endpoint, whatever their outcome, since start.
    pub fn token_requests(&self) -> u64 {
        self.state
            .token_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The clock of this server; `clock().advance(d)` moves its time forward.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The shared state, for advanced tests.
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }
}

/// A fault armed through [`Handle::fault`]; its methods narrow it in place.
#[derive(Debug)]
pub struct FaultHandle<'a> {
    /// The registry it is armed in.
    registry: &'a crate::faults::FaultRegistry,
    /// Its id; `None` if the registry was full.
    id: Option<u64>,
}

impl FaultHandle<'_> {
    /// Its id, for [`Handle::clear_fault`]; `None` if it could not be armed (1,024 faults armed already).
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    fn update(self, change: impl FnOnce(&mut FaultSpec)) -> Self {
        if let Some(id) = self.id
            && let Err(e) = self.registry.update(id, change)
        {
            tracing::error!("fault {id}: {e}");
        }
        self
    }

    /// Spoils only the next `n` matching responses.
    pub fn times(self, n: u32) -> Self {
        self.update(|s| s.times = Some(n))
    }

    /// Spoils only the next matching response.
    pub fn once(self) -> Self {
        self.times(1)
    }

    /// Spoils only responses to `client_id`.
    pub fn for_client(self, client_id: &str) -> Self {
        self.update(|s| s.client_id = Some(client_id.to_owned()))
    }

    /// Spoils only the flows of `username`.
    pub fn for_user(self, username: &str) -> Self {
        self.update(|s| s.username = Some(username.to_owned()))
    }

    /// Disarms it.
    pub fn clear(self) {
        if let Some(id) = self.id {
            let _ = self.registry.clear(id);
        }
    }
}
