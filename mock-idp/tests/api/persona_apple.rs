//! The Sign in with Apple persona: the client secret as an ES256 JWT the client signs, `form_post` when
//! `name` or `email` is asked, the `user` form field only on a first authorization, string email flags,
//! private relay addresses, a refresh that returns no new refresh token, its faults (APPLE-CLIENT-SECRET,
//! APPLE-FORM-POST, APPLE-USER-BLOB, APPLE-BOOL-STRINGS, APPLE-RELAY-EMAIL on the provider's side).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mock_idp::{
    ClientConfig, ClientSecretKey, Config, Fault, GrantType, Persona, SigningAlg, SigningKey,
    UserConfig,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SERVICE: &str = "com.example.web";
const TEAM: &str = "TEAM123456";
const KID: &str = "KEY1ABCDEF";

struct Apple {
    t: TestIdp,
    key: SigningKey,
}

fn apple_client(id: &str, team: &str, key: &SigningKey) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        redirect_uris: vec![WEB_REDIRECT.into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        token_endpoint_auth_method: mock_idp::AuthMethod::ClientSecretPost,
        team_id: Some(team.into()),
        client_secret_keys: vec![ClientSecretKey {
            kid: key.kid().into(),
            public_key_pem: key.public_pem().expect("pem"),
        }],
        ..ClientConfig::default()
    }
}

async fn spawn_apple() -> Apple {
    let key = SigningKey::generate(SigningAlg::ES256, KID).expect("key");
    let mut config = Config {
        persona: Persona::Apple,
        admin: true,
        ..Config::builtin()
    };
    config.clients.push(apple_client(SERVICE, TEAM, &key));
    let mut carol = UserConfig::new("carol", "carol-password", "001234.carol");
    carol.email = Some("carol@example.com".into());
    carol.given_name = Some("Carol".into());
    carol.family_name = Some("Cooper".into());
    carol.apple_hide_email = true;
    config.users.push(carol);
    Apple {
        t: spawn_idp_with(config).await,
        key,
    }
}

/// A client secret signed by `key` with these claims (header `alg` ES256, `kid` the key's).
fn secret_with(key: &SigningKey, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": key.kid()}).to_string());
    key.sign_with_header(&header, claims).expect("sign")
}

/// Unescapes the HTML attribute values of the form_post page.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn field(html: &str, name: &str) -> Option<String> {
    html.contains(&format!("name=\"{name}\""))
        .then(|| unescape(&hidden(html, name)))
}

impl Apple {
    fn now(&self) -> u64 {
        self.t.idp.clock().now()
    }

    fn claims(&self) -> Value {
        let now = self.now();
        json!({"iss": TEAM, "sub": SERVICE, "aud": self.t.idp.issuer(), "iat": now, "exp": now + 3600})
    }

    fn secret(&self) -> String {
        secret_with(&self.key, &self.claims())
    }

    async fn authorize(&self, username: &str, scope: &str, mode: Option<&str>) -> Reply {
        self.t.idp.next_login(username);
        let mut params = vec![
            ("client_id", SERVICE),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ];
        if let Some(mode) = mode {
            params.push(("response_mode", mode));
        }
        let mut url = url::Url::parse(&self.t.idp.url("/auth/authorize")).expect("url");
        url.query_pairs_mut().extend_pairs(params);
        read(self.t.http.get(url).send().await.expect("authorize")).await
    }

    /// A form_post login: the page's `code` and `user` fields.
    async fn login(&self, username: &str, scope: &str) -> (String, Option<String>) {
        let page = self.authorize(username, scope, Some("form_post")).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        assert_eq!(field(&page.body, "state").as_deref(), Some("st-1"));
        assert_eq!(field(&page.body, "iss"), None, "Apple sends no iss");
        (
            field(&page.body, "code").expect("code"),
            field(&page.body, "user"),
        )
    }

    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        read(
            self.t
                .http
                .post(self.t.idp.url("/auth/token"))
                .form(form)
                .send()
                .await
                .expect("token"),
        )
        .await
    }

    async fn exchange(&self, code: &str, secret: &str) -> Reply {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", SERVICE),
            ("client_secret", secret),
        ])
        .await
    }
}

fn assert_invalid_client(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}: {reply:?}");
    // Apple's ErrorResponse: `error` alone.
    assert_eq!(reply.json(), json!({"error": "invalid_client"}), "{what}");
    assert!(reply.header("www-authenticate").is_none(), "{what}");
}

#[tokio::test]
async fn discovery_names_apples_paths_scopes_and_no_iss_parameter() {
    let a = spawn_apple().await;
    let doc = read(
        a.t.http
            .get(a.t.idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery"),
    )
    .await
    .json();
    assert_eq!(doc["issuer"], json!(a.t.idp.issuer()));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(a.t.idp.url("/auth/authorize"))
    );
    assert_eq!(doc["token_endpoint"], json!(a.t.idp.url("/auth/token")));
    assert_eq!(doc["jwks_uri"], json!(a.t.idp.url("/auth/keys")));
    assert_eq!(doc["scopes_supported"], json!(["openid", "email", "name"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post"])
    );
    assert!(
        doc.get("userinfo_endpoint").is_none(),
        "Apple has no userinfo"
    );
    assert!(
        doc.get("authorization_response_iss_parameter_supported")
            .is_none()
    );
    let keys = read(
        a.t.http
            .get(a.t.idp.url("/auth/keys"))
            .send()
            .await
            .expect("jwks"),
    )
    .await;
    assert!(!keys.json()["keys"].as_array().expect("keys").is_empty());
}

#[tokio::test]
async fn a_valid_signed_client_secret_redeems_the_code_and_an_id_token_comes_without_openid() {
    let a = spawn_apple().await;
    let (code, _) = a.login("alice", "name email").await;
    let reply = a.exchange(&code, &a.secret()).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body = reply.json();
    assert!(body["refresh_token"].is_string());
    let id = claims(body["id_token"].as_str().expect("id_token without openid"));
    assert_eq!(id["aud"], json!(SERVICE));
    assert_eq!(id["iss"], json!(a.t.idp.issuer()));
    assert_eq!(id["nonce"], json!("n-1"));
    assert_eq!(id["email"], json!("alice@example.com"));
    assert_eq!(id["email_verified"], json!("true"));
    assert_eq!(id["is_private_email"], json!("false"));
    assert_eq!(id["nonce_supported"], json!(true));
    for absent in [
        "real_user_status",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "picture",
        "sid",
    ] {
        assert!(
            id.get(absent).is_none(),
            "{absent} is not in Apple's id_token: {id}"
        );
    }
}

#[tokio::test]
async fn every_bad_client_secret_is_invalid_client_400() {
    let a = spawn_apple().await;
    let now = a.now();
    let issuer = a.t.idp.issuer().to_owned();
    let other = SigningKey::generate(SigningAlg::ES256, KID).expect("key");
    let unknown_kid = SigningKey::generate(SigningAlg::ES256, "OTHERKID").expect("key");
    let base = a.claims();
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = base.clone();
        c.as_object_mut().expect("object").remove(k);
        c
    };
    let hs256 = {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": KID}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(base.to_string());
        let signed = format!("{header}.{payload}");
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                b"0123456789abcdef0123456789abcdef",
            ),
            signed.as_bytes(),
        );
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let cases: Vec<(&str, String)> = vec![
        ("expired", secret_with(&a.key, &with("exp", json!(now - 1)))),
        (
            "longer than six months",
            secret_with(&a.key, &with("exp", json!(now + 15_777_001))),
        ),
        (
            "iat in the future",
            secret_with(&a.key, &with("iat", json!(now + 600))),
        ),
        ("no iat", secret_with(&a.key, &without("iat"))),
        ("no exp", secret_with(&a.key, &without("exp"))),
        (
            "wrong aud",
            secret_with(&a.key, &with("aud", json!("https://appleid.apple.com"))),
        ),
        (
            "wrong iss",
            secret_with(&a.key, &with("iss", json!("OTHERTEAM"))),
        ),
        (
            "wrong sub",
            secret_with(&a.key, &with("sub", json!("com.example.other"))),
        ),
        ("signed by another key", secret_with(&other, &base)),
        ("unknown kid", secret_with(&unknown_kid, &base)),
        ("HS256", hs256),
        ("not a JWT", "web-secret".into()),
    ];
    for (what, secret) in cases {
        let (code, _) = a.login("alice", "openid").await;
        let reply = a.exchange(&code, &secret).await;
        assert_invalid_client(&reply, what);
        // The refused request leaves the code usable.
        let ok = a.exchange(&code, &a.secret()).await;
        assert_eq!(
            ok.status,
            StatusCode::OK,
            "{what}: the code survives: {ok:?}"
        );
    }
    // The aud is this provider's issuer, the stand-in for https://appleid.apple.com.
    assert_ne!(issuer, "https://appleid.apple.com");
    // Exactly six months is accepted.
    let (code, _) = a.login("alice", "openid").await;
    let six = secret_with(&a.key, &with("exp", json!(now + 15_777_000)));
    assert_eq!(a.exchange(&code, &six).await.status, StatusCode::OK);
    // The JWT in a Basic header is refused too (Apple takes it in the body), with 400, not 401.
    let (code, _) = a.login("alice", "openid").await;
    let reply = read(
        a.t.http
            .post(a.t.idp.url("/auth/token"))
            .header("authorization", basic(SERVICE, &a.secret()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", WEB_REDIRECT),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert_invalid_client(&reply, "Basic");
    // No secret at all.
    let reply = a
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", SERVICE),
        ])
        .await;
    assert_invalid_client(&reply, "no secret");
}

#[tokio::test]
async fn a_secret_valid_yesterday_is_refused_once_the_clock_passes_its_exp() {
    let a = spawn_apple().await;
    let secret = a.secret();
    let (code, _) = a.login("alice", "openid").await;
    a.t.idp
        .clock()
        .advance(std::time::Duration::from_secs(3601));
    let reply = a.exchange(&code, &secret).await;
    assert_invalid_client(&reply, "expired by the provider's clock");
}

#[tokio::test]
async fn failed_client_secrets_are_throttled_like_every_token_endpoint() {
    let a = spawn_apple().await;
    let bad = secret_with(&a.key, &json!({"iss": "x"}));
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let reply = a
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("client_id", SERVICE),
                ("client_secret", bad.as_str()),
            ])
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses[0], StatusCode::BAD_REQUEST);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "throttled: {statuses:?}"
    );
    let throttled = a
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("client_id", SERVICE),
            ("client_secret", bad.as_str()),
        ])
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").is_some());
}

#[tokio::test]
async fn name_or_email_without_form_post_is_refused_and_openid_alone_may_use_the_query() {
    let a = spawn_apple().await;
    for scope in ["name", "email", "openid name email"] {
        let reply = a.authorize("alice", scope, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
        let location = reply.location();
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request"),
            "{scope}"
        );
        assert!(param(&location, "code").is_none());
        let reply = a.authorize("alice", scope, Some("query")).await;
        assert_eq!(
            param(&reply.location(), "error").as_deref(),
            Some("invalid_request")
        );
    }
    // The queued logins above were not consumed by refused requests; drain them.
    let reply = a.authorize("alice", "openid", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(param(&reply.location(), "code").is_some());
    assert!(
        param(&reply.location(), "iss").is_none(),
        "Apple sends no iss"
    );
    // A scope Apple does not know is still refused.
    let reply = a.authorize("alice", "openid profile_x", None).await;
    assert_eq!(
        param(&reply.location(), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn the_user_field_comes_on_the_first_authorization_only_until_the_app_is_revoked() {
    let a = spawn_apple().await;
    let (_, user) = a.login("alice", "name email").await;
    let user: Value = serde_json::from_str(&user.expect("user on the first login")).expect("json");
    assert_eq!(
        user,
        json!({"name": {"firstName": "Alice", "lastName": "Adams"}, "email": "alice@example.com"})
    );
    let (_, again) = a.login("alice", "name email").await;
    assert_eq!(again, None, "no user field on a later authorization");
    // Another user's first authorization still carries theirs.
    let (_, bob) = a.login("bob", "name").await;
    let bob: Value = serde_json::from_str(&bob.expect("bob's")).expect("json");
    assert_eq!(
        bob,
        json!({"name": {"firstName": "Bob", "lastName": "Brown"}})
    );
    // The user revokes the app: the next authorization is a first one.
    assert!(a.t.idp.forget_consent(SERVICE, "alice"));
    assert!(!a.t.idp.forget_consent(SERVICE, "alice"));
    let (_, back) = a.login("alice", "email").await;
    let back: Value = serde_json::from_str(&back.expect("user again")).expect("json");
    assert_eq!(back, json!({"email": "alice@example.com"}));
}

#[tokio::test]
async fn no_user_field_without_name_or_email_even_on_the_first_authorization() {
    let a = spawn_apple().await;
    let (_, user) = a.login("alice", "openid").await;
    assert_eq!(user, None);
}

#[tokio::test]
async fn a_hidden_email_is_a_relay_address_per_team_in_the_user_field_and_the_id_token() {
    let a = spawn_apple().await;
    let (code, user) = a.login("carol", "name email").await;
    let user: Value = serde_json::from_str(&user.expect("user")).expect("json");
    let relay = user["email"].as_str().expect("email").to_owned();
    assert!(relay.ends_with("@privaterelay.appleid.com"), "{relay}");
    let body = a.exchange(&code, &a.secret()).await.json();
    let id = claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["email"], json!(relay), "the same address in both");
    assert_eq!(id["is_private_email"], json!("true"));
    assert_eq!(id["email_verified"], json!("true"));
    // Another service of the same team gets the same relay address; another team's a different one.
    let same_team = SigningKey::generate(SigningAlg::ES256, "K2").expect("key");
    a.t.idp
        .add_client(apple_client("com.example.other", TEAM, &same_team))
        .expect("client");
    a.t.idp
        .add_client(apple_client("org.elsewhere.web", "OTHERTEAM1", &same_team))
        .expect("client");
    let mut relays = Vec::new();
    for client in ["com.example.other", "org.elsewhere.web"] {
        a.t.idp.next_login("carol");
        let mut url = url::Url::parse(&a.t.idp.url("/auth/authorize")).expect("url");
        url.query_pairs_mut().extend_pairs([
            ("client_id", client),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "email"),
            ("response_mode", "form_post"),
        ]);
        let page = read(a.t.http.get(url).send().await.expect("authorize")).await;
        let user: Value =
            serde_json::from_str(&field(&page.body, "user").expect("user")).expect("json");
        relays.push(user["email"].as_str().expect("email").to_owned());
    }
    assert_eq!(relays[0], relay, "one relay address per team");
    assert_ne!(relays[1], relay, "another team, another address");
    assert!(relays[1].ends_with("@privaterelay.appleid.com"));
}

#[tokio::test]
async fn apple_bool_flags_makes_the_email_flags_booleans() {
    let a = spawn_apple().await;
    a.t.idp.fault(Fault::AppleBoolFlags).once();
    let (code, _) = a.login("alice", "email").await;
    let id = claims(
        a.exchange(&code, &a.secret()).await.json()["id_token"]
            .as_str()
            .expect("id"),
    );
    assert_eq!(id["email_verified"], json!(true));
    assert_eq!(id["is_private_email"], json!(false));
    // The request log names it on the token answer that carried it.
    let named = |name: &str| {
        a.t.idp
            .requests()
            .iter()
            .filter(|r| r.note.faults.iter().any(|f| f == name))
            .count()
    };
    assert_eq!(named("apple.bool_flags"), 1);
    // Once: the next id_token has strings again.
    let (code, _) = a.login("alice", "email").await;
    let id = claims(
        a.exchange(&code, &a.secret()).await.json()["id_token"]
            .as_str()
            .expect("id"),
    );
    assert_eq!(id["email_verified"], json!("true"));
}

#[tokio::test]
async fn apple_forged_user_names_another_users_email_in_the_user_field_only() {
    let a = spawn_apple().await;
    a.t.idp.fault(Fault::AppleForgedUser).once();
    let (code, user) = a.login("alice", "name email").await;
    let user: Value = serde_json::from_str(&user.expect("user")).expect("json");
    assert_eq!(user["email"], json!("bob@example.com"));
    assert_eq!(user["name"]["firstName"], json!("Bob"));
    // The request log names it on the authorization answer that carried it.
    let log = a.t.idp.requests();
    let forged: Vec<_> = log
        .iter()
        .filter(|r| r.note.faults.iter().any(|f| f == "apple.forged_user"))
        .collect();
    assert_eq!(forged.len(), 1, "{log:?}");
    let id = claims(
        a.exchange(&code, &a.secret()).await.json()["id_token"]
            .as_str()
            .expect("id"),
    );
    assert_eq!(
        id["email"],
        json!("alice@example.com"),
        "the id_token stays true"
    );
    assert_eq!(id["sub"], json!("248289761001"));
}

#[tokio::test]
async fn refresh_returns_no_new_refresh_token_and_the_old_one_stays_valid() {
    let a = spawn_apple().await;
    let (code, _) = a.login("alice", "name email").await;
    let body = a.exchange(&code, &a.secret()).await.json();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();
    for round in 0..3 {
        let reply = a
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", SERVICE),
                ("client_secret", a.secret().as_str()),
            ])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "round {round}: {reply:?}");
        let body = reply.json();
        assert!(body["access_token"].is_string());
        assert!(
            body.get("refresh_token").is_none(),
            "no new refresh token: {body}"
        );
        let id = claims(body["id_token"].as_str().expect("id_token"));
        assert_eq!(id["sub"], json!("248289761001"));
        assert_eq!(id["email_verified"], json!("true"));
    }
    // A wrong secret is still invalid_client at the refresh.
    let reply = a
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", SERVICE),
            ("client_secret", "nope"),
        ])
        .await;
    assert_invalid_client(&reply, "refresh with a bad secret");
    // Expired by the clock: invalid_grant.
    a.t.idp.clock().advance(std::time::Duration::from_secs(
        a.t.idp.config().refresh_token_ttl + 1,
    ));
    let reply = a
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", SERVICE),
            ("client_secret", a.secret().as_str()),
        ])
        .await;
    assert_eq!(reply.error(), "invalid_grant");
}

#[tokio::test]
async fn apple_clients_are_validated_naming_the_field() {
    let key = SigningKey::generate(SigningAlg::ES256, KID).expect("key");
    let mut c = apple_client(SERVICE, TEAM, &key);
    c.client_secret_keys.clear();
    let e = c.validate("clients[0]").expect_err("no keys").to_string();
    assert!(e.contains("clients[0].client_secret_keys"), "{e}");
    let mut c = apple_client(SERVICE, TEAM, &key);
    c.team_id = None;
    assert!(
        c.validate("c")
            .expect_err("no team")
            .to_string()
            .contains("c.team_id")
    );
    let mut c = apple_client(SERVICE, TEAM, &key);
    c.client_secret_keys[0].public_key_pem = SigningKey::generate(SigningAlg::RS256, "r")
        .expect("rsa")
        .public_pem()
        .expect("pem");
    let e = c.validate("c").expect_err("RSA").to_string();
    assert!(e.contains("c.client_secret_keys[0].public_key_pem"), "{e}");
    let mut c = apple_client(SERVICE, TEAM, &key);
    c.client_secret = Some("shared".into());
    assert!(c.validate("c").is_err(), "a shared secret besides the keys");
}

#[tokio::test]
async fn the_admin_api_registers_an_apple_client_and_forgets_a_consent() {
    let a = spawn_apple().await;
    let admin = a.t.idp.url("/admin/tenants/root");
    let key = SigningKey::generate(SigningAlg::ES256, "ADMINKEY").expect("key");
    let client = serde_json::to_value(apple_client("com.example.admin", TEAM, &key)).expect("json");
    assert_eq!(client["team_id"], json!(TEAM));
    let reply = read(
        a.t.http
            .post(format!("{admin}/clients"))
            .json(&client)
            .send()
            .await
            .expect("add"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert!(
        a.t.idp
            .client("com.example.admin")
            .is_some_and(|c| c.team_id.as_deref() == Some(TEAM))
    );
    let forget = || async {
        read(
            a.t.http
                .delete(format!("{admin}/clients/{SERVICE}/consents/alice"))
                .send()
                .await
                .expect("forget"),
        )
        .await
        .status
    };
    assert_eq!(forget().await, StatusCode::NOT_FOUND);
    a.login("alice", "name").await;
    assert_eq!(forget().await, StatusCode::NO_CONTENT);
    let (_, user) = a.login("alice", "name").await;
    assert!(user.is_some(), "a first authorization again");
}

#[test]
fn an_apple_config_file_reads_the_client_keys_and_the_hidden_email() {
    let key = SigningKey::generate(SigningAlg::ES256, KID).expect("key");
    let pem = key.public_pem().expect("pem");
    let toml = format!(
        r#"
persona = "apple"
[[clients]]
client_id = "{SERVICE}"
redirect_uris = ["{WEB_REDIRECT}"]
token_endpoint_auth_method = "client_secret_post"
team_id = "{TEAM}"
[[clients.client_secret_keys]]
kid = "{KID}"
public_key_pem = """
{pem}"""
[[users]]
username = "dana"
password = "pw"
sub = "000111.dana"
email = "dana@example.com"
apple_hide_email = true
"#
    );
    let config = Config::from_toml(&toml).expect("parses");
    assert_eq!(config.persona, Persona::Apple);
    assert_eq!(config.clients[0].client_secret_keys[0].kid, KID);
    assert!(config.users[0].apple_hide_email);
}

/// `mock-idp --persona apple` serves Apple's paths, and `mock-idp admin forget-consent` revokes an app.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_serves_apple_and_forgets_a_consent() {
    use std::{
        io::{BufRead, BufReader},
        process::{Command, Stdio},
    };
    const BIN: &str = env!("CARGO_BIN_EXE_mock-idp");
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--persona", "apple", "--admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("banner");
    let mut rest = String::new();
    stdout.read_line(&mut rest).expect("banner");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    assert!(
        format!("{first}{rest}").contains("persona: apple"),
        "{first}{rest}"
    );
    let url = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let admin = |args: &[&str]| {
        Command::new(BIN)
            .args(["admin", "--url", &url])
            .args(args)
            .output()
            .expect("run")
            .status
            .success()
    };
    let http = browser();
    let doc: Value = http
        .get(format!("{url}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{url}/auth/authorize"))
    );
    assert!(
        !admin(&["forget-consent", "root", WEB, "alice"]),
        "nothing to forget yet"
    );
    assert!(admin(&["next-login", "root", "alice"]));
    let page = http
        .get(format!("{url}/auth/authorize"))
        .query(&[
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "name"),
            ("response_mode", "form_post"),
        ])
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    assert!(
        field(&page, "user").is_some(),
        "the first authorization: {page}"
    );
    assert!(admin(&["forget-consent", "root", WEB, "alice"]));
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn revoking_the_refresh_token_at_auth_revoke_ends_it() {
    let a = spawn_apple().await;
    let (code, _) = a.login("alice", "email").await;
    let body = a.exchange(&code, &a.secret()).await.json();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();
    let revoked = read(
        a.t.http
            .post(a.t.idp.url("/auth/revoke"))
            .form(&[
                ("client_id", SERVICE),
                ("client_secret", a.secret().as_str()),
                ("token", refresh.as_str()),
                ("token_type_hint", "refresh_token"),
            ])
            .send()
            .await
            .expect("revoke"),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    let reply = a
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", SERVICE),
            ("client_secret", a.secret().as_str()),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json(), json!({"error": "invalid_grant"}));
}
