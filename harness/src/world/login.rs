//! The browser's and the frontend's actions: open the app's login, sign in at the provider, hand the
//! authorization response to the backend, bind, fetch the profile.

use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use serde_json::{Value, json};
use url::Url;

use super::{COOKIE_SESSION, MAIN, World};
use crate::{
    browser::{
        Browser, HttpResponse, auto_submitted_form, form_posting_to, hidden_input, query_param,
    },
    cookies::Navigation,
    target::{CallbackMethod, LoginStart, Profile, TokenDelivery},
};

/// Starts a login in `b` as `start` says and returns the backend's last answer (the redirect to the
/// provider, when the backend starts one): a `GET`, or a `GET` of a page and a `POST` of its form.
pub(crate) async fn start_login(b: &Browser, start: &LoginStart) -> anyhow::Result<HttpResponse> {
    match start {
        LoginStart::Get(url) => b.get(url).await,
        LoginStart::Form { page, action } => {
            let shown = b.get(page).await?;
            ensure!(
                shown.is_success(),
                "the app's login page {page} answered {}",
                shown.brief()
            );
            let form = form_posting_to(&shown.body, page, action)?;
            b.post_form(&form.action, &form.pairs()).await
        }
    }
}

/// The provider's answer to a sign-in, as a browser takes it: a redirect to the redirect URI (the response
/// in its query), or a form_post page whose form POSTs the response there as it loads. Either way the
/// redirect URI with the response's parameters in its query, and whether it is to be POSTed.
pub(crate) fn authorization_response(answer: &HttpResponse) -> anyhow::Result<(Url, bool)> {
    if answer.is_redirect() {
        return Ok((answer.location()?, false));
    }
    let form = auto_submitted_form(answer).ok_or_else(|| {
        anyhow!(
            "the provider answered the sign-in with {}, neither a redirect nor a form_post page",
            answer.brief()
        )
    })?;
    let mut url = form.action.clone();
    url.query_pairs_mut().extend_pairs(form.pairs());
    Ok((url, true))
}

/// The fields of an authorization response kept as a URL's query by [`authorization_response`].
fn response_fields(response: &Url) -> Vec<(String, String)> {
    response
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `start` with the page or URL asking to land on `return_to`.
fn returning_to(start: LoginStart, with_return_to: Url) -> LoginStart {
    match start {
        LoginStart::Get(_) => LoginStart::Get(with_return_to),
        LoginStart::Form { action, .. } => LoginStart::Form {
            page: with_return_to,
            action,
        },
    }
}

impl World {
    /// The browser opens the backend's login: expects a redirect to the provider's authorization endpoint.
    pub async fn open_login(&mut self, browser: &str) -> anyhow::Result<Url> {
        let start = self.app().await?.login_start();
        self.open_login_at(browser, start).await
    }

    /// As [`World::open_login`], asking the backend to land on `return_to` after the login.
    pub async fn open_login_returning_to(
        &mut self,
        browser: &str,
        return_to: &str,
    ) -> anyhow::Result<Url> {
        let app = self.app().await?;
        if app.return_to_param().is_none() {
            return Err(crate::target::skip(
                "needs `[backend] return_to_param`: the login's parameter naming where to land",
            ));
        }
        let start = returning_to(app.login_start(), app.login_url_returning_to(return_to));
        self.open_login_at(browser, start).await
    }

    async fn open_login_at(&mut self, browser: &str, start: LoginStart) -> anyhow::Result<Url> {
        let response = start_login(&self.browser(browser)?, &start).await?;
        let location = response
            .location()
            .context("the app's login did not redirect to the provider")?;
        for (param, row) in std::mem::take(&mut self.conditions) {
            if query_param(&location, param).is_none() {
                self.login_redirect = Some(location.clone());
                self.require_sent(param, row)?;
            }
        }
        if self.options.form_post {
            let mode = query_param(&location, "response_mode");
            if mode.as_deref() != Some("form_post") {
                return Err(crate::target::not_applicable(&format!(
                    "ST-FORM-POST applies when the backend asks for `response_mode=form_post`; this one \
                     asks for {} responses",
                    mode.as_deref().unwrap_or("query")
                )));
            }
        }
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
            "the provider's login page answered {}",
            page.brief()
        );
        let shown_name = username.to_owned();
        let username = &self.provider.login_name(username)?;
        let password = self
            .provider
            .idp
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
        let login = Url::parse(&self.provider.idp.login_page_url())?;
        let response = b.post_form(&login, &form).await?;
        let (location, posted) = authorization_response(&response)
            .context("the provider's login form (expected a 302 or 303, or a form_post page)")?;
        self.auth_response = Some(location.clone());
        self.auth_response_posted = posted;
        self.signed_in_as = (action == "login").then_some(shown_name);
        Ok(location)
    }

    /// The authorization response's parameters as the frontend would post them.
    pub fn callback_payload(&self) -> anyhow::Result<Value> {
        let response = self
            .auth_response
            .as_ref()
            .ok_or_else(|| anyhow!("the provider has not redirected back yet"))?;
        let mut body = serde_json::Map::new();
        // `user`: Sign in with Apple's form field (name and email) of a first authorization.
        for name in ["code", "state", "iss", "error", "error_description", "user"] {
            if let Some(v) = query_param(response, name) {
                body.insert(name.to_owned(), json!(v));
            }
        }
        Ok(Value::Object(body))
    }

    /// The authorization response reaches the backend in `browser` with `payload` as its parameters: the
    /// browser follows the redirect itself, or the frontend hands them over, as the target says. The
    /// answer, and the session the browser holds before and after, are recorded.
    pub async fn deliver_callback(&mut self, browser: &str, payload: Value) -> anyhow::Result<()> {
        let (url, method) = self.app().await?.callback();
        self.session_before = self.session_in(browser).await?;
        let b = self.browser(browser)?;
        self.token_requests_before_callback = self.provider.idp.token_requests();
        self.log_seq_before_callback = self.provider.idp.log_cursor();
        let fields: Vec<(String, String)> = match &payload {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            _ => Vec::new(),
        };
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let with_query = |mut url: Url| {
            url.query_pairs_mut().extend_pairs(&pairs);
            url
        };
        let posted = self.auth_response_posted;
        let response = match method {
            // The provider's redirect (or form_post page) sends the browser to the backend: a navigation
            // from another site, so the browser's cookies go as SameSite lets them.
            CallbackMethod::Browser if posted => {
                self.withheld_cookies = b.withheld_cookies(&url, Navigation::CrossSitePost);
                let answer = b.navigate_from_other_site(&url, Some(&pairs)).await?;
                self.follow_reposts(&b, answer).await?
            }
            CallbackMethod::Browser => {
                let url = with_query(url);
                self.withheld_cookies = b.withheld_cookies(&url, Navigation::CrossSiteGet);
                b.navigate_from_other_site(&url, None).await?
            }
            frontend => {
                if posted {
                    // The form_post page POSTs the response to the redirect URI, a page of the app whose
                    // script then hands it to the API as the target says.
                    self.post_to_redirect_uri(&b, &pairs).await?;
                }
                match frontend {
                    CallbackMethod::PostJson => b.as_frontend().post_json(&url, &payload).await?,
                    _ => b.as_frontend().get(&with_query(url)).await?,
                }
            }
        };
        if let Some(code) = payload.get("code").and_then(Value::as_str) {
            self.codes_handed_over.push(mock_idp::fingerprint(code));
        }
        self.last_callback = Some(payload);
        self.record_backend(browser, response).await
    }

    /// A form_post response POSTed to the app's redirect URI when the app's frontend, not the browser's
    /// navigation, hands it to the backend: the page must take the POST (2xx).
    async fn post_to_redirect_uri(
        &self,
        b: &Browser,
        pairs: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let redirect_uri = self
            .app_if_started()
            .map(|app| app.redirect_uri())
            .ok_or_else(|| anyhow!("the app did not start"))?;
        let redirect_uri = Url::parse(&redirect_uri).context("redirect URI")?;
        let page = b
            .navigate_from_other_site(&redirect_uri, Some(pairs))
            .await?;
        ensure!(
            page.is_success(),
            "the app's redirect URI answered the form_post response ({redirect_uri}) with {}: with \
             response_mode=form_post it must take a POST",
            page.brief()
        );
        Ok(())
    }

    /// Pages that re-post the response as they load (a same-origin form that lets a `SameSite=Lax`
    /// transaction cookie go), followed as a browser does: at most three, to the backend's own origin.
    async fn follow_reposts(
        &self,
        b: &Browser,
        mut answer: HttpResponse,
    ) -> anyhow::Result<HttpResponse> {
        for _ in 0..3 {
            let Some(form) = auto_submitted_form(&answer) else {
                break;
            };
            let same_origin = answer
                .url
                .as_ref()
                .is_some_and(|u| u.origin() == form.action.origin());
            if !same_origin {
                break;
            }
            answer = b.post_form(&form.action, &form.pairs()).await?;
        }
        Ok(answer)
    }

    /// The session `browser` holds at the backend, as its profile endpoint shows it: `Some` when the
    /// endpoint honours the browser's cookies (2xx), `None` when it refuses them (401, 403, a redirect to
    /// a login). Only for cookie sessions: a bearer session is the token the answer carried.
    pub async fn session_in(&mut self, browser: &str) -> anyhow::Result<Option<Profile>> {
        let app = self.app().await?;
        if !matches!(app.token_delivery(), TokenDelivery::Cookie(_)) {
            return Ok(None);
        }
        let url = app.profile_url();
        let b = self.browser(browser)?;
        // A copy of the browser's cookies asks, and whatever the answer sets is dropped: asking must not
        // change the browser (an app whose protected page starts a login when there is no session would
        // otherwise replace the login in progress).
        let Some(cookies) = b.cookie_header(&url) else {
            return Ok(None);
        };
        let response = b.get_with_cookies(&url, &cookies).await?;
        if !response.is_success() {
            return Ok(None);
        }
        Ok(Some(self.app().await?.profile_of_page(&response.body)))
    }

    /// Records a backend answer and the session it left: the bearer token it carries, or (for a cookie
    /// session) what the profile endpoint now honours in `browser`.
    pub async fn record_backend(
        &mut self,
        browser: &str,
        response: HttpResponse,
    ) -> anyhow::Result<()> {
        // Whatever the status: a refusal that still carries a session is a session (JWT-LAST), so the
        // token is looked for in every answer, 4xx included.
        self.app_token = match self.app().await?.token_delivery() {
            TokenDelivery::JsonBody(pointer) => response
                .json()
                .pointer(&pointer)
                .and_then(Value::as_str)
                .map(str::to_owned),
            TokenDelivery::Cookie(_) => {
                self.session_after = self.session_in(browser).await?;
                self.session_after
                    .as_ref()
                    .map(|_| COOKIE_SESSION.to_owned())
            }
        };
        self.backend = Some(response);
        self.last_answer_ends_login = true;
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
            .ok_or_else(|| crate::target::unsupported("[backend] bind"))?;
        let ticket = last
            .and_then(|r| app.binding_ticket(&r.json()))
            .or(previous)
            .ok_or_else(|| anyhow!("the backend has not handed out a binding ticket"))?;
        self.last_ticket = Some(ticket.clone());
        let response = self
            .browser(MAIN)?
            .as_frontend()
            .post_json(&url, &json!({"ticket": ticket, "phone": phone}))
            .await?;
        self.record_backend(MAIN, response).await
    }

    /// The browser asks for its profile with the last app token (or `token` if given).
    /// A token the step gives is presented by a client that holds nothing else (no cookies), so a cookie
    /// session of the browser cannot answer for it.
    pub async fn fetch_profile(&mut self, token: Option<String>) -> anyhow::Result<()> {
        let url = self.app().await?.profile_url();
        let b = match &token {
            Some(t) if t != COOKIE_SESSION => self.fresh_client()?,
            _ => self.browser(MAIN)?.as_frontend(),
        };
        let token = token.or_else(|| self.app_token.clone());
        let response = match token {
            Some(t) if t != COOKIE_SESSION => b.get_with_bearer(&url, &t).await?,
            _ => b.get(&url).await?,
        };
        self.profile = Some(response);
        Ok(())
    }

    /// Asks for the profile with the browser's cookies, one byte of the session's cookie value changed
    /// (JWT-VERIFY for an opaque or encrypted cookie: only tampering applies).
    pub async fn fetch_profile_with_tampered_cookie(&mut self) -> anyhow::Result<()> {
        let app = self.app().await?;
        let url = app.profile_url();
        let TokenDelivery::Cookie(name) = app.token_delivery() else {
            return Err(anyhow!("the session is not a cookie"));
        };
        let header = self
            .browser(MAIN)?
            .cookie_header(&url)
            .ok_or_else(|| anyhow!("the browser holds no cookie for {url}"))?;
        let mut tampered = false;
        let cookies: Vec<String> = header
            .split("; ")
            .map(|pair| match pair.split_once('=') {
                Some((n, v)) if !tampered && (n == name || (name.is_empty() && !v.is_empty())) => {
                    tampered = true;
                    format!("{n}={}", flip_middle(v))
                }
                _ => pair.to_owned(),
            })
            .collect();
        ensure!(
            tampered,
            "the browser holds no cookie {name:?} (set [session] cookie to the session's name)"
        );
        let response = self
            .browser(MAIN)?
            .as_frontend()
            .get_with_cookies(&url, &cookies.join("; "))
            .await?;
        self.profile = Some(response);
        Ok(())
    }

    /// Moves the backend's clock.
    pub async fn advance_app_clock(&mut self, by: Duration) -> anyhow::Result<()> {
        let shared = self.factory.fixed().is_some();
        let app = self.app().await?;
        if shared && !app.can_reset_clock() {
            return Err(crate::target::skip(
                "moves the running backend's clock, which would stay moved for every later scenario: \
                 needs `[hooks] reset_clock` beside `[hooks] advance_clock`",
            ));
        }
        app.advance_clock(by).await?;
        self.app_clock_moved = true;
        Ok(())
    }

    /// Puts the backend's clock back where it was before the scenario moved it.
    pub async fn reset_app_clock(&mut self) -> anyhow::Result<()> {
        if !std::mem::take(&mut self.app_clock_moved) {
            return Ok(());
        }
        match self.app_if_started() {
            Some(app) => app.reset_clock().await,
            None => Ok(()),
        }
    }

    /// The browser opens the backend's login, which may refuse instead of redirecting to the provider
    /// (e.g. when the provider's discovery cannot be trusted); the answer is recorded as the backend's.
    pub async fn try_open_login(&mut self, browser: &str) -> anyhow::Result<()> {
        let start = self.app().await?.login_start();
        self.log_seq_before_callback = self.provider.idp.log_cursor();
        self.token_requests_before_callback = self.provider.idp.token_requests();
        self.session_before = self.session_in(browser).await?;
        let response = start_login(&self.browser(browser)?, &start).await?;
        self.record_backend(browser, response).await
    }
}

/// `value` with its middle character swapped for another of the same kind, so the cookie still parses.
pub fn flip_middle(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let at = chars.len() / 2;
    if let Some(c) = chars.get_mut(at) {
        *c = match *c {
            'a' => 'b',
            '0' => '1',
            'A' => 'B',
            c if c.is_ascii_alphanumeric() => 'a',
            _ => 'x',
        };
    }
    chars.into_iter().collect()
}

/// One of several logins racing in fresh browsers.
struct ConcurrentLogin {
    browser: Browser,
    login: LoginStart,
    callback: (Url, CallbackMethod),
    profile: Url,
    cookie_session: bool,
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
            login: app.login_start(),
            callback: app.callback(),
            profile: app.profile_url(),
            cookie_session: matches!(app.token_delivery(), TokenDelivery::Cookie(_)),
            login_page: Url::parse(&world.provider.idp.login_page_url())?,
            username: world.provider.login_name(username)?,
            password: world
                .provider
                .idp
                .user(&world.provider.login_name(username)?)
                .map(|u| u.password.expose().to_owned())
                .unwrap_or_default(),
        })
    }

    async fn run(&self) -> anyhow::Result<()> {
        let b = &self.browser;
        let authorize = start_login(b, &self.login).await?.location()?;
        let page = b.get(&authorize).await?;
        let form = [
            ("request_id", hidden_input(&page.body, "request_id")?),
            ("csrf", hidden_input(&page.body, "csrf")?),
            ("username", self.username.clone()),
            ("password", self.password.clone()),
            ("action", "login".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (back, posted) = authorization_response(&b.post_form(&self.login_page, &form).await?)?;
        let mut payload = serde_json::Map::new();
        for name in ["code", "state", "iss"] {
            if let Some(v) = query_param(&back, name) {
                payload.insert(name.to_owned(), json!(v));
            }
        }
        let fields = response_fields(&back);
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut redirect_uri = back.clone();
        redirect_uri.set_query(None);
        if posted && self.callback.1 != CallbackMethod::Browser {
            b.navigate_from_other_site(&redirect_uri, Some(&pairs))
                .await?;
        }
        let response = match self.callback.1 {
            CallbackMethod::PostJson => {
                b.post_json(&self.callback.0, &Value::Object(payload))
                    .await?
            }
            CallbackMethod::Browser if posted => {
                b.navigate_from_other_site(&self.callback.0, Some(&pairs))
                    .await?
            }
            CallbackMethod::GetQuery | CallbackMethod::Browser => {
                let mut url = self.callback.0.clone();
                url.set_query(back.query());
                b.navigate_from_other_site(&url, None).await?
            }
        };
        if self.cookie_session {
            let profile = b.get(&self.profile).await?;
            ensure!(
                profile.is_success(),
                "a concurrent login left no session: the callback answered {}, the profile {}",
                response.brief(),
                profile.brief()
            );
        } else {
            ensure!(
                response.is_success(),
                "a concurrent login was refused: {}",
                response.brief()
            );
        }
        Ok(())
    }
}
