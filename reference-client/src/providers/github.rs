//! A GitHub OAuth app, as a client: authorize, the code exchange with client id and secret as form
//! fields, then `GET /user`. GitHub answers the token request form-encoded unless asked for JSON, and
//! reports its errors with HTTP 200 (`error=bad_verification_code`): this client asks for JSON, reads
//! either format, and treats an `error` member as an error (CONFORMANCE NP-TOKEN-FORMAT, NP-ERROR-200).

use std::collections::HashMap;

use serde::Deserialize;

use super::{ProviderLogin, base, read_ok};
use crate::config::Secret;
use crate::error::ApiError;
use crate::oidc::AuthorizationStart;

/// A GitHub OAuth app.
#[derive(Debug)]
pub struct Github {
    /// Our client id.
    pub client_id: String,
    /// Our client secret.
    pub client_secret: Secret,
    /// `https://github.com` (or a mock's).
    pub authorize_base: url::Url,
    /// `https://api.github.com` (or a mock's).
    pub api_base: url::Url,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Our callback.
    pub redirect_uri: String,
    /// Redirects off, timeout set.
    pub http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct GithubUser {
    /// The stable numeric id: the identity.
    id: Option<u64>,
    /// Renamable: display only.
    login: Option<String>,
    name: Option<String>,
    avatar_url: Option<String>,
}

/// The token answer's fields, from JSON or from a form.
fn token_fields(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, ApiError> {
    let is_form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return Ok(url::form_urlencoded::parse(body).into_owned().collect());
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::Provider(format!("GitHub token answer: not JSON: {e}")))?;
    let map = value
        .as_object()
        .ok_or_else(|| ApiError::Provider("GitHub token answer is not an object".into()))?;
    Ok(map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect())
}

impl Github {
    /// The namespace of this GitHub's identities.
    pub fn namespace(&self) -> String {
        format!("github:{}", base(&self.api_base))
    }

    /// The origins pictures and pages come from.
    pub fn origins(&self) -> Vec<String> {
        vec![
            self.authorize_base.origin().ascii_serialization(),
            self.api_base.origin().ascii_serialization(),
        ]
    }

    /// `{authorize}/login/oauth/authorize?client_id&redirect_uri&state&scope`.
    pub fn authorization_url(&self, state: &str) -> AuthorizationStart {
        // Appended, not set: a base URL may have a path (a mock-idp tenant's `/t/NAME`).
        let mut url = self.authorize_base.clone();
        url.set_path(&format!(
            "{}/login/oauth/authorize",
            url.path().trim_end_matches('/')
        ));
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", &self.scopes.join(" "));
        AuthorizationStart {
            url,
            pkce_verifier: String::new(),
        }
    }

    /// The code exchange, then `GET /user`; the identity is the numeric `id`.
    pub async fn complete(&self, code: &str) -> Result<ProviderLogin, ApiError> {
        let (content_type, body) = read_ok(
            "GitHub token request",
            self.http
                .post(format!(
                    "{}/login/oauth/access_token",
                    base(&self.authorize_base)
                ))
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[
                    ("client_id", self.client_id.as_str()),
                    ("client_secret", self.client_secret.expose()),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                ])
                .send()
                .await,
        )
        .await?;
        let fields = token_fields(content_type.as_deref(), &body)?;
        if let Some(error) = fields.get("error") {
            return Err(ApiError::Provider(format!("GitHub token answer: {error}")));
        }
        let token = fields
            .get("access_token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Provider("GitHub token answer has no access_token".into()))?;
        if let Some(t) = fields.get("token_type")
            && !t.eq_ignore_ascii_case("bearer")
        {
            return Err(ApiError::Provider(format!(
                "token_type {t:?} is not bearer"
            )));
        }
        let (_, body) = read_ok(
            "GitHub /user",
            self.http
                .get(format!("{}/user", base(&self.api_base)))
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .send()
                .await,
        )
        .await?;
        let user: GithubUser = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Provider(format!("GitHub /user: {e}")))?;
        let id = user
            .id
            .ok_or_else(|| ApiError::Provider("GitHub /user has no numeric id".into()))?;
        Ok(ProviderLogin {
            namespace: self.namespace(),
            subject: id.to_string(),
            name: user.name.filter(|n| !n.is_empty()).or(user.login),
            picture: user.avatar_url.filter(|p| !p.is_empty()),
            email: None,
            id_token: None,
            sid: None,
            tokens: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::token_fields;

    // NP-TOKEN-FORMAT: GitHub's default answer is a form; JSON when asked. Both are read.
    #[test]
    fn the_token_answer_is_read_as_a_form_or_as_json() {
        let form = token_fields(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"access_token=gho_1&scope=read%3Auser&token_type=bearer",
        )
        .expect("form");
        assert_eq!(form.get("access_token").map(String::as_str), Some("gho_1"));
        assert_eq!(form.get("scope").map(String::as_str), Some("read:user"));
        let json = token_fields(
            Some("application/json"),
            br#"{"error":"bad_verification_code","error_description":"x"}"#,
        )
        .expect("json");
        assert_eq!(
            json.get("error").map(String::as_str),
            Some("bad_verification_code")
        );
        assert!(token_fields(Some("text/html"), b"<html>").is_err());
    }
}
