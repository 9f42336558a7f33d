//! Clients that try to hold a server's memory or connections: heads sent a byte at a
//! time, bodies that stop, heads and query strings far too long, JSON nested past any
//! use, and more connections than the server takes. Each is bounded and answered (or
//! closed), nothing it sent is written, and the server goes on answering others.

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{s, Server};

/// Short bounds, so that the tests see them act: 1 s for a head, 1 s of silence in a
/// body, 6 connections.
fn tight(config: &mut cork_api::ApiConfig) {
    config.connections = cork_api::listener::ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_connections: 6,
    };
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes); answers what came
/// and how long the close took.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), started.elapsed())
}

/// Reads one answer with a `Content-Length` off a kept-alive connection.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                return text;
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!("no whole answer ({other:?}): {}", String::from_utf8_lossy(&got)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_heads_are_cut_off() {
    let server = Server::sqlite_with(&tight).await;
    let alice = server.user("alice").await;
    // A head sent a byte every 200 ms: closed about 1 s after the connection opened,
    // long before the head is whole.
    let mut slow = TcpStream::connect(address(&server)).await.unwrap();
    let head = format!("GET /1/members/me HTTP/1.1\r\nHost: {}\r\nX-Padding: {}\r\n\r\n", address(&server), "p".repeat(100));
    let started = Instant::now();
    let mut cut_after = None;
    for byte in head.as_bytes() {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_after = Some(started.elapsed());
            break;
        }
        // Meanwhile others are served.
        if started.elapsed() < Duration::from_millis(400) {
            alice.get("/1/members/me").await.ok();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut probe = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
            cut_after = Some(started.elapsed());
            break;
        }
    }
    let cut_after = cut_after.expect("the slow head was let through whole");
    assert!(cut_after >= Duration::from_millis(900) && cut_after < Duration::from_secs(5), "cut after {cut_after:?}");

    // A connection that sends nothing, and one kept alive after an answer, are closed too.
    let mut idle = TcpStream::connect(address(&server)).await.unwrap();
    let (got, took) = read_to_close(&mut idle, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}: {got}");
    let mut kept = TcpStream::connect(address(&server)).await.unwrap();
    kept.write_all(format!("GET /cork/health HTTP/1.1\r\nHost: {}\r\n\r\n", address(&server)).as_bytes()).await.unwrap();
    let (got, took) = read_to_close(&mut kept, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    alice.get("/1/members/me").await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_gets_408_and_writes_nothing() {
    let server = Server::sqlite_with(&tight).await;
    let alice = server.user("alice").await;
    let board = s(&alice.board("Stalled").await, "id");
    let list = s(&alice.list(&board, "List").await, "id");
    let auth = format!("key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap());
    for content_type in ["application/json", "multipart/form-data; boundary=XyZ"] {
        let body = match content_type {
            "application/json" => json!({"name": "never whole", "idList": list}).to_string(),
            _ => format!("--XyZ\r\nContent-Disposition: form-data; name=\"idList\"\r\n\r\n{list}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nnever whole\r\n--XyZ--\r\n"),
        };
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        let head = format!(
            "POST /1/cards?{auth} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            address(&server),
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body.as_bytes()[..body.len() / 2]).await.unwrap();
        let started = Instant::now();
        let (got, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
        assert!(got.starts_with("HTTP/1.1 408"), "{content_type}: {got}");
        assert!(got.ends_with("request timeout: the body stopped arriving"), "{content_type}: {got}");
        assert!(took >= Duration::from_millis(900) && started.elapsed() < Duration::from_secs(8), "{took:?}");
    }
    let cards = alice.get(&format!("/1/lists/{list}/cards")).await.ok();
    assert_eq!(cards, json!([]), "nothing of a stalled request is written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_heads_and_query_strings_are_refused_and_long_ones_served() {
    let server = Server::sqlite_with(&|_| {}).await;
    let alice = server.user("alice").await;
    let auth = format!("key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap());
    let raw = |request: String| {
        let address = address(&server);
        async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            // The server may answer and close before taking all of it.
            let _ = stream.write_all(request.as_bytes()).await;
            read_to_close(&mut stream, Duration::from_secs(10)).await.0
        }
    };
    let host = address(&server);
    // One header of 1 MB; two thousand small ones.
    let big =
        raw(format!("GET /1/members/me?{auth} HTTP/1.1\r\nHost: {host}\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "b".repeat(1 << 20)))
            .await;
    assert!(big.starts_with("HTTP/1.1 431"), "{}", &big[..big.len().min(200)]);
    let many: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = raw(format!("GET /1/members/me?{auth} HTTP/1.1\r\nHost: {host}\r\n{many}Connection: close\r\n\r\n")).await;
    assert!(many.starts_with("HTTP/1.1 431"), "{}", &many[..many.len().min(200)]);
    // A query string of 1 MB.
    let giant =
        raw(format!("GET /1/members/me?{auth}&fields={} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", "x".repeat(1 << 20))).await;
    assert!(giant.starts_with("HTTP/1.1 431") || giant.starts_with("HTTP/1.1 414"), "{}", &giant[..giant.len().min(200)]);
    // A long query string that real clients could send (a search of 20 KB) is served.
    let long = alice.get(&format!("/1/search?query={}&modelTypes=cards", "word%20".repeat(3000))).await;
    assert_eq!(long.status, 200, "{}", long.text);
    assert_eq!(alice.get("/1/members/me").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_refused_without_harm() {
    let server = Server::sqlite_with(&|_| {}).await;
    let alice = server.user("alice").await;
    let board = s(&alice.board("Deep").await, "id");
    let list = s(&alice.list(&board, "List").await, "id");
    for depth in [200usize, 100_000] {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!("{{\"name\": {nested}, \"idList\": \"{list}\"}}");
        let answer = alice.send("POST", "/1/cards", common::Body::Raw("application/json", body.into_bytes())).await;
        assert_eq!(answer.status, 400, "depth {depth}: {}", answer.text);
        let bare = alice.send("PUT", &format!("/1/lists/{list}"), common::Body::Raw("application/json", nested.into_bytes())).await;
        assert_eq!(bare.status, 400, "depth {depth}: {}", bare.text);
    }
    let cards: Value = alice.get(&format!("/1/lists/{list}/cards")).await.ok();
    assert_eq!(cards, json!([]));
    assert_eq!(s(&alice.get(&format!("/1/lists/{list}")).await.ok(), "name"), "List");
}

/// A server with six places and nothing timing out on its own during a test, and a card
/// create to leave in hand: its head and the first 10 bytes of its body sent.
struct Cap {
    _server: Server,
    host: String,
    head: String,
    body: String,
}

impl Cap {
    async fn new() -> Cap {
        let server = Server::sqlite_with(&|config| {
            tight(config);
            config.connections.header_timeout = Duration::from_secs(30);
            config.connections.body_timeout = Duration::from_secs(30);
        })
        .await;
        let alice = server.user("alice").await;
        let board = s(&alice.board("Cap").await, "id");
        let list = s(&alice.list(&board, "List").await, "id");
        let auth = format!("key={}&token={}", alice.key.as_deref().unwrap(), alice.token.as_deref().unwrap());
        // Its pooled connection goes with it, so the test counts every place itself.
        drop(alice);
        let host = address(&server);
        let body = json!({"name": "in hand at the cap", "idList": list}).to_string();
        let head = format!(
            "POST /1/cards?{auth} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        Cap { _server: server, host, head, body }
    }

    /// A connection with the card create in hand.
    async fn in_hand(&self) -> TcpStream {
        let mut stream = TcpStream::connect(&self.host).await.unwrap();
        stream.write_all(self.head.as_bytes()).await.unwrap();
        stream.write_all(&self.body.as_bytes()[..10]).await.unwrap();
        stream
    }

    /// Sends the rest of the create; answers what came back.
    async fn finish(&self, mut stream: TcpStream) -> String {
        stream.write_all(&self.body.as_bytes()[10..]).await.unwrap();
        read_to_close(&mut stream, Duration::from_secs(5)).await.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_idlest_connection_makes_room_and_requests_in_hand_finish() {
    let cap = Cap::new().await;
    let health = format!("GET /cork/health HTTP/1.1\r\nHost: {}\r\n\r\n", cap.host);
    // Six places: the first two hold requests in hand, the other four are idle, opened
    // one after the other.
    let mut in_hand = Vec::new();
    for _ in 0..2 {
        in_hand.push(cap.in_hand().await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&cap.host).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A connection is closed for a newcomer only once it has been idle for a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Four newcomers, kept alive: each is served at once, and each takes the place of
    // the idle connection opened first, in order (a newcomer idle after its answer has
    // been idle for less time than those).
    let mut newcomers = Vec::new();
    for (n, idle) in idle.iter_mut().enumerate() {
        let mut newcomer = TcpStream::connect(&cap.host).await.unwrap();
        let started = Instant::now();
        newcomer.write_all(health.as_bytes()).await.unwrap();
        let got = read_answer(&mut newcomer).await;
        assert!(got.starts_with("HTTP/1.1 200"), "newcomer {n}: {got}");
        assert!(started.elapsed() < Duration::from_secs(2), "newcomer {n} waited {:?}", started.elapsed());
        let (closed, _) = read_to_close(idle, Duration::from_secs(2)).await;
        assert_eq!(closed, "", "the idle connection is closed without an answer");
        newcomers.push(newcomer);
    }
    // Nothing in hand was cut: both requests finish and are answered.
    for stream in in_hand {
        let got = cap.finish(stream).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_with_every_request_in_hand_newcomers_wait() {
    let cap = Cap::new().await;
    let host = cap.host.clone();
    let mut in_hand = Vec::new();
    for _ in 0..6 {
        in_hand.push(cap.in_hand().await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The seventh waits for a place: its request is not answered...
    let mut waiting = TcpStream::connect(&host).await.unwrap();
    waiting.write_all(format!("GET /cork/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut first = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut first)).await;
    assert!(early.is_err(), "answered over the cap: {early:?}");
    // ...until one request in hand finishes and its connection closes; then it is served.
    let done = cap.finish(in_hand.pop().unwrap()).await;
    assert!(done.starts_with("HTTP/1.1 200"), "{done}");
    let (got, took) = read_to_close(&mut waiting, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(took < Duration::from_secs(2), "served {took:?} after a place came free");
    for stream in in_hand {
        let got = cap.finish(stream).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    }
}
