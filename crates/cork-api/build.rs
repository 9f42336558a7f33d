//! Writes the route table: every path registered with `.route("...")` in `src/`, so that
//! `cork_api::route_paths()` lists what the router serves and tests generated from it
//! (the security matrix) take in new routes without being edited. Paths built at run
//! time (the legacy nested fields) are added by `route_paths` itself.
//!
//! Also embeds the web board: every file of `assets/`, plain and gzipped, with a version
//! (a hash of all of them) that names the URL they are served under, so browsers may
//! cache them for good and a new build is fetched at once.

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

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// FNV-1a, 64 bits: a cache-busting version, not a security property.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

fn embed_assets(out_dir: &Path) {
    use std::io::Write;
    println!("cargo:rerun-if-changed=assets");
    let dir = Path::new("assets");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().filter(|e| e.path().is_file()).filter_map(|e| e.file_name().to_str().map(str::to_string)).collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut entries = Vec::new();
    for name in &names {
        let source = dir.join(name);
        let bytes = std::fs::read(&source).expect("reading an asset");
        fnv(&mut hash, name.as_bytes());
        fnv(&mut hash, &bytes);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).expect("gzip");
        let gzipped = encoder.finish().expect("gzip");
        let gz_path = out_dir.join(format!("{name}.gz"));
        std::fs::write(&gz_path, gzipped).expect("writing a gzipped asset");
        let plain_path = std::fs::canonicalize(&source).expect("asset path");
        entries.push(format!(
            "Asset {{ name: {name:?}, content_type: {:?}, plain: include_bytes!({:?}), gzip: include_bytes!({:?}) }}",
            content_type(name),
            plain_path.display().to_string(),
            gz_path.display().to_string()
        ));
    }
    let body = format!(
        "pub(crate) const ASSET_VERSION: &str = \"{:012x}\";\npub(crate) static ASSETS: &[Asset] = &[{}];\n",
        hash >> 16,
        entries.join(",\n")
    );
    std::fs::write(out_dir.join("assets.rs"), body).expect("writing the asset table");
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    embed_assets(Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")));
    let mut paths = Vec::new();
    scan(Path::new("src"), &mut paths);
    paths.sort();
    paths.dedup();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("route_paths.rs");
    let body = format!("&[{}]", paths.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", "));
    std::fs::write(out, body).expect("writing the route table");
}
