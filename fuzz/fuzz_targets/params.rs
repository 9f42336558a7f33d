//! The request parameter parser: a query string and a body (form, JSON or text, by
//! content type) merged as the extractor does, then every typed read on every name.
//!
//! Input: `<content-type>\n<query string>\n<body>`; the whole input is also read as one
//! form body on its own.

#![no_main]

use cork_api::fuzzing::request_params;
use cork_api::params::Params;
use libfuzzer_sys::fuzz_target;

/// Names the routes read that a short input may not spell out itself.
const NAMES: &[&str] = &["key", "token", "name", "pos", "due", "closed", "idMembers", "prefs", "limit", "value", ""];

fn read_all(params: &Params) {
    let _ = params.with_nul();
    let mut names: Vec<String> = params.to_object().keys().cloned().collect();
    names.extend(NAMES.iter().map(|n| n.to_string()));
    for name in &names {
        let _ = params.has(name);
        let _ = params.raw(name);
        let _ = params.str(name);
        let _ = params.text(name);
        let _ = params.nullable_text(name);
        let _ = params.bool(name);
        let _ = params.int(name, 0, 1000);
        let _ = params.int(name, i64::MIN, i64::MAX);
        let _ = params.number(name, -1e9, 1e9);
        let _ = params.number(name, f64::MIN, f64::MAX);
        let _ = params.pos(name).map(|pos| pos.map(|p| (p.resolve(None), p.resolve(Some((0.0, 65536.0))))));
        let _ = params.date(name);
        let _ = params.list(name);
        let _ = params.nested(&[name.as_str(), "prefs", "labelNames"]);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut whole = Params::default();
    whole.add_pairs(data);
    read_all(&whole);

    let mut parts = data.splitn(3, |b| *b == b'\n');
    let content_type = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_ascii_lowercase();
    let query = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    if let Ok(params) = request_params(query.as_deref(), &content_type, body) {
        read_all(&params);
        // A route handing the request on to another (legacy aliases, batch) re-reads it
        // from its JSON object.
        let mut again = Params::default();
        again.add_json(params.to_object());
        read_all(&again);
    }
});
