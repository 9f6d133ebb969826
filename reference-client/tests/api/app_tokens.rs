//! Step 6: `/api/me` accepts only the backend's own, intact, unexpired JWT.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{CLIENT_ID, CLIENT_SECRET, JWT_KEY, assert_error, query_map, spawn_app};

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn payload(token: &str) -> Value {
    let p = URL_SAFE_NO_PAD
        .decode(&parts(token)[1])
        .expect("base64url payload");
    serde_json::from_slice(&p).expect("json payload")
}

fn sign_hs256(claims: &Value, typ: &str, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).expect("sign")
}

// JWT-VERIFY
#[tokio::test]
async fn a_tampered_token_is_rejected() {
    let app = spawn_app().await;
    let token = app.token_for("bob").await;
    let mut claims = payload(&token);
    claims["role"] = json!("admin");
    claims["sub"] = json!("1");
    let p = parts(&token);
    let forged = format!(
        "{}.{}.{}",
        p[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        p[2]
    );

    assert_error(
        app.get_me(&forged).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_eq!(
        app.get_me(&token).await.status(),
        StatusCode::OK,
        "the untampered token works"
    );
}

// JWT-VERIFY (alg none)
#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let header = URL_SAFE_NO_PAD.encode(
        json!({ "alg": "none", "typ": reference_client::app_jwt::APP_JWT_TYP }).to_string(),
    );
    let body = parts(&token)[1].clone();

    assert_error(
        app.get_me(&format!("{header}.{body}.")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

// JWT-VERIFY (expiry on the application clock)
#[tokio::test]
async fn an_expired_token_is_rejected() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;

    app.state
        .clock
        .advance(app.state.settings.jwt_ttl + Duration::from_secs(1));

    assert_error(
        app.get_me(&token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

// JWT-VERIFY (wrong aud / iss, future nbf), JWT-TYPE (typ)
#[tokio::test]
async fn a_token_for_another_audience_issuer_or_type_is_rejected_even_with_our_key() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let good = payload(&token);
    let typ = reference_client::app_jwt::APP_JWT_TYP;

    let mut other_aud = good.clone();
    other_aud["aud"] = json!("another-api");
    let mut other_iss = good.clone();
    other_iss["iss"] = json!("someone-else");
    let mut future = good.clone();
    future["nbf"] = json!(good["iat"].as_u64().expect("iat") + 3600);
    for forged in [
        sign_hs256(&other_aud, typ, JWT_KEY.as_bytes()),
        sign_hs256(&other_iss, typ, JWT_KEY.as_bytes()),
        sign_hs256(&future, typ, JWT_KEY.as_bytes()),
        sign_hs256(&good, "JWT", JWT_KEY.as_bytes()),
        sign_hs256(&good, typ, b"another-key-that-is-long-enough-000000"),
    ] {
        assert_error(
            app.get_me(&forged).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
    }
    assert_eq!(
        app.get_me(&sign_hs256(&good, typ, JWT_KEY.as_bytes()))
            .await
            .status(),
        StatusCode::OK
    );
}

// JWT-TYPE: the provider's id_token and access token are not app JWTs.
#[tokio::test]
async fn the_providers_own_tokens_are_not_accepted_as_app_tokens() {
    let app = spawn_app().await;
    let idp = app.idp();
    // Play a client of the IdP directly (no PKCE: the test client allows it) to obtain its tokens.
    idp.next_login("alice");
    let redirect_uri = format!("{}/callback", app.address);
    let b = crate::helpers::browser();
    let authorize = b
        .get(idp.authorization_endpoint())
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid profile"),
            ("state", "s-123456789"),
            ("nonce", "n-123456789"),
        ])
        .send()
        .await
        .expect("authorize");
    let location =
        url::Url::parse(authorize.headers()["location"].to_str().expect("ascii")).expect("url");
    let code = query_map(&location)["code"].clone();
    let tokens: Value = b
        .post(idp.token_endpoint())
        .basic_auth(
            url::form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>(),
            Some(
                url::form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect::<String>(),
            ),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");

    for key in ["id_token", "access_token"] {
        let token = tokens[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {tokens}"));
        assert_error(
            app.get_me(token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
    }
}

// JWT-VERIFY
#[tokio::test]
async fn a_request_without_credentials_is_unauthorized() {
    let app = spawn_app().await;
    let response = app.get("/api/me").await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
