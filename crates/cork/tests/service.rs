//! Running Cork as a service: the health and readiness probes, Prometheus metrics, the
//! request id on every answer, and a graceful stop on SIGTERM that finishes the request
//! in hand and exits 0; the data directory and database file owner-only.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{s, Server};

fn with_metrics_token(config: &mut cork_api::ApiConfig) {
    config.metrics_token = Some("scrape-me".into());
}

both_backends!(probes_metrics_and_request_ids, config = with_metrics_token, |server: Server| async move {
    let alice = server.user("alice").await;
    let anonymous = server.anonymous();

    let health = anonymous.get("/cork/health").await;
    assert_eq!((health.status, health.json()), (200, json!({"status": "ok"})));
    let ready = anonymous.get("/cork/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json()["checks"]["database"], "ok", "{}", ready.text);

    // Every answer carries a request id: the caller's when sane, a new one otherwise.
    let board = alice.board("Metrics").await;
    let id = s(&board, "id");
    let read = alice.get(&format!("/1/boards/{id}")).await;
    let given = read.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(given.len(), 24, "a new id: {given:?}");
    let mine = alice
        .http
        .get(format!("{}/1/boards/{id}?key={}&token={}", alice.base, alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap()))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-42");
    let missing = alice.get("/1/boards/000000000000000000000000").await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers.contains_key("x-request-id"), "errors carry it too");
    let hostile = alice.http.get(format!("{}/cork/health", alice.base)).header("x-request-id", "a b/c").send().await.unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "a b/c");

    // Prometheus text, by route template (never the concrete path), with latencies,
    // statement time, pools, the outbox and the review queue.
    let metrics = anonymous.get("/cork/metrics").await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(metrics.content_type.starts_with("text/plain; version=0.0.4"), "{}", metrics.content_type);
    let text = metrics.text;
    for needle in [
        r#"cork_http_requests_total{method="GET",route="/1/boards/{id}",status="200"}"#,
        r#"cork_http_requests_total{method="POST",route="/1/boards",status="200"}"#,
        r#"cork_http_request_duration_seconds_bucket{method="GET",route="/1/boards/{id}",le="0.005"}"#,
        "cork_db_query_duration_seconds_count",
        r#"cork_db_pool_connections{pool="main",state="idle"}"#,
        "cork_outbox_pending 0",
        "cork_outbox_oldest_pending_age_seconds 0",
        "cork_change_requests_pending 0",
        "cork_database_up 1",
    ] {
        assert!(text.contains(needle), "no {needle} in:\n{text}");
    }
    assert!(!text.contains(&id), "no concrete path or id in the labels");
    assert!(!text.contains(alice.token.as_deref().unwrap()), "no token in the metrics");
    // Through a reverse proxy on this machine the request is not local: the token is needed.
    let url = format!("{}/cork/metrics", alice.base);
    let proxied = alice.http.get(&url).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
    assert_eq!(proxied.status(), 401);
    let wrong = alice.http.get(&url).header("x-forwarded-for", "203.0.113.9").bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let scraper = alice.http.get(&url).header("x-forwarded-for", "203.0.113.9").bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(scraper.status(), 200);
});

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// The stored documents of the app keys of a data directory's SQLite database.
async fn app_key_docs(data: &std::path::Path) -> Vec<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", data.join("cork.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let docs: Vec<String> = sqlx::query_scalar("SELECT doc FROM app_keys").fetch_all(&mut conn).await.unwrap();
    conn.close().await.ok();
    docs
}

/// Reads one HTTP/1.1 answer whole (the server closes the connection after it).
fn read_answer(stream: &mut std::net::TcpStream) -> String {
    let mut answer = Vec::new();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn sigterm_finishes_the_request_in_hand_and_data_stays_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cork = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cork")).args(args).arg("--data-dir").arg(&data).output().unwrap();
        assert!(output.status.success(), "cork {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    cork(&["user", "create", "alice"]);
    let issued: Value = serde_json::from_str(cork(&["token", "create", "--user", "alice"]).trim()).unwrap();
    common::secrets_in_answer(&Default::default(), &issued.to_string());
    let auth = format!("key={}&token={}", s(&issued, "key"), s(&issued, "token"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_cork"))
        .args(["serve", "--listen", &address, "--shutdown-timeout", "20", "--shutdown-delay", "1"])
        .arg("--data-dir")
        .arg(&data)
        .env("CORK_LOG", "info")
        .env("CORK_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match std::net::TcpStream::connect(&address) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => panic!("the server did not start: {error}"),
        }
    };

    // A request whose body is still arriving when SIGTERM comes.
    let body = json!({"name": "sent across a stop"}).to_string();
    let head = format!(
        "POST /1/boards?{auth} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Request-Id: stop-1\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(killed.success());
    // During --shutdown-delay it still accepts, and its readiness fails (balancers drain it).
    std::thread::sleep(Duration::from_millis(200));
    let mut probe = std::net::TcpStream::connect(&address).expect("still accepting during the delay");
    probe.write_all(format!("GET /cork/ready HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let ready = read_answer(&mut probe);
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(ready.contains(r#""draining":true"#), "{ready}");
    std::thread::sleep(Duration::from_millis(1300));
    // No new connection is taken while it stops.
    assert!(std::net::TcpStream::connect(&address).is_err(), "a stopping node accepts no new connection");
    stream.write_all(&body.as_bytes()[5..]).unwrap();
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in hand is answered: {answer}");
    assert!(answer.contains("sent across a stop"), "{answer}");

    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a stop on SIGTERM exits 0");
    let mut logs = String::new();
    server.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    common::keep_log("serve", logs.as_bytes());
    // JSON log lines, one per request, with its id; never the token.
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "JSON log lines: {logs}");
    let access = lines.iter().find(|l| l["fields"]["request_id"] == "stop-1").unwrap_or_else(|| panic!("no line for stop-1: {logs}"));
    assert_eq!((access["fields"]["status"].as_u64(), access["fields"]["route"].as_str()), (Some(200), Some("/1/boards")));
    assert!(!logs.contains(&s(&issued, "token")), "no token in the logs");

    // The board made across the stop was committed.
    let body = &answer[answer.find("\r\n\r\n").unwrap()..];
    let at = body.find(r#""id":""#).expect("the board's id") + 6;
    let export = cork(&["export", &body[at..at + 24]]);
    assert!(export.contains("sent across a stop"));

    // At rest: the data directory and the database (with its WAL) are the owner's alone;
    // a database file that others could read is made owner-only at the next start.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for file in ["cork.db", "cork.db-wal"] {
        if data.join(file).exists() {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }
    std::fs::set_permissions(data.join("cork.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    cork(&["user", "create", "bob"]);
    assert_eq!(mode(&data.join("cork.db")), 0o600);
    // A backup holds the same secrets: owner-only too.
    let backup = dir.path().join("instance.backup");
    cork(&["backup", backup.to_str().unwrap()]);
    assert_eq!(mode(&backup), 0o600);
    // The app secret is sealed at rest, with the key in secret.key (owner-only).
    assert_eq!(mode(&data.join("secret.key")), 0o600);
    let stored = block_on(app_key_docs(&data));
    assert!(stored.iter().all(|d| d.contains("sealed:v1:")), "{stored:?}");
    assert!(!stored.iter().any(|d| d.contains(&s(&issued, "secret"))), "no app secret in clear");
    // Rotation: a new key seals, the old one opens until every secret is sealed again.
    let old = std::fs::read_to_string(data.join("secret.key")).unwrap().trim().to_string();
    let new = "ab".repeat(32);
    common::secret("secret-key", &old);
    common::secret("secret-key", &new);
    let rotate = |args: &[&str], previous: &str| {
        Command::new(env!("CARGO_BIN_EXE_cork"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env("CORK_SECRET_KEY", &new)
            .env("CORK_SECRET_KEY_PREVIOUS", previous)
            .output()
            .unwrap()
    };
    let rewrapped = rotate(&["secrets-rewrap"], &old);
    assert!(rewrapped.status.success(), "{}", String::from_utf8_lossy(&rewrapped.stderr));
    assert!(String::from_utf8_lossy(&rewrapped.stdout).contains(r#""rewrapped":"#));
    let after = block_on(app_key_docs(&data));
    assert!(after.iter().all(|d| !stored.contains(d)), "every secret sealed again");
    let with_new_only = rotate(&["token", "create", "--user", "alice"], "");
    assert!(with_new_only.status.success(), "{}", String::from_utf8_lossy(&with_new_only.stderr));
    let with_old_only =
        Command::new(env!("CARGO_BIN_EXE_cork")).args(["token", "create", "--user", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(!with_old_only.status.success(), "the old key no longer opens them");
    assert!(
        String::from_utf8_lossy(&with_old_only.stderr).contains("same secret key"),
        "{}",
        String::from_utf8_lossy(&with_old_only.stderr)
    );
}

/// Ends every connection PostgreSQL holds for `database` (as a failover or an
/// administrator would); answers how many it ended.
async fn kill_connections(admin: &str, database: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect as admin");
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
    )
    .bind(database)
    .fetch_one(&mut conn)
    .await
    .expect("terminate backends");
    conn.close().await.ok();
    ended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_give_503s_and_lose_nothing() {
    let Some(server) = Server::postgres().await else { return };
    let (admin, database) = server.postgres_database().map(|(a, d)| (a.to_string(), d.to_string())).unwrap();
    let alice = server.user("alice").await;
    let board = s(&alice.board("Faults").await, "id");
    let list = s(&alice.list(&board, "Load").await, "id");
    let auth = format!("key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap());

    // Writers: each card is created under its own Idempotency-Key and sent again after
    // every 503 (as a client would, after Retry-After) until it is acknowledged. Readers
    // read the list meanwhile. Every answer's status is kept.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for worker in 0..4 {
        let (http, base, auth, list, board, stop) =
            (alice.http.clone(), alice.base.clone(), auth.clone(), list.clone(), board.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut statuses: Vec<(u16, bool, Option<String>)> = Vec::new();
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("card {worker}-{i}");
                let key = format!("fault-{worker}-{i}");
                loop {
                    let sent = http
                        .post(format!("{base}/1/cards?{auth}"))
                        .header("idempotency-key", &key)
                        .json(&json!({"name": name, "idList": list}))
                        .send()
                        .await;
                    let Ok(answer) = sent else { continue };
                    let status = answer.status().as_u16();
                    let retry_after = answer.headers().contains_key("retry-after");
                    let commit = answer.headers().get("x-cork-commit").and_then(|v| v.to_str().ok()).map(str::to_string);
                    statuses.push((status, retry_after, commit));
                    if status == 200 {
                        acknowledged.push(name.clone());
                        break;
                    }
                    assert_eq!(status, 503, "only 503s while the database is away: {}", answer.text().await.unwrap_or_default());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let read = http.get(format!("{base}/1/boards/{board}/cards?{auth}")).send().await;
                if let Ok(read) = read {
                    let status = read.status().as_u16();
                    statuses.push((status, read.headers().contains_key("retry-after"), None));
                }
                i += 1;
            }
            (statuses, acknowledged)
        }));
    }
    // Three times, every connection of the database is ended under load.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(kill_connections(&admin, &database).await > 0, "connections were ended");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = Vec::new();
    let mut acknowledged = Vec::new();
    for client in clients {
        let (s, a) = client.await.expect("a client task");
        statuses.extend(s);
        acknowledged.extend(a);
    }
    let by_status = statuses.iter().fold(std::collections::BTreeMap::new(), |mut m, (status, _, _)| {
        *m.entry(*status).or_insert(0) += 1;
        m
    });
    eprintln!("statuses under three connection kills: {by_status:?}; {} cards acknowledged", acknowledged.len());
    assert!(statuses.iter().all(|(status, _, _)| *status == 200 || *status == 503), "no 500s: {by_status:?}");
    // Every 503 says when to come back, except a commit whose outcome is unknown: it says
    // so instead (the same key's retry is what makes it safe).
    assert!(
        statuses.iter().filter(|(status, _, _)| *status == 503).all(|(_, retry_after, commit)| *retry_after != commit.is_some()),
        "every 503 says Retry-After or X-Cork-Commit: unknown"
    );
    let unknown = statuses.iter().filter(|(_, _, commit)| commit.is_some()).count();
    eprintln!("{unknown} answers said the commit's outcome was unknown (each then sent again with its key)");

    // Every acknowledged card is there exactly once, and no card was made twice by a
    // retry (after a commit whose outcome was unknown too, when one happened).
    let cards = alice.get(&format!("/1/lists/{list}/cards")).await.ok();
    let mut names: Vec<String> = cards.as_array().unwrap().iter().map(|c| s(c, "name")).collect();
    names.sort();
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no card was created twice");
    acknowledged.sort();
    assert_eq!(names, acknowledged, "every acknowledged card, and nothing else");
    assert!(acknowledged.len() > 20, "the load ran: {}", acknowledged.len());
}

both_backends!(concurrent_placements_never_share_a_position_and_top_inserts_never_run_out, |server: Server| async move {
    let alice = server.user("alice").await;
    let board = s(&alice.board("Positions").await, "id");
    let list = s(&alice.list(&board, "Busy").await, "id");
    let other = s(&alice.list(&board, "Other").await, "id");

    // 8 writers at once: creates at the bottom and the top, and moves to the top of the
    // list, all computing their positions from the same list.
    let mut writers = Vec::new();
    for worker in 0..8 {
        let (alice, list, other) = (alice.clone(), list.clone(), other.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..15 {
                let pos = if (worker + i) % 3 == 0 { "top" } else { "bottom" };
                let card = alice.post("/1/cards", json!({"name": format!("c{worker}-{i}"), "idList": list, "pos": pos})).await.ok();
                if i % 5 == 0 {
                    let moved = alice.post("/1/cards", json!({"name": format!("m{worker}-{i}"), "idList": other})).await.ok();
                    alice.put(&format!("/1/cards/{}", s(&moved, "id")), json!({"idList": list, "pos": "top"})).await.ok();
                }
                let _ = card;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("a writer");
    }
    let cards = alice.get(&format!("/1/lists/{list}/cards")).await.ok();
    let mut positions: Vec<f64> = cards.as_array().unwrap().iter().map(|c| c["pos"].as_f64().unwrap()).collect();
    assert_eq!(positions.len(), 8 * 15 + 8 * 3);
    positions.sort_by(f64::total_cmp);
    positions.dedup();
    assert_eq!(positions.len(), 8 * 15 + 8 * 3, "every card of the list has a position of its own");

    // 80 top inserts: each lands above the last one; when halving leaves no room, the
    // list is renumbered in the same write, in order, recording no action of its own.
    let top = s(&alice.list(&board, "Top inserts").await, "id");
    for i in 0..3 {
        alice.post("/1/cards", json!({"name": format!("bottom {i}"), "idList": top})).await.ok();
    }
    // A card already where halving nearly stops (as after about a thousand top inserts).
    alice.post("/1/cards", json!({"name": "tiny", "idList": top, "pos": "1e-301"})).await.ok();
    for i in 0..80 {
        alice.post("/1/cards", json!({"name": format!("top {i}"), "idList": top, "pos": "top"})).await.ok();
    }
    let cards = alice.get(&format!("/1/lists/{top}/cards")).await.ok();
    let names: Vec<String> = cards.as_array().unwrap().iter().map(|c| s(c, "name")).collect();
    let expected: Vec<String> =
        (0..80).rev().map(|i| format!("top {i}")).chain(["tiny".to_string()]).chain((0..3).map(|i| format!("bottom {i}"))).collect();
    assert_eq!(names, expected, "each top insert above the one before, the rest in order");
    let positions: Vec<f64> = cards.as_array().unwrap().iter().map(|c| c["pos"].as_f64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {positions:?}");
    assert!(positions[0] >= cork_core::pos::MIN_TOP / 2.0, "renumbered before the gaps ran out: {positions:?}");
    assert_eq!(positions[80], cork_core::pos::STEP, "the siblings were renumbered, in order: {positions:?}");
    let actions = alice.get(&format!("/1/lists/{top}/actions?filter=all&limit=1000")).await.ok();
    assert_eq!(actions.as_array().unwrap().len(), 1 + 84, "createList and one createCard each: {}", actions.as_array().unwrap().len());
});

/// Another node on `server`'s database with `config`; answers its base URL and the sender
/// that stops it.
async fn node(server: &Server, config: &cork_api::ApiConfig) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = cork_store::Store::open(server.database_url()).await.expect("the node's store");
    let cork = cork_core::Cork::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = cork_api::App::new(cork, cork_api::ApiConfig { public_url: base.clone(), ..config.clone() });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        cork_api::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await
        .expect("a node");
    });
    (base, stop)
}

/// The Redis the shared-limit tests count in, or `None` (skipped) when none is named.
fn test_redis() -> Option<String> {
    match std::env::var("CORK_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CORK_REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("CORK_REQUIRE_REDIS=1 but CORK_TEST_REDIS_URL is not set")
        }
        Err(_) => {
            eprintln!("CORK_TEST_REDIS_URL not set: the shared rate limits are not tested");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_let_exactly_one_token_budget_through_per_window() {
    let Some(redis) = test_redis() else { return };
    let shared = |c: &mut cork_api::ApiConfig| {
        c.rate_limits.enabled = true;
        c.rate_store = Some(redis.clone());
    };
    let Some(server) = Server::postgres_with(&shared).await else { return };
    let alice = server.user("alice").await;
    let mut config = cork_api::ApiConfig::default();
    shared(&mut config);
    let (second, _stop2) = node(&server, &config).await;
    let (third, _stop3) = node(&server, &config).await;
    let bases = [alice.base.clone(), second, third];

    // Start at the beginning of a window (they are wall-clock windows of 10 s, the same on
    // every node), so the burst falls in one.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    if now % 10_000 > 3_000 {
        tokio::time::sleep(Duration::from_millis(10_000 - now % 10_000 + 50)).await;
    }
    let started = Instant::now();
    let mut requests = Vec::new();
    for i in 0..300 {
        let (http, base) = (alice.http.clone(), bases[i % 3].clone());
        let auth = format!("key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap());
        requests.push(tokio::spawn(async move {
            let answer = http.get(format!("{base}/1/members/me/boards?{auth}")).send().await.unwrap();
            let remaining = answer.headers().get("x-rate-limit-api-token-remaining").and_then(|v| v.to_str().ok()).map(str::to_string);
            (answer.status().as_u16(), remaining, answer.text().await.unwrap_or_default())
        }));
    }
    let mut passed = 0;
    let mut refused = 0;
    for request in requests {
        let (status, remaining, body) = request.await.unwrap();
        match status {
            200 => passed += 1,
            429 => {
                assert!(body.contains("API_TOKEN_LIMIT_EXCEEDED"), "{body}");
                assert_eq!(remaining.as_deref(), Some("0"));
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let took = started.elapsed();
    eprintln!("3 nodes, one token, 300 requests in {took:?}: {passed} x 200, {refused} x 429");
    assert!(took < Duration::from_secs(6), "the burst stayed in one window ({took:?})");
    assert_eq!((passed, refused), (100, 200), "exactly the token's budget across all nodes");

    // A node whose Redis cannot be reached counts alone, without making requests wait.
    let mut lost = config.clone();
    lost.rate_store = Some("redis://127.0.0.1:1/".into());
    let (alone, _stop4) = node(&server, &lost).await;
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..120 {
        let answer = alice
            .http
            .get(format!("{alone}/1/members/me?key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap()))
            .send()
            .await
            .unwrap();
        *statuses.entry(answer.status().as_u16()).or_insert(0) += 1;
    }
    eprintln!("a node without its Redis: 120 requests in {:?}: {statuses:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(15), "no request waits on the lost Redis: {:?}", started.elapsed());
    assert_eq!(statuses.get(&200), Some(&100), "the node's own budget: {statuses:?}");
}

fn with_route_log(config: &mut cork_api::ApiConfig) {
    let path = std::env::temp_dir().join(format!("cork-route-log-{}-{}.log", std::process::id(), cork_core::ids::new_id()));
    config.route_log = Some(path);
}

// `/1/tokens/{token}` carries the token in the path itself: the route log (and the request
// span, at debug) show that segment as `***`.
both_backends!(the_token_in_a_tokens_path_is_not_logged, config = with_route_log, |server: Server| async move {
    let alice = server.user("alice").await;
    let token = alice.token.clone().unwrap();
    alice.get(&format!("/1/tokens/{token}")).await.ok();
    alice.get(&format!("/1/Tokens/{token}/member")).await.ok();
    alice.get(&format!("/1/tokens/{token}/webhooks")).await.ok();
    let path = server.route_log().expect("a route log");
    let log = std::fs::read_to_string(path).expect("the route log");
    let _ = std::fs::remove_file(path);
    assert!(!log.contains(&token), "the token in the route log: {log}");
    for route in ["/1/tokens/***\t", "/1/tokens/***/member\t", "/1/tokens/***/webhooks\t"] {
        assert!(log.contains(route), "{route} not logged: {log}");
    }
});
