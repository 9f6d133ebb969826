use std::time::Duration;

use crate::helpers::*;
use reqwest::StatusCode;

// CODE-REPLAY, CODE-REPLAY-REVOKE
#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_the_first_tokens() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let first = t.exchange(&code).await.json();
    let access = first["access_token"].as_str().expect("access").to_owned();
    let refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(t.userinfo(&access).await.status, StatusCode::OK);
    assert_eq!(
        t.introspect(&access, WEB, WEB_SECRET).await.json()["active"],
        true
    );

    let replay = t.exchange(&code).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.error(), "invalid_grant");

    let info = t.userinfo(&access).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);
    assert!(
        info.header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(
        t.introspect(&access, WEB, WEB_SECRET).await.json(),
        serde_json::json!({"active": false})
    );
    let r = t
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(
        r.error(),
        "invalid_grant",
        "the refresh token of a replayed code is dead too"
    );
}

// CODE-REPLAY (after 30 s)
#[tokio::test]
async fn a_code_replayed_after_thirty_seconds_still_revokes() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let access = t.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("a")
        .to_owned();
    t.idp.clock().advance(Duration::from_secs(30));
    assert_eq!(t.exchange(&code).await.error(), "invalid_grant");
    assert_eq!(t.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
}

// CODE-EXPIRY
#[tokio::test]
async fn a_code_older_than_its_lifetime_is_invalid_grant() {
    let t = spawn_idp().await;
    // Frozen: only the advances below move time, so "59 s of 60" cannot become 60 on a slow machine.
    t.idp.clock().freeze();
    let code = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(61));
    let r = t.exchange(&code).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
    // Just inside the lifetime it works.
    let code = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(59));
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_code_lifetime_is_configurable() {
    let mut config = mock_idp::Config::builtin();
    config.code_ttl = 5;
    let t = spawn_idp_with(config).await;
    let code = t.code_for("alice", &[]).await;
    t.idp.clock().advance(Duration::from_secs(6));
    assert_eq!(t.exchange(&code).await.error(), "invalid_grant");
}

// CODE-ATOMIC
#[tokio::test]
async fn of_thirty_two_concurrent_redemptions_exactly_one_succeeds() {
    let t = spawn_idp().await;
    for _round in 0..3 {
        let code = t.code_for("alice", &[]).await;
        let replies = futures::future::join_all((0..32).map(|_| t.exchange(&code))).await;
        let ok = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "exactly one success");
        assert!(
            replies
                .iter()
                .filter(|r| r.status != StatusCode::OK)
                .all(|r| r.error() == "invalid_grant")
        );
    }
}

// CODE-ENTROPY
#[tokio::test]
async fn codes_are_unique_and_carry_at_least_128_bits() {
    let t = spawn_idp().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let code = t.code_for("alice", &[]).await;
        // base64url: 6 bits per character.
        assert!(code.len() * 6 >= 128, "{code}");
        assert!(seen.insert(code));
    }
}

// TK-CODE-OTHER-CLIENT, CODE-REVOKE-OWNER
#[tokio::test]
async fn another_clients_code_is_invalid_grant_and_revokes_nothing() {
    let t = spawn_idp().await;
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "other",
            "other-secret",
            WEB_REDIRECT,
        ))
        .expect("client");
    let code = t.code_for("alice", &[]).await;
    let first = t.exchange(&code).await.json();
    let access = first["access_token"].as_str().expect("a").to_owned();
    let foreign = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic("other", "other-secret")),
        )
        .await;
    assert_eq!(foreign.error(), "invalid_grant");
    assert_eq!(
        t.userinfo(&access).await.status,
        StatusCode::OK,
        "a foreign client cannot trigger revocation"
    );

    // And a foreign client cannot burn a fresh code either.
    let code = t.code_for("alice", &[]).await;
    let foreign = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic("other", "other-secret")),
        )
        .await;
    assert_eq!(foreign.error(), "invalid_grant");
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
}
