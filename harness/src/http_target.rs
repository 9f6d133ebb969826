//! A backend that is already running, in any language, described by a target file: the runner serves
//! the mock provider at the issuer the backend is configured with, registers the backend's client there,
//! and drives the backend over HTTP only. Setup that HTTP cannot do from outside (seed a user, count
//! users, move the backend's clock, sign a token with its key) is an optional hook: an HTTP call the
//! backend's test build may expose. A scenario that needs a hook the file does not give is skipped,
//! naming the hook.
//!
//! ```toml
//! [provider]                      # what the backend is configured with
//! issuer = "http://127.0.0.1:9000"
//! client_id = "my-app"            # not one of the provider's built-in ids (web, spa, …)
//! client_secret = "my-app-secret"
//! redirect_uri = "http://127.0.0.1:3000/callback"
//! post_logout_redirect_uri = "http://127.0.0.1:3000/"           # optional: logout scenarios
//! backchannel_logout_uri = "http://127.0.0.1:3000/backchannel"  # optional
//! # token_endpoint_auth_method = "client_secret_post"           # default client_secret_basic
//! # userinfo_signed_response_alg = "RS256"   # registered for signed userinfo (RS-USERINFO-JWT)
//! # id_token_signed_response_alg = "HS256"  # RS256 (default) | ES256 | HS256: what the client is registered
//!                                          # with; ID-SIG-ES256 / ID-SIG-HS256 run for that alg only
//!
//! [backend]
//! base_url = "http://127.0.0.1:3000"
//! login = "/login"                # GET: 3xx to the provider …
//! # login_form = "/auth/signin/mock"  # … or a page whose form posting here starts the login
//! callback_method = "browser"     # the browser follows the redirect to redirect_uri (server-side apps),
//!                                 # or POSTs the form_post page there when the login asks for form_post;
//!                                 # "post_json" / "get_query": a frontend hands it to `callback`
//! # callback = "/api/auth/callback"
//! profile = "/me"                 # GET with the session: 2xx as the user; 401/403/3xx without one
//! # return_to_param = "return_to"   # the login's "land here afterwards" parameter
//! # logout = "/logout"            # logout_method = "get" (a link) or "post" (default)
//! # provider_timeout_seconds = 5  # the backend's own HTTP timeout towards the provider
//! # provider_profile = "/api/me/provider-profile"  # GET with the session: the backend uses the provider's
//! #                               # tokens again (userinfo), refreshing them once expired (RF-HAPPY, RF-ID-TOKEN)
//! # bind = "/api/auth/bind"       # require-binding policy
//! unknown_user_policy = "auto-create"
//!
//! [session]                       # a cookie session (default) or a bearer token in the callback's JSON
//! # json_pointer = "/token"
//! # issuer = "my-app"             # the app token's iss and aud, checked by value
//! # audience = "my-app-frontend"
//!
//! [profile]                       # JSON pointers into the profile answer, each optional
//! subject = "/sub"                # the provider's subject: how "logged in as alice" is judged
//! name = "/name"
//! email = "/email"
//! # id = "/id"  picture = "/avatar_url"  role = "/role"
//! # html_pattern = "Logged in as {name}."   # a profile that is an HTML page: where it names the user
//!
//! [errors]                        # optional: with none, any refusal counts
//! # json_pointer = "/error"       # where a JSON refusal names its cause …
//! # query_param = "error"         # … or the query of the error page a refusal redirects to …
//! # html_pattern = "<h1>{code}</h1>"  # … or where an HTML refusal names it …
//! # html_pattern = "<h1>{code}</h1>"  # … or where an HTML refusal names it
//! [errors.map]                    # its codes -> the suite's (parameters::AppError), one or a list
//! # bad_state = "invalid_state"
//! # login_failed = ["invalid_state", "invalid_id_token", "provider_error"]
//!
//! [hooks]                          # all optional; relative to base_url
//! seed_user = "/test/users"                     # POST {display_name, role, avatar_url, disabled, issuer, subject, email, phone}
//! users_bound_to = "/test/users/bound"          # POST {issuer, subject} -> {"count": n}
//! user_count = "/test/users/count"              # GET -> {"count": n}
//! advance_clock = "/test/clock"                 # POST {"seconds": n}
//! forge_token = "/test/tokens"                  # POST {claims} -> {"token": "..."}
//! reset_clock = "/test/clock/reset"             # POST: the clock back on real time (needed to move it)
//!
//! [[extra_providers]]             # optional: WeChat, GitHub, Microsoft, Apple or Google, served by the runner at {issuer}/t/TENANT
//! # name = "GitHub"  kind = "github"  tenant = "github"  client_id = "…"  client_secret = "…"
//! # Google (kind = "google", its base URL {issuer}/t/TENANT standing in for https://accounts.google.com)
//! # also takes: hosted_domain = "example.com" (GOOGLE-HD), authorized_parties = ["conformance-android"]
//! # (GOOGLE-AZP: registered at the tenant in the backend client's project), access_type = "offline"
//! # (GOOGLE-REFRESH); a scenario needing a key the file lacks is skipped naming it.
//! # name = "Apple"  kind = "apple"  tenant = "apple"  client_id = "…"  team_id = "…"  key_id = "…"
//! # public_key = "-----BEGIN PUBLIC KEY-----…" (the key the backend signs its client secrets with)
//!
//! [linking]                       # optional: {provider} and {id} are filled in
//! # start = "/api/link?provider={provider}"  identities = "/api/me/identities"  unlink = "/api/me/identities/{id}"
//!
//! [start]                         # optional: a backend of a scenario's own (see [`StartSection`])
//! # command = ["./my-backend"]
//! # env = { ISSUER = "{issuer}", PORT = "{port}", POLICY = "{policy}", JWT_KEY = "{jwt_key}",
//! #         RESPONSE_MODE = "{response_mode}",
//! #         USERINFO_SIGNED_RESPONSE_ALG = "{userinfo_signed_response_alg}",
//! #         ID_TOKEN_ALG = "{id_token_alg}" }
//! ```

use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context, anyhow, bail, ensure};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::{
    parameters::{Policy, Role},
    target::{
        CallbackMethod, FixedBackend, LoginStart, Profile, ProfileField, ProviderSetup,
        RefusalCodes, SeedUser, Target, TargetFactory, TargetOptions, TokenDelivery, unsupported,
    },
};

/// A target file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// What the backend is configured with at the provider.
    pub provider: ProviderSection,
    /// Where the backend's endpoints are.
    pub backend: BackendSection,
    /// How it hands out its session.
    #[serde(default)]
    pub session: SessionSection,
    /// Where its profile answer shows the user.
    #[serde(default)]
    pub profile: ProfileSection,
    /// How it names its errors.
    #[serde(default)]
    pub errors: ErrorSection,
    /// Optional setup hooks of its test build.
    #[serde(default)]
    pub hooks: HookSection,
    /// WeChat, GitHub and Sign in with Apple providers the backend also offers.
    #[serde(default)]
    pub extra_providers: Vec<ExtraProviderSection>,
    /// Account linking, if the backend has it.
    #[serde(default)]
    pub linking: LinkingSection,
    /// How to start a backend of the scenario's own, if the backend can be started so.
    #[serde(default)]
    pub start: Option<StartSection>,
    /// The `html_pattern`s, compiled once when the file is parsed.
    #[serde(skip)]
    patterns: Patterns,
}

/// A target file's page patterns as regexes.
#[derive(Debug, Clone, Default)]
struct Patterns {
    /// `[profile] html_pattern`, with groups `sub`, `name`, `email`.
    profile: Option<regex::Regex>,
    /// `[errors] html_pattern`, with group `code`.
    error: Option<regex::Regex>,
}

/// `[provider]`: the issuer, client and redirect URI the backend is configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// The issuer; the runner serves the mock provider on its host and port (loopback only).
    pub issuer: String,
    /// The backend's client id.
    pub client_id: String,
    /// The backend's client secret.
    pub client_secret: String,
    /// The redirect URI the backend sends (its frontend's callback page).
    pub redirect_uri: String,
    /// Where the provider may send the browser after logout (RP-Initiated Logout 1.0 §3), if the backend
    /// logs out there.
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// Where the provider POSTs logout tokens (Back-Channel Logout 1.0 §2.2), if the backend takes them.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: mock_idp::AuthMethod,
    /// The backend registered for signed userinfo with this algorithm (OIDC Core §5.3.2): the runner
    /// registers its client so, and the RS-USERINFO-JWT scenarios run on it. Absent: those scenarios run
    /// on a backend started with `{userinfo_signed_response_alg}`, or do not apply.
    #[serde(default)]
    pub userinfo_signed_response_alg: Option<mock_idp::SigningAlg>,
    /// How the provider signs the backend's id_tokens, as the backend is registered (Dynamic Client
    /// Registration 1.0 §2): `RS256` (default), `ES256` (the provider's P-256 key) or `HS256` (MACed with
    /// `client_secret`, which must then be at least 32 octets). ID-SIG-ES256 and ID-SIG-HS256 apply to a
    /// backend registered with their alg (or one `[start]` can set up with `{id_token_alg}`).
    #[serde(default)]
    pub id_token_signed_response_alg: Option<mock_idp::IdTokenAlg>,
}

fn default_auth_method() -> mock_idp::AuthMethod {
    mock_idp::AuthMethod::ClientSecretBasic
}

/// `[backend]`: its base URL and endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// `http://host:port` of the running backend.
    pub base_url: Url,
    /// `GET` starts a login (or shows the page with the form of `login_form`).
    pub login: String,
    /// The action (a path) of the form on the `login` page that starts the login, if a form does.
    #[serde(default)]
    pub login_form: Option<String>,
    /// Where a frontend hands over the authorization response (not needed for `browser`).
    #[serde(default)]
    pub callback: Option<String>,
    /// `browser`, `post_json` (default) or `get_query`.
    #[serde(default)]
    pub callback_method: CallbackMethodName,
    /// `GET` with the session answers the profile.
    pub profile: String,
    /// The login's query parameter naming where to land afterwards (default `return_to`).
    #[serde(default)]
    pub return_to_param: Option<String>,
    /// `post` (default) or `get`.
    #[serde(default)]
    pub logout_method: LogoutMethod,
    /// The backend's own HTTP timeout towards the provider, in seconds.
    #[serde(default)]
    pub provider_timeout_seconds: Option<u64>,
    /// `POST {ticket, phone}` completes a require-binding login.
    #[serde(default)]
    pub bind: Option<String>,
    /// `POST` with the session logs out, answering `{"end_session_url"}`.
    #[serde(default)]
    pub logout: Option<String>,
    /// `GET` with the session makes the backend use the provider's tokens again (userinfo with the kept
    /// access token, refreshed once expired); without it the refresh scenarios do not apply.
    #[serde(default)]
    pub provider_profile: Option<String>,
    /// The unknown-user policy it runs with: scenarios that need another are skipped.
    #[serde(default)]
    pub unknown_user_policy: PolicyName,
}

/// The callback method, as written.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallbackMethodName {
    /// A JSON POST.
    #[default]
    PostJson,
    /// A GET with the query string.
    GetQuery,
    /// The browser follows the provider's redirect to the redirect URI.
    Browser,
}

/// How logout is called.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogoutMethod {
    /// A form or fetch `POST`.
    #[default]
    Post,
    /// A link.
    Get,
}

/// A policy, as written (`reject`, `auto-create`, `require-binding`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyName {
    /// Unknown users are refused.
    #[default]
    Reject,
    /// Unknown users get an account.
    AutoCreate,
    /// Unknown users bind a phone number first.
    RequireBinding,
}

impl From<PolicyName> for Policy {
    fn from(p: PolicyName) -> Policy {
        match p {
            PolicyName::Reject => Policy::Reject,
            PolicyName::AutoCreate => Policy::AutoCreate,
            PolicyName::RequireBinding => Policy::RequireBinding,
        }
    }
}

/// `[session]`: where the session is, and the app token's configured `iss` and `aud`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSection {
    /// A bearer token in the JSON body at this pointer (default `/token`).
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// Or a cookie of this name (informational: the browser's cookie jar is the session, judged by the
    /// profile endpoint).
    #[serde(default)]
    pub cookie: Option<String>,
    /// Or several cookies (informational, as `cookie`).
    #[serde(default)]
    pub cookies: Vec<String>,
    /// The app token's `iss`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The app token's `aud`.
    #[serde(default)]
    pub audience: Option<String>,
}

/// `[profile]`: JSON pointers into the profile answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    /// The provider's subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The app's own user id.
    #[serde(default)]
    pub id: Option<String>,
    /// The name shown.
    #[serde(default)]
    pub name: Option<String>,
    /// The email.
    #[serde(default)]
    pub email: Option<String>,
    /// The avatar or picture URL.
    #[serde(default)]
    pub picture: Option<String>,
    /// The app role (`admin` or `user`).
    #[serde(default)]
    pub role: Option<String>,
    /// For a profile that is an HTML page: text that names the user, with `{sub}`, `{name}` or `{email}`
    /// where the page shows them (e.g. `"Logged in as {name}."`).
    #[serde(default)]
    pub html_pattern: Option<String>,
}

/// The placeholders an `html_pattern` may hold, and the profile field each fills.
const PAGE_FIELDS: [(&str, ProfileField); 3] = [
    ("sub", ProfileField::Subject),
    ("name", ProfileField::Name),
    ("email", ProfileField::Email),
];

/// `pattern` as a regex whose named groups are its placeholders among `names` (`{name}` → group `name`);
/// the rest, other braces included, matches literally. `key` names the setting in errors.
fn page_regex(pattern: &str, names: &[&str], key: &str) -> anyhow::Result<regex::Regex> {
    let mut re = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        re.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if names.contains(&&after[..close]) => {
                re.push_str(&format!("(?P<{}>[^<>\"]+?)", &after[..close]));
                rest = &after[close + 1..];
            }
            _ => {
                re.push_str(&regex::escape("{"));
                rest = after;
            }
        }
    }
    re.push_str(&regex::escape(rest));
    regex::Regex::new(&re).with_context(|| key.to_owned())
}

/// `[errors]`: where a refusal names its cause and how that maps to the suite's vocabulary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSection {
    /// JSON pointer of the error code in a JSON refusal.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// The query parameter naming the error in the `Location` a refusal redirects to.
    #[serde(default)]
    pub query_param: Option<String>,
    /// For a refusal that is an HTML page: text around the code, with `{code}` where it is (e.g.
    /// `"<p class=\"error\">{code}</p>"`).
    #[serde(default)]
    pub html_pattern: Option<String>,
    /// The backend's code → the suite's ([`crate::parameters::AppError`] names), one or a list;
    /// unmapped codes pass through unchanged.
    #[serde(default)]
    pub map: BTreeMap<String, OneOrMany>,
}

/// One suite code or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `[hooks]`: paths (relative to the base URL) of the test build's setup endpoints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSection {
    /// `POST` a [`SeedUser`] as JSON.
    #[serde(default)]
    pub seed_user: Option<String>,
    /// `POST {issuer, subject}` → `{"count": n}`.
    #[serde(default)]
    pub users_bound_to: Option<String>,
    /// `GET` → `{"count": n}`.
    #[serde(default)]
    pub user_count: Option<String>,
    /// `POST {"seconds": n}`.
    #[serde(default)]
    pub advance_clock: Option<String>,
    /// `POST {"claims": {...}}` → `{"token": "..."}`.
    #[serde(default)]
    pub forge_token: Option<String>,
    /// `POST` (empty body): the clock back on the real time.
    #[serde(default)]
    pub reset_clock: Option<String>,
}

/// `[[extra_providers]]`: a WeChat, GitHub, Entra, Sign in with Apple or Google provider the backend is
/// configured with. The runner serves it as a tenant of its provider, so the backend must find it at
/// `{issuer}/t/{tenant}` (for Entra: its base URL, the stand-in for `https://login.microsoftonline.com`,
/// with discovery at `{issuer}/t/{tenant}/{path_tenant}/v2.0/.well-known/openid-configuration`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraProviderSection {
    /// The name the backend gives it; the scenarios' "WeChat", "GitHub" and "Apple".
    pub name: String,
    /// `wechat`, `github`, `entra`, `apple` or `google`.
    pub kind: crate::target::ExtraKind,
    /// The tenant that serves it (`[a-z0-9-]`).
    pub tenant: String,
    /// The backend's client id there (WeChat's `appid`, Apple's Services ID).
    pub client_id: String,
    /// The backend's client secret there (none for `apple`, whose backend signs its own).
    #[serde(default)]
    pub client_secret: String,
    /// `apple`: the team id of the backend's client secrets (their `iss`).
    #[serde(default)]
    pub team_id: Option<String>,
    /// `apple`: the key id of the key the backend signs its client secrets with (their `kid`).
    #[serde(default)]
    pub key_id: Option<String>,
    /// `apple`: that key's public half as PEM (`-----BEGIN PUBLIC KEY-----`), which the runner
    /// registers at the persona.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The redirect URI the backend sends there (default `provider.redirect_uri`).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// `GET` starts a login with it (default: `backend.login` with `?provider=NAME`).
    #[serde(default)]
    pub login: Option<String>,
    /// Its own unknown-user policy, when it differs from the backend's.
    #[serde(default)]
    pub unknown_user_policy: Option<PolicyName>,
    // google persona
    /// `kind = "google"`: the only Workspace domain the backend admits (its `hd` check); the GOOGLE-HD
    /// scenarios use `example.com`.
    #[serde(default)]
    pub hosted_domain: Option<String>,
    /// `kind = "google"`: other client ids of the backend's Google project it accepts as `azp`; the runner
    /// registers them at the tenant in the backend client's project (GOOGLE-AZP uses
    /// `conformance-android`).
    #[serde(default)]
    pub authorized_parties: Option<Vec<String>>,
    /// `kind = "google"`: `offline` when the backend keeps Google refresh tokens (GOOGLE-REFRESH), else
    /// `online`.
    #[serde(default)]
    pub access_type: Option<String>,
    // Entra kind
    /// Entra: the path tenant the backend signs in at (`common`, `organizations`, `consumers` or a
    /// tenant GUID; default `common`).
    #[serde(default)]
    pub path_tenant: Option<String>,
    /// Entra: the tenant GUIDs the backend admits. The provider's users are in mock-idp's default
    /// Entra tenant, `5e1f0c2a-7d3b-4c8e-9a61-2f4b8d0e3c71`, which it must admit; a second admitted
    /// tenant serves the identity-key scenario. Default: the `path_tenant` when it is a GUID.
    #[serde(default)]
    pub allowed_tenants: Option<Vec<String>>,
    /// Entra: the backend admits every tenant (multi-tenant by explicit policy).
    #[serde(default)]
    pub multi_tenant: Option<bool>,
}

impl ExtraProviderSection {
    /// `apple`: the backend's client-secret key from `team_id`, `key_id` and `public_key`, or the names
    /// of those missing; `Ok(None)` for the other kinds.
    pub fn apple_keys(&self) -> Result<Option<crate::target::AppleKeys>, String> {
        if self.kind != crate::target::ExtraKind::Apple {
            return Ok(None);
        }
        let missing: Vec<&str> = [
            ("team_id", &self.team_id),
            ("key_id", &self.key_id),
            ("public_key", &self.public_key),
        ]
        .into_iter()
        .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
        .map(|(k, _)| k)
        .collect();
        match (&self.team_id, &self.key_id, &self.public_key) {
            (Some(team_id), Some(key_id), Some(public_key)) if missing.is_empty() => {
                Ok(Some(crate::target::AppleKeys {
                    team_id: team_id.clone(),
                    key_id: key_id.clone(),
                    public_key_pem: public_key.clone(),
                    private_key_pem: None,
                }))
            }
            _ => Err(missing
                .iter()
                .map(|k| format!("extra_providers.{k}"))
                .collect::<Vec<_>>()
                .join(", ")),
        }
    }

    /// The Entra settings this section declares (`None` for the other kinds).
    fn entra(&self) -> Option<crate::target::EntraSettings> {
        (self.kind == crate::target::ExtraKind::Entra).then(|| {
            let path_tenant = self.path_tenant.clone().unwrap_or_else(|| "common".into());
            let allowed_tenants = if self.multi_tenant == Some(true) {
                None
            } else {
                Some(match &self.allowed_tenants {
                    Some(list) => list.iter().map(|t| t.to_ascii_lowercase()).collect(),
                    None if mock_idp::is_guid(&path_tenant) => vec![path_tenant.clone()],
                    None => Vec::new(),
                })
            };
            crate::target::EntraSettings {
                path_tenant,
                allowed_tenants,
            }
        })
    }
}

/// `[linking]`: account linking with the session (each optional; `{provider}` and `{id}` are filled in).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkingSection {
    /// `GET` with the session answers `{"url": …}`, a login whose identity is linked to the user.
    #[serde(default)]
    pub start: Option<String>,
    /// `GET` with the session answers `{"identities": [{"id", "provider"}, …]}`.
    #[serde(default)]
    pub identities: Option<String>,
    /// `DELETE` with the session unlinks identity `{id}`.
    #[serde(default)]
    pub unlink: Option<String>,
}

/// `[start]`: how the runner starts a backend of a scenario's own, pointed at a provider of the scenario's
/// own, for the scenarios a shared running backend cannot serve (a first fetch of discovery, another
/// unknown-user policy, a startup check, a client secret of the scenario's choice). In `command`'s
/// arguments and `env`'s values the runner fills in `{issuer}`, `{client_id}`, `{client_secret}`,
/// `{port}` (a free loopback port), `{base}` (`http://127.0.0.1:{port}`), `{dir}` (an empty directory
/// removed afterwards), `{policy}`, `{jwt_key}` (32 random bytes, or what a startup scenario tries) and
/// `{response_mode}` (`query`, or `form_post` for the form_post scenarios, which then get a backend
/// started so instead of the running one), `{userinfo_signed_response_alg}` (the provider's signing
/// algorithm, `RS256`, for the signed-userinfo scenarios, which then get a backend started so; empty
/// otherwise) and `{id_token_alg}` (the `id_token_signed_response_alg` the backend's client is registered
/// with: `RS256`, or `ES256` / `HS256` for the ID-SIG-ES256 and ID-SIG-HS256 scenarios, which then get a
/// backend started so; HS256 is keyed with `{client_secret}`).
/// The started backend's endpoints are `[backend]`'s and `[provider]`'s URLs with `backend.base_url`
/// replaced by `{base}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSection {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Environment variables to set.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How long it may take until its port accepts connections (default 30 s).
    #[serde(default)]
    pub ready_seconds: Option<u64>,
}

impl TargetFile {
    /// Reads and checks a target file; errors name the file and the field.
    pub fn load(path: &Path) -> anyhow::Result<TargetFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the target file {}", path.display()))?;
        TargetFile::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and checks a target file's text.
    pub fn parse(text: &str) -> anyhow::Result<TargetFile> {
        let mut file: TargetFile = toml::from_str(text)?;
        let issuer = Url::parse(&file.provider.issuer).context("provider.issuer is not a URL")?;
        ensure!(
            issuer.scheme() == "http",
            "provider.issuer: the runner serves plain HTTP on loopback (got {issuer})"
        );
        ensure!(
            matches!(issuer.host_str(), Some("127.0.0.1" | "localhost")),
            "provider.issuer must be on 127.0.0.1 or localhost, where the runner can serve it (got {issuer})"
        );
        ensure!(
            issuer.port().is_some(),
            "provider.issuer needs an explicit port (got {issuer})"
        );
        Url::parse(&file.provider.redirect_uri).context("provider.redirect_uri is not a URL")?;
        for (name, path) in [
            ("backend.login", Some(&file.backend.login)),
            ("backend.login_form", file.backend.login_form.as_ref()),
            ("backend.callback", file.backend.callback.as_ref()),
            ("backend.profile", Some(&file.backend.profile)),
        ] {
            if let Some(path) = path {
                file.backend
                    .base_url
                    .join(path)
                    .with_context(|| format!("{name} is not a path"))?;
            }
        }
        ensure!(
            file.backend.callback.is_some()
                || file.backend.callback_method == CallbackMethodName::Browser,
            "backend.callback is needed unless callback_method = \"browser\" (the browser follows the \
             provider's redirect to provider.redirect_uri)"
        );
        if let Some(pattern) = &file.profile.html_pattern {
            let names: Vec<&str> = PAGE_FIELDS.iter().map(|(n, _)| *n).collect();
            file.patterns.profile = Some(page_regex(pattern, &names, "profile.html_pattern")?);
        }
        if let Some(pattern) = &file.errors.html_pattern {
            ensure!(
                pattern.contains("{code}"),
                "errors.html_pattern needs {{code}} where the page names the error"
            );
            file.patterns.error = Some(page_regex(pattern, &["code"], "errors.html_pattern")?);
        }
        if file.session.json_pointer.is_some()
            && (file.session.cookie.is_some() || !file.session.cookies.is_empty())
        {
            bail!("session: give json_pointer or cookie(s), not both");
        }
        for extra in &file.extra_providers {
            ensure!(
                !extra.tenant.is_empty()
                    && extra
                        .tenant
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "extra_providers {:?}: tenant must be [a-z0-9-] (the provider serves it at {{issuer}}/t/TENANT)",
                extra.name
            );
            if let Some(uri) = &extra.redirect_uri {
                Url::parse(uri)
                    .with_context(|| format!("extra_providers {:?}: redirect_uri", extra.name))?;
            }
            let google_keys = extra.hosted_domain.is_some()
                || extra.authorized_parties.is_some()
                || extra.access_type.is_some();
            ensure!(
                !google_keys || extra.kind == crate::target::ExtraKind::Google,
                "extra_providers {:?}: hosted_domain, authorized_parties and access_type are for kind = \"google\"",
                extra.name
            );
            ensure!(
                matches!(
                    extra.access_type.as_deref(),
                    None | Some("online" | "offline")
                ),
                "extra_providers {:?}: access_type must be \"online\" or \"offline\"",
                extra.name
            );
        }
        if let Some(start) = &file.start {
            ensure!(
                !start.command.is_empty(),
                "start.command needs at least the program"
            );
        }
        if let Some(id) = mock_idp::Config::builtin()
            .clients
            .iter()
            .map(|c| c.client_id.as_str())
            .find(|id| *id == file.provider.client_id)
        {
            bail!(
                "provider.client_id = {id:?} is one of the mock provider's own built-in clients, which \
                 scenarios use as they are: give your backend a client id of its own (e.g. \"my-app\")"
            );
        }
        Ok(file)
    }

    /// The address the runner must serve the provider on.
    pub fn provider_address(&self) -> anyhow::Result<std::net::SocketAddr> {
        let issuer = Url::parse(&self.provider.issuer).context("provider.issuer")?;
        let port = issuer
            .port()
            .ok_or_else(|| anyhow!("provider.issuer needs a port"))?;
        Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    }
}

/// The factory of a running backend: every scenario gets the same one.
#[derive(Debug, Clone)]
pub struct HttpFactory {
    /// The target file.
    file: TargetFile,
    /// What the backend is configured with.
    fixed: FixedBackend,
    /// For the hooks.
    http: reqwest::Client,
}

impl HttpFactory {
    /// A factory for the backend a target file describes.
    pub fn new(file: TargetFile) -> anyhow::Result<HttpFactory> {
        let fixed = FixedBackend {
            provider: ProviderSetup {
                issuer: file.provider.issuer.clone(),
                client_id: file.provider.client_id.clone(),
                client_secret: file.provider.client_secret.clone(),
            },
            redirect_uri: file.provider.redirect_uri.clone(),
            policy: file.backend.unknown_user_policy.into(),
            auth_method: file.provider.token_endpoint_auth_method,
            post_logout_redirect_uri: file.provider.post_logout_redirect_uri.clone(),
            backchannel_logout_uri: file.provider.backchannel_logout_uri.clone(),
            userinfo_signed_response_alg: file.provider.userinfo_signed_response_alg,
            id_token_alg: file.provider.id_token_signed_response_alg,
            personas: file
                .extra_providers
                .iter()
                .map(|e| crate::target::FixedPersona {
                    name: e.name.clone(),
                    kind: e.kind,
                    tenant: e.tenant.clone(),
                    client_id: e.client_id.clone(),
                    client_secret: e.client_secret.clone(),
                    redirect_uri: e
                        .redirect_uri
                        .clone()
                        .unwrap_or_else(|| file.provider.redirect_uri.clone()),
                    policy: e.unknown_user_policy.map(Policy::from),
                    google: crate::target::FixedGoogle {
                        hosted_domain: e.hosted_domain.clone(),
                        authorized_parties: e.authorized_parties.clone(),
                        access_type: e.access_type.clone(),
                    },
                    apple: e.apple_keys(),
                    entra: e.entra(),
                })
                .collect(),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the hook client")?;
        Ok(HttpFactory { file, fixed, http })
    }

    /// From a target file on disk.
    pub fn from_file(path: &Path) -> anyhow::Result<HttpFactory> {
        HttpFactory::new(TargetFile::load(path)?)
    }
}

impl TargetFactory for HttpFactory {
    fn name(&self) -> String {
        format!("the backend at {}", self.file.backend.base_url)
    }

    fn fixed(&self) -> Option<&FixedBackend> {
        Some(&self.fixed)
    }

    fn own_backends(&self) -> Option<crate::target::SharedFactory> {
        self.starter()
            .map(|s| std::sync::Arc::new(s) as crate::target::SharedFactory)
    }

    fn start<'a>(
        &'a self,
        _provider: &'a ProviderSetup,
        _options: &'a TargetOptions,
    ) -> BoxFuture<'a, anyhow::Result<Box<dyn Target>>> {
        Box::pin(async move {
            Ok(Box::new(HttpTarget {
                file: self.file.clone(),
                http: self.http.clone(),
                _process: None,
            }) as Box<dyn Target>)
        })
    }
}

impl HttpFactory {
    /// The factory of backends started for one scenario each, if the target file says how
    /// (`[start]`).
    pub fn starter(&self) -> Option<crate::started::StartedFactory> {
        let start = self.file.start.clone()?;
        Some(crate::started::StartedFactory::new(
            self.file.clone(),
            start,
            self.http.clone(),
        ))
    }
}

/// The running backend, as one scenario sees it.
#[derive(Debug)]
pub struct HttpTarget {
    /// The target file (for a started backend, with its URLs moved to where it listens).
    pub(crate) file: TargetFile,
    /// For the hooks.
    pub(crate) http: reqwest::Client,
    /// A backend started for the scenario, stopped when the target is dropped.
    pub(crate) _process: Option<crate::started::Process>,
}

impl HttpTarget {
    /// A linking URL with `{provider}` and `{id}` filled in.
    fn linking(&self, path: Option<&String>, provider: &str, id: &str) -> Option<Url> {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let path = path?
            .replace("{provider}", &encode(provider))
            .replace("{id}", &encode(id));
        self.file.backend.base_url.join(&path).ok()
    }

    fn url(&self, path: &str) -> Url {
        // Checked when the file was loaded.
        self.file
            .backend
            .base_url
            .join(path)
            .unwrap_or_else(|_| self.file.backend.base_url.clone())
    }

    /// The hook's URL, or the skip naming it.
    fn hook(&self, name: &str, path: Option<&String>) -> anyhow::Result<Url> {
        let path = path.ok_or_else(|| unsupported(&format!("[hooks] {name}")))?;
        self.file
            .backend
            .base_url
            .join(path)
            .with_context(|| format!("hooks.{name} is not a path"))
    }

    async fn call(&self, name: &str, url: Url, body: Option<Value>) -> anyhow::Result<Value> {
        let request = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("calling the {name} hook"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "the {name} hook answered {status}: {text}"
        );
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn count(&self, name: &str, url: Url, body: Option<Value>) -> anyhow::Result<usize> {
        let answer = self.call(name, url, body).await?;
        answer
            .get("count")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| anyhow!("the {name} hook answered no \"count\": {answer}"))
    }
}

impl Target for HttpTarget {
    fn redirect_uri(&self) -> String {
        self.file.provider.redirect_uri.clone()
    }

    fn login_url(&self) -> Url {
        self.url(&self.file.backend.login)
    }

    fn login_start(&self) -> LoginStart {
        match &self.file.backend.login_form {
            Some(action) => LoginStart::Form {
                page: self.login_url(),
                action: action.clone(),
            },
            None => LoginStart::Get(self.login_url()),
        }
    }

    fn return_to_param(&self) -> Option<String> {
        self.file.backend.return_to_param.clone()
    }

    fn login_url_returning_to(&self, return_to: &str) -> Url {
        let name = self
            .file
            .backend
            .return_to_param
            .as_deref()
            .unwrap_or("return_to");
        let mut url = self.login_url();
        url.query_pairs_mut().append_pair(name, return_to);
        url
    }

    fn callback(&self) -> (Url, CallbackMethod) {
        let method = match self.file.backend.callback_method {
            CallbackMethodName::PostJson => CallbackMethod::PostJson,
            CallbackMethodName::GetQuery => CallbackMethod::GetQuery,
            CallbackMethodName::Browser => CallbackMethod::Browser,
        };
        let url = match &self.file.backend.callback {
            Some(path) if method != CallbackMethod::Browser => self.url(path),
            // Checked when the file was loaded.
            _ => Url::parse(&self.file.provider.redirect_uri)
                .unwrap_or_else(|_| self.file.backend.base_url.clone()),
        };
        (url, method)
    }

    fn profile_url(&self) -> Url {
        self.url(&self.file.backend.profile)
    }

    fn bind_url(&self) -> Option<Url> {
        self.file.backend.bind.as_deref().map(|b| self.url(b))
    }

    fn logout_url(&self) -> Option<Url> {
        self.file.backend.logout.as_deref().map(|l| self.url(l))
    }

    fn provider_profile_url(&self) -> Option<Url> {
        self.file
            .backend
            .provider_profile
            .as_deref()
            .map(|p| self.url(p))
    }

    fn logout_by_get(&self) -> bool {
        self.file.backend.logout_method == LogoutMethod::Get
    }

    fn post_logout_redirect_uri(&self) -> Option<String> {
        self.file.provider.post_logout_redirect_uri.clone()
    }

    fn backchannel_logout_uri(&self) -> Option<String> {
        self.file.provider.backchannel_logout_uri.clone()
    }

    fn token_delivery(&self) -> TokenDelivery {
        match (&self.file.session.json_pointer, &self.file.session.cookie) {
            (Some(pointer), _) => TokenDelivery::JsonBody(pointer.clone()),
            (None, name) => TokenDelivery::Cookie(
                name.clone()
                    .or_else(|| self.file.session.cookies.first().cloned())
                    .unwrap_or_default(),
            ),
        }
    }

    fn provider_timeout(&self) -> Option<Duration> {
        self.file
            .backend
            .provider_timeout_seconds
            .map(Duration::from_secs)
    }

    fn error_code(&self, _status: u16, body: &Value) -> Option<String> {
        let pointer = self.file.errors.json_pointer.as_deref()?;
        body.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn refusal_codes(&self, status: u16, body: &Value, location: Option<&Url>) -> RefusalCodes {
        let errors = &self.file.errors;
        if errors.json_pointer.is_none()
            && errors.query_param.is_none()
            && errors.html_pattern.is_none()
        {
            return RefusalCodes::NotChecked;
        }
        let from_query = errors
            .query_param
            .as_deref()
            .and_then(|name| location.and_then(|l| crate::browser::query_param(l, name)));
        // An HTML refusal reaches here as a JSON string of the page.
        let from_page = self.file.patterns.error.as_ref().and_then(|re| {
            let found = re.captures(body.as_str()?)?;
            found
                .name("code")
                .map(|m| crate::browser::unescape_html(m.as_str()))
        });
        let code = self.error_code(status, body).or(from_query).or(from_page);
        let codes = match code {
            None => Vec::new(),
            Some(code) => match errors.map.get(&code) {
                Some(OneOrMany::One(c)) => vec![c.clone()],
                Some(OneOrMany::Many(list)) => list.clone(),
                None => vec![code],
            },
        };
        RefusalCodes::Codes(codes)
    }

    fn profile(&self, body: &Value) -> Profile {
        let p = &self.file.profile;
        let read = |pointer: &Option<String>| {
            pointer
                .as_deref()
                .and_then(|ptr| body.pointer(ptr))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        };
        Profile {
            subject: read(&p.subject),
            id: read(&p.id),
            display_name: read(&p.name),
            email: read(&p.email),
            avatar_url: read(&p.picture),
            role: read(&p.role),
        }
    }

    fn profile_of_page(&self, body: &str) -> Profile {
        let Some(re) = &self.file.patterns.profile else {
            return self.profile(&serde_json::from_str(body).unwrap_or(Value::Null));
        };
        let mut profile = Profile::default();
        if let Some(found) = re.captures(body) {
            let text = |name: &str| {
                found
                    .name(name)
                    .map(|m| crate::browser::unescape_html(m.as_str()))
            };
            profile.subject = text("sub");
            profile.display_name = text("name");
            profile.email = text("email");
        }
        profile
    }

    fn profile_fields(&self) -> Vec<ProfileField> {
        let p = &self.file.profile;
        let mut fields = Vec::new();
        if let Some(pattern) = &p.html_pattern {
            for (name, field) in PAGE_FIELDS {
                if pattern.contains(&format!("{{{name}}}")) {
                    fields.push(field);
                }
            }
        }
        for (field, mapped) in [
            (ProfileField::Subject, &p.subject),
            (ProfileField::Id, &p.id),
            (ProfileField::Name, &p.name),
            (ProfileField::Email, &p.email),
            (ProfileField::Picture, &p.picture),
            (ProfileField::Role, &p.role),
        ] {
            if mapped.is_some() {
                fields.push(field);
            }
        }
        fields
    }

    fn app_token_issuer(&self) -> Option<String> {
        self.file.session.issuer.clone()
    }

    fn login_url_for(&self, provider: &str) -> Url {
        let own = self
            .file
            .extra_providers
            .iter()
            .find(|e| e.name == provider)
            .and_then(|e| e.login.as_deref());
        match own {
            Some(path) => self.url(path),
            None => {
                let mut url = self.login_url();
                url.query_pairs_mut().append_pair("provider", provider);
                url
            }
        }
    }

    fn link_url(&self, provider: &str) -> Option<Url> {
        self.linking(self.file.linking.start.as_ref(), provider, "")
    }

    fn identities_url(&self) -> Option<Url> {
        self.linking(self.file.linking.identities.as_ref(), "", "")
    }

    fn identity_url(&self, id: &str) -> Option<Url> {
        self.linking(self.file.linking.unlink.as_ref(), "", id)
    }

    fn app_token_audience(&self) -> Option<String> {
        self.file.session.audience.clone()
    }

    fn seed_user<'a>(&'a self, user: &'a SeedUser) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let url = self.hook("seed_user", self.file.hooks.seed_user.as_ref())?;
            let role = match user.role {
                Role::Admin => "admin",
                Role::User => "user",
            };
            let body = json!({
                "display_name": user.display_name,
                "role": role,
                "avatar_url": user.avatar_url,
                "disabled": user.disabled,
                "issuer": user.issuer,
                "subject": user.subject,
                "email": user.email,
                "phone": user.phone,
            });
            self.call("seed_user", url, Some(body)).await.map(drop)
        })
    }

    fn users_bound_to<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<usize>> {
        Box::pin(async move {
            let url = self.hook("users_bound_to", self.file.hooks.users_bound_to.as_ref())?;
            let body = json!({"issuer": issuer, "subject": subject});
            self.count("users_bound_to", url, Some(body)).await
        })
    }

    fn user_count(&self) -> BoxFuture<'_, anyhow::Result<usize>> {
        Box::pin(async move {
            let url = self.hook("user_count", self.file.hooks.user_count.as_ref())?;
            self.count("user_count", url, None).await
        })
    }

    fn advance_clock(&self, by: Duration) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let url = self.hook("advance_clock", self.file.hooks.advance_clock.as_ref())?;
            let body = json!({"seconds": by.as_secs()});
            self.call("advance_clock", url, Some(body)).await.map(drop)
        })
    }

    fn can_reset_clock(&self) -> bool {
        self.file.hooks.reset_clock.is_some()
    }

    fn reset_clock(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let url = self.hook("reset_clock", self.file.hooks.reset_clock.as_ref())?;
            self.call("reset_clock", url, Some(json!({})))
                .await
                .map(drop)
        })
    }

    fn forge_token<'a>(&'a self, claims: &'a Value) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let url = self.hook("forge_token", self.file.hooks.forge_token.as_ref())?;
            let answer = self
                .call("forge_token", url, Some(json!({"claims": claims})))
                .await?;
            answer
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("the forge_token hook answered no \"token\": {answer}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[provider]
issuer = "http://127.0.0.1:9000"
client_id = "my-app"
client_secret = "s"
redirect_uri = "http://127.0.0.1:3000/callback"
[backend]
base_url = "http://127.0.0.1:3000"
login = "/login"
callback_method = "browser"
profile = "/"
[profile]
html_pattern = "<p>Logged in as {name} ({sub}).</p>"
"#;

    #[test]
    fn an_html_profile_page_names_its_user_through_the_pattern() {
        let file = TargetFile::parse(FILE).expect("parses");
        let factory = HttpFactory::new(file).expect("factory");
        let setup = factory.fixed.provider.clone();
        let target = futures::executor::block_on(factory.start(&setup, &TargetOptions::default()))
            .expect("target");
        let page = "<html><body><p>Logged in as Alice &amp; co (248289761001).</p></body></html>";
        let profile = target.profile_of_page(page);
        assert_eq!(profile.subject.as_deref(), Some("248289761001"));
        assert_eq!(profile.display_name.as_deref(), Some("Alice & co"));
        assert_eq!(
            target.profile_of_page("<p>Not logged in.</p>"),
            Profile::default()
        );
        assert!(target.profile_fields().contains(&ProfileField::Subject));
        assert!(!target.profile_fields().contains(&ProfileField::Role));
    }

    #[test]
    fn an_html_refusal_names_its_code_through_the_pattern() {
        let text = format!(
            "{FILE}\n[errors]\nhtml_pattern = \"<p class=err>{{code}}</p>\"\n[errors.map]\nbad = [\"invalid_state\", \"provider_error\"]\n"
        );
        let factory = HttpFactory::new(TargetFile::parse(&text).expect("parses")).expect("factory");
        let setup = factory.fixed.provider.clone();
        let target = futures::executor::block_on(factory.start(&setup, &TargetOptions::default()))
            .expect("target");
        let page = Value::String("<html><p class=err>bad</p></html>".into());
        assert_eq!(
            target.refusal_codes(500, &page, None),
            RefusalCodes::Codes(vec!["invalid_state".into(), "provider_error".into()])
        );
    }

    #[test]
    fn conform_inits_template_is_a_valid_target_file() {
        let file = TargetFile::parse(include_str!("bin/conform-template.toml")).expect("parses");
        assert_eq!(file.backend.callback_method, CallbackMethodName::Browser);
        assert_eq!(file.profile.subject.as_deref(), Some("/sub"));
    }

    #[test]
    fn a_built_in_client_id_is_refused_with_what_to_do() {
        let text = FILE.replace("client_id = \"my-app\"", "client_id = \"web\"");
        let e = TargetFile::parse(&text).expect_err("refused");
        assert!(format!("{e:#}").contains("built-in"), "{e:#}");
    }

    #[test]
    fn a_google_provider_takes_its_keys_and_only_it_does() {
        let google = "\n[[extra_providers]]\nname = \"Google\"\nkind = \"google\"\ntenant = \"google\"\n\
                      client_id = \"g\"\nclient_secret = \"s\"\n";
        let text = format!(
            "{FILE}{google}hosted_domain = \"example.com\"\n\
             authorized_parties = [\"conformance-android\"]\naccess_type = \"offline\"\n"
        );
        let factory = HttpFactory::new(TargetFile::parse(&text).expect("parses")).expect("factory");
        let persona = &factory.fixed.personas[0];
        assert_eq!(persona.kind, crate::target::ExtraKind::Google);
        assert_eq!(
            persona.google,
            crate::target::FixedGoogle {
                hosted_domain: Some("example.com".into()),
                authorized_parties: Some(vec!["conformance-android".into()]),
                access_type: Some("offline".into()),
            }
        );
        let bare = HttpFactory::new(TargetFile::parse(&format!("{FILE}{google}")).expect("parses"))
            .expect("factory");
        assert_eq!(bare.fixed.personas[0].google, Default::default());
        let e = TargetFile::parse(&format!("{FILE}{google}access_type = \"forever\"\n"))
            .expect_err("refused");
        assert!(format!("{e:#}").contains("access_type"), "{e:#}");
        let github = google.replace("kind = \"google\"", "kind = \"github\"");
        let e = TargetFile::parse(&format!("{FILE}{github}hosted_domain = \"example.com\"\n"))
            .expect_err("refused");
        assert!(format!("{e:#}").contains("kind = \"google\""), "{e:#}");
    }

    #[test]
    fn a_frontend_callback_needs_its_path() {
        let text = FILE.replace(
            "callback_method = \"browser\"",
            "callback_method = \"post_json\"",
        );
        let e = TargetFile::parse(&text).expect_err("refused");
        assert!(format!("{e:#}").contains("backend.callback"), "{e:#}");
    }

    // apple persona: the backend's client-secret key from the file, or the names of what is missing.
    #[test]
    fn an_apple_extra_provider_takes_the_key_and_names_what_it_lacks() {
        let text = format!(
            "{FILE}\n[[extra_providers]]\nname = \"Apple\"\nkind = \"apple\"\ntenant = \"apple\"\n\
             client_id = \"com.example.web\"\nteam_id = \"TEAM123456\"\nkey_id = \"KEY1\"\n\
             public_key = \"-----BEGIN PUBLIC KEY-----\"\n"
        );
        let file = TargetFile::parse(&text).expect("parses");
        let keys = file.extra_providers[0]
            .apple_keys()
            .expect("complete")
            .expect("apple");
        assert_eq!(
            (keys.team_id.as_str(), keys.key_id.as_str()),
            ("TEAM123456", "KEY1")
        );
        assert_eq!(keys.private_key_pem, None);
        let lacking = text.replace("key_id = \"KEY1\"\n", "");
        let file = TargetFile::parse(&lacking).expect("parses");
        assert_eq!(
            file.extra_providers[0].apple_keys(),
            Err("extra_providers.key_id".to_owned())
        );
        let factory = HttpFactory::new(file).expect("factory");
        assert!(factory.fixed.personas[0].apple.is_err());
    }
}
