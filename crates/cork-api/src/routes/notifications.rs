//! `/1/notifications`: a member's notifications, their read state and the objects they
//! point at; with `/members/{id}/notifications`, `/members/{id}/notificationsChannelSettings`
//! and `/cards/{id}/markAssociatedNotificationsRead`.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::Router;
use cork_core::notifications::{
    ChannelSettings, Notification, NotificationInclude, NotificationQuery, NotificationView, ReadFilter, NOTIFICATION_TYPES,
};
use serde_json::{json, Value};

use super::{field_value, id_bound, json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields, BOARD_DEFAULT_FIELDS};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/1/members/{id}/notifications", get(get_member_notifications))
        .route("/1/members/{id}/notificationsChannelSettings", get(get_channel_settings).put(put_channel_settings))
        .route("/1/members/{id}/notificationsChannelSettings/{channel}", get(get_channel).put(put_channel))
        .route("/1/members/{id}/notificationsChannelSettings/{channel}/{keys}", put(put_channel_keys))
        .route("/1/cards/{id}/markAssociatedNotificationsRead", post(post_mark_card_notifications_read))
        .route("/1/notifications/all/read", post(post_all_read))
        .route("/1/notifications/{id}", get(get_notification).put(put_notification))
        .route("/1/notifications/{id}/unread", get(get_notification_unread).put(put_notification_unread))
        .route("/1/notifications/{id}/board", get(get_notification_board))
        .route("/1/notifications/{id}/card", get(get_notification_card))
        .route("/1/notifications/{id}/list", get(get_notification_list))
        .route("/1/notifications/{id}/member", get(get_notification_member))
        .route("/1/notifications/{id}/memberCreator", get(get_notification_member_creator))
        .route("/1/notifications/{id}/organization", get(get_notification_organization))
        .route("/1/notifications/{id}/{field}", get(get_notification_field))
}

/// The member fields Trello shows by default beside a notification.
const MEMBER_DEFAULT_FIELDS: &[&str] = &["avatarHash", "fullName", "initials", "username"];

fn notification_json(notification: &Notification) -> Value {
    json!({
        "id": notification.id,
        "unread": notification.unread,
        "type": notification.kind,
        "date": notification.date,
        "dateRead": notification.date_read,
        "data": notification.data,
        "idMemberCreator": notification.id_member_creator,
        "idAction": notification.id_action,
        "reactions": [],
    })
}

fn settings_json(settings: &ChannelSettings) -> Value {
    json!({"id": settings.id, "idMember": settings.id_member, "blockedKeys": settings.blocked_keys, "channel": settings.channel})
}

/// What `GET /notifications/{id}` includes: board, card, list and organization on
/// request; the member and its creator unless turned off.
fn include_from(p: &Params) -> ApiResult<NotificationInclude> {
    Ok(NotificationInclude {
        board: p.bool("board")?.unwrap_or(false),
        card: p.bool("card")?.unwrap_or(false),
        list: p.bool("list")?.unwrap_or(false),
        member: p.bool("member")?.unwrap_or(true),
        member_creator: p.bool("memberCreator")?.unwrap_or(true),
        organization: p.bool("organization")?.unwrap_or(false),
    })
}

fn view_json(app: &App, view: &NotificationView, p: &Params) -> ApiResult<Value> {
    let include = include_from(p)?;
    let mut out = select(notification_json(&view.notification), &Fields::from(p, "fields", None));
    if let (true, Some(board)) = (include.board, &view.board) {
        out["board"] = select(app.render.board(board, &[], None, false), &Fields::from(p, "board_fields", Some(&["name"])));
    }
    if let (true, Some(card)) = (include.card, &view.card) {
        out["card"] = select(app.render.card(card, &view.labels), &Fields::from(p, "card_fields", Some(&["name"])));
    }
    if let (true, Some(list)) = (include.list, &view.list) {
        out["list"] = select(app.render.list(list), &Fields::from(p, "list_fields", Some(&["name"])));
    }
    if let (true, Some(member)) = (include.member, &view.member) {
        out["member"] = select(app.render.member(member, false), &Fields::from(p, "member_fields", Some(MEMBER_DEFAULT_FIELDS)));
    }
    if let (true, Some(creator)) = (include.member_creator, &view.member_creator) {
        out["memberCreator"] =
            select(app.render.member(creator, false), &Fields::from(p, "memberCreator_fields", Some(MEMBER_DEFAULT_FIELDS)));
    }
    if let (true, Some(org)) = (include.organization, &view.organization) {
        out["organization"] =
            select(app.render.organization(org, None, None), &Fields::from(p, "organization_fields", Some(&["displayName"])));
    }
    Ok(out)
}

/// `filter` (`all`, `read`, `unread`, or notification types) and `read_filter`.
fn notification_query(p: &Params) -> ApiResult<NotificationQuery> {
    let mut read = match p.str("read_filter").as_deref() {
        None | Some("all") => ReadFilter::All,
        Some("read") => ReadFilter::Read,
        Some("unread") => ReadFilter::Unread,
        Some(_) => return Err(ApiError::invalid_value("read_filter")),
    };
    let mut types: Vec<String> = Vec::new();
    for entry in p.list("filter")?.unwrap_or_default() {
        match entry.as_str() {
            "all" => {}
            "read" => read = ReadFilter::Read,
            "unread" => read = ReadFilter::Unread,
            kind if NOTIFICATION_TYPES.contains(&kind) => types.push(kind.to_string()),
            _ => return Err(ApiError::invalid_value("filter")),
        }
    }
    Ok(NotificationQuery {
        types: (!types.is_empty()).then_some(types),
        read,
        since: id_bound(p, "since")?,
        before: id_bound(p, "before")?,
        limit: p.int("limit", 0, 1000)?.unwrap_or(50),
        page: p.int("page", 0, 100)?.unwrap_or(0),
    })
}

async fn get_member_notifications(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let p = &req.params;
    let query = notification_query(p)?;
    let page = app.cork.member_notifications(&req.actor, &id, &query).await?;
    let fields = Fields::from(p, "fields", None);
    let with_creator = p.bool("memberCreator")?.unwrap_or(true);
    let creator_fields = Fields::from(p, "memberCreator_fields", Some(MEMBER_DEFAULT_FIELDS));
    let out = page.notifications.iter().map(|n| {
        let mut value = select(notification_json(n), &fields);
        if with_creator {
            if let Some(creator) = page.creators.iter().find(|m| Some(&m.id) == n.id_member_creator.as_ref()) {
                value["memberCreator"] = select(app.render.member(creator, false), &creator_fields);
            }
        }
        value
    });
    Ok(json_ok(Value::Array(out.collect())))
}

async fn get_notification(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = app.cork.notification_view(&req.actor, &id, include_from(&req.params)?).await?;
    Ok(json_ok(view_json(&app, &view, &req.params)?))
}

async fn set_unread(app: &App, req: &Req, id: &str, key: &str) -> ApiResult {
    let unread = req.params.bool(key)?.ok_or_else(|| ApiError::invalid_value(key))?;
    let view = app.cork.set_notification_unread(&req.actor, id, unread, include_from(&req.params)?).await?;
    Ok(json_ok(view_json(app, &view, &req.params)?))
}

async fn put_notification(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    set_unread(&app, &req, &id, "unread").await
}

async fn put_notification_unread(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    set_unread(&app, &req, &id, "value").await
}

async fn post_all_read(State(app): State<App>, req: Req) -> ApiResult {
    let read = req.params.bool("read")?.unwrap_or(true);
    let ids = req.params.list("ids")?;
    app.cork.mark_all_notifications(&req.actor, read, ids.as_deref()).await?;
    Ok(json_ok(json!({})))
}

async fn post_mark_card_notifications_read(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.mark_card_notifications_read(&req.actor, &id).await?;
    Ok(json_ok(json!({})))
}

/// One linked object of a notification: 404 when there is none the reader may see.
async fn linked(app: &App, req: &Req, id: &str, include: NotificationInclude) -> ApiResult<NotificationView> {
    Ok(app.cork.notification_view(&req.actor, id, include).await?)
}

async fn get_notification_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { board: true, ..Default::default() }).await?;
    let board = view.board.ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(app.render.board(&board, &[], None, false), &Fields::from(&req.params, "fields", Some(BOARD_DEFAULT_FIELDS)))))
}

async fn get_notification_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { card: true, ..Default::default() }).await?;
    let card = view.card.ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(app.render.card(&card, &view.labels), &Fields::from(&req.params, "fields", None))))
}

async fn get_notification_list(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { list: true, ..Default::default() }).await?;
    let list = view.list.ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(app.render.list(&list), &Fields::from(&req.params, "fields", None))))
}

async fn get_notification_member(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { member: true, ..Default::default() }).await?;
    let member = view.member.ok_or_else(ApiError::not_found)?;
    let is_self = req.actor.member_id() == Some(member.id.as_str());
    Ok(json_ok(select(app.render.member(&member, is_self), &Fields::from(&req.params, "fields", None))))
}

async fn get_notification_member_creator(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { member_creator: true, ..Default::default() }).await?;
    let member = view.member_creator.ok_or_else(ApiError::not_found)?;
    let is_self = req.actor.member_id() == Some(member.id.as_str());
    Ok(json_ok(select(app.render.member(&member, is_self), &Fields::from(&req.params, "fields", None))))
}

async fn get_notification_organization(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let view = linked(&app, &req, &id, NotificationInclude { organization: true, ..Default::default() }).await?;
    let org = view.organization.ok_or_else(ApiError::not_found)?;
    Ok(json_ok(select(app.render.organization(&org, None, None), &Fields::from(&req.params, "fields", None))))
}

async fn notification_field(app: &App, req: &Req, id: &str, field: &str) -> ApiResult {
    let view = linked(app, req, id, NotificationInclude::default()).await?;
    field_value(&notification_json(&view.notification), field)
}

async fn get_notification_unread(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    notification_field(&app, &req, &id, "unread").await
}

async fn get_notification_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    notification_field(&app, &req, &id, &field).await
}

async fn get_channel_settings(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let settings = app.cork.notification_channel_settings(&req.actor, &id).await?;
    Ok(json_ok(many(settings.iter().map(settings_json), &Fields::All)))
}

async fn get_channel(State(app): State<App>, Path((id, channel)): Path<(String, String)>, req: Req) -> ApiResult {
    let settings = app.cork.notification_channel(&req.actor, &id, &channel).await?;
    Ok(json_ok(settings_json(&settings)))
}

fn blocked_keys(p: &Params) -> ApiResult<Vec<String>> {
    p.list("blockedKeys")?.ok_or_else(|| ApiError::invalid_value("blockedKeys"))
}

async fn put_channel_settings(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let channel = req.params.text("channel")?.ok_or_else(|| ApiError::invalid_value("channel"))?;
    let keys = blocked_keys(&req.params)?;
    let settings = app.cork.set_notification_channel(&req.actor, &id, &channel, &keys).await?;
    Ok(json_ok(settings_json(&settings)))
}

async fn put_channel(State(app): State<App>, Path((id, channel)): Path<(String, String)>, req: Req) -> ApiResult {
    let keys = blocked_keys(&req.params)?;
    let settings = app.cork.set_notification_channel(&req.actor, &id, &channel, &keys).await?;
    Ok(json_ok(settings_json(&settings)))
}

async fn put_channel_keys(State(app): State<App>, Path((id, channel, keys)): Path<(String, String, String)>, req: Req) -> ApiResult {
    let keys: Vec<String> = keys.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
    let settings = app.cork.set_notification_channel(&req.actor, &id, &channel, &keys).await?;
    Ok(json_ok(settings_json(&settings)))
}
