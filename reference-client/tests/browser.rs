//! The whole login in a real browser: headless Chromium driven through ChromeDriver clicks the app's login
//! link, types alice's password into mock-idp's login page, and lands back on the app, whose frontend posts
//! the code to the backend and shows the profile from the app's own database.
//!
//! Needs Debian's `chromium` and `chromium-driver`, so it is `#[ignore]`d in a plain `cargo test` (which must
//! pass with only the Rust toolchain); `.ci/run` installs both and runs it with `-- --ignored`.
//! Everything is on 127.0.0.1; every wait is bounded.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use fantoccini::{Client, Locator};
use mock_idp::{ClientConfig, Config, MockIdp};
use reference_client::{Application, Settings, clock::Clock, config::Secret};
use test_support::{BrowserOptions, TempDir, start_browser};

/// Polls `probe` every 50 ms until it yields a value, for at most 15 s; then fails naming `what` and the page.
async fn eventually<T>(
    browser: &Client,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() > deadline {
            let url = browser
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = browser.source().await.unwrap_or_default();
            panic!("{what} never happened at {url}:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The non-empty text of the element `css` matches, once there is one.
async fn text_of(browser: &Client, css: &str) -> String {
    eventually(browser, &format!("text in {css}"), async || {
        let text = browser
            .find(Locator::Css(css))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (!text.trim().is_empty()).then_some(text)
    })
    .await
}

/// The element `css` matches, once it is displayed.
async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    eventually(browser, &format!("{css} displayed"), async || {
        let el = browser.find(Locator::Css(css)).await.ok()?;
        el.is_displayed().await.unwrap_or(false).then_some(el)
    })
    .await
}

struct Stack {
    _idp: MockIdp,
    app_url: String,
    _db_dir: TempDir,
}

async fn start_stack() -> Stack {
    start_stack_with(|_, _, settings| settings.seed_demo_users = true)
        .await
        .0
}

/// mock-idp and the reference client on 127.0.0.1, the app registered as `browser-app` (logout URIs
/// included) with a database of its own; `customise` sees the provider, the callback URL and the settings
/// before the app starts, and what it returns comes back beside the stack.
async fn start_stack_with<T>(
    customise: impl FnOnce(&MockIdp, &str, &mut Settings) -> T,
) -> (Stack, T) {
    start_stack_on("127.0.0.1", customise).await
}

/// As [`start_stack_with`], with mock-idp listening on `idp_host` (`127.0.0.2` puts it on another site
/// than the app, as a real provider is).
async fn start_stack_on<T>(
    idp_host: &str,
    customise: impl FnOnce(&MockIdp, &str, &mut Settings) -> T,
) -> (Stack, T) {
    let mut config = Config::builtin();
    config.address = format!("{idp_host}:0").parse().expect("address");
    let idp = MockIdp::start(config).await.expect("idp");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app_url = format!("http://127.0.0.1:{port}");
    let callback = format!("{app_url}/callback");
    idp.add_client(
        ClientConfig::confidential("browser-app", "browser-app-secret", &callback)
            .with_post_logout_redirect_uri(&format!("{app_url}/"))
            .with_backchannel_logout_uri(&format!("{app_url}/backchannel-logout")),
    )
    .expect("client");
    let db_dir = TempDir::new("rc-browser");
    let mut settings = Settings::builtin();
    settings.issuer = idp.issuer().to_owned();
    settings.client_id = "browser-app".into();
    settings.client_secret = Secret::new("browser-app-secret");
    settings.redirect_uri = url::Url::parse(&callback).expect("url");
    settings.database = db_dir.path().join("app.db");
    settings.jwt_key = Secret::new("browser-test-key-0123456789-0123456789-abcdef");
    settings.uses_dev_jwt_key = false;
    settings.seed_demo_users = false;
    let extra = customise(&idp, &callback, &mut settings);
    let app = Application::build_with_listener(settings, listener, Clock::system()).expect("app");
    tokio::spawn(app.run_until_stopped());
    let stack = Stack {
        _idp: idp,
        app_url,
        _db_dir: db_dir,
    };
    (stack, extra)
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn alice_logs_in_through_the_login_page_and_sees_her_admin_profile() {
    let stack = start_stack().await;
    let (_driver, browser) = start_browser(BrowserOptions::default()).await;

    browser
        .goto(&format!("{}/", stack.app_url))
        .await
        .expect("open the app");
    wait_for(&browser, "#login")
        .await
        .click()
        .await
        .expect("click Log in");

    // mock-idp's login page.
    wait_for(&browser, "input[name=username]")
        .await
        .send_keys("alice")
        .await
        .expect("type username");
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("alice-password")
        .await
        .expect("type");
    browser
        .find(Locator::Css("button[value=login]"))
        .await
        .expect("sign in button")
        .click()
        .await
        .expect("sign in");

    // Back on the app: the frontend posted code + state to the backend and shows the profile.
    assert_eq!(text_of(&browser, "#name").await, "Alice Adams");
    assert_eq!(text_of(&browser, "#role").await, "admin");
    let url = browser.current_url().await.expect("url").to_string();
    assert!(
        !url.contains("code=") && !url.contains("eyJ"),
        "neither code nor JWT stays in the URL: {url}"
    );
    browser.close().await.expect("close");
}

// ST-FORM-POST: mock-idp on another site (127.0.0.2) POSTs the response to the app's callback page, whose
// script hands it to the API same-origin; the SameSite=Lax transaction cookie goes with that call.
#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn a_form_post_login_from_another_site_completes_with_the_lax_transaction_cookie() {
    let (stack, ()) = start_stack_on("127.0.0.2", |_, _, settings| {
        settings.seed_demo_users = true;
        settings.response_mode = reference_client::config::ResponseMode::FormPost;
    })
    .await;
    let (_driver, browser) = start_browser(BrowserOptions::default()).await;
    browser
        .goto(&format!("{}/", stack.app_url))
        .await
        .expect("open the app");
    wait_for(&browser, "#login")
        .await
        .click()
        .await
        .expect("click Log in");
    let at_provider = browser.current_url().await.expect("url").to_string();
    assert!(
        at_provider.starts_with("http://127.0.0.2:")
            && at_provider.contains("response_mode=form_post"),
        "{at_provider}"
    );
    sign_in_as_alice(&browser).await;
    assert_eq!(text_of(&browser, "#name").await, "Alice Adams");
    let url = browser.current_url().await.expect("url").to_string();
    assert!(!url.contains("code="), "{url}");
    browser.close().await.expect("close");
}

/// Types alice's credentials into mock-idp's login page and signs in.
async fn sign_in_as_alice(browser: &Client) {
    wait_for(browser, "input[name=username]")
        .await
        .send_keys("alice")
        .await
        .expect("type username");
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("alice-password")
        .await
        .expect("type");
    browser
        .find(Locator::Css("button[value=login]"))
        .await
        .expect("sign in button")
        .click()
        .await
        .expect("sign in");
}

// LO-RP-INITIATED
#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn logging_out_ends_both_sessions_and_the_next_login_shows_the_login_page_again() {
    let stack = start_stack().await;
    let (_driver, browser) = start_browser(BrowserOptions::default()).await;
    browser
        .goto(&format!("{}/", stack.app_url))
        .await
        .expect("open the app");
    wait_for(&browser, "#login")
        .await
        .click()
        .await
        .expect("click Log in");
    sign_in_as_alice(&browser).await;
    assert_eq!(text_of(&browser, "#role").await, "admin");

    // Log out: the app, then the provider's end-session endpoint, then back to the app's start page.
    wait_for(&browser, "#logout")
        .await
        .click()
        .await
        .expect("click Log out");
    let back = eventually(&browser, "the return to the app, logged out", async || {
        let url = browser.current_url().await.ok()?;
        let anonymous = browser
            .find(Locator::Css("#anonymous"))
            .await
            .ok()?
            .is_displayed()
            .await
            .unwrap_or(false);
        // Back from the provider, not merely the page showing "logged out" before it navigates away.
        (url.as_str().starts_with(&stack.app_url) && url.query().is_some() && anonymous)
            .then_some(url)
    })
    .await;
    assert!(
        back.query_pairs()
            .any(|(k, v)| k == "state" && v.len() >= 16),
        "the provider echoed the app's state: {back}"
    );
    let token = browser
        .execute(
            "return JSON.stringify(Object.assign({}, sessionStorage));",
            vec![],
        )
        .await
        .expect("read sessionStorage");
    assert!(
        !token.to_string().contains("eyJ"),
        "the JWT is gone: {token}"
    );

    // Logging in again asks for the password again at the provider.
    wait_for(&browser, "#login")
        .await
        .click()
        .await
        .expect("click Log in");
    wait_for(&browser, "input[name=password]").await;
    sign_in_as_alice(&browser).await;
    assert_eq!(text_of(&browser, "#name").await, "Alice Adams");
    browser.close().await.expect("close");
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn pressing_deny_shows_an_error_and_logs_nobody_in() {
    let stack = start_stack().await;
    let (_driver, browser) = start_browser(BrowserOptions::default()).await;

    browser
        .goto(&format!("{}/", stack.app_url))
        .await
        .expect("open the app");
    wait_for(&browser, "#login")
        .await
        .click()
        .await
        .expect("click Log in");
    wait_for(&browser, "button[value=deny]")
        .await
        .click()
        .await
        .expect("deny");

    let message = text_of(&browser, "#message").await;
    assert!(
        message.to_lowercase().contains("denied") || message.contains("access_denied"),
        "{message}"
    );
    let token = browser
        .execute(
            "return JSON.stringify(Object.assign({}, sessionStorage));",
            vec![],
        )
        .await
        .expect("read sessionStorage");
    assert!(
        !token.to_string().contains("eyJ"),
        "no app JWT stored: {token}"
    );
    browser.close().await.expect("close");
}

/// The stack with a WeChat persona (a tenant of the same mock-idp) offered beside the OpenID root;
/// unknown WeChat users are auto-created.
async fn start_stack_with_wechat() -> (Stack, mock_idp::Handle) {
    use reference_client::UnknownUserPolicy;
    use reference_client::config::{ProviderKind, ProviderSettings};
    start_stack_with(|idp, callback, settings| {
        let wechat = idp
            .create_tenant(
                Some("wechat"),
                Some(Config {
                    persona: mock_idp::Persona::Wechat,
                    issuer: None,
                    clients: vec![ClientConfig::confidential("wx-app", "wx-secret", callback)],
                    ..Config::builtin()
                }),
            )
            .expect("wechat tenant");
        let base = url::Url::parse(wechat.issuer()).expect("url");
        let mut providers = settings.effective_providers();
        providers.push(ProviderSettings {
            name: "WeChat".into(),
            kind: ProviderKind::Wechat {
                appid: "wx-app".into(),
                secret: Secret::new("wx-secret"),
                authorize_base: base.clone(),
                api_base: base,
            },
            unknown_user_policy: Some(UnknownUserPolicy::AutoCreate),
        });
        settings.providers = providers;
        wechat
    })
    .await
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn alice_logs_in_with_wechat_and_sees_her_wechat_name_and_avatar() {
    let (stack, wechat) = start_stack_with_wechat().await;
    let (_driver, browser) = start_browser(BrowserOptions::default()).await;

    browser
        .goto(&format!("{}/", stack.app_url))
        .await
        .expect("open the app");
    assert_eq!(text_of(&browser, "#login").await, "Log in with mock-idp");
    let button = wait_for(&browser, "a[data-provider=WeChat]").await;
    assert_eq!(button.text().await.expect("text"), "Log in with WeChat");
    button.click().await.expect("click Log in with WeChat");

    // The WeChat persona's login page (mock-idp's page under /connect/qrconnect).
    wait_for(&browser, "input[name=username]")
        .await
        .send_keys("alice")
        .await
        .expect("type username");
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("alice-password")
        .await
        .expect("type");
    browser
        .find(Locator::Css("button[value=login]"))
        .await
        .expect("sign in button")
        .click()
        .await
        .expect("sign in");

    // Back on the app: a new user with WeChat's nickname and headimgurl, which mock-idp serves itself.
    assert_eq!(text_of(&browser, "#name").await, "Alice Adams");
    assert_eq!(text_of(&browser, "#role").await, "user");
    let avatar = wait_for(&browser, "#avatar").await;
    assert_eq!(
        avatar.attr("src").await.expect("src").as_deref(),
        Some(wechat.avatar_url("alice").as_str())
    );
    let loaded = eventually(&browser, "the avatar loaded", async || {
        let width = browser
            .execute(
                "return document.getElementById('avatar').naturalWidth;",
                vec![],
            )
            .await
            .ok()?;
        (width.as_u64().unwrap_or(0) > 0).then_some(width)
    })
    .await;
    assert_eq!(
        loaded,
        serde_json::json!(64),
        "the generated SVG is 64 px wide"
    );
    assert!(
        wechat
            .requests()
            .iter()
            .any(|r| r.path == "/sns/userinfo" && r.status == 200),
        "the name came from WeChat's user API"
    );
    browser.close().await.expect("close");
}

// APPLE-FORM-POST, APPLE-USER-BLOB: "Log in with Apple" through the apple persona on another site
// (127.0.0.2). Its form_post page POSTs the response cross-site to the app's callback page, whose script
// hands it to the API same-origin with the SameSite=Lax transaction cookie. The first login's `user` field
// names the new account; the second login, in a fresh browser, carries no `user` field and finds the same
// account with that name.
#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run installs them and runs this with --ignored"]
async fn alice_logs_in_with_apple_by_form_post_and_keeps_her_first_login_name() {
    use reference_client::UnknownUserPolicy;
    use reference_client::config::{ProviderKind, ProviderSettings};
    const KEY: &str = include_str!("../../mock-idp/fixtures/keys/test-only-ec.pem");
    let (stack, apple) = start_stack_on("127.0.0.2", |idp, callback, settings| {
        let public = mock_idp::SigningKey::from_pem(mock_idp::SigningAlg::ES256, KEY, "RCKEY")
            .expect("key")
            .public_pem()
            .expect("pem");
        let apple = idp
            .create_tenant(
                Some("apple"),
                Some(Config {
                    persona: mock_idp::Persona::Apple,
                    issuer: None,
                    clients: vec![ClientConfig {
                        client_id: "com.example.browser".into(),
                        redirect_uris: vec![callback.to_owned()],
                        grant_types: vec![mock_idp::GrantType::AuthorizationCode],
                        token_endpoint_auth_method: mock_idp::AuthMethod::ClientSecretPost,
                        team_id: Some("BROWSERTM1".into()),
                        client_secret_keys: vec![mock_idp::ClientSecretKey {
                            kid: "RCKEY".into(),
                            public_key_pem: public,
                        }],
                        ..ClientConfig::default()
                    }],
                    ..Config::builtin()
                }),
            )
            .expect("apple tenant");
        let mut providers = settings.effective_providers();
        providers.push(ProviderSettings {
            name: "Apple".into(),
            kind: ProviderKind::Apple {
                client_id: "com.example.browser".into(),
                team_id: "BROWSERTM1".into(),
                key_id: "RCKEY".into(),
                private_key: Secret::new(KEY),
                base_url: url::Url::parse(apple.issuer()).expect("url"),
                scopes: vec!["name".into(), "email".into()],
            },
            unknown_user_policy: Some(UnknownUserPolicy::AutoCreate),
        });
        settings.providers = providers;
        apple
    })
    .await;
    for round in ["first", "second"] {
        let (_driver, browser) = start_browser(BrowserOptions::default()).await;
        browser
            .goto(&format!("{}/", stack.app_url))
            .await
            .expect("open the app");
        let button = wait_for(&browser, "a[data-provider=Apple]").await;
        assert_eq!(button.text().await.expect("text"), "Log in with Apple");
        button.click().await.expect("click Log in with Apple");
        let at_apple = eventually(&browser, "the Apple login page", async || {
            let url = browser.current_url().await.ok()?.to_string();
            url.starts_with("http://127.0.0.2:").then_some(url)
        })
        .await;
        assert!(at_apple.contains("response_mode=form_post"), "{at_apple}");
        sign_in_as_alice(&browser).await;
        // The name the first login's `user` field gave; on the second login no field came.
        assert_eq!(text_of(&browser, "#name").await, "Alice Adams", "{round}");
        assert_eq!(text_of(&browser, "#role").await, "user", "{round}");
        let url = browser.current_url().await.expect("url").to_string();
        assert!(!url.contains("code="), "{url}");
        browser.close().await.expect("close");
    }
    assert_eq!(
        apple
            .requests()
            .iter()
            .filter(|r| r.path == "/auth/token" && r.status == 200)
            .count(),
        2,
        "two logins, each with its own client secret"
    );
}
