//! Holds the library's layers (ARCHITECTURE.md "Layers") by reading its sources: every module
//! imports only what its layer may, nothing outside `adapters` names the AWS SDK, nothing below
//! `api` knows HTTP, and the layers' graph has no circle. Test code (`tests.rs`, `testing.rs`,
//! `#[cfg(test)] mod tests`) is left out: a test may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each layer may use besides itself.
const ALLOWED: &[(&str, &[&str])] = &[
    ("catalogue", &["domain"]),
    ("domain", &[]),
    ("secrets", &["catalogue"]),
    ("ports", &["domain"]),
    ("providers", &["domain", "catalogue", "secrets", "ports"]),
    ("engine", &["domain", "catalogue", "secrets", "ports", "providers"]),
    ("adapters", &["domain", "catalogue", "secrets", "ports"]),
    ("api", &["domain", "catalogue", "secrets", "ports", "providers", "engine", "adapters"]),
    ("consumers", &["domain", "catalogue", "secrets", "ports", "providers", "engine", "adapters"]),
];

/// Names only the AWS adapters may use.
const AWS: &[&str] = &["aws_sdk_", "aws_config", "AttributeValue"];
/// Names only the API may use.
const HTTP: &[&str] = &["ApiError", "HttpRequest", "HttpResponse", "crate::api"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A source's layer: its first path component under src/ (`engine/mod.rs` → engine).
fn layer(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).expect("under src");
    let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a source without its unit tests and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a readable source");
    let cut = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..cut].lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The layers a source names through `crate::<layer>`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.insert(name);
        }
        if let Some(inner) = rest.strip_prefix('{') {
            // `use crate::{a, b::c}`: each group member's first name.
            let group: String = inner.chars().take_while(|c| *c != '}').collect();
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn layers_import_only_downward_and_aws_and_http_stay_in_their_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let layer = layer(&root, path);
        if name == "tests.rs" || layer == "testing" || layer == "lib" {
            continue;
        }
        let code = code(path);
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        let Some(may) = allowed.get(layer.as_str()) else {
            wrong.push(format!("{rel}: layer {layer} is not in ALLOWED (add it, with what it may use)"));
            continue;
        };
        for used in uses(&code) {
            if used != layer && !may.contains(&used.as_str()) {
                wrong.push(format!("{rel} ({layer}) uses crate::{used}"));
            }
            if used != layer {
                graph.entry(layer.clone()).or_default().insert(used);
            }
        }
        if layer != "adapters" {
            for name in AWS.iter().filter(|n| code.contains(*n)) {
                wrong.push(format!("{rel} ({layer}) names {name}: only adapters know AWS"));
            }
        }
        if !["api"].contains(&layer.as_str()) {
            for name in HTTP.iter().filter(|n| code.contains(*n)) {
                wrong.push(format!("{rel} ({layer}) names {name}: nothing below api knows HTTP"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    // No circle between layers (depth-first, marking the path).
    fn visit(node: &str, graph: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(circle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("the layers make a circle: {}", circle.join(" -> "));
        }
    }
}

/// The check finds what it is meant to: an upward import, a group import, AWS and HTTP names.
#[test]
fn the_check_sees_what_it_looks_for() {
    let found = uses("use crate::{api::ApiError, ports::Stores};\nlet x = crate::engine::Engine::new();");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["api", "engine", "ports"]);
}
