//! `/1/actions`: one entry of the log; comments can be edited and deleted.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{field_value, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/actions/{id}", get(get_action).put(put_action).delete(delete_action))
        .route("/1/actions/{id}/text", axum::routing::put(put_action))
        .route("/1/actions/{id}/{field}", get(get_action_field))
}

async fn get_action(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let page = app.cork.get_action(&req.actor, &id).await?;
    // One action carries its `display` unless `display=false` (the spec's default is
    // true); webhooks deliver it in this form.
    let mut out = app.render.action(&page.actions[0], &page.creators);
    if req.params.bool("display")?.unwrap_or(true) {
        out["display"] = app.render.action_display(&page.actions[0], &page.creators);
    }
    Ok(json_ok(select(out, &Fields::from(&req.params, "fields", None))))
}

async fn put_action(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let text = req.params.text("text")?.or(req.params.text("value")?).ok_or_else(|| ApiError::invalid_value("text"))?;
    let page = app.cork.edit_comment(&req.actor, &id, &text).await?;
    Ok(json_ok(app.render.action(&page.actions[0], &page.creators)))
}

async fn delete_action(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_comment(&req.actor, &id, None).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_action_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let page = app.cork.get_action(&req.actor, &id).await?;
    field_value(&app.render.action(&page.actions[0], &page.creators), &field)
}
