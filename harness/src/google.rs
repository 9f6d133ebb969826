//! The Google persona's arrangements (CONFORMANCE GOOGLE-*): the backend's Google settings (a Workspace
//! domain, the project's other clients it accepts as `azp`, refresh tokens kept), Workspace and consumer
//! accounts at the persona, and what the backend's authorization request asked. On a running backend the
//! settings are those of its target file (`[[extra_providers]] kind = "google"`): a scenario needing one
//! the file lacks is skipped naming the key.

use std::time::Duration;

use anyhow::{anyhow, ensure};
use mock_idp::ClientConfig;

use crate::{
    browser::query_param,
    target::{ExtraKind, FixedGoogle, GoogleOptions, skip_reason},
    world::World,
};

/// The Google project the harness puts the backend's client in, with the other clients it accepts.
pub const GOOGLE_PROJECT: &str = "conformance-project";

/// Puts `client` in [`GOOGLE_PROJECT`] and returns the project's other clients, `parties` (public
/// clients, as a mobile app's are), to register beside it.
pub fn project_clients(client: &mut ClientConfig, parties: &[String]) -> Vec<ClientConfig> {
    client.project = Some(GOOGLE_PROJECT.to_owned());
    parties
        .iter()
        .filter(|id| **id != client.client_id)
        .map(|id| {
            let mut sibling = ClientConfig::public(id, "com.example.conformance:/oauth2redirect");
            sibling.project = Some(GOOGLE_PROJECT.to_owned());
            sibling
        })
        .collect()
}

impl World {
    /// Changes the Google settings the backend starts with for `provider`; on a running backend, checks
    /// that its target file declares what `wanted` asks (skipped naming `key` when not).
    fn google_setting(
        &mut self,
        provider: &str,
        key: &str,
        wanted: impl Fn(&FixedGoogle) -> bool,
        change: impl FnOnce(&mut GoogleOptions),
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        ensure!(
            p.kind == ExtraKind::Google,
            "{provider} is not a google provider"
        );
        if let Some(fixed) = self.factory.fixed() {
            let declared = fixed
                .personas
                .iter()
                .find(|f| f.name == provider)
                .map(|f| wanted(&f.google))
                .unwrap_or(false);
            if !declared {
                return Err(crate::target::skip(&format!(
                    "needs {key} in the target file's [[extra_providers]] {provider:?}"
                )));
            }
            return Ok(());
        }
        ensure!(
            self.app_if_started().is_none(),
            "the app is already running: configure {provider} before any step that uses it"
        );
        let extra = self
            .options
            .extra_providers
            .iter_mut()
            .find(|e| e.name == provider)
            .ok_or_else(|| anyhow!("{provider} is not one of the app's providers"))?;
        change(&mut extra.google);
        Ok(())
    }

    /// The backend admits only Google accounts of the Workspace `domain` (`hosted_domain`).
    pub fn google_admits_only(&mut self, provider: &str, domain: &str) -> anyhow::Result<()> {
        self.google_setting(
            provider,
            &format!("hosted_domain = {domain:?}"),
            |g| g.hosted_domain.as_deref() == Some(domain),
            |g| g.hosted_domain = Some(domain.to_owned()),
        )
    }

    /// The backend accepts id_tokens whose `azp` is `client_id`, another client of its Google project
    /// (`authorized_parties`); the persona registers that client in the backend client's project.
    pub fn google_accepts_party(&mut self, provider: &str, client_id: &str) -> anyhow::Result<()> {
        self.google_setting(
            provider,
            &format!("authorized_parties = [{client_id:?}]"),
            |g| {
                g.authorized_parties
                    .as_ref()
                    .is_some_and(|list| list.iter().any(|c| c == client_id))
            },
            |g| g.authorized_parties.push(client_id.to_owned()),
        )
    }

    /// The backend keeps Google refresh tokens (`access_type = "offline"`).
    pub fn google_keeps_refresh_tokens(&mut self, provider: &str) -> anyhow::Result<()> {
        self.google_setting(
            provider,
            "access_type = \"offline\"",
            |g| g.access_type.as_deref() == Some("offline"),
            |g| g.offline = true,
        )
    }

    /// The persona's `username` is a Google Workspace account of `domain` (`hd` in its tokens).
    pub fn google_workspace_user(
        &mut self,
        provider: &str,
        username: &str,
        domain: &str,
    ) -> anyhow::Result<()> {
        self.change_persona_user(provider, username, |u| u.hd = Some(domain.to_owned()))
    }

    /// The persona's `username` is a consumer Google account (no `hd`) with this email.
    pub fn google_consumer_user(
        &mut self,
        provider: &str,
        username: &str,
        email: &str,
    ) -> anyhow::Result<()> {
        self.change_persona_user(provider, username, |u| {
            u.hd = None;
            u.email = Some(email.to_owned());
            u.email_verified = Some(true);
        })
    }

    /// The backend's last authorization request (to `provider`) asked `access_type=offline` and did not
    /// force consent, so only the first login per user brings a refresh token. A backend that forces
    /// consent on every login never meets a login without one: GOOGLE-REFRESH does not apply to it.
    pub fn check_google_offline_request(&self, provider: &str) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let url = self
            .login_redirect
            .as_ref()
            .filter(|u| u.as_str().starts_with(p.handle.issuer()))
            .ok_or_else(|| anyhow!("no login with {provider} was started"))?;
        ensure!(
            query_param(url, "access_type").as_deref() == Some("offline"),
            "the backend keeps refresh tokens but asked {provider} without access_type=offline: {url}"
        );
        let prompt = query_param(url, "prompt").unwrap_or_default();
        if prompt.split(' ').any(|p| p == "consent") {
            return Err(crate::target::not_applicable(
                "the backend sends prompt=consent on every login, so every login brings a refresh token",
            ));
        }
        Ok(())
    }

    /// The Google persona's access tokens for the backend's client live `secs` seconds from now on. Only
    /// on a Google provider of the scenario's own: a running backend's is shared by every scenario.
    pub async fn shorten_google_access_tokens(
        &mut self,
        provider: &str,
        secs: u64,
    ) -> anyhow::Result<()> {
        if self.factory.fixed().is_some() {
            return Err(crate::target::skip(
                "needs a Google provider of the scenario's own to shorten its access tokens (a running \
                 backend's is shared by every scenario)",
            ));
        }
        self.register_at_personas().await?;
        let p = self.persona(provider)?;
        p.handle
            .update_client(&p.client_id, |c| c.access_token_ttl = Some(secs))
            .ok_or_else(|| anyhow!("the backend's client is not registered at {provider}"))?;
        self.refresh.access_ttl = Some(secs);
        Ok(())
    }

    /// Moves the Google persona's clock one second past the life of the backend's access tokens, and
    /// the backend's by as much where it has a clock hook.
    pub async fn expire_google_access_token(&mut self, provider: &str) -> anyhow::Result<()> {
        let ttl = self.refresh.access_ttl.ok_or_else(|| {
            anyhow!("no step gave the backend's access tokens a lifetime to move past")
        })?;
        let by = Duration::from_secs(ttl + 1);
        self.persona(provider)?.handle.clock().advance(by);
        match self.advance_app_clock(by).await {
            Err(e) if skip_reason(&e.to_string()).is_some() => Ok(()),
            other => other,
        }
    }

    /// The Google persona answered a refresh grant of the backend's client with success (with the refresh
    /// token of the first consent: the only one it issued).
    pub fn check_google_refreshed(&self, provider: &str) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let refreshes: Vec<_> = p
            .handle
            .requests()
            .into_iter()
            .filter(|r| {
                r.path.rsplit('/').next() == Some("token")
                    && r.param("grant_type") == Some("refresh_token")
                    && r.client_id.as_deref() == Some(p.client_id.as_str())
            })
            .collect();
        ensure!(
            !refreshes.is_empty(),
            "the backend did not redeem the refresh token of the first consent at {provider} although \
             its access token had expired"
        );
        ensure!(
            refreshes.iter().any(|r| r.status == 200),
            "{provider} refused every refresh grant of the backend: {:?}",
            refreshes
                .iter()
                .map(|r| (r.status, r.note.error.clone()))
                .collect::<Vec<_>>()
        );
        Ok(())
    }

    /// Arms a fault once at the Google persona for `username`'s flows only: the persona of a running
    /// backend is shared by every scenario, whose logins must not take one another's faults.
    pub fn google_fault_for(
        &mut self,
        provider: &str,
        fault: &str,
        username: &str,
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let login = self.persona_login_name(&p, username)?;
        let (name, value) = match fault.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (fault, None),
        };
        let fault = mock_idp::Fault::parse(name, value)?;
        p.handle
            .arm(mock_idp::FaultSpec::new(fault).once().for_user(&login))?;
        Ok(())
    }
}
