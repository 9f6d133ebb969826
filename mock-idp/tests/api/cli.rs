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
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown user"));
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
