//! Named faults over real HTTP: each changes one thing in an otherwise valid response, applies as often
//! and to whom it was told, and the request log and verdict see what the client did (docs/CONFORMANCE.md
//! section G, ST-ISS-MIXUP, UM-IDP-FAILURE).

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mock_idp::{AuthorizeErrorCode, Config, ErrorStatus, Fault, FaultConfig, FaultSpec, Outcome};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn header(jwt: &str) -> Value {
    let h = jwt.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json")
}

/// Verifies an RS256 JWS against the JWKS key its kid names (or the only key).
pub(crate) fn verifies(jwt: &str, jwks: &Value) -> bool {
    let kid = header(jwt)["kid"].as_str().map(str::to_owned);
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    let key = keys
        .iter()
        .find(|k| kid.is_none() || k["kid"].as_str() == kid.as_deref());
    let Some(key) = key else { return false };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).expect("jwk");
    let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(jwt, &dk, &v).is_ok()
}

pub(crate) async fn jwks(t: &TestIdp) -> Value {
    read(t.http.get(t.idp.jwks_uri()).send().await.expect("jwks"))
        .await
        .json()
}

/// A full exchange for alice with nonce n-1; returns the token response.
async fn login(t: &TestIdp) -> Reply {
    let code = t.code_for("alice", &[("nonce", "n-1")]).await;
    t.exchange(&code).await
}

async fn id_token_with(fault: Fault) -> (Value, Value, bool) {
    let t = spawn_idp().await;
    t.idp.fault(fault).once();
    let reply = login(&t).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let token = reply.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    let keys = jwks(&t).await;
    (header(&token), claims(&token), verifies(&token, &keys))
}

#[tokio::test]
async fn a_correct_id_token_verifies_and_names_its_key() {
    let t = spawn_idp().await;
    let token = login(&t).await.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    assert!(verifies(&token, &jwks(&t).await));
    assert_eq!(header(&token)["kid"], "test-rsa-1");
}

#[tokio::test]
async fn id_token_signature_faults_break_only_the_signature() {
    let (h, c, ok) = id_token_with(Fault::IdTokenBadSignature).await;
    assert!(!ok, "bad_signature verified");
    assert_eq!(h["alg"], "RS256");
    assert_eq!(c["nonce"], "n-1");

    let (h, _, ok) = id_token_with(Fault::IdTokenAlgNone).await;
    assert_eq!(h["alg"], "none");
    assert!(!ok);

    // HS256 keyed with the published public key: recompute the MAC independently from the PEM.
    let t = spawn_idp().await;
    t.idp.fault(Fault::IdTokenHs256PublicKey).once();
    let token = login(&t).await.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    assert_eq!(header(&token)["alg"], "HS256");
    let pem = t.idp.signing_key_public_pem().expect("pem");
    let key = jsonwebtoken::DecodingKey::from_secret(pem.as_bytes());
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(&token, &key, &v).expect("HS256 over the public PEM");
}

#[tokio::test]
async fn id_token_claim_faults_change_one_claim_and_keep_the_signature() {
    let issuer_of = |c: &Value| c["iss"].as_str().unwrap_or_default().to_owned();
    let (_, c, ok) = id_token_with(Fault::IdTokenWrongIss).await;
    assert!(ok && issuer_of(&c).ends_with('/'), "{c}");
    let (_, c, ok) = id_token_with(Fault::IdTokenMissingIss).await;
    assert!(ok && c.get("iss").is_none());
    let (_, c, ok) = id_token_with(Fault::IdTokenWrongAud).await;
    assert!(ok && c["aud"] == "another-client");
    let (_, c, _) = id_token_with(Fault::IdTokenExtraAud).await;
    assert_eq!(c["aud"], serde_json::json!(["web", "another-client"]));
    let (_, c, _) = id_token_with(Fault::IdTokenMissingAud).await;
    assert!(c.get("aud").is_none());
    let (_, c, _) = id_token_with(Fault::IdTokenWrongNonce).await;
    assert!(c["nonce"] != "n-1" && c["nonce"].is_string());
    let (_, c, _) = id_token_with(Fault::IdTokenMissingNonce).await;
    assert!(c.get("nonce").is_none());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let (_, c, _) = id_token_with(Fault::IdTokenExpired).await;
    let exp = c["exp"].as_u64().expect("exp");
    assert!(exp <= now - 590 && exp >= now - 610, "exp {exp} now {now}");
    let (_, c, _) = id_token_with(Fault::IdTokenMissingExp).await;
    assert!(c.get("exp").is_none());
    let (_, c, _) = id_token_with(Fault::IdTokenIatFuture).await;
    assert!(c["iat"].as_u64().expect("iat") >= now + 590);
    let (_, c, _) = id_token_with(Fault::IdTokenMissingIat).await;
    assert!(c.get("iat").is_none());
    let (_, c, ok) = id_token_with(Fault::IdTokenMissingSub).await;
    assert!(ok && c.get("sub").is_none());
}

#[tokio::test]
async fn kid_faults_drop_or_invent_the_kid() {
    let (h, _, ok) = id_token_with(Fault::IdTokenNoKid).await;
    assert!(h.get("kid").is_none());
    assert!(ok, "with one key, a kid-less token verifies against it");
    let (h, _, ok) = id_token_with(Fault::IdTokenUnknownKid).await;
    assert!(h["kid"].as_str().is_some_and(|k| k.starts_with("unknown-")));
    assert!(!ok);
}

#[tokio::test]
async fn a_fault_for_one_user_and_client_spares_the_others_and_applies_its_times() {
    let t = spawn_idp().await;
    t.idp
        .arm(
            FaultSpec::new(Fault::IdTokenWrongAud)
                .for_user("bob")
                .for_client(WEB)
                .times(2),
        )
        .expect("arm");
    let aud = |r: Reply| claims(r.json()["id_token"].as_str().expect("id_token"))["aud"].clone();
    assert_eq!(aud(login(&t).await), "web", "alice is not bob");
    for _ in 0..2 {
        let code = t.code_for("bob", &[]).await;
        assert_eq!(aud(t.exchange(&code).await), "another-client");
    }
    let code = t.code_for("bob", &[]).await;
    assert_eq!(aud(t.exchange(&code).await), "web", "used up after 2");
    assert!(t.idp.faults().is_empty());
}

#[tokio::test]
async fn authorize_faults_spoil_the_redirect_back() {
    let t = spawn_idp().await;
    let back = |t: &TestIdp| {
        let http = t.http.clone();
        let url = t.idp.authorization_endpoint();
        async move {
            let reply = read(
                http.get(url)
                    .query(&[
                        ("client_id", WEB),
                        ("redirect_uri", WEB_REDIRECT),
                        ("response_type", "code"),
                        ("scope", "openid"),
                        ("state", "st-1"),
                    ])
                    .send()
                    .await
                    .expect("authorize"),
            )
            .await;
            reply.location()
        }
    };
    t.idp.fault(Fault::AuthorizeWrongIss).once();
    t.idp.next_login("alice");
    let loc = back(&t).await;
    assert_eq!(
        param(&loc, "iss").as_deref(),
        Some("https://attacker.example")
    );
    assert!(param(&loc, "code").is_some());

    t.idp.fault(Fault::AuthorizeMissingIss).once();
    t.idp.next_login("alice");
    assert!(param(&back(&t).await, "iss").is_none());

    t.idp.fault(Fault::AuthorizeWrongState).once();
    t.idp.next_login("alice");
    let state = param(&back(&t).await, "state").expect("state");
    assert_ne!(state, "st-1");

    t.idp
        .fault(Fault::AuthorizeError(
            AuthorizeErrorCode::TemporarilyUnavailable,
        ))
        .once();
    t.idp.next_login("alice");
    let loc = back(&t).await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));
    assert!(param(&loc, "code").is_none());
}

#[tokio::test]
async fn token_status_faults_answer_json_or_html_errors() {
    let t = spawn_idp().await;
    t.idp
        .fault(Fault::TokenStatus(ErrorStatus::json(503)))
        .once();
    let r = login(&t).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error(), "temporarily_unavailable");
    t.idp
        .fault(Fault::TokenStatus(ErrorStatus::html(502)))
        .once();
    let r = login(&t).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    t.idp.fault(Fault::TokenRateLimited).once();
    let r = login(&t).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("30"));
    t.idp.fault(Fault::TokenInvalidGrant).once();
    let r = login(&t).await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // And then it behaves again.
    assert_eq!(login(&t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_body_faults_change_one_member() {
    let t = spawn_idp().await;
    t.idp.fault(Fault::TokenMalformedJson).once();
    let r = login(&t).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "{}",
        r.body
    );
    t.idp.fault(Fault::TokenMissingAccessToken).once();
    let j = login(&t).await.json();
    assert!(j.get("access_token").is_none() && j.get("id_token").is_some());
    t.idp.fault(Fault::TokenMissingIdToken).once();
    let j = login(&t).await.json();
    assert!(j.get("id_token").is_none() && j.get("access_token").is_some());
    t.idp.fault(Fault::TokenTokenType("mac".into())).once();
    assert_eq!(login(&t).await.json()["token_type"], "mac");
    t.idp.fault(Fault::TokenBearerLowercase).once();
    assert_eq!(login(&t).await.json()["token_type"], "bearer");
}

#[tokio::test]
async fn a_delayed_token_answer_comes_late_and_valid() {
    let t = spawn_idp().await;
    t.idp
        .fault(Fault::TokenDelay(Duration::from_millis(400)))
        .once();
    let code = t.code_for("alice", &[]).await;
    let started = Instant::now();
    let r = t.exchange(&code).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn close_connection_closes_it_without_a_response_and_the_server_keeps_serving() {
    let t = spawn_idp().await;
    t.idp.fault(Fault::TokenCloseConnection).once();
    let code = t.code_for("alice", &[]).await;
    let sent = t
        .http
        .post(t.idp.token_endpoint())
        .header("authorization", basic(WEB, WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .send()
        .await;
    let e = sent.expect_err("no response");
    assert!(!e.is_timeout() && e.status().is_none(), "{e:?}");
    let last = t.idp.requests().into_iter().last().expect("logged");
    assert_eq!((last.path.as_str(), last.status), ("/token", 0));
    assert_eq!(login(&t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn userinfo_faults_name_another_subject_fail_or_wait() {
    let t = spawn_idp().await;
    let access = login(&t).await.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    t.idp.fault(Fault::UserinfoWrongSub).once();
    let sub = t.userinfo(&access).await.json()["sub"].clone();
    assert_ne!(sub, "248289761001");
    assert_eq!(t.userinfo(&access).await.json()["sub"], "248289761001");
    t.idp
        .fault(Fault::UserinfoStatus(ErrorStatus::json(500)))
        .once();
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    t.idp
        .fault(Fault::UserinfoDelay(Duration::from_millis(300)))
        .once();
    let started = Instant::now();
    assert_eq!(t.userinfo(&access).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn discovery_and_jwks_faults() {
    let t = spawn_idp().await;
    let get = |url: String| {
        let http = t.http.clone();
        async move { read(http.get(url).send().await.expect("get")).await }
    };
    t.idp.fault(Fault::DiscoveryUnavailable).once();
    assert_eq!(
        get(t.idp.discovery_url()).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    t.idp.fault(Fault::DiscoveryWrongIssuer).once();
    assert_ne!(
        get(t.idp.discovery_url()).await.json()["issuer"],
        t.idp.issuer()
    );
    assert_eq!(
        get(t.idp.discovery_url()).await.json()["issuer"],
        t.idp.issuer()
    );
    t.idp.fault(Fault::JwksUnavailable).once();
    assert_eq!(
        get(t.idp.jwks_uri()).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    t.idp.fault(Fault::JwksEmpty).once();
    assert_eq!(
        get(t.idp.jwks_uri()).await.json()["keys"],
        serde_json::json!([])
    );
    // ID-KID-ABSENT: the same key, without its kid.
    let real = get(t.idp.jwks_uri()).await.json()["keys"][0].clone();
    t.idp.fault(Fault::JwksNoKid).once();
    let keys = get(t.idp.jwks_uri()).await.json()["keys"].clone();
    let mut expected = real.clone();
    expected.as_object_mut().expect("a JWK").remove("kid");
    assert_eq!(keys, serde_json::json!([expected]));
    // ID-JWKS-UNUSABLE-KEYS: the real key between two a client must skip.
    t.idp.fault(Fault::JwksUnusableKeys).once();
    let keys = get(t.idp.jwks_uri()).await.json()["keys"].clone();
    let kty: Vec<&str> = keys
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kty"].as_str())
        .collect();
    assert_eq!(kty, ["AKP", "RSA", "XYZ"]);
    assert_eq!(keys[1], real);
}

#[tokio::test]
async fn key_rotation_publishes_a_new_key_signs_with_it_and_can_retire_the_old() {
    let t = spawn_idp().await;
    let first = login(&t).await.json();
    let old_access = first["access_token"].as_str().expect("access").to_owned();
    let kid = t.idp.rotate_keys(false).expect("rotate");
    let keys = jwks(&t).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(keys["keys"][0]["kid"], kid.as_str());
    let token = login(&t).await.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    assert_eq!(header(&token)["kid"], kid.as_str());
    assert!(verifies(&token, &keys));
    assert_eq!(
        t.userinfo(&old_access).await.status,
        StatusCode::OK,
        "old key kept"
    );
    t.idp.rotate_keys(true).expect("rotate, retiring");
    assert_eq!(jwks(&t).await["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        t.userinfo(&old_access).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_frozen_clock_drives_code_and_token_expiry_alike() {
    let t = spawn_idp().await;
    t.idp.clock().freeze();
    let code = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(59));
    let body = t.exchange(&code).await.json();
    let access = body["access_token"].as_str().expect("access").to_owned();
    let id = claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["iat"].as_u64(), Some(t.idp.clock().now()));
    t.idp.clock().advance(Duration::from_secs(3600));
    assert_eq!(t.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
    let code = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(61));
    assert_eq!(t.exchange(&code).await.error(), "invalid_grant");
}

#[tokio::test]
async fn faults_in_the_config_file_are_checked_and_armed() {
    let mut config = Config::builtin();
    config.faults.push(FaultConfig {
        name: "id_token.wrong_audience".into(),
        value: None,
        times: None,
        client_id: None,
        username: None,
    });
    let e = config.validate().expect_err("unknown name");
    assert!(e.to_string().contains("faults[0].name") && e.to_string().contains("wrong_audience"));
    config.faults[0].name = "token.status".into();
    config.faults[0].value = Some("503".into());
    config.faults[0].times = Some(1);
    let t = spawn_idp_with(config).await;
    assert_eq!(login(&t).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(login(&t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_request_log_masks_secrets_and_records_the_client_user_and_outcome() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    t.exchange(&code).await;
    t.exchange(&code).await;
    let log = t.idp.requests();
    let text = serde_json::to_string(&log).expect("json");
    for secret in [code.as_str(), WEB_SECRET] {
        assert!(!text.contains(secret), "{secret} in the log");
    }
    let tokens: Vec<_> = log.iter().filter(|r| r.path == "/token").collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].client_id.as_deref(), Some(WEB));
    assert_eq!(tokens[0].client_auth, Some("client_secret_basic"));
    assert_eq!(tokens[0].note.username.as_deref(), Some("alice"));
    assert_eq!(tokens[1].note.error.as_deref(), Some("invalid_grant"));
    assert_eq!(tokens[0].param("code"), tokens[1].param("code"));
    assert_eq!(tokens[0].header("authorization"), Some("Basic web:***"));
    let authorize = log
        .iter()
        .find(|r| r.path == "/authorize")
        .expect("authorize");
    assert_eq!(authorize.param("state"), Some("s1"));
    assert!(authorize.remote.is_some());
}

#[tokio::test]
async fn the_log_is_bounded() {
    let mut config = Config::builtin();
    config.request_log_capacity = 5;
    let t = spawn_idp_with(config).await;
    for _ in 0..12 {
        jwks(&t).await;
    }
    let log = t.idp.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[4].seq, 12);
}

#[tokio::test]
async fn the_verdict_fails_a_replayed_code_a_weak_state_and_no_defence_against_code_injection() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await; // state "s1", no PKCE, no nonce
    t.exchange(&code).await;
    t.exchange(&code).await;
    let v = t.idp.verdict();
    let outcome = |n: &str| v.item(n).expect(n).outcome;
    assert_eq!(outcome("code_redeemed_once"), Outcome::Fail);
    assert_eq!(outcome("state"), Outcome::Fail);
    // Neither PKCE nor a nonce was used, so neither is judged on its own; together they are the
    // code-injection defence, which is missing.
    assert_eq!(outcome("nonce"), Outcome::NotSeen);
    assert_eq!(outcome("pkce_s256"), Outcome::NotSeen);
    assert_eq!(outcome("code_injection_defence"), Outcome::Fail);
    assert_eq!(outcome("redirect_uri_repeated"), Outcome::Pass);
    assert_eq!(outcome("client_auth_method"), Outcome::Pass);
    assert_eq!(outcome("userinfo_bearer_header"), Outcome::NotSeen);
    assert!(!v.is_clean());
}

#[tokio::test]
async fn the_verdict_does_not_fail_a_client_that_relies_on_pkce_alone() {
    // RFC 9700 §2.1: a client may rely on PKCE instead of state and nonce (Auth.js does by default).
    let t = spawn_idp().await;
    let (verifier, challenge) = pkce_pair();
    let r = t
        .authorize(&[
            ("response_type", "code"),
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "alice"),
        ])
        .await;
    assert!(
        r.status.is_redirection() || r.status.is_success(),
        "{}",
        r.body
    );
    let _ = verifier;
    let v = t.idp.verdict();
    let outcome = |n: &str| v.item(n).expect(n).outcome;
    assert_eq!(outcome("pkce_s256"), Outcome::Pass);
    assert_eq!(outcome("state"), Outcome::NotSeen);
    assert_eq!(outcome("nonce"), Outcome::NotSeen);
    assert_eq!(outcome("code_injection_defence"), Outcome::Pass);
    assert!(v.is_clean(), "{v:?}");
}

#[tokio::test]
async fn the_verdict_takes_a_userinfo_token_in_a_form_body_but_not_in_the_url() {
    let t = spawn_idp().await;
    let access = t.access_token_of("alice").await;
    let url = t.idp.userinfo_endpoint();
    t.http
        .post(&url)
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .expect("post");
    let item = |t: &TestIdp| {
        t.idp
            .verdict()
            .item("userinfo_bearer_header")
            .expect("item")
            .outcome
    };
    assert_eq!(item(&t), Outcome::Pass);
    t.http
        .get(format!("{url}?access_token={access}"))
        .send()
        .await
        .expect("get");
    assert_eq!(item(&t), Outcome::Fail);
}

#[tokio::test]
async fn the_verdict_is_clean_for_a_careful_client() {
    let t = spawn_idp().await;
    for _ in 0..2 {
        let (verifier, challenge) = pkce_pair();
        let state = crate::helpers::random_token();
        let nonce = crate::helpers::random_token();
        let code = t
            .code_for(
                "alice",
                &[
                    ("state", &state),
                    ("nonce", &nonce),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        if t.idp.requests().iter().all(|r| r.path != "/jwks") {
            jwks(&t).await;
        }
        let body = t
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", WEB_REDIRECT),
                    ("code_verifier", &verifier),
                ],
                Some(&basic(WEB, WEB_SECRET)),
            )
            .await
            .json();
        t.userinfo(body["access_token"].as_str().expect("access"))
            .await;
    }
    let v = t.idp.verdict();
    assert!(v.is_clean(), "{:#?}", v.failures());
    assert_eq!(v.item("jwks_cached").expect("item").outcome, Outcome::Pass);
    assert_eq!(
        v.item("userinfo_bearer_header").expect("item").outcome,
        Outcome::Pass
    );
}

#[tokio::test]
async fn the_verdict_wants_the_jwks_fetched_again_after_an_unknown_kid() {
    let t = spawn_idp().await;
    jwks(&t).await;
    login(&t).await;
    t.idp.rotate_keys(false).expect("rotate");
    login(&t).await; // the client never looks at the JWKS again
    login(&t).await;
    let v = t.idp.verdict();
    assert_eq!(
        v.item("jwks_refetched_after_unknown_kid")
            .expect("item")
            .outcome,
        Outcome::Fail
    );

    let t = spawn_idp().await;
    jwks(&t).await;
    login(&t).await;
    t.idp.rotate_keys(false).expect("rotate");
    login(&t).await;
    jwks(&t).await;
    let v = t.idp.verdict();
    assert_eq!(
        v.item("jwks_refetched_after_unknown_kid")
            .expect("item")
            .outcome,
        Outcome::Pass
    );
}

#[test]
fn the_faults_page_documents_every_fault_and_verdict_item() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/faults.md");
    let page = std::fs::read_to_string(path).expect("docs/faults.md");
    for f in mock_idp::FAULTS {
        assert!(
            page.contains(&format!("| `{}", f.name)),
            "docs/faults.md has no row for fault {}",
            f.name
        );
    }
    for item in mock_idp::VERDICT_ITEMS {
        assert!(
            page.contains(&format!("| `{item}` |")),
            "docs/faults.md has no row for verdict item {item}"
        );
    }
}

#[tokio::test]
async fn the_config_file_can_start_the_clock_ahead_and_frozen() {
    let config =
        Config::from_toml("clock_advance_secs = 3600\nclock_frozen = true\n").expect("config");
    let t = spawn_idp_with(config).await;
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let now = t.idp.clock().now();
    assert!(t.idp.clock().is_frozen());
    assert!(
        (system + 3595..=system + 3605).contains(&now),
        "{now} vs {system}"
    );
}

#[tokio::test]
async fn a_request_whose_client_gives_up_during_a_delay_is_still_logged() {
    let t = spawn_idp().await;
    t.idp
        .fault(Fault::TokenDelay(Duration::from_millis(1500)))
        .once();
    let code = t.code_for("alice", &[]).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let sent = impatient
        .post(t.idp.token_endpoint())
        .header("authorization", basic(WEB, WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()));
    // Bounded wait: the record is written when the handler finishes or is dropped.
    let mut logged = false;
    for _ in 0..40 {
        if t.idp.requests().iter().any(|r| r.path == "/token") {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(logged, "the token request never reached the log");
}

#[tokio::test]
async fn a_moved_jwks_is_named_by_discovery_served_at_its_new_path_and_gone_from_the_old() {
    let t = spawn_idp().await;
    let get = |url: String| {
        let http = t.http.clone();
        async move { read(http.get(url).send().await.expect("get")).await }
    };
    let moved = t.idp.moved_jwks_uri();
    assert_ne!(moved, t.idp.jwks_uri());
    assert!(moved.ends_with("/jwks"), "{moved}");
    // Not armed: the moved path is not served, discovery names /jwks.
    assert_eq!(get(moved.clone()).await.status, StatusCode::NOT_FOUND);
    let real = jwks(&t).await;
    t.idp.fault(Fault::JwksMoved);
    assert_eq!(
        get(t.idp.discovery_url()).await.json()["jwks_uri"],
        moved.as_str()
    );
    assert_eq!(get(t.idp.jwks_uri()).await.status, StatusCode::NOT_FOUND);
    let at_new = get(moved.clone()).await;
    assert_eq!(at_new.status, StatusCode::OK);
    assert_eq!(at_new.json(), real);
    // Another tag under the same prefix is not it.
    let guessed = moved.replace("/keys/", "/keys/x");
    assert_eq!(get(guessed).await.status, StatusCode::NOT_FOUND);
    // The request log records the fetch at the new path as a JWKS fetch (a path ending in /jwks).
    let fetched = t
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.status == 200 && t.idp.url(&r.path) == moved)
        .count();
    assert_eq!(fetched, 1);
    // Another provider (another run) moves it elsewhere.
    let other = spawn_idp().await;
    assert_ne!(
        other.idp.moved_jwks_uri().replace(other.idp.issuer(), ""),
        moved.replace(t.idp.issuer(), "")
    );
    t.idp.clear_faults();
    assert_eq!(
        get(t.idp.discovery_url()).await.json()["jwks_uri"],
        t.idp.jwks_uri().as_str()
    );
    assert_eq!(get(moved).await.status, StatusCode::NOT_FOUND);
}

/// The provider's built-in configuration with the web client registered for signed userinfo.
fn signed_userinfo_config() -> mock_idp::Config {
    let mut config = mock_idp::Config::builtin();
    for c in config.clients.iter_mut().filter(|c| c.client_id == WEB) {
        c.userinfo_signed_response_alg = Some(mock_idp::SigningAlg::RS256);
    }
    config
}

#[tokio::test]
async fn a_client_registered_for_signed_userinfo_gets_a_jwt_with_iss_and_aud() {
    let t = spawn_idp_with(signed_userinfo_config()).await;
    let access = t.access_token_of("alice").await;
    let reply = t.userinfo(&access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/jwt"));
    let jwt = reply.body.trim();
    assert!(verifies(jwt, &jwks(&t).await), "{jwt}");
    assert_eq!(header(jwt)["alg"], "RS256");
    let c = claims(jwt);
    assert_eq!(c["sub"], "248289761001");
    assert_eq!(c["iss"], t.idp.issuer());
    assert_eq!(c["aud"], WEB);
    assert!(c["name"].is_string(), "{c}");
    let doc = read(t.http.get(t.idp.discovery_url()).send().await.expect("get"))
        .await
        .json();
    assert_eq!(
        doc["userinfo_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
}

#[tokio::test]
async fn other_clients_keep_json_userinfo_and_bad_signature_leaves_json_alone() {
    let t = spawn_idp().await;
    let access = t.access_token_of("alice").await;
    t.idp.fault(Fault::UserinfoBadSignature).once();
    let reply = t.userinfo(&access).await;
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{reply:?}"
    );
    assert_eq!(reply.json()["sub"], "248289761001");
}

#[tokio::test]
async fn userinfo_faults_apply_inside_the_signed_userinfo() {
    let t = spawn_idp_with(signed_userinfo_config()).await;
    let access = t.access_token_of("alice").await;
    let keys = jwks(&t).await;
    t.idp.fault(Fault::UserinfoBadSignature).once();
    let broken = t.userinfo(&access).await;
    assert_eq!(broken.header("content-type"), Some("application/jwt"));
    let jwt = broken.body.trim().to_owned();
    assert!(!verifies(&jwt, &keys), "the signature must not verify");
    assert_eq!(claims(&jwt)["sub"], "248289761001");
    t.idp.fault(Fault::UserinfoWrongSub).once();
    let other = t.userinfo(&access).await.body.trim().to_owned();
    assert!(verifies(&other, &keys));
    assert_ne!(claims(&other)["sub"], "248289761001");
    t.idp
        .fault(Fault::UserinfoStatus(ErrorStatus::json(500)))
        .once();
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let good = t.userinfo(&access).await.body.trim().to_owned();
    assert!(verifies(&good, &keys));
}

#[tokio::test]
async fn signed_userinfo_must_use_the_providers_algorithm() {
    let mut config = signed_userinfo_config();
    for c in config.clients.iter_mut().filter(|c| c.client_id == WEB) {
        c.userinfo_signed_response_alg = Some(mock_idp::SigningAlg::ES256);
    }
    let err = config
        .validate()
        .expect_err("RS256 provider, ES256 userinfo");
    assert!(
        err.to_string()
            .contains("clients[0].userinfo_signed_response_alg"),
        "{err}"
    );
}

#[tokio::test]
async fn the_config_file_registers_signed_userinfo_and_arms_a_moved_jwks() {
    let config = Config::from_toml(
        r#"
[[clients]]
client_id = "signed"
client_secret = "signed-secret"
redirect_uris = ["http://127.0.0.1:3000/callback"]
userinfo_signed_response_alg = "RS256"

[[faults]]
name = "jwks.moved"
"#,
    )
    .expect("config");
    let client = config
        .clients
        .iter()
        .find(|c| c.client_id == "signed")
        .expect("the client");
    assert_eq!(
        client.userinfo_signed_response_alg,
        Some(mock_idp::SigningAlg::RS256)
    );
    let t = spawn_idp_with(config).await;
    let doc = read(t.http.get(t.idp.discovery_url()).send().await.expect("get"))
        .await
        .json();
    assert_eq!(doc["jwks_uri"], t.idp.moved_jwks_uri().as_str());
    let typo = Config::from_toml(
        "[[clients]]\nclient_id = \"x\"\nclient_secret = \"s\"\nuserinfo_signed_response_alg = \"none\"\n",
    );
    assert!(typo.is_err(), "alg none is not a signing algorithm");
}
