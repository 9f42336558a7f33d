//! Cork's HTTP surface: the Trello REST API v1 wire layer. Requests are normalised
//! (model segment case and plural, trailing slash) before routing, parameters and
//! credentials are read by one extractor ([`request::Req`]), and every error is
//! rendered in Trello's format by one type ([`error::ApiError`]).

pub mod access;
pub mod error;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod listener;
pub mod live;
mod openapi;
pub mod ops;
pub mod params;
mod pipeline;
pub mod render;
pub mod request;
mod routes;
mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use cork_core::Cork;
use tower::Layer;

pub use routes::audit::{export_lines, ExportFormat, CSV_COLUMNS as EXPORT_CSV_COLUMNS};
pub use routes::guardrails::report_json as rollback_report_json;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Settings the wire layer needs.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The address clients reach Cork at; urls in responses start with it.
    pub public_url: String,
    /// Largest JSON or form body, in bytes (default 1 MiB).
    pub body_limit: usize,
    /// Largest upload: the files of one multipart body together, in bytes (default
    /// 10 MiB); larger bodies get 413 before anything is stored.
    pub upload_limit: usize,
    /// Largest Trello export the web board's import takes, in bytes (default 256 MiB);
    /// it is streamed to a file, not held in memory.
    pub import_limit: usize,
    /// When set, one line per request (`METHOD<TAB>route<TAB>path<TAB>status`) is appended
    /// here; the compatibility table is generated from these logs.
    pub route_log: Option<std::path::PathBuf>,
    /// Whether visitors may create accounts at `/signup` (`cork serve --allow-signup`);
    /// off by default: an operator makes members with `cork user create`.
    pub allow_signup: bool,
    /// Webhook deliveries: the callback allow-list, retries, timeouts, the worker.
    pub webhooks: webhooks::WebhookConfig,
    /// Trello's rate limits per key, token and member route (`cork serve --rate-*`).
    pub rate_limits: access::RateLimits,
    /// Where the nodes count rate limits together (`redis://...`, `cork serve
    /// --rate-store`); `None`: each node counts its own.
    pub rate_store: Option<String>,
    /// A bearer token that lets a scraper off this machine read `/cork/metrics`
    /// (`cork serve --metrics-token`); loopback scrapers need none.
    pub metrics_token: Option<String>,
    /// How long a stopping node waits for the requests it holds (`--shutdown-timeout`).
    pub shutdown_timeout: std::time::Duration,
    /// How long a stopping node keeps accepting while its readiness already fails
    /// (`--shutdown-delay`), for balancers that check readiness.
    pub shutdown_delay: std::time::Duration,
    /// Header and body timeouts and the cap on open connections (`--header-timeout`,
    /// `--body-timeout`, `--max-connections`).
    pub connections: listener::ConnectionLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            public_url: "http://127.0.0.1:8080".into(),
            body_limit: 1 << 20,
            upload_limit: 10 << 20,
            import_limit: 256 << 20,
            route_log: None,
            allow_signup: false,
            webhooks: webhooks::WebhookConfig::default(),
            rate_limits: access::RateLimits::default(),
            rate_store: None,
            metrics_token: None,
            shutdown_timeout: std::time::Duration::from_secs(30),
            shutdown_delay: std::time::Duration::ZERO,
            connections: listener::ConnectionLimits::default(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub cork: Cork,
    pub config: Arc<ApiConfig>,
    pub render: Arc<render::Renderer>,
    route_log: Option<Arc<std::sync::Mutex<std::fs::File>>>,
    /// Sends webhook HEAD checks and deliveries.
    pub webhooks: Arc<webhooks::Sender>,
    /// Wakes the delivery worker after a write, so deliveries leave at once.
    pub outbox: Arc<tokio::sync::Notify>,
    /// The rate-limit counters of this process.
    pub limits: Arc<access::Limiters>,
    /// Live board events for the web board (this node's views; other nodes by NOTIFY).
    pub live: Arc<live::Live>,
    /// The router requests are handed on to (batch, legacy aliases, approvals), built on
    /// first use: building it per inner request cost more than the request itself.
    internal: Arc<std::sync::OnceLock<Service>>,
    /// The web board's import jobs run by this node.
    pub(crate) imports: Arc<routes::imports::Jobs>,
    /// The node's own state for `/cork/ready`: worker running, draining.
    pub node: Arc<ops::NodeState>,
}

impl App {
    /// Builds the shared state.
    pub fn new(cork: Cork, config: ApiConfig) -> App {
        let render = render::Renderer { base_url: config.public_url.trim_end_matches('/').to_string() };
        let route_log = config.route_log.as_ref().and_then(|path| match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => Some(Arc::new(std::sync::Mutex::new(file))),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot open the route log");
                None
            }
        });
        let sender = Arc::new(webhooks::Sender::new(config.webhooks.clone()));
        let outbox = Arc::new(tokio::sync::Notify::new());
        let shared = config.rate_store.as_deref().and_then(|url| match access::SharedCounts::new(url) {
            Ok(shared) => Some(shared),
            Err(error) => {
                tracing::error!(%error, "rate limits are counted on this node alone");
                None
            }
        });
        let limits = Arc::new(access::Limiters::new(config.rate_limits.clone(), shared));
        // Installs the process's metrics recorder before anything records.
        ops::metrics();
        App {
            cork,
            config: Arc::new(config),
            render: Arc::new(render),
            route_log,
            webhooks: sender,
            outbox,
            limits,
            live: Arc::default(),
            internal: Arc::default(),
            imports: Arc::default(),
            node: Arc::default(),
        }
    }

    /// The router for requests one route hands on to another. Its own state starts a
    /// fresh, empty cell, so no router holds itself (and everything drops with the App).
    pub(crate) fn internal(&self) -> Service {
        self.internal
            .get_or_init(|| {
                let mut state = self.clone();
                state.internal = Arc::default();
                app(state)
            })
            .clone()
    }
}

const MODELS: &[(&str, &str)] = &[
    ("action", "actions"),
    ("application", "applications"),
    ("batch", "batch"),
    ("board", "boards"),
    ("card", "cards"),
    ("checklist", "checklists"),
    ("customfield", "customFields"),
    ("emoji", "emoji"),
    ("enterprise", "enterprises"),
    ("label", "labels"),
    ("list", "lists"),
    ("member", "members"),
    ("notification", "notifications"),
    ("organization", "organizations"),
    ("plugin", "plugins"),
    ("search", "search"),
    ("token", "tokens"),
    ("webhook", "webhooks"),
];

/// `/1/Card/{id}/` → `/1/cards/{id}`: the model segment lower-cased and pluralised,
/// empty segments and the trailing slash dropped, so the router holds each route once.
pub fn normalize_path(path: &str) -> String {
    let Some(rest) = path.strip_prefix("/1/") else { return path.to_string() };
    let mut segments: Vec<String> = rest.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
    if let Some(first) = segments.first_mut() {
        let lower = first.to_ascii_lowercase();
        let singular = lower.strip_suffix('s').unwrap_or(&lower);
        if let Some((_, canonical)) = MODELS.iter().find(|(one, many)| *one == singular || many.eq_ignore_ascii_case(&lower)) {
            *first = canonical.to_string();
        }
    }
    format!("/1/{}", segments.join("/"))
}

fn normalize(mut request: Request) -> Request {
    // Errors echo the target as the client sent it (`Cannot GET /1/boards/?key=...`).
    let original = OriginalUri(request.uri().clone());
    request.extensions_mut().insert(original);
    let path = request.uri().path();
    let normalized = normalize_path(path);
    if normalized != path {
        let mut target = normalized;
        if let Some(query) = request.uri().query() {
            target.push('?');
            target.push_str(query);
        }
        if let Ok(uri) = target.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Counts the SQL statements of each request into `X-Cork-Queries`, which keeps the
/// fixed query budget of reads visible (and testable) from outside.
async fn count_queries(request: Request, next: Next) -> Response {
    let (mut response, queries) = cork_store::count_queries(next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&queries.to_string()) {
        response.headers_mut().insert("x-cork-queries", value);
    }
    response
}

/// After a request that may have written (anything but GET/HEAD/OPTIONS), wakes the
/// webhook worker: the deliveries are already committed in the outbox.
async fn wake_outbox(State(app): State<App>, request: Request, next: Next) -> Response {
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(request).await;
    if writes {
        app.outbox.notify_one();
    }
    response
}

/// Express's 404 for a path no route has, or a method the path does not take.
async fn unknown_route(request: Request) -> Response {
    let uri = request.extensions().get::<OriginalUri>().map(|o| &o.0).unwrap_or(request.uri());
    let target = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("Cannot {} {}", request.method(), target))
        .into_response()
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            axum::http::HeaderName::from_static("idempotency-key"),
            axum::http::HeaderName::from_static("x-cork-dry-run"),
        ])
        .expose_headers(
            access::RATE_LIMIT_HEADERS
                .iter()
                .chain(&["etag", "x-cork-dry-run", "x-cork-actions", "x-cork-action-count", "idempotent-replayed"])
                .map(|name| axum::http::HeaderName::from_static(name))
                .collect::<Vec<_>>(),
        )
}

/// The whole HTTP application as a service: normalisation runs before routing.
pub type Service = tower::util::MapRequest<Router, fn(Request) -> Request>;

/// Every path the router serves (`/1/boards/{id}`, ...), from the `.route(...)` calls of
/// the source (see build.rs) and the routes registered in loops; tests generated from the
/// route table, like the security matrix, iterate over it.
pub fn route_paths() -> Vec<String> {
    routes::route_paths()
}

/// Builds the service for `state`.
pub fn app(state: App) -> Service {
    tower::util::MapRequestLayer::new(normalize as fn(Request) -> Request).layer(router(state))
}

/// Sends one request through the whole API as `actor` (the command line's `cork
/// changes`): the routes, write pipeline and checks a client's request meets. Answers
/// the status and the body (JSON when it is JSON).
pub async fn call_as(app: App, actor: cork_core::Actor, method: &str, uri: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()));
    let Ok(mut request) = request else {
        return (400, serde_json::json!("invalid request"));
    };
    request.extensions_mut().insert(request::BatchActor(actor));
    let response = match crate::app(app).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

/// Appends `METHOD<TAB>route<TAB>path<TAB>status` for each routed request to the route log.
async fn log_route(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(log) = app.route_log.clone() else { return next.run(request).await };
    if request.extensions().get::<request::InternalCall>().is_some() {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let path = ops::loggable_path(request.uri().path()).into_owned();
    let response = next.run(request).await;
    if let Some(route) = route {
        // One write per line: test servers in several processes append to one file, and
        // `writeln!` on a file writes each piece of the line separately, so two
        // processes' lines could interleave and a route go uncounted.
        let line = format!("{method}\t{route}\t{path}\t{}\n", response.status().as_u16());
        if let Ok(mut file) = log.lock() {
            use std::io::Write;
            let _ = file.write_all(line.as_bytes());
        }
    }
    response
}

/// Every route Cork serves, without the layers: [`router`] serves them, and
/// `/cork/openapi.json` asks them which methods each path of the route table takes.
pub(crate) fn served_routes() -> Router<App> {
    routes::routes()
        // The browser pages and the token-issuing flows (/login, /app-key, /1/authorize, OAuth 1.0a).
        .merge(web::routes())
        // Server-Sent Events of committed writes, per board (the web board's live view).
        .merge(live::routes())
        // Health, readiness and Prometheus metrics.
        .merge(ops::routes())
        // The OpenAPI document of all of the above.
        .merge(openapi::routes())
}

/// The routes (paths already normalised).
pub fn router(state: App) -> Router {
    served_routes()
        .method_not_allowed_fallback(unknown_route)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), log_route))
        .route_layer(axum::middleware::from_fn(ops::mark_route))
        .fallback(unknown_route)
        // ETag / If-Match / If-None-Match from objects' versions, checked on every attempt.
        .layer(axum::middleware::from_fn(pipeline::versions))
        // `X-Cork-Version: true`: a version on every object of a read's answer.
        .layer(axum::middleware::from_fn(pipeline::nested_versions))
        // The write pipeline owns every write request's transaction ending (dry runs,
        // retries, idempotency keys), inside the outbox wake-up so that wakes follow commits.
        .layer(axum::middleware::from_fn_with_state(state.clone(), pipeline::write_pipeline))
        .layer(axum::middleware::from_fn_with_state(state.clone(), wake_outbox))
        .layer(axum::middleware::from_fn(count_queries))
        // Rate-limit headers and 429s, and the audit of every 401 and 429.
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(cors())
        // The request's span: its id, method and path (never the query: it may hold the
        // token; nor the token of a `/1/tokens/{token}` path).
        // At debug level, as tower-http's own: an enabled span is formatted for every
        // request, so it is off by default and `CORK_LOG=info,cork_api=debug` turns it on;
        // the access line and every 5xx and incident line carry the request id anyway.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.extensions().get::<ops::RequestId>().map(|r| r.0.clone()).unwrap_or_else(|| Arc::from(""));
            tracing::debug_span!("request", request_id = %id, method = %request.method(), path = %ops::loggable_path(request.uri().path()))
        }))
        // Each request in a task of its own, which a disconnect cannot cancel.
        .layer(axum::middleware::from_fn(pipeline::detach))
        // Outermost: the request id, the metrics and the access log.
        .layer(axum::middleware::from_fn(ops::observe))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The webhook worker runs beside the server and stops after it, settling what it holds.
    state.node.worker_expected.store(state.config.webhooks.worker, std::sync::atomic::Ordering::Relaxed);
    let worker = state.config.webhooks.worker.then(|| webhooks::spawn_worker(state.clone()));
    // Live events to and from the other nodes (PostgreSQL only).
    live::spawn(state.clone());
    let node = state.node.clone();
    let grace = state.config.shutdown_timeout;
    let delay = state.config.shutdown_delay;
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let (node, stopping) = (node.clone(), stopping.clone());
        async move {
            shutdown.await;
            // Readiness fails from now on, so balancers stop sending; after the delay
            // accepting stops and the requests in hand finish.
            node.draining.store(true, std::sync::atomic::Ordering::Relaxed);
            if !delay.is_zero() {
                tracing::info!("stopping: /cork/ready fails; still accepting for {} s", delay.as_secs());
                tokio::time::sleep(delay).await;
            }
            tracing::info!("stopping: finishing the requests in hand (at most {} s)", grace.as_secs());
            stopping.notify_one();
        }
    };
    let limits = state.config.connections.clone();
    let served = listener::run(listener, app(state), limits, signal);
    tokio::select! {
        _ = served => {}
        // Bounded: a client that never finishes does not hold the node up.
        _ = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("stopping with requests still open after {} s", grace.as_secs());
        }
    };
    if let Some(worker) = worker {
        worker.stop().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn model_segments_are_canonical() {
        assert_eq!(normalize_path("/1/Card/abc/"), "/1/cards/abc");
        assert_eq!(normalize_path("/1/member/me/boards/"), "/1/members/me/boards");
        assert_eq!(normalize_path("/1/Boards/x/Cards"), "/1/boards/x/Cards");
        assert_eq!(normalize_path("/1/search/members/"), "/1/search/members");
        assert_eq!(normalize_path("/1/customField/abc"), "/1/customFields/abc");
        assert_eq!(normalize_path("/cork/x"), "/cork/x");
    }
}
