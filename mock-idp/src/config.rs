//! Typed configuration: the TOML file format, the built-in defaults and their validation.

#[cfg(feature = "toml")]
use std::path::Path;
use std::{collections::BTreeMap, fmt, net::SocketAddr};

use serde::{Deserialize, Serialize};

/// How many records the request log keeps by default (`request_log_capacity`).
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 5_000;

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

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The signing algorithm of id_tokens and access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the OIDC default, Core §15.1).
    #[default]
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

impl SigningAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }
}

/// How a client's id_tokens are signed: its `id_token_signed_response_alg` (Dynamic Client Registration
/// 1.0 §2). RS256 and ES256 are keys of the provider's (the one of its `signing_alg`, or a second key it
/// makes for the other); HS256 is a MAC keyed with the UTF-8 octets of the client's own secret (Core §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IdTokenAlg {
    /// The provider's RSA key.
    RS256,
    /// The provider's P-256 key.
    ES256,
    /// HMAC SHA-256 keyed with the client's secret.
    HS256,
}

impl IdTokenAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenAlg::RS256 => "RS256",
            IdTokenAlg::ES256 => "ES256",
            IdTokenAlg::HS256 => "HS256",
        }
    }
}

impl std::str::FromStr for IdTokenAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(IdTokenAlg::RS256),
            "ES256" => Ok(IdTokenAlg::ES256),
            "HS256" => Ok(IdTokenAlg::HS256),
            other => Err(format!(
                "unknown id_token alg {other:?} (RS256, ES256 or HS256)"
            )),
        }
    }
}

impl From<SigningAlg> for IdTokenAlg {
    fn from(alg: SigningAlg) -> Self {
        match alg {
            SigningAlg::RS256 => IdTokenAlg::RS256,
            SigningAlg::ES256 => IdTokenAlg::ES256,
        }
    }
}

impl SigningAlg {
    /// The other key type: the provider's second key, for clients registered with it.
    pub fn other(self) -> SigningAlg {
        match self {
            SigningAlg::RS256 => SigningAlg::ES256,
            SigningAlg::ES256 => SigningAlg::RS256,
        }
    }
}

/// The fewest octets of an HS256 client's secret: the 256 bits of the MAC's output (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_OCTETS: usize = 32;

/// How a client authenticates at the token endpoint (RFC 7591 §2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: no secret, PKCE is mandatory.
    None,
}

impl AuthMethod {
    /// The name used in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// Whether a client must send a PKCE challenge. Only S256 is ever accepted (RFC 9700 §2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PkcePolicy {
    /// A challenge is checked when sent; a verifier without a challenge is still refused (downgrade).
    #[default]
    Optional,
    /// Every authorization request must carry an S256 challenge.
    Required,
}

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.4.
    ClientCredentials,
}

impl GrantType {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

/// The protocol a provider speaks (`persona = "oidc" | "wechat" | "github"`). Every persona uses the same
/// clients, users, code rules, clock, faults and request log; only the front differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Persona {
    /// OAuth 2.0 + OpenID Connect: discovery, `/authorize`, `/token` with id_tokens, `/userinfo`.
    #[default]
    Oidc,
    /// The WeChat Open Platform website login: `/connect/qrconnect`, `/sns/oauth2/access_token`,
    /// `/sns/userinfo`; errors as HTTP 200 with `errcode`.
    Wechat,
    /// GitHub OAuth apps: `/login/oauth/authorize`, `/login/oauth/access_token`, `/user`; errors as
    /// HTTP 200 with `error=bad_verification_code` and friends.
    Github,
}

impl Persona {
    /// The access-token lifetime the real provider documents, for a client that sets none: WeChat 7,200 s
    /// ("access_token 接口调用凭证超时时间", `expires_in` 7200); GitHub OAuth-app tokens do not expire by
    /// time, so they are kept a year (GitHub revokes a token unused for a year) and no `expires_in` is
    /// sent. `None`: the configuration's `access_token_ttl`.
    pub fn access_ttl(self) -> Option<u64> {
        match self {
            Persona::Oidc => None,
            Persona::Wechat => Some(7_200),
            Persona::Github => Some(365 * 86_400),
        }
    }

    /// The refresh-token lifetime the real provider documents: WeChat 30 days; GitHub's expiring user
    /// tokens 15,897,600 s (six months, `refresh_token_expires_in`). `None`: `refresh_token_ttl`.
    pub fn refresh_ttl(self) -> Option<u64> {
        match self {
            Persona::Oidc => None,
            Persona::Wechat => Some(30 * 86_400),
            Persona::Github => Some(15_897_600),
        }
    }

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Oidc => "oidc",
            Persona::Wechat => "wechat",
            Persona::Github => "github",
        }
    }

    /// Parses `oidc`, `wechat` or `github`.
    pub fn parse(value: &str) -> Option<Persona> {
        match value {
            "oidc" => Some(Persona::Oidc),
            "wechat" => Some(Persona::Wechat),
            "github" => Some(Persona::Github),
            _ => None,
        }
    }
}

/// A secret that `Debug` does not print.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is really needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// The secret of a confidential client; absent for a public one.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Redirect URIs, compared by exact string match (RFC 9700 §2.1).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grants this client may use.
    #[serde(default = "default_grants")]
    pub grant_types: Vec<GrantType>,
    /// The one authentication method this client must use at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_method: AuthMethod,
    /// Whether PKCE is mandatory (always for public clients).
    #[serde(default)]
    pub pkce: PkcePolicy,
    /// Access-token lifetime for this client, in seconds (overrides the server's).
    #[serde(default)]
    pub access_token_ttl: Option<u64>,
    /// Where the end-session endpoint may send the browser after logout, compared by exact string match
    /// (RP-Initiated Logout 1.0 §3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the provider POSTs a `logout_token` when a session of this client ends (Back-Channel Logout
    /// 1.0 §2.2); the only URI the provider ever posts to for this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Userinfo answers this client with a JWT (`application/jwt`) signed with this algorithm, carrying
    /// `iss` and `aud` (OIDC Core §5.3.2, Dynamic Client Registration §2); it must be the algorithm the
    /// provider signs id_tokens with. Absent: plain JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// How this client's id_tokens are signed (Dynamic Client Registration 1.0 §2); the provider's
    /// `signing_alg` when absent. HS256 needs a secret of at least 32 octets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<IdTokenAlg>,
}

fn default_grants() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode]
}

impl ClientConfig {
    /// A confidential client using `client_secret_basic` with one redirect URI.
    pub fn confidential(id: &str, secret: &str, redirect_uri: &str) -> Self {
        ClientConfig {
            client_id: id.to_owned(),
            client_secret: Some(Secret::from(secret)),
            redirect_uris: vec![redirect_uri.to_owned()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..ClientConfig::default()
        }
    }

    /// A public client (no secret, PKCE required) with one redirect URI.
    pub fn public(id: &str, redirect_uri: &str) -> Self {
        ClientConfig {
            client_id: id.to_owned(),
            client_secret: None,
            redirect_uris: vec![redirect_uri.to_owned()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: AuthMethod::None,
            pkce: PkcePolicy::Required,
            ..ClientConfig::default()
        }
    }

    /// This client with `uri` added to its post-logout redirect URIs (RP-Initiated Logout 1.0 §3).
    pub fn with_post_logout_redirect_uri(mut self, uri: &str) -> Self {
        self.post_logout_redirect_uris.push(uri.to_owned());
        self
    }

    /// This client with its id_tokens signed by `alg` (`id_token_signed_response_alg`).
    pub fn with_id_token_alg(mut self, alg: IdTokenAlg) -> Self {
        self.id_token_signed_response_alg = Some(alg);
        self
    }

    /// This client with a back-channel logout URI (Back-Channel Logout 1.0 §2.2).
    pub fn with_backchannel_logout_uri(mut self, uri: &str) -> Self {
        self.backchannel_logout_uri = Some(uri.to_owned());
        self
    }

    /// Checks that the client asks for signed userinfo only with `provider_alg`, the algorithm the provider
    /// signs id_tokens with (the one key it has to sign userinfo too).
    pub fn validate_for_provider(
        &self,
        field: &str,
        provider_alg: SigningAlg,
    ) -> Result<(), ConfigError> {
        match self.userinfo_signed_response_alg {
            Some(alg) if alg != provider_alg => Err(invalid(
                format!("{field}.userinfo_signed_response_alg"),
                format!(
                    "{} is not what this provider signs with ({}): userinfo is signed with the \
                     id_token key",
                    alg.as_str(),
                    provider_alg.as_str()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Checks one client; `field` is its path in the file.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        if self.client_id.is_empty() {
            return Err(invalid(format!("{field}.client_id"), "must not be empty"));
        }
        match (&self.client_secret, self.token_endpoint_auth_method) {
            (Some(_), AuthMethod::None) => {
                return Err(invalid(
                    format!("{field}.client_secret"),
                    "a client with token_endpoint_auth_method = \"none\" is public and has no secret",
                ));
            }
            (None, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => {
                return Err(invalid(
                    format!("{field}.client_secret"),
                    "required for client_secret_basic and client_secret_post",
                ));
            }
            (Some(s), _) if s.expose().is_empty() => {
                return Err(invalid(
                    format!("{field}.client_secret"),
                    "must not be empty",
                ));
            }
            _ => {}
        }
        if self.id_token_signed_response_alg == Some(IdTokenAlg::HS256) {
            // Core §10.1 and §16.19: the MAC key is the secret's octets, so it must be as long as the MAC.
            match &self.client_secret {
                None => {
                    return Err(invalid(
                        format!("{field}.id_token_signed_response_alg"),
                        "HS256 is keyed with the client secret: a public client cannot have it",
                    ));
                }
                Some(s) if s.expose().len() < MIN_HS256_SECRET_OCTETS => {
                    return Err(invalid(
                        format!("{field}.client_secret"),
                        format!(
                            "an HS256 client needs a secret of at least {MIN_HS256_SECRET_OCTETS} \
                             octets (RFC 7518 §3.2); this one has {}",
                            s.expose().len()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        if self.token_endpoint_auth_method == AuthMethod::None && self.pkce != PkcePolicy::Required
        {
            return Err(invalid(
                format!("{field}.pkce"),
                "public clients must use PKCE: set pkce = \"required\"",
            ));
        }
        if self.token_endpoint_auth_method == AuthMethod::None
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(invalid(
                format!("{field}.grant_types"),
                "client_credentials needs a confidential client",
            ));
        }
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            let f = format!("{field}.redirect_uris[{i}]");
            let parsed = url::Url::parse(uri).map_err(|e| invalid(&f, e.to_string()))?;
            if parsed.fragment().is_some() {
                return Err(invalid(f, "must not contain a fragment (RFC 6749 §3.1.2)"));
            }
        }
        for (i, uri) in self.post_logout_redirect_uris.iter().enumerate() {
            let f = format!("{field}.post_logout_redirect_uris[{i}]");
            let parsed = url::Url::parse(uri).map_err(|e| invalid(&f, e.to_string()))?;
            if parsed.fragment().is_some() {
                return Err(invalid(f, "must not contain a fragment"));
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            let f = format!("{field}.backchannel_logout_uri");
            let parsed = url::Url::parse(uri).map_err(|e| invalid(&f, e.to_string()))?;
            // Back-Channel Logout 1.0 §2.2: an absolute http(s) URL without a fragment.
            if !matches!(parsed.scheme(), "http" | "https") || parsed.fragment().is_some() {
                return Err(invalid(
                    f,
                    "must be an http or https URL without a fragment",
                ));
            }
            if parsed.host_str().is_none() {
                return Err(invalid(f, "must name a host"));
            }
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            return Err(invalid(
                format!("{field}.redirect_uris"),
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        Ok(())
    }
}

/// A user who can log in.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The login name typed into the form.
    pub username: String,
    /// The password typed into the form.
    pub password: Secret,
    /// The stable subject identifier (`sub`); never reassigned (Core §5.7).
    pub sub: String,
    /// `name` claim (profile scope).
    #[serde(default)]
    pub name: Option<String>,
    /// `given_name` claim (profile scope).
    #[serde(default)]
    pub given_name: Option<String>,
    /// `family_name` claim (profile scope).
    #[serde(default)]
    pub family_name: Option<String>,
    /// `picture` claim (profile scope).
    #[serde(default)]
    pub picture: Option<String>,
    /// `email` claim (email scope).
    #[serde(default)]
    pub email: Option<String>,
    /// `email_verified` claim (email scope).
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// `phone_number` claim (phone scope).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Any further claims, added to the id_token and userinfo whatever the scope.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra_claims: BTreeMap<String, serde_json::Value>,
    /// WeChat persona: the `unionid`, the same across the apps of one open-platform account; without it,
    /// WeChat answers carry no `unionid` (an app not bound to an open-platform account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// WeChat persona: `openid` per app (client id → openid); a client not listed gets a stable openid
    /// derived from (client, `sub`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub openids: BTreeMap<String, String>,
    /// GitHub persona: the numeric user `id`; derived from `sub` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_id: Option<u64>,
    /// GitHub persona: the `login` (renamable, so never an identity); the username when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_login: Option<String>,
}

impl UserConfig {
    /// A user with a username, password and subject.
    pub fn new(username: &str, password: &str, sub: &str) -> Self {
        UserConfig {
            username: username.to_owned(),
            password: Secret::from(password),
            sub: sub.to_owned(),
            ..UserConfig::default()
        }
    }

    /// Checks one user; `field` is its path in the file.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        if self.username.is_empty() {
            return Err(invalid(format!("{field}.username"), "must not be empty"));
        }
        if self.sub.is_empty() || self.sub.len() > 255 {
            return Err(invalid(
                format!("{field}.sub"),
                "must be 1 to 255 characters (Core §2)",
            ));
        }
        Ok(())
    }
}

/// Upper bounds of the in-memory stores, so that memory follows what is live and never what was ever
/// issued. A store at its bound (after dropping its expired records) refuses new records with
/// `temporarily_unavailable` instead of growing. For scale: the soak bench measures 2–4 KiB of resident
/// memory per login still live (a spent code, two access-token records, two spent refresh tokens and a
/// revoked grant), allocator and hash-table slack included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Authorization codes, unspent (until they expire) or spent (until the tokens they produced expire).
    pub codes: usize,
    /// Issued access tokens (until they expire); revoked-token and revoked-grant records are each capped at
    /// this number too.
    pub access_tokens: usize,
    /// Refresh tokens, live or spent (until they expire).
    pub refresh_tokens: usize,
    /// Requests waiting at the login page (10 minutes each). Anyone can create one, so the store is fair
    /// rather than refusing: when full, the oldest page of the address holding the most is evicted.
    pub pending_logins: usize,
    /// Of those, the most one client address holds (IPv6: one /64); its oldest goes first. Sized well
    /// above what a concurrent test run from one address keeps open.
    pub pending_logins_per_address: usize,
    /// Failed-client-authentication counters, one per (client, remote address) per minute. When full, the
    /// counters with the fewest failures make room: every failure is counted.
    pub auth_failure_counters: usize,
    /// Provider sessions of clients with a back-channel logout URI (until the tokens they issued expire).
    pub sessions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            codes: 100_000,
            access_tokens: 100_000,
            refresh_tokens: 100_000,
            pending_logins: 5_000,
            pending_logins_per_address: 1_000,
            auth_failure_counters: 10_000,
            sessions: 100_000,
        }
    }
}

/// The whole configuration of one mock IdP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier; when absent, `http://{bound address}`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The protocol this provider speaks: `oidc` (default), `wechat` or `github`.
    #[serde(default)]
    pub persona: Persona,
    /// Where to listen; port 0 picks a free one.
    #[serde(default = "default_address")]
    pub address: SocketAddr,
    /// Lifetime of authorization codes, seconds (RFC 6749 §4.1.2 recommends at most 600).
    #[serde(default = "default_code_ttl")]
    pub code_ttl: u64,
    /// Lifetime of access tokens, seconds.
    #[serde(default = "default_hour")]
    pub access_token_ttl: u64,
    /// Lifetime of id_tokens, seconds.
    #[serde(default = "default_hour")]
    pub id_token_ttl: u64,
    /// Lifetime of refresh tokens, seconds.
    #[serde(default = "default_day")]
    pub refresh_token_ttl: u64,
    /// Signing algorithm.
    #[serde(default)]
    pub signing_alg: SigningAlg,
    /// A PEM private key (PKCS#1 or PKCS#8 RSA for RS256, PKCS#8 P-256 for ES256); the test-only key if absent.
    #[serde(default)]
    pub signing_key: Option<String>,
    /// Whether `login_hint=<username>` completes the authorization without the login page.
    #[serde(default)]
    pub login_hint_auto_login: bool,
    /// Failed client authentications allowed per client per minute before 429.
    #[serde(default = "default_auth_failures")]
    pub max_auth_failures_per_minute: u32,
    /// Upper bounds of the stores (`[limits]`).
    #[serde(default)]
    pub limits: Limits,
    /// Registered clients.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Users who can log in.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Faults armed at start (`[[faults]]`); see [`crate::Fault`].
    #[serde(default)]
    pub faults: Vec<FaultConfig>,
    /// Faults armed at start that arrive parsed (`--fault`, or code), so they are carried as they are
    /// rather than printed back to a `[[faults]]` table; armed after `faults`. Not part of the file.
    #[serde(skip)]
    pub armed_faults: Vec<crate::faults::FaultSpec>,
    /// How many requests the request log keeps (the oldest go first); 0 keeps none.
    #[serde(default = "default_request_log_capacity")]
    pub request_log_capacity: usize,
    /// Seconds the provider's clock runs ahead of the system clock from the start.
    #[serde(default)]
    pub clock_advance_secs: u64,
    /// Whether the provider's clock starts frozen (it then moves only when advanced).
    #[serde(default)]
    pub clock_frozen: bool,
    /// Whether the admin API is served under `/admin`.
    #[serde(default)]
    pub admin: bool,
    /// The bearer token every admin request needs; with none, requests need none on a loopback address.
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// Tenants created at start (`[[tenants]]`: a `name` and the same fields as this file).
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Serve HTTPS (`[tls]`, feature `tls`); the default issuer is then `https://{bound address}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// The `[tls]` table: a given certificate and key, or (with neither) one generated on first start for
/// `localhost` and `127.0.0.1`, signed by a local CA whose certificate clients are told to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM certificate chain, leaf first.
    #[serde(default)]
    pub cert: Option<String>,
    /// Its PEM private key.
    #[serde(default)]
    pub key: Option<String>,
    /// Where the generated CA (`ca.pem`), certificate and key are kept; by default `mock-idp-tls` in the
    /// system's temp directory.
    #[serde(default)]
    pub dir: Option<String>,
}

/// A `[[tenants]]` table: a name and a configuration of the root's shape (without `issuer` and
/// `address`, which follow from the server's).
#[derive(Debug, Clone, Serialize)]
pub struct TenantConfig {
    /// The tenant's name: it is served under `/t/NAME`.
    pub name: String,
    /// Its configuration.
    #[serde(flatten)]
    pub config: Config,
}

/// serde cannot combine `flatten` with `deny_unknown_fields`, so the table is read whole, its `name` taken
/// out, and the rest read as a [`Config`], which keeps refusing unknown fields.
impl<'de> Deserialize<'de> for TenantConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let name = match table.remove("name") {
            Some(serde_json::Value::String(n)) => n,
            Some(_) => return Err(D::Error::custom("tenant `name` must be a string")),
            None => return Err(D::Error::missing_field("name")),
        };
        let config = serde_json::from_value(serde_json::Value::Object(table))
            .map_err(|e| D::Error::custom(format!("tenant {name:?}: {e}")))?;
        Ok(TenantConfig { name, config })
    }
}

fn default_request_log_capacity() -> usize {
    DEFAULT_REQUEST_LOG_CAPACITY
}

/// A `[[faults]]` table: a fault armed when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// The fault's name, e.g. `id_token.wrong_aud` (`mock-idp --help` lists them).
    pub name: String,
    /// Its value, for faults that take one (`token.status` → `"503"`).
    #[serde(default)]
    pub value: Option<String>,
    /// How many responses it spoils; absent: every one until the server stops.
    #[serde(default)]
    pub times: Option<u32>,
    /// Only responses to this client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Only the flows of this user.
    #[serde(default)]
    pub username: Option<String>,
}

impl FaultConfig {
    /// The fault this table arms, or an error naming `field` and the bad name or value.
    pub fn spec(&self, field: &str) -> Result<crate::faults::FaultSpec, ConfigError> {
        let fault = crate::faults::Fault::parse(&self.name, self.value.as_deref())
            .map_err(|e| invalid(format!("{field}.name"), e.to_string()))?;
        let spec = crate::faults::FaultSpec {
            fault,
            times: self.times,
            client_id: self.client_id.clone(),
            username: self.username.clone(),
        };
        spec.check()
            .map_err(|e| invalid(field.to_owned(), e.to_string()))?;
        Ok(spec)
    }
}

fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
fn default_code_ttl() -> u64 {
    60
}
fn default_hour() -> u64 {
    3600
}
fn default_day() -> u64 {
    86400
}
fn default_auth_failures() -> u32 {
    20
}

impl Default for Config {
    /// No clients and no users, a random loopback port.
    fn default() -> Self {
        Config {
            issuer: None,
            persona: Persona::Oidc,
            address: default_address(),
            code_ttl: default_code_ttl(),
            access_token_ttl: default_hour(),
            id_token_ttl: default_hour(),
            refresh_token_ttl: default_day(),
            signing_alg: SigningAlg::RS256,
            signing_key: None,
            login_hint_auto_login: false,
            max_auth_failures_per_minute: default_auth_failures(),
            limits: Limits::default(),
            clients: Vec::new(),
            users: Vec::new(),
            faults: Vec::new(),
            armed_faults: Vec::new(),
            request_log_capacity: default_request_log_capacity(),
            clock_advance_secs: 0,
            clock_frozen: false,
            admin: false,
            admin_token: None,
            tenants: Vec::new(),
            tls: None,
        }
    }
}

impl Config {
    /// The built-in defaults: port 9000 and issuer `http://127.0.0.1:9000`, the clients `web`, `web-post`,
    /// `spa` and `service`, the users alice and bob. `fixtures/mock-idp.toml` is the same configuration as a
    /// file (a test keeps the two equal); it is built here in code so that the embeddable library needs no
    /// TOML parser.
    pub fn builtin_served() -> Config {
        use GrantType::{AuthorizationCode, ClientCredentials, RefreshToken};
        const WEB_CALLBACK: &str = "http://127.0.0.1:3000/callback";
        let client = |id: &str, secret: Option<&str>, auth, uris: &[&str], grants: &[GrantType]| {
            ClientConfig {
                client_id: id.to_owned(),
                client_secret: secret.map(Secret::from),
                redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
                grant_types: grants.to_vec(),
                token_endpoint_auth_method: auth,
                pkce: PkcePolicy::Optional,
                ..ClientConfig::default()
            }
        };
        let user =
            |username: &str, sub: &str, given: &str, family: &str, phone: &str, github_id: u64| {
                UserConfig {
                    username: username.to_owned(),
                    password: Secret::new(format!("{username}-password")),
                    sub: sub.to_owned(),
                    name: Some(format!("{given} {family}")),
                    given_name: Some(given.to_owned()),
                    family_name: Some(family.to_owned()),
                    // Relative to the issuer: served by this provider (`/avatars/NAME.svg`), so demos work offline.
                    picture: Some(format!("/avatars/{username}.svg")),
                    email: Some(format!("{username}@example.com")),
                    email_verified: Some(true),
                    phone_number: Some(phone.to_owned()),
                    extra_claims: BTreeMap::new(),
                    unionid: Some(format!("union-{username}")),
                    openids: BTreeMap::from([("web".to_owned(), format!("openid-web-{username}"))]),
                    github_id: Some(github_id),
                    github_login: Some(username.to_owned()),
                }
            };
        let address = SocketAddr::from(([127, 0, 0, 1], 9000));
        Config {
            issuer: Some(format!("http://{address}")),
            address,
            clients: vec![
                // The reference client's logout returns to its start page. No back-channel URI by default:
                // a client with one has every login kept as a session, work the benchmarks' logins skip.
                client(
                    "web",
                    Some("web-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[WEB_CALLBACK],
                    &[AuthorizationCode, RefreshToken],
                )
                .with_post_logout_redirect_uri("http://127.0.0.1:3000/"),
                client(
                    "web-post",
                    Some("web-post-secret"),
                    AuthMethod::ClientSecretPost,
                    &[WEB_CALLBACK],
                    &[AuthorizationCode, RefreshToken],
                ),
                ClientConfig {
                    pkce: PkcePolicy::Required,
                    ..client(
                        "spa",
                        None,
                        AuthMethod::None,
                        &["http://127.0.0.1:5173/callback", WEB_CALLBACK],
                        &[AuthorizationCode, RefreshToken],
                    )
                },
                client(
                    "service",
                    Some("service-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[],
                    &[ClientCredentials],
                ),
            ],
            users: vec![
                user(
                    "alice",
                    "248289761001",
                    "Alice",
                    "Adams",
                    "+15555550101",
                    1001,
                ),
                user("bob", "248289761002", "Bob", "Brown", "+15555550102", 1002),
            ],
            ..Config::default()
        }
    }

    /// The built-in clients and users on a random loopback port with the issuer taken from that port:
    /// what tests start.
    pub fn builtin() -> Config {
        Config {
            issuer: None,
            address: default_address(),
            ..Config::builtin_served()
        }
    }

    /// Parses and validates a TOML document (feature `toml`, on by default).
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file (feature `toml`, on by default).
    #[cfg(feature = "toml")]
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// Checks what serde cannot: issuer shape, lifetimes, unique ids.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        if self.code_ttl == 0 || self.code_ttl > 600 {
            return Err(invalid(
                "code_ttl",
                "must be 1 to 600 seconds (RFC 6749 §4.1.2)",
            ));
        }
        for (name, v) in [
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1 second"));
            }
        }
        for (name, v) in [
            ("limits.codes", self.limits.codes),
            ("limits.access_tokens", self.limits.access_tokens),
            ("limits.refresh_tokens", self.limits.refresh_tokens),
            ("limits.pending_logins", self.limits.pending_logins),
            (
                "limits.pending_logins_per_address",
                self.limits.pending_logins_per_address,
            ),
            (
                "limits.auth_failure_counters",
                self.limits.auth_failure_counters,
            ),
            ("limits.sessions", self.limits.sessions),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            c.validate(&format!("clients[{i}]"))?;
            c.validate_for_provider(&format!("clients[{i}]"), self.signing_alg)?;
            if !seen.insert(c.client_id.as_str()) {
                return Err(invalid(
                    format!("clients[{i}].client_id"),
                    "duplicate client_id",
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        let mut subs = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            u.validate(&format!("users[{i}]"))?;
            if !names.insert(u.username.as_str()) {
                return Err(invalid(
                    format!("users[{i}].username"),
                    "duplicate username",
                ));
            }
            if !subs.insert(u.sub.as_str()) {
                return Err(invalid(format!("users[{i}].sub"), "duplicate sub"));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            f.spec(&format!("faults[{i}]"))?;
        }
        for (i, spec) in self.armed_faults.iter().enumerate() {
            spec.check()
                .map_err(|e| invalid(format!("armed_faults[{i}]"), e.to_string()))?;
        }
        let mut tenant_names = std::collections::HashSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            if !tenant_names.insert(t.name.as_str()) {
                return Err(invalid(
                    format!("tenants[{i}].name"),
                    "duplicate tenant name",
                ));
            }
            if t.config.issuer.is_some() {
                return Err(invalid(
                    format!("tenants[{i}].issuer"),
                    "a tenant's issuer follows from the server's; leave it out",
                ));
            }
            t.config
                .validate()
                .map_err(|e| invalid(format!("tenants[{i}]"), e.to_string()))?;
        }
        if self.request_log_capacity > 1_000_000 {
            return Err(invalid(
                "request_log_capacity",
                "must be at most 1000000 records",
            ));
        }
        Ok(())
    }
}

/// An issuer is an http(s) URL with no query or fragment (RFC 8414 §2).
pub(crate) fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|e| invalid("issuer", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("issuer", "must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "issuer",
            "must have no query or fragment (RFC 8414 §2)",
        ));
    }
    if issuer.ends_with('/') {
        return Err(invalid(
            "issuer",
            "must not end with '/': endpoint URLs are built by appending paths",
        ));
    }
    Ok(())
}

/// What the command line sets over a configuration (its flags and their environment variables, e.g.
/// `--port`/`MOCK_IDP_PORT`): every field left `None`, `false` or empty keeps the configuration's value.
/// [`Overrides::apply`] is the one place the rules of the overlay live, so they are tested without the
/// binary.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--port`: the port to listen on; the issuer follows unless `issuer` is given (port 0: derived from
    /// the bound address).
    pub port: Option<u16>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--persona`.
    pub persona: Option<Persona>,
    /// `--fault`, parsed once: armed as they are ([`Config::armed_faults`]), after the file's.
    pub faults: Vec<crate::faults::Fault>,
    /// `--clock-advance`, seconds.
    pub clock_advance_secs: Option<u64>,
    /// `--freeze-clock`.
    pub freeze_clock: bool,
    /// `--tls`: serve HTTPS (the default issuer becomes `https://`).
    pub tls: bool,
    /// `--tls-cert` (with `tls_key`; implies `tls`).
    pub tls_cert: Option<String>,
    /// `--tls-key`.
    pub tls_key: Option<String>,
    /// `--tls-dir` (implies `tls`).
    pub tls_dir: Option<String>,
    /// `--admin`.
    pub admin: bool,
    /// `--admin-token`.
    pub admin_token: Option<Secret>,
}

impl Overrides {
    /// Lays these over `config` (which is not validated here: the caller does, once, after).
    pub fn apply(self, config: &mut Config) {
        if let Some(port) = self.port {
            config.address = SocketAddr::new(config.address.ip(), port);
            if self.issuer.is_none() {
                // Port 0 picks a free port: the issuer is then derived from the bound address.
                config.issuer = (port != 0).then(|| format!("http://{}", config.address));
            }
        }
        if self.tls || self.tls_cert.is_some() || self.tls_dir.is_some() {
            let tls = config.tls.get_or_insert_with(Default::default);
            if self.tls_cert.is_some() {
                tls.cert = self.tls_cert;
                tls.key = self.tls_key;
            }
            if self.tls_dir.is_some() {
                tls.dir = self.tls_dir;
            }
        }
        // With TLS the default issuer is https: the same address, the other scheme.
        if config.tls.is_some()
            && self.issuer.is_none()
            && let Some(issuer) = &config.issuer
            && let Some(rest) = issuer.strip_prefix("http://")
        {
            config.issuer = Some(format!("https://{rest}"));
        }
        if let Some(issuer) = self.issuer {
            config.issuer = Some(issuer);
        }
        if let Some(persona) = self.persona {
            config.persona = persona;
        }
        if let Some(secs) = self.clock_advance_secs {
            config.clock_advance_secs = secs;
        }
        config.clock_frozen |= self.freeze_clock;
        config.admin |= self.admin;
        if let Some(token) = self.admin_token {
            config.admin_token = Some(token);
        }
        // Armed through the config, so the command line, the file and the handle share one path into
        // the registry.
        config
            .armed_faults
            .extend(self.faults.into_iter().map(crate::faults::FaultSpec::new));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_defaults_are_valid_and_serve_on_port_9000() {
        let c = Config::builtin_served();
        assert_eq!(c.address.port(), 9000);
        assert_eq!(c.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        let web = c
            .clients
            .iter()
            .find(|c| c.client_id == "web")
            .expect("web client");
        assert_eq!(
            web.client_secret.as_ref().map(Secret::expose),
            Some("web-secret")
        );
        assert_eq!(web.redirect_uris, ["http://127.0.0.1:3000/callback"]);
        assert!(
            c.clients
                .iter()
                .any(|c| c.token_endpoint_auth_method == AuthMethod::None
                    && c.pkce == PkcePolicy::Required)
        );
        assert!(
            c.users
                .iter()
                .any(|u| u.username == "alice" && u.password.expose() == "alice-password")
        );
        assert!(
            c.users
                .iter()
                .any(|u| u.username == "bob" && u.password.expose() == "bob-password")
        );
    }

    #[test]
    fn the_builtin_defaults_pass_validation() {
        Config::builtin_served().validate().expect("valid");
        Config::builtin().validate().expect("valid");
    }

    /// The file is the documented form of the built-in defaults; the code is what runs.
    #[cfg(feature = "toml")]
    #[test]
    fn the_fixture_file_is_exactly_the_builtin_defaults() {
        let file = Config::from_toml(include_str!("../fixtures/mock-idp.toml")).expect("valid");
        let as_json = |c: &Config| serde_json::to_value(c).expect("serializes");
        assert_eq!(as_json(&file), as_json(&Config::builtin_served()));
    }

    #[cfg(feature = "toml")]
    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let err = Config::from_toml("code_tl = 5")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("code_tl"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_bad_redirect_uri_is_refused_with_its_path() {
        let err = Config::from_toml(
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\nredirect_uris = [\"not a url\"]\n",
        )
        .expect_err("must fail")
        .to_string();
        assert!(err.contains("clients[0].redirect_uris[0]"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_public_client_without_required_pkce_is_refused() {
        let err = Config::from_toml(
            "[[clients]]\nclient_id = \"a\"\nredirect_uris = [\"http://x/cb\"]\ntoken_endpoint_auth_method = \"none\"\n",
        )
        .expect_err("must fail")
        .to_string();
        assert!(err.contains("clients[0].pkce"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_code_lifetime_over_ten_minutes_is_refused() {
        let err = Config::from_toml("code_ttl = 601")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("code_ttl"), "{err}");
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let c = Config::builtin();
        assert!(!format!("{c:?}").contains("web-secret"));
        assert!(!format!("{c:?}").contains("alice-password"));
    }

    #[test]
    fn a_port_override_moves_the_address_and_the_issuer_follows() {
        let mut c = Config::builtin_served();
        Overrides {
            port: Some(9100),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.address.port(), 9100);
        assert_eq!(c.issuer.as_deref(), Some("http://127.0.0.1:9100"));
        let mut c = Config::builtin_served();
        Overrides {
            port: Some(0),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(
            c.issuer, None,
            "port 0: the issuer follows the bound address"
        );
    }

    #[test]
    fn tls_makes_the_default_issuer_https_unless_an_issuer_is_given() {
        let mut c = Config::builtin_served();
        Overrides {
            tls_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.issuer.as_deref(), Some("https://127.0.0.1:9000"));
        assert_eq!(c.tls.and_then(|t| t.dir).as_deref(), Some("/tmp/x"));
        let mut c = Config::builtin_served();
        Overrides {
            tls: true,
            issuer: Some("http://localhost:9000".into()),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.issuer.as_deref(), Some("http://localhost:9000"));
    }

    #[test]
    fn overrides_set_persona_clock_admin_and_arm_faults_as_parsed() {
        use crate::faults::{Fault, FaultSpec};
        let mut c = Config::builtin_served();
        c.clock_frozen = false;
        Overrides {
            persona: Some(Persona::Github),
            clock_advance_secs: Some(30),
            freeze_clock: true,
            admin: true,
            admin_token: Some(Secret::new("t0ken")),
            faults: vec![Fault::IdTokenBadSignature],
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.persona, Persona::Github);
        assert_eq!(
            (c.clock_advance_secs, c.clock_frozen, c.admin),
            (30, true, true)
        );
        assert_eq!(c.admin_token.as_ref().map(Secret::expose), Some("t0ken"));
        assert!(c.faults.is_empty(), "no text round trip");
        assert_eq!(c.armed_faults, [FaultSpec::new(Fault::IdTokenBadSignature)]);
        c.validate().expect("valid");
    }

    #[test]
    fn no_overrides_leave_the_configuration_as_it_was() {
        let mut c = Config::builtin_served();
        Overrides::default().apply(&mut c);
        let json = |c: &Config| serde_json::to_value(c).expect("serializes");
        assert_eq!(json(&c), json(&Config::builtin_served()));
        assert!(c.armed_faults.is_empty());
    }
}
