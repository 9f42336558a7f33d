//! `/1/cards`: create, read, update, delete, and the card's labels, members,
//! comments, checklists, check items and attachments (files: uploads.rs).

use axum::extract::{Path, State};
use axum::routing::{delete, get, post, put};
use axum::Router;
use cork_core::cards::{CardInclude, CardPatch, CardView, NewCard};
use cork_core::checklists::CheckItemPatch;
use serde_json::{json, Value};

use super::{action_query, deleted_limits, field_value, json_ok, json_response, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{check_item, checklist, label, select, CardJson, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/cards", post(post_card))
        .route("/1/cards/{id}", get(get_card).put(put_card).delete(delete_card))
        .route("/1/cards/{id}/actions", get(get_card_actions))
        .route("/1/cards/{id}/actions/comments", post(post_card_comment))
        .route("/1/cards/{id}/actions/{action}/comments", put(put_card_comment).delete(delete_card_comment))
        .route("/1/cards/{id}/idLabels", post(post_card_label_id))
        .route("/1/cards/{id}/idLabels/{label}", delete(delete_card_label))
        .route("/1/cards/{id}/labels", post(post_card_label))
        .route("/1/cards/{id}/labels/{label}", delete(delete_card_label))
        .route("/1/cards/{id}/idMembers", post(post_card_member))
        .route("/1/cards/{id}/idMembers/{member}", delete(delete_card_member))
        .route("/1/cards/{id}/members", get(get_card_members).post(post_card_member))
        .route("/1/cards/{id}/members/{member}", delete(delete_card_member))
        .route("/1/cards/{id}/board", get(get_card_board))
        .route("/1/cards/{id}/list", get(get_card_list))
        .route("/1/cards/{id}/checklists", get(get_card_checklists).post(post_card_checklist))
        .route("/1/cards/{id}/checklists/{checklist}", delete(delete_card_checklist))
        .route("/1/cards/{id}/checkItemStates", get(get_card_check_item_states))
        .route("/1/cards/{id}/checkItem/{item}", get(get_card_check_item).put(put_card_check_item).delete(delete_card_check_item))
        .route("/1/cards/{id}/checklist/{checklist}/checkItem/{item}", put(put_legacy_check_item))
        .route("/1/cards/{id}/checklist/{checklist}/checkItem/{item}/{field}", put(put_legacy_check_item_field))
        .route("/1/cards/{id}/attachments", get(get_card_attachments).post(post_card_attachment))
        .route("/1/cards/{id}/attachments/{attachment}", get(get_card_attachment).delete(delete_card_attachment))
        .route("/1/cards/{id}/pluginData", get(get_card_plugin_data))
        .route("/1/cards/{id}/{field}", get(get_card_field).put(put_card_field))
}

/// What `GET /cards/{id}` adds after the card's own fields: its nested includes.
fn card_includes(app: &App, view: &CardView, params: &Params) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if params.bool("board").unwrap_or(None).unwrap_or(false) {
        let fields =
            Fields::from(params, "board_fields", Some(&["name", "desc", "descData", "closed", "idOrganization", "pinned", "url", "prefs"]));
        out.push(("board", select(app.render.board(&view.board, &[], None, false), &fields)));
    }
    if let Some(list) = &view.list {
        out.push(("list", select(app.render.list(list), &Fields::from(params, "list_fields", None))));
    }
    if params.bool("members").unwrap_or(None).unwrap_or(false) {
        let fields = Fields::from(params, "member_fields", Some(&["fullName", "username", "avatarHash", "initials"]));
        out.push(("members", many(view.members.iter().map(|m| app.render.member(m, false)), &fields)));
    }
    if params.str("checklists").is_some_and(|c| c != "none") {
        out.push(("checklists", Value::Array(view.checklists.iter().map(checklist).collect())));
    }
    if params.str("attachments").is_some_and(|a| a != "false" && a != "none") {
        out.push(("attachments", Value::Array(view.attachments.iter().map(|a| app.render.attachment(a)).collect())));
    }
    if params.str("actions").is_some_and(|a| a != "none") {
        out.push(("actions", many(view.actions.actions.iter().map(|a| app.render.action(a, &view.actions.creators)), &Fields::All)));
    }
    if params.bool("customFieldItems").unwrap_or(None).unwrap_or(false) {
        out.push(("customFieldItems", super::custom_fields::items_json(&view.custom_field_items)));
    }
    if params.bool("pluginData").unwrap_or(None).unwrap_or(false) {
        out.push(("pluginData", json!([])));
    }
    out
}

/// The nested objects of one card of a collection (`/boards/{id}/cards?members=true`
/// and the like), taken from what was read for the whole page: the same keys and
/// fields as a single card's.
fn collection_includes(
    app: &App,
    nested: &cork_core::cards::CardsNested,
    card: &cork_core::model::Card,
    params: &Params,
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if params.bool("list").unwrap_or(None).unwrap_or(false) {
        if let Some(list) = nested.lists.iter().find(|l| l.id == card.id_list) {
            out.push(("list", select(app.render.list(list), &Fields::from(params, "list_fields", None))));
        }
    }
    if params.bool("members").unwrap_or(None).unwrap_or(false) {
        let fields = Fields::from(params, "member_fields", Some(&["fullName", "username", "avatarHash", "initials"]));
        let members = card.id_members.iter().filter_map(|id| nested.members.iter().find(|m| &m.id == id));
        out.push(("members", many(members.map(|m| app.render.member(m, false)), &fields)));
    }
    if params.str("checklists").is_some_and(|c| c != "none") {
        out.push(("checklists", Value::Array(nested.checklists.iter().filter(|c| c.id_card == card.id).map(checklist).collect())));
    }
    if params.str("attachments").is_some_and(|a| a != "false" && a != "none") {
        let attachments = nested.attachments.iter().filter(|a| a.id_card == card.id);
        out.push(("attachments", Value::Array(attachments.map(|a| app.render.attachment(a)).collect())));
    }
    if params.bool("stickers").unwrap_or(None).unwrap_or(false) {
        let stickers = nested.stickers.iter().filter(|s| s.id_card == card.id);
        let fields = Fields::from(params, "sticker_fields", None);
        out.push(("stickers", many(stickers.map(|s| super::stickers::sticker_json(app, s)), &fields)));
    }
    if params.bool("pluginData").unwrap_or(None).unwrap_or(false) {
        out.push(("pluginData", json!([])));
    }
    out
}

/// A page of cards as a collection route answers it (`/boards/{id}/cards`,
/// `/lists/{id}/cards`, `/members/{id}/cards`): `fields=`, the nested objects asked
/// for (read for the whole page at once), and what `each` adds to a card.
pub(crate) async fn collection_json(
    app: &App,
    params: &Params,
    cards: &[cork_core::model::Card],
    labels: &[cork_core::model::Label],
    each: impl Fn(&cork_core::model::Card, &mut Value),
) -> ApiResult {
    let nested = app.cork.nested_of_cards(cards, &include_from(params)?).await?;
    let fields = Fields::from(params, "fields", None);
    let out = cards.iter().map(|card| {
        let mut json = select(app.render.card(card, labels), &fields);
        each(card, &mut json);
        if let Value::Object(map) = &mut json {
            map.extend(collection_includes(app, &nested, card, params).into_iter().map(|(key, value)| (key.to_string(), value)));
        }
        json
    });
    Ok(json_ok(Value::Array(out.collect())))
}

pub(crate) fn include_from(params: &Params) -> ApiResult<CardInclude> {
    Ok(CardInclude {
        list: params.bool("list")?.unwrap_or(false),
        board: params.bool("board")?.unwrap_or(false),
        members: params.bool("members")?.unwrap_or(false),
        checklists: params.str("checklists").is_some_and(|c| c != "none"),
        attachments: params.str("attachments").is_some_and(|a| a != "false" && a != "none"),
        actions: match params.str("actions") {
            Some(a) if a != "none" => Some(action_query(params, true)?),
            _ => None,
        },
        custom_field_items: params.bool("customFieldItems")?.unwrap_or(false),
        stickers: params.bool("stickers")?.unwrap_or(false),
        owners: true,
    })
}

async fn post_card(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let input = NewCard {
        name: p.text("name")?,
        desc: p.text("desc")?,
        id_list: p.text("idList")?,
        pos: p.pos("pos")?,
        due: p.date("due")?.flatten(),
        start: p.date("start")?.flatten(),
        due_complete: p.bool("dueComplete")?.unwrap_or(false),
        due_reminder: p.int("dueReminder", -1, 525_600)?,
        id_labels: p.list("idLabels")?.unwrap_or_default(),
        id_members: p.list("idMembers")?.unwrap_or_default(),
        id_card_source: p.text("idCardSource")?.filter(|s| !s.is_empty() && s != "null"),
        keep_from_source: p.text("keepFromSource")?.filter(|s| !s.is_empty() && s != "null"),
        url_source: p.text("urlSource")?.filter(|s| !s.is_empty() && s != "null"),
        address: p.text("address")?,
        location_name: p.text("locationName")?,
    };
    let card = app.cork.create_card(&req.actor, input).await?;
    let view = app.cork.card_view(&req.actor, &card.id, &CardInclude::default()).await?;
    Ok(json_ok(app.render.card(&view.card, &view.labels)))
}

async fn get_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &include_from(&req.params)?).await?;
    let mut extra = card_includes(&app, &view, &req.params);
    if req.params.bool("stickers")?.unwrap_or(false) {
        extra.push(("stickers", super::stickers::card_stickers_json(&app, &req, &view.card.id).await?));
    }
    // Cork's extension: who owns the card or some of its fields (only when someone does).
    if let Some(cork) = &view.owners {
        extra.push(("cork", cork.clone()));
    }
    // All fields (what clients mostly ask): written straight from the card, with no JSON
    // tree built in between. Chosen fields come in the order they were asked for.
    let card = CardJson { renderer: &app.render, card: &view.card, labels: &view.labels, fields: &Fields::All, extra };
    match Fields::from(&req.params, "fields", None) {
        Fields::All => Ok(json_response(&card)),
        fields => {
            let mut out = select(app.render.card(&view.card, &view.labels), &fields);
            if let Value::Object(map) = &mut out {
                map.extend(card.extra.into_iter().map(|(key, value)| (key.to_string(), value)));
            }
            Ok(json_ok(out))
        }
    }
}

fn patch(p: &Params) -> ApiResult<CardPatch> {
    Ok(CardPatch {
        name: p.text("name")?,
        desc: p.text("desc")?,
        closed: p.bool("closed")?,
        id_list: p.text("idList")?,
        id_board: p.text("idBoard")?,
        pos: p.pos("pos")?,
        due: p.date("due")?,
        start: p.date("start")?,
        due_complete: p.bool("dueComplete")?,
        due_reminder: match p.nullable_text("dueReminder")? {
            None => None,
            Some(None) => Some(None),
            Some(Some(_)) => Some(p.int("dueReminder", -1, 525_600)?),
        },
        id_labels: p.list("idLabels")?,
        id_members: p.list("idMembers")?,
        id_attachment_cover: p.nullable_text("idAttachmentCover")?,
        subscribed: p.bool("subscribed")?,
        address: p.nullable_text("address")?,
        location_name: p.nullable_text("locationName")?,
        coordinates: p.nullable_text("coordinates")?,
    })
}

async fn put_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.update_card(&req.actor, &id, patch(&req.params)?).await?;
    Ok(json_ok(app.render.card(&view.card, &view.labels)))
}

async fn delete_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_card(&req.actor, &id).await?;
    Ok(deleted_limits())
}

/// What `GET /1/cards/{id}/actions` lists without a `filter`, as on Trello: the card's
/// comments and its moves between lists.
const CARD_ACTIONS_DEFAULT: &[&str] = &["commentCard", "updateCard:idList"];

async fn get_card_actions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let mut query = action_query(&req.params, false)?;
    if req.params.str("filter").is_none() {
        query.types = Some(CARD_ACTIONS_DEFAULT.iter().map(|t| t.to_string()).collect());
    }
    let page = app.cork.card_actions(&req.actor, &id, &query).await?;
    Ok(json_ok(many(page.actions.iter().map(|a| app.render.action(a, &page.creators)), &Fields::from(&req.params, "fields", None))))
}

async fn post_card_comment(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let text = req.params.text("text")?.ok_or_else(|| ApiError::invalid_value("text"))?;
    let page = app.cork.add_comment(&req.actor, &id, &text).await?;
    Ok(json_ok(app.render.action(&page.actions[0], &page.creators)))
}

async fn put_card_comment(State(app): State<App>, Path((_id, action)): Path<(String, String)>, req: Req) -> ApiResult {
    let text = req.params.text("text")?.ok_or_else(|| ApiError::invalid_value("text"))?;
    let page = app.cork.edit_comment(&req.actor, &action, &text).await?;
    Ok(json_ok(app.render.action(&page.actions[0], &page.creators)))
}

async fn delete_card_comment(State(app): State<App>, Path((id, action)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &CardInclude::default()).await?;
    app.cork.delete_comment(&req.actor, &action, Some(&view.card.id)).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn post_card_label_id(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let ids = app.cork.add_card_label(&req.actor, &id, &value).await?;
    Ok(json_ok(json!(ids)))
}

async fn post_card_label(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    // `value` names an existing label; otherwise `name` and `color` create one.
    if let Some(value) = req.params.text("value")? {
        let ids = app.cork.add_card_label(&req.actor, &id, &value).await?;
        return Ok(json_ok(json!(ids)));
    }
    let name = req.params.text("name")?.unwrap_or_default();
    let color = req.params.text("color")?;
    let created = app.cork.create_card_label(&req.actor, &id, &name, color.as_deref()).await?;
    Ok(json_ok(label(&created)))
}

async fn delete_card_label(State(app): State<App>, Path((id, label_id)): Path<(String, String)>, req: Req) -> ApiResult {
    // The legacy form names the label by its colour: the card's label of that colour.
    let label_id = if !cork_core::boards::is_label_color(&label_id) {
        label_id
    } else {
        let view = app.cork.card_view(&req.actor, &id, &CardInclude::default()).await?;
        let found = view.labels.iter().find(|l| view.card.id_labels.contains(&l.id) && l.color.as_deref() == Some(label_id.as_str()));
        found.map(|l| l.id.clone()).ok_or_else(ApiError::not_found)?
    };
    app.cork.remove_card_label(&req.actor, &id, &label_id).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn post_card_member(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let members = app.cork.add_card_member(&req.actor, &id, &value).await?;
    Ok(json_ok(many(
        members.iter().map(|m| app.render.member(m, false)),
        &Fields::Some(vec!["fullName".into(), "username".into(), "initials".into(), "avatarHash".into(), "avatarUrl".into()]),
    )))
}

async fn delete_card_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let members = app.cork.remove_card_member(&req.actor, &id, &member).await?;
    Ok(json_ok(many(members.iter().map(|m| app.render.member(m, false)), &Fields::Some(vec!["fullName".into(), "username".into()]))))
}

async fn get_card_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &CardInclude { members: true, ..Default::default() }).await?;
    Ok(json_ok(many(
        view.members.iter().map(|m| app.render.member(m, false)),
        &Fields::from(&req.params, "fields", Some(&["fullName", "username"])),
    )))
}

async fn get_card_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &CardInclude::default()).await?;
    Ok(json_ok(select(app.render.board(&view.board, &[], None, false), &Fields::from(&req.params, "fields", None))))
}

async fn get_card_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &CardInclude { list: true, ..Default::default() }).await?;
    let list = view.list.ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(app.render.list(&list), &Fields::from(&req.params, "fields", None))))
}

async fn get_card_checklists(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let lists = app.cork.card_checklists(&req.actor, &id).await?;
    Ok(json_ok(many(lists.iter().map(checklist), &Fields::from(&req.params, "fields", None))))
}

async fn post_card_checklist(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let created = app
        .cork
        .create_checklist(
            &req.actor,
            &id,
            p.text("name")?.as_deref(),
            p.pos("pos")?,
            p.text("idChecklistSource")?.filter(|s| !s.is_empty()).as_deref(),
        )
        .await?;
    Ok(json_ok(checklist(&created)))
}

fn check_item_patch(p: &Params) -> ApiResult<CheckItemPatch> {
    Ok(CheckItemPatch {
        name: p.text("name")?,
        state: p.text("state")?,
        pos: p.pos("pos")?,
        id_checklist: p.text("idChecklist")?,
        due: p.date("due")?,
        id_member: p.nullable_text("idMember")?,
    })
}

/// `DELETE /cards/{id}/checklists/{idChecklist}`: only a checklist of that card.
async fn delete_card_checklist(State(app): State<App>, Path((id, checklist_id)): Path<(String, String)>, req: Req) -> ApiResult {
    let on_card = app.cork.card_checklists(&req.actor, &id).await?;
    if !cork_core::ids::is_id(&checklist_id) {
        return Err(ApiError::invalid_id());
    }
    let found = on_card.iter().find(|c| c.id == checklist_id.to_ascii_lowercase()).ok_or_else(ApiError::not_found)?;
    app.cork.delete_checklist(&req.actor, &found.id).await?;
    Ok(deleted_limits())
}

/// `GET /cards/{id}/checkItemStates`: the card's completed check items, as
/// `{idCheckItem, state}` (Trello keeps states only for completed items).
async fn get_card_check_item_states(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let on_card = app.cork.card_checklists(&req.actor, &id).await?;
    let states = on_card
        .iter()
        .flat_map(|c| c.check_items.iter())
        .filter(|i| i.state == "complete")
        .map(|i| json!({"idCheckItem": i.id, "state": i.state}));
    Ok(json_ok(many(states, &Fields::from(&req.params, "fields", None))))
}

/// `GET /cards/{id}/checkItem/{idCheckItem}`: an item of one of the card's checklists.
async fn get_card_check_item(State(app): State<App>, Path((id, item)): Path<(String, String)>, req: Req) -> ApiResult {
    let on_card = app.cork.card_checklists(&req.actor, &id).await?;
    if !cork_core::ids::is_id(&item) {
        return Err(ApiError::invalid_id());
    }
    let item = item.to_ascii_lowercase();
    let found = on_card.iter().flat_map(|c| c.check_items.iter()).find(|i| i.id == item).ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(check_item(found), &Fields::from(&req.params, "fields", None))))
}

async fn put_card_check_item(State(app): State<App>, Path((id, item)): Path<(String, String)>, req: Req) -> ApiResult {
    let updated = app.cork.update_check_item(&req.actor, None, Some(&id), &item, check_item_patch(&req.params)?).await?;
    Ok(json_ok(check_item(&updated)))
}

async fn delete_card_check_item(State(app): State<App>, Path((id, item)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_check_item(&req.actor, None, Some(&id), &item).await?;
    Ok(json_ok(json!({"limits": {}})))
}

async fn put_legacy_check_item(
    State(app): State<App>,
    Path((id, checklist_id, item)): Path<(String, String, String)>,
    req: Req,
) -> ApiResult {
    let updated = app.cork.update_check_item(&req.actor, Some(&checklist_id), Some(&id), &item, check_item_patch(&req.params)?).await?;
    Ok(json_ok(check_item(&updated)))
}

async fn put_legacy_check_item_field(
    State(app): State<App>,
    Path((id, checklist_id, item, field)): Path<(String, String, String, String)>,
    mut req: Req,
) -> ApiResult {
    if !matches!(field.as_str(), "name" | "state" | "pos") {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_legacy_check_item(State(app), Path((id, checklist_id, item)), req).await
}

async fn get_card_attachments(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let attachments = app.cork.card_attachments(&req.actor, &id).await?;
    Ok(json_ok(many(attachments.iter().map(|a| app.render.attachment(a)), &Fields::from(&req.params, "fields", None))))
}

async fn post_card_attachment(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    if let Some(upload) = super::uploads::upload_of(&req) {
        return super::uploads::post_file_attachment(&app, &id, &req, upload).await;
    }
    let Some(url) = p.text("url")? else {
        return Err(ApiError::invalid_value("url"));
    };
    let created = app
        .cork
        .attach_link(
            &req.actor,
            &id,
            &url,
            p.text("name")?.as_deref(),
            p.text("mimeType")?.as_deref(),
            p.bool("setCover")?.unwrap_or(false),
        )
        .await?;
    Ok(json_ok(app.render.attachment(&created)))
}

async fn get_card_attachment(State(app): State<App>, Path((id, attachment)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.card_attachment(&req.actor, &id, &attachment).await?;
    Ok(json_ok(select(app.render.attachment(&found), &Fields::from(&req.params, "fields", None))))
}

async fn delete_card_attachment(State(app): State<App>, Path((id, attachment)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_attachment(&req.actor, &id, &attachment).await?;
    Ok(deleted_limits())
}

/// Power-ups are not part of Cork yet: no card has plugin data.
async fn get_card_plugin_data(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.card_view(&req.actor, &id, &CardInclude::default()).await?;
    Ok(json_ok(json!([])))
}

async fn get_card_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.card_view(&req.actor, &id, &CardInclude::default()).await?;
    field_value(&app.render.card(&view.card, &view.labels), &field)
}

/// The legacy per-field write form: `PUT /cards/{id}/{field}` with `value`.
async fn put_card_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, mut req: Req) -> ApiResult {
    const FIELDS: &[&str] = &[
        "name",
        "desc",
        "closed",
        "idList",
        "idBoard",
        "pos",
        "due",
        "start",
        "dueComplete",
        "idAttachmentCover",
        "subscribed",
        "idLabels",
        "idMembers",
        "dueReminder",
    ];
    if !FIELDS.contains(&field.as_str()) {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_card(State(app), Path(id), req).await
}
