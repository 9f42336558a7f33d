//! Write throughput through the whole HTTP stack: card create and card move, so that
//! the write pipeline's cost (one transaction per request ended after the answer is
//! built, versions and compare-and-set saves, stamps, the guardrail check) is measured
//! beside what came before it.
//!
//! `cargo run --release -p cork --example write_bench` (SQLite in a temp dir), or with
//! `CORK_BENCH_POSTGRES_URL=postgres://user@host/db` for a fresh PostgreSQL database
//! created next to that one. `CORK_BENCH_N` sets the requests per phase (default 2000).
//! Prints one Markdown table row per phase.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cork_api::{ApiConfig, App};
use cork_core::Cork;
use cork_store::Store;
use serde_json::{json, Value};

#[derive(Clone)]
struct Client {
    base: String,
    http: reqwest::Client,
    auth: String,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}?{}", self.base, self.auth);
        let response = self.http.request(method, url).json(&body).send().await.expect("request");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `n` requests from `clients` concurrent clients; prints the row.
async fn phase<F, Fut>(backend: &str, name: &str, clients: usize, n: usize, request: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, request) = (next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return latencies;
                }
                let at = Instant::now();
                request(i).await;
                latencies.push(at.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    println!(
        "| {backend} | {name} | {clients} | {n} | {:.0} /s | {:.1} ms | {:.1} ms |",
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
}

#[path = "shared/mod.rs"]
mod shared;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::var("CORK_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let database = shared::BenchDatabase::create("cork_wbench").await;
    let backend = database.backend;
    let store = Store::open(&database.url).await.expect("open store");
    let cork = Cork::new(store).with_data_dir(database.files());
    let member = cork.create_member("bench", Some("Bench"), None).await.expect("member");
    let scopes = vec!["read".to_string(), "write".to_string()];
    let issued = cork.issue_token(&member, "bench", &scopes, None).await.expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = ApiConfig { public_url: base.clone(), ..ApiConfig::default() };
    config.rate_limits.enabled = false;
    config.webhooks.worker = false;
    let app = App::new(cork.clone(), config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        cork_api::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    let client = Client { base, http: reqwest::Client::new(), auth: format!("key={}&token={}", issued.key, issued.token) };
    let board = client.send(reqwest::Method::POST, "/1/boards", json!({"name": "Bench", "defaultLists": false})).await;
    let board = board["id"].as_str().expect("board id").to_string();
    let mut lists = Vec::new();
    for name in ["A", "B"] {
        let list = client.send(reqwest::Method::POST, "/1/lists", json!({"name": name, "idBoard": board})).await;
        lists.push(list["id"].as_str().expect("list id").to_string());
    }
    // Warm up (and give the moves something to move).
    let cards = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in 0..200 {
        let card = client.send(reqwest::Method::POST, "/1/cards", json!({"idList": lists[0], "name": format!("warm {i}")})).await;
        cards.lock().unwrap().push(card["id"].as_str().expect("card id").to_string());
    }
    println!("| backend | phase | clients | requests | throughput | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    for clients in [1, 16] {
        let (client, list) = (client.clone(), lists[0].clone());
        let count = if clients == 1 { n / 4 } else { n };
        phase(backend, "card create", clients, count, move |i| {
            let (client, list) = (client.clone(), list.clone());
            async move {
                client.send(reqwest::Method::POST, "/1/cards", json!({"idList": list, "name": format!("card {i}")})).await;
            }
        })
        .await;
    }
    let moved: Vec<String> = cards.lock().unwrap().clone();
    let (mover, targets) = (client.clone(), lists.clone());
    phase(backend, "card move", 16, n, move |i| {
        let (client, card, list) = (mover.clone(), moved[i % moved.len()].clone(), targets[(i / moved.len() + 1) % 2].clone());
        async move {
            client.send(reqwest::Method::PUT, &format!("/1/cards/{card}"), json!({"idList": list, "pos": "top"})).await;
        }
    })
    .await;
    let _ = stop.send(());
    let _ = server.await;
    cork.store.close().await;
    database.drop_database().await;
}
