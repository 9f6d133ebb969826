//! Tokens for a user without a browser (issue 22): the handle's `mint_tokens`, `POST
//! /admin/tenants/TENANT/tokens` and the CLI are one operation. The tokens verify against the JWKS and work
//! at userinfo like a login's; extra claims and the lifetime land in them; an error names its field.

use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use mock_idp::{Config, MintRequest, MockIdp, Persona, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn admin_idp(token: Option<&str>) -> MockIdp {
    let mut config = Config::builtin();
    config.admin = true;
    config.admin_token = token.map(Secret::from);
    MockIdp::start(config).await.expect("start")
}

/// POSTs a mint request to the admin API of `idp`'s tenant `tenant`.
async fn mint_over_http(idp: &MockIdp, tenant: &str, body: Value, token: Option<&str>) -> Reply {
    let mut req = browser()
        .post(format!("{}/admin/tenants/{tenant}/tokens", idp.issuer()))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    read(req.send().await.expect("mint request")).await
}

/// The claims of `jwt` once its signature verifies against the provider's JWKS.
async fn verified(idp: &MockIdp, jwt: &str) -> Value {
    let jwks: JwkSet = browser()
        .get(idp.jwks_uri())
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("JWKS JSON");
    let header = jsonwebtoken::decode_header(jwt).expect("header");
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.common.key_id == header.kid)
        .expect("the JWKS holds the token's key");
    let mut validation = Validation::new(header.alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).expect("key"), &validation)
        .expect("the signature verifies")
        .claims
}

#[tokio::test]
async fn tokens_minted_over_the_admin_api_verify_carry_the_extras_and_work_at_userinfo() {
    let idp = admin_idp(None).await;
    let reply = mint_over_http(
        &idp,
        "root",
        json!({"user": "alice", "client": "web", "claims": {"role": "admin", "org": 7}, "lifetime": 120}),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["scope"], "openid profile email");
    assert!(body.get("refresh_token").is_none(), "{body}");

    let access = body["access_token"].as_str().expect("access_token");
    let at = verified(&idp, access).await;
    assert_eq!(at["sub"], "248289761001");
    assert_eq!(at["client_id"], "web");
    assert_eq!(at["role"], "admin");
    assert_eq!(at["org"], 7);
    assert_eq!(
        at["exp"].as_u64().unwrap_or_default() - at["iat"].as_u64().unwrap_or_default(),
        120
    );
    let id = verified(&idp, body["id_token"].as_str().expect("id_token")).await;
    assert_eq!(id["aud"], "web");
    assert_eq!(id["iss"], idp.issuer());
    assert_eq!(id["role"], "admin");
    assert_eq!(id["name"], "Alice Adams");

    let info = browser()
        .get(idp.userinfo_endpoint())
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.expect("userinfo JSON");
    assert_eq!(info["sub"], "248289761001");
}

#[tokio::test]
async fn the_handle_mints_through_the_same_operation() {
    let idp = MockIdp::start(Config::builtin()).await.expect("start");
    let body = idp
        .mint_tokens(&MintRequest {
            user: "bob".into(),
            client: "web-post".into(),
            scope: Some("openid".into()),
            ..Default::default()
        })
        .expect("minted");
    let id = claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["sub"], "248289761002");
    assert_eq!(id["aud"], "web-post");
    assert!(
        id.get("email").is_none(),
        "scope openid alone releases no email: {id}"
    );
    let no_openid = idp
        .mint_tokens(&MintRequest {
            user: "bob".into(),
            client: "web".into(),
            scope: Some("profile".into()),
            ..Default::default()
        })
        .expect("minted");
    assert!(no_openid.get("id_token").is_none(), "{no_openid}");
}

#[tokio::test]
async fn a_bad_mint_request_names_its_field_and_issues_nothing() {
    let idp = admin_idp(None).await;
    let before = idp.token_requests();
    for (body, field) in [
        (json!({"user": "mallory", "client": "web"}), "user:"),
        (json!({"user": "alice", "client": "nope"}), "client:"),
        (json!({"user": "alice", "client": "service"}), "client:"),
        (
            json!({"user": "alice", "client": "web", "scope": " "}),
            "scope:",
        ),
        (
            json!({"user": "alice", "client": "web", "claims": {"sub": "x"}}),
            "claims.sub:",
        ),
        (
            json!({"user": "alice", "client": "web", "claims": {"iss": "x"}}),
            "claims.iss:",
        ),
        (
            json!({"user": "alice", "client": "web", "lifetime": 0}),
            "lifetime:",
        ),
        (
            json!({"user": "alice", "client": "web", "lifetime": 400_000_000}),
            "lifetime:",
        ),
        (
            json!({"user": "alice", "client": "web", "colour": "red"}),
            "colour",
        ),
        (json!({"client": "web"}), "user"),
    ] {
        let reply = mint_over_http(&idp, "root", body.clone(), None).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        let description = reply.json()["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(description.contains(field), "{body}: {description}");
    }
    let missing = mint_over_http(
        &idp,
        "nowhere",
        json!({"user": "alice", "client": "web"}),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        idp.token_requests(),
        before,
        "nothing went through the token endpoint"
    );

    let github = idp
        .create_tenant(
            Some("gh"),
            Some(Config {
                persona: Persona::Github,
                ..Config::builtin()
            }),
        )
        .expect("tenant");
    let err = github
        .mint_tokens(&MintRequest {
            user: "alice".into(),
            client: "web".into(),
            ..Default::default()
        })
        .expect_err("a GitHub persona mints no JWTs");
    assert_eq!(err.field, "tenant");
}

#[tokio::test]
async fn with_an_admin_token_minting_needs_it() {
    let idp = admin_idp(Some("s3cret-admin-token")).await;
    let body = json!({"user": "alice", "client": "web"});
    for token in [None, Some("wrong")] {
        let reply = mint_over_http(&idp, "root", body.clone(), token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = mint_over_http(&idp, "root", body, Some("s3cret-admin-token")).await;
    assert_eq!(reply.status, StatusCode::OK);
}
