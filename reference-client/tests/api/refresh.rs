//! The provider's tokens after the login (CONFORMANCE RF-HAPPY, RF-ID-TOKEN): `GET /api/me/provider-profile`
//! calls userinfo with the access token the login left on the server; once that has expired it redeems the
//! refresh token, stores the rotated one, checks the refreshed id_token (OIDC Core §12.2), and only then
//! uses the new access token.

use std::time::Duration;

use mock_idp::{ClientConfig, Fault, RequestRecord};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{CLIENT_ID, CLIENT_SECRET, TestApp, assert_error, browser, spawn_app};

/// How long the provider's access tokens for the app live in these tests: shorter than the app's session.
const ACCESS_TTL: u64 = 60;

/// An app whose provider client gets access tokens of [`ACCESS_TTL`] seconds (and refresh tokens).
async fn spawn_refreshing_app() -> TestApp {
    let app = spawn_app().await;
    let mut client = ClientConfig::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &format!("{}/callback", app.address),
    );
    client.access_token_ttl = Some(ACCESS_TTL);
    app.idp().add_client(client).expect("client registers");
    app
}

impl TestApp {
    /// `GET /api/me/provider-profile` with the app JWT.
    async fn get_provider_profile(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}/api/me/provider-profile", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /api/me/provider-profile")
    }

    /// Both clocks, the provider's and the app's, past the access token's life.
    fn expire_access_token(&self) {
        let by = Duration::from_secs(ACCESS_TTL + 1);
        self.idp().clock().advance(by);
        self.state.clock.advance(by);
    }

    /// The provider's log from `seq` on.
    fn requests_since(&self, seq: u64) -> Vec<RequestRecord> {
        self.idp()
            .requests()
            .into_iter()
            .filter(|r| r.seq > seq)
            .collect()
    }

    fn last_seq(&self) -> u64 {
        self.idp().requests().last().map_or(0, |r| r.seq)
    }

    /// The refresh token the app keeps for the user with this id.
    fn kept_refresh_token(&self, user_id: i64, session_version: i64) -> Option<String> {
        self.state
            .db
            .provider_tokens(user_id, session_version, self.state.now())
            .expect("read")
            .and_then(|(_, t)| t.refresh_token)
    }
}

fn is_refresh(r: &RequestRecord) -> bool {
    r.path.ends_with("/token") && r.param("grant_type") == Some("refresh_token")
}

fn is_userinfo(r: &RequestRecord) -> bool {
    r.path.ends_with("/userinfo")
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("json")
}

// RF-HAPPY
#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_new_one_used_at_userinfo() {
    let app = spawn_refreshing_app().await;
    let login = app.login_as(&browser(), "alice").await;
    assert_eq!(login.status(), StatusCode::OK);
    let login = login.text().await.expect("body");
    assert!(
        !login.contains("access_token") && !login.contains("refresh_token"),
        "the provider's tokens stay on the server: {login}"
    );
    let token = serde_json::from_str::<Value>(&login).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // While the access token lives, it is used as it is.
    let before = app.last_seq();
    let profile = json(app.get_provider_profile(&token).await).await;
    assert_eq!(profile["userinfo"]["sub"], "248289761001", "{profile}");
    assert_eq!(
        profile["userinfo"]["preferred_username"], "alice",
        "{profile}"
    );
    assert!(!app.requests_since(before).iter().any(is_refresh));

    let alice = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), "248289761001")
        .expect("query")
        .expect("alice");
    let first_refresh = app
        .kept_refresh_token(alice.id, alice.session_version)
        .expect("a refresh token kept");

    app.expire_access_token();
    let before = app.last_seq();
    let response = app.get_provider_profile(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile = json(response).await;
    assert_eq!(profile["userinfo"]["sub"], "248289761001", "{profile}");

    let seen = app.requests_since(before);
    let refresh = seen
        .iter()
        .position(is_refresh)
        .expect("the app redeemed its refresh token");
    assert_eq!(seen[refresh].status, 200);
    assert_eq!(seen[refresh].client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(
        seen[refresh].client_auth,
        Some("client_secret_basic"),
        "authenticated as for the code exchange"
    );
    assert!(
        !seen[..refresh].iter().any(is_userinfo),
        "its own clock said the access token had expired: no call with it"
    );
    let after: Vec<_> = seen[refresh + 1..]
        .iter()
        .filter(|r| is_userinfo(r))
        .collect();
    assert_eq!(after.len(), 1, "{seen:#?}");
    assert_eq!(after[0].status, 200, "userinfo took the new access token");

    let rotated = app
        .kept_refresh_token(alice.id, alice.session_version)
        .expect("the rotated refresh token kept");
    assert_ne!(
        rotated, first_refresh,
        "the rotated refresh token replaced the spent one"
    );
}

// RF-HAPPY: the provider may end an access token before its `expires_in` (a revocation); userinfo's 401
// makes the app refresh.
#[tokio::test]
async fn an_access_token_userinfo_refuses_is_refreshed_too() {
    let app = spawn_refreshing_app().await;
    let token = app.token_for("alice").await;
    let alice = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), "248289761001")
        .expect("query")
        .expect("alice");
    let (_, kept) = app
        .state
        .db
        .provider_tokens(alice.id, alice.session_version, app.state.now())
        .expect("read")
        .expect("kept");
    let revoked = reqwest::Client::new()
        .post(app.idp().revocation_endpoint())
        .basic_auth(
            url::form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>(),
            Some(
                url::form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect::<String>(),
            ),
        )
        .form(&[("token", kept.access_token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);

    let before = app.last_seq();
    let response = app.get_provider_profile(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = app.requests_since(before);
    let statuses: Vec<_> = seen
        .iter()
        .filter(|r| is_userinfo(r) || is_refresh(r))
        .map(|r| (is_refresh(r), r.status))
        .collect();
    assert_eq!(statuses, vec![(false, 401), (true, 200), (false, 200)]);
}

// RF-ID-TOKEN: a refreshed id_token naming another iss or sub is refused before its access token is
// used; the session stays alice's, and the tokens are dropped.
#[tokio::test]
async fn a_refreshed_id_token_for_another_issuer_or_subject_is_refused() {
    for fault in [Fault::RefreshIdTokenOtherIss, Fault::RefreshIdTokenOtherSub] {
        let app = spawn_refreshing_app().await;
        let token = app.token_for("alice").await;
        app.idp().fault(fault.clone()).once();
        app.expire_access_token();

        let before = app.last_seq();
        let response = app.get_provider_profile(&token).await;
        assert_error(response, StatusCode::BAD_GATEWAY, "refresh_failed").await;
        let seen = app.requests_since(before);
        let refresh = seen.iter().position(is_refresh).expect("refreshed");
        assert_eq!(seen[refresh].note.faults, vec![fault.name().to_owned()]);
        assert!(
            !seen[refresh + 1..].iter().any(is_userinfo),
            "{fault:?}: userinfo was called with the new access token: {seen:#?}"
        );

        let me = json(app.get_me(&token).await).await;
        let alice = app
            .state
            .db
            .find_by_identity(app.idp().issuer(), "248289761001")
            .expect("query")
            .expect("alice");
        assert_eq!(
            me["id"], alice.id,
            "{fault:?}: the session is still alice's: {me}"
        );
        assert_eq!(app.state.db.provider_token_rows().expect("count"), 0);
        assert_error(
            app.get_provider_profile(&token).await,
            StatusCode::CONFLICT,
            "no_provider_tokens",
        )
        .await;
    }
}

// The kept tokens die with the session: after a logout a new session has none until its own login.
#[tokio::test]
async fn a_logout_forgets_the_provider_tokens() {
    let app = spawn_refreshing_app().await;
    let token = app.token_for("alice").await;
    assert_eq!(app.state.db.provider_token_rows().expect("count"), 1);
    let alice = app
        .state
        .db
        .find_by_identity(app.idp().issuer(), "248289761001")
        .expect("query")
        .expect("alice");
    assert!(app.state.db.end_sessions(alice.id).expect("end"));
    assert_eq!(app.state.db.provider_token_rows().expect("count"), 0);
    assert_error(
        app.get_provider_profile(&token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

// Two requests that find the access token expired at once refresh once: the second waits and uses the
// first one's tokens instead of presenting the spent refresh token, which the provider would take for a
// replay and answer by revoking the whole family (RFC 9700 §4.14.2).
#[tokio::test]
async fn concurrent_requests_refresh_once() {
    let app = spawn_refreshing_app().await;
    let token = app.token_for("alice").await;
    app.expire_access_token();
    let before = app.last_seq();
    let (a, b) = tokio::join!(
        app.get_provider_profile(&token),
        app.get_provider_profile(&token)
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let refreshes = app
        .requests_since(before)
        .iter()
        .filter(|r| is_refresh(r))
        .count();
    assert_eq!(refreshes, 1);
}

// Core §5.3.2: userinfo about another subject is not the user's profile.
#[tokio::test]
async fn userinfo_about_another_subject_is_refused() {
    let app = spawn_refreshing_app().await;
    let token = app.token_for("alice").await;
    app.idp().fault(Fault::UserinfoWrongSub).once();
    assert_error(
        app.get_provider_profile(&token).await,
        StatusCode::BAD_GATEWAY,
        "provider_error",
    )
    .await;
}

// RFC 6749 §6: a refresh answer without a refresh token leaves the old one usable, and one without an
// id_token has nothing to check (a provider need not send either). Played by a wiremock provider.
#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::helpers::{FAKE_KID, FakeProvider, fake_callback, published_jwk, rsa_key, sign};

    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/userinfo"),
            "jwks_uri": format!("{base}/jwks"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": true,
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"keys": [published_jwk(&rsa_key(), Some(FAKE_KID))]}),
        ))
        .mount(&server)
        .await;
    let fake = FakeProvider { server };
    let (app, b, state, nonce) = crate::helpers::start_login_at_fake(&fake, |s| {
        s.unknown_user_policy = reference_client::UnknownUserPolicy::AutoCreate;
    })
    .await;
    let id_token = sign(&fake.claims(&nonce), &rsa_key(), Some(FAKE_KID));
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "a1", "token_type": "Bearer", "expires_in": 60,
            "refresh_token": "r1", "id_token": id_token,
        })))
        .expect(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "a2", "token_type": "Bearer", "expires_in": 60,
        })))
        .expect(2)
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/userinfo"))
        .and(header("authorization", "Bearer a2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sub": "fake-subject-1"})),
        )
        .expect(2)
        .mount(&fake.server)
        .await;

    let login = app.post_callback(&b, &fake_callback(&fake, &state)).await;
    assert_eq!(login.status(), StatusCode::OK);
    let token = json(login).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    for _ in 0..2 {
        app.state.clock.advance(Duration::from_secs(ACCESS_TTL + 1));
        let response = app.get_provider_profile(&token).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    fake.server.verify().await;
}
