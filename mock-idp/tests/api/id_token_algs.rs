//! Per-client id_token signing algorithms (CONFORMANCE TK-HS256, ID-SIG-ES256, ID-SIG-HS256): a client
//! registered with `id_token_signed_response_alg = HS256` gets id_tokens MACed with its secret's octets,
//! every other client keeps the provider's key, and an ES256 provider signs with its P-256 key.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mock_idp::{ClientConfig, Config, Fault, IdTokenAlg, SigningAlg};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// 32 octets: the least an HS256 client may have.
const LONG_SECRET: &str = "an-hs256-secret-of-32-octets-!!!";
const AFTER_LOGOUT: &str = "http://127.0.0.1:3000/";

fn header(jwt: &str) -> Value {
    let h = jwt.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json")
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    v
}

/// Whether `jwt` is HS256 and its MAC checks with `secret`'s octets.
fn mac_checks(jwt: &str, secret: &str) -> bool {
    jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation(Algorithm::HS256),
    )
    .is_ok()
}

/// Whether `jwt` verifies against the provider's published key its kid names, with `alg`.
async fn verifies_with_jwks(t: &TestIdp, jwt: &str, alg: Algorithm) -> bool {
    let jwks = read(t.http.get(t.idp.jwks_uri()).send().await.expect("jwks"))
        .await
        .json();
    let kid = header(jwt)["kid"].as_str().map(str::to_owned);
    let Some(key) = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"].as_str() == kid.as_deref()))
    else {
        return false;
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).expect("jwk");
    let key = DecodingKey::from_jwk(&jwk).expect("key");
    jsonwebtoken::decode::<Value>(jwt, &key, &validation(alg)).is_ok()
}

/// The web client registered again with `LONG_SECRET` and HS256 id_tokens.
fn hs256_web() -> ClientConfig {
    ClientConfig::confidential(WEB, LONG_SECRET, WEB_REDIRECT)
        .with_id_token_alg(IdTokenAlg::HS256)
        .with_post_logout_redirect_uri(AFTER_LOGOUT)
}

/// Alice's id_token for the web client, which authenticates with `secret`.
async fn id_token(t: &TestIdp, secret: &str) -> String {
    let code = t.code_for("alice", &[("nonce", "n-1")]).await;
    let reply = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic(WEB, secret)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned()
}

async fn advertised(t: &TestIdp) -> Value {
    read(
        t.http
            .get(t.idp.discovery_url())
            .send()
            .await
            .expect("discovery"),
    )
    .await
    .json()["id_token_signing_alg_values_supported"]
        .clone()
}

// TK-HS256
#[tokio::test]
async fn an_hs256_client_gets_id_tokens_maced_with_its_secret_and_discovery_lists_hs256() {
    let t = spawn_idp().await;
    assert_eq!(advertised(&t).await, serde_json::json!(["RS256"]));
    t.idp.add_client(hs256_web()).expect("an HS256 client");
    assert_eq!(advertised(&t).await, serde_json::json!(["RS256", "HS256"]));

    let token = id_token(&t, LONG_SECRET).await;
    let h = header(&token);
    assert_eq!(h["alg"], "HS256", "{h}");
    assert!(h.get("kid").is_none(), "a MAC names no key: {h}");
    assert!(
        mac_checks(&token, LONG_SECRET),
        "the MAC is keyed by the secret"
    );
    // And by nothing else: not another secret, not the published key's PEM (RFC 8725 §2.1).
    assert!(!mac_checks(&token, WEB_SECRET));
    assert!(!mac_checks(&token, &LONG_SECRET[..31]));
    let pem = t.idp.signing_key_public_pem().expect("pem");
    assert!(!mac_checks(&token, &pem));
    assert_eq!(claims(&token)["aud"], WEB);
    assert_eq!(claims(&token)["nonce"], "n-1");

    // Its access token is still the provider's own RS256 JWT: userinfo takes it.
    let code = t.code_for("alice", &[]).await;
    let reply = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic(WEB, LONG_SECRET)),
        )
        .await;
    let access = reply.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(t.userinfo(&access).await.status, StatusCode::OK);
}

// TK-HS256: every other client keeps RS256.
#[tokio::test]
async fn other_clients_keep_rs256_beside_an_hs256_client() {
    let t = spawn_idp().await;
    let mut other = hs256_web();
    other.client_id = "hs-app".into();
    t.idp.add_client(other).expect("an HS256 client");
    let token = id_token(&t, WEB_SECRET).await;
    assert_eq!(header(&token)["alg"], "RS256");
    assert!(verifies_with_jwks(&t, &token, Algorithm::RS256).await);
}

// TK-HS256: a secret shorter than 32 octets, or none, cannot key HS256.
#[test]
fn an_hs256_client_needs_a_secret_of_32_octets() {
    let short = ClientConfig::confidential(WEB, &LONG_SECRET[..31], WEB_REDIRECT)
        .with_id_token_alg(IdTokenAlg::HS256);
    let e = short.validate("client").expect_err("31 octets").to_string();
    assert!(e.contains("client_secret") && e.contains("32"), "{e}");
    let public = ClientConfig::public("spa-hs", WEB_REDIRECT).with_id_token_alg(IdTokenAlg::HS256);
    let e = public.validate("client").expect_err("public").to_string();
    assert!(e.contains("id_token_signed_response_alg"), "{e}");
    let mut config = Config::builtin();
    config.clients.push(
        ClientConfig::confidential("hs-short", "short", WEB_REDIRECT)
            .with_id_token_alg(IdTokenAlg::HS256),
    );
    assert!(config.validate().is_err());
}

#[tokio::test]
async fn registering_a_short_hs256_secret_is_refused_at_runtime() {
    let t = spawn_idp().await;
    let e = t
        .idp
        .add_client(
            ClientConfig::confidential("hs-short", "31-octets-is-one-octet-too-few!", WEB_REDIRECT)
                .with_id_token_alg(IdTokenAlg::HS256),
        )
        .expect_err("refused")
        .to_string();
    assert!(e.contains("32"), "{e}");
    assert_eq!(advertised(&t).await, serde_json::json!(["RS256"]));
}

/// The web client registered again for `alg` id_tokens, with its own secret.
fn web_with(alg: IdTokenAlg) -> ClientConfig {
    ClientConfig::confidential(WEB, WEB_SECRET, WEB_REDIRECT)
        .with_id_token_alg(alg)
        .with_post_logout_redirect_uri(AFTER_LOGOUT)
}

async fn jwks(t: &TestIdp) -> Value {
    read(t.http.get(t.idp.jwks_uri()).send().await.expect("jwks"))
        .await
        .json()
}

fn ktys(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k["kty"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An ES256 id_token: R‖S, 64 octets, not DER (RFC 7518 §3.4).
fn assert_es256(token: &str) {
    assert_eq!(header(token)["alg"], "ES256");
    let sig = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().expect("sig"))
        .expect("b64");
    assert_eq!(sig.len(), 64);
}

// ID-SIG-ES256: an ES256-only provider signs with its P-256 key and lists only ES256.
#[tokio::test]
async fn an_es256_provider_signs_with_its_p256_key_and_lists_only_es256() {
    let t = spawn_idp_with(Config {
        signing_alg: SigningAlg::ES256,
        ..Config::builtin()
    })
    .await;
    t.idp
        .add_client(web_with(IdTokenAlg::ES256))
        .expect("ES256 at an ES256 provider");
    assert_eq!(advertised(&t).await, serde_json::json!(["ES256"]));
    let keys = jwks(&t).await;
    assert_eq!(ktys(&keys), ["EC"]);
    assert_eq!(keys["keys"][0]["crv"], "P-256");
    let token = id_token(&t, WEB_SECRET).await;
    assert_es256(&token);
    assert!(verifies_with_jwks(&t, &token, Algorithm::ES256).await);

    t.idp.fault(Fault::IdTokenBadSignature).once();
    let token = id_token(&t, WEB_SECRET).await;
    assert_es256(&token);
    assert!(!verifies_with_jwks(&t, &token, Algorithm::ES256).await);
}

// ID-SIG-ES256: an RS256 provider makes a P-256 key for its ES256 client, publishes it with its own kid,
// and every other client keeps RS256.
#[tokio::test]
async fn an_es256_client_of_an_rs256_provider_gets_a_published_p256_key_of_its_own() {
    let t = spawn_idp().await;
    assert_eq!(ktys(&jwks(&t).await), ["RSA"]);
    let mut es = web_with(IdTokenAlg::ES256);
    es.client_id = "es-app".into();
    t.idp.add_client(es).expect("an ES256 client");
    assert_eq!(advertised(&t).await, serde_json::json!(["RS256", "ES256"]));
    let keys = jwks(&t).await;
    assert_eq!(ktys(&keys), ["RSA", "EC"]);
    assert_ne!(keys["keys"][0]["kid"], keys["keys"][1]["kid"]);

    // The web client still gets RS256.
    let token = id_token(&t, WEB_SECRET).await;
    assert_eq!(header(&token)["alg"], "RS256");
    assert!(verifies_with_jwks(&t, &token, Algorithm::RS256).await);

    // Registered for ES256 itself, it gets ES256 from the P-256 key.
    t.idp
        .add_client(web_with(IdTokenAlg::ES256))
        .expect("web for ES256");
    let token = id_token(&t, WEB_SECRET).await;
    assert_es256(&token);
    assert_eq!(header(&token)["kid"], keys["keys"][1]["kid"]);
    assert!(verifies_with_jwks(&t, &token, Algorithm::ES256).await);

    // Its access token is still the provider's RS256 one, and its id_token is a logout hint.
    let code = t.code_for("alice", &[]).await;
    let access = t.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(t.userinfo(&access).await.status, StatusCode::OK);
    let mut url = url::Url::parse(&t.idp.end_session_endpoint()).expect("url");
    url.query_pairs_mut()
        .append_pair("id_token_hint", &token)
        .append_pair("post_logout_redirect_uri", AFTER_LOGOUT);
    let reply = read(t.http.get(url).send().await.expect("logout")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");

    // With no ES256 client left, the P-256 key and ES256 leave the JWKS and discovery.
    t.idp.remove_client(WEB);
    t.idp.remove_client("es-app");
    assert_eq!(ktys(&jwks(&t).await), ["RSA"]);
    assert_eq!(advertised(&t).await, serde_json::json!(["RS256"]));
}

// ID-SIG-ES256 with ID-KID: rotation and the kid faults work for the second key too.
#[tokio::test]
async fn the_second_key_rotates_and_takes_the_kid_faults() {
    let t = spawn_idp().await;
    t.idp
        .add_client(web_with(IdTokenAlg::ES256))
        .expect("web for ES256");
    let first = id_token(&t, WEB_SECRET).await;
    let old_kid = header(&first)["kid"].clone();
    t.idp.rotate_keys(false).expect("rotated");
    let rotated = id_token(&t, WEB_SECRET).await;
    assert_es256(&rotated);
    assert_ne!(
        header(&rotated)["kid"],
        old_kid,
        "signed by the new P-256 key"
    );
    assert!(verifies_with_jwks(&t, &rotated, Algorithm::ES256).await);
    assert!(
        verifies_with_jwks(&t, &first, Algorithm::ES256).await,
        "the old P-256 key is still published"
    );
    assert_eq!(ktys(&jwks(&t).await), ["RSA", "RSA", "EC", "EC"]);

    t.idp.fault(Fault::IdTokenUnknownKid).once();
    let token = id_token(&t, WEB_SECRET).await;
    assert_es256(&token);
    assert!(
        header(&token)["kid"]
            .as_str()
            .is_some_and(|k| k.starts_with("unknown-"))
    );
    t.idp.fault(Fault::IdTokenNoKid).once();
    let token = id_token(&t, WEB_SECRET).await;
    assert_es256(&token);
    assert!(header(&token).get("kid").is_none());
    t.idp.fault(Fault::IdTokenAlgNone).once();
    let token = id_token(&t, WEB_SECRET).await;
    assert_eq!(header(&token)["alg"], "none");
}

// ID-SIG-HS256: the faults spoil the MAC, or sign as the client did not register.
#[tokio::test]
async fn signature_faults_apply_to_an_hs256_client() {
    let t = spawn_idp().await;
    t.idp.add_client(hs256_web()).expect("an HS256 client");

    t.idp.fault(Fault::IdTokenBadSignature).once();
    let token = id_token(&t, LONG_SECRET).await;
    assert_eq!(header(&token)["alg"], "HS256");
    assert!(!mac_checks(&token, LONG_SECRET), "a broken MAC");

    t.idp.fault(Fault::IdTokenOtherAlg).once();
    let token = id_token(&t, LONG_SECRET).await;
    assert_eq!(header(&token)["alg"], "RS256");
    assert!(verifies_with_jwks(&t, &token, Algorithm::RS256).await);

    // And back to a good MAC.
    let token = id_token(&t, LONG_SECRET).await;
    assert!(mac_checks(&token, LONG_SECRET));
}

// ID-SIG-HS256: an HS256 id_token, keyed with its own secret, to an RS256 client.
#[tokio::test]
async fn other_alg_macs_an_rs256_clients_id_token_with_its_secret() {
    let t = spawn_idp().await;
    t.idp.fault(Fault::IdTokenOtherAlg).once();
    let token = id_token(&t, WEB_SECRET).await;
    assert_eq!(header(&token)["alg"], "HS256");
    assert!(mac_checks(&token, WEB_SECRET));
    assert!(!verifies_with_jwks(&t, &token, Algorithm::RS256).await);
}

// TK-HS256 with LO-RP-INITIATED: the provider takes its own HS256 id_token as a logout hint.
#[tokio::test]
async fn an_hs256_id_token_is_a_logout_hint() {
    let t = spawn_idp().await;
    t.idp.add_client(hs256_web()).expect("an HS256 client");
    let hint = id_token(&t, LONG_SECRET).await;
    let mut url = url::Url::parse(&t.idp.end_session_endpoint()).expect("url");
    url.query_pairs_mut()
        .append_pair("id_token_hint", &hint)
        .append_pair("post_logout_redirect_uri", AFTER_LOGOUT);
    let reply = read(t.http.get(url.clone()).send().await.expect("logout")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    assert_eq!(
        reply.location().as_str().split('?').next(),
        Some(AFTER_LOGOUT)
    );

    // A forged MAC is not a hint of this provider.
    let (signed, _) = hint.rsplit_once('.').expect("jws");
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
    let mut url = url::Url::parse(&t.idp.end_session_endpoint()).expect("url");
    url.query_pairs_mut().append_pair("id_token_hint", &forged);
    let reply = read(t.http.get(url).send().await.expect("logout")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
}
