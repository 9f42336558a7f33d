//! `GET /cork/openapi.json`: one OpenAPI 3.1 document of everything Cork serves, for
//! operators, client generators and fuzzers.
//!
//! It is generated from the route table, so it cannot drift from the router: every path
//! of [`crate::route_paths`] is asked, through the router itself, which methods it takes
//! (a route layer that answers before any handler runs tells a matched route from the
//! router's 405, so nothing is read or written). Each operation then takes its
//! parameters, summary and responses from the official Trello spec (spec/, with the
//! errata of spec/errata.json applied) when Trello documents it, from the older
//! documentation's routes (spec/endpoints-legacy-only.tsv, marked `x-cork-legacy`)
//! when only that has it, and from the table below for Cork's own routes. Where Cork
//! answers differently from Trello, the operation says so (`x-cork-differs`, from
//! docs/compat-notes.tsv and spec/conformance-pending.tsv; `x-cork-errata`).
//!
//! The document is built on the first request and kept for the life of the process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::App;

const SPEC: &str = include_str!("../../../spec/trello-swagger.v3.json");
const ERRATA: &str = include_str!("../../../spec/errata.json");
const LEGACY: &str = include_str!("../../../spec/endpoints-legacy-only.tsv");
const PENDING: &str = include_str!("../../../spec/conformance-pending.tsv");
const NOTES: &str = include_str!("../../../docs/compat-notes.tsv");

/// The methods a route may take (HEAD follows GET in axum, OPTIONS is CORS's).
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// The header the probe's route layer answers with: the template that matched.
const PROBE_HEADER: &str = "x-cork-openapi-probe";

/// What Cork's own routes do, for the routes neither Trello spec has.
const SUMMARIES: &[(&str, &str, &str)] = &[
    ("GET", "/1/OAuthGetRequestToken", "OAuth 1.0a: a request token"),
    ("POST", "/1/OAuthGetRequestToken", "OAuth 1.0a: a request token"),
    ("GET", "/1/OAuthAuthorizeToken", "OAuth 1.0a: the consent page for a request token"),
    ("POST", "/1/OAuthAuthorizeToken", "OAuth 1.0a: grant or refuse a request token"),
    ("GET", "/1/OAuthGetAccessToken", "OAuth 1.0a: exchange a verified request token for an access token"),
    ("POST", "/1/OAuthGetAccessToken", "OAuth 1.0a: exchange a verified request token for an access token"),
    ("GET", "/1/authorize", "The consent page that issues a token to an application"),
    ("POST", "/1/authorize", "Grant a token to an application (the consent page's form)"),
    ("PUT", "/1/boards/{id}/myPrefs/{pref}", "Update one of your preferences on a board"),
    ("PUT", "/1/boards/{id}/{field}/{sub}", "Update one nested field of a board (prefs/x, labelNames/x)"),
    ("GET", "/1/cards/{id}/attachments/{attachment}/download/{file}", "Download an uploaded attachment's file"),
    ("PUT", "/1/cards/{id}/checklist/{checklist}/checkItem/{item}/{field}", "Update one field of a checkitem"),
    ("DELETE", "/1/cards/{id}/members/{member}", "Remove a member from a card"),
    ("GET", "/1/members/{id}/enterprises", "Get the enterprises of a member"),
    ("PUT", "/1/members/{id}/prefs/{pref}", "Update one preference of a member"),
    ("PUT", "/1/members/{id}/savedSearches/{search}/{field}", "Update one field of a saved search"),
    ("PUT", "/1/organizations/{id}/prefs/{pref}", "Update one preference of a workspace"),
    ("DELETE", "/1/organizations/{id}/prefs/{pref}", "Reset one preference of a workspace"),
    ("PUT", "/1/organizations/{id}/prefs/{pref}/{sub}", "Update one nested preference of a workspace"),
    ("GET", "/1/plugins/{id}/listings", "Get the listings of a Power-Up"),
    ("PUT", "/1/boards/{id}/{field}", "Update one field of a board (`value`): the per-field form older clients use"),
    ("PUT", "/1/cards/{id}/{field}", "Update one field of a card (`value`): the per-field form older clients use"),
    ("PUT", "/1/members/{id}/{field}", "Update one field of a member (`value`): the per-field form older clients use"),
    ("PUT", "/1/organizations/{id}/{field}", "Update one field of a workspace (`value`): the per-field form older clients use"),
    ("PUT", "/1/webhooks/{id}/{field}", "Update one field of a webhook (`value`): the per-field form older clients use"),
    ("GET", "/1/labels/{id}/{field}", "Get one field of a label"),
    ("POST", "/1/cards/{id}/members", "Add a member to a card (`value`: the member's id)"),
    ("GET", "/1/members/{id}/oneTimeMessagesDismissed", "Get the one-time messages a member dismissed"),
    ("GET", "/1/notifications/{id}/unread", "Get whether a notification is unread"),
    ("GET", "/cork/health", "Liveness: the process is up and serving (docs/operations.md)"),
    ("GET", "/cork/ready", "Readiness: database, migrations, webhook worker, not draining; 503 otherwise"),
    ("GET", "/cork/metrics", "Prometheus metrics, for loopback scrapers or the metrics bearer token"),
    ("GET", "/cork/openapi.json", "This document"),
    ("GET", "/cork/audit", "The audit of refused requests (401 and 429), for administrators"),
    ("GET", "/cork/audit/actions", "Export the actions of a board, workspace, member, token or key (JSON lines or CSV)"),
    ("POST", "/cork/actions/{id}/revert", "Undo one action, if the objects still hold what it wrote (docs/guardrails.md)"),
    ("POST", "/cork/rollback", "Undo the actions of a token, key or member, newest first (docs/guardrails.md)"),
    ("GET", "/cork/boards/{id}/policy", "A board's review gates and source-of-truth rules"),
    ("PUT", "/cork/boards/{id}/policy", "Set a board's review gates and source-of-truth rules"),
    ("GET", "/cork/changeRequests", "Change requests held for review"),
    ("GET", "/cork/changeRequests/{id}", "One change request, with the preview of its answer"),
    ("POST", "/cork/changeRequests/{id}/approve", "Approve a change request: it is sent again as its requester"),
    ("POST", "/cork/changeRequests/{id}/reject", "Reject a change request"),
    ("GET", "/cork/boards/{id}/events", "Server-Sent Events of a board's committed writes (the web board's live view)"),
    ("GET", "/cork/boards/{id}/export", "A board in Trello's export shape (docs/import-export.md)"),
    ("GET", "/cork/boards/{id}/report", "A board's report for the web board"),
    ("GET", "/cork/imports", "The web board's import jobs"),
    ("POST", "/cork/imports", "Import a Trello board export (streamed; runs as a job)"),
    ("GET", "/cork/imports/{id}", "One import job and its report"),
    ("GET", "/cork/mirrors", "The boards mirrored from another Trello-speaking server"),
    ("GET", "/cork/exports/{export}", "Download a workspace export file"),
    ("GET", "/cork/avatars/{file}", "A member's uploaded avatar"),
    ("GET", "/cork/pictures/{key}", "An uploaded picture (background, sticker, emoji)"),
    ("GET", "/cork/pictures/{key}/{file}", "An uploaded picture, by its file name"),
    ("GET", "/cork/stickers/{file}", "One of the default stickers"),
    ("GET", "/cork/webhooks/{id}/deliveries", "A webhook's recent deliveries and their outcomes"),
    ("POST", "/cork/webhooks/deliveries/{id}/redeliver", "Send one webhook delivery again"),
    ("GET", "/", "The web board: the boards of the signed-in member"),
    ("GET", "/b/{short_link}", "The web board: one board"),
    ("GET", "/b/{short_link}/{slug}", "The web board: one board"),
    ("GET", "/c/{short_link}", "The web board: one card"),
    ("GET", "/c/{short_link}/{slug}", "The web board: one card"),
    ("GET", "/r/{short_link}", "The web board: one board's report"),
    ("GET", "/search", "The web board: search"),
    ("GET", "/review", "The web board: change requests to review"),
    ("GET", "/import", "The web board: import a Trello export"),
    ("GET", "/assets/{version}/{name}", "The web board's scripts, styles and images"),
    ("GET", "/login", "The sign-in page"),
    ("POST", "/login", "Sign in (a session cookie)"),
    ("POST", "/logout", "Sign out"),
    ("GET", "/signup", "The sign-up page (with `cork serve --allow-signup`)"),
    ("POST", "/signup", "Create an account (with `cork serve --allow-signup`)"),
    ("GET", "/account", "The signed-in member's account page"),
    ("POST", "/account", "Update the signed-in member's profile"),
    ("GET", "/account/password", "The password page"),
    ("POST", "/account/password", "Change the signed-in member's password"),
    ("GET", "/account/tokens", "The signed-in member's tokens"),
    ("POST", "/account/tokens/revoke", "Revoke one of the signed-in member's tokens"),
    ("GET", "/app-key", "The signed-in member's application key and secret"),
    ("POST", "/app-key", "Create or rename the signed-in member's application key"),
];

/// The summary an operation gets when nothing describes it; the tests look for it.
pub(crate) const UNDESCRIBED: &str = "Served by Cork (undescribed)";

/// Routes that need no credentials.
const PUBLIC: &[&str] = &["/cork/health", "/cork/ready", "/cork/openapi.json", "/1/OAuthGetRequestToken", "/1/OAuthGetAccessToken"];

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/openapi.json", get(serve_document))
}

async fn serve_document(State(app): State<App>) -> Response {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let bytes = match DOCUMENT.get() {
        Some(bytes) => bytes.clone(),
        None => match serde_json::to_vec(&document(&app).await) {
            // Two first requests may both build it; the one kept is the same document.
            Ok(bytes) => DOCUMENT.get_or_init(|| Bytes::from(bytes)).clone(),
            Err(error) => return crate::error::ApiError::from(cork_core::DomainError::Internal(error.to_string())).into_response(),
        },
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))], bytes).into_response()
}

/// The probe's route layer: notes which route matched. A route layer runs for every
/// request whose path matched, the method's handler or the 405 fallback after it.
async fn probe_marker(request: Request, next: Next) -> Response {
    let template = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&template) {
        response.headers_mut().insert(PROBE_HEADER, value);
    }
    response
}

/// Asks the router which route serves a path, and with which methods: a TRACE, which no
/// route takes, reaches the route's 405 fallback, whose `Allow` lists the methods (no
/// handler runs, nothing is read or written).
struct Probe(Router);

impl Probe {
    fn new(app: &App) -> Probe {
        Probe(crate::served_routes().route_layer(axum::middleware::from_fn(probe_marker)).with_state(app.clone()))
    }

    async fn route(&self, path: &str) -> Option<(String, Vec<Method>)> {
        let request = Request::builder().method(Method::TRACE).uri(path).body(Body::empty()).ok()?;
        let response = self.0.clone().oneshot(request).await.ok()?;
        if response.status() != StatusCode::METHOD_NOT_ALLOWED {
            return None;
        }
        let template = response.headers().get(PROBE_HEADER)?.to_str().ok()?.to_string();
        let allow = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let methods = METHODS.iter().filter(|m| allow.split(',').any(|a| a.trim() == m.as_str())).cloned().collect();
        Some((template, methods))
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') || segment.starts_with("${")
}

fn param_name(segment: &str) -> &str {
    segment.trim_start_matches('$').trim_start_matches('{').trim_end_matches('}')
}

/// The path parameters of a path, in order.
fn params_of(path: &str) -> Vec<String> {
    segments(path).into_iter().filter(|s| is_param(s)).map(|s| param_name(s).to_string()).collect()
}

/// Whether two paths (without `/1`) have the same shape: literals equal (any case),
/// parameters where the other has parameters.
fn same_shape(a: &str, b: &str) -> bool {
    let (a, b) = (segments(a), segments(b));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| match (is_param(x), is_param(y)) {
            (true, true) => true,
            (false, false) => x.eq_ignore_ascii_case(y),
            _ => false,
        })
}

/// A concrete path for a template: each parameter filled with a value no literal
/// segment has.
fn concrete(path: &str) -> String {
    let filled: Vec<String> =
        segments(path).into_iter().map(|s| if is_param(s) { format!("cork-probe-{}", param_name(s)) } else { s.to_string() }).collect();
    crate::normalize_path(&format!("/{}", filled.join("/")))
}

/// `~` and `/` escaped for a JSON pointer.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Rows of a tab-separated file, without comments and the header.
fn tsv_rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.split('\t').collect::<Vec<_>>())
}

/// The official spec with the errata applied, and the errata by the operation they
/// correct (`"get /search"`) or, for shared schemas, under `""`.
fn corrected_spec() -> (Value, HashMap<String, Vec<(String, String)>>) {
    let mut spec: Value = serde_json::from_str(SPEC).unwrap_or(Value::Null);
    let errata: Value = serde_json::from_str(ERRATA).unwrap_or(Value::Null);
    let mut by_operation: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let paths: Vec<String> = spec["paths"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    for erratum in errata["errata"].as_array().into_iter().flatten() {
        let (Some(pointer), Some(reason)) = (erratum["pointer"].as_str(), erratum["reason"].as_str()) else { continue };
        if let Some(target) = spec.pointer_mut(pointer) {
            *target = erratum["schema"].clone();
        }
        let mut key = String::new();
        let mut rest = pointer.to_string();
        for path in &paths {
            for method in ["get", "post", "put", "delete"] {
                let prefix = format!("/paths/{}/{method}/", escape(path));
                if let Some(tail) = pointer.strip_prefix(&prefix) {
                    key = format!("{method} {path}");
                    rest = tail.to_string();
                }
            }
        }
        by_operation.entry(key).or_default().push((rest, reason.to_string()));
    }
    (spec, by_operation)
}

/// A path parameter as Cork takes it.
fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

/// The operation's parameters with its path parameters named as in `template` (matched
/// by position with those of `source`), every parameter of `template` declared once,
/// and no `key`/`token` (the security schemes carry them).
fn fit_parameters(parameters: Vec<Value>, source: &str, template: &str, schemas: &Value) -> Vec<Value> {
    let theirs = params_of(source);
    let ours = params_of(template);
    let rename: HashMap<&str, &str> = theirs.iter().map(String::as_str).zip(ours.iter().map(String::as_str)).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for mut parameter in parameters {
        let location = parameter["in"].as_str().unwrap_or_default().to_string();
        let name = parameter["name"].as_str().unwrap_or_default().to_string();
        if location == "query" && (name == "key" || name == "token") {
            continue;
        }
        if let Some(schema) = parameter.get_mut("schema") {
            *schema = inline(schema, schemas, 3);
            repair_default(schema);
        }
        let name = if location == "path" {
            match rename.get(name.as_str()) {
                Some(ours) => {
                    parameter["name"] = json!(ours);
                    parameter["required"] = json!(true);
                    // Cork, like Trello, takes more than the 24-hex id the spec's schema
                    // allows in id positions: a shortLink, `me`, a username, a name. A
                    // path segment is a string; an enumeration of them stays.
                    if parameter["schema"].get("enum").is_none() {
                        parameter["schema"] = json!({"type": "string"});
                    }
                    ours.to_string()
                }
                None => continue,
            }
        } else {
            name
        };
        if seen.insert((location, name)) {
            out.push(parameter);
        }
    }
    for name in ours {
        if !seen.contains(&("path".to_string(), name.clone())) {
            out.push(path_param(&name));
        }
    }
    out
}

/// A parameter's schema with its references to shared schemas written out (up to
/// `depth` levels), so a consumer needs no resolver for a parameter. The siblings a
/// reference carries (`default`, `description`, `example`) are kept.
fn inline(schema: &Value, schemas: &Value, depth: u8) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
                let target = &schemas[name];
                if depth == 0 || target.is_null() {
                    return schema.clone();
                }
                let mut out = inline(target, schemas, depth - 1);
                if let Value::Object(out_map) = &mut out {
                    for key in ["default", "description", "example"] {
                        if let Some(value) = map.get(key) {
                            out_map.insert(key.to_string(), value.clone());
                        }
                    }
                }
                return out;
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), inline(v, schemas, depth))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline(v, schemas, depth)).collect()),
        other => other.clone(),
    }
}

/// Whether `value` fits `schema`, as far as a parameter's default needs: its enumeration
/// and type, or one of its alternatives.
fn fits(schema: &Value, value: &Value) -> bool {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            return false;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            if !alternatives.iter().any(|alternative| fits(alternative, value)) {
                return false;
            }
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.as_array().is_some_and(|items| items.iter().all(|item| fits(&schema["items"], item))),
        _ => true,
    }
}

/// The values an enumeration (or the items' enumeration) lists.
fn enumerated(schema: &Value) -> Vec<String> {
    let from = schema.get("enum").or_else(|| schema["items"].get("enum"));
    from.and_then(Value::as_array).map(|v| v.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// A parameter whose spec default its own schema refuses (`fields` defaults to `all` or
/// a comma-separated list where the schema enumerates single names, numbers written as
/// strings): Cork takes what Trello takes, so the schema is widened to match.
fn repair_default(schema: &mut Value) {
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        let mut seen = BTreeSet::new();
        values.retain(|v| seen.insert(v.to_string()));
    }
    let Some(default) = schema.get("default").cloned() else { return };
    if fits(schema, &default) {
        return;
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or_default();
    let number = default.as_str().and_then(|d| d.trim().parse::<i64>().ok());
    schema["default"] = match (kind, number) {
        ("integer" | "number", Some(n)) => json!(n),
        _ => {
            let text = match &default {
                Value::String(text) => text.clone(),
                Value::Array(items) => {
                    items.iter().map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join(",")
                }
                other => other.to_string(),
            };
            let values = enumerated(schema);
            let mut widened = json!({"type": "string", "default": text});
            if !values.is_empty() {
                widened["description"] = json!(format!("`all`, or a comma-separated list of: {}", values.join(", ")));
            }
            if let Some(description) = schema.get("description") {
                widened["description"] = description.clone();
            }
            *schema = widened;
            return;
        }
    };
}

/// Cork's error answers: Trello's statuses with a short plain-text body.
fn error_response() -> Value {
    json!({
        "description": "A Trello-format error: Trello's status with its text (`invalid id`, `The requested resource was not found.`, `unauthorized permission requested`, ...), or JSON for 429",
        "content": {"text/plain": {"schema": {"type": "string"}}}
    })
}

/// The operation id Cork gives an operation Trello's spec does not name.
fn operation_id(method: &Method, path: &str, taken: &mut BTreeSet<String>) -> String {
    let mut id = format!("cork-{}", method.as_str().to_ascii_lowercase());
    for segment in segments(path) {
        id.push('-');
        id.extend(param_name(segment).chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }));
    }
    if path == "/" {
        id.push_str("-root");
    }
    let mut unique = id.clone();
    let mut n = 2;
    while !taken.insert(unique.clone()) {
        unique = format!("{id}-{n}");
        n += 1;
    }
    unique
}

struct Sources {
    spec: Value,
    errata: HashMap<String, Vec<(String, String)>>,
    /// (method, path) of spec/endpoints-legacy-only.tsv → (group, summary, query parameters).
    legacy: Vec<(String, String, String, String, Vec<String>)>,
    /// (METHOD, spec path) → notes on how Cork differs.
    notes: HashMap<(String, String), Vec<String>>,
    summaries: HashMap<(String, String), &'static str>,
}

impl Sources {
    fn load() -> Sources {
        let (spec, errata) = corrected_spec();
        let legacy = tsv_rows(LEGACY)
            .skip(1)
            .filter(|r| r.len() >= 4)
            .map(|r| {
                let query = r.get(4).map(|p| {
                    p.split_whitespace()
                        .filter_map(|p| p.strip_suffix("(q)"))
                        .filter(|p| *p != "key" && *p != "token")
                        .map(str::to_string)
                        .collect()
                });
                (r[1].to_string(), r[2].to_string(), r[0].to_string(), r[3].to_string(), query.unwrap_or_default())
            })
            .collect();
        let mut notes: HashMap<(String, String), Vec<String>> = HashMap::new();
        for row in tsv_rows(NOTES).filter(|r| r.len() >= 3) {
            notes.entry((row[0].to_string(), row[1].to_string())).or_default().push(row[2].to_string());
        }
        for row in tsv_rows(PENDING).filter(|r| r.len() >= 3) {
            let note = format!("Cork's answer differs from the spec's response schema: {}", row[2]);
            notes.entry((row[0].to_string(), row[1].to_string())).or_default().push(note);
        }
        let summaries = SUMMARIES.iter().map(|(m, p, s)| ((m.to_string(), p.to_string()), *s)).collect();
        Sources { spec, errata, legacy, notes, summaries }
    }

    /// The spec path and operation for `method` on a path of this shape.
    fn spec_operation(&self, method: &Method, trello_path: &str) -> Option<(String, Value)> {
        let method = method.as_str().to_ascii_lowercase();
        let paths = self.spec["paths"].as_object()?;
        let mut found: Vec<(&String, &Value)> =
            paths.iter().filter(|(path, item)| same_shape(path, trello_path) && item.get(&method).is_some()).collect();
        // `/tokens/{token}/` and `/tokens/{token}`: the one without the slash.
        found.sort_by_key(|(path, _)| path.ends_with('/'));
        let (path, item) = found.first()?;
        let mut operation = item[&method].clone();
        let mut parameters: Vec<Value> = operation["parameters"].as_array().cloned().unwrap_or_default();
        for shared in item["parameters"].as_array().into_iter().flatten() {
            let clash = parameters.iter().any(|p| p["name"] == shared["name"] && p["in"] == shared["in"]);
            if !clash {
                parameters.push(shared.clone());
            }
        }
        operation["parameters"] = Value::Array(parameters);
        Some((path.to_string(), operation))
    }

    /// An operation of the official spec, served at `doc_path` by `template`.
    fn spec_op(&self, method: &Method, doc_path: &str, spec_path: &str, mut operation: Value) -> Value {
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        operation["parameters"] = Value::Array(fit_parameters(parameters, spec_path, doc_path, &self.spec["components"]["schemas"]));
        let lower = method.as_str().to_ascii_lowercase();
        if let Some(errata) = self.errata.get(&format!("{lower} {spec_path}")) {
            let base = format!("/paths/{}/{lower}/", escape(doc_path));
            operation["x-cork-errata"] =
                errata.iter().map(|(rest, reason)| json!({"pointer": format!("{base}{rest}"), "reason": reason})).collect();
        }
        let key = (method.as_str().to_string(), spec_path.to_string());
        if let Some(notes) = self.notes.get(&key).or_else(|| self.notes.get(&(key.0.clone(), format!("{spec_path}/")))) {
            let text = notes.join(" ");
            let description = operation["description"].as_str().unwrap_or_default().to_string();
            operation["description"] = json!(format!("{description}\n\n**Cork:** {text}").trim_start().to_string());
            operation["x-cork-differs"] = json!(text);
        }
        operation["x-cork-trello"] = json!("spec");
        operation
    }

    /// A route of Trello's older documentation that the current spec dropped.
    fn legacy_op(&self, method: &Method, template: &str) -> Option<Value> {
        let trello_path = template.strip_prefix("/1")?;
        let (_, path, group, summary, query) =
            self.legacy.iter().find(|(m, path, ..)| m == method.as_str() && same_shape(path, trello_path))?;
        let mut parameters: Vec<Value> = params_of(path).iter().map(|p| path_param(p)).collect();
        parameters.extend(query.iter().map(|name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}})));
        Some(json!({
            "tags": [group, "legacy"],
            "summary": summary,
            "description": "A route of Trello's older documentation that its current spec no longer lists; clients still call it.",
            "parameters": fit_parameters(parameters, path, template, &Value::Null),
            "responses": {"200": {"description": "Success", "content": {"application/json": {"schema": {}}}}},
            "x-cork-legacy": true,
            "x-cork-trello": "legacy",
        }))
    }

    /// A route neither Trello spec has: Cork's own, or a page of the web board.
    fn cork_op(&self, method: &Method, template: &str) -> Value {
        let summary = self.summaries.get(&(method.as_str().to_string(), template.to_string())).copied().unwrap_or(UNDESCRIBED);
        let (tag, content) = if template.starts_with("/cork/") {
            ("cork", json!({"application/json": {"schema": {}}}))
        } else if let Some(rest) = template.strip_prefix("/1/") {
            (rest.split('/').next().unwrap_or("cork"), json!({"application/json": {"schema": {}}}))
        } else {
            ("web", json!({"text/html": {"schema": {"type": "string"}}}))
        };
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "parameters": fit_parameters(Vec::new(), template, template, &Value::Null),
            "responses": {"200": {"description": "Success", "content": content}},
            "x-cork-extension": true,
        });
        if tag == "web" || PUBLIC.contains(&template) {
            operation["security"] = json!([]);
        }
        operation
    }
}

/// The document's paths, and the operation ids given so far.
#[derive(Default)]
struct Paths {
    paths: BTreeMap<String, Map<String, Value>>,
    ids: BTreeSet<String>,
}

impl Paths {
    fn add(&mut self, path: &str, method: &Method, mut operation: Value, template: &str) {
        let named = operation["operationId"].as_str().is_some_and(|id| self.ids.insert(id.to_string()));
        if !named {
            operation["operationId"] = json!(operation_id(method, path, &mut self.ids));
        }
        operation["x-cork-route"] = json!(template);
        if let Some(responses) = operation["responses"].as_object_mut() {
            responses.entry("default").or_insert_with(error_response);
        }
        self.paths.entry(path.to_string()).or_default().insert(method.as_str().to_ascii_lowercase(), operation);
    }
}

/// The whole document.
pub(crate) async fn document(app: &App) -> Value {
    let sources = Sources::load();
    let probe = Probe::new(app);
    let mut doc = Paths::default();
    let mut covered = BTreeSet::new();
    for template in crate::route_paths() {
        let Some((matched, methods)) = probe.route(&concrete(&template)).await else { continue };
        if matched != template {
            continue;
        }
        for method in &methods {
            let trello = template.strip_prefix("/1").filter(|_| template.starts_with("/1/"));
            let operation = match trello.and_then(|t| sources.spec_operation(method, t)) {
                Some((spec_path, operation)) => {
                    covered.insert((method.clone(), spec_path.clone()));
                    sources.spec_op(method, &template, &spec_path, operation)
                }
                None => sources.legacy_op(method, &template).unwrap_or_else(|| sources.cork_op(method, &template)),
            };
            doc.add(&template, method, operation, &template);
        }
    }
    // Operations of the spec that a more general route serves (`/boards/{id}/myPrefs/
    // showSidebar` by `/1/boards/{id}/myPrefs/{pref}`): listed under their own path.
    let spec_paths: Vec<String> = sources.spec["paths"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    for spec_path in spec_paths {
        let doc_path = format!(
            "/1/{}",
            segments(&spec_path)
                .iter()
                .map(|s| if is_param(s) { format!("{{{}}}", param_name(s)) } else { s.to_string() })
                .collect::<Vec<_>>()
                .join("/")
        );
        for method in &METHODS {
            if covered.contains(&(method.clone(), spec_path.clone()))
                || covered.contains(&(method.clone(), format!("{}/", spec_path.trim_end_matches('/'))))
            {
                continue;
            }
            let Some((found, operation)) = sources.spec_operation(method, &spec_path) else { continue };
            if found != spec_path {
                continue;
            }
            let Some((template, methods)) = probe.route(&concrete(&doc_path)).await else { continue };
            if !methods.contains(method) {
                continue;
            }
            let operation = sources.spec_op(method, &doc_path, &spec_path, operation);
            doc.add(&doc_path, method, operation, &template);
        }
    }
    let shared_errata: Vec<Value> =
        sources.errata.get("").into_iter().flatten().map(|(pointer, reason)| json!({"pointer": pointer, "reason": reason})).collect();
    let mut components = sources.spec["components"].clone();
    components["securitySchemes"] = json!({
        "APIKey": {"type": "apiKey", "in": "query", "name": "key", "description": "An application key (`cork key create`, or /app-key)."},
        "APIToken": {"type": "apiKey", "in": "query", "name": "token", "description": "A token (`cork token create`, or /1/authorize). `key` and `token` may also come in a form, JSON or multipart body."},
        "OAuth": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Authorization: OAuth oauth_consumer_key=\"KEY\", oauth_token=\"TOKEN\"` (OAuth 1.0a; the signature is not required)."},
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cork: the Trello REST API v1 as Cork serves it",
            "version": env!("CARGO_PKG_VERSION"),
            "description": concat!(
                "Generated by Cork from its route table: every path and method here is one Cork's router answers. ",
                "Operations Trello documents keep the official spec's parameters, summaries and response schemas, corrected by ",
                "Cork's errata (`x-cork-errata` at the top level for shared schemas, on an operation for its own answer). ",
                "`x-cork-trello`: `spec` (Trello's current spec) or `legacy` (its older documentation; also `x-cork-legacy: true`). ",
                "`x-cork-extension: true`: Cork's own routes (`/cork/...`, the token-issuing flows, the web board's pages). ",
                "`x-cork-differs`: how Cork's answer differs from the spec's. `x-cork-route`: the route template that serves the operation. ",
                "Path parameters are plain strings: where the spec allows a 24-hex id, Cork, like Trello, also takes a board's or card's shortLink, `me` or a username for a member, a workspace's name. ",
                "Paths are normalised before routing: the model segment may be singular or plural, in any case, with or without a trailing slash. ",
                "Errors are plain text with Trello's status and exact wording."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"APIKey": [], "APIToken": []}, {"OAuth": []}],
        "tags": [{"name": "legacy", "description": "Routes of Trello's older documentation that clients still call."},
                 {"name": "cork", "description": "Cork's extensions."},
                 {"name": "web", "description": "The web board's pages and the sign-in flows (HTML)."}],
        "paths": doc.paths,
        "components": components,
        "x-cork-errata": shared_errata,
    })
}
