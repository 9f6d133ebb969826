//! mock-idp's sources as syn sees them: the module tree from `lib.rs` down, for the tests that read the
//! code itself (`public_api.rs`, `layers.rs`).

#![allow(dead_code)]

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use quote::ToTokens;
use syn::{Attribute, Item, Visibility};

/// One source module: its path below the crate root, whether users can name it, and its items.
pub struct Module {
    /// Its path below the crate root (`["store", "codes"]`).
    pub path: Vec<String>,
    /// Whether users can name it (every module on the way is `pub`).
    pub public: bool,
    /// The `cfg` of the module and the modules around it, as ` [feature = "x"]`.
    pub cfg: String,
    /// Its items.
    pub items: Vec<Item>,
}

pub fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `#[cfg(feature = "x")]` as ` [feature = "x"]`, for the listing; test-only code is left out altogether.
pub fn cfg_of(attrs: &[Attribute]) -> Option<String> {
    let mut out = String::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cfg")) {
        let text = tidy(&attr.meta.to_token_stream().to_string());
        if text.contains("test") {
            return None;
        }
        let _ = write!(
            out,
            " [{}]",
            text.trim_start_matches("cfg(").trim_end_matches(')')
        );
    }
    Some(out)
}

/// Reads the module tree from `file` down.
pub fn load(file: &Path, path: Vec<String>, public: bool, cfg: String, out: &mut Vec<Module>) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    // Child modules of `a.rs` live in `a/`; of `lib.rs` and `a/mod.rs`, beside them.
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let dir = match stem {
        "lib" | "mod" => file.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => file.with_extension(""),
    };
    for item in &parsed.items {
        let Item::Mod(m) = item else { continue };
        let Some(item_cfg) = cfg_of(&m.attrs) else {
            continue;
        };
        if m.content.is_some() {
            continue;
        }
        let name = m.ident.to_string();
        let child = [
            dir.join(format!("{name}.rs")),
            dir.join(&name).join("mod.rs"),
        ]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no file for module {name} of {}", file.display()));
        let mut child_path = path.clone();
        child_path.push(name);
        let child_public = public && matches!(m.vis, Visibility::Public(_));
        load(
            &child,
            child_path,
            child_public,
            format!("{cfg}{item_cfg}"),
            out,
        );
    }
    out.push(Module {
        path,
        public,
        cfg,
        items: parsed.items,
    });
}

/// Every module of the crate (test-only ones left out), from `src/lib.rs` down.
pub fn modules() -> Vec<Module> {
    let mut out = Vec::new();
    load(
        &src().join("lib.rs"),
        Vec::new(),
        true,
        String::new(),
        &mut out,
    );
    out
}

/// A token stream's text with the spaces the printer puts around punctuation taken out.
pub fn tidy(text: &str) -> String {
    let mut s = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ( ", "("),
        ("( ", "("),
        (" (", "("),
        (" )", ")"),
        (" [ ", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        (",)", ")"),
        (", )", ")"),
        (" ;", ";"),
        (" :", ":"),
        ("& ", "&"),
        ("# ", "#"),
        (" !", "!"),
        ("' ", "'"),
    ] {
        while s.contains(from) {
            s = s.replace(from, to);
        }
    }
    // A binding's `mut` is not part of the signature.
    s.replace("(mut ", "(")
        .replace(", mut ", ", ")
        .replace("->", " -> ")
        .replace("  ", " ")
}
