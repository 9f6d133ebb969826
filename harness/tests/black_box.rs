//! The `conform` runner against backends that run as processes of their own, as a team's backend would:
//! the reference client started from its own binary (not linked) and configured by environment
//! variables, and a small deliberately broken backend in Python that never checks `state`.
//!
//! The Python one is `#[ignore]`d in a plain `cargo test`, which needs only the Rust toolchain; `.ci/run`
//! installs Python and runs it (`cargo test --workspace --test black_box -- --ignored`).
//!
//! Each test writes a target file, runs the `conform` binary on it, and reads its closing
//! `N passed, N failed, N skipped` line and JUnit file. Every wait is bounded; everything is on 127.0.0.1.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use test_support::{Process, TempDir, free_port, wait_for_port};

fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("harness-black-box-{name}"))
}

/// The reference client's binary, built beside `conform` by `cargo test --workspace`.
fn reference_client_binary() -> PathBuf {
    let conform = Path::new(env!("CARGO_BIN_EXE_conform"));
    let path = conform
        .parent()
        .map(|d| d.join(format!("reference-client{}", std::env::consts::EXE_SUFFIX)))
        .expect("conform has a directory");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, which builds every binary",
        path.display()
    );
    path
}

/// The closing line's numbers: passed, failed, and not checked (skipped or not applicable).
fn summary(output: &Output) -> (usize, usize, usize) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" skipped"))
        .unwrap_or_else(|| panic!("no closing line in:\n{stdout}\n{}", stderr(output)));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a number"))
        .collect();
    // N passed, N failed (MUST n, SHOULD n, POLICY n), N warned, N not applicable, N skipped
    assert_eq!(numbers.len(), 8, "closing line {line:?}");
    (numbers[0], numbers[1], numbers[6] + numbers[7])
}

/// Whether the JUnit file has the scenario `name` (escaped as XML) as a testcase that passed.
fn passed_in_junit(xml: &str, name: &str) -> bool {
    xml.split("<testcase ").skip(1).any(|case| {
        let end = case.find("</testcase>").unwrap_or(case.len());
        let case = &case[..end];
        case.contains(&format!("name=\"{name}"))
            && !case.contains("<failure")
            && !case.contains("<skipped")
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn conform(target: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .arg("--target")
        .arg(target)
        .arg("--quiet")
        .args(extra)
        .env_remove("HARNESS_JUNIT")
        .env_remove("HARNESS_CUCUMBER_JSON")
        .env_remove("HARNESS_REPORT")
        .output()
        .expect("conform runs")
}

/// `conform check --target TARGET`: the pre-flight alone.
fn conform_check(target: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["check", "--target"])
        .arg(target)
        .output()
        .expect("conform runs")
}

struct Setup {
    provider_port: u16,
    backend_port: u16,
    secret: String,
    /// The key the reference client signs its Sign in with Apple client secrets with.
    apple: mock_idp_harness::target::AppleKeys,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            provider_port: free_port(),
            backend_port: free_port(),
            secret: format!("secret-{}", free_port()),
            apple: mock_idp_harness::apple::generate_keys("BLACKBOX01", "BBKEY00001")
                .expect("an Apple key"),
        }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.provider_port)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.backend_port)
    }

    /// A target file: `extra` continues `[backend]` and may add tables; the profile is the reference
    /// client's shape, which the broken backend copies.
    fn target_file(&self, dir: &Path, extra: &str) -> PathBuf {
        let text = format!(
            r#"[provider]
issuer = "{issuer}"
client_id = "black-box-app"
client_secret = "{secret}"
redirect_uri = "{base}/callback"
post_logout_redirect_uri = "{base}/"
backchannel_logout_uri = "{base}/backchannel-logout"

[backend]
base_url = "{base}"
login = "/auth/login"
callback = "/api/auth/callback"
callback_method = "post_json"
profile = "/api/me"
unknown_user_policy = "auto-create"
{extra}

[profile]
id = "/id"
name = "/display_name"
picture = "/avatar_url"
role = "/role"
email = "/email"
"#,
            issuer = self.issuer(),
            secret = self.secret,
            base = self.base(),
        );
        let path = dir.join("target.toml");
        std::fs::write(&path, text).expect("writing the target file");
        path
    }
}

/// The app-JWT key the reference client runs with here.
const JWT_KEY: &str = "black-box-app-jwt-key-of-at-least-32-bytes-0123456789";

/// The reference client as a process of its own, configured by environment variables for `setup`.
fn start_reference(setup: &Setup, dir: &Path) -> Process {
    start_reference_with(setup, dir, None)
}

/// The same, with a configuration file (its `[[providers]]`).
fn start_reference_with(setup: &Setup, dir: &Path, config: Option<&Path>) -> Process {
    start_reference_env(setup, dir, config, &[])
}

/// The same, with further `RC_*` variables.
fn start_reference_env(
    setup: &Setup,
    dir: &Path,
    config: Option<&Path>,
    env: &[(&str, &str)],
) -> Process {
    let mut command = Command::new(reference_client_binary());
    if let Some(config) = config {
        command.env("RC_CONFIG", config);
    }
    command
        .env("RC_ISSUER", setup.issuer())
        .env("RC_CLIENT_ID", "black-box-app")
        .env("RC_CLIENT_SECRET", &setup.secret)
        .env("RC_REDIRECT_URI", format!("{}/callback", setup.base()))
        .env("RC_LISTEN", format!("127.0.0.1:{}", setup.backend_port))
        .env("RC_DATABASE", dir.join("app.db"))
        .env("RC_SEED_DEMO_USERS", "false")
        .env("RC_JWT_KEY", JWT_KEY)
        .env("RC_UNKNOWN_USER_POLICY", "auto-create")
        .env("RC_HTTP_TIMEOUT_MS", "5000")
        .env("RC_POST_LOGOUT_REDIRECT_URI", format!("{}/", setup.base()))
        .env(
            "RC_TEST_HOOKS",
            if config.is_some() { "true" } else { "false" },
        )
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the reference client starts");
    wait_for_port(setup.backend_port, &mut child);
    Process(child)
}

/// The reference client's `[[providers]]`: the OpenID provider, and WeChat, GitHub, Microsoft (Entra), Apple
/// and Google as the tenants `wechat`, `github`, `entra`, `apple` and `google` of the provider that conform
/// serves (Apple's key in a PEM file; Google admitting only `example.com`, accepting `conformance-android` as
/// `azp`, keeping refresh tokens; Entra at `common`, admitting two tenants).
fn reference_providers(setup: &Setup, dir: &Path) -> PathBuf {
    let key = dir.join("apple-key.p8");
    std::fs::write(
        &key,
        setup.apple.private_key_pem.as_deref().unwrap_or_default(),
    )
    .expect("writing the Apple key");
    let text = format!(
        r#"[[providers]]
name = "mock-idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "black-box-app"
client_secret = "{secret}"

[[providers]]
name = "WeChat"
kind = "wechat"
appid = "black-box-wechat"
secret = "{secret}-wechat"
base_url = "{issuer}/t/wechat"

[[providers]]
name = "GitHub"
kind = "github"
client_id = "black-box-github"
client_secret = "{secret}-github"
base_url = "{issuer}/t/github"

[[providers]]
name = "Google"
kind = "google"
client_id = "black-box-google"
client_secret = "{secret}-google"
base_url = "{issuer}/t/google"
hosted_domain = "example.com"
authorized_parties = "conformance-android"
access_type = "offline"

[[providers]]
name = "Apple"
kind = "apple"
client_id = "black-box-apple"
team_id = "{team}"
key_id = "{kid}"
private_key = "{key}"
base_url = "{issuer}/t/apple"

[[providers]]
name = "Microsoft"
kind = "entra"
tenant = "common"
client_id = "black-box-entra"
client_secret = "{secret}-entra"
base_url = "{issuer}/t/entra"
allowed_tenants = ["{home}", "{partner}"]
"#,
        issuer = setup.issuer(),
        secret = setup.secret,
        team = setup.apple.team_id,
        kid = setup.apple.key_id,
        key = key.display(),
        home = mock_idp_harness::target::EntraSettings::HOME_TENANT,
        partner = mock_idp_harness::target::EntraSettings::PARTNER_TENANT,
    );
    let path = dir.join("reference-client.toml");
    std::fs::write(&path, text).expect("writing the reference client's configuration");
    path
}

/// What the target file adds for the reference client's WeChat and GitHub logins, its account linking,
/// its test hooks (`RC_TEST_HOOKS`), and for starting a reference client of a scenario's own (`[start]`).
fn reference_extras(setup: &Setup) -> String {
    format!(
        r#"
[hooks]
seed_user = "/test/users"
users_bound_to = "/test/users/bound"
user_count = "/test/users/count"
advance_clock = "/test/clock"
reset_clock = "/test/clock/reset"
forge_token = "/test/tokens"

[linking]
start = "/api/auth/login-url?provider={{provider}}"
identities = "/api/me/identities"
unlink = "/api/me/identities/{{id}}"

[[extra_providers]]
name = "WeChat"
kind = "wechat"
tenant = "wechat"
client_id = "black-box-wechat"
client_secret = "{secret}-wechat"

[[extra_providers]]
name = "GitHub"
kind = "github"
tenant = "github"
client_id = "black-box-github"
client_secret = "{secret}-github"

[[extra_providers]]
name = "Google"
kind = "google"
tenant = "google"
client_id = "black-box-google"
client_secret = "{secret}-google"
hosted_domain = "example.com"
authorized_parties = ["conformance-android"]
access_type = "offline"

[[extra_providers]]
name = "Apple"
kind = "apple"
tenant = "apple"
client_id = "black-box-apple"
team_id = "{team}"
key_id = "{kid}"
public_key = """
{public_key}"""

[[extra_providers]]
name = "Microsoft"
kind = "entra"
tenant = "entra"
client_id = "black-box-entra"
client_secret = "{secret}-entra"
path_tenant = "common"
allowed_tenants = ["{home}", "{partner}"]

[start]
command = ["{binary}"]
[start.env]
RC_ISSUER = "{{issuer}}"
RC_CLIENT_ID = "{{client_id}}"
RC_CLIENT_SECRET = "{{client_secret}}"
RC_REDIRECT_URI = "{{base}}/callback"
RC_POST_LOGOUT_REDIRECT_URI = "{{base}}/"
RC_LISTEN = "127.0.0.1:{{port}}"
RC_DATABASE = "{{dir}}/app.db"
RC_SEED_DEMO_USERS = "false"
RC_JWT_KEY = "{{jwt_key}}"
RC_UNKNOWN_USER_POLICY = "{{policy}}"
RC_RESPONSE_MODE = "{{response_mode}}"
RC_USERINFO_SIGNED_RESPONSE_ALG = "{{userinfo_signed_response_alg}}"
RC_ID_TOKEN_SIGNED_RESPONSE_ALG = "{{id_token_alg}}"
RC_HTTP_TIMEOUT_MS = "5000"
RC_TEST_HOOKS = "true"
RUST_LOG = "warn"
"#,
        secret = setup.secret,
        binary = reference_client_binary().display(),
        team = setup.apple.team_id,
        kid = setup.apple.key_id,
        public_key = setup.apple.public_key_pem,
        home = mock_idp_harness::target::EntraSettings::HOME_TENANT,
        partner = mock_idp_harness::target::EntraSettings::PARTNER_TENANT,
    )
}

#[test]
fn the_pre_flight_says_once_what_to_change_and_exits_2() {
    let setup = Setup::new();
    let tmp = temp_dir("preflight");
    let dir = tmp.path();
    // No backend at all: one line naming the URL and the cause.
    let target = setup.target_file(dir, "\n[session]\njson_pointer = \"/token\"\n");
    let output = conform_check(&target);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not answer") && err.contains("Connection refused"),
        "{err}"
    );
    // A backend whose callback the file gets wrong: the whole run stops with one message, exit 2,
    // instead of failing every scenario the same way.
    let _backend = start_reference(&setup, dir);
    let target = setup.target_file(dir, "");
    let output = conform(&target, &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pre-flight") && err.contains("json_pointer"),
        "{err}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("FAIL"),
        "scenarios ran after a failed pre-flight"
    );
    // Described right, `conform check` logs in.
    let target = setup.target_file(dir, "\n[session]\njson_pointer = \"/token\"\n");
    let output = conform_check(&target);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));
}

/// A running backend registered for HS256 (`[provider] id_token_signed_response_alg`) is judged by
/// ID-SIG-HS256 itself, and ID-SIG-ES256 does not apply to it: without `[start]` nothing can set up an
/// ES256 backend, and the reason names the target-file key.
#[test]
fn a_running_backend_registered_for_hs256_is_judged_by_the_hs256_rows_only() {
    let mut setup = Setup::new();
    setup.secret = format!("a-secret-of-at-least-32-octets-{}", free_port());
    let tmp = temp_dir("hs256");
    let dir = tmp.path();
    let _backend = start_reference_env(
        &setup,
        dir,
        None,
        &[
            ("RC_ID_TOKEN_SIGNED_RESPONSE_ALG", "HS256"),
            ("RC_TEST_HOOKS", "true"),
        ],
    );
    let target = setup.target_file(
        dir,
        r#"
[hooks]
seed_user = "/test/users"
users_bound_to = "/test/users/bound"
user_count = "/test/users/count"

[errors]
json_pointer = "/error"

[session]
json_pointer = "/token"
"#,
    );
    let text = std::fs::read_to_string(&target).expect("the target file");
    std::fs::write(
        &target,
        text.replacen(
            "[backend]",
            "id_token_signed_response_alg = \"HS256\"\n\n[backend]",
            1,
        ),
    )
    .expect("writing the target file");
    let output = conform(&target, &["--tags", "ID-SIG-HS256,ID-SIG-ES256"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (passed, failed, not_checked) = summary(&output);
    assert_eq!(failed, 0, "{stdout}\n{}", stderr(&output));
    // The HS256 login, the RS256 id_token to it, three broken MACs, and ID-SIG's HS256 one MACed with
    // the app's own secret (refused here too: the app is registered for HS256 and the id_token is RS256).
    assert_eq!(passed, 6, "{stdout}");
    // The two ES256 scenarios.
    assert_eq!(not_checked, 2, "{stdout}");
    assert!(
        stdout.contains("id_token_signed_response_alg"),
        "the reason names the key: {stdout}"
    );
}

#[test]
fn every_scenario_that_needs_no_hook_passes_against_the_reference_client_run_as_a_process() {
    let setup = Setup::new();
    let tmp = temp_dir("reference");
    let dir = tmp.path();
    let config = reference_providers(&setup, dir);
    let _backend = start_reference_with(&setup, dir, Some(&config));
    let target = setup.target_file(
        dir,
        &format!(
            r#"bind = "/api/auth/bind"
logout = "/api/auth/logout"
provider_profile = "/api/me/provider-profile"
provider_timeout_seconds = 5
return_to_param = "return_to"

[errors]
json_pointer = "/error"

[session]
json_pointer = "/token"
issuer = "reference-client"
audience = "reference-client"
{}"#,
            reference_extras(&setup)
        ),
    );
    let junit = dir.join("junit.xml");
    let output = conform(&target, &["--junit", &junit.to_string_lossy()]);
    let (passed, failed, skipped) = summary(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "the reference client as a process: {passed} passed, {failed} failed, {skipped} not checked"
    );
    for line in stdout.lines().filter(|l| l.starts_with("SKIP: ")) {
        eprintln!("{line}");
    }
    assert_eq!(
        failed, 0,
        "failures against the reference client:\n{stdout}"
    );
    assert!(output.status.success(), "conform exited {}", output.status);
    assert!(passed >= 190, "only {passed} scenarios passed:\n{stdout}");
    // Without hooks, the scenarios that seed users, count them, move the app's clock or forge tokens do
    // not apply, and each says which hook or setting it needed.
    assert!(skipped > 0, "nothing was skipped, yet no hook was given");
    for line in stdout.lines().filter(|l| l.starts_with("SKIP: ")) {
        assert!(
            line.contains("needs") || line.contains("policy") || line.contains("client secret"),
            "a skip that says not what it needs: {line}"
        );
    }
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(xml.contains("<testsuites"), "not JUnit: {xml}");
    // What the target file describes runs: WeChat and GitHub logins ([[extra_providers]]), account
    // linking ([linking]), and on backends started for the scenario ([start]) another policy, a first
    // fetch of discovery (a moved jwks_uri too), a startup check, a client secret of the scenario's own,
    // form_post responses, signed userinfo, and ES256 and HS256 id_tokens.
    for name in [
        "Log in with WeChat creates one user with the provider&apos;s name and avatar",
        "Log in with GitHub creates one user with the provider&apos;s name and avatar",
        "A WeChat code works once",
        "A linked second identity logs in the same user",
        "Under &quot;require-binding&quot; an unknown user binds with a phone number, once",
        "The default policy is &quot;reject&quot;",
        "A 128-bit app-JWT key refuses to start",
        "The backend&apos;s own secret with reserved characters works",
        "Discovery issuer mismatch is refused",
        "A form_post response logs the user in",
        "A moved jwks_uri is found through discovery",
        "A signed userinfo fills the profile (positive control)",
        "A signed userinfo with a bad signature is discarded",
        "An ES256 provider&apos;s forged signature is rejected",
        "An id_token MACed with the app&apos;s own secret logs the user in",
        "Google&apos;s scheme-less issuer is accepted for Google only",
        "A consumer account with an address at the Workspace domain is refused",
        "azp of a listed client is accepted",
        "A Google email under another sub is another identity",
        "A Google login without a new refresh token still works",
        "An Entra login at the common endpoint logs in with the templated issuer",
        "An Entra token&apos;s issuer is checked against its tid",
        "A token from an unlisted tenant does not log in",
        "An Entra email claim never takes over an account",
        "A v1 Entra issuer is handled or refused explicitly",
    ] {
        assert!(
            passed_in_junit(&xml, name),
            "{name:?} did not pass:\n{stdout}"
        );
    }
    // Every scenario of the run is a testcase with its feature as classname, skipped ones included.
    let testcases = xml.matches("<testcase ").count();
    assert_eq!(
        testcases,
        passed + failed + skipped,
        "JUnit has {testcases} testcases for {passed} passed, {failed} failed, {skipped} not checked"
    );
    assert_eq!(xml.matches("<testcase classname=\"").count(), testcases);
    assert!(stdout.contains("\nbackend: ") && stdout.contains("provider self-checks"));

    // --fail-on-skipped turns the skips into failures: without [hooks] in the file, the disabled-user
    // scenario cannot seed its user.
    let plain = setup.target_file(dir, "\n[session]\njson_pointer = \"/token\"\n");
    let output = conform(&plain, &["--fail-on-skipped", "--tags", "UM-DISABLED"]);
    let (_, failed, skipped) = summary(&output);
    assert!(
        failed > 0 && skipped == 0,
        "--fail-on-skipped: {failed} failed, {skipped} skipped"
    );
    assert!(!output.status.success());

    // Without `[backend] provider_profile` the backend is not known to refresh: the refresh scenarios do
    // not apply, and say which key would make them.
    let junit = dir.join("junit-refresh.xml");
    let output = conform(
        &plain,
        &["--tags", "RF-ID-TOKEN", "--junit", &junit.to_string_lossy()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("0 passed, 0 failed") && stdout.contains("2 not applicable"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(xml.contains("[backend] provider_profile"), "{xml}");
}

/// The Sign in with Apple scenarios against the reference client run as a process, its Apple provider
/// declared in the target file (`[[extra_providers]] kind = "apple"` with the key's team id, key id and
/// public half); without those keys they skip, naming them.
#[test]
fn the_apple_scenarios_run_against_the_reference_client_as_a_process() {
    let setup = Setup::new();
    let tmp = temp_dir("apple");
    let dir = tmp.path();
    let config = reference_providers(&setup, dir);
    let _backend = start_reference_with(&setup, dir, Some(&config));
    let extra = format!(
        "\n[errors]\njson_pointer = \"/error\"\n\n[session]\njson_pointer = \"/token\"\n{}",
        reference_extras(&setup)
    );
    let target = setup.target_file(dir, &extra);
    let tags =
        "APPLE-CLIENT-SECRET,APPLE-FORM-POST,APPLE-USER-BLOB,APPLE-BOOL-STRINGS,APPLE-RELAY-EMAIL";
    let output = conform(&target, &["--tags", tags]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (passed, failed, skipped) = summary(&output);
    assert_eq!(failed, 0, "{stdout}\n{}", stderr(&output));
    assert_eq!(skipped, 0, "{stdout}");
    assert_eq!(passed, 7, "{stdout}");
    // The same file without the key's public half: every Apple scenario skips, naming the key.
    let text = std::fs::read_to_string(&target).expect("the target file");
    let start = text.find("public_key = ").expect("public_key");
    let end = text[start..].find("[start]").expect("[start]") + start;
    let without = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&target, without).expect("writing the target file");
    let output = conform(&target, &["--tags", tags]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (passed, failed, skipped) = summary(&output);
    assert_eq!((passed, failed, skipped), (0, 0, 7), "{stdout}");
    assert!(
        stdout.contains("extra_providers.public_key"),
        "the skips name the key: {stdout}"
    );
}

#[test]
#[ignore = "needs python3; .ci/run installs it and runs this with --ignored"]
fn the_state_scenarios_fail_against_a_backend_that_does_not_check_state() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let setup = Setup::new();
    let tmp = temp_dir("broken");
    let dir = tmp.path();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/broken_backend.py"
    );
    let mut child = Command::new(&python)
        .arg(script)
        .env("BROKEN_ISSUER", setup.issuer())
        .env("BROKEN_CLIENT_ID", "black-box-app")
        .env("BROKEN_CLIENT_SECRET", &setup.secret)
        .env("BROKEN_REDIRECT_URI", format!("{}/callback", setup.base()))
        .env("BROKEN_LISTEN", format!("127.0.0.1:{}", setup.backend_port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} runs the broken backend (.ci/run installs it): {e}"));
    wait_for_port(setup.backend_port, &mut child);
    let _backend = Process(child);
    let target = setup.target_file(
        dir,
        "\n[session]\njson_pointer = \"/token\"\n\n[errors]\njson_pointer = \"/error\"\n\n\
         [errors.map]\nlogin_failed = \"provider_error\"\ndenied = \"access_denied\"\n",
    );

    // The control: the backend takes part in the flow (its login, the provider, its callback with the
    // error mapped to the suite's name), so what fails below fails for the state.
    let output = conform(&target, &["--tags", "AZ-DENIED"]);
    let (passed, failed, _) = summary(&output);
    assert!(
        passed >= 1 && failed == 0,
        "the broken backend cannot even log in: {}",
        String::from_utf8_lossy(&output.stdout)
    );

    let report = dir.join("report.html");
    let output = conform(
        &target,
        &[
            "--tags",
            "mutant-no-state-check",
            "--report",
            &report.to_string_lossy(),
        ],
    );
    let (passed, failed, _) = summary(&output);
    assert_eq!(
        passed,
        0,
        "state scenarios passed against a backend that ignores state:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(failed >= 5, "only {failed} state scenarios failed");
    assert!(!output.status.success());
}
