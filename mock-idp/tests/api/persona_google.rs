//! The Google persona: discovery at Google's paths, `azp` and `hd` in its id_tokens, `hd=` a hint only, a
//! refresh token only for `access_type=offline` on the first consent or `prompt=consent`, a refresh grant
//! that keeps its token, and its faults (`id_token.iss_without_scheme`, `google.*`).

use mock_idp::{ClientConfig, Config, Fault, FaultSpec, Persona, UserConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A Google provider with alice as a Workspace user of `example.com`, bob a consumer account with an
/// `@example.com` address, and `web` in project `shop` with its sibling `android`.
async fn spawn_google() -> TestIdp {
    let mut config = Config {
        persona: Persona::Google,
        ..Config::builtin()
    };
    for user in &mut config.users {
        if user.username == "alice" {
            user.hd = Some("example.com".into());
        }
    }
    for client in &mut config.clients {
        if client.client_id == WEB {
            client.project = Some("shop".into());
        }
    }
    let mut android = ClientConfig::public("android", "com.example.shop:/oauth2redirect");
    android.project = Some("shop".into());
    config.clients.push(android);
    spawn_idp_with(config).await
}

impl TestIdp {
    /// A code for `username` from `GET /o/oauth2/v2/auth` with these extra parameters.
    async fn google_code(&self, username: &str, extra: &[(&str, &str)]) -> String {
        let reply = self.google_authorize(username, extra).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
        param(&reply.location(), "code").expect("code")
    }

    async fn google_authorize(&self, username: &str, extra: &[(&str, &str)]) -> Reply {
        self.idp.next_login(username);
        let mut url = url::Url::parse(&self.idp.url("/o/oauth2/v2/auth")).expect("url");
        let defaults = [
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email profile"),
            ("state", "g-state"),
        ];
        url.query_pairs_mut().extend_pairs(
            defaults
                .iter()
                .filter(|(k, _)| extra.iter().all(|(e, _)| e != k)),
        );
        url.query_pairs_mut().extend_pairs(extra);
        read(self.http.get(url).send().await.expect("authorize")).await
    }

    /// The tokens of a Google login of `username` (a code exchanged at `/token`).
    async fn google_login(&self, username: &str, extra: &[(&str, &str)]) -> Value {
        let code = self.google_code(username, extra).await;
        let reply = self
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", WEB_REDIRECT),
                ],
                Some(&basic(WEB, WEB_SECRET)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.json()
    }
}

fn id_claims(tokens: &Value) -> Value {
    claims(tokens["id_token"].as_str().expect("an id_token"))
}

#[tokio::test]
async fn google_discovery_names_its_base_as_issuer_and_its_real_paths() {
    let t = spawn_google().await;
    let doc = read(
        t.http
            .get(t.idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery"),
    )
    .await
    .json();
    assert_eq!(doc["issuer"], t.idp.issuer());
    // Google sends iss in its authorization responses without declaring it.
    assert_eq!(
        doc.get("authorization_response_iss_parameter_supported"),
        None
    );
    let redirect = t.google_authorize("alice", &[]).await.location();
    assert_eq!(param(&redirect, "iss").as_deref(), Some(t.idp.issuer()));
    for (key, path) in [
        ("authorization_endpoint", "/o/oauth2/v2/auth"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/v1/userinfo"),
        ("jwks_uri", "/oauth2/v3/certs"),
    ] {
        assert_eq!(doc[key], t.idp.url(path), "{key}");
    }
    let jwks = read(
        t.http
            .get(t.idp.url("/oauth2/v3/certs"))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert!(
        jwks.json()["keys"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
}

#[tokio::test]
async fn google_id_tokens_carry_azp_and_the_accounts_own_hd_whatever_hd_asked() {
    let t = spawn_google().await;
    let alice = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(alice["iss"], t.idp.issuer());
    assert_eq!(alice["aud"], WEB);
    assert_eq!(alice["azp"], WEB);
    assert_eq!(alice["hd"], "example.com");
    assert_eq!(alice["email_verified"], Value::Bool(true));
    // bob is a consumer account: no hd, even though the request asked for one and his address is at it.
    let bob = id_claims(&t.google_login("bob", &[("hd", "example.com")]).await);
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob.get("hd"), None, "{bob}");
    // The hint was recorded on the request all the same.
    let tokens = t.google_login("alice", &[("hd", "other.example")]).await;
    assert_eq!(
        id_claims(&tokens)["hd"],
        "example.com",
        "the account's own domain"
    );
    // Userinfo carries hd too.
    let info = read(
        t.http
            .get(t.idp.url("/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().expect("access token"))
            .send()
            .await
            .expect("userinfo"),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{info:?}");
    assert_eq!(info.json()["hd"], "example.com");
    assert_eq!(info.json()["sub"], alice["sub"]);
}

#[tokio::test]
async fn google_userinfo_answers_a_token_of_profile_and_email_without_openid() {
    let t = spawn_google().await;
    let tokens = t.google_login("alice", &[("scope", "profile email")]).await;
    assert_eq!(tokens.get("id_token"), None, "no openid, no id_token");
    let info = read(
        t.http
            .get(t.idp.url("/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().expect("access token"))
            .send()
            .await
            .expect("userinfo"),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{info:?}");
    assert_eq!(info.json()["email"], "alice@example.com");
    // The OpenID provider still needs openid.
    let oidc = spawn_idp().await;
    let code = oidc.code_for("alice", &[("scope", "profile email")]).await;
    let token = oidc.exchange(&code).await.json()["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_eq!(oidc.userinfo(&token).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_access_type_is_refused_by_redirect() {
    let t = spawn_google().await;
    let reply = t
        .google_authorize("alice", &[("access_type", "forever")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    let location = reply.location();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(param(&location, "state").as_deref(), Some("g-state"));
}

#[tokio::test]
async fn a_refresh_token_comes_only_offline_on_the_first_consent_or_prompt_consent() {
    let t = spawn_google().await;
    // Online (the default): never, not even on the first consent.
    let online = t.google_login("bob", &[]).await;
    assert_eq!(online.get("refresh_token"), None, "{online}");
    // Offline, but bob consented to web above: none.
    let again = t.google_login("bob", &[("access_type", "offline")]).await;
    assert_eq!(again.get("refresh_token"), None, "{again}");
    // alice's first consent, offline: one.
    let first = t.google_login("alice", &[("access_type", "offline")]).await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("first consent")
        .to_owned();
    let second = t.google_login("alice", &[("access_type", "offline")]).await;
    assert_eq!(second.get("refresh_token"), None, "{second}");
    // prompt=consent brings another.
    let forced = t
        .google_login(
            "alice",
            &[("access_type", "offline"), ("prompt", "consent")],
        )
        .await;
    assert!(forced["refresh_token"].is_string(), "{forced}");
    // A refresh grant answers no new refresh token, and the one issued stays usable.
    for _ in 0..2 {
        let reply = t
            .token(
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                Some(&basic(WEB, WEB_SECRET)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let body = reply.json();
        assert!(body["access_token"].is_string());
        assert_eq!(body.get("refresh_token"), None, "{body}");
        assert_eq!(id_claims(&body)["azp"], WEB);
    }
    // Another client cannot use it.
    let stolen = t
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(&basic("web-post", "web-post-secret")),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED, "{stolen:?}");
}

#[tokio::test]
async fn the_oidc_persona_still_rotates_refresh_tokens() {
    let t = spawn_idp().await;
    let code = t.code_for("alice", &[]).await;
    let tokens = t.exchange(&code).await.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let first = t.token(&form, Some(&basic(WEB, WEB_SECRET))).await;
    assert!(first.json()["refresh_token"].is_string(), "{first:?}");
    let replay = t.token(&form, Some(&basic(WEB, WEB_SECRET))).await;
    assert_eq!(replay.error(), "invalid_grant");
}

#[tokio::test]
async fn iss_without_scheme_drops_the_scheme_on_google_and_on_oidc() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::IdTokenIssWithoutScheme).once())
        .expect("arm");
    let bare = t.idp.issuer().trim_start_matches("http://").to_owned();
    assert_eq!(id_claims(&t.google_login("alice", &[]).await)["iss"], bare);
    assert_eq!(
        id_claims(&t.google_login("alice", &[]).await)["iss"],
        t.idp.issuer()
    );

    let oidc = spawn_idp().await;
    oidc.idp
        .arm(FaultSpec::new(Fault::IdTokenIssWithoutScheme).once())
        .expect("arm");
    let code = oidc.code_for("alice", &[]).await;
    let iss = id_claims(&oidc.exchange(&code).await.json())["iss"].clone();
    assert_eq!(iss, oidc.idp.issuer().trim_start_matches("http://"));
}

#[tokio::test]
async fn hd_stripped_issues_a_token_without_hd() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::parse("google.hd_stripped", None).expect("name")).once())
        .expect("arm");
    let stripped = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(stripped.get("hd"), None, "{stripped}");
    assert_eq!(stripped["email"], "alice@example.com");
    let next = id_claims(&t.google_login("alice", &[("hd", "example.com")]).await);
    assert_eq!(next["hd"], "example.com");
}

#[tokio::test]
async fn azp_faults_name_a_sibling_or_a_foreign_client_and_keep_aud() {
    let t = spawn_google().await;
    t.idp
        .arm(FaultSpec::new(Fault::GoogleAzpSibling).once())
        .expect("arm");
    let sibling = id_claims(&t.google_login("alice", &[]).await);
    assert_eq!(
        (&sibling["azp"], &sibling["aud"]),
        (&"android".into(), &WEB.into())
    );
    t.idp
        .arm(FaultSpec::new(Fault::GoogleAzpForeign).once())
        .expect("arm");
    let foreign = id_claims(&t.google_login("alice", &[]).await);
    assert_eq!(foreign["azp"], "another-client");
    assert_eq!(foreign["aud"], WEB);
    assert_eq!(id_claims(&t.google_login("alice", &[]).await)["azp"], WEB);
}

#[tokio::test]
async fn hd_and_project_are_validated_naming_the_field() {
    let t = spawn_google().await;
    let mut user = UserConfig::new("carol", "pw", "carol-sub");
    user.hd = Some(String::new());
    let e = t.idp.add_user(user).expect_err("empty hd");
    assert!(e.to_string().contains(".hd"), "{e}");
    let mut client = ClientConfig::confidential("ios", "s", "http://127.0.0.1:1/cb");
    client.project = Some(String::new());
    let e = t.idp.add_client(client).expect_err("empty project");
    assert!(e.to_string().contains(".project"), "{e}");
}
