//! `router(state)` and the embeddable server: [`MockIdp::start`] binds, serves on a background task and
//! returns a handle with the issuer, endpoint URLs and test controls.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    routing::{any, get, post},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{
    authorize,
    clock::Clock,
    config::{ClientConfig, Config, ConfigError, Persona, UserConfig, validate_issuer},
    conn::{AbortableListener, Conn},
    discovery,
    faults::{ArmedFault, Fault, FaultError, FaultSpec},
    grants,
    keys::SigningKey,
    personas,
    requests::{self, RequestRecord},
    resource,
    state::{AppState, write},
    store::Stores,
    tenants::{self, Hub, TenantError},
    verdict::Verdict,
};

/// Builds the router for a state; tests may drive it with `tower::ServiceExt::oneshot` without a socket.
pub(crate) fn router(state: AppState) -> Router {
    // The persona is chosen once, here: its protocol's routes, over the same state.
    let routes = match state.config.persona {
        Persona::Oidc => oidc_routes(),
        Persona::Wechat => personas::wechat::routes(),
        Persona::Github => personas::github::routes(),
    };
    routes
        .route(authorize::LOGIN_PATH, post(authorize::login_submit))
        .route("/avatars/{file}", get(personas::avatars::avatar))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            requests::record,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            // One line per request: method, path (never the query: it carries codes), status and time.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "served");
                    },
                ),
        )
        .with_state(state)
}

/// The OpenID Connect persona's routes.
fn oidc_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::discovery),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::discovery),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/keys/{tag}/jwks", get(discovery::moved_jwks))
        .route("/authorize", get(authorize::authorize))
        .route(
            "/token",
            post(grants::token).fallback(grants::token_wrong_method),
        )
        .route(
            "/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
        .route("/revoke", post(resource::revoke))
        .route("/introspect", post(resource::introspect))
        // RP-Initiated Logout 1.0 §2: GET or POST.
        .route(
            crate::logout::LOGOUT_PATH,
            get(crate::logout::end_session).post(crate::logout::end_session),
        )
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Every route of a server: the root provider, its tenants under `/t/NAME`, and (when on) the admin API.
pub(crate) fn app(hub: Hub, admin: Option<crate::admin::AdminAuth>) -> Router {
    let tenants = Router::new()
        .route("/t/{tenant}", any(tenants::dispatch))
        .route("/t/{tenant}/{*rest}", any(tenants::dispatch))
        .with_state(hub.clone());
    let mut app = router(hub.root().clone()).merge(tenants);
    if let Some(auth) = admin {
        app = app.merge(crate::admin::routes(hub, auth));
    }
    app
}

/// A server bound to its listener but not yet serving.
#[derive(Debug)]
pub struct Server {
    /// The bound listener.
    listener: TcpListener,
    /// The root provider and its tenants.
    hub: Hub,
    /// The admin API's access rule, when it is on.
    admin: Option<crate::admin::AdminAuth>,
    /// The certificate, when serving HTTPS.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::Tls>,
}

impl Server {
    /// Validates `config`, loads the key and binds `config.address` (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        let stores = Stores::in_memory(&config.limits);
        Server::bind_with_stores(config, stores).await
    }

    /// [`Server::bind`] with the given stores instead of the in-memory ones.
    pub async fn bind_with_stores(config: Config, stores: Stores) -> Result<Server, StartError> {
        config.validate()?;
        let key = match SigningKey::configured::<StartError>(&config)? {
            Some(key) => key,
            None => SigningKey::test_only(config.signing_alg)?,
        };
        let listener =
            TcpListener::bind(config.address)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.address,
                    source,
                })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.address,
            source,
        })?;
        #[cfg(feature = "tls")]
        let tls = config.tls.as_ref().map(crate::tls::Tls::load).transpose()?;
        #[cfg(not(feature = "tls"))]
        if config.tls.is_some() {
            return Err(ConfigError::Invalid {
                field: "tls".into(),
                reason: "this mock-idp was built without the `tls` feature".into(),
            }
            .into());
        }
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let issuer = match &config.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("{scheme}://{local}"),
        };
        validate_issuer(&issuer)?;
        let admin = crate::admin::AdminAuth::from_config(&config, local.ip());
        let tenant_configs = config.tenants.clone();
        let state = AppState::with_stores(issuer, config, key, Clock::new(), stores);
        let hub = Hub::new(state);
        for (i, t) in tenant_configs.into_iter().enumerate() {
            hub.create(Some(&t.name), Some(t.config))
                .map_err(|e| ConfigError::Invalid {
                    field: format!("tenants[{i}]"),
                    reason: e.to_string(),
                })?;
        }
        Ok(Server {
            listener,
            hub,
            admin,
            #[cfg(feature = "tls")]
            tls,
        })
    }

    /// The CA certificate file clients should trust, when serving HTTPS with a generated certificate.
    pub fn tls_ca_file(&self) -> Option<std::path::PathBuf> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.ca_file().map(std::path::Path::to_path_buf);
        }
        None
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The root provider's state (issuer, registry, clock).
    pub(crate) fn state(&self) -> &AppState {
        self.hub.root()
    }

    /// The root provider's controls (issuer, clients, users, faults, clock …).
    pub fn handle(&self) -> Handle {
        Handle::of(self.hub.root().clone())
    }

    /// The root provider and its tenants.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The admin API's access rule, when it is on (the CLI prints whether a token is needed).
    pub fn admin(&self) -> Option<&crate::admin::AdminAuth> {
        self.admin.as_ref()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address keys the client-authentication throttle and the request log; the listener lets
        // a fault abort a connection.
        let app = app(self.hub, self.admin).into_make_service_with_connect_info::<Conn>();
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return axum::serve(tls.listener(self.listener), app)
                .with_graceful_shutdown(shutdown)
                .await;
        }
        axum::serve(AbortableListener(self.listener), app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A running in-process mock IdP. Dropping it stops the server. It dereferences to the root provider's
/// [`Handle`]; [`MockIdp::tenant`] gives a tenant's, with the same methods.
#[derive(Debug)]
pub struct MockIdp {
    /// The root provider's controls.
    root: Handle,
    /// The root provider and its tenants.
    hub: Hub,
    /// Where it listens.
    addr: SocketAddr,
    /// The CA certificate clients should trust, when serving HTTPS with a generated certificate.
    tls_ca_file: Option<std::path::PathBuf>,
    /// Tells the serve loop to stop.
    stop: Option<oneshot::Sender<()>>,
    /// The serve loop.
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockIdp {
    /// Binds `config.address` (default `127.0.0.1:0`) and serves on a background task of the current runtime.
    pub async fn start(config: Config) -> Result<MockIdp, StartError> {
        let stores = Stores::in_memory(&config.limits);
        MockIdp::start_with_stores(config, stores).await
    }

    /// [`MockIdp::start`] with the given stores instead of the in-memory ones.
    pub async fn start_with_stores(config: Config, stores: Stores) -> Result<MockIdp, StartError> {
        let server = Server::bind_with_stores(config, stores).await?;
        let hub = server.hub.clone();
        let addr = server.local_addr();
        let tls_ca_file = server.tls_ca_file();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Ok(MockIdp {
            root: Handle {
                state: hub.root().clone(),
            },
            hub,
            addr,
            tls_ca_file,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Starts the built-in clients and users ([`Config::builtin`]) on a random port.
    pub async fn start_default() -> Result<MockIdp, StartError> {
        MockIdp::start(Config::builtin()).await
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate file a client should trust (e.g. `reqwest::Certificate::from_pem`), when this
    /// server serves HTTPS with a generated certificate (`Config::tls`, feature `tls`).
    pub fn tls_ca_file(&self) -> Option<&std::path::Path> {
        self.tls_ca_file.as_deref()
    }

    /// A tenant's controls, if it exists.
    pub fn tenant(&self, name: &str) -> Option<Handle> {
        self.hub.get(name).map(|state| Handle { state })
    }

    /// Creates a tenant (see [`Hub`]): a copy of the root's clients and users with keys of its
    /// own, or one configured by `config`.
    pub fn create_tenant(
        &self,
        name: Option<&str>,
        config: Option<Config>,
    ) -> Result<Handle, TenantError> {
        self.hub.create(name, config).map(|state| Handle { state })
    }

    /// Deletes a tenant; whether it existed.
    pub fn delete_tenant(&self, name: &str) -> bool {
        self.hub.delete(name)
    }

    /// Every tenant as (name, issuer).
    pub fn tenants(&self) -> Vec<(String, String)> {
        self.hub.list()
    }

    /// The root provider and its tenants.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stops serving and waits for the serve loop to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::ops::Deref for MockIdp {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.root
    }
}

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
        let mut all: Vec<ClientConfig> = crate::state::read(&self.state.clients)
            .values()
            .map(|c| c.config.clone())
            .collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        all
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

impl Drop for MockIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
