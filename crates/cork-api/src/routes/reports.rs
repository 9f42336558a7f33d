//! `GET /cork/boards/{id}/report`: a board's flow, cycle time, throughput, overdue and
//! aging cards from its action log (the web board draws them); `GET
//! /cork/boards/{id}/export`: the board in Trello's export shape, as a download.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use cork_core::reports::ReportQuery;

use crate::error::ApiError;
use crate::request::Req;
use crate::routes::json_response;
use crate::App;

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/boards/{id}/report", get(get_report)).route("/cork/boards/{id}/export", get(get_export))
}

/// The whole board as one JSON file (see `crate::export`): its parts are read before
/// answering, so a refusal is still an error status; the actions follow as a stream.
async fn get_export(State(app): State<App>, Path(id): Path<String>, req: Req) -> Result<Response, ApiError> {
    let export = crate::export::Export::start(&app, req.actor.clone(), &id).await.map_err(|e| {
        let status = axum::http::StatusCode::from_u16(e.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.body.as_str().map(str::to_string).unwrap_or_else(|| e.body.to_string()))
    })?;
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let body = axum::body::Body::from_stream(export.into_stream());
    let headers = [
        (axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8".to_string()),
        (axum::http::header::CONTENT_DISPOSITION, disposition),
    ];
    Ok(axum::response::IntoResponse::into_response((headers, body)))
}

fn date(req: &Req, name: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    match req.params.str(name) {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => {
            let day = text.get(..10).unwrap_or(&text);
            NaiveDate::parse_from_str(day, "%Y-%m-%d").map(Some).map_err(|_| ApiError::invalid_value(name))
        }
    }
}

async fn get_report(State(app): State<App>, Path(id): Path<String>, req: Req) -> Result<Response, ApiError> {
    let query = ReportQuery {
        from: date(&req, "from")?,
        to: date(&req, "to")?,
        from_list: req.params.str("fromList").filter(|s| !s.is_empty()),
        to_list: req.params.str("toList").filter(|s| !s.is_empty()),
    };
    let report = app.cork.board_report(&req.actor, &id, &query).await?;
    Ok(json_response(&report))
}
