//! The smaller board routes (keys, viewed, tags, invitations by email, stars) and the
//! objects an action refers to.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::Router;
use cork_core::board_extras::ActionTarget;
use serde_json::{json, Value};

use super::json_ok;
use crate::error::{ApiError, ApiResult};
use crate::render::{membership, select, star, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/boards/{id}/calendarKey/generate", post(post_calendar_key))
        .route("/1/boards/{id}/emailKey/generate", post(post_email_key))
        .route("/1/boards/{id}/markedAsViewed", post(post_marked_as_viewed))
        .route("/1/boards/{id}/idTags", post(post_board_tag))
        .route("/1/boards/{id}/members", put(put_board_members))
        .route("/1/boards/{id}/boardStars", get(get_board_stars))
        .route("/1/actions/{id}/board", get(get_action_board))
        .route("/1/actions/{id}/card", get(get_action_card))
        .route("/1/actions/{id}/list", get(get_action_list))
        .route("/1/actions/{id}/member", get(get_action_member))
        .route("/1/actions/{id}/memberCreator", get(get_action_member_creator))
        .route("/1/actions/{id}/organization", get(get_action_organization))
}

/// Answers the board, as the email key's route does (trello.js parses both answers as a
/// board).
async fn post_calendar_key(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.generate_calendar_key(&req.actor, &id).await?;
    board_answer(&app, &req, &id).await
}

/// Answers the board, as Trello does (the key itself is the member's, in `myPrefs`-like
/// storage; clients read it from the board's email address).
async fn post_email_key(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.generate_email_key(&req.actor, &id).await?;
    board_answer(&app, &req, &id).await
}

async fn board_answer(app: &App, req: &Req, id: &str) -> ApiResult {
    let view = app.cork.board_view(&req.actor, id, &cork_core::boards::BoardInclude { labels: true, ..Default::default() }).await?;
    Ok(json_ok(app.render.board(&view.board, &view.labels, None, false)))
}

async fn post_marked_as_viewed(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let (board, viewed) = app.cork.mark_board_viewed(&req.actor, &id).await?;
    let mut out = select(app.render.board(&board, &[], None, false), &Fields::Some(vec!["name".into()]));
    out["dateLastView"] = json!(viewed);
    Ok(json_ok(out))
}

async fn post_board_tag(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let tags = app.cork.add_board_tag(&req.actor, &id, &value).await?;
    Ok(json_ok(json!(tags)))
}

async fn put_board_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let email = req.params.text("email")?.ok_or_else(|| ApiError::invalid_value("email"))?;
    let kind = req.params.text("type")?.unwrap_or_else(|| "normal".into());
    let added = app.cork.invite_board_member(&req.actor, &id, &email, req.params.text("fullName")?.as_deref(), &kind).await?;
    let mut out = json!({"id": id, "memberships": [membership(&added)]});
    if let Ok(view) = app.cork.member_view(&req.actor, &added.id_member).await {
        out["members"] = json!([select(app.render.member(&view.member, false), &Fields::Some(vec!["fullName".into(), "username".into()]))]);
    }
    Ok(json_ok(out))
}

async fn get_board_stars(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let filter = req.params.str("filter").unwrap_or_else(|| "mine".into());
    if !matches!(filter.as_str(), "mine" | "none") {
        return Err(ApiError::invalid_value("filter"));
    }
    let stars = app.cork.stars_on_board(&req.actor, &id, &filter).await?;
    Ok(json_ok(Value::Array(stars.iter().map(star).collect())))
}

async fn action_target(app: &App, req: &Req, id: &str, what: &str) -> ApiResult {
    let fields = Fields::from(&req.params, "fields", None);
    let value = match app.cork.action_target(&req.actor, id, what).await? {
        ActionTarget::Board(board) => app.render.board(&board, &[], None, false),
        ActionTarget::Card(card) => app.render.card(&card, &[]),
        ActionTarget::List(list) => app.render.list(&list),
        ActionTarget::Member(member) => app.render.member(&member, req.actor.member_id() == Some(member.id.as_str())),
        ActionTarget::Organization(org) => app.render.organization(&org, None, None),
    };
    Ok(json_ok(select(value, &fields)))
}

async fn get_action_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "board").await
}

async fn get_action_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "card").await
}

async fn get_action_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "list").await
}

async fn get_action_member(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "member").await
}

async fn get_action_member_creator(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "memberCreator").await
}

async fn get_action_organization(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    action_target(&app, &req, &id, "organization").await
}
