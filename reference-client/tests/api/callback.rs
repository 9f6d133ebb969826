//! Step 4's checks on the callback itself: state, browser binding, expiry, iss, provider errors.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, browser, spawn_app};

// ST-SINGLE-USE: the replay answers invalid_state, not provider_error, so it never reached the token
// endpoint (where the used code would have failed with invalid_grant). provider_faults also counts requests.
#[tokio::test]
async fn a_replayed_callback_is_rejected_without_reaching_the_token_endpoint() {
    let app = spawn_app().await;
    let b = browser();
    let params = app.authorize_as(&b, "alice").await;
    assert_eq!(
        app.post_callback(&b, &params.body()).await.status(),
        StatusCode::OK
    );

    let replay = app.post_callback(&b, &params.body()).await;

    assert_error(replay, StatusCode::BAD_REQUEST, "invalid_state").await;
}

// ST-BOUND-TO-UA
#[tokio::test]
async fn a_state_from_another_browser_is_rejected_and_does_not_burn_the_login() {
    let app = spawn_app().await;
    let victim = browser();
    let params = app.authorize_as(&victim, "alice").await;

    let attacker = browser();
    // The attacker's browser has no transaction cookie at all…
    assert_error(
        app.post_callback(&attacker, &params.body()).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
    // …or a cookie of its own transaction.
    let _ = app.start_login(&attacker).await;
    assert_error(
        app.post_callback(&attacker, &params.body()).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;

    assert_eq!(
        app.post_callback(&victim, &params.body()).await.status(),
        StatusCode::OK
    );
}

// ST-MISMATCH
#[tokio::test]
async fn a_missing_or_unknown_state_is_rejected() {
    let app = spawn_app().await;
    let b = browser();
    let params = app.authorize_as(&b, "alice").await;

    let mut missing = params.body();
    missing["state"] = Value::Null;
    assert_error(
        app.post_callback(&b, &missing).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
    let mut tampered = params.body();
    tampered["state"] = json!(format!("{}x", params.state));
    assert_error(
        app.post_callback(&b, &tampered).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
}

// ST-FRESH-EXPIRY
#[tokio::test]
async fn an_expired_transaction_is_rejected() {
    let app = spawn_app().await;
    let b = browser();
    let params = app.authorize_as(&b, "alice").await;

    app.state.clock.advance(Duration::from_secs(11 * 60));

    assert_error(
        app.post_callback(&b, &params.body()).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
}

// ST-ERROR-CALLBACK
#[tokio::test]
async fn a_provider_error_callback_ends_the_transaction_with_a_clear_error() {
    let app = spawn_app().await;
    let b = browser();
    let url = app.start_login(&b).await;
    let state = crate::helpers::query_map(&url)["state"].clone();
    let body = json!({
        "state": state,
        "iss": app.idp().issuer(),
        "error": "access_denied",
        "error_description": "the user said no",
    });

    assert_error(
        app.post_callback(&b, &body).await,
        StatusCode::FORBIDDEN,
        "access_denied",
    )
    .await;
    // The transaction is gone: the same state with a code is refused too.
    let mut again = body.clone();
    again["error"] = Value::Null;
    again["code"] = json!("any");
    assert_error(
        app.post_callback(&b, &again).await,
        StatusCode::BAD_REQUEST,
        "invalid_state",
    )
    .await;
}

// ST-ISS-MIXUP
#[tokio::test]
async fn a_callback_from_another_issuer_or_without_iss_is_rejected() {
    let app = spawn_app().await;

    let b = browser();
    let mut params = app.authorize_as(&b, "alice").await;
    params.iss = Some(format!("{}/", app.idp().issuer()));
    assert_error(
        app.post_callback(&b, &params.body()).await,
        StatusCode::BAD_REQUEST,
        "issuer_mismatch",
    )
    .await;

    let b = browser();
    let mut params = app.authorize_as(&b, "alice").await;
    params.iss = None;
    assert_error(
        app.post_callback(&b, &params.body()).await,
        StatusCode::BAD_REQUEST,
        "issuer_mismatch",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_callback_body_is_an_invalid_request() {
    let app = spawn_app().await;
    let response = browser()
        .post(format!("{}/api/auth/callback", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}
