//! Personas: the WeChat website login and GitHub OAuth apps over the same core (NP-CODE-RULES,
//! NP-ERROR-200, NP-TOKEN-FORMAT on the provider's side).

use std::time::Duration;

use mock_idp::{Config, Fault, FaultSpec, Persona};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn spawn_persona(persona: Persona) -> TestIdp {
    spawn_idp_with(Config {
        persona,
        ..Config::builtin()
    })
    .await
}

impl TestIdp {
    /// A WeChat code for `username` at app `web` through the headless next-login control.
    async fn wechat_code(&self, username: &str) -> String {
        self.idp.next_login(username);
        let reply = self.qrconnect(&[("scope", "snsapi_login")]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let location = reply.location();
        assert_eq!(param(&location, "state").as_deref(), Some("wx-state"));
        assert_eq!(param(&location, "iss"), None, "WeChat sends no iss");
        param(&location, "code").expect("code")
    }

    async fn qrconnect(&self, extra: &[(&str, &str)]) -> Reply {
        let mut url = url::Url::parse(&self.idp.url("/connect/qrconnect")).expect("url");
        url.query_pairs_mut().extend_pairs([
            ("appid", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("state", "wx-state"),
        ]);
        url.query_pairs_mut().extend_pairs(extra);
        read(self.http.get(url).send().await.expect("qrconnect")).await
    }

    async fn wechat_get(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        read(
            self.http
                .get(self.idp.url(path))
                .query(params)
                .send()
                .await
                .expect("wechat"),
        )
        .await
    }

    async fn wechat_token(&self, code: &str, secret: &str) -> Reply {
        self.wechat_get(
            "/sns/oauth2/access_token",
            &[
                ("appid", WEB),
                ("secret", secret),
                ("code", code),
                ("grant_type", "authorization_code"),
            ],
        )
        .await
    }

    async fn github_code(&self, username: &str, scope: &str) -> String {
        self.idp.next_login(username);
        let reply = read(
            self.http
                .get(self.idp.url("/login/oauth/authorize"))
                .query(&[
                    ("client_id", WEB),
                    ("redirect_uri", WEB_REDIRECT),
                    ("state", "gh-state"),
                    ("scope", scope),
                ])
                .send()
                .await
                .expect("authorize"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let location = reply.location();
        assert_eq!(param(&location, "state").as_deref(), Some("gh-state"));
        param(&location, "code").expect("code")
    }

    async fn github_token(&self, form: &[(&str, &str)], json: bool) -> Reply {
        let mut request = self
            .http
            .post(self.idp.url("/login/oauth/access_token"))
            .form(form);
        if json {
            request = request.header("accept", "application/json");
        }
        read(request.send().await.expect("token")).await
    }
}

fn errcode(reply: &Reply) -> i64 {
    assert_eq!(reply.status, StatusCode::OK, "WeChat errors are HTTP 200");
    reply.json()["errcode"].as_i64().unwrap_or(0)
}

// NP-CODE-RULES, NP-ERROR-200
#[tokio::test]
async fn a_wechat_code_works_once_and_its_replay_is_40163() {
    let t = spawn_persona(Persona::Wechat).await;
    let code = t.wechat_code("alice").await;
    let first = t.wechat_token(&code, WEB_SECRET).await;
    assert_eq!(first.status, StatusCode::OK);
    let tokens = first.json();
    assert_eq!(tokens["openid"], "openid-web-alice");
    assert_eq!(tokens["unionid"], "union-alice");
    assert_eq!(tokens["scope"], "snsapi_login");
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string());
    assert!(tokens.get("errcode").is_none(), "{tokens}");
    let access = tokens["access_token"].as_str().expect("token").to_owned();

    let replay = t.wechat_token(&code, WEB_SECRET).await;
    assert_eq!(errcode(&replay), 40163, "{}", replay.body);
    assert_eq!(replay.json()["errmsg"], "code been used");
    // The replay revoked what the first redemption issued.
    let info = t
        .wechat_get(
            "/sns/userinfo",
            &[("access_token", &access), ("openid", "openid-web-alice")],
        )
        .await;
    assert_eq!(errcode(&info), 40001, "{}", info.body);
    // The log notes the errcode and never shows the code or secret.
    let logged = t
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.path == "/sns/oauth2/access_token")
        .collect::<Vec<_>>();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1].note.error.as_deref(), Some("40163"));
    assert_eq!(logged[0].client_id.as_deref(), Some(WEB));
    assert_eq!(logged[0].param("secret"), Some("***"));
    assert!(
        logged[0]
            .param("code")
            .is_some_and(|c| c.starts_with("***:"))
    );
    assert_eq!(t.idp.token_requests(), 2);
}

// NP-CODE-RULES
#[tokio::test]
async fn a_wechat_code_expires_and_is_bound_to_its_app() {
    let t = spawn_persona(Persona::Wechat).await;
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "other-app",
            "other-secret",
            WEB_REDIRECT,
        ))
        .expect("client");
    let code = t.wechat_code("alice").await;
    let foreign = t
        .wechat_get(
            "/sns/oauth2/access_token",
            &[
                ("appid", "other-app"),
                ("secret", "other-secret"),
                ("code", &code),
                ("grant_type", "authorization_code"),
            ],
        )
        .await;
    assert_eq!(errcode(&foreign), 40029);
    t.idp.clock().advance(Duration::from_secs(61));
    assert_eq!(errcode(&t.wechat_token(&code, WEB_SECRET).await), 40029);
}

// NP-ERROR-200
#[tokio::test]
async fn wechat_refuses_bad_credentials_with_its_own_codes() {
    let t = spawn_persona(Persona::Wechat).await;
    let code = t.wechat_code("alice").await;
    assert_eq!(errcode(&t.wechat_token(&code, "wrong").await), 40125);
    let unknown_app = t
        .wechat_get(
            "/sns/oauth2/access_token",
            &[
                ("appid", "nobody"),
                ("secret", "x"),
                ("code", &code),
                ("grant_type", "authorization_code"),
            ],
        )
        .await;
    assert_eq!(errcode(&unknown_app), 40013);
    let no_code = t
        .wechat_get(
            "/sns/oauth2/access_token",
            &[
                ("appid", WEB),
                ("secret", WEB_SECRET),
                ("grant_type", "authorization_code"),
            ],
        )
        .await;
    assert_eq!(errcode(&no_code), 41008);
    // A refused secret did not spend the code.
    assert_eq!(
        t.wechat_token(&code, WEB_SECRET).await.json()["openid"],
        "openid-web-alice"
    );
}

#[tokio::test]
async fn the_wechat_login_page_refuses_other_scopes_and_unregistered_redirects_without_redirecting()
{
    let t = spawn_persona(Persona::Wechat).await;
    let scope = t.qrconnect(&[("scope", "snsapi_userinfo")]).await;
    assert_eq!(scope.status, StatusCode::BAD_REQUEST);
    assert!(scope.header("location").is_none());
    let mut url = url::Url::parse(&t.idp.url("/connect/qrconnect")).expect("url");
    url.query_pairs_mut().extend_pairs([
        ("appid", WEB),
        ("redirect_uri", "http://127.0.0.1:3000/elsewhere"),
        ("response_type", "code"),
        ("scope", "snsapi_login"),
    ]);
    let redirect = read(t.http.get(url).send().await.expect("get")).await;
    assert_eq!(redirect.status, StatusCode::BAD_REQUEST);
    assert!(redirect.header("location").is_none());
    // Without a queued login the page is the provider's login page.
    let page = t.qrconnect(&[("scope", "snsapi_login")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("request_id"), "{}", page.body);
}

#[tokio::test]
async fn wechat_userinfo_and_auth_need_the_tokens_own_openid() {
    let t = spawn_persona(Persona::Wechat).await;
    let code = t.wechat_code("bob").await;
    let tokens = t.wechat_token(&code, WEB_SECRET).await.json();
    let access = tokens["access_token"].as_str().expect("token");
    let info = t
        .wechat_get(
            "/sns/userinfo",
            &[("access_token", access), ("openid", "openid-web-bob")],
        )
        .await
        .json();
    assert_eq!(info["nickname"], "Bob Brown");
    assert_eq!(info["unionid"], "union-bob");
    assert_eq!(info["headimgurl"], t.idp.avatar_url("bob"));
    assert!(info["privilege"].is_array());
    let wrong = t
        .wechat_get(
            "/sns/userinfo",
            &[("access_token", access), ("openid", "openid-web-alice")],
        )
        .await;
    assert_eq!(errcode(&wrong), 40003);
    let ok = t
        .wechat_get(
            "/sns/auth",
            &[("access_token", access), ("openid", "openid-web-bob")],
        )
        .await;
    assert_eq!(errcode(&ok), 0);
    assert_eq!(
        errcode(&t.wechat_get("/sns/auth", &[("openid", "x")]).await),
        41001
    );
}

#[tokio::test]
async fn a_wechat_openid_differs_per_app_and_the_unionid_does_not() {
    let t = spawn_persona(Persona::Wechat).await;
    let user = t.idp.user("alice").expect("alice");
    let other = mock_idp::wechat_openid(&user, "another-app");
    assert_ne!(other, "openid-web-alice");
    assert_eq!(other, mock_idp::wechat_openid(&user, "another-app"));
    assert!(other.starts_with('o') && other.len() == 28, "{other}");
    let bob = t.idp.user("bob").expect("bob");
    assert_ne!(other, mock_idp::wechat_openid(&bob, "another-app"));
}

#[tokio::test]
async fn a_wechat_refresh_token_rotates_once() {
    let t = spawn_persona(Persona::Wechat).await;
    let code = t.wechat_code("alice").await;
    let tokens = t.wechat_token(&code, WEB_SECRET).await.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let params = |r: &str| {
        vec![
            ("appid".to_owned(), WEB.to_owned()),
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), r.to_owned()),
        ]
    };
    let fresh = read(
        t.http
            .get(t.idp.url("/sns/oauth2/refresh_token"))
            .query(&params(&refresh))
            .send()
            .await
            .expect("refresh"),
    )
    .await
    .json();
    assert_eq!(fresh["openid"], "openid-web-alice");
    let again = read(
        t.http
            .get(t.idp.url("/sns/oauth2/refresh_token"))
            .query(&params(&refresh))
            .send()
            .await
            .expect("refresh"),
    )
    .await;
    assert_eq!(errcode(&again), 40030);
}

// The faults of the token endpoint apply to the persona's (status, malformed body, errcode at 200).
#[tokio::test]
async fn token_endpoint_faults_apply_to_the_wechat_persona() {
    let t = spawn_persona(Persona::Wechat).await;
    t.idp
        .arm(FaultSpec::new(Fault::parse("token.status", Some("503")).expect("fault")).once())
        .expect("arm");
    let code = t.wechat_code("alice").await;
    assert_eq!(
        t.wechat_token(&code, WEB_SECRET).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    t.idp
        .arm(FaultSpec::new(Fault::TokenError200).once())
        .expect("arm");
    let code = t.wechat_code("alice").await;
    let spoiled = t.wechat_token(&code, WEB_SECRET).await;
    assert_eq!(errcode(&spoiled), 40029, "{}", spoiled.body);

    t.idp
        .arm(FaultSpec::new(Fault::TokenMalformedJson).once())
        .expect("arm");
    let code = t.wechat_code("alice").await;
    let malformed = t.wechat_token(&code, WEB_SECRET).await;
    assert_eq!(malformed.status, StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&malformed.body).is_err());
    let logged = t.idp.requests();
    let last = logged.last().expect("logged");
    assert_eq!(last.note.faults, ["token.malformed_json"]);
}

// NP-TOKEN-FORMAT
#[tokio::test]
async fn github_answers_form_encoded_unless_json_is_asked_for() {
    let t = spawn_persona(Persona::Github).await;
    let code = t.github_code("alice", "read:user user:email").await;
    let form = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
            ],
            false,
        )
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
        "{form:?}"
    );
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(form.body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fields.get("token_type").map(String::as_str), Some("bearer"));
    assert_eq!(
        fields.get("scope").map(String::as_str),
        Some("read:user,user:email")
    );
    let token = fields.get("access_token").expect("access_token");

    let user = read(
        t.http
            .get(t.idp.url("/user"))
            .bearer_auth(token)
            .send()
            .await
            .expect("user"),
    )
    .await
    .json();
    assert_eq!(user["id"], 1001);
    assert_eq!(user["login"], "alice");
    assert_eq!(user["name"], "Alice Adams");
    assert_eq!(user["avatar_url"], t.idp.avatar_url("alice"));
    let emails = read(
        t.http
            .get(t.idp.url("/user/emails"))
            .header("authorization", format!("token {token}"))
            .send()
            .await
            .expect("emails"),
    )
    .await
    .json();
    assert_eq!(emails[0]["email"], "alice@example.com");

    let code = t.github_code("bob", "read:user").await;
    let json = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
            ],
            true,
        )
        .await
        .json();
    assert_eq!(json["token_type"], "bearer");
    let bob_token = json["access_token"].as_str().expect("token");
    let no_scope = t
        .http
        .get(t.idp.url("/user/emails"))
        .bearer_auth(bob_token)
        .send()
        .await
        .expect("emails");
    assert_eq!(no_scope.status(), StatusCode::NOT_FOUND);
}

// NP-ERROR-200, NP-CODE-RULES
#[tokio::test]
async fn github_errors_are_http_200_and_a_code_works_once() {
    let t = spawn_persona(Persona::Github).await;
    let code = t.github_code("alice", "read:user").await;
    let wrong_secret = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", "nope"),
                ("code", &code),
            ],
            true,
        )
        .await;
    assert_eq!(wrong_secret.status, StatusCode::OK);
    assert_eq!(wrong_secret.error(), "incorrect_client_credentials");
    let wrong_redirect = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:3000/other"),
            ],
            false,
        )
        .await;
    assert_eq!(wrong_redirect.status, StatusCode::OK);
    assert!(
        wrong_redirect.body.contains("error=redirect_uri_mismatch"),
        "{}",
        wrong_redirect.body
    );
    // The mismatch spent the code, as any presentation by its own client does.
    let after = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
            ],
            true,
        )
        .await;
    assert_eq!(after.error(), "bad_verification_code");
    let unknown = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", "made-up"),
            ],
            false,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(unknown.body.contains("error=bad_verification_code"));
    let no_token = t.http.get(t.idp.url("/user")).send().await.expect("user");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn github_token_faults_apply_and_keep_the_format() {
    let t = spawn_persona(Persona::Github).await;
    t.idp
        .arm(FaultSpec::new(Fault::TokenError200).once())
        .expect("arm");
    let code = t.github_code("alice", "read:user").await;
    let spoiled = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
            ],
            false,
        )
        .await;
    assert_eq!(spoiled.status, StatusCode::OK);
    assert!(
        spoiled.body.starts_with("error=bad_verification_code"),
        "{}",
        spoiled.body
    );
    t.idp
        .arm(FaultSpec::new(Fault::parse("token.delay", Some("300")).expect("fault")).once())
        .expect("arm");
    let code = t.github_code("alice", "read:user").await;
    let started = std::time::Instant::now();
    let late = t
        .github_token(
            &[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
            ],
            true,
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(late.json()["access_token"].is_string());
}

#[tokio::test]
async fn an_oidc_provider_does_not_serve_persona_routes_and_vice_versa() {
    let oidc = spawn_idp().await;
    let r = oidc
        .http
        .get(oidc.idp.url("/sns/userinfo"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let wechat = spawn_persona(Persona::Wechat).await;
    let r = wechat
        .http
        .get(wechat.idp.discovery_url())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(wechat.idp.persona(), Persona::Wechat);
}

#[tokio::test]
async fn a_tenant_can_speak_another_persona() {
    let t = spawn_idp().await;
    let tenant = t
        .idp
        .create_tenant(
            Some("wx"),
            Some(Config {
                persona: Persona::Wechat,
                issuer: None,
                ..Config::builtin()
            }),
        )
        .expect("tenant");
    tenant.next_login("alice");
    let reply = read(
        t.http
            .get(tenant.url("/connect/qrconnect"))
            .query(&[
                ("appid", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "snsapi_login"),
                ("state", "s"),
            ])
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    // The root still speaks OpenID.
    let root = t.http.get(t.idp.discovery_url()).send().await.expect("get");
    assert_eq!(root.status(), StatusCode::OK);
}

#[tokio::test]
async fn avatars_are_generated_svgs_of_known_users() {
    let t = spawn_idp().await;
    let reply = read(
        t.http
            .get(t.idp.avatar_url("alice"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("image/svg+xml"));
    assert!(
        reply.body.starts_with("<svg") && reply.body.contains(">AA</text>"),
        "{}",
        reply.body
    );
    let bob = read(
        t.http
            .get(t.idp.avatar_url("bob"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_ne!(reply.body, bob.body);
    let unknown = t
        .http
        .get(t.idp.avatar_url("mallory"))
        .send()
        .await
        .expect("get");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let not_svg = t
        .http
        .get(t.idp.url("/avatars/alice.png"))
        .send()
        .await
        .expect("get");
    assert_eq!(not_svg.status(), StatusCode::NOT_FOUND);
}
