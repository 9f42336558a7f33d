//! `/1/actions/{idAction}/reactions` and `reactionsSummary`: emoji reactions on comments.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use cork_core::emoji::ReactionEmoji;
use cork_core::model::Member;
use cork_core::reactions::{EmojiInput, Reaction, ReactionPage};
use serde_json::{json, Value};

use super::json_ok;
use crate::error::ApiResult;
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/actions/{id}/reactions", get(get_reactions).post(post_reaction))
        .route("/1/actions/{id}/reactions/{reaction}", get(get_reaction).delete(delete_reaction))
        .route("/1/actions/{id}/reactionsSummary", get(get_reactions_summary))
}

fn emoji_json(emoji: &ReactionEmoji) -> Value {
    json!({"unified": emoji.unified, "native": emoji.native, "name": emoji.name, "shortName": emoji.short_name, "skinVariation": emoji.skin_variation})
}

/// The member as reactions show them: the short form actions use for their creator.
fn member_json(app: &App, members: &[Member], id: &str) -> Value {
    let fields = Fields::Some(["username", "fullName", "initials", "avatarHash", "avatarUrl"].iter().map(|s| s.to_string()).collect());
    members.iter().find(|m| m.id == id).map(|m| select(app.render.member(m, false), &fields)).unwrap_or(Value::Null)
}

/// A reaction, with its `member` and `emoji` unless `member=false` / `emoji=false`.
fn reaction_json(app: &App, reaction: &Reaction, members: &[Member], params: &Params) -> ApiResult<Value> {
    let mut out = json!({"id": reaction.id, "idMember": reaction.id_member, "idModel": reaction.id_model, "idEmoji": reaction.id_emoji});
    if params.bool("member")?.unwrap_or(true) {
        out["member"] = member_json(app, members, &reaction.id_member);
    }
    if params.bool("emoji")?.unwrap_or(true) {
        out["emoji"] = emoji_json(&reaction.emoji);
    }
    Ok(out)
}

fn page_json(app: &App, page: &ReactionPage, params: &Params) -> ApiResult<Value> {
    page.reactions.iter().map(|r| reaction_json(app, r, &page.members, params)).collect::<ApiResult<Vec<_>>>().map(Value::Array)
}

async fn get_reactions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let page = app.cork.reactions(&req.actor, &id).await?;
    Ok(json_ok(page_json(&app, &page, &req.params)?))
}

async fn get_reaction(State(app): State<App>, Path((id, reaction)): Path<(String, String)>, req: Req) -> ApiResult {
    let page = app.cork.reaction(&req.actor, &id, &reaction).await?;
    Ok(json_ok(reaction_json(&app, &page.reactions[0], &page.members, &req.params)?))
}

async fn post_reaction(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let input = EmojiInput {
        short_name: p.text("shortName")?,
        unified: p.text("unified")?,
        native: p.text("native")?,
        skin_variation: p.text("skinVariation")?,
    };
    let page = app.cork.add_reaction(&req.actor, &id, input).await?;
    Ok(json_ok(reaction_json(&app, &page.reactions[0], &page.members, &Params::default())?))
}

async fn delete_reaction(State(app): State<App>, Path((id, reaction)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_reaction(&req.actor, &id, &reaction).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// One line per emoji: how many reacted with it, and the first who did.
async fn get_reactions_summary(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let (summary, _members) = app.cork.reactions_summary(&req.actor, &id).await?;
    let lines: Vec<Value> = summary
        .iter()
        .map(|line| {
            json!({
                "id": line.first.id_emoji,
                "idEmoji": line.first.id_emoji,
                "idReaction": line.first.id,
                "count": line.count,
                // When the first reaction was made (its id's time) and what it is on.
                "firstReacted": cork_core::ids::id_time(&line.first.id).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                "idModel": line.first.id_model,
                "emoji": emoji_json(&line.emoji),
            })
        })
        .collect();
    Ok(json_ok(Value::Array(lines)))
}
