//! `kind = "google"`: Google's rules over OpenID Connect against mock-idp's Google persona (a tenant
//! `google` of the test's mock-idp): both issuer forms for Google only (GOOGLE-ISS), the `hd` claim
//! (GOOGLE-HD), listed sibling clients as `azp` (GOOGLE-AZP), identities by `sub` (GOOGLE-SUB-KEY), and
//! `access_type=offline` (GOOGLE-REFRESH).

use mock_idp::{ClientConfig, Config, Fault, FaultSpec, Handle, Persona, UserConfig};
use reference_client::UnknownUserPolicy;
use reference_client::config::{ProviderKind, ProviderSettings, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{CLIENT_ID, CLIENT_SECRET, TestApp, browser, query_map, spawn_app_with};

const DOMAIN: &str = "example.com";

/// An app offering mock-idp (OpenID, the root) and Google (tenant `google`, admitting only `hd`
/// `example.com` when `hosted_domain`, accepting `android` as `azp`, offline).
async fn spawn_google(hosted_domain: bool) -> TestApp {
    let app = spawn_app_with(|s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate;
        s.providers = vec![
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
                name: "Google".into(),
                kind: ProviderKind::Google {
                    issuer: format!("{}/t/google", s.issuer),
                    client_id: CLIENT_ID.into(),
                    client_secret: Secret::new(CLIENT_SECRET),
                    scopes: vec!["openid".into(), "email".into(), "profile".into()],
                    hosted_domain: hosted_domain.then(|| DOMAIN.to_owned()),
                    authorized_parties: vec!["android".into()],
                    offline: true,
                },
                unknown_user_policy: None,
            },
        ];
    })
    .await;
    let mut config = Config {
        persona: Persona::Google,
        issuer: None,
        ..Config::builtin()
    };
    for user in &mut config.users {
        if user.username == "alice" {
            user.hd = Some(DOMAIN.into());
        }
    }
    let mut web = ClientConfig::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("{}/callback", app.address),
    );
    web.project = Some("shop".into());
    let mut android = ClientConfig::public("android", "com.example.shop:/oauth2redirect");
    android.project = Some("shop".into());
    config.clients = vec![web, android];
    app.idp()
        .create_tenant(Some("google"), Some(config))
        .expect("tenant");
    app
}

fn google(app: &TestApp) -> Handle {
    app.idp().tenant("google").expect("tenant")
}

/// A login of `username` with `provider` signing in at `at`: the authorization URL and the callback's
/// answer.
async fn login(
    app: &TestApp,
    at: &Handle,
    provider: &str,
    username: &str,
) -> (Url, reqwest::Response) {
    let browser = browser();
    at.next_login(username);
    let started = browser
        .get(format!("{}/api/auth/login-url", app.address))
        .query(&[("provider", provider)])
        .send()
        .await
        .expect("login-url");
    assert_eq!(started.status(), StatusCode::OK);
    let body: Value = started.json().await.expect("json");
    let url = Url::parse(body["url"].as_str().expect("url")).expect("url");
    assert!(url.as_str().starts_with(at.issuer()), "{url}");
    let redirect = browser.get(url.clone()).send().await.expect("authorize");
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
    (url, app.post_callback(&browser, &callback).await)
}

fn arm(at: &Handle, name: &str) {
    at.arm(FaultSpec::new(Fault::parse(name, None).expect("fault")).once())
        .expect("arm");
}

#[tokio::test]
async fn a_workspace_user_logs_in_and_the_request_carries_hd_and_access_type() {
    let app = spawn_google(true).await;
    let (url, answer) = login(&app, &google(&app), "Google", "alice").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let q = query_map(&url);
    assert_eq!(q.get("hd").map(String::as_str), Some(DOMAIN));
    assert_eq!(q.get("access_type").map(String::as_str), Some("offline"));
    assert_eq!(q.get("prompt"), None, "no forced consent on every login");
}

#[tokio::test]
async fn an_account_without_the_hd_claim_is_refused_whatever_its_email() {
    let app = spawn_google(true).await;
    // bob is a consumer account at bob@example.com: the hint was sent, his email is at the domain.
    let (_, answer) = login(&app, &google(&app), "Google", "bob").await;
    assert_ne!(answer.status(), StatusCode::OK);
    // alice's token with hd stripped.
    let at = google(&app);
    arm(&at, "google.hd_stripped");
    let (_, answer) = login(&app, &at, "Google", "alice").await;
    assert_ne!(answer.status(), StatusCode::OK);
    // Without a configured domain, any Google account is welcome.
    let open = spawn_google(false).await;
    let (url, answer) = login(&open, &google(&open), "Google", "bob").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(query_map(&url).get("hd"), None);
}

#[tokio::test]
async fn the_scheme_less_issuer_is_accepted_for_google_only_and_is_the_same_identity() {
    let app = spawn_google(true).await;
    let at = google(&app);
    let (_, first) = login(&app, &at, "Google", "alice").await;
    assert_eq!(first.status(), StatusCode::OK);
    arm(&at, "id_token.iss_without_scheme");
    let (_, bare) = login(&app, &at, "Google", "alice").await;
    assert_eq!(bare.status(), StatusCode::OK);
    // The root OpenID provider's scheme-less issuer is refused.
    arm(app.idp(), "id_token.iss_without_scheme");
    let (_, refused) = login(&app, app.idp(), "mock-idp", "alice").await;
    assert_ne!(refused.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_listed_sibling_is_accepted_as_azp_and_any_other_client_refused() {
    let app = spawn_google(true).await;
    let at = google(&app);
    arm(&at, "google.azp_sibling");
    let (_, sibling) = login(&app, &at, "Google", "alice").await;
    assert_eq!(sibling.status(), StatusCode::OK);
    arm(&at, "google.azp_foreign");
    let (_, foreign) = login(&app, &at, "Google", "alice").await;
    assert_ne!(foreign.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_same_email_under_another_sub_is_another_identity() {
    let app = spawn_google(false).await;
    let at = google(&app);
    let (_, first) = login(&app, &at, "Google", "alice").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("json");
    let mut twin = UserConfig::new("alice-again", "pw", "another-google-sub");
    twin.email = Some("alice@example.com".into());
    twin.email_verified = Some(true);
    at.add_user(twin).expect("user");
    let (_, second) = login(&app, &at, "Google", "alice-again").await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.expect("json");
    let who = |v: &Value| v["token"].as_str().expect("token").to_owned();
    let a = app
        .get_me(&who(&first))
        .await
        .json::<Value>()
        .await
        .expect("me");
    let b = app
        .get_me(&who(&second))
        .await
        .json::<Value>()
        .await
        .expect("me");
    assert_ne!(a["id"], b["id"], "{a} {b}");
}

#[tokio::test]
async fn a_later_login_without_a_refresh_token_works_and_keeps_the_first_one() {
    let app = spawn_google(true).await;
    let at = google(&app);
    let kept = |app: &TestApp| {
        let alice = app
            .state
            .db
            .find_by_identity(at.issuer(), "248289761001")
            .expect("query")
            .expect("alice");
        app.state
            .db
            .provider_tokens(alice.id, alice.session_version, app.state.now())
            .expect("read")
            .and_then(|(_, t)| t.refresh_token)
    };
    let (_, answer) = login(&app, &at, "Google", "alice").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let first = kept(&app).expect("the first consent's refresh token is kept");
    let (_, answer) = login(&app, &at, "Google", "alice").await;
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "a login without a refresh token"
    );
    assert_eq!(kept(&app).as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn the_login_page_lists_google_with_its_kind() {
    let app = spawn_google(true).await;
    let list: Value = app
        .get("/api/auth/providers")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list[1]["name"], "Google");
    assert_eq!(list[1]["kind"], "google");
}
