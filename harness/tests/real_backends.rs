//! conform against backends written on widely used OpenID Connect client libraries, each exactly as its
//! library's documentation shows (`tests/fixtures/libs/`): Flask + Authlib (Python), Express +
//! express-openid-connect and Express + Auth.js (Node). Each runs as a process of its own, installed from
//! the package registries by `scripts/install-fixtures.sh`, and described by its own `target.toml`.
//!
//! Each fixture's `expected.toml` lists the real weaknesses the suite finds in that library, each with the
//! rule and level it breaks. The test holds the run to it both ways: any other failure is a false alarm
//! of the harness (or a new weakness to look into), and a listed weakness that no longer fails is news
//! too. `min_passed` keeps a run that judges nothing from passing.
//!
//! `#[ignore]`d in a plain `cargo test`, which needs only the Rust toolchain; `.ci/run` installs Python's
//! and Node's packages and runs `cargo test --workspace --test real_backends -- --ignored`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
};

use mock_idp_harness::{
    RunOptions, http_target::HttpFactory, outcome::Outcome, report::parse_catalogue,
    runner::ScenarioResult,
};
use serde::Deserialize;
use test_support::{Process, TempDir, free_port, wait_for_port};

/// A fixture's `expected.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// The library and version, for messages.
    library: String,
    /// At least this many scenarios pass.
    min_passed: usize,
    /// The weaknesses the suite finds.
    #[serde(default)]
    fails: Vec<ExpectedFailure>,
}

/// One real weakness: every scenario of this name fails (or warns) at this rule and level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFailure {
    /// `Feature: Scenario`, as the run names it.
    scenario: String,
    /// The catalogue row it breaks (the scenario's first catalogue tag).
    rule: String,
    /// `MUST`, `SHOULD` or `POLICY`.
    level: String,
    /// What the library does, in a sentence.
    why: String,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/libs")
}

/// One run of a fixture: the environment it gets beside the usual, the scenario tags it runs (all when
/// empty) and the file of what it is expected to do.
struct Run {
    fixture: &'static str,
    env: &'static [(&'static str, &'static str)],
    tags: &'static [&'static str],
    expected: &'static str,
}

impl Run {
    /// The whole suite against the fixture as it stands.
    fn whole(fixture: &'static str) -> Run {
        Run {
            fixture,
            env: &[],
            tags: &[],
            expected: "expected.toml",
        }
    }
}

/// Starts the fixture `name` on `port` for `issuer` as client `client_id`, configured by environment
/// variables only (`env` besides the usual ones).
fn start(
    name: &str,
    port: u16,
    issuer: &str,
    client_id: &str,
    secret: &str,
    env: &[(&str, &str)],
) -> Process {
    let dir = fixtures().join(name);
    let mut command = if name == "flask-authlib" {
        let python = test_support::fixture_python();
        assert!(
            python.exists(),
            "{} is missing: run scripts/install-fixtures.sh",
            python.display()
        );
        let mut c = Command::new(python);
        c.arg("app.py");
        c
    } else {
        assert!(
            dir.join("node_modules").exists(),
            "{}/node_modules is missing: run scripts/install-fixtures.sh",
            dir.display()
        );
        let mut c = Command::new("node");
        c.arg("app.js");
        c
    };
    let log = std::fs::File::create(std::env::temp_dir().join(format!("fixture-{name}.log")))
        .expect("a log file");
    let mut child = command
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("ISSUER", issuer)
        .env("CLIENT_ID", client_id)
        .env("CLIENT_SECRET", secret)
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "SESSION_SECRET",
            format!("{secret}-session-secret-0123456789abcdef"),
        )
        .env("NODE_ENV", "production")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("the log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting the {name} fixture: {e}"));
    wait_for_port(port, &mut child);
    Process(child)
}

/// The fixture's `target.toml` with its placeholders filled in, written to `dir`.
fn target_file(name: &str, dir: &Path, issuer: &str, base: &str, secret: &str) -> PathBuf {
    let template = std::fs::read_to_string(fixtures().join(name).join("target.toml"))
        .expect("the fixture's target.toml");
    let text = template
        .replace("{issuer}", issuer)
        .replace("{base}", base)
        .replace("{client_secret}", secret);
    let path = dir.join("target.toml");
    std::fs::write(&path, text).expect("writing the target file");
    path
}

fn name_of(s: &ScenarioResult) -> String {
    format!("{}: {}", s.feature, s.scenario)
}

/// The first failed step's message.
fn reason(s: &ScenarioResult) -> String {
    s.steps
        .iter()
        .find_map(|st| match &st.outcome {
            mock_idp_harness::outcome::StepOutcome::Failed(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The fixture of `run` started on a free port, configured for a provider the run will serve on another,
/// and the factory of its target file: the backend lives as long as the returned process.
fn launch(run: &Run) -> (Launched, HttpFactory) {
    let name = run.fixture;
    let tmp = TempDir::new(&format!("real-backend-{name}"));
    let (provider_port, backend_port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let base = format!("http://127.0.0.1:{backend_port}");
    let secret = format!("{name}-secret-{backend_port}");
    let target = target_file(name, tmp.path(), &issuer, &base, &secret);
    let file = mock_idp_harness::http_target::TargetFile::load(&target).expect("the target file");
    let backend = start(
        name,
        backend_port,
        &issuer,
        &file.provider.client_id,
        &secret,
        run.env,
    );
    let factory = HttpFactory::new(file).expect("the target file");
    let launched = Launched {
        _process: backend,
        _dir: tmp,
    };
    (launched, factory)
}

/// A started fixture and the folder of its target file; dropping it stops the one and removes the other.
struct Launched {
    _process: Process,
    _dir: TempDir,
}

async fn judge(run: Run) {
    let name = run.fixture;
    let expected: Expected = toml::from_str(
        &std::fs::read_to_string(fixtures().join(name).join(run.expected))
            .expect("the fixture's expected file"),
    )
    .expect("the expected file parses");
    let (_backend, factory) = launch(&run);
    let report_path = std::env::var_os("REAL_BACKENDS_REPORTS")
        .map(|d| PathBuf::from(d).join(format!("{name}.html")));
    let report = mock_idp_harness::run(RunOptions {
        quiet: true,
        junit: None,
        cucumber_json: None,
        report: report_path,
        // A loaded 2-core machine runs Node or Python backends; more at once only queues.
        concurrency: 4,
        tags: run.tags.iter().map(|t| (*t).to_owned()).collect(),
        ..RunOptions::new(Arc::new(factory))
    })
    .await
    .expect("the run");

    let catalogue = parse_catalogue(mock_idp_harness::bundled::CATALOGUE);
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<String, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &report.scenarios {
        by_name.entry(name_of(s)).or_default().push(s);
    }
    for e in &expected.fails {
        assert!(
            catalogue.iter().any(|r| r.id == e.rule),
            "{name}: expected.toml names {} , which is not a catalogue row",
            e.rule
        );
        let Some(runs) = by_name.get(&e.scenario) else {
            problems.push(format!("listed weakness did not run: {}", e.scenario));
            continue;
        };
        for s in runs {
            let at = match &s.outcome {
                Outcome::Failed(l) | Outcome::Warned(l) => Some(l.as_str()),
                _ => None,
            };
            let first_row = s.rule.as_ref().or_else(|| {
                s.tags
                    .iter()
                    .find(|t| catalogue.iter().any(|r| &r.id == *t))
            });
            if at != Some(e.level.as_str()) || first_row != Some(&e.rule) {
                problems.push(format!(
                    "listed weakness no longer fails as {} {}: {} ({}) — {}",
                    e.rule,
                    e.level,
                    e.scenario,
                    s.outcome.label(),
                    e.why
                ));
            }
        }
    }
    for s in &report.scenarios {
        if matches!(s.outcome, Outcome::Failed(_) | Outcome::Warned(_))
            && !expected.fails.iter().any(|e| e.scenario == name_of(s))
        {
            problems.push(format!(
                "unexpected {}: {} (line {}): {}",
                s.outcome.label(),
                name_of(s),
                s.line,
                reason(s)
            ));
        }
    }
    // A scenario whose setup or action failed checked nothing: here that is the harness or the fixture
    // going wrong, never a finding.
    for s in &report.scenarios {
        if let Outcome::Skipped(reason) = &s.outcome
            && reason.starts_with(mock_idp_harness::runner::COULD_NOT_CHECK)
        {
            problems.push(format!("{} (line {}): {reason}", name_of(s), s.line));
        }
    }
    let tally = report.tally();
    if tally.passed < expected.min_passed {
        problems.push(format!(
            "only {} passed (at least {} expected)",
            tally.passed, expected.min_passed
        ));
    }
    assert!(
        problems.is_empty(),
        "{name} {} ({}): {}\n{}\n(the backend's log: {})",
        run.expected,
        expected.library,
        tally.line(),
        problems.join("\n"),
        std::env::temp_dir()
            .join(format!("fixture-{name}.log"))
            .display()
    );
    println!(
        "{name} {} ({}): {}",
        run.expected,
        expected.library,
        tally.line()
    );
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn flask_with_authlib_is_judged_truthfully() {
    judge(Run::whole("flask-authlib")).await;
}

/// form_post with Flask's session cookie `SameSite=None; Secure`, as a cross-site POST needs: the login's
/// state (in that cookie) survives, and the form_post scenarios judge the library.
#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn flask_with_authlib_by_form_post_is_judged_truthfully() {
    judge(Run {
        fixture: "flask-authlib",
        env: &[
            ("RESPONSE_MODE", "form_post"),
            ("SESSION_COOKIE_SAMESITE", "None"),
        ],
        tags: &["ST-FORM-POST"],
        expected: "expected-form-post.toml",
    })
    .await;
}

/// form_post with Flask's session cookie `SameSite=Lax`: the browser keeps it back from the provider's
/// cross-site POST, so no login completes; conform's pre-flight says so once, naming the cookie.
#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn flask_with_authlib_by_form_post_and_a_lax_cookie_is_told_why_its_logins_fail() {
    let (_backend, factory) = launch(&Run {
        fixture: "flask-authlib",
        env: &[
            ("RESPONSE_MODE", "form_post"),
            ("SESSION_COOKIE_SAMESITE", "Lax"),
        ],
        tags: &["ST-FORM-POST"],
        expected: "expected-form-post.toml",
    });
    let outcome = mock_idp_harness::run(RunOptions {
        quiet: true,
        junit: None,
        cucumber_json: None,
        tags: vec!["ST-FORM-POST".into()],
        ..RunOptions::new(Arc::new(factory))
    })
    .await;
    let Err(error) = outcome else {
        panic!("a login whose state cookie stays behind passed the pre-flight");
    };
    let message = format!("{error:?}");
    assert!(
        message.contains("did not send session (SameSite=Lax)")
            && message.contains("form_post")
            && !message.contains("callback_method"),
        "{message}"
    );
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn express_with_express_openid_connect_is_judged_truthfully() {
    judge(Run::whole("express-openid-connect")).await;
}

#[tokio::test]
#[ignore = "needs the fixtures' Python and Node packages: scripts/install-fixtures.sh, run by .ci/run"]
async fn express_with_authjs_is_judged_truthfully() {
    judge(Run::whole("authjs")).await;
}
