//! One module per Trello resource, named after its URL segment.

mod actions;
mod applications;
pub mod audit;
mod batch;
mod board_extras;
mod boards;
mod cards;
mod checklists;
mod custom_fields;
mod emoji;
mod enterprises;
pub mod guardrails;
pub(crate) mod imports;
mod labels;
mod legacy;
mod lists;
mod member_extras;
mod members;
mod mirrors;
mod notifications;
mod organization_extras;
mod organizations;
mod plugins;
mod prefs;
mod reactions;
mod reports;
pub(crate) mod search;
mod stickers;
mod tokens;
mod uploads;
mod votes;
mod webhooks;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cork_core::actions::ActionQuery;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render::{select, Fields};
use crate::App;

/// The route table: the literal paths found in the source by build.rs, and the legacy
/// nested-field routes registered in a loop.
pub(crate) fn route_paths() -> Vec<String> {
    const LITERAL: &[&str] = include!(concat!(env!("OUT_DIR"), "/route_paths.rs"));
    let mut paths: Vec<String> = LITERAL.iter().map(|p| p.to_string()).collect();
    paths.extend(legacy::NESTED_FIELDS.iter().map(|(model, nested)| format!("/1/{model}/{{id}}/{nested}/{{field}}")));
    paths.sort();
    paths.dedup();
    paths
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .merge(boards::routes())
        .merge(board_extras::routes())
        .merge(lists::routes())
        .merge(cards::routes())
        .merge(labels::routes())
        .merge(checklists::routes())
        .merge(members::routes())
        .merge(organizations::routes())
        .merge(actions::routes())
        .merge(search::routes())
        .merge(tokens::routes())
        .merge(batch::routes())
        .merge(custom_fields::routes())
        .merge(notifications::routes())
        .merge(uploads::routes())
        .merge(stickers::routes())
        .merge(emoji::routes())
        .merge(votes::routes())
        .merge(reactions::routes())
        .merge(prefs::routes())
        .merge(applications::routes())
        .merge(audit::routes())
        .merge(guardrails::routes())
        .merge(reports::routes())
        .merge(imports::routes())
        .merge(mirrors::routes())
        .merge(enterprises::routes())
        .merge(plugins::routes())
        .merge(organization_extras::routes())
        .merge(member_extras::routes())
        .merge(legacy::routes())
        .merge(webhooks::routes())
}

/// A 200 with a JSON body, as Trello sends it (with the charset clients look for).
pub(crate) fn json_ok(value: Value) -> Response {
    json_response(&value)
}

/// A 200 with `body` serialized straight into the answer's bytes (not through
/// `Display`, which writes token by token through a formatter).
pub(crate) fn json_response<T: serde::Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], bytes).into_response(),
        Err(error) => crate::error::ApiError::from(cork_core::DomainError::Internal(error.to_string())).into_response(),
    }
}

/// Trello's body for deleted boards and labels.
pub(crate) fn deleted_value() -> Response {
    json_ok(json!({"_value": null}))
}

/// Trello's body for deleted cards and attachments.
pub(crate) fn deleted_limits() -> Response {
    json_ok(json!({"limits": {}}))
}

/// `GET /{model}/{id}/{field}`: `{"_value": v}` for scalars, the value itself otherwise.
pub(crate) fn field_value(object: &Value, field: &str) -> ApiResult {
    match object.get(field) {
        Some(value @ (Value::Array(_) | Value::Object(_))) => Ok(json_ok(value.clone())),
        Some(value) => Ok(json_ok(json!({"_value": value}))),
        None => Err(ApiError::not_found()),
    }
}

/// Renders a list of objects with a `fields` choice.
pub(crate) fn many(values: impl IntoIterator<Item = Value>, fields: &Fields) -> Value {
    Value::Array(values.into_iter().map(|v| select(v, fields)).collect())
}

/// A `since`/`before` bound: an id, or a date turned into the smallest id of its second.
pub(crate) fn id_bound(params: &Params, key: &str) -> ApiResult<Option<String>> {
    match params.str(key).filter(|s| !s.is_empty() && s != "null") {
        None => Ok(None),
        Some(text) => cork_core::ids::id_bound(&text).map(Some).ok_or_else(|| ApiError::invalid_value(key)),
    }
}

/// The paging of a card collection: `limit` (1 to 1000), `before` and `since` (ids or
/// dates) and `sort` (`id` oldest first, `-id` newest first).
pub(crate) fn card_page(params: &Params) -> ApiResult<cork_core::paging::CardPage> {
    let oldest_first = match params.str("sort").as_deref() {
        None | Some("") => None,
        Some("id") => Some(true),
        Some("-id") => Some(false),
        Some(_) => return Err(ApiError::invalid_value("sort")),
    };
    Ok(cork_core::paging::CardPage {
        since: id_bound(params, "since")?,
        before: id_bound(params, "before")?,
        limit: params.int("limit", 1, 1000)?.map(|l| l as usize),
        oldest_first,
    })
}

/// Reads an action query from `filter`, `since`, `before`, `limit`, `page` (or, with a
/// prefix, `actions`, `actions_since`, ...).
pub(crate) fn action_query(params: &Params, nested: bool) -> ApiResult<ActionQuery> {
    let (filter, since, before, limit, page) = if nested {
        ("actions", "actions_since", "actions_before", "actions_limit", "actions_page")
    } else {
        ("filter", "since", "before", "limit", "page")
    };
    let types = match params.list(filter)? {
        None => None,
        Some(list) if list.iter().any(|t| t == "all") || list.is_empty() => None,
        Some(list) => Some(list),
    };
    Ok(ActionQuery {
        types,
        since: id_bound(params, since)?,
        before: id_bound(params, before)?,
        limit: params.int(limit, 0, 1000)?.unwrap_or(50),
        page: params.int(page, 0, 100)?.unwrap_or(0),
    })
}

/// A filter given either as the last path segment or as `filter=`.
pub(crate) fn filter_of(segment: Option<&str>, params: &Params, allowed: &[&str], default: &str) -> ApiResult<String> {
    let filter = match segment {
        Some(segment) => segment.to_string(),
        None => params.str("filter").unwrap_or_else(|| default.to_string()),
    };
    if allowed.contains(&filter.as_str()) {
        Ok(filter)
    } else if segment.is_some() {
        Err(ApiError::not_found())
    } else {
        Err(ApiError::invalid_value("filter"))
    }
}
