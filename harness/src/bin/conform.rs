//! `conform`: the conformance features against a backend that is already running, in any language.
//!
//! ```sh
//! cargo run -p harness --bin conform -- --target app.toml [--tags CODE-REPLAY] [NAME-FILTER]
//!     [--junit junit.xml] [--cucumber-json run.json] [--report report.html] [--fail-on-skipped] [--serial]
//! ```
//!
//! The target file (see `mock_idp_harness::http_target`) says where the backend is and what it is configured
//! with; the runner serves the mock provider at that issuer and registers that client, so the backend
//! needs no change beyond pointing at it.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use mock_idp_harness::{
    Invocation, RunOptions,
    http_target::HttpFactory,
    outcome::{Outcome, StepOutcome},
    preflight::Preflight,
};

const HELP: &str = "\
conform: run the conformance features against a running backend

USAGE: conform --target FILE [OPTIONS] [NAME-FILTER]...
       conform check --target FILE   one real login, to see that the target file describes the backend
       conform init [FILE]           write a commented target file to start from (default conform.toml)
       conform --list                the scenarios with their tags

EXIT: 0 every scenario passed, warned, was skipped or did not apply; 1 a scenario failed;
      2 the run could not start (arguments, the target file, the provider's port, the pre-flight)

  --target FILE        the target file (or HARNESS_TARGET): the backend's URL and endpoints, the
                       issuer/client it is configured with, optional hooks
  --tags T1,T2         only scenarios with one of these tags (catalogue IDs, without @)
  --skip TEXT          leave out scenarios whose name contains TEXT
  --junit FILE         JUnit XML (or HARNESS_JUNIT)
  --cucumber-json FILE cucumber JSON (or HARNESS_CUCUMBER_JSON)
  --report FILE        a self-contained HTML report (or HARNESS_REPORT)
  --features PATH      a .feature file or a directory (default: the bundled features/)
  --fail-on-skipped    scenarios that need a hook the target does not give fail instead of skipping
  --advisory L1,L2     failures at these levels (SHOULD, POLICY; never MUST) only warn
  --serial             one scenario at a time (default: concurrent; provider-wide ones run alone)
  -q, --quiet          only failures and the closing line
  NAME-FILTER          only scenarios whose \"feature: scenario\" name contains it
";

/// `conform init`'s template: every key, commented, for a server-side app as libraries document them.
const TEMPLATE: &str = include_str!("conform-template.toml");

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if args.first().map(String::as_str) == Some("init") {
        let path = PathBuf::from(args.get(1).map_or("conform.toml", String::as_str));
        if path.exists() {
            eprintln!("conform: {} exists; not overwritten", path.display());
            return ExitCode::from(2);
        }
        return match std::fs::write(&path, TEMPLATE) {
            Ok(()) => {
                println!(
                    "wrote {}: fill in your backend, then `conform check --target {}`",
                    path.display(),
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("conform: writing {}: {e}", path.display());
                ExitCode::from(2)
            }
        };
    }
    if args.iter().any(|a| a == "--list") {
        return list(&args);
    }
    let checking = args.first().map(String::as_str) == Some("check");
    if checking {
        args.remove(0);
    }
    let target = take_value(&mut args, "--target")
        .or_else(|| std::env::var("HARNESS_TARGET").ok())
        .map(PathBuf::from);
    let Some(target) = target else {
        eprintln!("conform: --target FILE is required (see --help)");
        return ExitCode::from(2);
    };
    let factory = match HttpFactory::from_file(&target) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("conform: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Paths on conform's command line are the user's, relative to where they run it (cargo test's are
    // relative to the workspace).
    absolutize(
        &mut args,
        &["--report", "--junit", "--cucumber-json", "--features"],
    );
    let name = mock_idp_harness::target::TargetFactory::name(&factory);
    if checking {
        return match mock_idp_harness::runner::check_target(Arc::new(factory)).await {
            Ok(Preflight::LoggedIn(what)) => {
                println!("ok: {what}");
                ExitCode::SUCCESS
            }
            Ok(Preflight::Partial(what)) => {
                println!("partly checked: {what}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("conform check: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let base = RunOptions::new(Arc::new(factory));
    let mut options = match Invocation::parse(&args, base) {
        Invocation::Run(options) => *options,
        Invocation::List { .. } => return list(&args),
    };
    options.title = Some(format!("conform: {name}"));
    let report = match mock_idp_harness::run(options).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("conform: cannot run the features: {e}");
            return ExitCode::from(2);
        }
    };
    for s in &report.scenarios {
        let label = s.outcome.label().to_uppercase();
        match &s.outcome {
            Outcome::Failed(_) | Outcome::Warned(_) => {
                let reason = s.steps.iter().find_map(|st| match &st.outcome {
                    StepOutcome::Failed(m) => Some(m.as_str()),
                    _ => None,
                });
                println!(
                    "{label}: {}: {}: {}",
                    s.feature,
                    s.scenario,
                    reason.unwrap_or("")
                );
            }
            Outcome::NotApplicable(reason) | Outcome::Skipped(reason) => {
                println!("{label}: {}: {} ({reason})", s.feature, s.scenario);
            }
            Outcome::Passed => {}
        }
    }
    let (backend, provider) = report.tally_apart();
    println!(
        "provider self-checks (the mock provider checking itself, whatever the backend): {}",
        provider.line()
    );
    println!("backend: {}", backend.line());
    println!("{}", report.summary());
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--list`: every scenario of the features (`--features PATH`, default the bundled ones) with its tags.
fn list(args: &[String]) -> ExitCode {
    let dir = args
        .iter()
        .position(|a| a == "--features")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(mock_idp_harness::runner::default_features_dir);
    match mock_idp_harness::runner::list_scenarios(&dir) {
        Ok(lines) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for line in lines {
                // A closed pipe (`conform --list | head`) ends the list, not the process with a panic.
                if writeln!(out, "{line}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("conform: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Makes the values of these flags absolute against the current directory.
fn absolutize(args: &mut [String], flags: &[&str]) {
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    let absolute = |v: &str| {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            v.to_owned()
        } else {
            cwd.join(p).to_string_lossy().into_owned()
        }
    };
    for i in 0..args.len() {
        for flag in flags {
            if let Some(v) = args[i].strip_prefix(&format!("{flag}=")) {
                args[i] = format!("{flag}={}", absolute(v));
            } else if args[i] == *flag && i + 1 < args.len() {
                args[i + 1] = absolute(&args[i + 1]);
            }
        }
    }
}

/// Removes `flag VALUE` or `flag=VALUE` from the arguments and returns the value.
fn take_value(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) {
        let arg = args.remove(i);
        return Some(arg[prefix.len()..].to_owned());
    }
    let i = args.iter().position(|a| a == flag)?;
    args.remove(i);
    (i < args.len()).then(|| args.remove(i))
}
