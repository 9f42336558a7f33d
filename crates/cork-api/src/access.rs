//! Rate limits and the access audit at the wire.
//!
//! One middleware ([`guard`]) wraps every request: it opens an [`AccessSlot`] (a request
//! extension) and an audit note (a task-local the domain's authentication writes to),
//! runs the request, then puts Trello's `x-rate-limit-*` headers on the response, turns a
//! refused request into Trello's JSON 429, and queues an audit event for every 401 and
//! 429. The counting itself happens in the [`crate::request::Req`] extractor through
//! [`Limiters::admit`], because only the extractor knows the credentials (they may come in
//! the body): it counts them after parsing and before the database work of
//! authentication, so a flood costs no queries.
//!
//! The windows are fixed, as Trello's headers describe them: a token's first request opens
//! a window of `window` (10 s) holding `max` (100) requests, all of which may be used at
//! once; the next request after the window ends opens a new, full one. Each key's counter
//! is a `ratelimit::Ratelimiter` whose whole budget is added back once per interval and
//! which cannot hold more than that budget, which is exactly a fixed window; it takes
//! tokens with a compare-and-swap, so concurrent requests can never take more than the
//! budget. Counters live in this process by default.
//!
//! With several nodes, `--rate-store redis://...` counts in a shared Redis instead
//! ([`SharedCounts`]): each window is a key named by the wall-clock window it covers
//! (`now / window`), so every node adds to the same one, and `INCR` is atomic, so across
//! all nodes exactly `max` requests pass per window. One pipelined round trip per request
//! (the token's, the key's and, on `/1/members/{id}`, the member route's counters
//! together); a refused request gives back what it took from the later windows. The
//! failed-login throttles count there too. Tokens and usernames are hashed into the key
//! names, so Redis holds no credential. When Redis cannot be reached, the node counts in
//! its own process until it can again (logged, `cork_rate_store_errors_total`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cork_core::audit::{noting, AccessNote, AuditEvent};
use ratelimit::Ratelimiter;
use serde_json::json;

use crate::error::ApiError;
use crate::request::{BatchActor, InternalCall};
use crate::App;

/// Trello's rate limits (facts §9), per process.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Off: nothing is counted (the headers still show the limits).
    pub enabled: bool,
    /// Requests per window for one application key (300).
    pub key_max: u64,
    /// Requests per window for one token (100).
    pub token_max: u64,
    /// The window of both (10 s).
    pub window: Duration,
    /// Requests per member window on the top-level `/1/members/{id}` route (100).
    pub member_max: u64,
    /// The member route's window (900 s).
    pub member_window: Duration,
    /// Failed browser logins per username per login window (5); always counted, even
    /// when `enabled` is off, since they guard passwords rather than the API.
    pub login_user_max: u64,
    /// Failed browser logins per client address per login window (20).
    pub login_address_max: u64,
    /// The failed-login window (15 minutes).
    pub login_window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            key_max: 300,
            token_max: 100,
            window: Duration::from_secs(10),
            member_max: 100,
            member_window: Duration::from_secs(900),
            login_user_max: 5,
            login_address_max: 20,
            login_window: Duration::from_secs(900),
        }
    }
}

/// The headers clients read; CORS exposes them to browser clients.
pub const RATE_LIMIT_HEADERS: [&str; 9] = [
    "x-rate-limit-api-key-interval-ms",
    "x-rate-limit-api-key-max",
    "x-rate-limit-api-key-remaining",
    "x-rate-limit-api-token-interval-ms",
    "x-rate-limit-api-token-max",
    "x-rate-limit-api-token-remaining",
    "x-rate-limit-member-interval-ms",
    "x-rate-limit-member-max",
    "x-rate-limit-member-remaining",
];

/// One fixed-window counter per key, created on first use and dropped once idle for a
/// whole window (a new counter is then the same as a refilled one), so memory follows
/// the keys active in the last window, not every key ever seen. At most [`MAX_COUNTERS`]
/// exist: beyond that (a flood of made-up keys), new keys share one overflow counter, so
/// memory stays bounded and the flood is limited as one client.
const MAX_COUNTERS: usize = 100_000;

/// The key the overflow counter is kept under (no real key or token has this form).
const OVERFLOW: &str = " overflow";

struct Keyed {
    max: u64,
    window: Duration,
    counters: Mutex<HashMap<String, Counter>>,
    /// The map's size after the last sweep; the next sweep waits until it doubles.
    swept_size: AtomicUsize,
    /// When the last sweep ran (milliseconds since `epoch`).
    swept_at_ms: AtomicU64,
    epoch: Instant,
}

#[derive(Clone)]
struct Counter {
    limiter: Arc<Ratelimiter>,
    /// Milliseconds since `epoch` of the last use.
    used_ms: Arc<AtomicU64>,
}

impl Keyed {
    fn new(max: u64, window: Duration) -> Keyed {
        Keyed {
            max,
            window,
            counters: Mutex::new(HashMap::new()),
            swept_size: AtomicUsize::new(1024),
            swept_at_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn counter(&self, id: &str) -> Option<Counter> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let mut counters = self.counters.lock().ok()?;
        let idle = self.window.as_millis() as u64;
        if !counters.contains_key(id) {
            // Sweep when the map doubled since the last sweep, or, when full, once a window.
            let full_and_due = counters.len() >= MAX_COUNTERS && now_ms.saturating_sub(self.swept_at_ms.load(Ordering::Relaxed)) > idle;
            if counters.len() >= self.swept_size.load(Ordering::Relaxed) || full_and_due {
                counters.retain(|_, c| now_ms.saturating_sub(c.used_ms.load(Ordering::Relaxed)) <= idle);
                self.swept_size.store((counters.len() * 2).max(1024), Ordering::Relaxed);
                self.swept_at_ms.store(now_ms, Ordering::Relaxed);
            }
        }
        let id = if counters.contains_key(id) || counters.len() < MAX_COUNTERS { id } else { OVERFLOW };
        if !counters.contains_key(id) {
            // The whole budget is available at once and comes back whole once per window.
            let limiter = Ratelimiter::builder(self.max, self.window).max_tokens(self.max).initial_available(self.max).build().ok()?;
            counters.insert(id.to_string(), Counter { limiter: Arc::new(limiter), used_ms: Arc::new(AtomicU64::new(now_ms)) });
        }
        let counter = counters.get(id)?.clone();
        counter.used_ms.store(now_ms, Ordering::Relaxed);
        Some(counter)
    }

    /// True when `id`'s window is spent, without taking from it (a key never counted, or
    /// whose window ended, is not spent).
    fn spent(&self, id: &str) -> bool {
        let Ok(counters) = self.counters.lock() else { return false };
        let id = if counters.contains_key(id) || counters.len() < MAX_COUNTERS { id } else { OVERFLOW };
        let Some(counter) = counters.get(id) else { return false };
        if counter.limiter.available() > 0 {
            return false;
        }
        // An empty counter refills only inside `try_wait`: when that succeeds the window
        // had ended, so the token it took is handed back (this look must not count).
        match counter.limiter.try_wait() {
            Ok(()) => {
                let _ = counter.limiter.set_available(counter.limiter.available() + 1);
                false
            }
            Err(_) => true,
        }
    }

    /// Takes one request from `id`'s window: `Ok(remaining)` or `Err(())` when it is spent.
    fn take(&self, id: &str) -> Result<u64, ()> {
        let Some(counter) = self.counter(id) else { return Ok(self.max) };
        match counter.limiter.try_wait() {
            Ok(()) => Ok(counter.limiter.available()),
            Err(_) => Err(()),
        }
    }
}

/// Counters kept in a Redis server shared by the nodes.
pub struct SharedCounts {
    client: redis::Client,
    connection: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    /// Milliseconds since the epoch before which Redis is not asked again after it
    /// failed, so an outage costs each request nothing, not a connection attempt.
    resting_until: AtomicU64,
    /// Set while Redis fails: an outage is logged when it starts and when it ends, not
    /// once per request.
    down: std::sync::atomic::AtomicBool,
}

/// How long Redis may take to connect or answer before the node counts alone.
const SHARED_TIMEOUT: Duration = Duration::from_millis(250);
/// How long the node counts alone after Redis failed, before asking it again.
const SHARED_REST: Duration = Duration::from_secs(5);

/// One counter to add to: its kind, whose, and its window.
struct Count<'a> {
    kind: &'static str,
    who: &'a str,
    window: Duration,
}

impl SharedCounts {
    /// Counts at `url` (`redis://host:port/db`); the connection is made on first use and
    /// made again by itself when lost.
    pub fn new(url: &str) -> Result<SharedCounts, String> {
        let client = redis::Client::open(url).map_err(|e| format!("--rate-store: {e}"))?;
        Ok(SharedCounts { client, connection: tokio::sync::OnceCell::new(), resting_until: AtomicU64::new(0), down: Default::default() })
    }

    async fn connection(&self) -> redis::RedisResult<redis::aio::ConnectionManager> {
        if Self::now_ms() < self.resting_until.load(Ordering::Relaxed) {
            return Err(redis::RedisError::from((redis::ErrorKind::Io, "resting after a failure")));
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(SHARED_TIMEOUT))
            .set_response_timeout(Some(SHARED_TIMEOUT));
        let made =
            self.connection.get_or_try_init(|| redis::aio::ConnectionManager::new_with_config(self.client.clone(), config)).await.cloned();
        if made.is_err() {
            self.rest();
        }
        made
    }

    /// After a failure: count alone for a while.
    fn rest(&self) {
        self.resting_until.store(Self::now_ms() + SHARED_REST.as_millis() as u64, Ordering::Relaxed);
    }

    /// The key of `count`'s current window: the credential hashed, never stored.
    fn key(count: &Count<'_>, now_ms: u64) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(count.who.as_bytes());
        let window_ms = count.window.as_millis().max(1) as u64;
        format!("cork:rl:{}:{}:{}", count.kind, hex::encode(&digest[..16]), now_ms / window_ms)
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }

    /// Adds one to each counter at `now`; answers each count after the addition.
    async fn add(&self, counts: &[Count<'_>], now: u64) -> redis::RedisResult<Vec<i64>> {
        let mut connection = self.connection().await?;
        let mut pipe = redis::pipe();
        for count in counts {
            let key = Self::key(count, now);
            // Kept two windows, so a window's key outlives its window on every node's clock.
            pipe.incr(&key, 1u64).pexpire(&key, (count.window.as_millis() as i64).saturating_mul(2).max(1)).ignore();
        }
        let answered = pipe.query_async(&mut connection).await;
        match &answered {
            Err(_) => self.rest(),
            Ok(_) if self.down.swap(false, Ordering::Relaxed) => {
                tracing::warn!("the rate-limit store answers again: counting across nodes");
            }
            Ok(_) => {}
        }
        answered
    }

    /// Takes one back from each counter of the window at `now` (what a refused request
    /// had taken there).
    async fn give_back(&self, counts: &[Count<'_>], now: u64) -> redis::RedisResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut connection = self.connection().await?;
        let mut pipe = redis::pipe();
        for count in counts {
            pipe.decr(Self::key(count, now), 1u64).ignore();
        }
        pipe.query_async(&mut connection).await
    }

    /// The counter's current count, without adding.
    async fn peek(&self, count: &Count<'_>) -> redis::RedisResult<i64> {
        let mut connection = self.connection().await?;
        let value: Option<i64> = redis::cmd("GET").arg(Self::key(count, Self::now_ms())).query_async(&mut connection).await?;
        Ok(value.unwrap_or(0))
    }
}

impl SharedCounts {
    /// Counts the failure; logs it when it starts an outage (the metric counts them all).
    fn failed(&self, error: &redis::RedisError) {
        metrics::counter!("cork_rate_store_errors_total").increment(1);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "the rate-limit store cannot be reached: counting on this node alone until it answers");
        }
    }
}

/// The process's counters.
pub struct Limiters {
    config: RateLimits,
    /// The nodes' shared counters, when configured.
    shared: Option<SharedCounts>,
    keys: Keyed,
    tokens: Keyed,
    members: Keyed,
    login_users: Keyed,
    login_addresses: Keyed,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Key,
    Token,
    Member,
}

/// What the extractor learnt, for the middleware to turn into headers and audit fields.
#[derive(Debug, Default)]
pub struct SlotState {
    pub key_remaining: Option<u64>,
    pub token_remaining: Option<u64>,
    pub member_remaining: Option<u64>,
    pub refused: Option<Refusal>,
}

/// The request extension the extractor reports to.
#[derive(Debug, Clone, Default)]
pub struct AccessSlot(pub Arc<Mutex<SlotState>>);

/// True for Trello's top-level member route, `/1/members/{id}` (nested routes such as
/// `/1/members/me/boards` are not part of that limit).
fn is_member_route(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments.len() == 3 && segments[0] == "1" && segments[1] == "members"
}

impl Limiters {
    /// Counters for `config`, in this process, or in `shared` when given.
    pub fn new(config: RateLimits, shared: Option<SharedCounts>) -> Limiters {
        Limiters {
            shared,
            keys: Keyed::new(config.key_max, config.window),
            tokens: Keyed::new(config.token_max, config.window),
            members: Keyed::new(config.member_max, config.member_window),
            login_users: Keyed::new(config.login_user_max, config.login_window),
            login_addresses: Keyed::new(config.login_address_max, config.login_window),
            config,
        }
    }

    /// Counts one request with `key` and `token` (as sent, before authentication) against
    /// the token's window, then the key's, then (on `/1/members/{id}`) the member route's;
    /// the first spent window refuses it. A refused request takes nothing from later windows.
    pub async fn admit(&self, slot: Option<&AccessSlot>, path: &str, key: Option<&str>, token: Option<&str>) -> Result<(), ApiError> {
        if !self.config.enabled {
            return Ok(());
        }
        let clip = |s: &str| s.chars().take(128).collect::<String>();
        let key = key.filter(|k| !k.is_empty()).map(|k| clip(&k.to_ascii_lowercase()));
        let token = token.filter(|t| !t.is_empty() && *t != "null").map(clip);
        let mut state = SlotState::default();
        let shared = match &self.shared {
            Some(shared) => self.admit_shared(shared, path, key.as_deref(), token.as_deref()).await,
            None => None,
        };
        let outcome = match shared {
            Some(outcome) => outcome.map(|counted| state = counted),
            None => (|| {
                if let Some(token) = &token {
                    state.token_remaining = Some(self.tokens.take(token).map_err(|_| Refusal::Token)?);
                }
                if let Some(key) = &key {
                    state.key_remaining = Some(self.keys.take(key).map_err(|_| Refusal::Key)?);
                }
                if is_member_route(path) {
                    if let Some(who) = token.as_ref().or(key.as_ref()) {
                        state.member_remaining = Some(self.members.take(who).map_err(|_| Refusal::Member)?);
                    }
                }
                Ok(())
            })(),
        };
        if let Err(refusal) = outcome {
            match refusal {
                Refusal::Token => state.token_remaining = Some(0),
                Refusal::Key => state.key_remaining = Some(0),
                Refusal::Member => state.member_remaining = Some(0),
            }
            state.refused = Some(refusal);
        }
        let refused = state.refused;
        if let Some(slot) = slot {
            if let Ok(mut shared) = slot.0.lock() {
                *shared = state;
            }
        }
        match refused {
            // The middleware replaces this with Trello's JSON body.
            Some(_) => Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded")),
            None => Ok(()),
        }
    }
}

impl Limiters {
    /// [`Limiters::admit`] on the shared counters: `None` when they cannot be reached (the
    /// caller counts locally), else the remaining counts or the first spent window.
    async fn admit_shared(
        &self,
        shared: &SharedCounts,
        path: &str,
        key: Option<&str>,
        token: Option<&str>,
    ) -> Option<Result<SlotState, Refusal>> {
        let config = &self.config;
        let mut counts: Vec<(Count<'_>, u64, Refusal)> = Vec::new();
        if let Some(token) = token {
            counts.push((Count { kind: "token", who: token, window: config.window }, config.token_max, Refusal::Token));
        }
        if let Some(key) = key {
            counts.push((Count { kind: "key", who: key, window: config.window }, config.key_max, Refusal::Key));
        }
        if is_member_route(path) {
            if let Some(who) = token.or(key) {
                counts.push((Count { kind: "member", who, window: config.member_window }, config.member_max, Refusal::Member));
            }
        }
        if counts.is_empty() {
            return Some(Ok(SlotState::default()));
        }
        let plain: Vec<Count<'_>> = counts.iter().map(|(c, _, _)| Count { kind: c.kind, who: c.who, window: c.window }).collect();
        let now = SharedCounts::now_ms();
        let totals = match shared.add(&plain, now).await {
            Ok(totals) => totals,
            Err(error) => {
                shared.failed(&error);
                return None;
            }
        };
        let mut state = SlotState::default();
        for (i, ((_, max, refusal), total)) in counts.iter().zip(&totals).enumerate() {
            let total = u64::try_from(*total).unwrap_or(0);
            if total > *max {
                // The first spent window refuses; the later ones get back what was taken.
                if let Err(error) = shared.give_back(&plain[i + 1..], now).await {
                    shared.failed(&error);
                }
                return Some(Err(*refusal));
            }
            let remaining = Some(max - total);
            match refusal {
                Refusal::Token => state.token_remaining = remaining,
                Refusal::Key => state.key_remaining = remaining,
                Refusal::Member => state.member_remaining = remaining,
            }
        }
        Some(Ok(state))
    }
}

/// The username as counted: case-folded (logins ignore case) and clipped.
fn login_name(username: &str) -> String {
    username.trim().to_ascii_lowercase().chars().take(128).collect()
}

impl Limiters {
    /// True when `username` or `remote` has used up its failed logins for this window;
    /// the login page then refuses without looking at the password, so guessing stops
    /// costing the server Argon2 work and learns nothing (the same answer whether or not
    /// the username exists).
    pub async fn login_throttled(&self, username: &str, remote: Option<&str>) -> bool {
        let name = login_name(username);
        if let Some(shared) = &self.shared {
            let user = Count { kind: "login-user", who: &name, window: self.config.login_window };
            let spent = match shared.peek(&user).await {
                Ok(count) => Some(count >= self.config.login_user_max as i64),
                Err(error) => {
                    shared.failed(&error);
                    None
                }
            };
            let address = match remote {
                Some(remote) => match shared.peek(&Count { kind: "login-address", who: remote, window: self.config.login_window }).await {
                    Ok(count) => Some(count >= self.config.login_address_max as i64),
                    Err(error) => {
                        shared.failed(&error);
                        None
                    }
                },
                None => Some(false),
            };
            if let (Some(user), Some(address)) = (spent, address) {
                return user || address;
            }
        }
        self.login_users.spent(&name) || remote.is_some_and(|r| self.login_addresses.spent(r))
    }

    /// Counts one failed login against `username` and `remote`. A successful login
    /// counts nothing and resets nothing, so one good account cannot launder an
    /// address's guesses at others. Attempts already in flight when a window fills are
    /// still checked (at most as many as run at once).
    pub async fn login_failed(&self, username: &str, remote: Option<&str>) {
        let name = login_name(username);
        if let Some(shared) = &self.shared {
            let mut counts = vec![Count { kind: "login-user", who: &name, window: self.config.login_window }];
            if let Some(remote) = remote {
                counts.push(Count { kind: "login-address", who: remote, window: self.config.login_window });
            }
            match shared.add(&counts, SharedCounts::now_ms()).await {
                Ok(_) => return,
                Err(error) => shared.failed(&error),
            }
        }
        let _ = self.login_users.take(&name);
        if let Some(remote) = remote {
            let _ = self.login_addresses.take(remote);
        }
    }
}

fn refusal_body(refusal: Refusal) -> serde_json::Value {
    match refusal {
        Refusal::Token => json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}),
        Refusal::Key => json!({"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}),
        Refusal::Member => json!({"message": "Exceeded rate limit to /1/member", "error": "RATE_LIMIT_EXCEEDED"}),
    }
}

fn set(response: &mut Response, name: &'static str, value: u64) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

fn add_headers(response: &mut Response, config: &RateLimits, state: &SlotState, member_route: bool) {
    let window = config.window.as_millis() as u64;
    set(response, "x-rate-limit-api-key-interval-ms", window);
    set(response, "x-rate-limit-api-key-max", config.key_max);
    set(response, "x-rate-limit-api-key-remaining", state.key_remaining.unwrap_or(config.key_max));
    set(response, "x-rate-limit-api-token-interval-ms", window);
    set(response, "x-rate-limit-api-token-max", config.token_max);
    set(response, "x-rate-limit-api-token-remaining", state.token_remaining.unwrap_or(config.token_max));
    if member_route {
        set(response, "x-rate-limit-member-interval-ms", config.member_window.as_millis() as u64);
        set(response, "x-rate-limit-member-max", config.member_max);
        set(response, "x-rate-limit-member-remaining", state.member_remaining.unwrap_or(config.member_max));
    }
}

/// Largest 401 body read back for the audit's `message` (Trello's texts are short).
const MESSAGE_LIMIT: usize = 512;

/// The middleware described in the module documentation.
pub(crate) async fn guard(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    // The path as the client sent it, never the query string (it may hold the token).
    let path = request.extensions().get::<OriginalUri>().map(|o| o.0.path().to_string()).unwrap_or_else(|| request.uri().path().into());
    let remote = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let member_route = is_member_route(request.uri().path());
    let inner = request.extensions().get::<BatchActor>().map(|b| b.0.clone());
    // A route handed on by another (legacy aliases) answers through that one, which audits.
    let handed_on = request.extensions().get::<InternalCall>().is_some();
    let mut first = AccessNote::default();
    if let Some(actor) = &inner {
        first.id_member = actor.member_id().map(str::to_string);
        first.id_token = actor.token.as_ref().map(|t| t.id.clone());
    }
    let note = Arc::new(Mutex::new(first));
    let slot = AccessSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = noting(note.clone(), next.run(request)).await;
    let state = slot.0.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
    let status = response.status();
    let mut message = None;
    if let Some(refusal) = state.refused {
        let limit = match refusal {
            Refusal::Key => "key",
            Refusal::Token => "token",
            Refusal::Member => "member",
        };
        metrics::counter!("cork_rate_limit_refusals_total", "limit" => limit).increment(1);
        let body = refusal_body(refusal);
        message = body.get("error").and_then(|v| v.as_str()).map(str::to_string);
        response =
            (StatusCode::TOO_MANY_REQUESTS, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response();
    } else if status == StatusCode::UNAUTHORIZED {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 64 << 10).await.unwrap_or_default();
        message = Some(String::from_utf8_lossy(&bytes[..bytes.len().min(MESSAGE_LIMIT)]).into_owned());
        response = Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    if inner.is_none() {
        add_headers(&mut response, &app.config.rate_limits, &state, member_route);
    }
    let status = response.status();
    if !handed_on && (status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS) {
        let note = note.lock().map(|n| n.clone()).unwrap_or_default();
        let kind = match (status, note.token_problem) {
            (StatusCode::TOO_MANY_REQUESTS, _) => "http.429",
            (_, Some("revoked")) => "token.revoked_use",
            _ => "http.401",
        };
        let event = AuditEvent::new(kind)
            .with("method", method)
            .with("path", path)
            .with("status", status.as_u16())
            .with("message", message)
            .with("key", note.key)
            .with("idToken", note.id_token)
            .with("idMember", note.id_member)
            .with("tokenProblem", note.token_problem)
            .with("remote", remote)
            .with("batch", inner.is_some().then_some(true));
        app.cork.record_access(event);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_level_member_route_has_the_member_limit() {
        assert!(is_member_route("/1/members/me"));
        assert!(is_member_route("/1/members/5f0000000000000000000001"));
        assert!(!is_member_route("/1/members/me/boards"));
        assert!(!is_member_route("/1/boards/x"));
    }

    #[test]
    fn a_window_holds_its_budget_and_reopens_whole() {
        let keyed = Keyed::new(3, Duration::from_millis(200));
        assert_eq!((keyed.take("a"), keyed.take("a"), keyed.take("a"), keyed.take("a")), (Ok(2), Ok(1), Ok(0), Err(())));
        assert_eq!(keyed.take("b"), Ok(2), "each key has its own window");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!((keyed.take("a"), keyed.take("a"), keyed.take("a"), keyed.take("a")), (Ok(2), Ok(1), Ok(0), Err(())));
    }

    #[test]
    fn looking_at_a_window_takes_nothing() {
        let keyed = Keyed::new(2, Duration::from_millis(200));
        assert!(!keyed.spent("a"), "a key never counted is not spent");
        assert_eq!(keyed.take("a"), Ok(1));
        assert!(!keyed.spent("a"));
        assert_eq!(keyed.take("a"), Ok(0));
        assert!(keyed.spent("a") && keyed.spent("a"));
        std::thread::sleep(Duration::from_millis(250));
        assert!(!keyed.spent("a"), "the window ended");
        assert_eq!((keyed.take("a"), keyed.take("a"), keyed.take("a")), (Ok(1), Ok(0), Err(())), "and the look took nothing");
    }

    #[test]
    fn a_flood_of_new_keys_shares_one_counter() {
        let keyed = Keyed::new(5, Duration::from_secs(60));
        for n in 0..MAX_COUNTERS {
            assert!(keyed.take(&n.to_string()).is_ok());
        }
        let extra: Vec<_> = (0..6).map(|n| keyed.take(&format!("new{n}"))).collect();
        assert_eq!(extra, [Ok(4), Ok(3), Ok(2), Ok(1), Ok(0), Err(())]);
        assert!(keyed.counters.lock().unwrap().len() <= MAX_COUNTERS + 1);
    }
}
