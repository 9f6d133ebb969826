use std::time::Duration;

use crate::helpers::*;
use reqwest::StatusCode;

// RS-BEARER
#[tokio::test]
async fn userinfo_returns_claims_for_a_live_token_and_401_otherwise() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let body = t.exchange(&code).await.json();
    let access = body["access_token"].as_str().expect("a").to_owned();
    let info = t.userinfo(&access).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["sub"], "248289761001");
    assert_eq!(info.json()["email"], "alice@example.com");

    let missing = read(
        t.http
            .get(t.idp.userinfo_endpoint())
            .send()
            .await
            .expect("get"),
    )
    .await;
    // No token at all: a challenge without an error code (RFC 6750 §3.1).
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let challenge = missing.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && !challenge.contains("error="),
        "{challenge}"
    );
    let garbage = t.userinfo("garbage").await;
    let id_token = t.userinfo(body["id_token"].as_str().expect("id")).await;
    for r in [&garbage, &id_token] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .starts_with("Bearer")
        );
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .contains("error=\"invalid_token\"")
        );
    }
    t.idp.clock().advance(Duration::from_secs(3601));
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::UNAUTHORIZED,
        "expired"
    );
}

// RS-BEARER-BODY
#[tokio::test]
async fn userinfo_takes_the_token_in_a_form_body_but_one_way_only_and_never_in_the_query() {
    let t = spawn_idp().await;
    let access = t.access_token_of("alice").await;
    let url = t.idp.userinfo_endpoint();
    let in_body = read(
        t.http
            .post(&url)
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(in_body.status, StatusCode::OK, "{}", in_body.body);
    assert_eq!(in_body.json()["sub"], "248289761001");
    let both = read(
        t.http
            .post(&url)
            .bearer_auth(&access)
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .expect("post"),
    )
    .await;
    let repeated = read(
        t.http
            .post(&url)
            .form(&[
                ("access_token", access.as_str()),
                ("access_token", access.as_str()),
            ])
            .send()
            .await
            .expect("post"),
    )
    .await;
    let in_query = read(
        t.http
            .get(format!("{url}?access_token={access}"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    for r in [&both, &repeated, &in_query] {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.json()["error"], "invalid_request");
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .contains("error=\"invalid_request\"")
        );
    }
    // A body that is not form-encoded carries no token.
    let json_body = read(
        t.http
            .post(&url)
            .json(&serde_json::json!({"access_token": access}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(json_body.status, StatusCode::UNAUTHORIZED);
}

// RV-REVOKE, RS-BEARER, IN-INTROSPECT
#[tokio::test]
async fn a_revoked_access_token_stops_working_and_introspects_inactive() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let access = t.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("a")
        .to_owned();
    let r = t.revoke(&[("token", &access)], WEB, WEB_SECRET).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.introspect(&access, WEB, WEB_SECRET).await.json(),
        serde_json::json!({"active": false})
    );
}

// RV-REVOKE
#[tokio::test]
async fn revocation_follows_rfc_7009() {
    let t = spawn_idp().await;
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "other",
            "other-secret",
            WEB_REDIRECT,
        ))
        .expect("client");
    assert_eq!(
        t.revoke(&[("token", "unknown")], WEB, WEB_SECRET)
            .await
            .status,
        StatusCode::OK
    );
    let bad = t.revoke(&[("token", "unknown")], WEB, "wrong").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.error(), "invalid_client");
    assert_eq!(
        t.revoke(
            &[("token", "x"), ("token_type_hint", "id_token")],
            WEB,
            WEB_SECRET
        )
        .await
        .error(),
        "unsupported_token_type"
    );

    let code = t.code_for("alice", &[]).await;
    let body = t.exchange(&code).await.json();
    let access = body["access_token"].as_str().expect("a").to_owned();
    let refresh = body["refresh_token"].as_str().expect("r").to_owned();
    let foreign = t
        .revoke(&[("token", &access)], "other", "other-secret")
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::OK,
        "another client cannot revoke it"
    );
    // Revoking the refresh token revokes the grant's access tokens too (RFC 7009 §2.1).
    assert_eq!(
        t.revoke(
            &[("token", &refresh), ("token_type_hint", "refresh_token")],
            WEB,
            WEB_SECRET
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(t.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
}

// IN-INTROSPECT
#[tokio::test]
async fn introspection_needs_client_authentication_and_describes_live_tokens() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let body = t.exchange(&code).await.json();
    let access = body["access_token"].as_str().expect("a").to_owned();
    let unauth = read(
        t.http
            .post(t.idp.introspection_endpoint())
            .form(&[("token", access.as_str())])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(unauth.error(), "invalid_client");
    let live = t.introspect(&access, WEB, WEB_SECRET).await.json();
    assert_eq!(live["active"], true);
    assert_eq!(live["sub"], "248289761001");
    assert_eq!(live["client_id"], "web");
    assert_eq!(live["username"], "alice");
    assert_eq!(
        t.introspect("nonsense", WEB, WEB_SECRET).await.json(),
        serde_json::json!({"active": false})
    );
    let refresh = t
        .introspect(body["refresh_token"].as_str().expect("r"), WEB, WEB_SECRET)
        .await
        .json();
    assert_eq!(refresh["active"], true);
}

#[tokio::test]
async fn a_token_minted_by_the_cli_path_is_accepted_by_userinfo() {
    let t = spawn_idp().await;
    let request = mock_idp::MintRequest {
        user: "bob".into(),
        client: "web".into(),
        scope: Some("openid profile".into()),
        ..Default::default()
    };
    let body = t.idp.mint_tokens(&request).expect("mint");
    let info = t.userinfo(body["access_token"].as_str().expect("a")).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["preferred_username"], "bob");
}

// RS-BEARER: RFC 6750 §3.1, a token without the scope a resource needs gets the insufficient_scope challenge.
#[tokio::test]
async fn userinfo_without_openid_answers_403_with_an_insufficient_scope_challenge() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[("scope", "profile")]).await;
    let access = t.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let r = t.userinfo(&access).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), "insufficient_scope");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"openid\""), "{challenge}");
}

// RV-REVOKE: RFC 7009 §2.1, another client's refresh token is refused like its access token, and survives.
#[tokio::test]
async fn revoking_another_clients_refresh_token_is_refused_and_changes_nothing() {
    let t = spawn_idp().await;
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "other",
            "other-secret",
            WEB_REDIRECT,
        ))
        .expect("client");
    let body = t.exchange(&t.code_for("alice", &[]).await).await.json();
    let access = body["access_token"].as_str().expect("a").to_owned();
    let refresh = body["refresh_token"].as_str().expect("r").to_owned();
    for token in [&refresh, &access] {
        let foreign = t.revoke(&[("token", token)], "other", "other-secret").await;
        assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{foreign:?}");
        assert_eq!(foreign.error(), "unauthorized_client");
    }
    assert_eq!(t.userinfo(&access).await.status, StatusCode::OK);
    let rotated = t
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
}
