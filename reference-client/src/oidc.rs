//! Everything the backend says to, and believes from, the OpenID provider.
//!
//! - discovery (`/.well-known/openid-configuration`), whose `issuer` must equal the configured one exactly
//!   (RFC 8414 §3.3; CONFORMANCE ID-DISCOVERY-ISS);
//! - the authorization URL, built with the `oauth2` crate (state, nonce, PKCE S256; ST-REQUEST-SHAPE, PK-VALID);
//! - the code exchange with client_secret_basic + PKCE through the `oauth2` crate over a reqwest client with
//!   redirects disabled and a timeout; every provider failure fails closed and the code is never retried
//!   (UM-IDP-FAILURE, ID-TOKEN-RESP);
//! - id_token verification (OIDC Core §3.1.3.7; ID-SIG, ID-ISS, ID-AUD, ID-EXP, ID-IAT-SUB, ID-NONCE, ID-KID).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::config::Settings;
use crate::error::ApiError;
use crate::provider_tokens::ProviderTokens;
use crate::store::ct_eq;

/// The algorithms this client verifies unless it registered one. Never `none`, and HMAC only for a client
/// that registered HS256: an HS256 id_token would otherwise be keyed with a client secret the client never
/// agreed to, or worse, with the provider's public key (RFC 8725 §2.1, §3.1).
const SUPPORTED_ALGS: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256];

/// The largest body read from the provider.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The parts of the discovery document this client uses (OIDC Discovery §3).
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// Where the id_token signing keys are.
    pub jwks_uri: String,
    /// The algorithms the provider signs id_tokens with; intersected with RS256/ES256.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 9207: when true, a callback without `iss` is refused.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Where the profile is when the id_token lacks it (Core §5.3).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Where logout sends the browser (RP-Initiated Logout 1.0 §2); without it logout stays local.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// The token response: RFC 6749 §5.1 plus OIDC's `id_token`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    /// The id_token; its absence fails the login.
    #[serde(default)]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type OidcTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OidcClient<HasAuthUrl, HasTokenUrl> = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    HasTokenUrl,
>;

/// The oauth2 crate's HTTP hook over our reqwest 0.13 client (the crate's own `reqwest` feature would pull in
/// reqwest 0.12 as well). Redirects are disabled on the client: following one could send the code elsewhere.
#[derive(Clone, Debug)]
pub struct OAuthHttp(pub reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_limited(response).await?;
            let mut out = oauth2::http::Response::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

/// A transport failure talking to the provider.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connection, timeout, or body read failure.
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
    /// The body was larger than we accept.
    #[error("response body too large")]
    TooLarge,
}

pub(crate) async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The audience claim: a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "web"`.
    One(String),
    /// `"aud": ["web", …]`.
    Many(Vec<String>),
}

/// The id_token claims this client reads. Required claims are `Option` so their absence is our error, not
/// a deserialisation failure.
#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audience.
    pub aud: Option<Audience>,
    /// Authorized party.
    pub azp: Option<String>,
    /// Expiry.
    pub exp: Option<u64>,
    /// Issued at.
    pub iat: Option<u64>,
    /// Echo of the transaction's nonce.
    pub nonce: Option<String>,
    /// Display name, if the provider puts it in the id_token.
    pub name: Option<String>,
    /// Picture URL, if present.
    pub picture: Option<String>,
    /// The provider's session id (Back-Channel Logout 1.0 §2.1).
    pub sid: Option<String>,
    /// Microsoft Entra ID: the directory tenant (a GUID) the token comes from.
    pub tid: Option<String>,
    /// Google: the Workspace domain of the account (none for a consumer account).
    pub hd: Option<String>,
}

/// How a Microsoft Entra ID provider's issuer and tenant are checked (CONFORMANCE ENTRA-ISSUER,
/// ENTRA-TENANT, ENTRA-V1-ISSUER). The token's `tid` is put into `template` and the result compared
/// exactly with `iss`; then `tid` must be on `allowed_tenants` unless that is `None` (multi-tenant by
/// explicit policy). v1 issuers are refused.
#[derive(Clone, Debug)]
pub struct EntraPolicy {
    /// Where the discovery document is: `{base}/{path tenant}/v2.0/.well-known/openid-configuration`.
    pub discovery_url: String,
    /// `{base}/{tenantid}/v2.0`, with the literal placeholder.
    pub template: String,
    /// The tenants (GUIDs, lower case) whose users may log in; `None`: every tenant.
    pub allowed_tenants: Option<Vec<String>>,
}

/// The literal placeholder of Entra's templated issuer.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl EntraPolicy {
    /// The issuer of an id_token with these `iss` and `tid`, once the tenant is checked: the template
    /// with `tid` put in must equal `iss` exactly, and `tid` must be allowed.
    pub fn check(&self, iss: Option<&str>, tid: Option<&str>) -> Result<String, ApiError> {
        let reject = |why: &str| ApiError::InvalidIdToken(why.to_owned());
        let tid = tid
            .filter(|t| is_guid(t))
            .ok_or_else(|| reject("missing or malformed tid"))?;
        let expected = self.template.replace(TENANT_PLACEHOLDER, tid);
        let iss = iss.ok_or_else(|| reject("wrong or missing iss"))?;
        if iss != expected {
            let v1 = self
                .template
                .replace(&format!("{TENANT_PLACEHOLDER}/v2.0"), &format!("{tid}/"));
            if iss == v1 || iss.starts_with("https://sts.windows.net/") {
                return Err(reject(
                    "a v1 issuer: this app accepts v2.0 id_tokens only (ENTRA-V1-ISSUER)",
                ));
            }
            return Err(reject("iss is not the issuer of the token's tid"));
        }
        if let Some(allowed) = &self.allowed_tenants
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(tid))
        {
            return Err(reject("the token's tenant is not allowed"));
        }
        Ok(expected)
    }

    /// Whether identities named `namespace` come from this provider: an issuer of the template.
    pub fn owns(&self, namespace: &str) -> bool {
        let Some((head, tail)) = self.template.split_once(TENANT_PLACEHOLDER) else {
            return false;
        };
        namespace
            .strip_prefix(head)
            .and_then(|rest| rest.strip_suffix(tail))
            .is_some_and(is_guid)
    }
}

/// The outcome of a fully verified login: who the provider says this is.
#[derive(Clone, Debug)]
pub struct VerifiedLogin {
    /// id_token `iss` (equal to the configured issuer).
    pub issuer: String,
    /// id_token `sub`.
    pub subject: String,
    /// id_token `name`.
    pub name: Option<String>,
    /// id_token `picture`.
    pub picture: Option<String>,
    /// The id_token itself: the `id_token_hint` of this login's logout (RP-Initiated Logout 1.0 §2).
    pub id_token: Option<String>,
    /// id_token `sid`: the provider session a back-channel logout token may name.
    pub sid: Option<String>,
    /// id_token `azp`, if present (then our client id); a refreshed id_token must name it again.
    pub azp: Option<String>,
    /// The token response's access and refresh tokens with this identity, kept for using the provider
    /// again (`None` until the code exchange fills it in).
    pub tokens: Option<ProviderTokens>,
}

/// A refresh grant's answer before its id_token is checked: the rotated tokens (the login's identity
/// kept) and the id_token it carried, if any.
#[derive(Debug)]
pub struct Refreshed {
    /// The new access token, its expiry, and the rotated refresh token (the old one when none came).
    pub tokens: ProviderTokens,
    /// The refreshed id_token, to be checked with [`Provider::verify_refreshed_id_token`] before the new
    /// access token is used.
    pub id_token: Option<String>,
}

/// What userinfo answered an access token.
#[derive(Debug)]
pub enum UserinfoAnswer {
    /// The claims (a JSON object).
    Claims(serde_json::Map<String, serde_json::Value>),
    /// 401: the access token is expired or revoked (RFC 6750 §3.1 `invalid_token`).
    Unauthorized,
}

/// The userinfo claims this client reads (Core §5.3.2).
#[derive(Clone, Debug, Deserialize)]
struct Userinfo {
    /// Must be the id_token's `sub`.
    sub: Option<String>,
    /// Display name.
    name: Option<String>,
    /// Picture URL.
    picture: Option<String>,
}

/// A signed userinfo's claims: the userinfo ones plus `iss` and `aud`.
#[derive(Clone, Debug, Deserialize)]
struct SignedUserinfo {
    /// Must be the configured issuer.
    iss: Option<String>,
    /// Must be our client id.
    aud: Option<Audience>,
    /// The userinfo claims.
    #[serde(flatten)]
    info: Userinfo,
}

/// What a verified back-channel logout token names (Back-Channel Logout 1.0 §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutClaims {
    /// The user at the provider, if named.
    pub sub: Option<String>,
    /// The provider session, if named.
    pub sid: Option<String>,
    /// The token's unique id, used once.
    pub jti: String,
    /// When it was issued.
    pub iat: u64,
}

/// The `events` member a logout token must carry (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What the authorization redirect needs remembered.
#[derive(Debug)]
pub struct AuthorizationStart {
    /// The URL to send the browser to.
    pub url: url::Url,
    /// The PKCE verifier to keep server-side.
    pub pkce_verifier: String,
}

/// The provider as this client sees it: configuration, cached discovery, cached JWKS.
#[derive(Debug)]
pub struct Provider {
    /// The configured issuer; discovery, callbacks and id_tokens must name exactly this.
    issuer: String,
    /// Our client id (the only accepted audience).
    client_id: String,
    /// Our client secret.
    client_secret: crate::config::Secret,
    /// The registered callback.
    redirect_uri: String,
    /// Requested scopes.
    scopes: Vec<String>,
    /// Whether to ask for `response_mode=form_post`.
    form_post: bool,
    /// What we registered as `userinfo_signed_response_alg`: userinfo must then be a JWT of exactly this
    /// algorithm (Core §5.3.2).
    userinfo_alg: Option<Algorithm>,
    /// The registered `id_token_signed_response_alg`, pinned; `None`: RS256 or ES256 as advertised.
    id_token_alg: Option<crate::config::IdTokenAlg>,
    /// Allowed difference with the provider's clock.
    skew_secs: u64,
    /// Redirects off, timeout set.
    http: OAuthHttp,
    /// Application time.
    clock: Clock,
    /// Fetched once, on first use; failures are not cached.
    discovery: Mutex<Option<Arc<Discovery>>>,
    /// The last fetched JWKS (keys that did not parse are dropped).
    jwks: Mutex<Option<Arc<Vec<Jwk>>>>,
    /// Microsoft Entra ID: the issuer template and tenant allow-list; `None` for plain OpenID Connect.
    entra: Option<EntraPolicy>,
    /// Google's rules, for a `kind = "google"` provider; `None`: plain OpenID Connect.
    google: Option<GoogleRules>,
}

/// What a `kind = "google"` provider checks beyond OpenID Connect (CONFORMANCE GOOGLE-ISS, GOOGLE-HD,
/// GOOGLE-AZP, GOOGLE-REFRESH).
#[derive(Clone, Debug, Default)]
pub struct GoogleRules {
    /// The only Workspace domain admitted: the id_token's `hd` must equal it (the `hd=` request
    /// parameter is sent as a hint only).
    pub hosted_domain: Option<String>,
    /// Other client ids of our Google project accepted as `azp`; `aud` must still be our client id.
    pub authorized_parties: Vec<String>,
    /// `access_type=offline`: a refresh token comes on the first consent and is kept.
    pub offline: bool,
}

impl GoogleRules {
    /// Whether `iss` names `issuer`: exactly, or Google's legacy form without the scheme
    /// (`accounts.google.com` for `https://accounts.google.com`). Nothing else.
    fn issuer_matches(issuer: &str, iss: &str) -> bool {
        iss == issuer
            || issuer
                .strip_prefix("https://")
                .or_else(|| issuer.strip_prefix("http://"))
                .is_some_and(|bare| iss == bare)
    }
}

/// Our client's registration at one `[[providers]]` OpenID provider.
#[derive(Debug)]
pub struct Registration<'a> {
    /// The provider's issuer.
    pub issuer: &'a str,
    /// Our client id there.
    pub client_id: &'a str,
    /// Our client secret there.
    pub client_secret: &'a crate::config::Secret,
    /// The scopes we ask for.
    pub scopes: &'a [String],
    /// The `userinfo_signed_response_alg` we registered, if any.
    pub userinfo_signed_response_alg: Option<Algorithm>,
    /// The `id_token_signed_response_alg` we registered, if any.
    pub id_token_alg: Option<crate::config::IdTokenAlg>,
}

impl Provider {
    /// The client of one `[[providers]]` OpenID provider: `settings` with its registration there.
    pub fn for_provider(
        settings: &Settings,
        registration: &Registration<'_>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let mut own = settings.clone();
        own.userinfo_signed_response_alg = registration.userinfo_signed_response_alg;
        own.id_token_alg = registration.id_token_alg;
        own.issuer = registration.issuer.to_owned();
        own.client_id = registration.client_id.to_owned();
        own.client_secret = registration.client_secret.clone();
        own.scopes = registration.scopes.to_vec();
        Self::new(&own, clock)
    }

    /// The client of a Microsoft Entra ID `[[providers]]` entry: `registration.issuer` is the issuer its
    /// discovery names (the template at `common` and `organizations`), `policy` how tokens are checked.
    pub fn for_entra(
        settings: &Settings,
        registration: &Registration<'_>,
        policy: EntraPolicy,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let mut provider = Self::for_provider(settings, registration, clock)?;
        provider.entra = Some(policy);
        Ok(provider)
    }

    /// The Entra policy, for an Entra provider.
    pub fn entra(&self) -> Option<&EntraPolicy> {
        self.entra.as_ref()
    }

    /// A provider client from settings. Nothing is fetched yet.
    pub fn new(settings: &Settings, clock: Clock) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder();
        // A private CA (e.g. the certificate `mock-idp --tls` generates) is trusted besides the system roots.
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading ca_file {}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("ca_file {} holds no PEM certificate", path.display()))?;
            anyhow::ensure!(
                !certs.is_empty(),
                "ca_file {} holds no PEM certificate",
                path.display()
            );
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.http_timeout)
            .connect_timeout(settings.http_timeout.min(Duration::from_secs(10)))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            issuer: settings.issuer.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_uri: settings.redirect_uri.to_string(),
            scopes: settings.scopes.clone(),
            form_post: settings.response_mode == crate::config::ResponseMode::FormPost,
            userinfo_alg: settings.userinfo_signed_response_alg,
            id_token_alg: settings.id_token_alg,
            skew_secs: settings.clock_skew.as_secs(),
            http: OAuthHttp(http),
            clock,
            discovery: Mutex::new(None),
            jwks: Mutex::new(None),
            entra: None,
            google: None,
        })
    }

    /// This provider with Google's rules (`kind = "google"`).
    pub fn with_google(mut self, rules: GoogleRules) -> Self {
        self.google = Some(rules);
        self
    }

    /// Whether this is a `kind = "google"` provider.
    pub fn is_google(&self) -> bool {
        self.google.is_some()
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, ApiError> {
        let response = self
            .http
            .0
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| ApiError::Provider(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(ApiError::Provider(format!(
                "GET {url}: status {}",
                response.status()
            )));
        }
        let body = read_limited(response)
            .await
            .map_err(|e| ApiError::Provider(format!("GET {url}: {e}")))?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Provider(format!("GET {url}: {e}")))
    }

    /// The discovery document, fetched on first use. Its `issuer` must equal the configured issuer
    /// character for character (RFC 8414 §3.3).
    pub async fn discovery(&self) -> Result<Arc<Discovery>, ApiError> {
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let url = match &self.entra {
            Some(entra) => entra.discovery_url.clone(),
            None => format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            ),
        };
        let doc: Discovery = self.get_json(&url).await?;
        if doc.issuer != self.issuer {
            tracing::warn!(expected = %self.issuer, got = %doc.issuer, "discovery issuer mismatch");
            return Err(ApiError::IssuerMismatch(
                "the discovery document names another issuer",
            ));
        }
        let doc = Arc::new(doc);
        *cached = Some(doc.clone());
        Ok(doc)
    }

    fn oauth_client(
        &self,
        discovery: &Discovery,
    ) -> Result<OidcClient<oauth2::EndpointSet, oauth2::EndpointSet>, ApiError> {
        let bad = |what: &str, e: oauth2::url::ParseError| {
            ApiError::Provider(format!("discovery {what} is not a URL: {e}"))
        };
        Ok(OidcClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_owned()))
            .set_auth_uri(
                AuthUrl::new(discovery.authorization_endpoint.clone())
                    .map_err(|e| bad("authorization_endpoint", e))?,
            )
            .set_token_uri(
                TokenUrl::new(discovery.token_endpoint.clone())
                    .map_err(|e| bad("token_endpoint", e))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| bad("redirect_uri", e))?,
            ))
    }

    /// Builds the authorization request URL (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) for a given state and nonce,
    /// with a fresh 256-bit PKCE verifier (RFC 7636 §4.1–4.2, S256).
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
    ) -> Result<AuthorizationStart, ApiError> {
        let discovery = self.discovery().await?;
        let client = self.oauth_client(&discovery)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .add_extra_param("nonce", nonce)
            .set_pkce_challenge(challenge);
        if self.form_post {
            request = request.add_extra_param("response_mode", "form_post");
        }
        if let Some(google) = &self.google {
            // A hint for Google's account chooser only: the id_token's `hd` is what is checked.
            if let Some(hd) = &google.hosted_domain {
                request = request.add_extra_param("hd", hd.clone());
            }
            if google.offline {
                request = request.add_extra_param("access_type", "offline");
            }
        }
        let (url, _) = request.url();
        Ok(AuthorizationStart {
            url,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code once (never retried) and verifies the id_token against `nonce`.
    pub async fn exchange_and_verify(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, ApiError> {
        let discovery = self.discovery().await?;
        let client = self.oauth_client(&discovery)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        require_bearer(&response)?;
        let id_token = response
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or_else(|| ApiError::Provider("token response has no id_token".into()))?;
        let mut login = self.verify_id_token(&discovery, id_token, nonce).await?;
        if login.name.is_none() || login.picture.is_none() {
            self.fill_from_userinfo(&discovery, response.access_token().secret(), &mut login)
                .await;
        }
        login.tokens = Some(ProviderTokens {
            access_token: response.access_token().secret().clone(),
            access_expires_at: self.expires_at(response.expires_in()),
            refresh_token: response.refresh_token().map(|r| r.secret().clone()),
            issuer: login.issuer.clone(),
            subject: login.subject.clone(),
            azp: login.azp.clone(),
        });
        Ok(login)
    }

    /// When a token that lives `expires_in` expires on the application clock.
    fn expires_at(&self, expires_in: Option<Duration>) -> Option<u64> {
        expires_in.map(|d| self.clock.now_unix().saturating_add(d.as_secs()))
    }

    /// Redeems the refresh token of `tokens` at the token endpoint (RFC 6749 §6), authenticated as for
    /// the code exchange, once (never retried: a retry of a spent refresh token looks like a replay and
    /// revokes the family, RFC 9700 §4.14.2). The answer's id_token, if any, is not checked yet: use
    /// [`Provider::refresh`], which checks it, unless you check it yourself.
    pub async fn redeem_refresh_token(
        &self,
        tokens: &ProviderTokens,
    ) -> Result<Refreshed, ApiError> {
        let refresh_token = tokens
            .refresh_token
            .as_deref()
            .ok_or_else(|| ApiError::Provider("the login brought no refresh token".into()))?;
        let discovery = self.discovery().await?;
        let client = self.oauth_client(&discovery)?;
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        require_bearer(&response)?;
        Ok(Refreshed {
            tokens: ProviderTokens {
                access_token: response.access_token().secret().clone(),
                access_expires_at: self.expires_at(response.expires_in()),
                // RFC 6749 §6: without a new refresh token, the old one stays usable.
                refresh_token: response
                    .refresh_token()
                    .map(|r| r.secret().clone())
                    .or_else(|| tokens.refresh_token.clone()),
                issuer: tokens.issuer.clone(),
                subject: tokens.subject.clone(),
                azp: tokens.azp.clone(),
            },
            id_token: response.extra_fields().id_token.clone(),
        })
    }

    /// Refreshes `tokens` ([`Provider::redeem_refresh_token`]) and checks the refreshed id_token, if one
    /// came ([`Provider::verify_refreshed_id_token`]). On `Err` the new access token must not be used.
    pub async fn refresh(&self, tokens: &ProviderTokens) -> Result<ProviderTokens, ApiError> {
        let refreshed = self.redeem_refresh_token(tokens).await?;
        if let Some(id_token) = &refreshed.id_token {
            self.verify_refreshed_id_token(id_token, tokens).await?;
        }
        Ok(refreshed.tokens)
    }

    /// OIDC Core §12.2: a refreshed id_token passes the checks of §3.1.3.7 (signature, `iss`, `aud`,
    /// `azp`, `exp`, `iat`; no `nonce` is expected, none was sent) and names the same `iss` and `sub` as
    /// the login's, and its `azp` when the login's had one. Its `aud` equals the login's because both
    /// must consist of our client id alone.
    pub async fn verify_refreshed_id_token(
        &self,
        token: &str,
        original: &ProviderTokens,
    ) -> Result<(), ApiError> {
        let discovery = self.discovery().await?;
        let refreshed = self.check_id_token(&discovery, token, None).await?;
        let reject = |why: &str| ApiError::InvalidIdToken(why.to_owned());
        if refreshed.issuer != original.issuer {
            return Err(reject(
                "the refreshed id_token names another iss than the login's",
            ));
        }
        if refreshed.subject != original.subject {
            return Err(reject(
                "the refreshed id_token names another sub than the login's",
            ));
        }
        if original.azp.is_some() && refreshed.azp != original.azp {
            return Err(reject("the refreshed id_token's azp is not the login's"));
        }
        Ok(())
    }

    /// Calls userinfo with `access_token` (RFC 6750 §2.1, the header only) and reads its claims
    /// (bounded); a non-2xx answer other than 401 and an unreadable body are provider errors.
    pub async fn userinfo(&self, access_token: &str) -> Result<UserinfoAnswer, ApiError> {
        let discovery = self.discovery().await?;
        let endpoint = discovery
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| ApiError::Provider("the provider has no userinfo endpoint".into()))?;
        let response = self
            .http
            .0
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| ApiError::Provider(format!("userinfo: {e}")))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Ok(UserinfoAnswer::Unauthorized);
        }
        if !response.status().is_success() {
            return Err(ApiError::Provider(format!(
                "userinfo: status {}",
                response.status()
            )));
        }
        let body = read_limited(response)
            .await
            .map_err(|e| ApiError::Provider(format!("userinfo: {e}")))?;
        serde_json::from_slice(&body)
            .map(UserinfoAnswer::Claims)
            .map_err(|e| ApiError::Provider(format!("userinfo is not a JSON object: {e}")))
    }

    /// Core §5.3: the profile claims the id_token lacks, from userinfo, used only when its `sub` is the
    /// id_token's (§5.3.2; CONFORMANCE ID-USERINFO-SUB). Userinfo only adds to a login already verified:
    /// when it fails or names someone else, the login goes on without it. A client registered with
    /// `userinfo_signed_response_alg` takes only an `application/jwt` answer whose signature (that
    /// algorithm, a key of the JWKS), `iss` and `aud` check out (§5.3.4; CONFORMANCE RS-USERINFO-JWT);
    /// anything else is discarded the same way.
    async fn fill_from_userinfo(
        &self,
        discovery: &Discovery,
        access_token: &str,
        login: &mut VerifiedLogin,
    ) {
        let Some(endpoint) = discovery.userinfo_endpoint.as_deref() else {
            return;
        };
        let accept = if self.userinfo_alg.is_some() {
            "application/jwt"
        } else {
            "application/json"
        };
        let fetched = async {
            let response = self
                .http
                .0
                .get(endpoint)
                .bearer_auth(access_token)
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("status {}", response.status()));
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_default();
            let body = read_limited(response).await.map_err(|e| e.to_string())?;
            match self.userinfo_alg {
                None => serde_json::from_slice::<Userinfo>(&body).map_err(|e| e.to_string()),
                Some(alg) => {
                    if content_type != "application/jwt" {
                        return Err(format!(
                            "a signed userinfo was registered; the answer is {content_type:?}, \
                             not application/jwt"
                        ));
                    }
                    let jwt = std::str::from_utf8(&body).map_err(|e| e.to_string())?;
                    self.verify_signed_userinfo(discovery, jwt.trim(), alg)
                        .await
                }
            }
        }
        .await;
        match fetched {
            Ok(info) if info.sub.as_deref() == Some(login.subject.as_str()) => {
                login.name = login.name.take().or(info.name);
                login.picture = login.picture.take().or(info.picture);
            }
            Ok(_) => tracing::warn!("userinfo names another subject; its claims are discarded"),
            Err(e) => tracing::warn!(error = %e, "userinfo failed; the login goes on without it"),
        }
    }

    /// A signed userinfo's claims (Core §5.3.2): the header's alg must be the registered one (never
    /// `none`, never another), the signature must verify with a key of the provider's JWKS (re-fetched
    /// once for an unknown kid, as for id_tokens), `iss` must be the issuer and `aud` our client id alone.
    async fn verify_signed_userinfo(
        &self,
        discovery: &Discovery,
        jwt: &str,
        alg: Algorithm,
    ) -> Result<Userinfo, String> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("header: {e}"))?;
        if header.alg != alg {
            return Err(format!("signed with {:?}, registered {alg:?}", header.alg));
        }
        let keys = self
            .jwks(discovery, false)
            .await
            .map_err(|e| e.to_string())?;
        let jwk = match select_key(&keys, header.kid.as_deref(), alg) {
            Some(k) => k.clone(),
            None if header.kid.is_some() => {
                let keys = self
                    .jwks(discovery, true)
                    .await
                    .map_err(|e| e.to_string())?;
                select_key(&keys, header.kid.as_deref(), alg)
                    .cloned()
                    .ok_or("no key with this kid")?
            }
            None => return Err("no kid and not exactly one usable key".into()),
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key: {e}"))?;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<SignedUserinfo>(jwt, &key, &validation)
            .map_err(|e| format!("signature: {e}"))?
            .claims;
        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err("wrong or missing iss".into());
        }
        match &claims.aud {
            Some(Audience::One(a)) if a == &self.client_id => {}
            Some(Audience::Many(list))
                if !list.is_empty() && list.iter().all(|a| a == &self.client_id) => {}
            _ => return Err("wrong or missing aud".into()),
        }
        Ok(claims.info)
    }

    /// Fetches the JWKS; `refresh` forces a new fetch.
    async fn jwks(&self, discovery: &Discovery, refresh: bool) -> Result<Arc<Vec<Jwk>>, ApiError> {
        let mut cached = self.jwks.lock().await;
        if !refresh && let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        #[derive(Deserialize)]
        struct RawJwks {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawJwks = self.get_json(&discovery.jwks_uri).await?;
        // A key type this library cannot parse is skipped, not fatal for the others.
        let keys: Vec<Jwk> = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value(k).ok())
            .collect();
        let keys = Arc::new(keys);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    /// The JWKS key that verifies an RS256 or ES256 id_token with this header (ID-KID).
    async fn id_token_key(
        &self,
        discovery: &Discovery,
        header: &jsonwebtoken::Header,
    ) -> Result<DecodingKey, ApiError> {
        let reject = |why: &str| ApiError::InvalidIdToken(why.to_owned());
        // `jku`, `x5u` and `jwk` headers are ignored: keys come only from the discovery's jwks_uri.
        let keys = self.jwks(discovery, false).await?;
        let jwk = match select_key(&keys, header.kid.as_deref(), header.alg) {
            Some(k) => k.clone(),
            None if header.kid.is_some() => {
                // Key rotation: one re-fetch for an unknown kid, then give up (ID-KID).
                let keys = self.jwks(discovery, true).await?;
                select_key(&keys, header.kid.as_deref(), header.alg)
                    .cloned()
                    .ok_or_else(|| reject("no key with this kid"))?
            }
            None => return Err(reject("no kid and not exactly one usable key")),
        };
        DecodingKey::from_jwk(&jwk).map_err(|_| reject("unusable key"))
    }

    /// Checks a login's id_token (OIDC Core §3.1.3.7), its `nonce` included, and returns who it names.
    pub async fn verify_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<VerifiedLogin, ApiError> {
        self.check_id_token(discovery, token, Some(nonce)).await
    }

    /// The checks of Core §3.1.3.7; the `nonce` only when one was sent (a refresh sends none, §12.2).
    async fn check_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<VerifiedLogin, ApiError> {
        let reject = |why: &str| ApiError::InvalidIdToken(why.to_owned());
        // Unknown algorithms, `none` included, fail to parse here.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| reject("malformed header or unsupported alg"))?;
        let advertised: Vec<&str> = if discovery.id_token_signing_alg_values_supported.is_empty() {
            vec!["RS256"] // OIDC Discovery §3: RS256 is the default.
        } else {
            discovery
                .id_token_signing_alg_values_supported
                .iter()
                .map(String::as_str)
                .collect()
        };
        let alg_name = match header.alg {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::HS256 => "HS256",
            _ => return Err(reject("algorithm not allowed")),
        };
        match self.id_token_alg {
            // The registered alg and no other (RFC 8725 §3.1): an RS256 id_token to an HS256 client is
            // refused as an HS256 one to an RS256 client is.
            Some(pinned) if pinned.as_str() != alg_name => {
                return Err(reject("not the algorithm this client registered"));
            }
            Some(_) => {}
            None if !SUPPORTED_ALGS.contains(&header.alg) || !advertised.contains(&alg_name) => {
                return Err(reject("algorithm not advertised by the provider"));
            }
            None => {}
        }
        let key = if header.alg == Algorithm::HS256 {
            // OIDC Core §10.1: the MAC key is the UTF-8 octets of our client secret.
            DecodingKey::from_secret(self.client_secret.expose().as_bytes())
        } else {
            self.id_token_key(discovery, &header).await?
        };
        let mut validation = Validation::new(header.alg);
        // Time, issuer and audience are checked below, against the application clock and our rules.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &key, &validation)
            .map_err(|e| ApiError::InvalidIdToken(format!("signature: {e}")))?
            .claims;

        let issuer = match &self.entra {
            Some(entra) => entra.check(claims.iss.as_deref(), claims.tid.as_deref())?,
            None => {
                let iss_ok = match (&self.google, claims.iss.as_deref()) {
                    (_, None) => false,
                    // Google only: its legacy scheme-less form too (GOOGLE-ISS).
                    (Some(_), Some(iss)) => GoogleRules::issuer_matches(&self.issuer, iss),
                    (None, Some(iss)) => iss == self.issuer,
                };
                if !iss_ok {
                    return Err(reject("wrong or missing iss"));
                }
                self.issuer.clone()
            }
        };
        check_audience(claims.aud.as_ref(), &self.client_id)?;
        if let Some(azp) = &claims.azp
            && azp != &self.client_id
            && !self
                .google
                .as_ref()
                .is_some_and(|g| g.authorized_parties.contains(azp))
        {
            return Err(reject("azp is not our client_id"));
        }
        // GOOGLE-HD: the claim, never the request's hint or the email's domain.
        if let Some(domain) = self.google.as_ref().and_then(|g| g.hosted_domain.as_ref())
            && claims.hd.as_deref() != Some(domain.as_str())
        {
            return Err(reject("hd is not the admitted Workspace domain"));
        }
        check_times(
            claims.exp,
            claims.iat,
            self.clock.now_unix(),
            self.skew_secs,
        )?;
        let subject = match claims.sub {
            Some(s) if !s.is_empty() => s,
            _ => return Err(reject("missing sub")),
        };
        if let Some(nonce) = nonce
            && !claims.nonce.as_deref().is_some_and(|n| ct_eq(n, nonce))
        {
            return Err(reject("wrong or missing nonce"));
        }
        Ok(VerifiedLogin {
            issuer,
            subject,
            name: claims.name,
            picture: claims.picture,
            id_token: Some(token.to_owned()),
            sid: claims.sid,
            azp: claims.azp,
            tokens: None,
        })
    }
}

impl Provider {
    /// The provider's end-session URL for a logout (RP-Initiated Logout 1.0 §2): `id_token_hint` when
    /// known, our `client_id`, the registered `post_logout_redirect_uri` and `state`. `None` when the
    /// provider advertises no end-session endpoint.
    pub async fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &url::Url,
        state: &str,
    ) -> Result<Option<url::Url>, ApiError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = &discovery.end_session_endpoint else {
            return Ok(None);
        };
        let mut url = url::Url::parse(endpoint)
            .map_err(|e| ApiError::Provider(format!("end_session_endpoint is not a URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(hint) = id_token_hint {
                q.append_pair("id_token_hint", hint);
            }
            q.append_pair("client_id", &self.client_id)
                .append_pair(
                    "post_logout_redirect_uri",
                    post_logout_redirect_uri.as_str(),
                )
                .append_pair("state", state);
        }
        Ok(Some(url))
    }

    /// Validates a back-channel logout token (Back-Channel Logout 1.0 §2.6): signed by a key of the
    /// provider's JWKS with an advertised algorithm, `iss` ours, `aud` our client id, `iat` not older than
    /// `max_age_secs` nor in the future, `exp` (if any) not passed, the back-channel `events` member, `sub`
    /// or `sid`, and no `nonce`. Whether `jti` was seen before is the caller's check (step 9).
    pub async fn verify_logout_token(
        &self,
        token: &str,
        max_age_secs: u64,
    ) -> Result<LogoutClaims, ApiError> {
        let reject = |why: &str| ApiError::InvalidLogoutToken(why.to_owned());
        let discovery = self.discovery().await?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| reject("malformed header or unsupported alg"))?;
        // §2.6 step 2 and RFC 8725 §3.11: the typed header, when present, must be logout+jwt.
        if header
            .typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("logout+jwt") && t != "JWT")
        {
            return Err(reject("typ is not logout+jwt"));
        }
        let advertised = &discovery.id_token_signing_alg_values_supported;
        let alg_name = match header.alg {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            _ => return Err(reject("algorithm not allowed")),
        };
        if !advertised.is_empty() && !advertised.iter().any(|a| a == alg_name) {
            return Err(reject("algorithm not advertised by the provider"));
        }
        let keys = self.jwks(&discovery, false).await?;
        let jwk = match select_key(&keys, header.kid.as_deref(), header.alg) {
            Some(k) => k.clone(),
            None if header.kid.is_some() => {
                let keys = self.jwks(&discovery, true).await?;
                select_key(&keys, header.kid.as_deref(), header.alg)
                    .cloned()
                    .ok_or_else(|| reject("no key with this kid"))?
            }
            None => return Err(reject("no kid and not exactly one usable key")),
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| reject("unusable key"))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| ApiError::InvalidLogoutToken(format!("signature: {e}")))?
            .claims;
        // §2.6 step 3 (OIDC Core §3.1.3.7 #2–#4): issuer and audience.
        if claims.get("iss").and_then(|v| v.as_str()) != Some(self.issuer.as_str()) {
            return Err(reject("wrong or missing iss"));
        }
        let aud_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => a == &self.client_id,
            Some(serde_json::Value::Array(list)) => {
                !list.is_empty() && list.iter().all(|a| a.as_str() == Some(&self.client_id))
            }
            _ => false,
        };
        if !aud_ok {
            return Err(reject("wrong or missing aud"));
        }
        let now = self.clock.now_unix();
        // §2.6 step 3 (iat) and step 6: not from the future, not older than the window.
        let iat = claims
            .get("iat")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| reject("missing iat"))?;
        if iat > now.saturating_add(self.skew_secs)
            || iat
                .saturating_add(max_age_secs)
                .saturating_add(self.skew_secs)
                < now
        {
            return Err(reject("iat in the future or too old"));
        }
        if let Some(exp) = claims.get("exp")
            && exp
                .as_u64()
                .is_none_or(|exp| exp.saturating_add(self.skew_secs) <= now)
        {
            return Err(reject("expired"));
        }
        // §2.6 step 5: the back-channel event, as a JSON object.
        if !claims
            .get("events")
            .and_then(|e| e.get(BACKCHANNEL_EVENT))
            .is_some_and(serde_json::Value::is_object)
        {
            return Err(reject("no back-channel logout event"));
        }
        // §2.6 step 7: a logout token never carries a nonce (so an id_token cannot pass as one).
        if claims.get("nonce").is_some() {
            return Err(reject("a logout token must not carry a nonce"));
        }
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (sub, sid) = (text("sub"), text("sid"));
        // §2.6 step 4: at least one of sub and sid.
        if sub.is_none() && sid.is_none() {
            return Err(reject("neither sub nor sid"));
        }
        let jti = text("jti").ok_or_else(|| reject("missing jti"))?;
        Ok(LogoutClaims { sub, sid, jti, iat })
    }
}

/// Picks the verification key: by `kid` when there is one; otherwise the single usable key.
/// A token request's failure as the API reports it (UM-IDP-FAILURE).
fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, BasicErrorResponse>,
) -> ApiError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            ApiError::Provider(format!("token endpoint answered {}", r.error()))
        }
        RequestTokenError::Request(e) => ApiError::Provider(format!("token request failed: {e}")),
        RequestTokenError::Parse(e, _) => {
            ApiError::Provider(format!("token response is not a token response: {e}"))
        }
        RequestTokenError::Other(e) => ApiError::Provider(format!("token response: {e}")),
    }
}

/// RFC 6749 §5.1: `token_type` is case-insensitive; only Bearer is understood here.
fn require_bearer(response: &OidcTokenResponse) -> Result<(), ApiError> {
    let token_type = response.token_type().as_ref();
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Provider(format!(
            "token_type {token_type:?} is not Bearer"
        )));
    }
    Ok(())
}

/// The JWKS key for a JWS header's `kid` and `alg` (or, without a `kid`, the one usable key).
/// Core §3.1.3.7 #3: the `aud` is our client id, and every audience is us (we trust no other party).
pub(crate) fn check_audience(aud: Option<&Audience>, client_id: &str) -> Result<(), ApiError> {
    match aud {
        Some(Audience::One(a)) if a == client_id => Ok(()),
        Some(Audience::Many(list)) if !list.is_empty() && list.iter().all(|a| a == client_id) => {
            Ok(())
        }
        _ => Err(ApiError::InvalidIdToken(
            "wrong, missing or untrusted extra aud".into(),
        )),
    }
}

/// Core §3.1.3.7 #9 and #10: `exp` not passed and `iat` not in the future, by the app's clock give or
/// take `skew` seconds.
pub(crate) fn check_times(
    exp: Option<u64>,
    iat: Option<u64>,
    now: u64,
    skew: u64,
) -> Result<(), ApiError> {
    let reject = |why: &str| Err(ApiError::InvalidIdToken(why.to_owned()));
    match exp {
        Some(exp) if exp.saturating_add(skew) > now => {}
        _ => return reject("expired or missing exp"),
    }
    match iat {
        Some(iat) if iat <= now.saturating_add(skew) => Ok(()),
        _ => reject("missing iat or iat in the future"),
    }
}

pub(crate) fn select_key<'a>(
    keys: &'a [Jwk],
    kid: Option<&str>,
    alg: Algorithm,
) -> Option<&'a Jwk> {
    let usable = |k: &&Jwk| {
        let use_ok = matches!(
            k.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        );
        let alg_ok = k
            .common
            .key_algorithm
            .is_none_or(|ka| Algorithm::try_from(ka).ok() == Some(alg));
        let kty_ok = match (&k.algorithm, alg) {
            (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
                ec.curve == EllipticCurve::P256
            }
            _ => false,
        };
        use_ok && alg_ok && kty_ok
    };
    match kid {
        Some(kid) => keys
            .iter()
            .filter(usable)
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut candidates = keys.iter().filter(usable);
            let first = candidates.next()?;
            candidates.next().is_none().then_some(first)
        }
    }
}

#[cfg(test)]
mod entra_tests {
    use super::*;

    const A: &str = "11111111-2222-4333-8444-555555555555";
    const B: &str = "0b7e6f3a-1c2d-4e5f-8a9b-c0d1e2f3a4b5";

    fn policy(allowed: Option<&[&str]>) -> EntraPolicy {
        EntraPolicy {
            discovery_url: String::new(),
            template: "https://login.example/{tenantid}/v2.0".into(),
            allowed_tenants: allowed.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn refused(r: Result<String, ApiError>) -> String {
        match r {
            Err(ApiError::InvalidIdToken(why)) => why,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn the_tid_is_put_into_the_template_and_compared_exactly() {
        let p = policy(Some(&[A]));
        let iss = |t: &str| format!("https://login.example/{t}/v2.0");
        assert_eq!(p.check(Some(&iss(A)), Some(A)).expect("ok"), iss(A));
        // Another tenant's issuer with this tid, or no tid: refused.
        assert!(refused(p.check(Some(&iss(B)), Some(A))).contains("tid"));
        assert!(refused(p.check(Some(&iss(A)), None)).contains("tid"));
        assert!(refused(p.check(Some(&iss(A)), Some("{tenantid}"))).contains("tid"));
        // By prefix, with a trailing slash, or the template itself: refused.
        assert!(!refused(p.check(Some(&format!("{}/", iss(A))), Some(A))).is_empty());
        assert!(
            !refused(p.check(Some("https://login.example/{tenantid}/v2.0"), Some(A))).is_empty()
        );
        // The v1 forms are refused by name.
        let v1 = refused(p.check(Some(&format!("https://login.example/{A}/")), Some(A)));
        assert!(v1.contains("v1"), "{v1}");
        let v1 = refused(p.check(Some(&format!("https://sts.windows.net/{A}/")), Some(A)));
        assert!(v1.contains("v1"), "{v1}");
    }

    #[test]
    fn only_allowed_tenants_log_in_unless_multi_tenant() {
        let iss = |t: &str| format!("https://login.example/{t}/v2.0");
        let listed = policy(Some(&[A]));
        assert!(refused(listed.check(Some(&iss(B)), Some(B))).contains("not allowed"));
        let any = policy(None);
        assert_eq!(any.check(Some(&iss(B)), Some(B)).expect("ok"), iss(B));
        // Multi-tenant still checks the issuer against the tid.
        assert!(any.check(Some(&iss(A)), Some(B)).is_err());
        assert!(any.owns(&iss(B)) && !any.owns("https://login.example/common/v2.0"));
    }
}

#[cfg(test)]
mod tests {
    use super::{Audience, GoogleRules, check_audience, check_times};

    #[test]
    fn every_audience_must_be_us_and_the_times_hold_within_the_skew() {
        let one = |a: &str| Audience::One(a.into());
        assert!(check_audience(Some(&one("app")), "app").is_ok());
        assert!(check_audience(Some(&one("other")), "app").is_err());
        assert!(check_audience(None, "app").is_err());
        let many = |l: &[&str]| Audience::Many(l.iter().map(|a| (*a).to_owned()).collect());
        assert!(check_audience(Some(&many(&["app"])), "app").is_ok());
        assert!(check_audience(Some(&many(&["app", "other"])), "app").is_err());
        assert!(check_audience(Some(&many(&[])), "app").is_err());
        // exp: passed only beyond the skew; iat: in the future only beyond it.
        assert!(check_times(Some(100), Some(90), 105, 10).is_ok());
        assert!(check_times(Some(100), Some(90), 110, 10).is_err());
        assert!(check_times(None, Some(90), 50, 10).is_err());
        assert!(check_times(Some(200), Some(115), 105, 10).is_ok());
        assert!(check_times(Some(200), Some(116), 105, 10).is_err());
        assert!(check_times(Some(200), None, 105, 10).is_err());
    }

    #[test]
    fn google_accepts_its_issuer_with_or_without_the_scheme_and_nothing_else() {
        let ok = |iss| GoogleRules::issuer_matches("https://accounts.google.com", iss);
        assert!(ok("https://accounts.google.com"));
        assert!(ok("accounts.google.com"));
        assert!(!ok("http://accounts.google.com"));
        assert!(!ok("https://accounts.google.com/"));
        assert!(!ok("accounts.google.com/"));
        assert!(!ok("evil.example"));
        assert!(!ok(""));
    }
}
