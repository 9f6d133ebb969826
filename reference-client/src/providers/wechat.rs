//! The WeChat Open Platform website login, as a client: `qrconnect`, the code exchange with appid and
//! secret, then `sns/userinfo`. WeChat reports errors with HTTP 200 and `{"errcode", "errmsg"}`: every
//! answer is checked for an `errcode` before anything is read from it (CONFORMANCE NP-ERROR-200).

use serde::Deserialize;

use super::{ProviderLogin, base, read_ok};
use crate::config::Secret;
use crate::error::ApiError;
use crate::oidc::AuthorizationStart;

/// A WeChat app.
#[derive(Debug)]
pub struct Wechat {
    /// Our appid.
    pub appid: String,
    /// Our app secret.
    pub secret: Secret,
    /// `https://open.weixin.qq.com` (or a mock's).
    pub authorize_base: url::Url,
    /// `https://api.weixin.qq.com` (or a mock's).
    pub api_base: url::Url,
    /// Our callback.
    pub redirect_uri: String,
    /// Redirects off, timeout set.
    pub http: reqwest::Client,
}

/// An answer that may be an error: WeChat's `errcode` (absent or 0 on success).
#[derive(Debug, Deserialize)]
struct Errcode {
    errcode: Option<i64>,
    errmsg: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    openid: Option<String>,
    unionid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UserAnswer {
    openid: Option<String>,
    unionid: Option<String>,
    nickname: Option<String>,
    headimgurl: Option<String>,
}

/// Parses `body` as `T` after making sure it is not a WeChat error.
fn parse<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    let err: Errcode = serde_json::from_slice(body)
        .map_err(|e| ApiError::Provider(format!("{what}: not JSON: {e}")))?;
    if let Some(code) = err.errcode.filter(|c| *c != 0) {
        return Err(ApiError::Provider(format!(
            "{what}: errcode {code} ({})",
            err.errmsg.unwrap_or_default()
        )));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::Provider(format!("{what}: {e}")))
}

impl Wechat {
    fn namespace(&self) -> String {
        format!("wechat:{}", base(&self.api_base))
    }

    fn openid_namespace(&self) -> String {
        format!("{}#{}", self.namespace(), self.appid)
    }

    /// Whether `namespace` holds this app's identities (by unionid, or by this app's openid).
    pub fn owns(&self, namespace: &str) -> bool {
        namespace == self.namespace() || namespace == self.openid_namespace()
    }

    /// The origins pictures and pages come from.
    pub fn origins(&self) -> Vec<String> {
        vec![
            self.authorize_base.origin().ascii_serialization(),
            self.api_base.origin().ascii_serialization(),
        ]
    }

    /// `{authorize}/connect/qrconnect?appid&redirect_uri&response_type=code&scope=snsapi_login&state`.
    pub fn authorization_url(&self, state: &str) -> AuthorizationStart {
        // Appended, not set: a base URL may have a path (a mock-idp tenant's `/t/NAME`).
        let mut url = self.authorize_base.clone();
        url.set_path(&format!(
            "{}/connect/qrconnect",
            url.path().trim_end_matches('/')
        ));
        url.query_pairs_mut()
            .append_pair("appid", &self.appid)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "snsapi_login")
            .append_pair("state", state);
        // WeChat's documented URLs end with this fragment; browsers do not send it.
        url.set_fragment(Some("wechat_redirect"));
        AuthorizationStart {
            url,
            pkce_verifier: String::new(),
        }
    }

    /// The code exchange, then the user API; the identity is the unionid when there is one.
    pub async fn complete(&self, code: &str) -> Result<ProviderLogin, ApiError> {
        let api = base(&self.api_base);
        let (_, body) = read_ok(
            "WeChat token request",
            self.http
                .get(format!("{api}/sns/oauth2/access_token"))
                .query(&[
                    ("appid", self.appid.as_str()),
                    ("secret", self.secret.expose()),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                ])
                .send()
                .await,
        )
        .await?;
        let token: TokenAnswer = parse("WeChat token answer", &body)?;
        let (Some(access_token), Some(openid)) = (token.access_token, token.openid) else {
            return Err(ApiError::Provider(
                "WeChat token answer lacks access_token or openid".into(),
            ));
        };
        let (_, body) = read_ok(
            "WeChat userinfo",
            self.http
                .get(format!("{api}/sns/userinfo"))
                .query(&[("access_token", access_token.as_str()), ("openid", &openid)])
                .send()
                .await,
        )
        .await?;
        let user: UserAnswer = parse("WeChat userinfo", &body)?;
        // The user API must describe the user the token was issued for (as OpenID's userinfo `sub`).
        if user.openid.as_deref() != Some(openid.as_str()) {
            return Err(ApiError::Provider(
                "WeChat userinfo names another openid".into(),
            ));
        }
        let unionid = match (token.unionid, user.unionid) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::Provider(
                    "WeChat token and userinfo name different unionids".into(),
                ));
            }
            (a, b) => a.or(b).filter(|u| !u.is_empty()),
        };
        let (namespace, subject) = match unionid {
            Some(u) => (self.namespace(), u),
            None => (self.openid_namespace(), openid),
        };
        Ok(ProviderLogin {
            namespace,
            subject,
            name: user.nickname.filter(|n| !n.is_empty()),
            picture: user.headimgurl.filter(|p| !p.is_empty()),
            email: None,
            id_token: None,
            sid: None,
            tokens: None,
        })
    }
}
