//! `/1/organizations/{id}/...` beyond the basics: tags, exports (and their download at
//! `/cork/exports/{id}`), the logo, preferences as routes, invitations by email, member
//! deactivation and removal from every board, single memberships, new billable guests
//! and the legacy per-field writes.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::Router;
use cork_core::org_extras::{ExportSource, OrgExport, OrgTag};
use cork_core::organizations::{OrgInput, OrgView};
use serde_json::{json, Value};

use super::custom_fields::{card_items_json, field_json};
use super::uploads::upload_of;
use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::render::{checklist, label, membership, select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/organizations/{id}/tags", get(get_tags).post(post_tag))
        .route("/1/organizations/{id}/tags/{tag}", delete(delete_tag))
        .route("/1/organizations/{id}/exports", get(get_exports).post(post_export))
        .route("/cork/exports/{export}", get(get_export_file))
        .route("/1/organizations/{id}/logo", post(post_logo).delete(delete_logo))
        .route("/1/organizations/{id}/prefs/{pref}", put(put_pref).delete(delete_pref))
        .route("/1/organizations/{id}/prefs/{pref}/{sub}", put(put_sub_pref))
        .route("/1/organizations/{id}/members", put(put_member_by_email))
        .route("/1/organizations/{id}/members/{member}/deactivated", put(put_member_deactivated))
        .route("/1/organizations/{id}/members/{member}/all", delete(delete_member_everywhere))
        .route("/1/organizations/{id}/memberships/{membership}", get(get_membership))
        .route("/1/organizations/{id}/newBillableGuests/{board}", get(get_new_billable_guests))
        .route("/1/organizations/{id}/{field}", put(put_field))
}

fn org_json(app: &App, view: &OrgView) -> Value {
    app.render.organization(&view.org, Some(&view.boards), Some(&view.memberships))
}

/// Trello's Tag.
fn tag_json(tag: &OrgTag) -> Value {
    json!({"id": tag.id, "name": tag.name})
}

async fn get_tags(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let tags = app.cork.org_tags(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(tags.iter().map(tag_json).collect())))
}

async fn post_tag(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let tag = app.cork.create_org_tag(&req.actor, &id, req.params.text("name")?).await?;
    Ok(json_ok(tag_json(&tag)))
}

async fn delete_tag(State(app): State<App>, Path((id, tag)): Path<(String, String)>, req: Req) -> ApiResult {
    app.cork.delete_org_tag(&req.actor, &id, &tag).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// Trello's Export. Cork exports synchronously, so every export is finished; its url
/// needs the credentials of a workspace admin, like the rest of the API.
fn export_json(app: &App, export: &OrgExport) -> Value {
    json!({
        "id": export.id,
        "status": {"attempts": 1, "finished": true, "stage": "Export_completed"},
        "startedAt": export.started_at,
        "size": export.size.to_string(),
        "exportUrl": format!("{}/cork/exports/{}", app.render.base_url, export.id),
    })
}

/// One board as Trello's board export (`/b/{shortLink}.json`) has it: every field and
/// every nested collection.
fn board_export(app: &App, source: &ExportSource, index: usize) -> Value {
    let view = &source.boards[index];
    let mut out = app.render.board(&view.board, &view.labels, Some(&view.memberships), false);
    let cards = view.cards.iter().map(|card| {
        let mut rendered = app.render.card(card, &view.labels);
        let attachments: Vec<Value> =
            source.attachments.iter().filter(|a| a.id_card == card.id).map(|a| app.render.attachment(a)).collect();
        rendered["attachments"] = Value::Array(attachments);
        rendered["customFieldItems"] = card_items_json(&view.custom_field_items, &card.id);
        rendered
    });
    out["actions"] = Value::Array(view.actions.actions.iter().map(|a| app.render.action(a, &view.actions.creators)).collect());
    out["cards"] = Value::Array(cards.collect());
    out["labels"] = Value::Array(view.labels.iter().map(label).collect());
    out["lists"] = Value::Array(view.lists.iter().map(|l| app.render.list(l)).collect());
    out["members"] = Value::Array(view.members.iter().map(|m| app.render.member(m, false)).collect());
    out["checklists"] = Value::Array(view.checklists.iter().map(checklist).collect());
    out["customFields"] = Value::Array(view.custom_fields.iter().map(field_json).collect());
    out["memberships"] = Value::Array(view.memberships.iter().map(membership).collect());
    out["pluginData"] = json!([]);
    out
}

async fn get_exports(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let exports = app.cork.org_exports(&req.actor, &id).await?;
    Ok(json_ok(Value::Array(exports.iter().map(|e| export_json(&app, e)).collect())))
}

/// Builds the export at once: the workspace and each of its boards as Trello exports
/// boards, written as one JSON file into the data directory.
async fn post_export(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let with_attachments = req.params.bool("attachments")?.unwrap_or(true);
    let started_at = cork_core::now();
    let source = app.cork.org_export_source(&req.actor, &id, with_attachments).await?;
    let boards: Vec<Value> = (0..source.boards.len()).map(|i| board_export(&app, &source, i)).collect();
    let document = json!({
        "organization": app.render.organization(&source.org, Some(&source.boards.iter().map(|v| v.board.clone()).collect::<Vec<_>>()), None),
        "boards": boards,
        "dateExported": cork_core::now(),
    });
    let bytes = serde_json::to_vec_pretty(&document).map_err(|e| ApiError::from(cork_core::DomainError::from(e)))?;
    let export = app.cork.create_org_export(&req.actor, &source.org.id, started_at, with_attachments, bytes).await?;
    Ok(json_ok(export_json(&app, &export)))
}

async fn get_export_file(State(app): State<App>, Path(export): Path<String>, req: Req) -> ApiResult {
    let (export, bytes) = app.cork.org_export_file(&req.actor, &export).await?;
    let disposition = format!("attachment; filename=\"cork-export-{}.json\"", export.id);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment"))),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=0")),
    ];
    Ok((StatusCode::OK, headers, bytes).into_response())
}

async fn post_logo(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let upload = upload_of(&req).ok_or_else(|| ApiError::invalid_value("file"))?;
    let org = app.cork.set_org_logo(&req.actor, &id, Some(upload)).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(&app, &view)))
}

async fn delete_logo(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let org = app.cork.set_org_logo(&req.actor, &id, None).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(&app, &view)))
}

/// Runs `PUT /organizations/{id}` with just `input`, answering with the workspace.
async fn update_with(app: &App, req: &Req, id: &str, input: OrgInput) -> ApiResult {
    let org = app.cork.update_org(&req.actor, id, input).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(app, &view)))
}

fn value_text(req: &Req) -> ApiResult<String> {
    req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))
}

/// `PUT /organizations/{id}/prefs/{pref}` with `value`.
async fn put_pref(State(app): State<App>, Path((id, pref)): Path<(String, String)>, req: Req) -> ApiResult {
    let input = OrgInput { prefs: vec![(pref, value_text(&req)?)], ..OrgInput::default() };
    update_with(&app, &req, &id, input).await
}

/// `PUT /organizations/{id}/prefs/boardVisibilityRestrict/{level}` with `value`.
async fn put_sub_pref(State(app): State<App>, Path((id, pref, sub)): Path<(String, String, String)>, req: Req) -> ApiResult {
    let input = OrgInput { prefs: vec![(format!("{pref}/{sub}"), value_text(&req)?)], ..OrgInput::default() };
    update_with(&app, &req, &id, input).await
}

/// `DELETE /organizations/{id}/prefs/associatedDomain|orgInviteRestrict`.
async fn delete_pref(State(app): State<App>, Path((id, pref)): Path<(String, String)>, req: Req) -> ApiResult {
    if !matches!(pref.as_str(), "associatedDomain" | "orgInviteRestrict") {
        return Err(ApiError::not_found());
    }
    let org = app.cork.remove_org_pref(&req.actor, &id, &pref, req.params.text("value")?).await?;
    let view = app.cork.org_view(&req.actor, &org.id).await?;
    Ok(json_ok(org_json(&app, &view)))
}

/// Invites by email (`email`, `fullName`, `type`): answers with the workspace and its
/// members.
async fn put_member_by_email(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let email = p.text("email")?.ok_or_else(|| ApiError::invalid_value("email"))?;
    let full_name = p.text("fullName")?.ok_or_else(|| ApiError::invalid_value("fullName"))?;
    let kind = p.text("type")?.unwrap_or_else(|| "normal".into());
    let view = app.cork.invite_org_member(&req.actor, &id, &email, &full_name, &kind).await?;
    let mut out = org_json(&app, &view);
    out["members"] =
        many(view.members.iter().map(|m| app.render.member(m, false)), &Fields::Some(vec!["fullName".into(), "username".into()]));
    Ok(json_ok(out))
}

async fn put_member_deactivated(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = req.params.bool("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let view = app.cork.set_org_member_deactivated(&req.actor, &id, &member, value).await?;
    Ok(json_ok(org_json(&app, &view)))
}

async fn delete_member_everywhere(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let view = app.cork.remove_org_member_everywhere(&req.actor, &id, &member).await?;
    Ok(json_ok(org_json(&app, &view)))
}

/// One membership; `member=true` adds the member.
async fn get_membership(State(app): State<App>, Path((id, membership_id)): Path<(String, String)>, req: Req) -> ApiResult {
    let with_member = req.params.bool("member")?.unwrap_or(false);
    let (found, member) = app.cork.org_membership(&req.actor, &id, &membership_id).await?;
    let mut out = membership(&found);
    if with_member {
        out["member"] = select(
            app.render.member(&member, req.actor.member_id() == Some(member.id.as_str())),
            &Fields::from(&req.params, "member_fields", None),
        );
    }
    Ok(json_ok(out))
}

async fn get_new_billable_guests(State(app): State<App>, Path((id, board)): Path<(String, String)>, req: Req) -> ApiResult {
    let guests = app.cork.org_new_billable_guests(&req.actor, &id, &board).await?;
    let fields = Fields::Some(["fullName", "username", "initials", "avatarHash"].iter().map(|s| s.to_string()).collect());
    Ok(json_ok(many(guests.iter().map(|m| app.render.member(m, false)), &fields)))
}

/// The legacy per-field form: `PUT /organizations/{id}/{field}` with `value`.
async fn put_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = Some(value_text(&req)?);
    let mut input = OrgInput::default();
    match field.as_str() {
        "displayName" => input.display_name = value,
        "name" => input.name = value,
        "desc" => input.desc = value,
        "website" => input.website = value,
        _ => return Err(ApiError::not_found()),
    }
    update_with(&app, &req, &id, input).await
}
