//! `GET /cork/mirrors`: the mirrors of the boards the caller can read (`cork mirror`
//! keeps them in step), each with its source, cursor, state and lag.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::error::ApiResult;
use crate::request::Req;
use crate::routes::json_ok;
use crate::App;

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/mirrors", get(list_mirrors))
}

async fn list_mirrors(State(app): State<App>, req: Req) -> ApiResult {
    let mirrors = app.cork.visible_mirrors(&req.actor).await?;
    Ok(json_ok(Value::Array(mirrors.iter().map(|m| m.to_json()).collect())))
}
