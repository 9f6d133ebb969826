//! Serving: [`Server`] binds the root provider, its tenants and the admin API; [`MockIdp::start`] binds, serves
//! on a background task and returns the root provider's [`Handle`].

use std::net::SocketAddr;

use axum::{Router, routing::any};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    clock::Clock,
    config::{Config, validate_issuer},
    conn::{AbortableListener, Conn},
    error::ConfigError,
    handle::Handle,
    keys::SigningKey,
    router::router,
    state::AppState,
    store::Stores,
    tenants::{self, Hub, TenantError},
};

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
        let key = SigningKey::of_provider::<StartError>(&config)?;
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
            root: Handle::of(hub.root().clone()),
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
        self.hub.get(name).map(Handle::of)
    }

    /// Creates a tenant (see [`Hub`]): a copy of the root's clients and users with keys of its
    /// own, or one configured by `config`.
    pub fn create_tenant(
        &self,
        name: Option<&str>,
        config: Option<Config>,
    ) -> Result<Handle, TenantError> {
        self.hub.create(name, config).map(Handle::of)
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

impl Drop for MockIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
