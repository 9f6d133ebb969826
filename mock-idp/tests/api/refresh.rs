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

/// The id_tokens of a login for alice (nonce n-1) and of the refresh that follows it.
async fn id_tokens_of_login_and_refresh(t: &TestIdp) -> (String, Reply) {
    let code = t.code_for("alice", &[("nonce", "n-1")]).await;
    let first = t.exchange(&code).await.json();
    let id = first["id_token"].as_str().expect("id_token").to_owned();
    let r = first["refresh_token"].as_str().expect("r").to_owned();
    (id, refresh(t, &r).await)
}

// Core §12.2: a refreshed id_token names the same iss, sub and aud as the login's, and the login's
// auth_time; it need not carry a nonce (there was none in the refresh request).
#[tokio::test]
async fn a_refreshed_id_token_names_the_same_issuer_subject_audience_and_auth_time() {
    let t = spawn_idp().await;
    let (first, refreshed) = id_tokens_of_login_and_refresh(&t).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    let refreshed = refreshed.json()["id_token"]
        .as_str()
        .expect("a refreshed id_token")
        .to_owned();
    let (a, b) = (claims(&first), claims(&refreshed));
    for claim in ["iss", "sub", "aud", "auth_time", "sid"] {
        assert_eq!(a[claim], b[claim], "{claim}: {a} vs {b}");
    }
    assert_eq!(a.get("azp"), b.get("azp"));
    assert_eq!(a["nonce"], "n-1");
    assert!(b.get("nonce").is_none(), "{b}");
    assert!(crate::faults::verifies(
        &refreshed,
        &crate::faults::jwks(&t).await
    ));
}

// `refresh.id_token_other_iss` / `_other_sub` spoil only a refresh grant's id_token: the login's is
// untouched and the fault is still armed for the refresh; that one is validly signed, with one claim
// changed.
#[tokio::test]
async fn refresh_faults_change_the_refreshed_id_tokens_iss_or_sub_and_keep_the_signature() {
    for (fault, claim) in [
        (mock_idp::Fault::RefreshIdTokenOtherIss, "iss"),
        (mock_idp::Fault::RefreshIdTokenOtherSub, "sub"),
    ] {
        let t = spawn_idp().await;
        t.idp.fault(fault.clone()).once();
        let (first, refreshed) = id_tokens_of_login_and_refresh(&t).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
        let refreshed = refreshed.json()["id_token"]
            .as_str()
            .expect("a refreshed id_token")
            .to_owned();
        let (a, b) = (claims(&first), claims(&refreshed));
        assert_eq!(
            a["iss"],
            t.idp.issuer(),
            "the login's id_token is untouched"
        );
        assert_eq!(
            a["sub"], "248289761001",
            "the login's id_token is untouched"
        );
        assert_ne!(a[claim], b[claim], "{fault:?}: {b}");
        for other in ["iss", "sub", "aud"].into_iter().filter(|c| *c != claim) {
            assert_eq!(a[other], b[other], "{fault:?} changes only {claim}");
        }
        if claim == "sub" {
            assert_eq!(b["sub"], "248289761002", "another user's subject (bob's)");
        }
        assert!(crate::faults::verifies(
            &refreshed,
            &crate::faults::jwks(&t).await
        ));
        assert!(t.idp.faults().is_empty(), "applied once, then disarmed");
        let log = t.idp.requests();
        assert!(
            log.iter()
                .any(|r| r.note.faults.iter().any(|f| f == fault.name())),
            "the request log names the fault"
        );
    }
}

// Armed by name, as the config file, the CLI and the Gherkin step do; scoped to another user it spares
// alice's refresh.
#[tokio::test]
async fn a_refresh_fault_armed_by_name_for_another_user_spares_this_one() {
    let t = spawn_idp().await;
    let fault: mock_idp::Fault = "refresh.id_token_other_sub".parse().expect("a fault name");
    t.idp
        .arm(mock_idp::FaultSpec::new(fault).for_user("bob"))
        .expect("arm");
    let (first, refreshed) = id_tokens_of_login_and_refresh(&t).await;
    let refreshed = refreshed.json()["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned();
    assert_eq!(claims(&first)["sub"], claims(&refreshed)["sub"]);
    assert_eq!(t.idp.faults().len(), 1, "still armed for bob");
}

// The request log names the access token a token response issued by the fingerprint under which a later
// request's `Bearer` credentials appear: a harness can tell which token a client used at userinfo.
#[tokio::test]
async fn the_log_fingerprints_each_issued_access_token_as_it_shows_its_later_use() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let first = t.exchange(&code).await.json();
    let r1 = first["refresh_token"].as_str().expect("r1").to_owned();
    let a2 = refresh(&t, &r1).await.json()["access_token"]
        .as_str()
        .expect("a2")
        .to_owned();
    assert_eq!(t.userinfo(&a2).await.status, StatusCode::OK);
    let log = t.idp.requests();
    let refresh_record = log
        .iter()
        .find(|r| r.param("grant_type") == Some("refresh_token"))
        .expect("the refresh is logged");
    let fingerprint = mock_idp::fingerprint(&a2);
    assert_eq!(
        refresh_record.note.issued_access_token.as_deref(),
        Some(fingerprint.as_str())
    );
    let userinfo = log
        .iter()
        .find(|r| r.path.ends_with("/userinfo"))
        .expect("userinfo is logged");
    assert_eq!(
        userinfo.header("authorization"),
        Some(format!("Bearer {fingerprint}").as_str())
    );
}
