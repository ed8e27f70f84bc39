//! The core's layers, checked on its own sources so they stay true: no module imports
//! another in a circle, the domain uses nothing but itself and the foundation (ids, text,
//! errors), and nothing but the use cases (`app`) uses a use case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules below the domain that every layer may use.
const FOUNDATION: &[&str] = &["error", "ids", "text"];

/// Every module of the crate (`answers`, `store::keys`, `ports`, …) and the modules its
/// source names through `crate::…` paths.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        // Ports are one unit: adapters implement them, nothing in them acts.
        if parts.first().is_some_and(|p| p == "ports") {
            parts.truncate(1);
        }
        let name = parts.join("::");
        if name == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&entry).unwrap();
        files
            .entry(name)
            .or_insert_with(String::new)
            .push_str(&without_comments(&text));
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(name, text)| {
            let mut used = BTreeSet::new();
            for path in crate_paths(text) {
                // The longest module the path names.
                let segments: Vec<&str> = path.split("::").collect();
                if let Some(m) = (1..=segments.len())
                    .rev()
                    .map(|n| segments[..n].join("::"))
                    .find(|m| modules.contains(m))
                    && &m != name
                {
                    used.insert(m);
                }
            }
            (name.clone(), used)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Source without `//` comments (doc links name modules without using them).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after `crate::`, with `crate::{a, b::c}` groups spread out.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(|p| p.trim().to_owned()));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            out.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// The first import circle found, if any.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut found = path[i..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_imports_another_in_a_circle() {
    let graph = imports();
    assert!(graph.contains_key("store::keys") && graph.contains_key("app::answers"));
    if let Some(found) = circle(&graph) {
        panic!("import circle in core: {}", found.join(" → "));
    }
}

#[test]
fn no_top_level_module_imports_another_in_a_circle() {
    // The same graph with each folder as one module (`store`, `app`, `domain`, …): a circle
    // through two files of a folder is a circle of the folder.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    for (module, used) in imports() {
        let entry = graph.entry(top(&module)).or_default();
        entry.extend(used.iter().map(|u| top(u)).filter(|u| *u != top(&module)));
    }
    if let Some(found) = circle(&graph) {
        panic!(
            "import circle between core's top-level modules: {}",
            found.join(" → ")
        );
    }
}

#[test]
fn the_domain_uses_only_itself_and_the_foundation() {
    for (module, used) in imports() {
        if !module.starts_with("domain") {
            continue;
        }
        for u in used {
            assert!(
                u.starts_with("domain") || FOUNDATION.contains(&u.as_str()),
                "{module} uses {u}: the domain is pure (no ports, no store, no use case)"
            );
        }
    }
}

#[test]
fn nothing_below_the_use_cases_uses_them() {
    for (module, used) in imports() {
        if module == "app" || module.starts_with("app::") {
            continue;
        }
        for u in used {
            assert!(
                !u.starts_with("app::"),
                "{module} uses {u}, a use case: the store, the ports and the foundation are below them"
            );
        }
    }
}

#[test]
fn the_checker_finds_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circle(&graph).unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        crate_paths("use crate::{mail, store::keys};\nlet x = crate::app::answers::send(s);"),
        ["mail", "store::keys", "app::answers::send"]
    );
}
