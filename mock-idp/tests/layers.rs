//! mock-idp's modules form layers: no import circle between its files. Every path a file names that starts
//! with `crate::`, `super::` or `self::` (in `use` and in code) is an edge to the module it names; a module
//! naming its own descendants (declaring and re-exporting its children) is not. A circle of edges fails the
//! test with its members, so a definition that sits on the wrong floor shows up in review.

use std::collections::{BTreeMap, BTreeSet};

use syn::visit::Visit;

mod source;

/// The paths a file names, as segment lists (`use` trees flattened).
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl<'a> Visit<'a> for Paths {
    fn visit_path(&mut self, p: &'a syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            match tree {
                syn::UseTree::Path(p) => {
                    prefix.push(p.ident.to_string());
                    walk(&p.tree, prefix, out);
                    prefix.pop();
                }
                syn::UseTree::Name(n) => {
                    out.push([prefix.clone(), vec![n.ident.to_string()]].concat())
                }
                syn::UseTree::Rename(r) => {
                    out.push([prefix.clone(), vec![r.ident.to_string()]].concat())
                }
                syn::UseTree::Glob(_) => out.push(prefix.clone()),
                syn::UseTree::Group(g) => {
                    for t in &g.items {
                        walk(t, prefix, out);
                    }
                }
            }
        }
        walk(&u.tree, &mut Vec::new(), &mut self.0);
    }
}

/// Module → the modules it names (not its own descendants).
fn edges() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let all = source::modules();
    let known: BTreeSet<Vec<String>> = all.iter().map(|m| m.path.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for module in &all {
        let me = &module.path;
        let mut paths = Paths::default();
        for item in &module.items {
            paths.visit_item(item);
        }
        for path in paths.0 {
            let absolute = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => [
                    me[..me.len().saturating_sub(1)].to_vec(),
                    path[1..].to_vec(),
                ]
                .concat(),
                Some("self") => [me.clone(), path[1..].to_vec()].concat(),
                // A child module named without `self::` (`pub use pending::X` in a mod.rs).
                Some(first) if known.contains(&[me.clone(), vec![first.to_owned()]].concat()) => {
                    [me.clone(), path.clone()].concat()
                }
                _ => continue,
            };
            // The longest prefix that is a module.
            let target = (0..=absolute.len())
                .rev()
                .map(|n| absolute[..n].to_vec())
                .find(|p| known.contains(p));
            if let Some(target) = target
                && !target.starts_with(me)
            {
                edges.entry(me.clone()).or_default().insert(target);
            }
        }
        edges.entry(me.clone()).or_default();
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, (usize, usize)>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            self.index.insert(v, (self.next, self.next));
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.index[w].1.min(self.index[v].1);
                    self.index.entry(v).and_modify(|e| e.1 = low);
                } else if self.on_stack.contains(w) {
                    let low = self.index[w].0.min(self.index[v].1);
                    self.index.entry(v).and_modify(|e| e.1 = low);
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(if w.is_empty() {
                        "lib".to_owned()
                    } else {
                        w.join("::")
                    });
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_import_circle_between_mock_idps_files() {
    let found = circles(&edges());
    assert!(
        found.is_empty(),
        "import circles between mock-idp's modules: {found:#?}"
    );
}

#[test]
fn a_circle_is_found() {
    let e = |a: &str, b: &[&str]| {
        (
            vec![a.to_owned()],
            b.iter()
                .map(|x| vec![(*x).to_owned()])
                .collect::<BTreeSet<_>>(),
        )
    };
    let graph: BTreeMap<_, _> = [
        e("a", &["b"]),
        e("b", &["c"]),
        e("c", &["a"]),
        e("d", &["a"]),
    ]
    .into();
    assert_eq!(
        circles(&graph),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}
