//! The authenticated API: who am I. [`AuthUser`] is the one place a request is authenticated.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use axum_extra::extract::cookie::CookieJar;

use super::{SESSION_COOKIE, UserView};
use crate::config::SessionMode;
use crate::db::User;
use crate::error::ApiError;
use crate::startup::AppState;

/// The current user, from the app JWT (`Authorization: Bearer …`) in jwt mode or the session cookie in
/// cookie mode. The provider's tokens never pass: they are not HS256 with our `typ` (CONFORMANCE JWT-TYPE).
/// The user is re-read from the database, so a disabled user or a changed role takes effect at once.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, &parts.headers).await.map(Self)
    }
}

/// Whether the request carries a session at all (a bearer token in jwt mode, the cookie in cookie mode).
pub fn has_session(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    match state.settings.session_mode {
        SessionMode::Jwt => headers.contains_key(header::AUTHORIZATION),
        SessionMode::Cookie => CookieJar::from_headers(headers)
            .get(SESSION_COOKIE)
            .is_some(),
    }
}

/// The user of the request's session, re-read from the database; refuses a disabled user.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<User, ApiError> {
    {
        let (user_id, version) = match state.settings.session_mode {
            SessionMode::Jwt => {
                let value = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(ApiError::InvalidToken("missing bearer token"))?;
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or(ApiError::InvalidToken("not a bearer token"))?;
                let claims = state.jwt.verify(token.trim()).map_err(|e| {
                    tracing::info!(reason = %e, "app JWT refused");
                    ApiError::InvalidToken("invalid token")
                })?;
                let id = claims
                    .sub
                    .parse::<i64>()
                    .map_err(|_| ApiError::InvalidToken("invalid token"))?;
                (id, claims.sv)
            }
            SessionMode::Cookie => {
                let jar = CookieJar::from_headers(headers);
                let id = jar
                    .get(SESSION_COOKIE)
                    .map(|c| c.value().to_owned())
                    .ok_or(ApiError::InvalidToken("missing session"))?;
                let session = state
                    .sessions
                    .get(&id, state.now())
                    .ok_or(ApiError::InvalidToken("unknown or expired session"))?;
                (session.user_id, session.version)
            }
        };
        let user = state
            .db
            .call(move |db| db.get_user(user_id))
            .await?
            .ok_or(ApiError::InvalidToken("unknown user"))?;
        if user.disabled {
            return Err(ApiError::UserDisabled);
        }
        // A logout (here or at the provider, Back-Channel Logout 1.0 §2.7) bumped the version: every
        // session issued before it ends, already issued JWTs included.
        if version != user.session_version {
            return Err(ApiError::InvalidToken("session ended by a logout"));
        }
        Ok(user)
    }
}

/// `GET /api/me`: the profile with role and avatar.
pub async fn me(AuthUser(user): AuthUser) -> Json<UserView> {
    Json(UserView::from(&user))
}
