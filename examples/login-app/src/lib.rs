//! A small axum app with a "Log in with Mock IdP" button: the authorization code flow with `state`, `nonce`
//! and PKCE (S256), the id_token checked against the provider's JWKS, and a session cookie.
//!
//! It is the example of the story `mock-idp` is for: `tests/login.rs` starts the provider in-process, logs
//! in headlessly and checks the session the app made. Any OpenID provider works the same way; only
//! [`Settings`] change.
//!
//! # Routes
//! - `GET /`: "Signed in as …" (plain text) with a session, the "Log in with Mock IdP" link without one.
//! - `GET /login`: remembers `state`, `nonce` and the PKCE verifier, then 303 to the provider.
//! - `GET /callback`: checks `state` against the browser's cookie, redeems the code, checks the id_token,
//!   starts a session; 401 with the reason otherwise.
//! - `GET /me`: the session's user as JSON, 401 without a session.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use anyhow::{Context, anyhow, bail};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the cookie that binds a pending login to the browser that started it.
const LOGIN_COOKIE: &str = "login_state";
/// Name of the session cookie.
const SESSION_COOKIE: &str = "session";

/// Where the provider is and who this app is to it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The provider's issuer; its discovery document is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// This app's `client_id`.
    pub client_id: String,
    /// This app's secret (`client_secret_basic`).
    pub client_secret: String,
    /// This app's base URL, e.g. `http://127.0.0.1:8080`; the redirect URI is `{base_url}/callback`.
    pub base_url: String,
}

/// The endpoints this app uses, from the provider's discovery document (OIDC Discovery §3).
#[derive(Debug, Clone, Deserialize)]
struct Provider {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What `/login` remembers until the callback.
#[derive(Debug)]
struct Pending {
    nonce: String,
    verifier: String,
}

/// A signed-in user.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// The provider's subject identifier.
    pub sub: String,
    /// The `name` claim, when the provider sent one.
    pub name: Option<String>,
    /// The `email` claim, when the provider sent one.
    pub email: Option<String>,
}

/// Shared by the handlers: settings, the provider's endpoints, an HTTP client and two in-memory maps.
#[derive(Debug, Clone)]
struct AppState {
    settings: Arc<Settings>,
    provider: Arc<Provider>,
    http: reqwest::Client,
    // std Mutex on purpose: no `.await` happens while either map is locked.
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    sessions: Arc<Mutex<HashMap<String, User>>>,
}

/// Reads the provider's discovery document and builds the app's router.
pub async fn router(settings: Settings) -> anyhow::Result<Router> {
    let http = reqwest::Client::builder()
        // The token and JWKS requests must not follow redirects anywhere else.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = format!("{}/.well-known/openid-configuration", settings.issuer);
    let provider: Provider = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("GET {url}"))?
        .json()
        .await
        .context("discovery document")?;
    if provider.issuer != settings.issuer {
        bail!(
            "discovery issuer {} is not {}",
            provider.issuer,
            settings.issuer
        );
    }
    let state = AppState {
        settings: Arc::new(settings),
        provider: Arc::new(provider),
        http,
        pending: Arc::default(),
        sessions: Arc::default(),
    };
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/me", get(me))
        .with_state(state))
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    fn user(&self, jar: &CookieJar) -> Option<User> {
        let id = jar.get(SESSION_COOKIE)?.value();
        lock(&self.sessions).get(id).cloned()
    }

    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.settings.base_url)
    }
}

// Values from the provider are answered as plain text, never interpolated into HTML.
async fn home(State(app): State<AppState>, jar: CookieJar) -> Response {
    match app.user(&jar) {
        Some(user) => {
            format!("Signed in as {}", user.name.as_deref().unwrap_or(&user.sub)).into_response()
        }
        None => Html(r#"<a href="/login">Log in with Mock IdP</a>"#).into_response(),
    }
}

async fn login(State(app): State<AppState>, jar: CookieJar) -> Response {
    let (state, nonce, verifier) = (random(), random(), random());
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = match url::Url::parse(&app.provider.authorization_endpoint) {
        Ok(url) => url,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &anyhow!(e)),
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.settings.client_id)
        .append_pair("redirect_uri", &app.redirect_uri())
        .append_pair("scope", "openid profile email")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    lock(&app.pending).insert(state.clone(), Pending { nonce, verifier });
    let cookie = Cookie::build((LOGIN_COOKIE, state))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/");
    (jar.add(cookie), Redirect::to(url.as_str())).into_response()
}

/// The callback's query: a code and state, or an error (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Response {
    match finish_login(&app, &jar, q).await {
        Ok(user) => {
            let id = random();
            lock(&app.sessions).insert(id.clone(), user);
            let session = Cookie::build((SESSION_COOKIE, id))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path("/");
            let jar = jar
                .remove(Cookie::build(LOGIN_COOKIE).path("/"))
                .add(session);
            (jar, Redirect::to("/")).into_response()
        }
        Err(e) => failure(StatusCode::UNAUTHORIZED, &e),
    }
}

fn failure(status: StatusCode, e: &anyhow::Error) -> Response {
    (status, format!("Login failed: {e:#}")).into_response()
}

/// The token response fields this app reads (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// The id_token claims this app reads beyond those `jsonwebtoken` checks (iss, aud, exp).
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

async fn finish_login(app: &AppState, jar: &CookieJar, q: CallbackQuery) -> anyhow::Result<User> {
    if let Some(error) = q.error {
        bail!("the provider answered {error}");
    }
    let state = q.state.context("no state")?;
    // The state must be the one this browser was given (login CSRF, RFC 6749 §10.12), and is single-use.
    if jar.get(LOGIN_COOKIE).map(Cookie::value) != Some(state.as_str()) {
        bail!("state does not belong to this browser");
    }
    let pending = lock(&app.pending)
        .remove(&state)
        .context("unknown or used state")?;
    let code = q.code.context("no code")?;
    let response = app
        .http
        .post(&app.provider.token_endpoint)
        .basic_auth(&app.settings.client_id, Some(&app.settings.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", app.redirect_uri().as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .context("token request")?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        bail!("token endpoint answered {status}: {body}");
    }
    let tokens: TokenResponse = response.json().await.context("token response")?;
    let claims = verify_id_token(app, &tokens.id_token).await?;
    if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
        bail!("id_token nonce does not match");
    }
    Ok(User {
        sub: claims.sub,
        name: claims.name,
        email: claims.email,
    })
}

/// Checks the id_token's signature against the JWKS key named by its `kid`, then iss, aud and exp
/// (OIDC Core §3.1.3.7). Only the algorithms this app expects are accepted, whatever the header says.
async fn verify_id_token(app: &AppState, id_token: &str) -> anyhow::Result<IdClaims> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
    let header = jsonwebtoken::decode_header(id_token).context("id_token header")?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        bail!("id_token alg {:?} is not accepted", header.alg);
    }
    let jwks: JwkSet = app
        .http
        .get(&app.provider.jwks_uri)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("JWKS request")?
        .json()
        .await
        .context("JWKS")?;
    let kid = header.kid.as_deref().context("id_token has no kid")?;
    let jwk = jwks.find(kid).context("id_token kid is not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).context("JWKS key")?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&app.provider.issuer]);
    validation.set_audience(&[&app.settings.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation).context("id_token")?;
    Ok(data.claims)
}

async fn me(State(app): State<AppState>, jar: CookieJar) -> Result<Json<User>, StatusCode> {
    app.user(&jar).map(Json).ok_or(StatusCode::UNAUTHORIZED)
}
