//! `docs/STEPS.md` lists every step with what it does and an example from the features. This test
//! regenerates the list from the step attributes in `harness/src/steps/*.rs` and fails when the file is
//! stale. Update it with `UPDATE_STEPS=1 cargo test --workspace --test steps_doc`.

use std::{fmt::Write as _, path::Path};

use regex::Regex;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Step {
    keyword: String,
    expression: String,
    doc: String,
}

/// Step definitions of one file, in source order.
fn steps_of(source: &str) -> Vec<Step> {
    let attr = Regex::new(r#"^#\[(given|when|then)\(expr = "((?:[^"\\]|\\.)*)"\)\]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut doc = Vec::new();
    let mut steps = Vec::new();
    for line in source.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_owned());
        } else if let Some(c) = attr.captures(line) {
            steps.push(Step {
                keyword: c[1].to_owned(),
                expression: c[2].replace("\\\"", "\""),
                doc: doc.join(" "),
            });
            doc.clear();
        } else if !line.starts_with("#[") {
            doc.clear();
        }
    }
    steps
}

/// `{name}` → regex of the custom parameters in `parameters.rs`.
fn custom_parameters() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(format!("{ROOT}/src/parameters.rs"))
        .unwrap_or_else(|e| panic!("{e}"));
    let param = Regex::new(r#"#\[param\(\s*name = "(\w+)",\s*regex = "([^"]*)"\s*,?\s*\)\]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    param
        .captures_iter(&source)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

/// A cucumber expression as an anchored regex (enough of the syntax for these steps).
fn to_regex(expression: &str, custom: &[(String, String)]) -> Regex {
    let mut out = String::from("^");
    let mut rest = expression;
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let end = rest.find('}').unwrap_or(rest.len() - 1);
            let name = &rest[1..end];
            let re = match name {
                "string" => r#""[^"]*""#.to_owned(),
                "int" => r"-?\d+".to_owned(),
                "word" => r"[^\s]+".to_owned(),
                "float" => r"-?\d*\.?\d+".to_owned(),
                other => custom
                    .iter()
                    .find(|(n, _)| n == other)
                    .map(|(_, r)| format!("(?:{r})"))
                    .unwrap_or_else(|| ".*".to_owned()),
            };
            out.push_str(&re);
            rest = &rest[end + 1..];
        } else if c == '(' {
            let end = rest.find(')').unwrap_or(rest.len() - 1);
            out.push_str(&format!("(?:{})?", regex::escape(&rest[1..end])));
            rest = &rest[end + 1..];
        } else {
            // `a/an`: an alternation of words.
            let word_end = rest.find([' ', '{', '(']).unwrap_or(rest.len());
            let word = &rest[..word_end];
            if word.contains('/') && !word.starts_with('/') {
                let alts: Vec<String> = word.split('/').map(regex::escape).collect();
                out.push_str(&format!("(?:{})", alts.join("|")));
                rest = &rest[word_end..];
            } else {
                out.push_str(&regex::escape(&c.to_string()));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.push('$');
    Regex::new(&out).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

/// Every step line of the features as (file, text without keyword), outlines filled from their first row.
fn feature_lines() -> Vec<(String, String)> {
    let dir = Path::new(ROOT).join("features");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "feature"))
        .collect();
    files.sort();
    let keywords = ["Given ", "When ", "Then ", "And ", "But ", "* "];
    let mut lines = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let all: Vec<&str> = text.lines().map(str::trim).collect();
        let mut outline: Vec<String> = Vec::new();
        for (i, line) in all.iter().enumerate() {
            if line.starts_with("Scenario") || line.starts_with("Background") {
                outline.clear();
            }
            if line.starts_with("Examples:") {
                // Header and first row of the table.
                let row = |j: usize| -> Vec<String> {
                    all.get(j)
                        .map(|l| {
                            l.trim_matches('|')
                                .split('|')
                                .map(|c| c.trim().to_owned())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let (header, first) = (row(i + 1), row(i + 2));
                for step in outline.drain(..) {
                    let mut filled = step;
                    for (h, v) in header.iter().zip(&first) {
                        filled = filled.replace(&format!("<{h}>"), v);
                    }
                    lines.push((name.clone(), filled));
                }
            }
            if let Some(k) = keywords.iter().find(|k| line.starts_with(*k)) {
                let step = line[k.len()..].to_owned();
                if step.contains('<') {
                    outline.push(step);
                } else {
                    lines.push((name.clone(), step));
                }
            }
        }
    }
    lines
}

fn generate() -> String {
    let custom = custom_parameters();
    let usages = feature_lines();
    let mut files: Vec<_> = std::fs::read_dir(format!("{ROOT}/src/steps"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    files.sort();
    let mut out = String::from(
        "# Steps\n\n\
         Every Gherkin step the harness defines, with an example from `features/`. Generated from the step \
         attributes in `harness/src/steps/*.rs` by `harness/tests/steps_doc.rs`; do not edit by hand. After \
         changing a step, run `UPDATE_STEPS=1 cargo test --workspace --test steps_doc`.\n\n\
         Parameters: `{string}` is text in double quotes, `{int}` a whole number, `{word}` one word; \
         `a/an` means either word; `(s)` is optional.",
    );
    for (name, regex) in &custom {
        let _ = write!(
            out,
            " `{{{name}}}` is one of: {}.",
            regex.replace('|', ", ")
        );
    }
    out.push('\n');
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        let title = source
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let stem = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = write!(out, "\n## {stem}\n\n{title}\n\n");
        for step in steps_of(&source) {
            let re = to_regex(&step.expression, &custom);
            let keyword = format!("{}{}", step.keyword[..1].to_uppercase(), &step.keyword[1..]);
            let example = usages
                .iter()
                .find(|(_, l)| re.is_match(l))
                .map(|(f, l)| format!("`{keyword} {l}` ({f})"))
                .unwrap_or_else(|| "no feature uses it yet".to_owned());
            let _ = write!(
                out,
                "- **{keyword}** `{}`  \n  {}  \n  Example: {example}\n",
                step.expression, step.doc
            );
        }
    }
    out
}

#[test]
fn every_step_has_a_doc_comment() {
    for file in std::fs::read_dir(format!("{ROOT}/src/steps")).unwrap_or_else(|e| panic!("{e}")) {
        let path = file.map(|f| f.path()).unwrap_or_default();
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        for step in steps_of(&source) {
            assert!(
                !step.doc.is_empty(),
                "{}: step `{}` has no /// comment",
                path.display(),
                step.expression
            );
        }
    }
}

#[test]
fn docs_steps_md_is_up_to_date() {
    let path = format!("{ROOT}/docs/STEPS.md");
    let expected = generate();
    if std::env::var_os("UPDATE_STEPS").is_some() {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == expected,
        "docs/STEPS.md is out of date with harness/src/steps/*.rs; regenerate it with\n\
         UPDATE_STEPS=1 cargo test --workspace --test steps_doc"
    );
}
