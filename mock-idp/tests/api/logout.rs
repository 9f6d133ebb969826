//! The end-session endpoint and back-channel logout (CONFORMANCE LO-RP-INITIATED, LO-BACKCHANNEL).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Form, Router, extract::State, http::StatusCode as AxumStatus, routing::post};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use mock_idp::{ClientConfig, Config};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const AFTER_LOGOUT: &str = "http://127.0.0.1:3000/";

/// A back-channel endpoint on a random port that keeps every logout token it receives and answers after
/// `delay`.
struct Receiver {
    uri: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

#[derive(serde::Deserialize)]
struct LogoutForm {
    logout_token: String,
}

async fn receiver(delay: Duration) -> Receiver {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/bc",
            post(
                move |State(t): State<Arc<Mutex<Vec<String>>>>, Form(f): Form<LogoutForm>| async move {
                    tokio::time::sleep(delay).await;
                    t.lock().expect("lock").push(f.logout_token);
                    AxumStatus::OK
                },
            ),
        )
        .with_state(tokens.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let uri = format!("http://{}/bc", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { uri, tokens }
}

/// The built-in provider with the web client registered for logout at `backchannel` (if any).
async fn idp_with_logout(backchannel: Option<&str>) -> TestIdp {
    let t = spawn_idp_with(Config::builtin()).await;
    let mut web = ClientConfig::confidential(WEB, WEB_SECRET, WEB_REDIRECT)
        .with_post_logout_redirect_uri(AFTER_LOGOUT);
    web.backchannel_logout_uri = backchannel.map(str::to_owned);
    t.idp.add_client(web).expect("client");
    t
}

/// Logs alice in headlessly and returns her id_token.
async fn id_token(t: &TestIdp) -> String {
    let code = t.code_for("alice", &[]).await;
    let reply = t.exchange(&code).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned()
}

async fn end_session(t: &TestIdp, params: &[(&str, &str)]) -> Reply {
    let mut url = url::Url::parse(&t.idp.end_session_endpoint()).expect("url");
    url.query_pairs_mut().extend_pairs(params);
    read(t.http.get(url).send().await.expect("logout")).await
}

/// Verifies a logout token against the provider's JWKS, as a client does (Back-Channel §2.6).
async fn verified(t: &TestIdp, token: &str) -> (jsonwebtoken::Header, Value) {
    let jwks: JwkSet = t
        .http
        .get(t.idp.jwks_uri())
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid in JWKS");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[WEB]);
    v.set_issuer(&[t.idp.issuer()]);
    v.set_required_spec_claims(&["iss", "aud", "iat"]);
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("a valid signature");
    (header, data.claims)
}

#[tokio::test]
async fn discovery_advertises_the_end_session_endpoint_and_back_channel_logout() {
    let t = spawn_idp().await;
    let meta = read(t.http.get(t.idp.discovery_url()).send().await.expect("get"))
        .await
        .json();
    assert_eq!(meta["end_session_endpoint"], t.idp.end_session_endpoint());
    assert_eq!(meta["backchannel_logout_supported"], true);
    assert_eq!(meta["backchannel_logout_session_supported"], true);
}

// LO-RP-INITIATED
#[tokio::test]
async fn logout_redirects_to_the_registered_uri_with_state_echoed_exactly() {
    let t = idp_with_logout(None).await;
    let hint = id_token(&t).await;
    let st = "a b&c=d/é?";
    let reply = end_session(
        &t,
        &[
            ("id_token_hint", &hint),
            ("client_id", WEB),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", st),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    let to = reply.location();
    assert_eq!(to.as_str().split('?').next(), Some(AFTER_LOGOUT));
    assert_eq!(param(&to, "state").as_deref(), Some(st));
    let cookie = reply.header("set-cookie").expect("cookie cleared");
    assert!(
        cookie.starts_with("mockidp_browser=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}

// LO-RP-INITIATED
#[tokio::test]
async fn an_id_token_sent_by_post_works_as_well() {
    let t = idp_with_logout(None).await;
    let hint = id_token(&t).await;
    let reply = read(
        t.http
            .post(t.idp.end_session_endpoint())
            .form(&[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", AFTER_LOGOUT),
            ])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    assert_eq!(
        param(&reply.location(), "state"),
        None,
        "no state sent, none returned"
    );
}

// LO-RP-INITIATED
#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_gets_an_error_page_never_a_redirect() {
    let t = idp_with_logout(None).await;
    let hint = id_token(&t).await;
    for uri in [
        "http://127.0.0.1:3000",
        "http://127.0.0.1:3000/?x=1",
        "https://evil.example/",
        WEB_REDIRECT,
    ] {
        let reply = end_session(
            &t,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", uri),
                ("state", "s"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}: {reply:?}");
        assert!(reply.header("location").is_none(), "{uri}");
        assert!(reply.body.contains("not registered"), "{}", reply.body);
    }
    // Without a client to look the URI up for, there is nothing it can be registered for.
    let reply = end_session(&t, &[("post_logout_redirect_uri", AFTER_LOGOUT)]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
    // The server keeps serving.
    let reply = end_session(
        &t,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

// LO-RP-INITIATED
#[tokio::test]
async fn a_forged_hint_or_another_clients_id_is_refused_with_a_page() {
    let t = idp_with_logout(None).await;
    let hint = id_token(&t).await;
    // One character in the middle of the signature (the last one may only carry padding bits).
    let mut chars: Vec<char> = hint.chars().collect();
    let i = chars.len() - 20;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    for params in [
        vec![
            ("id_token_hint", forged.as_str()),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ],
        vec![("id_token_hint", "not-a-jwt")],
        vec![("id_token_hint", hint.as_str()), ("client_id", "web-post")],
        vec![
            ("client_id", "nobody"),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ],
        vec![("state", "a"), ("state", "b")],
    ] {
        let reply = end_session(&t, &params).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{params:?}: {reply:?}"
        );
        assert!(reply.header("location").is_none());
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/html")
        );
    }
}

// LO-RP-INITIATED
#[tokio::test]
async fn without_a_redirect_uri_the_browser_sees_a_logged_out_page() {
    let t = idp_with_logout(None).await;
    let reply = end_session(&t, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("You are logged out"), "{}", reply.body);
}

// LO-RP-INITIATED: logging out ends the provider's browser session.
#[tokio::test]
async fn after_logout_a_login_page_opened_before_cannot_be_used_and_the_next_one_asks_again() {
    let t = idp_with_logout(None).await;
    let (_, request_id, csrf) = t.login_page("s1").await;
    let reply = end_session(&t, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    let (page, request_id, csrf) = t.login_page("s2").await;
    assert!(page.body.contains("password"), "the login page again");
    let reply = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
}

// LO-BACKCHANNEL
#[tokio::test]
async fn logout_posts_a_signed_logout_token_to_the_registered_back_channel_uri() {
    let rx = receiver(Duration::ZERO).await;
    let t = idp_with_logout(Some(&rx.uri)).await;
    let hint = id_token(&t).await;
    let id_claims = claims(&hint);
    let sid = id_claims["sid"]
        .as_str()
        .expect("sid in the id_token")
        .to_owned();
    let reply = end_session(
        &t,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let tokens = rx.tokens.lock().expect("lock").clone();
    assert_eq!(tokens.len(), 1, "delivered before the answer");
    let (header, c) = verified(&t, &tokens[0]).await;
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(c["sub"], id_claims["sub"]);
    assert_eq!(c["sid"], sid.as_str());
    assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(c.get("nonce").is_none());
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let logged = t
        .idp
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/logout")
        .expect("logged");
    assert_eq!(logged.note.backchannel, ["web: 200"]);
    // The session has ended: the same hint ends nothing more.
    let reply = end_session(&t, &[("id_token_hint", &hint)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(rx.tokens.lock().expect("lock").len(), 1);
}

// LO-BACKCHANNEL
#[tokio::test]
async fn a_slow_back_channel_endpoint_does_not_hold_the_logout_for_long() {
    let rx = receiver(Duration::from_secs(20)).await;
    let t = idp_with_logout(Some(&rx.uri)).await;
    let hint = id_token(&t).await;
    let started = Instant::now();
    let reply = end_session(&t, &[("id_token_hint", &hint)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let logged = t
        .idp
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/logout")
        .expect("logged");
    assert_eq!(logged.note.backchannel, ["web: timed out"]);
}

// LO-BACKCHANNEL: a logout that starts at the provider.
#[tokio::test]
async fn a_provider_initiated_logout_notifies_every_session_of_the_user() {
    let rx = receiver(Duration::ZERO).await;
    let t = idp_with_logout(Some(&rx.uri)).await;
    let first = claims(&id_token(&t).await)["sid"].clone();
    let second = claims(&id_token(&t).await)["sid"].clone();
    assert_ne!(first, second, "one session per login");
    let deliveries = t.idp.logout("alice").await.expect("a user");
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    let mut sids: Vec<Value> = Vec::new();
    for token in rx.tokens.lock().expect("lock").clone() {
        sids.push(claims(&token)["sid"].clone());
    }
    assert!(sids.contains(&first) && sids.contains(&second), "{sids:?}");
    assert_eq!(t.idp.logout("alice").await.map(|d| d.len()), Some(0));
    assert!(t.idp.logout("nobody").await.is_none());
}

// LO-BACKCHANNEL: the admin API registers the URIs and starts the same logout.
#[tokio::test]
async fn the_admin_api_registers_logout_uris_and_logs_a_user_out() {
    let rx = receiver(Duration::ZERO).await;
    let t = spawn_idp_with(Config {
        admin: true,
        ..Config::builtin()
    })
    .await;
    let added = t
        .http
        .post(t.idp.url("/admin/tenants/root/clients"))
        .json(&serde_json::json!({
            "client_id": WEB, "client_secret": WEB_SECRET, "redirect_uris": [WEB_REDIRECT],
            "post_logout_redirect_uris": [AFTER_LOGOUT], "backchannel_logout_uri": rx.uri,
        }))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), StatusCode::CREATED);
    let _ = id_token(&t).await;
    let out: Value = t
        .http
        .post(t.idp.url("/admin/tenants/root/users/alice/logout"))
        .send()
        .await
        .expect("logout")
        .json()
        .await
        .expect("json");
    assert_eq!(out["backchannel"], serde_json::json!(["web: 200"]));
    assert_eq!(rx.tokens.lock().expect("lock").len(), 1);
    let bad = t
        .http
        .post(t.idp.url("/admin/tenants/root/clients"))
        .json(&serde_json::json!({
            "client_id": "x", "client_secret": "s", "redirect_uris": [WEB_REDIRECT],
            "backchannel_logout_uri": "ftp://x/",
        }))
        .send()
        .await
        .expect("add");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// The header of a compact JWS, decoded.
fn header_of(token: &str) -> Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let header = token.split('.').next().expect("a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json")
}

// LO-BACKCHANNEL-ALG, LO-BACKCHANNEL-EVENT: the faults that spoil the provider's own logout tokens.
#[tokio::test]
async fn the_logout_faults_spoil_the_next_logout_token_only() {
    let rx = receiver(Duration::ZERO).await;
    let t = idp_with_logout(Some(&rx.uri)).await;
    for (fault, check) in [
        (
            mock_idp::Fault::LogoutAlgNone,
            (|token: &str| {
                assert_eq!(header_of(token)["alg"], "none");
                assert!(token.ends_with('.'), "no signature: {token}");
            }) as fn(&str),
        ),
        (mock_idp::Fault::LogoutWrongAlg, |token: &str| {
            assert_eq!(header_of(token)["alg"], "HS256");
            assert_eq!(header_of(token)["typ"], "logout+jwt");
        }),
        (mock_idp::Fault::LogoutWrongEvent, |token: &str| {
            let events = &claims(token)["events"];
            assert!(
                events["http://schemas.openid.net/event/foobar"].is_object(),
                "{events}"
            );
            assert!(
                events
                    .get("http://schemas.openid.net/event/backchannel-logout")
                    .is_none()
            );
        }),
    ] {
        rx.tokens.lock().expect("lock").clear();
        id_token(&t).await;
        t.idp.fault(fault.clone()).once();
        t.idp.logout("alice").await.expect("a user");
        let spoiled = rx.tokens.lock().expect("lock").clone();
        assert_eq!(spoiled.len(), 1, "{fault:?}");
        check(&spoiled[0]);
        // Armed once: the next logout's token is the provider's own again.
        rx.tokens.lock().expect("lock").clear();
        id_token(&t).await;
        t.idp.logout("alice").await.expect("a user");
        let next = rx.tokens.lock().expect("lock").clone();
        let (header, _) = verified(&t, &next[0]).await;
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "{fault:?}");
    }
}

// LO-RP-STATE-RETURN: the faults that change the state on the way back from logout.
#[tokio::test]
async fn the_end_session_faults_change_or_drop_the_returned_state_once() {
    let t = idp_with_logout(None).await;
    for (fault, expected) in [
        (mock_idp::Fault::EndSessionOtherState, Some("other-")),
        (mock_idp::Fault::EndSessionNoState, None),
    ] {
        let hint = id_token(&t).await;
        t.idp.fault(fault.clone()).once();
        let reply = end_session(
            &t,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", AFTER_LOGOUT),
                ("state", "st-1"),
            ],
        )
        .await;
        let back = param(&reply.location(), "state");
        match expected {
            Some(prefix) => assert!(
                back.as_deref().is_some_and(|s| s.starts_with(prefix)),
                "{fault:?}: {back:?}"
            ),
            None => assert_eq!(back, None, "{fault:?}"),
        }
        let hint = id_token(&t).await;
        let reply = end_session(
            &t,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", AFTER_LOGOUT),
                ("state", "st-2"),
            ],
        )
        .await;
        assert_eq!(param(&reply.location(), "state").as_deref(), Some("st-2"));
    }
}
