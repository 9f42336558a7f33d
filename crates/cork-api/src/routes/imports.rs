//! The web board's import: `POST /cork/imports` takes a Trello board export as the raw
//! request body (streamed to a file, never held whole), answers 202 with a job at once and
//! imports in the background; `GET /cork/imports/{id}` tells how far it has come and, at
//! the end, gives the report; `GET /cork/imports` lists the caller's jobs. The member who
//! imports becomes an admin of the board; a board that exists already is updated only by
//! one of its admins (see `cork_core::import`).
//!
//! Jobs are kept by the node that runs them (a page polls the node it uploaded to); a
//! restart forgets them, and their boards are whole or absent, never half there.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cork_core::import::{ImportOptions, ImportReport, Progress};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::request::Req;
use crate::routes::json_response;
use crate::App;

/// Jobs kept per node; the oldest finished ones give way first.
const KEEP: usize = 200;

struct Job {
    id: String,
    member: String,
    file_name: String,
    started: String,
    progress: Arc<Progress>,
    report: Option<ImportReport>,
}

/// This node's import jobs.
#[derive(Default)]
pub(crate) struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/imports", get(list_imports).post(post_import)).route("/cork/imports/{id}", get(get_import))
}

fn job_json(job: &Job) -> Value {
    let p = &job.progress;
    let state = match &job.report {
        None => "running",
        Some(report) if report.ok => "done",
        Some(_) => "failed",
    };
    json!({
        "id": job.id, "state": state, "fileName": job.file_name, "dateStarted": job.started,
        "progress": {
            "pass": p.pass.load(Ordering::Relaxed), "bytesRead": p.bytes_read.load(Ordering::Relaxed),
            "bytesTotal": p.bytes_total.load(Ordering::Relaxed), "itemsDone": p.items_done.load(Ordering::Relaxed),
            "itemsTotal": p.items_total.load(Ordering::Relaxed),
        },
        "report": job.report,
    })
}

/// The member behind the request, who must be able to write and not be held to some
/// boards (a per-board token reaches no new board).
fn importer(req: &Req, writes: bool) -> Result<String, ApiError> {
    let member = req.actor.require_member()?;
    if (writes && !req.actor.may_write()) || req.actor.is_narrowed() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized permission requested"));
    }
    Ok(member.id.clone())
}

async fn post_import(State(app): State<App>, request: Request) -> Result<Response, ApiError> {
    // Credentials come from the query, headers and cookie; the body is the export, read
    // below as a stream, so the extractor sees none of it.
    let (mut parts, body) = request.into_parts();
    let file_name =
        parts.uri.query().and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "name").map(|(_, v)| v.into_owned()));
    let strict = parts.uri.query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "strict" && v == "true"));
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let req = Req::from_request(Request::from_parts(parts, axum::body::Body::empty()), &app).await?;
    let member = importer(&req, true)?;
    if app.imports.lock().values().any(|j| j.member == member && j.report.is_none()) {
        return Err(ApiError::new(StatusCode::CONFLICT, "an import of yours is still running: wait for it to finish"));
    }

    let dir = match app.cork.files.root().and_then(|r| r.parent()) {
        Some(data) => data.join("imports"),
        None => std::env::temp_dir().join("cork-imports"),
    };
    let id = cork_core::ids::new_id();
    let path = dir.join(format!("{id}.json"));
    let stored = async {
        tokio::fs::create_dir_all(&dir).await?;
        let mut file = tokio::fs::File::create(&path).await?;
        let mut stream = body.into_data_stream();
        let mut size = 0usize;
        let mut first = None;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            size += chunk.len();
            if size > app.config.import_limit {
                return Ok(Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request entity too large")));
            }
            if first.is_none() {
                first = chunk.iter().copied().find(|b| !b.is_ascii_whitespace());
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        if first != Some(b'{') {
            return Ok(Err(ApiError::new(StatusCode::BAD_REQUEST, "not a Trello board export: send the file's JSON as the request body")));
        }
        Ok::<_, std::io::Error>(Ok(()))
    }
    .await;
    let refused = match stored {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(error) => {
            tracing::error!(%error, "storing an uploaded export");
            Some(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
        }
    };
    if let Some(error) = refused {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(error);
    }

    let progress = Arc::new(Progress::default());
    let job = Job {
        id: id.clone(),
        member: member.clone(),
        file_name: file_name.unwrap_or_else(|| "export.json".into()),
        started: cork_core::now(),
        progress: progress.clone(),
        report: None,
    };
    let answer = job_json(&job);
    {
        let mut jobs = app.imports.lock();
        if jobs.len() >= KEEP {
            let oldest = jobs.values().filter(|j| j.report.is_some()).min_by(|a, b| a.started.cmp(&b.started)).map(|j| j.id.clone());
            if let Some(oldest) = oldest {
                jobs.remove(&oldest);
            }
        }
        jobs.insert(id.clone(), job);
    }
    let options = ImportOptions { strict, admin: Some(member.clone()), owner: Some(member), ..Default::default() };
    let app_for_job = app.clone();
    tokio::spawn(async move {
        let report = app_for_job.cork.import_board(&path, &options, progress).await;
        let _ = tokio::fs::remove_file(&path).await;
        if let Some(job) = app_for_job.imports.lock().get_mut(&id) {
            job.report = Some(report);
        }
    });
    let mut response = json_response(&answer);
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response.into_response())
}

async fn get_import(State(app): State<App>, Path(id): Path<String>, req: Req) -> Result<Response, ApiError> {
    let member = importer(&req, false)?;
    let jobs = app.imports.lock();
    match jobs.get(&id).filter(|j| j.member == member) {
        Some(job) => Ok(json_response(&job_json(job))),
        None => Err(ApiError::not_found()),
    }
}

async fn list_imports(State(app): State<App>, req: Req) -> Result<Response, ApiError> {
    let member = importer(&req, false)?;
    let jobs = app.imports.lock();
    let mut mine: Vec<&Job> = jobs.values().filter(|j| j.member == member).collect();
    mine.sort_by(|a, b| b.started.cmp(&a.started));
    Ok(json_response(&Value::Array(mine.into_iter().map(job_json).collect())))
}
