//! The cucumber runner: every `.feature` under the workspace's `features/` against the reference client.
//! See `harness/README.md` for arguments, filters and reports.

use std::process::ExitCode;

use mock_idp_harness::{Invocation, runner::TEST_NAME};

mod support;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Invocation::parse(&args, support::reference_options()) {
        Invocation::List { ignored } => {
            // nextest (`--list --format terse`) and libtest's `--list`: one test, none of them ignored.
            if !ignored {
                println!("{TEST_NAME}: test");
            }
            return ExitCode::SUCCESS;
        }
        Invocation::Run(options) => *options,
    };
    let report = match mock_idp_harness::run(options).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("cannot run the features: {e}");
            return ExitCode::FAILURE;
        }
    };
    for failed in report.scenarios.iter().filter(|s| !s.passed()) {
        println!("FAILED: {}: {}", failed.feature, failed.scenario);
    }
    println!("{}", report.summary());
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
