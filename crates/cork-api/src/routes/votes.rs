//! `/1/cards/{id}/membersVoted`: votes on a card.

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::Router;
use cork_core::model::Member;

use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::Fields;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/cards/{id}/membersVoted", get(get_voters).post(post_vote))
        .route("/1/cards/{id}/membersVoted/{member}", delete(delete_vote))
}

/// Voters with `fields` (Trello's default: `avatarHash,fullName,initials,username`).
fn voters_json(app: &App, req: &Req, voters: &[Member]) -> serde_json::Value {
    let fields = Fields::from(&req.params, "fields", Some(&["avatarHash", "fullName", "initials", "username"]));
    many(voters.iter().map(|m| app.render.member(m, false)), &fields)
}

async fn get_voters(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let voters = app.cork.card_voters(&req.actor, &id).await?;
    Ok(json_ok(voters_json(&app, &req, &voters)))
}

/// `value` is the member voting (the actor); the answer lists the card's voters.
async fn post_vote(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let member = req.params.text("value")?.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::invalid_value("value"))?;
    let voters = app.cork.vote(&req.actor, &id, &member).await?;
    Ok(json_ok(voters_json(&app, &req, &voters)))
}

async fn delete_vote(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let voters = app.cork.unvote(&req.actor, &id, &member).await?;
    Ok(json_ok(voters_json(&app, &req, &voters)))
}
