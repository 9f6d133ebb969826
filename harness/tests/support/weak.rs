//! A deliberately weakened reference client, for the mutation test: the features must fail against it.
//!
//! It is the real reference client (same state, same routes) with three handlers replaced: `/auth/login`
//! is wrapped to remember every transaction it starts, `/api/auth/callback` is a copy of the real one
//! with switches that turn single protections off (or, for `exchange_before_checks`, move one too late),
//! and `/backchannel-logout` a copy of the real one with its switches. A callback of a WeChat or GitHub
//! login goes to the real callback, or with a persona switch on to a copy whose identity key the switch
//! changes. With every switch off it must pass the same scenarios as
//! the real backend (the mutation test's control run), so a failure under a switch is that switch's doing.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use reference_client::{
    AppState, NewUser, UnknownUserPolicy,
    error::ApiError,
    oidc::VerifiedLogin,
    provider_tokens::ProviderTokens,
    providers::{Protocol, ProviderLogin, apple::Apple, github::Github, wechat::Wechat},
    routes::{
        TX_COOKIE,
        callback::{BindingRequired, CallbackRequest},
        complete_login,
        login::{ClientAddr, LoginQuery, redirect_to_provider},
        provider_profile::keep_tokens,
    },
    store::{LoginTransaction, PendingBinding, TakeError},
};
use serde_json::Value;

/// Which protections are switched off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weaknesses {
    /// The callback's `state` is not checked: the backend completes the latest login it started, whatever
    /// state and browser cookie the callback carries, however old, and as often as it is called.
    pub skip_state_check: bool,
    /// Codes are retried: a code the backend already exchanged is answered from a cache instead of being
    /// refused, so the same code logs in twice.
    pub reuse_codes: bool,
    /// Unknown users are let in: an unknown (iss, sub) gets an account whatever the policy says.
    pub admit_unknown_users: bool,
    /// The code is exchanged before the callback is checked: a bad callback is still refused with the right
    /// error and gets no token, but the backend has called the token endpoint first, which the conformance
    /// suite does not count as a rejection. Only the token-request count can tell.
    pub exchange_before_checks: bool,
    /// The id_token's signature is not checked (nor its `alg`, nor which key): ID-SIG.
    pub skip_signature_check: bool,
    /// The id_token's `iss` is not checked: ID-ISS.
    pub skip_iss_check: bool,
    /// The id_token's `aud` is not checked: ID-AUD.
    pub skip_aud_check: bool,
    /// The id_token's `exp` is not checked: ID-EXP.
    pub skip_exp_check: bool,
    /// The id_token's `nonce` is not checked: ID-NONCE.
    pub skip_nonce_check: bool,
    /// No PKCE: the login sends no `code_challenge` and the exchange no `code_verifier`. With
    /// `skip_nonce_check` too, nothing stops a code from another browser's login (ST-CODE-INJECTION).
    pub no_pkce: bool,
    /// The JWKS is fetched once and kept for good: an id_token naming a key it does not hold is refused
    /// without the one fresh look at the JWKS that key rotation needs (ID-KID).
    pub never_refetch_jwks: bool,
    /// The back-channel endpoint does not remember `jti`s: a replayed logout token is accepted again
    /// (LO-BACKCHANNEL).
    pub accept_replayed_logout_tokens: bool,
    /// A valid logout token ends every user's sessions, not only those of the user it names
    /// (LO-BACKCHANNEL).
    pub logout_ends_every_session: bool,
    /// A valid logout token that names only a `sid` ends every user's sessions (LO-BACKCHANNEL).
    pub sid_logout_ends_every_session: bool,
    /// A GitHub identity is keyed on the renamable `login` instead of the numeric `id` (NP-IDENTITY-KEY).
    pub github_login_key: bool,
    /// A WeChat identity ignores the `unionid`: always the app's `openid` (NP-IDENTITY-KEY).
    pub wechat_ignores_unionid: bool,
    /// A WeChat `openid` is not namespaced per app: the same string at two apps is one identity
    /// (NP-IDENTITY-KEY).
    pub wechat_openid_unscoped: bool,
    /// The redirect URI takes no `POST`: asking for form_post, the app answers the posted response 405
    /// (ST-FORM-POST).
    pub no_form_post_callback: bool,
    /// A logout token whose header names another alg than RS256 (`none` included) is read without any
    /// check: the back-channel endpoint trusts the token's own `alg` (LO-BACKCHANNEL-ALG).
    pub logout_alg_unchecked: bool,
    /// A logout token's `events` claim is not checked: a token for another event, or with `events` that
    /// are not an object, ends the sessions it names (LO-BACKCHANNEL-EVENT).
    pub logout_event_unchecked: bool,
    /// An id_token without `kid` is refused, even when the JWKS holds a single key (ID-KID, ID-KID-ABSENT).
    pub kid_required: bool,
    /// The JWKS is read all or nothing: one key the backend cannot parse (an unknown `kty`) makes every key
    /// unusable (ID-JWKS-UNUSABLE-KEYS).
    pub jwks_all_or_nothing: bool,
    /// The login asks only for `openid`, while the app still shows the name and picture it finds
    /// (ST-SCOPE-CLAIMS).
    pub scope_openid_only: bool,
    /// A refreshed id_token's `iss` is not checked, neither against the configured issuer nor against
    /// the login's (RF-ID-TOKEN).
    pub skip_refresh_iss_check: bool,
    /// A refreshed id_token's `sub` is not compared with the login's (RF-ID-TOKEN).
    pub skip_refresh_sub_check: bool,
    /// A signed userinfo (the client registered `userinfo_signed_response_alg`) is read without checking
    /// its signature, `iss` or `aud` (RS-USERINFO-JWT).
    pub skip_userinfo_signature_check: bool,
    /// The id_token's own `alg` picks how it is checked, whatever the client registered: HS256 with the
    /// client secret, RS256 or ES256 with the JWKS (ID-SIG-HS256, ID-SIG).
    pub id_token_alg_unpinned: bool,
    // google persona
    /// The main OpenID provider's id_token `iss` may also be its issuer without the scheme, as only
    /// Google's may (GOOGLE-ISS, ID-ISS).
    pub schemeless_iss_everywhere: bool,
    /// Google is checked as plain OpenID Connect: its scheme-less issuer refused, `azp` only our own
    /// client id (GOOGLE-ISS, GOOGLE-AZP).
    pub google_plain_oidc: bool,
    /// The Google id_token's `hd` is not checked: the backend trusts the `hd=` it asked for (GOOGLE-HD).
    pub google_hd_unchecked: bool,
    /// The email's domain stands in for the `hd` claim (GOOGLE-HD).
    pub google_hd_from_email: bool,
    /// An unknown Google `sub` whose email an earlier Google login had is logged in as that login's user
    /// (GOOGLE-SUB-KEY).
    pub google_links_by_email: bool,
    /// A Google login whose token answer has no refresh token is refused, though the backend keeps one
    /// from the first consent (GOOGLE-REFRESH).
    pub google_refresh_required: bool,
    // apple persona
    /// Sign in with Apple's unsigned `user` field is trusted: its email is the identity's subject and
    /// the email kept (APPLE-USER-BLOB).
    pub apple_user_blob_trusted: bool,
    /// Apple's `email_verified` is read as a truthy value: the string `"false"` counts as verified
    /// (APPLE-BOOL-STRINGS).
    pub apple_false_string_true: bool,
    /// An Apple login whose id_token email (a private relay address included) is an existing user's
    /// logs in as that user (APPLE-RELAY-EMAIL).
    pub apple_links_by_email: bool,
    /// The Apple client secret is signed once and sent with every token request after, however old
    /// (APPLE-CLIENT-SECRET).
    pub apple_secret_signed_once: bool,
    /// A Google login without a refresh token overwrites the kept one with none (GOOGLE-REFRESH).
    pub google_forgets_refresh_token: bool,
    // Entra
    /// An Entra login whose `email` equals the address of an earlier login's links to that user: the app
    /// keeps the first login's email and matches on it (ENTRA-IDENTITY-KEY, nOAuth).
    pub entra_links_by_email: bool,
    /// An Entra id_token from any tenant is admitted: no tenant allow-list (ENTRA-TENANT).
    pub entra_any_tenant: bool,
    /// An Entra `iss` is taken by prefix: anything under the provider's base URL, without putting the
    /// token's `tid` into the template (ENTRA-ISSUER, ENTRA-V1-ISSUER).
    pub entra_issuer_prefix: bool,
}

impl Weaknesses {
    /// Whether a switch of the WeChat, GitHub, Apple or Entra logins is on.
    fn weakens_personas(self) -> bool {
        self.github_login_key
            || self.wechat_ignores_unionid
            || self.wechat_openid_unscoped
            || self.apple_user_blob_trusted
            || self.apple_false_string_true
            || self.apple_links_by_email
            || self.apple_secret_signed_once
            || self.entra_links_by_email
            || self.entra_any_tenant
            || self.entra_issuer_prefix
    }

    /// Whether a switch of the Google logins is on.
    fn weakens_google(self) -> bool {
        self.google_plain_oidc
            || self.google_hd_unchecked
            || self.google_hd_from_email
            || self.google_links_by_email
            || self.google_refresh_required
            || self.google_forgets_refresh_token
    }
}

impl fmt::Display for Weaknesses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.skip_state_check {
            names.push("state check off");
        }
        if self.reuse_codes {
            names.push("codes retried");
        }
        if self.admit_unknown_users {
            names.push("unknown users let in");
        }
        if self.exchange_before_checks {
            names.push("code exchanged before the checks");
        }
        for (on, name) in [
            (self.skip_signature_check, "id_token signature unchecked"),
            (self.skip_iss_check, "id_token iss unchecked"),
            (self.skip_aud_check, "id_token aud unchecked"),
            (self.skip_exp_check, "id_token exp unchecked"),
            (self.skip_nonce_check, "id_token nonce unchecked"),
            (self.never_refetch_jwks, "JWKS never fetched again"),
            (self.no_pkce, "no PKCE"),
            (
                self.accept_replayed_logout_tokens,
                "logout token jti unchecked",
            ),
            (
                self.logout_ends_every_session,
                "a logout token ends every user's sessions",
            ),
            (
                self.sid_logout_ends_every_session,
                "a sid-only logout token ends every user's sessions",
            ),
            (self.github_login_key, "GitHub keyed on login"),
            (self.apple_user_blob_trusted, "Apple's user field trusted"),
            (
                self.apple_false_string_true,
                "Apple's \"false\" read as true",
            ),
            (self.apple_links_by_email, "Apple logins linked by email"),
            (
                self.apple_secret_signed_once,
                "Apple client secret signed once",
            ),
            (self.wechat_ignores_unionid, "WeChat unionid ignored"),
            (
                self.wechat_openid_unscoped,
                "WeChat openid not namespaced per app",
            ),
            (self.no_form_post_callback, "no POST at the redirect URI"),
            (self.logout_alg_unchecked, "logout token alg unchecked"),
            (self.logout_event_unchecked, "logout token events unchecked"),
            (self.kid_required, "id_token without kid refused"),
            (self.jwks_all_or_nothing, "one unusable JWK spoils the JWKS"),
            (self.scope_openid_only, "login asks only for openid"),
            (
                self.skip_refresh_iss_check,
                "refreshed id_token iss unchecked",
            ),
            (
                self.skip_refresh_sub_check,
                "refreshed id_token sub unchecked",
            ),
            (
                self.skip_userinfo_signature_check,
                "signed userinfo unchecked",
            ),
            (self.id_token_alg_unpinned, "id_token alg not pinned"),
            (
                self.schemeless_iss_everywhere,
                "scheme-less iss accepted for every provider",
            ),
            (self.google_plain_oidc, "Google checked as plain OpenID"),
            (self.google_hd_unchecked, "Google hd claim unchecked"),
            (
                self.google_hd_from_email,
                "Google hd from the email's domain",
            ),
            (self.google_links_by_email, "Google linked by email"),
            (
                self.google_refresh_required,
                "Google login needs a refresh token",
            ),
            (
                self.google_forgets_refresh_token,
                "Google refresh token overwritten by a login without one",
            ),
            (self.entra_links_by_email, "Entra logins linked by email"),
            (self.entra_any_tenant, "Entra tenants not checked"),
            (self.entra_issuer_prefix, "Entra issuer taken by prefix"),
        ] {
            if on {
                names.push(name);
            }
        }
        if names.is_empty() {
            names.push("no weakness");
        }
        f.write_str(&names.join(", "))
    }
}

/// The weakened backend's state: the real one plus what the switches need to remember.
#[derive(Clone)]
struct Weak {
    /// The reference client's state.
    app: AppState,
    /// The switches.
    weak: Weaknesses,
    /// (state, browser cookie) of every login started, oldest first.
    started: Arc<Mutex<Vec<(String, String)>>>,
    /// Transactions already completed, kept so `skip_state_check` can complete them again.
    completed: Arc<Mutex<HashMap<String, LoginTransaction>>>,
    /// Exchanged codes and what they proved, for `reuse_codes`.
    codes: Arc<Mutex<HashMap<String, VerifiedLogin>>>,
    /// state → (PKCE verifier, nonce) of every login started, for `exchange_before_checks`.
    secrets: Arc<Mutex<HashMap<String, (String, String)>>>,
    /// The weakened backend's own HTTP client for the token and JWKS requests (redirects off).
    http: reqwest::Client,
    /// The first JWKS fetched, for `never_refetch_jwks`.
    jwks: Arc<Mutex<Option<Value>>>,
    /// The states of logins started with a WeChat or GitHub provider, whose callbacks take the persona path.
    persona_logins: Arc<Mutex<std::collections::HashSet<String>>>,
    /// The states of logins started with a Google provider, whose callbacks take the Google path.
    google_logins: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Google email → the user its login found, for `google_links_by_email`.
    google_emails: Arc<Mutex<HashMap<String, i64>>>,
    /// The first Apple client secret signed, for `apple_secret_signed_once`.
    apple_secret: Arc<Mutex<Option<String>>>,
    /// `entra_links_by_email`: email → the (namespace, subject) of the first Entra login that had it.
    entra_emails: Arc<Mutex<HashMap<String, (String, String)>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The weakened router: the reference client's routes with login and callback replaced.
pub fn router(app: AppState, weak: Weaknesses) -> Router {
    let state = Weak {
        app: app.clone(),
        weak,
        started: Arc::default(),
        jwks: Arc::default(),
        completed: Arc::default(),
        codes: Arc::default(),
        secrets: Arc::default(),
        persona_logins: Arc::default(),
        google_logins: Arc::default(),
        google_emails: Arc::default(),
        apple_secret: Arc::default(),
        entra_emails: Arc::default(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(app.settings.http_timeout)
            .build()
            .unwrap_or_default(),
    };
    let mut router = Router::new();
    if weak.no_form_post_callback {
        router = router.route("/callback", get(reference_client::routes::pages::callback));
    }
    if weak.skip_refresh_iss_check || weak.skip_refresh_sub_check {
        router = router.route("/api/me/provider-profile", get(provider_profile));
    }
    router
        .route("/auth/login", get(login))
        .route("/api/auth/callback", post(callback))
        .route("/backchannel-logout", post(backchannel_logout))
        .with_state(state)
        .fallback_service(reference_client::router(app))
}

/// The real login, remembering the state and browser cookie it hands out.
async fn login(
    State(w): State<Weak>,
    from: ClientAddr,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let existing = jar.get(TX_COOKIE).map(|c| c.value().to_owned());
    let mut response = redirect_to_provider(State(w.app.clone()), from, jar, Query(query)).await?;
    if w.weak.no_pkce {
        without_pkce(&mut response);
    }
    if w.weak.scope_openid_only {
        rewrite_location(&mut response, |pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| {
                    if k == "scope" {
                        (k, "openid".to_owned())
                    } else {
                        (k, v)
                    }
                })
                .collect()
        });
    }
    let state = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        });
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
        .find(|c| c.name() == TX_COOKIE)
        .map(|c| c.value().to_owned())
        .or(existing);
    if let (Some(state), Some(cookie)) = (state, cookie) {
        // Peek at the transaction (take it and put it back) for the verifier and nonce.
        let app = &w.app;
        if let Ok(tx) = app
            .transactions
            .take(&state, Some(&cookie), app.now(), u64::MAX)
        {
            let secrets = (tx.pkce_verifier.clone(), tx.nonce.clone());
            lock(&w.secrets).insert(state.clone(), secrets);
            let persona = app
                .providers
                .get(Some(&tx.provider))
                .is_some_and(|p| !matches!(p.protocol, Protocol::Oidc(_)));
            if persona {
                lock(&w.persona_logins).insert(state.clone());
            }
            let google = app
                .providers
                .get(Some(&tx.provider))
                .is_some_and(|p| matches!(&p.protocol, Protocol::Oidc(o) if o.is_google()));
            if google {
                lock(&w.google_logins).insert(state.clone());
            }
            app.transactions
                .insert(tx, app.now(), app.settings.transaction_ttl.as_secs());
        }
        lock(&w.started).push((state, cookie));
    }
    Ok(response)
}

/// The redirect to the provider without its `code_challenge` and `code_challenge_method`.
fn without_pkce(response: &mut Response) {
    rewrite_location(response, |pairs| {
        pairs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("code_challenge"))
            .collect()
    });
}

/// Rewrites the query of the redirect's `Location` (the authorization request the browser is sent with).
fn rewrite_location(
    response: &mut Response,
    change: impl FnOnce(Vec<(String, String)>) -> Vec<(String, String)>,
) {
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
    else {
        return;
    };
    let pairs = change(location.query_pairs().into_owned().collect());
    let mut rewritten = location.clone();
    rewritten.query_pairs_mut().clear().extend_pairs(pairs);
    if let Ok(value) = header::HeaderValue::from_str(rewritten.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}

/// The transaction the callback completes.
fn transaction(
    w: &Weak,
    req: &CallbackRequest,
    jar: &CookieJar,
) -> Result<LoginTransaction, ApiError> {
    let app = &w.app;
    if w.weak.skip_state_check {
        let latest = lock(&w.started).last().cloned();
        let Some((state, cookie)) = latest else {
            return Err(ApiError::InvalidState("no login started"));
        };
        return match app
            .transactions
            .take(&state, Some(&cookie), app.now(), u64::MAX)
        {
            Ok(tx) => {
                lock(&w.completed).insert(state, tx.clone());
                Ok(tx)
            }
            Err(_) => lock(&w.completed)
                .get(&state)
                .cloned()
                .ok_or(ApiError::InvalidState("no login started")),
        };
    }
    let state = req
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ApiError::InvalidState("missing state"))?;
    let browser = jar.get(TX_COOKIE).map(|c| c.value().to_owned());
    app.transactions
        .take(
            state,
            browser.as_deref(),
            app.now(),
            app.settings.transaction_ttl.as_secs(),
        )
        .map_err(|e| match e {
            TakeError::Unknown => ApiError::InvalidState("unknown or already used state"),
            TakeError::OtherBrowser => ApiError::InvalidState("state belongs to another browser"),
            TakeError::Expired => ApiError::InvalidState("login transaction expired"),
        })
}

/// A copy of the reference callback with the switches.
async fn callback(
    State(w): State<Weak>,
    jar: CookieJar,
    Json(req): Json<CallbackRequest>,
) -> Result<Response, ApiError> {
    let persona = req
        .state
        .as_ref()
        .is_some_and(|s| lock(&w.persona_logins).contains(s));
    if persona {
        return persona_callback(&w, jar, req).await;
    }
    let google = req
        .state
        .as_ref()
        .is_some_and(|s| lock(&w.google_logins).contains(s));
    if google {
        return google_callback(&w, jar, req).await;
    }
    let app = &w.app;
    // `exchange_before_checks`: the code goes to the provider with the verifier of the login the state names
    // (or of the latest one), before the state, browser, age and iss are looked at.
    let early = match (w.weak.exchange_before_checks, req.code.as_deref()) {
        (true, Some(code)) => {
            let latest = lock(&w.started).last().map(|(s, _)| s.clone());
            let secrets = {
                let secrets = lock(&w.secrets);
                req.state
                    .as_ref()
                    .and_then(|s| secrets.get(s))
                    .or_else(|| latest.and_then(|s| secrets.get(&s)))
                    .cloned()
            };
            let (verifier, nonce) = secrets.unwrap_or_default();
            Some(exchange_and_verify(&w, code, &verifier, &nonce).await)
        }
        _ => None,
    };
    let tx = transaction(&w, &req, &jar)?;
    match req.iss.as_deref() {
        Some(iss) if iss == app.provider.issuer() => {}
        _ => return Err(ApiError::IssuerMismatch("iss parameter missing or wrong")),
    }
    if let Some(error) = req.error.as_deref() {
        return Err(if error == "access_denied" {
            ApiError::AccessDenied
        } else {
            ApiError::Provider(format!("authorization error {error}"))
        });
    }
    let code = req
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("missing code".into()))?;
    let cached = if w.weak.reuse_codes {
        lock(&w.codes).get(&code).cloned()
    } else {
        None
    };
    let login = match (early, cached) {
        (Some(early), _) => early?,
        (None, Some(login)) => login,
        (None, None) => {
            let login = exchange_and_verify(&w, &code, &tx.pkce_verifier, &tx.nonce).await?;
            lock(&w.codes).insert(code, login.clone());
            login
        }
    };
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    let new_user = || NewUser {
        display_name: login.name.clone().unwrap_or_else(|| "New user".into()),
        role: reference_client::Role::User,
        avatar_url: login.picture.clone(),
        phone: None,
    };
    let user = match app.db.find_by_identity(&login.issuer, &login.subject)? {
        Some(user) => user,
        None if w.weak.admit_unknown_users => {
            app.db
                .find_or_create_user(&login.issuer, &login.subject, &new_user(), now)?
                .0
        }
        None => match app.settings.unknown_user_policy {
            UnknownUserPolicy::Reject => return Err(ApiError::UnknownUser),
            UnknownUserPolicy::AutoCreate => {
                app.db
                    .find_or_create_user(&login.issuer, &login.subject, &new_user(), now)?
                    .0
            }
            UnknownUserPolicy::RequireBinding => {
                let ttl = app.settings.binding_ticket_ttl.as_secs();
                let ticket = app.binding_tickets.issue(
                    PendingBinding {
                        issuer: login.issuer.clone(),
                        subject: login.subject.clone(),
                        display_name: login.name.clone(),
                        avatar_url: login.picture.clone(),
                        browser_binding: tx.browser_binding.clone(),
                        created_at: app.now(),
                    },
                    app.now(),
                    ttl,
                )?;
                return Ok(Json(BindingRequired {
                    status: "binding_required",
                    binding_ticket: ticket,
                    expires_in: ttl,
                })
                .into_response());
            }
        },
    };
    // As the real callback: the logout hint, and the provider session a back-channel logout may name.
    if let Some(id_token) = login.id_token.clone() {
        app.db
            .set_login_hint(user.id, &id_token, login.sid.as_deref())?;
    }
    if !user.disabled {
        keep_tokens(app, &user, &tx.provider, login.tokens.clone()).await?;
    }
    complete_login(app, jar, &user, tx.return_to)
}

/// A copy of the reference client's code exchange and id_token checks (`reference_client::oidc`), each
/// id_token check behind its switch. With every switch off it refuses what the real one refuses.
async fn exchange_and_verify(
    w: &Weak,
    code: &str,
    verifier: &str,
    nonce: &str,
) -> Result<VerifiedLogin, ApiError> {
    let app = &w.app;
    let settings = &app.settings;
    let discovery = app.provider.discovery().await?;
    let provider = |m: String| ApiError::Provider(m);
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            encode(&settings.client_id),
            encode(settings.client_secret.expose())
        ))
    );
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", settings.redirect_uri.as_str()),
    ];
    if !w.weak.no_pkce {
        form.push(("code_verifier", verifier));
    }
    let response = w
        .http
        .post(&discovery.token_endpoint)
        .header(header::AUTHORIZATION, basic)
        .header(header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| provider(format!("token request failed: {e}")))?;
    if !response.status().is_success() {
        return Err(provider(format!(
            "token endpoint answered {}",
            response.status()
        )));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| provider(format!("token response is not JSON: {e}")))?;
    let bearer = body["token_type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if body["access_token"].as_str().is_none() || !bearer {
        return Err(provider("not a Bearer token response".into()));
    }
    let id_token = body["id_token"]
        .as_str()
        .ok_or_else(|| provider("no id_token".into()))?;
    let mut login = verify_id_token(w, &discovery.jwks_uri, id_token, nonce).await?;
    if let (Some(endpoint), Some(access)) = (
        discovery.userinfo_endpoint.as_deref(),
        body["access_token"].as_str(),
    ) && (login.name.is_none() || login.picture.is_none())
    {
        // As the real one: userinfo only adds to a verified login; a failure leaves it out.
        if let Ok(info) = userinfo(w, endpoint, &discovery.jwks_uri, access).await
            && info["sub"].as_str() == Some(login.subject.as_str())
        {
            let text = |k: &str| info[k].as_str().map(str::to_owned);
            login.name = login.name.take().or(text("name"));
            login.picture = login.picture.take().or(text("picture"));
        }
    }
    // As the real exchange: the tokens are kept for using the provider again (RF-HAPPY).
    login.tokens = body["access_token"].as_str().map(|access| ProviderTokens {
        access_token: access.to_owned(),
        access_expires_at: body["expires_in"]
            .as_u64()
            .map(|secs| app.now().saturating_add(secs)),
        refresh_token: body["refresh_token"].as_str().map(str::to_owned),
        issuer: login.issuer.clone(),
        subject: login.subject.clone(),
        azp: login.azp.clone(),
    });
    Ok(login)
}

/// A copy of the reference client's userinfo read (`reference_client::oidc`): JSON, or for a client
/// registered with `userinfo_signed_response_alg` an `application/jwt` whose signature, `iss` and `aud`
/// are checked, unless `skip_userinfo_signature_check` reads its payload as it is.
async fn userinfo(w: &Weak, endpoint: &str, jwks_uri: &str, access: &str) -> Result<Value, String> {
    let settings = &w.app.settings;
    let response = w
        .http
        .get(endpoint)
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.map_err(|e| e.to_string())?;
    let Some(alg) = settings.userinfo_signed_response_alg else {
        return serde_json::from_str(&body).map_err(|e| e.to_string());
    };
    let jwt = body.trim();
    if w.weak.skip_userinfo_signature_check {
        let payload = jwt.split('.').nth(1).ok_or("not a JWS")?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|e| e.to_string())?;
        return serde_json::from_slice(&bytes).map_err(|e| e.to_string());
    }
    if !content_type.starts_with("application/jwt") {
        return Err(format!("{content_type:?} is not application/jwt"));
    }
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| e.to_string())?;
    if header.alg != alg {
        return Err("another algorithm".into());
    }
    let jwks: Value = w
        .http
        .get(jwks_uri)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let keys: Vec<Jwk> = jwks["keys"]
        .as_array()
        .map(|k| {
            k.iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let jwk = keys
        .iter()
        .find(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .ok_or("no key")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims["iss"].as_str() != Some(w.app.provider.issuer())
        || claims["aud"].as_str() != Some(settings.client_id.as_str())
    {
        return Err("iss or aud".into());
    }
    Ok(claims)
}

fn reject(why: &str) -> ApiError {
    ApiError::InvalidIdToken(why.to_owned())
}

/// The JWKS key an RS256 or ES256 id_token's header names (or the only key).
async fn jwks_key(
    w: &Weak,
    jwks_uri: &str,
    header: &jsonwebtoken::Header,
) -> Result<DecodingKey, ApiError> {
    let cached = w
        .weak
        .never_refetch_jwks
        .then(|| lock(&w.jwks).clone())
        .flatten();
    let jwks: Value = match cached {
        Some(jwks) => jwks,
        None => w
            .http
            .get(jwks_uri)
            .send()
            .await
            .map_err(|e| ApiError::Provider(format!("jwks: {e}")))?
            .json()
            .await
            .map_err(|e| ApiError::Provider(format!("jwks: {e}")))?,
    };
    if w.weak.never_refetch_jwks {
        *lock(&w.jwks) = Some(jwks.clone());
    }
    let keys: Vec<Jwk> = if w.weak.jwks_all_or_nothing {
        // Every key must parse and make a verification key, or none is used.
        jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                serde_json::from_value::<Jwk>(k.clone())
                    .ok()
                    .filter(|jwk| DecodingKey::from_jwk(jwk).is_ok())
            })
            .collect::<Option<Vec<Jwk>>>()
            .ok_or_else(|| reject("a key of the JWKS does not parse"))?
    } else {
        jwks["keys"]
            .as_array()
            .map(|k| {
                k.iter()
                    .filter_map(|k| serde_json::from_value(k.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    if w.weak.kid_required && header.kid.is_none() {
        return Err(reject("no kid"));
    }
    let jwk = match header.kid.as_deref() {
        Some(kid) => keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or_else(|| reject("no usable key"))?;
    DecodingKey::from_jwk(jwk).map_err(|_| reject("unusable key"))
}

/// The id_token checks of OIDC Core §3.1.3.7, minus the switched-off ones.
async fn verify_id_token(
    w: &Weak,
    jwks_uri: &str,
    token: &str,
    nonce: &str,
) -> Result<VerifiedLogin, ApiError> {
    let app = &w.app;
    let settings = &app.settings;
    let client_id = settings.client_id.as_str();
    let payload = token.split('.').nth(1).ok_or_else(|| reject("not a JWS"))?;
    let claims: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| reject("payload is not JSON"))?;
    if !w.weak.skip_signature_check {
        let header = jsonwebtoken::decode_header(token).map_err(|_| reject("bad header"))?;
        let name = match header.alg {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::HS256 => "HS256",
            _ => return Err(reject("algorithm not allowed")),
        };
        // Pinned to what the client registered; unregistered, RS256 or ES256 (never HS256).
        let allowed = w.weak.id_token_alg_unpinned
            || match settings.id_token_alg {
                Some(registered) => registered.as_str() == name,
                None => name != "HS256",
            };
        if !allowed {
            return Err(reject("algorithm not allowed"));
        }
        let key = if header.alg == Algorithm::HS256 {
            DecodingKey::from_secret(settings.client_secret.expose().as_bytes())
        } else {
            jwks_key(w, jwks_uri, &header).await?
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|_| reject("signature"))?;
    }
    let now = app.now();
    let skew = settings.clock_skew.as_secs();
    let issuer = app.provider.issuer();
    let iss_ok = match claims["iss"].as_str() {
        Some(iss) if iss == issuer => true,
        Some(iss) if w.weak.schemeless_iss_everywhere => issuer
            .strip_prefix("https://")
            .or_else(|| issuer.strip_prefix("http://"))
            .is_some_and(|bare| iss == bare),
        _ => false,
    };
    if !w.weak.skip_iss_check && !iss_ok {
        return Err(reject("wrong or missing iss"));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(list) => !list.is_empty() && list.iter().all(|a| a == client_id),
        _ => false,
    };
    if !w.weak.skip_aud_check && !aud_ok {
        return Err(reject("wrong or missing aud"));
    }
    if claims["azp"].as_str().is_some_and(|azp| azp != client_id) {
        return Err(reject("azp"));
    }
    let exp_ok = claims["exp"]
        .as_u64()
        .is_some_and(|exp| exp.saturating_add(skew) > now);
    if !w.weak.skip_exp_check && !exp_ok {
        return Err(reject("expired or missing exp"));
    }
    if claims["iat"]
        .as_u64()
        .is_none_or(|iat| iat > now.saturating_add(skew))
    {
        return Err(reject("missing or future iat"));
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| reject("missing sub"))?
        .to_owned();
    if !w.weak.skip_nonce_check && claims["nonce"].as_str() != Some(nonce) {
        return Err(reject("wrong or missing nonce"));
    }
    Ok(VerifiedLogin {
        issuer: app.provider.issuer().to_owned(),
        subject,
        name: claims["name"].as_str().map(str::to_owned),
        picture: claims["picture"].as_str().map(str::to_owned),
        id_token: Some(token.to_owned()),
        sid: claims["sid"].as_str().map(str::to_owned),
        azp: claims["azp"].as_str().map(str::to_owned),
        tokens: None,
    })
}

/// `GET /api/me/provider-profile`: the real handler with a refresh step whose id_token checks lack the
/// switched-off comparisons with the login (`skip_refresh_iss_check`, `skip_refresh_sub_check`).
async fn provider_profile(
    State(w): State<Weak>,
    headers: header::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = reference_client::routes::me::authenticate(&w.app, &headers).await?;
    let weak = w.clone();
    reference_client::routes::provider_profile::provider_profile_with(
        &w.app,
        &user,
        move |provider, tokens| async move {
            let refreshed = provider.redeem_refresh_token(&tokens).await?;
            if let Some(id_token) = &refreshed.id_token {
                verify_refreshed_id_token(&weak, &provider, id_token, &tokens).await?;
            }
            Ok(refreshed.tokens)
        },
    )
    .await
}

/// The checks of a refreshed id_token (OIDC Core §12.2), minus the switched-off ones: the login's checks
/// without the nonce (a refresh sends none), then the same `sub` and `azp` as the login's.
async fn verify_refreshed_id_token(
    w: &Weak,
    provider: &reference_client::oidc::Provider,
    token: &str,
    original: &ProviderTokens,
) -> Result<(), ApiError> {
    let mut lax = w.clone();
    lax.weak.skip_nonce_check = true;
    lax.weak.skip_iss_check = w.weak.skip_iss_check || w.weak.skip_refresh_iss_check;
    let discovery = provider.discovery().await?;
    let refreshed = verify_id_token(&lax, &discovery.jwks_uri, token, "").await?;
    if !w.weak.skip_refresh_sub_check && refreshed.subject != original.subject {
        return Err(reject("the refreshed id_token names another sub"));
    }
    if original.azp.is_some() && refreshed.azp != original.azp {
        return Err(reject("the refreshed id_token's azp is not the login's"));
    }
    Ok(())
}

/// `POST /backchannel-logout`: the real handler, or the same checks with the switched-off ones left out:
/// `accept_replayed_logout_tokens` drops the single-use `jti`; `logout_ends_every_session` ends every
/// user's sessions whoever the token names, and `sid_logout_ends_every_session` does so for a token that
/// names only a `sid`.
async fn backchannel_logout(
    State(w): State<Weak>,
    form: Result<
        axum::Form<reference_client::routes::logout::BackchannelForm>,
        axum::extract::rejection::FormRejection,
    >,
) -> Result<Response, ApiError> {
    let weak = w.weak;
    if !weak.accept_replayed_logout_tokens
        && !weak.logout_ends_every_session
        && !weak.sid_logout_ends_every_session
        && !weak.logout_alg_unchecked
        && !weak.logout_event_unchecked
    {
        return reference_client::routes::logout::backchannel(State(w.app), form).await;
    }
    let token = form
        .ok()
        .and_then(|axum::Form(f)| f.logout_token)
        .ok_or_else(|| ApiError::InvalidLogoutToken("no logout_token".into()))?;
    let app = &w.app;
    let max_age = app.settings.logout_token_max_age.as_secs();
    let claims = match unchecked_claims(&token) {
        Some(claims) if weak.logout_alg_unchecked => claims,
        _ => match app.provider.verify_logout_token(&token, max_age).await {
            // Every check before the event's passed; read the claims the later checks would have.
            Err(ApiError::InvalidLogoutToken(why))
                if weak.logout_event_unchecked && why.contains("event") =>
            {
                claims_of(&token)
                    .ok_or_else(|| ApiError::InvalidLogoutToken("unreadable claims".into()))?
            }
            other => other?,
        },
    };
    if !weak.accept_replayed_logout_tokens {
        let forget_at = claims
            .iat
            .saturating_add(max_age)
            .saturating_add(app.settings.clock_skew.as_secs())
            .saturating_add(1);
        if !app
            .logout_jtis
            .first_use(&claims.jti, forget_at, app.now())?
        {
            return Err(ApiError::InvalidLogoutToken("jti already used".into()));
        }
    }
    let everyone = weak.logout_ends_every_session
        || (weak.sid_logout_ends_every_session && claims.sub.is_none());
    let issuer = app.provider.issuer().to_owned();
    app.db
        .call(move |db| {
            if !everyone {
                return db.end_sessions_at_provider(
                    &issuer,
                    claims.sub.as_deref(),
                    claims.sid.as_deref(),
                );
            }
            let users = db.list_users()?;
            for user in &users {
                db.end_sessions(user.id)?;
            }
            Ok(users.len())
        })
        .await?;
    Ok(axum::http::StatusCode::OK.into_response())
}

/// A logout token's claims read without any check, when its header names an alg other than RS256.
fn unchecked_claims(token: &str) -> Option<reference_client::oidc::LogoutClaims> {
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?).ok()?;
    if header["alg"] == "RS256" {
        return None;
    }
    claims_of(token)
}

/// A logout token's `sub`, `sid`, `jti` and `iat`, read without any check.
fn claims_of(token: &str) -> Option<reference_client::oidc::LogoutClaims> {
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?).ok()?;
    Some(reference_client::oidc::LogoutClaims {
        sub: claims["sub"].as_str().map(str::to_owned),
        sid: claims["sid"].as_str().map(str::to_owned),
        jti: claims["jti"].as_str()?.to_owned(),
        iat: claims["iat"].as_u64()?,
    })
}

/// The callback of a WeChat or GitHub login: the real one, or with a persona switch on a copy of it whose
/// identity is keyed as the switches say (OpenID only parts left out: no `iss`, no id_token).
async fn persona_callback(
    w: &Weak,
    jar: CookieJar,
    req: CallbackRequest,
) -> Result<Response, ApiError> {
    let app = &w.app;
    if !w.weak.weakens_personas() {
        return reference_client::routes::callback::callback(
            State(app.clone()),
            jar,
            Ok(Json(req)),
        )
        .await;
    }
    let tx = transaction(w, &req, &jar)?;
    let provider = app
        .providers
        .get(Some(&tx.provider))
        .ok_or(ApiError::InvalidState("no such provider"))?;
    if req.iss.is_some() {
        return Err(ApiError::IssuerMismatch(
            "iss parameter on a provider that sends none",
        ));
    }
    if let Some(error) = req.error.as_deref() {
        return Err(ApiError::Provider(format!("authorization error {error}")));
    }
    let code = req
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("missing code".into()))?;
    let (login, entra_email) = match &provider.protocol {
        Protocol::Wechat(wechat) => (wechat_login(w, wechat, code).await?, None),
        Protocol::Github(github) => (github_login(w, github, code).await?, None),
        Protocol::Apple(apple) => (
            apple_login(w, apple, code, &tx.nonce, req.user.as_deref()).await?,
            None,
        ),
        Protocol::Entra(entra) => entra_login(w, entra, &provider.name, code, &tx).await?,
        Protocol::Oidc(_) => return Err(ApiError::InvalidState("not a persona login")),
    };
    // `apple_links_by_email`: an existing user with the login's email is taken for it.
    let by_email = match (&login.email, w.weak.apple_links_by_email) {
        (Some(email), true) => app
            .db
            .list_users()?
            .into_iter()
            .find(|u| u.email.as_deref() == Some(email.as_str())),
        _ => None,
    };
    // `entra_links_by_email`: an earlier login with this email names the account.
    let linked = match entra_email.as_ref().filter(|_| w.weak.entra_links_by_email) {
        Some(email) => {
            let first = lock(&w.entra_emails).get(email).cloned();
            match first {
                Some((ns, sub)) => app.db.find_by_identity(&ns, &sub)?,
                None => {
                    lock(&w.entra_emails).insert(
                        email.clone(),
                        (login.namespace.clone(), login.subject.clone()),
                    );
                    None
                }
            }
        }
        None => None,
    };
    let found = match by_email.or(linked) {
        Some(user) => Some(user),
        None => app.db.find_by_identity(&login.namespace, &login.subject)?,
    };
    let user = match found {
        Some(user) => user,
        None if provider.policy == UnknownUserPolicy::AutoCreate => {
            let new = NewUser {
                display_name: login.name.clone().unwrap_or_else(|| "New user".into()),
                role: reference_client::Role::User,
                avatar_url: login.picture.clone(),
                phone: None,
            };
            let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
            app.db
                .find_or_create_user_via(
                    Some(&provider.name),
                    &login.namespace,
                    &login.subject,
                    &new,
                    now,
                )?
                .0
        }
        // The persona switches are judged under auto-create; the other policies refuse here.
        None => return Err(ApiError::UnknownUser),
    };
    let user = match &login.email {
        Some(email) => {
            app.db.set_email(user.id, email)?;
            app.db.get_user(user.id)?.unwrap_or(user)
        }
        None => user,
    };
    complete_login(app, jar, &user, tx.return_to)
}

/// A copy of `reference_client::providers::apple`'s completion (a fresh client secret, the code exchange,
/// the id_token's checks), with the switches over the `user` field and the email flags.
async fn apple_login(
    w: &Weak,
    apple: &Apple,
    code: &str,
    nonce: &str,
    user: Option<&str>,
) -> Result<ProviderLogin, ApiError> {
    let secret = if w.weak.apple_secret_signed_once {
        let mut kept = lock(&w.apple_secret);
        match kept.as_ref() {
            Some(secret) => secret.clone(),
            None => kept.insert(apple.client_secret()?).clone(),
        }
    } else {
        apple.client_secret()?
    };
    let token = provider_json(
        "Apple token request",
        w.http
            .post(format!("{}/auth/token", apple.issuer()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &apple.redirect_uri),
                ("client_id", &apple.client_id),
                ("client_secret", &secret),
            ]),
    )
    .await?;
    let id_token = token["id_token"]
        .as_str()
        .ok_or_else(|| ApiError::Provider("no id_token".into()))?;
    // The real checks (signature, iss, aud, exp, nonce); then the raw claims for the switches.
    let identity = apple.verify_id_token(id_token, nonce).await?;
    let claims: Value = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let verified = if w.weak.apple_false_string_true {
        match &claims["email_verified"] {
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            _ => false,
        }
    } else {
        identity.email_verified
    };
    let blob: Value = user
        .and_then(|u| serde_json::from_str(u).ok())
        .unwrap_or_default();
    let blob_email = blob["email"].as_str().map(str::to_owned);
    let (subject, email) = match blob_email {
        Some(e) if w.weak.apple_user_blob_trusted => (e.clone(), Some(e)),
        _ => (identity.subject, identity.email.filter(|_| verified)),
    };
    Ok(ProviderLogin {
        namespace: apple.issuer(),
        subject,
        name: user.and_then(reference_client::providers::apple::user_field_name),
        picture: None,
        email,
        id_token: Some(id_token.to_owned()),
        sid: None,
        tokens: None,
    })
}

/// A provider's JSON answer, or a provider error (WeChat's `errcode`, GitHub's `error`, a non-2xx).
async fn provider_json(what: &str, request: reqwest::RequestBuilder) -> Result<Value, ApiError> {
    let provider = |m: String| ApiError::Provider(m);
    let response = request
        .send()
        .await
        .map_err(|e| provider(format!("{what}: {e}")))?;
    if !response.status().is_success() {
        return Err(provider(format!("{what}: {}", response.status())));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| provider(format!("{what}: not JSON: {e}")))?;
    if body["errcode"].as_i64().is_some_and(|c| c != 0) || body.get("error").is_some() {
        return Err(provider(format!("{what}: {body}")));
    }
    Ok(body)
}

/// A copy of `reference_client::providers::wechat` (code exchange, user API), the key behind the switches.
async fn wechat_login(w: &Weak, wechat: &Wechat, code: &str) -> Result<ProviderLogin, ApiError> {
    let api = wechat.api_base.as_str().trim_end_matches('/');
    let token = provider_json(
        "WeChat token request",
        w.http
            .get(format!("{api}/sns/oauth2/access_token"))
            .query(&[
                ("appid", wechat.appid.as_str()),
                ("secret", wechat.secret.expose()),
                ("code", code),
                ("grant_type", "authorization_code"),
            ]),
    )
    .await?;
    let (Some(access_token), Some(openid)) =
        (token["access_token"].as_str(), token["openid"].as_str())
    else {
        return Err(ApiError::Provider("no access_token or openid".into()));
    };
    let user = provider_json(
        "WeChat userinfo",
        w.http
            .get(format!("{api}/sns/userinfo"))
            .query(&[("access_token", access_token), ("openid", openid)]),
    )
    .await?;
    if user["openid"].as_str() != Some(openid) {
        return Err(ApiError::Provider("userinfo names another openid".into()));
    }
    let unionid = token["unionid"]
        .as_str()
        .or(user["unionid"].as_str())
        .filter(|u| !u.is_empty() && !w.weak.wechat_ignores_unionid);
    let namespace = format!("wechat:{api}");
    let (namespace, subject) = match unionid {
        Some(u) => (namespace, u.to_owned()),
        None if w.weak.wechat_openid_unscoped => (namespace, openid.to_owned()),
        None => (format!("{namespace}#{}", wechat.appid), openid.to_owned()),
    };
    Ok(ProviderLogin {
        namespace,
        subject,
        name: user["nickname"].as_str().map(str::to_owned),
        picture: user["headimgurl"].as_str().map(str::to_owned),
        email: None,
        id_token: None,
        sid: None,
        tokens: None,
    })
}

/// A copy of `reference_client::providers::github` (code exchange asking for JSON, `GET /user`), the key
/// behind the switch.
async fn github_login(w: &Weak, github: &Github, code: &str) -> Result<ProviderLogin, ApiError> {
    let site = github.authorize_base.as_str().trim_end_matches('/');
    let api = github.api_base.as_str().trim_end_matches('/');
    let token = provider_json(
        "GitHub token request",
        w.http
            .post(format!("{site}/login/oauth/access_token"))
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("client_id", github.client_id.as_str()),
                ("client_secret", github.client_secret.expose()),
                ("code", code),
                ("redirect_uri", &github.redirect_uri),
            ]),
    )
    .await?;
    let access_token = token["access_token"]
        .as_str()
        .ok_or_else(|| ApiError::Provider("no access_token".into()))?;
    let user = provider_json(
        "GitHub /user",
        w.http.get(format!("{api}/user")).bearer_auth(access_token),
    )
    .await?;
    let subject = if w.weak.github_login_key {
        user["login"].as_str().map(str::to_owned)
    } else {
        user["id"].as_u64().map(|id| id.to_string())
    }
    .ok_or_else(|| ApiError::Provider("GitHub /user has no id or login".into()))?;
    Ok(ProviderLogin {
        namespace: format!("github:{api}"),
        subject,
        name: user["name"].as_str().map(str::to_owned),
        picture: user["avatar_url"].as_str().map(str::to_owned),
        email: None,
        id_token: None,
        sid: None,
        tokens: None,
    })
}

/// A Google login's callback: the real one, or with a Google switch on the same steps with Google's
/// checks weakened: the reference client's own OpenID client, configured without Google's rules
/// (`google_plain_oidc`) or without its `hd` check (`google_hd_unchecked`, `google_hd_from_email`, which
/// then checks the email's domain), the account found by email (`google_links_by_email`), the login
/// refused without a refresh token (`google_refresh_required`), or the kept refresh token overwritten by a
/// login without one (`google_forgets_refresh_token`).
async fn google_callback(
    w: &Weak,
    jar: CookieJar,
    req: CallbackRequest,
) -> Result<Response, ApiError> {
    let app = &w.app;
    if !w.weak.weakens_google() {
        return reference_client::routes::callback::callback(
            State(app.clone()),
            jar,
            Ok(Json(req)),
        )
        .await;
    }
    let tx = transaction(w, &req, &jar)?;
    let provider = app
        .providers
        .get(Some(&tx.provider))
        .ok_or(ApiError::InvalidState("no such provider"))?;
    let Some(reference_client::config::ProviderKind::Google {
        issuer,
        client_id,
        client_secret,
        scopes,
        hosted_domain,
        authorized_parties,
        offline,
    }) = app
        .settings
        .effective_providers()
        .into_iter()
        .find(|p| p.name == tx.provider)
        .map(|p| p.kind)
    else {
        return Err(ApiError::InvalidState("not a Google login"));
    };
    if req.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(ApiError::IssuerMismatch(
            "iss parameter is not the configured issuer",
        ));
    }
    if let Some(error) = req.error.as_deref() {
        return Err(ApiError::Provider(format!("authorization error {error}")));
    }
    let code = req
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("missing code".into()))?;
    let registration = reference_client::oidc::Registration {
        issuer: &issuer,
        client_id: &client_id,
        client_secret: &client_secret,
        scopes: &scopes,
        userinfo_signed_response_alg: None,
        id_token_alg: None,
    };
    let oidc = reference_client::oidc::Provider::for_provider(
        &app.settings,
        &registration,
        app.clock.clone(),
    )
    .map_err(|e| ApiError::Provider(e.to_string()))?;
    let hd_checked = !(w.weak.google_hd_unchecked || w.weak.google_hd_from_email);
    let oidc = if w.weak.google_plain_oidc {
        oidc
    } else {
        oidc.with_google(reference_client::oidc::GoogleRules {
            hosted_domain: hosted_domain.clone().filter(|_| hd_checked),
            authorized_parties,
            offline,
        })
    };
    let login = oidc
        .exchange_and_verify(code, &tx.pkce_verifier, &tx.nonce)
        .await?;
    let claims: Value = login
        .id_token
        .as_deref()
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let email = claims["email"].as_str().map(str::to_owned);
    if let (true, Some(domain)) = (w.weak.google_hd_from_email, &hosted_domain) {
        let at = email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d);
        if at != Some(domain.as_str()) {
            return Err(reject("the email is not at the Workspace domain"));
        }
    }
    if w.weak.google_refresh_required
        && offline
        && login
            .tokens
            .as_ref()
            .is_none_or(|t| t.refresh_token.is_none())
    {
        return Err(ApiError::Provider("Google sent no refresh token".into()));
    }
    let linked = match (&email, w.weak.google_links_by_email) {
        (Some(email), true) => lock(&w.google_emails).get(email).copied(),
        _ => None,
    };
    let user = match app.db.find_by_identity(&login.issuer, &login.subject)? {
        Some(user) => user,
        None => match linked.map(|id| app.db.get_user(id)).transpose()?.flatten() {
            Some(user) => user,
            None if provider.policy == UnknownUserPolicy::AutoCreate => {
                let new = NewUser {
                    display_name: login.name.clone().unwrap_or_else(|| "New user".into()),
                    role: reference_client::Role::User,
                    avatar_url: login.picture.clone(),
                    phone: None,
                };
                let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
                app.db
                    .find_or_create_user_via(
                        Some(&provider.name),
                        &login.issuer,
                        &login.subject,
                        &new,
                        now,
                    )?
                    .0
            }
            // The Google switches are judged under auto-create; the other policies refuse here.
            None => return Err(ApiError::UnknownUser),
        },
    };
    if let Some(email) = email {
        lock(&w.google_emails).insert(email, user.id);
    }
    if let Some(id_token) = login.id_token.clone() {
        app.db
            .set_login_hint(user.id, &id_token, login.sid.as_deref())?;
    }
    if !user.disabled {
        keep_tokens(app, &user, &tx.provider, login.tokens.clone()).await?;
        if let Some(tokens) = login
            .tokens
            .as_ref()
            .filter(|t| w.weak.google_forgets_refresh_token && t.refresh_token.is_none())
        {
            app.db.refreshed_provider_tokens(user.id, tokens)?;
        }
    }
    complete_login(app, jar, &user, tx.return_to)
}

/// A copy of the reference client's Entra login (`reference_client::oidc` with its `EntraPolicy`): the
/// code exchange, the id_token's signature, `aud`, `exp` and `nonce`, then the issuer against the
/// template with the token's `tid` and the tenant allow-list, each Entra check behind its switch. Also
/// hands back the token's `email`, for `entra_links_by_email`.
async fn entra_login(
    w: &Weak,
    provider: &reference_client::oidc::Provider,
    name: &str,
    code: &str,
    tx: &LoginTransaction,
) -> Result<(ProviderLogin, Option<String>), ApiError> {
    let app = &w.app;
    let Some(reference_client::config::ProviderKind::Entra {
        client_id,
        client_secret,
        ..
    }) = app
        .settings
        .providers
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.kind.clone())
    else {
        return Err(ApiError::InvalidState("not an Entra provider"));
    };
    let policy = provider
        .entra()
        .ok_or(ApiError::InvalidState("not an Entra provider"))?;
    let discovery = provider.discovery().await?;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            encode(&client_id),
            encode(client_secret.expose())
        ))
    );
    let body = provider_json(
        "Entra token request",
        w.http
            .post(&discovery.token_endpoint)
            .header(header::AUTHORIZATION, basic)
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", app.settings.redirect_uri.as_str()),
                ("code_verifier", tx.pkce_verifier.as_str()),
            ]),
    )
    .await?;
    let token = body["id_token"]
        .as_str()
        .ok_or_else(|| ApiError::Provider("no id_token".into()))?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| reject("bad header"))?;
    if header.alg != Algorithm::RS256 && header.alg != Algorithm::ES256 {
        return Err(reject("algorithm not allowed"));
    }
    let key = jwks_key(w, &discovery.jwks_uri, &header).await?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|_| reject("signature"))?
        .claims;
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == &client_id,
        Value::Array(list) => !list.is_empty() && list.iter().all(|a| a == &client_id),
        _ => false,
    };
    if !aud_ok {
        return Err(reject("wrong or missing aud"));
    }
    let now = app.now();
    let skew = app.settings.clock_skew.as_secs();
    if claims["exp"]
        .as_u64()
        .is_none_or(|exp| exp.saturating_add(skew) <= now)
    {
        return Err(reject("expired or missing exp"));
    }
    if claims["nonce"].as_str() != Some(tx.nonce.as_str()) {
        return Err(reject("wrong or missing nonce"));
    }
    let iss = claims["iss"].as_str().unwrap_or_default().to_owned();
    let tid = claims["tid"].as_str().unwrap_or_default().to_owned();
    let placeholder = reference_client::oidc::TENANT_PLACEHOLDER;
    if w.weak.entra_issuer_prefix {
        // Anything under the provider's base URL: no tid substitution, no exact comparison.
        let base = policy
            .template
            .split(placeholder)
            .next()
            .unwrap_or_default();
        if !iss.starts_with(base) {
            return Err(reject("iss is not under the provider"));
        }
    } else if !reference_client::oidc::is_guid(&tid)
        || iss != policy.template.replace(placeholder, &tid)
    {
        return Err(reject("iss is not the issuer of the token's tid"));
    }
    if !w.weak.entra_any_tenant
        && let Some(allowed) = &policy.allowed_tenants
        && !allowed.iter().any(|t| t.eq_ignore_ascii_case(&tid))
    {
        return Err(reject("the token's tenant is not allowed"));
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| reject("missing sub"))?
        .to_owned();
    let login = ProviderLogin {
        namespace: iss,
        subject,
        name: claims["name"].as_str().map(str::to_owned),
        picture: None,
        id_token: Some(token.to_owned()),
        sid: None,
        tokens: None,
        email: None,
    };
    Ok((login, claims["email"].as_str().map(str::to_owned)))
}
