//! Step 5: the backend's own user database and the unknown-user policies.

use mock_idp::UserConfig;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{BOB_SUB, TestApp, assert_error, browser, spawn_app, spawn_app_with};
use reference_client::UnknownUserPolicy;

fn add_carol(app: &TestApp) {
    let mut carol = UserConfig::new("carol", "carol-password", "carol-sub-1");
    carol.name = Some("Carol Clark".into());
    carol.picture = Some("https://example.com/avatars/carol.png".into());
    carol.email = Some("alice@example.com".into()); // same email as alice: must not matter (UM-KEY)
    app.idp().add_user(carol).expect("add carol");
}

// UM-UNKNOWN-USER (reject), UM-KEY, JWT-LAST
#[tokio::test]
async fn an_unknown_user_is_rejected_by_default_with_a_generic_error() {
    let app = spawn_app().await;
    add_carol(&app);

    let response = app.login_as(&browser(), "carol").await;

    assert_error(response, StatusCode::FORBIDDEN, "unknown_user").await;
    assert_eq!(app.user_count(), 2);
}

// UM-UNKNOWN-USER (auto-create)
#[tokio::test]
async fn an_unknown_user_is_auto_created_as_an_ordinary_user() {
    let app = spawn_app_with(|s| s.unknown_user_policy = UnknownUserPolicy::AutoCreate).await;
    add_carol(&app);

    let token = app.token_for("carol").await;
    let me: Value = app.get_me(&token).await.json().await.expect("json");

    assert_eq!(me["role"], "user");
    assert_eq!(me["display_name"], "Carol Clark");
    assert_eq!(me["avatar_url"], "https://example.com/avatars/carol.png");
    assert_eq!(app.user_count(), 3);
    // A second login finds the same user.
    let again = app.token_for("carol").await;
    let me_again: Value = app.get_me(&again).await.json().await.expect("json");
    assert_eq!(me_again["id"], me["id"]);
    assert_eq!(app.user_count(), 3);
}

// UM-UNKNOWN-USER (auto-create, concurrent first logins): real parallel callbacks on a multi-threaded
// runtime, reaching SQLite through several pooled connections at once. Fails without the immediate
// transaction (a deferred one reads, then loses the race to write: SQLITE_BUSY, a 500) and without the
// UNIQUE (issuer, subject) constraint (the identity insert names it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_logins_of_one_identity_create_exactly_one_user() {
    const ROUNDS: usize = 3;
    const PARALLEL: usize = 20;
    let app = std::sync::Arc::new(
        spawn_app_with(|s| s.unknown_user_policy = UnknownUserPolicy::AutoCreate).await,
    );
    for round in 0..ROUNDS {
        let (name, sub) = (format!("racer{round}"), format!("racer-sub-{round}"));
        app.idp()
            .add_user(UserConfig::new(&name, "pw", &sub))
            .expect("add user");
        let mut ready = Vec::new();
        for _ in 0..PARALLEL {
            let b = browser();
            let params = app.authorize_as(&b, &name).await;
            ready.push((b, params.body()));
        }
        // All callbacks start together, each on its own task.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(PARALLEL));
        let tasks: Vec<_> = ready
            .into_iter()
            .map(|(b, body)| {
                let (app, start) = (app.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let r = app.post_callback(&b, &body).await;
                    let status = r.status();
                    let body: Value = r.json().await.expect("json");
                    (status, body)
                })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let (status, body) = task.await.expect("task");
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
            ids.insert(body["user"]["id"].to_string());
        }
        assert_eq!(
            ids.len(),
            1,
            "round {round}: one user for one identity: {ids:?}"
        );
        assert_eq!(app.user_count(), 2 + round + 1);
    }
}

// UM-UNKNOWN-USER (require-binding)
#[tokio::test]
async fn an_unknown_user_binds_with_a_phone_number_through_a_single_use_ticket() {
    let app = spawn_app_with(|s| s.unknown_user_policy = UnknownUserPolicy::RequireBinding).await;
    add_carol(&app);
    let b = browser();

    let response = app.login_as(&b, "carol").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "binding_required");
    assert!(body.get("token").is_none(), "no JWT before binding");
    let ticket = body["binding_ticket"].as_str().expect("ticket").to_owned();
    assert_eq!(app.user_count(), 2);

    // A bad phone number does not spend the ticket.
    assert_error(
        app.post_bind(&b, &ticket, "12345").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    // Another browser cannot redeem it.
    assert_error(
        app.post_bind(&browser(), &ticket, "+15555550103").await,
        StatusCode::BAD_REQUEST,
        "invalid_ticket",
    )
    .await;

    let bound = app.post_bind(&b, &ticket, "+15555550103").await;
    assert_eq!(bound.status(), StatusCode::OK);
    let bound: Value = bound.json().await.expect("json");
    let me: Value = app
        .get_me(bound["token"].as_str().expect("token"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["phone"], "+15555550103");
    assert_eq!(me["role"], "user");
    assert_eq!(app.user_count(), 3);

    assert_error(
        app.post_bind(&b, &ticket, "+15555550103").await,
        StatusCode::BAD_REQUEST,
        "invalid_ticket",
    )
    .await;
    // The next login finds the bound identity directly.
    let next: Value = app.login_as(&b, "carol").await.json().await.expect("json");
    assert_eq!(next["status"], "logged_in");
}

// UM-UNKNOWN-USER (require-binding: ticket lifetime)
#[tokio::test]
async fn an_expired_binding_ticket_is_refused() {
    let app = spawn_app_with(|s| s.unknown_user_policy = UnknownUserPolicy::RequireBinding).await;
    add_carol(&app);
    let b = browser();
    let body: Value = app.login_as(&b, "carol").await.json().await.expect("json");
    let ticket = body["binding_ticket"].as_str().expect("ticket").to_owned();

    app.state.clock.advance(std::time::Duration::from_secs(301));

    assert_error(
        app.post_bind(&b, &ticket, "+15555550103").await,
        StatusCode::BAD_REQUEST,
        "invalid_ticket",
    )
    .await;
    assert_eq!(app.user_count(), 2);
}

// UM-DISABLED
#[tokio::test]
async fn a_disabled_user_gets_no_token_and_their_existing_token_stops_working() {
    let app = spawn_app().await;
    let token = app.token_for("bob").await;
    let bob = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), BOB_SUB)
        .expect("query")
        .expect("bob is seeded");

    app.state.db.set_disabled(bob.id, true).expect("disable");

    assert_error(
        app.login_as(&browser(), "bob").await,
        StatusCode::FORBIDDEN,
        "user_disabled",
    )
    .await;
    assert_ne!(app.get_me(&token).await.status(), StatusCode::OK);
}
