//! A Microsoft Entra ID provider (`kind = "entra"`) against mock-idp's Entra persona (tenant `entra`):
//! the templated issuer with the token's `tid` put in and compared exactly (ENTRA-ISSUER), the tenant
//! allow-list (ENTRA-TENANT), (`iss`, `sub`) as the identity, never the email (ENTRA-IDENTITY-KEY), and v1
//! issuers refused (ENTRA-V1-ISSUER).

use mock_idp::{ClientConfig, Config, ENTRA_DEFAULT_TENANT, Fault, Handle, Persona, UserConfig};
use reference_client::UnknownUserPolicy;
use reference_client::config::{ProviderKind, ProviderSettings, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{
    CLIENT_ID, CLIENT_SECRET, TestApp, assert_error, browser, query_map, spawn_app_with,
};

const CONTOSO: &str = "11111111-2222-4333-8444-555555555555";

/// An app offering "Microsoft" at path tenant `tenant` of the mock-idp tenant `entra`, with these allowed
/// tenants (`None`: multi-tenant), auto-creating users. Mallory belongs to Contoso and her tenant set
/// her `email` to Alice's address.
async fn spawn_entra(tenant: &str, allowed: Option<&[&str]>) -> (TestApp, Handle) {
    let tenant = tenant.to_owned();
    let allowed = allowed.map(|a| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    let app = spawn_app_with(move |s| {
        s.unknown_user_policy = UnknownUserPolicy::AutoCreate;
        let base = Url::parse(&format!("{}/t/entra", s.issuer)).expect("url");
        s.providers = vec![ProviderSettings {
            name: "Microsoft".into(),
            kind: ProviderKind::Entra {
                base,
                tenant,
                client_id: CLIENT_ID.into(),
                client_secret: Secret::new(CLIENT_SECRET),
                scopes: vec!["openid".into(), "profile".into(), "email".into()],
                allowed_tenants: allowed,
            },
            unknown_user_policy: None,
        }];
    })
    .await;
    let mut config = Config {
        persona: Persona::Entra,
        issuer: None,
        ..Config::builtin()
    };
    config.clients = vec![ClientConfig::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("{}/callback", app.address),
    )];
    let mut mallory = UserConfig::new("mallory", "m-password", "mallory-sub");
    mallory.name = Some("Mallory Contoso".into());
    mallory.email = Some("alice@example.com".into());
    mallory.tid = Some(CONTOSO.into());
    config.users.push(mallory);
    let entra = app
        .idp()
        .create_tenant(Some("entra"), Some(config))
        .expect("tenant");
    (app, entra)
}

/// A login through "Microsoft" for `username`: the callback's answer.
async fn login(app: &TestApp, entra: &Handle, username: &str) -> reqwest::Response {
    let browser = browser();
    entra.next_login(username);
    let started = browser
        .get(format!("{}/api/auth/login-url", app.address))
        .query(&[("provider", "Microsoft")])
        .send()
        .await
        .expect("login-url");
    assert_eq!(
        started.status(),
        StatusCode::OK,
        "{:?}",
        started.text().await
    );
    let body: Value = started.json().await.expect("json");
    let url = Url::parse(body["url"].as_str().expect("url")).expect("url");
    assert!(
        url.path().ends_with("/oauth2/v2.0/authorize"),
        "{url} is not Entra's authorization endpoint"
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
    assert!(!q.contains_key("iss"), "Entra sends no iss");
    let mut callback = json!({"code": q.get("code"), "state": q.get("state")});
    if let Some(error) = q.get("error") {
        callback["error"] = json!(error);
    }
    app.post_callback(&browser, &callback).await
}

async fn profile(app: &TestApp, response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    app.get_me(token).await.json().await.expect("json")
}

// ENTRA-ISSUER: a login at `common` is checked against the template with the token's tid.
#[tokio::test]
async fn a_login_at_common_keys_the_identity_on_the_tenants_issuer_and_sub() {
    let (app, entra) = spawn_entra("common", Some(&[ENTRA_DEFAULT_TENANT])).await;
    let before = app.user_count();
    let me = profile(&app, login(&app, &entra, "alice").await).await;
    assert_eq!(me["display_name"], "Alice Adams");
    assert_eq!(app.user_count(), before + 1);
    // The same user again is the same account.
    profile(&app, login(&app, &entra, "alice").await).await;
    assert_eq!(app.user_count(), before + 1);
    // The login page offers "Log in with Microsoft", of kind entra.
    let list: Value = app
        .get("/api/auth/providers")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list[0]["name"], "Microsoft");
    assert_eq!(list[0]["kind"], "entra");
}

// ENTRA-ISSUER: an iss that names another tenant than the token's tid is refused.
#[tokio::test]
async fn an_issuer_of_another_tenant_than_the_tid_is_refused_even_multi_tenant() {
    let (app, entra) = spawn_entra("common", None).await;
    entra.fault(Fault::EntraTidMismatch).once();
    assert_error(
        login(&app, &entra, "alice").await,
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
}

// ENTRA-TENANT: a correctly signed token from an unlisted tenant does not log in; a multi-tenant app
// (explicit policy) takes it.
#[tokio::test]
async fn a_token_from_an_unlisted_tenant_does_not_log_in() {
    let (app, entra) = spawn_entra("common", Some(&[ENTRA_DEFAULT_TENANT])).await;
    let before = app.user_count();
    entra.fault(Fault::EntraOtherTenant).once();
    assert_error(
        login(&app, &entra, "alice").await,
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
    assert_error(
        login(&app, &entra, "mallory").await,
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
    assert_eq!(app.user_count(), before);

    let (app, entra) = spawn_entra("common", None).await;
    entra.fault(Fault::EntraOtherTenant).once();
    profile(&app, login(&app, &entra, "alice").await).await;
}

// ENTRA-V1-ISSUER: the v1 issuer, a prefix of the v2 one, is refused.
#[tokio::test]
async fn a_v1_issuer_is_refused() {
    let (app, entra) = spawn_entra("common", Some(&[ENTRA_DEFAULT_TENANT])).await;
    entra.fault(Fault::EntraV1Issuer).once();
    assert_error(
        login(&app, &entra, "alice").await,
        StatusCode::UNAUTHORIZED,
        "invalid_id_token",
    )
    .await;
    profile(&app, login(&app, &entra, "alice").await).await;
}

// ENTRA-IDENTITY-KEY: another tenant's user whose email is Alice's address is another identity (nOAuth).
#[tokio::test]
async fn an_email_from_another_tenant_never_takes_over_an_account() {
    let (app, entra) = spawn_entra("organizations", Some(&[ENTRA_DEFAULT_TENANT, CONTOSO])).await;
    let alice = profile(&app, login(&app, &entra, "alice").await).await;
    let count = app.user_count();
    let mallory = profile(&app, login(&app, &entra, "mallory").await).await;
    assert_eq!(mallory["display_name"], "Mallory Contoso");
    assert_ne!(mallory["id"], alice["id"]);
    assert_eq!(app.user_count(), count + 1);
    // The fault form: Bob's token carries an address of another tenant's user.
    entra.fault(Fault::EntraEmailOfOtherTenant).once();
    let bob = profile(&app, login(&app, &entra, "bob").await).await;
    assert_ne!(bob["id"], alice["id"]);
    assert_ne!(bob["id"], mallory["id"]);
}

// A tenant GUID path: discovery names that tenant's issuer, and only its users log in.
#[tokio::test]
async fn a_single_tenant_app_signs_in_its_tenants_users_only() {
    let (app, entra) = spawn_entra(ENTRA_DEFAULT_TENANT, Some(&[ENTRA_DEFAULT_TENANT])).await;
    profile(&app, login(&app, &entra, "alice").await).await;
    // Mallory is not in this tenant: the provider refuses her (AADSTS50020), and so does the app.
    let count = app.user_count();
    let refused = login(&app, &entra, "mallory").await;
    assert_ne!(refused.status(), StatusCode::OK);
    assert_eq!(app.user_count(), count);
}
