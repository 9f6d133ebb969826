//! The target interface: what a client backend must offer so the features can run against it.
//!
//! The harness drives a target only over HTTP, as a browser and a single-page frontend would. It needs to
//! know where the backend's endpoints are and how it hands out its session; everything else (users in its
//! database, its clock, a way to sign tokens with its key) is an optional setup hook. A scenario that needs
//! a hook the target does not offer fails with a message naming the hook.
//!
//! # The contract, in HTTP terms
//! 1. The browser starts a login ([`Target::login_start`]): a `GET` that answers 3xx, or a page whose form
//!    posts (hidden inputs kept) and then answers 3xx, to the provider's authorization endpoint; the
//!    backend sets whatever cookie binds the login to this browser.
//! 2. The provider redirects to [`Target::redirect_uri`]. The response reaches the backend as
//!    [`Target::callback`] says: the browser follows the redirect itself, or a frontend hands the
//!    parameters over (a JSON POST of `{code, state, iss, error, error_description}` or a GET).
//! 3. **Verdicts come from what the backend does, not from the shape of its answers.** A login succeeded
//!    when the browser afterwards holds a session that `GET profile_url()` honours as the user who signed
//!    in at the provider ([`Target::profile`]); it was refused when the browser holds no new session and,
//!    where the rule says so, the provider saw no further call. The session is a bearer token in the
//!    callback's JSON answer or the browser's cookies ([`Target::token_delivery`]). Error codes
//!    ([`Target::refusal_codes`]) refine a refusal only where the target maps them.
//! 4. Logout (optional): `POST` (or `GET`, [`Target::logout_by_get`]) `logout_url()` ends the session and
//!    sends the browser to the provider's end-session URL (a redirect, or [`Target::end_session_url`] in
//!    JSON); the provider POSTs `logout_token` to [`Target::backchannel_logout_uri`], which answers 200 or
//!    204 for a valid one and 400 otherwise.
//! 5. Under the `require-binding` policy the callback answers `{"binding_ticket": "..."}` and
//!    `POST bind_url()` with `{ticket, phone}` completes the login.

use std::{fmt::Debug, sync::Arc, time::Duration};

use anyhow::anyhow;
use futures::future::BoxFuture;
use serde_json::Value;
use url::Url;

use crate::parameters::{Policy, Role};

/// What the harness registered at the provider for the target: start the backend pointed at this.
#[derive(Debug, Clone)]
pub struct ProviderSetup {
    /// The provider's issuer identifier; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id the harness registers for the backend (after start, with its redirect URI).
    pub client_id: String,
    /// The backend's client secret (client_secret_basic).
    pub client_secret: String,
}

/// Per-scenario choices the features make before the backend starts.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// What the backend does with a valid login whose (iss, sub) it does not know.
    pub unknown_user_policy: Policy,
    /// Providers that are not OpenID Connect, offered beside the OpenID one (a scenario's personas).
    pub extra_providers: Vec<ExtraProvider>,
    /// The scenario judges a backend that asks for `response_mode=form_post`: a factory that can choose
    /// starts one so. Any backend is judged by what its login asks for (ST-FORM-POST's "Applies when").
    pub form_post: bool,
    /// The scenario judges a backend registered with `userinfo_signed_response_alg` (RS-USERINFO-JWT): a
    /// factory that can choose starts one so, and the harness registers its client so.
    pub signed_userinfo: bool,
    /// The scenario judges a backend registered for id_tokens of this `id_token_signed_response_alg`
    /// (ID-SIG-ES256, ID-SIG-HS256): a factory that can choose starts one so; `None` is the provider's
    /// default, RS256.
    pub id_token_alg: Option<mock_idp::IdTokenAlg>,
}

/// The protocol of a provider that is not OpenID Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtraKind {
    /// The WeChat website login: `{base}/connect/qrconnect`, `{base}/sns/...`.
    Wechat,
    /// A GitHub OAuth app: `{base}/login/oauth/...`, `{base}/user`.
    Github,
    // google persona
    /// Google: OpenID Connect with Google's rules at `{base}` (`https://accounts.google.com`), see
    /// [`GoogleOptions`].
    Google,
    // apple persona
    /// Sign in with Apple: `{base}/auth/authorize`, `/auth/token`, `/auth/keys`; the backend signs its
    /// client secrets with [`AppleKeys`].
    Apple,
    /// Microsoft Entra ID (v2.0 endpoints): OpenID Connect at `{base}/{path tenant}/...`, whose issuer
    /// is checked against the token's tenant ([`EntraSettings`]).
    Entra,
}

// google persona
/// What a backend's Google provider is configured with beyond its client (CONFORMANCE GOOGLE-HD,
/// GOOGLE-AZP, GOOGLE-REFRESH).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleOptions {
    /// The only Workspace domain it admits (`hosted_domain`); `None`: any Google account.
    pub hosted_domain: Option<String>,
    /// Other client ids of its Google project it accepts as `azp` (`authorized_parties`).
    pub authorized_parties: Vec<String>,
    /// Whether it keeps Google refresh tokens (`access_type = "offline"`).
    pub offline: bool,
}

/// Sign in with Apple: the key a backend signs its client secrets with, as registered at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleKeys {
    /// The developer team id: the client secrets' `iss`.
    pub team_id: String,
    /// The key id: their header's `kid`.
    pub key_id: String,
    /// The P-256 public key as PEM (`-----BEGIN PUBLIC KEY-----`), registered at the provider.
    pub public_key_pem: String,
    /// The private key as PKCS#8 PEM, for a backend the runner configures (in-process, or started);
    /// `None` for a running backend, which holds its own.
    pub private_key_pem: Option<String>,
}

/// Entra: where the app signs in and which tenants it admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraSettings {
    /// The path tenant: `common`, `organizations`, `consumers` or a tenant GUID.
    pub path_tenant: String,
    /// The tenants (GUIDs) whose users the app admits; `None`: every tenant (multi-tenant by policy).
    pub allowed_tenants: Option<Vec<String>>,
}

impl EntraSettings {
    /// The scenarios' home tenant: mock-idp's default Entra tenant, where the provider's users are.
    pub const HOME_TENANT: &'static str = mock_idp::ENTRA_DEFAULT_TENANT;
    /// A second tenant an app may admit ("the partner tenant" of the scenarios).
    pub const PARTNER_TENANT: &'static str = "c0ffee00-5eed-4a1e-8b0b-00000000beef";

    /// Whether the app admits tenant `tid`.
    pub fn admits(&self, tid: &str) -> bool {
        self.allowed_tenants
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t.eq_ignore_ascii_case(tid)))
    }
}

/// A further provider the backend must offer as "Log in with NAME".
#[derive(Debug, Clone)]
pub struct ExtraProvider {
    /// The name the login page shows and [`Target::login_url_for`] takes.
    pub name: String,
    /// Its protocol.
    pub kind: ExtraKind,
    /// Where both its browser and its API endpoints are (a mock-idp persona serves both).
    pub base_url: String,
    /// Our client id (WeChat's `appid`).
    pub client_id: String,
    /// Our client secret.
    pub client_secret: String,
    /// This provider's unknown-user policy, when it differs from [`TargetOptions::unknown_user_policy`].
    pub policy: Option<Policy>,
    /// Google only: its Google settings.
    pub google: GoogleOptions,
    /// Sign in with Apple: the client-secret key (the client secret above is then unused).
    pub apple: Option<AppleKeys>,
    /// Entra only: the path tenant and the admitted tenants.
    pub entra: Option<EntraSettings>,
}

/// A user to put in the backend's database before the scenario's logins.
#[derive(Debug, Clone)]
pub struct SeedUser {
    /// Shown in the profile.
    pub display_name: String,
    /// admin or user.
    pub role: Role,
    /// The avatar the profile must show.
    pub avatar_url: Option<String>,
    /// A disabled user must not get a session.
    pub disabled: bool,
    /// The identity it is bound to: issuer …
    pub issuer: String,
    /// … and subject.
    pub subject: String,
    /// Its email in the app's database, if the scenario gives one (an app that links by email would
    /// link on it).
    pub email: Option<String>,
    /// Its phone number in the app's database, if the scenario gives one.
    pub phone: Option<String>,
}

/// How the authorization response reaches the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackMethod {
    /// A frontend `POST`s a JSON object `{code, state, iss, error, error_description}` (absent values
    /// omitted) to the callback URL.
    PostJson,
    /// A frontend `GET`s the callback URL with the authorization response's query string.
    GetQuery,
    /// The browser itself follows the provider's redirect: `GET` the redirect URI with the authorization
    /// response's query string (a server-side app's callback route).
    Browser,
}

/// What the browser does to start a login at the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStart {
    /// `GET` this URL, which redirects (3xx) to the provider.
    Get(Url),
    /// `GET` `page`, whose form posting to `action` (a path or URL; hidden inputs such as a CSRF token
    /// kept) starts the login with a redirect to the provider: Auth.js's sign-in page, for example.
    Form {
        /// The page with the form.
        page: Url,
        /// The form's action, as the page has it or as a path ending it.
        action: String,
    },
}

/// Which error codes a refusal carries, as the suite names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalCodes {
    /// The target does not say how its refusals name their cause: any refusal counts.
    NotChecked,
    /// The suite codes this refusal stands for (an app code may stand for several, e.g. one coarse
    /// "login failed"); empty when the refusal carried no code the target maps.
    Codes(Vec<String>),
}

/// Where the backend puts the session it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenDelivery {
    /// A bearer token in the JSON body at this JSON pointer (e.g. `/token`); sent back as
    /// `Authorization: Bearer`.
    JsonBody(String),
    /// A cookie with this name; the browser's cookie jar sends it back.
    Cookie(String),
}

/// The profile fields the features check; `None` where the profile does not have the field or the
/// target does not map it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The provider's subject of the logged-in user, if the profile shows it.
    pub subject: Option<String>,
    /// The user's email, if shown.
    pub email: Option<String>,
    /// `admin` or `user`.
    pub role: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
    /// The user's internal id (what the app token's `sub` must be), a string or a number in the JSON.
    pub id: Option<String>,
    /// The name shown.
    pub display_name: Option<String>,
}

/// A profile field a step may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    /// The provider's subject.
    Subject,
    /// The app's own user id.
    Id,
    /// The name shown.
    Name,
    /// The email.
    Email,
    /// The avatar or picture URL.
    Picture,
    /// The app role.
    Role,
}

impl ProfileField {
    /// The target-file key that maps it (`[profile] KEY = "/json/pointer"`).
    pub fn key(self) -> &'static str {
        match self {
            ProfileField::Subject => "subject",
            ProfileField::Id => "id",
            ProfileField::Name => "name",
            ProfileField::Email => "email",
            ProfileField::Picture => "picture",
            ProfileField::Role => "role",
        }
    }
}

/// What happened when a backend was started only to see whether it starts (a startup property).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// It started (and was stopped again).
    Started,
    /// It refused to start, with this message.
    Refused(String),
}

/// How a step says the run cannot check its scenario against this target (a hook the target file does
/// not give, a policy it does not run with, a backend that cannot be started fresh): the runner reports
/// the scenario as *skipped* with this message, never as passed, and `--fail-on-skipped` makes it a
/// failure.
pub const SKIP: &str = "cannot check here: ";

/// How a step says its catalogue row does not apply to this target at all (the row's "Applies when" is
/// false: no `state` was sent, no `nonce`): the runner reports the scenario as *not applicable*, which is
/// neither a pass nor a failure, naming the row that judges the target instead.
pub const NOT_APPLICABLE: &str = "does not apply here: ";

/// How a failing step names the catalogue row its check judges, when that is not the scenario's first
/// tag (a verdict item of another row, for example): `⟦ROW⟧ message`. The runner then counts the failure
/// at that row's level and the report names that row as broken.
pub fn breaks(row: &str, error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("⟦{row}⟧ {error}")
}

/// As [`breaks`], for a part of the row that counts at `level` (the catalogue's "(POLICY: …)" sentences).
pub fn breaks_at(
    row: &str,
    level: crate::outcome::Level,
    error: impl std::fmt::Display,
) -> anyhow::Error {
    anyhow!("⟦{row} {level}⟧ {error}")
}

/// The row a failed step's message names with [`breaks`] or [`breaks_at`], and the level it gave.
pub fn broken_row(message: &str) -> Option<(&str, Option<crate::outcome::Level>)> {
    let start = message.find('⟦')? + '⟦'.len_utf8();
    let end = start + message[start..].find('⟧')?;
    let inner = &message[start..end];
    Some(match inner.split_once(' ') {
        Some((row, level)) => (row, level.parse().ok()),
        None => (inner, None),
    })
}

/// The error of a hook the target does not give.
pub fn unsupported(hook: &str) -> anyhow::Error {
    skip(&format!("needs `{hook}`, which the target does not give"))
}

/// The error of a scenario the run cannot check against this target, for `reason`.
pub fn skip(reason: &str) -> anyhow::Error {
    anyhow!("{SKIP}{reason}")
}

/// The error of a scenario whose row does not apply to this target, for `reason`.
pub fn not_applicable(reason: &str) -> anyhow::Error {
    anyhow!("{NOT_APPLICABLE}{reason}")
}

/// If `message` (a failed step's) says the scenario cannot be checked here, the reason.
pub fn skip_reason(message: &str) -> Option<&str> {
    message.find(SKIP).map(|at| &message[at + SKIP.len()..])
}

/// If `message` (a failed step's) says the scenario's row does not apply, the reason.
pub fn not_applicable_reason(message: &str) -> Option<&str> {
    message
        .find(NOT_APPLICABLE)
        .map(|at| &message[at + NOT_APPLICABLE.len()..])
}

/// A backend that is already running: the provider client, redirect URI and policy it is configured with
/// are fixed for the whole run, and every scenario shares it.
#[derive(Debug, Clone)]
pub struct FixedBackend {
    /// The issuer and client it is configured with; the runner serves the provider there.
    pub provider: ProviderSetup,
    /// Its redirect URI, registered for that client.
    pub redirect_uri: String,
    /// The unknown-user policy it runs with.
    pub policy: Policy,
    /// How it authenticates at the token endpoint.
    pub auth_method: mock_idp::AuthMethod,
    /// Its post-logout redirect URI, registered with the client.
    pub post_logout_redirect_uri: Option<String>,
    /// Its back-channel logout URI, registered with the client.
    pub backchannel_logout_uri: Option<String>,
    /// The algorithm of signed userinfo it registered (`[provider] userinfo_signed_response_alg`).
    pub userinfo_signed_response_alg: Option<mock_idp::SigningAlg>,
    /// The `id_token_signed_response_alg` its client is registered with; `None`: the provider's (RS256).
    pub id_token_alg: Option<mock_idp::IdTokenAlg>,
    /// The WeChat and GitHub providers it is configured with, each a tenant of the runner's provider.
    pub personas: Vec<FixedPersona>,
}

/// A WeChat or GitHub provider a running backend is configured with: the runner serves it as the tenant
/// `tenant` of the provider, at `{issuer}/t/{tenant}`, with the backend's client registered there.
#[derive(Debug, Clone)]
pub struct FixedPersona {
    /// The name the backend gives it ("Log in with NAME"), as the scenarios name it.
    pub name: String,
    /// Its protocol.
    pub kind: ExtraKind,
    /// The tenant that serves it.
    pub tenant: String,
    /// The backend's client id there (WeChat's `appid`).
    pub client_id: String,
    /// The backend's client secret there.
    pub client_secret: String,
    /// The redirect URI the backend sends there.
    pub redirect_uri: String,
    /// Its own unknown-user policy, when the backend gives it one.
    pub policy: Option<Policy>,
    /// Google only: what its target file says of its Google settings (`None` where a key is absent).
    pub google: FixedGoogle,
    /// Sign in with Apple: `Ok(Some)` the backend's client-secret key; `Err` names the target file's
    /// keys it lacks (the Apple scenarios then skip naming them); `Ok(None)` for WeChat and GitHub.
    pub apple: Result<Option<AppleKeys>, String>,
    /// Entra only: the path tenant and the admitted tenants, as the target file declares them.
    pub entra: Option<EntraSettings>,
}

// google persona
/// A running backend's Google settings as its target file declares them; a scenario that needs a key
/// the file lacks is skipped naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixedGoogle {
    /// `hosted_domain`.
    pub hosted_domain: Option<String>,
    /// `authorized_parties`.
    pub authorized_parties: Option<Vec<String>>,
    /// `access_type`: `online` or `offline`.
    pub access_type: Option<String>,
}

/// Starts fresh backends; one per scenario.
pub trait TargetFactory: Send + Sync + Debug {
    /// A short name for reports.
    fn name(&self) -> String;

    /// `Some` for a backend that is already running (the same one for every scenario), configured with a
    /// fixed provider client; `None` (the default) for a factory that starts a backend per scenario.
    fn fixed(&self) -> Option<&FixedBackend> {
        None
    }

    /// For a running backend: a factory of backends of a scenario's own, for the scenarios the shared
    /// one cannot serve (a target file's `[start]`); `None` if there is none.
    fn own_backends(&self) -> Option<SharedFactory> {
        None
    }

    /// Starts a backend on a random loopback port with a fresh database and its own clock, pointed at
    /// `provider`. The harness registers the client at the provider once this returns.
    fn start<'a>(
        &'a self,
        provider: &'a ProviderSetup,
        options: &'a TargetOptions,
    ) -> BoxFuture<'a, anyhow::Result<Box<dyn Target>>>;

    /// Whether the backends it starts can be asked to use `response_mode=form_post` (honouring
    /// [`TargetOptions::form_post`]): then a form_post scenario gets one of its own instead of the running
    /// backend.
    fn chooses_response_mode(&self) -> bool {
        false
    }

    /// Whether the backends it starts can be registered for signed userinfo (honouring
    /// [`TargetOptions::signed_userinfo`]): then a signed-userinfo scenario gets one of its own.
    fn chooses_userinfo_signing(&self) -> bool {
        false
    }

    /// Whether the backends it starts can be set up for an `id_token_signed_response_alg` (honouring
    /// [`TargetOptions::id_token_alg`]): ES256 from the provider's P-256 key, HS256 MACed with the client
    /// secret. Without it, ID-SIG-ES256 and ID-SIG-HS256 do not apply (their "Applies when").
    fn chooses_id_token_alg(&self) -> bool {
        false
    }

    /// Hook: starts a backend the way a deployment does (configuration, then startup) with this app-JWT
    /// signing key, and stops it again; says whether it refused to start. A startup property has no running
    /// backend to ask, so this is the factory's hook, not the target's. `Err` is reserved for the hook
    /// itself failing, never for the refusal.
    fn try_start_with_jwt_key<'a>(
        &'a self,
        _provider: &'a ProviderSetup,
        _key: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Startup>> {
        Box::pin(async {
            Err(unsupported(
                "a backend started for the scenario ([start] in the target file)",
            ))
        })
    }
}

/// A running backend; dropping it stops the backend and removes its database. Required: where things are and how the session comes back. Optional: setup hooks.
pub trait Target: Send + Sync + Debug {
    /// The redirect URI to register at the provider (the frontend's callback page).
    fn redirect_uri(&self) -> String;

    /// `GET` here starts a login: a 3xx to the provider plus the browser-binding cookie.
    fn login_url(&self) -> Url;

    /// How the browser starts a login; by default a `GET` of [`Target::login_url`].
    fn login_start(&self) -> LoginStart {
        LoginStart::Get(self.login_url())
    }

    /// Where the frontend hands over the authorization response, and how.
    fn callback(&self) -> (Url, CallbackMethod);

    /// `GET` here with the session returns the profile JSON.
    fn profile_url(&self) -> Url;

    /// `POST {ticket, phone}` here completes a require-binding login; `None` if unsupported.
    fn bind_url(&self) -> Option<Url> {
        None
    }

    /// The login's query parameter that names where to land afterwards; `None` if the backend has none
    /// (then the open-redirect scenarios cannot be checked).
    fn return_to_param(&self) -> Option<String> {
        Some("return_to".into())
    }

    /// `GET` here starts a login that should land on `return_to` afterwards; by default [`Target::login_url`]
    /// with a `return_to` query parameter.
    fn login_url_returning_to(&self, return_to: &str) -> Url {
        let mut url = self.login_url();
        url.query_pairs_mut().append_pair("return_to", return_to);
        url
    }

    /// Where the successful callback's answer sends the frontend next; by default its JSON `return_to`.
    fn return_to(&self, body: &Value) -> Option<String> {
        body.get("return_to")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// `POST` here with the session logs out: the backend ends its session and answers where the browser
    /// goes next ([`Target::end_session_url`]); `None` if the backend has no logout.
    fn logout_url(&self) -> Option<Url> {
        None
    }

    /// Where the logout answer sends the browser (the provider's end-session endpoint with the backend's
    /// parameters, RP-Initiated Logout 1.0 §2); by default its JSON `end_session_url`.
    fn end_session_url(&self, body: &Value) -> Option<Url> {
        body.get("end_session_url")
            .and_then(Value::as_str)
            .and_then(|u| Url::parse(u).ok())
    }

    /// The post-logout redirect URI to register at the provider (RP-Initiated Logout 1.0 §3), if any.
    fn post_logout_redirect_uri(&self) -> Option<String> {
        None
    }

    /// The back-channel logout URI to register at the provider (Back-Channel Logout 1.0 §2.2), if any:
    /// the provider POSTs `logout_token` there.
    fn backchannel_logout_uri(&self) -> Option<String> {
        None
    }

    /// Where the session is.
    fn token_delivery(&self) -> TokenDelivery {
        TokenDelivery::JsonBody("/token".into())
    }

    /// The error code of a refusal; by default the JSON body's `error` field.
    fn error_code(&self, _status: u16, body: &Value) -> Option<String> {
        body.get("error").and_then(Value::as_str).map(str::to_owned)
    }

    /// The binding ticket of a require-binding answer; by default the JSON `binding_ticket` field.
    fn binding_ticket(&self, body: &Value) -> Option<String> {
        body.get("binding_ticket")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Reads the profile JSON; by default its `role`, `avatar_url` and `id` fields.
    fn profile(&self, body: &Value) -> Profile {
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        Profile {
            role: field("role"),
            avatar_url: field("avatar_url"),
            id: match body.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            display_name: field("display_name"),
            subject: None,
            // The contact address the reference client keeps from a provider that vouches for it (Apple).
            email: field("email"),
        }
    }

    /// Reads a profile answer's body, JSON or an HTML page; by default [`Target::profile`] of its JSON.
    fn profile_of_page(&self, body: &str) -> Profile {
        self.profile(&serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Which profile fields this target's [`Target::profile`] reads: a step that needs another says which
    /// to map instead of failing. By default the reference client's `role`, `avatar_url`, `id`,
    /// `display_name`, `email`.
    fn profile_fields(&self) -> Vec<ProfileField> {
        vec![
            ProfileField::Role,
            ProfileField::Picture,
            ProfileField::Id,
            ProfileField::Name,
            ProfileField::Email,
        ]
    }

    /// The suite codes of a refusal; by default [`Target::error_code`] of the JSON body.
    fn refusal_codes(&self, status: u16, body: &Value, _location: Option<&Url>) -> RefusalCodes {
        RefusalCodes::Codes(self.error_code(status, body).into_iter().collect())
    }

    /// How long the backend waits for the provider's token endpoint before it gives up; `None` if the
    /// target does not say (then the slow-provider scenarios do not apply).
    fn provider_timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether logout is a `GET` of [`Target::logout_url`] (a link) rather than a `POST`.
    fn logout_by_get(&self) -> bool {
        false
    }

    /// The `iss` the backend puts in its app tokens, as configured; `None` if the target does not say.
    fn app_token_issuer(&self) -> Option<String> {
        None
    }

    /// The `aud` the backend puts in its app tokens, as configured; `None` if the target does not say.
    fn app_token_audience(&self) -> Option<String> {
        None
    }

    /// `GET` here starts a login with the provider named `provider`; by default [`Target::login_url`] with
    /// a `provider` query parameter.
    fn login_url_for(&self, provider: &str) -> Url {
        let mut url = self.login_url();
        url.query_pairs_mut().append_pair("provider", provider);
        url
    }

    /// `GET` here with the session answers `{"url": ...}`: a login with `provider` that links its
    /// identity to the logged-in user; `None` if linking is unsupported.
    fn link_url(&self, _provider: &str) -> Option<Url> {
        None
    }

    /// `GET` here with the session makes the backend use the provider's tokens from the login again (it
    /// calls userinfo with the access token it kept, refreshing that first when it has expired) and
    /// answer 2xx with what it got; `None` if the backend keeps no provider tokens (then the refresh
    /// scenarios, RF-HAPPY and RF-ID-TOKEN, do not apply).
    fn provider_profile_url(&self) -> Option<Url> {
        None
    }

    /// `GET` here with the session answers `{"identities": [{"id", "provider", ...}]}`.
    fn identities_url(&self) -> Option<Url> {
        None
    }

    /// `DELETE` here with the session unlinks the identity `id` of the list.
    fn identity_url(&self, _id: &str) -> Option<Url> {
        None
    }

    /// Hook: puts a user bound to (issuer, subject) in the backend's database.
    fn seed_user<'a>(&'a self, _user: &'a SeedUser) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Err(unsupported("[hooks] seed_user")) })
    }

    /// Hook: how many users are bound to (issuer, subject). Count them, never answer "exists or not": a
    /// scenario expecting 1 must see a duplicate as 2.
    fn users_bound_to<'a>(
        &'a self,
        _issuer: &'a str,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<usize>> {
        Box::pin(async { Err(unsupported("[hooks] users_bound_to")) })
    }

    /// Hook: how many users the database holds in total.
    fn user_count(&self) -> BoxFuture<'_, anyhow::Result<usize>> {
        Box::pin(async { Err(unsupported("[hooks] user_count")) })
    }

    /// Hook: moves the backend's clock forward (transaction, ticket and session expiry).
    fn advance_clock(&self, _by: Duration) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Err(unsupported("[hooks] advance_clock")) })
    }

    /// Whether [`Target::reset_clock`] is given (a running backend's clock may only move if it can be put
    /// back).
    fn can_reset_clock(&self) -> bool {
        false
    }

    /// Hook: puts the backend's clock back on the real time, undoing [`Target::advance_clock`].
    fn reset_clock(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Err(unsupported("[hooks] reset_clock")) })
    }

    /// Hook: signs `claims` exactly as the backend signs its own sessions (same key, algorithm and header),
    /// so a scenario can present a token that differs from a real one only where it says.
    fn forge_token<'a>(&'a self, _claims: &'a Value) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async { Err(unsupported("[hooks] forge_token")) })
    }
}

/// The factory of a run that names no backend: every scenario that needs one fails saying so, while the
/// scenarios that talk only to the provider still run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTarget;

impl TargetFactory for NoTarget {
    fn name(&self) -> String {
        "no backend".into()
    }

    fn start<'a>(
        &'a self,
        _provider: &'a ProviderSetup,
        _options: &'a TargetOptions,
    ) -> BoxFuture<'a, anyhow::Result<Box<dyn Target>>> {
        Box::pin(async {
            Err(anyhow!(
                "no backend under test was given (RunOptions::new(factory))"
            ))
        })
    }
}

/// A shared factory.
pub type SharedFactory = Arc<dyn TargetFactory>;
