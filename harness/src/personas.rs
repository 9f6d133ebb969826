//! The scenario's providers that are not OpenID Connect: WeChat and GitHub personas, each a tenant of the
//! scenario's mock-idp with the same users, and the logins through them (the same six steps, a login
//! page of the persona, a callback without `iss`). The backend learns of them through
//! [`crate::target::TargetOptions::extra_providers`] before it starts.

use std::collections::HashMap;

use anyhow::{Context, anyhow, ensure};
use mock_idp::{ClientConfig, Fault, FaultSpec, Handle, MockIdp, UserConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

use crate::{
    arrangement::PersonaSource,
    browser::{hidden_input, query_param},
    parameters::Policy,
    target::{AppleKeys, EntraSettings, ExtraKind, ExtraProvider},
    world::{MAIN, World},
};

/// The client id the harness registers for the backend at every persona.
pub const PERSONA_CLIENT_ID: &str = "conformance-app";

/// One persona provider of the scenario.
#[derive(Debug, Clone)]
pub struct PersonaProvider {
    /// "Log in with NAME".
    pub name: String,
    /// Its protocol.
    pub kind: ExtraKind,
    /// The tenant's controls.
    pub handle: Handle,
    /// The backend's secret there.
    pub client_secret: String,
    /// The backend's client id there: [`PERSONA_CLIENT_ID`], or another for a further app of the same
    /// developer at the same persona ([`World::add_persona_app`]).
    pub client_id: String,
    /// Whether the backend's client is registered there (after the backend started).
    registered: bool,
    /// On a running backend's persona, shared by every scenario: the suffix of the scenario's users.
    namespace: Option<String>,
    /// Sign in with Apple: the key the backend signs its client secrets with (registered there).
    pub apple: Option<AppleKeys>,
    /// Entra only: where the app signs in and which tenants it admits.
    pub entra: Option<EntraSettings>,
}

impl PersonaProvider {
    /// The path its token endpoint's path ends with (Entra's is under the path tenant).
    pub fn token_path(&self) -> &'static str {
        match self.kind {
            ExtraKind::Wechat => "/sns/oauth2/access_token",
            ExtraKind::Github => "/login/oauth/access_token",
            ExtraKind::Google => "/token",
            ExtraKind::Apple => "/auth/token",
            ExtraKind::Entra => "/oauth2/v2.0/token",
        }
    }
}

/// The scenario's personas and what their logins left behind.
#[derive(Debug, Default)]
pub struct Personas {
    /// In order of creation.
    list: Vec<PersonaProvider>,
    /// The code of the last login through each provider that reached the backend (for replays).
    last_code: HashMap<String, String>,
    /// The server the personas are tenants of, and their tenant names: deleted with the scenario.
    tenants: Option<(Arc<MockIdp>, Vec<String>)>,
    /// Users the scenario added to a shared persona: removed with the scenario.
    created: Vec<(Handle, String)>,
    /// Personas whose clock the scenario moved: put back on the system time with the scenario.
    pub(crate) moved_clocks: Vec<Handle>,
    /// The accounts scenario users logged in to, by username (Entra's identity-key scenario).
    accounts: HashMap<String, crate::entra::Account>,
}

impl Personas {
    /// Whether the scenario has no persona provider.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Remembers the account `username` logged in to.
    pub fn remember_account(&mut self, username: &str, account: crate::entra::Account) {
        self.accounts.insert(username.to_owned(), account);
    }

    /// The account `username` logged in to, if remembered.
    pub fn account(&self, username: &str) -> Option<crate::entra::Account> {
        self.accounts.get(username).cloned()
    }
}

impl Drop for Personas {
    fn drop(&mut self) {
        for (handle, name) in &self.created {
            handle.remove_user(name);
        }
        for handle in &self.moved_clocks {
            handle.clock().reset();
        }
        if let Some((server, names)) = &self.tenants {
            for name in names {
                server.delete_tenant(name);
            }
        }
    }
}

impl World {
    /// Offers `name` through a WeChat or GitHub persona ([`crate::arrangement::persona_for`] says which);
    /// only before the backend has started.
    pub fn add_persona(
        &mut self,
        name: &str,
        kind: ExtraKind,
        policy: Option<Policy>,
    ) -> anyhow::Result<()> {
        let entra = (kind == ExtraKind::Entra).then(|| EntraSettings {
            path_tenant: "common".into(),
            allowed_tenants: Some(vec![EntraSettings::HOME_TENANT.into()]),
        });
        self.add_persona_as(name, kind, policy, entra)
    }

    /// As [`World::add_persona`], with the Entra settings of a scenario's own backend (a running backend
    /// has its own: the scenario steps check they fit).
    pub fn add_persona_as(
        &mut self,
        name: &str,
        kind: ExtraKind,
        policy: Option<Policy>,
        entra: Option<EntraSettings>,
    ) -> anyhow::Result<()> {
        let persona = match crate::arrangement::persona_for(self, name, kind, policy)? {
            PersonaSource::Configured { handle, persona } => PersonaProvider {
                name: name.to_owned(),
                kind,
                handle,
                client_id: persona.client_id,
                client_secret: persona.client_secret,
                registered: true,
                namespace: self.provider.namespace().map(str::to_owned),
                apple: persona.apple.map_err(|missing| {
                    crate::target::skip(&format!(
                        "needs the {name} provider's client-secret key in the target file: {missing}"
                    ))
                })?,
                entra: persona.entra,
            },
            PersonaSource::Made {
                handle,
                tenant,
                server,
            } => {
                self.personas
                    .tenants
                    .get_or_insert_with(|| (server, Vec::new()))
                    .1
                    .push(tenant);
                let client_secret = crate::random_token(24);
                let apple = match kind {
                    ExtraKind::Apple => Some(crate::apple::generate_keys(
                        crate::apple::HARNESS_TEAM_ID,
                        &format!("HK{}", crate::random_token(6).to_uppercase()),
                    )?),
                    ExtraKind::Wechat | ExtraKind::Github | ExtraKind::Google | ExtraKind::Entra => None,
                };
                self.options.extra_providers.push(ExtraProvider {
                    name: name.to_owned(),
                    kind,
                    base_url: handle.issuer().to_owned(),
                    client_id: PERSONA_CLIENT_ID.into(),
                    client_secret: client_secret.clone(),
                    policy,
                    google: Default::default(),
                    apple: apple.clone(),
                    entra: entra.clone(),
                });
                PersonaProvider {
                    name: name.to_owned(),
                    kind,
                    handle,
                    client_id: PERSONA_CLIENT_ID.into(),
                    client_secret,
                    registered: false,
                    namespace: None,
                    apple,
                    entra,
                }
            }
        };
        self.personas.list.push(persona);
        Ok(())
    }

    /// The persona's username for the scenario's user `name`: `name` on a persona of the scenario's own;
    /// on a running backend's, shared by every scenario, the scenario's namespaced user, copied there
    /// from the provider on first use (and removed when the scenario ends).
    pub(crate) fn persona_login_name(
        &mut self,
        p: &PersonaProvider,
        name: &str,
    ) -> anyhow::Result<String> {
        let Some(ns) = &p.namespace else {
            return Ok(name.to_owned());
        };
        let mapped = format!("{name}.{ns}");
        if p.handle.user(&mapped).is_none() {
            let at_root = self.provider.login_name(name)?;
            if let Some(mut user) = self.provider.idp.user(&at_root) {
                user.username = mapped.clone();
                p.handle
                    .add_user(user)
                    .map_err(|e| anyhow!("adding {mapped} at {}: {e}", p.name))?;
                self.personas
                    .created
                    .push((p.handle.clone(), mapped.clone()));
            }
        }
        Ok(mapped)
    }

    /// The persona named `name`.
    pub fn persona(&self, name: &str) -> anyhow::Result<PersonaProvider> {
        self.personas
            .list
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| anyhow!("no provider {name:?} in this scenario: add it in a Given step"))
    }

    /// Starts the backend if needed and registers its redirect URI at every persona.
    pub(crate) async fn register_at_personas(&mut self) -> anyhow::Result<()> {
        let redirect = self.app().await?.redirect_uri();
        for p in self.personas.list.iter_mut().filter(|p| !p.registered) {
            let mut client = match &p.apple {
                Some(keys) => crate::apple::registration(&p.client_id, &redirect, keys),
                None => ClientConfig::confidential(&p.client_id, &p.client_secret, &redirect),
            };
            if p.kind == ExtraKind::Google {
                let parties = self
                    .options
                    .extra_providers
                    .iter()
                    .find(|e| e.name == p.name)
                    .map(|e| e.google.authorized_parties.clone())
                    .unwrap_or_default();
                for sibling in crate::google::project_clients(&mut client, &parties) {
                    p.handle
                        .add_client(sibling)
                        .map_err(|e| anyhow!("registering a sibling at {}: {e}", p.name))?;
                }
            }
            p.handle
                .add_client(client)
                .map_err(|e| anyhow!("registering at {}: {e}", p.name))?;
            p.registered = true;
        }
        Ok(())
    }

    /// The whole login of `username` through persona `provider` in the main browser: the backend's login
    /// (or, with `link`, its link start with the session), the persona's login page, the callback.
    pub async fn log_in_with(
        &mut self,
        username: &str,
        provider: &str,
        link: bool,
    ) -> anyhow::Result<()> {
        self.register_at_personas().await?;
        let p = self.persona(provider)?;
        let authorize = self.start_persona_login(provider, link).await?;
        ensure!(
            authorize.as_str().starts_with(p.handle.issuer()),
            "the app sent the browser to {authorize}, not to the {provider} provider at {}",
            p.handle.issuer()
        );
        self.login_redirect = Some(authorize.clone());
        let b = self.browser(MAIN)?;
        let page = b.get(&authorize).await?;
        ensure!(
            page.status == 200,
            "the {provider} login page answered {}",
            page.brief()
        );
        let username = self.persona_login_name(&p, username)?;
        let password = p
            .handle
            .user(&username)
            .map(|u| u.password.expose().to_owned())
            .unwrap_or_default();
        let form = [
            ("request_id", hidden_input(&page.body, "request_id")?),
            ("csrf", hidden_input(&page.body, "csrf")?),
            ("username", username.clone()),
            ("password", password),
            ("action", "login".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let login = Url::parse(&p.handle.login_page_url())?;
        let response = b.post_form(&login, &form).await?;
        // A redirect, or (Sign in with Apple) a form_post page the browser posts from the provider's site.
        let (location, posted) = crate::world::authorization_response(&response)?;
        self.auth_response = Some(location);
        self.auth_response_posted = posted;
        let payload = self.callback_payload()?;
        if let Some(code) = payload.get("code").and_then(Value::as_str) {
            self.personas
                .last_code
                .insert(provider.to_owned(), code.to_owned());
        }
        self.deliver_callback(MAIN, payload).await
    }

    /// The backend's authorization URL for a login (or link) with `provider`.
    async fn start_persona_login(&mut self, provider: &str, link: bool) -> anyhow::Result<Url> {
        let token = self.app_token.clone();
        let b = self.browser(MAIN)?;
        let app = self.app().await?;
        if !link {
            let url = app.login_url_for(provider);
            return b.get(&url).await?.location();
        }
        let url = app.link_url(provider).ok_or_else(|| {
            crate::target::unsupported("[linking] in the target file (account linking)")
        })?;
        let response = match token {
            Some(t) if t != crate::world::COOKIE_SESSION => b.get_with_bearer(&url, &t).await?,
            _ => b.get(&url).await?,
        };
        ensure!(
            response.is_success(),
            "starting the link answered {}",
            response.brief()
        );
        let body = response.json();
        let url = body
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("the link start has no url: {}", response.brief()))?;
        Url::parse(url).context("the link start's url")
    }

    /// Starts a fresh login with `provider` and hands the backend the code of the previous one.
    pub async fn replay_persona_code(&mut self, provider: &str) -> anyhow::Result<()> {
        let code = self
            .personas
            .last_code
            .get(provider)
            .cloned()
            .ok_or_else(|| anyhow!("nobody has logged in with {provider} yet"))?;
        let authorize = self.start_persona_login(provider, false).await?;
        let state =
            query_param(&authorize, "state").ok_or_else(|| anyhow!("no state in {authorize}"))?;
        self.deliver_callback(MAIN, json!({"code": code, "state": state}))
            .await
    }

    /// The persona's last token answer was HTTP 200 carrying `error` (a WeChat errcode or GitHub error).
    pub fn check_persona_token_error(&self, provider: &str, error: &str) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let last = p
            .handle
            .requests()
            .into_iter()
            .rfind(|r| r.path.ends_with(p.token_path()))
            .ok_or_else(|| anyhow!("the backend made no token request at {provider}"))?;
        ensure!(
            last.status == 200 && last.note.error.as_deref() == Some(error),
            "{provider}'s last token answer was {} with error {:?}, not 200 with {error}",
            last.status,
            last.note.error
        );
        Ok(())
    }

    /// The backend asked the GitHub persona for JSON, or took the form-encoded default (either is right;
    /// the login's success shows it understood the answer).
    pub fn check_token_format_understood(&self, provider: &str) -> anyhow::Result<()> {
        self.check_token_issued()?;
        let p = self.persona(provider)?;
        let last = p
            .handle
            .requests()
            .into_iter()
            .rfind(|r| r.path.ends_with(p.token_path()))
            .ok_or_else(|| anyhow!("the backend made no token request at {provider}"))?;
        ensure!(last.status == 200, "the token answer was {}", last.status);
        Ok(())
    }

    /// Arms a fault at the persona for its next matching answer.
    pub fn persona_fault(&self, provider: &str, fault: &str) -> anyhow::Result<()> {
        let (name, value) = match fault.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (fault, None),
        };
        let fault = Fault::parse(name, value)?;
        self.persona(provider)?
            .handle
            .arm(FaultSpec::new(fault).once())?;
        Ok(())
    }

    /// Adds a user with this email at the persona only.
    pub fn add_persona_user(
        &mut self,
        provider: &str,
        username: &str,
        email: &str,
    ) -> anyhow::Result<()> {
        self.add_persona_user_with(provider, username, email, |user| {
            user.email_verified = Some(true);
        })
    }

    /// Adds a user with this email at the persona only, as `tweak` shapes them further.
    pub fn add_persona_user_with(
        &mut self,
        provider: &str,
        username: &str,
        email: &str,
        tweak: impl FnOnce(&mut UserConfig),
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let username = &match &p.namespace {
            Some(ns) => format!("{username}.{ns}"),
            None => username.to_owned(),
        };
        let mut user = UserConfig::new(
            username,
            &format!("{username}-password"),
            &format!("sub-{username}"),
        );
        user.name = Some(format!("{username} (provider)"));
        user.email = Some(email.to_owned());
        tweak(&mut user);
        p.handle
            .add_user(user)
            .map_err(|e| anyhow!("adding {username} at {provider}: {e}"))?;
        if p.namespace.is_some() {
            self.personas
                .created
                .push((p.handle.clone(), username.clone()));
        }
        Ok(())
    }

    /// The profile's display name is `name` and its avatar the persona's picture of `username`.
    pub async fn check_persona_profile(
        &mut self,
        name: &str,
        provider: &str,
        username: &str,
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let login = self.persona_login_name(&p, username)?;
        // The picture the persona publishes for the user: a path of its own, or a URL as it is.
        let avatar = match p.handle.user(&login).and_then(|u| u.picture) {
            Some(path) if path.starts_with('/') => p.handle.url(&path),
            Some(url) => url,
            None => p.handle.avatar_url(&login),
        };
        self.fetch_profile(None).await?;
        let body = self
            .profile
            .as_ref()
            .map(|r| r.json())
            .ok_or_else(|| anyhow!("no profile answer"))?;
        let profile = self.app().await?.profile(&body);
        ensure!(
            profile.display_name.as_deref() == Some(name),
            "the profile shows {:?}, not {name:?}",
            profile.display_name
        );
        ensure!(
            profile.avatar_url.as_deref() == Some(avatar.as_str()),
            "the profile's avatar is {:?}, not {avatar}",
            profile.avatar_url
        );
        Ok(())
    }

    /// Whether the profile's display name is `name` (`shown`) or not.
    pub async fn check_profile_name(&mut self, name: &str, shown: bool) -> anyhow::Result<()> {
        self.require_profile_field(crate::target::ProfileField::Name)
            .await?;
        // The name a provider keeps out of the id_token reaches the app only through userinfo: for a
        // client that never calls it, ID-USERINFO-SUB does not apply (its "Applies when").
        if self.personas.is_empty()
            && self
                .provider
                .idp
                .requests_since(self.log_seq_before_callback)
                .iter()
                .all(|r| !r.path.ends_with("/userinfo"))
        {
            return Err(crate::target::not_applicable(
                "ID-USERINFO-SUB applies when the client calls userinfo; this one made no userinfo \
                 call for the login",
            ));
        }
        self.fetch_profile(None).await?;
        let body = self
            .profile
            .as_ref()
            .filter(|r| r.is_success())
            .map(|r| r.json())
            .ok_or_else(|| anyhow!("no profile answer"))?;
        let profile = self.app().await?.profile(&body);
        ensure!(
            (profile.display_name.as_deref() == Some(name)) == shown,
            "the profile shows the name {:?}; expected {}{name:?}",
            profile.display_name,
            if shown { "" } else { "anything but " }
        );
        Ok(())
    }

    /// The identities the backend lists for the session, as (id, provider).
    pub async fn linked_identities(&mut self) -> anyhow::Result<Vec<(String, Option<String>)>> {
        let token = self.app_token.clone();
        let url = self.app().await?.identities_url().ok_or_else(|| {
            crate::target::unsupported("[linking] in the target file (account linking)")
        })?;
        let b = self.browser(MAIN)?;
        let response = match token {
            Some(t) if t != crate::world::COOKIE_SESSION => b.get_with_bearer(&url, &t).await?,
            _ => b.get(&url).await?,
        };
        ensure!(
            response.is_success(),
            "listing identities answered {}",
            response.brief()
        );
        Ok(response
            .json()
            .get("identities")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|i| {
                        let id = match &i["id"] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (id, i["provider"].as_str().map(str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Unlinks the identity from `provider` (or, with `None`, the only one left); the answer is recorded
    /// as the backend's.
    pub async fn unlink(&mut self, provider: Option<&str>) -> anyhow::Result<()> {
        let identities = self.linked_identities().await?;
        let id = match provider {
            Some(name) => identities
                .iter()
                .find(|(_, p)| p.as_deref() == Some(name))
                .map(|(id, _)| id.clone())
                .ok_or_else(|| anyhow!("no linked identity from {name}: {identities:?}"))?,
            None => {
                ensure!(
                    identities.len() == 1,
                    "expected one identity left, found {identities:?}"
                );
                identities[0].0.clone()
            }
        };
        let token = self.app_token.clone();
        let url = self.app().await?.identity_url(&id).ok_or_else(|| {
            crate::target::unsupported("[linking] in the target file (account linking)")
        })?;
        let b = self.browser(MAIN)?;
        let token = token.filter(|t| t != crate::world::COOKIE_SESSION);
        let response = b.delete(&url, token.as_deref()).await?;
        // An unlink answer is no login: the browser keeps its session, and a refusal is judged by its
        // answer alone.
        self.backend = Some(response);
        self.last_answer_ends_login = false;
        Ok(())
    }
}

/// Identity keys of the personas (CONFORMANCE NP-IDENTITY-KEY): a further app of one developer, a
/// renamed GitHub login, WeChat users without a `unionid` or with a chosen `openid`. Each changes only the
/// persona's own user and client registry, through the handle's `add_user` and `add_client`.
impl World {
    /// Offers `name` through a further app (client) of the developer behind persona `of`: the same
    /// provider and users, another client id and secret; only before the backend has started.
    pub fn add_persona_app(&mut self, name: &str, of: &str) -> anyhow::Result<()> {
        if self.factory.fixed().is_some() {
            return Err(crate::target::skip(
                "needs a backend configured with two apps of the scenario's own WeChat or GitHub provider",
            ));
        }
        ensure!(
            self.app_if_started().is_none(),
            "the app is already running: offer {name} before any step that uses it"
        );
        let first = self.persona(of)?;
        let client_id = format!("{PERSONA_CLIENT_ID}-{}", self.personas.list.len() + 1);
        let client_secret = crate::random_token(24);
        self.options.extra_providers.push(ExtraProvider {
            name: name.to_owned(),
            kind: first.kind,
            base_url: first.handle.issuer().to_owned(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            policy: None,
            google: Default::default(),
            apple: first.apple.clone(),
            entra: first.entra.clone(),
        });
        self.personas.list.push(PersonaProvider {
            name: name.to_owned(),
            kind: first.kind,
            handle: first.handle,
            client_secret,
            client_id,
            registered: false,
            namespace: None,
            apple: first.apple,
            entra: first.entra,
        });
        Ok(())
    }

    /// Changes `username`'s user at persona `provider` (which users all of its apps share).
    pub(crate) fn change_persona_user(
        &mut self,
        provider: &str,
        username: &str,
        change: impl FnOnce(&mut UserConfig),
    ) -> anyhow::Result<()> {
        let p = self.persona(provider)?;
        let username = &self.persona_login_name(&p, username)?;
        let handle = p.handle;
        let mut user = handle
            .user(username)
            .ok_or_else(|| anyhow!("{provider} has no user {username:?}"))?;
        change(&mut user);
        handle
            .add_user(user)
            .map_err(|e| anyhow!("changing {username} at {provider}: {e}"))
    }

    /// The user renames their GitHub `login`; the numeric `id` stays.
    pub fn rename_persona_login(
        &mut self,
        provider: &str,
        username: &str,
        login: &str,
    ) -> anyhow::Result<()> {
        self.change_persona_user(provider, username, |u| {
            u.github_login = Some(login.to_owned())
        })
    }

    /// The user has no WeChat `unionid` (an app not bound to an open-platform account).
    pub fn drop_persona_unionid(&mut self, provider: &str, username: &str) -> anyhow::Result<()> {
        self.change_persona_user(provider, username, |u| u.unionid = None)
    }

    /// The user's WeChat `openid` at app `app` (a provider name of this scenario) is `openid`.
    pub fn set_persona_openid(
        &mut self,
        app: &str,
        username: &str,
        openid: &str,
    ) -> anyhow::Result<()> {
        let client_id = self.persona(app)?.client_id;
        self.change_persona_user(app, username, |u| {
            u.openids.insert(client_id, openid.to_owned());
        })
    }
}
