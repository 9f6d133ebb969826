//! The API's error table: one closed enum, one place mapping each case to its HTTP status and JSON body
//! `{"error": "<stable code>", "error_description": "<text for humans>"}`.
//!
//! Causes of failures are logged here and never sent to the client; unexpected failures answer an opaque 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every way an API request can fail, with its stable `error` code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed request (missing field, bad JSON, a return path that is not relative).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// The callback's `state` is missing, unknown, expired, already used, or belongs to another browser
    /// (CONFORMANCE ST-MISMATCH, ST-SINGLE-USE, ST-BOUND-TO-UA, ST-FRESH-EXPIRY).
    #[error("invalid_state: {0}")]
    InvalidState(&'static str),
    /// The callback's `iss`, or the discovery document's `issuer`, is not the configured issuer
    /// (ST-ISS-MIXUP, ID-DISCOVERY-ISS).
    #[error("issuer_mismatch: {0}")]
    IssuerMismatch(&'static str),
    /// The provider answered the authorization request with `error=access_denied` (ST-ERROR-CALLBACK).
    #[error("access_denied")]
    AccessDenied,
    /// The provider failed: an error callback other than access_denied, a token-endpoint error, 5xx,
    /// timeout, non-JSON body, or a token type other than Bearer (UM-IDP-FAILURE, ID-TOKEN-RESP).
    #[error("provider_error: {0}")]
    Provider(String),
    /// The id_token failed a check (ID-SIG, ID-ISS, ID-AUD, ID-EXP, ID-IAT-SUB, ID-NONCE, ID-KID).
    #[error("invalid_id_token: {0}")]
    InvalidIdToken(String),
    /// The login was valid but its (issuer, subject) is unknown and the policy is `reject` (UM-UNKNOWN-USER).
    #[error("unknown_user")]
    UnknownUser,
    /// The user exists but is disabled (UM-DISABLED).
    #[error("user_disabled")]
    UserDisabled,
    /// The binding ticket is missing, unknown, expired, used, or from another browser.
    #[error("invalid_ticket")]
    InvalidTicket,
    /// Missing, malformed, forged or expired app JWT or session (JWT-VERIFY, JWT-TYPE).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// Authenticated, but not allowed (an ordinary user on an admin endpoint).
    #[error("forbidden")]
    Forbidden,
    /// A back-channel logout token failed validation (Back-Channel Logout 1.0 §2.8: 400).
    #[error("invalid_logout_token: {0}")]
    InvalidLogoutToken(String),
    /// A bounded store (login transactions, binding tickets, sessions) is full of live entries; answered 503
    /// with `Retry-After` rather than growing without bound.
    #[error("temporarily_unavailable")]
    Unavailable,
    /// Linking: the identity belongs to another user of this app.
    #[error("identity_in_use")]
    IdentityInUse,
    /// Unlinking: it is the user's last identity.
    #[error("last_identity")]
    LastIdentity,
    /// The user has no identity with this id.
    #[error("not_found")]
    NotFound,
    /// The session holds no usable tokens of the identity provider (its login brought none, was not an
    /// OpenID login, or a failed refresh dropped them): logging in again gets new ones.
    #[error("no_provider_tokens")]
    NoProviderTokens,
    /// Refreshing the provider's tokens failed: the provider refused, or the refreshed id_token failed a
    /// check (RF-ID-TOKEN). The new access token was not used and the tokens are dropped.
    #[error("refresh_failed: {0}")]
    RefreshFailed(String),
    /// Anything else; logged with its cause chain, answered with an opaque 500.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::store::StoreFull> for ApiError {
    fn from(_: crate::store::StoreFull) -> Self {
        Self::Unavailable
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: String,
}

impl ApiError {
    /// The stable error code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidState(_) => "invalid_state",
            Self::IssuerMismatch(_) => "issuer_mismatch",
            Self::AccessDenied => "access_denied",
            Self::Provider(_) => "provider_error",
            Self::InvalidIdToken(_) => "invalid_id_token",
            Self::UnknownUser => "unknown_user",
            Self::UserDisabled => "user_disabled",
            Self::InvalidTicket => "invalid_ticket",
            Self::InvalidToken(_) => "invalid_token",
            Self::Forbidden => "forbidden",
            Self::InvalidLogoutToken(_) => "invalid_request",
            Self::Unavailable => "temporarily_unavailable",
            Self::IdentityInUse => "identity_in_use",
            Self::LastIdentity => "last_identity",
            Self::NotFound => "not_found",
            Self::NoProviderTokens => "no_provider_tokens",
            Self::RefreshFailed(_) => "refresh_failed",
            Self::Unexpected(_) => "server_error",
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::InvalidState(_)
            | Self::IssuerMismatch(_)
            | Self::InvalidTicket
            | Self::InvalidLogoutToken(_) => StatusCode::BAD_REQUEST,
            Self::InvalidIdToken(_) | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::AccessDenied | Self::UnknownUser | Self::UserDisabled | Self::Forbidden => {
                StatusCode::FORBIDDEN
            }
            Self::Provider(_) | Self::RefreshFailed(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::IdentityInUse | Self::LastIdentity | Self::NoProviderTokens => {
                StatusCode::CONFLICT
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Text for humans; deliberately generic where details would help an attacker (unknown vs disabled users
    /// are distinct codes by design of the issue, but neither says more than that).
    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(why) => why.clone(),
            Self::InvalidState(why) => {
                format!("the login could not be completed: {why}; please log in again")
            }
            Self::IssuerMismatch(why) => {
                format!("the response did not come from the expected provider: {why}")
            }
            Self::AccessDenied => "the login was cancelled or denied at the provider".into(),
            Self::Provider(_) => "the identity provider could not complete the login".into(),
            Self::InvalidIdToken(_) => {
                "the identity provider's response failed verification".into()
            }
            Self::UnknownUser => "this account is not known to this application".into(),
            Self::UserDisabled => "this account is disabled".into(),
            Self::InvalidTicket => {
                "the binding ticket is invalid or expired; please log in again".into()
            }
            Self::InvalidToken(_) => "missing or invalid credentials".into(),
            Self::Forbidden => "you are not allowed to do this".into(),
            Self::IdentityInUse => {
                "this provider account is already linked to another user of this application".into()
            }
            Self::LastIdentity => {
                "this is your only way to log in; link another provider before unlinking it".into()
            }
            Self::NotFound => "no such identity".into(),
            Self::NoProviderTokens => {
                "this session holds no tokens of the identity provider; log in again".into()
            }
            Self::RefreshFailed(_) => {
                "the identity provider's refreshed tokens could not be used; log in again".into()
            }
            Self::InvalidLogoutToken(_) => "the logout token failed verification".into(),
            Self::Unavailable => "too many logins in progress; please retry shortly".into(),
            Self::Unexpected(_) => "internal error".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unexpected(e) => tracing::error!(error = ?e, "request failed"),
            Self::Provider(detail) => tracing::warn!(%detail, "provider failure"),
            Self::InvalidIdToken(detail) => tracing::warn!(%detail, "id_token rejected"),
            Self::RefreshFailed(detail) => tracing::warn!(%detail, "refresh failed"),
            Self::InvalidLogoutToken(detail) => tracing::warn!(%detail, "logout token rejected"),
            Self::Unavailable => tracing::warn!("a bounded store is full; answering 503"),
            other => tracing::info!(error = %other, "request refused"),
        }
        let status = self.status();
        let mut response = (
            status,
            Json(Body {
                error: self.code(),
                error_description: self.description(),
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self, Self::Unavailable) {
            // Entries expire continuously, so room comes back soon.
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        if status == StatusCode::UNAUTHORIZED && matches!(self, Self::InvalidToken(_)) {
            // RFC 6750 §3.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}
