//! Test scaffolding: an app on a random port with a fresh SQLite file, pointed at an in-process mock-idp or a
//! wiremock fake provider, and cookie-jar clients playing "browser + frontend".

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mock_idp::{ClientConfig, Config, MockIdp};
use reference_client::{AppState, Application, Clock, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The app's test client at the mock IdP; its redirect URI is the app's real `/callback`.
pub const CLIENT_ID: &str = "rc-test";
/// Its secret; contains reserved characters on purpose (CONFORMANCE CA-ENCODING).
pub const CLIENT_SECRET: &str = "rc:test+secret%";
/// The app-JWT key the tests run with (they forge tokens with it).
pub const JWT_KEY: &str = "test-only-app-jwt-key-0123456789abcdef";
/// Subjects of the mock IdP's built-in users.
pub const ALICE_SUB: &str = "248289761001";
/// Bob's subject.
pub const BOB_SUB: &str = "248289761002";

/// A temporary database file removed on drop.
pub struct TempDb(pub PathBuf);

impl TempDb {
    fn new() -> Self {
        let name = format!("rc-test-{}.db", reference_client::store::random_token(12));
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// What the provider put on the redirect to `/callback`.
#[derive(Debug, Clone)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The echoed state.
    pub state: String,
    /// RFC 9207 iss.
    pub iss: Option<String>,
}

impl CallbackParams {
    /// The JSON the callback page would post.
    pub fn body(&self) -> Value {
        json!({ "code": self.code, "state": self.state, "iss": self.iss })
    }
}

/// A running app plus its provider.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The app's state: database, clock, settings.
    pub state: AppState,
    /// The in-process mock IdP (absent for wiremock tests).
    pub idp: Option<MockIdp>,
    /// Keeps the database file alive for the test.
    _db: TempDb,
}

/// A fresh "browser": its own cookie jar, no automatic redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("test client builds")
}

fn test_settings(issuer: &str, port: u16, db: &TempDb) -> Settings {
    let mut s = Settings::builtin();
    s.issuer = issuer.to_owned();
    s.client_id = CLIENT_ID.into();
    s.client_secret = reference_client::config::Secret::new(CLIENT_SECRET);
    s.redirect_uri = Url::parse(&format!("http://127.0.0.1:{port}/callback")).expect("url");
    s.listen = ([127, 0, 0, 1], port).into();
    s.database = db.0.clone();
    s.jwt_key = reference_client::config::Secret::new(JWT_KEY);
    s.uses_dev_jwt_key = false;
    s.seed_demo_users = true;
    s.http_timeout = Duration::from_secs(5);
    s
}

/// An app against a fresh mock IdP with the default settings (policy `reject`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app against a fresh mock IdP, with settings adjusted by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let idp = MockIdp::start(Config::builtin())
        .await
        .expect("mock IdP starts");
    let mut app = spawn_app_for_issuer(idp.issuer(), tweak);
    idp.add_client(ClientConfig::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("{}/callback", app.address),
    ))
    .expect("client registers");
    app.idp = Some(idp);
    app
}

/// An app pointed at any issuer (a wiremock server in the fault tests).
pub fn spawn_app_for_issuer(issuer: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    let port = listener.local_addr().expect("local addr").port();
    let db = TempDb::new();
    let mut settings = test_settings(issuer, port, &db);
    tweak(&mut settings);
    let app =
        Application::build_with_listener(settings, listener, Clock::system()).expect("app builds");
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        idp: None,
        _db: db,
    }
}

/// Query parameters of a URL as a map (last value wins).
pub fn query_map(url: &Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

impl TestApp {
    /// The mock IdP (panics in wiremock tests).
    pub fn idp(&self) -> &MockIdp {
        self.idp
            .as_ref()
            .expect("this test runs against the mock IdP")
    }

    /// `GET /auth/login[?return_to=…]`.
    pub async fn get_login(
        &self,
        browser: &reqwest::Client,
        return_to: Option<&str>,
    ) -> reqwest::Response {
        let mut req = browser.get(format!("{}/auth/login", self.address));
        if let Some(r) = return_to {
            req = req.query(&[("return_to", r)]);
        }
        req.send().await.expect("GET /auth/login")
    }

    /// `GET /api/auth/login-url`.
    pub async fn get_login_url(&self, browser: &reqwest::Client) -> reqwest::Response {
        browser
            .get(format!("{}/api/auth/login-url", self.address))
            .send()
            .await
            .expect("GET /api/auth/login-url")
    }

    /// Starts a login and returns the provider's authorization URL.
    pub async fn start_login(&self, browser: &reqwest::Client) -> Url {
        let response = self.get_login_url(browser).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        Url::parse(body["url"].as_str().expect("url field")).expect("valid url")
    }

    /// Steps 1–2 as `username`: the browser starts a login at the app and the mock IdP sends it back to
    /// `/callback`; returns what the callback page would read from its URL.
    pub async fn authorize_as(&self, browser: &reqwest::Client, username: &str) -> CallbackParams {
        self.idp().next_login(username);
        let url = self.start_login(browser).await;
        let response = browser.get(url).send().await.expect("GET /authorize");
        assert!(
            response.status().is_redirection(),
            "IdP should redirect, got {}",
            response.status()
        );
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location header");
        let location = Url::parse(location).expect("absolute Location");
        assert_eq!(
            location.as_str().split('?').next(),
            Some(format!("{}/callback", self.address).as_str())
        );
        let q = query_map(&location);
        CallbackParams {
            code: q.get("code").cloned(),
            state: q.get("state").cloned().expect("state on the callback"),
            iss: q.get("iss").cloned(),
        }
    }

    /// `POST /api/auth/callback` with a JSON body, as the callback page does.
    pub async fn post_callback(
        &self,
        browser: &reqwest::Client,
        body: &Value,
    ) -> reqwest::Response {
        browser
            .post(format!("{}/api/auth/callback", self.address))
            .json(body)
            .send()
            .await
            .expect("POST /api/auth/callback")
    }

    /// Steps 1–6 as `username`; returns the callback response.
    pub async fn login_as(&self, browser: &reqwest::Client, username: &str) -> reqwest::Response {
        let params = self.authorize_as(browser, username).await;
        self.post_callback(browser, &params.body()).await
    }

    /// Logs in as `username` and returns the app JWT.
    pub async fn token_for(&self, username: &str) -> String {
        let response = self.login_as(&browser(), username).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// `POST /api/auth/bind`.
    pub async fn post_bind(
        &self,
        browser: &reqwest::Client,
        ticket: &str,
        phone: &str,
    ) -> reqwest::Response {
        browser
            .post(format!("{}/api/auth/bind", self.address))
            .json(&json!({ "ticket": ticket, "phone": phone }))
            .send()
            .await
            .expect("POST /api/auth/bind")
    }

    /// `GET /api/me` with a Bearer token.
    pub async fn get_me(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/api/me", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /api/me")
    }

    /// `GET /api/me` with this browser's cookies (cookie mode).
    pub async fn get_me_as_browser(&self, browser: &reqwest::Client) -> reqwest::Response {
        browser
            .get(format!("{}/api/me", self.address))
            .send()
            .await
            .expect("GET /api/me")
    }

    /// `GET /api/admin/users` with a Bearer token.
    pub async fn get_admin_users(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/api/admin/users", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /api/admin/users")
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("GET")
    }

    /// Number of users in the app's database.
    pub fn user_count(&self) -> usize {
        self.state.db.list_users().expect("list users").len()
    }
}

/// Asserts an error response: status, `error` code, no token, `no-store`.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(
        response.status(),
        status,
        "status for expected error {code}"
    );
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(
        response
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap_or_default().contains("rc_session=")),
        "no session cookie on failure"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "body: {body}");
    assert!(body.get("token").is_none(), "no token on failure: {body}");
    assert!(body["error_description"].is_string());
}

// ---------------------------------------------------------------- a wiremock provider for rare faults

/// The fake provider's signing key id.
pub const FAKE_KID: &str = "test-rsa-1";

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mock-idp/fixtures/keys")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The test-only key published in the fake JWKS.
pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("test-only-rsa.pem")).expect("test-only-rsa.pem parses")
}

/// A second test-only key that the fake JWKS does not publish.
pub fn unknown_rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("test-only-rsa-2.pem")).expect("test-only-rsa-2.pem parses")
}

/// The public JWK of `key` as a provider publishes it, with `kid`.
pub fn published_jwk(key: &EncodingKey, kid: Option<&str>) -> jsonwebtoken::jwk::Jwk {
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(key, Algorithm::RS256).expect("jwk from key");
    jwk.common.key_id = kid.map(str::to_owned);
    jwk
}

/// A wiremock server speaking just enough OIDC: discovery and JWKS; the test mounts the token endpoint.
pub struct FakeProvider {
    /// The wiremock server.
    pub server: MockServer,
}

impl FakeProvider {
    /// Starts with a discovery document (issuer = its own URI) and a JWKS with one RSA key.
    pub async fn start() -> Self {
        Self::start_with_keys(vec![published_jwk(&rsa_key(), Some(FAKE_KID))]).await
    }

    /// Starts with a discovery document and a JWKS publishing `keys`.
    pub async fn start_with_keys(keys: Vec<jsonwebtoken::jwk::Jwk>) -> Self {
        let server = MockServer::start().await;
        let issuer = server.uri();
        Self::mount_discovery(&server, &issuer).await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })))
            .named("jwks")
            .mount(&server)
            .await;
        Self { server }
    }

    /// Mounts a discovery document that names `issuer`.
    pub async fn mount_discovery(server: &MockServer, issuer: &str) {
        let base = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": true,
            })))
            .named("discovery")
            .mount(server)
            .await;
    }

    /// The issuer (its URI, no trailing slash).
    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    /// Valid id_token claims for `nonce`; tests then break one of them.
    pub fn claims(&self, nonce: &str) -> Value {
        let now = Clock::system().now_unix();
        json!({
            "iss": self.issuer(),
            "sub": "fake-subject-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Fake Person",
        })
    }

    /// Mounts the token endpoint: `response`, expected to be called exactly once.
    pub async fn token_endpoint_responds(&self, response: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(response)
            .expect(1)
            .named("token endpoint")
            .mount(&self.server)
            .await;
    }
}

/// Signs `claims` as an RS256 id_token with `key` and `kid`.
pub fn sign(claims: &Value, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign id_token")
}

/// A token response carrying `id_token`.
pub fn token_response(id_token: &str, token_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("cache-control", "no-store")
        .set_body_json(json!({
            "access_token": "fake-access-token",
            "token_type": token_type,
            "expires_in": 3600,
            "id_token": id_token,
        }))
}

/// An app against `fake`, a browser, and a started login: returns (app, browser, state, nonce).
pub async fn start_login_at_fake(
    fake: &FakeProvider,
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, reqwest::Client, String, String) {
    let app = spawn_app_for_issuer(&fake.issuer(), tweak);
    let b = browser();
    let url = app.start_login(&b).await;
    let q = query_map(&url);
    let state = q.get("state").cloned().expect("state");
    let nonce = q.get("nonce").cloned().expect("nonce");
    (app, b, state, nonce)
}

/// The callback body the fake provider's redirect would carry.
pub fn fake_callback(fake: &FakeProvider, state: &str) -> Value {
    json!({ "code": "fake-code", "state": state, "iss": fake.issuer() })
}
