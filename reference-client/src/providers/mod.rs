//! The configured providers (`[[providers]]`): one OpenID provider ([`crate::oidc`]), the WeChat website
//! login ([`wechat`]), a GitHub OAuth app ([`github`]) or Sign in with Apple ([`apple`]) each, behind one interface: the authorization URL
//! and, from a code, the verified identity.
//!
//! An identity is (namespace, subject), stored as the `issuer` and `subject` of the `identities` table:
//! - OpenID: (issuer, `sub`); Google (`kind = "google"`) is OpenID with Google's rules, keyed on (the
//!   configured issuer, `sub`) whichever form of the issuer the id_token names;
//! - WeChat: (`wechat:{api}`, `unionid`) when the answer has one, else (`wechat:{api}#{appid}`, `openid`),
//!   because an openid is only unique within one app;
//! - GitHub: (`github:{api}`, the numeric `id`), never the renamable `login`;
//! - Microsoft Entra ID: (`iss`, `sub`), where `iss` is the token's tenant's issuer (the template with its
//!   `tid` put in), so one tenant's users are never another's; never `email`, `preferred_username` or
//!   `oid` alone (CONFORMANCE ENTRA-IDENTITY-KEY).
//! - Apple: (Apple's issuer, the id_token's `sub`), never the unsigned `user` field's email.
//!
//! Never an email or a nickname (CONFORMANCE NP-IDENTITY-KEY, NP-NO-EMAIL-LINK).

pub mod apple;
pub mod github;
pub mod wechat;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::clock::Clock;
use crate::config::{ProviderKind, ProviderSettings, Settings, UnknownUserPolicy};
use crate::error::ApiError;
use crate::oidc::{AuthorizationStart, Provider};
use crate::provider_tokens::ProviderTokens;

/// Who a provider says logged in, after every check.
#[derive(Clone, Debug)]
pub struct ProviderLogin {
    /// The identity's namespace (the `issuer` column): the OpenID issuer, `wechat:…` or `github:…`.
    pub namespace: String,
    /// The provider's stable subject.
    pub subject: String,
    /// Display name (id_token or userinfo `name`, WeChat `nickname`, GitHub `name`).
    pub name: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// An email the provider vouches for (Apple: `email_verified`), kept as the user's contact address;
    /// never used to find or link an account. `None` where the provider gives none we keep.
    pub email: Option<String>,
    /// OpenID Connect only: the id_token, this login's `id_token_hint` at logout (RP-Initiated Logout 1.0
    /// §2).
    pub id_token: Option<String>,
    /// OpenID Connect only: the id_token's `sid`, which a back-channel logout token may name.
    pub sid: Option<String>,
    /// OpenID Connect only: the login's access and refresh tokens, kept to use the provider again.
    pub tokens: Option<ProviderTokens>,
}

/// How one provider is spoken to.
#[derive(Debug)]
pub enum Protocol {
    /// OpenID Connect.
    Oidc(Arc<Provider>),
    /// WeChat website login.
    Wechat(wechat::Wechat),
    /// GitHub OAuth app.
    Github(github::Github),
    /// Microsoft Entra ID: OpenID Connect with the tenant checks of [`crate::oidc::EntraPolicy`].
    Entra(Arc<Provider>),
    /// Sign in with Apple.
    Apple(apple::Apple),
}

/// One configured provider.
#[derive(Debug)]
pub struct ConfiguredProvider {
    /// "Log in with NAME".
    pub name: String,
    /// What to do with an unknown identity from this provider.
    pub policy: UnknownUserPolicy,
    /// The protocol client.
    pub protocol: Protocol,
}

impl ConfiguredProvider {
    /// `oidc`, `wechat`, `github` or `google`.
    pub fn kind(&self) -> &'static str {
        match &self.protocol {
            Protocol::Oidc(p) if p.is_google() => "google",
            Protocol::Oidc(_) => "oidc",
            Protocol::Wechat(_) => "wechat",
            Protocol::Github(_) => "github",
            Protocol::Entra(_) => "entra",
            Protocol::Apple(_) => "apple",
        }
    }

    /// Whether identities in `namespace` come from this provider.
    pub fn owns(&self, namespace: &str) -> bool {
        match &self.protocol {
            Protocol::Oidc(p) => p.issuer() == namespace,
            Protocol::Wechat(w) => w.owns(namespace),
            Protocol::Github(g) => g.namespace() == namespace,
            Protocol::Entra(p) => p.entra().is_some_and(|e| e.owns(namespace)),
            Protocol::Apple(a) => a.issuer() == namespace,
        }
    }

    /// The origins of this provider's URLs (for the page's `img-src`: pictures come from the provider).
    pub fn origins(&self) -> Vec<String> {
        let of = |u: &str| {
            url::Url::parse(u)
                .ok()
                .map(|u| u.origin().ascii_serialization())
        };
        match &self.protocol {
            Protocol::Oidc(p) | Protocol::Entra(p) => of(p.issuer()).into_iter().collect(),
            Protocol::Wechat(w) => w.origins(),
            Protocol::Github(g) => g.origins(),
            Protocol::Apple(a) => a.origins(),
        }
        .into_iter()
        .filter(|o| o != "null")
        .collect()
    }

    /// The authorization URL for this login (OpenID: with nonce and PKCE; the others take neither, so the
    /// verifier is empty and `state` is their only protection).
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
    ) -> Result<AuthorizationStart, ApiError> {
        match &self.protocol {
            Protocol::Oidc(p) | Protocol::Entra(p) => p.authorization_url(state, nonce).await,
            Protocol::Wechat(w) => Ok(w.authorization_url(state)),
            Protocol::Github(g) => Ok(g.authorization_url(state)),
            Protocol::Apple(a) => Ok(a.authorization_url(state, nonce)),
        }
    }

    /// Exchanges the code (once, never retried) and finds out who logged in. `user` is Apple's `user`
    /// form field of a first authorization (a display name at most); the others send none.
    pub async fn complete(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        user: Option<&str>,
    ) -> Result<ProviderLogin, ApiError> {
        match &self.protocol {
            Protocol::Oidc(p) | Protocol::Entra(p) => {
                let login = p.exchange_and_verify(code, pkce_verifier, nonce).await?;
                Ok(ProviderLogin {
                    namespace: login.issuer,
                    subject: login.subject,
                    name: login.name,
                    picture: login.picture,
                    email: None,
                    id_token: login.id_token,
                    sid: login.sid,
                    tokens: login.tokens,
                })
            }
            Protocol::Wechat(w) => w.complete(code).await,
            Protocol::Github(g) => g.complete(code).await,
            Protocol::Apple(a) => a.complete(code, nonce, user).await,
        }
    }
}

/// The providers, in login-page order.
#[derive(Debug)]
pub struct Providers {
    /// Configured order.
    list: Vec<Arc<ConfiguredProvider>>,
}

/// The HTTP client every non-OpenID provider uses: redirects off (a redirect could carry the code or
/// token elsewhere), the configured timeout.
pub(crate) fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent("reference-client")
        .build()
        .context("building the HTTP client")
}

impl Providers {
    /// Builds every provider's client; `default_oidc` is used for the provider whose settings are the
    /// top-level ones (so the app's `provider` handle and the registry share one discovery cache).
    pub fn new(
        settings: &Settings,
        default_oidc: &Arc<Provider>,
        clock: &Clock,
    ) -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for p in settings.effective_providers() {
            list.push(Arc::new(Self::build(settings, p, default_oidc, clock)?));
        }
        Ok(Self { list })
    }

    fn build(
        settings: &Settings,
        p: ProviderSettings,
        default_oidc: &Arc<Provider>,
        clock: &Clock,
    ) -> anyhow::Result<ConfiguredProvider> {
        let http = || http_client(settings.http_timeout);
        let redirect_uri = settings.redirect_uri.to_string();
        let protocol = match p.kind {
            ProviderKind::Oidc {
                issuer,
                client_id,
                client_secret,
                scopes,
                userinfo_signed_response_alg,
                id_token_alg,
            } => {
                if issuer == settings.issuer
                    && client_id == settings.client_id
                    && userinfo_signed_response_alg == settings.userinfo_signed_response_alg
                    && id_token_alg == settings.id_token_alg
                {
                    Protocol::Oidc(default_oidc.clone())
                } else {
                    let registration = crate::oidc::Registration {
                        issuer: &issuer,
                        client_id: &client_id,
                        client_secret: &client_secret,
                        scopes: &scopes,
                        userinfo_signed_response_alg,
                        id_token_alg,
                    };
                    Protocol::Oidc(Arc::new(Provider::for_provider(
                        settings,
                        &registration,
                        clock.clone(),
                    )?))
                }
            }
            ProviderKind::Google {
                issuer,
                client_id,
                client_secret,
                scopes,
                hosted_domain,
                authorized_parties,
                offline,
            } => {
                let registration = crate::oidc::Registration {
                    issuer: &issuer,
                    client_id: &client_id,
                    client_secret: &client_secret,
                    scopes: &scopes,
                    userinfo_signed_response_alg: None,
                    id_token_alg: None,
                };
                let rules = crate::oidc::GoogleRules {
                    hosted_domain,
                    authorized_parties,
                    offline,
                };
                Protocol::Oidc(Arc::new(
                    Provider::for_provider(settings, &registration, clock.clone())?
                        .with_google(rules),
                ))
            }
            ProviderKind::Wechat {
                appid,
                secret,
                authorize_base,
                api_base,
            } => Protocol::Wechat(wechat::Wechat {
                appid,
                secret,
                authorize_base,
                api_base,
                redirect_uri,
                http: http()?,
            }),
            ProviderKind::Github {
                client_id,
                client_secret,
                authorize_base,
                api_base,
                scopes,
            } => Protocol::Github(github::Github {
                client_id,
                client_secret,
                authorize_base,
                api_base,
                scopes,
                redirect_uri,
                http: http()?,
            }),
            ProviderKind::Entra {
                base,
                tenant,
                client_id,
                client_secret,
                scopes,
                allowed_tenants,
            } => {
                let root = self::base(&base);
                let template = format!("{root}/{}/v2.0", crate::oidc::TENANT_PLACEHOLDER);
                // What discovery names: the template at common and organizations, the tenant's own
                // issuer at a GUID and at consumers (the consumer tenant's).
                let issuer = match tenant.as_str() {
                    "common" | "organizations" => template.clone(),
                    "consumers" => format!("{root}/{CONSUMER_TENANT}/v2.0"),
                    guid => format!("{root}/{guid}/v2.0"),
                };
                let registration = crate::oidc::Registration {
                    issuer: &issuer,
                    client_id: &client_id,
                    client_secret: &client_secret,
                    scopes: &scopes,
                    userinfo_signed_response_alg: None,
                    id_token_alg: None,
                };
                let policy = crate::oidc::EntraPolicy {
                    discovery_url: format!("{root}/{tenant}/v2.0/.well-known/openid-configuration"),
                    template,
                    allowed_tenants,
                };
                Protocol::Entra(Arc::new(Provider::for_entra(
                    settings,
                    &registration,
                    policy,
                    clock.clone(),
                )?))
            }
            ProviderKind::Apple {
                client_id,
                team_id,
                key_id,
                private_key,
                base_url,
                scopes,
            } => Protocol::Apple(apple::Apple {
                client_id,
                team_id,
                key_id,
                key: jsonwebtoken::EncodingKey::from_ec_pem(private_key.expose().as_bytes())
                    .context("the Apple provider's private_key")?,
                base_url,
                scopes,
                redirect_uri,
                http: http()?,
                clock: clock.clone(),
                skew_secs: settings.clock_skew.as_secs(),
                jwks: Default::default(),
            }),
        };
        Ok(ConfiguredProvider {
            name: p.name,
            policy: p
                .unknown_user_policy
                .unwrap_or(settings.unknown_user_policy),
            protocol,
        })
    }

    /// All providers, in order.
    pub fn all(&self) -> &[Arc<ConfiguredProvider>] {
        &self.list
    }

    /// The provider named `name`, or the first one when `name` is `None`.
    pub fn get(&self, name: Option<&str>) -> Option<Arc<ConfiguredProvider>> {
        match name {
            None => self.list.first().cloned(),
            Some(n) => self.list.iter().find(|p| p.name == n).cloned(),
        }
    }

    /// The name of the provider whose identities live in `namespace`.
    pub fn name_for(&self, namespace: &str) -> Option<String> {
        self.list
            .iter()
            .find(|p| p.owns(namespace))
            .map(|p| p.name.clone())
    }
}

/// Microsoft's consumer tenant (personal accounts), whose issuer the `consumers` discovery names.
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A trimmed base URL without a trailing slash, for joining paths.
pub(crate) fn base(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// Reads a provider's answer whole (bounded), failing on a transport error or a non-2xx status.
pub(crate) async fn read_ok(
    what: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<(Option<String>, Vec<u8>), ApiError> {
    let response = response.map_err(|e| ApiError::Provider(format!("{what}: {e}")))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = crate::oidc::read_limited(response)
        .await
        .map_err(|e| ApiError::Provider(format!("{what}: {e}")))?;
    if !status.is_success() {
        return Err(ApiError::Provider(format!("{what}: status {status}")));
    }
    Ok((content_type, body))
}
