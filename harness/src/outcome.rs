//! The result model, once for the runner, the closing line, JUnit and the HTML report: what a step and a
//! scenario came to, and at which level a broken check counts (docs/CONFORMANCE.md, "Level" and
//! "Outcomes in a report").
//!
//! A scenario judges the catalogue row of its **first** catalogue tag (its other tags name rows it also
//! touches, such as JWT-LAST on every refusal); that row's level is the level of its failure. A row with
//! two levels and their conditions (`MUST (http) / POLICY (https)`) takes the one whose condition holds
//! for the run: the runner serves the provider over plain http to a backend of one OpenID provider.

use std::{fmt, str::FromStr};

use anyhow::bail;
use serde::Serialize;

/// What a broken check counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// The cited specification requires the behaviour.
    Must,
    /// The specification recommends it, or the Security BCP requires it.
    Should,
    /// Our stricter choice where the specification allows more.
    Policy,
}

impl Level {
    /// `MUST`, `SHOULD`, `POLICY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Policy => "POLICY",
        }
    }

    /// The level a catalogue cell gives (`MUST`, `SHOULD (several providers) / POLICY (one provider)`,
    /// `MUST (http) / POLICY (https)`) for a run whose provider is plain http and one of its kind: the
    /// part whose condition holds, else the first part, else MUST.
    pub fn from_cell(cell: &str) -> Level {
        let parts: Vec<(Option<Level>, String)> = cell
            .split(" / ")
            .map(|part| {
                let word = part.split_whitespace().next().unwrap_or("");
                let condition = part
                    .split_once('(')
                    .map(|(_, c)| c.trim_end_matches(')').trim().to_ascii_lowercase())
                    .unwrap_or_default();
                (word.parse().ok(), condition)
            })
            .collect();
        let holds = |c: &str| matches!(c, "http" | "one provider");
        parts
            .iter()
            .find(|(_, c)| holds(c))
            .or_else(|| parts.first())
            .and_then(|(l, _)| *l)
            .unwrap_or(Level::Must)
    }
}

impl FromStr for Level {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Level> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MUST" => Ok(Level::Must),
            "SHOULD" => Ok(Level::Should),
            "POLICY" => Ok(Level::Policy),
            other => bail!("unknown level {other:?} (MUST, SHOULD or POLICY)"),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StepOutcome {
    /// It passed.
    Passed,
    /// It failed, with this message.
    Failed(String),
    /// The run cannot check the scenario against this target, for this reason (a hook it does not give…).
    Skipped(String),
    /// The scenario's row does not apply to this target, for this reason (no `state` was sent…).
    NotApplicable(String),
    /// An earlier step failed or was skipped, so it did not run.
    NotRun,
}

/// What one scenario came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The check ran and held.
    Passed,
    /// The check ran and broke; it counts at this level.
    Failed(Level),
    /// A SHOULD or POLICY check broke in a run told to treat that level as advisory.
    Warned(Level),
    /// The row's "Applies when" is false for this target: neither a pass nor a failure.
    NotApplicable(String),
    /// The row applies, but the run could not check it.
    Skipped(String),
}

impl Outcome {
    /// From the steps as they ran: a failed step fails the scenario at `level` (or warns, when that level
    /// is `advisory` and not MUST); otherwise a step that does not apply, then one that cannot be checked,
    /// decides; otherwise it passed.
    pub fn of_steps(steps: &[StepOutcome], level: Level, advisory: &[Level]) -> Outcome {
        if steps.iter().any(|s| matches!(s, StepOutcome::Failed(_))) {
            return if level != Level::Must && advisory.contains(&level) {
                Outcome::Warned(level)
            } else {
                Outcome::Failed(level)
            };
        }
        if let Some(reason) = steps.iter().find_map(|s| match s {
            StepOutcome::NotApplicable(r) => Some(r.clone()),
            _ => None,
        }) {
            return Outcome::NotApplicable(reason);
        }
        if let Some(reason) = steps.iter().find_map(|s| match s {
            StepOutcome::Skipped(r) => Some(r.clone()),
            _ => None,
        }) {
            return Outcome::Skipped(reason);
        }
        Outcome::Passed
    }

    /// `passed`, `failed`, `warned`, `not-applicable`, `skipped`: the report's CSS class and filter.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed(_) => "failed",
            Outcome::Warned(_) => "warned",
            Outcome::NotApplicable(_) => "not-applicable",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// How a report shows it: `pass`, `fail (MUST)`, `warn (SHOULD)`, `not applicable`, `skip`.
    pub fn label(&self) -> String {
        match self {
            Outcome::Passed => "pass".into(),
            Outcome::Failed(l) => format!("fail ({l})"),
            Outcome::Warned(l) => format!("warn ({l})"),
            Outcome::NotApplicable(_) => "not applicable".into(),
            Outcome::Skipped(_) => "skip".into(),
        }
    }

    /// The reason of a skip or of a row that does not apply.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::NotApplicable(r) | Outcome::Skipped(r) => Some(r),
            _ => None,
        }
    }
}

/// The five outcomes counted, with failures by level: the closing line, JUnit and the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Passed.
    pub passed: usize,
    /// Failed at MUST.
    pub failed_must: usize,
    /// Failed at SHOULD.
    pub failed_should: usize,
    /// Failed at POLICY.
    pub failed_policy: usize,
    /// Warned.
    pub warned: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Skipped.
    pub skipped: usize,
}

impl Tally {
    /// Counts `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            match o {
                Outcome::Passed => t.passed += 1,
                Outcome::Failed(Level::Must) => t.failed_must += 1,
                Outcome::Failed(Level::Should) => t.failed_should += 1,
                Outcome::Failed(Level::Policy) => t.failed_policy += 1,
                Outcome::Warned(_) => t.warned += 1,
                Outcome::NotApplicable(_) => t.not_applicable += 1,
                Outcome::Skipped(_) => t.skipped += 1,
            }
        }
        t
    }

    /// Failures at every level.
    pub fn failed(&self) -> usize {
        self.failed_must + self.failed_should + self.failed_policy
    }

    /// `12 passed, 3 failed (MUST 1, SHOULD 2, POLICY 0), 0 warned, 4 not applicable, 5 skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed (MUST {}, SHOULD {}, POLICY {}), {} warned, {} not applicable, {} skipped",
            self.passed,
            self.failed(),
            self.failed_must,
            self.failed_should,
            self.failed_policy,
            self.warned,
            self.not_applicable,
            self.skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_level_cell_takes_the_level_whose_condition_holds_for_a_plain_http_run() {
        assert_eq!(
            Level::from_cell("MUST (http) / POLICY (https)"),
            Level::Must
        );
        assert_eq!(
            Level::from_cell("SHOULD (several providers) / POLICY (one provider)"),
            Level::Policy
        );
        assert_eq!(Level::from_cell("SHOULD"), Level::Should);
        assert_eq!(Level::from_cell(""), Level::Must);
    }

    #[test]
    fn a_failure_at_an_advisory_level_warns_but_a_must_failure_never_does() {
        let failed = [StepOutcome::Passed, StepOutcome::Failed("x".into())];
        let advisory = [Level::Should, Level::Policy];
        assert_eq!(
            Outcome::of_steps(&failed, Level::Should, &advisory),
            Outcome::Warned(Level::Should)
        );
        assert_eq!(
            Outcome::of_steps(&failed, Level::Must, &advisory),
            Outcome::Failed(Level::Must)
        );
        assert_eq!(
            Outcome::of_steps(&failed, Level::Policy, &[]),
            Outcome::Failed(Level::Policy)
        );
    }

    #[test]
    fn not_applicable_outranks_skipped_and_neither_is_a_pass() {
        let steps = [
            StepOutcome::Skipped("hook".into()),
            StepOutcome::NotApplicable("no state".into()),
        ];
        assert_eq!(
            Outcome::of_steps(&steps, Level::Must, &[]),
            Outcome::NotApplicable("no state".into())
        );
        let tally = Tally::of(&[
            Outcome::Passed,
            Outcome::Failed(Level::Must),
            Outcome::Failed(Level::Should),
            Outcome::Skipped("x".into()),
        ]);
        assert_eq!(
            tally.line(),
            "1 passed, 2 failed (MUST 1, SHOULD 1, POLICY 0), 0 warned, 0 not applicable, 1 skipped"
        );
    }
}
