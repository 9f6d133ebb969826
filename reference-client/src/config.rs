//! Typed configuration: built-in defaults, then a TOML file, then `RC_*` environment variables.
//!
//! Every key of the TOML file can be overridden by an environment variable named `RC_` + the key in upper
//! case (`RC_ISSUER`, `RC_CLIENT_SECRET`, `RC_UNKNOWN_USER_POLICY`, …). Values are parsed into domain types
//! here, once; an invalid value stops start-up with an error that names the field.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The development-only signing key used when none is configured. It is public (it is in this file), so a
/// server started with it logs a warning; set `jwt_key` / `RC_JWT_KEY` for anything but local development.
pub const DEV_ONLY_JWT_KEY: &str = "DEVELOPMENT-ONLY-reference-client-jwt-key-do-not-deploy";

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "RC_";

/// The minimum length of the HS256 app-JWT key: 256 bits (RFC 7518 §3.2).
pub const MIN_JWT_KEY_BYTES: usize = 32;

/// A configuration value that was missing or invalid; `field` is the TOML key (or its `RC_` variable).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A field had a value that could not be used.
    #[error("configuration field `{field}`: {reason}")]
    Invalid {
        /// The TOML key.
        field: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// The file could not be read or parsed.
    #[error("configuration file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// The read or parse error.
        reason: String,
    },
}

/// A secret string whose `Debug` output does not reveal it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// What happens when a valid login's (issuer, subject) is not in the user database (CONFORMANCE UM-UNKNOWN-USER).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownUserPolicy {
    /// No JWT; a generic `unknown_user` error. The default.
    Reject,
    /// Create one ordinary user bound to (issuer, subject), exactly once.
    AutoCreate,
    /// No JWT yet; a short-lived single-use binding ticket that `POST /api/auth/bind` turns into a user.
    RequireBinding,
}

impl UnknownUserPolicy {
    /// Parses `reject`, `auto-create` or `require-binding`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "reject" => Some(Self::Reject),
            "auto-create" => Some(Self::AutoCreate),
            "require-binding" => Some(Self::RequireBinding),
            _ => None,
        }
    }
}

/// How a logged-in browser proves who it is to the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionMode {
    /// The callback returns an app JWT in its JSON body; the frontend sends it as a Bearer token. The default.
    Jwt,
    /// The callback sets an HttpOnly server-side session cookie instead; no JWT leaves the backend.
    Cookie,
}

/// How the provider sends the authorization response to the redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// A redirect with `code`, `state` and `iss` in the query. The default.
    #[default]
    Query,
    /// `response_mode=form_post`: the provider's page POSTs them to the redirect URI (OAuth 2.0 Form Post
    /// Response Mode). The callback page is then served for `POST /callback` as well, with the posted
    /// response in the page; its script hands it to the API same-origin, so the `SameSite=Lax` transaction
    /// cookie goes with it (CONFORMANCE ST-FORM-POST).
    FormPost,
}

/// How the provider signs this client's id_tokens: its registered `id_token_signed_response_alg`
/// (Dynamic Client Registration 1.0 §2). Pinned: an id_token with any other `alg` is refused (RFC 8725
/// §3.1; CONFORMANCE ID-SIG, ID-SIG-ES256, ID-SIG-HS256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 SHA-256 by a key of the provider's JWKS.
    RS256,
    /// ECDSA P-256 SHA-256 by a key of the provider's JWKS.
    ES256,
    /// HMAC SHA-256 keyed with the UTF-8 octets of our client secret (OIDC Core §10.1).
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

/// The shortest client secret that may key HS256 id_tokens: 256 bits (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// The validated settings the application runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The provider's issuer identifier; discovery is fetched from `{issuer}/.well-known/openid-configuration`
    /// and its `issuer` must equal this string exactly.
    pub issuer: String,
    /// Our client_id at the provider; also the only audience accepted in id_tokens.
    pub client_id: String,
    /// Our client secret, sent with client_secret_basic.
    pub client_secret: Secret,
    /// The frontend callback page registered at the provider (sent identically at the token endpoint).
    pub redirect_uri: url::Url,
    /// Scopes requested; `openid` is always included.
    pub scopes: Vec<String>,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub database: PathBuf,
    /// HS256 key of the app JWT, at least 32 bytes.
    pub jwt_key: Secret,
    /// The `iss` of the app JWTs this backend issues.
    pub jwt_issuer: String,
    /// The `aud` of the app JWTs this backend issues and accepts.
    pub jwt_audience: String,
    /// Lifetime of an app JWT (and of a cookie-mode session).
    pub jwt_ttl: Duration,
    /// What to do with a valid login of an unknown (issuer, subject).
    pub unknown_user_policy: UnknownUserPolicy,
    /// JWT bearer token or server-side session cookie.
    pub session_mode: SessionMode,
    /// How the OpenID provider sends the authorization response (`query` or `form_post`).
    pub response_mode: ResponseMode,
    /// What the client registered as `userinfo_signed_response_alg` at the provider (OIDC Core §5.3.2):
    /// userinfo must then be a JWT of this algorithm (`RS256` or `ES256`), verified against the JWKS,
    /// with our `iss` and `aud`, before any claim is used. `None`: plain JSON userinfo.
    pub userinfo_signed_response_alg: Option<jsonwebtoken::Algorithm>,
    /// The `id_token_signed_response_alg` this client registered, pinned; when absent, RS256 or ES256 as
    /// discovery advertises them (never HS256, never `none`).
    pub id_token_alg: Option<IdTokenAlg>,
    /// Allowed clock difference with the provider when checking id_token `exp` and `iat`.
    pub clock_skew: Duration,
    /// Timeout of every request to the provider (discovery, JWKS, token endpoint).
    pub http_timeout: Duration,
    /// How long a login transaction (state, nonce, PKCE verifier) stays usable.
    pub transaction_ttl: Duration,
    /// How long a binding ticket stays usable.
    pub binding_ticket_ttl: Duration,
    /// Whether cookies get the `Secure` attribute; true when `redirect_uri` is https.
    pub cookie_secure: bool,
    /// Seed `alice` (admin) and `bob` (user) for the configured issuer when the user table is empty.
    pub seed_demo_users: bool,
    /// Serve the test hooks under `/test/` (seed users, count them, move the clock, sign an app token) for
    /// a conformance run against this process. Never in production: refused unless `listen` is loopback.
    pub test_hooks: bool,
    /// True when `jwt_key` is the public development key.
    pub uses_dev_jwt_key: bool,
    /// Upper bounds of the in-memory stores (set from Rust; the defaults suit one instance).
    pub limits: crate::store::StoreLimits,
    /// The `[[providers]]` offered on the login page, in order. Empty: one OpenID provider named
    /// [`DEFAULT_PROVIDER_NAME`] from `issuer`, `client_id`, `client_secret` and `scopes` (see
    /// [`Settings::effective_providers`]).
    pub providers: Vec<ProviderSettings>,
    /// PEM certificates to trust for the provider, besides the system roots (e.g. the certificate
    /// `mock-idp --tls` writes).
    pub ca_file: Option<PathBuf>,
    /// Where the provider sends the browser after logout; must be registered there exactly
    /// (RP-Initiated Logout 1.0 §3). `None`: the app's start page (see [`Settings::post_logout_redirect_uri`]).
    pub post_logout_redirect_uri: Option<url::Url>,
    /// How old a back-channel logout token's `iat` may be; its `jti` is remembered this long
    /// (Back-Channel Logout 1.0 §2.6, steps 6 and 9).
    pub logout_token_max_age: Duration,
}

/// The name of the one provider of a configuration without `[[providers]]`.
pub const DEFAULT_PROVIDER_NAME: &str = "mock-idp";

/// One `[[providers]]` entry: a name shown as "Log in with NAME", a kind and that kind's settings.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// Unique; shown on the login page and in the identities list.
    pub name: String,
    /// The protocol and its settings.
    pub kind: ProviderKind,
    /// This provider's unknown-user policy; the global `unknown_user_policy` when absent.
    pub unknown_user_policy: Option<UnknownUserPolicy>,
}

/// A provider's protocol and settings.
#[derive(Clone, Debug)]
pub enum ProviderKind {
    /// OpenID Connect: discovery at `{issuer}/.well-known/openid-configuration`, id_token checks.
    Oidc {
        /// The issuer identifier, compared exactly.
        issuer: String,
        /// Our client id.
        client_id: String,
        /// Our client secret (client_secret_basic).
        client_secret: Secret,
        /// Scopes; `openid` is always included.
        scopes: Vec<String>,
        /// What we registered as `userinfo_signed_response_alg` there (see
        /// [`Settings::userinfo_signed_response_alg`]); absent: plain JSON userinfo.
        userinfo_signed_response_alg: Option<jsonwebtoken::Algorithm>,
        /// The `id_token_signed_response_alg` our client is registered with there, pinned; `None`: RS256 or
        /// ES256 as its discovery advertises them.
        id_token_alg: Option<IdTokenAlg>,
    },
    /// The WeChat Open Platform website login.
    Wechat {
        /// Our `appid`.
        appid: String,
        /// Our app secret.
        secret: Secret,
        /// Where `/connect/qrconnect` is (`https://open.weixin.qq.com`).
        authorize_base: url::Url,
        /// Where `/sns/...` is (`https://api.weixin.qq.com`).
        api_base: url::Url,
    },
    /// A GitHub OAuth app.
    Github {
        /// Our client id.
        client_id: String,
        /// Our client secret.
        client_secret: Secret,
        /// Where `/login/oauth/...` is (`https://github.com`).
        authorize_base: url::Url,
        /// Where `/user` is (`https://api.github.com`).
        api_base: url::Url,
        /// Scopes (`read:user` by default).
        scopes: Vec<String>,
    },
    // Entra kind
    /// Microsoft Entra ID (v2.0 endpoints): OpenID Connect whose issuer is checked against the token's
    /// tenant (CONFORMANCE ENTRA-ISSUER, ENTRA-TENANT, ENTRA-V1-ISSUER, ENTRA-IDENTITY-KEY).
    Entra {
        /// Where the tenant paths are (`https://login.microsoftonline.com`).
        base: url::Url,
        /// The path tenant the app signs in at: `common`, `organizations`, `consumers` or a tenant GUID.
        tenant: String,
        /// Our application (client) id.
        client_id: String,
        /// Our client secret (client_secret_basic).
        client_secret: Secret,
        /// Scopes; `openid` is always included.
        scopes: Vec<String>,
        /// The tenants (GUIDs, lower case) whose users may log in; `None`: every tenant
        /// (`multi_tenant = true`).
        allowed_tenants: Option<Vec<String>>,
    },
    // apple provider kind
    /// Sign in with Apple (a Services ID for the web).
    Apple {
        /// Our client id: the Services ID.
        client_id: String,
        /// The developer team id: the `iss` of our client secrets.
        team_id: String,
        /// The id of the key that signs our client secrets (their header's `kid`).
        key_id: String,
        /// That ES256 key: a PKCS#8 P-256 private key as PEM (Apple's `.p8` file), read from the
        /// `private_key` path.
        private_key: Secret,
        /// Apple's base URL and issuer (`https://appleid.apple.com`), where `/auth/authorize`,
        /// `/auth/token` and `/auth/keys` are.
        base_url: url::Url,
        /// Scopes (`name email` by default).
        scopes: Vec<String>,
    },
    // google persona
    /// Google: OpenID Connect at `base_url` (`https://accounts.google.com`), with Google's rules: its
    /// id_tokens may name the issuer without `https://` (accepted for this kind only), `hd` must be the
    /// configured Workspace domain (from the id_token claim, never the request's hint or the email),
    /// `azp` may be another client of the same project that we list, and a refresh token comes only on
    /// the first consent (kept until another comes).
    Google {
        /// The issuer, the base of Google's endpoints (`https://accounts.google.com`).
        issuer: String,
        /// Our (web) client id: the only accepted `aud`.
        client_id: String,
        /// Our client secret (client_secret_basic).
        client_secret: Secret,
        /// Scopes (`openid email profile` by default; `openid` always included).
        scopes: Vec<String>,
        /// The Workspace domain the app admits only; `None`: any Google account.
        hosted_domain: Option<String>,
        /// Other client ids of the same Google project accepted as `azp` (a mobile app's).
        authorized_parties: Vec<String>,
        /// `access_type=offline`: keep Google's refresh token.
        offline: bool,
    },
}

impl ProviderKind {
    /// `oidc`, `wechat`, `github`, `entra`, `apple` or `google`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::Oidc { .. } => "oidc",
            ProviderKind::Wechat { .. } => "wechat",
            ProviderKind::Github { .. } => "github",
            ProviderKind::Entra { .. } => "entra",
            ProviderKind::Apple { .. } => "apple",
            ProviderKind::Google { .. } => "google",
        }
    }
}

/// A raw `[[providers]]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: Option<String>,
    kind: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    scopes: Option<String>,
    /// Sets both `authorize_url` and `api_url` (a mock-idp persona serves both).
    base_url: Option<String>,
    authorize_url: Option<String>,
    api_url: Option<String>,
    unknown_user_policy: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    id_token_signed_response_alg: Option<String>,
    // Entra kind
    /// The path tenant (`common`, `organizations`, `consumers` or a GUID).
    tenant: Option<String>,
    /// Tenant GUIDs, as a list or one string separated by spaces or commas.
    allowed_tenants: Option<StringList>,
    /// Every tenant may log in (ENTRA-TENANT's "multi-tenant by explicit policy").
    multi_tenant: Option<bool>,
    // apple provider kind
    team_id: Option<String>,
    key_id: Option<String>,
    /// A path: the PEM file of the ES256 key that signs the client secrets.
    private_key: Option<String>,
    // google persona
    /// Google: the only Workspace domain admitted (the id_token's `hd`).
    hosted_domain: Option<String>,
    /// Google: space-separated client ids of the same project accepted as `azp`.
    authorized_parties: Option<String>,
    /// Google: `online` (the default) or `offline` (keep refresh tokens).
    access_type: Option<String>,
}

/// A list of strings written as a TOML array or as one string separated by spaces or commas.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringList {
    /// `["a", "b"]`.
    List(Vec<String>),
    /// `"a b"` or `"a,b"`.
    Text(String),
}

impl StringList {
    fn items(&self) -> Vec<String> {
        match self {
            StringList::List(l) => l.iter().map(|s| s.trim().to_owned()).collect::<Vec<_>>(),
            StringList::Text(t) => t.split([' ', ',']).map(str::to_owned).collect(),
        }
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// `userinfo_signed_response_alg`: `RS256` or `ES256` (what the id_token checks verify too); empty means
/// none (so a launcher may pass an empty placeholder).
fn userinfo_alg(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<jsonwebtoken::Algorithm>, ConfigError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some("RS256") => Ok(Some(jsonwebtoken::Algorithm::RS256)),
        Some("ES256") => Ok(Some(jsonwebtoken::Algorithm::ES256)),
        Some(v) => Err(invalid(field, format!("`{v}` is not RS256 or ES256"))),
    }
}

fn provider_from_raw(raw: RawProvider) -> Result<ProviderSettings, ConfigError> {
    const F: &str = "providers";
    let name = non_empty(F, raw.name.unwrap_or_default())
        .map_err(|_| invalid(F, "every provider needs a `name`"))?;
    let need = |field: &str, v: Option<String>| {
        v.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            invalid(
                F,
                format!("provider {name:?}: `{field}` is missing or empty"),
            )
        })
    };
    let base = |field: &str, own: Option<String>, default: &str| {
        let text = own
            .or_else(|| raw.base_url.clone())
            .unwrap_or_else(|| default.to_owned());
        url::Url::parse(&text).map_err(|e| invalid(F, format!("provider {name:?}: `{field}`: {e}")))
    };
    let scopes = |default: &str| -> Vec<String> {
        raw.scopes
            .clone()
            .unwrap_or_else(|| default.to_owned())
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let kind = match raw.kind.as_deref().unwrap_or("oidc") {
        "oidc" => {
            let mut scopes = scopes("openid profile");
            if !scopes.iter().any(|s| s == "openid") {
                scopes.insert(0, "openid".into());
            }
            let client_secret = need("client_secret", raw.client_secret.clone())?;
            let id_token_alg = id_token_alg(
                F,
                raw.id_token_signed_response_alg.as_deref(),
                &client_secret,
            )?;
            ProviderKind::Oidc {
                issuer: need("issuer", raw.issuer.clone())?,
                client_id: need("client_id", raw.client_id.clone())?,
                client_secret: Secret::new(client_secret),
                scopes,
                userinfo_signed_response_alg: userinfo_alg(
                    "providers",
                    raw.userinfo_signed_response_alg.as_deref(),
                )?,
                id_token_alg,
            }
        }
        "wechat" => ProviderKind::Wechat {
            appid: need("appid", raw.appid.clone())?,
            secret: Secret::new(need("secret", raw.secret.clone())?),
            authorize_base: base(
                "authorize_url",
                raw.authorize_url.clone(),
                "https://open.weixin.qq.com",
            )?,
            api_base: base("api_url", raw.api_url.clone(), "https://api.weixin.qq.com")?,
        },
        "github" => ProviderKind::Github {
            client_id: need("client_id", raw.client_id.clone())?,
            client_secret: Secret::new(need("client_secret", raw.client_secret.clone())?),
            authorize_base: base(
                "authorize_url",
                raw.authorize_url.clone(),
                "https://github.com",
            )?,
            api_base: base("api_url", raw.api_url.clone(), "https://api.github.com")?,
            scopes: scopes("read:user"),
        },
        "entra" => {
            let mut scopes = scopes("openid profile email");
            if !scopes.iter().any(|s| s == "openid") {
                scopes.insert(0, "openid".into());
            }
            let tenant = need("tenant", raw.tenant.clone())?.to_ascii_lowercase();
            let multi_path = ["common", "organizations", "consumers"].contains(&tenant.as_str());
            if !multi_path && !crate::oidc::is_guid(&tenant) {
                return Err(invalid(
                    F,
                    format!(
                        "provider {name:?}: `tenant` must be common, organizations, consumers or a tenant GUID"
                    ),
                ));
            }
            let listed: Vec<String> = raw
                .allowed_tenants
                .as_ref()
                .map(StringList::items)
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.to_ascii_lowercase())
                .collect();
            if let Some(bad) = listed.iter().find(|t| !crate::oidc::is_guid(t)) {
                return Err(invalid(
                    F,
                    format!("provider {name:?}: `allowed_tenants`: {bad:?} is not a tenant GUID"),
                ));
            }
            let multi = raw.multi_tenant.unwrap_or(false);
            let allowed_tenants = match (multi, listed.is_empty(), multi_path) {
                (true, true, true) => None,
                (true, _, false) => {
                    return Err(invalid(
                        F,
                        format!(
                            "provider {name:?}: `multi_tenant` needs a multi-tenant `tenant` (common, organizations or consumers)"
                        ),
                    ));
                }
                (true, false, true) => {
                    return Err(invalid(
                        F,
                        format!(
                            "provider {name:?}: `multi_tenant = true` and `allowed_tenants` exclude each other"
                        ),
                    ));
                }
                // A tenant GUID path admits its own tenant unless told otherwise.
                (false, true, false) => Some(vec![tenant.clone()]),
                (false, true, true) => {
                    return Err(invalid(
                        F,
                        format!(
                            "provider {name:?}: `allowed_tenants` is required at a multi-tenant `tenant` unless `multi_tenant = true`"
                        ),
                    ));
                }
                (false, false, _) => Some(listed),
            };
            ProviderKind::Entra {
                base: base("base_url", None, "https://login.microsoftonline.com")?,
                tenant,
                client_id: need("client_id", raw.client_id.clone())?,
                client_secret: Secret::new(need("client_secret", raw.client_secret.clone())?),
                scopes,
                allowed_tenants,
            }
        }
        "apple" => {
            let path = need("private_key", raw.private_key.clone())?;
            let pem = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    F,
                    format!("provider {name:?}: `private_key`: cannot read {path}: {e}"),
                )
            })?;
            if jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).is_err() {
                return Err(invalid(
                    F,
                    format!(
                        "provider {name:?}: `private_key`: {path} is not a PKCS#8 P-256 private key (PEM)"
                    ),
                ));
            }
            ProviderKind::Apple {
                client_id: need("client_id", raw.client_id.clone())?,
                team_id: need("team_id", raw.team_id.clone())?,
                key_id: need("key_id", raw.key_id.clone())?,
                private_key: Secret::new(pem),
                base_url: base("base_url", None, "https://appleid.apple.com")?,
                scopes: scopes("name email"),
            }
        }
        "google" => {
            let mut scopes = scopes("openid email profile");
            if !scopes.iter().any(|s| s == "openid") {
                scopes.insert(0, "openid".into());
            }
            let issuer = base("base_url", None, "https://accounts.google.com")?;
            let offline = match raw.access_type.as_deref() {
                None | Some("online") => false,
                Some("offline") => true,
                Some(other) => {
                    return Err(invalid(
                        F,
                        format!(
                            "provider {name:?}: `access_type` {other:?} is not online or offline"
                        ),
                    ));
                }
            };
            ProviderKind::Google {
                issuer: issuer.as_str().trim_end_matches('/').to_owned(),
                client_id: need("client_id", raw.client_id.clone())?,
                client_secret: Secret::new(need("client_secret", raw.client_secret.clone())?),
                scopes,
                hosted_domain: raw
                    .hosted_domain
                    .clone()
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty()),
                authorized_parties: raw
                    .authorized_parties
                    .clone()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                offline,
            }
        }
        other => {
            return Err(invalid(
                F,
                format!(
                    "provider {name:?}: kind `{other}` is not one of oidc, wechat, github, entra, apple, google"
                ),
            ));
        }
    };
    let unknown_user_policy = match raw.unknown_user_policy {
        None => None,
        Some(v) => Some(UnknownUserPolicy::parse(&v).ok_or_else(|| {
            invalid(
                F,
                format!("provider {name:?}: unknown_user_policy `{v}` is not one of reject, auto-create, require-binding"),
            )
        })?),
    };
    Ok(ProviderSettings {
        name,
        kind,
        unknown_user_policy,
    })
}

/// The raw, all-optional shape of the TOML file. Unknown keys are refused so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    scopes: Option<String>,
    listen: Option<String>,
    database: Option<String>,
    jwt_key: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_ttl_secs: Option<u64>,
    unknown_user_policy: Option<String>,
    session_mode: Option<String>,
    response_mode: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    id_token_signed_response_alg: Option<String>,
    clock_skew_secs: Option<u64>,
    http_timeout_ms: Option<u64>,
    transaction_ttl_secs: Option<u64>,
    binding_ticket_ttl_secs: Option<u64>,
    seed_demo_users: Option<bool>,
    test_hooks: Option<bool>,
    #[serde(default)]
    providers: Vec<RawProvider>,
    ca_file: Option<String>,
    post_logout_redirect_uri: Option<String>,
    logout_token_max_age_secs: Option<u64>,
}

/// The keys whose environment value is a number or boolean rather than a string.
const NON_STRING_KEYS: &[&str] = &[
    "jwt_ttl_secs",
    "clock_skew_secs",
    "http_timeout_ms",
    "transaction_ttl_secs",
    "binding_ticket_ttl_secs",
    "seed_demo_users",
    "test_hooks",
    "logout_token_max_age_secs",
];

/// Every key the file may contain, for the environment overlay.
const KEYS: &[&str] = &[
    "issuer",
    "client_id",
    "client_secret",
    "redirect_uri",
    "scopes",
    "listen",
    "database",
    "jwt_key",
    "jwt_issuer",
    "jwt_audience",
    "jwt_ttl_secs",
    "unknown_user_policy",
    "session_mode",
    "response_mode",
    "userinfo_signed_response_alg",
    "id_token_signed_response_alg",
    "clock_skew_secs",
    "http_timeout_ms",
    "transaction_ttl_secs",
    "binding_ticket_ttl_secs",
    "seed_demo_users",
    "test_hooks",
    "ca_file",
    "post_logout_redirect_uri",
    "logout_token_max_age_secs",
];

impl Settings {
    /// Where the provider sends the browser after logout: the configured URI, or `/` on the redirect
    /// URI's origin (the app's start page).
    pub fn post_logout_redirect_uri(&self) -> url::Url {
        self.post_logout_redirect_uri.clone().unwrap_or_else(|| {
            let mut start = self.redirect_uri.clone();
            start.set_path("/");
            start.set_query(None);
            start.set_fragment(None);
            start
        })
    }

    /// The built-in defaults, which match `mock-idp`'s: issuer `http://127.0.0.1:9000`, client `web` /
    /// `web-secret`, callback `http://127.0.0.1:3000/callback`, listen `127.0.0.1:3000`.
    pub fn builtin() -> Self {
        Self::from_raw(RawSettings::default()).expect("the built-in defaults are valid")
    }

    /// Reads the optional TOML file, then overlays the process's `RC_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment, for tests.
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        let env: BTreeMap<String, String> = env.into_iter().collect();
        for key in KEYS {
            let Some(value) = env.get(&format!("{ENV_PREFIX}{}", key.to_uppercase())) else {
                continue;
            };
            let value = if NON_STRING_KEYS.contains(key) {
                parse_scalar(value).ok_or_else(|| ConfigError::Invalid {
                    field: key,
                    reason: format!("`{value}` is not a number or boolean"),
                })?
            } else {
                toml::Value::String(value.clone())
            };
            table.insert((*key).to_owned(), value);
        }
        let raw: RawSettings =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::File {
                    path: file.map(Path::to_owned).unwrap_or_default(),
                    reason: e.to_string(),
                })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let issuer = non_empty(
            "issuer",
            raw.issuer.unwrap_or_else(|| "http://127.0.0.1:9000".into()),
        )?;
        let issuer_url = url::Url::parse(&issuer).map_err(|e| invalid("issuer", e))?;
        if !matches!(issuer_url.scheme(), "http" | "https")
            || issuer_url.query().is_some()
            || issuer_url.fragment().is_some()
        {
            return Err(invalid(
                "issuer",
                "must be an http(s) URL without query or fragment",
            ));
        }
        let client_id = non_empty("client_id", raw.client_id.unwrap_or_else(|| "web".into()))?;
        let client_secret = non_empty(
            "client_secret",
            raw.client_secret.unwrap_or_else(|| "web-secret".into()),
        )?;
        let redirect_uri = url::Url::parse(&non_empty(
            "redirect_uri",
            raw.redirect_uri
                .unwrap_or_else(|| "http://127.0.0.1:3000/callback".into()),
        )?)
        .map_err(|e| invalid("redirect_uri", e))?;
        let mut scopes: Vec<String> = raw
            .scopes
            .unwrap_or_else(|| "openid profile".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let listen: SocketAddr = raw
            .listen
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|e| invalid("listen", e))?;
        let database = PathBuf::from(non_empty(
            "database",
            raw.database.unwrap_or_else(|| "reference-client.db".into()),
        )?);
        let jwt_key = raw.jwt_key.unwrap_or_else(|| DEV_ONLY_JWT_KEY.into());
        if jwt_key.len() < MIN_JWT_KEY_BYTES {
            return Err(invalid(
                "jwt_key",
                format!("must be at least {MIN_JWT_KEY_BYTES} bytes (256 bits) for HS256"),
            ));
        }
        let unknown_user_policy = match raw.unknown_user_policy {
            None => UnknownUserPolicy::Reject,
            Some(v) => UnknownUserPolicy::parse(&v).ok_or_else(|| {
                invalid(
                    "unknown_user_policy",
                    format!("`{v}` is not one of reject, auto-create, require-binding"),
                )
            })?,
        };
        let session_mode = match raw.session_mode.as_deref() {
            None | Some("jwt") => SessionMode::Jwt,
            Some("cookie") => SessionMode::Cookie,
            Some(v) => {
                return Err(invalid(
                    "session_mode",
                    format!("`{v}` is not jwt or cookie"),
                ));
            }
        };
        let response_mode = match raw.response_mode.as_deref() {
            None | Some("query") => ResponseMode::Query,
            Some("form_post") => ResponseMode::FormPost,
            Some(v) => {
                return Err(invalid(
                    "response_mode",
                    format!("`{v}` is not query or form_post"),
                ));
            }
        };
        let id_token_alg = id_token_alg(
            "id_token_signed_response_alg",
            raw.id_token_signed_response_alg.as_deref(),
            &client_secret,
        )?;
        let jwt_ttl = positive("jwt_ttl_secs", raw.jwt_ttl_secs.unwrap_or(900))?;
        let http_timeout_ms = raw.http_timeout_ms.unwrap_or(5000);
        if http_timeout_ms == 0 {
            return Err(invalid("http_timeout_ms", "must be positive"));
        }
        let seed_demo_users = raw.seed_demo_users.unwrap_or_else(|| {
            // Only for a provider on this machine: seeding `alice`'s sub as admin at a real provider would
            // make a stranger an administrator.
            matches!(
                issuer_url.host_str(),
                Some("127.0.0.1" | "localhost" | "[::1]")
            )
        });
        let test_hooks = raw.test_hooks.unwrap_or(false);
        if test_hooks && !listen.ip().is_loopback() {
            // The hooks create users and sign sessions for anyone who can reach them.
            return Err(invalid(
                "test_hooks",
                "only for a conformance run on this machine: listen must be a loopback address",
            ));
        }
        let post_logout_redirect_uri = match raw.post_logout_redirect_uri {
            Some(v) => {
                Some(url::Url::parse(&v).map_err(|e| invalid("post_logout_redirect_uri", e))?)
            }
            None => None,
        };
        let ca_file = raw.ca_file.map(PathBuf::from);
        if let Some(path) = &ca_file
            && !path.is_file()
        {
            return Err(invalid(
                "ca_file",
                format!("{} is not a readable file", path.display()),
            ));
        }
        Ok(Self {
            ca_file,
            post_logout_redirect_uri,
            logout_token_max_age: positive(
                "logout_token_max_age_secs",
                raw.logout_token_max_age_secs.unwrap_or(300),
            )?,
            cookie_secure: redirect_uri.scheme() == "https",
            uses_dev_jwt_key: jwt_key == DEV_ONLY_JWT_KEY,
            issuer,
            client_id,
            client_secret: Secret::new(client_secret),
            redirect_uri,
            scopes,
            listen,
            database,
            jwt_key: Secret::new(jwt_key),
            jwt_issuer: non_empty(
                "jwt_issuer",
                raw.jwt_issuer.unwrap_or_else(|| "reference-client".into()),
            )?,
            jwt_audience: non_empty(
                "jwt_audience",
                raw.jwt_audience
                    .unwrap_or_else(|| "reference-client".into()),
            )?,
            jwt_ttl,
            unknown_user_policy,
            session_mode,
            response_mode,
            userinfo_signed_response_alg: userinfo_alg(
                "userinfo_signed_response_alg",
                raw.userinfo_signed_response_alg.as_deref(),
            )?,
            id_token_alg,
            clock_skew: Duration::from_secs(raw.clock_skew_secs.unwrap_or(120)),
            http_timeout: Duration::from_millis(http_timeout_ms),
            transaction_ttl: positive(
                "transaction_ttl_secs",
                raw.transaction_ttl_secs.unwrap_or(600),
            )?,
            binding_ticket_ttl: positive(
                "binding_ticket_ttl_secs",
                raw.binding_ticket_ttl_secs.unwrap_or(300),
            )?,
            seed_demo_users,
            test_hooks,
            limits: crate::store::StoreLimits::default(),
            providers: {
                let list = raw
                    .providers
                    .into_iter()
                    .map(provider_from_raw)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut names = std::collections::HashSet::new();
                if let Some(dup) = list.iter().find(|p| !names.insert(p.name.clone())) {
                    return Err(invalid(
                        "providers",
                        format!("two providers are named {:?}", dup.name),
                    ));
                }
                list
            },
        })
    }

    /// The providers offered, in order: `[[providers]]`, or the one OpenID provider of `issuer`,
    /// `client_id`, `client_secret` and `scopes`, named [`DEFAULT_PROVIDER_NAME`].
    pub fn effective_providers(&self) -> Vec<ProviderSettings> {
        if !self.providers.is_empty() {
            return self.providers.clone();
        }
        vec![ProviderSettings {
            name: DEFAULT_PROVIDER_NAME.to_owned(),
            kind: ProviderKind::Oidc {
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                scopes: self.scopes.clone(),
                userinfo_signed_response_alg: self.userinfo_signed_response_alg,
                id_token_alg: self.id_token_alg,
            },
            unknown_user_policy: None,
        }]
    }
}

/// A client's `id_token_signed_response_alg` (`field` names it in an error); HS256 needs a secret of at
/// least [`MIN_HS256_SECRET_BYTES`] (RFC 7518 §3.2), as the provider's registration does.
fn id_token_alg(
    field: &'static str,
    value: Option<&str>,
    client_secret: &str,
) -> Result<Option<IdTokenAlg>, ConfigError> {
    let alg = match value {
        None | Some("") => return Ok(None),
        Some("RS256") => IdTokenAlg::RS256,
        Some("ES256") => IdTokenAlg::ES256,
        Some("HS256") => IdTokenAlg::HS256,
        Some(v) => {
            return Err(invalid(
                field,
                format!("id_token_signed_response_alg `{v}` is not RS256, ES256 or HS256"),
            ));
        }
    };
    if alg == IdTokenAlg::HS256 && client_secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(invalid(
            if field == "id_token_signed_response_alg" {
                "client_secret"
            } else {
                field
            },
            format!(
                "client_secret must be at least {MIN_HS256_SECRET_BYTES} bytes (256 bits) to key \
                 HS256 id_tokens"
            ),
        ));
    }
    Ok(Some(alg))
}

fn parse_scalar(value: &str) -> Option<toml::Value> {
    if let Ok(n) = value.parse::<i64>() {
        return Some(toml::Value::Integer(n));
    }
    value.parse::<bool>().ok().map(toml::Value::Boolean)
}

fn invalid(field: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

fn non_empty(field: &'static str, value: String) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        Err(invalid(field, "is missing or empty"))
    } else {
        Ok(value)
    }
}

fn positive(field: &'static str, secs: u64) -> Result<Duration, ConfigError> {
    if secs == 0 {
        Err(invalid(field, "must be positive"))
    } else {
        Ok(Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn builtin_defaults_match_mock_idp() {
        let s = Settings::builtin();
        assert_eq!(s.issuer, "http://127.0.0.1:9000");
        assert_eq!(s.client_id, "web");
        assert_eq!(s.client_secret.expose(), "web-secret");
        assert_eq!(s.redirect_uri.as_str(), "http://127.0.0.1:3000/callback");
        assert_eq!(s.unknown_user_policy, UnknownUserPolicy::Reject);
        assert!(s.seed_demo_users);
        assert!(s.uses_dev_jwt_key);
    }

    #[test]
    fn environment_overrides_the_file_defaults() {
        let s = Settings::load_from(
            None,
            env(&[
                ("RC_ISSUER", "https://login.example.com"),
                ("RC_UNKNOWN_USER_POLICY", "auto-create"),
                ("RC_JWT_TTL_SECS", "60"),
            ]),
        )
        .expect("valid settings");
        assert_eq!(s.issuer, "https://login.example.com");
        assert_eq!(s.unknown_user_policy, UnknownUserPolicy::AutoCreate);
        assert_eq!(s.jwt_ttl, Duration::from_secs(60));
        assert!(
            !s.seed_demo_users,
            "never seed demo admins for a remote issuer"
        );
    }

    // JWT-KEY
    #[test]
    fn a_short_jwt_key_refuses_to_start_naming_the_field() {
        let err = Settings::load_from(None, env(&[("RC_JWT_KEY", "too-short")]))
            .expect_err("short key must be refused");
        assert!(err.to_string().contains("`jwt_key`"), "{err}");
    }

    #[test]
    fn an_empty_issuer_is_reported_by_name() {
        let err = Settings::load_from(None, env(&[("RC_ISSUER", "")])).expect_err("refused");
        assert!(err.to_string().contains("`issuer`"), "{err}");
    }

    #[test]
    fn id_token_alg_is_unpinned_unless_registered_and_hs256_needs_a_long_secret() {
        assert_eq!(Settings::builtin().id_token_alg, None);
        let s = Settings::load_from(None, env(&[("RC_ID_TOKEN_SIGNED_RESPONSE_ALG", "ES256")]))
            .expect("ok");
        assert_eq!(s.id_token_alg, Some(IdTokenAlg::ES256));
        let err = Settings::load_from(None, env(&[("RC_ID_TOKEN_SIGNED_RESPONSE_ALG", "HS256")]))
            .expect_err("web-secret is too short for HS256");
        assert!(err.to_string().contains("`client_secret`"), "{err}");
        let s = Settings::load_from(
            None,
            env(&[
                ("RC_ID_TOKEN_SIGNED_RESPONSE_ALG", "HS256"),
                ("RC_CLIENT_SECRET", "a-client-secret-of-32-bytes-long"),
            ]),
        )
        .expect("ok");
        assert_eq!(s.id_token_alg, Some(IdTokenAlg::HS256));
        let err = Settings::load_from(None, env(&[("RC_ID_TOKEN_SIGNED_RESPONSE_ALG", "none")]))
            .expect_err("none");
        assert!(
            err.to_string().contains("`id_token_signed_response_alg`"),
            "{err}"
        );
    }

    #[test]
    fn response_mode_is_query_unless_form_post_is_asked_for() {
        assert_eq!(Settings::builtin().response_mode, ResponseMode::Query);
        let s = Settings::load_from(None, env(&[("RC_RESPONSE_MODE", "form_post")])).expect("ok");
        assert_eq!(s.response_mode, ResponseMode::FormPost);
        let err = Settings::load_from(None, env(&[("RC_RESPONSE_MODE", "fragment")]))
            .expect_err("refused");
        assert!(err.to_string().contains("`response_mode`"), "{err}");
    }

    #[test]
    fn signed_userinfo_is_off_unless_an_algorithm_is_registered() {
        assert_eq!(Settings::builtin().userinfo_signed_response_alg, None);
        let on = Settings::load_from(None, env(&[("RC_USERINFO_SIGNED_RESPONSE_ALG", "RS256")]))
            .expect("ok");
        assert_eq!(
            on.userinfo_signed_response_alg,
            Some(jsonwebtoken::Algorithm::RS256)
        );
        let empty = Settings::load_from(None, env(&[("RC_USERINFO_SIGNED_RESPONSE_ALG", "")]))
            .expect("an empty placeholder means none");
        assert_eq!(empty.userinfo_signed_response_alg, None);
        let err = Settings::load_from(None, env(&[("RC_USERINFO_SIGNED_RESPONSE_ALG", "none")]))
            .expect_err("refused");
        assert!(
            err.to_string().contains("`userinfo_signed_response_alg`"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_policy_is_reported_by_name() {
        let err = Settings::load_from(None, env(&[("RC_UNKNOWN_USER_POLICY", "email")]))
            .expect_err("refused");
        assert!(err.to_string().contains("`unknown_user_policy`"), "{err}");
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference-client.example.toml");
        let s = Settings::load_from(Some(&path), env(&[])).expect("example parses");
        assert!(!s.uses_dev_jwt_key);
    }

    #[test]
    fn test_hooks_are_off_by_default_and_refused_off_loopback() {
        assert!(!Settings::builtin().test_hooks);
        let on = Settings::load_from(None, env(&[("RC_TEST_HOOKS", "true")])).expect("loopback");
        assert!(on.test_hooks);
        let err = Settings::load_from(
            None,
            env(&[("RC_TEST_HOOKS", "true"), ("RC_LISTEN", "0.0.0.0:3000")]),
        )
        .expect_err("refused");
        assert!(err.to_string().contains("test_hooks"), "{err}");
    }

    #[test]
    fn without_providers_the_one_provider_is_the_configured_oidc_issuer() {
        let s = Settings::builtin();
        let providers = s.effective_providers();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].name, DEFAULT_PROVIDER_NAME);
        assert!(
            matches!(&providers[0].kind, ProviderKind::Oidc { issuer, .. } if issuer == "http://127.0.0.1:9000")
        );
    }

    #[test]
    fn three_providers_parse_with_their_kinds_and_policies() {
        let dir = std::env::temp_dir().join(format!("rc-providers-{}.toml", std::process::id()));
        std::fs::write(
            &dir,
            r#"
[[providers]]
name = "mock-idp"
kind = "oidc"
issuer = "http://127.0.0.1:9000"
client_id = "web"
client_secret = "web-secret"

[[providers]]
name = "WeChat"
kind = "wechat"
appid = "web"
secret = "web-secret"
base_url = "http://127.0.0.1:9001"
unknown_user_policy = "require-binding"

[[providers]]
name = "GitHub"
kind = "github"
client_id = "web"
client_secret = "web-secret"
base_url = "http://127.0.0.1:9002"
"#,
        )
        .expect("write");
        let s = Settings::load_from(Some(&dir), env(&[])).expect("parses");
        let _ = std::fs::remove_file(&dir);
        let kinds: Vec<_> = s.providers.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, ["oidc", "wechat", "github"]);
        assert_eq!(
            s.providers[1].unknown_user_policy,
            Some(UnknownUserPolicy::RequireBinding)
        );
        assert!(
            matches!(&s.providers[2].kind, ProviderKind::Github { api_base, .. } if api_base.as_str() == "http://127.0.0.1:9002/")
        );
    }

    // apple provider kind: the key is read from its PEM file and checked at load.
    #[test]
    fn an_apple_provider_reads_its_private_key_file() {
        let id = std::process::id();
        let key = std::env::temp_dir().join(format!("rc-apple-key-{id}.p8"));
        std::fs::write(
            &key,
            include_str!("../../mock-idp/fixtures/keys/test-only-ec.pem"),
        )
        .expect("write");
        let file = std::env::temp_dir().join(format!("rc-apple-{id}.toml"));
        let toml = |private_key: &str| {
            format!(
                "[[providers]]\nname = \"Apple\"\nkind = \"apple\"\nclient_id = \"com.example.web\"\n\
                 team_id = \"TEAM\"\nkey_id = \"KID\"\nprivate_key = \"{private_key}\"\n\
                 base_url = \"http://127.0.0.1:9003/t/apple\"\n"
            )
        };
        std::fs::write(&file, toml(&key.display().to_string())).expect("write");
        let s = Settings::load_from(Some(&file), env(&[])).expect("parses");
        assert!(matches!(
            &s.providers[0].kind,
            ProviderKind::Apple { team_id, key_id, scopes, base_url, .. }
                if team_id == "TEAM" && key_id == "KID" && scopes == &["name", "email"]
                    && base_url.as_str() == "http://127.0.0.1:9003/t/apple"
        ));
        std::fs::write(&key, "not a key").expect("write");
        let err = Settings::load_from(Some(&file), env(&[]))
            .expect_err("not a key")
            .to_string();
        assert!(err.contains("private_key"), "{err}");
        std::fs::write(&file, toml("/nonexistent/key.p8")).expect("write");
        let err = Settings::load_from(Some(&file), env(&[]))
            .expect_err("no file")
            .to_string();
        assert!(err.contains("cannot read /nonexistent/key.p8"), "{err}");
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&key);
    }

    #[test]
    fn a_google_provider_parses_its_domain_parties_and_access_type() {
        let dir = std::env::temp_dir().join(format!("rc-google-{}.toml", std::process::id()));
        let google = |extra: &str| {
            format!(
                "[[providers]]\nname = \"Google\"\nkind = \"google\"\nclient_id = \"web\"\n\
                 client_secret = \"s\"\n{extra}"
            )
        };
        std::fs::write(
            &dir,
            google(
                "base_url = \"http://127.0.0.1:9003/\"\nhosted_domain = \"example.com\"\n\
                 authorized_parties = \"android ios\"\naccess_type = \"offline\"\n",
            ),
        )
        .expect("write");
        let s = Settings::load_from(Some(&dir), env(&[])).expect("parses");
        match &s.providers[0].kind {
            ProviderKind::Google {
                issuer,
                hosted_domain,
                authorized_parties,
                offline,
                scopes,
                ..
            } => {
                assert_eq!(issuer, "http://127.0.0.1:9003");
                assert_eq!(hosted_domain.as_deref(), Some("example.com"));
                assert_eq!(authorized_parties, &["android", "ios"]);
                assert!(offline);
                assert_eq!(scopes, &["openid", "email", "profile"]);
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&dir, google("")).expect("write");
        let s = Settings::load_from(Some(&dir), env(&[])).expect("parses");
        assert!(matches!(
            &s.providers[0].kind,
            ProviderKind::Google { issuer, hosted_domain: None, offline: false, .. }
                if issuer == "https://accounts.google.com"
        ));
        std::fs::write(&dir, google("access_type = \"forever\"\n")).expect("write");
        let err = Settings::load_from(Some(&dir), env(&[])).expect_err("refused");
        let _ = std::fs::remove_file(&dir);
        assert!(err.to_string().contains("access_type"), "{err}");
    }

    #[test]
    fn a_provider_without_its_settings_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("rc-bad-provider-{}.toml", std::process::id()));
        std::fs::write(
            &dir,
            "[[providers]]\nname = \"WeChat\"\nkind = \"wechat\"\nappid = \"a\"\n",
        )
        .expect("write");
        let err = Settings::load_from(Some(&dir), env(&[])).expect_err("refused");
        let _ = std::fs::remove_file(&dir);
        assert!(err.to_string().contains("`secret`"), "{err}");
    }

    #[test]
    fn each_openid_provider_has_its_own_id_token_alg() {
        let dir =
            std::env::temp_dir().join(format!("rc-provider-algs-{}.toml", std::process::id()));
        let provider = |name: &str, secret: &str, alg: &str| {
            format!(
                "[[providers]]\nname = \"{name}\"\nissuer = \"http://127.0.0.1:9000\"\n\
                 client_id = \"{name}\"\nclient_secret = \"{secret}\"\n\
                 id_token_signed_response_alg = \"{alg}\"\n"
            )
        };
        let alg_of = |p: &ProviderSettings| match &p.kind {
            ProviderKind::Oidc { id_token_alg, .. } => *id_token_alg,
            _ => None,
        };
        std::fs::write(
            &dir,
            provider("es", "es-secret", "ES256")
                + &provider("hs", "a-client-secret-of-32-bytes-long", "HS256"),
        )
        .expect("write");
        let s = Settings::load_from(Some(&dir), env(&[])).expect("parses");
        assert_eq!(alg_of(&s.providers[0]), Some(IdTokenAlg::ES256));
        assert_eq!(alg_of(&s.providers[1]), Some(IdTokenAlg::HS256));
        std::fs::write(&dir, provider("hs", "too-short", "HS256")).expect("write");
        let err = Settings::load_from(Some(&dir), env(&[])).expect_err("refused");
        let _ = std::fs::remove_file(&dir);
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }

    #[test]
    fn an_entra_provider_needs_a_tenant_allow_list_unless_multi_tenant() {
        let file = std::env::temp_dir().join(format!("rc-entra-{}.toml", std::process::id()));
        let load = |extra: &str| {
            std::fs::write(
                &file,
                format!(
                    "[[providers]]\nname = \"Microsoft\"\nkind = \"entra\"\n\
                     client_id = \"app\"\nclient_secret = \"s\"\n{extra}"
                ),
            )
            .expect("write");
            Settings::load_from(Some(&file), env(&[]))
        };
        const T: &str = "11111111-2222-4333-8444-555555555555";
        let cases = [
            ("", "`tenant`"),
            ("tenant = \"contoso.com\"\n", "tenant GUID"),
            ("tenant = \"common\"\n", "`allowed_tenants` is required"),
            (
                "tenant = \"common\"\nallowed_tenants = [\"contoso\"]\n",
                "not a tenant GUID",
            ),
            (
                &format!("tenant = \"{T}\"\nmulti_tenant = true\n"),
                "needs a multi-tenant",
            ),
        ];
        for (extra, named) in cases {
            let err = load(extra).expect_err(extra);
            assert!(err.to_string().contains(named), "{extra}: {err}");
        }
        let allowed = |s: &Settings| match &s.providers[0].kind {
            ProviderKind::Entra {
                allowed_tenants, ..
            } => allowed_tenants.clone(),
            other => panic!("{other:?}"),
        };
        let s = load(&format!(
            "tenant = \"organizations\"\nallowed_tenants = \"{}\"\nbase_url = \"http://127.0.0.1:9000/t/entra\"\n",
            T.to_uppercase()
        ))
        .expect("parses");
        assert_eq!(allowed(&s), Some(vec![T.to_owned()]));
        let s = load("tenant = \"common\"\nmulti_tenant = true\n").expect("parses");
        assert_eq!(allowed(&s), None);
        let s = load(&format!("tenant = \"{T}\"\n")).expect("parses");
        let _ = std::fs::remove_file(&file);
        assert_eq!(allowed(&s), Some(vec![T.to_owned()]));
        assert_eq!(s.providers[0].kind.as_str(), "entra");
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let s = Settings::builtin();
        let printed = format!("{s:?}");
        assert!(!printed.contains("web-secret"));
        assert!(!printed.contains(DEV_ONLY_JWT_KEY));
    }
}
