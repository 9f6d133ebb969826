//! Typed step parameters (`#[derive(Parameter)]`): a feature that misspells one fails as an undefined step
//! instead of silently comparing strings.

use std::{fmt, str::FromStr};

use anyhow::{anyhow, bail};
use cucumber::Parameter;

/// A role in the backend's user database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Parameter)]
#[param(name = "role", regex = "admin|user")]
pub enum Role {
    /// May use the admin endpoints.
    Admin,
    /// An ordinary user.
    #[default]
    User,
}

impl FromStr for Role {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => bail!("unknown role {s}"),
        }
    }
}

impl Role {
    /// `admin` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

/// The backend's unknown-user policy (CONFORMANCE UM-UNKNOWN-USER).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Parameter)]
#[param(name = "policy", regex = "reject|auto-create|require-binding")]
pub enum Policy {
    /// Deny with a generic error (the default).
    #[default]
    Reject,
    /// Create an ordinary user once.
    AutoCreate,
    /// Ask for a binding step first.
    RequireBinding,
}

impl FromStr for Policy {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "reject" => Ok(Policy::Reject),
            "auto-create" => Ok(Policy::AutoCreate),
            "require-binding" => Ok(Policy::RequireBinding),
            _ => bail!("unknown policy {s}"),
        }
    }
}

impl Policy {
    /// The name used in features and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Reject => "reject",
            Policy::AutoCreate => "auto-create",
            Policy::RequireBinding => "require-binding",
        }
    }
}

/// An OAuth 2.0 error code (RFC 6749 §4.1.2.1, §5.2; RFC 7009 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(
    name = "oauth_error",
    regex = "invalid_request|invalid_client|invalid_grant|unauthorized_client|unsupported_grant_type|invalid_scope|access_denied|unsupported_response_type|unsupported_token_type|login_required"
)]
pub enum OAuthError {
    /// Missing, repeated or malformed parameter.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code is invalid, expired, spent or bound elsewhere.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Bad scope.
    InvalidScope,
    /// The user denied.
    AccessDenied,
    /// Unknown response type.
    UnsupportedResponseType,
    /// Unknown token type at revocation.
    UnsupportedTokenType,
    /// `prompt=none`, and the user would have to log in (OIDC Core §3.1.2.6).
    LoginRequired,
}

/// The value whose name is `s` in a (value, name) table.
fn by_name<T: Copy>(table: &[(T, &str)], s: &str, what: &str) -> anyhow::Result<T> {
    table
        .iter()
        .find(|(_, name)| *name == s)
        .map(|(v, _)| *v)
        .ok_or_else(|| anyhow!("unknown {what} {s}"))
}

/// The name of `value` in a (value, name) table.
fn name_of<T: PartialEq>(table: &[(T, &'static str)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| v == value)
        .map_or("?", |(_, n)| *n)
}

const OAUTH_ERRORS: &[(OAuthError, &str)] = &[
    (OAuthError::InvalidRequest, "invalid_request"),
    (OAuthError::InvalidClient, "invalid_client"),
    (OAuthError::InvalidGrant, "invalid_grant"),
    (OAuthError::UnauthorizedClient, "unauthorized_client"),
    (OAuthError::UnsupportedGrantType, "unsupported_grant_type"),
    (OAuthError::InvalidScope, "invalid_scope"),
    (OAuthError::AccessDenied, "access_denied"),
    (
        OAuthError::UnsupportedResponseType,
        "unsupported_response_type",
    ),
    (OAuthError::UnsupportedTokenType, "unsupported_token_type"),
    (OAuthError::LoginRequired, "login_required"),
];

impl FromStr for OAuthError {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        by_name(OAUTH_ERRORS, s, "OAuth error")
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(OAUTH_ERRORS, self))
    }
}

/// An error code of the backend's API (the target interface's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(
    name = "app_error",
    regex = "invalid_request|invalid_state|issuer_mismatch|access_denied|provider_error|invalid_id_token|unknown_user|user_disabled|invalid_ticket|invalid_token|forbidden|identity_in_use|last_identity"
)]
pub enum AppError {
    /// Malformed request.
    InvalidRequest,
    /// State missing, unknown, used, expired or from another browser.
    InvalidState,
    /// The response came from another issuer.
    IssuerMismatch,
    /// The user denied at the provider.
    AccessDenied,
    /// The provider refused or failed (e.g. a spent code).
    ProviderError,
    /// The id_token failed verification.
    InvalidIdToken,
    /// Unknown identity under the reject policy.
    UnknownUser,
    /// The user is disabled.
    UserDisabled,
    /// Bad binding ticket.
    InvalidTicket,
    /// Bad session token.
    InvalidToken,
    /// Not allowed.
    Forbidden,
    /// Linking: the identity belongs to another user.
    IdentityInUse,
    /// Unlinking: the user's last identity.
    LastIdentity,
}

const APP_ERRORS: &[(AppError, &str)] = &[
    (AppError::InvalidRequest, "invalid_request"),
    (AppError::InvalidState, "invalid_state"),
    (AppError::IssuerMismatch, "issuer_mismatch"),
    (AppError::AccessDenied, "access_denied"),
    (AppError::ProviderError, "provider_error"),
    (AppError::InvalidIdToken, "invalid_id_token"),
    (AppError::UnknownUser, "unknown_user"),
    (AppError::UserDisabled, "user_disabled"),
    (AppError::InvalidTicket, "invalid_ticket"),
    (AppError::InvalidToken, "invalid_token"),
    (AppError::Forbidden, "forbidden"),
    (AppError::IdentityInUse, "identity_in_use"),
    (AppError::LastIdentity, "last_identity"),
];

impl FromStr for AppError {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        by_name(APP_ERRORS, s, "app error")
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(APP_ERRORS, self))
    }
}

/// A way to spoil the app's own token (CONFORMANCE JWT-VERIFY, JWT-TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(
    name = "flaw",
    regex = "a tampered payload|a tampered signature|alg none|a wrong audience|a wrong issuer|an expired exp|a future nbf"
)]
pub enum TokenFlaw {
    /// A claim changed without re-signing.
    TamperedPayload,
    /// The signature's bytes changed.
    TamperedSignature,
    /// Header `alg: none`, no signature.
    AlgNone,
    /// Re-signed with the right key but another `aud`.
    WrongAudience,
    /// Re-signed with the right key but another `iss`.
    WrongIssuer,
    /// Re-signed with the right key but `exp` in the past.
    Expired,
    /// Re-signed with the right key but `nbf` in the future.
    FutureNbf,
}

impl FromStr for TokenFlaw {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "a tampered payload" => TokenFlaw::TamperedPayload,
            "a tampered signature" => TokenFlaw::TamperedSignature,
            "alg none" => TokenFlaw::AlgNone,
            "a wrong audience" => TokenFlaw::WrongAudience,
            "a wrong issuer" => TokenFlaw::WrongIssuer,
            "an expired exp" => TokenFlaw::Expired,
            "a future nbf" => TokenFlaw::FutureNbf,
            _ => bail!("unknown token flaw {s}"),
        })
    }
}
