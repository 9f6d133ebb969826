//! The scenarios and the catalogue this crate ships, compiled in: a run needs neither this crate's source
//! folder nor a checkout of the workspace (an installed `conform`, a dependant whose registry cache was
//! swept). `features/` and `docs/CONFORMANCE.md` in the package are the same files; `build.rs` lists the
//! folder, so a new feature file needs no registration.

use std::{
    io,
    path::{Path, PathBuf},
};

/// Every `.feature` file of `features/`, as (file name, text), in file-name order (listed by `build.rs`).
pub const FEATURES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/features.rs"));

/// `docs/CONFORMANCE.md`: the checks the scenarios are tagged with, and the sources of the rules.
pub const CATALOGUE: &str = include_str!("../docs/CONFORMANCE.md");

/// This crate's `features/` folder when it is on disk (a checkout, or cargo's copy of the package while a
/// dependant builds and tests); otherwise [`FEATURES`] written under the system's temporary folder.
pub fn features_dir() -> io::Result<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    if source.is_dir() {
        return Ok(source);
    }
    let dir = std::env::temp_dir().join(concat!(
        env!("CARGO_PKG_NAME"),
        "-",
        env!("CARGO_PKG_VERSION"),
        "-features"
    ));
    write_features(&dir)?;
    Ok(dir)
}

/// Writes [`FEATURES`] into `dir` (created if missing). Each file is written beside its final name and
/// renamed, so concurrent runs never read half a file.
pub fn write_features(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in FEATURES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|on_disk| on_disk == *text) {
            continue;
        }
        let partial = dir.join(format!(".{name}.{}", std::process::id()));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_disk() -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("features/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "feature"))
            .map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let text = std::fs::read_to_string(&p).expect("readable");
                (name.unwrap_or_default(), text)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_bundled_features_are_the_folder() {
        let bundled: Vec<(String, String)> = FEATURES
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        assert!(bundled.len() > 10, "the features folder was listed");
        assert_eq!(bundled, on_disk());
    }

    #[test]
    fn written_features_are_the_bundled_ones_and_rewriting_is_harmless() {
        // Not test-support's TempDir: this test also runs in the published package, which has no
        // test-support.
        let dir = &std::env::temp_dir().join(format!("harness-bundled-{}", std::process::id()));
        write_features(dir).expect("written");
        std::fs::write(dir.join("login.feature"), "stale").expect("spoiled");
        write_features(dir).expect("rewritten");
        for (name, text) in FEATURES {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).expect("file"),
                *text
            );
        }
        let files = std::fs::read_dir(dir).expect("dir").count();
        assert_eq!(files, FEATURES.len(), "no partial files are left behind");
        std::fs::remove_dir_all(dir).expect("cleaned up");
    }

    #[test]
    fn the_catalogue_names_its_sections() {
        for section in ["## A", "## K", "## L"] {
            assert!(CATALOGUE.contains(section), "{section}");
        }
    }
}
