//! `/1/tokens/{token}`: what a token is, whom it acts for, and its webhooks (none
//! can be registered before webhooks land, so the list is the real, empty one).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};

use super::json_ok;
use crate::error::{ApiError, ApiResult};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/tokens/{token}", get(get_token))
        .route("/1/tokens/{token}/member", get(get_token_member))
        .route("/1/tokens/{token}/webhooks", get(get_token_webhooks))
        .route("/cork/avatars/{file}", get(get_avatar))
}

/// The token of the path, which must be the request's own.
async fn own_token(app: &App, req: &Req, token: &str) -> ApiResult<cork_core::model::Token> {
    let key = req.actor.token.as_ref().map(|t| t.app_key.clone());
    let actor = app.cork.authenticate(key.as_deref(), Some(token)).await?;
    match (actor.token, req.actor.member_id()) {
        (Some(found), Some(me)) if found.id_member == me => Ok(found),
        _ => Err(ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid token")),
    }
}

async fn get_token(State(app): State<App>, Path(token): Path<String>, req: Req) -> ApiResult {
    let found = own_token(&app, &req, &token).await?;
    Ok(json_ok(json!({
        "id": found.id,
        "identifier": found.identifier,
        "idMember": found.id_member,
        "dateCreated": found.date_created,
        "dateExpires": found.date_expires,
        "permissions": found.permissions,
    })))
}

async fn get_token_member(State(app): State<App>, Path(token): Path<String>, req: Req) -> ApiResult {
    own_token(&app, &req, &token).await?;
    let member = req.actor.member.as_ref().ok_or_else(|| ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid token"))?;
    Ok(json_ok(app.render.member(member, true)))
}

async fn get_token_webhooks(State(app): State<App>, Path(token): Path<String>, req: Req) -> ApiResult {
    own_token(&app, &req, &token).await?;
    Ok(json_ok(Value::Array(Vec::new())))
}

/// A member's avatar: their initials on a colour chosen from the username.
async fn get_avatar(State(app): State<App>, Path(file): Path<String>) -> ApiResult {
    let username = file.strip_suffix(".svg").ok_or_else(ApiError::not_found)?;
    let member = app.cork.member_by_username(username).await?;
    let hue = member.username.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 360;
    let initials: String = member.initials.chars().filter(|c| c.is_alphanumeric()).take(3).collect();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><rect width=\"64\" height=\"64\" rx=\"32\" fill=\"hsl({hue},55%,45%)\"/><text x=\"32\" y=\"41\" font-family=\"sans-serif\" font-size=\"24\" fill=\"#fff\" text-anchor=\"middle\">{initials}</text></svg>"
    );
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

