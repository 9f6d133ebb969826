//! Every check of docs/CONFORMANCE.md has at least one scenario tagged with its ID.

use std::{collections::BTreeSet, path::Path};

/// (section letter, ID, starred) for every row of the catalogue.
fn catalogue() -> Vec<(char, String, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORMANCE.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut section = ' ';
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            // "## A. Authorization endpoint"
            section = rest
                .split_once('.')
                .filter(|(letter, _)| letter.len() == 1)
                .and_then(|(letter, _)| letter.chars().next())
                .unwrap_or(' ');
            continue;
        }
        let Some(first) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        let cell = first.trim();
        let (starred, id) = match cell.strip_prefix('★') {
            Some(id) => (true, id.trim()),
            None => (false, cell),
        };
        // "AZ-ISS"; not a header ("ID") or a separator ("---").
        let is_id = id.starts_with(|c: char| c.is_ascii_uppercase())
            && id.contains('-')
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if is_id {
            rows.push((section, id.to_owned(), starred));
        }
    }
    rows
}

/// Every `@TAG` in the feature files.
fn feature_tags() -> BTreeSet<String> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"));
    let mut tags = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "feature") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for line in text.lines().map(str::trim).filter(|l| l.starts_with('@')) {
                    for tag in line.split_whitespace() {
                        tags.insert(tag.trim_start_matches('@').to_owned());
                    }
                }
            }
        }
    }
    tags
}

#[test]
fn the_catalogue_parses_into_its_starred_checks() {
    let starred = catalogue().into_iter().filter(|(_, _, s)| *s).count();
    assert!(
        starred >= 15,
        "only {starred} ★ rows found in docs/CONFORMANCE.md"
    );
}

#[test]
fn the_catalogue_has_its_sections() {
    let sections: BTreeSet<char> = catalogue().into_iter().map(|(s, _, _)| s).collect();
    for letter in 'A'..='M' {
        assert!(
            sections.contains(&letter),
            "no rows found in section {letter} of docs/CONFORMANCE.md"
        );
    }
}

/// Rows the shared catalogue gained for open issues whose scenarios do not exist yet: issue 21 (the OpenID
/// Foundation RP modules) and issue 24 (the Microsoft, Apple and Google personas). Each leaves this list
/// with its first scenario; a row here that has a scenario fails the test below, so the list only shrinks.
const AWAITING_SCENARIOS: &[&str] = &[
    // None: issue 21's and issue 24's rows all have scenarios.
];

#[test]
fn a_row_awaiting_its_scenario_leaves_the_list_once_it_has_one() {
    let tags = feature_tags();
    let covered: Vec<&str> = AWAITING_SCENARIOS
        .iter()
        .copied()
        .filter(|id| tags.contains(*id))
        .collect();
    assert!(
        covered.is_empty(),
        "these rows have scenarios now: take them out of AWAITING_SCENARIOS: {covered:?}"
    );
}

#[test]
fn every_check_has_a_scenario() {
    let tags = feature_tags();
    let missing: Vec<String> = catalogue()
        .into_iter()
        .filter(|(_, id, _)| !tags.contains(id) && !AWAITING_SCENARIOS.contains(&id.as_str()))
        .map(|(section, id, starred)| format!("{section}: {}{id}", if starred { "★" } else { "" }))
        .collect();
    assert!(
        missing.is_empty(),
        "no scenario is tagged with these checks of docs/CONFORMANCE.md: {missing:?}"
    );
}

#[test]
fn every_catalogue_tag_names_a_real_check() {
    let ids: BTreeSet<String> = catalogue().into_iter().map(|(_, id, _)| id).collect();
    let unknown: Vec<String> = feature_tags()
        .into_iter()
        .filter(|t| t.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .filter(|t| !ids.contains(t))
        .collect();
    assert!(
        unknown.is_empty(),
        "these upper-case tags are not IDs of docs/CONFORMANCE.md: {unknown:?}"
    );
}

/// The catalogue's text between `heading` and the next `## ` heading.
fn catalogue_section(heading: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORMANCE.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("docs/CONFORMANCE.md has no `{heading}`"));
    let rest = &text[start + heading.len()..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

/// The cells of a table row (`| a | b |` → `["a", "b"]`); `None` for other lines and separators.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_owned()).collect();
    (!cells[0].starts_with("---")).then_some(cells)
}

/// The OpenID Foundation module names in a cell: `` `oidcc-client-test-x`, `-y` `` names
/// `oidcc-client-test-x` and `oidcc-client-test-y`.
fn module_names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|name| match name.strip_prefix('-') {
            Some(rest) => format!("oidcc-client-test-{rest}"),
            None => name.to_owned(),
        })
        .collect()
}

/// The scenarios of the feature files: (file name, scenario name, its tags).
fn scenarios() -> Vec<(String, String, BTreeSet<String>)> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        if path.extension().is_none_or(|e| e != "feature") {
            continue;
        }
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut tags = BTreeSet::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('@') {
                tags.extend(
                    line.split_whitespace()
                        .map(|t| t.trim_start_matches('@').to_owned()),
                );
            } else if let Some(name) = line
                .strip_prefix("Scenario Outline:")
                .or_else(|| line.strip_prefix("Scenario:"))
            {
                found.push((
                    file.clone(),
                    name.trim().to_owned(),
                    std::mem::take(&mut tags),
                ));
            } else if !line.is_empty() && !line.starts_with('#') {
                tags.clear();
            }
        }
    }
    found
}

/// The module table of docs/CONFORMANCE.md: every OpenID Foundation RP test module in scope names the rows
/// that judge it and a scenario that exists, in that file, tagged with one of them; every module out of
/// scope says why; every `oidcc-client-test…` module a catalogue row cites is in one of the two tables.
#[test]
fn every_openid_foundation_rp_module_has_its_scenario_or_a_reason() {
    let section = catalogue_section("## OpenID Foundation RP test modules");
    let ids: BTreeSet<String> = catalogue().into_iter().map(|(_, id, _)| id).collect();
    let scenarios = scenarios();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    let mut in_scope = 0;
    for cells in section.lines().filter_map(table_cells) {
        if cells[0] == "Module" {
            continue;
        }
        listed.extend(module_names(&cells[0]));
        match cells.as_slice() {
            [module, _plans, rows, scenario] => {
                in_scope += 1;
                let rows: Vec<&str> = rows
                    .split(',')
                    .map(str::trim)
                    .filter(|r| *r != "—")
                    .collect();
                for row in rows.iter().filter(|r| !ids.contains(**r)) {
                    problems.push(format!("{module}: `{row}` is not a catalogue row"));
                }
                let Some((file, name)) = scenario.split_once(": ") else {
                    problems.push(format!(
                        "{module}: no `file.feature: scenario` in `{scenario}`"
                    ));
                    continue;
                };
                let matching = scenarios.iter().find(|(f, n, tags)| {
                    f == file
                        && n == name
                        && (rows.is_empty() || rows.iter().any(|r| tags.contains(*r)))
                });
                if matching.is_none() {
                    problems.push(format!(
                        "{module}: {file} has no scenario `{name}` tagged with one of {rows:?}"
                    ));
                }
            }
            [module, _plans, why] if why.len() < 20 => {
                problems.push(format!("{module}: out of scope without a reason"));
            }
            [_, _, _] => {}
            other => problems.push(format!("a row of {} cells: {other:?}", other.len())),
        }
    }
    assert!(in_scope >= 40, "only {in_scope} in-scope modules parsed");

    // Modules the catalogue's rows cite, abbreviations (`-x` after a full name) matched by their ending.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORMANCE.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let rows = text.lines().filter(|l| {
        table_cells(l).is_some_and(|c| {
            let id = c[0].trim_start_matches('★');
            ids.contains(id)
        })
    });
    for row in rows {
        let mut last_full = String::new();
        for token in row.split('`').skip(1).step_by(2) {
            for (i, part) in token.split('/').enumerate() {
                if i == 0 && !part.starts_with('-') {
                    last_full = part.to_owned();
                    if part.starts_with("oidcc-client-test") && !listed.contains(part) {
                        problems.push(format!(
                            "a row cites `{part}`, which the module table lacks"
                        ));
                    }
                } else if part.starts_with('-')
                    && last_full.starts_with("oidcc-client-test")
                    && !listed.iter().any(|m| m.ends_with(part))
                {
                    problems.push(format!(
                        "a row cites `{part}` (after `{last_full}`), which the module table lacks"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/CONFORMANCE.md module table: {problems:#?}"
    );
}
