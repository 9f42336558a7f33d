//! `/1/organizations`: workspaces, their members and boards.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::Router;
use cork_core::organizations::{OrgInput, OrgView};
use serde_json::{json, Value};

use super::{action_query, field_value, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{membership, select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/organizations", post(post_org))
        .route("/1/organizations/{id}", get(get_org).put(put_org).delete(delete_org))
        .route("/1/organizations/{id}/boards", get(get_org_boards))
        .route("/1/organizations/{id}/members", get(get_org_members))
        .route("/1/organizations/{id}/members/{member}", put(put_org_member).delete(delete_org_member))
        .route("/1/organizations/{id}/memberships", get(get_org_memberships))
        .route("/1/organizations/{id}/actions", get(get_org_actions))
        .route("/1/organizations/{id}/{field}", get(get_org_field))
}

fn input(p: &Params) -> ApiResult<OrgInput> {
    let mut prefs = p.nested(&["prefs"]);
    prefs.dedup_by(|a, b| a.0 == b.0);
    Ok(OrgInput { display_name: p.text("displayName")?, name: p.text("name")?, desc: p.text("desc")?, website: p.text("website")?, prefs })
}

fn org_json(app: &App, view: &OrgView) -> Value {
    app.render.organization(&view.org, Some(&view.boards), Some(&view.memberships))
}

async fn post_org(State(app): State<App>, req: Req) -> ApiResult {
    let org = app.cork.create_org(&req.actor, input(&req.params)?).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(&app, &view)))
}

async fn get_org(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.org_view(&req.actor, &id).await?;
    let mut out = select(org_json(&app, &view), &Fields::from(&req.params, "fields", None));
    if req.params.str("members").is_some_and(|m| m != "none") {
        out["members"] = many(
            view.members.iter().map(|m| app.render.member(m, false)),
            &Fields::from(&req.params, "member_fields", Some(&["fullName", "username"])),
        );
    }
    if req.params.str("boards").is_some_and(|b| b != "none") {
        out["boards"] =
            many(view.boards.iter().map(|b| app.render.board(b, &[], None, false)), &Fields::from(&req.params, "board_fields", None));
    }
    Ok(json_ok(out))
}

async fn put_org(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let org = app.cork.update_org(&req.actor, &id, input(&req.params)?).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(&app, &view)))
}

async fn delete_org(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_org(&req.actor, &id).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_org_boards(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.org_view(&req.actor, &id).await?;
    let filter = req.params.str("filter").unwrap_or_else(|| "all".into());
    let boards = view.boards.iter().filter(|b| match filter.as_str() {
        "open" => !b.closed,
        "closed" => b.closed,
        "public" => b.permission_level() == "public",
        "private" => b.permission_level() == "private",
        "members" | "organization" => b.permission_level() == "org",
        _ => true,
    });
    Ok(json_ok(many(boards.map(|b| app.render.board(b, &[], None, false)), &Fields::from(&req.params, "fields", None))))
}

async fn get_org_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.org_view(&req.actor, &id).await?;
    Ok(json_ok(many(
        view.members.iter().map(|m| app.render.member(m, false)),
        &Fields::from(&req.params, "fields", Some(&["fullName", "username"])),
    )))
}

/// Answers the member added or changed, as the spec's response schema (a Member) and
/// trello.js's parse of it say.
async fn put_org_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let kind = req.params.text("type")?.ok_or_else(|| ApiError::invalid_value("type"))?;
    app.cork.set_org_member(&req.actor, &id, &member, &kind).await?;
    let view = app.cork.member_view(&req.actor, &member).await?;
    Ok(json_ok(super::members::member_json(&app, &view)))
}

async fn delete_org_member(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.remove_org_member(&req.actor, &id, &member).await?;
    Ok(json_ok(org_json(&app, &view)))
}

async fn get_org_memberships(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.org_view(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(view.memberships.iter().map(membership).collect())))
}

async fn get_org_actions(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let query = action_query(&req.params, false)?;
    let page = app.cork.actions_of(&req.actor, cork_core::actions::ActionScope::Organization, &id, &query).await?;
    Ok(json_ok(many(page.actions.iter().map(|a| app.render.action(a, &page.creators)), &Fields::from(&req.params, "fields", None))))
}

async fn get_org_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.org_view(&req.actor, &id).await?;
    field_value(&org_json(&app, &view), &field)
}
