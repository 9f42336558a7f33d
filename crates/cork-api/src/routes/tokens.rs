//! `/1/tokens/{token}`: what a token is, whom it acts for, its revocation (which
//! removes its webhooks; their routes are in `webhooks.rs`); `/1/members/{id}/tokens`
//! lists a member's tokens.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use cork_core::model::Token;
use serde_json::{json, Value};

use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::{select, Fields};
use crate::request::{oauth_credentials, Req};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/tokens/{token}", get(get_token).delete(delete_token))
        .route("/1/tokens/{token}/member", get(get_token_member))
        .route("/1/members/{id}/tokens", get(get_member_tokens))
        .route("/cork/avatars/{file}", get(get_avatar))
}

/// The application key the request came with (OAuth header, then `key=`): a request
/// with a key and no token may still name its own token in the path.
fn request_key(headers: &HeaderMap, req: &Req) -> Option<String> {
    oauth_credentials(headers).0.or_else(|| req.params.str("key")).filter(|k| !k.is_empty())
}

/// Trello's Token object; `webhooks=true` adds the token's webhooks.
fn token_json(token: &Token, req: &Req) -> ApiResult<Value> {
    let mut out = select(
        json!({
            "id": token.id,
            "identifier": token.identifier,
            "idMember": token.id_member,
            "dateCreated": token.date_created,
            "dateExpires": token.date_expires,
            "permissions": token.permissions,
        }),
        &Fields::from(&req.params, "fields", None),
    );
    if req.params.bool("webhooks")?.unwrap_or(false) {
        // Filled in by `with_webhooks` (this function does not reach the store).
        out["webhooks"] = json!([]);
    }
    Ok(out)
}

/// `webhooks=true`: the token's webhooks in place of the empty list.
async fn with_webhooks(app: &App, token: &Token, mut out: Value) -> ApiResult<Value> {
    if out.get("webhooks").is_some() {
        let hooks = app.cork.webhooks_of_token_id(&token.id).await?;
        out["webhooks"] = Value::Array(hooks.iter().map(crate::webhooks::webhook_json).collect());
    }
    Ok(out)
}

/// The path token, which only its own member may see.
async fn own_token(app: &App, headers: &HeaderMap, req: &Req, token: &str) -> ApiResult<Token> {
    Ok(app.cork.token_by_secret(&req.actor, request_key(headers, req).as_deref(), token).await?)
}

async fn get_token(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap, req: Req) -> ApiResult {
    let found = own_token(&app, &headers, &req, &token).await?;
    let out = token_json(&found, &req)?;
    Ok(json_ok(with_webhooks(&app, &found, out).await?))
}

/// Revokes the token: the next request with it gets 401 `invalid token`.
async fn delete_token(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap, req: Req) -> ApiResult {
    app.cork.revoke_token(&req.actor, request_key(&headers, &req).as_deref(), &token).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_token_member(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap, req: Req) -> ApiResult {
    let found = own_token(&app, &headers, &req, &token).await?;
    let member = app
        .cork
        .members_by_ids(std::slice::from_ref(&found.id_member))
        .await?
        .pop()
        .ok_or_else(|| ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid token"))?;
    Ok(json_ok(select(app.render.member(&member, true), &Fields::from(&req.params, "fields", None))))
}

/// The member's working tokens (never their secrets).
async fn get_member_tokens(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let tokens = app.cork.member_tokens(&req.actor, &id).await?;
    let mut rendered = Vec::with_capacity(tokens.len());
    for token in &tokens {
        rendered.push(with_webhooks(&app, token, token_json(token, &req)?).await?);
    }
    Ok(json_ok(many(rendered, &Fields::All)))
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
