use crate::helpers::*;
use reqwest::StatusCode;

fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", WEB),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "xyz"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        p.push((k, v));
    }
    p
}

// AZ-REDIRECT-EXACT, AZ-NO-REDIRECT
#[tokio::test]
async fn a_redirect_uri_differing_by_one_character_gets_an_error_page_and_no_redirect() {
    let t = spawn_idp().await;
    for variant in [
        "http://127.0.0.1:3000/callback/",
        "http://127.0.0.1:3000/Callback",
        "HTTP://127.0.0.1:3000/callback",
        "https://127.0.0.1:3000/callback",
        "http://127.0.0.1:3001/callback",
        "http://127.0.0.1:3000/callback?x=1",
        "http://127.0.0.1:3000/callback#frag",
        "http://evil.127.0.0.1:3000/callback",
        "http://localhost:3000/callback",
    ] {
        t.idp.next_login("alice");
        let r = t.authorize(&base(&[("redirect_uri", variant)])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{variant}");
        assert!(
            r.header("location").is_none(),
            "{variant} must not redirect"
        );
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("text/html")
        );
        // The queued login was not consumed by the refused request.
        let ok = t.authorize(&base(&[])).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
    }
}

// AZ-NO-REDIRECT
#[tokio::test]
async fn an_unknown_or_missing_client_gets_an_error_page() {
    let t = spawn_idp().await;
    for p in [
        base(&[("client_id", "nobody")]),
        base(&[])
            .into_iter()
            .filter(|(k, _)| *k != "client_id")
            .collect(),
    ] {
        let r = t.authorize(&p).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.header("location").is_none());
    }
    let r = t
        .authorize_raw("client_id=web&client_id=web&response_type=code&state=a")
        .await;
    assert!(r.header("location").is_none());
}

// AZ-REDIRECT-OMITTED
#[tokio::test]
async fn a_missing_redirect_uri_is_refused_when_several_are_registered() {
    let t = spawn_idp().await;
    let (_, challenge) = pkce_pair();
    let r = t
        .authorize(&[
            ("client_id", "spa"),
            ("response_type", "code"),
            ("state", "a"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("location").is_none());
}

// AZ-RESPONSE-TYPE, AZ-ERROR-SHAPE, AZ-ISS
#[tokio::test]
async fn a_missing_or_unknown_response_type_redirects_with_error_state_and_iss() {
    let t = spawn_idp().await;
    let missing: Vec<_> = base(&[])
        .into_iter()
        .filter(|(k, _)| *k != "response_type")
        .collect();
    for (params, expected) in [
        (missing, "invalid_request"),
        (
            base(&[("response_type", "token")]),
            "unsupported_response_type",
        ),
    ] {
        let r = t.authorize(&params).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let loc = r.location();
        assert!(loc.as_str().starts_with(WEB_REDIRECT));
        assert_eq!(param(&loc, "error").as_deref(), Some(expected));
        assert_eq!(param(&loc, "state").as_deref(), Some("xyz"));
        assert_eq!(param(&loc, "iss").as_deref(), Some(t.idp.issuer()));
        assert_eq!(param(&loc, "code"), None);
        let desc = param(&loc, "error_description").unwrap_or_default();
        assert!(
            desc.bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "{desc}"
        );
    }
}

// AZ-STATE-ECHO
#[tokio::test]
async fn state_is_echoed_byte_exact_and_omitted_when_not_sent() {
    let t = spawn_idp().await;
    let long = "a".repeat(2000);
    for state in [
        "<script>alert(1)</script>",
        "a b+c%20d&e=f/?#ü€",
        long.as_str(),
    ] {
        t.idp.next_login("alice");
        let r = t.authorize(&base(&[("state", state)])).await;
        assert_eq!(param(&r.location(), "state").as_deref(), Some(state));
    }
    t.idp.next_login("alice");
    let no_state: Vec<_> = base(&[])
        .into_iter()
        .filter(|(k, _)| *k != "state")
        .collect();
    let r = t.authorize(&no_state).await;
    let loc = r.location();
    assert!(param(&loc, "code").is_some());
    assert_eq!(param(&loc, "state"), None);
}

// AZ-LENIENT
#[tokio::test]
async fn unknown_parameters_are_ignored_and_scope_order_does_not_matter() {
    let t = spawn_idp().await;
    t.idp.next_login("alice");
    let r = t
        .authorize(&base(&[
            ("frobnicate", "1"),
            ("scope", "email openid profile"),
        ]))
        .await;
    let code = param(&r.location(), "code").expect("code");
    let body = t.exchange(&code).await.json();
    assert!(body["id_token"].is_string());
    assert_eq!(
        claims(body["id_token"].as_str().expect("id"))
            .get("email")
            .and_then(|v| v.as_str()),
        Some("alice@example.com")
    );
}

// AZ-LENIENT
#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let t = spawn_idp().await;
    let r = t
        .authorize_raw("client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback&response_type=code&scope=openid&scope=email&state=s")
        .await;
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(param(&r.location(), "state").as_deref(), Some("s"));
}

#[tokio::test]
async fn an_unknown_scope_is_invalid_scope() {
    let t = spawn_idp().await;
    let r = t.authorize(&base(&[("scope", "openid admin")])).await;
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn a_client_without_the_code_grant_is_unauthorized_client() {
    let t = spawn_idp().await;
    let mut c = mock_idp::ClientConfig::confidential("m2m", "s", "http://127.0.0.1:9/cb");
    c.grant_types = vec![mock_idp::GrantType::ClientCredentials];
    t.idp.add_client(c).expect("client");
    let r = t
        .authorize(&[
            ("client_id", "m2m"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("response_type", "code"),
            ("state", "s"),
        ])
        .await;
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("unauthorized_client")
    );
}

#[tokio::test]
async fn login_hint_completes_without_the_page_only_when_enabled() {
    let t = spawn_idp().await;
    let r = t.authorize(&base(&[("login_hint", "bob")])).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "disabled by default: the page is shown"
    );
    let mut config = mock_idp::Config::builtin();
    config.login_hint_auto_login = true;
    let t = spawn_idp_with(config).await;
    let r = t.authorize(&base(&[("login_hint", "bob")])).await;
    let code = param(&r.location(), "code").expect("code");
    let id_token = t.exchange(&code).await.json()["id_token"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(claims(&id_token)["sub"], "248289761002");
}
