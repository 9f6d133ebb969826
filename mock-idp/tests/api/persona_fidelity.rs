//! The personas as their providers document them (issue 25): GitHub's token endpoint takes the app's
//! credentials as HTTP Basic, form fields or JSON and answers form, JSON or XML; its tokens are opaque
//! `gho_…` and do not expire by time (expiring `ghu_…` with a refresh token when a client lifetime asks for
//! them); its redirect rules are GitHub's; WeChat's lifetimes are 7,200 s and 30 days, and its code
//! exchange is taken as a POST form too.

use std::time::Duration;

use mock_idp::{ClientConfig, Config, Persona};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn github() -> TestIdp {
    spawn_idp_with(Config {
        persona: Persona::Github,
        ..Config::builtin()
    })
    .await
}

async fn github_code_for(t: &TestIdp, client: &str, redirect_uri: &str) -> Reply {
    t.idp.next_login("alice");
    read(
        t.http
            .get(t.idp.url("/login/oauth/authorize"))
            .query(&[
                ("client_id", client),
                ("redirect_uri", redirect_uri),
                ("state", "s"),
                ("scope", "read:user"),
            ])
            .send()
            .await
            .expect("authorize"),
    )
    .await
}

async fn code(t: &TestIdp) -> String {
    let reply = github_code_for(t, WEB, WEB_REDIRECT).await;
    param(&reply.location(), "code").expect("a code")
}

/// `POST /login/oauth/access_token` as `build` makes it, asking for JSON.
async fn exchange(
    t: &TestIdp,
    build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Reply {
    let request = t
        .http
        .post(t.idp.url("/login/oauth/access_token"))
        .header("accept", "application/json");
    read(build(request).send().await.expect("token")).await
}

async fn user(t: &TestIdp, token: &str) -> Reply {
    read(
        t.http
            .get(t.idp.url("/user"))
            .bearer_auth(token)
            .send()
            .await
            .expect("user"),
    )
    .await
}

#[tokio::test]
async fn github_takes_the_app_credentials_as_basic_form_fields_or_json_one_way_at_a_time() {
    let t = github().await;
    let basic_auth = basic(WEB, WEB_SECRET);
    let c = code(&t).await;
    let by_basic = exchange(&t, |r| {
        r.header("authorization", &basic_auth)
            .form(&[("code", c.as_str())])
    })
    .await;
    assert!(by_basic.json()["access_token"].is_string(), "{by_basic:?}");
    let c = code(&t).await;
    let by_json = exchange(&t, |r| {
        r.json(&json!({"client_id": WEB, "client_secret": WEB_SECRET, "code": c}))
    })
    .await;
    assert!(by_json.json()["access_token"].is_string(), "{by_json:?}");
    let c = code(&t).await;
    let by_form = exchange(&t, |r| {
        r.form(&[
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", c.as_str()),
        ])
    })
    .await;
    assert!(by_form.json()["access_token"].is_string(), "{by_form:?}");

    // Wrong, missing or doubly sent: incorrect_client_credentials, with HTTP 200; the code stays unspent.
    let c = code(&t).await;
    let wrong_basic = basic(WEB, "nope");
    let refusals = [
        exchange(&t, |r| {
            r.header("authorization", &wrong_basic)
                .form(&[("code", c.as_str())])
        })
        .await,
        exchange(&t, |r| {
            r.json(&json!({"client_id": WEB, "client_secret": "nope", "code": c}))
        })
        .await,
        exchange(&t, |r| r.form(&[("client_id", WEB), ("code", c.as_str())])).await,
        exchange(&t, |r| {
            r.header("authorization", &basic_auth).form(&[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", c.as_str()),
            ])
        })
        .await,
        exchange(&t, |r| {
            r.header("authorization", "Basic !!!")
                .form(&[("code", c.as_str())])
        })
        .await,
    ];
    for refused in refusals {
        assert_eq!(refused.status, StatusCode::OK);
        assert_eq!(
            refused.error(),
            "incorrect_client_credentials",
            "{refused:?}"
        );
    }
    let still = exchange(&t, |r| {
        r.header("authorization", &basic_auth)
            .form(&[("code", c.as_str())])
    })
    .await;
    assert!(still.json()["access_token"].is_string(), "{still:?}");
}

#[tokio::test]
async fn github_answers_form_json_or_xml_by_accept() {
    let t = github().await;
    let c = code(&t).await;
    let xml = read(
        t.http
            .post(t.idp.url("/login/oauth/access_token"))
            .header("accept", "application/xml")
            .form(&[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", c.as_str()),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert!(
        xml.header("content-type")
            .is_some_and(|c| c.starts_with("application/xml")),
        "{xml:?}"
    );
    assert!(
        xml.body.starts_with("<OAuth><access_token>gho_")
            && xml.body.contains("<token_type>bearer</token_type>")
            && xml.body.ends_with("</OAuth>"),
        "{}",
        xml.body
    );
    let error = read(
        t.http
            .post(t.idp.url("/login/oauth/access_token"))
            .header("accept", "application/xml")
            .form(&[
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", "x"),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert!(
        error.body.contains("<error>bad_verification_code</error>"),
        "{}",
        error.body
    );
}

#[tokio::test]
async fn github_tokens_are_opaque_gho_tokens_that_do_not_expire_and_are_revoked_by_a_replay() {
    let t = github().await;
    let c = code(&t).await;
    let form = [
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("code", c.as_str()),
    ];
    let answer = exchange(&t, |r| r.form(&form)).await.json();
    let token = answer["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(token.len(), 40, "{token}");
    assert!(token.starts_with("gho_"), "{token}");
    assert!(
        token[4..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{token}"
    );
    assert!(answer.get("expires_in").is_none(), "{answer}");
    assert!(answer.get("refresh_token").is_none(), "{answer}");

    let me = user(&t, &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login"], "alice");
    assert_eq!(me.header("x-oauth-scopes"), Some("read:user"));
    assert_eq!(me.header("x-accepted-oauth-scopes"), Some(""));
    // A month later it still works: OAuth-app tokens do not expire by time.
    t.idp.clock().advance(Duration::from_secs(30 * 86_400));
    assert_eq!(user(&t, &token).await.status, StatusCode::OK);
    // A forged token of the right shape is not one.
    assert_eq!(
        user(&t, &format!("gho_{}", "a".repeat(36))).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The code presented again: refused, and the token of its first redemption is revoked.
    let replay = exchange(&t, |r| r.form(&form)).await;
    assert_eq!(replay.error(), "bad_verification_code");
    assert_eq!(user(&t, &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_lifetime_gives_githubs_expiring_user_tokens_with_a_rotating_refresh_token() {
    let t = github().await;
    let mut client = ClientConfig::confidential("expiring", "expiring-secret", WEB_REDIRECT);
    client.access_token_ttl = Some(28_800);
    t.idp.add_client(client).expect("client");
    let reply = github_code_for(&t, "expiring", WEB_REDIRECT).await;
    let c = param(&reply.location(), "code").expect("code");
    let auth = basic("expiring", "expiring-secret");
    let answer = exchange(&t, |r| {
        r.header("authorization", &auth)
            .form(&[("code", c.as_str())])
    })
    .await
    .json();
    let token = answer["access_token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("ghu_") && token.len() == 40, "{answer}");
    assert_eq!(answer["expires_in"], 28_800);
    assert_eq!(answer["refresh_token_expires_in"], 15_897_600);
    let refresh = answer["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert!(
        refresh.starts_with("ghr_") && refresh.len() == 80,
        "{refresh}"
    );

    t.idp.clock().advance(Duration::from_secs(28_801));
    assert_eq!(user(&t, &token).await.status, StatusCode::UNAUTHORIZED);
    let refreshed = exchange(&t, |r| {
        r.header("authorization", &auth).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
    })
    .await
    .json();
    let second = refreshed["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(user(&t, &second).await.status, StatusCode::OK);
    assert_ne!(refreshed["refresh_token"], json!(refresh));
    // The spent refresh token again: bad_refresh_token, and its family is revoked.
    let replay = exchange(&t, |r| {
        r.header("authorization", &auth).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
    })
    .await;
    assert_eq!(replay.error(), "bad_refresh_token");
    assert_eq!(user(&t, &second).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn github_redirects_as_github_documents_and_nowhere_else() {
    let t = github().await;
    t.idp
        .add_client(ClientConfig::confidential(
            "site",
            "site-secret",
            "https://app.example.com/path",
        ))
        .expect("client");
    for good in [
        "https://app.example.com/path",
        "https://app.example.com/path/subdir/other",
        "https://oauth.app.example.com/path",
    ] {
        let reply = github_code_for(&t, "site", good).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{good}");
        assert!(reply.location().as_str().starts_with(good), "{good}");
    }
    for bad in [
        "https://app.example.com/bar",
        "https://app.example.com/",
        "https://app.example.com:8080/path",
        "https://oauth.app.example.com:8080/path",
        "https://app.example.org/path",
        "https://evilapp.example.com/path",
        "http://app.example.com/path",
        "https://user@app.example.com/path",
    ] {
        let reply = github_code_for(&t, "site", bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.header("location").is_none(), "{bad}");
    }
    // A loopback callback takes any port (GitHub's "Loopback redirect urls"), not another path or host.
    let reply = github_code_for(&t, WEB, "http://127.0.0.1:51234/callback").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let c = param(&reply.location(), "code").expect("code");
    // The token request must then name that redirect URI, not the registered one.
    let wrong = exchange(&t, |r| {
        r.form(&[
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", c.as_str()),
            ("redirect_uri", WEB_REDIRECT),
        ])
    })
    .await;
    assert_eq!(wrong.error(), "redirect_uri_mismatch");
    for bad in [
        "http://127.0.0.1:51234/other",
        "http://127.0.0.2:3000/callback",
    ] {
        let reply = github_code_for(&t, WEB, bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn wechat() -> TestIdp {
    spawn_idp_with(Config {
        persona: Persona::Wechat,
        ..Config::builtin()
    })
    .await
}

async fn wechat_code(t: &TestIdp) -> String {
    t.idp.next_login("alice");
    let reply = read(
        t.http
            .get(t.idp.url("/connect/qrconnect"))
            .query(&[
                ("appid", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "snsapi_login"),
                ("state", "s"),
            ])
            .send()
            .await
            .expect("qrconnect"),
    )
    .await;
    param(&reply.location(), "code").expect("code")
}

#[tokio::test]
async fn wechat_tokens_live_7200_seconds_and_refresh_tokens_30_days() {
    let t = wechat().await;
    let c = wechat_code(&t).await;
    let answer = read(
        t.http
            .get(t.idp.url("/sns/oauth2/access_token"))
            .query(&[
                ("appid", WEB),
                ("secret", WEB_SECRET),
                ("code", c.as_str()),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await
    .json();
    assert_eq!(answer["expires_in"], 7_200, "{answer}");
    let refresh = answer["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    t.idp.clock().advance(Duration::from_secs(29 * 86_400));
    let refreshed = read(
        t.http
            .get(t.idp.url("/sns/oauth2/refresh_token"))
            .query(&[
                ("appid", WEB),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .expect("refresh"),
    )
    .await
    .json();
    assert!(refreshed["access_token"].is_string(), "{refreshed}");
    let next = refreshed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    t.idp.clock().advance(Duration::from_secs(31 * 86_400));
    let expired = read(
        t.http
            .get(t.idp.url("/sns/oauth2/refresh_token"))
            .query(&[
                ("appid", WEB),
                ("grant_type", "refresh_token"),
                ("refresh_token", next.as_str()),
            ])
            .send()
            .await
            .expect("refresh"),
    )
    .await
    .json();
    assert_eq!(expired["errcode"], 42002, "{expired}");
}

#[tokio::test]
async fn wechat_takes_the_code_exchange_as_a_post_form_too_with_the_same_checks() {
    let t = wechat().await;
    let c = wechat_code(&t).await;
    let post = |secret: &'static str, code: String| {
        let http = t.http.clone();
        let url = t.idp.url("/sns/oauth2/access_token");
        async move {
            read(
                http.post(url)
                    .form(&[
                        ("appid", WEB),
                        ("secret", secret),
                        ("code", code.as_str()),
                        ("grant_type", "authorization_code"),
                    ])
                    .send()
                    .await
                    .expect("token"),
            )
            .await
            .json()
        }
    };
    let wrong: Value = post("nope", c.clone()).await;
    assert_eq!(wrong["errcode"], 40125, "{wrong}");
    let ok: Value = post(WEB_SECRET, c.clone()).await;
    assert_eq!(ok["openid"], "openid-web-alice", "{ok}");
    let replay: Value = post(WEB_SECRET, c).await;
    assert_eq!(replay["errcode"], 40163, "{replay}");
}

#[tokio::test]
async fn an_app_revokes_its_github_token_through_githubs_api() {
    let t = github().await;
    let c = code(&t).await;
    let token = exchange(&t, |r| {
        r.form(&[
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", c.as_str()),
        ])
    })
    .await
    .json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let revoke = |authorization: String, token: String| {
        let http = t.http.clone();
        let url = t.idp.url(&format!("/applications/{WEB}/token"));
        async move {
            http.delete(url)
                .header("authorization", authorization)
                .json(&json!({ "access_token": token }))
                .send()
                .await
                .expect("revoke")
                .status()
        }
    };
    assert_eq!(
        revoke(basic(WEB, "nope"), token.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        revoke(basic("web-post", "web-post-secret"), token.clone()).await,
        StatusCode::UNAUTHORIZED,
        "another app's credentials for this app's path"
    );
    assert_eq!(user(&t, &token).await.status, StatusCode::OK);
    assert_eq!(
        revoke(basic(WEB, WEB_SECRET), token.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(user(&t, &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoke(basic(WEB, WEB_SECRET), token).await,
        StatusCode::NOT_FOUND
    );
}
