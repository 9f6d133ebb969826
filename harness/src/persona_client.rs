//! The harness as a client straight at a WeChat or GitHub persona, with no backend (CONFORMANCE
//! NP-CODE-RULES): its authorization endpoint refuses an unregistered redirect URI, and its token endpoint
//! binds a code to its app (and, for GitHub, whose token request names one, to its redirect URI) and
//! honours it once. Each persona is a tenant of the scenario's provider server of its own, deleted with
//! the scenario, so these scenarios run the same against any backend.

use std::sync::Arc;

use anyhow::{anyhow, ensure};
use mock_idp::{ClientConfig, Config, Handle, MockIdp, Persona};
use serde_json::Value;
use url::Url;

use crate::{
    browser::{HttpResponse, query_param},
    provider::SCENARIO_REDIRECT_URI,
    target::ExtraKind,
    world::World,
};

/// The second redirect URI every client of these personas registers: a registered URI that is not the
/// one the code was issued for.
pub const OTHER_REDIRECT_URI: &str = "http://127.0.0.1:7000/other-callback";

/// A persona the scenario talks to directly.
#[derive(Debug, Clone)]
struct DirectPersona {
    /// The scenario's name for it.
    name: String,
    /// Its protocol.
    kind: ExtraKind,
    /// Its controls.
    handle: Handle,
}

/// A code a persona issued to a client, with the redirect URI it was issued for.
#[derive(Debug, Clone)]
struct PersonaCode {
    provider: String,
    code: String,
    redirect_uri: String,
}

/// The scenario's direct personas, what they issued and answered.
#[derive(Debug, Default)]
pub struct PersonaClients {
    /// In order of creation.
    list: Vec<DirectPersona>,
    /// The newest code.
    code: Option<PersonaCode>,
    /// The persona's last token-endpoint answer.
    answer: Option<HttpResponse>,
    /// The server the personas are tenants of, and their tenant names: deleted with the scenario.
    tenants: Option<(Arc<MockIdp>, Vec<String>)>,
}

impl Drop for PersonaClients {
    fn drop(&mut self) {
        if let Some((server, names)) = &self.tenants {
            for name in names {
                server.delete_tenant(name);
            }
        }
    }
}

/// Each client's secret at the direct personas.
fn secret_of(client_id: &str) -> String {
    format!("{client_id}-secret")
}

impl World {
    /// A persona `name` of `kind` with the built-in users, where each of `clients` is registered with the
    /// secret `CLIENT-secret` and the redirect URIs [`SCENARIO_REDIRECT_URI`] and [`OTHER_REDIRECT_URI`].
    pub fn add_direct_persona(
        &mut self,
        name: &str,
        kind: ExtraKind,
        clients: &[&str],
    ) -> anyhow::Result<()> {
        let persona = match kind {
            ExtraKind::Wechat => Persona::Wechat,
            ExtraKind::Github => Persona::Github,
            ExtraKind::Google => Persona::Google,
            ExtraKind::Apple => {
                anyhow::bail!("the direct persona steps speak WeChat and GitHub; Apple has its own")
            }
            ExtraKind::Entra => anyhow::bail!(
                "the direct persona steps speak WeChat and GitHub; Entra is OpenID Connect"
            ),
        };
        let config = Config {
            persona,
            issuer: None,
            users: Config::builtin().users,
            ..Config::default()
        };
        let server = self.provider.server();
        let handle = server
            .create_tenant(None, Some(config))
            .map_err(|e| anyhow!("creating the {name} persona: {e}"))?;
        let tenant = handle.tenant_name().unwrap_or_default().to_owned();
        self.persona_clients
            .tenants
            .get_or_insert_with(|| (server.clone(), Vec::new()))
            .1
            .push(tenant);
        for id in clients {
            let mut client = ClientConfig::confidential(id, &secret_of(id), SCENARIO_REDIRECT_URI);
            client.redirect_uris.push(OTHER_REDIRECT_URI.to_owned());
            if kind == ExtraKind::Google {
                // The secret in the form, as the other personas take it.
                client.token_endpoint_auth_method = mock_idp::AuthMethod::ClientSecretPost;
            }
            handle
                .add_client(client)
                .map_err(|e| anyhow!("registering {id} at {name}: {e}"))?;
        }
        self.persona_clients.list.push(DirectPersona {
            name: name.to_owned(),
            kind,
            handle,
        });
        Ok(())
    }

    fn direct_persona(&self, name: &str) -> anyhow::Result<DirectPersona> {
        self.persona_clients
            .list
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| anyhow!("no persona {name:?}: add it in a Given step"))
    }

    /// The persona's authorization URL for `client_id` with `redirect_uri` (WeChat's `qrconnect`, GitHub's
    /// `login/oauth/authorize`), and its parameters.
    fn persona_authorize_url(
        p: &DirectPersona,
        client_id: &str,
        redirect_uri: &str,
    ) -> anyhow::Result<(Url, Vec<(String, String)>)> {
        let (path, params): (&str, Vec<(&str, &str)>) = match p.kind {
            ExtraKind::Wechat => (
                "/connect/qrconnect",
                vec![
                    ("appid", client_id),
                    ("redirect_uri", redirect_uri),
                    ("response_type", "code"),
                    ("scope", "snsapi_login"),
                    ("state", "scenario-state"),
                ],
            ),
            ExtraKind::Github => (
                "/login/oauth/authorize",
                vec![
                    ("client_id", client_id),
                    ("redirect_uri", redirect_uri),
                    ("scope", "read:user"),
                    ("state", "scenario-state"),
                ],
            ),
            ExtraKind::Google => (
                "/o/oauth2/v2/auth",
                vec![
                    ("client_id", client_id),
                    ("redirect_uri", redirect_uri),
                    ("response_type", "code"),
                    ("scope", "openid email"),
                    ("state", "scenario-state"),
                ],
            ),
            ExtraKind::Apple => anyhow::bail!("no direct Apple persona"),
            ExtraKind::Entra => anyhow::bail!("no direct Entra persona (see add_direct_persona)"),
        };
        let mut url = Url::parse(&p.handle.url(path))?;
        url.query_pairs_mut().extend_pairs(&params);
        let params = params
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok((url, params))
    }

    /// `client_id` asks persona `provider` to authorize with `redirect_uri`, no user signed in; the answer
    /// is the scenario's last authorization answer.
    pub async fn ask_persona_to_authorize(
        &mut self,
        provider: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> anyhow::Result<()> {
        let p = self.direct_persona(provider)?;
        let (url, params) = Self::persona_authorize_url(&p, client_id, redirect_uri)?;
        let response = self.fresh_client()?.get(&url).await?;
        self.authorization = Some((params, response));
        Ok(())
    }

    /// `username` signs in to `client_id` at persona `provider` (headless, through the handle) and the
    /// client receives a code for [`SCENARIO_REDIRECT_URI`].
    pub async fn obtain_persona_code(
        &mut self,
        username: &str,
        client_id: &str,
        provider: &str,
    ) -> anyhow::Result<()> {
        let p = self.direct_persona(provider)?;
        let (url, _) = Self::persona_authorize_url(&p, client_id, SCENARIO_REDIRECT_URI)?;
        p.handle.next_login(username);
        let response = self.fresh_client()?.get(&url).await?;
        let location = response.location()?;
        let code = query_param(&location, "code")
            .ok_or_else(|| anyhow!("{provider} redirected without a code: {location}"))?;
        self.persona_clients.code = Some(PersonaCode {
            provider: provider.to_owned(),
            code,
            redirect_uri: SCENARIO_REDIRECT_URI.to_owned(),
        });
        Ok(())
    }

    /// `client_id` redeems the newest persona code at its persona with its own secret, naming
    /// `redirect_uri` (GitHub; by default the one the code was issued for) where the protocol takes one.
    pub async fn redeem_persona_code(
        &mut self,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> anyhow::Result<()> {
        let code = self
            .persona_clients
            .code
            .clone()
            .ok_or_else(|| anyhow!("no code was obtained from a persona"))?;
        let p = self.direct_persona(&code.provider)?;
        let secret = secret_of(client_id);
        let b = self.fresh_client()?;
        let response = match p.kind {
            // `GET /sns/oauth2/access_token?appid&secret&code&grant_type`: no redirect URI.
            ExtraKind::Wechat => {
                let mut url = Url::parse(&p.handle.url("/sns/oauth2/access_token"))?;
                url.query_pairs_mut().extend_pairs([
                    ("appid", client_id),
                    ("secret", &secret),
                    ("code", &code.code),
                    ("grant_type", "authorization_code"),
                ]);
                b.get(&url).await?
            }
            // `POST /login/oauth/access_token` with form fields; answered form-encoded.
            ExtraKind::Github => {
                let url = Url::parse(&p.handle.url("/login/oauth/access_token"))?;
                let redirect_uri = redirect_uri.unwrap_or(&code.redirect_uri);
                b.post_form(
                    &url,
                    &[
                        ("client_id", client_id),
                        ("client_secret", &secret),
                        ("code", &code.code),
                        ("redirect_uri", redirect_uri),
                    ],
                )
                .await?
            }
            // `POST /token`, the secret in the form (as registered above); answered in JSON.
            ExtraKind::Google => {
                let url = Url::parse(&p.handle.url("/token"))?;
                let redirect_uri = redirect_uri.unwrap_or(&code.redirect_uri);
                b.post_form(
                    &url,
                    &[
                        ("grant_type", "authorization_code"),
                        ("client_id", client_id),
                        ("client_secret", &secret),
                        ("code", &code.code),
                        ("redirect_uri", redirect_uri),
                    ],
                )
                .await?
            }
            ExtraKind::Apple => anyhow::bail!("no direct Apple persona"),
            ExtraKind::Entra => anyhow::bail!("no direct Entra persona (see add_direct_persona)"),
        };
        self.persona_clients.answer = Some(response);
        Ok(())
    }

    /// The persona's last token answer as fields: its JSON (WeChat) or its form (GitHub's default).
    fn persona_answer_fields(&self) -> anyhow::Result<Vec<(String, String)>> {
        let answer = self
            .persona_clients
            .answer
            .as_ref()
            .ok_or_else(|| anyhow!("no token request was sent to a persona"))?;
        let is_form = answer
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            return Ok(url::form_urlencoded::parse(answer.body.as_bytes())
                .into_owned()
                .collect());
        }
        let fields = match answer.json() {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(fields)
    }

    /// The persona's last token answer carries an access token and no error.
    pub fn check_persona_access_token(&self) -> anyhow::Result<()> {
        let fields = self.persona_answer_fields()?;
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        ensure!(
            get("access_token").is_some_and(|t| !t.is_empty())
                && get("error").is_none()
                && get("errcode").is_none_or(|c| c == "0"),
            "the persona answered {fields:?}, not an access token"
        );
        Ok(())
    }

    /// The persona's last token answer is HTTP 200 carrying `error` (GitHub's `error`, WeChat's `errcode`)
    /// and no access token.
    pub fn check_persona_error(&self, error: &str) -> anyhow::Result<()> {
        let fields = self.persona_answer_fields()?;
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let status = self.persona_clients.answer.as_ref().map(|a| a.status);
        ensure!(
            status == Some(200)
                && (get("error") == Some(error) || get("errcode") == Some(error))
                && get("access_token").is_none(),
            "the persona answered {status:?} {fields:?}, not {error} with HTTP 200"
        );
        Ok(())
    }
}
