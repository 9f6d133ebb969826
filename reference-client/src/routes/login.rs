//! Step 1: login starts at the backend. A login transaction (state, nonce, PKCE verifier, created-at,
//! return path) is stored server-side and bound to this browser by an HttpOnly, SameSite=Lax cookie.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

use super::{TX_COOKIE, cookie};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{LoginTransaction, random_token};

/// Query of both login endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after login; kept only if it is a relative path (CONFORMANCE ST-OPEN-REDIRECT).
    pub return_to: Option<String>,
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

/// Whether a cookie value looks like one we issued (43 base64url characters = 256 bits).
fn is_our_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Starts a transaction and returns the authorization URL plus the cookie jar to send.
async fn start(
    state: &AppState,
    jar: CookieJar,
    query: LoginQuery,
) -> Result<(CookieJar, String), ApiError> {
    // One binding value per browser, reused across its logins so two tabs do not cancel each other.
    let binding = jar
        .get(TX_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| is_our_token(v))
        .unwrap_or_else(|| random_token(32));
    let tx_state = random_token(32);
    let nonce = random_token(32);
    let start = state.provider.authorization_url(&tx_state, &nonce).await?;
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
        },
        now,
        ttl,
    )?;
    let jar = jar.add(cookie(
        state,
        TX_COOKIE,
        binding,
        i64::try_from(ttl).unwrap_or(i64::MAX),
    ));
    Ok((jar, start.url.to_string()))
}

/// `GET /auth/login[?return_to=/path]`: 302 to the provider's authorization endpoint.
pub async fn redirect_to_provider(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let (jar, url) = start(&state, jar, query).await?;
    Ok((StatusCode::FOUND, jar, [(header::LOCATION, url)]).into_response())
}

/// `GET /api/auth/login-url[?return_to=/path]`: `{"url": "..."}` for single-page apps, same cookie.
pub async fn login_url(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let (jar, url) = start(&state, jar, query).await?;
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
