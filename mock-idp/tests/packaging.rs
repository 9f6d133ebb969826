//! What a project that adds `mock-idp` to its tests gets: the declared `rust-version` holds for every
//! dependency, the embeddable build (`default-features = false`) stays small, and the package holds only
//! what belongs. These read this workspace through cargo, so the file is left out of the published crate.

use std::{collections::BTreeSet, process::Command};

use serde_json::Value;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `1.89` or `1.89.0` as a comparable triple.
fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v
        .split('.')
        .map(|p| p.parse::<u64>().expect("numeric version part"));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn no_dependency_of_the_published_crates_needs_a_newer_rust_than_declared() {
    let metadata: Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--locked"]))
            .expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let by_id = |id: &str| {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .expect("resolved package is listed")
    };
    let nodes = metadata["resolve"]["nodes"].as_array().expect("nodes");
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).expect("node");
    let root = |name: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name && p["source"].is_null())
            .expect("workspace member")
    };
    let declared = root("mock-idp")["rust_version"]
        .as_str()
        .expect("mock-idp declares rust-version");

    // Everything a dependant builds: normal and build dependencies of mock-idp and harness, on every
    // platform, with the workspace's features.
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = ["mock-idp", "mock-idp-harness"]
        .iter()
        .map(|n| root(n)["id"].as_str().expect("id").to_owned())
        .collect();
    while let Some(id) = todo.pop() {
        for dep in node(&id)["deps"].as_array().expect("deps") {
            let not_dev = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"] != "dev");
            let dep_id = dep["pkg"].as_str().expect("pkg").to_owned();
            if not_dev && seen.insert(dep_id.clone()) {
                todo.push(dep_id);
            }
        }
    }
    assert!(seen.len() > 50, "the walk found the tree: {}", seen.len());
    let too_new: Vec<String> = seen
        .iter()
        .map(|id| by_id(id))
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(declared))
                .then(|| format!("{} {} needs {needs}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "rust-version = {declared}, but: {too_new:#?}"
    );
}

#[test]
fn the_embeddable_build_has_fewer_than_100_crates_and_none_of_the_cli() {
    let tree = cargo(&[
        "tree",
        "-p",
        "mock-idp",
        "-e",
        "normal",
        "--no-default-features",
        "--prefix",
        "none",
    ]);
    let crates: BTreeSet<&str> = tree
        .lines()
        .map(|l| l.split(" (").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with("mock-idp "))
        .collect();
    assert!(crates.len() < 100, "{} crates: {crates:#?}", crates.len());
    for cli_only in ["clap ", "tracing-subscriber ", "toml "] {
        assert!(
            !crates.iter().any(|c| c.starts_with(cli_only)),
            "{cli_only}is in the embeddable build"
        );
    }
}

#[test]
fn the_package_holds_the_sources_and_only_test_only_keys() {
    let list = cargo(&["package", "--list", "--allow-dirty", "-p", "mock-idp"]);
    let files: Vec<&str> = list.lines().collect();
    for must in [
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "templates/login.html",
        "fixtures/mock-idp.toml",
        "fixtures/keys/test-only-rsa.pem",
        "fixtures/keys/README.md",
        "docs/faults.md",
        "docs/admin-api.md",
        "docs/personas.md",
        "docs/bounds.md",
        "docs/performance.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(files.contains(&must), "{must} is missing from {files:#?}");
    }
    let allowed = |f: &str| {
        ["src/", "templates/", "tests/api/", "benches/", "docs/"]
            .iter()
            .any(|dir| f.starts_with(dir))
            || f.starts_with("fixtures/keys/test-only-") && f.ends_with(".pem")
            || [
                "Cargo.toml",
                "Cargo.toml.orig",
                "Cargo.lock",
                "README.md",
                "LICENSE-MIT",
                "LICENSE-APACHE",
                ".cargo_vcs_info.json",
                "fixtures/mock-idp.toml",
                "fixtures/keys/README.md",
            ]
            .contains(&f)
    };
    let unexpected: Vec<&&str> = files.iter().filter(|f| !allowed(f)).collect();
    assert!(
        unexpected.is_empty(),
        "not for the package: {unexpected:#?}"
    );
}
