//! Which provider and which backend each scenario gets, decided here and nowhere else.
//!
//! - In-process (a factory that starts backends): every scenario has a mock IdP of its own (the world's
//!   default), or with `--shared-provider` a tenant of one server the run shares.
//! - Against a running backend (a target file): the provider it is configured with, served once at its
//!   issuer, with the WeChat and GitHub providers of its `[[extra_providers]]` as tenants; each scenario
//!   sees it through a namespace of its own (`alice` is `alice.s17`), alone when it changes or counts what
//!   all share ([`crate::runner::provider_wide`]).
//! - A scenario that a shared running backend cannot serve (its first fetch of discovery, another
//!   unknown-user policy, a startup check, a client secret of its own, a provider of its own) gets a
//!   backend started for it from `[start]` with a provider of its own, if the target file says how; if it
//!   does not, it is skipped, saying why.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use anyhow::anyhow;
use mock_idp::{Handle, MockIdp};

use crate::{
    parameters::Policy,
    provider::Provider,
    target::{ExtraKind, FixedBackend, FixedPersona, SharedFactory},
    world::World,
};

/// The run's decision about providers and backends.
#[derive(Debug)]
pub struct Arrangement {
    /// The backend under test.
    factory: SharedFactory,
    /// The server every scenario shares, if any.
    shared: Shared,
    /// Backends started per scenario, for what the running one cannot serve (`[start]`).
    starter: Option<SharedFactory>,
    /// The next namespace on a running backend's provider.
    next_namespace: AtomicU64,
    /// Whether scenarios run one at a time anyway.
    serial: bool,
}

/// The server a run shares between scenarios.
#[derive(Debug)]
enum Shared {
    /// None: a server per scenario.
    Nothing,
    /// One server; a tenant per scenario.
    Tenants(Arc<MockIdp>),
    /// The running backend's provider.
    Running(Arc<MockIdp>),
}

/// Where a scenario's WeChat or GitHub provider comes from.
pub(crate) enum PersonaSource {
    /// A tenant made for the scenario: deleted with it.
    Made {
        /// Its controls.
        handle: Handle,
        /// Its tenant name.
        tenant: String,
        /// The server it is a tenant of.
        server: Arc<MockIdp>,
    },
    /// The running backend's, as its target file configures it: shared, users namespaced.
    Configured {
        /// Its controls.
        handle: Handle,
        /// What the backend is configured with there.
        persona: Box<FixedPersona>,
    },
}

impl Arrangement {
    /// Decides the run's arrangement and serves what it shares: the running backend's provider (at its
    /// issuer) or, with `shared_provider`, one server for tenants.
    pub async fn for_run(
        factory: SharedFactory,
        shared_provider: bool,
        serial: bool,
    ) -> io::Result<Arrangement> {
        let starter = factory.own_backends();
        let shared = match factory.fixed() {
            Some(fixed) => Shared::Running(Arc::new(serve_running_provider(fixed).await?)),
            None if shared_provider => {
                let server = MockIdp::start(mock_idp::Config::builtin())
                    .await
                    .map_err(|e| io::Error::other(format!("starting the shared mock IdP: {e}")))?;
                Shared::Tenants(Arc::new(server))
            }
            None => Shared::Nothing,
        };
        Ok(Arrangement {
            factory,
            shared,
            starter,
            next_namespace: AtomicU64::new(1),
            serial,
        })
    }

    /// The running backend's provider, if the run has one.
    pub fn running_provider(&self) -> Option<Arc<MockIdp>> {
        match &self.shared {
            Shared::Running(server) => Some(server.clone()),
            _ => None,
        }
    }

    /// Why a scenario cannot run on the shared running backend, if it cannot: it needs a backend (and a
    /// provider) of its own.
    pub fn needs_own_backend(
        &self,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
    ) -> Option<&'static str> {
        let fixed = self.factory.fixed()?;
        let has = |tag: &str| scenario.tags.iter().any(|t| t == tag);
        if has("own-provider") {
            return Some("leaves the provider changed for every scenario (tag @own-provider)");
        }
        if has("fresh-backend") {
            return Some(
                "checks a backend's first fetch of discovery or the JWKS (tag @fresh-backend)",
            );
        }
        if has("default-policy") && fixed.policy != Policy::default() {
            return Some("checks the default unknown-user policy");
        }
        // The running backend's registered id_token alg, as the steps spell it (lower-cased).
        let registered_alg = fixed
            .id_token_alg
            .unwrap_or(mock_idp::IdTokenAlg::RS256)
            .as_str()
            .to_lowercase();
        steps_of(feature, rule, scenario).find_map(|text| {
            let policy = text
                .strip_prefix("the app's unknown-user policy is \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .and_then(|name| name.parse::<Policy>().ok());
            if policy.is_some_and(|p| p != fixed.policy) {
                Some("needs another unknown-user policy")
            } else if text.starts_with("the app is started with") {
                Some("starts the backend itself")
            } else if text.starts_with("the app's client secret is") {
                Some("sets the backend's client secret")
            } else if text == "the app asks for authorization responses by form_post"
                && self
                    .starter
                    .as_ref()
                    .is_some_and(|s| s.chooses_response_mode())
            {
                Some("asks for form_post responses, which [start] can ask of a backend")
            } else if text == SIGNED_USERINFO_STEP
                && fixed.userinfo_signed_response_alg.is_none()
                && self
                    .starter
                    .as_ref()
                    .is_some_and(|s| s.chooses_userinfo_signing())
            {
                Some(
                    "registers the backend for signed userinfo, which [start] can ask of a backend",
                )
            } else if let Some(alg) = text
                .strip_prefix("the app is registered for ")
                .and_then(|rest| rest.strip_suffix(" id_tokens"))
                && alg != registered_alg
                && self
                    .starter
                    .as_ref()
                    .is_some_and(|s| s.chooses_id_token_alg())
            {
                Some("registers the backend for another id_token alg, which [start] can set up")
            } else {
                None
            }
        })
    }

    /// Whether a scenario runs alone: asked for (`@serial`), or it changes or counts what every scenario
    /// on the running backend's provider shares.
    pub fn runs_alone(
        &self,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
    ) -> bool {
        scenario.tags.iter().any(|t| t == "serial")
            || (self.on_running_backend(feature, rule, scenario)
                && crate::runner::provider_wide(feature, rule, scenario))
    }

    /// Whether the scenario shares the running backend (rather than having its own or none at all).
    fn on_running_backend(
        &self,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
    ) -> bool {
        matches!(self.shared, Shared::Running(_))
            && !(self.starter.is_some()
                && self.needs_own_backend(feature, rule, scenario).is_some())
    }

    /// Why a selected scenario is not run at all, if it is not: it needs a provider of its own and the
    /// target file cannot start a backend for it.
    pub fn not_run(
        &self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
    ) -> Option<String> {
        (matches!(self.shared, Shared::Running(_))
            && self.starter.is_none()
            && scenario.tags.iter().any(|t| t == "own-provider"))
        .then(|| {
            let _ = feature;
            "leaves the provider changed for every scenario (tag @own-provider): needs a provider of \
             its own, which a running backend's is not (add [start] to the target file)"
                .to_owned()
        })
    }

    /// Gives a scenario's world its backend factory and provider.
    pub fn assign(
        &self,
        world: &mut World,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
    ) -> anyhow::Result<()> {
        world.factory = self.factory.clone();
        match &self.shared {
            Shared::Nothing => Ok(()),
            Shared::Tenants(server) => {
                world.provider = Provider::tenant_of(server.clone())?;
                Ok(())
            }
            Shared::Running(server) => {
                if let (Some(starter), Some(_)) = (
                    &self.starter,
                    self.needs_own_backend(feature, rule, scenario),
                ) {
                    // A backend and a provider of its own (the world's own server).
                    world.factory = starter.clone();
                    return Ok(());
                }
                let n = self.next_namespace.fetch_add(1, Ordering::Relaxed);
                let exclusive =
                    self.serial || crate::runner::provider_wide(feature, rule, scenario);
                world.provider = Provider::shared_root(server.clone(), format!("s{n}"), exclusive)?;
                Ok(())
            }
        }
    }
}

/// The step (lower-cased) that registers the scenario's backend for signed userinfo (RS-USERINFO-JWT).
pub(crate) const SIGNED_USERINFO_STEP: &str = "the backend is registered for signed userinfo";

/// The steps of a scenario with its feature's and rule's backgrounds, lower-cased.
fn steps_of<'a>(
    feature: &'a cucumber::gherkin::Feature,
    rule: Option<&'a cucumber::gherkin::Rule>,
    scenario: &'a cucumber::gherkin::Scenario,
) -> impl Iterator<Item = String> + 'a {
    feature
        .background
        .iter()
        .chain(rule.and_then(|r| r.background.as_ref()))
        .flat_map(|b| b.steps.iter())
        .chain(scenario.steps.iter())
        .map(|s| s.value.to_lowercase())
}

/// Where the scenario's WeChat or GitHub provider `name` comes from: on a running backend, the one its
/// target file configures (skipped if it has none of that name and kind); otherwise a new tenant of the
/// scenario's server with the provider's users.
pub(crate) fn persona_for(
    world: &World,
    name: &str,
    kind: ExtraKind,
    policy: Option<Policy>,
) -> anyhow::Result<PersonaSource> {
    let server = world.provider.server();
    if let Some(fixed) = world.factory.fixed() {
        let persona = fixed
            .personas
            .iter()
            .find(|p| p.name == name && p.kind == kind)
            .cloned()
            .ok_or_else(|| {
                crate::target::skip(&format!(
                    "needs a backend configured with a {kind:?} provider named {name:?} \
                     ([[extra_providers]] in the target file)"
                ))
            })?;
        let own = persona.policy.unwrap_or(fixed.policy);
        if let Some(wanted) = policy
            && wanted != own
        {
            return Err(crate::target::skip(&format!(
                "needs {name} with the unknown-user policy {}; the backend's is {}",
                wanted.as_str(),
                own.as_str()
            )));
        }
        let handle = server
            .tenant(&persona.tenant)
            .ok_or_else(|| anyhow!("the {name} provider's tenant {} is gone", persona.tenant))?;
        return Ok(PersonaSource::Configured {
            handle,
            persona: Box::new(persona),
        });
    }
    let persona = match kind {
        ExtraKind::Wechat => mock_idp::Persona::Wechat,
        ExtraKind::Github => mock_idp::Persona::Github,
        ExtraKind::Google => mock_idp::Persona::Google,
        ExtraKind::Apple => mock_idp::Persona::Apple,
        ExtraKind::Entra => mock_idp::Persona::Entra,
    };
    let config = mock_idp::Config {
        persona,
        issuer: None,
        users: world.provider.idp.users(),
        ..mock_idp::Config::default()
    };
    // A generated name: the server may be shared by concurrent scenarios.
    let handle = server
        .create_tenant(None, Some(config))
        .map_err(|e| anyhow!("creating the {name} persona: {e}"))?;
    let tenant = handle.tenant_name().unwrap_or_default().to_owned();
    Ok(PersonaSource::Made {
        handle,
        tenant,
        server,
    })
}

/// Serves the mock provider a running backend is configured with: at its issuer, with the built-in users
/// and clients, the backend's client registered, and its WeChat and GitHub providers as tenants.
async fn serve_running_provider(fixed: &FixedBackend) -> io::Result<MockIdp> {
    let issuer = url::Url::parse(&fixed.provider.issuer)
        .map_err(|e| io::Error::other(format!("the issuer {}: {e}", fixed.provider.issuer)))?;
    let port = issuer.port().ok_or_else(|| {
        io::Error::other(format!("the issuer {} has no port", fixed.provider.issuer))
    })?;
    let mut config = mock_idp::Config::builtin();
    // Headless logins name their user (Provider::arrange_headless_login): a shared next-login queue
    // would hand one scenario's login to another's request.
    config.login_hint_auto_login = true;
    config.issuer = Some(fixed.provider.issuer.trim_end_matches('/').to_owned());
    config.address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = MockIdp::start(config).await.map_err(|e| {
        io::Error::other(format!(
            "serving the provider at {}: {e}",
            fixed.provider.issuer
        ))
    })?;
    let mut client = mock_idp::ClientConfig::confidential(
        &fixed.provider.client_id,
        &fixed.provider.client_secret,
        &fixed.redirect_uri,
    );
    client.token_endpoint_auth_method = fixed.auth_method;
    client
        .post_logout_redirect_uris
        .extend(fixed.post_logout_redirect_uri.clone());
    client.backchannel_logout_uri = fixed.backchannel_logout_uri.clone();
    client.userinfo_signed_response_alg = fixed.userinfo_signed_response_alg;
    client.id_token_signed_response_alg = fixed.id_token_alg;
    server
        .add_client(client)
        .map_err(|e| io::Error::other(format!("registering the backend's client: {e}")))?;
    for p in &fixed.personas {
        let config = mock_idp::Config {
            persona: match p.kind {
                ExtraKind::Wechat => mock_idp::Persona::Wechat,
                ExtraKind::Github => mock_idp::Persona::Github,
                ExtraKind::Google => mock_idp::Persona::Google,
                ExtraKind::Apple => mock_idp::Persona::Apple,
                ExtraKind::Entra => mock_idp::Persona::Entra,
            },
            issuer: None,
            ..mock_idp::Config::default()
        };
        let tenant = server
            .create_tenant(Some(&p.tenant), Some(config))
            .map_err(|e| io::Error::other(format!("serving the {} provider: {e}", p.name)))?;
        // Sign in with Apple: the backend's client-secret key; without it (the target file lacks a key) no
        // client is registered, and the Apple scenarios skip naming what is missing.
        let mut client = match &p.apple {
            Ok(Some(keys)) => crate::apple::registration(&p.client_id, &p.redirect_uri, keys),
            Err(_) => continue,
            Ok(None) => mock_idp::ClientConfig::confidential(
                &p.client_id,
                &p.client_secret,
                &p.redirect_uri,
            ),
        };
        if p.kind == ExtraKind::Google {
            for sibling in crate::google::project_clients(
                &mut client,
                p.google.authorized_parties.as_deref().unwrap_or_default(),
            ) {
                tenant.add_client(sibling).map_err(|e| {
                    io::Error::other(format!("registering a sibling client at {}: {e}", p.name))
                })?;
            }
        }
        tenant.add_client(client).map_err(|e| {
            io::Error::other(format!(
                "registering the backend's client at {}: {e}",
                p.name
            ))
        })?;
    }
    Ok(server)
}
