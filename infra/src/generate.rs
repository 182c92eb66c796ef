//! The generated files: template.yaml, openapi.yaml and the `cargo lambda watch` router block of
//! Cargo.toml. `make template` writes them; a test fails when a committed copy drifts.

use std::path::{Path, PathBuf};

use shared::api::routes::{FALLBACK_FUNCTION, ROUTES};

const BEGIN: &str = "# BEGIN GENERATED ROUTER (make template; checked by a test)\n";
const END: &str = "# END GENERATED ROUTER\n";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The router table: every route to its function, and every other method and path to the
/// fallback function, as API Gateway's `$default` route does in AWS.
pub fn router_block() -> String {
    let mut out = String::from(BEGIN);
    out.push_str("[workspace.metadata.lambda.watch.router]\n");
    // Each path once, in the order the routes first name it (a TOML key may not repeat).
    let mut paths: Vec<&str> = Vec::new();
    for r in ROUTES.iter() {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    let entry = |path: &str, f: &dyn Fn(&str) -> &'static str| {
        let targets: Vec<String> = METHODS.iter().map(|m| format!("{{ method = \"{m}\", function = \"{}\" }}", f(m))).collect();
        format!("\"{}\" = [{}]\n", router_path(path), targets.join(", "))
    };
    for path in paths {
        out.push_str(&entry(path, &|m| ROUTES.iter().find(|r| r.path == path && r.method == m).map_or(FALLBACK_FUNCTION, |r| r.function)));
    }
    out.push_str(&entry("/", &|_| FALLBACK_FUNCTION));
    out.push_str(&entry("/{*unknown}", &|_| FALLBACK_FUNCTION));
    out.push_str(END);
    out
}

/// A route's path as the router writes it: API Gateway's greedy `{name+}` is its catch-all `{*name}`.
fn router_path(path: &str) -> String {
    match path.strip_suffix("+}").and_then(|p| p.rsplit_once('{')) {
        Some((head, name)) => format!("{head}{{*{name}}}"),
        None => path.to_owned(),
    }
}

/// Cargo.toml with its router block replaced.
pub fn cargo_toml_with_router(current: &str) -> Result<String, String> {
    let start = current.find(BEGIN).ok_or("Cargo.toml lacks the BEGIN GENERATED ROUTER marker")?;
    let end = current[start..].find(END).ok_or("Cargo.toml lacks the END GENERATED ROUTER marker")? + start + END.len();
    Ok(format!("{}{}{}", &current[..start], router_block(), &current[end..]))
}

/// (path, wanted content) of every generated file under the workspace root.
pub fn generated_files(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let cargo = root.join("Cargo.toml");
    let current = std::fs::read_to_string(&cargo).map_err(|e| format!("{}: {e}", cargo.display()))?;
    Ok(vec![(root.join("template.yaml"), crate::template::template_yaml()), (root.join("openapi.yaml"), crate::openapi::openapi_yaml()), (cargo, cargo_toml_with_router(&current)?)])
}

/// The files whose committed content differs from the generator's.
pub fn drifted(root: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(generated_files(root)?.into_iter().filter(|(path, wanted)| std::fs::read_to_string(path).ok().as_deref() != Some(wanted.as_str())).map(|(path, _)| path).collect())
}

pub fn write_all(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (path, wanted) in generated_files(root)? {
        if std::fs::read_to_string(&path).ok().as_deref() != Some(wanted.as_str()) {
            std::fs::write(&path, wanted).map_err(|e| format!("{}: {e}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The workspace root (infra's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("infra sits in the workspace").to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// template.yaml, openapi.yaml and the watch router are committed; they must be exactly what
    /// the generator makes from the catalogue. Run `make template` to refresh them.
    #[test]
    fn committed_generated_files_do_not_drift() {
        let drift = drifted(&workspace_root()).unwrap();
        assert!(drift.is_empty(), "run `make template`: these files drifted from the generator: {drift:?}");
    }

    #[test]
    fn the_router_sends_every_route_to_its_function_and_the_rest_to_the_fallback() {
        // Cargo itself parses the block (a malformed one fails every build); here, its content.
        let block = router_block();
        for route in ROUTES {
            let line = block.lines().find(|l| l.starts_with(&format!("\"{}\" = [", router_path(route.path)))).unwrap();
            assert!(line.contains(&format!("{{ method = \"{}\", function = \"{}\" }}", route.method, route.function)), "{line}");
        }
        let unknown = block.lines().find(|l| l.starts_with("\"/{*unknown}\" = [")).unwrap();
        assert_eq!(unknown.matches(&format!("function = \"{FALLBACK_FUNCTION}\"")).count(), METHODS.len());
    }
}
