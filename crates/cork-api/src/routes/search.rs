//! `/1/search` and `/1/search/members`.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use cork_core::search::{SearchRequest, Term};
use serde_json::{json, Value};

use super::{json_ok, many};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/1/search", get(get_search)).route("/1/search/members", get(get_search_members))
}

const MODEL_TYPES: &[&str] = &["actions", "boards", "cards", "members", "organizations"];

fn limit(p: &Params, key: &str, default: i64, max: i64) -> ApiResult<usize> {
    Ok(p.int(key, 0, max)?.unwrap_or(default) as usize)
}

/// What `GET /1/search` asks for, read from its parameters.
pub(crate) fn search_request(p: &Params) -> ApiResult<SearchRequest> {
    let query = p.text("query")?.ok_or_else(|| ApiError::invalid_value("query"))?;
    if query.trim().is_empty() || query.len() > 16384 {
        return Err(ApiError::invalid_value("query"));
    }
    let model_types = match p.list("modelTypes")? {
        None => vec!["all".to_string()],
        Some(list) => {
            if list.iter().any(|m| m != "all" && !MODEL_TYPES.contains(&m.as_str())) {
                return Err(ApiError::invalid_value("modelTypes"));
            }
            list
        }
    };
    let ids = |key: &str| -> ApiResult<Option<Vec<String>>> { Ok(p.list(key)?.filter(|l| !l.is_empty())) };
    Ok(SearchRequest {
        query,
        partial: p.bool("partial")?.unwrap_or(false),
        id_boards: ids("idBoards")?,
        id_organizations: ids("idOrganizations")?,
        id_cards: ids("idCards")?,
        model_types,
        cards_limit: limit(p, "cards_limit", 10, 1000)?,
        cards_page: limit(p, "cards_page", 0, 100)?,
        boards_limit: limit(p, "boards_limit", 10, 1000)?,
        members_limit: limit(p, "members_limit", 10, 1000)?,
        organizations_limit: limit(p, "organizations_limit", 10, 1000)?,
    })
}

async fn get_search(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let request = search_request(p)?;
    let model_types = &request.model_types;
    let found = app.cork.search(&req.actor, &request).await?;
    let card_fields = Fields::from(p, "card_fields", None);
    let with_board = p.bool("card_board")?.unwrap_or(false);
    let with_list = p.bool("card_list")?.unwrap_or(false);
    let cards: Vec<Value> = found
        .cards
        .iter()
        .map(|card| {
            let mut value = select(app.render.card(card, &found.labels), &card_fields);
            if with_board {
                if let Some(board) = found.card_boards.iter().find(|b| b.id == card.id_board) {
                    value["board"] = select(
                        app.render.board(board, &[], None, false),
                        &Fields::from(p, "board_fields", Some(&["name", "idOrganization"])),
                    );
                }
            }
            if with_list {
                if let Some(list) = found.lists.iter().find(|l| l.id == card.id_list) {
                    value["list"] = app.render.list(list);
                }
            }
            value
        })
        .collect();
    let terms: Vec<Value> = found
        .terms
        .iter()
        .filter_map(|t| match t {
            Term::Text { text, negated } => Some(json!({"text": if *negated { format!("-{text}") } else { text.clone() }})),
            Term::Operator { .. } => None,
        })
        .collect();
    let modifiers: Vec<Value> = found
        .terms
        .iter()
        .filter_map(|t| match t {
            Term::Operator { name, value, negated } => Some(json!({"text": format!("{}{name}:{value}", if *negated { "-" } else { "" })})),
            Term::Text { .. } => None,
        })
        .collect();
    let board_fields = Fields::from(p, "board_fields", Some(&["name", "idOrganization"]));
    let member_fields = Fields::from(p, "member_fields", Some(&["avatarHash", "fullName", "initials", "username", "confirmed"]));
    let org_fields = Fields::from(p, "organization_fields", Some(&["name", "displayName"]));
    // Only the model types asked for are keys of the answer (a strict client refuses
    // the others), `options` always.
    let wanted = |kind: &str| model_types.iter().any(|m| m == "all" || m == kind);
    let mut out = serde_json::Map::new();
    out.insert("options".into(), json!({"terms": terms, "modifiers": modifiers, "modelTypes": model_types, "partial": request.partial}));
    if wanted("actions") {
        out.insert("actions".into(), json!([]));
    }
    if wanted("cards") {
        out.insert("cards".into(), Value::Array(cards));
    }
    if wanted("boards") {
        out.insert("boards".into(), many(found.boards.iter().map(|b| app.render.board(b, &[], None, false)), &board_fields));
    }
    if wanted("members") {
        out.insert("members".into(), many(found.members.iter().map(|m| app.render.member(m, false)), &member_fields));
    }
    if wanted("organizations") {
        out.insert("organizations".into(), many(found.organizations.iter().map(|o| app.render.organization(o, None, None)), &org_fields));
    }
    Ok(json_ok(Value::Object(out)))
}

async fn get_search_members(State(app): State<App>, req: Req) -> ApiResult {
    let p = &req.params;
    let query = p.text("query")?.filter(|q| !q.trim().is_empty()).ok_or_else(|| ApiError::invalid_value("query"))?;
    let limit = p.int("limit", 1, 20)?.unwrap_or(8) as usize;
    let found =
        app.cork.search_members(&req.actor, &query, limit, p.text("idBoard")?.as_deref(), p.text("idOrganization")?.as_deref()).await?;
    let fields = Fields::Some(
        ["avatarHash", "avatarUrl", "fullName", "initials", "username", "confirmed", "memberType"].iter().map(|s| s.to_string()).collect(),
    );
    Ok(json_ok(Value::Array(
        found
            .iter()
            .map(|(member, score)| {
                let mut value = select(app.render.member(member, false), &fields);
                value["similarity"] = json!(score);
                value["active"] = json!(true);
                value
            })
            .collect(),
    )))
}
