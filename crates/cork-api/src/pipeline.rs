//! The wire side of the write pipeline: every request runs in a task of its own, and
//! every write request (anything but GET, HEAD, OPTIONS) runs inside a
//! [`cork_store::pipeline::Pipeline`], which owns the ending of its transaction:
//!
//! - the commands of the request share one transaction, committed once the response is
//!   built, so a response is sent only after its commit. Each command is atomic (a
//!   failed one is undone to its savepoint); what the commands that finished wrote is
//!   committed whatever the status, as when each committed alone (a wrong OAuth
//!   verifier must still burn its request token);
//! - a dry run (`X-Cork-Dry-Run: true` or `dryRun=true`) runs the same validation,
//!   permissions and statements, answers what the write would answer, and rolls back;
//! - a write that lost a race (PostgreSQL serialization failure or deadlock, a stale
//!   compare-and-set) is tried again from the start, never answered with a 500;
//! - with an `Idempotency-Key`, the first success is stored in the same transaction and
//!   replayed to retries for 24 hours.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cork_core::gates::{ChangeRequest, HeldCommand, Verdict};
use cork_store::pipeline::{Ending, Pipeline};
use cork_store::StoredAnswer;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::App;

/// Attempts of one write before Cork answers 503.
const ATTEMPTS: u32 = 12;
/// How long an idempotency key's answer is replayed.
const KEY_LIFETIME_SECS: i64 = 24 * 3600;
/// Longest `Idempotency-Key` accepted.
const KEY_MAX_LEN: usize = 255;
/// Most actions listed in `X-Cork-Actions` (the count is always in `X-Cork-Action-Count`).
const LISTED_ACTIONS: usize = 100;

/// Runs the request in a task of its own. A client that disconnects drops the
/// connection's future, and with it whatever the request was awaiting; a transaction
/// cut off between two statements could leave a pooled connection inside it. In its own
/// task the request always runs to its end. A panic in a handler becomes a plain 500.
pub(crate) async fn detach(request: Request, next: Next) -> Response {
    // An approved change runs inside its approval's task, pipeline and transaction.
    if request.extensions().get::<Approved>().is_some() {
        return next.run(request).await;
    }
    let request_id = request.extensions().get::<crate::ops::RequestId>().map(|r| r.0.clone());
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => {
            // The panic's own message is in the log already (the panic hook); this line
            // ties it to the request and gives the caller a number to quote.
            let incident = cork_core::ids::new_id();
            tracing::error!(%error, %incident, request_id = request_id.as_deref().unwrap_or(""), "a request handler panicked");
            metrics::counter!("cork_panics_total").increment(1);
            let mut response = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
            if let Ok(value) = axum::http::HeaderValue::from_str(&incident) {
                response.headers_mut().insert("x-cork-incident", value);
            }
            response
        }
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn truthy(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// Whether the request asks for a dry run.
fn wants_dry_run(request: &Request) -> bool {
    if let Some(value) = request.headers().get("x-cork-dry-run").and_then(|v| v.to_str().ok()) {
        return truthy(value.trim());
    }
    request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).any(|(name, value)| name == "dryRun" && truthy(&value)))
        .unwrap_or(false)
}

/// The parts of a request needed to send it again.
struct Replayable {
    method: Method,
    uri: axum::http::Uri,
    version: axum::http::Version,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
}

impl Replayable {
    fn request(&self) -> Request {
        let mut request = Request::new(Body::from(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        *request.extensions_mut() = self.extensions.clone();
        request
    }
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Whose key it is: a hash of the credentials the request presents (its token in the
/// query, body or `Authorization` header, or its session cookie). Keys of different
/// callers never meet.
fn key_scope(request: &Replayable) -> String {
    let mut material: Vec<Vec<u8>> = Vec::new();
    for name in [header::AUTHORIZATION, header::COOKIE] {
        if let Some(value) = request.headers.get(&name) {
            material.push(value.as_bytes().to_vec());
        }
    }
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(query) = request.uri.query() {
        params.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
    }
    let content_type = request.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend(form_urlencoded::parse(&request.body).into_owned());
    } else if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        for name in ["key", "token"] {
            if let Some(value) = object.get(name).and_then(|v| v.as_str()) {
                params.push((name.to_string(), value.to_string()));
            }
        }
    }
    for (name, value) in params {
        if name == "key" || name == "token" {
            material.push(format!("{name}={value}").into_bytes());
        }
    }
    let parts: Vec<&[u8]> = material.iter().map(Vec::as_slice).collect();
    hex_sha256(&parts)
}

/// What a retry must repeat exactly: method, target and body.
fn fingerprint(request: &Replayable) -> String {
    let target = request.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    hex_sha256(&[request.method.as_str().as_bytes(), target.as_bytes(), &request.body])
}

/// Keys whose first request is still running in this process.
fn in_flight() -> &'static Mutex<HashSet<(String, String)>> {
    static KEYS: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// Holds a key as in flight until dropped.
struct InFlight((String, String));

impl InFlight {
    fn claim(scope: &str, key: &str) -> Option<InFlight> {
        let entry = (scope.to_string(), key.to_string());
        let fresh = in_flight().lock().unwrap_or_else(|p| p.into_inner()).insert(entry.clone());
        // Built only when claimed: a guard dropped here would release another's claim.
        fresh.then(|| InFlight(entry))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        in_flight().lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    if let Some(value) = answer.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn error(status: StatusCode, text: &str) -> Response {
    ApiError::new(status, text).into_response()
}

/// Marks the request an approval runs for a change request: it joins the approval's
/// pipeline (one transaction with the request's new state) and is not judged again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Approved;

/// The write pipeline around every write request (see the module documentation).
pub(crate) async fn write_pipeline(State(app): State<App>, request: Request, next: Next) -> Response {
    // The web board's import streams its body to a file and writes in a background job
    // of its own (one transaction, see cork_core::import), so it is not buffered here.
    let bulk = request.uri().path() == "/cork/imports";
    if !is_write(request.method()) || request.extensions().get::<Approved>().is_some() || bulk {
        return next.run(request).await;
    }
    let dry_run = wants_dry_run(&request);
    let (parts, body) = request.into_parts();
    let limit = app.config.upload_limit.saturating_add(app.config.body_limit).saturating_add(64 << 10);
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) => return crate::request::body_error(&e).into_response(),
    };
    let replayable = Replayable {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        extensions: parts.extensions,
        body,
    };

    // Idempotency: a key names one request of one caller.
    let key = match replayable.headers.get("idempotency-key").map(|v| v.to_str().map(str::trim)) {
        None => None,
        Some(Ok(key)) if !key.is_empty() && key.len() <= KEY_MAX_LEN => Some(key.to_string()),
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid value for Idempotency-Key"),
    };
    let keyed = key.map(|key| (key_scope(&replayable), key, fingerprint(&replayable)));
    let mut _held = None;
    if let Some((scope, key, print)) = &keyed {
        match app.cork.store.idempotent_answer(scope, key, unix_now() - KEY_LIFETIME_SECS).await {
            Ok(Some(answer)) if &answer.fingerprint == print => return replay(answer),
            Ok(Some(_)) => return error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency key reused with a different request"),
            Ok(None) => {}
            Err(e) => return ApiError::from_store(e, "reading an idempotency key").into_response(),
        }
        match InFlight::claim(scope, key) {
            Some(held) => _held = Some(held),
            None => return error(StatusCode::CONFLICT, "idempotency key in use"),
        }
    }

    let pipeline = Pipeline::new(cork_core::ids::new_id(), dry_run);
    for attempt in 1..=ATTEMPTS {
        let response = pipeline.scope(next.clone().run(replayable.request())).await;
        if pipeline.take_retry() {
            tracing::debug!(attempt, "write conflict; trying the request again");
            pipeline.reset().await;
            backoff(attempt).await;
            continue;
        }
        let success = response.status().is_success() || response.status().is_redirection();
        // Review gates and source-of-truth rules judge the write by what it recorded. A
        // decision on a change request runs a change already judged.
        if success && !dry_run && !replayable.uri.path().starts_with("/cork/changeRequests/") {
            let recorded = pipeline.actions();
            // Inside the scope, its reads borrow the request's own transaction: a second
            // connection here could wait forever on a pool held by waiting writers.
            match pipeline.scope(app.cork.judge_write(replayable.uri.path(), &recorded)).await {
                Ok(None) => {}
                Ok(Some(verdict)) => {
                    let (head, body) = response.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
                    if let Err(e) = pipeline.finish(&app.cork.store, false, None).await {
                        tracing::error!(error = %e, "rolling back a held write");
                    }
                    return match verdict {
                        Verdict::Refuse(text) => error(StatusCode::CONFLICT, &text),
                        Verdict::Hold { .. } if is_multipart(&replayable.headers) => {
                            // An upload's bytes are not kept for later: refuse rather than hold.
                            error(StatusCode::CONFLICT, "this upload needs a board admin's review, and uploads cannot be held: ask one")
                        }
                        Verdict::Hold { board, reason } => {
                            let held = hold(&app, &replayable, head.status, &body, board, reason, &recorded).await;
                            let id = held.headers().get("x-cork-change-request").and_then(|v| v.to_str().ok()).map(str::to_string);
                            store_held_answer(&app, keyed.as_ref(), id).await;
                            held
                        }
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "judging a write");
                    pipeline.reset().await;
                    return ApiError::from(e).into_response();
                }
            }
        }
        // The answer to store goes into the write's own transaction, so it needs the body now.
        let (response, final_row) = match &keyed {
            Some((scope, key, print)) if success && !dry_run => {
                let (head, body) = response.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                    pipeline.reset().await;
                    return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                };
                let row = std::str::from_utf8(&bytes).ok().map(|text| {
                    StoredAnswer {
                        fingerprint: print.clone(),
                        status: head.status.as_u16(),
                        content_type: head.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string),
                        body: text.to_string(),
                    }
                    .row(scope, key, unix_now())
                });
                (Response::from_parts(head, Body::from(bytes)), row)
            }
            _ => (response, None),
        };
        let actions = pipeline.actions();
        match pipeline.finish(&app.cork.store, true, final_row).await {
            Ok(ending) => {
                if ending == Ending::Committed {
                    app.live.publish(&actions);
                }
                return finished(response, dry_run, ending, &actions);
            }
            Err(cork_store::StoreError::Retry(_) | cork_store::StoreError::Unavailable(_)) => {
                // The commit itself lost (a PostgreSQL serialization failure), or the
                // connection went before COMMIT was sent: nothing was applied; start over.
                pipeline.take_retry();
                pipeline.reset().await;
                backoff(attempt).await;
                continue;
            }
            Err(cork_store::StoreError::Conflict(_)) if keyed.is_some() => {
                // Another node stored an answer for this key first; this attempt is undone.
                let (scope, key, print) = keyed.as_ref().expect("checked above");
                return match app.cork.store.idempotent_answer(scope, key, unix_now() - KEY_LIFETIME_SECS).await {
                    Ok(Some(answer)) if &answer.fingerprint == print => replay(answer),
                    Ok(Some(_)) => error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency key reused with a different request"),
                    _ => error(StatusCode::CONFLICT, "idempotency key in use"),
                };
            }
            Err(e) => {
                let unknown = matches!(e, cork_store::StoreError::CommitUnknown(_));
                let mut response = ApiError::from_store(e, "committing a request").into_response();
                if unknown {
                    metrics::counter!("cork_commit_outcome_unknown_total").increment(1);
                    response.headers_mut().insert("x-cork-commit", HeaderValue::from_static("unknown"));
                    // No invitation to send it again as it is: it may have been applied.
                    response.headers_mut().remove(header::RETRY_AFTER);
                }
                return response;
            }
        }
    }
    tracing::warn!(attempts = ATTEMPTS, "a write lost every race; answered 503");
    let mut busy = error(StatusCode::SERVICE_UNAVAILABLE, "The server is busy; try again.");
    busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    busy
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("multipart/"))
}

/// The query or form pairs of a request less its credentials.
fn without_credentials(pairs: &[u8]) -> String {
    let kept: Vec<(String, String)> =
        form_urlencoded::parse(pairs).into_owned().filter(|(name, _)| name != "key" && name != "token" && name != "dryRun").collect();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish()
}

/// The request as a change request keeps it: no key, token or OAuth header.
fn held_command(request: &Replayable) -> HeldCommand {
    let path = request.uri.path();
    let query = request.uri.query().map(|q| without_credentials(q.as_bytes())).unwrap_or_default();
    let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    let content_type = request.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = match content_type.as_deref() {
        Some(t) if t.starts_with("application/x-www-form-urlencoded") => without_credentials(&request.body),
        _ => match serde_json::from_slice::<serde_json::Value>(&request.body) {
            Ok(serde_json::Value::Object(mut object)) => {
                object.remove("key");
                object.remove("token");
                serde_json::Value::Object(object).to_string()
            }
            _ => String::from_utf8_lossy(&request.body).into_owned(),
        },
    };
    HeldCommand { method: request.method.to_string(), target, content_type, body }
}

/// Keeps a held write as a pending change request and answers 202 with it; the preview
/// is the answer the write gave before it was rolled back.
async fn hold(
    app: &App,
    request: &Replayable,
    status: StatusCode,
    body: &[u8],
    board: Option<String>,
    reason: String,
    recorded: &[cork_store::pipeline::RecordedAction],
) -> Response {
    let preview_body = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_else(|_| String::from_utf8_lossy(body).into());
    let actions: Vec<serde_json::Value> = recorded
        .iter()
        .map(|a| {
            let data = serde_json::from_str::<serde_json::Value>(&a.doc).map(|d| d["data"].clone()).unwrap_or_default();
            serde_json::json!({"type": a.kind, "data": data})
        })
        .collect();
    let preview = serde_json::json!({"status": status.as_u16(), "body": preview_body, "actions": actions});
    match app.cork.hold_change(board, reason, recorded, held_command(request), preview).await {
        Ok(change) => {
            let mut response =
                (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], change_json(&change).to_string())
                    .into_response();
            response.headers_mut().insert("x-cork-change-request", HeaderValue::from_str(&change.id).expect("an id"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a change request");
            error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// A held write's 202 is its answer for its idempotency key too: a retry finds the same
/// change request instead of making another.
async fn store_held_answer(app: &App, keyed: Option<&(String, String, String)>, id: Option<String>) {
    let (Some((scope, key, print)), Some(id)) = (keyed, id) else { return };
    let Ok(change) = app.cork.change_request_unchecked(&id).await else { return };
    let Ok(mut tx) = app.cork.store.write().await else { return };
    let answer = StoredAnswer {
        fingerprint: print.clone(),
        status: 202,
        content_type: Some("application/json; charset=utf-8".into()),
        body: change_json(&change).to_string(),
    };
    let row = answer.row(scope, key, unix_now());
    if tx.insert(row.table, &row.values).await.is_ok() {
        let _ = tx.commit().await;
    }
}

/// A change request as the API shows it.
pub(crate) fn change_json(change: &ChangeRequest) -> serde_json::Value {
    serde_json::to_value(change).unwrap_or_default()
}

/// A short, growing, jittered pause between attempts, so racing writers spread out.
async fn backoff(attempt: u32) {
    use rand::Rng;
    let ceiling = 2u64.saturating_pow(attempt.min(7)).min(100);
    let pause = rand::thread_rng().gen_range(0..=ceiling);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

fn finished(mut response: Response, dry_run: bool, ending: Ending, actions: &[cork_store::pipeline::RecordedAction]) -> Response {
    let headers = response.headers_mut();
    if dry_run {
        debug_assert_ne!(ending, Ending::Committed);
        headers.insert("x-cork-dry-run", HeaderValue::from_static("applied-nothing"));
    }
    // Every write names the actions it recorded (a dry run: would record), so an
    // automation knows what to revert.
    if dry_run || !actions.is_empty() {
        let listed: Vec<serde_json::Value> =
            actions.iter().take(LISTED_ACTIONS).map(|a| serde_json::json!({"id": a.id, "type": a.kind})).collect();
        if let Ok(value) = HeaderValue::from_str(&serde_json::Value::Array(listed).to_string()) {
            headers.insert("x-cork-actions", value);
        }
        headers.insert("x-cork-action-count", HeaderValue::from(actions.len()));
    }
    response
}

/// The table behind a single-object route (`/1/cards/{id}`), if the path is one.
fn object_table(path: &str) -> Option<cork_store::Table> {
    use cork_store::Table;
    let rest = path.strip_prefix("/1/")?;
    let (model, id) = rest.split_once('/')?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(match model {
        "cards" => Table::Cards,
        "lists" => Table::Lists,
        "boards" => Table::Boards,
        "labels" => Table::Labels,
        "checklists" => Table::Checklists,
        "customFields" => Table::CustomFields,
        _ => return None,
    })
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `"12"`, `W/"12"` or `12` → 12; anything else names no version of ours (-1); `*` → none.
fn named_version(value: &str) -> Option<i64> {
    let value = value.trim();
    if value == "*" {
        return None;
    }
    let bare = value.trim_start_matches("W/").trim_matches('"');
    Some(bare.parse().unwrap_or(-1))
}

/// Whether a GET asks for the object alone (its fields), so that its version says
/// everything about the answer. Nested collections change without the object.
fn object_alone(query: Option<&str>) -> bool {
    query.map(|q| form_urlencoded::parse(q.as_bytes()).all(|(name, _)| matches!(&*name, "key" | "token" | "fields"))).unwrap_or(true)
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes")
}

/// Cork's extension for clients that read many objects at once: a `GET` sent with
/// `X-Cork-Version: true` gets a `corkVersion` in every object of its answer that has a
/// version (cards, lists, labels, checklists, ... nested or not); `If-Match: "<n>"` on
/// that object's route then refuses a write if it changed since. The answer carries
/// `X-Cork-Version: nested`. Without the header nothing changes.
pub(crate) async fn nested_versions(request: Request, next: Next) -> Response {
    let asked = request.method() == Method::GET
        && header_text(request.headers(), header::HeaderName::from_static("x-cork-version"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !asked {
        return next.run(request).await;
    }
    let (response, versions) = cork_store::precondition::collect_versions(next.run(request)).await;
    let is_json =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "the answer could not be read");
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    stamp_versions(&mut value, &versions);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert("x-cork-version", HeaderValue::from_static("nested"));
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// Adds `corkVersion` to every object whose `id` was read with a version.
fn stamp_versions(value: &mut serde_json::Value, versions: &std::collections::HashMap<String, i64>) {
    match value {
        serde_json::Value::Object(map) => {
            let version = map.get("id").and_then(|id| id.as_str()).and_then(|id| versions.get(id)).copied();
            for child in map.values_mut() {
                stamp_versions(child, versions);
            }
            if let Some(version) = version {
                map.insert("corkVersion".into(), serde_json::Value::from(version));
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| stamp_versions(item, versions)),
        _ => {}
    }
}

/// `ETag`, `If-Match` and `If-None-Match` on single-object routes, from the object's
/// version (see `cork_store::precondition`). Inside the write pipeline, so each attempt
/// of a write checks again.
pub(crate) async fn versions(request: Request, next: Next) -> Response {
    let Some(table) = object_table(request.uri().path()) else { return next.run(request).await };
    let method = request.method().clone();
    let reading = matches!(method, Method::GET | Method::HEAD);
    let (expected, if_none_match) = if reading {
        (None, header_text(request.headers(), header::IF_NONE_MATCH))
    } else {
        (header_text(request.headers(), header::IF_MATCH).and_then(|v| named_version(&v)), None)
    };
    let alone = object_alone(request.uri().query());
    let probe = cork_store::precondition::Probe::new(table, expected);
    let mut response = probe.scope(next.run(request)).await;
    if let Some(current) = probe.failed() {
        let mut refused = error(
            StatusCode::PRECONDITION_FAILED,
            &format!("precondition failed: the object changed since it was read (now at version {current})"),
        );
        refused.headers_mut().insert(header::ETAG, etag(current));
        return refused;
    }
    let Some(version) = probe.version().filter(|_| response.status().is_success() && method != Method::DELETE) else { return response };
    if reading && !alone {
        return response;
    }
    if let Some(wanted) = if_none_match {
        if wanted.split(',').any(|tag| named_version(tag) == Some(version) || tag.trim() == "*") {
            let mut unchanged = Response::new(Body::empty());
            *unchanged.status_mut() = StatusCode::NOT_MODIFIED;
            unchanged.headers_mut().insert(header::ETAG, etag(version));
            return unchanged;
        }
    }
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}
