//! Logout, both ways. `POST /api/auth/logout` ends the caller's sessions here, then answers where to send
//! the browser: the provider's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2).
//! `POST /backchannel-logout` is where the provider tells us a session ended there (Back-Channel Logout
//! 1.0 §2.5–§2.8): the logout token is verified, its `jti` used once, and the user's sessions end.

use axum::extract::{FromRequestParts, State};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::{Deserialize, Serialize};

use super::SESSION_COOKIE;
use super::me::AuthUser;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::random_token;

/// The answer of `POST /api/auth/logout`.
#[derive(Debug, Serialize)]
pub struct LoggedOut {
    /// Always `logged_out`.
    pub status: &'static str,
    /// Where the frontend sends the browser next: the provider's end-session endpoint, or absent when the
    /// provider has none (the logout was then local only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_url: Option<String>,
}

/// `POST /api/auth/logout`: ends the caller's session (every app JWT and cookie session of the user, by
/// bumping their session version), clears the session cookie, and answers the provider's end-session URL
/// with `id_token_hint`, `client_id`, `post_logout_redirect_uri` and a fresh `state` (RP-Initiated §2).
/// Without a valid session it still clears the cookie and answers the URL, without a hint.
pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    user: Option<AuthUser>,
) -> Result<Response, ApiError> {
    let mut hint = None;
    if let Some(AuthUser(user)) = user {
        let id = user.id;
        hint = state
            .db
            .call(move |db| {
                db.end_sessions(id)?;
                db.login_hint(id)
            })
            .await?;
        tracing::info!(user_id = id, "logged out");
    }
    if let Some(c) = jar.get(SESSION_COOKIE) {
        state.sessions.remove(c.value());
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    let end_session_url = state
        .provider
        .end_session_url(
            hint.as_deref(),
            &state.settings.post_logout_redirect_uri(),
            &random_token(16),
        )
        .await
        .unwrap_or_else(|e| {
            // The local logout happened; an unreachable provider only means no provider logout.
            tracing::warn!(error = %e, "no end-session URL");
            None
        });
    Ok((
        jar,
        Json(LoggedOut {
            status: "logged_out",
            end_session_url: end_session_url.map(String::from),
        }),
    )
        .into_response())
}

/// An optional [`AuthUser`]: `None` instead of a rejection.
impl axum::extract::OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// The form the provider posts (Back-Channel Logout 1.0 §2.5).
#[derive(Debug, Deserialize)]
pub struct BackchannelForm {
    /// The signed logout token.
    #[serde(default)]
    pub logout_token: Option<String>,
}

/// `POST /backchannel-logout`: verifies the logout token (§2.6), refuses a replayed `jti`, ends the
/// sessions of the user it names, including app JWTs already issued (§2.7), and answers 200; a bad token
/// is answered 400 and ends nothing (§2.8). `Cache-Control: no-store` comes from the router's layer.
pub async fn backchannel(
    State(state): State<AppState>,
    form: Result<Form<BackchannelForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let token = form
        .ok()
        .and_then(|Form(f)| f.logout_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::InvalidLogoutToken("no logout_token".into()))?;
    let max_age = state.settings.logout_token_max_age.as_secs();
    let claims = state.provider.verify_logout_token(&token, max_age).await?;
    // §2.6 step 9: each token is used once. Remembered for as long as its iat is acceptable at all.
    let forget_at = claims
        .iat
        .saturating_add(max_age)
        .saturating_add(state.settings.clock_skew.as_secs())
        .saturating_add(1);
    if !state
        .logout_jtis
        .first_use(&claims.jti, forget_at, state.now())?
    {
        return Err(ApiError::InvalidLogoutToken("jti already used".into()));
    }
    let issuer = state.provider.issuer().to_owned();
    let (sub, sid) = (claims.sub.clone(), claims.sid.clone());
    let ended = state
        .db
        .call(move |db| db.end_sessions_at_provider(&issuer, sub.as_deref(), sid.as_deref()))
        .await?;
    tracing::info!(users = ended, "back-channel logout");
    Ok(StatusCode::OK.into_response())
}
