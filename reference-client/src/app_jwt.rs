//! The backend's own JWT (step 6): HS256 with a configured key of at least 256 bits.
//!
//! Issued only after every check of the login passed (CONFORMANCE JWT-LAST). Verification pins the algorithm
//! and the `typ` header, and checks `iss`, `aud`, `exp` and `nbf` against the application clock (JWT-VERIFY).
//! The distinctive `typ` keeps the provider's id_tokens and access tokens from passing as ours (JWT-TYPE,
//! RFC 8725 §3.11); `jku`, `x5u`, `jwk` and `kid` headers are ignored because there is one key.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::db::Role;
use crate::store::random_token;

/// The `typ` header of every app JWT.
pub const APP_JWT_TYP: &str = "rc-session+jwt";

/// The claims of an app JWT (RFC 7519 §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClaims {
    /// This backend (`jwt_issuer`).
    pub iss: String,
    /// This backend's API (`jwt_audience`).
    pub aud: String,
    /// The internal user id, as a string.
    pub sub: String,
    /// admin or user, at issue time.
    pub role: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// A unique id.
    pub jti: String,
    /// The user's session version at issue time; a token whose version is not the user's current one
    /// was ended by a logout (tokens from before this claim existed count as version 0).
    #[serde(default)]
    pub sv: i64,
}

/// Why an app JWT was refused; logged, never shown to the client beyond `invalid_token`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppJwtError {
    /// Not a JWT, wrong algorithm, wrong typ, or bad signature.
    #[error("malformed or forged token")]
    Forged,
    /// Wrong `iss` or `aud`.
    #[error("token for another issuer or audience")]
    WrongParty,
    /// `exp` passed or `nbf` in the future.
    #[error("token expired or not yet valid")]
    Expired,
}

/// Issues and verifies app JWTs; cheap to clone.
#[derive(Clone)]
pub struct AppJwt {
    /// HS256 signing key.
    encoding: EncodingKey,
    /// The same key for verification.
    decoding: DecodingKey,
    /// Our `iss`.
    issuer: String,
    /// Our `aud`.
    audience: String,
    /// Lifetime in seconds.
    ttl_secs: u64,
    /// Source of `iat`/`exp` and of "now" when verifying.
    clock: Clock,
}

impl std::fmt::Debug for AppJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppJwt")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl AppJwt {
    /// Keys from `key` (already checked to be ≥ 32 bytes by the config).
    pub fn new(key: &[u8], issuer: &str, audience: &str, ttl_secs: u64, clock: Clock) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            issuer: issuer.into(),
            audience: audience.into(),
            ttl_secs,
            clock,
        }
    }

    /// Lifetime of issued tokens in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs a token for `user_id` with `role`, under the user's current `session_version`.
    pub fn issue(&self, user_id: i64, role: Role, session_version: i64) -> anyhow::Result<String> {
        let now = self.clock.now_unix();
        let claims = AppClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            role: role.as_str().into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_secs,
            jti: random_token(16),
            sv: session_version,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(APP_JWT_TYP.into());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Signs arbitrary `claims` exactly as [`AppJwt::issue`] signs (key, algorithm, header): for the test
    /// hooks, so a conformance scenario can present a token that differs from a real one only where it
    /// says.
    pub fn sign_claims(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(APP_JWT_TYP.into());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<AppClaims, AppJwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppJwtError::Forged)?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(APP_JWT_TYP) {
            return Err(AppJwtError::Forged);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Time is checked below against the application clock, not jsonwebtoken's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data =
            jsonwebtoken::decode::<AppClaims>(token, &self.decoding, &validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidIssuer
                    | jsonwebtoken::errors::ErrorKind::InvalidAudience => AppJwtError::WrongParty,
                    _ => AppJwtError::Forged,
                }
            })?;
        let now = self.clock.now_unix();
        if data.claims.exp <= now || data.claims.nbf > now {
            return Err(AppJwtError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn jwt(clock: &Clock) -> AppJwt {
        AppJwt::new(KEY, "rc", "rc-api", 60, clock.clone())
    }

    // JWT-CLAIMS
    #[test]
    fn an_issued_token_verifies_with_all_claims() {
        let clock = Clock::system();
        let t = jwt(&clock).issue(7, Role::Admin, 0).expect("issue");
        let claims = jwt(&clock).verify(&t).expect("verify");
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.role, "admin");
        assert_eq!(claims.exp, claims.iat + 60);
        assert!(!claims.jti.is_empty());
        let header = jsonwebtoken::decode_header(&t).expect("header");
        assert_eq!(header.typ.as_deref(), Some(APP_JWT_TYP));
    }

    // JWT-VERIFY
    #[test]
    fn expiry_follows_the_application_clock() {
        let clock = Clock::system();
        let t = jwt(&clock).issue(7, Role::User, 0).expect("issue");
        clock.advance(std::time::Duration::from_secs(61));
        assert_eq!(jwt(&clock).verify(&t), Err(AppJwtError::Expired));
    }

    #[test]
    fn another_audience_is_refused() {
        let clock = Clock::system();
        let other = AppJwt::new(KEY, "rc", "other-api", 60, clock.clone());
        let t = other.issue(7, Role::User, 0).expect("issue");
        assert_eq!(jwt(&clock).verify(&t), Err(AppJwtError::WrongParty));
    }

    #[test]
    fn a_token_without_our_typ_is_refused() {
        let clock = Clock::system();
        let now = clock.now_unix();
        let claims = AppClaims {
            iss: "rc".into(),
            aud: "rc-api".into(),
            sub: "1".into(),
            role: "admin".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            jti: "x".into(),
            sv: 0,
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(KEY),
        )
        .expect("encode");
        assert_eq!(jwt(&clock).verify(&t), Err(AppJwtError::Forged));
    }
}
