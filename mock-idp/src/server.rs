//! `router(state)` and the embeddable server: [`MockIdp::start`] binds, serves on a background task and
//! returns a handle with the issuer, endpoint URLs and test controls.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    routing::{get, post},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{
    authorize,
    clock::Clock,
    config::{ClientConfig, Config, ConfigError, UserConfig, validate_issuer},
    discovery, grants,
    keys::SigningKey,
    resource,
    state::{AppState, RegisteredClient, write},
    store::Stores,
};

/// Builds the router for a state; tests may drive it with `tower::ServiceExt::oneshot` without a socket.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery::discovery))
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route(authorize::LOGIN_PATH, post(authorize::login_submit))
        .route("/token", post(grants::token).fallback(grants::token_wrong_method))
        .route("/userinfo", get(resource::userinfo).post(resource::userinfo))
        .route("/revoke", post(resource::revoke))
        .route("/introspect", post(resource::introspect))
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

/// A server bound to its listener but not yet serving.
#[derive(Debug)]
pub struct Server {
    /// The bound listener.
    listener: TcpListener,
    /// The shared state.
    state: AppState,
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
        let key = match &config.signing_key {
            Some(path) => {
                let pem = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                    field: "signing_key".into(),
                    reason: format!("cannot read {path}: {e}"),
                })?;
                SigningKey::from_pem(config.signing_alg, &pem, "key-1")?
            }
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
        let issuer = match &config.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("http://{local}"),
        };
        validate_issuer(&issuer)?;
        let state = AppState::with_stores(issuer, config, key, Clock::new(), stores);
        Ok(Server { listener, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The shared state (issuer, registry, clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address keys the client-authentication throttle.
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A running in-process mock IdP. Dropping it stops the server.
#[derive(Debug)]
pub struct MockIdp {
    /// Shared with the server's handlers: the registry, clock and stores the test controls act on.
    state: AppState,
    /// Where it listens.
    addr: SocketAddr,
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
        let state = server.state.clone();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Ok(MockIdp {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Starts the built-in clients and users ([`Config::builtin`]) on a random port.
    pub async fn start_default() -> Result<MockIdp, StartError> {
        MockIdp::start(Config::builtin()).await
    }

    /// The issuer identifier, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An absolute URL for `path` on this server, e.g. `url("/token")`.
    pub fn url(&self, path: &str) -> String {
        self.state.url(path)
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

    /// The revocation endpoint.
    pub fn revocation_endpoint(&self) -> String {
        self.url("/revoke")
    }

    /// The introspection endpoint.
    pub fn introspection_endpoint(&self) -> String {
        self.url("/introspect")
    }

    /// Adds or replaces a user.
    pub fn add_user(&self, user: UserConfig) -> Result<(), ConfigError> {
        user.validate("user")?;
        write(&self.state.users).insert(user.username.clone(), user);
        Ok(())
    }

    /// Removes a user; their tokens stop working at userinfo.
    pub fn remove_user(&self, username: &str) {
        write(&self.state.users).remove(username);
    }

    /// Adds or replaces a client.
    pub fn add_client(&self, client: ClientConfig) -> Result<(), ConfigError> {
        client.validate("client")?;
        write(&self.state.clients).insert(client.client_id.clone(), RegisteredClient::new(client));
        Ok(())
    }

    /// Makes the next authorization request that passes its checks complete as `username` without the
    /// login page (a 303 straight to the redirect URI). Calls queue up, one login each.
    pub fn next_login(&self, username: &str) {
        self.state
            .next_logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(username.to_owned());
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
    pub fn state(&self) -> &AppState {
        &self.state
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

impl Drop for MockIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
