//! `/1/checklists`: create, read, rename, delete, and check items.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::{field_value, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::{check_item, checklist, select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/checklists", post(post_checklist))
        .route("/1/checklists/{id}", get(get_checklist).put(put_checklist).delete(delete_checklist))
        .route("/1/checklists/{id}/checkItems", get(get_check_items).post(post_check_item))
        .route("/1/checklists/{id}/checkItems/{item}", get(get_check_item).delete(delete_check_item))
        .route("/1/checklists/{id}/{field}", get(get_checklist_field).put(put_checklist_field))
}

async fn post_checklist(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let id_card = p.text("idCard")?.ok_or_else(|| ApiError::invalid_value("idCard"))?;
    let created = app
        .cork
        .create_checklist(
            &req.actor,
            &id_card,
            p.text("name")?.as_deref(),
            p.pos("pos")?,
            p.text("idChecklistSource")?.filter(|s| !s.is_empty()).as_deref(),
        )
        .await?;
    Ok(json_ok(checklist(&created)))
}

async fn get_checklist(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let (found, _, _) = app.cork.get_checklist(&req.actor, &id).await?;
    Ok(json_ok(select(checklist(&found), &Fields::from(&req.params, "fields", None))))
}

async fn put_checklist(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let updated = app.cork.update_checklist(&req.actor, &id, req.params.text("name")?.as_deref(), req.params.pos("pos")?).await?;
    Ok(json_ok(checklist(&updated)))
}

async fn delete_checklist(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_checklist(&req.actor, &id).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_check_items(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let (found, _, _) = app.cork.get_checklist(&req.actor, &id).await?;
    Ok(json_ok(many(found.check_items.iter().map(check_item), &Fields::from(&req.params, "fields", None))))
}

async fn post_check_item(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let name = p.text("name")?.ok_or_else(|| ApiError::invalid_value("name"))?;
    let item = app
        .cork
        .add_check_item(&req.actor, &id, &name, p.pos("pos")?, p.bool("checked")?.unwrap_or(false), p.date("due")?.flatten())
        .await?;
    Ok(json_ok(check_item(&item)))
}

async fn get_check_item(State(app): State<App>, Path((id, item)): Path<(String, String)>, req: Req) -> ApiResult {
    let (found, _, _) = app.cork.get_checklist(&req.actor, &id).await?;
    let item = found.check_items.iter().find(|i| i.id == item.to_ascii_lowercase()).ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(check_item(item), &Fields::from(&req.params, "fields", None))))
}

async fn delete_check_item(State(app): State<App>, Path((id, item)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_check_item(&req.actor, Some(&id), None, &item).await?;
    Ok(json_ok(json!({"limits": {}})))
}

async fn get_checklist_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let (found, card, board) = app.cork.get_checklist(&req.actor, &id).await?;
    match field.as_str() {
        "board" => Ok(json_ok(select(app.render.board(&board, &[], None, false), &Fields::from(&req.params, "fields", None)))),
        "cards" => Ok(json_ok(json!([app.render.card(&card, &[])]))),
        _ => field_value(&checklist(&found), &field),
    }
}

async fn put_checklist_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = req.params.str("value").ok_or_else(|| ApiError::invalid_value("value"))?;
    let updated = match field.as_str() {
        "name" => app.cork.update_checklist(&req.actor, &id, Some(&value), None).await?,
        "pos" => {
            let pos = cork_core::pos::Pos::parse(&value).ok_or_else(|| ApiError::invalid_value("value"))?;
            app.cork.update_checklist(&req.actor, &id, None, Some(pos)).await?
        }
        "idCard" => app.cork.move_checklist(&req.actor, &id, &value).await?,
        _ => return Err(ApiError::not_found()),
    };
    Ok(json_ok(checklist(&updated)))
}
