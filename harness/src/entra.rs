//! Microsoft Entra ID providers of a scenario (CONFORMANCE section M, ENTRA-*): a tenant of the scenario's
//! mock-idp speaking the `entra` persona, offered by the backend as "Log in with NAME" with a path tenant
//! and the tenants it admits ([`EntraSettings`]). The provider's users belong to mock-idp's default
//! Entra tenant, the scenarios' home tenant. On a running backend the target file's
//! `[[extra_providers]] kind = "entra"` entry says what the backend admits, and a scenario whose setup it
//! does not fit is skipped naming the key.

use anyhow::{anyhow, ensure};
use mock_idp::{Fault, FaultSpec};

use crate::{
    target::{EntraSettings, ExtraKind, Profile, TokenDelivery, not_applicable, skip},
    world::{COOKIE_SESSION, World},
};

/// Which tenants a scenario's own backend admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admits {
    /// Only the home tenant, at `common`.
    Home,
    /// The home tenant and the partner tenant, at `common`.
    HomeAndPartner,
    /// Every tenant, at `common` (multi-tenant by explicit policy).
    Every,
}

/// What a scenario remembers of an account it logged in with: the profile's id and name.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// The profile's id, if the target maps it.
    pub id: Option<String>,
    /// The profile's display name.
    pub name: Option<String>,
}

impl World {
    /// Offers `name` through an Entra provider admitting `admits` (a running backend's must fit).
    pub fn add_entra(&mut self, name: &str, admits: Admits) -> anyhow::Result<()> {
        let home = EntraSettings::HOME_TENANT.to_owned();
        let wanted = EntraSettings {
            path_tenant: "common".into(),
            allowed_tenants: match admits {
                Admits::Home => Some(vec![home]),
                Admits::HomeAndPartner => Some(vec![home, EntraSettings::PARTNER_TENANT.into()]),
                Admits::Every => None,
            },
        };
        self.add_persona_as(name, ExtraKind::Entra, None, Some(wanted))?;
        let have = self.entra_settings(name)?;
        let key = "[[extra_providers]] kind = \"entra\"";
        ensure_or_skip(
            have.admits(EntraSettings::HOME_TENANT),
            &format!(
                "needs `allowed_tenants` of {key} to admit mock-idp's default Entra tenant {}",
                EntraSettings::HOME_TENANT
            ),
        )?;
        match admits {
            Admits::Home => Ok(()),
            Admits::HomeAndPartner => ensure_or_skip(
                other_admitted(&have).is_some(),
                &format!(
                    "needs `allowed_tenants` of {key} to admit a second tenant, or `multi_tenant = true`"
                ),
            ),
            Admits::Every => ensure_or_skip(
                have.allowed_tenants.is_none(),
                &format!("needs `multi_tenant = true` in {key}"),
            ),
        }
    }

    /// The Entra settings of provider `name`.
    pub fn entra_settings(&self, name: &str) -> anyhow::Result<EntraSettings> {
        self.persona(name)?
            .entra
            .ok_or_else(|| anyhow!("{name} is not an Entra provider"))
    }

    /// ENTRA-ISSUER and ENTRA-TENANT apply to an app at a multi-tenant endpoint.
    pub fn require_multi_tenant_endpoint(&self, name: &str) -> anyhow::Result<()> {
        let settings = self.entra_settings(name)?;
        if !["common", "organizations"].contains(&settings.path_tenant.as_str()) {
            return Err(not_applicable(&format!(
                "the app signs in at the tenant path {:?}, not at a multi-tenant endpoint \
                 (common, organizations)",
                settings.path_tenant
            )));
        }
        Ok(())
    }

    /// Arms `fault` once at Entra provider `provider`, for `username`'s flows only (the persona of a
    /// running backend is shared by concurrent scenarios).
    pub fn entra_fault_for(
        &mut self,
        provider: &str,
        username: &str,
        fault: &str,
    ) -> anyhow::Result<()> {
        let fault = Fault::parse(fault, None)?;
        let p = self.persona(provider)?;
        let login = self.persona_login_name(&p, username)?;
        p.handle
            .arm(FaultSpec::new(fault).for_user(&login).once())?;
        Ok(())
    }

    /// `username`'s next id_token from `provider` comes from a tenant the app does not admit
    /// (`entra.other_tenant`); not applicable to an app that admits every tenant.
    pub fn entra_unlisted_tenant(&mut self, provider: &str, username: &str) -> anyhow::Result<()> {
        self.require_multi_tenant_endpoint(provider)?;
        let settings = self.entra_settings(provider)?;
        if settings.admits(mock_idp::ENTRA_FOREIGN_TENANT) {
            return Err(not_applicable(
                "the app admits every tenant (multi-tenant by explicit policy); ENTRA-TENANT's \
                 allow-list does not apply",
            ));
        }
        self.entra_fault_for(provider, username, "entra.other_tenant")
    }

    /// A user `username` of provider `provider` in another tenant the app admits, whose tenant set
    /// their `email` to `victim`'s address (nOAuth).
    pub fn add_entra_user_with_email_of(
        &mut self,
        provider: &str,
        username: &str,
        victim: &str,
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let settings = self.entra_settings(provider)?;
        let tid = other_admitted(&settings)
            .ok_or_else(|| anyhow!("{provider} admits no second tenant"))?;
        let victim_login = self.persona_login_name(&p, victim)?;
        let email = p
            .handle
            .user(&victim_login)
            .and_then(|u| u.email)
            .ok_or_else(|| anyhow!("{victim} has no email at {provider}"))?;
        self.add_persona_user_with(provider, username, &email, |user| {
            user.name = Some(format!("{username} (another tenant)"));
            user.tid = Some(tid);
        })
    }

    /// Logs `username` in with `provider` and remembers the account the app opened.
    pub async fn entra_account(&mut self, username: &str, provider: &str) -> anyhow::Result<()> {
        self.log_in_with(username, provider, false).await?;
        self.check_token_issued()?;
        let profile = self.current_profile().await?;
        ensure!(
            profile.id.is_some() || profile.display_name.is_some(),
            "the profile shows neither an id nor a name to tell accounts apart"
        );
        self.personas.remember_account(
            username,
            Account {
                id: profile.id,
                name: profile.display_name,
            },
        );
        Ok(())
    }

    /// The last login was refused, or opened an account other than `username`'s.
    pub async fn check_not_account_of(&mut self, username: &str) -> anyhow::Result<()> {
        let account = self
            .personas
            .account(username)
            .ok_or_else(|| anyhow!("{username} has no account yet: log them in first"))?;
        let cookie = matches!(self.app_token.as_deref(), Some(COOKIE_SESSION));
        if self.app_token.is_none() || (cookie && self.session_after == self.session_before) {
            return self.check_no_token().await;
        }
        let profile = self.current_profile().await?;
        if let (Some(id), Some(theirs)) = (&profile.id, &account.id) {
            ensure!(
                id != theirs,
                "the login opened {username}'s account (id {id}): an email from another tenant took \
                 it over"
            );
        }
        if let (Some(name), Some(theirs)) = (&profile.display_name, &account.name) {
            ensure!(
                name != theirs,
                "the login opened {username}'s account ({name}): an email from another tenant took \
                 it over"
            );
        }
        Ok(())
    }

    /// The profile of the session the last login left.
    async fn current_profile(&mut self) -> anyhow::Result<Profile> {
        let cookie = matches!(self.app().await?.token_delivery(), TokenDelivery::Cookie(_));
        if cookie {
            return self
                .session_after
                .clone()
                .ok_or_else(|| anyhow!("the browser holds no session"));
        }
        self.fetch_profile(None).await?;
        let body = self
            .profile
            .as_ref()
            .filter(|r| r.is_success())
            .map(|r| r.json())
            .ok_or_else(|| anyhow!("the session does not open the profile"))?;
        Ok(self.app().await?.profile(&body))
    }
}

/// A tenant other than the home tenant that the app admits: the partner tenant when it admits every
/// tenant, else the first other one it lists.
fn other_admitted(settings: &EntraSettings) -> Option<String> {
    match &settings.allowed_tenants {
        None => Some(EntraSettings::PARTNER_TENANT.to_owned()),
        Some(list) => list
            .iter()
            .find(|t| !t.eq_ignore_ascii_case(EntraSettings::HOME_TENANT))
            .cloned(),
    }
}

fn ensure_or_skip(ok: bool, reason: &str) -> anyhow::Result<()> {
    if ok { Ok(()) } else { Err(skip(reason)) }
}
