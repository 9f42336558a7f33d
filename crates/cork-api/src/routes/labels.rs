//! `/1/labels`: create, read, update, delete.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;

use super::{deleted_value, field_value, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::render::{label, select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/labels", post(post_label))
        .route("/1/labels/{id}", get(get_label).put(put_label).delete(delete_label))
        .route("/1/labels/{id}/{field}", get(get_label_field).put(put_label_field))
}

async fn post_label(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let id_board = p.text("idBoard")?.ok_or_else(|| ApiError::invalid_value("idBoard"))?;
    let name = p.text("name")?.unwrap_or_default();
    let color = p.text("color")?;
    let created = app.cork.create_label(&req.actor, &id_board, &name, color.as_deref()).await?;
    Ok(json_ok(label(&created)))
}

async fn get_label(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let found = app.cork.get_label(&req.actor, &id).await?;
    Ok(json_ok(select(label(&found), &Fields::from(&req.params, "fields", None))))
}

async fn put_label(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let name = req.params.text("name")?;
    let color = req.params.nullable_text("color")?;
    let updated = app.cork.update_label(&req.actor, &id, name.as_deref(), color.as_ref().map(|c| c.as_deref())).await?;
    Ok(json_ok(label(&updated)))
}

async fn delete_label(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_label(&req.actor, &id).await?;
    Ok(deleted_value())
}

async fn get_label_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.get_label(&req.actor, &id).await?;
    field_value(&label(&found), &field)
}

async fn put_label_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, mut req: Req) -> ApiResult {
    if !matches!(field.as_str(), "name" | "color") {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_label(State(app), Path(id), req).await
}
