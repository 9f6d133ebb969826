//! The Entra persona: Microsoft Entra ID's v2.0 endpoints under the tenant segment, the templated
//! issuer of the multi-tenant endpoints, tokens carrying `tid`, `oid`, `ver`, a pairwise `sub`, users in
//! directory tenants, and the `entra.*` faults (ENTRA-ISSUER, ENTRA-TENANT, ENTRA-IDENTITY-KEY,
//! ENTRA-V1-ISSUER on the provider's side).

use mock_idp::{
    Config, ENTRA_CONSUMER_TENANT, ENTRA_DEFAULT_TENANT, ENTRA_FOREIGN_TENANT, Fault, MockIdp,
    Persona, Secret, UserConfig,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const CONTOSO: &str = "11111111-2222-4333-8444-555555555555";

async fn spawn_entra() -> TestIdp {
    let t = spawn_idp_with(Config {
        persona: Persona::Entra,
        ..Config::builtin()
    })
    .await;
    let mut carol = UserConfig::new("carol", "carol-password", "sub-carol");
    carol.tid = Some(CONTOSO.into());
    carol.email = Some("carol@contoso.example".into());
    carol.name = Some("Carol Contoso".into());
    t.idp.add_user(carol).expect("carol");
    let mut pat = UserConfig::new("pat", "pat-password", "sub-pat");
    pat.tid = Some(ENTRA_CONSUMER_TENANT.into());
    t.idp.add_user(pat).expect("pat");
    t
}

impl TestIdp {
    async fn entra_get(&self, path: &str) -> Reply {
        read(self.http.get(self.idp.url(path)).send().await.expect("get")).await
    }

    /// The authorization endpoint of path tenant `tenant`, completed headlessly for `username`.
    async fn entra_authorize(&self, tenant: &str, username: &str) -> Reply {
        self.idp.next_login(username);
        let mut url = url::Url::parse(&self.idp.url(&format!("/{tenant}/oauth2/v2.0/authorize")))
            .expect("url");
        url.query_pairs_mut().extend_pairs([
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile email User.Read"),
            ("state", "ms-state"),
            ("nonce", "ms-nonce"),
        ]);
        read(self.http.get(url).send().await.expect("authorize")).await
    }

    async fn entra_token(&self, tenant: &str, code: &str) -> Reply {
        read(
            self.http
                .post(self.idp.url(&format!("/{tenant}/oauth2/v2.0/token")))
                .header("authorization", basic(WEB, WEB_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", WEB_REDIRECT),
                ])
                .send()
                .await
                .expect("token"),
        )
        .await
    }

    /// A full login at path tenant `tenant`: the token response.
    async fn entra_login(&self, tenant: &str, username: &str) -> Value {
        let reply = self.entra_authorize(tenant, username).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let location = reply.location();
        assert_eq!(
            param(&location, "iss"),
            None,
            "Entra sends no iss parameter"
        );
        let code = param(&location, "code").expect("code");
        let reply = self.entra_token(tenant, &code).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }
}

#[tokio::test]
async fn discovery_names_the_templated_issuer_at_multi_tenant_paths_and_the_tenants_own_at_a_guid()
{
    let t = spawn_entra().await;
    let base = t.idp.issuer().to_owned();
    for tenant in ["common", "organizations"] {
        let doc = t
            .entra_get(&format!("/{tenant}/v2.0/.well-known/openid-configuration"))
            .await
            .json();
        assert_eq!(doc["issuer"], json!(format!("{base}/{{tenantid}}/v2.0")));
        assert_eq!(
            doc["authorization_endpoint"],
            json!(format!("{base}/{tenant}/oauth2/v2.0/authorize"))
        );
        assert_eq!(
            doc["token_endpoint"],
            json!(format!("{base}/{tenant}/oauth2/v2.0/token"))
        );
        assert_eq!(
            doc["jwks_uri"],
            json!(format!("{base}/{tenant}/discovery/v2.0/keys"))
        );
    }
    let doc = t
        .entra_get("/consumers/v2.0/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        doc["issuer"],
        json!(format!("{base}/{ENTRA_CONSUMER_TENANT}/v2.0"))
    );
    let doc = t
        .entra_get(&format!("/{CONTOSO}/v2.0/.well-known/openid-configuration"))
        .await
        .json();
    assert_eq!(doc["issuer"], json!(format!("{base}/{CONTOSO}/v2.0")));
    assert!(
        doc.get("authorization_response_iss_parameter_supported")
            .is_none()
    );
    assert_eq!(doc["subject_types_supported"], json!(["pairwise"]));
    let keys = t.entra_get("/common/discovery/v2.0/keys").await;
    assert_eq!(keys.status, StatusCode::OK);
    assert!(!keys.json()["keys"].as_array().expect("keys").is_empty());
}

#[tokio::test]
async fn an_unknown_tenant_segment_is_aadsts90002_everywhere() {
    let t = spawn_entra().await;
    let doc = t
        .entra_get("/contoso.example/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(doc.status, StatusCode::BAD_REQUEST);
    assert_eq!(doc.error(), "invalid_tenant");
    assert!(
        doc.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS90002"))
    );
    let token = t.entra_token("not-a-tenant", "whatever").await;
    assert_eq!(token.status, StatusCode::BAD_REQUEST);
    assert_eq!(token.error(), "invalid_request");
    assert_eq!(token.json()["error_codes"], json!([90002]));
    let page = t.entra_authorize("not-a-tenant", "alice").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.header("location").is_none(),
        "an error page, no redirect"
    );
    assert!(page.body.contains("AADSTS90002"), "{}", page.body);
}

#[tokio::test]
async fn an_id_token_carries_the_tenant_the_oid_and_a_pairwise_sub() {
    let t = spawn_entra().await;
    let base = t.idp.issuer().to_owned();
    let body = t.entra_login("common", "alice").await;
    let id = claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(
        id["iss"],
        json!(format!("{base}/{ENTRA_DEFAULT_TENANT}/v2.0"))
    );
    assert_eq!(id["tid"], json!(ENTRA_DEFAULT_TENANT));
    assert_eq!(id["ver"], json!("2.0"));
    assert_eq!(id["preferred_username"], json!("alice"));
    assert_eq!(id["email"], json!("alice@example.com"));
    assert!(id.get("email_verified").is_none(), "Entra sends none");
    let alice = t.idp.user("alice").expect("alice");
    assert_eq!(id["oid"], json!(mock_idp::entra_oid(&alice)));
    assert_eq!(id["sub"], json!(mock_idp::entra_sub(&alice, WEB)));
    assert_ne!(id["sub"], json!(alice.sub), "sub is pairwise per app");
    assert_ne!(
        mock_idp::entra_sub(&alice, "other-app"),
        mock_idp::entra_sub(&alice, WEB)
    );
    // Userinfo names the same pairwise subject.
    let info = read(
        t.http
            .get(t.idp.url("/oidc/userinfo"))
            .bearer_auth(body["access_token"].as_str().expect("access"))
            .send()
            .await
            .expect("userinfo"),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.json()["sub"], id["sub"]);

    let carol = t.entra_login(CONTOSO, "carol").await;
    let id = claims(carol["id_token"].as_str().expect("id_token"));
    assert_eq!(id["iss"], json!(format!("{base}/{CONTOSO}/v2.0")));
    assert_eq!(id["tid"], json!(CONTOSO));
}

#[tokio::test]
async fn a_user_outside_the_path_tenant_is_refused_with_aadsts50020() {
    let t = spawn_entra().await;
    for (tenant, user) in [
        (CONTOSO, "alice"),
        (ENTRA_DEFAULT_TENANT, "carol"),
        ("organizations", "pat"),
        ("consumers", "alice"),
    ] {
        let reply = t.entra_authorize(tenant, user).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let location = reply.location();
        assert_eq!(param(&location, "code"), None, "{tenant} {user}");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert!(
            param(&location, "error_description").is_some_and(|d| d.starts_with("AADSTS50020")),
            "{location}"
        );
        assert_eq!(param(&location, "state").as_deref(), Some("ms-state"));
    }
    // Each is admitted where they belong.
    t.entra_login("consumers", "pat").await;
    t.entra_login("organizations", "carol").await;
    t.entra_login(ENTRA_DEFAULT_TENANT, "alice").await;
}

#[tokio::test]
async fn the_entra_faults_spoil_one_thing_each() {
    let t = spawn_entra().await;
    let base = t.idp.issuer().to_owned();
    let id_token = |body: &Value| claims(body["id_token"].as_str().expect("id_token"));

    t.idp.fault(Fault::EntraOtherTenant).times(1);
    let id = id_token(&t.entra_login("common", "alice").await);
    assert_eq!(
        id["iss"],
        json!(format!("{base}/{ENTRA_FOREIGN_TENANT}/v2.0"))
    );
    assert_eq!(id["tid"], json!(ENTRA_FOREIGN_TENANT));

    t.idp.fault(Fault::EntraTidMismatch).times(1);
    let id = id_token(&t.entra_login("common", "alice").await);
    assert_eq!(
        id["iss"],
        json!(format!("{base}/{ENTRA_FOREIGN_TENANT}/v2.0"))
    );
    assert_eq!(id["tid"], json!(ENTRA_DEFAULT_TENANT));

    t.idp.fault(Fault::EntraV1Issuer).times(1);
    let id = id_token(&t.entra_login("common", "alice").await);
    assert_eq!(id["iss"], json!(format!("{base}/{ENTRA_DEFAULT_TENANT}/")));
    assert_eq!(id["tid"], json!(ENTRA_DEFAULT_TENANT));

    t.idp.fault(Fault::EntraV1IssuerOtherTenant).times(1);
    let id = id_token(&t.entra_login("common", "alice").await);
    assert_eq!(id["iss"], json!(format!("{base}/{ENTRA_FOREIGN_TENANT}/")));
    assert_eq!(id["tid"], json!(ENTRA_DEFAULT_TENANT));

    // carol (Contoso) gets the address of the first user of another tenant: alice.
    t.idp.fault(Fault::EntraEmailOfOtherTenant).times(1);
    let id = id_token(&t.entra_login("common", "carol").await);
    assert_eq!(id["email"], json!("alice@example.com"));
    assert_eq!(id["tid"], json!(CONTOSO));

    // Spent: the next token is correct again.
    let id = id_token(&t.entra_login("common", "carol").await);
    assert_eq!(id["email"], json!("carol@contoso.example"));
    assert_eq!(id["iss"], json!(format!("{base}/{CONTOSO}/v2.0")));
}

#[tokio::test]
async fn tenant_and_object_ids_must_be_guids_on_every_surface() {
    let err = Config::from_toml(
        "persona = \"entra\"\n[[users]]\nusername = \"x\"\npassword = \"p\"\nsub = \"s\"\ntid = \"contoso\"\n",
    )
    .expect_err("not a GUID");
    assert!(err.to_string().contains("users[0].tid"), "{err}");
    let config = Config::from_toml(&format!(
        "persona = \"entra\"\n[[users]]\nusername = \"x\"\npassword = \"p\"\nsub = \"s\"\ntid = \"{CONTOSO}\"\noid = \"{ENTRA_DEFAULT_TENANT}\"\n"
    ))
    .expect("GUIDs");
    assert_eq!(config.users[0].tid.as_deref(), Some(CONTOSO));

    // The admin API takes the same fields.
    let mut config = Config {
        persona: Persona::Entra,
        ..Config::builtin()
    };
    config.admin = true;
    config.admin_token = Some(Secret::from("t"));
    let idp = MockIdp::start(config).await.expect("start");
    let http = browser();
    let add = |body: Value| {
        http.post(idp.url("/admin/tenants/root/users"))
            .bearer_auth("t")
            .json(&body)
            .send()
    };
    let bad = read(
        add(json!({"username": "d", "password": "p", "sub": "sd", "oid": "nope"}))
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("oid"), "{}", bad.body);
    let good = read(
        add(json!({"username": "d", "password": "p", "sub": "sd", "tid": CONTOSO}))
            .await
            .expect("post"),
    )
    .await;
    assert!(good.status.is_success(), "{}", good.body);
    assert_eq!(idp.user("d").and_then(|u| u.tid).as_deref(), Some(CONTOSO));
}

#[tokio::test]
async fn a_mock_idp_tenant_can_be_entra() {
    let t = spawn_idp().await;
    let tenant = t
        .idp
        .create_tenant(
            Some("entra"),
            Some(Config {
                persona: Persona::Entra,
                issuer: None,
                ..Config::builtin()
            }),
        )
        .expect("tenant");
    let doc = read(
        t.http
            .get(tenant.url("/organizations/v2.0/.well-known/openid-configuration"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
    assert_eq!(
        doc.json()["issuer"],
        json!(format!("{}/{{tenantid}}/v2.0", tenant.issuer()))
    );
    let bad = read(
        t.http
            .get(tenant.url("/nope/v2.0/.well-known/openid-configuration"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(bad.error(), "invalid_tenant");
}

/// `mock-idp --persona entra --fault entra.v1_issuer`: the CLI serves Entra's paths, and the fault spoils
/// the id_token of a login through the login page.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_serves_entra_and_arms_its_faults() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-idp"))
        .args([
            "--port",
            "0",
            "--persona",
            "entra",
            "--fault",
            "entra.v1_issuer",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    // Kept open until the end: the server writes its banner on.
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let first = lines.next().unwrap_or_default();
    let issuer = first.rsplit(' ').next().unwrap_or_default().to_owned();
    let http = browser();
    let doc = read(
        http.get(format!(
            "{issuer}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .expect("discovery"),
    )
    .await;
    assert_eq!(
        doc.json()["issuer"],
        json!(format!("{issuer}/{{tenantid}}/v2.0")),
        "{}",
        doc.body
    );
    let page = read(
        http.get(format!(
            "{issuer}/common/oauth2/v2.0/authorize?client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback\
             &response_type=code&scope=openid%20profile&state=s"
        ))
        .send()
        .await
        .expect("authorize"),
    )
    .await;
    let login = read(
        http.post(format!("{issuer}/authorize/login"))
            .form(&[
                ("request_id", hidden(&page.body, "request_id").as_str()),
                ("csrf", &hidden(&page.body, "csrf")),
                ("username", "alice"),
                ("password", "alice-password"),
                ("action", "login"),
            ])
            .send()
            .await
            .expect("login"),
    )
    .await;
    let code = param(&login.location(), "code").expect("code");
    let token = read(
        http.post(format!("{issuer}/common/oauth2/v2.0/token"))
            .header("authorization", basic(WEB, WEB_SECRET))
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
    let _ = child.kill();
    let _ = child.wait();
    drop(lines);
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let id = claims(token.json()["id_token"].as_str().expect("id_token"));
    assert_eq!(
        id["iss"],
        json!(format!("{issuer}/{ENTRA_DEFAULT_TENANT}/"))
    );
}

/// Entra grants resource permissions (`User.Read`) besides the OpenID scopes; plain OpenID Connect still
/// refuses an unknown scope.
#[tokio::test]
async fn resource_scopes_are_entra_only() {
    let t = spawn_entra().await;
    let body = t.entra_login("common", "alice").await;
    assert!(
        body["scope"]
            .as_str()
            .is_some_and(|s| s.split(' ').any(|x| x == "User.Read")),
        "{body}"
    );
    let oidc = spawn_idp().await;
    oidc.idp.next_login("alice");
    let reply = oidc
        .authorize(&[
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid User.Read"),
            ("state", "s"),
        ])
        .await;
    assert_eq!(
        param(&reply.location(), "error").as_deref(),
        Some("invalid_scope")
    );
}
