//! The per-scenario world: a fresh provider, a backend started on first use, browsers, and what the steps
//! observed. What the steps do and check is split by concept so each step stays one or two lines:
//! - this file: the world's state and its setup (policy, secrets, users, starting the backend);
//! - [`login`]: the browser's and the frontend's actions;
//! - [`backend`]: checks on the backend's answers, app token and database;
//! - [`provider`]: what the provider saw and answered.

mod backend;
mod login;

pub use login::flip_middle;
pub(crate) use login::{authorization_response, start_login};
mod provider;

use std::{collections::HashMap, sync::Arc};

use anyhow::{anyhow, ensure};
use serde_json::Value;
use url::Url;

use crate::{
    browser::{Browser, HttpResponse},
    parameters::{Policy, Role},
    provider::{Grant, Provider},
    target::{ProviderSetup, SeedUser, SharedFactory, Startup, Target, TargetOptions},
};

/// The name of the scenario's main browser.
pub const MAIN: &str = "the browser";
/// The name of a second, unrelated browser (another user, or an attacker).
pub const OTHER: &str = "another browser";
/// What [`World::app_token`] holds when the session is the browser's cookies, which the profile endpoint
/// honours, rather than a bearer token.
pub const COOKIE_SESSION: &str = "(the browser's cookie session)";

/// What an app user is seeded with, beyond the provider user it is bound to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seed<'a> {
    /// Its role.
    pub role: Role,
    /// The avatar its profile shows.
    pub avatar_url: Option<&'a str>,
    /// A disabled user gets no session.
    pub disabled: bool,
    /// The issuer of its identity, when not the provider's.
    pub issuer: Option<&'a str>,
    /// Its email in the app's database (for the checks that an email never links accounts).
    pub email: Option<&'a str>,
    /// Its phone number in the app's database.
    pub phone: Option<&'a str>,
}

/// Everything one scenario works with. Built fresh for each scenario, so scenarios run concurrently.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct World {
    /// The mock IdP and the clients the scenario knows.
    pub provider: Provider,
    /// Starts the backend under test; the runner may swap it before the first step.
    pub factory: SharedFactory,
    /// Choices that must be made before the backend starts (its unknown-user policy).
    pub options: TargetOptions,
    /// The backend, started on first use so `Given` steps can still set its options.
    app: Option<Box<dyn Target>>,
    /// Browsers by name; each has its own cookie jar.
    browsers: HashMap<String, Browser>,
    /// The authorization URL the backend last sent a browser to.
    pub login_redirect: Option<Url>,
    /// The provider's last authorization response: the redirect URI with the response's parameters in its
    /// query, whether it came as a redirect or (see [`World::auth_response_posted`]) a form_post page.
    pub auth_response: Option<Url>,
    /// Whether the provider sent [`World::auth_response`] by form_post: the browser then POSTs it.
    pub auth_response_posted: bool,
    /// The backend's cookies the browser left out of the last callback because of their `SameSite`
    /// (named in a failed login's message).
    pub withheld_cookies: Vec<String>,
    /// The last callback handed to the backend, for replays.
    pub last_callback: Option<Value>,
    /// (username, code) of the previous successful login, for replaying its code through the backend.
    pub previous_login: Option<(String, String)>,
    /// The backend's last answer to a callback or bind request.
    pub backend: Option<HttpResponse>,
    /// The last app token issued, if any: a bearer token, or [`COOKIE_SESSION`] when the browser's
    /// cookies are a session the profile endpoint honours.
    pub app_token: Option<String>,
    /// Whether the last backend answer ends a login attempt (a callback, a bind), so a refusal of it must
    /// leave no new session; `false` for answers such as an unlink's.
    pub last_answer_ends_login: bool,
    /// The cookie session the callback's browser held before the last callback (its profile), if any.
    pub session_before: Option<crate::target::Profile>,
    /// The cookie session it holds after the last backend answer, if any.
    pub session_after: Option<crate::target::Profile>,
    /// The scenario's name of the provider user who last signed in at the provider's login page.
    pub signed_in_as: Option<String>,
    /// How many users a running backend held when the scenario started (when its target counts them), so
    /// a count is this scenario's own.
    pub user_count_at_start: Option<usize>,
    /// Whether a step moved the backend's clock, which the runner puts back at the end on a running
    /// backend ([`crate::target::Target::reset_clock`]).
    pub app_clock_moved: bool,
    /// The scenario's tags (without `@`), so a check of the provider's verdict judges only its rows.
    pub tags: Vec<String>,
    /// Parameters the next login must send for the scenario's row to apply (`("state", "ST-MISMATCH")`),
    /// registered before any login started ([`World::require_sent`]).
    pub conditions: Vec<(&'static str, &'static str)>,
    /// Another browser's authorization response, kept for a code-injection attempt.
    pub other_auth_response: Option<Url>,
    /// The last binding ticket handed out (require-binding policy).
    pub last_ticket: Option<String>,
    /// The last profile request's answer.
    pub profile: Option<HttpResponse>,
    /// Codes obtained straight from the provider, newest last.
    pub grants: Vec<Grant>,
    /// Token-endpoint answers, oldest first.
    pub token_responses: Vec<HttpResponse>,
    /// The last discovery document fetched.
    pub discovery: Option<Value>,
    /// The last direct authorization request and its answer.
    pub authorization: Option<(Vec<(String, String)>, HttpResponse)>,
    /// The provider's token-request count just before the last callback was handed to the backend, so a
    /// check can tell what that callback made the backend do (CONFORMANCE: "RP rejects" = no further call).
    pub token_requests_before_callback: u64,
    /// The provider's request-log position just before the last callback, to count what followed it.
    pub log_seq_before_callback: u64,
    /// The client secret to give the backend instead of a random one; only before it starts.
    app_client_secret: Option<String>,
    /// The last revocation answer.
    pub revocation: Option<HttpResponse>,
    /// The last client registration a step tried, and the provider's refusal if it refused.
    pub registration: Option<Result<(), String>>,
    /// The outcome of the last start-only attempt (a startup property such as the JWT key check).
    pub startup: Option<Startup>,
    /// The scenario checks what the backend does by default (tag `@default-policy`): against a running
    /// backend, it applies only when that backend runs the default policy.
    pub needs_default_policy: bool,
    /// The scenario checks what a backend does on its first fetch of the provider's documents (tag
    /// `@fresh-backend`): against a running backend, whose caches are warm, it does not apply.
    pub needs_fresh_backend: bool,
    /// What the browsers and the frontend sent, for the report's sequence diagram.
    pub trace: crate::trace::Trace,
    /// Fingerprints (as the provider's log keeps them) of the codes handed to the backend, so its token
    /// requests can be told apart on a provider that other scenarios share.
    pub codes_handed_over: Vec<String>,
    /// The scenario's WeChat and GitHub providers (tenants of the provider) and what their logins left.
    pub personas: crate::personas::Personas,
    /// What the logout steps observed (`crate::logout`).
    pub logout: crate::logout::LogoutState,
    /// WeChat and GitHub personas the scenario talks to directly, as a client (`crate::persona_client`).
    pub persona_clients: crate::persona_client::PersonaClients,
    /// Another tenant of the provider's server (`crate::tenants`).
    pub other_tenant: crate::tenants::OtherTenant,
    /// What the refresh steps observed (`crate::refresh`).
    pub refresh: crate::refresh::RefreshState,
}

impl World {
    /// A fresh provider; the runner sets the factory of the backend under test before the first step.
    pub async fn new() -> anyhow::Result<World> {
        Ok(World {
            provider: Provider::start().await?,
            factory: Arc::new(crate::target::NoTarget),
            options: TargetOptions::default(),
            app: None,
            browsers: HashMap::new(),
            login_redirect: None,
            auth_response: None,
            auth_response_posted: false,
            withheld_cookies: Vec::new(),
            last_callback: None,
            previous_login: None,
            backend: None,
            app_token: None,
            last_answer_ends_login: false,
            session_before: None,
            session_after: None,
            signed_in_as: None,
            other_auth_response: None,
            conditions: Vec::new(),
            tags: Vec::new(),
            user_count_at_start: None,
            app_clock_moved: false,
            last_ticket: None,
            profile: None,
            grants: Vec::new(),
            token_responses: Vec::new(),
            discovery: None,
            authorization: None,
            token_requests_before_callback: 0,
            log_seq_before_callback: 0,
            app_client_secret: None,
            revocation: None,
            registration: None,
            startup: None,
            needs_default_policy: false,
            needs_fresh_backend: false,
            trace: crate::trace::Trace::default(),
            codes_handed_over: Vec::new(),
            personas: Default::default(),
            logout: Default::default(),
            persona_clients: Default::default(),
            other_tenant: Default::default(),
            refresh: Default::default(),
        })
    }

    /// Sets the unknown-user policy; only before the backend has started.
    pub fn set_policy(&mut self, policy: Policy) -> anyhow::Result<()> {
        if let Some(fixed) = self.factory.fixed() {
            ensure!(
                fixed.policy == policy,
                crate::target::skip(&format!(
                    "needs a backend whose unknown-user policy is {}; this one's is {} (add [start] to \
                     the target file to start one)",
                    policy.as_str(),
                    fixed.policy.as_str()
                ))
            );
        }
        ensure!(
            self.app.is_none(),
            "the app is already running: set its unknown-user policy before any step that uses it"
        );
        self.options.unknown_user_policy = policy;
        Ok(())
    }

    /// The scenario judges a backend that asks for form_post responses (ST-FORM-POST); only before the
    /// backend has started. A backend that asks for another mode makes the scenario not applicable.
    pub fn want_form_post(&mut self) -> anyhow::Result<()> {
        ensure!(
            self.app.is_none(),
            "the app is already running: ask for form_post before any step that uses it"
        );
        self.options.form_post = true;
        Ok(())
    }

    /// The scenario judges a backend registered with `userinfo_signed_response_alg` (RS-USERINFO-JWT); only
    /// before the backend has started. A running backend is one when its target file says so
    /// (`[provider] userinfo_signed_response_alg`); a factory that chooses starts one so; for any other
    /// backend the row does not apply.
    pub fn want_signed_userinfo(&mut self) -> anyhow::Result<()> {
        ensure!(
            self.app.is_none(),
            "the app is already running: register it for signed userinfo before any step that uses it"
        );
        let not_applicable = || {
            crate::target::not_applicable(
                "RS-USERINFO-JWT applies when the backend registered `userinfo_signed_response_alg`; \
                 the target file has no `[provider] userinfo_signed_response_alg` (nor \
                 `{userinfo_signed_response_alg}` in [start], to start a backend so)",
            )
        };
        if let Some(fixed) = self.factory.fixed() {
            return match fixed.userinfo_signed_response_alg {
                Some(_) => Ok(()),
                None => Err(not_applicable()),
            };
        }
        if !self.factory.chooses_userinfo_signing() {
            return Err(not_applicable());
        }
        self.options.signed_userinfo = true;
        Ok(())
    }

    /// The backend's client is registered for id_tokens of `alg` (`id_token_signed_response_alg`) and the
    /// backend is set up so (ID-SIG-ES256, ID-SIG-HS256); only before the backend or the provider is used.
    /// For ES256 the scenario's own provider is started again with `signing_alg = ES256`: the ES256
    /// provider ID-SIG-ES256 describes (a P-256 key, only ES256 listed). On a running backend registered
    /// for the alg, the shared provider signs its id_tokens with its second, P-256 key instead. A backend
    /// that cannot be set up so makes the scenario not applicable.
    pub async fn set_id_token_alg(&mut self, alg: mock_idp::IdTokenAlg) -> anyhow::Result<()> {
        let row = match alg {
            mock_idp::IdTokenAlg::ES256 => "ID-SIG-ES256",
            mock_idp::IdTokenAlg::HS256 => "ID-SIG-HS256",
            mock_idp::IdTokenAlg::RS256 => "ID-SIG",
        };
        if let Some(fixed) = self.factory.fixed() {
            // A running backend: its target file says what it is registered with.
            let registered = fixed.id_token_alg.unwrap_or(mock_idp::IdTokenAlg::RS256);
            if registered == alg {
                return Ok(());
            }
            return Err(crate::target::not_applicable(&format!(
                "{row} applies when the backend is registered for id_token_signed_response_alg={}; this \
                 one is registered for {} ([provider] id_token_signed_response_alg in the target file; \
                 a [start] with {{id_token_alg}} can start one for the scenario)",
                alg.as_str(),
                registered.as_str()
            )));
        }
        if !self.factory.chooses_id_token_alg() {
            return Err(crate::target::not_applicable(&format!(
                "{row} applies when the backend can be set up for id_token_signed_response_alg={}; this \
                 one cannot be told (a backend started by [start] with {{id_token_alg}} can)",
                alg.as_str()
            )));
        }
        ensure!(
            self.app.is_none() && self.grants.is_empty(),
            "the app or the provider is already in use: register the app's id_token alg first"
        );
        if alg == mock_idp::IdTokenAlg::ES256
            && self.provider.idp.signing_alg() != mock_idp::SigningAlg::ES256
        {
            self.provider = self
                .provider
                .signing_with(mock_idp::SigningAlg::ES256)
                .await?;
        }
        self.options.id_token_alg = Some(alg);
        Ok(())
    }

    /// Gives the backend this client secret instead of a random one; only before the backend has started.
    pub fn set_app_client_secret(&mut self, secret: &str) -> anyhow::Result<()> {
        if self.factory.fixed().is_some() {
            return Err(crate::target::skip(
                "sets the backend's client secret, which a running backend's configuration fixes (add \
                 [start] to the target file to start one)",
            ));
        }
        ensure!(
            self.app.is_none(),
            "the app is already running: set its client secret before any step that uses it"
        );
        self.app_client_secret = Some(secret.to_owned());
        Ok(())
    }

    /// The client id the backend uses at the provider.
    pub fn app_client_id(&self) -> String {
        self.provider_setup().client_id
    }

    /// What the harness registers at the provider for the backend.
    pub(crate) fn provider_setup(&self) -> ProviderSetup {
        if let Some(fixed) = self.factory.fixed() {
            return fixed.provider.clone();
        }
        ProviderSetup {
            issuer: self.provider.idp.issuer().to_owned(),
            client_id: "conformance-app".into(),
            client_secret: self
                .app_client_secret
                .clone()
                .unwrap_or_else(|| crate::random_token(24)),
        }
    }

    /// Starts a second backend only to see whether it starts with a random app-JWT key of `bytes` ASCII
    /// characters (CONFORMANCE JWT-KEY).
    pub async fn try_start_with_jwt_key(&mut self, bytes: usize) -> anyhow::Result<()> {
        let key: String = crate::random_token(bytes).chars().take(bytes).collect();
        let setup = self.provider_setup();
        let outcome = self.factory.try_start_with_jwt_key(&setup, &key).await?;
        self.startup = Some(outcome);
        Ok(())
    }

    /// The backend, started on first use and registered at the provider with its redirect URI.
    pub async fn app(&mut self) -> anyhow::Result<&dyn Target> {
        if self.app.is_none() {
            if let Some(fixed) = self.factory.fixed()
                && self.needs_default_policy
                && fixed.policy != Policy::default()
            {
                return Err(crate::target::skip(&format!(
                    "checks the default unknown-user policy ({}); this backend runs {} (add [start] to \
                     the target file to start one)",
                    Policy::default().as_str(),
                    fixed.policy.as_str()
                )));
            }
            if self.factory.fixed().is_some() && self.needs_fresh_backend {
                return Err(crate::target::skip(
                    "checks the backend's first fetch of discovery or the JWKS, which a running \
                     backend may have cached: needs a backend started for the scenario ([start] in the \
                     target file)",
                ));
            }
            let setup = self.provider_setup();
            let target = match self.factory.start(&setup, &self.options).await {
                Ok(target) => target,
                // A scenario this factory cannot serve says so as it is.
                Err(e) if crate::target::skip_reason(&e.to_string()).is_some() => return Err(e),
                Err(e) => return Err(e.context(format!("starting {}", self.factory.name()))),
            };
            // A running backend's client was registered once, by the runner, for every scenario.
            if self.factory.fixed().is_none() {
                let mut client = mock_idp::ClientConfig::confidential(
                    &setup.client_id,
                    &setup.client_secret,
                    &target.redirect_uri(),
                );
                // Logout, when the backend has it (RP-Initiated Logout 1.0 §3, Back-Channel Logout 1.0
                // §2.2).
                client
                    .post_logout_redirect_uris
                    .extend(target.post_logout_redirect_uri());
                client.backchannel_logout_uri = target.backchannel_logout_uri();
                // RS-USERINFO-JWT: signed with the key the provider signs id_tokens with.
                client.userinfo_signed_response_alg = self
                    .options
                    .signed_userinfo
                    .then(|| self.provider.idp.signing_alg());
                client.id_token_signed_response_alg = self.options.id_token_alg;
                self.provider.register(client)?;
            }
            if self.factory.fixed().is_some() {
                self.user_count_at_start = target.user_count().await.ok();
            }
            self.app = Some(target);
        }
        self.app
            .as_deref()
            .ok_or_else(|| anyhow!("the app did not start"))
    }

    /// Whether the scenario involved the backend at all: started it, or tried to (a startup check).
    pub(crate) fn involved_backend(&self) -> bool {
        self.app.is_some() || self.startup.is_some()
    }

    /// The backend, if a step has started it.
    pub(crate) fn app_if_started(&self) -> Option<&dyn Target> {
        self.app.as_deref()
    }

    /// A browser with an empty cookie jar that nothing else uses: a client that holds only what a step
    /// gives it (a token), recorded as the frontend.
    pub fn fresh_client(&self) -> anyhow::Result<Browser> {
        let origin = Url::parse(self.provider.idp.issuer())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        Ok(Browser::new()?.recording(&self.trace, crate::trace::Lane::Frontend, &origin))
    }

    /// A browser by name, created on first use.
    pub fn browser(&mut self, name: &str) -> anyhow::Result<Browser> {
        if let Some(b) = self.browsers.get(name) {
            return Ok(b.clone());
        }
        let origin = Url::parse(self.provider.idp.issuer())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let b = Browser::new()?.recording(&self.trace, crate::trace::Lane::Browser, &origin);
        self.browsers.insert(name.to_owned(), b.clone());
        Ok(b)
    }

    /// Adds a provider user `username` with password `{username}-password` and subject `sub-{username}`.
    pub fn add_provider_user(&mut self, username: &str, email: Option<&str>) -> anyhow::Result<()> {
        let shown = username;
        let username = &self.provider.login_name(username)?;
        let mut user = mock_idp::UserConfig::new(
            username,
            &format!("{username}-password"),
            &format!("sub-{username}"),
        );
        // What the scenario names, not the provider's namespaced username.
        user.name = Some(format!("{shown} (provider)"));
        user.picture = Some(format!("https://idp.example/avatars/{shown}.png"));
        user.email = email.map(str::to_owned);
        user.email_verified = email.map(|_| true);
        self.provider.add_user(user)
    }

    /// Seeds an app user bound to provider user `username` (at `seed.issuer`, default the provider's).
    pub async fn seed_app_user(&mut self, username: &str, seed: Seed<'_>) -> anyhow::Result<()> {
        let subject = self.provider.subject_of(username)?;
        let Seed {
            role,
            avatar_url,
            disabled,
            issuer,
            email,
            phone,
        } = seed;
        let plain = role == Role::User
            && avatar_url.is_none()
            && !disabled
            && issuer.is_none()
            && email.is_none()
            && phone.is_none();
        let issuer = issuer.map_or_else(|| self.provider.idp.issuer().to_owned(), str::to_owned);
        let user = SeedUser {
            display_name: username.to_owned(),
            role,
            avatar_url: avatar_url.map(str::to_owned),
            disabled,
            issuer,
            subject,
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
        };
        let seeded = self.app().await?.seed_user(&user).await;
        let auto_create = self
            .factory
            .fixed()
            .is_some_and(|f| f.policy == Policy::AutoCreate);
        match seeded {
            // A running backend without the hook that creates unknown users: an ordinary user is seeded
            // by logging in once in a browser of its own, which is what creates it there. That login is
            // setup, so the scenario's provider counts start after it.
            Err(e)
                if plain && auto_create && crate::target::skip_reason(&e.to_string()).is_some() =>
            {
                self.seed_by_logging_in(username).await
            }
            other => other,
        }
    }

    /// Creates `username`'s ordinary account at an auto-create backend with one login in a fresh browser.
    async fn seed_by_logging_in(&mut self, username: &str) -> anyhow::Result<()> {
        let browser = "seeding browser";
        let outcome = match self.log_in(browser, username).await {
            Ok(()) => self.check_token_issued(),
            Err(e) => Err(e),
        };
        outcome.map_err(|e| anyhow!("seeding {username} by logging in once: {e:#}"))?;
        self.browsers.remove(browser);
        self.backend = None;
        self.app_token = None;
        self.login_redirect = None;
        self.auth_response = None;
        self.auth_response_posted = false;
        self.last_callback = None;
        self.provider.restart_counts();
        Ok(())
    }

    /// Everything that went over the wire in this scenario, in order: what the browsers and the frontend
    /// sent, and what the provider's log shows others (the backend, or the harness playing a client)
    /// sent it. On a provider other scenarios share, only the backend's token requests for this
    /// scenario's codes are known to be its own (all of its requests while it runs alone).
    pub fn exchanges(&self) -> Vec<crate::trace::Exchange> {
        use crate::trace::{Exchange, Lane};
        let mut all = self.trace.exchanges();
        let records = self.provider.idp.requests_since(self.provider.log_start());
        for r in records {
            if r.header("user-agent") == Some(crate::browser::USER_AGENT) {
                continue;
            }
            let this_scenarios_code = r.path.ends_with("/token")
                && r.param("code")
                    .is_some_and(|c| self.codes_handed_over.iter().any(|f| f == c));
            if !self.provider.is_own() && !this_scenarios_code {
                continue;
            }
            let mut note = Vec::new();
            if let Some(e) = &r.note.error {
                note.push(format!("error={e}"));
            }
            if !r.note.faults.is_empty() {
                note.push(format!("fault {}", r.note.faults.join(", ")));
            }
            all.push(Exchange {
                at_ms: r.time_ms,
                from: Lane::Backend,
                to: Lane::Provider,
                method: r.method.clone(),
                path: r.path.clone(),
                status: r.status,
                params: r
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), crate::trace::from_provider_log(v)))
                    .collect(),
                note: (!note.is_empty()).then(|| note.join("; ")),
            });
        }
        all.sort_by_key(|e| e.at_ms);
        all
    }
}
