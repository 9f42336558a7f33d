//! The older Trello routes real clients still call (spec/endpoints-legacy-only.tsv).
//!
//! Most of them are another spelling of a current route: a field of a nested object
//! (`/actions/{id}/board/{field}`), a filter as a path segment, or a per-field write.
//! Those are answered by handing the request on to the current route through the same
//! router, with the caller's actor, so permissions, rendering and the one-transaction
//! rule stay in one place. The few with no current counterpart (check item to card,
//! member preferences, sessions, types, deltas, display) are written out here.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use super::{field_value, filter_of, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::request::{BatchActor, InternalCall, Req};
use crate::App;

/// The `GET /{model}/{id}/{nested}/{field}` routes (registered in a loop, so the route
/// table adds them from here).
pub(crate) const NESTED_FIELDS: &[(&str, &str)] = &[
    ("actions", "board"),
    ("actions", "card"),
    ("actions", "list"),
    ("actions", "member"),
    ("actions", "memberCreator"),
    ("actions", "organization"),
    ("notifications", "board"),
    ("notifications", "card"),
    ("notifications", "list"),
    ("notifications", "member"),
    ("notifications", "memberCreator"),
    ("notifications", "organization"),
    ("boards", "membersInvited"),
    ("boards", "organization"),
    ("cards", "board"),
    ("cards", "list"),
    ("checklists", "board"),
    ("labels", "board"),
    ("lists", "board"),
    ("members", "boardsInvited"),
    ("members", "organizationsInvited"),
    ("organizations", "membersInvited"),
];

pub(super) fn routes() -> Router<App> {
    let mut router = Router::new();
    // `GET /{model}/{id}/{nested}/{field}`: one field of the nested object.
    for &(model, nested) in NESTED_FIELDS {
        router = router.route(&format!("/1/{model}/{{id}}/{nested}/{{field}}"), nested_field(model, nested));
    }
    router
        .route("/1/tokens/{token}/member/{field}", nested_field("tokens", "member"))
        // Filters as path segments.
        .route("/1/boards/{id}/members/{member}", get(get_board_members_filtered))
        .route("/1/members/{id}/notifications/{filter}", get(get_member_notifications_filtered))
        .route("/1/members/{id}/organizations/{filter}", get(get_member_orgs_filtered))
        .route("/1/organizations/{id}/boards/{filter}", get(get_org_boards_filtered))
        .route("/1/organizations/{id}/members/{member}", get(get_org_members_filtered))
        .route("/1/checklists/{id}/cards/{filter}", get(get_checklist_cards))
        // Objects reached through another one.
        .route("/1/boards/{id}/members/{member}/cards", get(get_board_member_cards))
        .route("/1/organizations/{id}/members/{member}/cards", get(get_org_member_cards))
        .route("/1/boards/{id}/memberships/{membership}", get(get_board_membership))
        .route("/1/boards/{id}/labels/{label}", get(get_board_label))
        .route("/1/boards/{id}/membersInvited", get(get_board_members_invited))
        .route("/1/boards/{id}/organization", get(get_board_organization))
        .route("/1/organizations/{id}/membersInvited", get(get_org_members_invited))
        .route("/1/labels/{id}/board", get(get_label_board))
        // Writes in their older form.
        .route("/1/boards/{id}/checklists", post(post_board_checklist))
        .route("/1/boards/{id}/markAsViewed", post(post_mark_as_viewed))
        .route("/1/boards/{id}/powerUps", post(post_power_up))
        .route("/1/boards/{id}/powerUps/{power_up}", delete(delete_power_up))
        .route("/1/lists/{id}/cards", post(post_list_card))
        .route("/1/cards/{id}/idMembers", put(put_card_members))
        .route("/1/cards/{id}/labels", put(put_card_labels))
        .route("/1/cards/{id}/checklist/{checklist}/checkItem", post(post_card_check_item))
        .route("/1/cards/{id}/checklist/{checklist}/checkItem/{item}", delete(delete_card_check_item))
        .route("/1/cards/{id}/checklist/{checklist}/checkItem/{item}/convertToCard", post(post_convert_to_card))
        .route("/1/members/{id}/boardStars/{star}/idBoard", put(put_board_star_board))
        .route("/1/members/{id}/boardStars/{star}/pos", put(put_board_star_pos))
        .route("/1/members/{id}/prefs/{pref}", put(put_member_pref))
        .route("/1/organizations/{id}/memberships/{membership}", put(put_org_membership))
        // Logs read as deltas and as display entities.
        .route("/1/boards/{id}/deltas", get(|s, p, r| deltas(s, p, r, "boards")))
        .route("/1/members/{id}/deltas", get(|s, p, r| deltas(s, p, r, "members")))
        .route("/1/organizations/{id}/deltas", get(|s, p, r| deltas(s, p, r, "organizations")))
        .route("/1/actions/{id}/display", get(|s, p, r| display(s, p, r, "actions", false)))
        .route("/1/actions/{id}/entities", get(|s, p, r| display(s, p, r, "actions", true)))
        .route("/1/notifications/{id}/display", get(|s, p, r| display(s, p, r, "notifications", false)))
        .route("/1/notifications/{id}/entities", get(|s, p, r| display(s, p, r, "notifications", true)))
        // Presence and lookup.
        .route("/1/sessions", post(post_session))
        .route("/1/sessions/socket", get(get_session_socket))
        .route("/1/sessions/{id}", put(put_session))
        .route("/1/sessions/{id}/status", put(put_session_status))
        .route("/1/types/{id}", get(get_type))
}

/// Runs `method path` through the router as the caller, with the caller's parameters
/// (minus `drop`) and `extra` as a JSON body; answers the status and the body.
async fn call(app: &App, req: &Req, method: Method, path: &str, drop: &[&str], extra: &[(&str, Value)]) -> (StatusCode, Vec<u8>) {
    let mut body: Map<String, Value> = req.params.to_object();
    for key in drop {
        body.remove(*key);
    }
    for (key, value) in extra {
        body.insert((*key).to_string(), value.clone());
    }
    let inner = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(Value::Object(body).to_string()));
    let Ok(mut inner) = inner else { return (StatusCode::NOT_FOUND, cork_core::NOT_FOUND.as_bytes().to_vec()) };
    inner.extensions_mut().insert(BatchActor(req.actor.clone()));
    inner.extensions_mut().insert(InternalCall);
    let response = match app.internal().oneshot(inner).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap_or_default();
    (status, bytes.to_vec())
}

/// [`call`] for a JSON answer; any other status becomes the same error.
async fn call_json(app: &App, req: &Req, method: Method, path: &str, drop: &[&str], extra: &[(&str, Value)]) -> ApiResult<Value> {
    let (status, body) = call(app, req, method, path, drop, extra).await;
    if status != StatusCode::OK {
        return Err(ApiError::new(status, String::from_utf8_lossy(&body).into_owned()));
    }
    serde_json::from_slice(&body).map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// [`call_json`] answered as is.
async fn forward(app: &App, req: &Req, method: Method, path: &str, drop: &[&str], extra: &[(&str, Value)]) -> ApiResult {
    Ok(json_ok(call_json(app, req, method, path, drop, extra).await?))
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The `value` of a per-field write (or the parameter named like the field).
fn value_of(req: &Req, name: &str) -> ApiResult<Value> {
    req.params.raw("value").or_else(|| req.params.raw(name)).cloned().ok_or_else(|| ApiError::invalid_value("value"))
}

/// One field of a nested object; for a nested list, that field of each element.
fn nested_field(model: &'static str, nested: &'static str) -> MethodRouter<App> {
    get(move |State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req| async move {
        let value = call_json(&app, &req, Method::GET, &format!("/1/{model}/{id}/{nested}"), &["fields"], &[]).await?;
        match value {
            Value::Array(items) => {
                let out = items.iter().map(|item| json!({"id": item.get("id").cloned().unwrap_or(Value::Null), field.clone(): item.get(&field).cloned().unwrap_or(Value::Null)}));
                Ok(json_ok(Value::Array(out.collect())))
            }
            object => field_value(&object, &field),
        }
    })
}

async fn get_board_members_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    forward(&app, &req, Method::GET, &format!("/1/boards/{id}/members"), &[], &[("filter", json!(filter))]).await
}

async fn get_member_notifications_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    forward(&app, &req, Method::GET, &format!("/1/members/{id}/notifications"), &[], &[("filter", json!(filter))]).await
}

/// `all`, `members`, `public` or `none` of a member's workspaces.
async fn get_member_orgs_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, &["all", "members", "public", "none"], "all")?;
    let orgs = call_json(&app, &req, Method::GET, &format!("/1/members/{id}/organizations"), &["fields"], &[]).await?;
    let keep = |org: &Value| match filter.as_str() {
        "none" => false,
        "public" => org["prefs"]["permissionLevel"] == "public",
        _ => true,
    };
    let fields = crate::render::Fields::from(&req.params, "fields", None);
    Ok(json_ok(super::many(orgs.as_array().cloned().unwrap_or_default().into_iter().filter(keep), &fields)))
}

async fn get_org_boards_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    filter_of(Some(&filter), &req.params, &["all", "open", "closed", "members", "organization", "public"], "all")?;
    forward(&app, &req, Method::GET, &format!("/1/organizations/{id}/boards"), &[], &[("filter", json!(filter))]).await
}

/// A workspace's members with the given role (`all`, `normal`, `admins`, `owners`, `none`).
async fn get_org_members_filtered(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, &["all", "normal", "admins", "owners", "none"], "all")?;
    let memberships = call_json(&app, &req, Method::GET, &format!("/1/organizations/{id}/memberships"), &[], &[]).await?;
    let members = call_json(&app, &req, Method::GET, &format!("/1/organizations/{id}/members"), &[], &[]).await?;
    let wanted: Vec<String> = memberships
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| match filter.as_str() {
            "none" => false,
            "normal" => m["memberType"] == "normal",
            "admins" | "owners" => m["memberType"] == "admin",
            _ => true,
        })
        .map(|m| text(m, "idMember"))
        .collect();
    let out = members.as_array().cloned().unwrap_or_default().into_iter().filter(|m| wanted.contains(&text(m, "id")));
    Ok(json_ok(Value::Array(out.collect())))
}

/// The card a checklist is on, as a list (Trello's checklists once had many cards).
async fn get_checklist_cards(State(app): State<App>, Path((id, filter)): Path<(String, String)>, req: Req) -> ApiResult {
    let filter = filter_of(Some(&filter), &req.params, &["all", "open", "closed", "none"], "all")?;
    let checklist = call_json(&app, &req, Method::GET, &format!("/1/checklists/{id}"), &["fields"], &[]).await?;
    let card = call_json(&app, &req, Method::GET, &format!("/1/cards/{}", text(&checklist, "idCard")), &[], &[]).await?;
    let keep = match filter.as_str() {
        "none" => false,
        "open" => card["closed"] == false,
        "closed" => card["closed"] == true,
        _ => true,
    };
    Ok(json_ok(Value::Array(if keep { vec![card] } else { vec![] })))
}

/// The board's id, which also checks the caller may read it.
async fn board_id(app: &App, req: &Req, board: &str) -> ApiResult<String> {
    let board = call_json(app, req, Method::GET, &format!("/1/boards/{board}"), &["fields"], &[("fields", json!("id"))]).await?;
    Ok(text(&board, "id"))
}

/// A member's cards on one board.
async fn get_board_member_cards(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let board = board_id(&app, &req, &id).await?;
    let filter = req.params.str("filter").unwrap_or_else(|| "open".into());
    let cards = call_json(&app, &req, Method::GET, &format!("/1/members/{member}/cards/{filter}"), &["filter"], &[]).await?;
    let out =
        cards.as_array().cloned().unwrap_or_default().into_iter().filter(|c| text(c, "idBoard") == board || c.get("idBoard").is_none());
    Ok(json_ok(Value::Array(out.collect())))
}

/// A member's cards on the boards of one workspace.
async fn get_org_member_cards(State(app): State<App>, Path((id, member)): Path<(String, String)>, req: Req) -> ApiResult {
    let boards = call_json(&app, &req, Method::GET, &format!("/1/organizations/{id}/boards"), &["fields", "filter"], &[]).await?;
    let ids: Vec<String> = boards.as_array().into_iter().flatten().map(|b| text(b, "id")).collect();
    let filter = req.params.str("filter").unwrap_or_else(|| "open".into());
    let cards = call_json(&app, &req, Method::GET, &format!("/1/members/{member}/cards/{filter}"), &["filter", "fields"], &[]).await?;
    let fields = crate::render::Fields::from(&req.params, "fields", None);
    let out = cards.as_array().cloned().unwrap_or_default().into_iter().filter(|c| ids.contains(&text(c, "idBoard")));
    Ok(json_ok(super::many(out, &fields)))
}

async fn get_board_membership(State(app): State<App>, Path((id, membership)): Path<(String, String)>, req: Req) -> ApiResult {
    if !cork_core::ids::is_id(&membership) {
        return Err(ApiError::invalid_id());
    }
    let all = call_json(&app, &req, Method::GET, &format!("/1/boards/{id}/memberships"), &["filter"], &[]).await?;
    let found = all.as_array().into_iter().flatten().find(|m| text(m, "id").eq_ignore_ascii_case(&membership)).cloned();
    found.map(json_ok).ok_or_else(ApiError::not_found)
}

async fn get_board_label(State(app): State<App>, Path((id, label)): Path<(String, String)>, req: Req) -> ApiResult {
    let board = board_id(&app, &req, &id).await?;
    let label = call_json(&app, &req, Method::GET, &format!("/1/labels/{label}"), &[], &[]).await?;
    if text(&label, "idBoard") != board {
        return Err(ApiError::not_found());
    }
    Ok(json_ok(label))
}

/// Members invited to the board who have not signed up yet.
async fn get_board_members_invited(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let members =
        call_json(&app, &req, Method::GET, &format!("/1/boards/{id}/members"), &["fields", "filter"], &[("fields", json!("all"))]).await?;
    invited(members, &req)
}

async fn get_org_members_invited(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let members =
        call_json(&app, &req, Method::GET, &format!("/1/organizations/{id}/members"), &["fields"], &[("fields", json!("all"))]).await?;
    invited(members, &req)
}

fn invited(members: Value, req: &Req) -> ApiResult {
    let fields = crate::render::Fields::from(&req.params, "fields", None);
    let out = members.as_array().cloned().unwrap_or_default().into_iter().filter(|m| m["confirmed"] == false);
    Ok(json_ok(super::many(out, &fields)))
}

async fn get_board_organization(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let board = call_json(&app, &req, Method::GET, &format!("/1/boards/{id}"), &["fields"], &[("fields", json!("idOrganization"))]).await?;
    let org = text(&board, "idOrganization");
    if org.is_empty() {
        return Err(ApiError::not_found());
    }
    forward(&app, &req, Method::GET, &format!("/1/organizations/{org}"), &[], &[]).await
}

async fn get_label_board(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let label = call_json(&app, &req, Method::GET, &format!("/1/labels/{id}"), &["fields"], &[]).await?;
    forward(&app, &req, Method::GET, &format!("/1/boards/{}", text(&label, "idBoard")), &[], &[]).await
}

/// Checklists belonged to boards once; now the card (`idCard`) must be on this board.
async fn post_board_checklist(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let board = board_id(&app, &req, &id).await?;
    let card = req.params.text("idCard")?.ok_or_else(|| ApiError::invalid_value("idCard"))?;
    let card = call_json(&app, &req, Method::GET, &format!("/1/cards/{card}"), &["fields"], &[("fields", json!("idBoard"))])
        .await
        .map_err(|_| ApiError::invalid_value("idCard"))?;
    if text(&card, "idBoard") != board {
        return Err(ApiError::invalid_value("idCard"));
    }
    forward(&app, &req, Method::POST, "/1/checklists", &[], &[("idCard", json!(text(&card, "id")))]).await
}

async fn post_mark_as_viewed(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    forward(&app, &req, Method::POST, &format!("/1/boards/{id}/markedAsViewed"), &[], &[]).await
}

/// Power-ups were named (`calendar`, `voting`, ...); they are plugins now, found by id
/// or by name among those available to the board.
async fn power_up_id(app: &App, req: &Req, board: &str, name: &str) -> ApiResult<String> {
    let plugins =
        call_json(app, req, Method::GET, &format!("/1/boards/{board}/plugins"), &["fields", "filter"], &[("filter", json!("available"))])
            .await?;
    plugins
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| text(p, "id").eq_ignore_ascii_case(name) || text(p, "name").eq_ignore_ascii_case(name))
        .map(|p| text(p, "id"))
        .ok_or_else(|| ApiError::invalid_value("value"))
}

async fn post_power_up(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let name = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let plugin = power_up_id(&app, &req, &id, &name).await?;
    forward(&app, &req, Method::POST, &format!("/1/boards/{id}/boardPlugins"), &["value"], &[("idPlugin", json!(plugin))]).await
}

async fn delete_power_up(State(app): State<App>, Path((id, name)): Path<(String, String)>, req: Req) -> ApiResult {
    let plugin = power_up_id(&app, &req, &id, &name).await.map_err(|_| ApiError::not_found())?;
    forward(&app, &req, Method::DELETE, &format!("/1/boards/{id}/boardPlugins/{plugin}"), &[], &[]).await
}

async fn post_list_card(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    forward(&app, &req, Method::POST, "/1/cards", &[], &[("idList", json!(id))]).await
}

/// Replaces the card's members with `value` (comma-separated ids).
async fn put_card_members(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = value_of(&req, "idMembers")?;
    forward(&app, &req, Method::PUT, &format!("/1/cards/{id}"), &["value"], &[("idMembers", value)]).await
}

/// Replaces the card's labels with those of the colours in `value` (Trello's labels
/// were colours); each colour is the board's first label of that colour.
async fn put_card_labels(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let value = req.params.str("value").or_else(|| req.params.str("labels")).ok_or_else(|| ApiError::invalid_value("value"))?;
    let card = call_json(&app, &req, Method::GET, &format!("/1/cards/{id}"), &["fields"], &[("fields", json!("idBoard"))]).await?;
    let labels = call_json(
        &app,
        &req,
        Method::GET,
        &format!("/1/boards/{}/labels", text(&card, "idBoard")),
        &["fields", "limit"],
        &[("limit", json!(1000))],
    )
    .await?;
    let mut ids = Vec::new();
    for color in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let label = labels.as_array().into_iter().flatten().find(|l| text(l, "color") == color || text(l, "id") == color);
        ids.push(label.map(|l| text(l, "id")).ok_or_else(|| ApiError::invalid_value("value"))?);
    }
    forward(
        &app,
        &req,
        Method::PUT,
        &format!("/1/cards/{}", text(&card, "id")),
        &["value", "labels"],
        &[("idLabels", json!(ids.join(",")))],
    )
    .await
}

/// Checks that the checklist is on the card (by id or short link).
async fn checklist_on_card(app: &App, req: &Req, card: &str, checklist: &str) -> ApiResult<()> {
    let card = call_json(app, req, Method::GET, &format!("/1/cards/{card}"), &["fields"], &[("fields", json!("id"))]).await?;
    let checklist = call_json(app, req, Method::GET, &format!("/1/checklists/{checklist}"), &["fields"], &[]).await?;
    if text(&checklist, "idCard") != text(&card, "id") {
        return Err(ApiError::not_found());
    }
    Ok(())
}

async fn post_card_check_item(State(app): State<App>, Path((id, checklist)): Path<(String, String)>, req: Req) -> ApiResult {
    checklist_on_card(&app, &req, &id, &checklist).await?;
    forward(&app, &req, Method::POST, &format!("/1/checklists/{checklist}/checkItems"), &[], &[]).await
}

async fn delete_card_check_item(
    State(app): State<App>,
    Path((id, checklist, item)): Path<(String, String, String)>,
    req: Req,
) -> ApiResult {
    checklist_on_card(&app, &req, &id, &checklist).await?;
    forward(&app, &req, Method::DELETE, &format!("/1/checklists/{checklist}/checkItems/{item}"), &[], &[]).await
}

/// A check item becomes a card of its own (named like it, in the card's list, below it)
/// and leaves the checklist, in one `convertToCardFromCheckItem` step.
async fn post_convert_to_card(State(app): State<App>, Path((id, checklist, item)): Path<(String, String, String)>, req: Req) -> ApiResult {
    let card = app.cork.convert_check_item_to_card(&req.actor, &id, &checklist, &item).await?;
    Ok(json_ok(app.render.card(&card, &[])))
}

async fn put_board_star_board(State(app): State<App>, Path((id, star)): Path<(String, String)>, req: Req) -> ApiResult {
    let board = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
    let star = app.cork.restar_board(&req.actor, &id, &star, &board).await?;
    Ok(json_ok(crate::render::star(&star)))
}

async fn put_board_star_pos(State(app): State<App>, Path((id, star)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = value_of(&req, "pos")?;
    forward(&app, &req, Method::PUT, &format!("/1/members/{id}/boardStars/{star}"), &["value"], &[("pos", value)]).await
}

/// `colorBlind`, `locale` and `minutesBetweenSummaries` (Trello's member prefs).
async fn put_member_pref(State(app): State<App>, Path((id, pref)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = match pref.as_str() {
        "colorBlind" => json!(req.params.bool("value")?.ok_or_else(|| ApiError::invalid_value("value"))?),
        "locale" => {
            let locale = req.params.text("value")?.ok_or_else(|| ApiError::invalid_value("value"))?;
            if locale.is_empty() || locale.len() > 16 || !locale.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(ApiError::invalid_value("value"));
            }
            json!(locale)
        }
        "minutesBetweenSummaries" => {
            let minutes = req.params.int("value", -1, 10_080)?.ok_or_else(|| ApiError::invalid_value("value"))?;
            if ![-1, 1, 60].contains(&minutes) {
                return Err(ApiError::invalid_value("value"));
            }
            json!(minutes)
        }
        _ => return Err(ApiError::not_found()),
    };
    let member = app.cork.set_member_pref(&req.actor, &id, &pref, value).await?;
    Ok(json_ok(app.render.member(&member, true)["prefs"].clone()))
}

/// Changes the role of the member a workspace membership names.
async fn put_org_membership(State(app): State<App>, Path((id, membership)): Path<(String, String)>, req: Req) -> ApiResult {
    let member_type = req.params.text("type")?.ok_or_else(|| ApiError::invalid_value("type"))?;
    let (membership, _) = app.cork.org_membership(&req.actor, &id, &membership).await?;
    forward(
        &app,
        &req,
        Method::PUT,
        &format!("/1/organizations/{id}/members/{}", membership.id_member),
        &[],
        &[("type", json!(member_type))],
    )
    .await
}

/// The model's log, oldest first, numbered from 1: `ixLastUpdate` is the last number
/// the client has seen, and it gets what came after (at most 1000 entries).
async fn deltas(State(app): State<App>, Path(id): Path<String>, req: Req, model: &'static str) -> ApiResult {
    let since = req.params.int("ixLastUpdate", -1, i64::MAX)?.unwrap_or(-1);
    let actions =
        call_json(&app, &req, Method::GET, &format!("/1/{model}/{id}/actions"), &["limit", "page", "filter"], &[("limit", json!(1000))])
            .await?;
    let mut actions = actions.as_array().cloned().unwrap_or_default();
    actions.reverse();
    let out = actions
        .into_iter()
        .enumerate()
        .map(|(i, action)| (i as i64 + 1, action))
        .filter(|(ix, _)| *ix > since)
        .map(|(ix, action)| json!({"ixUpdate": ix, "model": "action", "id": action["id"], "data": action}));
    Ok(json_ok(Value::Array(out.collect())))
}

/// Trello's `display` of an action or notification: a translation key and the
/// entities the sentence mentions (who did it, to which card, list and board).
async fn display(State(app): State<App>, Path(id): Path<String>, req: Req, model: &'static str, only_entities: bool) -> ApiResult {
    let object = call_json(&app, &req, Method::GET, &format!("/1/{model}/{id}"), &["fields"], &[]).await?;
    let kind = text(&object, "type");
    // An action's `display` is rendered once, by GET /actions/{id} (webhooks send the same).
    if let Some(display) = object.get("display").filter(|d| d.is_object()) {
        if only_entities {
            return Ok(json_ok(Value::Array(display["entities"].as_object().map(|e| e.values().cloned().collect()).unwrap_or_default())));
        }
        return Ok(json_ok(display.clone()));
    }
    let mut entities = Map::new();
    if let Some(creator) = object.get("memberCreator").filter(|c| c.is_object()) {
        entities.insert(
            "memberCreator".into(),
            json!({"type": "member", "id": creator["id"], "username": creator["username"], "text": creator["fullName"]}),
        );
    }
    let data = &object["data"];
    for key in ["card", "list", "listBefore", "listAfter", "board", "organization", "checklist", "checkItem", "label"] {
        if let Some(entity) = data.get(key).filter(|e| e.is_object()) {
            let kind = match key {
                "listBefore" | "listAfter" => "list",
                other => other,
            };
            let mut value = json!({"type": kind, "id": entity["id"], "text": entity.get("name").cloned().unwrap_or(Value::Null)});
            if let Some(short_link) = entity.get("shortLink") {
                value["shortLink"] = short_link.clone();
            }
            entities.insert(key.into(), value);
        }
    }
    if only_entities {
        return Ok(json_ok(Value::Array(entities.into_values().collect())));
    }
    Ok(json_ok(json!({"translationKey": translation_key(model, &kind), "entities": entities})))
}

/// `createCard` → `action_create_card` (notifications: `notification_...`).
fn translation_key(model: &str, kind: &str) -> String {
    let mut key = String::from(if model == "actions" { "action" } else { "notification" });
    key.push('_');
    for c in kind.chars() {
        if c.is_ascii_uppercase() {
            key.push('_');
            key.push(c.to_ascii_lowercase());
        } else {
            key.push(c);
        }
    }
    key
}

/// Sessions were Trello's presence channel (who is looking at a board). Cork has no
/// live updates, so a session is only acknowledged: nothing is stored or logged.
fn session_member(req: &Req) -> ApiResult<String> {
    req.actor.member_id().map(str::to_string).ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized permission requested"))
}

fn session_status(req: &Req) -> ApiResult<String> {
    let status = req.params.text("status")?.or(req.params.text("value")?).unwrap_or_else(|| "active".into());
    if !matches!(status.as_str(), "active" | "idle" | "disconnected") {
        return Err(ApiError::invalid_value("status"));
    }
    Ok(status)
}

fn session_json(id: &str, member: &str, status: &str, req: &Req) -> ApiResult<Value> {
    let boards = req.params.list("idBoards")?.unwrap_or_default();
    Ok(json!({"id": id, "idMember": member, "status": status, "idBoards": boards, "dateLastActivity": cork_core::now()}))
}

async fn post_session(req: Req) -> ApiResult {
    let member = session_member(&req)?;
    let status = session_status(&req)?;
    Ok(json_ok(session_json(&cork_core::ids::new_id(), &member, &status, &req)?))
}

async fn put_session(Path(id): Path<String>, req: Req) -> ApiResult {
    let member = session_member(&req)?;
    if !cork_core::ids::is_id(&id) {
        return Err(ApiError::invalid_id());
    }
    let status = session_status(&req)?;
    Ok(json_ok(session_json(&id.to_ascii_lowercase(), &member, &status, &req)?))
}

async fn put_session_status(Path(id): Path<String>, req: Req) -> ApiResult {
    put_session(Path(id), req).await
}

/// Without a push channel, the socket answer tells the client to poll instead.
async fn get_session_socket(req: Req) -> ApiResult {
    let member = session_member(&req)?;
    Ok(json_ok(json!({"idMember": member, "socket": null, "polling": true})))
}

/// What kind of object an id (or a member's or workspace's name) names.
async fn get_type(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let candidates: &[(&str, &str)] = if cork_core::ids::is_id(&id) {
        &[
            ("members", "member"),
            ("organizations", "organization"),
            ("boards", "board"),
            ("cards", "card"),
            ("lists", "list"),
            ("labels", "label"),
            ("checklists", "checklist"),
            ("actions", "action"),
        ]
    } else {
        &[("members", "member"), ("organizations", "organization"), ("boards", "board"), ("cards", "card")]
    };
    for (model, kind) in candidates {
        let (status, body) = call(&app, &req, Method::GET, &format!("/1/{model}/{id}"), &["fields"], &[("fields", json!("id"))]).await;
        if status == StatusCode::OK {
            let found: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return Ok(json_ok(json!({"type": kind, "id": found["id"]})));
        }
    }
    Err(ApiError::not_found())
}
