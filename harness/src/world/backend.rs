//! Checks on what the backend answered: its app token, its refusals, the profile it serves, the users
//! its database holds.

use anyhow::{anyhow, ensure};
use serde_json::Value;

use super::{COOKIE_SESSION, World};
use crate::{
    browser::HttpResponse,
    parameters::AppError,
    target::{Profile, ProfileField, RefusalCodes, TokenDelivery},
};

impl World {
    /// The browser holds a session that the backend honours as the app user bound to provider user
    /// `username`.
    pub async fn check_logged_in_as(&mut self, username: &str) -> anyhow::Result<()> {
        self.check_token_issued()?;
        let identified = self
            .session_after
            .as_ref()
            .is_some_and(|p| p.subject.is_some());
        match self.users_bound_to(username).await {
            Ok(n) => ensure!(
                n == 1,
                "no app user is bound to the provider's {username:?}"
            ),
            // Without the hook, the profile's subject (checked above) is what says whose session it is.
            Err(e) if identified && crate::target::skip_reason(&e.to_string()).is_some() => {}
            Err(e) => return Err(e),
        }
        let profile = self.profile_now().await?;
        ensure!(
            profile.is_success(),
            "the session does not open the profile: {}",
            profile.brief()
        );
        Ok(())
    }

    /// What the browser left out of the last callback because of `SameSite`, as a sentence for a failed
    /// login's message (empty when nothing was left out).
    fn withheld_note(&self) -> String {
        if self.withheld_cookies.is_empty() {
            return String::new();
        }
        let how = if self.auth_response_posted {
            "the provider's form_post page POSTs the response from another site, and only a cookie \
             `SameSite=None; Secure` goes with a cross-site POST (or answer the POST with a page that \
             re-posts it same-origin)"
        } else {
            "the provider's redirect back is a navigation from another site, which carries no \
             `SameSite=Strict` cookie"
        };
        format!(
            ". The browser did not send {}: {how}",
            self.withheld_cookies.join(", ")
        )
    }

    /// The last backend answer left the browser with a session: a bearer token in a 2xx answer, or
    /// cookies the profile endpoint honours, as the user who signed in at the provider where the profile
    /// shows who it is.
    pub fn check_token_issued(&self) -> anyhow::Result<()> {
        let response = self.last_backend()?;
        match self.app_token.as_deref() {
            Some(COOKIE_SESSION) => match &self.session_after {
                Some(profile) => self.check_profile_is_signed_in_user(profile),
                None => Err(anyhow!("the browser holds no session")),
            },
            Some(_) => {
                ensure!(
                    response.is_success(),
                    "the backend's answer carries a token but is not a success: {}",
                    response.brief()
                );
                Ok(())
            }
            None => Err(anyhow!(
                "the backend gave the browser no session: it answered {}{}{}",
                response.brief(),
                match self.app.as_deref().map(|a| a.token_delivery()) {
                    Some(TokenDelivery::Cookie(_)) =>
                        ", and the profile endpoint does not honour the browser's cookies",
                    _ => "",
                },
                self.withheld_note()
            )),
        }
    }

    /// Where the profile says whose session it is (its subject, else its email), it is the provider user
    /// who last signed in at the provider's login page.
    fn check_profile_is_signed_in_user(&self, profile: &Profile) -> anyhow::Result<()> {
        let Some(username) = &self.signed_in_as else {
            return Ok(());
        };
        let login = self.provider.login_name(username)?;
        let user = self
            .provider
            .idp
            .user(&login)
            .ok_or_else(|| anyhow!("the provider has no user {login:?}"))?;
        if let Some(subject) = &profile.subject {
            ensure!(
                *subject == user.sub,
                "the session is not {username}'s: the profile shows subject {subject:?}, {username}'s is {:?}",
                user.sub
            );
        } else if let (Some(email), Some(expected)) = (&profile.email, &user.email) {
            ensure!(
                email == expected,
                "the session is not {username}'s: the profile shows email {email:?}, {username}'s is {expected:?}"
            );
        }
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
                .ok_or_else(|| crate::target::unsupported("[session] issuer"))?;
            let audience = app
                .app_token_audience()
                .ok_or_else(|| crate::target::unsupported("[session] audience"))?;
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
            "the app token does not open the profile: {}",
            profile.brief()
        );
        let id = self.app().await?.profile(&profile.json()).id;
        ensure!(
            id.as_deref() == Some(sub.as_str()),
            "the app token's sub {sub:?} is not the user's internal id {id:?} from the profile"
        );
        Ok(())
    }

    /// The last backend answer left the browser with no new session: no bearer token in it, and the
    /// profile endpoint honours the browser's cookies for nobody, or for the same user as before the
    /// callback (a session the browser already had; the provider's log judges that case).
    pub async fn check_no_token(&mut self) -> anyhow::Result<()> {
        let response = self.last_backend()?.clone();
        match self.app_token.as_deref() {
            Some(COOKIE_SESSION) => {
                ensure!(
                    self.session_after == self.session_before,
                    "the browser holds a session after all: the backend answered {}, and the profile \
                     endpoint now honours the browser's cookies as {:?}",
                    response.brief(),
                    self.session_after
                );
                Ok(())
            }
            Some(_) => Err(anyhow!("an app token was issued: {}", response.brief())),
            None => {
                // Whatever the delivery, the browser must not be logged in now (CONFORMANCE JWT-LAST).
                let profile = self.profile_now().await?;
                ensure!(
                    !profile.is_success(),
                    "the browser is logged in after all: the profile answered {}",
                    profile.brief()
                );
                Ok(())
            }
        }
    }

    /// The last backend answer is a refusal: no new session, and, where the target says how its
    /// refusals name their cause, a non-2xx answer naming `code`.
    pub async fn check_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        if self.last_answer_ends_login {
            self.check_no_token().await?;
        }
        let response = self.last_backend()?.clone();
        let location = response
            .is_redirect()
            .then(|| response.location().ok())
            .flatten();
        let codes = self.app().await?.refusal_codes(
            response.status,
            &Self::refusal_body(&response),
            location.as_ref(),
        );
        match codes {
            RefusalCodes::NotChecked => Ok(()),
            RefusalCodes::Codes(codes) => {
                ensure!(
                    !response.is_success() && codes.iter().any(|c| *c == code.to_string()),
                    "refused, but not with {code}: the backend answered {} (its code stands for {codes:?})",
                    response.brief()
                );
                Ok(())
            }
        }
    }

    /// The last profile answer is a refusal (not 2xx: 401, 403, a redirect to the login) naming `code`
    /// where the target maps its codes.
    pub async fn check_profile_refused(&mut self, code: AppError) -> anyhow::Result<()> {
        let response = self
            .profile
            .clone()
            .ok_or_else(|| anyhow!("no profile was requested"))?;
        ensure!(
            !response.is_success(),
            "expected the profile to be refused, got {}",
            response.brief()
        );
        let location = response
            .is_redirect()
            .then(|| response.location().ok())
            .flatten();
        let codes = self.app().await?.refusal_codes(
            response.status,
            &Self::refusal_body(&response),
            location.as_ref(),
        );
        if let RefusalCodes::Codes(codes) = codes {
            ensure!(
                (400..500).contains(&response.status)
                    && codes.iter().any(|c| *c == code.to_string()),
                "expected the profile to be refused with {code}, got {} (its code stands for {codes:?})",
                response.brief()
            );
        }
        Ok(())
    }

    /// The last backend answer was a success that sends the browser on to `expected`: its redirect's
    /// `Location` (a path on the backend's own origin, or the whole URL of another), or its JSON's
    /// `return_to`.
    pub async fn check_return_to(&mut self, expected: &str) -> anyhow::Result<()> {
        self.check_token_issued()?;
        let response = self.last_backend()?.clone();
        let found = if response.is_redirect() {
            let location = response.location()?;
            let own = response
                .url
                .as_ref()
                .is_some_and(|u| u.origin() == location.origin());
            Some(if own {
                match location.query() {
                    Some(q) => format!("{}?{q}", location.path()),
                    None => location.path().to_owned(),
                }
            } else {
                location.to_string()
            })
        } else {
            self.app().await?.return_to(&response.json())
        };
        ensure!(
            found.as_deref() == Some(expected),
            "expected the backend to send the browser on to {expected:?}, found {found:?} in {}",
            response.brief()
        );
        Ok(())
    }

    /// How many app users are bound to provider user `username`.
    pub async fn users_bound_to(&mut self, username: &str) -> anyhow::Result<usize> {
        let subject = self.provider.subject_of(username)?;
        let issuer = self.provider.idp.issuer().to_owned();
        self.app().await?.users_bound_to(&issuer, &subject).await
    }

    /// The profile endpoint's answer now, to the browser's session as it stands.
    async fn profile_now(&mut self) -> anyhow::Result<HttpResponse> {
        self.fetch_profile(None).await?;
        self.profile
            .clone()
            .ok_or_else(|| anyhow!("no profile answer"))
    }

    /// A refusal's body for [`crate::target::Target::refusal_codes`]: its JSON, or the page as a string.
    fn refusal_body(response: &HttpResponse) -> serde_json::Value {
        match response.json() {
            serde_json::Value::Null => serde_json::Value::String(response.body.clone()),
            json => json,
        }
    }

    /// The target maps `field` of its profile; otherwise a step that reads it cannot be checked here.
    pub async fn require_profile_field(&mut self, field: ProfileField) -> anyhow::Result<()> {
        if self.app().await?.profile_fields().contains(&field) {
            return Ok(());
        }
        Err(crate::target::skip(&format!(
            "reads the profile's {0}: needs `[profile] {0}` (a JSON pointer into the profile answer)",
            field.key()
        )))
    }

    /// The backend's last answer.
    pub fn last_backend(&self) -> anyhow::Result<&HttpResponse> {
        self.backend
            .as_ref()
            .ok_or_else(|| anyhow!("nothing was handed to the backend yet"))
    }
}
