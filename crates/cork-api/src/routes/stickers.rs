//! Stickers: `/1/cards/{id}/stickers` and a member's `/1/members/{id}/customStickers`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use cork_core::stickers::{CustomSticker, Sticker, StickerPlace};
use serde_json::{json, Value};

use super::uploads::{default_sticker_url, picture_url, upload_of};
use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/cards/{id}/stickers", get(get_card_stickers).post(post_card_sticker))
        .route("/1/cards/{id}/stickers/{sticker}", get(get_card_sticker).put(put_card_sticker).delete(delete_card_sticker))
        .route("/1/members/{id}/customStickers", get(get_custom_stickers).post(post_custom_sticker))
        .route("/1/members/{id}/customStickers/{sticker}", get(get_custom_sticker).delete(delete_custom_sticker))
}

/// A sticker as Trello shows it: its place, its image and the image's sizes.
pub(super) fn sticker_json(app: &App, sticker: &Sticker) -> Value {
    let url = match &sticker.file {
        Some(file) => picture_url(app, file),
        None => default_sticker_url(app, &sticker.image),
    };
    let (width, height, bytes) = match &sticker.file {
        Some(file) => (json!(file.width), json!(file.height), json!(file.bytes)),
        None => (json!(64), json!(64), Value::Null),
    };
    json!({
        "id": sticker.id,
        "top": sticker.top,
        "left": sticker.left,
        "zIndex": sticker.z_index,
        "rotate": sticker.rotate,
        "image": sticker.image,
        "imageUrl": url,
        "imageScaled": [{"id": sticker.id, "_id": sticker.id, "scaled": false, "url": url, "bytes": bytes, "height": height, "width": width}],
        "limits": {},
    })
}

/// A custom sticker: its picture's url and sizes (Cork keeps the original size only).
fn custom_sticker_json(app: &App, sticker: &CustomSticker) -> Value {
    let url = picture_url(app, &sticker.file);
    json!({
        "id": sticker.id,
        "url": url,
        "scaled": [{"id": sticker.id, "_id": sticker.id, "scaled": false, "url": url, "bytes": sticker.file.bytes, "height": sticker.file.height, "width": sticker.file.width}],
    })
}

/// A card's stickers for `GET /cards/{id}?stickers=true` (with `sticker_fields`).
pub(super) async fn card_stickers_json(app: &App, req: &Req, card_id: &str) -> ApiResult<Value> {
    let stickers = app.cork.card_stickers(&req.actor, card_id).await?;
    Ok(many(stickers.iter().map(|s| sticker_json(app, s)), &Fields::from(&req.params, "sticker_fields", None)))
}

fn place(p: &Params) -> ApiResult<StickerPlace> {
    Ok(StickerPlace {
        top: p.number("top", f64::MIN, f64::MAX)?,
        left: p.number("left", f64::MIN, f64::MAX)?,
        z_index: p.int("zIndex", i64::from(i32::MIN), i64::from(i32::MAX))?,
        rotate: p.number("rotate", f64::MIN, f64::MAX)?,
    })
}

async fn get_card_stickers(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let stickers = app.cork.card_stickers(&req.actor, &id).await?;
    Ok(json_ok(many(stickers.iter().map(|s| sticker_json(&app, s)), &Fields::from(&req.params, "fields", None))))
}

async fn get_card_sticker(State(app): State<App>, Path((id, sticker)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.card_sticker(&req.actor, &id, &sticker).await?;
    Ok(json_ok(select(sticker_json(&app, &found), &Fields::from(&req.params, "fields", None))))
}

async fn post_card_sticker(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let image = req.params.text("image")?.filter(|i| !i.is_empty()).ok_or_else(|| ApiError::invalid_value("image"))?;
    let created = app.cork.add_sticker(&req.actor, &id, &image, place(&req.params)?).await?;
    Ok(json_ok(sticker_json(&app, &created)))
}

async fn put_card_sticker(State(app): State<App>, Path((id, sticker)): Path<(String, String)>, req: Req) -> ApiResult {
    let updated = app.cork.update_sticker(&req.actor, &id, &sticker, place(&req.params)?).await?;
    Ok(json_ok(sticker_json(&app, &updated)))
}

async fn delete_card_sticker(State(app): State<App>, Path((id, sticker)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.remove_sticker(&req.actor, &id, &sticker).await?;
    Ok(json_ok(json!({"limits": {}})))
}

async fn get_custom_stickers(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let stickers = app.cork.custom_stickers(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(stickers.iter().map(|s| custom_sticker_json(&app, s)).collect())))
}

async fn get_custom_sticker(State(app): State<App>, Path((id, sticker)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.custom_sticker(&req.actor, &id, &sticker).await?;
    Ok(json_ok(select(custom_sticker_json(&app, &found), &Fields::from(&req.params, "fields", None))))
}

async fn post_custom_sticker(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let upload = upload_of(&req).ok_or_else(|| ApiError::invalid_value("file"))?;
    let created = app.cork.create_custom_sticker(&req.actor, &id, upload).await?;
    Ok(json_ok(custom_sticker_json(&app, &created)))
}

async fn delete_custom_sticker(State(app): State<App>, Path((id, sticker)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_custom_sticker(&req.actor, &id, &sticker).await?;
    Ok(json_ok(json!({"_value": null})))
}
