//! HTTPS with a real TLS handshake: a provider started with `Config::tls` generates a CA and a certificate
//! for 127.0.0.1, and a client that trusts the CA file does discovery and a full login over it.

use mock_idp::{Config, MockIdp, TlsConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn tls_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mock-idp-tls-test-{}", reference_token()))
}

fn reference_token() -> String {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn tls_idp(dir: &std::path::Path) -> MockIdp {
    MockIdp::start(Config {
        tls: Some(TlsConfig {
            dir: Some(dir.display().to_string()),
            ..TlsConfig::default()
        }),
        ..Config::builtin()
    })
    .await
    .expect("starts with TLS")
}

fn trusting(ca: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(ca).expect("CA file");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_tls_provider_serves_discovery_and_a_full_login_to_a_client_trusting_its_ca() {
    let dir = tls_dir();
    let idp = tls_idp(&dir).await;
    assert_eq!(idp.issuer(), format!("https://{}", idp.addr()));
    let ca = idp.tls_ca_file().expect("a generated CA").to_path_buf();
    assert_eq!(ca, dir.join("ca.pem"));
    let http = trusting(&ca);

    let meta: Value = http
        .get(idp.discovery_url())
        .send()
        .await
        .expect("TLS handshake and discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["issuer"], idp.issuer());
    assert!(
        meta["token_endpoint"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );

    idp.next_login("alice");
    let answer = http
        .get(idp.authorization_endpoint())
        .query(&[
            ("response_type", "code"),
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let location =
        url::Url::parse(answer.headers()["location"].to_str().expect("ascii")).expect("url");
    let code = param(&location, "code").expect("code");
    assert_eq!(param(&location, "iss").as_deref(), Some(idp.issuer()));
    let tokens: Value = http
        .post(idp.token_endpoint())
        .header("authorization", basic(WEB, WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    assert_eq!(claims(id_token)["iss"], idp.issuer());
    idp.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake_and_the_server_keeps_serving() {
    let dir = tls_dir();
    let idp = tls_idp(&dir).await;
    let stranger = reqwest::Client::new();
    let err = stranger
        .get(idp.discovery_url())
        .send()
        .await
        .expect_err("an untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP to the TLS port gets nothing useful either.
    let plain = reqwest::Client::new()
        .get(idp.discovery_url().replacen("https://", "http://", 1))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));
    let ca = idp.tls_ca_file().expect("CA").to_path_buf();
    let ok = trusting(&ca)
        .get(idp.discovery_url())
        .send()
        .await
        .expect("still serving");
    assert_eq!(ok.status(), StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_generated_certificate_is_kept_and_reused_on_the_next_start() {
    let dir = tls_dir();
    let first = tls_idp(&dir).await;
    let ca = std::fs::read_to_string(dir.join("ca.pem")).expect("CA");
    let cert = std::fs::read_to_string(dir.join("cert.pem")).expect("cert");
    first.shutdown().await;
    let second = tls_idp(&dir).await;
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).expect("CA"), ca);
    assert_eq!(
        std::fs::read_to_string(dir.join("cert.pem")).expect("cert"),
        cert
    );
    // A client that trusted the first start trusts the second.
    let ok = trusting(&dir.join("ca.pem"))
        .get(second.discovery_url())
        .send()
        .await
        .expect("trusted");
    assert_eq!(ok.status(), StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_given_certificate_and_key_are_served() {
    let dir = tls_dir();
    // Generate a set once, then serve its certificate and key as given files.
    drop(tls_idp(&dir).await);
    let idp = MockIdp::start(Config {
        tls: Some(TlsConfig {
            cert: Some(dir.join("cert.pem").display().to_string()),
            key: Some(dir.join("key.pem").display().to_string()),
            dir: None,
        }),
        ..Config::builtin()
    })
    .await
    .expect("starts");
    assert!(idp.tls_ca_file().is_none(), "nothing generated");
    let ok = trusting(&dir.join("ca.pem"))
        .get(idp.discovery_url())
        .send()
        .await
        .expect("trusted");
    assert_eq!(ok.status(), StatusCode::OK);
    let missing = MockIdp::start(Config {
        tls: Some(TlsConfig {
            cert: Some(dir.join("nope.pem").display().to_string()),
            key: Some(dir.join("key.pem").display().to_string()),
            dir: None,
        }),
        ..Config::builtin()
    })
    .await
    .expect_err("no such file");
    assert!(missing.to_string().contains("tls.cert"), "{missing}");
    let _ = std::fs::remove_dir_all(dir);
}
