//! A member's own settings: `/1/boards/{id}/myPrefs`, `/1/members/{id}/savedSearches`,
//! and `/1/members/{id}/boardBackgrounds` with its twin `customBoardBackgrounds`.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::Router;
use cork_core::prefs::{BackgroundPatch, BoardBackground, SavedSearch, SavedSearchInput};
use serde_json::{json, Value};

use super::uploads::{picture_url, upload_of};
use super::{filter_of, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/boards/{id}/myPrefs", get(get_my_prefs))
        .route("/1/boards/{id}/myPrefs/{pref}", put(put_my_pref))
        .route("/1/members/{id}/savedSearches", get(get_saved_searches).post(post_saved_search))
        .route("/1/members/{id}/savedSearches/{search}", get(get_saved_search).put(put_saved_search).delete(delete_saved_search))
        .route("/1/members/{id}/savedSearches/{search}/{field}", put(put_saved_search_field))
        .route("/1/members/{id}/boardBackgrounds", get(get_backgrounds).post(post_background))
        .route("/1/members/{id}/boardBackgrounds/{background}", get(get_background).put(put_background).delete(delete_background))
        .route("/1/members/{id}/customBoardBackgrounds", get(get_custom_backgrounds).post(post_background))
        .route("/1/members/{id}/customBoardBackgrounds/{background}", get(get_background).put(put_background).delete(delete_background))
}

async fn get_my_prefs(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    Ok(json_ok(Value::Object(app.cork.board_my_prefs(&req.actor, &id).await?)))
}

/// `PUT /boards/{id}/myPrefs/{pref}` with `value`; answers with all the preferences.
async fn put_my_pref(State(app): State<App>, Path((id, pref)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = req.params.str("value").ok_or_else(|| ApiError::invalid_value("value"))?;
    Ok(json_ok(Value::Object(app.cork.set_board_my_pref(&req.actor, &id, &pref, &value).await?)))
}

fn search_json(search: &SavedSearch) -> Value {
    json!({"id": search.id, "name": search.name, "query": search.query, "pos": search.pos})
}

fn search_input(p: &Params) -> ApiResult<SavedSearchInput> {
    Ok(SavedSearchInput { name: p.text("name")?, query: p.text("query")?, pos: p.pos("pos")? })
}

async fn get_saved_searches(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let searches = app.cork.saved_searches(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(searches.iter().map(search_json).collect())))
}

async fn get_saved_search(State(app): State<App>, Path((id, search)): Path<(String, String)>, req: Req) -> ApiResult {
    Ok(json_ok(search_json(&app.cork.saved_search(&req.actor, &id, &search).await?)))
}

async fn post_saved_search(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let created = app.cork.create_saved_search(&req.actor, &id, search_input(&req.params)?).await?;
    Ok(json_ok(search_json(&created)))
}

async fn put_saved_search(State(app): State<App>, Path((id, search)): Path<(String, String)>, req: Req) -> ApiResult {
    let updated = app.cork.update_saved_search(&req.actor, &id, &search, search_input(&req.params)?).await?;
    Ok(json_ok(search_json(&updated)))
}

/// The legacy per-field form: `PUT /members/{id}/savedSearches/{idSearch}/{name|query|pos}`
/// with `value`.
async fn put_saved_search_field(
    State(app): State<App>,
    Path((id, search, field)): Path<(String, String, String)>,
    mut req: Req,
) -> ApiResult {
    if !matches!(field.as_str(), "name" | "query" | "pos") {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_saved_search(State(app), Path((id, search)), req).await
}

async fn delete_saved_search(State(app): State<App>, Path((id, search)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_saved_search(&req.actor, &id, &search).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// A custom background: the uploaded picture (Cork keeps the original size only).
fn custom_background_json(app: &App, background: &BoardBackground) -> Value {
    let url = picture_url(app, &background.file);
    json!({
        "id": background.id,
        "type": "custom",
        "brightness": background.brightness,
        "tile": background.tile,
        "fullSizeUrl": url,
        "scaled": [{"width": background.file.width, "height": background.file.height, "url": url}],
        "bottomColor": null,
        "topColor": null,
    })
}

const BACKGROUND_FILTERS: &[&str] = &["all", "custom", "default", "none", "premium"];

async fn get_backgrounds(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, BACKGROUND_FILTERS, "all")?;
    let found = app.cork.board_backgrounds(&req.actor, &id, &filter).await?;
    Ok(json_ok(Value::Array(found.iter().map(|b| custom_background_json(&app, b)).collect())))
}

async fn get_custom_backgrounds(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let found = app.cork.board_backgrounds(&req.actor, &id, "custom").await?;
    Ok(json_ok(Value::Array(found.iter().map(|b| custom_background_json(&app, b)).collect())))
}

async fn get_background(State(app): State<App>, Path((id, background)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.board_background(&req.actor, &id, &background).await?;
    Ok(json_ok(select(custom_background_json(&app, &found), &Fields::from(&req.params, "fields", None))))
}

async fn post_background(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let upload = upload_of(&req).ok_or_else(|| ApiError::invalid_value("file"))?;
    let created = app.cork.create_board_background(&req.actor, &id, upload).await?;
    Ok(json_ok(custom_background_json(&app, &created)))
}

async fn put_background(State(app): State<App>, Path((id, background)): Path<(String, String)>, req: Req) -> ApiResult {
    let patch = BackgroundPatch { brightness: req.params.text("brightness")?, tile: req.params.bool("tile")? };
    let updated = app.cork.update_board_background(&req.actor, &id, &background, patch).await?;
    Ok(json_ok(custom_background_json(&app, &updated)))
}

async fn delete_background(State(app): State<App>, Path((id, background)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_board_background(&req.actor, &id, &background).await?;
    Ok(json_ok(json!({"_value": null})))
}
