//! `/1/members/{id}/...` beyond the basics: one board star, invitations waiting for the
//! member, dismissed one-time messages and the avatar upload.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::uploads::upload_of;
use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::{star, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/members/{id}/boardStars/{star}", get(get_board_star).put(put_board_star))
        .route("/1/members/{id}/boardsInvited", get(get_boards_invited))
        .route("/1/members/{id}/organizationsInvited", get(get_orgs_invited))
        .route("/1/members/{id}/oneTimeMessagesDismissed", get(get_messages_dismissed).post(post_message_dismissed))
        .route("/1/members/{id}/avatar", post(post_avatar))
        // An uploaded avatar's `avatarUrl` is `/cork/pictures/{hash}`; clients add
        // `/{size}.png` (the pictures route), and this answers the bare url too.
        .route("/cork/pictures/{key}", get(get_picture))
}

async fn get_board_star(State(app): State<App>, Path((id, star_id)): Path<(String, String)>, req: Req) -> ApiResult {
    let found = app.cork.board_star(&req.actor, &id, &star_id).await?;
    Ok(json_ok(star(&found)))
}

async fn put_board_star(State(app): State<App>, Path((id, star_id)): Path<(String, String)>, req: Req) -> ApiResult {
    let moved = app.cork.move_board_star(&req.actor, &id, &star_id, req.params.pos("pos")?).await?;
    Ok(json_ok(star(&moved)))
}

async fn get_boards_invited(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let boards = app.cork.invited_boards(&req.actor, &id).await?;
    Ok(json_ok(many(boards.iter().map(|b| app.render.board(b, &[], None, false)), &Fields::from(&req.params, "fields", None))))
}

async fn get_orgs_invited(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let orgs = app.cork.invited_orgs(&req.actor, &id).await?;
    Ok(json_ok(many(orgs.iter().map(|o| app.render.organization(o, None, None)), &Fields::from(&req.params, "fields", None))))
}

async fn get_messages_dismissed(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let messages = app.cork.dismissed_messages(&req.actor, &id).await?;
    Ok(json_ok(json!(messages)))
}

/// Dismisses the message named by `value`; answers with every dismissed message.
async fn post_message_dismissed(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let messages = app.cork.dismiss_message(&req.actor, &id, &value).await?;
    Ok(json_ok(json!(messages)))
}

/// A multipart image in `file` becomes the avatar; answers with the member.
async fn post_avatar(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let upload = upload_of(&req).ok_or_else(|| ApiError::invalid_value("file"))?;
    let member = app.cork.set_avatar(&req.actor, &id, upload).await?;
    Ok(json_ok(app.render.member(&member, true)))
}

async fn get_picture(State(app): State<App>, Path(key): Path<String>) -> ApiResult {
    let (mime_type, bytes) = app.cork.picture(&key).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(mime_type)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
    ];
    Ok((headers, bytes).into_response())
}
