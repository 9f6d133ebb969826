use crate::helpers::*;
use reqwest::StatusCode;

async fn refresh(t: &TestIdp, token: &str) -> Reply {
    t.token(
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
        Some(&basic(WEB, WEB_SECRET)),
    )
    .await
}

#[tokio::test]
async fn a_refresh_token_rotates_and_a_replayed_one_revokes_its_family() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let first = t.exchange(&code).await.json();
    let r1 = first["refresh_token"].as_str().expect("r1").to_owned();
    let second = refresh(&t, &r1).await;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.json();
    let r2 = second["refresh_token"].as_str().expect("r2").to_owned();
    let a2 = second["access_token"].as_str().expect("a2").to_owned();
    assert_ne!(r1, r2);
    assert_eq!(t.userinfo(&a2).await.status, StatusCode::OK);

    // r1 again: a replay. The whole family dies, r2 included.
    assert_eq!(refresh(&t, &r1).await.error(), "invalid_grant");
    assert_eq!(t.userinfo(&a2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&t, &r2).await.error(), "invalid_grant");
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[("scope", "openid email")]).await;
    let r = t.exchange(&code).await.json()["refresh_token"]
        .as_str()
        .expect("r")
        .to_owned();
    let with_scope = |token: String, scope: &'static str| {
        let t = &t;
        async move {
            t.token(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                    ("scope", scope),
                ],
                Some(&basic(WEB, WEB_SECRET)),
            )
            .await
        }
    };
    let wide = with_scope(r.clone(), "openid email phone").await;
    assert_eq!(wide.error(), "invalid_scope");

    // Narrowing works, and the new tokens carry only the narrower scope.
    let narrow = with_scope(r, "openid").await;
    assert_eq!(narrow.status, StatusCode::OK, "{narrow:?}");
    let narrow = narrow.json();
    assert_eq!(narrow["scope"], "openid");
    let id = claims(narrow["id_token"].as_str().expect("id_token"));
    assert!(
        id.get("email").is_none(),
        "email not granted any more: {id}"
    );
    let access = narrow["access_token"].as_str().expect("access");
    assert_eq!(claims(access)["scope"], "openid");
    let info = t.userinfo(access).await.json();
    assert!(info.get("email").is_none(), "{info}");
}

// A refused wider scope must not spend the token: the client's retry is not a replay.
#[tokio::test]
async fn a_refused_wider_scope_leaves_the_refresh_token_usable() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[("scope", "openid email")]).await;
    let first = t.exchange(&code).await.json();
    let r = first["refresh_token"].as_str().expect("r").to_owned();
    let access = first["access_token"].as_str().expect("a").to_owned();
    let wide = t
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r),
                ("scope", "openid email phone"),
            ],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(wide.error(), "invalid_scope");
    let retry = refresh(&t, &r).await;
    assert_eq!(retry.status, StatusCode::OK, "{retry:?}");
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::OK,
        "the family was not revoked"
    );
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant() {
    let t = spawn_idp().await;
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "other",
            "other-secret",
            WEB_REDIRECT,
        ))
        .expect("client");
    let code = t.code_for("alice", &[]).await;
    let r = t.exchange(&code).await.json()["refresh_token"]
        .as_str()
        .expect("r")
        .to_owned();
    let foreign = t
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &r)],
            Some(&basic("other", "other-secret")),
        )
        .await;
    assert_eq!(foreign.error(), "invalid_grant");
    assert_eq!(
        refresh(&t, &r).await.status,
        StatusCode::OK,
        "untouched by the foreign attempt"
    );
}
