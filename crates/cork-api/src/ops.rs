//! Running Cork as a service: the probes a balancer or orchestrator asks, the metrics a
//! Prometheus server scrapes, and the request id every answer carries.
//!
//! - `GET /cork/health`: the process is up and serving (200), for liveness checks.
//! - `GET /cork/ready`: the database answers and holds every migration this binary
//!   knows, the webhook worker runs (when this node runs one), and the node is not
//!   draining after SIGTERM: 200, or 503 with `Retry-After` and which check failed.
//! - `GET /cork/metrics`: Prometheus text. Requests by route template, method and status,
//!   with latency histograms; statement time; each pool's connections; the outbox's depth
//!   and the age of its oldest pending delivery; webhook attempts by outcome; rate-limit
//!   refusals; change requests pending; panics. Served to loopback scrapers (not through
//!   a proxy: a request with a forwarding header is not local), or to any that sends
//!   `Authorization: Bearer` with `cork serve --metrics-token`.
//! - Every answer carries `X-Request-Id` (the caller's, when it sent a sane one, else a
//!   new id), which the request's log lines and any incident report also name.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::request::{BatchActor, InternalCall};
use crate::App;

/// What the node itself knows about its state, for `/cork/ready`.
#[derive(Debug, Default)]
pub struct NodeState {
    /// The webhook worker is running (set by the worker itself).
    pub worker: AtomicBool,
    /// Whether this node runs a worker at all.
    pub worker_expected: AtomicBool,
    /// SIGTERM arrived: the node finishes what it holds and stops; balancers should
    /// send no more.
    pub draining: AtomicBool,
}

/// The request's id, in its extensions (log spans, incident reports).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The route template that answered, in the response's extensions.
#[derive(Debug, Clone)]
struct RouteTemplate(Arc<str>);

/// Latency buckets, in seconds: from a cached read to a slow import page.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's metrics recorder, installed on first use (one per process: every App
/// of a process records into it).
pub fn metrics() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS);
            match builder.and_then(|b| b.install_recorder()) {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "no metrics: the recorder could not be installed");
                    None
                }
            }
        })
        .as_ref()
}

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/cork/health", get(health)).route("/cork/ready", get(ready)).route("/cork/metrics", get(render_metrics))
}

async fn health() -> Response {
    json_response(StatusCode::OK, json!({"status": "ok"}))
}

async fn ready(State(app): State<App>) -> Response {
    let node = &app.node;
    let database = app.cork.store.ready().await;
    let worker = !node.worker_expected.load(Ordering::Relaxed) || node.worker.load(Ordering::Relaxed);
    let draining = node.draining.load(Ordering::Relaxed);
    let checks = json!({
        "database": database.as_ref().map(|_| "ok").unwrap_or_else(|e| e.as_str()),
        "webhookWorker": if worker { "ok" } else { "not running" },
        "draining": draining,
    });
    if database.is_ok() && worker && !draining {
        return json_response(StatusCode::OK, json!({"status": "ready", "checks": checks}));
    }
    let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "not ready", "checks": checks}));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// Whether the caller may read the metrics: from this machine, or with the token.
fn may_scrape(app: &App, headers: &HeaderMap, remote: Option<SocketAddr>) -> bool {
    if let Some(expected) = app.config.metrics_token.as_deref().filter(|t| !t.is_empty()) {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if sent.is_some_and(|sent| constant_time_eq(sent.as_bytes(), expected.as_bytes())) {
            return true;
        }
    }
    // A request a reverse proxy on this machine passed on comes from loopback too: it
    // names its client in a forwarding header, and is not trusted as local.
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    !forwarded && remote.is_some_and(|r| r.ip().is_loopback())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn render_metrics(State(app): State<App>, request: Request) -> Response {
    let remote = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !may_scrape(&app, request.headers(), remote) {
        return (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "unauthorized metrics request")
            .into_response();
    }
    let Some(handle) = metrics() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded in this process").into_response();
    };
    for pool in app.cork.store.pool_use() {
        metrics::gauge!("cork_db_pool_connections", "pool" => pool.pool, "state" => "idle").set(f64::from(pool.idle));
        metrics::gauge!("cork_db_pool_connections", "pool" => pool.pool, "state" => "busy")
            .set(f64::from(pool.open - pool.idle.min(pool.open)));
        metrics::gauge!("cork_db_pool_max_connections", "pool" => pool.pool).set(f64::from(pool.max));
    }
    match app.cork.levels().await {
        Ok(levels) => {
            metrics::gauge!("cork_outbox_pending").set(levels.outbox_pending as f64);
            metrics::gauge!("cork_outbox_oldest_pending_age_seconds").set(levels.outbox_oldest_age.unwrap_or(0) as f64);
            metrics::gauge!("cork_change_requests_pending").set(levels.change_requests_pending as f64);
            metrics::gauge!("cork_database_up").set(1.0);
        }
        Err(error) => {
            tracing::warn!(%error, "reading the levels for the metrics");
            metrics::gauge!("cork_database_up").set(0.0);
        }
    }
    metrics::gauge!("cork_draining").set(if app.node.draining.load(Ordering::Relaxed) { 1.0 } else { 0.0 });
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// An id the caller sent that is safe to log and echo: short, plain characters.
fn sane_id(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// A request path as Cork logs it (request spans, the route log): the API puts a token
/// itself in the path of `/1/tokens/{token}...`, and that segment is logged as `***`.
/// Paths are normalised before routing, so the model segment is always `tokens`.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/1/tokens/") {
        Some(rest) if !rest.is_empty() => {
            let tail = rest.find('/').map_or("", |slash| &rest[slash..]);
            std::borrow::Cow::Owned(format!("/1/tokens/***{tail}"))
        }
        _ => std::borrow::Cow::Borrowed(path),
    }
}

/// A method as a metric label: the standard ones by name, anything else as `OTHER`, so
/// a client cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// Outermost layer: gives the request its id, and once answered records it (count and
/// latency by route template) and logs it (`cork::access` at info; 5xx at error).
pub(crate) async fn observe(mut request: Request, next: Next) -> Response {
    let inner = request.extensions().get::<InternalCall>().is_some() || request.extensions().get::<BatchActor>().is_some();
    let id: Arc<str> = match request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| sane_id(v)) {
        Some(sent) => sent.into(),
        None => cork_core::ids::new_id().into(),
    };
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = method_label(request.method());
    let started = Instant::now();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if inner {
        return response;
    }
    let elapsed = started.elapsed();
    let route = response.extensions().get::<RouteTemplate>().map(|r| r.0.clone()).unwrap_or_else(|| Arc::from("unmatched"));
    let status = response.status().as_u16();
    metrics::counter!("cork_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("cork_http_request_duration_seconds", "method" => method, "route" => route.clone()).record(elapsed);
    let ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(target: "cork::access", request_id = %id, method, route = %route, status, ms, "request failed");
    } else {
        tracing::info!(target: "cork::access", request_id = %id, method, route = %route, status, ms, "request");
    }
    response
}

/// A route layer: notes the matched route template on the response for [`observe`].
pub(crate) async fn mark_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| Arc::<str>::from(p.as_str()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteTemplate(route));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_request_ids_are_kept() {
        assert!(sane_id("6b12ea45f47e50fee200001d"));
        assert!(sane_id("req-1.2_3"));
        assert!(!sane_id(""));
        assert!(!sane_id(&"a".repeat(65)));
        assert!(!sane_id("a b"));
        assert!(!sane_id("a\nb"));
    }

    #[test]
    fn the_token_in_a_tokens_path_is_not_logged() {
        let token = "6f".repeat(32);
        assert_eq!(loggable_path(&format!("/1/tokens/{token}")), "/1/tokens/***");
        assert_eq!(loggable_path(&format!("/1/tokens/{token}/webhooks/5f00")), "/1/tokens/***/webhooks/5f00");
        assert_eq!(loggable_path(&format!("/1/tokens/{token}/member/fullName")), "/1/tokens/***/member/fullName");
        assert_eq!(loggable_path("/1/tokens/"), "/1/tokens/");
        assert_eq!(loggable_path("/1/boards/5f00/cards"), "/1/boards/5f00/cards");
        assert_eq!(loggable_path("/1/members/me/tokens"), "/1/members/me/tokens");
    }

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
