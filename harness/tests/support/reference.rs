//! The first target: the workspace's `reference-client`, started in-process on a random port with a fresh
//! SQLite file and its own clock. With [`Weaknesses`] it is served through [`super::weak`] instead, the
//! deliberately broken variant the mutation test runs the features against.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reference_client::{
    AppState, Application, Clock, NewUser, Settings, UnknownUserPolicy, app_jwt::APP_JWT_TYP,
    config::Secret,
};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};
use url::Url;

use mock_idp_harness::{
    parameters::{Policy, Role},
    target::{
        CallbackMethod, ExtraKind, ExtraProvider, ProviderSetup, SeedUser, Startup, Target,
        TargetFactory, TargetOptions,
    },
};

use super::weak::{self, Weaknesses};

/// Starts reference-client backends, optionally weakened.
#[derive(Debug, Clone, Default)]
pub struct ReferenceFactory {
    /// `None`: the real backend. `Some`: served through the weakened callback, with these weaknesses on
    /// (all off is the mutation test's control run).
    pub weakened: Option<Weaknesses>,
}

/// The reference backends' HTTP timeout towards the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

impl ReferenceFactory {
    /// The real reference client.
    pub fn new() -> Self {
        ReferenceFactory::default()
    }

    /// The reference client with its callback replaced by the weakened one.
    pub fn weakened(weaknesses: Weaknesses) -> Self {
        ReferenceFactory {
            weakened: Some(weaknesses),
        }
    }
}

/// A unique path for this scenario's database, under the system temp directory.
fn temp_db_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "harness-{}-{}-{nanos}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A fresh app-JWT key of 256 bits (43 base64url characters), so no scenario runs with the public
/// development key.
fn random_key() -> String {
    reference_client::store::random_token(32)
}

impl TargetFactory for ReferenceFactory {
    fn name(&self) -> String {
        match &self.weakened {
            None => "reference-client".into(),
            Some(w) => format!("reference-client weakened ({w})"),
        }
    }

    fn chooses_id_token_alg(&self) -> bool {
        true
    }

    fn start<'a>(
        &'a self,
        provider: &'a ProviderSetup,
        options: &'a TargetOptions,
    ) -> BoxFuture<'a, anyhow::Result<Box<dyn Target>>> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding the backend")?;
            let addr = listener.local_addr().context("backend address")?;
            let base = Url::parse(&format!("http://{addr}/")).context("backend URL")?;
            let database = temp_db_path();
            let jwt_key = random_key();

            let mut settings = Settings::builtin();
            settings.issuer = provider.issuer.clone();
            settings.client_id = provider.client_id.clone();
            settings.client_secret = Secret::new(provider.client_secret.clone());
            settings.redirect_uri = base.join("callback").context("redirect URI")?;
            settings.listen = addr;
            settings.database = database.clone();
            settings.jwt_key = Secret::new(jwt_key.clone());
            settings.uses_dev_jwt_key = false;
            settings.seed_demo_users = false;
            // Long enough that a loaded CI machine never times out an ordinary request; the UM-IDP-FAILURE
            // delay scenarios read it through `Target::provider_timeout`.
            settings.http_timeout = PROVIDER_TIMEOUT;
            settings.unknown_user_policy = match options.unknown_user_policy {
                Policy::Reject => UnknownUserPolicy::Reject,
                Policy::AutoCreate => UnknownUserPolicy::AutoCreate,
                Policy::RequireBinding => UnknownUserPolicy::RequireBinding,
            };
            if options.signed_userinfo {
                // What the harness registers for it (RS-USERINFO-JWT): the provider's default algorithm.
                settings.userinfo_signed_response_alg = Some(jsonwebtoken::Algorithm::RS256);
            }
            if !options.extra_providers.is_empty() {
                settings.providers = providers(&settings, &options.extra_providers)?;
            }
            if options.form_post {
                settings.response_mode = reference_client::config::ResponseMode::FormPost;
            }
            settings.id_token_alg = options.id_token_alg.map(|alg| match alg {
                mock_idp::IdTokenAlg::RS256 => reference_client::config::IdTokenAlg::RS256,
                mock_idp::IdTokenAlg::ES256 => reference_client::config::IdTokenAlg::ES256,
                mock_idp::IdTokenAlg::HS256 => reference_client::config::IdTokenAlg::HS256,
            });
            let jwt_issuer = settings.jwt_issuer.clone();
            let jwt_audience = settings.jwt_audience.clone();

            let clock = Clock::system();
            let state = AppState::new(settings, clock.clone()).context("building the backend")?;
            let router = match self.weakened {
                None => reference_client::router(state.clone()),
                Some(w) => weak::router(state.clone(), w),
            };
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
            });
            Ok(Box::new(ReferenceTarget {
                base,
                state,
                clock,
                database,
                jwt_key,
                jwt_issuer,
                jwt_audience,
                stop: Some(stop),
                _task: task,
            }) as Box<dyn Target>)
        })
    }

    /// The reference client registers for signed userinfo when a scenario asks (RS-USERINFO-JWT).
    fn chooses_userinfo_signing(&self) -> bool {
        true
    }

    /// The deployment path: `RC_*` settings through [`Settings::load_from`] (where the configuration is
    /// validated), then [`Application::build`] on `127.0.0.1:0`; the application is dropped unserved.
    fn try_start_with_jwt_key<'a>(
        &'a self,
        provider: &'a ProviderSetup,
        key: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Startup>> {
        Box::pin(async move {
            let database = temp_db_path();
            let env = [
                ("RC_ISSUER", provider.issuer.as_str()),
                ("RC_CLIENT_ID", provider.client_id.as_str()),
                ("RC_CLIENT_SECRET", provider.client_secret.as_str()),
                ("RC_REDIRECT_URI", "http://127.0.0.1:3000/callback"),
                ("RC_LISTEN", "127.0.0.1:0"),
                ("RC_DATABASE", &database.to_string_lossy()),
                ("RC_SEED_DEMO_USERS", "false"),
                ("RC_JWT_KEY", key),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            let outcome = match Settings::load_from(None, env) {
                Err(e) => Startup::Refused(e.to_string()),
                Ok(settings) => match Application::build(settings).await {
                    Err(e) => Startup::Refused(format!("{e:#}")),
                    Ok(app) => {
                        drop(app);
                        Startup::Started
                    }
                },
            };
            remove_database(&database);
            Ok(outcome)
        })
    }
}

/// The OpenID provider of the settings (named [`reference_client::config::DEFAULT_PROVIDER_NAME`]) first,
/// then the scenario's further providers.
fn providers(
    settings: &Settings,
    extra: &[ExtraProvider],
) -> anyhow::Result<Vec<reference_client::config::ProviderSettings>> {
    use reference_client::config::{ProviderKind, ProviderSettings};
    let policy = |p: Option<Policy>| {
        p.map(|p| match p {
            Policy::Reject => UnknownUserPolicy::Reject,
            Policy::AutoCreate => UnknownUserPolicy::AutoCreate,
            Policy::RequireBinding => UnknownUserPolicy::RequireBinding,
        })
    };
    let mut list = settings.effective_providers();
    for p in extra {
        let base = Url::parse(&p.base_url).context("provider base URL")?;
        let kind = match p.kind {
            ExtraKind::Wechat => ProviderKind::Wechat {
                appid: p.client_id.clone(),
                secret: Secret::new(p.client_secret.clone()),
                authorize_base: base.clone(),
                api_base: base,
            },
            ExtraKind::Github => ProviderKind::Github {
                client_id: p.client_id.clone(),
                client_secret: Secret::new(p.client_secret.clone()),
                authorize_base: base.clone(),
                api_base: base,
                scopes: vec!["read:user".into()],
            },
            ExtraKind::Google => ProviderKind::Google {
                issuer: p.base_url.trim_end_matches('/').to_owned(),
                client_id: p.client_id.clone(),
                client_secret: Secret::new(p.client_secret.clone()),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
                hosted_domain: p.google.hosted_domain.clone(),
                authorized_parties: p.google.authorized_parties.clone(),
                offline: p.google.offline,
            },
            ExtraKind::Apple => {
                let keys = p
                    .apple
                    .as_ref()
                    .context("an Apple provider without its client-secret key")?;
                ProviderKind::Apple {
                    client_id: p.client_id.clone(),
                    team_id: keys.team_id.clone(),
                    key_id: keys.key_id.clone(),
                    private_key: Secret::new(
                        keys.private_key_pem
                            .clone()
                            .context("an Apple provider without its private key")?,
                    ),
                    base_url: base,
                    scopes: vec!["name".into(), "email".into()],
                }
            }
            ExtraKind::Entra => {
                let entra = p
                    .entra
                    .clone()
                    .context("an Entra provider without its settings")?;
                ProviderKind::Entra {
                    base,
                    tenant: entra.path_tenant,
                    client_id: p.client_id.clone(),
                    client_secret: Secret::new(p.client_secret.clone()),
                    scopes: vec!["openid".into(), "profile".into(), "email".into()],
                    allowed_tenants: entra.allowed_tenants,
                }
            }
        };
        list.push(ProviderSettings {
            name: p.name.clone(),
            kind,
            unknown_user_policy: policy(p.policy),
        });
    }
    Ok(list)
}

/// Removes a SQLite file and its companions.
fn remove_database(database: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = database.to_owned().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}

/// A running reference-client.
pub struct ReferenceTarget {
    /// `http://127.0.0.1:port/`.
    base: Url,
    /// The backend's state: its database and stores, used by the setup hooks only.
    state: AppState,
    /// The backend's clock.
    clock: Clock,
    /// The SQLite file, removed at shutdown.
    database: PathBuf,
    /// The app-JWT key, for `forge_token`.
    jwt_key: String,
    /// The app-JWT `iss`.
    jwt_issuer: String,
    /// The app-JWT `aud`.
    jwt_audience: String,
    /// Stops the server.
    stop: Option<oneshot::Sender<()>>,
    /// The serve loop; it ends once `stop` fires and open connections close.
    _task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for ReferenceTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceTarget")
            .field("base", &self.base.as_str())
            .field("database", &self.database)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .finish_non_exhaustive()
    }
}

impl ReferenceTarget {
    fn url(&self, path: &str) -> Url {
        // `base` ends in `/` and paths are static, so join cannot fail; fall back to the base anyway.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now_unix()).unwrap_or(i64::MAX)
    }
}

impl Target for ReferenceTarget {
    fn redirect_uri(&self) -> String {
        self.url("callback").to_string()
    }

    fn login_url(&self) -> Url {
        self.url("auth/login")
    }

    fn provider_timeout(&self) -> Option<Duration> {
        Some(PROVIDER_TIMEOUT)
    }

    fn callback(&self) -> (Url, CallbackMethod) {
        (self.url("api/auth/callback"), CallbackMethod::PostJson)
    }

    fn profile_url(&self) -> Url {
        self.url("api/me")
    }

    fn logout_url(&self) -> Option<Url> {
        Some(self.url("api/auth/logout"))
    }

    fn post_logout_redirect_uri(&self) -> Option<String> {
        // The reference client's default: its start page.
        Some(self.base.to_string())
    }

    fn backchannel_logout_uri(&self) -> Option<String> {
        Some(self.url("backchannel-logout").to_string())
    }

    fn bind_url(&self) -> Option<Url> {
        Some(self.url("api/auth/bind"))
    }

    fn app_token_issuer(&self) -> Option<String> {
        Some(self.jwt_issuer.clone())
    }

    fn app_token_audience(&self) -> Option<String> {
        Some(self.jwt_audience.clone())
    }

    fn link_url(&self, provider: &str) -> Option<Url> {
        let mut url = self.url("api/auth/login-url");
        url.query_pairs_mut().append_pair("provider", provider);
        Some(url)
    }

    fn identities_url(&self) -> Option<Url> {
        Some(self.url("api/me/identities"))
    }

    fn provider_profile_url(&self) -> Option<Url> {
        Some(self.url("api/me/provider-profile"))
    }

    fn identity_url(&self, id: &str) -> Option<Url> {
        Some(self.url(&format!("api/me/identities/{id}")))
    }

    fn seed_user<'a>(&'a self, user: &'a SeedUser) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let db = &self.state.db;
            let role = match user.role {
                Role::Admin => reference_client::Role::Admin,
                Role::User => reference_client::Role::User,
            };
            let created = db.add_user(
                &NewUser {
                    display_name: user.display_name.clone(),
                    role,
                    avatar_url: user.avatar_url.clone(),
                    phone: None,
                },
                self.now(),
            )?;
            db.bind_identity(&user.issuer, &user.subject, created.id, self.now())?;
            // The email the scenario gives (an app that links by email would link on it).
            if let Some(email) = &user.email {
                db.set_email(created.id, email)?;
            }
            if user.disabled {
                db.set_disabled(created.id, true)?;
            }
            Ok(())
        })
    }

    fn users_bound_to<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<usize>> {
        Box::pin(async move { self.state.db.count_users_bound_to(issuer, subject) })
    }

    fn user_count(&self) -> BoxFuture<'_, anyhow::Result<usize>> {
        Box::pin(async move { Ok(self.state.db.list_users()?.len()) })
    }

    fn advance_clock(&self, by: Duration) -> BoxFuture<'_, anyhow::Result<()>> {
        self.clock.advance(by);
        Box::pin(async { Ok(()) })
    }

    fn forge_token<'a>(&'a self, claims: &'a Value) -> BoxFuture<'a, anyhow::Result<String>> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(APP_JWT_TYP.into());
        let token = jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(self.jwt_key.as_bytes()),
        )
        .context("signing a forged app token");
        Box::pin(async move { token })
    }
}

/// Stops serving and removes the database file; SQLite's open handle keeps working until the state goes.
impl Drop for ReferenceTarget {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        remove_database(&self.database);
    }
}
