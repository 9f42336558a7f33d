//! `GET /1/batch?urls=/a,/b`: up to ten GET routes answered in one response, each
//! run through the same router with the caller's credentials.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::json_ok;
use crate::error::{ApiError, ApiResult};
use crate::request::{BatchActor, Req};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/1/batch", get(get_batch))
}

fn error_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequestError",
        401 => "UnauthorizedError",
        403 => "ForbiddenError",
        404 => "NotFoundError",
        413 => "PayloadTooLargeError",
        _ => "ServerError",
    }
}

fn failure(status: u16, message: String) -> Value {
    json!({"statusCode": status, "name": error_name(status), "message": message})
}

async fn get_batch(State(app): State<App>, req: Req) -> ApiResult {
    let urls = req.params.str("urls").ok_or_else(|| ApiError::invalid_value("urls"))?;
    let urls: Vec<&str> = urls.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
    if urls.is_empty() || urls.len() > 10 {
        return Err(ApiError::invalid_value("urls"));
    }
    let mut items = Vec::with_capacity(urls.len());
    for url in urls {
        let path = if url.starts_with('/') { url.to_string() } else { format!("/{url}") };
        let path = path.strip_prefix("/1/").map(|rest| format!("/{rest}")).unwrap_or(path);
        let target = format!("/1{path}");
        if crate::normalize_path(target.split('?').next().unwrap_or("")).starts_with("/1/batch") {
            items.push(failure(400, "batch requests cannot be nested".into()));
            continue;
        }
        let Ok(mut inner) = Request::builder().method("GET").uri(&target).body(Body::empty()) else {
            items.push(failure(400, "invalid url".into()));
            continue;
        };
        inner.extensions_mut().insert(BatchActor(req.actor.clone()));
        let response = match app.internal().oneshot(inner).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap_or_default();
        if status == 200 {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            items.push(json!({"200": value}));
        } else {
            items.push(failure(status, String::from_utf8_lossy(&body).into_owned()));
        }
    }
    Ok(json_ok(Value::Array(items)))
}
