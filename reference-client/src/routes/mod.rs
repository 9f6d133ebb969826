//! HTTP handlers, one file per concern. Shared response shapes and cookie helpers live here.

pub mod admin;
pub mod bind;
pub mod callback;
pub mod identities;
pub mod login;
pub mod logout;
pub mod me;
pub mod pages;
pub mod provider_profile;
pub mod test_hooks;

use axum::Json;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Serialize;

use crate::db::{Role, User};
use crate::error::ApiError;
use crate::startup::AppState;

/// The cookie binding a login transaction to this browser (CONFORMANCE ST-BOUND-TO-UA).
pub const TX_COOKIE: &str = "rc_login";
/// The cookie of a server-side session (`session_mode = "cookie"`).
pub const SESSION_COOKIE: &str = "rc_session";

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    /// Internal id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// `admin` or `user`.
    pub role: Role,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// A contact email the provider vouched for (Apple), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            display_name: u.display_name.clone(),
            role: u.role,
            avatar_url: u.avatar_url.clone(),
            phone: u.phone.clone(),
            email: u.email.clone(),
        }
    }
}

/// The body of a successful login (callback or bind).
#[derive(Debug, Serialize)]
pub struct LoginSuccess {
    /// Always `logged_in`.
    pub status: &'static str,
    /// The app JWT; absent in cookie mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `Bearer` when a token is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Seconds until the token or session expires.
    pub expires_in: u64,
    /// Who logged in.
    pub user: UserView,
    /// Where the frontend should go next; a relative path.
    pub return_to: String,
}

/// Completes a login for `user`: refuses disabled users, then issues a JWT or a session cookie (the last step,
/// reached only when every check passed: CONFORMANCE JWT-LAST). The body is JSON, never a URL (JWT-DELIVERY).
pub fn complete_login(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    return_to: Option<String>,
) -> Result<Response, ApiError> {
    if user.disabled {
        return Err(ApiError::UserDisabled);
    }
    let ttl = state.settings.jwt_ttl.as_secs();
    let return_to = return_to.unwrap_or_else(|| "/".into());
    match state.settings.session_mode {
        crate::config::SessionMode::Jwt => {
            let token = state.jwt.issue(user.id, user.role, user.session_version)?;
            Ok(Json(LoginSuccess {
                status: "logged_in",
                token: Some(token),
                token_type: Some("Bearer"),
                expires_in: ttl,
                user: user.into(),
                return_to,
            })
            .into_response())
        }
        crate::config::SessionMode::Cookie => {
            let now = state.now();
            let id = state
                .sessions
                .create(user.id, user.session_version, now, now + ttl)?;
            let jar = jar.add(cookie(
                state,
                SESSION_COOKIE,
                id,
                i64::try_from(ttl).unwrap_or(i64::MAX),
            ));
            Ok((
                jar,
                Json(LoginSuccess {
                    status: "logged_in",
                    token: None,
                    token_type: None,
                    expires_in: ttl,
                    user: user.into(),
                    return_to,
                }),
            )
                .into_response())
        }
    }
}

/// An HttpOnly, SameSite=Lax, path-wide cookie; Secure when the app is served over https.
pub fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.cookie_secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}
