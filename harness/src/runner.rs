//! Running the features: argument parsing that tolerates libtest's and nextest's arguments, the writer
//! chain (console, JUnit XML, cucumber JSON, and a recorder of each scenario's outcome), and the report.
//!
//! Another project runs the features against its own backend with a `harness = false` test like
//! `tests/conformance.rs`, passing its own [`crate::target::TargetFactory`] in [`RunOptions::factory`].

use std::{
    fs::File,
    io::{self, Write},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use cucumber::{Event, World as _, WriterExt as _, event, parser, writer};
use futures::FutureExt as _;

use mock_idp::MockIdp;

use crate::{provider::Provider, target::SharedFactory, world::World};

/// The one test the binary reports to libtest-style listers (nextest calls it back by this name).
pub const TEST_NAME: &str = "conformance";

/// Where the workspace's features are.
pub fn default_features_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../features"))
}

/// The workspace root, which relative report paths are resolved against (cargo runs tests in the crate's
/// folder, which nobody expects a report in).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn report_path(value: impl Into<PathBuf>) -> PathBuf {
    let path = value.into();
    if path.is_absolute() {
        path
    } else {
        workspace_root().join(path)
    }
}

/// What to run and where to report.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A `.feature` file or a directory searched recursively.
    pub features: PathBuf,
    /// Starts the backend under test.
    pub factory: SharedFactory,
    /// Run only scenarios whose "feature: scenario" name contains one of these (case-insensitive).
    pub name_filters: Vec<String>,
    /// Skip scenarios whose name contains one of these.
    pub skip: Vec<String>,
    /// Run only scenarios carrying one of these tags (without `@`); empty means all.
    pub tags: Vec<String>,
    /// Run nothing (libtest's `--ignored`: this binary has no ignored tests).
    pub ignored_only: bool,
    /// JUnit XML output file (`HARNESS_JUNIT` or `--junit PATH`; relative to the workspace root).
    pub junit: Option<PathBuf>,
    /// Cucumber JSON output file (`HARNESS_CUCUMBER_JSON`; relative to the workspace root).
    pub cucumber_json: Option<PathBuf>,
    /// Scenarios run at the same time.
    pub concurrency: usize,
    /// Print only failures and the summary.
    pub quiet: bool,
    /// Run every scenario against its own tenant of one shared mock IdP instead of a server of its own
    /// (`HARNESS_SHARED_PROVIDER=1` or `--shared-provider`).
    pub shared_provider: bool,
}

impl RunOptions {
    /// Every feature against the backends `factory` starts, with the reports the environment asks for
    /// (`HARNESS_JUNIT`, `HARNESS_CUCUMBER_JSON`, `HARNESS_SHARED_PROVIDER`).
    pub fn new(factory: SharedFactory) -> Self {
        RunOptions {
            features: default_features_dir(),
            factory,
            name_filters: Vec::new(),
            skip: Vec::new(),
            tags: Vec::new(),
            ignored_only: false,
            junit: std::env::var_os("HARNESS_JUNIT").map(report_path),
            cucumber_json: std::env::var_os("HARNESS_CUCUMBER_JSON").map(report_path),
            concurrency: 16,
            quiet: false,
            shared_provider: std::env::var_os("HARNESS_SHARED_PROVIDER").is_some_and(|v| v == "1"),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `--list`: print the test list (`conformance: test` unless only ignored tests are asked for).
    List {
        /// `--ignored` was given too.
        ignored: bool,
    },
    /// Run the features.
    Run(RunOptions),
}

/// libtest flags that take a value, so the value is not mistaken for a name filter.
const VALUE_FLAGS: &[&str] = &[
    "--color",
    "--format",
    "--logfile",
    "--skip",
    "--test-threads",
    "--report-time",
    "-Z",
    "--junit",
    "--tags",
    "--shuffle-seed",
];

impl Invocation {
    /// Parses arguments leniently onto `options`: libtest's and nextest's forms work, unknown flags are
    /// ignored, free arguments are name filters; the filter `conformance` (the binary's one libtest name)
    /// selects everything. Our own: `--junit PATH`, `--tags TAG[,TAG]`.
    pub fn parse(args: &[String], options: RunOptions) -> Invocation {
        let mut options = options;
        let mut list = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg, None),
            };
            let takes_value = VALUE_FLAGS.contains(&flag);
            let value = if takes_value && inline.is_none() {
                i += 1;
                args.get(i).cloned()
            } else {
                inline
            };
            match flag {
                "--list" => list = true,
                "--ignored" => options.ignored_only = true,
                "-q" | "--quiet" => options.quiet = true,
                "--shared-provider" => options.shared_provider = true,
                "--skip" => options.skip.extend(value),
                "--test-threads" => {
                    if let Some(n) = value.and_then(|v| v.parse::<usize>().ok()) {
                        options.concurrency = n.max(1);
                    }
                }
                "--junit" => options.junit = value.map(report_path),
                "--tags" => options.tags.extend(
                    value
                        .unwrap_or_default()
                        .split(',')
                        .map(|t| t.trim().trim_start_matches('@').to_owned())
                        .filter(|t| !t.is_empty()),
                ),
                f if f.starts_with('-') => {}
                filter if filter != TEST_NAME => options.name_filters.push(filter.to_owned()),
                _ => {}
            }
            i += 1;
        }
        if list {
            Invocation::List {
                ignored: options.ignored_only,
            }
        } else {
            Invocation::Run(options)
        }
    }
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    /// The feature's name.
    pub feature: String,
    /// The scenario's name (an outline's examples share it).
    pub scenario: String,
    /// Its tags, without `@`.
    pub tags: Vec<String>,
    /// Whether every step passed.
    pub passed: bool,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every scenario run, in finishing order.
    pub scenarios: Vec<ScenarioResult>,
    /// Feature files that did not parse.
    pub parsing_errors: usize,
    /// Whether cucumber itself counted a failure (steps, hooks, parsing).
    pub execution_failed: bool,
}

impl Report {
    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.scenarios.iter().filter(|s| s.passed).count()
    }

    /// Scenarios that failed, plus unparsable files.
    pub fn failed(&self) -> usize {
        self.scenarios.iter().filter(|s| !s.passed).count() + self.parsing_errors
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// Whether the run succeeded.
    pub fn success(&self) -> bool {
        self.failed() == 0 && !self.execution_failed
    }
}

/// A writer that records each scenario's outcome into a shared [`Report`].
#[derive(Debug, Clone, Default)]
struct Recorder {
    /// Shared with the caller, who reads it after the run.
    report: Arc<Mutex<Report>>,
    /// Scenarios that have had a failed step or hook, by (feature, scenario, line).
    failing: Arc<Mutex<std::collections::HashSet<(String, String, usize)>>>,
}

impl Recorder {
    fn scenario_event(
        &self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
        ev: &event::Scenario<World>,
    ) {
        let key = (
            feature.name.clone(),
            scenario.name.clone(),
            scenario.position.line,
        );
        let lock = |m: &Mutex<std::collections::HashSet<_>>| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone());
        };
        match ev {
            event::Scenario::Step(_, event::Step::Failed(..) | event::Step::Skipped)
            | event::Scenario::Background(_, event::Step::Failed(..) | event::Step::Skipped)
            | event::Scenario::Hook(_, event::Hook::Failed(..)) => lock(&self.failing),
            event::Scenario::Finished => {
                let failed = self
                    .failing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(&key);
                self.report
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .scenarios
                    .push(ScenarioResult {
                        feature: feature.name.clone(),
                        scenario: scenario.name.clone(),
                        tags: scenario.tags.clone(),
                        passed: !failed,
                    });
            }
            _ => {}
        }
    }
}

impl cucumber::Writer<World> for Recorder {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<World>>>,
        _cli: &Self::Cli,
    ) {
        let event = match event {
            Ok(e) => e.value,
            Err(_) => {
                self.report
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .parsing_errors += 1;
                return;
            }
        };
        if let event::Cucumber::Feature(feature, ev) = event {
            match ev {
                event::Feature::Scenario(scenario, ev) => {
                    self.scenario_event(&feature, &scenario, &ev.event)
                }
                event::Feature::Rule(_, event::Rule::Scenario(scenario, ev)) => {
                    self.scenario_event(&feature, &scenario, &ev.event)
                }
                _ => {}
            }
        }
    }
}

impl writer::NonTransforming for Recorder {}

/// Opens a report file, or a sink when none is asked for.
fn output(path: Option<&PathBuf>) -> io::Result<Box<dyn Write>> {
    match path {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Ok(Box::new(File::create(p)?))
        }
        None => Ok(Box::new(io::sink())),
    }
}

/// Runs the features and returns what happened. Never panics on a failing scenario.
pub async fn run(options: RunOptions) -> io::Result<Report> {
    let recorder = Recorder::default();
    let report = recorder.report.clone();
    if options.ignored_only {
        return Ok(Report::default());
    }
    let junit = writer::JUnit::for_tee(output(options.junit.as_ref())?, 0);
    let json = writer::Json::for_tee(output(options.cucumber_json.as_ref())?);
    let console: Box<dyn Write> = if options.quiet {
        Box::new(io::sink())
    } else {
        Box::new(io::stdout())
    };
    let console = writer::Basic::raw(console, writer::Coloring::Never, 0);
    let recorder = recorder.discard_stats_writes().discard_arbitrary_writes();
    let factory = options.factory.clone();
    let filters: Vec<String> = options
        .name_filters
        .iter()
        .map(|f| f.to_lowercase())
        .collect();
    let skip: Vec<String> = options.skip.iter().map(|f| f.to_lowercase()).collect();
    let tags = options.tags.clone();
    let shared = if options.shared_provider {
        let server = MockIdp::start(mock_idp::Config::builtin())
            .await
            .map_err(|e| io::Error::other(format!("starting the shared mock IdP: {e}")))?;
        Some(Arc::new(server))
    } else {
        None
    };

    let writer = World::cucumber()
        .with_writer(
            console
                .summarized()
                .tee::<World, _>(junit)
                .tee::<World, _>(json)
                .tee::<World, _>(recorder)
                .normalized(),
        )
        .with_default_cli()
        .fail_on_skipped()
        .max_concurrent_scenarios(options.concurrency)
        .before(move |_, _, _, world| {
            world.factory = factory.clone();
            if let Some(server) = &shared {
                match Provider::tenant_of(server.clone()) {
                    Ok(provider) => world.provider = provider,
                    // The scenario then runs on its own server; say so rather than fail every step.
                    Err(e) => eprintln!("shared provider: {e:#}"),
                }
            }
            async {}.boxed_local()
        })
        .filter_run(options.features.clone(), move |feature, _, scenario| {
            let name = format!("{}: {}", feature.name, scenario.name).to_lowercase();
            (filters.is_empty() || filters.iter().any(|f| name.contains(f)))
                && !skip.iter().any(|s| name.contains(s))
                && (tags.is_empty() || scenario.tags.iter().any(|t| tags.contains(t)))
        })
        .await;
    let mut report = report.lock().unwrap_or_else(|p| p.into_inner()).clone();
    report.execution_failed = cucumber::writer::Stats::execution_has_failed(&writer);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Invocation {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        Invocation::parse(&args, RunOptions::new(Arc::new(crate::target::NoTarget)))
    }

    fn run_options(args: &[&str]) -> RunOptions {
        match parse(args) {
            Invocation::Run(o) => o,
            Invocation::List { .. } => panic!("{args:?} parsed as --list"),
        }
    }

    #[test]
    fn nextest_listing_and_its_call_back_are_understood() {
        assert!(matches!(
            parse(&["--list", "--format", "terse"]),
            Invocation::List { ignored: false }
        ));
        assert!(matches!(
            parse(&["--list", "--format", "terse", "--ignored"]),
            Invocation::List { ignored: true }
        ));
        let o = run_options(&["conformance", "--exact", "--nocapture"]);
        assert!(
            o.name_filters.is_empty(),
            "the binary's own name selects everything"
        );
    }

    #[test]
    fn libtest_arguments_do_not_break_the_run_and_a_free_argument_filters() {
        let o = run_options(&[
            "replay",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
            "--color",
            "always",
            "-Z",
            "unstable-options",
            "--show-output",
        ]);
        assert_eq!(o.name_filters, vec!["replay".to_owned()]);
        assert_eq!(o.concurrency, 1);
        assert!(o.quiet);
        let o = run_options(&[
            "--test-threads",
            "3",
            "--skip",
            "expired",
            "--tags",
            "@CODE-REPLAY,PK-WRONG",
        ]);
        assert_eq!(o.concurrency, 3);
        assert_eq!(o.skip, vec!["expired".to_owned()]);
        assert_eq!(
            o.tags,
            vec!["CODE-REPLAY".to_owned(), "PK-WRONG".to_owned()]
        );
    }

    #[test]
    fn junit_path_comes_from_the_flag() {
        let o = run_options(&["--junit", "target/junit.xml"]);
        assert_eq!(o.junit, Some(workspace_root().join("target/junit.xml")));
        let o = run_options(&["--junit=/tmp/out.xml"]);
        assert_eq!(o.junit, Some(PathBuf::from("/tmp/out.xml")));
    }
}
