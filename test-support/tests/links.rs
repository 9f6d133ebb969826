//! Every relative link and image in the READMEs and the docs pages points at a file that exists, and every
//! `#anchor` at a heading of its file, so moving a section cannot leave a dead link behind. Links to other
//! sites are not fetched. Standard library only: this builds in moments.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The workspace root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The pages a reader follows links from: the READMEs that GitHub and crates.io show, and the docs pages.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = [
        "README.md",
        "mock-idp/README.md",
        "harness/README.md",
        "reference-client/README.md",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    for dir in ["docs", "mock-idp/docs", "harness/docs"] {
        let entries = fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    // `docs/` holds links to the crates' pages: check each file once, from where it really is, since its
    // relative links are relative to that.
    let real: BTreeSet<PathBuf> = pages
        .iter()
        .map(|p| fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    real.into_iter().collect()
}

/// The text of a line with its inline code spans blanked, so that `[a](b)` inside backticks is not a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + run];
        let after = &rest[start + run..];
        match after.find(fence) {
            Some(end) => rest = &after[end + run..],
            None => {
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The lines of a markdown file outside fenced code blocks, with their line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence {
            out.push((i + 1, line));
        }
    }
    out
}

/// Link targets on a line: what stands between `](` and the closing `)`, without a title.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut out = Vec::new();
    let mut rest = line.as_str();
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        out.push(target.trim_matches(['<', '>']).to_owned());
        rest = &after[end..];
    }
    out
}

/// GitHub's anchor for a heading: the rendered text in lower case, spaces as `-`, punctuation other than `-`
/// and `_` dropped.
fn slug(heading: &str) -> String {
    // Rendered text: code spans and emphasis lose their markers, links keep their text.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](") else {
            break;
        };
        let Some(close) = rest[open + mid..].find(')') else {
            break;
        };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..open + mid]);
        rest = &rest[open + mid + close + 1..];
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim());
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every broken relative link of these pages, as `file:line: target (why)`.
fn broken_links(pages: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    for page in pages {
        let text = fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let dir = page.parent().expect("a page is in a folder");
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let file = if path.is_empty() {
                    page.clone()
                } else {
                    dir.join(path)
                };
                let at = format!("{}:{n}: {target}", page.display());
                // `exists` follows symlinks, so a link into `docs/` must reach a real file.
                if !file.exists() {
                    problems.push(format!("{at} (no such file)"));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if file.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let target_text = fs::read_to_string(&file).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    problems.push(format!("{at} (no heading with this anchor)"));
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_of_the_readmes_and_docs_resolves() {
    let pages = pages(Path::new(ROOT));
    assert!(pages.len() >= 10, "found only {pages:#?}");
    let problems = broken_links(&pages);
    assert!(problems.is_empty(), "broken links: {problems:#?}");
}

#[test]
fn a_missing_file_and_a_missing_anchor_are_both_reported() {
    let dir = std::env::temp_dir().join(format!("links-test-{}", std::process::id()));
    fs::create_dir_all(dir.join("docs")).expect("temp folder");
    fs::write(
        dir.join("docs/page.md"),
        "# A page\n\n## Faults, the clock: and `more`\n\n## Faults, the clock: and `more`\n",
    )
    .expect("page");
    fs::write(
        dir.join("README.md"),
        "# Front door\n\
         [ok](docs/page.md) [ok](docs/page.md#faults-the-clock-and-more) \
         [ok](docs/page.md#faults-the-clock-and-more-1) ![ok](docs/page.md) [ok](#front-door) \
         [web](https://example.com/x.md) `[code](nowhere.md)`\n\
         [gone](docs/missing.md) [bad anchor](docs/page.md#no-such-heading)\n\
         ```\n[fenced](nowhere.md)\n```\n",
    )
    .expect("readme");
    let problems = broken_links(&[dir.join("README.md")]);
    fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].ends_with(":3: docs/missing.md (no such file)"));
    assert!(
        problems[1].ends_with(":3: docs/page.md#no-such-heading (no heading with this anchor)")
    );
}
