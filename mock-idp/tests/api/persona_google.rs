//! The Google persona: discovery at Google's paths, `azp` and `hd` in its id_tokens, `hd=` a hint only, a
//! refresh token only for `access_type=offline` on the first consent or `prompt=consent`, a refresh grant
//! that keeps its token, and its faults (`id_token.iss_without_scheme`, `google.*`).

use mock_idp::{ClientConfig, Config, Fault, FaultSpec, Persona, UserConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A Google provider with alice as a Workspace user of `example.com`, bob a consumer account with an
/// `@example.com` address, and `web` in project `shop` with its sibling `android`.
async fn spawn_google() -> TestIdp {
    let mut config = Config {
        persona: Persona::Google,
        ..Config::builtin()
    };
    for user in &mut config.users {
        if user.username == "alice" {
            user.hd = Some("example.com".into());
        }
    }
    for client in &mut config.clients {
        if client.client_id == WEB {
            client.project = Some("shop".into());
        }
    }
    let mut android = ClientConfig::public("android", "com.example.shop:/oauth2redirect");
    android.project = Some("shop".into());
    config.clients.push(android);
    spawn_idp_with(config).await
}

/// A Google provider (the root or a tenant) and a browser.
struct Google<'a> {
    idp: &'a mock_idp::Handle,
    http: &'a reqwest::Client,
}

impl TestIdp {
    fn google(&self) -> Google<'_> {
        Google {
            idp: &self.idp,
            http: &self.http,
        }
    }

    async fn google_authorize(&self, username: &str, extra: &[(&str, &str)]) -> Reply {
        self.google().google_authorize(username, extra).await
    }

    async fn google_login(&self, username: &str, extra: &[(&str, &str)]) -> Value {
        self.google().google_login(username, extra).await
    }
}

impl Google<'_> {
    /// A code for `username` from `GET /o/oauth2/v2/auth` with these extra parameters.
    async fn google_code(&self, username: &str, extra: &[(&str, &str)]) -> String {
        let reply = self.google_authorize(username, extra).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
        param(&reply.location(), "code").expect("code")
    }

    async fn google_authorize(&self, username: &str, extra: &[(&str, &str)]) -> Reply {
        self.idp.next_login(username);
        let mut url = url::Url::parse(&self.idp.url("/o/oauth2/v2/auth")).expect("url");
        let defaults = [
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email profile"),
            ("state", "g-state"),
        ];
        url.query_pairs_mut().extend_pairs(
            defaults
                .iter()
                .filter(|(k, _)| extra.iter().all(|(e, _)| e != k)),
        );
        url.query_pairs_mut().extend_pairs(extra);
        read(self.http.get(url).send().await.expect("authorize")).await
    }

    /// The tokens of a Google login of `username` (a code exchanged at `/token`).
    async fn google_login(&self, username: &str, extra: &[(&str, &str)]) -> Value {
        let code = self.google_code(username, extra).await;
        let reply = read(
            self.http
                .post(self.idp.url("/token"))
                .header("authorization", basic(WEB, WEB_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", WEB_REDIRECT),
                ])
                .send()
                .await
                .expect("token"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.json()
    }
}

fn id_claims(tokens: &Value) -> Value {
    claims(tokens["id_token"].as_str().expect("an id_token"))
}

#[tokio::test]
async fn google_discovery_names_its_base_as_issuer_and_its_real_paths() {
    let t = spawn_google().await;
    let doc = read(
        t.http
            .get(t.idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery"),
    )
    .await
    .json();
    assert_eq!(doc["issuer"], t.idp.issuer());
    // Google sends iss in its authorization responses without declaring it.
    assert_eq!(
        doc.get("authorization_response_iss_parameter_supported"),
        None
    );
    let redirect = t.google_authorize("alice", &[]).await.location();
    assert_eq!(param(&redirect, "iss").as_deref(), Some(t.idp.issuer()));
    for (key, path) in [
        ("authorization_endpoint", "/o/oauth2/v2/auth"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/v1/userinfo"),
        ("jwks_uri", "/oauth2/v3/certs"),
    ] {
        assert_eq!(doc[key], t.idp.url(path), "{key}");
    }
    let jwks = read(
        t.http
            .get(t.idp.url("/oauth2/v3/certs"))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert!(
        jwks.json()["keys"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
}

#[tokio::test]
async fn google_id_tokens_carry_azp_and_the_accounts_own_hd_whatever_hd_asked() {
    let t = spawn_google().await;
    let alice = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(alice["iss"], t.idp.issuer());
    assert_eq!(alice["aud"], WEB);
    assert_eq!(alice["azp"], WEB);
    assert_eq!(alice["hd"], "example.com");
    assert_eq!(alice["email_verified"], Value::Bool(true));
    // bob is a consumer account: no hd, even though the request asked for one and his address is at it.
    let bob = id_claims(&t.google_login("bob", &[("hd", "example.com")]).await);
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob.get("hd"), None, "{bob}");
    // The hint was recorded on the request all the same.
    let tokens = t.google_login("alice", &[("hd", "other.example")]).await;
    assert_eq!(
        id_claims(&tokens)["hd"],
        "example.com",
        "the account's own domain"
    );
    // Userinfo carries hd too.
    let info = read(
        t.http
            .get(t.idp.url("/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().expect("access token"))
            .send()
            .await
            .expect("userinfo"),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{info:?}");
    assert_eq!(info.json()["hd"], "example.com");
    assert_eq!(info.json()["sub"], alice["sub"]);
}

#[tokio::test]
async fn google_userinfo_answers_a_token_of_profile_and_email_without_openid() {
    let t = spawn_google().await;
    let tokens = t.google_login("alice", &[("scope", "profile email")]).await;
    assert_eq!(tokens.get("id_token"), None, "no openid, no id_token");
    let info = read(
        t.http
            .get(t.idp.url("/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().expect("access token"))
            .send()
            .await
            .expect("userinfo"),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{info:?}");
    assert_eq!(info.json()["email"], "alice@example.com");
    // The OpenID provider still needs openid.
    let oidc = spawn_idp().await;
    let code = oidc.code_for("alice", &[("scope", "profile email")]).await;
    let token = oidc.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_eq!(oidc.userinfo(&token).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_access_type_is_refused_by_redirect() {
    let t = spawn_google().await;
    let reply = t
        .google_authorize("alice", &[("access_type", "forever")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    let location = reply.location();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(param(&location, "state").as_deref(), Some("g-state"));
}

#[tokio::test]
async fn a_refresh_token_comes_only_offline_on_the_first_consent_or_prompt_consent() {
    let t = spawn_google().await;
    // Online (the default): never, not even on the first consent.
    let online = t.google_login("bob", &[]).await;
    assert_eq!(online.get("refresh_token"), None, "{online}");
    // Offline, but bob consented to web above: none.
    let again = t.google_login("bob", &[("access_type", "offline")]).await;
    assert_eq!(again.get("refresh_token"), None, "{again}");
    // alice's first consent, offline: one.
    let first = t.google_login("alice", &[("access_type", "offline")]).await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("first consent")
        .to_owned();
    let second = t.google_login("alice", &[("access_type", "offline")]).await;
    assert_eq!(second.get("refresh_token"), None, "{second}");
    // prompt=consent brings another.
    let forced = t
        .google_login(
            "alice",
            &[("access_type", "offline"), ("prompt", "consent")],
        )
        .await;
    assert!(forced["refresh_token"].is_string(), "{forced}");
    // A refresh grant answers no new refresh token, and the one issued stays usable.
    for _ in 0..2 {
        let reply = t
            .token(
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                Some(&basic(WEB, WEB_SECRET)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let body = reply.json();
        assert!(body["access_token"].is_string());
        assert_eq!(body.get("refresh_token"), None, "{body}");
        assert_eq!(id_claims(&body)["azp"], WEB);
    }
    // Another client cannot use it.
    let stolen = t
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&basic("web-post", "web-post-secret")),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED, "{stolen:?}");
}

#[tokio::test]
async fn the_oidc_persona_still_rotates_refresh_tokens() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let tokens = t.exchange(&code).await.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let first = t.token(&form, Some(&basic(WEB, WEB_SECRET))).await;
    assert!(first.json()["refresh_token"].is_string(), "{first:?}");
    let replay = t.token(&form, Some(&basic(WEB, WEB_SECRET))).await;
    assert_eq!(replay.error(), "invalid_grant");
}

#[tokio::test]
async fn iss_without_scheme_drops_the_scheme_on_google_and_on_oidc() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::IdTokenIssWithoutScheme).once())
        .expect("arm");
    let bare = t.idp.issuer().trim_start_matches("http://").to_owned();
    assert_eq!(id_claims(&t.google_login("alice", &[]).await)["iss"], bare);
    assert_eq!(
        id_claims(&t.google_login("alice", &[]).await)["iss"],
        t.idp.issuer()
    );

    let oidc = spawn_idp().await;
    oidc.idp
        .arm(FaultSpec::new(Fault::IdTokenIssWithoutScheme).once())
        .expect("arm");
    let code = oidc.code_for("alice", &[]).await;
    let iss = id_claims(&oidc.exchange(&code).await.json())["iss"].clone();
    assert_eq!(iss, oidc.idp.issuer().trim_start_matches("http://"));
}

#[tokio::test]
async fn hd_stripped_issues_a_token_without_hd() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::parse("google.hd_stripped", None).expect("name")).once())
        .expect("arm");
    let stripped = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(stripped.get("hd"), None, "{stripped}");
    assert_eq!(stripped["email"], "alice@example.com");
    let next = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(next["hd"], "example.com");
}

#[tokio::test]
async fn azp_faults_name_a_sibling_or_a_foreign_client_and_keep_aud() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::GoogleAzpSibling).once())
        .expect("arm");
    let sibling = id_claims(&t.google_login("alice", &[]).await);
    assert_eq!(
        (&sibling["azp"], &sibling["aud"]),
        (&"android".into(), &WEB.into())
    );
    t.idp
        .arm(FaultSpec::new(Fault::GoogleAzpForeign).once())
        .expect("arm");
    let foreign = id_claims(&t.google_login("alice", &[]).await);
    assert_eq!(foreign["azp"], "another-client");
    assert_eq!(foreign["aud"], WEB);
    assert_eq!(id_claims(&t.google_login("alice", &[]).await)["azp"], WEB);
}

#[tokio::test]
async fn hd_and_project_are_validated_naming_the_field() {
    let t = spawn_google().await;
    let mut user = UserConfig::new("carol", "pw", "carol-sub");
    user.hd = Some(String::new());
    let e = t.idp.add_user(user).expect_err("empty hd");
    assert!(e.to_string().contains(".hd"), "{e}");
    let mut client = ClientConfig::confidential("ios", "s", "http://127.0.0.1:1/cb");
    client.project = Some(String::new());
    let e = t.idp.add_client(client).expect_err("empty project");
    assert!(e.to_string().contains(".project"), "{e}");
}

#[tokio::test]
async fn a_config_file_tenant_speaks_google_with_its_users_domain_clients_project_and_faults() {
    let config = Config::from_toml(
        r#"
        [[tenants]]
        name = "google"
        persona = "google"

        [[tenants.clients]]
        client_id = "web"
        client_secret = "web-secret"
        redirect_uris = ["http://127.0.0.1:3000/callback"]
        project = "shop"

        [[tenants.clients]]
        client_id = "android"
        token_endpoint_auth_method = "none"
        pkce = "required"
        redirect_uris = ["com.example.shop:/oauth2redirect"]
        project = "shop"

        [[tenants.users]]
        username = "alice"
        password = "pw"
        sub = "alice-sub"
        email = "alice@example.com"
        email_verified = true
        hd = "example.com"

        [[tenants.faults]]
        name = "google.azp_sibling"
        times = 1
        "#,
    )
    .expect("parses");
    let idp = mock_idp::MockIdp::start(config).await.expect("start");
    let tenant = idp.tenant("google").expect("tenant");
    assert_eq!(tenant.persona(), Persona::Google);
    let http = browser();
    let t = Google {
        idp: &tenant,
        http: &http,
    };
    let first = id_claims(&t.google_login("alice", &[]).await);
    assert_eq!(
        (&first["azp"], &first["aud"]),
        (&"android".into(), &WEB.into())
    );
    assert_eq!(first["hd"], "example.com");
    assert_eq!(first["iss"], t.idp.issuer());
    assert_eq!(id_claims(&t.google_login("alice", &[]).await)["azp"], WEB);

    let bad = Config::from_toml(
        "[[tenants]]\nname = \"g\"\npersona = \"google\"\n[[tenants.users]]\nusername = \"a\"\n\
         password = \"p\"\nsub = \"s\"\nhd = \"\"\n",
    )
    .and_then(|c| c.validate().map(|_| c))
    .expect_err("an empty hd");
    assert!(bad.to_string().contains("hd"), "{bad}");
}

#[tokio::test]
async fn the_admin_api_makes_a_google_tenant_and_arms_its_faults() {
    let mut config = Config::builtin();
    config.admin = true;
    let idp = mock_idp::MockIdp::start(config).await.expect("start");
    let http = browser();
    let post = |path: &str, body: Value| {
        let req = http.post(idp.url(path)).json(&body);
        async move { read(req.send().await.expect("admin")).await }
    };
    let created = post(
        "/admin/tenants",
        serde_json::json!({"name": "g", "config": {"persona": "google",
            "clients": [{"client_id": "web", "client_secret": "web-secret",
                         "redirect_uris": [WEB_REDIRECT], "project": "shop"}],
            "users": [{"username": "alice", "password": "pw", "sub": "alice-sub",
                       "email": "alice@example.com", "email_verified": true, "hd": "example.com"}]}}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let armed = post(
        "/admin/tenants/g/faults",
        serde_json::json!({"name": "google.hd_stripped", "times": 1}),
    )
    .await;
    assert!(armed.status.is_success(), "{armed:?}");
    let (tenant, http) = (idp.tenant("g").expect("tenant"), browser());
    let t = Google {
        idp: &tenant,
        http: &http,
    };
    let stripped = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(stripped.get("hd"), None, "{stripped}");
    assert_eq!(
        id_claims(&t.google_login("alice", &[]).await)["hd"],
        "example.com"
    );
}

#[test]
fn the_command_line_serves_google_at_its_paths_and_takes_its_faults() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_mock-idp");
    let mut child = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--persona",
            "google",
            "--fault",
            "google.azp_foreign",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let mut banner = Vec::new();
    for line in BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(30)
    {
        let last = line.contains("/v1/userinfo");
        banner.push(line);
        if last {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = banner.join("\n");
    assert!(text.contains("persona: google"), "{text}");
    for path in [
        "/.well-known/openid-configuration",
        "/o/oauth2/v2/auth",
        "/token",
        "/v1/userinfo",
    ] {
        assert!(text.contains(path), "{path} missing from:\n{text}");
    }
    let bad = Command::new(BIN)
        .args([
            "--persona",
            "google",
            "--fault",
            "google.azp_nobody",
            "check-config",
            "x",
        ])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("google.azp_nobody"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test]
async fn the_verdict_judges_a_google_login_at_googles_paths() {
    let t = spawn_google().await;
    let (verifier, challenge) = pkce_pair();
    let (state, nonce) = (random_token(), random_token());
    let code = t
        .google()
        .google_code(
            "alice",
            &[
                ("state", &state),
                ("nonce", &nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let reply = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", &verifier),
            ],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    for _ in 0..2 {
        let jwks = t
            .http
            .get(t.idp.url("/oauth2/v3/certs"))
            .send()
            .await
            .expect("jwks");
        assert_eq!(jwks.status(), StatusCode::OK);
    }
    let verdict = t.idp.verdict();
    for name in ["pkce_s256", "state", "nonce", "code_redeemed_once"] {
        let item = verdict.item(name).expect("item");
        assert_eq!(item.outcome, mock_idp::Outcome::Pass, "{name}: {item:?}");
    }
}
