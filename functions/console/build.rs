//! Builds the console's app (console/, with its pinned esbuild) into OUT_DIR and writes the table
//! of embedded files: `INDEX` (the page) and `FILES` (the content-hashed assets with gzip copies).
//! Installs console/'s npm packages from its lock file first when they are missing or stale.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{what}: could not start ({e}); the console needs Node.js and npm"));
    assert!(status.success(), "{what} failed ({status})");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../console").canonicalize().expect("the console/ folder");
    for watched in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // npm ci when node_modules is missing or was installed from another lock file.
    let lock = std::fs::read(root.join("package-lock.json")).expect("console/package-lock.json");
    let marker = root.join("node_modules/.installed-lock");
    if std::fs::read(&marker).ok().as_deref() != Some(&lock[..]) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--silent"]).current_dir(&root), "npm ci in console/");
        std::fs::write(&marker, &lock).expect("the install marker");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("console");
    run(Command::new("node").arg(root.join("build.mjs")).arg(&out).current_dir(&root), "node console/build.mjs");

    let mut names: Vec<String> =
        std::fs::read_dir(out.join("assets")).expect("the built assets").map(|e| e.expect("an asset").file_name().into_string().expect("a UTF-8 asset name")).filter(|n| !n.ends_with(".gz")).collect();
    names.sort();
    let mut table = format!("static INDEX: &str = include_str!({:?});\nstatic FILES: &[Asset] = &[\n", out.join("index.html"));
    for name in names {
        let path = out.join("assets").join(&name);
        table.push_str(&format!(
            "    Asset {{ name: {name:?}, body: include_bytes!({path:?}), gzip: include_bytes!({:?}) }},\n",
            path.with_extension(format!("{}.gz", path.extension().and_then(|e| e.to_str()).unwrap_or("")))
        ));
    }
    table.push_str("];\n");
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("assets.rs"), table).expect("assets.rs");
}
