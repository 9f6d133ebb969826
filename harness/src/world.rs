//! The per-scenario world: a fresh provider, a backend started on first use, browsers, and what the steps
//! observed. The `actions` (do something over HTTP) and `checks` (assert on what was observed) live here
//! so the step functions stay one or two lines.

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::{Context, anyhow, ensure};
use serde_json::{Value, json};
use url::Url;

use crate::{
    browser::{Browser, HttpResponse, hidden_input, query_param},
    parameters::{AppError, Policy, Role},
    provider::{ClientAuth, Grant, Provider, TokenRequest},
    reference::ReferenceFactory,
    target::{
        CallbackMethod, ProviderSetup, SeedUser, SharedFactory, Startup, Target, TargetOptions,
        TokenDelivery,
    },
};

/// The name of the scenario's main browser.
pub const MAIN: &str = "the browser";
/// The name of a second, unrelated browser (another user, or an attacker).
pub const OTHER: &str = "another browser";

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
    /// The provider's last redirect back to the app's redirect URI (the authorization response).
    pub auth_response: Option<Url>,
    /// The last callback handed to the backend, for replays.
    pub last_callback: Option<Value>,
    /// (username, code) of the previous successful login, for replaying its code through the backend.
    pub previous_login: Option<(String, String)>,
    /// The backend's last answer to a callback or bind request.
    pub backend: Option<HttpResponse>,
    /// The last app token issued, if any.
    pub app_token: Option<String>,
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
    /// The outcome of the last start-only attempt (a startup property such as the JWT key check).
    pub startup: Option<Startup>,
    /// What the logout steps observed (`crate::logout`).
    pub logout: crate::logout::LogoutState,
}

impl World {
    /// A fresh provider; the backend starts lazily with [`ReferenceFactory`] unless the runner swaps it.
    pub async fn new() -> anyhow::Result<World> {
        Ok(World {
            provider: Provider::start().await?,
            factory: Arc::new(ReferenceFactory::new()),
            options: TargetOptions::default(),
            app: None,
            browsers: HashMap::new(),
            login_redirect: None,
            auth_response: None,
            last_callback: None,
            previous_login: None,
            backend: None,
            app_token: None,
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
            startup: None,
            logout: Default::default(),
        })
    }

    // ----- setup -----

    /// Sets the unknown-user policy; only before the backend has started.
    pub fn set_policy(&mut self, policy: Policy) -> anyhow::Result<()> {
        ensure!(
            self.app.is_none(),
            "the app is already running: set its unknown-user policy before any step that uses it"
        );
        self.options.unknown_user_policy = policy;
        Ok(())
    }

    /// Gives the backend this client secret instead of a random one; only before the backend has started.
    pub fn set_app_client_secret(&mut self, secret: &str) -> anyhow::Result<()> {
        ensure!(
            self.app.is_none(),
            "the app is already running: set its client secret before any step that uses it"
        );
        self.app_client_secret = Some(secret.to_owned());
        Ok(())
    }

    /// What the harness registers at the provider for the backend.
    pub(crate) fn provider_setup(&self) -> ProviderSetup {
        ProviderSetup {
            issuer: self.provider.idp.issuer().to_owned(),
            client_id: "conformance-app".into(),
            client_secret: self
                .app_client_secret
                .clone()
                .unwrap_or_else(|| mock_idp::state::random_token(24)),
        }
    }

    /// Starts a second backend only to see whether it starts with a random app-JWT key of `bytes` ASCII
    /// characters (CONFORMANCE JWT-KEY).
    pub async fn try_start_with_jwt_key(&mut self, bytes: usize) -> anyhow::Result<()> {
        let key: String = mock_idp::state::random_token(bytes)
            .chars()
            .take(bytes)
            .collect();
        let setup = self.provider_setup();
        let outcome = self.factory.try_start_with_jwt_key(&setup, &key).await?;
        self.startup = Some(outcome);
        Ok(())
    }

    /// The backend, started on first use and registered at the provider with its redirect URI.
    pub async fn app(&mut self) -> anyhow::Result<&dyn Target> {
        if self.app.is_none() {
            let setup = self.provider_setup();
            let target = self
                .factory
                .start(&setup, &self.options)
                .await
                .with_context(|| format!("starting {}", self.factory.name()))?;
            let mut client = mock_idp::ClientConfig::confidential(
                &setup.client_id,
                &setup.client_secret,
                &target.redirect_uri(),
            );
            // Logout, when the backend has it (RP-Initiated Logout 1.0 §3, Back-Channel Logout 1.0 §2.2).
            client
                .post_logout_redirect_uris
                .extend(target.post_logout_redirect_uri());
            client.backchannel_logout_uri = target.backchannel_logout_uri();
            self.provider.register(client)?;
            self.app = Some(target);
        }
        self.app
            .as_deref()
            .ok_or_else(|| anyhow!("the app did not start"))
    }

    /// A browser by name, created on first use.
    pub fn browser(&mut self, name: &str) -> anyhow::Result<Browser> {
        if let Some(b) = self.browsers.get(name) {
            return Ok(b.clone());
        }
        let b = Browser::new()?;
        self.browsers.insert(name.to_owned(), b.clone());
        Ok(b)
    }

    /// Adds a provider user `username` with password `{username}-password` and subject `sub-{username}`.
    pub fn add_provider_user(&mut self, username: &str, email: Option<&str>) -> anyhow::Result<()> {
        let mut user = mock_idp::UserConfig::new(
            username,
            &format!("{username}-password"),
            &format!("sub-{username}"),
        );
        user.name = Some(format!("{username} (provider)"));
        user.picture = Some(format!("https://idp.example/avatars/{username}.png"));
        user.email = email.map(str::to_owned);
        user.email_verified = email.map(|_| true);
        self.provider
            .idp
            .add_user(user)
            .map_err(|e| anyhow!("adding provider user {username}: {e}"))
    }

    /// Seeds an app user bound to provider user `username` (at `issuer`, default the provider's).
    pub async fn seed_app_user(
        &mut self,
        username: &str,
        role: Role,
        avatar_url: Option<&str>,
        disabled: bool,
        issuer: Option<&str>,
    ) -> anyhow::Result<()> {
        let subject = self.provider.subject_of(username)?;
        let issuer = issuer.map_or_else(|| self.provider.idp.issuer().to_owned(), str::to_owned);
        let user = SeedUser {
            display_name: username.to_owned(),
            role,
            avatar_url: avatar_url.map(str::to_owned),
            disabled,
            issuer,
            subject,
        };
        self.app().await?.seed_user(&user).await
    }

    // ----- browser actions -----

    /// The browser opens the backend's login: expects a redirect to the provider's authorization endpoint.
    pub async fn open_login(&mut self, browser: &str) -> anyhow::Result<Url> {
        let url = self.app().await?.login_url();
        self.open_login_at(browser, url).await
    }

    /// As [`World::open_login`], asking the backend to land on `return_to` after the login.
    pub async fn open_login_returning_to(
        &mut self,
        browser: &str,
        return_to: &str,
    ) -> anyhow::Result<Url> {
        let url = self.app().await?.login_url_returning_to(return_to);
        self.open_login_at(browser, url).await
    }

    async fn open_login_at(&mut self, browser: &str, url: Url) -> anyhow::Result<Url> {
        let response = self.browser(browser)?.get(&url).await?;
        let location = response
            .location()
            .context("the app's login did not redirect")?;
        let endpoint = self.provider.idp.authorization_endpoint();
        ensure!(
            location.as_str().starts_with(&format!("{endpoint}?")),
            "the app's login redirected to {location}, not to the provider's {endpoint}"
        );
        self.login_redirect = Some(location.clone());
        Ok(location)
    }

    /// At the provider's login page: the user submits the form with `action` (login or deny).
    pub async fn submit_login_page(
        &mut self,
        browser: &str,
        username: &str,
        action: &str,
    ) -> anyhow::Result<Url> {
        let authorize = self
            .login_redirect
            .clone()
            .ok_or_else(|| anyhow!("no login was started"))?;
        let b = self.browser(browser)?;
        let page = b.get(&authorize).await?;
        ensure!(
            page.status == 200,
            "the provider's login page answered {}: {}",
            page.status,
            page.body
        );
        let password = self
            .provider
            .idp
            .state()
            .user(username)
            .map(|u| u.password.expose().to_owned())
            .unwrap_or_default();
        let form = [
            ("request_id", hidden_input(&page.body, "request_id")?),
            ("csrf", hidden_input(&page.body, "csrf")?),
            ("username", username.to_owned()),
            ("password", password),
            ("action", action.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let login = Url::parse(&self.provider.idp.url(mock_idp::authorize::LOGIN_PATH))?;
        let response = b.post_form(&login, &form).await?;
        ensure!(
            response.status == 302 || response.status == 303,
            "the login form answered {} (expected 302 or 303): {}",
            response.status,
            response.body
        );
        let location = response.location()?;
        self.auth_response = Some(location.clone());
        Ok(location)
    }

    /// The authorization response's parameters as the frontend would post them.
    pub fn callback_payload(&self) -> anyhow::Result<Value> {
        let response = self
            .auth_response
            .as_ref()
            .ok_or_else(|| anyhow!("the provider has not redirected back yet"))?;
        let mut body = serde_json::Map::new();
        for name in ["code", "state", "iss", "error", "error_description"] {
            if let Some(v) = query_param(response, name) {
                body.insert(name.to_owned(), json!(v));
            }
        }
        Ok(Value::Object(body))
    }

    /// The frontend in `browser` hands `payload` to the backend; the answer and any token are recorded.
    pub async fn deliver_callback(&mut self, browser: &str, payload: Value) -> anyhow::Result<()> {
        let (url, method) = self.app().await?.callback();
        let b = self.browser(browser)?;
        self.token_requests_before_callback = self.provider.idp.token_requests();
        self.log_seq_before_callback = self.provider.idp.state().requests.last_seq();
        let response = match method {
            CallbackMethod::PostJson => b.post_json(&url, &payload).await?,
            CallbackMethod::GetQuery => {
                let mut url = url;
                if let Value::Object(map) = &payload {
                    let mut q = url.query_pairs_mut();
                    for (k, v) in map {
                        q.append_pair(k, v.as_str().unwrap_or_default());
                    }
                }
                b.get(&url).await?
            }
        };
        self.last_callback = Some(payload);
        self.record_backend(response).await
    }

    /// Records a backend answer and extracts the app token it carries, if any.
    pub async fn record_backend(&mut self, response: HttpResponse) -> anyhow::Result<()> {
        self.app_token = match self.app().await?.token_delivery() {
            TokenDelivery::JsonBody(pointer) => response
                .json()
                .pointer(&pointer)
                .and_then(Value::as_str)
                .map(str::to_owned),
            TokenDelivery::Cookie(name) => response
                .cookies_set()
                .contains(&name)
                .then(|| format!("cookie:{name}")),
        }
        .filter(|_| response.is_success());
        self.backend = Some(response);
        Ok(())
    }

    /// The whole login of provider user `username` in `browser`: login, sign-in form, callback.
    pub async fn log_in(&mut self, browser: &str, username: &str) -> anyhow::Result<()> {
        self.open_login(browser).await?;
        self.submit_login_page(browser, username, "login").await?;
        let payload = self.callback_payload()?;
        self.deliver_callback(browser, payload).await
    }

    /// The whole login, which must succeed; remembers the code for a later replay.
    pub async fn log_in_successfully(&mut self, username: &str) -> anyhow::Result<()> {
        self.log_in(MAIN, username).await?;
        self.check_token_issued()?;
        self.previous_login = self
            .last_callback
            .as_ref()
            .and_then(|c| c.get("code"))
            .and_then(Value::as_str)
            .map(|code| (username.to_owned(), code.to_owned()));
        Ok(())
    }

    /// `n` fresh browsers log in as `username` at the same time; fails unless every one got a token.
    pub async fn log_in_concurrently(&mut self, username: &str, n: usize) -> anyhow::Result<()> {
        self.app().await?;
        let mut worlds = Vec::new();
        for _ in 0..n {
            worlds.push(ConcurrentLogin::new(self, username)?);
        }
        let results = futures::future::join_all(worlds.iter().map(ConcurrentLogin::run)).await;
        let mut failures = Vec::new();
        for r in results {
            if let Err(e) = r {
                failures.push(format!("{e:#}"));
            }
        }
        ensure!(
            failures.is_empty(),
            "concurrent logins failed: {failures:?}"
        );
        Ok(())
    }

    /// The browser completes a require-binding login with a phone number.
    pub async fn bind(&mut self, phone: &str) -> anyhow::Result<()> {
        let last = self.backend.clone();
        let previous = self.last_ticket.clone();
        let app = self.app().await?;
        let url = app
            .bind_url()
            .ok_or_else(|| crate::target::unsupported("bind_url"))?;
        let ticket = last
            .and_then(|r| app.binding_ticket(&r.json()))
            .or(previous)
            .ok_or_else(|| anyhow!("the backend has not handed out a binding ticket"))?;
        self.last_ticket = Some(ticket.clone());
        let response = self
            .browser(MAIN)?
            .post_json(&url, &json!({"ticket": ticket, "phone": phone}))
            .await?;
        self.record_backend(response).await
    }

    /// The browser asks for its profile with the last app token (or `token` if given).
    pub async fn fetch_profile(&mut self, token: Option<String>) -> anyhow::Result<()> {
        let url = self.app().await?.profile_url();
        let b = self.browser(MAIN)?;
        let token = token.or_else(|| self.app_token.clone());
        let response = match token {
            Some(t) if !t.starts_with("cookie:") => b.get_with_bearer(&url, &t).await?,
            _ => b.get(&url).await?,
        };
        self.profile = Some(response);
        Ok(())
    }

    /// Moves the backend's clock.
    pub async fn advance_app_clock(&mut self, by: Duration) -> anyhow::Result<()> {
        self.app().await?.advance_clock(by)
    }

    /// The browser opens the backend's login, which may refuse instead of redirecting to the provider
    /// (e.g. when the provider's discovery cannot be trusted); the answer is recorded as the backend's.
    pub async fn try_open_login(&mut self, browser: &str) -> anyhow::Result<()> {
        let url = self.app().await?.login_url();
        self.log_seq_before_callback = self.provider.idp.state().requests.last_seq();
        self.token_requests_before_callback = self.provider.idp.token_requests();
        let response = self.browser(browser)?.get(&url).await?;
        self.record_backend(response).await
    }

    // ----- checks -----

    /// The last app token is a session of the app user bound to provider user `username`.
    pub async fn check_logged_in_as(&mut self, username: &str) -> anyhow::Result<()> {
        self.check_token_issued()?;
        ensure!(
            self.users_bound_to(username).await? == 1,
            "no app user is bound to the provider's {username:?}"
        );
        self.fetch_profile(None).await?;
        let profile = self
            .profile
            .as_ref()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        ensure!(
            profile.is_success(),
            "the app token does not open the profile: {} {}",
            profile.status,
            profile.body
        );
        Ok(())
    }

    /// The provider received no request to `/{endpoint}` since the last callback was handed over.
    pub fn check_not_called_since_callback(&self, endpoint: &str) -> anyhow::Result<()> {
        let n = self
            .provider
            .requests_since(self.log_seq_before_callback, endpoint);
        ensure!(
            n == 0,
            "the provider's {endpoint} endpoint was called {n} time(s) for the last callback"
        );
        Ok(())
    }

    /// The provider's verdict on the client has no failed item.
    pub fn check_verdict_clean(&self) -> anyhow::Result<()> {
        let verdict = self.provider.idp.verdict();
        let failures: Vec<String> = verdict
            .failures()
            .iter()
            .map(|i| format!("{} ({}): {}", i.name, i.catalogue_id, i.detail))
            .collect();
        ensure!(
            failures.is_empty(),
            "the provider's verdict on the client: {failures:?}"
        );
        Ok(())
    }

    /// One verdict item has this outcome (`pass`, `fail`, `not_seen`).
    pub fn check_verdict_item(&self, name: &str, outcome: &str) -> anyhow::Result<()> {
        let verdict = self.provider.idp.verdict();
        let item = verdict
            .item(name)
            .ok_or_else(|| anyhow!("the verdict has no item {name:?}"))?;
        let found = serde_json::to_value(item.outcome)?;
        ensure!(
            found == outcome,
            "the verdict's {name} is {found} ({}), expected {outcome}",
            item.detail
        );
        Ok(())
    }

    /// The last backend answer issued an app token.
    pub fn check_token_issued(&self) -> anyhow::Result<()> {
        let response = self.last_backend()?;
        ensure!(
            self.app_token.is_some(),
            "the backend issued no app token: {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The last backend answer issued no app token and set no session.
    pub async fn check_no_token(&mut self) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        ensure!(
            self.app_token.is_none(),
            "an app token was issued: {} {}",
            response.status,
            response.body
        );
        // Whatever the delivery, the browser must not be logged in now (CONFORMANCE JWT-LAST).
        self.fetch_profile(None).await?;
        let profile = self
            .profile
            .as_ref()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        ensure!(
            !profile.is_success(),
            "the browser is logged in after all: the profile answered {} {}",
            profile.status,
            profile.body
        );
        Ok(())
    }

    /// The last backend answer is a refusal with `code`.
    pub async fn check_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        let found = self
            .app()
            .await?
            .error_code(response.status, &response.json());
        ensure!(
            !response.is_success() && found.as_deref() == Some(&code.to_string()),
            "expected a refusal with {code}, got {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The last profile answer is a refusal with `code`.
    pub async fn check_profile_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        let response = self
            .profile
            .clone()
            .ok_or_else(|| anyhow!("no profile was requested"))?;
        let found = self
            .app()
            .await?
            .error_code(response.status, &response.json());
        ensure!(
            (400..500).contains(&response.status) && found.as_deref() == Some(&code.to_string()),
            "expected the profile to be refused with {code}, got {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The provider's token endpoint was called `expected` times since the last callback was handed to the
    /// backend (`since_callback`), or since the provider started.
    pub fn check_token_requests(&self, expected: u64, since_callback: bool) -> anyhow::Result<()> {
        ensure!(
            !since_callback || self.last_callback.is_some(),
            "no callback was handed to the backend yet"
        );
        let total = self.provider.idp.token_requests();
        let (found, what) = if since_callback {
            (
                total.saturating_sub(self.token_requests_before_callback),
                "for the last callback",
            )
        } else {
            (total, "in total")
        };
        ensure!(
            found == expected,
            "the provider's token endpoint was called {found} time(s) {what}, expected {expected} \
             (the backend's answer: {})",
            self.backend
                .as_ref()
                .map_or_else(String::new, |r| format!("{} {}", r.status, r.body))
        );
        Ok(())
    }

    /// The last backend answer was a success that sends the frontend on to `expected`.
    pub async fn check_return_to(&mut self, expected: &str) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        let found = self.app().await?.return_to(&response.json());
        ensure!(
            response.is_success() && found.as_deref() == Some(expected),
            "expected the backend to send the frontend on to {expected:?}, found {found:?} in {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// `username` signs in to `client` `n` times (headless); every code is kept.
    pub async fn obtain_codes(
        &mut self,
        username: &str,
        client: &str,
        n: usize,
    ) -> anyhow::Result<()> {
        for _ in 0..n {
            let grant = self.provider.obtain_code(username, client, None).await?;
            self.grants.push(grant);
        }
        Ok(())
    }

    /// Every code obtained is distinct and carries at least 128 bits (CONFORMANCE CODE-ENTROPY): base64url
    /// carries 6 bits a character, hex 4; anything else is not counted as random.
    pub fn check_codes_unguessable(&self) -> anyhow::Result<()> {
        ensure!(self.grants.len() >= 2, "obtain several codes first");
        let distinct: std::collections::HashSet<&str> =
            self.grants.iter().map(|g| g.code.as_str()).collect();
        ensure!(
            distinct.len() == self.grants.len(),
            "{} of {} codes repeat",
            self.grants.len() - distinct.len(),
            self.grants.len()
        );
        for code in self.grants.iter().map(|g| g.code.as_str()) {
            let bits_per_char = if code.bytes().all(|b| b.is_ascii_hexdigit()) {
                4
            } else if code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                6
            } else {
                0
            };
            ensure!(
                code.len() * bits_per_char >= 128,
                "the code {code:?} carries fewer than 128 bits"
            );
        }
        Ok(())
    }

    /// `client` revokes `token` (as its registered self, or as `auth` says) with an optional type hint.
    pub async fn revoke(
        &mut self,
        client: &str,
        auth: ClientAuth,
        token: &str,
        hint: Option<&str>,
    ) -> anyhow::Result<()> {
        let creds = self.provider.client(client)?;
        self.revocation = Some(self.provider.revoke(&creds, &auth, token, hint).await?);
        Ok(())
    }

    /// The last revocation answer.
    pub fn last_revocation(&self) -> anyhow::Result<&HttpResponse> {
        self.revocation
            .as_ref()
            .ok_or_else(|| anyhow!("nothing was revoked yet"))
    }

    /// How many app users are bound to provider user `username`.
    pub async fn users_bound_to(&mut self, username: &str) -> anyhow::Result<usize> {
        let subject = self.provider.subject_of(username)?;
        let issuer = self.provider.idp.issuer().to_owned();
        self.app().await?.users_bound_to(&issuer, &subject).await
    }

    /// The backend's last answer.
    pub fn last_backend(&self) -> anyhow::Result<&HttpResponse> {
        self.backend
            .as_ref()
            .ok_or_else(|| anyhow!("nothing was handed to the backend yet"))
    }

    /// The last token-endpoint answer.
    pub fn last_token_response(&self) -> anyhow::Result<&HttpResponse> {
        self.token_responses
            .last()
            .ok_or_else(|| anyhow!("the token endpoint was not called"))
    }

    /// The newest code obtained from the provider.
    pub fn last_grant(&self) -> anyhow::Result<&Grant> {
        self.grants
            .last()
            .ok_or_else(|| anyhow!("no code was obtained from the provider"))
    }

    /// Sends a token request and records the answer.
    pub async fn send_token_request(&mut self, request: &TokenRequest) -> anyhow::Result<()> {
        let response = self.provider.token(request).await?;
        self.token_responses.push(response);
        Ok(())
    }

    /// The first successful token answer's field (e.g. `access_token`).
    pub fn first_token(&self, field: &str) -> anyhow::Result<String> {
        self.token_responses
            .iter()
            .find(|r| r.is_success())
            .and_then(|r| {
                r.json()
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| anyhow!("no successful token response with {field}"))
    }
}

/// One of several logins racing in fresh browsers.
struct ConcurrentLogin {
    browser: Browser,
    login: Url,
    callback: (Url, CallbackMethod),
    login_page: Url,
    username: String,
    password: String,
}

impl ConcurrentLogin {
    fn new(world: &mut World, username: &str) -> anyhow::Result<ConcurrentLogin> {
        let app = world
            .app
            .as_deref()
            .ok_or_else(|| anyhow!("the app did not start"))?;
        Ok(ConcurrentLogin {
            browser: Browser::new()?,
            login: app.login_url(),
            callback: app.callback(),
            login_page: Url::parse(&world.provider.idp.url(mock_idp::authorize::LOGIN_PATH))?,
            username: username.to_owned(),
            password: world
                .provider
                .idp
                .state()
                .user(username)
                .map(|u| u.password.expose().to_owned())
                .unwrap_or_default(),
        })
    }

    async fn run(&self) -> anyhow::Result<()> {
        let b = &self.browser;
        let authorize = b.get(&self.login).await?.location()?;
        let page = b.get(&authorize).await?;
        let form = [
            ("request_id", hidden_input(&page.body, "request_id")?),
            ("csrf", hidden_input(&page.body, "csrf")?),
            ("username", self.username.clone()),
            ("password", self.password.clone()),
            ("action", "login".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let back = b.post_form(&self.login_page, &form).await?.location()?;
        let mut payload = serde_json::Map::new();
        for name in ["code", "state", "iss"] {
            if let Some(v) = query_param(&back, name) {
                payload.insert(name.to_owned(), json!(v));
            }
        }
        let response = match self.callback.1 {
            CallbackMethod::PostJson => {
                b.post_json(&self.callback.0, &Value::Object(payload))
                    .await?
            }
            CallbackMethod::GetQuery => {
                let mut url = self.callback.0.clone();
                url.set_query(back.query());
                b.get(&url).await?
            }
        };
        ensure!(
            response.is_success(),
            "a concurrent login was refused: {} {}",
            response.status,
            response.body
        );
        Ok(())
    }
}
