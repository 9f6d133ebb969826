//! The backend's use of the provider's tokens after the login, and their refresh (CONFORMANCE RF-HAPPY's
//! RP half, RF-ID-TOKEN): the actions and checks of `steps/refresh.rs`. The backend is asked through
//! [`crate::target::Target::provider_profile_url`]; it is judged by what the provider saw (a refresh grant
//! by its client, then userinfo with the access token that grant issued, or none) and by the session the
//! browser still holds, not by the shape of its answers.

use std::time::Duration;

use anyhow::{anyhow, ensure};
use mock_idp::RequestRecord;

use crate::{
    browser::HttpResponse,
    target::{Profile, TokenDelivery, not_applicable, skip_reason},
    world::{COOKIE_SESSION, MAIN, World},
};

/// What the refresh steps observed in one scenario.
#[derive(Debug, Default)]
pub struct RefreshState {
    /// The lifetime the scenario gave the provider's access tokens for the backend's client.
    pub access_ttl: Option<u64>,
    /// The provider's request-log position just before the backend was asked to use its tokens again.
    pub log_seq_before: u64,
    /// The backend's answer when asked for the provider profile.
    pub answer: Option<HttpResponse>,
    /// The profile the browser's session showed just before that, to tell whether the user changed.
    pub session_before: Option<Profile>,
}

/// Whether a logged request is a refresh grant by `client_id`.
fn is_refresh_by(r: &RequestRecord, client_id: &str) -> bool {
    r.path.rsplit('/').next() == Some("token")
        && r.param("grant_type") == Some("refresh_token")
        && r.client_id.as_deref() == Some(client_id)
}

/// Whether a logged userinfo request carried the access token with this log fingerprint (in the header or
/// the form body; RFC 6750 §2).
fn is_userinfo_with(r: &RequestRecord, fingerprint: &str) -> bool {
    r.path.rsplit('/').next() == Some("userinfo")
        && (r
            .header("authorization")
            .and_then(|h| h.split_once(' '))
            .is_some_and(|(_, creds)| creds == fingerprint)
            || r.param("access_token") == Some(fingerprint))
}

impl World {
    /// RF-HAPPY and RF-ID-TOKEN apply only to a backend that uses the provider's tokens after the login
    /// (and so refreshes them): one whose target names the endpoint that makes it do so.
    pub async fn require_provider_profile(&mut self) -> anyhow::Result<()> {
        if self.app().await?.provider_profile_url().is_some() {
            return Ok(());
        }
        Err(not_applicable(
            "RF-HAPPY and RF-ID-TOKEN apply when the backend uses the provider's tokens again after the \
             login (and refreshes them): declare the endpoint that makes it do so as \
             `[backend] provider_profile`",
        ))
    }

    /// The provider's access tokens for the backend's client live `secs` seconds from now on.
    pub async fn shorten_app_access_tokens(&mut self, secs: u64) -> anyhow::Result<()> {
        self.app().await?;
        let client = self.app_client_id();
        self.provider.set_access_token_ttl(&client, secs)?;
        self.refresh.access_ttl = Some(secs);
        Ok(())
    }

    /// Moves the provider's clock one second past the life of the backend's access tokens, and the
    /// backend's clock by as much where it has a clock hook (a backend without one sees the provider's
    /// clock that far ahead, within the usual leeway for `iat`).
    pub async fn expire_app_access_token(&mut self) -> anyhow::Result<()> {
        let ttl = self.refresh.access_ttl.ok_or_else(|| {
            anyhow!("no step gave the backend's access tokens a lifetime to move past")
        })?;
        let by = Duration::from_secs(ttl + 1);
        self.provider
            .global("the provider's clock")?
            .clock()
            .advance(by);
        match self.advance_app_clock(by).await {
            Err(e) if skip_reason(&e.to_string()).is_some() => Ok(()),
            other => other,
        }
    }

    /// The browser asks the backend, with its session, to use the provider's tokens again.
    pub async fn ask_for_provider_profile(&mut self) -> anyhow::Result<()> {
        self.require_provider_profile().await?;
        self.refresh.session_before = Some(self.session_profile().await?.ok_or_else(|| {
            anyhow!("the browser holds no session the backend honours before asking")
        })?);
        let url = self
            .app()
            .await?
            .provider_profile_url()
            .ok_or_else(|| anyhow!("no provider profile endpoint"))?;
        self.refresh.log_seq_before = self.provider.idp.log_cursor();
        let response = match self.app_token.clone() {
            Some(token) if token != COOKIE_SESSION => {
                self.browser(MAIN)?
                    .as_frontend()
                    .get_with_bearer(&url, &token)
                    .await?
            }
            _ => self.browser(MAIN)?.as_frontend().get(&url).await?,
        };
        self.refresh.answer = Some(response);
        Ok(())
    }

    /// The profile the browser's session opens now (`None` when the backend refuses it).
    async fn session_profile(&mut self) -> anyhow::Result<Option<Profile>> {
        self.fetch_profile(None).await?;
        let response = self
            .profile
            .clone()
            .ok_or_else(|| anyhow!("no profile answer"))?;
        if !response.is_success() {
            return Ok(None);
        }
        Ok(Some(self.app().await?.profile_of_page(&response.body)))
    }

    /// What the provider saw since the backend was asked.
    fn seen_since_asked(&self) -> Vec<RequestRecord> {
        self.provider
            .idp
            .requests_since(self.refresh.log_seq_before)
    }

    /// The refresh grants by the backend's client since it was asked, with their place in `seen`.
    fn refreshes(&self, seen: &[RequestRecord]) -> Vec<usize> {
        let client = self.app_client_id();
        seen.iter()
            .enumerate()
            .filter(|(_, r)| is_refresh_by(r, &client))
            .map(|(i, _)| i)
            .collect()
    }

    /// The provider answered a refresh grant by the backend's client since it was asked.
    pub fn check_refreshed(&self) -> anyhow::Result<()> {
        let seen = self.seen_since_asked();
        let refreshes = self.refreshes(&seen);
        ensure!(
            !refreshes.is_empty(),
            "the backend did not redeem its refresh token (the provider saw no refresh grant by client \
             {:?}) although its access token had expired",
            self.app_client_id()
        );
        ensure!(
            refreshes.iter().any(|&i| seen[i].status == 200),
            "the provider refused every refresh grant of the backend: {:?}",
            refreshes
                .iter()
                .map(|&i| (seen[i].status, seen[i].note.error.clone()))
                .collect::<Vec<_>>()
        );
        Ok(())
    }

    /// After a successful refresh grant, the backend called userinfo with the access token that grant
    /// issued, and userinfo accepted it.
    pub fn check_userinfo_with_refreshed_token(&self) -> anyhow::Result<()> {
        let seen = self.seen_since_asked();
        let used = self.refreshes(&seen).into_iter().any(|i| {
            seen[i]
                .note
                .issued_access_token
                .as_deref()
                .is_some_and(|f| {
                    seen[i + 1..]
                        .iter()
                        .any(|r| is_userinfo_with(r, f) && r.status == 200)
                })
        });
        ensure!(
            used,
            "the provider saw no userinfo call with the access token the refresh issued"
        );
        Ok(())
    }

    /// No access token a refresh issued since the backend was asked reached userinfo.
    pub fn check_refreshed_token_unused(&self) -> anyhow::Result<()> {
        let seen = self.seen_since_asked();
        for i in self.refreshes(&seen) {
            let Some(fingerprint) = seen[i].note.issued_access_token.as_deref() else {
                continue;
            };
            let calls = seen[i + 1..]
                .iter()
                .filter(|r| is_userinfo_with(r, fingerprint))
                .count();
            ensure!(
                calls == 0,
                "the backend called userinfo {calls} time(s) with the access token of a refresh answer \
                 whose id_token it should have refused (faults: {:?})",
                seen[i].note.faults
            );
        }
        Ok(())
    }

    /// The backend's answer is a success that carries the user's claims from userinfo (the subject, or
    /// the email or name userinfo released).
    pub fn check_provider_profile_of(&self, username: &str) -> anyhow::Result<()> {
        let answer = self
            .refresh
            .answer
            .as_ref()
            .ok_or_else(|| anyhow!("the backend was not asked for the provider profile"))?;
        ensure!(
            answer.is_success(),
            "the backend answered {} when asked to use the provider's tokens",
            answer.brief()
        );
        let login = self.provider.login_name(username)?;
        let user = self
            .provider
            .idp
            .user(&login)
            .ok_or_else(|| anyhow!("the provider has no user {login:?}"))?;
        let shown = [Some(&user.sub), user.email.as_ref(), user.name.as_ref()]
            .into_iter()
            .flatten()
            .any(|v| answer.body.contains(v.as_str()));
        ensure!(
            shown,
            "the backend's answer shows none of {username}'s userinfo (sub {:?}): {}",
            user.sub,
            answer.brief()
        );
        Ok(())
    }

    /// The browser's session is the one it had before the backend was asked (the same user), or has
    /// ended; it is never another user's.
    pub async fn check_session_unchanged_or_ended(&mut self) -> anyhow::Result<()> {
        let before = self
            .refresh
            .session_before
            .clone()
            .ok_or_else(|| anyhow!("the backend was not asked for the provider profile"))?;
        let Some(now) = self.session_profile().await? else {
            return Ok(());
        };
        let same = |a: &Option<String>, b: &Option<String>| a.is_none() || b.is_none() || a == b;
        ensure!(
            same(&before.id, &now.id)
                && same(&before.subject, &now.subject)
                && same(&before.email, &now.email)
                && same(&before.display_name, &now.display_name),
            "the session's user changed: it was {before:?}, it is {now:?}"
        );
        if matches!(self.app().await?.token_delivery(), TokenDelivery::Cookie(_)) {
            self.session_after = Some(now);
        }
        Ok(())
    }
}
