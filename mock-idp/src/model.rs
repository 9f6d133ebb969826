//! The domain model: clients, users and how they authenticate, the algorithms, the personas, secrets. The
//! registry (`state`) holds these; the file format (`config`) reads and writes them.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, invalid};

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

/// The protocol a provider speaks (`persona = "oidc" | "wechat" | "github" | "entra" | "apple" |
/// "google"`). Every persona uses the same clients, users, code rules, clock, faults and request log; only
/// the front differs. `entra`, `apple` and `google` are OpenID Connect at their provider's paths, with
/// that provider's documented departures ([`Persona::is_openid`]).
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
    /// Microsoft Entra ID (v2.0 endpoints): `/{tenant}/v2.0/.well-known/openid-configuration`,
    /// `/{tenant}/oauth2/v2.0/authorize` and `/token`, `/{tenant}/discovery/v2.0/keys`; tenant GUIDs and
    /// the multi-tenant `common` / `organizations` / `consumers`, whose issuer is a template.
    Entra,
    /// Sign in with Apple: `/auth/authorize`, `/auth/token`, `/auth/keys`; an ES256 JWT as client secret,
    /// `form_post` when `name` or `email` is asked.
    Apple,
    /// Google: `/o/oauth2/v2/auth`, `/token`, `/v1/userinfo`, `/oauth2/v3/certs`; `hd`, `azp`, a refresh
    /// token only on the first consent.
    Google,
}

impl Persona {
    /// The access-token lifetime the real provider documents, for a client that sets none: WeChat 7,200 s
    /// ("access_token 接口调用凭证超时时间", `expires_in` 7200); GitHub OAuth-app tokens do not expire by
    /// time, so they are kept a year (GitHub revokes a token unused for a year) and no `expires_in` is
    /// sent. `None`: the configuration's `access_token_ttl`.
    pub fn access_ttl(self) -> Option<u64> {
        match self {
            Persona::Oidc | Persona::Entra | Persona::Apple | Persona::Google => None,
            Persona::Wechat => Some(7_200),
            Persona::Github => Some(365 * 86_400),
        }
    }

    /// The refresh-token lifetime the real provider documents: WeChat 30 days; GitHub's expiring user
    /// tokens 15,897,600 s (six months, `refresh_token_expires_in`). `None`: `refresh_token_ttl`.
    pub fn refresh_ttl(self) -> Option<u64> {
        match self {
            Persona::Oidc | Persona::Entra | Persona::Apple | Persona::Google => None,
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
            Persona::Entra => "entra",
            Persona::Apple => "apple",
            Persona::Google => "google",
        }
    }

    /// Every persona, in the order the documentation lists them.
    pub const ALL: [Persona; 6] = [
        Persona::Oidc,
        Persona::Wechat,
        Persona::Github,
        Persona::Entra,
        Persona::Apple,
        Persona::Google,
    ];

    /// Parses a configuration name (`oidc`, `wechat`, `github`, `entra`, `apple`, `google`).
    pub fn parse(value: &str) -> Option<Persona> {
        Persona::ALL.into_iter().find(|p| p.as_str() == value)
    }

    /// Whether the persona speaks OpenID Connect (id_tokens, a JWKS, discovery): `oidc` and the
    /// providers that are OpenID Connect with quirks (`entra`, `apple`, `google`); not WeChat or GitHub.
    pub fn is_openid(self) -> bool {
        matches!(
            self,
            Persona::Oidc | Persona::Entra | Persona::Apple | Persona::Google
        )
    }
}

/// What an authorization request asked that only some personas read, carried from the request to its
/// code, where the redemption reads it (Google's refresh rule). Plain OpenID Connect carries none (`None`
/// on [`crate::AuthRequest`] and [`crate::AuthorizationCode`]), so its path holds nothing more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonaRequest {
    /// Entra: the tenant segment of the path the request came in on: `common`, `organizations`,
    /// `consumers` or a tenant GUID.
    pub path_tenant: Option<String>,
    /// Google: the `hd` parameter, a hint the user can strip.
    pub hd: Option<String>,
    /// Google: `access_type=offline`.
    pub offline: bool,
    /// Google: `prompt=consent`.
    pub consent: bool,
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
    // apple persona
    /// Apple persona: the developer team id, the `iss` of this client's client-secret JWTs. A client with
    /// it authenticates only by such a JWT (`client_secret_keys`), never by a shared secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Apple persona: the keys this client signs its client-secret JWTs with (ES256), by key id; the
    /// public halves as PEM (SubjectPublicKeyInfo, `-----BEGIN PUBLIC KEY-----`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_secret_keys: Vec<ClientSecretKey>,
    // google persona
    /// Google persona: the Google Cloud project this client belongs to. Clients with the same project are
    /// siblings (a web app and its mobile apps): the `google.azp_sibling` fault names a sibling as `azp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// Apple persona: a key a client signs its client-secret JWTs with, as registered in the developer
/// account: its key id and the public half of the P-256 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientSecretKey {
    /// The key id, the `kid` of the JWT's header.
    pub kid: String,
    /// The P-256 public key as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo).
    pub public_key_pem: String,
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, a 66-octet bit string
/// holding an uncompressed point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl ClientSecretKey {
    /// The uncompressed P-256 point (`0x04 || x || y`) of the PEM, or why it is not one.
    pub fn p256_point(&self) -> Result<Vec<u8>, String> {
        let pem = pem::parse(&self.public_key_pem).map_err(|e| format!("not PEM: {e}"))?;
        if pem.tag() != "PUBLIC KEY" {
            return Err("not a -----BEGIN PUBLIC KEY----- PEM".into());
        }
        let der = pem.contents();
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 4 => Ok(point.to_vec()),
            _ => Err("not a P-256 public key (SubjectPublicKeyInfo)".into()),
        }
    }
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
        // apple persona
        match (&self.team_id, self.client_secret_keys.is_empty()) {
            (Some(team), _) if team.is_empty() => {
                return Err(invalid(format!("{field}.team_id"), "must not be empty"));
            }
            (Some(_), true) => {
                return Err(invalid(
                    format!("{field}.client_secret_keys"),
                    "a client with a team_id signs its client secrets: register at least one key",
                ));
            }
            (None, false) => {
                return Err(invalid(
                    format!("{field}.team_id"),
                    "required with client_secret_keys (the client secret's iss)",
                ));
            }
            _ => {}
        }
        if !self.client_secret_keys.is_empty() && self.client_secret.is_some() {
            return Err(invalid(
                format!("{field}.client_secret"),
                "a client with client_secret_keys authenticates by a signed JWT only",
            ));
        }
        for (i, key) in self.client_secret_keys.iter().enumerate() {
            if key.kid.is_empty() {
                return Err(invalid(
                    format!("{field}.client_secret_keys[{i}].kid"),
                    "must not be empty",
                ));
            }
            key.p256_point().map_err(|e| {
                invalid(format!("{field}.client_secret_keys[{i}].public_key_pem"), e)
            })?;
        }
        match (&self.client_secret, self.token_endpoint_auth_method) {
            (Some(_), AuthMethod::None) => {
                return Err(invalid(
                    format!("{field}.client_secret"),
                    "a client with token_endpoint_auth_method = \"none\" is public and has no secret",
                ));
            }
            (None, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
                if self.client_secret_keys.is_empty() =>
            {
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
        if self.project.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                format!("{field}.project"),
                "must not be empty (leave it out for a client of no project)",
            ));
        }
        Ok(())
    }
}

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form (Entra's tenant and object ids).
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
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
    // Entra persona
    /// Entra persona: the directory tenant (a GUID) the user belongs to; the provider's default tenant
    /// (`5e1f0c2a-7d3b-4c8e-9a61-2f4b8d0e3c71`) when absent. Personal Microsoft accounts belong to
    /// `9188040d-6c67-4c5b-b112-36a304b66dad`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Entra persona: the object id (a GUID), stable within the tenant; derived from `sub` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    // apple persona
    /// Apple persona: the user chose "Hide My Email": Apple hands out a private relay address at
    /// `privaterelay.appleid.com` (one per developer team) instead of `email`, with `is_private_email`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub apple_hide_email: bool,
    // google persona
    /// Google persona: the Google Workspace domain of the account (`hd` in its id_tokens and userinfo);
    /// absent for a consumer account, whatever its email's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hd: Option<String>,
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
        for (name, value) in [("tid", &self.tid), ("oid", &self.oid)] {
            if let Some(v) = value
                && !is_guid(v)
            {
                return Err(invalid(
                    format!("{field}.{name}"),
                    "must be a GUID (8-4-4-4-12 hexadecimal digits)",
                ));
            }
        }
        if self
            .hd
            .as_deref()
            .is_some_and(|hd| hd.is_empty() || hd.contains(char::is_whitespace))
        {
            return Err(invalid(
                format!("{field}.hd"),
                "must be a domain name (no spaces), or absent for a consumer account",
            ));
        }
        Ok(())
    }
}
