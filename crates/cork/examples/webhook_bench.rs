//! Webhook delivery benchmark: deliveries per second to a local receiver, and the lag
//! from a write's response to its delivery.
//!
//! `cargo run --release -p cork --example webhook_bench` (SQLite in a temp dir), or
//! with `CORK_BENCH_POSTGRES_URL=postgres://user@host/db` to run on a fresh PostgreSQL
//! database created next to that one. `CORK_BENCH_N` sets the backlog size (default 1000).
//!
//! 1. drain, one webhook: N deliveries are queued with the worker off, then the worker
//!    starts and the time until the receiver has all N is measured (one webhook sends in
//!    order, one delivery at a time);
//! 2. drain, eight webhooks on eight boards (N in all), sent concurrently;
//! 3. live: four writers create cards while the worker runs; for each card the lag from
//!    the write's response to the delivery's arrival.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use cork_api::webhooks::{spawn_worker, AllowList};
use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::Store;
use serde_json::{json, Value};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
    let at = Instant::now();
    if let Ok(payload) = serde_json::from_slice::<Value>(&body) {
        let card = payload["action"]["data"]["card"]["id"].as_str().unwrap_or_default().to_string();
        let action = payload["action"]["id"].as_str().unwrap_or_default().to_string();
        let mut arrivals = arrivals.lock().unwrap();
        arrivals.insert(if card.is_empty() { action } else { card }, at);
    }
    "ok"
}

struct Bench {
    base: String,
    http: reqwest::Client,
    key: String,
    token: String,
    app: App,
}

impl Bench {
    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}?key={}&token={}", self.base, self.key, self.token);
        let response = self.http.post(url).json(&body).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json")
    }
}

async fn wait_for(arrivals: &Arrivals, n: usize) {
    let start = Instant::now();
    while arrivals.lock().unwrap().len() < n {
        assert!(start.elapsed() < Duration::from_secs(600), "deliveries stalled at {}", arrivals.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[path = "shared/mod.rs"]
mod shared;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::var("CORK_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let database = shared::BenchDatabase::create("cork_bench").await;
    let backend = database.backend;
    let store = Store::open(&database.url).await.expect("open store");
    let cork = Cork::new(store).with_data_dir(database.files());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ApiConfig { public_url: base.clone(), ..ApiConfig::default() };
    config.webhooks.allowed_hosts = AllowList::parse("127.0.0.1").unwrap();
    config.webhooks.worker = false;
    config.webhooks.per_host = 8;
    // The benchmark measures deliveries, not the API's request budget.
    config.rate_limits.enabled = false;
    let app = App::new(cork.clone(), config);
    let served = app.clone();
    tokio::spawn(async move { cork_api::serve(listener, served, std::future::pending()).await.expect("serve") });

    let arrivals: Arrivals = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let callback_base = format!("http://{}", receiver.local_addr().unwrap());
    let receiver_app = axum::Router::new().fallback(receive).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(receiver, receiver_app).await.expect("receiver") });

    let member = cork.create_member("bench", None, None).await.expect("member");
    let issued = cork.issue_token(&member, "bench", &["read".into(), "write".into()], None).await.expect("token");
    let bench = Bench { base, http: reqwest::Client::new(), key: issued.key, token: issued.token, app };
    println!("backend: {backend}, {n} deliveries per drain");

    // 1 and 2: drains.
    for hooks in [1usize, 8] {
        arrivals.lock().unwrap().clear();
        let mut lists = Vec::new();
        for h in 0..hooks {
            let board = bench.post("/1/boards", json!({"name": format!("bench {hooks}/{h}"), "defaultLists": false})).await;
            let board_id = board["id"].as_str().unwrap().to_string();
            let list = bench.post("/1/lists", json!({"name": "l", "idBoard": board_id})).await;
            // Hook after the list, so only the card actions are delivered.
            let callback = format!("{callback_base}/drain{hooks}/{h}");
            bench.post("/1/webhooks", json!({"callbackURL": callback, "idModel": board_id})).await;
            lists.push(list["id"].as_str().unwrap().to_string());
        }
        for i in 0..n {
            bench.post("/1/cards", json!({"name": format!("card {i}"), "idList": lists[i % hooks]})).await;
        }
        let start = Instant::now();
        let handle = spawn_worker(bench.app.clone());
        wait_for(&arrivals, n).await;
        let took = start.elapsed();
        handle.stop().await;
        println!(
            "drain, {hooks} webhook(s): {n} deliveries in {:.2} s = {:.0} deliveries/s",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
    }

    // 3: live lag, one webhook, four writers.
    arrivals.lock().unwrap().clear();
    let board = bench.post("/1/boards", json!({"name": "live", "defaultLists": false})).await;
    let board_id = board["id"].as_str().unwrap().to_string();
    let list = bench.post("/1/lists", json!({"name": "l", "idBoard": board_id})).await;
    let list_id = list["id"].as_str().unwrap().to_string();
    bench.post("/1/webhooks", json!({"callbackURL": format!("{callback_base}/live"), "idModel": board_id})).await;
    let handle = spawn_worker(bench.app.clone());
    let bench = Arc::new(bench);
    let writes: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let per_writer = (n / 4).max(1);
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (bench, writes, list_id) = (bench.clone(), writes.clone(), list_id.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let card = bench.post("/1/cards", json!({"name": format!("live {w}/{i}"), "idList": list_id})).await;
                writes.lock().unwrap().insert(card["id"].as_str().unwrap().to_string(), Instant::now());
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let written = started.elapsed();
    wait_for(&arrivals, per_writer * 4).await;
    let total = started.elapsed();
    handle.stop().await;
    let mut lags: Vec<Duration> = {
        let arrivals = arrivals.lock().unwrap();
        let writes = writes.lock().unwrap();
        writes.iter().map(|(card, wrote)| arrivals.get(card).map(|at| at.saturating_duration_since(*wrote)).expect("delivered")).collect()
    };
    lags.sort();
    println!(
        "live, 4 writers, {} cards: written in {:.2} s ({:.0} writes/s), all delivered after {:.2} s; lag from write response to delivery: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        lags.len(),
        written.as_secs_f64(),
        lags.len() as f64 / written.as_secs_f64(),
        total.as_secs_f64(),
        percentile(&lags, 0.5).as_secs_f64() * 1000.0,
        percentile(&lags, 0.95).as_secs_f64() * 1000.0,
        lags.last().unwrap().as_secs_f64() * 1000.0,
    );
    cork.store.close().await;
    database.drop_database().await;
}
