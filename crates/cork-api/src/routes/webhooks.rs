//! `/1/webhooks` and `/1/tokens/{token}/webhooks`: registration as Trello does it (a
//! HEAD check of the callback before anything is stored), the field routes and the
//! legacy per-field writes; and Cork's delivery log and redelivery under `/cork/`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use cork_core::webhooks::{TokenRef, WebhookFilter, WebhookInput};
use serde_json::{json, Value};

use super::{field_value, json_ok};
use crate::error::{ApiError, ApiResult};
use crate::render::{select, Fields};
use crate::request::{oauth_credentials, Req};
use crate::webhooks::{delivery_json, webhook_json};
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new()
        // `PUT /webhooks` is the old API's create.
        .route("/1/webhooks", post(post_webhook).put(post_webhook))
        .route("/1/webhooks/{id}", get(get_webhook).put(put_webhook).delete(delete_webhook))
        .route("/1/webhooks/{id}/{field}", get(get_webhook_field).put(put_webhook_field))
        .route("/1/tokens/{token}/webhooks", get(get_token_webhooks).post(post_token_webhook).put(post_token_webhook))
        .route("/1/tokens/{token}/webhooks/{id}", get(get_token_webhook).put(put_token_webhook).delete(delete_token_webhook))
        .route("/cork/webhooks/{id}/deliveries", get(get_deliveries))
        .route("/cork/webhooks/deliveries/{id}/redeliver", post(post_redeliver))
}

/// The application key the request came with (a key may stand in for the token on
/// the `/tokens/{token}` routes, as elsewhere).
fn request_key(headers: &HeaderMap, req: &Req) -> Option<String> {
    oauth_credentials(headers).0.or_else(|| req.params.str("key")).filter(|k| !k.is_empty())
}

fn input(req: &Req) -> ApiResult<WebhookInput> {
    let p = &req.params;
    Ok(WebhookInput {
        description: p.text("description")?,
        callback_url: p.str("callbackURL").or_else(|| p.str("callbackUrl")),
        id_model: p.str("idModel"),
        active: p.bool("active")?,
        filter: filter(req)?,
    })
}

/// Cork's `cork.filter`: a JSON body's `{"cork": {"filter": {"types": [...], ...}}}`, or
/// the flat parameters `cork.filter.types=updateCard,commentCard` (and `lists`, `labels`,
/// `members`) of a query or form. Ids must be ids, types words.
fn filter(req: &Req) -> ApiResult<Option<WebhookFilter>> {
    let nested = req.params.raw("cork").and_then(|c| c.get("filter")).cloned();
    let dimensions = ["types", "lists", "labels", "members"];
    let flat: Vec<(&str, String)> =
        dimensions.iter().filter_map(|d| req.params.str(&format!("cork.filter.{d}")).map(|v| (*d, v))).collect();
    if nested.is_none() && flat.is_empty() {
        return Ok(None);
    }
    let invalid = |d: &str| ApiError::invalid_value(&format!("cork.filter.{d}"));
    let mut filter = WebhookFilter::default();
    for dimension in dimensions {
        let values: Vec<String> = match nested.as_ref().and_then(|n| n.get(dimension)) {
            Some(Value::Array(items)) => {
                items.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| invalid(dimension))).collect::<ApiResult<_>>()?
            }
            Some(Value::String(text)) => text.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect(),
            Some(Value::Null) | None => flat
                .iter()
                .filter(|(d, _)| *d == dimension)
                .flat_map(|(_, v)| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
            Some(_) => return Err(invalid(dimension)),
        };
        let well_formed = |v: &String| {
            if dimension == "types" {
                !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == ':')
            } else {
                cork_core::ids::is_id(v)
            }
        };
        if !values.iter().all(well_formed) {
            return Err(invalid(dimension));
        }
        let values = values.into_iter().map(|v| if dimension == "types" { v } else { v.to_ascii_lowercase() }).collect();
        match dimension {
            "types" => filter.types = values,
            "lists" => filter.lists = values,
            "labels" => filter.labels = values,
            _ => filter.members = values,
        }
    }
    Ok(Some(filter))
}

/// Checks, then HEADs the callback, then stores: nothing is written unless the
/// callback answered 200.
async fn create(app: &App, req: &Req, token: TokenRef<'_>) -> ApiResult {
    let input = input(req)?;
    app.cork.check_new_webhook(&req.actor, token, &input).await?;
    let callback = input.callback_url.clone().unwrap_or_default();
    app.webhooks.verify(&callback).await.map_err(|text| ApiError::new(StatusCode::BAD_REQUEST, text))?;
    let hook = app.cork.create_webhook(&req.actor, token, &input).await?;
    Ok(json_ok(webhook_json(&hook)))
}

async fn update(app: &App, req: &Req, token: TokenRef<'_>, id: &str, input: WebhookInput) -> ApiResult {
    let before = app.cork.check_webhook_update(&req.actor, token, id, &input).await?;
    if let Some(callback) = input.callback_url.as_deref().filter(|c| *c != before.callback_url) {
        app.webhooks.verify(callback).await.map_err(|text| ApiError::new(StatusCode::BAD_REQUEST, text))?;
    }
    let hook = app.cork.update_webhook(&req.actor, token, id, &input).await?;
    Ok(json_ok(webhook_json(&hook)))
}

async fn post_webhook(State(app): State<App>, req: Req) -> ApiResult {
    create(&app, &req, TokenRef::Request).await
}

async fn get_webhook(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let hook = app.cork.get_webhook(&req.actor, TokenRef::Request, &id).await?;
    Ok(json_ok(select(webhook_json(&hook), &Fields::from(&req.params, "fields", None))))
}

async fn put_webhook(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    let input = input(&req)?;
    update(&app, &req, TokenRef::Request, &id, input).await
}

async fn delete_webhook(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    app.cork.delete_webhook(&req.actor, TokenRef::Request, &id).await?;
    Ok(json_ok(json!({"_value": null})))
}

async fn get_webhook_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let hook = app.cork.get_webhook(&req.actor, TokenRef::Request, &id).await?;
    field_value(&webhook_json(&hook), &field)
}

/// The legacy per-field writes: `PUT /webhooks/{id}/{active|callbackURL|description|idModel}`
/// with `value`.
async fn put_webhook_field(State(app): State<App>, Path((id, field)): Path<(String, String)>, req: Req) -> ApiResult {
    let value = req.params.raw("value").cloned().ok_or_else(|| ApiError::invalid_value("value"))?;
    let text = || match &value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(ApiError::invalid_value("value")),
    };
    let mut input = WebhookInput::default();
    match field.as_str() {
        "active" => {
            input.active = Some(match &value {
                Value::Bool(b) => *b,
                Value::String(s) if s == "true" => true,
                Value::String(s) if s == "false" => false,
                _ => return Err(ApiError::invalid_value("value")),
            })
        }
        "callbackURL" => input.callback_url = Some(text()?),
        "description" => input.description = Some(text()?),
        "idModel" => input.id_model = Some(text()?),
        _ => return Err(ApiError::not_found()),
    }
    update(&app, &req, TokenRef::Request, &id, input).await
}

async fn get_token_webhooks(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap, req: Req) -> ApiResult {
    let key = request_key(&headers, &req);
    let hooks = app.cork.token_webhooks(&req.actor, TokenRef::Path { secret: &token, request_key: key.as_deref() }).await?;
    Ok(json_ok(Value::Array(hooks.iter().map(webhook_json).collect())))
}

async fn post_token_webhook(State(app): State<App>, Path(token): Path<String>, headers: HeaderMap, req: Req) -> ApiResult {
    let key = request_key(&headers, &req);
    create(&app, &req, TokenRef::Path { secret: &token, request_key: key.as_deref() }).await
}

async fn get_token_webhook(State(app): State<App>, Path((token, id)): Path<(String, String)>, headers: HeaderMap, req: Req) -> ApiResult {
    let key = request_key(&headers, &req);
    let hook = app.cork.get_webhook(&req.actor, TokenRef::Path { secret: &token, request_key: key.as_deref() }, &id).await?;
    Ok(json_ok(webhook_json(&hook)))
}

async fn put_token_webhook(State(app): State<App>, Path((token, id)): Path<(String, String)>, headers: HeaderMap, req: Req) -> ApiResult {
    let key = request_key(&headers, &req);
    let input = input(&req)?;
    update(&app, &req, TokenRef::Path { secret: &token, request_key: key.as_deref() }, &id, input).await
}

async fn delete_token_webhook(
    State(app): State<App>,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
    req: Req,
) -> ApiResult {
    let key = request_key(&headers, &req);
    app.cork.delete_webhook(&req.actor, TokenRef::Path { secret: &token, request_key: key.as_deref() }, &id).await?;
    Ok(json_ok(json!({"_value": null})))
}

/// Cork's delivery log of a webhook (its own token only), newest first: each delivery
/// with its attempts (time, status or error, latency, the answer's first KiB).
async fn get_deliveries(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    if req.actor.token.is_none() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, cork_core::access::UNAUTHORIZED));
    }
    let limit = req.params.int("limit", 1, 1000)?.unwrap_or(100);
    let (_, deliveries) = app.cork.webhook_deliveries(Some(&req.actor), &id, limit).await?;
    Ok(json_ok(Value::Array(deliveries.iter().map(delivery_json).collect())))
}

/// Sends a past delivery again (its webhook's own token only).
async fn post_redeliver(State(app): State<App>, Path(id): Path<String>, req: Req) -> ApiResult {
    if req.actor.token.is_none() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, cork_core::access::UNAUTHORIZED));
    }
    let delivery = app.cork.redeliver(Some(&req.actor), &id).await?;
    Ok(json_ok(delivery_json(&delivery)))
}
