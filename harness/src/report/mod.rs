//! A self-contained HTML report of a conformance run, for the QA engineers who read it: totals, a filter and
//! a search, and for every scenario its steps, the catalogue rules of its tags (with a "Rule broken" box
//! when it failed) and a sequence diagram of what went over the wire ([`diagram`]).
//!
//! The page has inline CSS and a little inline JS, and no external URL of any kind; every value is escaped
//! (minijinja's HTML auto-escaping for the page, [`diagram::escape`] for the SVG). Failed scenarios come
//! first and open; the others are collapsed.
//!
//! ```
//! use mock_idp_harness::report::{Outcome, ScenarioReport, parse_catalogue, render, rules_for};
//! let catalogue = parse_catalogue(
//!     "## E. State\n| ID | Side | Expected behaviour | Source | Scenario title |\n|---|---|---|---|---|\n\
//!      | ★ST-MISMATCH | both | Wrong `state` → reject. | 6749 §10.12 | Tampered state is rejected |\n",
//! );
//! let tags = vec!["ST-MISMATCH".to_owned()];
//! let scenario = ScenarioReport {
//!     feature: "State".into(),
//!     scenario: "Tampered state is rejected".into(),
//!     file: Some("features/state.feature".into()),
//!     line: 7,
//!     rules: rules_for(&catalogue, &tags),
//!     tags,
//!     outcome: Outcome::Passed,
//!     steps: vec![],
//!     exchanges: vec![],
//!     dropped_exchanges: 0,
//!     provider_only: false,
//! };
//! let html = render("Conformance", "reference-client", &[scenario]).expect("renders");
//! assert!(html.contains("1 passed, 0 failed (MUST 0, SHOULD 0, POLICY 0)"));
//! ```

pub mod diagram;

use std::{collections::BTreeMap, time::SystemTime};

use anyhow::Context as _;
use minijinja::{Environment, Value, value::Serde};
use serde::Serialize;

use crate::trace::Exchange;

pub use crate::outcome::{Level, Outcome, StepOutcome};

/// One step of a scenario as it ran.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepReport {
    /// `Given`, `When`, `Then`, `And`, `But`.
    pub keyword: String,
    /// The step's text, after the keyword.
    pub text: String,
    /// How it went.
    pub outcome: StepOutcome,
}

/// One row of docs/CONFORMANCE.md: a check, with its ID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// The check's ID, without the ★ (e.g. `ST-MISMATCH`).
    pub id: String,
    /// `IdP`, `RP` or `both`.
    pub side: String,
    /// The Level cell as written (`MUST`, `MUST (http) / POLICY (https)`).
    pub level_cell: String,
    /// The level a failure counts at in a run of this harness ([`Level::from_cell`]).
    pub level: Level,
    /// The row's condition ("Applies when: …"), if it has one.
    pub applies_when: Option<String>,
    /// The expected behaviour, as plain text.
    pub expected: String,
    /// The specification sections, as plain text.
    pub source: String,
    /// The catalogue's scenario title.
    pub title: String,
    /// `true` for the ★ checks, the most important ones.
    pub starred: bool,
    /// The catalogue section's heading, e.g. `E. State / CSRF / mix-up`.
    pub section: String,
}

/// One scenario as it ran, with what it sent and the rules it checks.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioReport {
    /// The feature's name.
    pub feature: String,
    /// The scenario's name.
    pub scenario: String,
    /// The feature file, relative to the workspace, if known.
    pub file: Option<String>,
    /// The scenario's line in the file.
    pub line: usize,
    /// The scenario's tags, with or without the `@`.
    pub tags: Vec<String>,
    /// How it went.
    pub outcome: Outcome,
    /// Its steps, in order.
    pub steps: Vec<StepReport>,
    /// What went over the wire, in order ([`crate::trace::Trace::exchanges`]).
    pub exchanges: Vec<Exchange>,
    /// How many exchanges the trace did not keep.
    pub dropped_exchanges: usize,
    /// The catalogue rows whose IDs are among the tags ([`rules_for`]).
    pub rules: Vec<Rule>,
    /// The scenario never used the backend: the mock provider checking itself.
    pub provider_only: bool,
}

/// Markdown cell text as plain text: no backticks, no bold or italic markers, `\|` unescaped, spaces
/// collapsed.
fn plain(cell: &str) -> String {
    let text = cell
        .replace("\\|", "|")
        .replace("**", "")
        .replace('`', "")
        .replace("<br>", " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The cells of a table row, split on `|` but not on `\|`.
fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push_str("\\|");
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// `true` for a check ID such as `AZ-ISS` (not a header `ID` or a separator `---`).
fn is_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_uppercase())
        && id.contains('-')
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// Parses docs/CONFORMANCE.md's table rows (`| ID | Side | Level | Expected behaviour | Source | Scenario
/// title |`; the columns are found by the table's header, and a table without a Level column counts its
/// rows as MUST) into rules; the ★ of an ID becomes [`Rule::starred`], and the cells become plain text.
pub fn parse_catalogue(markdown: &str) -> Vec<Rule> {
    const DEFAULT: [&str; 5] = [
        "Side",
        "Expected behaviour",
        "Source",
        "Scenario title",
        "Level",
    ];
    let mut section = String::new();
    let mut rules = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = plain(heading);
            continue;
        }
        if !line.trim_start().starts_with('|') {
            continue;
        }
        let cells = cells(line);
        let Some(first) = cells.first() else {
            continue;
        };
        let first = plain(first);
        if first == "ID" {
            columns = cells.iter().map(|c| plain(c)).collect();
            continue;
        }
        let (starred, id) = match first.strip_prefix('★') {
            Some(id) => (true, id.trim().to_owned()),
            None => (false, first),
        };
        if !is_id(&id) {
            continue;
        }
        let column = |name: &str| -> String {
            let at = if columns.is_empty() {
                // The catalogue before it had a Level column.
                DEFAULT
                    .iter()
                    .position(|n| *n == name)
                    .map(|i| i + 1)
                    .filter(|i| *i < 5)
            } else {
                columns.iter().position(|c| c == name)
            };
            at.and_then(|i| cells.get(i))
                .map(|c| plain(c))
                .unwrap_or_default()
        };
        let expected = column("Expected behaviour");
        let applies_when = expected
            .strip_prefix("Applies when")
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, rest)| {
                rest.split_once(". ")
                    .map_or(rest, |(c, _)| c)
                    .trim()
                    .to_owned()
            });
        let level_cell = column("Level");
        rules.push(Rule {
            id,
            side: column("Side"),
            level: Level::from_cell(&level_cell),
            level_cell,
            applies_when,
            expected,
            source: column("Source"),
            title: column("Scenario title"),
            starred,
            section: section.clone(),
        });
    }
    rules
}

/// The level a scenario with these tags fails at: that of its first tag that is a catalogue row (the row
/// it judges), else MUST.
pub fn level_of(catalogue: &[Rule], tags: &[String]) -> Level {
    judged_row(catalogue, tags).map_or(Level::Must, |r| r.level)
}

/// The row a scenario with these tags judges: its first tag that is a catalogue row.
pub fn judged_row<'a>(catalogue: &'a [Rule], tags: &[String]) -> Option<&'a Rule> {
    tags.iter()
        .map(|t| t.trim().trim_start_matches('@'))
        .find_map(|t| catalogue.iter().find(|r| r.id == t))
}

/// The rules whose IDs are among `tags` (with or without the `@`), in the order of the tags, each once.
pub fn rules_for(catalogue: &[Rule], tags: &[String]) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    for tag in tags {
        let tag = tag.trim().trim_start_matches('@');
        if rules.iter().any(|r| r.id == tag) {
            continue;
        }
        if let Some(rule) = catalogue.iter().find(|r| r.id == tag) {
            rules.push(rule.clone());
        }
    }
    rules
}

/// The page template; its name ends in `.html`, so minijinja escapes every value.
const TEMPLATE: &str = include_str!("report.html");

/// A tag as the page shows it: linked to its rule's text when it is a catalogue ID.
#[derive(Serialize)]
struct TagView<'a> {
    name: &'a str,
    rule: Option<&'a Rule>,
}

#[derive(Serialize)]
struct StepView<'a> {
    keyword: &'a str,
    text: &'a str,
    /// `passed`, `failed`, `skipped`, `not-run`.
    class: &'static str,
    /// The error message or the skip reason.
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct ScenarioView<'a> {
    anchor: String,
    feature: &'a str,
    scenario: &'a str,
    location: Option<String>,
    /// `passed`, `failed`, `warned`, `not-applicable`, `skipped`.
    outcome: &'static str,
    /// `pass`, `fail (MUST)`, …
    label: String,
    /// Why it was skipped or does not apply.
    reason: Option<&'a str>,
    /// The mock provider checking itself.
    provider_only: bool,
    tags: Vec<TagView<'a>>,
    steps: Vec<StepView<'a>>,
    rules: &'a [Rule],
    exchanges: usize,
    svg: Value,
}

fn outcome_class(outcome: &Outcome) -> &'static str {
    outcome.class()
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a time since the epoch.
fn utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// One self-contained HTML file of the run: `title`, the `target` (e.g. "reference-client at
/// http://127.0.0.1:3000"), the time, the totals, and every scenario, failed ones first.
pub fn render(title: &str, target: &str, scenarios: &[ScenarioReport]) -> anyhow::Result<String> {
    render_at(title, target, SystemTime::now(), scenarios)
}

/// [`render`] with the report's time given, for a reproducible page.
pub fn render_at(
    title: &str,
    target: &str,
    generated: SystemTime,
    scenarios: &[ScenarioReport],
) -> anyhow::Result<String> {
    let count = |o: &str| {
        scenarios
            .iter()
            .filter(|s| outcome_class(&s.outcome) == o)
            .count()
    };
    let (passed, failed, skipped) = (count("passed"), count("failed"), count("skipped"));
    let (warned, not_applicable) = (count("warned"), count("not-applicable"));
    let provider_only = scenarios.iter().filter(|s| s.provider_only).count();
    let tally = crate::outcome::Tally::of(scenarios.iter().map(|s| &s.outcome));

    // Failed first; otherwise the run's order.
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by_key(|&i| !matches!(scenarios[i].outcome, Outcome::Failed(_)));

    let mut cited: BTreeMap<&str, &Rule> = BTreeMap::new();
    let views: Vec<ScenarioView<'_>> = order
        .iter()
        .map(|&i| {
            let s = &scenarios[i];
            for rule in &s.rules {
                cited.insert(&rule.id, rule);
            }
            ScenarioView {
                anchor: format!("s{i}"),
                feature: &s.feature,
                scenario: &s.scenario,
                location: s.file.as_ref().map(|f| format!("{f}:{}", s.line)),
                outcome: outcome_class(&s.outcome),
                label: s.outcome.label(),
                reason: s.outcome.reason(),
                provider_only: s.provider_only,
                tags: s
                    .tags
                    .iter()
                    .map(|t| {
                        let name = t.trim().trim_start_matches('@');
                        TagView {
                            name,
                            rule: s.rules.iter().find(|r| r.id == name),
                        }
                    })
                    .collect(),
                steps: s
                    .steps
                    .iter()
                    .map(|step| {
                        let (class, message) = match &step.outcome {
                            StepOutcome::Passed => ("passed", None),
                            StepOutcome::Failed(m) => ("failed", Some(m.as_str())),
                            StepOutcome::Skipped(r) => ("skipped", Some(r.as_str())),
                            StepOutcome::NotApplicable(r) => ("not-applicable", Some(r.as_str())),
                            StepOutcome::NotRun => ("not-run", None),
                        };
                        StepView {
                            keyword: &step.keyword,
                            text: &step.text,
                            class,
                            message,
                        }
                    })
                    .collect(),
                rules: &s.rules,
                exchanges: s.exchanges.len(),
                svg: Value::from_safe_string(diagram::render_svg(
                    &s.exchanges,
                    s.dropped_exchanges,
                )),
            }
        })
        .collect();

    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .context("the report template")?;
    let template = env
        .get_template("report.html")
        .context("the report template")?;
    let rules: Vec<&Rule> = cited.into_values().collect();
    template
        .render(minijinja::context! {
            title,
            target,
            generated => utc(generated),
            passed,
            failed,
            skipped,
            warned,
            not_applicable,
            failed_must => tally.failed_must,
            failed_should => tally.failed_should,
            failed_policy => tally.failed_policy,
            provider_only,
            total => scenarios.len(),
            scenarios => Value::from(Serde(&views)),
            rules => Value::from(Serde(&rules)),
            flow_steps => diagram::FLOW_STEPS.iter().map(|s| s.meaning).collect::<Vec<_>>(),
        })
        .context("rendering the report")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Lane;

    fn real_catalogue() -> Vec<Rule> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORMANCE.md");
        let text = std::fs::read_to_string(path).expect("docs/CONFORMANCE.md");
        parse_catalogue(&text)
    }

    fn exchange(from: Lane, to: Lane, method: &str, path: &str, status: u16) -> Exchange {
        Exchange {
            at_ms: 1,
            from,
            to,
            method: method.into(),
            path: path.into(),
            status,
            params: vec![("state".into(), "abc".into())],
            note: None,
        }
    }

    fn scenario(name: &str, outcome: Outcome, tags: &[&str], n_exchanges: usize) -> ScenarioReport {
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        let failed = matches!(outcome, Outcome::Failed(_));
        ScenarioReport {
            feature: "State".into(),
            scenario: name.into(),
            file: Some("features/state.feature".into()),
            line: 3,
            rules: rules_for(&real_catalogue(), &tags),
            tags,
            outcome,
            steps: vec![
                StepReport {
                    keyword: "Given".into(),
                    text: "alice has an account".into(),
                    outcome: StepOutcome::Passed,
                },
                StepReport {
                    keyword: "Then".into(),
                    text: "the backend refuses the callback".into(),
                    outcome: if failed {
                        StepOutcome::Failed("expected 400, got 200 <oops>".into())
                    } else {
                        StepOutcome::Passed
                    },
                },
            ],
            exchanges: (0..n_exchanges)
                .map(|i| {
                    exchange(
                        Lane::Frontend,
                        Lane::Backend,
                        "POST",
                        &format!("/api/{i}"),
                        200,
                    )
                })
                .collect(),
            dropped_exchanges: 0,
            provider_only: false,
        }
    }

    #[test]
    fn the_real_catalogue_has_rows_in_every_section_and_its_stars() {
        let rules = real_catalogue();
        for letter in 'A'..='J' {
            assert!(
                rules
                    .iter()
                    .any(|r| r.section.starts_with(&format!("{letter}."))),
                "no rule in section {letter}"
            );
        }
        let st = rules
            .iter()
            .find(|r| r.id == "ST-MISMATCH")
            .expect("ST-MISMATCH");
        assert!(st.starred);
        assert_eq!(st.side, "both");
        assert!(st.expected.contains("state"), "{st:?}");
        assert!(!st.expected.contains('`') && !st.source.contains('`'));
        assert!(st.source.contains("6749 §10.12"), "{st:?}");
        assert_eq!(st.title, "Tampered state is rejected");
        assert!(rules.iter().filter(|r| r.starred).count() >= 15);
        assert!(rules.iter().any(|r| !r.starred));
        assert!(rules.iter().all(|r| !r.id.contains('★') && is_id(&r.id)));
    }

    #[test]
    fn cells_split_on_unescaped_bars_only() {
        let rules = parse_catalogue(
            "## X. Test\n| ID | Side | Expected behaviour | Source | Scenario title |\n|---|---|---|---|---|\n| AB-CD | RP | a \\| b **bold** | `mod` | T |\n",
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].expected, "a | b bold");
        assert_eq!(rules[0].source, "mod");
        assert_eq!(rules[0].section, "X. Test");
        assert!(!rules[0].starred);
    }

    #[test]
    fn rules_for_picks_the_tagged_rows_once() {
        let catalogue = real_catalogue();
        let tags: Vec<String> = ["@ST-MISMATCH", "smoke", "CODE-REPLAY", "ST-MISMATCH"]
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        let ids: Vec<String> = rules_for(&catalogue, &tags)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["ST-MISMATCH", "CODE-REPLAY"]);
        assert!(rules_for(&catalogue, &["NOPE-X".to_owned()]).is_empty());
    }

    #[test]
    fn names_are_escaped() {
        let html = render(
            "<b>title</b>",
            "target & co",
            &[scenario(
                "<script>alert(1)</script>",
                Outcome::Failed(Level::Must),
                &["ST-MISMATCH"],
                1,
            )],
        )
        .expect("render");
        assert!(!html.contains("<script>alert(1)</script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "escaped");
        assert!(!html.contains("<b>title</b>") && !html.contains("<oops>"));
        assert!(html.contains("target &amp; co"));
    }

    #[test]
    fn totals_rule_boxes_and_one_arrow_per_exchange() {
        let scenarios = [
            scenario("passes", Outcome::Passed, &[], 6),
            scenario("fails", Outcome::Failed(Level::Must), &["ST-MISMATCH"], 3),
            scenario("skips", Outcome::Skipped("no hook".into()), &[], 0),
            scenario("passes too", Outcome::Passed, &["CODE-REPLAY"], 2),
        ];
        let html = render("Run", "reference-client", &scenarios).expect("render");
        assert!(
            html.contains(
                "2 passed, 1 failed (MUST 1, SHOULD 0, POLICY 0), 0 warned, 0 not applicable, 1 skipped"
            ),
            "totals"
        );
        assert_eq!(html.matches("<section class=\"scenario").count(), 4);
        assert_eq!(html.matches("<svg class=\"seq\"").count(), 4);
        assert_eq!(html.matches("<g class=\"ex").count(), 11);
        // The failed scenario comes first, open, with its broken rule.
        let first = html.find("<section class=\"scenario").expect("a scenario");
        assert!(html[first..].starts_with("<section class=\"scenario failed\""));
        assert_eq!(html.matches("class=\"broken\"").count(), 1);
        assert!(html.contains("Rule broken"));
        // Self-contained: no resource from elsewhere.
        for bad in [
            "src=\"http",
            "href=\"http",
            "src='http",
            "href='http",
            "@import",
            "url(",
        ] {
            assert!(!html.contains(bad), "{bad}");
        }
    }

    #[test]
    fn a_big_report_stays_small_and_fast() {
        let scenarios: Vec<ScenarioReport> = (0..150)
            .map(|i| {
                let outcome = if i % 10 == 0 {
                    Outcome::Failed(Level::Must)
                } else {
                    Outcome::Passed
                };
                scenario(&format!("scenario {i}"), outcome, &["ST-MISMATCH"], 20)
            })
            .collect();
        let started = std::time::Instant::now();
        let html = render("Run", "reference-client", &scenarios).expect("render");
        assert!(html.len() < 4_000_000, "{} bytes", html.len());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn utc_formats_a_known_time() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(utc(t), "2023-11-14 22:13:20 UTC");
    }
}
