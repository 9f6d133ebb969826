//! Tenants: complete, isolated providers under `/t/NAME` on one server.

use std::time::Duration;

use mock_idp::{Config, Fault, FaultSpec, Handle, MockIdp, UserConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A full login at `p` through its login page, then the code exchange; returns (code, token response).
async fn login_at(http: &reqwest::Client, p: &Handle, username: &str) -> (String, Value) {
    let page = read(
        http.get(p.authorization_endpoint())
            .query(&[
                ("client_id", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid profile"),
                ("state", "tenant-state"),
                ("nonce", "tenant-nonce"),
            ])
            .send()
            .await
            .expect("authorize"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let action = hidden_attr(&page.body, "action");
    assert_eq!(
        action,
        format!(
            "{}/authorize/login",
            url::Url::parse(p.issuer())
                .expect("url")
                .path()
                .trim_end_matches('/')
        )
    );
    let password = p
        .user(username)
        .map(|u| u.password.expose().to_owned())
        .expect("user");
    let login = read(
        http.post(p.url("/authorize/login"))
            .form(&[
                ("request_id", hidden(&page.body, "request_id").as_str()),
                ("csrf", &hidden(&page.body, "csrf")),
                ("username", username),
                ("password", &password),
                ("action", "login"),
            ])
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let location = login.location();
    assert_eq!(param(&location, "iss").as_deref(), Some(p.issuer()));
    let code = param(&location, "code").expect("code");
    let token = exchange_at(http, p, &code).await;
    (code, token.json())
}

async fn exchange_at(http: &reqwest::Client, p: &Handle, code: &str) -> Reply {
    read(
        http.post(p.token_endpoint())
            .header("authorization", basic(WEB, WEB_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", WEB_REDIRECT),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await
}

fn hidden_attr(html: &str, attr: &str) -> String {
    let marker = format!("{attr}=\"");
    let start = html.find(&marker).expect("attribute") + marker.len();
    let end = html[start..].find('"').expect("end") + start;
    // minijinja escapes `/` in attribute values as `&#x2f;`, which browsers read back as `/`.
    html[start..end].replace("&#x2f;", "/")
}

#[tokio::test]
async fn a_tenant_is_a_complete_provider_under_its_prefix_with_keys_of_its_own() {
    let idp = MockIdp::start(Config::builtin()).await.expect("start");
    let a = idp.create_tenant(Some("team-a"), None).expect("tenant");
    assert_eq!(a.issuer(), format!("{}/t/team-a", idp.issuer()));
    let http = browser();
    let doc = read(http.get(a.discovery_url()).send().await.expect("discovery"))
        .await
        .json();
    assert_eq!(doc["issuer"], a.issuer());
    assert_eq!(doc["token_endpoint"], format!("{}/token", a.issuer()));
    let (_, tokens) = login_at(&http, &a, "alice").await;
    let id = claims(tokens["id_token"].as_str().expect("id_token"));
    assert_eq!(id["iss"], a.issuer());
    assert_ne!(
        a.key_ids(),
        idp.key_ids(),
        "a tenant signs with keys of its own"
    );
    // The root is exactly as before.
    let root_doc = read(
        http.get(idp.discovery_url())
            .send()
            .await
            .expect("discovery"),
    )
    .await
    .json();
    assert_eq!(root_doc["issuer"], idp.issuer());
    assert_eq!(
        idp.tenant("team-a").map(|t| t.issuer().to_owned()),
        Some(a.issuer().to_owned())
    );
    assert!(idp.delete_tenant("team-a"));
    let gone = read(http.get(a.discovery_url()).send().await.expect("discovery")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_code_or_token_of_one_tenant_is_worthless_at_another() {
    let idp = MockIdp::start(Config::builtin()).await.expect("start");
    let a = idp.create_tenant(Some("a"), None).expect("a");
    let b = idp.create_tenant(Some("b"), None).expect("b");
    let http = browser();
    a.next_login("alice");
    let reply = read(
        http.get(a.authorization_endpoint())
            .query(&[
                ("client_id", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("authorize"),
    )
    .await;
    let code = param(&reply.location(), "code").expect("code");
    let at_b = exchange_at(&http, &b, &code).await;
    assert_eq!(at_b.error(), "invalid_grant");
    let (_, tokens) = login_at(&http, &a, "alice").await;
    let access = tokens["access_token"].as_str().expect("access");
    let userinfo = |p: &Handle| {
        let http = http.clone();
        let url = p.userinfo_endpoint();
        let access = access.to_owned();
        async move {
            http.get(url)
                .bearer_auth(access)
                .send()
                .await
                .expect("userinfo")
                .status()
        }
    };
    assert_eq!(userinfo(&a).await, StatusCode::OK);
    assert_eq!(userinfo(&b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        userinfo(&Handle::clone(&idp)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn two_tenants_used_at_once_see_neither_the_others_users_clocks_nor_faults() {
    let idp = MockIdp::start(Config::builtin()).await.expect("start");
    let a = idp.create_tenant(Some("a"), None).expect("a");
    let b = idp.create_tenant(Some("b"), None).expect("b");
    a.add_user(UserConfig::new("carol", "carol-password", "sub-carol"))
        .expect("user");
    a.arm(FaultSpec::new(Fault::IdTokenWrongAud))
        .expect("fault");
    b.clock().advance(Duration::from_secs(7200));
    let run = |p: Handle, user: &'static str| async move {
        let http = browser();
        let mut auds = Vec::new();
        for _ in 0..5 {
            let (_, tokens) = login_at(&http, &p, user).await;
            auds.push(claims(tokens["id_token"].as_str().expect("id_token"))["aud"].clone());
        }
        auds
    };
    let (at_a, at_b) = tokio::join!(run(a.clone(), "carol"), run(b.clone(), "alice"));
    assert!(at_a.iter().all(|aud| aud == "another-client"));
    assert!(at_b.iter().all(|aud| aud == "web"));
    assert!(b.user("carol").is_none());
    assert!(idp.user("carol").is_none());
    assert!(b.clock().now() >= a.clock().now() + 7190);
    for p in [&a, &b] {
        let log = p.requests();
        assert_eq!(log.iter().filter(|r| r.path == "/token").count(), 5);
    }
    assert!(idp.requests().is_empty(), "the root saw none of it");
}

#[tokio::test]
async fn tenants_come_from_the_config_file() {
    let config = Config::from_toml(
        r#"
        [[clients]]
        client_id = "web"
        client_secret = "web-secret"
        redirect_uris = ["http://127.0.0.1:3000/callback"]

        [[tenants]]
        name = "shop"
        signing_alg = "ES256"
        code_ttl = 30

        [[tenants.users]]
        username = "alice"
        password = "alice-password"
        sub = "shop-alice"

        [[tenants.clients]]
        client_id = "web"
        client_secret = "web-secret"
        redirect_uris = ["http://127.0.0.1:3000/callback"]
        "#,
    )
    .expect("config");
    let idp = MockIdp::start(config).await.expect("start");
    let shop = idp.tenant("shop").expect("tenant");
    assert_eq!(shop.config().code_ttl, 30);
    let (_, tokens) = login_at(&browser(), &shop, "alice").await;
    assert_eq!(
        claims(tokens["id_token"].as_str().expect("id_token"))["sub"],
        "shop-alice"
    );
    let bad = Config::from_toml("[[tenants]]\nname = \"x\"\ncode_tll = 3\n").expect_err("typo");
    assert!(bad.to_string().contains("code_tll"), "{bad}");
}

#[tokio::test]
async fn a_tenants_moved_jwks_is_served_under_its_prefix() {
    let idp = MockIdp::start(Config::builtin()).await.expect("start");
    let a = idp.create_tenant(Some("team-a"), None).expect("tenant");
    a.arm(FaultSpec::new(Fault::JwksMoved)).expect("arm");
    let http = browser();
    let doc = read(http.get(a.discovery_url()).send().await.expect("discovery"))
        .await
        .json();
    let moved = a.moved_jwks_uri();
    assert!(moved.starts_with(a.issuer()), "{moved}");
    assert_eq!(doc["jwks_uri"], moved.as_str());
    let keys = read(http.get(&moved).send().await.expect("jwks")).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    assert!(keys.json()["keys"][0]["kid"].is_string());
    let old = read(http.get(a.jwks_uri()).send().await.expect("jwks")).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}
