//! Named faults: a provider that misbehaves on purpose, one thing at a time.
//!
//! A [`Fault`] changes exactly one thing in an otherwise valid response. Faults are armed in a
//! [`FaultRegistry`] (one per provider) as a [`FaultSpec`]: once, N times or until cleared, optionally only
//! for one client and only for the flows of one user. Every surface (the Rust handle, the config file's
//! `[[faults]]`, the CLI's `--fault NAME[=VALUE]`, the Gherkin steps) builds a `FaultSpec` and calls
//! [`FaultRegistry::arm`]; nothing else decides whether a fault applies.
//!
//! Each endpoint asks the registry once, at one point, for the faults of its [`Point`]
//! ([`FaultRegistry::take`]), and [`spoil`] turns the correct response or claim set into the spoiled one.
//! With nothing armed, that question is one atomic load.

pub mod spoil;

use std::{
    fmt,
    str::FromStr,
    sync::{
        Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde::Serialize;

/// Where in the protocol a fault applies; each endpoint asks for its own point once per response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Point {
    /// The id_token's header, claims or signature.
    IdToken,
    /// The redirect back to the client (authorization response).
    Authorize,
    /// The token endpoint's answer.
    Token,
    /// The userinfo endpoint's answer.
    Userinfo,
    /// The discovery document.
    Discovery,
    /// The JWKS.
    Jwks,
    /// The logout tokens of a back-channel logout.
    Logout,
    /// The end-session endpoint's redirect back to the client.
    EndSession,
    /// The id_token of a refresh grant's answer (Core §12.2), not that of a code exchange.
    Refresh,
    // apple persona
    /// Apple: the `user` form field of a first authorization.
    AppleUser,
    /// Apple: the id_token's `email_verified` and `is_private_email`.
    AppleFlags,
}

/// An error code the authorization response can carry instead of a code (RFC 6749 §4.1.2.1, Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizeErrorCode {
    /// `access_denied`.
    AccessDenied,
    /// `login_required`.
    LoginRequired,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
}

impl AuthorizeErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeErrorCode::AccessDenied => "access_denied",
            AuthorizeErrorCode::LoginRequired => "login_required",
            AuthorizeErrorCode::ServerError => "server_error",
            AuthorizeErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "access_denied" => AuthorizeErrorCode::AccessDenied,
            "login_required" => AuthorizeErrorCode::LoginRequired,
            "server_error" => AuthorizeErrorCode::ServerError,
            "temporarily_unavailable" => AuthorizeErrorCode::TemporarilyUnavailable,
            _ => return None,
        })
    }
}

/// An HTTP error status with the kind of body that comes with it (`503` or `502:html`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorStatus {
    /// The status, 400–599.
    pub status: u16,
    /// An HTML page (as a proxy in front of a provider answers) instead of a JSON error body.
    pub html: bool,
}

impl ErrorStatus {
    /// A status with a JSON body.
    pub fn json(status: u16) -> Self {
        ErrorStatus {
            status,
            html: false,
        }
    }

    /// A status with an HTML body.
    pub fn html(status: u16) -> Self {
        ErrorStatus { status, html: true }
    }

    fn parse(s: &str) -> Option<Self> {
        let (code, html) = match s.split_once(':') {
            Some((code, "html")) => (code, true),
            Some((code, "json")) => (code, false),
            Some(_) => return None,
            None => (s, false),
        };
        let status: u16 = code.parse().ok()?;
        (400..=599)
            .contains(&status)
            .then_some(ErrorStatus { status, html })
    }
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.html {
            write!(f, "{}:html", self.status)
        } else {
            write!(f, "{}", self.status)
        }
    }
}

/// One named fault. [`Fault::name`] is the stable name used on every surface; faults that take a value
/// print it with [`Fault::value`] and parse it with [`Fault::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `id_token.bad_signature`: the signature does not verify.
    IdTokenBadSignature,
    /// `id_token.alg_none`: `alg: none` and no signature.
    IdTokenAlgNone,
    /// `id_token.hs256_public_key`: HS256 keyed with the PEM of the published public key.
    IdTokenHs256PublicKey,
    /// `id_token.other_alg`: signed as the client did not register (ID-SIG-HS256): by the provider's key
    /// for a client registered with HS256, HS256 keyed with the client's own secret for any other.
    IdTokenOtherAlg,
    /// `id_token.wrong_iss`: another issuer.
    IdTokenWrongIss,
    /// `id_token.missing_iss`: no `iss`.
    IdTokenMissingIss,
    /// `id_token.wrong_aud`: another audience.
    IdTokenWrongAud,
    /// `id_token.extra_aud`: an array with the client and an untrusted second audience.
    IdTokenExtraAud,
    /// `id_token.missing_aud`: no `aud`.
    IdTokenMissingAud,
    /// `id_token.wrong_nonce`: another nonce.
    IdTokenWrongNonce,
    /// `id_token.missing_nonce`: no `nonce`.
    IdTokenMissingNonce,
    /// `id_token.expired`: `exp` ten minutes ago.
    IdTokenExpired,
    /// `id_token.missing_exp`: no `exp`.
    IdTokenMissingExp,
    /// `id_token.iat_future`: `iat` ten minutes ahead.
    IdTokenIatFuture,
    /// `id_token.missing_iat`: no `iat`.
    IdTokenMissingIat,
    /// `id_token.missing_sub`: no `sub`.
    IdTokenMissingSub,
    /// `id_token.no_profile`: no profile, email or phone claims; they are at userinfo only (valid: Core §5.4
    /// lets a provider release them there when an access token is issued).
    IdTokenNoProfile,
    /// `id_token.no_kid`: no `kid` in the header (meaningful while the JWKS holds several keys).
    IdTokenNoKid,
    /// `id_token.unknown_kid`: a `kid` the JWKS does not hold (signed with the real key).
    IdTokenUnknownKid,
    /// `authorize.wrong_iss`: the redirect's `iss` names another issuer (RFC 9207 mix-up).
    AuthorizeWrongIss,
    /// `authorize.missing_iss`: the redirect has no `iss`.
    AuthorizeMissingIss,
    /// `authorize.wrong_state`: the redirect's `state` differs from the request's.
    AuthorizeWrongState,
    /// `authorize.error=CODE`: the redirect carries this error instead of a code.
    AuthorizeError(AuthorizeErrorCode),
    /// `token.status=STATUS[:html]`: the token endpoint answers this status.
    TokenStatus(ErrorStatus),
    /// `token.rate_limited`: 429 with `Retry-After`.
    TokenRateLimited,
    /// `token.delay=MS`: the (valid) answer comes this many milliseconds late.
    TokenDelay(Duration),
    /// `token.malformed_json`: a 200 whose body is not JSON.
    TokenMalformedJson,
    /// `token.missing_access_token`: no `access_token`.
    TokenMissingAccessToken,
    /// `token.missing_id_token`: no `id_token`.
    TokenMissingIdToken,
    /// `token.token_type=VALUE`: this `token_type` instead of `Bearer`.
    TokenTokenType(String),
    /// `token.bearer_lowercase`: `token_type: bearer` (valid: RFC 6749 §5.1 makes it case-insensitive).
    TokenBearerLowercase,
    /// `token.invalid_grant`: a valid code is refused with `invalid_grant`.
    TokenInvalidGrant,
    /// `token.close_connection`: the connection is closed without a response.
    TokenCloseConnection,
    /// `token.error_200`: HTTP 200 carrying the protocol's own error instead of tokens (WeChat errcode
    /// 40029, GitHub `bad_verification_code`, OpenID `invalid_grant`).
    TokenError200,
    /// `userinfo.wrong_sub`: userinfo names another subject.
    UserinfoWrongSub,
    /// `userinfo.bad_signature`: a signed userinfo (`application/jwt`, for a client registered with
    /// `userinfo_signed_response_alg`) whose signature does not verify; a JSON userinfo is unchanged.
    UserinfoBadSignature,
    /// `userinfo.status=STATUS[:html]`: userinfo answers this status.
    UserinfoStatus(ErrorStatus),
    /// `userinfo.delay=MS`: the userinfo answer comes this many milliseconds late.
    UserinfoDelay(Duration),
    /// `discovery.unavailable`: the discovery document answers 503.
    DiscoveryUnavailable,
    /// `discovery.wrong_issuer`: the discovery document's `issuer` is not the issuer it is served for.
    DiscoveryWrongIssuer,
    /// `jwks.unavailable`: the JWKS answers 503.
    JwksUnavailable,
    /// `jwks.empty`: the JWKS holds no key.
    JwksEmpty,
    /// `jwks.no_kid`: the JWKS's keys carry no `kid` (with `id_token.no_kid`: the kid-absent modules).
    JwksNoKid,
    /// `jwks.unusable_keys`: the JWKS also holds an `AKP` (post-quantum-shaped) key and a key of a made-up
    /// `kty`, which a client must skip (RFC 7517 §5).
    JwksUnusableKeys,
    /// `jwks.moved`: the JWKS moves to a path of this provider's own (unguessable, new each run), which
    /// discovery's `jwks_uri` names; the old `/jwks` answers 404.
    JwksMoved,
    /// `logout.alg_none`: the back-channel logout token has `alg: none` and no signature.
    LogoutAlgNone,
    /// `logout.wrong_alg`: the logout token is HS256, keyed with the PEM of the published public key.
    LogoutWrongAlg,
    /// `logout.wrong_event`: the logout token's `events` names only another event.
    LogoutWrongEvent,
    /// `end_session.other_state`: the redirect to the post-logout URI carries another `state`.
    EndSessionOtherState,
    /// `end_session.no_state`: the redirect to the post-logout URI carries no `state`.
    EndSessionNoState,
    /// `refresh.id_token_other_iss`: a refresh grant's id_token names another `iss` than the login's
    /// (validly signed otherwise; `oidcc-client-test-refresh-token-invalid-issuer`).
    RefreshIdTokenOtherIss,
    /// `refresh.id_token_other_sub`: a refresh grant's id_token names another `sub` than the login's,
    /// another user's when there is one (`oidcc-client-test-refresh-token-invalid-sub`).
    RefreshIdTokenOtherSub,
    // Entra persona
    /// `entra.other_tenant`: a correctly signed id_token whose `iss` and `tid` are those of another
    /// directory tenant (`quirks::entra::FOREIGN_TENANT`), one the client does not list (ENTRA-TENANT).
    EntraOtherTenant,
    /// `entra.tid_mismatch`: the id_token's `iss` names another tenant than its `tid` (ENTRA-ISSUER).
    EntraTidMismatch,
    /// `entra.v1_issuer`: `iss` is the v1-style issuer `{base}/{tid}/` (the stand-in for
    /// `https://sts.windows.net/{tid}/`), a prefix of the v2 issuer (ENTRA-V1-ISSUER).
    EntraV1Issuer,
    /// `entra.v1_issuer_other_tenant`: `iss` is the v1-style issuer of another tenant than the token's
    /// `tid`, `{base}/{other}/` (ENTRA-V1-ISSUER: even a second template refuses it).
    EntraV1IssuerOtherTenant,
    /// `entra.email_of_other_tenant`: `email` is the address of a user of another tenant (the first such
    /// user by username), as any tenant admin can set it (nOAuth, ENTRA-IDENTITY-KEY).
    EntraEmailOfOtherTenant,
    // apple persona
    /// `apple.forged_user`: the `user` form field of a first authorization names another email and name
    /// than the user's own (another configured user's, when there is one).
    AppleForgedUser,
    /// `apple.bool_flags`: the id_token's `email_verified` and `is_private_email` are JSON booleans
    /// instead of Apple's strings `"true"` / `"false"`.
    AppleBoolFlags,
    // google persona
    /// `id_token.iss_without_scheme`: `iss` is the issuer without `https://` (or `http://`): Google's
    /// legacy `accounts.google.com` form on the Google persona, an altered issuer on any other.
    IdTokenIssWithoutScheme,
    /// `google.hd_stripped`: the id_token carries no `hd`, as a consumer account's does: what comes back
    /// when the user strips `hd=` from the authorization request and picks another account.
    GoogleHdStripped,
    /// `google.azp_sibling`: `azp` is another client of the same Google project (`project`), `aud` still
    /// this client: a mobile app's token presented to its backend.
    GoogleAzpSibling,
    /// `google.azp_foreign`: `azp` is a client of no project of this one (`another-client`), `aud` still
    /// this client.
    GoogleAzpForeign,
}

/// What the documentation says about one fault name.
#[derive(Debug, Clone, Copy)]
pub struct FaultInfo {
    /// The stable name.
    pub name: &'static str,
    /// The value it takes, if any (`STATUS`, `MS`, …).
    pub value: Option<&'static str>,
    /// An example value for documentation and tests.
    pub example: Option<&'static str>,
    /// One line on what it does.
    pub summary: &'static str,
}

const fn info(name: &'static str, summary: &'static str) -> FaultInfo {
    FaultInfo {
        name,
        value: None,
        example: None,
        summary,
    }
}

const fn valued(
    name: &'static str,
    value: &'static str,
    example: &'static str,
    summary: &'static str,
) -> FaultInfo {
    FaultInfo {
        name,
        value: Some(value),
        example: Some(example),
        summary,
    }
}

/// Every fault name, in documentation order.
pub const CATALOGUE: &[FaultInfo] = &[
    info("id_token.bad_signature", "the signature does not verify"),
    info("id_token.alg_none", "alg none, no signature"),
    info(
        "id_token.hs256_public_key",
        "HS256 keyed with the PEM of the published public key",
    ),
    info(
        "id_token.other_alg",
        "signed as the client did not register: the provider's key for an HS256 client, HS256 keyed with the client's secret for any other",
    ),
    info("id_token.wrong_iss", "iss names another issuer"),
    info("id_token.missing_iss", "no iss"),
    info("id_token.wrong_aud", "aud is another client"),
    info(
        "id_token.extra_aud",
        "aud is an array with an untrusted second audience",
    ),
    info("id_token.missing_aud", "no aud"),
    info("id_token.wrong_nonce", "nonce differs from the request's"),
    info("id_token.missing_nonce", "no nonce"),
    info("id_token.expired", "exp 10 minutes ago"),
    info("id_token.missing_exp", "no exp"),
    info("id_token.iat_future", "iat 10 minutes ahead"),
    info("id_token.missing_iat", "no iat"),
    info("id_token.missing_sub", "no sub"),
    info(
        "id_token.no_profile",
        "no profile, email or phone claims: they are at userinfo only (valid: Core 5.4)",
    ),
    info(
        "id_token.no_kid",
        "no kid in the header (a real test while the JWKS holds several keys)",
    ),
    info("id_token.unknown_kid", "a kid the JWKS does not hold"),
    info(
        "authorize.wrong_iss",
        "the redirect's iss names another issuer",
    ),
    info("authorize.missing_iss", "the redirect carries no iss"),
    info(
        "authorize.wrong_state",
        "the redirect's state is not the request's",
    ),
    valued(
        "authorize.error",
        "access_denied|login_required|server_error|temporarily_unavailable",
        "access_denied",
        "the redirect carries this error instead of a code",
    ),
    valued(
        "token.status",
        "STATUS[:html]",
        "503",
        "the token endpoint answers this status (JSON body, or an HTML page with :html)",
    ),
    info("token.rate_limited", "429 with Retry-After"),
    valued(
        "token.delay",
        "MS",
        "2000",
        "the valid answer comes MS milliseconds late",
    ),
    info("token.malformed_json", "a 200 whose body is not JSON"),
    info("token.missing_access_token", "no access_token"),
    info("token.missing_id_token", "no id_token"),
    valued(
        "token.token_type",
        "VALUE",
        "mac",
        "this token_type instead of Bearer",
    ),
    info(
        "token.bearer_lowercase",
        "token_type bearer (valid: a correct client accepts it)",
    ),
    info(
        "token.invalid_grant",
        "a valid code is refused with invalid_grant",
    ),
    info(
        "token.close_connection",
        "the connection is closed without a response",
    ),
    info(
        "token.error_200",
        "HTTP 200 carrying the protocol's error instead of tokens (WeChat errcode 40029, GitHub bad_verification_code, OIDC invalid_grant)",
    ),
    info("userinfo.wrong_sub", "userinfo names another subject"),
    info(
        "userinfo.bad_signature",
        "a signed userinfo (application/jwt) whose signature does not verify",
    ),
    valued(
        "userinfo.status",
        "STATUS[:html]",
        "500",
        "userinfo answers this status",
    ),
    valued(
        "userinfo.delay",
        "MS",
        "2000",
        "the userinfo answer comes MS milliseconds late",
    ),
    info(
        "discovery.unavailable",
        "the discovery document answers 503",
    ),
    info(
        "discovery.wrong_issuer",
        "the discovery document names another issuer",
    ),
    info("jwks.unavailable", "the JWKS answers 503"),
    info("jwks.empty", "the JWKS holds no key"),
    info("jwks.no_kid", "the JWKS's keys carry no kid"),
    info(
        "jwks.unusable_keys",
        "the JWKS also holds an AKP key and a key of a made-up kty, to be skipped",
    ),
    info(
        "jwks.moved",
        "the JWKS moves to a new unguessable path that discovery names; /jwks answers 404",
    ),
    info(
        "logout.alg_none",
        "the back-channel logout token has alg none and no signature",
    ),
    info(
        "logout.wrong_alg",
        "the logout token is HS256, keyed with the PEM of the published public key",
    ),
    info(
        "logout.wrong_event",
        "the logout token's events names only http://schemas.openid.net/event/foobar",
    ),
    info(
        "end_session.other_state",
        "the redirect to the post-logout URI carries another state",
    ),
    info(
        "end_session.no_state",
        "the redirect to the post-logout URI carries no state",
    ),
    info(
        "refresh.id_token_other_iss",
        "a refresh grant's id_token names another iss than the login's (validly signed)",
    ),
    info(
        "refresh.id_token_other_sub",
        "a refresh grant's id_token names another sub than the login's, another user's if any (validly signed)",
    ),
    // Entra persona
    info(
        "entra.other_tenant",
        "Entra: a correctly signed id_token whose iss and tid are another tenant's",
    ),
    info(
        "entra.tid_mismatch",
        "Entra: iss names another tenant than the token's tid",
    ),
    info(
        "entra.v1_issuer",
        "Entra: iss is the v1-style {base}/{tid}/ (stand-in for https://sts.windows.net/{tid}/)",
    ),
    info(
        "entra.v1_issuer_other_tenant",
        "Entra: iss is the v1-style issuer of another tenant than the token's tid",
    ),
    info(
        "entra.email_of_other_tenant",
        "Entra: email is the address of a user of another tenant (nOAuth)",
    ),
    // apple persona
    info(
        "apple.forged_user",
        "the user form field of a first authorization names another email and name (another configured user's if any)",
    ),
    info(
        "apple.bool_flags",
        "the id_token's email_verified and is_private_email are JSON booleans, not the strings \"true\"/\"false\"",
    ),
    // google persona
    info(
        "id_token.iss_without_scheme",
        "iss is the issuer without https:// (Google's legacy accounts.google.com form; on any other persona, an altered issuer)",
    ),
    info(
        "google.hd_stripped",
        "google: the id_token carries no hd, as a consumer account's, whatever hd= the request asked",
    ),
    info(
        "google.azp_sibling",
        "google: azp is another client of the same project (the first by id), aud still this client",
    ),
    info(
        "google.azp_foreign",
        "google: azp is another-client, a client of no project of this one; aud still this client",
    ),
];

/// A fault name or value that is not one of [`crate::FAULTS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// No fault has this name.
    #[error("unknown fault `{0}` (mock-idp --help lists them)")]
    UnknownName(String),
    /// The fault takes a value and none was given.
    #[error("fault `{name}` needs a value: {name}={expected}")]
    MissingValue {
        /// The fault.
        name: String,
        /// What it takes.
        expected: &'static str,
    },
    /// The fault takes no value and one was given.
    #[error("fault `{0}` takes no value")]
    UnexpectedValue(String),
    /// The value is not one the fault takes.
    #[error("fault `{name}`: `{value}` is not {expected}")]
    BadValue {
        /// The fault.
        name: String,
        /// The value given.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A scope that cannot apply to this fault (discovery and JWKS requests name no client or user).
    #[error(
        "fault `{0}` cannot be limited to a client or user: discovery and JWKS requests name neither"
    )]
    Unscopable(String),
    /// `times` is zero.
    #[error("times must be at least 1")]
    ZeroTimes,
    /// The fault id is not armed.
    #[error("no fault with id {0}")]
    NotFound(u64),
}

fn millis(name: &str, value: &str) -> Result<Duration, FaultError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= 600_000)
        .map(Duration::from_millis)
        .ok_or_else(|| FaultError::BadValue {
            name: name.to_owned(),
            value: value.to_owned(),
            expected: "a number of milliseconds up to 600000",
        })
}

impl Fault {
    /// Parses a name and optional value, as every surface gives them (`token.status`, `Some("503")`).
    pub fn parse(name: &str, value: Option<&str>) -> Result<Fault, FaultError> {
        let info = CATALOGUE
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| FaultError::UnknownName(name.to_owned()))?;
        let value = match (info.value, value) {
            (Some(expected), None) => {
                return Err(FaultError::MissingValue {
                    name: name.to_owned(),
                    expected,
                });
            }
            (None, Some(_)) => return Err(FaultError::UnexpectedValue(name.to_owned())),
            (_, v) => v.unwrap_or_default(),
        };
        let bad = |expected: &'static str| FaultError::BadValue {
            name: name.to_owned(),
            value: value.to_owned(),
            expected,
        };
        Ok(match name {
            "id_token.bad_signature" => Fault::IdTokenBadSignature,
            "id_token.alg_none" => Fault::IdTokenAlgNone,
            "id_token.hs256_public_key" => Fault::IdTokenHs256PublicKey,
            "id_token.other_alg" => Fault::IdTokenOtherAlg,
            "id_token.wrong_iss" => Fault::IdTokenWrongIss,
            "id_token.missing_iss" => Fault::IdTokenMissingIss,
            "id_token.wrong_aud" => Fault::IdTokenWrongAud,
            "id_token.extra_aud" => Fault::IdTokenExtraAud,
            "id_token.missing_aud" => Fault::IdTokenMissingAud,
            "id_token.wrong_nonce" => Fault::IdTokenWrongNonce,
            "id_token.missing_nonce" => Fault::IdTokenMissingNonce,
            "id_token.expired" => Fault::IdTokenExpired,
            "id_token.missing_exp" => Fault::IdTokenMissingExp,
            "id_token.iat_future" => Fault::IdTokenIatFuture,
            "id_token.missing_iat" => Fault::IdTokenMissingIat,
            "id_token.missing_sub" => Fault::IdTokenMissingSub,
            "id_token.no_profile" => Fault::IdTokenNoProfile,
            "id_token.no_kid" => Fault::IdTokenNoKid,
            "id_token.unknown_kid" => Fault::IdTokenUnknownKid,
            "authorize.wrong_iss" => Fault::AuthorizeWrongIss,
            "authorize.missing_iss" => Fault::AuthorizeMissingIss,
            "authorize.wrong_state" => Fault::AuthorizeWrongState,
            "authorize.error" => Fault::AuthorizeError(
                AuthorizeErrorCode::parse(value)
                    .ok_or_else(|| bad(info.value.unwrap_or_default()))?,
            ),
            "token.status" => Fault::TokenStatus(
                ErrorStatus::parse(value)
                    .ok_or_else(|| bad("a status 400-599, optionally :html"))?,
            ),
            "token.rate_limited" => Fault::TokenRateLimited,
            "token.delay" => Fault::TokenDelay(millis(name, value)?),
            "token.malformed_json" => Fault::TokenMalformedJson,
            "token.missing_access_token" => Fault::TokenMissingAccessToken,
            "token.missing_id_token" => Fault::TokenMissingIdToken,
            "token.token_type" => {
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
                if !ok {
                    return Err(bad("a token type of 1-64 printable characters"));
                }
                Fault::TokenTokenType(value.to_owned())
            }
            "token.bearer_lowercase" => Fault::TokenBearerLowercase,
            "token.invalid_grant" => Fault::TokenInvalidGrant,
            "token.close_connection" => Fault::TokenCloseConnection,
            "token.error_200" => Fault::TokenError200,
            "userinfo.wrong_sub" => Fault::UserinfoWrongSub,
            "userinfo.bad_signature" => Fault::UserinfoBadSignature,
            "userinfo.status" => Fault::UserinfoStatus(
                ErrorStatus::parse(value)
                    .ok_or_else(|| bad("a status 400-599, optionally :html"))?,
            ),
            "userinfo.delay" => Fault::UserinfoDelay(millis(name, value)?),
            "discovery.unavailable" => Fault::DiscoveryUnavailable,
            "discovery.wrong_issuer" => Fault::DiscoveryWrongIssuer,
            "jwks.unavailable" => Fault::JwksUnavailable,
            "jwks.empty" => Fault::JwksEmpty,
            "jwks.no_kid" => Fault::JwksNoKid,
            "jwks.unusable_keys" => Fault::JwksUnusableKeys,
            "jwks.moved" => Fault::JwksMoved,
            "logout.alg_none" => Fault::LogoutAlgNone,
            "logout.wrong_alg" => Fault::LogoutWrongAlg,
            "logout.wrong_event" => Fault::LogoutWrongEvent,
            "end_session.other_state" => Fault::EndSessionOtherState,
            "end_session.no_state" => Fault::EndSessionNoState,
            "refresh.id_token_other_iss" => Fault::RefreshIdTokenOtherIss,
            "refresh.id_token_other_sub" => Fault::RefreshIdTokenOtherSub,
            "entra.other_tenant" => Fault::EntraOtherTenant,
            "entra.tid_mismatch" => Fault::EntraTidMismatch,
            "entra.v1_issuer" => Fault::EntraV1Issuer,
            "entra.v1_issuer_other_tenant" => Fault::EntraV1IssuerOtherTenant,
            "entra.email_of_other_tenant" => Fault::EntraEmailOfOtherTenant,
            "apple.forged_user" => Fault::AppleForgedUser,
            "apple.bool_flags" => Fault::AppleBoolFlags,
            "id_token.iss_without_scheme" => Fault::IdTokenIssWithoutScheme,
            "google.hd_stripped" => Fault::GoogleHdStripped,
            "google.azp_sibling" => Fault::GoogleAzpSibling,
            "google.azp_foreign" => Fault::GoogleAzpForeign,
            // The catalogue and this match list the same names; a test checks that each parses.
            other => return Err(FaultError::UnknownName(other.to_owned())),
        })
    }

    /// The stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::IdTokenBadSignature => "id_token.bad_signature",
            Fault::IdTokenAlgNone => "id_token.alg_none",
            Fault::IdTokenHs256PublicKey => "id_token.hs256_public_key",
            Fault::IdTokenOtherAlg => "id_token.other_alg",
            Fault::IdTokenWrongIss => "id_token.wrong_iss",
            Fault::IdTokenMissingIss => "id_token.missing_iss",
            Fault::IdTokenWrongAud => "id_token.wrong_aud",
            Fault::IdTokenExtraAud => "id_token.extra_aud",
            Fault::IdTokenMissingAud => "id_token.missing_aud",
            Fault::IdTokenWrongNonce => "id_token.wrong_nonce",
            Fault::IdTokenMissingNonce => "id_token.missing_nonce",
            Fault::IdTokenExpired => "id_token.expired",
            Fault::IdTokenMissingExp => "id_token.missing_exp",
            Fault::IdTokenIatFuture => "id_token.iat_future",
            Fault::IdTokenMissingIat => "id_token.missing_iat",
            Fault::IdTokenMissingSub => "id_token.missing_sub",
            Fault::IdTokenNoProfile => "id_token.no_profile",
            Fault::IdTokenNoKid => "id_token.no_kid",
            Fault::IdTokenUnknownKid => "id_token.unknown_kid",
            Fault::AuthorizeWrongIss => "authorize.wrong_iss",
            Fault::AuthorizeMissingIss => "authorize.missing_iss",
            Fault::AuthorizeWrongState => "authorize.wrong_state",
            Fault::AuthorizeError(_) => "authorize.error",
            Fault::TokenStatus(_) => "token.status",
            Fault::TokenRateLimited => "token.rate_limited",
            Fault::TokenDelay(_) => "token.delay",
            Fault::TokenMalformedJson => "token.malformed_json",
            Fault::TokenMissingAccessToken => "token.missing_access_token",
            Fault::TokenMissingIdToken => "token.missing_id_token",
            Fault::TokenTokenType(_) => "token.token_type",
            Fault::TokenBearerLowercase => "token.bearer_lowercase",
            Fault::TokenInvalidGrant => "token.invalid_grant",
            Fault::TokenCloseConnection => "token.close_connection",
            Fault::TokenError200 => "token.error_200",
            Fault::UserinfoWrongSub => "userinfo.wrong_sub",
            Fault::UserinfoBadSignature => "userinfo.bad_signature",
            Fault::UserinfoStatus(_) => "userinfo.status",
            Fault::UserinfoDelay(_) => "userinfo.delay",
            Fault::DiscoveryUnavailable => "discovery.unavailable",
            Fault::DiscoveryWrongIssuer => "discovery.wrong_issuer",
            Fault::JwksUnavailable => "jwks.unavailable",
            Fault::JwksEmpty => "jwks.empty",
            Fault::JwksNoKid => "jwks.no_kid",
            Fault::JwksUnusableKeys => "jwks.unusable_keys",
            Fault::JwksMoved => "jwks.moved",
            Fault::LogoutAlgNone => "logout.alg_none",
            Fault::LogoutWrongAlg => "logout.wrong_alg",
            Fault::LogoutWrongEvent => "logout.wrong_event",
            Fault::EndSessionOtherState => "end_session.other_state",
            Fault::EndSessionNoState => "end_session.no_state",
            Fault::RefreshIdTokenOtherIss => "refresh.id_token_other_iss",
            Fault::RefreshIdTokenOtherSub => "refresh.id_token_other_sub",
            Fault::EntraOtherTenant => "entra.other_tenant",
            Fault::EntraTidMismatch => "entra.tid_mismatch",
            Fault::EntraV1Issuer => "entra.v1_issuer",
            Fault::EntraV1IssuerOtherTenant => "entra.v1_issuer_other_tenant",
            Fault::EntraEmailOfOtherTenant => "entra.email_of_other_tenant",
            Fault::AppleForgedUser => "apple.forged_user",
            Fault::AppleBoolFlags => "apple.bool_flags",
            Fault::IdTokenIssWithoutScheme => "id_token.iss_without_scheme",
            Fault::GoogleHdStripped => "google.hd_stripped",
            Fault::GoogleAzpSibling => "google.azp_sibling",
            Fault::GoogleAzpForeign => "google.azp_foreign",
        }
    }

    /// The value, for faults that take one, as [`Fault::parse`] reads it.
    pub fn value(&self) -> Option<String> {
        match self {
            Fault::AuthorizeError(code) => Some(code.as_str().to_owned()),
            Fault::TokenStatus(s) | Fault::UserinfoStatus(s) => Some(s.to_string()),
            Fault::TokenDelay(d) | Fault::UserinfoDelay(d) => Some(d.as_millis().to_string()),
            Fault::TokenTokenType(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// The point of the protocol it spoils.
    pub(crate) fn point(&self) -> Point {
        match self {
            Fault::AppleForgedUser => return Point::AppleUser,
            Fault::AppleBoolFlags => return Point::AppleFlags,
            _ => {}
        }
        match self.name().split_once('.').map(|(group, _)| group) {
            Some("id_token") => Point::IdToken,
            // The Google persona's faults are all in its id_tokens.
            Some("google") => Point::IdToken,
            Some("authorize") => Point::Authorize,
            Some("token") => Point::Token,
            Some("userinfo") => Point::Userinfo,
            Some("discovery") => Point::Discovery,
            Some("logout") => Point::Logout,
            Some("end_session") => Point::EndSession,
            Some("refresh") => Point::Refresh,
            Some("entra") => Point::IdToken,
            _ => Point::Jwks,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Some(v) => write!(f, "{}={v}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// `NAME` or `NAME=VALUE`, as the CLI's `--fault` takes it.
impl FromStr for Fault {
    type Err = FaultError;
    fn from_str(s: &str) -> Result<Fault, FaultError> {
        match s.split_once('=') {
            Some((name, value)) => Fault::parse(name.trim(), Some(value.trim())),
            None => Fault::parse(s.trim(), None),
        }
    }
}

/// A fault with how often and for whom it applies: what every surface hands to [`crate::Handle::arm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// The fault.
    pub fault: Fault,
    /// How many responses it spoils; `None` until cleared.
    pub times: Option<u32>,
    /// Only responses to this client.
    pub client_id: Option<String>,
    /// Only the flows of this user (by username).
    pub username: Option<String>,
}

impl FaultSpec {
    /// Applies to every matching response until cleared.
    pub fn new(fault: Fault) -> FaultSpec {
        FaultSpec {
            fault,
            times: None,
            client_id: None,
            username: None,
        }
    }

    /// Applies to the next `n` matching responses only.
    pub fn times(mut self, n: u32) -> FaultSpec {
        self.times = Some(n);
        self
    }

    /// Applies to the next matching response only.
    pub fn once(self) -> FaultSpec {
        self.times(1)
    }

    /// Applies only to responses to `client_id`.
    pub fn for_client(mut self, client_id: &str) -> FaultSpec {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Applies only to the flows of `username`.
    pub fn for_user(mut self, username: &str) -> FaultSpec {
        self.username = Some(username.to_owned());
        self
    }

    /// Checks what a spec may not combine: zero times, or a scope on a fault whose requests name no one.
    pub fn check(&self) -> Result<(), FaultError> {
        if self.times == Some(0) {
            return Err(FaultError::ZeroTimes);
        }
        let scoped = self.client_id.is_some() || self.username.is_some();
        if scoped && matches!(self.fault.point(), Point::Discovery | Point::Jwks) {
            return Err(FaultError::Unscopable(self.fault.name().to_owned()));
        }
        Ok(())
    }
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> FaultSpec {
        FaultSpec::new(fault)
    }
}

/// An armed fault as listed by [`crate::Handle::faults`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmedFault {
    /// Its id, for [`crate::Handle::clear_fault`].
    pub id: u64,
    /// What and for whom.
    pub spec: FaultSpec,
    /// How many responses it has spoiled so far.
    pub applied: u32,
}

/// Who a response is for, as far as the endpoint knows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The client, when the endpoint knows it.
    pub client_id: Option<&'a str>,
    /// The user (username), when the endpoint knows it.
    pub username: Option<&'a str>,
}

/// The most faults armed at once on one provider; arming more is refused (a store with a bound).
pub const MAX_ARMED: usize = 1024;

/// The faults armed on one provider.
#[derive(Debug, Default)]
pub struct FaultRegistry {
    /// Armed faults, oldest first. A `std::sync::Mutex` on purpose: no `.await` happens under it.
    armed: Mutex<Vec<ArmedFault>>,
    /// How many are armed, read without the lock so the common case (nothing armed) costs one load.
    count: AtomicUsize,
    /// The next id.
    next_id: AtomicU64,
}

/// The registry is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_ARMED} faults are armed already; clear some first")]
pub struct RegistryFull;

impl FaultRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ArmedFault>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms a fault; returns its id.
    pub fn arm(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        spec.check()?;
        let mut armed = self.lock();
        if armed.len() >= MAX_ARMED {
            return Err(FaultError::BadValue {
                name: spec.fault.name().to_owned(),
                value: RegistryFull.to_string(),
                expected: "room in the fault registry",
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        armed.push(ArmedFault {
            id,
            spec,
            applied: 0,
        });
        self.count.store(armed.len(), Ordering::Release);
        Ok(id)
    }

    /// Changes an armed fault in place (the Rust handle's builder methods).
    pub fn update(&self, id: u64, change: impl FnOnce(&mut FaultSpec)) -> Result<(), FaultError> {
        let mut armed = self.lock();
        let entry = armed
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or(FaultError::NotFound(id))?;
        let mut spec = entry.spec.clone();
        change(&mut spec);
        spec.check()?;
        entry.spec = spec;
        Ok(())
    }

    /// Disarms one fault.
    pub fn clear(&self, id: u64) -> Result<(), FaultError> {
        let mut armed = self.lock();
        let before = armed.len();
        armed.retain(|a| a.id != id);
        self.count.store(armed.len(), Ordering::Release);
        if armed.len() == before {
            return Err(FaultError::NotFound(id));
        }
        Ok(())
    }

    /// Disarms every fault.
    pub fn clear_all(&self) {
        let mut armed = self.lock();
        armed.clear();
        self.count.store(0, Ordering::Release);
    }

    /// The armed faults, oldest first.
    pub fn list(&self) -> Vec<ArmedFault> {
        self.lock().clone()
    }

    /// Whether `fault` is armed, without counting it as applied: for a response that only points to where
    /// a fault applies (discovery naming the moved JWKS of `jwks.moved`). With nothing armed, one load.
    pub fn is_armed(&self, fault: &Fault) -> bool {
        self.count.load(Ordering::Acquire) != 0
            && self.lock().iter().any(|a| a.spec.fault == *fault)
    }

    /// The faults that apply to one response at `point` for `context`, oldest first; each counts as
    /// applied once (and is disarmed when its `times` are used up).
    pub fn take(&self, point: Point, context: Context<'_>) -> Vec<Fault> {
        if self.count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let mut armed = self.lock();
        let mut taken = Vec::new();
        armed.retain_mut(|a| {
            let matches = a.spec.fault.point() == point
                && a.spec
                    .client_id
                    .as_deref()
                    .is_none_or(|c| context.client_id == Some(c))
                && a.spec
                    .username
                    .as_deref()
                    .is_none_or(|u| context.username == Some(u));
            if !matches {
                return true;
            }
            taken.push(a.spec.fault.clone());
            a.applied = a.applied.saturating_add(1);
            a.spec.times.is_none_or(|n| a.applied < n)
        });
        self.count.store(armed.len(), Ordering::Release);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_name_parses_and_prints_back() {
        for info in CATALOGUE {
            let fault = Fault::parse(info.name, info.example).expect(info.name);
            assert_eq!(fault.name(), info.name);
            assert_eq!(fault.value().as_deref(), info.example);
            let again: Fault = fault.to_string().parse().expect("round trip");
            assert_eq!(again, fault);
        }
    }

    #[test]
    fn bad_names_and_values_are_named_in_the_error() {
        let e = Fault::parse("id_token.wrong_audience", None).expect_err("unknown");
        assert!(e.to_string().contains("id_token.wrong_audience"), "{e}");
        assert!(matches!(
            Fault::parse("token.status", None),
            Err(FaultError::MissingValue { .. })
        ));
        assert!(matches!(
            Fault::parse("token.status", Some("200")),
            Err(FaultError::BadValue { .. })
        ));
        assert!(matches!(
            "id_token.expired=3".parse::<Fault>(),
            Err(FaultError::UnexpectedValue(_))
        ));
        assert_eq!(
            "token.status=502:html".parse::<Fault>(),
            Ok(Fault::TokenStatus(ErrorStatus::html(502)))
        );
    }

    #[test]
    fn a_fault_applies_its_times_then_disarms() {
        let registry = FaultRegistry::default();
        registry
            .arm(FaultSpec::new(Fault::TokenInvalidGrant).times(2))
            .expect("arm");
        let ctx = Context::default();
        assert_eq!(registry.take(Point::Token, ctx).len(), 1);
        assert!(registry.take(Point::IdToken, ctx).is_empty());
        assert_eq!(registry.take(Point::Token, ctx).len(), 1);
        assert!(registry.take(Point::Token, ctx).is_empty());
        assert!(registry.list().is_empty());
    }

    #[test]
    fn a_scoped_fault_spares_other_clients_and_users() {
        let registry = FaultRegistry::default();
        registry
            .arm(
                FaultSpec::new(Fault::IdTokenWrongAud)
                    .for_client("app")
                    .for_user("alice"),
            )
            .expect("arm");
        let other_user = Context {
            client_id: Some("app"),
            username: Some("bob"),
        };
        let other_client = Context {
            client_id: Some("web"),
            username: Some("alice"),
        };
        assert!(registry.take(Point::IdToken, other_user).is_empty());
        assert!(registry.take(Point::IdToken, other_client).is_empty());
        let hit = Context {
            client_id: Some("app"),
            username: Some("alice"),
        };
        assert_eq!(
            registry.take(Point::IdToken, hit),
            vec![Fault::IdTokenWrongAud]
        );
        // No `times`: it holds until cleared.
        assert_eq!(registry.take(Point::IdToken, hit).len(), 1);
    }

    #[test]
    fn discovery_faults_cannot_be_scoped() {
        let registry = FaultRegistry::default();
        assert!(matches!(
            registry.arm(FaultSpec::new(Fault::JwksEmpty).for_client("app")),
            Err(FaultError::Unscopable(_))
        ));
    }
}
