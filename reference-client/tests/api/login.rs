//! The six steps, end to end, for an admin and an ordinary user.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{browser, query_map, spawn_app, spawn_app_with};

// ST-REQUEST-SHAPE, PK-VALID, ST-FRESH-EXPIRY (entropy), ST-BOUND-TO-UA (cookie attributes)
#[tokio::test]
async fn login_redirects_to_the_provider_with_state_nonce_and_pkce_and_sets_a_lax_httponly_cookie()
{
    let app = spawn_app().await;
    let response = app.get_login(&browser(), None).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("transaction cookie")
        .to_owned();
    assert!(cookie.starts_with("rc_login="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let location = url::Url::parse(response.headers()["location"].to_str().expect("ascii"))
        .expect("absolute URL");
    assert!(
        location
            .as_str()
            .starts_with(&app.idp().authorization_endpoint())
    );
    let q = query_map(&location);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], crate::helpers::CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{}/callback", app.address));
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 22, "state carries at least 128 bits");
    assert!(q["nonce"].len() >= 22, "nonce carries at least 128 bits");
}

// UM-KEY, JWT-CLAIMS, JWT-DELIVERY, JWT-LAST, PK-VALID, CA-ENCODING
#[tokio::test]
async fn an_admin_logs_in_and_sees_their_profile_and_the_admin_endpoint() {
    let app = spawn_app().await;
    let b = browser();

    let response = app.login_as(&b, "alice").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "logged_in");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["role"], "admin");
    let token = body["token"].as_str().expect("token");

    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    assert_eq!(
        header.typ.as_deref(),
        Some(reference_client::app_jwt::APP_JWT_TYP)
    );
    let claims = app.state.jwt.verify(token).expect("our own JWT");
    let alice = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), crate::helpers::ALICE_SUB)
        .expect("query")
        .expect("alice is seeded");
    assert_eq!(
        claims.sub,
        alice.id.to_string(),
        "sub is the internal user id"
    );
    assert_eq!(body["user"]["id"], alice.id);
    assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600);

    let me = app.get_me(token).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["display_name"], "Alice Adams");
    assert_eq!(me["role"], "admin");
    // Seeded with the avatar mock-idp serves for alice.
    assert_eq!(me["avatar_url"], app.idp().avatar_url("alice"));

    let admin = app.get_admin_users(token).await;
    assert_eq!(admin.status(), StatusCode::OK);
    let admin: Value = admin.json().await.expect("json");
    assert_eq!(admin["users"].as_array().map(Vec::len), Some(2));
}

// UM-KEY, JWT-CLAIMS
#[tokio::test]
async fn an_ordinary_user_logs_in_sees_their_profile_and_is_forbidden_the_admin_endpoint() {
    let app = spawn_app().await;
    let token = app.token_for("bob").await;

    let me: Value = app.get_me(&token).await.json().await.expect("json");
    assert_eq!(me["display_name"], "Bob Brown");
    assert_eq!(me["role"], "user");
    assert_eq!(me["avatar_url"], app.idp().avatar_url("bob"));

    crate::helpers::assert_error(
        app.get_admin_users(&token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

// ST-OPEN-REDIRECT
#[tokio::test]
async fn a_relative_return_path_is_kept_and_an_absolute_one_is_ignored() {
    let app = spawn_app().await;
    for (asked, expected) in [
        ("/profile?tab=1", "/profile?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
    ] {
        let b = browser();
        app.idp().next_login("alice");
        let response = app.get_login(&b, Some(asked)).await;
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let idp_answer = b.get(location).send().await.expect("authorize");
        let callback = url::Url::parse(idp_answer.headers()["location"].to_str().expect("ascii"))
            .expect("url");
        let q = query_map(&callback);
        let body = serde_json::json!({ "code": q["code"], "state": q["state"], "iss": q["iss"] });
        let done: Value = app
            .post_callback(&b, &body)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(done["return_to"], expected, "return_to={asked}");
    }
}

// JWT-DELIVERY (session cookie alternative)
#[tokio::test]
async fn in_cookie_mode_the_callback_sets_an_httponly_session_and_returns_no_token() {
    let app = spawn_app_with(|s| s.session_mode = reference_client::SessionMode::Cookie).await;
    let b = browser();

    let response = app.login_as(&b, "alice").await;

    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("rc_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    let body: Value = response.json().await.expect("json");
    assert!(body.get("token").is_none());
    let me = app.get_me_as_browser(&b).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["role"], "admin");
    assert_eq!(
        app.get_me_as_browser(&browser()).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_frontend_pages_are_served_without_a_build_step() {
    let app = spawn_app().await;
    for path in ["/", "/callback", "/app.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let script = app.get("/app.js").await.text().await.expect("text");
    assert!(script.contains("history.replaceState"));
    assert!(!script.contains("innerHTML"));
}
