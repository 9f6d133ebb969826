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

use crate::{
    arrangement::Arrangement,
    outcome::{Level, Outcome, StepOutcome, Tally},
    target::SharedFactory,
    world::World,
};

/// The one test the binary reports to libtest-style listers (nextest calls it back by this name).
pub const TEST_NAME: &str = "conformance";

/// Where the features are: this crate's `features/` folder, or the bundled copy written out
/// ([`crate::bundled::features_dir`]). An unwritable temporary folder leaves the path of the missing
/// folder, so the run fails naming it.
pub fn default_features_dir() -> PathBuf {
    crate::bundled::features_dir()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/features")))
}

/// What relative report paths are resolved against: the root of the cargo project the run is in (the
/// outermost folder above the current one whose `Cargo.toml` has `[workspace]`, else the nearest with a
/// `Cargo.toml`), else the current folder. cargo runs tests in the crate's folder, which nobody expects a
/// report in.
pub fn workspace_root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let manifest = |dir: &std::path::Path| std::fs::read_to_string(dir.join("Cargo.toml")).ok();
    let workspace = here
        .ancestors()
        .filter(|dir| manifest(dir).is_some_and(|m| m.contains("[workspace]")))
        .last();
    let package = || here.ancestors().find(|dir| manifest(dir).is_some());
    workspace
        .or_else(package)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| here.clone())
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
    /// Count scenarios that do not apply to the target (a hook it does not give …) as failures
    /// (`--fail-on-skipped`).
    pub fail_on_skipped: bool,
    /// A self-contained HTML report of every scenario, with its sequence diagram (`HARNESS_REPORT` or
    /// `--report PATH`; relative to the workspace root).
    pub report: Option<PathBuf>,
    /// The report's title (default: the target's name).
    pub title: Option<String>,
    /// Levels whose failures only warn (`--advisory SHOULD,POLICY`); never MUST.
    pub advisory: Vec<Level>,
    /// Against a running backend, one real login before any scenario ([`crate::preflight`]); a backend
    /// whose shape the target file does not describe stops the run with one message.
    pub preflight: bool,
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
            fail_on_skipped: false,
            report: std::env::var_os("HARNESS_REPORT").map(report_path),
            title: None,
            advisory: Vec::new(),
            preflight: true,
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
    Run(Box<RunOptions>),
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
    "--cucumber-json",
    "--report",
    "--features",
    "--tags",
    "--shuffle-seed",
    "--advisory",
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
                "--fail-on-skipped" => options.fail_on_skipped = true,
                "--serial" => options.concurrency = 1,
                "--cucumber-json" => options.cucumber_json = value.map(report_path),
                "--report" => options.report = value.map(report_path),
                "--features" => {
                    if let Some(v) = value {
                        options.features = PathBuf::from(v);
                    }
                }
                "--skip" => options.skip.extend(value),
                "--test-threads" => {
                    if let Some(n) = value.and_then(|v| v.parse::<usize>().ok()) {
                        options.concurrency = n.max(1);
                    }
                }
                "--junit" => options.junit = value.map(report_path),
                "--advisory" => options.advisory.extend(
                    value
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|l| l.parse::<Level>().ok())
                        .filter(|l| *l != Level::Must),
                ),
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
            Invocation::Run(Box::new(options))
        }
    }
}

/// One step as it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// `Given`, `When`, `Then`, `And` …
    pub keyword: String,
    /// The step's text.
    pub text: String,
    /// What happened.
    pub outcome: StepOutcome,
    /// Whether it is a `Then` step (a check), not a `Given` or `When` (setup or an action): a scenario
    /// whose setup or action failed could not check its row.
    pub check: bool,
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    /// The feature's name.
    pub feature: String,
    /// The scenario's name (an outline's examples share it).
    pub scenario: String,
    /// The feature file, if known.
    pub file: Option<PathBuf>,
    /// The scenario's line in it.
    pub line: usize,
    /// Its tags, without `@`.
    pub tags: Vec<String>,
    /// What it came to.
    pub outcome: Outcome,
    /// The row a failing step named as the one its check judges, when not the scenario's first tag.
    pub rule: Option<String>,
    /// The scenario never started the backend: the mock provider checking itself, whatever the target.
    pub provider_only: bool,
    /// Its steps as they ran, background first.
    pub steps: Vec<StepResult>,
}

impl ScenarioResult {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// Whether it failed (at any level; a warning is not a failure).
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// Why the run could not check it, or why its row does not apply (then it neither passed nor failed).
    pub fn skipped(&self) -> Option<&str> {
        self.outcome.reason()
    }
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
    /// The five outcomes counted.
    pub fn tally(&self) -> Tally {
        Tally::of(self.scenarios.iter().map(|s| &s.outcome))
    }

    /// The outcomes of the scenarios that used the backend, and of those that only checked the mock
    /// provider itself (which pass or fail whatever the backend does).
    pub fn tally_apart(&self) -> (Tally, Tally) {
        let of = |provider_only: bool| {
            Tally::of(
                self.scenarios
                    .iter()
                    .filter(|s| s.provider_only == provider_only)
                    .map(|s| &s.outcome),
            )
        };
        (of(false), of(true))
    }

    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.tally().passed
    }

    /// Scenarios that failed, plus unparsable files.
    pub fn failed(&self) -> usize {
        self.tally().failed() + self.parsing_errors
    }

    /// Scenarios that were not checked: skipped, or their row does not apply.
    pub fn skipped(&self) -> usize {
        let t = self.tally();
        t.skipped + t.not_applicable
    }

    /// The closing line: `N passed, N failed (MUST n, SHOULD n, POLICY n), N warned, N not applicable,
    /// N skipped`.
    pub fn summary(&self) -> String {
        let mut line = self.tally().line();
        if self.parsing_errors > 0 {
            line.push_str(&format!(
                ", {} feature files did not parse",
                self.parsing_errors
            ));
        }
        line
    }

    /// Whether the run succeeded: no failure (warnings, skips and rows that do not apply do not fail it,
    /// unless `--fail-on-skipped` made skips failures).
    pub fn success(&self) -> bool {
        self.failed() == 0 && !self.execution_failed
    }
}

/// Parts of a row that count at another level than the row (docs/CONFORMANCE.md: "A sentence in brackets
/// that starts with a level … counts at that level"), known by a step the scenario has: (text in the
/// step, row, level).
const PART_LEVELS: &[(&str, &str, Level)] = &[
    // ID-IAT-SUB: "(POLICY: the future-iat check; Core #10 says 'The acceptable range is Client
    // specific'.)"
    ("\"id_token.iat_future\"", "ID-IAT-SUB", Level::Policy),
    // RF-ROTATION: "(POLICY: the same for a confidential client …)"; the scenarios' confidential client.
    ("client \"web\" refreshes", "RF-ROTATION", Level::Policy),
];

/// How the reason of a scenario whose setup or action failed starts: its row was never checked.
pub const COULD_NOT_CHECK: &str = "could not check";

/// (feature, scenario, line): a scenario's identity within a run.
type Key = (String, String, usize);

fn key_of(feature: &cucumber::gherkin::Feature, scenario: &cucumber::gherkin::Scenario) -> Key {
    (
        feature.name.clone(),
        scenario.name.clone(),
        scenario.position.line,
    )
}

/// A writer that records each scenario's outcome into a shared [`Report`].
#[derive(Debug, Clone, Default)]
struct Recorder {
    /// Shared with the caller, who reads it after the run.
    report: Arc<Mutex<Report>>,
    /// Scenarios in progress: their steps so far.
    running: Arc<Mutex<std::collections::HashMap<Key, Vec<StepResult>>>>,
    /// `--fail-on-skipped`: a scenario the run cannot check is a failure.
    fail_on_skipped: bool,
    /// The catalogue, for the level of each scenario's row.
    catalogue: Arc<Vec<crate::report::Rule>>,
    /// Levels whose failures only warn.
    advisory: Vec<Level>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A failed step's message: a step returning `Err` panics with the error's text.
fn panic_message(error: &event::StepError) -> String {
    match error {
        event::StepError::Panic(info) => info
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the step panicked".into()),
        other => other.to_string(),
    }
}

impl Recorder {
    fn step_event(&self, key: &Key, step: &cucumber::gherkin::Step, ev: &event::Step<World>) {
        let outcome = match ev {
            event::Step::Started => return,
            event::Step::Passed(..) => StepOutcome::Passed,
            event::Step::Skipped => StepOutcome::Failed("no step definition matches".into()),
            event::Step::Failed(_, _, _, error) => {
                let message = panic_message(error);
                if let Some(reason) = crate::target::not_applicable_reason(&message) {
                    StepOutcome::NotApplicable(reason.to_owned())
                } else {
                    match crate::target::skip_reason(&message) {
                        Some(reason) if !self.fail_on_skipped => {
                            StepOutcome::Skipped(reason.to_owned())
                        }
                        _ => StepOutcome::Failed(message),
                    }
                }
            }
        };
        lock(&self.running)
            .entry(key.clone())
            .or_default()
            .push(StepResult {
                keyword: step.keyword.trim().to_owned(),
                text: step.value.clone(),
                outcome,
                check: step.ty == cucumber::gherkin::StepType::Then,
            });
    }

    fn scenario_event(
        &self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
        ev: &event::Scenario<World>,
    ) {
        let key = key_of(feature, scenario);
        match ev {
            event::Scenario::Step(step, ev) | event::Scenario::Background(step, ev) => {
                self.step_event(&key, step, ev)
            }
            event::Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                let message = info
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "a hook failed".into());
                lock(&self.running)
                    .entry(key.clone())
                    .or_default()
                    .push(StepResult {
                        keyword: "Hook".into(),
                        text: String::new(),
                        outcome: StepOutcome::Failed(message),
                        check: false,
                    });
            }
            event::Scenario::Finished => {
                let steps = lock(&self.running).remove(&key).unwrap_or_default();
                let outcomes: Vec<StepOutcome> = steps.iter().map(|s| s.outcome.clone()).collect();
                let broken = steps.iter().find_map(|s| match &s.outcome {
                    StepOutcome::Failed(m) => {
                        crate::target::broken_row(m).map(|(row, level)| (row.to_owned(), level))
                    }
                    _ => None,
                });
                let rule = broken.as_ref().map(|(row, _)| row.clone());
                let part = PART_LEVELS.iter().find(|(text, row, _)| {
                    crate::report::judged_row(&self.catalogue, &scenario.tags)
                        .is_some_and(|r| r.id == *row)
                        && steps.iter().any(|s| s.text.contains(text))
                });
                let level = match (&broken, part) {
                    (Some((_, Some(level))), _) => *level,
                    (Some((row, None)), _) => {
                        crate::report::level_of(&self.catalogue, std::slice::from_ref(row))
                    }
                    (None, Some((_, _, level))) => *level,
                    (None, None) => crate::report::level_of(&self.catalogue, &scenario.tags),
                };
                let mut outcome = Outcome::of_steps(&outcomes, level, &self.advisory);
                // A failed setup or action is not the row's check: the row could not be checked
                // (docs/CONFORMANCE.md, "skip": "… or an earlier step failed").
                if matches!(outcome, Outcome::Failed(_) | Outcome::Warned(_))
                    && let Some(step) = steps
                        .iter()
                        .find(|s| matches!(s.outcome, StepOutcome::Failed(_)))
                    && !step.check
                    && let StepOutcome::Failed(message) = &step.outcome
                    // A skip that --fail-on-skipped made a failure stays one.
                    && crate::target::skip_reason(message).is_none()
                {
                    let row = rule
                        .clone()
                        .or_else(|| {
                            crate::report::judged_row(&self.catalogue, &scenario.tags)
                                .map(|r| r.id.clone())
                        })
                        .unwrap_or_default();
                    outcome = Outcome::Skipped(format!(
                        "{COULD_NOT_CHECK} {row}: `{} {}` failed: {message}",
                        step.keyword, step.text
                    ));
                }
                lock(&self.report).scenarios.push(ScenarioResult {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    file: feature.path.clone(),
                    line: scenario.position.line,
                    tags: scenario.tags.clone(),
                    outcome,
                    rule,
                    provider_only: false,
                    steps,
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
                lock(&self.report).parsing_errors += 1;
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

/// Turns the outcome of a scenario that does not apply to the target (a step failed with
/// [`crate::target::NOT_APPLICABLE`]) into a skipped step for the console, JUnit and cucumber JSON, unless
/// `fail_on_skipped`; and a step no definition matches (which cucumber reports as skipped) into a failure,
/// always: an undefined step is a broken feature, not a scenario that does not apply.
#[derive(Debug)]
struct NotApplicable<Wr> {
    /// The writers that see the mapped events.
    inner: Wr,
    /// `--fail-on-skipped`: keep them failures.
    fail_on_skipped: bool,
}

impl<Wr> NotApplicable<Wr> {
    fn map_step(&self, step: event::Step<World>) -> event::Step<World> {
        match step {
            event::Step::Skipped => {
                event::Step::Failed(None, None, None, event::StepError::NotFound)
            }
            event::Step::Failed(_, _, _, ref error)
                if crate::target::not_applicable_reason(&panic_message(error)).is_some()
                    || (!self.fail_on_skipped
                        && crate::target::skip_reason(&panic_message(error)).is_some()) =>
            {
                event::Step::Skipped
            }
            other => other,
        }
    }

    fn map_scenario(&self, ev: event::Scenario<World>) -> event::Scenario<World> {
        match ev {
            event::Scenario::Step(st, ev) => event::Scenario::Step(st, self.map_step(ev)),
            event::Scenario::Background(st, ev) => {
                event::Scenario::Background(st, self.map_step(ev))
            }
            other => other,
        }
    }
}

impl<Wr: cucumber::Writer<World>> cucumber::Writer<World> for NotApplicable<Wr> {
    type Cli = Wr::Cli;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<World>>>,
        cli: &Self::Cli,
    ) {
        let event = event.map(|outer| {
            outer.map(|ev| match ev {
                event::Cucumber::Feature(f, event::Feature::Scenario(sc, retryable)) => {
                    let event::RetryableScenario { event, retries } = retryable;
                    event::Cucumber::Feature(
                        f,
                        event::Feature::Scenario(
                            sc,
                            event::RetryableScenario {
                                event: self.map_scenario(event),
                                retries,
                            },
                        ),
                    )
                }
                event::Cucumber::Feature(
                    f,
                    event::Feature::Rule(r, event::Rule::Scenario(sc, retryable)),
                ) => {
                    let event::RetryableScenario { event, retries } = retryable;
                    event::Cucumber::Feature(
                        f,
                        event::Feature::Rule(
                            r,
                            event::Rule::Scenario(
                                sc,
                                event::RetryableScenario {
                                    event: self.map_scenario(event),
                                    retries,
                                },
                            ),
                        ),
                    )
                }
                other => other,
            })
        });
        self.inner.handle_event(event, cli).await;
    }
}

impl<Wr: writer::Stats<World>> writer::Stats<World> for NotApplicable<Wr>
where
    Self: cucumber::Writer<World>,
{
    fn passed_steps(&self) -> usize {
        self.inner.passed_steps()
    }

    fn skipped_steps(&self) -> usize {
        self.inner.skipped_steps()
    }

    fn failed_steps(&self) -> usize {
        self.inner.failed_steps()
    }

    fn retried_steps(&self) -> usize {
        self.inner.retried_steps()
    }

    fn parsing_errors(&self) -> usize {
        self.inner.parsing_errors()
    }

    fn hook_errors(&self) -> usize {
        self.inner.hook_errors()
    }
}

impl<Wr: writer::Arbitrary<World, Val>, Val> writer::Arbitrary<World, Val> for NotApplicable<Wr>
where
    Self: cucumber::Writer<World>,
{
    async fn write(&mut self, val: Val) {
        self.inner.write(val).await;
    }
}

impl<Wr> writer::NonTransforming for NotApplicable<Wr> {}

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

/// Steps that change or count what every scenario on a provider sees (faults, keys, the clock, request
/// counts, the verdict) or a running backend's clock. Against one running backend, whose provider all
/// scenarios share, a scenario with such a step runs alone; [`Provider::global`] refuses these operations
/// to a scenario that is not running alone, so a step missing here fails loudly instead of disturbing
/// other scenarios.
pub const PROVIDER_WIDE_STEPS: &[&str] = &[
    "the provider injects",
    "the provider rotates",
    "the provider signs the next",
    "the provider's clock",
    "the provider's access tokens",
    "the provider's token endpoint",
    "the provider's userinfo endpoint",
    "the provider's jwks",
    "the provider's verdict",
    "the provider saw",
    "the app's clock",
];

/// Whether a scenario (with its feature's background) has a step of [`PROVIDER_WIDE_STEPS`].
pub fn provider_wide(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> bool {
    let backgrounds = feature
        .background
        .iter()
        .chain(rule.and_then(|r| r.background.as_ref()));
    backgrounds
        .flat_map(|b| b.steps.iter())
        .chain(scenario.steps.iter())
        .any(|step| {
            let text = step.value.to_lowercase();
            PROVIDER_WIDE_STEPS.iter().any(|p| text.starts_with(p))
                // A WeChat or GitHub provider's faults and last token answer, on a running backend's
                // persona that every scenario shares.
                || (text.starts_with("the \"")
                    && (text.contains("\" provider injects ") || text.contains("\" token endpoint answered ")))
                || text.starts_with("the app understood the \"")
                // A client registered for HS256 puts HS256 in the discovery every scenario reads.
                || text.ends_with("and hs256 id_tokens")
                // Counting all of a running backend's users: nobody else may add any meanwhile.
                || (text.starts_with("the app database has") && text.ends_with("in total"))
        })
}

/// Every scenario of the `.feature` files under `dir` (an outline's rows each once), as
/// `file:line  Feature: Scenario  @TAG @TAG`, in file order.
pub fn list_scenarios(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.is_file() {
            files.push(d);
            continue;
        }
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() || path.extension().is_some_and(|e| e == "feature") {
                stack.push(path);
            }
        }
    }
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let feature =
            cucumber::gherkin::Feature::parse_path(&file, cucumber::gherkin::GherkinEnv::default())
                .with_context(|| format!("parsing {}", file.display()))?;
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        for scenario in scenarios {
            let tags: Vec<String> = feature
                .tags
                .iter()
                .chain(&scenario.tags)
                .map(|t| format!("@{t}"))
                .collect();
            // An outline runs once per row of its Examples tables (their first row is the header).
            let count = scenario
                .examples
                .iter()
                .filter_map(|e| e.table.as_ref())
                .map(|t| t.rows.len().saturating_sub(1))
                .sum::<usize>()
                .max(1);
            for _ in 0..count {
                lines.push(format!(
                    "{}:{}  {}: {}  {}",
                    file.display(),
                    scenario.position.line,
                    feature.name,
                    scenario.name,
                    tags.join(" ")
                ));
            }
        }
    }
    Ok(lines)
}

/// The pre-flight found that the backend does not match its target file: the one message to show.
#[derive(Debug)]
pub struct PreflightFailed(pub String);

impl std::fmt::Display for PreflightFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pre-flight: {}", self.0)
    }
}

impl std::error::Error for PreflightFailed {}

/// `conform check`: serves the provider the backend is configured with and runs only the pre-flight.
pub async fn check_target(factory: SharedFactory) -> anyhow::Result<crate::preflight::Preflight> {
    let arrangement = Arrangement::for_run(factory.clone(), false, true).await?;
    let server = arrangement
        .running_provider()
        .ok_or_else(|| anyhow::anyhow!("check needs a running backend's target file"))?;
    crate::preflight::check(factory, server).await
}

/// Runs the features and returns what happened. Never panics on a failing scenario.
pub async fn run(options: RunOptions) -> io::Result<Report> {
    let recorder = Recorder {
        fail_on_skipped: options.fail_on_skipped,
        catalogue: Arc::new(catalogue()),
        advisory: options.advisory.clone(),
        ..Recorder::default()
    };
    let report = recorder.report.clone();
    if options.ignored_only {
        return Ok(Report::default());
    }
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
    // Which provider and backend each scenario gets is the arrangement's decision.
    let serial = options.concurrency <= 1;
    let arrangement =
        Arc::new(Arrangement::for_run(factory.clone(), options.shared_provider, serial).await?);
    if let Some(server) = arrangement.running_provider()
        && options.preflight
    {
        match crate::preflight::check(factory.clone(), server).await {
            Ok(crate::preflight::Preflight::LoggedIn(_)) => {}
            Ok(crate::preflight::Preflight::Partial(note)) => eprintln!("pre-flight: {note}"),
            Err(e) => return Err(io::Error::other(PreflightFailed(format!("{e:#}")))),
        }
    }
    let arrangement_before = arrangement.clone();
    let arrangement_filter = arrangement.clone();
    let not_run: Arc<Mutex<Vec<ScenarioResult>>> = Arc::default();
    let traces: Arc<Mutex<std::collections::HashMap<Key, Vec<crate::trace::Exchange>>>> =
        Arc::default();
    let provider_only: Arc<Mutex<std::collections::HashSet<Key>>> = Arc::default();
    let provider_only_after = provider_only.clone();
    let traces_after = traces.clone();
    let want_report = options.report.is_some();
    let not_run_after = not_run.clone();

    let writer = World::cucumber()
        .with_writer(
            recorder
                .tee::<World, _>(NotApplicable {
                    inner: console.summarized().tee::<World, _>(json),
                    fail_on_skipped: options.fail_on_skipped,
                })
                .normalized(),
        )
        .with_default_cli()
        .max_concurrent_scenarios(options.concurrency)
        .which_scenario(move |feature, rule, scenario| {
            if arrangement.runs_alone(feature, rule, scenario) {
                cucumber::runner::ScenarioType::Serial
            } else {
                cucumber::runner::ScenarioType::Concurrent
            }
        })
        .before(move |feature, rule, scenario, world| {
            world.tags = scenario.tags.clone();
            world.needs_default_policy = scenario.tags.iter().any(|t| t == "default-policy");
            world.needs_fresh_backend = scenario.tags.iter().any(|t| t == "fresh-backend");
            if let Err(e) = arrangement_before.assign(world, feature, rule, scenario) {
                // The scenario then runs on its own server; say so rather than fail every step.
                eprintln!("the scenario's provider: {e:#}");
            }
            async {}.boxed_local()
        })
        .after(move |feature, _, scenario, _, world| {
            if let Some(world) = world.as_deref() {
                let key = key_of(feature, scenario);
                if !world.involved_backend() {
                    lock(&provider_only).insert(key.clone());
                }
                if want_report {
                    lock(&traces).insert(key, world.exchanges());
                }
            }
            async move {
                // A running backend's clock goes back before the next scenario.
                if let Some(world) = world
                    && let Err(e) = world.reset_app_clock().await
                {
                    eprintln!("putting the backend's clock back: {e:#}");
                }
            }
            .boxed_local()
        })
        .filter_run(options.features.clone(), move |feature, _, scenario| {
            let name = format!("{}: {}", feature.name, scenario.name).to_lowercase();
            let selected = (filters.is_empty() || filters.iter().any(|f| name.contains(f)))
                && !skip.iter().any(|s| name.contains(s))
                && (tags.is_empty() || scenario.tags.iter().any(|t| tags.contains(t)));
            // A scenario that changes the provider beyond what a scenario can undo (a client throttled
            // for a minute) needs a provider of its own, which a running backend's is not.
            if let Some(reason) = arrangement_filter
                .not_run(feature, scenario)
                .filter(|_| selected)
            {
                lock(&not_run).push(ScenarioResult {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    file: feature.path.clone(),
                    line: scenario.position.line,
                    tags: scenario.tags.clone(),
                    outcome: Outcome::Skipped(reason),
                    rule: None,
                    provider_only: false,
                    steps: Vec::new(),
                });
                return false;
            }
            selected
        })
        .await;
    let mut report = lock(&report).clone();
    report.scenarios.extend(lock(&not_run_after).drain(..));
    {
        let provider_only = lock(&provider_only_after);
        for s in &mut report.scenarios {
            // A scenario that stopped before reaching the backend (skipped, not applicable) is the
            // backend's all the same; only one that ran to its end without it is a self-check.
            s.provider_only = s.skipped().is_none()
                && provider_only.contains(&(s.feature.clone(), s.scenario.clone(), s.line));
        }
    }
    report.execution_failed = cucumber::writer::Stats::execution_has_failed(&writer);
    if let Some(path) = &options.junit {
        let name = options
            .title
            .clone()
            .unwrap_or_else(|| format!("Conformance: {}", options.factory.name()));
        output(Some(path))?.write_all(crate::junit::render(&report, &name).as_bytes())?;
    }
    if let Some(path) = &options.report {
        let title = options
            .title
            .clone()
            .unwrap_or_else(|| format!("Conformance: {}", options.factory.name()));
        let html = html_report(
            &report,
            &lock(&traces_after),
            &title,
            &options.factory.name(),
        )
        .map_err(|e| io::Error::other(format!("rendering the report: {e:#}")))?;
        let mut file = output(Some(path))?;
        file.write_all(html.as_bytes())?;
    }
    Ok(report)
}

/// The catalogue the report cites rules from: the bundled `docs/CONFORMANCE.md`, or the file
/// `HARNESS_CATALOGUE` names.
fn catalogue() -> Vec<crate::report::Rule> {
    let text = match std::env::var_os("HARNESS_CATALOGUE") {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => crate::bundled::CATALOGUE.to_owned(),
    };
    crate::report::parse_catalogue(&text)
}

/// The HTML report of a run: every scenario with its steps, its exchanges and the rules it checks.
fn html_report(
    report: &Report,
    traces: &std::collections::HashMap<Key, Vec<crate::trace::Exchange>>,
    title: &str,
    target: &str,
) -> anyhow::Result<String> {
    use crate::report::{ScenarioReport, StepReport};
    let catalogue = catalogue();
    let scenarios: Vec<ScenarioReport> = report
        .scenarios
        .iter()
        .map(|s| {
            let key = (s.feature.clone(), s.scenario.clone(), s.line);
            let exchanges = traces.get(&key).cloned().unwrap_or_default();
            ScenarioReport {
                feature: s.feature.clone(),
                scenario: s.scenario.clone(),
                file: s.file.as_ref().map(|f| f.display().to_string()),
                line: s.line,
                tags: s.tags.clone(),
                outcome: s.outcome.clone(),
                steps: s
                    .steps
                    .iter()
                    .map(|st| StepReport {
                        keyword: st.keyword.clone(),
                        text: st.text.clone(),
                        outcome: st.outcome.clone(),
                    })
                    .collect(),
                dropped_exchanges: 0,
                provider_only: s.provider_only,
                exchanges,
                // The row a failure is counted against comes first.
                rules: crate::report::rules_for(
                    &catalogue,
                    &s.rule
                        .iter()
                        .cloned()
                        .chain(s.tags.iter().cloned())
                        .collect::<Vec<_>>(),
                ),
            }
        })
        .collect();
    crate::report::render(title, target, &scenarios)
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
            Invocation::Run(o) => *o,
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rule_is_named_broken_only_when_its_check_failed_not_when_its_setup_did() {
        let dir = std::env::temp_dir().join(format!("harness-honesty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        std::fs::write(
            dir.join("honesty.feature"),
            "Feature: Honesty\n\n  @ST-MISMATCH\n  Scenario: Its setup fails\n    Given the app has a user \"alice\"\n    Then the backend issues an app token\n\n  @ST-SINGLE-USE\n  Scenario: Its check fails\n    Then the backend issues an app token\n",
        )
        .expect("the feature");
        let report_path = dir.join("report.html");
        let report = run(RunOptions {
            features: dir.clone(),
            quiet: true,
            junit: None,
            cucumber_json: None,
            report: Some(report_path.clone()),
            ..RunOptions::new(Arc::new(crate::target::NoTarget))
        })
        .await
        .expect("the run");
        let html = std::fs::read_to_string(&report_path).expect("the report");
        let _ = std::fs::remove_dir_all(&dir);
        let by_name = |name: &str| {
            report
                .scenarios
                .iter()
                .find(|s| s.scenario == name)
                .unwrap_or_else(|| panic!("{name} ran"))
        };
        match &by_name("Its setup fails").outcome {
            Outcome::Skipped(reason) => assert!(
                reason.starts_with("could not check ST-MISMATCH: `Given the app has a user"),
                "{reason}"
            ),
            other => panic!("a failed setup is {other:?}, not a skip"),
        }
        // The check itself failing breaks its row, at the row's level (ST-SINGLE-USE is SHOULD).
        assert_eq!(
            by_name("Its check fails").outcome,
            Outcome::Failed(Level::Should)
        );
        assert_eq!(
            html.matches("class=\"broken\"").count(),
            1,
            "one rule broken"
        );
        assert!(html.contains("could not check ST-MISMATCH"));
    }

    #[test]
    fn junit_path_comes_from_the_flag() {
        let o = run_options(&["--junit", "target/junit.xml"]);
        assert_eq!(o.junit, Some(workspace_root().join("target/junit.xml")));
        let o = run_options(&["--junit=/tmp/out.xml"]);
        assert_eq!(o.junit, Some(PathBuf::from("/tmp/out.xml")));
    }
}
