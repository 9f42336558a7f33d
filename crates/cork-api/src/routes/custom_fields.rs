//! `/1/customFields`: custom field definitions and their dropdown options, plus the
//! board and card routes that read them and set their values on cards
//! (`/boards/{id}/customFields`, `/cards/{id}/customFieldItems`,
//! `/cards/{idCard}/customField/{idCustomField}/item`, `/cards/{idCard}/customFields`).

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::Router;
use cork_core::custom_fields::{
    item_json, CustomField, CustomFieldItem, CustomFieldOption, CustomFieldPatch, ItemInput, NewCustomField, NewOption,
};
use cork_core::pos::Pos;
use serde_json::{json, Value};

use super::json_ok;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/customFields", post(post_custom_field))
        .route("/1/customFields/{id}", get(get_custom_field).put(put_custom_field).delete(delete_custom_field))
        .route("/1/customFields/{id}/options", get(get_options).post(post_option))
        .route("/1/customFields/{id}/options/{option}", get(get_option).delete(delete_option))
        .route("/1/boards/{id}/customFields", get(get_board_custom_fields))
        .route("/1/cards/{id}/customFieldItems", get(get_card_custom_field_items))
        .route("/1/cards/{id}/customField/{field}/item", put(put_card_custom_field_item))
        .route("/1/cards/{id}/customFields", put(put_card_custom_fields))
}

/// An option as the option routes show it: under Mongo's `_id`, which trello.js's
/// option schema requires (and rejects `id` beside it, run strict) and py-trello's
/// `fetch_list_options` renames to `id`.
pub(crate) fn option_json(option: &CustomFieldOption) -> Value {
    json!({"_id": option.id, "idCustomField": option.id_custom_field, "value": {"text": option.value.text}, "color": option.color, "pos": option.pos})
}

/// An option as a field definition lists it: by `id` (py-trello matches an item's
/// `idValue` against it; trello.js's field schema has `id`).
fn field_option_json(option: &CustomFieldOption) -> Value {
    json!({"id": option.id, "idCustomField": option.id_custom_field, "value": {"text": option.value.text}, "color": option.color, "pos": option.pos})
}

/// A field definition. Trello's own answers carry `name` and `pos` at the top level
/// while its schema puts them (and the options) under `display`; clients read either,
/// so both are sent.
pub(crate) fn field_json(field: &CustomField) -> Value {
    // The schema types `display.pos` as a string (trello.js rejects a number there).
    let mut display = json!({"cardFront": field.card_front, "name": field.name, "pos": field.pos.to_string()});
    let mut out = json!({
        "id": field.id,
        "idModel": field.id_model,
        "modelType": field.model_type,
        "fieldGroup": field.field_group,
        "display": {},
        "name": field.name,
        "pos": field.pos,
        "type": field.kind,
        "isSuggestedField": false,
        "limits": {},
    });
    if field.kind == "list" {
        let options: Vec<Value> = field.options.iter().map(field_option_json).collect();
        display["options"] = json!(options);
        out["options"] = json!(options);
    }
    out["display"] = display;
    out
}

/// Items of cards, as a JSON array.
pub(crate) fn items_json(items: &[CustomFieldItem]) -> Value {
    Value::Array(items.iter().map(item_json).collect())
}

/// Items of one card among items of many.
pub(crate) fn card_items_json(items: &[CustomFieldItem], card_id: &str) -> Value {
    Value::Array(items.iter().filter(|i| i.id_model == card_id).map(item_json).collect())
}

/// `display/cardFront`, `display_cardFront` or `{"display": {"cardFront": ...}}`.
fn card_front(p: &Params) -> ApiResult<Option<bool>> {
    match p.nested(&["display"]).into_iter().find(|(key, _)| key == "cardFront") {
        None => Ok(None),
        Some((_, text)) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(ApiError::invalid_value("display/cardFront")),
        },
    }
}

/// One option of a `POST /customFields` body: a name, or `{value: {text}, color, pos}`.
fn new_option(value: &Value) -> ApiResult<NewOption> {
    let bad = || ApiError::invalid_value("options");
    match value {
        Value::String(text) => Ok(NewOption { text: text.clone(), ..NewOption::default() }),
        Value::Object(map) => {
            let text = match (map.get("value"), map.get("text")) {
                (Some(Value::Object(inner)), _) => inner.get("text").and_then(Value::as_str).ok_or_else(bad)?.to_string(),
                (Some(Value::String(text)), _) | (None, Some(Value::String(text))) => text.clone(),
                _ => return Err(bad()),
            };
            let color = match map.get("color") {
                None | Some(Value::Null) => None,
                Some(Value::String(color)) => Some(color.clone()),
                Some(_) => return Err(bad()),
            };
            let pos = match map.get("pos") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(Pos::parse(&n.to_string()).ok_or_else(bad)?),
                Some(Value::String(s)) => Some(Pos::parse(s).ok_or_else(bad)?),
                Some(_) => return Err(bad()),
            };
            Ok(NewOption { text, color, pos })
        }
        _ => Err(bad()),
    }
}

/// `options`: a JSON array, a JSON array sent as text, or comma-separated names.
fn new_options(p: &Params) -> ApiResult<Vec<NewOption>> {
    match p.raw("options") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(new_option).collect(),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items.iter().map(new_option).collect(),
            _ => Ok(text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| NewOption { text: s.to_string(), ..NewOption::default() })
                .collect()),
        },
        Some(_) => Err(ApiError::invalid_value("options")),
    }
}

async fn post_custom_field(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let input = NewCustomField {
        id_model: p.text("idModel")?,
        model_type: p.text("modelType")?,
        name: p.text("name")?,
        kind: p.text("type")?,
        pos: p.pos("pos")?,
        card_front: card_front(p)?,
        options: new_options(p)?,
    };
    let field = app.cork.create_custom_field(&req.actor, input).await?;
    Ok(json_ok(field_json(&field)))
}

async fn get_custom_field(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let field = app.cork.custom_field(&req.actor, &id).await?;
    Ok(json_ok(field_json(&field)))
}

async fn put_custom_field(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let patch = CustomFieldPatch { name: p.text("name")?, pos: p.pos("pos")?, card_front: card_front(p)? };
    let field = app.cork.update_custom_field(&req.actor, &id, patch).await?;
    Ok(json_ok(field_json(&field)))
}

async fn delete_custom_field(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_custom_field(&req.actor, &id).await?;
    Ok(json_ok(json!({})))
}

async fn get_options(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let options = app.cork.custom_field_options(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(options.iter().map(option_json).collect())))
}

async fn post_option(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    // `{"value": {"text": "High"}, "color": "red", "pos": "bottom"}`, or `text=High` in a form.
    let text = match p.raw("value") {
        Some(Value::Object(inner)) => inner.get("text").and_then(Value::as_str).map(str::to_string),
        Some(Value::String(text)) => Some(text.clone()),
        None | Some(Value::Null) => p.nested(&["value"]).into_iter().find(|(k, _)| k == "text").map(|(_, v)| v).or(p.text("text")?),
        Some(_) => None,
    };
    let text = text.ok_or_else(|| ApiError::invalid_value("value"))?;
    let input = NewOption { text, color: p.text("color")?, pos: p.pos("pos")? };
    let option = app.cork.add_custom_field_option(&req.actor, &id, input).await?;
    Ok(json_ok(option_json(&option)))
}

async fn get_option(State(app): State<App>, Path((id, option)): Path<(String, String)>, req: Req) -> ApiResult {
    let option = app.cork.custom_field_option(&req.actor, &id, &option).await?;
    Ok(json_ok(option_json(&option)))
}

async fn delete_option(State(app): State<App>, Path((id, option)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_custom_field_option(&req.actor, &id, &option).await?;
    Ok(json_ok(json!({})))
}

async fn get_board_custom_fields(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let fields = app.cork.board_custom_fields(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(fields.iter().map(field_json).collect())))
}

async fn get_card_custom_field_items(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let items = app.cork.card_custom_field_items(&req.actor, &id).await?;
    Ok(json_ok(items_json(&items)))
}

/// The `value`/`idValue` pair of a body; a form may send `value/text=...` instead.
fn item_input(p: &Params) -> ApiResult<ItemInput> {
    let nested = p.nested(&["value"]);
    let value = match p.raw("value") {
        None if !nested.is_empty() => Some(Value::Object(nested.into_iter().map(|(k, v)| (k, Value::String(v))).collect())),
        other => other.cloned(),
    };
    Ok(ItemInput::from_json(value.as_ref(), p.raw("idValue"))?)
}

async fn put_card_custom_field_item(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let input = item_input(&req.params)?;
    let item = app.cork.set_custom_field_item(&req.actor, &id, &field, input).await?;
    Ok(json_ok(item.as_ref().map(item_json).unwrap_or_else(|| json!({}))))
}

async fn put_card_custom_fields(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let bad = || ApiError::invalid_value("customFieldItems");
    let entries = match req.params.raw("customFieldItems") {
        Some(Value::Array(entries)) => entries,
        _ => return Err(bad()),
    };
    let mut parsed = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Object(map) = entry else {
            return Err(bad());
        };
        let field = map.get("idCustomField").and_then(Value::as_str).ok_or_else(bad)?;
        let input = ItemInput::from_json(map.get("value"), map.get("idValue")).map_err(|e| match e {
            // An entry with neither `value` nor `idValue` is a malformed list entry.
            cork_core::DomainError::InvalidValue(_) => bad(),
            other => other.into(),
        })?;
        parsed.push((field.to_string(), input));
    }
    let items = app.cork.set_custom_field_items(&req.actor, &id, parsed).await?;
    Ok(json_ok(items_json(&items)))
}
