use crate::helpers::*;
use reqwest::StatusCode;

fn form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", WEB_REDIRECT),
    ]
}

// CA-BASIC-BAD
#[tokio::test]
async fn a_wrong_secret_and_an_unknown_client_via_basic_look_identical_401s() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let wrong = t.token(&form(&code), Some(&basic(WEB, "wrong"))).await;
    let unknown = t
        .token(&form(&code), Some(&basic("nobody", WEB_SECRET)))
        .await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.error(), "invalid_client");
        assert!(
            r.header("www-authenticate")
                .unwrap_or_default()
                .starts_with("Basic")
        );
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
    // The code survived the failed attempts.
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
}

// CA-POST-BAD
#[tokio::test]
async fn a_wrong_client_secret_post_is_invalid_client() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let mut f = form(&code);
    f.extend([("client_id", "web-post"), ("client_secret", "wrong")]);
    let r = t.token(&f, None).await;
    assert_eq!(r.error(), "invalid_client");
    assert!(r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_secret_post_works_for_a_client_registered_for_it() {
    let t = spawn_idp().await;
    t.idp.next_login("alice");
    let r = t
        .authorize(&[
            ("client_id", "web-post"),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .await;
    let code = param(&r.location(), "code").expect("code");
    let mut f = form(&code);
    f.extend([
        ("client_id", "web-post"),
        ("client_secret", "web-post-secret"),
    ]);
    assert_eq!(t.token(&f, None).await.status, StatusCode::OK);
}

// CA-NONE
#[tokio::test]
async fn a_confidential_client_without_credentials_is_invalid_client() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let mut f = form(&code);
    f.push(("client_id", WEB));
    assert_eq!(t.token(&f, None).await.error(), "invalid_client");
    assert_eq!(t.token(&form(&code), None).await.error(), "invalid_client");
}

// CA-MISUSE
#[tokio::test]
async fn mixed_or_mismatched_client_authentication_is_refused() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let auth = basic(WEB, WEB_SECRET);
    let mut both = form(&code);
    both.push(("client_secret", WEB_SECRET));
    assert_eq!(t.token(&both, Some(&auth)).await.error(), "invalid_request");
    let mut other_id = form(&code);
    other_id.push(("client_id", "web-post"));
    assert_eq!(
        t.token(&other_id, Some(&auth)).await.error(),
        "invalid_request"
    );
    // A secret in the URL.
    let r = read(
        t.http
            .post(format!(
                "{}?client_secret={WEB_SECRET}",
                t.idp.token_endpoint()
            ))
            .header("authorization", &auth)
            .form(&form(&code))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(r.error(), "invalid_request");
    // A method other than the registered one: web is registered for client_secret_basic.
    let mut post = form(&code);
    post.extend([("client_id", WEB), ("client_secret", WEB_SECRET)]);
    assert_eq!(t.token(&post, None).await.error(), "invalid_client");
    // None of this spent the code.
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
}

// CA-ENCODING
#[tokio::test]
async fn a_basic_secret_with_colon_percent_and_plus_authenticates() {
    let t = spawn_idp().await;
    let secret = "s3:cr%t+with space";
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "odd:id",
            secret,
            WEB_REDIRECT,
        ))
        .expect("client");
    t.idp.next_login("alice");
    let r = t
        .authorize(&[
            ("client_id", "odd:id"),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .await;
    let code = param(&r.location(), "code").expect("code");
    let ok = t.token(&form(&code), Some(&basic("odd:id", secret))).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    // Without the form-encoding step, '+' would decode to a space: the raw secret must not match.
    let raw = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "odd%3Aid:s3:cr%t+with+space+x"
        )
    );
    assert_eq!(
        t.token(&form(&code), Some(&raw)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// CA-HARDENING
#[tokio::test]
async fn repeated_bad_secrets_are_throttled_with_429() {
    let mut config = mock_idp::Config::builtin();
    config.max_auth_failures_per_minute = 5;
    let t = spawn_idp_with(config).await;
    let code = t.code_for("alice", &[]).await;
    for _ in 0..5 {
        assert_eq!(
            t.token(&form(&code), Some(&basic(WEB, "guess")))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = t.token(&form(&code), Some(&basic(WEB, WEB_SECRET))).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right secret waits"
    );
    assert!(r.header("retry-after").is_some());
    t.idp.clock().advance(std::time::Duration::from_secs(61));
    assert_eq!(
        t.exchange(&t.code_for("alice", &[]).await).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn client_secrets_are_held_only_as_hashes() {
    let t = spawn_idp().await;
    let dump = format!("{:?}", t.idp.client("web"));
    assert!(!dump.contains(WEB_SECRET), "{dump}");
}

// CA-ENCODING: `&` and `=` are ordinary characters of a form-encoded secret (RFC 6749 Appendix B).
#[tokio::test]
async fn a_basic_secret_with_ampersand_and_equals_round_trips() {
    let t = spawn_idp().await;
    let secret = "a&b=c:d%e+f g&=";
    t.idp
        .add_client(mock_idp::ClientConfig::confidential(
            "amp",
            secret,
            WEB_REDIRECT,
        ))
        .expect("client");
    t.idp.next_login("alice");
    let r = t
        .authorize(&[
            ("client_id", "amp"),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
        ])
        .await;
    let code = param(&r.location(), "code").expect("code");
    // Only the first part of the secret, as a form parser splitting on `&` would keep it, is refused...
    for partial in ["a", "a&b", "a&b=c:d%e+f g"] {
        let r = t.token(&form(&code), Some(&basic("amp", partial))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{partial}");
    }
    // ...and the whole secret, form-encoded, authenticates.
    let ok = t.token(&form(&code), Some(&basic("amp", secret))).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
}

// CA-ENCODING: nothing but the exact secret authenticates.
#[tokio::test]
async fn a_basic_secret_with_trailing_garbage_or_a_bad_escape_is_refused() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let raw = |credentials: &str| {
        format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, credentials)
        )
    };
    for credentials in [
        "web:web-secret&anything",
        "web:web-secret&",
        "web:web-secret=",
        "web:web-secret%26x",
        "web:web-secret%",
        "web:web-secre%74%",
        "web&x:web-secret",
        "web:web-secret ",
    ] {
        let r = t.token(&form(&code), Some(&raw(credentials))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{credentials}");
        assert_eq!(r.error(), "invalid_client", "{credentials}");
    }
    // A needless but valid escape is still the same secret, and the code survived the attempts.
    let ok = t
        .token(&form(&code), Some(&raw("w%65b:web-secre%74")))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
}

// CA-HARDENING: throttling is per (client, address), so a stranger cannot lock a client out.
#[tokio::test]
async fn a_thousand_wrong_secrets_from_one_address_do_not_lock_the_client_out_elsewhere() {
    let t = spawn_idp().await;
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client bound to 127.0.0.2");
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..1000 {
        let r = stranger
            .post(t.idp.token_endpoint())
            .header("authorization", basic(WEB, &format!("guess-{i}")))
            .form(&form("no-such-code"))
            .send()
            .await
            .expect("post from 127.0.0.2");
        *statuses.entry(r.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&429), Some(&980), "{statuses:?}");
    // The stranger is throttled even with the right secret...
    let code = t.code_for("alice", &[]).await;
    let r = stranger
        .post(t.idp.token_endpoint())
        .header("authorization", basic(WEB, WEB_SECRET))
        .form(&form(&code))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...while web, at its own address (127.0.0.1), logs in as usual.
    let r = t.exchange(&code).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
