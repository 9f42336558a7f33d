//! Cork's guardrails: `POST /cork/actions/{id}/revert` (undo one action), `POST
//! /cork/rollback` (undo everything one token, key or member did in a period), board
//! policies (review gates and source-of-truth rules) and the change requests they hold.
//! All run in the write pipeline, so `dryRun=true` previews them.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use cork_core::gates::BoardPolicy;
use cork_core::revert::{RollbackItem, RollbackReport, RollbackScope};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{id_bound, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::pipeline::{change_json, Approved};
use crate::request::{BatchActor, InternalCall, Req};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/cork/actions/{id}/revert", post(post_revert))
        .route("/cork/rollback", post(post_rollback))
        .route("/cork/boards/{id}/policy", get(get_policy).put(put_policy))
        .route("/cork/changeRequests", get(get_change_requests))
        .route("/cork/changeRequests/{id}", get(get_change_request))
        .route("/cork/changeRequests/{id}/approve", post(post_approve))
        .route("/cork/changeRequests/{id}/reject", post(post_reject))
}

async fn get_policy(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let (board, policy) = app.cork.board_policy(&req.actor, &id).await?;
    Ok(json_ok(json!({"idBoard": board.id, "gates": policy.gates, "owners": policy.owners})))
}

/// `PUT /cork/boards/{id}/policy` with `{"gates": [...], "owners": [...]}` (JSON): the
/// whole policy, replacing the last one. Board admins only.
async fn put_policy(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let gates = serde_json::from_value(policy_part(&req, "gates")?).map_err(|_| ApiError::invalid_value("gates"))?;
    let owners = serde_json::from_value(policy_part(&req, "owners")?).map_err(|_| ApiError::invalid_value("owners"))?;
    let policy = app.cork.set_board_policy(&req.actor, &id, BoardPolicy { gates, owners }).await?;
    Ok(json_ok(json!({"idBoard": id, "gates": policy.gates, "owners": policy.owners})))
}

/// One part of a policy: JSON in a JSON body, or JSON text in a form or query.
fn policy_part(req: &Req, name: &str) -> ApiResult<Value> {
    match req.params.raw(name) {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| ApiError::invalid_value(name)),
        Some(other) => Ok(other.clone()),
    }
}

async fn get_change_requests(State(app): State<App>, req: Req) -> ApiResult {
    // Without `idBoard`: the requests of every board the caller administers.
    let board = req.params.str("idBoard").filter(|b| !b.is_empty());
    let state = req.params.str("state");
    if state.as_deref().is_some_and(|s| !["pending", "applied", "rejected", "expired"].contains(&s)) {
        return Err(ApiError::invalid_value("state"));
    }
    let changes = app.cork.change_requests(&req.actor, board.as_deref(), state.as_deref()).await?;
    Ok(json_ok(Value::Array(changes.iter().map(change_json).collect())))
}

async fn get_change_request(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    Ok(json_ok(change_json(&app.cork.change_request(&req.actor, &id).await?)))
}

/// Strips what differs between two runs of one change: the moments it was made at.
fn comparable(actions: &[Value]) -> Vec<Value> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|key, _| !key.starts_with("dateLast"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    actions
        .iter()
        .map(|a| {
            let mut kept = json!({"type": a["type"], "old": a["data"]["old"], "deleted": a["data"]["deleted"]});
            strip(&mut kept);
            kept
        })
        .collect()
}

/// `POST /cork/changeRequests/{id}/approve` (board admins, optional `comment`): runs the
/// held request again as its requester, in the same transaction as the request's new
/// state, with the approver in `data.approvedBy`. If the change no longer does what its
/// preview showed (the objects changed since), nothing is applied, the request stays
/// pending, and the answer is 409.
async fn post_approve(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let comment = req.params.str("comment");
    let (change, requester) = app.cork.begin_approval(&req.actor, &id, comment).await?;
    let approver = req.actor.member_id().unwrap_or_default().to_string();
    let mut inner = Request::builder().method(change.command.method.as_str()).uri(change.command.target.as_str());
    if let Some(content_type) = &change.command.content_type {
        inner = inner.header(header::CONTENT_TYPE, content_type);
    }
    let mut inner = inner
        .body(Body::from(change.command.body.clone()))
        .map_err(|_| ApiError::new(StatusCode::CONFLICT, "the held request cannot be sent again"))?;
    inner.extensions_mut().insert(BatchActor(requester));
    inner.extensions_mut().insert(InternalCall);
    inner.extensions_mut().insert(Approved);
    let pipeline = cork_store::pipeline::current();
    let before = pipeline.as_ref().map(|p| p.actions().len()).unwrap_or(0);
    let response = match cork_core::gates::approved_by(approver, app.internal().oneshot(inner)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    let applied: Vec<Value> = pipeline
        .as_ref()
        .map(|p| p.actions())
        .unwrap_or_default()
        .iter()
        .skip(before)
        .map(|a| {
            let data = serde_json::from_str::<Value>(&a.doc).map(|d| d["data"].clone()).unwrap_or_default();
            json!({"type": a.kind, "data": data})
        })
        .collect();
    let previewed: Vec<Value> = change.preview["actions"].as_array().cloned().unwrap_or_default();
    if status != change.preview["status"].as_u64().unwrap_or(0) as u16 || comparable(&applied) != comparable(&previewed) {
        if let Some(pipeline) = &pipeline {
            pipeline.abort();
        }
        return Err(ApiError::new(StatusCode::CONFLICT, "the change no longer does what its preview showed; it stays pending"));
    }
    let result = serde_json::from_slice::<Value>(&body).unwrap_or_else(|_| String::from_utf8_lossy(&body).into());
    let mut out = change_json(&change);
    out["result"] = json!({"status": status, "body": result});
    Ok(json_ok(out))
}

async fn post_reject(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let comment = req.params.str("comment");
    Ok(json_ok(change_json(&app.cork.reject_change(&req.actor, &id, comment).await?)))
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
