use crate::helpers::*;
use reqwest::StatusCode;

// TK-HAPPY
#[tokio::test]
async fn a_valid_code_exchange_returns_bearer_tokens_with_no_store() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[("nonce", "n-0S6_WzA2Mj")]).await;
    let r = t.exchange(&code).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|e| e > 0));
    assert!(body["refresh_token"].is_string());
    let access = body["access_token"].as_str().expect("access");
    assert_eq!(
        jsonwebtoken::decode_header(access)
            .expect("access token is a JWT")
            .alg,
        jsonwebtoken::Algorithm::RS256
    );
    let id = claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["iss"], t.idp.issuer());
    assert_eq!(id["aud"], "web");
    assert_eq!(id["sub"], "248289761001");
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    for k in ["exp", "iat", "auth_time", "at_hash"] {
        assert!(id[k].is_number() || id[k].is_string(), "{k} missing");
    }
    assert_eq!(id["name"], "Alice Adams");
    assert_eq!(id["email"], "alice@example.com");
    // The built-in pictures are this provider's generated avatars, made absolute.
    assert_eq!(id["picture"], t.idp.avatar_url("alice"));
    // at_hash is the base64url of the left half of SHA-256 of the access token's ASCII (Core §3.1.3.6),
    // recomputed here without the server's own function.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(access.as_bytes());
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &digest[..16],
    );
    assert_eq!(id["at_hash"], expected);
    assert_eq!(expected.len(), 22, "128 bits");
}

#[tokio::test]
async fn claims_follow_the_granted_scopes() {
    let t = spawn_idp().await;
    let code = t.code_for("bob", &[("scope", "openid")]).await;
    let id = claims(
        t.exchange(&code).await.json()["id_token"]
            .as_str()
            .expect("id"),
    );
    assert!(id.get("email").is_none() && id.get("name").is_none());
    let code = t.code_for("bob", &[("scope", "profile")]).await;
    assert!(
        t.exchange(&code).await.json().get("id_token").is_none(),
        "no id_token without openid"
    );
}

// TK-REDIRECT-MISMATCH
#[tokio::test]
async fn a_different_or_missing_redirect_uri_at_the_token_endpoint_is_invalid_grant() {
    let t = spawn_idp().await;
    for form_redirect in [
        Some("http://127.0.0.1:3000/callback/"),
        Some("http://127.0.0.1:3000/other"),
        None,
    ] {
        let code = t.code_for("alice", &[]).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(r) = form_redirect {
            form.push(("redirect_uri", r));
        }
        let r = t.token(&form, Some(&basic(WEB, WEB_SECRET))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form_redirect:?}");
        assert_eq!(r.error(), "invalid_grant");
    }
}

// TK-GRANT, TK-ERROR-SHAPE
#[tokio::test]
async fn grant_errors_follow_rfc_6749_section_5_2() {
    let t = spawn_idp().await;
    let auth = basic(WEB, WEB_SECRET);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("grant_type", "password"), ("username", "alice")],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", WEB_REDIRECT),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "garbage"),
                ("redirect_uri", WEB_REDIRECT),
            ],
            "invalid_grant",
        ),
        (vec![("code", "x")], "invalid_request"),
        (
            vec![("grant_type", "client_credentials")],
            "unauthorized_client",
        ),
    ];
    for (form, expected) in cases {
        let r = t.token(&form, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form:?}");
        assert_eq!(r.error(), expected, "{form:?}");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
    }
}

// TK-GRANT
#[tokio::test]
async fn a_get_or_a_non_form_body_is_rejected() {
    let t = spawn_idp().await;
    let r = read(
        t.http
            .get(t.idp.token_endpoint())
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error(), "invalid_request");
    let r = read(
        t.http
            .post(t.idp.token_endpoint())
            .header("authorization", basic(WEB, WEB_SECRET))
            .json(&serde_json::json!({"grant_type": "authorization_code", "code": "x"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_repeated_token_parameter_is_invalid_request() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let r = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn client_credentials_issues_an_access_token_for_the_client_only() {
    let t = spawn_idp().await;
    let r = t
        .token(
            &[("grant_type", "client_credentials")],
            Some(&basic("service", "service-secret")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let body = r.json();
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    assert_eq!(
        claims(body["access_token"].as_str().expect("a"))["sub"],
        "service"
    );
    let r = t
        .token(
            &[("grant_type", "client_credentials"), ("scope", "openid")],
            Some(&basic("service", "service-secret")),
        )
        .await;
    assert_eq!(r.error(), "invalid_scope");
}

#[tokio::test]
async fn the_handle_counts_token_requests() {
    let t = spawn_idp().await;
    assert_eq!(t.idp.token_requests(), 0);
    let code = t.code_for("alice", &[]).await;
    t.exchange(&code).await;
    t.exchange(&code).await;
    assert_eq!(t.idp.token_requests(), 2);
}

// A client's access-token lifetime can change while the server runs (the harness shortens the backend's to
// make it refresh); its secret stays as registered.
#[tokio::test]
async fn a_clients_access_token_lifetime_changes_in_place() {
    let t = spawn_idp().await;
    let before = t
        .idp
        .update_client(WEB, |c| c.access_token_ttl = Some(60))
        .expect("web is registered");
    assert_eq!(before.access_token_ttl, None);
    let code = t.code_for("alice", &[]).await;
    let answer = t.exchange(&code).await;
    assert_eq!(answer.json()["expires_in"], 60, "{answer:?}");
    assert!(t.idp.update_client("nobody", |_| {}).is_none());
}
