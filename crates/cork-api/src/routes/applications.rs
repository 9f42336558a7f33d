//! `/1/applications/{key}`: what Cork tells an application about itself.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::json_ok;
use crate::error::ApiResult;
use crate::request::Req;
use crate::App;

pub(super) fn routes() -> Router<App> {
    Router::new().route("/1/applications/{key}/compliance", get(get_application_compliance))
}

/// The application's pending privacy-compliance records: always none on Cork.
async fn get_application_compliance(State(app): State<App>, Path(key): Path<String>, req: Req) -> ApiResult {
    let records = app.cork.application_compliance(&req.actor, &key).await?;
    Ok(json_ok(Value::Array(records)))
}
