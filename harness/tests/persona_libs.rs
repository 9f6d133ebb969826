//! Widely used OAuth client libraries log in to mock-idp's personas as they log in to GitHub and WeChat:
//! each configured exactly as its own GitHub or WeChat example or documentation shows, with only the
//! provider's URLs changed (`tests/fixtures/persona-libs/`, one script per library, which says in its
//! header what, if anything, it had to change besides). GitHub: Authlib and requests-oauthlib (Python),
//! simple-oauth2, @octokit/oauth-methods and passport-github2 (Node). WeChat website login: wechatpy
//! (Python) and wechat-oauth (Node). And openid-client (OpenID Certified RP, Node) logs in to the OpenID
//! Connect provider with each option a correct client may register: form_post, ES256 and HS256 id_tokens,
//! signed userinfo (issue 21: a strict mock must never fail a correct client). Sign in with Apple: Auth.js's
//! built-in Apple provider (Node, `apple-node/`) and python-social-auth's `AppleIdAuth` (Python,
//! `apple-python/`) log in to the apple persona by form_post. Microsoft Entra ID: Auth.js's built-in
//! `microsoft-entra-id` provider (Node) and MSAL Python log in at the multi-tenant `common` endpoint over
//! HTTPS (`persona-libs/entra-node`, `entra-python`).
//!
//! Each test starts the provider in-process, arranges a headless login of alice, runs the library's script
//! as a process of its own and plays the browser between them: the script prints the authorization URL
//! its library built, the test follows it to the provider's redirect and hands the callback URL back on
//! the script's stdin; the library checks state (or the script does, where the library has no check),
//! exchanges the code, reads the user and prints what it read as one JSON line.
//!
//! `#[ignore]`d in a plain `cargo test`, which needs only the Rust toolchain; `.ci/run` installs the
//! packages with `scripts/install-fixtures.sh` and runs `cargo test --workspace --test persona_libs --
//! --ignored --test-threads=1`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use mock_idp::{Config, MockIdp, Persona, UserConfig, github_id, github_login, wechat_openid};
use mock_idp_harness::browser::{HttpResponse, auto_submitted_form};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdout, Command},
    time::timeout,
};

/// The built-in confidential client (fixtures/mock-idp.toml), with its one registered redirect URI.
const CLIENT_ID: &str = "web";
const REDIRECT_URI: &str = "http://127.0.0.1:3000/callback";
/// Who logs in.
const USER: &str = "alice";
/// How long a script may take for each of its two halves (interpreter start and imports included).
const STEP: Duration = Duration::from_secs(60);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/persona-libs")
}

/// A library's script: `python/NAME.py` run by the fixtures' venv, or `node/NAME.js`/`.mjs` by `node`.
enum Script {
    Python(&'static str),
    Node(&'static str),
}

impl Script {
    fn command(&self) -> Command {
        match self {
            Script::Python(file) => {
                let python = test_support::fixture_python();
                assert!(
                    python.exists(),
                    "{} is missing: run scripts/install-fixtures.sh",
                    python.display()
                );
                let mut c = Command::new(python);
                c.arg(file).current_dir(fixtures().join("python"));
                c
            }
            Script::Node(file) => {
                let dir = fixtures().join("node");
                assert!(
                    dir.join("node_modules").exists(),
                    "{}/node_modules is missing: run scripts/install-fixtures.sh",
                    dir.display()
                );
                let mut c = Command::new("node");
                c.arg(file).current_dir(dir);
                c
            }
        }
    }
}

/// The script's process, killed when the test ends however it ends.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Running {
    async fn line(&mut self, what: &str) -> String {
        let mut line = String::new();
        match timeout(STEP, self.stdout.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => line.trim_end().to_owned(),
            Ok(Ok(_)) => panic!(
                "the script ended before printing {what}{}",
                self.stderr().await
            ),
            Ok(Err(e)) => panic!("reading {what}: {e}"),
            Err(_) => panic!("no {what} after {STEP:?}{}", self.stderr().await),
        }
    }

    /// Whatever the script wrote to stderr, once it has ended (killed first if it has not).
    async fn stderr(&mut self) -> String {
        let _ = self.child.start_kill();
        let _ = timeout(STEP, self.child.wait()).await;
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = timeout(STEP, stderr.read_to_string(&mut err)).await;
        }
        format!("; its stderr:\n{err}")
    }
}

/// Starts `persona` with the built-in config, logs alice in through `script` and returns the JSON line the
/// script printed, with alice's config for the comparison.
async fn log_in(persona: Persona, script: Script) -> (Value, UserConfig) {
    let config = Config {
        persona,
        ..Config::builtin()
    };
    log_in_with(config, script, &[]).await
}

/// Starts mock-idp with `config`, logs alice in through `script` (given `env` besides the provider's URL and
/// client `web`'s credentials) and returns the JSON line the script printed, with alice's config. The
/// browser follows the provider's redirect, or submits its form_post page, and hands the script the
/// callback: the redirect's URL, or `POST ` and the form's urlencoded fields.
async fn log_in_with(config: Config, script: Script, env: &[(&str, &str)]) -> (Value, UserConfig) {
    let alice = config
        .users
        .iter()
        .find(|u| u.username == USER)
        .cloned()
        .expect("alice is configured");
    let secret = config
        .clients
        .iter()
        .find(|c| c.client_id == CLIENT_ID)
        .and_then(|c| c.client_secret.as_ref())
        .map(|s| s.expose().to_owned())
        .expect("client web has a secret");
    let idp = MockIdp::start(config).await.expect("mock-idp starts");
    idp.next_login(USER);
    let base = idp.url("");

    let mut command = script.command();
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .env("BASE", &base)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", &secret)
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("NODE_ENV", "test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the script starts");
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut run = Running { child, stdout };

    // The browser: to the provider with the library's URL, and back with the provider's answer.
    let authorize = run.line("the authorization URL").await;
    assert!(
        authorize.starts_with(&base),
        "the library sends the browser to {authorize}, not to the mock at {base}"
    );
    let authorize = url::Url::parse(&authorize).expect("the authorization URL parses");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let reply = HttpResponse::read(
        browser
            .get(authorize.clone())
            .send()
            .await
            .expect("the authorization request is answered"),
    )
    .await
    .expect("the answer is read");
    let param = |u: &url::Url, name: &str| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let sent_state = param(&authorize, "state");
    let form_post = env.contains(&("RESPONSE_MODE", "form_post"));
    assert_eq!(
        auto_submitted_form(&reply).is_some(),
        form_post,
        "form_post asked: {form_post}; the provider answered {}: {}",
        reply.status,
        reply.body
    );
    let callback = if let Some(form) = auto_submitted_form(&reply) {
        assert_eq!(form.action.as_str(), REDIRECT_URI, "the form posts to");
        let field = |name: &str| {
            form.fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert!(field("code").is_some(), "no code in the form: {form:?}");
        assert_eq!(field("state"), sent_state, "the state comes back as sent");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.pairs())
            .finish();
        format!("POST {body}")
    } else {
        assert!(
            (300..400).contains(&reply.status),
            "the provider answered {} to {authorize}: {}",
            reply.status,
            reply.body
        );
        let location = reply.header("location").expect("a Location").to_owned();
        let callback = url::Url::parse(&location).expect("the Location parses");
        assert!(
            location.starts_with(REDIRECT_URI),
            "redirected to {location}"
        );
        assert!(param(&callback, "code").is_some(), "no code in {location}");
        assert_eq!(
            param(&callback, "state"),
            sent_state,
            "the state comes back as sent"
        );
        location
    };
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .expect("the script reads the callback");
    drop(stdin);

    let line = run.line("what it read").await;
    let status = timeout(STEP, run.child.wait())
        .await
        .expect("the script ends")
        .expect("its exit status");
    assert!(status.success(), "the script exited with {status}");
    let read: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the script's last line is not JSON ({e}): {line}"));
    idp.shutdown().await;
    (read, alice)
}

/// The library read alice's GitHub identity: her numeric id and her login.
fn assert_github_user(read: &Value, alice: &UserConfig) {
    assert_eq!(read["id"], github_id(alice), "{read}");
    assert_eq!(read["login"], github_login(alice), "{read}");
}

/// The library read alice's WeChat identity at `web`: her openid, unionid and nickname.
fn assert_wechat_user(read: &Value, alice: &UserConfig) {
    assert_eq!(read["openid"], wechat_openid(alice, CLIENT_ID), "{read}");
    assert!(!read["openid"].as_str().unwrap_or_default().is_empty());
    assert_eq!(read["unionid"].as_str(), alice.unionid.as_deref(), "{read}");
    let name = alice.name.as_deref().unwrap_or(USER);
    assert_eq!(read["nickname"], name, "{read}");
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn authlib_logs_in_to_the_github_persona_and_reads_the_user() {
    let (read, alice) = log_in(Persona::Github, Script::Python("github_authlib.py")).await;
    assert_github_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn requests_oauthlib_logs_in_to_the_github_persona_and_reads_the_user() {
    let (read, alice) = log_in(
        Persona::Github,
        Script::Python("github_requests_oauthlib.py"),
    )
    .await;
    assert_github_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn simple_oauth2_logs_in_to_the_github_persona_and_reads_the_user() {
    let (read, alice) = log_in(Persona::Github, Script::Node("github_simple_oauth2.js")).await;
    assert_github_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn octokit_oauth_methods_logs_in_to_the_github_persona_and_reads_the_user() {
    let (read, alice) = log_in(
        Persona::Github,
        Script::Node("github_octokit_oauth_methods.mjs"),
    )
    .await;
    assert_github_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn passport_github2_logs_in_to_the_github_persona_and_reads_the_user() {
    let (read, alice) = log_in(Persona::Github, Script::Node("github_passport_github2.js")).await;
    assert_github_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn wechatpy_logs_in_to_the_wechat_persona_and_reads_the_user() {
    let (read, alice) = log_in(Persona::Wechat, Script::Python("wechat_wechatpy.py")).await;
    assert_wechat_user(&read, &alice);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn wechat_oauth_logs_in_to_the_wechat_persona_and_reads_the_user() {
    let (read, alice) = log_in(Persona::Wechat, Script::Node("wechat_oauth.js")).await;
    assert_wechat_user(&read, &alice);
}

/// openid-client read alice: the subject its id_token names, and her name and email from userinfo.
fn assert_oidc_user(read: &Value, alice: &UserConfig, id_token_alg: &str) {
    assert_eq!(read["sub"], alice.sub.as_str(), "{read}");
    assert_eq!(read["id_token_alg"], id_token_alg, "{read}");
    assert_eq!(read["name"].as_str(), alice.name.as_deref(), "{read}");
    assert_eq!(read["email"].as_str(), alice.email.as_deref(), "{read}");
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn openid_client_logs_in_by_form_post() {
    let (read, alice) = log_in_with(
        Config::builtin(),
        Script::Node("oidc_openid_client.mjs"),
        &[("RESPONSE_MODE", "form_post")],
    )
    .await;
    assert_oidc_user(&read, &alice, "RS256");
}

/// The built-in config with client `web` changed by `change` (its registration at the provider).
fn with_web_client(change: impl FnOnce(&mut mock_idp::ClientConfig)) -> Config {
    let mut config = Config::builtin();
    let web = config
        .clients
        .iter_mut()
        .find(|c| c.client_id == CLIENT_ID)
        .expect("client web is built in");
    change(web);
    config
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn openid_client_logs_in_with_es256_id_tokens() {
    let config = with_web_client(|web| {
        web.id_token_signed_response_alg = Some(mock_idp::IdTokenAlg::ES256);
    });
    let (read, alice) = log_in_with(
        config,
        Script::Node("oidc_openid_client.mjs"),
        &[("ID_TOKEN_ALG", "ES256")],
    )
    .await;
    assert_oidc_user(&read, &alice, "ES256");
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn openid_client_logs_in_with_hs256_id_tokens() {
    let config = with_web_client(|web| {
        // HS256 needs a secret of at least 32 octets (TK-HS256).
        web.client_secret = Some(mock_idp::Secret::new(
            "web-secret-long-enough-for-hs256-macs",
        ));
        web.id_token_signed_response_alg = Some(mock_idp::IdTokenAlg::HS256);
    });
    let (read, alice) = log_in_with(
        config,
        Script::Node("oidc_openid_client.mjs"),
        &[("ID_TOKEN_ALG", "HS256")],
    )
    .await;
    assert_oidc_user(&read, &alice, "HS256");
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn openid_client_logs_in_with_signed_userinfo() {
    let config = with_web_client(|web| {
        web.userinfo_signed_response_alg = Some(mock_idp::SigningAlg::RS256);
    });
    let (read, alice) = log_in_with(
        config,
        Script::Node("oidc_openid_client.mjs"),
        &[("USERINFO_ALG", "RS256")],
    )
    .await;
    assert_oidc_user(&read, &alice, "RS256");
    assert_eq!(read["userinfo_signed"], true, "{read}");
}

// google persona
/// The Google persona with alice as a Workspace user of `example.com`.
fn google_config() -> Config {
    let mut config = Config {
        persona: Persona::Google,
        ..Config::builtin()
    };
    for user in &mut config.users {
        if user.username == USER {
            user.hd = Some("example.com".into());
        }
    }
    config
}

/// The library read alice's Google identity from the verified id_token: `sub`, the issuer as discovery
/// names it, `azp` our client, her email (verified, a boolean) and her Workspace domain.
fn assert_google_user(read: &Value, alice: &UserConfig) {
    assert_eq!(read["sub"].as_str(), Some(alice.sub.as_str()), "{read}");
    assert!(
        read["iss"]
            .as_str()
            .is_some_and(|i| i.starts_with("http://127.0.0.1:")),
        "{read}"
    );
    assert_eq!(read["iss"], read["discovery_issuer"], "{read}");
    assert_eq!(read["azp"], CLIENT_ID, "{read}");
    assert_eq!(read["email"].as_str(), alice.email.as_deref(), "{read}");
    assert_eq!(read["email_verified"], Value::Bool(true), "{read}");
    assert_eq!(read["hd"], "example.com", "{read}");
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn authlib_flask_google_registration_logs_in_to_the_google_persona() {
    let (read, alice) = log_in_with(
        google_config(),
        Script::Python("../google-python/google_authlib_flask.py"),
        &[],
    )
    .await;
    assert_google_user(&read, &alice);
}

// ---- Sign in with Apple (issue 24): Auth.js's built-in Apple provider against the apple persona ----

/// Auth.js (`@auth/express` 0.12.3, `@auth/core/providers/apple`) in `persona-libs/apple-node/app.js`,
/// configured as its docs show (`Apple({ clientId, clientSecret })`, the client secret an ES256 JWT the
/// developer signs with their Apple key) with only `issuer`, Apple's base URL, pointed at the persona; and
/// python-social-auth's `AppleIdAuth` (social-auth-core 7.0.0) in `persona-libs/apple-python/`, configured
/// by its documented settings with only the backend's URL attributes pointed at the persona.
mod apple_libs {
    use std::{net::TcpListener, path::PathBuf, process::Stdio};

    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use mock_idp::{
        ClientConfig, ClientSecretKey, Config, GrantType, MockIdp, Persona, SigningAlg, SigningKey,
    };
    use mock_idp_harness::browser::{HttpResponse, auto_submitted_form};
    use serde_json::{Value, json};
    use tokio::{
        io::{AsyncBufReadExt, BufReader},
        process::{Child, Command},
        time::timeout,
    };

    use super::{STEP, USER, fixtures};

    const SERVICE: &str = "com.example.authjs";
    const TEAM: &str = "AUTHJSTEAM";
    const KID: &str = "AUTHJSKEY1";

    fn dir() -> PathBuf {
        fixtures().join("apple-node")
    }

    /// The client secret as the developer makes it for Auth.js: ES256 with their key, `iss` the team,
    /// `sub` the Services ID, `aud` Apple (here the persona's issuer), valid for a day.
    fn client_secret(key: &SigningKey, aud: &str, now: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": KID}).to_string());
        let claims =
            json!({"iss": TEAM, "sub": SERVICE, "aud": aud, "iat": now, "exp": now + 86_400});
        key.sign_with_header(&header, &claims)
            .expect("signing the client secret")
    }

    fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("a client")
    }

    /// One "Sign in with Apple" through Auth.js in a fresh browser: its sign-in (CSRF token, POST), the
    /// persona's form_post page, the page's POST to Auth.js's callback (from the persona's site), then
    /// Auth.js's session. Returns the session's user.
    async fn log_in(idp: &MockIdp, app: &str) -> Value {
        let b = browser();
        let csrf: Value = b
            .get(format!("{app}/auth/csrf"))
            .send()
            .await
            .expect("csrf")
            .json()
            .await
            .expect("csrf json");
        let token = csrf["csrfToken"].as_str().expect("csrfToken");
        let signin = b
            .post(format!("{app}/auth/signin/apple"))
            .form(&[("csrfToken", token), ("callbackUrl", &format!("{app}/me"))])
            .send()
            .await
            .expect("signin");
        let authorize = signin
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Auth.js redirects to Apple")
            .to_owned();
        assert!(
            authorize.starts_with(idp.issuer()),
            "Auth.js sends the browser to {authorize}"
        );
        let asked = url::Url::parse(&authorize).expect("the authorization URL");
        let param = |k: &str| {
            asked
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(param("response_mode").as_deref(), Some("form_post"));
        assert_eq!(param("scope").as_deref(), Some("name email"));
        idp.next_login(USER);
        let page = HttpResponse::read(b.get(&authorize).send().await.expect("authorize"))
            .await
            .expect("the page");
        let form = auto_submitted_form(&page)
            .unwrap_or_else(|| panic!("no form_post page: {} {}", page.status, page.body));
        let back = b
            .post(form.action.clone())
            .header("origin", idp.issuer())
            .form(&form.pairs())
            .send()
            .await
            .expect("the form_post");
        assert!(
            back.status().is_redirection(),
            "Auth.js answered the form_post with {}",
            back.status()
        );
        let me = b.get(format!("{app}/me")).send().await.expect("/me");
        assert_eq!(me.status(), 200, "no session after the login");
        let session: Value = me.json().await.expect("the session");
        session["user"].clone()
    }

    struct Node(Child);

    impl Drop for Node {
        fn drop(&mut self) {
            let _ = self.0.start_kill();
        }
    }

    #[tokio::test]
    #[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
    async fn authjs_apple_logs_in_by_form_post_and_reads_the_name_on_the_first_login_only() {
        assert!(
            dir().join("node_modules").exists(),
            "{}/node_modules is missing: run scripts/install-fixtures.sh",
            dir().display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let app = format!("http://127.0.0.1:{port}");
        let key = SigningKey::generate(SigningAlg::ES256, KID).expect("a key");
        let mut config = Config {
            persona: Persona::Apple,
            ..Config::builtin()
        };
        config.clients = vec![ClientConfig {
            client_id: SERVICE.into(),
            redirect_uris: vec![format!("{app}/auth/callback/apple")],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: mock_idp::AuthMethod::ClientSecretPost,
            team_id: Some(TEAM.into()),
            client_secret_keys: vec![ClientSecretKey {
                kid: KID.into(),
                public_key_pem: key.public_pem().expect("pem"),
            }],
            ..ClientConfig::default()
        }];
        let alice = config
            .users
            .iter()
            .find(|u| u.username == USER)
            .cloned()
            .expect("alice");
        let idp = MockIdp::start(config).await.expect("mock-idp starts");
        let secret = client_secret(&key, idp.issuer(), idp.clock().now());
        let mut child = Command::new("node")
            .arg("app.js")
            .current_dir(dir())
            .env("PORT", port.to_string())
            .env("BASE", idp.issuer())
            .env("CLIENT_ID", SERVICE)
            .env("CLIENT_SECRET", &secret)
            .env("BASE_URL", &app)
            .env(
                "SESSION_SECRET",
                "a-session-secret-of-32-characters-or-more",
            )
            .env("AUTH_URL", format!("{app}/auth"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let _node = Node(child);
        let mut line = String::new();
        timeout(STEP, out.read_line(&mut line))
            .await
            .expect("the app starts")
            .expect("its first line");
        assert!(line.starts_with("listening"), "{line}");

        // The first authorization carries the `user` field: Auth.js takes the name from it.
        let first = log_in(&idp, &app).await;
        assert_eq!(first["id"], alice.sub.as_str(), "{first}");
        assert_eq!(first["email"], "alice@example.com", "{first}");
        assert_eq!(first["name"], "Alice Adams", "{first}");
        // The second carries none: Auth.js's Apple profile falls back to the email for the name.
        let second = log_in(&idp, &app).await;
        assert_eq!(second["id"], alice.sub.as_str(), "{second}");
        assert_eq!(second["name"], "alice@example.com", "{second}");
        // The library authenticated with the signed client secret at Apple's token path.
        let tokens = idp
            .requests()
            .into_iter()
            .filter(|r| r.path == "/auth/token" && r.status == 200)
            .count();
        assert_eq!(tokens, 2);
        idp.shutdown().await;
    }

    // python-social-auth: social-auth-core's `AppleIdAuth`, in `persona-libs/apple-python/`.

    const SOCIAL_SERVICE: &str = "com.example.social";
    const SOCIAL_REDIRECT: &str = "http://127.0.0.1:3000/complete/apple-id/";

    /// One login through `apple_social_core.py`: its authorization URL, the persona's form_post page,
    /// the posted fields on the script's stdin; the JSON line it printed.
    async fn social_core_log_in(
        idp: &MockIdp,
        keys: &mock_idp_harness::target::AppleKeys,
    ) -> Value {
        let python = test_support::fixture_python();
        assert!(
            python.exists(),
            "{} is missing: run scripts/install-fixtures.sh",
            python.display()
        );
        let mut child = Command::new(python)
            .arg("apple_social_core.py")
            .current_dir(fixtures().join("apple-python"))
            .env("BASE", idp.issuer())
            .env("CLIENT_ID", SOCIAL_SERVICE)
            .env("TEAM_ID", &keys.team_id)
            .env("KEY_ID", &keys.key_id)
            .env(
                "PRIVATE_KEY",
                keys.private_key_pem.as_deref().unwrap_or_default(),
            )
            .env("REDIRECT_URI", SOCIAL_REDIRECT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the script starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut stdin = child.stdin.take().expect("stdin");
        let mut run = super::Running { child, stdout };
        let authorize = run.line("the authorization URL").await;
        assert!(authorize.starts_with(idp.issuer()), "{authorize}");
        assert!(authorize.contains("response_mode=form_post"), "{authorize}");
        idp.next_login(USER);
        let page = HttpResponse::read(browser().get(&authorize).send().await.expect("authorize"))
            .await
            .expect("the page");
        let form = auto_submitted_form(&page)
            .unwrap_or_else(|| panic!("no form_post page: {} {}", page.status, page.body));
        assert_eq!(form.action.as_str(), SOCIAL_REDIRECT);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.pairs())
            .finish();
        use tokio::io::AsyncWriteExt;
        stdin
            .write_all(format!("POST {body}\n").as_bytes())
            .await
            .expect("the script reads the callback");
        drop(stdin);
        let line = run.line("what it read").await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    #[tokio::test]
    #[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
    async fn social_core_apple_id_auth_logs_in_by_form_post_and_reads_the_name_once() {
        let keys =
            mock_idp_harness::apple::generate_keys("SOCIALTEAM", "SOCIALKEY1").expect("a key");
        let mut config = Config {
            persona: Persona::Apple,
            ..Config::builtin()
        };
        config.clients = vec![mock_idp_harness::apple::registration(
            SOCIAL_SERVICE,
            SOCIAL_REDIRECT,
            &keys,
        )];
        let alice = config
            .users
            .iter()
            .find(|u| u.username == USER)
            .cloned()
            .expect("alice");
        let idp = MockIdp::start(config).await.expect("mock-idp starts");
        let first = social_core_log_in(&idp, &keys).await;
        assert_eq!(first["uid"], alice.sub.as_str(), "{first}");
        assert_eq!(first["email"], "alice@example.com", "{first}");
        assert_eq!(first["first_name"], "Alice", "{first}");
        assert_eq!(first["last_name"], "Adams", "{first}");
        assert_eq!(first["user_field"], true, "{first}");
        let second = social_core_log_in(&idp, &keys).await;
        assert_eq!(second["uid"], alice.sub.as_str(), "{second}");
        assert_eq!(second["user_field"], false, "{second}");
        assert_eq!(
            second["first_name"],
            Value::Null,
            "no name without the field: {second}"
        );
        idp.shutdown().await;
    }
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn passport_google_oauth20_logs_in_to_the_google_persona() {
    let dir = fixtures().join("google-node");
    assert!(
        dir.join("node_modules").exists(),
        "{}/node_modules is missing: run scripts/install-fixtures.sh",
        dir.display()
    );
    let mut config = google_config();
    // passport-oauth2 sends the secret in the form body, which Google takes from any client; mock-idp
    // holds each client to one registered method.
    for client in &mut config.clients {
        if client.client_id == CLIENT_ID {
            client.token_endpoint_auth_method = mock_idp::AuthMethod::ClientSecretPost;
        }
    }
    let (read, alice) = log_in_with(
        config,
        Script::Node("../google-node/google_passport_google_oauth20.js"),
        &[],
    )
    .await;
    assert_eq!(read["sub"].as_str(), Some(alice.sub.as_str()), "{read}");
    assert_eq!(read["email"].as_str(), alice.email.as_deref(), "{read}");
    assert_eq!(read["email_verified"], Value::Bool(true), "{read}");
    assert_eq!(read["hd"], "example.com", "{read}");
    // access_type=offline on the first consent (and prompt=consent): a refresh token.
    assert_eq!(read["refresh_token"], Value::Bool(true), "{read}");
}

// ------------------------------------------------------------------------------------------------------
// The Entra persona (issue 24): libraries' built-in Microsoft Entra ID support, over HTTPS with mock-idp's
// generated CA (neither takes plain http), logging alice in at the multi-tenant `common` endpoint.

mod entra {
    use super::*;
    use mock_idp::{ClientConfig, ENTRA_DEFAULT_TENANT, Fault, TlsConfig, entra_oid, entra_sub};

    /// The app the Entra scripts play: Auth.js's callback route is `{app}/auth/callback/{provider}`.
    const APP: &str = "http://127.0.0.1:3000";
    const CLIENT: &str = "entra-app";
    const SECRET: &str = "entra-app-secret";

    /// A library of `persona-libs/entra-node` or `entra-python`.
    pub(super) enum EntraScript {
        Node(&'static str),
        Python(&'static str),
    }

    impl EntraScript {
        fn command(&self) -> Command {
            match self {
                EntraScript::Node(file) => {
                    let dir = fixtures().join("entra-node");
                    assert!(
                        dir.join("node_modules").exists(),
                        "{}/node_modules is missing: run scripts/install-fixtures.sh",
                        dir.display()
                    );
                    let mut c = Command::new("node");
                    c.arg(file).current_dir(dir);
                    c
                }
                EntraScript::Python(file) => {
                    let python = test_support::fixture_python();
                    assert!(
                        python.exists(),
                        "{} is missing: run scripts/install-fixtures.sh",
                        python.display()
                    );
                    let mut c = Command::new(python);
                    c.arg(file).current_dir(fixtures().join("entra-python"));
                    c
                }
            }
        }
    }

    /// What a run of an Entra script ended with.
    pub(super) struct EntraRun {
        /// The JSON line it printed, or `None` when it failed.
        pub read: Option<Value>,
        /// Its stderr when it failed.
        pub error: String,
        /// alice as configured.
        pub alice: UserConfig,
        /// The provider's base URL (`https://127.0.0.1:PORT`).
        pub base: String,
    }

    /// Starts the Entra persona over HTTPS with client `entra-app` registered for `redirect_uri`, arms
    /// `fault` once if given, and logs alice in through `script`.
    pub(super) async fn entra_log_in(
        script: EntraScript,
        redirect_uri: &str,
        env: &[(&str, &str)],
        fault: Option<Fault>,
    ) -> EntraRun {
        let dir = std::env::temp_dir().join(format!(
            "mock-idp-tls-persona-libs-{}-{}",
            std::process::id(),
            mock_idp_harness::random_token(8)
        ));
        let mut config = Config {
            persona: Persona::Entra,
            tls: Some(TlsConfig {
                dir: Some(dir.display().to_string()),
                ..TlsConfig::default()
            }),
            ..Config::builtin()
        };
        // Entra takes the secret either way; each library is registered for the way it sends it: Auth.js
        // in the Authorization header, MSAL in the form body.
        let mut client = ClientConfig::confidential(CLIENT, SECRET, redirect_uri);
        if matches!(script, EntraScript::Python(_)) {
            client.token_endpoint_auth_method = mock_idp::AuthMethod::ClientSecretPost;
        }
        config.clients.push(client);
        let alice = config
            .users
            .iter()
            .find(|u| u.username == USER)
            .cloned()
            .expect("alice is configured");
        let idp = MockIdp::start(config).await.expect("mock-idp starts");
        if let Some(fault) = fault {
            idp.fault(fault).times(1);
        }
        idp.next_login(USER);
        let ca = idp.tls_ca_file().expect("a generated CA").to_path_buf();
        let base = idp.url("").trim_end_matches('/').to_owned();

        let mut command = script.command();
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .env("BASE", &base)
            .env("ISSUER", format!("{base}/common/v2.0"))
            .env("AUTHORITY", format!("{base}/common"))
            .env("CLIENT_ID", CLIENT)
            .env("CLIENT_SECRET", SECRET)
            .env("APP", APP)
            .env("REDIRECT_URI", redirect_uri)
            .env("NODE_EXTRA_CA_CERTS", &ca)
            .env("REQUESTS_CA_BUNDLE", &ca)
            .env("NODE_ENV", "test")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the script starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut run = Running { child, stdout };

        let authorize = run.line("the authorization URL").await;
        assert!(
            authorize.starts_with(&format!("{base}/common/oauth2/v2.0/authorize")),
            "the library sends the browser to {authorize}, not to the persona's common endpoint"
        );
        let pem = std::fs::read(&ca).expect("the CA file");
        let browser = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let reply = HttpResponse::read(
            browser
                .get(&authorize)
                .send()
                .await
                .expect("the authorization request is answered"),
        )
        .await
        .expect("the answer is read");
        let location = reply
            .header("location")
            .unwrap_or_else(|| panic!("the provider answered {}: {}", reply.status, reply.body))
            .to_owned();
        assert!(
            location.starts_with(redirect_uri) && location.contains("code="),
            "redirected to {location}"
        );
        stdin
            .write_all(format!("{location}\n").as_bytes())
            .await
            .expect("the script reads the callback");
        drop(stdin);

        let mut line = String::new();
        let _ = timeout(STEP, run.stdout.read_line(&mut line)).await;
        let status = timeout(STEP, run.child.wait())
            .await
            .expect("the script ends")
            .expect("its exit status");
        let mut error = String::new();
        if let Some(mut stderr) = run.child.stderr.take() {
            let _ = timeout(STEP, stderr.read_to_string(&mut error)).await;
        }
        idp.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
        let read = status.success().then(|| {
            serde_json::from_str(line.trim())
                .unwrap_or_else(|e| panic!("the script's last line is not JSON ({e}): {line}"))
        });
        EntraRun {
            read,
            error,
            alice,
            base,
        }
    }

    /// What the library read is alice in mock-idp's default tenant: her tenant, object id, the pairwise
    /// subject of `entra-app`, her name, and her email when the library asked for the `email` scope
    /// (none otherwise, as Entra releases it).
    pub(super) fn assert_entra_alice(run: &EntraRun, read: &Value, asked_email: bool) {
        let alice = &run.alice;
        assert_eq!(read["tid"], ENTRA_DEFAULT_TENANT, "{read}");
        assert_eq!(read["oid"], entra_oid(alice), "{read}");
        assert_eq!(read["sub"], entra_sub(alice, CLIENT), "{read}");
        assert_eq!(
            read["iss"],
            format!("{}/{ENTRA_DEFAULT_TENANT}/v2.0", run.base),
            "{read}"
        );
        assert_eq!(read["name"].as_str(), alice.name.as_deref(), "{read}");
        let email = alice.email.as_deref().filter(|_| asked_email);
        assert_eq!(read["email"].as_str(), email, "{read}");
    }

    /// Auth.js's session as the fields `assert_entra_alice` compares.
    pub(super) fn authjs_fields(session: &Value) -> Value {
        serde_json::json!({
            "tid": session["tid"],
            "oid": session["oid"],
            "sub": session["providerAccountId"],
            "iss": session["iss"],
            "name": session["user"]["name"],
            "email": session["user"]["email"],
        })
    }

    pub(super) const AUTHJS_CALLBACK: &str =
        "http://127.0.0.1:3000/auth/callback/microsoft-entra-id";
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn authjs_microsoft_entra_id_logs_in_to_the_entra_persona_at_common() {
    let run = entra::entra_log_in(
        entra::EntraScript::Node("entra_authjs.mjs"),
        entra::AUTHJS_CALLBACK,
        &[],
        None,
    )
    .await;
    let session = run
        .read
        .clone()
        .unwrap_or_else(|| panic!("Auth.js did not log in: {}", run.error));
    entra::assert_entra_alice(&run, &entra::authjs_fields(&session), true);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn authjs_microsoft_entra_id_refuses_an_issuer_of_another_tenant_than_the_tid() {
    let run = entra::entra_log_in(
        entra::EntraScript::Node("entra_authjs.mjs"),
        entra::AUTHJS_CALLBACK,
        &[],
        Some(mock_idp::Fault::EntraTidMismatch),
    )
    .await;
    assert!(
        run.read.is_none(),
        "Auth.js logged in with an id_token whose iss names another tenant than its tid"
    );
    assert!(run.error.contains("iss"), "{}", run.error);
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn msal_python_logs_in_to_the_entra_persona_at_common() {
    let run = entra::entra_log_in(
        entra::EntraScript::Python("entra_msal.py"),
        "http://127.0.0.1:3000/getAToken",
        &[],
        None,
    )
    .await;
    let read = run
        .read
        .clone()
        .unwrap_or_else(|| panic!("MSAL did not log in: {}", run.error));
    // MSAL asks for openid, profile, offline_access and the app's scopes, not for email.
    entra::assert_entra_alice(&run, &read, false);
}
