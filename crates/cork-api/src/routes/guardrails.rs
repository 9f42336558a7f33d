//! Cork's guardrails on the action log: `POST /cork/actions/{id}/revert` (undo one
//! action) and `POST /cork/rollback` (undo everything one token, key or member did in a
//! period). Both run in the write pipeline, so `dryRun=true` previews them.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use cork_core::revert::{RollbackItem, RollbackReport, RollbackScope};
use serde_json::{json, Value};

use super::{id_bound, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/cork/actions/{id}/revert", post(post_revert)).route("/cork/rollback", post(post_rollback))
}

/// The actions the request recorded so far (the revert's own).
fn recorded() -> Value {
    let actions = cork_store::pipeline::current().map(|p| p.actions()).unwrap_or_default();
    Value::Array(actions.iter().map(|a| json!({"id": a.id, "type": a.kind})).collect())
}

async fn post_revert(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.revert_action(&req.actor, &id).await?;
    Ok(json_ok(json!({"revertOf": id.to_ascii_lowercase(), "actions": recorded()})))
}

fn item_json(item: &RollbackItem) -> Value {
    let mut out = json!({"id": item.id, "type": item.kind, "idCard": item.id_card});
    if let Some(reason) = &item.reason {
        out["reason"] = json!(reason);
    }
    if item.partly_reverted {
        out["partlyReverted"] = json!(true);
    }
    if !item.changed_by.is_empty() {
        out["changedBy"] = json!(item.changed_by);
    }
    out
}

/// The report a rollback answers (and `cork rollback` prints).
pub fn report_json(report: &RollbackReport) -> Value {
    let list = |items: &[RollbackItem]| Value::Array(items.iter().map(item_json).collect());
    json!({
        "reverted": list(&report.reverted),
        "conflicts": list(&report.conflicts),
        "skipped": list(&report.skipped),
        "counts": {"reverted": report.reverted.len(), "conflicts": report.conflicts.len(), "skipped": report.skipped.len()},
    })
}

/// `idToken`, `appKey` (the caller's own `key` is a credential) or `idMember`, with
/// `since` (required), `before`, `idBoard`.
async fn post_rollback(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let named: Vec<RollbackScope> =
        [p.str("idToken").map(RollbackScope::Token), p.str("appKey").map(RollbackScope::Key), p.str("idMember").map(RollbackScope::Member)]
            .into_iter()
            .flatten()
            .collect();
    let Ok([scope]) = <[RollbackScope; 1]>::try_from(named) else {
        return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "name exactly one of idToken, appKey, idMember"));
    };
    let since = id_bound(p, "since")?.ok_or_else(|| ApiError::invalid_value("since"))?;
    let before = id_bound(p, "before")?;
    let board = p.str("idBoard");
    let report = app.cork.rollback(&req.actor, &scope, &since, before.as_deref(), board.as_deref()).await?;
    Ok(json_ok(report_json(&report)))
}
