//! `/1/emoji` (the emoji Cork knows) and a member's `/1/members/{id}/customEmoji`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use cork_core::emoji::{native_of, CustomEmoji, Emoji, EMOJI, SKIN_TONES};
use serde_json::{json, Map, Value};

use super::json_ok;
use super::uploads::{picture_url, upload_of};
use crate::error::{ApiError, ApiResult};
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/emoji", get(get_emoji))
        .route("/1/members/{id}/customEmoji", get(get_custom_emoji).post(post_custom_emoji))
        .route("/1/members/{id}/customEmoji/{emoji}", get(get_custom_emoji_one))
}

/// Cork serves no sprite sheet, so `sheetX`/`sheetY` place each emoji in an imaginary
/// 16-column sheet in table order: numbers, as clients expect, and stable.
const SHEET_COLUMNS: usize = 16;

fn emoji_json(index: usize, emoji: &Emoji) -> Value {
    let mut out = json!({
        "unified": emoji.unified,
        "name": emoji.name,
        "native": emoji.native,
        "shortName": emoji.short_names[0],
        "shortNames": emoji.short_names,
        "text": emoji.text,
        "texts": emoji.text.map(|t| json!([t])),
        "category": emoji.category,
        "sheetX": index % SHEET_COLUMNS,
        "sheetY": index / SHEET_COLUMNS,
        "tts": emoji.tts,
        "keywords": emoji.keywords,
    });
    if emoji.skin_tones {
        let mut variations = Map::new();
        for tone in SKIN_TONES {
            let unified = format!("{}-{tone}", emoji.unified);
            variations.insert(tone.to_string(), json!({"unified": unified, "native": native_of(&unified), "sheetX": index % SHEET_COLUMNS, "sheetY": index / SHEET_COLUMNS}));
        }
        out["skinVariations"] = Value::Object(variations);
    }
    out
}

fn custom_emoji_json(app: &App, emoji: &CustomEmoji) -> Value {
    json!({"id": emoji.id, "name": emoji.name, "url": picture_url(app, &emoji.file)})
}

/// `GET /emoji`: the emoji catalogue under `trello`, the one key Trello answers (a
/// client that validates strictly refuses any other). English only, whatever `locale`
/// asks; `spritesheets` gets no urls.
async fn get_emoji(req: Req) -> ApiResult {
    req.params.bool("spritesheets")?;
    let catalogue: Vec<Value> = EMOJI.iter().enumerate().map(|(i, e)| emoji_json(i, e)).collect();
    Ok(json_ok(json!({"trello": catalogue})))
}

async fn get_custom_emoji(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let found = app.cork.custom_emoji(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(found.iter().map(|e| custom_emoji_json(&app, e)).collect())))
}

async fn get_custom_emoji_one(State(app): State<App>, Path((id, emoji)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.custom_emoji_one(&req.actor, &id, &emoji).await?;
    Ok(json_ok(select(custom_emoji_json(&app, &found), &Fields::from(&req.params, "fields", None))))
}

async fn post_custom_emoji(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let name = req.params.text("name")?.ok_or_else(|| ApiError::invalid_value("name"))?;
    let upload = upload_of(&req).ok_or_else(|| ApiError::invalid_value("file"))?;
    let created = app.cork.create_custom_emoji(&req.actor, &id, &name, upload).await?;
    Ok(json_ok(custom_emoji_json(&app, &created)))
}
