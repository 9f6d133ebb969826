//! Step 1: login starts at the backend. A login transaction (state, nonce, PKCE verifier, created-at,
//! return path) is stored server-side and bound to this browser by an HttpOnly, SameSite=Lax cookie.
//! Anyone can start one, so the store is fair between client addresses (see
//! [`TransactionStore`](crate::store::TransactionStore)): a stranger's flood evicts only its own.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

use super::me::{authenticate, has_session};
use super::{SESSION_COOKIE, TX_COOKIE, cookie};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{LoginTransaction, random_token};

/// Query of both login endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after login; kept only if it is a relative path (CONFORMANCE ST-OPEN-REDIRECT).
    pub return_to: Option<String>,
    /// The configured provider to log in with; the first one when absent.
    pub provider: Option<String>,
}

/// One entry of `GET /api/auth/providers`.
#[derive(Debug, Serialize)]
pub struct ProviderView {
    /// "Log in with NAME".
    pub name: String,
    /// `oidc`, `wechat`, `github` or `entra`.
    pub kind: &'static str,
    /// Where the login button goes.
    pub login_url: String,
}

/// `GET /api/auth/providers`: what the login page offers.
pub async fn providers(State(state): State<AppState>) -> Json<Vec<ProviderView>> {
    Json(
        state
            .providers
            .all()
            .iter()
            .map(|p| ProviderView {
                name: p.name.clone(),
                kind: p.kind(),
                login_url: format!(
                    "/auth/login?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("provider", &p.name)
                        .finish()
                ),
            })
            .collect(),
    )
}

/// The body of `GET /api/auth/login-url`.
#[derive(Debug, Serialize)]
pub struct LoginUrl {
    /// The provider's authorization URL for this transaction.
    pub url: String,
}

/// Accepts `/path?query` but not `//host`, `/\host`, absolute URLs or control characters: anything a browser
/// could read as another origin is dropped (RFC 9700 §4.11.1).
pub fn safe_return_to(value: Option<&str>) -> Option<String> {
    let v = value?;
    let ok = v.starts_with('/')
        && !v.starts_with("//")
        && !v.contains('\\')
        && !v.chars().any(char::is_control)
        && v.len() <= 512;
    ok.then(|| v.to_owned())
}

/// Only the session cookie of a jar, as headers, to authenticate a browser navigation.
fn cookie_headers(jar: &CookieJar) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(c) = jar.get(SESSION_COOKIE)
        && let Ok(v) = HeaderValue::from_str(&format!("{SESSION_COOKIE}={}", c.value()))
    {
        headers.insert(header::COOKIE, v);
    }
    headers
}

/// Whether a cookie value looks like one we issued (43 base64url characters = 256 bits).
fn is_our_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The address a request came from: the TCP peer when the server runs with connection info (it does, see
/// `startup.rs`). Forwarded headers are ignored: anyone can send them. Behind a reverse proxy, every user
/// has the proxy's address; take the client address from the proxy's header there, once the proxy is
/// trusted to set it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Starts a transaction and returns the authorization URL plus the cookie jar to send.
async fn start(
    state: &AppState,
    jar: CookieJar,
    query: LoginQuery,
    link_user: Option<i64>,
    from: ClientAddr,
) -> Result<(CookieJar, String), ApiError> {
    let provider = state
        .providers
        .get(query.provider.as_deref())
        .ok_or_else(|| ApiError::InvalidRequest("unknown provider".into()))?;
    // One binding value per browser, reused across its logins so two tabs do not cancel each other.
    let binding = jar
        .get(TX_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| is_our_token(v))
        .unwrap_or_else(|| random_token(32));
    let tx_state = random_token(32);
    let nonce = random_token(32);
    let start = provider.authorization_url(&tx_state, &nonce).await?;
    let now = state.now();
    let ttl = state.settings.transaction_ttl.as_secs();
    state.transactions.insert(
        LoginTransaction {
            state: tx_state,
            nonce,
            pkce_verifier: start.pkce_verifier,
            browser_binding: binding.clone(),
            return_to: safe_return_to(query.return_to.as_deref()),
            created_at: now,
            provider: provider.name.clone(),
            link_user,
            client_addr: from.0,
        },
        now,
        ttl,
    );
    let jar = jar.add(cookie(
        state,
        TX_COOKIE,
        binding,
        i64::try_from(ttl).unwrap_or(i64::MAX),
    ));
    Ok((jar, start.url.to_string()))
}

/// `GET /auth/login[?provider=NAME][&return_to=/path]`: 302 to the provider's authorization endpoint. In
/// cookie mode, a browser already logged in links the provider's identity to its user.
pub async fn redirect_to_provider(
    State(state): State<AppState>,
    from: ClientAddr,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let headers = cookie_headers(&jar);
    let link_user = if has_session(&state, &headers) {
        authenticate(&state, &headers).await.ok().map(|u| u.id)
    } else {
        None
    };
    let (jar, url) = start(&state, jar, query, link_user, from).await?;
    Ok((StatusCode::FOUND, jar, [(header::LOCATION, url)]).into_response())
}

/// `GET /api/auth/login-url[?provider=NAME][&return_to=/path]`: `{"url": "..."}` for single-page apps,
/// same cookie. Sent with a session (the app JWT as Bearer, or the session cookie), it starts a login that
/// links the provider's identity to the logged-in user.
pub async fn login_url(
    State(state): State<AppState>,
    from: ClientAddr,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let link_user = if has_session(&state, &headers) {
        Some(authenticate(&state, &headers).await?.id)
    } else {
        None
    };
    let (jar, url) = start(&state, jar, query, link_user, from).await?;
    Ok((jar, Json(LoginUrl { url })).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    // ST-OPEN-REDIRECT
    #[test]
    fn only_relative_return_paths_are_kept() {
        assert_eq!(
            safe_return_to(Some("/admin?x=1")).as_deref(),
            Some("/admin?x=1")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "admin",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad)), None, "{bad}");
        }
    }
}
