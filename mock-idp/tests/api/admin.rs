//! The admin API over real HTTP: every endpoint, the token rule, errors naming their field, the OpenAPI
//! document, and the CLI's `admin` subcommand against a running server.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use mock_idp::{Config, MockIdp, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn admin_idp(token: Option<&str>) -> MockIdp {
    let mut config = Config::builtin();
    config.admin = true;
    config.admin_token = token.map(Secret::from);
    MockIdp::start(config).await.expect("start")
}

struct Admin {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Admin {
    fn new(idp: &MockIdp, token: Option<&str>) -> Admin {
        Admin {
            http: browser(),
            base: idp.issuer().to_owned(),
            token: token.map(str::to_owned),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("admin request")).await
    }
    async fn get(&self, path: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> Reply {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

#[tokio::test]
async fn the_admin_api_is_off_by_default() {
    let t = spawn_idp().await;
    let reply = read(
        t.http
            .get(t.idp.url("/admin/tenants"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tenants_are_created_listed_and_deleted() {
    let idp = admin_idp(None).await;
    let admin = Admin::new(&idp, None);
    let created = admin.post("/admin/tenants", json!({"name": "qa-1"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["issuer"], format!("{}/t/qa-1", idp.issuer()));
    let generated = admin.post("/admin/tenants", json!({})).await.json();
    let name = generated["name"].as_str().expect("name").to_owned();
    let list = admin.get("/admin/tenants").await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let again = admin.post("/admin/tenants", json!({"name": "qa-1"})).await;
    assert_eq!(
        (again.status, again.error().as_str()),
        (StatusCode::CONFLICT, "conflict")
    );
    let bad = admin
        .post("/admin/tenants", json!({"name": "no spaces"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("name"))
    );
    let configured = admin
        .post(
            "/admin/tenants",
            json!({"name": "cfg", "config": {"code_ttl": 30, "users": [
                {"username": "zoe", "password": "zoe-password", "sub": "sub-zoe"}]}}),
        )
        .await;
    assert_eq!(
        configured.status,
        StatusCode::CREATED,
        "{}",
        configured.body
    );
    let cfg = idp.tenant("cfg").expect("cfg");
    assert!(cfg.user("zoe").is_some() && cfg.user("alice").is_none());
    let typo = admin
        .post(
            "/admin/tenants",
            json!({"name": "typo", "config": {"code_tll": 30}}),
        )
        .await;
    assert!(
        typo.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("code_tll"))
    );
    assert_eq!(
        admin.delete(&format!("/admin/tenants/{name}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.delete(&format!("/admin/tenants/{name}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn users_clients_next_login_clock_keys_faults_requests_and_verdict() {
    let idp = admin_idp(None).await;
    let admin = Admin::new(&idp, None);
    admin.post("/admin/tenants", json!({"name": "t"})).await;
    let t = idp.tenant("t").expect("tenant");
    let p = "/admin/tenants/t";

    let added = admin
        .post(
            &format!("{p}/users"),
            json!({"username": "dave", "password": "pw", "sub": "sub-dave"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert!(t.user("dave").is_some());
    let bad = admin
        .post(&format!("{p}/users"), json!({"username": "x"}))
        .await;
    assert!(
        bad.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("password"))
    );
    assert_eq!(
        admin.delete(&format!("{p}/users/dave")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(t.user("dave").is_none());

    let client = admin
        .post(
            &format!("{p}/clients"),
            json!({"client_id": "app", "client_secret": "app-secret",
                   "redirect_uris": ["http://127.0.0.1:8080/cb"]}),
        )
        .await;
    assert_eq!(client.status, StatusCode::CREATED, "{}", client.body);
    assert!(t.client("app").is_some());
    // TK-HS256: an HS256 client needs a 32-octet secret; the refusal names the field.
    let short = admin
        .post(
            &format!("{p}/clients"),
            json!({"client_id": "hs", "client_secret": "app-secret",
                   "redirect_uris": ["http://127.0.0.1:8080/cb"],
                   "id_token_signed_response_alg": "HS256"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
    assert!(
        short.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("client_secret") && d.contains("32")),
        "{}",
        short.body
    );
    let hs = admin
        .post(
            &format!("{p}/clients"),
            json!({"client_id": "hs", "client_secret": "an-hs256-secret-of-32-octets-!!!",
                   "redirect_uris": ["http://127.0.0.1:8080/cb"],
                   "id_token_signed_response_alg": "HS256"}),
        )
        .await;
    assert_eq!(hs.status, StatusCode::CREATED, "{}", hs.body);
    assert!(
        t.client("hs")
            .is_some_and(|c| c.id_token_signed_response_alg == Some(mock_idp::IdTokenAlg::HS256))
    );
    assert_eq!(
        admin.delete(&format!("{p}/clients/app")).await.status,
        StatusCode::NO_CONTENT
    );
    // RS-USERINFO-JWT: signed userinfo, with the algorithm the provider signs id_tokens with only.
    let signed = admin
        .post(
            &format!("{p}/clients"),
            json!({"client_id": "signed", "client_secret": "signed-secret",
                   "redirect_uris": ["http://127.0.0.1:8080/cb"],
                   "userinfo_signed_response_alg": "RS256"}),
        )
        .await;
    assert_eq!(signed.status, StatusCode::CREATED, "{}", signed.body);
    assert_eq!(
        t.client("signed")
            .and_then(|c| c.userinfo_signed_response_alg),
        Some(mock_idp::SigningAlg::RS256)
    );
    let other_alg = admin
        .post(
            &format!("{p}/clients"),
            json!({"client_id": "es", "client_secret": "es-secret",
                   "redirect_uris": ["http://127.0.0.1:8080/cb"],
                   "userinfo_signed_response_alg": "ES256"}),
        )
        .await;
    assert_eq!(other_alg.status, StatusCode::BAD_REQUEST);
    assert!(
        other_alg.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("userinfo_signed_response_alg")),
        "{}",
        other_alg.body
    );

    let unknown = admin
        .post(&format!("{p}/next-login"), json!({"username": "nobody"}))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        admin
            .post(&format!("{p}/next-login"), json!({"username": "alice"}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let before = admin.get(&format!("{p}/clock")).await.json()["now"]
        .as_u64()
        .expect("now");
    let frozen = admin
        .post(&format!("{p}/clock"), json!({"freeze": true}))
        .await
        .json();
    assert_eq!(frozen["frozen"], true);
    let moved = admin
        .post(&format!("{p}/clock"), json!({"advance_secs": 61}))
        .await
        .json();
    assert!(moved["now"].as_u64().expect("now") >= before + 61);
    let both = admin
        .post(
            &format!("{p}/clock"),
            json!({"advance_secs": 1, "freeze": true}),
        )
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert!(!idp.clock().is_frozen(), "the root's clock is its own");

    let keys = admin
        .post(&format!("{p}/keys/rotate"), json!({}))
        .await
        .json();
    assert_eq!(keys["kids"].as_array().map(Vec::len), Some(2));
    let keys = admin
        .post(&format!("{p}/keys/rotate"), json!({"retire_old": true}))
        .await
        .json();
    assert_eq!(keys["kids"], json!([keys["kid"].clone()]));

    let fault = admin
        .post(
            &format!("{p}/faults"),
            json!({"name": "token.status", "value": "503", "times": 1}),
        )
        .await;
    assert_eq!(fault.status, StatusCode::CREATED, "{}", fault.body);
    let id = fault.json()["id"].as_u64().expect("id");
    let listed = admin.get(&format!("{p}/faults")).await.json();
    assert_eq!(listed[0]["name"], "token.status");
    let bad = admin
        .post(&format!("{p}/faults"), json!({"name": "token.nope"}))
        .await;
    assert!(
        bad.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("name"))
    );
    let bad = admin
        .post(&format!("{p}/faults"), json!({"name": "token.status"}))
        .await;
    assert!(
        bad.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("value"))
    );
    assert_eq!(
        admin.delete(&format!("{p}/faults/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.delete(&format!("{p}/faults/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    admin
        .post(&format!("{p}/faults"), json!({"name": "jwks.empty"}))
        .await;
    assert_eq!(
        admin.delete(&format!("{p}/faults")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(t.faults().is_empty());

    // The next login arranged above: a code without the page, then the request log and the verdict.
    let http = browser();
    let reply = read(
        http.get(t.authorization_endpoint())
            .query(&[
                ("client_id", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s"),
            ])
            .send()
            .await
            .expect("authorize"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("{p}/requests")).await.json();
    let records = page["records"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 1);
    let last = page["last_seq"].as_u64().expect("last_seq");
    let none = admin
        .get(&format!("{p}/requests?since={last}"))
        .await
        .json();
    assert_eq!(none["records"], json!([]));
    let verdict = admin.get(&format!("{p}/verdict")).await.json();
    let state = verdict["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == "state"))
        .cloned()
        .expect("state item");
    assert_eq!(
        state["outcome"], "fail",
        "state \"s\" is far below 128 bits"
    );
    assert_eq!(
        admin.get("/admin/tenants/missing/clock").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/admin/tenants/root/clock").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_a_token_a_missing_or_wrong_one_is_401_and_changes_nothing() {
    let idp = admin_idp(Some("s3cret-admin-token")).await;
    for token in [None, Some("wrong")] {
        let admin = Admin::new(&idp, token);
        let reply = admin.post("/admin/tenants", json!({"name": "x"})).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error(), "unauthorized");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
        assert_eq!(
            admin.get("/admin/openapi.json").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(idp.tenants().is_empty());
    let admin = Admin::new(&idp, Some("s3cret-admin-token"));
    assert_eq!(
        admin
            .post("/admin/tenants", json!({"name": "x"}))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[test]
fn off_loopback_the_admin_api_needs_a_token_and_one_is_generated() {
    let mut config = Config::builtin();
    config.admin = true;
    let loopback = mock_idp::AdminAuth::from_config(&config, [127, 0, 0, 1].into()).expect("on");
    assert!(!loopback.token_required());
    let public = mock_idp::AdminAuth::from_config(&config, [0, 0, 0, 0].into()).expect("on");
    assert!(public.token_required());
    assert!(public.generated_token().is_some_and(|t| t.len() >= 32));
    config.admin = false;
    assert!(mock_idp::AdminAuth::from_config(&config, [0, 0, 0, 0].into()).is_none());
}

#[cfg(feature = "openapi")]
#[tokio::test]
async fn the_openapi_document_lists_every_admin_path() {
    let idp = admin_idp(None).await;
    let doc = Admin::new(&idp, None)
        .get("/admin/openapi.json")
        .await
        .json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/admin/tenants",
        "/admin/tenants/{name}",
        "/admin/tenants/{tenant}/users",
        "/admin/tenants/{tenant}/users/{username}",
        "/admin/tenants/{tenant}/clients",
        "/admin/tenants/{tenant}/clients/{client_id}",
        "/admin/tenants/{tenant}/next-login",
        "/admin/tenants/{tenant}/clock",
        "/admin/tenants/{tenant}/faults",
        "/admin/tenants/{tenant}/faults/{id}",
        "/admin/tenants/{tenant}/keys/rotate",
        "/admin/tenants/{tenant}/requests",
        "/admin/tenants/{tenant}/verdict",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(
        schemas["UserConfig"]["properties"]
            .get("username")
            .is_some()
    );
    assert!(schemas["AddFault"]["properties"].get("times").is_some());
}

const BIN: &str = env!("CARGO_BIN_EXE_mock-idp");

fn cli(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["admin", "--url", url])
        .args(args)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CLI drives a running CLI server: tenant, fault, clock, requests.
#[test]
fn the_cli_drives_a_running_server() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("banner");
    let first = first.trim().to_owned();
    // Keep draining the banner so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = first.rsplit(' ').next().unwrap_or_default().to_owned();
    let (ok, out, err) = cli(&url, &["tenant", "create", "ci"]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{url}/t/ci")), "{out}");
    let (ok, out, err) = cli(
        &url,
        &["fault", "add", "ci", "id_token.wrong_aud", "--times", "1"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"id_token.wrong_aud\""), "{out}");
    let (ok, out, _) = cli(&url, &["clock", "advance", "ci", "61"]);
    assert!(ok && out.contains("\"now\""), "{out}");
    let (ok, out, err) = cli(
        &url,
        &[
            "token",
            "ci",
            "--user",
            "bob",
            "--claim",
            "role=admin",
            "--lifetime",
            "60",
        ],
    );
    assert!(ok, "{err}");
    let minted: Value = serde_json::from_str(&out).expect("the token endpoint's JSON");
    assert_eq!(minted["expires_in"], 60, "{out}");
    let at = claims(minted["access_token"].as_str().unwrap_or_default());
    assert_eq!(
        (&at["sub"], &at["role"]),
        (&json!("248289761002"), &json!("admin"))
    );
    let (ok, _, err) = cli(&url, &["token", "ci", "--user", "mallory"]);
    assert!(!ok && err.contains("user:"), "{err}");
    let (ok, out, _) = cli(&url, &["requests", "ci"]);
    assert!(ok && out.contains("\"records\""), "{out}");
    let (ok, _, err) = cli(&url, &["fault", "add", "ci", "id_token.nope"]);
    assert!(!ok && err.contains("id_token.nope"), "{err}");
    let (ok, _, err) = cli(&url, &["clock", "get", "missing"]);
    assert!(!ok && err.contains("404"), "{err}");
    let _ = child.kill();
    let _ = child.wait();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One tenant's life over HTTP: created, one full login (next-login, authorize, token), deleted.
async fn tenant_cycle(http: &reqwest::Client, url: &str, name: &str) {
    let created = http
        .post(format!("{url}/admin/tenants"))
        .json(&json!({"name": name}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let issuer = format!("{url}/t/{name}");
    let queued = http
        .post(format!("{url}/admin/tenants/{name}/next-login"))
        .json(&json!({"username": "alice"}))
        .send()
        .await
        .expect("next-login");
    assert_eq!(queued.status(), StatusCode::NO_CONTENT);
    let back = http
        .get(format!("{issuer}/authorize"))
        .query(&[
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("authorize");
    let location = back.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = param(&url::Url::parse(&location).expect("url"), "code").expect("code");
    let token = http
        .post(format!("{issuer}/token"))
        .header("authorization", basic(WEB, WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), StatusCode::OK);
    let deleted = http
        .delete(format!("{url}/admin/tenants/{name}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

/// 100 tenants created, used for one login each and deleted: the CLI server's resident memory comes
/// back near where it was (ES256 here only so that key generation is quick in a debug build).
#[tokio::test]
async fn a_hundred_tenants_come_and_go_without_the_memory_staying() {
    let builtin = include_str!("../../fixtures/mock-idp.toml").replace("\"RS256\"", "\"ES256\"");
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("random");
    let path = std::env::temp_dir().join(format!("mock-idp-es-{}.toml", u64::from_le_bytes(bytes)));
    std::fs::write(&path, builtin).expect("write");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .args(["--port", "0", "--admin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("banner");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let http = browser();
    // Warm the allocator and the connection pool first.
    for i in 0..20 {
        tenant_cycle(&http, &url, &format!("warm-{i}")).await;
    }
    let before = rss_kib(pid);
    for i in 0..100 {
        tenant_cycle(&http, &url, &format!("t-{i}")).await;
    }
    let after = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&path);
    eprintln!("RSS before 100 tenants: {before} KiB, after: {after} KiB");
    assert!(before > 0, "cannot read /proc/{pid}/status");
    assert!(
        after <= before + 4 * 1024,
        "memory did not come back: {before} KiB before, {after} KiB after 100 tenants"
    );
}

#[tokio::test]
async fn the_next_login_queue_is_bounded() {
    let idp = admin_idp(None).await;
    let admin = Admin::new(&idp, None);
    for _ in 0..mock_idp::MAX_NEXT_LOGINS {
        idp.next_login("alice");
    }
    let full = admin
        .post(
            "/admin/tenants/root/next-login",
            json!({"username": "alice"}),
        )
        .await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        full.json()["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("username"))
    );
}

#[tokio::test]
async fn a_tenant_created_through_the_admin_api_speaks_the_persona_of_its_config() {
    let idp = admin_idp(None).await;
    let admin = Admin::new(&idp, None);
    let created = admin
        .post(
            "/admin/tenants",
            json!({"name": "gh", "config": {"persona": "github", "clients": [
                {"client_id": "app", "client_secret": "app-secret", "redirect_uris": ["http://127.0.0.1:3000/callback"]}
            ]}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        idp.tenant("gh").map(|t| t.persona()),
        Some(mock_idp::Persona::Github)
    );
    let http = reqwest::Client::new();
    let token = http
        .post(idp.url("/t/gh/login/oauth/access_token"))
        .form(&[
            ("client_id", "app"),
            ("client_secret", "app-secret"),
            ("code", "x"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), StatusCode::OK);
    assert!(
        token
            .text()
            .await
            .expect("body")
            .contains("bad_verification_code")
    );
    let bad = admin
        .post(
            "/admin/tenants",
            json!({"name": "bad", "config": {"persona": "facebook"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}
