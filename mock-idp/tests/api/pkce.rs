use crate::helpers::*;
use reqwest::StatusCode;

const SPA_REDIRECT: &str = "http://127.0.0.1:5173/callback";

async fn spa_code(t: &TestIdp, challenge: Option<&str>, method: Option<&str>) -> Reply {
    t.idp.next_login("alice");
    let mut p = vec![
        ("client_id", "spa"),
        ("redirect_uri", SPA_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    if let Some(c) = challenge {
        p.push(("code_challenge", c));
    }
    if let Some(m) = method {
        p.push(("code_challenge_method", m));
    }
    t.authorize(&p).await
}

async fn spa_token(t: &TestIdp, code: &str, verifier: Option<&str>) -> Reply {
    let mut f = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", SPA_REDIRECT),
        ("client_id", "spa"),
    ];
    if let Some(v) = verifier {
        f.push(("code_verifier", v));
    }
    t.token(&f, None).await
}

// PK-VALID
#[tokio::test]
async fn a_public_client_with_a_valid_s256_verifier_gets_tokens() {
    let t = spawn_idp().await;
    let (verifier, challenge) = pkce_pair();
    let r = spa_code(&t, Some(&challenge), Some("S256")).await;
    let code = param(&r.location(), "code").expect("code");
    assert_eq!(
        spa_token(&t, &code, Some(&verifier)).await.status,
        StatusCode::OK
    );
}

// PK-WRONG, PK-MISSING, PK-FORMAT
#[tokio::test]
async fn a_wrong_missing_or_malformed_verifier_is_invalid_grant() {
    let t = spawn_idp().await;
    let (_, challenge) = pkce_pair();
    let (other_verifier, _) = pkce_pair();
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let bad_chars = format!("{}!", "a".repeat(50));
    for verifier in [
        Some(other_verifier.as_str()),
        None,
        Some(short.as_str()),
        Some(long.as_str()),
        Some(bad_chars.as_str()),
    ] {
        let r = spa_code(&t, Some(&challenge), Some("S256")).await;
        let code = param(&r.location(), "code").expect("code");
        let r = spa_token(&t, &code, verifier).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{verifier:?}");
        assert_eq!(r.error(), "invalid_grant", "{verifier:?}");
    }
}

// PK-DOWNGRADE
#[tokio::test]
async fn a_verifier_without_a_challenge_is_refused() {
    let t = spawn_idp().await;
    let (verifier, _) = pkce_pair();
    let code = t.code_for("alice", &[]).await;
    let r = t
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", &verifier),
            ],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(r.error(), "invalid_grant");
}

// PK-METHOD
#[tokio::test]
async fn plain_absent_or_unknown_methods_are_invalid_request() {
    let t = spawn_idp().await;
    let (_, challenge) = pkce_pair();
    for method in [Some("plain"), None, Some("S512")] {
        let r = spa_code(&t, Some(&challenge), method).await;
        assert_eq!(
            param(&r.location(), "error").as_deref(),
            Some("invalid_request"),
            "{method:?}"
        );
    }
}

// PK-REQUIRED
#[tokio::test]
async fn a_public_client_without_a_challenge_is_refused() {
    let t = spawn_idp().await;
    let r = spa_code(&t, None, None).await;
    let loc = r.location();
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&loc, "state").as_deref(), Some("s"));
}

#[tokio::test]
async fn a_confidential_client_with_required_pkce_must_send_a_challenge() {
    let t = spawn_idp().await;
    let mut c = mock_idp::ClientConfig::confidential("strict", "strict-secret", WEB_REDIRECT);
    c.pkce = mock_idp::PkcePolicy::Required;
    t.idp.add_client(c).expect("client");
    let r = t
        .authorize(&[
            ("client_id", "strict"),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
        ])
        .await;
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("invalid_request")
    );
}
