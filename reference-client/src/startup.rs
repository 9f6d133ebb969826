//! Wiring: settings → state → router → a bound listener that tests can run on a random port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app_jwt::AppJwt;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Database;
use crate::oidc::Provider;
use crate::providers::Providers;
use crate::routes;
use crate::store::{BindingTickets, SessionStore, TransactionStore, UsedJtis};

/// Everything a request handler needs; cheap to clone (handles only).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The validated configuration.
    pub settings: Arc<Settings>,
    /// The user database.
    pub db: Arc<Database>,
    /// The top-level OpenID provider (`issuer`, `client_id`): discovery, authorization URL, code
    /// exchange, id_token checks. Without `[[providers]]` it is the only provider.
    pub provider: Arc<Provider>,
    /// Every configured provider, in login-page order.
    pub providers: Arc<Providers>,
    /// Pending logins, keyed by state.
    pub transactions: Arc<TransactionStore>,
    /// Pending bindings (require-binding policy).
    pub binding_tickets: Arc<BindingTickets>,
    /// Cookie-mode sessions.
    pub sessions: Arc<SessionStore>,
    /// `jti`s of accepted back-channel logout tokens.
    pub logout_jtis: Arc<UsedJtis>,
    /// Issues and verifies the app JWT.
    pub jwt: AppJwt,
    /// The application's time; tests advance it.
    pub clock: Clock,
    /// Serialises the refreshes of one user's provider tokens (striped by user id: bounded, and two
    /// users rarely wait for each other).
    refresh_locks: Arc<[tokio::sync::Mutex<()>; REFRESH_LOCKS]>,
}

/// Stripes of [`AppState::refresh_lock`].
const REFRESH_LOCKS: usize = 16;

impl AppState {
    /// Builds the state: opens (and migrates) the database, seeds demo users when configured.
    pub fn new(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let db = Database::open(&settings.database)?;
        let now = i64::try_from(clock.now_unix()).unwrap_or(i64::MAX);
        if settings.seed_demo_users && db.seed_demo_users(&settings.issuer, now)? {
            tracing::info!(issuer = %settings.issuer, "seeded demo users alice (admin) and bob (user)");
        }
        if settings.test_hooks {
            tracing::warn!("serving the test hooks under /test/: for a conformance run only");
        }
        if settings.uses_dev_jwt_key {
            tracing::warn!(
                "using the public development JWT key; set jwt_key / RC_JWT_KEY outside development"
            );
        }
        let provider = Arc::new(Provider::new(&settings, clock.clone())?);
        let providers = Arc::new(Providers::new(&settings, &provider, &clock)?);
        let jwt = AppJwt::new(
            settings.jwt_key.expose().as_bytes(),
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.jwt_ttl.as_secs(),
            clock.clone(),
        );
        let limits = settings.limits;
        Ok(Self {
            settings: Arc::new(settings),
            db: Arc::new(db),
            provider,
            providers,
            transactions: Arc::new(TransactionStore::new(
                limits.transactions,
                limits.transactions_per_address,
            )),
            binding_tickets: Arc::new(BindingTickets::new(limits.binding_tickets)),
            sessions: Arc::new(SessionStore::new(limits.sessions)),
            logout_jtis: Arc::new(UsedJtis::new(limits.logout_jtis)),
            jwt,
            clock,
            refresh_locks: Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
        })
    }

    /// The lock that serialises refreshes of `user_id`'s provider tokens.
    pub fn refresh_lock(&self, user_id: i64) -> &tokio::sync::Mutex<()> {
        let stripe = usize::try_from(user_id.unsigned_abs() % REFRESH_LOCKS as u64).unwrap_or(0);
        &self.refresh_locks[stripe]
    }

    /// Current time in Unix seconds, from the application clock.
    pub fn now(&self) -> u64 {
        self.clock.now_unix()
    }
}

/// The HTTP routes; usable with `tower::ServiceExt::oneshot` without a socket.
pub fn router(state: AppState) -> Router {
    // Pictures come from the providers (mock-idp serves its users' avatars over plain http locally).
    let mut img_src = vec!["'self'".to_owned(), "https:".to_owned(), "data:".to_owned()];
    for p in state.providers.all() {
        for origin in p.origins() {
            if !img_src.contains(&origin) {
                img_src.push(origin);
            }
        }
    }
    let csp = format!(
        "default-src 'self'; img-src {}; frame-ancestors 'none'; base-uri 'none'",
        img_src.join(" ")
    );
    let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'",
        )
    });
    // A conformance run's setup hooks, only when configured (and then only on loopback).
    let hooks = if state.settings.test_hooks {
        routes::test_hooks::routes()
    } else {
        Router::new()
    };
    // With form_post the provider's page POSTs the response to the callback page; otherwise only GET.
    // Sign in with Apple always answers by form_post (it asks for `name` and `email`).
    let apple = state
        .settings
        .effective_providers()
        .iter()
        .any(|p| matches!(p.kind, crate::config::ProviderKind::Apple { .. }));
    let callback = if state.settings.response_mode == crate::config::ResponseMode::FormPost || apple
    {
        get(routes::pages::callback).post(routes::pages::callback_posted)
    } else {
        get(routes::pages::callback)
    };
    Router::new()
        .merge(hooks)
        .route("/", get(routes::pages::index))
        .route("/callback", callback)
        .route("/app.js", get(routes::pages::script))
        .route("/health", get(routes::pages::health))
        .route("/auth/login", get(routes::login::redirect_to_provider))
        .route("/api/auth/login-url", get(routes::login::login_url))
        .route("/api/auth/providers", get(routes::login::providers))
        .route("/api/auth/callback", post(routes::callback::callback))
        .route("/api/me/identities", get(routes::identities::list))
        .route(
            "/api/me/identities/{id}",
            axum::routing::delete(routes::identities::unlink),
        )
        .route("/api/auth/bind", post(routes::bind::bind))
        .route("/api/auth/logout", post(routes::logout::logout))
        .route("/backchannel-logout", post(routes::logout::backchannel))
        .route("/api/me", get(routes::me::me))
        .route(
            "/api/me/provider-profile",
            get(routes::provider_profile::provider_profile),
        )
        .route("/api/admin/users", get(routes::admin::list_users))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(
            // Method and path only, at every level: the query of /callback carries the code and state, which
            // must not end up in logs (RFC 9700 §4.2.4 treats logs as a leak path).
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

/// A built application: state plus a bound listener.
#[derive(Debug)]
pub struct Application {
    /// Bound before serving, so the port is known (port 0 picks a free one).
    listener: tokio::net::TcpListener,
    /// The state the router runs with.
    state: AppState,
}

impl Application {
    /// Binds `settings.listen` and builds the state with the system clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        Self::from_parts(settings, listener, Clock::system())
    }

    /// Uses an already bound listener (so a test can learn the port, register its redirect URI at the
    /// provider, then start the app) and the given clock.
    pub fn build_with_listener(
        settings: Settings,
        listener: std::net::TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        listener
            .set_nonblocking(true)
            .context("setting the listener non-blocking")?;
        let listener =
            tokio::net::TcpListener::from_std(listener).context("adopting the listener")?;
        Self::from_parts(settings, listener, clock)
    }

    fn from_parts(
        settings: Settings,
        listener: tokio::net::TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let state = AppState::new(settings, clock)?;
        Ok(Self { listener, state })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.listen)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// The state (database, clock, stores) — for tests and the harness.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address keys the login-transaction store's per-address fairness.
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
