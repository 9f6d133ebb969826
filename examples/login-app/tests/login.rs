//! The story mock-idp is for: the app's own integration test starts the provider in-process, logs in
//! without a browser, and checks the session the app made, then breaks one thing and checks the app refuses.

use std::time::Duration;

use login_app::Settings;
use mock_idp::{ClientConfig, Config, MockIdp};
use reqwest::{StatusCode, header::LOCATION, redirect::Policy};

/// The provider, the app on a random port, and a cookie-keeping client that plays the browser.
struct TestApp {
    idp: MockIdp,
    base_url: String,
    browser: reqwest::Client,
}

async fn spawn_app() -> TestApp {
    let idp = MockIdp::start(Config::builtin())
        .await
        .expect("provider starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    idp.add_client(ClientConfig::confidential(
        "login-app",
        "login-app-secret",
        &format!("{base_url}/callback"),
    ))
    .expect("client registers");
    let app = login_app::router(Settings {
        issuer: idp.issuer().to_owned(),
        client_id: "login-app".into(),
        client_secret: "login-app-secret".into(),
        base_url: base_url.clone(),
    })
    .await
    .expect("app reads the discovery document");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client");
    TestApp {
        idp,
        base_url,
        browser,
    }
}

impl TestApp {
    /// GET, without following redirects.
    async fn get(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.expect("request")
    }

    /// The `Location` of a 303.
    fn redirect(response: &reqwest::Response) -> String {
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{response:?}");
        response.headers()[LOCATION]
            .to_str()
            .expect("ascii location")
            .to_owned()
    }

    /// Clicks "Log in with Mock IdP" and follows the provider's answer until it sends the browser back to
    /// the app's callback; returns that callback URL, not yet visited.
    async fn log_in_up_to_the_callback(&self) -> String {
        let to_provider = Self::redirect(&self.get(&format!("{}/login", self.base_url)).await);
        assert!(to_provider.starts_with(&self.idp.authorization_endpoint()));
        let to_app = Self::redirect(&self.get(&to_provider).await);
        assert!(to_app.starts_with(&format!("{}/callback?", self.base_url)));
        to_app
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(&format!("{}{path}", self.base_url)).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }
}

#[tokio::test]
async fn alice_logs_in_and_the_app_knows_who_she_is() {
    let t = spawn_app().await;
    let (_, home) = t.page("/").await;
    assert!(home.contains("Log in with Mock IdP"), "{home}");

    t.idp.next_login("alice"); // no login page: the provider answers as alice
    let callback = t.log_in_up_to_the_callback().await;
    assert_eq!(TestApp::redirect(&t.get(&callback).await), "/");

    let (status, home) = t.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home, "Signed in as Alice Adams");
    let me: serde_json::Value = t
        .get(&format!("{}/me", t.base_url))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["sub"], "248289761001");
    assert_eq!(me["email"], "alice@example.com");
}

#[tokio::test]
async fn without_logging_in_there_is_no_session() {
    let t = spawn_app().await;
    let (status, _) = t.page("/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_that_expired_before_the_callback_is_refused_and_no_session_is_made() {
    let t = spawn_app().await;
    t.idp.next_login("alice");
    let callback = t.log_in_up_to_the_callback().await;
    // The provider's clock, not the wall clock: codes live 60 s by default.
    t.idp.clock().advance(Duration::from_secs(61));

    let (status, body) = t.page(callback.trim_start_matches(&t.base_url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("invalid_grant"), "{body}");
    assert_eq!(t.page("/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_callback_replayed_from_another_browser_is_refused() {
    let t = spawn_app().await;
    t.idp.next_login("alice");
    let callback = t.log_in_up_to_the_callback().await;
    // An attacker's browser has no login_state cookie for this state (login CSRF, RFC 6749 §10.12).
    let other = reqwest::Client::new();
    let response = other.get(&callback).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

// The provider signs one id_token for another audience; the app must refuse it and make no session.
#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    use mock_idp::Fault;
    let t = spawn_app().await;
    let _fault = t
        .idp
        .fault(Fault::IdTokenWrongAud)
        .times(1)
        .for_client("login-app");
    t.idp.next_login("alice");
    let callback = t.log_in_up_to_the_callback().await;
    let (status, body) = t.page(callback.trim_start_matches(&t.base_url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("id_token"), "{body}");
    assert_eq!(t.page("/me").await.0, StatusCode::UNAUTHORIZED);

    // The fault was for one token only: the next login works.
    t.idp.next_login("alice");
    let callback = t.log_in_up_to_the_callback().await;
    assert_eq!(TestApp::redirect(&t.get(&callback).await), "/");
    assert_eq!(t.page("/").await.1, "Signed in as Alice Adams");
}
