//! What `cargo package -p mock-idp-harness` puts in the crate: the library, every feature file and the
//! catalogue (a published harness that shipped no scenarios would pass every backend), the licenses, and
//! only the tests that build from the package alone. Reads this workspace through cargo, so the file is
//! left out of the published crate.

use std::{path::Path, process::Command};

fn package_list() -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--allow-dirty",
            "-p",
            "mock-idp-harness",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo package --list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_package_holds_the_scenarios_the_catalogue_and_the_licenses() {
    let files = package_list();
    let features = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("features"))
        .expect("features/")
        .filter_map(|e| e.ok())
        .map(|e| format!("features/{}", e.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".feature"));
    let mut must: Vec<String> = features.collect();
    assert!(must.len() > 10, "the features folder was found: {must:?}");
    must.extend(
        [
            "Cargo.toml",
            "build.rs",
            "README.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "src/lib.rs",
            "src/bundled.rs",
            "src/report/report.html",
            "docs/CONFORMANCE.md",
            "docs/STEPS.md",
            "tests/coverage.rs",
        ]
        .map(str::to_owned),
    );
    for file in &must {
        assert!(files.contains(file), "{file} is missing from {files:#?}");
    }
    let allowed = |f: &str| {
        f.starts_with("src/")
            || f.starts_with("features/") && f.ends_with(".feature")
            || [
                "Cargo.toml",
                "Cargo.toml.orig",
                "build.rs",
                "Cargo.lock",
                "README.md",
                "LICENSE-MIT",
                "LICENSE-APACHE",
                ".cargo_vcs_info.json",
                "docs/CONFORMANCE.md",
                "docs/STEPS.md",
                "tests/coverage.rs",
                "tests/steps_doc.rs",
            ]
            .contains(&f)
    };
    let unexpected: Vec<&String> = files.iter().filter(|f| !allowed(f)).collect();
    assert!(
        unexpected.is_empty(),
        "not for the package: {unexpected:#?}"
    );
}

#[test]
fn the_license_files_name_the_holder() {
    for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .expect("license file");
        assert!(
            text.lines()
                .take(3)
                .any(|l| l.starts_with("Copyright") && l.contains("The mock-auth-center authors")),
            "{file} names no holder"
        );
    }
}
