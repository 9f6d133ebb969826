//! The provider side of a scenario: the in-process mock IdP, what the harness knows about its clients, and
//! requests straight at its authorization and token endpoints (the IdP-side scenarios).

use std::collections::HashMap;

use anyhow::{Context, anyhow, ensure};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use std::sync::Arc;

use mock_idp::{AuthMethod, Handle, MockIdp};
use sha2::{Digest, Sha256};
use url::Url;

use crate::browser::{HttpResponse, query_param};

/// The redirect URI of clients the scenarios register themselves.
pub const SCENARIO_REDIRECT_URI: &str = "http://127.0.0.1:7000/callback";

/// What the harness knows about a client registered at the provider.
#[derive(Debug, Clone)]
pub struct ClientCreds {
    /// The client id.
    pub id: String,
    /// The secret; `None` for a public client.
    pub secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub method: AuthMethod,
    /// The redirect URI it uses.
    pub redirect_uri: String,
}

/// A code obtained at the authorization endpoint, with what its redemption must repeat.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The code.
    pub code: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The `redirect_uri` sent in the authorization request.
    pub redirect_uri: String,
    /// The PKCE verifier whose challenge was sent, if any.
    pub verifier: Option<String>,
}

/// How a token request authenticates its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// The client's registered method with its real secret.
    Registered,
    /// The registered method with this secret instead.
    Secret(String),
    /// No credentials at all.
    Nothing,
    /// Both HTTP Basic and a body secret.
    Both,
}

/// How a token request travels (RFC 6749 §3.2: a form-encoded `POST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// `POST` with an `application/x-www-form-urlencoded` body, as the RFC asks.
    #[default]
    Form,
    /// `POST` with the same fields as a JSON object.
    Json,
    /// `GET` with the fields in the query string.
    Get,
}

/// A token-endpoint request for a code.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Which client sends it.
    pub client: ClientCreds,
    /// How it authenticates.
    pub auth: ClientAuth,
    /// The form fields other than client credentials.
    pub fields: Vec<(String, String)>,
    /// How it is sent.
    pub transport: Transport,
}

impl TokenRequest {
    /// A faithful redemption of `grant` by `client`: its redirect URI and verifier.
    pub fn redeem(grant: &Grant, client: &ClientCreds) -> TokenRequest {
        let mut fields = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), grant.code.clone()),
            ("redirect_uri".to_owned(), grant.redirect_uri.clone()),
        ];
        if let Some(v) = &grant.verifier {
            fields.push(("code_verifier".to_owned(), v.clone()));
        }
        TokenRequest {
            client: client.clone(),
            auth: ClientAuth::Registered,
            fields,
            transport: Transport::Form,
        }
    }

    /// Sets (or with `None` removes) a form field.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        self.fields.retain(|(k, _)| k != name);
        if let Some(v) = value {
            self.fields.push((name.to_owned(), v.to_owned()));
        }
    }
}

/// A PKCE pair (RFC 7636 §4.1–4.2).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The verifier: 43 unreserved characters.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair.
    pub fn new() -> Pkce {
        let verifier = crate::random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// HTTP Basic credentials as RFC 6749 §2.3.1 asks: id and secret each form-urlencoded, then joined by `:`
/// and base64-encoded. (reqwest's `basic_auth` skips the form-encoding, which breaks secrets with `:`, `%`
/// or `+`: CONFORMANCE CA-ENCODING.)
pub fn basic_credentials(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// Adds `client`'s credentials to a request at the token, revocation or introspection endpoint, by its
/// registered method or as `auth` overrides; returns the builder and the fields to send.
fn authenticate(
    mut builder: reqwest::RequestBuilder,
    mut fields: Vec<(String, String)>,
    client: &ClientCreds,
    auth: &ClientAuth,
) -> (reqwest::RequestBuilder, Vec<(String, String)>) {
    let secret = match auth {
        ClientAuth::Secret(s) => s.clone(),
        _ => client.secret.clone().unwrap_or_default(),
    };
    let basic = |b: reqwest::RequestBuilder| {
        b.header(
            reqwest::header::AUTHORIZATION,
            basic_credentials(&client.id, &secret),
        )
    };
    match (auth, client.method) {
        (ClientAuth::Nothing, _) => {}
        (ClientAuth::Both, _) => {
            builder = basic(builder);
            fields.push(("client_secret".into(), secret.clone()));
        }
        (_, AuthMethod::ClientSecretBasic) => builder = basic(builder),
        (_, AuthMethod::ClientSecretPost) => {
            fields.push(("client_id".into(), client.id.clone()));
            fields.push(("client_secret".into(), secret.clone()));
        }
        (_, AuthMethod::None) => fields.push(("client_id".into(), client.id.clone())),
    }
    (builder, fields)
}

/// The scenario's provider: a mock IdP of its own, or a tenant of a server shared by the run.
#[derive(Debug)]
pub struct Provider {
    /// The provider's controls (the root of its own server, or its tenant of the shared one).
    pub idp: Handle,
    /// The server it runs on, kept alive as long as the scenario.
    server: Arc<MockIdp>,
    /// The tenant's name when the server is shared; deleted with the scenario.
    tenant: Option<String>,
    /// Clients by id, with their secrets (the IdP keeps only hashes).
    pub clients: HashMap<String, ClientCreds>,
    /// A client with no cookies that does not follow redirects, for direct requests.
    http: reqwest::Client,
    /// Against one running backend, every scenario shares the provider it is configured with; this
    /// suffix names the scenario's own users there (`alice` is `alice.s17`), so scenarios stay apart.
    namespace: Option<String>,
    /// The namespaced users this scenario created, removed when it ends.
    created: std::sync::Mutex<Vec<String>>,
    /// The clients this scenario added to a shared provider, removed when it ends (an HS256 client
    /// would otherwise stay in every later scenario's discovery).
    added_clients: Vec<String>,
    /// Whether the scenario has the provider to itself: its own server or tenant, or a shared one while it
    /// runs alone. Steps that change or count what every scenario shares need it ([`Provider::global`]).
    pub exclusive: bool,
    /// The keys when a scenario that has a shared provider to itself started, put back when it ends.
    keys_at_start: Option<mock_idp::KeySnapshot>,
    /// The request-log position and token-request count when the scenario began, so counts and the
    /// verdict cover this scenario only.
    start: (u64, u64),
    /// The request-log position when the scenario began, for its trace (not moved by setup).
    log_start: u64,
    /// Clients whose access-token lifetime the scenario changed, with the lifetime to put back.
    changed_ttls: std::sync::Mutex<Vec<(String, Option<u64>)>>,
}

impl Provider {
    /// Starts a mock IdP with the built-in clients and users on a random port.
    pub async fn start() -> anyhow::Result<Provider> {
        let server = Arc::new(
            MockIdp::start(mock_idp::Config::builtin())
                .await
                .context("starting the mock IdP")?,
        );
        Provider::on(server.clone(), Handle::clone(&server), None)
    }

    /// A fresh tenant of a server shared by many scenarios: the built-in clients and users, keys, clock,
    /// faults and log of its own. It is deleted when the scenario ends.
    pub fn tenant_of(server: Arc<MockIdp>) -> anyhow::Result<Provider> {
        let handle = server
            .create_tenant(None, None)
            .map_err(|e| anyhow!("creating a tenant: {e}"))?;
        // Make its key now rather than inside the first login, where a backend's timeout runs.
        handle
            .keys_snapshot()
            .map_err(|e| anyhow!("the tenant's key: {e}"))?;
        let name = handle.tenant_name().unwrap_or_default().to_owned();
        Provider::on(server, handle, Some(name))
    }

    /// This scenario's provider started again, signing with `alg` (ID-SIG-ES256): a server of its own, or
    /// a new tenant of the shared one, with the built-in clients and users. Only before anything used it.
    pub async fn signing_with(&self, alg: mock_idp::SigningAlg) -> anyhow::Result<Provider> {
        anyhow::ensure!(
            self.namespace.is_none(),
            crate::target::skip(
                "needs a provider that signs with another key type, which the running backend's \
                 provider is not"
            )
        );
        let config = mock_idp::Config {
            issuer: None,
            signing_alg: alg,
            ..mock_idp::Config::builtin()
        };
        let provider = match &self.tenant {
            Some(_) => {
                let handle = self
                    .server
                    .create_tenant(None, Some(config))
                    .map_err(|e| anyhow!("creating a tenant: {e}"))?;
                let name = handle.tenant_name().unwrap_or_default().to_owned();
                Provider::on(self.server.clone(), handle, Some(name))?
            }
            None => {
                let server = MockIdp::start(config)
                    .await
                    .context("starting the mock IdP")?;
                let server = Arc::new(server);
                Provider::on(server.clone(), Handle::clone(&server), None)?
            }
        };
        provider
            .idp
            .keys_snapshot()
            .map_err(|e| anyhow!("the provider's key: {e}"))?;
        Ok(provider)
    }

    fn on(server: Arc<MockIdp>, idp: Handle, tenant: Option<String>) -> anyhow::Result<Provider> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the provider client")?;
        let mut clients = HashMap::new();
        for c in mock_idp::Config::builtin().clients {
            let redirect_uri = c.redirect_uris.first().cloned().unwrap_or_default();
            clients.insert(
                c.client_id.clone(),
                ClientCreds {
                    id: c.client_id.clone(),
                    secret: c.client_secret.as_ref().map(|s| s.expose().to_owned()),
                    method: c.token_endpoint_auth_method,
                    redirect_uri,
                },
            );
        }
        let start = (idp.log_cursor(), idp.token_requests());
        Ok(Provider {
            idp,
            server,
            tenant,
            clients,
            http,
            namespace: None,
            created: std::sync::Mutex::new(Vec::new()),
            added_clients: Vec::new(),
            exclusive: true,
            keys_at_start: None,
            start,
            log_start: start.0,
            changed_ttls: std::sync::Mutex::default(),
        })
    }

    /// The scenario's view of a provider that every scenario of the run shares (the one a running backend
    /// is configured with): its users are namespaced by `namespace`, and it is `exclusive` only when the
    /// scenario runs alone.
    pub fn shared_root(
        server: Arc<MockIdp>,
        namespace: String,
        exclusive: bool,
    ) -> anyhow::Result<Provider> {
        let handle = Handle::clone(&server);
        let mut provider = Provider::on(server, handle, None)?;
        provider.namespace = Some(namespace);
        provider.exclusive = exclusive;
        if exclusive {
            provider.keys_at_start = Some(
                provider
                    .idp
                    .keys_snapshot()
                    .map_err(|e| anyhow!("the provider's keys: {e}"))?,
            );
        }
        Ok(provider)
    }

    /// The suffix of the scenario's users on a provider every scenario shares, if it is one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The provider's controls for a step that changes or counts what every scenario on it shares (faults,
    /// keys, the clock, the request counts, the verdict); refused on a shared provider unless the scenario
    /// runs alone, so a misclassified scenario fails saying so instead of disturbing others.
    pub fn global(&self, what: &str) -> anyhow::Result<&Handle> {
        ensure!(
            self.exclusive,
            "{what} changes or counts what every scenario on this shared provider sees: the runner must \
             run this scenario alone (add its step to runner::PROVIDER_WIDE_STEPS)"
        );
        Ok(&self.idp)
    }

    /// The provider's username for the scenario's user `name`: `name` itself on a provider of the
    /// scenario's own; on a shared one, `name.NAMESPACE`, created on first use from the built-in user of
    /// that name (with a subject of its own) if there is one.
    pub fn login_name(&self, name: &str) -> anyhow::Result<String> {
        let Some(ns) = &self.namespace else {
            return Ok(name.to_owned());
        };
        let mapped = format!("{name}.{ns}");
        if self.idp.user(&mapped).is_none()
            && let Some(mut user) = mock_idp::Config::builtin()
                .users
                .into_iter()
                .find(|u| u.username == name)
        {
            user.username = mapped.clone();
            user.sub = format!("{}-{ns}", user.sub);
            // Its identities at WeChat and GitHub personas are the scenario's own too (derived from
            // the subject), or two scenarios' logins there would be one account.
            user.github_id = None;
            user.github_login = None;
            user.openids.clear();
            user.unionid = user.unionid.map(|u| format!("{u}-{ns}"));
            self.add_user(user)?;
        }
        Ok(mapped)
    }

    /// Adds a provider user (already under its [`Provider::login_name`]); removed with a shared
    /// provider's scenario.
    pub fn add_user(&self, user: mock_idp::UserConfig) -> anyhow::Result<()> {
        let name = user.username.clone();
        self.idp
            .add_user(user)
            .map_err(|e| anyhow!("adding provider user {name}: {e}"))?;
        if self.namespace.is_some() {
            self.created
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(name);
        }
        Ok(())
    }

    /// Starts the scenario's counts and verdict afresh (after setup that used the provider).
    pub fn restart_counts(&mut self) {
        self.start = (self.idp.log_cursor(), self.idp.token_requests());
    }

    /// Makes the authorization request `params` complete as `username` without the page: on a provider of
    /// the scenario's own, the handle's next-login queue; on a shared one, whose queue any scenario's
    /// request could take, a `login_hint` naming the scenario's user (the shared provider auto-logs-in on
    /// a hint).
    pub fn arrange_headless_login(
        &self,
        username: &str,
        params: &mut Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        let username = self.login_name(username)?;
        if self.namespace.is_some() {
            params.retain(|(k, _)| k != "login_hint");
            params.push(("login_hint".into(), username));
        } else {
            self.idp.next_login(&username);
        }
        Ok(())
    }

    /// The request-log position when the scenario began (setup included).
    pub fn log_start(&self) -> u64 {
        self.log_start
    }

    /// Whether every request the provider logs is this scenario's: its own server or tenant, or a shared
    /// one while it runs alone.
    pub fn is_own(&self) -> bool {
        self.namespace.is_none() || self.exclusive
    }

    /// Token-endpoint POSTs since the scenario began.
    pub fn token_requests(&self) -> anyhow::Result<u64> {
        Ok(self
            .global("counting token requests")?
            .token_requests()
            .saturating_sub(self.start.1))
    }

    /// The provider's verdict on the client over this scenario's requests.
    pub fn verdict(&self) -> anyhow::Result<mock_idp::Verdict> {
        Ok(self.global("the verdict")?.verdict_since(self.start.0))
    }

    /// Registers a client at the provider and remembers its credentials.
    pub fn register(&mut self, config: mock_idp::ClientConfig) -> anyhow::Result<()> {
        let creds = ClientCreds {
            id: config.client_id.clone(),
            secret: config.client_secret.as_ref().map(|s| s.expose().to_owned()),
            method: config.token_endpoint_auth_method,
            redirect_uri: config.redirect_uris.first().cloned().unwrap_or_default(),
        };
        let new = self.idp.client(&creds.id).is_none();
        self.idp
            .add_client(config)
            .map_err(|e| anyhow!("registering a client: {e}"))?;
        if new && self.namespace.is_some() {
            self.added_clients.push(creds.id.clone());
        }
        self.clients.insert(creds.id.clone(), creds);
        Ok(())
    }

    /// Makes the access tokens the provider issues to `client_id` from now on live `secs` seconds; the
    /// lifetime goes back when the scenario ends.
    pub fn set_access_token_ttl(&self, client_id: &str, secs: u64) -> anyhow::Result<()> {
        let idp = self.global("the lifetime of a client's access tokens")?;
        let before = idp
            .update_client(client_id, |c| c.access_token_ttl = Some(secs))
            .ok_or_else(|| anyhow!("the provider has no client {client_id:?}"))?;
        self.changed_ttls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((client_id.to_owned(), before.access_token_ttl));
        Ok(())
    }

    /// Arms a named fault (`id_token.wrong_aud`, `token.status=503`, …) for `times` responses, or until
    /// cleared: the same operation as the handle's `fault`, the config's `[[faults]]` and the CLI's `--fault`.
    pub fn inject(&self, fault: &str, times: Option<u32>) -> anyhow::Result<u64> {
        let idp = self.global("a fault")?;
        let fault: mock_idp::Fault = fault.parse().map_err(|e| anyhow!("{e}"))?;
        let spec = mock_idp::FaultSpec {
            times,
            ..mock_idp::FaultSpec::new(fault)
        };
        idp.arm(spec).map_err(|e| anyhow!("{e}"))
    }

    /// How many requests to a path ending in `/{endpoint}` the provider received after log position `seq`.
    pub fn requests_since(&self, seq: u64, endpoint: &str) -> anyhow::Result<usize> {
        Ok(self
            .global("counting requests")?
            .requests_since(seq)
            .iter()
            .filter(|r| r.path.rsplit('/').next() == Some(endpoint))
            .count())
    }

    /// A known client.
    pub fn client(&self, id: &str) -> anyhow::Result<ClientCreds> {
        self.clients
            .get(id)
            .cloned()
            .ok_or_else(|| anyhow!("no client {id:?} is known to the scenario"))
    }

    /// The subject of a provider user.
    pub fn subject_of(&self, username: &str) -> anyhow::Result<String> {
        let username = self.login_name(username)?;
        self.idp
            .user(&username)
            .map(|u| u.sub)
            .ok_or_else(|| anyhow!("the provider has no user {username:?}"))
    }

    /// `GET /authorize` with exactly these parameters.
    pub async fn authorize(&self, params: &[(String, String)]) -> anyhow::Result<HttpResponse> {
        let mut url = Url::parse(&self.idp.authorization_endpoint()).context("authorize URL")?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        let response = self
            .http
            .get(url)
            .send()
            .await
            .context("calling the authorization endpoint")?;
        HttpResponse::read(response).await
    }

    /// The usual authorization request of `client`: code flow, openid scope, state and nonce, with an S256
    /// challenge when `pkce` is given.
    pub fn authorization_params(
        client: &ClientCreds,
        pkce: Option<&Pkce>,
    ) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", "openid profile email"),
            ("state", "scenario-state"),
            ("nonce", "scenario-nonce"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if let Some(p) = pkce {
            params.push(("code_challenge".into(), p.challenge.clone()));
            params.push(("code_challenge_method".into(), "S256".into()));
        }
        params
    }

    /// `username` signs in (headless, through the handle) and `client` receives a code.
    pub async fn obtain_code(
        &self,
        username: &str,
        client_id: &str,
        pkce: Option<Pkce>,
    ) -> anyhow::Result<Grant> {
        let client = self.client(client_id)?;
        let mut params = Provider::authorization_params(&client, pkce.as_ref());
        self.arrange_headless_login(username, &mut params)?;
        let response = self.authorize(&params).await?;
        let location = response.location()?;
        let code = query_param(&location, "code")
            .ok_or_else(|| anyhow!("the provider redirected without a code: {location}"))?;
        Ok(Grant {
            code,
            client_id: client.id,
            redirect_uri: client.redirect_uri,
            verifier: pkce.map(|p| p.verifier),
        })
    }

    /// Sends a token request.
    pub async fn token(&self, request: &TokenRequest) -> anyhow::Result<HttpResponse> {
        self.token_at(&self.idp.token_endpoint(), request).await
    }

    /// Sends a token request to `endpoint` (another tenant's, say).
    pub async fn token_at(
        &self,
        endpoint: &str,
        request: &TokenRequest,
    ) -> anyhow::Result<HttpResponse> {
        let builder = match request.transport {
            Transport::Get => self.http.get(endpoint),
            Transport::Form | Transport::Json => self.http.post(endpoint),
        };
        let (builder, fields) = authenticate(
            builder,
            request.fields.clone(),
            &request.client,
            &request.auth,
        );
        let builder = match request.transport {
            Transport::Form => builder.form(&fields),
            Transport::Get => builder.query(&fields),
            Transport::Json => {
                let object: serde_json::Map<String, serde_json::Value> = fields
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                builder.json(&object)
            }
        };
        let response = builder.send().await.context("calling the token endpoint")?;
        HttpResponse::read(response).await
    }

    /// `POST /revoke` (RFC 7009 §2.1) of `token` by `client`, authenticated as `auth` says.
    pub async fn revoke(
        &self,
        client: &ClientCreds,
        auth: &ClientAuth,
        token: &str,
        hint: Option<&str>,
    ) -> anyhow::Result<HttpResponse> {
        let mut fields = vec![("token".to_owned(), token.to_owned())];
        if let Some(hint) = hint {
            fields.push(("token_type_hint".to_owned(), hint.to_owned()));
        }
        let builder = self.http.post(self.idp.revocation_endpoint());
        let (builder, fields) = authenticate(builder, fields, client, auth);
        let response = builder
            .form(&fields)
            .send()
            .await
            .context("calling the revocation endpoint")?;
        HttpResponse::read(response).await
    }

    /// `GET /userinfo` with a bearer token.
    pub async fn userinfo(&self, access_token: &str) -> anyhow::Result<HttpResponse> {
        self.userinfo_at(&self.idp.userinfo_endpoint(), access_token)
            .await
    }

    /// `GET` this userinfo endpoint (another tenant's, say) with a bearer token.
    pub async fn userinfo_at(
        &self,
        endpoint: &str,
        access_token: &str,
    ) -> anyhow::Result<HttpResponse> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .send()
            .await
            .context("calling userinfo")?;
        HttpResponse::read(response).await
    }

    /// `POST /userinfo` with the access token sent as `how` says: `in the form body`, `in the header and
    /// the form body` or `in the URL query` (RFC 6750 §2).
    pub async fn userinfo_sent(
        &self,
        access_token: &str,
        how: &str,
    ) -> anyhow::Result<HttpResponse> {
        let url = self.idp.userinfo_endpoint();
        let form = [("access_token", access_token)];
        let request = match how {
            "in the form body" => self.http.post(&url).form(&form),
            "in the header and the form body" => {
                self.http.post(&url).bearer_auth(access_token).form(&form)
            }
            "in the URL query" => self.http.get(&url).query(&form),
            other => anyhow::bail!(
                "send the token in the form body, in the header and the form body or in the URL query, not {other}"
            ),
        };
        let response = request.send().await.context("calling userinfo")?;
        HttpResponse::read(response).await
    }

    /// `POST /introspect` as the confidential client `web`.
    pub async fn introspect(&self, token: &str) -> anyhow::Result<HttpResponse> {
        self.introspect_at(&self.idp.introspection_endpoint(), token)
            .await
    }

    /// `POST` this introspection endpoint (another tenant's, say) as the confidential client `web`.
    pub async fn introspect_at(&self, endpoint: &str, token: &str) -> anyhow::Result<HttpResponse> {
        let web = self.client("web")?;
        let response = self
            .http
            .post(endpoint)
            .header(
                reqwest::header::AUTHORIZATION,
                basic_credentials(&web.id, web.secret.as_deref().unwrap_or_default()),
            )
            .form(&[("token", token)])
            .send()
            .await
            .context("calling introspection")?;
        HttpResponse::read(response).await
    }

    /// `GET` this URL with no cookies, without following a redirect (another tenant's end-session
    /// endpoint, say).
    pub async fn get(&self, url: &Url) -> anyhow::Result<HttpResponse> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        HttpResponse::read(response).await
    }

    /// `GET` the discovery document.
    pub async fn discovery(&self) -> anyhow::Result<HttpResponse> {
        let response = self
            .http
            .get(self.idp.discovery_url())
            .send()
            .await
            .context("fetching discovery")?;
        HttpResponse::read(response).await
    }
}

impl Provider {
    /// The server this provider runs on (a scenario's further tenants go there too).
    pub fn server(&self) -> Arc<MockIdp> {
        self.server.clone()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Some(name) = &self.tenant {
            self.server.delete_tenant(name);
        }
        for id in std::mem::take(&mut self.added_clients) {
            self.idp.remove_client(&id);
        }
        // A scenario that had a shared provider to itself leaves it as it found it: no faults armed, the
        // clock back on the system time (the backend's own clock never moved with it).
        if self.namespace.is_some() && self.exclusive {
            self.idp.clear_faults();
            self.idp.clock().reset();
            // Keys rotated by the scenario would stay rotated for every later one.
            if let Some(keys) = self.keys_at_start.take() {
                self.idp.restore_keys(keys);
            }
        }
        let changed = self
            .changed_ttls
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for (client, ttl) in changed.into_iter().rev() {
            self.idp
                .update_client(&client, |c| c.access_token_ttl = ttl);
        }
        for user in self
            .created
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            self.idp.remove_user(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TK-HS256 on a provider every scenario shares: the HS256 client a scenario registers (and with it
    /// HS256 in discovery) is gone when the scenario ends; a client that was there before stays.
    #[tokio::test]
    async fn a_scenario_takes_the_clients_it_added_to_a_shared_provider_with_it() {
        let server = Arc::new(
            MockIdp::start(mock_idp::Config::builtin())
                .await
                .expect("the mock IdP"),
        );
        let algs = || server.id_token_algs();
        let mut provider = Provider::shared_root(server.clone(), "s1".into(), true).expect("view");
        provider
            .register(
                mock_idp::ClientConfig::confidential(
                    "hs-app",
                    "an-hs256-secret-of-32-octets-!!!",
                    SCENARIO_REDIRECT_URI,
                )
                .with_id_token_alg(mock_idp::IdTokenAlg::HS256),
            )
            .expect("registered");
        provider
            .register(mock_idp::ClientConfig::confidential(
                "web",
                "web-secret",
                "http://127.0.0.1:3000/callback",
            ))
            .expect("registered again");
        assert_eq!(algs(), ["RS256", "HS256"]);
        drop(provider);
        assert_eq!(algs(), ["RS256"]);
        assert!(server.client("hs-app").is_none());
        assert!(server.client("web").is_some(), "a built-in client stays");
    }
}
