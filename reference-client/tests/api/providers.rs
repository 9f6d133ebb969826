//! Several providers: the local mock-idp's OpenID root plus WeChat and GitHub personas (tenants of the
//! same mock-idp), identities keyed per provider, the userinfo fallback, and account linking.

use mock_idp::{ClientConfig, Config, Fault, FaultSpec, Handle, Persona, UserConfig};
use reference_client::UnknownUserPolicy;
use reference_client::config::{ProviderKind, ProviderSettings, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, TestApp, assert_error, browser, query_map, spawn_app_with,
};

/// An app offering mock-idp (OpenID, the root), WeChat (tenant `wechat`) and GitHub (tenant `github`),
/// with `policy` for all three unless `tweak` says otherwise.
async fn spawn_three(
    policy: UnknownUserPolicy,
    tweak: impl FnOnce(&mut Vec<ProviderSettings>),
) -> TestApp {
    let app = spawn_app_with(|s| {
        s.unknown_user_policy = policy;
        let base = |t: &str| Url::parse(&format!("{}/t/{t}", s.issuer)).expect("url");
        let mut providers = vec![
            ProviderSettings {
                name: "mock-idp".into(),
                kind: ProviderKind::Oidc {
                    issuer: s.issuer.clone(),
                    client_id: s.client_id.clone(),
                    client_secret: s.client_secret.clone(),
                    scopes: s.scopes.clone(),
                    userinfo_signed_response_alg: None,
                    id_token_alg: None,
                },
                unknown_user_policy: None,
            },
            ProviderSettings {
                name: "WeChat".into(),
                kind: ProviderKind::Wechat {
                    appid: CLIENT_ID.into(),
                    secret: Secret::new(CLIENT_SECRET),
                    authorize_base: base("wechat"),
                    api_base: base("wechat"),
                },
                unknown_user_policy: None,
            },
            ProviderSettings {
                name: "GitHub".into(),
                kind: ProviderKind::Github {
                    client_id: CLIENT_ID.into(),
                    client_secret: Secret::new(CLIENT_SECRET),
                    authorize_base: base("github"),
                    api_base: base("github"),
                    scopes: vec!["read:user".into()],
                },
                unknown_user_policy: None,
            },
        ];
        tweak(&mut providers);
        s.providers = providers;
    })
    .await;
    for (name, persona) in [("wechat", Persona::Wechat), ("github", Persona::Github)] {
        let mut config = Config {
            persona,
            issuer: None,
            ..Config::builtin()
        };
        config.clients = vec![ClientConfig::confidential(
            CLIENT_ID,
            CLIENT_SECRET,
            &format!("{}/callback", app.address),
        )];
        app.idp()
            .create_tenant(Some(name), Some(config))
            .expect("tenant");
    }
    app
}

fn tenant(app: &TestApp, name: &str) -> Handle {
    app.idp().tenant(name).expect("tenant")
}

/// Starts a login with `provider` (with `bearer`: while logged in), lets `username` sign in at `at`, and
/// hands the callback to the backend; returns the callback answer and the callback parameters.
async fn login_with(
    app: &TestApp,
    browser: &reqwest::Client,
    at: &Handle,
    provider: &str,
    username: &str,
    bearer: Option<&str>,
) -> (reqwest::Response, Value) {
    at.next_login(username);
    let mut request = browser
        .get(format!("{}/api/auth/login-url", app.address))
        .query(&[("provider", provider)]);
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    let started = request.send().await.expect("login-url");
    assert_eq!(started.status(), StatusCode::OK);
    let body: Value = started.json().await.expect("json");
    let url = Url::parse(body["url"].as_str().expect("url")).expect("url");
    assert!(
        url.as_str().starts_with(at.issuer()),
        "{url} is not at {}",
        at.issuer()
    );
    let redirect = browser.get(url).send().await.expect("authorize");
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    let location = Url::parse(
        redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location"),
    )
    .expect("url");
    let q = query_map(&location);
    let mut callback = json!({"code": q.get("code"), "state": q.get("state")});
    if let Some(iss) = q.get("iss") {
        callback["iss"] = json!(iss);
    }
    (app.post_callback(browser, &callback).await, callback)
}

async fn me(app: &TestApp, response: reqwest::Response) -> (String, Value) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token").to_owned();
    let me: Value = app.get_me(&token).await.json().await.expect("json");
    (token, me)
}

// NP-IDENTITY-KEY: WeChat's identity is the unionid; the profile comes from its user API.
#[tokio::test]
async fn a_new_wechat_user_is_created_once_with_the_nickname_and_avatar() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let wechat = tenant(&app, "wechat");
    let (response, _) = login_with(&app, &browser(), &wechat, "WeChat", "alice", None).await;
    let (_, profile) = me(&app, response).await;
    assert_eq!(profile["display_name"], "Alice Adams");
    assert_eq!(profile["avatar_url"], wechat.avatar_url("alice"));
    let namespace = format!("wechat:{}", wechat.issuer());
    assert!(
        app.state
            .db
            .find_by_identity(&namespace, "union-alice")
            .expect("q")
            .is_some()
    );
    let before = app.user_count();
    let (again, _) = login_with(&app, &browser(), &wechat, "WeChat", "alice", None).await;
    me(&app, again).await;
    assert_eq!(
        app.user_count(),
        before,
        "the same unionid is the same user"
    );
}

// NP-IDENTITY-KEY: without a unionid, the openid of this app is the subject.
#[tokio::test]
async fn without_a_unionid_the_wechat_identity_is_the_apps_openid() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let wechat = tenant(&app, "wechat");
    let mut dave = UserConfig::new("dave", "dave-password", "dave-sub");
    dave.name = Some("Dave".into());
    wechat.add_user(dave.clone()).expect("dave");
    let (response, _) = login_with(&app, &browser(), &wechat, "WeChat", "dave", None).await;
    me(&app, response).await;
    let openid = mock_idp::wechat_openid(&dave, CLIENT_ID);
    let namespace = format!("wechat:{}#{CLIENT_ID}", wechat.issuer());
    assert!(
        app.state
            .db
            .find_by_identity(&namespace, &openid)
            .expect("q")
            .is_some()
    );
}

// NP-ERROR-200: the replayed code is answered errcode 40163 with HTTP 200; no session follows.
#[tokio::test]
async fn a_replayed_wechat_code_fails_the_login_although_the_answer_is_200() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let wechat = tenant(&app, "wechat");
    let b = browser();
    let (first, callback) = login_with(&app, &b, &wechat, "WeChat", "alice", None).await;
    me(&app, first).await;
    // A fresh login of the same browser, completed with the old code.
    wechat.next_login("alice");
    let started: Value = b
        .get(format!(
            "{}/api/auth/login-url?provider=WeChat",
            app.address
        ))
        .send()
        .await
        .expect("login-url")
        .json()
        .await
        .expect("json");
    let state =
        query_map(&Url::parse(started["url"].as_str().expect("url")).expect("url"))["state"]
            .clone();
    let replay = app
        .post_callback(&b, &json!({"code": callback["code"], "state": state}))
        .await;
    assert_error(replay, StatusCode::BAD_GATEWAY, "provider_error").await;
    let last = wechat
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/sns/oauth2/access_token")
        .expect("token request");
    assert_eq!(
        (last.status, last.note.error.as_deref()),
        (200, Some("40163"))
    );
}

// NP-ERROR-200
#[tokio::test]
async fn a_200_answer_carrying_an_error_fails_wechat_and_github_logins() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    for (name, provider) in [("wechat", "WeChat"), ("github", "GitHub")] {
        let t = tenant(&app, name);
        t.arm(FaultSpec::new(Fault::TokenError200).once())
            .expect("arm");
        let (response, _) = login_with(&app, &browser(), &t, provider, "alice", None).await;
        assert_error(response, StatusCode::BAD_GATEWAY, "provider_error").await;
    }
    assert_eq!(app.user_count(), 2, "no user was created");
}

// NP-IDENTITY-KEY: GitHub's identity is the numeric id; a renamed login is the same user.
#[tokio::test]
async fn a_github_user_who_renames_their_login_is_the_same_user() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let github = tenant(&app, "github");
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "bob", None).await;
    let (_, first) = me(&app, response).await;
    assert_eq!(first["avatar_url"], github.avatar_url("bob"));
    let mut renamed = github.user("bob").expect("bob");
    renamed.github_login = Some("bobby".into());
    github.add_user(renamed).expect("rename");
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "bob", None).await;
    let (_, second) = me(&app, response).await;
    assert_eq!(first["id"], second["id"]);
    let namespace = format!("github:{}", github.issuer());
    assert!(
        app.state
            .db
            .find_by_identity(&namespace, "1002")
            .expect("q")
            .is_some()
    );
}

// NP-NO-EMAIL-LINK: a GitHub account with alice's email is not alice.
#[tokio::test]
async fn a_matching_email_does_not_link_a_github_account_to_an_existing_user() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let github = tenant(&app, "github");
    let mut mallory = UserConfig::new("mallory", "m-password", "mallory-sub");
    mallory.email = Some("alice@example.com".into());
    mallory.email_verified = Some(true);
    github.add_user(mallory).expect("mallory");
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "mallory", None).await;
    let (_, profile) = me(&app, response).await;
    assert_eq!(profile["role"], "user");
    assert_ne!(profile["display_name"], "Alice Adams");
    assert_eq!(app.user_count(), 3);
}

// The unknown-user policy applies per provider.
#[tokio::test]
async fn the_unknown_user_policy_is_per_provider() {
    let app = spawn_three(UnknownUserPolicy::Reject, |p| {
        p[1].unknown_user_policy = Some(UnknownUserPolicy::RequireBinding);
        p[2].unknown_user_policy = Some(UnknownUserPolicy::AutoCreate);
    })
    .await;
    let (wechat, github) = (tenant(&app, "wechat"), tenant(&app, "github"));
    let (response, _) = login_with(&app, &browser(), &wechat, "WeChat", "alice", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "binding_required");
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "alice", None).await;
    me(&app, response).await;
    let mut carol = UserConfig::new("carol", "c-password", "carol-sub");
    carol.name = Some("Carol".into());
    app.idp().add_user(carol).expect("carol");
    let (response, _) = login_with(&app, &browser(), app.idp(), "mock-idp", "carol", None).await;
    assert_error(response, StatusCode::FORBIDDEN, "unknown_user").await;
}

// Linking: a second "Log in with …" while logged in; list; unlink, never the last one.
#[tokio::test]
async fn a_logged_in_user_links_github_sees_both_identities_and_cannot_unlink_the_last() {
    let app = spawn_three(UnknownUserPolicy::Reject, |_| {}).await;
    let github = tenant(&app, "github");
    let (response, _) = login_with(&app, &browser(), app.idp(), "mock-idp", "alice", None).await;
    let (token, alice) = me(&app, response).await;
    let (linked, _) = login_with(&app, &browser(), &github, "GitHub", "alice", Some(&token)).await;
    let (_, after) = me(&app, linked).await;
    assert_eq!(after["id"], alice["id"], "the identity was linked to alice");
    // Now GitHub alone logs alice in, although unknown users are rejected.
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "alice", None).await;
    let (_, again) = me(&app, response).await;
    assert_eq!(again["id"], alice["id"]);

    let http = reqwest::Client::new();
    let list: Value = http
        .get(format!("{}/api/me/identities", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ids = list["identities"].as_array().expect("array");
    let providers: Vec<_> = ids.iter().map(|i| i["provider"].as_str()).collect();
    assert_eq!(providers, [Some("mock-idp"), Some("GitHub")]);
    let unlink = |id: &Value| {
        http.delete(format!("{}/api/me/identities/{id}", app.address))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        unlink(&ids[1]["id"]).await.expect("unlink").status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        unlink(&ids[0]["id"]).await.expect("unlink"),
        StatusCode::CONFLICT,
        "last_identity",
    )
    .await;
    // Unlinked, GitHub no longer logs alice in.
    let (response, _) = login_with(&app, &browser(), &github, "GitHub", "alice", None).await;
    assert_error(response, StatusCode::FORBIDDEN, "unknown_user").await;
}

#[tokio::test]
async fn an_identity_of_another_user_is_not_linked() {
    let app = spawn_three(UnknownUserPolicy::Reject, |_| {}).await;
    let github = tenant(&app, "github");
    // bob's GitHub identity belongs to bob.
    let (response, _) = login_with(&app, &browser(), app.idp(), "mock-idp", "bob", None).await;
    let (bob_token, _) = me(&app, response).await;
    let (linked, _) =
        login_with(&app, &browser(), &github, "GitHub", "bob", Some(&bob_token)).await;
    me(&app, linked).await;
    // alice tries to link it.
    let (response, _) = login_with(&app, &browser(), app.idp(), "mock-idp", "alice", None).await;
    let (alice_token, _) = me(&app, response).await;
    let (refused, _) = login_with(
        &app,
        &browser(),
        &github,
        "GitHub",
        "bob",
        Some(&alice_token),
    )
    .await;
    assert_error(refused, StatusCode::CONFLICT, "identity_in_use").await;
}

// ID-USERINFO-SUB: an id_token without the profile claims is completed from userinfo, and only when
// userinfo names the same subject.
#[tokio::test]
async fn the_profile_comes_from_userinfo_only_when_its_sub_matches() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let idp = app.idp();
    for (name, sub) in [("carol", "carol-sub"), ("erin", "erin-sub")] {
        let mut u = UserConfig::new(name, "pw", sub);
        u.name = Some(format!("{name} from userinfo"));
        u.picture = Some(format!("/avatars/{name}.svg"));
        idp.add_user(u).expect("user");
    }
    idp.arm(FaultSpec::new(Fault::IdTokenNoProfile))
        .expect("arm");
    let (response, _) = login_with(&app, &browser(), idp, "mock-idp", "carol", None).await;
    let (_, carol) = me(&app, response).await;
    assert_eq!(carol["display_name"], "carol from userinfo");
    assert_eq!(carol["avatar_url"], idp.avatar_url("carol"));

    idp.arm(FaultSpec::new(Fault::UserinfoWrongSub))
        .expect("arm");
    let (response, _) = login_with(&app, &browser(), idp, "mock-idp", "erin", None).await;
    let (_, erin) = me(&app, response).await;
    assert_eq!(
        erin["display_name"], "New user",
        "userinfo of another subject is discarded"
    );
    assert!(erin["avatar_url"].is_null());
}

#[tokio::test]
async fn the_login_page_lists_every_provider() {
    let app = spawn_three(UnknownUserPolicy::Reject, |_| {}).await;
    let list: Value = app
        .get("/api/auth/providers")
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|p| (p["name"].as_str(), p["kind"].as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (Some("mock-idp"), Some("oidc")),
            (Some("WeChat"), Some("wechat")),
            (Some("GitHub"), Some("github"))
        ]
    );
    let csp = app.get("/").await;
    let csp = csp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains(&format!(
            "img-src 'self' https: data: {}",
            app.idp().issuer()
        )),
        "{csp}"
    );
}

#[tokio::test]
async fn a_wechat_callback_carrying_iss_is_refused() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    let wechat = tenant(&app, "wechat");
    wechat.next_login("alice");
    let b = browser();
    let started: Value = b
        .get(format!(
            "{}/api/auth/login-url?provider=WeChat",
            app.address
        ))
        .send()
        .await
        .expect("login-url")
        .json()
        .await
        .expect("json");
    let state =
        query_map(&Url::parse(started["url"].as_str().expect("url")).expect("url"))["state"]
            .clone();
    let response = app
        .post_callback(
            &b,
            &json!({"code": "x", "state": state, "iss": app.idp().issuer()}),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "issuer_mismatch").await;
    assert_eq!(wechat.token_requests(), 0);
}

// For WeChat and GitHub the user API is the only source: when it fails, or describes another user, no
// session follows.
#[tokio::test]
async fn a_failing_or_foreign_user_api_fails_the_login() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |_| {}).await;
    for (name, provider) in [("wechat", "WeChat"), ("github", "GitHub")] {
        let t = tenant(&app, name);
        t.arm(FaultSpec::new(Fault::parse("userinfo.status", Some("500")).expect("fault")).once())
            .expect("arm");
        let (response, _) = login_with(&app, &browser(), &t, provider, "alice", None).await;
        assert_error(response, StatusCode::BAD_GATEWAY, "provider_error").await;
    }
    let wechat = tenant(&app, "wechat");
    wechat
        .arm(FaultSpec::new(Fault::UserinfoWrongSub).once())
        .expect("arm");
    let (response, _) = login_with(&app, &browser(), &wechat, "WeChat", "alice", None).await;
    assert_error(response, StatusCode::BAD_GATEWAY, "provider_error").await;
    assert_eq!(app.user_count(), 2, "no user was created");
}

// RS-USERINFO-JWT: a client registered with `userinfo_signed_response_alg` takes the profile from a
// signed userinfo only when its signature verifies; a broken signature or a plain JSON answer is discarded
// as ID-USERINFO-SUB discards another subject's userinfo.
#[tokio::test]
async fn a_signed_userinfo_fills_the_profile_only_when_its_signature_verifies() {
    let app = spawn_three(UnknownUserPolicy::AutoCreate, |providers| {
        if let ProviderKind::Oidc {
            userinfo_signed_response_alg,
            ..
        } = &mut providers[0].kind
        {
            *userinfo_signed_response_alg = Some(jsonwebtoken::Algorithm::RS256);
        }
    })
    .await;
    let idp = app.idp();
    let register = |signed: bool| {
        let mut client = ClientConfig::confidential(
            CLIENT_ID,
            CLIENT_SECRET,
            &format!("{}/callback", app.address),
        );
        client.userinfo_signed_response_alg = signed.then_some(mock_idp::SigningAlg::RS256);
        idp.add_client(client).expect("client");
    };
    register(true);
    for (name, sub) in [
        ("carol", "carol-sub"),
        ("erin", "erin-sub"),
        ("frank", "frank-sub"),
    ] {
        let mut u = UserConfig::new(name, "pw", sub);
        u.name = Some(format!("{name} from userinfo"));
        idp.add_user(u).expect("user");
    }
    idp.arm(FaultSpec::new(Fault::IdTokenNoProfile))
        .expect("arm");
    let (response, _) = login_with(&app, &browser(), idp, "mock-idp", "carol", None).await;
    let (_, carol) = me(&app, response).await;
    assert_eq!(carol["display_name"], "carol from userinfo");
    let signed = idp
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/userinfo")
        .expect("userinfo was called");
    assert_eq!(signed.header("accept"), Some("application/jwt"));

    let bad = idp
        .arm(FaultSpec::new(Fault::UserinfoBadSignature).once())
        .expect("arm");
    let (response, _) = login_with(&app, &browser(), idp, "mock-idp", "erin", None).await;
    let (_, erin) = me(&app, response).await;
    assert_eq!(
        erin["display_name"], "New user",
        "a signed userinfo whose signature fails is discarded"
    );
    assert!(idp.clear_fault(bad).is_err(), "the fault was used");

    // Registered for signed userinfo, answered with JSON: not trusted either.
    register(false);
    let (response, _) = login_with(&app, &browser(), idp, "mock-idp", "frank", None).await;
    let (_, frank) = me(&app, response).await;
    assert_eq!(frank["display_name"], "New user");
}
