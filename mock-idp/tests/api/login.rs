use crate::helpers::*;
use reqwest::StatusCode;

// AZ-HARDENING
#[tokio::test]
async fn the_login_page_cannot_be_framed_or_cached_and_sends_no_referrer() {
    let t = spawn_idp().await;
    let (page, _, _) = t.login_page("s").await;
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap_or_default()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.body.contains("name=\"username\"") && page.body.contains("name=\"password\""));
    assert!(
        page.body.contains("value=\"alice\"") && page.body.contains("value=\"bob\""),
        "users listed for one-click pick"
    );
}

// AZ-STATE-ECHO (escaping)
#[tokio::test]
async fn a_script_in_state_is_escaped_on_the_page_and_echoed_exactly_in_the_redirect() {
    let t = spawn_idp().await;
    let state = "<script>alert('x')</script>";
    let (page, request_id, csrf) = t.login_page(state).await;
    assert!(!page.body.contains("<script>"), "state must be escaped");
    assert!(page.body.contains("&lt;script&gt;"));
    let r = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(param(&r.location(), "state").as_deref(), Some(state));
}

// AZ-HARDENING: 303, never 307; code, state and iss in the redirect.
#[tokio::test]
async fn a_correct_password_redirects_with_303_code_state_and_iss() {
    let t = spawn_idp().await;
    let (_, request_id, csrf) = t.login_page("st").await;
    let r = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location();
    assert!(loc.as_str().starts_with(WEB_REDIRECT));
    assert_eq!(param(&loc, "iss").as_deref(), Some(t.idp.issuer()));
    let code = param(&loc, "code").expect("code");
    assert_eq!(t.exchange(&code).await.status, StatusCode::OK);
    // The page is single-use.
    let again = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_wrong_password_shows_the_page_again_with_an_error_and_no_code() {
    let t = spawn_idp().await;
    let (_, request_id, csrf) = t.login_page("st").await;
    let r = t.sign_in(&request_id, &csrf, "alice", "nope").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("location").is_none());
    assert!(r.body.contains("Wrong username or password"));
    // The same page still works with the right password.
    let ok = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn one_click_pick_logs_in_as_that_user() {
    let t = spawn_idp().await;
    let (_, request_id, csrf) = t.login_page("st").await;
    let r = t
        .post_login(&[
            ("request_id", &request_id),
            ("csrf", &csrf),
            ("username", "bob"),
            ("action", "pick"),
        ])
        .await;
    let code = param(&r.location(), "code").expect("code");
    let id_token = t.exchange(&code).await.json()["id_token"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(claims(&id_token)["sub"], "248289761002");
}

// AZ-DENIED
#[tokio::test]
async fn deny_returns_access_denied_with_state_and_no_code() {
    let t = spawn_idp().await;
    let (_, request_id, csrf) = t.login_page("keep me").await;
    let r = t
        .post_login(&[
            ("request_id", &request_id),
            ("csrf", &csrf),
            ("action", "deny"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location();
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("keep me"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(t.idp.issuer()));
    assert_eq!(param(&loc, "code"), None);
}

// AZ-HARDENING: CSRF
#[tokio::test]
async fn a_login_post_from_another_browser_or_with_a_wrong_token_is_refused() {
    let t = spawn_idp().await;
    let (_, request_id, csrf) = t.login_page("st").await;
    let other = browser();
    let r = read(
        other
            .post(t.idp.url("/authorize/login"))
            .form(&[
                ("request_id", request_id.as_str()),
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
            ])
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("location").is_none());
    let r = t
        .post_login(&[
            ("request_id", &request_id),
            ("csrf", "forged"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// With thousands of users the page stays small: the first ones in username order, and the form takes any.
#[tokio::test]
async fn with_thousands_of_users_the_page_offers_fifty_and_any_can_still_sign_in() {
    let t = spawn_idp().await;
    for i in 0..2000 {
        t.idp
            .add_user(mock_idp::UserConfig::new(
                &format!("user{i:04}"),
                "pw",
                &format!("sub-{i}"),
            ))
            .expect("user");
    }
    let (page, request_id, csrf) = t.login_page("s").await;
    let buttons: Vec<&str> = page
        .body
        .split("<button type=\"submit\" name=\"username\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(buttons.len(), 50);
    assert_eq!(&buttons[..3], ["alice", "bob", "user0000"]);
    assert!(page.body.contains("and 1952 more"), "{}", page.body);
    let r = t.sign_in(&request_id, &csrf, "user1999", "pw").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
    let code = param(&r.location(), "code").expect("code");
    let body = t.exchange(&code).await.json();
    assert_eq!(
        claims(body["id_token"].as_str().expect("id"))["sub"],
        "sub-1999"
    );
}
