//! The OAuth 2.0 error table (RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1, RFC 6750 §3.1) and the one place
//! that maps each error to its HTTP status and body.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// A protocol error, named as in the RFCs. The description is for developers and is ASCII only
/// (RFC 6749 §5.2 restricts `error_description` to %x20-21 / %x23-5B / %x5D-7E).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// RFC 6749 §5.2: missing, repeated or malformed parameter.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// RFC 6749 §5.2: client authentication failed. `basic` is true when the client tried HTTP Basic,
    /// which makes the answer a 401 with `WWW-Authenticate: Basic`.
    #[error("invalid_client")]
    InvalidClient {
        /// Whether the failed attempt used the Authorization header.
        basic: bool,
    },
    /// RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired, revoked or bound elsewhere.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// RFC 6749 §5.2: this client may not use this grant type.
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is unknown.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// RFC 6749 §5.2 / §4.1.2.1: the scope is invalid.
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    /// RFC 6749 §4.1.2.1: the resource owner denied the request.
    #[error("access_denied")]
    AccessDenied,
    /// OIDC Core §3.1.2.6: `prompt=none`, and the user would have to log in.
    #[error("login_required")]
    LoginRequired,
    /// RFC 6749 §4.1.2.1: the response type is unknown.
    #[error("unsupported_response_type")]
    UnsupportedResponseType,
    /// RFC 7009 §2.2.1: the token type hint names a type this server cannot revoke.
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// Too many failed client authentications; answered 429 (RFC 6819 §5.1.4.1.3 asks for throttling).
    #[error("too many failed attempts")]
    TooManyAttempts,
    /// RFC 6749 §4.1.2.1: a store is at its bound; answered 503 with `Retry-After` (a redirect carrying the
    /// code at the authorization endpoint, where a status cannot reach the client).
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable,
    /// Something broke inside; logged, never described to the client.
    #[error("server_error")]
    ServerError,
}

/// Seconds a client is asked to wait when a store is full: records expire continuously, so room comes back
/// quickly.
pub const FULL_RETRY_AFTER: &str = "10";

impl From<StoreFull> for OAuthError {
    fn from(_: StoreFull) -> Self {
        tracing::warn!("a store is at its bound; answering temporarily_unavailable");
        OAuthError::TemporarilyUnavailable
    }
}

impl OAuthError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } | OAuthError::TooManyAttempts => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::LoginRequired => "login_required",
            OAuthError::UnsupportedTokenType => "unsupported_token_type",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::ServerError => "server_error",
        }
    }

    /// The `error_description`.
    pub fn description(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::InvalidScope(d) => d,
            OAuthError::InvalidClient { .. } => "client authentication failed",
            OAuthError::UnauthorizedClient => "this client may not use this grant type",
            OAuthError::UnsupportedGrantType => "grant_type is not supported",
            OAuthError::AccessDenied => "the user denied the request",
            OAuthError::UnsupportedResponseType => "only response_type=code is supported",
            OAuthError::LoginRequired => "prompt=none, and the user would have to log in",
            OAuthError::UnsupportedTokenType => "token_type_hint names an unsupported type",
            OAuthError::TooManyAttempts => "too many failed client authentications, retry later",
            OAuthError::TemporarilyUnavailable => "the server is at its capacity, retry later",
            OAuthError::ServerError => "internal error",
        }
    }

    /// The HTTP status at the token, revocation and introspection endpoints (RFC 6749 §5.2).
    pub fn status(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient { basic: true } => StatusCode::UNAUTHORIZED,
            OAuthError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// JSON error body with `Cache-Control: no-store` (RFC 6749 §5.1–5.2).
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code(), "error_description": self.description()});
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            OAuthError::InvalidClient { basic: true } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"mock-idp\", charset=\"UTF-8\""),
                );
            }
            OAuthError::TooManyAttempts => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            OAuthError::TemporarilyUnavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(FULL_RETRY_AFTER),
                );
            }
            _ => {}
        }
        response
    }
}

/// An RFC 6750 §3 answer: `status`, a JSON body with `error` and `error_description` (and `scope`), the
/// Bearer challenge (`realm`, then `error`, `error_description` and `scope` unless `error` is `None`),
/// `no-store`.
fn bearer_answer(
    status: StatusCode,
    error: Option<&str>,
    description: &str,
    scope: Option<&str>,
) -> Response {
    let mut body =
        json!({"error": error.unwrap_or("invalid_token"), "error_description": description});
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let mut response = (status, Json(body)).into_response();
    let challenge = match (error, scope) {
        (None, _) => "Bearer realm=\"mock-idp\"".to_owned(),
        (Some(error), None) => format!(
            "Bearer realm=\"mock-idp\", error=\"{error}\", error_description=\"{description}\""
        ),
        (Some(error), Some(scope)) => format!(
            "Bearer realm=\"mock-idp\", error=\"{error}\", error_description=\"{description}\", scope=\"{scope}\""
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// RFC 6750 §3.1: a missing, malformed, expired or revoked Bearer token, answered 401 with
/// `WWW-Authenticate: Bearer error="invalid_token"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BearerError;

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        bearer_answer(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is missing, invalid, expired or revoked",
            None,
        )
    }
}

/// RFC 6750 §3.1: a request with no token at all gets a challenge without an error code ("the resource
/// server SHOULD NOT include an error code or other error information").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BearerMissing;

impl IntoResponse for BearerMissing {
    fn into_response(self) -> Response {
        bearer_answer(
            StatusCode::UNAUTHORIZED,
            None,
            "no access token was sent",
            None,
        )
    }
}

/// RFC 6750 §3.1 `invalid_request`: the token sent more than one way, repeated, or in the URL query;
/// 400 with the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BearerInvalidRequest(pub &'static str);

impl IntoResponse for BearerInvalidRequest {
    fn into_response(self) -> Response {
        bearer_answer(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            self.0,
            None,
        )
    }
}

/// RFC 6750 §3.1: a valid token whose scope does not cover the request, answered 403 with the challenge
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` naming the scope needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientScope(pub &'static str);

impl IntoResponse for InsufficientScope {
    fn into_response(self) -> Response {
        bearer_answer(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token does not carry the scope this resource needs",
            Some(self.0),
        )
    }
}

/// A store is at its cap even after dropping every expired record. Answered as `temporarily_unavailable`
/// (503 with `Retry-After` at the token endpoint; a redirect at the authorization endpoint, RFC 6749
/// §4.1.2.1); nothing already stored is evicted to make room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store is full")]
pub struct StoreFull;

/// A successful token response: JSON with `Cache-Control: no-store` (RFC 6749 §5.1).
pub fn no_store_json(body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (axum::http::StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response.headers_mut().insert(
        axum::http::header::PRAGMA,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    response
}

/// A configuration that could not be used; the message names the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path that was read.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The TOML did not parse or did not match the schema (toml's message names the key and line).
    #[cfg(feature = "toml")]
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// A value parsed but is not acceptable.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field's path, e.g. `clients[0].redirect_uris[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}
