//! JUnit XML of a run, written from the one result model ([`crate::runner::Report`]) so it holds every
//! scenario the run selected, skipped and not-applicable ones included, with the same outcome the closing
//! line and the HTML report give.
//!
//! One `<testsuite>` per feature; each scenario is a `<testcase>` whose `classname` is its feature and whose
//! `name` is its scenario (the rows of an Examples table, which may share a name, get their line). A failure
//! is a `<failure type="MUST|SHOULD|POLICY">` with the first failing step's message, cut short; a skip and a
//! row that does not apply are `<skipped>` with their reason; a warning passes and says so in
//! `<system-out>`.

use std::collections::BTreeMap;

use quick_xml::escape::escape;

use crate::{
    outcome::{Outcome, StepOutcome},
    runner::{Report, ScenarioResult},
};

/// How much of a failure message the file keeps: CI systems show it inline.
const MESSAGE_CHARS: usize = 600;

fn cut(message: &str) -> String {
    let mut text: String = message.chars().take(MESSAGE_CHARS).collect();
    if message.chars().count() > MESSAGE_CHARS {
        text.push_str(" …");
    }
    text
}

fn failure_message(s: &ScenarioResult) -> String {
    let message = s
        .steps
        .iter()
        .find_map(|st| match &st.outcome {
            StepOutcome::Failed(m) => Some(format!("{} {}: {m}", st.keyword, st.text)),
            _ => None,
        })
        .unwrap_or_default();
    let rule = s
        .rule
        .clone()
        .or_else(|| s.tags.first().cloned())
        .unwrap_or_default();
    cut(&format!("{} {rule}: {message}", s.outcome.label()))
}

/// The JUnit XML of `report`, its outermost element named `name`.
pub fn render(report: &Report, name: &str) -> String {
    let mut features: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &report.scenarios {
        features.entry(&s.feature).or_default().push(s);
    }
    let tally = report.tally();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
        escape(name),
        report.scenarios.len(),
        tally.failed(),
        tally.skipped + tally.not_applicable
    ));
    for (feature, mut scenarios) in features {
        scenarios.sort_by_key(|s| s.line);
        let failures = scenarios.iter().filter(|s| s.failed()).count();
        let skipped = scenarios.iter().filter(|s| s.skipped().is_some()).count();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            escape(feature),
            scenarios.len()
        ));
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &scenarios {
            *seen.entry(&s.scenario).or_default() += 1;
        }
        for s in scenarios {
            let name = if seen.get(s.scenario.as_str()).copied().unwrap_or(0) > 1 {
                format!("{} (line {})", s.scenario, s.line)
            } else {
                s.scenario.clone()
            };
            let file = s
                .file
                .as_ref()
                .map(|f| format!(" file=\"{}:{}\"", escape(f.display().to_string()), s.line))
                .unwrap_or_default();
            // The mock provider checking itself is told apart from checks of the backend.
            let classname = if s.provider_only {
                format!("provider self-check: {feature}")
            } else {
                feature.to_owned()
            };
            xml.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"{file}",
                escape(&classname),
                escape(&name)
            ));
            match &s.outcome {
                Outcome::Passed => xml.push_str("/>\n"),
                Outcome::Failed(level) => {
                    let message = failure_message(s);
                    xml.push_str(&format!(
                        ">\n      <failure type=\"{level}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                        escape(&message),
                        escape(&message)
                    ));
                }
                Outcome::Warned(_) => {
                    xml.push_str(&format!(
                        ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                        escape(failure_message(s))
                    ));
                }
                Outcome::NotApplicable(reason) | Outcome::Skipped(reason) => {
                    let message = format!("{}: {}", s.outcome.label(), cut(reason));
                    xml.push_str(&format!(
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(&message)
                    ));
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{outcome::Level, runner::StepResult};

    fn scenario(name: &str, line: usize, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            feature: "State <&>".into(),
            scenario: name.into(),
            file: Some("/abs/features/state.feature".into()),
            line,
            tags: vec!["ST-MISMATCH".into()],
            rule: None,
            provider_only: false,
            steps: vec![StepResult {
                keyword: "Then".into(),
                text: "the backend refuses".into(),
                check: true,
                outcome: match &outcome {
                    Outcome::Failed(_) => StepOutcome::Failed("got 200 \"ok\"".into()),
                    _ => StepOutcome::Passed,
                },
            }],
            outcome,
        }
    }

    #[test]
    fn every_scenario_is_a_testcase_with_its_feature_as_classname_and_examples_stay_apart() {
        let report = Report {
            scenarios: vec![
                scenario("Outline row", 10, Outcome::Passed),
                scenario("Outline row", 11, Outcome::Failed(Level::Should)),
                scenario(
                    "Needs a hook",
                    20,
                    Outcome::Skipped("needs `[hooks] seed_user`".into()),
                ),
                scenario(
                    "No state",
                    30,
                    Outcome::NotApplicable("no state sent".into()),
                ),
            ],
            ..Report::default()
        };
        let xml = render(&report, "conform");
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("classname=\"State &lt;&amp;&gt;\"").count(), 4);
        assert!(xml.contains("name=\"Outline row (line 10)\""));
        assert!(xml.contains("name=\"Outline row (line 11)\""));
        assert!(xml.contains("<failure type=\"SHOULD\" message=\"fail (SHOULD) ST-MISMATCH: Then the backend refuses: got 200 &quot;ok&quot;\""));
        assert_eq!(xml.matches("<skipped ").count(), 2);
        assert!(xml.contains("file=\"/abs/features/state.feature:20\""));
        assert!(xml.contains("tests=\"4\" failures=\"1\" skipped=\"2\""));
    }

    #[test]
    fn a_long_failure_message_is_cut() {
        let mut s = scenario("Long", 1, Outcome::Failed(Level::Must));
        s.steps[0].outcome = StepOutcome::Failed("x".repeat(10_000));
        let xml = render(
            &Report {
                scenarios: vec![s],
                ..Report::default()
            },
            "run",
        );
        assert!(xml.len() < 3_000, "{} bytes", xml.len());
    }
}
