//! Checks on what the backend answered: its app token, its refusals, the profile it serves, the users
//! its database holds.

use anyhow::{anyhow, ensure};
use serde_json::Value;

use super::World;
use crate::{browser::HttpResponse, parameters::AppError};

impl World {
    /// The last app token is a session of the app user bound to provider user `username`.
    pub async fn check_logged_in_as(&mut self, username: &str) -> anyhow::Result<()> {
        self.check_token_issued()?;
        ensure!(
            self.users_bound_to(username).await? == 1,
            "no app user is bound to the provider's {username:?}"
        );
        self.fetch_profile(None).await?;
        let profile = self
            .profile
            .as_ref()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        ensure!(
            profile.is_success(),
            "the app token does not open the profile: {} {}",
            profile.status,
            profile.body
        );
        Ok(())
    }

    /// The last backend answer issued an app token.
    pub fn check_token_issued(&self) -> anyhow::Result<()> {
        let response = self.last_backend()?;
        ensure!(
            self.app_token.is_some() && response.is_success(),
            "the backend issued no app token: {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The app token's registered claims, by value (RFC 7519 §4.1): `iss` and `aud` are what the backend is
    /// configured with, `sub` is the internal id its profile shows (never the provider's subject), `jti` is
    /// there, and `exp - iat` is at most a day.
    pub async fn check_app_token_claims(&mut self) -> anyhow::Result<()> {
        let token = self
            .app_token
            .clone()
            .ok_or_else(|| anyhow!("no app token"))?;
        let claims = crate::jwt::claims(&token)?;
        let (issuer, audience) = {
            let app = self.app().await?;
            let issuer = app
                .app_token_issuer()
                .ok_or_else(|| crate::target::unsupported("session.issuer"))?;
            let audience = app
                .app_token_audience()
                .ok_or_else(|| crate::target::unsupported("session.audience"))?;
            (issuer, audience)
        };
        ensure!(
            claims.get("iss").and_then(Value::as_str) == Some(issuer.as_str()),
            "the app token's iss is not the configured {issuer:?}: {claims}"
        );
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&audience)),
            _ => false,
        };
        ensure!(
            aud_ok,
            "the app token's aud is not the configured {audience:?}: {claims}"
        );
        ensure!(
            claims
                .get("jti")
                .and_then(Value::as_str)
                .is_some_and(|j| !j.is_empty()),
            "the app token has no jti: {claims}"
        );
        let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        ensure!(
            iat > 0 && exp > iat && exp - iat <= 24 * 3600,
            "iat/exp missing or the life is not short: {claims}"
        );
        let sub = claims
            .get("sub")
            .map(|s| match s {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .ok_or_else(|| anyhow!("the app token has no sub: {claims}"))?;
        if let Some((username, _)) = self.previous_login.clone() {
            let provider_sub = self.provider.subject_of(&username)?;
            ensure!(
                sub != provider_sub,
                "the app token's sub is the provider's subject {provider_sub:?}, not the app's own id"
            );
        }
        self.fetch_profile(Some(token)).await?;
        let profile = self
            .profile
            .clone()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        ensure!(
            profile.is_success(),
            "the app token does not open the profile: {} {}",
            profile.status,
            profile.body
        );
        let id = self.app().await?.profile(&profile.json()).id;
        ensure!(
            id.as_deref() == Some(sub.as_str()),
            "the app token's sub {sub:?} is not the user's internal id {id:?} from the profile"
        );
        Ok(())
    }

    /// The last backend answer issued no app token and set no session.
    pub async fn check_no_token(&mut self) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        ensure!(
            self.app_token.is_none(),
            "an app token was issued: {} {}",
            response.status,
            response.body
        );
        // Whatever the delivery, the browser must not be logged in now (CONFORMANCE JWT-LAST).
        self.fetch_profile(None).await?;
        let profile = self
            .profile
            .as_ref()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        ensure!(
            !profile.is_success(),
            "the browser is logged in after all: the profile answered {} {}",
            profile.status,
            profile.body
        );
        Ok(())
    }

    /// The last backend answer is a refusal with `code`.
    pub async fn check_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        let found = self
            .app()
            .await?
            .error_code(response.status, &response.json());
        ensure!(
            !response.is_success() && found.as_deref() == Some(&code.to_string()),
            "expected a refusal with {code}, got {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The last profile answer is a refusal with `code`.
    pub async fn check_profile_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        let response = self
            .profile
            .clone()
            .ok_or_else(|| anyhow!("no profile was requested"))?;
        let found = self
            .app()
            .await?
            .error_code(response.status, &response.json());
        ensure!(
            (400..500).contains(&response.status) && found.as_deref() == Some(&code.to_string()),
            "expected the profile to be refused with {code}, got {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// The last backend answer was a success that sends the frontend on to `expected`.
    pub async fn check_return_to(&mut self, expected: &str) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        let found = self.app().await?.return_to(&response.json());
        ensure!(
            response.is_success() && found.as_deref() == Some(expected),
            "expected the backend to send the frontend on to {expected:?}, found {found:?} in {} {}",
            response.status,
            response.body
        );
        Ok(())
    }

    /// How many app users are bound to provider user `username`.
    pub async fn users_bound_to(&mut self, username: &str) -> anyhow::Result<usize> {
        let subject = self.provider.subject_of(username)?;
        let issuer = self.provider.idp.issuer().to_owned();
        self.app().await?.users_bound_to(&issuer, &subject).await
    }

    /// The backend's last answer.
    pub fn last_backend(&self) -> anyhow::Result<&HttpResponse> {
        self.backend
            .as_ref()
            .ok_or_else(|| anyhow!("nothing was handed to the backend yet"))
    }
}
