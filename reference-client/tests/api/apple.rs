//! Sign in with Apple against mock-idp's apple persona (a tenant of the test's mock-idp): a fresh signed
//! client secret per token request, the form_post callback, the first login's name kept, the `user`
//! field never an identity, the email flags in both forms, relay addresses (CONFORMANCE APPLE-*).

use std::time::Duration;

use mock_idp::{
    ClientConfig, ClientSecretKey, Config, Fault, Handle, Persona, SigningAlg, SigningKey,
};
use reference_client::UnknownUserPolicy;
use reference_client::config::{ProviderKind, ProviderSettings, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{TestApp, browser, spawn_app_with};

/// The test-only P-256 key (PKCS#8 PEM) the app signs its client secrets with.
const KEY_PEM: &str = include_str!("../../../mock-idp/fixtures/keys/test-only-ec.pem");
const SERVICE: &str = "com.example.rc";
const TEAM: &str = "RCTEAM0001";
const KID: &str = "RCKEY00001";

async fn spawn_apple() -> TestApp {
    let app = spawn_app_with(|s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate;
        s.providers = vec![ProviderSettings {
            name: "Apple".into(),
            kind: ProviderKind::Apple {
                client_id: SERVICE.into(),
                team_id: TEAM.into(),
                key_id: KID.into(),
                private_key: Secret::new(KEY_PEM),
                base_url: Url::parse(&format!("{}/t/apple", s.issuer)).expect("url"),
                scopes: vec!["name".into(), "email".into()],
            },
            unknown_user_policy: None,
        }];
    })
    .await;
    let public = SigningKey::from_pem(SigningAlg::ES256, KEY_PEM, KID)
        .expect("key")
        .public_pem()
        .expect("pem");
    let mut config = Config {
        persona: Persona::Apple,
        issuer: None,
        ..Config::builtin()
    };
    config.clients = vec![ClientConfig {
        client_id: SERVICE.into(),
        redirect_uris: vec![format!("{}/callback", app.address)],
        grant_types: vec![mock_idp::GrantType::AuthorizationCode],
        token_endpoint_auth_method: mock_idp::AuthMethod::ClientSecretPost,
        team_id: Some(TEAM.into()),
        client_secret_keys: vec![ClientSecretKey {
            kid: KID.into(),
            public_key_pem: public,
        }],
        ..ClientConfig::default()
    }];
    let mut carol = mock_idp::UserConfig::new("carol", "carol-password", "000123.carol");
    carol.email = Some("carol@example.com".into());
    carol.given_name = Some("Carol".into());
    carol.family_name = Some("Cooper".into());
    carol.apple_hide_email = true;
    config.users.push(carol);
    app.idp()
        .create_tenant(Some("apple"), Some(config))
        .expect("tenant");
    app
}

fn apple(app: &TestApp) -> Handle {
    app.idp().tenant("apple").expect("tenant")
}

/// The value of a hidden input of the form_post page, unescaped.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// "Log in with Apple" as `username`: the app's authorization URL, the persona's form_post page, its
/// POST to the app's redirect URI (as the cross-site form does), then the page's hand-over to the API.
/// Returns the callback answer and the `user` field the persona sent, if any.
async fn login(
    app: &TestApp,
    b: &reqwest::Client,
    username: &str,
) -> (reqwest::Response, Option<String>) {
    apple(app).next_login(username);
    let started: Value = b
        .get(format!("{}/api/auth/login-url?provider=Apple", app.address))
        .send()
        .await
        .expect("login-url")
        .json()
        .await
        .expect("json");
    let url = Url::parse(started["url"].as_str().expect("url")).expect("url");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("response_mode").map(String::as_str),
        Some("form_post")
    );
    assert_eq!(q.get("scope").map(String::as_str), Some("name email"));
    assert!(q.contains_key("nonce") && q.contains_key("state"));
    let page = b.get(url).send().await.expect("authorize");
    assert_eq!(page.status(), StatusCode::OK, "a form_post page");
    let html = page.text().await.expect("page");
    let mut posted: Vec<(String, String)> = Vec::new();
    for name in ["code", "state", "user", "error"] {
        if let Some(v) = field(&html, name) {
            posted.push((name.to_owned(), v));
        }
    }
    let user = posted
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.clone());
    // The form's POST to the redirect URI: the app's callback page takes it.
    let landing = b
        .post(format!("{}/callback", app.address))
        .form(&posted)
        .send()
        .await
        .expect("POST /callback");
    assert_eq!(landing.status(), StatusCode::OK);
    let body: serde_json::Map<String, Value> =
        posted.into_iter().map(|(k, v)| (k, json!(v))).collect();
    (app.post_callback(b, &Value::Object(body)).await, user)
}

async fn me(app: &TestApp, response: reqwest::Response) -> Value {
    if response.status() != StatusCode::OK {
        panic!("{}", response.text().await.unwrap_or_default());
    }
    let body: Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    app.get_me(token).await.json().await.expect("json")
}

// APPLE-FORM-POST, APPLE-USER-BLOB: the first login's name is kept; the second login has no `user` field.
#[tokio::test]
async fn the_first_logins_name_is_kept_and_the_second_login_finds_the_same_user() {
    let app = spawn_apple().await;
    let (first, user) = login(&app, &browser(), "alice").await;
    assert!(user.is_some(), "the persona sent the user field");
    let profile = me(&app, first).await;
    assert_eq!(profile["display_name"], "Alice Adams");
    assert_eq!(profile["email"], "alice@example.com");
    let users = app.user_count();
    let (second, user) = login(&app, &browser(), "alice").await;
    assert_eq!(user, None, "no user field the second time");
    let profile = me(&app, second).await;
    assert_eq!(profile["display_name"], "Alice Adams");
    assert_eq!(app.user_count(), users);
    let namespace = apple(&app).issuer().to_owned();
    assert!(
        app.state
            .db
            .find_by_identity(&namespace, "248289761001")
            .expect("q")
            .is_some(),
        "keyed on (issuer, sub)"
    );
}

// APPLE-CLIENT-SECRET (RP half): each token request carries a fresh secret, so a day later (both clocks
// moved) the login still works.
#[tokio::test]
async fn a_fresh_client_secret_goes_with_every_token_request() {
    let app = spawn_apple().await;
    me(&app, login(&app, &browser(), "alice").await.0).await;
    let day = Duration::from_secs(86_400);
    app.state.clock.advance(day);
    apple(&app).clock().advance(day);
    me(&app, login(&app, &browser(), "bob").await.0).await;
}

// APPLE-USER-BLOB: a forged `user` naming bob's email changes at most the display name: alice gets her
// own account, keyed on her sub, with her own (id_token) email.
#[tokio::test]
async fn a_forged_user_field_is_never_an_identity_or_an_email() {
    let app = spawn_apple().await;
    me(&app, login(&app, &browser(), "bob").await.0).await;
    apple(&app).fault(Fault::AppleForgedUser).once();
    let before = app.user_count();
    let (response, user) = login(&app, &browser(), "alice").await;
    assert!(user.expect("user").contains("bob@example.com"));
    let profile = me(&app, response).await;
    assert_eq!(profile["email"], "alice@example.com");
    assert_eq!(app.user_count(), before + 1, "not bob's account");
    assert_eq!(
        profile["display_name"], "Bob Brown",
        "the display name is all it may set"
    );
}

// APPLE-BOOL-STRINGS: `"false"` is false (the email is not kept), booleans are read too.
#[tokio::test]
async fn the_email_flags_are_read_as_strings_or_booleans() {
    let app = spawn_apple().await;
    let at = apple(&app);
    let mut alice = at.user("alice").expect("alice");
    alice.email_verified = Some(false);
    at.add_user(alice).expect("alice");
    let profile = me(&app, login(&app, &browser(), "alice").await.0).await;
    assert!(
        profile.get("email").is_none(),
        "\"false\" is false: {profile}"
    );
    at.fault(Fault::AppleBoolFlags).once();
    let profile = me(&app, login(&app, &browser(), "bob").await.0).await;
    assert_eq!(profile["email"], "bob@example.com", "true as a boolean");
}

// APPLE-RELAY-EMAIL: a relay address logs in as its own identity and is kept as the contact address.
#[tokio::test]
async fn a_relay_address_logs_in_as_its_own_identity() {
    let app = spawn_apple().await;
    let profile = me(&app, login(&app, &browser(), "carol").await.0).await;
    let email = profile["email"].as_str().expect("email");
    assert!(email.ends_with("@privaterelay.appleid.com"), "{email}");
    assert_eq!(profile["display_name"], "Carol Cooper");
}

// APPLE-FORM-POST: a tampered state is refused before any token request.
#[tokio::test]
async fn a_form_post_callback_with_another_state_is_refused_without_a_token_request() {
    let app = spawn_apple().await;
    let b = browser();
    apple(&app).next_login("alice");
    let started: Value = b
        .get(format!("{}/api/auth/login-url?provider=Apple", app.address))
        .send()
        .await
        .expect("login-url")
        .json()
        .await
        .expect("json");
    let html = b
        .get(started["url"].as_str().expect("url"))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let before = apple(&app).token_requests();
    let response = app
        .post_callback(
            &b,
            &json!({"code": field(&html, "code"), "state": "tampered", "user": field(&html, "user")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(apple(&app).token_requests(), before);
}
