//! `/1/lists`: create, read, update (rename, move, archive), the list's cards and
//! the bulk card operations.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use cork_core::lists::{ListPatch, NewList};
use serde_json::json;

use super::{action_query, field_value, filter_of, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/lists", post(post_list))
        .route("/1/lists/{id}", get(get_list).put(put_list))
        .route("/1/lists/{id}/cards", get(get_list_cards))
        .route("/1/lists/{id}/cards/{filter}", get(get_list_cards_filtered))
        .route("/1/lists/{id}/archiveAllCards", post(post_archive_all_cards))
        .route("/1/lists/{id}/moveAllCards", post(post_move_all_cards))
        .route("/1/lists/{id}/board", get(get_list_board))
        .route("/1/lists/{id}/actions", get(get_list_actions))
        .route("/1/lists/{id}/{field}", get(get_list_field).put(put_list_field))
}

const CARD_FILTERS: &[&str] = &["all", "open", "closed", "none"];

async fn post_list(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let name = p.text("name")?.ok_or_else(|| ApiError::invalid_value("name"))?;
    let id_board = p.text("idBoard")?.ok_or_else(|| ApiError::invalid_value("idBoard"))?;
    let input = NewList { name, id_board, pos: p.pos("pos")?, id_list_source: p.text("idListSource")?.filter(|s| !s.is_empty()) };
    let list = app.cork.create_list(&req.actor, input).await?;
    Ok(json_ok(app.render.list(&list)))
}

async fn get_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let cards = req.params.str("cards").unwrap_or_else(|| "none".into());
    if !CARD_FILTERS.contains(&cards.as_str()) {
        return Err(ApiError::invalid_value("cards"));
    }
    let view = app.cork.list_view(&req.actor, &id, (cards != "none").then_some(cards.as_str())).await?;
    let mut out = select(app.render.list(&view.list), &Fields::from(&req.params, "fields", None));
    if cards != "none" {
        out["cards"] = many(view.cards.iter().map(|c| app.render.card(c, &view.labels)), &Fields::from(&req.params, "card_fields", None));
    }
    if req.params.bool("board")?.unwrap_or(false) {
        out["board"] = select(
            app.render.board(&view.board, &[], None, false),
            &Fields::from(&req.params, "board_fields", Some(&["name", "desc", "closed", "idOrganization", "url"])),
        );
    }
    Ok(json_ok(out))
}

fn patch(p: &Params) -> ApiResult<ListPatch> {
    Ok(ListPatch {
        name: p.text("name")?,
        closed: p.bool("closed")?,
        pos: p.pos("pos")?,
        id_board: p.text("idBoard")?,
        subscribed: p.bool("subscribed")?,
        soft_limit: p.nullable_text("softLimit")?,
        color: p.nullable_text("color")?,
    })
}

async fn put_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let list = app.cork.update_list(&req.actor, &id, patch(&req.params)?).await?;
    Ok(json_ok(app.render.list(&list)))
}

async fn list_cards(app: &App, id: &str, filter: String, req: &Req) -> ApiResult {
    let page = super::card_page(&req.params)?;
    let mut view = app.cork.list_view(&req.actor, id, Some(&filter)).await?;
    page.apply(&mut view.cards, |c| c.id.as_str());
    super::cards::collection_json(app, &req.params, &view.cards, &view.labels, |_, _| {}).await
}

async fn get_list_cards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, CARD_FILTERS, "open")?;
    list_cards(&app, &id, filter, &req).await
}

async fn get_list_cards_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, CARD_FILTERS, "open")?;
    list_cards(&app, &id, filter, &req).await
}

async fn post_archive_all_cards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.archive_all_cards(&req.actor, &id).await?;
    Ok(json_ok(json!({})))
}

async fn post_move_all_cards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let id_board = req.params.text("idBoard")?.ok_or_else(|| ApiError::invalid_value("idBoard"))?;
    let id_list = req.params.text("idList")?.ok_or_else(|| ApiError::invalid_value("idList"))?;
    let moved = app.cork.move_all_cards(&req.actor, &id, &id_board, &id_list).await?;
    Ok(json_ok(many(moved.iter().map(|c| app.render.card(c, &[])), &Fields::All)))
}

async fn get_list_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.list_view(&req.actor, &id, None).await?;
    let fields = Fields::from(&req.params, "fields", None);
    Ok(json_ok(select(app.render.board(&view.board, &[], None, false), &fields)))
}

async fn get_list_actions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let query = action_query(&req.params, false)?;
    let page = app.cork.actions_of(&req.actor, cork_core::actions::ActionScope::List, &id, &query).await?;
    Ok(json_ok(many(page.actions.iter().map(|a| app.render.action(a, &page.creators)), &Fields::from(&req.params, "fields", None))))
}

async fn get_list_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.list_view(&req.actor, &id, None).await?;
    field_value(&app.render.list(&view.list), &field)
}

/// `PUT /lists/{id}/{field}` with `value` (name, closed, pos, idBoard, subscribed, softLimit).
async fn put_list_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, mut req: Req) -> ApiResult {
    if !matches!(field.as_str(), "name" | "closed" | "pos" | "idBoard" | "subscribed" | "softLimit") {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_list(State(app), Path(id), req).await
}
