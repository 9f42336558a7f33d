//! `GET /cork/audit`: Cork's access audit (token issuance, revoked-token uses, every
//! 401 and 429), for Cork administrators only; anyone else gets Trello's 401.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use cork_core::audit_export::{ExportScope, ExportedAction};
use serde_json::{json, Value};

use super::{id_bound, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/cork/audit", get(get_audit)).route("/cork/audit/actions", get(get_action_export))
}

/// Rows read per page of an export (each page its own short read transaction).
const EXPORT_PAGE: i64 = 1000;

/// The scope an export request names: exactly one of `idBoard`, `idOrganization`,
/// `idMember`, `idToken`, `appKey` (`key` is the caller's own credential).
fn export_scope(req: &Req) -> ApiResult<ExportScope> {
    let p = &req.params;
    let named: Vec<ExportScope> = [
        p.str("idBoard").map(ExportScope::Board),
        p.str("idOrganization").map(ExportScope::Organization),
        p.str("idMember").map(ExportScope::Member),
        p.str("idToken").map(ExportScope::Token),
        p.str("appKey").map(ExportScope::Key),
    ]
    .into_iter()
    .flatten()
    .collect();
    match <[ExportScope; 1]>::try_from(named) {
        Ok([scope]) => Ok(scope),
        Err(_) => Err(ApiError::new(StatusCode::BAD_REQUEST, "name exactly one of idBoard, idOrganization, idMember, idToken, appKey")),
    }
}

/// One export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

impl ExportFormat {
    pub fn parse(text: Option<&str>) -> Option<ExportFormat> {
        match text.unwrap_or("ndjson") {
            "ndjson" | "json" => Some(ExportFormat::Ndjson),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson; charset=utf-8",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The CSV header line; each row then has one value per column.
pub const CSV_COLUMNS: [&str; 11] =
    ["id", "date", "type", "idMemberCreator", "idBoard", "idList", "idCard", "idCommand", "idToken", "key", "data"];

/// One page of an export in `format`.
pub fn export_lines(rows: &[ExportedAction], format: ExportFormat) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        ExportFormat::Ndjson => {
            for row in rows {
                let line = json!({
                    "id": row.action.id,
                    "type": row.action.kind,
                    "date": row.action.date,
                    "idMemberCreator": row.action.id_member_creator,
                    "data": row.action.data,
                    "appCreator": row.action.app_creator,
                    "cork": {"idCommand": row.id_command, "idToken": row.id_token, "key": row.key},
                });
                out.extend_from_slice(line.to_string().as_bytes());
                out.push(b'\n');
            }
        }
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
            for row in rows {
                let data = &row.action.data;
                let id_at = |pointer: &str| data.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
                let record = [
                    row.action.id.clone(),
                    row.action.date.clone(),
                    row.action.kind.clone(),
                    row.action.id_member_creator.clone(),
                    id_at("/board/id"),
                    id_at("/list/id"),
                    id_at("/card/id"),
                    row.id_command.clone().unwrap_or_default(),
                    row.id_token.clone().unwrap_or_default(),
                    row.key.clone().unwrap_or_default(),
                    data.to_string(),
                ];
                // Writing to a Vec cannot fail.
                let _ = writer.write_record(&record);
            }
            let _ = writer.flush();
        }
    }
    out
}

/// `GET /cork/audit/actions?idBoard=...&since=&before=&format=ndjson|csv`: every action
/// of what it names over the period, oldest first, streamed page by page, so an
/// export of any size holds one page in memory. Admins of what it covers only.
async fn get_action_export(State(app): State<App>, req: Req) -> ApiResult {
    let scope = export_scope(&req)?;
    let format = ExportFormat::parse(req.params.str("format").as_deref()).ok_or_else(|| ApiError::invalid_value("format"))?;
    let since = id_bound(&req.params, "since")?;
    let before = id_bound(&req.params, "before")?;
    let grant = app.cork.audit_export_grant(&req.actor, &scope).await?;
    // The first page is read before answering, so that a failure is still an error status.
    let first = app.cork.audit_export_page(&grant, since.as_deref(), before.as_deref(), EXPORT_PAGE).await?;
    let header_line = (format == ExportFormat::Csv).then(|| {
        let mut line = CSV_COLUMNS.join(",").into_bytes();
        line.push(b'\n');
        Bytes::from(line)
    });
    let state = Some((first, app.cork.clone(), grant, before));
    let pages = futures_util::stream::unfold(state, move |state| async move {
        let (rows, cork, grant, before) = state?;
        if rows.is_empty() {
            return None;
        }
        let chunk = Bytes::from(export_lines(&rows, format));
        let next = if (rows.len() as i64) < EXPORT_PAGE {
            Ok(Vec::new())
        } else {
            let last = rows.last().map(|r| r.action.id.clone());
            cork.audit_export_page(&grant, last.as_deref(), before.as_deref(), EXPORT_PAGE).await
        };
        match next {
            Ok(rows) => Some((Ok::<_, std::io::Error>(chunk), Some((rows, cork, grant, before)))),
            Err(error) => {
                // Headers are gone: the stream ends with an error, which cuts the body short.
                tracing::error!(%error, "reading an audit export page");
                Some((Err(std::io::Error::other("audit export interrupted")), None))
            }
        }
    });
    let header = futures_util::stream::iter(header_line.map(Ok::<_, std::io::Error>));
    let body = Body::from_stream(futures_util::StreamExt::chain(header, pages));
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// `limit` (1–1000, default 100) events, oldest first: the newest, or the first after
/// `since` (a date or an event id), so the last id pages forward.
async fn get_audit(State(app): State<App>, req: Req) -> ApiResult {
    let limit = req.params.int("limit", 1, 1000)?.unwrap_or(100);
    let since = req.params.str("since");
    let events = app.cork.audit_events(&req.actor, limit, since.as_deref()).await?;
    Ok(json_ok(Value::Array(events)))
}
