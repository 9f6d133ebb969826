//! mock-idp's public API, listed from its source into `public-api.txt` next to `Cargo.toml`: every path a
//! user of the crate can name (public modules' public items and every `pub use`), each with its signature,
//! public fields or variants, the public methods of its inherent impls, its trait impls and derives. Once
//! the crate is published every change here is a change for its users, so the list is checked in and this
//! test fails when the API changes without it: review the diff, then regenerate it with
//! `UPDATE_PUBLIC_API=1 cargo test -p mock-idp --test public_api`.
//!
//! The listing is syn's parse of the sources (stable Rust, no rustdoc JSON): paths are resolved through
//! `pub use` and `pub mod` of this crate; a re-export of another crate's item is listed as that path.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::Path,
};

use quote::ToTokens;
use syn::{Attribute, Fields, ImplItem, Item, TraitItem, UseTree, Visibility};

mod source;

use source::{cfg_of, modules, tidy};

fn tokens(t: &impl ToTokens) -> String {
    tidy(&t.to_token_stream().to_string())
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

fn derives(attrs: &[Attribute]) -> String {
    let names: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("derive") || a.path().is_ident("non_exhaustive"))
        .map(|a| tokens(&a.meta))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" #[{}]", names.join(", "))
    }
}

/// A variant's fields without their attributes: `(A, B)` or `{ a: A, b: B }`.
fn field_types(fields: &Fields) -> String {
    match fields {
        Fields::Named(named) => {
            let each: Vec<String> = named
                .named
                .iter()
                .map(|f| {
                    let name = f
                        .ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("{name}: {}", tokens(&f.ty))
                })
                .collect();
            format!(" {{ {} }}", each.join(", "))
        }
        Fields::Unnamed(unnamed) => {
            let each: Vec<String> = unnamed.unnamed.iter().map(|f| tokens(&f.ty)).collect();
            format!("({})", each.join(", "))
        }
        Fields::Unit => String::new(),
    }
}

/// An item's name and its listing (several lines for a type's fields or variants), or `None` if it is not
/// something a path can name.
fn describe(item: &Item) -> Option<(String, Vec<String>)> {
    let (name, mut lines) = match item {
        Item::Fn(f) => (
            f.sig.ident.to_string(),
            vec![format!("fn {}", tokens(&f.sig).trim_start_matches("fn "))],
        ),
        Item::Struct(s) => {
            let mut lines = vec![format!(
                "struct {}{}{}",
                s.ident,
                tokens(&s.generics),
                derives(&s.attrs)
            )];
            match &s.fields {
                Fields::Named(named) => {
                    for f in named.named.iter().filter(|f| is_pub(&f.vis)) {
                        let name = f
                            .ident
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        lines.push(format!("    field {name}: {}", tokens(&f.ty)));
                    }
                }
                Fields::Unnamed(unnamed) => {
                    for (i, f) in unnamed
                        .unnamed
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| is_pub(&f.vis))
                    {
                        lines.push(format!("    field {i}: {}", tokens(&f.ty)));
                    }
                }
                Fields::Unit => {}
            }
            (s.ident.to_string(), lines)
        }
        Item::Enum(e) => {
            let mut lines = vec![format!(
                "enum {}{}{}",
                e.ident,
                tokens(&e.generics),
                derives(&e.attrs)
            )];
            for v in &e.variants {
                lines.push(format!("    variant {}{}", v.ident, field_types(&v.fields)));
            }
            (e.ident.to_string(), lines)
        }
        Item::Trait(t) => {
            let mut lines = vec![format!("trait {}{}", t.ident, tokens(&t.generics))];
            for i in &t.items {
                match i {
                    TraitItem::Fn(f) => lines.push(format!("    {}", tokens(&f.sig))),
                    TraitItem::Type(ty) => lines.push(format!("    type {}", ty.ident)),
                    TraitItem::Const(c) => {
                        lines.push(format!("    const {}: {}", c.ident, tokens(&c.ty)))
                    }
                    _ => {}
                }
            }
            (t.ident.to_string(), lines)
        }
        Item::Type(t) => (
            t.ident.to_string(),
            vec![format!(
                "type {}{} = {}",
                t.ident,
                tokens(&t.generics),
                tokens(&t.ty)
            )],
        ),
        Item::Const(c) => (
            c.ident.to_string(),
            vec![format!("const {}: {}", c.ident, tokens(&c.ty))],
        ),
        Item::Static(s) => (
            s.ident.to_string(),
            vec![format!("static {}: {}", s.ident, tokens(&s.ty))],
        ),
        _ => return None,
    };
    if let Some(cfg) = item_attrs(item).and_then(cfg_of).filter(|c| !c.is_empty()) {
        lines[0].push_str(&cfg);
    }
    Some((name, lines))
}

fn item_attrs(item: &Item) -> Option<&[Attribute]> {
    Some(match item {
        Item::Fn(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => return None,
    })
}

fn item_vis(item: &Item) -> Option<&Visibility> {
    Some(match item {
        Item::Fn(i) => &i.vis,
        Item::Struct(i) => &i.vis,
        Item::Enum(i) => &i.vis,
        Item::Trait(i) => &i.vis,
        Item::Type(i) => &i.vis,
        Item::Const(i) => &i.vis,
        Item::Static(i) => &i.vis,
        Item::Use(i) => &i.vis,
        _ => return None,
    })
}

/// (name it is known by, source path) for each leaf of a `use` tree.
fn use_leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push((n.ident.to_string(), path));
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push((r.rename.to_string(), path));
        }
        UseTree::Glob(_) => {
            let mut path = prefix.clone();
            path.push("*".into());
            out.push(("*".into(), path));
        }
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// Where `source`, used in module `at`, is defined: (module, name), following `use` chains; or, for
/// another crate's item, its path.
fn resolve(
    at: &[String],
    source: &[String],
    modules: &BTreeSet<Vec<String>>,
    uses: &BTreeMap<(Vec<String>, String), Vec<String>>,
    defined: &BTreeMap<(Vec<String>, String), Vec<String>>,
) -> Result<(Vec<String>, String), String> {
    let (mut at, mut source) = (at.to_vec(), source.to_vec());
    for _ in 0..16 {
        // `crate::`, `self::` and `super::`, a child module, or a top-level module.
        let mut path = match source.first().map(String::as_str) {
            Some("crate") => source[1..].to_vec(),
            Some("self") => [at.clone(), source[1..].to_vec()].concat(),
            Some("super") => [
                at[..at.len().saturating_sub(1)].to_vec(),
                source[1..].to_vec(),
            ]
            .concat(),
            Some(first) if modules.contains(&[at.clone(), vec![first.to_owned()]].concat()) => {
                [at.clone(), source.clone()].concat()
            }
            Some(first) if modules.contains(&vec![first.to_owned()]) => source.clone(),
            _ => return Err(source.join("::")),
        };
        let name = path.pop().unwrap_or_default();
        if defined.contains_key(&(path.clone(), name.clone())) {
            return Ok((path, name));
        }
        match uses.get(&(path.clone(), name.clone())) {
            Some(next) => (at, source) = (path, next.clone()),
            None => return Err(format!("mock_idp::{}::{name}", path.join("::"))),
        }
    }
    Err(source.join("::"))
}

/// The listing: one block per public path, sorted.
fn listing() -> String {
    let modules = modules();
    // Every named item of every module, by (module path, name).
    let mut defined: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    // Inherent public methods and trait impls, by the self type's name and the impl's module.
    let mut impls: BTreeMap<String, BTreeMap<Vec<String>, BTreeSet<String>>> = BTreeMap::new();
    for m in &modules {
        for item in &m.items {
            if let Some((name, lines)) = describe(item) {
                defined.insert((m.path.clone(), name), lines);
            }
            let Item::Impl(imp) = item else { continue };
            let Some(cfg) = cfg_of(&imp.attrs) else {
                continue;
            };
            let self_ty = tokens(&imp.self_ty);
            let type_name = self_ty
                .split('<')
                .next()
                .and_then(|s| s.rsplit("::").next())
                .unwrap_or_default()
                .to_owned();
            let entry = impls
                .entry(type_name)
                .or_default()
                .entry(m.path.clone())
                .or_default();
            match &imp.trait_ {
                Some((_, path, _)) => {
                    entry.insert(format!("    impl {} for {self_ty}{cfg}", tokens(path)));
                }
                None => {
                    for i in &imp.items {
                        if let ImplItem::Fn(f) = i
                            && is_pub(&f.vis)
                            && let Some(fn_cfg) = cfg_of(&f.attrs)
                        {
                            entry.insert(format!("    {}{cfg}{fn_cfg}", tokens(&f.sig)));
                        }
                    }
                }
            }
        }
    }
    let module_paths: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    // Every `use` of every module, public or not: (module, name it is known by) → source path.
    let mut uses: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for m in &modules {
        for item in &m.items {
            if let Item::Use(u) = item {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                for (alias, source) in leaves {
                    uses.insert((m.path.clone(), alias), source);
                }
            }
        }
    }
    let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // A type's impls: those in its own module, or anywhere when no other module defines that name.
    let with_impls = |lines: &[String], module: &[String], type_name: &str| {
        let mut block = lines.to_vec();
        let is_type = lines[0].starts_with("struct ") || lines[0].starts_with("enum ");
        let homonyms = defined.keys().filter(|(_, n)| n == type_name).count();
        if let (true, Some(by_module)) = (is_type, impls.get(type_name)) {
            for (at, extra) in by_module {
                if at.as_slice() == module || homonyms == 1 {
                    block.extend(extra.iter().cloned());
                }
            }
        }
        block
    };
    for m in modules.iter().filter(|m| m.public) {
        let here = |name: &str| {
            let mut p = vec!["mock_idp".to_owned()];
            p.extend(m.path.iter().cloned());
            p.push(name.to_owned());
            p.join("::")
        };
        if !m.path.is_empty() {
            let path = here("").trim_end_matches("::").to_owned();
            blocks.insert(path, vec![format!("mod{}", m.cfg)]);
        }
        for item in &m.items {
            if !item_vis(item).is_some_and(is_pub) {
                continue;
            }
            if let Item::Use(u) = item {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                let cfg = cfg_of(&u.attrs).unwrap_or_default();
                for (alias, source) in leaves {
                    match resolve(&m.path, &source, &module_paths, &uses, &defined) {
                        Ok((module, name)) => {
                            let lines = &defined[&(module.clone(), name.clone())];
                            blocks.insert(here(&alias), with_impls(lines, &module, &name));
                        }
                        Err(path) => {
                            blocks.insert(here(&alias), vec![format!("pub use {path}{cfg}")]);
                        }
                    }
                }
                continue;
            }
            if let Some((name, lines)) = describe(item) {
                blocks.insert(here(&name), with_impls(&lines, &m.path, &name));
            }
        }
    }
    let mut out = String::new();
    for (path, lines) in blocks {
        let _ = writeln!(out, "{path}: {}", lines[0]);
        for line in &lines[1..] {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

#[test]
fn the_public_api_is_the_checked_in_list() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("public-api.txt");
    let now = listing();
    if std::env::var_os("UPDATE_PUBLIC_API").is_some() {
        std::fs::write(&file, &now).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        return;
    }
    let before = std::fs::read_to_string(&file).unwrap_or_default();
    if before != now {
        let old: BTreeSet<&str> = before.lines().collect();
        let new: BTreeSet<&str> = now.lines().collect();
        let gone: Vec<&&str> = old.difference(&new).take(40).collect();
        let added: Vec<&&str> = new.difference(&old).take(40).collect();
        panic!(
            "mock-idp's public API changed. Review it, then run \
             `UPDATE_PUBLIC_API=1 cargo test -p mock-idp --test public_api` and commit public-api.txt.\n\
             gone: {gone:#?}\nadded: {added:#?}"
        );
    }
}

#[test]
fn the_listing_sees_the_handle_and_its_methods() {
    let now = listing();
    assert!(now.contains("mock_idp::MockIdp: struct MockIdp"), "{now}");
    assert!(now.contains("fn start(config: Config)"), "{now}");
}
