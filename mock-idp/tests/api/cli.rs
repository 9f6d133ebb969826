use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_mock-idp");

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("random");
    let path = std::env::temp_dir().join(format!("mock-idp-{}-{name}", u64::from_le_bytes(bytes)));
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn check_config_names_the_bad_field_and_fails() {
    let bad = temp_file(
        "bad.toml",
        "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\nredirect_uris = [\"nope\"]\n",
    );
    let out = Command::new(BIN)
        .args(["check-config"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("clients[0].redirect_uris[0]"), "{err}");

    let good = temp_file("good.toml", include_str!("../../fixtures/mock-idp.toml"));
    let out = Command::new(BIN)
        .args(["check-config"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_config_file_starts_nothing() {
    let bad = temp_file("ttl.toml", "code_ttl = 0\n");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("code_ttl"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("serving"));
}

#[test]
fn the_token_subcommand_prints_tokens_for_a_user_and_client() {
    let out = Command::new(BIN)
        .args(["token", "--user", "bob", "--client", "web"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(body["token_type"], "Bearer");
    let id = crate::helpers::claims(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["sub"], "248289761002");
    assert_eq!(id["iss"], "http://127.0.0.1:9000");
    let out = Command::new(BIN)
        .args(["token", "--user", "mallory"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user:") && stderr.contains("mallory"),
        "{stderr}"
    );
    let out = Command::new(BIN)
        .args([
            "token",
            "--claim",
            "role=admin",
            "--claim",
            "level=3",
            "--lifetime",
            "90",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(body["expires_in"], 90);
    let at = crate::helpers::claims(body["access_token"].as_str().expect("access_token"));
    assert_eq!(at["role"], "admin");
    assert_eq!(at["level"], 3);
}

#[test]
fn serving_prints_the_issuer_clients_and_users() {
    let mut child = Command::new(BIN)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    // Watchdog: if the banner never completes, kill the server so the read below ends (bounded test).
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let mut banner = Vec::new();
    for line in BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(30)
    {
        let last = line.contains("bob");
        banner.push(line);
        if last {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = banner.join("\n");
    assert!(
        text.starts_with("mock-idp serving http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        !text.contains("127.0.0.1:0"),
        "the issuer follows the bound port: {text}"
    );
    for needle in ["web", "spa", "alice", "bob"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(
        !text.contains("web-secret") && !text.contains("alice-password"),
        "no secrets printed"
    );
}

#[test]
fn help_lists_every_fault() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for f in mock_idp::FAULTS {
        assert!(text.contains(f.name), "{} missing from --help", f.name);
    }
}

#[test]
fn an_unknown_fault_is_refused_by_name() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--fault", "id_token.wrong_audience"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("id_token.wrong_audience"), "{err}");
}

/// `--fault token.status=503` spoils every token answer of the CLI server until it stops.
#[tokio::test]
async fn a_cli_fault_spoils_every_matching_response() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--fault", "token.status=503"])
        .arg("--fault")
        .arg("id_token.wrong_aud")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let first = lines.next().unwrap_or_default();
    let issuer = first.rsplit(' ').next().unwrap_or_default().to_owned();
    let banner: Vec<String> = lines
        .take(20)
        .take_while(|l| !l.contains("wrong_aud"))
        .collect();
    assert!(
        banner.iter().any(|l| l.contains("token.status=503")),
        "{banner:?}"
    );
    let http = crate::helpers::browser();
    for _ in 0..2 {
        let url = format!(
            "{issuer}/authorize?client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback\
             &response_type=code&scope=openid&state=s&login_hint=alice"
        );
        let page = crate::helpers::read(http.get(url).send().await.expect("authorize")).await;
        let request_id = crate::helpers::hidden(&page.body, "request_id");
        let csrf = crate::helpers::hidden(&page.body, "csrf");
        let login = crate::helpers::read(
            http.post(format!("{issuer}/authorize/login"))
                .form(&[
                    ("request_id", request_id.as_str()),
                    ("csrf", &csrf),
                    ("username", "alice"),
                    ("password", "alice-password"),
                    ("action", "login"),
                ])
                .send()
                .await
                .expect("login"),
        )
        .await;
        let code = crate::helpers::param(&login.location(), "code").expect("code");
        let token = crate::helpers::read(
            http.post(format!("{issuer}/token"))
                .header("authorization", crate::helpers::basic("web", "web-secret"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", "http://127.0.0.1:3000/callback"),
                ])
                .send()
                .await
                .expect("token"),
        )
        .await;
        assert_eq!(token.status.as_u16(), 503);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_clock_can_start_ahead_from_the_command_line() {
    let out = Command::new(BIN)
        .args(["--clock-advance", "7200", "--freeze-clock", "token"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let iat = crate::helpers::claims(body["id_token"].as_str().expect("id_token"))["iat"]
        .as_u64()
        .expect("iat");
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    assert!(
        (system + 7190..=system + 7210).contains(&iat),
        "{iat} vs {system}"
    );
}

#[test]
fn persona_chooses_the_protocol_and_a_bad_one_is_refused() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--persona", "wechat"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let banner: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(3)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let text = banner.join("\n");
    assert!(text.contains("persona: wechat"), "{text}");
    assert!(text.contains("/connect/qrconnect"), "{text}");
    let bad = Command::new(BIN)
        .args(["--persona", "facebook", "check-config", "x"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("oidc, wechat, github"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// `mock-idp --tls`: an https issuer, the CA file named in the banner, and a real handshake with a client
/// that trusts it.
#[tokio::test]
async fn tls_on_the_command_line_serves_https_and_names_the_ca_to_trust() {
    let dir = std::env::temp_dir().join(format!("mock-idp-cli-tls-{}", std::process::id()));
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--tls", "--tls-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let first = lines.next().unwrap_or_default();
    let issuer = first.rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(issuer.starts_with("https://127.0.0.1:"), "{first}");
    let tls_line = lines
        .take(30)
        .find(|l| l.contains("tls:"))
        .unwrap_or_default();
    let ca = dir.join("ca.pem");
    assert!(tls_line.contains(&ca.display().to_string()), "{tls_line}");
    let pem = std::fs::read(&ca).expect("CA written");
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .build()
        .expect("client");
    let meta: serde_json::Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("TLS handshake")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["issuer"], issuer.as_str());
    assert_eq!(meta["end_session_endpoint"], format!("{issuer}/logout"));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
