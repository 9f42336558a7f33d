//! Writes the route table: every path registered with `.route("...")` in `src/`, so that
//! `cork_api::route_paths()` lists what the router serves and tests generated from it
//! (the security matrix) take in new routes without being edited. Paths built at run
//! time (the legacy nested fields) are added by `route_paths` itself.

use std::path::Path;

fn literal_routes(source: &str, into: &mut Vec<String>) {
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let trimmed = rest.trim_start();
        if let Some(body) = trimmed.strip_prefix('"') {
            if let Some(end) = body.find('"') {
                into.push(body[..end].to_string());
            }
        }
    }
}

fn scan(dir: &Path, into: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scan(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if let Ok(source) = std::fs::read_to_string(&path) {
                literal_routes(&source, into);
            }
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut paths = Vec::new();
    scan(Path::new("src"), &mut paths);
    paths.sort();
    paths.dedup();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("route_paths.rs");
    let body = format!("&[{}]", paths.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", "));
    std::fs::write(out, body).expect("writing the route table");
}
