//! Logout at the app and at the provider (CONFORMANCE LO-RP-INITIATED, LO-BACKCHANNEL).

use base64::Engine;
use mock_idp::ClientConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::*;

/// An app whose client at the mock IdP is registered for logout: its start page after logout and its
/// back-channel endpoint.
async fn spawn_logout_app(cookie_mode: bool) -> TestApp {
    let app = spawn_app_with(|s| {
        if cookie_mode {
            s.session_mode = reference_client::config::SessionMode::Cookie;
        }
    })
    .await;
    app.idp()
        .add_client(
            ClientConfig::confidential(
                CLIENT_ID,
                CLIENT_SECRET,
                &format!("{}/callback", app.address),
            )
            .with_post_logout_redirect_uri(&format!("{}/", app.address))
            .with_backchannel_logout_uri(&format!("{}/backchannel-logout", app.address)),
        )
        .expect("client registers");
    app
}

async fn post_logout(app: &TestApp, client: &reqwest::Client, token: Option<&str>) -> Value {
    let mut req = client.post(format!("{}/api/auth/logout", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let response = req.send().await.expect("POST /api/auth/logout");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn post_logout_token(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/backchannel-logout", app.address))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("POST /backchannel-logout")
        .status()
}

/// A logout token for alice signed with the provider's key, with `change` applied to its claims.
fn logout_token_with(app: &TestApp, change: impl FnOnce(&mut Value)) -> String {
    let real = app
        .idp()
        .logout_token(CLIENT_ID, ALICE_SUB, "sid-1")
        .expect("signs");
    let payload = real.split('.').nth(1).expect("payload");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value =
        serde_json::from_slice(&b64.decode(payload).expect("b64")).expect("json");
    change(&mut claims);
    let header = real.split('.').next().expect("header");
    app.idp().sign_with_header(header, &claims).expect("signs")
}

/// The token with one character in the middle of its signature changed (the last character may only carry
/// padding bits).
fn flip_signature(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() - 20;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

// LO-RP-INITIATED
#[tokio::test]
async fn logout_ends_the_app_jwt_and_sends_the_browser_to_the_provider_which_returns_it_with_state()
{
    let app = spawn_logout_app(false).await;
    let token = app.token_for("alice").await;
    assert_eq!(app.get_me(&token).await.status(), StatusCode::OK);
    let body = post_logout(&app, &reqwest::Client::new(), Some(&token)).await;
    assert_eq!(body["status"], "logged_out");
    assert_eq!(app.get_me(&token).await.status(), StatusCode::UNAUTHORIZED);

    let url = Url::parse(body["end_session_url"].as_str().expect("end_session_url")).expect("url");
    assert_eq!(
        url.as_str().split('?').next(),
        Some(app.idp().end_session_endpoint().as_str())
    );
    let q = query_map(&url);
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["post_logout_redirect_uri"], format!("{}/", app.address));
    assert!(
        q["id_token_hint"].split('.').count() == 3,
        "the login's id_token"
    );
    let state = q["state"].clone();
    assert!(state.len() >= 16);
    let at_idp = browser().get(url).send().await.expect("end session");
    assert_eq!(at_idp.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(at_idp.headers()["location"].to_str().expect("ascii")).expect("url");
    assert_eq!(
        back.as_str().split('?').next(),
        Some(format!("{}/", app.address).as_str())
    );
    assert_eq!(query_map(&back)["state"], state);
}

// LO-RP-INITIATED
#[tokio::test]
async fn logout_in_cookie_mode_ends_the_session_cookie() {
    let app = spawn_logout_app(true).await;
    let b = browser();
    assert_eq!(app.login_as(&b, "alice").await.status(), StatusCode::OK);
    assert_eq!(app.get_me_as_browser(&b).await.status(), StatusCode::OK);
    let body = post_logout(&app, &b, None).await;
    assert!(
        body["end_session_url"]
            .as_str()
            .is_some_and(|u| u.contains("id_token_hint="))
    );
    assert_eq!(
        app.get_me_as_browser(&b).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

// LO-BACKCHANNEL
#[tokio::test]
async fn a_logout_at_the_provider_ends_the_users_jwts_issued_before_it_and_no_one_elses() {
    let app = spawn_logout_app(false).await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let deliveries = app.idp().logout("alice").await.expect("alice exists");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].to_string(), format!("{CLIENT_ID}: 200"));
    assert_eq!(app.get_me(&alice).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_me(&bob).await.status(), StatusCode::OK);
    // A new login after the logout works.
    let again = app.token_for("alice").await;
    assert_eq!(app.get_me(&again).await.status(), StatusCode::OK);
}

// LO-BACKCHANNEL
#[tokio::test]
async fn a_back_channel_logout_ends_cookie_sessions_too() {
    let app = spawn_logout_app(true).await;
    let b = browser();
    assert_eq!(app.login_as(&b, "alice").await.status(), StatusCode::OK);
    app.idp().logout("alice").await.expect("alice exists");
    assert_eq!(
        app.get_me_as_browser(&b).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

// LO-BACKCHANNEL
#[tokio::test]
async fn a_replayed_logout_token_is_refused_and_ends_nothing() {
    let app = spawn_logout_app(false).await;
    let token = logout_token_with(&app, |_| {});
    let first = app.token_for("alice").await;
    assert_eq!(post_logout_token(&app, &token).await, StatusCode::OK);
    assert_eq!(app.get_me(&first).await.status(), StatusCode::UNAUTHORIZED);
    let second = app.token_for("alice").await;
    assert_eq!(
        post_logout_token(&app, &token).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.get_me(&second).await.status(), StatusCode::OK);
}

// LO-BACKCHANNEL
#[tokio::test]
async fn a_forged_or_malformed_logout_token_is_refused_and_ends_nothing() {
    let app = spawn_logout_app(false).await;
    let jwt = app.token_for("alice").await;
    let now = app.idp().clock().now();
    let tampered = flip_signature(&logout_token_with(&app, |_| {}));
    let cases: Vec<(&str, String)> = vec![
        ("a bad signature", tampered),
        (
            "another audience",
            logout_token_with(&app, |c| c["aud"] = json!("web")),
        ),
        (
            "another issuer",
            logout_token_with(&app, |c| c["iss"] = json!("http://evil.example")),
        ),
        (
            "a nonce",
            logout_token_with(&app, |c| c["nonce"] = json!("n")),
        ),
        (
            "no event",
            logout_token_with(&app, |c| c["events"] = json!({})),
        ),
        (
            "the event not an object",
            logout_token_with(&app, |c| {
                c["events"] = json!({"http://schemas.openid.net/event/backchannel-logout": true})
            }),
        ),
        (
            "neither sub nor sid",
            logout_token_with(&app, |c| {
                c.as_object_mut().map(|o| {
                    o.remove("sub");
                    o.remove("sid")
                });
            }),
        ),
        (
            "no jti",
            logout_token_with(&app, |c| {
                c.as_object_mut().map(|o| o.remove("jti"));
            }),
        ),
        (
            "no iat",
            logout_token_with(&app, |c| {
                c.as_object_mut().map(|o| o.remove("iat"));
            }),
        ),
        (
            "an old iat",
            logout_token_with(&app, |c| {
                c["iat"] = json!(now - 3600);
                c["exp"] = json!(now + 60);
            }),
        ),
        (
            "a future iat",
            logout_token_with(&app, |c| c["iat"] = json!(now + 3600)),
        ),
        (
            "an expired exp",
            logout_token_with(&app, |c| c["exp"] = json!(now - 300)),
        ),
        ("not a JWT", "garbage".to_owned()),
        ("empty", String::new()),
    ];
    for (what, token) in cases {
        assert_eq!(
            post_logout_token(&app, &token).await,
            StatusCode::BAD_REQUEST,
            "{what}"
        );
    }
    // The provider's id_token is not a logout token.
    let b = browser();
    let login = app.login_as(&b, "bob").await;
    assert_eq!(login.status(), StatusCode::OK);
    let bob = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), BOB_SUB)
        .expect("db")
        .expect("bob");
    let id_token = app.state.db.login_hint(bob.id).expect("db").expect("hint");
    assert_eq!(
        post_logout_token(&app, &id_token).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get_me(&jwt).await.status(),
        StatusCode::OK,
        "nothing ended"
    );
    // And a good one still works afterwards.
    assert_eq!(
        post_logout_token(&app, &logout_token_with(&app, |_| {})).await,
        StatusCode::OK
    );
    assert_eq!(app.get_me(&jwt).await.status(), StatusCode::UNAUTHORIZED);
}

// LO-BACKCHANNEL: a token naming only the provider session ends the user whose last login it was.
#[tokio::test]
async fn a_logout_token_with_only_a_sid_ends_that_sessions_user() {
    let app = spawn_logout_app(false).await;
    let jwt = app.token_for("alice").await;
    let alice = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), ALICE_SUB)
        .expect("db")
        .expect("alice");
    let hint = app
        .state
        .db
        .login_hint(alice.id)
        .expect("db")
        .expect("hint");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: Value = serde_json::from_slice(
        &b64.decode(hint.split('.').nth(1).expect("payload"))
            .expect("b64"),
    )
    .expect("json");
    let sid = claims["sid"].clone();
    assert!(sid.is_string());
    let token = logout_token_with(&app, |c| {
        c.as_object_mut().map(|o| o.remove("sub"));
        c["sid"] = sid;
    });
    assert_eq!(post_logout_token(&app, &token).await, StatusCode::OK);
    assert_eq!(app.get_me(&jwt).await.status(), StatusCode::UNAUTHORIZED);
}

/// `ca_file`: the app trusts the CA of a provider served with TLS (a real handshake) and logs in.
#[tokio::test]
async fn with_the_providers_ca_file_the_app_logs_in_over_https() {
    let dir = std::env::temp_dir().join(format!(
        "rc-tls-{}",
        reference_client::store::random_token(9)
    ));
    let idp = mock_idp::MockIdp::start(mock_idp::Config {
        tls: Some(mock_idp::TlsConfig {
            dir: Some(dir.display().to_string()),
            ..Default::default()
        }),
        ..mock_idp::Config::builtin()
    })
    .await
    .expect("TLS provider");
    assert!(idp.issuer().starts_with("https://127.0.0.1:"));
    let ca = idp.tls_ca_file().expect("generated CA").to_path_buf();
    let mut app = spawn_app_for_issuer(idp.issuer(), |s| s.ca_file = Some(ca.clone()));
    idp.add_client(ClientConfig::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("{}/callback", app.address),
    ))
    .expect("client");
    app.idp = Some(idp);
    // The browser trusts the CA too (as a developer's would, once told to).
    let pem = std::fs::read(&ca).expect("CA file");
    let b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    app.idp().next_login("alice");
    let authorize = app.start_login(&b).await;
    assert_eq!(authorize.scheme(), "https");
    let at_idp = b.get(authorize).send().await.expect("TLS to the provider");
    let back = Url::parse(at_idp.headers()["location"].to_str().expect("ascii")).expect("url");
    let q = query_map(&back);
    let login = app
        .post_callback(
            &b,
            &json!({"code": q["code"], "state": q["state"], "iss": q["iss"]}),
        )
        .await;
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "the app exchanged the code over TLS"
    );
    let body: Value = login.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    assert_eq!(app.get_me(token).await.status(), StatusCode::OK);

    // Without the CA the provider's certificate is not trusted: the login cannot start.
    let untrusting = spawn_app_for_issuer(app.idp().issuer(), |_| {});
    let response = untrusting.get_login_url(&browser()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let _ = std::fs::remove_dir_all(dir);
}
