//! `GET /cork/audit`: Cork's access audit (token issuance, revoked-token uses, every
//! 401 and 429), for Cork administrators only; anyone else gets Trello's 401.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::json_ok;
use crate::error::ApiResult;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/cork/audit", get(get_audit))
}

/// `limit` (1–1000, default 100) events, oldest first: the newest, or the first after
/// `since` (a date or an event id), so the last id pages forward.
async fn get_audit(State(app): State<App>, req: Req) -> ApiResult {
    let limit = req.params.int("limit", 1, 1000)?.unwrap_or(100);
    let since = req.params.str("since");
    let events = app.cork.audit_events(&req.actor, limit, since.as_deref()).await?;
    Ok(json_ok(Value::Array(events)))
}
