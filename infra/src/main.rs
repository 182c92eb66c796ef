fn main() {
    let root = infra::generate::workspace_root();
    match std::env::args().nth(1).as_deref() {
        Some("generate") => {
            for p in infra::generate::write_all(&root).unwrap() {
                println!("wrote {}", p.display());
            }
        }
        _ => eprintln!("usage: local-stack generate"),
    }
}
