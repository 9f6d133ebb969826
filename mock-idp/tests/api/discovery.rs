use crate::helpers::*;
use reqwest::StatusCode;

// MD-DOC
#[tokio::test]
async fn discovery_names_this_issuer_and_every_endpoint_it_serves() {
    let t = spawn_idp().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = read(t.http.get(t.idp.url(path)).send().await.expect("get"))
            .await
            .json();
        assert_eq!(doc["issuer"], t.idp.issuer());
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let methods = doc["token_endpoint_auth_methods_supported"].to_string();
        for m in ["client_secret_basic", "client_secret_post", "none"] {
            assert!(methods.contains(m), "{methods}");
        }
        for key in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "introspection_endpoint",
        ] {
            let url = doc[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
            assert!(url.starts_with(t.idp.issuer()), "{key}: {url}");
        }
        // Every advertised GET endpoint answers (the POST-only ones answer a GET with a protocol error, not 404).
        for key in [
            "jwks_uri",
            "token_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
            "authorization_endpoint",
            "userinfo_endpoint",
        ] {
            let r = t
                .http
                .get(doc[key].as_str().expect("url"))
                .send()
                .await
                .expect("get");
            assert_ne!(r.status(), StatusCode::NOT_FOUND, "{key}");
        }
    }
}

#[tokio::test]
async fn jwks_publishes_the_kid_that_signs_id_tokens() {
    let t = spawn_idp().await;
    let jwks = read(t.http.get(t.idp.jwks_uri()).send().await.expect("jwks"))
        .await
        .json();
    let code = t.code_for("alice", &[]).await;
    let id_token = t.exchange(&code).await.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    let header = jsonwebtoken::decode_header(&id_token).expect("header");
    let kid = header.kid.expect("kid");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("kid in JWKS")
            .clone(),
    )
    .expect("jwk");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["web"]);
    v.set_issuer(&[t.idp.issuer()]);
    jsonwebtoken::decode::<serde_json::Value>(
        &id_token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key"),
        &v,
    )
    .expect("id_token verifies against the JWKS");
}

#[tokio::test]
async fn es256_can_be_selected() {
    let mut config = mock_idp::Config::builtin();
    config.signing_alg = mock_idp::SigningAlg::ES256;
    let t = spawn_idp_with(config).await;
    let doc = read(t.http.get(t.idp.discovery_url()).send().await.expect("get"))
        .await
        .json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let code = t.code_for("alice", &[]).await;
    let id_token = t.exchange(&code).await.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&id_token).expect("header").alg,
        jsonwebtoken::Algorithm::ES256
    );
}

#[tokio::test]
async fn many_servers_run_side_by_side_with_their_own_issuers() {
    let a = spawn_idp().await;
    let b = spawn_idp().await;
    assert_ne!(a.idp.issuer(), b.idp.issuer());
    let code = a.code_for("alice", &[]).await;
    assert_eq!(b.exchange(&code).await.error(), "invalid_grant");
    assert_eq!(a.exchange(&code).await.status, StatusCode::OK);
    a.idp.shutdown().await;
    b.idp.shutdown().await;
}
