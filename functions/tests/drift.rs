//! The functions and what they serve cannot drift apart: one binary for each route deployed
//! to AWS and for each workflow task of `statemachines/tasks.json` (and one for scheduled
//! jobs), each calling into `keiyaku-lambda` with its own name and the ports
//! `infra/ports.json` lists for it, none built as a test, and no binary left over.

use std::collections::BTreeMap;
use std::path::Path;

use keiyaku_core::routes::{ROUTES, Shape};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Each binary's name and its source.
fn binaries() -> BTreeMap<String, String> {
    std::fs::read_dir(Path::new(DIR).join("src/bin"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// A port's constant in `keiyaku_lambda::compose::port` (`LinkMacs` → `LINK_MACS`).
fn constant(port: &str) -> String {
    let mut out = String::new();
    for (i, c) in port.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What each binary must call: its route's, task's or the jobs' function, holding the
/// ports `infra/ports.json` lists for it (the table its IAM policy follows from).
fn expected() -> BTreeMap<String, String> {
    let ports: BTreeMap<String, Vec<String>> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DIR).join("../infra/ports.json")).unwrap(),
    )
    .unwrap();
    let held = |function: &str| {
        let names: Vec<String> = ports[function].iter().map(|p| constant(p)).collect();
        format!("[{}]", names.join(", "))
    };
    let mut calls = BTreeMap::new();
    for route in ROUTES.iter().filter(|r| r.shape == Shape::Both) {
        calls.insert(
            route.name.replace('_', "-"),
            format!(
                "keiyaku_lambda::route_function!({}, {});",
                route.name,
                held(route.name)
            ),
        );
    }
    let tasks: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DIR).join("../statemachines/tasks.json")).unwrap(),
    )
    .unwrap();
    for entry in tasks.values() {
        let handler = entry["handler"].as_str().unwrap();
        calls.insert(
            format!("task-{}", handler.replace('_', "-")),
            format!(
                "keiyaku_lambda::task_function!({handler}, {});",
                held(&format!("task:{handler}"))
            ),
        );
    }
    calls.insert(
        "jobs".into(),
        format!("keiyaku_lambda::jobs_function!({});", held("jobs")),
    );
    calls
}

#[test]
fn one_binary_per_route_and_task_each_calling_its_own() {
    let binaries = binaries();
    let expected = expected();
    assert_eq!(
        binaries.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the binaries are the routes deployed to AWS, the tasks and the jobs"
    );
    for (name, call) in &expected {
        assert!(
            binaries[name].contains(call.as_str()),
            "{name} calls {call}"
        );
        assert!(
            binaries[name].lines().count() <= 4,
            "{name} stays a doc line and its call"
        );
    }
    // Every binary is declared, and none is built as a test target.
    let manifest = std::fs::read_to_string(Path::new(DIR).join("Cargo.toml")).unwrap();
    for name in expected.keys() {
        let declared =
            format!("[[bin]]\nname = \"{name}\"\npath = \"src/bin/{name}.rs\"\ntest = false\n");
        assert!(
            manifest.contains(&declared),
            "{name} is declared with test = false"
        );
    }
    assert_eq!(manifest.matches("[[bin]]").count(), expected.len());
}

/// Each function has its ports in `infra/ports.json` (what its composition holds and its
/// IAM policy grants), and the table names no function that does not exist.
#[test]
fn every_function_has_its_ports_and_no_other_is_listed() {
    let table: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DIR).join("../infra/ports.json")).unwrap(),
    )
    .unwrap();
    let listed: Vec<String> = table
        .keys()
        .map(|k| k.replace("task:", "task-").replace('_', "-"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let binaries: Vec<String> = expected().into_keys().collect();
    assert_eq!(listed, binaries);
}
