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
    // Issue 21.
    "RF-HAPPY",
    "ID-JWKS-URI-MOVED",
    "RF-ID-TOKEN",
    "RS-USERINFO-JWT",
    // Issue 24.
    "ENTRA-ISSUER",
    "ENTRA-TENANT",
    "ENTRA-IDENTITY-KEY",
    "ENTRA-V1-ISSUER",
    "APPLE-CLIENT-SECRET",
    "APPLE-FORM-POST",
    "APPLE-USER-BLOB",
    "APPLE-BOOL-STRINGS",
    "APPLE-RELAY-EMAIL",
    "GOOGLE-ISS",
    "GOOGLE-HD",
    "GOOGLE-AZP",
    "GOOGLE-SUB-KEY",
    "GOOGLE-REFRESH",
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
