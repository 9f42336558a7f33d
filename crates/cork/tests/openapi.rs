//! `GET /cork/openapi.json`: served without credentials, a well-formed OpenAPI 3.1
//! document, and complete: every route of the route table and every operation of
//! Trello's spec is in it, each with the methods the router takes.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::Server;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') || segment.starts_with("${")
}

fn path_params(path: &str) -> BTreeSet<String> {
    segments(path).into_iter().filter(|s| is_param(s)).map(|s| s.trim_start_matches(['$', '{']).trim_end_matches('}').to_string()).collect()
}

/// Every `$ref` in `value` names something in `document`.
fn check_refs(document: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                let resolved = target.strip_prefix('#').and_then(|pointer| document.pointer(pointer));
                if resolved.is_none() {
                    problems.push(format!("{at}: $ref {target} resolves to nothing"));
                }
            }
            for (key, inner) in map {
                check_refs(document, inner, &format!("{at}/{key}"), problems);
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, inner)| check_refs(document, inner, &format!("{at}/{i}"), problems)),
        _ => {}
    }
}

/// The structural rules of OpenAPI 3.1 that a consumer relies on.
fn structure_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if !document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")) {
        problems.push(format!("openapi version {}", document["openapi"]));
    }
    for field in ["title", "version"] {
        if document["info"][field].as_str().is_none_or(str::is_empty) {
            problems.push(format!("info.{field} missing"));
        }
    }
    let schemes = document["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();
    for name in ["APIKey", "APIToken", "OAuth"] {
        if !schemes.contains_key(name) {
            problems.push(format!("no security scheme {name}"));
        }
    }
    let mut requirements: Vec<&Value> = document["security"].as_array().into_iter().flatten().collect();
    let mut operation_ids = BTreeSet::new();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    if paths.is_empty() {
        problems.push("no paths".into());
    }
    for (path, item) in &paths {
        if !path.starts_with('/') {
            problems.push(format!("{path}: a path starts with /"));
        }
        let declared_in_path = path_params(path);
        for (method, operation) in item.as_object().into_iter().flatten() {
            let at = format!("{method} {path}");
            if !METHODS.contains(&method.as_str()) {
                problems.push(format!("{at}: not a method"));
                continue;
            }
            if operation["responses"].as_object().is_none_or(|r| r.is_empty()) {
                problems.push(format!("{at}: no responses"));
            }
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                let valid_key = status == "default" || (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit() || b == b'X'));
                if !valid_key || !(response.get("description").is_some() || response.get("$ref").is_some()) {
                    problems.push(format!("{at}: response {status}"));
                }
            }
            match operation["operationId"].as_str() {
                Some(id) if operation_ids.insert(id.to_string()) => {}
                other => problems.push(format!("{at}: operationId {other:?} missing or repeated")),
            }
            if !operation["summary"].as_str().is_some_and(|s| !s.is_empty() && s != "Served by Cork (undescribed)") {
                problems.push(format!("{at}: no summary"));
            }
            let mut seen = BTreeSet::new();
            let mut in_path = BTreeSet::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let (Some(name), Some(place)) = (parameter["name"].as_str(), parameter["in"].as_str()) else {
                    problems.push(format!("{at}: parameter without name or in: {parameter}"));
                    continue;
                };
                if !["query", "header", "path", "cookie"].contains(&place) {
                    problems.push(format!("{at}: parameter {name} in {place}"));
                }
                if parameter.get("schema").is_none() && parameter.get("content").is_none() {
                    problems.push(format!("{at}: parameter {name} has no schema"));
                }
                if !seen.insert((name.to_string(), place.to_string())) {
                    problems.push(format!("{at}: parameter {name} ({place}) twice"));
                }
                if place == "path" {
                    if parameter["required"] != Value::Bool(true) {
                        problems.push(format!("{at}: path parameter {name} not required"));
                    }
                    in_path.insert(name.to_string());
                }
            }
            if in_path != declared_in_path {
                problems.push(format!("{at}: path parameters {in_path:?}, the path has {declared_in_path:?}"));
            }
            requirements.extend(operation["security"].as_array().into_iter().flatten());
            for erratum in operation["x-cork-errata"].as_array().into_iter().flatten() {
                let pointer = erratum["pointer"].as_str().unwrap_or_default();
                if document.pointer(pointer).is_none() {
                    problems.push(format!("{at}: erratum {pointer} points at nothing"));
                }
            }
        }
    }
    for requirement in requirements {
        for name in requirement.as_object().into_iter().flatten().map(|(name, _)| name) {
            if !schemes.contains_key(name) {
                problems.push(format!("security requirement {name} has no scheme"));
            }
        }
    }
    for erratum in document["x-cork-errata"].as_array().into_iter().flatten() {
        let pointer = erratum["pointer"].as_str().unwrap_or_default();
        if document.pointer(pointer).is_none() {
            problems.push(format!("erratum {pointer} points at nothing"));
        }
    }
    check_refs(document, document, "", &mut problems);
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_without_credentials_and_covers_every_route() {
    let server = Server::sqlite().await;
    let anonymous = server.anonymous();
    let first = anonymous.get("/cork/openapi.json").await;
    let document = first.ok();
    // Built once per process: the second answer is the same bytes.
    assert_eq!(anonymous.get("/cork/openapi.json").await.text, first.text);

    let problems = structure_problems(&document);
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));

    // Every route of the route table, with at least one method, and its operations say
    // which route serves them.
    let paths = document["paths"].as_object().expect("paths");
    let missing: Vec<String> = cork_api::route_paths()
        .into_iter()
        .filter(|route| paths.get(route).is_none_or(|item| item.as_object().is_none_or(|m| m.is_empty())))
        .collect();
    assert!(missing.is_empty(), "routes missing from the document: {missing:?}");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let route = operation["x-cork-route"].as_str().unwrap_or_else(|| panic!("{method} {path} names no route"));
            assert!(paths.contains_key(route), "{method} {path}: x-cork-route {route} is not a path");
        }
    }

    // The router's methods, not guesses: a GET-only route has no PUT, a PUT-only no GET.
    assert!(paths["/1/boards/{id}"].get("get").is_some() && paths["/1/boards/{id}"].get("put").is_some());
    assert!(paths["/1/boards/{id}"].get("post").is_none());
    assert!(paths["/1/boards/{id}/myPrefs/{pref}"].get("get").is_none());
    assert!(paths["/cork/openapi.json"]["get"]["security"] == serde_json::json!([]));

    // Every operation of Trello's spec, under Cork's path for it, with its summary.
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/trello-swagger.v3.json")).expect("spec"),
    )
    .expect("spec JSON");
    let mut absent = Vec::new();
    for (spec_path, item) in spec["paths"].as_object().expect("spec paths") {
        for (method, operation) in item.as_object().expect("spec item") {
            if method == "parameters" {
                continue;
            }
            let id = operation["operationId"].as_str().expect("operationId");
            let ours = paths.values().filter_map(|item| item.get(method)).find(|op| op["operationId"] == id);
            match ours {
                Some(ours) => {
                    assert_eq!(ours["summary"], operation["summary"], "{id}");
                    assert_eq!(ours["x-cork-trello"], "spec", "{id}");
                }
                None => absent.push(format!("{method} {spec_path}")),
            }
        }
    }
    assert!(absent.is_empty(), "spec operations missing: {absent:?}");

    // Routes only the older documentation has are marked; Cork's own are extensions.
    let deltas = &paths["/1/boards/{id}/deltas"]["get"];
    assert_eq!((deltas["x-cork-legacy"].clone(), deltas["x-cork-trello"].clone()), (Value::Bool(true), Value::from("legacy")));
    assert_eq!(paths["/cork/health"]["get"]["x-cork-extension"], Value::Bool(true));
    // Where Cork differs, the operation says so.
    assert!(paths["/1/batch"]["get"]["x-cork-differs"].as_str().is_some_and(|d| d.contains("statusCode")));
    assert!(!document["x-cork-errata"].as_array().expect("errata").is_empty());
}
