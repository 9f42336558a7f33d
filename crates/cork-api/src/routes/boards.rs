//! `/1/boards`: create, read with nested collections, update, delete, and the
//! board's lists, cards, labels, members, memberships, checklists and actions.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::Router;
use cork_core::boards::{BoardInclude, BoardPatch, BoardView, NewBoard};
use cork_core::lists::NewList;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{action_query, deleted_value, field_value, filter_of, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{label, membership, select, CardJson, Fields, BOARD_DEFAULT_FIELDS};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/boards", axum::routing::post(post_board))
        .route("/1/boards/{id}", get(get_board).put(put_board).delete(delete_board))
        .route("/1/boards/{id}/lists", get(get_board_lists).post(post_board_list))
        .route("/1/boards/{id}/lists/{filter}", get(get_board_lists_filtered))
        .route("/1/boards/{id}/cards", get(get_board_cards))
        .route("/1/boards/{id}/cards/{filter}", get(get_board_cards_filtered))
        .route("/1/boards/{id}/labels", get(get_board_labels).post(post_board_label))
        .route("/1/boards/{id}/members", get(get_board_members))
        .route("/1/boards/{id}/members/{member}", put(put_board_member).delete(delete_board_member))
        .route("/1/boards/{id}/memberships", get(get_board_memberships))
        .route("/1/boards/{id}/memberships/{membership}", put(put_board_membership))
        .route("/1/boards/{id}/checklists", get(get_board_checklists))
        .route("/1/boards/{id}/actions", get(get_board_actions))
        .route("/1/boards/{id}/{field}", get(get_board_field).put(put_board_field))
        .route("/1/boards/{id}/{field}/{sub}", put(put_board_subfield))
}

const LIST_FILTERS: &[&str] = &["all", "open", "closed", "none"];
const CARD_FILTERS: &[&str] = &["all", "open", "closed", "visible", "complete", "incomplete", "none"];
const MEMBER_FILTERS: &[&str] = &["all", "normal", "admins", "owners", "observers", "none"];

fn none_to_option(filter: String) -> Option<String> {
    (filter != "none").then_some(filter)
}

fn include_from(params: &Params) -> ApiResult<BoardInclude> {
    let lists = params.str("lists").unwrap_or_else(|| "none".into());
    let cards = params.str("cards").unwrap_or_else(|| "none".into());
    let members = params.str("members").unwrap_or_else(|| "none".into());
    let memberships = params.str("memberships").unwrap_or_else(|| "none".into());
    for (name, value, allowed) in [("lists", &lists, LIST_FILTERS), ("cards", &cards, CARD_FILTERS), ("members", &members, MEMBER_FILTERS)]
    {
        if !allowed.contains(&value.as_str()) {
            return Err(ApiError::invalid_value(name));
        }
    }
    let fields = Fields::from(params, "fields", Some(BOARD_DEFAULT_FIELDS));
    Ok(BoardInclude {
        lists: none_to_option(lists),
        cards: none_to_option(cards),
        labels: params.str("labels").map(|l| l != "none").unwrap_or(false) || fields.wants("labelNames"),
        members: none_to_option(members),
        memberships: memberships != "none" || fields.wants("memberships"),
        checklists: params.str("checklists").map(|c| c != "none").unwrap_or(false),
        actions: match params.str("actions") {
            Some(a) if a != "none" => Some(action_query(params, true)?),
            _ => None,
        },
        organization: params.bool("organization").unwrap_or(None).unwrap_or(false),
        custom_fields: params.bool("customFields")?.unwrap_or(false),
        custom_field_items: params.bool("card_customFieldItems")?.unwrap_or(false),
    })
}

/// Renders a board with every nested collection that `params` asked for.
/// A board view's answer: its entries as values, and its cards (the bulk of it)
/// serialized straight from the stored cards, after the lists.
struct BoardOut<'a> {
    map: Map<String, Value>,
    cards: Option<CardsOut<'a>>,
}

struct CardsOut<'a> {
    app: &'a App,
    view: &'a BoardView,
    fields: Fields,
    with_items: bool,
}

impl Serialize for CardsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.view.cards.len()))?;
        for card in &self.view.cards {
            let extra = match self.with_items {
                true => vec![("customFieldItems", super::custom_fields::card_items_json(&self.view.custom_field_items, &card.id))],
                false => Vec::new(),
            };
            let labels = &self.view.labels;
            seq.serialize_element(&CardJson { renderer: &self.app.render, card, labels, fields: &self.fields, extra })?;
        }
        seq.end()
    }
}

impl Serialize for BoardOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let mut cards = self.cards.as_ref();
        for (key, value) in &self.map {
            map.serialize_entry(key, value)?;
            if key == "lists" {
                if let Some(cards) = cards.take() {
                    map.serialize_entry("cards", cards)?;
                }
            }
        }
        if let Some(cards) = cards {
            map.serialize_entry("cards", cards)?;
        }
        map.end()
    }
}

fn render_view<'a>(app: &'a App, view: &'a BoardView, params: &Params) -> BoardOut<'a> {
    let fields = Fields::from(params, "fields", Some(BOARD_DEFAULT_FIELDS));
    let map = match select(app.render.board(&view.board, &view.labels, Some(&view.memberships), false), &fields) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut out = BoardOut { map, cards: None };
    let map = &mut out.map;
    if params.str("lists").is_some_and(|l| l != "none") {
        let list_fields = Fields::from(params, "list_fields", None);
        map.insert("lists".into(), many(view.lists.iter().map(|l| app.render.list(l)), &list_fields));
    }
    if params.str("cards").is_some_and(|c| c != "none") {
        let fields = Fields::from(params, "card_fields", None);
        let with_items = params.bool("card_customFieldItems").unwrap_or(None).unwrap_or(false);
        out.cards = Some(CardsOut { app, view, fields, with_items });
    }
    let map = &mut out.map;
    if params.bool("customFields").unwrap_or(None).unwrap_or(false) {
        map.insert("customFields".into(), Value::Array(view.custom_fields.iter().map(super::custom_fields::field_json).collect()));
    }
    if params.str("labels").is_some_and(|l| l != "none") {
        let label_fields = Fields::from(params, "label_fields", None);
        map.insert("labels".into(), many(view.labels.iter().map(label), &label_fields));
    }
    if params.str("members").is_some_and(|m| m != "none") {
        let member_fields = Fields::from(params, "member_fields", Some(&["fullName", "username"]));
        map.insert("members".into(), many(view.members.iter().map(|m| app.render.member(m, false)), &member_fields));
    }
    if params.str("memberships").is_some_and(|m| m != "none") {
        map.insert("memberships".into(), Value::Array(view.memberships.iter().map(membership).collect()));
    }
    if params.str("checklists").is_some_and(|c| c != "none") {
        map.insert("checklists".into(), Value::Array(view.checklists.iter().map(crate::render::checklist).collect()));
    }
    if params.str("actions").is_some_and(|a| a != "none") {
        let action_fields = Fields::from(params, "action_fields", None);
        map.insert(
            "actions".into(),
            many(view.actions.actions.iter().map(|a| app.render.action(a, &view.actions.creators)), &action_fields),
        );
    }
    if let Some(org) = &view.organization {
        let org_fields = Fields::from(params, "organization_fields", Some(&["name", "displayName"]));
        map.insert("organization".into(), select(app.render.organization(org, None, None), &org_fields));
    }
    out
}

async fn post_board(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let name = p.text("name")?.ok_or_else(|| ApiError::invalid_value("name"))?;
    let mut prefs: Vec<(String, String)> = p.nested(&["prefs"]);
    prefs.dedup_by(|a, b| a.0 == b.0);
    let input = NewBoard {
        name,
        desc: p.text("desc")?,
        id_organization: p.text("idOrganization")?.filter(|s| !s.is_empty() && s != "null"),
        default_lists: p.bool("defaultLists")?.unwrap_or(true),
        default_labels: p.bool("defaultLabels")?.unwrap_or(true),
        prefs,
        id_board_source: p.text("idBoardSource")?.filter(|s| !s.is_empty() && s != "null"),
        keep_from_source: p.text("keepFromSource")?.filter(|s| !s.is_empty() && s != "null"),
    };
    let board = app.cork.create_board(&req.actor, input).await?;
    let view = app.cork.board_view(&req.actor, &board.id, &BoardInclude { labels: true, memberships: true, ..Default::default() }).await?;
    Ok(json_ok(app.render.board(&view.board, &view.labels, Some(&view.memberships), false)))
}

async fn get_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let include = include_from(&req.params)?;
    let view = app.cork.board_view(&req.actor, &id, &include).await?;
    // Cork's extension: the board's source-of-truth rules and its mirror (only when it
    // has some), so a board without either renders exactly as Trello's.
    let mut ownership = app.cork.ownership(&view.board.id, None).await?;
    // A mirrored board carries its mirror's rule, so only such a board costs the read of
    // its mirror: every other board read stays as it was.
    let mirrored = ownership
        .as_ref()
        .and_then(|o| o["owners"].as_array())
        .is_some_and(|rules| rules.iter().any(|r| r["key"].as_str() == Some(cork_core::gates::MIRROR_KEY)));
    if mirrored {
        if let Some(cork) = ownership.as_mut() {
            if let Some(mirror) = app.cork.board_mirror(&view.board.id).await? {
                cork["mirror"] = mirror.to_json();
            }
        }
    }
    let mut out = render_view(&app, &view, &req.params);
    if let Some(cork) = ownership {
        out.map.insert("cork".into(), cork);
    }
    Ok(super::json_response(&out))
}

fn board_patch(p: &Params) -> ApiResult<BoardPatch> {
    let mut prefs = p.nested(&["prefs"]);
    prefs.dedup_by(|a, b| a.0 == b.0);
    let mut label_names = p.nested(&["labelNames"]);
    label_names.dedup_by(|a, b| a.0 == b.0);
    Ok(BoardPatch {
        name: p.text("name")?,
        desc: p.text("desc")?,
        closed: p.bool("closed")?,
        subscribed: p.bool("subscribed")?,
        pinned: p.bool("pinned")?,
        id_organization: p.nullable_text("idOrganization")?,
        prefs,
        label_names,
    })
}

async fn respond_board(app: &App, req: &Req, id: &str) -> ApiResult {
    let view = app.cork.board_view(&req.actor, id, &BoardInclude { labels: true, memberships: true, ..Default::default() }).await?;
    Ok(json_ok(app.render.board(&view.board, &view.labels, Some(&view.memberships), false)))
}

async fn put_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let patch = board_patch(&req.params)?;
    let board = app.cork.update_board(&req.actor, &id, patch).await?;
    respond_board(&app, &req, &board.id).await
}

async fn delete_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_board(&req.actor, &id).await?;
    Ok(deleted_value())
}

async fn board_lists(app: &App, id: &str, filter: String, req: &Req) -> ApiResult {
    let cards = req.params.str("cards").unwrap_or_else(|| "none".into());
    if !CARD_FILTERS.contains(&cards.as_str()) {
        return Err(ApiError::invalid_value("cards"));
    }
    let include = BoardInclude { lists: Some(filter), cards: none_to_option(cards.clone()), ..Default::default() };
    let view = app.cork.board_view(&req.actor, id, &include).await?;
    let fields = Fields::from(&req.params, "fields", None);
    let card_fields = Fields::from(&req.params, "card_fields", None);
    let lists = view.lists.iter().map(|list| {
        let mut value = select(app.render.list(list), &fields);
        if cards != "none" {
            let list_cards = view.cards.iter().filter(|c| c.id_list == list.id).map(|c| app.render.card(c, &view.labels));
            value["cards"] = many(list_cards, &card_fields);
        }
        value
    });
    Ok(json_ok(Value::Array(lists.collect())))
}

async fn get_board_lists(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, LIST_FILTERS, "open")?;
    board_lists(&app, &id, filter, &req).await
}

async fn get_board_lists_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, LIST_FILTERS, "open")?;
    board_lists(&app, &id, filter, &req).await
}

async fn post_board_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let name = p.text("name")?.ok_or_else(|| ApiError::invalid_value("name"))?;
    let list = app.cork.create_list(&req.actor, NewList { name, id_board: id, pos: p.pos("pos")?, id_list_source: None }).await?;
    Ok(json_ok(app.render.list(&list)))
}

async fn board_cards(app: &App, id: &str, filter: String, req: &Req) -> ApiResult {
    let with_items = req.params.bool("customFieldItems")?.unwrap_or(false);
    let page = super::card_page(&req.params)?;
    let include = BoardInclude { cards: Some(filter), custom_field_items: with_items, ..Default::default() };
    let mut view = app.cork.board_view(&req.actor, id, &include).await?;
    page.apply(&mut view.cards, |c| c.id.as_str());
    super::cards::collection_json(app, &req.params, &view.cards, &view.labels, |card, json| {
        if with_items {
            json["customFieldItems"] = super::custom_fields::card_items_json(&view.custom_field_items, &card.id);
        }
    })
    .await
}

async fn get_board_cards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, CARD_FILTERS, "visible")?;
    board_cards(&app, &id, filter, &req).await
}

/// `/boards/{id}/cards/{filter}` and `/boards/{id}/cards/{idCard}` share one path.
async fn get_board_cards_filtered(State(app): State<App>, Path((id, segment)): Path<(String, String)>, req: Req) -> ApiResult {
    if CARD_FILTERS.contains(&segment.as_str()) {
        return board_cards(&app, &id, segment, &req).await;
    }
    let view = app.cork.card_view(&req.actor, &segment, &Default::default()).await?;
    let board = app.cork.board_view(&req.actor, &id, &BoardInclude::default()).await?;
    if view.card.id_board != board.board.id {
        return Err(ApiError::not_found());
    }
    let fields = Fields::from(&req.params, "fields", None);
    Ok(json_ok(select(app.render.card(&view.card, &view.labels), &fields)))
}

async fn get_board_labels(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.board_view(&req.actor, &id, &BoardInclude { labels: true, ..Default::default() }).await?;
    let fields = Fields::from(&req.params, "fields", None);
    let limit = req.params.int("limit", 0, 1000)?.unwrap_or(50) as usize;
    Ok(json_ok(many(view.labels.iter().take(limit).map(label), &fields)))
}

async fn post_board_label(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let name = req.params.text("name")?.unwrap_or_default();
    let color = req.params.text("color")?;
    let created = app.cork.create_label(&req.actor, &id, &name, color.as_deref()).await?;
    Ok(json_ok(label(&created)))
}

async fn get_board_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, MEMBER_FILTERS, "all")?;
    let view = app.cork.board_view(&req.actor, &id, &BoardInclude { members: none_to_option(filter), ..Default::default() }).await?;
    let fields = Fields::from(&req.params, "fields", Some(&["fullName", "username"]));
    Ok(json_ok(many(view.members.iter().map(|m| app.render.member(m, req.actor.member_id() == Some(m.id.as_str()))), &fields)))
}

async fn board_after_membership_change(app: &App, req: &Req, id: &str) -> ApiResult {
    let view = app
        .cork
        .board_view(&req.actor, id, &BoardInclude { labels: true, memberships: true, members: Some("all".into()), ..Default::default() })
        .await;
    match view {
        Ok(view) => {
            let mut out = app.render.board(&view.board, &view.labels, Some(&view.memberships), false);
            out["members"] = Value::Array(
                view.members
                    .iter()
                    .map(|m| select(app.render.member(m, false), &Fields::Some(vec!["fullName".into(), "username".into()])))
                    .collect(),
            );
            Ok(json_ok(out))
        }
        // A member who removed themself from a private board may no longer read it.
        Err(cork_core::DomainError::Unauthorized(_)) => Ok(json_ok(json!({"id": id}))),
        Err(other) => Err(other.into()),
    }
}

/// Answers `{id, members, memberships}`, the shape of the email form
/// (`PUT /boards/{id}/members`), which is what Trello sends for both.
async fn put_board_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let kind = req.params.text("type")?.ok_or_else(|| ApiError::invalid_value("type"))?;
    app.cork.set_board_member(&req.actor, &id, &member, &kind).await?;
    let view = app
        .cork
        .board_view(&req.actor, &id, &BoardInclude { memberships: true, members: Some("all".into()), ..Default::default() })
        .await?;
    let members: Vec<Value> = view
        .members
        .iter()
        .map(|m| select(app.render.member(m, false), &Fields::Some(vec!["fullName".into(), "username".into()])))
        .collect();
    let memberships: Vec<Value> = view.memberships.iter().map(crate::render::membership).collect();
    Ok(json_ok(json!({"id": view.board.id, "members": members, "memberships": memberships})))
}

async fn delete_board_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.remove_board_member(&req.actor, &id, &member).await?;
    board_after_membership_change(&app, &req, &id).await
}

async fn get_board_memberships(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app
        .cork
        .board_view(&req.actor, &id, &BoardInclude { memberships: true, members: Some("all".into()), ..Default::default() })
        .await?;
    let filter = req.params.str("filter").unwrap_or_else(|| "all".into());
    let with_member = req.params.bool("member")?.unwrap_or(false);
    let member_fields = Fields::from(&req.params, "member_fields", Some(&["fullName", "username"]));
    let out = view
        .memberships
        .iter()
        .filter(|m| match filter.as_str() {
            "admin" => m.member_type == "admin",
            "normal" => m.member_type == "normal",
            "me" => req.actor.member_id() == Some(m.id_member.as_str()),
            "active" => !m.deactivated,
            "deactivated" => m.deactivated,
            _ => true,
        })
        .map(|m| {
            let mut value = membership(m);
            if with_member {
                if let Some(member) = view.members.iter().find(|x| x.id == m.id_member) {
                    value["member"] = select(app.render.member(member, false), &member_fields);
                }
            }
            value
        })
        .collect();
    Ok(json_ok(Value::Array(out)))
}

async fn put_board_membership(State(app): State<App>, Path((id, membership_id)): Path<(String, String)>, req: Req) -> ApiResult {
    let kind = req.params.text("type")?.ok_or_else(|| ApiError::invalid_value("type"))?;
    let updated = app.cork.set_board_membership(&req.actor, &id, &membership_id, &kind).await?;
    Ok(json_ok(membership(&updated)))
}

async fn get_board_checklists(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.board_view(&req.actor, &id, &BoardInclude { checklists: true, ..Default::default() }).await?;
    let fields = Fields::from(&req.params, "fields", None);
    Ok(json_ok(many(view.checklists.iter().map(crate::render::checklist), &fields)))
}

async fn get_board_actions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let query = action_query(&req.params, false)?;
    let page = app.cork.actions_of(&req.actor, cork_core::actions::ActionScope::Board, &id, &query).await?;
    let fields = Fields::from(&req.params, "fields", None);
    Ok(json_ok(many(page.actions.iter().map(|a| app.render.action(a, &page.creators)), &fields)))
}

async fn get_board_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.board_view(&req.actor, &id, &BoardInclude { labels: true, memberships: true, ..Default::default() }).await?;
    let rendered = app.render.board(&view.board, &view.labels, Some(&view.memberships), false);
    field_value(&rendered, &field)
}

/// The legacy per-field write form: `PUT /boards/{id}/{field}` with `value`.
async fn put_board_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, mut req: Req) -> ApiResult {
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    if !matches!(field.as_str(), "name" | "desc" | "closed" | "subscribed" | "idOrganization" | "pinned") {
        return Err(ApiError::not_found());
    }
    req.params.set(&field, value);
    put_board(State(app), Path(id), req).await
}

/// `PUT /boards/{id}/prefs/{name}` and `PUT /boards/{id}/labelNames/{color}`.
async fn put_board_subfield(State(app): State<App>, Path((id, field, sub)): Path<(String, String, String)>, mut req: Req) -> ApiResult {
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    if !matches!(field.as_str(), "prefs" | "labelNames") {
        return Err(ApiError::not_found());
    }
    req.params.set(&format!("{field}/{sub}"), value);
    put_board(State(app), Path(id), req).await
}
