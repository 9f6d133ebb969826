//! Sign in with Apple, as a client (CONFORMANCE APPLE-*):
//!
//! - The client secret is an ES256 JWT we sign ourselves with the configured key: `iss` our team id,
//!   `sub` our Services ID, `aud` Apple's issuer, valid for [`CLIENT_SECRET_LIFETIME`] seconds. A fresh one
//!   goes with every token request, so an expired secret never fails a login (APPLE-CLIENT-SECRET).
//! - With `name` or `email` asked, Apple answers by `form_post`: a cross-site POST to our redirect URI,
//!   which the callback page takes and hands to the API same-origin (APPLE-FORM-POST, see the README).
//! - The `user` form field (name and email, unsigned, only on a user's first authorization) gives at most
//!   the display name of a new account; identity and email come only from the verified id_token
//!   (APPLE-USER-BLOB).
//! - `email_verified` and `is_private_email` are read as booleans or the strings `"true"` / `"false"`;
//!   anything else as not verified, private (APPLE-BOOL-STRINGS).
//! - The identity is (issuer, `sub`). An email, a private relay address included, never finds or links
//!   an account (APPLE-RELAY-EMAIL).

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{ProviderLogin, base, read_ok};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::oidc::{Audience, AuthorizationStart};

/// How long each client secret we sign lives: five minutes, far below Apple's six-month limit; a new one
/// is signed for every token request.
pub const CLIENT_SECRET_LIFETIME: u64 = 300;

/// A Sign in with Apple Services ID.
#[derive(Debug)]
pub struct Apple {
    /// Our Services ID.
    pub client_id: String,
    /// Our team id.
    pub team_id: String,
    /// The `kid` of our signing key.
    pub key_id: String,
    /// Our ES256 key.
    pub key: EncodingKey,
    /// Apple's issuer and base URL.
    pub base_url: url::Url,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Our callback.
    pub redirect_uri: String,
    /// Redirects off, timeout set.
    pub http: reqwest::Client,
    /// The application clock (client secrets, id_token times).
    pub clock: Clock,
    /// Allowed clock difference for `exp` and `iat`, seconds.
    pub skew_secs: u64,
    /// Apple's keys, fetched on first use and again once for an unknown `kid`.
    pub jwks: Mutex<Option<Arc<Vec<Jwk>>>>,
}

/// The id_token claims read here; required ones are `Option` so their absence is our error.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    iat: Option<u64>,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<Value>,
    is_private_email: Option<Value>,
}

/// What a verified Apple id_token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleIdentity {
    /// The stable subject: with the issuer, the identity.
    pub subject: String,
    /// The email the user shares (possibly a private relay address).
    pub email: Option<String>,
    /// Whether Apple vouches for it.
    pub email_verified: bool,
    /// Whether it is a private relay address.
    pub private_email: bool,
}

/// An Apple flag: a JSON boolean or the string `"true"` / `"false"`; anything else (or absent) is
/// `None`, which the caller reads the safe way.
pub fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// The display name in Apple's `user` form field (`{"name": {"firstName", "lastName"}, "email"}`),
/// unsigned: used for nothing but a display name. Its `email` is never read.
pub fn user_field_name(user: &str) -> Option<String> {
    let value: Value = serde_json::from_str(user).ok()?;
    let name = value.get("name")?;
    let part = |k: &str| {
        name.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let full = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then(|| full.chars().take(200).collect())
}

impl Apple {
    /// Apple's issuer: the base URL without a trailing slash.
    pub fn issuer(&self) -> String {
        base(&self.base_url)
    }

    /// The origins pages come from.
    pub fn origins(&self) -> Vec<String> {
        vec![self.base_url.origin().ascii_serialization()]
    }

    fn endpoint(&self, path: &str) -> url::Url {
        // Appended, not set: a base URL may have a path (a mock-idp tenant's `/t/NAME`).
        let mut url = self.base_url.clone();
        url.set_path(&format!("{}{path}", url.path().trim_end_matches('/')));
        url
    }

    /// `{base}/auth/authorize` with `response_mode=form_post` (Apple requires it for `name` and `email`),
    /// `state` and `nonce`.
    pub fn authorization_url(&self, state: &str, nonce: &str) -> AuthorizationStart {
        let mut url = self.endpoint("/auth/authorize");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("response_mode", "form_post")
            .append_pair("state", state)
            .append_pair("nonce", nonce);
        AuthorizationStart {
            url,
            pkce_verifier: String::new(),
        }
    }

    /// A fresh client secret: ES256, `kid` our key id, `iss` the team, `sub` the Services ID, `aud` Apple,
    /// `iat` now, `exp` [`CLIENT_SECRET_LIFETIME`] later.
    pub fn client_secret(&self) -> Result<String, ApiError> {
        let now = self.clock.now_unix();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({
            "iss": self.team_id,
            "sub": self.client_id,
            "aud": self.issuer(),
            "iat": now,
            "exp": now + CLIENT_SECRET_LIFETIME,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| ApiError::Provider(format!("signing the Apple client secret: {e}")))
    }

    /// The code exchange with a fresh client secret, then the id_token's checks; `user` is the form field
    /// of a first authorization, read for a display name only.
    pub async fn complete(
        &self,
        code: &str,
        nonce: &str,
        user: Option<&str>,
    ) -> Result<ProviderLogin, ApiError> {
        let secret = self.client_secret()?;
        let (_, body) = read_ok(
            "Apple token request",
            self.http
                .post(self.endpoint("/auth/token"))
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("client_id", &self.client_id),
                    ("client_secret", &secret),
                ])
                .send()
                .await,
        )
        .await?;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Provider(format!("Apple token answer: not JSON: {e}")))?;
        if let Some(t) = answer.get("token_type").and_then(Value::as_str)
            && !t.eq_ignore_ascii_case("bearer")
        {
            return Err(ApiError::Provider(format!(
                "token_type {t:?} is not bearer"
            )));
        }
        let id_token = answer
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::Provider("Apple token answer has no id_token".into()))?;
        let identity = self.verify_id_token(id_token, nonce).await?;
        Ok(ProviderLogin {
            namespace: self.issuer(),
            subject: identity.subject,
            name: user.and_then(user_field_name),
            picture: None,
            // Only an address Apple vouches for is kept, a relay address included (it reaches the user).
            email: identity.email.filter(|_| identity.email_verified),
            id_token: Some(id_token.to_owned()),
            sid: None,
            // Apple has no userinfo to call again: its tokens are not kept.
            tokens: None,
        })
    }

    async fn keys(&self, refresh: bool) -> Result<Arc<Vec<Jwk>>, ApiError> {
        let mut cached = self.jwks.lock().await;
        if !refresh && let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        let (_, body) = read_ok(
            "Apple keys",
            self.http.get(self.endpoint("/auth/keys")).send().await,
        )
        .await?;
        #[derive(Deserialize)]
        struct RawJwks {
            keys: Vec<Value>,
        }
        let raw: RawJwks = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Provider(format!("Apple keys: {e}")))?;
        let keys: Vec<Jwk> = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value(k).ok())
            .collect();
        let keys = Arc::new(keys);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    /// The checks of OIDC Core §3.1.3.7 against Apple's keys: signature (RS256 or ES256, by `kid`),
    /// `iss` Apple, `aud` our Services ID only, `exp`, `iat`, `nonce`; then the email flags.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<AppleIdentity, ApiError> {
        let reject = |why: &str| ApiError::InvalidIdToken(why.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| reject("malformed header or unsupported alg"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(reject("algorithm not allowed"));
        }
        let kid = header.kid.as_deref();
        let pick = |keys: &[Jwk]| crate::oidc::select_key(keys, kid, header.alg).cloned();
        let jwk = match pick(&self.keys(false).await?) {
            Some(k) => k,
            None if kid.is_some() => {
                pick(&self.keys(true).await?).ok_or_else(|| reject("no key with this kid"))?
            }
            None => return Err(reject("no kid and not exactly one usable key")),
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| reject("unusable key"))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| ApiError::InvalidIdToken(format!("signature: {e}")))?
            .claims;
        if claims.iss.as_deref() != Some(self.issuer().as_str()) {
            return Err(reject("wrong or missing iss"));
        }
        crate::oidc::check_audience(claims.aud.as_ref(), &self.client_id)?;
        crate::oidc::check_times(
            claims.exp,
            claims.iat,
            self.clock.now_unix(),
            self.skew_secs,
        )?;
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| reject("missing sub"))?;
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::store::ct_eq(n, nonce));
        if !nonce_ok {
            return Err(reject("wrong or missing nonce"));
        }
        Ok(AppleIdentity {
            subject,
            email: claims.email.filter(|e| !e.is_empty()),
            // Safe readings: an unreadable `email_verified` is not verified; an unreadable
            // `is_private_email` is private; an absent one is not.
            email_verified: flag(claims.email_verified.as_ref()).unwrap_or(false),
            private_email: match claims.is_private_email {
                None => false,
                Some(v) => flag(Some(&v)).unwrap_or(true),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // APPLE-BOOL-STRINGS: both forms, and anything else read the safe way by the caller.
    #[test]
    fn apple_flags_are_booleans_or_the_strings_true_and_false() {
        assert_eq!(flag(Some(&json!(true))), Some(true));
        assert_eq!(flag(Some(&json!("true"))), Some(true));
        assert_eq!(flag(Some(&json!(false))), Some(false));
        assert_eq!(flag(Some(&json!("false"))), Some(false));
        for other in [
            json!("TRUE"),
            json!("yes"),
            json!(1),
            json!(null),
            json!(""),
        ] {
            assert_eq!(flag(Some(&other)), None, "{other}");
        }
        assert_eq!(flag(None), None);
    }

    // APPLE-USER-BLOB: the name only; the email in it is never read.
    #[test]
    fn the_user_field_gives_a_display_name_and_nothing_else() {
        assert_eq!(
            user_field_name(
                r#"{"name":{"firstName":"Alice","lastName":"Adams"},"email":"x@example.com"}"#
            )
            .as_deref(),
            Some("Alice Adams")
        );
        assert_eq!(
            user_field_name(r#"{"name":{"firstName":"Cher"}}"#).as_deref(),
            Some("Cher")
        );
        assert_eq!(user_field_name(r#"{"email":"x@example.com"}"#), None);
        assert_eq!(user_field_name("not json"), None);
    }
}
