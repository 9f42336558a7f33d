//! `/1/members`: the member (`me`, id or username), their boards, workspaces,
//! cards, actions and board stars.

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::Router;
use cork_core::members::MemberPatch;
use serde_json::Value;

use super::{action_query, field_value, filter_of, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::{select, star, Fields, BOARD_DEFAULT_FIELDS};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/members/{id}", get(get_member).put(put_member))
        .route("/1/members/{id}/boards", get(get_member_boards))
        .route("/1/members/{id}/boards/{filter}", get(get_member_boards_filtered))
        .route("/1/members/{id}/organizations", get(get_member_orgs))
        .route("/1/members/{id}/cards", get(get_member_cards))
        .route("/1/members/{id}/cards/{filter}", get(get_member_cards_filtered))
        .route("/1/members/{id}/actions", get(get_member_actions))
        .route("/1/members/{id}/boardStars", get(get_board_stars).post(post_board_star))
        .route("/1/members/{id}/boardStars/{star}", delete(delete_board_star))
        .route("/1/members/{id}/{field}", get(get_member_field).put(put_member_field))
}

const BOARD_FILTERS: &[&str] = &["all", "closed", "members", "open", "organization", "public", "starred"];

pub(super) fn member_json(app: &App, view: &cork_core::members::MemberView) -> Value {
    let mut out = app.render.member(&view.member, view.is_self);
    out["idBoards"] = serde_json::json!(view.id_boards);
    out["idOrganizations"] = serde_json::json!(view.id_organizations);
    out
}

async fn get_member(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.member_view(&req.actor, &id).await?;
    let mut out = select(member_json(&app, &view), &Fields::from(&req.params, "fields", None));
    if let Some(filter) = req.params.str("boards").filter(|b| b != "none") {
        let boards = app.cork.member_boards(&req.actor, &id, &filter).await?;
        out["boards"] = many(
            boards.iter().map(|b| app.render.board(b, &[], None, false)),
            &Fields::from(&req.params, "board_fields", Some(BOARD_DEFAULT_FIELDS)),
        );
    }
    if req.params.str("organizations").is_some_and(|o| o != "none") {
        let orgs = app.cork.member_orgs(&req.actor, &id).await?;
        out["organizations"] =
            many(orgs.iter().map(|o| app.render.organization(o, None, None)), &Fields::from(&req.params, "organization_fields", None));
    }
    Ok(json_ok(out))
}

async fn put_member(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let patch =
        MemberPatch { full_name: p.text("fullName")?, initials: p.text("initials")?, bio: p.text("bio")?, username: p.text("username")? };
    let member = app.cork.update_member(&req.actor, &id, patch).await?;
    Ok(json_ok(app.render.member(&member, true)))
}

async fn member_boards(app: &App, id: &str, filter: String, req: &Req) -> ApiResult {
    let boards = app.cork.member_boards(&req.actor, id, &filter).await?;
    let fields = Fields::from(&req.params, "fields", None);
    Ok(json_ok(many(boards.iter().map(|b| app.render.board(b, &[], None, false)), &fields)))
}

async fn get_member_boards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, BOARD_FILTERS, "all")?;
    member_boards(&app, &id, filter, &req).await
}

async fn get_member_boards_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, BOARD_FILTERS, "all")?;
    member_boards(&app, &id, filter, &req).await
}

async fn get_member_orgs(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let orgs = app.cork.member_orgs(&req.actor, &id).await?;
    Ok(json_ok(many(orgs.iter().map(|o| app.render.organization(o, None, None)), &Fields::from(&req.params, "fields", None))))
}

async fn member_cards(app: &App, id: &str, filter: String, req: &Req) -> ApiResult {
    let page = super::card_page(&req.params)?;
    let (mut cards, labels) = app.cork.member_cards(&req.actor, id, &filter).await?;
    page.apply(&mut cards, |c| c.id.as_str());
    super::cards::collection_json(app, &req.params, &cards, &labels, |_, _| {}).await
}

const CARD_FILTERS: &[&str] = &["all", "closed", "open", "visible", "complete", "incomplete"];

async fn get_member_cards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = filter_of(None, &req.params, CARD_FILTERS, "visible")?;
    member_cards(&app, &id, filter, &req).await
}

async fn get_member_cards_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, CARD_FILTERS, "visible")?;
    member_cards(&app, &id, filter, &req).await
}

async fn get_member_actions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let query = action_query(&req.params, false)?;
    let page = app.cork.actions_of(&req.actor, cork_core::actions::ActionScope::Member, &id, &query).await?;
    Ok(json_ok(many(page.actions.iter().map(|a| app.render.action(a, &page.creators)), &Fields::from(&req.params, "fields", None))))
}

async fn get_board_stars(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let stars = app.cork.board_stars(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(stars.iter().map(star).collect())))
}

async fn post_board_star(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let board = req.params.text("idBoard")?.ok_or_else(|| ApiError::invalid_value("idBoard"))?;
    let pos = req.params.pos("pos")?.ok_or_else(|| ApiError::invalid_value("pos"))?;
    let created = app.cork.star_board(&req.actor, &id, &board, pos).await?;
    Ok(json_ok(star(&created)))
}

async fn delete_board_star(State(app): State<App>, Path((id, star_id)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.unstar_board(&req.actor, &id, &star_id).await?;
    Ok(json_ok(serde_json::json!({"_value": null})))
}

async fn get_member_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.member_view(&req.actor, &id).await?;
    field_value(&member_json(&app, &view), &field)
}

async fn put_member_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, mut req: Req) -> ApiResult {
    if field == "avatarSource" {
        let source = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
        let member = app.cork.set_avatar_source(&req.actor, &id, &source).await?;
        return Ok(json_ok(app.render.member(&member, true)));
    }
    if !matches!(field.as_str(), "fullName" | "initials" | "bio" | "username") {
        return Err(ApiError::not_found());
    }
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    req.params.set(&field, value);
    put_member(State(app), Path(id), req).await
}
